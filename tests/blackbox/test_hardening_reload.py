"""Reload hardening: a configuration a reload replaced is freed once
nothing refers to it (src/conf/conf.h reference counts, src/admin/admin.c
reload_done()), so a thousand reloads while an allocation relays leave
the resident size flat and lose no packet; and a key a reload cannot
apply keeps its running value everywhere, also in the modules that hold
the configuration turnd started with (the store, /metrics).

The reloads go through the control socket (src/admin/control.c): its
answer comes once the new configuration is in place, so each reload is
waited for, none is timed.  RSS is VmRSS of /proc/PID/status.  Under
AddressSanitizer freed memory sits in its quarantine, so RSS says nothing
there: the bound is checked on the normal build only, and the ASan build
is the proof that nothing is leaked (LeakSanitizer at exit) or used after
it was freed.
"""
import http.client
import os
import shutil
import tempfile
import threading

import pytest

import harness
from conftest import expect_error, expect_ok

RELOADS = 1000
WARMUP = 100
RSS_BOUND_KB = 512

# A configuration of a realistic size (the leak grew with it): extra
# users and peer ranges on top of the TURN test server's.
EXTRA_USERS = [{"user": "user%03d" % i,
                "password": "pw-%03d-%s" % (i, "x" * 24)} for i in range(40)]
DENY = ["10.%d.0.0/16" % i for i in range(40)]




def rewrite(t, over):
    """t's configuration file again with over applied, replaced at once
    (rename) so that a reload never reads half a file."""
    t.config = harness.merge(t.config, over)
    tmp = t.conf_path + ".new"
    with open(tmp, "w") as f:
        f.write(harness.render_config(t.config))
    os.rename(tmp, t.conf_path)


@pytest.fixture
def sockdir():
    """A short directory for the control socket (sun_path: 107 bytes)."""
    d = tempfile.mkdtemp(prefix="hr", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Relay(threading.Thread):
    """Client -> peer and peer -> client in lock-step on one allocation
    until stopped; every packet must come through, in order."""

    def __init__(self, c, peer, channel):
        super().__init__(daemon=True)
        self.c, self.peer, self.channel = c, peer, channel
        self.stop_ev = threading.Event()
        self.n = 0
        self.errors = []

    def run(self):
        relayed = [a for a in self.c.relayed if ":" not in a[0]][0]
        try:
            for i in range(10 ** 7):
                if self.stop_ev.is_set():
                    return
                out = b"out %d" % i
                self.c.send_channel(self.channel, out)
                got = self.peer.recv(5.0)
                if got is None or got[0] != out:
                    self.errors.append("to peer %d: %r" % (i, got))
                    return
                back = b"back %d" % i
                self.peer.send(back, relayed)
                d = self.c.recv_data(5.0)
                if d != ("chan", self.channel, back):
                    self.errors.append("to client %d: %r" % (i, d))
                    return
                self.n += 1
        except Exception as e:          # reported by the test
            self.errors.append(repr(e))


def test_thousand_reloads_rss_flat(turn_factory, turn_client, peer, sockdir,
                                   turnd_bin):
    """1,000 reloads, alternating two files that differ in keys a reload
    applies (relay.max_bps, auth.users) and one it cannot
    (limits.connections), while a UDP allocation relays both ways: RSS
    from reload 100 to 1,000 grows by less than 512 kB, every packet
    arrives, the allocation lives on, and the last file is in force.
    Without the fix every retired configuration stayed until exit: about
    8 kB per reload with this configuration, 7.4 MB from reload 100 to
    1,000."""
    path = os.path.join(sockdir, "ctl.sock")
    base = {"control": {"socket": path},
            "auth": {"users": [{"user": "alice", "password": "secret"},
                               {"user": "bob", "password": "hunter2"}]
                     + EXTRA_USERS},
            "relay": {"deny_peers": DENY}}
    t = turn_factory(base)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(0x4000, peer.addr))
    relay = Relay(c, peer, 0x4000)
    relay.start()
    users_a = t.config["auth"]["users"]
    users_b = users_a + [{"user": "carl", "password": "pw"}]
    rss = {}
    try:
        for i in range(1, RELOADS + 1):
            odd = i % 2 == 1
            rewrite(t, {"relay": {"max_bps": 10 ** 7 if odd else 0},
                        "limits": {"connections": 9999 if odd else 10000},
                        "auth": {"users": users_b if odd else users_a}})
            ok, body = harness.control(path, "reload")
            assert ok and body.startswith("reloaded "), body
            if i == 1:
                assert "limits.connections" in body, body
            if i in (1, WARMUP, RELOADS):
                rss[i] = harness.vm_rss_kb(t.pid)
            assert relay.is_alive() or not relay.errors, relay.errors
    finally:
        relay.stop_ev.set()
        relay.join(30)
    assert not relay.is_alive() and not relay.errors, relay.errors
    assert relay.n > 0
    growth = rss[RELOADS] - rss[WARMUP]
    print("VmRSS kB: reload 1 %d, reload %d %d, reload %d %d, growth %d "
          "(%d round trips relayed)" % (rss[1], WARMUP, rss[WARMUP], RELOADS,
                                        rss[RELOADS], growth, relay.n))
    # the allocation and its channel survived; the last file (even: no
    # carl) is the one in force
    expect_ok(c.refresh())
    expect_ok(turn_client(t, user="user007",
                          password=EXTRA_USERS[7]["password"]).allocate())
    expect_error(turn_client(t, user="carl", password="pw").allocate(), 401)
    s = t.stats()
    assert s["alloc_deleted"] == 0
    assert t.alive()
    if harness.asan_build(turnd_bin):
        return                  # the quarantine keeps freed memory
    assert growth < RSS_BOUND_KB, \
        "VmRSS grew %d kB from reload %d to %d (bound %d kB)" % (
            growth, WARMUP, RELOADS, RSS_BOUND_KB)


def http_metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200
        return r.read().decode()
    finally:
        c.close()


def test_kept_key_stays_in_modules_holding_the_start_conf(turn_factory,
                                                          sockdir):
    """store.backend cannot change on reload ("need a restart"): /metrics,
    which keeps the configuration turnd started with, still reports the
    memory store after two reloads that name redis.  Without the fix the
    reload swapped the new value into that configuration, and /metrics
    said store="redis" with Redis connection gauges for a store that
    never connected."""
    path = os.path.join(sockdir, "ctl.sock")
    port = harness.free_port(hosts=("127.0.0.1",), kinds=("tcp",))
    t = turn_factory({"control": {"socket": path},
                      "metrics": {"listen": "127.0.0.1:%d" % port}})
    assert 'store="memory"' in http_metrics(port)
    rewrite(t, {"store": {"backend": "redis"}})
    for _ in range(2):
        ok, body = harness.control(path, "reload")
        assert ok, body
        assert "need a restart" in body and "store.backend" in body, body
    text = http_metrics(port)
    assert 'store="memory"' in text and 'store="redis"' not in text
    assert "turnd_redis_connections" not in text
    ok, body = harness.control(path, "status")
    assert ok and "store:       memory" in body, body
