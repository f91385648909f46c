/*
 * ctl_store.h -- what the turnctl commands on the Redis store share
 * (ctl_store.c): one synchronous hiredis connection per command, made
 * from the store section of turnd.conf; the key names are those of
 * store/keys.h (turnd-redis(7)).
 *
 * User input travels only as an argument of redisCommandArgv(), never
 * inside a formatted command string.
 */

#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct ctl;
struct ctl_cmd;
struct sbuf;

#define CTL_SECRET_MAX	1024	/* a password or secret, bytes */
#define CTL_OPT_SHA256	0x01	/* ctl_store_args(): --sha256 allowed */

/* One store command: its options, arguments and connection. */
struct ctl_store {
	struct ctl	*cs_ctl;
	const char	*cs_usage;	/* "user add U [--realm R]" */
	const char	*cs_what;	/* "users", for the memory store... */
	const char	*cs_keys;	/* ...which has them there instead */
	const char	*cs_realm;	/* --realm, else the configuration's */
	int		 cs_sha256;
	int		 cs_argc;	/* the positional arguments */
	char		**cs_argv;
	redisContext	*cs_c;
	char		 cs_addr[300];	/* host:port or socket, for messages */
};

/* A sorted list of strings, from SCAN or SMEMBERS. */
struct ctl_slist {
	char		**sl_v;
	size_t		  sl_n;
};

/*
 * The options and positional arguments of a store command, argv[0]
 * being its word: --realm R, --json, and the flags allowed; between min
 * and max positional ones.  CTL_OK, or CTL_USAGE after "usage: ...".
 */
int		 ctl_store_args(struct ctl *, struct ctl_store *, int argc,
		    char *argv[], int flags, int min, int max);
/*
 * Connect to the store of the configuration, then AUTH and SELECT as
 * turnd does; refused with the memory backend, naming cs_keys.  CTL_OK,
 * or CTL_FAIL after a message.  ctl_store_close() in any case.
 */
int		 ctl_store_open(struct ctl_store *);
void		 ctl_store_close(struct ctl_store *);
/*
 * A command of the words given, NULL-terminated: the reply, which the
 * caller frees, or NULL after a message (no answer, an error, or not of
 * type want when want is not -1).
 */
redisReply	*ctl_store_cmd(struct ctl_store *, int want, const char *, ...);
/* The integer answer of "word key [arg]", or -1 after a message. */
long long	 ctl_store_int(struct ctl_store *, const char *word,
		    const char *key, const char *arg);
/* SMEMBERS key into sl, sorted; CTL_OK or CTL_FAIL. */
int		 ctl_store_members(struct ctl_store *, const char *key,
		    struct ctl_slist *);
/* The realm key name (KEYS_SECRET ... KEYS_MAX_BPS) of cs_realm, a new
 * string. */
char		*ctl_store_key(const struct ctl_store *, const char *name);
/* PUBLISH 1 on keys_realm_changed() of cs_realm: turnd reads the realm
 * again. */
int		 ctl_store_publish(struct ctl_store *);
/* What a change prints: json with --json, else the text. */
void		 ctl_store_ok(struct ctl *, const char *json, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
/*
 * Run the entry of table named by argv[1] (any unique prefix) with
 * argv + 1; the usage of every entry when it is missing or unknown.
 */
int		 ctl_store_dispatch(struct ctl *, const struct ctl_cmd *table,
		    const char *group, int argc, char *argv[]);

/* 1 if s is 1 to max bytes without control characters, else 0 (said). */
int		 ctl_name_ok(const char *what, const char *s, size_t max);

void		 ctl_slist_add(struct ctl_slist *, const char *, size_t);
void		 ctl_slist_sort(struct ctl_slist *);	/* and dedupe */
void		 ctl_slist_free(struct ctl_slist *);
/* "name":["a","b"] */
void		 ctl_slist_json(struct sbuf *, const char *name,
		    const struct ctl_slist *);

/*
 * A password or secret: typed on /dev/tty without echo when standard
 * input is a terminal (twice if confirm), else the first line of
 * standard input without its newline; empty is refused.  A new string
 * the caller cleanses and frees, or NULL after a message.
 */
char		*ctl_read_secret(const char *what, const char *prompt,
		    int confirm);

#endif /* CTL_STORE_H */
