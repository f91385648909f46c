"""harness.py -- start the real turnd on loopback with a generated config.

A Turnd object owns one process: its directory (config, log, stdout,
stderr), its ports, and its lifetime.  stop() sends SIGTERM, waits a bounded
time, then SIGKILL, and returns the exit status.  Nothing here sleeps to
synchronise: readiness is the log line "ready", counters are read by
SIGUSR1 and polling the log for the new "stats:" line, how far turnd has
read a stream and whether it has closed one are read from the kernel
(/proc, SIOCOUTQ), each under a deadline.
"""

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import termios
import time

import stun

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
STATS_TIMEOUT = 5.0

COUNTERS = (
    "stun_requests", "stun_indications", "binding_success", "error_responses",
    "err_400", "err_420", "dropped_notstun", "dropped_malformed",
    "dropped_fingerprint", "dropped_chandata", "dropped_other",
    "conn_accepted", "conn_rejected", "conn_closed_garbage",
    "conn_closed_idle", "conn_closed_stall", "tls_handshake_failed",
    "accept_paused",
)

STATS_RE = re.compile(r"\bstats:(.*)$")


def turnd_path():
    p = os.environ.get("TURND")
    if not p:
        return None
    return os.path.abspath(p)


def turnctl_path():
    """$TURNCTL, else the turnctl built beside $TURND."""
    p = os.environ.get("TURNCTL")
    if not p and turnd_path():
        p = os.path.join(os.path.dirname(turnd_path()), "turnctl")
    return os.path.abspath(p) if p and os.path.exists(p) else None


def run_turnctl(args, input=None, timeout=30.0, env=None):
    """turnctl ARGS -> CompletedProcess (text); input goes to stdin."""
    return subprocess.run([turnctl_path()] + list(args), input=input,
                          capture_output=True, text=True, timeout=timeout,
                          env=env)


def control(path, line, timeout=30.0):
    """One request on turnd's control socket at path: (ok, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        chunks = []
        for _ in range(10000):
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    status, _, body = b"".join(chunks).decode().partition("\n")
    return status == "ok", body


def stop_process(proc, timeout=5.0):
    """SIGTERM to a process a test started, SIGKILL after timeout; its
    exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


# ------------------------------------------------------------- ports

def _try_bind(family, kind, host, port):
    s = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return s
    except OSError:
        s.close()
        return None


def _hosts_family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(hosts=("127.0.0.1", "::1"), kinds=("udp", "tcp"), exclude=()):
    """A port number free for every (host, kind) given.

    The kernel picks a TCP port on the first host (bind to 0); the same
    number is then bound for every other pair.  Bounded retries.
    """
    kmap = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}
    for _ in range(200):
        first = _try_bind(_hosts_family(hosts[0]), kmap[kinds[-1]], hosts[0], 0)
        if first is None:
            continue
        port = first.getsockname()[1]
        held = [first]
        ok = port not in exclude
        for h in hosts:
            for k in kinds:
                if not ok:
                    break
                if h == hosts[0] and k == kinds[-1]:
                    continue
                s = _try_bind(_hosts_family(h), kmap[k], h, port)
                if s is None:
                    ok = False
                else:
                    held.append(s)
        for s in held:
            s.close()
        if ok:
            return port
    raise RuntimeError("no free port found")


def port_is_free(host, port, kinds=("udp", "tcp")):
    kmap = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}
    for k in kinds:
        s = _try_bind(_hosts_family(host), kmap[k], host, port)
        if s is None:
            return False
        s.close()
    return True


# ------------------------------------------------------------- streams (Linux)

