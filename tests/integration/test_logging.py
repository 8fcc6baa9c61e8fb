"""Access log formats (combined, common, json, off, stderr) and a clean
error log."""

import json
import os
import re
import time

from ringd_harness import RingdTestCase, build_request

BODY = b"logged body\n" * 3
CLF_DATE = r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"


class CombinedLogTests(RingdTestCase):
    CONFIG = {"log": {"format": "combined"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("l.txt", BODY)

    def fresh(self):
        return len(self.d.access_lines())

    def line_for(self, n0, marker):
        lines = self.d.wait_access_lines(n0 + 1, timeout=3)
        new = lines[n0:]
        hits = [l for l in new if marker in l]
        self.assertTrue(hits, "no access log line containing %r within 3s; new lines: %r"
                        % (marker, new))
        return hits[-1]

    def test_combined_line(self):
        n0 = self.fresh()
        t0 = time.monotonic()
        p = self.curl("-o", "/dev/null", "-A", "curl/7.88.1", "-e", "http://ref.example/",
                      self.url("/l.txt?combo=1"))
        self.assertEqual(p.returncode, 0)
        line = self.line_for(n0, "combo=1")
        self.assertLess(time.monotonic() - t0, 3)
        pat = (r'^127\.0\.0\.1 - - ' + CLF_DATE +
               r' "GET /l\.txt\?combo=1 HTTP/1\.1" 200 %d "http://ref\.example/" "curl/7\.88\.1"$'
               % len(BODY))
        self.assertRegex(line, pat)

    def test_combined_dashes(self):
        n0 = self.fresh()
        with self.conn() as c:
            c.send(build_request("GET", "/l.txt?nohdrs=1"))
            c.read_response()
        line = self.line_for(n0, "nohdrs=1")
        self.assertRegex(line, r'" 200 %d "-" "-"$' % len(BODY))

    def test_404_and_head_bytes(self):
        n0 = self.fresh()
        with self.conn() as c:
            c.send(build_request("GET", "/missing?m=404") + build_request("HEAD", "/l.txt?m=head")
                   + build_request("GET", "/l.txt?m=range", {"Range": "bytes=0-9"}))
            r404 = c.read_response()
            c.read_response(head=True)
            c.read_response()
        self.d.wait_access_lines(n0 + 3)
        l404 = self.line_for(n0, "m=404")
        self.assertRegex(l404, r'"GET /missing\?m=404 HTTP/1\.1" 404 %d ' % len(r404.body))
        lhead = self.line_for(n0, "m=head")
        self.assertRegex(lhead, r'"HEAD /l\.txt\?m=head HTTP/1\.1" 200 (0|-) ')
        lr = self.line_for(n0, "m=range")
        self.assertRegex(lr, r'" 206 10 ')

    def test_one_line_per_request(self):
        n0 = self.fresh()
        with self.conn() as c:
            c.send(b"".join(build_request("GET", "/l.txt?count=%d" % i) for i in range(10)))
            for _ in range(10):
                c.read_response()
        lines = self.d.wait_access_lines(n0 + 10)
        got = [l for l in lines[n0:] if "count=" in l]
        self.assertEqual(len(got), 10, "expected 10 log lines, got %r" % got)
        for i, l in enumerate(got):
            self.assertIn("count=%d " % i, l, "log lines out of order")

    def test_quotes_escaped(self):
        n0 = self.fresh()
        with self.conn() as c:
            c.send(build_request("GET", "/l.txt?q=esc", {"User-Agent": 'evil" "agent'}))
            c.read_response()
        line = self.line_for(n0, "q=esc")
        self.assertNotIn('evil" "agent', line, "unescaped quote in the log line")

    def test_stderr_clean(self):
        for t in ("/l.txt", "/missing", "/"):
            self.get(t)
        time.sleep(0.3)
        err = self.d.stderr()
        bad = [l for l in err.splitlines()
               if re.search(r"(?i)\b(error|fatal|crit|assert|sanitizer|panic)\b", l)]
        self.assertEqual(bad, [], "errors on stderr during normal operation")


class CommonLogTests(RingdTestCase):
    CONFIG = {"log": {"format": "common"}}

    def test_common_line(self):
        n0 = len(self.d.access_lines())
        p = self.curl("-o", "/dev/null", "-A", "curl/7.88.1", self.url("/index.html?c=1"))
        self.assertEqual(p.returncode, 0)
        lines = self.d.wait_access_lines(n0 + 1)
        self.assertGreater(len(lines), n0, "no log line")
        size = os.path.getsize(self.d.path("index.html"))
        self.assertRegex(lines[-1], r'^127\.0\.0\.1 - - ' + CLF_DATE +
                         r' "GET /index\.html\?c=1 HTTP/1\.1" 200 %d$' % size)


class JsonLogTests(RingdTestCase):
    CONFIG = {"log": {"format": "json"}}

    def test_json_line(self):
        n0 = len(self.d.access_lines())
        with self.conn() as c:
            c.send(build_request("GET", "/index.html?j=1", {"User-Agent": 'ua "quoted" \\ x'})
                   + build_request("GET", "/missing"))
            r1 = c.read_response()
            r2 = c.read_response()
        lines = self.d.wait_access_lines(n0 + 2)
        self.assertGreaterEqual(len(lines), n0 + 2)
        objs = []
        for l in lines[n0:]:
            try:
                objs.append(json.loads(l))
            except ValueError as e:
                self.fail("not a JSON object per line: %r (%s)" % (l, e))
        for o in objs:
            for k in ("remote", "time", "method", "path", "status", "bytes"):
                self.assertIn(k, o, "key %r missing in %r" % (k, o))
        o1, o2 = objs[0], objs[1]
        self.assertEqual(o1["remote"], "127.0.0.1")
        self.assertEqual(o1["method"], "GET")
        self.assertTrue(o1["path"].startswith("/index.html"), o1)
        self.assertEqual(int(o1["status"]), 200)
        self.assertEqual(int(o1["bytes"]), len(r1.body))
        self.assertEqual(int(o2["status"]), 404)
        self.assertEqual(int(o2["bytes"]), len(r2.body))


class AccessLogOffTests(RingdTestCase):
    CONFIG = {"log": {"access": "off"}}

    def test_nothing_written(self):
        for _ in range(5):
            self.assertStatus(self.get("/index.html?off=1"), 200)
        time.sleep(2)
        self.assertEqual(self.d.access_lines(), [], "access log written although access=off")
        self.assertNotIn("off=1", self.d.stderr())
        for name in os.listdir(self.d.tmp):
            if name in ("root", "ringd.ini", "stderr.log"):
                continue
            self.fail("unexpected file %r created with access=off" % name)


class AccessLogStderrTests(RingdTestCase):
    CONFIG = {"log": {"access": "stderr"}}

    def test_lines_on_stderr(self):
        self.assertStatus(self.get("/index.html?tostderr=1"), 200)
        deadline = time.monotonic() + 3
        while "tostderr=1" not in self.d.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn('"GET /index.html?tostderr=1 HTTP/1.1" 200', self.d.stderr())


class ErrorLogFileTests(RingdTestCase):
    """error = path, level = debug: the daemon starts and logs to the file."""

    @classmethod
    def populate(cls, d):
        d.write("index.html", "x")
        d.config["log"]["error"] = os.path.join(d.tmp, "error.log")
        d.config["log"]["level"] = "debug"

    def test_error_log_file_used(self):
        self.assertStatus(self.get("/index.html"), 200)
        self.assertStatus(self.get("/missing"), 404)
        self.assertTrue(os.path.exists(os.path.join(self.d.tmp, "error.log")),
                        "error log file not created")
