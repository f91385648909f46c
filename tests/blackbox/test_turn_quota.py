"""Quotas and rate limits: relay.user_quota, relay.total_quota (486),
auth.unauth_rate (401/438 answers per second per source IP) and
relay.max_bps (bytes per second per allocation).

Counts of what a burst gets through are bounded loosely (well under the
burst), never exactly: the buckets refill with the clock.
"""

import time

import pytest

import stun
from conftest import expect_error, expect_ok

BURST = 50


# ------------------------------------------------------------- quotas

def test_user_quota(turn_factory, turn_client):
    """The third concurrent allocation of alice is refused, whatever the
    transport; bob is not affected; freeing one makes room."""
    t = turn_factory({"relay": {"user_quota": 2}})
    a1 = turn_client(t, "udp")
    a2 = turn_client(t, "tcp")
    a3 = turn_client(t, "tls")
    expect_ok(a1.allocate())
    expect_ok(a2.allocate())
    expect_error(a3.allocate(), 486, stun.ALLOCATE)
    b1 = turn_client(t, user="bob", password="hunter2")
    expect_ok(b1.allocate())
    # SHA-256 and USERHASH name the same user.
    a4 = turn_client(t, alg=stun.PWALG_SHA256, use_userhash=True)
    expect_error(a4.allocate(), 486)
    expect_ok(a1.refresh(0))
    expect_ok(a3.allocate())
    expect_error(a4.allocate(), 486)
    s = t.wait_stats(lambda s: s.get("err_486") == 3)
    assert s["err_486"] == 3
    assert s["alloc_created"] == 4


def test_user_quota_freed_by_connection_close(turn_factory, turn_client):
    t = turn_factory({"relay": {"user_quota": 1}})
    a1 = turn_client(t, "tcp")
    expect_ok(a1.allocate())
    a2 = turn_client(t)
    expect_error(a2.allocate(), 486)
    a1.close()
    t.wait_stats(lambda s: s.get("alloc_deleted") == 1)
    expect_ok(a2.allocate())


def test_user_quota_rest_counts_user_id(turn_factory, turn_client):
    """REST credentials count by user id: other expiry times are the same
    user, another id is another user."""
    t = turn_factory({"relay": {"user_quota": 2}})
    now = int(time.time())
    creds = [stun.rest_credentials("s1", "carol", now + 600 + i)
             for i in range(3)]
    cs = [turn_client(t, user=u, password=p) for u, p in creds]
    expect_ok(cs[0].allocate())
    expect_ok(cs[1].allocate())
    expect_error(cs[2].allocate(), 486)
    # The other secret does not make carol another user.
    u, p = stun.rest_credentials("s2", "carol", now + 900)
    expect_error(turn_client(t, user=u, password=p).allocate(), 486)
    u, p = stun.rest_credentials("s1", "dave", now + 600)
    expect_ok(turn_client(t, user=u, password=p).allocate())
    expect_ok(cs[0].refresh(0))
    expect_ok(cs[2].allocate())


def test_user_quota_zero_is_unlimited(turn_factory, turn_client):
    t = turn_factory({"relay": {"user_quota": 0}})
    for _ in range(60):                 # beyond the default of 50
        expect_ok(turn_client(t).allocate())


def test_total_quota(turn_factory, turn_client):
    t = turn_factory({"relay": {"total_quota": 3, "user_quota": 0}})
    users = [("alice", "secret"), ("bob", "hunter2"), ("alice", "secret"),
             ("bob", "hunter2")]
    cs = [turn_client(t, user=u, password=p) for u, p in users]
    for c in cs[:3]:
        expect_ok(c.allocate())
    expect_error(cs[3].allocate(), 486)
    # Errors do not hold a slot.
    expect_error(cs[3].allocate(), 486)
    expect_ok(cs[1].refresh(0))
    expect_ok(cs[3].allocate())
    s = t.wait_stats(lambda s: s.get("err_486") == 2)
    assert s["err_486"] == 2


def test_quota_freed_by_expiry(turn_factory, turn_client):
    t = turn_factory({"relay": {"user_quota": 1, "default_lifetime": 1,
                                "max_lifetime": 1}})
    a1, a2 = turn_client(t), turn_client(t)
    expect_ok(a1.allocate())
    expect_error(a2.allocate(), 486)
    s = t.wait_stats(lambda s: s.get("alloc_expired") == 1, timeout=8)
    assert s["alloc_expired"] == 1
    expect_ok(a2.allocate())


# ------------------------------------------------------------- unauth_rate

