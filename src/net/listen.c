/*
 * listen.c -- bind the listening sockets, once per worker, before
 * privileges are dropped (the workers are in worker.c).
 *
 * Every worker gets its own socket for each configured address with
 * SO_REUSEPORT, so the kernel hashes each client to one worker.  Port 0
 * is resolved by the first bind and reused for the other workers.
 * RFC 5780 (section 4.1): for each specific UDP address A1:P1 of the
 * alternate address's family, also bind A1:P2, A2:P1 and A2:P2.
 * An address in both listen.tcp and listen.tls is one socket that
 * serves both (ls_tls_too): stream.c lets the first byte decide.
 * Likewise an address in both listen.udp and listen.dtls is one UDP
 * socket (ls_dtls_too): udp.c demultiplexes each datagram (RFC 7983).
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"

#define LISTEN_BACKLOG	1024
#define LISTEN_UDP_BUF	(2 * 1024 * 1024)	/* per UDP listener socket */

static const char *const transport_key[] = {
	"listen.udp", "listen.tcp", "listen.tls", "listen.dtls"
};

static void
set_push(struct listen_set *set, const struct lsock *ls)
{
	listen_set_push(set, ls);
}

void
listen_set_push(struct listen_set *set, const struct lsock *ls)
{
	set->ls = xreallocarray(set->ls, set->n + 1, sizeof(*set->ls));
	set->ls[set->n++] = *ls;
}

/*
 * Make and bind one socket; returns the fd or -1 with errno set.
 * *addr gets the bound address (its port resolved).
 */
