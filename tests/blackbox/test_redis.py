"""The Redis store (store.backend = "redis"; the layout and behaviour of
turnd-redis(7)) against a real redis-server on loopback.

Each test gets its own redis-server (redisd.RedisServer: no persistence,
keyspace notifications "Kgs$") and its own turnd(s) pointed at it with
short timers: store.cache_ttl = 1, negative_ttl = 1, traffic_interval = 1,
heartbeat = 1, store.redis.command_timeout = 1.  What turnd writes is read
back with the suite's own RESP client; what it publishes with a
PSUBSCRIBE.  coturn's turnadmin writes users and secrets where it is
installed, so the key layout is checked against the real tool.

Readiness is the log line "store: redis ready" or a polled Redis key;
every wait is bounded.  Tests of the helper itself (redisd.py) and of
turnadmin's key format need no turnd and run without TURND.

Run: TURND=/path/to/turnd /usr/bin/python3 -m pytest -q tests/blackbox/test_redis.py
"""

import hashlib
import os
import re
import signal
import socket
import time

import pytest

import harness
import redisd
import stun
from conftest import expect_error, expect_ok

REALM = "test.realm"            # harness.Turnd's default realm

CACHE_TTL = 1
NEGATIVE_TTL = 1
COMMAND_TIMEOUT = 1
HEARTBEAT = 1
TRAFFIC_INTERVAL = 1
SLACK = 3.0                     # seconds allowed on top of a timer

STORE_READY_TIMEOUT = 20.0      # reconnect backoff tops out at 5 s
POLL_TIMEOUT = 10.0
# The spec's lines are "store: redis ready" and "store: redis lost
# (<reason>), retrying"; a "<thread>: " between "store: " and "redis" is
# accepted (one line per connection: "store: worker 0: redis lost ...").
READY_RE = r"store: (?:[\w -]+: )?redis ready"
LOST_RE = r"store: (?:[\w -]+: )?redis lost"

UNAVAILABLE = "Credential store unavailable"
CH = 0x4000

ALLOC_RE = re.compile(r"^turnd/alloc/(\d{20})$")
IID_RE = re.compile(r"^[0-9a-f]{16}$")
STATUS_RE = re.compile(r"^turn/realm/(?P<realm>[^/]+)/user/(?P<user>.+)"
                       r"/allocation/(?P<id>\d{20})/status$")

have_redis = redisd.redis_server_path() is not None
have_turnadmin = redisd.turnadmin_path() is not None
needs_turnadmin = pytest.mark.skipif(not have_turnadmin,
                                     reason="coturn's turnadmin missing")


# ------------------------------------------------------------- fixtures

@pytest.fixture
def redis_factory(session_dir, request):
    """redis_factory(start=True, **RedisServer kwargs) -> RedisServer;
    stopped (by PID) at teardown."""
    if not have_redis:
        pytest.skip("redis-server not installed")
    made = []

    def make(start=True, **kw):
        d = os.path.join(session_dir, "redis-%s-%d" % (
            re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:32],
            len(made)))
        r = redisd.RedisServer(d, **kw)
        made.append(r)
        if start:
            r.start()
        return r
    yield make
    for r in made:
        r.finish()


@pytest.fixture
def redis_srv(redis_factory):
    return redis_factory()


@pytest.fixture
def rcli(redis_srv):
    """An admin connection to redis_srv (reconnects across restarts)."""
    return redis_srv.client()


def store_config(srv, redis=None, store=None):
    """The store section pointing at srv, with the short test timers."""
    r = {"host": "127.0.0.1", "db": 0, "connect_timeout": 1,
         "command_timeout": COMMAND_TIMEOUT}
    if srv.tcp:
        r["port"] = srv.port
    else:
        # No TCP listener at all: a port nothing listens on, so that only
        # the socket can work.
        r["port"] = harness.free_port(hosts=("127.0.0.1",), kinds=("tcp",))
        r["socket"] = srv.socket_path
    r.update(redis or {})
    s = {"backend": "redis", "redis": r, "cache_ttl": CACHE_TTL,
         "negative_ttl": NEGATIVE_TTL, "traffic_interval": TRAFFIC_INTERVAL,
         "heartbeat": HEARTBEAT}
    s.update(store or {})
    return {"store": s}


@pytest.fixture
def redis_turn(turn_factory):
    """redis_turn(srv, over=None, redis=None, store=None, wait_store=True,
    start=True): a TURN test server (conftest.TURN_CONFIG) using srv."""
    def make(srv, over=None, redis=None, store=None, wait_store=True,
             start=True):
        o = harness.merge(store_config(srv, redis, store), over)
        t = turn_factory(o, start=start)
        if start and wait_store:
            t.wait_log(READY_RE, timeout=STORE_READY_TIMEOUT)
        return t
    return make


# ------------------------------------------------------------- helpers

def poll(fn, timeout=POLL_TIMEOUT, what="a condition", max_delay=0.1):
    """fn() until it returns something true (returned), under a deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    last = None
    for _ in range(100000):
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("%.1f s waiting for %s; last: %r"
                                 % (timeout, what, last))
        time.sleep(delay)                  # polling interval, not a sync
        delay = min(delay * 2, max_delay)
    raise AssertionError("poll loop bound hit waiting for %s" % what)


def md5_key(user, password, realm=REALM):
    return hashlib.md5(("%s:%s:%s" % (user, realm, password))
                       .encode("utf-8")).hexdigest()


def sha256_key(user, password, realm=REALM):
    return hashlib.sha256(("%s:%s:%s" % (user, realm, password))
                          .encode("utf-8")).hexdigest()


def user_key(user, realm=REALM):
    return "turn/realm/%s/user/%s/key" % (realm, user)


def add_user(rcli, user, password, realm=REALM, alg="md5", prefix=""):
    """What `redis-cli SET turn/realm/R/user/U/key <hex>` does."""
    k = md5_key(user, password, realm) if alg == "md5" else \
        sha256_key(user, password, realm)
    rcli.set(user_key(user, realm), prefix + k)


def realm_key(name, realm=REALM):
    return "turn/realm/%s/%s" % (realm, name)


def hostport(addr):
    return harness.fmt_hostport(addr[0], addr[1])


def alloc_ids(rcli):
    return [ALLOC_RE.match(k).group(1) for k in rcli.scan("turnd/alloc/*")
            if ALLOC_RE.match(k)]


def find_alloc(rcli, **want):
    """The turnd/alloc/<id> hash whose fields include want, or None."""
    for aid in alloc_ids(rcli):
        h = rcli.hgetall("turnd/alloc/" + aid)
        if h and all(h.get(k) == v for k, v in want.items()):
            return h
    return None


def wait_alloc(rcli, timeout=POLL_TIMEOUT, **want):
    return poll(lambda: find_alloc(rcli, **want), timeout,
                "turnd/alloc/* with %r" % (want,))


def alloc_of(rcli, c, timeout=POLL_TIMEOUT):
    """The allocation hash of TurnClient c (matched on its address)."""
    return wait_alloc(rcli, timeout, client=hostport(c.local))


def status_key(user, aid, realm=REALM):
    return "turn/realm/%s/user/%s/allocation/%s/status" % (realm, user, aid)


def keys_of(aid, user, realm=REALM):
    b = "turnd/alloc/" + aid
    return [b, b + "/perms", b + "/chans", status_key(user, aid, realm)]


def wait_gone(rcli, keys, timeout=POLL_TIMEOUT):
    left = list(keys)

    def gone():
        left[:] = [k for k in keys if rcli.exists(k)]
        return not left
    try:
        poll(gone, timeout, "%s to be deleted" % (keys,))
    except AssertionError:
        raise AssertionError("still there after %.1f s: %s" % (timeout, left))


def instances(rcli):
    """{iid: hash} of every turnd/instance/<iid> key."""
    out = {}
    for k in rcli.scan("turnd/instance/*"):
        iid = k.rsplit("/", 1)[1]
        out[iid] = rcli.hgetall(k)
    return out


def instance_of(rcli, t, timeout=POLL_TIMEOUT):
    """(iid, hash) of the instance whose pid is turnd t's."""
    def find():
        for iid, h in instances(rcli).items():
            if h.get("pid") == str(t.pid):
                return iid, h
        return None
    return poll(find, timeout, "turnd/instance/* of pid %d" % t.pid)


