"""turnctl's store commands (user, secret, peer, realm) and ice, against a
real redis-server and a turnd that uses it (turnd-redis(7), turnctl(8)).

turnctl talks to Redis itself, with the store section of the turnd.conf
that harness.Turnd writes (-c that file): the commands work while turnd is
down.  turnd sees users and secrets within store.cache_ttl (1 s here, as
in test_redis.py), and peer rules and realm options when turnctl
publishes on turnd/realm/<realm>/changed; the peer test turns keyspace
notifications off so that only that message can tell turnd.

Every wait is a bounded poll of something observable; nothing sleeps to
synchronise.  Only loopback is used.

Run: TURND=/path/to/turnd /usr/bin/python3 -m pytest -q \
     tests/blackbox/test_turnctl_store.py
"""

import json
import os
import pty
import select
import signal
import time

import pytest

import harness
import redisd
import stun
from conftest import expect_error, expect_ok
# the fixtures redis_factory, redis_srv, rcli and redis_turn, and helpers
from test_redis import (CACHE_TTL, REALM, SLACK, allocate_until,  # noqa: F401
                        is_err, is_ok, md5_key, needs_turnadmin, poll, rcli,
                        realm_key, redis_factory, redis_srv, redis_turn,
                        settled, sha256_key, user_key)

CHANGED = "turnd/realm/%s/changed" % REALM
SECRET_WAIT = CACHE_TTL + SLACK + 2     # a store change reaching every worker


@pytest.fixture(autouse=True)
def need_turnctl():
    if harness.turnctl_path() is None:
        pytest.skip("turnctl not built beside $TURND")


def ctl(t, *args, input=""):
    """turnctl -c <t's config> ARGS; stdin is a pipe (input), never a
    terminal, so nothing prompts."""
    return harness.run_turnctl(["-c", t.conf_path] + list(args), input=input)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def ok_json(r):
    return json.loads(ok(r))


def fails(r, code, *words):
    """r exited with code and its stderr holds every word."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    return r.stderr


def attempt(t, turn_client, **kw):
    return turn_client(t, **kw).allocate()


# ============================================================= user

def test_user_add_list_and_allocate(redis_srv, rcli, redis_turn,
                                    turn_client):
    """user add stores exactly turnadmin's MD5 key (SHA-256 with --sha256)
    from the first line of stdin; the user then allocates; user list shows
    the Redis users, sorted, not the configuration's."""
    t = redis_turn(redis_srv)
    out = ok(ctl(t, "user", "add", "rita", input="pw\nsecond line\n"))
    assert "rita" in out and REALM in out
    assert rcli.get(user_key("rita")) == md5_key("rita", "pw")
    assert rcli.ttl(user_key("rita")) == -1
    expect_ok(attempt(t, turn_client, user="rita", password="pw"))
    expect_error(attempt(t, turn_client, user="rita",
                         password="second line"), 401)

    # --json, --sha256 after the name, a password without a newline
    j = ok_json(ctl(t, "--json", "user", "add", "sam", "--sha256",
                    input="pw2"))
    assert j == {"ok": True, "user": "sam"}
    assert rcli.get(user_key("sam")) == sha256_key("sam", "pw2")
    expect_ok(attempt(t, turn_client, user="sam", password="pw2",
                      alg=stun.PWALG_SHA256))
    expect_error(attempt(t, turn_client, user="sam", password="pw2",
                         alg=stun.PWALG_MD5), 401)

    # a unique prefix of the command and of the sub-command
    ok(ctl(t, "u", "a", "abe", input="pw3\n"))
    assert rcli.get(user_key("abe")) == md5_key("abe", "pw3")

    assert ok(ctl(t, "user", "list")) == "abe\nrita\nsam\n"
    assert ok_json(ctl(t, "--json", "user", "list")) == \
        {"users": ["abe", "rita", "sam"]}
    assert ok_json(ctl(t, "user", "l", "--json")) == \
        {"users": ["abe", "rita", "sam"]}


