/*
 * server_int.h -- what server.c (dispatch, Binding) and turn.c (the
 * TURN methods) share; private to src/turn.
 */

#ifndef SERVER_INT_H
#define SERVER_INT_H

#include "stun/stun.h"
#include "store/store.h"
#include "turn/auth.h"
#include "turn/server.h"
#include "turn/txn.h"

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
