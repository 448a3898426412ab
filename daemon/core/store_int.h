/*
 * store_int.h - what the store's files share: store.c (open, init, unlock),
 * store_seal.c (keys and sealed values), store_write.c, store_read.c and
 * store_sync.c.  Not for use outside the store.
 */
#ifndef FV_STORE_INT_H
#define FV_STORE_INT_H

#include <limits.h>

#include <lmdb.h>

#include "buf.h"
#include "hlc.h"
#include "op.h"
#include "state.h"
#include "keyfile.h"
#include "store.h"
#include "vault.h"

#define MAP_INITIAL   ((size_t)64 << 20)
#define KEYS_BYTES    192
#define K_MK(s)	      ((s)->keys)
#define K_TAG(s)      ((s)->keys + 32)
#define K_LOG(s)      ((s)->keys + 64)
#define K_SK(s)	      ((s)->keys + 96)
#define K_REC(s)      ((s)->keys + 160)
#define TAG_BYTES     16
#define FV_DROP_EVERY 32 /* ops between unmapping file pages */
#define OPKEY_BYTES   (FV_ID_BYTES + 8)
#define SK_WRAPPED    (64 + FV_SEAL_OVERHEAD)
#define CLASS_RECORD  0
#define CLASS_LOG     1
#define CLASS_PURGED \
	2 /* field, purge_after_sync: HQ has it; the
				 * row is the class byte alone */

struct pend {
	uint8_t rid[FV_ID_BYTES];
	struct fv_ientry *entry; /* NULL: deleted */
};

struct fv_store {
	char dir[PATH_MAX];
	MDB_env *env;
	MDB_dbi db_meta, db_ops, db_recs, db_devs, db_tokens;
	MDB_dbi db_arrivals;	     /* HQ: n -> op ref */
	uint64_t arrival, t_arrival; /* last arrival number */
	struct fv_keyfile *kf;
	struct fv_store_info info;
	struct fv_kdf kdf;
	uint8_t mk_wrapped[FV_SLOT_BYTES];
	uint8_t sk_wrapped[SK_WRAPPED];
	uint8_t *keys; /* secmem; NULL when locked */
	struct fv_index *idx;
	uint64_t seq, acked; /* acked: by HQ, up to this seq */
	uint64_t t_acked;    /* ... once the txn commits */
	int64_t t_last_sync;
	uint64_t t_applied; /* ops from elsewhere stored */
	int64_t last_sync;  /* Unix ms, 0: never */
	uint64_t txns;	    /* transactions committed */
	struct fv_hlc clock;
	size_t mapsize;
	/* the open write transaction */
	MDB_txn *txn;
	uint64_t t_seq;
	int t_dirty;	     /* the txn wrote something */
	uint32_t cur_slot;   /* key file slot of K_REC */
	uint64_t since_drop; /* ops since pages were unmapped */
	void *map_lo;	     /* LMDB's map, as found */
	size_t map_len;
	int poisoned; /* error that spoilt the txn */
	struct fv_hlc t_clock;
	struct pend *pend;
	size_t npend, cappend;
	fv_store_observer observe;
	void *observe_arg;
	uint32_t *newslots, *wipeslots;
	size_t nnew, capnew, nwipe, capwipe;
	struct fv_buf b1, b2;
	/* the last author whose key was read (sync applies runs of one
	 * author's ops); forgotten whenever a transaction ends */
	int ak_valid;
	uint8_t ak_id[FV_ID_BYTES], ak_pk[32];
};

/* store.c: the environment and its plain meta table */
int fv_store_mdb_err(int rc);
int fv_store_meta_put(struct fv_store *s, MDB_txn *txn, const char *k,
    const void *v, size_t n);
int fv_store_put_clock(struct fv_store *s, MDB_txn *txn, uint64_t seq,
    uint64_t hlc, uint64_t txns);
int fv_store_env_open(struct fv_store *s);
int fv_store_read_meta(struct fv_store *s);

/* store_seal.c: keys, sealed values, and the rows holding them; see
 * each definition for its contract. */
struct fv_ientry;
int fv_store_txn_put(struct fv_store *s, MDB_dbi dbi, MDB_val *k, MDB_val *v,
    unsigned flags);
