/*
 * clock.h -- the monotonic clock, for timeouts and durations (never the
 * time of day).
 */

#ifndef CLOCK_H
#define CLOCK_H

#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. */
static inline long long
clock_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* Milliseconds on CLOCK_MONOTONIC. */
static inline long long
clock_mono_ms(void)
{
	return (clock_mono_us() / 1000);
}

#endif /* CLOCK_H */
