/*
 * turnd.c -- main(): options, configuration, binding, privilege drop,
 * workers, signals, clean shutdown.
 *
 * Order matters: everything that needs root (binding ports, reading the
 * TLS key, opening the log) happens before the drop, and the worker
 * threads start only after the process has daemonized.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/rand.h>

#include "admin/admin.h"
#include "admin/control.h"
#include "admin/metrics.h"
#include "admin/takeover.h"
#include "admin/upgrade.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "store/store.h"
#include "turn/auth.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/ratelim.h"
#include "turnd.h"

#define TURND_CONF_DEFAULT	SYSCONFDIR "/turnd/turnd.conf"
#define DEMO_USER		"demo"
#define DEMO_REALM		"turnd.demo"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: turnd [-dfnV] [-c file]\n"
	    "       turnd --demo\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -d       debug logging\n"
	    "  -f       stay in the foreground\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  --demo   loopback demo: generated user and certificate\n",
	    TURND_CONF_DEFAULT);
	exit(2);
}

/* A random password of 20 characters from an unambiguous alphabet. */
static void
demo_password(char *out, size_t outsz)
{
	static const char	abc[] =
	    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	size_t			i;

	for (i = 0; i + 1 < outsz && i < 20; i++)
		out[i] = abc[arc4random_uniform(sizeof(abc) - 1)];
	out[i] = '\0';
}

/*
 * The demo configuration: loopback listeners, a generated self-signed
 * certificate in a private temporary directory, one generated user.
 */
static struct turnd_conf *
demo_conf(struct turnd *td, char *password, size_t pwsz, char *err,
    size_t errlen)
{
	char	 dir[] = "/tmp/turnd-demo.XXXXXX";
	char	*cert, *key, *text;
	struct turnd_conf *conf;

	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "demo: mkdtemp: %s", strerror(errno));
		return (NULL);
	}
	td->td_demo_dir = xstrdup(dir);
	cert = xasprintf("%s/cert.pem", dir);
	key = xasprintf("%s/key.pem", dir);
	if (tls_make_selfsigned(cert, key, "localhost", err, errlen) == -1) {
		free(cert);
		free(key);
		return (NULL);
	}
	demo_password(password, pwsz);
	text = xasprintf(
	    "realm = \"%s\";\n"
	    "listen: {\n"
	    "  udp = [ \"127.0.0.1:3478\", \"[::1]:3478\" ];\n"
	    "  tcp = [ \"127.0.0.1:3478\", \"[::1]:3478\" ];\n"
	    "  tls = [ \"127.0.0.1:5349\", \"[::1]:5349\" ];\n"
	    "};\n"
	    "tls: { cert = \"%s\"; key = \"%s\"; };\n"
	    "relay: { addresses = [ \"127.0.0.1\", \"::1\" ];\n"
	    "  allow_peers = [ \"127.0.0.0/8\", \"::1\" ];\n"
	    "  rfc5766_channels = true; };\n"
	    "auth: { users = ( { user = \"%s\"; password = \"%s\"; } ); };\n"
	    "control: { socket = \"%s/control.sock\"; };\n",
	    DEMO_REALM, cert, key, DEMO_USER, password, dir);
	conf = conf_load_string(text, "demo", err, errlen);
	free(text);
	free(cert);
	free(key);
	return (conf);
}

/* Remove the demo certificate directory. */
static void
demo_cleanup(struct turnd *td)
{
	char	*p;

	if (td->td_demo_dir == NULL)
		return;
	p = xasprintf("%s/cert.pem", td->td_demo_dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/key.pem", td->td_demo_dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/control.sock", td->td_demo_dir);
	unlink(p);
	free(p);
	rmdir(td->td_demo_dir);
	free(td->td_demo_dir);
	td->td_demo_dir = NULL;
}

