/*
 * turn.c -- the TURN methods (RFC 8656): Allocate (7.2), Refresh (7.3),
 * CreatePermission (9), ChannelBind (11), and the end of an allocation.
 * Sockets and timers are the net layer's, reached through struct
 * relay_ops; the data path is in turn_data.c.
 */

#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/auth.h"
#include "turn/park.h"
#include "turn/policy.h"
#include "store/store.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

#define TURN_PEERS_MAX	16	/* XOR-PEER-ADDRESS per CreatePermission */

/* What an Allocate asks for (RFC 8656 7.2), its attributes checked. */
struct turn_areq {
	int		 aq_fam[ALLOC_FAMILIES];	/* to relay: AF_INET or
						 * the one requested, then
						 * 0 or AF_INET6 */
	int		 aq_even;	/* EVEN-PORT: 0 none, 1, 2 with R */
	int		 aq_df;		/* DONT-FRAGMENT */
	int		 aq_use_token;	/* RESERVATION-TOKEN given */
	uint64_t	 aq_token;
	time_t		 aq_life;
	int		 aq_tcp;	/* RFC 6062: REQUESTED-TRANSPORT TCP */
};

/*
 * The quota claimed for a new allocation: one slot, and a second one for
 * the reservation of EVEN-PORT with R (RFC 8656 7.2), which holds a
 * port as an allocation does; none when the RESERVATION-TOKEN brought
 * is the user's own (cl_held: that reservation's slot is handed over).
 */
struct turn_claim {
	uint64_t	 cl_id;		/* the allocation id claimed for */
	uint64_t	 cl_resv_id;	/* the reservation's; 0: none */
	int		 cl_store;	/* held in Redis: give it back if the
					 * allocation is not made */
	int		 cl_held;	/* the reservation's slot, not ours */
};

/* turn_allocate_claim(): the request has been parked or answered. */
#define TURN_ANSWERED	(-1)


static int
family_of(uint8_t v)
{
	switch (v) {
	case STUN_FAMILY_IPV4:
		return (AF_INET);
	case STUN_FAMILY_IPV6:
		return (AF_INET6);
	}
	return (-1);
}

/* The relay slot of a of family, or -1. */
static int
relay_idx(const struct alloc *a, int family)
{
	unsigned int	i;

	for (i = 0; i < ALLOC_FAMILIES; i++)
		if (a->a_relay[i].sa.sa_family == family)
			return ((int)i);
	return (-1);
}

/* relay.external of the bound address's family, with its port (1:1 NAT). */
static void
relay_advertised(const struct turnd_conf *conf,
    const union addr_in46 *bound, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out, bound, sizeof(*bound));
	(void)conf_relay_external(conf, bound->sa.sa_family,
	    addr_port(&bound->sa), out);
}

/*
 * The lifetime asked for, bounded (RFC 8656 7.2 and 7.3): 0 stays 0 (a
 * Refresh that deletes), else min(asked, max) but at least the default.
 */
static time_t
turn_lifetime(const struct txn *t, int *bad)
{
	const struct turnd_conf	*conf = t->t_sv->sv_conf;
	const struct stun_attr	*a;
	uint32_t		 v;

	*bad = 0;
	if ((a = stun_msg_find(t->t_m, STUN_ATTR_LIFETIME)) == NULL)
		return (conf->relay_default_lifetime);
	if (stun_attr_get_u32(a, &v) == -1) {
		*bad = 1;
		return (0);
	}
	if (v == 0)
		return (0);
	if (v > (uint32_t)conf->relay_max_lifetime)
		v = (uint32_t)conf->relay_max_lifetime;
	if (v < (uint32_t)conf->relay_default_lifetime)
		v = (uint32_t)conf->relay_default_lifetime;
	return ((time_t)v);
}

/* Decode a XOR-PEER-ADDRESS and check it against a and the policy. */
static int
turn_peer(struct txn *t, const struct alloc *a, const struct stun_attr *attr,
    struct sockaddr_storage *peer)
{
	const struct server	*sv = t->t_sv;

