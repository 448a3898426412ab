/*
 * mem.c - fv_alloc and friends: blocks that are wiped when freed, for
 * buffers that hold record content.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdkimpl.h"

/* the size rides in front of the block, aligned as malloc's */
#define HDR (2 * sizeof(size_t))

void *
fv_alloc(size_t size)
{
	size_t *p;

	if (size > SIZE_MAX - HDR || (p = malloc(size + HDR)) == NULL)
		return NULL;
	p[0] = size;
	return (uint8_t *)p + HDR;
}

void
fv_free(void *v)
{
	size_t *p;

	if (v == NULL)
		return;
	p = (size_t *)(void *)((uint8_t *)v - HDR);
	sodium_memzero(p, p[0] + HDR);
	free(p);
}

void *
fv_realloc(void *v, size_t size)
{
	void *n;
	size_t old;

	if (v == NULL)
		return fv_alloc(size);
	if ((n = fv_alloc(size)) == NULL)
		return NULL;
	old = ((size_t *)(void *)((uint8_t *)v - HDR))[0];
	memcpy(n, v, old < size ? old : size);
	fv_free(v);
	return n;
}

char *
fv_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = fv_alloc(n);

	if (c != NULL)
		memcpy(c, s, n);
	return c;
}
