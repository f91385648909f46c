"""Peer policy hardening (turnd.conf(5) relay.allow_peers, policy.h):

* turnd's own addresses are the kernel's view at the time of each
  CreatePermission and ChannelBind, so an address the host gains after
  start is own at once (a relay to turnd's listener through it would be
  a relay loop) and stops being own once it is removed.  These tests run
  in a network namespace of their own, where the test adds and removes
  addresses.
* IPv6 forms that embed an IPv4 address besides the mapped one,
  IPv4-compatible ::a.b.c.d (::/96) and IPv4-translated ::ffff:0:a.b.c.d
  (::ffff:0:0:0/96), are denied by default.
"""

import ctypes
import os
import subprocess

import pytest

import harness
import stun
from conftest import RELAY_MIN_PORT, dual, expect_error, expect_ok

CLONE_NEWNET = 0x40000000

# Ordinary unicast outside every built-in range (the unit tests' own
# addresses); they exist only inside the test's namespace, on its lo.
LATER4 = "192.0.3.1"
LATER6 = "2a00:1::10"

# A relay port nothing listens on (conftest's range is 20000-29999).
FREE_RELAY_PORT = RELAY_MIN_PORT + 4321


def _setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def ip(*args):
    """ip(8) in the current network namespace; fails the test on error."""
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, "ip %s: %s" % (" ".join(args), r.stderr)


@pytest.fixture
def netns():
    """A network namespace of this test, with lo up, that the test process
    enters (turnd started from it and every socket it makes live in it);
    left and deleted at teardown.  List it before turn_factory so that
    turnd is stopped before the namespace goes."""
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root")
    name = "turnd-hp-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True,
                   capture_output=True, timeout=10)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        fd = os.open("/run/netns/" + name, os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)
        ip("link", "set", "lo", "up")
        yield name
    finally:
        _setns(home)
        os.close(home)
        subprocess.run(["ip", "netns", "del", name], capture_output=True,
                       timeout=10)


def wildcard_turn(turn_factory):
    """A TURN server with its UDP listener on 0.0.0.0 and [::] (every
    address of the host reaches it) and only the built-in policy."""
    t = turn_factory({"relay": {"allow_peers": None}}, start=False)
    t.config["listen"]["udp"] = ["0.0.0.0:%d" % t.port, "[::]:%d" % t.port]
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    return t.start()


# ------------------------------------------------- addresses after start

@pytest.mark.parametrize("later", [LATER4, LATER6])
def test_address_added_after_start_is_own(netns, turn_factory, turn_client,
                                          later):
    t = wildcard_turn(turn_factory)
    c = dual(turn_client, t)
    listener = (later, t.port)
    plen = "/128" if ":" in later else "/32"

    # not the host's yet: an ordinary peer, any port
    expect_ok(c.create_permission(listener), stun.CREATE_PERMISSION)

    ip("addr", "add", later + plen, "dev", "lo", *(
        ["nodad"] if ":" in later else []))
    # at once: no event to wait for, the kernel is asked per request
    expect_error(c.channel_bind(0x4000, listener), 403, stun.CHANNEL_BIND)
    expect_error(c.create_permission(listener), 403, stun.CREATE_PERMISSION)
    expect_error(c.create_permission((later, t.tls_port)), 403)
    # own addresses keep client-to-client relaying on relay ports
    expect_ok(c.create_permission((later, FREE_RELAY_PORT)))

    ip("addr", "del", later + plen, "dev", "lo")
    expect_ok(c.channel_bind(0x4000, listener), stun.CHANNEL_BIND)

    s = t.stats()
    assert s["err_403"] == 3, s
    assert s["local_lookup_failed"] == 0, s


def test_relay_loop_refused(netns, turn_factory, turn_client):
    """The loop itself: with the address added, ChannelData to turnd's
    listener through it has no channel to go on, and the listener answers
    no relayed Binding (stun_requests counts only the client's own)."""
    t = wildcard_turn(turn_factory)
    c = dual(turn_client, t)
    ip("addr", "add", LATER4 + "/32", "dev", "lo")
    expect_error(c.channel_bind(0x4001, (LATER4, t.port)), 403)
    before = t.stats()
    c.send_channel(0x4001, stun.binding_request().encode())
    s = t.wait_stats(lambda s: s.get("dropped_chandata", 0) >
                     before.get("dropped_chandata", 0))
    assert s["dropped_chandata"] == before["dropped_chandata"] + 1, s
    assert s["stun_requests"] == before["stun_requests"], s


# ------------------------------------------------- IPv4 embedded in IPv6

SHARED_TURN_OVERRIDES = {"relay": {"allow_peers": None}}

EMBEDDED = ["::127.0.0.1", "::10.0.0.1", "::ffff:0:127.0.0.1",
            "::ffff:0:10.0.0.1", "::8.8.8.8", "::ffff:0:8.8.8.8",
            "::169.254.169.254"]


@pytest.mark.parametrize("peer_ip", EMBEDDED)
def test_embedded_ipv4_denied(shared_turn, turn_client, peer_ip):
    c = dual(turn_client, shared_turn)
    expect_error(c.create_permission((peer_ip, 3478)), 403,
                 stun.CREATE_PERMISSION)
    expect_error(c.channel_bind(0x4000, (peer_ip, 3478)), 403,
                 stun.CHANNEL_BIND)
    # the mapped form of a public address is still a public address
    expect_ok(c.create_permission(("::ffff:8.8.8.8", 3478)))


def test_embedded_ipv4_send_dropped(turn_factory, turn_client):
    t = turn_factory(SHARED_TURN_OVERRIDES)
    c = dual(turn_client, t)
    c.send_indication(("::127.0.0.1", 3478), b"loop?")
    c.send_indication(("::ffff:0:127.0.0.1", 3478), b"loop?")
    s = t.wait_stats(lambda s: s.get("dropped_denied_peer") == 2)
    assert s["dropped_denied_peer"] == 2, s
    assert s["dropped_no_perm"] == 0, s


def test_embedded_ipv4_follows_allow_peers(turn_factory, turn_client):
    """The embedded address is checked like a mapped one: an allow of
    10.0.0.0/8 covers ::10.1.2.3 and ::ffff:0:10.1.2.3, not ::127.0.0.1."""
    t = turn_factory({"relay": {"allow_peers": ["10.0.0.0/8"]}})
    c = dual(turn_client, t)
    expect_ok(c.create_permission(("::10.1.2.3", 3478)))
    expect_ok(c.create_permission(("::ffff:0:10.1.2.3", 3478)))
    expect_error(c.create_permission(("::127.0.0.1", 3478)), 403)


# ------------------------------------------------- listeners, allowed or not

def test_own_listener_refused_even_when_allowed(turn_factory, turn_client):
    """relay.allow_peers 127.0.0.0/8 (the tests' default) lets clients
    relay to loopback, but never to turnd's own listeners there: that
    would be a relay loop (policy.h step 2)."""
    t = turn_factory()
    c = turn_client(t)
    expect_ok(c.allocate())
    for port in (t.port, t.tls_port):
        expect_error(c.create_permission(("127.0.0.1", port)), 403,
                     stun.CREATE_PERMISSION)
        expect_error(c.channel_bind(0x4000, ("127.0.0.1", port)), 403,
                     stun.CHANNEL_BIND)
    # any other loopback port stays allowed, as the allow says
    expect_ok(c.create_permission(("127.0.0.1", FREE_RELAY_PORT)))
    expect_ok(c.create_permission(("127.0.0.1", 22)))
    s = t.stats()
    assert s["err_403"] == 4, s
