"""STUN and TURN over DTLS (RFC 7350): listen.dtls, turnd.conf(5).

Clients: coturn's turnutils_uclient -S without -t (DTLS over UDP), and
openssl s_client -dtls1_2 carrying a STUN Binding of our own.
"""

import os
import shutil
import socket
import struct
import subprocess

import pytest

import harness
import stun
from conftest import turn_overrides
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


def asan_build(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def test_hello_flood_keeps_no_state(turnd_factory, turnd_bin):
    """ClientHellos without a cookie from many loopback sources get a
    HelloVerifyRequest each and leave no state: RSS stays flat (judged on
    the normal build: ASan keeps freed memory in its quarantine)."""
    t = dtls_turnd(turnd_factory)
    body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00" +
            b"\x00\x02\xc0\x2b" + b"\x01\x00")
    hs = b"\x01" + len(body).to_bytes(3, "big") + b"\x00\x00" + \
        b"\x00\x00\x00" + len(body).to_bytes(3, "big") + body
    hello = b"\x16\xfe\xff" + b"\x00" * 8 + len(hs).to_bytes(2, "big") + hs

    def rss():
        with open("/proc/%d/status" % t.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    def flood(n, base):
        for i in range(n):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.%d.%d" % (base + i // 250, 1 + i % 250), 0))
                s.sendto(hello, ("127.0.0.1", t.tls_port))

    flood(500, 1)
    t.wait_stats(lambda st: st["dtls_hello_verify"] >= 500)
    before = rss()
    flood(5000, 10)
    st = t.wait_stats(lambda st: st["dtls_hello_verify"] >= 5500)
    after = rss()
    assert st["dtls_hello_verify"] == 5500, st
    assert st["dtls_handshakes"] == 0, st
    if not asan_build(turnd_bin):
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