def test_user_password_input_rules(redis_srv, rcli, redis_turn):
    """The password comes from stdin, never the command line; an empty one
    is refused; --realm picks the realm of the key and of the hash."""
    t = redis_turn(redis_srv, start=False)     # turnd need not run
    for inp in ("", "\n", "\nlater\n"):
        fails(ctl(t, "user", "add", "ed", input=inp), 1, "empty password")
    fails(ctl(t, "user", "add", "ed", "pw", input="pw\n"), 2,
          "usage: turnctl user add U")
    assert rcli.scan("*") == []
    ok(ctl(t, "user", "add", "ed", "--realm", "other.realm", input="pw\r\n"))
    assert rcli.get(user_key("ed", "other.realm")) == \
        md5_key("ed", "pw", "other.realm")
    assert ok(ctl(t, "user", "list", "--realm", "other.realm")) == "ed\n"
    assert ok(ctl(t, "user", "list")) == ""
    assert ok_json(ctl(t, "--json", "user", "list")) == {"users": []}
    # a realm with glob characters is matched literally by SCAN
    ok(ctl(t, "user", "add", "gil", "--realm", "r*[x]", input="pw\n"))
    ok(ctl(t, "user", "add", "hal", "--realm", "rx", input="pw\n"))
    assert ok(ctl(t, "user", "list", "--realm", "r*[x]")) == "gil\n"


@needs_turnadmin
def test_user_key_is_turnadmins(redis_srv, rcli, redis_turn):
    """For the same user, realm and password, turnctl user add writes the
    very value coturn's turnadmin -a writes."""
    t = redis_turn(redis_srv, start=False)
    ok(ctl(t, "user", "add", "tina", input="t pass\n"))
    mine = rcli.get(user_key("tina"))
    rcli.delete(user_key("tina"))
    p = redisd.turnadmin(redis_srv, "-a", "-u", "tina", "-r", REALM,
                         "-p", "t pass")
    assert p.returncode == 0, p.stdout + p.stderr
    assert rcli.get(user_key("tina")) == mine == md5_key("tina", "t pass")


def test_user_passwd_and_del(redis_srv, rcli, redis_turn, turn_client):
    """passwd changes an existing user's key (the old password stops
    within store.cache_ttl) and refuses an unknown user; del removes the
    user (logins stop within the TTL) and fails when it is absent."""
    t = redis_turn(redis_srv)
    ok(ctl(t, "user", "add", "rita", input="old\n"))
    expect_ok(attempt(t, turn_client, user="rita", password="old"))

    fails(ctl(t, "user", "passwd", "nobody", input="x\n"), 1,
          "no user nobody")
    assert not rcli.exists(user_key("nobody"))
    j = ok_json(ctl(t, "--json", "user", "passwd", "rita", input="new\n"))
    assert j == {"ok": True, "user": "rita"}
    assert rcli.get(user_key("rita")) == md5_key("rita", "new")
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="rita", password="new"),
                   is_ok, SECRET_WAIT, "the new password")
    settled(t0, CACHE_TTL)
    for _ in range(4):
        expect_error(attempt(t, turn_client, user="rita", password="old"),
                     401)
        expect_ok(attempt(t, turn_client, user="rita", password="new"))

    out = ok(ctl(t, "user", "del", "rita"))
    assert "rita" in out and not rcli.exists(user_key("rita"))
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="rita", password="new"),
                   is_err(401), SECRET_WAIT, "401 after user del")
    settled(t0, CACHE_TTL)
    for _ in range(4):
        expect_error(attempt(t, turn_client, user="rita", password="new"),
                     401)
    fails(ctl(t, "user", "del", "rita"), 1, "no user rita")
    ok(ctl(t, "user", "add", "val", input="v\n"))
    assert ok_json(ctl(t, "--json", "user", "del", "val")) == \
        {"ok": True, "user": "val"}
    assert ok_json(ctl(t, "--json", "user", "list")) == {"users": []}


