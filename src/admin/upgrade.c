/*
 * upgrade.c -- the old process's side of a live upgrade (turnctl
 * upgrade, SIGUSR2; doc/ARCHITECTURE section 8): start the new binary
 * with one end of a socketpair, hand it the listeners, then worker by
 * worker freeze, send the UDP allocations with their relay sockets and
 * let the new process thaw them, then the EVEN-PORT reservations, and
 * commit.  Until the commit this process keeps every socket and all the
 * state: a new process that fails, exits, hangs past upgrade.timeout or
 * refuses is killed and reaped, and every worker thaws.  After it, the
 * TCP and TLS clients that stay here drain, and the process exits.
 *
 * Everything here runs on the main thread; the workers' parts
 * (net/worker_move.c) run in their loops and come back through
 * event_base_once() on the main loop.
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin/control.h"
#include "admin/handover.h"
#include "admin/metrics.h"
#include "admin/upgrade.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/tlv.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/worker_move.h"
#include "store/store.h"
#include "turnd.h"

enum u_state {
	U_HELLO,	/* started: waiting for its HELLO */
	U_READY,	/* state sent: waiting for READY (or REFUSE) */
	U_FREEZE,	/* a worker is freezing */
	U_BATCH,	/* a batch sent: waiting for its ACK */
	U_WDONE,	/* a worker sent: waiting for it to run there */
	U_RESV,		/* reservations sent: waiting for the ACK */
	U_COMMIT	/* all sent: waiting for COMMIT */
};

struct upgrade {
	struct turnd		*u_td;
	enum u_state		 u_state;
	int			 u_fd;
	pid_t			 u_pid;
	struct event		*u_ev;		/* u_fd readable */
	struct event		*u_timer;	/* upgrade.timeout */
	unsigned int		 u_serial;	/* this attempt */
	unsigned int		 u_worker;	/* the one being moved */
	unsigned int		 u_batch;	/* its next batch */
	struct wmove		*u_moves;	/* one per worker */
	unsigned int		 u_resv_from;
	unsigned int		 u_moved, u_stayed, u_dtls;
	long long		 u_t0;		/* us, monotonic */
	uint64_t		 u_freeze_max;	/* us, the longest */
	char			*u_binary;
	/* the turnctl request waiting for the outcome, if any */
	control_done_cb		 u_done;
	void			*u_ctx;
	struct sbuf		*u_out;
	int			 u_json;
	struct hmsg		 u_msg;
};

/* A worker's step coming back to the main loop. */
struct u_step {
	struct turnd	*us_td;
	struct upgrade	*us_u;		/* stale when us_serial is */
	unsigned int	 us_serial;
	struct wmove	*us_m;		/* what the freeze made */
};

static unsigned int	upgrade_serial;

