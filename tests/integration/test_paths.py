"""Path decoding, traversal, dotfiles, symlink policies, special files.
Nothing outside the docroot may ever be served (except symlinks=follow)."""

import os
import time

from ringd_harness import RingdTestCase, build_request

SECRET = b"TOP-SECRET-7f3a9c1e-do-not-serve\n"
B_TXT = b"b file inside root\n"

# Targets that must never yield the secret (under within-root and deny).
ESCAPES = [
    "/../secret.txt", "/../../secret.txt", "/..", "/../", "/sub/../../secret.txt",
    "/./../secret.txt", "//../secret.txt", "/sub/./../../secret.txt",
    "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt",
    "/..%2Fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/sub\\..\\..\\secret.txt",
    "/%c0%ae%c0%ae/secret.txt", "/%c0%2e%c0%2e/secret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%252e%252e/secret.txt", "/..%00/secret.txt", "/..;/secret.txt",
    "http://localhost/../secret.txt", "http://localhost/%2e%2e/secret.txt",
    "/out_rel", "/out_abs", "/out_up/secret.txt", "/out_up/root/../secret.txt",
    "/out_chain1", "/sub/hop", "/out_prefix", "/sub/up2/secret.txt", "/out_dir/secret2.txt",
    "/sub/up2/root-evil/secret2.txt", "/in_dir_link/../../secret.txt",
    "/out_up", "/out_up/", "/secret.txt", "/root-evil/secret2.txt",
]


