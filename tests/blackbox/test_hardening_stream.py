"""TCP and TLS under abuse: a trickled TLS handshake, accept at the
descriptor limit, text from scanners on a stream port.

The deadlines here are what src/net/stream.c promises: a TLS handshake is
done within limits.frame_timeout of the accept, whatever trickles in; out
of descriptors a listener pauses instead of spinning on accept(); a
ChannelData header that cannot be relayed closes the connection at once
instead of waiting for the frame it announces.
"""

import os
import resource
import socket
import subprocess
import time

import pytest

import harness
import stun
from conftest import STREAMS, expect_ok
from test_stream import client_hello, ok


def turnd_end_inode(t, sock, timeout=5.0):
    """The inode of turnd's end of sock once turnd has accepted it (a
    connection still in the listen queue has no descriptor, inode 0)."""
    def accepted():
        e = harness.far_end(sock)
        return e is not None and e[2] != 0 and e[2]
    return harness.poll_until(accepted, timeout, "turnd to accept")


def closed_within(t, inode, timeout):
    """True once turnd has no descriptor for inode, False after timeout."""
    try:
        t.wait_sock_closed(inode, timeout)
        return True
    except AssertionError:
        if not t.alive():
            raise
        return False


# ------------------------------------------------------------- TLS handshake

def test_tls_handshake_deadline_counts_from_accept(turnd_factory):
    """One byte of ClientHello a second: each byte restarts a read
    timeout, so only a deadline from the accept ends it.  frame_timeout
    3 s, idle 6 s: closed about 3 s after the accept, hundreds of bytes
    before the ClientHello is in; a handshake done in time is not
    touched by that deadline."""
    t = turnd_factory({"workers": 1,
                       "limits": {"frame_timeout": 3, "idle_timeout": 6}})
    good = t.client("tls")              # handshake done: idle rules apply
    assert ok(good)
    hello = client_hello()
    raw = socket.create_connection(t.addr("tls"), timeout=5)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inode = turnd_end_inode(t, raw)
        t0 = time.monotonic()
        closed = False
        sent = 0
        # One byte, then up to 1 s for turnd to close its end: the pace
        # of the trickle.  Bounded at 10 s (over three deadlines).
        for sent in range(1, len(hello)):
            try:
                raw.send(hello[sent - 1:sent])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed or closed_within(t, inode, 1.0):
                closed = True
                break
            if time.monotonic() - t0 > 10.0:
                break
        elapsed = time.monotonic() - t0
    finally:
        raw.close()
    assert closed, "a trickled handshake still open after %.1f s (%d of %d " \
        "bytes), frame_timeout is 3 s" % (elapsed, sent, len(hello))
    assert 2.5 <= elapsed <= 4.5, \
        "closed %.2f s after the accept, frame_timeout is 3 s" % elapsed
    assert sent < len(hello) // 4
    assert ok(good), "a connection past its handshake was closed"
    assert t.binding_ok("tls")
    s = t.wait_stats(lambda s: s.get("tls_handshake_failed") == 1)
    assert s["tls_handshake_failed"] == 1, s
    assert s["conn_closed_idle"] == 0 and s["conn_closed_stall"] == 0, s


# ------------------------------------------------------------- fd limit

