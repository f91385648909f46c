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

/* The reason of a 500 when the store cannot be asked. */
#define TURN_STORE_DOWN		"Credential store unavailable"

/* turn_store.c: the allocation's mirror in the store */
void	turn_mirror(struct server *, struct alloc *, enum store_event);
void	turn_mirror_end(struct server *, struct alloc *);
/* The per-user quota in force: the realm's option, else the config's. */
unsigned int turn_user_quota(const struct server *);

/* turn.c */
void	turn_request(struct txn *);
/*
 * Live allocations by client transport and relayed family (gauges): d is
 * +1 or -1; idx -1 counts the transport and every family, else family
 * idx alone.
 */
void	turn_gauge(struct server *, const struct alloc *, int idx, int d);

/* turn_tcp.c (RFC 6062) */
/* The checks of an Allocate with REQUESTED-TRANSPORT TCP: 0, 400, 442. */
int	turn_tcp_check(const struct txn *);
/* Connect on a's 5-tuple, and served again once the net layer is done. */
void	turn_tcp_connect(struct txn *, struct alloc *);
/* ConnectionBind, authenticated; a: the allocation of its 5-tuple. */
void	turn_tcp_bind(struct txn *, struct alloc *);
void	turn_send_indication(struct server *, const struct server_pkt *,
	    const struct stun_msg *);

#endif /* SERVER_INT_H */
