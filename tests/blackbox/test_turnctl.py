"""turnctl against a running turnd over its control socket: status,
sessions, session, kill (text and --json), drain; the socket's own
defences (permissions, framing, size limit, unknown requests); exit
codes.  Allocations are made by coturn's turnutils_uclient where a
third-party client is what matters, else by our own client."""
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pytest

import harness
import stun
from conftest import expect_error, expect_ok

ALTERNATE_SERVER = 0x8023


@pytest.fixture
def sockdir():
    """A short directory for control sockets (sun_path holds 107 bytes)."""
    d = tempfile.mkdtemp(prefix="tc", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def ctl_turn(turn_factory, sockdir):
    """ctl_turn(over=None) -> (server, run) where run(*args, json=False)
    runs turnctl -c <its config> ARGS."""
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")

    def make(over=None, name="ctl.sock"):
        path = os.path.join(sockdir, name)
        t = turn_factory(harness.merge({"control": {"socket": path}}, over))

        def run(*args, input=None):
            return harness.run_turnctl(["-c", t.conf_path] + list(args),
                                       input=input)
        return t, run
    return make


def ok_json(r):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def sessions(run, *args):
    return ok_json(run("--json", "sessions", *args))["sessions"]


def test_status(ctl_turn):
    t, run = ctl_turn()
    r = run("status")
    assert r.returncode == 0, r.stderr
    assert "turnd 0.1.0" in r.stdout
    assert "allocations: 0" in r.stdout
    assert "draining:    no" in r.stdout
    assert "listener:    udp/127.0.0.1:%d" % t.port in r.stdout
    j = ok_json(run("--json", "status"))
    assert j["workers"] == 2 and j["allocations"] == 0
    assert j["draining"] is False and j["store"]["backend"] == "memory"
    assert "udp/127.0.0.1:%d" % t.port in j["listeners"]
    # unique prefixes; a bare prefix that is ambiguous is a usage error
    assert run("stat").returncode == 0
    r = run("s")
    assert r.returncode == 2 and "ambiguous" in r.stderr


def test_socket_mode_and_owner(ctl_turn, sockdir):
    t, run = ctl_turn()
    st = os.stat(os.path.join(sockdir, "ctl.sock"))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    t2, _ = ctl_turn({"control": {"mode": "0660"}}, name="c2.sock")
    assert stat.S_IMODE(os.stat(os.path.join(sockdir, "c2.sock")).st_mode) \
        == 0o660
    t2.stop()
    assert not os.path.exists(os.path.join(sockdir, "c2.sock"))
    if os.geteuid() == 0:               # chown needs root
        import grp
        import pwd
        t3, run3 = ctl_turn({"control": {"owner": "daemon",
                                         "group": "nogroup"}}, name="c3.sock")
        st = os.stat(os.path.join(sockdir, "c3.sock"))
        assert st.st_uid == pwd.getpwnam("daemon").pw_uid
        assert st.st_gid == grp.getgrnam("nogroup").gr_gid
        assert run3("status").returncode == 0


def test_sessions_session_kill(ctl_turn, turn_client, peer):
    t, run = ctl_turn()
    a = turn_client(t)
    expect_ok(a.allocate())
    expect_ok(a.create_permission(peer.addr))
    a.send_indication(peer.addr, b"x" * 10)
    assert peer.recv(5.0) is not None
    b = turn_client(t, "tcp")
    expect_ok(b.allocate())
    s = sessions(run)
    assert len(s) == 2
    mine = [x for x in s if x["transport"] == "udp"][0]
    assert mine["user"] == "alice"
    assert mine["client"] == "127.0.0.1:%d" % a.conn.sock.getsockname()[1]
    assert mine["relayed"] == ["%s:%d" % a.relayed[0]]
    assert mine["permissions"][0]["peer"] == "127.0.0.1"
    assert mine["packets_to_peer"] == 1 and mine["bytes_to_peer"] == 10
    assert 0 < mine["lifetime_left"] <= 600
    # filters
    assert len(sessions(run, "--user", "alice")) == 2
    assert sessions(run, "--user", "nobody") == []
    assert [x["id"] for x in sessions(run, "--peer", "127.0.0.1")] == \
        [mine["id"]]
    assert len(sessions(run, "--limit", "1")) == 1
    # text
    r = run("sessions")
    assert r.returncode == 0 and mine["id"] in r.stdout
    assert len(r.stdout.strip().splitlines()) == 3     # header + 2
    r = run("session", mine["id"])
    assert r.returncode == 0
    assert "permission:    127.0.0.1" in r.stdout
    assert "to peers:      1 packets, 10 bytes" in r.stdout
    one = ok_json(run("--json", "session", mine["id"]))
    assert one["id"] == mine["id"]
    r = run("session", "1")
    assert r.returncode == 1 and "no allocation" in r.stderr
    # kill by id: the client's next Refresh gets 437
    r = run("kill", mine["id"])
    assert r.returncode == 0 and "killed 1 allocation" in r.stdout
    expect_error(a.refresh(), 437)
    # kill by user: the TCP one too
    j = ok_json(run("--json", "kill", "--user", "alice"))
    assert j == {"killed": 1}
    assert sessions(run) == []
    assert t.wait_stats(lambda s: s.get("alloc_deleted") == 2)


@pytest.mark.skipif(shutil.which("turnutils_uclient") is None,
                    reason="coturn's turnutils_uclient missing")
def test_kill_uclient_session(ctl_turn):
    """A third-party client's allocation shows up and can be ended."""
    t, run = ctl_turn()
    p = subprocess.Popen(["turnutils_uclient", "-u", "alice", "-w", "secret",
                          "-p", str(t.port), "-n", "1000", "-m", "1",
                          "-l", "100", "-e", "127.0.0.1", "-r", "9",
                          "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        s = []
        while time.monotonic() < deadline and not s:
            s = sessions(run, "--user", "alice")
            time.sleep(0.05)                # polling interval, not a sync
        assert s, "uclient's allocation never showed up"
        r = run("kill", "--user", "alice")
        assert r.returncode == 0 and "killed" in r.stdout
    finally:
        p.kill()
        p.wait(10)


def test_usage_and_errors(ctl_turn, sockdir):
    t, run = ctl_turn()
    assert run().returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("session").returncode == 2
    assert run("session", "abc").returncode == 2
    assert run("kill").returncode == 2
    assert run("sessions", "--limit", "0").returncode == 2
    assert run("status", "extra").returncode == 2
    assert run("drain", "--timeout", "soon").returncode == 2
    # no turnd there: 1, with the socket named
    r = harness.run_turnctl(["-s", os.path.join(sockdir, "none.sock"),
                             "status"])
    assert r.returncode == 1 and "none.sock" in r.stderr
    # -s wins over the configuration
    r = harness.run_turnctl(["-c", "/nonexistent.conf", "-s",
                             os.path.join(sockdir, "ctl.sock"), "status"])
    assert r.returncode == 0, r.stderr


def raw(path, data, timeout=5.0):
    """Send data on a fresh control connection; everything it answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(data)
        out = b""
        for _ in range(10000):
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:   # closed with our bytes unread
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def test_socket_framing(ctl_turn, sockdir):
    """Bad requests close their own connection and nothing else."""
    t, run = ctl_turn()
    path = os.path.join(sockdir, "ctl.sock")
    assert raw(path, b"status\n").startswith(b"ok\nturnd")
    assert raw(path, b"nonsense\n") == b'error\nunknown request "nonsense"\n'
    assert raw(path, b"sessions bogus=1 json\n").startswith(b"error\n{")
    # over the size limit without a newline: closed, no answer
    assert raw(path, b"x" * 9000) == b""
    assert raw(path, b"status\x00\n") == b""
    # a client that says nothing is dropped, others are served meanwhile
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(path)
    try:
        assert raw(path, b"status json\n").startswith(b"ok\n{")
    finally:
        idle.close()
    assert run("status").returncode == 0
    assert t.alive()


def test_live_socket_not_taken(ctl_turn, turnd_bin, certs, tmp_path,
                               sockdir):
    """A second turnd refuses a control socket a live one answers on."""
    t, run = ctl_turn()
    path = os.path.join(sockdir, "ctl.sock")
    t2 = harness.Turnd(turnd_bin, str(tmp_path), certs,
                       overrides={"control": {"socket": path}})
    t2.start(wait=False)
    assert t2.proc.wait(15) == 1
    assert "another turnd answers on it" in t2.log_text() + t2.stderr_text()
    assert run("status").returncode == 0


def test_drain(ctl_turn, turn_client, peer):
    """Drain keeps the old session relaying and refreshing, refuses new
    ones (508: no other instance known), flips /readyz, and turnd exits
    by itself when the old session ends."""
    import test_metrics as tm
    port = tm.free_tcp_port()
    t, run = ctl_turn(tm.metrics_over(port))
    old = turn_client(t)
    expect_ok(old.allocate())
    expect_ok(old.create_permission(peer.addr))
    r = run("drain")
    assert r.returncode == 0 and "draining: 1 allocation left" in r.stdout
    assert tm.http_get(port, "/readyz")[:1] == (503,)
    assert ok_json(run("--json", "status"))["draining"] is True
    new = turn_client(t)
    expect_error(new.allocate(), 508)
    # the old one still relays and refreshes
    old.send_indication(peer.addr, b"still here")
    assert peer.recv(5.0)[0] == b"still here"
    expect_ok(old.refresh())
    assert t.alive()
    expect_ok(old.refresh(0))
    t.stopped_by_test = True            # it ends by itself
    assert t.proc.wait(10) == 0
    assert "drain: the last allocation ended; exiting" in t.log_text()


def test_drain_timeout(ctl_turn, turn_client):
    t, run = ctl_turn()
    c = turn_client(t)
    expect_ok(c.allocate())
    j = ok_json(run("--json", "drain", "--timeout", "1"))
    assert j["draining"] is True and j["allocations"] == 1
    t.stopped_by_test = True            # it ends by itself
    assert t.proc.wait(10) == 0
    assert "drain: timeout with 1 allocation left" in t.log_text()


from test_redis import (READY_RE, STORE_READY_TIMEOUT, poll,  # noqa: E402
                        redis_factory, redis_srv, rcli, redis_turn,
                        store_config)


def test_drain_redirects_to_another_instance(redis_srv, rcli, redis_turn,
                                             ctl_turn, turn_client):
    """With Redis, a draining instance answers Allocate with 300 and the
    ALTERNATE-SERVER of the other live instance (signed: the client can
    trust it), and marks itself draining in the registry."""
    b = redis_turn(redis_srv)
    a, run = ctl_turn(store_config(redis_srv))
    a.wait_log(READY_RE, timeout=STORE_READY_TIMEOUT)
    poll(lambda: len(rcli.scan("turnd/instance/*")) == 2,
         what="both instances registered")
    old = turn_client(a)
    expect_ok(old.allocate())
    assert run("drain").returncode == 0
    c = turn_client(a)
    r = None
    for _ in range(100):                 # the workers learn the alternate
        r = c.allocate()                 # from Redis: wait for it, bounded
        if r.error_code() == 300:
            break
        time.sleep(0.05)                 # polling interval, not a sync
    expect_error(r, 300)
    assert stun.decode_addr(r.get(ALTERNATE_SERVER)) == ("127.0.0.1", b.port)
    assert r.integrity_ok(c.key) is True
    me = ok_json(run("--json", "status"))["instance"]
    assert rcli.hgetall("turnd/instance/" + me)["draining"] == "1"
    # the other instance serves new clients
    expect_ok(turn_client(b).allocate())
    expect_ok(old.refresh(0))
    a.stopped_by_test = True
    assert a.proc.wait(10) == 0


# ------------------------------------------------------------- reload

def rewrite(t, over):
    """Write t's configuration file again with over applied."""
    t.config = harness.merge(t.config, over)
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))


def new_cert(d, cn):
    cert, key = os.path.join(d, cn + ".pem"), os.path.join(d, cn + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn], check=True, capture_output=True,
                   timeout=60)
    return cert, key


