/*
 * resv.c -- EVEN-PORT reservations (RFC 8656 7.2): with the R bit, the
 * port after an allocation's even port is bound and kept, under a token
 * the client may bring to a later Allocate.  That Allocate may land on
 * another worker, so the reservations are shared, under a mutex (taken
 * only when an Allocate asks for or brings a reservation, and once a
 * second by each worker's tick).  A kept port that nobody claims is
 * closed after relay.reservation_lifetime seconds.
 *
 * A reservation holds one slot of its user's quota (relay.user_quota,
 * src/turn/quota.c) under its own claim id, as an allocation does: it is
 * given back here when the reservation expires or another user takes it,
 * and it becomes the allocation's when the same user takes it.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/tlv.h"
#include "common/xmalloc.h"
#include "net/net.h"
#include "turn/quota.h"

#define RESV_MAX	1024

struct resv_entry {
	uint64_t		 re_token;
	int			 re_fd;
	time_t			 re_expires;
	char			*re_quota_id;	/* whose quota it holds */
	uint64_t		 re_id;		/* under this claim id */
};

/* Reserved ports, shared by the workers (EVEN-PORT with the R bit). */
struct resv {
	pthread_mutex_t		 rv_lock;
	struct quota		*rv_quota;	/* shared, locked inside */
	struct resv_entry	 rv_e[RESV_MAX];
	unsigned int		 rv_n;
};

struct resv *
resv_new(struct quota *q)
{
	struct resv	*rv = xcalloc(1, sizeof(*rv));

	pthread_mutex_init(&rv->rv_lock, NULL);
	rv->rv_quota = q;
	return (rv);
}

void
resv_free(struct resv *rv)
{
	unsigned int	i;

	if (rv == NULL)
		return;
	for (i = 0; i < rv->rv_n; i++) {
		close(rv->rv_e[i].re_fd);
		free(rv->rv_e[i].re_quota_id);
	}
	pthread_mutex_destroy(&rv->rv_lock);
	free(rv);
}

/* Remove entry i (its socket and quota id stay the caller's). */
static void
resv_remove(struct resv *rv, unsigned int i)
{
	rv->rv_e[i] = rv->rv_e[--rv->rv_n];
}

/*
 * Drop expired reservations and give back their quota slots; the lock is
 * held.  In Redis their claim's score is the same expiry time, so the
 * quota script drops it there by itself (turnd-redis(7)).
 */
static void
resv_purge(struct resv *rv, time_t now)
{
	struct resv_entry	*e;
	unsigned int		 i = 0;

	while (i < rv->rv_n) {
		e = &rv->rv_e[i];
		if (e->re_expires > now) {
			i++;
			continue;
		}
		close(e->re_fd);
		if (e->re_quota_id != NULL && rv->rv_quota != NULL)
			quota_release(rv->rv_quota, e->re_quota_id);
		free(e->re_quota_id);
		resv_remove(rv, i);
	}
}

