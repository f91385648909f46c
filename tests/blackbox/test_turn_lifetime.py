"""Lifetimes of allocations, permissions and channels (RFC 8656 7-11),
shortened to seconds by relay.*_lifetime.

Expiry is observed, never waited for blindly: counters are polled
(wait_stats) and the peer sends probes at a fixed pace until they stop
arriving, each loop under a deadline.  The pace (a receive timeout that
must see nothing) only spaces the probes; no assertion is on a speed.
"""

import time

import pytest

from conftest import expect_error, expect_ok

SHORT = {"relay": {"default_lifetime": 2, "max_lifetime": 3,
                   "permission_lifetime": 2, "channel_lifetime": 2}}

PACE = 0.25          # seconds between probes
QUIET = 0.5          # no probe within this: it was dropped
ARRIVE = 5.0         # a probe that must arrive may take this long
EXPIRY_DEADLINE = 8.0


def probe(c, peer, n, wait=QUIET):
    """The peer sends probe n to the relayed address; what the client got
    (None if nothing within wait).  Nothing else may arrive."""
    payload = b"probe %d" % n
    peer.send(payload, c.relayed[0])
    d = c.recv_data(wait)
    if d is not None:
        assert d[2] == payload, "got %r for probe %d" % (d, n)
        assert c.recv_data(0.01) is None
    return d


def pace(c):
    """Space the loop out; nothing may arrive meanwhile."""
    assert c.recv_data(PACE) is None


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_allocation_expires(turn_factory, turn_client, peer, transport):
    t = turn_factory(SHORT)
    c = turn_client(t, transport)
    r = expect_ok(c.allocate())
    assert r.lifetime() == 2
    expect_ok(c.create_permission(peer.addr))
    s = t.wait_stats(lambda s: s.get("alloc_expired") == 1,
                     timeout=EXPIRY_DEADLINE)
    assert s["alloc_expired"] == 1, "the allocation never expired"
    assert s["alloc_deleted"] == 0
    # Gone: the relayed address no longer relays, and requests on the
    # 5-tuple find no allocation (on TCP the connection may go with it).
    peer.send(b"late", c.relayed[0])
    if transport == "udp":
        assert c.recv_data(0.2) is None
        expect_error(c.create_permission(peer.addr), 437)
        expect_error(c.refresh(), 437)
        # A new one can be made on the same 5-tuple.
        expect_ok(c.allocate())


def test_allocation_lifetime_capped(turn_factory, turn_client):
    t = turn_factory(SHORT)
    c = turn_client(t)
    assert expect_ok(c.allocate(lifetime=3600)).lifetime() == 3
    assert expect_ok(c.refresh(1)).lifetime() == 2
    assert expect_ok(c.refresh(3600)).lifetime() == 3


def test_permission_expires(turn_factory, turn_client, peer):
    """Refreshed, the allocation and the permission outlive their
    lifetimes; the permission left alone expires."""
    t = turn_factory(SHORT)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(peer.addr))
    # Refreshed, the permission outlives its lifetime.
    t0 = time.monotonic()
    n = 0
    for n in range(100):
        if time.monotonic() - t0 > 3.0:
            break
        expect_ok(c.refresh(3))
        expect_ok(c.create_permission(peer.addr))
        assert probe(c, peer, n, ARRIVE) == ("data", peer.addr,
                                             b"probe %d" % n)
        pace(c)
    # Left alone (the allocation still refreshed), it expires.
    deadline = time.monotonic() + EXPIRY_DEADLINE
    for n in range(n + 1, n + 200):
        expect_ok(c.refresh(3))
        if probe(c, peer, n) is None:
            break
        assert time.monotonic() < deadline, "the permission never expired"
        pace(c)
    else:
        raise AssertionError("the permission never expired")
    stopped = n
    # It stays expired, both ways.
    for n in range(stopped + 1, stopped + 3):
        assert probe(c, peer, n) is None, "data again after probe %d" % stopped
    c.send_indication(peer.addr, b"after expiry")
    assert peer.recv(0.2) is None
    s = t.stats()
    assert s["dropped_no_perm"] >= 4
    assert s["alloc_expired"] == 0
    # A new permission brings it back.
    expect_ok(c.create_permission(peer.addr))
    assert probe(c, peer, 1000, ARRIVE) == ("data", peer.addr, b"probe 1000")


def test_channel_expires(turn_factory, turn_client, peer):
    """A channel lives channel_lifetime unless rebound; once it expires,
    the peer's data comes as Data indications (the permission was kept by
    CreatePermission, which does not refresh channels) and ChannelData on
    it from the client is dropped."""
    t = turn_factory(SHORT)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    t0 = time.monotonic()
    n = 0
    for n in range(100):
        if time.monotonic() - t0 > 3.0:
            break
        expect_ok(c.refresh(3))
        expect_ok(c.channel_bind(0x4000, peer.addr))     # refreshes
        assert probe(c, peer, n, ARRIVE) == ("chan", 0x4000,
                                             b"probe %d" % n)
        pace(c)
    deadline = time.monotonic() + EXPIRY_DEADLINE
    for n in range(n + 1, n + 200):
        expect_ok(c.refresh(3))
        expect_ok(c.create_permission(peer.addr))
        d = probe(c, peer, n, ARRIVE)
        assert d is not None, "probe %d lost: the permission went too" % n
        if d[0] == "data":
            break
        assert time.monotonic() < deadline, "the channel never expired"
        pace(c)
    else:
        raise AssertionError("the channel never expired")
    assert d == ("data", peer.addr, b"probe %d" % n)
    before = t.stats()["dropped_chandata"]
    c.send_channel(0x4000, b"on an expired channel")
    assert peer.recv(0.2) is None
    s = t.wait_stats(lambda s: s.get("dropped_chandata") == before + 1)
    assert s["dropped_chandata"] == before + 1
    # Binding the same pair again works.
    expect_ok(c.channel_bind(0x4000, peer.addr))
    c.send_channel(0x4000, b"bound again")
    assert peer.recv(5.0) == (b"bound again", c.relayed[0])
