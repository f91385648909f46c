"""Command line, config checking, signals, privileges, demo mode."""

import os
import pwd
import re
import signal
import socket
import subprocess
import time

import pytest

import harness
import stun

SRC_CONFIGURE_AC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "configure.ac")


def test_version(turnd_bin):
    r = harness.run_turnd(turnd_bin, ["-V"])
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"turnd (\S+)\n?", r.stdout)
    assert m, "unexpected -V output %r" % r.stdout
    if os.path.exists(SRC_CONFIGURE_AC):
        ac = open(SRC_CONFIGURE_AC).read()
        v = re.search(r"AC_INIT\(\[turnd\],\s*\[([^\]]+)\]", ac)
        if v:
            assert m.group(1) == v.group(1)


def test_check_good_config(turnd_factory, turnd_bin):
    t = turnd_factory(start=False)
    r = harness.run_turnd(turnd_bin, ["-n", "-c", t.conf_path])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configuration OK"
    # -n binds nothing and starts nothing: the ports stay free.
    assert harness.port_is_free("127.0.0.1", t.port)


def test_check_does_not_leave_process(turnd_factory, turnd_bin):
    t = turnd_factory(start=False)
    r = harness.run_turnd(turnd_bin, ["-n", "-c", t.conf_path], timeout=10)
    assert r.returncode == 0
    assert not logged_ready(t)


# Each bad config: (name, text replacing a marker line, reason regex).
# The marker line is where the error must be reported.
BAD = {
    "unknown_top_key": ("bogus_key = 1;", "bogus_key"),
    "unknown_section_key": ("limits: { connections_per_sauce = 3; };",
                            "connections_per_sauce"),
    "wrong_type": ("workers = \"two\";", "workers"),
    "out_of_range": ("workers = -1;", "workers"),
    "bad_bool": ("stun: { mapped_address = 3; };", "mapped_address"),
    "bad_listen_port": ("listen: { udp = [ \"127.0.0.1:70000\" ]; };", "udp"),
    "bad_listen_ip": ("listen: { udp = [ \"127.0.0.300:3478\" ]; };", "udp"),
    "bad_min_version": ("tls: { min_version = \"1.0\"; };", "min_version"),
    "bad_log_level": ("log: { level = \"chatty\"; };", "level"),
    "syntax_error": ("realm = \"unterminated;", None),
}


def error_line(path, stderr):
    """The FILE:LINE: error in stderr (an optional "turnd: " prefix is
    allowed): (line, rest) or None."""
    m = re.search(r"^(?:turnd: )?%s:(\d+): (.*)$" % re.escape(path), stderr,
                  re.M)
    return (int(m.group(1)), m.group(2)) if m else None


def logged_ready(t):
    return re.search(r"\bready\b", t.log_text()) is not None


def bad_config(t, name):
    """t's good config with the BAD[name] line appended; (path, line)."""
    text, _ = BAD[name]
    good = harness.render_config(t.config)
    # Drop sections that the bad line redefines (libconfig rejects dups).
    m = re.match(r"(\w+):", text)
    if m:
        sect = m.group(1)
        cfg = dict(t.config)
        inner = dict(cfg[sect])
        key = re.search(r"\{\s*(\w+)", text).group(1)
        inner.pop(key, None)
        cfg[sect] = inner
        good = harness.render_config(cfg)
        # put the key back inside its section, on its own line
        lines = good.splitlines()
        start = lines.index("%s: {" % sect)
        inner_line = text[text.index("{") + 1:text.rindex("}")].strip()
        lines.insert(start + 1, "  " + inner_line)
        line = start + 2
        body = "\n".join(lines) + "\n"
    else:
        key = re.match(r"(\w+)", text).group(1)
        lines = [l for l in good.splitlines()
                 if not l.startswith(key + " =")]
        lines.append(text)
        line = len(lines)
        body = "\n".join(lines) + "\n"
    path = os.path.join(t.dir, "bad-%s.conf" % name)
    with open(path, "w") as f:
        f.write(body)
    return path, line


@pytest.mark.parametrize("name", sorted(BAD))
def test_check_bad_config(turnd_factory, turnd_bin, name):
    t = turnd_factory(start=False)
    path, line = bad_config(t, name)
    r = harness.run_turnd(turnd_bin, ["-n", "-c", path])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "configuration OK" not in r.stdout
    e = error_line(path, r.stderr)
    assert e, "no FILE:LINE: in stderr %r" % r.stderr
    key = BAD[name][1]
    if key is not None:
        # libconfig may report an unterminated string on a later line.
        assert e[0] == line, "line %s, expected %d: %r" % (e[0], line, r.stderr)
        # "key: reason", the key possibly dotted with its section
        assert re.match(r"(?:[\w.]+\.)?%s: \S" % key, e[1]), r.stderr


