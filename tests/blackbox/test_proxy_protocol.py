"""PROXY protocol v1 and v2 on TCP and TLS listeners (listen.proxy_from).

With a real HAProxy in front (mode tcp, send-proxy / send-proxy-v2, TLS
passed through): a Binding reports the client's own address and port, an
allocation relays, and limits.connections_per_source counts the client,
not HAProxy.  Without HAProxy: from a proxy_from source a missing,
malformed, oversized or late header closes the connection and is
counted; from another source a PROXY header is refused; a v2 LOCAL
header (a health check) keeps the connection's own address.

HAProxy connects from 127.0.0.9 (its "source"), the only proxy_from
address; clients bind 127.0.0.2 and 127.0.0.3, so each of the three is
told apart by its address.
"""

import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile

import pytest

import harness
import stun
from conftest import STREAMS, expect_ok, turn_overrides

LB = "127.0.0.9"                 # HAProxy's source; listen.proxy_from
CLIENT = "127.0.0.2"
OTHER = "127.0.0.3"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
MODES = ["v1", "v2"]


def proxy_conf(over=None):
    return harness.merge({"listen": {"proxy_from": [LB + "/32"],
                                     "proxy_timeout": 2}}, over)


def v1_header(src, dst):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src[0], dst[0], src[1],
                                            dst[1])).encode()


def v2_header(src, dst, cmd=1, tlv=b""):
    """PROXY over TCP4 (cmd 1), or LOCAL (cmd 0) with no addresses."""
    body = b""
    if cmd == 1:
        body = (socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) +
                struct.pack("!HH", src[1], dst[1]) + tlv)
    return V2_SIG + bytes([0x20 | cmd, 0x11 if cmd == 1 else 0x00]) + \
        struct.pack("!H", len(body)) + body


