/*
 * sbuf.c -- a growable string buffer (sbuf.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "common/xmalloc.h"

void
sbuf_init(struct sbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void
sbuf_free(struct sbuf *sb)
{
	free(sb->sb_buf);
	sbuf_init(sb);
}

const char *
sbuf_str(const struct sbuf *sb)
{
	return (sb->sb_buf != NULL ? sb->sb_buf : "");
}

static void
sbuf_reserve(struct sbuf *sb, size_t more)
{
	size_t	want = sb->sb_len + more + 1;

	if (want <= sb->sb_cap)
		return;
	if (sb->sb_cap == 0)
		sb->sb_cap = 256;
	while (sb->sb_cap < want)
		sb->sb_cap *= 2;
	sb->sb_buf = xreallocarray(sb->sb_buf, sb->sb_cap, 1);
}

void
sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sbuf_reserve(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->sb_buf + sb->sb_len, sb->sb_cap - sb->sb_len, fmt, ap);
	va_end(ap);
	sb->sb_len += (size_t)n;
}

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t	n, i;

	if (*p < 0x80)
		return (1);
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return (0);
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return (0);
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return (0);
	return (n);
}

void
sbuf_json_str(struct sbuf *sb, const char *s)
{
	const unsigned char	*p;
	size_t			 n;

	sbuf_printf(sb, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = utf8_len(p);
		if (n == 0) {		/* not UTF-8: the replacement character */
			sbuf_printf(sb, "\\ufffd");
			n = 1;
		} else if (n > 1)
			sbuf_printf(sb, "%.*s", (int)n, (const char *)p);
		else if (*p == '"' || *p == '\\')
			sbuf_printf(sb, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			sbuf_printf(sb, "\\u%04x", *p);
		else
			sbuf_printf(sb, "%c", *p);
	}
	sbuf_printf(sb, "\"");
}
