"""TCP and TLS: framing, garbage, stalls, idle connections, limits."""

import socket
import ssl
import struct
import time

import pytest

import stun
from conftest import STREAMS


def ok(c):
    """One Binding on an open stream client succeeds."""
    req = stun.binding_request()
    r = c.request(req)
    return r.cls == stun.SUCCESS and r.xor_mapped() == c.local


def connect_or_closed(t, transport, bind=None):
    """Connect; return (client, None) if served, (None, why) if closed.

    "Closed" covers the server closing right after accept: for TCP the
    client sees EOF or a reset, for TLS the handshake fails.
    """
    try:
        c = t.client(transport, bind=bind)
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError) as e:
        return None, "handshake: %r" % (e,)
    try:
        req = stun.binding_request()
        c.send(req.encode())
        raw = c.recv(5.0)
    except (stun.Closed, ConnectionError, ssl.SSLError) as e:
        c.close()
        return None, "closed: %r" % (e,)
    if raw is None:
        c.close()
        raise AssertionError("connection neither served nor closed")
    r = stun.decode(raw)
    assert r.tid == req.tid and r.cls == stun.SUCCESS
    return c, None


@pytest.mark.parametrize("transport", STREAMS)
def test_several_requests_in_one_write(shared_turnd, transport):
    c = shared_turnd.client(transport)
    try:
        reqs = [stun.binding_request([stun.software_attr("n%d" % i)])
                for i in range(8)]
        c.send(b"".join(r.encode(fingerprint=(i % 2 == 0))
                        for i, r in enumerate(reqs)))
        for i, req in enumerate(reqs):
            raw = c.recv(5.0)
            assert raw is not None, "missing response %d of %d" % (i, len(reqs))
            r = stun.decode(raw)
            assert r.tid == req.tid, "responses out of order at %d" % i
            assert r.cls == stun.SUCCESS
            assert r.xor_mapped() == c.local
            assert r.fingerprint_ok() is (True if i % 2 == 0 else None)
    finally:
        c.close()


def read_alone(t, c, probe):
    """Return once turnd has read all c has sent and is done with that
    read: what c sends next reaches the framing in a later read pass.

    t.wait_read(c) (harness.py): a recv() of turnd has taken every byte.
    On TCP that recv() is the whole read pass.  On TLS the pass may call
    SSL_read again and take a record sent meanwhile.  t has one worker:
    it runs the read passes of c and of probe one after the other, and
    probe's request is sent after that recv(), so its answer means the
    pass that took c's bytes has returned.
    """
    t.wait_read(c)
    assert ok(probe), "no answer on the probe connection"


