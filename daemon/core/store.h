/*
 * store.h - the encrypted record store (LMDB + record key file).
 *
 * One environment in DATA_DIR with the tables:
 *   meta     name -> plain value (role, name, device id and public key,
 *            Argon2id parameters, wrapped master key, wrapped signing key,
 *            the clock: last local seq and hlc)
 *   ops      author[16] seq[8] -> class[1] tag[16] sealed(op)
 *   records  tag[16] -> class[1] [slot[4]] sealed(state); a live record
 *            names the slot of the record key file holding its key
 *   devices  device id[16] -> JSON {name, role, public_key}
 * tag = keyed BLAKE2b-128 of the record id: keys reveal nothing.  class 0
 * values are sealed with the record's key, class 1 (delete ops and
 * tombstones, which hold no content) with the log key.
 *
 * Writes run in a transaction that the caller groups: fv_store_begin, any
 * number of create/update/delete, fv_store_commit (one fsync for all).  A
 * write refused with FV_EINVAL, FV_ENOTFOUND, FV_EDELETED or FV_EEXIST
 * changes nothing and the transaction goes on; any other error spoils the
 * transaction: abort it, and after FV_EMAPFULL grow the map
 * (fv_store_grow) and replay it.  Not thread-safe: one thread owns it.
 */
#ifndef FV_STORE_H
#define FV_STORE_H

#include <jansson.h>

#include "index.h"
#include "op.h"
#include "par.h"
#include "record.h"
#include "state.h"

#define FV_EMAPFULL (-100) /* replay the transaction */
#define FV_NAME_MAX 64	   /* device / institution name */

struct fv_store;

struct fv_store_info {
	char role[8]; /* "field" or "hq" */
	char name[FV_NAME_MAX + 1];
	uint8_t device_id[FV_ID_BYTES];
	uint8_t sign_pk[32];
};

/* Creates a new store in dir (created 0700 if missing) for this role and
 * name, with keys derived from the passphrase.  Refuses a dir that already
 * holds a store (FV_EEXIST). */
int fv_store_init(const char *dir, const char *role, const char *name,
    const char *pass, size_t passlen);
/* Opens an existing store, locked.  *out is freed with fv_store_close. */
int fv_store_open(const char *dir, struct fv_store **out);
/* Locks (wipes keys) and closes; NULL is a no-op. */
void fv_store_close(struct fv_store *s);
const struct fv_store_info *fv_store_info(const struct fv_store *s);

/* Derives the KEK for this store (slow; may run on any thread while the
 * owner thread goes on).  kek: 32 bytes of secret memory. */
int fv_store_derive(const struct fv_store *s, const char *pass, size_t len,
    uint8_t *kek);
/* Unwraps the keys with kek and builds the index.  FV_EPASS on a wrong
 * passphrase.  Scrubs record key slots left by an interrupted write. */
int fv_store_unlock(struct fv_store *s, const uint8_t *kek);
/* Wipes every key and the index. */
void fv_store_lock(struct fv_store *s);
int fv_store_locked(const struct fv_store *s);

int fv_store_begin(struct fv_store *s);
/* Creates a record from a validated body (fv_record_check + defaults) with
 * the given new id.  e is filled on FV_EINVAL / FV_ENOTFOUND. */
int fv_store_create(struct fv_store *s, enum fv_rtype t, const json_t *body,
    const uint8_t rid[FV_ID_BYTES], struct fv_verr *e);
/* Creates n records at once (an import) from their leaves (see
 * fv_state_leaves_from_json; borrowed): the signing and sealing run on both
 * cores.  On error *failed is the index of the record at fault; FV_EINVAL
 * leaves the transaction as it was. */
int fv_store_create_many(struct fv_store *s, enum fv_rtype t,
    const struct fv_leaves *lv, const uint8_t *rids, size_t n,
    struct fv_verr *e, size_t *failed);
/* Applies a JSON merge patch to a live record of type t; *changed says
 * whether anything changed (an identical patch writes nothing). */
int fv_store_update(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], const json_t *patch, struct fv_verr *e,
    int *changed);
/* Deletes a live record of type t: its key is destroyed at commit. */
int fv_store_delete(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES]);
/* Makes the transaction durable.  On a failed commit the store is reopened
 * and checked: 0 if it did reach the disk after all, else FV_ENOSPC /
 * FV_EIO and nothing of the transaction is kept. */
int fv_store_commit(struct fv_store *s);
void fv_store_abort(struct fv_store *s);
/* Called at each commit, for each record the transaction changed, in
 * order, once the transaction is durable (plugins' hooks).  rtype is an
 * enum fv_rtype.  A record purged from a field device counts as deleted
 * there.  Must not call the store. */
enum {
	FV_STORE_CREATED = 1,
	FV_STORE_UPDATED,
	FV_STORE_DELETED
};
typedef void (*fv_store_observer)(void *arg, const uint8_t rid[16], int rtype,
    int change);
