/*
 * test_sbuf.c -- the string buffer of the control socket's answers, and
 * JSON strings that stay valid whatever bytes a user name holds.
 */

#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "unit.h"

static void
test_printf_grows(void)
{
	struct sbuf	sb;
	int		i;

	sbuf_init(&sb);
	CHECK_EQ_STR(sbuf_str(&sb), "");
	for (i = 0; i < 1000; i++)
		sbuf_printf(&sb, "%04d,", i);
	CHECK_EQ_INT((int)sb.sb_len, 5000);
	CHECK_EQ_INT((int)strlen(sbuf_str(&sb)), 5000);
	CHECK(strncmp(sbuf_str(&sb) + 4995, "0999,", 5) == 0);
	sbuf_free(&sb);
	CHECK_EQ_STR(sbuf_str(&sb), "");
}

/* s as a JSON string. */
static const char *
json(struct sbuf *sb, const char *s)
{
	sbuf_free(sb);
	sbuf_json_str(sb, s);
	return (sbuf_str(sb));
}

static void
test_json_str(void)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	CHECK_EQ_STR(json(&sb, "alice"), "\"alice\"");
	CHECK_EQ_STR(json(&sb, ""), "\"\"");
	CHECK_EQ_STR(json(&sb, "a\"b\\c"), "\"a\\\"b\\\\c\"");
	CHECK_EQ_STR(json(&sb, "tab\there\n\x01\x7f"),
	    "\"tab\\u0009here\\u000a\\u0001\\u007f\"");
	/* valid UTF-8 passes through: é, €, 😀 */
	CHECK_EQ_STR(json(&sb, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* not UTF-8: each bad byte is U+FFFD */
	CHECK_EQ_STR(json(&sb, "a\xff" "b"), "\"a\\ufffdb\"");
	CHECK_EQ_STR(json(&sb, "\xc3"), "\"\\ufffd\"");	/* cut short */
	CHECK_EQ_STR(json(&sb, "\xc0\xaf"), "\"\\ufffd\\ufffd\"");	/* overlong */
	CHECK_EQ_STR(json(&sb, "\xed\xa0\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\"");		/* a surrogate */
	CHECK_EQ_STR(json(&sb, "\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* past U+10FFFF */
	sbuf_free(&sb);
}

int
main(void)
{
	RUN(test_printf_grows);
	RUN(test_json_str);
	return (unit_done());
}
