/*
 * fuzz_proxy.c -- libFuzzer target for the PROXY protocol parser
 * (net/proxy.c): its answer stays within the input, is the same for the
 * header alone and for the header with bytes after it, and an
 * incomplete answer is never contradicted by a shorter prefix.
 * Invariant violations abort().
 */

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct proxy_hdr	h, h2;
	int			r, r2;

	r = proxy_parse(data, len, &h);
	check(r >= -1 && (r == -1 || (size_t)r <= len));
	if (r > 0) {
		/* the header alone says the same; one byte less is short */
		check(proxy_parse(data, (size_t)r, &h2) == r);
		check(memcmp(&h, &h2, sizeof(h)) == 0);
		check(proxy_parse(data, (size_t)r - 1, &h2) == 0);
		check(h.ph_version == 1 || h.ph_version == 2);
		if (!h.ph_local)
			check(h.ph_src.ss_family == AF_INET ||
			    h.ph_src.ss_family == AF_INET6);
	} else if (len > 0) {
		/* a prefix of an incomplete or bad header is not complete */
		r2 = proxy_parse(data, len - 1, &h2);
		check(r2 == 0 || r2 == -1);
		if (r == 0)
			check(r2 == 0);
	}
	return (0);
}
