/*
 * store_seal.c - the store's values: tags, record keys, sealed ops and states.
 */
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fold.h"
#include "fv_error.h"
#include "par.h"
#include "patch.h"
#include "secmem.h"
#include "state.h"
#include "store_int.h"

/* Every change of the open transaction goes through these two: the commit
 * then knows whether there is anything to commit. */
int
fv_store_txn_put(struct fv_store *s, MDB_dbi dbi, MDB_val *k, MDB_val *v,
    unsigned flags)
{
	s->t_dirty = 1;
	return mdb_put(s->txn, dbi, k, v, flags);
}

int
fv_store_txn_del(struct fv_store *s, MDB_dbi dbi, MDB_val *k)
{
	s->t_dirty = 1;
	return mdb_del(s->txn, dbi, k, NULL);
}

void
fv_store_tag_of(const struct fv_store *s, const uint8_t *rid,
    uint8_t tag[TAG_BYTES])
{
	crypto_generichash(tag, TAG_BYTES, rid, FV_ID_BYTES, K_TAG(s), 32);
}

/* The associated data that binds each sealed value to its place: a
 * wrapped record key to its slot and tag, an op to its LMDB key, class and
 * tag, a state to its tag and class. */
#define KEY_AD_BYTES (1 + 4 + TAG_BYTES)
#define OP_AD_BYTES  (2 + OPKEY_BYTES + 1 + TAG_BYTES)
#define REC_AD_BYTES (3 + TAG_BYTES + 1)

static void
key_ad(uint8_t ad[KEY_AD_BYTES], uint32_t slot, const uint8_t *tag)
{
	ad[0] = 'k';
	fv_buf_put_u32(ad + 1, slot);
	memcpy(ad + 5, tag, TAG_BYTES);
}

static void
op_ad(uint8_t ad[OP_AD_BYTES], const uint8_t *ref, int class,
    const uint8_t *tag)
{
	memcpy(ad, "op", 2);
	memcpy(ad + 2, ref, OPKEY_BYTES);
	ad[2 + OPKEY_BYTES] = (uint8_t) class;
	memcpy(ad + 3 + OPKEY_BYTES, tag, TAG_BYTES);
}

static void
rec_ad(uint8_t ad[REC_AD_BYTES], const uint8_t *tag, int class)
{
	memcpy(ad, "rec", 3);
	memcpy(ad + 3, tag, TAG_BYTES);
	ad[3 + TAG_BYTES] = (uint8_t) class;
}

/* Unwraps the key of the record with this tag, kept in this slot of the
 * record key file, into key (32 bytes of secret memory).  Thread-safe. */
static int
rkey_open(struct fv_store *s, uint32_t slot, const uint8_t *tag, uint8_t *key)
{
	uint8_t wrapped[FV_SLOT_BYTES], ad[KEY_AD_BYTES];
	int rc;

	key_ad(ad, slot, tag);
	if ((rc = fv_keyfile_read(s->kf, slot, wrapped)) != 0)
		return rc;
	if (fv_vault_open_key(K_MK(s), ad, sizeof(ad), wrapped, FV_SLOT_BYTES,
		key) != 0)
		return FV_ECORRUPT;
	return 0;
}

/* Loads the key of the record with this tag, kept in this slot of the
 * record key file, into K_REC (and its slot into cur_slot). */
int
fv_store_rkey_load(struct fv_store *s, uint32_t slot, const uint8_t *tag)
{
	int rc;

	if ((rc = rkey_open(s, slot, tag, K_REC(s))) == 0)
		s->cur_slot = slot;
	return rc;
}

/* Wraps a record key for its slot: the AD ties it to slot and tag. */
void
fv_store_wrap_key(const uint8_t *mk, uint32_t slot, const uint8_t *tag,
    const uint8_t *key, uint8_t wrapped[FV_SLOT_BYTES])
{
	uint8_t ad[KEY_AD_BYTES];

	key_ad(ad, slot, tag);
	fv_vault_seal_key(mk, ad, sizeof(ad), key, 32, wrapped);
}

/* Makes a new record key in K_REC, writes it wrapped into a fresh slot
 * (cur_slot). */
int
fv_store_rkey_new(struct fv_store *s, const uint8_t *tag)
{
	uint8_t wrapped[FV_SLOT_BYTES];
	uint32_t slot;
	int rc;

	if ((rc = fv_keyfile_alloc(s->kf, &slot)) != 0)
		return rc;
	if ((rc = fv_buf_push_u32(&s->newslots, &s->nnew, &s->capnew, slot)) !=
	    0) {
		fv_keyfile_release(s->kf, slot);
		return rc;
	}
	randombytes_buf(K_REC(s), 32);
	fv_store_wrap_key(K_MK(s), slot, tag, K_REC(s), wrapped);
	s->cur_slot = slot;
	return fv_keyfile_write(s->kf, slot, wrapped);
}

