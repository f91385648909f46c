/*
 * unit.h -- a tiny TAP harness for the unit tests (automake tap-driver).
 *
 *	static void
 *	test_something(void)
 *	{
 *		CHECK(1 + 1 == 2);
 *		CHECK_EQ_INT(f(), 3);
 *	}
 *
 *	int
 *	main(void)
 *	{
 *		RUN(test_something);
 *		return (unit_done());
 *	}
 *
 * Each RUN() is one TAP test point; a failed CHECK prints a diagnostic
 * with file:line and marks the point "not ok" but lets it finish.
 * unit_rng() is a fixed-seed PRNG, so every run tests the same cases.
 */

#ifndef UNIT_H
#define UNIT_H

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int	unit_n;
static int	unit_failed;
static int	unit_cur_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		unit_cur_failed = 1;					\
		printf("# %s:%d: CHECK(%s) failed\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

#define CHECK_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		unit_cur_failed = 1;					\
		printf("# %s:%d: %s == %lld, expected %s == %lld\n",	\
		    __FILE__, __LINE__, #a, _a, #b, _b);		\
	}								\
} while (0)

#define CHECK_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {		\
		unit_cur_failed = 1;					\
		printf("# %s:%d: %s == \"%s\", expected \"%s\"\n",	\
		    __FILE__, __LINE__, #a, _a ? _a : "(null)",		\
		    _b ? _b : "(null)");				\
	}								\
} while (0)

#define CHECK_EQ_MEM(a, b, n) do {					\
	if (memcmp((a), (b), (n)) != 0) {				\
		unit_cur_failed = 1;					\
		printf("# %s:%d: %s and %s differ\n", __FILE__,		\
		    __LINE__, #a, #b);					\
	}								\
} while (0)

#define RUN(fn) do {							\
	unit_cur_failed = 0;						\
	fn();								\
	unit_n++;							\
	if (unit_cur_failed)						\
		unit_failed++;						\
	printf("%s %d - %s\n", unit_cur_failed ? "not ok" : "ok",	\
	    unit_n, #fn);						\
	fflush(stdout);							\
} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_n);
	return (unit_failed ? 1 : 0);
}

/* A fixed-seed xorshift32; unit_rng_seed() picks another fixed seed. */
static uint32_t	unit_rng_state __attribute__((unused)) = 0x9e3779b9U;

static inline void
unit_rng_seed(uint32_t seed)
{
	unit_rng_state = seed;
}

static inline uint32_t
unit_rng(void)
{
	unit_rng_state ^= unit_rng_state << 13;
	unit_rng_state ^= unit_rng_state >> 17;
	unit_rng_state ^= unit_rng_state << 5;
	return (unit_rng_state);
}

/* A file of the source tree, read whole; NULL if not found. */
static inline char *
unit_slurp(const char *rel)
{
	const char	*dirs[] = { getenv("top_srcdir"), "..", "../.." };
	char		 path[1024], *buf;
	FILE		*fp = NULL;
	long		 n;
	size_t		 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fp == NULL; i++) {
		if (dirs[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], rel);
		fp = fopen(path, "r");
	}
	if (fp == NULL) {
		printf("# cannot find %s (set top_srcdir)\n", rel);
		return (NULL);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(buf);
		return (NULL);
	}
	buf[n] = '\0';
	fclose(fp);
	return (buf);
}

#endif /* UNIT_H */