def wait_output(fd, want, timeout=10.0):
    """Read the pty master until want appears (bounded); all read."""
    out = b""
    deadline = time.monotonic() + timeout
    for _ in range(10000):
        if want in out:
            return out
        left = deadline - time.monotonic()
        assert left > 0, "no %r on the terminal; got %r" % (want, out)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            d = os.read(fd, 4096)
        except OSError:          # EIO: the child closed the terminal
            d = b""
        if not d:
            assert want in out, "terminal closed; got %r" % out
            return out
        out += d
    raise AssertionError("wait_output loop bound hit")


def on_tty(t, args, answers):
    """turnctl with a pseudo-terminal as its controlling terminal and
    stdin: answers are typed at each prompt.  (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:                                      # the child
        try:
            os.execv(harness.turnctl_path(),
                     [harness.turnctl_path(), "-c", t.conf_path] + args)
        finally:
            os._exit(127)
    out = b""
    reaped = False
    try:
        for prompt, answer in answers:
            out += wait_output(fd, prompt)
            os.write(fd, answer)
        deadline = time.monotonic() + 10.0
        for _ in range(10000):               # to EOF (EIO) on the master
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    d = b""
                out += d
                if not d:
                    break
            assert time.monotonic() < deadline, "turnctl hangs: %r" % out
        for _ in range(1000):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped = True
                return os.waitstatus_to_exitcode(status), out
            assert time.monotonic() < deadline + 5, "turnctl hangs"
            select.select([], [], [], 0.01)      # polling interval
        raise AssertionError("waitpid loop bound hit")
    finally:
        if not reaped:                       # our child, by its pid
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_user_password_prompt_on_terminal(redis_srv, rcli, redis_turn):
    """On a terminal the password is asked twice on /dev/tty, without
    echo; a mismatch is refused."""
    t = redis_turn(redis_srv, start=False)
    rc, out = on_tty(t, ["user", "add", "tom"],
                     [(b"Password for tom in %s: " % REALM.encode(),
                       b"typed-pw\n"), (b"Again: ", b"typed-pw\n")])
    assert rc == 0, out
    assert b"typed-pw" not in out                      # not echoed
    assert rcli.get(user_key("tom")) == md5_key("tom", "typed-pw")
    rc, out = on_tty(t, ["user", "add", "tim"],
                     [(b"Password", b"one\n"), (b"Again: ", b"two\n")])
    assert rc == 1 and b"do not match" in out, out
    assert not rcli.exists(user_key("tim"))


# ============================================================= secret

def test_secret_commands(redis_srv, rcli, redis_turn, turn_client):
    """secret add makes REST credentials of that secret work, del stops
    them (within store.cache_ttl); the secret comes from the argument or,
    as "-" or missing, from stdin's first line; list is sorted."""
    t = redis_turn(redis_srv)
    now = int(time.time())
    u1, p1 = stun.rest_credentials("rs1", "carol", now + 600)
    expect_error(attempt(t, turn_client, user=u1, password=p1), 401)
    out = ok(ctl(t, "secret", "add", "rs1"))
    assert "added" in out and "rs1" not in out
    assert rcli.smembers(realm_key("secret")) == {"rs1"}
    allocate_until(lambda: turn_client(t, user=u1, password=p1), is_ok,
                   SECRET_WAIT, "REST credentials of an added secret")

    ok(ctl(t, "secret", "add", "-", input="rs2\nnot this\n"))
    assert ok_json(ctl(t, "--json", "sec", "a", input="rs3\n")) == \
        {"ok": True}
    ok(ctl(t, "secret", "add", "rs1"))                 # already there: fine
    assert rcli.smembers(realm_key("secret")) == {"rs1", "rs2", "rs3"}
    assert ok(ctl(t, "secret", "list")) == "rs1\nrs2\nrs3\n"
    assert ok_json(ctl(t, "--json", "secret", "list")) == \
        {"secrets": ["rs1", "rs2", "rs3"]}
    fails(ctl(t, "secret", "add", input="\n"), 1, "empty secret")

    ok(ctl(t, "secret", "del", "rs1"))
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user=u1, password=p1),
                   is_err(401), SECRET_WAIT, "401 after secret del")
    settled(t0, CACHE_TTL)
    expect_error(attempt(t, turn_client, user=u1, password=p1), 401)
    u2, p2 = stun.rest_credentials("rs2", "carol", now + 600)
    expect_ok(attempt(t, turn_client, user=u2, password=p2))
    fails(ctl(t, "secret", "del", "rs1"), 1, "no such secret")
    ok(ctl(t, "secret", "del", "-", input="rs2\n"))
    assert ok_json(ctl(t, "--json", "secret", "del", input="rs3\n")) == \
        {"ok": True}
    assert ok_json(ctl(t, "--json", "secret", "list")) == {"secrets": []}


