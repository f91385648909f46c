/*
 * hmsg.c -- one handover message with its sockets (handover.h):
 * sendmsg/recvmsg with SCM_RIGHTS on the SOCK_SEQPACKET socketpair.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "admin/handover.h"

#define HMSG_CMSG	CMSG_SPACE(253 * sizeof(int))

int
hmsg_send(int fd, uint16_t type, const void *body, size_t len,
    const int *fds, unsigned int nfds)
{
	uint8_t		 head[2] = { (uint8_t)(type >> 8), (uint8_t)type };
	struct iovec	 iov[2];
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	align;
		uint8_t		buf[HMSG_CMSG];
	}		 ctl;
	ssize_t		 n;

	if (nfds > 253 || len + 2 > HO_MSG_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	iov[0].iov_base = head;
	iov[0].iov_len = 2;
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return (n == -1 ? -1 : 0);
}

static void
hmsg_take_fds(struct hmsg *m, struct msghdr *mh)
{
	struct cmsghdr	*cm;
	size_t		 n;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 253 - m->hm_nfds)
			n = 253 - m->hm_nfds;
		memcpy(&m->hm_fds[m->hm_nfds], CMSG_DATA(cm), n * sizeof(int));
		m->hm_nfds += (unsigned int)n;
	}
}

int
hmsg_recv(int fd, struct hmsg *m, int timeout_ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	struct iovec	 iov;
	struct msghdr	 mh;
	union {
		struct cmsghdr	align;
		uint8_t		buf[HMSG_CMSG];
	}		 ctl;
	ssize_t		 n;
	int		 r;

	m->hm_nfds = 0;
	if (timeout_ms != 0) {
		while ((r = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
			;
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return (-1);
	}
	iov.iov_base = m->hm_buf;
	iov.iov_len = sizeof(m->hm_buf);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		return (0);
	if (n == -1)
		return (-1);
	hmsg_take_fds(m, &mh);
	if (n < 2 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		hmsg_close_fds(m);
		errno = EBADMSG;
		return (-1);
	}
	m->hm_type = (uint16_t)(m->hm_buf[0] << 8 | m->hm_buf[1]);
	m->hm_body = m->hm_buf + 2;
	m->hm_len = (size_t)n - 2;
	return (1);
}

void
hmsg_close_fds(struct hmsg *m)
{
	unsigned int	i;

	for (i = 0; i < m->hm_nfds; i++)
		if (m->hm_fds[i] != -1)
			close(m->hm_fds[i]);
	m->hm_nfds = 0;
}
