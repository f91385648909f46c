/*
 * server.h -- the STUN/TURN request logic, independent of sockets.
 *
 * The net layer hands server_handle() one STUN message with the
 * addresses it came between; the server writes the answer (if any) into
 * the caller's buffer.  No I/O, no allocation, nothing kept per source:
 * unit tests drive it with plain buffers.
 */

#ifndef SERVER_H
#define SERVER_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct stats;
struct turnd_conf;

enum transport {
	TRANSPORT_UDP = 0,
	TRANSPORT_TCP,
	TRANSPORT_TLS,
	TRANSPORT_DTLS
};

/* Where a message came from, and what the listener can offer. */
struct server_pkt {
	enum transport			 transport;
	const struct sockaddr		*src;	/* the client */
	const struct sockaddr		*local;	/* where it arrived */
	/*
	 * RFC 5780, UDP only: the addresses a reply can leave from,
	 * indexed by CHANGE-REQUEST flags (bit 0 change port, bit 1
	 * change IP), so origin[0] is local and origin[3] is the
	 * OTHER-ADDRESS.  NULL when RFC 5780 is off for this socket.
	 */
	const struct sockaddr		*const *origin;
};

/* The answer: len 0 means none; change says which origin to send from. */
struct server_reply {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	unsigned int	 change;	/* index into server_pkt.origin */
	uint16_t	 port;		/* RFC 5780 RESPONSE-PORT: send to this
					 * port of the client's IP; 0: its own */
};

/* One per worker: read-only conf, the worker's own counters. */
struct server {
	const struct turnd_conf	*sv_conf;
	struct stats		*sv_stats;
};

void	server_init(struct server *, const struct turnd_conf *,
	    struct stats *);
/*
 * Handle the STUN message of len bytes at msg (a whole datagram or one
 * frame of a stream).  Fills *reply (reply->len = 0 when nothing is to
 * be sent) and counts what it did in the worker's stats.
 */
void	server_handle(struct server *, const struct server_pkt *,
	    const uint8_t *msg, size_t len, struct server_reply *reply);

#endif /* SERVER_H */
