"""TURN clients and peers nobody here wrote: coturn's turnutils_uclient
and turnutils_peer, and aioice's TURN client.  Their quirks that matter
here: Debian's coturn 4.6 uclient binds channel numbers above 0x4FFF
(relay.rfc5766_channels, turnd.conf(5)).

turnutils_uclient waits 1-6 s (random) before it sends, so its runs are
started together, each against its own turnd and its own turnutils_peer,
by a module fixture; each test then checks one run.
"""

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import time

import pytest

import harness
import stun
from conftest import expect_ok, turn_overrides

UCLIENT_TIMEOUT = 60.0
PEER_START_TIMEOUT = 5.0

have_uclient = shutil.which("turnutils_uclient") is not None
have_peer = shutil.which("turnutils_peer") is not None
coturn = pytest.mark.skipif(not (have_uclient and have_peer),
                            reason="coturn's turnutils_uclient/_peer missing")


# ------------------------------------------------------------- processes

def free_udp_pair(host):
    """A UDP port p with p + 1 free as well (turnutils_peer takes both)."""
    for _ in range(100):
        p = harness.free_port(hosts=(host,), kinds=("udp",))
        if p < 65535 and harness.port_is_free(host, p + 1, kinds=("udp",)):
            return p
    raise RuntimeError("no free UDP port pair")


class CoturnPeer:
    """turnutils_peer: a UDP echo on host:port and host:port+1."""

    def __init__(self, host, workdir):
        self.host = host
        self.port = free_udp_pair(host)
        self.log = open(os.path.join(workdir, "peer-%d.log" % self.port), "wb")
        self.proc = subprocess.Popen(
            ["turnutils_peer", "-p", str(self.port), "-L", host],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        # Ready when both ports are taken (polled, bounded).
        deadline = time.monotonic() + PEER_START_TIMEOUT
        delay = 0.005
        while harness.port_is_free(host, self.port, kinds=("udp",)) or \
                harness.port_is_free(host, self.port + 1, kinds=("udp",)):
            if self.proc.poll() is not None:
                raise AssertionError("turnutils_peer exited with %s"
                                     % self.proc.returncode)
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("turnutils_peer did not bind %s:%d"
                                     % (host, self.port))
            time.sleep(delay)            # polling interval, not a sync
            delay = min(delay * 2, 0.05)

    @property
    def addr(self):
        return (self.host, self.port)

    def stop(self):
        harness.stop_process(self.proc)
        self.log.close()


# Each run: uclient arguments (server address and port are added), the
# peer's address (None: client to client), the transport to the server,
# the turnd overrides, and the messages expected (-m 2 -n 20; -y without
# -c rounds -m up to 4).
UCLIENT_RUNS = {
    "channels": (["-c"], "127.0.0.1", "udp", None, 40),
    "rtp-rtcp": ([], "127.0.0.1", "udp", None, 40),
    "send": (["-c", "-s"], "127.0.0.1", "udp", None, 40),
    "send-rtp-rtcp": (["-s"], "127.0.0.1", "udp", None, 40),
    "dont-fragment": (["-c", "-g"], "127.0.0.1", "udp", None, 40),
    "c2c": (["-y"], None, "udp", None, 80),
    "c2c-send": (["-y", "-c", "-s"], None, "udp", None, 40),
    "tcp": (["-t", "-c"], "127.0.0.1", "tcp", None, 40),
    "tcp-rtp-rtcp": (["-t"], "127.0.0.1", "tcp", None, 40),
    "tcp-send": (["-t", "-c", "-s"], "127.0.0.1", "tcp", None, 40),
    "tls": (["-t", "-S", "-c"], "127.0.0.1", "tls", None, 40),
    "tls-send": (["-t", "-S", "-c", "-s"], "127.0.0.1", "tls", None, 40),
    "rest": (["-W", "s1", "-c"], "127.0.0.1", "udp", None, 40),
    "rest-tcp": (["-W", "s2", "-t"], "127.0.0.1", "tcp", None, 40),
    "ipv6": (["-c"], "::1", "udp6", None, 40),
    "ipv6-relay-v4-client": (["-c", "-x"], "::1", "udp", None, 40),
    "ipv6-tcp": (["-t", "-c"], "::1", "tcp6", None, 40),
}


class UclientRun:
    def __init__(self, name, binary, base, certs, extra):
        args, peer_host, transport, over, self.expected = UCLIENT_RUNS[name]
        self.name = name
        self.dir = os.path.join(base, "uclient-" + name)
        # uclient binds channels above 0x4FFF (RFC 5766 numbers).
        o = harness.merge({"relay": {"rfc5766_channels": True}}, over)
        self.turnd = harness.Turnd(binary, self.dir, certs,
                                   overrides=turn_overrides(o), extra=extra)
        self.turnd.start()
        self.peer = CoturnPeer(peer_host, self.dir) if peer_host else None
        v6 = transport.endswith("6")
        server = "::1" if v6 else "127.0.0.1"
        port = self.turnd.tls_port if transport == "tls" else self.turnd.port
        cmd = ["turnutils_uclient", "-u", "alice"]
        if "-W" not in args:
            cmd += ["-w", "secret"]
        if self.peer:
            cmd += ["-e", peer_host, "-r", str(self.peer.port)]
        cmd += ["-p", str(port), "-n", "20", "-m", "2"] + args + [server]
        self.cmd = cmd
        self.out_path = os.path.join(self.dir, "uclient.out")
        self.out_f = open(self.out_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.out_f,
                                     stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        self.rc = None
        self.stats = None

    def finish(self, deadline):
        """Wait for uclient (killed by PID at the deadline), then read the
        server's counters."""
        try:
            self.rc = self.proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            self.rc = "timeout"
        self.out_f.close()
        with open(self.out_path, "r", errors="replace") as f:
            self.output = f.read()
        if self.turnd.alive():
            self.stats = self.turnd.stats()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if not self.out_f.closed:
            self.out_f.close()
        if self.peer:
            self.peer.stop()
        alive = self.turnd.alive()
        rc = self.turnd.stop()
        return alive, rc


@pytest.fixture(scope="module")
def uclient_runs(turnd_bin, session_dir, certs, extra_defaults):
    if not (have_uclient and have_peer):
        pytest.skip("coturn's turnutils_uclient/_peer missing")
    runs = {}
    try:
        for name in UCLIENT_RUNS:
            runs[name] = UclientRun(name, turnd_bin, session_dir, certs,
                                    extra_defaults)
        deadline = time.monotonic() + UCLIENT_TIMEOUT
        for r in runs.values():
            r.finish(deadline)
        yield runs
    finally:
        problems = []
        for r in runs.values():
            alive, rc = r.stop()
            if not alive or rc != 0:
                problems.append("%s: turnd alive=%s, exit status %s"
                                % (r.name, alive, rc))
        assert not problems, "\n".join(problems)


def totals(out):
    m = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)",
                   out)
    assert m, "no totals in uclient output"
    return int(m[-1][0]), int(m[-1][1])


