/*
 * xmalloc.h -- allocation wrappers that fatal() on exhaustion (redis, tmux).
 *
 * Memory use is bounded by limits checked before allocating (connections,
 * per-source limits, quotas), so running out here is a broken invariant.
 */

#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
/* The first n bytes of s (which may hold NULs: they end the copy). */
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* XMALLOC_H */
