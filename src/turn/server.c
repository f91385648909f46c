/*
 * server.c -- STUN request dispatch, every response's trailer, and the
 * Binding method (RFC 8489 sections 6.3, 7.3 and 9.2, RFC 5780 section 6).
 *
 * Every message is checked in the order RFC 8489 7.3 gives: header
 * (else drop), FINGERPRINT (else drop), class, unknown
 * comprehension-required attributes (420), then the method.  One
 * function builds every error response; the TURN methods are in turn.c.
 */

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "store/store.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

const char *
transport_name(enum transport t)
{
	static const char *const name[] = { "udp", "tcp", "tls", "dtls" };

	return ((unsigned int)t < sizeof(name) / sizeof(name[0]) ? name[t] :
	    "?");
}

void
server_init(struct server *sv, const struct turnd_conf *conf,
    struct stats *st)
{
	memset(sv, 0, sizeof(*sv));
	sv->sv_conf = conf;
	sv->sv_stats = st;
	TAILQ_INIT(&sv->sv_parked);
}

void
server_enable_turn(struct server *sv, struct alloc_table *allocs,
    const struct auth *auth, const struct policy *policy, struct quota *quota,
    const struct relay_ops *ops, void *net)
{
	sv->sv_allocs = allocs;
	sv->sv_auth = auth;
	sv->sv_policy = policy;
	sv->sv_quota = quota;
	sv->sv_ops = ops;
	sv->sv_net = net;
	sv->sv_rl = xcalloc(1, sizeof(*sv->sv_rl));
	sv->sv_rl->rl_seed = arc4random();
	sv->sv_pbuf = xmalloc(SERVER_PBUF);
}

void
server_clear(struct server *sv)
{
	server_park_clear(sv);
	free(sv->sv_rl);
	sv->sv_rl = NULL;
	free(sv->sv_pbuf);
	sv->sv_pbuf = NULL;
	store_realm_unref(sv->sv_realm);
	sv->sv_realm = NULL;
}

void
server_drain(struct server *sv, const struct sockaddr *alt4,
    const struct sockaddr *alt6)
{
	sv->sv_draining = 1;
	memset(sv->sv_alt, 0, sizeof(sv->sv_alt));
	if (alt4 != NULL)
		memcpy(&sv->sv_alt[0], alt4, addr_len(alt4));
	if (alt6 != NULL)
		memcpy(&sv->sv_alt[1], alt6, addr_len(alt6));
}

void
server_set_store(struct server *sv, struct store *st)
{
	sv->sv_store = st;
}

void
server_set_realm(struct server *sv, struct store_realm *sr)
{
	struct store_realm	*old = sv->sv_realm;

	sv->sv_realm = sr;
	store_realm_unref(old);
}

void
server_set_conf(struct server *sv, const struct turnd_conf *conf,
    const struct auth *auth, const struct policy *policy)
{
	sv->sv_conf = conf;
	sv->sv_auth = auth;
	sv->sv_policy = policy;
}

/*
 * May this source get another 401 or 438 this second (auth.unauth_rate)?
 * A fixed table of per-second counters indexed by a hash of the IP: no
 * state grows with the number of sources (DESIGN.md section 6); two IPs
 * that share a slot take turns owning it.
 */
int
server_unauth_allow(struct server *sv, const struct sockaddr *src)
{
	struct server_ratelimit	*rl = sv->sv_rl;
	struct rl_slot		*sl;
	uint32_t		 h;
	int			 rate = sv->sv_conf->auth_unauth_rate;

	if (rate == 0 || rl == NULL)
		return (1);
	h = addr_hash_ip(src, rl->rl_seed);
	sl = &rl->rl_slot[h % RL_SLOTS];
	if (sl->sl_key != h || sl->sl_sec != sv->sv_now) {
		sl->sl_key = h;
		sl->sl_sec = sv->sv_now;
		sl->sl_count = 0;
	}
	if (sl->sl_count >= (uint32_t)rate)
		return (0);
	sl->sl_count++;
	return (1);
}

void
txn_success(struct txn *t, struct stun_build *b)
{
	stun_build_init(b, t->t_reply->buf, t->t_reply->cap,
	    STUN_TYPE(t->t_m->method, STUN_CLASS_SUCCESS), t->t_m->tid);
}

/*
 * SOFTWARE; MESSAGE-INTEGRITY-SHA256 or MESSAGE-INTEGRITY with the
 * request's key when it was authenticated (RFC 8489 9.2.4: the response
 * uses the same algorithm); FINGERPRINT if the request carried one.
 */
