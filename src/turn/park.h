/*
 * park.h -- a bounded queue of requests that wait for an answer from
 * elsewhere (park.c).  An entry is a copy of one message and of where
 * it came from, with the tag it waits for, a deadline, and a store
 * operation it holds meanwhile.  The queue only keeps, finds and drops
 * entries; whoever takes one out serves it again.
 */

#ifndef PARK_H
#define PARK_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "turn/path.h"

struct park;
struct parked;
struct store_op;

/* A request to park, or what a parked entry holds (then views into it). */
struct park_req {
	enum transport		 pr_transport;
	const struct sockaddr	*pr_src;
	const struct sockaddr	*pr_local;
	struct path		*pr_path;	/* the way back */
	const uint8_t		*pr_msg;	/* a STUN message: bytes 8..19
						 * are its transaction ID
						 * (RFC 8489 5) */
	size_t			 pr_len;
	const void		*pr_tag;	/* what it waits for */
	struct store_op		*pr_op;		/* held while parked; NULL:
						 * none */
	uint64_t		 pr_id;		/* the caller's, kept as is */
	uint64_t		 pr_id2;	/* likewise */
	time_t			 pr_deadline;
};

/* A queue of at most max entries; park_free() drops every entry. */
struct park	*park_new(unsigned int max);
void		 park_free(struct park *);
unsigned int	 park_count(const struct park *);

/*
 * Park a copy of r (message and addresses copied; path and tag kept as
 * pointers).  The queue owns r->pr_op from now on, whatever the result:
 *   0   parked, at the tail;
 *   1   a request of the same transport, source, length and transaction
 *       ID waits already: a retransmission, not kept;
 *  -1   max entries wait: not kept.
 * The op of an entry not kept is cancelled (store_op_cancel()).
 */
int		 park_put(struct park *, const struct park_req *r);

/*
 * Take out every entry waiting for tag / the oldest entries whose
 * deadline is at or before now, in the order they were parked: the
 * first, or NULL, and parked_next() the others.  Taken entries are no
 * longer in the queue (a request parked while they are served again is
 * a new entry); each must be given to parked_free().
 */
struct parked	*park_take(struct park *, const void *tag);
struct parked	*park_take_expired(struct park *, time_t now);

/* Drop the entries that came on path (its endpoint is going away). */
void		 park_drop_path(struct park *, const struct path *);
/* 1 if a request that came on path waits in the queue, else 0. */
int		 park_has_path(const struct park *, const struct path *);

struct parked	*parked_next(const struct parked *);
/* The entry's request: views valid until parked_free(). */
const struct park_req *parked_req(const struct parked *);
/* Hand over the entry's op (NULL if none): the caller owns it now. */
struct store_op	*parked_op(struct parked *);
/* Free a taken entry; an op it still holds is cancelled. */
void		 parked_free(struct parked *);

#endif /* PARK_H */
