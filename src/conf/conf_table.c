/*
 * conf_table.c -- the schema of turnd.conf: one row per key, lookups
 * and typo hints over the rows, and the rules between keys (conf_check).
 *
 * Each row gives the dotted name, the type, the bounds, where the value
 * lives in struct turnd_conf, its default in libconfig syntax and one
 * line of documentation.  conf.c parses the defaults through the same
 * type handlers as the file, so a default cannot have the wrong type;
 * test_conf checks every row against man/turnd.conf.5 and etc/turnd.conf.
 *
 * ck_min/ck_max mean, by type:
 *	CONF_INT		the accepted range
 *	CONF_STR, CONF_ENUM	string length in bytes (CONF_ENUM: unused)
 *	CONF_STRS, CONF_USERS	length of each string (user, password)
 *	CONF_ADDR, CONF_ADDRS	ck_min is the port used when an entry has none
 *	CONF_BOOL, CONF_IP(S),
 *	CONF_CIDRS		unused
 */

#include <sys/socket.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addr.h"
#include "conf/conf.h"

#define OFF(f)		offsetof(struct turnd_conf, f)
#define PATH_LEN	4095		/* PATH_MAX - 1 */
#define SUN_PATH_LEN	107		/* sizeof(sun_path) - 1 on Linux */
#define NAME_MAX_LEN	64		/* longest name compared for hints */
#define HINT_PATH_LEN	256
#define NONCE_SECRET_MIN 16		/* bytes of auth.nonce_secret, if set */

