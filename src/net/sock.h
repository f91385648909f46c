/*
 * sock.h -- the system-call helpers of the data path, with no state:
 * the sendmmsg loop, the IP_PKTINFO/IPV6_PKTINFO control messages that
 * say which local address a datagram came to or leaves from, and the
 * UDP_SEGMENT (UDP GSO) control message.  Used by the UDP endpoint and
 * by the batches; they use nothing else of src/net.
 */

#ifndef SOCK_H
#define SOCK_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

struct stats;

/* Room for one PKTINFO control message of either family. */
#define SOCK_PKTINFO_SPACE	CMSG_SPACE(sizeof(struct in6_pktinfo))
/* Room for one UDP_SEGMENT control message. */
#define SOCK_GSO_SPACE		CMSG_SPACE(sizeof(uint16_t))

/*
 * Send n messages on fd with sendmmsg.  A message the kernel refuses (a
 * full socket buffer, a bad destination) is offered to refused(arg, fd,
 * msg) when given, which returns 1 if it sent it some other way; else it
 * is dropped and counted (udp_send_errors).
 */
void	sock_sendmmsg(int fd, struct mmsghdr *, unsigned int n, struct stats *,
	    int (*refused)(void *, int, struct mmsghdr *), void *arg);

/*
 * Write into buf the control message that makes a datagram leave from
 * local (IP_PKTINFO or IPV6_PKTINFO); its length, at most
 * SOCK_PKTINFO_SPACE.
 */
size_t	sock_set_source(uint8_t *buf, const struct sockaddr_storage *local);

/*
 * The local address a datagram received on a socket bound to bound came
 * to: bound itself, or for a wildcard (wild) the address its PKTINFO
 * names, with bound's port.  0, or -1 when a wildcard's datagram carries
 * no PKTINFO of its family.
 */
int	sock_local_addr(struct msghdr *, const struct sockaddr_storage *bound,
	    int wild, struct sockaddr_storage *local);

/* Write the UDP_SEGMENT control message for segments of seg bytes; its
 * length (SOCK_GSO_SPACE). */
size_t	sock_gso_cmsg(uint8_t *buf, size_t seg);

/*
 * The segment size of a message that carries UDP_SEGMENT, and in *before
 * the length of the control messages in front of it (UDP_SEGMENT is
 * always the last one); 0 when the message is not a GSO one.
 */
size_t	sock_gso_size(const struct msghdr *, size_t *before);

#endif /* SOCK_H */
