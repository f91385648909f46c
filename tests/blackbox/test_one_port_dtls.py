"""One port for UDP and DTLS (an address in both listen.udp and
listen.dtls, turnd.conf(5)): each datagram goes by its first byte (RFC
7983 section 7, src/net/udp.c): 0..3 STUN, 64..79 ChannelData, 20..63
DTLS, the rest dropped and counted in dropped_demux.

Clients: openssl s_client -dtls1_2, coturn's turnutils_uclient -S, and
DtlsFlow below, a DTLS client of our own on libssl (ctypes, memory BIOs)
that shares its UDP socket with a plain flow: one 5-tuple, both ways.
"""

import ctypes
import ctypes.util
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import harness
import stun
from conftest import expect_ok, turn_overrides
from test_dtls import UCLIENT_TIMEOUT, s_client_binding, uclient
from test_turn_thirdparty import CoturnPeer, totals

HANDSHAKE_ROUNDS = 50
HANDSHAKE_TIMEOUT = 10.0


def one_port(factory, over=None):
    """A started TURN server whose listen.dtls is its listen.udp."""
    t = factory(turn_overrides(over), start=False)
    t.config["listen"]["dtls"] = list(t.config["listen"]["udp"])
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    t.start()
    return t


# ------------------------------------------------ a DTLS client of our own

def _libssl():
    lib = ctypes.CDLL(ctypes.util.find_library("ssl") or "libssl.so.3")
    vp, i, u64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64
    for name, res, args in (
            ("DTLS_client_method", vp, []),
            ("SSL_CTX_new", vp, [vp]), ("SSL_CTX_free", None, [vp]),
            ("SSL_new", vp, [vp]), ("SSL_free", None, [vp]),
            ("SSL_set_bio", None, [vp, vp, vp]),
            ("SSL_set_connect_state", None, [vp]),
            ("SSL_set_options", u64, [vp, u64]),
            ("SSL_ctrl", ctypes.c_long, [vp, i, ctypes.c_long, vp]),
            ("SSL_do_handshake", i, [vp]), ("SSL_get_error", i, [vp, i]),
            ("SSL_read", i, [vp, ctypes.c_char_p, i]),
            ("SSL_write", i, [vp, ctypes.c_char_p, i]),
            ("SSL_shutdown", i, [vp]),
            ("BIO_s_mem", vp, []), ("BIO_new", vp, [vp]),
            ("BIO_read", i, [vp, ctypes.c_char_p, i]),
            ("BIO_write", i, [vp, ctypes.c_char_p, i])):
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


SSL_OP_NO_QUERY_MTU = 0x1000
SSL_CTRL_SET_MTU = 17
SSL_ERROR_WANT_READ = 2


class SharedSocket:
    """One UDP socket to the server; what arrives is sorted by its first
    byte (RFC 7983) into the plain flow's queue or the DTLS flow's."""

    def __init__(self, server, family=socket.AF_INET):
        self.server = server
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1",
                        0))
        self.sock.connect(server)
        self.queues = {"plain": [], "dtls": []}

    @property
    def local(self):
        return self.sock.getsockname()[:2]

    def recv(self, which, timeout):
        """The next datagram for which, or None after timeout."""
        deadline = time.monotonic() + timeout
        while not self.queues[which]:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return None
            kind = "dtls" if data and 20 <= data[0] <= 63 else "plain"
            self.queues[kind].append(data)
        return self.queues[which].pop(0)

    def close(self):
        self.sock.close()


class PlainFlow:
    """The plain half: a stun.UdpClient look-alike for TurnClient."""

    def __init__(self, shared):
        self.shared = shared

    @property
    def local(self):
        return self.shared.local

    def send(self, data, to=None):
        self.shared.sock.send(data)

    def recv(self, timeout):
        return self.shared.recv("plain", timeout)

    def close(self):
        pass


