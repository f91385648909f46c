/*
 * dtls.c -- the DTLS listener of a worker: STUN and TURN over DTLS 1.2
 * (RFC 7350, RFC 6347), the relay staying UDP.
 *
 * A datagram from a source without an association must be a ClientHello
 * (anything else is dropped and counted).  It goes to the socket's one
 * listening SSL through DTLSv1_listen(), which answers a HelloVerifyRequest
 * with a cookie (RFC 6347 4.2.1) and keeps nothing: the cookie is an HMAC
 * of the source address and port under a key rotated every
 * DTLS_KEY_SECS, the previous key still accepted.  Only a ClientHello
 * that returns a valid cookie makes an association: that SSL, keyed by
 * the source address in the set's hash table, counted against
 * limits.connections and limits.connections_per_source like a TCP
 * connection.  Its handshake must end within limits.frame_timeout of
 * its creation; an association without a datagram from its client for
 * limits.idle_timeout, or that receives close_notify or a fatal alert,
 * ends, and with it its allocation (server_path_closed()).
 *
 * Records go through a BIO of our own (dtls_ctx.c, with the context and
 * the cookies): a read hands OpenSSL the one datagram just received, a
 * write is one datagram sent at once.  Each
 * association is a path (src/turn/path.h) with p_fd = -1: the batches
 * send to it through dtls_path_send(), one record per message.
 *
 * A socket of listen.dtls that is also in listen.udp (ls_dtls_too) is
 * the UDP socket of udp.c: it reads, and hands over the datagrams whose
 * first byte is a DTLS record's (RFC 7983 section 7) through
 * dtls_udp_input(); our BIO writes on its fd.  The associations are
 * keyed by source and socket alone: the other datagrams of a source
 * never come here, and its plain allocation (TRANSPORT_UDP) and its DTLS
 * one (TRANSPORT_DTLS) are two allocations (src/turn/alloc.c).
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/dtls_int.h"
#include "net/net.h"
#include "net/sock.h"

/* ------------------------------------------------------ associations */

static unsigned int
dtls_bucket(const struct dtls_set *d, const struct dsock *ds,
    const struct sockaddr *sa)
{
	uint32_t	h = addr_hash_ip(sa, d->d_seed);

	h ^= (uint32_t)addr_port(sa) * 0x9E3779B1u;
	h ^= (uint32_t)(ds - d->d_socks) * 0x85EBCA6Bu;
	return (h & (d->d_nbuckets - 1));
}

static struct dassoc *
dtls_find(struct dtls_set *d, struct dsock *ds, const struct sockaddr *sa)
{
	struct dassoc	*a;

	for (a = d->d_hash[dtls_bucket(d, ds, sa)]; a != NULL;
	    a = a->a_hnext)
		if (a->a_io.io_sock == ds &&
		    addr_eq((struct sockaddr *)&a->a_io.io_peer, sa))
			return (a);
	return (NULL);
}

static void
dtls_hash_add(struct dtls_set *d, struct dassoc *a)
{
	unsigned int	b = dtls_bucket(d, a->a_io.io_sock,
	    (struct sockaddr *)&a->a_io.io_peer);

	a->a_hnext = d->d_hash[b];
	d->d_hash[b] = a;
}

/* Twice the buckets when the chains grow past two on average. */
static void
dtls_hash_grow(struct dtls_set *d)
{
	struct dassoc	**old = d->d_hash, *a, *next;
	unsigned int	  n = d->d_nbuckets, i;

	if (d->d_nassoc <= 2 * n)
		return;
	d->d_nbuckets = 2 * n;
	d->d_hash = xcalloc(d->d_nbuckets, sizeof(*d->d_hash));
	for (i = 0; i < n; i++)
		for (a = old[i]; a != NULL; a = next) {
			next = a->a_hnext;
			dtls_hash_add(d, a);
		}
	free(old);
}

static void
dtls_hash_del(struct dtls_set *d, struct dassoc *a)
{
	struct dassoc	**pp;

	for (pp = &d->d_hash[dtls_bucket(d, a->a_io.io_sock,
	    (struct sockaddr *)&a->a_io.io_peer)]; *pp != NULL;
	    pp = &(*pp)->a_hnext)
		if (*pp == a) {
			*pp = a->a_hnext;
			return;
		}
}