const struct conf_key conf_keys[] = {
	/* top level */
	{ "workers", CONF_INT, 0, 1024, OFF(workers), "0", NULL,
	    "worker threads; 0: one per CPU" },
	{ "realm", CONF_STR, 1, 127, OFF(realm), "\"turnd.local\"", NULL,
	    "REALM of long-term credentials (RFC 8489 9.2)" },
	{ "software", CONF_STR, 0, 127, OFF(software), "\"turnd\"", NULL,
	    "SOFTWARE attribute in responses; \"\": none" },
	{ "software_errors", CONF_BOOL, 0, 0, OFF(software_errors), "false",
	    NULL, "SOFTWARE in error responses too" },
	{ "user", CONF_STR, 0, 255, OFF(user), "\"\"", NULL,
	    "user to switch to after binding; \"\": stay" },
	{ "group", CONF_STR, 0, 255, OFF(group), "\"\"", NULL,
	    "group to switch to after binding; \"\": the user's" },
	{ "pidfile", CONF_STR, 0, PATH_LEN, OFF(pidfile), "\"\"", NULL,
	    "file to write the process id to; \"\": none" },

	/* listen */
	{ "listen.udp", CONF_ADDRS, 3478, 0, OFF(listen_udp),
	    "[ \"0.0.0.0:3478\", \"[::]:3478\" ]", NULL,
	    "STUN/TURN over UDP: \"ip:port\" (default port 3478)" },
	{ "listen.tcp", CONF_ADDRS, 3478, 0, OFF(listen_tcp),
	    "[ \"0.0.0.0:3478\", \"[::]:3478\" ]", NULL,
	    "STUN/TURN over TCP (default port 3478)" },
	{ "listen.tls", CONF_ADDRS, 5349, 0, OFF(listen_tls),
	    "[ \"0.0.0.0:5349\", \"[::]:5349\" ]", NULL,
	    "STUN/TURN over TLS (default port 5349)" },
	{ "listen.dtls", CONF_ADDRS, 5349, 0, OFF(listen_dtls), "[ ]", NULL,
	    "STUN/TURN over DTLS 1.2 (default port 5349); uses tls.cert/key" },
	{ "listen.proxy_from", CONF_CIDRS, 0, 0, OFF(listen_proxy_from), "[ ]",
	    NULL, "TCP/TLS sources that must send a PROXY header (v1 or v2)" },
	{ "listen.proxy_timeout", CONF_INT, 1, 60, OFF(listen_proxy_timeout),
	    "3", NULL, "seconds to receive the whole PROXY header" },

	/* tls */
	{ "tls.cert", CONF_STR, 0, PATH_LEN, OFF(tls_cert),
	    "\"/etc/turnd/cert.pem\"", NULL,
	    "PEM certificate chain for TLS listeners" },
	{ "tls.key", CONF_STR, 0, PATH_LEN, OFF(tls_key),
	    "\"/etc/turnd/key.pem\"", NULL,
	    "PEM private key for TLS listeners" },
	{ "tls.min_version", CONF_ENUM, 0, 0, OFF(tls_min_version),
	    "\"1.2\"", "1.2|1.3",
	    "lowest TLS version accepted" },
	{ "tls.ciphers", CONF_STR, 0, PATH_LEN, OFF(tls_ciphers), "\"\"", NULL,
	    "OpenSSL cipher list for TLS 1.2; \"\": OpenSSL's default" },

	/* stun */
	{ "stun.mapped_address", CONF_BOOL, 0, 0, OFF(stun_mapped_address),
	    "false", NULL,
	    "also send MAPPED-ADDRESS, for RFC 3489 clients" },
	{ "stun.rfc5780", CONF_BOOL, 0, 0, OFF(stun_rfc5780), "false", NULL,
	    "NAT behaviour discovery (RFC 5780); needs stun.alt_address" },
	{ "stun.alt_address", CONF_IP, 0, 0, OFF(stun_alt_address), "\"\"",
	    NULL, "second IP address for RFC 5780 (OTHER-ADDRESS)" },
	{ "stun.alt_port", CONF_INT, 1, 65535, OFF(stun_alt_port), "3479",
	    NULL, "second port for RFC 5780" },

	/* limits */
	{ "limits.connections", CONF_INT, 1, 1000000, OFF(lim_connections),
	    "10000", NULL, "TCP and TLS connections in total" },
	{ "limits.connections_per_source", CONF_INT, 1, 100000,
	    OFF(lim_connections_per_source), "64", NULL,
	    "TCP and TLS connections from one IP address" },
	{ "limits.idle_timeout", CONF_INT, 1, 86400, OFF(lim_idle_timeout),
	    "300", NULL, "seconds before an idle connection is closed" },
	{ "limits.frame_timeout", CONF_INT, 1, 600, OFF(lim_frame_timeout),
	    "10", NULL, "seconds a connection may stall inside a frame" },
	{ "limits.dtls_handshakes", CONF_INT, 1, 1000000,
	    OFF(lim_dtls_handshakes), "1000", NULL,
	    "DTLS handshakes under way at once, in total" },
	{ "limits.dtls_handshakes_per_source", CONF_INT, 1, 100000,
	    OFF(lim_dtls_handshakes_per_source), "16", NULL,
	    "DTLS handshakes under way at once from one IP address" },

	/* relay */
	{ "relay.addresses", CONF_IPS, 0, 0, OFF(relay_addresses),
	    "[ \"0.0.0.0\" ]", NULL, "local IP addresses relay sockets bind to" },
	{ "relay.external", CONF_IPS, 0, 0, OFF(relay_external), "[ ]", NULL,
	    "public IP to advertise behind 1:1 NAT, one per family" },
	{ "relay.min_port", CONF_INT, 1024, 65535, OFF(relay_min_port),
	    "49152", NULL, "lowest relay port" },
	{ "relay.max_port", CONF_INT, 1024, 65535, OFF(relay_max_port),
	    "65535", NULL, "highest relay port" },
	{ "relay.allow_peers", CONF_CIDRS, 0, 0, OFF(relay_allow_peers), "[ ]",
	    NULL, "peer ranges allowed even if denied by default" },
	{ "relay.deny_peers", CONF_CIDRS, 0, 0, OFF(relay_deny_peers), "[ ]",
	    NULL, "peer ranges denied in addition to the defaults" },
	{ "relay.default_lifetime", CONF_INT, 1, 86400,
	    OFF(relay_default_lifetime), "600", NULL,
	    "seconds an allocation lives when the client asks no LIFETIME" },
	{ "relay.max_lifetime", CONF_INT, 1, 86400, OFF(relay_max_lifetime),
	    "3600", NULL, "longest allocation lifetime granted, in seconds" },
	{ "relay.permission_lifetime", CONF_INT, 1, 86400,
	    OFF(relay_permission_lifetime), "300", NULL,
	    "seconds a permission lives (RFC 8656: 300)" },
	{ "relay.channel_lifetime", CONF_INT, 1, 86400,
	    OFF(relay_channel_lifetime), "600", NULL,
	    "seconds a channel binding lives (RFC 8656: 600)" },
	{ "relay.user_quota", CONF_INT, 0, 1000000, OFF(relay_user_quota),
	    "50", NULL, "allocations per user at once; 0: no limit" },
	{ "relay.total_quota", CONF_INT, 0, 10000000, OFF(relay_total_quota),
	    "0", NULL, "allocations in all; 0: as many as the ports allow" },
	{ "relay.max_bps", CONF_INT, 0, INT_MAX, OFF(relay_max_bps), "0",
	    NULL, "bytes per second relayed per allocation; 0: no cap" },
	{ "relay.user_max_bps", CONF_INT, 0, INT_MAX, OFF(relay_user_max_bps),
	    "0", NULL, "bytes per second relayed for all allocations of one "
	    "user on this instance; 0: no cap" },
	{ "relay.reservation_lifetime", CONF_INT, 1, 3600,
	    OFF(relay_reservation_lifetime), "30", NULL,
	    "seconds an EVEN-PORT reservation is kept unclaimed" },
	{ "relay.rfc5766_channels", CONF_BOOL, 0, 0,
	    OFF(relay_rfc5766_channels), "false", NULL,
	    "also accept channels 0x5000-0x7FFE (RFC 5766 clients)" },
	{ "relay.tcp", CONF_BOOL, 0, 0, OFF(relay_tcp), "true", NULL,
	    "RFC 6062 TCP allocations over TCP and TLS" },
	{ "relay.tcp_connect_timeout", CONF_INT, 1, 120,
	    OFF(relay_tcp_connect_timeout), "10", NULL,
	    "seconds a Connect waits for the peer's TCP handshake" },
	{ "relay.tcp_bind_timeout", CONF_INT, 1, 300,
	    OFF(relay_tcp_bind_timeout), "30", NULL,
	    "seconds a peer connection waits for its ConnectionBind "
	    "(RFC 6062: 30)" },
	{ "relay.tcp_buffer", CONF_INT, 4096, 16777216, OFF(relay_tcp_buffer),
	    "65536", NULL, "bytes queued per direction of a TCP relay "
	    "before the sending side stops being read" },
	{ "relay.tcp_connections", CONF_INT, 1, 10000,
	    OFF(relay_tcp_connections), "64", NULL,
	    "peer connections per TCP allocation" },

	/* auth */
	{ "auth.users", CONF_USERS, 1, 508, OFF(auth_users), "( )", NULL,
	    "static long-term credentials: ( { user = ...; password = ...; } )" },
	{ "auth.secrets", CONF_STRS, 1, 1024, OFF(auth_secrets), "[ ]", NULL,
	    "shared secrets for TURN REST API credentials" },
	{ "auth.nonce_secret", CONF_STR, 0, 1024, OFF(auth_nonce_secret),
	    "\"\"", NULL, "key of the stateless nonces, the same on every "
	    "instance; \"\": random" },
	{ "auth.nonce_lifetime", CONF_INT, 30, 86400, OFF(auth_nonce_lifetime),
	    "600", NULL, "seconds a nonce stays valid" },
	{ "auth.rest_separator", CONF_STR, 1, 1, OFF(auth_rest_separator),
	    "\":\"", NULL, "character between expiry and user id in REST "
	    "user names" },
	{ "auth.unauth_rate", CONF_INT, 0, 1000000, OFF(auth_unauth_rate),
	    "10", NULL, "401 and 438 answers per second per source IP; "
	    "0: no limit" },

	/* store */
	{ "store.backend", CONF_ENUM, 0, 0, OFF(store_backend), "\"memory\"",
	    "memory|redis", "where credentials and state live" },
	{ "store.redis.host", CONF_STR, 0, 255, OFF(redis_host),
	    "\"127.0.0.1\"", NULL, "Redis server host name or IP address" },
	{ "store.redis.port", CONF_INT, 1, 65535, OFF(redis_port), "6379",
	    NULL, "Redis server port" },
	{ "store.redis.db", CONF_INT, 0, 65535, OFF(redis_db), "0", NULL,
	    "Redis database number" },
	{ "store.redis.password", CONF_STR, 0, 1024, OFF(redis_password),
	    "\"\"", NULL, "Redis AUTH password; \"\": none" },
	{ "store.redis.user", CONF_STR, 0, 255, OFF(redis_user), "\"\"",
	    NULL, "Redis ACL user for AUTH; \"\": the password alone" },
	{ "store.redis.socket", CONF_STR, 0, SUN_PATH_LEN, OFF(redis_socket),
	    "\"\"", NULL, "Redis unix socket, used instead of host and port; "
	    "\"\": none" },
	{ "store.redis.connect_timeout", CONF_INT, 1, 60,
	    OFF(redis_connect_timeout), "2", NULL,
	    "seconds to connect to Redis before retrying" },
	{ "store.redis.command_timeout", CONF_INT, 1, 60,
	    OFF(redis_command_timeout), "2", NULL,
	    "seconds a Redis command may take; then the connection is "
	    "dropped, waiting requests get 500 and turnd reconnects" },
	{ "store.cache_ttl", CONF_INT, 0, 3600, OFF(store_cache_ttl), "10",
	    NULL, "seconds each worker caches a user key or the REST "
	    "secrets read from Redis" },
	{ "store.negative_ttl", CONF_INT, 0, 3600, OFF(store_negative_ttl),
	    "2", NULL, "seconds each worker remembers that a user is not "
	    "in Redis" },
	{ "store.traffic_interval", CONF_INT, 0, 86400,
	    OFF(store_traffic_interval), "60", NULL, "seconds between "
	    "traffic events of each allocation; 0: only at its end" },
	{ "store.heartbeat", CONF_INT, 1, 3600, OFF(store_heartbeat), "5",
	    NULL, "seconds between instance registry updates (the key "
	    "lives 3 heartbeats)" },

	/* control, metrics */
	{ "control.socket", CONF_STR, 0, SUN_PATH_LEN, OFF(control_socket),
	    "\"/run/turnd/control.sock\"", NULL,
	    "unix socket for turnctl; \"\": none" },
	{ "control.owner", CONF_STR, 0, 64, OFF(control_owner), "\"\"", NULL,
	    "user owning the control socket; \"\": the one turnd runs as" },
	{ "control.group", CONF_STR, 0, 64, OFF(control_group), "\"\"", NULL,
	    "group of the control socket; \"\": turnd's" },
	{ "control.mode", CONF_STR, 3, 4, OFF(control_mode), "\"0600\"", NULL,
	    "permissions of the control socket, in octal" },
	{ "metrics.listen", CONF_ADDR, 9641, 0, OFF(metrics_listen),
	    "\"127.0.0.1:9641\"", NULL,
	    "HTTP address for /metrics (default port 9641); \"\": none" },

	/* live upgrade (turnctl upgrade, SIGUSR2) */
	{ "upgrade.timeout", CONF_INT, 1, 3600, OFF(upgrade_timeout), "30",
	    NULL, "seconds the new process may take to start, and to take "
	    "each worker over, before the old one rolls back" },
	{ "upgrade.drain_timeout", CONF_INT, 0, 366 * 86400,
	    OFF(upgrade_drain_timeout), "3600", NULL, "seconds the old "
	    "process keeps its TCP and TLS clients after an upgrade; 0: "
	    "until the last one leaves" },

	/* log */
	{ "log.level", CONF_ENUM, 0, 0, OFF(log_level), "\"info\"",
	    "error|warn|info|debug", "least severe level logged" },
	{ "log.file", CONF_STR, 0, PATH_LEN, OFF(log_file), "\"\"", NULL,
	    "file to log to; \"\": standard error" },
	{ "log.syslog", CONF_BOOL, 0, 0, OFF(log_syslog), "false", NULL,
	    "log to syslog (facility daemon) instead of log.file" },
};

