/*
 * hlc.h - hybrid logical clock: 48 bits of Unix milliseconds, 16 bits of
 * counter.  Ordered as plain uint64_t; never goes backwards even when the
 * wall clock does.
 */
#ifndef FV_HLC_H
#define FV_HLC_H

#include <stdint.h>

#define FV_HLC_MS(h) ((int64_t)((h) >> 16))

struct fv_hlc {
	uint64_t last;
};

/* Wall clock in Unix milliseconds. */
int64_t fv_hlc_now_ms(void);
/* Monotonic clock in microseconds, for durations. */
int64_t fv_hlc_now_us(void);
/* Next timestamp for a local event at wall time now_ms. */
uint64_t fv_hlc_tick(struct fv_hlc *c, int64_t now_ms);
/* Merge a timestamp seen from elsewhere (so later local events order after
 * it) and return the next local timestamp. */
uint64_t fv_hlc_recv(struct fv_hlc *c, uint64_t remote, int64_t now_ms);

#endif
