"""Binding requests (RFC 8489) over UDP, TCP and TLS, IPv4 and IPv6."""

import socket
import struct

import pytest

import stun
from conftest import TRANSPORTS

FAMILIES = [4, 6]


def check_success(r, req):
    assert r.cls == stun.SUCCESS, "expected a success response, got %r" % r
    assert r.method == stun.BINDING
    assert r.tid == req.tid
    assert r.cookie == stun.MAGIC


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binding_xor_mapped_is_source(shared_turnd, transport, family):
    c = shared_turnd.client(transport, family)
    try:
        req = stun.binding_request()
        r = c.request(req)
        check_success(r, req)
        assert r.xor_mapped() == c.local
        v = r.get(stun.XOR_MAPPED_ADDRESS)
        assert len(v) == (8 if family == 4 else 20)
        assert v[1] == (stun.FAMILY_V4 if family == 4 else stun.FAMILY_V6)
        # Defaults: SOFTWARE "turnd", no MAPPED-ADDRESS, no FINGERPRINT.
        assert r.software() == "turnd"
        assert not r.has(stun.MAPPED_ADDRESS)
        assert not r.has(stun.FINGERPRINT)
        # No RFC 5780 attributes unless configured.
        assert not r.has(stun.OTHER_ADDRESS)
    finally:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binding_many_on_one_connection(shared_turnd, transport):
    """Sequential transactions on one flow, each tid echoed."""
    c = shared_turnd.client(transport)
    try:
        for _ in range(20):
            req = stun.binding_request()
            r = c.request(req)
            check_success(r, req)
            assert r.xor_mapped() == c.local
    finally:
        c.close()


def test_binding_from_second_loopback_address(shared_turnd):
    """The mapped address is the real source, not a constant."""
    c = stun.UdpClient(shared_turnd.addr("udp"), bind=("127.0.0.2", 0))
    try:
        req = stun.binding_request()
        r = c.request(req)
        check_success(r, req)
        assert r.xor_mapped() == ("127.0.0.2", c.local[1])
    finally:
        c.close()


def test_binding_many_sources(shared_turnd):
    """Fifty sockets at once, each told its own port (workers share)."""
    socks = []
    try:
        for _ in range(50):
            socks.append(stun.UdpClient(shared_turnd.addr("udp")))
        reqs = [stun.binding_request() for _ in socks]
        for c, req in zip(socks, reqs):
            c.send(req.encode())
        for c, req in zip(socks, reqs):
            data = c.recv(5.0)
            assert data is not None, "no answer for %s" % (c.local,)
            r = stun.decode(data)
            check_success(r, req)
            assert r.xor_mapped() == c.local
    finally:
        for c in socks:
            c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fingerprint_when_requested(shared_turnd, transport):
    c = shared_turnd.client(transport)
    try:
        req = stun.binding_request()
        r = c.request(req, fingerprint=True)
        check_success(r, req)
        assert r.types()[-1] == stun.FINGERPRINT, "FINGERPRINT must be last"
        assert r.fingerprint_ok() is True
        # Independent recomputation from the raw bytes.
        raw = r.raw
        want = stun.crc_fingerprint(raw[:-8])
        assert raw[-8:-4] == struct.pack("!HH", stun.FINGERPRINT, 4)
        assert struct.unpack("!I", raw[-4:])[0] == want
        assert r.xor_mapped() == c.local
    finally:
        c.close()


def test_fingerprint_request_v6(shared_turnd):
    c = shared_turnd.client("udp", 6)
    try:
        req = stun.binding_request()
        r = c.request(req, fingerprint=True)
        check_success(r, req)
        assert r.fingerprint_ok() is True
        assert r.xor_mapped() == c.local
    finally:
        c.close()


def test_request_attributes_with_padding_accepted(shared_turnd):
    """Known optional attributes of odd lengths (padding) in a request."""
    c = shared_turnd.client("udp")
    try:
        req = stun.binding_request([stun.software_attr("x"),
                                    stun.software_attr("abcde")])
        r = c.request(req, fingerprint=True)
        check_success(r, req)
        assert r.fingerprint_ok() is True
    finally:
        c.close()


def test_software_custom(turnd_factory):
    t = turnd_factory({"software": "turnd-bb \u00e9 1.0"})
    c = t.client("udp")
    req = stun.binding_request()
    r = c.request(req)
    check_success(r, req)
    assert r.software() == "turnd-bb \u00e9 1.0"
    raw = r.get(stun.SOFTWARE)
    assert len(raw) == len("turnd-bb \u00e9 1.0".encode())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_software_empty_means_absent(turnd_factory, transport):
    t = turnd_factory({"software": ""})
    c = t.client(transport)
    req = stun.binding_request()
    r = c.request(req)
    check_success(r, req)
    assert not r.has(stun.SOFTWARE)
    assert r.xor_mapped() == c.local


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_mapped_address_opt_in(turnd_factory, transport, family):
    t = turnd_factory({"stun": {"mapped_address": True}})
    c = t.client(transport, family)
    req = stun.binding_request()
    r = c.request(req, fingerprint=True)
    check_success(r, req)
    assert r.mapped() == c.local
    assert r.xor_mapped() == c.local
    assert r.fingerprint_ok() is True


def test_binding_indication_not_answered(shared_turnd):
    c = shared_turnd.client("udp")
    try:
        c.send(stun.binding_indication().encode())
        req = stun.binding_request()
        r = c.request(req)
        check_success(r, req)
        assert c.expect_nothing(0.3) is None
    finally:
        c.close()


def test_ipv6_and_ipv4_listeners_are_distinct(shared_turnd):
    """A v6 client gets a v6 mapped address on the same port number."""
    c4 = shared_turnd.client("udp", 4)
    c6 = shared_turnd.client("udp", 6)
    try:
        r4 = c4.request(stun.binding_request())
        r6 = c6.request(stun.binding_request())
        assert r4.xor_mapped()[0] == "127.0.0.1"
        assert r6.xor_mapped()[0] == "::1"
        assert c4.last_from == ("127.0.0.1", shared_turnd.port)
        assert c6.last_from == ("::1", shared_turnd.port)
    finally:
        c4.close()
        c6.close()


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_worker_counts(turnd_factory, workers):
    """0 = one per CPU; each count serves every transport."""
    t = turnd_factory({"workers": workers})
    for tr in TRANSPORTS:
        assert t.binding_ok(tr), tr
    socks = [t.client("udp") for _ in range(16)]
    for c in socks:
        r = c.request(stun.binding_request())
        assert r.xor_mapped() == c.local


def test_large_request_answered(shared_turnd):
    """A 1400-byte comprehension-optional attribute does not matter."""
    c = shared_turnd.client("udp")
    try:
        req = stun.binding_request([(0xC0DE, bytes(1400))])
        r = c.request(req, fingerprint=True)
        assert r.cls == stun.SUCCESS and r.fingerprint_ok() is True
    finally:
        c.close()
