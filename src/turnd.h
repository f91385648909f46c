/*
 * turnd.h -- the daemon's context: one struct made in main() (turnd.c)
 * and passed down; admin/admin.h answers the control socket with it.
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
struct ratelim;
struct resv;
struct event;
struct event_base;
struct turnd_conf;
struct store_main;
struct metrics;
struct control;
struct worker;

#define TURND_NSIGNALS	5

struct turnd {
	struct turnd_conf	*td_conf;
	struct event_base	*td_base;	/* main thread: signals */
	struct worker		**td_workers;
	unsigned int		 td_nworkers;
	SSL_CTX			*td_tls;
	struct connlimit	*td_connlimit;
	struct connlimit	*td_dtls_hs;	/* DTLS handshakes under way */
	struct auth		*td_auth;	/* shared by the workers */
	struct policy		*td_policy;
	struct resv		*td_resv;
	struct quota		*td_quota;
	struct ratelim		*td_ratelim;	/* auth.unauth_rate */
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
	char			 td_iid[17];	/* instance id */
	struct event		*td_sig[TURND_NSIGNALS];
	char			*td_demo_dir;	/* demo certificate, removed at exit */
	int			 td_pidfile_written;
};

#endif /* TURND_H */
