/*
 * countmap.h -- live counts per key with a limit per key and in total,
 * safe to share between threads (a mutex inside).  Used for connections
 * per source IP and allocations per user: taken when something starts and
 * released when it ends, never per packet.  An entry exists only while
 * its count is above zero, so the map never outgrows what it counts.
 */

#ifndef COUNTMAP_H
#define COUNTMAP_H

#include <stddef.h>

struct countmap;

/* 0 for either limit means none. */
struct countmap	*countmap_new(unsigned int per_key, unsigned int total);
void		 countmap_free(struct countmap *);
/* Count one more for key: 0, or -1 when a limit is reached. */
int		 countmap_acquire(struct countmap *, const void *key,
		    size_t len);
/* Count one more for key whatever the limits. */
void		 countmap_force(struct countmap *, const void *key, size_t len);
/* New limits for what comes next (counts already taken stay). */
void		 countmap_set_limits(struct countmap *, unsigned int per_key,
		    unsigned int total);
/* One fewer for key (a key not counted is ignored). */
void		 countmap_release(struct countmap *, const void *key,
		    size_t len);

#endif /* COUNTMAP_H */
