"""One port for plain TCP and TLS (an address in both listen.tcp and
listen.tls, turnd.conf(5)): the first byte of a connection decides
(src/net/stream.c).  And ALPN (RFC 7443) on TLS.

Every server here listens for TCP and TLS on the same 127.0.0.1:P and
[::1]:P (P is also its UDP port); t.client("tls") goes to P.
"""

import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import pytest

import harness
import stun
from conftest import expect_ok, turn_overrides

UCLIENT_TIMEOUT = 60.0
PEER_START_TIMEOUT = 5.0


def one_port(factory, over=None, turn=True):
    """A started turnd whose listen.tls is its listen.tcp."""
    t = factory(turn_overrides(over) if turn else over, start=False)
    share_tls_port(t)
    t.start()
    return t


def share_tls_port(t):
    """Before t starts: its listen.tls becomes its listen.tcp."""
    t.config["listen"]["tls"] = list(t.config["listen"]["tcp"])
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    t.tls_port = t.port


def binding_ok(c):
    r = c.request(stun.binding_request())
    return r.cls == stun.SUCCESS and r.xor_mapped() == c.local


def recv_msg(sock, timeout=5.0):
    """One STUN message from a stream socket (bounded)."""
    sock.settimeout(timeout)
    buf = b""
    for _ in range(1000):
        need = 20 if len(buf) < 20 else 20 + struct.unpack(
            "!H", buf[2:4])[0]
        if len(buf) >= need:
            return stun.decode(buf[:need])
        chunk = sock.recv(need - len(buf))
        if not chunk:
            raise stun.Closed()
        buf += chunk
    raise AssertionError("no whole message")


def tls_raw(t, alpn, family=4):
    """A TLS socket to t offering the ALPN protocols alpn."""
    host, port = t.addr("tls", family)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(t.certs.cert)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection((host, port), timeout=5)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def served_by_tls(s):
    """A Binding over the TLS socket s is answered with its own address."""
    req = stun.binding_request()
    s.sendall(req.encode())
    r = recv_msg(s)
    return (r.tid == req.tid and r.cls == stun.SUCCESS and
            r.xor_mapped() == s.getsockname()[:2])


# ------------------------------------------------------------- both served

@pytest.mark.parametrize("family", [4, 6])
def test_plain_and_tls_on_one_port(turnd_factory, family):
    """Connection after connection, each kind is served.  Two sockets on
    one port (SO_REUSEPORT) would hand about half of them to the wrong
    protocol."""
    t = one_port(turnd_factory, turn=False)
    for i in range(8):
        for tr in ("tcp", "tls"):
            c = t.client(tr, family)
            try:
                assert binding_ok(c), "%s connection %d not served" % (tr, i)
            finally:
                c.close()
    s = t.stats()
    assert s["tls_handshake_failed"] == 0 and \
        s["conn_closed_garbage"] == 0, s


def test_allocate_plain_and_tls_at_once(turnd_factory, turn_client, peers):
    t = one_port(turnd_factory)
    clients = [turn_client(t, tr) for tr in ("tcp", "tls") * 3]
    for c in clients:
        expect_ok(c.allocate())
    # each allocation records the transport its first byte chose
    s = t.stats()
    assert s["allocs_tcp"] == 3 and s["allocs_tls"] == 3, s
    for i, c in enumerate(clients):
        p = peers()
        expect_ok(c.create_permission(p.addr))
        c.send_indication(p.addr, b"to peer %d" % i)
        got = p.recv(5.0)
        assert got == (b"to peer %d" % i, c.relayed[0]), got
        p.send(b"to client %d" % i, c.relayed[0])
        assert c.recv_data(5.0) == ("data", p.addr, b"to client %d" % i)
    expect_ok(clients[-1].channel_bind(0x4000, p.addr))
    clients[-1].send_channel(0x4000, b"over tls")
    assert p.recv(5.0) == (b"over tls", clients[-1].relayed[0])
    s = t.stats()
    assert s["alloc_created"] == 6 and s["tls_handshake_failed"] == 0, s


