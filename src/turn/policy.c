/*
 * policy.c -- peer address policy: which peers an allocation may relay to
 * (RFC 8656 section 21).  See policy.h.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/store.h"
#include "turn/policy.h"

const char *const policy_builtin_deny[] = {
	/* IPv4 */
	"0.0.0.0/8",		/* "this network" (RFC 791, 1122) */
	"10.0.0.0/8",		/* private (RFC 1918) */
	"100.64.0.0/10",	/* CGNAT shared space (RFC 6598) */
	"127.0.0.0/8",		/* loopback */
	"169.254.0.0/16",	/* link-local, cloud metadata (RFC 3927) */
	"172.16.0.0/12",	/* private (RFC 1918) */
	"192.0.0.0/24",		/* IETF protocol assignments (RFC 6890) */
	"192.0.2.0/24",		/* TEST-NET-1 (RFC 5737) */
	"192.88.99.0/24",	/* 6to4 relay anycast (RFC 7526) */
	"192.168.0.0/16",	/* private (RFC 1918) */
	"198.18.0.0/15",	/* benchmarking (RFC 2544) */
	"198.51.100.0/24",	/* TEST-NET-2 (RFC 5737) */
	"203.0.113.0/24",	/* TEST-NET-3 (RFC 5737) */
	"224.0.0.0/4",		/* multicast */
	"240.0.0.0/4",		/* reserved (RFC 1112) */
	"255.255.255.255/32",	/* limited broadcast (RFC 919) */
	/* IPv6 */
	"::/128",		/* unspecified */
	"::1/128",		/* loopback */
	"::/96",		/* IPv4-compatible, deprecated (RFC 4291) */
	"::ffff:0:0:0/96",	/* IPv4-translated, SIIT (RFC 2765) */
	"64:ff9b::/96",		/* NAT64 well-known prefix (RFC 6052) */
	"64:ff9b:1::/48",	/* NAT64 local use (RFC 8215) */
	"100::/64",		/* discard-only (RFC 6666) */
	"2001::/32",		/* Teredo (RFC 4380) */
	"2001:db8::/32",	/* documentation (RFC 3849) */
	"2002::/16",		/* 6to4 (RFC 3056) */
	"fc00::/7",		/* unique local (RFC 4193) */
	"fe80::/10",		/* link-local */
	"fec0::/10",		/* site-local, deprecated (RFC 3879) */
	"ff00::/8",		/* multicast */
	NULL
};

struct policy {
	struct cidr		*po_allow;	/* relay.allow_peers */
	unsigned int		 po_nallow;
	struct cidr		*po_deny;	/* built in, then deny_peers */
	unsigned int		 po_ndeny;
	struct cidr		*po_own;	/* own IPs, host prefixes */
	unsigned int		 po_nown;
	uint16_t		*po_lport;	/* ports turnd listens on */
	unsigned int		 po_nlport;
	struct sockaddr_storage	 po_redis;	/* Redis endpoint, if numeric */
	int			 po_redis_set;
	uint16_t		 po_min_port;
	uint16_t		 po_max_port;
};

/* Host prefix (/32 or /128) for sa, canonicalised; -1 if not IP. */
static int
policy_host_cidr(const struct sockaddr *sa, struct cidr *c)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&ss, sa, sizeof(struct sockaddr_in));
		break;
	case AF_INET6:
		memcpy(&ss, sa, sizeof(struct sockaddr_in6));
		break;
	default:
		return (-1);
	}
	addr_unmap(&ss);
	memset(c, 0, sizeof(*c));
	c->c_family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		memcpy(c->c_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		c->c_prefix = 32;
	} else {
		memcpy(c->c_addr,
		    ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, 16);
		c->c_prefix = 128;
	}
	return (0);
}

/* Append sa's IP to the own addresses unless it is there already. */
static void
policy_add_own(struct policy *pol, unsigned int *cap,
    const struct sockaddr *sa)
{
	struct cidr	c;
	unsigned int	i;

	if (policy_host_cidr(sa, &c) == -1)
		return;
	for (i = 0; i < pol->po_nown; i++)
		if (memcmp(&pol->po_own[i], &c, sizeof(c)) == 0)
			return;
	if (pol->po_nown == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		pol->po_own = xreallocarray(pol->po_own, *cap,
		    sizeof(*pol->po_own));
	}
	pol->po_own[pol->po_nown++] = c;
}

/* Append a listening port unless it is there already (0: none). */
static void
policy_add_lport(struct policy *pol, unsigned int *cap, uint16_t port)
{
	unsigned int	i;

	if (port == 0)
		return;
	for (i = 0; i < pol->po_nlport; i++)
		if (pol->po_lport[i] == port)
			return;
	if (pol->po_nlport == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		pol->po_lport = xreallocarray(pol->po_lport, *cap,
		    sizeof(*pol->po_lport));
	}
	pol->po_lport[pol->po_nlport++] = port;
}

/*
 * Add every address of the host's interfaces, both families: a wildcard
 * "::" socket also takes IPv4, and counting too many addresses as own
 * can only deny more (policy.h, step 5).
 */