@pytest.mark.parametrize("transport", STREAMS)
def test_request_split_across_writes(turnd_factory, transport):
    """RFC 8489 section 6.2.2: a message split over reads is framed whole
    and answered once, when its last byte is in."""
    t = turnd_factory({"workers": 1})           # for read_alone()
    c = t.client(transport)
    probe = t.client(transport)
    try:
        req = stun.binding_request([stun.software_attr("split into bytes")])
        data = req.encode(fingerprint=True)
        for i in range(len(data) - 1):
            c.send(data[i:i + 1])
            # A read pass ends with 1, 2, 4 and 20 bytes of the frame in:
            # not even the type, the type, the length, the whole header.
            # The other bytes may come together.
            if i + 1 in (1, 2, 4, 20):
                read_alone(t, c, probe)
        # All but the last byte are in, and turnd is done with them.
        read_alone(t, c, probe)
        # Nothing may come back before the message is complete.
        assert c.recv(0.3) is None, "answered an incomplete frame"
        c.send(data[-1:])
        raw = c.recv(5.0)
        assert raw is not None
        r = stun.decode(raw)
        assert r.tid == req.tid and r.cls == stun.SUCCESS
        assert r.fingerprint_ok() is True
        # Two requests, the boundary in the middle of the second's header.
        # blob[:27] is one segment (TCP_NODELAY, stun.py), one TLS record,
        # read whole: r1's answer comes from the pass that ends on 7 bytes
        # of r2, so blob[27:] comes in a later one.
        r1, r2 = stun.binding_request(), stun.binding_request()
        blob = r1.encode() + r2.encode()
        c.send(blob[:27])
        assert stun.decode(c.recv(5.0)).tid == r1.tid
        c.send(blob[27:])
        assert stun.decode(c.recv(5.0)).tid == r2.tid
    finally:
        c.close()
        probe.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_channeldata_interleaved(turn_server, turn_client, peers, transport):
    """STUN messages and ChannelData (RFC 8656 12.5) interleave on one
    stream, a frame cut anywhere: each request is answered, each frame
    relayed on its channel.  (ChannelData that cannot be relayed closes
    the connection: test_hardening_stream.py.)"""
    c = turn_client(turn_server, transport)
    assert c.allocate().cls == stun.SUCCESS
    chans = (0x4000, 0x4001, 0x4FFF, 0x4002)
    payloads = (b"abcde", b"", b"wxyz", b"x" * 101)   # 5 -> padded 8, ...
    ps = [peers() for _ in chans]
    for ch, p in zip(chans, ps):
        assert c.channel_bind(ch, p.addr).cls == stun.SUCCESS
    reqs = [stun.binding_request() for _ in chans]
    cds = [stun.channel_data(ch, d) for ch, d in zip(chans, payloads)]
    blob = b""
    for req, cd in zip(reqs, cds):
        blob += req.encode() + cd
    # Cut the stream in the middle of a ChannelData frame, too: the first
    # write is reqs[0] and 6 of the 12 bytes of cds[0] (RFC 8656 section
    # 12.5: header, data, padding to 4).  It is one segment (TCP_NODELAY,
    # stun.py), one TLS record, read whole: the answer to reqs[0] comes
    # from the read pass that ends on those 6 bytes, and the rest, sent
    # after that answer, comes in a later pass.
    cut = len(reqs[0].encode()) + 6
    c.send_raw(blob[:cut])
    for i, req in enumerate(reqs):
        raw = c.recv_frame(5.0)
        assert raw is not None, "missing response %d" % i
        assert stun.decode(raw).tid == req.tid
        if i == 0:
            c.send_raw(blob[cut:])
    for p, d in zip(ps, payloads):
        assert p.recv(5.0) == (d, c.relayed[0])
    assert c.recv_frame(0.3) is None
    assert ok(c.conn)
    s = turn_server.wait_stats(lambda s: s.get("relay_pkts_out") == len(cds))
    assert s["relay_pkts_out"] == len(cds), s
    assert s["conn_closed_garbage"] == 0


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