def test_per_source_limit_counts_both(turnd_factory):
    t = one_port(turnd_factory,
                 {"limits": {"connections_per_source": 2}}, turn=False)
    a, b = t.client("tcp"), t.client("tls")
    try:
        assert binding_ok(a) and binding_ok(b)
        for tr in ("tcp", "tls"):
            try:
                c = t.client(tr)
            except (ssl.SSLError, ConnectionError, OSError):
                continue                   # closed during the handshake
            try:
                with pytest.raises((stun.Closed, ConnectionError,
                                    ssl.SSLError, OSError)):
                    c.request(stun.binding_request(), timeout=5.0)
            finally:
                c.close()
        s = t.wait_stats(lambda s: s.get("conn_rejected") == 2)
        assert s["conn_rejected"] == 2, s
        # another source has its own count
        d = t.client("tls", bind=("127.0.0.2", 0))
        assert binding_ok(d)
        d.close()
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------- deadlines

def test_silent_connection_closed_at_frame_timeout(turnd_factory):
    """Nothing sent: neither TLS nor plain yet, so the frame timeout (1 s)
    holds, not the idle timeout (30 s)."""
    t = one_port(turnd_factory, {"limits": {"idle_timeout": 30,
                                             "frame_timeout": 1}},
                 turn=False)
    c = t.client("tcp")
    t0 = time.monotonic()
    closed = c.wait_closed(10.0)
    elapsed = time.monotonic() - t0
    assert closed, "a silent connection was still open after 10 s"
    assert elapsed >= 0.8, "closed after %.2fs, frame_timeout is 1s" % elapsed
    s = t.wait_stats(lambda s: s.get("conn_closed_stall") == 1)
    assert s["conn_closed_stall"] == 1, s
    assert s["tls_handshake_failed"] == 0 and s["conn_closed_idle"] == 0, s


def test_stalled_tls_handshake_closed_from_accept(turnd_factory):
    """A TLS record header, then nothing: the handshake deadline counts
    from the accept, as on a listen.tls-only port."""
    t = one_port(turnd_factory, {"limits": {"idle_timeout": 30,
                                             "frame_timeout": 1}},
                 turn=False)
    cs = [t.client("tcp") for _ in range(4)]
    t0 = time.monotonic()
    for c in cs:
        c.send(b"\x16\x03\x01")
    for c in cs:
        assert c.wait_closed(10.0), "a stalled handshake was still open"
        c.close()
    assert time.monotonic() - t0 >= 0.8
    s = t.wait_stats(lambda s: s.get("tls_handshake_failed") == 4)
    assert s["tls_handshake_failed"] == 4 and s["conn_closed_stall"] == 0, s
    assert s["conn_closed_garbage"] == 0, s
    assert binding_ok(t.client("tls"))


def test_plain_garbage_still_closed(turnd_factory):
    t = one_port(turnd_factory, turn=False)
    for _ in range(4):
        c = t.client("tcp")
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        assert c.wait_closed(5.0), "HTTP on the shared port was kept open"
        c.close()
    s = t.wait_stats(lambda s: s.get("conn_closed_garbage") == 4)
    assert s["conn_closed_garbage"] == 4 and \
        s["tls_handshake_failed"] == 0, s


# ------------------------------------------------------------- ALPN

@pytest.fixture(scope="module")
def alpn_servers(turnd_bin, session_dir, certs, extra_defaults):
    """{False: a turnd with its own TLS port, True: one on one port};
    the ALPN cases change no state."""
    made = {}
    try:
        for shared in (False, True):
            t = harness.Turnd(turnd_bin, os.path.join(
                session_dir, "alpn-%d" % shared), certs,
                extra=extra_defaults)
            made[shared] = t
            if shared:
                share_tls_port(t)
            t.start()
        yield made
    finally:
        problems = []
        for t in made.values():
            alive = t.alive()
            rc = t.stop()
            if not alive or rc != 0:
                problems.append("%s: alive=%s, exit status %s"
                                % (t.dir, alive, rc))
        assert not problems, "\n".join(problems)


@pytest.mark.parametrize("shared", [False, True], ids=["tls-port", "one-port"])
@pytest.mark.parametrize("offer,chosen", [
    (["stun.turn"], "stun.turn"),
    (["stun.nat-discovery"], "stun.nat-discovery"),
    (["h2", "stun.turn"], "stun.turn"),
    (["h2", "http/1.1"], None),
    (None, None),
], ids=["turn", "nat-discovery", "h2-and-turn", "others-only", "none"])
def test_alpn(alpn_servers, shared, offer, chosen):
    """RFC 7443: stun.turn and stun.nat-discovery are selected; a client
    offering only other protocols (or none) is served without ALPN."""
    t = alpn_servers[shared]
    for _ in range(4):                  # each may land on another worker
        s = tls_raw(t, offer)
        try:
            assert s.selected_alpn_protocol() == chosen
            assert served_by_tls(s)
        finally:
            s.close()


