/*
 * path.h -- the way back to a client.  Every endpoint of the net layer
 * (a UDP socket, a TCP or TLS connection; DTLS and RFC 6062 data
 * connections later) embeds a struct path and hands it to the TURN logic
 * with each message; an allocation keeps the path its Allocate came on.
 * The TURN logic, the relay and the batches send to a client only
 * through its path, never by naming the endpoint's code.
 *
 * A path lives as long as its endpoint.  An endpoint that goes away
 * calls server_path_closed() first, which ends what the path carried
 * (its allocation, the requests waiting on it).
 */

#ifndef PATH_H
#define PATH_H

#include <sys/socket.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

enum transport {
	TRANSPORT_UDP = 0,
	TRANSPORT_TCP,
	TRANSPORT_TLS,
	TRANSPORT_DTLS
};

/* "udp", "tcp", "tls", "dtls": for logs, turnctl and the store. */
const char	*transport_name(enum transport);

struct path;

struct path_ops {
	/*
	 * One message, gathered from iov[0..n), to the client: a datagram
	 * to `to` leaving from our address `from` (a datagram path), or the
	 * next bytes of the stream (to and from ignored).  What cannot be
	 * sent is dropped and counted by the endpoint.
	 */
	void	(*po_send)(struct path *, const struct sockaddr *to,
		    const struct sockaddr *from, const struct iovec *, int n);
	/* The TLS version and cipher of the path, or NULLs (may be NULL). */
	void	(*po_tls_info)(const struct path *, const char **version,
		    const char **cipher);
};

struct path {
	const struct path_ops	*p_ops;
	enum transport		 p_transport;
	/*
	 * A datagram socket the batches may send on themselves (sendmmsg,
	 * UDP GSO), bypassing po_send; -1 when everything goes through
	 * po_send (streams, DTLS).
	 */
	int			 p_fd;
	int			 p_wild;	/* p_fd bound to a wildcard:
						 * name the source (PKTINFO) */
	int			 p_stream;	/* bytes, not datagrams:
						 * ChannelData padded to 4
						 * (RFC 8656 12.5), data may
						 * join one write */
	uint32_t		 p_pipe;	/* RFC 6062: set by
						 * ro_tcp_bind, the stream is
						 * the data connection of
						 * this CONNECTION-ID now */
};

/* Initialise p for an endpoint. */
static inline void
path_init(struct path *p, const struct path_ops *ops, enum transport t,
    int fd, int wild, int stream)
{
	p->p_ops = ops;
	p->p_transport = t;
	p->p_fd = fd;
	p->p_wild = wild;
	p->p_stream = stream;
	p->p_pipe = 0;
}

/* One message of len bytes to the client (see po_send). */
static inline void
path_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const void *buf, size_t len)
{
	struct iovec	iov;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	p->p_ops->po_send(p, to, from, &iov, 1);
}

static inline void
path_tls_info(const struct path *p, const char **version, const char **cipher)
{
	*version = *cipher = NULL;
	if (p != NULL && p->p_ops->po_tls_info != NULL)
		p->p_ops->po_tls_info(p, version, cipher);
}

#endif /* PATH_H */