static void	u_fail(struct upgrade *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	u_next_worker(struct upgrade *);
static void	u_refused(struct upgrade *, const struct hmsg *);

static void
u_answer(struct upgrade *u, int ok, const char *text)
{
	if (u->u_done == NULL)
		return;
	if (u->u_json) {
		sbuf_printf(u->u_out, "{\"upgraded\":%s,\"message\":",
		    ok ? "true" : "false");
		sbuf_json_str(u->u_out, text);
		sbuf_printf(u->u_out, "}\n");
	} else
		sbuf_printf(u->u_out, "%s\n", text);
	u->u_done(u->u_ctx, ok);
	u->u_done = NULL;
}

static void
u_arm(struct upgrade *u)
{
	struct timeval	tv = { u->u_td->td_conf->upgrade_timeout, 0 };

	evtimer_add(u->u_timer, &tv);
}

/*
 * The next message, without waiting.  A new process that closes with
 * our messages unread makes the kernel report ECONNRESET first, and then
 * what it sent before closing (its HM_REFUSE): read on once.
 */
static int
u_recv(struct upgrade *u)
{
	int	r;

	r = hmsg_recv(u->u_fd, &u->u_msg, 0);
	if (r == -1 && errno == ECONNRESET)
		r = hmsg_recv(u->u_fd, &u->u_msg, 0);
	if (r == -1 && errno == EAGAIN)
		errno = ECONNRESET;	/* nothing after the reset */
	return (r);
}

static int
u_send(struct upgrade *u, uint16_t type, const struct tlvbuf *tb,
    const int *fds, unsigned int nfds)
{
	int	err;

	if (hmsg_send(u->u_fd, type, tb != NULL ? tb->tb_buf : NULL,
	    tb != NULL ? tb->tb_len : 0, fds, nfds) == 0)
		return (0);
	err = errno;
	/* gone: perhaps after saying why */
	if (u_recv(u) == 1) {
		hmsg_close_fds(&u->u_msg);
		if (u->u_msg.hm_type == HM_REFUSE) {
			u_refused(u, &u->u_msg);
			return (-1);
		}
	}
	u_fail(u, "cannot write to the new process: %s", strerror(err));
	return (-1);
}

/* ---- the workers' steps (their loops) ---- */

static void	u_frozen_cb(evutil_socket_t, short, void *);

/* In the worker's loop: freeze, then back to the main loop with it. */
static void
u_freeze_in_worker(struct worker *w, void *arg)
{
	struct u_step	*s = arg;

	worker_freeze(w, s->us_m, HR_ALLOC);
	if (event_base_once(s->us_td->td_base, -1, EV_TIMEOUT, u_frozen_cb,
	    s, NULL) == -1)
		fatalx("%s: cannot reach the main loop", __func__);
}

static void
u_moved_in_worker(struct worker *w, void *arg)
{
	(void)arg;
	worker_moved(w);
}

static void
u_thaw_in_worker(struct worker *w, void *arg)
{
	(void)arg;
	worker_thaw(w);
}

static void
u_commit_in_worker(struct worker *w, void *arg)
{
	(void)arg;
	worker_commit(w);
}

static void
u_each_worker(struct turnd *td, void (*fn)(struct worker *, void *))
{
	unsigned int	i;

	for (i = 0; i < td->td_nworkers; i++)
		if (worker_run(td->td_workers[i], fn, NULL) == -1)
			fatalx("%s: cannot reach worker %u", __func__, i);
}

/* ---- ending an attempt ---- */

static void
u_close(struct upgrade *u)
{
	unsigned int	i;

	if (u->u_ev != NULL)
		event_free(u->u_ev);
	if (u->u_timer != NULL)
		event_free(u->u_timer);
	if (u->u_fd != -1)
		close(u->u_fd);
	for (i = 0; u->u_moves != NULL && i < u->u_td->td_nworkers; i++)
		wmove_free(&u->u_moves[i]);
	free(u->u_moves);
	free(u->u_binary);
	u->u_td->td_upgrade = NULL;
	free(u);
}

/* The new process may have written the pidfile before it went. */
static void
u_pidfile_back(struct turnd *td)
{
	FILE	*f;

	if (!td->td_pidfile_written)
		return;
	if ((f = fopen(td->td_conf->pidfile, "w")) == NULL ||
	    fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
		log_warn("upgrade: pidfile %s", td->td_conf->pidfile);
}

/* Roll back: the new process goes, every worker thaws. */
static void
u_fail(struct upgrade *u, const char *fmt, ...)
{
	char	reason[512], text[600];
	va_list	ap;
	int	status;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (u->u_pid > 0) {
		(void)kill(u->u_pid, SIGKILL);
		while (waitpid(u->u_pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	u_each_worker(u->u_td, u_thaw_in_worker);
	u_pidfile_back(u->u_td);
	u->u_td->td_upgrades_failed++;
	log_warnx("upgrade failed: %s; this process (pid %ld) goes on "
	    "serving everything", reason, (long)getpid());
	snprintf(text, sizeof(text), "upgrade failed: %s", reason);
	u_answer(u, 0, text);
	u_close(u);
}

static void
u_commit(struct upgrade *u)
{
	struct turnd	*td = u->u_td;
	char		 text[512];
	long long	 ms = (clock_mono_us() - u->u_t0) / 1000;

	u_each_worker(td, u_commit_in_worker);
	resv_drop_all(td->td_resv);
	control_handed_over(td->td_control);
	metrics_free(td->td_metrics);
	td->td_metrics = NULL;
	store_main_handed_over(td->td_store);
	td->td_pidfile_written = 0;	/* the new process's now */
	td->td_handed_over = 1;
	td->td_upgrades_ok++;
	upgrade_notify_mainpid(u->u_pid);
	snprintf(text, sizeof(text), "upgraded: pid %ld took over %u "
	    "allocation%s in %lld ms (longest freeze %llu us); %u TCP/TLS "
	    "allocation%s stay in pid %ld until they end%s", (long)u->u_pid,
	    u->u_moved, u->u_moved == 1 ? "" : "s", ms,
	    (unsigned long long)u->u_freeze_max, u->u_stayed,
	    u->u_stayed == 1 ? "" : "s", (long)getpid(), u->u_dtls > 0 ?
	    "; the DTLS ones end (they cannot move)" : "");
	log_info("upgrade: %s", text);
	u_answer(u, 1, text);
	u->u_pid = -1;
	u_close(u);
	if (td->td_drain_stayed != NULL)
		td->td_drain_stayed(td, td->td_conf->upgrade_drain_timeout);
}

/* ---- the sequence ---- */

static void
u_put_lsocks(struct tlvbuf *tb, const struct lsock *ls, unsigned int n,
    int *fds)
{
	unsigned int	i;
	size_t		o;

	for (i = 0; i < n; i++) {
		o = tlv_open(tb, HR_LSOCK);
		tlv_put_u8(tb, LS_TRANSPORT, (uint8_t)ls[i].ls_transport);
		tlv_put_addr(tb, LS_ADDR, (const struct sockaddr *)
		    &ls[i].ls_addr);
		tlv_put_u32(tb, LS_GROUP, (uint32_t)(ls[i].ls_group + 1));
		tlv_put_u8(tb, LS_ROLE, (uint8_t)ls[i].ls_role);
		tlv_put_u8(tb, LS_TLS_TOO, (uint8_t)ls[i].ls_tls_too);
		tlv_put_u8(tb, LS_DTLS_TOO, (uint8_t)ls[i].ls_dtls_too);
		tlv_put_u32(tb, LS_FD, i);
		tlv_close(tb, o);
		fds[i] = ls[i].ls_fd;
	}
}

/* HM_STATE, then one HM_LISTEN per worker: 0, or -1 (u is gone). */
static int
u_send_state(struct upgrade *u)
{
	struct turnd		*td = u->u_td;
	const struct turnd_conf	*conf = td->td_conf;
	struct tlvbuf		 tb;
	struct listen_set	 set;
	char			 buf[ADDR_STRLEN];
	int			 fds[WMOVE_FDS], rc = -1;
	unsigned int		 i, nfds = 0;

	tlv_init(&tb);
	tlv_put_u32(&tb, HR_VERSION, HO_VERSION);
	tlv_put_u32(&tb, HR_GENERATION, td->td_generation);
	tlv_put_str(&tb, HR_IID, td->td_iid);
	tlv_put(&tb, HR_NONCE, td->td_nonce, sizeof(td->td_nonce));
	tlv_put_u32(&tb, HR_WORKERS, td->td_nworkers);
	tlv_put_str(&tb, HR_REALM, conf->realm);
	tlv_put_u8(&tb, HR_RFC5780, (uint8_t)conf->stun_rfc5780);
	if (conf->stun_alt_address.ca_set)
		tlv_put_addr(&tb, HR_ALT_ADDR, (const struct sockaddr *)
		    &conf->stun_alt_address.ca_ss);
	tlv_put_u32(&tb, HR_ALT_PORT, (uint32_t)conf->stun_alt_port);
	tlv_put_u64(&tb, HR_STARTED, (uint64_t)td->td_first_started);
	tlv_put_str(&tb, HR_CONTROL_PATH, conf->control_socket);
	tlv_put_str(&tb, HR_METRICS_ADDR, conf->metrics_listen.ca_set ?
	    addr_fmt((const struct sockaddr *)&conf->metrics_listen.ca_ss, buf,
	    sizeof(buf)) : "");
	tlv_put_str(&tb, HR_USER, conf->user);
	tlv_put_str(&tb, HR_GROUP, conf->group);
	if ((fds[nfds] = control_fd(td->td_control)) != -1)
		tlv_put_u32(&tb, HR_CONTROL_FD, nfds++);
	if ((fds[nfds] = metrics_fd(td->td_metrics)) != -1)
		tlv_put_u32(&tb, HR_METRICS_FD, nfds++);
	if (u_send(u, HM_STATE, &tb, fds, nfds) == -1)
		goto out;
	for (i = 0; i < td->td_nworkers; i++) {
		worker_listeners(td->td_workers[i], &set);
		if (set.n > WMOVE_FDS) {
			free(set.ls);
			u_fail(u, "too many listeners to hand over (%u)", set.n);
			goto out;
		}
		tlv_reset(&tb);
		tlv_put_u32(&tb, HR_WORKER, i);
		u_put_lsocks(&tb, set.ls, set.n, fds);
		nfds = set.n;
		free(set.ls);
		if (u_send(u, HM_LISTEN, &tb, fds, nfds) == -1)
			goto out;
	}
	u->u_state = U_READY;
	rc = 0;
out:
	tlv_free(&tb);
	return (rc);
}

static void
u_freeze_next(struct upgrade *u)
{
	struct u_step	*s = xcalloc(1, sizeof(*s));

	s->us_td = u->u_td;
	s->us_u = u;
	s->us_serial = u->u_serial;
	s->us_m = xcalloc(1, sizeof(*s->us_m));
	u->u_state = U_FREEZE;
	u_arm(u);
	if (worker_run(u->u_td->td_workers[u->u_worker], u_freeze_in_worker,
	    s) == -1)
		fatalx("%s: cannot reach worker %u", __func__, u->u_worker);
}

static void
u_send_batch(struct upgrade *u)
{
	struct wmove	*m = &u->u_moves[u->u_worker];
	struct wbatch	*b;
	struct tlvbuf	 tb;

	if (u->u_batch == m->wm_nb) {
		tlv_init(&tb);
		tlv_put_u32(&tb, HR_WORKER, u->u_worker);
		if (u_send(u, HM_WEND, &tb, NULL, 0) == 0)
			u->u_state = U_WDONE;
		tlv_free(&tb);
		return;
	}
	b = &m->wm_b[u->u_batch];
	if (u_send(u, HM_WBATCH, &b->wb_recs, b->wb_fds, b->wb_nfds) == 0)
		u->u_state = U_BATCH;
}

/* Worker k is frozen, its state in u_moves[k]: send it. */
static void
u_frozen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct u_step	*s = arg;
	struct upgrade	*u = s->us_u;
	struct wmove	*m;
	struct tlvbuf	 tb;

	(void)fd;
	(void)what;
	if (s->us_serial != upgrade_serial || s->us_td->td_upgrade == NULL) {
		wmove_free(s->us_m);	/* rolled back meanwhile */
		free(s->us_m);
		free(s);
		return;
	}
	m = &u->u_moves[u->u_worker];
	*m = *s->us_m;
	free(s->us_m);
	free(s);
	u->u_moved += m->wm_nallocs;
	u->u_stayed += m->wm_stayed;
	u->u_dtls += m->wm_dtls;
	tlv_init(&tb);
	tlv_put_u32(&tb, HR_WORKER, u->u_worker);
	tlv_put_u32(&tb, HR_COUNT, m->wm_nallocs);
	tlv_put_u64(&tb, HR_START_US, (uint64_t)m->wm_start_us);
	u->u_batch = 0;
	if (u_send(u, HM_WBEGIN, &tb, NULL, 0) == 0)
		u_send_batch(u);
	tlv_free(&tb);
}

/* The EVEN-PORT reservations, a batch at a time; then HM_FINISH. */
static void
u_send_resv(struct upgrade *u)
{
	struct tlvbuf	tb;
	int		fds[WMOVE_FDS];
	unsigned int	n;

	tlv_init(&tb);
	n = resv_export(u->u_td->td_resv, u->u_resv_from, WMOVE_FDS, &tb,
	    HR_RESV, fds);
	u->u_resv_from += n;
	if (n > 0) {
		if (u_send(u, HM_RESV, &tb, fds, n) == 0)
			u->u_state = U_RESV;
	} else if (u_send(u, HM_FINISH, NULL, NULL, 0) == 0)
		u->u_state = U_COMMIT;
	tlv_free(&tb);
}

static void
u_next_worker(struct upgrade *u)
{
	if (u->u_worker < u->u_td->td_nworkers)
		u_freeze_next(u);
	else
		u_send_resv(u);
}

/* A worker's number in a message: it must be the one being moved. */
static int
u_worker_is(const struct hmsg *m, unsigned int k)
{
	struct tlv_iter	it;
	struct tlv	t;
	uint32_t	v;

	tlv_iter_init(&it, m->hm_body, m->hm_len);
	while (tlv_next(&it, &t) == 1)
		if (t.t_type == HR_WORKER && tlv_u32(&t, &v) == 0)
			return (v == k);
	return (0);
}

static void
u_refused(struct upgrade *u, const struct hmsg *m)
{
	struct tlv_iter	 it;
	struct tlv	 t;
	char		*why = NULL;

	tlv_iter_init(&it, m->hm_body, m->hm_len);
	while (why == NULL && tlv_next(&it, &t) == 1)
		if (t.t_type == HR_REASON)
			why = tlv_str(&t);
	u_fail(u, "the new process refused: %s", why != NULL ? why :
	    "no reason given");
	free(why);
}

static void
u_wdone(struct upgrade *u)
{
	struct wmove	*m = &u->u_moves[u->u_worker];
	uint64_t	 us = (uint64_t)(clock_mono_us() - m->wm_start_us);

	if (us > u->u_freeze_max)
		u->u_freeze_max = us;
	log_info("upgrade: worker %u: %u allocation%s moved, %u stay, "
	    "frozen %llu us", u->u_worker, m->wm_nallocs,
	    m->wm_nallocs == 1 ? "" : "s", m->wm_stayed,
	    (unsigned long long)us);
	if (worker_run(u->u_td->td_workers[u->u_worker], u_moved_in_worker,
	    NULL) == -1)
		fatalx("%s: cannot reach worker %u", __func__, u->u_worker);
	wmove_free(m);
	u->u_worker++;
	u_next_worker(u);
}

/* One message from the new process, by state. */
static void
u_message(struct upgrade *u, const struct hmsg *m)
{
	if (m->hm_type == HM_REFUSE) {
		u_refused(u, m);
		return;
	}
	if (u->u_state == U_HELLO && m->hm_type == HM_HELLO) {
		if (u_send_state(u) == 0)
			u_arm(u);
	} else if (u->u_state == U_READY && m->hm_type == HM_READY) {
		log_info("upgrade: pid %ld is ready; moving %u worker%s",
		    (long)u->u_pid, u->u_td->td_nworkers,
		    u->u_td->td_nworkers == 1 ? "" : "s");
		u_next_worker(u);
	} else if (u->u_state == U_BATCH && m->hm_type == HM_ACK) {
		u->u_batch++;
		u_send_batch(u);
	} else if (u->u_state == U_WDONE && m->hm_type == HM_WDONE &&
	    u_worker_is(m, u->u_worker))
		u_wdone(u);
	else if (u->u_state == U_RESV && m->hm_type == HM_ACK)
		u_send_resv(u);
	else if (u->u_state == U_COMMIT && m->hm_type == HM_COMMIT)
		u_commit(u);
	else
		u_fail(u, "unexpected message %u from the new process",
		    m->hm_type);
}

static void
u_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade	*u = arg;
	int		 r;

	(void)fd;
	(void)what;
	if ((r = hmsg_recv(u->u_fd, &u->u_msg, 0)) == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r == -1 && errno == ECONNRESET)
		r = u_recv(u);
	hmsg_close_fds(&u->u_msg);	/* it sends none */
	if (r == 0)
		u_fail(u, "the new process (pid %ld) exited or crashed",
		    (long)u->u_pid);
	else if (r == -1)
		u_fail(u, "reading from the new process: %s", strerror(errno));
	else
		u_message(u, &u->u_msg);
}

static void
u_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade	*u = arg;

	(void)fd;
	(void)what;
	u_fail(u, "the new process (pid %ld) did not %s within "
	    "upgrade.timeout (%d s)", (long)u->u_pid,
	    u->u_state <= U_READY ? "start" : u->u_state <= U_WDONE ?
	    "take a worker over" : "finish the takeover",
	    u->u_td->td_conf->upgrade_timeout);
}

/* ---- starting ---- */

static int
u_refuse_now(struct turnd *td, char *err, size_t errlen)
{
	if (td->td_handed_over)
		snprintf(err, errlen, "this process has handed over already "
		    "(generation %u); ask the new one", td->td_generation);
	else if (td->td_upgrade != NULL)
		snprintf(err, errlen, "an upgrade is under way");
	else if (td->td_draining)
		snprintf(err, errlen, "draining: this process is on its way "
		    "out (restart instead)");
	else if (td->td_demo_dir != NULL)
		snprintf(err, errlen, "not in the demo (--demo)");
	else if (td->td_stopping)
		snprintf(err, errlen, "shutting down");
	else
		return (0);	/* a thaw still queued runs before a freeze */
	return (-1);
}

void
upgrade_start(struct turnd *td, const char *binary, int json,
    struct sbuf *out, control_done_cb done, void *ctx)
{
	struct upgrade	*u;
	char		 err[512];
	int		 sv[2];

	u = xcalloc(1, sizeof(*u));
	u->u_td = td;
	u->u_fd = -1;
	u->u_done = done;
	u->u_ctx = ctx;
	u->u_out = out;
	u->u_json = json;
	if (u_refuse_now(td, err, sizeof(err)) == -1) {
		log_warnx("upgrade refused: %s", err);
		u_answer(u, 0, err);
		free(u);
		return;
	}
	td->td_upgrade = u;
	u->u_serial = ++upgrade_serial;
	u->u_binary = xstrdup(binary != NULL && *binary != '\0' ? binary :
	    td->td_exe);
	u->u_moves = xcalloc(td->td_nworkers, sizeof(*u->u_moves));
	u->u_t0 = clock_mono_us();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		u_fail(u, "socketpair: %s", strerror(errno));
		return;
	}
	u->u_fd = sv[0];
	u->u_ev = event_new(td->td_base, u->u_fd, EV_READ | EV_PERSIST,
	    u_read_cb, u);
	u->u_timer = evtimer_new(td->td_base, u_timeout_cb, u);
	if (u->u_ev == NULL || u->u_timer == NULL ||
	    event_add(u->u_ev, NULL) == -1)
		fatalx("%s: cannot watch the handover socket", __func__);
	u->u_pid = upgrade_spawn(u->u_binary, td->td_argv, sv[1], err,
	    sizeof(err));
	close(sv[1]);
	if (u->u_pid == -1) {
		u_fail(u, "%s", err);
		return;
	}
	log_info("upgrade: started %s as pid %ld (generation %u)",
	    u->u_binary, (long)u->u_pid, td->td_generation + 1);
	u->u_state = U_HELLO;
	u_arm(u);
}

void
upgrade_abort(struct turnd *td)
{
	if (td->td_upgrade != NULL)
		u_fail(td->td_upgrade, "turnd is shutting down");
}
