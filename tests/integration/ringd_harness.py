"""Test harness for the ringd integration suite (standard library only).

RingdTestCase starts one daemon per test class (or per test when PER_TEST is
true) on a free loopback port, with a temporary docroot, and stops it with
SIGTERM afterwards.  Every socket operation has a timeout so the suite never
hangs.
"""

import email.utils
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BINARY = os.environ.get("RINGD_BINARY", "")
DEFAULT_TIMEOUT = 5.0

IMF_FIXDATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def parse_http_date(s):
    return email.utils.parsedate_to_datetime(s).timestamp()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# --------------------------------------------------------------------------
# Raw HTTP client
# --------------------------------------------------------------------------

class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.header_list = headers          # [(name, value)] in order
        self.body = body                    # bytes (None when hashed only)
        self.raw_head = raw_head
        self.sha256 = None
        self.body_len = 0

    def header(self, name, default=None):
        """Value of a header (last occurrence), case-insensitive."""
        name = name.lower()
        val = default
        for k, v in self.header_list:
            if k.lower() == name:
                val = v
        return val

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.header_list if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def __repr__(self):
        b = self.body[:120] if self.body is not None else "<hashed %d bytes>" % self.body_len
        return "<Response %s %d %r headers=%r body=%r>" % (
            self.version, self.status, self.reason, self.header_list, b)


class ConnectionClosed(Exception):
    pass


class Conn:
    """A raw HTTP/1.x client connection with a read buffer."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, rcvbuf=None,
                 family=None):
        if family is None:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, n=65536):
        """Read more bytes into buf. Returns False on EOF/reset."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(n)
        except ConnectionResetError:
            self.eof = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, head=False, hasher=None, max_body=None):
        """Read one complete response. head=True: response to HEAD (no body).
        hasher: a hashlib object; the body is fed to it instead of being kept.
        Raises ConnectionClosed if the connection ends before a status line,
        socket.timeout on timeout."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                if self.buf:
                    raise ConnectionClosed("connection closed mid-head: %r" % self.buf[:300])
                raise ConnectionClosed("connection closed before any response")
        idx = self.buf.index(b"\r\n\r\n")
        raw_head = self.buf[:idx]
        self.buf = self.buf[idx + 4:]
        lines = raw_head.decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("malformed status line: %r" % lines[0])
        version, status, reason = m.group(1), int(m.group(2)), m.group(3)
        headers = []
        for ln in lines[1:]:
            if ":" not in ln:
                raise AssertionError("malformed header line: %r" % ln)
            k, v = ln.split(":", 1)
            headers.append((k, v.strip(" \t")))
        resp = Response(version, status, reason, headers, b"", raw_head)
        if head or status in (204, 304) or 100 <= status < 200:
            return resp
        cl = resp.header("Content-Length")
        te = resp.header("Transfer-Encoding")
        if cl is not None:
            length = int(cl)
            got = 0
            body_parts = []
            while got < length:
                if not self.buf:
                    if not self._fill(min(1 << 20, max(65536, length - got))):
                        raise ConnectionClosed(
                            "connection closed after %d of %d body bytes" % (got, length))
                take = self.buf[:length - got]
                self.buf = self.buf[len(take):]
                got += len(take)
                if hasher is not None:
                    hasher.update(take)
                else:
                    body_parts.append(take)
                if max_body is not None and got >= max_body:
                    break
            resp.body_len = got
            if hasher is not None:
                resp.body = None
                resp.sha256 = hasher.hexdigest()
            else:
                resp.body = b"".join(body_parts)
        elif te is not None and "chunked" in te.lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        raise ConnectionClosed("closed in chunked body")
                i = self.buf.index(b"\r\n")
                size = int(self.buf[:i].split(b";")[0], 16)
                self.buf = self.buf[i + 2:]
                while len(self.buf) < size + 2:
                    if not self._fill():
                        raise ConnectionClosed("closed in chunk")
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            resp.body = body
            resp.body_len = len(body)
        else:
            while self._fill():
                pass
            resp.body = self.buf
            resp.body_len = len(self.buf)
            self.buf = b""
        return resp

    def read_responses(self, heads):
        """Read len(heads) responses; heads is a list of bools (HEAD or not)."""
        return [self.read_response(head=h) for h in heads]

    def read_until_close(self, timeout=None, limit=None):
        """Read everything until EOF/reset; returns (data, closed)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not self.eof:
            rem = deadline - time.monotonic()
            if rem <= 0:
                return self.buf, False
            self.sock.settimeout(rem)
            try:
                if not self._fill():
                    break
            except socket.timeout:
                return self.buf, False
            if limit is not None and len(self.buf) >= limit:
                return self.buf, False
        return self.buf, True

    def wait_closed(self, timeout):
        """True if the peer closes (EOF or RST) within timeout; any bytes
        received meanwhile are kept in self.buf."""
        _, closed = self.read_until_close(timeout=timeout)
        self.sock.settimeout(self.timeout)
        return closed

    def no_data_within(self, timeout):
        """True when nothing arrives (and no close) within timeout."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            self.eof = True
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return False

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def reset(self):
        """Close with RST (SO_LINGER 0)."""
        import struct
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def build_request(method="GET", target="/", headers=None, version="HTTP/1.1",
                  host="localhost", body=b""):
    """Build request bytes. headers: list of (k, v) or dict. host=None: no Host."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    if headers:
        items = headers.items() if isinstance(headers, dict) else headers
        for k, v in items:
            lines.append("%s: %s" % (k, v))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, str):
        body = body.encode("latin-1")
    return data + body


