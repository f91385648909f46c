/*
 * turnd.h -- the daemon's context: one struct made in main() and passed
 * down (STYLE.md section 3).
 */

#ifndef TURND_H
#define TURND_H

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
	char			 td_iid[17];	/* instance id */
	struct event		*td_sig[TURND_NSIGNALS];
	char			*td_demo_dir;	/* demo certificate, removed at exit */
	int			 td_pidfile_written;
};

#endif /* TURND_H */