def roundtrip(c, peer, payload, timeout=2.0):
    """Client -> relay -> peer (echo) -> relay -> client over channel CH;
    asserts both legs within timeout."""
    c.send_channel(CH, payload)
    got = peer.recv(timeout)
    assert got is not None, "%r never reached the peer" % payload[:20]
    assert got[0] == payload
    peer.send(payload, got[1])
    d = c.recv_data(timeout)
    assert d == ("chan", CH, payload), "echo of %r: got %r" % (payload[:20], d)


def allocate_until(make_client, pred, timeout=POLL_TIMEOUT, what="",
                   **kw):
    """Allocate on fresh clients until pred(response); the (client,
    response) that satisfied it.  Clients that did not are kept open by
    the turn_client fixture and closed at teardown."""
    last = []

    def attempt():
        c = make_client()
        r = c.allocate(**kw)
        last[:] = [r]
        return (c, r) if pred(r) else None
    return poll(attempt, timeout, what or "an Allocate answer", 0.25)


def settled(t0, ttl):
    """Wait (polling the clock, bounded) until ttl + 0.5 s after t0: every
    per-worker cache entry made before t0 has expired."""
    poll(lambda: time.monotonic() - t0 > ttl + 0.5, ttl + 2,
         "the cache TTL to pass")


def is_ok(r):
    return r.cls == stun.SUCCESS


def is_err(code):
    return lambda r: r.cls == stun.ERROR and r.error_code() == code


def parse_counts(text):
    """"rcvp=1, rcvb=2, sentp=3, sentb=4" -> dict (strictly that form)."""
    m = re.match(r"^rcvp=(\d+), rcvb=(\d+), sentp=(\d+), sentb=(\d+)$", text)
    assert m, "traffic event %r" % text
    return dict(zip(("rcvp", "rcvb", "sentp", "sentb"),
                    (int(x) for x in m.groups())))


def ttl_near(rcli, key, want, slack=SLACK):
    t = rcli.ttl(key)
    assert want - slack <= t <= want, "TTL of %s is %d, want about %d" % (
        key, t, want)
    return t


# ============================================================= the helper

def test_redisd_resp_commands(redis_srv, rcli):
    """The RESP client against the real server: strings, sets, hashes,
    zsets, TTLs, SCAN, errors, and the keyspace notifications turnd
    relies on."""
    sub = redis_srv.subscriber("__keyspace@0__:t/*", "chan/*")
    assert rcli.ping() == "PONG"
    assert rcli.set("t/s", "v", "EX", 100) == "OK"
    assert rcli.get("t/s") == "v" and rcli.get("t/none") is None
    assert 95 <= rcli.ttl("t/s") <= 100 and 95000 <= rcli.pttl("t/s") <= 100000
    assert rcli.sadd("t/set", "a", "b") == 2 and rcli.srem("t/set", "a") == 1
    assert rcli.smembers("t/set") == {"b"}
    assert rcli.call("HSET", "t/h", "f", "1", "g", "") == 2
    assert rcli.hgetall("t/h") == {"f": "1", "g": ""}
    assert rcli.call("ZADD", "t/z", 5, "m1", 7, "m2") == 2
    assert rcli.zrange_withscores("t/z") == [("m1", 5.0), ("m2", 7.0)]
    assert rcli.scan("t/*") == ["t/h", "t/s", "t/set", "t/z"]
    assert rcli.delete("t/h", "t/none") == 1
    assert rcli.type("t/set") == "set"
    e = rcli.call_noraise("INCR", "t/set")
    assert isinstance(e, redisd.RespError) and e.kind == "WRONGTYPE"
    with pytest.raises(redisd.RespError):
        rcli.call("NOSUCHCOMMAND")
    assert rcli.publish("chan/x", "hello") == 1
    # "Kgs$": strings, sets and generic commands notify; hashes and
    # zsets do not.
    got = [(m.channel, m.data) for m in sub.drain(0.3)]
    assert got == [("__keyspace@0__:t/s", "set"),
                   ("__keyspace@0__:t/s", "expire"),
                   ("__keyspace@0__:t/set", "sadd"),
                   ("__keyspace@0__:t/set", "srem"),
                   ("__keyspace@0__:t/h", "del"),
                   ("chan/x", "hello")], got
    # Binary-safe arguments, empty strings.
    assert rcli.set("t/b", b"\x00\xff\r\n") == "OK"
    assert rcli.call("STRLEN", "t/b") == 4
    assert rcli.set("t/e", "") == "OK" and rcli.get("t/e") == ""


def test_redisd_client_pause(redis_srv, rcli):
    """CLIENT PAUSE <ms> ALL (Redis 7.0 syntax) holds every command,
    new connections' too, for about that long."""
    other = redis_srv.client()
    assert other.ping() == "PONG"
    t0 = time.monotonic()
    assert rcli.client_pause(700, "ALL") == "OK"
    assert other.get("x") is None
    assert time.monotonic() - t0 >= 0.5
    late = redis_srv.client()
    assert late.ping() == "PONG"


def test_redisd_stop_restart_same_port(redis_factory):
    """stop() by PID frees the port; restart() answers on the same one; a
    SAVE before the stop survives it, nothing else does."""
    r = redis_factory(unixsocket=True)
    c = r.client()
    port, pid = r.port, r.pid
    c.set("kept", "1")
    c.call("SAVE")
    c.set("lost", "1")
    assert r.stop() == 0
    assert not r.alive()
    assert harness.port_is_free("127.0.0.1", port, kinds=("tcp",))
    with pytest.raises(OSError):
        redisd.Resp(("127.0.0.1", port), timeout=1.0, reconnect=False)
    r.start()
    assert r.port == port and r.pid != pid
    assert c.get("kept") == "1"           # reconnected transparently
    assert c.get("lost") is None
    u = r.client(prefer_unix=True)
    assert u.get("kept") == "1"
    r.kill()
    assert not r.alive()
    r.restart()
    assert c.ping() == "PONG"


def test_redisd_acl_and_password(redis_factory):
    r = redis_factory(users=["turnd on >tpw ~* &* +@all", "default off"],
                      admin=("turnd", "tpw"))
    assert r.client().call("ACL", "WHOAMI") == "turnd"
    e = redisd.Resp(("127.0.0.1", r.port)).call_noraise("GET", "x")
    assert isinstance(e, redisd.RespError) and e.kind == "NOAUTH"
    with pytest.raises(redisd.RespError, match="WRONGPASS"):
        redisd.Resp(("127.0.0.1", r.port), auth=("turnd", "bad"))
    r2 = redis_factory(password="rpw")
    assert r2.client().ping() == "PONG"
    with pytest.raises(redisd.RespError, match="WRONGPASS"):
        redisd.Resp(("127.0.0.1", r2.port), auth="bad")


