/*
 * test_conf.c -- the configuration loader: defaults, good files, every
 * class of error with its file:line, cross-field checks, and the schema
 * table against man/turnd.conf.5 and etc/turnd.conf.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "unit.h"

#define T	"t.conf"

static char	errbuf[CONF_ERR_LEN];

/* Load text named t.conf; NULL with errbuf set on error. */
static struct turnd_conf *
load(const char *text)
{
	errbuf[0] = '\0';
	return (conf_load_string(text, T, errbuf, sizeof(errbuf)));
}

/* text must fail with exactly want. */
#define BAD(text, want) do {						\
	struct turnd_conf *_c = load(text);				\
	CHECK(_c == NULL);						\
	CHECK_EQ_STR(errbuf, want);					\
	conf_free(_c);							\
} while (0)

/* text must fail with a message that starts with want. */
#define BAD_PREFIX(text, want) do {					\
	struct turnd_conf *_c = load(text);				\
	CHECK(_c == NULL);						\
	if (strncmp(errbuf, want, strlen(want)) != 0) {			\
		unit_cur_failed = 1;					\
		printf("# %s:%d: \"%s\" does not start with \"%s\"\n",	\
		    __FILE__, __LINE__, errbuf, want);			\
	}								\
	conf_free(_c);							\
} while (0)

static const char *
fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	return (addr_fmt((const struct sockaddr *)ss, buf, len));
}

static const char *
fmt_ip(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	return (addr_fmt_ip((const struct sockaddr *)ss, buf, len));
}

static const struct conf_key *
key(const char *name)
{
	const struct conf_key	*k = conf_key_find(name);

	if (k == NULL) {
		printf("# no key %s\n", name);
		abort();
	}
	return (k);
}

static unsigned int
line_of(const struct turnd_conf *c, const char *name)
{
	return (c->key_line[key(name) - conf_keys]);
}

/* Is field k the same in a and b? */
static int
field_eq(const struct conf_key *k, const struct turnd_conf *a,
    const struct turnd_conf *b)
{
	const void	*fa = (const char *)a + k->ck_off;
	const void	*fb = (const char *)b + k->ck_off;
	const struct conf_addrs	*aa = fa, *ab = fb;
	const struct conf_cidrs	*ca = fa, *cb = fb;
	const struct conf_strs	*sa = fa, *sb = fb;
	const struct conf_users	*ua = fa, *ub = fb;
	const struct conf_addr	*xa = fa, *xb = fb;
	unsigned int	 i;

	switch (k->ck_type) {
	case CONF_BOOL:
	case CONF_INT:
		return (*(const int *)fa == *(const int *)fb);
	case CONF_STR:
	case CONF_ENUM:
		return (strcmp(*(char *const *)fa, *(char *const *)fb) == 0);
	case CONF_ADDR:
	case CONF_IP:
		return (xa->ca_set == xb->ca_set && (!xa->ca_set ||
		    addr_eq((const struct sockaddr *)&xa->ca_ss,
		    (const struct sockaddr *)&xb->ca_ss)));
	case CONF_ADDRS:
	case CONF_IPS:
		if (aa->ca_n != ab->ca_n)
			return (0);
		for (i = 0; i < aa->ca_n; i++)
			if (!addr_eq((const struct sockaddr *)&aa->ca_addr[i],
			    (const struct sockaddr *)&ab->ca_addr[i]))
				return (0);
		return (1);
	case CONF_CIDRS:
		return (ca->cc_n == cb->cc_n && (ca->cc_n == 0 ||
		    memcmp(ca->cc_cidr, cb->cc_cidr,
		    ca->cc_n * sizeof(*ca->cc_cidr)) == 0));
	case CONF_STRS:
		if (sa->cs_n != sb->cs_n)
			return (0);
		for (i = 0; i < sa->cs_n; i++)
			if (strcmp(sa->cs_str[i], sb->cs_str[i]) != 0)
				return (0);
		return (1);
	case CONF_USERS:
		if (ua->cu_n != ub->cu_n)
			return (0);
		for (i = 0; i < ua->cu_n; i++)
			if (strcmp(ua->cu[i].cu_user, ub->cu[i].cu_user) != 0 ||
			    strcmp(ua->cu[i].cu_password,
			    ub->cu[i].cu_password) != 0)
				return (0);
		return (1);
	}
	return (0);
}

/* ------------------------------------------------------------ tests */