def count_answers(c, sent_tids, quiet=0.5, bound=1000):
    """Read until quiet seconds pass with nothing; answers to sent_tids."""
    n = 0
    for _ in range(bound):
        f = c.recv_frame(quiet)
        if f is None:
            return n
        r = stun.decode(f)
        assert r.tid in sent_tids, r
        n += 1
    raise AssertionError("answers never stopped")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_unauth_rate_401(turn_factory, turn_client, transport):
    t = turn_factory({"auth": {"unauth_rate": 5}})
    # Learnt before the burst: a signed request is not rate limited.
    good = turn_client(t, transport, user="bob", password="hunter2")
    expect_ok(good.allocate())
    c = turn_client(t, transport)
    msgs = [stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
            for _ in range(BURST)]
    c.send_raw(b"".join(m.encode() for m in msgs) if transport != "udp"
               else msgs[0].encode())
    if transport == "udp":
        for m in msgs[1:]:
            c.send_raw(m.encode())
    answered = count_answers(c, {m.tid for m in msgs})
    assert 1 <= answered < 20, "%d of %d answered" % (answered, BURST)
    s = t.wait_stats(lambda s: s.get("dropped_ratelimited", 0)
                     >= BURST - answered)
    assert s.get("dropped_ratelimited", 0) >= BURST - answered, s
    assert s["err_401"] <= answered + 1
    # Authenticated requests go on meanwhile.
    expect_ok(good.refresh())
    # Another source IP has its own budget.
    other = stun.TurnClient(stun.UdpClient(t.addr("udp"),
                                           bind=("127.0.0.2", 0)))
    try:
        expect_ok(other.allocate())
    finally:
        other.close()


def test_unauth_rate_438(turn_factory, turn_client):
    t = turn_factory({"auth": {"unauth_rate": 5}})
    c = turn_client(t)
    expect_ok(c.allocate())
    forged = c.nonce[:-1] + ("A" if c.nonce[-1] != "A" else "B")
    c2 = turn_client(t, realm=c.realm, nonce=forged)
    msgs = []
    for _ in range(BURST):
        m = stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
        c2.send_raw(c2.sign(m))
        msgs.append(m)
    answered = count_answers(c2, {m.tid for m in msgs})
    assert 1 <= answered < 20, "%d of %d answered" % (answered, BURST)
    s = t.wait_stats(lambda s: s.get("dropped_ratelimited", 0)
                     >= BURST - answered)
    assert s.get("dropped_ratelimited", 0) >= BURST - answered, s
    assert s["err_438"] == answered


def test_unauth_rate_recovers(turn_factory, turn_client):
    """After a burst, challenges are answered again once the budget
    refills (polled, bounded)."""
    t = turn_factory({"auth": {"unauth_rate": 5}})
    c = turn_client(t)
    msgs = [stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
            for _ in range(BURST)]
    for m in msgs:
        c.send_raw(m.encode())
    count_answers(c, {m.tid for m in msgs}, quiet=0.2)
    deadline = time.monotonic() + 5.0
    for _ in range(100):
        m = stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
        c.send_raw(m.encode())
        f = c.recv_frame(0.25)
        if f is not None:
            r = stun.decode(f)
            assert r.tid == m.tid
            expect_error(r, 401)
            break
        assert time.monotonic() < deadline, "401s never came back"
    c.learn(r)
    expect_ok(c.allocate())


def test_unauth_rate_zero_is_unlimited(turn_factory, turn_client):
    t = turn_factory({"auth": {"unauth_rate": 0}})
    c = turn_client(t)
    msgs = [stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
            for _ in range(BURST)]
    for m in msgs:
        c.send_raw(m.encode())
    assert count_answers(c, {m.tid for m in msgs}) == BURST


# ------------------------------------------------------------- max_bps

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_max_bps(turn_factory, turn_client, peer, transport):
    t = turn_factory({"relay": {"max_bps": 10000}})
    c = turn_client(t, transport)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    for i in range(100):
        c.send_channel(0x4000, b"%04d" % i + b"b" * 996)
    got = []
    for _ in range(100):
        d = peer.recv(0.5)
        if d is None:
            break
        got.append(d[0])
    assert len(got) < 50, "%d of 100 x 1000 B delivered at 10000 B/s" % len(got)
    s = t.wait_stats(lambda s: s.get("dropped_bandwidth", 0)
                     + s.get("relay_pkts_out", 0) >= 100)
    assert s.get("dropped_bandwidth", 0) >= 50, s
    assert s["relay_pkts_out"] == len(got)


def test_max_bps_per_allocation(turn_factory, turn_client, peers):
    """One allocation using up its budget does not starve another."""
    t = turn_factory({"relay": {"max_bps": 10000}})
    c1, c2 = turn_client(t), turn_client(t)
    p1, p2 = peers(), peers()
    for c, p in ((c1, p1), (c2, p2)):
        expect_ok(c.allocate())
        expect_ok(c.channel_bind(0x4000, p.addr))
    for i in range(100):
        c1.send_channel(0x4000, b"x" * 1000)
    p1.drain(0.3)
    c2.send_channel(0x4000, b"small")
    assert p2.recv(5.0) == (b"small", c2.relayed[0])