def test_redisd_subscriber_timeout(redis_srv, rcli):
    sub = redis_srv.subscriber("turn/realm/*/user/*/allocation/*")
    t0 = time.monotonic()
    assert sub.get(0.3) is None
    assert 0.25 <= time.monotonic() - t0 < 2.0
    ch = "turn/realm/r/user/u/allocation/00000000000000000001/status"
    rcli.publish("unrelated", "x")
    rcli.publish(ch, "new lifetime=600")
    m, before = sub.wait_for(lambda m: m.data.startswith("new"), 2.0)
    assert (m.kind, m.pattern, m.channel) == (
        "pmessage", "turn/realm/*/user/*/allocation/*", ch)
    assert before == []


# ============================================================= turnadmin

@needs_turnadmin
def test_turnadmin_key_format(redis_factory):
    """What coturn's turnadmin writes: the user key is the bare lower-case
    hex MD5 of user:realm:password (no 0x, unlike `turnadmin -k`), the
    REST secrets a SET, realm options strings (0 deletes); it works with a
    password in the connection string and SAVEs after each change."""
    r = redis_factory(password="rpw")
    c = r.client()
    p = redisd.turnadmin(r, "-a", "-u", "rita", "-r", REALM, "-p", "pw")
    assert p.returncode == 0, p.stdout + p.stderr
    assert c.scan("*") == [user_key("rita")]
    assert c.type(user_key("rita")) == "string"
    assert c.get(user_key("rita")) == md5_key("rita", "pw")
    assert c.ttl(user_key("rita")) == -1
    assert os.path.exists(os.path.join(r.dir, "dump.rdb")), "no SAVE"
    p = redisd.turnadmin(r, "-s", "rsecret", "-r", REALM)
    assert p.returncode == 0
    assert c.type(realm_key("secret")) == "set"
    assert c.smembers(realm_key("secret")) == {"rsecret"}
    p = redisd.turnadmin(r, "-g", "--user-quota", "3", "-r", REALM)
    assert c.get(realm_key("user-quota")) == "3"
    redisd.turnadmin(r, "-g", "--user-quota", "0", "-r", REALM)
    assert not c.exists(realm_key("user-quota"))
    redisd.turnadmin(r, "-X", "rsecret", "-r", REALM)
    assert not c.exists(realm_key("secret"))
    redisd.turnadmin(r, "-d", "-u", "rita", "-r", REALM)
    assert c.scan("*") == []


# ============================================================= credentials

@pytest.mark.parametrize("alg,prefix", [("md5", ""), ("md5", "0x"),
                                        ("sha256", ""), ("sha256", "0x")])
def test_user_from_redis_set(redis_srv, rcli, redis_turn, turn_client, alg,
                             prefix):
    """A user SET in Redis (32 hex: MD5, 64 hex: SHA-256, optional 0x)
    allocates; a wrong password, or the other algorithm, gets 401."""
    add_user(rcli, "rita", "pw", alg=alg, prefix=prefix)
    t = redis_turn(redis_srv)
    good = stun.PWALG_MD5 if alg == "md5" else stun.PWALG_SHA256
    other = stun.PWALG_SHA256 if alg == "md5" else stun.PWALG_MD5
    c = turn_client(t, user="rita", password="pw", alg=good)
    expect_ok(c.allocate(), stun.ALLOCATE)
    expect_ok(c.refresh())
    expect_error(turn_client(t, user="rita", password="wrong", alg=good)
                 .allocate(), 401)
    expect_error(turn_client(t, user="rita", password="pw", alg=other)
                 .allocate(), 401)
    # Unknown in Redis and in the config: 401, not 500 (Redis is up).
    expect_error(turn_client(t, user="nobody", password="pw").allocate(), 401)
    # Config users still work next to Redis ones.
    expect_ok(turn_client(t).allocate())


@needs_turnadmin
def test_user_from_turnadmin(redis_srv, rcli, redis_turn, turn_client):
    """A user written by coturn's turnadmin -a works; -d removes it (after
    the cache TTL)."""
    p = redisd.turnadmin(redis_srv, "-a", "-u", "tina", "-r", REALM,
                         "-p", "tpass")
    assert p.returncode == 0, p.stdout + p.stderr
    t = redis_turn(redis_srv)
    expect_ok(turn_client(t, user="tina", password="tpass").allocate())
    expect_error(turn_client(t, user="tina", password="tpas").allocate(), 401)
    redisd.turnadmin(redis_srv, "-d", "-u", "tina", "-r", REALM)
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="tina", password="tpass"),
                   is_err(401), CACHE_TTL + SLACK + 2, "401 after turnadmin -d")
    assert time.monotonic() - t0 <= CACHE_TTL + SLACK + 2
    settled(t0, CACHE_TTL)
    for _ in range(4):
        expect_error(turn_client(t, user="tina", password="tpass").allocate(),
                     401)


def test_deleted_user_stops_after_cache_ttl(redis_srv, rcli, redis_turn,
                                            turn_client):
    add_user(rcli, "rita", "pw")
    t = redis_turn(redis_srv)
    expect_ok(turn_client(t, user="rita", password="pw").allocate())
    rcli.delete(user_key("rita"))
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="rita", password="pw"),
                   is_err(401), CACHE_TTL + SLACK + 2, "401 for a deleted user")
    assert time.monotonic() - t0 <= CACHE_TTL + SLACK, \
        "cached %.1f s with store.cache_ttl = %d" % (
            time.monotonic() - t0, CACHE_TTL)
    settled(t0, CACHE_TTL)
    # Every worker's cache has expired by now: fresh flows (spread over
    # the workers by their source ports) all get 401.
    for _ in range(6):
        expect_error(turn_client(t, user="rita", password="pw").allocate(),
                     401)


def test_changed_password_after_cache_ttl(redis_srv, rcli, redis_turn,
                                          turn_client):
    add_user(rcli, "rita", "old")
    t = redis_turn(redis_srv)
    expect_ok(turn_client(t, user="rita", password="old").allocate())
    add_user(rcli, "rita", "new")
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="rita", password="new"),
                   is_ok, CACHE_TTL + SLACK + 2, "the new password")
    settled(t0, CACHE_TTL)
    for _ in range(6):
        expect_error(turn_client(t, user="rita", password="old").allocate(),
                     401)
        expect_ok(turn_client(t, user="rita", password="new").allocate())


def test_added_user_after_negative_ttl(redis_srv, rcli, redis_turn,
                                       turn_client):
    """A user unknown when asked for ("no such user" cached
    store.negative_ttl) works once added, within that TTL + slack."""
    t = redis_turn(redis_srv)
    expect_error(turn_client(t, user="late", password="pw").allocate(), 401)
    add_user(rcli, "late", "pw")
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t, user="late", password="pw"),
                   is_ok, NEGATIVE_TTL + SLACK + 2, "the added user")
    assert time.monotonic() - t0 <= NEGATIVE_TTL + SLACK
    settled(t0, NEGATIVE_TTL)
    for _ in range(6):
        expect_ok(turn_client(t, user="late", password="pw").allocate())


def test_userhash_only_config_users(redis_srv, rcli, redis_turn,
                                    turn_client):
    add_user(rcli, "rita", "pw", alg="sha256")
    t = redis_turn(redis_srv)
    expect_ok(turn_client(t, alg=stun.PWALG_SHA256, use_userhash=True)
              .allocate())
    expect_error(turn_client(t, user="rita", password="pw",
                             alg=stun.PWALG_SHA256, use_userhash=True)
                 .allocate(), 401)