void
fv_store_opkey(uint8_t k[OPKEY_BYTES], const uint8_t *author, uint64_t seq)
{
	memcpy(k, author, FV_ID_BYTES);
	fv_buf_put_u64(k + FV_ID_BYTES, seq);
}

/* Signs op with sk and seals it under key into out: class || tag ||
 * sealed(op).  AD binds the table, the LMDB key, the class and the tag.
 * Pure: safe on any thread.  tmp holds the plaintext (caller wipes). */
int
fv_store_seal_op(const uint8_t *sk, const uint8_t *key, const struct fv_op *op,
    int class, const uint8_t *tag, struct fv_buf *tmp, struct fv_buf *out)
{
	uint8_t ad[OP_AD_BYTES], ref[OPKEY_BYTES];
	int rc;

	tmp->len = out->len = 0;
	if ((rc = fv_op_sign(op, sk, tmp)) != 0)
		return rc;
	fv_store_opkey(ref, op->author, op->seq);
	op_ad(ad, ref, class, tag);
	fv_buf_u8(out, (uint8_t) class);
	fv_buf_put(out, tag, TAG_BYTES);
	if (fv_vault_seal(key, ad, sizeof(ad), tmp->p, tmp->len, out) != 0 ||
	    out->err)
		return FV_ENOMEM;
	return 0;
}

/* Seals rid || state under key into out: class || [slot] || sealed; a
 * live record (class 0) says which slot of the record key file holds its
 * key.  A live state with one op is stored without its leaves
 * (FV_ST_FROMOP).  Pure. */
int
fv_store_seal_state(const uint8_t *key, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st, int class, uint32_t slot, struct fv_buf *tmp,
    struct fv_buf *out)
{
	uint8_t ad[REC_AD_BYTES];
	int rc;

	tmp->len = out->len = 0;
	fv_buf_put(tmp, rid, FV_ID_BYTES);
	if (class == CLASS_RECORD && st->nops == 1) {
		struct fv_state compact = *st;

		compact.leaves.n = 0;
		compact.flags |= FV_ST_FROMOP;
		rc = fv_state_encode(&compact, tmp);
	} else
		rc = fv_state_encode(st, tmp);
	if (rc != 0)
		return rc;
	rec_ad(ad, tag, class);
	fv_buf_u8(out, (uint8_t) class);
	if (class == CLASS_RECORD)
		fv_buf_u32(out, slot);
	if (fv_vault_seal(key, ad, sizeof(ad), tmp->p, tmp->len, out) != 0 ||
	    out->err)
		return FV_ENOMEM;
	return 0;
}

int
fv_store_put_op(struct fv_store *s, const struct fv_op *op, int class,
    const uint8_t *tag)
{
	uint8_t k[OPKEY_BYTES];
	MDB_val kv = { OPKEY_BYTES, k }, v;
	int rc;

	if ((rc = fv_store_seal_op(K_SK(s),
		 class == CLASS_RECORD ? K_REC(s) : K_LOG(s), op, class, tag,
		 &s->b1, &s->b2)) != 0)
		return rc;
	fv_store_opkey(k, op->author, op->seq);
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	if ((rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_ops, &kv, &v,
		 MDB_NOOVERWRITE))) != 0)
		return rc;
	return fv_store_arrive(s, kv.mv_data, 0);
}

/* Stores an op signed elsewhere, as received, sealed like our own. */
int
fv_store_put_signed(struct fv_store *s, const uint8_t *op, size_t len,
    const struct fv_op *hdr, int class, const uint8_t *tag)
{
	uint8_t ad[OP_AD_BYTES], ref[OPKEY_BYTES];
	MDB_val kv = { OPKEY_BYTES, ref }, v;
	int rc;

	fv_store_opkey(ref, hdr->author, hdr->seq);
	op_ad(ad, ref, class, tag);
	s->b2.len = 0;
	fv_buf_u8(&s->b2, (uint8_t) class);
	fv_buf_put(&s->b2, tag, TAG_BYTES);
	if (fv_vault_seal(class == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad,
		sizeof(ad), op, len, &s->b2) != 0 ||
	    s->b2.err)
		return FV_ENOMEM;
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	if ((rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_ops, &kv, &v,
		 MDB_NOOVERWRITE))) != 0)
		return rc;
	return fv_store_arrive(s, kv.mv_data, 0);
}

