/*
 * addr.c -- socket address and CIDR helpers: parse, format, compare.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

static int
parse_port(const char *s, uint16_t *port)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

int
addr_parse_ip(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return (0);
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return (0);
	}
	return (-1);
}

int
addr_parse(const char *s, uint16_t defport, struct sockaddr_storage *ss,
    const char **why)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	const char	*colon, *close, *portstr = NULL;
	size_t		 hlen;
	uint16_t	 port = defport;
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	*why = "not an address";
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			*why = "missing ']'";
			return (-1);
		}
		hlen = (size_t)(close - s - 1);
		if (close[1] == ':')
			portstr = close + 2;
		else if (close[1] != '\0') {
			*why = "junk after ']'";
			return (-1);
		}
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* exactly one colon: IPv4 with a port */
			hlen = (size_t)(colon - s);
			portstr = colon + 1;
		} else
			hlen = strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "bad address";
		return (-1);
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (portstr != NULL && parse_port(portstr, &port) == -1) {
		*why = "bad port (0..65535)";
		return (-1);
	}
	if (addr_parse_ip(host, ss) == -1) {
		*why = "not a numeric IPv4 or IPv6 address";
		return (-1);
	}
	addr_set_port((struct sockaddr *)ss, port);
	return (0);
}

const char *
addr_fmt_ip(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, len) != NULL)
			return (buf);
		break;
	case AF_INET6:
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len) != NULL)
			return (buf);
		break;
	}
	snprintf(buf, len, "?");
	return (buf);
}

const char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];

	addr_fmt_ip(sa, ip, sizeof(ip));
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, addr_port(sa));
	else
		snprintf(buf, len, "%s:%u", ip, addr_port(sa));
	return (buf);
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return (sizeof(struct sockaddr_in));
	case AF_INET6:
		return (sizeof(struct sockaddr_in6));
	}
	return (0);
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return (ntohs(((const struct sockaddr_in *)sa)->sin_port));
	case AF_INET6:
		return (ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
	}
	return (0);
}

void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	switch (sa->sa_family) {
	case AF_INET:
		((struct sockaddr_in *)sa)->sin_port = htons(port);
		break;
	case AF_INET6:
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
		break;
	}
}

int
addr_ip_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return (0);
	switch (a->sa_family) {
	case AF_INET:
		return (((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr);
	case AF_INET6:
		return (memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0);
	}
	return (0);
}

int
addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	return (addr_ip_eq(a, b) && addr_port(a) == addr_port(b));
}

int
addr_is_any(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return (((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY));
	case AF_INET6:
		return (IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr));
	}
	return (0);
}

void
addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in	 sin;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

/* FNV-1a over the IP bytes, mixed with a seed. */
uint32_t
addr_hash_ip(const struct sockaddr *sa, uint32_t seed)
{
	const uint8_t	*p;
	size_t		 n, i;
	uint32_t	 h = 2166136261U ^ seed;

	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		n = 16;
	} else
		return (h);
	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619U;
	}
	return (h);
}

