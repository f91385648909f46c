/*
 * ctl_ice.c -- turnctl ice: a ready-to-paste iceServers array (W3C
 * WebRTC's RTCIceServer objects) for the listeners of the configuration,
 * with an ephemeral TURN REST API credential (draft-uberti-behave-turn-
 * rest: username "expiry<sep>user", credential base64(HMAC-SHA1(secret,
 * username))).
 */

#include <sys/socket.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/addr.h"
#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/auth.h"
#include "turnctl/turnctl.h"

#define ICE_TTL_DEFAULT	3600	/* s */

/* The URLs so far, as JSON strings. */
struct ice {
	struct ctl	*ic_ctl;
	struct sbuf	 ic_urls;
	unsigned int	 ic_n;
	char		 ic_ext[ADDR_STRLEN];	/* relay.external, or "" */
};

static void
ice_add(struct ice *ic, const char *url)
{
	if (ic->ic_n++ > 0)
		sbuf_printf(&ic->ic_urls, ",");
	if (!ic->ic_ctl->c_json)
		sbuf_printf(&ic->ic_urls, "\n      ");
	sbuf_json_str(&ic->ic_urls, url);
}

/*
 * The host clients reach listener ss by: relay.external when set, else
 * the listener's address (IPv6 in brackets).  -1 after a message for a
 * wildcard listener without relay.external.
 */
static int
ice_host(struct ice *ic, const char *key, const struct sockaddr_storage *ss,
    char *buf, size_t len)
{
	char	ip[ADDR_STRLEN];

	if (ic->ic_ext[0] != '\0') {
		snprintf(buf, len, "%s", ic->ic_ext);
		return (0);
	}
	if (addr_is_any((const struct sockaddr *)ss)) {
		fprintf(stderr, "turnctl: %s %s is a wildcard address, which "
		    "clients cannot be sent to: set relay.external in %s to "
		    "the address they reach this server by\n", key,
		    addr_fmt((const struct sockaddr *)ss, ip, sizeof(ip)),
		    ic->ic_ctl->c_conf_path);
		return (-1);
	}
	addr_fmt_ip((const struct sockaddr *)ss, ip, sizeof(ip));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]" : "%s", ip);
	return (0);
}

/*
 * One URL per port of the listeners of key: scheme:HOST:PORT followed by
 * suffix; with stun, also the stun: URL of the first one.  0 or -1.
 */
static int
ice_listeners(struct ice *ic, const char *key, const struct conf_addrs *ca,
    const char *scheme, const char *suffix, int stun)
{
	char		host[ADDR_STRLEN + 2], url[2 * ADDR_STRLEN + 64];
	unsigned int	i, j;
	uint16_t	port;

	for (i = 0; i < ca->ca_n; i++) {
		port = addr_port((const struct sockaddr *)&ca->ca_addr[i]);
		for (j = 0; j < i; j++)
			if (addr_port((const struct sockaddr *)
			    &ca->ca_addr[j]) == port)
				break;
		if (j < i)
			continue;	/* that port has its URL */
		if (ice_host(ic, key, &ca->ca_addr[i], host,
		    sizeof(host)) == -1)
			return (-1);
		if (stun && i == 0) {
			snprintf(url, sizeof(url), "stun:%s:%u", host, port);
			ice_add(ic, url);
		}
		snprintf(url, sizeof(url), "%s:%s:%u%s", scheme, host, port,
		    suffix);
		ice_add(ic, url);
	}
	return (0);
}

/* relay.external's IPv4 address, else its IPv6 one in brackets, or "". */
static void
ice_external(const struct turnd_conf *conf, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	char			ip[ADDR_STRLEN];

	buf[0] = '\0';
	if (conf_relay_external(conf, AF_INET, 0, &ss) == 0 ||
	    conf_relay_external(conf, AF_INET6, 0, &ss) == 0) {
		addr_fmt_ip((const struct sockaddr *)&ss, ip, sizeof(ip));
		snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]" : "%s",
		    ip);
	}
}

static int
ice_usage(void)
{
	fprintf(stderr, "usage: turnctl ice --user U [--ttl T] "
	    "[--secret-from-store] (T: seconds, or 30m, 1h, 1d)\n");
	return (CTL_USAGE);
}

/* What the command line of turnctl ice asks for. */
struct ice_args {
	const char	*ia_user;
	long		 ia_ttl;	/* s */
	int		 ia_from_store;	/* --secret-from-store */
};

/*
 * The options of turnctl ice into *ia: --user (1 byte and more, no
 * control characters, short enough for the expiry and separator in
 * front of it to fit a STUN USERNAME), --ttl, --secret-from-store,
 * --json.  CTL_OK, or CTL_USAGE after a message.
 */
