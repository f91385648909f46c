/*
 * takeover.c -- the new process's side of a live upgrade (takeover.h;
 * doc/ARCHITECTURE section 8).  It runs on the main thread before the
 * main loop, blocking on the socketpair with upgrade.timeout as the
 * limit of each wait: if anything goes wrong it exits, and the old
 * process, seeing the end of the stream, rolls back.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/handover.h"
#include "admin/takeover.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/tlv.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/worker_move.h"

static void	tk_refuse(struct takeover *, const char *);

int
takeover_wanted(void)
{
	return (getenv(HO_ENV) != NULL);
}

int
takeover_log_fd(void)
{
	const char	*s = getenv(HO_ENV_LOG);
	char		*end;
	long		 fd;

	if (s == NULL)
		return (-1);
	errno = 0;
	fd = strtol(s, &end, 10);
	unsetenv(HO_ENV_LOG);
	return (*end != '\0' || errno != 0 || fd < 3 || fd > INT_MAX ? -1 :
	    (int)fd);
}

int
takeover_refuse(struct takeover *tk, const char *why)
{
	tk_refuse(tk, why);
	return (-1);
}

static void
tk_refuse(struct takeover *tk, const char *err)
{
	struct tlvbuf	tb;

	tlv_init(&tb);
	tlv_put_str(&tb, HR_REASON, err);
	(void)hmsg_send(tk->tk_fd, HM_REFUSE, tb.tb_buf, tb.tb_len, NULL, 0);
	tlv_free(&tb);
}

static int
tk_send(struct takeover *tk, uint16_t type, uint32_t worker)
{
	struct tlvbuf	tb;
	int		r;

	tlv_init(&tb);
	tlv_put_u32(&tb, HR_WORKER, worker);
	r = hmsg_send(tk->tk_fd, type, tb.tb_buf, tb.tb_len, NULL, 0);
	tlv_free(&tb);
	return (r);
}

/* The next message, of type want: 0, or -1 with err. */
static int
tk_recv(struct takeover *tk, uint16_t want, char *err, size_t errlen)
{
	int	r;

	r = hmsg_recv(tk->tk_fd, tk->tk_msg, tk->tk_timeout_ms);
	if (r == 1 && tk->tk_msg->hm_type == want)
		return (0);
	if (r == 1) {
		snprintf(err, errlen, "unexpected message %u (wanted %u)",
		    tk->tk_msg->hm_type, want);
		hmsg_close_fds(tk->tk_msg);
	} else
		snprintf(err, errlen, "the old process: %s", r == 0 ?
		    "gone" : strerror(errno));
	return (-1);
}

/* The fd of index v in the message, taken; -1 when there is none. */
static int
tk_fd_take(struct hmsg *m, uint32_t v)
{
	int	fd;

	if (v >= m->hm_nfds)
		return (-1);
	fd = m->hm_fds[v];
	m->hm_fds[v] = -1;
	return (fd);
}

/* What the running process is, against what this conf asks for. */
struct tk_state {
	uint32_t		 ts_version, ts_workers, ts_altport;
	uint8_t			 ts_rfc5780;
	char			*ts_realm;
	struct sockaddr_storage	 ts_alt;
	/* keys whose running values the sockets carry: the same or none */
	char			*ts_str[4];	/* HR_CONTROL_PATH.. */
};

static const char *const tk_str_key[4] = {
	"control.socket", "metrics.listen", "user", "group"
};

/* This conf's value of tk_str_key[i], as the old process sends it. */
static const char *
tk_str_conf(const struct turnd_conf *conf, unsigned int i, char *buf,
    size_t len)
{
	switch (i) {
	case 0:
		return (conf->control_socket);
	case 1:
		return (conf->metrics_listen.ca_set ? addr_fmt(
		    (const struct sockaddr *)&conf->metrics_listen.ca_ss, buf,
		    len) : "");
	case 2:
		return (conf->user);
	}
	return (conf->group);
}