static void
test_defaults(void)
{
	struct turnd_conf	*c = conf_new_defaults();
	char			 b[ADDR_STRLEN];
	unsigned int		 i;

	CHECK(c->path == NULL);
	CHECK_EQ_INT(c->workers, 0);
	CHECK_EQ_STR(c->realm, "turnd.local");
	CHECK_EQ_STR(c->software, "turnd");
	CHECK_EQ_STR(c->user, "");
	CHECK_EQ_STR(c->group, "");
	CHECK_EQ_STR(c->pidfile, "");
	CHECK_EQ_INT(c->listen_udp.ca_n, 2);
	CHECK_EQ_STR(fmt(&c->listen_udp.ca_addr[0], b, sizeof(b)),
	    "0.0.0.0:3478");
	CHECK_EQ_STR(fmt(&c->listen_udp.ca_addr[1], b, sizeof(b)),
	    "[::]:3478");
	CHECK_EQ_INT(c->listen_tcp.ca_n, 2);
	CHECK_EQ_STR(fmt(&c->listen_tcp.ca_addr[1], b, sizeof(b)),
	    "[::]:3478");
	CHECK_EQ_INT(c->listen_tls.ca_n, 2);
	CHECK_EQ_STR(fmt(&c->listen_tls.ca_addr[0], b, sizeof(b)),
	    "0.0.0.0:5349");
	CHECK_EQ_INT(c->listen_dtls.ca_n, 0);
	CHECK(c->listen_dtls.ca_addr == NULL);
	CHECK_EQ_STR(c->tls_cert, "/etc/turnd/cert.pem");
	CHECK_EQ_STR(c->tls_key, "/etc/turnd/key.pem");
	CHECK_EQ_STR(c->tls_min_version, "1.2");
	CHECK_EQ_STR(c->tls_ciphers, "");
	CHECK_EQ_INT(c->stun_mapped_address, 0);
	CHECK_EQ_INT(c->stun_rfc5780, 0);
	CHECK_EQ_INT(c->stun_alt_address.ca_set, 0);
	CHECK_EQ_INT(c->stun_alt_port, 3479);
	CHECK_EQ_INT(c->lim_connections, 10000);
	CHECK_EQ_INT(c->lim_connections_per_source, 64);
	CHECK_EQ_INT(c->lim_idle_timeout, 300);
	CHECK_EQ_INT(c->lim_frame_timeout, 10);
	CHECK_EQ_INT(c->relay_addresses.ca_n, 1);
	CHECK_EQ_STR(fmt_ip(&c->relay_addresses.ca_addr[0], b, sizeof(b)),
	    "0.0.0.0");
	CHECK_EQ_INT(c->relay_external.ca_n, 0);
	CHECK_EQ_INT(c->relay_min_port, 49152);
	CHECK_EQ_INT(c->relay_max_port, 65535);
	CHECK_EQ_INT(c->relay_allow_peers.cc_n, 0);
	CHECK_EQ_INT(c->relay_deny_peers.cc_n, 0);
	CHECK_EQ_INT(c->relay_default_lifetime, 600);
	CHECK_EQ_INT(c->relay_max_lifetime, 3600);
	CHECK_EQ_INT(c->relay_permission_lifetime, 300);
	CHECK_EQ_INT(c->relay_channel_lifetime, 600);
	CHECK_EQ_INT(c->relay_user_quota, 50);
	CHECK_EQ_INT(c->relay_total_quota, 0);
	CHECK_EQ_INT(c->relay_max_bps, 0);
	CHECK_EQ_INT(c->auth_users.cu_n, 0);
	CHECK_EQ_INT(c->auth_secrets.cs_n, 0);
	CHECK_EQ_STR(c->auth_nonce_secret, "");
	CHECK_EQ_INT(c->auth_nonce_lifetime, 600);
	CHECK_EQ_STR(c->auth_rest_separator, ":");
	CHECK_EQ_INT(c->auth_unauth_rate, 10);
	CHECK_EQ_STR(c->store_backend, "memory");
	CHECK_EQ_STR(c->redis_host, "127.0.0.1");
	CHECK_EQ_INT(c->redis_port, 6379);
	CHECK_EQ_INT(c->redis_db, 0);
	CHECK_EQ_STR(c->redis_password, "");
	CHECK_EQ_STR(c->control_socket, "/run/turnd/control.sock");
	CHECK_EQ_INT(c->metrics_listen.ca_set, 1);
	CHECK_EQ_STR(fmt(&c->metrics_listen.ca_ss, b, sizeof(b)),
	    "127.0.0.1:9641");
	CHECK_EQ_STR(c->log_level, "info");
	CHECK_EQ_STR(c->log_file, "");
	CHECK_EQ_INT(c->log_syslog, 0);
	for (i = 0; i < conf_nkeys; i++)
		CHECK_EQ_INT(c->key_line[i], 0);
	CHECK_EQ_INT(conf_check(c, errbuf, sizeof(errbuf)), 0);
	conf_free(c);
}

/* The table is well formed, and an empty file means the defaults. */
static void
test_table(void)
{
	struct turnd_conf	*d = conf_new_defaults(), *e;
	const struct conf_key	*k;
	unsigned int		 i, j;

	CHECK(conf_nkeys >= 40);
	e = load("# nothing but a comment\n");
	CHECK(e != NULL);
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		CHECK(k->ck_name != NULL && k->ck_default != NULL &&
		    k->ck_doc != NULL && *k->ck_doc != '\0');
		CHECK(conf_key_find(k->ck_name) == k);
		CHECK(strcmp(conf_type_name(k->ck_type), "?") != 0);
		CHECK((k->ck_type == CONF_ENUM) == (k->ck_enum != NULL));
		if (k->ck_type == CONF_INT || k->ck_type == CONF_STR)
			CHECK(k->ck_min <= k->ck_max);
		for (j = 0; j < i; j++) {
			CHECK(strcmp(conf_keys[j].ck_name, k->ck_name) != 0);
			CHECK(conf_keys[j].ck_off != k->ck_off);
		}
		if (e != NULL && !field_eq(k, d, e)) {
			unit_cur_failed = 1;
			printf("# %s: empty file differs from default\n",
			    k->ck_name);
		}
	}
	CHECK(conf_key_find("relay") == NULL);
	CHECK(conf_key_find("nope") == NULL);
	CHECK_EQ_STR(conf_type_name(CONF_ADDRS), "address list");
	CHECK_EQ_STR(e->path, T);
	conf_free(d);
	conf_free(e);
}

