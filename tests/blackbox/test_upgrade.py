"""Live upgrade (turnctl upgrade, SIGUSR2): a new turnd takes over the
listeners and the UDP allocations of the old one (doc/ARCHITECTURE
section 8)."""
import json
import re
import os
import selectors
import signal
import socket
import threading
import time

import pytest

import harness
import stun
from conftest import expect_ok
import test_redis
from test_redis import (CH, READY_RE, STORE_READY_TIMEOUT, alloc_of,
                        instance_of, instances, keys_of, poll, roundtrip,
                        store_config)

# test_redis.py's fixtures: a redis-server of the test's own
redis_factory = test_redis.redis_factory
redis_srv = test_redis.redis_srv
rcli = test_redis.rcli


@pytest.fixture
def sockdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("upg"))


def new_pid(t, old_pid):
    """The pid in the pidfile once the new process wrote it."""
    def read():
        try:
            with open(t.pidfile) as f:
                pid = int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid != old_pid else None
    return harness.poll_until(read, 20.0, "the new process's pidfile")


def gone(pid):
    """The process is no more (or a zombie: it has exited)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def kill_pid(pid):
    if pid and not gone(pid):
        os.kill(pid, signal.SIGTERM)
        harness.poll_until(lambda: gone(pid) or None, 10.0, "pid %d" % pid)


@pytest.fixture
def upg(turn_factory, sockdir):
    """upg(over=None) -> (server, run): a TURN server with a control
    socket and a pidfile; whatever process holds it at the end is
    stopped."""
    made = []

    def make(over=None, **kw):
        path = os.path.join(sockdir, "ctl%d.sock" % len(made))
        pidfile = os.path.join(sockdir, "pid%d" % len(made))
        t = turn_factory(harness.merge({"control": {"socket": path},
                                        "pidfile": pidfile}, over), **kw)
        t.pidfile, t.ctl = pidfile, path
        made.append(t)

        def run(*args):
            return harness.run_turnctl(["-c", t.conf_path] + list(args),
                                       timeout=120)
        return t, run
    yield make
    for t in made:
        try:
            with open(t.pidfile) as f:
                pid = int(f.read().strip())
        except (FileNotFoundError, ValueError):
            continue
        if pid != t.pid:                # the first one is the factory's
            kill_pid(pid)


def upgrade(t, run, *args):
    """turnctl upgrade ARGS: its output and the new process's pid."""
    old = t.pid if t.alive() else None
    r = run("upgrade", *args)
    assert r.returncode == 0, (r.stdout, r.stderr, t.log_text()[-3000:])
    t.stopped_by_test = True        # the old process exits by itself
    return r.stdout, new_pid(t, old)


def sessions(run, *args):
    r = run("--json", "sessions", *args)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout)["sessions"]


def status(run):
    r = run("--json", "status")
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def test_upgrade_keeps_a_channel(upg, turn_client, peer):
    t, run = upg()
    c = turn_client(t)
    r = expect_ok(c.allocate())
    relayed = r.xor_relayed()
    expect_ok(c.channel_bind(0x4000, peer.addr))
    c.send_channel(0x4000, b"before")
    got = peer.recv(5.0)
    assert got and got[0] == b"before"
    relay_addr = got[1]
    st = status(run)
    assert st["generation"] == 1
    out, pid = upgrade(t, run)
    assert "took over 1 allocation" in out, out
    st = status(run)
    assert st["pid"] == pid and st["generation"] == 2
    assert st["allocations"] == 1
    c.send_channel(0x4000, b"after")
    got = peer.recv(5.0)
    assert got and got[0] == b"after" and got[1] == relay_addr
    peer.send(b"back", relay_addr)
    d = c.recv_data(5.0)
    assert d == ("chan", 0x4000, b"back")
    # the old process had only UDP clients: it leaves
    t.proc.wait(15)
    expect_ok(c.refresh())
    assert c.relayed == relayed


def snmp_udp():
    """The kernel's Udp counters (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def bigbuf(sock):
    """4 MiB receive buffer (SO_RCVBUFFORCE: the test runs as root)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)