static int
tk_state_one(struct takeover *tk, struct tk_state *st, const struct tlv *t)
{
	uint32_t	v;
	uint64_t	u;

	switch (t->t_type) {
	case HR_VERSION:
		return (tlv_u32(t, &st->ts_version));
	case HR_GENERATION:
		return (tlv_u32(t, &tk->tk_generation));
	case HR_IID:
		if (t->t_len != sizeof(tk->tk_iid) - 1)
			return (-1);
		memcpy(tk->tk_iid, t->t_val, t->t_len);
		tk->tk_iid[t->t_len] = '\0';
		return (0);
	case HR_NONCE:
		if (t->t_len != sizeof(tk->tk_nonce))
			return (-1);
		memcpy(tk->tk_nonce, t->t_val, t->t_len);
		return (0);
	case HR_WORKERS:
		return (tlv_u32(t, &st->ts_workers));
	case HR_REALM:
		free(st->ts_realm);
		return ((st->ts_realm = tlv_str(t)) == NULL ? -1 : 0);
	case HR_RFC5780:
		return (tlv_u8(t, &st->ts_rfc5780));
	case HR_ALT_ADDR:
		return (tlv_addr(t, &st->ts_alt));
	case HR_ALT_PORT:
		return (tlv_u32(t, &st->ts_altport));
	case HR_STARTED:
		if (tlv_u64(t, &u) == -1)
			return (-1);
		tk->tk_started = (time_t)u;
		return (0);
	case HR_CONTROL_PATH:
	case HR_METRICS_ADDR:
	case HR_USER:
	case HR_GROUP:
		v = t->t_type - HR_CONTROL_PATH;
		free(st->ts_str[v]);
		return ((st->ts_str[v] = tlv_str(t)) == NULL ? -1 : 0);
	case HR_CONTROL_FD:
	case HR_METRICS_FD:
		if (tlv_u32(t, &v) == -1)
			return (-1);
		*(t->t_type == HR_CONTROL_FD ? &tk->tk_control_fd :
		    &tk->tk_metrics_fd) = tk_fd_take(tk->tk_msg, v);
		return (0);
	}
	return (TLV_OPTIONAL(t->t_type) ? 0 : -1);
}

/* The keys a takeover cannot change: 0, or -1 with which in err. */
static int
tk_state_check(const struct tk_state *st, const struct turnd_conf *conf,
    unsigned int nworkers, char *err, size_t errlen)
{
	const struct sockaddr	*alt = (const struct sockaddr *)
	    &conf->stun_alt_address.ca_ss;
	char			 buf[ADDR_STRLEN];
	const char		*mine;
	unsigned int		 i;

	for (i = 0; i < 4 && st->ts_version >= HO_VERSION_MIN &&
	    st->ts_version <= HO_VERSION; i++) {
		mine = tk_str_conf(conf, i, buf, sizeof(buf));
		if (st->ts_str[i] == NULL || strcmp(st->ts_str[i], mine) != 0) {
			snprintf(err, errlen, "%s: \"%s\" running, \"%s\" "
			    "configured", tk_str_key[i], st->ts_str[i] != NULL ?
			    st->ts_str[i] : "", mine);
			return (-1);
		}
	}
	if (st->ts_version < HO_VERSION_MIN || st->ts_version > HO_VERSION)
		snprintf(err, errlen, "handover format %u: this binary reads "
		    "%u to %u", st->ts_version, HO_VERSION_MIN, HO_VERSION);
	else if (st->ts_workers != nworkers)
		snprintf(err, errlen, "workers: %u running, %u configured",
		    st->ts_workers, nworkers);
	else if (st->ts_realm == NULL || strcmp(st->ts_realm, conf->realm))
		snprintf(err, errlen, "realm: \"%s\" running, \"%s\" "
		    "configured", st->ts_realm ? st->ts_realm : "", conf->realm);
	else if (st->ts_rfc5780 != (conf->stun_rfc5780 != 0) ||
	    (int)st->ts_altport != conf->stun_alt_port ||
	    (conf->stun_alt_address.ca_set ? !addr_eq(alt,
	    (const struct sockaddr *)&st->ts_alt) : st->ts_alt.ss_family != 0))
		snprintf(err, errlen, "stun.rfc5780, stun.alt_address or "
		    "stun.alt_port differ from the running process's");
	else
		return (0);
	return (-1);
}

