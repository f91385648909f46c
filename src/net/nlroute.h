/*
 * nlroute.h -- the kernel's answer to "is this address the host's own?"
 * (rtnetlink(7) route lookup of type RTN_LOCAL).  One socket per worker,
 * used only by that worker's thread.
 */

#ifndef NLROUTE_H
#define NLROUTE_H

#include <sys/socket.h>

#include <stdint.h>

/* A NETLINK_ROUTE socket, or -1 (logged). */
int	nlroute_open(void);
void	nlroute_close(int);
/* 1 local, 0 not, -1 the kernel could not be asked; see nlroute.c. */
int	nlroute_is_local(int fd, uint32_t *seq, const struct sockaddr *);

#endif /* NLROUTE_H */
