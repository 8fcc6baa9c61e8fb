"""Abuse: slowloris, idle and non-reading clients, fd exhaustion, connection
floods, resets / half-closes / garbage / huge heads / connection churn, memory
growth under load, provided-buffer exhaustion, and a hostile path table.

Every test is bounded: each loop has a count limit and a deadline, every socket
has a timeout, and each test finishes in well under 20 s on loopback."""

import errno
import os
import random
import re
import resource
import selectors
import socket
import struct
import subprocess
import threading
import time
from collections import deque

from ringd_harness import (ConnectionClosed, Daemon, RingdTestCase,
                           build_request, proc_rss_kib)

HEADER_T = 2
KEEPALIVE_T = 2
SEND_T = 3
SHORT = {"http": {"header_timeout": str(HEADER_T), "keepalive_timeout": str(KEEPALIVE_T),
                  "send_timeout": str(SEND_T)}}


# --------------------------------------------------------------------------
# /proc helpers
# --------------------------------------------------------------------------

def proc_cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def raise_nofile(want):
    """Raise our soft RLIMIT_NOFILE towards want (bounded by the hard limit);
    returns the resulting soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------
# A single-threaded, non-blocking multi-connection HTTP client
# --------------------------------------------------------------------------

CL_RE = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)


def take_response(buf, is_head=False):
    """Parse one response from the front of bytearray buf. Returns
    (status, head, body) and removes it from buf, or None when incomplete."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    head = bytes(buf[:i])
    if not head.startswith(b"HTTP/1."):
        raise AssertionError("garbage where a status line was expected: %r" % head[:200])
    status = int(head[9:12])
    cl = 0
    if not is_head and status not in (204, 304):
        m = CL_RE.search(head)
        if m is None:
            raise AssertionError("response without Content-Length: %r" % head[:300])
        cl = int(m.group(1))
    end = i + 4 + cl
    if len(buf) < end:
        return None
    body = bytes(buf[i + 4:end])
    del buf[:end]
    return status, head, body


class NBClient:
    """One non-blocking connection: queued output, expected responses."""

    def __init__(self, sock, idx):
        self.sock = sock
        self.idx = idx
        self.out = bytearray()
        self.inb = bytearray()
        self.expect = deque()      # (is_head, expected_status, expected_body or None, label)
        self.done = 0
        self.eof = False
        self.error = None
        self.connected = False

    def queue(self, raw, is_head=False, status=200, body=None, label=""):
        self.out += raw
        self.expect.append((is_head, status, body, label))


