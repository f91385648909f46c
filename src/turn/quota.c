/*
 * quota.c -- allocation quotas per user and in total (see quota.h).  A
 * chained hash of the ids that hold allocations; an entry lives only
 * while its count is above zero, so the table never outgrows the number
 * of allocations.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "turn/quota.h"

#define QUOTA_BUCKETS	4096

struct quota_entry {
	struct quota_entry	*qe_next;
	unsigned int		 qe_count;
	char			 qe_id[];
};

struct quota {
	pthread_mutex_t		 q_lock;
	unsigned int		 q_user_max;
	unsigned int		 q_total_max;
	unsigned int		 q_total;
	uint32_t		 q_seed;
	struct quota_entry	*q_bucket[QUOTA_BUCKETS];
};

struct quota *
quota_new(unsigned int per_user, unsigned int total)
{
	struct quota	*q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->q_lock, NULL);
	q->q_user_max = per_user;
	q->q_total_max = total;
	q->q_seed = arc4random();
	return (q);
}

void
quota_free(struct quota *q)
{
	struct quota_entry	*e, *next;
	unsigned int		 i;

	if (q == NULL)
		return;
	for (i = 0; i < QUOTA_BUCKETS; i++)
		for (e = q->q_bucket[i]; e != NULL; e = next) {
			next = e->qe_next;
			free(e);
		}
	pthread_mutex_destroy(&q->q_lock);
	free(q);
}

static struct quota_entry **
quota_slot(struct quota *q, const char *id)
{
	struct quota_entry	**pp;
	const unsigned char	 *p;
	uint32_t		  h = 2166136261U ^ q->q_seed;

	for (p = (const unsigned char *)id; *p != '\0'; p++)
		h = (h ^ *p) * 16777619U;
	pp = &q->q_bucket[h % QUOTA_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->qe_id, id) != 0)
		pp = &(*pp)->qe_next;
	return (pp);
}

int
quota_acquire(struct quota *q, const char *id)
{
	struct quota_entry	**pp, *e;
	size_t			  len;
	int			  rc = -1;

	pthread_mutex_lock(&q->q_lock);
	if (q->q_total_max != 0 && q->q_total >= q->q_total_max)
		goto out;
	pp = quota_slot(q, id);
	if ((e = *pp) == NULL) {
		len = strlen(id) + 1;
		e = xcalloc(1, sizeof(*e) + len);
		memcpy(e->qe_id, id, len);
		*pp = e;
	}
	if (q->q_user_max != 0 && e->qe_count >= q->q_user_max) {
		if (e->qe_count == 0) {
			*pp = e->qe_next;
			free(e);
		}
		goto out;
	}
	e->qe_count++;
	q->q_total++;
	rc = 0;
out:
	pthread_mutex_unlock(&q->q_lock);
	return (rc);
}

void
quota_release(struct quota *q, const char *id)
{
	struct quota_entry	**pp, *e;

	pthread_mutex_lock(&q->q_lock);
	pp = quota_slot(q, id);
	if ((e = *pp) != NULL) {
		if (--e->qe_count == 0) {
			*pp = e->qe_next;
			free(e);
		}
		q->q_total--;
	}
	pthread_mutex_unlock(&q->q_lock);
}
