/*
 * park.c -- a bounded queue of requests waiting for an answer (park.h):
 * in the order they came, found by tag, by deadline or by path.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "store/store.h"
#include "turn/park.h"

struct parked {
	TAILQ_ENTRY(parked)	 pk_entry;	/* in the queue */
	struct parked		*pk_next;	/* taken out together */
	struct park_req		 pk_req;	/* views into the below */
	struct sockaddr_storage	 pk_src;
	struct sockaddr_storage	 pk_local;
	uint8_t			 pk_msg[];
};

struct park {
	TAILQ_HEAD(, parked)	 pa_queue;
	unsigned int		 pa_n;
	unsigned int		 pa_max;
};

#define PARK_TID_OFF	8		/* RFC 8489 5: after type, length,
					 * magic cookie */
#define PARK_TID_LEN	12

struct park *
park_new(unsigned int max)
{
	struct park	*pa;

	pa = xcalloc(1, sizeof(*pa));
	TAILQ_INIT(&pa->pa_queue);
	pa->pa_max = max;
	return (pa);
}

void
parked_free(struct parked *pk)
{
	if (pk == NULL)
		return;
	store_op_cancel(pk->pk_req.pr_op);
	free(pk);
}

static void
park_unlink(struct park *pa, struct parked *pk)
{
	TAILQ_REMOVE(&pa->pa_queue, pk, pk_entry);
	pa->pa_n--;
	pk->pk_next = NULL;
}

void
park_free(struct park *pa)
{
	struct parked	*pk;

	if (pa == NULL)
		return;
	while ((pk = TAILQ_FIRST(&pa->pa_queue)) != NULL) {
		park_unlink(pa, pk);
		parked_free(pk);
	}
	free(pa);
}

unsigned int
park_count(const struct park *pa)
{
	return (pa != NULL ? pa->pa_n : 0);
}

/* Is r the request pk holds (sent again)? */
static int
park_same(const struct parked *pk, const struct park_req *r)
{
	const struct park_req	*q = &pk->pk_req;

	return (q->pr_transport == r->pr_transport &&
	    q->pr_len == r->pr_len && r->pr_len >= PARK_TID_OFF +
	    PARK_TID_LEN && addr_eq(q->pr_src, r->pr_src) &&
	    memcmp(q->pr_msg + PARK_TID_OFF, r->pr_msg + PARK_TID_OFF,
	    PARK_TID_LEN) == 0);
}

int
park_put(struct park *pa, const struct park_req *r)
{
	struct parked	*pk;

	TAILQ_FOREACH(pk, &pa->pa_queue, pk_entry)
		if (park_same(pk, r)) {
			store_op_cancel(r->pr_op);
			return (1);
		}
	if (pa->pa_n >= pa->pa_max) {
		store_op_cancel(r->pr_op);
		return (-1);
	}
	pk = xcalloc(1, sizeof(*pk) + r->pr_len);
	pk->pk_req = *r;
	memcpy(&pk->pk_src, r->pr_src, addr_len(r->pr_src));
	memcpy(&pk->pk_local, r->pr_local, addr_len(r->pr_local));
	memcpy(pk->pk_msg, r->pr_msg, r->pr_len);
	pk->pk_req.pr_src = (const struct sockaddr *)&pk->pk_src;
	pk->pk_req.pr_local = (const struct sockaddr *)&pk->pk_local;
	pk->pk_req.pr_msg = pk->pk_msg;
	TAILQ_INSERT_TAIL(&pa->pa_queue, pk, pk_entry);
	pa->pa_n++;
	return (0);
}

/* Append pk to the chain whose last link is *tailp. */
static void
park_chain(struct parked ***tailp, struct parked *pk)
{
	**tailp = pk;
	*tailp = &pk->pk_next;
}

struct parked *
park_take(struct park *pa, const void *tag)
{
	struct parked	*pk, *next, *first = NULL, **tail = &first;

	if (pa == NULL)
		return (NULL);
	for (pk = TAILQ_FIRST(&pa->pa_queue); pk != NULL; pk = next) {
		next = TAILQ_NEXT(pk, pk_entry);
		if (pk->pk_req.pr_tag != tag)
			continue;
		park_unlink(pa, pk);
		park_chain(&tail, pk);
	}
	return (first);
}

struct parked *
park_take_expired(struct park *pa, time_t now)
{
	struct parked	*pk, *first = NULL, **tail = &first;

	if (pa == NULL)
		return (NULL);
	while ((pk = TAILQ_FIRST(&pa->pa_queue)) != NULL &&
	    pk->pk_req.pr_deadline <= now) {
		park_unlink(pa, pk);
		park_chain(&tail, pk);
	}
	return (first);
}

int
park_has_path(const struct park *pa, const struct path *path)
{
	const struct parked	*pk;

	if (pa == NULL)
		return (0);
	TAILQ_FOREACH(pk, &pa->pa_queue, pk_entry)
		if (pk->pk_req.pr_path == path)
			return (1);
	return (0);
}

void
park_drop_path(struct park *pa, const struct path *path)
{
	struct parked	*pk, *next;

	if (pa == NULL)
		return;
	for (pk = TAILQ_FIRST(&pa->pa_queue); pk != NULL; pk = next) {
		next = TAILQ_NEXT(pk, pk_entry);
		if (pk->pk_req.pr_path == path) {
			park_unlink(pa, pk);
			parked_free(pk);
		}
	}
}

struct parked *
parked_next(const struct parked *pk)
{
	return (pk->pk_next);
}

const struct park_req *
parked_req(const struct parked *pk)
{
	return (&pk->pk_req);
}

struct store_op *
parked_op(struct parked *pk)
{
	struct store_op	*op = pk->pk_req.pr_op;

	pk->pk_req.pr_op = NULL;
	return (op);
}