static int
tk_lsock(const struct tlv *t, struct hmsg *m, struct lsock *ls)
{
	struct tlv_iter	it;
	struct tlv	s;
	uint32_t	v;
	uint8_t		b;
	int		r, fd = -1;

	memset(ls, 0, sizeof(*ls));
	tlv_iter_init(&it, t->t_val, t->t_len);
	while ((r = tlv_next(&it, &s)) == 1) {
		r = 0;
		if (s.t_type == LS_ADDR)
			r = tlv_addr(&s, &ls->ls_addr);
		else if (s.t_type == LS_FD && (r = tlv_u32(&s, &v)) == 0)
			fd = tk_fd_take(m, v);
		else if (s.t_type == LS_GROUP && (r = tlv_u32(&s, &v)) == 0)
			ls->ls_group = (int)v - 1;
		else if (s.t_type != LS_FD && s.t_type != LS_GROUP &&
		    (r = tlv_u8(&s, &b)) == 0) {
			if (s.t_type == LS_TRANSPORT && b <= TRANSPORT_DTLS)
				ls->ls_transport = (enum transport)b;
			else if (s.t_type == LS_ROLE && b < LSOCK_ROLES)
				ls->ls_role = b;
			else if (s.t_type == LS_TLS_TOO)
				ls->ls_tls_too = b;
			else if (s.t_type == LS_DTLS_TOO)
				ls->ls_dtls_too = b;
			else if (!TLV_OPTIONAL(s.t_type))
				r = -1;
		}
		if (r == -1)
			break;
	}
	ls->ls_fd = fd;
	return (r == -1 || fd == -1 ? -1 : 0);
}

/* One HM_LISTEN: worker k's sockets into tk_sets[k]. */
static int
tk_listeners(struct takeover *tk, unsigned int k, char *err, size_t errlen)
{
	struct tlv_iter	it;
	struct tlv	t;
	struct lsock	ls;
	uint32_t	w = UINT32_MAX;

	if (tk_recv(tk, HM_LISTEN, err, errlen) == -1)
		return (-1);
	tlv_iter_init(&it, tk->tk_msg->hm_body, tk->tk_msg->hm_len);
	while (tlv_next(&it, &t) == 1) {
		if (t.t_type == HR_WORKER && tlv_u32(&t, &w) == 0 && w == k)
			continue;
		if (t.t_type != HR_LSOCK || w != k ||
		    tk_lsock(&t, tk->tk_msg, &ls) == -1) {
			snprintf(err, errlen, "worker %u: a bad listener record",
			    k);
			hmsg_close_fds(tk->tk_msg);
			return (-1);
		}
		listen_set_push(&tk->tk_sets[k], &ls);
	}
	hmsg_close_fds(tk->tk_msg);
	return (0);
}

/* A key a takeover cannot change: say what to do instead. */
static void
tk_restart_key(char *err, size_t errlen)
{
	size_t	n = strlen(err);

	snprintf(err + n, errlen - n, " (a restart key: drain and restart "
	    "to change it)");
}

