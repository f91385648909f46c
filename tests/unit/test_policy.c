/*
 * test_policy.c -- the peer address policy: every built-in range at its
 * edges, IPv4-mapped peers, allow and deny lists, own addresses.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "store/store.h"
#include "turn/policy.h"
#include "unit.h"

/*
 * Own addresses in these tests.  Every IPv4 range set aside for
 * documentation (192.0.2/24, 198.51.100/24, 203.0.113/24) is on the
 * built-in deny list, so a listener there would be denied before the
 * own-address rule is ever reached (198.51.100.7 would test nothing).
 * The own addresses must be ordinary public ones: 192.0.3.0/24 sits
 * right after TEST-NET-1 and outside 192.0.0.0/24, and 2a00:1::/32 is
 * RIPE space, outside every built-in IPv6 range.  Nothing is sent.
 */
#define OWN4		"192.0.3.10"
#define OWN4_EXT	"192.0.3.20"
#define OWN4_METRICS	"192.0.3.30"
#define OWN6		"2a00:1::10"

/* Specific listeners, no wildcard: nothing depends on the host. */
#define LISTEN								\
	"listen = { udp = [ \"" OWN4 ":3478\", \"[" OWN6 "]:3478\" ];\n" \
	"  tcp = [ ]; tls = [ ]; };\n"
#define RELAY_ADDRS							\
	"relay = { addresses = [ \"" OWN4 "\", \"" OWN6 "\" ];\n"

#define BASE		LISTEN RELAY_ADDRS "};\n"

/*
 * The policy of text; the conf is freed at once, so the policy must not
 * point into it.
 */
static struct policy *
pol_of(const char *text)
{
	struct turnd_conf	*conf;
	struct policy		*pol;
	char			 err[CONF_ERR_LEN];

	err[0] = '\0';
	conf = conf_load_string(text, "t", err, sizeof(err));
	if (conf == NULL) {
		printf("# conf: %s\n", err);
		return (NULL);
	}
	pol = policy_new(conf);
	conf_free(conf);
	return (pol);
}

/* 1 allowed, 0 denied, -1 if ip does not parse. */
static int
allowed(const struct policy *pol, const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	if (addr_parse_ip(ip, &ss) == -1) {
		printf("# bad test address %s\n", ip);
		return (-1);
	}
	addr_set_port((struct sockaddr *)&ss, port);
	return (policy_peer_allowed(pol, (const struct sockaddr *)&ss));
}

#define ALLOW(pol, ip, port) do {					\
	int _r = allowed((pol), (ip), (port));				\
	if (_r != 1) {							\
		unit_cur_failed = 1;					\
		printf("# %s:%d: %s port %d %s, expected allowed\n",	\
		    __FILE__, __LINE__, (ip), (port),			\
		    _r == 0 ? "denied" : "unparsed");			\
	}								\
} while (0)

#define DENY(pol, ip, port) do {					\
	int _r = allowed((pol), (ip), (port));				\
	if (_r != 0) {							\
		unit_cur_failed = 1;					\
		printf("# %s:%d: %s port %d %s, expected denied\n",	\
		    __FILE__, __LINE__, (ip), (port),			\
		    _r == 1 ? "allowed" : "unparsed");			\
	}								\
} while (0)

/* A port in the default relay range that nothing listens on. */
#define RPORT	50000

static void
test_builtin_list(void)
{
	struct cidr	c;
	unsigned int	i, n4 = 0, n6 = 0;
	int		bcast = 0;

	for (i = 0; policy_builtin_deny[i] != NULL; i++) {
		CHECK(cidr_parse(policy_builtin_deny[i], &c, NULL) == 0);
		if (c.c_family == AF_INET)
			n4++;
		else
			n6++;
		if (strcmp(policy_builtin_deny[i], "255.255.255.255/32") == 0)
			bcast = 1;
	}
	/* exactly the ranges policy.h lists */
	CHECK_EQ_INT(n4, 16);
	CHECK_EQ_INT(n6, 14);
	CHECK(bcast);
}