void fv_store_set_observer(struct fv_store *s, fv_store_observer cb, void *arg);
/* The error that spoilt the open transaction (a write that failed after
 * it began to change it), or 0: the transaction may go on. */
int fv_store_spoilt(const struct fv_store *s);
/* Doubles the map; call after FV_EMAPFULL and fv_store_abort. */
int fv_store_grow(struct fv_store *s);

/* Applies an op signed elsewhere (sync, bundle) inside the open
 * transaction: the signature is checked against its author's key in the
 * devices table (FV_EUNKNOWN if not enrolled or revoked, FV_ESIG), a clock
 * more than FV_SKEW_MAX_MS ahead is refused (FV_ECLOCK), an op already
 * stored is skipped (*applied = 0), the same author and seq with other
 * bytes is refused (FV_EFORK).  The record's state merges it field by
 * field (state.h); a delete shreds the record here too. */
#define FV_SKEW_MAX_MS (24LL * 3600 * 1000)
int fv_store_apply(struct fv_store *s, const uint8_t *op, size_t len,
    int *applied);
/* The same, for an op whose signature the caller has checked already
 * under checked_pk (another thread: sync/verify.h): the check is skipped
 * only when checked_pk is the author's enrolled key. */
int fv_store_apply_checked(struct fv_store *s, const uint8_t *op, size_t len,
    const uint8_t *checked_pk, int *applied);
/* Calls cb(arg, signed op, len, seq) for up to max ops of author with a
 * seq above after, in seq order (shredded ones are gone).  Stops at the
 * first non-zero return of cb, and returns it. */
int fv_store_ops_since(struct fv_store *s, const uint8_t author[FV_ID_BYTES],
    uint64_t after, size_t max,
    int (*cb)(void *arg, const uint8_t *op, size_t len, uint64_t seq),
    void *arg);

/* A device this installation knows: itself, its HQ, its devices. */
struct fv_device {
	uint8_t id[FV_ID_BYTES];
	uint8_t sign_pk[32];
	char name[FV_NAME_MAX + 1];
	char role[8];
	char group[FV_NAME_MAX + 1];
	int revoked;
	int bare; /* stored without group and revoked (a store's own row,
		     written at fv_store_init) */
};
/* Adds or replaces a device (in the open transaction). */
int fv_store_device_put(struct fv_store *s, const struct fv_device *d);
int fv_store_device_get(struct fv_store *s, const uint8_t id[FV_ID_BYTES],
    struct fv_device *d);

/* HQ: calls cb(arg, arrival number, signed op, len, state of its record,
 * again) for up to max entries of the arrival log after after, in order;
 * *last gets the last number looked at (ops shredded since are skipped).
 * again is 1 when the op was logged again because its record was
 * (re)assigned: its author, who may have purged it, needs it too.  Ops
 * by skip (a device id, or NULL) are passed over unread unless logged
 * again. */
int fv_store_arrivals_since(struct fv_store *s, uint64_t after, size_t max,
    const uint8_t *skip,
    int (*cb)(void *arg, uint64_t n, const uint8_t *op, size_t len,
	const struct fv_state *st, int again),
    void *arg, uint64_t *last);

/* Sync: this installation's Noise static key pair (the X25519 form of its
 * signing key; sk: 32 bytes of secret memory, caller wipes). */
int fv_store_noise_keys(struct fv_store *s, uint8_t *sk, uint8_t pk[32]);
/* Partner exchange: copies of this installation's signing key (ed_sk, 64
 * bytes) and its X25519 form (x_sk, 32), both secret memory the caller
 * wipes, for the plugin thread's signing and opening on our behalf. */
int fv_store_exchange_keys(struct fv_store *s, uint8_t *ed_sk, uint8_t *x_sk);
/* The X25519 form of a device's signing key (what its Noise static is). */
int fv_store_x25519_of(const uint8_t sign_pk[32], uint8_t pk[32]);
/* The highest seq of author's ops this store holds (0: none). */
int fv_store_have_seq(struct fv_store *s, const uint8_t author[FV_ID_BYTES],
    uint64_t *seq);
/* A field device records that HQ holds its ops up to up_to (in the open
 * transaction); pending and last_sync follow. */
int fv_store_set_acked(struct fv_store *s, uint64_t up_to, int64_t when_ms);
int64_t fv_store_last_sync(const struct fv_store *s);
uint64_t fv_store_stats_acked(const struct fv_store *s);
/* Seals a bundle (bundle.h) signed with this installation's key. */
struct fv_bundle_hdr;
int fv_store_bundle_seal(struct fv_store *s, const struct fv_bundle_hdr *h,
    const uint8_t *payload, size_t len, const uint8_t receiver_xpk[32],
    struct fv_buf *out);
