"""Clients nobody here wrote: coturn's turnutils_stunclient and aioice."""

import asyncio
import re
import shutil
import socket
import ssl
import subprocess

import pytest

import stun

aioice = pytest.importorskip("aioice")
from aioice import stun as astun  # noqa: E402
from aioice import ice as aice    # noqa: E402


def run_tool(args, timeout=30):
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s timed out (no answer?); output:\n%s" % (
            " ".join(args), e.stdout))
    return p.returncode, p.stdout + p.stderr


# ------------------------------------------------------------- coturn

stunclient = pytest.mark.skipif(not shutil.which("turnutils_stunclient"),
                                reason="coturn's turnutils_stunclient missing")


@stunclient
def test_turnutils_stunclient_v4(shared_turnd):
    rc, out = run_tool(["turnutils_stunclient", "-L", "127.0.0.1",
                        "-p", str(shared_turnd.port), "127.0.0.1"])
    assert rc == 0, out
    m = re.findall(r"UDP reflexive addr: (127\.0\.0\.1):(\d+)", out)
    assert m, "no reflexive address in:\n" + out
    port = int(m[0][1])
    assert 1024 <= port <= 65535 and port != shared_turnd.port
    assert "error" not in out.lower(), out
    # Without RFC 5780 configured, no OTHER-ADDRESS is offered.
    assert "Other addr" not in out, out


@stunclient
def test_turnutils_stunclient_v6(shared_turnd):
    rc, out = run_tool(["turnutils_stunclient", "-L", "::1",
                        "-p", str(shared_turnd.port), "::1"])
    assert rc == 0, out
    assert re.search(r"UDP reflexive addr: \[?::1\]?:\d+", out), out


@stunclient
def test_turnutils_stunclient_mapped_address(turnd_factory):
    """coturn's client parses our MAPPED-ADDRESS alongside XOR-MAPPED."""
    t = turnd_factory({"stun": {"mapped_address": True}})
    rc, out = run_tool(["turnutils_stunclient", "-p", str(t.port), "127.0.0.1"])
    assert rc == 0, out
    assert re.search(r"UDP reflexive addr: 127\.0\.0\.1:\d+", out), out


# ------------------------------------------------------------- aioice codec

def aioice_request(fingerprint=True):
    req = astun.Message(message_method=astun.Method.BINDING,
                        message_class=astun.Class.REQUEST)
    req.attributes["SOFTWARE"] = "aioice-bb"
    if fingerprint:
        req.attributes["FINGERPRINT"] = astun.message_fingerprint(bytes(req))
    return req


def check_aioice_response(resp, req, local):
    assert resp.message_method == astun.Method.BINDING
    assert resp.message_class == astun.Class.RESPONSE
    assert resp.transaction_id == req.transaction_id
    assert resp.attributes["XOR-MAPPED-ADDRESS"] == tuple(local[:2])
    assert resp.attributes.get("SOFTWARE") == "turnd"
    # parse_message() verified the FINGERPRINT already (raises otherwise).
    assert "FINGERPRINT" in resp.attributes
    assert list(resp.attributes)[-1] == "FINGERPRINT"


@pytest.mark.parametrize("family", [4, 6])
def test_aioice_codec_udp(shared_turnd, family):
    fam = socket.AF_INET if family == 4 else socket.AF_INET6
    host = "127.0.0.1" if family == 4 else "::1"
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.bind((host, 0))
        s.settimeout(5)
        req = aioice_request()
        s.sendto(bytes(req), (host, shared_turnd.port))
        data, src = s.recvfrom(65536)
        assert src[:2] == (host, shared_turnd.port)
        resp = astun.parse_message(data)
        check_aioice_response(resp, req, s.getsockname())
    finally:
        s.close()


def test_aioice_sees_420(shared_turnd):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        req = aioice_request(fingerprint=False)
        # aioice encodes only attributes it knows; CHANGE-REQUEST is one
        # turnd must refuse while RFC 5780 is off.
        req.attributes["CHANGE-REQUEST"] = 0x06
        s.sendto(bytes(req), ("127.0.0.1", shared_turnd.port))
        data, _ = s.recvfrom(65536)
        resp = astun.parse_message(data)
        assert resp.message_class == astun.Class.ERROR
        assert resp.transaction_id == req.transaction_id
        assert resp.attributes["ERROR-CODE"][0] == 420
    finally:
        s.close()


async def _stream_binding(host, port, ssl_ctx):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl_ctx,
                                server_hostname="localhost" if ssl_ctx else None),
        10)
    try:
        out = []
        reqs = [aioice_request() for _ in range(3)]
        # Two at once, then one more: framing by the STUN length field.
        writer.write(bytes(reqs[0]) + bytes(reqs[1]))
        await writer.drain()
        for i in range(3):
            if i == 2:
                writer.write(bytes(reqs[2]))
                await writer.drain()
            hdr = await asyncio.wait_for(reader.readexactly(20), 10)
            body = await asyncio.wait_for(
                reader.readexactly(int.from_bytes(hdr[2:4], "big")), 10)
            out.append(astun.parse_message(hdr + body))
        return reqs, out, writer.get_extra_info("sockname")
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 5)
        except Exception:
            pass


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_aioice_codec_over_streams(shared_turnd, transport):
    ctx = None
    if transport == "tls":
        ctx = ssl.create_default_context(cafile=shared_turnd.certs.cert)
    host, port = shared_turnd.addr(transport)
    reqs, resps, local = asyncio.run(_stream_binding(host, port, ctx))
    for req, resp in zip(reqs, resps):
        check_aioice_response(resp, req, local)


# ------------------------------------------------------------- aioice ICE

async def _gather(port):
    conn = aice.Connection(ice_controlling=True,
                           stun_server=("127.0.0.1", port),
                           use_ipv4=True, use_ipv6=False)
    try:
        await asyncio.wait_for(conn.gather_candidates(), 20)
        return list(conn.local_candidates)
    finally:
        await conn.close()


def test_aioice_gathers_srflx(shared_turnd, monkeypatch):
    """aioice's own STUN transaction code finds a srflx candidate.

    aioice skips 127.0.0.1 when it lists host addresses; point it at
    loopback only, so that nothing leaves lo.
    """
    monkeypatch.setattr(aice, "get_host_addresses",
                        lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    cands = asyncio.run(_gather(shared_turnd.port))
    host = [c for c in cands if c.type == "host"]
    srflx = [c for c in cands if c.type == "srflx"]
    assert len(host) == 1 and host[0].host == "127.0.0.1"
    assert len(srflx) == 1, "no srflx candidate: %r" % cands
    assert (srflx[0].host, srflx[0].port) == (host[0].host, host[0].port)
    assert (srflx[0].related_address, srflx[0].related_port) == \
        (host[0].host, host[0].port)
