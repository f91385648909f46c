/*
 * quota.h -- allocation quotas per user and in total, shared by all
 * workers (a mutex taken on Allocate and on the end of an allocation,
 * never per packet).  A user is counted by its quota id: the REST user id
 * for ephemeral credentials, so "expiry:alice" and "expiry2:alice" share
 * alice's quota.
 */

#ifndef QUOTA_H
#define QUOTA_H

struct quota;

/* 0 for either limit means none. */
struct quota	*quota_new(unsigned int per_user, unsigned int total);
void		 quota_free(struct quota *);
/* 0 and counted, or -1 when a limit is reached (486). */
int		 quota_acquire(struct quota *, const char *id);
void		 quota_release(struct quota *, const char *id);
/* Limits for new allocations (a realm option changed in the store). */
void		 quota_set_limits(struct quota *, unsigned int per_user,
		    unsigned int total);

#endif /* QUOTA_H */
