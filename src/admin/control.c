/*
 * control.c -- the control socket (control.h): accept, read one request
 * line, parse it, hand it to the hook, write its answer, close.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "admin/control.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"

#define CONTROL_WORDS		16

struct control {
	struct event_base	*ct_base;
	struct evconnlistener	*ct_lev;
	struct control_hooks	 ct_hooks;
	char			*ct_path;
};

/*
 * One connection and its request.  It lives until its answer is out, or
 * until the hook has answered when the client left first (cc_gone).
 */
struct ctl_conn {
	struct control		*cc_ctl;
	struct bufferevent	*cc_bev;
	int			 cc_asked;	/* the request line came */
	int			 cc_busy;	/* the hook has not answered */
	int			 cc_gone;	/* closed meanwhile */
	struct control_req	 cc_req;
	struct sbuf		 cc_out;	/* the answer's body */
};

static void
ctl_free(struct ctl_conn *cc)
{
	if (cc->cc_bev != NULL)
		bufferevent_free(cc->cc_bev);
	sbuf_free(&cc->cc_out);
	free(cc->cc_req.cr_user);
	free(cc->cc_req.cr_binary);
	free(cc);
}

/* Close once the answer is out. */
static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*cc = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_free(cc);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*cc = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (cc->cc_busy) {	/* the hook still holds it */
			bufferevent_free(cc->cc_bev);
			cc->cc_bev = NULL;
			cc->cc_gone = 1;
			return;
		}
		ctl_free(cc);
	}
}

/* The status line and the body; the connection closes once it is out. */
static void
ctl_answer(struct ctl_conn *cc, int ok, const char *body)
{
	if (cc->cc_gone) {
		ctl_free(cc);
		return;
	}
	bufferevent_disable(cc->cc_bev, EV_READ);
	bufferevent_setcb(cc->cc_bev, NULL, ctl_write_cb, ctl_event_cb, cc);
	evbuffer_add_printf(bufferevent_get_output(cc->cc_bev), "%s\n%s",
	    ok ? "ok" : "error", body);
}