# --------------------------------------------------------------------------
# Daemon process management
# --------------------------------------------------------------------------

def write_config(path, sections):
    """sections: {section: {key: value}} (ordered)."""
    with open(path, "w") as f:
        for sec, kv in sections.items():
            f.write("[%s]\n" % sec)
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


def merge_config(base, override):
    out = {s: dict(kv) for s, kv in base.items()}
    for s, kv in (override or {}).items():
        out.setdefault(s, {})
        for k, v in kv.items():
            if v is None:
                out[s].pop(k, None)
            else:
                out[s][k] = v
    return out


class Daemon:
    """One ringd process with its own temp dir: TMP/root (docroot),
    TMP/ringd.ini, TMP/stderr.log, TMP/access.log."""

    def __init__(self, binary=None, config=None, extra_args=None, use_listen=True):
        self.binary = binary or BINARY
        self.tmp = tempfile.mkdtemp(prefix="ringd-it-")
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.root)
        self.conf = os.path.join(self.tmp, "ringd.ini")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.access_log = os.path.join(self.tmp, "access.log")
        self.port = free_port()
        self.host = "127.0.0.1"
        base = {
            "server": {"listen": "127.0.0.1:%d" % self.port, "root": self.root,
                       "shutdown_timeout": "10"},
            "http": {},
            "log": {"access": self.access_log, "format": "combined",
                    "error": "stderr"},
        }
        self.config = merge_config(base, config)
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.returncode = None
        self._stderr_f = None

    # -- docroot helpers --
    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, data, mtime=None):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(p, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(p, (mtime, mtime))
        return p

    def write_random(self, rel, size, seed=0):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        h = hashlib.sha256()
        with open(p, "wb") as f:
            left = size
            while left > 0:
                chunk = os.urandom(min(left, 1 << 20))
                f.write(chunk)
                h.update(chunk)
                left -= len(chunk)
        return h.hexdigest()

    # -- process --
    def argv(self):
        return [self.binary, "-c", self.conf] + self.extra_args

    def start(self, wait=True, timeout=5.0):
        write_config(self.conf, self.config)
        self._stderr_f = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_f, stderr=self._stderr_f,
                                     cwd=self.tmp)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=5.0, port=None, host=None):
        port = port or self.port
        host = host or self.host
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("ringd exited with %s during start-up; argv=%r\nstderr:\n%s"
                                     % (self.proc.returncode, self.argv(), self.stderr()))
            try:
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.settimeout(0.5)
                s.connect((host, port))
                s.close()
                return
            except OSError as e:
                last = e
                s.close()
            time.sleep(0.05)
        self.kill()
        raise AssertionError("ringd did not accept on %s:%d within %.1fs (%s)\nstderr:\n%s"
                             % (host, port, timeout, last, self.stderr()))

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self, timeout=10.0):
        """SIGTERM; wait up to timeout; SIGKILL and raise on failure.
        Returns the exit status."""
        try:
            if self.proc is None:
                return None
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.returncode = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.kill()
                    raise AssertionError("ringd did not exit within %.0fs of SIGTERM; killed.\n"
                                         "stderr:\n%s" % (timeout, self.stderr()[-3000:]))
            else:
                self.returncode = self.proc.returncode
            return self.returncode
        finally:
            if self._stderr_f:
                self._stderr_f.close()
                self._stderr_f = None

    def cleanup(self):
        self.kill()
        # make everything removable (chmod 000 files/dirs)
        for dp, dns, fns in os.walk(self.tmp):
            for n in dns:
                try:
                    p = os.path.join(dp, n)
                    if not os.path.islink(p):
                        os.chmod(p, 0o755)
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- access log --
    def access_lines(self, path=None):
        path = path or self.access_log
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []

    def wait_access_lines(self, n, timeout=3.0, path=None):
        deadline = time.monotonic() + timeout
        while True:
            lines = self.access_lines(path)
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


