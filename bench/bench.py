#!/usr/bin/env python3
"""ringd benchmark harness: ringd against nginx, lighttpd and h2o on loopback.

Run it through bench/run (see bench/README.md). Python 3 stdlib; matplotlib
only for the PNG chart (skipped with a warning when it is missing).

All load goes to 127.0.0.1. Every server is pinned to CPU 0, every load
generator to CPU 1. Each external command has a timeout, every loop a bound.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = "0"
LOAD_CPU = "1"
SERVERS = ["ringd", "nginx", "lighttpd", "h2o"]
PEERS = ["nginx", "lighttpd", "h2o"]
PEER_PACKAGES = {"nginx": "nginx-light", "lighttpd": "lighttpd", "h2o": "h2o"}
TOOL_PACKAGES = {"wrk": "wrk", "curl": "curl", "strace": "strace", "taskset": "util-linux",
                 "meson": "meson", "ninja": "ninja-build", "pkg-config": "pkg-config",
                 "cc": "gcc"}
LIB_PACKAGES = ["liburing-dev", "libinih-dev", "python3-matplotlib"]
GIB = 1 << 30

# (key, label, unit, better) -- better: "high" or "low"; chart: include in PNG
MEASURES = [
    ("rps_4k", "4 KiB: req/s", "req/s", "high", True),
    ("p99_4k", "4 KiB: p99 latency", "ms", "low", True),
    ("cpu_4k", "4 KiB: server CPU per request", "us/req", "low", True),
    ("rps_64k", "64 KiB: req/s", "req/s", "high", True),
    ("p99_64k", "64 KiB: p99 latency", "ms", "low", True),
    ("cpu_64k", "64 KiB: server CPU per request", "us/req", "low", True),
    ("rps_pipe", "4 KiB pipelined x16: req/s", "req/s", "high", True),
    ("cpu_pipe", "4 KiB pipelined x16: server CPU per request", "us/req", "low", True),
    ("sys_all", "syscalls per request (all)", "calls/req", "low", True),
    ("sys_nonuring", "syscalls per request (excl. io_uring_enter)", "calls/req", "low", True),
    ("large_mbs", "large file, 4 parallel curl: throughput", "MB/s", "high", True),
    ("large_cpu", "large file: server CPU per GiB sent", "s/GiB", "low", True),
    ("large_sys", "large file: both CPUs' busy time per GiB (server, client, kernel)", "s/GiB", "low", True),
    ("idle_bytes", "idle keep-alive conns: RSS per conn", "bytes", "low", True),
    ("idle_ok", "idle keep-alive conns: answered and held", "conns", "high", False),
]

# chart labels
SHORT = {"rps_4k": "4K req/s", "p99_4k": "4K p99", "cpu_4k": "4K CPU/req",
         "rps_64k": "64K req/s", "p99_64k": "64K p99", "cpu_64k": "64K CPU/req",
         "rps_pipe": "pipelined req/s", "cpu_pipe": "pipelined CPU/req",
         "sys_all": "syscalls/req", "sys_nonuring": "syscalls/req excl. io_uring_enter",
         "large_mbs": "large file MB/s", "large_cpu": "large file CPU/GiB",
         "large_sys": "large file machine CPU/GiB",
         "idle_bytes": "RSS per idle conn"}

T0 = time.monotonic()


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def run(cmd, timeout, **kw):
    """Run a command to completion (bounded), return CompletedProcess."""
    return subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


# ---------------------------------------------------------------- /proc

def tree_pids(root):
    """root and all its descendants (processes, not threads)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, i = [root], 0
    while i < len(out) and i < 10000:
        out += children.get(out[i], [])
        i += 1
    return out


def cpu_ticks(pids):
    """utime+stime (clock ticks) summed over processes (all their threads)."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14, 15 of stat
    return total


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        total += int(ln.split()[1]) * 1024
        except OSError:
            continue
    return total


def proc_stat_cpu():
    """The first line of /proc/stat (all CPUs), as clock ticks: user, nice,
    system, idle, iowait, irq, softirq, steal, ..."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def machine_busy_ticks():
    """Busy clock ticks of all CPUs together (/proc/stat: user, nice, system, irq,
    softirq). Kernel work a server causes can run in another process's context: on
    loopback, the client's recv sends an ACK whose processing (in softirq, on the
    client's CPU) transmits the server's queued data, charged to the client. The
    whole machine's time per GiB sees that; the server's own utime+stime does not."""
    v = proc_stat_cpu()
    return v[0] + v[1] + v[2] + v[5] + v[6]


