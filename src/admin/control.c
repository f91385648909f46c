/*
 * control.c -- the control socket (control.h): accept, read one request
 * line, answer it on the main thread or through the workers, close.
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
#include "net/net.h"
#include "turn/server.h"

#define CONTROL_WORDS		16
#define CONTROL_LIST_MAX	100000	/* sessions listed at most */
#define CONTROL_DRAIN_MAX	(366 * 86400)	/* longest drain timeout, s */

struct control {
	const struct turnd_conf	*ct_conf;
	struct event_base	*ct_base;
	struct evconnlistener	*ct_lev;
	struct worker		**ct_workers;
	unsigned int		 ct_nworkers;
	struct control_hooks	 ct_hooks;
	char			*ct_path;
};

/* One connection, and the request it carries to the workers. */
struct ctl_conn {
	struct control		*cc_ctl;
	struct bufferevent	*cc_bev;
	int			 cc_busy;	/* the workers are at it */
	int			 cc_gone;	/* closed meanwhile */
	/* the request */
	char			*cc_cmd;
	int			 cc_json;
	struct server_filter	 cc_filter;
	char			*cc_user;
	unsigned int		 cc_limit;
	/* per worker answers, then the total */
	unsigned int		 cc_pending;
	struct sbuf		*cc_part;
	unsigned int		*cc_count;
};

static void
ctl_free(struct ctl_conn *cc)
{
	unsigned int	i;

	if (cc->cc_bev != NULL)
		bufferevent_free(cc->cc_bev);
	if (cc->cc_part != NULL)
		for (i = 0; i < cc->cc_ctl->ct_nworkers; i++)
			sbuf_free(&cc->cc_part[i]);
	free(cc->cc_part);
	free(cc->cc_count);
	free(cc->cc_cmd);
	free(cc->cc_user);
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
		if (cc->cc_busy) {	/* the workers still hold it */
			bufferevent_free(cc->cc_bev);
			cc->cc_bev = NULL;
			cc->cc_gone = 1;
			return;
		}
		ctl_free(cc);
	}
}

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
	if (cc->cc_json) {
		sbuf_printf(&sb, "{\"error\":");
		sbuf_json_str(&sb, msg);
		sbuf_printf(&sb, "}\n");
	} else
		sbuf_printf(&sb, "%s\n", msg);
	ctl_answer(cc, 0, sbuf_str(&sb));
	sbuf_free(&sb);
}

/* ---- sessions, session, kill: every worker, then the main thread ---- */

static void ctl_worker_done(evutil_socket_t, short, void *);

static void
ctl_in_worker(struct worker *w, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct server	*sv = &w->w_srv;

	if (strcmp(cc->cc_cmd, "kill") == 0)
		cc->cc_count[w->w_id] = server_kill(sv, &cc->cc_filter);
	else
		cc->cc_count[w->w_id] = server_sessions(sv, &cc->cc_filter,
		    cc->cc_limit, &cc->cc_part[w->w_id]);
	if (event_base_once(cc->cc_ctl->ct_base, -1, EV_TIMEOUT,
	    ctl_worker_done, cc, NULL) == -1)
		fatalx("%s: cannot reach the main thread", __func__);
}