# --------------------------------------------------------------------------
# TestCase base
# --------------------------------------------------------------------------

def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


# Limits the kernel counts per user (pinned memory, pipe pages) are tested as
# nobody: a user no other test's daemon runs as, so only what the test starts is
# charged. `prefix` goes in front (e.g. prlimit and its arguments).
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def skip_unless_nobody(tc, prefix=()):
    """Skip tc unless we are root with setpriv (and prefix's program) and a user
    nobody exists."""
    import pwd
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        tc.skipTest("no user nobody")
    if os.geteuid() != 0 or not shutil.which("setpriv") or (prefix and not shutil.which(prefix[0])):
        tc.skipTest("needs root, setpriv" + (" and " + prefix[0] if prefix else ""))


def hold_as_nobody(tc, script, prefix=()):
    """Run a Python script as nobody that takes some per-user resource, prints how
    much it got and holds it until its stdin closes (at tc's clean-up at the
    latest). Returns (Popen, the number it printed)."""
    skip_unless_nobody(tc, prefix)
    p = subprocess.Popen(list(prefix) + AS_NOBODY + [sys.executable, "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tc.addCleanup(p.wait, 10)
    tc.addCleanup(p.stdin.close)
    return p, int(p.stdout.readline())


def start_as_nobody(tc, d, prefix=()):
    """Start Daemon d as nobody after `prefix`; skips tc where that cannot be done.
    The daemon gets its own process group, killed in tc's clean-up, so a failing
    test leaves no worker behind holding the user's resources. Returns the Popen
    (also d.proc)."""
    skip_unless_nobody(tc, prefix)
    for dirpath, dirs, files in os.walk(d.tmp):
        os.chmod(dirpath, 0o755)
        for n in files:
            os.chmod(os.path.join(dirpath, n), 0o666)
    os.chmod(d.tmp, 0o777)   # the access log is created there
    write_config(d.conf, d.config)
    os.chmod(d.conf, 0o644)
    argv = list(prefix) + AS_NOBODY + d.argv()
    err = open(d.stderr_path, "wb")
    tc.addCleanup(err.close)
    p = subprocess.Popen(argv, stdout=err, stderr=err, cwd=d.tmp, start_new_session=True)
    d.proc = p   # prlimit and setpriv exec: p is ringd

    def kill_all():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    tc.addCleanup(kill_all)
    return p


class RingdTestCase(unittest.TestCase):
    """Subclasses set CONFIG ({section: {key: value}}, None values delete),
    EXTRA_ARGS, PER_TEST, and override populate(cls, d) to fill the docroot
    (d is the Daemon; d.tmp is the directory containing d.root)."""
    CONFIG = {}
    EXTRA_ARGS = []
    PER_TEST = False
    CHECK_EXIT = True

    maxDiff = 4000

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<!doctype html><title>ringd</title>hello\n")

    @classmethod
    def new_daemon(cls):
        """The Daemon to start; a test class may return a subclass."""
        return Daemon(config=cls.CONFIG, extra_args=cls.EXTRA_ARGS)

    @classmethod
    def _make(cls):
        if not BINARY or not os.path.exists(BINARY):
            raise unittest.SkipTest("ringd binary not found: %r" % BINARY)
        d = cls.new_daemon()
        try:
            cls.populate(d)
            d.start()
        except BaseException:
            d.cleanup()
            raise
        return d

    @classmethod
    def _finish(cls, d):
        try:
            rc = d.stop()
            if cls.CHECK_EXIT and rc not in (0, None):
                raise AssertionError("ringd exited with status %r after SIGTERM (expected 0)\n"
                                     "stderr:\n%s" % (rc, d.stderr()[-3000:]))
        finally:
            d.cleanup()

    @classmethod
    def setUpClass(cls):
        cls.d = None
        if not cls.PER_TEST:
            cls.d = cls._make()

    @classmethod
    def tearDownClass(cls):
        if not cls.PER_TEST and cls.d is not None:
            d, cls.d = cls.d, None
            cls._finish(d)

    def setUp(self):
        if self.PER_TEST:
            self.d = self._make()
            self.addCleanup(self._per_test_finish)
        self.assertTrue(self.d.alive(), "ringd is not running (stderr: %s)" % self.d.stderr()[-2000:])

    def _per_test_finish(self):
        d = self.d
        self._finish(d)

    # -- convenience --
    @property
    def port(self):
        return self.d.port

    def conn(self, **kw):
        return Conn(self.d.port, host=kw.pop("host", self.d.host), **kw)

    def request(self, method="GET", target="/", headers=None, version="HTTP/1.1",
                host="localhost", body=b"", hasher=None, timeout=DEFAULT_TIMEOUT):
        """One request on a fresh connection; returns the Response."""
        with self.conn(timeout=timeout) as c:
            c.send(build_request(method, target, headers, version, host, body))
            return c.read_response(head=(method == "HEAD"), hasher=hasher)

    def get(self, target, headers=None, **kw):
        return self.request("GET", target, headers, **kw)

    def head(self, target, headers=None, **kw):
        return self.request("HEAD", target, headers, **kw)

    def send_raw(self, data, timeout=DEFAULT_TIMEOUT, head=False):
        """Send raw bytes; return (Response or None, closed_after, conn_buf)."""
        with self.conn(timeout=timeout) as c:
            try:
                c.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                r = c.read_response(head=head)
            except ConnectionClosed:
                return None, True, c.buf
            closed = c.wait_closed(timeout=2.0)
            return r, closed, c.buf

    def curl(self, *args, timeout=20):
        cmd = ["curl", "-s", "--max-time", str(timeout)] + list(args)
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout + 5)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.d.port, path)

    def assert_alive(self):
        self.assertTrue(self.d.alive(), "ringd died; exit=%r stderr:\n%s"
                        % (self.d.proc.returncode, self.d.stderr()[-3000:]))
        r = self.get("/index.html", timeout=5)
        self.assertEqual(r.status, 200, "server no longer serves /index.html: %r" % r)

    def assertStatus(self, resp, status, msg=""):
        self.assertIsNotNone(resp, "expected HTTP %d, got no response (connection closed) %s"
                             % (status, msg))
        self.assertEqual(resp.status, status, "expected HTTP %d, got %d %s; %s; %r"
                         % (status, resp.status, resp.reason, msg, resp))

    def assertHeader(self, resp, name, value=None, msg=""):
        v = resp.header(name)
        self.assertIsNotNone(v, "missing header %s %s; headers: %r" % (name, msg, resp.header_list))
        if value is not None:
            self.assertEqual(v, value, "header %s: expected %r, got %r %s" % (name, value, v, msg))
        return v

    def assertNoHeader(self, resp, name, msg=""):
        self.assertIsNone(resp.header(name), "unexpected header %s: %r %s"
                          % (name, resp.header(name), msg))


def run_threads(fn, args_list, timeout=60):
    """Run fn(*args) in threads; return list of (result, exception)."""
    results = [None] * len(args_list)

    def wrap(i, a):
        try:
            results[i] = (fn(*a), None)
        except BaseException as e:  # noqa
            results[i] = (None, e)

    ts = [threading.Thread(target=wrap, args=(i, a), daemon=True) for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.1, deadline - time.monotonic()))
    for i, r in enumerate(results):
        if r is None:
            results[i] = (None, TimeoutError("thread %d did not finish within %ss" % (i, timeout)))
    return results
