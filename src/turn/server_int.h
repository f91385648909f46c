/*
 * server_int.h -- what server.c (dispatch, Binding, answers) and turn.c
 * (the TURN methods) share; private to src/turn.
 */

#ifndef SERVER_INT_H
#define SERVER_INT_H

#include "stun/stun.h"
#include "store/store.h"
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
/* An error response begun (header, ERROR-CODE) for the caller to add
 * attributes to, then ended (trailer) and counted. */
void	txn_error_build(struct txn *, int code, const char *reason,
	    struct stun_build *);
void	txn_error_end(struct txn *, struct stun_build *, int code);
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

/*
 * A request waiting for the store (park.c): a copy of the message and
 * of where it came from, served again from scratch when the store
 * answers; until then a retransmission of it is dropped.
 */
struct parked {
	TAILQ_ENTRY(parked)	 pk_entry;
	const void		*pk_tag;	/* what it waits for */
	struct store_op		*pk_op;		/* its quota claim */
	uint64_t		 pk_alloc_id;	/* the id claimed for */
	time_t			 pk_deadline;
	int			 pk_expired;	/* answer 500 */
	enum transport		 pk_transport;
	struct sockaddr_storage	 pk_src;
	struct sockaddr_storage	 pk_local;
	struct path		*pk_path;
	size_t			 pk_len;
	uint8_t			 pk_msg[];
};

#define SERVER_PARK_MAX		1024	/* waiting requests per worker */
#define SERVER_PBUF		2048	/* an answer to one of them */

/*
 * Park the request of t until tag is answered (op: a quota claim the
 * request owns from now on).  0, or -1 when too many wait (the caller
 * answers 500).  A retransmission of a parked request is dropped: 0.
 */
int	server_park(struct txn *, const void *tag, struct store_op *op,
	    uint64_t alloc_id);

/* Drop every waiting request (the worker stops). */
void	server_park_clear(struct server *);

/* The reason of a 500 when the store cannot be asked. */
#define TURN_STORE_DOWN		"Credential store unavailable"

/* turn_store.c: the allocation's mirror in the store */
void	turn_mirror(struct server *, struct alloc *, enum store_event);
void	turn_mirror_end(struct server *, struct alloc *);
/* The per-user quota in force: the realm's option, else the config's. */
unsigned int turn_user_quota(const struct server *);

/* turn.c */
void	turn_request(struct txn *);
void	turn_send_indication(struct server *, const struct server_pkt *,
	    const struct stun_msg *);

#endif /* SERVER_INT_H */
