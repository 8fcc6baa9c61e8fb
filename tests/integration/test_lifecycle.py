"""Operations: shutdown_timeout, SIGHUP reload, SIGUSR1 log reopen, systemd
readiness notification and socket activation, privilege drop, the worker
supervisor, and -t with a busy port.

Every test starts its own daemon(s) on free loopback ports and bounds every
wait.  The graceful SIGTERM/SIGINT download case lives in test_signals.py."""

import hashlib
import os
import pwd
import re
import signal
import socket
import subprocess
import time
import unittest

from ringd_harness import (BINARY, Conn, ConnectionClosed, Daemon, build_request, free_port,
                           hold_as_nobody, start_as_nobody, write_config)

BIG = 64 << 20


def www_data():
    try:
        pw = pwd.getpwnam("www-data")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return None


class LDaemon(Daemon):
    """Daemon with an environment, inherited descriptors and an argv wrapper."""

    def start(self, wait=True, timeout=5.0, env=None, pass_fds=(), preexec_fn=None,
              wrapper=None):
        write_config(self.conf, self.config)
        self._stderr_f = open(self.stderr_path, "wb")
        argv = (wrapper or []) + self.argv()
        e = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            e.pop(k, None)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._stderr_f,
                                     stderr=self._stderr_f, cwd=self.tmp, env=e,
                                     pass_fds=pass_fds, preexec_fn=preexec_fn)
        if wait:
            self.wait_ready(timeout)
        return self

    def rewrite(self, override):
        """Write a new configuration file (merged over the current one)."""
        for s, kv in override.items():
            self.config.setdefault(s, {})
            for k, v in kv.items():
                if v is None:
                    self.config[s].pop(k, None)
                else:
                    self.config[s][k] = v
        write_config(self.conf, self.config)


def children(pid):
    """PIDs whose parent is pid."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        pass
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(name))
    return sorted(out)


def proc_uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return [int(x) for x in ln.split()[1:]]
    raise AssertionError("no Uid line for pid %d" % pid)


def refused(port, timeout=3.0, host="127.0.0.1"):
    """True once a connect to port is refused (within timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.1)
    return False


# Pins memory as the user it runs as: io_uring rings of 8 entries (about 8 KiB
# each) until RLIMIT_MEMLOCK refuses one; holds them until stdin closes.
RING_HOG = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
params = (ctypes.c_char * 120)()
fds = []
while libc.syscall(425, 8, params) >= 0:   # io_uring_setup
    fds.append(1)
    ctypes.memset(params, 0, 120)
print(len(fds), flush=True)
sys.stdin.read()
"""


def listeners(port):
    """Listening IPv4 TCP sockets on port (/proc/net/tcp, state 0A)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            local, st = ln.split()[1], ln.split()[3]
            if st == "0A" and int(local.split(":")[1], 16) == port:
                n += 1
    return n


def get(port, target, headers=None, timeout=5.0):
    with Conn(port, timeout=timeout) as c:
        c.send(build_request("GET", target, headers))
        return c.read_response()


class SlowDownload:
    """A 64 MiB GET read a little at a time (small receive buffer)."""

    def __init__(self, port, target, rcvbuf=64 * 1024, timeout=30):
        self.c = Conn(port, timeout=timeout, rcvbuf=rcvbuf)
        self.c.send(build_request("GET", target))
        while b"\r\n\r\n" not in self.c.buf:
            if not self.c._fill():
                raise AssertionError("closed before the response head")
        head, rest = self.c.buf.split(b"\r\n\r\n", 1)
        self.c.buf = b""
        self.status_line = head.split(b"\r\n")[0]
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        self.length = int(m.group(1)) if m else None
        self.h = hashlib.sha256(rest)
        self.got = len(rest)

    def read(self, upto, pause=0.005, chunk=64 * 1024):
        while self.got < upto:
            data = self.c.sock.recv(chunk)
            if not data:
                return False
            self.h.update(data)
            self.got += len(data)
            if pause:
                time.sleep(pause)
        return True

    def finish(self, deadline_s=60):
        self.c.sock.settimeout(10)
        end = time.monotonic() + deadline_s
        while self.got < self.length and time.monotonic() < end:
            data = self.c.sock.recv(1 << 20)
            if not data:
                break
            self.h.update(data)
            self.got += len(data)
        return self.got, self.h.hexdigest()

    def close(self):
        self.c.close()