@pytest.mark.parametrize("how", ["sadd", "turnadmin"])
def test_rest_secret_from_redis(redis_srv, rcli, redis_turn, turn_client,
                                how):
    """TURN REST credentials made with a secret of
    turn/realm/<realm>/secret work; config secrets too; a secret removed
    from Redis stops working after the cache TTL."""
    if how == "turnadmin" and not have_turnadmin:
        pytest.skip("coturn's turnadmin missing")

    def add(s):
        if how == "sadd":
            rcli.sadd(realm_key("secret"), s)
        else:
            assert redisd.turnadmin(redis_srv, "-s", s, "-r", REALM) \
                .returncode == 0

    def remove(s):
        if how == "sadd":
            rcli.srem(realm_key("secret"), s)
        else:
            redisd.turnadmin(redis_srv, "-X", s, "-r", REALM)

    add("rsecret1")
    add("rsecret2")
    t = redis_turn(redis_srv)
    now = int(time.time())
    for s in ("rsecret1", "rsecret2", "s1"):
        u, p = stun.rest_credentials(s, "carol", now + 600)
        expect_ok(turn_client(t, user=u, password=p).allocate())
    u, p = stun.rest_credentials("nosuch", "carol", now + 600)
    expect_error(turn_client(t, user=u, password=p).allocate(), 401)
    # Expired REST user names are refused whatever the secret.
    u, p = stun.rest_credentials("rsecret1", "carol", now - 10)
    expect_error(turn_client(t, user=u, password=p).allocate(), 401)
    remove("rsecret1")
    t0 = time.monotonic()
    u, p = stun.rest_credentials("rsecret1", "carol", now + 700)
    allocate_until(lambda: turn_client(t, user=u, password=p), is_err(401),
                   CACHE_TTL + SLACK + 2, "401 for a removed secret")
    settled(t0, CACHE_TTL)
    for _ in range(6):
        expect_error(turn_client(t, user=u, password=p).allocate(), 401)
    u, p = stun.rest_credentials("rsecret2", "carol", now + 700)
    expect_ok(turn_client(t, user=u, password=p).allocate())


def test_config_users_first(redis_srv, rcli, redis_turn, turn_client):
    """A config user shadowed by a Redis key with another password keeps
    its config password."""
    add_user(rcli, "alice", "from-redis")
    t = redis_turn(redis_srv)
    expect_ok(turn_client(t, user="alice", password="secret").allocate())


# ============================================================= state

@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_allocation_keys(redis_srv, rcli, redis_turn, turn_client, peer,
                         transport):
    """turnd/alloc/<id>, /perms, /chans: fields and TTLs (allocation about
    its lifetime, permission 300 s, channel 600 s); all gone after
    Refresh 0, with the coturn status key."""
    add_user(rcli, "rita", "pw")
    t = redis_turn(redis_srv)
    c = turn_client(t, transport, user="rita", password="pw")
    r = expect_ok(c.allocate(lifetime=900))
    assert r.lifetime() == 900
    h = alloc_of(rcli, c)
    aid = h["id"]
    assert re.match(r"^\d{20}$", aid)
    iid, _ = instance_of(rcli, t)
    now = int(time.time())
    srv_port = t.tls_port if transport == "tls" else t.port
    assert h["instance"] == iid
    assert h["realm"] == REALM and h["user"] == "rita"
    assert h["transport"] == transport
    assert h["client"] == hostport(c.local)
    assert h["server"] == "127.0.0.1:%d" % srv_port
    assert h["relay"] == hostport(c.relayed[0])
    assert "relay6" not in h
    assert now - 5 <= int(h["created"]) <= now + 1
    assert int(h["expires"]) - int(h["created"]) in (899, 900, 901)
    assert h["lifetime"] == "900"
    ttl_near(rcli, "turnd/alloc/" + aid, 900)

    expect_ok(c.create_permission(peer.addr))
    perms = "turnd/alloc/%s/perms" % aid
    p = poll(lambda: rcli.hgetall(perms), what=perms)
    assert list(p) == ["127.0.0.1"]
    assert abs(int(p["127.0.0.1"]) - (int(time.time()) + 300)) <= SLACK
    ttl_near(rcli, perms, 300)

    other = stun.Peer("127.0.0.2")
    try:
        expect_ok(c.channel_bind(CH, other.addr))
        chans = "turnd/alloc/%s/chans" % aid
        ch = poll(lambda: rcli.hgetall(chans), what=chans)
        assert list(ch) == [str(CH)]
        paddr, exp = ch[str(CH)].split(" ")
        assert paddr == hostport(other.addr)
        assert abs(int(exp) - (int(time.time()) + 600)) <= SLACK
        ttl_near(rcli, chans, 600)
        # ChannelBind installs a permission too, for the permission
        # lifetime (RFC 8656 11.2: 300 s, not the channel's 600 s).
        p = poll(lambda: (lambda d: d if "127.0.0.2" in d else None)(
            rcli.hgetall(perms)), what="127.0.0.2 in " + perms)
        assert set(p) == {"127.0.0.1", "127.0.0.2"}
        assert abs(int(p["127.0.0.2"]) - (int(time.time()) + 300)) <= SLACK
        ttl_near(rcli, perms, 300)
    finally:
        other.close()
    assert rcli.exists(status_key("rita", aid))

    # Refresh rewrites the hash and its TTL.
    expect_ok(c.refresh(1200))
    poll(lambda: rcli.hgetall("turnd/alloc/" + aid).get("lifetime") == "1200",
         what="lifetime 1200 after Refresh")
    ttl_near(rcli, "turnd/alloc/" + aid, 1200)

    expect_ok(c.refresh(0))
    wait_gone(rcli, keys_of(aid, "rita"))
    assert alloc_ids(rcli) == []


def test_dual_allocation_relay6(redis_srv, rcli, redis_turn, turn_client):
    t = redis_turn(redis_srv)
    c = turn_client(t)
    expect_ok(c.allocate([stun.family_attr(stun.ADDITIONAL_ADDRESS_FAMILY,
                                           stun.FAMILY_V6)]))
    assert len(c.relayed) == 2
    h = alloc_of(rcli, c)
    assert h["relay"] == hostport(c.relayed[0])
    assert h["relay6"] == hostport(c.relayed[1])


