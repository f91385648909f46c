"""RFC 6062 TCP relays (turnd.conf(5) relay.tcp*, turnd(8) TCP RELAYS).

Allocate with REQUESTED-TRANSPORT TCP over TCP or TLS; Connect to a
loopback TCP peer (active) or a peer connecting to the relayed address
after CreatePermission (passive, ConnectionAttempt); ConnectionBind on a
second connection of the client, which then carries raw bytes.  Every
error code of RFC 6062, the ConnectionBind deadline, half-close and reset
propagation, the end of the allocation, and flow control against a peer
that never reads (turnd's RSS stays bounded, the client's send blocks).
"""

import os
import socket
import struct
import time

import pytest

import harness
import stun
from conftest import expect_error, expect_ok

FAST = {"relay": {"tcp_bind_timeout": 2, "tcp_connect_timeout": 2}}


# ------------------------------------------------------------- helpers

def listener(backlog=8):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    s.settimeout(5.0)
    return s


def closed_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()          # bound once, now nothing listens there
    return port


def recv_exact(sock, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    out = b""
    for _ in range(100000):
        if len(out) >= n:
            return out
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(out))
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    return out


def read_eof(sock, timeout=5.0):
    """'eof' at an orderly end, 'reset' at a reset, None on timeout."""
    deadline = time.monotonic() + timeout
    for _ in range(10000):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return "eof"
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
        except OSError as e:
            if "EOF" in str(e) or "UNEXPECTED_EOF" in str(e):
                return "eof"
            raise
    return None


def tcp_alloc(t, turn_client, transport="tcp"):
    c = turn_client(t, transport)
    r = expect_ok(c.allocate(transport=stun.PROTO_TCP), stun.ALLOCATE)
    return c, r.xor_relayed()[0]


def bind(t, c, conn_id, transport="tcp", turn_client=None):
    d = c.data_client(t.client(transport))
    return d, d.connection_bind(conn_id)


def connect_bound(t, c, peer_sock, transport="tcp"):
    """Connect to peer_sock's address and bind: (data client, peer side)."""
    r = expect_ok(c.connect(peer_sock.getsockname()), stun.CONNECT)
    cid = r.connection_id()
    assert cid is not None
    p, _ = peer_sock.accept()
    d, rb = bind(t, c, cid, transport)
    expect_ok(rb, stun.CONNECTION_BIND)
    assert d.conn.buf == b""
    return d, p


def wait_attempt(c, timeout=5.0):
    """The next ConnectionAttempt indication on c's control connection."""
    f = c.recv_frame(timeout)
    assert f is not None, "no ConnectionAttempt"
    m = stun.decode(f)
    assert (m.method, m.cls) == (stun.CONNECTION_ATTEMPT, stun.INDICATION), m
    return m




# ------------------------------------------------------------- relays

@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_active_relay(turn_factory, turn_client, transport):
    t = turn_factory()
    c, relayed = tcp_alloc(t, turn_client, transport)
    ls = listener()
    d, p = connect_bound(t, c, ls, transport)
    # the peer sees the relayed transport address as its client (5.2)
    assert p.getpeername()[:2] == tuple(relayed)
    # raw bytes both ways: no STUN framing, STUN-looking bytes too
    msg = stun.turn_message(stun.BINDING).encode() + b"hello"
    d.conn.sock.sendall(msg)
    assert recv_exact(p, len(msg)) == msg
    p.sendall(b"\x00\x01world")
    assert recv_exact(d.conn.sock, 7) == b"\x00\x01world"
    s = t.wait_stats(lambda s: s.get("tcp_binds") == 1 and
                     s.get("tcp_bytes_out") == len(msg) and
                     s.get("tcp_bytes_in") == 7)
    assert s["tcp_connects"] == 1 and s["tcp_conns"] == 1
    p.close()
    ls.close()


def test_bytes_after_bind_in_same_segment(turn_factory, turn_client):
    """What follows the ConnectionBind in the same write is the peer's."""
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    cid = expect_ok(c.connect(ls.getsockname())).connection_id()
    p, _ = ls.accept()
    d = c.data_client(t.client("tcp"))
    # learn the nonce on the data connection first (a 401 is answered)
    m = stun.turn_message(stun.CONNECTION_BIND,
                          attrs=[stun.connection_id_attr(cid)])
    d.send_raw(d.sign(m) + b"early bytes")
    r = stun.decode(d.conn.recv_frame(5.0))
    expect_ok(r, stun.CONNECTION_BIND)
    assert recv_exact(p, 11) == b"early bytes"
    p.close()
    ls.close()