def raw_conn(t, transport, bind=LB):
    s = socket.create_connection(t.addr(transport), timeout=5.0,
                                 source_address=(bind, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def stream_over(t, sock, transport):
    """A stun.StreamClient on sock (connected, header already sent)."""
    c = stun.StreamClient.__new__(stun.StreamClient)
    c.transport = transport
    c.server = t.addr(transport)
    if transport == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(t.certs.cert)
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    c.sock = sock
    c.buf = b""
    c.eof = False
    return c


def closed_at_once(sock, timeout=5.0):
    """True if the server closes sock (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# ------------------------------------------------------------- HAProxy

class HAProxy:
    """One haproxy in the foreground: a frontend per (transport, mode),
    each passing bytes to turnd with a PROXY header of that mode."""

    def __init__(self, workdir, turnd):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.ports = {}
        lines = ["global", "    maxconn 200", "defaults", "    mode tcp",
                 "    timeout connect 5s", "    timeout client 60s",
                 "    timeout server 60s"]
        # A frontend of its own to wait on (haproxy binds them all
        # before it serves one), so that waiting never reaches turnd.
        self.ready_port = harness.free_port(("127.0.0.1",), ("tcp",))
        taken = [self.ready_port]
        lines += ["frontend ready", "    bind 127.0.0.1:%d" %
                  self.ready_port, "    tcp-request connection reject"]
        for tp in STREAMS:
            for mode in MODES:
                port = harness.free_port(("127.0.0.1",), ("tcp",),
                                         exclude=taken)
                taken.append(port)
                self.ports[(tp, mode)] = port
                name = "%s_%s" % (tp, mode)
                send = "send-proxy" if mode == "v1" else "send-proxy-v2"
                lines += ["frontend f_%s" % name,
                          "    bind 127.0.0.1:%d" % port,
                          "    default_backend b_%s" % name,
                          "backend b_%s" % name,
                          "    source %s" % LB,
                          "    server s 127.0.0.1:%d %s" % (
                              turnd.addr(tp)[1], send)]
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(workdir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen(["haproxy", "-f", self.cfg, "-db"],
                                     stdout=self.log, stderr=self.log)
        harness.poll_until(lambda: self._accepts(self.ready_port), 10.0,
                           "haproxy to listen")

    def _accepts(self, port):
        if self.proc.poll() is not None:
            raise AssertionError("haproxy exited: %s" % open(
                os.path.join(self.dir, "haproxy.log")).read()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return True
        except OSError:
            return False

    def addr(self, transport, mode):
        return ("127.0.0.1", self.ports[(transport, mode)])

    def client(self, t, transport, mode, bind=CLIENT):
        """A StreamClient to turnd through this haproxy, from bind; None
        if turnd closed it during the TLS handshake."""
        try:
            return stun.StreamClient(self.addr(transport, mode),
                                     tls=transport == "tls",
                                     cafile=t.certs.cert,
                                     server_hostname="localhost",
                                     bind=(bind, 0))
        except (ssl.SSLError, ConnectionError, socket.timeout):
            return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10.0)
        self.log.close()


@pytest.fixture
def haproxy_for(request):
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/deps.sh --test)")
    made = []

    def make(t):
        h = HAProxy(os.path.join(t.dir, "haproxy"), t)
        made.append(h)
        return h
    yield make
    for h in made:
        h.stop()


def served(c):
    """A Binding on c: its XOR-MAPPED-ADDRESS, or None if c was closed."""
    if c is None:
        return None
    try:
        r = c.request(stun.binding_request(), timeout=5.0)
    except (stun.Closed, ConnectionError, ssl.SSLError):
        return None
    assert r is not None, "neither served nor closed"
    assert r.cls == stun.SUCCESS, r
    return r.xor_mapped()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", STREAMS)
def test_haproxy_binding_reports_client(turnd_factory, haproxy_for,
                                        transport, mode):
    t = turnd_factory(proxy_conf())
    h = haproxy_for(t)
    c = h.client(t, transport, mode)
    assert served(c) == c.local, "XOR-MAPPED-ADDRESS is not the client's"
    c.close()
    s = t.wait_stats(lambda s: s.get("proxy_ok") == 1)
    assert s["proxy_ok"] == 1 and s["proxy_bad"] == 0, s


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", STREAMS)
def test_haproxy_allocation_relays(turnd_factory, haproxy_for, peer,
                                   transport, mode):
    t = turnd_factory(turn_overrides(proxy_conf()))
    h = haproxy_for(t)
    c = stun.TurnClient(h.client(t, transport, mode))
    try:
        r = expect_ok(c.allocate(), stun.ALLOCATE)
        assert r.xor_mapped() == c.local
        expect_ok(c.create_permission(peer.addr), stun.CREATE_PERMISSION)
        c.send_indication(peer.addr, b"to the peer")
        got = peer.recv(5.0)
        assert got is not None and got[0] == b"to the peer"
        peer.send(b"to the client", got[1])
        assert c.recv_data(5.0) == ("data", peer.addr, b"to the client")
    finally:
        c.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", STREAMS)
def test_haproxy_per_source_limit_counts_client(turnd_factory, haproxy_for,
                                                transport, mode):
    t = turnd_factory(proxy_conf({"limits": {"connections_per_source": 2}}))
    h = haproxy_for(t)
    held, got = [], []
    for _ in range(3):        # one after the other: the order is known
        held.append(h.client(t, transport, mode))
        got.append(served(held[-1]))
    assert got[0] == held[0].local and got[1] == held[1].local
    assert got[2] is None, "a third connection of one client was served"
    s = t.wait_stats(lambda s: s.get("conn_rejected") == 1)
    assert s["conn_rejected"] == 1, s
    # All came from HAProxy's one address: another client still gets in.
    d = h.client(t, transport, mode, bind=OTHER)
    assert served(d) == d.local
    for c in held + [d]:
        if c is not None:
            c.close()


# ------------------------------------------------------------- direct

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", STREAMS)
def test_header_carries_address(turnd_factory, transport, mode):
    t = turnd_factory(proxy_conf())
    src, dst = ("192.0.2.7", 4242), t.addr(transport)
    hdr = v1_header(src, dst) if mode == "v1" else \
        v2_header(src, dst, tlv=b"\x04\x00\x03abc")   # a NOOP TLV
    s = raw_conn(t, transport)
    s.sendall(hdr)
    c = stream_over(t, s, transport)
    assert served(c) == src
    c.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_v1_tcp6_over_ipv4(turnd_factory, transport):
    """An IPv6 client behind a balancer that reaches turnd over IPv4."""
    t = turnd_factory(proxy_conf())
    s = raw_conn(t, transport)
    s.sendall(b"PROXY TCP6 2001:db8::7 ::1 4242 443\r\n")
    c = stream_over(t, s, transport)
    assert served(c) == ("2001:db8::7", 4242)
    c.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_v2_local_keeps_own_address(turnd_factory, transport):
    t = turnd_factory(proxy_conf())
    s = raw_conn(t, transport)
    s.sendall(v2_header(None, None, cmd=0))
    c = stream_over(t, s, transport)
    assert served(c) == c.local and c.local[0] == LB
    c.close()
    st = t.wait_stats(lambda s: s.get("proxy_ok") == 1)
    assert st["proxy_ok"] == 1, st


BAD = {
    "missing": stun.binding_request().encode(),
    "malformed": b"PROXY TCP4 192.0.2.7 nonsense 1 2\r\n",
    "oversized_v1": b"PROXY UNKNOWN " + b"x" * 200,
    "oversized_v2": V2_SIG + b"\x21\x11\xff\xff" + b"\x00" * 64,
    "v2_udp": V2_SIG + b"\x21\x12\x00\x0c" + b"\x00" * 12,
}


@pytest.mark.parametrize("what", sorted(BAD))
@pytest.mark.parametrize("transport", STREAMS)
def test_bad_header_closes(turnd_factory, transport, what):
    t = turnd_factory(proxy_conf())
    s = raw_conn(t, transport)
    s.sendall(BAD[what])
    assert closed_at_once(s), "connection with a bad header left open"
    s.close()
    st = t.wait_stats(lambda s: s.get("proxy_bad") == 1)
    assert st["proxy_bad"] == 1 and st["proxy_ok"] == 0, st
    assert t.binding_ok(transport)


def test_header_deadline(turnd_factory):
    t = turnd_factory(proxy_conf({"listen": {"proxy_timeout": 1}}))
    s = raw_conn(t, "tcp")
    s.sendall(b"PROXY TCP4 192.0.2.7 ")      # and no more
    assert closed_at_once(s, timeout=4.0), "half a header held the socket"
    s.close()
    st = t.wait_stats(lambda s: s.get("proxy_timeout") == 1)
    assert st["proxy_timeout"] == 1, st


@pytest.mark.parametrize("mode", MODES)
def test_header_from_other_source_refused(turnd_factory, mode):
    t = turnd_factory(proxy_conf())
    src, dst = ("192.0.2.7", 4242), t.addr("tcp")
    hdr = v1_header(src, dst) if mode == "v1" else v2_header(src, dst)
    s = raw_conn(t, "tcp", bind=CLIENT)
    s.sendall(hdr + stun.binding_request().encode())
    assert closed_at_once(s), "a PROXY header from 127.0.0.2 was accepted"
    s.close()
    st = t.wait_stats(lambda s: s.get("proxy_refused") == 1)
    assert st["proxy_refused"] == 1 and st["proxy_ok"] == 0, st


def test_header_counted_against_client(turnd_factory):
    """Two headers naming one client from the balancer fill the client's
    per-source slots; a third is refused, a header naming another client
    is not."""
    t = turnd_factory(proxy_conf({"limits": {"connections_per_source": 2}}))
    dst = t.addr("tcp")
    held, got = [], []
    for port in (1001, 1002, 1003):
        s = raw_conn(t, "tcp")
        s.sendall(v1_header(("192.0.2.7", port), dst))
        held.append(stream_over(t, s, "tcp"))
        got.append(served(held[-1]))
    assert got == [("192.0.2.7", 1001), ("192.0.2.7", 1002), None], got
    s = raw_conn(t, "tcp")
    s.sendall(v1_header(("192.0.2.8", 1), dst))
    other = stream_over(t, s, "tcp")
    assert served(other) == ("192.0.2.8", 1)
    for c in held + [other]:
        c.close()


def test_turnctl_sessions_show_client(turn_factory):
    """An allocation over a connection from the balancer is the client's:
    turnctl sessions names the address its header carried."""
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")
    d = tempfile.mkdtemp(prefix="pp", dir="/tmp")   # sun_path is short
    try:
        t = turn_factory(proxy_conf({"control": {
            "socket": os.path.join(d, "ctl.sock")}}))
        s = raw_conn(t, "tcp")
        s.sendall(v2_header(("192.0.2.7", 4242), t.addr("tcp")))
        c = stun.TurnClient(stream_over(t, s, "tcp"))
        r = expect_ok(c.allocate(), stun.ALLOCATE)
        assert r.xor_mapped() == ("192.0.2.7", 4242)
        out = harness.run_turnctl(["-c", t.conf_path, "--json", "sessions"])
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)["sessions"]
        assert [x["client"] for x in got] == ["192.0.2.7:4242"], got
        c.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unauth_rate_counts_client(turn_factory):
    """auth.unauth_rate limits the client a header names: ten unsigned
    Allocates of one client in a burst get at most two 401s a second,
    while another client behind the same balancer still gets its 401."""
    t = turn_factory(proxy_conf({"auth": {"unauth_rate": 2}}))
    dst = t.addr("tcp")
    alloc = stun.turn_message(stun.ALLOCATE,
                              attrs=[stun.requested_transport_attr()])
    s = raw_conn(t, "tcp")
    s.sendall(v1_header(("192.0.2.7", 1), dst) + alloc.encode() * 10)
    a = stream_over(t, s, "tcp")
    st = t.wait_stats(lambda st: st.get("dropped_ratelimited", 0) >= 6)
    assert st["dropped_ratelimited"] >= 6, st
    answers = 0
    for _ in range(10):
        if a.recv(0.2) is None:
            break
        answers += 1
    assert 1 <= answers <= 4, answers
    s = raw_conn(t, "tcp")
    s.sendall(v1_header(("192.0.2.8", 1), dst))
    b = stream_over(t, s, "tcp")
    r = b.request(alloc, timeout=5.0)
    assert r is not None and r.error_code() == 401, r
    a.close()
    b.close()