class Driver:
    """Runs many NBClients in one thread with selectors."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.clients = []
        self.errors = []          # first problems (bounded)
        self.n_errors = 0
        self.n_ok = 0
        self.on_response = None   # callback(client) after each good response

    def _err(self, c, msg):
        self.n_errors += 1
        if c.error is None:
            c.error = msg
        if len(self.errors) < 10:
            self.errors.append("conn %d: %s" % (c.idx, msg))

    def connect(self, port, n, deadline, batch=256):
        """Open n connections (paced in batches so the accept queue never
        overflows); returns once all are connected or the deadline passes."""
        pending = 0
        start = len(self.clients)
        while len(self.clients) - start < n and time.monotonic() < deadline:
            k = min(batch, n - (len(self.clients) - start))
            for _ in range(k):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                rc = s.connect_ex(("127.0.0.1", port))
                if rc not in (0, errno.EINPROGRESS):
                    s.close()
                    raise AssertionError("connect #%d failed: %s" % (len(self.clients), os.strerror(rc)))
                c = NBClient(s, len(self.clients))
                self.clients.append(c)
                self.sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, c)
                pending += 1
            # wait until this batch is connected (writable)
            while pending and time.monotonic() < deadline:
                for key, ev in self.sel.select(timeout=0.2):
                    c = key.data
                    if not c.connected and ev & selectors.EVENT_WRITE:
                        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        c.connected = True
                        pending -= 1
                        if err:
                            self._err(c, "connect: %s" % os.strerror(err))
                            self.sel.unregister(c.sock)
                            c.eof = True
                            continue
                        self.sel.modify(c.sock, selectors.EVENT_READ, c)
                    elif ev & selectors.EVENT_READ:
                        self._on_read(c)
        self._update_interest()
        return [c for c in self.clients[start:] if c.connected and not c.eof]

    def _update_interest(self):
        for c in self.clients:
            if c.eof:
                continue
            ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
            try:
                self.sel.modify(c.sock, ev, c)
            except (KeyError, ValueError):
                pass

    def _on_read(self, c):
        try:
            data = c.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            data = b""
            if c.expect:
                self._err(c, "recv: %s with %d responses outstanding" % (e, len(c.expect)))
        if not data:
            c.eof = True
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            if c.expect and c.error is None:
                self._err(c, "closed by server with %d responses outstanding (buffered %r)"
                          % (len(c.expect), bytes(c.inb[:120])))
            return
        c.inb += data
        while c.expect:
            is_head, st, body, label = c.expect[0]
            try:
                r = take_response(c.inb, is_head)
            except AssertionError as e:
                self._err(c, str(e))
                c.expect.clear()
                return
            if r is None:
                break
            c.expect.popleft()
            status, head, got = r
            if status != st:
                self._err(c, "%s: expected %d, got %d: %r" % (label, st, status, head[:200]))
            elif body is not None and got != body:
                self._err(c, "%s: body mismatch (%d bytes, expected %d)" % (label, len(got), len(body)))
            else:
                self.n_ok += 1
            c.done += 1
            if self.on_response is not None:
                self.on_response(c)
        if not c.expect and c.inb:
            self._err(c, "unexpected extra bytes: %r" % bytes(c.inb[:120]))
            c.inb.clear()

    def _on_write(self, c):
        try:
            n = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._err(c, "send: %s" % e)
            c.out.clear()
            return
        del c.out[:n]
        if not c.out:
            self.sel.modify(c.sock, selectors.EVENT_READ, c)

    def flush_interest(self, c):
        if not c.eof and c.out:
            self.sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def run(self, deadline, until=None):
        """Pump until every queued response arrived (or until() is true, or
        the deadline passes). Returns True when finished before the deadline."""
        if until is None:
            def until():
                return all(c.eof or (not c.expect and not c.out) for c in self.clients)
        checks = 0
        while time.monotonic() < deadline:
            checks += 1
            if checks % 16 == 1 and until():
                return True
            evs = self.sel.select(timeout=0.1)
            if not evs and until():
                return True
            for key, ev in evs:
                c = key.data
                if ev & selectors.EVENT_WRITE and c.out:
                    self._on_write(c)
                if ev & selectors.EVENT_READ and not c.eof:
                    self._on_read(c)
        return until()

    def close_all(self):
        for c in self.clients:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        self.clients = []
        self.sel.close()


# --------------------------------------------------------------------------
# 1. slowloris, idle keep-alive, non-reading client
# --------------------------------------------------------------------------

class SlowClientTests(RingdTestCase):
    CONFIG = SHORT

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")
        d.write_random("big64.bin", 64 << 20)

    def _normal_client_loop(self, stop, lat, bad, limit=200):
        """Fresh connection, GET /a.txt, until stop is set (bounded count)."""
        for _ in range(limit):
            if stop.is_set():
                return
            t0 = time.monotonic()
            try:
                r = self.get("/a.txt", timeout=3)
                if r.status != 200 or r.body != b"file a\n":
                    bad.append("bad response %r" % r)
            except Exception as e:  # noqa
                bad.append("request failed: %r" % e)
            lat.append(time.monotonic() - t0)
            stop.wait(0.1)

    def test_slowloris_50(self):
        n = 50
        socks = []
        t_open = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=3)
            s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            s.setblocking(False)
            socks.append(s)
            t_open.append(time.monotonic())
        closed_at = [None] * n
        got = [b""] * n
        stop = threading.Event()
        lat, bad = [], []
        th = threading.Thread(target=self._normal_client_loop, args=(stop, lat, bad), daemon=True)
        th.start()
        try:
            t_end = time.monotonic() + HEADER_T + 4.5
            sel = selectors.DefaultSelector()
            for i, s in enumerate(socks):
                sel.register(s, selectors.EVENT_READ, i)
            next_tick = time.monotonic()
            while time.monotonic() < t_end and any(c is None for c in closed_at):
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + 0.3
                    for i, s in enumerate(socks):
                        if closed_at[i] is None:
                            try:
                                s.send(b"x")
                            except OSError:
                                closed_at[i] = time.monotonic()
                                sel.unregister(s)
                for key, _ in sel.select(timeout=max(0.0, min(0.05, next_tick - time.monotonic()))):
                    i = key.data
                    try:
                        data = socks[i].recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        got[i] += data
                    else:
                        closed_at[i] = time.monotonic()
                        sel.unregister(socks[i])
            sel.close()
        finally:
            stop.set()
            th.join(5)
            for s in socks:
                s.close()
        still_open = [i for i in range(n) if closed_at[i] is None]
        self.assertEqual(still_open, [], "%d of %d trickling connections still open after %.1fs "
                         "(header_timeout=%d)" % (len(still_open), n, HEADER_T + 4.5, HEADER_T))
        el = [closed_at[i] - t_open[i] for i in range(n)]
        self.assertLess(max(el), HEADER_T + 2.5, "slowloris connection closed after %.2fs "
                        "(header_timeout=%d)" % (max(el), HEADER_T))
        self.assertGreater(min(el), HEADER_T * 0.5, "closed too early: %.2fs" % min(el))
        for i in range(n):
            if got[i]:
                self.assertTrue(got[i].startswith(b"HTTP/1.1 408"),
                                "only a 408 may precede the close; conn %d got %r" % (i, got[i][:200]))
        self.assertEqual(bad, [], "normal client during slowloris: %s" % bad[:3])
        self.assertGreater(len(lat), 5, "normal client made only %d requests" % len(lat))
        self.assertLess(max(lat), 1.0, "normal client request took %.2fs during slowloris "
                        "(latencies %s)" % (max(lat), ["%.2f" % x for x in sorted(lat)[-5:]]))
        self.assert_alive()

    def test_idle_keepalive_closed(self):
        with self.conn(timeout=10) as c:
            c.send(build_request("GET", "/a.txt"))
            self.assertStatus(c.read_response(), 200)
            t0 = time.monotonic()
            closed = c.wait_closed(KEEPALIVE_T + 2.5)
            el = time.monotonic() - t0
            self.assertTrue(closed, "idle keep-alive connection still open after %.1fs "
                            "(keepalive_timeout=%d)" % (el, KEEPALIVE_T))
            self.assertGreater(el, KEEPALIVE_T * 0.5, "closed too early (%.2fs)" % el)
            self.assertEqual(c.buf, b"", "bytes sent on an idle keep-alive close: %r" % c.buf[:200])

    def test_non_reading_client_send_timeout(self):
        log0 = len(self.d.stderr())
        c = self.conn(timeout=10, rcvbuf=8192)
        try:
            c.send(build_request("GET", "/big64.bin"))
            t_req = time.monotonic()
            # normal clients keep being served while the response is stalled
            lat = []
            for _ in range(int((SEND_T + 1.0) / 0.25)):
                t0 = time.monotonic()
                r = self.get("/a.txt", timeout=3)
                lat.append(time.monotonic() - t0)
                self.assertStatus(r, 200)
                time.sleep(0.25)
            self.assertLess(max(lat), 1.0, "server stalled by a non-reading client: %.2fs" % max(lat))
            # the daemon must log the abort by send_timeout (+2.5 s slack)
            deadline = t_req + SEND_T + 2.5
            found = False
            while time.monotonic() < deadline + 0.5:
                if "send timeout" in self.d.stderr()[log0:]:
                    found = True
                    break
                time.sleep(0.1)
            el = time.monotonic() - t_req
            self.assertTrue(found, "no 'send timeout' abort logged %.1fs after the request "
                            "(send_timeout=%d); stderr tail: %s"
                            % (el, SEND_T, self.d.stderr()[-800:]))
            # drain: we must reach EOF/RST well before 64 MiB
            data, ended = c.read_until_close(timeout=3, limit=64 << 20)
            total = len(data)
            self.assertTrue(ended, "connection not closed after send_timeout (read %d bytes)" % total)
            self.assertLess(total, 64 << 20, "whole file delivered: the server never timed out")
        finally:
            c.close()
        self.assert_alive()


# --------------------------------------------------------------------------
# 2. file-descriptor exhaustion
# --------------------------------------------------------------------------

class LimitedDaemon(Daemon):
    """A Daemon started with RLIMIT_NOFILE = (n, n)."""

    def __init__(self, nofile, **kw):
        super().__init__(**kw)
        self.nofile = nofile

    def start(self, wait=True, timeout=5.0):
        from ringd_harness import write_config
        write_config(self.conf, self.config)
        self._stderr_f = open(self.stderr_path, "wb")
        n = self.nofile

        def pre():
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_f, stderr=self._stderr_f,
                                     cwd=self.tmp, preexec_fn=pre)
        if wait:
            self.wait_ready(timeout)
            # the listening socket accepts before the ring exists: make sure
            # start-up really completed
            time.sleep(0.3)
            if self.proc.poll() is not None:
                raise AssertionError("ringd exited with %s during start-up under RLIMIT_NOFILE=%d:\n%s"
                                     % (self.proc.returncode, n, self.stderr()))
        return self


class FdExhaustionSpliceTests(RingdTestCase):
    """body=splice: the daemon pre-creates its pipe pool at start-up; with
    RLIMIT_NOFILE=64 it must still start and leave room for connections."""
    CONFIG = {"http": {"header_timeout": "30", "keepalive_timeout": "30", "send_timeout": "10",
                       "body": "splice"}}
    PER_TEST = True
    NOFILE = 64
    FLOOD = 300

    @classmethod
    def new_daemon(cls):
        return LimitedDaemon(cls.NOFILE, config=cls.CONFIG)

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")

    def test_fd_exhaustion(self):
        pid = self.d.proc.pid
        with open("/proc/%d/limits" % pid) as f:
            lim = [ln for ln in f if ln.startswith("Max open files")]
        self.assertIn(str(self.NOFILE), lim[0], "limit not applied: %r" % lim)
        keep = self.conn(timeout=3)
        flood = []
        try:
            keep.send(build_request("GET", "/a.txt"))
            self.assertStatus(keep.read_response(), 200)
            for i in range(self.FLOOD):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=3)
                flood.append(s)
                s.sendall(build_request("GET", "/a.txt"))
            time.sleep(0.7)
            self.assertTrue(self.d.alive(), "ringd died under fd exhaustion:\n%s" % self.d.stderr()[-2000:])
            fds = proc_fd_count(pid)
            if os.environ.get("ABUSE_DEBUG"):
                print("# fds=%d stderr=%s" % (fds, self.d.stderr()[-400:]))
            cpu0 = proc_cpu_seconds(pid)
            t0 = time.monotonic()
            lat = []
            for _ in range(6):
                t1 = time.monotonic()
                keep.send(build_request("GET", "/a.txt"))
                r = keep.read_response()
                lat.append(time.monotonic() - t1)
                self.assertStatus(r, 200, "established keep-alive client during fd exhaustion")
                self.assertEqual(r.body, b"file a\n")
                time.sleep(max(0.0, t0 + 0.5 * (len(lat)) - time.monotonic()))
            time.sleep(max(0.0, t0 + 3.0 - time.monotonic()))
            cpu = proc_cpu_seconds(pid) - cpu0
            wall = time.monotonic() - t0
            self.assertTrue(self.d.alive(), "ringd died under fd exhaustion")
            self.assertLess(cpu, 0.5, "daemon used %.2fs CPU in %.1fs while out of fds (spinning?) "
                            "fds=%d" % (cpu, wall, fds))
            self.assertLess(max(lat), 1.0, "keep-alive request took %.2fs" % max(lat))
        finally:
            for s in flood:
                s.close()
        # after the flood goes away, new connections are accepted again
        t0 = time.monotonic()
        last = None
        ok = False
        while time.monotonic() - t0 < 2.5:
            try:
                r = self.get("/a.txt", timeout=0.5)
                if r.status == 200:
                    ok = True
                    break
                last = r
            except Exception as e:  # noqa
                last = e
            time.sleep(0.05)
        keep.close()
        self.assertTrue(ok, "no new connection served within 2.5 s after the flood closed "
                        "(last: %r); stderr tail:\n%s" % (last, self.d.stderr()[-1500:]))
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assert_alive()


class FdExhaustionReadTests(FdExhaustionSpliceTests):
    CONFIG = {"http": {"header_timeout": "30", "keepalive_timeout": "30", "send_timeout": "10",
                       "body": "read"}}


# --------------------------------------------------------------------------
# 3. connection flood, 7. provided-buffer exhaustion, 6. memory
# --------------------------------------------------------------------------

A_TXT = b"file a\n"
B_HTML = b"<p>b</p>\n" * 20
C_CSS = b"body{color:red}\n" * 100


class LoadTests(RingdTestCase):
    CONFIG = {"log": {"access": "off"}}

    @classmethod
    def setUpClass(cls):
        cls.nofile = raise_nofile(30000)
        super().setUpClass()

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", A_TXT)
        d.write("b.html", B_HTML)
        d.write("sub/c.css", C_CSS)
        cls.mid = os.urandom(70000)        # larger than cache max_file: a file body
        d.write("mid.bin", cls.mid)
        cls.big = os.urandom(1 << 20)
        d.write("big.bin", cls.big)

    def test_connection_flood_10k(self):
        pid = self.d.proc.pid
        with open("/proc/%d/limits" % pid) as f:
            dlim = int([ln for ln in f if ln.startswith("Max open files")][0].split()[3])
        n = min(10000, self.nofile - 200, dlim - 100)
        self.assertGreater(n, 1000, "fd limits too low for a flood test (ours %d, daemon %d)"
                           % (self.nofile, dlim))
        drv = Driver()
        t0 = time.monotonic()
        deadline = t0 + 20
        try:
            req = build_request("GET", "/a.txt")

            def send_req(c):
                c.queue(req, body=A_TXT, label="flood")
            conns = drv.connect(self.port, n, deadline)
            self.assertEqual(len(conns), n, "only %d of %d connections established in %.1fs: %s"
                             % (len(conns), n, time.monotonic() - t0, drv.errors[:3]))
            t_conn = time.monotonic() - t0
            for c in conns:
                send_req(c)
            drv._update_interest()
            done = drv.run(deadline)
            open_now = sum(1 for c in drv.clients if not c.eof)
            self.assertEqual(drv.errors, [], "%d errors, first: %s\ndaemon stderr tail:\n%s"
                             % (drv.n_errors, drv.errors[:5], self.d.stderr()[-1500:]))
            self.assertTrue(done, "not all answered within 20 s: %d of %d ok"
                            % (drv.n_ok, n))
            self.assertEqual(drv.n_ok, n)
            self.assertEqual(open_now, n, "%d connections closed by the server while held" % (n - open_now))
            fds = proc_fd_count(pid)
            self.assertGreaterEqual(fds, n, "daemon holds only %d fds for %d connections" % (fds, n))
        finally:
            drv.close_all()
        self.assertTrue(self.d.alive())
        # log lines at error level?
        errs = [ln for ln in self.d.stderr().splitlines() if ": error:" in ln]
        self.assertEqual(errs, [], "daemon logged errors during the flood: %s" % errs[:5])
        self.assert_alive()
        _ = t_conn


class BufferRingTests(LoadTests):
    """Own daemon: the burst must not inherit state from the flood."""
    test_connection_flood_10k = None
    test_memory_growth = None

    def test_buffer_ring_exhaustion_burst(self):
        """2,000 connections x 16 pipelined requests in one burst (about 6 KiB a
        connection: far more than the 1024 provided 4 KiB buffers). Up to three
        rounds (stops at the first error), then the body engine is checked."""
        n, per, rounds = 2000, 16, 3
        pad = "p" * 300
        kinds = [("/a.txt", 200, A_TXT, False), ("/b.html", 200, B_HTML, False),
                 ("/sub/c.css", 200, C_CSS, False), ("/missing.txt", 404, None, False),
                 ("/a.txt", 200, b"", True)]
        t_all = time.monotonic()
        for rnd_i in range(rounds):
            drv = Driver()
            deadline = time.monotonic() + 15
            try:
                conns = drv.connect(self.port, n, deadline)
                self.assertEqual(len(conns), n, "connect: %s" % drv.errors[:3])
                rnd = random.Random(7 + rnd_i)
                for c in conns:
                    for j in range(per):
                        path, st, body, is_head = kinds[rnd.randrange(len(kinds))]
                        c.queue(build_request("HEAD" if is_head else "GET", path,
                                              [("X-Pad", pad), ("X-Seq", "%d-%d" % (c.idx, j))]),
                                is_head=is_head, status=st, body=body,
                                label="%s #%d" % (path, j))
                # one burst: every connection's 16 requests at once
                for c in conns:
                    try:
                        k = c.sock.send(c.out)
                        del c.out[:k]
                    except BlockingIOError:
                        pass
                drv._update_interest()
                done = drv.run(deadline)
                self.assertEqual(drv.errors, [], "round %d: %d errors, first: %s\n"
                                 "daemon stderr tail:\n%s" % (rnd_i + 1, drv.n_errors,
                                                              drv.errors[:5], self.d.stderr()[-1500:]))
                self.assertTrue(done, "round %d: not all answered within 15 s: %d of %d"
                                % (rnd_i + 1, drv.n_ok, n * per))
                self.assertEqual(drv.n_ok, n * per)
            finally:
                drv.close_all()
            if os.environ.get("ABUSE_DEBUG"):
                print("# burst round %d: %d ok, %.2fs" % (rnd_i + 1, n * per, time.monotonic() - t_all))
            if time.monotonic() - t_all > 12:
                break
        # afterwards the body engine (a 70 kB file: not kept in memory) still works
        with self.conn(timeout=5) as c:
            for i in range(20):
                c.send(build_request("GET", "/mid.bin"))
                r = c.read_response()
                self.assertStatus(r, 200, "GET /mid.bin #%d after the bursts; stderr tail:\n%s"
                                  % (i, self.d.stderr()[-1000:]))
                self.assertEqual(r.body, self.mid)
        self.assert_alive()


class BufferRingNoCacheTests(BufferRingTests):
    """The same burst with the open-file cache off: every request opens and
    stats its file through the ring, so fd bookkeeping is exercised hardest."""
    CONFIG = {"log": {"access": "off"}, "cache": {"entries": "0"}}


class MemoryTests(LoadTests):
    """Own daemon, so that nothing but this workload affects its RSS."""
    test_connection_flood_10k = None
    test_buffer_ring_exhaustion_burst = None

    def test_memory_growth(self):
        pid = self.d.proc.pid
        nconn, batch = 8, 16
        kinds = [
            (build_request("GET", "/a.txt"), 200, A_TXT, False),
            (build_request("GET", "/b.html"), 200, B_HTML, False),
            (build_request("GET", "/sub/c.css"), 200, C_CSS, False),
            (build_request("GET", "/a.txt"), 200, A_TXT, False),
            (build_request("GET", "/nope-%d.txt"), 404, None, False),
            (build_request("GET", "/big.bin", {"Range": "bytes=1000-1999"}), 206,
             self.big[1000:2000], False),
            (build_request("GET", "/big.bin", {"Range": "bytes=-100"}), 206, self.big[-100:], False),
            (build_request("HEAD", "/mid.bin"), 200, b"", True),
            (build_request("GET", "/b.html", {"If-None-Match": "\"nomatch\""}), 200, B_HTML, False),
            (build_request("GET", "/sub/"), 404, None, False),
        ]
        mid_req = (build_request("GET", "/mid.bin"), 200, self.mid, False)
        rnd = random.Random(1)
        state = {"left": 0}
        seq = [0]

        def refill(c):
            if c.expect or state["left"] <= 0:
                return
            k = min(batch, state["left"])
            state["left"] -= k
            for _ in range(k):
                seq[0] += 1
                if seq[0] % 64 == 0:
                    raw, st, body, h = mid_req
                else:
                    raw, st, body, h = kinds[rnd.randrange(len(kinds))]
                    if b"%d" in raw:
                        raw = raw.replace(b"%d", b"%d" % (seq[0] % 500))
                c.queue(raw, is_head=h, status=st, body=body, label=raw[:30].decode())
            drv.flush_interest(c)

        def phase(count, limit_s):
            state["left"] = count
            n0 = drv.n_ok + drv.n_errors
            for c in conns:
                refill(c)
            drv._update_interest()
            t0 = time.monotonic()
            ok = drv.run(t0 + limit_s, until=lambda: drv.n_ok + drv.n_errors - n0 >= count)
            self.assertEqual(drv.errors, [], "%d errors, first: %s\ndaemon stderr tail:\n%s"
                             % (drv.n_errors, drv.errors[:5], self.d.stderr()[-1500:]))
            self.assertTrue(ok, "only %d of %d requests answered in %.0f s"
                            % (drv.n_ok + drv.n_errors - n0, count, limit_s))
            return time.monotonic() - t0

        drv = Driver()
        drv.on_response = refill
        try:
            conns = drv.connect(self.port, nconn, time.monotonic() + 5)
            phase(20000, 12)
            time.sleep(0.3)
            rss0 = proc_rss_kib(pid)
            el = phase(100000, 40)
            time.sleep(0.3)
            rss1 = proc_rss_kib(pid)
            n_ok = drv.n_ok
        finally:
            drv.close_all()
        if os.environ.get("ABUSE_DEBUG"):
            print("# memory: %d ok, rss %d -> %d KiB, %.1fs" % (n_ok, rss0, rss1, el))
        self.assertLess(rss1 - rss0, 2048, "RSS grew by %d KiB over 100,000 requests (%d -> %d KiB; "
                        "%.1fs)" % (rss1 - rss0, rss0, rss1, el))
        self.assert_alive()


# --------------------------------------------------------------------------
# 4. hostile clients: reset, half-close, garbage, huge heads, churn
# --------------------------------------------------------------------------

def reset_mid_download(tc, path, total, after=1 << 20):
    c = tc.conn(timeout=5)
    try:
        c.send(build_request("GET", path))
        got = 0
        while got < after:
            chunk = c.sock.recv(min(1 << 20, after - got + 4096))
            if not chunk:
                raise AssertionError("server closed after %d bytes" % got)
            got += len(chunk)
        tc.assertLess(got, total)
    finally:
        c.reset()


def proc_fd_map(pid):
    out = {}
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(f)] = os.readlink("/proc/%d/fd/%s" % (pid, f))
        except OSError:
            pass
    return out


def fd_diff(before, after):
    """Describe fds present in after but not (or differently) in before."""
    new = {k: v for k, v in after.items() if before.get(k) != v}
    return ", ".join("%d->%s" % (k, v) for k, v in sorted(new.items())[:10]) or "none"


def wait_fds(pid, baseline, limit=2.5):
    t0 = time.monotonic()
    n = proc_fd_count(pid)
    while n > baseline and time.monotonic() - t0 < limit:
        time.sleep(0.05)
        n = proc_fd_count(pid)
    return n


class HostileClientTests(RingdTestCase):
    CONFIG = SHORT

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")
        cls.one_mib = os.urandom(1 << 20)
        d.write("one.bin", cls.one_mib)
        d.write_random("big64.bin", 64 << 20)

    def _warm(self):
        for p in ("/a.txt", "/one.bin", "/index.html", "/"):
            self.get(p, timeout=5)
        with self.conn() as c:
            c.send(build_request("HEAD", "/big64.bin"))
            c.read_response(head=True)
        time.sleep(0.3)

    def test_reset_mid_download(self):
        self._warm()
        pid = self.d.proc.pid
        base = proc_fd_count(pid)
        fmap0 = proc_fd_map(pid)
        for _ in range(5):
            reset_mid_download(self, "/big64.bin", 64 << 20)
        n = wait_fds(pid, base)
        self.assertLessEqual(n, base, "fd count %d > baseline %d 2.5 s after 5 resets; new: %s"
                             % (n, base, fd_diff(fmap0, proc_fd_map(pid))))
        self.assert_alive()
        r = self.get("/one.bin")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, self.one_mib)

    def test_half_close(self):
        # request then SHUT_WR: the response must still be complete, then close
        for path, body in (("/a.txt", b"file a\n"), ("/one.bin", self.one_mib)):
            with self.subTest(path=path):
                with self.conn(timeout=5) as c:
                    c.send(build_request("GET", path))
                    c.shutdown_write()
                    r = c.read_response()
                    self.assertStatus(r, 200)
                    self.assertEqual(r.body, body, "half-closed client got a truncated body")
                    self.assertTrue(c.wait_closed(3), "server did not close after the half-close")
        # half-close with no request at all: closed promptly, nothing sent
        with self.conn(timeout=5) as c:
            c.shutdown_write()
            t0 = time.monotonic()
            self.assertTrue(c.wait_closed(HEADER_T + 2.5), "half-closed idle connection not closed")
            self.assertEqual(c.buf, b"", "unexpected bytes to an empty half-closed connection")
            _ = t0
        self.assert_alive()

    def test_random_garbage_64k(self):
        rnd = random.Random(42)
        for i in range(3):
            data = bytes(rnd.getrandbits(8) for _ in range(64 << 10))
            with self.conn(timeout=5) as c:
                try:
                    c.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                closed = c.wait_closed(7)
                self.assertTrue(closed, "garbage connection %d still open after 7 s" % i)
                if c.buf:
                    m = re.match(rb"HTTP/1\.1 (\d{3}) ", c.buf)
                    self.assertIsNotNone(m, "garbage answered with non-HTTP bytes: %r" % c.buf[:100])
                    self.assertIn(int(m.group(1)), (400, 414, 431, 505), c.buf[:200])
        self.assert_alive()

    def test_one_megabyte_of_headers(self):
        line = b"X-Pad-%06d: " + b"v" * 90 + b"\r\n"
        head = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(
            line.replace(b"%06d", b"%06d" % i) for i in range((1 << 20) // 100))
        self.assertGreater(len(head), 1000000)
        with self.conn(timeout=8) as c:
            err = []

            def sender():
                try:
                    c.sock.sendall(head + b"\r\n")
                except OSError as e:
                    err.append(e)
            th = threading.Thread(target=sender, daemon=True)
            th.start()
            try:
                r = c.read_response()
            except ConnectionClosed as e:
                self.fail("closed without a 431: %s" % e)
            self.assertStatus(r, 431)
            self.assertEqual((r.header("Connection") or "").lower(), "close")
            self.assertTrue(c.wait_closed(7), "connection not closed after 431")
            th.join(8)
        self.assert_alive()

    def test_open_close_churn_no_fd_leak(self):
        self._warm()
        pid = self.d.proc.pid
        base = proc_fd_count(pid)
        fmap0 = proc_fd_map(pid)
        t0 = time.monotonic()
        lin = struct.pack("ii", 1, 0)
        for i in range(2000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            s.connect(("127.0.0.1", self.port))
            if i % 2 == 1:
                s.send(b"GET /a.txt HT")            # partial request
            if i % 3 == 0:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, lin)  # RST
            s.close()
            self.assertLess(time.monotonic() - t0, 15, "churn too slow: %d in 15 s" % i)
        self.assertTrue(self.d.alive(), "ringd died during churn:\n%s" % self.d.stderr()[-2000:])
        r = self.get("/a.txt", timeout=3)
        self.assertStatus(r, 200)
        n = wait_fds(pid, base, 2.5)
        self.assertLessEqual(n, base, "fd leak: %d fds 2.5 s after 2,000 open/close (baseline %d); "
                             "new: %s" % (n, base, fd_diff(fmap0, proc_fd_map(pid))))
        self.assert_alive()


    def test_request_then_close_no_fd_leak(self):
        """600 clients each send a whole GET and close at once without reading,
        a quarter with FIN, the rest with RST (SO_LINGER 0); small (in-memory) and 1 MiB
        files. Every response is aborted; no descriptor may stay behind."""
        self._warm()
        pid = self.d.proc.pid
        base = proc_fd_count(pid)
        fmap0 = proc_fd_map(pid)
        lin = struct.pack("ii", 1, 0)
        t0 = time.monotonic()
        for i in range(600):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            s.connect(("127.0.0.1", self.port))
            s.send(build_request("GET", "/one.bin" if i % 4 < 2 else "/a.txt"))
            if i % 4 != 3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, lin)
            s.close()
            self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(self.d.alive(), "ringd died:\n%s" % self.d.stderr()[-2000:])
        n = wait_fds(pid, base, 2.5)
        self.assertLessEqual(n, base, "fd leak: %d fds 2.5 s after 600 request+close clients "
                             "(baseline %d); new: %s" % (n, base, fd_diff(fmap0, proc_fd_map(pid))))
        self.assert_alive()


class HostileClientReadBodyTests(RingdTestCase):
    CONFIG = {"http": {"header_timeout": str(HEADER_T), "keepalive_timeout": str(KEEPALIVE_T),
                       "send_timeout": str(SEND_T), "body": "read"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")
        d.write("one.bin", os.urandom(1 << 20))
        d.write_random("big64.bin", 64 << 20)

    _warm = HostileClientTests._warm
    test_request_then_close_no_fd_leak_body_read = HostileClientTests.test_request_then_close_no_fd_leak

    def test_reset_mid_download_body_read(self):
        self.get("/a.txt")
        pid = self.d.proc.pid
        with self.conn() as c:
            c.send(build_request("HEAD", "/big64.bin"))
            c.read_response(head=True)
        time.sleep(0.3)
        base = proc_fd_count(pid)
        fmap0 = proc_fd_map(pid)
        for _ in range(5):
            reset_mid_download(self, "/big64.bin", 64 << 20)
        n = wait_fds(pid, base)
        self.assertLessEqual(n, base, "fd count %d > baseline %d 2.5 s after 5 resets; new: %s"
                             % (n, base, fd_diff(fmap0, proc_fd_map(pid))))
        self.assertTrue(self.d.alive())
        r = self.get("/a.txt")
        self.assertStatus(r, 200)


# --------------------------------------------------------------------------
# 8. path safety table
# --------------------------------------------------------------------------

SECRET = b"SECRET-OUTSIDE-ROOT-5b1d0c-never-serve\n"
OK_TXT = b"ok inside root\n"

# (target, involves an explicit outside symlink)
HOSTILE = [
    ("/../secret.txt", False), ("/%2e%2e/secret.txt", False), ("/%2E%2e/secret.txt", False),
    ("/.%2e/secret.txt", False), ("/%2e./secret.txt", False),
    ("/%252e%252e/secret.txt", False), ("/%252e%252e%252fsecret.txt", False),
    ("/..\\secret.txt", False), ("/..%5csecret.txt", False), ("/..%5c..%5csecret.txt", False),
    ("/%5c..%5csecret.txt", False), ("/..%00/secret.txt", False),
    ("/ok.txt%00/../../secret.txt", False), ("/%c0%ae%c0%ae/secret.txt", False),
    ("/%e0%80%ae%e0%80%ae/secret.txt", False), ("/%c0%af..%c0%afsecret.txt", False),
    ("/..;/secret.txt", False), ("/;/../secret.txt", False), ("/sub;/../../secret.txt", False),
    ("/./../secret.txt", False), ("/sub/./../../secret.txt", False), ("//../secret.txt", False),
    ("///..//..//secret.txt", False), ("/sub//..//..//secret.txt", False),
    ("http://localhost/../secret.txt", False), ("http://localhost/%2e%2e/secret.txt", False),
    ("http://localhost/sub/../../secret.txt", False), ("http://localhost/..%2fsecret.txt", False),
    ("/..%2f..%2fsecret.txt", False), ("/.%2e/outside/secret2.txt", False),
    ("/sub/" + "../" * 50 + "secret.txt", False),
    ("/" + "a/" * 300 + "../" * 301 + "secret.txt", False),
    ("/" + "x" * 9000, False), ("/secret.txt", False), ("/outside/secret2.txt", False),
    ("/outdir%2fsecret2.txt", False),
    # explicit symlinks that lead outside the root
    ("/chain_a", True), ("/sub/chain_b", True), ("/sub/chain_c", True),
    ("/outdir/secret2.txt", True), ("/outdir/", True), ("/hop1", True), ("/hop2", True),
    ("/sub/sneaky", True), ("/abs_link", True), ("/dirlink_up/secret.txt", True),
    ("/dirlink_up/root/../secret.txt", True), ("/sub/%2e%2e/chain_a", True),
    ("/%63hain_a", True), ("/sub/deeper/../../hop1", True), ("/sub/deeper/../sneaky", True),
]


def make_hostile_tree(d):
    tmp = d.tmp
    with open(os.path.join(tmp, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.mkdir(os.path.join(tmp, "outside"))
    with open(os.path.join(tmp, "outside", "secret2.txt"), "wb") as f:
        f.write(SECRET)
    d.write("index.html", "<p>index</p>")
    d.write("ok.txt", OK_TXT)
    d.write("sub/deeper/x.txt", b"x\n")
    r = d.root
    os.symlink("ok.txt", os.path.join(r, "in_link"))
    os.symlink("sub/chain_b", os.path.join(r, "chain_a"))
    os.symlink("chain_c", os.path.join(r, "sub", "chain_b"))
    os.symlink("../../secret.txt", os.path.join(r, "sub", "chain_c"))
    os.symlink("../outside", os.path.join(r, "outdir"))
    os.symlink("hop2", os.path.join(r, "hop1"))
    os.symlink("../secret.txt", os.path.join(r, "hop2"))
    os.symlink("./../../secret.txt", os.path.join(r, "sub", "sneaky"))
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(r, "abs_link"))
    os.symlink("..", os.path.join(r, "dirlink_up"))


class PathSafetyWithinRoot(RingdTestCase):
    CONFIG = {"http": {"symlinks": "within-root"}}
    ALLOWED = (400, 403, 404, 414, 431)
    FOLLOW = False
    IN_LINK_STATUS = 200

    @classmethod
    def populate(cls, d):
        make_hostile_tree(d)

    def _get(self, target):
        with self.conn(timeout=5) as c:
            c.send(build_request("GET", target))
            try:
                return c.read_response()
            except ConnectionClosed:
                return None

    def test_hostile_targets(self):
        self.assertGreaterEqual(len(HOSTILE), 40)
        r = self._get("/ok.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, OK_TXT)
        r = self._get("/in_link")
        self.assertStatus(r, self.IN_LINK_STATUS, "relative symlink inside root")
        for target, via_link in HOSTILE:
            with self.subTest(target=target[:80]):
                r = self._get(target)
                self.assertIsNotNone(r, "no response (connection closed) for %r" % target[:80])
                if self.FOLLOW and via_link:
                    continue        # follow: explicit outside links may be served
                self.assertNotIn(b"SECRET-OUTSIDE", r.body or b"",
                                 "SECRET SERVED for %r: %r" % (target[:80], r))
                self.assertIn(r.status, self.ALLOWED, "status for %r: %r" % (target[:80], r))
        self.assert_alive()


class PathSafetyDeny(PathSafetyWithinRoot):
    CONFIG = {"http": {"symlinks": "deny"}}
    IN_LINK_STATUS = 403


class PathSafetyFollow(PathSafetyWithinRoot):
    CONFIG = {"http": {"symlinks": "follow"}}
    FOLLOW = True
