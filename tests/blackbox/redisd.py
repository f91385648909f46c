"""redisd.py -- a real redis-server for the black-box suite, and a RESP2 client.

RedisServer runs Debian's redis-server (7.0) on a free loopback TCP port
(and/or a unix socket) in a directory of its own, without persistence
(--save "" --appendonly no; an explicit SAVE still writes dump.rdb there and
a restart loads it), with keyspace notifications "Kgs$".  Readiness is a
bounded PING poll; stop() signals the PID and waits (bounded), restart()
starts it again on the same port.

Resp is a tiny RESP2 client written from the protocol description (no
third-party package): commands are argv lists, replies come back as str,
int, None, list or RespError.  Subscriber is a connection in
(P)SUBSCRIBE mode that hands out messages one at a time with a timeout.

turnadmin() runs coturn's turnadmin against a RedisServer.

Nothing here sleeps to synchronise: every wait is a poll of an observable
condition under a deadline, and every loop is bounded in count too.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import harness

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 5.0

# Keyspace notifications turnd relies on (redis-spec.md): K = keyspace
# channel, g = generic (DEL, EXPIRE...), s = sets, $ = strings.
NOTIFY = "Kgs$"


def redis_server_path():
    """The redis-server binary, or None (tests then skip)."""
    p = os.environ.get("REDIS_SERVER")
    if p:
        return p if os.access(p, os.X_OK) else None
    p = shutil.which("redis-server")
    if p:
        return p
    return "/usr/bin/redis-server" if os.access("/usr/bin/redis-server",
                                                 os.X_OK) else None


def turnadmin_path():
    return shutil.which("turnadmin")


# ------------------------------------------------------------- RESP2

class RespError(Exception):
    """An error reply (-ERR ..., -WRONGPASS ..., -NOAUTH ...)."""

    @property
    def kind(self):
        return str(self).split(" ", 1)[0]


class RespProtocolError(Exception):
    """Bytes that are not RESP2."""


class _Incomplete(Exception):
    pass


def encode_command(argv):
    """An array of bulk strings: what every client sends (RESP2)."""
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode("utf-8")
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            b = str(a).encode("ascii")
        else:
            raise TypeError("RESP argument %r" % (a,))
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _parse(buf, pos, raw, depth=0):
    """(value, next position) of the reply at buf[pos:]; _Incomplete if
    more bytes are needed."""
    if depth > 32:
        raise RespProtocolError("replies nested too deep")
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if len(buf) - pos > 1 << 20:
            raise RespProtocolError("line longer than 1 MiB")
        raise _Incomplete()
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    nxt = end + 2
    if kind == b"+":
        return (line if raw else line.decode("utf-8", "surrogateescape")), nxt
    if kind == b"-":
        return RespError(line.decode("utf-8", "replace")), nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            raise _Incomplete()
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise RespProtocolError("bulk string not followed by CRLF")
        data = buf[nxt:nxt + n]
        return (data if raw else data.decode("utf-8", "surrogateescape")), \
            nxt + n + 2
    if kind == b"*":
        n = int(line)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n):
            v, nxt = _parse(buf, nxt, raw, depth + 1)
            items.append(v)
        return items, nxt
    raise RespProtocolError("reply type byte %r" % kind)


class Resp:
    """One RESP2 connection: Resp(("127.0.0.1", port)) or Resp(unix=path).

    call(*argv) returns the reply and raises RespError for an error reply;
    call_noraise(*argv) returns the RespError instead.  A connection that
    the server closed (e.g. across a restart) is reopened once, with the
    same AUTH and SELECT, before the command is given up.
    """

    def __init__(self, addr=None, unix=None, timeout=IO_TIMEOUT, auth=None,
                 db=None, raw=False, reconnect=True):
        if (addr is None) == (unix is None):
            raise ValueError("give addr or unix")
        self.addr = addr
        self.unix = unix
        self.timeout = timeout
        self.auth = auth          # None, "password" or ("user", "password")
        self.db = db
        self.raw = raw
        self.auto_reconnect = reconnect
        self.sock = None
        self.buf = b""
        self.connect()

    # -- connection
    def connect(self):
        self.close()
        if self.unix is not None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = self.unix
        else:
            s = socket.socket(socket.AF_INET6 if ":" in self.addr[0]
                              else socket.AF_INET, socket.SOCK_STREAM)
            target = tuple(self.addr)
        s.settimeout(self.timeout)
        try:
            s.connect(target)
        except OSError:
            s.close()
            raise
        if self.unix is None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.buf = b""
        if self.auth is not None:
            argv = ["AUTH"] + (list(self.auth) if isinstance(self.auth, tuple)
                               else [self.auth])
            self._roundtrip(argv, raise_errors=True)
        if self.db:
            self._roundtrip(["SELECT", self.db], raise_errors=True)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    # -- wire
    def send_command(self, *argv):
        if self.sock is None:
            raise ConnectionError("not connected")
        self.sock.sendall(encode_command(argv))

    def read_reply(self, timeout=None):
        """The next reply; None on timeout only if timeout was given
        explicitly (subscriber use), else TimeoutError."""
        explicit = timeout is not None
        deadline = time.monotonic() + (timeout if explicit else self.timeout)
        for _ in range(100000):
            if self.buf:
                try:
                    v, n = _parse(self.buf, 0, self.raw)
                except _Incomplete:
                    pass
                else:
                    self.buf = self.buf[n:]
                    return v
            left = deadline - time.monotonic()
            if left <= 0:
                if explicit:
                    return None
                raise TimeoutError("no reply from redis within %.1f s"
                                   % self.timeout)
            if self.sock is None:
                raise ConnectionError("not connected")
            self.sock.settimeout(max(left, 0.001))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.close()
                raise ConnectionResetError("redis closed the connection")
            self.buf += chunk
        raise AssertionError("read_reply loop bound hit")

    def _roundtrip(self, argv, raise_errors):
        self.send_command(*argv)
        r = self.read_reply()
        if raise_errors and isinstance(r, RespError):
            raise r
        return r

    def _call(self, argv, raise_errors):
        try:
            if self.sock is None and self.auto_reconnect:
                self.connect()
            return self._roundtrip(argv, raise_errors)
        except (ConnectionError, BrokenPipeError, OSError) as e:
            if isinstance(e, (TimeoutError, socket.timeout)) or \
                    not self.auto_reconnect:
                raise
            self.connect()
            return self._roundtrip(argv, raise_errors)

    def call(self, *argv):
        return self._call(argv, True)

    def call_noraise(self, *argv):
        return self._call(argv, False)

    # -- conveniences (all plain commands underneath)
    def ping(self):
        return self.call("PING")

    def get(self, key):
        return self.call("GET", key)

    def set(self, key, value, *opts):
        return self.call("SET", key, value, *opts)

    def delete(self, *keys):
        return self.call("DEL", *keys)

    def exists(self, key):
        return self.call("EXISTS", key) == 1

    def sadd(self, key, *members):
        return self.call("SADD", key, *members)

    def srem(self, key, *members):
        return self.call("SREM", key, *members)

    def smembers(self, key):
        return set(self.call("SMEMBERS", key))

    def ttl(self, key):
        return self.call("TTL", key)

    def pttl(self, key):
        return self.call("PTTL", key)

    def type(self, key):
        return self.call("TYPE", key)

    def hgetall(self, key):
        flat = self.call("HGETALL", key)
        return dict(zip(flat[0::2], flat[1::2]))

    def zrange_withscores(self, key, start=0, stop=-1):
        flat = self.call("ZRANGE", key, start, stop, "WITHSCORES")
        return [(m, float(s)) for m, s in zip(flat[0::2], flat[1::2])]

    def scan(self, match="*", count=1000, bound=10000):
        """Every key matching match (SCAN, bounded number of rounds)."""
        cursor = "0"
        out = set()
        for _ in range(bound):
            cursor, keys = self.call("SCAN", cursor, "MATCH", match,
                                     "COUNT", count)
            out.update(keys)
            if cursor == "0":
                return sorted(out)
        raise AssertionError("SCAN did not finish in %d rounds" % bound)

    def publish(self, channel, message):
        return self.call("PUBLISH", channel, message)

    def client_pause(self, ms, mode="ALL"):
        """CLIENT PAUSE timeout [WRITE|ALL] (Redis >= 6.2 syntax)."""
        return self.call("CLIENT", "PAUSE", int(ms), mode)


class Message:
    """A pub/sub message: kind "message" or "pmessage"."""

    def __init__(self, kind, pattern, channel, data):
        self.kind = kind
        self.pattern = pattern
        self.channel = channel
        self.data = data

    def __repr__(self):
        return "<%s %s %r>" % (self.kind, self.channel, self.data)


class Subscriber(Resp):
    """A connection in subscriber mode.

    s = Subscriber(addr); s.psubscribe("turn/realm/*"); s.get(2.0) ->
    Message or None.  Every message read is also kept in s.seen.
    """

    def __init__(self, *a, **kw):
        kw.setdefault("reconnect", False)
        super().__init__(*a, **kw)
        self.seen = []
        self.pending = []

    def _subscribe(self, cmd, names):
        self.send_command(cmd, *names)
        want = {"PSUBSCRIBE": "psubscribe", "SUBSCRIBE": "subscribe"}[cmd]
        got = 0
        for _ in range(1000):
            r = self.read_reply()
            if isinstance(r, RespError):
                raise r
            if isinstance(r, list) and r and r[0] == want:
                got += 1
                if got == len(names):
                    return
            else:
                self._keep(r)
        raise AssertionError("no %s confirmation" % cmd)

    def psubscribe(self, *patterns):
        self._subscribe("PSUBSCRIBE", patterns)
        return self

    def subscribe(self, *channels):
        self._subscribe("SUBSCRIBE", channels)
        return self

    def _keep(self, r):
        m = self._message(r)
        if m is not None:
            self.pending.append(m)

    @staticmethod
    def _message(r):
        if not isinstance(r, list) or not r:
            return None
        if r[0] == "pmessage" and len(r) == 4:
            return Message("pmessage", r[1], r[2], r[3])
        if r[0] == "message" and len(r) == 3:
            return Message("message", None, r[1], r[2])
        return None

    def get(self, timeout=2.0):
        """The next message, or None after timeout."""
        if self.pending:
            m = self.pending.pop(0)
            self.seen.append(m)
            return m
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self.read_reply(timeout=left)
            if r is None:
                return None
            m = self._message(r)
            if m is not None:
                self.seen.append(m)
                return m
        raise AssertionError("Subscriber.get loop bound hit")

    def wait_for(self, pred, timeout=5.0, bound=100000):
        """(first message m with pred(m), [every message read before it])."""
        deadline = time.monotonic() + timeout
        before = []
        for _ in range(bound):
            left = deadline - time.monotonic()
            m = self.get(left) if left > 0 else None
            if m is None:
                raise AssertionError(
                    "no matching pub/sub message in %.1f s; got %r"
                    % (timeout, before[-20:]))
            if pred(m):
                return m, before
            before.append(m)
        raise AssertionError("wait_for loop bound hit")

    def drain(self, quiet=0.5, timeout=10.0, bound=100000):
        """Read until nothing arrives for quiet seconds; the messages."""
        out = []
        deadline = time.monotonic() + timeout
        for _ in range(bound):
            if time.monotonic() > deadline:
                raise AssertionError("messages never stopped: %r" % out[-20:])
            m = self.get(quiet)
            if m is None:
                return out
            out.append(m)
        raise AssertionError("drain loop bound hit")


# ------------------------------------------------------------- the server

class RedisServer:
    """One redis-server process on 127.0.0.1:port (port 0: no TCP) and,
    with unixsocket=True, on dir/redis.sock.

    password: requirepass (the "default" user's password).
    users: ACL rules, each passed as --user "<rule>", e.g.
      "turnd on >pw ~* &* +@all", "default off".
    admin: what the test's own connections AUTH with: None, "password" or
      ("user", "password"); by default the requirepass password.
    """

    def __init__(self, workdir, port=None, tcp=True, unixsocket=False,
                 password=None, users=(), admin=None, extra=(),
                 binary=None):
        self.binary = binary or redis_server_path()
        if self.binary is None:
            raise RuntimeError("redis-server not found")
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.tcp = tcp
        if tcp:
            self.port = port or harness.free_port(hosts=("127.0.0.1",),
                                                   kinds=("tcp",))
        else:
            self.port = 0
        self.host = "127.0.0.1"
        self.socket_path = os.path.join(self.dir, "redis.sock") \
            if unixsocket else None
        if self.socket_path and len(self.socket_path) > 100:
            raise RuntimeError("unix socket path too long: %s"
                               % self.socket_path)
        self.password = password
        self.users = list(users)
        self.admin = admin if admin is not None else password
        self.extra = list(extra)
        self.log_path = os.path.join(self.dir, "redis.log")
        self.proc = None
        self.out_f = None
        self.clients = []
        self.starts = 0

    def args(self):
        a = [self.binary,
             "--save", "",
             "--appendonly", "no",
             "--notify-keyspace-events", NOTIFY,
             "--bind", "127.0.0.1",
             "--port", str(self.port),
             "--dir", self.dir,
             "--dbfilename", "dump.rdb",
             "--logfile", self.log_path,
             "--daemonize", "no",
             "--protected-mode", "yes"]
        if self.socket_path:
            a += ["--unixsocket", self.socket_path, "--unixsocketperm", "700"]
        if self.password is not None:
            a += ["--requirepass", self.password]
        for rule in self.users:
            # One token per word: redis-server quotes an argument holding
            # spaces, and an ACL user name may not contain one.
            a += ["--user"] + rule.split()
        return a + self.extra

    # -- lifecycle
    def start(self, wait=True):
        if self.alive():
            raise RuntimeError("redis-server already running")
        self.out_f = open(os.path.join(self.dir, "stdout"), "ab")
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                     stdout=self.out_f,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.starts += 1
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _probe(self):
        """True when the server answers anything (PONG, or NOAUTH when a
        password is required) on every endpoint it has."""
        targets = []
        if self.tcp:
            targets.append({"addr": (self.host, self.port)})
        if self.socket_path:
            targets.append({"unix": self.socket_path})
        for t in targets:
            try:
                c = Resp(timeout=1.0, reconnect=False, **t)
            except OSError:
                return False
            try:
                c.send_command("PING")
                r = c.read_reply()
            except (OSError, TimeoutError):
                return False
            finally:
                c.close()
            if not (r == "PONG" or isinstance(r, RespError)):
                return False
        return True

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        delay = 0.005
        for _ in range(10000):
            if self._probe():
                return
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s\nlog:\n%s"
                                     % (self.proc.returncode,
                                        self.log_text()[-3000:]))
            if time.monotonic() > deadline:
                raise AssertionError("redis-server not answering PING on "
                                     "port %d after %.1f s\nlog:\n%s"
                                     % (self.port, timeout,
                                        self.log_text()[-3000:]))
            time.sleep(delay)              # polling interval, not a sync
            delay = min(delay * 2, 0.05)
        raise AssertionError("wait_ready loop bound hit")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the PID, bounded wait, then SIGKILL; the exit status.
        With --save "" a SIGTERM writes no dump."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if self.out_f and not self.out_f.closed:
            self.out_f.close()
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self, wait=True):
        """stop() if running, then start again on the same port/socket."""
        self.stop()
        return self.start(wait=wait)

    def close_clients(self):
        for c in self.clients:
            c.close()
        self.clients = []

    def finish(self):
        self.close_clients()
        return self.stop()

    # -- clients
    def endpoint(self, prefer_unix=False):
        if self.socket_path and (prefer_unix or not self.tcp):
            return {"unix": self.socket_path}
        return {"addr": (self.host, self.port)}

    def client(self, auth="admin", **kw):
        """A Resp connection (closed by finish())."""
        if auth == "admin":
            auth = self.admin
        kw.update(self.endpoint(kw.pop("prefer_unix", False)))
        c = Resp(auth=auth, **kw)
        self.clients.append(c)
        return c

    def subscriber(self, *patterns, auth="admin", **kw):
        """A Subscriber already PSUBSCRIBEd to patterns."""
        if auth == "admin":
            auth = self.admin
        kw.update(self.endpoint(kw.pop("prefer_unix", False)))
        s = Subscriber(auth=auth, **kw)
        self.clients.append(s)
        if patterns:
            s.psubscribe(*patterns)
        return s

    # -- coturn
    def conn_string(self, db=0):
        """coturn's Redis connection string (-N / --redis-userdb)."""
        s = "ip=%s port=%d dbname=%d" % (self.host, self.port, db)
        if isinstance(self.admin, str):
            s += " password=%s" % self.admin
        return s


LOGFILE_RE = re.compile(r"log file opened: (\S+)")


def turnadmin(server, *args, db=0, timeout=30.0, binary=None):
    """Run turnadmin <args> -N "<conn string>" against server.

    Returns a CompletedProcess (text).  turnadmin opens a log file of its
    own (/var/log/turn_<pid>_<date>.log when it may write there) whatever
    it is asked to do; the file it names as its own is removed afterwards.
    """
    binary = binary or turnadmin_path()
    if binary is None:
        raise RuntimeError("turnadmin not found")
    argv = [binary] + list(args) + ["-N", server.conn_string(db)]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=server.dir)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=timeout)
    for m in LOGFILE_RE.finditer(out + err):
        path = m.group(1)
        if re.match(r"turn_%d_.*\.log$" % p.pid, os.path.basename(path)):
            try:
                os.unlink(path)
            except OSError:
                pass
    return subprocess.CompletedProcess(argv, p.returncode, out, err)
