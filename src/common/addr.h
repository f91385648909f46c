/*
 * addr.h -- socket address and CIDR helpers: parse, format, compare.
 *
 * No libevent, no sockets: pure functions over struct sockaddr_storage.
 */

#ifndef ADDR_H
#define ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN	64	/* "[" INET6_ADDRSTRLEN "]:65535" and NUL */

/*
 * An IPv4 or IPv6 socket address in 28 bytes rather than the 128 of a
 * struct sockaddr_storage: what allocations, permissions, channels and
 * the batches keep.  Copy in with addr_len() bytes; sa is the view every
 * addr_*() function takes.
 */
union addr_in46 {
	struct sockaddr		 sa;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
};

struct cidr {
	int		c_family;	/* AF_INET or AF_INET6 */
	uint8_t		c_addr[16];	/* network bytes, masked */
	unsigned int	c_prefix;	/* 0..32 or 0..128 */
};

/*
 * Parse "1.2.3.4", "1.2.3.4:5", "::1", "[::1]" or "[::1]:5" into *ss.
 * A missing port becomes defport.  Numeric addresses only.  Returns 0,
 * or -1 with a static reason in *why (may be NULL).
 */
int		 addr_parse(const char *, uint16_t defport,
		    struct sockaddr_storage *, const char **why);
/* Parse a bare IP address (no port). */
int		 addr_parse_ip(const char *, struct sockaddr_storage *);
/* Format as "1.2.3.4:5" or "[::1]:5" into buf; returns buf. */
const char	*addr_fmt(const struct sockaddr *, char *, size_t);
/* Format the IP alone. */
const char	*addr_fmt_ip(const struct sockaddr *, char *, size_t);
socklen_t	 addr_len(const struct sockaddr *);
uint16_t	 addr_port(const struct sockaddr *);
void		 addr_set_port(struct sockaddr *, uint16_t);
int		 addr_eq(const struct sockaddr *, const struct sockaddr *);
int		 addr_ip_eq(const struct sockaddr *, const struct sockaddr *);
int		 addr_is_any(const struct sockaddr *);
/* If sa is IPv4-mapped IPv6, rewrite it in place as AF_INET. */
void		 addr_unmap(struct sockaddr_storage *);
/*
 * The IP bytes of sa (an IPv4-mapped IPv6 address as IPv4) into out, its
 * family into *family; their count, 4 or 16, or 0 if sa is neither.
 */
size_t		 addr_ip_bytes(const struct sockaddr *, uint8_t out[16],
		    int *family);
/* Hash of the IP only (for per-source tables). */
uint32_t	 addr_hash_ip(const struct sockaddr *, uint32_t seed);

/* "10.0.0.0/8", "fe80::/10", or a bare address (host prefix). */
int		 cidr_parse(const char *, struct cidr *, const char **why);
int		 cidr_match(const struct cidr *, const struct sockaddr *);

/* An inclusive range of addresses of one family (network byte order). */
struct iprange {
	int		r_family;
	uint8_t		r_lo[16];
	uint8_t		r_hi[16];
};

/*
 * "1.2.3.4", "10.0.0.0/8" or "1.2.3.4-1.2.3.9" (coturn's peer rule
 * forms; IPv6 likewise; both ends of a range of one family, lo <= hi).
 * 0, or -1 with *why.
 */
int		 iprange_parse(const char *, struct iprange *, const char **why);
/* 1 if the IP of sa (IPv4-mapped IPv6 as IPv4) is in r. */
int		 iprange_match(const struct iprange *, const struct sockaddr *);

#endif /* ADDR_H */