/* What a user pastes into RTCPeerConnection's iceServers. */
static void
demo_print(const struct turnd_conf *conf, const char *password)
{
	char		ip[ADDR_STRLEN], buf[ADDR_STRLEN];
	unsigned int	port;
	const struct sockaddr *sa;

	sa = (const struct sockaddr *)&conf->listen_udp.ca_addr[0];
	addr_fmt(sa, ip, sizeof(ip));
	port = addr_port((const struct sockaddr *)
	    &conf->listen_tls.ca_addr[0]);
	printf("turnd %s demo: loopback only, embedded memory store\n\n",
	    PACKAGE_VERSION);
	printf("ICE server URLs:\n");
	printf("  stun:%s\n", ip);
	printf("  turn:%s?transport=udp\n", ip);
	printf("  turn:%s?transport=tcp\n", ip);
	printf("  turns:localhost:%u?transport=tcp   (self-signed certificate)"
	    "\n\n", port);
	printf("credential (long-term, realm \"%s\"):\n", conf->realm);
	printf("  username: %s\n", DEMO_USER);
	printf("  password: %s\n\n", password);
	printf("iceServers: [{\"urls\": [\"stun:%s\", "
	    "\"turn:%s?transport=udp\", \"turn:%s?transport=tcp\"], "
	    "\"username\": \"%s\", \"credential\": \"%s\"}]\n\n",
	    ip, ip, ip, DEMO_USER, password);
	if (*conf->control_socket != '\0')
		printf("turnctl: turnctl -s %s status\n",
		    conf->control_socket);
	if (conf->metrics_listen.ca_set)
		printf("metrics: http://%s/metrics\n\n", addr_fmt(
		    (const struct sockaddr *)&conf->metrics_listen.ca_ss, buf,
		    sizeof(buf)));
	printf("Press Ctrl-C to stop.\n");
	fflush(stdout);
}

/* One line "stats: name=value ..." summed over the workers. */
static void
stats_log(struct turnd *td)
{
	struct stats	 sum;
	char		 line[4096];	/* every counter at 2^64: under 3 kB */
	size_t		 n;
	int		 r;

	admin_stats(td, &sum);
	n = (size_t)snprintf(line, sizeof(line), "stats:");
#define STATS_FMT(name)							\
	r = snprintf(line + n, sizeof(line) - n, " %s=%llu", #name,	\
	    (unsigned long long)atomic_load(&sum.name));		\
	if (r > 0 && (size_t)r < sizeof(line) - n)			\
		n += (size_t)r;
	STATS_FIELDS(STATS_FMT)
#undef STATS_FMT
	log_info("%s", line);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct turnd	*td = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s: shutting down", strsignal((int)sig));
		event_base_loopbreak(td->td_base);
		break;
	case SIGUSR1:
		stats_log(td);
		break;
	case SIGHUP:
		admin_reload_log(td);
		break;
	case SIGUSR2:
		upgrade_start(td, NULL, 0, NULL, NULL, NULL);
		break;
	}
}

/* Drop to the configured user and group, for good. */
static void
drop_privileges(const struct turnd_conf *conf)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	gid_t		 gid;

	if (*conf->user == '\0' && *conf->group == '\0')
		return;
	if (*conf->user != '\0' && (pw = getpwnam(conf->user)) == NULL)
		fatalx("user: no such user \"%s\"", conf->user);
	if (*conf->group != '\0') {
		if ((gr = getgrnam(conf->group)) == NULL)
			fatalx("group: no such group \"%s\"", conf->group);
		gid = gr->gr_gid;
	} else
		gid = pw->pw_gid;
	/* a live upgrade's new process starts as the old one runs */
	if ((pw == NULL || geteuid() == pw->pw_uid) && getegid() == gid &&
	    geteuid() != 0)
		return;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1)
		fatal("cannot drop privileges to group %u", (unsigned)gid);
	if (pw != NULL) {
		if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("cannot drop privileges to user %s", conf->user);
		if (pw->pw_uid != 0 && setuid(0) != -1)
			fatalx("privileges could be regained after the drop");
	}
	log_info("running as %s%s%s", pw != NULL ? conf->user : "",
	    *conf->group != '\0' ? ":" : "", conf->group);
}

/* 0, or -1 with the reason in err. */
static int
pidfile_try(struct turnd *td, char *err, size_t errlen)
{
	FILE	*f;

	if (*td->td_conf->pidfile == '\0')
		return (0);
	if ((f = fopen(td->td_conf->pidfile, "w")) == NULL ||
	    fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "pidfile: %s: %s", td->td_conf->pidfile,
		    strerror(errno));
		return (-1);
	}
	td->td_pidfile_written = 1;
	return (0);
}