def make_tree(d):
    tmp = d.tmp
    with open(os.path.join(tmp, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.mkdir(os.path.join(tmp, "root-evil"))
    with open(os.path.join(tmp, "root-evil", "secret2.txt"), "wb") as f:
        f.write(SECRET)
    d.write("index.html", "<p>index</p>")
    d.write("b.txt", B_TXT)
    d.write("sub/x.txt", b"x in sub\n")
    d.write("hello.txt", b"hello\n")
    d.write("%41.txt", b"literal percent name\n")
    d.write("%2e%2e/y.txt", b"literal dotdot name\n")
    d.write(".hidden", b"hidden\n")
    d.write("sub/.git/config", b"[core]\n")
    d.write(".well-known/acme.txt", b"well known\n")
    d.write("sub/.well-known/x.txt", b"nested well known\n")
    r = d.root
    os.symlink("b.txt", os.path.join(r, "in_link.txt"))
    os.symlink(os.path.join(r, "b.txt"), os.path.join(r, "in_link_abs.txt"))
    os.symlink("sub", os.path.join(r, "in_dir_link"))
    os.symlink("in_link.txt", os.path.join(r, "chain_in"))
    os.symlink("../b.txt", os.path.join(r, "sub", "in_up_link.txt"))
    os.symlink("../secret.txt", os.path.join(r, "out_rel"))
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(r, "out_abs"))
    os.symlink("..", os.path.join(r, "out_up"))
    os.symlink("out_chain2", os.path.join(r, "out_chain1"))
    os.symlink("../secret.txt", os.path.join(r, "out_chain2"))
    os.symlink("../out_rel", os.path.join(r, "sub", "hop"))
    os.symlink("../root-evil/secret2.txt", os.path.join(r, "out_prefix"))
    os.symlink("../root-evil", os.path.join(r, "out_dir"))
    os.symlink("../..", os.path.join(r, "sub", "up2"))
    os.symlink("does-not-exist", os.path.join(r, "dangling"))


class PathTests(RingdTestCase):
    @classmethod
    def populate(cls, d):
        make_tree(d)
        os.mkfifo(d.path("fifo"))
        d.write("unreadable.txt", b"no perms\n")
        os.chmod(d.path("unreadable.txt"), 0)

    def _never_secret(self, target):
        with self.conn() as c:
            c.send(build_request("GET", target))
            try:
                r = c.read_response()
            except Exception:
                return None
        self.assertNotIn(b"TOP-SECRET", r.body or b"", "secret served for %r: %r" % (target, r))
        self.assertNotEqual(r.status, 200, "200 for escape attempt %r: %r" % (target, r))
        return r

    def test_no_escape_ever(self):
        for t in ESCAPES:
            with self.subTest(target=t):
                self._never_secret(t)
        self.assert_alive()

    def test_dotdot_above_root_400(self):
        for t in ("/../secret.txt", "/sub/../../secret.txt", "/..", "/%2e%2e/secret.txt",
                  "/%2E%2E/secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/.%2e/secret.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)

    def test_dotdot_inside_root_ok(self):
        r = self.get("/sub/../b.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, B_TXT)
        r = self.get("/sub/%2e%2e/b.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, B_TXT)

    def test_encoded_slash_400(self):
        for t in ("/sub%2fx.txt", "/sub%2Fx.txt", "/%2fb.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)

    def test_backslash_400(self):
        for t in ("/sub\\x.txt", "/sub%5cx.txt", "/sub%5Cx.txt", "/\\b.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)

    def test_nul_400(self):
        for t in ("/b.txt%00", "/b.txt%00.html", "/%00"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)

    def test_invalid_utf8_400(self):
        for t in ("/%c0%ae%c0%ae/b.txt", "/%C0%AE", "/%e0%80%ae", "/caf%e9.txt", "/%ff.txt",
                  "/%c3.txt", "/%ed%a0%80.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)

    def test_double_encoded_is_literal(self):
        r = self.get("/%252e%252e/secret.txt")
        self.assertStatus(r, 404)
        r = self.get("/%252e%252e/y.txt")
        self.assertStatus(r, 200, "literal directory named %2e%2e")
        self.assertEqual(r.body, b"literal dotdot name\n")
        r = self.get("/%2541.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"literal percent name\n")

    # -- dotfiles (default deny) --
    def test_dotfile_403(self):
        for t in ("/.hidden", "/sub/.git/config", "/sub/.git/", "/%2ehidden", "/sub/.well-known/x.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 403)

    def test_well_known_allowed(self):
        r = self.get("/.well-known/acme.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"well known\n")

    # -- symlinks (default within-root) --
    def test_symlink_inside_served(self):
        for t in ("/in_link.txt", "/chain_in", "/sub/in_up_link.txt"):
            with self.subTest(target=t):
                r = self.get(t)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, B_TXT)
        r = self.get("/in_dir_link/x.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"x in sub\n")

    def test_absolute_symlink_refused(self):
        # Documented decision: within-root is enforced by the kernel (openat2
        # RESOLVE_BENEATH), which refuses every absolute symlink, even one whose
        # target happens to lie inside the root. Relative links inside work.
        r = self.get("/in_link_abs.txt")
        self.assertStatus(r, 403, "absolute symlink under within-root")

    def test_symlink_outside_403(self):
        for t in ("/out_rel", "/out_abs", "/out_chain1", "/sub/hop", "/out_prefix",
                  "/out_up/secret.txt", "/out_dir/secret2.txt", "/sub/up2/secret.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 403)

    def test_dangling_symlink_404(self):
        r = self.get("/dangling")
        self.assertIn(r.status, (403, 404), "dangling symlink: %r" % r)

    # -- special files --
    def test_fifo_403_no_hang(self):
        t0 = time.monotonic()
        r = self.get("/fifo", timeout=4)
        self.assertStatus(r, 403)
        self.assertLess(time.monotonic() - t0, 3)
        self.assert_alive()

    def test_unreadable_403(self):
        # Started as root, ringd drops to www-data (the default [server] user), so
        # file permissions apply to it even when the suite runs as root.
        self.assertStatus(self.get("/unreadable.txt"), 403)


class SymlinkDenyTests(RingdTestCase):
    CONFIG = {"http": {"symlinks": "deny"}}

    @classmethod
    def populate(cls, d):
        make_tree(d)

    def test_regular_file_ok(self):
        r = self.get("/b.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, B_TXT)

    def test_every_symlink_403(self):
        for t in ("/in_link.txt", "/in_link_abs.txt", "/chain_in", "/in_dir_link/x.txt",
                  "/sub/in_up_link.txt", "/out_rel", "/out_abs", "/out_up/secret.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 403)

    def test_no_escape_ever(self):
        for t in ESCAPES:
            with self.subTest(target=t):
                r = self.get(t)
                self.assertNotIn(b"TOP-SECRET", r.body)
                self.assertNotEqual(r.status, 200, "%r: %r" % (t, r))


class SymlinkFollowTests(RingdTestCase):
    CONFIG = {"http": {"symlinks": "follow"}}

    @classmethod
    def populate(cls, d):
        make_tree(d)

    def test_outside_symlink_served(self):
        for t in ("/out_rel", "/out_abs", "/out_chain1", "/out_up/secret.txt"):
            with self.subTest(target=t):
                r = self.get(t)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, SECRET)

    def test_inside_symlink_served(self):
        r = self.get("/in_link.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, B_TXT)

    def test_dotdot_still_400(self):
        for t in ("/../secret.txt", "/%2e%2e/secret.txt"):
            with self.subTest(target=t):
                self.assertStatus(self.get(t), 400)


class DotfilesAllowTests(RingdTestCase):
    CONFIG = {"http": {"dotfiles": "allow"}}

    @classmethod
    def populate(cls, d):
        make_tree(d)

    def test_dotfiles_served(self):
        for t, body in (("/.hidden", b"hidden\n"), ("/sub/.git/config", b"[core]\n"),
                        ("/.well-known/acme.txt", b"well known\n")):
            with self.subTest(target=t):
                r = self.get(t)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, body)

    def test_dotdot_still_400(self):
        self.assertStatus(self.get("/../secret.txt"), 400)
