/*
 * policy.h -- which peers an allocation may relay to (RFC 8656 section
 * 21, security considerations).
 *
 * Built once from the configuration and never changed (a reload builds a
 * new one), so workers read it without locks.  The check is:
 *   1. an IPv6 peer that embeds an IPv4 address a.b.c.d -- IPv4-mapped
 *      ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d (:: and ::1 aside),
 *      IPv4-translated ::ffff:0:a.b.c.d -- is checked as a.b.c.d, and
 *      in steps 2 and 3 as given too (a range matching either form
 *      counts); a family other than IPv4 or IPv6 is denied;
 *   2. a port turnd listens on (listen.*, metrics.listen) at one of
 *      its own addresses (step 5): denied, whatever the lists say, as
 *      relaying to turnd itself is the building block of a relay loop;
 *   3. relay.allow_peers matches: allowed, on every other port (an
 *      allow wins over any deny, turnd's own addresses included);
 *   4. the built-in deny list, relay.deny_peers, or the Redis server
 *      (store.redis.host when numeric, on store.redis.port) matches:
 *      denied;
 *   5. one of turnd's own addresses (listen.*, relay.addresses,
 *      relay.external and metrics.listen; a wildcard 0.0.0.0 or ::
 *      stands for every address of the host's interfaces, both
 *      families, as getifaddrs(3) lists them when the policy is made)
 *      or, in policy_peer_check() with is_local, any address the kernel
 *      delivers locally at the time of the check: allowed only on a
 *      port in relay.min_port..max_port, so two clients of this server
 *      can relay to each other through their relayed addresses, but
 *      nothing can reach turnd's other services;
 *   6. otherwise allowed.
 *
 * Own addresses come after the deny lists on purpose.  A wildcard
 * listener makes 127.0.0.1, ::1 and the host's private and link-local
 * addresses "own", and the relay range overlaps Linux's ephemeral ports
 * (32768-60999), where loopback-only and internal services of the host
 * bind; letting step 5 win would expose them to any client (as
 * CVE-2020-26262 did for coturn).  Step 5 only ever narrows: a relayed
 * address in a denied range (a test on loopback, a LAN-only server)
 * needs relay.allow_peers, and a relay.deny_peers range that covers the
 * relay or external address also stops client-to-client relaying.
 */

#ifndef POLICY_H
#define POLICY_H

#include <sys/socket.h>

struct turnd_conf;
struct policy;
struct store_realm;

/*
 * The built-in deny list: "this network" 0.0.0.0/8, loopback 127/8, RFC
 * 1918, CGNAT 100.64/10, link-local 169.254/16 (cloud metadata
 * 169.254.169.254 included), IETF protocol assignments 192.0.0/24,
 * documentation 192.0.2/24, 198.51.100/24, 203.0.113/24, 6to4 relay
 * anycast 192.88.99/24, benchmarking 198.18/15, multicast 224/4,
 * reserved 240/4 and broadcast; ::/128, ::1/128, IPv4-compatible ::/96,
 * IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and
 * 64:ff9b:1::/48, discard 100::/64, Teredo 2001::/32, documentation
 * 2001:db8::/32, 6to4 2002::/16, ULA fc00::/7, link-local fe80::/10,
 * site-local fec0::/10, multicast ff00::/8.
 */
extern const char *const policy_builtin_deny[];

/* Build the policy from conf; never fails (conf was validated). */
struct policy	*policy_new(const struct turnd_conf *);
void		 policy_free(struct policy *);

/* 1 if relaying to peer (address and port) is allowed, else 0. */
int		 policy_peer_allowed(const struct policy *,
		    const struct sockaddr *peer);
/*
 * The same with the realm's peer rules from the store (may be NULL):
 * allowed-peer-ip wins like relay.allow_peers, denied-peer-ip denies
 * like relay.deny_peers.
 */
int		 policy_peer_allowed_rules(const struct policy *,
		    const struct store_realm *rules,
		    const struct sockaddr *peer);

/*
 * 1 if the kernel delivers the address of sa (an IPv4 or IPv6 address,
 * the port aside) locally, 0 if not, -1 if it cannot tell (then the
 * address counts as own).  A system call: for requests, not packets.
 */
typedef int	(*policy_local_cb)(void *arg, const struct sockaddr *sa);
/*
 * The same with the kernel's view of own addresses (step 5): what
 * CreatePermission and ChannelBind check (is_local NULL: as above).
 */
int		 policy_peer_check(const struct policy *,
		    const struct store_realm *rules,
		    const struct sockaddr *peer, policy_local_cb is_local,
		    void *arg);

#endif /* POLICY_H */
