"""Core file serving: headers, content types, bodies (under body=splice and
body=read), directories, HEAD, large and concurrent downloads."""

import hashlib
import os
import re
import time

from ringd_harness import (IMF_FIXDATE_RE, RingdTestCase, build_request, http_date,
                           parse_http_date, run_threads, sha256)

INDEX = b"<!doctype html><title>ringd</title>index page\n"
SMALL = b"small file contents\n" * 7
MTIME = 1700000000  # fixed mtime: Tue, 14 Nov 2023 22:13:20 GMT

CONTENT_TYPES = {
    "page.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "img.png": "image/png",
    "mod.wasm": "application/wasm",
    "pic.webp": "image/webp",
    "pic.avif": "image/avif",
    "font.woff2": "font/woff2",
    "data.unknownext": "application/octet-stream",
}


class FileServingTests(RingdTestCase):
    CONFIG = {"http": {"body": "splice"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", INDEX)
        d.write("small.txt", SMALL, mtime=MTIME)
        d.write("empty.txt", b"")
        d.write("a/b.txt", b"b in a\n")
        d.write("b.txt", b"top-level b\n")
        d.write("dir/index.html", b"dir index\n")
        d.write("noindex/file.txt", b"x\n")
        d.write("hello world.txt", b"spaced name\n")
        d.write("caf\u00e9.txt", b"unicode name\n")
        for name in CONTENT_TYPES:
            d.write(name, b"content of " + name.encode())
        cls.sha_10m = d.write_random("big10.bin", 10 << 20)
        cls.sha_64m = d.write_random("big64.bin", 64 << 20)

    # -- basic GET --
    def test_root_serves_index(self):
        r = self.get("/")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, INDEX)
        self.assertHeader(r, "Content-Type", "text/html; charset=utf-8")

    def test_index_html_direct(self):
        r = self.get("/index.html")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, INDEX)

    def test_small_file_body_and_length(self):
        r = self.get("/small.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, SMALL)
        self.assertHeader(r, "Content-Length", str(len(SMALL)))

    def test_zero_byte_file(self):
        r = self.get("/empty.txt")
        self.assertStatus(r, 200)
        self.assertHeader(r, "Content-Length", "0")
        self.assertEqual(r.body, b"")
        # connection still usable afterwards (no stray bytes)
        with self.conn() as c:
            c.send(build_request("GET", "/empty.txt") + build_request("GET", "/small.txt"))
            r1 = c.read_response()
            r2 = c.read_response()
            self.assertStatus(r1, 200)
            self.assertEqual(r1.body, b"")
            self.assertEqual(r2.body, SMALL)

    def test_common_headers(self):
        r = self.get("/small.txt")
        self.assertStatus(r, 200)
        date = self.assertHeader(r, "Date")
        self.assertRegex(date, IMF_FIXDATE_RE, "Date is not an IMF-fixdate")
        self.assertLess(abs(parse_http_date(date) - time.time()), 5, "Date far from now: " + date)
        self.assertTrue(self.assertHeader(r, "Server").startswith("ringd"),
                        "Server header should start with 'ringd': %r" % r.header("Server"))
        self.assertHeader(r, "Last-Modified", http_date(MTIME))
        etag = self.assertHeader(r, "ETag")
        self.assertRegex(etag, r'^"[^"]+"$', "ETag must be strong and quoted")
        self.assertHeader(r, "Accept-Ranges", "bytes")
        self.assertHeader(r, "Vary", "Accept-Encoding")
        self.assertNoHeader(r, "Cache-Control", "(cache_control not configured)")
        self.assertEqual(len(r.headers_all("Content-Length")), 1)

    def test_etag_stable_and_distinct(self):
        e1 = self.get("/small.txt").header("ETag")
        e2 = self.get("/small.txt").header("ETag")
        e3 = self.get("/b.txt").header("ETag")
        self.assertEqual(e1, e2, "ETag changes between requests")
        self.assertNotEqual(e1, e3, "different files share an ETag")

    def test_content_types(self):
        for name, ctype in CONTENT_TYPES.items():
            with self.subTest(file=name):
                r = self.get("/" + name)
                self.assertStatus(r, 200)
                self.assertHeader(r, "Content-Type", ctype, "for " + name)
                self.assertEqual(r.body, b"content of " + name.encode())

    def test_head_same_headers_no_body(self):
        g = self.get("/small.txt")
        with self.conn() as c:
            # HEAD then GET pipelined: if HEAD carried a body, the 2nd parse breaks
            c.send(build_request("HEAD", "/small.txt") + build_request("GET", "/b.txt"))
            h = c.read_response(head=True)
            self.assertStatus(h, 200)
            strip = lambda resp: sorted((k.lower(), v) for k, v in resp.header_list
                                        if k.lower() not in ("date",))
            self.assertEqual(strip(h), strip(g), "HEAD headers differ from GET headers")
            self.assertHeader(h, "Content-Length", str(len(SMALL)))
            r2 = c.read_response()
            self.assertStatus(r2, 200, "response after HEAD (HEAD must not send a body)")
            self.assertEqual(r2.body, b"top-level b\n")

    def test_head_large_file_no_body(self):
        with self.conn() as c:
            c.send(build_request("HEAD", "/big64.bin") + build_request("GET", "/b.txt"))
            h = c.read_response(head=True)
            self.assertStatus(h, 200)
            self.assertHeader(h, "Content-Length", str(64 << 20))
            r2 = c.read_response()
            self.assertEqual(r2.body, b"top-level b\n")

    def test_missing_file_404(self):
        r = self.get("/does-not-exist.txt")
        self.assertStatus(r, 404)
        self.assertTrue(r.header("Content-Type", "").startswith("text/html"),
                        "error body should be text/html: %r" % r.header("Content-Type"))
        self.assertGreater(len(r.body), 0, "404 should carry a small HTML body")
        self.assertHeader(r, "Content-Length", str(len(r.body)))

    def test_missing_in_missing_dir_404(self):
        self.assertStatus(self.get("/nope/nope/x.txt"), 404)

    def test_file_as_directory_404(self):
        # a path component that is a regular file
        r = self.get("/small.txt/x")
        self.assertIn(r.status, (404,), "expected 404 for /small.txt/x, got %r" % r)

    def test_query_ignored(self):
        r = self.get("/small.txt?q=1&x=%2F..")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, SMALL)

    def test_absolute_form_target(self):
        r = self.get("http://localhost/small.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, SMALL)

    def test_absolute_form_with_port_and_query(self):
        r = self.get("http://localhost:%d/small.txt?x=1" % self.port)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, SMALL)

    def test_directory_redirect(self):
        r = self.get("/dir")
        self.assertStatus(r, 301)
        self.assertHeader(r, "Location", "/dir/")

    def test_directory_redirect_keeps_query(self):
        r = self.get("/dir?x=1")
        self.assertStatus(r, 301)
        self.assertHeader(r, "Location", "/dir/?x=1")

    def test_directory_index(self):
        r = self.get("/dir/")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"dir index\n")
        self.assertHeader(r, "Content-Type", "text/html; charset=utf-8")

    def test_directory_without_index_404(self):
        self.assertStatus(self.get("/noindex/"), 404)

    def test_percent_decoding_space(self):
        r = self.get("/hello%20world.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"spaced name\n")

    def test_percent_decoding_utf8(self):
        for target in ("/caf%C3%A9.txt", "/caf%c3%a9.txt"):
            with self.subTest(target=target):
                r = self.get(target)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, b"unicode name\n")

    def test_dotdot_within_root(self):
        r = self.get("/a/../b.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"top-level b\n")

    def test_dot_segments_and_double_slash(self):
        r = self.get("/./a/./b.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"b in a\n")

    def test_http10_without_host(self):
        r = self.get("/small.txt", version="HTTP/1.0", host=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, SMALL)

    def test_big_10m(self):
        r = self.get("/big10.bin", hasher=hashlib.sha256(), timeout=30)
        self.assertStatus(r, 200)
        self.assertEqual(r.body_len, 10 << 20)
        self.assertEqual(r.sha256, self.sha_10m, "10 MiB body differs")

    def test_big_64m(self):
        r = self.get("/big64.bin", hasher=hashlib.sha256(), timeout=60)
        self.assertStatus(r, 200)
        self.assertHeader(r, "Content-Length", str(64 << 20))
        self.assertEqual(r.body_len, 64 << 20)
        self.assertEqual(r.sha256, self.sha_64m, "64 MiB body differs")

    def test_big_then_small_same_connection(self):
        with self.conn(timeout=30) as c:
            c.send(build_request("GET", "/big10.bin") + build_request("GET", "/small.txt"))
            r1 = c.read_response(hasher=hashlib.sha256())
            r2 = c.read_response()
            self.assertEqual(r1.sha256, self.sha_10m)
            self.assertEqual(r2.body, SMALL)

    def test_concurrent_large_downloads(self):
        def dl(target):
            with self.conn(timeout=60) as c:
                c.send(build_request("GET", target))
                return c.read_response(hasher=hashlib.sha256())
        targets = ["/big10.bin"] * 4 + ["/big64.bin"] * 2
        res = run_threads(dl, [(t,) for t in targets], timeout=120)
        for (r, e), t in zip(res, targets):
            self.assertIsNone(e, "download of %s failed: %r" % (t, e))
            self.assertStatus(r, 200)
            self.assertEqual(r.sha256, self.sha_10m if "10" in t else self.sha_64m,
                             "concurrent download of %s differs" % t)

    def test_curl_download(self):
        out = os.path.join(self.d.tmp, "curl-%s.out" % type(self).__name__)
        p = self.curl("-o", out, "-w", "%{http_code}", self.url("/big10.bin"), timeout=60)
        self.assertEqual(p.returncode, 0, "curl failed: %s" % p.stderr.decode(errors="replace"))
        self.assertEqual(p.stdout.decode(), "200")
        with open(out, "rb") as f:
            self.assertEqual(sha256(f.read()), self.sha_10m)
        os.unlink(out)

    def test_curl_keepalive_reuse(self):
        p = self.curl("-v", "-o", "/dev/null", "-o", "/dev/null",
                      self.url("/small.txt"), self.url("/b.txt"))
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, err)
        self.assertTrue(re.search(r"Re-using existing connection|Reusing existing connection", err),
                        "curl did not reuse the keep-alive connection:\n" + err[-2000:])


class FileServingReadTests(FileServingTests):
    """The same tests with body=read."""
    CONFIG = {"http": {"body": "read"}}


class CacheControlTests(RingdTestCase):
    CONFIG = {"http": {"cache_control": "public, max-age=3600"}}

    def test_cache_control_header(self):
        r = self.get("/index.html")
        self.assertStatus(r, 200)
        self.assertHeader(r, "Cache-Control", "public, max-age=3600")

    def test_cache_control_on_head(self):
        r = self.head("/index.html")
        self.assertHeader(r, "Cache-Control", "public, max-age=3600")


class IndexKeyTests(RingdTestCase):
    CONFIG = {"server": {"index": "home.htm"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "wrong")
        d.write("home.htm", "<p>home</p>")
        d.write("sub/home.htm", "<p>sub home</p>")

    def test_custom_index(self):
        r = self.get("/")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"<p>home</p>")
        r = self.get("/sub/")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"<p>sub home</p>")
