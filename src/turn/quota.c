/*
 * quota.c -- allocation quotas per user and in total (see quota.h): a
 * countmap keyed by the quota id.
 */

#include <string.h>

#include "common/countmap.h"
#include "turn/quota.h"

struct quota *
quota_new(unsigned int per_user, unsigned int total)
{
	return ((struct quota *)countmap_new(per_user, total));
}

void
quota_free(struct quota *q)
{
	countmap_free((struct countmap *)q);
}

int
quota_acquire(struct quota *q, const char *id)
{
	return (countmap_acquire((struct countmap *)q, id, strlen(id)));
}

void
quota_release(struct quota *q, const char *id)
{
	countmap_release((struct countmap *)q, id, strlen(id));
}

void
quota_set_limits(struct quota *q, unsigned int per_user, unsigned int total)
{
	countmap_set_limits((struct countmap *)q, per_user, total);
}
