/*
 * turnd.h -- the daemon's context: one struct made in main() and passed
 * down (STYLE.md section 3).
 */

#ifndef TURND_H
#define TURND_H

#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

struct auth;
struct connlimit;
struct policy;
struct quota;
struct resv;
struct event;
struct event_base;
struct turnd_conf;
struct store_main;
struct metrics;
struct control;
struct sbuf;
struct stats;
struct worker;

#define TURND_NSIGNALS	5

struct turnd {
	struct turnd_conf	*td_conf;
	struct event_base	*td_base;	/* main thread: signals */
	struct worker		**td_workers;
	unsigned int		 td_nworkers;
	SSL_CTX			*td_tls;
	struct connlimit	*td_connlimit;
	struct auth		*td_auth;	/* shared by the workers */
	struct policy		*td_policy;
	struct resv		*td_resv;
	struct quota		*td_quota;
	struct store_main	*td_store;	/* NULL: memory store */
	struct metrics		*td_metrics;	/* NULL: metrics.listen "" */
	int			 td_draining;	/* no new allocations */
	struct control		*td_control;	/* NULL: control.socket "" */
	char			*td_listen;	/* "udp/127.0.0.1:3478 ..." */
	time_t			 td_started;
	struct event		*td_drain_ev;	/* once a second while draining */
	time_t			 td_drain_deadline; /* 0: none */
	int			 td_stopping;	/* the loop has ended */
	uint8_t			 td_nonce[32];	/* the nonce secret in use */
	int			 td_debug;	/* -d: log level fixed */
	long long		 td_realm_uq;	/* Redis realm options in force */
	long long		 td_realm_tq;	/* (-1: the conf's) */
	struct turnd_conf	**td_retired;	/* confs replaced by reloads:
						 * still referenced, freed at
						 * exit */
	unsigned int		 td_nretired;
	char			 td_iid[17];	/* instance id */
	struct event		*td_sig[TURND_NSIGNALS];
	char			*td_demo_dir;	/* demo certificate, removed at exit */
	int			 td_pidfile_written;
};

/* turnd_admin.c: the control socket's hooks */
/* The counters of every worker, summed into *sum (zeroed first). */
void		turnd_stats(struct turnd *, struct stats *sum);
unsigned int	turnd_allocations(struct turnd *);
void		turnd_status(void *, int json, struct sbuf *);
int		turnd_reload(void *, int json, struct sbuf *);
void		turnd_reload_log(struct turnd *);
void		turnd_quota_limits(struct turnd *);
int		turnd_drain(void *, int timeout, int json, struct sbuf *);

#endif /* TURND_H */
