"""Datagrams that are not STUN: dropped silently, counted, server unharmed."""

import random
import struct

import pytest

import stun


def garbage_datagrams():
    rnd = random.Random(5389)
    req = stun.binding_request([stun.software_attr("probe")])
    good = req.encode(fingerprint=True)
    wrong_cookie = stun.Message(req.type, req.tid, req.attrs,
                                cookie=0x2112A443).encode()
    return {
        # first byte 0xde: neither STUN (00) nor ChannelData (01)
        "random": bytes([0xDE]) + bytes(rnd.getrandbits(8) for _ in range(63)),
        "one_byte": b"\x00",
        "short_header": good[:10],
        "wrong_cookie": wrong_cookie,
        "rfc3489_no_cookie": struct.pack("!HH", 0x0001, 0) + bytes(16),
        "length_too_big": good[:2] + struct.pack("!H", len(good) - 20 + 4) + good[4:],
        "length_too_small": good[:2] + struct.pack("!H", len(good) - 20 - 4) + good[4:],
        "trailing_bytes": good + b"\0\0\0\0",
        "length_not_mult4": good[:2] + struct.pack("!H", 2) + good[4:20] + b"ab",
        "top_bits_set": b"\xc0\x01" + good[2:],
    }


@pytest.mark.parametrize("family", [4, 6])
def test_garbage_dropped_and_counted(turnd, family):
    c = turnd.client("udp", family)
    g = garbage_datagrams()
    for data in g.values():
        c.send(data)
    req = stun.binding_request()
    r = c.request(req)              # fails if any garbage was answered
    assert r.cls == stun.SUCCESS and r.xor_mapped() == c.local
    assert c.expect_nothing(0.3) is None
    s = turnd.wait_stats(lambda s: s.get("dropped_notstun") == len(g))
    assert s["dropped_notstun"] == len(g), s
    assert s["error_responses"] == 0
    assert s["binding_success"] == 1
    # And a fresh client is served too.
    assert turnd.binding_ok("udp", family)


def test_every_truncation_dropped(turnd):
    """Each proper prefix of a valid request (1..n-1 bytes) is not STUN."""
    c = turnd.client("udp")
    full = stun.binding_request([stun.software_attr("truncate me")]).encode(
        fingerprint=True)
    for n in range(1, len(full)):
        c.send(full[:n])
    req = stun.binding_request()
    r = c.request(req)
    assert r.cls == stun.SUCCESS
    s = turnd.wait_stats(lambda s: s.get("dropped_notstun") == len(full) - 1)
    assert s["dropped_notstun"] == len(full) - 1, s
    assert s["error_responses"] == 0


def test_channeldata_without_allocation_dropped(turnd):
    c = turnd.client("udp")
    c.send(stun.channel_data(0x4000, b"hello", pad=False))
    c.send(stun.channel_data(0x4FFF, b"", pad=False))
    r = c.request(stun.binding_request())
    assert r.cls == stun.SUCCESS
    assert c.expect_nothing(0.3) is None
    s = turnd.wait_stats(lambda s: s.get("dropped_no_alloc") == 2)
    assert s["dropped_no_alloc"] == 2, s
    assert s["dropped_notstun"] == 0


def test_empty_datagram_ignored(turnd):
    c = turnd.client("udp")
    c.send(b"")
    r = c.request(stun.binding_request())
    assert r.cls == stun.SUCCESS


def test_random_attribute_areas_survive(turnd):
    """Valid headers over random attribute bytes: answer or drop, never die.

    Every answer must decode strictly and belong to a request sent.
    """
    rnd = random.Random(8489)
    c = turnd.client("udp")
    tids = set()
    for i in range(300):
        n = rnd.randrange(0, 16) * 4
        body = bytes(rnd.getrandbits(8) for _ in range(n))
        if i % 3 == 0 and n >= 4:
            # give it a plausible attribute header
            body = struct.pack("!HH", rnd.choice([0x0001, 0x0020, 0x8022,
                                                   0x8028, 0x0009, 0x000A,
                                                   0x0003, 0x7FFF, 0x8000]),
                               rnd.randrange(0, n)) + body[4:]
        tid = bytes(rnd.getrandbits(8) for _ in range(12))
        tids.add(tid)
        c.send(struct.pack("!HHI", 0x0001, n, stun.MAGIC) + tid + body)
    answered = 0
    for _ in range(300):
        data = c.recv(0.5)
        if data is None:
            break
        r = stun.decode(data)
        assert r.tid in tids
        assert r.cls in (stun.SUCCESS, stun.ERROR)
        if r.cls == stun.ERROR:
            assert r.error_code() in (400, 401, 420), r
        answered += 1
    assert turnd.alive()
    assert turnd.binding_ok("udp")
    s = turnd.stats()
    assert s["binding_success"] + s["error_responses"] >= answered


def test_bit_flips_survive(turnd):
    """Single-bit flips of a full request: every answer is well formed."""
    c = turnd.client("udp")
    req = stun.binding_request([stun.software_attr("flip"),
                                (stun.XOR_MAPPED_ADDRESS,
                                 stun.encode_addr("::1", 9, bytes(12)))])
    full = req.encode(fingerprint=True)
    for bit in range(len(full) * 8):
        b = bytearray(full)
        b[bit // 8] ^= 1 << (bit % 8)
        c.send(bytes(b))
    for _ in range(len(full) * 8):
        data = c.recv(0.5)
        if data is None:
            break
        r = stun.decode(data)
        assert r.cls in (stun.SUCCESS, stun.ERROR)
    assert turnd.alive()
    assert turnd.binding_ok("udp")