int
fv_store_put_state(struct fv_store *s, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st, int class)
{
	MDB_val k = { TAG_BYTES, (void *)tag }, v;
	int rc;

	if ((rc = fv_store_seal_state(class == CLASS_RECORD ? K_REC(s) :
							      K_LOG(s),
		 tag, rid, st, class, s->cur_slot, &s->b1, &s->b2)) != 0)
		return rc;
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	return fv_store_mdb_err(fv_store_txn_put(s, s->db_recs, &k, &v, 0));
}

/* Reads and opens the op stored under ref (author || seq) into pt, and
 * decodes it into op (fields point into pt).  FV_ENOTFOUND when it is gone
 * (shredded). */
int
fv_store_load_op(struct fv_store *s, MDB_txn *txn, const uint8_t *ref,
    const uint8_t *tag, struct fv_buf *pt, struct fv_op *op)
{
	uint8_t ad[OP_AD_BYTES];
	MDB_val k = { OPKEY_BYTES, (void *)ref }, v;
	int rc, c;

	if ((rc = mdb_get(txn, s->db_ops, &k, &v)) != 0)
		return fv_store_mdb_err(rc);
	if (v.mv_size < 1 + TAG_BYTES ||
	    memcmp((const uint8_t *)v.mv_data + 1, tag, TAG_BYTES) != 0)
		return FV_ECORRUPT;
	c = ((const uint8_t *)v.mv_data)[0];
	op_ad(ad, ref, c, tag);
	pt->len = 0;
	if (fv_vault_open(c == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad,
		sizeof(ad), (const uint8_t *)v.mv_data + 1 + TAG_BYTES,
		v.mv_size - 1 - TAG_BYTES, pt) != 0 ||
	    fv_op_decode(pt->p, pt->len, op) != 0)
		return FV_ECORRUPT;
	return 0;
}

/* A state stored compactly gets its leaves back from its only op. */
static int
expand(struct fv_store *s, MDB_txn *txn, const uint8_t *tag,
    struct fv_state *st)
{
	struct fv_state full;
	struct fv_buf pt = { 0 };
	struct fv_op op;
	int rc, conflict;

	if (!(st->flags & FV_ST_FROMOP))
		return 0;
	if (st->nops != 1)
		return FV_ECORRUPT;
	if ((rc = fv_store_load_op(s, txn, st->oprefs, tag, &pt, &op)) != 0) {
		fv_buf_free(&pt);
		return rc == FV_ENOTFOUND ? FV_ECORRUPT : rc;
	}
	memset(&full, 0, sizeof(full));
	if ((rc = fv_state_apply(&full, &op, &conflict)) == 0) {
		st->leaves = full.leaves;
		full.leaves.v = NULL;
		full.leaves.n = full.leaves.cap = 0;
		st->flags &= (uint8_t)~FV_ST_FROMOP;
	}
	fv_state_free(&full);
	free(op.fields);
	fv_buf_free(&pt);
	return rc;
}

/* Reads the state stored under tag; for a live record the record key is
 * left in K_REC.  *class says live (0) or tombstone (1); a purged record
 * is FV_ENOTFOUND with *class CLASS_PURGED (-1 when there is no row). */
int
fv_store_load_tag(struct fv_store *s, MDB_txn *txn, const uint8_t *tag,
    uint8_t rid[FV_ID_BYTES], struct fv_state *st, int *class)
{
	uint8_t ad[REC_AD_BYTES];
	struct fv_buf pt = { 0 };
	MDB_val k = { TAG_BYTES, (void *)tag }, v;
	size_t off;
	int rc;

	memset(st, 0, sizeof(*st));
	*class = -1;
	if ((rc = mdb_get(txn, s->db_recs, &k, &v)) != 0)
		return fv_store_mdb_err(rc);
	if (v.mv_size < 1)
		return FV_ECORRUPT;
	*class = ((const uint8_t *)v.mv_data)[0];
	if (*class == CLASS_PURGED)
		return v.mv_size == 1 ? FV_ENOTFOUND : FV_ECORRUPT;
	off = *class == CLASS_RECORD ? 5 : 1;
	if (v.mv_size < off)
		return FV_ECORRUPT;
	if (*class == CLASS_RECORD &&
	    (rc = fv_store_rkey_load(s,
		 fv_buf_get_u32((const uint8_t *)v.mv_data + 1), tag)) != 0)
		return rc;
	rec_ad(ad, tag, *class);
	rc = fv_vault_open(*class == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad,
	    sizeof(ad), (const uint8_t *)v.mv_data + off, v.mv_size - off, &pt);
	if (rc == 0 && pt.len < FV_ID_BYTES)
		rc = FV_ECORRUPT;
	if (rc == 0) {
		memcpy(rid, pt.p, FV_ID_BYTES);
		rc = fv_state_decode(pt.p + FV_ID_BYTES, pt.len - FV_ID_BYTES,
		    st);
	}
	fv_buf_free(&pt);
	if (rc == 0 && (rc = expand(s, txn, tag, st)) != 0)
		fv_state_free(st);
	return rc == FV_ECRYPTO ? FV_ECORRUPT : rc;
}