def cpu_seconds(pid):
    """utime + stime of pid (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_pauses_at_descriptor_limit(turnd_factory):
    """Out of descriptors the listener pauses (accept_paused) instead of
    failing accept() in a loop: turnd stays near idle, UDP is answered,
    and once descriptors come back the queued connections are served."""
    t = turnd_factory({"workers": 1,
                       "limits": {"connections_per_source": 1000}})
    nfd = len(os.listdir("/proc/%d/fd" % t.pid))
    soft, hard = resource.prlimit(t.pid, resource.RLIMIT_NOFILE)
    room, queued = 6, 40
    conns = []
    resource.prlimit(t.pid, resource.RLIMIT_NOFILE, (nfd + room, hard))
    try:
        for _ in range(queued):
            conns.append(t.client("tcp"))   # the kernel completes them
        s = t.wait_stats(lambda s: s.get("accept_paused", 0) >= 3)
        assert s.get("accept_paused", 0) >= 3, s
        assert s["conn_accepted"] <= room, s
        # At the limit: near idle, and UDP answered.
        c0, t0 = cpu_seconds(t.pid), time.monotonic()
        assert t.binding_ok("udp"), "UDP not answered at the fd limit"
        # A measuring window, not a synchronisation.
        time.sleep(1.0)
        cpu = (cpu_seconds(t.pid) - c0) / (time.monotonic() - t0)
        assert cpu < 0.2, "turnd used %.0f%% of a core at the fd limit" % (
            100 * cpu)
        s = t.stats()
        assert s["conn_accepted"] <= room, s
    finally:
        resource.prlimit(t.pid, resource.RLIMIT_NOFILE, (soft, hard))
    # Descriptors back: every queued connection is accepted and served.
    s = t.wait_stats(lambda s: s.get("conn_accepted") == queued)
    assert s["conn_accepted"] == queued, s
    for c in conns:
        assert ok(c), "a connection queued at the fd limit was not served"
    assert t.binding_ok("tcp")


def test_listen_queue_is_listen_backlog(turnd):
    """Each TCP and TLS listener keeps the queue listen.c asked for
    (LISTEN_BACKLOG 1024, src/net/listen.c): it is what holds
    connections while accept pauses.  ss(8) shows a listening socket's
    backlog as its Send-Q."""
    ports = {turnd.port, turnd.tls_port}
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    backlogs = []
    for line in out.splitlines():
        x = line.split()
        if int(x[3].rsplit(":", 1)[1]) in ports:
            backlogs.append(int(x[2]))
    # two workers, each with a socket per address: 2 x (v4, v6) x 2 ports
    assert len(backlogs) == 8, out
    assert backlogs == [1024] * 8, backlogs


# ------------------------------------------------------------- scanners

TEXT = {
    # "GE": ChannelData on 0x4745 (in 0x4000-0x4FFF), length "T " 21536
    "http": b"GET / HTTP/1.1\r\nHost: turn.example\r\n\r\n",
    # "SS": 0x5353, outside 0x4000-0x4FFF (RFC 8656 12)
    "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
    # "HE": 0x4845 with 'AD' = 16708 bytes, a header alone
    "http_head_4": b"HEAD",
}


@pytest.mark.parametrize("kind", sorted(TEXT))
@pytest.mark.parametrize("transport", STREAMS)
def test_text_without_allocation_closed_at_once(turnd_factory, transport,
                                                kind):
    """A scanner's text reads as a ChannelData header announcing kilobytes;
    with no allocation on the connection no such frame can be relayed:
    closed at once (not after frame_timeout 10 s) and counted."""
    t = turnd_factory({"limits": {"frame_timeout": 10}})
    c = t.client(transport)
    assert ok(c)                        # an answered request before it
    t0 = time.monotonic()
    c.send(TEXT[kind])
    assert c.wait_closed(3.0), "%s on %s held open" % (kind, transport)
    assert time.monotonic() - t0 < 3.0
    assert t.binding_ok(transport)
    s = t.wait_stats(lambda s: s.get("conn_closed_garbage") == 1)
    assert s["conn_closed_garbage"] == 1, s
    assert s["dropped_no_alloc"] == 1, s
    assert s["conn_closed_stall"] == 0, s


def allocated(turn_client, server, transport):
    c = turn_client(server, transport)
    expect_ok(c.allocate())
    return c


@pytest.mark.parametrize("how", ["unbound", "out_of_range", "whole_frame"])
@pytest.mark.parametrize("transport", STREAMS)
def test_unusable_channel_with_allocation_closed_at_once(
        turn_server, turn_client, peer, transport, how):
    """With an allocation, ChannelData on a channel not bound (0x4001, or
    0x5353 outside 0x4000-0x4FFF) is closed at once too: on the header
    alone, or a whole frame; a bound channel's half frame is waited for."""
    c = allocated(turn_client, turn_server, transport)
    expect_ok(c.channel_bind(0x4000, peer.addr))
    # A bound channel: the header and half the data, then the rest.
    frame = stun.channel_data(0x4000, b"bound and split")
    c.send_raw(frame[:9])
    turn_server.wait_read(c.conn)       # taken, and the connection is up
    c.send_raw(frame[9:])
    assert peer.recv(5.0) == (b"bound and split", c.relayed[0])
    if how == "whole_frame":
        bad = stun.channel_data(0x4001, b"nobody")
    else:
        chan = 0x4001 if how == "unbound" else 0x5353
        bad = stun.channel_data(chan, b"x" * 20000)[:8]
    c.send_raw(bad)
    assert c.conn.wait_closed(3.0), "%s channel data held open" % how
    assert peer.recv(0.2) is None
    s = turn_server.wait_stats(lambda s: s.get("conn_closed_garbage") == 1)
    assert s["conn_closed_garbage"] == 1, s
    assert s["dropped_chandata"] == 1, s
    assert s["relay_pkts_out"] == 1, s