@pytest.mark.parametrize("name", ["unknown_top_key", "bad_listen_port"])
def test_start_with_bad_config_fails(turnd_factory, turnd_bin, name):
    t = turnd_factory(start=False)
    path, line = bad_config(t, name)
    r = harness.run_turnd(turnd_bin, ["-f", "-c", path], timeout=15)
    assert r.returncode == 1, (r.returncode, r.stderr)
    e = error_line(path, r.stderr)
    assert e and e[0] == line, r.stderr
    assert not logged_ready(t)


def test_missing_config_file(turnd_bin, tmp_path):
    p = str(tmp_path / "nonexistent.conf")
    r = harness.run_turnd(turnd_bin, ["-n", "-c", p])
    assert r.returncode == 1
    assert p in r.stderr


def test_tls_listener_needs_cert(turnd_factory, turnd_bin):
    t = turnd_factory(start=False)
    t.config = harness.merge(t.config, {"tls": {"cert": "", "key": ""}})
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    r = harness.run_turnd(turnd_bin, ["-n", "-c", t.conf_path])
    assert r.returncode == 1, r.stdout
    assert t.conf_path in r.stderr


def test_unreadable_cert_fails_start(turnd_factory, turnd_bin):
    t = turnd_factory(start=False)
    t.config = harness.merge(t.config, {"tls": {"cert": "/nonexistent/c.pem"}})
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    r = harness.run_turnd(turnd_bin, ["-f", "-c", t.conf_path], timeout=15)
    assert r.returncode != 0
    assert not logged_ready(t)


def test_port_in_use_fails_start(turnd_factory, turnd_bin):
    t = turnd_factory(start=False)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        blocker.bind(("127.0.0.1", t.port))
        r = harness.run_turnd(turnd_bin, ["-f", "-c", t.conf_path], timeout=15)
        assert r.returncode != 0
        assert not logged_ready(t)
    finally:
        blocker.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exit_zero_with_stats(turnd_factory, sig):
    t = turnd_factory()
    n = 3
    c = t.client("udp")
    for _ in range(n):
        assert c.request(stun.binding_request()).cls == stun.SUCCESS
    tcp = t.client("tcp")               # open connections do not block exit
    assert tcp.request(stun.binding_request()).cls == stun.SUCCESS
    rc = t.stop(sig)
    assert rc == 0, "exit status %s on %s" % (rc, sig.name)
    s = t.final_stats()
    assert s is not None, "no stats: line at exit"
    missing = [k for k in harness.COUNTERS if k not in s]
    assert not missing, "counters missing from stats: %s" % missing
    assert s["binding_success"] == n + 1
    assert s["stun_requests"] >= n + 1
    assert s["conn_accepted"] == 1
    assert all(isinstance(v, int) for v in s.values())


def test_sigusr1_logs_and_keeps_running(turnd):
    s1 = turnd.stats()
    missing = [k for k in harness.COUNTERS if k not in s1]
    assert not missing, "counters missing from stats: %s" % missing
    assert all(v == 0 for k, v in s1.items() if k in harness.COUNTERS), s1
    assert turnd.alive()
    assert turnd.binding_ok("udp")
    s2 = turnd.stats()
    assert s2["binding_success"] == 1
    assert s2["stun_requests"] == 1


def test_stats_line_format(turnd):
    turnd.stats()
    line = [l for l in turnd.log_text().splitlines() if "stats:" in l][-1]
    m = re.search(r"\bstats:((?: \w+=\d+)+)\s*$", line)
    assert m, "stats line not 'stats: name=value ...': %r" % line


def test_pidfile(turnd_factory):
    t = turnd_factory(start=False)
    pidfile = os.path.join(t.dir, "turnd.pid")
    t.config = harness.merge(t.config, {"pidfile": pidfile})
    with open(t.conf_path, "w") as f:
        f.write(harness.render_config(t.config))
    t.start()
    with open(pidfile) as f:
        assert int(f.read().strip()) == t.pid


