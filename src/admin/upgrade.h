/*
 * upgrade.h -- the live upgrade, the old process's side (upgrade.c,
 * spawn.c); the new process's side is takeover.h.
 */

#ifndef UPGRADE_H
#define UPGRADE_H

#include <sys/types.h>

#include <stddef.h>

#include "admin/control.h"

struct sbuf;
struct turnd;

/*
 * Hand over to a new process running binary (NULL: this one's path)
 * with this process's arguments.  The outcome goes to done(ctx, ok)
 * with text in out (JSON when json), or only to the log when done is
 * NULL (SIGUSR2).
 */
void	upgrade_start(struct turnd *, const char *binary, int json,
	    struct sbuf *out, control_done_cb done, void *ctx);
/* Shutting down: roll an upgrade under way back. */
void	upgrade_abort(struct turnd *);

/* spawn.c */
/*
 * fork and exec binary with argv (argv[0] replaced), fd as the one
 * descriptor it inherits besides 0-2, named in TURND_HANDOVER_FD.  The
 * pid, or -1 with the reason in err.
 */
pid_t	upgrade_spawn(const char *binary, char *const argv[], int fd,
	    char *err, size_t errlen);
/*
 * Under systemd (NOTIFY_SOCKET): the service's main process is pid now
 * (sd_notify(3) MAINPID=; NotifyAccess=main suffices, as this process
 * is the main one when it says so).
 */
void	upgrade_notify_mainpid(pid_t pid);
/* This binary's path (/proc/self/exe), for the next upgrade; or NULL. */
char	*upgrade_self_path(void);

#endif /* UPGRADE_H */
