#!/usr/bin/env python3
"""Open N keep-alive connections to a server, send one request on each, read
its response, then hold every connection idle until told to stop.

Used by bench/bench.py (scenario 5). Protocol on stdout/stdin, one JSON line
each way:
  1. after all connections are done: prints {"ok":..,"errors":..,...}
  2. waits for a line on stdin (or --hold seconds); on "check" it tests which
     held connections the server has closed meanwhile and prints
     {"still_open":..}; then closes everything and exits.
Stdlib only; every loop is bounded by a deadline.
"""
import argparse
import errno
import json
import resource
import selectors
import socket
import sys
import time


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(hard, max(need, soft))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Conn:
    __slots__ = ("sock", "buf", "state", "need", "started")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.state = "connecting"
        self.need = None  # total bytes of the response once headers are seen
        self.started = time.monotonic()


def parse_response(c):
    """Return True once a full response is in c.buf."""
    if c.need is None:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = c.buf[:end].decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or parts[1] != "200":
            raise ValueError("bad status line %r" % lines[0])
        length = None
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
            if k.strip().lower() == "connection" and "close" in v.lower():
                raise ValueError("server wants to close the connection")
        if length is None:
            raise ValueError("no Content-Length")
        c.need = end + 4 + length
    return len(c.buf) >= c.need


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("count", type=int)
    ap.add_argument("--inflight", type=int, default=200,
                    help="connections being set up at once")
    ap.add_argument("--timeout", type=float, default=90.0,
                    help="give up on setting up connections after this long")
    ap.add_argument("--conn-timeout", type=float, default=15.0,
                    help="one connection's own deadline")
    ap.add_argument("--hold", type=float, default=120.0,
                    help="hold at most this long waiting for stdin")
    a = ap.parse_args()

    limit = raise_nofile(a.count + 64)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: ringd-bench-idle\r\n\r\n"
           % (a.path, a.host, a.port)).encode()
    sel = selectors.DefaultSelector()
    held = []
    errors = {}
    started = 0
    active = 0
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    last_scan = t0

    def fail(c, why):
        nonlocal active
        errors[why] = errors.get(why, 0) + 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        active -= 1

    while (started < a.count or active) and time.monotonic() < deadline:
        while started < a.count and active < a.inflight:
            started += 1
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                why = "socket:" + errno.errorcode.get(e.errno, str(e.errno))
                errors[why] = errors.get(why, 0) + 1
                continue
            s.setblocking(False)
            c = Conn(s)
            active += 1
            rc = s.connect_ex((a.host, a.port))
            if rc not in (0, errno.EINPROGRESS):
                fail(c, "connect:" + errno.errorcode.get(rc, str(rc)))
                continue
            sel.register(s, selectors.EVENT_WRITE, c)
        now = time.monotonic()
        for key, ev in sel.select(timeout=0.2):
            c = key.data
            try:
                if c.state == "connecting":
                    rc = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if rc:
                        fail(c, "connect:" + errno.errorcode.get(rc, str(rc)))
                        continue
                    c.sock.send(req)  # tiny: fits the empty send buffer
                    c.state = "reading"
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                elif c.state == "reading":
                    data = c.sock.recv(65536)
                    if not data:
                        fail(c, "eof-before-response")
                        continue
                    c.buf += data
                    if parse_response(c):
                        sel.unregister(c.sock)
                        c.buf = b""
                        c.state = "idle"
                        held.append(c.sock)
                        active -= 1
            except ValueError as e:
                fail(c, "http:" + str(e)[:60])
            except OSError as e:
                fail(c, "os:" + errno.errorcode.get(e.errno or 0, str(e.errno)))
        # per-connection deadline (scanned twice a second)
        if now - last_scan > 0.5:
            last_scan = now
            for key in list(sel.get_map().values()):
                c = key.data
                if now - c.started > a.conn_timeout:
                    fail(c, "timeout")
    for key in list(sel.get_map().values()):
        fail(key.data, "timeout")
    nerr = sum(errors.values()) + (a.count - started)
    print(json.dumps({"ok": len(held), "errors": nerr, "error_kinds": errors,
                      "requested": a.count, "nofile": limit,
                      "setup_s": round(time.monotonic() - t0, 3)}), flush=True)

    # Hold until told (or --hold passes).
    cmd = ""
    rsel = selectors.DefaultSelector()
    rsel.register(sys.stdin, selectors.EVENT_READ)
    if rsel.select(timeout=a.hold):
        cmd = sys.stdin.readline().strip()
    if cmd == "check":
        # A held connection the server closed (or that got unexpected data) is
        # readable now; one still open and idle is not.
        csel = selectors.DefaultSelector()
        for s in held:
            csel.register(s, selectors.EVENT_READ)
        closed = len(csel.select(timeout=0.5))
        print(json.dumps({"still_open": len(held) - closed}), flush=True)
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