@coturn
@pytest.mark.parametrize("name", list(UCLIENT_RUNS))
def test_uclient(uclient_runs, name):
    r = uclient_runs[name]
    info = "%s\n%s\nturnd log:\n%s" % (" ".join(r.cmd), r.output[-3000:],
                                      r.turnd.log_text()[-2000:])
    assert r.rc == 0, "uclient exit %s\n%s" % (r.rc, info)
    sent, received = totals(r.output)
    assert sent > 0, info
    assert received == sent, "%d of %d came back\n%s" % (received, sent, info)
    assert sent == r.expected, info
    lost = re.search(r"Total lost packets (\d+)", r.output)
    assert lost and int(lost.group(1)) == 0, info
    assert "Wrong integrity" not in r.output, info
    s = r.stats
    assert s is not None, "turnd died\n" + info
    # The messages went through the relay, both ways.
    assert s["relay_pkts_out"] >= sent, s
    assert s["relay_pkts_in"] >= received, s
    # uclient makes a probe allocation, then one per session (two per
    # RTP/RTCP pair, the second by RESERVATION-TOKEN).
    assert s["alloc_created"] >= 3, s
    for k in ("err_400", "err_403", "err_437", "err_438", "err_440",
              "err_441", "err_442", "err_443", "err_486", "err_508",
              "dropped_no_perm", "dropped_denied_peer", "dropped_chandata"):
        assert s[k] == 0, "%s=%d\n%s" % (k, s[k], info)


# ------------------------------------------------------------- turnutils_peer

@coturn
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_own_client_with_coturn_peer(turn_server, turn_client, tmp_path,
                                     transport, host):
    """Our client through turnd to turnutils_peer, which echoes."""
    p = CoturnPeer(host, str(tmp_path))
    try:
        attrs = [] if host == "127.0.0.1" else [stun.family_attr(
            stun.REQUESTED_ADDRESS_FAMILY, stun.FAMILY_V6)]
        c = turn_client(turn_server, transport)
        expect_ok(c.allocate(attrs))
        expect_ok(c.create_permission(p.addr))
        for i in range(5):
            c.send_indication(p.addr, b"indication %d" % i)
            assert c.recv_data(5.0) == ("data", p.addr, b"indication %d" % i)
        expect_ok(c.channel_bind(0x4000, p.addr))
        for i in range(5):
            c.send_channel(0x4000, b"channel %d" % i)
            assert c.recv_data(5.0) == ("chan", 0x4000, b"channel %d" % i)
        # The second port of the peer (RTCP) has the same permission.
        rtcp = (host, p.port + 1)
        c.send_indication(rtcp, b"rtcp")
        assert c.recv_data(5.0) == ("data", rtcp, b"rtcp")
    finally:
        p.stop()


# ------------------------------------------------------------- aioice

