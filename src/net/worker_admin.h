/*
 * worker_admin.h -- what the main thread asks of the workers: run a
 * function in every worker's loop and learn when all of them have, and
 * the setters that change a worker (its conf, its TLS context, its
 * server) from inside its own loop.
 *
 * The setters and the queries touch a worker's state without a lock:
 * call them only from a worker_each() function, which runs in the loop
 * of the worker it is given.
 */

#ifndef WORKER_ADMIN_H
#define WORKER_ADMIN_H

#include <sys/socket.h>

#include <openssl/ssl.h>

struct auth;
struct event_base;
struct policy;
struct sbuf;
struct server_filter;
struct turnd_conf;
struct worker;

/* Runs in the loop of worker ws[idx]. */
typedef void	(*worker_each_cb)(struct worker *, unsigned int idx,
		    void *arg);
/* Runs once every worker has run its worker_each_cb. */
typedef void	(*worker_done_cb)(void *arg);

/*
 * Run fn(ws[i], i, arg) in the loop of each of the n workers, then
 * done(arg) once all of them have returned: on base's loop when base is
 * not NULL (the main thread), else in the thread of the last worker to
 * finish.  Each fn may write its own slot of what arg points to; done
 * sees every slot written.  fatalx() when a loop cannot be reached.
 */
void	worker_each(struct worker **ws, unsigned int n, worker_each_cb fn,
	    void *arg, worker_done_cb done, struct event_base *base);

/*
 * A reload: the worker and its server take conf, auth and policy, and
 * tls unless it is NULL (the TLS context stays).  The caller keeps the
 * old ones alive until every worker has let go (worker_each()'s done).
 */
void	worker_set_conf(struct worker *, const struct turnd_conf *,
	    const struct auth *, const struct policy *, SSL_CTX *tls);
/*
 * Stop granting allocations: Allocate gets 300 ALTERNATE-SERVER with
 * alt4 or alt6 (the client's family; NULL: none known), else 508.
 */
void	worker_drain(struct worker *, const struct sockaddr *alt4,
	    const struct sockaddr *alt6);
/*
 * The worker's allocations matching f, at most max, appended to sb;
 * their number (server_sessions()).  worker_kill() ends those matching
 * f; how many (server_kill()).
 */
unsigned int worker_sessions(struct worker *, const struct server_filter *,
	    unsigned int max, struct sbuf *);
unsigned int worker_kill(struct worker *, const struct server_filter *);

#endif /* WORKER_ADMIN_H */
