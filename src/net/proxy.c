/*
 * proxy.c -- parse the PROXY protocol header, version 1 (text) and
 * version 2 (binary), as HAProxy's doc/proxy-protocol.txt defines them
 * (sections 2.1 and 2.2).  Pure functions: no sockets, no state.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "net/proxy.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
#define V2_SIG_LEN	12
#define V2_VERSION	0x2		/* high nibble of byte 12 */
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_FAM_UNSPEC	0x00
#define V2_FAM_TCP4	0x11
#define V2_FAM_TCP6	0x21
#define V2_ADDR4_LEN	12		/* src, dst, sport, dport */
#define V2_ADDR6_LEN	36

static const uint8_t v2_sig[V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* 1 if the n bytes of buf are a prefix of sig (sig_len bytes). */
static int
prefix_ok(const uint8_t *buf, size_t n, const uint8_t *sig, size_t sig_len)
{
	return (memcmp(buf, sig, n < sig_len ? n : sig_len) == 0);
}

/* A v1 port: 1 to 5 decimal digits, at most 65535.  0, or -1. */
static int
v1_port(const char *s, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == 5 || s[n] < '0' || s[n] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > 65535)
		return (-1);
	*port = htons((uint16_t)v);
	return (0);
}

/* One v1 address and port into ss: 0, or -1. */
static int
v1_addr(int af, const char *ip, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
			return (-1);
		return (v1_port(port, &sin->sin_port));
	}
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) != 1)
		return (-1);
	return (v1_port(port, &sin6->sin6_port));
}

/*
 * The fields of a v1 line after "PROXY " (NUL-terminated, CRLF cut):
 * "TCP4 src dst sport dport", the same with TCP6, or "UNKNOWN" and
 * anything (2.1).  Fields are separated by exactly one space.
 */
static int
v1_fields(char *s, struct proxy_hdr *h)
{
	char	*f[4];
	int	 af, i;

	if (strncmp(s, "UNKNOWN", 7) == 0 && (s[7] == '\0' || s[7] == ' ')) {
		h->ph_local = 1;
		return (0);
	}
	if (strncmp(s, "TCP4 ", 5) == 0)
		af = AF_INET;
	else if (strncmp(s, "TCP6 ", 5) == 0)
		af = AF_INET6;
	else
		return (-1);
	s += 5;
	for (i = 0; i < 4; i++) {
		f[i] = s;
		s = strchr(s, ' ');
		if (i < 3) {
			if (s == NULL)
				return (-1);
			*s++ = '\0';
		} else if (s != NULL)
			return (-1);	/* a fifth field */
	}
	if (v1_addr(af, f[0], f[2], &h->ph_src) == -1 ||
	    v1_addr(af, f[1], f[3], &h->ph_dst) == -1)
		return (-1);
	return (0);
}

/* Version 1: "PROXY ... \r\n", at most PROXY_V1_MAX bytes (2.1). */
static int
parse_v1(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	char	line[PROXY_V1_MAX + 1];
	size_t	n, end;

	if (!prefix_ok(buf, len, (const uint8_t *)V1_PREFIX, V1_PREFIX_LEN))
		return (-1);
	n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	for (end = 0; end + 1 < n; end++)
		if (buf[end] == '\r' && buf[end + 1] == '\n')
			break;
	if (end + 1 >= n)
		return (len >= PROXY_V1_MAX ? -1 : 0);
	if (end < V1_PREFIX_LEN || memchr(buf, '\0', end) != NULL)
		return (-1);
	memcpy(line, buf, end);
	line[end] = '\0';
	h->ph_version = 1;
	if (v1_fields(line + V1_PREFIX_LEN, h) == -1)
		return (-1);
	return ((int)end + 2);
}

/* The addresses of a v2 TCP header (2.2): 0, or -1 if too short. */
static int
v2_addrs(uint8_t fam, const uint8_t *a, size_t alen, struct proxy_hdr *h)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&h->ph_src;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&h->ph_dst;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&h->ph_src;
	struct sockaddr_in6	*d6 = (struct sockaddr_in6 *)&h->ph_dst;

	if (fam == V2_FAM_TCP4) {
		if (alen < V2_ADDR4_LEN)
			return (-1);
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
		return (0);
	}
	if (alen < V2_ADDR6_LEN)
		return (-1);
	s6->sin6_family = d6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a, 16);
	memcpy(&d6->sin6_addr, a + 16, 16);
	memcpy(&s6->sin6_port, a + 32, 2);
	memcpy(&d6->sin6_port, a + 34, 2);
	return (0);
}

/*
 * Version 2: signature, version and command, family, length, then
 * addresses and TLVs (2.2).  TLVs are skipped.  The length is known
 * after 16 bytes, so an oversized header fails before it is all in.
 */
static int
parse_v2(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	size_t	alen;
	uint8_t	cmd, fam;

	if (!prefix_ok(buf, len, v2_sig, V2_SIG_LEN))
		return (-1);
	if (len > V2_SIG_LEN && buf[V2_SIG_LEN] >> 4 != V2_VERSION)
		return (-1);
	if (len < PROXY_V2_HDR)
		return (0);
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	alen = (size_t)buf[14] << 8 | buf[15];
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return (-1);
	if (PROXY_V2_HDR + alen > PROXY_MAX)
		return (-1);
	if (len < PROXY_V2_HDR + alen)
		return (0);
	h->ph_version = 2;
	if (cmd == V2_CMD_LOCAL || fam == V2_FAM_UNSPEC)
		h->ph_local = 1;	/* addresses ignored (2.2) */
	else if ((fam != V2_FAM_TCP4 && fam != V2_FAM_TCP6) ||
	    v2_addrs(fam, buf + PROXY_V2_HDR, alen, h) == -1)
		return (-1);
	return ((int)(PROXY_V2_HDR + alen));
}

int
proxy_parse(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return (0);
	if (buf[0] == 'P')
		return (parse_v1(buf, len, h));
	if (buf[0] == v2_sig[0])
		return (parse_v2(buf, len, h));
	return (-1);
}