/* Set *sa to the first (last == 0) or last address of c. */
static void
cidr_edge(const struct cidr *c, int last, struct sockaddr_storage *ss)
{
	uint8_t		b[16];
	unsigned int	i, alen = c->c_family == AF_INET ? 4 : 16;

	memcpy(b, c->c_addr, alen);
	if (last)
		for (i = c->c_prefix; i < alen * 8; i++)
			b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)c->c_family;
	if (c->c_family == AF_INET) {
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, b, 4);
		((struct sockaddr_in *)ss)->sin_port = htons(RPORT);
	} else {
		memcpy(((struct sockaddr_in6 *)ss)->sin6_addr.s6_addr, b, 16);
		((struct sockaddr_in6 *)ss)->sin6_port = htons(RPORT);
	}
}

/* Every built-in range, computed from the list, at both ends. */
static void
test_builtin_edges(void)
{
	struct policy		*pol;
	struct sockaddr_storage	 ss;
	struct cidr		 c;
	char			 buf[ADDR_STRLEN];
	unsigned int		 i;
	int			 last;

	if ((pol = pol_of(BASE)) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; policy_builtin_deny[i] != NULL; i++) {
		CHECK(cidr_parse(policy_builtin_deny[i], &c, NULL) == 0);
		for (last = 0; last <= 1; last++) {
			cidr_edge(&c, last, &ss);
			if (policy_peer_allowed(pol,
			    (struct sockaddr *)&ss) != 0) {
				unit_cur_failed = 1;
				printf("# %s: %s allowed\n",
				    policy_builtin_deny[i],
				    addr_fmt((struct sockaddr *)&ss, buf,
				    sizeof(buf)));
			}
		}
	}
	policy_free(pol);
}

/*
 * Each range by hand: first and last denied, the neighbours allowed
 * where they are ordinary public unicast (NULL: the neighbour is denied
 * too, reserved or unallocated space, or there is none).
 */
