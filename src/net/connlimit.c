/*
 * connlimit.c -- limits on TCP/TLS connections, in total and per source
 * IP, shared by all workers: a countmap keyed by the source's IP bytes.
 * Taken on accept and released on close, never per packet.
 */

#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "common/countmap.h"
#include "net/net.h"

/* The IP of sa as a key: family byte, then 4 or 16 address bytes. */
static size_t
connlimit_key(const struct sockaddr *sa, uint8_t key[17])
{
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET6) {
		memcpy(key + 1,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return (17);
	}
	memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	return (5);
}

struct connlimit *
connlimit_new(unsigned int total, unsigned int per_source)
{
	return ((struct connlimit *)countmap_new(per_source, total));
}

int
connlimit_acquire(struct connlimit *cl, const struct sockaddr *sa)
{
	uint8_t	key[17];

	return (countmap_acquire((struct countmap *)cl, key,
	    connlimit_key(sa, key)));
}

void
connlimit_release(struct connlimit *cl, const struct sockaddr *sa)
{
	uint8_t	key[17];

	countmap_release((struct countmap *)cl, key, connlimit_key(sa, key));
}

void
connlimit_free(struct connlimit *cl)
{
	countmap_free((struct countmap *)cl);
}
