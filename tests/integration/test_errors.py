"""Malformed and hostile requests: 400/414/431/505, smuggling, aborted
clients, garbage, connection storms."""

import hashlib
import random
import socket
import threading
import time

from ringd_harness import ConnectionClosed, RingdTestCase, build_request


class ErrorTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")
        d.write("b.txt", b"file b\n")
        d.write("secret", b"SMUGGLED-RESPONSE\n")
        cls.sha64 = d.write_random("big64.bin", 64 << 20)

    def assertErrorClose(self, data, status, msg=""):
        """Send raw bytes; expect one `status` response with an HTML body and
        Connection: close, and the server closing the connection."""
        r, closed, _ = self.send_raw(data)
        self.assertStatus(r, status, msg or repr(data[:80]))
        self.assertTrue((r.header("Content-Type") or "").startswith("text/html"),
                        "error Content-Type: %r" % r.header("Content-Type"))
        self.assertGreater(len(r.body), 0, "error response without a body")
        self.assertHeader(r, "Content-Length", str(len(r.body)))
        if 400 <= status < 500 or status == 505:
            self.assertEqual((r.header("Connection") or "").lower(), "close",
                             "parse error should carry Connection: close")
            self.assertTrue(closed, "server kept the connection open after a parse error")
        return r

    def test_malformed_request_lines(self):
        for raw in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET /\r\n\r\n",
                    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTX/1.1\r\nHost: x\r\n\r\n", b"GET / http/1.1\r\nHost: x\r\n\r\n",
                    b" GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
                    b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.subTest(raw=raw):
                self.assertErrorClose(raw, 400)

    def test_missing_host_http11(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\n\r\n", 400)

    def test_duplicate_host(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)

    def test_missing_host_http10_ok(self):
        r, _, _ = self.send_raw(b"GET /a.txt HTTP/1.0\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"file a\n")

    def test_obs_fold(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400)
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400)

    def test_whitespace_before_colon(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n", 400)

    def test_bare_lf(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\nHost: x\n\n", 400)
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400)

    def test_cl_and_te(self):
        self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)

    def test_invalid_content_length(self):
        for v in (b"Content-Length: abc", b"Content-Length: -1", b"Content-Length: 1 2",
                  b"Content-Length: 1\r\nContent-Length: 2", b"Content-Length: +5"):
            with self.subTest(header=v):
                self.assertErrorClose(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + v + b"\r\n\r\n", 400)

    def test_content_length_overflow(self):
        r, closed, _ = self.send_raw(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: 99999999999999999999999\r\n\r\n")
        self.assertIsNotNone(r)
        self.assertIn(r.status, (400, 413), "overflowing Content-Length: %r" % r)
        self.assertTrue(closed)

    def test_target_too_long_414(self):
        target = "/" + "a" * 4100
        r = self.assertErrorClose(build_request("GET", target), 414)
        self.assertStatus(r, 414)

    def test_target_4096_not_414(self):
        target = "/" + "a" * 4095
        r = self.get(target)
        self.assertStatus(r, 404, "a 4096-byte target is within the limit")

    def test_headers_too_large_431(self):
        hdrs = [("X-Filler-%d" % i, "v" * 200) for i in range(100)]  # ~21 KB
        self.assertErrorClose(build_request("GET", "/a.txt", hdrs), 431)
        self.assert_alive()

    def test_one_megabyte_of_headers(self):
        data = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 1000 + b"\r\n"
        data = data + (b"X-Big: " + b"a" * 1000 + b"\r\n") * 1000
        with self.conn(timeout=10) as c:
            result = {}

            def sender():
                try:
                    c.sock.sendall(data)
                except OSError as e:
                    result["err"] = e
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            try:
                r = c.read_response()
            except (ConnectionClosed, ConnectionResetError) as e:
                self.fail("no 431 before close: %r" % e)
            self.assertStatus(r, 431)
            self.assertTrue(c.wait_closed(5), "connection not closed after 431")
            t.join(10)
        self.assert_alive()

    def test_http2_version_505(self):
        for v in ("HTTP/2.0", "HTTP/3.0", "HTTP/2"):
            with self.subTest(version=v):
                r, closed, _ = self.send_raw(build_request("GET", "/a.txt", version=v))
                self.assertIsNotNone(r, "no response for " + v)
                if v == "HTTP/2":
                    self.assertIn(r.status, (400, 505))
                else:
                    self.assertStatus(r, 505)

    def test_http2_preface_not_served(self):
        r, closed, buf = self.send_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        if r is not None:
            self.assertIn(r.status, (400, 505))
        self.assert_alive()

    def test_get_body_is_discarded_not_smuggled(self):
        smuggled = b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"
        with self.conn() as c:
            c.send(build_request("GET", "/a.txt", {"Content-Length": str(len(smuggled))}) + smuggled)
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"file a\n")
            self.assertTrue(c.no_data_within(1.0),
                            "server answered the request body as a second request: %r" % c.buf[:200])
            c.send(build_request("GET", "/b.txt"))
            r2 = c.read_response()
            self.assertStatus(r2, 200, "next request after a GET with body")
            self.assertEqual(r2.body, b"file b\n")

    def test_get_body_split_across_packets(self):
        smuggled = b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"
        with self.conn() as c:
            c.send(build_request("GET", "/a.txt", {"Content-Length": str(len(smuggled))}))
            time.sleep(0.2)
            c.send(smuggled[:10])
            time.sleep(0.2)
            c.send(smuggled[10:] + build_request("GET", "/b.txt"))
            r = c.read_response()
            self.assertEqual(r.body, b"file a\n")
            r2 = c.read_response()
            self.assertEqual(r2.body, b"file b\n", "second response should be /b.txt, not the body")
            self.assertTrue(c.no_data_within(0.5), "extra response: %r" % c.buf[:200])

    def test_error_pages_are_html(self):
        for target, status in (("/missing", 404), ("/../x", 400)):
            with self.subTest(target=target):
                r = self.get(target)
                self.assertStatus(r, status)
                self.assertTrue((r.header("Content-Type") or "").startswith("text/html"))
                self.assertIn(b"<", r.body)
                self.assertTrue(r.header("Server", "").startswith("ringd"))
                self.assertIsNotNone(r.header("Date"))

    def test_404_keeps_connection(self):
        with self.conn() as c:
            c.send(build_request("GET", "/missing") + build_request("GET", "/a.txt"))
            self.assertStatus(c.read_response(), 404)
            self.assertEqual(c.read_response().body, b"file a\n")

    # -- hostile clients --
    def test_client_reset_mid_response(self):
        for _ in range(3):
            c = self.conn(timeout=10)
            c.send(build_request("GET", "/big64.bin"))
            got = 0
            while got < (1 << 20):
                chunk = c.sock.recv(65536)
                self.assertTrue(chunk, "server closed early")
                got += len(chunk)
            c.reset()
        c = self.conn(timeout=10)
        c.send(build_request("GET", "/big64.bin"))
        c.sock.recv(65536)
        c.close()  # plain close with unread data
        time.sleep(0.3)
        self.assert_alive()
        r = self.get("/big64.bin", hasher=hashlib.sha256(), timeout=60)
        self.assertEqual(r.sha256, self.sha64, "full download after aborted ones")

    def test_garbage_bytes(self):
        rnd = random.Random(1234)
        for i in range(10):
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 3000)))
            with self.subTest(i=i):
                with self.conn(timeout=5) as c:
                    try:
                        c.send(data + b"\r\n\r\n")
                    except OSError:
                        pass
                    try:
                        r = c.read_response()
                        self.assertIn(r.status, (400, 414, 431, 501, 505), "garbage got %r" % r)
                    except (ConnectionClosed, ConnectionResetError):
                        pass
                    except socket.timeout:
                        pass  # server waiting for more; acceptable, timeouts handle it
        self.assert_alive()

    def test_connection_storm(self):
        errors = []

        def storm(n):
            for _ in range(n):
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                    s.close()
                except OSError as e:
                    errors.append(e)
        ts = [threading.Thread(target=storm, args=(50,), daemon=True) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        self.assertEqual(errors, [], "connect errors during storm")
        self.assert_alive()

    def test_many_open_idle_connections(self):
        conns = []
        try:
            for _ in range(200):
                conns.append(self.conn(timeout=5))
            r = self.get("/a.txt")
            self.assertStatus(r, 200)
            for c in conns[:20]:
                c.send(build_request("GET", "/b.txt"))
            for c in conns[:20]:
                self.assertEqual(c.read_response().body, b"file b\n")
        finally:
            for c in conns:
                c.close()
        self.assert_alive()

    def test_leading_empty_line_tolerated(self):
        r, _, _ = self.send_raw(b"\r\n" + build_request("GET", "/a.txt"))
        self.assertStatus(r, 200)
