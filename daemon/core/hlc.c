#include <time.h>

#include "hlc.h"

int64_t
fv_hlc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fv_hlc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t
fv_hlc_tick(struct fv_hlc *c, int64_t now_ms)
{
	uint64_t wall = (uint64_t)now_ms << 16;

	c->last = wall > c->last ? wall : c->last + 1;
	return c->last;
}

uint64_t
fv_hlc_recv(struct fv_hlc *c, uint64_t remote, int64_t now_ms)
{
	if (remote > c->last)
		c->last = remote;
	return fv_hlc_tick(c, now_ms);
}
