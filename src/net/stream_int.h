/*
 * stream_int.h -- what stream.c (a connection's framing) and accept.c
 * (listeners, the accept phase: PROXY header, first-byte sniff) share;
 * private to src/net.
 */

#ifndef STREAM_INT_H
#define STREAM_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "net/net.h"
#include "net/proxy.h"
#include "stun/stun.h"

#define CONN_OUT_MAX	(256 * 1024)	/* answers queued before pausing */
#define CONN_IN_MAX	(2 * (STUN_MSG_MAX + 3))
#define CONN_REPLY_MAX	2048		/* room for any one answer */
#define CONN_BATCH	16384		/* answers of one read pass */

struct stream_set;

/* One TCP/TLS listener of a worker. */
struct slisten {
	struct stream_set	*sl_set;
	struct lsock		 sl_ls;
	struct evconnlistener	*sl_lev;
	struct event		*sl_resume;	/* ends a pause of accept */
	time_t			 sl_last_warn;	/* accept errors, rate limit */
};

/* One TCP or TLS client connection. */
struct conn {
	struct path		 c_path;	/* first: a path is a conn */
	TAILQ_ENTRY(conn)	 c_entry;
	struct stream_set	*c_set;
	struct worker		*c_w;
	struct bufferevent	*c_bev;
	enum transport		 c_transport;
	struct sockaddr_storage	 c_peer;
	struct sockaddr_storage	 c_local;
	struct event		*c_hs_timer;	/* TLS: handshake deadline */
	struct event		*c_sniff;	/* one port: first byte due */
	evutil_socket_t		 c_fd;
	int			 c_tls_up;	/* handshake done */
	int			 c_partial;	/* a frame is half in */
	int			 c_backlog;	/* reading paused on output */
	int			 c_closing;	/* garbage seen: flush, then close */
	int			 c_framed;	/* a frame was handled */
	int			 c_reading;	/* inside conn_frame() */
	struct timeval		 c_frame_start;
};

/* A connection from listen.proxy_from whose PROXY header is not in. */
struct pconn {
	TAILQ_ENTRY(pconn)	 pc_entry;
	struct slisten		*pc_sl;
	int			 pc_fd;
	struct event		*pc_ev;		/* readable, or the deadline */
	struct sockaddr_storage	 pc_peer;	/* the balancer */
	struct timeval		 pc_deadline;
	size_t			 pc_len;	/* header bytes taken so far */
	uint8_t			 pc_buf[PROXY_MAX];
};

/* The stream listeners of a worker and their connections. */
struct stream_set {
	struct worker		*ss_w;
	struct slisten		*ss_ls;
	unsigned int		 ss_n;
	TAILQ_HEAD(, conn)	 ss_conns;
	unsigned int		 ss_nconns;
	TAILQ_HEAD(, pconn)	 ss_pconns;
};


extern const struct path_ops stream_path_ops;

/* stream.c */
struct timeval	stream_secs(int);
/* Start the connection's bufferevent; c may be freed on return. */
void	stream_conn_start(struct conn *);
/* Close c: tells the server first, which ends what its path carried. */
void	stream_conn_free(struct conn *);

#endif /* STREAM_INT_H */