@pytest.mark.parametrize("how", ["expiry", "tcp-close"])
def test_allocation_keys_gone_at_end(redis_srv, rcli, redis_turn,
                                     turn_client, peer, how):
    """An allocation that expires, or whose TCP connection closes, leaves
    no key behind, and its status channel says "deleted"."""
    over = {"relay": {"default_lifetime": 2, "max_lifetime": 2}} \
        if how == "expiry" else None
    t = redis_turn(redis_srv, over)
    sub = redis_srv.subscriber("turn/realm/*/user/*/allocation/*")
    c = turn_client(t, "udp" if how == "expiry" else "tcp")
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(CH, peer.addr))
    h = alloc_of(rcli, c)
    aid = h["id"]
    poll(lambda: rcli.exists("turnd/alloc/%s/chans" % aid), what="chans")
    if how == "tcp-close":
        c.close()
    wait_gone(rcli, keys_of(aid, "alice"), timeout=2 + SLACK + 5)
    m, _ = sub.wait_for(lambda m: m.channel == status_key("alice", aid)
                        and m.data == "deleted", 5.0)
    assert alloc_ids(rcli) == []


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_status_key_and_events(redis_srv, rcli, redis_turn, turn_client,
                               transport):
    """coturn's turn/realm/<realm>/user/<user>/allocation/<id>/status:
    SET and PUBLISHed "new ...", "refreshed ...", then DEL + "deleted",
    with total_traffic and total_traffic/peer published before it."""
    add_user(rcli, "rita", "pw")
    t = redis_turn(redis_srv)
    sub = redis_srv.subscriber("turn/realm/*/user/*/allocation/*")
    c = turn_client(t, transport, user="rita", password="pw")
    expect_ok(c.allocate(lifetime=900))
    m, before = sub.wait_for(lambda m: m.channel.endswith("/status"), 5.0)
    assert before == []
    sm = STATUS_RE.match(m.channel)
    assert sm, m.channel
    assert sm.group("realm") == REALM and sm.group("user") == "rita"
    aid = sm.group("id")
    assert find_alloc(rcli, id=aid) or wait_alloc(rcli, id=aid)
    srv_port = t.tls_port if transport == "tls" else t.port
    tail = r", type=%s, local=127\.0\.0\.1:%d, remote=%s, %s$" % (
        transport.upper(), srv_port, re.escape(hostport(c.local)),
        r"ssl=NONE, cipher=NONE" if transport != "tls"
        else r"ssl=TLSv1\.[23], cipher=(?!NONE)[A-Za-z0-9_-]+")
    assert re.match(r"^new lifetime=900" + tail, m.data), m.data
    assert rcli.get(m.channel) == m.data
    ttl_near(rcli, m.channel, 900)

    expect_ok(c.refresh(1200))
    m2, _ = sub.wait_for(lambda x: x.channel == m.channel, 5.0)
    assert re.match(r"^refreshed lifetime=1200" + tail, m2.data), m2.data
    poll(lambda: rcli.get(m.channel) == m2.data, what="refreshed status")
    ttl_near(rcli, m.channel, 1200)

    expect_ok(c.refresh(0))
    m3, before = sub.wait_for(lambda x: x.channel == m.channel, 5.0)
    assert m3.data == "deleted"
    prefix = m.channel[:-len("/status")]
    chans = [x.channel for x in before]
    assert prefix + "/total_traffic" in chans, chans
    assert prefix + "/total_traffic/peer" in chans, chans
    for x in before:
        if "total_traffic" in x.channel:
            parse_counts(x.data)
    poll(lambda: not rcli.exists(m.channel), what="status key deleted")


def test_traffic_events(redis_srv, rcli, redis_turn, turn_client, peer):
    """With store.traffic_interval = 1: <prefix>/traffic (client side:
    rcv = from the client) and <prefix>/traffic/peer (rcv = from peers)
    carry deltas, nothing is published for an idle allocation, and the
    totals come at deletion."""
    t = redis_turn(redis_srv)
    sub = redis_srv.subscriber("turn/realm/*/user/*/allocation/*")
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(CH, peer.addr))
    st, _ = sub.wait_for(lambda m: m.channel.endswith("/status"), 5.0)
    prefix = st.channel[:-len("/status")]
    # Control messages may or may not count as client traffic: let their
    # report (if any) go by before the data.
    sub.drain(quiet=TRAFFIC_INTERVAL * 2 + 0.5, timeout=15.0)

    for i in range(3):
        c.send_channel(CH, b"%c" % (65 + i) * 100)
        assert peer.recv(2.0) is not None
    for i in range(2):
        peer.send(b"%c" % (97 + i) * 50, c.relayed[0])
        assert c.recv_data(2.0) is not None

    sums = {"": dict.fromkeys(("rcvp", "rcvb", "sentp", "sentb"), 0),
            "/peer": dict.fromkeys(("rcvp", "rcvb", "sentp", "sentb"), 0)}

    def done():
        return sums["/peer"] == {"rcvp": 2, "rcvb": 100, "sentp": 3,
                                 "sentb": 300} and \
            sums[""]["rcvp"] >= 3 and sums[""]["sentp"] >= 2
    deadline = time.monotonic() + TRAFFIC_INTERVAL * 2 + SLACK + 2
    for _ in range(1000):
        if done() or time.monotonic() > deadline:
            break
        m = sub.get(max(deadline - time.monotonic(), 0.01))
        if m is None:
            break
        for side in ("", "/peer"):
            if m.channel == prefix + "/traffic" + side:
                for k, v in parse_counts(m.data).items():
                    sums[side][k] += v
    assert done(), sums
    assert sums[""]["rcvp"] == 3 and sums[""]["sentp"] == 2, sums
    assert 300 <= sums[""]["rcvb"] <= 300 + 3 * 40, sums
    assert 100 <= sums[""]["sentb"] <= 100 + 2 * 40, sums
    # Idle: no more traffic events.
    idle = sub.drain(quiet=TRAFFIC_INTERVAL * 2 + 0.5, timeout=10.0)
    assert [m for m in idle if "/traffic" in m.channel] == [], idle

    expect_ok(c.refresh(0))
    m, before = sub.wait_for(lambda m: m.channel == st.channel
                             and m.data == "deleted", 5.0)
    tot = {x.channel[len(prefix):]: parse_counts(x.data) for x in before
           if x.channel.startswith(prefix + "/total_traffic")}
    assert tot.get("/total_traffic/peer") == {
        "rcvp": 2, "rcvb": 100, "sentp": 3, "sentb": 300}, tot
    assert tot["/total_traffic"]["rcvp"] >= 3, tot
    assert tot["/total_traffic"]["sentp"] >= 2, tot


def test_quota_zset(redis_srv, rcli, redis_turn, turn_client):
    """turnd/quota/<realm>/<quota-id>: member <iid>/<allocid>, score = the
    allocation's expiry; REST users count by user id."""
    t = redis_turn(redis_srv)
    iid, _ = instance_of(rcli, t)
    c = turn_client(t)
    expect_ok(c.allocate())
    h = alloc_of(rcli, c)
    q = "turnd/quota/%s/alice" % REALM
    z = poll(lambda: rcli.zrange_withscores(q), what=q)
    assert z == [("%s/%s" % (iid, h["id"]), float(h["expires"]))]
    expect_ok(c.refresh(1500))
    poll(lambda: rcli.zrange_withscores(q)[0][1] >= time.time() + 1500 - SLACK,
         what="quota score after Refresh")
    u, p = stun.rest_credentials("s1", "carol", int(time.time()) + 600)
    r = turn_client(t, user=u, password=p)
    expect_ok(r.allocate())
    hr = alloc_of(rcli, r)
    assert poll(lambda: rcli.zrange_withscores(
        "turnd/quota/%s/carol" % REALM), what="carol's quota zset")[0][0] \
        == "%s/%s" % (iid, hr["id"])
    expect_ok(c.refresh(0))
    poll(lambda: rcli.zrange_withscores(q) == [], what="ZREM at deletion")