static void
test_good(void)
{
	struct turnd_conf	*c;
	char			 b[ADDR_STRLEN];

	c = load(
	    "workers = 4;\n"					/* 1 */
	    "realm = \"example.com\";\n"
	    "software = \"\";\n"
	    "user = \"turnd\"; group = \"turnd\";\n"
	    "listen: {\n"					/* 5 */
	    "  udp = [ \"192.0.2.1\", \"[2001:db8::1]:3480\",\n"
	    "          \"192.0.2.2:3478\" ];\n"
	    "  tcp = ( \"10.0.0.1:80\" );\n"
	    "  tls = [ \"::1\", \"127.0.0.1:443\" ];\n"
	    "};\n"						/* 10 */
	    "tls = { cert = \"/c.pem\"; key = \"/k.pem\";\n"
	    "  min_version = \"1.3\"; ciphers = \"HIGH\"; };\n"
	    "stun = { mapped_address = true; };\n"
	    "limits = { connections = 0x100; idle_timeout = 86400; };\n"
	    "relay = {\n"					/* 15 */
	    "  addresses = [ \"10.0.0.1\", \"fd00::1\" ];\n"
	    "  external = [ \"192.0.2.1\", \"2001:db8::1\" ];\n"
	    "  min_port = 1024; max_port = 1024;\n"
	    "  allow_peers = [ \"127.0.0.0/8\", \"::1\" ];\n"
	    "  deny_peers = [ \"10.1.2.3/16\", \"fe80::/10\" ];\n"	/* 20 */
	    "};\n"
	    "auth = {\n"
	    "  users = ( { user = \"alice\"; password = \"secret\"; },\n"
	    "            { password = \"p2\"; user = \"bob\"; } );\n"
	    "  secrets = [ \"s1\", \"s2\" ];\n"		/* 25 */
	    "};\n"
	    "store = { backend = \"redis\";\n"
	    "  redis = { host = \"redis.local\"; port = 6380; db = 2;\n"
	    "    password = \"pw\"; }; };\n"
	    "control = { socket = \"\"; };\n"			/* 30 */
	    "metrics = { listen = \"[::1]\"; };\n"
	    "log = { level = \"debug\"; file = \"/var/log/turnd.log\";\n"
	    "  syslog = true; };\n");
	CHECK(c != NULL);
	if (c == NULL) {
		printf("# %s\n", errbuf);
		return;
	}
	CHECK_EQ_INT(c->workers, 4);
	CHECK_EQ_STR(c->realm, "example.com");
	CHECK_EQ_STR(c->software, "");
	CHECK_EQ_STR(c->user, "turnd");
	CHECK_EQ_STR(c->group, "turnd");
	CHECK_EQ_INT(c->listen_udp.ca_n, 3);
	CHECK_EQ_STR(fmt(&c->listen_udp.ca_addr[0], b, sizeof(b)),
	    "192.0.2.1:3478");
	CHECK_EQ_STR(fmt(&c->listen_udp.ca_addr[1], b, sizeof(b)),
	    "[2001:db8::1]:3480");
	CHECK_EQ_STR(fmt(&c->listen_udp.ca_addr[2], b, sizeof(b)),
	    "192.0.2.2:3478");
	CHECK_EQ_INT(c->listen_tcp.ca_n, 1);
	CHECK_EQ_STR(fmt(&c->listen_tcp.ca_addr[0], b, sizeof(b)),
	    "10.0.0.1:80");
	CHECK_EQ_STR(fmt(&c->listen_tls.ca_addr[0], b, sizeof(b)),
	    "[::1]:5349");
	CHECK_EQ_STR(fmt(&c->listen_tls.ca_addr[1], b, sizeof(b)),
	    "127.0.0.1:443");
	CHECK_EQ_STR(c->tls_cert, "/c.pem");
	CHECK_EQ_STR(c->tls_min_version, "1.3");
	CHECK_EQ_STR(c->tls_ciphers, "HIGH");
	CHECK_EQ_INT(c->stun_mapped_address, 1);
	CHECK_EQ_INT(c->lim_connections, 256);
	CHECK_EQ_INT(c->lim_idle_timeout, 86400);
	CHECK_EQ_INT(c->lim_frame_timeout, 10);
	CHECK_EQ_INT(c->relay_addresses.ca_n, 2);
	CHECK_EQ_STR(fmt_ip(&c->relay_addresses.ca_addr[1], b, sizeof(b)),
	    "fd00::1");
	CHECK_EQ_INT(c->relay_external.ca_n, 2);
	CHECK_EQ_INT(c->relay_min_port, 1024);
	CHECK_EQ_INT(c->relay_max_port, 1024);
	CHECK_EQ_INT(c->relay_allow_peers.cc_n, 2);
	CHECK_EQ_INT(c->relay_allow_peers.cc_cidr[0].c_family, AF_INET);
	CHECK_EQ_INT(c->relay_allow_peers.cc_cidr[0].c_prefix, 8);
	CHECK_EQ_INT(c->relay_allow_peers.cc_cidr[1].c_family, AF_INET6);
	CHECK_EQ_INT(c->relay_allow_peers.cc_cidr[1].c_prefix, 128);
	CHECK_EQ_INT(c->relay_deny_peers.cc_cidr[0].c_prefix, 16);
	/* host bits are masked: 10.1.2.3/16 is 10.1.0.0/16 */
	CHECK_EQ_MEM(c->relay_deny_peers.cc_cidr[0].c_addr,
	    "\x0a\x01\x00\x00", 4);
	CHECK_EQ_INT(c->auth_users.cu_n, 2);
	CHECK_EQ_STR(c->auth_users.cu[0].cu_user, "alice");
	CHECK_EQ_STR(c->auth_users.cu[0].cu_password, "secret");
	CHECK_EQ_STR(c->auth_users.cu[1].cu_user, "bob");
	CHECK_EQ_STR(c->auth_users.cu[1].cu_password, "p2");
	CHECK_EQ_INT(c->auth_secrets.cs_n, 2);
	CHECK_EQ_STR(c->auth_secrets.cs_str[1], "s2");
	CHECK_EQ_STR(c->store_backend, "redis");
	CHECK_EQ_STR(c->redis_host, "redis.local");
	CHECK_EQ_INT(c->redis_port, 6380);
	CHECK_EQ_INT(c->redis_db, 2);
	CHECK_EQ_STR(c->redis_password, "pw");
	CHECK_EQ_STR(c->control_socket, "");
	CHECK_EQ_STR(fmt(&c->metrics_listen.ca_ss, b, sizeof(b)),
	    "[::1]:9641");
	CHECK_EQ_STR(c->log_level, "debug");
	CHECK_EQ_INT(c->log_syslog, 1);
	/* where keys were set */
	CHECK_EQ_INT(line_of(c, "workers"), 1);
	CHECK_EQ_INT(line_of(c, "listen.udp"), 6);
	CHECK_EQ_INT(line_of(c, "relay.max_port"), 18);
	CHECK_EQ_INT(line_of(c, "log.syslog"), 33);
	CHECK_EQ_INT(line_of(c, "stun.alt_port"), 0);
	conf_free(c);

	/* "" turns optional addresses off */
	c = load("metrics = { listen = \"\"; };\n");
	CHECK(c != NULL && c->metrics_listen.ca_set == 0);
	conf_free(c);
	/* later settings of a key replace the default, not add to it */
	c = load("listen = { udp = [ \"127.0.0.1\" ]; tls = [ ]; };\n");
	CHECK(c != NULL && c->listen_udp.ca_n == 1 && c->listen_tls.ca_n == 0 &&
	    c->listen_tcp.ca_n == 2);
	conf_free(c);
}

static void
test_rfc5780_good(void)
{
	struct turnd_conf	*c;
	char			 b[ADDR_STRLEN];

	c = load("listen = { udp = [ \"0.0.0.0\", \"192.0.2.1\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"192.0.2.2\"; };\n");
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_EQ_INT(c->stun_rfc5780, 1);
		CHECK_EQ_INT(c->stun_alt_address.ca_set, 1);
		CHECK_EQ_STR(fmt_ip(&c->stun_alt_address.ca_ss, b, sizeof(b)),
		    "192.0.2.2");
	}
	conf_free(c);
	/* a second listener of the right family is enough */
	c = load("listen = { udp = [ \"[2001:db8::1]:3479\", "
	    "\"[2001:db8::1]:4000\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"2001:db8::2\"; };\n");
	CHECK(c != NULL);
	conf_free(c);
}

