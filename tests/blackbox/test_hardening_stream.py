"""TCP and TLS under abuse: text from scanners on a stream port.

What src/net/stream.c promises: a ChannelData header that cannot be
relayed closes the connection at once instead of waiting for the frame
it announces.
"""

import socket
import time

import pytest

import stun
from conftest import STREAMS, expect_ok
from test_stream import ok


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
