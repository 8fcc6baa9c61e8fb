"""Graceful shutdown: SIGTERM/SIGINT finish in-flight responses, refuse new
connections, exit 0."""

import hashlib
import signal
import socket
import time

from ringd_harness import Conn, RingdTestCase, build_request


class SignalTests(RingdTestCase):
    PER_TEST = True
    CONFIG = {"server": {"shutdown_timeout": "30"}}

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>")
        cls.sha64 = d.write_random("big64.bin", 64 << 20)

    def _refused_soon(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except ConnectionRefusedError:
                return True
            except OSError:
                return True
            s.close()
            time.sleep(0.1)
        return False

    def _download_during_signal(self, sig):
        c = Conn(self.port, timeout=30)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        c.send(build_request("GET", "/big64.bin"))
        h = hashlib.sha256()
        # read the head and ~4 MiB slowly, then signal
        while b"\r\n\r\n" not in c.buf:
            self.assertTrue(c._fill(), "closed before head")
        head, rest = c.buf.split(b"\r\n\r\n", 1)
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        got = len(rest)
        h.update(rest)
        while got < (4 << 20):
            chunk = c.sock.recv(256 * 1024)
            self.assertTrue(chunk, "closed early")
            h.update(chunk)
            got += len(chunk)
            time.sleep(0.005)
        self.d.signal(sig)
        self.assertTrue(self._refused_soon(), "new connections still accepted after signal")
        total = 64 << 20
        while got < total:
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        c.close()
        self.assertEqual(got, total, "download cut short by shutdown: %d of %d" % (got, total))
        self.assertEqual(h.hexdigest(), self.sha64, "download corrupted during shutdown")
        rc = self.d.wait(10)
        self.assertEqual(rc, 0, "exit status after %s (None = still running)" % sig.name)

    def test_sigterm_during_download(self):
        self._download_during_signal(signal.SIGTERM)

    def test_sigint_during_download(self):
        self._download_during_signal(signal.SIGINT)

    def test_sigterm_idle_exits_fast(self):
        t0 = time.monotonic()
        self.d.signal(signal.SIGTERM)
        rc = self.d.wait(5)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 2.5, "idle shutdown slow")

    def test_sigint_idle(self):
        self.d.signal(signal.SIGINT)
        self.assertEqual(self.d.wait(5), 0)

    def test_idle_keepalive_does_not_block_shutdown(self):
        with Conn(self.port) as c:
            c.send(build_request("GET", "/"))
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            self.d.signal(signal.SIGTERM)
            rc = self.d.wait(8)
            self.assertEqual(rc, 0, "daemon did not exit with an idle keep-alive connection open")
            self.assertLess(time.monotonic() - t0, 5)
            self.assertTrue(c.wait_closed(2), "idle connection not closed on shutdown")

    def test_client_reset_does_not_kill(self):
        # SIGPIPE must be ignored (clients disappearing). Not sent by us
        # directly: abort a download with RST and check the daemon lives.
        c = Conn(self.port, timeout=10)
        c.send(build_request("GET", "/big64.bin"))
        c.sock.recv(65536)
        c.reset()
        time.sleep(0.3)
        self.assertTrue(self.d.alive(), "daemon died after a client reset")
