"""Faults: files truncated, replaced, deleted or made unreadable while ringd
serves them, and a valgrind run of both body engines.

Every test is bounded in time; nothing waits without a deadline."""

import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest

from ringd_harness import (BINARY, Conn, ConnectionClosed, Daemon, RingdTestCase,
                           build_request, hold_as_nobody, proc_rss_kib, skip_unless_nobody,
                           start_as_nobody)

SEND_T = 3
SHORT = {"header_timeout": "2", "keepalive_timeout": "2", "send_timeout": str(SEND_T)}
BIG = 64 << 20
CUT = 1 << 20


# --------------------------------------------------------------------------
# 5a. a file truncated while it is being sent
# --------------------------------------------------------------------------

class TruncateWhileSendingSplice(RingdTestCase):
    CONFIG = {"http": dict(SHORT, body="splice")}
    PER_TEST = True
    ALLOW_ZEROED_AFTER_CUT = True

    @classmethod
    def populate(cls, d):
        if not hasattr(TruncateWhileSendingSplice, "_orig"):
            TruncateWhileSendingSplice._orig = os.urandom(BIG)
        d.write("index.html", "<p>index</p>")
        d.write("trunc.bin", TruncateWhileSendingSplice._orig)

    def test_truncated_mid_transfer(self):
        orig = TruncateWhileSendingSplice._orig
        log0 = len(self.d.stderr())
        c = self.conn(timeout=5, rcvbuf=65536)
        body = bytearray()
        ended = False
        try:
            c.send(build_request("GET", "/trunc.bin"))
            while b"\r\n\r\n" not in c.buf:
                self.assertTrue(c._fill(), "closed before the response head")
            i = c.buf.index(b"\r\n\r\n")
            head = c.buf[:i].decode("latin-1")
            self.assertTrue(head.startswith("HTTP/1.1 200"), head[:200])
            cl = int(re.search(r"\r\nContent-Length: *(\d+)", head, re.I).group(1))
            self.assertEqual(cl, BIG)
            body += c.buf[i + 4:]
            # a slow reader: take 512 KiB in small steps
            while len(body) < 512 << 10:
                chunk = c.sock.recv(16384)
                self.assertTrue(chunk, "closed after %d bytes before the truncation" % len(body))
                body += chunk
                time.sleep(0.002)
            os.truncate(self.d.path("trunc.bin"), CUT)
            t_cut = time.monotonic()
            # now read as fast as possible until EOF/RST or Content-Length
            c.sock.settimeout(SEND_T + 3)
            while len(body) < cl and time.monotonic() - t_cut < 15:
                try:
                    chunk = c.sock.recv(1 << 20)
                except ConnectionResetError:
                    ended = True
                    break
                except socket.timeout:
                    break
                if not chunk:
                    ended = True
                    break
                body += chunk
            el = time.monotonic() - t_cut
        finally:
            c.close()
        n = len(body)
        # never padded garbage: every byte that arrived is the original's prefix.
        # One exception, for body=splice only: zero-copy hands page-cache pages to
        # the socket by reference, and truncate() zeroes the part of a large folio
        # beyond the new EOF in place, so bytes already queued in the socket past
        # the cut may read as zeros. The kernel does this to any splice/sendfile
        # sender (reproducible without ringd); the short body + close still tells
        # the client the response is incomplete. Those pages must be ALL zero.
        self.assertEqual(bytes(body[:min(n, CUT)]), orig[:min(n, CUT)],
                         "bytes before the truncation point differ from the original")
        zero_pages = 0
        for p in range(CUT, n, 4096):
            a = bytes(body[p:p + 4096])
            if a == orig[p:p + len(a)]:
                continue
            if self.ALLOW_ZEROED_AFTER_CUT and a.count(0) == len(a):
                zero_pages += 1
                continue
            bad = p + next(k for k in range(len(a)) if a[k] != orig[p + k])
            self.fail("received bytes differ from the original at offset %d of %d "
                      "(truncated at %d): got %r, original %r"
                      % (bad, n, CUT, bytes(body[bad:bad + 16]), orig[bad:bad + 16]))
        if zero_pages:
            print("# note: body=splice: %d KiB after the cut arrived as zeros "
                  "(kernel zero-copy + truncate; not daemon padding)" % (zero_pages * 4))
        if n < cl:
            self.assertTrue(ended, "connection neither completed nor closed %.1fs after the "
                            "truncation (%d of %d bytes): hang" % (el, n, cl))
        self.assertLess(el, 10, "took %.1fs to end after the truncation" % el)
        # the daemon logs the abort
        deadline = time.monotonic() + 3
        while "aborted" not in self.d.stderr()[log0:] and time.monotonic() < deadline:
            time.sleep(0.05)
        if n < cl:
            self.assertIn("aborted", self.d.stderr()[log0:],
                          "no 'aborted' in the daemon's log after a short body (%d of %d bytes)"
                          % (n, cl))
        # still serving; after revalidate the new size is served
        self.assert_alive()
        time.sleep(1.2)
        r = self.get("/trunc.bin")
        self.assertStatus(r, 200)
        self.assertEqual(len(r.body), CUT, "Content-Length after truncation")
        self.assertEqual(r.body, orig[:CUT])