	if (stun_attr_get_xaddr(attr, t->t_m->tid, peer) == -1)
		return (STUN_ERR_BAD_REQUEST);
	if (relay_idx(a, peer->ss_family) < 0)
		return (STUN_ERR_PEER_ADDRESS_FAMILY);
	if (!policy_peer_check(sv->sv_policy, sv->sv_realm,
	    (const struct sockaddr *)peer, sv->sv_ops->ro_is_local,
	    sv->sv_net))
		return (STUN_ERR_FORBIDDEN);
	return (0);
}

/*
 * Keep the request of t until the store answers tag (op: a quota claim
 * the request holds from now on, for the ids of cl), to be served again
 * then (server_wake()) or answered 500 after
 * store.redis.command_timeout (server_tick()).  A retransmission of a
 * waiting request gets no answer; 500 when too many wait.
 */
static void
turn_park(struct txn *t, const void *tag, struct store_op *op,
    const struct turn_claim *cl)
{
	struct server		*sv = t->t_sv;
	struct park_req		 r;

	txn_park_req(t, tag, &r);
	r.pr_op = op;
	if (cl != NULL) {
		r.pr_id = cl->cl_id;
		r.pr_id2 = cl->cl_resv_id;
	}
	r.pr_deadline = sv->sv_now + sv->sv_conf->redis_command_timeout + 1;
	switch (park_put(sv->sv_park, &r)) {
	case 0:
		STATS_INC(sv->sv_stats, store_waits);
		break;
	case -1:
		txn_error(t, STUN_ERR_SERVER_ERROR,
		    "Too many requests waiting");
		break;
	}
}

/*
 * The success answer of an Allocate (again, for a retransmission of the
 * request that made a): the relayed addresses, ADDRESS-ERROR-CODE when
 * the IPv6 half of a dual allocation could not be had, LIFETIME, the
 * RESERVATION-TOKEN of an EVEN-PORT R request, XOR-MAPPED-ADDRESS.
 */
static void
turn_allocate_ok(struct txn *t, const struct alloc *a, time_t life)
{
	struct server		*sv = t->t_sv;
	struct stun_build	 b;
	struct sockaddr_storage	 adv;
	unsigned int		 i;

	txn_success(t, &b);
	for (i = 0; i < ALLOC_FAMILIES; i++) {
		if (a->a_relay[i].sa.sa_family == 0)
			continue;
		relay_advertised(sv->sv_conf, &a->a_relay[i], &adv);
		stun_build_xaddr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
		    (struct sockaddr *)&adv);
	}
	if (a->a_v6err) {
		/* RFC 8656 7.2: which family could not be had, and why */
		uint8_t	aec[4 + 64];
		size_t	rl = strlen(stun_err_reason(a->a_v6err));

		aec[0] = STUN_FAMILY_IPV6;
		aec[1] = 0;
		aec[2] = (uint8_t)(a->a_v6err / 100);
		aec[3] = (uint8_t)(a->a_v6err % 100);
		memcpy(aec + 4, stun_err_reason(a->a_v6err), rl);
		stun_build_attr(&b, STUN_ATTR_ADDRESS_ERROR_CODE, aec, 4 + rl);
	}
	stun_build_u32(&b, STUN_ATTR_LIFETIME, (uint32_t)life);
	if (a->a_token != 0)
		stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, a->a_token);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, t->t_pkt->src);
	txn_finish(t, &b);
}

/*
 * Draining: 300 with ALTERNATE-SERVER of the client's family when another
 * instance is known (RFC 8656 7.2 allows it for Allocate; the answer is
 * authenticated, so it cannot be forged to send clients elsewhere), else
 * 508.
 */
