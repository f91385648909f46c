/*
 * control.h -- the control socket turnctl talks to (control.socket).
 *
 * One request per connection: a line of at most CONTROL_LINE_MAX bytes,
 * words separated by spaces: the command, then "key=value" arguments and
 * "json" for a JSON answer.  The answer is a status line, "ok" or
 * "error", then the body, and the connection closes.  A line that is too
 * long, or that does not come within CONTROL_TIMEOUT seconds, closes that
 * connection and nothing else.
 *
 * control.c knows the syntax and the framing only: a well-formed request
 * goes, parsed, to the one hook of struct control_hooks, which writes the
 * body and says when it is complete (at once, or later from the main
 * thread's loop).
 */

#ifndef CONTROL_H
#define CONTROL_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sbuf;
struct turnd_conf;
struct control;

#define CONTROL_LINE_MAX	4096
#define CONTROL_TIMEOUT		10	/* s to send the request */
#define CONTROL_LIST_MAX	100000	/* sessions listed at most */
#define CONTROL_DRAIN_MAX	(366 * 86400)	/* longest drain timeout, s */

enum control_cmd {
	CONTROL_STATUS,
	CONTROL_RELOAD,
	CONTROL_DRAIN,
	CONTROL_SESSIONS,	/* list allocations */
	CONTROL_SESSION,	/* one allocation, every detail */
	CONTROL_KILL,		/* end allocations */
	CONTROL_UPGRADE		/* hand over to a new process */
};

/* A parsed request.  Sessions, session and kill: every condition set
 * must hold. */
struct control_req {
	enum control_cmd	 cr_cmd;
	int			 cr_json;	/* answer in JSON */
	int			 cr_timeout;	/* drain: s, 0: none */
	uint64_t		 cr_id;		/* allocation id, 0: any */
	char			*cr_user;	/* NULL: any */
	char			*cr_binary;	/* upgrade: NULL, this one */
	struct sockaddr_storage	 cr_peer;	/* family 0: any; else a
						 * live permission for it */
	unsigned int		 cr_limit;	/* listed at most */
};

/*
 * The hook's completion: ok 1 answers "ok", 0 "error", with the body
 * written to the hook's out.  Called once per request, from the main
 * thread: inside the hook or later from its loop.
 */
typedef void	(*control_done_cb)(void *ctx, int ok);

/* What the control socket asks of the rest of turnd. */
struct control_hooks {
	/*
	 * Answer req: write the body to out, then call done(ctx, ok).
	 * req and out stay valid until done is called, even when the
	 * client has gone meanwhile (its answer is then dropped).
	 */
	void	(*ch_request)(void *arg, const struct control_req *req,
		    struct sbuf *out, control_done_cb done, void *ctx);
	void	 *ch_arg;
};

/*
 * Create control.socket before privileges are dropped (a stale socket is
 * replaced; a live one is refused), owned and moded as control.owner,
 * control.group and control.mode say: the listening socket, -1 when
 * control.socket is "" or -2 with a reason in err.
 */
int		 control_bind(const struct turnd_conf *, char *err, size_t);
/* Serve on fd (from control_bind) on base: the listener takes fd. */
struct control	*control_new(const struct turnd_conf *, struct event_base *,
		    int fd, const struct control_hooks *);
/* Close it and remove the socket file. */
void		 control_free(struct control *);
/* The live upgrade: the listening socket; after the commit, close
 * this process's copy (its connections go on) and leave the socket's
 * file to the new process. */
int		 control_fd(const struct control *);
void		 control_handed_over(struct control *);

#endif /* CONTROL_H */