int
resv_put(struct resv *rv, int fd, time_t now, const struct resv_hold *h,
    uint64_t *token)
{
	struct resv_entry	*e;
	int			 rc = -1;

	pthread_mutex_lock(&rv->rv_lock);
	resv_purge(rv, now);
	if (rv->rv_n < RESV_MAX) {
		*token = (uint64_t)arc4random() << 32 | arc4random();
		e = &rv->rv_e[rv->rv_n++];
		e->re_token = *token;
		e->re_fd = fd;
		e->re_expires = h->rh_expires;
		e->re_quota_id = h->rh_quota_id != NULL ?
		    xstrdup(h->rh_quota_id) : NULL;
		e->re_id = h->rh_id;
		rc = 0;
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (rc);
}

/* The live entry of token, or NULL; the lock is held. */
static struct resv_entry *
resv_find(struct resv *rv, uint64_t token, time_t now, unsigned int *idx)
{
	unsigned int	i;

	resv_purge(rv, now);
	for (i = 0; i < rv->rv_n; i++)
		if (rv->rv_e[i].re_token == token) {
			*idx = i;
			return (&rv->rv_e[i]);
		}
	return (NULL);
}

int
resv_take(struct resv *rv, uint64_t token, time_t now, char **quota_id,
    uint64_t *id)
{
	struct resv_entry	*e;
	unsigned int		 i;
	int			 fd = -1;

	*quota_id = NULL;
	*id = 0;
	pthread_mutex_lock(&rv->rv_lock);
	if ((e = resv_find(rv, token, now, &i)) != NULL) {
		fd = e->re_fd;
		*quota_id = e->re_quota_id;
		*id = e->re_id;
		resv_remove(rv, i);
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (fd);
}

int
resv_held(struct resv *rv, uint64_t token, time_t now, const char *quota_id,
    uint64_t *id)
{
	struct resv_entry	*e;
	unsigned int		 i;
	int			 held = 0;

	pthread_mutex_lock(&rv->rv_lock);
	if ((e = resv_find(rv, token, now, &i)) != NULL &&
	    e->re_quota_id != NULL && quota_id != NULL &&
	    strcmp(e->re_quota_id, quota_id) == 0) {
		*id = e->re_id;
		held = 1;
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (held);
}

void
resv_expire(struct resv *rv, time_t now)
{
	pthread_mutex_lock(&rv->rv_lock);
	if (rv->rv_n > 0)
		resv_purge(rv, now);
	pthread_mutex_unlock(&rv->rv_lock);
}

/* ---- the live upgrade (worker_move.c) ---- */

enum {
	RVW_TOKEN = 1,		/* u64 */
	RVW_FD,			/* u32: index into the message's fds */
	RVW_EXPIRES,		/* u64 */
	RVW_QUOTA,		/* string (none: no slot held) */
	RVW_ID			/* u64: the claim id */
};

unsigned int
resv_export(struct resv *rv, unsigned int from, unsigned int max,
    struct tlvbuf *tb, uint16_t type, int *fds)
{
	struct resv_entry	*e;
	unsigned int		 i, n = 0;
	size_t			 o;

	pthread_mutex_lock(&rv->rv_lock);
	for (i = from; i < rv->rv_n && n < max; i++, n++) {
		e = &rv->rv_e[i];
		o = tlv_open(tb, type);
		tlv_put_u64(tb, RVW_TOKEN, e->re_token);
		tlv_put_u32(tb, RVW_FD, n);
		tlv_put_u64(tb, RVW_EXPIRES, (uint64_t)e->re_expires);
		if (e->re_quota_id != NULL)
			tlv_put_str(tb, RVW_QUOTA, e->re_quota_id);
		tlv_put_u64(tb, RVW_ID, e->re_id);
		tlv_close(tb, o);
		fds[n] = e->re_fd;
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (n);
}

int
resv_import(struct resv *rv, const uint8_t *p, size_t len, int *fds,
    unsigned int nfds)
{
	struct tlv_iter		 it;
	struct tlv		 t;
	struct resv_entry	 e;
	uint32_t		 fdi = UINT32_MAX;
	uint64_t		 v = 0;
	int			 r;

	memset(&e, 0, sizeof(e));
	tlv_iter_init(&it, p, len);
	while ((r = tlv_next(&it, &t)) == 1) {
		if (t.t_type == RVW_TOKEN)
			r = tlv_u64(&t, &e.re_token);
		else if (t.t_type == RVW_FD)
			r = tlv_u32(&t, &fdi);
		else if (t.t_type == RVW_EXPIRES) {
			r = tlv_u64(&t, &v);
			e.re_expires = (time_t)v;
		} else if (t.t_type == RVW_QUOTA) {
			free(e.re_quota_id);
			r = (e.re_quota_id = tlv_str(&t)) == NULL ? -1 : 0;
		} else if (t.t_type == RVW_ID)
			r = tlv_u64(&t, &e.re_id);
		else
			r = TLV_OPTIONAL(t.t_type) ? 0 : -1;
		if (r == -1)
			break;
	}
	if (r == -1 || fdi >= nfds || fds[fdi] == -1 || rv->rv_n >= RESV_MAX) {
		free(e.re_quota_id);
		return (-1);
	}
	e.re_fd = fds[fdi];
	fds[fdi] = -1;
	pthread_mutex_lock(&rv->rv_lock);
	rv->rv_e[rv->rv_n++] = e;
	if (e.re_quota_id != NULL && rv->rv_quota != NULL)
		quota_force(rv->rv_quota, e.re_quota_id);
	pthread_mutex_unlock(&rv->rv_lock);
	return (0);
}

void
resv_drop_all(struct resv *rv)
{
	unsigned int	i;

	pthread_mutex_lock(&rv->rv_lock);
	for (i = 0; i < rv->rv_n; i++) {
		close(rv->rv_e[i].re_fd);
		if (rv->rv_e[i].re_quota_id != NULL && rv->rv_quota != NULL)
			quota_release(rv->rv_quota, rv->rv_e[i].re_quota_id);
		free(rv->rv_e[i].re_quota_id);
	}
	rv->rv_n = 0;
	pthread_mutex_unlock(&rv->rv_lock);
}

unsigned int
resv_count(struct resv *rv)
{
	unsigned int	n;

	pthread_mutex_lock(&rv->rv_lock);
	n = rv->rv_n;
	pthread_mutex_unlock(&rv->rv_lock);
	return (n);
}