const unsigned int conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const char *
conf_type_name(enum conf_type t)
{
	switch (t) {
	case CONF_BOOL:
		return ("boolean");
	case CONF_INT:
		return ("integer");
	case CONF_STR:
		return ("string");
	case CONF_ENUM:
		return ("keyword");
	case CONF_ADDR:
		return ("address");
	case CONF_ADDRS:
		return ("address list");
	case CONF_IP:
		return ("IP address");
	case CONF_IPS:
		return ("IP address list");
	case CONF_CIDRS:
		return ("address range list");
	case CONF_STRS:
		return ("string list");
	case CONF_USERS:
		return ("user list");
	}
	return ("?");
}

const struct conf_key *
conf_key_find(const char *name)
{
	unsigned int	i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].ck_name, name) == 0)
			return (&conf_keys[i]);
	return (NULL);
}

/* ------------------------------------------------------------ hints */

/* Optimal string alignment distance, case-insensitive; big if too long. */
static unsigned int
conf_distance(const char *a, const char *b, size_t blen)
{
	unsigned int	 d[3][NAME_MAX_LEN + 1], *c, *p1, *p2, x;
	size_t		 alen = strlen(a), i, j;

	if (alen > NAME_MAX_LEN || blen > NAME_MAX_LEN)
		return (UINT_MAX);
	for (j = 0; j <= blen; j++)
		d[0][j] = (unsigned int)j;
	/* row i is d[i % 3]; the two before it are p1 and p2 */
	for (i = 1; i <= alen; i++) {
		c = d[i % 3];
		p1 = d[(i + 2) % 3];
		p2 = d[(i + 1) % 3];
		c[0] = (unsigned int)i;
		for (j = 1; j <= blen; j++) {
			x = (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			c[j] = p1[j - 1] + x;
			if (p1[j] + 1 < c[j])
				c[j] = p1[j] + 1;
			if (c[j - 1] + 1 < c[j])
				c[j] = c[j - 1] + 1;
			if (i > 1 && j > 1 && p2[j - 2] + 1 < c[j] &&
			    tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]))
				c[j] = p2[j - 2] + 1;
		}
	}
	return (d[alen % 3][blen]);
}

