/*
 * output.c - the output streams of <fieldvault/host.h>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdkimpl.h"

void
fv_sdk_output_init(struct fv_output *o, size_t max,
    int (*flush)(void *, const uint8_t *, size_t), void *arg)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
	o->flush = flush;
	o->arg = arg;
}

int
fv_sdk_output_flush(struct fv_output *o)
{
	if (o->err)
		return -1;
	if (o->flush == NULL || o->len == 0)
		return 0;
	if (o->flush(o->arg, o->p, o->len) != 0)
		o->err = 1;
	sodium_memzero(o->p, o->len);
	o->len = 0;
	return o->err ? -1 : 0;
}

void
fv_sdk_output_free(struct fv_output *o)
{
	if (o->p != NULL) {
		sodium_memzero(o->p, o->cap);
		free(o->p);
	}
	o->p = NULL;
	o->len = o->cap = 0;
}

int
fv_output_write(fv_output *o, const void *p, size_t len)
{
	uint8_t *n;
	size_t c;

	if (o == NULL || o->err)
		return -1;
	if (len == 0) /* no memcpy to a buffer not yet made */
		return 0;
	if (len > o->max - o->len) { /* a runaway plugin */
		o->err = 1;
		return -1;
	}
	if (o->len + len > o->cap) {
		for (c = o->cap ? o->cap : 4096; c < o->len + len; c *= 2)
			;
		if (c > o->max)
			c = o->max;
		/* copy, wipe, free: no stale content left behind by realloc */
		if ((n = malloc(c)) == NULL) {
			o->err = 1;
			return -1;
		}
		if (o->p != NULL) {
			memcpy(n, o->p, o->len);
			sodium_memzero(o->p, o->cap);
			free(o->p);
		}
		o->p = n;
		o->cap = c;
	}
	memcpy(o->p + o->len, p, len);
	o->len += len;
	if (o->flush != NULL && o->len >= FV_OUTPUT_FLUSH)
		return fv_sdk_output_flush(o);
	return 0;
}

int
fv_output_puts(fv_output *o, const char *s)
{
	return fv_output_write(o, s, strlen(s));
}

int
fv_output_printf(fv_output *o, const char *fmt, ...)
{
	char small[512], *big;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small)) {
		rc = fv_output_write(o, small, (size_t)n);
		sodium_memzero(small, (size_t)n);
		return rc;
	}
	if ((big = fv_alloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = fv_output_write(o, big, (size_t)n);
	fv_free(big);
	return rc;
}
