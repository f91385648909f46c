"""Relaying (RFC 8656 9-12): CreatePermission, Send and Data indications,
ChannelBind and ChannelData both ways, over UDP, TCP and TLS, to IPv4 and
IPv6 peers.  The peers are UDP sockets of the test on loopback."""

import pytest

import stun
from conftest import TRANSPORTS, expect_error, expect_ok

FAMILIES = [4, 6]


def allocated(turn_client, server, transport="udp", family=4, attrs=()):
    c = turn_client(server, transport, family)
    expect_ok(c.allocate(attrs))
    return c


def to_peer(c, peer, payload, channel=None):
    """Client -> peer through the relay; asserts it arrives from the
    relayed address of the peer's family."""
    if channel is None:
        c.send_indication(peer.addr, payload)
    else:
        c.send_channel(channel, payload)
    got = peer.recv(5.0)
    assert got is not None, "%d bytes never reached the peer %s" % (
        len(payload), peer.addr)
    fam6 = ":" in peer.addr[0]
    relayed = [a for a in c.relayed if (":" in a[0]) == fam6]
    assert got == (payload, relayed[0])
    return got[1]


def from_peer(c, peer, payload, channel=None):
    """Peer -> client through the relay; a Data indication from the peer's
    address, or ChannelData on channel."""
    fam6 = ":" in peer.addr[0]
    relayed = [a for a in c.relayed if (":" in a[0]) == fam6][0]
    peer.send(payload, relayed)
    d = c.recv_data(5.0)
    assert d is not None, "%d bytes from %s never reached the client" % (
        len(payload), peer.addr)
    if channel is None:
        assert d == ("data", peer.addr, payload)
    else:
        assert d == ("chan", channel, payload)


# ------------------------------------------------------------- permissions

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_send_and_data_indications(turn_server, turn_client, peer, transport,
                                   family):
    c = allocated(turn_client, turn_server, transport, family)
    r = expect_ok(c.create_permission(peer.addr), stun.CREATE_PERMISSION)
    assert r.integrity_ok(c.key) is True
    to_peer(c, peer, b"hello peer")
    from_peer(c, peer, b"hello client!")
    to_peer(c, peer, b"x" * 1200)
    from_peer(c, peer, b"y" * 1200)
    s = turn_server.wait_stats(lambda s: s.get("relay_pkts_in") == 2)
    assert s["relay_pkts_out"] == 2
    assert s["relay_bytes_out"] == len(b"hello peer") + 1200
    assert s["relay_pkts_in"] == 2
    assert s["relay_bytes_in"] == len(b"hello client!") + 1200
    assert s["dropped_no_perm"] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_permission_dropped(turn_server, turn_client, peer, transport):
    c = allocated(turn_client, turn_server, transport)
    c.send_indication(peer.addr, b"not allowed yet")
    assert peer.recv(0.3) is None
    peer.send(b"nor this", c.relayed[0])
    assert c.recv_data(0.3) is None
    s = turn_server.wait_stats(lambda s: s.get("dropped_no_perm") == 2)
    assert s["dropped_no_perm"] == 2
    assert s["relay_pkts_out"] == 0 and s["relay_pkts_in"] == 0
    # The indication got no answer, and the flow is fine.
    expect_ok(c.create_permission(peer.addr))
    to_peer(c, peer, b"now")
    from_peer(c, peer, b"and back")