static void	ctl_error(struct ctl_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
ctl_error(struct ctl_conn *cc, const char *fmt, ...)
{
	struct sbuf	sb;
	char		msg[CONTROL_LINE_MAX + 128];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbuf_init(&sb);
	if (cc->cc_req.cr_json) {
		sbuf_printf(&sb, "{\"error\":");
		sbuf_json_str(&sb, msg);
		sbuf_printf(&sb, "}\n");
	} else
		sbuf_printf(&sb, "%s\n", msg);
	ctl_answer(cc, 0, sbuf_str(&sb));
	sbuf_free(&sb);
}

/* The hook's control_done_cb. */
static void
ctl_done(void *ctx, int ok)
{
	struct ctl_conn	*cc = ctx;

	cc->cc_busy = 0;
	ctl_answer(cc, ok, sbuf_str(&cc->cc_out));
}

/* ---- parsing ---- */

/* The arguments of sessions/session/kill; -1 after an error. */
static int
ctl_filter_args(struct ctl_conn *cc, char **word, int n)
{
	struct control_req	*req = &cc->cc_req;
	char			*v, *end;
	unsigned long		 l;
	int			 i;

	req->cr_limit = CONTROL_LIST_MAX;
	for (i = 1; i < n; i++) {
		if ((v = strchr(word[i], '=')) == NULL) {
			ctl_error(cc, "bad argument \"%s\"", word[i]);
			return (-1);
		}
		*v++ = '\0';
		if (strcmp(word[i], "user") == 0 && *v != '\0') {
			free(req->cr_user);
			req->cr_user = xstrdup(v);
		} else if (strcmp(word[i], "id") == 0) {
			errno = 0;
			req->cr_id = strtoull(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 ||
			    req->cr_id == 0) {
				ctl_error(cc, "bad allocation id \"%s\"", v);
				return (-1);
			}
		} else if (strcmp(word[i], "peer") == 0) {
			if (addr_parse_ip(v, &req->cr_peer) == -1) {
				ctl_error(cc, "bad peer address \"%s\"", v);
				return (-1);
			}
		} else if (strcmp(word[i], "limit") == 0) {
			errno = 0;
			l = strtoul(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 ||
			    l == 0 || l > CONTROL_LIST_MAX) {
				ctl_error(cc, "bad limit \"%s\"", v);
				return (-1);
			}
			req->cr_limit = (unsigned int)l;
		} else {
			ctl_error(cc, "unknown argument \"%s\"", word[i]);
			return (-1);
		}
	}
	if (req->cr_cmd == CONTROL_SESSION && req->cr_id == 0) {
		ctl_error(cc, "session needs id=ID");
		return (-1);
	}
	if (req->cr_cmd == CONTROL_KILL && req->cr_id == 0 &&
	    req->cr_user == NULL) {
		ctl_error(cc, "kill needs id=ID or user=USER");
		return (-1);
	}
	return (0);
}

/* drain's timeout=S; -1 after an error. */
static int
ctl_drain_args(struct ctl_conn *cc, char **word, int n)
{
	char	*end;
	long	 l;
	int	 i;

	for (i = 1; i < n; i++) {
		errno = 0;
		l = strncmp(word[i], "timeout=", 8) == 0 ?
		    strtol(word[i] + 8, &end, 10) : -1;
		if (l < 0 || l > CONTROL_DRAIN_MAX || errno != 0 ||
		    word[i][8] == '\0' || *end != '\0') {
			ctl_error(cc, "bad argument \"%s\" (timeout=0 to %d "
			    "seconds)", word[i], CONTROL_DRAIN_MAX);
			return (-1);
		}
		cc->cc_req.cr_timeout = (int)l;
	}
	return (0);
}

/* The request line into cc->cc_req: 0, or -1 once an error is answered. */
static int
ctl_parse(struct ctl_conn *cc, char *line)
{
	struct control_req	*req = &cc->cc_req;
	char			*word[CONTROL_WORDS], *p, *save = NULL;
	int			 n = 0;

	for (p = strtok_r(line, " \t\r", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r", &save)) {
		if (strcmp(p, "json") == 0) {
			req->cr_json = 1;
			continue;
		}
		if (n == CONTROL_WORDS) {
			ctl_error(cc, "too many words");
			return (-1);
		}
		word[n++] = p;
	}
	if (n == 0) {
		ctl_error(cc, "empty request");
		return (-1);
	}
	if (strcmp(word[0], "status") == 0 && n == 1)
		req->cr_cmd = CONTROL_STATUS;
	else if (strcmp(word[0], "reload") == 0 && n == 1)
		req->cr_cmd = CONTROL_RELOAD;
	else if (strcmp(word[0], "drain") == 0) {
		req->cr_cmd = CONTROL_DRAIN;
		return (ctl_drain_args(cc, word, n));
	} else if (strcmp(word[0], "sessions") == 0) {
		req->cr_cmd = CONTROL_SESSIONS;
		return (ctl_filter_args(cc, word, n));
	} else if (strcmp(word[0], "session") == 0) {
		req->cr_cmd = CONTROL_SESSION;
		return (ctl_filter_args(cc, word, n));
	} else if (strcmp(word[0], "upgrade") == 0 && n <= 2) {
		req->cr_cmd = CONTROL_UPGRADE;
		if (n == 2 && (strncmp(word[1], "binary=/", 8) != 0)) {
			ctl_error(cc, "bad argument \"%s\" (binary=PATH, "
			    "absolute)", word[1]);
			return (-1);
		}
		if (n == 2)
			req->cr_binary = xstrdup(word[1] + 7);
	} else if (strcmp(word[0], "kill") == 0) {
		req->cr_cmd = CONTROL_KILL;
		return (ctl_filter_args(cc, word, n));
	} else {
		ctl_error(cc, "unknown request \"%s\"", word[0]);
		return (-1);
	}
	return (0);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct control	*ct = cc->cc_ctl;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	if (cc->cc_asked)
		return;		/* one request per connection */
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX) {
			log_warnx("control: request longer than %d bytes; "
			    "connection closed", CONTROL_LINE_MAX);
			ctl_free(cc);
		}
		return;
	}
	if (len > CONTROL_LINE_MAX || memchr(line, '\0', len) != NULL) {
		log_warnx("control: bad request line; connection closed");
		free(line);
		ctl_free(cc);
		return;
	}
	cc->cc_asked = 1;
	if (ctl_parse(cc, line) == 0) {
		/* cc may be freed once the hook has answered */
		cc->cc_busy = 1;
		bufferevent_disable(cc->cc_bev, EV_READ);
		ct->ct_hooks.ch_request(ct->ct_hooks.ch_arg, &cc->cc_req,
		    &cc->cc_out, ctl_done, cc);
	}
	free(line);
}