void
txn_finish(struct txn *t, struct stun_build *b)
{
	const char			*sw = t->t_sv->sv_conf->software;
	const struct auth_result	*ar = t->t_ar;

	if (sw != NULL && *sw != '\0')
		stun_build_str(b, STUN_ATTR_SOFTWARE, sw);
	if (ar != NULL) {
		if (ar->ar_sha256_mi)
			stun_build_integrity_sha256(b, ar->ar_key,
			    ar->ar_keylen);
		else
			stun_build_integrity(b, ar->ar_key, ar->ar_keylen);
	}
	if (t->t_m->fp_idx >= 0)
		stun_build_fingerprint(b);
	t->t_reply->len = stun_build_finish(b);
	t->t_reply->change = 0;
	t->t_reply->port = 0;
}

static void
txn_count_error(struct stats *st, int code)
{
	STATS_INC(st, error_responses);
	switch (code) {
#define ERR_CASE(n)	case n: STATS_INC(st, err_##n); break;
	ERR_CASE(400) ERR_CASE(401) ERR_CASE(403) ERR_CASE(420)
	ERR_CASE(437) ERR_CASE(438) ERR_CASE(440) ERR_CASE(441)
	ERR_CASE(300) ERR_CASE(442) ERR_CASE(443) ERR_CASE(486)
	ERR_CASE(500) ERR_CASE(508)
#undef ERR_CASE
	}
}

/* The one place error responses are begun: header, ERROR-CODE. */
void
txn_error_build(struct txn *t, int code, const char *reason,
    struct stun_build *b)
{
	char	addr[ADDR_STRLEN];

	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("%s %s: error %d %s",
		    addr_fmt(t->t_pkt->src, addr, sizeof(addr)),
		    stun_method_name(t->t_m->method), code,
		    reason != NULL ? reason : stun_err_reason(code));
	stun_build_init(b, t->t_reply->buf, t->t_reply->cap,
	    STUN_TYPE(t->t_m->method, STUN_CLASS_ERROR), t->t_m->tid);
	stun_build_error(b, code, reason);
}

/* ... and ended (the trailer), and counted. */
void
txn_error_end(struct txn *t, struct stun_build *b, int code)
{
	txn_finish(t, b);
	if (t->t_reply->len > 0)
		txn_count_error(t->t_sv->sv_stats, code);
}

/* An error response, with unknown for a 420. */
static void
txn_error_full(struct txn *t, int code, const char *reason,
    const uint16_t *unknown, unsigned int nunknown)
{
	struct stun_build	b;

	txn_error_build(t, code, reason, &b);
	if (nunknown > 0)
		stun_build_unknown(&b, unknown, nunknown);
	txn_error_end(t, &b, code);
}

void
txn_error(struct txn *t, int code, const char *reason)
{
	txn_error_full(t, code, reason, NULL, 0);
}

/*
 * Unknown comprehension-required attributes, plus the RFC 5780 ones when
 * this socket cannot honour them (RFC 5780 section 6.1: a server without
 * an alternate address treats CHANGE-REQUEST as unknown).
 */
static unsigned int
server_unknown(const struct server_pkt *pkt, const struct stun_msg *m,
    uint16_t *out, unsigned int max)
{
	static const uint16_t	 rfc5780_only[] = {
		STUN_ATTR_CHANGE_REQUEST, STUN_ATTR_RESPONSE_PORT
	};
	unsigned int		 n, i;

	n = stun_msg_unknown(m, out, max);
	if (pkt->origin != NULL || m->method != STUN_METHOD_BINDING)
		return (n);
	for (i = 0; i < sizeof(rfc5780_only) / sizeof(rfc5780_only[0]); i++)
		if (n < max && stun_msg_find(m, rfc5780_only[i]) != NULL)
			out[n++] = rfc5780_only[i];
	return (n);
}

/*
 * Binding (RFC 8489 section 7.3.1): XOR-MAPPED-ADDRESS, MAPPED-ADDRESS
 * when configured for RFC 3489-era clients, and with RFC 5780 on,
 * RESPONSE-ORIGIN and OTHER-ADDRESS, honouring CHANGE-REQUEST and
 * RESPONSE-PORT.
 */
