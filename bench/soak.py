#!/usr/bin/python3
"""soak.py -- turnd (the ASan build by default) under allocation churn
with relaying and a reload every 30 s, for a given time; RSS and open
descriptors sampled as it goes, a table, and a verdict on growth after
the warm-up.  A soak, not a test: nothing here runs in the suite.

    bench/soak.py [-d DURATION] [-i SECONDS] [-r SECONDS] [-n SESSIONS]
                  [-w WARMUP] [--rss-bound KB] [TURND]

DURATION and WARMUP take s, m or h (default 30m, warm-up a fifth of the
duration); -i is the sampling interval (default 10 s), -r the reload
interval (default 30 s), -n the sessions churned in turn (default 8: a
quarter over TCP, one over TLS).  TURND defaults to build-asan/turnd of
the tree.  Each session allocates, binds a channel to a loopback peer,
relays 1 to 40 packets both ways in lock-step, and releases (Refresh 0
over UDP, closing the connection over TCP/TLS); then a new 5-tuple
starts.  Each reload goes through the control socket and alternates
relay.max_bps (applied) and limits.connections (kept until a restart).

The verdict passes when turnd never stopped answering, every packet and
request came through, the resident size grew less than --rss-bound kB
(default 2048; an ASan turnd's is judged only when --rss-bound is given:
its allocator's RSS grows by itself under churn, about 0.6 MB a minute
here while the normal build stays flat) from the first sample after the
warm-up to the last, the
descriptors once the churn has stopped and the last allocation ended
are as many as before the first allocation, and turnd exits 0 on
SIGTERM with no sanitizer report.  Unless ASAN_OPTIONS is set, an ASan
turnd runs with quarantine_size_mb=16: the default 256 MB quarantine
holds freed memory and would hide a leak in RSS for a long while.
"""

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TREE, "tests", "blackbox"))

import harness  # noqa: E402
import stun     # noqa: E402


def seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("not a duration: %r" % text)
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def live_allocations(path):
    ok, body = harness.control(path, "status")
    m = re.search(r"^allocations: (\d+)", body, re.M)
    if not ok or not m:
        raise RuntimeError("status: %r" % body)
    return int(m.group(1))


class Session:
    """One churned client: allocate, channel, relay, release, again."""

    def __init__(self, soak, transport, idx):
        self.soak, self.transport, self.idx = soak, transport, idx
        self.c = None
        self.left = 0

    def start(self):
        s = self.soak
        # a released 5-tuple may come back: its allocation has ended (the
        # test client's rule of never reusing a port would run out of
        # ephemeral ports in a long soak)
        kw = {"bind": ("127.0.0.1", 0)} if self.transport == "udp" else {}
        self.c = stun.TurnClient(s.t.client(self.transport, **kw))
        r = self.c.allocate()
        if r.cls != stun.SUCCESS:
            raise RuntimeError("allocate over %s: %r" % (self.transport, r))
        r = self.c.channel_bind(0x4000, s.peer.addr)
        if r.cls != stun.SUCCESS:
            raise RuntimeError("channel bind: %r" % r)
        self.relayed = [a for a in self.c.relayed if ":" not in a[0]][0]
        self.left = 1 + (s.rounds + self.idx * 7) % 40
        s.allocs += 1

    def release(self):
        if self.transport == "udp":
            r = self.c.refresh(0)
            if r.cls != stun.SUCCESS:
                raise RuntimeError("refresh 0: %r" % r)
        self.c.close()
        self.c = None

    def step(self):
        """One round trip through the relay, or the start or the end."""
        s = self.soak
        if self.c is None:
            self.start()
            return
        if self.left == 0:
            self.release()
            return
        out = b"soak %d %d" % (self.idx, s.rounds)
        self.c.send_channel(0x4000, out)
        got = s.peer.recv(5.0)
        if got is None or got[0] != out:
            raise RuntimeError("to the peer: %r" % (got,))
        back = b"back %d %d" % (self.idx, s.rounds)
        s.peer.send(back, self.relayed)
        d = self.c.recv_data(5.0)
        if d != ("chan", 0x4000, back):
            raise RuntimeError("to the client: %r" % (d,))
        self.left -= 1
        s.rounds += 1


