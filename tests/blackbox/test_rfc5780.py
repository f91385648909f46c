"""RFC 5780 NAT behaviour discovery: OTHER-ADDRESS, RESPONSE-ORIGIN,
CHANGE-REQUEST; with our client and coturn's turnutils_natdiscovery."""

import re
import shutil
import struct
import subprocess

import pytest

import harness
import stun
from conftest import TRANSPORTS

PRIMARY_IP, ALT_IP = "127.0.0.1", "127.0.0.2"


@pytest.fixture
def t5780(turnd_factory):
    # Port numbers: P (from the factory) and ALT, free on both IPs.
    t = turnd_factory(start=False)
    alt = harness.free_port(hosts=(PRIMARY_IP, ALT_IP), kinds=("udp",),
                            exclude=(t.port, t.tls_port))
    assert harness.port_is_free(ALT_IP, t.port, kinds=("udp",))
    t.alt_port = alt
    t.config = harness.merge(t.config, {
        "listen": {"udp": ["%s:%d" % (PRIMARY_IP, t.port)],
                   "tcp": ["%s:%d" % (PRIMARY_IP, t.port)],
                   "tls": ["%s:%d" % (PRIMARY_IP, t.tls_port)]},
        "stun": {"rfc5780": True, "alt_address": ALT_IP, "alt_port": alt},
    })
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    t.start()
    return t


def addrs(t):
    P, A = t.port, t.alt_port
    return {"pp": (PRIMARY_IP, P), "pa": (PRIMARY_IP, A),
            "ap": (ALT_IP, P), "aa": (ALT_IP, A)}


def test_other_address_and_response_origin(t5780):
    c = t5780.client("udp")
    req = stun.binding_request()
    r = c.request(req)
    assert r.cls == stun.SUCCESS
    assert r.xor_mapped() == c.local
    assert r.other_address() == (ALT_IP, t5780.alt_port)
    assert r.response_origin() == (PRIMARY_IP, t5780.port)


@pytest.mark.parametrize("where", ["pp", "pa", "ap", "aa"])
def test_all_four_addresses_answer_from_themselves(t5780, where):
    dst = addrs(t5780)[where]
    c = stun.UdpClient(dst, connect=False)
    try:
        req = stun.binding_request()
        r = c.request(req)
        assert r.cls == stun.SUCCESS
        assert c.last_from == dst
        assert r.response_origin() == dst
        assert r.xor_mapped() == c.local
        assert r.has(stun.OTHER_ADDRESS)
    finally:
        c.close()


FLAGS = {"none": 0, "port": stun.CHANGE_PORT, "ip": stun.CHANGE_IP,
         "both": stun.CHANGE_IP | stun.CHANGE_PORT}


def changed(where, flags):
    ip, port = where
    if flags & stun.CHANGE_IP:
        ip = "a" if ip == "p" else "p"
    if flags & stun.CHANGE_PORT:
        port = "a" if port == "p" else "p"
    return ip + port


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("where", ["pp", "pa", "ap", "aa"])
def test_change_request(t5780, where, flag):
    a = addrs(t5780)
    c = stun.UdpClient(a[where], connect=False)
    try:
        req = stun.binding_request([stun.change_request_attr(FLAGS[flag])])
        r = c.request(req, fingerprint=True)
        assert r.cls == stun.SUCCESS, r
        want = a[changed(where, FLAGS[flag])]
        assert c.last_from == want, "answered from %s, expected %s" % (
            c.last_from, want)
        assert r.response_origin() == want
        assert r.xor_mapped() == c.local
        assert r.fingerprint_ok() is True
    finally:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_change_request_without_rfc5780_is_420(shared_turnd, transport):
    c = shared_turnd.client(transport)
    try:
        req = stun.binding_request([stun.change_request_attr(stun.CHANGE_IP)])
        r = c.request(req)
        assert r.cls == stun.ERROR and r.tid == req.tid
        assert r.error_code() == 420
        assert stun.CHANGE_REQUEST in r.unknown_attributes()
    finally:
        c.close()


def test_response_port(t5780):
    """RESPONSE-PORT (RFC 5780 7.5): the answer goes to that port.

    Not in the issue's list, but coturn's turnutils_stunclient sends it
    with CHANGE-REQUEST and waits forever if it is refused.
    """
    a = stun.UdpClient(addrs(t5780)["pp"], connect=False)
    b = stun.UdpClient(addrs(t5780)["pp"], connect=False)
    try:
        req = stun.binding_request([(0x0027, struct.pack("!HH", b.local[1], 0))])
        a.send(req.encode())
        raw = b.recv(5.0)
        if raw is None:
            at_source = a.recv(0.5)
            raise AssertionError("no answer at RESPONSE-PORT; at the source: %r"
                                 % (at_source and stun.decode(at_source)))
        r = stun.decode(raw)
        assert r.tid == req.tid and r.cls == stun.SUCCESS, r
        assert r.xor_mapped() == a.local
    finally:
        a.close()
        b.close()


def test_padding_accepted(t5780):
    """PADDING (RFC 5780 7.6), sent by turnutils_natdiscovery -P."""
    c = t5780.client("udp")
    req = stun.binding_request([(0x0026, bytes(64))])
    r = c.request(req)
    assert r.cls == stun.SUCCESS, r
    assert r.xor_mapped() == c.local


def run_tool(args, timeout=60):
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s timed out; output so far:\n%s" % (
            args[0], (e.stdout or b"")[-3000:]))
    return p.returncode, p.stdout + p.stderr


@pytest.mark.skipif(not shutil.which("turnutils_natdiscovery"),
                    reason="coturn's turnutils_natdiscovery not installed")
def test_natdiscovery_mapping_and_filtering(t5780):
    local = harness.free_port(hosts=(PRIMARY_IP,), kinds=("udp",))
    rc, out = run_tool(["turnutils_natdiscovery", "-m", "-f",
                        "-L", PRIMARY_IP, "-l", str(local),
                        "-p", str(t5780.port), PRIMARY_IP])
    assert rc == 0, out
    assert "NAT with Endpoint Independent Mapping!" in out, out
    assert "NAT with Endpoint Independent Filtering!" in out, out
    assert "Other addr: : %s:%d" % (ALT_IP, t5780.alt_port) in out, out
    # Each response: the reflexive address is the local one (no NAT here).
    pairs = re.findall(r"UDP reflexive addr: ([0-9.]+:\d+)\s*\n"
                       r".*Local addr: : ([0-9.]+:\d+)", out)
    assert len(pairs) >= 4, out
    assert all(a == b for a, b in pairs), out
    assert pairs[0][0] == "%s:%d" % (PRIMARY_IP, local), out
    origins = set(re.findall(r"Response origin: : ([0-9.]+:\d+)", out))
    # The change requests are answered from the alternate address.
    assert "%s:%d" % (ALT_IP, t5780.alt_port) in origins, out
    assert "error" not in out.lower(), out


@pytest.mark.skipif(not shutil.which("turnutils_stunclient"),
                    reason="coturn's turnutils_stunclient not installed")
def test_stunclient_sees_rfc5780(t5780):
    rc, out = run_tool(["turnutils_stunclient", "-p", str(t5780.port),
                        PRIMARY_IP], timeout=30)
    assert rc == 0, out
    assert "Other addr: : %s:%d" % (ALT_IP, t5780.alt_port) in out, out
    assert "Response origin: : %s:%d" % (PRIMARY_IP, t5780.port) in out, out
    assert "error" not in out.lower(), out