/* libconfig's own errors: file:line: message. */
static void
test_bad_syntax(void)
{
	BAD("workers = 1;\nrealm = ;\n", T ":2: syntax error");
	BAD("workers = 1;\n};\n", T ":2: syntax error");
	BAD("listen = {\n  udp = [ ];\n\n", T ":4: syntax error");
	BAD("\n\nworkers = 1;\nworkers = 2;\n",
	    T ":4: duplicate setting name");
	BAD("relay = { addresses = [ \"1.2.3.4\", 5 ]; };\n",
	    T ":1: mismatched element type in array");
	BAD("\n@include \"other.conf\"\n",
	    T ":2: @include: not supported; keep the whole configuration "
	    "in one file");
}

static void
test_bad_keys(void)
{
	BAD("\n\nlisen = { };\n",
	    T ":3: lisen: unknown key (did you mean listen?)");
	BAD("listen = {\n  udpp = [ ];\n};\n",
	    T ":2: listen.udpp: unknown key (did you mean listen.udp?)");
	BAD("relay = { min_prot = 2000; };\n",
	    T ":1: relay.min_prot: unknown key (did you mean relay.min_port?)");
	BAD("Workers = 2;\n",
	    T ":1: Workers: unknown key (did you mean workers?)");
	BAD("min_port = 2000;\n",
	    T ":1: min_port: unknown key (did you mean relay.min_port?)");
	BAD("redis = { port = 1; };\n",
	    T ":1: redis: unknown key (did you mean store.redis?)");
	BAD("store = { redis = { hots = \"x\"; }; };\n",
	    T ":1: store.redis.hots: unknown key "
	    "(did you mean store.redis.host?)");
	BAD("frobnicate = 1;\n", T ":1: frobnicate: unknown key");
	BAD("relay = { x = { y = 1; }; };\n", T ":1: relay.x: unknown key");
	BAD("\nlisten = [ \"0.0.0.0\" ];\n",
	    T ":2: listen: expected a section { ... }, got an array [ ... ]");
	BAD("store = { redis = \"localhost\"; };\n",
	    T ":1: store.redis: expected a section { ... }, got a string");
	BAD("workers = { };\n",
	    T ":1: workers: expected an integer, got a group { ... }");
}

static void
test_bad_scalars(void)
{
	BAD("workers = \"4\";\n",
	    T ":1: workers: expected an integer, got a string");
	BAD("workers = 2.5;\n",
	    T ":1: workers: expected an integer, got a float (2.5)");
	BAD("workers = 4L;\n", T ":1: workers: expected an integer, got a "
	    "64-bit integer (drop the L suffix)");
	BAD("workers = 5000000000L;\n",
	    T ":1: workers: 5000000000 is out of range (0..1024)");
	BAD("workers = true;\n",
	    T ":1: workers: expected an integer, got a boolean");
	BAD("workers = 1025;\n",
	    T ":1: workers: 1025 is out of range (0..1024)");
	BAD("workers = -1;\n", T ":1: workers: -1 is out of range (0..1024)");
	/* libconfig 1.5 would hand these over as 1 and -1 */
	BAD("# big\nlimits = {\n  connections = 4294967297;\n};\n",
	    T ":3: limits.connections: 4294967297 is out of range "
	    "(1..1000000)");
	BAD("workers = 0xFFFFFFFF;\n",
	    T ":1: workers: 0xFFFFFFFF is out of range (0..1024)");
	BAD("workers = 99999999999999999999999999;\n",
	    T ":1: workers: 9999999999999999999... is out of range (0..1024)");
	BAD("relay = {\n\tmin_port = 80;\n};\n",
	    T ":2: relay.min_port: 80 is out of range (1024..65535)");
	BAD("stun = { alt_port = 0; };\n",
	    T ":1: stun.alt_port: 0 is out of range (1..65535)");
	BAD("store = { redis = { port = 65536; }; };\n",
	    T ":1: store.redis.port: 65536 is out of range (1..65535)");
	BAD("stun = { rfc5780 = 1; };\n",
	    T ":1: stun.rfc5780: expected true or false, got an integer");
	BAD("log = { syslog = \"true\"; };\n",
	    T ":1: log.syslog: expected true or false, got a string "
	    "(write it without quotes)");
	BAD("realm = 5;\n", T ":1: realm: expected a string, got an integer");
	BAD("realm = \"\";\n", T ":1: realm: must not be empty");
	BAD("realm = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaa\";\n",
	    T ":1: realm: length 129 is out of range (1..127 bytes)");
	BAD("control = { socket = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
	    T ":1: control.socket: length 129 is out of range (0..107 bytes)");
	BAD("tls = { min_version = \"1.4\"; };\n",
	    T ":1: tls.min_version: \"1.4\" is not one of \"1.2\", \"1.3\"");
	BAD("tls = { min_version = 1.3; };\n",
	    T ":1: tls.min_version: expected one of \"1.2\", \"1.3\" "
	    "(in quotes), got a float");
	BAD("log = { level = \"verbose\"; };\n",
	    T ":1: log.level: \"verbose\" is not one of \"error\", \"warn\", "
	    "\"info\", \"debug\"");
	BAD("store = { backend = \"Redis\"; };\n",
	    T ":1: store.backend: \"Redis\" is not one of \"memory\", "
	    "\"redis\"");
}