class LifecycleBase(unittest.TestCase):
    def setUp(self):
        if not BINARY or not os.path.exists(BINARY):
            self.skipTest("ringd binary not found")

    def make(self, config=None, extra_args=None, populate=None):
        d = LDaemon(config=config, extra_args=extra_args)
        self.addCleanup(d.cleanup)
        self.addCleanup(self._stop_quietly, d)
        d.write("index.html", "<p>one</p>")
        d.write("which.txt", "one\n")
        if populate:
            populate(d)
        return d

    @staticmethod
    def _stop_quietly(d):
        if d.proc is not None and d.proc.poll() is None:
            try:
                d.stop(timeout=10)
            except AssertionError:
                pass
        # workers left behind by a misbehaving supervisor
        if d._stderr_f:
            d._stderr_f.close()
            d._stderr_f = None

    def stop_ok(self, d, timeout=10):
        rc = d.stop(timeout)
        self.assertEqual(rc, 0, "exit status after SIGTERM; stderr:\n%s" % d.stderr()[-3000:])

    def wait_for(self, pred, timeout, step=0.05):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v or time.monotonic() > deadline:
                return v
            time.sleep(step)

    def wait_body(self, d, target, want, timeout=3.0, port=None):
        port = port or d.port
        last = [None]

        def ok():
            try:
                r = get(port, target)
            except (OSError, ConnectionClosed) as e:
                last[0] = e
                return False
            last[0] = r
            return r.status == 200 and r.body == want
        self.assertTrue(self.wait_for(ok, timeout, 0.1),
                        "GET %s did not return %r within %.0fs; last: %r\nstderr:\n%s"
                        % (target, want, timeout, last[0], d.stderr()[-2000:]))


# --------------------------------------------------------------------------
# 1. shutdown_timeout
# --------------------------------------------------------------------------

class ShutdownTimeoutTests(LifecycleBase):
    def test_shutdown_timeout_closes_slow_client(self):
        d = self.make(extra_args=["-o", "server.shutdown_timeout=1"],
                      populate=lambda d: d.write_random("big64.bin", BIG))
        d.start()
        dl = SlowDownload(d.port, "/big64.bin", rcvbuf=32 * 1024)
        self.assertIn(b" 200 ", dl.status_line)
        self.assertTrue(dl.read(256 * 1024), "closed early")
        # now stop reading: the response cannot finish
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        rc = d.wait(6)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, "exit status (None = still running after 6 s); stderr:\n%s"
                         % d.stderr()[-2000:])
        self.assertLess(took, 3.2, "exit took %.1fs with shutdown_timeout=1" % took)
        # the slow client's connection ends (after whatever was already queued)
        got, _ = dl.finish(deadline_s=10)
        dl.close()
        self.assertLess(got, BIG, "the slow download completed although it was cut off")
        self.assertIn("shutdown_timeout", d.stderr())


# --------------------------------------------------------------------------
# 2. SIGHUP reload
# --------------------------------------------------------------------------