GARBAGE = {
    "bad_first_byte": b"\xde\xad\xbe\xef" * 8,
    "bad_cookie": struct.pack("!HHI", 0x0001, 0, 0xDEADBEEF) + bytes(12),
    # A TLS ClientHello on the plain TCP port (0x16 0x03: STUN-like type,
    # then no magic cookie).
    "tls_client_hello": client_hello(),
    "top_bits": b"\x80\x01\x00\x00" + struct.pack("!I", stun.MAGIC) + bytes(12),
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("transport", STREAMS)
def test_garbage_closes_only_that_connection(turnd, transport, kind):
    a = turnd.client(transport)
    b = turnd.client(transport)
    assert ok(a) and ok(b)
    a.send(GARBAGE[kind])
    assert a.wait_closed(5.0), "connection not closed after %s" % kind
    assert ok(b), "the other connection was affected"
    assert turnd.binding_ok(transport)
    assert turnd.binding_ok("udp")
    s = turnd.wait_stats(lambda s: s.get("conn_closed_garbage") == 1)
    assert s["conn_closed_garbage"] == 1, s


@pytest.mark.parametrize("transport", STREAMS)
def test_garbage_after_request_in_same_write(turnd, transport):
    """The valid request before the garbage is answered, then the close."""
    c = turnd.client(transport)
    req = stun.binding_request()
    c.send(req.encode() + b"\xff" * 16)
    raw = c.recv(5.0)
    assert raw is not None and stun.decode(raw).tid == req.tid
    assert c.wait_closed(5.0)


@pytest.mark.parametrize("where", ["header", "body"])
@pytest.mark.parametrize("transport", STREAMS)
def test_stalled_frame_closed(turnd_factory, transport, where):
    t = turnd_factory({"limits": {"frame_timeout": 1, "idle_timeout": 60}})
    idle = t.client(transport)          # no partial frame: must survive
    assert ok(idle)
    c = t.client(transport)
    assert ok(c)
    data = stun.binding_request([stun.software_attr("stall")]).encode()
    t0 = time.monotonic()
    c.send(data[:10] if where == "header" else data[:24])
    assert c.wait_closed(15.0), "stalled connection not closed"
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.8, "closed after %.2fs, frame_timeout is 1s" % elapsed
    assert ok(idle), "an idle connection was closed by the frame timeout"
    s = t.wait_stats(lambda s: s.get("conn_closed_stall") == 1)
    assert s["conn_closed_stall"] == 1, s
    assert s["conn_closed_idle"] == 0


@pytest.mark.parametrize("transport", STREAMS)
def test_idle_connection_closed(turnd_factory, transport):
    t = turnd_factory({"limits": {"idle_timeout": 2, "frame_timeout": 1}})
    busy = t.client(transport)
    c = t.client(transport)
    assert ok(c)
    t0 = time.monotonic()
    # Keep "busy" active (every 0.4s, well inside 2s) while c idles.
    closed = False
    for _ in range(100):
        assert ok(busy), "an active connection was closed"
        if c.wait_closed(0.4):
            closed = True
            break
        if time.monotonic() - t0 > 15:
            break
    elapsed = time.monotonic() - t0
    assert closed, "idle connection not closed within 15s"
    assert elapsed >= 1.5, "closed after %.2fs, idle_timeout is 2s" % elapsed
    # busy has been active for longer than idle_timeout by now (>= 2s)
    assert ok(busy)
    s = t.wait_stats(lambda s: s.get("conn_closed_idle") == 1)
    assert s["conn_closed_idle"] == 1, s
    assert s["conn_closed_stall"] == 0


@pytest.mark.parametrize("transport", STREAMS)
def test_connections_per_source(turnd_factory, transport):
    t = turnd_factory({"limits": {"connections_per_source": 2}})
    a, why = connect_or_closed(t, transport)
    assert a, why
    b, why = connect_or_closed(t, transport)
    assert b, why
    c, why = connect_or_closed(t, transport)
    assert c is None, "third connection from one source was served"
    # Another source is not limited by 127.0.0.1's count.
    d, why = connect_or_closed(t, transport, bind=("127.0.0.2", 0))
    assert d, why
    # Existing connections are unaffected.
    assert ok(a) and ok(b)
    # Closing one frees a slot.  turnd sees the close when it reads the
    # FIN, and gives the slot back before it closes its end (conn_free,
    # src/net/stream.c): once its end is closed, a new one is served.
    inode = t.sock_inode(a)
    a.close()
    t.wait_sock_closed(inode)
    e, why = connect_or_closed(t, transport)
    assert e, "slot not freed: %s" % why
    s = t.wait_stats(lambda s: s.get("conn_rejected") == 1)
    assert s["conn_rejected"] == 1, s
    for x in (b, d, e):
        x.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_connections_total(turnd_factory, transport):
    t = turnd_factory({"limits": {"connections": 3}})
    held = []
    for src in ("127.0.0.1", "127.0.0.2", "127.0.0.1"):
        c, why = connect_or_closed(t, transport, bind=(src, 0))
        assert c, why
        held.append(c)
    for src in ("127.0.0.1", "127.0.0.2"):
        c, why = connect_or_closed(t, transport, bind=(src, 0))
        assert c is None, "connection over limits.connections was served"
    assert all(ok(c) for c in held)
    assert t.binding_ok("udp"), "UDP is not limited by TCP connections"
    s = t.wait_stats(lambda s: s.get("conn_rejected") == 2)
    assert s["conn_rejected"] == 2, s
    for c in held:
        c.close()


def test_connection_limit_counts_tcp_and_tls_together(turnd_factory):
    t = turnd_factory({"limits": {"connections_per_source": 2}})
    a, why = connect_or_closed(t, "tcp")
    assert a, why
    b, why = connect_or_closed(t, "tls")
    assert b, why
    for tr in ("tcp", "tls"):
        c, why = connect_or_closed(t, tr)
        assert c is None, "%s connection over the per-source limit served" % tr
    a.close()
    b.close()


def test_plain_tcp_to_tls_port(turnd):
    raw = socket.create_connection(turnd.addr("tls"), timeout=5)
    try:
        raw.sendall(stun.binding_request().encode())
        raw.settimeout(5)
        deadline = time.monotonic() + 10
        closed = False
        for _ in range(100):
            try:
                chunk = raw.recv(4096)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            # An alert may come first; it must not be a STUN answer.
            assert chunk[:2] not in (b"\x01\x01", b"\x01\x11"), chunk
            if time.monotonic() > deadline:
                break
        assert closed, "plaintext on the TLS port did not close the connection"
    finally:
        raw.close()
    assert turnd.binding_ok("tls")
    assert turnd.binding_ok("tcp")
    s = turnd.wait_stats(lambda s: s.get("tls_handshake_failed") == 1)
    assert s["tls_handshake_failed"] == 1, s


def test_tls_verifies_with_configured_cert(shared_turnd):
    """The certificate served is the configured one (verified, SAN ok)."""
    c = shared_turnd.client("tls", server_hostname="localhost")
    try:
        assert ok(c)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        c.close()


def test_tls_min_version_13(turnd_factory):
    t = turnd_factory({"tls": {"min_version": "1.3"}})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(t.addr("tls"), timeout=5)
    try:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw, server_hostname="localhost")
    finally:
        raw.close()
    c = t.client("tls")
    assert c.sock.version() == "TLSv1.3"
    assert ok(c)
    s = t.wait_stats(lambda s: s.get("tls_handshake_failed") == 1)
    assert s["tls_handshake_failed"] == 1, s


