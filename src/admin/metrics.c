/*
 * metrics.c -- the /metrics, /healthz and /readyz pages (metrics.h).
 *
 * Every figure is read when the page is asked for: the workers' counters
 * (relaxed atomic loads, summed), the gauges they keep, the Redis
 * connections' figures (rconn_stats) and each worker's loop lag.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "admin/metrics.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/rconn.h"
#include "turn/stats.h"

struct metrics {
	const struct turnd_conf	*mt_conf;	/* a reference (conf.h) */
	struct evhttp		*mt_http;
	struct metrics_source	 mt_src;
	int			 mt_fd;		/* the listener */
	time_t			 mt_started;
};

/* One line of a labelled family: name{label="value"} n. */
struct mrow {
	const char	*mr_label;	/* label value; NULL: no label */
	size_t		 mr_off;	/* of the counter in struct stats */
};

#define ROW(lv, field)	{ lv, offsetof(struct stats, field) }
#define END		{ NULL, 0 }

static uint64_t
stat_at(const struct stats *st, size_t off)
{
	return (atomic_load_explicit((const _Atomic uint64_t *)
	    (const void *)((const char *)st + off), memory_order_relaxed));
}

/* A family: # HELP, # TYPE, then its rows. */
static void
family(struct evbuffer *b, const struct stats *st, const char *name,
    const char *type, const char *help, const char *label,
    const struct mrow *rows)
{
	const struct mrow	*r;

	evbuffer_add_printf(b, "# HELP turnd_%s %s\n# TYPE turnd_%s %s\n",
	    name, help, name, type);
	for (r = rows; r->mr_label != NULL || r == rows; r++) {
		if (r->mr_label == NULL) {
			evbuffer_add_printf(b, "turnd_%s %llu\n", name,
			    (unsigned long long)stat_at(st, r->mr_off));
			break;
		}
		evbuffer_add_printf(b, "turnd_%s{%s=\"%s\"} %llu\n", name,
		    label, r->mr_label,
		    (unsigned long long)stat_at(st, r->mr_off));
	}
}

/* RFC 6062 TCP relays (turnd(8) TCP relays). */
static void
render_tcp(struct evbuffer *b, const struct stats *st)
{
	static const struct mrow conns[] = {
		ROW(NULL, tcp_conns) };
	static const struct mrow opened[] = {
		ROW("connect", tcp_connects), ROW("peer", tcp_attempts), END };
	static const struct mrow binds[] = {
		ROW(NULL, tcp_binds) };
	static const struct mrow failed[] = {
		ROW("connect_refused", tcp_connect_refused),
		ROW("connect_timeout", tcp_connect_timeout),
		ROW("peer_refused", tcp_peer_refused),
		ROW("bind_timeout", tcp_bind_timeout),
		ROW("reset", tcp_resets), END };
	static const struct mrow bytes[] = {
		ROW("client_to_peer", tcp_bytes_out),
		ROW("peer_to_client", tcp_bytes_in), END };

	family(b, st, "tcp_relay_connections", "gauge",
	    "RFC 6062 peer connections open.", NULL, conns);
	family(b, st, "tcp_relay_opened_total", "counter",
	    "Peer connections made by Connect or by a peer connecting in.",
	    "how", opened);
	family(b, st, "tcp_relay_binds_total", "counter",
	    "ConnectionBinds that made a data connection.", NULL, binds);
	family(b, st, "tcp_relay_failures_total", "counter",
	    "TCP relay connections that failed or ended badly, by reason.",
	    "reason", failed);
	family(b, st, "tcp_relay_bytes_total", "counter",
	    "Bytes relayed over TCP relays, by direction.", "direction",
	    bytes);
}

