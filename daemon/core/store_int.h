/*
 * store_int.h - what store.c (open, init, keys) and store_rw.c (reads and
 * writes) share.  Not for use outside the store.
 */
#ifndef FV_STORE_INT_H
#define FV_STORE_INT_H

#include <limits.h>

#include <lmdb.h>

#include "hlc.h"
#include "keyfile.h"
#include "store.h"
#include "vault.h"

#define MAP_INITIAL	((size_t)64 << 20)
#define KEYS_BYTES	192
#define K_MK(s)		((s)->keys)
#define K_TAG(s)	((s)->keys + 32)
#define K_LOG(s)	((s)->keys + 64)
#define K_SK(s)		((s)->keys + 96)
#define K_REC(s)	((s)->keys + 160)
#define TAG_BYTES	16
#define FV_DROP_EVERY	32	/* ops between unmapping file pages */
#define OPKEY_BYTES	(FV_ID_BYTES + 8)
#define SK_WRAPPED	(64 + FV_SEAL_OVERHEAD)
#define CLASS_RECORD	0
#define CLASS_LOG	1

struct pend {
	uint8_t			 rid[FV_ID_BYTES];
	struct fv_ientry	*entry;		/* NULL: deleted */
};

struct fv_store {
	char			 dir[PATH_MAX];
	MDB_env			*env;
	MDB_dbi			 db_meta, db_ops, db_recs, db_devs;
	struct fv_keyfile	*kf;
	struct fv_store_info	 info;
	struct fv_kdf		 kdf;
	uint8_t			 mk_wrapped[FV_SLOT_BYTES];
	uint8_t			 sk_wrapped[SK_WRAPPED];
	uint8_t			*keys;		/* secmem; NULL when locked */
	struct fv_index		*idx;
	uint64_t		 seq, acked;
	uint64_t		 txns;		/* transactions committed */
	struct fv_hlc		 clock;
	size_t			 mapsize;
	/* the open write transaction */
	MDB_txn			*txn;
	uint64_t		 t_seq;
	int			 t_dirty;	/* the txn wrote something */
	uint32_t		 cur_slot;	/* key file slot of K_REC */
	uint64_t		 since_drop;	/* ops since pages were unmapped */
	void			*map_lo;	/* LMDB's map, as found */
	size_t			 map_len;
	int			 poisoned;	/* error that spoilt the txn */
	struct fv_hlc		 t_clock;
	struct pend		*pend;
	size_t			 npend, cappend;
	uint32_t		*newslots, *wipeslots;
	size_t			 nnew, capnew, nwipe, capwipe;
	struct fv_buf		 b1, b2;
};

int	fv_mdb_err(int rc);
int	fv_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x);
int	fv_meta_put(struct fv_store *s, MDB_txn *txn, const char *k,
	    const void *v, size_t n);
int	fv_meta_get(struct fv_store *s, MDB_txn *txn, const char *k, void *v,
	    size_t n);
int	fv_put_clock(struct fv_store *s, MDB_txn *txn, uint64_t seq,
	    uint64_t hlc, uint64_t txns);
int	fv_env_open(struct fv_store *s);
int	fv_read_meta(struct fv_store *s);

#endif
