/*
 * keyfile.h - the record key file: one fixed-size slot per live record,
 * holding its key wrapped by the master key.
 *
 * Why a file of its own: LMDB is copy-on-write, so a deleted value lingers
 * in free pages until they are reused.  A record key must be gone at once
 * when the record is deleted, so keys live here and a delete overwrites the
 * slot in place and syncs it (crypto-shredding): the record's ops and state
 * left in LMDB's free pages are then noise.
 *
 * Layout: 64-byte header ("FVRKEYS1", zero padded), then slots of
 * FV_SLOT_BYTES.  An all-zero slot is free.  Which slots are in use is
 * decided by the store (each live record names its slot), not by this file: a slot written
 * by a transaction that never committed is scrubbed at unlock.
 */
#ifndef FV_KEYFILE_H
#define FV_KEYFILE_H

#include <stdint.h>

#include "vault.h"

#define FV_SLOT_BYTES (FV_KEY_BYTES + FV_SEAL_OVERHEAD) /* 72 */
#define FV_SLOTS_MAX  (1u << 26)

struct fv_keyfile;

/* Opens (create: creates, refusing an existing file) path.  0, FV_EIO,
 * FV_EEXIST or FV_ECORRUPT (bad header). */
int fv_keyfile_open(const char *path, int create, struct fv_keyfile **out);
void fv_keyfile_close(struct fv_keyfile *kf);
/* Forgets which slots are used (at lock) / marks one used (at unlock). */
void fv_keyfile_reset(struct fv_keyfile *kf);
int fv_keyfile_mark(struct fv_keyfile *kf, uint32_t slot);
/* Overwrites every slot not marked used that is not already zero; syncs. */
int fv_keyfile_scrub(struct fv_keyfile *kf, uint32_t *nscrubbed);
/* Takes the lowest free slot. */
int fv_keyfile_alloc(struct fv_keyfile *kf, uint32_t *slot);
int fv_keyfile_write(struct fv_keyfile *kf, uint32_t slot,
    const uint8_t wrapped[FV_SLOT_BYTES]);
/* Writes n consecutive slots from first on, in one system call. */
int fv_keyfile_write_run(struct fv_keyfile *kf, uint32_t first, uint32_t n,
    const uint8_t *wrapped);
int fv_keyfile_read(struct fv_keyfile *kf, uint32_t slot,
    uint8_t wrapped[FV_SLOT_BYTES]);
/* Overwrites the slot with zeros and frees it (caller syncs). */
int fv_keyfile_wipe(struct fv_keyfile *kf, uint32_t slot);
/* Frees a slot without touching the file. */
void fv_keyfile_release(struct fv_keyfile *kf, uint32_t slot);
/* fdatasync: returns 0, FV_ENOSPC or FV_EIO. */
int fv_keyfile_sync(struct fv_keyfile *kf);
int fv_keyfile_fd(const struct fv_keyfile *kf);
uint32_t fv_keyfile_used(const struct fv_keyfile *kf);

#endif
