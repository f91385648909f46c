"""STUN and TURN over DTLS (RFC 7350): listen.dtls, turnd.conf(5).

Clients: coturn's turnutils_uclient -S without -t (DTLS over UDP),
openssl s_client -dtls1_2 carrying a STUN Binding of our own, our own
client on OpenSSL (tests/tools/dtls_client.c, built by make check; the
TURN tests run stun.TurnClient over it), and raw ClientHellos for the
floods.
"""

import hashlib
import json
import os
import select
import shutil
import signal
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
from test_metrics import free_tcp_port, http_get, parse_strict
from test_turn_thirdparty import CoturnPeer, have_peer, have_uclient, totals

UCLIENT_TIMEOUT = 60.0


def dtls_turnd(factory, over=None):
    """A turnd with DTLS on 127.0.0.1 at its TLS port number (UDP)."""
    t = factory(over, start=False)
    t.config["listen"]["dtls"] = ["127.0.0.1:%d" % t.tls_port]
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    t.start()
    return t


def s_client_binding(port, timeout=10.0):
    """A Binding request over DTLS 1.2 by openssl s_client; its stdout."""
    req = struct.pack("!HHI", 0x0001, 0, stun.MAGIC) + os.urandom(12)
    p = subprocess.Popen(
        ["openssl", "s_client", "-dtls1_2", "-quiet", "-connect",
         "127.0.0.1:%d" % port], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(req)
        p.stdin.flush()
        # s_client prints the answer; read the 20-byte header and its body.
        out = b""
        while len(out) < 20 or len(out) < 20 + struct.unpack(
                "!H", out[2:4])[0]:
            chunk = p.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
        return req, out
    finally:
        p.kill()
        p.wait(timeout)


def test_binding_over_dtls(turnd_factory):
    t = dtls_turnd(turnd_factory)
    req, out = s_client_binding(t.tls_port)
    assert len(out) >= 20, out
    typ, _, cookie = struct.unpack("!HHI", out[:8])
    assert typ == 0x0101 and cookie == stun.MAGIC, out
    assert out[8:20] == req[8:20]
    s = t.stats()
    assert s["dtls_hello_verify"] >= 1, s      # the cookie exchange ran
    assert s["dtls_handshakes"] == 1, s
    assert s["binding_success"] == 1, s


def test_garbage_from_unknown_source_dropped(turnd_factory):
    """Not a ClientHello, no association: dropped and counted; the
    plain UDP listener still answers."""
    t = dtls_turnd(turnd_factory)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in (b"\x00\x01\x00\x00" + b"x" * 16, b"\x17\xfe\xfd" +
                     b"\x00" * 30, b"\x16\xfe\xfd" + b"\x00" * 10):
            s.sendto(data, ("127.0.0.1", t.tls_port))
    st = t.wait_stats(lambda st: st["dtls_dropped"] >= 3)
    assert st["dtls_dropped"] == 3, st
    assert st["dtls_hello_verify"] == 0, st
    assert t.binding_ok("udp")



def test_hello_flood_keeps_no_state(turnd_factory, turnd_bin):
    """ClientHellos without a cookie from many loopback sources get a
    HelloVerifyRequest each and leave no state: RSS stays flat (judged on
    the normal build: ASan keeps freed memory in its quarantine)."""
    t = dtls_turnd(turnd_factory)

    def rss():
        return harness.vm_rss_kb(t.pid)

    def flood(n, base):
        harness.dtls_hello_flood(("127.0.0.1", t.tls_port), n, base)

    flood(500, 1)
    t.wait_stats(lambda st: st["dtls_hello_verify"] >= 500)
    before = rss()
    flood(5000, 10)
    st = t.wait_stats(lambda st: st["dtls_hello_verify"] >= 5500)
    after = rss()
    assert st["dtls_hello_verify"] == 5500, st
    assert st["dtls_handshakes"] == 0, st
    if not harness.asan_build(turnd_bin):
        assert after - before < 2048, (before, after)     # kB
    assert t.binding_ok("udp")


uclient = pytest.mark.skipif(not (have_uclient and have_peer),
                             reason="coturn's turnutils_uclient/_peer missing")


@uclient
@pytest.mark.parametrize("args", [["-c"], ["-c", "-s"]],
                         ids=["channels", "send"])
def test_uclient_dtls(turnd_factory, tmp_path, args):
    t = dtls_turnd(turnd_factory,
                   turn_overrides({"relay": {"rfc5766_channels": True}}))
    peer = CoturnPeer("127.0.0.1", str(tmp_path))
    try:
        cmd = ["turnutils_uclient", "-u", "alice", "-w", "secret",
               "-e", "127.0.0.1", "-r", str(peer.port),
               "-p", str(t.tls_port), "-n", "20", "-m", "2", "-S"] + \
            args + ["127.0.0.1"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=str(tmp_path))
        try:
            out, _ = p.communicate(timeout=UCLIENT_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        out = out.decode(errors="replace")
        info = out[-3000:]
        assert p.returncode == 0, info
        sent, received = totals(out)
        assert sent == 40 and received == sent, info
        s = t.stats()
        assert s["dtls_handshakes"] >= 3, s
        assert s["relay_pkts_out"] >= sent and s["relay_pkts_in"] >= sent, s
        assert s["err_400"] == 0 and s["dropped_chandata"] == 0, s
    finally:
        peer.stop()


# ------------------------------------------------- our own DTLS client

def dtls_client_path():
    """tests/tools/dtls_client (make check builds it), beside $TURND's
    build, or $DTLS_CLIENT."""
    p = os.environ.get("DTLS_CLIENT") or os.path.join(
        os.path.dirname(harness.turnd_path() or ""), "tests", "tools",
        "dtls_client")
    assert os.access(p, os.X_OK), \
        "%s missing: run make check (or set DTLS_CLIENT)" % p
    return p


class DtlsConn(stun.Client):
    """A DTLS flow through tests/tools/dtls_client, with the interface of
    stun.UdpClient (send, recv, local, close) so that stun.TurnClient can
    run on it.  stall=True: the client stops after the ClientHello with
    the cookie; self.answered says whether turnd went on (an
    association) or not."""

    transport = "dtls"

    def __init__(self, port, bind=None, stall=False, timeout=15.0):
        args = [dtls_client_path()] + (["-s"] if stall else []) + \
            (["-b", bind] if bind else []) + ["127.0.0.1", str(port)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.buf = b""
        self.eof = False
        line = self.line(timeout)
        want = "stalled" if stall else "connected"
        if line is None or not line.startswith(want + " "):
            self.close()
            raise AssertionError("dtls_client: %r" % line)
        f = line.split()
        self.local = (f[1], int(f[2]))
        self.fingerprint = None if stall else f[3]
        self.answered = stall and f[3] == "answered"

    def line(self, timeout):
        """The client's next line, or None after timeout or at its EOF."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        for _ in range(100000):
            if b"\n" in self.buf:
                out, self.buf = self.buf.split(b"\n", 1)
                return out.decode()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        return None

    def send(self, data):
        self.proc.stdin.write(b"send " + data.hex().encode() + b"\n")
        self.proc.stdin.flush()

    def recv(self, timeout):
        """One record from turnd, or None (timeout, or its close_notify:
        then self.eof)."""
        line = self.line(timeout)
        if line == "eof":
            self.eof = True
            return None
        if line is None:
            return None
        assert line.startswith("recv "), line
        return bytes.fromhex(line[5:])

    def close_notify(self):
        self.proc.stdin.write(b"close\n")
        self.proc.stdin.flush()
        assert self.line(10.0) == "closed"
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        harness.stop_process(self.proc)
        self.proc.stdout.close()


@pytest.fixture
def dtls_conns():
    """dtls_conns(port, ...): a DtlsConn, stopped at teardown."""
    made = []

    def make(*a, **kw):
        c = DtlsConn(*a, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def dtls_turn(conn, **kw):
    return stun.TurnClient(conn, **kw)


def cert_sha256(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def test_own_client_binding_and_allocation(turnd_factory, dtls_conns):
    """Our client: a Binding reports its own address, an allocation over
    DTLS is counted as one (allocs_dtls, not allocs_tls), and the
    certificate is the TLS listeners' (tls.cert)."""
    t = dtls_turnd(turnd_factory, turn_overrides())
    c = dtls_conns(t.tls_port)
    assert c.fingerprint == cert_sha256(t.certs.cert)
    req = stun.binding_request()
    r = c.request(req)
    assert r.cls == stun.SUCCESS and r.xor_mapped() == c.local, r
    tc = dtls_turn(c)
    expect_ok(tc.allocate())
    st = t.stats()
    assert st["allocs_dtls"] == 1 and st["allocs_tls"] == 0, st
    assert st["allocs_udp"] == 0, st


def stalled_hs(t, dtls_conns, bind):
    """A client from bind that stops after its cookie ClientHello."""
    return dtls_conns(t.tls_port, bind=bind, stall=True)


def test_handshake_limits(turnd_factory, dtls_conns):
    """limits.dtls_handshakes_per_source = 2 and limits.dtls_handshakes =
    3 (process-wide): handshakes under way past either are dropped and
    counted (dtls_handshake_limited), those within go on; a slot is given
    back when its handshake ends (here by limits.frame_timeout), and a
    finished handshake holds none."""
    t = dtls_turnd(turnd_factory, {"limits": {
        "dtls_handshakes": 3, "dtls_handshakes_per_source": 2,
        "frame_timeout": 3}})
    a = [stalled_hs(t, dtls_conns, "127.0.0.1") for _ in range(2)]
    assert all(c.answered for c in a)
    over = stalled_hs(t, dtls_conns, "127.0.0.1")       # per source
    assert not over.answered
    st = t.wait_stats(lambda s: s["dtls_handshake_limited"] >= 1)
    assert st["dtls_handshake_limited"] == 1, st
    b = stalled_hs(t, dtls_conns, "127.0.0.2")          # 3 in all
    assert b.answered
    over = stalled_hs(t, dtls_conns, "127.0.0.3")       # total
    assert not over.answered
    st = t.wait_stats(lambda s: s["dtls_handshake_limited"] >= 2)
    assert st["dtls_handshake_limited"] == 2, st
    assert st["dtls_rejected"] == 0 and st["dtls_handshakes"] == 0, st
    # the three time out and give their slots back
    st = t.wait_stats(lambda s: s["dtls_handshake_timeout"] >= 3,
                      timeout=15)
    assert st["dtls_handshake_timeout"] == 3, st
    done = [dtls_conns(t.tls_port, bind="127.0.0.1") for _ in range(4)]
    for c in done:
        assert c.request(stun.binding_request()).cls == stun.SUCCESS
    st = t.stats()
    assert st["dtls_handshakes"] == 4, st
    assert st["dtls_handshake_limited"] == 2, st


def metrics_dtls_turnd(turnd_factory, sockdir, over=None):
    port = free_tcp_port()
    t = dtls_turnd(turnd_factory, harness.merge(turn_overrides(over), {
        "metrics": {"listen": "127.0.0.1:%d" % port},
        "control": {"socket": os.path.join(sockdir, "c.sock")}}))
    return t, port


def metrics(port):
    status, _, body = http_get(port, "/metrics")
    assert status == 200
    return parse_strict(body)


def dtls_sessions(t):
    r = harness.run_turnctl(["-c", t.conf_path, "--json", "sessions"])
    assert r.returncode == 0, r.stderr
    return [(x["transport"], x["client"]) for x in
            json.loads(r.stdout)["sessions"]]


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="dt", dir="/tmp")   # sun_path: 107 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_close_notify_ends_allocation_metrics_sessions(turnd_factory,
                                                       dtls_conns, sockdir):
    """A DTLS allocation is its own transport: allocs_dtls in the stats
    line, turnd_allocations{transport="dtls"} in /metrics, dtls/ in
    turnctl sessions; every dtls_* counter has its /metrics row; the
    client's close_notify ends the association and its allocation."""
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")
    t, mport = metrics_dtls_turnd(turnd_factory, sockdir)
    c = dtls_conns(t.tls_port)
    expect_ok(dtls_turn(c).allocate())
    st = t.stats()
    assert st["allocs_dtls"] == 1 and st["allocs_tls"] == 0, st
    m = metrics(mport)
    assert m[("turnd_allocations", '{transport="dtls"}')] == 1, m
    assert m[("turnd_allocations", '{transport="tls"}')] == 0, m
    rows = {
        ("turnd_dtls_hello_verify_total", ""): "dtls_hello_verify",
        ("turnd_dtls_refused_total", '{reason="not_client_hello"}'):
            "dtls_dropped",
        ("turnd_dtls_refused_total", '{reason="connection_limit"}'):
            "dtls_rejected",
        ("turnd_dtls_refused_total", '{reason="handshake_limit"}'):
            "dtls_handshake_limited",
        ("turnd_dtls_handshakes_total", '{result="ok"}'): "dtls_handshakes",
        ("turnd_dtls_handshakes_total", '{result="failed"}'):
            "dtls_handshake_failed",
        ("turnd_dtls_handshakes_total", '{result="timeout"}'):
            "dtls_handshake_timeout",
        ("turnd_dtls_closed_total", '{reason="close_notify"}'):
            "dtls_closed_notify",
        ("turnd_dtls_closed_total", '{reason="error"}'): "dtls_closed_error",
        ("turnd_dtls_closed_total", '{reason="idle"}'): "dtls_closed_idle",
        ("turnd_dtls_send_failed_total", ""): "dtls_send_failed",
    }
    dtls_keys = [k for k in st if k.startswith("dtls_")]
    assert sorted(dtls_keys) == sorted(rows.values()), dtls_keys
    for k, name in rows.items():
        assert m[k] == st[name], (k, m.get(k), st[name])
    assert m[("turnd_dtls_handshakes_total", '{result="ok"}')] == 1
    assert dtls_sessions(t) == [("dtls", "127.0.0.1:%d" % c.local[1])]

    c.close_notify()
    st = t.wait_stats(lambda s: s["dtls_closed_notify"] >= 1)
    assert st["dtls_closed_notify"] == 1, st
    assert st["allocs_dtls"] == 0 and st["alloc_deleted"] == 1, st
    assert dtls_sessions(t) == []
    m = metrics(mport)
    assert m[("turnd_allocations", '{transport="dtls"}')] == 0, m
    assert m[("turnd_dtls_closed_total", '{reason="close_notify"}')] == 1


def test_handshake_deadline(turnd_factory, dtls_conns):
    """A client that returns the cookie and then stalls is dropped
    limits.frame_timeout seconds after its association was made
    (dtls_handshake_timeout), and gives back what it held: here the one
    connection limits.connections_per_source allows."""
    t = dtls_turnd(turnd_factory, {"limits": {
        "frame_timeout": 2, "connections_per_source": 1}})
    start = time.monotonic()
    c = dtls_conns(t.tls_port, stall=True)
    assert c.answered
    st = t.wait_stats(lambda s: s["dtls_handshake_timeout"] >= 1,
                      timeout=10)
    took = time.monotonic() - start
    assert st["dtls_handshake_timeout"] == 1, st
    assert st["dtls_handshakes"] == 0 and st["dtls_rejected"] == 0, st
    assert 1.5 <= took < 6, took
    d = dtls_conns(t.tls_port)
    assert d.request(stun.binding_request()).cls == stun.SUCCESS


def test_idle_expiry_ends_allocation(turnd_factory, dtls_conns):
    """limits.idle_timeout seconds without a datagram from the client end
    the association (with a close_notify to the client) and its
    allocation."""
    t = dtls_turnd(turnd_factory, turn_overrides(
        {"limits": {"idle_timeout": 2}}))
    c = dtls_conns(t.tls_port)
    expect_ok(dtls_turn(c).allocate())
    assert t.stats()["allocs_dtls"] == 1
    st = t.wait_stats(lambda s: s["dtls_closed_idle"] >= 1, timeout=10)
    assert st["dtls_closed_idle"] == 1, st
    assert st["allocs_dtls"] == 0 and st["alloc_deleted"] == 1, st
    assert st["dtls_closed_notify"] == 0, st
    assert c.recv(5.0) is None and c.eof      # turnd's close_notify


def test_connection_limits_count_associations(turnd_factory, dtls_conns):
    """A DTLS association holds one of limits.connections_per_source and
    of limits.connections, shared with TCP and TLS: over either a new
    association is refused (dtls_rejected) and so is a TCP connection
    (conn_rejected); the close_notify gives the slot back."""
    t = dtls_turnd(turnd_factory, {"limits": {
        "connections": 2, "connections_per_source": 1}})
    a = dtls_conns(t.tls_port, bind="127.0.0.1")
    b = dtls_conns(t.tls_port, bind="127.0.0.1", stall=True)
    assert not b.answered
    st = t.wait_stats(lambda s: s["dtls_rejected"] >= 1)
    assert st["dtls_rejected"] == 1, st
    with socket.create_connection(("127.0.0.1", t.port), timeout=5):
        st = t.wait_stats(lambda s: s["conn_rejected"] >= 1)
    assert st["conn_rejected"] == 1, st
    dtls_conns(t.tls_port, bind="127.0.0.2")            # 2 in all
    c = dtls_conns(t.tls_port, bind="127.0.0.3", stall=True)
    assert not c.answered
    st = t.wait_stats(lambda s: s["dtls_rejected"] >= 2)
    assert st["dtls_rejected"] == 2 and st["dtls_handshakes"] == 2, st
    a.close_notify()
    t.wait_stats(lambda s: s["dtls_closed_notify"] >= 1)
    assert t.binding_ok("tcp")
    assert t.stats()["conn_rejected"] == 1


def test_certificate_reload(turnd_factory, dtls_conns, session_dir):
    """A reload with a new tls.cert: new DTLS handshakes get the new
    certificate, an association made before keeps working (and keeps
    the certificate it was made with)."""
    t = dtls_turnd(turnd_factory, turn_overrides())
    old = dtls_conns(t.tls_port)
    tc = dtls_turn(old)
    expect_ok(tc.allocate())
    assert old.fingerprint == cert_sha256(t.certs.cert)
    d = os.path.join(session_dir, "certs-dtls-reload-%d" % t.tls_port)
    os.makedirs(d)
    new = harness.Certs(d)
    assert cert_sha256(new.cert) != cert_sha256(t.certs.cert)
    t.config["tls"]["cert"], t.config["tls"]["key"] = new.cert, new.key
    with open(t.conf_path + ".new", "w") as f:
        f.write(harness.render_config(t.config))
    os.rename(t.conf_path + ".new", t.conf_path)
    os.kill(t.pid, signal.SIGHUP)
    t.wait_log(r"reloaded .*changed: .*tls\.cert")
    for _ in range(4):                  # two workers: both took it
        n = dtls_conns(t.tls_port)
        assert n.fingerprint == cert_sha256(new.cert)
        assert n.request(stun.binding_request()).cls == stun.SUCCESS
    expect_ok(tc.refresh(lifetime=600))
    r = old.request(stun.binding_request())
    assert r.cls == stun.SUCCESS and r.xor_mapped() == old.local
    st = t.stats()
    assert st["dtls_closed_error"] == 0 and st["allocs_dtls"] == 1, st


# ---------------------------------- a flood of handshakes left half done

def client_hello(cookie=b"", seq=0):
    """A DTLS 1.2 ClientHello (RFC 6347 4.2.2) that OpenSSL takes on to
    its ServerHello with our EC certificate: ECDHE-ECDSA-AES128-GCM,
    P-256, ecdsa_secp256r1_sha256."""
    exts = (b"\x00\x0a\x00\x04\x00\x02\x00\x17" +     # supported_groups
            b"\x00\x0b\x00\x02\x01\x00" +             # ec_point_formats
            b"\x00\x0d\x00\x04\x00\x02\x04\x03")      # signature_algorithms
    body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" +
            bytes([len(cookie)]) + cookie +
            b"\x00\x04\xc0\x2b\x00\xff" + b"\x01\x00" +
            len(exts).to_bytes(2, "big") + exts)
    n = len(body).to_bytes(3, "big")
    hs = b"\x01" + n + seq.to_bytes(2, "big") + b"\x00\x00\x00" + n + body
    return (b"\x16\xfe\xff\x00\x00" + seq.to_bytes(6, "big") +
            len(hs).to_bytes(2, "big") + hs)


