/*
 * proxy.h -- the PROXY protocol header, versions 1 and 2, that an L4
 * load balancer sends before a connection's own bytes (HAProxy's
 * doc/proxy-protocol.txt, sections 2.1 and 2.2).
 *
 * proxy_parse() is a pure function over the bytes received so far: it
 * allocates nothing, keeps no state and never reads past len.
 */

#ifndef PROXY_H
#define PROXY_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX	107	/* whole v1 line, CRLF included (2.1) */
#define PROXY_V2_HDR	16	/* signature, command, family, length */
#define PROXY_MAX	512	/* longest header accepted, TLVs included */

/* What a complete header says. */
struct proxy_hdr {
	int			 ph_version;	/* 1 or 2 */
	int			 ph_local;	/* 1: use the connection's own
						 * addresses (v2 LOCAL, v1
						 * UNKNOWN, v2 UNSPEC) */
	struct sockaddr_storage	 ph_src;	/* the client, if !ph_local */
	struct sockaddr_storage	 ph_dst;	/* what it connected to */
};

/*
 * Parse the header at the start of buf (len bytes received so far).
 * Returns the header's length (> 0) with *h filled in, 0 if the bytes
 * are a valid beginning but the header is not complete yet, or -1 if
 * they are not a PROXY header: wrong signature, bad syntax, a v2
 * command or family other than LOCAL/PROXY over TCP, or a header longer
 * than PROXY_MAX.  A return of 0 means every byte of buf belongs to the
 * header, so the caller may consume them all.
 */
int	proxy_parse(const uint8_t *buf, size_t len, struct proxy_hdr *h);

#endif /* PROXY_H */
