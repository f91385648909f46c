/*
 * test_dtls_cookie.c -- the stateless cookies of the DTLS listener
 * (net/dtls_ctx.c, RFC 6347 4.2.1): a cookie is good for its source
 * address and port only, under the current key and, after one rotation,
 * the previous one; after two rotations it is refused.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "net/dtls_int.h"
#include "unit.h"

static struct sockaddr_storage
v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return (ss);
}

static struct sockaddr_storage
v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	return (ss);
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
test_bound_to_source(void)
{
	struct dtls_set		d;
	struct sockaddr_storage	a = v4("192.0.2.1", 5000);
	struct sockaddr_storage	other_port = v4("192.0.2.1", 5001);
	struct sockaddr_storage	other_ip = v4("192.0.2.2", 5000);
	struct sockaddr_storage	a6 = v6("2001:db8::1", 5000);
	uint8_t			c[32], c6[32];

	memset(&d, 0, sizeof(d));
	dtls_key_rotate(&d, 0);
	dtls_key_rotate(&d, 0);
	dtls_cookie_make(&d, 0, SA(a), c);
	CHECK(dtls_cookie_check(&d, SA(a), c, sizeof(c)) == 1);
	CHECK(dtls_cookie_check(&d, SA(other_port), c, sizeof(c)) == 0);
	CHECK(dtls_cookie_check(&d, SA(other_ip), c, sizeof(c)) == 0);
	CHECK(dtls_cookie_check(&d, SA(a6), c, sizeof(c)) == 0);
	CHECK(dtls_cookie_check(&d, SA(a), c, sizeof(c) - 1) == 0);
	c[31] ^= 1;
	CHECK(dtls_cookie_check(&d, SA(a), c, sizeof(c)) == 0);
	dtls_cookie_make(&d, 0, SA(a6), c6);
	CHECK(dtls_cookie_check(&d, SA(a6), c6, sizeof(c6)) == 1);
}

static void
test_rotation(void)
{
	struct dtls_set		d;
	struct sockaddr_storage	a = v4("127.0.0.1", 40000);
	uint8_t			c[32], fresh[32];

	memset(&d, 0, sizeof(d));
	dtls_key_rotate(&d, 0);
	dtls_key_rotate(&d, 0);
	dtls_cookie_make(&d, 0, SA(a), c);
	dtls_key_rotate(&d, DTLS_KEY_SECS);	/* c is under the previous key */
	CHECK(d.d_key_time == DTLS_KEY_SECS);
	CHECK(dtls_cookie_check(&d, SA(a), c, sizeof(c)) == 1);
	dtls_cookie_make(&d, 0, SA(a), fresh);
	CHECK(memcmp(fresh, c, sizeof(c)) != 0);
	dtls_key_rotate(&d, 2 * DTLS_KEY_SECS);	/* two rotations: refused */
	CHECK(dtls_cookie_check(&d, SA(a), c, sizeof(c)) == 0);
	CHECK(dtls_cookie_check(&d, SA(a), fresh, sizeof(fresh)) == 1);
}

int
main(void)
{
	RUN(test_bound_to_source);
	RUN(test_rotation);
	return (unit_done());
}
