/*
 * txn.c -- the answers to a request (RFC 8489 6.3): success responses
 * begun, every response's trailer (SOFTWARE, integrity, FINGERPRINT:
 * 14.5-14.7, 14.14), and the one builder of error responses, with the
 * challenge attributes of 401 and 438 (9.2.4) and their rate limit.
 */

#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/auth.h"
#include "turn/park.h"
#include "turn/ratelim.h"
#include "turn/server.h"
#include "turn/stats.h"
#include "turn/txn.h"

void
txn_success(struct txn *t, struct stun_build *b)
{
	stun_build_init(b, t->t_reply->buf, t->t_reply->cap,
	    STUN_TYPE(t->t_m->method, STUN_CLASS_SUCCESS), t->t_m->tid);
}

/*
 * SOFTWARE when software (it is optional, RFC 8489 14.14);
 * MESSAGE-INTEGRITY-SHA256 or MESSAGE-INTEGRITY with the request's key
 * when it was authenticated (RFC 8489 9.2.4: the response uses the same
 * algorithm); FINGERPRINT if the request carried one.
 */
static void
txn_trailer(struct txn *t, struct stun_build *b, int software)
{
	const char			*sw = t->t_sv->sv_conf->software;
	const struct auth_result	*ar = t->t_ar;

	if (software && sw != NULL && *sw != '\0')
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

void
txn_finish(struct txn *t, struct stun_build *b)
{
	txn_trailer(t, b, 1);
}

static void
txn_count_error(struct stats *st, int code)
{
	STATS_INC(st, error_responses);
	switch (code) {
#define ERR_CASE(n)	case n: STATS_INC(st, err_##n); break;
	ERR_CASE(400) ERR_CASE(401) ERR_CASE(403) ERR_CASE(420)
	ERR_CASE(437) ERR_CASE(438) ERR_CASE(440) ERR_CASE(441)
	ERR_CASE(300) ERR_CASE(442) ERR_CASE(443) ERR_CASE(446)
	ERR_CASE(447) ERR_CASE(486)
	ERR_CASE(500) ERR_CASE(508)
#undef ERR_CASE
	}
}

/*
 * May this source get another 401 or 438 this second (auth.unauth_rate)?
 * The budget is the source IP's across all workers (ratelim.h).
 */
static int
txn_unauth_allow(struct server *sv, const struct sockaddr *src)
{
	return (ratelim_allow(sv->sv_rl, src, sv->sv_now,
	    (unsigned int)sv->sv_conf->auth_unauth_rate));
}

/* REALM, a fresh NONCE, PASSWORD-ALGORITHMS (RFC 8489 9.2.4, 14.11). */
static void
txn_challenge(struct txn *t, struct stun_build *b)
{
	const struct auth	*auth = t->t_sv->sv_auth;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 algs[16];
	size_t			 n;

	stun_build_str(b, STUN_ATTR_REALM, auth_realm(auth));
	auth_nonce_make(auth, t->t_pkt->src, t->t_sv->sv_now, nonce);
	stun_build_str(b, STUN_ATTR_NONCE, nonce);
	n = auth_pwalgs(algs);
	stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, n);
}

void
txn_error_full(struct txn *t, int code, const char *reason,
    const struct txn_extra *x)
{
	struct stun_build	b;
	char			addr[ADDR_STRLEN];
	int			challenge;

	challenge = code == STUN_ERR_UNAUTHENTICATED ||
	    code == STUN_ERR_STALE_NONCE;
	if (challenge && !txn_unauth_allow(t->t_sv, t->t_pkt->src)) {
		/* a poor reflector: no answer beyond auth.unauth_rate */
		STATS_INC(t->t_sv->sv_stats, dropped_ratelimited);
		return;
	}
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("%s %s: error %d %s",
		    addr_fmt(t->t_pkt->src, addr, sizeof(addr)),
		    stun_method_name(t->t_m->method), code,
		    reason != NULL ? reason : stun_err_reason(code));
	stun_build_init(&b, t->t_reply->buf, t->t_reply->cap,
	    STUN_TYPE(t->t_m->method, STUN_CLASS_ERROR), t->t_m->tid);
	/*
	 * A challenge has no reason phrase: the client needs only the code,
	 * and a spoofed source draws fewer bytes (RFC 8489 14.8 allows an
	 * empty phrase).
	 */
	stun_build_error(&b, code, challenge ? "" : reason);
	if (challenge)
		txn_challenge(t, &b);
	if (x != NULL && x->tx_nunknown > 0)
		stun_build_unknown(&b, x->tx_unknown, x->tx_nunknown);
	if (x != NULL && x->tx_alternate != NULL)
		stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER,
		    x->tx_alternate);
	txn_trailer(t, &b, t->t_sv->sv_conf->software_errors);
	if (t->t_reply->len > 0)
		txn_count_error(t->t_sv->sv_stats, code);
}

void
txn_error(struct txn *t, int code, const char *reason)
{
	txn_error_full(t, code, reason, NULL);
}

void
txn_park_req(const struct txn *t, const void *tag, struct park_req *r)
{
	const struct server_pkt	*pkt = t->t_pkt;

	memset(r, 0, sizeof(*r));
	r->pr_transport = pkt->transport;
	r->pr_src = pkt->src;
	r->pr_local = pkt->local;
	r->pr_path = pkt->path;
	r->pr_msg = t->t_m->raw;
	r->pr_len = t->t_m->rawlen;
	r->pr_tag = tag;
}