def busy_fraction(seconds=1.0):
    """Share of all CPUs busy during `seconds` (a background-noise check)."""
    def snap():
        v = proc_stat_cpu()
        idle = v[3] + v[4]
        return sum(v), idle
    a = snap()
    time.sleep(seconds)
    b = snap()
    tot = b[0] - a[0]
    return 0.0 if tot <= 0 else 1.0 - (b[1] - a[1]) / tot


def nofile_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# ---------------------------------------------------------------- installing

def have(cmd):
    return shutil.which(cmd) is not None


def install_packages(pkgs):
    pkgs = sorted(set(pkgs))
    if not pkgs:
        return
    log("installing from Debian: " + " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Keep the packages' own services (port 80 etc.) from starting.
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        made_policy = True
    try:
        r = run(["apt-get", "update", "-qq"], 300, env=env)
        if r.returncode:
            log("apt-get update failed:\n" + r.stdout[-2000:])
        r = run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + pkgs, 600, env=env)
        if r.returncode:
            log("apt-get install failed:\n" + r.stdout[-3000:])
    finally:
        if made_policy:
            os.unlink(policy)


def python_has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def ensure_installed(install):
    missing = []
    for cmd, pkg in TOOL_PACKAGES.items():
        if not have(cmd):
            missing.append(pkg)
    for peer, pkg in PEER_PACKAGES.items():
        if not have(peer):
            missing.append(pkg)
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n"] + LIB_PACKAGES,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=30)
    ok = {ln.split()[0] for ln in r.stdout.splitlines() if "install ok installed" in ln}
    missing += [p for p in LIB_PACKAGES if p not in ok]
    if missing and install:
        install_packages(missing)
    elif missing:
        log("not installed (use --install-peers to install): " + " ".join(sorted(set(missing))))


# ---------------------------------------------------------------- servers