def hvr_cookie(dgram):
    """The cookie of a HelloVerifyRequest (RFC 6347 4.2.1), or None."""
    if len(dgram) < 28 or dgram[0] != 22 or dgram[13] != 3:
        return None
    return dgram[28:28 + dgram[27]]


def half_handshakes(port, n, base):
    """n sources 127.0.base+i//250.(1+i%250) each get a cookie and return
    it in a second ClientHello, then go quiet; the number that got one."""
    got = 0
    for i in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.%d.%d" % (base + i // 250, 1 + i % 250), 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.send(client_hello())
            cookie = hvr_cookie(s.recv(2048))
            if cookie:
                s.send(client_hello(cookie, 1))
                got += 1
    return got



def test_half_handshake_flood_bounded(turnd_factory, turnd_bin):
    """1,000 sources return their cookie and stall: at most
    limits.dtls_handshakes of them hold an association (the rest are
    dropped and counted), so turnd's RSS grows by a bounded amount, and
    a Binding over UDP is still answered.  Each such association holds about 50 kB: with
    limits.dtls_handshakes = 1000000 the same flood grew RSS by 51 MB,
    with 100 by 2.6 MB."""
    n, cap = 1000, 100
    t = dtls_turnd(turnd_factory, {"limits": {
        "dtls_handshakes": cap, "frame_timeout": 30}})
    half_handshakes(t.tls_port, 50, 1)          # warm up: pages, tables
    t.wait_stats(lambda s: s["dtls_hello_verify"] >= 50)
    before = harness.vm_rss_kb(t.pid)
    assert half_handshakes(t.tls_port, n, 10) == n
    st = t.wait_stats(lambda s: s["dtls_handshake_limited"] >= n + 50 - cap,
                      timeout=30)
    after = harness.vm_rss_kb(t.pid)
    print("VmRSS kB before %d after %d growth %d (cap %d, %d half "
          "handshakes)" % (before, after, after - before, cap, n))
    assert st["dtls_handshake_limited"] == n + 50 - cap, st
    assert st["dtls_handshake_failed"] == 0, st
    if not harness.asan_build(turnd_bin):
        assert after - before < 4096, (before, after)
    assert t.binding_ok("udp")
