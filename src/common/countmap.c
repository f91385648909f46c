/*
 * countmap.c -- live counts per key with limits (see countmap.h): a
 * chained hash under one mutex.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/countmap.h"
#include "common/xmalloc.h"

#define COUNTMAP_BUCKETS	4096

struct cm_entry {
	struct cm_entry		*ce_next;
	unsigned int		 ce_count;
	size_t			 ce_len;
	uint8_t			 ce_key[];
};

struct countmap {
	pthread_mutex_t		 cm_lock;
	unsigned int		 cm_key_max;
	unsigned int		 cm_total_max;
	unsigned int		 cm_total;
	uint32_t		 cm_seed;
	struct cm_entry		*cm_bucket[COUNTMAP_BUCKETS];
};

struct countmap *
countmap_new(unsigned int per_key, unsigned int total)
{
	struct countmap	*cm = xcalloc(1, sizeof(*cm));

	pthread_mutex_init(&cm->cm_lock, NULL);
	cm->cm_key_max = per_key;
	cm->cm_total_max = total;
	cm->cm_seed = arc4random();
	return (cm);
}

void
countmap_free(struct countmap *cm)
{
	struct cm_entry	*e, *next;
	unsigned int	 i;

	if (cm == NULL)
		return;
	for (i = 0; i < COUNTMAP_BUCKETS; i++)
		for (e = cm->cm_bucket[i]; e != NULL; e = next) {
			next = e->ce_next;
			free(e);
		}
	pthread_mutex_destroy(&cm->cm_lock);
	free(cm);
}

/* The link that holds key's entry, or the NULL link at its chain's end. */
static struct cm_entry **
countmap_slot(struct countmap *cm, const void *key, size_t len)
{
	struct cm_entry	**pp;
	const uint8_t	 *p = key;
	uint32_t	  h = 2166136261U ^ cm->cm_seed;
	size_t		  i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619U;	/* FNV-1a */
	pp = &cm->cm_bucket[h % COUNTMAP_BUCKETS];
	while (*pp != NULL && ((*pp)->ce_len != len ||
	    memcmp((*pp)->ce_key, key, len) != 0))
		pp = &(*pp)->ce_next;
	return (pp);
}

static int
countmap_add(struct countmap *cm, const void *key, size_t len, int force)
{
	struct cm_entry	**pp, *e;
	int		  rc = -1;

	pthread_mutex_lock(&cm->cm_lock);
	if (!force && cm->cm_total_max != 0 && cm->cm_total >= cm->cm_total_max)
		goto out;
	pp = countmap_slot(cm, key, len);
	if ((e = *pp) != NULL && !force && cm->cm_key_max != 0 &&
	    e->ce_count >= cm->cm_key_max)
		goto out;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e) + len);
		e->ce_len = len;
		memcpy(e->ce_key, key, len);
		*pp = e;
	}
	e->ce_count++;
	cm->cm_total++;
	rc = 0;
out:
	pthread_mutex_unlock(&cm->cm_lock);
	return (rc);
}

int
countmap_acquire(struct countmap *cm, const void *key, size_t len)
{
	return (countmap_add(cm, key, len, 0));
}

void
countmap_force(struct countmap *cm, const void *key, size_t len)
{
	(void)countmap_add(cm, key, len, 1);
}

void
countmap_release(struct countmap *cm, const void *key, size_t len)
{
	struct cm_entry	**pp, *e;

	pthread_mutex_lock(&cm->cm_lock);
	pp = countmap_slot(cm, key, len);
	if ((e = *pp) != NULL) {
		if (--e->ce_count == 0) {
			*pp = e->ce_next;
			free(e);
		}
		cm->cm_total--;
	}
	pthread_mutex_unlock(&cm->cm_lock);
}

void
countmap_set_limits(struct countmap *cm, unsigned int per_key,
    unsigned int total)
{
	pthread_mutex_lock(&cm->cm_lock);
	cm->cm_key_max = per_key;
	cm->cm_total_max = total;
	pthread_mutex_unlock(&cm->cm_lock);
}