class ReloadTests(LifecycleBase):
    def test_reload_root_inflight_download_completes(self):
        holder = {}

        def pop(d):
            holder["sha"] = d.write_random("big64.bin", BIG)
        d = self.make(populate=pop)
        root2 = os.path.join(d.tmp, "root2")
        os.mkdir(root2, 0o755)
        with open(os.path.join(root2, "which.txt"), "w") as f:
            f.write("two\n")
        with open(os.path.join(root2, "index.html"), "w") as f:
            f.write("<p>two</p>")
        d.start()
        self.assertEqual(get(d.port, "/which.txt").body, b"one\n")
        dl = SlowDownload(d.port, "/big64.bin", rcvbuf=256 * 1024)
        self.assertIn(b" 200 ", dl.status_line)
        self.assertTrue(dl.read(4 << 20), "closed early")
        d.rewrite({"server": {"root": root2}})
        d.signal(signal.SIGHUP)
        self.wait_body(d, "/which.txt", b"two\n", timeout=3)
        self.assertEqual(get(d.port, "/big64.bin").status, 404,
                         "new requests must see the new root")
        self.assertTrue(dl.read(8 << 20), "download cut by reload")
        got, digest = dl.finish()
        dl.close()
        self.assertEqual(got, BIG, "download started before the reload cut short")
        self.assertEqual(digest, holder["sha"], "download corrupted across the reload")
        self.assertIn("configuration reloaded", d.stderr())
        self.stop_ok(d)

    def test_reload_cache_control_and_keepalive(self):
        d = self.make(config={"http": {"cache_control": "max-age=60", "keepalive_timeout": "60"}})
        d.start()
        r = get(d.port, "/which.txt")
        self.assertEqual(r.header("Cache-Control"), "max-age=60")
        d.rewrite({"http": {"cache_control": "no-cache", "keepalive_timeout": "1"}})
        d.signal(signal.SIGHUP)

        def new_cc():
            r = get(d.port, "/which.txt")
            return r.header("Cache-Control") == "no-cache"
        self.assertTrue(self.wait_for(new_cc, 3, 0.1),
                        "Cache-Control not updated after reload: %r\nstderr:\n%s"
                        % (get(d.port, "/which.txt").header_list, d.stderr()[-2000:]))
        # keepalive_timeout=1 now: an idle keep-alive connection is closed soon
        with Conn(d.port, timeout=5) as c:
            c.send(build_request("GET", "/which.txt"))
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.wait_closed(4), "idle connection not closed with keepalive_timeout=1")
            self.assertLess(time.monotonic() - t0, 3.5)
        self.stop_ok(d)

    def _reload_listen(self, workers):
        d = self.make(config={"server": {"workers": str(workers)}})
        d.start()
        old = d.port
        new = free_port()
        d.rewrite({"server": {"listen": "127.0.0.1:%d" % new}})
        d.signal(signal.SIGHUP)
        self.wait_body(d, "/which.txt", b"one\n", timeout=3, port=new)
        # several connects: with workers=2 each worker has its own socket
        for _ in range(8):
            self.wait_body(d, "/which.txt", b"one\n", timeout=3, port=new)
        self.assertTrue(refused(old, timeout=3),
                        "old port %d still accepts connections after the reload (workers=%d)"
                        % (old, workers))
        d.port = new
        self.stop_ok(d)

    def test_reload_listen_address(self):
        self._reload_listen(1)

    def test_reload_listen_address_workers2(self):
        self._reload_listen(2)

    def _reload_broken(self, workers):
        d = self.make(config={"server": {"workers": str(workers)},
                              "http": {"cache_control": "max-age=1"}})
        d.start()
        root2 = os.path.join(d.tmp, "root2")
        os.mkdir(root2, 0o755)
        with open(os.path.join(root2, "which.txt"), "w") as f:
            f.write("two\n")
        # line 5 holds the unknown key
        text = ("[server]\n"
                "listen = 127.0.0.1:%d\n"
                "root = %s\n"
                "workers = %d\n"
                "no_such_key = 1\n"
                "[log]\n"
                "access = %s\n"
                "error = stderr\n" % (d.port, root2, workers, d.access_log))
        with open(d.conf, "w") as f:
            f.write(text)
        d.signal(signal.SIGHUP)
        pat = re.compile(r"%s:5: no_such_key\b" % re.escape(d.conf))
        self.assertTrue(self.wait_for(lambda: pat.search(d.stderr()), 3),
                        "no 'FILE:5: no_such_key' message after a broken reload; stderr:\n%s"
                        % d.stderr()[-2000:])
        self.assertTrue(self.wait_for(
            lambda: "keeping the running configuration" in d.stderr(), 3),
            "no 'keeping the running configuration' after a broken reload; stderr:\n%s"
            % d.stderr()[-2000:])
        self.assertTrue(d.alive(), "daemon died on a broken reload")
        for _ in range(2 * workers + 2):
            r = get(d.port, "/which.txt")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"one\n", "the broken configuration was (partly) applied")
            self.assertEqual(r.header("Cache-Control"), "max-age=1")
        self.stop_ok(d)

    def test_reload_broken_config_keeps_running(self):
        self._reload_broken(1)

    def test_reload_broken_config_keeps_running_workers2(self):
        self._reload_broken(2)

    def _reload_access_log(self, logdir_owner_www):
        d = self.make()
        logdir = os.path.join(d.tmp, "logs")
        os.mkdir(logdir, 0o755)
        ids = www_data()
        if logdir_owner_www:
            if ids is None:
                self.skipTest("no www-data user")
            os.chown(logdir, *ids)
        new_log = os.path.join(logdir, "new-access.log")
        d.start()
        get(d.port, "/which.txt?before=1")
        self.assertTrue(any("before=1" in l for l in d.wait_access_lines(1)))
        d.rewrite({"log": {"access": new_log}})
        d.signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(lambda: "reload" in d.stderr(), 3),
                        "no reload message; stderr:\n%s" % d.stderr()[-2000:])
        time.sleep(0.2)

        def moved():
            get(d.port, "/which.txt?after=1")
            return any("after=1" in l for l in d.access_lines(new_log))
        self.assertTrue(self.wait_for(moved, 3, 0.2),
                        "new access lines do not go to %s after reload\nold log tail: %r\n"
                        "stderr:\n%s" % (new_log, d.access_lines()[-3:], d.stderr()[-2000:]))
        n_old = len(d.access_lines())
        get(d.port, "/which.txt?after=2")
        self.assertTrue(self.wait_for(lambda: any("after=2" in l for l in
                                                  d.access_lines(new_log)), 2))
        self.assertEqual(len(d.access_lines()), n_old, "old access log still written")
        self.stop_ok(d)

    def test_reload_access_log_path(self):
        """New log in a directory the serving user (www-data) may write."""
        self._reload_access_log(True)

    def test_reload_access_log_path_unwritable_dir(self):
        """New log in a root-owned 0755 directory while the daemon runs as
        www-data: it cannot open it, so the reload is refused with the reason
        and the old log keeps receiving lines."""
        d = self.make()
        logdir = os.path.join(d.tmp, "logs")
        os.mkdir(logdir, 0o755)
        new_log = os.path.join(logdir, "new-access.log")
        d.start()
        d.rewrite({"log": {"access": new_log}, "http": {"cache_control": "max-age=7"}})
        d.signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(
            lambda: re.search(r"reload: .*new-access\.log.*keeping the running configuration",
                              d.stderr()), 3),
            "no reason given for the refused reload; stderr:\n%s" % d.stderr()[-2000:])
        r = get(d.port, "/which.txt?still=1")
        self.assertIsNone(r.header("Cache-Control"), "reload partly applied")
        self.assertTrue(self.wait_for(lambda: any("still=1" in l for l in d.access_lines()), 3),
                        "old access log no longer written")
        self.stop_ok(d)

    def test_reload_workers2_no_refused_connections(self):
        d = self.make(config={"server": {"workers": "2"},
                              "http": {"cache_control": "max-age=1"}})
        d.start()
        failures = []
        for i in range(200):
            if i == 60:
                d.rewrite({"http": {"cache_control": "max-age=2"}})
                d.signal(signal.SIGHUP)
            if i == 130:
                d.signal(signal.SIGHUP)
            try:
                r = get(d.port, "/which.txt?i=%d" % i, timeout=5)
                if r.status != 200 or r.body != b"one\n":
                    failures.append((i, r.status))
            except (OSError, ConnectionClosed) as e:
                failures.append((i, repr(e)))
            time.sleep(0.01)
        self.assertEqual(failures, [], "requests failed around the reloads")
        ccs = set(get(d.port, "/which.txt").header("Cache-Control") for _ in range(10))
        self.assertEqual(ccs, {"max-age=2"}, "not every worker reloaded")
        self.stop_ok(d)


