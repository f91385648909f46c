"""Hardening of the per-user limits (issue 12, items 8 and 10).

Item 8: a port kept by EVEN-PORT with the R bit (RFC 8656 7.2) counts
against relay.user_quota of the user who asked for it, until the
RESERVATION-TOKEN is used or relay.reservation_lifetime passes
(src/net/resv.c, turnd.conf(5)); with the Redis store it is a member of
the user's quota set like an allocation (turnd-redis(7)).

Item 10: relay.user_max_bps caps the bytes per second of all the
allocations of one user on the instance together (src/turn/userbw.c).

Ports held are read from /proc/<pid>: turnd's own UDP sockets in the
relay range, so other processes on the host do not count.  Every wait is
a bounded poll of an answer, a counter or /proc.

Run: TURND=/path/to/turnd /usr/bin/python3 -m pytest -q \
    tests/blackbox/test_hardening_quota.py
"""

import os
import time

import harness
import stun
from conftest import RELAY_MAX_PORT, RELAY_MIN_PORT, expect_error, expect_ok
from test_redis import (READY_RE, STORE_READY_TIMEOUT,  # noqa: F401
                        rcli, redis_factory, redis_srv, redis_turn)

REALM = "test.realm"
EVEN_R = [stun.even_port_attr(True)]


