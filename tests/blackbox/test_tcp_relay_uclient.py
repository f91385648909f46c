"""RFC 6062 TCP relay (relay.tcp, turnd.conf(5)) driven by clients
nobody here wrote: coturn's turnutils_uclient -T, beside a client of our
own against a TCP echo peer written here.

uclient -T ignores -e and -r: it is always client to client.  Its
sessions each Allocate a TCP relay; in the active mode (-T) the first
sends Connect to the second's relayed address, so the server connects
one relayed address to the other, the first gets CONNECTION-ID in the
success and the second a ConnectionAttempt; both then ConnectionBind a
new data connection (RFC 6062 4.3, 4.4).  In the passive mode (-T -P)
the second session is a bare TCP peer that connects to the first's
relayed address; only the first counts what it receives, so uclient
reports half of what it sent as back, whatever the server does
(Debian's coturn 4.6.1; -T -P -S fails in uclient itself with a TLS
alert on the peer's connection, so it is not run).  The echo-peer tests
below check both directions of both modes byte for byte.

TCPRELAY_SERVER=coturn runs the same tests against coturn's turnserver
(no counters are read from it): how these tests were checked while turnd
had no TCP relay.  Against a turnd whose configuration has no relay.tcp
key the module is skipped with that reason.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

import harness
import stun
from conftest import USERS, expect_ok, turn_overrides
from test_turn_thirdparty import totals

UCLIENT_TIMEOUT = 60.0
SERVER_START_TIMEOUT = 10.0
IO_TIMEOUT = 5.0

# RFC 6062 6.1, 6.2
CONNECT = 0x00A
CONNECTION_BIND = 0x00B
CONNECTION_ATTEMPT = 0x00C
CONNECTION_ID = 0x002A

SERVER_KIND = os.environ.get("TCPRELAY_SERVER", "turnd")
have_uclient = shutil.which("turnutils_uclient") is not None
have_coturn = shutil.which("turnserver") is not None


# ------------------------------------------------------------- servers

class Coturn:
    """coturn's turnserver on loopback with the suite's users and realm;
    a TCP and a TLS listener.  stats() is None: its counters are not
    turnd's."""

    def __init__(self, workdir, certs):
        os.makedirs(workdir, exist_ok=True)
        self.dir = workdir
        self.port = harness.free_port(hosts=("127.0.0.1",))
        self.tls_port = harness.free_port(hosts=("127.0.0.1",),
                                          kinds=("tcp",),
                                          exclude=(self.port, self.port + 1))
        self.log_path = os.path.join(workdir, "coturn.log")
        users = ["--user=%s:%s" % (u, p) for u, p in USERS.items()]
        cmd = ["turnserver", "-n", "--listening-ip=127.0.0.1",
               "--listening-port=%d" % self.port,
               "--tls-listening-port=%d" % self.tls_port,
               "--cert=" + certs.cert, "--pkey=" + certs.key,
               "--relay-ip=127.0.0.1", "--min-port=20000",
               "--max-port=29999", "--lt-cred-mech", "--realm=test.realm",
               "--allow-loopback-peers", "--no-dtls", "--no-cli",
               "--pidfile=" + os.path.join(workdir, "coturn.pid"),
               "--userdb=" + os.path.join(workdir, "coturn.db"),
               "--log-file=stdout", "--simple-log"] + users
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=workdir)
        harness.poll_until(lambda: self._ready(), SERVER_START_TIMEOUT,
                           "coturn ready")

    def _ready(self):
        assert self.proc.poll() is None, "turnserver exited"
        with open(self.log_path, "rb") as f:
            return b"Total General servers" in f.read()

    def stats(self):
        return None

    def log_text(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        rc = harness.stop_process(self.proc)
        self.log.close()
        return 0 if rc in (0, -15) else rc


def turnd_has_tcp_relay(binary, workdir, certs, extra):
    """True when turnd's configuration knows relay.tcp (turnd -n)."""
    t = harness.Turnd(binary, workdir, certs, extra=extra,
                      overrides=turn_overrides({"relay": {"tcp": True}}))
    return harness.run_turnd(binary, ["-n", "-c", t.conf_path]).returncode \
        == 0


@pytest.fixture(scope="module")
def make_server(session_dir, certs, extra_defaults, request):
    """make_server(name): a TCP-relay server of SERVER_KIND, stopped at
    the end of the module."""
    if SERVER_KIND == "coturn":
        if not have_coturn:
            pytest.skip("TCPRELAY_SERVER=coturn: no turnserver")
    else:
        binary = request.getfixturevalue("turnd_bin")
        if not turnd_has_tcp_relay(binary, os.path.join(
                session_dir, "tcprelay-probe"), certs, extra_defaults):
            pytest.skip("turnd has no relay.tcp: no RFC 6062 relay")
    made = []

    def make(name):
        d = os.path.join(session_dir, "tcprelay-" + name)
        if SERVER_KIND == "coturn":
            s = Coturn(d, certs)
        else:
            s = harness.Turnd(binary, d, certs, extra=extra_defaults,
                              overrides=turn_overrides(
                                  {"relay": {"tcp": True}})).start()
        made.append(s)
        return s
    yield make
    problems = []
    for s in made:
        alive = s.alive()
        rc = s.stop()
        if not alive or rc != 0:
            problems.append("%s: alive=%s, exit status %s" % (s.dir, alive,
                                                              rc))
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------- uclient

# name: (uclient flags, TLS control connections, sessions (-m), messages
# sent in all, messages uclient counts back, allocations at least: its
# probe allocation and one per session that is not the bare peer)
UCLIENT_RUNS = {
    "active-tcp": (["-T"], False, 2, 40, 40, 3),
    "active-tls": (["-T", "-S"], True, 2, 40, 40, 3),
    "passive-tcp": (["-T", "-P"], False, 1, 40, 20, 2),
}


class UclientRun:
    def __init__(self, name, server):
        flags, tls, sessions, *_ = UCLIENT_RUNS[name]
        self.name = name
        self.server = server
        port = server.tls_port if tls else server.port
        self.cmd = ["turnutils_uclient", "-u", "alice", "-w", "secret",
                    "-p", str(port), "-n", "20", "-m", str(sessions)] + \
            flags + ["127.0.0.1"]
        self.out_path = os.path.join(server.dir, "uclient.out")
        self.out_f = open(self.out_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.out_f,
                                     stderr=subprocess.STDOUT,
                                     cwd=server.dir)
        self.rc = None
        self.output = ""
        self.stats = None

    def finish(self, deadline):
        try:
            self.rc = self.proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.rc = "timeout"
        harness.stop_process(self.proc)
        self.out_f.close()
        with open(self.out_path, "r", errors="replace") as f:
            self.output = f.read()
        if self.server.alive():
            self.stats = self.server.stats()


@pytest.fixture(scope="module")
def uclient_runs(make_server):
    """Every run at once (uclient waits 1-6 s before it sends), each
    against its own server."""
    if not have_uclient:
        pytest.skip("coturn's turnutils_uclient missing")
    runs = {}
    try:
        for name in UCLIENT_RUNS:
            runs[name] = UclientRun(name, make_server(name))
    finally:
        deadline = time.monotonic() + UCLIENT_TIMEOUT
        for r in runs.values():
            r.finish(deadline)
    return runs


@pytest.mark.parametrize("name", list(UCLIENT_RUNS))
def test_uclient_tcp_relay(uclient_runs, name):
    _, _, sessions, sent_want, back_want, allocs = UCLIENT_RUNS[name]
    r = uclient_runs[name]
    info = "%s\n%s\nserver log:\n%s" % (" ".join(r.cmd), r.output[-3000:],
                                       r.server.log_text()[-2000:])
    assert r.rc == 0, "uclient exit %s\n%s" % (r.rc, info)
    assert r.server.alive(), "server died\n" + info
    if "-P" not in name and sessions > 1:
        # every session bound a data connection (ConnectionBind success)
        m = re.search(r"(\d+) connections are completed", r.output)
        assert m and int(m.group(1)) == sessions * (sessions - 1), info
    assert "not enough" not in r.output, info
    sent, back = totals(r.output)
    assert (sent, back) == (sent_want, back_want), info
    b = re.findall(r"start_mclient: tot_send_bytes ~ (\d+), "
                   r"tot_recv_bytes ~ (\d+)$", r.output, re.M)
    assert b, info
    assert (int(b[-1][0]), int(b[-1][1])) == (100 * sent_want,
                                              100 * back_want), info
    assert "error 4" not in r.output and "Wrong integrity" not in r.output, \
        info
    s = r.stats
    if s is None:
        return                     # coturn: no turnd counters
    assert s["alloc_created"] >= allocs, s
    # the control connections, then one data connection per session
    assert s["conn_accepted"] >= allocs + sessions, s
    for k in ("err_400", "err_403", "err_437", "err_442", "err_446",
              "err_447", "err_486", "err_508", "conn_closed_garbage"):
        assert s.get(k, 0) == 0, "%s=%d\n%s" % (k, s[k], info)


# ------------------------------------------------------------- own client

class EchoPeer:
    """A TCP peer on 127.0.0.1 that echoes what it reads, one thread per
    connection, each bounded by IO_TIMEOUT of silence; stop() closes all.
    It accepts one connection (RFC 6062 active mode), or with
    listen=False connect(addr) makes it the side that connects (passive
    mode)."""

    def __init__(self, listen=True):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.addr = self.lsock.getsockname()
        self.socks = []
        self.threads = []
        self.accepted = []          # far ends of what it accepted
        if listen:
            self.lsock.listen(8)
            self.lsock.settimeout(IO_TIMEOUT)
            t = threading.Thread(target=self._accept, daemon=True)
            t.start()
            self.threads.append(t)

    def _accept(self):
        try:
            s, far = self.lsock.accept()
        except OSError:
            return
        self.accepted.append(far)
        self._serve(s)

    def connect(self, addr):
        s = socket.create_connection(addr, IO_TIMEOUT)
        t = threading.Thread(target=self._echo, args=(s,), daemon=True)
        self.socks.append(s)
        t.start()
        self.threads.append(t)
        return s.getsockname()

    def _serve(self, s):
        self.socks.append(s)
        self._echo(s)

    def _echo(self, s):
        s.settimeout(IO_TIMEOUT)
        for _ in range(100000):
            try:
                b = s.recv(65536)
                if not b:
                    s.shutdown(socket.SHUT_WR)
                    return
                s.sendall(b)
            except OSError:
                return

    def stop(self):
        for s in [self.lsock] + self.socks:
            s.close()
        for t in self.threads:
            t.join(IO_TIMEOUT)


def tcp_allocate(server, tls):
    """A control connection with a TCP allocation (RFC 6062 5.1)."""
    port = server.tls_port if tls else server.port
    c = stun.TurnClient(stun.StreamClient(("127.0.0.1", port), tls=tls))
    expect_ok(c.allocate(transport=stun.PROTO_TCP), stun.ALLOCATE)
    return c


def connection_bind(server, tls, ctl, cid):
    """A data connection bound to cid (RFC 6062 5.4), its socket and the
    bytes read past the success."""
    port = server.tls_port if tls else server.port
    d = stun.TurnClient(stun.StreamClient(("127.0.0.1", port), tls=tls),
                        realm=ctl.realm, nonce=ctl.nonce)
    expect_ok(d.request(CONNECTION_BIND, [(CONNECTION_ID, cid)]),
              CONNECTION_BIND)
    return d, d.conn.buf


def echo_through(sock, first, size):
    """size bytes out on sock, the same bytes back (first: what was
    already read)."""
    data = os.urandom(size)
    sock.settimeout(IO_TIMEOUT)
    sock.sendall(data)
    got = bytearray(first)
    for _ in range(100000):
        if len(got) >= size:
            break
        b = sock.recv(65536)
        assert b, "data connection closed after %d of %d" % (len(got), size)
        got += b
    assert bytes(got) == data


@pytest.fixture(scope="module")
def echo_server(make_server):
    return make_server("own-client")


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_active_to_echo_peer(echo_server, tls):
    """Connect to the peer, ConnectionBind, 256 KiB through and back."""
    peer = EchoPeer()
    ctl = data = None
    try:
        ctl = tcp_allocate(echo_server, tls)
        expect_ok(ctl.create_permission(peer.addr))
        r = expect_ok(ctl.request(CONNECT, [stun.xpeer(*peer.addr)]),
                      CONNECT)
        cid = r.get(CONNECTION_ID)
        assert cid is not None and len(cid) == 4, r
        data, first = connection_bind(echo_server, tls, ctl, cid)
        echo_through(data.conn.sock, first, 256 * 1024)
        # the peer saw the relayed address (RFC 6062 5.2)
        assert peer.accepted and peer.accepted[0][0] == "127.0.0.1"
        assert peer.accepted[0][1] == ctl.relayed[0][1], (peer.accepted,
                                                          ctl.relayed)
    finally:
        for c in (data, ctl):
            if c:
                c.close()
        peer.stop()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_passive_from_echo_peer(echo_server, tls):
    """The peer connects to the relayed address: ConnectionAttempt with
    the peer's address, ConnectionBind, 256 KiB through and back."""
    peer = EchoPeer(listen=False)
    ctl = data = None
    try:
        ctl = tcp_allocate(echo_server, tls)
        expect_ok(ctl.create_permission(peer.addr))     # its IP counts
        local = peer.connect(tuple(ctl.relayed[0]))
        f = ctl.recv_frame(IO_TIMEOUT)
        assert f is not None, "no ConnectionAttempt"
        m = stun.decode(f)
        assert (m.method, m.cls) == (CONNECTION_ATTEMPT, stun.INDICATION), m
        assert m.xor_peer() == local, (m.xor_peer(), local)
        data, first = connection_bind(echo_server, tls, ctl,
                                      m.get(CONNECTION_ID))
        echo_through(data.conn.sock, first, 256 * 1024)
    finally:
        for c in (data, ctl):
            if c:
                c.close()
        peer.stop()