aioice = pytest.importorskip("aioice")
from aioice import turn as aturn  # noqa: E402
from aioice import ice as aice    # noqa: E402


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
        self.seen = []

    def datagram_received(self, data, addr):
        self.seen.append(addr[:2])
        self.transport.sendto(data, addr)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()
        self.lost = asyncio.get_event_loop().create_future()

    def connection_made(self, transport):
        pass

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr[:2]))

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(exc)


def _no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _aioice_echo(server, transport, use_ssl, peer_host, n):
    loop = asyncio.get_running_loop()
    peer_tr, echo = await loop.create_datagram_endpoint(
        _Echo, local_addr=(peer_host, 0))
    try:
        peer = peer_tr.get_extra_info("sockname")[:2]
        turn_tr, rx = await asyncio.wait_for(aturn.create_turn_endpoint(
            _Receiver, server_addr=server, username="alice",
            password="secret", ssl=_no_verify() if use_ssl else False,
            transport=transport), 10)
        relayed = turn_tr.get_extra_info("sockname")
        got = []
        for i in range(n):
            turn_tr.sendto(b"aioice %d" % i, peer)
            got.append(await asyncio.wait_for(rx.queue.get(), 5))
        turn_tr.close()                  # Refresh 0, then closes
        await asyncio.wait_for(rx.lost, 5)
        return relayed, peer, got, echo.seen
    finally:
        peer_tr.close()


@pytest.mark.parametrize("transport,family", [
    ("udp", 4), ("tcp", 4), ("tls", 4), ("udp", 6), ("tcp", 6)])
def test_aioice_turn(turn_server, transport, family):
    host = "127.0.0.1" if family == 4 else "::1"
    port = turn_server.tls_port if transport == "tls" else turn_server.port
    relayed, peer, got, seen = asyncio.run(_aioice_echo(
        (host, port), "udp" if transport == "udp" else "tcp",
        transport == "tls", "127.0.0.1", 10))
    assert relayed[0] == "127.0.0.1"
    assert got == [(b"aioice %d" % i, peer) for i in range(10)]
    # Every datagram reached the peer from the relayed address.
    assert seen == [tuple(relayed)] * 10
    s = turn_server.wait_stats(lambda s: s.get("alloc_deleted") == 1)
    assert s["alloc_created"] == 1
    assert s["alloc_deleted"] == 1          # aioice's Refresh 0
    assert s["relay_pkts_out"] == 10 and s["relay_pkts_in"] == 10
    assert s["err_401"] == 1
    assert s["err_400"] == 0 and s["err_438"] == 0


async def _ice_pair(turn, transport, use_ssl, set_hosts):
    """Two aioice agents: a has no host address at all, so its only
    candidate (and socket) is the TURN relay; b has a host candidate on
    127.0.0.1.  They connect and exchange data, so every check and
    datagram of a goes through turnd."""
    a = aice.Connection(ice_controlling=True, turn_server=turn,
                        turn_username="alice", turn_password="secret",
                        turn_ssl=_no_verify() if use_ssl else False,
                        turn_transport=transport, use_ipv4=True,
                        use_ipv6=False)
    b = aice.Connection(ice_controlling=False, use_ipv4=True, use_ipv6=False)
    try:
        set_hosts([])
        await asyncio.wait_for(a.gather_candidates(), 10)
        set_hosts(["127.0.0.1"])
        await asyncio.wait_for(b.gather_candidates(), 10)
        for c in a.local_candidates:
            await b.add_remote_candidate(c)
        for c in b.local_candidates:
            await a.add_remote_candidate(c)
        await b.add_remote_candidate(None)
        await a.add_remote_candidate(None)
        b.remote_username, b.remote_password = a.local_username, a.local_password
        a.remote_username, a.remote_password = b.local_username, b.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 20)
        await a.send(b"from a")
        got_b = await asyncio.wait_for(b.recv(), 5)
        await b.send(b"from b")
        got_a = await asyncio.wait_for(a.recv(), 5)
        return list(a.local_candidates), got_a, got_b
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_aioice_ice_through_relay(turn_server, monkeypatch, transport):
    """A full ICE session in which one agent has only its TURN candidate."""
    hosts = []
    monkeypatch.setattr(aice, "get_host_addresses",
                        lambda use_ipv4, use_ipv6: list(hosts))

    def set_hosts(h):
        hosts[:] = h
    cands, got_a, got_b = asyncio.run(_ice_pair(
        ("127.0.0.1", turn_server.port), transport, False, set_hosts))
    assert [c.type for c in cands] == ["relay"], cands
    assert cands[0].host == "127.0.0.1"
    assert got_a == b"from b" and got_b == b"from a"
    s = turn_server.wait_stats(lambda s: s.get("relay_pkts_in", 0) >= 2)
    assert s["alloc_created"] == 1
    # At least a check each way and the two data messages.
    assert s["relay_pkts_out"] >= 2 and s["relay_pkts_in"] >= 2, s