def http_get_ok(port, path, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                       % path).encode())
            data = b""
            deadline = time.monotonic() + timeout
            while len(data) < 64 and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def render(template, dest, values):
    with open(os.path.join(BENCH, "peers", template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    left = set(re.findall(r"@[A-Z_]+@", text))
    if left:
        raise RuntimeError("unfilled template vars in %s: %s" % (template, left))
    with open(dest, "w") as f:
        f.write(text)
    return dest


def version_of(name, binary):
    try:
        out = run([binary, "-v"], 10).stdout  # nginx, lighttpd, h2o alike
    except Exception:  # noqa: BLE001
        return "?"
    line = out.strip().splitlines()[0] if out.strip() else "?"
    return line[:80]


class Server:
    def __init__(self, name, port, cmd, rundir, fallback_cmd=None):
        self.name = name
        self.port = port
        self.cmd = cmd
        self.fallback_cmd = fallback_cmd
        self.rundir = rundir
        self.proc = None
        self.logpath = os.path.join(rundir, name + ".out")
        self.used_cmd = None

    def _spawn(self, cmd, nofile):
        def pre():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        logf = open(self.logpath, "ab")
        logf.write(("\n$ %s\n" % shlex.join(cmd)).encode())
        logf.flush()
        self.proc = subprocess.Popen(cmd, cwd=self.rundir, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, preexec_fn=pre,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if http_get_ok(self.port, "/4k.bin"):
                self.used_cmd = cmd
                return True
            time.sleep(0.1)
        self.stop()
        return False

    def start(self, nofile):
        if not port_free(self.port):
            raise RuntimeError("port %d on 127.0.0.1 is in use" % self.port)
        if self._spawn(self.cmd, nofile):
            return
        if self.fallback_cmd:
            log("%s: did not start with %s; retrying with the plain command line"
                % (self.name, shlex.join(self.cmd)))
            self.stop()
            if self._spawn(self.fallback_cmd, nofile):
                return
        tail = ""
        try:
            with open(self.logpath, errors="replace") as f:
                tail = f.read()[-1500:]
        except OSError:
            pass
        status = (self.exit_status() if self.proc else None) or "no answer in 10 s"
        self.stop()
        log("%s output:\n%s" % (self.name, tail))
        lines = [ln.strip() for ln in tail.splitlines()
                 if ln.strip() and not ln.startswith("$ ")]
        raise RuntimeError("%s did not come up on port %d (%s): %s"
                           % (self.name, self.port, status,
                              lines[-1] if lines else "no output"))

    def pids(self):
        return tree_pids(self.proc.pid)

    def exit_status(self):
        """None while running, else e.g. 'exit 0' or 'signal SIGSEGV'."""
        if self.proc is None:
            return "not running"
        rc = self.proc.poll()
        if rc is None:
            return None
        if rc < 0:
            try:
                return "signal " + signal.Signals(-rc).name
            except ValueError:
                return "signal %d" % -rc
        return "exit %d" % rc

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        # nginx/h2o leave no children once the group got the signal; make sure
        # the group is gone before the next server binds.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None


def make_server(name, port, tmp, docroot, nofile, ringd_bin, ringd_opts=()):
    rundir = os.path.join(tmp, "run-" + name)
    os.makedirs(rundir, exist_ok=True)
    os.chmod(rundir, 0o755)
    pin = ["taskset", "-c", SERVER_CPU]
    values = {"RUNDIR": rundir, "DOCROOT": docroot, "PORT": port, "NOFILE": nofile,
              "MAXCONN": max(1024, min(20000, nofile // 2)),
              "USER": pwd_name()}
    if name == "ringd":
        base = pin + [ringd_bin, "-c", "/dev/null", "-r", docroot, "-l", "127.0.0.1:%d" % port,
                      "-o", "log.access=off", "-o", "log.level=warn"]
        extra = ["-o", "server.workers=1", "-o", "server.max_connections=20000",
                 "-o", "http.keepalive_timeout=300"]
        for o in ringd_opts:
            extra += ["-o", o]
        return Server(name, port, base + extra, rundir, fallback_cmd=base)
    if name == "nginx":
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(rundir, "nginx-tmp", d), exist_ok=True)
        conf = render("nginx.conf.in", os.path.join(rundir, "nginx.conf"), values)
        return Server(name, port, pin + [shutil.which("nginx"), "-p", rundir, "-c", conf,
                                         "-e", os.path.join(rundir, "nginx-error.log"),
                                         "-g", "daemon off;"], rundir)
    if name == "lighttpd":
        conf = render("lighttpd.conf.in", os.path.join(rundir, "lighttpd.conf"), values)
        return Server(name, port, pin + [shutil.which("lighttpd"), "-D", "-f", conf], rundir)
    if name == "h2o":
        conf = render("h2o.conf.in", os.path.join(rundir, "h2o.conf"), values)
        return Server(name, port, pin + [shutil.which("h2o"), "-c", conf], rundir)
    raise ValueError(name)


def pwd_name():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------- ringd build

def build_ringd(outdir):
    """meson release build in build-release/; returns (binary or None, note)."""
    bdir = os.path.join(REPO, "build-release")
    binary = os.path.join(bdir, "daemon", "ringd")
    blog = os.path.join(outdir, "ringd-build.log")
    with open(blog, "w") as lf:
        try:
            if not os.path.exists(os.path.join(bdir, "build.ninja")):
                cmd = ["meson", "setup", "build-release", "--buildtype=release",
                       "-Db_ndebug=true"]
                if os.path.exists(os.path.join(bdir, "meson-private", "coredata.dat")):
                    cmd.append("--wipe")  # configured once, but its build.ninja is gone
                lf.write("$ %s\n" % shlex.join(cmd))
                lf.flush()
                r = subprocess.run(cmd, cwd=REPO, stdout=lf, stderr=subprocess.STDOUT,
                                   timeout=180)
                if r.returncode:
                    return None, "meson setup failed (see %s)" % blog
            cmd = ["meson", "compile", "-C", "build-release"]
            lf.write("$ %s\n" % shlex.join(cmd))
            lf.flush()
            r = subprocess.run(cmd, cwd=REPO, stdout=lf, stderr=subprocess.STDOUT, timeout=600)
            if r.returncode:
                return None, "meson compile failed (see %s)" % blog
        except FileNotFoundError as e:
            return None, "cannot build: %s" % e
        except subprocess.TimeoutExpired:
            return None, "build timed out (see %s)" % blog
    if not os.access(binary, os.X_OK):
        return None, "build produced no %s" % binary
    return binary, "built %s" % os.path.relpath(binary, REPO)


# ---------------------------------------------------------------- load tools

def wrk(port, path, conns, secs, script, script_args=()):
    url = "http://127.0.0.1:%d%s" % (port, path)
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c%d" % conns, "-d%ds" % secs,
           "--latency", "--timeout", "5s", "-s", os.path.join(BENCH, "lua", script), url]
    if script_args:
        cmd += ["--"] + [str(a) for a in script_args]
    r = run(cmd, secs + 60)
    for ln in r.stdout.splitlines():
        if ln.startswith("BENCHJSON "):
            d = json.loads(ln[len("BENCHJSON "):])
            d["errors"] = sum(d[k] for k in d if k.startswith("err_"))
            return d
    # fallback: parse the --latency text output
    d = {"requests": 0, "duration_us": secs * 1e6, "p99_us": None, "errors": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", r.stdout)
    if m:
        d["requests"] = int(m.group(1))
        d["duration_us"] = float(m.group(2)) * (1e3 if m.group(3) == "ms" else 1e6)
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", r.stdout, re.M)
    if m:
        d["p99_us"] = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    if not d["requests"]:
        raise RuntimeError("wrk produced no result:\n" + r.stdout[-1500:])
    return d


def timed_wrk(srv, path, conns, secs, script, script_args=()):
    pids = srv.pids()
    c0 = cpu_ticks(pids)
    d = wrk(srv.port, path, conns, secs, script, script_args)
    c1 = cpu_ticks(pids)
    req = max(1, d["requests"])
    d["rps"] = d["requests"] / (d["duration_us"] / 1e6)
    d["cpu_us_per_req"] = (c1 - c0) * 1e6 / CLK_TCK / req
    d["p99_ms"] = d["p99_us"] / 1000.0 if d.get("p99_us") is not None else None
    return d


def parse_strace_c(text):
    calls = {}
    for ln in text.splitlines():
        t = ln.split()
        if len(t) < 5 or not re.match(r"^[\d.]+$", t[0]) or t[-1] == "total":
            continue
        try:
            calls[t[-1]] = calls.get(t[-1], 0) + int(t[3])
        except ValueError:
            continue
    return calls


def syscalls_per_request(srv, secs, tmp):
    out = os.path.join(tmp, "strace-%s.txt" % srv.name)
    cmd = ["strace", "-c", "-f", "-o", out]
    for p in srv.pids():
        cmd += ["-p", str(p)]
    st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # attach
    if st.poll() is not None:
        raise RuntimeError("strace exited: " + st.stderr.read()[-500:])
    try:
        d = wrk(srv.port, "/4k.bin", 64, secs, "report.lua")
    finally:
        time.sleep(0.3)
        st.send_signal(signal.SIGINT)
        try:
            st.wait(timeout=20)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait(timeout=5)
    with open(out) as f:
        calls = parse_strace_c(f.read())
    req = max(1, d["requests"])
    total = sum(calls.values())
    uring = calls.get("io_uring_enter", 0)
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    return {"requests": d["requests"], "syscalls": total, "io_uring_enter": uring,
            "per_req_all": total / req, "per_req_nonuring": (total - uring) / req,
            "top": {k: round(v / req, 3) for k, v in top}, "wrk_errors": d["errors"]}


def large_download(srv, nbytes, parallel=4):
    url = "http://127.0.0.1:%d/large.bin" % srv.port
    pids = srv.pids()
    c0 = cpu_ticks(pids)
    m0 = machine_busy_ticks()
    t0 = time.monotonic()
    procs = [subprocess.Popen(["taskset", "-c", LOAD_CPU, "curl", "-s", "-o", "/dev/null",
                               "--max-time", "300", "-w",
                               "%{http_code} %{size_download} %{time_total}", url],
                              stdout=subprocess.PIPE, text=True) for _ in range(parallel)]
    got, bad = 0, 0
    for p in procs:
        out, _ = p.communicate(timeout=320)
        parts = out.split()
        if len(parts) == 3 and parts[0] == "200" and int(parts[1]) == nbytes:
            got += int(parts[1])
        else:
            bad += 1
            got += int(parts[1]) if len(parts) == 3 else 0
    wall = time.monotonic() - t0
    c1 = cpu_ticks(pids)
    m1 = machine_busy_ticks()
    cpu_s = (c1 - c0) / CLK_TCK
    sys_s = (m1 - m0) / CLK_TCK
    return {"bytes": got, "wall_s": wall, "mb_s": got / 1e6 / wall,
            "cpu_s_per_gib": cpu_s / (got / GIB) if got else None,
            "sys_s_per_gib": sys_s / (got / GIB) if got else None, "failed": bad}


def idle_connections(srv, count):
    pids = srv.pids()
    before = rss_bytes(pids)
    cmd = ["taskset", "-c", LOAD_CPU, sys.executable, os.path.join(BENCH, "idleconn.py"),
           "127.0.0.1", str(srv.port), "/4k.bin", str(count), "--hold", "120"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=150):
            raise RuntimeError("idle-connection client gave no result in 150 s")
        res = json.loads(p.stdout.readline())
        time.sleep(1.0)  # let the server settle
        after = rss_bytes(srv.pids())
        p.stdin.write("check\n")
        p.stdin.flush()
        if sel.select(timeout=30):
            line = p.stdout.readline()
            if line.strip():
                res.update(json.loads(line))
        p.stdin.close()
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    res["rss_before"] = before
    res["rss_after"] = after
    res["bytes_per_conn"] = (after - before) / max(1, res["ok"])
    return res


# ---------------------------------------------------------------- running

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def bench_server(srv, cfg, tmp, nofile):
    """All scenarios against one running server. Returns (measures, raw).

    A scenario that fails is logged and recorded in raw["failures"]; if the
    server died in it (its exit status is recorded), it is restarted so the
    remaining scenarios still run.
    """
    m, raw = {}, {"failures": []}
    n = srv.name
    secs, reps = cfg["secs"], cfg["reps"]

    def small(label, path):
        runs = []
        raw["small_" + label] = runs
        for i in range(reps):
            d = timed_wrk(srv, path, 64, secs, "report.lua")
            runs.append(d)
            if d["errors"]:
                raw["failures"].append({"step": "1 small %s rep %d" % (label, i + 1),
                                        "error": "%d wrk socket/HTTP errors" % d["errors"]})
            log("%-8s 1 small %-3s rep %d/%d: %8.0f req/s  p99 %6.2f ms  %6.2f us CPU/req%s"
                % (n, label, i + 1, reps, d["rps"], d["p99_ms"] or -1, d["cpu_us_per_req"],
                   "  ERRORS %d" % d["errors"] if d["errors"] else ""))
        m["rps_" + label] = med(r["rps"] for r in runs)
        m["p99_" + label] = med(r["p99_ms"] for r in runs)
        m["cpu_" + label] = med(r["cpu_us_per_req"] for r in runs)

    def pipelined():
        runs = []
        raw["pipelined"] = runs
        for i in range(reps):
            d = timed_wrk(srv, "/4k.bin", 64, secs, "pipeline.lua", [16])
            runs.append(d)
            if d["errors"]:
                raw["failures"].append({"step": "2 pipelined rep %d" % (i + 1),
                                        "error": "%d wrk socket/HTTP errors" % d["errors"]})
            log("%-8s 2 pipelined x16 rep %d/%d: %8.0f req/s  %6.2f us CPU/req%s"
                % (n, i + 1, reps, d["rps"], d["cpu_us_per_req"],
                   "  ERRORS %d" % d["errors"] if d["errors"] else ""))
        m["rps_pipe"] = med(r["rps"] for r in runs)
        m["cpu_pipe"] = med(r["cpu_us_per_req"] for r in runs)

    def syscalls():
        s = syscalls_per_request(srv, cfg["strace_secs"], tmp)
        raw["syscalls"] = s
        m["sys_all"] = s["per_req_all"]
        m["sys_nonuring"] = s["per_req_nonuring"]
        log("%-8s 3 syscalls: %.2f/req (%.2f excl. io_uring_enter) over %d requests; top %s"
            % (n, s["per_req_all"], s["per_req_nonuring"], s["requests"],
               ", ".join("%s %.2f" % kv for kv in list(s["top"].items())[:5])))
        time.sleep(0.5)  # let the server settle after the tracer detached

    def large():
        runs = []
        raw["large"] = runs
        for i in range(reps):
            d = large_download(srv, cfg["large_bytes"])
            runs.append(d)
            log("%-8s 4 large file rep %d/%d: %8.0f MB/s  %.3f CPU s/GiB (machine %.3f)%s"
                % (n, i + 1, reps, d["mb_s"], d["cpu_s_per_gib"] or -1, d["sys_s_per_gib"] or -1,
                   "  FAILED DOWNLOADS %d" % d["failed"] if d["failed"] else ""))
        m["large_mbs"] = med(r["mb_s"] for r in runs if not r["failed"])
        m["large_cpu"] = med(r["cpu_s_per_gib"] for r in runs if not r["failed"])
        m["large_sys"] = med(r["sys_s_per_gib"] for r in runs if not r["failed"])

    def idle():
        d = idle_connections(srv, cfg["idle"])
        raw["idle"] = d
        m["idle_bytes"] = d["bytes_per_conn"]
        m["idle_ok"] = min(d["ok"], d.get("still_open", d["ok"]))
        log("%-8s 5 idle conns: %d/%d answered, %s still open after hold, %d errors %s; "
            "RSS %.1f -> %.1f MiB = %.0f bytes/conn"
            % (n, d["ok"], cfg["idle"], d.get("still_open", "?"), d["errors"],
               d.get("error_kinds") or "", d["rss_before"] / 2**20, d["rss_after"] / 2**20,
               d["bytes_per_conn"]))

    def warmup():
        log("%-8s warm-up" % n)
        for path in ("/4k.bin", "/64k.bin"):
            wrk(srv.port, path, 64, 1, "report.lua")

    steps = [("warm-up", warmup),
             ("1 small 4k", lambda: small("4k", "/4k.bin")),
             ("1 small 64k", lambda: small("64k", "/64k.bin")),
             ("2 pipelined", pipelined)]
    if cfg["strace"]:
        steps.append(("3 syscalls", syscalls))
    steps += [("4 large file", large), ("5 idle conns", idle)]
    for step, fn in steps:
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            msg = " ".join(str(e).split())[:240] or repr(e)
            status = srv.exit_status()
            if status is not None:
                msg = "server exited (%s) during this step; %s" % (status, msg)
            log("%-8s %s: FAILED: %s" % (n, step, msg))
            raw["failures"].append({"step": step, "error": msg})
        status = srv.exit_status()
        if status is not None:
            if not raw["failures"] or raw["failures"][-1]["step"] != step:
                raw["failures"].append({"step": step, "error": "server exited (%s)" % status})
                log("%-8s %s: server exited (%s)" % (n, step, status))
            log("%-8s restarting it for the remaining steps" % n)
            srv.proc = None
            srv.start(nofile)
    return m, raw


def make_files(docroot, large_bytes):
    os.makedirs(docroot, exist_ok=True)
    os.chmod(docroot, 0o755)
    block = os.urandom(1 << 20)
    for name, size in (("4k.bin", 4096), ("64k.bin", 65536)):
        with open(os.path.join(docroot, name), "wb") as f:
            f.write(block[:size])
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("<html><body>ringd bench</body></html>\n")
    with open(os.path.join(docroot, "large.bin"), "wb") as f:
        left = large_bytes
        while left > 0:  # bounded: large_bytes / 1 MiB writes
            k = min(left, len(block))
            f.write(block[:k])
            left -= k
    for name in os.listdir(docroot):
        os.chmod(os.path.join(docroot, name), 0o644)
    # read it once so every server starts from a warm page cache
    with open(os.path.join(docroot, "large.bin"), "rb") as f:
        while f.read(8 << 20):
            pass
    # Write the dirty pages back now: otherwise the kernel's writeback of the
    # large file runs during the first server's runs (ringd's) and taxes only it.
    os.sync()
    time.sleep(2)


# ---------------------------------------------------------------- reporting

def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("req/s", "MB/s", "bytes", "conns"):
        return "%.0f" % v
    if unit in ("ms", "us/req", "calls/req"):
        return "%.2f" % v
    return "%.3f" % v


def best_peer(key, better, results):
    vals = [results[p]["measures"].get(key) for p in PEERS
            if results.get(p, {}).get("status") == "ok"]
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return max(vals) if better == "high" else min(vals)


def ratio(key, better, results):
    r = results.get("ringd", {})
    b = best_peer(key, better, results)
    if r.get("status") != "ok" or b is None:
        return None
    v = r["measures"].get(key)
    if v is None or b == 0:
        return None
    return v / b


def table_rows(results):
    rows = []
    for key, label, unit, better, _ in MEASURES:
        row = ["%s (%s, %s better)" % (label, unit, "higher" if better == "high" else "lower")]
        for s in SERVERS:
            st = results.get(s, {}).get("status")
            row.append(fmt(results[s]["measures"].get(key), unit) if st == "ok"
                       else "skipped")
        rt = ratio(key, better, results)
        row.append("-" if rt is None else "%.2f" % rt)
        rows.append(row)
    return rows


def header():
    return ["measure"] + SERVERS + ["ringd/best peer"]


def text_table(rows):
    hdr = header()
    w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    out = ["  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])
                     for i, c in enumerate(r)) for r in [hdr] + rows]
    out.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(out)


def md_table(rows):
    hdr = header()
    out = ["| " + " | ".join(hdr) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def chart(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (apt-get install python3-matplotlib): no chart")
        return False
    keys = [(k, lab, u, b) for k, lab, u, b, inc in MEASURES if inc
            and best_peer(k, b, results)]
    servers = [s for s in SERVERS if results.get(s, {}).get("status") == "ok"]
    if not keys or not servers:
        return False
    fig, ax = plt.subplots(figsize=(max(10, 1.1 * len(keys)), 6))
    width = 0.8 / len(servers)
    colors = {"ringd": "#d62728", "nginx": "#2ca02c", "lighttpd": "#1f77b4", "h2o": "#ff7f0e"}
    for i, s in enumerate(servers):
        xs, ys = [], []
        for j, (k, _, _, b) in enumerate(keys):
            v = results[s]["measures"].get(k)
            bp = best_peer(k, b, results)
            if v is None or not bp:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(max(v / bp, 1e-3))
        ax.bar(xs, ys, width, label=s, color=colors.get(s))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 4, 8, 16, 32) if lo <= t <= hi]
    ax.set_yticks(ticks)
    ax.set_yticklabels(["%g" % t for t in ticks])
    ax.minorticks_off()
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(["%s\n%s" % (textwrap.fill(SHORT.get(k, lab), 14),
                                    "(higher better)" if b == "high" else "(lower better)")
                        for k, lab, _, b in keys], fontsize=7)
    ax.set_ylabel("value / best peer (1.0 = best of nginx, lighttpd, h2o)")
    ax.set_title("ringd vs peers (%s, %s)" % (datetime.date.today().isoformat(),
                                               "quick" if results["_meta"]["quick"] else "full"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def shown(path):
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel


def cpu_model():
    try:
        out = run(["lscpu"], 10).stdout
        for ln in out.splitlines():
            if ln.startswith("Model name:"):
                return ln.split(":", 1)[1].strip()
    except Exception:  # noqa: BLE001
        pass
    return platform.processor() or "?"


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short run (< 2 min)")
    ap.add_argument("--install-peers", action="store_true",
                    help="apt-get install nginx-light lighttpd h2o and the tools")
    ap.add_argument("--out", help="results dir (default bench/results/YYYY-MM-DD/)")
    ap.add_argument("--servers", default=",".join(SERVERS),
                    help="comma list out of %s" % ",".join(SERVERS))
    ap.add_argument("--ringd", help="use this ringd binary instead of building build-release")
    ap.add_argument("--port-base", type=int, default=18080,
                    help="ringd gets this port, then nginx, lighttpd, h2o (default 18080)")
    ap.add_argument("--ringd-opt", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="pass -o SECTION.KEY=VALUE to ringd (repeatable), e.g. http.body=splice")
    ap.add_argument("--no-strace", action="store_true", help="skip the syscall count")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir")
    a = ap.parse_args()

    cmdline = os.environ.get("BENCH_CMDLINE") or shlex.join(["bench/run"] + sys.argv[1:])
    quick = a.quick
    cfg = {"quick": quick, "secs": 3 if quick else 10, "reps": 1 if quick else 3,
           "strace": not a.no_strace, "strace_secs": 2 if quick else 4,
           "large_bytes": (256 << 20) if quick else GIB,
           "idle": 2000 if quick else 10000}
    wanted = [s.strip() for s in a.servers.split(",") if s.strip()]
    for s in wanted:
        if s not in SERVERS:
            ap.error("unknown server %r" % s)
    today = datetime.date.today().isoformat()
    outdir = os.path.abspath(a.out or os.path.join(BENCH, "results", today))
    os.makedirs(outdir, exist_ok=True)

    if os.cpu_count() < 2:
        log("need at least 2 CPUs (server on CPU 0, load on CPU 1)")
        return 2
    ensure_installed(a.install_peers)
    for tool in ("wrk", "curl", "taskset"):
        if not have(tool):
            log("%s is required (bench/run --install-peers installs it)" % tool)
            return 2
    if cfg["strace"] and not have("strace"):
        log("strace not found: skipping the syscall count")
        cfg["strace"] = False
    nofile = nofile_limit()
    if nofile < cfg["idle"] + 1000:
        log("RLIMIT_NOFILE is only %d: the idle test needs about %d" % (nofile, cfg["idle"] + 1000))

    results = {"_meta": {}}
    for s in SERVERS:
        results[s] = {"status": "skipped", "measures": {}, "note": ""}

    # ringd
    ringd_bin = None
    if "ringd" in wanted:
        if a.ringd:
            ringd_bin = os.path.abspath(a.ringd)
            note = "given with --ringd"
        else:
            log("building ringd (build-release, --buildtype=release -Db_ndebug=true)")
            ringd_bin, note = build_ringd(outdir)
        log("ringd: " + note)
        results["ringd"]["note"] = note
    else:
        results["ringd"]["note"] = "not selected"
    for p in PEERS:
        if p not in wanted:
            results[p]["note"] = "not selected"
        elif not have(p):
            results[p]["note"] = "not installed"
            log("%s: not installed, skipped (--install-peers installs it)" % p)
        else:
            results[p]["version"] = version_of(p, shutil.which(p))

    busy = busy_fraction(1.0)
    if busy > 0.10:
        log("WARNING: the machine is %.0f%% busy before the run; numbers will be noisy"
            % (busy * 100))

    tmp = tempfile.mkdtemp(prefix="ringd-bench-")
    os.chmod(tmp, 0o755)
    docroot = os.path.join(tmp, "www")
    started = []
    try:
        log("making test files in %s (4 KiB, 64 KiB, %d MiB)"
            % (docroot, cfg["large_bytes"] >> 20))
        make_files(docroot, cfg["large_bytes"])
        for i, name in enumerate(SERVERS):
            if name not in wanted:
                continue
            if name == "ringd" and not ringd_bin:
                continue
            if name != "ringd" and not have(name):
                continue
            port = a.port_base + i
            srv = None
            log("%-8s starting on 127.0.0.1:%d (CPU %s)" % (name, port, SERVER_CPU))
            try:
                srv = make_server(name, port, tmp, docroot, nofile, ringd_bin, a.ringd_opt)
                srv.start(nofile)
                started.append(srv)
                results[name]["command"] = shlex.join(srv.used_cmd)
                m, raw = bench_server(srv, cfg, tmp, nofile)
                results[name].update(status="ok", measures=m, raw=raw)
                if raw["failures"]:
                    results[name]["note"] = "; ".join("%s: %s" % (f["step"], f["error"])
                                                      for f in raw["failures"])[:600]
            except Exception as e:  # noqa: BLE001
                log("%-8s FAILED: %s" % (name, e))
                results[name]["status"] = "failed"
                results[name]["note"] = str(e)[:300]
            finally:
                if srv is None:
                    continue
                srv.stop()
                if srv in started:
                    started.remove(srv)
                for f in os.listdir(srv.rundir):
                    if f.endswith(("error.log", ".out")):
                        shutil.copy(os.path.join(srv.rundir, f),
                                    os.path.join(outdir, "%s-%s" % (name, f)
                                                 if not f.startswith(name) else f))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for srv in started:
            srv.stop()
        if a.keep_tmp:
            log("kept temp dir " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": cmdline, "quick": quick, "kernel": platform.release(),
            "cpu": cpu_model(), "cpus": os.cpu_count(), "busy_before": round(busy, 3),
            "config": cfg, "nofile": nofile, "elapsed_s": round(time.monotonic() - T0, 1),
            "measures": {k: {"label": lab, "unit": u, "better": b}
                         for k, lab, u, b, _ in MEASURES}}
    results["_meta"] = meta
    rows = table_rows(results)

    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["measure", "unit", "better"] + SERVERS + ["ringd_over_best_peer"])
        for key, label, unit, better, _ in MEASURES:
            vals = []
            for s in SERVERS:
                v = results[s]["measures"].get(key) if results[s]["status"] == "ok" else None
                vals.append("" if v is None else "%.6g" % v)
            rt = ratio(key, better, results)
            w.writerow([key, unit, better] + vals + ["" if rt is None else "%.4g" % rt])
    png = os.path.join(outdir, "chart.png")
    have_png = chart(results, png)

    notes = []
    for s in SERVERS:
        r = results[s]
        desc = "%s: %s" % (s, r["status"])
        if r.get("version"):
            desc += " (%s)" % r["version"]
        if r.get("note"):
            desc += " - " + r["note"]
        notes.append(desc)
    md = ["# ringd benchmark: latest run", "",
          "- date: %s" % meta["date"],
          "- command: `%s`" % cmdline,
          "- mode: %s (%d s per wrk run, %d rep(s), median; large file %d MiB; %d idle conns)"
          % ("quick" if quick else "full", cfg["secs"], cfg["reps"],
             cfg["large_bytes"] >> 20, cfg["idle"]),
          "- kernel (`uname -r`): %s" % meta["kernel"],
          "- CPU (lscpu): %s, %d CPUs; servers on CPU %s, load generators on CPU %s"
          % (meta["cpu"], meta["cpus"], SERVER_CPU, LOAD_CPU),
          "- machine busy before the run: %.0f%%" % (busy * 100),
          "- results: `%s`" % shown(outdir), ""]
    md += [md_table(rows), "", "Servers:", ""] + ["- " + n for n in notes]
    md += ["", "ratio: ringd / best peer, best = highest req/s or MB/s, lowest latency, "
           "CPU, syscalls, RSS. See bench/README.md for what each row measures."]
    if have_png:
        md += ["", "Chart: `%s`" % shown(png)]
    mdtext = "\n".join(md) + "\n"
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(mdtext)
    # latest.md is the tree's record of its newest run: a run written elsewhere
    # (--out outside bench/results, e.g. an experiment) leaves it alone.
    results_root = os.path.join(BENCH, "results")
    summary = "not updated (--out is outside bench/results)"
    if os.path.commonpath([os.path.realpath(outdir), os.path.realpath(results_root)]) == os.path.realpath(results_root):
        with open(os.path.join(results_root, "latest.md"), "w") as f:
            f.write(mdtext)
        summary = "bench/results/latest.md"

    print()
    print(text_table(rows))
    print()
    for n in notes:
        print("  " + n)
    print("\nresults: %s (json, csv%s, md); summary: %s; %.0f s"
          % (outdir, ", png" if have_png else "", summary, time.monotonic() - T0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
