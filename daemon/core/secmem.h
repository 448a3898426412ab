/*
 * secmem.h - locked, guarded memory for secrets.
 *
 * One sodium_malloc() arena serves every secret of the process (store keys,
 * the signing key, passphrases in transit, one record key at a time): the
 * kernel caps the number of locked mappings, so secrets are never given a
 * mapping each.  Blocks are 64 bytes; an allocation takes a run of them.
 * fv_secmem_free() wipes before it releases.  Thread-safe.
 */
#ifndef FV_SECMEM_H
#define FV_SECMEM_H

#include <stddef.h>

#define FV_SECMEM_ARENA (64 * 1024) /* bytes, fixed for the process */

/* Sets up the arena (idempotent).  Returns 0 or FV_ENOMEM. */
int fv_secmem_init(void);
/* Returns zeroed secret memory of n bytes (n <= 4096), or NULL when the
 * arena is exhausted.  Caller releases it with fv_secmem_free(). */
void *fv_secmem_alloc(size_t n);
/* Wipes and releases p (NULL is a no-op). */
void fv_secmem_free(void *p);
/* Bytes in use, for status and tests. */
size_t fv_secmem_used(void);
/* Wipes the whole arena and frees it; used at exit. */
void fv_secmem_shutdown(void);

#endif