/* Every worker answered: put the parts together. */
static void
ctl_finish(struct ctl_conn *cc)
{
	struct control	*ct = cc->cc_ctl;
	struct sbuf	 sb;
	unsigned int	 i, n = 0, listed = 0;

	for (i = 0; i < ct->ct_nworkers; i++)
		n += cc->cc_count[i];
	sbuf_init(&sb);
	if (strcmp(cc->cc_cmd, "kill") == 0) {
		if (cc->cc_json)
			sbuf_printf(&sb, "{\"killed\":%u}\n", n);
		else
			sbuf_printf(&sb, "killed %u allocation%s\n", n,
			    n == 1 ? "" : "s");
		ctl_answer(cc, 1, sbuf_str(&sb));
	} else if (strcmp(cc->cc_cmd, "session") == 0 && n == 0) {
		ctl_error(cc, "no allocation %s", cc->cc_user != NULL ?
		    cc->cc_user : "");
	} else {
		if (cc->cc_json)
			sbuf_printf(&sb, strcmp(cc->cc_cmd, "session") == 0 ?
			    "" : "{\"sessions\":[");
		else if (strcmp(cc->cc_cmd, "sessions") == 0)
			sbuf_printf(&sb, "%-20s %-16s %-3s %-22s %-22s %6s %6s "
			    "%3s %3s %s\n", "ID", "USER", "TR", "CLIENT",
			    "RELAYED", "AGE", "LEFT", "PRM", "CHN",
			    "PKTS OUT/IN");
		for (i = 0; i < ct->ct_nworkers; i++) {
			if (cc->cc_count[i] == 0 || listed >= cc->cc_limit)
				continue;
			if (cc->cc_json && listed > 0)
				sbuf_printf(&sb, ",");
			sbuf_printf(&sb, "%s", sbuf_str(&cc->cc_part[i]));
			listed += cc->cc_count[i];
		}
		if (cc->cc_json)
			sbuf_printf(&sb, strcmp(cc->cc_cmd, "session") == 0 ?
			    "\n" : "]}\n");
		ctl_answer(cc, 1, sbuf_str(&sb));
	}
	sbuf_free(&sb);
}

static void
ctl_worker_done(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;

	(void)fd;
	(void)what;
	if (--cc->cc_pending > 0)
		return;
	cc->cc_busy = 0;
	ctl_finish(cc);
}

static void
ctl_to_workers(struct ctl_conn *cc)
{
	struct control	*ct = cc->cc_ctl;
	unsigned int	 i;

	cc->cc_part = xcalloc(ct->ct_nworkers, sizeof(*cc->cc_part));
	cc->cc_count = xcalloc(ct->ct_nworkers, sizeof(*cc->cc_count));
	cc->cc_pending = ct->ct_nworkers;
	cc->cc_busy = 1;
	bufferevent_disable(cc->cc_bev, EV_READ);
	for (i = 0; i < ct->ct_nworkers; i++)
		if (worker_run(ct->ct_workers[i], ctl_in_worker, cc) == -1)
			fatalx("%s: cannot reach worker %u", __func__, i);
}

/* ---- parsing ---- */