/* The DTLS listener (src/net/dtls.c): the dtls_* counters of turnd(8). */
static void
render_dtls(struct evbuffer *b, const struct stats *st)
{
	static const struct mrow dtls_hvr[] = {
		ROW(NULL, dtls_hello_verify) };
	static const struct mrow dtls_refused[] = {
		ROW("not_client_hello", dtls_dropped),
		ROW("connection_limit", dtls_rejected),
		ROW("handshake_limit", dtls_handshake_limited), END };
	static const struct mrow dtls_hs[] = {
		ROW("ok", dtls_handshakes), ROW("failed", dtls_handshake_failed),
		ROW("timeout", dtls_handshake_timeout), END };
	static const struct mrow dtls_closed[] = {
		ROW("close_notify", dtls_closed_notify),
		ROW("error", dtls_closed_error), ROW("idle", dtls_closed_idle),
		END };
	static const struct mrow dtls_sendfail[] = {
		ROW(NULL, dtls_send_failed) };

	family(b, st, "dtls_hello_verify_total", "counter",
	    "DTLS HelloVerifyRequests (cookies) sent.", NULL, dtls_hvr);
	family(b, st, "dtls_refused_total", "counter",
	    "DTLS datagrams from sources without an association that made "
	    "none, by reason.", "reason", dtls_refused);
	family(b, st, "dtls_handshakes_total", "counter",
	    "DTLS handshakes, by result.", "result", dtls_hs);
	family(b, st, "dtls_closed_total", "counter",
	    "DTLS associations ended, by reason.", "reason", dtls_closed);
	family(b, st, "dtls_send_failed_total", "counter",
	    "DTLS records that could not be written.", NULL, dtls_sendfail);
}

