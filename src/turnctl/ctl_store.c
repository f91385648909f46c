/*
 * ctl_store.c -- the turnctl commands that administer turnd's Redis store
 * directly, so that they work while turnd is down (ctl_store.h): the
 * connection and the helpers they share, the password prompt, and
 * secret; user is in ctl_user.c, peer and realm in ctl_realm.c.
 *
 * Synchronous hiredis: connect, AUTH, SELECT, a few commands, exit.
 * SCAN, never KEYS; no SAVE.  A change turnd must see at once (peer
 * rules, realm options) is followed by PUBLISH
 * turnd/realm/<realm>/changed, which store_main.c subscribes to.
 */

#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "turnctl/ctl_store.h"
#include "turnctl/turnctl.h"

#define CTL_STORE_ARGS	8	/* words of one Redis command */

/* The signal that interrupted a password prompt (see tty_read()). */
static volatile sig_atomic_t tty_signo;

/* ------------------------------------------------------------ helpers */

void
ctl_slist_add(struct ctl_slist *sl, const char *s, size_t len)
{
	sl->sl_v = xreallocarray(sl->sl_v, sl->sl_n + 1, sizeof(*sl->sl_v));
	sl->sl_v[sl->sl_n++] = xstrndup(s, len);
}

static int
slist_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* SCAN may return a key twice */
void
ctl_slist_sort(struct ctl_slist *sl)
{
	size_t	i, n = 0;

	if (sl->sl_n == 0)
		return;
	qsort(sl->sl_v, sl->sl_n, sizeof(*sl->sl_v), slist_cmp);
	for (i = 1; i < sl->sl_n; i++) {
		if (strcmp(sl->sl_v[i], sl->sl_v[n]) == 0)
			free(sl->sl_v[i]);
		else
			sl->sl_v[++n] = sl->sl_v[i];
	}
	sl->sl_n = n + 1;
}

void
ctl_slist_free(struct ctl_slist *sl)
{
	size_t	i;

	for (i = 0; i < sl->sl_n; i++)
		free(sl->sl_v[i]);
	free(sl->sl_v);
	sl->sl_v = NULL;
	sl->sl_n = 0;
}

void
ctl_slist_json(struct sbuf *sb, const char *name,
    const struct ctl_slist *sl)
{
	size_t	i;

	sbuf_printf(sb, "\"%s\":[", name);
	for (i = 0; i < sl->sl_n; i++) {
		if (i > 0)
			sbuf_printf(sb, ",");
		sbuf_json_str(sb, sl->sl_v[i]);
	}
	sbuf_printf(sb, "]");
}

int
ctl_name_ok(const char *what, const char *s, size_t max)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f)
			break;
	if (*s == '\0' || *p != '\0' || strlen(s) > max) {
		fprintf(stderr, "turnctl: bad %s \"%s\" (1 to %zu bytes, no "
		    "control characters)\n", what, s, max);
		return (0);
	}
	return (1);
}

/* -------------------------------------------- passwords and secrets */

static void
tty_catch(int signo)
{
	tty_signo = signo;
}

/*
 * A line typed on /dev/tty after prompt, without echo, into buf (up to
 * len - 1 bytes).  A signal while echo is off restores the terminal
 * first, then is delivered; after a stop (^Z) and fg the prompt comes
 * again (as readpassphrase(3) does).  0, or -1 after a message.
 */
static int
tty_read(int fd, const char *prompt, char *buf, size_t len)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP,
				    SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction	 sa, old[7];
	struct termios		 t, quiet;
	size_t			 n;
	ssize_t			 r;
	unsigned int		 i;
	char			 c;
	int			 saved;