static void
turn_redirect(struct txn *t)
{
	struct server		*sv = t->t_sv;
	struct txn_extra	 x;
	int			 fam = t->t_pkt->src->sa_family;

	memset(&x, 0, sizeof(x));
	x.tx_alternate = (const struct sockaddr *)
	    &sv->sv_alt[fam == AF_INET6 ? 1 : 0];
	STATS_INC(sv->sv_stats, alloc_redirected);
	if (x.tx_alternate->sa_family == 0) {
		txn_error(t, STUN_ERR_INSUFFICIENT_CAPACITY,
		    "Server draining");
		return;
	}
	txn_error_full(t, STUN_ERR_TRY_ALTERNATE, "Server draining; use "
	    "ALTERNATE-SERVER", &x);
}

/*
 * The attributes of an Allocate after REQUESTED-TRANSPORT (RFC 8656
 * 7.2): EVEN-PORT, RESERVATION-TOKEN, REQUESTED-ADDRESS-FAMILY,
 * ADDITIONAL-ADDRESS-FAMILY, DONT-FRAGMENT and LIFETIME into *rq.
 * 0, or 400 (malformed, or a combination 7.2 forbids) or 440 (an
 * address family we do not know).
 */
static int
turn_allocate_parse(const struct txn *t, struct turn_areq *rq)
{
	const struct stun_msg	*m = t->t_m;
	const struct stun_attr	*ep, *tok, *raf, *aaf;
	uint8_t			 v;
	int			 bad;

	memset(rq, 0, sizeof(*rq));
	rq->aq_fam[0] = AF_INET;
	rq->aq_df = stun_msg_find(m, STUN_ATTR_DONT_FRAGMENT) != NULL;
	ep = stun_msg_find(m, STUN_ATTR_EVEN_PORT);
	tok = stun_msg_find(m, STUN_ATTR_RESERVATION_TOKEN);
	raf = stun_msg_find(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	aaf = stun_msg_find(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	/* Combinations RFC 8656 7.2 forbids. */
	if ((ep != NULL && tok != NULL) || (tok != NULL && raf != NULL) ||
	    (raf != NULL && aaf != NULL) || (tok != NULL && aaf != NULL))
		return (STUN_ERR_BAD_REQUEST);
	if (raf != NULL) {
		if (stun_attr_get_u8(raf, &v) == -1)
			return (STUN_ERR_BAD_REQUEST);
		if ((rq->aq_fam[0] = family_of(v)) == -1)
			return (STUN_ERR_ADDRESS_FAMILY);
	}
	if (aaf != NULL) {
		if (stun_attr_get_u8(aaf, &v) == -1 || v != STUN_FAMILY_IPV6)
			return (STUN_ERR_BAD_REQUEST);
		rq->aq_fam[1] = AF_INET6;
	}
	if (ep != NULL) {
		if (stun_attr_get_u8(ep, &v) == -1)
			return (STUN_ERR_BAD_REQUEST);
		rq->aq_even = (v & 0x80) ? 2 : 1;
	}
	if (tok != NULL) {
		if (stun_attr_get_u64(tok, &rq->aq_token) == -1)
			return (STUN_ERR_BAD_REQUEST);
		rq->aq_use_token = 1;
	}
	rq->aq_life = turn_lifetime(t, &bad);
	if (bad)
		return (STUN_ERR_BAD_REQUEST);
	if (rq->aq_life == 0)
		rq->aq_life = t->t_sv->sv_conf->relay_default_lifetime;
	return (0);
}

/* Give back what cl holds of quota_id: here, and in Redis if there. */
static void
turn_claim_release(struct server *sv, const char *quota_id,
    const struct turn_claim *cl)
{
	if (cl->cl_held)
		return;
	quota_release(sv->sv_quota, quota_id);
	if (cl->cl_resv_id != 0)
		quota_release(sv->sv_quota, quota_id);
	if (!cl->cl_store)
		return;
	store_quota_release(sv->sv_store, quota_id, cl->cl_id);
	if (cl->cl_resv_id != 0)
		store_quota_release(sv->sv_store, quota_id, cl->cl_resv_id);
}

/* This instance's count: one slot, two with a reservation; 0 or -1. */
static int
turn_claim_local(struct server *sv, const char *quota_id,
    const struct turn_claim *cl)
{
	if (quota_acquire(sv->sv_quota, quota_id) == -1)
		return (-1);
	if (cl->cl_resv_id != 0 &&
	    quota_acquire(sv->sv_quota, quota_id) == -1) {
		quota_release(sv->sv_quota, quota_id);
		return (-1);
	}
	return (0);
}

/*
 * The ids of a new claim, or those of the claim the request waited for,
 * into cl; that claim's op.  1 when the RESERVATION-TOKEN brought holds
 * a slot of the same user: nothing more to claim.
 */
static int
turn_claim_ids(struct txn *t, const struct turn_areq *rq,
    struct turn_claim *cl, struct store_op **op)
{
	struct server	*sv = t->t_sv;

	memset(cl, 0, sizeof(*cl));
	*op = NULL;
	if (t->t_resume != NULL && t->t_resume->tr_op != NULL) {
		*op = t->t_resume->tr_op;
		cl->cl_id = t->t_resume->tr_alloc_id;
		cl->cl_resv_id = t->t_resume->tr_resv_id;
		t->t_resume->tr_op = NULL;
		return (0);
	}
	if (rq->aq_use_token && sv->sv_ops->ro_held(sv->sv_net, rq->aq_token,
	    t->t_ar->ar_quota_id, &cl->cl_id)) {
		cl->cl_held = 1;
		return (1);
	}
	cl->cl_id = store_alloc_id();
	if (rq->aq_even == 2)
		cl->cl_resv_id = store_alloc_id();
	return (0);
}

/*
 * The per-user quota for a new allocation (and its reservation): across
 * instances in Redis first (the request may wait for the answer: parked,
 * and served again with the claim in t_resume), then this instance's own
 * count.  0 with *cl filled; 486; or TURN_ANSWERED (parked, or 500 when
 * too many wait).
 */
static int
turn_allocate_claim(struct txn *t, const struct turn_areq *rq,
    struct turn_claim *cl)
{
	struct server			*sv = t->t_sv;
	const struct auth_result	*ar = t->t_ar;
	struct store_op			*op;
	struct store_claim		 sc;
	enum store_rc			 src;

	if (turn_claim_ids(t, rq, cl, &op) == 1)
		return (0);
	if (sv->sv_store != NULL) {
		sc.sc_id = cl->cl_id;
		sc.sc_expires = sv->sv_now + rq->aq_life;
		sc.sc_resv_id = cl->cl_resv_id;
		sc.sc_resv_expires = sv->sv_now +
		    sv->sv_conf->relay_reservation_lifetime;
		src = store_quota_claim(sv->sv_store, ar->ar_quota_id,
		    turn_user_quota(sv), &sc, &op);
		if (src == STORE_PENDING) {
			turn_park(t, op, op, cl);
			return (TURN_ANSWERED);
		}
		if (src == STORE_FULL)
			return (STUN_ERR_ALLOCATION_QUOTA);
		cl->cl_store = src == STORE_OK && store_is_redis(sv->sv_store);
	}
	if (turn_claim_local(sv, ar->ar_quota_id, cl) == -1) {
		if (cl->cl_store) {
			store_quota_release(sv->sv_store, ar->ar_quota_id,
			    cl->cl_id);
			if (cl->cl_resv_id != 0)
				store_quota_release(sv->sv_store,
				    ar->ar_quota_id, cl->cl_resv_id);
		}
		return (STUN_ERR_ALLOCATION_QUOTA);
	}
	return (0);
}

/*
 * Make the allocation of t's 5-tuple with the quota of cl: its relayed
 * address (the reserved socket of a RESERVATION-TOKEN, else a new one;
 * then the IPv6 one of a dual request, whose failure only leaves
 * ADDRESS-ERROR-CODE in the answer), its timer, and its mirror in the
 * store.  0 with *ap set; or the error of the relay (508, 440), after
 * undoing everything: no allocation, both quota claims given back.
 */
static int
turn_allocate_create(struct txn *t, const struct turn_areq *rq,
    const struct turn_claim *cl, struct alloc **ap)
{
	struct server			*sv = t->t_sv;
	const struct auth_result	*ar = t->t_ar;
	struct alloc			*a;
	uint64_t			 token = rq->aq_token;
	int				 code, v6err = 0;

	a = alloc_new(sv->sv_allocs, t->t_pkt->transport, t->t_pkt->src,
	    t->t_pkt->local);
	a->a_id = cl->cl_id;
	a->a_created = sv->sv_now;
	a->a_lifetime = (int)rq->aq_life;
	alloc_set_user(a, ar->ar_user, ar->ar_quota_id);
	a->a_ubw = quota_bw_get(sv->sv_quota, ar->ar_quota_id);
	memcpy(a->a_key, ar->ar_key, ar->ar_keylen);
	a->a_keylen = ar->ar_keylen;
	a->a_alg = ar->ar_alg;
	a->a_path = t->t_pkt->path;
	a->a_tcp = rq->aq_tcp;
	sv->sv_ops->ro_attach(sv->sv_net, a);
	if (rq->aq_use_token)
		code = sv->sv_ops->ro_claim(sv->sv_net, a, 0, token);
	else
		code = sv->sv_ops->ro_open(sv->sv_net, a, 0, rq->aq_fam[0],
		    rq->aq_even, rq->aq_df, cl->cl_resv_id, &token);
	if (code == 0 && rq->aq_fam[1] != 0 &&
	    sv->sv_ops->ro_open(sv->sv_net, a, 1, rq->aq_fam[1], 0, rq->aq_df,
	    0, NULL) != 0)
		v6err = STUN_ERR_ADDRESS_FAMILY;	/* keep the IPv4 one */
	if (code != 0) {
		sv->sv_ops->ro_close(sv->sv_net, a, -1);
		turn_claim_release(sv, a->a_quota_id, cl);
		quota_bw_put(sv->sv_quota, a->a_ubw);
		alloc_free(sv->sv_allocs, a);
		return (code);
	}
	a->a_expires = sv->sv_now + rq->aq_life;
	if (cl->cl_held && store_is_redis(sv->sv_store))
		store_quota_extend(sv->sv_store, a->a_quota_id, a->a_id,
		    a->a_expires);
	sv->sv_ops->ro_timer(sv->sv_net, a);
	STATS_INC(sv->sv_stats, alloc_created);
	turn_gauge(sv, a, -1, 1);
	turn_mirror(sv, a, STORE_EV_NEW);

	memcpy(a->a_tid, t->t_m->tid, sizeof(a->a_tid));
	a->a_v6err = v6err;
	a->a_token = rq->aq_even == 2 ? token : 0;
	*ap = a;
	return (0);
}

/*
 * Allocate (RFC 8656 7.2) on the 5-tuple of t, whose allocation a is
 * (NULL: none yet): check, claim the quota, create.
 */
static void
turn_allocate(struct txn *t, struct alloc *a)
{
	struct server		*sv = t->t_sv;
	const struct stun_attr	*rt;
	struct turn_areq	 rq;
	struct turn_claim	 cl;
	uint8_t			 v;
	int			 code;

	if (a != NULL) {
		/*
		 * RFC 8656 7.2: a retransmission of the request that made
		 * this allocation (its answer was lost) gets that answer
		 * again; anything else on the 5-tuple gets 437.
		 */
		if (memcmp(a->a_tid, t->t_m->tid, sizeof(a->a_tid)) == 0 &&
		    strcmp(a->a_user, t->t_ar->ar_user) == 0 &&
		    a->a_expires > sv->sv_now)
			turn_allocate_ok(t, a, a->a_expires - sv->sv_now);
		else
			txn_error(t, STUN_ERR_ALLOCATION_MISMATCH, NULL);
		return;
	}
	rt = stun_msg_find(t->t_m, STUN_ATTR_REQUESTED_TRANSPORT);
	if (rt == NULL || stun_attr_get_u8(rt, &v) == -1) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "REQUESTED-TRANSPORT");
		return;
	}
	if (v != STUN_TRANSPORT_UDP && (v != STUN_TRANSPORT_TCP ||
	    !sv->sv_conf->relay_tcp)) {
		txn_error(t, STUN_ERR_UNSUPPORTED_TRANSPORT, NULL);
		return;
	}
	if ((code = turn_allocate_parse(t, &rq)) != 0 ||
	    (v == STUN_TRANSPORT_TCP && (code = turn_tcp_check(t)) != 0)) {
		txn_error(t, code, NULL);
		return;
	}
	rq.aq_tcp = v == STUN_TRANSPORT_TCP;
	if (sv->sv_draining) {
		turn_redirect(t);
		return;
	}
	if ((code = turn_allocate_claim(t, &rq, &cl)) != 0) {
		if (code != TURN_ANSWERED)
			txn_error(t, code, NULL);
		return;
	}
	if ((code = turn_allocate_create(t, &rq, &cl, &a)) != 0) {
		txn_error(t, code, NULL);
		return;
	}
	turn_allocate_ok(t, a, rq.aq_life);
}

