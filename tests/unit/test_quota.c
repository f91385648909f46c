/*
 * test_quota.c -- allocation quotas per user and in total.
 */

#include <pthread.h>
#include <stdio.h>

#include "turn/quota.h"
#include "unit.h"

static void
test_per_user(void)
{
	struct quota	*q = quota_new(2, 0);

	CHECK_EQ_INT(quota_acquire(q, "alice"), 0);
	CHECK_EQ_INT(quota_acquire(q, "alice"), 0);
	CHECK_EQ_INT(quota_acquire(q, "alice"), -1);
	CHECK_EQ_INT(quota_acquire(q, "bob"), 0);
	quota_release(q, "alice");
	CHECK_EQ_INT(quota_acquire(q, "alice"), 0);
	CHECK_EQ_INT(quota_acquire(q, "alice"), -1);
	quota_release(q, "alice");
	quota_release(q, "alice");
	quota_release(q, "bob");
	/* all gone: full quota again, and releasing an unknown id is harmless */
	quota_release(q, "carol");
	CHECK_EQ_INT(quota_acquire(q, "alice"), 0);
	CHECK_EQ_INT(quota_acquire(q, "alice"), 0);
	quota_free(q);
	quota_free(NULL);
}

static void
test_total(void)
{
	struct quota	*q = quota_new(0, 3);
	char		 id[16];
	int		 i;

	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		CHECK_EQ_INT(quota_acquire(q, id), 0);
	}
	CHECK_EQ_INT(quota_acquire(q, "u9"), -1);
	quota_release(q, "u1");
	CHECK_EQ_INT(quota_acquire(q, "u9"), 0);
	CHECK_EQ_INT(quota_acquire(q, "u8"), -1);
	quota_free(q);

	/* 0 and 0: no limit at all */
	q = quota_new(0, 0);
	for (i = 0; i < 10000; i++)
		if (quota_acquire(q, "x") != 0)
			break;
	CHECK_EQ_INT(i, 10000);
	quota_free(q);
}

static struct quota	*shared;

static void *
hammer(void *arg)
{
	int	i;

	for (i = 0; i < 20000; i++)
		if (quota_acquire(shared, arg) == 0)
			quota_release(shared, arg);
	return (NULL);
}

/* Workers share it: counts stay exact under concurrent use. */
static void
test_threads(void)
{
	pthread_t	t[4];
	char		ids[4][8] = { "a", "b", "a", "c" };
	int		i;

	shared = quota_new(1, 2);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, ids[i]);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(quota_acquire(shared, "a"), 0);
	CHECK_EQ_INT(quota_acquire(shared, "b"), 0);
	CHECK_EQ_INT(quota_acquire(shared, "c"), -1);
	quota_free(shared);
}

int
main(void)
{
	RUN(test_per_user);
	RUN(test_total);
	RUN(test_threads);
	return (unit_done());
}
