/*
 * spawn.c -- starting the new process of a live upgrade, and telling
 * systemd that it is the main process now (sd_notify(3)'s datagram
 * protocol: no library needed when NOTIFY_SOCKET is unset).
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/handover.h"
#include "admin/upgrade.h"
#include "common/log.h"
#include "common/xmalloc.h"

extern char	**environ;

/* environ without TURND_HANDOVER_*, then ours. */
static char **
spawn_env(int fd, int logfd)
{
	char	**env;
	size_t	  n = 0, i, j = 0;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 3, sizeof(*env));
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "TURND_HANDOVER_", 15) != 0)
			env[j++] = environ[i];
	env[j++] = xasprintf("%s=%d", HO_ENV, fd);
	if (logfd != -1)
		env[j++] = xasprintf("%s=%d", HO_ENV_LOG, logfd);
	return (env);
}

pid_t
upgrade_spawn(const char *binary, char *const argv[], int fd, char *err,
    size_t errlen)
{
	char	**env, **av;
	size_t	  n = 0, i;
	pid_t	  pid;
	int	  maxfd, logfd = log_file_fd();

	if (access(binary, X_OK) == -1) {
		snprintf(err, errlen, "%s: %s", binary, strerror(errno));
		return (-1);
	}
	while (argv[n] != NULL)
		n++;
	av = xcalloc(n + 1, sizeof(*av));
	av[0] = (char *)(uintptr_t)binary;
	for (i = 1; i < n; i++)
		av[i] = argv[i];
	env = spawn_env(fd, logfd);
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	if ((pid = fork()) == 0) {
		/* only async-signal-safe calls from here to exec */
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
			for (i = 3; (int)i < maxfd; i++)
				(void)fcntl((int)i, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFD, 0);
		if (logfd != -1)
			(void)fcntl(logfd, F_SETFD, 0);
		execve(binary, av, env);
		_exit(127);
	}
	if (pid == -1)
		snprintf(err, errlen, "fork: %s", strerror(errno));
	for (i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], "TURND_HANDOVER_", 15) == 0)
			free(env[i]);
	free(env);
	free(av);
	return (pid);
}

void
upgrade_notify_mainpid(pid_t pid)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	char			 msg[64];
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (*path == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	snprintf(msg, sizeof(msg), "MAINPID=%ld\nREADY=1", (long)pid);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sun,
	    len) == -1)
		log_warn("upgrade: NOTIFY_SOCKET %s", path);
	close(fd);
}

char *
upgrade_self_path(void)
{
	char	buf[PATH_MAX];
	ssize_t	n;
	size_t	dl = strlen(" (deleted)");

	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0)
		return (NULL);
	buf[n] = '\0';
	/* replaced on disk: the path names the new file */
	if ((size_t)n > dl && strcmp(buf + n - dl, " (deleted)") == 0)
		buf[n - dl] = '\0';
	return (xstrdup(buf));
}
