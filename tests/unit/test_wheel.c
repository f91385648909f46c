/*
 * test_wheel.c -- the timing wheel that expires allocations: entries fire
 * at their second and not before, re-arming and cancelling move them,
 * deadlines beyond one turn wait for their turn, a late arm fires at the
 * next run, and a clock jump fires everything due once.
 */

#include <stdlib.h>

#include "common/wheel.h"
#include "unit.h"

struct item {
	struct wheel_entry	 e;	/* first: the item is the entry */
	int			 fired;
	int			 rearm;	/* seconds to re-arm by when fired */
	struct wheel		*wh;
};

static void
fire(struct wheel_entry *e, void *arg)
{
	struct item	*it = (struct item *)e;
	unsigned int	*count = arg;

	it->fired++;
	(*count)++;
	if (it->rearm > 0)
		wheel_arm(it->wh, e, e->we_when + it->rearm);
}

static unsigned int
run(struct wheel *wh, time_t now)
{
	unsigned int	count = 0;

	CHECK_EQ_INT((int)wheel_run(wh, now, fire, &count), (int)count);
	return (count);
}

static void
test_fires_at_its_second(void)
{
	struct wheel	*wh = malloc(sizeof(*wh));
	struct item	 a = { 0 }, b = { 0 };
	time_t		 t0 = 1700000000;

	wheel_init(wh, t0);
	wheel_arm(wh, &a.e, t0 + 5);
	wheel_arm(wh, &b.e, t0 + 7);
	CHECK_EQ_INT((int)run(wh, t0 + 4), 0);
	CHECK_EQ_INT((int)run(wh, t0 + 5), 1);
	CHECK_EQ_INT(a.fired, 1);
	CHECK_EQ_INT(b.fired, 0);
	CHECK(!a.e.we_armed);
	CHECK_EQ_INT((int)run(wh, t0 + 9), 1);	/* a run skipping seconds */
	CHECK_EQ_INT(b.fired, 1);
	CHECK_EQ_INT((int)run(wh, t0 + 20), 0);	/* nothing fires twice */
	free(wh);
}

static void
test_rearm_and_cancel(void)
{
	struct wheel	*wh = malloc(sizeof(*wh));
	struct item	 a = { 0 }, b = { 0 };
	time_t		 t0 = 1000;

	wheel_init(wh, t0);
	wheel_arm(wh, &a.e, t0 + 3);
	wheel_arm(wh, &a.e, t0 + 10);		/* refreshed */
	wheel_arm(wh, &b.e, t0 + 3);
	wheel_cancel(&b.e);
	wheel_cancel(&b.e);			/* twice is harmless */
	CHECK_EQ_INT((int)run(wh, t0 + 9), 0);
	CHECK_EQ_INT((int)run(wh, t0 + 10), 1);
	CHECK_EQ_INT(a.fired, 1);
	CHECK_EQ_INT(b.fired, 0);
	free(wh);
}

static void
test_beyond_one_turn(void)
{
	struct wheel	*wh = malloc(sizeof(*wh));
	struct item	 a = { 0 };
	time_t		 t0 = 5000, t;

	wheel_init(wh, t0);
	wheel_arm(wh, &a.e, t0 + 3 * WHEEL_SLOTS + 2);
	for (t = t0 + 1; t < t0 + 3 * WHEEL_SLOTS + 2; t++)
		if (run(wh, t) != 0)
			break;
	CHECK_EQ_INT(a.fired, 0);
	CHECK_EQ_INT((int)run(wh, t0 + 3 * WHEEL_SLOTS + 2), 1);
	free(wh);
}

static void
test_late_and_jump(void)
{
	struct wheel	*wh = malloc(sizeof(*wh));
	struct item	 it[50];
	time_t		 t0 = 77;
	int		 i;

	wheel_init(wh, t0);
	memset(it, 0, sizeof(it));
	/* already due: fires at the next run */
	wheel_arm(wh, &it[0].e, t0 - 10);
	CHECK_EQ_INT((int)run(wh, t0 + 1), 1);
	/* a jump of many turns fires everything due, once */
	for (i = 1; i < 50; i++)
		wheel_arm(wh, &it[i].e, t0 + 2 + i * 97);
	CHECK_EQ_INT((int)run(wh, t0 + 10 * WHEEL_SLOTS), 49);
	for (i = 0; i < 50; i++)
		CHECK_EQ_INT(it[i].fired, 1);
	free(wh);
}

static void
test_rearm_inside_run(void)
{
	struct wheel	*wh = malloc(sizeof(*wh));
	struct item	 a = { 0 };
	time_t		 t0 = 400;

	wheel_init(wh, t0);
	a.wh = wh;
	a.rearm = 2;				/* fires every other second */
	wheel_arm(wh, &a.e, t0 + 1);
	CHECK_EQ_INT((int)run(wh, t0 + 1), 1);
	CHECK_EQ_INT((int)run(wh, t0 + 2), 0);
	CHECK_EQ_INT((int)run(wh, t0 + 3), 1);
	CHECK_EQ_INT((int)run(wh, t0 + 7), 2);	/* +5, +7 */
	CHECK_EQ_INT(a.fired, 4);
	a.rearm = 0;
	wheel_cancel(&a.e);
	free(wh);
}

int
main(void)
{
	RUN(test_fires_at_its_second);
	RUN(test_rearm_and_cancel);
	RUN(test_beyond_one_turn);
	RUN(test_late_and_jump);
	RUN(test_rearm_inside_run);
	return (unit_done());
}
