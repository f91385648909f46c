#!/usr/bin/env python3
"""amplify.py -- what an unauthenticated request draws from a server: the
answer's size and its ratio to the request (the reflection factor), and
how many challenges one source IP gets a second.  Used by bench/amplify.sh.

  amplify.py sizes NAME PORT      one line per probe: request and answer
                                  bytes, ratio, the answer's attributes
  amplify.py flood PORT SECONDS   unsigned Allocates from 32 source ports of
                                  127.0.0.1 at about 400/s; prints the 401s
                                  received per second

Stdlib only; the codec is tests/blackbox/stun.py.
"""

import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "blackbox"))
import stun  # noqa: E402

NAMES = {0x0009: "ERROR-CODE", 0x0014: "REALM", 0x0015: "NONCE",
         0x8002: "PASSWORD-ALGORITHMS", 0x8022: "SOFTWARE",
         0x8028: "FINGERPRINT", 0x0020: "XOR-MAPPED-ADDRESS",
         0x0001: "MAPPED-ADDRESS", 0x802B: "RESPONSE-ORIGIN",
         0x802C: "OTHER-ADDRESS"}


def probes():
    """(name, request bytes); each a fresh transaction."""
    alloc = [stun.requested_transport_attr()]
    stale = [(stun.USERNAME, b"alice"), (stun.REALM, b"test.realm"),
             (stun.NONCE, b"obMatJos2AAADnot-a-nonce-of-ours")]
    yield "binding", stun.binding_request().encode()
    yield "binding+fp", stun.binding_request().encode(fingerprint=True)
    yield "allocate-401", stun.turn_message(
        stun.ALLOCATE, attrs=alloc).encode()
    yield "allocate-401+fp", stun.turn_message(
        stun.ALLOCATE, attrs=alloc).encode(fingerprint=True)
    yield "refresh-401", stun.turn_message(stun.REFRESH).encode()
    yield "permission-401", stun.turn_message(
        stun.CREATE_PERMISSION,
        attrs=[stun.xpeer("127.0.0.1", 9)]).encode()
    yield "allocate-438", stun.turn_message(
        stun.ALLOCATE, attrs=alloc + stale).encode(mi_key=b"0" * 16)


def sizes(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    try:
        for probe, req in probes():
            s.send(req)
            r, _, _ = select.select([s], [], [], 2.0)
            if not r:
                print("%-7s %-16s %4d B -> no answer" % (name, probe, len(req)))
                continue
            data = s.recv(4096)
            m = stun.decode(data)
            code = m.error_code() if m.cls == stun.ERROR else "ok"
            print("%-7s %-16s %4d B -> %4d B  %.2fx  %s  %s" % (
                name, probe, len(req), len(data), len(data) / len(req), code,
                " ".join("%s(%d)" % (NAMES.get(t, "%#06x" % t), len(v))
                         for t, v in m.attrs)))
    finally:
        s.close()


def flood(port, seconds, ports=32, pps=400):
    socks = []
    for _ in range(ports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    sent = got = 0
    start = time.monotonic()
    end = start + seconds
    for i in range(int(seconds * pps)):
        if time.monotonic() >= end:
            break
        socks[i % ports].send(stun.turn_message(
            stun.ALLOCATE, attrs=[stun.requested_transport_attr()]).encode())
        sent += 1
        due = min(start + (i + 1) / pps, end)
        got += drain(socks, max(0.0, due - time.monotonic()))
    quiet = time.monotonic() + 0.5
    while time.monotonic() < quiet:
        got += drain(socks, quiet - time.monotonic())
    for s in socks:
        s.close()
    print("sent %d in %.1f s, %d answered: %.1f answers/s" % (
        sent, seconds, got, got / seconds))


def drain(socks, timeout):
    n = 0
    r, _, _ = select.select(socks, [], [], timeout)
    for s in r:
        for _ in range(64):
            try:
                s.recv(4096)
            except BlockingIOError:
                break
            n += 1
    return n


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sizes":
        sizes(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "flood":
        flood(int(sys.argv[2]), float(sys.argv[3]))
    else:
        sys.exit(__doc__)
