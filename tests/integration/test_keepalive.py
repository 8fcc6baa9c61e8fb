"""Persistent connections, HTTP/1.0, Connection: close, pipelining, half-close."""

import socket

from ringd_harness import RingdTestCase, build_request


class KeepAliveTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        for i in range(30):
            d.write("f%d.txt" % i, "file number %d\n" % i)

    def test_http11_keepalive_default(self):
        with self.conn() as c:
            for i in range(5):
                c.send(build_request("GET", "/f%d.txt" % i))
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(r.body, b"file number %d\n" % i)
                self.assertNotEqual((r.header("Connection") or "").lower(), "close")
            self.assertTrue(c.no_data_within(0.3), "server closed a keep-alive connection")

    def test_http10_closes(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f1.txt", version="HTTP/1.0"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"file number 1\n")
            self.assertNotEqual((r.header("Connection") or "").lower(), "keep-alive")
            self.assertTrue(c.wait_closed(3), "HTTP/1.0 connection not closed by server")

    def test_http10_keepalive(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f1.txt", {"Connection": "keep-alive"}, version="HTTP/1.0"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual((r.header("Connection") or "").lower(), "keep-alive")
            c.send(build_request("GET", "/f2.txt", {"Connection": "keep-alive"}, version="HTTP/1.0"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"file number 2\n")

    def test_connection_close(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f3.txt", {"Connection": "close"}))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"file number 3\n")
            self.assertEqual((r.header("Connection") or "").lower(), "close")
            self.assertTrue(c.wait_closed(3), "server did not close after Connection: close")

    def test_connection_close_case_insensitive(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f3.txt", {"connection": "Close"}))
            r = c.read_response()
            self.assertEqual((r.header("Connection") or "").lower(), "close")
            self.assertTrue(c.wait_closed(3))

    def test_pipelining_in_order(self):
        n = 20
        with self.conn() as c:
            c.send(b"".join(build_request("GET", "/f%d.txt" % i) for i in range(n)))
            for i in range(n):
                r = c.read_response()
                self.assertStatus(r, 200, "pipelined response %d" % i)
                self.assertEqual(r.body, b"file number %d\n" % i, "response %d out of order" % i)

    def test_pipelining_mixed(self):
        reqs = [("GET", "/f1.txt"), ("HEAD", "/f2.txt"), ("GET", "/missing"),
                ("OPTIONS", "*"), ("POST", "/f1.txt"), ("GET", "/f4.txt")]
        with self.conn() as c:
            c.send(b"".join(build_request(m, t) for m, t in reqs))
            rs = [c.read_response(head=(m == "HEAD")) for m, _ in reqs]
        self.assertEqual([r.status for r in rs], [200, 200, 404, 204, 405, 200])
        self.assertEqual(rs[0].body, b"file number 1\n")
        self.assertEqual(rs[5].body, b"file number 4\n")

    def test_pipelining_last_close(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f1.txt") + build_request("GET", "/f2.txt", {"Connection": "close"})
                   + build_request("GET", "/f3.txt"))
            r1 = c.read_response()
            r2 = c.read_response()
            self.assertEqual(r1.body, b"file number 1\n")
            self.assertEqual(r2.body, b"file number 2\n")
            self.assertTrue(c.wait_closed(3), "not closed after Connection: close")
            self.assertEqual(c.buf, b"", "response sent for a request after Connection: close")

    def test_pipelining_byte_by_byte(self):
        data = build_request("GET", "/f5.txt") + build_request("GET", "/f6.txt")
        with self.conn() as c:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                c.send(data[i:i + 1])
            self.assertEqual(c.read_response().body, b"file number 5\n")
            self.assertEqual(c.read_response().body, b"file number 6\n")

    def test_half_close(self):
        with self.conn() as c:
            c.send(build_request("GET", "/f7.txt"))
            c.shutdown_write()
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"file number 7\n")

    def test_half_close_pipelined(self):
        # two pipelined requests then FIN: both must be answered (repeated,
        # since losing the second one can depend on timing)
        for i in range(8):
            with self.subTest(attempt=i):
                with self.conn() as c:
                    c.send(build_request("GET", "/f7.txt") + build_request("GET", "/f8.txt"))
                    c.shutdown_write()
                    self.assertEqual(c.read_response().body, b"file number 7\n")
                    try:
                        r2 = c.read_response()
                    except Exception as e:
                        self.fail("second pipelined request lost after client half-close: %s" % e)
                    self.assertEqual(r2.body, b"file number 8\n")
                    self.assertTrue(c.wait_closed(3), "server did not close after client's FIN")
