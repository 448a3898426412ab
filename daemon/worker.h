/*
 * worker.h - unlocking off the loop.
 *
 * Argon2id takes about a second and 256 MiB: it runs on a thread of its
 * own, and the loop hears of the result through an event.  A wrong
 * passphrase is answered only after a delay that doubles with each
 * consecutive failure (1 s, 2 s, 4 s ... 60 s); while an attempt is being
 * derived or delayed, another is refused, so guessing through the socket
 * is slow whatever the client does.
 */
#ifndef FV_WORKER_H
#define FV_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

#define FV_UNLOCK_DELAY_MAX 60 /* seconds */

typedef void (*fv_unlock_cb)(int rc, void *arg);

int fv_worker_new(struct fvd *d, struct fv_unlocker **out);
/* Waits for a running derivation, then frees. */
void fv_worker_free(struct fv_unlocker *u);
/* Starts an attempt with pass (fv_secmem memory, taken over and wiped).
 * cb(rc) runs later on the loop: 0, FV_EPASS, or another error.  Returns
 * FV_EBUSY (pass wiped) if an attempt is running or being delayed. */
int fv_worker_unlock(struct fv_unlocker *u, uint8_t *pass, size_t len,
    fv_unlock_cb cb, void *arg);
int fv_worker_busy(const struct fv_unlocker *u);
/* Consecutive wrong passphrases so far. */
int fv_worker_failures(const struct fv_unlocker *u);

#endif