static void
turn_refresh(struct txn *t, struct alloc *a)
{
	struct server		*sv = t->t_sv;
	const struct stun_attr	*raf;
	struct stun_build	 b;
	time_t			 life;
	int			 bad, idx = -1, left;
	uint8_t			 v;
	unsigned int		 i;

	life = turn_lifetime(t, &bad);
	if (bad) {
		txn_error(t, STUN_ERR_BAD_REQUEST, NULL);
		return;
	}
	raf = stun_msg_find(t->t_m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	if (raf != NULL) {
		if (stun_attr_get_u8(raf, &v) == -1 || family_of(v) == -1 ||
		    (idx = relay_idx(a, family_of(v))) < 0) {
			txn_error(t, STUN_ERR_PEER_ADDRESS_FAMILY, NULL);
			return;
		}
	}
	txn_success(t, &b);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, (uint32_t)life);
	txn_finish(t, &b);

	if (life > 0) {
		a->a_expires = sv->sv_now + life;
		a->a_lifetime = (int)life;
		sv->sv_ops->ro_timer(sv->sv_net, a);
		turn_mirror(sv, a, STORE_EV_REFRESH);
		return;
	}
	if (idx >= 0) {
		/* Delete one family of a dual allocation (RFC 8656 7.3). */
		sv->sv_ops->ro_close(sv->sv_net, a, idx);
		turn_gauge(sv, a, idx, -1);
		memset(&a->a_relay[idx], 0, sizeof(a->a_relay[idx]));
		for (i = 0, left = 0; i < ALLOC_FAMILIES; i++)
			left += a->a_relay[i].sa.sa_family != 0;
		if (left > 0)
			return;
	}
	server_alloc_end(sv, a, 0);
}

