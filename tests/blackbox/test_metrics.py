"""Prometheus metrics and health checks (metrics.listen): /metrics parses
as Prometheus text exposition (checked by the prometheus_client parser
Debian ships, and by a strict line grammar of our own), its counters and
gauges move as traffic flows, /healthz and /readyz answer, anything else
gets 404 or 405, and a busy metrics address is refused at start."""
import http.client
import re
import socket
import time

import pytest

import harness
import stun
from conftest import expect_error, expect_ok

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:                      # scripts/deps.sh --test installs it
    text_string_to_metric_families = None

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE_RE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$"
                       % (NAME, LABEL, LABEL))
HELP_RE = re.compile(r"^# HELP (%s) \S.*$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|"
                     r"untyped)$" % NAME)


def metrics_over(port):
    return {"metrics": {"listen": "127.0.0.1:%d" % port}}


def free_tcp_port():
    return harness.free_port(hosts=("127.0.0.1",), kinds=("tcp",))


def http_get(port, path, method="GET"):
    """(status, content type, body) of one request, 5 s at most."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


def parse_strict(text):
    """Our own check of the text format: every line is HELP, TYPE or a
    sample; a sample belongs to a family typed before it; no sample
    twice; values are numbers.  Returns {(name, labels): value}."""
    types, samples = {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP"):
            assert HELP_RE.match(line), line
            continue
        if line.startswith("# TYPE"):
            m = TYPE_RE.match(line)
            assert m, line
            assert m.group(1) not in types, "TYPE twice: " + line
            types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = name if name in types else base
        assert fam in types, "sample before its TYPE: " + line
        if types[fam] == "counter":
            assert name.endswith("_total"), line
        float(value)
        assert (name, labels) not in samples, "sample twice: " + line
        samples[(name, labels)] = float(value)
    return samples


def scrape(port):
    status, ctype, body = http_get(port, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    samples = parse_strict(body)
    if text_string_to_metric_families is not None:
        fams = list(text_string_to_metric_families(body))
        assert {f.name for f in fams} >= {"turnd_stun_requests",
                                          "turnd_allocations"}
    return samples


def val(samples, name, **labels):
    lab = ""
    if labels:
        lab = "{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"
    return samples[(name, lab)]


def wait_val(port, name, want, timeout=5.0, **labels):
    """Scrape until name{labels} == want: the page is made when asked,
    from counters the workers bump as they go, so a figure can lag the
    answer our client already has by a moment."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(1000):
        s = scrape(port)
        last = val(s, name, **labels)
        if last == want or time.monotonic() > deadline:
            break
        time.sleep(0.02)                 # polling interval, not a sync
    assert last == want, "%s%r: %r, wanted %r" % (name, labels, last, want)
    return s


@pytest.mark.skipif(text_string_to_metric_families is None,
                    reason="python3-prometheus-client missing")
def test_parser_available():
    """The third-party parser is there, so scrape() really uses it."""
    assert callable(text_string_to_metric_families)


def test_health_and_errors(turn_factory):
    port = free_tcp_port()
    t = turn_factory(metrics_over(port))
    assert http_get(port, "/healthz")[::2] == (200, "ok\n")
    assert http_get(port, "/readyz")[::2] == (200, "ready\n")
    assert http_get(port, "/nowhere")[0] == 404
    assert http_get(port, "/metrics", "POST")[0] == 405
    s = scrape(port)
    assert val(s, "turnd_ready") == 1
    info = [k for k in s if k[0] == "turnd_info"]
    assert len(info) == 1 and 'store="memory"' in info[0][1]
    assert t.alive()


def test_counters_move(turn_factory, turn_client, peer):
    """Binding, auth, allocation gauges, relayed packets and bytes both
    ways, drops, error codes and the end of an allocation."""
    port = free_tcp_port()
    t = turn_factory(metrics_over(port))
    s0 = scrape(port)
    assert val(s0, "turnd_allocations", transport="udp") == 0
    assert val(s0, "turnd_stun_requests_total") == 0
    assert len([k for k in s0 if k[0] == "turnd_worker_loop_lag_seconds"]) \
        == 2
    assert t.binding_ok()
    wait_val(port, "turnd_binding_success_total", 1)

    c = turn_client(t)
    expect_ok(c.allocate(), stun.ALLOCATE)
    s = wait_val(port, "turnd_allocations", 1, transport="udp")
    assert val(s, "turnd_allocations_by_family", family="ipv4") == 1
    assert val(s, "turnd_auth_total", result="challenge") == 1
    assert val(s, "turnd_auth_total", result="ok") == 1
    assert val(s, "turnd_error_responses_total", code="401") == 1

    # no permission yet: dropped, by reason
    c.send_indication(peer.addr, b"early")
    assert peer.recv(0.3) is None
    wait_val(port, "turnd_dropped_total", 1, reason="no_permission")

    expect_ok(c.create_permission(peer.addr))
    for i in range(5):
        c.send_indication(peer.addr, b"x" * 100)
        assert peer.recv(5.0) is not None
    peer.send(b"y" * 50, c.relayed[0])
    assert c.recv_data(5.0) is not None
    s = wait_val(port, "turnd_relayed_packets_total", 5,
                 direction="client_to_peer")
    assert val(s, "turnd_relayed_bytes_total",
               direction="client_to_peer") == 500
    s = wait_val(port, "turnd_relayed_packets_total", 1,
                 direction="peer_to_client")
    assert val(s, "turnd_relayed_bytes_total",
               direction="peer_to_client") == 50

    bad = turn_client(t, password="wrong")
    expect_error(bad.allocate(), 401)
    wait_val(port, "turnd_auth_total", 1, result="rejected")

    expect_ok(c.refresh(0))
    s = wait_val(port, "turnd_allocations", 0, transport="udp")
    assert val(s, "turnd_allocations_by_family", family="ipv4") == 0
    assert val(s, "turnd_allocations_ended_total", reason="deleted") == 1
    assert val(s, "turnd_allocations_created_total") == 1


def test_tcp_and_dual_gauges(turn_factory, turn_client):
    port = free_tcp_port()
    t = turn_factory(metrics_over(port))
    c = turn_client(t, "tcp")
    expect_ok(c.allocate([stun.family_attr(stun.ADDITIONAL_ADDRESS_FAMILY,
                                           stun.FAMILY_V6)]))
    s = wait_val(port, "turnd_allocations", 1, transport="tcp")
    assert val(s, "turnd_allocations_by_family", family="ipv4") == 1
    assert val(s, "turnd_allocations_by_family", family="ipv6") == 1
    c.close()                            # the connection owns it
    s = wait_val(port, "turnd_allocations", 0, transport="tcp")
    assert val(s, "turnd_allocations_by_family", family="ipv6") == 0


def test_busy_address_refused(turnd_bin, tmp_path, certs):
    """A metrics.listen address in use is refused at start, by name."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        t = harness.Turnd(turnd_bin, str(tmp_path), certs,
                          overrides=metrics_over(port))
        t.start(wait=False)
        rc = t.proc.wait(15)
        assert rc == 1
        assert "metrics.listen: 127.0.0.1:%d" % port in t.log_text() + \
            t.stderr_text()
    finally:
        busy.close()