def relay_ports(t):
    """The local ports of turnd's UDP sockets in the relay range."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % t.pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue                    # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    ports = set()
    for name in ("udp", "udp6"):
        with open("/proc/%d/net/%s" % (t.pid, name)) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                port = int(col[1].rsplit(":", 1)[1], 16)
                if (int(col[9]) in inodes and
                        RELAY_MIN_PORT <= port <= RELAY_MAX_PORT):
                    ports.add(port)
    return ports


def alloc_until_refused(t, turn_client, attrs, bound, **kw):
    """Allocate from new clients until one is refused; (clients that got
    an allocation, the refusal)."""
    got = []
    for _ in range(bound):
        c = turn_client(t, **kw)
        r = c.allocate(attrs)
        if r.cls != stun.SUCCESS:
            return got, r
        got.append((c, r))
    raise AssertionError("%d allocations, none refused" % bound)


# ------------------------------------------------- item 8: reservations

def test_even_port_r_cannot_exceed_quota(turn_factory, turn_client):
    """user_quota = 6: alice allocating with EVEN-PORT R again and again
    holds at most 6 relay ports (3 allocations and their 3 reservations);
    the next one gets 486.  Without the fix she got 6 allocations and 12
    ports."""
    t = turn_factory({"relay": {"user_quota": 6}})
    got, refused = alloc_until_refused(t, turn_client, EVEN_R, 20)
    expect_error(refused, 486)
    assert len(got) == 3, "%d EVEN-PORT R allocations" % len(got)
    assert len(relay_ports(t)) == 6, sorted(relay_ports(t))
    # A plain Allocate has no slot left either.
    expect_error(turn_client(t).allocate(), 486)
    # bob is not affected.
    expect_ok(turn_client(t, user="bob", password="hunter2").allocate())
    s = t.wait_stats(lambda s: s.get("err_486") == 2)
    assert s["err_486"] == 2, s


def test_reservation_slot_back_on_expiry(turn_factory, turn_client):
    """The reservation holds its slot until relay.reservation_lifetime
    passes; then the port is closed and the slot comes back."""
    t = turn_factory({"relay": {"user_quota": 2,
                                "reservation_lifetime": 1}})
    c1 = turn_client(t)
    r1 = expect_ok(c1.allocate(EVEN_R))
    assert r1.reservation_token()
    assert len(relay_ports(t)) == 2
    expect_error(turn_client(t).allocate(), 486)
    harness.poll_until(lambda: len(relay_ports(t)) == 1, 5.0,
                       "the reserved port closed")
    # The slot comes back with the port (the same tick), polled anyway.
    deadline = time.monotonic() + 5.0
    for _ in range(50):
        r = turn_client(t).allocate()
        if r.cls == stun.SUCCESS:
            break
        expect_error(r, 486)
        assert time.monotonic() < deadline, "the slot never came back"
        time.sleep(0.1)                 # polling interval, not a sync
    expect_error(turn_client(t).allocate(), 486)
    # The token is gone with it.
    expect_error(turn_client(t, user="bob", password="hunter2").allocate(
        [(stun.RESERVATION_TOKEN, r1.reservation_token())]), 508)


def test_reservation_used_by_same_user(turn_factory, turn_client):
    """alice's own token takes over the reservation's slot: it is not
    counted twice, and it is given back when that allocation ends."""
    t = turn_factory({"relay": {"user_quota": 2}})
    c1 = turn_client(t)
    token = expect_ok(c1.allocate(EVEN_R)).reservation_token()
    expect_error(turn_client(t).allocate(), 486)
    c2 = turn_client(t)
    r2 = expect_ok(c2.allocate([(stun.RESERVATION_TOKEN, token)]))
    assert r2.xor_relayed()[0][1] == c1.relayed[0][1] + 1
    expect_error(turn_client(t).allocate(), 486)
    expect_ok(c1.refresh(0))
    expect_ok(turn_client(t).allocate())
    expect_error(turn_client(t).allocate(), 486)
    expect_ok(c2.refresh(0))
    expect_ok(turn_client(t).allocate())
    assert len(relay_ports(t)) == 2


def test_reservation_used_by_other_user(turn_factory, turn_client):
    """bob bringing alice's token pays with his own quota, and alice's
    slot comes back at once."""
    t = turn_factory({"relay": {"user_quota": 2}})
    c1 = turn_client(t)
    token = expect_ok(c1.allocate(EVEN_R)).reservation_token()
    expect_error(turn_client(t).allocate(), 486)
    b = turn_client(t, user="bob", password="hunter2")
    expect_ok(b.allocate([(stun.RESERVATION_TOKEN, token)]))
    expect_ok(turn_client(t).allocate())
    expect_error(turn_client(t).allocate(), 486)
    # bob: 1 of 2 used by the reservation he took.
    expect_ok(turn_client(t, user="bob", password="hunter2").allocate())
    expect_error(turn_client(t, user="bob", password="hunter2").allocate(),
                 486)


def test_reservation_quota_across_instances(redis_srv, rcli, redis_turn,
                                            turn_client):
    """With Redis the reservation is a member of alice's quota set: two
    instances share user_quota = 4, so two EVEN-PORT R allocations (one
    on each) fill it; the members of the reservations expire with them."""
    over = {"relay": {"user_quota": 4, "reservation_lifetime": 2}}
    t1 = redis_turn(redis_srv, over)
    t2 = redis_turn(redis_srv, over)
    expect_ok(turn_client(t1).allocate(EVEN_R))
    expect_ok(turn_client(t2).allocate(EVEN_R))
    q = "turnd/quota/%s/alice" % REALM
    assert len(rcli.zrange_withscores(q)) == 4
    expect_error(turn_client(t1).allocate(), 486)
    expect_error(turn_client(t2).allocate(), 486)
    # The reservations' members lapse with them: two slots come back.
    deadline = time.monotonic() + 8.0
    for _ in range(80):
        r = turn_client(t1).allocate()
        if r.cls == stun.SUCCESS:
            break
        expect_error(r, 486)
        assert time.monotonic() < deadline, "the slots never came back"
        time.sleep(0.1)                 # polling interval, not a sync
    expect_ok(turn_client(t2).allocate())
    expect_error(turn_client(t1).allocate(), 486)


# ------------------------------------------------- item 10: user_max_bps

CH = 0x4000
PAYLOAD = 1000
SEND_FOR = 2.0          # seconds of sending: at most 3 one-second windows
TICK = 0.01             # one datagram per client per tick: 100 kB/s each


def drain_bytes(ps):
    """Bytes queued at peers ps, read without waiting."""
    n = 0
    for p in ps:
        p.sock.setblocking(False)
        for _ in range(10000):
            try:
                n += len(p.sock.recv(65536))
            except BlockingIOError:
                break
    return n


def blast(cs, ps, seconds=SEND_FOR):
    """Each client of cs sends PAYLOAD-byte ChannelData every TICK for
    seconds, the peers ps read as it goes; the bytes the peers got."""
    got = 0
    end = time.monotonic() + seconds
    for _ in range(int(seconds / TICK) + 10):
        if time.monotonic() >= end:
            break
        for c in cs:
            c.send_channel(CH, b"u" * PAYLOAD)
        got += drain_bytes(ps)
        time.sleep(TICK)                # pacing of the sender, not a sync
    deadline = time.monotonic() + 0.5
    for _ in range(50):                 # what is still on the way
        n = drain_bytes(ps)
        got += n
        if n == 0 and time.monotonic() > deadline:
            break
        time.sleep(0.02)                # polling interval, not a sync
    return got


def relaying(t, turn_client, peers, n, **kw):
    cs, ps = [], []
    for _ in range(n):
        c, p = turn_client(t, **kw), peers()
        expect_ok(c.allocate())
        expect_ok(c.channel_bind(CH, p.addr))
        cs.append(c)
        ps.append(p)
    return cs, ps


def test_user_max_bps_sums_allocations(turn_factory, turn_client, peers):
    """user_max_bps = 20000: alice's five allocations (on the two
    workers as the kernel spreads their source ports) sending 500 kB/s in
    all get at most 20000 B per one-second window together, so at most 3
    windows' worth in 2 s; bob beside her is not held back.  Without the
    cap they got 5 x 100 kB/s."""
    cap = 20000
    t = turn_factory({"relay": {"user_max_bps": cap}})
    cs, ps = relaying(t, turn_client, peers, 5)
    bob, bp = relaying(t, turn_client, peers, 1, user="bob",
                       password="hunter2")
    got = blast(cs, ps)
    assert cap <= got <= 3 * cap, "%d B in %.1f s" % (got, SEND_FOR)
    for i in range(5):
        bob[0].send_channel(CH, b"b%d" % i)
    assert drain_bytes(bp) + blast([], bp, 0.3) == 10
    s = t.wait_stats(lambda s: s.get("dropped_user_bandwidth", 0) > 0)
    assert s.get("dropped_user_bandwidth", 0) > 0, s
    assert s.get("dropped_bandwidth", 0) == 0, s


def test_max_bps_still_per_allocation(turn_factory, turn_client, peers):
    """relay.max_bps still caps one allocation under a looser user cap."""
    cap = 5000
    t = turn_factory({"relay": {"max_bps": cap, "user_max_bps": 1000000}})
    cs, ps = relaying(t, turn_client, peers, 2)
    got = blast(cs, ps)
    assert 2 * cap <= got <= 2 * 3 * cap, "%d B in %.1f s" % (got, SEND_FOR)
    s = t.wait_stats(lambda s: s.get("dropped_bandwidth", 0) > 0)
    assert s.get("dropped_bandwidth", 0) > 0, s
    assert s.get("dropped_user_bandwidth", 0) == 0, s
