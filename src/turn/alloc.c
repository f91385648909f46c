/*
 * alloc.c -- TURN allocation table, permissions and channel bindings
 * (RFC 8656 sections 2.2, 9 and 11).  See alloc.h.
 */

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "stun/stun.h"
#include "turn/alloc.h"

#define ALLOC_BUCKETS	4096

LIST_HEAD(alloc_list, alloc);

struct alloc_table {
	struct alloc_list	 at_bucket[ALLOC_BUCKETS];
	unsigned int		 at_count;
	uint32_t		 at_seed;
};

struct alloc_table *
alloc_table_new(void)
{
	struct alloc_table	*t;
	unsigned int		 i;

	t = xcalloc(1, sizeof(*t));
	for (i = 0; i < ALLOC_BUCKETS; i++)
		LIST_INIT(&t->at_bucket[i]);
	t->at_seed = arc4random();
	return (t);
}

void
alloc_table_free(struct alloc_table *t)
{
	free(t);
}

unsigned int
alloc_table_count(const struct alloc_table *t)
{
	return (t->at_count);
}

static struct alloc_list *
alloc_bucket(struct alloc_table *t, enum transport tr,
    const struct sockaddr *client, const struct sockaddr *local)
{
	uint32_t	h;

	h = addr_hash_ip(client, t->at_seed);
	h ^= (uint32_t)addr_port(client) * 2654435761U;
	h ^= (uint32_t)addr_port(local) << 16 ^ (uint32_t)tr;
	return (&t->at_bucket[h % ALLOC_BUCKETS]);
}

struct alloc *
alloc_find(struct alloc_table *t, enum transport tr,
    const struct sockaddr *client, const struct sockaddr *local)
{
	struct alloc	*a;

	LIST_FOREACH(a, alloc_bucket(t, tr, client, local), a_hash)
		if (a->a_transport == tr &&
		    addr_eq((struct sockaddr *)&a->a_client, client) &&
		    addr_eq((struct sockaddr *)&a->a_local, local))
			return (a);
	return (NULL);
}

struct alloc *
alloc_new(struct alloc_table *t, enum transport tr,
    const struct sockaddr *client, const struct sockaddr *local)
{
	struct alloc	*a;

	a = xcalloc(1, sizeof(*a));
	a->a_transport = tr;
	memcpy(&a->a_client, client, addr_len(client));
	memcpy(&a->a_local, local, addr_len(local));
	a->a_id = (uint64_t)arc4random() << 32 | arc4random();
	LIST_INSERT_HEAD(alloc_bucket(t, tr, client, local), a, a_hash);
	t->at_count++;
	return (a);
}

void
alloc_insert(struct alloc_table *t, struct alloc *a)
{
	LIST_INSERT_HEAD(alloc_bucket(t, a->a_transport, &a->a_client.sa,
	    &a->a_local.sa), a, a_hash);
	t->at_count++;
}

void
alloc_discard(struct alloc *a)
{
	if (a == NULL)
		return;
	explicit_bzero(a->a_key, sizeof(a->a_key));
	free(a->a_perm);
	free(a->a_chan);
	free(a->a_user);
	free(a->a_quota_id);
	free(a);
}

void
alloc_foreach(struct alloc_table *t, void (*fn)(struct alloc *, void *),
    void *arg)
{
	struct alloc	*a;
	unsigned int	 i;

	for (i = 0; i < ALLOC_BUCKETS; i++)
		LIST_FOREACH(a, &t->at_bucket[i], a_hash)
			fn(a, arg);
}

void
alloc_free(struct alloc_table *t, struct alloc *a)
{
	if (a == NULL)
		return;
	LIST_REMOVE(a, a_hash);
	t->at_count--;
	alloc_discard(a);
}

void
alloc_set_user(struct alloc *a, const char *user, const char *quota_id)
{
	free(a->a_user);
	free(a->a_quota_id);
	a->a_user = xstrdup(user);
	a->a_quota_id = xstrdup(quota_id);
}

/* Room for one more entry of n in *arr (cap *cap, at most max): 0 or -1. */
static int
alloc_grow(void **arr, unsigned int n, unsigned int *cap, unsigned int max,
    size_t size)
{
	unsigned int	ncap;

	if (n < *cap)
		return (0);
	if (*cap >= max)
		return (-1);
	ncap = *cap == 0 ? 1 : *cap * 2;	/* most hold one */
	if (ncap > max)
		ncap = max;
	*arr = xreallocarray(*arr, ncap, size);
	*cap = ncap;
	return (0);
}