static int
tk_begin(struct takeover *tk, const struct turnd_conf *conf,
    unsigned int nworkers, char *err, size_t errlen)
{
	struct tk_state	 st;
	struct tlvbuf	 tb;
	struct tlv_iter	 it;
	struct tlv	 t;
	unsigned int	 k;
	int		 r = -1;

	memset(&st, 0, sizeof(st));
	memset(&t, 0, sizeof(t));
	tlv_init(&tb);
	tlv_put_u32(&tb, HR_VERSION, HO_VERSION);
	tlv_put_u32(&tb, HR_VERSION_MIN, HO_VERSION_MIN);
	tlv_put_u32(&tb, HR_PID, (uint32_t)getpid());
	if (hmsg_send(tk->tk_fd, HM_HELLO, tb.tb_buf, tb.tb_len, NULL,
	    0) == -1) {
		snprintf(err, errlen, "the old process: %s", strerror(errno));
		goto out;
	}
	if (tk_recv(tk, HM_STATE, err, errlen) == -1)
		goto out;
	tlv_iter_init(&it, tk->tk_msg->hm_body, tk->tk_msg->hm_len);
	while ((r = tlv_next(&it, &t)) == 1)
		if ((r = tk_state_one(tk, &st, &t)) == -1)
			break;
	hmsg_close_fds(tk->tk_msg);
	if (r == -1 || tk->tk_iid[0] == '\0') {
		snprintf(err, errlen, "the process state cannot be read "
		    "(record 0x%04x)", t.t_type);
		r = -1;
	} else if ((r = tk_state_check(&st, conf, nworkers, err,
	    errlen)) == 0) {
		tk->tk_nworkers = nworkers;
		tk->tk_sets = xcalloc(nworkers, sizeof(*tk->tk_sets));
		for (k = 0; k < nworkers && r == 0; k++)
			r = tk_listeners(tk, k, err, errlen);
		if (r == 0)
			r = listen_match(conf, &tk->tk_sets[0], err, errlen);
	}
	if (r == -1 && tk->tk_iid[0] != '\0' && st.ts_version >= HO_VERSION_MIN
	    && st.ts_version <= HO_VERSION)
		tk_restart_key(err, errlen);
out:
	free(st.ts_realm);
	for (k = 0; k < 4; k++)
		free(st.ts_str[k]);
	tlv_free(&tb);
	return (r);
}

int
takeover_begin(struct takeover *tk, const struct turnd_conf *conf,
    unsigned int nworkers, char *err, size_t errlen)
{
	const char	*s = getenv(HO_ENV);
	char		*end;
	long		 fd;

	memset(tk, 0, sizeof(*tk));
	tk->tk_control_fd = tk->tk_metrics_fd = -1;
	tk->tk_timeout_ms = conf->upgrade_timeout * 1000;
	tk->tk_msg = xmalloc(sizeof(*tk->tk_msg));
	errno = 0;
	fd = s != NULL ? strtol(s, &end, 10) : -1;
	unsetenv(HO_ENV);
	if (s == NULL || *end != '\0' || fd < 3 || fd > INT_MAX || errno != 0) {
		snprintf(err, errlen, "%s: not a descriptor", HO_ENV);
		tk->tk_fd = -1;
		return (-1);
	}
	tk->tk_fd = (int)fd;
	if (tk_begin(tk, conf, nworkers, err, errlen) == -1) {
		tk_refuse(tk, err);
		return (-1);
	}
	return (0);
}

/* One HM_WBATCH into worker w. */
static int
tk_batch(struct takeover *tk, struct worker *w, char *err, size_t errlen)
{
	struct hmsg	*m = tk->tk_msg;
	struct tlv_iter	 it;
	struct tlv	 t;
	int		 r = 0;

	tlv_iter_init(&it, m->hm_body, m->hm_len);
	while (r == 0 && tlv_next(&it, &t) == 1) {
		if (t.t_type == HR_ALLOC) {
			r = worker_import(w, t.t_val, t.t_len, m->hm_fds,
			    m->hm_nfds, err, errlen);
			tk->tk_moved += r == 0;
		} else if (!TLV_OPTIONAL(t.t_type)) {
			snprintf(err, errlen, "unknown record 0x%04x",
			    t.t_type);
			r = -1;
		}
	}
	hmsg_close_fds(m);	/* what no record took */
	if (r == 0 && hmsg_send(tk->tk_fd, HM_ACK, NULL, 0, NULL, 0) == -1) {
		snprintf(err, errlen, "the old process: %s", strerror(errno));
		r = -1;
	}
	return (r);
}

static uint64_t
tk_start_us(const struct hmsg *m)
{
	struct tlv_iter	it;
	struct tlv	t;
	uint64_t	v = 0;

	tlv_iter_init(&it, m->hm_body, m->hm_len);
	while (tlv_next(&it, &t) == 1)
		if (t.t_type == HR_START_US)
			(void)tlv_u64(&t, &v);
	return (v);
}