/* The live record rid of type t (0: any). */
int
fv_store_load_live(struct fv_store *s, MDB_txn *txn, const uint8_t *rid, int t,
    struct fv_state *st)
{
	uint8_t tag[TAG_BYTES], got[FV_ID_BYTES];
	int rc, class;

	fv_store_tag_of(s, rid, tag);
	if ((rc = fv_store_load_tag(s, txn, tag, got, st, &class)) != 0)
		return rc;
	if (memcmp(got, rid, FV_ID_BYTES) != 0)
		rc = FV_ECORRUPT;
	else if (class != CLASS_RECORD || (st->flags & FV_ST_DELETED))
		rc = FV_EDELETED;
	else if (t != 0 && st->rtype != t)
		rc = FV_ENOTFOUND;
	if (rc != 0)
		fv_state_free(st);
	return rc;
}

/* Opens the sealed value at c (clen bytes) into a block of the arena. */
static int
open_into(const uint8_t *key, const uint8_t *ad, size_t adlen, const uint8_t *c,
    size_t clen, struct fv_arena *a, const uint8_t **pt, size_t *ptlen)
{
	uint8_t *p;

	if (clen < FV_SEAL_OVERHEAD)
		return FV_ECORRUPT;
	*ptlen = clen - FV_SEAL_OVERHEAD;
	if ((p = fv_buf_arena_alloc(a, *ptlen + 1)) == NULL)
		return FV_ENOMEM;
	*pt = p;
	return fv_vault_open_to(key, ad, adlen, c, clen, p) == 0 ? 0 :
								   FV_ECORRUPT;
}

/* The op at ref of the live record rid (tag), opened with vw->key: its
 * leaves copied into vw's arena as st's, *op its header. */
static int
view_one_op(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    const uint8_t *tag, const uint8_t *ref, struct fv_st_viewer *vw,
    struct fv_op *op, struct fv_state *st)
{
	uint8_t ad[OP_AD_BYTES];
	MDB_val k = { OPKEY_BYTES, (void *)ref }, v;
	const uint8_t *pt;
	size_t len;
	int rc;

	if (mdb_get(txn, s->db_ops, &k, &v) != 0 || v.mv_size < 1 + TAG_BYTES ||
	    ((const uint8_t *)v.mv_data)[0] != CLASS_RECORD ||
	    memcmp((const uint8_t *)v.mv_data + 1, tag, TAG_BYTES) != 0)
		return FV_ECORRUPT;
	op_ad(ad, ref, CLASS_RECORD, tag);
	if ((rc = open_into(vw->key, ad, OP_AD_BYTES,
		 (const uint8_t *)v.mv_data + 1 + TAG_BYTES,
		 v.mv_size - 1 - TAG_BYTES, &vw->arena, &pt, &len)) != 0)
		return rc;
	if (fv_op_decode_in(pt, len, op, vw->fields) != 0 ||
	    op->kind != FV_OP_PUT || memcmp(op->rid, rid, FV_ID_BYTES) != 0)
		return FV_ECORRUPT;
	if ((st->leaves.v = fv_buf_arena_alloc(&vw->arena,
		 op->nfields * sizeof(*op->fields))) == NULL)
		return FV_ENOMEM;
	memcpy(st->leaves.v, op->fields, op->nfields * sizeof(*op->fields));
	st->leaves.n = st->leaves.cap = op->nfields;
	return 0;
}

