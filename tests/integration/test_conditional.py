"""Conditional requests: If-None-Match, If-Modified-Since, If-Match,
If-Unmodified-Since."""

import time

from ringd_harness import RingdTestCase, build_request, http_date

MTIME = 1700000000
BODY = b"conditional body\n" * 10


class ConditionalTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("c.txt", BODY, mtime=MTIME)
        d.write("other.txt", b"other\n")

    def setUp(self):
        super().setUp()
        r = self.get("/c.txt")
        self.assertStatus(r, 200)
        self.etag = r.header("ETag")
        self.lm = r.header("Last-Modified")
        self.assertIsNotNone(self.etag)
        self.assertEqual(self.lm, http_date(MTIME))

    def assert304(self, headers, method="GET"):
        with self.conn() as c:
            c.send(build_request(method, "/c.txt", headers) + build_request("GET", "/other.txt"))
            r = c.read_response(head=(method == "HEAD"))
            self.assertStatus(r, 304, "headers %r" % (headers,))
            self.assertHeader(r, "ETag", self.etag)
            r2 = c.read_response()
            self.assertStatus(r2, 200, "request after 304 (304 must not carry a body)")
            self.assertEqual(r2.body, b"other\n", "stray bytes after 304")
        return r

    def assert200(self, headers, method="GET"):
        r = self.request(method, "/c.txt", headers)
        self.assertStatus(r, 200, "headers %r" % (headers,))
        if method == "GET":
            self.assertEqual(r.body, BODY)
        return r

    # If-None-Match
    def test_inm_exact(self):
        self.assert304({"If-None-Match": self.etag})

    def test_inm_star(self):
        self.assert304({"If-None-Match": "*"})

    def test_inm_list(self):
        self.assert304({"If-None-Match": '"aaa", %s, "bbb"' % self.etag})

    def test_inm_weak_form(self):
        self.assert304({"If-None-Match": "W/" + self.etag})

    def test_inm_head(self):
        self.assert304({"If-None-Match": self.etag}, method="HEAD")

    def test_inm_nonmatching(self):
        self.assert200({"If-None-Match": '"nope"'})
        self.assert200({"If-None-Match": '"a", "b"'})

    def test_inm_takes_precedence_over_ims(self):
        # RFC 9110 13.2.2: If-Modified-Since is ignored when If-None-Match is present
        self.assert200({"If-None-Match": '"nope"', "If-Modified-Since": http_date(MTIME + 3600)})

    # If-Modified-Since
    def test_ims_equal(self):
        self.assert304({"If-Modified-Since": self.lm})

    def test_ims_after(self):
        self.assert304({"If-Modified-Since": http_date(MTIME + 86400)})

    def test_ims_before(self):
        self.assert200({"If-Modified-Since": http_date(MTIME - 1)})

    def test_ims_invalid(self):
        for v in ("not a date", "Tue, 99 Nov 2023 22:13:20 GMT", "", "1700000000"):
            with self.subTest(value=v):
                self.assert200({"If-Modified-Since": v})

    def test_ims_rfc850_and_asctime(self):
        self.assert304({"If-Modified-Since": "Tuesday, 14-Nov-23 22:13:20 GMT"})
        self.assert304({"If-Modified-Since": "Tue Nov 14 22:13:20 2023"})

    # If-Match
    def test_if_match_nonmatching_412(self):
        r = self.request("GET", "/c.txt", {"If-Match": '"nope"'})
        self.assertStatus(r, 412)

    def test_if_match_star(self):
        self.assert200({"If-Match": "*"})

    def test_if_match_matching(self):
        self.assert200({"If-Match": self.etag})
        self.assert200({"If-Match": '"x", %s' % self.etag})

    # If-Unmodified-Since
    def test_ius_earlier_412(self):
        r = self.request("GET", "/c.txt", {"If-Unmodified-Since": http_date(MTIME - 100)})
        self.assertStatus(r, 412)

    def test_ius_equal_or_later_200(self):
        self.assert200({"If-Unmodified-Since": self.lm})
        self.assert200({"If-Unmodified-Since": http_date(MTIME + 100)})

    def test_etag_changes_with_content(self):
        self.d.write("mut.txt", b"one")
        e1 = self.get("/mut.txt").header("ETag")
        self.d.write("mut.txt", b"two-two", mtime=MTIME + 5)
        time.sleep(1.2)  # the open-file cache trusts an entry for [cache] revalidate = 1 s
        r = self.get("/mut.txt")
        self.assertEqual(r.body, b"two-two")
        self.assertNotEqual(r.header("ETag"), e1)
        r = self.get("/mut.txt", {"If-None-Match": e1})
        self.assertStatus(r, 200, "stale ETag must not give 304")