const char *
conf_key_suggest(const char *prefix, const char *name, char *buf,
    size_t buflen)
{
	char		 best[HINT_PATH_LEN] = "", other[HINT_PATH_LEN] = "";
	const char	*kn, *c;
	size_t		 plen = strlen(prefix), clen, len;
	unsigned int	 i, d, bestd = UINT_MAX, nother = 0;

	for (i = 0; i < conf_nkeys; i++) {
		kn = conf_keys[i].ck_name;
		if (plen == 0 || (strncmp(kn, prefix, plen) == 0 &&
		    kn[plen] == '.')) {
			c = kn + plen + (plen > 0);
			clen = strcspn(c, ".");
			d = conf_distance(name, c, clen);
			if (d < bestd) {
				bestd = d;
				snprintf(best, sizeof(best), "%.*s",
				    (int)(c + clen - kn), kn);
			}
		}
		/* the same name at another place */
		for (c = kn; *c != '\0'; c += clen + (c[clen] == '.')) {
			clen = strcspn(c, ".");
			len = (size_t)(c + clen - kn);
			if (clen == strlen(name) &&
			    strncasecmp(c, name, clen) == 0 &&
			    (strncmp(other, kn, len) != 0 ||
			    other[len] != '\0')) {
				snprintf(other, sizeof(other), "%.*s",
				    (int)(c + clen - kn), kn);
				nother++;
			}
		}
	}
	/* a typo: one edit in a short name, two in a longer one */
	if (bestd <= (strlen(name) <= 4 ? 1U : 2U))
		snprintf(buf, buflen, "%s", best);
	else if (nother == 1)
		snprintf(buf, buflen, "%s", other);
	else
		return (NULL);
	return (buf);
}