static void
turn_create_permission(struct txn *t, struct alloc *a)
{
	struct server		*sv = t->t_sv;
	const struct stun_msg	*m = t->t_m;
	struct sockaddr_storage	 peers[TURN_PEERS_MAX];
	struct stun_build	 b;
	unsigned int		 i, n = 0;
	time_t			 exp;
	int			 code;

	/* All or nothing (RFC 8656 9.2): check every peer, then install. */
	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		if (n == TURN_PEERS_MAX) {
			txn_error(t, STUN_ERR_BAD_REQUEST, "Too many peers");
			return;
		}
		if ((code = turn_peer(t, a, &m->attrs[i], &peers[n])) != 0) {
			txn_error(t, code, code == STUN_ERR_BAD_REQUEST ?
			    "Bad XOR-PEER-ADDRESS" : NULL);
			return;
		}
		n++;
	}
	if (n == 0) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "XOR-PEER-ADDRESS");
		return;
	}
	exp = sv->sv_now + sv->sv_conf->relay_permission_lifetime;
	for (i = 0; i < n; i++)
		if (perm_install(a, (struct sockaddr *)&peers[i], sv->sv_now,
		    exp) == -1) {
			txn_error(t, STUN_ERR_INSUFFICIENT_CAPACITY,
			    "Too many permissions");
			return;
		}
	txn_success(t, &b);
	txn_finish(t, &b);
	turn_mirror(sv, a, STORE_EV_PEERS);
}