def served_cert(port):
    """The DER certificate a new TLS client is shown on port."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s) as tls:
            return tls.getpeercert(binary_form=True)


def der(pem_path):
    import ssl
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_reload_under_relaying(ctl_turn, turn_client, peer, tmp_path):
    """Reloads while a client relays in lock-step lose no packet and drop
    no allocation or TLS connection; a changed password and a new
    certificate apply to new requests at once."""
    import threading
    t, run = ctl_turn()
    assert served_cert(t.tls_port) == der(t.certs.cert)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(peer.addr))
    held = turn_client(t, "tls", user="bob", password="hunter2")
    expect_ok(held.allocate())
    errors, sent = [], [0]

    def relay():
        try:
            for i in range(400):
                data = b"pkt %d" % i
                c.send_indication(peer.addr, data)
                got = peer.recv(5.0)
                if got is None or got[0] != data:
                    errors.append("packet %d: %r" % (i, got))
                    return
                sent[0] += 1
        except Exception as e:          # reported below
            errors.append(repr(e))
    th = threading.Thread(target=relay)
    th.start()
    cert, key = new_cert(str(tmp_path), "reloaded")
    rewrite(t, {"auth": {"users": [{"user": "alice", "password": "newpw"},
                                   {"user": "bob", "password": "hunter2"}]},
                "tls": {"cert": cert, "key": key}})
    r = run("reload")
    assert r.returncode == 0, r.stderr
    assert "auth.users" in r.stdout and "tls.cert" in r.stdout
    for _ in range(3):
        assert run("reload").returncode == 0
    th.join(60)
    assert not th.is_alive() and not errors, errors
    assert sent[0] == 400
    # new requests see the new password and the new certificate
    expect_ok(turn_client(t, password="newpw").allocate())
    expect_error(turn_client(t, password="secret").allocate(), 401)
    assert served_cert(t.tls_port) == der(cert)
    # the TLS connection made before still works, so does its allocation
    expect_ok(held.refresh())
    assert len(sessions(run, "--user", "bob")) == 1
    assert len(sessions(run, "--user", "alice")) == 2
    assert t.stats()["alloc_deleted"] == 0


def test_reload_refused_and_restart_keys(ctl_turn, turn_client):
    t, run = ctl_turn()
    good = t.config
    rewrite(t, {"relay": {"max_bps": -5}})
    r = run("reload")
    assert r.returncode == 1
    assert "refused, the running configuration stays" in r.stderr
    assert t.conf_path + ":" in r.stderr and "relay.max_bps" in r.stderr
    j = json.loads(run("--json", "reload").stdout)
    assert t.conf_path in j["error"]
    expect_ok(turn_client(t).allocate())          # still the old one
    t.config = good
    rewrite(t, {})
    other = harness.free_port()
    rewrite(t, {"listen": {"udp": ["127.0.0.1:%d" % other]},
                "relay": {"max_bps": 100000}})
    j = ok_json(run("--json", "reload"))
    assert j["reloaded"] is True
    assert "listen.udp" in j["restart_needed"]
    assert "relay.max_bps" in j["changed"]
    # the running listener stays where it was
    expect_ok(turn_client(t).allocate())
    r = ok_json(run("--json", "status"))
    assert "udp/127.0.0.1:%d" % t.port in r["listeners"]


def test_sighup_reloads(ctl_turn, turn_client):
    import signal
    t, run = ctl_turn()
    rewrite(t, {"auth": {"users": [{"user": "carl", "password": "pw"}]}})
    os.kill(t.pid, signal.SIGHUP)
    t.wait_log(r"reloaded .*changed: auth.users")
    expect_ok(turn_client(t, user="carl", password="pw").allocate())
    expect_error(turn_client(t, user="alice", password="secret").allocate(),
                 401)