/* Worker k: its batches, then start it (the thaw). */
static int
tk_worker(struct takeover *tk, struct worker *w, unsigned int k, char *err,
    size_t errlen)
{
	uint64_t	start;
	int		r;

	if (tk_recv(tk, HM_WBEGIN, err, errlen) == -1)
		return (-1);
	start = tk_start_us(tk->tk_msg);
	for (;;) {
		r = hmsg_recv(tk->tk_fd, tk->tk_msg, tk->tk_timeout_ms);
		if (r == 1 && tk->tk_msg->hm_type == HM_WEND)
			break;
		if (r != 1 || tk->tk_msg->hm_type != HM_WBATCH) {
			if (r == 1)
				hmsg_close_fds(tk->tk_msg);
			snprintf(err, errlen, "worker %u: %s", k, r == 1 ?
			    "unexpected message" : r == 0 ? "the old process "
			    "is gone" : strerror(errno));
			return (-1);
		}
		if (tk_batch(tk, w, err, errlen) == -1)
			return (-1);
	}
	if (worker_start(w) == -1) {
		snprintf(err, errlen, "worker %u cannot start", k);
		return (-1);
	}
	atomic_store(&w->w_freeze_us, (uint64_t)(clock_mono_us() -
	    (long long)start));
	return (tk_send(tk, HM_WDONE, k));
}

int
takeover_run(struct takeover *tk, struct worker **ws, unsigned int n,
    struct resv *rv, char *err, size_t errlen)
{
	struct tlv_iter	it;
	struct tlv	t;
	unsigned int	k;
	int		r;

	if (hmsg_send(tk->tk_fd, HM_READY, NULL, 0, NULL, 0) == -1) {
		snprintf(err, errlen, "the old process: %s", strerror(errno));
		return (-1);
	}
	for (k = 0; k < n; k++)
		if (tk_worker(tk, ws[k], k, err, errlen) == -1)
			return (-1);
	for (;;) {
		r = hmsg_recv(tk->tk_fd, tk->tk_msg, tk->tk_timeout_ms);
		if (r == 1 && tk->tk_msg->hm_type == HM_FINISH)
			return (0);
		if (r != 1 || tk->tk_msg->hm_type != HM_RESV) {
			if (r == 1)
				hmsg_close_fds(tk->tk_msg);
			snprintf(err, errlen, "reservations: %s", r == 1 ?
			    "unexpected message" : r == 0 ?
			    "the old process is gone" : strerror(errno));
			return (-1);
		}
		tlv_iter_init(&it, tk->tk_msg->hm_body, tk->tk_msg->hm_len);
		while (tlv_next(&it, &t) == 1)
			if (t.t_type == HR_RESV && resv_import(rv, t.t_val,
			    t.t_len, tk->tk_msg->hm_fds, tk->tk_msg->hm_nfds) ==
			    -1)
				log_warnx("takeover: a reservation could not "
				    "be taken");
		hmsg_close_fds(tk->tk_msg);
		if (hmsg_send(tk->tk_fd, HM_ACK, NULL, 0, NULL, 0) == -1) {
			snprintf(err, errlen, "the old process: %s",
			    strerror(errno));
			return (-1);
		}
	}
}

int
takeover_commit(struct takeover *tk)
{
	int	r;

	r = hmsg_send(tk->tk_fd, HM_COMMIT, NULL, 0, NULL, 0);
	close(tk->tk_fd);
	tk->tk_fd = -1;
	return (r);
}

void
takeover_free(struct takeover *tk)
{
	unsigned int	i;

	if (tk->tk_fd != -1)
		close(tk->tk_fd);
	for (i = 0; tk->tk_sets != NULL && i < tk->tk_nworkers; i++)
		listen_close(&tk->tk_sets[i]);
	free(tk->tk_sets);
	if (tk->tk_control_fd != -1)
		close(tk->tk_control_fd);
	if (tk->tk_metrics_fd != -1)
		close(tk->tk_metrics_fd);
	free(tk->tk_msg);
	memset(tk, 0, sizeof(*tk));
	tk->tk_fd = tk->tk_control_fd = tk->tk_metrics_fd = -1;
}