static void
render_stats(struct evbuffer *b, const struct stats *st)
{
	static const struct mrow requests[] = {
		ROW(NULL, stun_requests) };
	static const struct mrow indications[] = {
		ROW(NULL, stun_indications) };
	static const struct mrow bindings[] = {
		ROW(NULL, binding_success) };
	static const struct mrow errors[] = {
		ROW("300", err_300), ROW("400", err_400), ROW("401", err_401), ROW("403", err_403),
		ROW("420", err_420), ROW("437", err_437), ROW("438", err_438),
		ROW("440", err_440), ROW("441", err_441), ROW("442", err_442),
		ROW("443", err_443), ROW("446", err_446), ROW("447", err_447),
		ROW("486", err_486), ROW("500", err_500), ROW("508", err_508), END };
	static const struct mrow by_transport[] = {
		ROW("udp", allocs_udp), ROW("tcp", allocs_tcp),
		ROW("tls", allocs_tls), ROW("dtls", allocs_dtls), END };
	static const struct mrow by_family[] = {
		ROW("ipv4", allocs_ipv4), ROW("ipv6", allocs_ipv6), END };
	static const struct mrow created[] = {
		ROW(NULL, alloc_created) };
	static const struct mrow ended[] = {
		ROW("deleted", alloc_deleted), ROW("expired", alloc_expired),
		END };
	static const struct mrow pkts[] = {
		ROW("client_to_peer", relay_pkts_out),
		ROW("peer_to_client", relay_pkts_in), END };
	static const struct mrow bytes[] = {
		ROW("client_to_peer", relay_bytes_out),
		ROW("peer_to_client", relay_bytes_in), END };
	static const struct mrow auth[] = {
		ROW("ok", auth_ok), ROW("challenge", auth_challenge),
		ROW("rejected", auth_rejected), ROW("stale_nonce", auth_stale),
		ROW("malformed", auth_malformed),
		ROW("store_unavailable", auth_unavailable), END };
	static const struct mrow dropped[] = {
		ROW("no_allocation", dropped_no_alloc),
		ROW("no_permission", dropped_no_perm),
		ROW("denied_peer", dropped_denied_peer),
		ROW("rate_limited", dropped_ratelimited),
		ROW("bandwidth", dropped_bandwidth),
		ROW("user_bandwidth", dropped_user_bandwidth),
		ROW("not_stun", dropped_notstun),
		ROW("not_demultiplexed", dropped_demux),
		ROW("malformed", dropped_malformed),
		ROW("bad_fingerprint", dropped_fingerprint),
		ROW("unbound_channel", dropped_chandata),
		ROW("unexpected", dropped_other),
		ROW("send_failed", udp_send_errors), END };
	static const struct mrow conns[] = {
		ROW("accepted", conn_accepted), ROW("rejected", conn_rejected),
		END };
	static const struct mrow closed[] = {
		ROW("garbage", conn_closed_garbage),
		ROW("idle", conn_closed_idle), ROW("stall", conn_closed_stall),
		ROW("backlog", conn_closed_backlog), END };
	static const struct mrow tlsfail[] = {
		ROW(NULL, tls_handshake_failed) };
	static const struct mrow proxy[] = {
		ROW("ok", proxy_ok), ROW("bad", proxy_bad),
		ROW("timeout", proxy_timeout), ROW("refused", proxy_refused),
		END };
	static const struct mrow paused[] = {
		ROW(NULL, accept_paused) };
	static const struct mrow waits[] = {
		ROW(NULL, store_waits) };
	static const struct mrow redirected[] = {
		ROW(NULL, alloc_redirected) };

	family(b, st, "stun_requests_total", "counter",
	    "STUN requests handled.", NULL, requests);
	family(b, st, "stun_indications_total", "counter",
	    "STUN indications received.", NULL, indications);
	family(b, st, "binding_success_total", "counter",
	    "Binding success responses sent.", NULL, bindings);
	family(b, st, "error_responses_total", "counter",
	    "STUN error responses sent, by code.", "code", errors);
	family(b, st, "allocations", "gauge",
	    "Live allocations, by client transport.", "transport",
	    by_transport);
	family(b, st, "allocations_by_family", "gauge",
	    "Live relayed addresses, by family (a dual allocation has two).",
	    "family", by_family);
	family(b, st, "allocations_created_total", "counter",
	    "Allocations made.", NULL, created);
	family(b, st, "allocations_ended_total", "counter",
	    "Allocations ended, by Refresh or connection close (deleted) "
	    "or expiry.", "reason", ended);
	family(b, st, "relayed_packets_total", "counter",
	    "Datagrams relayed, by direction.", "direction", pkts);
	family(b, st, "relayed_bytes_total", "counter",
	    "Payload bytes relayed, by direction.", "direction", bytes);
	family(b, st, "auth_total", "counter",
	    "Results of TURN authentication.", "result", auth);
	family(b, st, "dropped_total", "counter",
	    "Packets dropped, by reason.", "reason", dropped);
	family(b, st, "connections_total", "counter",
	    "TCP and TLS connections accepted, and refused over a limit.",
	    "result", conns);
	family(b, st, "connections_closed_total", "counter",
	    "TCP and TLS connections closed by turnd, by reason.", "reason",
	    closed);
	family(b, st, "tls_handshake_failures_total", "counter",
	    "TLS connections that ended before the handshake completed.",
	    NULL, tlsfail);
	family(b, st, "proxy_headers_total", "counter",
	    "PROXY protocol headers (listen.proxy_from), by result.", "result",
	    proxy);
	render_dtls(b, st);
	family(b, st, "accept_paused_total", "counter",
	    "Times a TCP or TLS listener paused accepting, out of descriptors.",
	    NULL, paused);
	family(b, st, "store_waits_total", "counter",
	    "Requests that waited for an answer from Redis.", NULL, waits);
	family(b, st, "allocations_refused_draining_total", "counter",
	    "Allocate requests refused (300 or 508) while draining.", NULL,
	    redirected);
}