def test_instance_registry(redis_srv, rcli, redis_turn, turn_client):
    t = redis_turn(redis_srv)
    iid, h = instance_of(rcli, t)
    assert IID_RE.match(iid), iid
    now = int(time.time())
    assert h["id"] == iid and h["pid"] == str(t.pid)
    assert h["version"] and h["hostname"] == socket.gethostname()
    assert now - 30 <= int(h["started"]) <= now + 1
    assert now - HEARTBEAT - SLACK <= int(h["heartbeat"]) <= now + 1
    listen = h["listen"].split(" ")
    for x in ("udp/127.0.0.1:%d" % t.port, "tcp/127.0.0.1:%d" % t.port,
              "tls/127.0.0.1:%d" % t.tls_port):
        assert x in listen, listen
    assert h["draining"] == "0" and h["allocations"] == "0"
    key = "turnd/instance/" + iid
    assert 0 < rcli.pttl(key) <= 3 * HEARTBEAT * 1000
    z = dict(rcli.zrange_withscores("turnd/instances"))
    assert iid in z and now <= z[iid] <= now + 3 * HEARTBEAT + 1
    # Heartbeats move it on; allocations are counted.
    c = turn_client(t)
    expect_ok(c.allocate())
    first = int(h["heartbeat"])
    poll(lambda: int(rcli.hgetall(key).get("heartbeat", 0)) > first,
         HEARTBEAT * 3 + SLACK, "a later heartbeat")
    poll(lambda: rcli.hgetall(key).get("allocations") == "1",
         HEARTBEAT * 3 + SLACK, "allocations = 1")
    # The key outlives every heartbeat.
    deadline = time.monotonic() + 3 * HEARTBEAT + 1
    for _ in range(1000):
        if time.monotonic() > deadline:
            break
        assert rcli.exists(key)
        time.sleep(0.2)                    # sampling interval, not a sync


# ============================================================= Redis outages

def test_redis_restart_during_relay(redis_srv, rcli, redis_turn, turn_client,
                                    peer):
    """Redis stopped (by PID) and restarted on the same port while a
    client relays through an allocation to a UDP echo peer, in lock-step:
    no packet is lost; requests on the allocation keep working with the
    user not cached; a new Redis user gets 500; after the restart (an
    empty database) the allocation's keys are written again."""
    add_user(rcli, "rita", "pw")
    t = redis_turn(redis_srv)
    c = turn_client(t, user="rita", password="pw")
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(CH, peer.addr))
    aid = alloc_of(rcli, c)["id"]
    keys = keys_of(aid, "rita")
    poll(lambda: all(rcli.exists(k) for k in keys), what="all keys")
    n = 0
    for _ in range(20):
        roundtrip(c, peer, b"before %d" % n)
        n += 1
    off = len(t.log_text())
    assert redis_srv.stop() == 0
    # Relay for longer than the credential cache lives.
    t0 = time.monotonic()
    for _ in range(100000):
        roundtrip(c, peer, b"down %d" % n)
        n += 1
        if time.monotonic() - t0 > CACHE_TTL + 0.5:
            break
        time.sleep(0.002)                  # pacing, not a sync
    assert time.monotonic() - t0 > CACHE_TTL + 0.5
    t.wait_log(LOST_RE, start=off, timeout=COMMAND_TIMEOUT + SLACK)
    # The live session is checked against the key it was made with.
    expect_ok(c.refresh(700))
    expect_ok(c.create_permission(peer.addr))
    expect_ok(c.channel_bind(CH, peer.addr))
    roundtrip(c, peer, b"after requests %d" % n)
    # A user nobody has cached: 500, unauthenticated.
    t1 = time.monotonic()
    r = turn_client(t, user="rosa", password="pw2").allocate()
    assert expect_error(r, 500, stun.ALLOCATE) == UNAVAILABLE
    assert not r.has(stun.MESSAGE_INTEGRITY)
    assert time.monotonic() - t1 < COMMAND_TIMEOUT + SLACK
    assert t.binding_ok()
    redis_srv.start()
    deadline = time.monotonic() + STORE_READY_TIMEOUT
    for _ in range(100000):
        roundtrip(c, peer, b"back %d" % n)
        n += 1
        if all(rcli.exists(k) for k in keys):
            break
        assert time.monotonic() < deadline, \
            "keys not rewritten: %s" % rcli.scan("*")
        time.sleep(0.002)                  # pacing, not a sync
    else:
        raise AssertionError("keys not rewritten")
    h = rcli.hgetall("turnd/alloc/" + aid)
    assert h["user"] == "rita" and h["lifetime"] == "700"
    assert rcli.hgetall("turnd/alloc/%s/chans" % aid)[str(CH)] \
        .startswith(hostport(peer.addr) + " ")
    ttl_near(rcli, "turnd/alloc/" + aid, 700, slack=SLACK + 10)
    for _ in range(20):
        roundtrip(c, peer, b"end %d" % n)
        n += 1
    assert n >= 60


def test_redis_restart_applies_deletions(redis_srv, rcli, redis_turn,
                                         turn_client):
    """Deletions made while Redis was down are applied on reconnect, and
    a refresh made meanwhile is written: Redis keeps its data across the
    outage here (SAVE before the stop, loaded at the restart)."""
    t = redis_turn(redis_srv)
    keep, gone = turn_client(t), turn_client(t, user="bob",
                                             password="hunter2")
    expect_ok(keep.allocate())
    expect_ok(gone.allocate())
    hk, hg = alloc_of(rcli, keep), alloc_of(rcli, gone)
    poll(lambda: rcli.exists(status_key("bob", hg["id"])), what="status")
    rcli.call("SAVE")
    off = len(t.log_text())
    redis_srv.stop()
    t.wait_log(LOST_RE, start=off, timeout=COMMAND_TIMEOUT + SLACK)
    expect_ok(gone.refresh(0))
    expect_ok(keep.refresh(1000))
    redis_srv.start()
    wait_gone(rcli, keys_of(hg["id"], "bob"), STORE_READY_TIMEOUT)
    poll(lambda: rcli.hgetall("turnd/alloc/" + hk["id"]).get("lifetime")
         == "1000", STORE_READY_TIMEOUT, "the refresh made during the outage")
    assert [m for m, _ in rcli.zrange_withscores(
        "turnd/quota/%s/bob" % REALM)] == []


def test_start_with_redis_down(redis_factory, redis_turn, turn_client):
    """turnd starts and serves while Redis is down: Binding, config users
    and config secrets work, a Redis user gets 500; once Redis is up the
    instance registers and the allocation made meanwhile appears."""
    r = redis_factory(start=False)
    t = redis_turn(r, wait_store=False)
    assert t.binding_ok()
    c = turn_client(t)
    expect_ok(c.allocate())
    u, p = stun.rest_credentials("s1", "carol", int(time.time()) + 600)
    expect_ok(turn_client(t, user=u, password=p).allocate())
    rr = turn_client(t, user="rita", password="pw").allocate()
    assert expect_error(rr, 500) == UNAVAILABLE
    assert not re.search(READY_RE, t.log_text())
    r.start()
    t.wait_log(READY_RE, timeout=STORE_READY_TIMEOUT)
    rcli = r.client()
    iid, _ = instance_of(rcli, t)
    h = alloc_of(rcli, c)
    assert h["user"] == "alice" and h["instance"] == iid
    add_user(rcli, "rita", "pw")
    allocate_until(lambda: turn_client(t, user="rita", password="pw"), is_ok,
                   NEGATIVE_TTL + SLACK + 2, "rita once Redis is up")