static void
policy_add_ifaddrs(struct policy *pol, unsigned int *cap)
{
	struct ifaddrs	*ifap, *ifa;

	if (getifaddrs(&ifap) == -1) {
		log_warn("%s: getifaddrs", __func__);
		return;
	}
	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET ||
		    ifa->ifa_addr->sa_family == AF_INET6)
			policy_add_own(pol, cap, ifa->ifa_addr);
	}
	freeifaddrs(ifap);
}

/*
 * Add the addresses of one list to the own addresses, and with ports
 * (listeners) their ports; *wild is set if one is a wildcard.
 */
static void
policy_add_addrs(struct policy *pol, unsigned int *cap, unsigned int *lcap,
    const struct conf_addrs *ca, int ports, int *wild)
{
	const struct sockaddr	*sa;
	unsigned int		 i;

	for (i = 0; i < ca->ca_n; i++) {
		sa = (const struct sockaddr *)&ca->ca_addr[i];
		if (ports)
			policy_add_lport(pol, lcap, addr_port(sa));
		if (addr_is_any(sa))
			*wild = 1;
		else
			policy_add_own(pol, cap, sa);
	}
}

/*
 * Build the policy from conf.  Never fails: conf was validated, and a
 * built-in range that does not parse is a bug (fatalx).  getifaddrs(3)
 * runs once, and only if some own address is a wildcard.
 */
struct policy *
policy_new(const struct turnd_conf *conf)
{
	struct policy		*pol;
	const struct sockaddr	*sa;
	const char		*why;
	unsigned int		 nbuiltin, i, cap = 0, lcap = 0;
	int			 wild = 0;

	pol = xcalloc(1, sizeof(*pol));
	pol->po_min_port = (uint16_t)conf->relay_min_port;
	pol->po_max_port = (uint16_t)conf->relay_max_port;

	if (conf->relay_allow_peers.cc_n > 0) {
		pol->po_nallow = conf->relay_allow_peers.cc_n;
		pol->po_allow = xcalloc(pol->po_nallow, sizeof(*pol->po_allow));
		memcpy(pol->po_allow, conf->relay_allow_peers.cc_cidr,
		    pol->po_nallow * sizeof(*pol->po_allow));
	}

	for (nbuiltin = 0; policy_builtin_deny[nbuiltin] != NULL; nbuiltin++)
		;
	pol->po_ndeny = nbuiltin + conf->relay_deny_peers.cc_n;
	pol->po_deny = xcalloc(pol->po_ndeny, sizeof(*pol->po_deny));
	for (i = 0; i < nbuiltin; i++)
		if (cidr_parse(policy_builtin_deny[i], &pol->po_deny[i],
		    &why) == -1)
			fatalx("%s: built-in \"%s\": %s", __func__,
			    policy_builtin_deny[i], why);
	if (conf->relay_deny_peers.cc_n > 0)
		memcpy(pol->po_deny + nbuiltin, conf->relay_deny_peers.cc_cidr,
		    conf->relay_deny_peers.cc_n * sizeof(*pol->po_deny));

	if (strcmp(conf->store_backend, "redis") == 0 &&
	    addr_parse_ip(conf->redis_host, &pol->po_redis) == 0) {
		addr_unmap(&pol->po_redis);
		addr_set_port((struct sockaddr *)&pol->po_redis,
		    (uint16_t)conf->redis_port);
		pol->po_redis_set = 1;
	}

	policy_add_addrs(pol, &cap, &lcap, &conf->listen_udp, 1, &wild);
	policy_add_addrs(pol, &cap, &lcap, &conf->listen_tcp, 1, &wild);
	policy_add_addrs(pol, &cap, &lcap, &conf->listen_tls, 1, &wild);
	policy_add_addrs(pol, &cap, &lcap, &conf->listen_dtls, 1, &wild);
	policy_add_addrs(pol, &cap, &lcap, &conf->relay_addresses, 0, &wild);
	policy_add_addrs(pol, &cap, &lcap, &conf->relay_external, 0, &wild);
	if (conf->metrics_listen.ca_set) {
		sa = (const struct sockaddr *)&conf->metrics_listen.ca_ss;
		policy_add_lport(pol, &lcap, addr_port(sa));
		if (addr_is_any(sa))
			wild = 1;
		else
			policy_add_own(pol, &cap, sa);
	}
	if (wild)
		policy_add_ifaddrs(pol, &cap);

	log_debug("%s: %u own addresses%s, %u listening ports, %u allowed "
	    "and %u denied ranges", __func__, pol->po_nown,
	    wild ? " (wildcard)" : "", pol->po_nlport, pol->po_nallow,
	    pol->po_ndeny);
	return (pol);
}

void
policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	free(pol->po_allow);
	free(pol->po_deny);
	free(pol->po_own);
	free(pol->po_lport);
	free(pol);
}

