/*
 * ratelim.c -- answers per second per source IP, shared by the workers
 * (see ratelim.h).
 *
 * Each slot is one _Atomic uint64_t: the owner's tag (16 bits of the
 * hash not used for the index), the second (24 low bits of the clock)
 * and the count of that second (24 bits: auth.unauth_rate is at most
 * 1000000, src/conf/conf_table.c).
 */

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "turn/ratelim.h"

#define RATELIM_SLOTS	16384		/* a power of two, at most 65536 */
#define RATELIM_TRIES	16		/* lost races before giving up */
#define RATELIM_SKEW	2		/* seconds a clock may be behind */

#define SLOT_TAG(w)	((uint32_t)((w) >> 48))
#define SLOT_SEC(w)	((uint32_t)((w) >> 24) & 0xFFFFFFu)
#define SLOT_COUNT(w)	((uint32_t)(w) & 0xFFFFFFu)
#define SLOT_MAKE(tag, sec, count)					\
	((uint64_t)(tag) << 48 | (uint64_t)((sec) & 0xFFFFFFu) << 24 |	\
	    (uint64_t)(count))

struct ratelim {
	uint32_t		rl_seed;
	_Atomic uint64_t	rl_slot[RATELIM_SLOTS];
};

struct ratelim *
ratelim_new(void)
{
	struct ratelim	*rl;
	size_t		 i;

	rl = xcalloc(1, sizeof(*rl));
	rl->rl_seed = arc4random();
	for (i = 0; i < RATELIM_SLOTS; i++)
		atomic_init(&rl->rl_slot[i], 0);
	return (rl);
}

void
ratelim_free(struct ratelim *rl)
{
	free(rl);
}

/*
 * How many seconds the slot's second is ahead of ours, 24-bit wrap
 * taken into account: 0 the same, > 0 another worker is already there,
 * < 0 the slot is from an earlier second.
 */
static int32_t
ratelim_ahead(uint64_t w, uint32_t sec)
{
	uint32_t	d = (SLOT_SEC(w) - sec) & 0xFFFFFFu;

	return (d & 0x800000u ? (int32_t)d - 0x1000000 : (int32_t)d);
}

int
ratelim_allow(struct ratelim *rl, const struct sockaddr *src, time_t now,
    unsigned int rate)
{
	struct sockaddr_storage	 ss;
	_Atomic uint64_t	*slot;
	uint64_t		 old, new;
	uint32_t		 h, tag, sec;
	int32_t			 ahead;
	int			 i;

	if (rate == 0 || rl == NULL)
		return (1);
	if (src->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)src)->sin6_addr)) {
		/* ::ffff:a.b.c.d on a dual-stack socket is a.b.c.d */
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, src, sizeof(struct sockaddr_in6));
		addr_unmap(&ss);
		src = (const struct sockaddr *)&ss;
	}
	h = addr_hash_ip(src, rl->rl_seed);
	slot = &rl->rl_slot[h & (RATELIM_SLOTS - 1)];
	tag = h >> 16;
	sec = (uint32_t)now & 0xFFFFFFu;
	old = atomic_load_explicit(slot, memory_order_relaxed);
	for (i = 0; i < RATELIM_TRIES; i++) {
		ahead = ratelim_ahead(old, sec);
		if (SLOT_TAG(old) == tag && ahead >= 0 &&
		    ahead <= RATELIM_SKEW) {
			/* this second (or a worker's a little later one) */
			if (SLOT_COUNT(old) >= rate)
				return (0);
			new = old + 1;
		} else
			new = SLOT_MAKE(tag, sec, 1);
		if (atomic_compare_exchange_weak_explicit(slot, &old, new,
		    memory_order_relaxed, memory_order_relaxed))
			return (1);
	}
	/* so contended that the answer is better not sent */
	return (0);
}