# ============================================================= peer

def test_peer_commands(redis_srv, rcli, redis_turn, turn_client, peer):
    """peer allow lets clients relay to a peer the built-in rules deny
    (loopback, with no relay.allow_peers), peer del takes it back; each
    change is published on turnd/realm/<realm>/changed, which is how turnd
    learns it here (keyspace notifications are off)."""
    rcli.call("CONFIG", "SET", "notify-keyspace-events", "")
    sub = redis_srv.subscriber().subscribe(CHANGED)
    t = redis_turn(redis_srv, {"relay": {"allow_peers": None}})
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_error(c.create_permission(peer.addr), 403)

    out = ok(ctl(t, "peer", "allow", "127.0.0.1"))
    assert "127.0.0.1" in out and "allowed" in out
    sub.wait_for(lambda m: m.channel == CHANGED and m.data == "1")
    poll(lambda: c.create_permission(peer.addr).cls == stun.SUCCESS,
         what="CreatePermission to 127.0.0.1 allowed")
    c.send_indication(peer.addr, b"via turnctl")
    assert peer.recv(2.0) == (b"via turnctl", c.relayed[0])

    # a range, a prefix, a denied set; unique prefixes; --json
    assert ok_json(ctl(t, "--json", "p", "a", "127.0.0.2-127.0.0.4")) == \
        {"ok": True, "allowed": "127.0.0.2-127.0.0.4"}
    ok(ctl(t, "peer", "deny", "203.0.113.0/24"))
    ok(ctl(t, "peer", "deny", "2001:db8::/32"))
    poll(lambda: c.create_permission(("127.0.0.3", 4000)).cls
         == stun.SUCCESS, what="127.0.0.3 allowed by the range")
    assert ok_json(ctl(t, "--json", "peer", "list")) == {
        "allowed": ["127.0.0.1", "127.0.0.2-127.0.0.4"],
        "denied": ["2001:db8::/32", "203.0.113.0/24"]}
    assert ok(ctl(t, "peer", "list")) == (
        "allow 127.0.0.1\nallow 127.0.0.2-127.0.0.4\n"
        "deny  2001:db8::/32\ndeny  203.0.113.0/24\n")
    assert rcli.smembers(realm_key("allowed-peer-ip")) == \
        {"127.0.0.1", "127.0.0.2-127.0.0.4"}

    for m in sub.drain(0.2):
        assert m.channel == CHANGED
    out = ok(ctl(t, "peer", "del", "127.0.0.1"))
    assert "no longer allowed" in out
    sub.wait_for(lambda m: m.channel == CHANGED)
    poll(lambda: c.create_permission(peer.addr).error_code() == 403,
         what="CreatePermission to 127.0.0.1 denied again")
    fails(ctl(t, "peer", "del", "127.0.0.1"), 1, "neither allowed nor denied")
    assert ok_json(ctl(t, "--json", "peer", "del", "203.0.113.0/24")) == \
        {"ok": True, "deleted": "203.0.113.0/24"}

    # malformed addresses are usage errors and reach nothing
    for bad in ("nonsense", "127.0.0.9-127.0.0.1", "10.0.0.0/33",
                "127.0.0.1-::1", "127.0.0.1:80"):
        fails(ctl(t, "peer", "allow", bad), 2, "bad peer address")
    assert rcli.smembers(realm_key("allowed-peer-ip")) == \
        {"127.0.0.2-127.0.0.4"}
    # what another tool put there is listed as ignored, and removable
    rcli.sadd(realm_key("denied-peer-ip"), "junk")
    assert "deny  junk (ignored by turnd:" in ok(ctl(t, "peer", "list"))
    ok(ctl(t, "peer", "del", "junk"))


