"""Byte ranges (RFC 9110 14): single ranges, suffix, open-ended, clamping,
416, invalid/multiple ranges (served full), If-Range, HEAD, large files."""

import hashlib
import os

from ringd_harness import RingdTestCase, build_request, sha256

MTIME = 1700000000
DATA = bytes(range(256)) * 4 + b"tail-end"  # 1032 bytes
SIZE = len(DATA)


class RangeTests(RingdTestCase):
    CONFIG = {"http": {"body": "splice"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("r.bin", DATA, mtime=MTIME)
        d.write("other.txt", b"other\n")
        big = os.urandom(5 << 20)
        cls.BIG = big
        d.write("big.bin", big)

    def rng(self, spec, target="/r.bin", extra=None, method="GET"):
        h = {"Range": spec}
        h.update(extra or {})
        return self.request(method, target, h)

    def assert206(self, spec, first, last, size=SIZE, data=DATA, target="/r.bin"):
        r = self.rng(spec, target)
        self.assertStatus(r, 206, "Range: " + spec)
        self.assertHeader(r, "Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.assertHeader(r, "Content-Length", str(last - first + 1))
        self.assertEqual(r.body, data[first:last + 1], "wrong bytes for Range: " + spec)
        return r

    def assertFull(self, spec, extra=None):
        r = self.rng(spec, extra=extra)
        self.assertStatus(r, 200, "Range: %s %r" % (spec, extra))
        self.assertNoHeader(r, "Content-Range")
        self.assertEqual(r.body, DATA)
        return r

    def test_first_ten(self):
        r = self.assert206("bytes=0-9", 0, 9)
        self.assertIsNotNone(r.header("ETag"))
        self.assertHeader(r, "Accept-Ranges", "bytes")

    def test_middle(self):
        self.assert206("bytes=100-355", 100, 355)

    def test_suffix(self):
        self.assert206("bytes=-5", SIZE - 5, SIZE - 1)

    def test_suffix_longer_than_file(self):
        self.assert206("bytes=-100000", 0, SIZE - 1)

    def test_open_ended(self):
        self.assert206("bytes=5-", 5, SIZE - 1)

    def test_last_byte(self):
        self.assert206("bytes=%d-" % (SIZE - 1), SIZE - 1, SIZE - 1)

    def test_last_clamped(self):
        self.assert206("bytes=1000-99999", 1000, SIZE - 1)

    def test_whitespace_tolerated(self):
        self.assert206("bytes=0-9 ", 0, 9)

    def test_unsatisfiable_416(self):
        for spec in ("bytes=%d-" % SIZE, "bytes=%d-%d" % (SIZE + 10, SIZE + 20)):
            with self.subTest(range=spec):
                r = self.rng(spec)
                self.assertStatus(r, 416)
                self.assertHeader(r, "Content-Range", "bytes */%d" % SIZE)

    def test_invalid_syntax_full(self):
        for spec in ("bytes=x-y", "items=0-1", "bytes=9-0", "bytes=", "bytes=--1", "0-9"):
            with self.subTest(range=spec):
                self.assertFull(spec)

    def test_multiple_ranges_full(self):
        self.assertFull("bytes=0-1,5-6")

    def test_if_range_etag_match(self):
        etag = self.get("/r.bin").header("ETag")
        r = self.rng("bytes=0-9", extra={"If-Range": etag})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, DATA[:10])

    def test_if_range_etag_mismatch(self):
        self.assertFull("bytes=0-9", extra={"If-Range": '"not-the-etag"'})

    def test_if_range_date_exact(self):
        lm = self.get("/r.bin").header("Last-Modified")
        r = self.rng("bytes=0-9", extra={"If-Range": lm})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, DATA[:10])

    def test_if_range_date_mismatch(self):
        self.assertFull("bytes=0-9", extra={"If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})

    def test_head_with_range(self):
        with self.conn() as c:
            c.send(build_request("HEAD", "/r.bin", {"Range": "bytes=0-9"})
                   + build_request("GET", "/other.txt"))
            r = c.read_response(head=True)
            self.assertStatus(r, 206)
            self.assertHeader(r, "Content-Range", "bytes 0-9/%d" % SIZE)
            self.assertHeader(r, "Content-Length", "10")
            r2 = c.read_response()
            self.assertEqual(r2.body, b"other\n", "HEAD 206 must not carry a body")

    def test_range_pipelined(self):
        with self.conn() as c:
            c.send(build_request("GET", "/r.bin", {"Range": "bytes=0-3"})
                   + build_request("GET", "/r.bin", {"Range": "bytes=-3"})
                   + build_request("GET", "/other.txt"))
            self.assertEqual(c.read_response().body, DATA[:4])
            self.assertEqual(c.read_response().body, DATA[-3:])
            self.assertEqual(c.read_response().body, b"other\n")

    def test_large_file_ranges(self):
        big = self.BIG
        n = len(big)
        for first, last in ((0, (1 << 20) - 1), (1000000, 3999999), (n - 1234567, n - 1),
                            (4096, 4096 + 65535)):
            with self.subTest(range=(first, last)):
                r = self.request("GET", "/big.bin", {"Range": "bytes=%d-%d" % (first, last)},
                                 hasher=hashlib.sha256(), timeout=20)
                self.assertStatus(r, 206)
                self.assertHeader(r, "Content-Range", "bytes %d-%d/%d" % (first, last, n))
                self.assertEqual(r.sha256, sha256(big[first:last + 1]))
        r = self.request("GET", "/big.bin", {"Range": "bytes=-1048576"},
                         hasher=hashlib.sha256(), timeout=20)
        self.assertStatus(r, 206)
        self.assertEqual(r.sha256, sha256(big[-1048576:]))

    def test_large_unaligned_range(self):
        # a >= 1 MiB range starting at an offset that is not page-aligned
        big = self.BIG
        for first, last in ((1000, 1048575), (1, 2000000), (4096, 2000000)):
            with self.subTest(range=(first, last)):
                r = self.request("GET", "/big.bin", {"Range": "bytes=%d-%d" % (first, last)},
                                 hasher=hashlib.sha256(), timeout=20)
                self.assertStatus(r, 206)
                self.assertEqual(r.sha256, sha256(big[first:last + 1]))

    def test_range_on_curl(self):
        p = self.curl("-r", "10-19", self.url("/r.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, DATA[10:20])


class RangeReadTests(RangeTests):
    CONFIG = {"http": {"body": "read"}}