def _proc_hostport(addr):
    """(host, port) the way /proc/net/tcp and tcp6 print it: the address's
    32-bit words in host byte order, then the port, in hex."""
    host, port = addr[:2]
    raw = socket.inet_pton(_hosts_family(host), host)
    words = struct.unpack("=%dI" % (len(raw) // 4), raw)
    return "".join("%08X" % w for w in words) + ":%04X" % port


TCP_ESTABLISHED = 1                 # the kernel's state number (st in /proc)


def far_end(sock):
    """The other end of a loopback TCP connection, as the kernel lists it:
    (state, rx_queue, inode), or None once it is no longer listed.

    For a connected socket the kernel prints as rx_queue what has arrived
    and its owner has not read yet (rcv_nxt - copied_seq).
    """
    want = (_proc_hostport(sock.getpeername()),
            _proc_hostport(sock.getsockname()))
    name = "/proc/net/tcp6" if sock.family == socket.AF_INET6 \
        else "/proc/net/tcp"
    with open(name) as f:
        for line in f:
            x = line.split()
            if (x[1], x[2]) == want:
                return int(x[3], 16), int(x[4].split(":")[1], 16), int(x[9])
    return None


def unacked(sock):
    """Bytes written on sock that the peer's kernel has not acknowledged,
    sent or not (SIOCOUTQ, tcp(7); write_seq - snd_una).  0: all of them
    are in the peer's receive queue, or were read from it already."""
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    return struct.unpack("i", buf)[0]


def vm_rss_kb(pid):
    """VmRSS of process pid, in kB (/proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def asan_build(binary):
    """True for a binary built with --enable-asan (its quarantine keeps
    freed memory, so RSS bounds are judged on the normal build only)."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def dtls_client_hello():
    """A DTLS 1.2 ClientHello record without a cookie (RFC 6347 4.2.1):
    the server must answer it with a HelloVerifyRequest and keep no
    state."""
    body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00" +
            b"\x00\x02\xc0\x2b" + b"\x01\x00")
    hs = b"\x01" + len(body).to_bytes(3, "big") + b"\x00" * 5 + \
        len(body).to_bytes(3, "big") + body
    return b"\x16\xfe\xff" + b"\x00" * 8 + len(hs).to_bytes(2, "big") + hs


def dtls_hello_flood(dest, n, base, each=None):
    """n cookieless ClientHellos to dest, each from its own loopback
    source 127.0.(base + i // 250).(1 + i % 250); each(i) is called every
    500th (to check that the server still answers meanwhile)."""
    hello = dtls_client_hello()
    for i in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.%d.%d" % (base + i // 250, 1 + i % 250), 0))
            s.sendto(hello, dest)
        if each is not None and i % 500 == 0:
            each(i)


def poll_until(fn, timeout, what):
    """fn() until it returns something true (returned), under a deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    for _ in range(100000):
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("%.1f s waiting for %s" % (timeout, what))
        time.sleep(delay)                  # polling interval, not a sync
        delay = min(delay * 2, 0.05)
    raise AssertionError("poll loop bound hit waiting for %s" % what)


# ------------------------------------------------------------- config

def cfg_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        # A group: auth.users = ( { user = "a"; password = "p"; } ).
        return "{ " + " ".join("%s = %s;" % (k, cfg_value(x))
                               for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            # Groups go in a list, ( ), not an array, [ ].
            return "( " + ", ".join(cfg_value(x) for x in v) + " )"
        return "[ " + ", ".join(cfg_value(x) for x in v) + " ]"
    raise TypeError(v)


def render_config(cfg):
    """libconfig text from an ordered dict of scalars and one-level dicts."""
    lines = ["# generated by tests/blackbox/harness.py"]
    for k, v in cfg.items():
        if isinstance(v, dict):
            lines.append("%s: {" % k)
            for k2, v2 in v.items():
                lines.append("  %s = %s;" % (k2, cfg_value(v2)))
            lines.append("};")
        else:
            lines.append("%s = %s;" % (k, cfg_value(v)))
    return "\n".join(lines) + "\n"


def merge(base, over):
    """Copy of base with over applied; a value None deletes the key."""
    out = {}
    for k, v in base.items():
        out[k] = dict(v) if isinstance(v, dict) else v
    for k, v in (over or {}).items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            for k2, v2 in v.items():
                if v2 is None:
                    out[k].pop(k2, None)
                else:
                    out[k][k2] = v2
        else:
            out[k] = v
    return out


def fmt_hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# ------------------------------------------------------------- the process

class Turnd:
    """One running turnd."""

    def __init__(self, binary, workdir, certs, overrides=None, extra=None,
                 name="turnd"):
        self.binary = binary
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.certs = certs
        self.port = free_port()                          # UDP+TCP, v4+v6
        self.tls_port = free_port(kinds=("tcp",), exclude=(self.port,))
        self.log_path = os.path.join(self.dir, "turnd.log")
        self.conf_path = os.path.join(self.dir, "turnd.conf")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.config = merge(self.default_config(extra), overrides)
        with open(self.conf_path, "w") as f:
            f.write(render_config(self.config))
        self.proc = None
        self.returncode = None
        self.stopped_by_test = False

    def default_config(self, extra=None):
        p, t = self.port, self.tls_port
        cfg = {
            "workers": 2,
            "realm": "test.realm",
            "software": "turnd",
            "user": "",
            "group": "",
            "pidfile": "",
            "listen": {
                "udp": ["127.0.0.1:%d" % p, "[::1]:%d" % p],
                "tcp": ["127.0.0.1:%d" % p, "[::1]:%d" % p],
                "tls": ["127.0.0.1:%d" % t, "[::1]:%d" % t],
                "dtls": [],
            },
            "tls": {"cert": self.certs.cert, "key": self.certs.key,
                    "min_version": "1.2", "ciphers": ""},
            "stun": {"mapped_address": False, "rfc5780": False,
                     "alt_address": "", "alt_port": 3479},
            "limits": {"connections": 10000, "connections_per_source": 64,
                       "idle_timeout": 300, "frame_timeout": 10},
            "log": {"level": os.environ.get("TURND_LOG_LEVEL", "info"),
                    "file": self.log_path, "syslog": False},
            # many servers run at once: no fixed ports or paths
            "metrics": {"listen": ""},
            "control": {"socket": ""},
        }
        return merge(cfg, extra)

    # -- lifecycle
    def start(self, wait=True, args=()):
        self.stdout_f = open(self.stdout_path, "wb")
        self.stderr_f = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-c", self.conf_path] + list(args),
            stdin=subprocess.DEVNULL, stdout=self.stdout_f,
            stderr=self.stderr_f, cwd=self.dir)
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stderr_text(self):
        try:
            with open(self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=START_TIMEOUT, start=0):
        """Poll the log until pattern (regex) matches after offset start."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            text = self.log_text()[start:]
            m = rx.search(text)
            if m:
                return m
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    "turnd exited with %s while waiting for %r\nstderr:\n%s\n"
                    "log:\n%s" % (self.proc.returncode, pattern,
                                  self.stderr_text()[-3000:], text[-3000:]))
            if time.monotonic() > deadline:
                raise AssertionError("timeout waiting for %r in %s\nlog:\n%s"
                                     % (pattern, self.log_path, text[-3000:]))
            time.sleep(delay)              # polling interval, not a sync
            delay = min(delay * 2, 0.05)

    def wait_ready(self):
        self.wait_log(r"\bready\b")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal, bounded wait, then SIGKILL.  Returns the exit status."""
        if self.proc is None:
            return None
        self.stopped_by_test = True
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
                self.returncode = "killed"
                self._close_files()
                return "killed"
        self.returncode = self.proc.returncode
        self._close_files()
        return self.returncode

    def _close_files(self):
        for f in (getattr(self, "stdout_f", None), getattr(self, "stderr_f", None)):
            if f and not f.closed:
                f.close()

    # -- counters
    def stats_lines(self):
        return [m.group(1) for m in
                (STATS_RE.search(l) for l in self.log_text().splitlines()) if m]

    @staticmethod
    def parse_stats(text):
        out = {}
        for tok in text.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                try:
                    out[k] = int(v)
                except ValueError:
                    out[k] = v
        return out

    def stats(self, timeout=STATS_TIMEOUT):
        """SIGUSR1, then the counters of the new stats: line."""
        before = len(self.stats_lines())
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            lines = self.stats_lines()
            if len(lines) > before:
                return self.parse_stats(lines[before])
            assert self.alive(), "turnd died after SIGUSR1"
            assert time.monotonic() < deadline, "no stats: line after SIGUSR1"
            time.sleep(delay)              # polling interval, not a sync
            delay = min(delay * 2, 0.05)

    def wait_stats(self, pred, timeout=STATS_TIMEOUT):
        """Poll counters (SIGUSR1) until pred(stats) holds or the deadline.

        Returns the last counters either way; the caller asserts on them, so
        a failure shows the real numbers.
        """
        deadline = time.monotonic() + timeout
        delay = 0.02
        for _ in range(200):
            s = self.stats()
            if pred(s) or time.monotonic() > deadline:
                return s
            time.sleep(delay)              # polling interval, not a sync
            delay = min(delay * 2, 0.5)
        return s

    def final_stats(self):
        lines = self.stats_lines()
        return self.parse_stats(lines[-1]) if lines else None

    # -- what turnd has done with a stream, seen from the kernel (Linux)
    def wait_read(self, c, timeout=STATS_TIMEOUT):
        """Return once turnd has read every byte client c has written.

        First all of them are acknowledged (SIOCOUTQ 0 on c's socket: they
        are in the receive queue of turnd's end), then that queue is empty
        (rx_queue 0 in /proc/net/tcp): a recv() of turnd has taken them.
        Bytes c writes after this cannot be in that recv().  It says
        nothing about what turnd did with them: the callers prove that.
        """
        def taken():
            acked = unacked(c.sock) == 0    # first: rx_queue then has all
            e = far_end(c.sock)
            assert e is not None and e[0] == TCP_ESTABLISHED, \
                "turnd's end of the connection is closed: %r" % (e,)
            return acked and e[1] == 0
        poll_until(taken, timeout, "turnd to read what the client wrote")

    def sock_inode(self, c):
        """The inode of turnd's end of client c's connection."""
        e = far_end(c.sock)
        assert e is not None, "turnd's end of the connection is not listed"
        return e[2]

    def wait_sock_closed(self, inode, timeout=STATS_TIMEOUT):
        """Return once no descriptor of turnd refers to socket inode: turnd
        has closed its end (the kernel's view of the connection may
        outlive that, in LAST_ACK)."""
        fd_dir = "/proc/%d/fd" % self.pid
        name = "socket:[%d]" % inode

        def closed():
            assert self.alive(), "turnd died"
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(os.path.join(fd_dir, fd)) == name:
                        return False
                except FileNotFoundError:
                    pass                   # closed while we looked
            return True
        poll_until(closed, timeout, "turnd to close its end (%s)" % name)

    # -- addresses and clients
    def addr(self, transport="udp", family=4):
        host = "127.0.0.1" if family == 4 else "::1"
        port = self.tls_port if transport == "tls" else self.port
        return (host, port)

    def client(self, transport="udp", family=4, **kw):
        srv = self.addr(transport, family)
        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        if transport == "udp":
            return stun.UdpClient(srv, fam, **kw)
        if transport == "tcp":
            return stun.StreamClient(srv, fam, **kw)
        if transport == "tls":
            kw.setdefault("cafile", self.certs.cert)
            kw.setdefault("server_hostname", "localhost")
            return stun.StreamClient(srv, fam, tls=True, **kw)
        raise ValueError(transport)

    def binding_ok(self, transport="udp", family=4, timeout=5.0):
        """One Binding on a fresh client: the server is still answering."""
        c = self.client(transport, family)
        try:
            req = stun.binding_request()
            r = c.request(req, timeout=timeout)
            return r.cls == stun.SUCCESS and r.xor_mapped() == c.local
        finally:
            c.close()


# ------------------------------------------------------------- certificates

class Certs:
    def __init__(self, d):
        self.dir = d
        self.cert = os.path.join(d, "cert.pem")
        self.key = os.path.join(d, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", self.key, "-out", self.cert, "-days", "2",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
            check=True, capture_output=True, timeout=60)
        # Readable after a privilege drop, too.
        os.chmod(d, 0o755)
        os.chmod(self.cert, 0o644)
        os.chmod(self.key, 0o644)


def run_turnd(binary, args, timeout=15.0, cwd=None):
    """Run turnd to completion (for -V, -n, failing starts)."""
    return subprocess.run([binary] + list(args), capture_output=True,
                          text=True, timeout=timeout, cwd=cwd,
                          stdin=subprocess.DEVNULL)
