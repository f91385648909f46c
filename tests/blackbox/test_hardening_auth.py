"""Hardening of the unauthenticated answers: auth.unauth_rate is a limit
per source IP across all workers, not per worker (turnd(8) AUTHENTICATION),
and the 401 challenge reflects at most 3.4 times the bytes of the request
that caused it, with SHA-256 still offered (RFC 8489 9.2.4, 14.11) and no
SOFTWARE in error responses unless software_errors is set."""

import math
import select
import socket
import time

import pytest

import stun
from conftest import expect_error, expect_ok

# A minimal Allocate: the header and REQUESTED-TRANSPORT, 28 bytes, the
# request an abuser of an open relay sends from a spoofed address.
MIN_ALLOCATE_LEN = 28
MAX_401_RATIO = 3.4     # coturn 4.6's 401 to the same request, or better
MAX_BINDING_RATIO = 2.2  # turnd's Binding answer with SOFTWARE "turnd"


def minimal_allocate():
    return stun.turn_message(stun.ALLOCATE,
                             attrs=[stun.requested_transport_attr()])


# ------------------------------------------------------ unauth_rate, per IP

RATE = 10
WORKERS = 4
PORTS = 32              # source ports: SO_REUSEPORT spreads them
FLOOD_SECONDS = 2.0
FLOOD_PPS = 400         # requests per second, all ports together


def flood(server, seconds=FLOOD_SECONDS, pps=FLOOD_PPS, ports=PORTS):
    """Unsigned Allocates from ports UDP sockets of 127.0.0.1 round robin
    for seconds at about pps; then a quiet 0.5 s for late answers.
    Returns (sent, 401s received, seconds of wall clock the sending
    touched)."""
    socks = []
    try:
        for _ in range(ports):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.connect(server)
            s.setblocking(False)
            socks.append(s)
        sent = got = 0
        t0 = time.time()
        start = time.monotonic()
        end = start + seconds
        total = int(seconds * pps)
        for i in range(total):
            now = time.monotonic()
            if now >= end:
                break
            socks[i % ports].send(minimal_allocate().encode())
            sent += 1
            # pace: wait for answers until the next send is due
            due = start + (i + 1) / pps
            got += _drain(socks, max(0.0, min(due, end) - time.monotonic()))
        t1 = time.time()
        quiet_end = time.monotonic() + 0.5
        for _ in range(1000):
            left = quiet_end - time.monotonic()
            if left <= 0:
                break
            got += _drain(socks, left)
        touched = math.floor(t1) - math.floor(t0) + 1
        return sent, got, touched
    finally:
        for s in socks:
            s.close()


def _drain(socks, timeout):
    """Count the 401s readable within timeout (one select)."""
    n = 0
    r, _, _ = select.select(socks, [], [], timeout)
    for s in r:
        for _ in range(64):
            try:
                data = s.recv(2048)
            except BlockingIOError:
                break
            m = stun.decode(data)
            assert m.cls == stun.ERROR and m.error_code() == 401, m
            n += 1
    return n


def test_unauth_rate_is_per_source_across_workers(turn_factory):
    """One IP from many ports reaches every worker; together they answer
    it at most auth.unauth_rate challenges a second (one more second of
    slack for the workers' clocks), not workers times that."""
    t = turn_factory({"workers": WORKERS, "auth": {"unauth_rate": RATE}})
    sent, got, touched = flood(t.addr("udp"))
    bound = RATE * (touched + 1)
    assert sent >= FLOOD_SECONDS * FLOOD_PPS * 0.5, sent
    assert RATE <= got <= bound, \
        "%d challenges answered of %d sent over %d s (bound %d)" % (
            got, sent, touched, bound)
    s = t.wait_stats(lambda s: s.get("err_401", 0) +
                     s.get("dropped_ratelimited", 0) >= sent)
    assert s["err_401"] == got, s
    assert s["err_401"] + s["dropped_ratelimited"] == sent, s
    # Another source IP has its own budget meanwhile.
    other = stun.UdpClient(t.addr("udp"), bind=("127.0.0.2", 0))
    try:
        expect_error(other.request(minimal_allocate()), 401, stun.ALLOCATE)
    finally:
        other.close()