int
perm_install(struct alloc *a, const struct sockaddr *peer, time_t now,
    time_t expires)
{
	struct perm	*p, *free_slot = NULL;
	unsigned int	 i;

	for (i = 0; i < a->a_nperm; i++) {
		p = &a->a_perm[i];
		if (addr_ip_eq((struct sockaddr *)&p->p_peer, peer)) {
			p->p_expires = expires;
			return (0);
		}
		if (p->p_expires <= now && free_slot == NULL)
			free_slot = p;
	}
	if (free_slot == NULL) {
		if (alloc_grow((void **)&a->a_perm, a->a_nperm, &a->a_permcap,
		    ALLOC_PERMS_MAX, sizeof(*a->a_perm)) == -1)
			return (-1);
		free_slot = &a->a_perm[a->a_nperm++];
	}
	memset(&free_slot->p_peer, 0, sizeof(free_slot->p_peer));
	memcpy(&free_slot->p_peer, peer, addr_len(peer));
	free_slot->p_expires = expires;
	return (0);
}

int
perm_check(const struct alloc *a, const struct sockaddr *peer, time_t now)
{
	unsigned int	i;

	for (i = 0; i < a->a_nperm; i++)
		if (a->a_perm[i].p_expires > now &&
		    addr_ip_eq((const struct sockaddr *)&a->a_perm[i].p_peer,
		    peer))
			return (1);
	return (0);
}

/* A binding that still holds its number and peer: live or quarantined. */
static int
chan_held(const struct chan *c, time_t now)
{
	return (c->ch_expires + ALLOC_CHAN_QUARANTINE > now);
}

int
chan_bind(struct alloc *a, uint16_t num, uint16_t maxnum,
    const struct sockaddr *peer, time_t now, time_t expires,
    time_t perm_expires)
{
	struct chan	*c, *slot = NULL, *same = NULL;
	unsigned int	 i;
	int		 same_num, same_peer;

	if (num < STUN_CHAN_MIN || num > maxnum)
		return (STUN_ERR_BAD_REQUEST);
	for (i = 0; i < a->a_nchan; i++) {
		c = &a->a_chan[i];
		same_num = c->ch_num == num;
		same_peer = addr_eq((struct sockaddr *)&c->ch_peer, peer);
		if (same_num && same_peer) {
			same = c;	/* a refresh (11.2) */
			continue;
		}
		if (!chan_held(c, now)) {
			if (slot == NULL)
				slot = c;
			continue;
		}
		if (same_num || same_peer)
			return (STUN_ERR_BAD_REQUEST);
	}
	if (same == NULL) {
		if (slot == NULL) {
			if (alloc_grow((void **)&a->a_chan, a->a_nchan,
			    &a->a_chancap, ALLOC_CHANS_MAX,
			    sizeof(*a->a_chan)) == -1)
				return (STUN_ERR_INSUFFICIENT_CAPACITY);
			slot = &a->a_chan[a->a_nchan++];
		}
		same = slot;
		same->ch_num = num;
		memset(&same->ch_peer, 0, sizeof(same->ch_peer));
		memcpy(&same->ch_peer, peer, addr_len(peer));
	}
	if (perm_install(a, peer, now, perm_expires) == -1)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	same->ch_expires = expires;
	return (0);
}

const struct chan *
chan_by_num(const struct alloc *a, uint16_t num, time_t now)
{
	unsigned int	i;

	for (i = 0; i < a->a_nchan; i++)
		if (a->a_chan[i].ch_num == num && a->a_chan[i].ch_expires > now)
			return (&a->a_chan[i]);
	return (NULL);
}

const struct chan *
chan_by_peer(const struct alloc *a, const struct sockaddr *peer, time_t now)
{
	unsigned int	i;

	for (i = 0; i < a->a_nchan; i++)
		if (a->a_chan[i].ch_expires > now &&
		    addr_eq((const struct sockaddr *)&a->a_chan[i].ch_peer,
		    peer))
			return (&a->a_chan[i]);
	return (NULL);
}
