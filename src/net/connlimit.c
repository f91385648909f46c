/*
 * connlimit.c -- limits on TCP/TLS connections, in total and per source
 * IP, shared by all workers.
 *
 * Taken on accept and on close only, never per packet, so a mutex is
 * cheap enough.  A chained hash of source IPs with a live count; an
 * entry exists only while its IP has connections, so the table never
 * holds more entries than the total limit.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "net/net.h"

#define CONNLIMIT_BUCKETS	4096

struct climit_entry {
	struct climit_entry	*ce_next;
	struct sockaddr_storage	 ce_ip;
	unsigned int		 ce_count;
};

struct connlimit {
	pthread_mutex_t		 cl_lock;
	unsigned int		 cl_total_max;
	unsigned int		 cl_source_max;
	unsigned int		 cl_total;
	uint32_t		 cl_seed;
	struct climit_entry	*cl_bucket[CONNLIMIT_BUCKETS];
};

struct connlimit *
connlimit_new(unsigned int total, unsigned int per_source)
{
	struct connlimit	*cl;

	cl = xcalloc(1, sizeof(*cl));
	pthread_mutex_init(&cl->cl_lock, NULL);
	cl->cl_total_max = total;
	cl->cl_source_max = per_source;
	cl->cl_seed = arc4random();
	return (cl);
}

static struct climit_entry **
connlimit_slot(struct connlimit *cl, const struct sockaddr *sa)
{
	struct climit_entry	**pp;

	pp = &cl->cl_bucket[addr_hash_ip(sa, cl->cl_seed) % CONNLIMIT_BUCKETS];
	while (*pp != NULL &&
	    !addr_ip_eq((const struct sockaddr *)&(*pp)->ce_ip, sa))
		pp = &(*pp)->ce_next;
	return (pp);
}

int
connlimit_acquire(struct connlimit *cl, const struct sockaddr *sa)
{
	struct climit_entry	**pp, *e;
	int			  rc = -1;

	pthread_mutex_lock(&cl->cl_lock);
	if (cl->cl_total >= cl->cl_total_max)
		goto out;
	pp = connlimit_slot(cl, sa);
	if ((e = *pp) == NULL) {
		e = xcalloc(1, sizeof(*e));
		memcpy(&e->ce_ip, sa, addr_len(sa));
		*pp = e;
	}
	if (e->ce_count >= cl->cl_source_max)
		goto out;
	e->ce_count++;
	cl->cl_total++;
	rc = 0;
out:
	pthread_mutex_unlock(&cl->cl_lock);
	return (rc);
}

void
connlimit_release(struct connlimit *cl, const struct sockaddr *sa)
{
	struct climit_entry	**pp, *e;

	pthread_mutex_lock(&cl->cl_lock);
	pp = connlimit_slot(cl, sa);
	if ((e = *pp) != NULL) {
		if (--e->ce_count == 0) {
			*pp = e->ce_next;
			free(e);
		}
		cl->cl_total--;
	}
	pthread_mutex_unlock(&cl->cl_lock);
}

void
connlimit_free(struct connlimit *cl)
{
	struct climit_entry	*e, *next;
	unsigned int		 i;

	if (cl == NULL)
		return;
	for (i = 0; i < CONNLIMIT_BUCKETS; i++)
		for (e = cl->cl_bucket[i]; e != NULL; e = next) {
			next = e->ce_next;
			free(e);
		}
	pthread_mutex_destroy(&cl->cl_lock);
	free(cl);
}
