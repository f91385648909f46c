/*
 * control.h -- the control socket turnctl talks to (control.socket).
 *
 * One request per connection: a line of at most CONTROL_LINE_MAX bytes,
 * words separated by spaces: the command, then "key=value" arguments and
 * "json" for a JSON answer.  The answer is a status line, "ok" or
 * "error", then the body, and the connection closes.  A line that is too
 * long, or that does not come within CONTROL_TIMEOUT seconds, closes that
 * connection and nothing else.  Requests about allocations are answered
 * by the workers that own them (DESIGN.md section 4).
 */

#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>

struct event_base;
struct sbuf;
struct turnd_conf;
struct worker;
struct control;

#define CONTROL_LINE_MAX	4096
#define CONTROL_TIMEOUT		10	/* s to send the request */

/* What the control socket asks of the rest of turnd (turnd.c). */
struct control_hooks {
	/* status: the body (text, or JSON when json) */
	void	(*ch_status)(void *arg, int json, struct sbuf *out);
	/* reload: 0 done, -1 refused; the answer's body goes to out */
	int	(*ch_reload)(void *arg, int json, struct sbuf *out);
	/* drain with a timeout in seconds (0: none); 0, or -1 */
	int	(*ch_drain)(void *arg, int timeout, int json, struct sbuf *out);
	void	 *ch_arg;
};

/*
 * Create control.socket before privileges are dropped (a stale socket is
 * replaced; a live one is refused), owned and moded as control.owner,
 * control.group and control.mode say: the listening socket, -1 when
 * control.socket is "" or -2 with a reason in err.
 */
int		 control_bind(const struct turnd_conf *, char *err, size_t);
struct control	*control_new(const struct turnd_conf *, struct event_base *,
		    int fd, struct worker **workers, unsigned int nworkers,
		    const struct control_hooks *);
/* Close it and remove the socket file. */
void		 control_free(struct control *);

#endif /* CONTROL_H */
