/*
 * test_addr.c -- socket address and CIDR helpers (common/addr.c): parse
 * with and without ports, bad inputs, format round trips, comparisons,
 * IPv4-mapped unmapping, the per-IP hash, CIDR parsing with host bits
 * masked, and CIDR matching at its boundaries, checked against a
 * bit-by-bit reference for every prefix length.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "unit.h"

#define DEFPORT		3478

/*
 * Bracket a group of CHECKs about one input: if any of them failed,
 * name the input in the TAP diagnostics.
 */
static int	case_saved;

static void
case_begin(void)
{
	case_saved = unit_cur_failed;
	unit_cur_failed = 0;
}

static void
case_end(const char *what)
{
	if (unit_cur_failed)
		printf("#   ... for \"%s\"\n", what);
	unit_cur_failed |= case_saved;
}

/* Parse s (which must be good) with the default port. */
static struct sockaddr_storage
ss_of(const char *s)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	case_begin();
	CHECK_EQ_INT(addr_parse(s, DEFPORT, &ss, NULL), 0);
	case_end(s);
	return (ss);
}

#define SA(ss)	((struct sockaddr *)(ss))

/* ---------------------------------------------------------- addr_parse */

static const struct {
	const char	*in;
	int		 family;
	const char	*ip;		/* addr_fmt_ip() of the result */
	uint16_t	 port;
} parse_good[] = {
	{ "1.2.3.4",		AF_INET,	"1.2.3.4",	DEFPORT },
	{ "1.2.3.4:5",		AF_INET,	"1.2.3.4",	5 },
	{ "1.2.3.4:0",		AF_INET,	"1.2.3.4",	0 },
	{ "1.2.3.4:65535",	AF_INET,	"1.2.3.4",	65535 },
	{ "1.2.3.4:00080",	AF_INET,	"1.2.3.4",	80 },
	{ "0.0.0.0",		AF_INET,	"0.0.0.0",	DEFPORT },
	{ "255.255.255.255:1",	AF_INET,	"255.255.255.255", 1 },
	{ "::1",		AF_INET6,	"::1",		DEFPORT },
	{ "::",			AF_INET6,	"::",		DEFPORT },
	{ "[::1]",		AF_INET6,	"::1",		DEFPORT },
	{ "[::1]:5",		AF_INET6,	"::1",		5 },
	{ "[::]:0",		AF_INET6,	"::",		0 },
	{ "2001:db8::1",	AF_INET6,	"2001:db8::1",	DEFPORT },
	{ "[2001:DB8:0:0:0:0:0:1]:65535", AF_INET6, "2001:db8::1", 65535 },
	{ "::ffff:1.2.3.4",	AF_INET6,	"::ffff:1.2.3.4", DEFPORT },
	{ "[::ffff:1.2.3.4]:5",	AF_INET6,	"::ffff:1.2.3.4", 5 },
	/* Without brackets every colon belongs to the IPv6 address. */
	{ "2001:db8::1:5",	AF_INET6,	"2001:db8::1:5", DEFPORT },
	{ "1:2:3:4:5:6:7:8",	AF_INET6,	"1:2:3:4:5:6:7:8", DEFPORT },
	/* The longest textual IPv6 address (45 characters) still fits. */
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", AF_INET6,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DEFPORT },
	{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", AF_INET6,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
};

#define WHY_PORT	"bad port (0..65535)"
#define WHY_BRACKET	"missing ']'"
#define WHY_JUNK	"junk after ']'"
#define WHY_EMPTY	"bad address"
#define WHY_IP		"not a numeric IPv4 or IPv6 address"

static const struct {
	const char	*in;
	const char	*why;
} parse_bad[] = {
	{ "1.2.3.4:99999",		WHY_PORT },
	{ "1.2.3.4:65536",		WHY_PORT },
	{ "1.2.3.4:18446744073709551621", WHY_PORT },
	{ "1.2.3.4:",			WHY_PORT },
	{ "1.2.3.4:x",			WHY_PORT },
	{ "1.2.3.4:-1",			WHY_PORT },
	{ "1.2.3.4:+5",			WHY_PORT },
	{ "1.2.3.4: 5",			WHY_PORT },
	{ "1.2.3.4:5 ",			WHY_PORT },
	{ "1.2.3.4:0x10",		WHY_PORT },
	{ "[::1",			WHY_BRACKET },
	{ "[",				WHY_BRACKET },
	{ "[::1]x",			WHY_JUNK },
	{ "[::1]5",			WHY_JUNK },
	{ "[::1]]:5",			WHY_JUNK },
	{ "[[::1]]",			WHY_JUNK },
	{ "[::1]:",			WHY_PORT },
	{ "[::1]:x",			WHY_PORT },
	{ "[::1]:99999",		WHY_PORT },
	{ "[::1]:5:6",			WHY_PORT },
	{ "",				WHY_EMPTY },
	{ "[]",				WHY_EMPTY },
	{ "[]:5",			WHY_EMPTY },
	{ ":5",				WHY_EMPTY },
	{ "host.name",			WHY_IP },
	{ "host.name:80",		WHY_IP },
	{ "localhost",			WHY_IP },
	/* two colons: taken as one IPv6 address, which it is not */
	{ "1.2.3.4:5:6",		WHY_IP },
	{ "1.2.3",			WHY_IP },
	{ "1.2.3.4.5",			WHY_IP },
	{ "256.1.1.1",			WHY_IP },
	{ " 1.2.3.4",			WHY_IP },
	{ "1.2.3.4 ",			WHY_IP },
	{ "1.2.3.4]",			WHY_IP },
	{ "::1::2",			WHY_IP },
	{ "fe80::1%eth0",		WHY_IP },
	{ "[fe80::1%eth0]:5",		WHY_IP },
	{ "[::1 ]:5",			WHY_IP },
};

static void
test_parse_good(void)
{
	struct sockaddr_storage	 ss;
	char			 ip[ADDR_STRLEN];
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof(parse_good) / sizeof(parse_good[0]); i++) {
		case_begin();
		memset(&ss, 0xa5, sizeof(ss));
		why = NULL;
		CHECK_EQ_INT(addr_parse(parse_good[i].in, DEFPORT, &ss, &why),
		    0);
		CHECK_EQ_INT(ss.ss_family, parse_good[i].family);
		CHECK_EQ_STR(addr_fmt_ip(SA(&ss), ip, sizeof(ip)),
		    parse_good[i].ip);
		CHECK_EQ_INT(addr_port(SA(&ss)), parse_good[i].port);
		CHECK_EQ_INT(addr_len(SA(&ss)),
		    parse_good[i].family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		case_end(parse_good[i].in);
	}
}

/* The default port is whatever the caller says, 0 included. */
static void
test_parse_defport(void)
{
	struct sockaddr_storage	ss;

	CHECK_EQ_INT(addr_parse("1.2.3.4", 0, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 0);
	CHECK_EQ_INT(addr_parse("1.2.3.4", 65535, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 65535);
	CHECK_EQ_INT(addr_parse("[::1]", 443, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 443);
	CHECK_EQ_INT(addr_parse("::1", 443, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 443);
	/* An explicit port wins over the default. */
	CHECK_EQ_INT(addr_parse("1.2.3.4:7", 443, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 7);
	CHECK_EQ_INT(addr_parse("[::1]:7", 443, &ss, NULL), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 7);
}

static void
test_parse_bad(void)
{
	struct sockaddr_storage	 ss;
	char			 big[256];
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		case_begin();
		why = NULL;
		CHECK_EQ_INT(addr_parse(parse_bad[i].in, DEFPORT, &ss, &why),
		    -1);
		CHECK_EQ_STR(why, parse_bad[i].why);
		/* why may be NULL */
		CHECK_EQ_INT(addr_parse(parse_bad[i].in, DEFPORT, &ss, NULL),
		    -1);
		case_end(parse_bad[i].in);
	}

	/* Hosts longer than any address, bracketed or not. */
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	why = NULL;
	CHECK_EQ_INT(addr_parse(big, DEFPORT, &ss, &why), -1);
	CHECK_EQ_STR(why, WHY_EMPTY);
	big[0] = '[';
	big[100] = ']';
	big[101] = '\0';
	why = NULL;
	CHECK_EQ_INT(addr_parse(big, DEFPORT, &ss, &why), -1);
	CHECK_EQ_STR(why, WHY_EMPTY);
	big[101] = ':';
	big[102] = '5';
	big[103] = '\0';
	CHECK_EQ_INT(addr_parse(big, DEFPORT, &ss, NULL), -1);
	/* One character more than the longest address. */
	CHECK_EQ_INT(addr_parse(
	    "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550]",
	    DEFPORT, &ss, NULL), -1);
}

static void
test_parse_ip(void)
{
	struct sockaddr_storage	ss;
	char			ip[ADDR_STRLEN];

	CHECK_EQ_INT(addr_parse_ip("1.2.3.4", &ss), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET);
	CHECK_EQ_STR(addr_fmt_ip(SA(&ss), ip, sizeof(ip)), "1.2.3.4");
	CHECK_EQ_INT(addr_port(SA(&ss)), 0);
	CHECK_EQ_INT(addr_parse_ip("2001:db8::7", &ss), 0);
	CHECK_EQ_INT(ss.ss_family, AF_INET6);
	CHECK_EQ_STR(addr_fmt_ip(SA(&ss), ip, sizeof(ip)), "2001:db8::7");
	CHECK_EQ_INT(addr_port(SA(&ss)), 0);
	/* No ports, no brackets, no names. */
	CHECK_EQ_INT(addr_parse_ip("1.2.3.4:5", &ss), -1);
	CHECK_EQ_INT(addr_parse_ip("[::1]", &ss), -1);
	CHECK_EQ_INT(addr_parse_ip("host.name", &ss), -1);
	CHECK_EQ_INT(addr_parse_ip("", &ss), -1);
}

/* ------------------------------------------------------------ addr_fmt */

static void
test_fmt(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "1.2.3.4:5",			"1.2.3.4:5" },
		{ "1.2.3.4",			"1.2.3.4:3478" },
		{ "0.0.0.0:0",			"0.0.0.0:0" },
		{ "[::1]:5",			"[::1]:5" },
		{ "::1",			"[::1]:3478" },
		{ "[2001:DB8:0:0:0:0:0:1]:65535", "[2001:db8::1]:65535" },
		{ "[::ffff:1.2.3.4]:80",	"[::ffff:1.2.3.4]:80" },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
	};
	struct sockaddr_storage	ss, back;
	char			buf[ADDR_STRLEN];
	size_t			i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ss = ss_of(cases[i].in);
		case_begin();
		CHECK_EQ_STR(addr_fmt(SA(&ss), buf, sizeof(buf)),
		    cases[i].out);
		/* and back again */
		CHECK_EQ_INT(addr_parse(buf, 1, &back, NULL), 0);
		CHECK(addr_eq(SA(&ss), SA(&back)));
		case_end(cases[i].in);
	}

	/* Every good parse formats and parses back to the same address. */
	for (i = 0; i < sizeof(parse_good) / sizeof(parse_good[0]); i++) {
		ss = ss_of(parse_good[i].in);
		case_begin();
		addr_fmt(SA(&ss), buf, sizeof(buf));
		CHECK(strlen(buf) < ADDR_STRLEN);
		CHECK_EQ_INT(addr_parse(buf, 1, &back, NULL), 0);
		CHECK(addr_eq(SA(&ss), SA(&back)));
		addr_fmt_ip(SA(&ss), buf, sizeof(buf));
		CHECK_EQ_INT(addr_parse_ip(buf, &back), 0);
		CHECK(addr_ip_eq(SA(&ss), SA(&back)));
		case_end(parse_good[i].in);
	}
}

/* Short buffers stay NUL-terminated; an unknown family prints "?". */
static void
test_fmt_edges(void)
{
	struct sockaddr_storage	ss;
	char			buf[ADDR_STRLEN], small[8];

	ss = ss_of("[2001:db8::1]:65535");
	memset(small, 'x', sizeof(small));
	addr_fmt(SA(&ss), small, sizeof(small));
	CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	CHECK_EQ_STR(small, "[2001:d");
	memset(small, 'x', sizeof(small));
	addr_fmt_ip(SA(&ss), small, sizeof(small));
	CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	ss = ss_of("1.2.3.4:5");
	memset(small, 'x', sizeof(small));
	addr_fmt_ip(SA(&ss), small, 4);
	CHECK(memchr(small, '\0', 4) != NULL);
	CHECK_EQ_INT(small[4], 'x');

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	CHECK_EQ_STR(addr_fmt_ip(SA(&ss), buf, sizeof(buf)), "?");
	CHECK_EQ_STR(addr_fmt(SA(&ss), buf, sizeof(buf)), "?:0");
	CHECK_EQ_INT(addr_len(SA(&ss)), 0);
	CHECK_EQ_INT(addr_port(SA(&ss)), 0);
	addr_set_port(SA(&ss), 5);	/* ignored */
	CHECK_EQ_INT(addr_port(SA(&ss)), 0);
	CHECK(!addr_is_any(SA(&ss)));
}

static void
test_port(void)
{
	struct sockaddr_storage	ss;

	ss = ss_of("1.2.3.4:5");
	addr_set_port(SA(&ss), 65535);
	CHECK_EQ_INT(addr_port(SA(&ss)), 65535);
	CHECK_EQ_INT(((struct sockaddr_in *)&ss)->sin_port, htons(65535));
	ss = ss_of("[::1]:5");
	addr_set_port(SA(&ss), 1);
	CHECK_EQ_INT(addr_port(SA(&ss)), 1);
	CHECK_EQ_INT(((struct sockaddr_in6 *)&ss)->sin6_port, htons(1));
}

/* ----------------------------------------------------- compare, any */

static void
test_eq(void)
{
	struct sockaddr_storage	a, b;

	a = ss_of("1.2.3.4:5");
	b = ss_of("1.2.3.4:5");
	CHECK(addr_eq(SA(&a), SA(&b)));
	CHECK(addr_ip_eq(SA(&a), SA(&b)));
	b = ss_of("1.2.3.4:6");
	CHECK(!addr_eq(SA(&a), SA(&b)));
	CHECK(addr_ip_eq(SA(&a), SA(&b)));
	b = ss_of("1.2.3.5:5");
	CHECK(!addr_eq(SA(&a), SA(&b)));
	CHECK(!addr_ip_eq(SA(&a), SA(&b)));

	a = ss_of("[2001:db8::1]:5");
	b = ss_of("[2001:db8:0::1]:5");
	CHECK(addr_eq(SA(&a), SA(&b)));
	b = ss_of("[2001:db8::1]:6");
	CHECK(!addr_eq(SA(&a), SA(&b)));
	CHECK(addr_ip_eq(SA(&a), SA(&b)));
	b = ss_of("[2001:db8::2]:5");
	CHECK(!addr_eq(SA(&a), SA(&b)));
	CHECK(!addr_ip_eq(SA(&a), SA(&b)));
	b = ss_of("[3001:db8::1]:5");
	CHECK(!addr_ip_eq(SA(&a), SA(&b)));

	/* Families never compare equal, even IPv4-mapped. */
	a = ss_of("1.2.3.4:5");
	b = ss_of("[::ffff:1.2.3.4]:5");
	CHECK(!addr_eq(SA(&a), SA(&b)));
	CHECK(!addr_ip_eq(SA(&a), SA(&b)));
	CHECK(!addr_ip_eq(SA(&b), SA(&a)));
	a = ss_of("0.0.0.0:0");
	b = ss_of("[::]:0");
	CHECK(!addr_eq(SA(&a), SA(&b)));
}

static void
test_is_any(void)
{
	struct sockaddr_storage	ss;

	ss = ss_of("0.0.0.0");
	CHECK(addr_is_any(SA(&ss)));
	ss = ss_of("0.0.0.0:80");
	CHECK(addr_is_any(SA(&ss)));
	ss = ss_of("::");
	CHECK(addr_is_any(SA(&ss)));
	ss = ss_of("[::]:80");
	CHECK(addr_is_any(SA(&ss)));
	ss = ss_of("0.0.0.1");
	CHECK(!addr_is_any(SA(&ss)));
	ss = ss_of("1.0.0.0");
	CHECK(!addr_is_any(SA(&ss)));
	ss = ss_of("::1");
	CHECK(!addr_is_any(SA(&ss)));
	ss = ss_of("8000::");
	CHECK(!addr_is_any(SA(&ss)));
	/* Callers unmap first; then the mapped any is any. */
	ss = ss_of("::ffff:0.0.0.0");
	addr_unmap(&ss);
	CHECK(addr_is_any(SA(&ss)));
}

static void
test_unmap(void)
{
	struct sockaddr_storage	ss, want, before;
	const char		*keep[] = {
		"[::1]:5", "[::]:5", "[2001:db8::1]:5",
		"[::1.2.3.4]:5",	/* IPv4-compatible, not mapped */
		"[::ffff:0:1.2.3.4]:5",		/* SIIT, not mapped */
		"[::fffe:1.2.3.4]:5",
		"[0:0:0:0:1:ffff:102:304]:5",
		"1.2.3.4:5",
	};
	char			buf[ADDR_STRLEN];
	size_t			i;

	ss = ss_of("[::ffff:1.2.3.4]:5");
	addr_unmap(&ss);
	want = ss_of("1.2.3.4:5");
	CHECK_EQ_INT(ss.ss_family, AF_INET);
	CHECK(addr_eq(SA(&ss), SA(&want)));
	CHECK_EQ_STR(addr_fmt(SA(&ss), buf, sizeof(buf)), "1.2.3.4:5");
	CHECK_EQ_INT(addr_len(SA(&ss)), sizeof(struct sockaddr_in));
	/* The rest of the storage holds nothing of the old address. */
	CHECK_EQ_MEM(&ss, &want, sizeof(ss));

	ss = ss_of("[::ffff:255.255.255.255]:65535");
	addr_unmap(&ss);
	CHECK_EQ_STR(addr_fmt(SA(&ss), buf, sizeof(buf)),
	    "255.255.255.255:65535");

	/* Twice is once. */
	addr_unmap(&ss);
	CHECK_EQ_STR(addr_fmt(SA(&ss), buf, sizeof(buf)),
	    "255.255.255.255:65535");

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		ss = ss_of(keep[i]);
		before = ss;
		addr_unmap(&ss);
		case_begin();
		CHECK_EQ_MEM(&ss, &before, sizeof(ss));
		case_end(keep[i]);
	}
}

static void
test_hash(void)
{
	struct sockaddr_storage	a, b;
	uint32_t		h;

	/* Same IP, different ports: same hash, for any seed. */
	a = ss_of("1.2.3.4:5");
	b = ss_of("1.2.3.4:6");
	CHECK_EQ_INT(addr_hash_ip(SA(&a), 0), addr_hash_ip(SA(&b), 0));
	CHECK_EQ_INT(addr_hash_ip(SA(&a), 77), addr_hash_ip(SA(&b), 77));
	a = ss_of("[2001:db8::1]:5");
	b = ss_of("[2001:db8::1]:6");
	CHECK_EQ_INT(addr_hash_ip(SA(&a), 0xdeadbeef),
	    addr_hash_ip(SA(&b), 0xdeadbeef));

	/* Deterministic. */
	h = addr_hash_ip(SA(&a), 1);
	CHECK_EQ_INT(addr_hash_ip(SA(&a), 1), h);

	/* The seed matters. */
	a = ss_of("1.2.3.4");
	CHECK(addr_hash_ip(SA(&a), 1) != addr_hash_ip(SA(&a), 2));
	CHECK(addr_hash_ip(SA(&a), 0) != addr_hash_ip(SA(&a), 0x80000000U));
	a = ss_of("::1");
	CHECK(addr_hash_ip(SA(&a), 1) != addr_hash_ip(SA(&a), 2));

	/* Neighbouring IPs differ (FNV-1a is a bijection per byte). */
	a = ss_of("1.2.3.4");
	b = ss_of("1.2.3.5");
	CHECK(addr_hash_ip(SA(&a), 9) != addr_hash_ip(SA(&b), 9));
	a = ss_of("::1");
	b = ss_of("::2");
	CHECK(addr_hash_ip(SA(&a), 9) != addr_hash_ip(SA(&b), 9));
	a = ss_of("1.2.3.4");
	b = ss_of("::ffff:1.2.3.4");
	CHECK(addr_hash_ip(SA(&a), 9) != addr_hash_ip(SA(&b), 9));

	/* An unknown family hashes to something, without reading. */
	memset(&a, 0, sizeof(a));
	a.ss_family = AF_UNSPEC;
	CHECK_EQ_INT(addr_hash_ip(SA(&a), 5), addr_hash_ip(SA(&a), 5));
}

/* ---------------------------------------------------------------- cidr */

/* Parse (must succeed) and check family, prefix and the masked network. */
static void
cidr_ok(const char *s, int family, const char *net, unsigned int prefix)
{
	struct cidr		 c;
	struct sockaddr_storage	 ss;
	const char		*why = NULL;

	case_begin();
	memset(&c, 0xa5, sizeof(c));
	CHECK_EQ_INT(cidr_parse(s, &c, &why), 0);
	CHECK_EQ_INT(c.c_family, family);
	CHECK_EQ_INT(c.c_prefix, prefix);
	CHECK_EQ_INT(addr_parse_ip(net, &ss), 0);
	if (family == AF_INET) {
		CHECK_EQ_MEM(c.c_addr,
		    &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		CHECK_EQ_MEM(c.c_addr,
		    ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, 16);
	}
	case_end(s);
}

static void
test_cidr_parse(void)
{
	cidr_ok("10.0.0.0/8",		AF_INET,  "10.0.0.0",		8);
	cidr_ok("192.168.1.0/24",	AF_INET,  "192.168.1.0",	24);
	/* a bare address is a host prefix */
	cidr_ok("1.2.3.4",		AF_INET,  "1.2.3.4",		32);
	cidr_ok("1.2.3.4/32",		AF_INET,  "1.2.3.4",		32);
	cidr_ok("::1",			AF_INET6, "::1",		128);
	cidr_ok("2001:db8::1/128",	AF_INET6, "2001:db8::1",	128);
	/* host bits are masked */
	cidr_ok("10.1.2.3/8",		AF_INET,  "10.0.0.0",		8);
	cidr_ok("10.255.255.255/13",	AF_INET,  "10.248.0.0",		13);
	cidr_ok("1.2.3.5/31",		AF_INET,  "1.2.3.4",		31);
	cidr_ok("255.255.255.255/1",	AF_INET,  "128.0.0.0",		1);
	cidr_ok("1.2.3.4/0",		AF_INET,  "0.0.0.0",		0);
	cidr_ok("0.0.0.0/0",		AF_INET,  "0.0.0.0",		0);
	cidr_ok("1.2.3.4/08",		AF_INET,  "1.0.0.0",		8);
	cidr_ok("fe80::1234/10",	AF_INET6, "fe80::",		10);
	cidr_ok("febf:ffff::1/10",	AF_INET6, "fe80::",		10);
	cidr_ok("2001:db8:ffff::/32",	AF_INET6, "2001:db8::",		32);
	cidr_ok("2001:db8::ff/121",	AF_INET6, "2001:db8::80",	121);
	cidr_ok("2001:db8::ff/127",	AF_INET6, "2001:db8::fe",	127);
	cidr_ok("ffff::1/0",		AF_INET6, "::",			0);
	cidr_ok("::/0",			AF_INET6, "::",			0);
	cidr_ok("::ffff:1.2.3.4/120",	AF_INET6, "::ffff:1.2.3.0",	120);
}

static void
test_cidr_bad(void)
{
	static const char	*bad[] = {
		"1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/x", "1.2.3.4/",
		"1.2.3.4/ 8", "1.2.3.4/8 ", "1.2.3.4/+8", "1.2.3.4/8/8",
		"1.2.3.4/8x", "1.2.3.4/0x8", "1.2.3.4/128",
		"1.2.3.4/99999999999999999999999",
		"::1/129", "::/-0", "::/", "fe80::/1o",
		"/8", "/", "", "host.name/8", "host.name",
		"1.2.3.4:80/8", "1.2.3.4:80", "[::1]/128", "[::1]",
		"1.2.3/8", "fe80::1%eth0/64",
		"1.2.3.4/00000000000000000000000000000000000000000000000008",
	};
	struct cidr		 c;
	char			 big[200];
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		case_begin();
		why = NULL;
		CHECK_EQ_INT(cidr_parse(bad[i], &c, &why), -1);
		CHECK(why != NULL && *why != '\0');
		CHECK_EQ_INT(cidr_parse(bad[i], &c, NULL), -1);
		case_end(bad[i]);
	}
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(cidr_parse(big, &c, NULL), -1);
	big[40] = '/';
	CHECK_EQ_INT(cidr_parse(big, &c, NULL), -1);
}

/* 1 if ip matches the CIDR s (both must parse). */
static int
match(const char *s, const char *ip)
{
	struct cidr		c;
	struct sockaddr_storage	ss;

	case_begin();
	CHECK_EQ_INT(cidr_parse(s, &c, NULL), 0);
	CHECK_EQ_INT(addr_parse(ip, DEFPORT, &ss, NULL), 0);
	case_end(s);
	return (cidr_match(&c, SA(&ss)));
}

static void
test_cidr_match(void)
{
	CHECK(match("10.0.0.0/8", "10.0.0.0"));
	CHECK(match("10.0.0.0/8", "10.255.255.255"));
	CHECK(match("10.0.0.0/8", "10.1.2.3:9999"));	/* port ignored */
	CHECK(!match("10.0.0.0/8", "11.0.0.0"));
	CHECK(!match("10.0.0.0/8", "9.255.255.255"));
	CHECK(!match("10.0.0.0/8", "::ffff:10.0.0.1"));

	/* /0 is all of its own family and nothing of the other. */
	CHECK(match("0.0.0.0/0", "0.0.0.0"));
	CHECK(match("0.0.0.0/0", "1.2.3.4"));
	CHECK(match("0.0.0.0/0", "255.255.255.255"));
	CHECK(!match("0.0.0.0/0", "::"));
	CHECK(!match("0.0.0.0/0", "::1"));
	CHECK(!match("0.0.0.0/0", "::ffff:1.2.3.4"));
	CHECK(match("::/0", "::"));
	CHECK(match("::/0", "::1"));
	CHECK(match("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!match("::/0", "0.0.0.0"));
	CHECK(!match("::/0", "1.2.3.4"));

	/* /13: 10.248.0.0 - 10.255.255.255 */
	CHECK(match("10.250.0.0/13", "10.248.0.0"));
	CHECK(match("10.250.0.0/13", "10.255.255.255"));
	CHECK(!match("10.250.0.0/13", "10.247.255.255"));
	CHECK(!match("10.250.0.0/13", "11.0.0.0"));
	/* /12: 172.16.0.0 - 172.31.255.255 */
	CHECK(match("172.16.0.0/12", "172.16.0.0"));
	CHECK(match("172.16.0.0/12", "172.31.255.255"));
	CHECK(!match("172.16.0.0/12", "172.15.255.255"));
	CHECK(!match("172.16.0.0/12", "172.32.0.0"));
	/* /1 and /31 */
	CHECK(match("128.0.0.0/1", "128.0.0.0"));
	CHECK(match("128.0.0.0/1", "255.255.255.255"));
	CHECK(!match("128.0.0.0/1", "127.255.255.255"));
	CHECK(match("1.2.3.4/31", "1.2.3.4"));
	CHECK(match("1.2.3.4/31", "1.2.3.5"));
	CHECK(!match("1.2.3.4/31", "1.2.3.3"));
	CHECK(!match("1.2.3.4/31", "1.2.3.6"));
	/* host prefixes */
	CHECK(match("1.2.3.4", "1.2.3.4"));
	CHECK(!match("1.2.3.4", "1.2.3.5"));
	CHECK(!match("1.2.3.4", "::ffff:1.2.3.4"));
	CHECK(match("::1", "::1"));
	CHECK(!match("::1", "::"));
	CHECK(!match("::1", "::2"));
	CHECK(!match("::1", "1::1"));

	/* fe80::/10: fe80:: - febf:ffff:... */
	CHECK(match("fe80::/10", "fe80::"));
	CHECK(match("fe80::/10", "fe80::1"));
	CHECK(match("fe80::/10", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!match("fe80::/10", "fec0::"));
	CHECK(!match("fe80::/10", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!match("fe80::/10", "fe00::"));
	/* /121: ...::80 - ...::ff */
	CHECK(match("2001:db8::80/121", "2001:db8::80"));
	CHECK(match("2001:db8::80/121", "2001:db8::ff"));
	CHECK(!match("2001:db8::80/121", "2001:db8::7f"));
	CHECK(!match("2001:db8::80/121", "2001:db8::100"));
	CHECK(!match("2001:db8::80/121", "2001:db9::80"));
	/* /127 */
	CHECK(match("2001:db8::fe/127", "2001:db8::ff"));
	CHECK(!match("2001:db8::fe/127", "2001:db8::fd"));
	CHECK(!match("2001:db8::fe/127", "2001:db8::100"));
	/* mapped range in IPv6 */
	CHECK(match("::ffff:0:0/96", "::ffff:1.2.3.4"));
	CHECK(!match("::ffff:0:0/96", "1.2.3.4"));
}

/*
 * Every IPv4 prefix length, random addresses, against a reference
 * computed with 32-bit masks: the parsed network, the first and last
 * address of the range, the neighbours just outside it, a random one.
 */
static void
test_cidr_v4_reference(void)
{
	struct cidr		c;
	struct sockaddr_in	sin;
	char			s[64];
	uint32_t		a, mask, net, b;
	unsigned int		p, k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (p = 0; p <= 32; p++) {
		mask = p == 0 ? 0 : 0xffffffffU << (32 - p);
		for (k = 0; k < 20; k++) {
			a = unit_rng();
			net = a & mask;
			snprintf(s, sizeof(s), "%u.%u.%u.%u/%u", a >> 24,
			    (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, p);
			case_begin();
			CHECK_EQ_INT(cidr_parse(s, &c, NULL), 0);
			CHECK_EQ_INT(c.c_prefix, p);
			sin.sin_addr.s_addr = htonl(net);
			CHECK_EQ_MEM(c.c_addr, &sin.sin_addr, 4);
			CHECK(cidr_match(&c, (struct sockaddr *)&sin));
			sin.sin_addr.s_addr = htonl(net | ~mask);
			CHECK(cidr_match(&c, (struct sockaddr *)&sin));
			if (net != 0) {
				sin.sin_addr.s_addr = htonl(net - 1);
				CHECK(!cidr_match(&c, (struct sockaddr *)&sin));
			}
			if ((net | ~mask) != 0xffffffffU) {
				sin.sin_addr.s_addr = htonl((net | ~mask) + 1);
				CHECK(!cidr_match(&c, (struct sockaddr *)&sin));
			}
			b = unit_rng();
			sin.sin_addr.s_addr = htonl(b);
			CHECK_EQ_INT(cidr_match(&c, (struct sockaddr *)&sin),
			    ((b ^ net) & mask) == 0);
			case_end(s);
		}
	}
}

/*
 * Every IPv6 prefix length: flipping bit i of an address in the range
 * keeps it in the range iff i >= prefix.
 */
static void
test_cidr_v6_reference(void)
{
	struct cidr		c;
	struct sockaddr_in6	sin6;
	uint8_t			a[16], net[16];
	char			ip[INET6_ADDRSTRLEN];
	char			s[INET6_ADDRSTRLEN + 8];
	unsigned int		p, i, k, bit;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	for (p = 0; p <= 128; p++) {
		for (k = 0; k < 4; k++) {
			for (i = 0; i < 16; i++)
				a[i] = (uint8_t)unit_rng();
			for (i = 0; i < 16; i++) {
				if (8 * i + 8 <= p)
					net[i] = a[i];
				else if (8 * i >= p)
					net[i] = 0;
				else
					net[i] = a[i] & (uint8_t)(0xff <<
					    (8 - (p - 8 * i)));
			}
			inet_ntop(AF_INET6, a, ip, sizeof(ip));
			snprintf(s, sizeof(s), "%s/%u", ip, p);
			case_begin();
			CHECK_EQ_INT(cidr_parse(s, &c, NULL), 0);
			CHECK_EQ_INT(c.c_family, AF_INET6);
			CHECK_EQ_INT(c.c_prefix, p);
			CHECK_EQ_MEM(c.c_addr, net, 16);
			memcpy(sin6.sin6_addr.s6_addr, a, 16);
			CHECK(cidr_match(&c, (struct sockaddr *)&sin6));
			for (bit = 0; bit < 128; bit++) {
				memcpy(sin6.sin6_addr.s6_addr, a, 16);
				sin6.sin6_addr.s6_addr[bit / 8] ^=
				    (uint8_t)(0x80 >> (bit % 8));
				CHECK_EQ_INT(cidr_match(&c,
				    (struct sockaddr *)&sin6), bit >= p);
			}
			case_end(s);
		}
	}
}

/* Does IP a (no port) fall in range r? */
static int
in_range(const struct iprange *r, const char *a)
{
	struct sockaddr_storage	ss;

	if (addr_parse_ip(a, &ss) == -1)
		return (-1);
	return (iprange_match(r, (struct sockaddr *)&ss));
}

/* coturn's peer rule forms: an address, a prefix, "lo-hi". */
static void
test_iprange(void)
{
	static const char	*bad[] = {
		"", "-", "1.2.3.4-", "-1.2.3.4", "1.2.3.9-1.2.3.4",
		"1.2.3.4-::1", "::1-1.2.3.4", "1.2.3.4-1.2.3.5-1.2.3.6",
		"1.2.3.4/33", "host-name", "1.2.3.4 - 1.2.3.5",
	};
	struct iprange		 r;
	const char		*why;
	size_t			 i;

	CHECK_EQ_INT(iprange_parse("10.0.0.5", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "10.0.0.5"), 1);
	CHECK_EQ_INT(in_range(&r, "10.0.0.6"), 0);
	CHECK_EQ_INT(in_range(&r, "::ffff:10.0.0.5"), 1);	/* unmapped */

	CHECK_EQ_INT(iprange_parse("10.1.0.0/16", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "10.1.0.0"), 1);
	CHECK_EQ_INT(in_range(&r, "10.1.255.255"), 1);
	CHECK_EQ_INT(in_range(&r, "10.2.0.0"), 0);
	CHECK_EQ_INT(in_range(&r, "10.0.255.255"), 0);

	CHECK_EQ_INT(iprange_parse("10.1.2.3/13", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "10.0.0.0"), 1);
	CHECK_EQ_INT(in_range(&r, "10.7.255.255"), 1);
	CHECK_EQ_INT(in_range(&r, "10.8.0.0"), 0);

	CHECK_EQ_INT(iprange_parse("0.0.0.0/0", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "255.255.255.255"), 1);
	CHECK_EQ_INT(in_range(&r, "::1"), 0);		/* other family */

	CHECK_EQ_INT(iprange_parse("192.0.2.10-192.0.2.20", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "192.0.2.9"), 0);
	CHECK_EQ_INT(in_range(&r, "192.0.2.10"), 1);
	CHECK_EQ_INT(in_range(&r, "192.0.2.20"), 1);
	CHECK_EQ_INT(in_range(&r, "192.0.2.21"), 0);
	CHECK_EQ_INT(in_range(&r, "::ffff:192.0.2.15"), 1);

	CHECK_EQ_INT(iprange_parse("2001:db8::1-2001:db8::1:0", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "2001:db8::ffff"), 1);
	CHECK_EQ_INT(in_range(&r, "2001:db8::1:1"), 0);
	CHECK_EQ_INT(in_range(&r, "2001:db8::"), 0);

	CHECK_EQ_INT(iprange_parse("fe80::/10", &r, NULL), 0);
	CHECK_EQ_INT(in_range(&r, "febf:ffff::1"), 1);
	CHECK_EQ_INT(in_range(&r, "fec0::"), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		case_begin();
		why = NULL;
		CHECK_EQ_INT(iprange_parse(bad[i], &r, &why), -1);
		CHECK(why != NULL);
		case_end(bad[i]);
	}
}

int
main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_defport);
	RUN(test_parse_bad);
	RUN(test_parse_ip);
	RUN(test_fmt);
	RUN(test_fmt_edges);
	RUN(test_port);
	RUN(test_eq);
	RUN(test_is_any);
	RUN(test_unmap);
	RUN(test_hash);
	RUN(test_cidr_parse);
	RUN(test_cidr_bad);
	RUN(test_iprange);
	RUN(test_cidr_match);
	RUN(test_cidr_v4_reference);
	RUN(test_cidr_v6_reference);
	return (unit_done());
}