def test_slow_redis(redis_srv, rcli, redis_turn, turn_client, peer):
    """CLIENT PAUSE 4000 ALL: Binding and relaying on an existing
    allocation go on; an Allocate by a Redis user nobody has cached gets
    500 within store.redis.command_timeout + slack instead of hanging; it
    works once Redis answers again."""
    add_user(rcli, "uma", "pw")
    t = redis_turn(redis_srv)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.channel_bind(CH, peer.addr))
    roundtrip(c, peer, b"warm-up")
    u = turn_client(t, user="uma", password="pw")
    # The unauthenticated 401 needs no Redis: learn the nonce first, so
    # that what is timed below is the signed Allocate alone.
    m = stun.turn_message(stun.ALLOCATE,
                          attrs=[stun.requested_transport_attr()])
    r0 = u.exchange(m, m.encode())
    expect_error(r0, 401)
    u.learn(r0)
    paused = time.monotonic()
    assert rcli.client_pause(4000, "ALL") == "OK"
    for i in range(3):
        t0 = time.monotonic()
        assert t.binding_ok(timeout=1.0)
        assert time.monotonic() - t0 < 0.5
    for i in range(20):
        roundtrip(c, peer, b"paused %d" % i, timeout=1.0)
    expect_ok(c.refresh())                 # a config user: no Redis needed
    t0 = time.monotonic()
    r = u.allocate(timeout=COMMAND_TIMEOUT + SLACK + 2)
    took = time.monotonic() - t0
    assert time.monotonic() - paused < 4.0, "the pause ended before the test"
    assert expect_error(r, 500, stun.ALLOCATE) == UNAVAILABLE
    assert took <= COMMAND_TIMEOUT + SLACK, "500 after %.1f s" % took
    for i in range(5):
        roundtrip(c, peer, b"still paused %d" % i, timeout=1.0)
    allocate_until(lambda: turn_client(t, user="uma", password="pw"), is_ok,
                   4.0 + STORE_READY_TIMEOUT, "uma after the pause")


# ============================================================= connections

def test_acl_user_and_password(redis_factory, redis_turn, turn_client):
    """store.redis.user + password (AUTH user pass) against a Redis whose
    default user is off."""
    r = redis_factory(users=["turnd on >tpw ~* &* +@all", "default off"],
                      admin=("turnd", "tpw"))
    rcli = r.client()
    add_user(rcli, "rita", "pw")
    t = redis_turn(r, redis={"user": "turnd", "password": "tpw"})
    expect_ok(turn_client(t, user="rita", password="pw").allocate())
    instance_of(rcli, t)


def test_requirepass(redis_factory, redis_turn, turn_client):
    """store.redis.password alone (AUTH pass) with requirepass."""
    r = redis_factory(password="rpw")
    rcli = r.client()
    add_user(rcli, "rita", "pw")
    t = redis_turn(r, redis={"password": "rpw"})
    expect_ok(turn_client(t, user="rita", password="pw").allocate())


def test_unix_socket(redis_factory, redis_turn, turn_client):
    """store.redis.socket, with Redis listening on no TCP port at all."""
    r = redis_factory(tcp=False, unixsocket=True)
    rcli = r.client()
    add_user(rcli, "rita", "pw")
    t = redis_turn(r)
    assert t.config["store"]["redis"]["socket"] == r.socket_path
    c = turn_client(t, user="rita", password="pw")
    expect_ok(c.allocate())
    alloc_of(rcli, c)


@pytest.mark.parametrize("redis_auth", [
    {"password": "wrong"}, {"user": "turnd", "password": "wrong"}, {}],
    ids=["bad-password", "bad-acl-user", "no-auth"])
def test_bad_redis_credentials(redis_factory, redis_turn, turn_client,
                               redis_auth):
    """Refused by Redis: logged; turnd still serves Binding, config users
    and config secrets; Redis users get 500."""
    r = redis_factory(password="rpw",
                      users=["turnd on >tpw ~* &* +@all"])
    rcli = r.client()
    add_user(rcli, "rita", "pw")
    t = redis_turn(r, redis=redis_auth, wait_store=False)
    t.wait_log(r"(?i)\bstore:.*\bredis\b.*\b(wrongpass|noauth|auth|password)",
               timeout=STORE_READY_TIMEOUT)
    assert t.binding_ok()
    expect_ok(turn_client(t).allocate())
    u, p = stun.rest_credentials("s2", "carol", int(time.time()) + 600)
    expect_ok(turn_client(t, user=u, password=p).allocate())
    assert expect_error(turn_client(t, user="rita", password="pw").allocate(),
                        500) == UNAVAILABLE
    assert not re.search(READY_RE, t.log_text())
    assert instances(rcli) == {}


# ============================================================= fleets

def test_two_instances_share_redis(redis_srv, rcli, redis_turn, turn_client):
    """Two turnd on one Redis: a user added once works on both; the
    per-user quota (relay.user_quota = 1 in both) counts both; both are
    registered; an instance that dies stops counting once its key
    expires."""
    add_user(rcli, "quinn", "pw")
    over = {"relay": {"user_quota": 1}}
    t1 = redis_turn(redis_srv, over)
    t2 = redis_turn(redis_srv, over)
    iid1, h1 = instance_of(rcli, t1)
    iid2, h2 = instance_of(rcli, t2)
    assert iid1 != iid2
    assert set(instances(rcli)) == {iid1, iid2}
    for iid in (iid1, iid2):
        assert 0 < rcli.pttl("turnd/instance/" + iid) <= 3 * HEARTBEAT * 1000
    now = time.time()
    z = dict(rcli.zrange_withscores("turnd/instances"))
    assert set(z) == {iid1, iid2}, z
    assert all(now - 1 <= s <= now + 3 * HEARTBEAT + 1 for s in z.values()), z

    q1 = turn_client(t1, user="quinn", password="pw")
    expect_ok(q1.allocate())
    expect_error(turn_client(t2, user="quinn", password="pw").allocate(), 486)
    expect_error(turn_client(t1, user="quinn", password="pw").allocate(), 486)
    # Other users are not affected.
    expect_ok(turn_client(t2).allocate())
    expect_ok(q1.refresh(0))
    q2, _ = allocate_until(lambda: turn_client(t2, user="quinn",
                                               password="pw"),
                           is_ok, SLACK + 2, "quinn on t2 after t1 freed")
    expect_error(turn_client(t1, user="quinn", password="pw").allocate(), 486)
    # t2 dies holding quinn's allocation: t1 counts it until t2's instance
    # key expires (3 heartbeats), then prunes it.
    t2.stop(signal.SIGKILL)
    t0 = time.monotonic()
    allocate_until(lambda: turn_client(t1, user="quinn", password="pw"),
                   is_ok, 3 * HEARTBEAT + SLACK + 3,
                   "quinn on t1 once t2's instance key expired")
    assert time.monotonic() - t0 <= 3 * HEARTBEAT + SLACK + 2
    poll(lambda: not rcli.exists("turnd/instance/" + iid2),
         3 * HEARTBEAT + SLACK, "t2's instance key to expire")
    poll(lambda: iid2 not in dict(rcli.zrange_withscores("turnd/instances")),
         3 * HEARTBEAT + SLACK + 3, "t2 pruned from turnd/instances")


# ============================================================= realm rules

def test_peer_rules_from_redis(redis_srv, rcli, redis_turn, turn_client,
                               peer):
    """Without relay.allow_peers, loopback is denied; SADD
    turn/realm/<realm>/allowed-peer-ip 127.0.0.1 allows it (seen through
    keyspace notifications), SREM denies it again."""
    t = redis_turn(redis_srv, {"relay": {"allow_peers": None}})
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_error(c.create_permission(peer.addr), 403)
    rcli.sadd(realm_key("allowed-peer-ip"), "127.0.0.1")
    poll(lambda: c.create_permission(peer.addr).cls == stun.SUCCESS,
         what="CreatePermission to 127.0.0.1 allowed")
    c.send_indication(peer.addr, b"allowed now")
    assert peer.recv(2.0) == (b"allowed now", c.relayed[0])
    expect_error(c.create_permission(("127.0.0.2", peer.addr[1])), 403)
    rcli.srem(realm_key("allowed-peer-ip"), "127.0.0.1")
    poll(lambda: c.create_permission(peer.addr).error_code() == 403,
         what="CreatePermission to 127.0.0.1 denied again")
    # Ranges "a-b" and CIDR; DEL of the whole set.
    rcli.sadd(realm_key("allowed-peer-ip"), "127.0.0.2-127.0.0.4",
              "127.0.1.0/24")
    poll(lambda: c.create_permission(("127.0.0.3", 4000)).cls
         == stun.SUCCESS, what="127.0.0.3 allowed by a range")
    expect_ok(c.create_permission(("127.0.0.2", 4000), ("127.0.0.4", 4000),
                                  ("127.0.1.200", 4000)))
    expect_error(c.create_permission(("127.0.0.5", 4000)), 403)
    expect_error(c.create_permission(("127.0.0.1", 4000)), 403)
    rcli.delete(realm_key("allowed-peer-ip"))
    poll(lambda: c.create_permission(("127.0.0.3", 4000)).error_code() == 403,
         what="127.0.0.3 denied after DEL")


