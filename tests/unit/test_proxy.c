/*
 * test_proxy.c -- the PROXY protocol parser (net/proxy.c): v1 TCP4,
 * TCP6 and UNKNOWN, v2 PROXY and LOCAL over IPv4 and IPv6, TLVs
 * skipped, every prefix of a valid header incomplete (never an error,
 * never a header), oversized and malformed headers, bad signatures.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "net/proxy.h"
#include "unit.h"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* "ip:port" of ss. */
static const char *
fmt(const struct sockaddr_storage *ss, char *buf)
{
	return (addr_fmt((const struct sockaddr *)ss, buf, ADDR_STRLEN));
}

/* Every proper prefix of a valid header is "not yet complete". */
static void
check_prefixes(const uint8_t *buf, size_t len)
{
	struct proxy_hdr	h;
	size_t			i;

	for (i = 0; i < len; i++)
		if (proxy_parse(buf, i, &h) != 0) {
			CHECK(!"a prefix is not incomplete");
			printf("#   prefix of %zu bytes\n", i);
			return;
		}
}

/* A v2 header: command cmd, family fam, alen address/TLV bytes. */
static size_t
v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *a, size_t alen)
{
	memcpy(out, sig, 12);
	out[12] = (uint8_t)(0x20 | cmd);
	out[13] = fam;
	out[14] = (uint8_t)(alen >> 8);
	out[15] = (uint8_t)alen;
	if (alen > 0)
		memcpy(out + 16, a, alen);
	return (16 + alen);
}

static void
test_v1_tcp4(void)
{
	const char		*s = "PROXY TCP4 192.0.2.1 198.51.100.2 "
				    "56324 443\r\nGET";
	struct proxy_hdr	 h;
	char			 b[ADDR_STRLEN];

	CHECK_EQ_INT(proxy_parse((const uint8_t *)s, strlen(s), &h),
	    strlen(s) - 3);
	CHECK_EQ_INT(h.ph_version, 1);
	CHECK_EQ_INT(h.ph_local, 0);
	CHECK_EQ_STR(fmt(&h.ph_src, b), "192.0.2.1:56324");
	CHECK_EQ_STR(fmt(&h.ph_dst, b), "198.51.100.2:443");
	check_prefixes((const uint8_t *)s, strlen(s) - 3);
}

static void
test_v1_tcp6(void)
{
	const char		*s = "PROXY TCP6 2001:db8::1 ::1 65535 1\r\n";
	struct proxy_hdr	 h;
	char			 b[ADDR_STRLEN];

	CHECK_EQ_INT(proxy_parse((const uint8_t *)s, strlen(s), &h),
	    strlen(s));
	CHECK_EQ_STR(fmt(&h.ph_src, b), "[2001:db8::1]:65535");
	CHECK_EQ_STR(fmt(&h.ph_dst, b), "[::1]:1");
	check_prefixes((const uint8_t *)s, strlen(s));
}

static void
test_v1_unknown(void)
{
	const char		*s = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
	const char		*t = "PROXY UNKNOWN\r\n";
	struct proxy_hdr	 h;

	CHECK_EQ_INT(proxy_parse((const uint8_t *)s, strlen(s), &h),
	    strlen(s));
	CHECK_EQ_INT(h.ph_local, 1);
	CHECK_EQ_INT(proxy_parse((const uint8_t *)t, strlen(t), &h),
	    strlen(t));
	CHECK_EQ_INT(h.ph_local, 1);
}

