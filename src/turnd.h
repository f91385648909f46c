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

#define TURND_NSIGNALS	6

struct upgrade;

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

	/* the live upgrade (admin/upgrade.c, admin/takeover.c) */
	char			**td_argv;	/* as started, for the next */
	char			*td_exe;	/* this binary's path */
	unsigned int		 td_generation;	/* 1 + the process it took
						 * over from; 1: started */
	time_t			 td_taken_over;	/* when; 0: never */
	time_t			 td_first_started; /* generation 1 started */
	uint64_t		 td_upgrades_ok;	/* handed over from here */
	uint64_t		 td_upgrades_failed;	/* rolled back */
	struct upgrade		*td_upgrade;	/* NULL: none under way */
	int			 td_handed_over; /* committed: only the TCP
						 * and TLS clients are left */
	/* after the commit: drain what stayed (turnd.c: admin_drain) */
	void			(*td_drain_stayed)(struct turnd *, int timeout);
};

#endif /* TURND_H */