static void
server_binding(struct txn *t)
{
	const struct server_pkt	*pkt = t->t_pkt;
	const struct stun_attr	*a;
	struct stun_build	 b;
	uint32_t		 flags;
	unsigned int		 change = 0;
	uint16_t		 port = 0;

	if (pkt->origin != NULL &&
	    (a = stun_msg_find(t->t_m, STUN_ATTR_CHANGE_REQUEST)) != NULL) {
		if (stun_attr_get_u32(a, &flags) == -1) {
			txn_error(t, STUN_ERR_BAD_REQUEST,
			    "Bad CHANGE-REQUEST");
			return;
		}
		if (flags & STUN_CHANGE_IP)
			change |= 2;
		if (flags & STUN_CHANGE_PORT)
			change |= 1;
	}
	if (pkt->origin != NULL &&
	    (a = stun_msg_find(t->t_m, STUN_ATTR_RESPONSE_PORT)) != NULL) {
		/* RFC 5780 7.5: a 16-bit port, then 16 bits of padding. */
		if (stun_attr_get_u32(a, &flags) == -1 || flags >> 16 == 0) {
			txn_error(t, STUN_ERR_BAD_REQUEST,
			    "Bad RESPONSE-PORT");
			return;
		}
		port = (uint16_t)(flags >> 16);
	}

	txn_success(t, &b);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, pkt->src);
	if (t->t_sv->sv_conf->stun_mapped_address)
		stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, pkt->src);
	if (pkt->origin != NULL) {
		stun_build_addr(&b, STUN_ATTR_RESPONSE_ORIGIN,
		    pkt->origin[change]);
		stun_build_addr(&b, STUN_ATTR_OTHER_ADDRESS, pkt->origin[3]);
	}
	txn_finish(t, &b);
	t->t_reply->change = change;
	t->t_reply->port = port;
	if (t->t_reply->len > 0)
		STATS_INC(t->t_sv->sv_stats, binding_success);
}

static int
server_is_turn_method(uint16_t method)
{
	return (method == STUN_METHOD_ALLOCATE ||
	    method == STUN_METHOD_REFRESH ||
	    method == STUN_METHOD_CREATE_PERMISSION ||
	    method == STUN_METHOD_CHANNEL_BIND);
}

void
server_handle(struct server *sv, const struct server_pkt *pkt,
    const uint8_t *msg, size_t len, struct server_reply *reply)
{
	struct stun_msg	m;
	struct txn	t;
	uint16_t	unknown[STUN_UNKNOWN_MAX];
	unsigned int	nunknown;
	int		rc;

	reply->len = 0;
	reply->change = 0;
	reply->port = 0;
	memset(&t, 0, sizeof(t));
	t.t_sv = sv;
	t.t_pkt = pkt;
	t.t_m = &m;
	t.t_reply = reply;

	rc = stun_msg_parse(&m, msg, len);
	if (rc == STUN_PARSE_NOTSTUN) {
		STATS_INC(sv->sv_stats, dropped_notstun);
		return;
	}
	if (rc == STUN_PARSE_MALFORMED) {
		/* The header is sound: a request can still be told. */
		if (m.cls == STUN_CLASS_REQUEST) {
			STATS_INC(sv->sv_stats, stun_requests);
			m.fp_idx = -1;
			txn_error(&t, STUN_ERR_BAD_REQUEST,
			    "Malformed attributes");
		} else
			STATS_INC(sv->sv_stats, dropped_malformed);
		return;
	}
	if (stun_msg_check_fingerprint(&m) == -1) {
		STATS_INC(sv->sv_stats, dropped_fingerprint);
		return;
	}

	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		break;
	case STUN_CLASS_INDICATION:
		STATS_INC(sv->sv_stats, stun_indications);
		/* A Binding indication is a keepalive: no answer (7.3.2). */
		if (m.method == STUN_METHOD_SEND && sv->sv_allocs != NULL)
			turn_send_indication(sv, pkt, &m);
		return;
	default:
		/* Responses are never expected by a server. */
		STATS_INC(sv->sv_stats, dropped_other);
		return;
	}

	STATS_INC(sv->sv_stats, stun_requests);
	nunknown = server_unknown(pkt, &m, unknown, STUN_UNKNOWN_MAX);
	if (nunknown > 0) {
		txn_error_full(&t, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL, unknown,
		    nunknown);
		return;
	}

	if (m.method == STUN_METHOD_BINDING)
		server_binding(&t);
	else if (server_is_turn_method(m.method) && sv->sv_allocs != NULL)
		turn_request(&t);
	else
		txn_error(&t, STUN_ERR_BAD_REQUEST, "Unsupported method");
}
