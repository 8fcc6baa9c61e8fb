"""Request methods: GET, HEAD, OPTIONS, and 405 for everything else."""

from ringd_harness import RingdTestCase, build_request

ALLOW = "GET, HEAD, OPTIONS"


class MethodTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("f.txt", "file\n")

    def test_options_path(self):
        with self.conn() as c:
            c.send(build_request("OPTIONS", "/f.txt") + build_request("GET", "/f.txt"))
            r = c.read_response()
            self.assertStatus(r, 204)
            self.assertHeader(r, "Allow", ALLOW)
            self.assertNoHeader(r, "Content-Length", "(204 must not carry Content-Length)")
            r2 = c.read_response()
            self.assertStatus(r2, 200, "request after OPTIONS on the same connection")
            self.assertEqual(r2.body, b"file\n")

    def test_options_star(self):
        r = self.request("OPTIONS", "*")
        self.assertStatus(r, 204)
        self.assertHeader(r, "Allow", ALLOW)

    def test_other_methods_405(self):
        for m in ("POST", "PUT", "DELETE", "PATCH", "FOO"):
            with self.subTest(method=m):
                r = self.request(m, "/f.txt")
                self.assertStatus(r, 405, "for method " + m)
                self.assertHeader(r, "Allow", ALLOW)
                self.assertTrue(r.header("Server", "").startswith("ringd"))
                self.assertIsNotNone(r.header("Date"))
                self.assertHeader(r, "Content-Length", str(len(r.body)))

    def test_post_with_body_405(self):
        r = self.request("POST", "/f.txt", headers={"Content-Length": "5"}, body=b"hello")
        self.assertStatus(r, 405)
        self.assertHeader(r, "Allow", ALLOW)

    def test_405_on_missing_path(self):
        r = self.request("DELETE", "/nope")
        self.assertIn(r.status, (404, 405), "DELETE /nope: %r" % r)

    def test_head_404_no_body(self):
        with self.conn() as c:
            c.send(build_request("HEAD", "/nope") + build_request("GET", "/f.txt"))
            r = c.read_response(head=True)
            self.assertStatus(r, 404)
            self.assertIsNotNone(r.header("Content-Length"), "HEAD 404 should have Content-Length")
            r2 = c.read_response()
            self.assertStatus(r2, 200, "HEAD 404 must not send a body")
            self.assertEqual(r2.body, b"file\n")

    def test_get_lowercase_method_not_get(self):
        # methods are case-sensitive: "get" is not GET
        r = self.request("get", "/f.txt")
        self.assertIn(r.status, (400, 405), "lowercase 'get' must not be served as GET: %r" % r)


class RequiredHeadersTests(RingdTestCase):
    """Date, Server and (except 204/304) Content-Length on every status; error
    statuses carry a small text/html body."""

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("f.txt", "file\n")
        d.write("dir/index.html", "d")
        d.write(".hidden", "h")

    def test_every_status(self):
        etag = self.get("/f.txt").header("ETag")
        cases = [
            ("GET", "/f.txt", {}, 200), ("GET", "/f.txt", {"Range": "bytes=0-1"}, 206),
            ("GET", "/dir", {}, 301), ("GET", "/f.txt", {"If-None-Match": etag}, 304),
            ("OPTIONS", "/f.txt", {}, 204), ("GET", "/../x", {}, 400), ("GET", "/.hidden", {}, 403),
            ("GET", "/missing", {}, 404), ("PUT", "/f.txt", {}, 405),
            ("GET", "/f.txt", {"If-Match": '"x"'}, 412), ("GET", "/f.txt", {"Range": "bytes=99-"}, 416),
        ]
        for method, target, hdrs, status in cases:
            with self.subTest(method=method, target=target, headers=hdrs):
                r = self.request(method, target, hdrs)
                self.assertStatus(r, status)
                self.assertRegex(r.header("Date") or "", r"GMT$")
                self.assertTrue((r.header("Server") or "").startswith("ringd"))
                if status not in (204, 304):
                    self.assertHeader(r, "Content-Length", str(len(r.body)))
                if status >= 400:
                    self.assertTrue((r.header("Content-Type") or "").startswith("text/html"),
                                    "error %d Content-Type %r" % (status, r.header("Content-Type")))
                    self.assertGreater(len(r.body), 0)
