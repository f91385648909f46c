/*
 * turnctl.h -- what the parts of turnctl share.
 *
 * Every command returns the exit status: CTL_OK, CTL_FAIL (the command
 * ran and failed, or turnd said no) or CTL_USAGE (bad arguments).
 */

#ifndef TURNCTL_H
#define TURNCTL_H

#include <stddef.h>

struct turnd_conf;

#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

struct ctl {
	const struct turnd_conf	*c_conf;	/* NULL: no file could be read */
	const char		*c_conf_path;
	const char		*c_socket;	/* -s, else control.socket */
	int			 c_json;
	int			 c_wait_ms;	/* for the answer; 0: 30 s */
};

/* A command: its name, what it takes, its handler. */
struct ctl_cmd {
	const char	*cc_name;
	const char	*cc_usage;
	int		(*cc_fn)(struct ctl *, int argc, char *argv[]);
};

/*
 * ctl_cmd.c: the entry of table whose name is word or starts with it, if
 * only one does (relayctl's unique prefixes); NULL, after a message on
 * stderr naming what was looked for, when none or several match.
 */
const struct ctl_cmd *ctl_lookup(const struct ctl_cmd *table,
		    const char *word, const char *what);
/* Run argv[0] of table; CTL_USAGE with the list when it is missing. */
int		 ctl_dispatch(struct ctl *, const struct ctl_cmd *table,
		    const char *what, int argc, char *argv[]);

/* ctl_socket.c: ask turnd over the control socket; prints its answer */
int		 ctl_request(struct ctl *, const char *line);
/* "30", "30s", "5m", "1h", "2d" in seconds; -1 if not that. */
long		 ctl_duration(const char *);

/* the commands, each file its group */
int	ctl_status(struct ctl *, int, char *[]);
int	ctl_sessions(struct ctl *, int, char *[]);
int	ctl_session(struct ctl *, int, char *[]);
int	ctl_kill(struct ctl *, int, char *[]);
int	ctl_reload(struct ctl *, int, char *[]);
int	ctl_drain(struct ctl *, int, char *[]);
int	ctl_upgrade(struct ctl *, int, char *[]);
int	ctl_user(struct ctl *, int, char *[]);		/* ctl_store.c */
int	ctl_secret(struct ctl *, int, char *[]);
int	ctl_peer(struct ctl *, int, char *[]);
int	ctl_realm(struct ctl *, int, char *[]);
int	ctl_ice(struct ctl *, int, char *[]);		/* ctl_ice.c */

/*
 * ctl_store.c: the first (sorted) REST secret of the configuration's
 * realm in the Redis store, a new string in *secret; CTL_OK, or CTL_FAIL
 * after a message (memory store, Redis unreachable, no secret).
 */
int	ctl_store_secret(struct ctl *, char **secret);

#endif /* TURNCTL_H */