def test_permission_is_per_ip_address(shared_turn, turn_client, peers):
    """RFC 8656 9: a permission is for an IP address, any port."""
    c = allocated(turn_client, shared_turn)
    a = peers("127.0.0.1")
    b = peers("127.0.0.1")                  # same IP, another port
    expect_ok(c.create_permission(a.addr))
    from_peer(c, b, b"from b")
    to_peer(c, b, b"to b")
    # Another loopback address (allowed by policy) has no permission.
    other = stun.Peer("127.0.0.2")
    try:
        other.send(b"from 127.0.0.2", c.relayed[0])
        c.send_indication(other.addr, b"to 127.0.0.2")
        assert other.recv(0.3) is None
        assert c.recv_data(0.1) is None
    finally:
        other.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_several_peers_in_one_request(shared_turn, turn_client, transport):
    c = allocated(turn_client, shared_turn, transport)
    ps = [stun.Peer(ip) for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4")]
    try:
        expect_ok(c.create_permission(*[p.addr for p in ps]))
        for i, p in enumerate(ps):
            to_peer(c, p, b"to %d" % i)
            from_peer(c, p, b"from %d" % i)
    finally:
        for p in ps:
            p.close()


@pytest.mark.parametrize("denied_first", [False, True],
                         ids=["denied-last", "denied-first"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_create_permission_all_or_nothing(turn_factory, turn_client, peer,
                                          transport, denied_first):
    """One denied peer refuses the whole request: 403 and no permission
    for the others (RFC 8656 9.2)."""
    t = turn_factory({"relay": {"allow_peers": ["127.0.0.1/32", "::1/128"]}})
    c = allocated(turn_client, t, transport)
    denied = ("127.0.0.2", peer.addr[1])
    pl = [denied, peer.addr] if denied_first else [peer.addr, denied]
    expect_error(c.create_permission(*pl), 403, stun.CREATE_PERMISSION)
    c.send_indication(peer.addr, b"no permission was installed")
    assert peer.recv(0.3) is None
    peer.send(b"nor from here", c.relayed[0])
    assert c.recv_data(0.3) is None
    s = t.wait_stats(lambda s: s.get("dropped_no_perm") == 2)
    assert s["err_403"] == 1
    assert s["dropped_no_perm"] == 2
    assert s["relay_pkts_out"] == 0
    # The allowed peer alone is fine.
    expect_ok(c.create_permission(peer.addr))
    to_peer(c, peer, b"ok")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_peer_family_mismatch_443(turn_server, turn_client, transport):
    c4 = allocated(turn_client, turn_server, transport)
    expect_error(c4.create_permission(("::1", 40000)), 443)
    expect_error(c4.channel_bind(0x4000, ("::1", 40000)), 443)
    c6 = allocated(turn_client, turn_server, transport, attrs=[
        stun.family_attr(stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V6)])
    expect_error(c6.create_permission(("127.0.0.1", 40000)), 443)
    # All or nothing here too: one good peer and one of the wrong family.
    expect_error(c6.create_permission(("::1", 40000), ("127.0.0.1", 40000)),
                 443)
    s = turn_server.wait_stats(lambda s: s.get("err_443") == 4)
    assert s["err_443"] == 4


def test_create_permission_without_peer_400(shared_turn, turn_client):
    c = allocated(turn_client, shared_turn)
    expect_error(c.request(stun.CREATE_PERMISSION, []), 400)


def test_send_to_denied_peer_counted(turn_factory, turn_client, peer):
    """A Send indication to a peer the policy refuses is dropped and counted
    as dropped_denied_peer.  (127.0.0.2 is denied here: loopback, and only
    127.0.0.1 is allowed; nothing listens there.)"""
    t = turn_factory({"relay": {"allow_peers": ["127.0.0.1/32"]}})
    c = allocated(turn_client, t)
    expect_ok(c.create_permission(peer.addr))
    c.send_indication(("127.0.0.2", peer.addr[1]), b"denied")
    to_peer(c, peer, b"allowed")        # the flow goes on
    s = t.wait_stats(lambda s: s.get("dropped_denied_peer") == 1)
    assert s["dropped_denied_peer"] == 1, \
        "Send to a denied peer: dropped_denied_peer=%s dropped_no_perm=%s" % (
            s.get("dropped_denied_peer"), s.get("dropped_no_perm"))
    assert s["relay_pkts_out"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_allocation_dropped(turn_server, turn_client, peer, transport):
    """Dropped and counted; a stream is closed on the ChannelData, which
    without an allocation can never be relayed (src/net/stream.c)."""
    c = turn_client(turn_server, transport)
    c.send_indication(peer.addr, b"no allocation")
    if transport != "udp":
        expect_error(c.exchange(stun.turn_message(stun.REFRESH)), 401)
    c.send_channel(0x4000, b"nor here")
    if transport == "udp":
        # Still served afterwards (an unsigned request: the challenge).
        r = c.exchange(stun.turn_message(stun.REFRESH))
        expect_error(r, 401)
    else:
        assert c.conn.wait_closed(5.0)
    assert peer.recv(0.2) is None
    s = turn_server.wait_stats(lambda s: s.get("dropped_no_alloc") == 2)
    assert s["dropped_no_alloc"] == 2
    assert s["conn_closed_garbage"] == (transport != "udp")


@pytest.mark.parametrize("bad", ["no-peer", "no-data"])
def test_malformed_send_indication_dropped(shared_turn, turn_client, peer,
                                           bad):
    c = allocated(turn_client, shared_turn)
    expect_ok(c.create_permission(peer.addr))
    attrs = [stun.xpeer(*peer.addr)] if bad == "no-data" \
        else [(stun.DATA, b"where to?")]
    c.send_raw(stun.turn_message(stun.SEND, stun.INDICATION, attrs).encode())
    assert peer.recv(0.3) is None
    assert c.recv_data(0.05) is None
    to_peer(c, peer, b"fine")


# ------------------------------------------------------------- channels

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_channel_data_both_ways(turn_server, turn_client, peer, transport,
                                family):
    c = allocated(turn_client, turn_server, transport, family)
    r = expect_ok(c.channel_bind(0x4000, peer.addr), stun.CHANNEL_BIND)
    assert r.integrity_ok(c.key) is True
    # Every length modulo 4: over streams the padding is checked both ways
    # (stun.parse_channel_data is strict about it).
    sent = 0
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 100, 1201):
        payload = bytes(range(256))[:n] if n < 256 else b"z" * n
        to_peer(c, peer, payload, channel=0x4000)
        from_peer(c, peer, payload[::-1], channel=0x4000)
        sent += n
    s = turn_server.wait_stats(lambda s: s.get("relay_pkts_in") == 10)
    assert s["relay_pkts_out"] == 10 and s["relay_pkts_in"] == 10
    assert s["relay_bytes_out"] == sent and s["relay_bytes_in"] == sent


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_channel_data_back_to_back_on_streams(shared_turn, turn_client, peer,
                                              transport):
    """Peer datagrams of odd lengths arrive as padded ChannelData frames
    one after the other in the stream, and several client frames in one
    write are all relayed."""
    c = allocated(turn_client, shared_turn, transport)
    expect_ok(c.channel_bind(0x4abc, peer.addr))
    payloads = [b"p" * n for n in range(1, 30)]
    for p in payloads:
        peer.send(p, c.relayed[0])
    for p in payloads:
        assert c.recv_data(5.0) == ("chan", 0x4abc, p)
    c.send_raw(b"".join(stun.channel_data(0x4abc, p, pad=True)
                        for p in payloads))
    for p in payloads:
        assert peer.recv(5.0) == (p, c.relayed[0])


def test_udp_channel_data_unpadded_accepted(shared_turn, turn_client, peer):
    """Over UDP the padding is optional (RFC 8656 12.5)."""
    c = allocated(turn_client, shared_turn)
    expect_ok(c.channel_bind(0x4000, peer.addr))
    for pad in (False, True):
        c.send_channel(0x4000, b"abcde", pad=pad)
        assert peer.recv(5.0) == (b"abcde", c.relayed[0])


@pytest.mark.parametrize("channel,code", [
    (0x4000, None), (0x4001, None), (0x4FFF, None),
    (0x0000, 400), (0x3FFF, 400), (0x5000, 400), (0x7FFE, 400),
    (0x7FFF, 400), (0x8000, 400), (0xFFFF, 400)])
def test_channel_number_range(shared_turn, turn_client, peer, channel, code):
    c = allocated(turn_client, shared_turn)
    r = c.channel_bind(channel, peer.addr)
    if code is None:
        expect_ok(r)
        to_peer(c, peer, b"on %#x" % channel, channel=channel)
        from_peer(c, peer, b"back", channel=channel)
    else:
        expect_error(r, code, stun.CHANNEL_BIND)


@pytest.mark.parametrize("channel,code", [
    (0x4000, None), (0x4FFF, None), (0x5000, None), (0x7FFE, None),
    (0x3FFF, 400), (0x7FFF, 400), (0x8000, 400)])
def test_rfc5766_channels(turn_factory, turn_client, peer, channel, code):
    t = turn_factory({"relay": {"rfc5766_channels": True}})
    c = allocated(turn_client, t)
    r = c.channel_bind(channel, peer.addr)
    if code is None:
        expect_ok(r)
        to_peer(c, peer, b"on %#x" % channel, channel=channel)
        from_peer(c, peer, b"back", channel=channel)
    else:
        expect_error(r, code)


def test_channel_bind_missing_attributes_400(shared_turn, turn_client, peer):
    c = allocated(turn_client, shared_turn)
    expect_error(c.request(stun.CHANNEL_BIND,
                           [stun.channel_number_attr(0x4000)]), 400)
    expect_error(c.request(stun.CHANNEL_BIND, [stun.xpeer(*peer.addr)]), 400)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_channel_bind_conflicts(shared_turn, turn_client, peers, transport):
    c = allocated(turn_client, shared_turn, transport)
    a, b = peers(), peers()
    expect_ok(c.channel_bind(0x4000, a.addr))
    # The channel is taken by another peer...
    expect_error(c.channel_bind(0x4000, b.addr), 400)
    # ... and the peer has its channel.
    expect_error(c.channel_bind(0x4001, a.addr), 400)
    # The same pair again refreshes.
    expect_ok(c.channel_bind(0x4000, a.addr))
    expect_ok(c.channel_bind(0x4001, b.addr))
    to_peer(c, a, b"a", channel=0x4000)
    to_peer(c, b, b"b", channel=0x4001)
    from_peer(c, a, b"from a", channel=0x4000)
    from_peer(c, b, b"from b", channel=0x4001)


def test_channel_bind_installs_permission(shared_turn, turn_client, peer):
    """RFC 8656 11.2: a ChannelBind also installs a permission."""
    c = allocated(turn_client, shared_turn)
    expect_ok(c.channel_bind(0x4321, peer.addr))
    # Send indications to the peer work without CreatePermission.
    to_peer(c, peer, b"by indication")
    # Another port of the peer's IP: a Data indication, not ChannelData
    # (the channel is for one transport address).
    other = stun.Peer("127.0.0.1")
    try:
        from_peer(c, other, b"other port")
    finally:
        other.close()
    from_peer(c, peer, b"bound port", channel=0x4321)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unbound_channel_dropped(turn_server, turn_client, peer, transport):
    """Dropped and counted; a stream is closed on it (src/net/stream.c)."""
    c = allocated(turn_client, turn_server, transport)
    expect_ok(c.channel_bind(0x4000, peer.addr))
    to_peer(c, peer, b"bound", channel=0x4000)
    c.send_channel(0x4001, b"unbound")
    if transport == "udp":
        to_peer(c, peer, b"bound again", channel=0x4000)
    else:
        assert c.conn.wait_closed(5.0)
    s = turn_server.wait_stats(lambda s: s.get("dropped_chandata") == 1)
    assert s["dropped_chandata"] == 1
    assert s["relay_pkts_out"] == 1 + (transport == "udp")
    assert s["conn_closed_garbage"] == (transport != "udp")


# ------------------------------------------------------------- IPv6, c2c

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ipv6_relay(shared_turn, turn_client, peers, transport, family):
    c = allocated(turn_client, shared_turn, transport, family, attrs=[
        stun.family_attr(stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V6)])
    assert c.relayed[0][0] == "::1"
    p = peers("::1")
    expect_ok(c.create_permission(p.addr))
    to_peer(c, p, b"over v6")
    from_peer(c, p, b"back over v6")
    expect_ok(c.channel_bind(0x4444, p.addr))
    to_peer(c, p, b"v6 channel", channel=0x4444)
    from_peer(c, p, b"v6 channel back", channel=0x4444)


@pytest.mark.parametrize("t1,t2", [("udp", "udp"), ("udp", "tcp"),
                                   ("tls", "tcp")])
def test_client_to_client(shared_turn, turn_client, t1, t2):
    """Two allocations relay to each other's relayed addresses."""
    c1 = allocated(turn_client, shared_turn, t1)
    c2 = allocated(turn_client, shared_turn, t2)
    r1, r2 = c1.relayed[0], c2.relayed[0]
    expect_ok(c1.create_permission(r2))
    expect_ok(c2.channel_bind(0x4000, r1))
    c1.send_indication(r2, b"one to two")
    assert c2.recv_data(5.0) == ("chan", 0x4000, b"one to two")
    c2.send_channel(0x4000, b"two to one")
    assert c1.recv_data(5.0) == ("data", r2, b"two to one")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_burst_relayed_in_order(shared_turn, turn_client, peer, transport):
    """50 datagrams each way in a burst all arrive, in order (loopback)."""
    c = allocated(turn_client, shared_turn, transport)
    expect_ok(c.channel_bind(0x4000, peer.addr))
    msgs = [b"%03d" % i + b"." * 97 for i in range(50)]
    for m in msgs:
        c.send_channel(0x4000, m)
    got = [peer.recv(5.0) for _ in msgs]
    assert [g[0] if g else None for g in got] == msgs
    for m in msgs:
        peer.send(m, c.relayed[0])
    back = [c.recv_data(5.0) for _ in msgs]
    assert back == [("chan", 0x4000, m) for m in msgs]
