#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "secmem.h"

#define BLOCK	64
#define NBLOCKS (FV_SECMEM_ARENA / BLOCK)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *arena;
/* run[i] = length in blocks of the allocation starting at block i, 0 if free
 * or inside a run; used[i] marks every block of every run. */
static uint16_t run[NBLOCKS];
static uint8_t used[NBLOCKS];
static size_t nused;

int
fv_secmem_init(void)
{
	int rc = 0;

	pthread_mutex_lock(&mu);
	if (arena == NULL) {
		if (sodium_init() < 0 ||
		    (arena = sodium_malloc(FV_SECMEM_ARENA)) == NULL)
			rc = FV_ENOMEM;
		else
			sodium_memzero(arena, FV_SECMEM_ARENA);
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

void *
fv_secmem_alloc(size_t n)
{
	size_t need, i, j;
	void *p = NULL;

	if (n == 0 || n > 4096 || fv_secmem_init() != 0)
		return NULL;
	need = (n + BLOCK - 1) / BLOCK;
	pthread_mutex_lock(&mu);
	for (i = 0; i + need <= NBLOCKS; i++) {
		for (j = 0; j < need && !used[i + j]; j++)
			;
		if (j == need) {
			memset(used + i, 1, need);
			run[i] = (uint16_t)need;
			nused += need;
			p = arena + i * BLOCK;
			break;
		}
		i += j;
	}
	pthread_mutex_unlock(&mu);
	return p;
}

void
fv_secmem_free(void *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&mu);
	i = (size_t)((unsigned char *)p - arena) / BLOCK;
	if (arena == NULL || (unsigned char *)p < arena || i >= NBLOCKS ||
	    run[i] == 0) {
		pthread_mutex_unlock(&mu);
		return;
	}
	sodium_memzero(p, (size_t)run[i] * BLOCK);
	memset(used + i, 0, run[i]);
	nused -= run[i];
	run[i] = 0;
	pthread_mutex_unlock(&mu);
}

size_t
fv_secmem_used(void)
{
	size_t n;

	pthread_mutex_lock(&mu);
	n = nused * BLOCK;
	pthread_mutex_unlock(&mu);
	return n;
}

void
fv_secmem_shutdown(void)
{
	pthread_mutex_lock(&mu);
	if (arena != NULL) {
		sodium_free(arena); /* sodium_free wipes before unmapping */
		arena = NULL;
		memset(run, 0, sizeof(run));
		memset(used, 0, sizeof(used));
		nused = 0;
	}
	pthread_mutex_unlock(&mu);
}