static void
test_builtin_neighbours(void)
{
	static const struct {
		const char	*below, *first, *last, *above;
	} r[] = {
		{ NULL, "0.0.0.0", "0.255.255.255", "1.0.0.0" },
		{ "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0" },
		{ "100.63.255.255", "100.64.0.0", "100.127.255.255",
		    "100.128.0.0" },
		{ "126.255.255.255", "127.0.0.0", "127.255.255.255",
		    "128.0.0.0" },
		{ "169.253.255.255", "169.254.0.0", "169.254.255.255",
		    "169.255.0.0" },
		{ "172.15.255.255", "172.16.0.0", "172.31.255.255",
		    "172.32.0.0" },
		{ "191.255.255.255", "192.0.0.0", "192.0.0.255", "192.0.1.0" },
		{ "192.0.1.255", "192.0.2.0", "192.0.2.255", "192.0.3.0" },
		{ "192.88.98.255", "192.88.99.0", "192.88.99.255",
		    "192.88.100.0" },
		{ "192.167.255.255", "192.168.0.0", "192.168.255.255",
		    "192.169.0.0" },
		{ "198.17.255.255", "198.18.0.0", "198.19.255.255",
		    "198.20.0.0" },
		{ "198.51.99.255", "198.51.100.0", "198.51.100.255",
		    "198.51.101.0" },
		{ "203.0.112.255", "203.0.113.0", "203.0.113.255",
		    "203.0.114.0" },
		{ "223.255.255.255", "224.0.0.0", "239.255.255.255", NULL },
		{ NULL, "240.0.0.0", "255.255.255.254", NULL },
		{ NULL, "255.255.255.255", "255.255.255.255", NULL },
		{ NULL, "::", "::", NULL },
		{ NULL, "::1", "::1", NULL },
		{ NULL, "::", "::255.255.255.255", NULL },
		{ NULL, "::ffff:0:0.0.0.0", "::ffff:0:255.255.255.255", NULL },
		{ NULL, "64:ff9b::", "64:ff9b::ffff:ffff", NULL },
		{ NULL, "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
		    NULL },
		{ NULL, "100::", "100::ffff:ffff:ffff:ffff", NULL },
		{ NULL, "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
		    NULL },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::",
		    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::" },
		{ "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002::",
		    "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::" },
		{ NULL, "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    NULL },
		{ NULL, "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    NULL },
		{ NULL, "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    NULL },
		{ NULL, "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    NULL },
	};
	struct policy	*pol;
	size_t		 i;

	if ((pol = pol_of(BASE)) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (r[i].below != NULL)
			ALLOW(pol, r[i].below, RPORT);
		DENY(pol, r[i].first, RPORT);
		DENY(pol, r[i].last, RPORT);
		if (r[i].above != NULL)
			ALLOW(pol, r[i].above, RPORT);
	}
	policy_free(pol);
}

static void
test_named(void)
{
	static const char *const deny[] = {
		"0.0.0.0", "::", "::1", "127.0.0.1", "::ffff:127.0.0.1",
		"::ffff:10.1.2.3", "::ffff:0.0.0.0", "169.254.169.254",
		"::ffff:169.254.169.254", "100.64.0.1", "224.0.0.1",
		"255.255.255.255", "fe80::1", "fc00::1", "fd12::1",
		"2001::1", "2002::1", "2002:7f00:1::", "64:ff9b::1",
		"64:ff9b::7f00:1", "2001:db8::1", "ff02::1", "fec0::1",
		"100::1", "192.168.1.1", "172.16.0.1", "10.0.0.1",
		"::127.0.0.1", "::10.0.0.1", "::ffff:0:127.0.0.1",
		"::ffff:0:10.0.0.1", "::8.8.8.8", "::ffff:0:8.8.8.8",
		NULL
	};
	static const char *const allow[] = {
		"8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8",
		"2001:4860:4860::8888", "9.9.9.9", NULL
	};
	struct policy	*pol;
	size_t		 i;
	uint16_t	 ports[] = { 1, 53, 3478, RPORT, 65535 };
	size_t		 p;

	if ((pol = pol_of(BASE)) == NULL) {
		CHECK(0);
		return;
	}
	for (p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		for (i = 0; deny[i] != NULL; i++)
			DENY(pol, deny[i], ports[p]);
		for (i = 0; allow[i] != NULL; i++)
			ALLOW(pol, allow[i], ports[p]);
	}
	policy_free(pol);
}

/* A peer that is neither IPv4 nor IPv6 is denied. */
static void
test_family(void)
{
	struct policy		*pol;
	struct sockaddr_storage	 ss;

	if ((pol = pol_of(BASE)) == NULL) {
		CHECK(0);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	CHECK_EQ_INT(policy_peer_allowed(pol, (struct sockaddr *)&ss), 0);
	ss.ss_family = AF_UNSPEC;
	CHECK_EQ_INT(policy_peer_allowed(pol, (struct sockaddr *)&ss), 0);
	policy_free(pol);
}

static void
test_allow_peers(void)
{
	struct policy	*pol;

	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"127.0.0.0/8\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "127.0.0.1", RPORT);
	ALLOW(pol, "127.0.0.1", 22);
	ALLOW(pol, "::ffff:127.0.0.1", RPORT);
	ALLOW(pol, "127.255.255.255", 9);
	DENY(pol, "10.0.0.1", RPORT);
	DENY(pol, "::ffff:10.0.0.1", RPORT);
	DENY(pol, "::1", RPORT);		/* the IPv6 loopback is apart */
	policy_free(pol);

	/* the IPv6 loopback and link-local need their own entries */
	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"::1\", \"fe80::/10\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "::1", RPORT);
	ALLOW(pol, "fe80::1", RPORT);
	DENY(pol, "127.0.0.1", RPORT);
	DENY(pol, "fec0::1", RPORT);
	policy_free(pol);
}

/* An allow overlapping a deny (built in or configured) wins. */
static void
test_allow_wins(void)
{
	struct policy	*pol;

	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"8.8.8.0/24\", \"10.1.0.0/16\" ];\n"
	    "  deny_peers = [ \"8.8.0.0/16\", \"10.1.2.3\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "8.8.8.8", RPORT);
	ALLOW(pol, "::ffff:8.8.8.8", RPORT);
	DENY(pol, "8.8.4.4", RPORT);
	DENY(pol, "8.8.9.0", RPORT);
	ALLOW(pol, "8.9.0.0", RPORT);
	ALLOW(pol, "10.1.2.3", RPORT);	/* in both: allow wins */
	ALLOW(pol, "10.1.255.255", RPORT);
	DENY(pol, "10.2.0.0", RPORT);
	DENY(pol, "10.0.255.255", RPORT);
	policy_free(pol);
}

/*
 * IPv4-compatible ::a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d peers
 * (RFC 4291 2.5.5.1, RFC 2765 2.1): both ranges are denied, and a range
 * matches the embedded IPv4 address as it does for ::ffff:a.b.c.d.
 */
static void
test_embedded_v4(void)
{
	struct policy	*pol;

	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"10.0.0.0/8\" ];\n"
	    "  deny_peers = [ \"8.8.8.0/24\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "::10.1.2.3", RPORT);
	ALLOW(pol, "::ffff:0:10.1.2.3", RPORT);
	ALLOW(pol, "::ffff:10.1.2.3", RPORT);
	DENY(pol, "::127.0.0.1", RPORT);
	DENY(pol, "::ffff:0:127.0.0.1", RPORT);
	DENY(pol, "::ffff:0:8.8.8.8", RPORT);
	DENY(pol, "::ffff:8.8.8.8", RPORT);
	DENY(pol, "::9.9.9.9", RPORT);		/* the range itself */
	ALLOW(pol, "::ffff:9.9.9.9", RPORT);	/* mapped: a plain IPv4 */
	policy_free(pol);

	/* an allow of the IPv6 form itself works too */
	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"::/96\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "::9.9.9.9", RPORT);
	DENY(pol, "::ffff:0:9.9.9.9", RPORT);
	policy_free(pol);
}

/* What a policy_local_cb saw, and what it answers. */
struct fake_kernel {
	int			fk_answer;	/* for every address */
	unsigned int		fk_calls;
	struct sockaddr_storage	fk_last;
};

static int
fake_is_local(void *arg, const struct sockaddr *sa)
{
	struct fake_kernel	*fk = arg;

	fk->fk_calls++;
	memset(&fk->fk_last, 0, sizeof(fk->fk_last));
	memcpy(&fk->fk_last, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	return (fk->fk_answer);
}

/* policy_peer_check(): 1 allowed, 0 denied, -1 if ip does not parse. */
static int
checked(const struct policy *pol, struct fake_kernel *fk, const char *ip,
    uint16_t port)
{
	struct sockaddr_storage	ss;

	if (addr_parse_ip(ip, &ss) == -1)
		return (-1);
	addr_set_port((struct sockaddr *)&ss, port);
	return (policy_peer_check(pol, NULL, (const struct sockaddr *)&ss,
	    fake_is_local, fk));
}

/*
 * The kernel's view (steps 2 and 5): an address it calls local, or
 * cannot tell about, is own -- relay ports only, never a listening port
 * even when allowed -- and it is asked only about a listening port or,
 * when steps 1 to 4 leave the answer open, a port outside the relay
 * range.
 */
static void
test_kernel_local(void)
{
	struct fake_kernel	 fk;
	struct policy		*pol;
	char			 buf[ADDR_STRLEN];

	pol = pol_of(LISTEN RELAY_ADDRS
	    "  allow_peers = [ \"8.8.4.0/24\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	memset(&fk, 0, sizeof(fk));
	fk.fk_answer = 1;
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", 3478), 0);
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", 22), 0);
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", RPORT), 1);
	CHECK_EQ_INT(checked(pol, &fk, "2606:4700::1111", 3478), 0);
	/* a relay port is never asked about: it is allowed either way */
	CHECK_EQ_INT(fk.fk_calls, 3);
	/* asked about the embedded IPv4 address */
	CHECK_EQ_INT(checked(pol, &fk, "::ffff:9.9.9.9", 3478), 0);
	CHECK_EQ_STR(addr_fmt_ip((struct sockaddr *)&fk.fk_last, buf,
	    sizeof(buf)), "9.9.9.9");
	/* a listening port: asked even when allowed, and then denied */
	fk.fk_calls = 0;
	CHECK_EQ_INT(checked(pol, &fk, "8.8.4.4", 3478), 0);
	CHECK_EQ_INT(fk.fk_calls, 1);
	/* not asked: allowed, or denied already */
	fk.fk_calls = 0;
	CHECK_EQ_INT(checked(pol, &fk, "8.8.4.4", 22), 1);
	CHECK_EQ_INT(checked(pol, &fk, "127.0.0.1", RPORT), 0);
	CHECK_EQ_INT(fk.fk_calls, 0);
	/* cannot tell: own */
	fk.fk_answer = -1;
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", 3478), 0);
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", RPORT), 1);
	/* not local: any port */
	fk.fk_answer = 0;
	CHECK_EQ_INT(checked(pol, &fk, "9.9.9.9", 3478), 1);
	/* per packet: the kernel is not asked, only the start's view */
	fk.fk_answer = 1;
	ALLOW(pol, "9.9.9.9", 3478);
	policy_free(pol);
}

static void
test_deny_peers(void)
{
	struct policy	*pol;

	pol = pol_of(LISTEN RELAY_ADDRS
	    "  deny_peers = [ \"8.8.8.0/24\", \"2606:4700::/32\", "
	    "\"1.1.1.1\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	DENY(pol, "8.8.8.8", RPORT);
	DENY(pol, "8.8.8.0", RPORT);
	DENY(pol, "8.8.8.255", RPORT);
	DENY(pol, "::ffff:8.8.8.8", RPORT);
	ALLOW(pol, "8.8.4.4", RPORT);
	ALLOW(pol, "8.8.7.255", RPORT);
	ALLOW(pol, "8.8.9.0", RPORT);
	DENY(pol, "2606:4700::1111", RPORT);
	DENY(pol, "2606:4700:ffff::1", RPORT);
	ALLOW(pol, "2606:4701::1", RPORT);
	DENY(pol, "1.1.1.1", RPORT);
	ALLOW(pol, "1.1.1.2", RPORT);
	/* the built-in list still applies */
	DENY(pol, "10.0.0.1", RPORT);
	policy_free(pol);
}

/*
 * Own addresses: only relay ports, never a listening port, never what
 * the deny lists deny.
 */
static void
test_own(void)
{
	struct policy	*pol;

	pol = pol_of(
	    "listen = { udp = [ \"" OWN4 ":3478\", \"[" OWN6 "]:3478\","
	    " \"" OWN4 ":50050\" ];\n"
	    "  tcp = [ \"" OWN4 ":443\" ]; tls = [ ]; };\n"
	    "metrics = { listen = \"" OWN4_METRICS ":9641\"; };\n"
	    "relay = { addresses = [ \"" OWN4 "\", \"" OWN6 "\" ];\n"
	    "  external = [ \"" OWN4_EXT "\" ];\n"
	    "  min_port = 50000; max_port = 50100; };\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	/* listener address */
	DENY(pol, OWN4, 3478);
	DENY(pol, OWN4, 443);
	DENY(pol, OWN4, 22);
	DENY(pol, OWN4, 49999);
	ALLOW(pol, OWN4, 50000);
	ALLOW(pol, OWN4, 50049);
	DENY(pol, OWN4, 50050);		/* a listener inside the range */
	ALLOW(pol, OWN4, 50100);
	DENY(pol, OWN4, 50101);
	DENY(pol, OWN4, 65535);
	DENY(pol, "::ffff:" OWN4, 3478);
	ALLOW(pol, "::ffff:" OWN4, 50000);
	DENY(pol, OWN6, 3478);
	DENY(pol, OWN6, 49999);
	ALLOW(pol, OWN6, 50000);
	ALLOW(pol, OWN6, 50100);
	DENY(pol, OWN6, 50101);
	/* relay.external, metrics.listen */
	DENY(pol, OWN4_EXT, 3478);
	ALLOW(pol, OWN4_EXT, 50001);
	DENY(pol, OWN4_METRICS, 9641);
	ALLOW(pol, OWN4_METRICS, 50001);
	/* neighbours are not own */
	ALLOW(pol, "192.0.3.11", 3478);
	ALLOW(pol, "192.0.3.9", 22);
	ALLOW(pol, "2a00:1::11", 3478);
	policy_free(pol);

	/* the same addresses without the conf: ordinary peers */
	pol = pol_of("listen = { udp = [ \"8.8.8.8:3478\" ]; tcp = [ ];"
	    " tls = [ ]; };\nrelay = { addresses = [ \"8.8.8.8\" ]; };\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, OWN4, 3478);
	ALLOW(pol, OWN6, 22);
	DENY(pol, "8.8.8.8", 3478);
	ALLOW(pol, "8.8.8.8", RPORT);
	policy_free(pol);

	/* a deny_peers range over the own address wins (policy.h) */
	pol = pol_of(LISTEN RELAY_ADDRS
	    "  deny_peers = [ \"192.0.3.0/24\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	DENY(pol, OWN4, RPORT);
	DENY(pol, OWN4, 3478);
	ALLOW(pol, OWN6, RPORT);
	policy_free(pol);
}

/*
 * An own address on loopback stays denied on a relay port: the
 * own-address rule never overrides the deny lists (policy.h), only
 * relay.allow_peers lets it through, and then on every port but a
 * listening one.
 */
static void
test_own_loopback(void)
{
	struct policy	*pol;

#define LOOP_LISTEN							\
	"listen = { udp = [ \"127.0.0.1:3478\", \"[::1]:3478\" ];\n"	\
	"  tcp = [ ]; tls = [ ]; };\n"					\
	"relay = { addresses = [ \"127.0.0.1\", \"::1\" ];\n"

	pol = pol_of(LOOP_LISTEN "};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	DENY(pol, "127.0.0.1", RPORT);
	DENY(pol, "127.0.0.1", 3478);
	DENY(pol, "::ffff:127.0.0.1", RPORT);
	DENY(pol, "::1", RPORT);
	policy_free(pol);

	pol = pol_of(LOOP_LISTEN
	    "  allow_peers = [ \"127.0.0.1\", \"::1\" ];\n};\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "127.0.0.1", RPORT);
	DENY(pol, "127.0.0.1", 3478);		/* never a listener */
	ALLOW(pol, "127.0.0.1", 22);		/* allow wins on other ports */
	ALLOW(pol, "::ffff:127.0.0.1", 22);
	ALLOW(pol, "::1", RPORT);
	DENY(pol, "127.0.0.2", RPORT);
	policy_free(pol);
#undef LOOP_LISTEN
}

/*
 * Wildcard listeners: every interface address is own.  Those in a
 * denied range stay denied on every port; any others (a host with a
 * public address) are denied on the listening port and allowed on a
 * relay port.  Without a wildcard they are ordinary peers.
 */
static void
test_wildcard(void)
{
	struct policy		*pol, *plain;
	struct ifaddrs		*ifap, *ifa;
	struct sockaddr_storage	 ss, tmp;
	struct sockaddr		*sa = (struct sockaddr *)&ss;
	struct cidr		 c;
	char			 buf[ADDR_STRLEN];
	unsigned int		 i, npublic = 0, nifa = 0;
	int			 builtin;

	pol = pol_of("listen = { udp = [ \"0.0.0.0:3478\", \"[::]:3478\" ];"
	    " tcp = [ ]; tls = [ ]; };\n");
	plain = pol_of(BASE);
	if (pol == NULL || plain == NULL ||
	    getifaddrs(&ifap) == -1) {
		CHECK(0);
		policy_free(pol);
		policy_free(plain);
		return;
	}
	DENY(pol, "127.0.0.1", RPORT);
	DENY(pol, "127.0.0.1", 3478);
	DENY(pol, "::1", RPORT);
	DENY(pol, "0.0.0.0", RPORT);
	DENY(pol, "::", RPORT);
	ALLOW(pol, "8.8.8.8", 3478);

	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    (ifa->ifa_addr->sa_family != AF_INET &&
		    ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ifa->ifa_addr, ifa->ifa_addr->sa_family ==
		    AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6));
		tmp = ss;
		addr_unmap(&tmp);
		nifa++;
		builtin = 0;
		for (i = 0; policy_builtin_deny[i] != NULL; i++) {
			if (cidr_parse(policy_builtin_deny[i], &c, NULL) == 0 &&
			    cidr_match(&c, (struct sockaddr *)&tmp))
				builtin = 1;
		}
		addr_set_port(sa, 3478);
		CHECK_EQ_INT(policy_peer_allowed(pol, sa), 0);
		addr_set_port(sa, RPORT);
		CHECK_EQ_INT(policy_peer_allowed(pol, sa), !builtin);
		addr_set_port(sa, 22);
		CHECK_EQ_INT(policy_peer_allowed(pol, sa), 0);
		CHECK_EQ_INT(policy_peer_allowed(plain, sa), !builtin);
		if (!builtin) {
			npublic++;
			printf("# public interface address %s\n",
			    addr_fmt_ip(sa, buf, sizeof(buf)));
		}
	}
	freeifaddrs(ifap);
	CHECK(nifa > 0);
	printf("# %u interface addresses, %u outside the built-in list\n",
	    nifa, npublic);
	policy_free(pol);
	policy_free(plain);
}

/* A numeric Redis server is denied on its port. */
static void
test_redis(void)
{
	struct policy	*pol;

	pol = pol_of(BASE "store = { backend = \"redis\";\n"
	    "  redis = { host = \"192.0.3.40\"; port = 6380; }; };\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	DENY(pol, "192.0.3.40", 6380);
	DENY(pol, "::ffff:192.0.3.40", 6380);
	ALLOW(pol, "192.0.3.40", 6379);
	ALLOW(pol, "192.0.3.41", 6380);
	policy_free(pol);

	/* not the backend: an ordinary peer */
	pol = pol_of(BASE "store = { backend = \"memory\";\n"
	    "  redis = { host = \"192.0.3.40\"; port = 6380; }; };\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "192.0.3.40", 6380);
	policy_free(pol);

	/* a host name is not resolved here */
	pol = pol_of(BASE "store = { backend = \"redis\";\n"
	    "  redis = { host = \"redis.example\"; }; };\n");
	if (pol == NULL) {
		CHECK(0);
		return;
	}
	ALLOW(pol, "8.8.8.8", 6379);
	policy_free(pol);
}

static void
test_free_null(void)
{
	policy_free(NULL);
	CHECK(1);
}

/* 1 allowed, 0 denied with the realm rules of the store. */
static int
allowed_rules(const struct policy *pol, const struct store_realm *sr,
    const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	if (addr_parse_ip(ip, &ss) == -1)
		return (-1);
	addr_set_port((struct sockaddr *)&ss, port);
	return (policy_peer_allowed_rules(pol, sr, (struct sockaddr *)&ss));
}

/*
 * Redis's allowed-peer-ip wins over every deny list, as relay.allow_peers
 * does; denied-peer-ip denies what would be allowed; no rules change
 * nothing.
 */
static void
test_store_rules(void)
{
	struct policy		*pol = pol_of(BASE);
	struct store_realm	*sr = store_realm_new();

	CHECK(pol != NULL);
	if (pol == NULL)
		return;
	CHECK_EQ_INT(allowed_rules(pol, sr, "127.0.0.1", 5000), 0);
	CHECK_EQ_INT(allowed_rules(pol, sr, "198.51.100.7", 5000), 0);
	CHECK_EQ_INT(allowed_rules(pol, NULL, "8.8.8.8", 53), 1);

	sr->sr_allow = calloc(2, sizeof(*sr->sr_allow));
	sr->sr_deny = calloc(1, sizeof(*sr->sr_deny));
	CHECK_EQ_INT(iprange_parse("127.0.0.1", &sr->sr_allow[0], NULL), 0);
	CHECK_EQ_INT(iprange_parse("10.0.0.1-10.0.0.9", &sr->sr_allow[1],
	    NULL), 0);
	sr->sr_nallow = 2;
	CHECK_EQ_INT(iprange_parse("8.8.8.0/24", &sr->sr_deny[0], NULL), 0);
	sr->sr_ndeny = 1;

	CHECK_EQ_INT(allowed_rules(pol, sr, "127.0.0.1", 5000), 1);
	CHECK_EQ_INT(allowed_rules(pol, sr, "::ffff:127.0.0.1", 5000), 1);
	CHECK_EQ_INT(allowed_rules(pol, sr, "127.0.0.2", 5000), 0);
	CHECK_EQ_INT(allowed_rules(pol, sr, "10.0.0.9", 5000), 1);
	CHECK_EQ_INT(allowed_rules(pol, sr, "10.0.0.10", 5000), 0);
	CHECK_EQ_INT(allowed_rules(pol, sr, "8.8.8.8", 53), 0);
	CHECK_EQ_INT(allowed_rules(pol, sr, "8.8.4.4", 53), 1);
	CHECK_EQ_INT(allowed_rules(pol, NULL, "8.8.8.8", 53), 1);
	store_realm_unref(sr);
	policy_free(pol);
}

int
main(void)
{
	RUN(test_builtin_list);
	RUN(test_builtin_edges);
	RUN(test_builtin_neighbours);
	RUN(test_named);
	RUN(test_family);
	RUN(test_allow_peers);
	RUN(test_allow_wins);
	RUN(test_deny_peers);
	RUN(test_embedded_v4);
	RUN(test_kernel_local);
	RUN(test_own);
	RUN(test_own_loopback);
	RUN(test_wildcard);
	RUN(test_redis);
	RUN(test_free_null);
	RUN(test_store_rules);
	return (unit_done());
}
