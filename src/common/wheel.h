/*
 * wheel.h -- a timing wheel of one-second slots: what expires at second t
 * is kept in slot t % WHEEL_SLOTS, so arming, re-arming and cancelling
 * cost a list link each and a tick looks at one slot per second gone by.
 * Deadlines further than WHEEL_SLOTS seconds ahead stay in their slot for
 * more than one turn.  No allocation: the entry lives in its owner.
 */

#ifndef WHEEL_H
#define WHEEL_H

#include <sys/queue.h>

#include <time.h>

#define WHEEL_SLOTS	1024		/* a power of two */

struct wheel_entry {
	LIST_ENTRY(wheel_entry)	 we_link;
	time_t			 we_when;
	int			 we_armed;
};

struct wheel {
	LIST_HEAD(, wheel_entry) wh_slot[WHEEL_SLOTS];
	time_t			 wh_done;	/* seconds up to this one ran */
};

void	wheel_init(struct wheel *, time_t now);
/* (Re)arm e for second when; a time already gone fires at the next run. */
void	wheel_arm(struct wheel *, struct wheel_entry *, time_t when);
void	wheel_cancel(struct wheel_entry *);
/*
 * Call fn(e, arg) for every entry due at or before now, disarmed first
 * (fn may re-arm it or free its owner, not cancel other entries).
 * Returns how many fired.
 */
unsigned int wheel_run(struct wheel *, time_t now,
	    void (*fn)(struct wheel_entry *, void *), void *arg);

#endif /* WHEEL_H */