static int
policy_match_any(const struct cidr *c, unsigned int n,
    const struct sockaddr *sa)
{
	unsigned int	i;

	for (i = 0; i < n; i++)
		if (cidr_match(&c[i], sa))
			return (1);
	return (0);
}

/*
 * The address policy.h step 1 checks peer as: a copy of peer, with an
 * IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2), IPv4-compatible
 * (::a.b.c.d but :: and ::1, RFC 4291 2.5.5.1) or IPv4-translated
 * (::ffff:0:a.b.c.d, RFC 2765 2.1) address turned into a.b.c.d.  -1 if
 * peer is neither IPv4 nor IPv6.
 */
static int
policy_canon(const struct sockaddr *peer, struct sockaddr_storage *ss)
{
	static const uint8_t	 siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff, 0, 0 };
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	const uint8_t		*b;

	memset(ss, 0, sizeof(*ss));
	switch (peer->sa_family) {
	case AF_INET:
		memcpy(ss, peer, sizeof(struct sockaddr_in));
		return (0);
	case AF_INET6:
		break;
	default:
		return (-1);
	}
	memcpy(&sin6, peer, sizeof(sin6));
	b = sin6.sin6_addr.s6_addr;
	/* IN6_IS_ADDR_V4COMPAT leaves out :: and ::1 */
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) &&
	    !IN6_IS_ADDR_V4COMPAT(&sin6.sin6_addr) &&
	    memcmp(b, siit, sizeof(siit)) != 0) {
		memcpy(ss, &sin6, sizeof(sin6));
		return (0);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, b + 12, 4);
	return (0);
}

/* Does a range of c[n], or of the realm's set (allow or deny), match? */
static int
policy_match(const struct cidr *c, unsigned int n,
    const struct store_realm *rules, int allow, const struct sockaddr *sa)
{
	if (policy_match_any(c, n, sa))
		return (1);
	return (allow ? store_realm_allows(rules, sa) :
	    store_realm_denies(rules, sa));
}

/* The same for the address as given and as step 1 checks it. */
static int
policy_match2(const struct cidr *c, unsigned int n,
    const struct store_realm *rules, int allow, const struct sockaddr *sa,
    const struct sockaddr *peer)
{
	return (policy_match(c, n, rules, allow, sa) ||
	    (peer->sa_family != sa->sa_family &&
	    policy_match(c, n, rules, allow, peer)));
}

/* Is sa one of turnd's own addresses, by the list or the kernel's view? */
static int
policy_is_own(const struct policy *pol, const struct sockaddr *sa,
    policy_local_cb is_local, void *arg)
{
	return (policy_match_any(pol->po_own, pol->po_nown, sa) ||
	    (is_local != NULL && is_local(arg, sa) != 0));
}

/* Is sa a port turnd listens on, at one of its own addresses? */
static int
policy_own_listener(const struct policy *pol, const struct sockaddr *sa,
    policy_local_cb is_local, void *arg)
{
	uint16_t	 port = addr_port(sa);
	unsigned int	 i;

	for (i = 0; i < pol->po_nlport; i++)
		if (pol->po_lport[i] == port)
			return (policy_is_own(pol, sa, is_local, arg));
	return (0);
}

/*
 * The check of policy.h, in its order.  Runs per relayed packet: no
 * allocation, no logging, a linear scan over a few dozen entries.
 */
int
policy_peer_allowed(const struct policy *pol, const struct sockaddr *peer)
{
	return (policy_peer_check(pol, NULL, peer, NULL, NULL));
}

int
policy_peer_allowed_rules(const struct policy *pol,
    const struct store_realm *rules, const struct sockaddr *peer)
{
	return (policy_peer_check(pol, rules, peer, NULL, NULL));
}

int
policy_peer_check(const struct policy *pol, const struct store_realm *rules,
    const struct sockaddr *peer, policy_local_cb is_local, void *arg)
{
	struct sockaddr_storage	 ss;
	const struct sockaddr	*sa = (const struct sockaddr *)&ss;
	uint16_t		 port;

	/* 1. canonical form: a local copy, the embedded IPv4 */
	if (policy_canon(peer, &ss) == -1)
		return (0);

	/* 2. a listener of turnd itself, never; 3. an explicit allow wins */
	if (policy_own_listener(pol, sa, is_local, arg))
		return (0);
	if (policy_match2(pol->po_allow, pol->po_nallow, rules, 1, sa, peer))
		return (1);

	/* 4. built-in and configured deny ranges, the Redis server */
	if (policy_match2(pol->po_deny, pol->po_ndeny, rules, 0, sa, peer))
		return (0);
	if (pol->po_redis_set &&
	    addr_eq(sa, (const struct sockaddr *)&pol->po_redis))
		return (0);

	/*
	 * 5. own addresses: relay ports only (listening ports went in step
	 * 2); the kernel's view last, as it costs a system call
	 */
	port = addr_port(sa);
	if ((port < pol->po_min_port || port > pol->po_max_port) &&
	    policy_is_own(pol, sa, is_local, arg))
		return (0);

	/* 6. */
	return (1);
}