/* End a: its allocation first; close_notify when it was established. */
static void
dtls_assoc_free(struct dassoc *a, int notify)
{
	struct dtls_set	*d = a->a_io.io_sock->ds_set;
	struct worker	*w = d->d_w;

	server_path_closed(&w->w_srv, &a->a_path,
	    (struct sockaddr *)&a->a_io.io_peer,
	    (struct sockaddr *)&a->a_io.io_local);
	dtls_hash_del(d, a);
	TAILQ_REMOVE(a->a_ready ? &d->d_live : &d->d_hs, a, a_entry);
	d->d_nassoc--;
	connlimit_release(w->w_connlimit, (struct sockaddr *)&a->a_io.io_peer);
	if (!a->a_ready)
		connlimit_release(w->w_dtls_hs,
		    (struct sockaddr *)&a->a_io.io_peer);
	a->a_io.io_in = NULL;
	if (notify && a->a_ready)
		(void)SSL_shutdown(a->a_ssl);
	SSL_free(a->a_ssl);	/* and its BIO */
	ERR_clear_error();
	free(a);
}

static void
dtls_path_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	struct dassoc	*a = (struct dassoc *)p;
	struct dtls_set	*d = a->a_io.io_sock->ds_set;
	size_t		 len = 0;
	int		 i;

	(void)to;
	(void)from;
	if (!a->a_ready)
		return;
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > sizeof(d->d_gather) - len) {
			STATS_INC(dtls_stats(d), dtls_send_failed);
			return;
		}
		memcpy(d->d_gather + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (len == 0)
		return;
	if (SSL_write(a->a_ssl, d->d_gather, (int)len) <= 0) {
		STATS_INC(dtls_stats(d), dtls_send_failed);
		ERR_clear_error();
	}
}

static void
dtls_tls_info(const struct path *p, const char **version, const char **cipher)
{
	const struct dassoc	*a = (const struct dassoc *)p;

	*version = SSL_get_version(a->a_ssl);
	*cipher = SSL_get_cipher_name(a->a_ssl);
}

static const struct path_ops dtls_path_ops = {
	.po_send = dtls_path_send,
	.po_tls_info = dtls_tls_info,
};

/*
 * A cookie came back from src: 0 if it may have an association, which
 * then holds a slot of limits.dtls_handshakes(_per_source) until its
 * handshake ends and one of limits.connections(_per_source) until it
 * ends; -1, counted, if a limit is reached (the ClientHello is dropped;
 * the client sends it again after its retransmission timer).
 */
static int
dtls_admit(struct dtls_set *d, const struct sockaddr *src)
{
	struct worker	*w = d->d_w;

	if (connlimit_acquire(w->w_dtls_hs, src) == -1) {
		STATS_INC(dtls_stats(d), dtls_handshake_limited);
		return (-1);
	}
	if (connlimit_acquire(w->w_connlimit, src) == -1) {
		connlimit_release(w->w_dtls_hs, src);
		STATS_INC(dtls_stats(d), dtls_rejected);
		return (-1);
	}
	return (0);
}

/* The listening SSL of ds becomes an association. */
static struct dassoc *
dtls_assoc_new(struct dsock *ds, SSL *ssl)
{
	struct dtls_set	*d = ds->ds_set;
	struct dassoc	*a = xcalloc(1, sizeof(*a));

	path_init(&a->a_path, &dtls_path_ops, TRANSPORT_DTLS, -1, 0, 0);
	a->a_io = ds->ds_io;
	a->a_io.io_in = NULL;
	a->a_ssl = ssl;
	BIO_set_data(SSL_get_rbio(ssl), &a->a_io);
	a->a_created = a->a_last = d->d_w->w_srv.sv_now;
	d->d_nassoc++;
	dtls_hash_add(d, a);
	dtls_hash_grow(d);
	TAILQ_INSERT_TAIL(&d->d_hs, a, a_entry);
	return (a);
}

/* One STUN message or ChannelData from a's client, in one record. */
static void
dtls_dispatch(struct dassoc *a, const uint8_t *msg, size_t len)
{
	struct dtls_set		*d = a->a_io.io_sock->ds_set;
	struct worker		*w = d->d_w;
	struct server_pkt	 pkt;
	struct server_reply	 reply;

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = TRANSPORT_DTLS;
	pkt.src = (struct sockaddr *)&a->a_io.io_peer;
	pkt.local = (struct sockaddr *)&a->a_io.io_local;
	pkt.origin = NULL;
	pkt.path = &a->a_path;
	rio_begin(w->w_rio, 0);
	if (len >= 1 && (msg[0] & 0xC0) == 0x40) {
		(void)server_chandata(&w->w_srv, &pkt, msg, len);
		rio_flush(w->w_rio);
		return;
	}
	memset(&reply, 0, sizeof(reply));
	reply.buf = d->d_reply;
	reply.cap = sizeof(d->d_reply);
	server_handle(&w->w_srv, &pkt, msg, len, &reply);
	rio_flush(w->w_rio);
	if (reply.len > 0 && SSL_write(a->a_ssl, reply.buf,
	    (int)reply.len) <= 0) {
		STATS_INC(dtls_stats(d), dtls_send_failed);
		ERR_clear_error();
	}
}

