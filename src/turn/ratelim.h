/*
 * ratelim.h -- answers per second per source IP address, one budget
 * shared by every worker (auth.unauth_rate: the 401 and 438 challenges
 * of RFC 8489 9.2.4, the answers a spoofed source can draw).
 *
 * A fixed table of 64-bit atomic words indexed by a seeded hash of the
 * IP address, made once at start and used by all workers without a
 * lock: one compare-and-swap per answer.  No state grows with the
 * number of sources; two addresses that share a slot take turns owning
 * it.
 */

#ifndef RATELIM_H
#define RATELIM_H

#include <sys/socket.h>

#include <time.h>

struct ratelim;

struct ratelim	*ratelim_new(void);
void		 ratelim_free(struct ratelim *);

/*
 * May src have one more answer in the second now, at most rate a second
 * (rate 0: no limit)?  1, counted, or 0.  Safe from any thread; the
 * workers' clocks may differ by a second: a slot never goes back to an
 * earlier second, so together they still give at most rate in each.
 */
int		 ratelim_allow(struct ratelim *, const struct sockaddr *src,
		    time_t now, unsigned int rate);

#endif /* RATELIM_H */