class TruncateWhileSendingRead(TruncateWhileSendingSplice):
    CONFIG = {"http": dict(SHORT, body="read")}
    ALLOW_ZEROED_AFTER_CUT = False      # copies through a buffer: strictly the prefix


# --------------------------------------------------------------------------
# 5b-d. replaced, rewritten in place, deleted, made unreadable
# --------------------------------------------------------------------------

AS_ROOT = os.geteuid() == 0


class FileChangeTests(RingdTestCase):
    # As root, permissions are bypassed: run the daemon as nobody (it drops
    # privileges after binding) so that chmod 000 means something.
    CONFIG = {"http": SHORT,
              "server": {"user": "nobody"} if AS_ROOT else {},
              "log": {"access": "stderr"}}
    PER_TEST = True

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")

    def _ok(self, path):
        r = self.get(path)
        self.assertStatus(r, 200, path)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        return r

    def _replace(self, rel, data):
        tmp = self.d.path(os.path.join(os.path.dirname(rel), ".new-" + os.path.basename(rel)))
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.d.path(rel))

    def _check_replace(self, rel, v1, v2):
        self.d.write(rel, v1)
        r1 = self._ok("/" + rel)
        self.assertEqual(r1.body, v1)
        r1 = self._ok("/" + rel)           # now surely cached
        self._replace(rel, v2)
        t0 = time.monotonic()
        # meanwhile, every response is one consistent version
        while time.monotonic() - t0 < 1.2:
            r = self._ok("/" + rel)
            if r.body == v1:
                self.assertEqual(r.header("ETag"), r1.header("ETag"), "old body with a new ETag")
            else:
                self.assertEqual(r.body, v2, "body is neither the old nor the new version")
                self.assertNotEqual(r.header("ETag"), r1.header("ETag"), "new body with the old ETag")
            time.sleep(0.1)
        r2 = self._ok("/" + rel)
        self.assertEqual(r2.body, v2, "old content still served 1.2 s after replacement "
                         "(revalidate=1)")
        self.assertNotEqual(r2.header("ETag"), r1.header("ETag"))

    def test_replaced_small(self):
        self._check_replace("small.txt", b"version one\n", b"version two, longer\n")

    def test_replaced_large(self):
        self._check_replace("large.bin", os.urandom(200000), os.urandom(150000))

    def test_rewritten_in_place(self):
        p = self.d.write("inplace.txt", b"AAAA-old-content\n")
        r1 = self._ok("/inplace.txt")
        self._ok("/inplace.txt")
        with open(p, "r+b") as f:
            f.write(b"BBBB-new-content\n")
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        time.sleep(1.2)
        r2 = self._ok("/inplace.txt")
        self.assertEqual(r2.body, b"BBBB-new-content\n", "in-place change not seen after 1.2 s")
        self.assertNotEqual(r2.header("ETag"), r1.header("ETag"))

    def test_deleted_404(self):
        for rel, data in (("gone.txt", b"soon gone\n"), ("gone.bin", os.urandom(100000))):
            with self.subTest(file=rel):
                self.d.write(rel, data)
                self.assertEqual(self._ok("/" + rel).body, data)
                self._ok("/" + rel)
                os.unlink(self.d.path(rel))
                time.sleep(1.2)
                self.assertStatus(self.get("/" + rel), 404, "1.2 s after deletion")

    def test_chmod_000_403(self):
        if AS_ROOT:
            # check the privilege drop happened; otherwise chmod is meaningless
            with open("/proc/%d/status" % self.d.proc.pid) as f:
                uid = [ln for ln in f if ln.startswith("Uid:")][0].split()[2]
            if uid == "0":
                self.skipTest("daemon still runs as root (server.user=nobody had no effect)")
        self.d.write("perm.txt", b"readable for now\n")
        self.assertEqual(self._ok("/perm.txt").body, b"readable for now\n")
        self._ok("/perm.txt")
        os.chmod(self.d.path("perm.txt"), 0)
        time.sleep(1.2)
        r = self.get("/perm.txt")
        self.assertStatus(r, 403, "1.2 s after chmod 000")
        self.assertNotIn(b"readable for now", r.body)
        os.chmod(self.d.path("perm.txt"), 0o644)
        time.sleep(1.2)
        self.assertEqual(self._ok("/perm.txt").body, b"readable for now\n")