/* ------------------------------------------------ cross-field rules */

/*
 * A conf_check() error: "path:line: key: reason", with the line where
 * key (or, for a section, its first key) was set; less when unknown.
 */
static int
check_err(const struct turnd_conf *conf, char *err, size_t errlen,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
check_err(const struct turnd_conf *conf, char *err, size_t errlen,
    const char *key, const char *fmt, ...)
{
	va_list		ap;
	char		msg[CONF_ERR_LEN];
	size_t		len = strlen(key);
	unsigned int	i, line = 0;

	for (i = 0; i < conf_nkeys && line == 0; i++)
		if (strcmp(conf_keys[i].ck_name, key) == 0 ||
		    (strncmp(conf_keys[i].ck_name, key, len) == 0 &&
		    conf_keys[i].ck_name[len] == '.'))
			line = conf->key_line ? conf->key_line[i] : 0;
	if (err == NULL || errlen == 0)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (conf->path != NULL && line > 0)
		snprintf(err, errlen, "%s:%u: %s: %s", conf->path, line, key,
		    msg);
	else if (conf->path != NULL)
		snprintf(err, errlen, "%s: %s: %s", conf->path, key, msg);
	else
		snprintf(err, errlen, "%s: %s", key, msg);
	return (-1);
}

static int
key_has_line(const struct turnd_conf *conf, const char *key)
{
	const struct conf_key	*k = conf_key_find(key);

	return (k != NULL && conf->key_line != NULL &&
	    conf->key_line[k - conf_keys] != 0);
}

/* RFC 5780 section 4.1: the server needs a second IP and a second port. */
static int
check_rfc5780(const struct turnd_conf *conf, char *err, size_t errlen)
{
	const struct sockaddr	*alt, *u;
	char			 ip[ADDR_STRLEN];
	unsigned int		 i;
	int			 have_ip = 0, have_other = 0;

	if (!conf->stun_alt_address.ca_set)
		return (check_err(conf, err, errlen, "stun.rfc5780",
		    "needs stun.alt_address"));
	alt = (const struct sockaddr *)&conf->stun_alt_address.ca_ss;
	addr_fmt_ip(alt, ip, sizeof(ip));
	if (addr_is_any(alt))
		return (check_err(conf, err, errlen, "stun.alt_address",
		    "%s: must be a specific address", ip));
	for (i = 0; i < conf->listen_udp.ca_n; i++) {
		u = (const struct sockaddr *)&conf->listen_udp.ca_addr[i];
		if (u->sa_family != alt->sa_family || addr_is_any(u))
			continue;
		have_ip = 1;
		if (addr_ip_eq(u, alt))
			continue;
		have_other = 1;
		if (addr_port(u) != conf->stun_alt_port)
			return (0);
	}
	if (!have_ip)
		return (check_err(conf, err, errlen, "stun.rfc5780",
		    "needs a listen.udp address on a specific %s address "
		    "(not a wildcard) to pair with stun.alt_address %s",
		    alt->sa_family == AF_INET ? "IPv4" : "IPv6", ip));
	if (!have_other)
		return (check_err(conf, err, errlen, "stun.alt_address",
		    "%s is also the listen.udp address; it must be a second "
		    "address", ip));
	return (check_err(conf, err, errlen, "stun.alt_port",
	    "%d is also the listen.udp port; it must be a second port",
	    conf->stun_alt_port));
}

/*
 * The same address in listen.udp and listen.dtls is one socket for both
 * (src/net/listen.c, RFC 7983).  A wildcard in one and a specific
 * address in the other, on one port, would be two sockets, the kernel
 * handing each datagram to the more specific: refused.
 */
static int
check_udp_dtls(const struct turnd_conf *conf, char *err, size_t errlen)
{
	const struct sockaddr	*u, *d;
	char			 b1[ADDR_STRLEN], b2[ADDR_STRLEN];
	unsigned int		 i, j;

	for (i = 0; i < conf->listen_dtls.ca_n; i++) {
		d = (const struct sockaddr *)&conf->listen_dtls.ca_addr[i];
		for (j = 0; j < conf->listen_udp.ca_n; j++) {
			u = (const struct sockaddr *)&conf->listen_udp.ca_addr[j];
			/* IPv6 sockets are IPV6_V6ONLY (src/net/listen.c) */
			if (u->sa_family != d->sa_family ||
			    addr_port(u) != addr_port(d) || addr_eq(u, d) ||
			    (!addr_ip_eq(u, d) && !addr_is_any(u) &&
			    !addr_is_any(d)))
				continue;
			return (check_err(conf, err, errlen, "listen.dtls",
			    "%s shares its port with listen.udp %s; for one "
			    "socket serving both, list the same address in both",
			    addr_fmt(d, b1, sizeof(b1)),
			    addr_fmt(u, b2, sizeof(b2))));
		}
	}
	return (0);
}

int
conf_check(const struct turnd_conf *conf, char *err, size_t errlen)
{
	const struct sockaddr	*sa;
	size_t			 len;
	unsigned int		 i, n4 = 0, n6 = 0;

	if (conf->listen_udp.ca_n + conf->listen_tcp.ca_n +
	    conf->listen_tls.ca_n + conf->listen_dtls.ca_n == 0)
		return (check_err(conf, err, errlen, "listen",
		    "no listeners: listen.udp, listen.tcp, listen.tls and "
		    "listen.dtls are all empty"));
	if (conf->listen_tls.ca_n + conf->listen_dtls.ca_n > 0 &&
	    conf->tls_cert[0] == '\0')
		return (check_err(conf, err, errlen, "tls.cert",
		    "must be set when listen.tls or listen.dtls is not empty"));
	if (conf->listen_tls.ca_n + conf->listen_dtls.ca_n > 0 &&
	    conf->tls_key[0] == '\0')
		return (check_err(conf, err, errlen, "tls.key",
		    "must be set when listen.tls or listen.dtls is not empty"));
	if (check_udp_dtls(conf, err, errlen) == -1)
		return (-1);
	if (conf->relay_min_port > conf->relay_max_port) {
		if (key_has_line(conf, "relay.min_port") ||
		    !key_has_line(conf, "relay.max_port"))
			return (check_err(conf, err, errlen, "relay.min_port",
			    "%d is greater than relay.max_port (%d)",
			    conf->relay_min_port, conf->relay_max_port));
		return (check_err(conf, err, errlen, "relay.max_port",
		    "%d is less than relay.min_port (%d)",
		    conf->relay_max_port, conf->relay_min_port));
	}
	if (conf->relay_default_lifetime > conf->relay_max_lifetime) {
		if (key_has_line(conf, "relay.default_lifetime") ||
		    !key_has_line(conf, "relay.max_lifetime"))
			return (check_err(conf, err, errlen,
			    "relay.default_lifetime", "%d is greater than "
			    "relay.max_lifetime (%d)",
			    conf->relay_default_lifetime,
			    conf->relay_max_lifetime));
		return (check_err(conf, err, errlen, "relay.max_lifetime",
		    "%d is less than relay.default_lifetime (%d)",
		    conf->relay_max_lifetime, conf->relay_default_lifetime));
	}
	/* Shorter secrets could be guessed offline from one nonce. */
	len = strlen(conf->auth_nonce_secret);
	if (len > 0 && len < NONCE_SECRET_MIN)
		return (check_err(conf, err, errlen, "auth.nonce_secret",
		    "length %zu is too short (at least %d bytes, or \"\" for "
		    "a random secret)", len, NONCE_SECRET_MIN));
	/* "expiry<sep>userid": a digit would make the expiry ambiguous. */
	if (isdigit((unsigned char)conf->auth_rest_separator[0]))
		return (check_err(conf, err, errlen, "auth.rest_separator",
		    "must not be a digit"));
	if (conf->stun_rfc5780 && check_rfc5780(conf, err, errlen) == -1)
		return (-1);
	for (i = 0; i < conf->relay_external.ca_n; i++) {
		sa = (const struct sockaddr *)&conf->relay_external.ca_addr[i];
		if ((sa->sa_family == AF_INET ? ++n4 : ++n6) > 1)
			return (check_err(conf, err, errlen, "relay.external",
			    "more than one %s address (at most one per "
			    "family)", sa->sa_family == AF_INET ? "IPv4" :
			    "IPv6"));
	}
	if (strcmp(conf->store_backend, "redis") == 0 &&
	    conf->redis_host[0] == '\0' && conf->redis_socket[0] == '\0')
		return (check_err(conf, err, errlen, "store.redis.host",
		    "must be set when store.backend is \"redis\" (or "
		    "store.redis.socket)"));
	if (strspn(conf->control_mode, "01234567") !=
	    strlen(conf->control_mode) || strtol(conf->control_mode, NULL,
	    8) > 0777)
		return (check_err(conf, err, errlen, "control.mode",
		    "\"%s\" is not an octal mode from 000 to 0777",
		    conf->control_mode));
	if (conf->redis_user[0] != '\0' && conf->redis_password[0] == '\0')
		return (check_err(conf, err, errlen, "store.redis.user",
		    "needs store.redis.password"));
	return (0);
}