static void
test_bad_addresses(void)
{
	BAD("\n\n\n\n\n\nlisten = {\n  udp = [ \"0.0.0.0:99999\" ];\n};\n",
	    T ":8: listen.udp: \"0.0.0.0:99999\": bad port (0..65535)");
	BAD("listen = { tcp = [ \"0.0.0.0:3478\",\n"
	    "  \"localhost:3478\" ]; };\n",
	    T ":2: listen.tcp: \"localhost:3478\": not a numeric IPv4 or "
	    "IPv6 address");
	BAD("listen = { tcp = [ \"[::1\" ]; };\n",
	    T ":1: listen.tcp: \"[::1\": missing ']'");
	BAD("listen = { udp = [ \"\" ]; };\n",
	    T ":1: listen.udp: \"\": bad address");
	BAD("listen = { udp = [ \"1.2.3.4\",\n \"1.2.3.4:3478\" ]; };\n",
	    T ":2: listen.udp: \"1.2.3.4:3478\" is listed twice");
	BAD("listen = { udp = \"1.2.3.4\"; };\n",
	    T ":1: listen.udp: expected a list [ \"ip:port\", ... ], "
	    "got a string");
	BAD("listen = { udp = ( \"1.2.3.4\",\n 3478 ); };\n",
	    T ":2: listen.udp: expected strings in the list, got an integer");
	BAD("metrics = { listen = \"127.0.0.1:http\"; };\n",
	    T ":1: metrics.listen: \"127.0.0.1:http\": bad port (0..65535)");
	BAD("metrics = { listen = 9641; };\n",
	    T ":1: metrics.listen: expected a string (\"ip:port\"), "
	    "got an integer");
	BAD("stun = { alt_address = \"192.0.2.1:3479\"; };\n",
	    T ":1: stun.alt_address: \"192.0.2.1:3479\": expected an IP "
	    "address without a port");
	BAD("stun = { alt_address = \"host\"; };\n",
	    T ":1: stun.alt_address: \"host\": not a numeric IPv4 or IPv6 "
	    "address");
	BAD("relay = { addresses = [ \"10.0.0.1\", \"10.0.0.1\" ]; };\n",
	    T ":1: relay.addresses: \"10.0.0.1\" is listed twice");
	BAD("relay = { external = [ \"[2001:db8::1]\" ]; };\n",
	    T ":1: relay.external: \"[2001:db8::1]\": expected an IP address "
	    "without a port");
	BAD("relay = {\n deny_peers = [ \"10.0.0.0/33\" ];\n};\n",
	    T ":2: relay.deny_peers: \"10.0.0.0/33\": bad prefix length");
	BAD("relay = { allow_peers = [ \"10.0.0.0/\" ]; };\n",
	    T ":1: relay.allow_peers: \"10.0.0.0/\": bad prefix length");
	BAD("relay = { allow_peers = [ \"example.com/8\" ]; };\n",
	    T ":1: relay.allow_peers: \"example.com/8\": not a numeric IPv4 "
	    "or IPv6 address or range");
	/* values in messages are bounded and printable */
	BAD("listen = { udp = [ \"\\x01bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\" ]; };\n",
	    T ":1: listen.udp: \"?bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbbbbbbbbbbbb...\": bad address");
}

static void
test_bad_lists(void)
{
	BAD("auth = {\n  users = ( { user = \"a\"; password = \"x\"; },\n"
	    "    { user = \"b\"; password = \"y\"; },\n"
	    "    { user = \"a\"; password = \"z\"; } );\n};\n",
	    T ":4: auth.users: user \"a\" is listed twice (first at line 2)");
	BAD("auth = { users = ( { user = \"a\";\n pass = \"x\"; } ); };\n",
	    T ":2: auth.users: unknown key \"pass\" in a user entry "
	    "(expected user and password)");
	BAD("auth = { users = ( { user = \"a\"; } ); };\n",
	    T ":1: auth.users: user entry without password");
	BAD("auth = { users = ( { password = \"a\"; } ); };\n",
	    T ":1: auth.users: user entry without user");
	BAD("auth = { users = ( { user = \"a\"; password = \"\"; } ); };\n",
	    T ":1: auth.users: password must not be empty");
	BAD("auth = { users = ( { user = 1; password = \"x\"; } ); };\n",
	    T ":1: auth.users: user: expected a string, got an integer");
	BAD("auth = { users = [ \"alice:secret\" ]; };\n",
	    T ":1: auth.users: expected { user = \"...\"; password = \"...\"; "
	    "} entries, got a string");
	BAD("auth = { users = { user = \"a\"; password = \"b\"; }; };\n",
	    T ":1: auth.users: expected a list ( { user = \"...\"; "
	    "password = \"...\"; }, ... ), got a group { ... }");
	BAD("auth = { secrets = [ \"s1\",\n\"\" ]; };\n",
	    T ":2: auth.secrets: entry must not be empty");
	BAD("auth = { secrets = \"s1\"; };\n",
	    T ":1: auth.secrets: expected a list [ \"...\", ... ], got a string");
}

/* conf_check() through conf_load: file:line of the key named. */
static void
test_bad_check(void)
{
	BAD("listen = {\n  udp = [ ];\n  tcp = [ ];\n  tls = [ ];\n};\n",
	    T ":2: listen: no listeners: listen.udp, listen.tcp, "
	    "listen.tls and listen.dtls are all empty");
	BAD("listen = {\n  tls = [ ];\n  dtls = [ \"127.0.0.1\" ];\n};\n"
	    "tls = { cert = \"\"; };\n",
	    T ":5: tls.cert: must be set when listen.tls or listen.dtls "
	    "is not empty");
	BAD("tls = {\n  cert = \"\";\n};\n",
	    T ":2: tls.cert: must be set when listen.tls or listen.dtls "
	    "is not empty");
	BAD("tls = { key = \"\"; };\n",
	    T ":1: tls.key: must be set when listen.tls or listen.dtls "
	    "is not empty");
	BAD("relay = {\n  min_port = 50000;\n  max_port = 40000;\n};\n",
	    T ":2: relay.min_port: 50000 is greater than relay.max_port "
	    "(40000)");
	BAD("relay = {\n  max_port = 40000;\n};\n",
	    T ":2: relay.max_port: 40000 is less than relay.min_port "
	    "(49152)");
	BAD("relay = { min_port = 65535; max_port = 65534; };\n",
	    T ":1: relay.min_port: 65535 is greater than relay.max_port "
	    "(65534)");
	BAD("\nstun = { rfc5780 = true; };\n",
	    T ":2: stun.rfc5780: needs stun.alt_address");
	BAD("stun = {\n  rfc5780 = true;\n  alt_address = \"192.0.2.2\";\n};\n",
	    T ":2: stun.rfc5780: needs a listen.udp address on a specific "
	    "IPv4 address (not a wildcard) to pair with stun.alt_address "
	    "192.0.2.2");
	BAD("listen = { udp = [ \"192.0.2.1\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"2001:db8::2\"; };\n",
	    T ":2: stun.rfc5780: needs a listen.udp address on a specific "
	    "IPv6 address (not a wildcard) to pair with stun.alt_address "
	    "2001:db8::2");
	BAD("listen = { udp = [ \"192.0.2.1\" ]; };\n"
	    "stun = { rfc5780 = true;\n alt_address = \"192.0.2.1\"; };\n",
	    T ":3: stun.alt_address: 192.0.2.1 is also the listen.udp "
	    "address; it must be a second address");
	BAD("listen = { udp = [ \"192.0.2.1:3479\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"192.0.2.2\"; };\n",
	    T ": stun.alt_port: 3479 is also the listen.udp port; it must be "
	    "a second port");
	BAD("listen = { udp = [ \"192.0.2.1:4000\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"192.0.2.2\";\n"
	    "  alt_port = 4000; };\n",
	    T ":3: stun.alt_port: 4000 is also the listen.udp port; it must be "
	    "a second port");
	BAD("listen = { udp = [ \"0.0.0.0\" ]; };\n"
	    "stun = { rfc5780 = true; alt_address = \"0.0.0.0\"; };\n",
	    T ":2: stun.alt_address: 0.0.0.0: must be a specific address");
	BAD("relay = {\n  external = [ \"192.0.2.1\", \"2001:db8::1\", "
	    "\"192.0.2.2\" ];\n};\n",
	    T ":2: relay.external: more than one IPv4 address (at most one "
	    "per family)");
	BAD("store = {\n  backend = \"redis\";\n  redis = { host = \"\"; };\n"
	    "};\n",
	    T ":3: store.redis.host: must be set when store.backend is "
	    "\"redis\" (or store.redis.socket)");
	BAD("store = {\n  redis = {\n    password = \"\";\n    "
	    "user = \"turnd\";\n  };\n};\n",
	    T ":4: store.redis.user: needs store.redis.password");
}

