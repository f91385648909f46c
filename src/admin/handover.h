/*
 * handover.h -- the live upgrade's messages between the old process
 * (upgrade.c) and the new one (takeover.c), over a SOCK_SEQPACKET
 * socketpair whose end the new process finds in TURND_HANDOVER_FD.
 * doc/ARCHITECTURE section 8 has the sequence.
 *
 * A message is a 16-bit type and then records (common/tlv.h), with the
 * sockets it carries as SCM_RIGHTS, at most WMOVE_FDS per message.  The
 * format has a version: the old process sends the one it writes, the
 * new one refuses what it cannot read (HO_VERSION_MIN..HO_VERSION), and
 * a record type it does not know below 0x8000 is a refusal too.
 */

#ifndef HANDOVER_H
#define HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#define HO_VERSION	1	/* the format this binary writes */
#define HO_VERSION_MIN	1	/* the oldest it reads */
#define HO_ENV		"TURND_HANDOVER_FD"
#define HO_ENV_LOG	"TURND_HANDOVER_LOG_FD"	/* the log file, inherited */
#define HO_MSG_MAX	(256 * 1024)

enum ho_msg {
	HM_HELLO = 1,	/* new: HR_VERSION, HR_VERSION_MIN, HR_PID */
	HM_STATE,	/* old: the process (HR_*), control and metrics fds */
	HM_LISTEN,	/* old: HR_WORKER, HR_LSOCK..., their fds */
	HM_REFUSE,	/* new: HR_REASON; it exits */
	HM_READY,	/* new: workers made, waiting for their state */
	HM_WBEGIN,	/* old: HR_WORKER, HR_COUNT, HR_START_US: frozen */
	HM_WBATCH,	/* old: HR_ALLOC..., their relay sockets */
	HM_ACK,		/* new: a batch is in */
	HM_WEND,	/* old: the worker's last batch was sent */
	HM_WDONE,	/* new: HR_WORKER runs (thawed) */
	HM_RESV,	/* old: HR_RESV..., their sockets */
	HM_FINISH,	/* old: nothing more */
	HM_COMMIT	/* new: holding everything; the old one lets go */
};

enum ho_rec {
	HR_VERSION = 1,		/* u32 */
	HR_VERSION_MIN,		/* u32 */
	HR_PID,			/* u32 */
	HR_GENERATION,		/* u32: the old process's */
	HR_IID,			/* string: the instance id */
	HR_NONCE,		/* 32 bytes: the nonce secret in use */
	HR_WORKERS,		/* u32 */
	HR_REALM,		/* string */
	HR_RFC5780,		/* u8 */
	HR_ALT_ADDR,		/* addr, when stun.alt_address is set */
	HR_ALT_PORT,		/* u32 */
	HR_CONTROL_FD,		/* u32: index of the control socket */
	HR_METRICS_FD,		/* u32: index of the metrics listener */
	HR_WORKER,		/* u32 */
	HR_LSOCK,		/* LS_* */
	HR_REASON,		/* string */
	HR_COUNT,		/* u32 */
	HR_START_US,		/* u64: monotonic, when the freeze began */
	HR_ALLOC,		/* turn/alloc_wire.h */
	HR_RESV,		/* net/resv.c */
	HR_STARTED,		/* u64: when the first generation started */
	HR_CONTROL_PATH,	/* string: control.socket */
	HR_METRICS_ADDR,	/* string: metrics.listen, "" none */
	HR_USER,		/* string: user */
	HR_GROUP		/* string: group */
};

enum ho_lsock {
	LS_TRANSPORT = 1,	/* u8: enum transport */
	LS_ADDR,		/* addr */
	LS_GROUP,		/* u32: RFC 5780 group + 1, 0: none */
	LS_ROLE,		/* u8 */
	LS_TLS_TOO,		/* u8 */
	LS_DTLS_TOO,		/* u8 */
	LS_FD			/* u32: index of its socket */
};

/* A message in hand (hmsg_recv()). */
struct hmsg {
	uint16_t	 hm_type;
	const uint8_t	*hm_body;
	size_t		 hm_len;
	int		 hm_fds[253];
	unsigned int	 hm_nfds;
	uint8_t		 hm_buf[HO_MSG_MAX];
};

/* 0, or -1 with errno set. */
int	hmsg_send(int fd, uint16_t type, const void *body, size_t len,
	    const int *fds, unsigned int nfds);
/*
 * One message into *m (its fds close-on-exec, the caller's); timeout_ms
 * -1: wait as long as it takes, 0: do not wait.  1, 0 at the end of the
 * stream (the other process is gone), -1 on error or timeout (errno).
 */
int	hmsg_recv(int fd, struct hmsg *m, int timeout_ms);
/* Close the fds of m not taken (set to -1 when taken). */
void	hmsg_close_fds(struct hmsg *m);

#endif /* HANDOVER_H */