static void
render_redis(struct evbuffer *b, const struct turnd_conf *conf)
{
	struct rconn_stats	rs;
	unsigned int		i;

	if (strcmp(conf->store_backend, "redis") != 0)
		return;
	rconn_stats(&rs);
	evbuffer_add_printf(b,
	    "# HELP turnd_redis_connections Connections to Redis, by state.\n"
	    "# TYPE turnd_redis_connections gauge\n"
	    "turnd_redis_connections{state=\"up\"} %llu\n"
	    "turnd_redis_connections{state=\"down\"} %llu\n"
	    "# HELP turnd_redis_lost_total Times a Redis connection was lost "
	    "or dropped.\n"
	    "# TYPE turnd_redis_lost_total counter\n"
	    "turnd_redis_lost_total %llu\n"
	    "# HELP turnd_redis_command_duration_seconds Time from sending a "
	    "Redis command to its answer.\n"
	    "# TYPE turnd_redis_command_duration_seconds histogram\n",
	    (unsigned long long)rs.rs_up,
	    (unsigned long long)(rs.rs_conns - rs.rs_up),
	    (unsigned long long)rs.rs_lost);
	for (i = 0; i < RCONN_BUCKETS; i++)
		evbuffer_add_printf(b, "turnd_redis_command_duration_seconds_"
		    "bucket{le=\"%g\"} %llu\n", rconn_bucket_le[i],
		    (unsigned long long)rs.rs_bucket[i]);
	evbuffer_add_printf(b,
	    "turnd_redis_command_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "turnd_redis_command_duration_seconds_sum %.6f\n"
	    "turnd_redis_command_duration_seconds_count %llu\n",
	    (unsigned long long)rs.rs_cmds, (double)rs.rs_cmd_us / 1e6,
	    (unsigned long long)rs.rs_cmds);
}

/* The live upgrade (turnd(8) LIVE UPGRADE). */
static void
render_upgrade(struct evbuffer *b, const struct metrics_source *src,
    const struct stats *st, unsigned int nworkers)
{
	static const struct mrow moved[] = {
		ROW("in", alloc_moved_in), ROW("out", alloc_moved_out), END };
	unsigned int	gen, i;
	uint64_t	ok, failed;

	src->ms_upgrades(src->ms_arg, &gen, &ok, &failed);
	evbuffer_add_printf(b,
	    "# HELP turnd_generation 1 for a process started, 1 more than "
	    "the process it took over from.\n"
	    "# TYPE turnd_generation gauge\n"
	    "turnd_generation %u\n"
	    "# HELP turnd_upgrades_total Live upgrades this process started, "
	    "by outcome.\n"
	    "# TYPE turnd_upgrades_total counter\n"
	    "turnd_upgrades_total{result=\"ok\"} %llu\n"
	    "turnd_upgrades_total{result=\"failed\"} %llu\n", gen,
	    (unsigned long long)ok, (unsigned long long)failed);
	family(b, st, "allocations_moved_total", "counter",
	    "Allocations taken over from the old process (in) or handed to "
	    "the new one (out).", "direction", moved);
	evbuffer_add_printf(b,
	    "# HELP turnd_handover_freeze_seconds How long each worker was "
	    "frozen when this process took it over.\n"
	    "# TYPE turnd_handover_freeze_seconds gauge\n");
	for (i = 0; i < nworkers; i++)
		evbuffer_add_printf(b, "turnd_handover_freeze_seconds"
		    "{worker=\"%u\"} %.6f\n", i,
		    (double)src->ms_freeze_us(src->ms_arg, i) / 1e6);
}

