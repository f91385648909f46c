/*
 * park.c -- requests waiting for the store.  A TURN request whose user
 * key, REST secrets or quota claim must come from Redis is copied here
 * and served again from the start when the answer is in: the second
 * pass finds it in the worker's cache.  Bounded in number and in time
 * (store.redis.command_timeout, then 500).
 */

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/store.h"
#include "turn/alloc.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

static void
park_free(struct server *sv, struct parked *pk)
{
	TAILQ_REMOVE(&sv->sv_parked, pk, pk_entry);
	sv->sv_nparked--;
	store_op_cancel(pk->pk_op);
	free(pk);
}

int
server_park(struct txn *t, const void *tag, struct store_op *op,
    uint64_t alloc_id)
{
	struct server		*sv = t->t_sv;
	const struct server_pkt	*pkt = t->t_pkt;
	const struct stun_msg	*m = t->t_m;
	struct parked		*pk;

	TAILQ_FOREACH(pk, &sv->sv_parked, pk_entry)
		if (pk != sv->sv_resume && pk->pk_transport ==
		    pkt->transport && pk->pk_len == m->rawlen &&
		    addr_eq((struct sockaddr *)&pk->pk_src, pkt->src) &&
		    memcmp(pk->pk_msg + 8, m->tid, 12) == 0) {
			store_op_cancel(op);
			return (0);	/* a retransmission */
		}
	if (sv->sv_nparked >= SERVER_PARK_MAX) {
		store_op_cancel(op);
		return (-1);
	}
	pk = xcalloc(1, sizeof(*pk) + m->rawlen);
	pk->pk_tag = tag;
	pk->pk_op = op;
	pk->pk_alloc_id = alloc_id;
	pk->pk_deadline = sv->sv_now + sv->sv_conf->redis_command_timeout + 1;
	pk->pk_transport = pkt->transport;
	memcpy(&pk->pk_src, pkt->src, addr_len(pkt->src));
	memcpy(&pk->pk_local, pkt->local, addr_len(pkt->local));
	pk->pk_path = pkt->path;
	pk->pk_len = m->rawlen;
	memcpy(pk->pk_msg, m->raw, m->rawlen);
	TAILQ_INSERT_TAIL(&sv->sv_parked, pk, pk_entry);
	sv->sv_nparked++;
	STATS_INC(sv->sv_stats, store_waits);
	return (0);
}

/* Serve pk again (it has been unlinked), then free it. */
static void
park_serve(struct server *sv, struct parked *pk)
{
	struct server_pkt	pkt;
	struct server_reply	reply;

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = pk->pk_transport;
	pkt.src = (struct sockaddr *)&pk->pk_src;
	pkt.local = (struct sockaddr *)&pk->pk_local;
	pkt.path = pk->pk_path;
	memset(&reply, 0, sizeof(reply));
	reply.buf = sv->sv_pbuf;
	reply.cap = SERVER_PBUF;
	sv->sv_resume = pk;
	server_handle(sv, &pkt, pk->pk_msg, pk->pk_len, &reply);
	sv->sv_resume = NULL;
	if (reply.len > 0)
		path_send(pkt.path, pkt.src, pkt.local, reply.buf, reply.len);
	store_op_cancel(pk->pk_op);
	free(pk);
}

void
server_wake(struct server *sv, const void *tag)
{
	TAILQ_HEAD(, parked)	 ready;
	struct parked		*pk, *next;

	/* Serving may park anew: take the woken ones out first. */
	TAILQ_INIT(&ready);
	for (pk = TAILQ_FIRST(&sv->sv_parked); pk != NULL; pk = next) {
		next = TAILQ_NEXT(pk, pk_entry);
		if (pk->pk_tag != tag)
			continue;
		TAILQ_REMOVE(&sv->sv_parked, pk, pk_entry);
		sv->sv_nparked--;
		TAILQ_INSERT_TAIL(&ready, pk, pk_entry);
	}
	while ((pk = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, pk, pk_entry);
		park_serve(sv, pk);
	}
}

void
server_tick(struct server *sv)
{
	struct parked	*pk;

	while ((pk = TAILQ_FIRST(&sv->sv_parked)) != NULL &&
	    pk->pk_deadline <= sv->sv_now) {
		TAILQ_REMOVE(&sv->sv_parked, pk, pk_entry);
		sv->sv_nparked--;
		pk->pk_expired = 1;
		park_serve(sv, pk);
	}
}

void
server_path_closed(struct server *sv, struct path *path,
    const struct sockaddr *client, const struct sockaddr *local)
{
	struct parked	*pk, *next;
	struct alloc	*a;

	if (sv->sv_allocs != NULL && (a = alloc_find(sv->sv_allocs,
	    path->p_transport, client, local)) != NULL && a->a_path == path)
		server_alloc_end(sv, a, 0);
	for (pk = TAILQ_FIRST(&sv->sv_parked); pk != NULL; pk = next) {
		next = TAILQ_NEXT(pk, pk_entry);
		if (pk->pk_path == path)
			park_free(sv, pk);
	}
}

void
server_park_clear(struct server *sv)
{
	struct parked	*pk;

	while ((pk = TAILQ_FIRST(&sv->sv_parked)) != NULL)
		park_free(sv, pk);
}
