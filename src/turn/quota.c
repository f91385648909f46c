/*
 * quota.c -- allocation quotas per user and in total (see quota.h): a
 * countmap keyed by the quota id; and the per-user bandwidth windows, a
 * chained hash of refcounted entries under the same kind of mutex.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/countmap.h"
#include "common/xmalloc.h"
#include "turn/quota.h"

#define QUOTA_BW_BUCKETS	1024
#define QUOTA_BW_SEC_SHIFT	40	/* window: second << 40 | bytes */
#define QUOTA_BW_BYTES		((UINT64_C(1) << QUOTA_BW_SEC_SHIFT) - 1)
#define QUOTA_BW_TRIES		64	/* CAS rounds before a drop */

struct quota_bw {
	struct quota_bw		*qb_next;
	unsigned int		 qb_refs;	/* under qt_bw_lock */
	_Atomic uint64_t	 qb_win;	/* second (24 bits), bytes */
	char			 qb_id[];
};

struct quota {
	struct countmap		*qt_count;
	pthread_mutex_t		 qt_bw_lock;
	struct quota_bw		*qt_bw[QUOTA_BW_BUCKETS];
};

struct quota *
quota_new(unsigned int per_user, unsigned int total)
{
	struct quota	*q = xcalloc(1, sizeof(*q));

	q->qt_count = countmap_new(per_user, total);
	pthread_mutex_init(&q->qt_bw_lock, NULL);
	return (q);
}

void
quota_free(struct quota *q)
{
	struct quota_bw	*b;
	unsigned int	 i;

	if (q == NULL)
		return;
	for (i = 0; i < QUOTA_BW_BUCKETS; i++)
		while ((b = q->qt_bw[i]) != NULL) {
			q->qt_bw[i] = b->qb_next;
			free(b);
		}
	pthread_mutex_destroy(&q->qt_bw_lock);
	countmap_free(q->qt_count);
	free(q);
}

int
quota_acquire(struct quota *q, const char *id)
{
	return (countmap_acquire(q->qt_count, id, strlen(id)));
}

void
quota_force(struct quota *q, const char *id)
{
	countmap_force(q->qt_count, id, strlen(id));
}

void
quota_release(struct quota *q, const char *id)
{
	countmap_release(q->qt_count, id, strlen(id));
}

void
quota_set_limits(struct quota *q, unsigned int per_user, unsigned int total)
{
	countmap_set_limits(q->qt_count, per_user, total);
}

static unsigned int
quota_bw_bucket(const char *id)
{
	uint32_t	h = 2166136261U;

	while (*id != '\0')
		h = (h ^ (uint8_t)*id++) * 16777619U;
	return (h % QUOTA_BW_BUCKETS);
}

struct quota_bw *
quota_bw_get(struct quota *q, const char *id)
{
	struct quota_bw	*b;
	unsigned int	 i = quota_bw_bucket(id);
	size_t		 len = strlen(id);

	pthread_mutex_lock(&q->qt_bw_lock);
	for (b = q->qt_bw[i]; b != NULL; b = b->qb_next)
		if (strcmp(b->qb_id, id) == 0)
			break;
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b) + len + 1);
		memcpy(b->qb_id, id, len);
		atomic_init(&b->qb_win, 0);
		b->qb_next = q->qt_bw[i];
		q->qt_bw[i] = b;
	}
	b->qb_refs++;
	pthread_mutex_unlock(&q->qt_bw_lock);
	return (b);
}

void
quota_bw_put(struct quota *q, struct quota_bw *b)
{
	struct quota_bw	**pp;

	if (b == NULL)
		return;
	pthread_mutex_lock(&q->qt_bw_lock);
	if (--b->qb_refs == 0) {
		for (pp = &q->qt_bw[quota_bw_bucket(b->qb_id)]; *pp != b;
		    pp = &(*pp)->qb_next)
			;
		*pp = b->qb_next;
		free(b);
	}
	pthread_mutex_unlock(&q->qt_bw_lock);
}

int
quota_bw_take(struct quota_bw *b, time_t now, uint64_t len, uint64_t max)
{
	uint64_t	v, nv, used, sec = (uint64_t)now & 0xFFFFFF;
	unsigned int	i;

	if (len > max || max > QUOTA_BW_BYTES)
		return (len <= max);	/* a cap beyond 1 TB/s is none */
	v = atomic_load_explicit(&b->qb_win, memory_order_relaxed);
	for (i = 0; i < QUOTA_BW_TRIES; i++) {
		used = (v >> QUOTA_BW_SEC_SHIFT) == sec ?
		    (v & QUOTA_BW_BYTES) : 0;
		if (used + len > max)
			return (0);
		nv = sec << QUOTA_BW_SEC_SHIFT | (used + len);
		if (atomic_compare_exchange_weak_explicit(&b->qb_win, &v, nv,
		    memory_order_relaxed, memory_order_relaxed))
			return (1);
	}
	return (0);
}