static void
ctl_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control	*ct = arg;
	struct ctl_conn	*cc;
	struct timeval	 tv = { CONTROL_TIMEOUT, 0 };

	(void)lev;
	(void)sa;
	(void)salen;
	cc = xcalloc(1, sizeof(*cc));
	cc->cc_ctl = ct;
	sbuf_init(&cc->cc_out);
	cc->cc_bev = bufferevent_socket_new(ct->ct_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (cc->cc_bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->cc_bev, ctl_read_cb, NULL, ctl_event_cb, cc);
	bufferevent_set_timeouts(cc->cc_bev, &tv, &tv);
	bufferevent_setwatermark(cc->cc_bev, EV_READ, 0,
	    CONTROL_LINE_MAX + 2);
	bufferevent_enable(cc->cc_bev, EV_READ);
}

/* Is someone answering on path?  (a live turnd: don't take its socket) */
static int
control_live(const struct sockaddr_un *sun)
{
	int	fd, live;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return (live);
}

int
control_bind(const struct turnd_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct passwd		*pw;
	struct group		*gr;
	const char		*path = conf->control_socket;
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;
	mode_t			 mode, old;
	const char		*slash;
	char			 dir[sizeof(sun.sun_path)];
	int			 fd;

	if (*path == '\0')
		return (-1);
	mode = (mode_t)strtol(conf->control_mode, NULL, 8);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (*conf->control_owner != '\0' || *conf->user != '\0') {
		pw = getpwnam(*conf->control_owner != '\0' ?
		    conf->control_owner : conf->user);
		if (pw == NULL) {
			snprintf(err, errlen, "control.owner: no user \"%s\"",
			    *conf->control_owner != '\0' ?
			    conf->control_owner : conf->user);
			return (-2);
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (*conf->control_group != '\0' || *conf->group != '\0') {
		gr = getgrnam(*conf->control_group != '\0' ?
		    conf->control_group : conf->group);
		if (gr == NULL) {
			snprintf(err, errlen, "control.group: no group \"%s\"",
			    *conf->control_group != '\0' ?
			    conf->control_group : conf->group);
			return (-2);
		}
		gid = gr->gr_gid;
	}
	/* /run/turnd may not exist yet (no service manager made it) */
	if ((slash = strrchr(path, '/')) != NULL && slash != path &&
	    (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (mkdir(dir, 0755) == 0 && (uid != (uid_t)-1 ||
		    gid != (gid_t)-1))
			(void)chown(dir, uid, gid);
	}
	if (control_live(&sun)) {
		snprintf(err, errlen, "control.socket: %s: another turnd "
		    "answers on it", path);
		return (-2);
	}
	(void)unlink(path);		/* a stale one, left by a crash */
	old = umask(0177);		/* no window with looser modes */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) != -1 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		fd = -1;
	}
	umask(old);
	if (fd == -1 || chmod(path, mode) == -1 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) || listen(fd, 16) == -1) {
		snprintf(err, errlen, "control.socket: %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-2);
	}
	return (fd);
}

struct control *
control_new(const struct turnd_conf *conf, struct event_base *base, int fd,
    const struct control_hooks *hooks)
{
	struct control	*ct;

	ct = xcalloc(1, sizeof(*ct));
	ct->ct_base = base;
	ct->ct_hooks = *hooks;
	ct->ct_path = xstrdup(conf->control_socket);
	ct->ct_lev = evconnlistener_new(base, ctl_accept_cb, ct,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ct->ct_lev == NULL)
		fatalx("%s: cannot listen on the control socket", __func__);
	return (ct);
}

int
control_fd(const struct control *ct)
{
	return (ct != NULL && ct->ct_lev != NULL ?
	    evconnlistener_get_fd(ct->ct_lev) : -1);
}

void
control_handed_over(struct control *ct)
{
	if (ct == NULL || ct->ct_lev == NULL)
		return;
	evconnlistener_free(ct->ct_lev);	/* our copy of the socket */
	ct->ct_lev = NULL;
	*ct->ct_path = '\0';	/* the new process removes it at its end */
}

void
control_free(struct control *ct)
{
	if (ct == NULL)
		return;
	if (ct->ct_lev != NULL)
		evconnlistener_free(ct->ct_lev);
	if (*ct->ct_path != '\0')
		(void)unlink(ct->ct_path);
	free(ct->ct_path);
	free(ct);
}