int
fv_store_view_live(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    struct fv_st_viewer *vw, struct fv_state *st)
{
	uint8_t tag[TAG_BYTES], ad[REC_AD_BYTES];
	MDB_val k = { TAG_BYTES, tag }, v;
	const uint8_t *pt, *val;
	struct fv_op op;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	fv_store_tag_of(s, rid, tag);
	if ((rc = mdb_get(txn, s->db_recs, &k, &v)) != 0)
		return fv_store_mdb_err(rc);
	val = v.mv_data;
	if (v.mv_size < 1)
		return FV_ECORRUPT;
	if (val[0] == CLASS_PURGED)
		return FV_ENOTFOUND;
	if (val[0] != CLASS_RECORD)
		return FV_EDELETED;
	if (v.mv_size < 5)
		return FV_ECORRUPT;
	if ((rc = rkey_open(s, fv_buf_get_u32(val + 1), tag, vw->key)) != 0)
		return rc;
	rec_ad(ad, tag, CLASS_RECORD);
	if ((rc = open_into(vw->key, ad, REC_AD_BYTES, val + 5, v.mv_size - 5,
		 &vw->arena, &pt, &len)) != 0)
		return rc;
	if (len < FV_ID_BYTES || memcmp(pt, rid, FV_ID_BYTES) != 0 ||
	    fv_state_view(pt + FV_ID_BYTES, len - FV_ID_BYTES, st,
		&vw->arena) != 0)
		return FV_ECORRUPT;
	if (st->flags & FV_ST_DELETED)
		return FV_EDELETED;
	if (!(st->flags & FV_ST_FROMOP))
		return 0;
	/* stored compactly: the leaves are those of its only op */
	if (st->nops != 1)
		return FV_ECORRUPT;
	if ((rc = view_one_op(s, txn, rid, tag, st->oprefs, vw, &op, st)) != 0)
		return rc;
	st->flags &= (uint8_t)~FV_ST_FROMOP;
	return 0;
}

int
fv_store_view_op(struct fv_store *s, MDB_txn *txn, const uint8_t *rid,
    uint32_t slot, const uint8_t *ref, struct fv_st_viewer *vw,
    struct fv_state *st)
{
	uint8_t tag[TAG_BYTES];
	struct fv_op op;
	int rc;

	memset(st, 0, sizeof(*st));
	fv_store_tag_of(s, rid, tag);
	if (rkey_open(s, slot, tag, vw->key) != 0)
		return FV_ECORRUPT;
	if ((rc = view_one_op(s, txn, rid, tag, ref, vw, &op, st)) != 0 ||
	    (st->oprefs = fv_buf_arena_alloc(&vw->arena, FV_OPREF_BYTES)) ==
		NULL)
		return rc != 0 ? rc : FV_ENOMEM;
	/* the state of a record of one op (fv_state_apply on nothing) */
	memcpy(st->oprefs, ref, FV_OPREF_BYTES);
	st->nops = 1;
	st->rtype = op.rtype;
	st->created_hlc = st->updated_hlc = op.hlc;
	memcpy(st->created_by, op.author, FV_ID_BYTES);
	return 0;
}

/* HQ numbers every op it stores, in order of arrival: the down stream of
 * each device follows these numbers.  The value is the op's ref, and a
 * byte 1 after it when the op is logged again (relog): then even its
 * author gets it, who may have purged it. */
int
fv_store_arrive(struct fv_store *s, const uint8_t *ref, int again)
{
	uint8_t n[8], val[OPKEY_BYTES + 1];
	MDB_val k = { 8, n }, v = { OPKEY_BYTES, val };

	if (strcmp(s->info.role, "hq") != 0)
		return 0;
	memcpy(val, ref, OPKEY_BYTES);
	if (again) {
		val[OPKEY_BYTES] = 1;
		v.mv_size++;
	}
	fv_buf_put_u64(n, ++s->t_arrival);
	return fv_store_mdb_err(fv_store_txn_put(s, s->db_arrivals, &k, &v,
	    MDB_APPEND));
}

/* An op that (re)assigns a record opens it to another group of devices,
 * which have none of its earlier ops: put them all on the arrival log
 * again (a device applies an op it holds already as a no-op). */
int
fv_store_relog(struct fv_store *s, const struct fv_state *st,
    const struct fv_op *op)
{
	uint32_t i;
	int rc;

	if (strcmp(s->info.role, "hq") != 0)
		return 0;
	for (i = 0; i < op->nfields; i++)
		if (op->fields[i].pathlen == 11 &&
		    memcmp(op->fields[i].path, "assigned_to", 11) == 0)
			break;
	if (i == op->nfields)
		return 0;
	for (i = 0; i + 1 < st->nops; i++)
		if ((rc = fv_store_arrive(s,
			 st->oprefs + (size_t)i * FV_OPREF_BYTES, 1)) != 0)
			return rc;
	return 0;
}