/*
 * Step the handshake of a; 0 while it goes on or once it is done, -1
 * when it failed (a is freed).
 */
static int
dtls_handshake(struct dassoc *a)
{
	struct dtls_set	*d = a->a_io.io_sock->ds_set;
	int		 rc;

	if ((rc = SSL_accept(a->a_ssl)) == 1) {
		TAILQ_REMOVE(&d->d_hs, a, a_entry);
		a->a_ready = 1;
		TAILQ_INSERT_TAIL(&d->d_live, a, a_entry);
		connlimit_release(d->d_w->w_dtls_hs,
		    (struct sockaddr *)&a->a_io.io_peer);
		STATS_INC(dtls_stats(d), dtls_handshakes);
		return (0);
	}
	if (SSL_get_error(a->a_ssl, rc) == SSL_ERROR_WANT_READ) {
		ERR_clear_error();
		return (0);
	}
	STATS_INC(dtls_stats(d), dtls_handshake_failed);
	dtls_assoc_free(a, 0);
	return (-1);
}

/* A datagram (or none: buf NULL) for a. */
static void
dtls_assoc_input(struct dassoc *a, const uint8_t *buf, size_t len)
{
	struct dtls_set	*d = a->a_io.io_sock->ds_set;
	int		 i, n, err;

	a->a_io.io_in = buf;
	a->a_io.io_inlen = len;
	if (buf != NULL && a->a_ready) {
		a->a_last = d->d_w->w_srv.sv_now;
		TAILQ_REMOVE(&d->d_live, a, a_entry);
		TAILQ_INSERT_TAIL(&d->d_live, a, a_entry);
	}
	if (!a->a_ready) {
		if (dtls_handshake(a) == -1)
			return;		/* freed */
		if (!a->a_ready) {
			a->a_io.io_in = NULL;
			return;
		}
	}
	for (i = 0; i < DTLS_RECORDS; i++) {
		n = SSL_read(a->a_ssl, d->d_plain, sizeof(d->d_plain));
		if (n > 0) {
			dtls_dispatch(a, d->d_plain, (size_t)n);
			continue;
		}
		err = SSL_get_error(a->a_ssl, n);
		ERR_clear_error();
		if (err == SSL_ERROR_WANT_READ)
			break;
		/* close_notify (RFC 6347 4.1.2.7 alerts) or a fatal alert */
		if (err == SSL_ERROR_ZERO_RETURN)
			STATS_INC(dtls_stats(d), dtls_closed_notify);
		else
			STATS_INC(dtls_stats(d), dtls_closed_error);
		dtls_assoc_free(a, err == SSL_ERROR_ZERO_RETURN);
		return;
	}
	a->a_io.io_in = NULL;
}

/* ----------------------------------------------- unknown sources */

/* A DTLS handshake record of epoch 0 holding a ClientHello (RFC 6347). */
static int
dtls_is_client_hello(const uint8_t *p, size_t len)
{
	return (len >= 25 && p[0] == 22 && p[1] == 0xFE &&
	    p[3] == 0 && p[4] == 0 && p[13] == 1);
}

