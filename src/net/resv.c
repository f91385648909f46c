/*
 * resv.c -- EVEN-PORT reservations (RFC 8656 7.2): with the R bit, the
 * port after an allocation's even port is bound and kept, under a token
 * the client may bring to a later Allocate.  That Allocate may land on
 * another worker, so the reservations are shared, under a mutex (taken
 * only when an Allocate asks for or brings a reservation).  A kept port
 * that nobody claims is closed after RESV_LIFETIME seconds.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "net/net.h"

#define RESV_MAX	1024
#define RESV_LIFETIME	30	/* s a reserved port is kept */

struct resv_entry {
	uint64_t		 re_token;
	int			 re_fd;
	time_t			 re_expires;
};

/* Reserved ports, shared by the workers (EVEN-PORT with the R bit). */
struct resv {
	pthread_mutex_t		 rv_lock;
	struct resv_entry	 rv_e[RESV_MAX];
	unsigned int		 rv_n;
};

struct resv *
resv_new(void)
{
	struct resv	*rv = xcalloc(1, sizeof(*rv));

	pthread_mutex_init(&rv->rv_lock, NULL);
	return (rv);
}

void
resv_free(struct resv *rv)
{
	unsigned int	i;

	if (rv == NULL)
		return;
	for (i = 0; i < rv->rv_n; i++)
		close(rv->rv_e[i].re_fd);
	pthread_mutex_destroy(&rv->rv_lock);
	free(rv);
}

/* Drop expired reservations; the lock is held. */
static void
resv_purge(struct resv *rv, time_t now)
{
	unsigned int	i = 0;

	while (i < rv->rv_n) {
		if (rv->rv_e[i].re_expires > now) {
			i++;
			continue;
		}
		close(rv->rv_e[i].re_fd);
		rv->rv_e[i] = rv->rv_e[--rv->rv_n];
	}
}

int
resv_put(struct resv *rv, int fd, time_t now, uint64_t *token)
{
	int	rc = -1;

	pthread_mutex_lock(&rv->rv_lock);
	resv_purge(rv, now);
	if (rv->rv_n < RESV_MAX) {
		*token = (uint64_t)arc4random() << 32 | arc4random();
		rv->rv_e[rv->rv_n].re_token = *token;
		rv->rv_e[rv->rv_n].re_fd = fd;
		rv->rv_e[rv->rv_n].re_expires = now + RESV_LIFETIME;
		rv->rv_n++;
		rc = 0;
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (rc);
}

int
resv_take(struct resv *rv, uint64_t token, time_t now)
{
	unsigned int	i;
	int		fd = -1;

	pthread_mutex_lock(&rv->rv_lock);
	resv_purge(rv, now);
	for (i = 0; i < rv->rv_n; i++)
		if (rv->rv_e[i].re_token == token) {
			fd = rv->rv_e[i].re_fd;
			rv->rv_e[i] = rv->rv_e[--rv->rv_n];
			break;
		}
	pthread_mutex_unlock(&rv->rv_lock);
	return (fd);
}