/* The lifetime, quota, nonce and rate keys: values, ranges, rules. */
static void
test_relay_auth_keys(void)
{
	struct turnd_conf	*c;

	c = load("relay = {\n"
	    "  default_lifetime = 1; max_lifetime = 1;\n"
	    "  permission_lifetime = 86400; channel_lifetime = 2;\n"
	    "  user_quota = 0; total_quota = 10000000;\n"
	    "  max_bps = 2147483647;\n"
	    "};\n"
	    "auth = {\n"
	    "  nonce_secret = \"0123456789abcdef\";\n"
	    "  nonce_lifetime = 30; rest_separator = \"/\";\n"
	    "  unauth_rate = 0;\n"
	    "};\n");
	CHECK(c != NULL);
	if (c == NULL) {
		printf("# %s\n", errbuf);
		return;
	}
	CHECK_EQ_INT(c->relay_default_lifetime, 1);
	CHECK_EQ_INT(c->relay_max_lifetime, 1);
	CHECK_EQ_INT(c->relay_permission_lifetime, 86400);
	CHECK_EQ_INT(c->relay_channel_lifetime, 2);
	CHECK_EQ_INT(c->relay_user_quota, 0);
	CHECK_EQ_INT(c->relay_total_quota, 10000000);
	CHECK_EQ_INT(c->relay_max_bps, 2147483647);
	CHECK_EQ_STR(c->auth_nonce_secret, "0123456789abcdef");
	CHECK_EQ_INT(c->auth_nonce_lifetime, 30);
	CHECK_EQ_STR(c->auth_rest_separator, "/");
	CHECK_EQ_INT(c->auth_unauth_rate, 0);
	CHECK_EQ_INT(line_of(c, "relay.max_bps"), 5);
	CHECK_EQ_INT(line_of(c, "auth.unauth_rate"), 10);
	conf_free(c);
	c = load("auth = { unauth_rate = 1000000; };\n"
	    "relay = { user_quota = 1000000; };\n");
	CHECK(c != NULL && c->auth_unauth_rate == 1000000 &&
	    c->relay_user_quota == 1000000);
	conf_free(c);

	/* ranges */
	BAD("relay = { default_lifetime = 0; };\n",
	    T ":1: relay.default_lifetime: 0 is out of range (1..86400)");
	BAD("relay = { max_lifetime = 86401; };\n",
	    T ":1: relay.max_lifetime: 86401 is out of range (1..86400)");
	BAD("relay = { permission_lifetime = 0; };\n",
	    T ":1: relay.permission_lifetime: 0 is out of range (1..86400)");
	BAD("relay = { channel_lifetime = -1; };\n",
	    T ":1: relay.channel_lifetime: -1 is out of range (1..86400)");
	BAD("relay = { user_quota = 1000001; };\n",
	    T ":1: relay.user_quota: 1000001 is out of range (0..1000000)");
	BAD("relay = { total_quota = -1; };\n",
	    T ":1: relay.total_quota: -1 is out of range (0..10000000)");
	BAD("relay = { max_bps = 2147483648; };\n",
	    T ":1: relay.max_bps: 2147483648 is out of range (0..2147483647)");
	BAD("relay = { max_bps = -1; };\n",
	    T ":1: relay.max_bps: -1 is out of range (0..2147483647)");
	BAD("auth = { nonce_lifetime = 29; };\n",
	    T ":1: auth.nonce_lifetime: 29 is out of range (30..86400)");
	BAD("auth = { nonce_lifetime = 86401; };\n",
	    T ":1: auth.nonce_lifetime: 86401 is out of range (30..86400)");
	BAD("auth = { unauth_rate = -1; };\n",
	    T ":1: auth.unauth_rate: -1 is out of range (0..1000000)");
	BAD("auth = { unauth_rate = 1000001; };\n",
	    T ":1: auth.unauth_rate: 1000001 is out of range (0..1000000)");
	BAD("auth = { rest_separator = \"\"; };\n",
	    T ":1: auth.rest_separator: must not be empty");
	BAD("auth = { rest_separator = \"::\"; };\n",
	    T ":1: auth.rest_separator: length 2 is out of range (1..1 bytes)");
	BAD("auth = { nonce_secret = 42; };\n",
	    T ":1: auth.nonce_secret: expected a string, got an integer");

	/* rules between keys, and of one key */
	BAD("relay = {\n  default_lifetime = 3601;\n};\n",
	    T ":2: relay.default_lifetime: 3601 is greater than "
	    "relay.max_lifetime (3600)");
	BAD("relay = {\n  max_lifetime = 599;\n};\n",
	    T ":2: relay.max_lifetime: 599 is less than "
	    "relay.default_lifetime (600)");
	BAD("relay = { default_lifetime = 30;\n  max_lifetime = 20; };\n",
	    T ":1: relay.default_lifetime: 30 is greater than "
	    "relay.max_lifetime (20)");
	BAD("\nauth = { nonce_secret = \"short\"; };\n",
	    T ":2: auth.nonce_secret: length 5 is too short (at least 16 "
	    "bytes, or \"\" for a random secret)");
	BAD("auth = { nonce_secret = \"0123456789abcde\"; };\n",
	    T ":1: auth.nonce_secret: length 15 is too short (at least 16 "
	    "bytes, or \"\" for a random secret)");
	BAD("auth = { rest_separator = \"7\"; };\n",
	    T ":1: auth.rest_separator: must not be a digit");
}