int
cidr_parse(const char *s, struct cidr *c, const char **why)
{
	char			 buf[INET6_ADDRSTRLEN + 8];
	struct sockaddr_storage	 ss;
	const char		*slash, *dummy;
	char			*end;
	unsigned long		 prefix;
	unsigned int		 maxp, i;
	size_t			 alen;

	if (why == NULL)
		why = &dummy;
	if (strlen(s) >= sizeof(buf)) {
		*why = "too long for an address range";
		return (-1);
	}
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash != NULL)
		buf[slash - s] = '\0';
	if (addr_parse_ip(buf, &ss) == -1) {
		*why = "not a numeric IPv4 or IPv6 address or range";
		return (-1);
	}
	memset(c, 0, sizeof(*c));
	c->c_family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		maxp = 32;
		alen = 4;
		memcpy(c->c_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		maxp = 128;
		alen = 16;
		memcpy(c->c_addr,
		    ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, 16);
	}
	prefix = maxp;
	if (slash != NULL) {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9') {
			*why = "bad prefix length";
			return (-1);
		}
		prefix = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > maxp) {
			*why = "bad prefix length";
			return (-1);
		}
	}
	c->c_prefix = (unsigned int)prefix;
	/* mask the host bits so matching is a plain compare */
	for (i = 0; i < alen; i++) {
		if (prefix >= 8)
			prefix -= 8;
		else {
			c->c_addr[i] &= (uint8_t)(0xFF << (8 - prefix));
			prefix = 0;
		}
	}
	return (0);
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*p;
	unsigned int	 full, rest;

	if (sa->sa_family != c->c_family)
		return (0);
	if (sa->sa_family == AF_INET)
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	full = c->c_prefix / 8;
	rest = c->c_prefix % 8;
	if (memcmp(p, c->c_addr, full) != 0)
		return (0);
	if (rest != 0 &&
	    (p[full] & (uint8_t)(0xFF << (8 - rest))) != c->c_addr[full])
		return (0);
	return (1);
}

size_t
addr_ip_bytes(const struct sockaddr *sa, uint8_t out[16], int *family)
{
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
		return (4);
	}
	if (sa->sa_family != AF_INET6)
		return (0);
	sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
		*family = AF_INET;
		return (4);
	}
	memcpy(out, sin6->sin6_addr.s6_addr, 16);
	*family = AF_INET6;
	return (16);
}

int
iprange_parse(const char *s, struct iprange *r, const char **why)
{
	char			 buf[INET6_ADDRSTRLEN + 8];
	struct sockaddr_storage	 lo, hi;
	struct cidr		 c;
	const char		*dash, *dummy;
	size_t			 n, i;
	int			 f1 = 0, f2 = 0;

	if (why == NULL)
		why = &dummy;
	memset(r, 0, sizeof(*r));
	if ((dash = strchr(s, '-')) == NULL) {
		if (cidr_parse(s, &c, why) == -1)
			return (-1);
		r->r_family = c.c_family;
		n = c.c_family == AF_INET ? 4 : 16;
		memcpy(r->r_lo, c.c_addr, n);
		memcpy(r->r_hi, c.c_addr, n);
		for (i = 0; i < n; i++) {
			if (c.c_prefix >= (i + 1) * 8)
				continue;
			if (c.c_prefix <= i * 8)
				r->r_hi[i] = 0xFF;
			else
				r->r_hi[i] |= (uint8_t)(0xFF >>
				    (c.c_prefix - i * 8));
		}
		return (0);
	}
	if ((size_t)(dash - s) >= sizeof(buf) ||
	    strlen(dash + 1) >= sizeof(buf)) {
		*why = "too long for an address range";
		return (-1);
	}
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (addr_parse_ip(buf, &lo) == -1 || addr_parse_ip(dash + 1,
	    &hi) == -1) {
		*why = "not a numeric IPv4 or IPv6 address or range";
		return (-1);
	}
	n = addr_ip_bytes((struct sockaddr *)&lo, r->r_lo, &f1);
	if (addr_ip_bytes((struct sockaddr *)&hi, r->r_hi, &f2) != n ||
	    f1 != f2) {
		*why = "the ends of the range are of different families";
		return (-1);
	}
	if (memcmp(r->r_lo, r->r_hi, n) > 0) {
		*why = "the range ends before it starts";
		return (-1);
	}
	r->r_family = f1;
	return (0);
}

int
iprange_match(const struct iprange *r, const struct sockaddr *sa)
{
	uint8_t	ip[16];
	size_t	n;
	int	family;

	if ((n = addr_ip_bytes(sa, ip, &family)) == 0 ||
	    family != r->r_family)
		return (0);
	return (memcmp(ip, r->r_lo, n) >= 0 && memcmp(ip, r->r_hi, n) <= 0);
}