static void
test_v1_bad(void)
{
	const char	*bad[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 9\r\n",
		"PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n",
		"PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",
		"PROXY TCP6 192.0.2.1 ::1 56324 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.2 0x10 443\r\n",
		"PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n",
		"PROXY \r\n",
		"PROXYTCP4 192.0.2.1 198.51.100.2 1 2\r\n",
		"proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
		"GET / HTTP/1.0\r\n",
	};
	struct proxy_hdr	h;
	uint8_t			big[300];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (proxy_parse((const uint8_t *)bad[i], strlen(bad[i]),
		    &h) != -1) {
			CHECK(!"accepted");
			printf("#   \"%s\"\n", bad[i]);
		}
	/* a NUL inside the line */
	memcpy(big, "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 34);
	CHECK_EQ_INT(proxy_parse(big, 34, &h), -1);
	/* no CRLF in the first 107 bytes: oversized, whatever follows */
	memcpy(big, "PROXY UNKNOWN ", 14);
	memset(big + 14, 'x', sizeof(big) - 14);
	CHECK_EQ_INT(proxy_parse(big, PROXY_V1_MAX - 1, &h), 0);
	CHECK_EQ_INT(proxy_parse(big, PROXY_V1_MAX, &h), -1);
	CHECK_EQ_INT(proxy_parse(big, sizeof(big), &h), -1);
	/* CRLF as the last two of 107 bytes is still a header */
	big[PROXY_V1_MAX - 2] = '\r';
	big[PROXY_V1_MAX - 1] = '\n';
	CHECK_EQ_INT(proxy_parse(big, sizeof(big), &h), PROXY_V1_MAX);
}

static void
test_v2_proxy4(void)
{
	const uint8_t		a[12 + 7] = { 192, 0, 2, 1, 198, 51, 100, 2,
				    0xdc, 0x04, 0x01, 0xbb,
				    /* a TLV: PP2_TYPE_AUTHORITY "abcd" */
				    0x02, 0x00, 0x04, 'a', 'b', 'c', 'd' };
	uint8_t			buf[64];
	struct proxy_hdr	h;
	char			b[ADDR_STRLEN];
	size_t			n;

	n = v2(buf, 1, 0x11, a, sizeof(a));
	buf[n] = 0x00;		/* the client's first byte */
	CHECK_EQ_INT(proxy_parse(buf, n + 1, &h), n);
	CHECK_EQ_INT(h.ph_version, 2);
	CHECK_EQ_INT(h.ph_local, 0);
	CHECK_EQ_STR(fmt(&h.ph_src, b), "192.0.2.1:56324");
	CHECK_EQ_STR(fmt(&h.ph_dst, b), "198.51.100.2:443");
	check_prefixes(buf, n);
	/* shorter than its addresses */
	n = v2(buf, 1, 0x11, a, 11);
	CHECK_EQ_INT(proxy_parse(buf, n, &h), -1);
}

static void
test_v2_proxy6(void)
{
	uint8_t			a[36], buf[64];
	struct proxy_hdr	h;
	char			b[ADDR_STRLEN];
	size_t			n;

	memset(a, 0, sizeof(a));
	inet_pton(AF_INET6, "2001:db8::7", a);
	inet_pton(AF_INET6, "::1", a + 16);
	a[32] = 0x12; a[33] = 0x34; a[34] = 0x00; a[35] = 0x50;
	n = v2(buf, 1, 0x21, a, sizeof(a));
	CHECK_EQ_INT(proxy_parse(buf, n, &h), n);
	CHECK_EQ_STR(fmt(&h.ph_src, b), "[2001:db8::7]:4660");
	CHECK_EQ_STR(fmt(&h.ph_dst, b), "[::1]:80");
	check_prefixes(buf, n);
	n = v2(buf, 1, 0x21, a, 35);
	CHECK_EQ_INT(proxy_parse(buf, n, &h), -1);
}

static void
test_v2_local(void)
{
	const uint8_t		a[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	uint8_t			buf[64];
	struct proxy_hdr	h;
	size_t			n;

	n = v2(buf, 0, 0x00, NULL, 0);
	CHECK_EQ_INT(proxy_parse(buf, n, &h), 16);
	CHECK_EQ_INT(h.ph_local, 1);
	/* LOCAL with addresses: they are ignored */
	n = v2(buf, 0, 0x11, a, sizeof(a));
	CHECK_EQ_INT(proxy_parse(buf, n, &h), n);
	CHECK_EQ_INT(h.ph_local, 1);
	/* PROXY over UNSPEC: the connection's own addresses */
	n = v2(buf, 1, 0x00, NULL, 0);
	CHECK_EQ_INT(proxy_parse(buf, n, &h), 16);
	CHECK_EQ_INT(h.ph_local, 1);
}

static void
test_v2_bad(void)
{
	const uint8_t		a[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	uint8_t			buf[PROXY_MAX + 64];
	struct proxy_hdr	h;
	size_t			n;

	/* version 1 in the binary form, command 2, UDP, UNIX */
	n = v2(buf, 1, 0x11, a, sizeof(a));
	buf[12] = 0x11;
	CHECK_EQ_INT(proxy_parse(buf, 13, &h), -1);
	buf[12] = 0x22;
	CHECK_EQ_INT(proxy_parse(buf, n, &h), -1);
	n = v2(buf, 1, 0x12, a, sizeof(a));
	CHECK_EQ_INT(proxy_parse(buf, n, &h), -1);
	n = v2(buf, 1, 0x31, a, sizeof(a));
	CHECK_EQ_INT(proxy_parse(buf, n, &h), -1);
	/* bad signature, at each byte */
	for (n = 0; n < 12; n++) {
		v2(buf, 1, 0x11, a, sizeof(a));
		buf[n] ^= 0x40;
		CHECK_EQ_INT(proxy_parse(buf, n + 1, &h), -1);
	}
	/* oversized: refused from the length alone, before the rest */
	memset(buf, 0, sizeof(buf));
	v2(buf, 1, 0x11, a, sizeof(a));
	buf[14] = (uint8_t)((PROXY_MAX - 16 + 1) >> 8);
	buf[15] = (uint8_t)(PROXY_MAX - 16 + 1);
	CHECK_EQ_INT(proxy_parse(buf, 16, &h), -1);
	buf[14] = (uint8_t)((PROXY_MAX - 16) >> 8);
	buf[15] = (uint8_t)(PROXY_MAX - 16);
	CHECK_EQ_INT(proxy_parse(buf, 16, &h), 0);
	CHECK_EQ_INT(proxy_parse(buf, PROXY_MAX, &h), PROXY_MAX);
	buf[14] = buf[15] = 0xff;
	CHECK_EQ_INT(proxy_parse(buf, 16, &h), -1);
	/* a STUN Binding request is no PROXY header */
	memcpy(buf, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	CHECK_EQ_INT(proxy_parse(buf, 20, &h), -1);
	CHECK_EQ_INT(proxy_parse(buf, 0, &h), 0);
}

/* Random bytes behind a valid signature never read past len (ASan). */
static void
test_random(void)
{
	uint8_t			buf[PROXY_MAX + 16];
	struct proxy_hdr	h;
	size_t			i, j, len;
	int			r;

	for (i = 0; i < 20000; i++) {
		len = unit_rng() % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)unit_rng();
		if (len >= 12 && (i & 1))
			memcpy(buf, sig, 12);
		else if (len >= 11 && (i & 2))
			memcpy(buf, "PROXY TCP4 ", 11);
		r = proxy_parse(buf, len, &h);
		CHECK(r >= -1 && r <= (int)len);
	}
}

int
main(void)
{
	RUN(test_v1_tcp4);
	RUN(test_v1_tcp6);
	RUN(test_v1_unknown);
	RUN(test_v1_bad);
	RUN(test_v2_proxy4);
	RUN(test_v2_proxy6);
	RUN(test_v2_local);
	RUN(test_v2_bad);
	RUN(test_random);
	return (unit_done());
}