class Traffic:
    """Lock-step ChannelData pings on many allocations (one in flight each,
    echoed by one peer) and open-loop flows both ways at a fixed rate, all
    sequence-numbered: lost and duplicated datagrams are counted."""

    def __init__(self, pingers, echo, flows, rate):
        self.pingers = pingers          # TurnClients, channel 0x4000 to echo
        self.echo = echo                # Peer: echoes to the sender
        self.flows = flows              # (TurnClient, Peer sink, relay addr)
        self.rate = rate                # datagrams/s per flow and direction
        self.stop = threading.Event()
        self.errors = []
        self.ping_seq = [0] * len(pingers)
        self.ping_ok = 0
        self.ping_max_rtt = 0.0
        self.sent = {}                  # (flow, dir) -> datagrams sent
        self.got = {}                   # (flow, dir) -> set of seqs
        self.dups = 0

    # -- the open-loop sender
    def send_loop(self):
        t0 = time.monotonic()
        n = 0
        for k in range(len(self.flows)):
            self.sent[(k, "up")] = self.sent[(k, "down")] = 0
        while not self.stop.is_set():
            due = int((time.monotonic() - t0) * self.rate)
            while n < due:
                for k, (c, sink, relay) in enumerate(self.flows):
                    c.send_channel(0x4001, b"up %d" % n)
                    sink.send(b"down %d" % n, relay)
                    self.sent[(k, "up")] += 1
                    self.sent[(k, "down")] += 1
                n += 1
            time.sleep(0.002)           # pacing, not synchronisation

    def _count(self, key, payload):
        seq = int(payload.split()[1])
        s = self.got.setdefault(key, set())
        if seq in s:
            self.dups += 1
        s.add(seq)

    # -- every receiver, one selector
    def recv_loop(self, until):
        sel = selectors.DefaultSelector()
        for i, c in enumerate(self.pingers):
            sel.register(c.conn.sock, selectors.EVENT_READ, ("ping", i))
        sel.register(self.echo.sock, selectors.EVENT_READ, ("echo", 0))
        for k, (c, sink, _) in enumerate(self.flows):
            sel.register(c.conn.sock, selectors.EVENT_READ, ("down", k))
            sel.register(sink.sock, selectors.EVENT_READ, ("up", k))
        sent_at = [0.0] * len(self.pingers)
        for i, c in enumerate(self.pingers):
            sent_at[i] = time.monotonic()
            c.send_channel(0x4000, b"ping 0")
        while time.monotonic() < until() and not self.errors:
            for key, _ in sel.select(0.05):
                kind, i = key.data
                try:
                    data, src = key.fileobj.recvfrom(65536)
                except BlockingIOError:
                    continue
                if kind == "echo":
                    self.echo.sock.sendto(data, src)
                elif kind == "up":
                    self._count((i, "up"), data)
                elif kind == "down":
                    ch, payload = stun.parse_channel_data(data, False)
                    self._count((i, "down"), payload)
                else:
                    ch, payload = stun.parse_channel_data(data, False)
                    want = b"ping %d" % self.ping_seq[i]
                    if payload != want:
                        self.errors.append("pinger %d: %r, wanted %r"
                                           % (i, payload, want))
                        break
                    rtt = time.monotonic() - sent_at[i]
                    self.ping_max_rtt = max(self.ping_max_rtt, rtt)
                    self.ping_ok += 1
                    if self.stop.is_set():
                        continue        # the last echo of this pinger
                    self.ping_seq[i] += 1
                    sent_at[i] = time.monotonic()
                    self.pingers[i].send_channel(
                        0x4000, b"ping %d" % self.ping_seq[i])
            now = time.monotonic()
            for i in range(len(self.pingers)):
                if now - sent_at[i] > 5.0 and sent_at[i] > 0:
                    self.errors.append("pinger %d: no echo of ping %d in 5 s"
                                       % (i, self.ping_seq[i]))
                    break
        sel.close()

    def complete(self):
        return all(len(self.got.get(k, ())) >= n for k, n in self.sent.items())


