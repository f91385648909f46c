/*
 * wheel.c -- a timing wheel of one-second slots (wheel.h).
 */

#include "common/wheel.h"

void
wheel_init(struct wheel *wh, time_t now)
{
	unsigned int	i;

	for (i = 0; i < WHEEL_SLOTS; i++)
		LIST_INIT(&wh->wh_slot[i]);
	wh->wh_done = now;
}

void
wheel_cancel(struct wheel_entry *e)
{
	if (!e->we_armed)
		return;
	LIST_REMOVE(e, we_link);
	e->we_armed = 0;
}

void
wheel_arm(struct wheel *wh, struct wheel_entry *e, time_t when)
{
	time_t	slot = when;

	wheel_cancel(e);
	if (slot <= wh->wh_done)
		slot = wh->wh_done + 1;		/* late: the next run */
	e->we_when = when;
	e->we_armed = 1;
	LIST_INSERT_HEAD(&wh->wh_slot[(unsigned long)slot & (WHEEL_SLOTS - 1)],
	    e, we_link);
}

unsigned int
wheel_run(struct wheel *wh, time_t now,
    void (*fn)(struct wheel_entry *, void *), void *arg)
{
	struct wheel_entry	*e, *next;
	unsigned int		 fired = 0, slots = 0;
	time_t			 t;

	/* a jump forward visits every slot once, not every second */
	for (t = wh->wh_done + 1; t <= now && slots < WHEEL_SLOTS;
	    t++, slots++) {
		wh->wh_done = t;	/* what fn re-arms late goes on */
		e = LIST_FIRST(&wh->wh_slot[(unsigned long)t &
		    (WHEEL_SLOTS - 1)]);
		for (; e != NULL; e = next) {
			next = LIST_NEXT(e, we_link);
			if (e->we_when > now)
				continue;	/* a later turn of the wheel */
			wheel_cancel(e);
			fired++;
			fn(e, arg);
		}
	}
	if (now > wh->wh_done)
		wh->wh_done = now;
	return (fired);
}