# ------------------------------------------------------------- uclient

have_coturn = shutil.which("turnutils_uclient") is not None and \
    shutil.which("turnutils_peer") is not None


def peer_start(workdir):
    """turnutils_peer (a UDP echo) on 127.0.0.1: (Popen, port, log)."""
    for _ in range(100):
        port = harness.free_port(hosts=("127.0.0.1",), kinds=("udp",))
        if port < 65535 and harness.port_is_free("127.0.0.1", port + 1,
                                                 kinds=("udp",)):
            break
    log = open(os.path.join(workdir, "peer.log"), "wb")
    proc = subprocess.Popen(["turnutils_peer", "-p", str(port), "-L",
                             "127.0.0.1"], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    harness.poll_until(
        lambda: proc.poll() is not None or not harness.port_is_free(
            "127.0.0.1", port, kinds=("udp",)),
        PEER_START_TIMEOUT, "turnutils_peer to bind")
    assert proc.poll() is None, "turnutils_peer exited"
    return proc, port, log


@pytest.mark.skipif(not have_coturn, reason="coturn's uclient/peer missing")
def test_uclient_tcp_and_tls_one_port(turnd_factory, tmp_path):
    """turnutils_uclient over TCP (-t) and over TLS (-t -S), at once,
    against the one port; both relay every message."""
    t = one_port(turnd_factory, {"relay": {"rfc5766_channels": True}})
    peer, pport, plog = peer_start(str(tmp_path))
    runs = {}
    try:
        for name, extra in (("tcp", ["-t", "-c"]), ("tls", ["-t", "-S",
                                                             "-c"])):
            out = open(os.path.join(str(tmp_path), name + ".out"), "wb")
            cmd = ["turnutils_uclient", "-u", "alice", "-w", "secret",
                   "-e", "127.0.0.1", "-r", str(pport), "-p", str(t.port),
                   "-n", "20", "-m", "2"] + extra + ["127.0.0.1"]
            runs[name] = (subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=str(tmp_path)), out)
        deadline = time.monotonic() + UCLIENT_TIMEOUT
        for name, (proc, out) in runs.items():
            try:
                rc = proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                rc = "timeout"
            out.close()
            with open(out.name, errors="replace") as f:
                text = f.read()
            info = "%s: rc %s\n%s" % (name, rc, text[-3000:])
            assert rc == 0, info
            tot = [ln for ln in text.splitlines()
                   if "tot_send_msgs=" in ln][-1]
            sent = int(tot.split("tot_send_msgs=")[1].split(",")[0])
            got = int(tot.split("tot_recv_msgs=")[1].split(",")[0])
            assert sent == 40 and got == sent, info
        s = t.stats()
        assert s["relay_pkts_out"] >= 80 and s["relay_pkts_in"] >= 80, s
        # (uclient itself drops some TLS connections mid-handshake, on a
        # listen.tls-only port as well: tls_handshake_failed is not 0)
        assert s["conn_closed_garbage"] == 0, s
    finally:
        for proc, out in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            out.close()
        harness.stop_process(peer)
        plog.close()


# ------------------------------------------------------------- turnctl

def test_turnctl_shows_both(turnd_factory, turn_client):
    """turnctl status lists the one socket as tcp/ and tls/; sessions
    tell the plain allocation from the TLS one."""
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")
    d = tempfile.mkdtemp(prefix="op", dir="/tmp")   # sun_path: 107 bytes
    try:
        t = one_port(turnd_factory, {"control": {
            "socket": os.path.join(d, "c.sock")}})
        a, b = turn_client(t, "tcp"), turn_client(t, "tls")
        expect_ok(a.allocate())
        expect_ok(b.allocate())
        r = harness.run_turnctl(["-c", t.conf_path, "--json", "status"])
        assert r.returncode == 0, r.stderr
        ls = json.loads(r.stdout)["listeners"]
        for tr in ("tcp", "tls"):
            assert "%s/127.0.0.1:%d" % (tr, t.port) in ls, ls
        r = harness.run_turnctl(["-c", t.conf_path, "--json", "sessions"])
        assert r.returncode == 0, r.stderr
        got = sorted((x["transport"], x["client"]) for x in
                     json.loads(r.stdout)["sessions"])
        assert got == sorted([
            ("tcp", "127.0.0.1:%d" % a.local[1]),
            ("tls", "127.0.0.1:%d" % b.local[1])]), got
    finally:
        shutil.rmtree(d, ignore_errors=True)
