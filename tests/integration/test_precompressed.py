"""Precompressed variants (.br, .zst, .gz) chosen by Accept-Encoding."""

from ringd_harness import RingdTestCase, build_request

JS = b"console.log('identity');\n" * 20
GZ = b"\x1f\x8bFAKE-GZIP-VARIANT" * 3
BR = b"FAKE-BROTLI-VARIANT" * 2
ZST = b"\x28\xb5\x2f\xfdFAKE-ZSTD"
CSS = b"body { color: red }\n" * 10
JS_CT = "text/javascript; charset=utf-8"


class PrecompressedTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("app.js", JS)
        d.write("app.js.gz", GZ)
        d.write("app.js.br", BR)
        d.write("style.css", CSS)
        d.write("style.css.gz", GZ)
        d.write("style.css.zst", ZST)
        d.write("only.js.gz", GZ)
        d.write("plain.txt", b"plain\n")

    def enc(self, ae, target="/app.js", method="GET"):
        h = {} if ae is None else {"Accept-Encoding": ae}
        return self.request(method, target, h)

    def check(self, r, encoding, body, ctype=JS_CT):
        self.assertStatus(r, 200)
        if encoding is None:
            self.assertNoHeader(r, "Content-Encoding")
        else:
            self.assertHeader(r, "Content-Encoding", encoding)
        self.assertHeader(r, "Content-Type", ctype)
        self.assertHeader(r, "Vary", "Accept-Encoding")
        self.assertHeader(r, "Content-Length", str(len(body)))
        self.assertEqual(r.body, body)

    def test_gzip(self):
        self.check(self.enc("gzip"), "gzip", GZ)

    def test_br_preferred(self):
        self.check(self.enc("br, gzip"), "br", BR)
        self.check(self.enc("gzip, br"), "br", BR)
        self.check(self.enc("gzip, deflate, br, zstd"), "br", BR)

    def test_zstd(self):
        self.check(self.enc("zstd, gzip", "/style.css"), "zstd", ZST, "text/css; charset=utf-8")
        self.check(self.enc("br, zstd, gzip", "/style.css"), "zstd", ZST, "text/css; charset=utf-8")

    def test_fallback_to_available(self):
        self.check(self.enc("zstd, gzip"), "gzip", GZ)
        self.check(self.enc("br", "/style.css"), None, CSS, "text/css; charset=utf-8")

    def test_q_zero_is_refusal(self):
        self.check(self.enc("gzip;q=0"), None, JS)
        self.check(self.enc("br;q=0, gzip"), "gzip", GZ)
        self.check(self.enc("br;q=0.0, gzip;q=0"), None, JS)

    def test_case_insensitive(self):
        self.check(self.enc("GZIP"), "gzip", GZ)

    def test_no_accept_encoding(self):
        self.check(self.enc(None), None, JS)

    def test_identity(self):
        self.check(self.enc("identity"), None, JS)
        self.check(self.enc("deflate"), None, JS)

    def test_head_variant(self):
        with self.conn() as c:
            c.send(build_request("HEAD", "/app.js", {"Accept-Encoding": "gzip"})
                   + build_request("GET", "/plain.txt"))
            r = c.read_response(head=True)
            self.assertStatus(r, 200)
            self.assertHeader(r, "Content-Encoding", "gzip")
            self.assertHeader(r, "Content-Length", str(len(GZ)))
            self.assertEqual(c.read_response().body, b"plain\n")

    def test_variant_etag_differs(self):
        e1 = self.enc(None).header("ETag")
        e2 = self.enc("gzip").header("ETag")
        self.assertIsNotNone(e1)
        self.assertIsNotNone(e2)
        self.assertNotEqual(e1, e2, "identity and gzip representations share an ETag")

    def test_variant_without_base_404(self):
        r = self.enc("gzip", "/only.js")
        self.assertStatus(r, 404)
        self.assertStatus(self.enc(None, "/only.js"), 404)

    def test_vary_on_plain_file(self):
        r = self.enc(None, "/plain.txt")
        self.assertStatus(r, 200)
        self.assertHeader(r, "Vary", "Accept-Encoding")

    def test_range_on_variant(self):
        r = self.request("GET", "/app.js", {"Accept-Encoding": "gzip", "Range": "bytes=0-3"})
        self.assertStatus(r, 206)
        self.assertHeader(r, "Content-Encoding", "gzip")
        self.assertEqual(r.body, GZ[:4])

    def test_curl_compressed(self):
        p = self.curl("-H", "Accept-Encoding: br", "-D", "-", "-o", "/dev/null",
                      self.url("/app.js"))
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"(?im)^content-encoding: br\r?$")


class PrecompressedOffTests(RingdTestCase):
    CONFIG = {"http": {"precompressed": "off"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("app.js", JS)
        d.write("app.js.gz", GZ)
        d.write("app.js.br", BR)

    def test_never_compressed(self):
        for ae in ("gzip", "br", "br, gzip, zstd"):
            with self.subTest(ae=ae):
                r = self.request("GET", "/app.js", {"Accept-Encoding": ae})
                self.assertStatus(r, 200)
                self.assertNoHeader(r, "Content-Encoding")
                self.assertNoHeader(r, "Vary", "(precompressed=off)")
                self.assertEqual(r.body, JS)


class PrecompressedGzipOnlyTests(RingdTestCase):
    CONFIG = {"http": {"precompressed": "gzip"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("app.js", JS)
        d.write("app.js.gz", GZ)
        d.write("app.js.br", BR)

    def test_only_gzip_considered(self):
        r = self.request("GET", "/app.js", {"Accept-Encoding": "br, gzip"})
        self.assertStatus(r, 200)
        self.assertHeader(r, "Content-Encoding", "gzip")
        self.assertEqual(r.body, GZ)
        r = self.request("GET", "/app.js", {"Accept-Encoding": "br"})
        self.assertNoHeader(r, "Content-Encoding")
        self.assertEqual(r.body, JS)
