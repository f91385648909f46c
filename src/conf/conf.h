/*
 * conf.h -- turnd's configuration: a libconfig file read into an
 * immutable struct turnd_conf through one schema table (conf_table.c).
 *
 * The table drives parsing, type and range checks, defaults, and the
 * key list that tests compare with man/turnd.conf.5 and etc/turnd.conf.
 * A loaded struct is never changed; reload builds a new one and swaps.
 * A conf is reference counted (conf_ref(), conf_unref()) so that the one
 * a reload retired is freed when its last holder lets go.
 */

#ifndef CONF_H
#define CONF_H

#include <sys/socket.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define CONF_ERR_LEN	512

/* Key types of the schema table. */
enum conf_type {
	CONF_BOOL,	/* true/false */
	CONF_INT,	/* integer in [min, max] */
	CONF_STR,	/* string, length in [min, max] */
	CONF_ENUM,	/* string, one of a '|'-separated set in ck_enum */
	CONF_ADDR,	/* one "ip:port" (port optional: ck_min is the default
			 * port); "" means none */
	CONF_ADDRS,	/* list of "ip:port"; ck_min is the default port */
	CONF_IP,	/* one bare IP; "" means none */
	CONF_IPS,	/* list of bare IPs */
	CONF_CIDRS,	/* list of CIDRs or bare IPs */
	CONF_STRS,	/* list of non-empty strings */
	CONF_USERS	/* list of groups { user = "..."; password = "..."; } */
};

struct conf_key {
	const char	*ck_name;	/* dotted path: "relay.min_port" */
	enum conf_type	 ck_type;
	long long	 ck_min;	/* CONF_INT range, CONF_STR length, or
					 * default port of CONF_ADDR(S) */
	long long	 ck_max;
	size_t		 ck_off;	/* offsetof(struct turnd_conf, ...) */
	const char	*ck_default;	/* in libconfig syntax: "600", "\"info\"",
					 * "[ \"0.0.0.0:3478\" ]" */
	const char	*ck_enum;	/* CONF_ENUM: "memory|redis" */
	const char	*ck_doc;	/* one line for --help-config and docs */
};

/* A list of socket addresses (CONF_ADDRS, CONF_IPS). */
struct conf_addrs {
	struct sockaddr_storage	*ca_addr;
	unsigned int		 ca_n;
};

struct conf_cidrs {
	struct cidr		*cc_cidr;
	unsigned int		 cc_n;
};

struct conf_strs {
	char			**cs_str;
	unsigned int		  cs_n;
};

struct conf_user {
	char			*cu_user;
	char			*cu_password;
};

struct conf_users {
	struct conf_user	*cu;
	unsigned int		 cu_n;
};

/* An optional single address: ca_set is 0 when the key was "". */
struct conf_addr {
	struct sockaddr_storage	 ca_ss;
	int			 ca_set;
};

struct turnd_conf {
	char			*path;		/* source file, NULL: built in */

	/* top level */
	int			 workers;	/* 0: one per CPU */
	char			*realm;
	char			*software;	/* "": no SOFTWARE attribute */
	int			 software_errors;	/* SOFTWARE in errors */
	char			*user;		/* drop to this user, "": stay */
	char			*group;
	char			*pidfile;	/* "": none */

	/* listen */
	struct conf_addrs	 listen_udp;
	struct conf_addrs	 listen_tcp;
	struct conf_addrs	 listen_tls;
	struct conf_addrs	 listen_dtls;
	struct conf_cidrs	 listen_proxy_from;	/* PROXY header senders */
	int			 listen_proxy_timeout;	/* s */

	/* tls */
	char			*tls_cert;
	char			*tls_key;
	char			*tls_min_version;	/* "1.2" | "1.3" */
	char			*tls_ciphers;		/* "" : OpenSSL default */

	/* stun */
	int			 stun_mapped_address;	/* also MAPPED-ADDRESS */
	int			 stun_rfc5780;
	struct conf_addr	 stun_alt_address;	/* IP of the second
							 * address (port unused) */
	int			 stun_alt_port;

	/* limits */
	int			 lim_connections;	/* TCP/TLS in total */
	int			 lim_connections_per_source;
	int			 lim_idle_timeout;	/* s */
	int			 lim_frame_timeout;	/* s, mid-frame stall */
	int			 lim_dtls_handshakes;	/* under way, in all */
	int			 lim_dtls_handshakes_per_source;

	/* relay */
	struct conf_addrs	 relay_addresses;
	struct conf_addrs	 relay_external;
	int			 relay_min_port;
	int			 relay_max_port;
	struct conf_cidrs	 relay_allow_peers;
	struct conf_cidrs	 relay_deny_peers;
	/* lifetimes in seconds, RFC 8656's by default */
	int			 relay_default_lifetime;
	int			 relay_max_lifetime;
	int			 relay_permission_lifetime;
	int			 relay_channel_lifetime;
	/* 0 in any of these three: no limit (total: the port range) */
	int			 relay_user_quota;	/* allocations/user */
	int			 relay_total_quota;	/* allocations */
	int			 relay_max_bps;		/* bytes/s, per alloc */
	int			 relay_user_max_bps;	/* bytes/s, per user */
	int			 relay_reservation_lifetime;	/* s, EVEN-PORT R */
	int			 relay_rfc5766_channels;	/* 0x4000-0x7FFE */
	/* RFC 6062 TCP allocations */
	int			 relay_tcp;
	int			 relay_tcp_connect_timeout;	/* s */
	int			 relay_tcp_bind_timeout;	/* s, RFC: 30 */
	int			 relay_tcp_buffer;	/* bytes, per direction */
	int			 relay_tcp_connections;	/* per allocation */

