"""Error paths of Binding: 420, 400, bad FINGERPRINT, non-requests."""

import struct

import pytest

import stun
from conftest import TRANSPORTS

UNKNOWN_REQ = 0x7FFE
UNKNOWN_REQ2 = 0x7FFD
UNKNOWN_OPT = 0xC0DE


def check_error(r, req, code):
    assert r.cls == stun.ERROR, "expected an error response, got %r" % r
    assert r.method == stun.BINDING
    assert r.tid == req.tid
    assert r.error_code() == code, "got %r" % (r.error(),)
    assert not r.has(stun.XOR_MAPPED_ADDRESS)


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_required_420(turnd, transport, family):
    c = turnd.client(transport, family)
    req = stun.binding_request([(UNKNOWN_REQ, b"\x01\x02\x03")])
    r = c.request(req)
    check_error(r, req, 420)
    assert r.unknown_attributes() == [UNKNOWN_REQ]
    # The flow stays usable after an error response.
    req2 = stun.binding_request()
    r2 = c.request(req2)
    assert r2.cls == stun.SUCCESS and r2.xor_mapped() == c.local
    s = turnd.wait_stats(lambda s: s.get("err_420") == 1)
    assert s["err_420"] == 1
    assert s["error_responses"] == 1
    assert s["binding_success"] == 1


def test_unknown_required_lists_all(shared_turnd):
    c = shared_turnd.client("udp")
    try:
        req = stun.binding_request([(UNKNOWN_REQ, b"abcd"),
                                    (UNKNOWN_OPT, b"zz"),
                                    (UNKNOWN_REQ2, b"")])
        r = c.request(req, fingerprint=True)
        check_error(r, req, 420)
        assert sorted(r.unknown_attributes()) == sorted([UNKNOWN_REQ, UNKNOWN_REQ2])
        # A FINGERPRINT on an error response, if any, must be right.
        assert r.fingerprint_ok() in (None, True)
    finally:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_optional_ignored(shared_turnd, transport):
    c = shared_turnd.client(transport)
    try:
        req = stun.binding_request([(UNKNOWN_OPT, b"\xde\xad\xbe"),
                                    (0xFFFF, b"")])
        r = c.request(req, fingerprint=True)
        assert r.cls == stun.SUCCESS, r
        assert r.xor_mapped() == c.local
        assert r.fingerprint_ok() is True
    finally:
        c.close()


def malformed_request(tid=None):
    """Valid header, length matching the bytes; an attribute overruns."""
    m = stun.binding_request(tid=tid)
    body = struct.pack("!HH", stun.SOFTWARE, 100) + b"abcd"
    hdr = struct.pack("!HHI", m.type, len(body), stun.MAGIC) + m.tid
    return m, hdr + body


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_malformed_attributes_400(turnd, transport):
    c = turnd.client(transport)
    m, data = malformed_request()
    c.send(data)
    raw = c.recv(5.0)
    assert raw is not None, "no answer to a malformed request"
    r = stun.decode(raw)
    check_error(r, m, 400)
    # A well-framed message is not garbage: the flow survives.
    req2 = stun.binding_request()
    r2 = c.request(req2)
    assert r2.cls == stun.SUCCESS and r2.xor_mapped() == c.local
    s = turnd.wait_stats(lambda s: s.get("err_400") == 1)
    assert s["err_400"] == 1
    assert s["error_responses"] == 1


def test_attribute_value_missing_400(shared_turnd):
    """The last attribute header claims 4 value bytes; none follow."""
    c = shared_turnd.client("udp")
    try:
        m = stun.binding_request()
        body = struct.pack("!HH", stun.SOFTWARE, 1) + b"a\0\0\0" + \
            struct.pack("!HH", 0x8023, 4)
        data = struct.pack("!HHI", m.type, len(body), stun.MAGIC) + m.tid + body
        c.send(data)
        raw = c.recv(5.0)
        assert raw is not None, "no answer to a malformed request"
        check_error(stun.decode(raw), m, 400)
    finally:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_fingerprint_dropped(turnd, transport):
    c = turnd.client(transport)
    bad = stun.binding_request()
    c.send(bad.encode(bad_fingerprint=True))
    good = stun.binding_request()
    r = c.request(good, fingerprint=True)        # fails if bad is answered
    assert r.cls == stun.SUCCESS
    assert c.expect_nothing(0.3) is None
    s = turnd.wait_stats(lambda s: s.get("dropped_fingerprint") == 1)
    assert s["dropped_fingerprint"] == 1
    assert s["binding_success"] == 1
    assert s["error_responses"] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_responses_and_indications_dropped(turnd, transport):
    c = turnd.client(transport)
    t = stun.msg_type
    ok = stun.Message(t(stun.BINDING, stun.SUCCESS),
                      attrs=[(stun.XOR_MAPPED_ADDRESS,
                              stun.encode_addr("127.0.0.1", 1, b"\0" * 12))])
    err = stun.Message(t(stun.BINDING, stun.ERROR),
                       attrs=[(stun.ERROR_CODE, b"\0\0\x04\x00Bad Request")])
    ind = stun.binding_indication()
    for m in (ok, err, ind):
        c.send(m.encode())
    req = stun.binding_request()
    r = c.request(req)          # the first answer must be this one
    assert r.cls == stun.SUCCESS
    assert c.expect_nothing(0.3) is None
    s = turnd.wait_stats(lambda s: s.get("dropped_other", 0) >= 2
                         and s.get("stun_indications") == 1)
    assert s["dropped_other"] == 2
    assert s["stun_indications"] == 1
    assert s["error_responses"] == 0


def test_malformed_indication_dropped(turnd):
    """Broken attributes but not answerable: dropped_malformed."""
    c = turnd.client("udp")
    m = stun.binding_indication()
    body = struct.pack("!HH", stun.SOFTWARE, 200) + b"abcd"
    c.send(struct.pack("!HHI", m.type, len(body), stun.MAGIC) + m.tid + body)
    r = c.request(stun.binding_request())
    assert r.cls == stun.SUCCESS
    assert c.expect_nothing(0.3) is None
    s = turnd.wait_stats(lambda s: s.get("dropped_malformed") == 1)
    assert s["dropped_malformed"] == 1
    assert s["error_responses"] == 0
