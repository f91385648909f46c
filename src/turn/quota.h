/*
 * quota.h -- allocation quotas per user and in total, and the per-user
 * bandwidth window of relay.user_max_bps, shared by all workers (a mutex
 * taken on Allocate and on the end of an allocation, never per packet:
 * a packet only does an atomic add on its user's window).  A user is
 * counted by its quota id: the REST user id for ephemeral credentials,
 * so "expiry:alice" and "expiry2:alice" share alice's quota.
 */

#ifndef QUOTA_H
#define QUOTA_H

#include <stdint.h>
#include <time.h>

struct quota;

/* 0 for either limit means none. */
struct quota	*quota_new(unsigned int per_user, unsigned int total);
void		 quota_free(struct quota *);
/* 0 and counted, or -1 when a limit is reached (486). */
int		 quota_acquire(struct quota *, const char *id);
void		 quota_release(struct quota *, const char *id);
/* Count one more whatever the limits (an allocation handed over). */
void		 quota_force(struct quota *, const char *id);
/* Limits for new allocations (a realm option changed in the store). */
void		 quota_set_limits(struct quota *, unsigned int per_user,
		    unsigned int total);

/*
 * One user's bandwidth window (relay.user_max_bps), shared by all of that
 * user's allocations on this instance, whichever worker holds them.
 * quota_bw_get() takes a reference (each allocation holds one),
 * quota_bw_put() gives it back; the window goes with the last one.
 */
struct quota_bw;
struct quota_bw	*quota_bw_get(struct quota *, const char *id);
void		 quota_bw_put(struct quota *, struct quota_bw *);
/*
 * 1 and counted when len more bytes fit in max bytes for the second now
 * (a new second starts an empty window), else 0.  Lock-free.
 */
int		 quota_bw_take(struct quota_bw *, time_t now, uint64_t len,
		    uint64_t max);

#endif /* QUOTA_H */
