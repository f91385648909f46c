/*
 * log.h -- levelled logging to stderr, a file or syslog (relayd style).
 *
 * Every call writes one whole line with one write(2), so lines from
 * several workers never interleave.  Per-packet events log at debug only.
 */

#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

int	log_open(int level, const char *file, int use_syslog);
void	log_close(void);
/* The log file's descriptor (-1: standard error or syslog), and taking
 * one over (a live upgrade's new process: the file may not be openable
 * after the privilege drop). */
int	log_file_fd(void);
void	log_adopt(int level, int fd);
void	log_set_level(int);
int	log_get_level(void);
int	log_level_parse(const char *);		/* -1 if unknown */
const char *log_level_name(int);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_enabled(lvl)	(log_get_level() >= (lvl))

#endif /* LOG_H */