# ============================================================= realm

def test_realm_commands(redis_srv, rcli, redis_turn, turn_client):
    """realm set user-quota 1 makes a user's second allocation get 486;
    realm get shows the value or the configuration's; realm unset brings
    the configuration's value back."""
    t = redis_turn(redis_srv, {"relay": {"user_quota": 5}})
    out = ok(ctl(t, "realm", "get", "user-quota"))
    assert "not set" in out and "relay.user_quota = 5" in out
    assert ok_json(ctl(t, "--json", "realm", "get", "user-quota")) == \
        {"option": "user-quota", "value": None, "config": 5}

    first = turn_client(t)
    expect_ok(first.allocate())
    assert ok_json(ctl(t, "--json", "realm", "set", "user-quota", "1")) == \
        {"ok": True, "option": "user-quota", "value": 1}
    assert rcli.get(realm_key("user-quota")) == "1"

    def refused():
        c = turn_client(t)
        r = c.allocate()
        if r.cls == stun.SUCCESS:          # not seen yet: give it back
            expect_ok(c.refresh(0))
            return False
        expect_error(r, 486)
        return True
    poll(refused, SLACK + 2, "486 at realm user-quota 1", 0.25)
    expect_error(attempt(t, turn_client), 486)

    assert ok(ctl(t, "realm", "get", "user-quota")) == "1\n"
    assert ok_json(ctl(t, "--json", "realm", "get", "user-quota")) == \
        {"option": "user-quota", "value": 1}
    assert ok_json(ctl(t, "--json", "realm", "get")) == {"options": [
        {"option": "user-quota", "value": 1},
        {"option": "total-quota", "value": None, "config": 0},
        {"option": "max-bps", "value": None, "config": 0}]}
    text = ok(ctl(t, "realm", "get"))
    assert "user-quota: 1\n" in text and "max-bps: not set" in text

    assert ok_json(ctl(t, "--json", "realm", "unset", "user-quota")) == \
        {"ok": True, "option": "user-quota", "value": None, "config": 5}
    assert not rcli.exists(realm_key("user-quota"))
    allocate_until(lambda: turn_client(t), is_ok, SLACK + 2,
                   "the configuration's quota back")
    assert "was not set" in ok(ctl(t, "realm", "unset", "user-quota"))

    # unique prefixes; max-bps; values
    ok(ctl(t, "rea", "s", "m", "200000"))
    assert rcli.get(realm_key("max-bps")) == "200000"
    assert ok(ctl(t, "realm", "g", "max")) == "200000\n"
    ok(ctl(t, "realm", "set", "total-quota", "0"))
    assert rcli.get(realm_key("total-quota")) == "0"
    ok(ctl(t, "realm", "unset", "max-bps"))
    ok(ctl(t, "realm", "unset", "total-quota"))
    for bad in (["set", "user-quota", "-1"], ["set", "user-quota", "1x"],
                ["set", "user-quota", ""], ["set", "user-quota", "2000000"],
                ["set", "nosuch", "1"], ["set", "user-quota"],
                ["get", "nosuch"], ["unset"]):
        fails(ctl(t, "realm", *bad), 2)
    for k in ("user-quota", "total-quota", "max-bps"):
        assert not rcli.exists(realm_key(k))


# ============================================================= ice

def ice_urls(host, t):
    return ["stun:%s:%d" % (host, t.port),
            "turn:%s:%d?transport=udp" % (host, t.port),
            "turn:%s:%d?transport=tcp" % (host, t.port),
            "turns:%s:%d?transport=tcp" % (host, t.tls_port)]


def check_ice(out, t, user, secret, ttl, host="127.0.0.1"):
    """out is an iceServers array of one RTCIceServer for t with a REST
    credential of secret valid about ttl seconds; that object."""
    servers = json.loads(out)
    assert isinstance(servers, list) and len(servers) == 1, servers
    s = servers[0]
    assert set(s) == {"urls", "username", "credential"}, s
    assert s["urls"] == ice_urls(host, t)
    expiry, uid = s["username"].split(":", 1)
    assert uid == user
    assert abs(int(expiry) - (time.time() + ttl)) < 10, (expiry, ttl)
    assert stun.rest_credentials(secret, user, int(expiry)) == \
        (s["username"], s["credential"])
    return s