static SSL *
dtls_listener(struct dsock *ds)
{
	struct dtls_set	*d = ds->ds_set;
	SSL		*ssl;
	BIO		*b;

	if (ds->ds_ssl != NULL)
		return (ds->ds_ssl);
	if (d->d_ctx == NULL || (ssl = SSL_new(d->d_ctx)) == NULL)
		return (NULL);
	if ((b = dtls_bio_new(d, &ds->ds_io)) == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	SSL_set_bio(ssl, b, b);
	SSL_set_mtu(ssl, DTLS_MTU);
	ds->ds_ssl = ssl;
	return (ssl);
}

static void
dtls_unknown(struct dsock *ds, const struct sockaddr_storage *src,
    const struct sockaddr_storage *local, const uint8_t *buf, size_t len)
{
	struct dtls_set	*d = ds->ds_set;
	SSL		*ssl;
	int		 rc;

	if (!dtls_is_client_hello(buf, len)) {
		STATS_INC(dtls_stats(d), dtls_dropped);
		return;
	}
	if ((ssl = dtls_listener(ds)) == NULL) {
		STATS_INC(dtls_stats(d), dtls_dropped);
		ERR_clear_error();
		return;
	}
	ds->ds_io.io_peer = *src;
	ds->ds_io.io_local = *local;
	ds->ds_io.io_in = buf;
	ds->ds_io.io_inlen = len;
	rc = DTLSv1_listen(ssl, ds->ds_client);
	ds->ds_io.io_in = NULL;
	ERR_clear_error();
	if (rc == 0)
		return;		/* HelloVerifyRequest sent, or dropped */
	ds->ds_ssl = NULL;
	if (rc < 0) {
		STATS_INC(dtls_stats(d), dtls_dropped);
		SSL_free(ssl);
		return;
	}
	if (dtls_admit(d, (const struct sockaddr *)src) == -1) {
		SSL_free(ssl);
		return;
	}
	dtls_assoc_input(dtls_assoc_new(ds, ssl), NULL, 0);
}

/* A datagram that ds received from src at local. */
static void
dtls_input(struct dsock *ds, const struct sockaddr_storage *src,
    const struct sockaddr_storage *local, const uint8_t *buf, size_t len)
{
	struct dassoc	*a;

	if ((a = dtls_find(ds->ds_set, ds, (const struct sockaddr *)src)) !=
	    NULL)
		dtls_assoc_input(a, buf, len);
	else
		dtls_unknown(ds, src, local, buf, len);
}

int
dtls_udp_index(const struct dtls_set *d, int fd)
{
	unsigned int	i;

	for (i = 0; d != NULL && i < d->d_n; i++)
		if (d->d_socks[i].ds_shared && d->d_socks[i].ds_ls.ls_fd == fd)
			return ((int)i);
	return (-1);
}

/* d is NULL once the worker has freed it (its last passes, worker.c). */
void
dtls_udp_input(struct dtls_set *d, int index,
    const struct sockaddr_storage *src, const struct sockaddr_storage *local,
    const uint8_t *buf, size_t len)
{
	if (d == NULL || index < 0 || (unsigned int)index >= d->d_n)
		return;
	dtls_input(&d->d_socks[index], src, local, buf, len);
}

static void
dtls_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dsock		*ds = arg;
	struct dtls_set		*d = ds->ds_set;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct sockaddr_storage	 src, local;
	union {
		struct cmsghdr	align;
		uint8_t		buf[SOCK_PKTINFO_SPACE];
	}			 cm;
	ssize_t			 n;
	unsigned int		 round;

	(void)what;
	worker_clock(d->d_w);
	for (round = 0; round < DTLS_ROUNDS; round++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = d->d_rxbuf;
		iov.iov_len = DTLS_RXBUF;
		mh.msg_name = &src;
		mh.msg_namelen = sizeof(src);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		if ((n = recvmsg((int)fd, &mh, MSG_DONTWAIT)) == -1)
			return;
		if (sock_local_addr(&mh, &ds->ds_ls.ls_addr, ds->ds_wild,
		    &local) == -1)
			continue;
		dtls_input(ds, &src, &local, d->d_rxbuf, (size_t)n);
	}
}

/* --------------------------------------------------------- the set */

