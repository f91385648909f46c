/*
 * store_int.h -- what the two halves of a worker's store share, private
 * to src/store: struct store itself.  store_redis.c owns it (the
 * connection, the cache, the quota claims); store_alloc.c writes the
 * allocations through its connection and keeps the deletions that wait
 * for Redis.
 */

#ifndef STORE_INT_H
#define STORE_INT_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "store/store.h"

#define CACHE_BUCKETS	1024

struct centry;
struct event;
struct rconn;

enum centry_state { CE_PENDING, CE_FOUND, CE_NONE, CE_FAILED };

/* The REST secrets of the realm in Redis. */
struct sentry {
	enum centry_state	 se_state;
	int			 se_used;	/* ever asked */
	time_t			 se_expires;
	int			 se_fresh;
	char			**se_secret;
	unsigned int		 se_n;
};

/* An allocation deleted while Redis was away. */
struct sdel {
	TAILQ_ENTRY(sdel)	 sd_entry;
	uint64_t		 sd_id;
	char			*sd_user;
	char			*sd_quota_id;
};

TAILQ_HEAD(sdel_list, sdel);

struct store {
	const struct turnd_conf	*st_conf;	/* a reference (conf.h) */
	struct event_base	*st_base;
	struct rconn		*st_rc;		/* NULL: memory store */
	struct store_hooks	 st_hooks;
	char			 st_iid[STORE_IID_LEN + 1];
	time_t			 st_now;	/* of the last lookup */
	struct centry		*st_cache[CACHE_BUCKETS];
	unsigned int		 st_ncache;
	struct sentry		 st_secrets;
	struct sdel_list	 st_dels;
	unsigned int		 st_ndels;
	struct event		*st_traffic;
};

/* store_alloc.c */

/*
 * DEL the keys of the allocations that ended while Redis was away, now
 * that it is back, and forget them.
 */
void	store_alloc_flush_dels(struct store *);
/* Forget them without a word to Redis (store_free()). */
void	store_alloc_free_dels(struct store *);

#endif /* STORE_INT_H */