# --------------------------------------------------------------------------
# valgrind, both body engines
# --------------------------------------------------------------------------

VALGRIND = shutil.which("valgrind")
VG_ARGS = ["--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99"]


class VgDaemon(Daemon):
    def argv(self):
        return [VALGRIND] + VG_ARGS + super().argv()


def vg_workload(port, d, big):
    """~200 requests of different kinds; returns a list of problems."""
    probs = []

    def expect(cond, msg):
        if not cond:
            probs.append(msg)

    def one(raw, head=False):
        with Conn(port, timeout=20) as c:
            c.send(raw)
            try:
                return c.read_response(head=head)
            except ConnectionClosed:
                return None

    # keep-alive: 60 mixed requests on one connection
    with Conn(port, timeout=20) as c:
        etag = None
        for i in range(60):
            k = i % 6
            if k == 0:
                c.send(build_request("GET", "/a.txt"))
                r = c.read_response()
                expect(r.status == 200 and r.body == b"file a\n", "ka a.txt %r" % r)
                etag = r.header("ETag")
            elif k == 1:
                c.send(build_request("HEAD", "/index.html"))
                r = c.read_response(head=True)
                expect(r.status == 200, "ka HEAD %r" % r)
            elif k == 2:
                c.send(build_request("GET", "/missing-%d" % i))
                expect(c.read_response().status == 404, "ka 404")
            elif k == 3:
                c.send(build_request("GET", "/big.bin", {"Range": "bytes=%d-%d" % (i * 100, i * 100 + 4095)}))
                r = c.read_response()
                expect(r.status == 206 and r.body == big[i * 100:i * 100 + 4096], "ka range %r" % r)
            elif k == 4:
                c.send(build_request("GET", "/a.txt", {"If-None-Match": etag or '"x"'}))
                expect(c.read_response().status == 304, "ka 304")
            else:
                c.send(build_request("GET", "/a.txt", {"If-Match": '"nope"'}))
                expect(c.read_response().status == 412, "ka 412")
    # pipelined batches
    for _ in range(5):
        with Conn(port, timeout=20) as c:
            c.send(b"".join(build_request("GET", p) for p in
                            ("/a.txt", "/index.html", "/nope", "/a.txt", "/sub/", "/sub",
                             "/a.txt", "/index.html")))
            rs = [c.read_response() for _ in range(8)]
            expect([r.status for r in rs] == [200, 200, 404, 200, 200, 301, 200, 200],
                   "pipelined %r" % [r.status for r in rs])
    # whole large bodies through the body engine
    for _ in range(10):
        r = one(build_request("GET", "/big.bin"))
        expect(r is not None and r.status == 200 and r.body == big, "big body")
    # fresh connections, various
    for i in range(20):
        r = one(build_request("GET", "/sub/c.css"))
        expect(r is not None and r.status == 200, "css %r" % r)
    for raw, st in ((b"GARBAGE\r\n\r\n", 400), (b"GET / HTTP/1.1\r\n\r\n", 400),
                    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
                    (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405),
                    (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204),
                    (b"GET /../x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
                    (b"GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
                    (b"GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=9999999-\r\n\r\n", 416),
                    (b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
                    (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 9000 + b"\r\n\r\n", 431)):
        r = one(raw)
        expect(r is not None and r.status == st, "raw %r -> %r" % (raw[:30], r))
    # resets mid-download, idle connects, half-closes
    for _ in range(3):
        c = Conn(port, timeout=20)
        c.send(build_request("GET", "/big.bin"))
        c.sock.recv(65536)
        c.reset()
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    with Conn(port, timeout=20) as c:
        c.send(build_request("GET", "/a.txt"))
        c.shutdown_write()
        r = c.read_response()
        expect(r.status == 200, "half-close %r" % r)
    # a file changing under the cache
    d.write("a.txt", b"file A2\n")
    time.sleep(1.2)
    for _ in range(10):
        r = one(build_request("GET", "/a.txt"))
        expect(r is not None and r.body == b"file A2\n", "changed a.txt %r" % r)
    os.unlink(d.path("sub/c.css"))
    time.sleep(1.2)
    r = one(build_request("GET", "/sub/c.css"))
    expect(r is not None and r.status == 404, "deleted css %r" % r)
    return probs


@unittest.skipIf(VALGRIND is None, "valgrind not installed")
class ValgrindTests(unittest.TestCase):
    def test_valgrind_both_body_engines(self):
        if not BINARY or not os.path.exists(BINARY):
            self.skipTest("ringd binary not found")
        # An ASan/UBSan build (the sanitizer stage of tests/run-all) cannot run
        # under valgrind; valgrind checks the plain build.
        ldd = subprocess.run(["ldd", BINARY], capture_output=True, text=True).stdout
        if "libasan" in ldd or "libubsan" in ldd:
            self.skipTest("sanitizer build: valgrind runs on the plain build only")
        big = os.urandom(1 << 20)
        daemons = []
        try:
            for body in ("read", "splice"):
                d = VgDaemon(config={"http": {"body": body, "keepalive_timeout": "5",
                                              "header_timeout": "5", "send_timeout": "5"},
                                     "server": {"max_connections": "64"},
                                     "cache": {"memory": "1"},
                                     "log": {"access": "off"}})
                daemons.append(d)
                d.write("index.html", "<p>index</p>")
                d.write("a.txt", b"file a\n")
                d.write("sub/index.html", b"sub index\n")
                d.write("sub/c.css", b"body{}\n" * 50)
                d.write("big.bin", big)
                d.start(wait=False)
            for d in daemons:
                try:
                    d.wait_ready(timeout=30)
                except AssertionError as e:
                    err = d.stderr()
                    if re.search(r"unhandled syscall|unsupported|io_uring.*(not|fail)|"
                                 r"Function not implemented|ENOSYS", err, re.I):
                        self.skipTest("valgrind cannot run ringd's io_uring: %s"
                                      % err.strip().splitlines()[-1][:300])
                    raise e
            for d in daemons:
                probs = vg_workload(d.port, d, big)
                self.assertEqual(probs, [], "body=%s: wrong responses under valgrind: %s"
                                 % (d.config["http"]["body"], probs[:5]))
            for d in daemons:
                d.signal(signal.SIGTERM)
            for d in daemons:
                rc = d.wait(60)
                err = d.stderr()
                body = d.config["http"]["body"]
                if rc is None:
                    d.kill()
                    self.fail("body=%s: ringd under valgrind did not exit within 60 s of SIGTERM"
                              % body)
                if re.search(r"unhandled syscall", err, re.I):
                    self.skipTest("valgrind lacks a syscall ringd uses: %s"
                                  % re.search(r".*unhandled syscall.*", err, re.I).group(0)[:200])
                self.assertIn("ERROR SUMMARY: 0 errors", err,
                              "body=%s: valgrind found errors:\n%s" % (body, err[-6000:]))
                self.assertEqual(rc, 0, "body=%s: exit status %r under valgrind:\n%s"
                                 % (body, rc, err[-3000:]))
        finally:
            for d in daemons:
                try:
                    d.stop(timeout=5)
                except AssertionError:
                    pass
                d.cleanup()


class ZeroCopyBufferTests(RingdTestCase):
    """body=read sends large chunks from a few registered buffers with SEND_ZC. A
    buffer is reusable only after the kernel's notification; clients that stop
    reading and vanish leave buffers behind until then. More such clients than
    buffers must neither corrupt later downloads nor stall them."""
    CONFIG = {"http": {"send_timeout": "1"}}

    @classmethod
    def populate(cls, d):
        d.write_random("big.bin", 24 << 20, seed=7)

    def test_stalled_clients_then_exact_downloads(self):
        with open(self.d.path("big.bin"), "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        stalled = []
        for _ in range(40):   # more than the registered buffers (at most 32)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            stalled.append(s)
        time.sleep(0.5)
        # Half vanish with a reset, half are cut off by send_timeout.
        for s in stalled[:20]:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        time.sleep(2.5)
        for s in stalled[20:]:
            s.close()
        for round_ in range(3):
            conns = [self.conn(timeout=30) for _ in range(4)]
            for c in conns:
                c.send(build_request("GET", "/big.bin"))
            for c in conns:
                r = c.read_response(hasher=hashlib.sha256())
                self.assertStatus(r, 200)
                self.assertEqual(r.sha256, want, "round %d: body differs" % round_)
                c.close()
        self.assertTrue(self.d.alive())


class ChunkMemoryTests(RingdTestCase):
    """body=read holds a 256 KiB chunk per large download in flight, for as long
    as the client takes (up to send_timeout between bytes). Many slow readers at
    once must not grow the worker without bound: past [http] body_memory (4 MiB
    here) further downloads stream through their 16 KiB tx buffer, byte-exact.
    The files are larger than what the kernel's socket buffers absorb (about
    2.5 MiB a connection on loopback), so each download keeps a buffer busy."""
    CONFIG = {"server": {"max_connections": "2048"},
              "http": {"send_timeout": "30", "body_memory": "4"}, "cache": {"entries": "0"}}
    N = 120

    @classmethod
    def populate(cls, d):
        cls.sha = d.write_random("big.bin", 8 << 20, seed=5)
        with open(d.path("big.bin"), "rb") as f:
            cls.part = f.read(900001)[1001:]

    def test_many_slow_readers_bounded_and_exact(self):
        before = proc_rss_kib(self.d.proc.pid)
        conns = []
        try:
            for i in range(self.N):
                c = Conn(self.port, timeout=20, rcvbuf=4096)
                conns.append(c)
                rng = {"Range": "bytes=1001-900000"} if i % 10 == 0 else None
                c.send(build_request("GET", "/big.bin", rng))
            time.sleep(1.5)
            grown = (proc_rss_kib(self.d.proc.pid) - before) / 1024
            # Unbounded, 120 downloads would hold about 8 MiB of registered
            # (zero-copy) buffers plus 88 pool chunks (22 MiB); bounded, the pool
            # part is 4 MiB. Each connection's exchange adds about 20 KiB.
            self.assertLess(grown, 20, "RSS grew %.1f MiB with %d slow readers" % (grown, self.N))
            # The last connections are the ones past the limit. Every ranged one
            # and the last 20 are read to the end; the rest are dropped mid-way.
            for i, c in enumerate(conns):
                if i % 10 == 0:
                    r = c.read_response()
                    self.assertEqual(r.status, 206)
                    self.assertEqual(r.body, self.part, "download %d" % i)
                elif i >= self.N - 20:
                    r = c.read_response(hasher=hashlib.sha256())
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.sha256, self.sha, "download %d" % i)
                else:
                    c.reset()
        finally:
            for c in conns:
                c.close()
        self.assertTrue(self.d.alive())


PIPE_HOG = r"""
import fcntl, os, sys
pipes = []
try:
    while True:
        r, w = os.pipe()
        pipes.append((r, w))
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
except OSError:
    pass
print(len(pipes), flush=True)
sys.stdin.read()
"""


class SplicePipeLimitTests(unittest.TestCase):
    """body=splice takes its pipes at start-up. The kernel counts pipe pages per
    user (fs.pipe-user-pages-soft): past that a new pipe gets two pages and cannot
    grow, and a 1 MiB chunk through it would come back short on every splice.
    ringd takes at most half the soft limit across its workers, and uses no pipe
    that did not reach full size (falling back to body=read)."""

    def soft_pages(self):
        skip_unless_nobody(self)
        with open("/proc/sys/fs/pipe-user-pages-soft") as f:
            soft = int(f.read())
        if soft == 0:
            self.skipTest("fs.pipe-user-pages-soft is 0 (no limit)")
        return soft

    def start(self, workers=1):
        d = Daemon(config={"server": {"workers": str(workers)},
                           "http": {"body": "splice"}, "log": {"level": "debug"}})
        self.addCleanup(d.cleanup)
        self.sha = d.write_random("big.bin", 5 << 20, seed=3)
        start_as_nobody(self, d)
        d.wait_ready()
        return d

    def exact_downloads(self, d):
        with open(d.path("big.bin"), "rb") as f:
            data = f.read()
        for _ in range(4):
            with Conn(d.port, timeout=20) as c:
                c.send(build_request("GET", "/big.bin"))
                r = c.read_response(hasher=hashlib.sha256())
                self.assertEqual(r.status, 200)
                self.assertEqual(r.sha256, self.sha)
                # an unaligned start: chunks end on page boundaries
                c.send(build_request("GET", "/big.bin", {"Range": "bytes=1001-3999999"}))
                r = c.read_response()
                self.assertEqual(r.status, 206)
                self.assertEqual(r.body, data[1001:4000000])

    def test_pipes_within_half_the_user_limit(self):
        soft = self.soft_pages()
        d = self.start(workers=2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and d.stderr().count("pipes of") < 2:
            time.sleep(0.05)
        made = re.findall(r"body=splice: (\d+) pipes of (\d+) KiB", d.stderr())
        self.assertEqual(len(made), 2, d.stderr()[-2000:])
        pages = sum(int(n) * int(kib) // 4 for n, kib in made)
        self.assertGreater(pages, 0)
        self.assertLessEqual(pages, soft // 2, made)
        self.exact_downloads(d)

    def test_no_full_size_pipe_falls_back_to_read(self):
        self.soft_pages()
        hog, pipes = hold_as_nobody(self, PIPE_HOG)
        self.assertGreater(pipes, 0)   # the user's budget is used up
        d = self.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "no pipes" not in d.stderr():
            time.sleep(0.05)
        self.assertIn("no pipes for body=splice", d.stderr())
        self.assertNotIn("pipes of", d.stderr())
        self.exact_downloads(d)