static void
turn_channel_bind(struct txn *t, struct alloc *a)
{
	struct server		*sv = t->t_sv;
	const struct stun_attr	*cn, *pa;
	struct sockaddr_storage	 peer;
	struct stun_build	 b;
	uint16_t		 num;
	int			 code;

	cn = stun_msg_find(t->t_m, STUN_ATTR_CHANNEL_NUMBER);
	pa = stun_msg_find(t->t_m, STUN_ATTR_XOR_PEER_ADDRESS);
	if (cn == NULL || pa == NULL || stun_attr_get_channel(cn, &num) == -1) {
		txn_error(t, STUN_ERR_BAD_REQUEST,
		    "CHANNEL-NUMBER and XOR-PEER-ADDRESS needed");
		return;
	}
	if ((code = turn_peer(t, a, pa, &peer)) != 0) {
		txn_error(t, code, code == STUN_ERR_BAD_REQUEST ?
		    "Bad XOR-PEER-ADDRESS" : NULL);
		return;
	}
	code = chan_bind(a, num, sv->sv_conf->relay_rfc5766_channels ?
	    STUN_CHAN_RFC5766_MAX : STUN_CHAN_MAX, (struct sockaddr *)&peer,
	    sv->sv_now,
	    sv->sv_now + sv->sv_conf->relay_channel_lifetime,
	    sv->sv_now + sv->sv_conf->relay_permission_lifetime);
	if (code != 0) {
		txn_error(t, code, code == STUN_ERR_BAD_REQUEST ?
		    "Channel number out of range, or bound otherwise" : NULL);
		return;
	}
	txn_success(t, &b);
	txn_finish(t, &b);
	turn_mirror(sv, a, STORE_EV_PEERS);
}