	/* auth */
	struct conf_users	 auth_users;
	struct conf_strs	 auth_secrets;
	char			*auth_nonce_secret;	/* "": random */
	int			 auth_nonce_lifetime;	/* s */
	char			*auth_rest_separator;	/* one character */
	int			 auth_unauth_rate;	/* 401+438/s per IP;
							 * 0: no limit */

	/* store */
	char			*store_backend;		/* "memory" | "redis" */
	char			*redis_host;
	int			 redis_port;
	int			 redis_db;
	char			*redis_password;
	char			*redis_socket;		/* "": host and port */
	char			*redis_user;		/* ACL user; "": none */
	int			 redis_connect_timeout;	/* s */
	int			 redis_command_timeout;	/* s */
	int			 store_cache_ttl;	/* s, keys found */
	int			 store_negative_ttl;	/* s, users not found */
	int			 store_traffic_interval; /* s; 0: at the end */
	int			 store_heartbeat;	/* s */

	/* control, metrics */
	char			*control_socket;
	char			*control_owner;		/* "": turnd's user */
	char			*control_group;		/* "": turnd's group */
	char			*control_mode;		/* octal, "0600" */
	struct conf_addr	 metrics_listen;

	/* live upgrade */
	int			 upgrade_timeout;	/* s */
	int			 upgrade_drain_timeout;	/* s; 0: none */

	/* log */
	char			*log_level;
	char			*log_file;
	int			 log_syslog;

	/*
	 * Where each key was set: key_line[i] is the line of conf_keys[i]
	 * in path, 0 if the key kept its default.  Used by conf_check().
	 */
	unsigned int		*key_line;

	/* holders: conf_ref() and conf_unref(), from any thread */
	_Atomic unsigned int	 refs;
};

/*
 * A configuration with every key at its default (never fails).
 */
struct turnd_conf *conf_new_defaults(void);

/*
 * Read path: syntax (libconfig), then every setting of the file against
 * the schema table (unknown keys, wrong types, values out of range), then
 * cross-field checks.  Returns a new conf, or NULL with
 * "path:line: reason" in err.  Keys not in the file keep their defaults.
 * The reason names the key: "path:line: key: reason"; libconfig syntax
 * errors are "path:line: libconfig's message"; a file that cannot be
 * read gives "path: strerror".  @include is refused.
 */
struct turnd_conf *conf_load(const char *path, char *err, size_t errlen);

/* Same, from a string (tests, fuzzing); name is used in messages. */
struct turnd_conf *conf_load_string(const char *text, const char *name,
	    char *err, size_t errlen);

/*
 * Cross-field checks alone (a TLS listener needs a cert and a key,
 * min_port <= max_port, rfc5780 needs alt_address, ...): 0, or -1 with a
 * reason in err naming the key.  conf_load() already calls it; turnd
 * calls it again after overriding settings from the command line.
 */
int	conf_check(const struct turnd_conf *, char *err, size_t errlen);

/*
 * A loaded conf has one reference, its loader's.  conf_ref() takes one
 * more for a holder that must outlive the loader's (a module keeping
 * conf for its lifetime) and returns conf; conf_unref() drops one, and
 * the last frees the conf.  Both are atomic: any thread, no lock.
 * conf_free() is conf_unref() for a conf that is not const to its owner.
 * NULL is a no-op for all three.
 */
const struct turnd_conf *conf_ref(const struct turnd_conf *);
void	conf_unref(const struct turnd_conf *);
void	conf_free(struct turnd_conf *);

/*
 * The string at dotted key of the file at path, read with libconfig
 * alone (no schema): for turnctl, to find the control socket of a
 * configuration that conf_load() refuses.  0, or -1 (syntax, absent).
 */
int	conf_peek_string(const char *path, const char *key, char *out,
	    size_t len);

/*
 * What clients see, behind a 1:1 NAT, for an address of this host of
 * family (AF_INET or AF_INET6) with port: the first relay.external
 * address of that family, with port (host order), in *out.  0; or -1
 * with *out untouched when relay.external has none of that family, so a
 * caller that filled *out with the local address keeps it.
 */
int	conf_relay_external(const struct turnd_conf *, int family,
	    uint16_t port, struct sockaddr_storage *out);

/* conf_diff.c: 1 if key k has the same value in a and b. */
int	conf_key_equal(const struct turnd_conf *a, const struct turnd_conf *b,
	    const struct conf_key *k);
/*
 * Give nc a copy of the value old has for k (nc's own is freed).  old is
 * not touched: other threads may be reading it.
 */
void	conf_key_keep(struct turnd_conf *nc, const struct turnd_conf *old,
	    const struct conf_key *k);

/* The schema table, for docs and tests. */
extern const struct conf_key	conf_keys[];
extern const unsigned int	conf_nkeys;
const char *conf_type_name(enum conf_type);
/* The row of a dotted key name, or NULL. */
const struct conf_key *conf_key_find(const char *);
/*
 * What an unknown name in section prefix ("" at the top) probably meant:
 * a key or section of that section within one or two typos, else the
 * one key or section elsewhere with exactly that name.  The dotted path
 * goes into buf, which is returned; NULL if nothing fits.
 */
const char *conf_key_suggest(const char *prefix, const char *name,
	    char *buf, size_t);

#endif /* CONF_H */