class DtlsFlow(PlainFlow):
    """The DTLS half: one record per STUN message or ChannelData."""

    def __init__(self, shared):
        super().__init__(shared)
        self.lib = _libssl()
        self.ctx = self.lib.SSL_CTX_new(self.lib.DTLS_client_method())
        self.ssl = self.lib.SSL_new(self.ctx)
        self.rbio = self.lib.BIO_new(self.lib.BIO_s_mem())
        self.wbio = self.lib.BIO_new(self.lib.BIO_s_mem())
        self.lib.SSL_set_bio(self.ssl, self.rbio, self.wbio)
        self.lib.SSL_set_options(self.ssl, SSL_OP_NO_QUERY_MTU)
        self.lib.SSL_ctrl(self.ssl, SSL_CTRL_SET_MTU, 1200, None)
        self.lib.SSL_set_connect_state(self.ssl)
        self.buf = ctypes.create_string_buffer(65536)

    def _flush(self):
        """What OpenSSL wrote, out in one datagram."""
        n = self.lib.BIO_read(self.wbio, self.buf, len(self.buf))
        if n > 0:
            self.shared.sock.send(self.buf.raw[:n])

    def _feed(self, timeout):
        data = self.shared.recv("dtls", timeout)
        if data is None:
            return False
        self.lib.BIO_write(self.rbio, data, len(data))
        return True

    def handshake(self):
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        for _ in range(HANDSHAKE_ROUNDS):
            rc = self.lib.SSL_do_handshake(self.ssl)
            self._flush()
            if rc == 1:
                return
            err = self.lib.SSL_get_error(self.ssl, rc)
            assert err == SSL_ERROR_WANT_READ, "DTLS handshake error %d" % err
            if not self._feed(max(deadline - time.monotonic(), 0.001)):
                raise AssertionError("DTLS handshake: no answer")
        raise AssertionError("DTLS handshake: too many rounds")

    def send(self, data, to=None):
        assert self.lib.SSL_write(self.ssl, data, len(data)) == len(data)
        self._flush()

    def recv(self, timeout):
        """One record's payload, or None after timeout."""
        deadline = time.monotonic() + timeout
        for _ in range(100):
            n = self.lib.SSL_read(self.ssl, self.buf, len(self.buf))
            self._flush()
            if n > 0:
                return self.buf.raw[:n]
            if not self._feed(deadline - time.monotonic()):
                return None
        return None

    def close(self):
        if self.ssl:
            self.lib.SSL_shutdown(self.ssl)
            self._flush()
            self.lib.SSL_free(self.ssl)     # and its BIOs
            self.lib.SSL_CTX_free(self.ctx)
            self.ssl = None


def one_tuple(t):
    """A plain flow and a DTLS flow (handshake done) on one 5-tuple."""
    shared = SharedSocket(t.addr("udp"))
    dtls = DtlsFlow(shared)
    try:
        dtls.handshake()
    except BaseException:
        dtls.close()
        shared.close()
        raise
    return shared, PlainFlow(shared), dtls


def binding(flow):
    req = stun.binding_request()
    flow.send(req.encode())
    data = flow.recv(5.0)
    assert data is not None, "no Binding answer"
    r = stun.decode(data)
    return r.tid == req.tid and r.cls == stun.SUCCESS and \
        r.xor_mapped() == flow.local


# ------------------------------------------------------------------- tests

@pytest.mark.parametrize("family", [4, 6])
def test_plain_and_dtls_binding_on_one_port(turnd_factory, family):
    """Flow after flow, each kind is served.  Two sockets on one port
    (SO_REUSEPORT) would hand about half of the flows to the wrong one."""
    t = one_port(turnd_factory)
    for i in range(6):
        assert t.binding_ok("udp", family), "plain flow %d not served" % i
        if family == 4:
            req, out = s_client_binding(t.port)
            r = stun.decode(out[:20 + int.from_bytes(out[2:4], "big")])
            assert r.cls == stun.SUCCESS and r.tid == req[8:20], out
        else:
            shared = SharedSocket(t.addr("udp", 6), socket.AF_INET6)
            d = DtlsFlow(shared)
            try:
                d.handshake()
                assert binding(d), "DTLS flow %d not served" % i
            finally:
                d.close()
                shared.close()
    s = t.stats()
    assert s["dtls_handshakes"] == 6 and s["binding_success"] == 12, s
    assert s["dtls_dropped"] == 0 and s["dropped_demux"] == 0, s
    assert s["dropped_notstun"] == 0, s