def test_ice(redis_srv, rcli, redis_turn, turn_client):
    """turnctl ice prints an iceServers array (text and --json) whose
    URLs are the listeners (one per port) and whose REST credential, made
    with the first of auth.secrets or the first secret in Redis, lets a
    client allocate over UDP and TCP."""
    t = redis_turn(redis_srv)           # auth.secrets = s1, s2
    out = ok(ctl(t, "ice", "--user", "ivy"))
    s = check_ice(out, t, "ivy", "s1", 3600)
    for transport in ("udp", "tcp"):
        expect_ok(turn_client(t, transport, user=s["username"],
                              password=s["credential"]).allocate())
    out = ok(ctl(t, "--json", "ice", "--user", "ivy", "--ttl", "30m"))
    assert out.count("\n") == 1
    check_ice(out, t, "ivy", "s1", 1800)
    check_ice(ok(ctl(t, "ice", "--ttl", "1d", "--user", "ivy")), t, "ivy",
              "s1", 86400)
    check_ice(ok(ctl(t, "i", "--user", "ivy", "--ttl", "90")), t, "ivy",
              "s1", 90)

    fails(ctl(t, "ice", "--user", "ivy", "--secret-from-store"), 1,
          "no REST secret", realm_key("secret"))
    ok(ctl(t, "secret", "add", "zeta"))
    ok(ctl(t, "secret", "add", "alpha"))
    out = ok(ctl(t, "ice", "--user", "ivy", "--secret-from-store"))
    s = check_ice(out, t, "ivy", "alpha", 3600)
    allocate_until(lambda: turn_client(t, user=s["username"],
                                       password=s["credential"]),
                   is_ok, SECRET_WAIT, "a credential of the store's secret")
    expect_ok(turn_client(t, "tcp", user=s["username"],
                          password=s["credential"]).allocate())

    for bad in ([], ["--user"], ["--user", "ivy", "--ttl", "0"],
                ["--user", "ivy", "--ttl", "5x"], ["--user", "ivy", "x"],
                ["--user", "ivy", "--nope"], ["--user", ""]):
        fails(ctl(t, "ice", *bad), 2)


def test_ice_hosts_and_secrets(turn_factory):
    """Which host the URLs name: relay.external's IPv4 address, else its
    IPv6 one in brackets, else the listener's; a wildcard listener needs
    relay.external; no secret is an error (configurations only: no turnd
    runs)."""
    t = turn_factory({"relay": {"external": ["2001:db8::7", "192.0.2.7"]}},
                     start=False)
    check_ice(ok(ctl(t, "ice", "--user", "u")), t, "u", "s1", 3600,
              host="192.0.2.7")
    t = turn_factory({"relay": {"external": ["2001:db8::7"]}}, start=False)
    check_ice(ok(ctl(t, "ice", "--user", "u")), t, "u", "s1", 3600,
              host="[2001:db8::7]")

    t = turn_factory(start=False)
    p, tp = t.port, t.tls_port
    t6 = turn_factory({"listen": {
        "udp": ["[::1]:%d" % p, "127.0.0.1:%d" % p],
        "tcp": ["[::1]:%d" % p], "tls": ["[::1]:%d" % tp]}}, start=False)
    s = json.loads(ok(ctl(t6, "ice", "--user", "u")))[0]
    assert s["urls"] == ice_urls("[::1]", t)         # its ports

    tw = turn_factory({"listen": {"udp": ["0.0.0.0:%d" % p],
                                  "tcp": ["0.0.0.0:%d" % p]}}, start=False)
    fails(ctl(tw, "ice", "--user", "u"), 1, "relay.external",
          "0.0.0.0:%d" % p, tw.conf_path)
    tw = turn_factory({"listen": {"udp": ["0.0.0.0:%d" % p]},
                       "relay": {"external": ["192.0.2.9"]}}, start=False)
    assert json.loads(ok(ctl(tw, "ice", "--user", "u")))[0]["urls"][0] == \
        "stun:192.0.2.9:%d" % p

    tn = turn_factory({"auth": {"secrets": []}}, start=False)
    fails(ctl(tn, "ice", "--user", "u"), 1, "auth.secrets", tn.conf_path)
    fails(ctl(tn, "ice", "--user", "u", "--secret-from-store"), 1,
          'store.backend is "memory"', "auth.secrets", tn.conf_path)


