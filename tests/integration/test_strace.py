"""Under load, the event-loop thread makes no syscall but io_uring_enter."""

import collections
import os
import re
import shutil
import signal
import subprocess
import time

from ringd_harness import Conn, RingdTestCase, build_request, run_threads

LINE_RE = re.compile(r"^(\d+)\s+(.*)$")


def syscall_name(rest):
    if rest.startswith("+++") or rest.startswith("---"):
        return None
    m = re.match(r"<\.\.\. (\w+) resumed>", rest)
    if m:
        return m.group(1)
    m = re.match(r"restart_syscall\(<\.\.\. resuming interrupted (\w+)", rest)
    if m:
        return m.group(1)
    m = re.match(r"(\w+)\(", rest)
    if m:
        return m.group(1)
    return "?" + rest[:40]


def tracer_pid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("TracerPid:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


class StraceTestBase(RingdTestCase):
    PER_TEST = True

    @classmethod
    def populate(cls, d):
        d.write("index.html", "<p>index</p>" * 10)
        d.write("app.js", b"x" * 5000)
        d.write("app.js.gz", b"gz" * 100)
        d.write_random("big.bin", 1 << 20)

    def setUp(self):
        if not shutil.which("strace"):
            self.skipTest("strace not installed")
        super().setUp()

    def attach(self, pids):
        # the port accepts as soon as listen() ran; let start-up finish
        # (no request: the first request's work is part of what we check)
        time.sleep(1.0)
        out = os.path.join(self.d.tmp, "strace.out")
        argv = ["strace", "-f", "-qq", "-o", out]
        for p in pids:
            argv += ["-p", str(p)]
        st = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if st.poll() is not None:
                err = st.stderr.read().decode(errors="replace")
                self.skipTest("strace cannot attach: %s" % err.strip()[:300])
            if all(tracer_pid(p) == st.pid for p in pids):
                break
            time.sleep(0.05)
        else:
            st.kill()
            st.wait()
            self.skipTest("strace did not attach within 5s")
        # give strace a moment to seize the other threads
        time.sleep(0.5)
        return st, out

    def detach(self, st):
        st.send_signal(signal.SIGINT)
        try:
            st.wait(10)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
        time.sleep(0.2)

    def load(self):
        port = self.port
        targets = ["/index.html", "/app.js", "/missing", "/", "/big.bin"]

        def keepalive_worker(i):
            n = 0
            with Conn(port, timeout=20) as c:
                for j in range(250):
                    t = targets[(i + j) % len(targets)]
                    hdrs = {"Accept-Encoding": "gzip"} if j % 7 == 0 else None
                    if j % 11 == 0:
                        hdrs = {"Range": "bytes=0-99"}
                    c.send(build_request("GET", t, hdrs))
                    r = c.read_response()
                    if r.status in (200, 206, 404):
                        n += 1
            return n

        def new_conns(k):
            n = 0
            for _ in range(k):
                with Conn(port, timeout=10) as c:
                    c.send(build_request("GET", "/index.html", {"Connection": "close"}))
                    if c.read_response().status == 200:
                        n += 1
            return n

        problems = []
        res = run_threads(keepalive_worker, [(i,) for i in range(8)], timeout=90)
        for r, e in res:
            if e is not None or r != 250:
                problems.append("keep-alive client: %r %r" % (r, e))
        res = run_threads(new_conns, [(25,)] * 4, timeout=60)
        for r, e in res:
            if e is not None or r != 25:
                problems.append("new-connection client: %r %r" % (r, e))
        if shutil.which("wrk"):
            p = subprocess.run(["wrk", "-t2", "-c8", "-d3s", "http://127.0.0.1:%d/index.html" % port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            if p.returncode != 0:
                problems.append("wrk: " + p.stdout.decode(errors="replace"))
        return problems

    def trace(self, pids):
        st, out = self.attach(pids)
        try:
            self.load_problems = self.load()
        finally:
            self.detach(st)
        self.assertTrue(self.d.alive(), "daemon died under strace: %s" % self.d.stderr()[-2000:])
        per_tid = collections.defaultdict(collections.Counter)
        self.samples = collections.defaultdict(list)
        pending = {}
        with open(out, errors="replace") as f:
            for ln in f:
                m = LINE_RE.match(ln.rstrip("\n"))
                if not m:
                    continue
                name = syscall_name(m.group(2))
                tid = int(m.group(1))
                if name is not None and m.group(2).startswith("<..."):
                    if pending.pop(tid, None) == name:
                        continue  # second half of an "<unfinished ...>" call
                elif name is not None and m.group(2).endswith("<unfinished ...>"):
                    pending[tid] = name
                if name is not None:
                    per_tid[tid][name] += 1
                    if name != "io_uring_enter" and len(self.samples[tid]) < 15:
                        self.samples[tid].append(m.group(2)[:160])
        return per_tid

    def sample_text(self, tids):
        return "\n".join("  %d: %s" % (t, l) for t in tids for l in self.samples.get(t, []))

    def describe(self, per_tid):
        return "; ".join("tid %d: %s" % (t, dict(c.most_common(12))) for t, c in per_tid.items())


class StraceMainThreadTests(StraceTestBase):
    CONFIG = {"server": {"workers": "1"}}

    def test_main_thread_only_io_uring_enter(self):
        per_tid = self.trace([self.d.proc.pid])
        self.assertTrue(any(c["io_uring_enter"] for c in per_tid.values()),
                        "no io_uring_enter seen at all: %s" % self.describe(per_tid))
        main = per_tid.get(self.d.proc.pid, collections.Counter())
        other = {k: v for k, v in main.items() if k != "io_uring_enter"}
        self.assertEqual(other, {}, "main thread made syscalls other than io_uring_enter "
                         "(counts): %s\nall threads: %s\nfirst offending lines:\n%s"
                         % (other, self.describe(per_tid), self.sample_text([self.d.proc.pid])))
        self.assertEqual(self.load_problems, [], "requests failed during the strace load")


class StraceWorkersTests(StraceTestBase):
    """workers=2: the daemon forks worker processes; each worker's main
    thread must use nothing but io_uring_enter."""
    CONFIG = {"server": {"workers": "2"}}

    def children(self):
        kids = set()
        task_dir = "/proc/%d/task" % self.d.proc.pid
        for t in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, t, "children")) as f:
                    kids.update(int(x) for x in f.read().split())
            except OSError:
                pass
        return sorted(kids)

    def test_worker_main_threads_only_io_uring_enter(self):
        # The port accepts (backlog) before the supervisor has forked: wait for them.
        deadline = time.monotonic() + 3
        kids = self.children()
        while len(kids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = self.children()
        if not kids:
            # in-process workers (threads): fall back to the main process
            kids = [self.d.proc.pid]
        per_tid = self.trace(kids)
        self.assertTrue(any(per_tid[k]["io_uring_enter"] for k in kids),
                        "no worker used io_uring_enter: %s" % self.describe(per_tid))
        bad = {k: {n: v for n, v in per_tid[k].items() if n != "io_uring_enter"} for k in kids}
        bad = {k: v for k, v in bad.items() if v}
        self.assertEqual(bad, {}, "worker main threads made other syscalls: %s\n"
                         "first offending lines:\n%s" % (bad, self.sample_text(kids)))
        self.assertEqual(self.load_problems, [], "requests failed during the strace load")
