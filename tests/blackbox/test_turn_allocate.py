"""TURN Allocate and Refresh (RFC 8656 7) over UDP, TCP and TLS.

Lifetimes that need the clock are in test_turn_lifetime.py, credentials
in test_turn_auth.py, quotas in test_turn_quota.py.
"""

import struct

import pytest

import stun
from conftest import (RELAY_MAX_PORT, RELAY_MIN_PORT, TRANSPORTS,
                      expect_error, expect_ok)


def relay_port_ok(port):
    return RELAY_MIN_PORT <= port <= RELAY_MAX_PORT


# ------------------------------------------------------------- success

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocate(turn_server, turn_client, transport):
    c = turn_client(turn_server, transport)
    r = expect_ok(c.allocate(), stun.ALLOCATE)
    # The first, unsigned, Allocate was challenged.
    assert len(c.challenges) == 1
    ch = c.challenges[0]
    assert ch.error_code() == 401
    assert ch.realm() == "test.realm"
    assert ch.nonce().startswith(stun.NONCE_COOKIE)
    # The response: one IPv4 relayed address in the range, on the relay
    # address (not the listener's port), the default lifetime, the
    # client's own address, and MESSAGE-INTEGRITY with the MD5 key.
    relayed = r.xor_relayed()
    assert len(relayed) == 1
    host, port = relayed[0]
    assert host == "127.0.0.1"
    assert relay_port_ok(port), port
    assert r.lifetime() == 600
    assert r.xor_mapped() == c.local
    assert r.integrity_ok(c.key) is True
    assert not r.has(stun.RESERVATION_TOKEN)
    s = turn_server.wait_stats(lambda s: s.get("alloc_created") == 1)
    assert s["alloc_created"] == 1
    assert s["err_401"] == 1
    assert s["alloc_deleted"] == 0 and s["alloc_expired"] == 0