# --------------------------------------------------------------------------
# 3. SIGUSR1 log reopen
# --------------------------------------------------------------------------

class ReopenTests(LifecycleBase):
    def _rotate(self, logdir_owner_www):
        d = self.make()
        if logdir_owner_www:
            ids = www_data()
            if ids is None:
                self.skipTest("no www-data user")
            logdir = os.path.join(d.tmp, "logs")
            os.mkdir(logdir, 0o755)
            os.chown(logdir, *ids)
            d.access_log = os.path.join(logdir, "access.log")
            d.config["log"]["access"] = d.access_log
        d.start()
        get(d.port, "/which.txt?pre=1")
        self.assertTrue(self.wait_for(
            lambda: any("pre=1" in l for l in d.access_lines()), 3))
        rotated = d.access_log + ".1"
        os.rename(d.access_log, rotated)
        d.signal(signal.SIGUSR1)

        def fresh():
            get(d.port, "/which.txt?post=1")
            return (os.path.exists(d.access_log) and
                    any("post=1" in l for l in d.access_lines()))
        self.assertTrue(self.wait_for(fresh, 2.5, 0.2),
                        "no new file at %s receiving lines after SIGUSR1 (exists=%s)\n"
                        "stderr:\n%s" % (d.access_log, os.path.exists(d.access_log),
                                         d.stderr()[-2000:]))
        self.assertTrue(any("pre=1" in l for l in d.access_lines(rotated)))
        self.stop_ok(d)

    def test_usr1_reopen_unwritable_dir_keeps_logging(self):
        """Documented limit: after dropping to www-data, ringd cannot create a new
        file in a root-owned directory (the packaged /var/log/ringd is the user's,
        and the logrotate file uses create). SIGUSR1 then reports the error and
        lines keep going to the file already open: nothing is lost."""
        d = self.make()
        d.start()
        get(d.port, "/which.txt?pre=1")
        self.assertTrue(self.wait_for(
            lambda: any("pre=1" in l for l in d.access_lines()), 3))
        os.rename(d.access_log, d.access_log + ".1")
        d.signal(signal.SIGUSR1)
        self.assertTrue(self.wait_for(lambda: "reopen" in d.stderr(), 2.5),
                        "no reopen error reported; stderr:\n%s" % d.stderr()[-2000:])

        def still_logged():
            get(d.port, "/which.txt?post=1")
            with open(d.access_log + ".1", errors="replace") as f:
                return "post=1" in f.read()
        self.assertTrue(self.wait_for(still_logged, 2.5, 0.2), "lines lost after a failed reopen")
        self.stop_ok(d)

    def test_usr1_reopen_after_rename_www_dir(self):
        """Log in a directory owned by the serving user."""
        self._rotate(True)

    def test_usr1_reopen_logrotate_create(self):
        """logrotate 'create': the new file exists (owner as the old one) before
        SIGUSR1, in the root-owned directory."""
        d = self.make()
        d.start()
        get(d.port, "/which.txt?pre=1")
        self.assertTrue(self.wait_for(
            lambda: any("pre=1" in l for l in d.access_lines()), 3))
        st = os.stat(d.access_log)
        os.rename(d.access_log, d.access_log + ".1")
        fd = os.open(d.access_log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, st.st_mode & 0o777)
        os.fchown(fd, st.st_uid, st.st_gid)
        os.close(fd)
        d.signal(signal.SIGUSR1)

        def fresh():
            get(d.port, "/which.txt?post=1")
            return any("post=1" in l for l in d.access_lines())
        self.assertTrue(self.wait_for(fresh, 2.5, 0.2),
                        "new log file not written after SIGUSR1; stderr:\n%s"
                        % d.stderr()[-2000:])
        self.stop_ok(d)