def test_one_tuple_plain_and_dtls(turnd_factory):
    """Plain STUN and DTLS from the same address and port: both answered,
    the association untouched by the plain datagrams between its
    records."""
    t = one_port(turnd_factory)
    shared, plain, dtls = one_tuple(t)
    try:
        for _ in range(3):
            assert binding(plain) and binding(dtls)
        s = t.stats()
        assert s["dtls_handshakes"] == 1 and s["binding_success"] == 6, s
        assert s["dtls_closed_error"] == 0 and s["dropped_notstun"] == 0, s
    finally:
        dtls.close()
        shared.close()


def test_one_tuple_two_allocations(turnd_factory, peers):
    """A plain allocation and a DTLS one on one 5-tuple are two (the
    transport is in the key, src/turn/alloc.c): no 437, two relayed
    addresses, and each relays on its own framing only."""
    t = one_port(turnd_factory)
    shared, plain, dtls = one_tuple(t)
    try:
        cp, cd = stun.TurnClient(plain), stun.TurnClient(dtls)
        expect_ok(cp.allocate())
        expect_ok(cd.allocate())
        assert cp.relayed[0] != cd.relayed[0], (cp.relayed, cd.relayed)
        s = t.stats()
        assert s["allocs_udp"] == 1 and s["alloc_created"] == 2, s
        p = peers()
        for c, name in ((cp, b"plain"), (cd, b"dtls")):
            expect_ok(c.create_permission(p.addr))
            c.send_indication(p.addr, b"from " + name)
            assert p.recv(5.0) == (b"from " + name, c.relayed[0])
        expect_ok(cd.channel_bind(0x4000, p.addr))
        cd.send_channel(0x4000, b"dtls channel")
        assert p.recv(5.0) == (b"dtls channel", cd.relayed[0])
        p.send(b"to plain", cp.relayed[0])
        p.send(b"to dtls", cd.relayed[0])
        assert cp.recv_data(5.0) == ("data", p.addr, b"to plain")
        got = cd.recv_data(5.0)
        assert got[-1] == b"to dtls", got
        assert shared.recv("plain", 0.2) is None     # nothing crossed over
        expect_ok(cp.refresh(0))                     # ends the plain one
        s = t.wait_stats(lambda s: s["alloc_deleted"] == 1)
        assert s["allocs_udp"] == 0, s
        p.send(b"still dtls", cd.relayed[0])
        got = cd.recv_data(5.0)
        assert got[-1] == b"still dtls", got
    finally:
        dtls.close()
        shared.close()


def test_first_byte_ranges(turnd_factory):
    """4..19 and 80..255 dropped and counted; 20..63 from a source
    without an association goes to DTLS (not a ClientHello: dtls_dropped);
    64..79 to the plain path (ChannelData, no allocation)."""
    t = one_port(turnd_factory)
    c = t.client("udp")
    dropped = [4, 19, 80, 127, 128, 191, 192, 255]
    try:
        for b in dropped:
            c.send(bytes([b]) + b"\x00" * 23)
        c.send(b"\x17\xfe\xfd" + b"\x00" * 30)       # DTLS application data
        c.send(b"\x40\x00\x00\x04abcd")               # ChannelData
        s = t.wait_stats(lambda s: s["dropped_demux"] >= len(dropped) and
                         s["dtls_dropped"] >= 1 and
                         s["dropped_no_alloc"] >= 1)
        assert s["dropped_demux"] == len(dropped), s
        assert s["dtls_dropped"] == 1 and s["dropped_no_alloc"] == 1, s
        assert s["dropped_notstun"] == 0 and s["error_responses"] == 0, s
        assert c.expect_nothing(0.2) is None
        r = c.request(stun.binding_request())
        assert r.cls == stun.SUCCESS and r.xor_mapped() == c.local
    finally:
        c.close()