def test_tls12_client_accepted_by_default(shared_turnd):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(shared_turnd.certs.cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(shared_turnd.addr("tls"), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        assert s.version() == "TLSv1.2"
        req = stun.binding_request()
        s.sendall(req.encode())
        hdr = b""
        for _ in range(20):
            if len(hdr) >= 20:
                break
            hdr += s.recv(20 - len(hdr))
        n = struct.unpack("!H", hdr[2:4])[0]
        body = b""
        for _ in range(50):
            if len(body) >= n:
                break
            body += s.recv(n - len(body))
        r = stun.decode(hdr + body)
        assert r.tid == req.tid and r.cls == stun.SUCCESS
    finally:
        s.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_client_vanishes_mid_frame_and_with_pending_answers(turnd, transport):
    # Half a frame, then close.
    c = turnd.client(transport)
    c.send(stun.binding_request().encode()[:13])
    c.close()
    # Many requests, then an abortive close (RST) before reading answers.
    c = turnd.client(transport)
    c.send(b"".join(stun.binding_request().encode() for _ in range(50)))
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    c.close()
    assert turnd.binding_ok(transport)
    assert turnd.alive()


@pytest.mark.parametrize("transport", STREAMS)
def test_accepted_counter(turnd, transport):
    n = 12
    for _ in range(n):
        c = turnd.client(transport)
        assert ok(c)
        c.close()
    s = turnd.wait_stats(lambda s: s.get("conn_accepted") == n)
    assert s["conn_accepted"] == n, s
    assert s["binding_success"] == n
    assert s["conn_rejected"] == 0


@pytest.mark.parametrize("sent", ["nothing", "half_client_hello"])
def test_tls_handshake_that_never_completes_is_closed(turnd_factory, sent):
    """A TLS connection stuck before/inside the handshake does not live on."""
    t = turnd_factory({"limits": {"idle_timeout": 2, "frame_timeout": 1}})
    raw = socket.create_connection(t.addr("tls"), timeout=5)
    try:
        if sent == "half_client_hello":
            raw.sendall(client_hello()[:20])
        raw.settimeout(15)
        t0 = time.monotonic()
        try:
            data = raw.recv(4096)
        except ConnectionResetError:
            data = b""
        assert data == b"" or data[0] == 0x15, "expected a close, got %r" % data
        assert time.monotonic() - t0 < 15
    finally:
        raw.close()
    assert t.binding_ok("tls")
    s = t.stats()
    assert s["tls_handshake_failed"] + s["conn_closed_stall"] + \
        s["conn_closed_idle"] >= 1, s


def test_half_close_still_answered(turnd):
    """TCP: requests, then FIN (shutdown write): the answers still come."""
    c = turnd.client("tcp")
    reqs = [stun.binding_request() for _ in range(3)]
    c.send(b"".join(r.encode() for r in reqs))
    c.sock.shutdown(socket.SHUT_WR)
    for req in reqs:
        raw = c.recv(5.0)
        assert raw is not None and stun.decode(raw).tid == req.tid
    assert c.wait_closed(5.0), "not closed after the client's FIN"


@pytest.mark.parametrize("transport", STREAMS)
def test_server_side_close_frees_source_slot(turnd_factory, transport):
    """A connection closed for garbage gives its per-source slot back."""
    t = turnd_factory({"limits": {"connections_per_source": 1}})
    for _ in range(3):
        a, why = connect_or_closed(t, transport)
        assert a, why
        a.send(GARBAGE["bad_first_byte"])
        assert a.wait_closed(5.0)
        a.close()
    # turnd gives the slot back before it closes the socket (conn_free,
    # src/net/stream.c), so by the time the client sees the close the slot
    # is free: the loop above counts on that too.
    b, why = connect_or_closed(t, transport)
    assert b, "slot not freed: %s" % why
    b.close()
