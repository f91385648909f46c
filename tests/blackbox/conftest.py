"""Fixtures of the black-box suite: certificates, a turnd factory, clients.

Run: TURND=/path/to/turnd /usr/bin/python3 -m pytest -q tests/blackbox
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import stun     # noqa: E402

TRANSPORTS = ["udp", "tcp", "tls"]
STREAMS = ["tcp", "tls"]


@pytest.fixture(scope="session")
def turnd_bin():
    p = harness.turnd_path()
    if not p:
        pytest.skip("set TURND=/path/to/turnd")
    if not os.access(p, os.X_OK):
        pytest.fail("TURND=%s is not an executable" % p)
    return p


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="turnd-bb-")
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("TURND_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def certs(session_dir):
    d = os.path.join(session_dir, "certs")
    os.makedirs(d)
    return harness.Certs(d)


@pytest.fixture(scope="session")
def extra_defaults(turnd_bin, session_dir, certs):
    """Keys beyond the brief that keep instances apart, if turnd knows them.

    etc/turnd.conf documents control.socket and metrics.listen with fixed
    defaults (/run/turnd/control.sock, 127.0.0.1:9641); two instances with
    those would collide.  Turn them off when the config schema has them.
    """
    extra = {"control": {"socket": ""}, "metrics": {"listen": ""}}
    t = harness.Turnd(turnd_bin, os.path.join(session_dir, "probe"), certs,
                      extra=extra)
    r = harness.run_turnd(turnd_bin, ["-n", "-c", t.conf_path])
    return extra if r.returncode == 0 else {}


class Factory:
    def __init__(self, binary, base, certs, extra, node):
        self.binary = binary
        self.base = base
        self.certs = certs
        self.extra = extra
        self.instances = []
        self.clients = []
        self.node = node

    def __call__(self, overrides=None, start=True, **kw):
        # The module is part of the name: tests of one name in two files
        # must not share a directory (and a log wait_ready reads).
        mod = os.path.basename(self.node.nodeid.split("::")[0])[:-3]
        d = os.path.join(self.base, "%s-%s-%d" % (
            mod[:30], self.node.name.replace("/", "_")[:60],
            len(self.instances)))
        t = harness.Turnd(self.binary, d, self.certs, overrides=overrides,
                          extra=self.extra)
        self.instances.append(t)
        self.node._turnd_instances = self.instances
        if start:
            t.start(**kw)
        # Clients made through the instance are closed at teardown.
        orig = t.client

        def tracked(*a, **k):
            c = orig(*a, **k)
            self.clients.append(c)
            return c
        t.client = tracked
        return t

    def finish(self):
        for c in self.clients:
            c.close()
        problems = []
        for t in self.instances:
            if t.proc is None:
                continue
            by_test = t.stopped_by_test
            crashed = t.proc.poll() is not None and not by_test
            rc = t.stop()
            err = t.stderr_text()
            if "Sanitizer" in err or "runtime error:" in err:
                problems.append("%s: sanitizer report:\n%s" % (t.dir, err[-4000:]))
            if crashed:
                problems.append("%s: turnd died during the test (status %s)"
                                % (t.dir, rc))
            elif not by_test and rc != 0:
                problems.append("%s: exit status %s on SIGTERM at teardown"
                                % (t.dir, rc))
        return problems


@pytest.fixture
def turnd_factory(turnd_bin, session_dir, certs, extra_defaults, request):
    """Call it to start a turnd: turnd_factory({"stun": {"rfc5780": True}})."""
    f = Factory(turnd_bin, session_dir, certs, extra_defaults, request.node)
    yield f
    problems = f.finish()
    assert not problems, "\n".join(problems)


@pytest.fixture
def turnd(turnd_factory):
    """A turnd with the default test config."""
    return turnd_factory()


@pytest.fixture(scope="module")
def shared_turnd(turnd_bin, session_dir, certs, extra_defaults, request):
    """One default turnd for a module of tests that change no state."""
    d = os.path.join(session_dir, "shared-" + request.module.__name__)
    t = harness.Turnd(turnd_bin, d, certs, extra=extra_defaults).start()
    yield t
    alive = t.alive()
    rc = t.stop()
    assert alive, "shared turnd died during %s" % request.module.__name__
    assert rc == 0, "shared turnd exit status %s on SIGTERM" % rc


@pytest.fixture
def clients():
    """A list; sockets appended to it are closed at teardown."""
    lst = []
    yield lst
    for c in lst:
        c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for t in getattr(item, "_turnd_instances", []):
            lines = t.log_text().splitlines()
            stats = [i for i, l in enumerate(lines) if "stats:" in l]
            drop = set(stats[:-2])         # repeated polls: keep the last 2
            log = "\n".join(l for i, l in enumerate(lines) if i not in drop)
            rep.sections.append(("turnd log %s" % t.dir,
                                 log[-4000:] + "\nstderr:\n" +
                                 t.stderr_text()[-2000:]))


# ------------------------------------------------------------- TURN

# Relay ports: below the kernel's ephemeral range (32768-60999 here), so
# that they never collide with the listeners, peers and clients, which
# all take ephemeral ports.
RELAY_MIN_PORT = 20000
RELAY_MAX_PORT = 29999

USERS = {"alice": "secret", "bob": "hunter2"}
SECRETS = ["s1", "s2"]

# What every TURN test server has: relay sockets on loopback (both
# families), loopback peers allowed explicitly (the built-in policy denies
# them), two static users and two REST secrets.  unauth_rate = 0 (no
# limit): the tests make many 401 challenges in a row from 127.0.0.1; the
# rate limit has its own tests.
TURN_CONFIG = {
    "relay": {
        "addresses": ["127.0.0.1", "::1"],
        "allow_peers": ["127.0.0.0/8", "::1/128"],
        "min_port": RELAY_MIN_PORT,
        "max_port": RELAY_MAX_PORT,
    },
    "auth": {
        "users": [{"user": u, "password": p} for u, p in USERS.items()],
        "secrets": SECRETS,
        "rest_separator": ":",
        "nonce_lifetime": 600,
        "unauth_rate": 0,
    },
}


def turn_overrides(over=None):
    """TURN_CONFIG with over applied (a None value removes a key)."""
    return harness.merge(TURN_CONFIG, over)


@pytest.fixture
def turn_factory(turnd_factory):
    """turn_factory({"relay": {"max_bps": 10000}}): a TURN test server."""
    def make(over=None, **kw):
        return turnd_factory(turn_overrides(over), **kw)
    return make


@pytest.fixture
def turn_server(turn_factory):
    return turn_factory()


@pytest.fixture(scope="module")
def shared_turn(turnd_bin, session_dir, certs, extra_defaults, request):
    """One TURN server for a module (its SHARED_TURN_OVERRIDES applied).

    Tests on it make their own allocations and assert nothing about
    counters other tests move.
    """
    over = getattr(request.module, "SHARED_TURN_OVERRIDES", None)
    d = os.path.join(session_dir, "shared-" + request.module.__name__)
    t = harness.Turnd(turnd_bin, d, certs, overrides=turn_overrides(over),
                      extra=extra_defaults).start()
    yield t
    alive = t.alive()
    rc = t.stop()
    assert alive, "shared TURN server died during %s" % request.module.__name__
    assert rc == 0, "shared TURN server exit status %s on SIGTERM" % rc


@pytest.fixture
def turn_client():
    """turn_client(server, "tcp", 4, user=..., ...): a stun.TurnClient on a
    fresh flow; closed at teardown."""
    made = []

    def make(t, transport="udp", family=4, **kw):
        c = stun.TurnClient(t.client(transport, family), **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture
def peers():
    """peers() -> a stun.Peer on 127.0.0.1 (peers("::1") for IPv6);
    closed at teardown."""
    made = []

    def make(host="127.0.0.1"):
        p = stun.Peer(host)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


@pytest.fixture
def peer(peers):
    return peers()


def expect_ok(r, method=None):
    """r is a success response (of method, if given)."""
    assert r.cls == stun.SUCCESS, "expected a success, got %r" % (r,)
    if method is not None:
        assert r.method == method, r
    return r


def dual(turn_client, server, transport="udp"):
    """A client with an IPv4 and an IPv6 relayed address (RFC 8656
    ADDITIONAL-ADDRESS-FAMILY)."""
    c = turn_client(server, transport)
    r = expect_ok(c.allocate([stun.family_attr(
        stun.ADDITIONAL_ADDRESS_FAMILY, stun.FAMILY_V6)]))
    assert len(r.xor_relayed()) == 2, r.xor_relayed()
    return c


def expect_error(r, code, method=None):
    """r is an error response with code; returns its reason phrase."""
    assert r.cls == stun.ERROR, "expected error %d, got %r" % (code, r)
    assert r.error_code() == code, "expected error %d, got %r" % (
        code, r.error())
    if method is not None:
        assert r.method == method, r
    return r.error()[1]