again:
	if (tcgetattr(fd, &t) == -1) {
		fprintf(stderr, "turnctl: /dev/tty: %s\n", strerror(errno));
		return (-1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_catch;	/* no SA_RESTART: read() returns */
	tty_signo = 0;
	for (i = 0; i < 7; i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	quiet = t;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	(void)write(fd, prompt, strlen(prompt));
	for (n = 0;;) {
		r = read(fd, &c, 1);
		if (r == 1 && c != '\n' && c != '\r') {
			if (n + 1 < len)
				buf[n] = c;
			n++;
			continue;
		}
		if (r == -1 && errno == EINTR && tty_signo == 0)
			continue;
		break;
	}
	saved = errno;
	(void)write(fd, "\n", 1);
	(void)tcsetattr(fd, TCSAFLUSH, &t);
	for (i = 0; i < 7; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	buf[n < len ? n : len - 1] = '\0';
	if (tty_signo != 0) {
		OPENSSL_cleanse(buf, len);
		(void)raise(tty_signo);
		if (tty_signo == SIGTSTP || tty_signo == SIGTTIN ||
		    tty_signo == SIGTTOU)
			goto again;	/* continued */
		fprintf(stderr, "turnctl: interrupted\n");
		return (-1);
	}
	if (r == -1) {
		fprintf(stderr, "turnctl: /dev/tty: %s\n", strerror(saved));
		return (-1);
	}
	if (n >= len) {
		fprintf(stderr, "turnctl: longer than %zu bytes\n", len - 1);
		return (-1);
	}
	return (0);
}

char *
ctl_read_secret(const char *what, const char *prompt, int confirm)
{
	char	*line = NULL, *again = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 fd, ok = 0;

	if (isatty(STDIN_FILENO)) {
		if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
			fprintf(stderr, "turnctl: /dev/tty: %s\n",
			    strerror(errno));
			return (NULL);
		}
		line = xmalloc(CTL_SECRET_MAX + 1);
		again = xmalloc(CTL_SECRET_MAX + 1);
		if (tty_read(fd, prompt, line, CTL_SECRET_MAX + 1) == 0) {
			if (!confirm || *line == '\0')
				ok = 1;		/* empty: refused below */
			else if (tty_read(fd, "Again: ", again,
			    CTL_SECRET_MAX + 1) == 0) {
				if (strcmp(line, again) != 0)
					fprintf(stderr, "turnctl: the %ss do "
					    "not match\n", what);
				else
					ok = 1;
			}
		}
		close(fd);
		OPENSSL_cleanse(again, CTL_SECRET_MAX + 1);
		free(again);
	} else {
		ok = 1;
		if ((n = getline(&line, &cap, stdin)) == -1) {
			if (ferror(stdin)) {
				fprintf(stderr, "turnctl: standard input: "
				    "%s\n", strerror(errno));
				ok = 0;
			}
			n = 0;
			if (line == NULL)
				line = xstrdup("");
			*line = '\0';
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if ((size_t)n > CTL_SECRET_MAX) {
			fprintf(stderr, "turnctl: %s longer than %d bytes\n",
			    what, CTL_SECRET_MAX);
			ok = 0;
		}
	}
	if (ok && *line == '\0') {
		fprintf(stderr, "turnctl: empty %s refused\n", what);
		ok = 0;
	}
	if (!ok && line != NULL) {
		OPENSSL_cleanse(line, strlen(line));
		free(line);
		line = NULL;
	}
	return (line);
}

/* ------------------------------------------------------------- Redis */

int
ctl_store_args(struct ctl *ctl, struct ctl_store *cs, int argc,
    char *argv[], int flags, int min, int max)
{
	static const struct option opts[] = {
		{ "realm",	required_argument,	NULL,	'r' },
		{ "sha256",	no_argument,		NULL,	'S' },
		{ "json",	no_argument,		NULL,	'j' },
		{ NULL,		0,			NULL,	0 }
	};
	int	ch;

	cs->cs_ctl = ctl;
	cs->cs_realm = ctl->c_conf != NULL ? ctl->c_conf->realm : NULL;
	optind = 0;		/* glibc: start afresh, permuting */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (!ctl_name_ok("realm", optarg, 127))
				return (CTL_USAGE);
			cs->cs_realm = optarg;
			break;
		case 'S':
			if (!(flags & CTL_OPT_SHA256)) {
				fprintf(stderr, "turnctl: --sha256 is for user "
				    "add and user passwd\n");
				goto usage;
			}
			cs->cs_sha256 = 1;
			break;
		case 'j':
			ctl->c_json = 1;
			break;
		case ':':
			fprintf(stderr, "turnctl: %s needs a value\n",
			    argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "turnctl: unknown option %s\n",
			    argv[optind - 1]);
			goto usage;
		}
	}
	cs->cs_argc = argc - optind;
	cs->cs_argv = argv + optind;
	if (cs->cs_argc >= min && cs->cs_argc <= max)
		return (CTL_OK);
usage:
	fprintf(stderr, "usage: turnctl %s\n", cs->cs_usage);
	return (CTL_USAGE);
}

void
ctl_store_close(struct ctl_store *cs)
{
	if (cs->cs_c != NULL)
		redisFree(cs->cs_c);
	cs->cs_c = NULL;
}

/*
 * A command of argc words; the reply, which the caller frees, or NULL
 * after a message (no answer, an error answer, or not of type want when
 * want is not -1).
 */
static redisReply *
store_cmdv(struct ctl_store *cs, int want, int argc, const char **argv)
{
	redisReply	*r;

	r = redisCommandArgv(cs->cs_c, argc, argv, NULL);
	if (r == NULL) {
		fprintf(stderr, "turnctl: Redis at %s: %s\n", cs->cs_addr,
		    cs->cs_c->errstr[0] != '\0' ? cs->cs_c->errstr :
		    "no answer");
		return (NULL);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "turnctl: Redis at %s: %s: %s\n", cs->cs_addr,
		    argv[0], r->str);
		freeReplyObject(r);
		return (NULL);
	}
	if (want != -1 && r->type != want) {
		fprintf(stderr, "turnctl: Redis at %s: unexpected answer to "
		    "%s%s%s\n", cs->cs_addr, argv[0], argc > 1 ? " " : "",
		    argc > 1 ? argv[1] : "");
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
}

redisReply *
ctl_store_cmd(struct ctl_store *cs, int want, const char *word, ...)
{
	const char	*argv[CTL_STORE_ARGS];
	va_list		 ap;
	int		 argc = 0;

	va_start(ap, word);
	for (; word != NULL && argc < CTL_STORE_ARGS;
	    word = va_arg(ap, const char *))
		argv[argc++] = word;
	va_end(ap);
	return (store_cmdv(cs, want, argc, argv));
}

/* AUTH and SELECT as rconn.c does for turnd. */
int
ctl_store_open(struct ctl_store *cs)
{
	const struct turnd_conf	*conf = cs->cs_ctl->c_conf;
	struct timeval		 tv;
	redisReply		*r;
	char			 db[16];
	int			 v6;

	if (conf == NULL) {
		fprintf(stderr, "turnctl: the store commands need the "
		    "configuration, and %s could not be loaded\n",
		    cs->cs_ctl->c_conf_path);
		return (CTL_FAIL);
	}
	if (strcmp(conf->store_backend, "redis") != 0) {
		fprintf(stderr, "turnctl: store.backend is \"%s\", not "
		    "\"redis\": %s live in the configuration file (%s in "
		    "%s); edit it and run `turnctl reload`\n",
		    conf->store_backend, cs->cs_what, cs->cs_keys,
		    cs->cs_ctl->c_conf_path);
		return (CTL_FAIL);
	}
	(void)signal(SIGPIPE, SIG_IGN);
	tv.tv_sec = conf->redis_connect_timeout;
	tv.tv_usec = 0;
	if (*conf->redis_socket != '\0') {
		snprintf(cs->cs_addr, sizeof(cs->cs_addr), "%s",
		    conf->redis_socket);
		cs->cs_c = redisConnectUnixWithTimeout(conf->redis_socket, tv);
	} else {
		v6 = strchr(conf->redis_host, ':') != NULL;
		snprintf(cs->cs_addr, sizeof(cs->cs_addr), "%s%s%s:%d",
		    v6 ? "[" : "", conf->redis_host, v6 ? "]" : "",
		    conf->redis_port);
		cs->cs_c = redisConnectWithTimeout(conf->redis_host,
		    conf->redis_port, tv);
	}
	if (cs->cs_c == NULL || cs->cs_c->err) {
		fprintf(stderr, "turnctl: cannot reach Redis at %s: %s\n",
		    cs->cs_addr, cs->cs_c != NULL ? cs->cs_c->errstr :
		    "out of memory");
		ctl_store_close(cs);
		return (CTL_FAIL);
	}
	tv.tv_sec = conf->redis_command_timeout;
	(void)redisSetTimeout(cs->cs_c, tv);
	if (*conf->redis_password != '\0') {
		if (*conf->redis_user != '\0')
			r = ctl_store_cmd(cs, -1, "AUTH", conf->redis_user,
			    conf->redis_password, NULL);
		else
			r = ctl_store_cmd(cs, -1, "AUTH",
			    conf->redis_password, NULL);
		if (r == NULL)
			goto fail;
		freeReplyObject(r);
	}
	snprintf(db, sizeof(db), "%d", conf->redis_db);
	if ((r = ctl_store_cmd(cs, -1, "SELECT", db, NULL)) == NULL)
		goto fail;
	freeReplyObject(r);
	return (CTL_OK);
fail:
	ctl_store_close(cs);
	return (CTL_FAIL);
}

char *
ctl_store_key(const struct ctl_store *cs, const char *name)
{
	char	key[KEYS_LEN];

	return (xstrdup(keys_realm(key, sizeof(key), cs->cs_realm, name)));
}

int
ctl_store_publish(struct ctl_store *cs)
{
	redisReply	*r;
	char		 ch[KEYS_LEN];

	keys_realm_changed(ch, sizeof(ch), cs->cs_realm);
	r = ctl_store_cmd(cs, -1, "PUBLISH", ch, "1", NULL);
	if (r == NULL)
		return (CTL_FAIL);
	freeReplyObject(r);
	return (CTL_OK);
}

int
ctl_store_members(struct ctl_store *cs, const char *key,
    struct ctl_slist *sl)
{
	redisReply	*r;
	size_t		 i;

	if ((r = ctl_store_cmd(cs, REDIS_REPLY_ARRAY, "SMEMBERS", key,
	    NULL)) == NULL)
		return (CTL_FAIL);
	for (i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			ctl_slist_add(sl, r->element[i]->str,
			    r->element[i]->len);
	freeReplyObject(r);
	ctl_slist_sort(sl);
	return (CTL_OK);
}

long long
ctl_store_int(struct ctl_store *cs, const char *word, const char *key,
    const char *arg)
{
	redisReply	*r;
	long long	 v;

	if ((r = ctl_store_cmd(cs, REDIS_REPLY_INTEGER, word, key, arg,
	    NULL)) == NULL)
		return (-1);
	v = r->integer;
	freeReplyObject(r);
	return (v);
}

void
ctl_store_ok(struct ctl *ctl, const char *json, const char *fmt, ...)
{
	va_list	ap;

	if (ctl->c_json) {
		printf("%s\n", json);
		return;
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

int
ctl_store_dispatch(struct ctl *ctl, const struct ctl_cmd *table,
    const char *group, int argc, char *argv[])
{
	const struct ctl_cmd	*c;
	char			 what[32];

	snprintf(what, sizeof(what), "%s command", group);
	if (argc >= 2 && (c = ctl_lookup(table, argv[1], what)) != NULL)
		return (c->cc_fn(ctl, argc - 1, argv + 1));
	for (c = table; c->cc_name != NULL; c++)
		fprintf(stderr, "%s turnctl %s %s %s\n", c == table ?
		    "usage:" : "      ", group, c->cc_name, c->cc_usage);
	return (CTL_USAGE);
}

/* ------------------------------------------------------------- secret */

#define SECRETS		.cs_what = "REST secrets", .cs_keys = "auth.secrets"

/* secret add and secret del: SADD or SREM. */
static int
secret_change(struct ctl *ctl, int argc, char *argv[], int add)
{
	struct ctl_store	 cs = { SECRETS };
	char			*key, *secret;
	long long		 n;
	int			 rc;

	cs.cs_usage = add ? "secret add [SECRET | -] [--realm R]" :
	    "secret del [SECRET | -] [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 0, 1)) != CTL_OK)
		return (rc);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	if (cs.cs_argc == 1 && strcmp(cs.cs_argv[0], "-") != 0) {
		if (strlen(cs.cs_argv[0]) > CTL_SECRET_MAX) {
			fprintf(stderr, "turnctl: secret longer than %d "
			    "bytes\n", CTL_SECRET_MAX);
			ctl_store_close(&cs);
			return (CTL_USAGE);
		}
		secret = xstrdup(cs.cs_argv[0]);
	} else if ((secret = ctl_read_secret("secret", "Secret: ",
	    0)) == NULL) {
		ctl_store_close(&cs);
		return (CTL_FAIL);
	}
	key = ctl_store_key(&cs, KEYS_SECRET);
	n = ctl_store_int(&cs, add ? "SADD" : "SREM", key, secret);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	free(key);
	rc = n < 0 ? CTL_FAIL : CTL_OK;
	if (n == 0 && !add) {
		fprintf(stderr, "turnctl: no such secret in realm %s\n",
		    cs.cs_realm);
		rc = CTL_FAIL;
	} else if (n >= 0)
		ctl_store_ok(ctl, "{\"ok\":true}", "secret %s realm %s%s\n",
		    add ? "added to" : "deleted from", cs.cs_realm,
		    add && n == 0 ? " (it was there already)" : !add ?
		    " (REST credentials made with it stop within "
		    "store.cache_ttl)" : "");
	ctl_store_close(&cs);
	return (rc);
}

static int
secret_add(struct ctl *ctl, int argc, char *argv[])
{
	return (secret_change(ctl, argc, argv, 1));
}

static int
secret_del(struct ctl *ctl, int argc, char *argv[])
{
	return (secret_change(ctl, argc, argv, 0));
}

static int
secret_list(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { SECRETS };
	struct ctl_slist	 sl = { NULL, 0 };
	struct sbuf		 sb;
	char			*key;
	size_t			 i;
	int			 rc;

	cs.cs_usage = "secret list [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 0, 0)) != CTL_OK)
		return (rc);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	key = ctl_store_key(&cs, KEYS_SECRET);
	if ((rc = ctl_store_members(&cs, key, &sl)) == CTL_OK) {
		sbuf_init(&sb);
		if (ctl->c_json) {
			sbuf_printf(&sb, "{");
			ctl_slist_json(&sb, "secrets", &sl);
			sbuf_printf(&sb, "}\n");
		} else
			for (i = 0; i < sl.sl_n; i++)
				sbuf_printf(&sb, "%s\n", sl.sl_v[i]);
		fputs(sbuf_str(&sb), stdout);
		sbuf_free(&sb);
	}
	ctl_slist_free(&sl);
	free(key);
	ctl_store_close(&cs);
	return (rc);
}

static const struct ctl_cmd secret_cmds[] = {
	{ "add",	"[SECRET | -] [--realm R]",	secret_add },
	{ "del",	"[SECRET | -] [--realm R]",	secret_del },
	{ "list",	"[--realm R]",			secret_list },
	{ NULL,		NULL,				NULL }
};

int
ctl_secret(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_store_dispatch(ctl, secret_cmds, "secret", argc, argv));
}

int
ctl_store_secret(struct ctl *ctl, char **secret)
{
	struct ctl_store	 cs = { SECRETS };
	struct ctl_slist	 sl = { NULL, 0 };
	char			*key;
	int			 rc;

	*secret = NULL;
	cs.cs_ctl = ctl;
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	cs.cs_realm = ctl->c_conf->realm;
	key = ctl_store_key(&cs, KEYS_SECRET);
	if ((rc = ctl_store_members(&cs, key, &sl)) == CTL_OK) {
		if (sl.sl_n == 0) {
			fprintf(stderr, "turnctl: no REST secret in %s "
			    "(add one with `turnctl secret add`)\n", key);
			rc = CTL_FAIL;
		} else
			*secret = xstrdup(sl.sl_v[0]);
	}
	ctl_slist_free(&sl);
	free(key);
	ctl_store_close(&cs);
	return (rc);
}