static int
listen_bind(enum transport t, struct sockaddr_storage *addr)
{
	int		fd, on = 1, saved, bufsz = LISTEN_UDP_BUF;
	socklen_t	len;
	int		stream = (t == TRANSPORT_TCP || t == TRANSPORT_TLS);

	fd = socket(addr->ss_family,
	    (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	if (addr->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (!stream) {
		/*
		 * One listener socket carries every client of a worker: give
		 * it room for bursts (capped by net.core.rmem_max/wmem_max).
		 */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
		/* Learn the local address of each datagram (wildcards). */
		if (addr->ss_family == AF_INET6) {
			if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
			    sizeof(on)) == -1)
				goto fail;
		} else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
		    sizeof(on)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)addr,
	    addr_len((struct sockaddr *)addr)) == -1)
		goto fail;
	if (stream && listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	len = sizeof(*addr);
	if (getsockname(fd, (struct sockaddr *)addr, &len) == -1)
		goto fail;
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/*
 * A host without IPv6 (no support at all, or no ::1) makes the IPv6
 * wildcard or loopback address unbindable; that is not worth refusing
 * to start for, since the defaults and the demo name both families.
 */
static int
listen_v6_absent(const struct sockaddr_storage *a, int err)
{
	const struct in6_addr	*in6;

	if (a->ss_family != AF_INET6)
		return (0);
	if (err == EAFNOSUPPORT)
		return (1);
	in6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
	return (err == EADDRNOTAVAIL &&
	    (IN6_IS_ADDR_UNSPECIFIED(in6) || IN6_IS_ADDR_LOOPBACK(in6)));
}

/*
 * Bind addr for every worker.  A host without IPv6 skips IPv6 addresses
 * with a warning rather than refusing to start (the defaults name both
 * families).  Returns 0 (bound or skipped) or -1 with err set.
 */
static int
listen_one(enum transport t, const struct sockaddr_storage *want,
    int group, unsigned int role, unsigned int nworkers,
    struct listen_set *sets, char *err, size_t errlen)
{
	struct lsock		ls;
	struct sockaddr_storage	addr = *want;
	char			buf[ADDR_STRLEN];
	unsigned int		i;

	for (i = 0; i < nworkers; i++) {
		memset(&ls, 0, sizeof(ls));
		ls.ls_fd = listen_bind(t, &addr);
		if (ls.ls_fd == -1) {
			if (i == 0 && listen_v6_absent(want, errno)) {
				log_warnx("%s: %s: no IPv6 on this host, "
				    "skipped", transport_key[t],
				    addr_fmt((const struct sockaddr *)want,
				    buf, sizeof(buf)));
				return (0);
			}
			snprintf(err, errlen, "%s: %s: %s", transport_key[t],
			    addr_fmt((const struct sockaddr *)want, buf,
			    sizeof(buf)), strerror(errno));
			return (-1);
		}
		ls.ls_transport = t;
		ls.ls_addr = addr;	/* port 0 now resolved for the rest */
		ls.ls_group = group;
		ls.ls_role = role;
		set_push(&sets[i], &ls);
	}
	return (0);
}

/* RFC 5780: the three alternates of a primary UDP address. */
static int
listen_rfc5780(const struct turnd_conf *conf, const struct lsock *primary,
    int group, unsigned int nworkers, struct listen_set *sets, char *err,
    size_t errlen)
{
	struct sockaddr_storage	addr;
	unsigned int		role;

	for (role = 1; role < LSOCK_ROLES; role++) {
		addr = (role & 2) ? conf->stun_alt_address.ca_ss :
		    primary->ls_addr;
		addr_set_port((struct sockaddr *)&addr, (role & 1) ?
		    (uint16_t)conf->stun_alt_port :
		    addr_port((const struct sockaddr *)&primary->ls_addr));
		if (listen_one(TRANSPORT_UDP, &addr, group, role, nworkers,
		    sets, err, errlen) == -1)
			return (-1);
	}
	return (0);
}

/* 1 if a is in list. */
static int
listen_listed(const struct conf_addrs *list, const struct sockaddr_storage *a)
{
	unsigned int	i;

	for (i = 0; i < list->ca_n; i++)
		if (addr_eq((const struct sockaddr *)&list->ca_addr[i],
		    (const struct sockaddr *)a))
			return (1);
	return (0);
}

/*
 * The sockets just bound at index at for a TCP address also listed in
 * listen.tls, or a UDP one also in listen.dtls, serve both.
 */
static void
listen_share(const struct turnd_conf *conf, unsigned int t,
    const struct sockaddr_storage *a, struct listen_set *sets,
    unsigned int nworkers, unsigned int at)
{
	unsigned int	i;

	if (sets[0].n <= at)
		return;		/* skipped: no IPv6 */
	for (i = 0; i < nworkers; i++) {
		if (t == TRANSPORT_TCP && listen_listed(&conf->listen_tls, a))
			sets[i].ls[at].ls_tls_too = 1;
		if (t == TRANSPORT_UDP && listen_listed(&conf->listen_dtls, a))
			sets[i].ls[at].ls_dtls_too = 1;
	}
}

int
listen_open(const struct turnd_conf *conf, unsigned int nworkers,
    struct listen_set *sets, char *err, size_t errlen)
{
	const struct conf_addrs	*lists[] = {
		&conf->listen_udp, &conf->listen_tcp, &conf->listen_tls,
		&conf->listen_dtls
	};
	const struct sockaddr	*alt = (const struct sockaddr *)
	    &conf->stun_alt_address.ca_ss;
	struct lsock		 primary;
	unsigned int		 t, i, before;
	int			 ngroups = 0, group;

	memset(sets, 0, nworkers * sizeof(*sets));
	for (t = 0; t < sizeof(lists) / sizeof(lists[0]); t++) {
		for (i = 0; i < lists[t]->ca_n; i++) {
			const struct sockaddr_storage *a =
			    &lists[t]->ca_addr[i];

			/* one socket for both: bound as TCP, or as UDP */
			if ((t == TRANSPORT_TLS &&
			    listen_listed(&conf->listen_tcp, a)) ||
			    (t == TRANSPORT_DTLS &&
			    listen_listed(&conf->listen_udp, a)))
				continue;
			group = -1;
			if (t == TRANSPORT_UDP && conf->stun_rfc5780 &&
			    a->ss_family == alt->sa_family &&
			    !addr_is_any((const struct sockaddr *)a))
				group = ngroups++;
			before = sets[0].n;
			if (listen_one((enum transport)t, a, group, 0,
			    nworkers, sets, err, errlen) == -1)
				goto fail;
			listen_share(conf, t, a, sets, nworkers, before);
			if (group < 0 || sets[0].n == before)
				continue;
			/* a copy: binding more moves sets[0].ls */
			primary = sets[0].ls[before];
			if (listen_rfc5780(conf, &primary, group, nworkers,
			    sets, err, errlen) == -1)
				goto fail;
		}
	}
	if (sets[0].n == 0) {
		snprintf(err, errlen, "listen: no address could be bound");
		goto fail;
	}
	return (0);
fail:
	for (i = 0; i < nworkers; i++)
		listen_close(&sets[i]);
	return (-1);
}

void
listen_close(struct listen_set *set)
{
	unsigned int	i;

	for (i = 0; i < set->n; i++)
		if (set->ls[i].ls_fd != -1)
			close(set->ls[i].ls_fd);
	free(set->ls);
	set->ls = NULL;
	set->n = 0;
}

/* The socket of set bound for (t, a) (port 0: any port), or NULL. */
static const struct lsock *
listen_find(const struct listen_set *set, unsigned int t,
    const struct sockaddr_storage *a)
{
	const struct lsock	*ls;
	unsigned int		 i, kind;

	for (i = 0; i < set->n; i++) {
		ls = &set->ls[i];
		kind = ls->ls_transport;
		if (ls->ls_role != 0 || (kind != t &&
		    !(t == TRANSPORT_TLS && ls->ls_tls_too) &&
		    !(t == TRANSPORT_DTLS && ls->ls_dtls_too)))
			continue;
		if (addr_port((const struct sockaddr *)a) == 0 ?
		    addr_ip_eq((const struct sockaddr *)a,
		    (const struct sockaddr *)&ls->ls_addr) :
		    addr_eq((const struct sockaddr *)a,
		    (const struct sockaddr *)&ls->ls_addr))
			return (ls);
	}
	return (NULL);
}

static int
listen_has_v6(const struct listen_set *set)
{
	unsigned int	i;

	for (i = 0; i < set->n; i++)
		if (set->ls[i].ls_addr.ss_family == AF_INET6)
			return (1);
	return (0);
}

int
listen_match(const struct turnd_conf *conf, const struct listen_set *set,
    char *err, size_t errlen)
{
	const struct conf_addrs	*lists[] = {
		&conf->listen_udp, &conf->listen_tcp, &conf->listen_tls,
		&conf->listen_dtls
	};
	const struct lsock	*ls;
	char			 buf[ADDR_STRLEN];
	unsigned int		 t, i, n = 0;

	for (t = 0; t < 4; t++)
		for (i = 0; i < lists[t]->ca_n; i++) {
			if (listen_find(set, t, &lists[t]->ca_addr[i]) != NULL ||
			    (lists[t]->ca_addr[i].ss_family == AF_INET6 &&
			    !listen_has_v6(set)))
				continue;
			snprintf(err, errlen, "%s: %s is not a listener of the "
			    "running process", transport_key[t], addr_fmt(
			    (const struct sockaddr *)&lists[t]->ca_addr[i],
			    buf, sizeof(buf)));
			return (-1);
		}
	for (i = 0; i < set->n; i++) {
		ls = &set->ls[i];
		if (ls->ls_role != 0)
			continue;
		n++;
		t = ls->ls_transport;
		if (listen_listed(lists[t], &ls->ls_addr) ||
		    (t == TRANSPORT_TCP && ls->ls_tls_too &&
		    listen_listed(lists[TRANSPORT_TLS], &ls->ls_addr)) ||
		    (t == TRANSPORT_UDP && ls->ls_dtls_too &&
		    listen_listed(lists[TRANSPORT_DTLS], &ls->ls_addr)))
			continue;
		snprintf(err, errlen, "%s: the running process listens on %s, "
		    "which the configuration no longer names", transport_key[t],
		    addr_fmt((const struct sockaddr *)&ls->ls_addr, buf,
		    sizeof(buf)));
		return (-1);
	}
	return (0);
}