# --------------------------------------------------------------------------
# 4. systemd readiness notification
# --------------------------------------------------------------------------

class NotifyTests(LifecycleBase):
    def _notify_sock(self, d):
        path = os.path.join(d.tmp, "notify.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        os.chmod(path, 0o777)   # as systemd's /run/systemd/notify
        self.addCleanup(s.close)
        return s, path

    def _expect(self, s, want, timeout, got):
        """Read datagrams until one equal to (or containing the line) want."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                msg = s.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                break
            got.append(msg)
            if want in msg.split("\n"):
                return True
        return False

    def _drain(self, s, t=0.5):
        out = []
        s.settimeout(t)
        try:
            while True:
                out.append(s.recv(4096).decode("utf-8", "replace"))
        except socket.timeout:
            pass
        return out

    def _notify(self, workers):
        d = self.make(config={"server": {"workers": str(workers)}})
        s, path = self._notify_sock(d)
        d.start(env={"NOTIFY_SOCKET": path}, wait=False)
        got = []
        self.assertTrue(self._expect(s, "READY=1", 5, got),
                        "no READY=1 after start; got %r; stderr:\n%s" % (got, d.stderr()[-2000:]))
        d.wait_ready()
        extra = self._drain(s, 0.5)
        self.assertNotIn("READY=1", extra, "READY=1 sent more than once at start-up")
        got = []
        d.signal(signal.SIGHUP)
        self.assertTrue(self._expect(s, "RELOADING=1", 3, got), "no RELOADING=1: %r" % got)
        self.assertTrue(self._expect(s, "READY=1", 3, got), "no READY=1 after reload: %r" % got)
        self.assertEqual(get(d.port, "/which.txt").status, 200)
        got = []
        d.signal(signal.SIGTERM)
        self.assertTrue(self._expect(s, "STOPPING=1", 3, got), "no STOPPING=1: %r" % got)
        self.assertEqual(d.wait(5), 0)
        rest = self._drain(s, 0.3)
        if workers > 1:
            self.assertEqual(got.count("STOPPING=1") + rest.count("STOPPING=1"), 1,
                             "workers must not talk to systemd: %r" % (got + rest))

    def test_notify_single(self):
        self._notify(1)

    def test_notify_workers2(self):
        self._notify(2)

    def _notify_broken_reload(self, workers):
        d = self.make(config={"server": {"workers": str(workers)}})
        s, path = self._notify_sock(d)
        d.start(env={"NOTIFY_SOCKET": path}, wait=False)
        got = []
        self.assertTrue(self._expect(s, "READY=1", 5, got), "no READY=1: %r" % got)
        d.wait_ready()
        self._drain(s, 0.3)
        with open(d.conf, "a") as f:
            f.write("[server]\nno_such_key = 1\n")
        got = []
        d.signal(signal.SIGHUP)
        self.assertTrue(self._expect(s, "RELOADING=1", 3, got), "no RELOADING=1: %r" % got)
        self.assertTrue(self._expect(s, "READY=1", 3, got),
                        "a failed reload never returns to READY=1 (systemd would stay "
                        "'reloading'): %r" % got)
        self.stop_ok(d)

    def test_notify_broken_reload_single(self):
        self._notify_broken_reload(1)

    def test_notify_broken_reload_workers2(self):
        self._notify_broken_reload(2)


# --------------------------------------------------------------------------
# 5. socket activation
# --------------------------------------------------------------------------

class SocketActivationTests(LifecycleBase):
    def _activated(self, workers):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(ls.close)
        ls.bind(("127.0.0.1", 0))
        ls.listen(128)
        act_port = ls.getsockname()[1]
        d = self.make(config={"server": {"workers": str(workers)}})
        cfg_port = d.port
        fd = ls.fileno()

        def pre():
            os.dup2(fd, 3)
        wrapper = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"']
        d.start(wait=False, wrapper=wrapper, pass_fds=(3,), preexec_fn=pre)
        d.port = act_port
        ls.close()   # only the daemon holds it now
        d.wait_ready()
        for _ in range(2 * workers + 2):
            r = get(act_port, "/which.txt")
            self.assertEqual((r.status, r.body), (200, b"one\n"))
        self.assertTrue(refused(cfg_port, timeout=1),
                        "the configured port %d is bound although sockets were inherited"
                        % cfg_port)
        self.assertIn("from systemd", d.stderr())
        # a reload does not drop the inherited socket
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        for _ in range(2 * workers + 2):
            r = get(act_port, "/which.txt")
            self.assertEqual(r.status, 200)
        self.assertTrue(refused(cfg_port, timeout=1))
        self.stop_ok(d)

    def test_socket_activation(self):
        self._activated(1)

    def test_socket_activation_workers2(self):
        self._activated(2)


# --------------------------------------------------------------------------
# 6. privilege drop
# --------------------------------------------------------------------------

class PrivilegeTests(LifecycleBase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root")

    def _uids(self, d, workers):
        pids = [d.proc.pid]
        if workers > 1:
            kids = self.wait_for(lambda: len(children(d.proc.pid)) == workers and
                                 children(d.proc.pid), 3)
            self.assertTrue(kids, "expected %d workers, have %r" % (workers, children(d.proc.pid)))
            pids = kids
        return {p: proc_uids(p) for p in pids}

    def test_default_drops_to_www_data(self):
        ids = www_data()
        if ids is None:
            self.skipTest("no www-data user")
        for workers in (1, 2):
            with self.subTest(workers=workers):
                d = self.make(config={"server": {"workers": str(workers)}})
                d.start()
                self.assertEqual(get(d.port, "/which.txt").status, 200)
                for pid, uids in self._uids(d, workers).items():
                    self.assertEqual(uids, [ids[0]] * 4, "pid %d Uid line %r" % (pid, uids))
                self.stop_ok(d)

    def test_user_root_stays_root(self):
        d = self.make(extra_args=["-o", "server.user=root"])
        d.start()
        self.assertEqual(get(d.port, "/which.txt").status, 200)
        for pid, uids in self._uids(d, 1).items():
            self.assertEqual(uids, [0, 0, 0, 0])
        self.stop_ok(d)

    def test_no_such_user(self):
        d = self.make(extra_args=["-o", "server.user=nosuchuser"])
        d.start(wait=False)
        rc = d.wait(5)
        self.assertIsNotNone(rc, "daemon kept running with an unknown user")
        self.assertNotEqual(rc, 0)
        self.assertIn("nosuchuser", d.stderr())


# --------------------------------------------------------------------------
# 7. supervisor
# --------------------------------------------------------------------------

class SupervisorTests(LifecycleBase):
    def test_worker_restart_and_stop(self):
        d = self.make(config={"server": {"workers": "2"}})
        d.start()
        kids = self.wait_for(lambda: len(children(d.proc.pid)) == 2 and children(d.proc.pid), 3)
        self.assertTrue(kids, "expected 2 workers: %r" % children(d.proc.pid))
        victim = kids[0]
        os.kill(victim, signal.SIGKILL)

        def replaced():
            k = children(d.proc.pid)
            return len(k) == 2 and victim not in k and k
        now = self.wait_for(replaced, 2.5)
        self.assertTrue(now, "no replacement worker within 2.5 s: %r; stderr:\n%s"
                        % (children(d.proc.pid), d.stderr()[-2000:]))
        for i in range(20):
            r = get(d.port, "/which.txt?k=%d" % i)
            self.assertEqual((r.status, r.body), (200, b"one\n"))
        self.assertTrue(d.alive())
        d.signal(signal.SIGTERM)
        rc = d.wait(8)
        self.assertEqual(rc, 0, "supervisor exit status; stderr:\n%s" % d.stderr()[-2000:])
        for p in now:
            self.assertTrue(self.wait_for(lambda: not os.path.exists("/proc/%d" % p) or
                                          open("/proc/%d/stat" % p).read().split(")")[1].split()[0] == "Z",
                                          2), "worker %d still running" % p)


def listening_sockets(port):
    """Number of LISTEN entries for 127.0.0.1:port in /proc/net/tcp."""
    n = 0
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            parts = ln.split()
            if parts[1] == want and parts[3] == "0A":
                n += 1
    return n


class SupervisorListenTests(LifecycleBase):
    def test_sigterm_workers2_refuses_new_connections(self):
        """As test_signals does for one worker: once SIGTERM is taken, new
        connections are refused, not queued on a socket nobody accepts from."""
        d = self.make(config={"server": {"workers": "2", "shutdown_timeout": "3"}},
                      populate=lambda d: d.write_random("big64.bin", BIG))
        d.start()
        dl = SlowDownload(d.port, "/big64.bin", rcvbuf=64 * 1024)
        self.assertTrue(dl.read(256 * 1024))
        d.signal(signal.SIGTERM)
        ok = refused(d.port, timeout=2)
        hung = None
        if not ok:
            try:
                get(d.port, "/which.txt", timeout=1)
                hung = "served"
            except socket.timeout:
                hung = "accepted but never answered"
            except (OSError, ConnectionClosed) as e:
                hung = repr(e)
        dl.close()
        rc = d.wait(8)
        self.assertTrue(ok, "connect() still succeeds during shutdown (workers=2) instead of "
                        "being refused; a request on such a connection: %s" % hung)
        self.assertEqual(rc, 0)

    def test_restarted_worker_uses_reloaded_listen(self):
        d = self.make(config={"server": {"workers": "2"}})
        d.start()
        new = free_port()
        d.rewrite({"server": {"listen": "127.0.0.1:%d" % new}})
        d.signal(signal.SIGHUP)
        self.wait_body(d, "/which.txt", b"one\n", timeout=3, port=new)
        self.assertTrue(self.wait_for(lambda: listening_sockets(new) == 2, 3),
                        "expected 2 listening sockets on the new port, have %d"
                        % listening_sockets(new))
        kids = children(d.proc.pid)
        os.kill(kids[0], signal.SIGKILL)
        self.assertTrue(self.wait_for(lambda: len(children(d.proc.pid)) == 2 and
                                      kids[0] not in children(d.proc.pid), 2.5))
        self.assertTrue(self.wait_for(lambda: listening_sockets(new) == 2, 2),
                        "the replacement worker does not listen on the reloaded address "
                        "(%d socket(s) on the new port)" % listening_sockets(new))
        d.port = new
        self.stop_ok(d)


# --------------------------------------------------------------------------
# 8. -t with a busy port
# --------------------------------------------------------------------------

class CheckBusyPortTests(LifecycleBase):
    def test_check_port_in_use(self):
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        holder.listen(8)
        port = holder.getsockname()[1]
        d = self.make(config={"server": {"listen": "127.0.0.1:%d" % port}})
        write_config(d.conf, d.config)
        p = subprocess.run([BINARY, "-c", d.conf, "-t"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, "stdout=%r stderr=%r" % (p.stdout, err))
        self.assertIn("%d" % port, err)
        self.assertRegex(err, r"(?i)in use")

    def test_check_port_held_by_running_ringd(self):
        """-t for a port a running ringd holds (same user; both set
        SO_REUSEPORT, so a bind succeeds and the two would share the traffic)."""
        d = self.make()
        d.start()
        d2 = self.make(config={"server": {"listen": "127.0.0.1:%d" % d.port}})
        write_config(d2.conf, d2.config)
        p = subprocess.run([BINARY, "-c", d2.conf, "-t"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 1, "-t said %r / %r for a port a running ringd holds"
                         % (p.stdout, p.stderr))
        self.stop_ok(d)


if __name__ == "__main__":
    unittest.main()


class PinnedMemoryTests(unittest.TestCase):
    """Rings are pinned memory charged to the user against RLIMIT_MEMLOCK (a ring
    takes 0.5-0.75 MiB). Started as an unprivileged user with room for one ring, a
    second worker cannot set up: the supervisor keeps the first serving (taking the
    other's socket out of the SO_REUSEPORT group meanwhile) and retries the other
    every few seconds rather than in a tight loop; with no worker able to start it
    gives up. Runs as nobody: the charge is per user, so the user must
    not be one that other io_uring programs (other tests' daemons) run as."""

    def run_limited(self, workers, memlock):
        d = Daemon(config={"server": {"workers": str(workers)}})
        self.addCleanup(d.cleanup)
        d.write("index.html", "hello\n")
        p = start_as_nobody(self, d, ["prlimit", "--memlock=%d:%d" % (memlock, memlock)])
        return d, p

    def test_worker_that_cannot_set_up_is_retried_slowly(self):
        d, p = self.run_limited(2, 1 << 20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "died" not in d.stderr():
            time.sleep(0.05)
        self.assertIn("restarting in 5 s", d.stderr())
        # While the failed worker waits for its retry, its SO_REUSEPORT socket is
        # out of the group: every new connection (each a new source port, so a
        # new hash) lands on the worker that runs, none waits in a dead backlog.
        for i in range(20):
            try:
                r = get(d.port, "/index.html", timeout=2)
            except (OSError, ConnectionClosed) as e:
                self.fail("connection %d not served while a worker is held back (%s); "
                          "stderr:\n%s" % (i, e, d.stderr()[-2000:]))
            self.assertEqual(r.status, 200)
        time.sleep(5)
        self.assertIsNone(p.poll(), "supervisor exited; stderr:\n%s" % d.stderr()[-2000:])
        died = d.stderr().count("died")
        self.assertLessEqual(died, 4, "worker restarted in a tight loop:\n%s" % d.stderr()[-2000:])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0, d.stderr()[-2000:])

    def test_held_worker_rejoins_when_it_can_start(self):
        # Another process of nobody's pins about 0.65 MiB in small rings, so of two
        # rings (0.5-0.75 MiB each) within 1.5 MiB only one fits; once it exits
        # the held worker's retry succeeds.
        hog, rings = hold_as_nobody(self, RING_HOG, ["prlimit", "--memlock=681574:681574"])
        self.assertGreater(rings, 10)
        d, p = self.run_limited(2, 3 << 19)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "died" not in d.stderr():
            time.sleep(0.05)
        self.assertIn("restarting in 5 s", d.stderr())
        self.assertEqual(listeners(d.port), 1, "the held worker's socket is still listening")
        hog.stdin.close()
        hog.wait(10)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and listeners(d.port) < 2:
            time.sleep(0.1)
        self.assertEqual(listeners(d.port), 2, "held worker's socket not back; stderr:\n%s"
                         % d.stderr()[-2000:])
        time.sleep(0.5)
        self.assertEqual(d.stderr().count("died"), 1, d.stderr()[-2000:])
        for i in range(20):
            self.assertEqual(get(d.port, "/index.html", timeout=2).status, 200, "connection %d" % i)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0, d.stderr()[-2000:])

    def test_no_worker_can_start(self):
        d, p = self.run_limited(2, 256 << 10)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        self.assertEqual(rc, 1, "want exit 1 when no worker can start; stderr:\n%s"
                         % d.stderr()[-2000:])
        self.assertIn("io_uring_setup", d.stderr())