class Soak:
    def __init__(self, args):
        self.args = args
        self.rounds = self.allocs = self.reloads = self.errors = 0
        self.samples = []

    def setup(self):
        self.dir = tempfile.mkdtemp(prefix="soak", dir="/tmp")
        os.chmod(self.dir, 0o755)
        os.makedirs(os.path.join(self.dir, "certs"))
        certs = harness.Certs(os.path.join(self.dir, "certs"))
        self.ctl = os.path.join(self.dir, "ctl.sock")
        over = {
            "control": {"socket": self.ctl},
            "relay": {"addresses": ["127.0.0.1", "::1"],
                      "allow_peers": ["127.0.0.0/8", "::1/128"],
                      "min_port": 20000, "max_port": 29999},
            "auth": {"users": [{"user": "alice", "password": "secret"}],
                     "unauth_rate": 0},
        }
        self.t = harness.Turnd(self.args.turnd, os.path.join(self.dir, "t"),
                               certs, overrides=over,
                               extra={"metrics": {"listen": ""}})
        self.t.start()
        self.peer = stun.Peer("127.0.0.1")
        n = self.args.sessions
        kinds = ["tls"] + ["tcp"] * (n // 4) + ["udp"] * n
        self.sessions = [Session(self, kinds[i], i) for i in range(n)]

    def reload(self):
        odd = self.reloads % 2 == 0
        t = self.t
        t.config = harness.merge(t.config, {
            "relay": {"max_bps": 10 ** 7 if odd else 0},
            "limits": {"connections": 9999 if odd else 10000}})
        tmp = t.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(harness.render_config(t.config))
        os.rename(tmp, t.conf_path)
        ok, body = harness.control(self.ctl, "reload")
        if not ok:
            raise RuntimeError("reload: %r" % body)
        self.reloads += 1

    def sample(self, t0):
        p = proc_status(self.t.pid)
        p.update(t=time.monotonic() - t0, allocs=live_allocations(self.ctl),
                 rounds=self.rounds, made=self.allocs, reloads=self.reloads,
                 errors=self.errors)
        self.samples.append(p)
        print("%7.0f %9d %9d %5d %6d %10d %8d %7d %6d" % (
            p["t"], p["VmRSS"], p["RssAnon"], p["fds"], p["allocs"],
            p["rounds"], p["made"], p["reloads"], p["errors"]), flush=True)

    def churn(self):
        a = self.args
        t0 = self.t0 = time.monotonic()
        next_sample, next_reload = t0, t0 + a.reload
        i = 0
        print("%7s %9s %9s %5s %6s %10s %8s %7s %6s" % (
            "t(s)", "VmRSS kB", "Anon kB", "fds", "allocs", "roundtrips",
            "allocs+", "reloads", "errors"))
        for _ in range(10 ** 9):
            now = time.monotonic()
            if now >= next_sample:
                self.sample(t0)
                next_sample += a.interval
            if now - t0 >= a.duration:
                break
            if now >= next_reload:
                self.reload()
                next_reload += a.reload
            s = self.sessions[i % len(self.sessions)]
            i += 1
            try:
                s.step()
            except (RuntimeError, OSError, stun.StunError,
                    AssertionError) as e:
                self.errors += 1
                if self.errors <= 20:
                    print("# error: %s %s%s" % (s.transport, e, "" if
                          self.errors < 20 else " (no more are shown)"),
                          flush=True)
                if s.c is not None:
                    s.c.close()
                s.c = None
            if not self.t.alive():
                raise RuntimeError("turnd died")

    def quiesce(self):
        """End every session; wait for the last allocation to go."""
        for s in self.sessions:
            if s.c is not None:
                try:
                    s.release()
                except Exception as e:   # counted; the verdict says so
                    self.errors += 1
                    print("# error at release: %s" % e)
                    s.c.close()
                    s.c = None
        harness.poll_until(lambda: live_allocations(self.ctl) == 0, 30,
                           "the last allocation to end")
        return proc_status(self.t.pid)["fds"]


def verdict(soak, fds0, fds_end, rc, stderr):
    a = soak.args
    after = [s for s in soak.samples if s["t"] >= a.warmup]
    ok = True
    print()
    if len(after) < 2:
        print("verdict: too few samples after the warm-up (%d)" % len(after))
        return False
    first, last = after[0], after[-1]
    hours = max(last["t"] - first["t"], 1.0) / 3600
    growth = last["VmRSS"] - first["VmRSS"]
    anon = last["RssAnon"] - first["RssAnon"]
    rate = " (%+.0f kB/h)" % (growth / hours) if hours >= 1 / 6 else ""
    print("RSS after warm-up (t=%.0f..%.0f s): VmRSS %+d kB%s, RssAnon "
          "%+d kB, max %d kB" % (first["t"], last["t"], growth, rate, anon,
                                 max(s["VmRSS"] for s in after)))
    print("fds: %d before the first allocation, %d once the last ended"
          % (fds0, fds_end))
    print("%d round trips, %d allocations, %d reloads, %d errors; exit "
          "status %s" % (soak.rounds, soak.allocs, soak.reloads, soak.errors,
                         rc))
    if a.rss_bound is None:
        print("RSS not judged: ASan's allocator grows by itself under churn "
              "(see bench/README); --rss-bound KB judges it, or run the "
              "normal build")
    elif growth >= a.rss_bound:
        print("FAIL: VmRSS grew %d kB after the warm-up (bound %d kB)"
              % (growth, a.rss_bound))
        ok = False
    if fds_end != fds0:
        print("FAIL: %d descriptors more than at the start" % (fds_end - fds0))
        ok = False
    if soak.errors:
        print("FAIL: %d requests or packets did not come through"
              % soak.errors)
        ok = False
    if rc != 0 or "Sanitizer" in stderr or "runtime error:" in stderr:
        print("FAIL: exit status %s; stderr:\n%s" % (rc, stderr[-4000:]))
        ok = False
    print("verdict: %s" % ("PASS" if ok else "FAIL"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-d", dest="duration", type=seconds, default=1800.0)
    ap.add_argument("-i", dest="interval", type=seconds, default=10.0)
    ap.add_argument("-r", dest="reload", type=seconds, default=30.0)
    ap.add_argument("-n", dest="sessions", type=int, default=8)
    ap.add_argument("-w", dest="warmup", type=seconds, default=None)
    ap.add_argument("--rss-bound", type=int, default=None)
    ap.add_argument("turnd", nargs="?",
                    default=os.path.join(TREE, "build-asan", "turnd"))
    a = ap.parse_args()
    if a.warmup is None:
        a.warmup = a.duration / 5
    a.turnd = os.path.abspath(a.turnd)
    with open(a.turnd, "rb") as f:
        asan = b"__asan_init" in f.read()
    if asan and "ASAN_OPTIONS" not in os.environ:
        os.environ["ASAN_OPTIONS"] = "quarantine_size_mb=16"
    if a.rss_bound is None and not asan:
        a.rss_bound = 2048
    print("soak: %s%s, %.0f s, warm-up %.0f s, sample every %.0f s, reload "
          "every %.0f s, %d sessions" % (
              a.turnd, " (ASan, ASAN_OPTIONS=%s)" % os.environ[
                  "ASAN_OPTIONS"] if asan else "", a.duration, a.warmup,
              a.interval, a.reload, a.sessions))
    soak = Soak(a)
    soak.setup()
    rc, err, ok = None, "", False
    try:
        fds0 = proc_status(soak.t.pid)["fds"]
        soak.churn()
        fds_end = soak.quiesce()
        rc = soak.t.stop(signal.SIGTERM, timeout=60)
        err = soak.t.stderr_text()
        ok = verdict(soak, fds0, fds_end, rc, err)
    finally:
        soak.peer.close()
        if soak.t.alive():
            soak.t.stop(signal.SIGKILL)
        if ok:
            shutil.rmtree(soak.dir, ignore_errors=True)
        else:
            print("turnd's directory (log, stderr): %s" % soak.dir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