def test_passive_relay(turn_factory, turn_client):
    t = turn_factory()
    c, relayed = tcp_alloc(t, turn_client)
    expect_ok(c.create_permission(("127.0.0.1", 0)))
    p = socket.create_connection(tuple(relayed), timeout=5.0)
    m = wait_attempt(c)
    assert m.xor_peer() == p.getsockname()[:2]
    cid = m.connection_id()
    d, rb = bind(t, c, cid)
    expect_ok(rb, stun.CONNECTION_BIND)
    p.sendall(b"from peer")
    assert recv_exact(d.conn.sock, 9) == b"from peer"
    d.conn.sock.sendall(b"from client")
    assert recv_exact(p, 11) == b"from client"
    t.wait_stats(lambda s: s.get("tcp_attempts") == 1 and
                 s.get("tcp_binds") == 1)
    p.close()


def test_connection_ids_across_workers(turn_factory, turn_client):
    """Data connections land on any worker (SO_REUSEPORT); each reaches
    the peer connection of its CONNECTION-ID on the worker that owns it."""
    t = turn_factory({"workers": 4})
    c, _ = tcp_alloc(t, turn_client)
    pipes = []
    for i in range(12):
        ls = listener()         # one peer address per Connect (446)
        d, p = connect_bound(t, c, ls)
        pipes.append((d, p, ls))
        d.conn.sock.sendall(b"n%02d" % i)
        assert recv_exact(p, 3) == b"n%02d" % i
        p.sendall(b"r%02d" % i)
        assert recv_exact(d.conn.sock, 3) == b"r%02d" % i
    s = t.stats()
    assert s["tcp_binds"] == 12
    assert s["tcp_moved"] > 0, "no data connection came to another worker"
    for d, p, ls in pipes:
        p.close()
        ls.close()


def test_tls_data_connection_moves(turn_factory, turn_client):
    t = turn_factory({"workers": 4})
    c, _ = tcp_alloc(t, turn_client, "tls")
    for i in range(12):
        ls = listener()
        d, p = connect_bound(t, c, ls, "tls")
        d.conn.sock.sendall(b"x%02d" % i)
        assert recv_exact(p, 3) == b"x%02d" % i
        p.sendall(b"y%02d" % i)
        assert recv_exact(d.conn.sock, 3) == b"y%02d" % i
        p.close()
        d.close()
        ls.close()
        if t.stats()["tcp_moved"] > 0 and i >= 3:
            break
    assert t.stats()["tcp_moved"] > 0


# ------------------------------------------------------------- errors

def test_allocate_tcp_over_udp_400(turn_factory, turn_client):
    t = turn_factory()
    c = turn_client(t, "udp")
    expect_error(c.allocate(transport=stun.PROTO_TCP), 400, stun.ALLOCATE)


def test_allocate_tcp_with_udp_attributes_400(turn_factory, turn_client):
    t = turn_factory()
    c = turn_client(t, "tcp")
    expect_error(c.allocate([(stun.DONT_FRAGMENT, b"")],
                            transport=stun.PROTO_TCP), 400)


def test_relay_tcp_off_442(turn_factory, turn_client):
    t = turn_factory({"relay": {"tcp": False}})
    c = turn_client(t, "tcp")
    expect_error(c.allocate(transport=stun.PROTO_TCP), 442)


