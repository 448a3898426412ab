/*
 * tap.h - a minimal TAP producer for unit tests (automake tap-driver.sh).
 *
 *   plan_lazy();  ok(cond, "name %d", i);  is_int(a, b, "name");
 *   return done_testing();
 */
#ifndef FV_TAP_H
#define FV_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

/* All n bytes at p are zero (libsodium's check; the test includes
 * sodium.h). */
#define is_zero(p, n) sodium_is_zero((const unsigned char *)(p), (n))

static inline void
tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_n++;
	if (!cond)
		tap_fail++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

#define is_int(got, want, ...) \
	do { \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (!ok(g_ == w_, __VA_ARGS__)) \
			printf("#   got %lld, want %lld\n", g_, w_); \
	} while (0)

#define is_str(got, want, ...) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		int c_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0; \
		if (!ok(c_, __VA_ARGS__)) \
			printf("#   got '%s', want '%s'\n", \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
