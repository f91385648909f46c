/*
 * sbuf.h -- a growable string buffer, for answers built piece by piece
 * (the control socket's text and JSON).
 */

#ifndef SBUF_H
#define SBUF_H

#include <stddef.h>

struct sbuf {
	char	*sb_buf;	/* NUL-terminated; NULL until something is added */
	size_t	 sb_len;
	size_t	 sb_cap;
};

void	sbuf_init(struct sbuf *);
void	sbuf_free(struct sbuf *);
void	sbuf_printf(struct sbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included; bytes that are not UTF-8 become
 * U+FFFD, so the output is always valid JSON. */
void	sbuf_json_str(struct sbuf *, const char *s);
/* The text so far ("" when empty). */
const char *sbuf_str(const struct sbuf *);

#endif /* SBUF_H */