def proc_ids(pid):
    """{tid: (uids, gids, groups)} for every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        out[tid] = (st["Uid"].split(), st["Gid"].split(),
                    st.get("Groups", "").split())
    return out


@pytest.fixture
def nobody():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")


def test_privilege_drop_uid(turnd_factory, nobody):
    t = turnd_factory({"user": "nobody"})
    ids = proc_ids(t.pid)
    assert len(ids) >= 1
    for tid, (uids, gids, groups) in ids.items():
        assert uids == [str(nobody.pw_uid)] * 4, "thread %s: Uid %s" % (tid, uids)
    # Still serving after the drop, on every transport.
    for tr in ("udp", "tcp", "tls"):
        assert t.binding_ok(tr), tr
    assert t.stop() == 0


def test_privilege_drop_no_root_group(turnd_factory, nobody):
    t = turnd_factory({"user": "nobody"})
    for tid, (uids, gids, groups) in proc_ids(t.pid).items():
        assert "0" not in gids, "thread %s kept gid 0: %s" % (tid, gids)
        assert "0" not in groups, "thread %s kept group 0: %s" % (tid, groups)


def test_no_user_stays_root(turnd):
    for tid, (uids, _, _) in proc_ids(turnd.pid).items():
        assert uids[0] == str(os.geteuid())


# ------------------------------------------------------------- demo mode

DEMO_PORTS = (("127.0.0.1", 3478, ("udp", "tcp")), ("::1", 3478, ("udp", "tcp")),
              ("127.0.0.1", 5349, ("tcp",)), ("::1", 5349, ("tcp",)))


def start_demo(turnd_bin, d):
    """Start turnd --demo in d; (process, stdout text) once it printed."""
    d.mkdir(exist_ok=True)
    out_path = d / "stdout"
    with open(out_path, "wb") as out, open(d / "stderr", "wb") as err:
        p = subprocess.Popen([turnd_bin, "--demo"], stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, cwd=str(d))
    deadline = time.monotonic() + 15
    text = ""
    for _ in range(1000):
        text = out_path.read_text(errors="replace")
        if re.search(r"^\s*turns:", text, re.M) and \
                re.search(r"password\W+\S+", text):
            return p, text
        if p.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)               # polling interval, not a sync
    stop_demo(p)
    raise AssertionError("demo printed no URLs (status %s):\n%s\n%s" % (
        p.returncode, text, (d / "stderr").read_text()))


def stop_demo(p):
    return harness.stop_process(p, 10)


def test_demo_mode(turnd_bin, tmp_path):
    for host, port, kinds in DEMO_PORTS:
        if not harness.port_is_free(host, port, kinds):
            pytest.skip("port %s %d busy" % (host, port))
    p, text = start_demo(turnd_bin, tmp_path / "run1")
    try:
        lines = [l.strip() for l in text.splitlines()]
        assert any(re.match(r"stun:", l) for l in lines), text
        assert any(re.match(r"turn:\S*\?transport=udp", l) for l in lines), text
        assert any(re.match(r"turn:\S*\?transport=tcp", l) for l in lines), text
        assert any(re.match(r"turns:", l) for l in lines), text
        assert re.search(r"username\W+\S+", text), text
        assert re.search(r"password\W+\S+", text), text
        c = stun.UdpClient(("127.0.0.1", 3478))
        try:
            r = None
            req = stun.binding_request()    # retransmitted with the same tid
            for _ in range(50):     # bounded: the banner may precede binding
                try:
                    r = c.request(req, timeout=0.3)
                    break
                except TimeoutError:
                    continue
            assert r is not None and r.cls == stun.SUCCESS
            assert r.xor_mapped() == c.local
        finally:
            c.close()
        for addr, tls in ((("127.0.0.1", 3478), False), (("::1", 3478), False),
                          (("127.0.0.1", 5349), True), (("::1", 5349), True)):
            fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
            c = stun.StreamClient(addr, fam, tls=tls)
            try:
                req = stun.binding_request()
                r = c.request(req)
                assert r.cls == stun.SUCCESS and r.xor_mapped() == c.local
            finally:
                c.close()
        c = stun.UdpClient(("::1", 3478), socket.AF_INET6)
        try:
            assert c.request(stun.binding_request()).xor_mapped() == c.local
        finally:
            c.close()
    finally:
        rc = stop_demo(p)
    assert rc == 0, "demo exit status %s on SIGTERM" % rc
    # The password is generated: a second run gets another one.
    pw1 = re.search(r"password\W+(\S+)", text).group(1)
    p, text2 = start_demo(turnd_bin, tmp_path / "run2")
    assert stop_demo(p) == 0
    pw2 = re.search(r"password\W+(\S+)", text2).group(1)
    assert pw1 != pw2, "demo password %r is not generated per run" % pw1
    assert len(pw1) >= 12
