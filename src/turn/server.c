/*
 * server.c -- STUN request dispatch and the Binding method (RFC 8489
 * sections 6.3, 7.3, RFC 5780 section 6), and the requests that waited
 * for the store served again.
 *
 * Every message is checked in the order RFC 8489 7.3 gives: header
 * (else drop), FINGERPRINT (else drop), class, unknown
 * comprehension-required attributes (420), then the method.  Answers
 * are built by txn.c; the TURN methods are in turn.c.  A TURN request
 * the store must answer first waits in the worker's queue (park.h);
 * server_wake() and server_tick() take it out and serve it again from
 * the start, here, with what it held (struct txn_resume).
 */

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "store/store.h"
#include "turn/alloc.h"
#include "turn/park.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"
#include "turn/txn.h"

#define SERVER_PARK_MAX		1024	/* waiting requests per worker */
#define SERVER_PBUF		2048	/* an answer to one of them */

void
server_init(struct server *sv, const struct turnd_conf *conf,
    struct stats *st)
{
	memset(sv, 0, sizeof(*sv));
	sv->sv_conf = conf;
	sv->sv_stats = st;
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
	sv->sv_park = park_new(SERVER_PARK_MAX);
	sv->sv_pbuf = xmalloc(SERVER_PBUF);
}

void
server_clear(struct server *sv)
{
	park_free(sv->sv_park);
	sv->sv_park = NULL;
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
server_set_ratelim(struct server *sv, struct ratelim *rl)
{
	sv->sv_rl = rl;
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
	    method == STUN_METHOD_CHANNEL_BIND ||
	    method == STUN_METHOD_CONNECT ||
	    method == STUN_METHOD_CONNECTION_BIND);
}

/* server_handle(), and a request served again (resume: what it holds). */
static void
server_serve(struct server *sv, const struct server_pkt *pkt,
    const uint8_t *msg, size_t len, struct server_reply *reply,
    struct txn_resume *resume)
{
	struct stun_msg		m;
	struct txn		t;
	struct txn_extra	x;
	uint16_t		unknown[STUN_UNKNOWN_MAX];
	unsigned int		nunknown;
	int			rc;

	reply->len = 0;
	reply->change = 0;
	reply->port = 0;
	memset(&t, 0, sizeof(t));
	t.t_sv = sv;
	t.t_pkt = pkt;
	t.t_m = &m;
	t.t_reply = reply;
	t.t_resume = resume;

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
		memset(&x, 0, sizeof(x));
		x.tx_unknown = unknown;
		x.tx_nunknown = nunknown;
		txn_error_full(&t, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL, &x);
		return;
	}

	if (m.method == STUN_METHOD_BINDING)
		server_binding(&t);
	else if (server_is_turn_method(m.method) && sv->sv_allocs != NULL)
		turn_request(&t);
	else
		txn_error(&t, STUN_ERR_BAD_REQUEST, "Unsupported method");
}

void
server_handle(struct server *sv, const struct server_pkt *pkt,
    const uint8_t *msg, size_t len, struct server_reply *reply)
{
	server_serve(sv, pkt, msg, len, reply, NULL);
}

/*
 * Serve pk (taken from the queue) again from the start, with the quota
 * claim it holds; its answer goes down its path.  Frees pk.
 */
static void
server_replay(struct server *sv, struct parked *pk, int expired)
{
	const struct park_req	*r = parked_req(pk);
	struct server_pkt	 pkt;
	struct server_reply	 reply;
	struct txn_resume	 resume;

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = r->pr_transport;
	pkt.src = r->pr_src;
	pkt.local = r->pr_local;
	pkt.path = r->pr_path;
	memset(&reply, 0, sizeof(reply));
	reply.buf = sv->sv_pbuf;
	reply.cap = SERVER_PBUF;
	memset(&resume, 0, sizeof(resume));
	resume.tr_op = parked_op(pk);
	resume.tr_alloc_id = r->pr_id;
	resume.tr_resv_id = r->pr_id2;
	resume.tr_expired = expired;
	server_serve(sv, &pkt, r->pr_msg, r->pr_len, &reply, &resume);
	if (reply.len > 0)
		path_send(pkt.path, pkt.src, pkt.local, reply.buf, reply.len);
	store_op_cancel(resume.tr_op);
	parked_free(pk);
}

void
server_wake(struct server *sv, const void *tag)
{
	struct parked	*pk, *next;

	/* Serving may park anew: the woken ones are out of the queue. */
	for (pk = park_take(sv->sv_park, tag); pk != NULL; pk = next) {
		next = parked_next(pk);
		server_replay(sv, pk, 0);
	}
}

void
server_tick(struct server *sv)
{
	struct parked	*pk, *next;

	for (pk = park_take_expired(sv->sv_park, sv->sv_now); pk != NULL;
	    pk = next) {
		next = parked_next(pk);
		server_replay(sv, pk, 1);
	}
}

void
server_path_closed(struct server *sv, struct path *path,
    const struct sockaddr *client, const struct sockaddr *local)
{
	struct alloc	*a;

	if (sv->sv_allocs != NULL && (a = alloc_find(sv->sv_allocs,
	    path->p_transport, client, local)) != NULL && a->a_path == path)
		server_alloc_end(sv, a, 0);
	park_drop_path(sv->sv_park, path);
}