/* The arguments of sessions/session/kill into cc; -1 after an error. */
static int
ctl_args(struct ctl_conn *cc, char **word, int n)
{
	char		*v, *end;
	unsigned long	 l;
	int		 i;

	cc->cc_limit = CONTROL_LIST_MAX;
	for (i = 1; i < n; i++) {
		if ((v = strchr(word[i], '=')) == NULL) {
			ctl_error(cc, "bad argument \"%s\"", word[i]);
			return (-1);
		}
		*v++ = '\0';
		if (strcmp(word[i], "user") == 0 && *v != '\0') {
			free(cc->cc_user);
			cc->cc_user = xstrdup(v);
			cc->cc_filter.sf_user = cc->cc_user;
		} else if (strcmp(word[i], "id") == 0) {
			errno = 0;
			cc->cc_filter.sf_id = strtoull(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 ||
			    cc->cc_filter.sf_id == 0) {
				ctl_error(cc, "bad allocation id \"%s\"", v);
				return (-1);
			}
		} else if (strcmp(word[i], "peer") == 0) {
			if (addr_parse_ip(v, &cc->cc_filter.sf_peer) == -1) {
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
			cc->cc_limit = (unsigned int)l;
		} else {
			ctl_error(cc, "unknown argument \"%s\"", word[i]);
			return (-1);
		}
	}
	return (0);
}

static void
ctl_request(struct ctl_conn *cc, char *line)
{
	struct control	*ct = cc->cc_ctl;
	struct sbuf	 sb;
	char		*word[CONTROL_WORDS], *p, *save = NULL, *end;
	long		 l;
	int		 n = 0, i, rc, timeout = 0;

	for (p = strtok_r(line, " \t\r", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r", &save)) {
		if (strcmp(p, "json") == 0) {
			cc->cc_json = 1;
			continue;
		}
		if (n == CONTROL_WORDS) {
			ctl_error(cc, "too many words");
			return;
		}
		word[n++] = p;
	}
	if (n == 0) {
		ctl_error(cc, "empty request");
		return;
	}
	cc->cc_cmd = xstrdup(word[0]);
	cc->cc_filter.sf_json = cc->cc_json;
	sbuf_init(&sb);
	if (strcmp(word[0], "status") == 0 && n == 1) {
		ct->ct_hooks.ch_status(ct->ct_hooks.ch_arg, cc->cc_json, &sb);
		ctl_answer(cc, 1, sbuf_str(&sb));
	} else if (strcmp(word[0], "reload") == 0 && n == 1) {
		rc = ct->ct_hooks.ch_reload(ct->ct_hooks.ch_arg, cc->cc_json,
		    &sb);
		ctl_answer(cc, rc == 0, sbuf_str(&sb));
	} else if (strcmp(word[0], "drain") == 0) {
		for (i = 1; i < n; i++) {
			errno = 0;
			l = strncmp(word[i], "timeout=", 8) == 0 ?
			    strtol(word[i] + 8, &end, 10) : -1;
			if (l < 0 || l > CONTROL_DRAIN_MAX || errno != 0 ||
			    word[i][8] == '\0' || *end != '\0') {
				ctl_error(cc, "bad argument \"%s\" (timeout=0 "
				    "to %d seconds)", word[i],
				    CONTROL_DRAIN_MAX);
				sbuf_free(&sb);
				return;
			}
			timeout = (int)l;
		}
		rc = ct->ct_hooks.ch_drain(ct->ct_hooks.ch_arg, timeout,
		    cc->cc_json, &sb);
		ctl_answer(cc, rc == 0, sbuf_str(&sb));
	} else if (strcmp(word[0], "sessions") == 0 ||
	    strcmp(word[0], "kill") == 0 || strcmp(word[0], "session") == 0) {
		if (ctl_args(cc, word, n) == -1) {
			sbuf_free(&sb);
			return;
		}
		if (strcmp(word[0], "session") == 0) {
			if (cc->cc_filter.sf_id == 0) {
				ctl_error(cc, "session needs id=ID");
				sbuf_free(&sb);
				return;
			}
			cc->cc_filter.sf_full = 1;
			free(cc->cc_user);
			cc->cc_user = xasprintf("%020llu",
			    (unsigned long long)cc->cc_filter.sf_id);
		}
		if (strcmp(word[0], "kill") == 0 &&
		    cc->cc_filter.sf_id == 0 && cc->cc_filter.sf_user == NULL) {
			ctl_error(cc, "kill needs id=ID or user=USER");
			sbuf_free(&sb);
			return;
		}
		ctl_to_workers(cc);
	} else
		ctl_error(cc, "unknown request \"%s\"", word[0]);
	sbuf_free(&sb);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	if (cc->cc_cmd != NULL)
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
	ctl_request(cc, line);
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
    struct worker **workers, unsigned int nworkers,
    const struct control_hooks *hooks)
{
	struct control	*ct;

	ct = xcalloc(1, sizeof(*ct));
	ct->ct_conf = conf;
	ct->ct_base = base;
	ct->ct_workers = workers;
	ct->ct_nworkers = nworkers;
	ct->ct_hooks = *hooks;
	ct->ct_path = xstrdup(conf->control_socket);
	ct->ct_lev = evconnlistener_new(base, ctl_accept_cb, ct,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ct->ct_lev == NULL)
		fatalx("%s: cannot listen on the control socket", __func__);
	return (ct);
}

void
control_free(struct control *ct)
{
	if (ct == NULL)
		return;
	evconnlistener_free(ct->ct_lev);
	(void)unlink(ct->ct_path);
	free(ct->ct_path);
	free(ct);
}