def test_denied_peers_from_redis(redis_srv, rcli, redis_turn, turn_client):
    """denied-peer-ip adds to the deny rules; an allowed range (here the
    config's relay.allow_peers 127.0.0.0/8) wins over it."""
    t = redis_turn(redis_srv)
    c = turn_client(t)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(("8.8.8.8", 4000)))
    rcli.sadd(realm_key("denied-peer-ip"), "8.8.8.0/24", "127.0.0.1")
    poll(lambda: c.create_permission(("8.8.8.8", 4000)).error_code() == 403,
         what="8.8.8.8 denied")
    expect_ok(c.create_permission(("8.8.4.4", 4000)))
    expect_ok(c.create_permission(("127.0.0.1", 4000)))


def test_peer_rules_changed_channel(redis_srv, rcli, redis_turn, turn_client,
                                    peer):
    """With keyspace notifications off, a change is not seen (no timer)
    until something is published on turnd/realm/<realm>/changed."""
    rcli.call("CONFIG", "SET", "notify-keyspace-events", "")
    t = redis_turn(redis_srv, {"relay": {"allow_peers": None}})
    c = turn_client(t)
    expect_ok(c.allocate())
    rcli.sadd(realm_key("allowed-peer-ip"), "127.0.0.1")
    deadline = time.monotonic() + 2.5
    for _ in range(100):
        expect_error(c.create_permission(peer.addr), 403)
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)                   # sampling interval, not a sync
    rcli.publish("turnd/realm/%s/changed" % REALM, "peers")
    poll(lambda: c.create_permission(peer.addr).cls == stun.SUCCESS,
         what="CreatePermission allowed after the changed message")


def test_realm_user_quota_override(redis_srv, rcli, redis_turn, turn_client):
    """turn/realm/<realm>/user-quota overrides relay.user_quota (read at
    connect, re-read on change); absent, the config value is back."""
    rcli.set(realm_key("user-quota"), "1")
    t = redis_turn(redis_srv, {"relay": {"user_quota": 5}})
    expect_ok(turn_client(t).allocate())
    expect_error(turn_client(t).allocate(), 486)
    rcli.delete(realm_key("user-quota"))
    allocate_until(lambda: turn_client(t), is_ok, SLACK + 2,
                   "the config quota back")
    poll(lambda: len(alloc_ids(rcli)) == 2, what="2 allocations")
    # Two held: an override of 2 refuses the next one.  A probe that still
    # succeeds (the change not seen yet) is released at once.
    rcli.set(realm_key("user-quota"), "2")

    def refused():
        c = turn_client(t)
        r = c.allocate()
        if r.cls == stun.SUCCESS:
            expect_ok(c.refresh(0))
            return False
        expect_error(r, 486)
        return True
    poll(refused, SLACK + 2, "486 at the new override", 0.25)
    poll(lambda: len(alloc_ids(rcli)) == 2, what="still 2 allocations")


@needs_turnadmin
def test_realm_quota_from_turnadmin(redis_srv, rcli, redis_turn,
                                    turn_client):
    """turnadmin -g --total-quota writes the key turnd reads (at connect,
    and again when it changes)."""
    redisd.turnadmin(redis_srv, "-g", "--total-quota", "2", "-r", REALM)
    assert rcli.get(realm_key("total-quota")) == "2"
    t = redis_turn(redis_srv, {"relay": {"user_quota": 0,
                                         "total_quota": 0}})
    expect_ok(turn_client(t).allocate())
    expect_ok(turn_client(t, user="bob", password="hunter2").allocate())
    expect_error(turn_client(t).allocate(), 486)
    redisd.turnadmin(redis_srv, "-g", "--total-quota", "0", "-r", REALM)
    allocate_until(lambda: turn_client(t, user="bob", password="hunter2"),
                   is_ok, SLACK + 2, "no total quota after -g 0")


def redis_calls(rcli, command):
    """How many times Redis ran command since the last CONFIG RESETSTAT."""
    info = rcli.call("INFO", "commandstats")
    if isinstance(info, bytes):
        info = info.decode()
    m = re.search(r"^cmdstat_%s:calls=(\d+)" % command.lower(), info, re.M)
    return int(m.group(1)) if m else 0


def test_lookups_cached_per_worker(redis_srv, rcli, redis_turn, turn_client):
    """Many logins of one Redis user within store.cache_ttl cost at most
    one GET of its key per worker (2 here), and one SMEMBERS of the REST
    secrets per worker for many REST logins."""
    add_user(rcli, "flood", "pw")
    rcli.call("SADD", "turn/realm/%s/secret" % REALM, "fsecret")
    t = redis_turn(redis_srv, store={"cache_ttl": 60, "negative_ttl": 60})
    rcli.call("CONFIG", "RESETSTAT")
    now = int(time.time())
    for i in range(12):
        c = turn_client(t, user="flood", password="pw")
        expect_ok(c.allocate(), stun.ALLOCATE)
        expect_ok(c.refresh(0))
        u, p = stun.rest_credentials("fsecret", "f%d" % i, now + 600)
        c = turn_client(t, user=u, password=p)
        expect_ok(c.allocate(), stun.ALLOCATE)
        expect_ok(c.refresh(0))
    assert 1 <= redis_calls(rcli, "get") <= 2
    assert 1 <= redis_calls(rcli, "smembers") <= 2
    # An unknown user is remembered as unknown too.
    rcli.call("CONFIG", "RESETSTAT")
    for _ in range(8):
        expect_error(turn_client(t, user="ghost", password="pw").allocate(),
                     401)
    assert redis_calls(rcli, "get") <= 2


def test_redis_metrics(redis_srv, rcli, redis_turn, turn_client):
    """/metrics shows the Redis connections (2 workers, the main thread,
    the subscriber), their losses and the command latency histogram."""
    import test_metrics as tm
    port = tm.free_tcp_port()
    t = redis_turn(redis_srv, over=tm.metrics_over(port))
    add_user(rcli, "mia", "pw")
    expect_ok(turn_client(t, user="mia", password="pw").allocate())
    s = tm.wait_val(port, "turnd_redis_connections", 4, state="up")
    assert tm.val(s, "turnd_redis_connections", state="down") == 0
    n = tm.val(s, "turnd_redis_command_duration_seconds_count")
    assert n > 0
    assert tm.val(s, "turnd_redis_command_duration_seconds_bucket",
                  le="+Inf") == n
    assert tm.val(s, "turnd_store_waits_total") >= 1
    redis_srv.stop()
    s = tm.wait_val(port, "turnd_redis_connections", 0, state="up",
                    timeout=POLL_TIMEOUT)
    assert tm.val(s, "turnd_redis_connections", state="down") == 4
    assert tm.val(s, "turnd_redis_lost_total") >= 4
