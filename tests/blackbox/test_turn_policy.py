"""Peer policy (RFC 8656 21, turnd.conf(5) relay.allow_peers/deny_peers):
without relay.allow_peers, special-purpose addresses are refused with 403
on CreatePermission and ChannelBind.

Nothing here sends a datagram to a peer: CreatePermission and ChannelBind
install state only.  The allocations are dual (IPv4 + IPv6) so that every
peer's family has a relayed address and the answer is about the policy,
not 443.
"""

import pytest

import stun
from conftest import dual, expect_error, expect_ok

# The built-in policy alone: no allow_peers.
SHARED_TURN_OVERRIDES = {"relay": {"allow_peers": None}}

PORT = 40000

DENIED = ["0.0.0.0", "::", "127.0.0.1", "::1", "::ffff:127.0.0.1",
          "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
          "169.254.169.254", "224.0.0.1", "255.255.255.255", "fe80::1",
          "fc00::1", "2001::1", "2002::1"]

PUBLIC = ["8.8.8.8", "2001:4860:4860::8888"]


@pytest.mark.parametrize("ip", DENIED)
def test_create_permission_denied_403(shared_turn, turn_client, ip):
    c = dual(turn_client, shared_turn)
    expect_error(c.create_permission((ip, PORT)), 403, stun.CREATE_PERMISSION)


@pytest.mark.parametrize("ip", DENIED)
def test_channel_bind_denied_403(shared_turn, turn_client, ip):
    c = dual(turn_client, shared_turn)
    expect_error(c.channel_bind(0x4000, (ip, PORT)), 403, stun.CHANNEL_BIND)
    # Nothing was bound: the channel is still free.
    expect_ok(c.channel_bind(0x4000, ("8.8.8.8", PORT)))


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_peer_allowed(shared_turn, turn_client, ip):
    c = dual(turn_client, shared_turn)
    expect_ok(c.create_permission((ip, PORT)), stun.CREATE_PERMISSION)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_denied_over_streams(shared_turn, turn_client, transport):
    c = dual(turn_client, shared_turn, transport)
    expect_error(c.create_permission(("127.0.0.1", PORT)), 403)
    expect_error(c.channel_bind(0x4000, ("::1", PORT)), 403)
    expect_ok(c.create_permission(("8.8.8.8", PORT)))


def test_denied_counted(turn_factory, turn_client):
    t = turn_factory(SHARED_TURN_OVERRIDES)
    c = dual(turn_client, t)
    expect_error(c.create_permission(("10.0.0.1", PORT)), 403)
    expect_error(c.create_permission(("8.8.8.8", PORT), ("192.168.1.1", PORT)),
                 403)
    expect_error(c.channel_bind(0x4000, ("fe80::1", PORT)), 403)
    s = t.wait_stats(lambda s: s.get("err_403") == 3)
    assert s["err_403"] == 3


def test_allow_peers_overrides_builtin(turn_factory, turn_client):
    t = turn_factory({"relay": {"allow_peers": ["10.0.0.0/8"]}})
    c = dual(turn_client, t)
    expect_ok(c.create_permission(("10.1.2.3", PORT)))
    expect_error(c.create_permission(("10.1.2.3", PORT),
                                     ("172.16.0.1", PORT)), 403)
    expect_error(c.create_permission(("127.0.0.1", PORT)), 403)


def test_deny_peers_adds_ranges(turn_factory, turn_client):
    t = turn_factory({"relay": {"allow_peers": None,
                                "deny_peers": ["8.8.4.0/24", "2001:4860::/32"]}})
    c = dual(turn_client, t)
    expect_error(c.create_permission(("8.8.4.4", PORT)), 403)
    expect_error(c.create_permission(("2001:4860:4860::8844", PORT)), 403)
    expect_ok(c.create_permission(("8.8.8.8", PORT)))


def test_loopback_needs_allow_peers(turn_factory, turn_client, peer):
    """The default policy refuses loopback; the same peer is fine once
    allowed (test servers elsewhere rely on this)."""
    t_deny = turn_factory(SHARED_TURN_OVERRIDES)
    t_allow = turn_factory()
    expect_error(turn_client(t_deny).create_permission(peer.addr), 437)
    c = turn_client(t_deny)
    expect_ok(c.allocate())
    expect_error(c.create_permission(peer.addr), 403)
    c = turn_client(t_allow)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(peer.addr))