/* The auth results, for the metrics. */
static void
turn_count_auth(struct server *sv, const struct stun_msg *m, int code)
{
	switch (code) {
	case 0:
		STATS_INC(sv->sv_stats, auth_ok);
		break;
	case STUN_ERR_UNAUTHENTICATED:
		if (m->mi_idx < 0 && m->mi256_idx < 0)
			STATS_INC(sv->sv_stats, auth_challenge);
		else
			STATS_INC(sv->sv_stats, auth_rejected);
		break;
	case STUN_ERR_STALE_NONCE:
		STATS_INC(sv->sv_stats, auth_stale);
		break;
	case STUN_ERR_BAD_REQUEST:
		STATS_INC(sv->sv_stats, auth_malformed);
		break;
	case STUN_ERR_SERVER_ERROR:
		STATS_INC(sv->sv_stats, auth_unavailable);
		break;
	}
}

/*
 * Live allocations by client transport and relayed family (gauges): d is
 * +1 or -1; idx -1 counts the transport and every family, else family
 * idx alone.
 */
void
turn_gauge(struct server *sv, const struct alloc *a, int idx, int d)
{
	unsigned int	i;

#define GAUGE(name)	do {						\
	if (d > 0)							\
		STATS_INC(sv->sv_stats, name);				\
	else								\
		STATS_DEC(sv->sv_stats, name);				\
} while (0)
	if (idx < 0) {
		switch (a->a_transport) {
		case TRANSPORT_UDP: GAUGE(allocs_udp); break;
		case TRANSPORT_TCP: GAUGE(allocs_tcp); break;
		case TRANSPORT_TLS: GAUGE(allocs_tls); break;
		case TRANSPORT_DTLS: GAUGE(allocs_dtls); break;
		}
	}
	for (i = 0; i < ALLOC_FAMILIES; i++) {
		if ((idx >= 0 && (unsigned int)idx != i) ||
		    a->a_relay[i].sa.sa_family == 0)
			continue;
		if (a->a_relay[i].sa.sa_family == AF_INET)
			GAUGE(allocs_ipv4);
		else
			GAUGE(allocs_ipv6);
	}