# ============================================================= errors

STORE_COMMANDS = [
    (["user", "list"], "auth.users"),
    (["user", "add", "x"], "auth.users"),
    (["user", "del", "x"], "auth.users"),
    (["secret", "add", "x"], "auth.secrets"),
    (["secret", "list"], "auth.secrets"),
    (["peer", "allow", "10.0.0.1"], "relay.allow_peers"),
    (["peer", "list"], "relay.deny_peers"),
    (["realm", "get", "user-quota"], "relay.user_quota"),
    (["realm", "set", "max-bps", "1"], "relay.max_bps"),
]


def test_memory_store_says_where_the_data_is(turn_factory):
    """With store.backend "memory" every store command exits 1 saying
    that the data lives in the configuration file, naming its keys and
    path and `turnctl reload`; nothing is read from stdin."""
    t = turn_factory(start=False)
    for args, key in STORE_COMMANDS:
        err = fails(ctl(t, *args, input="pw\n"), 1, key, t.conf_path,
                    "turnctl reload", 'store.backend is "memory"')
        assert "Password" not in err


def test_usage_errors_and_redis_down(redis_factory, redis_turn):
    """Exit 2 for bad arguments (checked before Redis is asked), 1 when
    Redis cannot be reached, with its address and the reason."""
    srv = redis_factory()
    t = redis_turn(srv, start=False)
    srv.stop()
    for args, _ in STORE_COMMANDS:
        fails(ctl(t, *args, input="pw\n"), 1,
              "turnctl: cannot reach Redis at 127.0.0.1:%d: "
              "Connection refused" % srv.port)
    for args in (["user"], ["user", "frob"], ["user", "add"],
                 ["user", "add", "a", "b"], ["user", "del"],
                 ["user", "passwd"], ["user", "list", "x"],
                 ["user", "add", "x", "--bogus"], ["user", "add", "x",
                                                   "--realm"],
                 ["secret"], ["secret", "list", "x"],
                 ["secret", "add", "x", "y"], ["secret", "add", "--sha256"],
                 ["peer"], ["peer", "allow"], ["peer", "deny", "a", "b"],
                 ["peer", "del"], ["peer", "frob"],
                 ["realm"], ["realm", "set", "user-quota"],
                 ["realm", "set", "nosuch", "1"], ["realm", "frob"]):
        err = fails(ctl(t, *args, input="pw\n"), 2)
        assert "usage:" in err or "unknown" in err, (args, err)
    err = fails(ctl(t, "user"), 2, "usage: turnctl user add U")
    assert "turnctl user passwd U" in err
    fails(ctl(t, "user", "frob"), 2, 'unknown user command "frob"')
    fails(ctl(t, "se", "list"), 2, "ambiguous")      # secret, session(s)


def test_redis_password_db_and_socket(redis_factory, redis_turn):
    """turnctl connects as turnd does: over store.redis.socket, with AUTH
    store.redis.password, to database store.redis.db; a wrong password is
    an error naming AUTH."""
    srv = redis_factory(password="rpw", unixsocket=True, tcp=False)
    t = redis_turn(srv, start=False,
                   redis={"password": "rpw", "db": 3})
    ok(ctl(t, "user", "add", "dora", input="pw\n"))
    db3 = srv.client(db=3)
    assert db3.get(user_key("dora")) == md5_key("dora", "pw")
    assert srv.client().scan("*") == []               # not in db 0
    assert ok(ctl(t, "user", "list")) == "dora\n"
    bad = redis_turn(srv, start=False, redis={"password": "wrong"})
    fails(ctl(bad, "user", "list"), 1, "AUTH")
