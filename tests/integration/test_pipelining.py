"""Pipelined requests answered from memory are gathered ("corked") and leave in one
sendmsg in front of the next response. These tests check that the batching never
changes what the client sees: order, bytes, status, framing, the access log, and
that a batch mixed with responses that need file I/O or errors stays in order."""

import hashlib
import socket
import time

from ringd_harness import RingdTestCase, build_request


def etag_of(r):
    return r.header("ETag")


class PipeliningTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        for i in range(40):
            d.write("s%d.txt" % i, ("small file %d\n" % i) * (1 + i))
        # Cached bodies big enough to leave as their own iovec (over the inline room).
        for i in range(6):
            d.write_random("m%d.bin" % i, 60000 + i, seed=i)
        d.write_random("big.bin", 3 << 20, seed=99)   # above cache max_file: file I/O
        d.write("dir/index.html", "<p>dir</p>\n")

    def setUp(self):
        super().setUp()
        # Warm the cache so that the batches below are answered from memory.
        for i in range(40):
            self.get("/s%d.txt" % i)
        for i in range(6):
            self.get("/m%d.bin" % i)

    def expect_body(self, name):
        with open(self.d.path(name), "rb") as f:
            return f.read()

    def pipeline_gets(self, c, names):
        """Send a GET for each name in one write; check the 200s come back in order."""
        c.send(b"".join(build_request("GET", "/" + n) for n in names))
        for n in names:
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, self.expect_body(n), n)

    def test_cached_batch_in_order(self):
        names = ["s%d.txt" % (i % 40) for i in range(48)]
        with self.conn() as c:
            self.pipeline_gets(c, names)
            self.assertTrue(c.no_data_within(0.3), "extra bytes after the batch")

    def test_large_cached_bodies_batch(self):
        names = ["m%d.bin" % (i % 6) for i in range(24)]
        with self.conn(rcvbuf=16384) as c:
            c.send(b"".join(build_request("GET", "/" + n) for n in names))
            for n in names:
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                                 hashlib.sha256(self.expect_body(n)).hexdigest(), n)

    def test_mixed_batch(self):
        tag = etag_of(self.get("/s3.txt"))
        s5 = self.expect_body("s5.txt")
        reqs = [
            (build_request("GET", "/s1.txt"), False, 200, self.expect_body("s1.txt")),
            (build_request("HEAD", "/s2.txt"), True, 200, b""),
            (build_request("GET", "/s3.txt", {"If-None-Match": tag}), False, 304, b""),
            (build_request("GET", "/s5.txt", {"Range": "bytes=3-9"}), False, 206, s5[3:10]),
            (build_request("GET", "/nope.txt"), False, 404, None),
            (build_request("GET", "/m1.bin"), False, 200, self.expect_body("m1.bin")),
            (build_request("GET", "/big.bin"), False, 200, self.expect_body("big.bin")),
            (build_request("GET", "/dir/"), False, 200, b"<p>dir</p>\n"),
            (build_request("GET", "/dir"), False, 301, None),
            (build_request("OPTIONS", "*"), False, 204, b""),
            (build_request("GET", "/s4.txt"), False, 200, self.expect_body("s4.txt")),
            (build_request("GET", "/s6.txt", {"Connection": "close"}), False, 200,
             self.expect_body("s6.txt")),
        ]
        with self.conn() as c:
            c.send(b"".join(r[0] for r in reqs))
            for i, (_, head, status, body) in enumerate(reqs):
                r = c.read_response(head=head)
                self.assertStatus(r, status, "response %d" % i)
                if body is not None:
                    self.assertEqual(r.body, body, "response %d" % i)
            self.assertTrue(c.wait_closed(3), "Connection: close not honoured after a batch")

    def test_fresh_files_in_batch(self):
        # Cache misses in the middle of a batch: their open runs while earlier
        # responses wait in the cork; they must still come out in order.
        names = []
        for i in range(10):
            n = "fresh%d-%d.txt" % (i, time.monotonic_ns())
            self.d.write(n, "fresh %d\n" % i)
            names += [n, "s%d.txt" % i]
        with self.conn() as c:
            self.pipeline_gets(c, names)

    def test_many_tiny_requests(self):
        # More than one cork can hold (32 responses, 12 KiB of heads): batches split.
        n = 300
        with self.conn() as c:
            c.send(build_request("GET", "/s0.txt") * n)
            for i in range(n):
                r = c.read_response()
                self.assertStatus(r, 200, "response %d" % i)
                self.assertEqual(r.body, b"small file 0\n")

    def test_last_head_arrives_later(self):
        # The cork only waits for heads already whole; a partial one does not hold
        # back the responses before it.
        with self.conn() as c:
            c.send(build_request("GET", "/s1.txt") + build_request("GET", "/s2.txt") + b"GET /s3")
            for n in ("s1.txt", "s2.txt"):
                r = c.read_response()
                self.assertEqual(r.body, self.expect_body(n))
            c.send(b".txt HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.body, self.expect_body("s3.txt"))

    def test_bad_request_after_batch(self):
        with self.conn() as c:
            c.send(build_request("GET", "/s1.txt") + build_request("GET", "/s2.txt") +
                   b"GARBAGE\r\n\r\n")
            for n in ("s1.txt", "s2.txt"):
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(r.body, self.expect_body(n))
            r = c.read_response()
            self.assertStatus(r, 400)
            self.assertTrue(c.wait_closed(3))

    def test_access_log_one_line_each(self):
        names = ["s%d.txt" % i for i in range(20)]
        with self.conn() as c:
            c.send(b"".join(build_request("GET", "/%s?batch=log" % n) for n in names))
            for _ in names:
                c.read_response()
        # The log is written from the loop a little later; wait for the lines.
        deadline = time.monotonic() + 3
        while True:
            lines = [ln for ln in self.d.access_lines() if "batch=log" in ln]
            if len(lines) >= len(names) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(lines), len(names))
        for n, ln in zip(names, lines):
            self.assertIn("/%s?batch=log" % n, ln)
            self.assertRegex(ln, r'" 200 %d ' % len(self.expect_body(n)))

    def test_reset_during_batch(self):
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(b"".join(build_request("GET", "/m%d.bin" % (i % 6)) for i in range(32)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        r = self.get("/s1.txt")
        self.assertStatus(r, 200)
        self.assertTrue(self.d.alive())

    def test_blank_lines_after_batch(self):
        # Blank lines look like the end of a head but are no request: the corked
        # response must still go out, alone, and the connection carry on.
        with self.conn() as c:
            c.send(build_request("GET", "/s1.txt") + b"\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.body, self.expect_body("s1.txt"))
            c.send(build_request("GET", "/s2.txt"))
            r = c.read_response()
            self.assertEqual(r.body, self.expect_body("s2.txt"))

    def test_blank_lines_then_half_close(self):
        with self.conn() as c:
            c.send(build_request("GET", "/s1.txt") + build_request("GET", "/s2.txt") + b"\r\n\r\n")
            c.shutdown_write()
            for n in ("s1.txt", "s2.txt"):
                r = c.read_response()
                self.assertEqual(r.body, self.expect_body(n))
            self.assertTrue(c.wait_closed(3))


class BatchWaitExtremesTests(RingdTestCase):
    """[server] batch_wait only changes how completions are gathered: at 0 (one
    io_uring_enter per completion) and at its maximum (10 ms windows) every kind
    of response still arrives whole and in order."""
    CONFIG = {"server": {"batch_wait": "10000"}}

    @classmethod
    def populate(cls, d):
        d.write("a.txt", "a\n")
        d.write_random("big.bin", 8 << 20, seed=3)

    def test_mixed_traffic(self):
        with open(self.d.path("big.bin"), "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        conns = [self.conn(timeout=20) for _ in range(8)]
        try:
            for i, c in enumerate(conns):
                c.send(build_request("GET", "/a.txt") * 8 if i % 2 else build_request("GET", "/big.bin"))
            for i, c in enumerate(conns):
                if i % 2:
                    for _ in range(8):
                        r = c.read_response()
                        self.assertStatus(r, 200)
                        self.assertEqual(r.body, b"a\n")
                else:
                    r = c.read_response(hasher=hashlib.sha256())
                    self.assertStatus(r, 200)
                    self.assertEqual(r.sha256, want)
        finally:
            for c in conns:
                c.close()
        for _ in range(5):   # sequential requests on a quiet server
            self.assertStatus(self.get("/a.txt"), 200)


class BatchWaitOffTests(BatchWaitExtremesTests):
    CONFIG = {"server": {"batch_wait": "0"}}