int fv_store_txn_del(struct fv_store *s, MDB_dbi dbi, MDB_val *k);
void fv_store_tag_of(const struct fv_store *s, const uint8_t *rid,
    uint8_t tag[TAG_BYTES]);
int fv_store_rkey_load(struct fv_store *s, uint32_t slot, const uint8_t *tag);
void fv_store_wrap_key(const uint8_t *mk, uint32_t slot, const uint8_t *tag,
    const uint8_t *key, uint8_t wrapped[FV_SLOT_BYTES]);
int fv_store_rkey_new(struct fv_store *s, const uint8_t *tag);
void fv_store_opkey(uint8_t k[OPKEY_BYTES], const uint8_t *author,
    uint64_t seq);
int fv_store_seal_op(const uint8_t *sk, const uint8_t *key,
    const struct fv_op *op, int class, const uint8_t *tag, struct fv_buf *tmp,
    struct fv_buf *out);
int fv_store_seal_state(const uint8_t *key, const uint8_t *tag,
    const uint8_t *rid, const struct fv_state *st, int class, uint32_t slot,
    struct fv_buf *tmp, struct fv_buf *out);
int fv_store_put_op(struct fv_store *s, const struct fv_op *op, int class,
    const uint8_t *tag);
int fv_store_put_signed(struct fv_store *s, const uint8_t *op, size_t len,
    const struct fv_op *hdr, int class, const uint8_t *tag);
int fv_store_put_state(struct fv_store *s, const uint8_t *tag,
    const uint8_t *rid, const struct fv_state *st, int class);
int fv_store_load_op(struct fv_store *s, MDB_txn *txn, const uint8_t *ref,
    const uint8_t *tag, struct fv_buf *pt, struct fv_op *op);
int fv_store_load_tag(struct fv_store *s, MDB_txn *txn, const uint8_t *tag,
    uint8_t rid[FV_ID_BYTES], struct fv_state *st, int *class);
int fv_store_load_live(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    int t, struct fv_state *st);
int fv_store_arrive(struct fv_store *s, const uint8_t *ref, int again);
int fv_store_relog(struct fv_store *s, const struct fv_state *st,
    const struct fv_op *op);
/* What a thread reading records as views needs of its own. */
struct fv_st_viewer {
	uint8_t *key;	       /* 32 bytes, secret memory */
	struct fv_arena arena; /* the plaintexts */
	struct fv_leaf fields[FV_OP_FIELDS_MAX];
};
/* Reads the live record rid as a view (fv_state_view) whose memory is
 * vw's arena.  Safe on any thread with its own read txn while the store's
 * thread waits (it uses the store's keys).  0, FV_ENOTFOUND, FV_EDELETED,
 * FV_ECORRUPT or FV_ENOMEM. */
int fv_store_view_live(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    struct fv_st_viewer *vw, struct fv_state *st);
/* The same for a record of one op (its index entry says so): the op
 * alone, at ref, opened with the key in slot.  FV_ECORRUPT if it is not
 * there or not that record's. */
int fv_store_view_op(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    uint32_t slot, const uint8_t *ref, struct fv_st_viewer *vw,
    struct fv_state *st);

/* store_write.c: the open transaction, and the file's pages */
int fv_store_poison(struct fv_store *s, int rc);
int fv_store_pend_push(struct fv_store *s, const uint8_t *rid,
    struct fv_ientry *e);
int fv_store_save_live(struct fv_store *s, const uint8_t *tag,
    const uint8_t *rid, const struct fv_state *st);
int fv_store_shred(struct fv_store *s, const struct fv_state *st,
    uint32_t slot);
void fv_store_drop_mapped(struct fv_store *s, uint64_t wrote);
/* Finds LMDB's map (on the store's thread); unmaps its pages (on any
 * thread: they are the file's, and come back on the next read). */
void fv_store_find_map(struct fv_store *s);
void fv_store_unmap(const struct fv_store *s);

/* store_read.c: read transactions (inside a write: the write's) */
int fv_store_read_begin(struct fv_store *s, MDB_txn **txn);
void fv_store_read_end(struct fv_store *s, MDB_txn *txn);

#endif
