/*
 * log.c -- levelled logging to stderr, a file or syslog (relayd style).
 *
 * The only file-static state in turnd.  Each line is formatted into a
 * stack buffer and written with one write(2), so worker threads never
 * interleave their lines.  The level is read without a lock: changing
 * it (reload) races only with the decision to log one line.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define LOG_LINE_MAX	4096	/* a stats: line with every counter at 2^64 */

static atomic_int	log_level = LOG_LVL_INFO;
static int		log_fd = STDERR_FILENO;
static int		log_syslog;

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/*
 * Route output: syslog if asked, else the file if one is named (opened
 * for append, created 0640), else stderr.  Returns -1 if the file cannot
 * be opened (errno set); logging then stays on stderr.
 */
int
log_open(int level, const char *file, int use_syslog)
{
	int	fd;

	log_set_level(level);
	if (use_syslog) {
		openlog("turnd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
		return (0);
	}
	if (file != NULL && *file != '\0') {
		fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (fd == -1)
			return (-1);
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = fd;
	}
	return (0);
}

int
log_file_fd(void)
{
	return (log_syslog || log_fd == STDERR_FILENO ? -1 : log_fd);
}

void
log_adopt(int level, int fd)
{
	log_set_level(level);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
}

void
log_close(void)
{
	if (log_syslog)
		closelog();
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_syslog = 0;
}

void
log_set_level(int level)
{
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
log_get_level(void)
{
	return (atomic_load_explicit(&log_level, memory_order_relaxed));
}

int
log_level_parse(const char *s)
{
	int	i;

	for (i = 0; i <= LOG_LVL_DEBUG; i++)
		if (strcmp(s, log_names[i]) == 0)
			return (i);
	return (-1);
}

const char *
log_level_name(int level)
{
	if (level < LOG_LVL_ERR || level > LOG_LVL_DEBUG)
		return ("?");
	return (log_names[level]);
}

static void __attribute__((format(printf, 3, 0)))
log_vwrite(int level, int errnum, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n = 0;
	int		 r;

	if (level > log_get_level())
		return;
	if (!log_syslog) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ld %s: ",
		    ts.tv_nsec / 1000000L, log_names[level]);
		n += r > 0 ? (size_t)r : 0;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = (n + (size_t)r < sizeof(line)) ? n + (size_t)r :
		    sizeof(line) - 1;
	if (errnum != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		if (r > 0)
			n = (n + (size_t)r < sizeof(line)) ? n + (size_t)r :
			    sizeof(line) - 1;
	}
	if (log_syslog) {
		syslog(log_prio[level], "%s", line);
		return;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	ap;							\
	int	saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_vwrite(level, with_errno ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