/* conf_check() on a struct changed after loading (command line). */
static void
test_check_direct(void)
{
	struct turnd_conf	*c = conf_new_defaults();
	char			 small[16];

	free(c->tls_key);
	c->tls_key = strdup("");
	CHECK_EQ_INT(conf_check(c, errbuf, sizeof(errbuf)), -1);
	CHECK_EQ_STR(errbuf,
	    "tls.key: must be set when listen.tls or listen.dtls "
	    "is not empty");
	/* the message is cut, never overrun */
	CHECK_EQ_INT(conf_check(c, small, sizeof(small)), -1);
	CHECK_EQ_STR(small, "tls.key: must b");
	CHECK_EQ_INT(conf_check(c, NULL, 0), -1);
	conf_free(c);

	/* the lifetime rule, with no file to point into */
	c = conf_new_defaults();
	c->relay_default_lifetime = 7200;
	CHECK_EQ_INT(conf_check(c, errbuf, sizeof(errbuf)), -1);
	CHECK_EQ_STR(errbuf, "relay.default_lifetime: 7200 is greater than "
	    "relay.max_lifetime (3600)");
	c->relay_default_lifetime = 3600;
	CHECK_EQ_INT(conf_check(c, errbuf, sizeof(errbuf)), 0);
	conf_free(c);

	c = load("workers = 2;\n");
	CHECK(c != NULL);
	c->relay_min_port = 60000;
	c->relay_max_port = 50000;
	CHECK_EQ_INT(conf_check(c, errbuf, sizeof(errbuf)), -1);
	CHECK_EQ_STR(errbuf, T ": relay.min_port: 60000 is greater than "
	    "relay.max_port (50000)");
	conf_free(c);
}

static void
test_files(void)
{
	struct turnd_conf	*c, *d;
	config_t		 cfg;
	char			*man, *etc, *p, want[128];
	unsigned int		 i;
	size_t			 n;
	int			 found;

	man = unit_slurp("man/turnd.conf.5");
	etc = unit_slurp("etc/turnd.conf");
	CHECK(man != NULL && etc != NULL);
	if (man == NULL || etc == NULL) {
		free(man);
		free(etc);
		return;
	}
	/* every key is documented as ".It Ic key" */
	for (i = 0; i < conf_nkeys; i++) {
		n = (size_t)snprintf(want, sizeof(want), ".It Ic %s",
		    conf_keys[i].ck_name);
		found = 0;
		for (p = man; p != NULL && !found; p = strchr(p, '\n')) {
			if (*p == '\n')
				p++;
			found = strncmp(p, want, n) == 0 &&
			    (p[n] == '\n' || p[n] == ' ');
		}
		if (!found) {
			unit_cur_failed = 1;
			printf("# man/turnd.conf.5 lacks \"%s\"\n", want);
		}
	}
	/* every key is set in etc/turnd.conf, on a line of its own */
	config_init(&cfg);
	CHECK(config_read_string(&cfg, etc) == CONFIG_TRUE);
	for (i = 0; i < conf_nkeys; i++) {
		config_setting_t *s = config_lookup(&cfg, conf_keys[i].ck_name);

		if (s == NULL || config_setting_source_line(s) == 0) {
			unit_cur_failed = 1;
			printf("# etc/turnd.conf lacks %s\n",
			    conf_keys[i].ck_name);
		}
	}
	config_destroy(&cfg);
	/* it loads, and every value in it is the default */
	c = load(etc);
	CHECK(c != NULL);
	if (c == NULL)
		printf("# %s\n", errbuf);
	d = conf_new_defaults();
	for (i = 0; c != NULL && i < conf_nkeys; i++) {
		CHECK(c->key_line[i] != 0);
		if (!field_eq(&conf_keys[i], c, d)) {
			unit_cur_failed = 1;
			printf("# etc/turnd.conf: %s is not the default %s\n",
			    conf_keys[i].ck_name, conf_keys[i].ck_default);
		}
	}
	conf_free(c);
	conf_free(d);
	free(man);
	free(etc);
}

static void
test_load_file(void)
{
	struct turnd_conf	*c;
	const char		*dir = getenv("top_srcdir");
	char			 path[1024];
	FILE			*fp;

	snprintf(path, sizeof(path), "%s/etc/turnd.conf", dir ? dir : "..");
	c = conf_load(path, errbuf, sizeof(errbuf));
	CHECK(c != NULL);
	if (c != NULL)
		CHECK_EQ_STR(c->path, path);
	else
		printf("# %s\n", errbuf);
	conf_free(c);

	CHECK(conf_load("/nonexistent/turnd.conf", errbuf,
	    sizeof(errbuf)) == NULL);
	CHECK_EQ_STR(errbuf, "/nonexistent/turnd.conf: No such file or "
	    "directory");
	CHECK(conf_load("/", errbuf, sizeof(errbuf)) == NULL);
	CHECK_EQ_STR(errbuf, "/: Is a directory");

	/* errors in a file carry the path as given */
	snprintf(path, sizeof(path), "test_conf.tmp.conf");
	if ((fp = fopen(path, "w")) == NULL) {
		CHECK(fp != NULL);
		return;
	}
	fputs("# a comment\n\nrelay = {\n\tmin_port = 80;\n};\n", fp);
	fclose(fp);
	CHECK(conf_load(path, errbuf, sizeof(errbuf)) == NULL);
	CHECK_EQ_STR(errbuf, "test_conf.tmp.conf:4: relay.min_port: 80 is out "
	    "of range (1024..65535)");
	if ((fp = fopen(path, "w")) != NULL) {
		fputs("a = \"x\0y\";\n", fp);
		fwrite("b = \"\0\";\n", 1, 9, fp);
		fclose(fp);
	}
	CHECK(conf_load(path, errbuf, sizeof(errbuf)) == NULL);
	CHECK_EQ_STR(errbuf, "test_conf.tmp.conf: contains a NUL byte");
	remove(path);
}

