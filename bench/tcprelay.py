#!/usr/bin/env python3
"""tcprelay.py -- RFC 6062 TCP relay throughput and the server's CPU per
megabyte, against a TCP echo peer of its own.  Used by bench/compare.

  tcprelay.py [-n sessions] [-s chunk] [-w window] [-d seconds]
              [-W warmup] [-u user] [-p password] [-P server-pid] host port

Each session: a TCP control connection, Allocate with REQUESTED-TRANSPORT
TCP, CreatePermission and Connect to the peer, ConnectionBind on a second
connection (RFC 6062 4.3); then that connection carries raw bytes, which
the peer (a child process, one thread per connection) echoes.  Each
session keeps -w bytes in flight in -s byte writes; one thread drives
every session (non-blocking sockets, select).  Printed: MB/s echoed back
(payload; each byte crosses the server twice, out and back), the server's
CPU per MB relayed (both directions, from /proc/PID/stat) with -P.  A
refused Allocate or Connect prints "refused: CODE REASON" and exits 2.
Stdlib only; the codec is tests/blackbox/stun.py.  Loopback only.
"""

import getopt
import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "blackbox"))
import stun  # noqa: E402

CONNECT = 0x00A              # RFC 6062 6.1
CONNECTION_BIND = 0x00B
CONNECTION_ID = 0x002A       # RFC 6062 6.2
IO_TIMEOUT = 5.0


class Refused(Exception):
    pass


def echo_peer(lsock):
    """The peer: accept, echo each connection in a thread (blocking, so a
    slow reader slows its writer); runs until killed."""
    def echo(s):
        with s:
            while True:
                b = s.recv(262144)
                if not b:
                    return
                s.sendall(b)
    while True:
        s, _ = lsock.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=echo, args=(s,), daemon=True).start()


def start_peer():
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    pid = os.fork()
    if pid == 0:
        try:
            echo_peer(lsock)
        finally:
            os._exit(0)
    addr = lsock.getsockname()
    lsock.close()
    return pid, addr


def ok(r, what):
    if r.cls != stun.SUCCESS:
        code, reason = r.error() if r.error() else (0, "no error code")
        raise Refused("%d %s (%s)" % (code, reason, what))
    return r


def session(server, peer, user, password):
    """A bound data connection to peer through server: a socket."""
    ctl = stun.TurnClient(stun.StreamClient(server), user, password)
    ok(ctl.allocate(transport=stun.PROTO_TCP), "Allocate")
    ok(ctl.create_permission(peer), "CreatePermission")
    r = ok(ctl.request(CONNECT, [stun.xpeer(*peer)]), "Connect")
    d = stun.TurnClient(stun.StreamClient(server), user, password,
                        realm=ctl.realm, nonce=ctl.nonce)
    ok(d.request(CONNECTION_BIND, [(CONNECTION_ID, r.get(CONNECTION_ID))]),
       "ConnectionBind")
    if d.conn.buf:
        raise Refused("0 data before any was sent (ConnectionBind)")
    return ctl, d.conn.sock


def cputicks(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])


class Flow:
    def __init__(self, sock):
        self.sock = sock
        self.sent = 0
        self.back = 0


def pump(flows, chunk, window, seconds, warmup, on_start):
    """Drive every flow; bytes back after the warm-up and the time."""
    sel = selectors.DefaultSelector()
    data = os.urandom(chunk)
    for f in flows:
        f.sock.setblocking(False)
        sel.register(f.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, f)
    t0 = time.monotonic()
    t_start = t0 + warmup
    t_end = t_start + seconds
    base = None
    while True:
        now = time.monotonic()
        if base is None and now >= t_start:
            base = sum(f.back for f in flows)
            on_start()
            t_start = now
        if now >= t_end:
            break
        for key, ev in sel.select(0.2):
            f = key.data
            if ev & selectors.EVENT_READ:
                try:
                    b = f.sock.recv(262144)
                except BlockingIOError:
                    b = None
                if b == b"":
                    raise Refused("0 data connection closed by the server")
                if b:
                    f.back += len(b)
            if ev & selectors.EVENT_WRITE and f.sent - f.back < window:
                try:
                    f.sent += f.sock.send(data)
                except BlockingIOError:
                    pass
            want = selectors.EVENT_READ
            if f.sent - f.back < window:
                want |= selectors.EVENT_WRITE
            sel.modify(f.sock, want, f)
    return sum(f.back for f in flows) - base, time.monotonic() - t_start


def main(argv):
    opts, args = getopt.getopt(argv, "n:s:w:d:W:u:p:P:")
    o = dict(opts)
    n = int(o.get("-n", 4))
    chunk = int(o.get("-s", 16384))
    window = int(o.get("-w", 262144))
    seconds = float(o.get("-d", 4))
    warmup = float(o.get("-W", 0.5))
    user, password = o.get("-u", "bench"), o.get("-p", "bench")
    spid = int(o["-P"]) if "-P" in o else None
    server = (args[0], int(args[1]))
    ppid, peer = start_peer()
    ctls = []
    try:
        flows = []
        for _ in range(n):
            ctl, sock = session(server, peer, user, password)
            ctls.append(ctl)
            flows.append(Flow(sock))
        c = {}

        def on_start():
            c["t0"] = cputicks(spid) if spid else 0
        back, elapsed = pump(flows, chunk, window, seconds, warmup, on_start)
        ticks = (cputicks(spid) if spid else 0) - c["t0"]
    except Refused as e:
        print("refused: %s" % e)
        return 2
    finally:
        for ctl in ctls:
            ctl.close()
        os.kill(ppid, 15)
        os.waitpid(ppid, 0)
    mb = back / 1e6
    print("sessions           %d, %d B writes, %d B in flight each"
          % (n, chunk, window))
    print("echoed MB/s        %.1f" % (mb / elapsed))
    print("bytes back         %d in %.2f s" % (back, elapsed))
    if spid:
        cpu = ticks / os.sysconf("SC_CLK_TCK")
        print("server cpu         %.2f s, %.2f ms per MB relayed"
              % (cpu, 1000 * cpu / (2 * mb) if mb else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