#undef GAUGE
}

/*
 * An authenticated TURN request.  Requests on an existing allocation must
 * come with the credentials that made it (RFC 8656 5: else 441).
 */
void
turn_request(struct txn *t)
{
	struct server		*sv = t->t_sv;
	struct auth_result	 ar;
	struct auth_lookup	 al;
	struct alloc		*a;
	int			 code;

	if (t->t_resume != NULL && t->t_resume->tr_expired &&
	    t->t_m->method != STUN_METHOD_CONNECT) {
		txn_error(t, STUN_ERR_SERVER_ERROR, TURN_STORE_DOWN);
		return;
	}
	a = alloc_find(sv->sv_allocs, t->t_pkt->transport, t->t_pkt->src,
	    t->t_pkt->local);
	memset(&al, 0, sizeof(al));
	al.al_store = sv->sv_store;
	if (a != NULL) {
		al.al_alloc_user = a->a_user;
		al.al_alloc_key = a->a_key;
		al.al_alloc_keylen = a->a_keylen;
	}
	code = auth_check(sv->sv_auth, t->t_m, t->t_pkt->src, sv->sv_now, &al,
	    &ar);
	turn_count_auth(sv, t->t_m, code);
	if (code == AUTH_PENDING) {
		turn_park(t, al.al_tag, NULL, NULL);
		return;
	}
	if (code != 0) {
		txn_error(t, code, code == STUN_ERR_SERVER_ERROR ?
		    TURN_STORE_DOWN : NULL);
		return;
	}
	t->t_ar = &ar;
	if (t->t_m->method == STUN_METHOD_ALLOCATE) {
		turn_allocate(t, a);
		return;
	}
	if (t->t_m->method == STUN_METHOD_CONNECTION_BIND) {
		turn_tcp_bind(t, a);
		return;
	}
	if (a == NULL) {
		txn_error(t, STUN_ERR_ALLOCATION_MISMATCH, NULL);
		return;
	}
	if (a->a_keylen != ar.ar_keylen ||
	    memcmp(a->a_key, ar.ar_key, ar.ar_keylen) != 0 ||
	    strcmp(a->a_user, ar.ar_user) != 0) {
		txn_error(t, STUN_ERR_WRONG_CREDENTIALS, NULL);
		return;
	}
	switch (t->t_m->method) {
	case STUN_METHOD_REFRESH:
		turn_refresh(t, a);
		break;
	case STUN_METHOD_CREATE_PERMISSION:
		turn_create_permission(t, a);
		break;
	case STUN_METHOD_CHANNEL_BIND:
		if (a->a_tcp)	/* RFC 6062 5.1: no UDP data */
			txn_error(t, STUN_ERR_BAD_REQUEST, "TCP allocation");
		else
			turn_channel_bind(t, a);
		break;
	case STUN_METHOD_CONNECT:
		turn_tcp_connect(t, a);
		break;
	}
}

void
server_alloc_end(struct server *sv, struct alloc *a, int expired)
{
	turn_mirror_end(sv, a);
	turn_gauge(sv, a, -1, -1);
	sv->sv_ops->ro_close(sv->sv_net, a, -1);
	quota_release(sv->sv_quota, a->a_quota_id);
	quota_bw_put(sv->sv_quota, a->a_ubw);
	alloc_free(sv->sv_allocs, a);
	if (expired)
		STATS_INC(sv->sv_stats, alloc_expired);
	else
		STATS_INC(sv->sv_stats, alloc_deleted);
}