def test_connect_twice_446(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    expect_ok(c.connect(ls.getsockname()))
    expect_error(c.connect(ls.getsockname()), 446, stun.CONNECT)
    t.wait_stats(lambda s: s.get("err_446") == 1)
    ls.close()


def test_connect_refused_447(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    expect_error(c.connect(("127.0.0.1", closed_port())), 447, stun.CONNECT)
    t.wait_stats(lambda s: s.get("tcp_connect_refused") == 1 and
                 s.get("err_447") == 1)


def test_connect_timeout_447(turn_factory, turn_client):
    """A listener with a full accept queue drops further SYNs: the connect
    hangs until relay.tcp_connect_timeout."""
    t = turn_factory(FAST)
    c, _ = tcp_alloc(t, turn_client)
    ls = listener(0)
    fill = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(ls.getsockname())
        fill.append(s)
    t0 = time.monotonic()
    r = c.connect(ls.getsockname(), timeout=10.0)
    took = time.monotonic() - t0
    expect_error(r, 447, stun.CONNECT)
    assert 1.5 < took < 6.0, took
    t.wait_stats(lambda s: s.get("tcp_connect_timeout") == 1)
    for s in fill:
        s.close()
    ls.close()


def test_connect_denied_peer_403(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    expect_error(c.connect(("10.0.0.1", 80)), 403, stun.CONNECT)


def test_connect_on_udp_allocation_400(turn_factory, turn_client):
    t = turn_factory()
    c = turn_client(t, "tcp")
    expect_ok(c.allocate())
    reason = expect_error(c.connect(("127.0.0.1", 9)), 400, stun.CONNECT)
    assert reason == "Not a TCP allocation"     # not "Unsupported method"


def test_bind_unknown_id_400(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    d, r = bind(t, c, 0x12345)
    expect_error(r, 400, stun.CONNECTION_BIND)


def test_bind_over_udp_400(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    cid = expect_ok(c.connect(ls.getsockname())).connection_id()
    d = c.data_client(t.client("udp"))
    expect_error(d.connection_bind(cid), 400, stun.CONNECTION_BIND)
    ls.close()


def test_bind_other_user_441(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    cid = expect_ok(c.connect(ls.getsockname())).connection_id()
    d = stun.TurnClient(t.client("tcp"), user="bob", password="hunter2")
    expect_error(d.connection_bind(cid), 441, stun.CONNECTION_BIND)
    ls.close()


def test_bind_deadline(turn_factory, turn_client):
    """No ConnectionBind within relay.tcp_bind_timeout: the peer's
    connection is closed (RFC 6062 5.3), and its id is gone."""
    t = turn_factory(FAST)
    c, relayed = tcp_alloc(t, turn_client)
    expect_ok(c.create_permission(("127.0.0.1", 0)))
    p = socket.create_connection(tuple(relayed), timeout=5.0)
    cid = wait_attempt(c).connection_id()
    t0 = time.monotonic()
    assert read_eof(p, 6.0) in ("eof", "reset")
    assert 1.5 < time.monotonic() - t0 < 5.0
    t.wait_stats(lambda s: s.get("tcp_bind_timeout") == 1 and
                 s.get("tcp_conns") == 0)
    d, r = bind(t, c, cid)
    expect_error(r, 400, stun.CONNECTION_BIND)
    p.close()


def test_peer_without_permission_refused(turn_factory, turn_client):
    t = turn_factory()
    c, relayed = tcp_alloc(t, turn_client)
    p = socket.socket()
    p.settimeout(5.0)
    try:
        p.connect(tuple(relayed))
        # on loopback the reset may even beat connect()'s return
        assert read_eof(p, 3.0) in ("eof", "reset")
    except ConnectionResetError:
        pass
    t.wait_stats(lambda s: s.get("tcp_peer_refused") == 1)
    assert c.recv_frame(0.3) is None, "ConnectionAttempt without permission"
    p.close()


# ------------------------------------------------------------- ends

def test_half_close_both_ways(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    p.sendall(b"last words")
    p.shutdown(socket.SHUT_WR)
    assert recv_exact(d.conn.sock, 10) == b"last words"
    assert read_eof(d.conn.sock) == "eof"
    # the other direction still flows
    d.conn.sock.sendall(b"still here")
    assert recv_exact(p, 10) == b"still here"
    d.conn.sock.shutdown(socket.SHUT_WR)
    assert read_eof(p) == "eof"
    t.wait_stats(lambda s: s.get("tcp_conns") == 0)
    p.close()
    ls.close()


def test_reset_propagates(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    p.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    p.close()
    assert read_eof(d.conn.sock) == "reset"
    t.wait_stats(lambda s: s.get("tcp_resets") == 1 and
                 s.get("tcp_conns") == 0)
    ls.close()


def test_allocation_end_closes_pipes(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    expect_ok(c.refresh(0))
    assert read_eof(p) in ("eof", "reset")
    assert read_eof(d.conn.sock) in ("eof", "reset")
    t.wait_stats(lambda s: s.get("tcp_conns") == 0)
    ls.close()


def test_control_close_closes_pipes(turn_factory, turn_client):
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    c.close()
    assert read_eof(p) in ("eof", "reset")
    assert read_eof(d.conn.sock) in ("eof", "reset")
    ls.close()


# ------------------------------------------------------------- flow control

def test_slow_peer_bounded(turn_factory, turn_client):
    """The peer never reads: the client's sends stop being taken, and
    turnd's RSS grows by no more than a few relay.tcp_buffer."""
    t = turn_factory({"relay": {"tcp_buffer": 65536}})
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    p.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock = d.conn.sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    before = harness.vm_rss_kb(t.pid)
    sock.setblocking(False)
    chunk = b"x" * 65536
    sent = 0
    stalled = 0
    deadline = time.monotonic() + 20
    for _ in range(100000):
        if time.monotonic() > deadline:
            break
        try:
            sent += sock.send(chunk)
            stalled = 0
        except BlockingIOError:
            stalled += 1
            if stalled > 20:
                break           # 20 x 50 ms without progress: blocked
            time.sleep(0.05)
    assert stalled > 20, "the client could send %d bytes unblocked" % sent
    assert sent < 16 * 1024 * 1024, sent
    grown = harness.vm_rss_kb(t.pid) - before
    print("slow peer: %d bytes taken before blocking, RSS +%d KiB"
          % (sent, grown))
    if not harness.asan_build(t.binary):     # ASan's quarantine keeps freed memory
        assert grown < 2048, "turnd grew by %d KiB" % grown
    # and it all arrives once the peer reads
    p.setblocking(True)
    got = recv_exact(p, sent, timeout=20.0)
    assert len(got) == sent
    p.close()
    ls.close()


def test_metrics(turn_factory, turn_client):
    """/metrics has the TCP relay families, moved by one relay."""
    import test_metrics as tm
    port = tm.free_tcp_port()
    t = turn_factory(tm.metrics_over(port))
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    d.conn.sock.sendall(b"12345")
    assert recv_exact(p, 5) == b"12345"
    expect_error(c.connect(("127.0.0.1", closed_port())), 447)
    t.wait_stats(lambda s: s.get("tcp_bytes_out") == 5)
    m = tm.scrape(port)
    assert tm.val(m, "turnd_tcp_relay_connections") == 1
    assert tm.val(m, "turnd_tcp_relay_opened_total", how="connect") == 1
    assert tm.val(m, "turnd_tcp_relay_binds_total") == 1
    assert tm.val(m, "turnd_tcp_relay_failures_total",
                  reason="connect_refused") == 1
    assert tm.val(m, "turnd_tcp_relay_bytes_total",
                  direction="client_to_peer") == 5
    assert tm.val(m, "turnd_error_responses_total", code="447") == 1
    p.close()
    ls.close()


def test_turnctl_sessions(turn_factory, turn_client, tmp_path_factory):
    """turnctl shows a TCP allocation as such, with its connections."""
    import json
    import shutil
    import tempfile
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")
    sockdir = tempfile.mkdtemp(prefix="tc", dir="/tmp")
    try:
        path = os.path.join(sockdir, "ctl.sock")
        t = turn_factory({"control": {"socket": path}})

        def run(*args):
            r = harness.run_turnctl(["-c", t.conf_path] + list(args))
            assert r.returncode == 0, (r.stdout, r.stderr)
            return r.stdout

        c, _ = tcp_alloc(t, turn_client)
        ls = listener()
        d, p = connect_bound(t, c, ls)
        d.conn.sock.sendall(b"abc")
        assert recv_exact(p, 3) == b"abc"
        pending = listener()
        expect_ok(c.connect(pending.getsockname()))
        s = json.loads(run("--json", "sessions"))["sessions"]
        assert len(s) == 1 and s[0]["relay"] == "tcp"
        conns = {x["state"]: x for x in s[0]["tcp_connections"]}
        assert set(conns) == {"bound", "unbound"}, conns
        assert conns["bound"]["peer"] == "127.0.0.1:%d" % ls.getsockname()[1]
        assert conns["bound"]["data"] == "tcp"
        assert conns["bound"]["bytes_to_peer"] == 3
        text = run("session", s[0]["id"])
        assert "relay:         tcp, 2 connections" in text
        assert "bound over tcp, 3 bytes to peer" in text
        p.close()
        ls.close()
        pending.close()
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def test_allocation_expiry_closes_pipes(turn_factory, turn_client):
    t = turn_factory({"relay": {"default_lifetime": 2, "max_lifetime": 2}})
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    d, p = connect_bound(t, c, ls)
    assert read_eof(p, 6.0) in ("eof", "reset")
    assert read_eof(d.conn.sock, 2.0) in ("eof", "reset")
    t.wait_stats(lambda s: s.get("alloc_expired") == 1 and
                 s.get("tcp_conns") == 0)
    ls.close()


def test_tcp_allocation_counts_in_quota(turn_factory, turn_client):
    t = turn_factory({"relay": {"user_quota": 1}})
    tcp_alloc(t, turn_client)
    expect_error(turn_client(t, "tcp").allocate(transport=stun.PROTO_TCP),
                 486)
    expect_error(turn_client(t, "tcp").allocate(), 486)


def test_bind_on_control_connection_400(turn_factory, turn_client):
    """ConnectionBind belongs on a new connection (RFC 6062 5.4)."""
    t = turn_factory()
    c, _ = tcp_alloc(t, turn_client)
    ls = listener()
    cid = expect_ok(c.connect(ls.getsockname())).connection_id()
    expect_error(c.connection_bind(cid), 400, stun.CONNECTION_BIND)
    # the peer connection still waits for a proper one
    d, r = bind(t, c, cid)
    expect_ok(r, stun.CONNECTION_BIND)
    ls.close()


def test_connection_limit_508(turn_factory, turn_client):
    t = turn_factory({"relay": {"tcp_connections": 2}})
    c, _ = tcp_alloc(t, turn_client)
    ls = [listener() for _ in range(3)]
    expect_ok(c.connect(ls[0].getsockname()))
    expect_ok(c.connect(ls[1].getsockname()))
    expect_error(c.connect(ls[2].getsockname()), 508, stun.CONNECT)
    for s in ls:
        s.close()
