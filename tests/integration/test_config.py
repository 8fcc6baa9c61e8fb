"""Command line and configuration: -V, -h, bad options, -t, config errors,
-o/-r/-l overrides, multiple listen addresses."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from ringd_harness import BINARY, Conn, Daemon, build_request, free_port, ipv6_available


def run(args, timeout=10):
    return subprocess.run([BINARY] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


class CliTests(unittest.TestCase):
    def setUp(self):
        if not BINARY or not os.path.exists(BINARY):
            self.skipTest("ringd binary not found")
        self.tmp = tempfile.mkdtemp(prefix="ringd-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.root)
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("<p>cli</p>")

    def conf(self, text, name="x.ini"):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def good_conf(self, port=None, extra=""):
        port = port or free_port()
        return self.conf("[server]\nlisten = 127.0.0.1:%d\nroot = %s\n%s" % (port, self.root, extra))

    def assertConfigError(self, p, path, line, key, args=None):
        err = p.stderr.decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, "expected failure, stderr=%r" % err)
        pat = r"(?m)%s:%d: %s: \S" % (re.escape(path), line, re.escape(key))
        pat_base = r"(?m)%s:%d: %s: \S" % (re.escape(os.path.basename(path)), line, re.escape(key))
        self.assertTrue(re.search(pat, err) or re.search(pat_base, err),
                        "expected 'FILE:%d: %s: problem' on stderr, got %r" % (line, key, err))

    # -- -V / -h / bad option --
    def test_version(self):
        p = run(["-V"])
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.decode().startswith("ringd "), "got %r" % p.stdout)
        self.assertIn("0.1.0", p.stdout.decode())

    def test_help(self):
        p = run(["-h"])
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        self.assertRegex(out, r"(?i)usage", "usage not on stdout: %r" % out)
        for opt in ("-c", "-r", "-l", "-o", "-t", "-V", "-h"):
            self.assertIn(opt, out, "usage does not mention " + opt)

    def test_bad_option(self):
        p = run(["-Z"])
        self.assertEqual(p.returncode, 2, "bad option exit status")
        self.assertRegex(p.stderr.decode(), r"(?i)usage")
        self.assertEqual(p.stdout, b"")

    def test_missing_option_argument(self):
        p = run(["-c"])
        self.assertEqual(p.returncode, 2)

    # -- -t --
    def test_check_good(self):
        p = run(["-c", self.good_conf(), "-t"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().strip(), "ok")

    def test_check_full_config(self):
        port = free_port()
        c = self.conf("""; comment
[server]
listen = 127.0.0.1:%d
root = %s
index = index.html
workers = 1
max_connections = 100
shutdown_timeout = 5
batch_wait = 500

[http]
keepalive_timeout = 60
header_timeout = 15
send_timeout = 60
max_header_bytes = 8192
dotfiles = deny
symlinks = within-root
precompressed = br, zstd, gzip
cache_control = public, max-age=60
body = splice

