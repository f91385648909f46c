/*
 * txn.h -- one request being answered: its success and error responses
 * and their trailer (RFC 8489 6.3, 9.2.4, 14).  Private to src/turn.
 *
 * txn.c is the leaf under server.c (dispatch, Binding) and turn.c (the
 * TURN methods): it builds every answer both send, counts every error
 * response, and uses nothing of theirs.
 */

#ifndef TXN_H
#define TXN_H

#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include "stun/stun.h"
#include "turn/auth.h"
#include "turn/server.h"

struct store_op;

/*
 * What a request that waited for the store (park.h) brings back when it
 * is served again from the start.
 */
struct txn_resume {
	struct store_op		*tr_op;		/* its quota claim, answered
						 * (taken by whoever uses it;
						 * else cancelled after) */
	uint64_t		 tr_alloc_id;	/* the id claimed for */
	uint64_t		 tr_resv_id;	/* and for its reservation */
	int			 tr_expired;	/* waited too long: 500 */
};

/* One request being answered. */
struct txn {
	struct server			*t_sv;
	const struct server_pkt		*t_pkt;
	const struct stun_msg		*t_m;
	struct server_reply		*t_reply;
	const struct auth_result	*t_ar;	/* set once authenticated:
						 * answers are signed */
	struct txn_resume		*t_resume;	/* NULL: first pass */
};

/* Start a success response to the request. */
void	txn_success(struct txn *, struct stun_build *);

/*
 * Finish a success response: SOFTWARE, MESSAGE-INTEGRITY(-SHA256) with
 * the request's key when it was authenticated, FINGERPRINT when the
 * request had one; sets the reply's length (0 if it did not fit).
 */
void	txn_finish(struct txn *, struct stun_build *);

/* What an error response carries after its ERROR-CODE. */
struct txn_extra {
	const uint16_t		*tx_unknown;	/* 420: UNKNOWN-ATTRIBUTES */
	unsigned int		 tx_nunknown;
	const struct sockaddr	*tx_alternate;	/* 300: ALTERNATE-SERVER */
};

/*
 * The one function that builds error responses: ERROR-CODE with code
 * and reason (NULL: the RFC's phrase), the attributes of x (may be
 * NULL), then the trailer of txn_finish(), SOFTWARE only with
 * software_errors; a response sent is counted (error_responses and
 * err_<code>).  A 401 or 438 is the challenge of RFC 8489 9.2.4: it has
 * an empty reason phrase and carries REALM, a fresh NONCE and
 * PASSWORD-ALGORITHMS (nothing more: it is what a spoofed source can
 * draw), and beyond
 * auth.unauth_rate such answers a second to one source IP it is not
 * sent at all (counted as dropped_ratelimited).
 */
void	txn_error_full(struct txn *, int code, const char *reason,
	    const struct txn_extra *x);
/* The same without extra attributes. */
void	txn_error(struct txn *, int code, const char *reason);

/* The park request (park.h) of t's request, waiting on tag. */
struct park_req;
void	txn_park_req(const struct txn *, const void *tag, struct park_req *);

#endif /* TXN_H */