# ------------------------------------------------------ the 401's size

def challenge(t, transport="udp", family=4):
    """A minimal Allocate; its request bytes and the 401 answer's bytes."""
    c = t.client(transport, family)
    try:
        req = minimal_allocate().encode()
        assert len(req) == MIN_ALLOCATE_LEN
        c.send(req)
        data = c.recv(5.0) if transport == "udp" else c.recv_frame(5.0)
        assert data is not None, "no answer"
        return req, data
    finally:
        c.close()


@pytest.mark.parametrize("transport,family", [("udp", 4), ("udp", 6),
                                              ("tcp", 4)])
def test_401_reflects_at_most_3_4x(turn_server, transport, family):
    req, data = challenge(turn_server, transport, family)
    r = stun.decode(data)
    expect_error(r, 401, stun.ALLOCATE)
    ratio = len(data) / len(req)
    assert ratio <= MAX_401_RATIO, "%d-byte 401 to a %d-byte Allocate: " \
        "%.2fx" % (len(data), len(req), ratio)
    # What the client needs to answer it, SHA-256 included (9.2.4).
    assert r.realm() == "test.realm"
    assert r.nonce().startswith(stun.NONCE_COOKIE + "AAAD"), r.nonce()
    algs = [a for a, _ in r.password_algorithms()]
    assert algs == [stun.PWALG_SHA256, stun.PWALG_MD5], algs
    assert not r.has(stun.SOFTWARE)


@pytest.mark.parametrize("alg", [stun.PWALG_SHA256, stun.PWALG_MD5])
def test_compact_nonce_authenticates(turn_server, turn_client, alg):
    """The nonce of the small 401 is accepted with either password
    algorithm; the answer to the signed request is signed with it."""
    c = turn_client(turn_server, alg=alg)
    r = c.exchange(minimal_allocate())
    expect_error(r, 401, stun.ALLOCATE)
    assert len(r.raw) <= MAX_401_RATIO * MIN_ALLOCATE_LEN, len(r.raw)
    c.learn(r)
    c.verify(expect_ok(c.allocate()))


def test_438_is_as_small(turn_server, turn_client):
    """A forged nonce gets a 438 challenge no larger than the 401."""
    c = turn_client(turn_server)
    r = c.exchange(minimal_allocate())
    c.learn(r)
    n401 = len(r.raw)
    c.nonce = c.nonce[:-1] + ("A" if c.nonce[-1] != "A" else "B")
    m = minimal_allocate()
    r = c.exchange(m, c.sign(m))
    expect_error(r, 438, stun.ALLOCATE)
    assert len(r.raw) <= n401
    assert not r.has(stun.SOFTWARE)


def test_software_in_errors_only_when_configured(turn_factory):
    """software goes in success responses; in error responses only with
    software_errors = true."""
    t = turn_factory()
    c = t.client("udp")
    try:
        req = stun.binding_request().encode()
        c.send(req)
        data = c.recv(5.0)
        r = stun.decode(data)
        assert r.cls == stun.SUCCESS and r.software() == "turnd", r
        assert len(data) / len(req) <= MAX_BINDING_RATIO, len(data)
        r = c.request(minimal_allocate())
        expect_error(r, 401, stun.ALLOCATE)
        assert not r.has(stun.SOFTWARE)
    finally:
        c.close()
    t2 = turn_factory({"software_errors": True})
    c = t2.client("udp")
    try:
        r = c.request(minimal_allocate())
        expect_error(r, 401, stun.ALLOCATE)
        assert r.software() == "turnd"
    finally:
        c.close()