[log]
access = off
format = json
error = stderr
level = info
""" % (port, self.root))
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().strip(), "ok")

    def test_check_unknown_key(self):
        c = self.good_conf(extra="bogus = 1\n")
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 1)
        self.assertConfigError(p, c, 4, "bogus")

    def test_check_unknown_section_key(self):
        c = self.conf("[server]\nroot = %s\n[nosuch]\nkey = 1\n" % self.root)
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 1)
        # reported at the section header (line 3) or at its first key (line 4)
        self.assertRegex(p.stderr.decode(), r"x\.ini:(3: \[?nosuch\]?|4: key): \S")

    def test_check_bad_port(self):
        c = self.conf("[server]\nlisten = 127.0.0.1:99999\nroot = %s\n" % self.root)
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 1)
        self.assertConfigError(p, c, 2, "listen")
        self.assertIn("range", p.stderr.decode())

    def test_check_bad_values(self):
        for line, key, val in (("http", "dotfiles", "maybe"), ("http", "symlinks", "sometimes"),
                               ("http", "body", "sendfile"), ("http", "keepalive_timeout", "abc"),
                               ("http", "max_header_bytes", "-5"), ("log", "format", "xml"),
                               ("log", "level", "chatty"), ("server", "workers", "many"),
                               ("http", "precompressed", "lzma")):
            with self.subTest(key=key, value=val):
                c = self.conf("[server]\nroot = %s\nlisten = 127.0.0.1:%d\n[%s]\n%s = %s\n"
                              % (self.root, free_port(), line, key, val))
                p = run(["-c", c, "-t"])
                self.assertEqual(p.returncode, 1, "%s = %s accepted" % (key, val))
                self.assertConfigError(p, c, 5, key)

    def test_check_nonexistent_root(self):
        c = self.conf("[server]\nlisten = 127.0.0.1:%d\nroot = %s/nope\n" % (free_port(), self.tmp))
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 1)
        self.assertNotEqual(p.stderr, b"")
        self.assertNotIn(b"ok", p.stdout)

    def test_check_root_is_file(self):
        f = os.path.join(self.root, "index.html")
        c = self.conf("[server]\nlisten = 127.0.0.1:%d\nroot = %s\n" % (free_port(), f))
        p = run(["-c", c, "-t"])
        self.assertEqual(p.returncode, 1, "root that is a file accepted")

    def test_check_listen_in_use(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            p = run(["-c", self.good_conf(port=s.getsockname()[1]), "-t"])
            self.assertEqual(p.returncode, 1, "-t did not detect an address in use")
            self.assertNotEqual(p.stderr, b"")
        finally:
            s.close()

    def test_check_bad_override(self):
        p = run(["-c", self.good_conf(), "-o", "http.bogus=1", "-t"])
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"-o http\.bogus: \S")

    def test_check_bad_override_value(self):
        p = run(["-c", self.good_conf(), "-o", "http.dotfiles=maybe", "-t"])
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"-o http\.dotfiles: \S")

    def test_check_malformed_override(self):
        for arg in ("nodot=1", "http.dotfiles", "=x"):
            with self.subTest(arg=arg):
                p = run(["-c", self.good_conf(), "-o", arg, "-t"])
                self.assertNotEqual(p.returncode, 0, "-o %r accepted" % arg)
                self.assertNotEqual(p.stderr, b"")

    def test_check_r_overrides_bad_root(self):
        c = self.conf("[server]\nlisten = 127.0.0.1:%d\nroot = %s/nope\n" % (free_port(), self.tmp))
        p = run(["-c", c, "-r", self.root, "-t"])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_explicit_missing_config_file(self):
        p = run(["-c", os.path.join(self.tmp, "missing.ini"), "-t"])
        self.assertNotEqual(p.returncode, 0)
        self.assertNotEqual(p.stderr, b"")

    # -- start-up failures --
    def _start_fails(self, conf_text, line, key, extra=()):
        c = self.conf(conf_text)
        t0 = time.monotonic()
        try:
            p = run(["-c", c] + list(extra), timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("ringd kept running with a bad config")
        self.assertLess(time.monotonic() - t0, 3)
        self.assertConfigError(p, c, line, key)

    def test_start_bad_port(self):
        self._start_fails("[server]\nlisten = 127.0.0.1:99999\nroot = %s\n" % self.root, 2, "listen")

    def test_start_unknown_key(self):
        self._start_fails("[server]\nroot = %s\nlisten = 127.0.0.1:%d\nfrobnicate = yes\n"
                          % (self.root, free_port()), 4, "frobnicate")

    def test_start_bad_value(self):
        self._start_fails("[server]\nroot = %s\nlisten = 127.0.0.1:%d\n[http]\nsymlinks = maybe\n"
                          % (self.root, free_port()), 5, "symlinks")

    def test_start_bad_listen_syntax(self):
        for v in ("localhost", "127.0.0.1", "1.2.3.4.5:80", "[::1:80", "127.0.0.1:-1",
                  "127.0.0.1:abc"):
            with self.subTest(listen=v):
                self._start_fails("[server]\nroot = %s\nlisten = %s\n" % (self.root, v), 3, "listen")

    def test_start_address_in_use(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            c = self.good_conf(port=s.getsockname()[1])
            p = run(["-c", c], timeout=5)
            self.assertNotEqual(p.returncode, 0)
            self.assertNotEqual(p.stderr, b"")
        finally:
            s.close()

    def test_default_config_absent_uses_defaults(self):
        if os.path.exists("/etc/ringd/ringd.ini"):
            self.skipTest("/etc/ringd/ringd.ini exists")
        port = free_port()
        p = run(["-r", self.root, "-l", "127.0.0.1:%d" % port, "-t"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().strip(), "ok")


class OverrideTests(unittest.TestCase):
    """-o, -r and -l on a running daemon."""

    def setUp(self):
        if not BINARY or not os.path.exists(BINARY):
            self.skipTest("ringd binary not found")

    def start(self, d):
        self.addCleanup(d.cleanup)
        d.start()
        self.addCleanup(lambda: self.assertEqual(d.stop(), 0, "exit status after SIGTERM"))
        return d

    def test_o_overrides_config(self):
        d = Daemon(config={"http": {"cache_control": "no-store"}},
                   extra_args=["-o", "http.cache_control=max-age=5"])
        d.write("index.html", "x")
        self.start(d)
        with Conn(d.port) as c:
            c.send(build_request("GET", "/"))
            r = c.read_response()
        self.assertEqual(r.header("Cache-Control"), "max-age=5")

    def test_o_dotfiles(self):
        d = Daemon(extra_args=["-o", "http.dotfiles=allow"])
        d.write(".env", "dot")
        d.write("index.html", "x")
        self.start(d)
        with Conn(d.port) as c:
            c.send(build_request("GET", "/.env"))
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"dot")

    def test_r_overrides_root(self):
        d = Daemon()
        d.write("index.html", "config root")
        other = os.path.join(d.tmp, "other")
        os.mkdir(other)
        with open(os.path.join(other, "index.html"), "w") as f:
            f.write("dash-r root")
        d.extra_args = ["-r", other]
        self.start(d)
        with Conn(d.port) as c:
            c.send(build_request("GET", "/"))
            r = c.read_response()
        self.assertEqual(r.body, b"dash-r root")

    def test_l_replaces_config_listen(self):
        d = Daemon()
        d.write("index.html", "x")
        p2 = free_port()
        d.extra_args = ["-l", "127.0.0.1:%d" % p2]
        config_port = d.port
        d.port = p2
        self.start(d)
        with Conn(p2) as c:
            c.send(build_request("GET", "/"))
            self.assertEqual(c.read_response().status, 200)
        with self.assertRaises(ConnectionRefusedError, msg="config listen should be replaced by -l"):
            Conn(config_port).close()

    def test_multiple_listen_v4_v6(self):
        if not ipv6_available():
            self.skipTest("::1 not available")
        d = Daemon()
        d.write("index.html", "multi")
        p1, p2 = d.port, free_port(socket.AF_INET6, "::1")
        d.extra_args = ["-l", "127.0.0.1:%d" % p1, "-l", "[::1]:%d" % p2]
        self.start(d)
        d.wait_ready(port=p2, host="::1")
        for host, port in (("127.0.0.1", p1), ("::1", p2)):
            with self.subTest(host=host):
                with Conn(port, host=host) as c:
                    c.send(build_request("GET", "/"))
                    r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, b"multi")

    def test_multiple_listen_v4(self):
        d = Daemon()
        d.write("index.html", "multi4")
        p1, p2 = d.port, free_port()
        d.extra_args = ["-l", "127.0.0.1:%d" % p1, "-l", "127.0.0.1:%d" % p2]
        self.start(d)
        d.wait_ready(port=p2)
        for port in (p1, p2):
            with Conn(port) as c:
                c.send(build_request("GET", "/"))
                self.assertEqual(c.read_response().body, b"multi4")

    def test_wildcard_listen(self):
        d = Daemon()
        d.write("index.html", "wild")
        d.extra_args = ["-l", "*:%d" % d.port]
        self.start(d)
        hosts = ["127.0.0.1"] + (["::1"] if ipv6_available() else [])
        for host in hosts:
            with self.subTest(host=host):
                with Conn(d.port, host=host) as c:
                    c.send(build_request("GET", "/"))
                    self.assertEqual(c.read_response().body, b"wild")

    def test_workers_1_and_2(self):
        for w in ("1", "2"):
            with self.subTest(workers=w):
                d = Daemon(config={"server": {"workers": w}})
                d.write("index.html", "w" + w)
                d.start()
                try:
                    for _ in range(10):
                        with Conn(d.port) as c:
                            c.send(build_request("GET", "/"))
                            self.assertEqual(c.read_response().body, ("w" + w).encode())
                finally:
                    rc = d.stop()
                    d.cleanup()
                self.assertEqual(rc, 0)

    def test_max_header_bytes_override(self):
        d = Daemon(extra_args=["-o", "http.max_header_bytes=1024"])
        d.write("index.html", "x")
        self.start(d)
        with Conn(d.port) as c:
            c.send(build_request("GET", "/", [("X-Pad", "a" * 1500)]))
            self.assertEqual(c.read_response().status, 431)
        with Conn(d.port) as c:
            c.send(build_request("GET", "/", [("X-Pad", "a" * 500)]))
            self.assertEqual(c.read_response().status, 200)
