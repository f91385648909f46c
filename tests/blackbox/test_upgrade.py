"""Live upgrade (turnctl upgrade, SIGUSR2): a new turnd takes over the
listeners and the UDP allocations of the old one (doc/ARCHITECTURE
section 8)."""
import json
import os
import signal
import time

import pytest

import harness
import stun
from conftest import expect_ok


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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


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
        t.pidfile = pidfile
        made.append(t)

        def run(*args):
            return harness.run_turnctl(["-c", t.conf_path] + list(args),
                                       timeout=120)
        return t, run
    yield make
    for t in made:
        try:
            with open(t.pidfile) as f:
                kill_pid(int(f.read().strip()))
        except (FileNotFoundError, ValueError):
            pass


def upgrade(t, run, *args):
    """turnctl upgrade ARGS: its output and the new process's pid."""
    old = t.pid if t.alive() else None
    r = run("upgrade", *args)
    assert r.returncode == 0, (r.stdout, r.stderr, t.log_text()[-3000:])
    t.stopped_by_test = True        # the old process exits by itself
    return r.stdout, new_pid(t, old)


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