/* The man page's examples are valid. */
static void
test_examples(void)
{
	struct turnd_conf	*c;

	c = load("realm = \"example.com\";\nuser = \"turnd\";\n"
	    "listen = {\n"
	    "\tudp = [ \"192.0.2.10\", \"[2001:db8::10]\" ];\n"
	    "\ttcp = [ \"192.0.2.10\", \"[2001:db8::10]\" ];\n"
	    "\ttls = [ \"192.0.2.10:443\", \"[2001:db8::10]:443\" ];\n};\n"
	    "tls = {\n\tcert = \"/etc/turnd/fullchain.pem\";\n"
	    "\tkey = \"/etc/turnd/privkey.pem\";\n};\n"
	    "relay = {\n\taddresses = [ \"10.0.0.10\" ];\n"
	    "\texternal = [ \"192.0.2.10\" ];\n"
	    "\tmin_port = 40000;\n\tmax_port = 49999;\n};\n"
	    "auth = {\n\tsecrets = [ \"0c9e4f6b2a5d8e1f\" ];\n};\n"
	    "store = {\n\tbackend = \"redis\";\n"
	    "\tredis = { host = \"10.0.0.2\"; password = \"s3cret\"; };\n};\n");
	CHECK(c != NULL);
	if (c == NULL)
		printf("# %s\n", errbuf);
	conf_free(c);
	c = load("listen = {\n\tudp = [ \"192.0.2.10:3478\" ];\n"
	    "\ttcp = [ ];\n\ttls = [ ];\n};\n"
	    "stun = {\n\trfc5780 = true;\n\talt_address = \"192.0.2.11\";\n"
	    "\talt_port = 3479;\n};\n");
	CHECK(c != NULL);
	if (c == NULL)
		printf("# %s\n", errbuf);
	conf_free(c);
}

static void
test_misc(void)
{
	struct turnd_conf	*c;

	conf_free(NULL);
	/* no error buffer: still fails cleanly */
	CHECK(conf_load_string("workers = -5;", "x", NULL, 0) == NULL);
	/* a NULL name still gives a usable message */
	CHECK(conf_load_string("workers = -5;", NULL, errbuf,
	    sizeof(errbuf)) == NULL);
	CHECK_EQ_STR(errbuf, "(string):1: workers: -5 is out of range "
	    "(0..1024)");
	/* numbers inside strings and comments are not integers */
	c = load("# 99999999999\nrealm = \"99999999999\"; /* 99999999999\n"
	    "*/ workers = 3; // 99999999999\n");
	CHECK(c != NULL && c->workers == 3);
	if (c != NULL)
		CHECK_EQ_INT(line_of(c, "workers"), 3);
	conf_free(c);
	/* floats are not mistaken for big integers */
	BAD("workers = 1.5e10;\n",
	    T ":1: workers: expected an integer, got a float (1.5e+10)");
	BAD("workers = 99999999999.0;\n",
	    T ":1: workers: expected an integer, got a float (1e+11)");
}

/* conf_relay_external(): the external address of a family, given port. */
static void
test_relay_external(void)
{
	struct turnd_conf	*c;
	struct sockaddr_storage	 ss, keep;
	char			 buf[ADDR_STRLEN];

	c = load("relay = { external = [ \"2001:db8::1\", \"192.0.2.1\" ]; "
	    "};\n");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(conf_relay_external(c, AF_INET, 49152, &ss) == 0);
	CHECK_EQ_STR(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "192.0.2.1:49152");
	CHECK(conf_relay_external(c, AF_INET6, 3478, &ss) == 0);
	CHECK_EQ_STR(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "[2001:db8::1]:3478");
	conf_free(c);

	/* none of that family: -1, and *out as it was */
	c = load("relay = { external = [ \"192.0.2.1\" ]; };\n");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(addr_parse("[2001:db8::7]:5000", 0, &ss, NULL) == 0);
	keep = ss;
	CHECK(conf_relay_external(c, AF_INET6, 3478, &ss) == -1);
	CHECK_EQ_MEM(&ss, &keep, sizeof(ss));
	conf_free(c);
	c = load("");
	CHECK(c != NULL && conf_relay_external(c, AF_INET, 1, &ss) == -1);
	conf_free(c);
}

/*
 * conf_key_keep() copies the running value into the new conf and leaves
 * the old one as it was (modules keep reading it); each conf frees its
 * own copy.  conf_ref() keeps a conf alive past its loader's unref.
 */
static void
test_keep_and_refs(void)
{
	struct turnd_conf	*old, *nc;
	const struct turnd_conf	*held;
	unsigned int		 i;

	old = load("realm = \"old.realm\";\nauth = { users = ( { user = "
	    "\"a\"; password = \"p\"; } ); secrets = [ \"s1\" ]; };\n"
	    "relay = { deny_peers = [ \"10.0.0.0/8\" ]; };\n");
	nc = load("realm = \"new.realm\";\n");
	CHECK(old != NULL && nc != NULL);
	if (old == NULL || nc == NULL)
		return;
	for (i = 0; i < conf_nkeys; i++)
		if (!conf_key_equal(old, nc, &conf_keys[i]))
			conf_key_keep(nc, old, &conf_keys[i]);
	for (i = 0; i < conf_nkeys; i++)
		CHECK(conf_key_equal(old, nc, &conf_keys[i]));
	CHECK_EQ_STR(old->realm, "old.realm");
	CHECK_EQ_STR(nc->realm, "old.realm");
	CHECK(nc->realm != old->realm);
	CHECK(nc->auth_users.cu != old->auth_users.cu);
	CHECK(nc->auth_secrets.cs_str != old->auth_secrets.cs_str);
	CHECK(nc->relay_deny_peers.cc_cidr != old->relay_deny_peers.cc_cidr);

	held = conf_ref(old);
	CHECK(held == old);
	conf_free(old);			/* the loader's reference */
	CHECK_EQ_STR(held->realm, "old.realm");	/* ASan: still there */
	CHECK_EQ_STR(held->auth_users.cu[0].cu_user, "a");
	conf_unref(held);		/* the last: freed */
	conf_free(nc);
	CHECK(conf_ref(NULL) == NULL);
	conf_unref(NULL);
}

int
main(void)
{
	RUN(test_defaults);
	RUN(test_table);
	RUN(test_good);
	RUN(test_rfc5780_good);
	RUN(test_bad_syntax);
	RUN(test_bad_keys);
	RUN(test_bad_scalars);
	RUN(test_bad_addresses);
	RUN(test_bad_lists);
	RUN(test_bad_check);
	RUN(test_relay_auth_keys);
	RUN(test_check_direct);
	RUN(test_files);
	RUN(test_load_file);
	RUN(test_examples);
	RUN(test_misc);
	RUN(test_relay_external);
	RUN(test_keep_and_refs);
	return (unit_done());
}