void
metrics_render(struct metrics *mt, struct evbuffer *b)
{
	const struct metrics_source	*src = &mt->mt_src;
	struct stats			 sum;
	unsigned int			 i, n;

	memset(&sum, 0, sizeof(sum));
	src->ms_stats(src->ms_arg, &sum);
	evbuffer_add_printf(b,
	    "# HELP turnd_info turnd's version and store backend.\n"
	    "# TYPE turnd_info gauge\n"
	    "turnd_info{version=\"%s\",store=\"%s\"} 1\n"
	    "# HELP turnd_start_time_seconds When turnd started, in seconds "
	    "since the epoch.\n"
	    "# TYPE turnd_start_time_seconds gauge\n"
	    "turnd_start_time_seconds %lld\n"
	    "# HELP turnd_ready 1 while new allocations are accepted, 0 while "
	    "draining.\n"
	    "# TYPE turnd_ready gauge\n"
	    "turnd_ready %d\n",
	    PACKAGE_VERSION, mt->mt_conf->store_backend,
	    (long long)mt->mt_started, src->ms_ready(src->ms_arg));
	render_stats(b, &sum);
	render_tcp(b, &sum);
	render_redis(b, mt->mt_conf);
	n = src->ms_nworkers(src->ms_arg);
	evbuffer_add_printf(b,
	    "# HELP turnd_worker_loop_lag_seconds How late each worker's "
	    "once-a-second timer last ran.\n"
	    "# TYPE turnd_worker_loop_lag_seconds gauge\n");
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "turnd_worker_loop_lag_seconds"
		    "{worker=\"%u\"} %.6f\n", i,
		    (double)src->ms_lag_us(src->ms_arg, i) / 1e6);
	render_upgrade(b, src, &sum, n);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, body);
}

static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics	*mt = arg;
	struct evbuffer	*b;
	const char	*path;
	int		 ready;

	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "/";
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evbuffer_add_printf(b, "only GET\n");
		reply_text(req, 405, "Method Not Allowed", "text/plain", b);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_render(mt, b);
		reply_text(req, HTTP_OK, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", b);
	} else if (strcmp(path, "/healthz") == 0) {
		evbuffer_add_printf(b, "ok\n");
		reply_text(req, HTTP_OK, "OK", "text/plain", b);
	} else if (strcmp(path, "/readyz") == 0) {
		ready = mt->mt_src.ms_ready(mt->mt_src.ms_arg);
		evbuffer_add_printf(b, "%s\n", ready ? "ready" : "draining");
		reply_text(req, ready ? HTTP_OK : 503, ready ? "OK" :
		    "Service Unavailable", "text/plain", b);
	} else {
		evbuffer_add_printf(b, "not found; try /metrics, /healthz "
		    "or /readyz\n");
		reply_text(req, HTTP_NOTFOUND, "Not Found", "text/plain", b);
	}
	evbuffer_free(b);
}

int
metrics_bind(const struct turnd_conf *conf, char *err, size_t errlen)
{
	const struct sockaddr	*sa;
	char			 buf[ADDR_STRLEN];
	int			 fd, on = 1;

	if (!conf->metrics_listen.ca_set)
		return (-1);
	sa = (const struct sockaddr *)&conf->metrics_listen.ca_ss;
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, sa, addr_len(sa)) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "metrics.listen: %s: %s",
		    addr_fmt(sa, buf, sizeof(buf)), strerror(errno));
		if (fd != -1)
			close(fd);
		return (-2);
	}
	return (fd);
}

struct metrics *
metrics_new(const struct turnd_conf *conf, struct event_base *base, int fd,
    const struct metrics_source *src)
{
	struct metrics	*mt;

	mt = xcalloc(1, sizeof(*mt));
	mt->mt_conf = conf_ref(conf);
	mt->mt_src = *src;
	mt->mt_fd = fd;
	mt->mt_started = time(NULL);
	if ((mt->mt_http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(mt->mt_http, fd) == -1)
		fatalx("%s: cannot serve metrics", __func__);
	evhttp_set_allowed_methods(mt->mt_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(mt->mt_http, 8192);
	evhttp_set_max_body_size(mt->mt_http, 0);
	evhttp_set_timeout(mt->mt_http, 10);
	evhttp_set_gencb(mt->mt_http, metrics_http_cb, mt);
	return (mt);
}

int
metrics_fd(const struct metrics *mt)
{
	return (mt != NULL ? mt->mt_fd : -1);
}

void
metrics_free(struct metrics *mt)
{
	if (mt == NULL)
		return;
	evhttp_free(mt->mt_http);	/* closes the socket */
	conf_unref(mt->mt_conf);
	free(mt);
}