def test_allocate_v6_client_gets_v4_relay_by_default(shared_turn, turn_client):
    """RFC 8656 7.2: without REQUESTED-ADDRESS-FAMILY the relayed address
    is IPv4, whatever the family of the client's flow."""
    c = turn_client(shared_turn, "udp", 6)
    r = expect_ok(c.allocate())
    assert r.xor_mapped() == c.local
    assert [h for h, _ in r.xor_relayed()] == ["127.0.0.1"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocations_are_distinct(shared_turn, turn_client, transport):
    cs = [turn_client(shared_turn, transport) for _ in range(4)]
    ports = set()
    for c in cs:
        r = expect_ok(c.allocate())
        ports.add(r.xor_relayed()[0][1])
    assert len(ports) == 4, "two allocations share a relayed port: %s" % ports


# ------------------------------------------------------------- lifetime

@pytest.mark.parametrize("asked,granted", [
    (None, 600), (1, 600), (599, 600), (601, 601), (1800, 1800),
    (3600, 3600), (3601, 3600), (0xFFFFFFFF, 3600)])
def test_allocate_lifetime_bounds(shared_turn, turn_client, asked, granted):
    """Default 600; at most relay.max_lifetime (3600); never below the
    default (RFC 8656 7.2)."""
    c = turn_client(shared_turn)
    r = expect_ok(c.allocate(lifetime=asked))
    assert r.lifetime() == granted


@pytest.mark.parametrize("asked,granted", [
    (None, 600), (10, 600), (900, 900), (5000, 3600)])
def test_refresh_lifetime_bounds(shared_turn, turn_client, asked, granted):
    c = turn_client(shared_turn)
    expect_ok(c.allocate())
    r = expect_ok(c.refresh(asked), stun.REFRESH)
    assert r.lifetime() == granted


def test_lifetime_config_bounds(turn_factory, turn_client):
    t = turn_factory({"relay": {"default_lifetime": 120, "max_lifetime": 300}})
    c = turn_client(t)
    assert expect_ok(c.allocate()).lifetime() == 120
    assert expect_ok(c.refresh(60)).lifetime() == 120
    assert expect_ok(c.refresh(200)).lifetime() == 200
    assert expect_ok(c.refresh(100000)).lifetime() == 300
    c2 = turn_client(t)
    assert expect_ok(c2.allocate(lifetime=301)).lifetime() == 300


# ------------------------------------------------------------- errors

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocate_without_requested_transport_400(shared_turn, turn_client,
                                                  transport):
    c = turn_client(shared_turn, transport)
    expect_error(c.allocate(transport=None), 400, stun.ALLOCATE)
    # Nothing was created: the same 5-tuple can still allocate.
    expect_ok(c.allocate())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocate_tcp_relay_442(turn_factory, turn_client, transport):
    """relay.tcp = false: TCP relays (RFC 6062) are not served, 442 on
    every transport (test_tcp_relay.py has them on)."""
    turn_server = turn_factory({"relay": {"tcp": False}})
    c = turn_client(turn_server, transport)
    expect_error(c.allocate(transport=stun.PROTO_TCP), 442, stun.ALLOCATE)
    expect_ok(c.allocate())
    s = turn_server.wait_stats(lambda s: s.get("err_442") == 1)
    assert s["err_442"] == 1
    assert s["alloc_created"] == 1


def test_allocate_unknown_transport_442(shared_turn, turn_client):
    """RFC 8656 7.2: a protocol the server does not support (SCTP) is 442."""
    c = turn_client(shared_turn)
    expect_error(c.allocate(transport=132), 442)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_second_allocate_437(turn_server, turn_client, transport):
    c = turn_client(turn_server, transport)
    r = expect_ok(c.allocate())
    expect_error(c.allocate(), 437, stun.ALLOCATE)
    # The first allocation is untouched.
    assert expect_ok(c.refresh()).lifetime() == 600
    s = turn_server.wait_stats(lambda s: s.get("err_437") == 1)
    assert s["err_437"] == 1
    assert s["alloc_created"] == 1
    assert r.xor_relayed()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_requested_family_v6(shared_turn, turn_client, transport):
    c = turn_client(shared_turn, transport)
    r = expect_ok(c.allocate([stun.family_attr(
        stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V6)]))
    relayed = r.xor_relayed()
    assert len(relayed) == 1
    assert relayed[0][0] == "::1" and relay_port_ok(relayed[0][1])
    v = r.get(stun.XOR_RELAYED_ADDRESS)
    assert len(v) == 20 and v[1] == stun.FAMILY_V6


def test_requested_family_v4(shared_turn, turn_client):
    c = turn_client(shared_turn, "udp", 6)
    r = expect_ok(c.allocate([stun.family_attr(
        stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V4)]))
    assert [h for h, _ in r.xor_relayed()] == ["127.0.0.1"]


@pytest.mark.parametrize("family", [0x00, 0x03, 0xFF])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_requested_family_unknown_440(turn_server, turn_client, transport,
                                      family):
    c = turn_client(turn_server, transport)
    expect_error(c.allocate([stun.family_attr(
        stun.REQUESTED_ADDRESS_FAMILY, family)]), 440)
    s = turn_server.wait_stats(lambda s: s.get("err_440") == 1)
    assert s["err_440"] == 1
    assert s["alloc_created"] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_requested_family_v6_without_v6_relay_440(turn_factory, turn_client,
                                                  transport):
    t = turn_factory({"relay": {"addresses": ["127.0.0.1"]}})
    c = turn_client(t, transport)
    expect_error(c.allocate([stun.family_attr(
        stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V6)]), 440)
    # IPv4 still works on the same 5-tuple.
    r = expect_ok(c.allocate())
    assert r.xor_relayed()[0][0] == "127.0.0.1"
    s = t.wait_stats(lambda s: s.get("err_440") == 1)
    assert s["err_440"] == 1
    assert s["alloc_created"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_additional_family_dual_allocation(shared_turn, turn_client, peers,
                                           transport):
    """ADDITIONAL-ADDRESS-FAMILY IPv6: an IPv4 and an IPv6 relayed address,
    both of which relay (RFC 8656 7.2)."""
    c = turn_client(shared_turn, transport)
    r = expect_ok(c.allocate([stun.family_attr(
        stun.ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_V6)]))
    relayed = r.xor_relayed()
    assert sorted(h for h, _ in relayed) == ["127.0.0.1", "::1"], relayed
    assert all(relay_port_ok(p) for _, p in relayed)
    assert not r.has(stun.ADDRESS_ERROR_CODE)
    p4, p6 = peers("127.0.0.1"), peers("::1")
    expect_ok(c.create_permission(p4.addr, p6.addr))
    for p in (p4, p6):
        c.send_indication(p.addr, b"to " + p.addr[0].encode())
        got = p.recv(5.0)
        assert got is not None, "nothing relayed to %s" % (p.addr,)
        assert got[0] == b"to " + p.addr[0].encode()
        # Sent from the relayed address of the peer's family.
        assert got[1] in relayed
        p.send(b"back", got[1])
        d = c.recv_data(5.0)
        assert d == ("data", p.addr, b"back")


def test_additional_family_without_v6_relay(turn_factory, turn_client):
    """No IPv6 relay address: the IPv4 allocation is made and
    ADDRESS-ERROR-CODE says why there is no IPv6 one (RFC 8656 7.2)."""
    t = turn_factory({"relay": {"addresses": ["127.0.0.1"]}})
    c = turn_client(t)
    r = expect_ok(c.allocate([stun.family_attr(
        stun.ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_V6)]))
    assert [h for h, _ in r.xor_relayed()] == ["127.0.0.1"]
    aec = r.get(stun.ADDRESS_ERROR_CODE)
    assert aec is not None, r
    assert aec[0] == stun.FAMILY_V6
    assert aec[2] * 100 + aec[3] == 440


@pytest.mark.parametrize("attrs", [
    [stun.family_attr(stun.ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_V4)],
    [stun.family_attr(stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V4),
     stun.family_attr(stun.ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_V6)],
], ids=["additional-v4", "requested-and-additional"])
def test_additional_family_bad_400(shared_turn, turn_client, attrs):
    """RFC 8656 7.2: ADDITIONAL-ADDRESS-FAMILY must be IPv6, and may not
    come with REQUESTED-ADDRESS-FAMILY."""
    c = turn_client(shared_turn)
    expect_error(c.allocate(attrs), 400)


# ------------------------------------------------------------- EVEN-PORT

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_even_port_reservation(turn_server, turn_client, transport):
    c1 = turn_client(turn_server, transport)
    r1 = expect_ok(c1.allocate([stun.even_port_attr(True)]))
    port = r1.xor_relayed()[0][1]
    assert port % 2 == 0, port
    token = r1.reservation_token()
    assert token is not None and len(token) == 8
    # Another client claims the reserved port + 1.
    c2 = turn_client(turn_server, transport)
    r2 = expect_ok(c2.allocate([(stun.RESERVATION_TOKEN, token)]))
    assert r2.xor_relayed() == [("127.0.0.1", port + 1)]
    assert not r2.has(stun.RESERVATION_TOKEN)
    # A token is good once.
    c3 = turn_client(turn_server, transport)
    expect_error(c3.allocate([(stun.RESERVATION_TOKEN, token)]), 508)
    s = turn_server.wait_stats(lambda s: s.get("err_508") == 1)
    assert s["err_508"] == 1
    assert s["alloc_created"] == 2


def test_even_port_without_reserve(shared_turn, turn_client):
    for _ in range(5):
        c = turn_client(shared_turn)
        r = expect_ok(c.allocate([stun.even_port_attr(False)]))
        assert r.xor_relayed()[0][1] % 2 == 0
        assert not r.has(stun.RESERVATION_TOKEN)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_reservation_token_508(turn_server, turn_client, transport):
    c = turn_client(turn_server, transport)
    expect_error(c.allocate([(stun.RESERVATION_TOKEN, b"\x01" * 8)]), 508)
    s = turn_server.wait_stats(lambda s: s.get("err_508") == 1)
    assert s["err_508"] == 1
    assert s["alloc_created"] == 0
    # Nothing was created on the 5-tuple.
    expect_ok(c.allocate())


def test_even_port_and_reservation_token_400(shared_turn, turn_client):
    c1 = turn_client(shared_turn)
    token = expect_ok(c1.allocate([stun.even_port_attr(True)])).reservation_token()
    c2 = turn_client(shared_turn)
    expect_error(c2.allocate([stun.even_port_attr(True),
                              (stun.RESERVATION_TOKEN, token)]), 400)
    # The 400 did not use up the token.
    r = expect_ok(c2.allocate([(stun.RESERVATION_TOKEN, token)]))
    assert r.xor_relayed()[0][1] == c1.relayed[0][1] + 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dont_fragment_accepted(shared_turn, turn_client, peer, transport):
    c = turn_client(shared_turn, transport)
    r = expect_ok(c.allocate([(stun.DONT_FRAGMENT, b"")]))
    expect_ok(c.create_permission(peer.addr))
    c.send_indication(peer.addr, b"df")
    got = peer.recv(5.0)
    assert got == (b"df", r.xor_relayed()[0])


# ------------------------------------------------------------- Refresh

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refresh_zero_deletes(turn_server, turn_client, peer, transport):
    c = turn_client(turn_server, transport)
    expect_ok(c.allocate())
    relayed = c.relayed[0]
    r = expect_ok(c.refresh(0), stun.REFRESH)
    assert r.lifetime() == 0
    expect_error(c.create_permission(peer.addr), 437, stun.CREATE_PERMISSION)
    expect_error(c.refresh(), 437, stun.REFRESH)
    s = turn_server.wait_stats(lambda s: s.get("alloc_deleted") == 1)
    assert s["alloc_deleted"] == 1
    assert s["alloc_created"] == 1
    assert s["err_437"] == 2
    # The relayed port is closed: nothing comes back from it.
    peer.send(b"anyone?", relayed)
    assert c.recv_data(0.3) is None
    # The 5-tuple is free for a new allocation.
    expect_ok(c.allocate())


@pytest.mark.parametrize("method", [stun.REFRESH, stun.CREATE_PERMISSION,
                                    stun.CHANNEL_BIND])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_allocation_437(shared_turn, turn_client, peer, transport, method):
    c = turn_client(shared_turn, transport)
    if method == stun.REFRESH:
        r = c.refresh()
    elif method == stun.CREATE_PERMISSION:
        r = c.create_permission(peer.addr)
    else:
        r = c.channel_bind(0x4000, peer.addr)
    expect_error(r, 437, method)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_connection_close_deletes(turn_server, turn_client, transport):
    """RFC 8656 3.1: over TCP/TLS the allocation ends with its connection."""
    c = turn_client(turn_server, transport)
    expect_ok(c.allocate())
    c.close()
    s = turn_server.wait_stats(lambda s: s.get("alloc_deleted") == 1)
    assert s["alloc_deleted"] == 1
    assert s["alloc_expired"] == 0


def test_lifetime_attribute_wrong_size_400(shared_turn, turn_client):
    c = turn_client(shared_turn)
    r = c.allocate([(stun.LIFETIME, struct.pack("!H", 600))])
    expect_error(r, 400)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fingerprint_on_turn_messages(shared_turn, turn_client, peer,
                                      transport):
    """Requests and indications with FINGERPRINT after MESSAGE-INTEGRITY
    are accepted; the answers carry a right FINGERPRINT last (RFC 8489
    14.7) after a right MESSAGE-INTEGRITY."""
    c = turn_client(shared_turn, transport)
    c.fingerprint = True
    r = expect_ok(c.allocate())
    assert r.types()[-1] == stun.FINGERPRINT
    assert r.fingerprint_ok() is True
    assert r.integrity_ok(c.key) is True
    r = expect_ok(c.create_permission(peer.addr))
    assert r.fingerprint_ok() is True
    c.send_indication(peer.addr, b"fp")
    assert peer.recv(5.0) == (b"fp", c.relayed[0])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_retransmitted_allocate_answered_again(turn_server, turn_client,
                                              transport):
    """RFC 8656 7.2: the very same Allocate again (its answer was lost, so
    the client retransmits) gets the same success, with the same relayed
    address and a signed answer; another Allocate on the 5-tuple gets
    437."""
    c = turn_client(turn_server, transport)
    m0 = stun.turn_message(stun.ALLOCATE, attrs=[
        stun.requested_transport_attr(stun.PROTO_UDP)])
    r0 = c.exchange(m0, m0.encode())
    expect_error(r0, 401)
    c.learn(r0)                              # the realm and nonce
    m = stun.turn_message(stun.ALLOCATE,
                          attrs=[stun.requested_transport_attr(
                              stun.PROTO_UDP)])
    raw = c.sign(m)
    first = c.exchange(m, raw)
    expect_ok(first, stun.ALLOCATE)
    again = c.exchange(m, raw)
    expect_ok(again, stun.ALLOCATE)
    c.verify(again)
    assert again.tid == first.tid
    assert again.xor_relayed() == first.xor_relayed()
    assert 0 < again.lifetime() <= first.lifetime()
    expect_error(c.allocate(), 437, stun.ALLOCATE)
    s = turn_server.wait_stats(lambda s: s.get("err_437") == 1)
    assert s["alloc_created"] == 1
