/*
 * server_int.h -- what server.c (dispatch, Binding, answers) and turn.c
 * (the TURN methods) share; private to src/turn.
 */

#ifndef SERVER_INT_H
#define SERVER_INT_H

#include "stun/stun.h"
#include "turn/auth.h"
#include "turn/server.h"

/* One request being answered. */
struct txn {
	struct server			*t_sv;
	const struct server_pkt		*t_pkt;
	const struct stun_msg		*t_m;
	struct server_reply		*t_reply;
	const struct auth_result	*t_ar;	/* set once authenticated:
						 * answers are signed */
};

/* Start a success response to the request. */
void	txn_success(struct txn *, struct stun_build *);
/* Finish any response: SOFTWARE, integrity (when authenticated),
 * FINGERPRINT (when the request had one); sets the reply length. */
void	txn_finish(struct txn *, struct stun_build *);
/* An error response (signed when authenticated); reason NULL: RFC's. */
void	txn_error(struct txn *, int code, const char *reason);

#define RL_SLOTS	4096

struct rl_slot {
	uint32_t	sl_key;		/* hash of the IP owning the slot */
	uint32_t	sl_count;
	time_t		sl_sec;
};

struct server_ratelimit {
	uint32_t	rl_seed;
	struct rl_slot	rl_slot[RL_SLOTS];
};

int	server_unauth_allow(struct server *, const struct sockaddr *);

/* turn.c */
void	turn_request(struct txn *);
void	turn_send_indication(struct server *, const struct server_pkt *,
	    const struct stun_msg *);

#endif /* SERVER_INT_H */
