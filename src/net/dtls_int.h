/*
 * dtls_int.h -- what the two files of the DTLS listener share: dtls.c
 * (associations, the read path, the set) and dtls_ctx.c (the OpenSSL
 * context, our datagram BIO, the cookies of RFC 6347 4.2.1).
 */

#ifndef DTLS_INT_H
#define DTLS_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "conf/conf.h"
#include "net/net.h"

#define DTLS_ROUNDS	64	/* datagrams per wakeup, then yield */
#define DTLS_RXBUF	65536	/* any datagram fits */
#define DTLS_PLAIN	16384	/* largest record payload (RFC 6347 4.1) */
#define DTLS_REPLY	2048	/* STUN answers are small */
#define DTLS_RECORDS	16	/* records read from one datagram */
#define DTLS_MTU	1400	/* records the handshake is cut into */
#define DTLS_KEY_SECS	60	/* a cookie key is current this long */
#define DTLS_BUCKETS	256	/* first size of the hash table */

struct dtls_set;
struct dsock;

/* What our BIO reads and where it writes. */
struct dio {
	struct dsock		*io_sock;
	struct sockaddr_storage	 io_peer;
	struct sockaddr_storage	 io_local;
	const uint8_t		*io_in;		/* the datagram, or NULL */
	size_t			 io_inlen;
};

/* An association: one client 5-tuple. */
struct dassoc {
	struct path		 a_path;	/* first: a path is a dassoc */
	struct dio		 a_io;
	SSL			*a_ssl;
	time_t			 a_created;
	time_t			 a_last;	/* the client's last datagram */
	int			 a_ready;	/* handshake done */
	struct dassoc		*a_hnext;
	TAILQ_ENTRY(dassoc)	 a_entry;	/* d_hs or d_live */
};
TAILQ_HEAD(dassoc_list, dassoc);

/* One DTLS socket of a worker. */
struct dsock {
	struct dtls_set		*ds_set;
	struct lsock		 ds_ls;
	struct event		*ds_ev;
	int			 ds_wild;
	SSL			*ds_ssl;	/* listening, no state */
	struct dio		 ds_io;
	BIO_ADDR		*ds_client;
	int			 ds_shared;	/* fd and reads are udp.c's */
};

struct dtls_set {
	struct worker		*d_w;
	struct dsock		*d_socks;
	unsigned int		 d_n;
	SSL_CTX			*d_ctx;
	BIO_METHOD		*d_meth;
	uint8_t			 d_key[2][32];	/* current, previous */
	time_t			 d_key_time;
	uint32_t		 d_seed;
	struct dassoc		**d_hash;
	unsigned int		 d_nbuckets;
	unsigned int		 d_nassoc;
	struct dassoc_list	 d_hs;		/* by creation */
	struct dassoc_list	 d_live;	/* by last datagram */
	uint8_t			*d_rxbuf;	/* DTLS_RXBUF */
	uint8_t			 d_plain[DTLS_PLAIN];
	uint8_t			 d_reply[DTLS_REPLY];
	uint8_t			 d_gather[DTLS_PLAIN];
};

static inline struct stats *
dtls_stats(struct dtls_set *d)
{
	return (&d->d_w->w_stats);
}

/* dtls_ctx.c */
/* Our BIO (dtls_meth_new()) over io: reads io_in, writes to io_peer. */
BIO	*dtls_bio_new(struct dtls_set *, struct dio *);
void	 dtls_meth_new(struct dtls_set *);
/* A new current cookie key; the current one becomes the previous. */
void	 dtls_key_rotate(struct dtls_set *, time_t now);
/* The cookie of sa under key k: 0 the current one, 1 the previous. */
void	 dtls_cookie_make(const struct dtls_set *, int k,
	    const struct sockaddr *sa, uint8_t out[32]);
/* 1 if cookie is sa's under the current or the previous key, else 0. */
int	 dtls_cookie_check(const struct dtls_set *, const struct sockaddr *sa,
	    const unsigned char *cookie, unsigned int len);
SSL_CTX	*dtls_ctx_new(const struct turnd_conf *, SSL_CTX *tls);

#endif /* DTLS_INT_H */