def test_upgrade_under_load_loses_nothing(upg, turn_client, peers):
    """200 allocations pinging in lock-step and two open-loop flows of
    2,000 datagrams/s each way go through an upgrade with nothing lost or
    duplicated, nothing dropped by the kernel, the same relayed addresses;
    afterwards a Refresh with a nonce of before is accepted and the user's
    quota still counts every allocation."""
    n_ping, n_flow = 200, 2
    t, run = upg({"workers": 4, "relay": {"user_quota": n_ping + n_flow + 1},
                  "auth": {"nonce_secret": ""}})
    echo = peers()
    bigbuf(echo.sock)
    pingers = []
    for _ in range(n_ping):
        c = turn_client(t)
        bigbuf(c.conn.sock)
        expect_ok(c.allocate())
        expect_ok(c.channel_bind(0x4000, echo.addr))
        pingers.append(c)
    flows = []
    for _ in range(n_flow):
        c, sink = turn_client(t), peers()
        bigbuf(c.conn.sock)
        bigbuf(sink.sock)
        expect_ok(c.allocate())
        expect_ok(c.channel_bind(0x4001, sink.addr))
        c.send_channel(0x4001, b"hello 0")
        got = sink.recv(5.0)
        assert got and got[0] == b"hello 0"
        flows.append((c, sink, got[1]))
    relayed = [c.relayed for c in pingers + [f[0] for f in flows]]
    nonces = [c.nonce for c in pingers]
    assert len(sessions(run)) == n_ping + n_flow
    udp0 = snmp_udp()
    tr = Traffic(pingers, echo, flows, 2000)
    end = [time.monotonic() + 600]
    rx = threading.Thread(target=tr.recv_loop, args=(lambda: end[0],))
    tx = threading.Thread(target=tr.send_loop)
    rx.start()
    tx.start()
    try:
        # a second of the flows and two pings each before, the same after
        harness.poll_until(lambda: (tr.ping_ok >= 2 * n_ping and
                                    tr.sent.get((0, "up"), 0) >= 2000) or
                           tr.errors or None, 30.0, "traffic before")
        before = tr.ping_ok
        out, pid = upgrade(t, run)
        mid = tr.sent[(0, "up")]
        harness.poll_until(lambda: (tr.ping_ok >= before + 4 * n_ping and
                                    tr.sent[(0, "up")] >= mid + 2000) or
                           tr.errors or None, 30.0, "traffic after")
    finally:
        tr.stop.set()
        tx.join(10)
        end[0] = time.monotonic() + 5.0     # the last datagrams come in
        harness.poll_until(lambda: tr.complete() or tr.errors or
                           time.monotonic() > end[0] - 0.5 or None, 10.0,
                           "the last datagrams")
        end[0] = 0
        rx.join(10)
    print("sent %r pings %d max rtt %.3f s; %s" % (
        tr.sent, tr.ping_ok, tr.ping_max_rtt, out.strip()))
    assert not tr.errors, tr.errors
    assert "took over %d allocations" % (n_ping + n_flow) in out, out
    for k, n in tr.sent.items():
        assert len(tr.got.get(k, ())) == n, (k, n, len(tr.got.get(k, ())))
    assert tr.dups == 0
    udp1 = snmp_udp()
    assert udp1["RcvbufErrors"] == udp0["RcvbufErrors"]
    assert udp1["InErrors"] == udp0["InErrors"]
    assert [c.relayed for c in pingers + [f[0] for f in flows]] == relayed
    st = status(run)
    assert st["pid"] == pid and st["allocations"] == n_ping + n_flow
    # nonces of the old process: no 438, not even once
    for c, nonce in zip(pingers[:20], nonces):
        c.nonce = nonce
        expect_ok(c.request(stun.REFRESH, [], stale_retry=False))
    # the quota counts the moved allocations: one more fits, then 486
    expect_ok(turn_client(t).allocate())
    r = turn_client(t).allocate()
    assert r.cls == stun.ERROR and r.error_code() == 486, r


def ping(c, peer, payload, ch=0x4000):
    """One lock-step round trip over channel ch to an echoing peer."""
    c.send_channel(ch, payload)
    got = peer.recv(5.0)
    assert got is not None and got[0] == payload, got
    peer.send(payload, got[1])
    d = c.recv_data(5.0)
    assert d == ("chan", ch, payload), d
    return got[1]


class Pinger(threading.Thread):
    """Lock-step pings in the background until stopped: none may be lost."""

    def __init__(self, c, peer):
        super().__init__()
        self.c, self.peer = c, peer
        self.n = 0
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        try:
            while not self.halt.is_set() and self.n < 100000:
                ping(self.c, self.peer, b"bg %d" % self.n)
                self.n += 1
        except AssertionError as e:     # reported by finish()
            self.errors.append("ping %d: %s" % (self.n, e))

    def finish(self):
        self.halt.set()
        self.join(30)
        assert not self.is_alive() and not self.errors, self.errors
        assert self.n > 0


def rewrite(t, over):
    t.config = harness.merge(t.config, over)
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))