static void
pidfile_write(struct turnd *td)
{
	char	err[512];

	if (pidfile_try(td, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

static unsigned int
worker_count(const struct turnd_conf *conf)
{
	long	n;

	if (conf->workers > 0)
		return ((unsigned int)conf->workers);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return (n > 0 ? (unsigned int)n : 1);
}

static void
log_listeners(const struct listen_set *set)
{
	char			 buf[ADDR_STRLEN];
	unsigned int		 i;

	for (i = 0; i < set->n; i++)
		log_info("listening on %s%s%s %s%s",
		    transport_name(set->ls[i].ls_transport),
		    set->ls[i].ls_tls_too ? "+tls" : "",
		    set->ls[i].ls_dtls_too ? "+dtls" : "",
		    addr_fmt((const struct sockaddr *)&set->ls[i].ls_addr,
		    buf, sizeof(buf)),
		    set->ls[i].ls_group >= 0 ? " (RFC 5780)" : "");
}

/* New realm options from the store: to the quota, then every worker. */
static void
store_realm_cb(void *arg, struct store_realm *sr)
{
	struct turnd	*td = arg;
	unsigned int	 i;

	td->td_realm_uq = sr->sr_user_quota;
	td->td_realm_tq = sr->sr_total_quota;
	admin_quota_limits(td);
	for (i = 0; i < td->td_nworkers; i++) {
		store_realm_ref(sr);
		worker_post_realm(td->td_workers[i], sr);
	}
	store_realm_unref(sr);
}

/* Live allocations, for the registry: counters of every worker. */
static unsigned int
store_count_cb(void *arg)
{
	return (admin_allocations(arg));
}

static void
metrics_stats_cb(void *arg, struct stats *sum)
{
	admin_stats(arg, sum);
}

static unsigned int
metrics_nworkers_cb(void *arg)
{
	return (((struct turnd *)arg)->td_nworkers);
}

static uint64_t
metrics_lag_cb(void *arg, unsigned int i)
{
	return (worker_lag_us(((struct turnd *)arg)->td_workers[i]));
}

static void
metrics_upgrades_cb(void *arg, unsigned int *gen, uint64_t *ok,
    uint64_t *failed)
{
	struct turnd	*td = arg;

	*gen = td->td_generation;
	*ok = td->td_upgrades_ok;
	*failed = td->td_upgrades_failed;
}

static uint64_t
metrics_freeze_cb(void *arg, unsigned int i)
{
	return (atomic_load(&((struct turnd *)arg)->td_workers[i]->w_freeze_us));
}

static int
metrics_ready_cb(void *arg)
{
	return (!((struct turnd *)arg)->td_draining);
}

/*
 * Where clients of family reach this instance over UDP, for other
 * instances' ALTERNATE-SERVER: relay.external's address of that family
 * (1:1 NAT) or the first specific UDP listener's, with the port of the
 * first UDP listener of that family; "" when there is none.
 */
static char *
reach_address(const struct turnd_conf *conf, const struct listen_set *set,
    int family)
{
	struct sockaddr_storage	 ss;
	const struct sockaddr	*ls = NULL;
	char			 buf[ADDR_STRLEN];
	unsigned int		 i;

	for (i = 0; i < set->n && ls == NULL; i++)
		if (set->ls[i].ls_transport == TRANSPORT_UDP &&
		    set->ls[i].ls_addr.ss_family == family)
			ls = (const struct sockaddr *)&set->ls[i].ls_addr;
	if (ls == NULL)
		return (xstrdup(""));
	memcpy(&ss, ls, addr_len(ls));
	(void)conf_relay_external(conf, family, addr_port(ls), &ss);
	if (addr_is_any((const struct sockaddr *)&ss))
		return (xstrdup(""));
	return (xstrdup(addr_fmt((const struct sockaddr *)&ss, buf,
	    sizeof(buf))));
}

/* "udp/127.0.0.1:3478 tcp/..." for the registry. */
static char *
listen_string(const struct listen_set *set)
{
	char			 buf[ADDR_STRLEN], *s = xstrdup(""), *t;
	unsigned int		 i;

	for (i = 0; i < set->n; i++) {
		addr_fmt((const struct sockaddr *)&set->ls[i].ls_addr, buf,
		    sizeof(buf));
		t = xasprintf("%s%s%s/%s%s%s%s%s", s, i > 0 ? " " : "",
		    transport_name(set->ls[i].ls_transport), buf,
		    set->ls[i].ls_tls_too ? " tls/" : "",
		    set->ls[i].ls_tls_too ? buf : "",
		    set->ls[i].ls_dtls_too ? " dtls/" : "",
		    set->ls[i].ls_dtls_too ? buf : "");
		free(s);
		s = t;
	}
	return (s);
}

/* What start-up holds until the workers and the services take it. */
struct turnd_start {
	const char		*ts_path;	/* -c */
	int			 ts_debug;	/* -d */
	int			 ts_foreground;	/* -f */
	int			 ts_check;	/* -n */
	int			 ts_demo;	/* --demo */
	char			 ts_password[32];	/* the demo user's */
	struct listen_set	*ts_sets;	/* one per worker */
	char			*ts_reach4, *ts_reach6;
	int			 ts_metrics_fd;	/* -1: none */
	int			 ts_control_fd;	/* -1: none */
	int			 ts_takeover;	/* started by an upgrade */
	struct takeover		 ts_tk;
};

/* The command line into ts; -V, -h and mistakes exit here. */
static void
start_options(int argc, char *argv[], struct turnd_start *ts)
{
	static const struct option longopts[] = {
		{ "demo",	no_argument,	NULL,	'D' },
		{ "help",	no_argument,	NULL,	'h' },
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:dfhnV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			ts->ts_path = optarg;
			break;
		case 'd':
			ts->ts_debug = 1;
			break;
		case 'f':
			ts->ts_foreground = 1;
			break;
		case 'n':
			ts->ts_check = 1;
			break;
		case 'V':
			printf("turnd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'D':
			ts->ts_demo = 1;
			ts->ts_foreground = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* The configuration and its TLS context: 0, or -1 (told on stderr). */
static int
start_conf(struct turnd *td, struct turnd_start *ts)
{
	char	err[CONF_ERR_LEN + 256];

	if (ts->ts_demo)
		td->td_conf = demo_conf(td, ts->ts_password,
		    sizeof(ts->ts_password), err, sizeof(err));
	else
		td->td_conf = conf_load(ts->ts_path, err, sizeof(err));
	if (td->td_conf == NULL) {
		fprintf(stderr, "turnd: %s\n", err);
		return (-1);
	}
	if (td->td_conf->listen_tls.ca_n + td->td_conf->listen_dtls.ca_n > 0 &&
	    (td->td_tls = tls_ctx_new(td->td_conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "turnd: %s%s%s\n",
		    td->td_conf->path ? td->td_conf->path : "",
		    td->td_conf->path ? ": " : "", err);
		return (-1);
	}
	return (0);
}

/* Logging: a daemon with nowhere to write goes to syslog.  0, or -1. */
static int
start_log(struct turnd *td, struct turnd_start *ts)
{
	const struct turnd_conf	*conf = td->td_conf;
	int			 level, fd;

	level = ts->ts_debug ? LOG_LVL_DEBUG : log_level_parse(conf->log_level);
	fd = ts->ts_takeover ? takeover_log_fd() : -1;
	if (fd != -1 && !conf->log_syslog && *conf->log_file != '\0') {
		log_adopt(level, fd);	/* the old process's file */
		return (0);
	}
	if (fd != -1)
		close(fd);
	if (log_open(level, conf->log_file, conf->log_syslog ||
	    (!ts->ts_foreground && *conf->log_file == '\0')) == -1) {
		fprintf(stderr, "turnd: log.file: %s: %s\n", conf->log_file,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * A live upgrade's new process binds nothing: the old one hands over its
 * listeners, control and metrics sockets, and the process state (the
 * nonce secret, the instance id).  0, or -1 (on stderr as well).
 */
static int
start_takeover(struct turnd *td, struct turnd_start *ts)
{
	struct takeover	*tk = &ts->ts_tk;
	char		 err[512];

	/* a signal to the whole service must not end the takeover: the
	 * loop's handlers come with start_daemon() */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	if (takeover_begin(tk, td->td_conf, td->td_nworkers, err,
	    sizeof(err)) == -1) {
		log_warnx("takeover refused: %s", err);
		fprintf(stderr, "turnd: takeover refused: %s\n", err);
		return (-1);
	}
	ts->ts_sets = tk->tk_sets;
	tk->tk_sets = NULL;
	ts->ts_metrics_fd = tk->tk_metrics_fd;
	ts->ts_control_fd = tk->tk_control_fd;
	tk->tk_metrics_fd = tk->tk_control_fd = -1;
	memcpy(td->td_iid, tk->tk_iid, sizeof(td->td_iid));
	td->td_generation = tk->tk_generation + 1;
	td->td_first_started = tk->tk_started;
	td->td_listen = listen_string(&ts->ts_sets[0]);
	ts->ts_reach4 = reach_address(td->td_conf, &ts->ts_sets[0], AF_INET);
	ts->ts_reach6 = reach_address(td->td_conf, &ts->ts_sets[0], AF_INET6);
	log_info("takeover: from generation %u, instance %s",
	    tk->tk_generation, td->td_iid);
	return (0);
}

/*
 * The workers, made with the old process's sockets, take its state one
 * by one and start; then the commit.  A failure here exits at once: the
 * old process rolls back, and nothing of what was taken may end (that
 * would end it in the store too).
 */
static void
start_takeover_run(struct turnd *td, struct turnd_start *ts)
{
	char	err[512];

	snprintf(err, sizeof(err), "the old process is gone");
	if (takeover_run(&ts->ts_tk, td->td_workers, td->td_nworkers,
	    td->td_resv, err, sizeof(err)) == -1 ||
	    (pidfile_try(td, err, sizeof(err)) == -1 &&
	    takeover_refuse(&ts->ts_tk, err) == -1) ||
	    takeover_commit(&ts->ts_tk) == -1) {
		log_warnx("takeover failed: %s", err);
		fprintf(stderr, "turnd: takeover failed: %s\n", err);
		_exit(1);
	}
	td->td_taken_over = time(NULL);
	log_info("takeover: %u allocation%s taken over; generation %u",
	    ts->ts_tk.tk_moved, ts->ts_tk.tk_moved == 1 ? "" : "s",
	    td->td_generation);
	takeover_free(&ts->ts_tk);
}

/*
 * Bind every socket while still root: the listeners of each worker, then
 * metrics.listen and control.socket.  0, or -1 (logged, and on stderr
 * too in the demo).
 */
static int
start_bind(struct turnd *td, struct turnd_start *ts)
{
	char	err[CONF_ERR_LEN + 256];

	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	td->td_nworkers = worker_count(td->td_conf);
	if (ts->ts_takeover)
		return (start_takeover(td, ts));
	ts->ts_sets = xcalloc(td->td_nworkers, sizeof(*ts->ts_sets));
	if (listen_open(td->td_conf, td->td_nworkers, ts->ts_sets, err,
	    sizeof(err)) == -1)
		goto fail;
	log_listeners(&ts->ts_sets[0]);
	td->td_listen = listen_string(&ts->ts_sets[0]);
	ts->ts_reach4 = reach_address(td->td_conf, &ts->ts_sets[0], AF_INET);
	ts->ts_reach6 = reach_address(td->td_conf, &ts->ts_sets[0], AF_INET6);
	if ((ts->ts_metrics_fd = metrics_bind(td->td_conf, err,
	    sizeof(err))) == -2 || (ts->ts_control_fd = control_bind(
	    td->td_conf, err, sizeof(err))) == -2)
		goto fail;
	return (0);

fail:
	log_warnx("%s", err);
	if (ts->ts_demo)
		fprintf(stderr, "turnd: %s\n", err);
	return (-1);
}

/* Into the background, the pidfile, the privilege drop, the signals. */
static void
start_daemon(struct turnd *td, struct turnd_start *ts)
{
	static const int	sigs[TURND_NSIGNALS] = {
		SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2, 0
	};
	unsigned int		i;

	/* a takeover is in the background already; its pidfile comes at
	 * the commit */
	if (!ts->ts_takeover) {
		if (!ts->ts_foreground && daemon(0, 0) == -1)
			fatal("daemon");
		pidfile_write(td);
	}
	drop_privileges(td->td_conf);

	if ((td->td_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; sigs[i] != 0; i++) {
		td->td_sig[i] = evsignal_new(td->td_base, sigs[i], signal_cb,
		    td);
		if (td->td_sig[i] == NULL ||
		    event_add(td->td_sig[i], NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
}

/* The shared modules, then the workers, which take their sockets. */
static void
start_workers(struct turnd *td, struct turnd_start *ts)
{
	const struct turnd_conf	*conf = td->td_conf;
	struct worker_shared	 ws;
	struct store_realm	*realm;
	uint8_t			 secret[32];
	unsigned int		 i;

	td->td_connlimit = connlimit_new(
	    (unsigned int)conf->lim_connections,
	    (unsigned int)conf->lim_connections_per_source);
	td->td_dtls_hs = connlimit_new(
	    (unsigned int)conf->lim_dtls_handshakes,
	    (unsigned int)conf->lim_dtls_handshakes_per_source);
	if (ts->ts_takeover)
		memcpy(secret, ts->ts_tk.tk_nonce, sizeof(secret));
	else if (auth_nonce_secret(conf, secret) == -1)
		fatalx("cannot make the nonce secret");
	if ((td->td_auth = auth_new(conf, secret)) == NULL)
		fatalx("cannot set up authentication");
	memcpy(td->td_nonce, secret, sizeof(td->td_nonce));
	explicit_bzero(secret, sizeof(secret));
	td->td_debug = ts->ts_debug;
	td->td_realm_uq = td->td_realm_tq = -1;
	td->td_policy = policy_new(conf);
	td->td_ratelim = ratelim_new();
	td->td_quota = quota_new((unsigned int)conf->relay_user_quota,
	    (unsigned int)conf->relay_total_quota);
	td->td_resv = resv_new(td->td_quota);
	if (!ts->ts_takeover)
		store_instance_id(td->td_iid);
	realm = store_realm_new();
	ws.ws_iid = td->td_iid;
	ws.ws_realm = realm;
	ws.ws_tls = td->td_tls;
	ws.ws_connlimit = td->td_connlimit;
	ws.ws_dtls_hs = td->td_dtls_hs;
	ws.ws_auth = td->td_auth;
	ws.ws_policy = td->td_policy;
	ws.ws_resv = td->td_resv;
	ws.ws_quota = td->td_quota;
	ws.ws_ratelim = td->td_ratelim;
	td->td_workers = xcalloc(td->td_nworkers, sizeof(*td->td_workers));
	ws.ws_workers = td->td_workers;
	ws.ws_nworkers = td->td_nworkers;
	for (i = 0; i < td->td_nworkers; i++) {
		td->td_workers[i] = worker_new(i, conf, &ts->ts_sets[i], &ws);
		listen_close(&ts->ts_sets[i]);	/* frees what was not taken */
	}
	free(ts->ts_sets);
	ts->ts_sets = NULL;
	store_realm_unref(realm);
	if (ts->ts_takeover) {
		start_takeover_run(td, ts);
		return;
	}
	for (i = 0; i < td->td_nworkers; i++)
		if (worker_start(td->td_workers[i]) == -1)
			fatalx("cannot start worker %u", i);
}

/* The store's registry, the control socket and the metrics. */
static void
start_services(struct turnd *td, struct turnd_start *ts)
{
	struct store_main_hooks	smh;
	struct control_hooks	chooks;
	struct metrics_source	msrc;

	memset(&smh, 0, sizeof(smh));
	smh.mh_realm = store_realm_cb;
	smh.mh_count = store_count_cb;
	smh.mh_arg = td;
	td->td_store = store_main_new(td->td_conf, td->td_base, td->td_iid,
	    td->td_listen, ts->ts_reach4, ts->ts_reach6, &smh);
	td->td_started = time(NULL);
	if (ts->ts_control_fd >= 0) {
		memset(&chooks, 0, sizeof(chooks));
		chooks.ch_request = admin_request;
		chooks.ch_arg = td;
		td->td_control = control_new(td->td_conf, td->td_base,
		    ts->ts_control_fd, &chooks);
		ts->ts_control_fd = -1;
	}
	if (ts->ts_metrics_fd >= 0) {
		memset(&msrc, 0, sizeof(msrc));
		msrc.ms_stats = metrics_stats_cb;
		msrc.ms_nworkers = metrics_nworkers_cb;
		msrc.ms_lag_us = metrics_lag_cb;
		msrc.ms_ready = metrics_ready_cb;
		msrc.ms_upgrades = metrics_upgrades_cb;
		msrc.ms_freeze_us = metrics_freeze_cb;
		msrc.ms_arg = td;
		td->td_metrics = metrics_new(td->td_conf, td->td_base,
		    ts->ts_metrics_fd, &msrc);
		ts->ts_metrics_fd = -1;
	}
}

/* After a live upgrade's commit: the TCP/TLS clients left drain. */
static void
drain_stayed(struct turnd *td, int timeout)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	admin_drain(td, timeout, 0, &sb);
	log_info("upgrade: %.*s", (int)strcspn(sbuf_str(&sb), "\n"),
	    sbuf_str(&sb));
	sbuf_free(&sb);
}

/* The loop has ended: stop the workers, then the last stats line. */
static void
turnd_stop(struct turnd *td)
{
	unsigned int	i;

	upgrade_abort(td);
	td->td_stopping = 1;
	if (td->td_drain_ev != NULL)
		event_free(td->td_drain_ev);
	td->td_drain_ev = NULL;
	for (i = 0; i < td->td_nworkers; i++)
		worker_stop(td->td_workers[i]);
	stats_log(td);
}

/*
 * Free whatever start-up made, as far as it got (everything, after a
 * run): the one way out of main().
 */
static void
turnd_clear(struct turnd *td, struct turnd_start *ts)
{
	unsigned int	i;

	if (td->td_drain_ev != NULL)
		event_free(td->td_drain_ev);
	control_free(td->td_control);
	metrics_free(td->td_metrics);
	store_main_free(td->td_store);
	for (i = 0; td->td_workers != NULL && i < td->td_nworkers; i++)
		worker_free(td->td_workers[i]);
	free(td->td_workers);
	/* what the workers finished last handed back: a reload's leftovers */
	if (td->td_base != NULL)
		event_base_loop(td->td_base, EVLOOP_NONBLOCK);
	for (i = 0; i < TURND_NSIGNALS && td->td_sig[i] != NULL; i++)
		event_free(td->td_sig[i]);
	if (td->td_base != NULL)
		event_base_free(td->td_base);
	connlimit_free(td->td_connlimit);
	connlimit_free(td->td_dtls_hs);
	resv_free(td->td_resv);
	quota_free(td->td_quota);
	ratelim_free(td->td_ratelim);
	policy_free(td->td_policy);
	auth_free(td->td_auth);
	SSL_CTX_free(td->td_tls);
	if (td->td_pidfile_written)
		(void)unlink(td->td_conf->pidfile);
	demo_cleanup(td);
	if (ts->ts_takeover)
		takeover_free(&ts->ts_tk);
	free(td->td_exe);
	free(td->td_listen);
	conf_free(td->td_conf);
	explicit_bzero(td->td_nonce, sizeof(td->td_nonce));
	if (ts->ts_metrics_fd >= 0)
		close(ts->ts_metrics_fd);
	if (ts->ts_control_fd >= 0)
		close(ts->ts_control_fd);
	for (i = 0; ts->ts_sets != NULL && i < td->td_nworkers; i++)
		listen_close(&ts->ts_sets[i]);
	free(ts->ts_sets);
	free(ts->ts_reach4);
	free(ts->ts_reach6);
	explicit_bzero(ts->ts_password, sizeof(ts->ts_password));
}

int
main(int argc, char *argv[])
{
	struct turnd		td;
	struct turnd_start	ts;
	int			rc = 1, ran = 0;

	memset(&td, 0, sizeof(td));
	memset(&ts, 0, sizeof(ts));
	ts.ts_path = TURND_CONF_DEFAULT;
	ts.ts_metrics_fd = ts.ts_control_fd = -1;
	ts.ts_tk.tk_fd = -1;
	td.td_argv = argv;
	td.td_exe = upgrade_self_path();
	td.td_generation = 1;
	td.td_first_started = time(NULL);
	td.td_drain_stayed = drain_stayed;
	start_options(argc, argv, &ts);
	ts.ts_takeover = takeover_wanted();
	if (start_conf(&td, &ts) == -1)
		rc = 1;
	else if (ts.ts_check) {
		printf("configuration OK\n");
		rc = 0;
	} else if (start_log(&td, &ts) == 0 && start_bind(&td, &ts) == 0) {
		start_daemon(&td, &ts);
		start_workers(&td, &ts);
		start_services(&td, &ts);
		log_info("turnd %s ready: %u workers, realm \"%s\", store %s",
		    PACKAGE_VERSION, td.td_nworkers, td.td_conf->realm,
		    td.td_conf->store_backend);
		if (ts.ts_demo)
			demo_print(td.td_conf, ts.ts_password);
		event_base_dispatch(td.td_base);
		turnd_stop(&td);
		rc = 0;
		ran = 1;
	}
	turnd_clear(&td, &ts);
	if (ran)
		log_info("exited cleanly");
	log_close();
	return (rc);
}
