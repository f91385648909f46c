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
        d = os.path.join(self.base, "%s-%d" % (
            self.node.name.replace("/", "_")[:60], len(self.instances)))
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