def fake_binary(tmp_path, body):
    p = tmp_path / "fake-turnd"
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(0o755)
    return str(p)


def test_permissions_and_lifetimes_expire_on_time_after(upg, turn_client,
                                                          peer):
    """Expiry times move as they are: the new process ends a permission,
    a channel and an allocation when the old one would have."""
    t, run = upg({"relay": {"permission_lifetime": 4, "default_lifetime": 8,
                            "channel_lifetime": 6}})
    c = turn_client(t)
    expect_ok(c.allocate(lifetime=8))
    t0 = time.monotonic()
    expect_ok(c.channel_bind(0x4000, peer.addr))
    relay = ping(c, peer, b"x")
    upgrade(t, run)
    ping(c, peer, b"y")
    last = t0
    # the peer's datagrams stop at the permission's end (4 s), nothing later
    for i in range(400):
        if time.monotonic() - t0 > 6.5:
            break
        peer.send(b"p%d" % i, relay)
        if c.recv_data(0.1) is not None:
            last = time.monotonic()
            time.sleep(0.05)            # the probes' pace
    assert 3.0 <= last - t0 <= 5.2, last - t0
    # and the allocation is gone at 8 s
    harness.poll_until(lambda: not sessions(run) or None, 15.0,
                       "the allocation to expire")
    assert 7.0 <= time.monotonic() - t0 <= 10.5, time.monotonic() - t0
    r = c.refresh()
    assert r.cls == stun.ERROR and r.error_code() == 437, r


def test_tcp_and_tls_stay_and_drain(upg, turn_client, peers):
    """TCP and TLS clients keep relaying through the old process, which
    exits after the last one; new connections go to the new process."""
    t, run = upg()
    p1, p2, p3 = peers(), peers(), peers()
    u = turn_client(t)
    expect_ok(u.allocate())
    expect_ok(u.channel_bind(0x4000, p1.addr))
    tcp = turn_client(t, "tcp")
    expect_ok(tcp.allocate())
    expect_ok(tcp.channel_bind(0x4000, p2.addr))
    tls = turn_client(t, "tls")
    expect_ok(tls.allocate())
    expect_ok(tls.channel_bind(0x4000, p3.addr))
    old = t.pid
    out, pid = upgrade(t, run)
    assert "took over 1 allocation" in out and "2 TCP/TLS" in out, out
    for _ in range(3):
        ping(u, p1, b"udp")
        ping(tcp, p2, b"tcp")
        ping(tls, p3, b"tls")
    assert t.alive()
    # the new process has the UDP one only; new streams land there
    assert len(sessions(run)) == 1
    tcp2 = turn_client(t, "tcp")
    expect_ok(tcp2.allocate())
    tls2 = turn_client(t, "tls")
    expect_ok(tls2.allocate())
    assert len(sessions(run)) == 3
    assert status(run)["pid"] == pid
    # the old one leaves once its last client has
    tcp.close()
    assert t.alive()
    ping(tls, p3, b"still")
    tls.close()
    assert t.proc.wait(15) == 0
    assert not gone(pid) and gone(old)
    assert "drain: the last allocation ended" in t.log_text()
    ping(u, p1, b"udp after")


def failed_upgrade(run, c, peer, binary):
    """turnctl upgrade --binary binary while c pings in lock-step: none
    of the pings may be lost; the answer."""
    bg = Pinger(c, peer)
    bg.start()
    r = run("upgrade", "--binary", binary)
    bg.finish()
    return r