/* HQ: signs a receipt (frame.h) for device dev with its own key. */
int fv_store_sign_receipt(struct fv_store *s, const uint8_t dev[FV_ID_BYTES],
    uint64_t up_to, uint64_t hlc, const char *group, uint8_t sig[64]);
/*
 * Field, retention = purge_after_sync, after a receipt from HQ (checked
 * by the caller) for our ops up to up_to, naming our group: in the open
 * transaction, every live record that holds no op of ours above up_to
 * and is not assigned to group (an appeal whose assigned_to is group, or
 * a note on one) is crypto-shredded: its key slot wiped at commit, its
 * ops and state removed, a row that says "purged" left (an op for it from
 * HQ is then ignored, unless it assigns the record to group: HQ sends it
 * whole then).  Tombstones stay (they hold no content).  *purged and
 * *kept count the live records.
 */
int fv_store_purge(struct fv_store *s, uint64_t up_to, const char *group,
    size_t *purged, size_t *kept);
/* HQ's enrollment tokens.  JSON is their stored format (a token's fields
 * belong to sync/hq.c, which writes and reads them; the store keeps the
 * text): no secret in them, only its hash. */
int fv_store_token_put(struct fv_store *s, const uint8_t id[16],
    const json_t *t);
int fv_store_token_get(struct fv_store *s, const uint8_t id[16], json_t **out);
/* Calls cb for each known device, in id order.  Stops at the first
 * non-zero return of cb, and returns it. */
typedef int (*fv_store_device_cb)(void *arg, const struct fv_device *d);
int fv_store_devices(struct fv_store *s, fv_store_device_cb cb, void *arg);

/* Small plain settings kept in the store (HQ's address, ...): no secret,
 * no record content.  put runs in the open transaction. */
int fv_store_setting_put(struct fv_store *s, const char *key, const char *val);
int fv_store_setting_get(struct fv_store *s, const char *key, char *out,
    size_t len);

/* A live record's state (owned copies: fv_state_free it) and the name of
 * the device that created it (created_by may be NULL).  FV_ENOTFOUND,
 * FV_EDELETED (st then zeroed). */
int fv_store_record(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], struct fv_state *st,
    char created_by[FV_NAME_MAX + 1]);
/* Calls cb for each op of the record (live or deleted), oldest first,
 * with its author and seq; op is NULL when it was shredded since (then
 * the author and seq are all there is), else name is the author's.
 * Stops at the first non-zero return of cb, and returns it. */
typedef int (*fv_store_history_cb)(void *arg, const uint8_t *author,
    uint64_t seq, const struct fv_op *op, const char *name);
int fv_store_history(struct fv_store *s, const uint8_t rid[FV_ID_BYTES],
    fv_store_history_cb cb, void *arg);

/* A scan: the records matching f and, if query is not NULL, whose
 * applicant name, location or summary contains it (case- and
 * script-insensitively), read a batch at a time (an export of 100,000
 * records in flat memory).  new selects the matching ids now.  read reads
 * the next max of them, on both cores, into a batch: those still live
 * that match the query, in order, as views of their state (plaintext:
 * the batch wipes it when freed); it sets *done at the end.  A scan holds
 * no pointer into the store and a batch none into the scan: free them in
 * any order, any time. */
struct fv_store_scan;
struct fv_scan_rec {
	uint8_t rid[FV_ID_BYTES];
	struct fv_state st;	/* a view: see fv_state_view */
	const char *created_by; /* the author's name */
};
struct fv_scan_batch {
	struct fv_scan_rec *rec;
	size_t n;
	struct fv_arena arena[FV_PAR_WORKERS]; /* one a reader */
};
int fv_store_scan_new(struct fv_store *s, const struct fv_filter *f,
    const char *query, struct fv_store_scan **out);
int fv_store_scan_read(struct fv_store *s, struct fv_store_scan *sc, size_t max,
    struct fv_scan_batch **out, int *done);
void fv_store_scan_batch_free(struct fv_scan_batch *b);
/* Frees b and keeps its memory (wiped) for the scan's next reads. */
void fv_store_scan_recycle(struct fv_store_scan *sc, struct fv_scan_batch *b);
size_t fv_store_scan_count(const struct fv_store_scan *sc);
void fv_store_scan_free(struct fv_store_scan *sc);

struct fv_store_stats {
	size_t appeals, notes;
	uint64_t seq;	  /* last local op */
	uint64_t pending; /* local ops HQ has not acknowledged */
	uint64_t map_bytes;
};
int fv_store_stats(struct fv_store *s, struct fv_store_stats *st);
/* The map size new handles start with (default 64 MiB; tests make it
 * small to exercise growth).  Not thread-safe; call before opening. */
void fv_store_set_initial_map(size_t bytes);
/* The LMDB file descriptor and the key file's (for tests / checks). */
int fv_store_fds(const struct fv_store *s, int *fds, int n);

#endif