static void
dtls_start(struct dtls_set *d, struct dsock *ds)
{
	ds->ds_set = d;
	ds->ds_wild = addr_is_any((const struct sockaddr *)&ds->ds_ls.ls_addr);
	ds->ds_io.io_sock = ds;
	if ((ds->ds_client = BIO_ADDR_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (ds->ds_shared)
		return;		/* udp.c reads it */
	ds->ds_ev = event_new(d->d_w->w_base, ds->ds_ls.ls_fd,
	    EV_READ | EV_PERSIST, dtls_read_cb, ds);
	if (ds->ds_ev == NULL || event_add(ds->ds_ev, NULL) == -1)
		fatalx("%s: worker %u cannot watch a DTLS socket", __func__,
		    d->d_w->w_id);
}

struct dtls_set *
dtls_set_new(struct worker *w, struct listen_set *set)
{
	struct dtls_set	*d = xcalloc(1, sizeof(*d));
	unsigned int	 i, n = 0, own = 0;

	d->d_w = w;
	TAILQ_INIT(&d->d_hs);
	TAILQ_INIT(&d->d_live);
	for (i = 0; i < set->n; i++) {
		own += set->ls[i].ls_transport == TRANSPORT_DTLS;
		n += set->ls[i].ls_transport == TRANSPORT_DTLS ||
		    (set->ls[i].ls_transport == TRANSPORT_UDP &&
		    set->ls[i].ls_dtls_too);
	}
	if (n == 0)
		return (d);
	if (w->w_tls == NULL ||
	    (d->d_ctx = dtls_ctx_new(w->w_conf, w->w_tls)) == NULL)
		fatalx("%s: worker %u: no DTLS context", __func__, w->w_id);
	dtls_meth_new(d);
	dtls_key_rotate(d, w->w_srv.sv_now);
	dtls_key_rotate(d, w->w_srv.sv_now);
	d->d_seed = arc4random();
	d->d_nbuckets = DTLS_BUCKETS;
	d->d_hash = xcalloc(d->d_nbuckets, sizeof(*d->d_hash));
	if (own > 0)
		d->d_rxbuf = xmalloc(DTLS_RXBUF);
	d->d_socks = xcalloc(n, sizeof(*d->d_socks));
	for (i = 0; i < set->n; i++) {
		if (set->ls[i].ls_transport == TRANSPORT_UDP &&
		    set->ls[i].ls_dtls_too) {
			d->d_socks[d->d_n].ds_shared = 1;	/* udp.c's */
			d->d_socks[d->d_n++].ds_ls = set->ls[i];
			continue;
		}
		if (set->ls[i].ls_transport != TRANSPORT_DTLS)
			continue;
		d->d_socks[d->d_n++].ds_ls = set->ls[i];
		set->ls[i].ls_fd = -1;	/* ours now */
	}
	for (i = 0; i < d->d_n; i++)
		dtls_start(d, &d->d_socks[i]);
	return (d);
}

/* Once a second: cookie keys, handshake deadlines, idle associations. */
void
dtls_tick(struct dtls_set *d)
{
	const struct turnd_conf	*conf;
	struct dassoc		*a, *next;
	time_t			 now;

	if (d == NULL || d->d_n == 0)
		return;
	conf = d->d_w->w_conf;
	now = d->d_w->w_srv.sv_now;
	if (now - d->d_key_time >= DTLS_KEY_SECS)
		dtls_key_rotate(d, now);
	for (a = TAILQ_FIRST(&d->d_hs); a != NULL; a = next) {
		next = TAILQ_NEXT(a, a_entry);
		if (now - a->a_created >= conf->lim_frame_timeout) {
			STATS_INC(dtls_stats(d), dtls_handshake_timeout);
			dtls_assoc_free(a, 0);
		} else if (DTLSv1_handle_timeout(a->a_ssl) < 0)
			ERR_clear_error();
	}
	while ((a = TAILQ_FIRST(&d->d_live)) != NULL &&
	    now - a->a_last >= conf->lim_idle_timeout) {
		STATS_INC(dtls_stats(d), dtls_closed_idle);
		dtls_assoc_free(a, 1);
	}
}

void
dtls_set_lsocks(const struct dtls_set *d, struct listen_set *set)
{
	unsigned int	i;

	for (i = 0; i < d->d_n; i++)
		if (!d->d_socks[i].ds_shared)
			listen_set_push(set, &d->d_socks[i].ds_ls);
}

void
dtls_set_pause(struct dtls_set *d, int pause)
{
	unsigned int	i;

	for (i = 0; i < d->d_n; i++)
		if (d->d_socks[i].ds_ev != NULL && (pause ?
		    event_del(d->d_socks[i].ds_ev) :
		    event_add(d->d_socks[i].ds_ev, NULL)) == -1)
			fatalx("%s: cannot %s a DTLS socket", __func__,
			    pause ? "pause" : "resume");
}

void
dtls_set_free(struct dtls_set *d)
{
	struct dassoc	*a;
	unsigned int	 i;

	if (d == NULL)
		return;
	while ((a = TAILQ_FIRST(&d->d_hs)) != NULL)
		dtls_assoc_free(a, 0);
	while ((a = TAILQ_FIRST(&d->d_live)) != NULL)
		dtls_assoc_free(a, 1);
	for (i = 0; i < d->d_n; i++) {
		if (d->d_socks[i].ds_ev != NULL)
			event_free(d->d_socks[i].ds_ev);
		SSL_free(d->d_socks[i].ds_ssl);
		BIO_ADDR_free(d->d_socks[i].ds_client);
		if (!d->d_socks[i].ds_shared)
			close(d->d_socks[i].ds_ls.ls_fd);
	}
	SSL_CTX_free(d->d_ctx);
	BIO_meth_free(d->d_meth);
	free(d->d_socks);
	free(d->d_hash);
	free(d->d_rxbuf);
	free(d);
}