static int
ice_args(struct ctl *ctl, int argc, char *argv[], struct ice_args *ia)
{
	static const struct option opts[] = {
		{ "user",		required_argument,	NULL,	'u' },
		{ "ttl",		required_argument,	NULL,	't' },
		{ "secret-from-store",	no_argument,		NULL,	's' },
		{ "json",		no_argument,		NULL,	'j' },
		{ NULL,			0,			NULL,	0 }
	};
	const char	*p;
	int		 ch;

	memset(ia, 0, sizeof(*ia));
	ia->ia_ttl = ICE_TTL_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			ia->ia_user = optarg;
			break;
		case 't':
			if ((ia->ia_ttl = ctl_duration(optarg)) < 1) {
				fprintf(stderr, "turnctl: --ttl: \"%s\" is not "
				    "a duration of at least 1 s\n", optarg);
				return (ice_usage());
			}
			break;
		case 's':
			ia->ia_from_store = 1;
			break;
		case 'j':
			ctl->c_json = 1;
			break;
		case ':':
			fprintf(stderr, "turnctl: %s needs a value\n",
			    argv[optind - 1]);
			return (ice_usage());
		default:
			fprintf(stderr, "turnctl: unknown option %s\n",
			    argv[optind - 1]);
			return (ice_usage());
		}
	}
	if (optind != argc || ia->ia_user == NULL)
		return (ice_usage());
	for (p = ia->ia_user; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			break;
	if (*ia->ia_user == '\0' || *p != '\0' || strlen(ia->ia_user) >
	    STUN_USERNAME_MAX - 24) {
		fprintf(stderr, "turnctl: bad user \"%s\"\n", ia->ia_user);
		return (CTL_USAGE);
	}
	return (CTL_OK);
}

/*
 * The REST secret to sign with: the first of the Redis store with
 * from_store, else the first of auth.secrets.  A new string in *secret
 * the caller cleanses and frees; CTL_OK, or CTL_FAIL after a message.
 */
static int
ice_secret(struct ctl *ctl, int from_store, char **secret)
{
	const struct turnd_conf	*conf = ctl->c_conf;

	*secret = NULL;
	if (from_store)
		return (ctl_store_secret(ctl, secret));
	if (conf->auth_secrets.cs_n > 0) {
		*secret = xstrdup(conf->auth_secrets.cs_str[0]);
		return (CTL_OK);
	}
	fprintf(stderr, "turnctl: no REST secret: auth.secrets is "
	    "empty in %s; add one there (and run `turnctl reload`), "
	    "or use --secret-from-store with the Redis store\n",
	    ctl->c_conf_path);
	return (CTL_FAIL);
}

/* The iceServers array of the URLs in ic, one object, on stdout. */
static void
ice_print(const struct ice *ic, const char *username, const char *cred)
{
	struct sbuf	out;
	int		json = ic->ic_ctl->c_json;

	sbuf_init(&out);
	if (json)
		sbuf_printf(&out, "[{\"urls\":[%s],\"username\":",
		    sbuf_str(&ic->ic_urls));
	else
		sbuf_printf(&out, "[\n  {\n    \"urls\": [%s\n    ],\n"
		    "    \"username\": ", sbuf_str(&ic->ic_urls));
	sbuf_json_str(&out, username);
	sbuf_printf(&out, json ? ",\"credential\":" :
	    ",\n    \"credential\": ");
	sbuf_json_str(&out, cred);
	sbuf_printf(&out, json ? "}]\n" : "\n  }\n]\n");
	fputs(sbuf_str(&out), stdout);
	sbuf_free(&out);
}

int
ctl_ice(struct ctl *ctl, int argc, char *argv[])
{
	const struct turnd_conf	*conf = ctl->c_conf;
	struct ice_args		 ia;
	struct ice		 ic;
	char			*secret = NULL, *username;
	char			 cred[64];
	int			 rc;

	if ((rc = ice_args(ctl, argc, argv, &ia)) != CTL_OK)
		return (rc);
	if (conf == NULL) {
		fprintf(stderr, "turnctl: ice needs the configuration, and %s "
		    "could not be loaded\n", ctl->c_conf_path);
		return (CTL_FAIL);
	}

	rc = CTL_FAIL;
	memset(&ic, 0, sizeof(ic));
	ic.ic_ctl = ctl;
	sbuf_init(&ic.ic_urls);
	ice_external(conf, ic.ic_ext, sizeof(ic.ic_ext));
	if (ice_listeners(&ic, "listen.udp", &conf->listen_udp, "turn",
	    "?transport=udp", 1) == -1 ||
	    ice_listeners(&ic, "listen.tcp", &conf->listen_tcp, "turn",
	    "?transport=tcp", 0) == -1 ||
	    ice_listeners(&ic, "listen.tls", &conf->listen_tls, "turns",
	    "?transport=tcp", 0) == -1)
		goto out;
	if (ic.ic_n == 0) {
		fprintf(stderr, "turnctl: no UDP, TCP or TLS listener in %s\n",
		    ctl->c_conf_path);
		goto out;
	}
	if (ice_secret(ctl, ia.ia_from_store, &secret) != CTL_OK)
		goto out;

	username = xasprintf("%lld%s%s", (long long)time(NULL) + ia.ia_ttl,
	    conf->auth_rest_separator, ia.ia_user);
	auth_rest_password(secret, username, cred);
	ice_print(&ic, username, cred);
	OPENSSL_cleanse(cred, sizeof(cred));
	free(username);
	rc = CTL_OK;
out:
	if (secret != NULL) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	sbuf_free(&ic.ic_urls);
	return (rc);
}
