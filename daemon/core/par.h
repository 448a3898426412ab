/*
 * par.h - run a CPU-bound loop on both cores.
 *
 * Signing, sealing and parsing a thousand records is the bulk of an
 * import; the store's transaction and the event loop are not thread-safe,
 * so only such pure per-record work is split: half on the calling thread,
 * half on one long-lived helper thread.
 */
#ifndef FV_PAR_H
#define FV_PAR_H

#include <stddef.h>

#define FV_PAR_WORKERS 2
#define FV_PAR_MIN     32 /* below this, run inline */

/* fn(arg, lo, hi, worker) is called for [0, n) split in FV_PAR_WORKERS
 * ranges; worker (0 or 1) indexes per-worker scratch.  Returns when all
 * are done.  Callers on several threads may overlap: when the helper is
 * busy, the whole range runs on the calling thread (as worker 0). */
void fv_par_run(size_t n, void (*fn)(void *, size_t, size_t, int), void *arg);

#endif
