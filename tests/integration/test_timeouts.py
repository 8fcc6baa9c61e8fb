"""header_timeout, keepalive_timeout, send_timeout (short values)."""

import time

from ringd_harness import RingdTestCase, build_request

HEADER_T = 1
KEEPALIVE_T = 1
SEND_T = 2


class TimeoutTests(RingdTestCase):
    CONFIG = {"http": {"header_timeout": str(HEADER_T), "keepalive_timeout": str(KEEPALIVE_T),
                       "send_timeout": str(SEND_T)}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        d.write("a.txt", b"file a\n")
        d.write_random("big64.bin", 64 << 20)

    def _closed_within(self, c, limit):
        """Wait for close (or a 408 then close); return elapsed seconds."""
        t0 = time.monotonic()
        closed = c.wait_closed(limit)
        el = time.monotonic() - t0
        self.assertTrue(closed, "connection still open after %.1fs (buffered: %r)" % (el, c.buf[:200]))
        if c.buf:
            self.assertTrue(c.buf.startswith(b"HTTP/1.1 408"),
                            "only a 408 response may precede the close, got %r" % c.buf[:200])
        return el

    def test_stalled_request_head(self):
        with self.conn(timeout=10) as c:
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
            el = self._closed_within(c, HEADER_T + 2.5)
            self.assertGreater(el, HEADER_T * 0.5, "closed too early (%.2fs)" % el)

    def test_slowloris_trickle(self):
        # one header byte every 0.3 s must not extend the header deadline forever
        with self.conn(timeout=10) as c:
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            closed = False
            while time.monotonic() - t0 < HEADER_T + 3.5:
                try:
                    c.send(b"X")
                except OSError:
                    closed = True
                    break
                if not c.no_data_within(0.3):
                    closed = c.eof or c.wait_closed(1)
                    break
            self.assertTrue(closed, "trickling client kept alive past header_timeout")

    def test_idle_connection_without_request(self):
        with self.conn(timeout=10) as c:
            self._closed_within(c, max(HEADER_T, KEEPALIVE_T) + 2.5)

    def test_idle_keepalive_closed(self):
        with self.conn(timeout=10) as c:
            c.send(build_request("GET", "/a.txt"))
            r = c.read_response()
            self.assertStatus(r, 200)
            el = self._closed_within(c, KEEPALIVE_T + 2.5)
            self.assertGreater(el, KEEPALIVE_T * 0.5, "keep-alive closed too early (%.2fs)" % el)

    def test_keepalive_reused_before_timeout(self):
        with self.conn(timeout=10) as c:
            for _ in range(3):
                c.send(build_request("GET", "/a.txt"))
                self.assertStatus(c.read_response(), 200)
                time.sleep(KEEPALIVE_T * 0.4)

    def test_slow_reader_send_timeout(self):
        c = self.conn(timeout=10, rcvbuf=4096)
        try:
            c.send(build_request("GET", "/big64.bin"))
            time.sleep(0.5)
            # meanwhile another client is served normally
            t0 = time.monotonic()
            r = self.get("/a.txt")
            self.assertStatus(r, 200)
            self.assertLess(time.monotonic() - t0, 1.0, "server stalled by a non-reading client")
            time.sleep(SEND_T + 3)
            # now drain: the server must have given up, so we must hit EOF/RST
            # well before receiving the whole 64 MiB
            data, ended = c.read_until_close(timeout=5, limit=64 << 20)
            total = len(data)
            self.assertTrue(ended, "connection not closed after send_timeout (read %d bytes)" % total)
            self.assertLess(total, 64 << 20, "whole file delivered: the server never timed out")
        finally:
            c.close()
        self.assert_alive()