def test_rollback_when_the_new_binary_exits(upg, turn_client, peer,
                                            tmp_path):
    t, run = upg()
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    r = failed_upgrade(run, c, peer, fake_binary(tmp_path, "exit 3"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "upgrade failed" in r.stderr and "exited" in r.stderr, r.stderr
    st = status(run)
    assert st["pid"] == t.pid and st["generation"] == 1
    assert st["upgrades"]["failed"] == 1 and st["allocations"] == 1
    assert "goes on serving everything" in t.log_text()
    ping(c, peer, b"after")
    # and a real upgrade still works after the rollback
    out, pid = upgrade(t, run)
    ping(c, peer, b"moved")
    assert status(run)["pid"] == pid


def test_rollback_when_the_new_binary_hangs(upg, turn_client, peer,
                                            tmp_path):
    t, run = upg({"upgrade": {"timeout": 2}})
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    r = failed_upgrade(run, c, peer, fake_binary(tmp_path, "exec sleep 600"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "upgrade.timeout (2 s)" in r.stderr, r.stderr
    m = re.search(r"upgrade: started \S+ as pid (\d+)", t.log_text())
    assert m and gone(int(m.group(1)))      # killed and reaped
    st = status(run)
    assert st["pid"] == t.pid and st["upgrades"]["failed"] == 1
    ping(c, peer, b"after")


def test_refused_when_the_listeners_change(upg, turn_client, peer):
    t, run = upg()
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    other = harness.free_port()
    rewrite(t, {"listen": {"udp": ["127.0.0.1:%d" % t.port,
                                   "127.0.0.1:%d" % other]}})
    r = run("upgrade")
    assert r.returncode == 1 and "listen.udp" in r.stderr, r.stderr
    assert "drain and restart" in r.stderr
    rewrite(t, {"listen": {"udp": ["127.0.0.1:%d" % t.port,
                                   "[::1]:%d" % t.port]}, "workers": 3})
    r = run("upgrade")
    assert r.returncode == 1 and "workers: 2 running, 3" in r.stderr, r.stderr
    # the control socket in hand is the running one's: its path too
    rewrite(t, {"workers": 2, "control": {"socket": t.ctl + ".new"}})

    def ctl(*args):
        return harness.run_turnctl(["-s", t.ctl] + list(args), timeout=60)
    r = ctl("upgrade")
    assert r.returncode == 1 and "control.socket" in r.stderr, r.stderr
    assert json.loads(ctl("--json", "status").stdout)["pid"] == t.pid
    ping(c, peer, b"still here")
    # a draining process is on its way out: restart instead
    assert ctl("drain").returncode == 0
    r = ctl("upgrade")
    assert r.returncode == 1 and "draining" in r.stderr, r.stderr


def test_sigusr2_and_five_upgrades_in_a_row(upg, turn_client, peer):
    """SIGUSR2 starts it too; five in a row leave no descriptor or memory
    behind, and the allocation relays through every one."""
    t, run = upg()
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    relay = ping(c, peer, b"g1")
    t.proc.send_signal(signal.SIGUSR2)
    t.stopped_by_test = True
    pid = new_pid(t, t.pid)
    assert ping(c, peer, b"g2") == relay
    fds, rss = [], []
    for g in range(3, 8):
        out, pid = upgrade(t, run)
        assert ping(c, peer, b"g%d" % g) == relay
        st = status(run)
        assert st["generation"] == g and st["allocations"] == 1
        fds.append(len(os.listdir("/proc/%d/fd" % pid)))
        rss.append(harness.vm_rss_kb(pid))
    assert len(set(fds)) == 1, fds
    assert max(rss) - min(rss) < 4096, rss


def test_upgrade_with_redis_up_then_down(redis_srv, rcli, upg, turn_client,
                                         peer):
    """With Redis, the new process carries the instance id: the registry
    entry and the allocation's keys stay (no end, no start).  An upgrade
    while Redis is down works too, and once Redis is back the new process
    writes the allocation again under the same id and instance."""
    t, run = upg(harness.merge(store_config(redis_srv), {}))
    t.wait_log(READY_RE, timeout=STORE_READY_TIMEOUT)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(CH, peer.addr))
    h = alloc_of(rcli, c)
    aid, iid = h["id"], h["instance"]
    keys = keys_of(aid, "alice")
    poll(lambda: all(rcli.exists(k) for k in keys), what="all keys")
    assert instance_of(rcli, t)[0] == iid
    out, pid = upgrade(t, run)
    roundtrip(c, peer, b"after")
    assert all(rcli.exists(k) for k in keys)
    poll(lambda: instances(rcli).get(iid, {}).get("pid") == str(pid),
         what="the registry naming the new pid")
    assert list(instances(rcli)) == [iid]
    assert rcli.hgetall("turnd/alloc/" + aid)["instance"] == iid
    assert status(run)["instance"] == iid
    # the same with Redis away
    assert redis_srv.stop() == 0
    out, pid2 = upgrade(t, run)
    roundtrip(c, peer, b"redis down")
    assert status(run)["instance"] == iid
    redis_srv.start()
    poll(lambda: all(rcli.exists(k) for k in keys), STORE_READY_TIMEOUT,
         "the keys written again")
    assert rcli.hgetall("turnd/alloc/" + aid)["instance"] == iid
    poll(lambda: instances(rcli).get(iid, {}).get("pid") == str(pid2),
         STORE_READY_TIMEOUT, "the registry back, with the new pid")
    roundtrip(c, peer, b"redis back")


# A stand-in for a new binary, speaking the handover protocol
# (src/admin/handover.h) just far enough to fail in a chosen place.
FAKE_NEW = r'''#!/usr/bin/python3
import os, socket, struct, sys
mode, nworkers = sys.argv[1], int(sys.argv[2])
s = socket.socket(fileno=int(os.environ["TURND_HANDOVER_FD"]))
def send(t, body=b""):
    s.sendmsg([struct.pack("!H", t) + body])
def rec(t, v):
    return struct.pack("!HI", t, len(v)) + v
def recv():
    data, anc, flags, _ = s.recvmsg(1 << 18, socket.CMSG_SPACE(253 * 4))
    for level, kind, fds in anc:
        for i in range(0, len(fds) - len(fds) % 4, 4):
            os.close(struct.unpack("i", fds[i:i + 4])[0])
    return struct.unpack("!H", data[:2])[0] if data else None
send(1, rec(1, struct.pack("!I", 1)) + rec(2, struct.pack("!I", 1)))
assert recv() == 2
if mode == "refuse":
    send(4, rec(16, b"handover format 1: this binary reads 2 to 2"))
    sys.exit(1)
for _ in range(nworkers):
    assert recv() == 3
send(5)
assert recv() == 6
assert recv() == 7
if mode == "garbage":
    send(999)
    s.recv(1)
os._exit(9)
'''


@pytest.mark.parametrize("mode,why", [
    ("crash", "exited or crashed"),
    ("refuse", "the new process refused: handover format 1"),
    ("garbage", "unexpected message 999")])
def test_rollback_in_the_middle_of_a_move(upg, turn_client, peer, tmp_path,
                                          mode, why):
    """The new process dies with a worker frozen and its state sent, or
    refuses the format, or says something out of turn: the old process
    thaws everything and goes on, nothing lost."""
    t, run = upg()
    clients = []
    for _ in range(8):                   # some on each worker
        c = turn_client(t)
        expect_ok(c.allocate())
        expect_ok(c.channel_bind(0x4000, peer.addr))
        ping(c, peer, b"first")
        clients.append(c)
    fake = tmp_path / "fake-new"
    fake.write_text(FAKE_NEW)
    fake.chmod(0o755)
    wrapper = fake_binary(tmp_path, 'exec %s %s 2 "$@"' % (fake, mode))
    r = failed_upgrade(run, clients[0], peer, wrapper)
    assert r.returncode == 1 and why in r.stderr, (r.stdout, r.stderr)
    st = status(run)
    assert st["pid"] == t.pid and st["upgrades"]["failed"] == 1
    assert st["allocations"] == 8
    for i, c in enumerate(clients):
        ping(c, peer, b"after %d" % i)
    out, pid = upgrade(t, run)
    assert "took over 8 allocations" in out
    for i, c in enumerate(clients):
        ping(c, peer, b"moved %d" % i)


def test_retransmitted_allocate_and_reservations_move(upg, turn_client):
    """The Allocate's transaction id moves (its retransmission is answered
    as before, RFC 8656 7.2), and so does an EVEN-PORT reservation."""
    t, run = upg()
    c = turn_client(t)
    m0 = stun.turn_message(stun.ALLOCATE,
                           attrs=[stun.requested_transport_attr(stun.PROTO_UDP)])
    r = c.exchange(m0, m0.encode())
    assert r.error_code() == 401
    c.learn(r)
    m = stun.turn_message(stun.ALLOCATE,
                          attrs=[stun.requested_transport_attr(stun.PROTO_UDP),
                                 stun.even_port_attr(True)])
    data = c.sign(m)
    r1 = expect_ok(c.exchange(m, data))
    token = r1.reservation_token()
    assert token is not None
    upgrade(t, run)
    r2 = expect_ok(c.exchange(m, data))
    assert r2.xor_relayed() == r1.xor_relayed()
    d = turn_client(t)
    r3 = expect_ok(d.allocate([(stun.RESERVATION_TOKEN, token)]))
    assert r3.xor_relayed()[0][1] == r1.xor_relayed()[0][1] + 1


def test_metrics_and_systemd_follow(upg, turn_client, peer, tmp_path,
                                    monkeypatch):
    """/metrics of the new process counts what it took over; under
    systemd the old process names the new main PID."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    npath = str(tmp_path / "notify")
    notify.bind(npath)
    monkeypatch.setenv("NOTIFY_SOCKET", npath)
    mport = harness.free_port(hosts=("127.0.0.1",), kinds=("tcp",))
    t, run = upg({"metrics": {"listen": "127.0.0.1:%d" % mport}})
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    out, pid = upgrade(t, run)
    notify.settimeout(5.0)
    msg = notify.recv(512).decode()
    notify.close()
    assert "MAINPID=%d" % pid in msg.split("\n") and "READY=1" in msg
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=5).read().decode()
    assert "turnd_generation 2\n" in body
    assert 'turnd_allocations_moved_total{direction="in"} 1\n' in body
    freeze = re.findall(r'turnd_handover_freeze_seconds\{worker="\d"\} '
                        r'(\S+)', body)
    assert len(freeze) == 2 and all(0 < float(f) < 5 for f in freeze), freeze
    ping(c, peer, b"after")


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_upgrade_after_the_privilege_drop(upg, turn_client, peer,
                                          tmp_path):
    """The new process starts as the user the old one dropped to: it binds
    nothing, keeps writing the old one's log file (which that user could
    not open), and refuses, rolling back, when it cannot write the
    pidfile."""
    t, run = upg({"user": "nobody", "group": "nogroup",
                  "listen": {"tls": [], "dtls": []}})
    assert uid_of(t.pid) == 65534
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    ping(c, peer, b"x")
    r = run("upgrade")               # the pidfile's directory is root's
    assert r.returncode == 1 and "pidfile" in r.stderr and \
        "Permission denied" in r.stderr, (r.stdout, r.stderr)
    ping(c, peer, b"rolled back")
    d = os.path.join(t.dir, "run")     # the way there is open to all
    os.mkdir(d)
    os.chmod(d, 0o777)
    t.pidfile = os.path.join(d, "turnd.pid")
    rewrite(t, {"pidfile": t.pidfile})
    t.proc.send_signal(signal.SIGHUP)   # pidfile is a restart key: kept
    out, pid = upgrade(t, run)
    assert uid_of(pid) == 65534
    ping(c, peer, b"moved")
    assert "takeover: 1 allocation taken over" in t.log_text()


def test_dtls_ends_at_the_commit_and_new_ones_land(upg, turn_client, peer):
    """DTLS associations cannot move (OpenSSL cannot hand a live one
    over): the old process ends them at the commit with a close_notify,
    and a new association is the new process's; UDP moves as ever, on a
    port that serves UDP and DTLS alike too."""
    from test_dtls import DtlsConn, dtls_turn
    t, run = upg(start=False)
    t.config["listen"]["dtls"] = ["127.0.0.1:%d" % t.tls_port,
                                  "127.0.0.1:%d" % t.port]
    rewrite(t, {})
    t.start()
    u = turn_client(t)
    expect_ok(u.allocate())
    expect_ok(u.channel_bind(0x4000, peer.addr))
    conns = []
    try:
        for port in (t.tls_port, t.port):
            dc = DtlsConn(port)
            conns.append(dc)
            d = dtls_turn(dc)
            expect_ok(d.allocate())
        out, pid = upgrade(t, run)
        assert "took over 1 allocation" in out, out
        for dc in conns:
            assert dc.recv(10.0) is None and dc.eof
        ping(u, peer, b"udp")
        for port in (t.tls_port, t.port):
            dc = DtlsConn(port)
            conns.append(dc)
            expect_ok(dtls_turn(dc).allocate())
        assert len(sessions(run)) == 3
        assert t.proc.wait(15) == 0
    finally:
        for dc in conns:
            dc.close()


def test_stayed_clients_end_at_the_drain_timeout(upg, turn_client, peer):
    t, run = upg({"upgrade": {"drain_timeout": 2}})
    c = turn_client(t, "tcp")
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    out, pid = upgrade(t, run)
    assert "1 TCP/TLS allocation stay" in out, out
    ping(c, peer, b"in the old one")
    t0 = time.monotonic()
    assert t.proc.wait(15) == 0
    assert time.monotonic() - t0 < 4.0
    assert "drain: timeout with 1 allocation left" in t.log_text()
    r = run("status")
    assert r.returncode == 0 and "generation:  2 (took over at " in r.stdout