def test_hello_flood_leaves_plain_served(turnd_factory, turnd_bin):
    """ClientHellos without a cookie from many loopback sources on the
    shared port: a HelloVerifyRequest each, no state kept (RSS flat on
    the normal build), plain Bindings answered meanwhile."""
    t = one_port(turnd_factory)

    def rss():
        return harness.vm_rss_kb(t.pid)

    def plain_ok(i):
        assert t.binding_ok("udp"), "plain Binding %d" % i

    def flood(n, base):
        harness.dtls_hello_flood(t.addr("udp"), n, base, plain_ok)

    flood(500, 1)
    t.wait_stats(lambda st: st["dtls_hello_verify"] >= 500)
    before = rss()
    flood(3000, 10)
    st = t.wait_stats(lambda st: st["dtls_hello_verify"] >= 3500)
    after = rss()
    assert st["dtls_hello_verify"] == 3500 and st["dtls_handshakes"] == 0, st
    assert st["dropped_demux"] == 0 and st["dtls_dropped"] == 0, st
    if not harness.asan_build(turnd_bin):
        assert after - before < 2048, (before, after)     # kB
    assert t.binding_ok("udp")


def test_turnctl_udp_and_dtls(turnd_factory):
    """turnctl status lists the one socket as udp/ and dtls/; sessions
    show the two allocations of one client address and port apart."""
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")
    d = tempfile.mkdtemp(prefix="opd", dir="/tmp")  # sun_path: 107 bytes
    try:
        t = one_port(turnd_factory, {"control": {
            "socket": os.path.join(d, "c.sock")}})
        shared, plain, dtls = one_tuple(t)
        try:
            expect_ok(stun.TurnClient(plain).allocate())
            expect_ok(stun.TurnClient(dtls).allocate())
            r = harness.run_turnctl(["-c", t.conf_path, "--json", "status"])
            assert r.returncode == 0, r.stderr
            ls = json.loads(r.stdout)["listeners"]
            for tr in ("udp", "dtls"):
                assert "%s/127.0.0.1:%d" % (tr, t.port) in ls, ls
            r = harness.run_turnctl(["-c", t.conf_path, "--json",
                                     "sessions"])
            assert r.returncode == 0, r.stderr
            got = sorted((x["transport"], x["client"]) for x in
                         json.loads(r.stdout)["sessions"])
            me = "127.0.0.1:%d" % shared.local[1]
            assert got == [("dtls", me), ("udp", me)], got
        finally:
            dtls.close()
            shared.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


@uclient
def test_uclient_dtls_beside_plain(turnd_factory, tmp_path, peers):
    """turnutils_uclient -S (DTLS) and a plain allocation of ours relay on
    one port at the same time."""
    t = one_port(turnd_factory, {"relay": {"rfc5766_channels": True}})
    c = stun.TurnClient(t.client("udp"))
    expect_ok(c.allocate())
    p = peers()
    expect_ok(c.create_permission(p.addr))
    peer = CoturnPeer("127.0.0.1", str(tmp_path))
    try:
        cmd = ["turnutils_uclient", "-u", "alice", "-w", "secret",
               "-e", "127.0.0.1", "-r", str(peer.port), "-p", str(t.port),
               "-n", "20", "-m", "2", "-S", "-c", "127.0.0.1"]
        u = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=str(tmp_path))
        try:
            # ours relays while uclient's handshakes and data go on
            for i in range(20):
                c.send_indication(p.addr, b"plain %d" % i)
                assert p.recv(5.0) == (b"plain %d" % i, c.relayed[0])
                p.send(b"back %d" % i, c.relayed[0])
                assert c.recv_data(5.0) == ("data", p.addr, b"back %d" % i)
            out, _ = u.communicate(timeout=UCLIENT_TIMEOUT)
        finally:
            harness.stop_process(u)
        out = out.decode(errors="replace")
        info = out[-3000:]
        assert u.returncode == 0, info
        sent, received = totals(out)
        assert sent == 40 and received == sent, info
        s = t.stats()
        assert s["dtls_handshakes"] >= 3, s
        assert s["err_400"] == 0 and s["dropped_chandata"] == 0, s
        assert s["dropped_demux"] == 0 and s["dtls_dropped"] == 0, s
    finally:
        peer.stop()
