/*
 * store_rw.c - unlocking, and every read and write of records.
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

static void drop_mapped(struct fv_store *, uint64_t);

/* Every change of the open transaction goes through these two: the commit
 * then knows whether there is anything to commit. */
static int
txn_put(struct fv_store *s, MDB_dbi dbi, MDB_val *k, MDB_val *v,
    unsigned flags)
{
	s->t_dirty = 1;
	return mdb_put(s->txn, dbi, k, v, flags);
}

static int
txn_del(struct fv_store *s, MDB_dbi dbi, MDB_val *k)
{
	s->t_dirty = 1;
	return mdb_del(s->txn, dbi, k, NULL);
}

static void
tag_of(const struct fv_store *s, const uint8_t *rid, uint8_t tag[TAG_BYTES])
{
	crypto_generichash(tag, TAG_BYTES, rid, FV_ID_BYTES, K_TAG(s), 32);
}

/* Loads the key of the record with this tag, kept in this slot of the
 * record key file, into K_REC (and its slot into cur_slot). */
static int
rkey_load(struct fv_store *s, uint32_t slot, const uint8_t *tag)
{
	uint8_t wrapped[FV_SLOT_BYTES], ad[1 + 4 + TAG_BYTES];
	int rc;

	ad[0] = 'k';
	fv_put_u32(ad + 1, slot);
	memcpy(ad + 5, tag, TAG_BYTES);
	if ((rc = fv_keyfile_read(s->kf, slot, wrapped)) != 0)
		return rc;
	if (fv_open_key(K_MK(s), ad, sizeof(ad), wrapped, FV_SLOT_BYTES,
	    K_REC(s)) != 0)
		return FV_ECORRUPT;
	s->cur_slot = slot;
	return 0;
}

/* Wraps a record key for its slot: the AD ties it to slot and tag. */
static void
wrap_key(const uint8_t *mk, uint32_t slot, const uint8_t *tag,
    const uint8_t *key, uint8_t wrapped[FV_SLOT_BYTES])
{
	uint8_t ad[1 + 4 + TAG_BYTES];

	ad[0] = 'k';
	fv_put_u32(ad + 1, slot);
	memcpy(ad + 5, tag, TAG_BYTES);
	fv_seal_key(mk, ad, sizeof(ad), key, 32, wrapped);
}

/* Makes a new record key in K_REC, writes it wrapped into a fresh slot
 * (cur_slot). */
static int
rkey_new(struct fv_store *s, const uint8_t *tag)
{
	uint8_t wrapped[FV_SLOT_BYTES];
	uint32_t slot;
	int rc;

	if ((rc = fv_keyfile_alloc(s->kf, &slot)) != 0)
		return rc;
	if ((rc = fv_push_u32(&s->newslots, &s->nnew, &s->capnew, slot)) != 0) {
		fv_keyfile_release(s->kf, slot);
		return rc;
	}
	randombytes_buf(K_REC(s), 32);
	wrap_key(K_MK(s), slot, tag, K_REC(s), wrapped);
	s->cur_slot = slot;
	return fv_keyfile_write(s->kf, slot, wrapped);
}

static void
opkey(uint8_t k[OPKEY_BYTES], const uint8_t *author, uint64_t seq)
{
	memcpy(k, author, FV_ID_BYTES);
	fv_put_u64(k + FV_ID_BYTES, seq);
}

/* Signs op with sk and seals it under key into out: class || tag ||
 * sealed(op).  AD binds the table, the LMDB key, the class and the tag.
 * Pure: safe on any thread.  tmp holds the plaintext (caller wipes). */
static int
seal_op(const uint8_t *sk, const uint8_t *key, const struct fv_op *op,
    int class, const uint8_t *tag, struct fv_buf *tmp, struct fv_buf *out)
{
	uint8_t ad[2 + OPKEY_BYTES + 1 + TAG_BYTES];
	int rc;

	tmp->len = out->len = 0;
	if ((rc = fv_op_sign(op, sk, tmp)) != 0)
		return rc;
	memcpy(ad, "op", 2);
	opkey(ad + 2, op->author, op->seq);
	ad[2 + OPKEY_BYTES] = (uint8_t)class;
	memcpy(ad + 3 + OPKEY_BYTES, tag, TAG_BYTES);
	fv_buf_u8(out, (uint8_t)class);
	fv_buf_put(out, tag, TAG_BYTES);
	if (fv_seal(key, ad, sizeof(ad), tmp->p, tmp->len, out) != 0 ||
	    out->err)
		return FV_ENOMEM;
	return 0;
}

/* Seals rid || state under key into out: class || [slot] || sealed; a
 * live record (class 0) says which slot of the record key file holds its
 * key.  A live state with one op is stored without its leaves
 * (FV_ST_FROMOP).  Pure. */
static int
seal_state(const uint8_t *key, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st, int class, uint32_t slot, struct fv_buf *tmp,
    struct fv_buf *out)
{
	uint8_t ad[3 + TAG_BYTES + 1];
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
	memcpy(ad, "rec", 3);
	memcpy(ad + 3, tag, TAG_BYTES);
	ad[3 + TAG_BYTES] = (uint8_t)class;
	fv_buf_u8(out, (uint8_t)class);
	if (class == CLASS_RECORD)
		fv_buf_u32(out, slot);
	if (fv_seal(key, ad, sizeof(ad), tmp->p, tmp->len, out) != 0 ||
	    out->err)
		return FV_ENOMEM;
	return 0;
}

static int
put_op(struct fv_store *s, const struct fv_op *op, int class,
    const uint8_t *tag)
{
	uint8_t k[OPKEY_BYTES];
	MDB_val kv = { OPKEY_BYTES, k }, v;
	int rc;

	if ((rc = seal_op(K_SK(s), class == CLASS_RECORD ? K_REC(s) :
	    K_LOG(s), op, class, tag, &s->b1, &s->b2)) != 0)
		return rc;
	opkey(k, op->author, op->seq);
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	return fv_mdb_err(txn_put(s, s->db_ops, &kv, &v, MDB_NOOVERWRITE));
}

/* Stores an op signed elsewhere, as received, sealed like our own. */
static int
put_signed(struct fv_store *s, const uint8_t *op, size_t len,
    const struct fv_op *hdr, int class, const uint8_t *tag)
{
	uint8_t ad[2 + OPKEY_BYTES + 1 + TAG_BYTES];
	MDB_val kv = { OPKEY_BYTES, ad + 2 }, v;

	memcpy(ad, "op", 2);
	opkey(ad + 2, hdr->author, hdr->seq);
	ad[2 + OPKEY_BYTES] = (uint8_t)class;
	memcpy(ad + 3 + OPKEY_BYTES, tag, TAG_BYTES);
	s->b2.len = 0;
	fv_buf_u8(&s->b2, (uint8_t)class);
	fv_buf_put(&s->b2, tag, TAG_BYTES);
	if (fv_seal(class == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad,
	    sizeof(ad), op, len, &s->b2) != 0 || s->b2.err)
		return FV_ENOMEM;
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	return fv_mdb_err(txn_put(s, s->db_ops, &kv, &v, MDB_NOOVERWRITE));
}

static int
put_state(struct fv_store *s, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st, int class)
{
	MDB_val k = { TAG_BYTES, (void *)tag }, v;
	int rc;

	if ((rc = seal_state(class == CLASS_RECORD ? K_REC(s) : K_LOG(s), tag,
	    rid, st, class, s->cur_slot, &s->b1, &s->b2)) != 0)
		return rc;
	v.mv_size = s->b2.len;
	v.mv_data = s->b2.p;
	return fv_mdb_err(txn_put(s, s->db_recs, &k, &v, 0));
}

/* Reads and opens the op stored under ref (author || seq) into pt, and
 * decodes it into op (fields point into pt).  FV_ENOTFOUND when it is gone
 * (shredded). */
static int
load_op(struct fv_store *s, MDB_txn *txn, const uint8_t *ref,
    const uint8_t *tag, struct fv_buf *pt, struct fv_op *op)
{
	uint8_t ad[2 + OPKEY_BYTES + 1 + TAG_BYTES];
	MDB_val k = { OPKEY_BYTES, (void *)ref }, v;
	int rc, c;

	if ((rc = mdb_get(txn, s->db_ops, &k, &v)) != 0)
		return fv_mdb_err(rc);
	if (v.mv_size < 1 + TAG_BYTES ||
	    memcmp((const uint8_t *)v.mv_data + 1, tag, TAG_BYTES) != 0)
		return FV_ECORRUPT;
	c = ((const uint8_t *)v.mv_data)[0];
	memcpy(ad, "op", 2);
	memcpy(ad + 2, ref, OPKEY_BYTES);
	ad[2 + OPKEY_BYTES] = (uint8_t)c;
	memcpy(ad + 3 + OPKEY_BYTES, tag, TAG_BYTES);
	pt->len = 0;
	if (fv_open(c == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad, sizeof(ad),
	    (const uint8_t *)v.mv_data + 1 + TAG_BYTES,
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
	if ((rc = load_op(s, txn, st->oprefs, tag, &pt, &op)) != 0) {
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
 * left in K_REC.  *class says live (0) or tombstone (1). */
static int
load_tag(struct fv_store *s, MDB_txn *txn, const uint8_t *tag,
    uint8_t rid[FV_ID_BYTES], struct fv_state *st, int *class)
{
	uint8_t ad[3 + TAG_BYTES + 1];
	struct fv_buf pt = { 0 };
	MDB_val k = { TAG_BYTES, (void *)tag }, v;
	size_t off;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = mdb_get(txn, s->db_recs, &k, &v)) != 0)
		return fv_mdb_err(rc);
	if (v.mv_size < 1)
		return FV_ECORRUPT;
	*class = ((const uint8_t *)v.mv_data)[0];
	off = *class == CLASS_RECORD ? 5 : 1;
	if (v.mv_size < off)
		return FV_ECORRUPT;
	if (*class == CLASS_RECORD && (rc = rkey_load(s,
	    fv_get_u32((const uint8_t *)v.mv_data + 1), tag)) != 0)
		return rc;
	memcpy(ad, "rec", 3);
	memcpy(ad + 3, tag, TAG_BYTES);
	ad[3 + TAG_BYTES] = (uint8_t)*class;
	rc = fv_open(*class == CLASS_RECORD ? K_REC(s) : K_LOG(s), ad,
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
static int
load_live(struct fv_store *s, MDB_txn *txn, const uint8_t *rid, int t,
    struct fv_state *st)
{
	uint8_t tag[TAG_BYTES], got[FV_ID_BYTES];
	int rc, class;

	tag_of(s, rid, tag);
	if ((rc = load_tag(s, txn, tag, got, st, &class)) != 0)
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

int
fv_store_unlock(struct fv_store *s, const uint8_t *kek)
{
	uint8_t ad[2 + FV_ID_BYTES], rid[FV_ID_BYTES];
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint32_t scrubbed;
	int rc, class;

	if (s->keys != NULL)
		return 0;
	if ((s->keys = fv_secmem_alloc(KEYS_BYTES)) == NULL)
		return FV_ENOMEM;
	memcpy(ad, "mk", 2);
	memcpy(ad + 2, s->info.device_id, FV_ID_BYTES);
	if (fv_open_key(kek, ad, sizeof(ad), s->mk_wrapped, FV_SLOT_BYTES,
	    K_MK(s)) != 0) {
		rc = FV_EPASS;
		goto fail;
	}
	memcpy(ad, "sk", 2);
	if (fv_open_key(K_MK(s), ad, sizeof(ad), s->sk_wrapped, SK_WRAPPED,
	    K_SK(s)) != 0) {
		rc = FV_ECORRUPT;
		goto fail;
	}
	crypto_kdf_derive_from_key(K_TAG(s), 32, 1, "fvstore1", K_MK(s));
	crypto_kdf_derive_from_key(K_LOG(s), 32, 2, "fvstore1", K_MK(s));
	if ((rc = fv_index_new(&s->idx)) != 0)
		goto fail;
	fv_keyfile_reset(s->kf);
	if ((rc = fv_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))) ||
	    (rc = fv_mdb_err(mdb_cursor_open(txn, s->db_recs, &cur))))
		goto fail;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		struct fv_state st;
		struct fv_ientry *e;

		if (k.mv_size != TAG_BYTES || v.mv_size < 1)
			continue;
		if (((uint8_t *)v.mv_data)[0] == CLASS_RECORD && (v.mv_size < 5 ||
		    (rc = fv_keyfile_mark(s->kf, fv_get_u32((uint8_t *)
		    v.mv_data + 1))) != 0)) {
			rc = rc ? rc : FV_ECORRUPT;
			goto fail;
		}
		if ((rc = load_tag(s, txn, k.mv_data, rid, &st, &class)) != 0)
			goto fail;
		drop_mapped(s, 1);
		if (class == CLASS_RECORD && !(st.flags & FV_ST_DELETED)) {
			if ((rc = fv_index_make(&st, rid, &e)) == 0)
				rc = fv_index_put(s->idx, e);
		}
		fv_state_free(&st);
		if (rc != 0)
			goto fail;
	}
	if (rc != MDB_NOTFOUND) {
		rc = fv_mdb_err(rc);
		goto fail;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	/* slots written by a transaction that never committed, or not wiped
	 * after a delete because of a crash: destroy them now */
	return fv_keyfile_scrub(s->kf, &scrubbed);
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	fv_store_lock(s);
	return rc;
}

void
fv_store_lock(struct fv_store *s)
{
	fv_index_free(s->idx);
	s->idx = NULL;
	fv_secmem_free(s->keys);
	s->keys = NULL;
	if (s->kf != NULL)
		fv_keyfile_reset(s->kf);
	fv_buf_free(&s->b1);
	fv_buf_free(&s->b2);
}

/* Forgets the transaction's bookkeeping; index entries not handed over
 * to the index are freed. */
static void
txn_reset(struct fv_store *s)
{
	size_t i;

	for (i = 0; i < s->npend; i++)
		fv_index_entry_free(s->pend[i].entry);
	s->npend = s->nnew = s->nwipe = 0;
	s->b1.len = s->b2.len = 0;
	s->poisoned = 0;
	s->t_dirty = 0;
}

int
fv_store_begin(struct fv_store *s)
{
	int rc;

	if (s->keys == NULL)
		return FV_ELOCKED;
	if (s->txn != NULL)
		return FV_EBUSY;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->txn)) != 0) {
		s->txn = NULL;
		return fv_mdb_err(rc);
	}
	s->t_seq = s->seq;
	s->t_clock = s->clock;
	txn_reset(s);
	return 0;
}

/* A write that failed after it began to change the transaction poisons
 * it: the caller must abort (and may replay after FV_EMAPFULL). */
static int
poison(struct fv_store *s, int rc)
{
	if (rc != 0 && rc != FV_EINVAL && rc != FV_ENOTFOUND &&
	    rc != FV_EDELETED && rc != FV_EEXIST && s->poisoned == 0)
		s->poisoned = rc;
	return rc;
}

static void
op_header(struct fv_store *s, struct fv_op *op, int kind, int rtype,
    const uint8_t *rid)
{
	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	op->rtype = (uint8_t)rtype;
	memcpy(op->author, s->info.device_id, FV_ID_BYTES);
	op->seq = ++s->t_seq;
	op->hlc = fv_hlc_tick(&s->t_clock, fv_now_ms());
	memcpy(op->rid, rid, FV_ID_BYTES);
}

static int
pend_push(struct fv_store *s, const uint8_t *rid, struct fv_ientry *e)
{
	if (s->npend == s->cappend) {
		size_t c = s->cappend ? s->cappend * 2 : 64;
		struct pend *p = realloc(s->pend, c * sizeof(*p));

		if (p == NULL) {
			fv_index_entry_free(e);
			return FV_ENOMEM;
		}
		s->pend = p;
		s->cappend = c;
	}
	memcpy(s->pend[s->npend].rid, rid, FV_ID_BYTES);
	s->pend[s->npend++].entry = e;
	return 0;
}

/* Stores the state of a live record (key in K_REC) and queues its index
 * entry for when the transaction commits. */
static int
save_live(struct fv_store *s, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st)
{
	struct fv_ientry *e;
	int rc;

	if ((rc = put_state(s, tag, rid, st, CLASS_RECORD)) != 0)
		return rc;
	if ((rc = fv_index_make(st, rid, &e)) != 0)
		return rc;
	return pend_push(s, rid, e);
}

/* A note's appeal_id must name a live appeal. */
static int
check_appeal_ref(struct fv_store *s, const struct fv_leaves *lv,
    struct fv_verr *e)
{
	const struct fv_leaf *f = fv_leaves_get(lv, "appeal_id");
	uint8_t rid[FV_ID_BYTES];
	char hex[2 * FV_ID_BYTES + 1];
	struct fv_state st;
	int rc;

	if (f == NULL || f->val == NULL)
		return 0;
	/* the leaf is the JSON string "<32 hex>" (checked by validation) */
	if (f->vallen != 2 * FV_ID_BYTES + 2)
		rc = FV_EINVAL;
	else {
		memcpy(hex, f->val + 1, 2 * FV_ID_BYTES);
		hex[2 * FV_ID_BYTES] = '\0';
		rc = fv_id_parse(hex, rid);
	}
	if (rc != 0)
		rc = FV_EINVAL;
	else if ((rc = load_live(s, s->txn, rid, FV_RTYPE_APPEAL, &st)) == 0)
		fv_state_free(&st);
	if (rc == FV_ENOTFOUND || rc == FV_EDELETED || rc == FV_EINVAL) {
		snprintf(e->field, sizeof(e->field), "appeal_id");
		snprintf(e->msg, sizeof(e->msg), "no such appeal");
		return FV_EINVAL;
	}
	return rc;
}

/* Creates one record from its leaves (borrowed). */
static int
create_one(struct fv_store *s, enum fv_rtype t, const struct fv_leaves *lv,
    const uint8_t rid[FV_ID_BYTES], struct fv_verr *e)
{
	struct fv_state st;
	struct fv_op op;
	uint8_t tag[TAG_BYTES];
	int rc, conflict;

	if (t == FV_RTYPE_NOTE && (rc = check_appeal_ref(s, lv, e)) != 0)
		return rc;
	tag_of(s, rid, tag);
	{
		MDB_val k = { TAG_BYTES, tag }, v;

		if ((rc = mdb_get(s->txn, s->db_recs, &k, &v)) != MDB_NOTFOUND)
			return rc == 0 ? FV_EEXIST : fv_mdb_err(rc);
	}
	op_header(s, &op, FV_OP_PUT, t, rid);
	op.fields = lv->v;
	op.nfields = lv->n;
	memset(&st, 0, sizeof(st));
	if ((rc = rkey_new(s, tag)) == 0 &&
	    (rc = put_op(s, &op, CLASS_RECORD, tag)) == 0 &&
	    (rc = fv_state_apply(&st, &op, &conflict)) == 0)
		rc = save_live(s, tag, rid, &st);
	fv_state_free(&st);
	return poison(s, rc);
}

int
fv_store_create(struct fv_store *s, enum fv_rtype t, const json_t *body,
    const uint8_t rid[FV_ID_BYTES], struct fv_verr *e)
{
	struct fv_leaves lv;
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	if ((rc = fv_leaves_from_json(body, 0, s->info.device_id, &lv, e)) != 0)
		return rc;
	rc = create_one(s, t, &lv, rid, e);
	fv_leaves_free(&lv);
	return rc;
}

/* The kernel maps pages of the data file around every page LMDB reads
 * (fault-around), so after a bulk write the whole file would count as our
 * resident memory.  Those pages are clean page cache: unmapping them now
 * and then costs a few page faults and keeps the daemon's footprint its
 * own.  Only between transactions: no pointer into the map is held. */
static void
drop_mapped(struct fv_store *s, uint64_t wrote)
{
	char line[PATH_MAX + 128], want[PATH_MAX + 16];
	unsigned long lo, hi;
	FILE *f;
	int off;

	s->since_drop += wrote;
	if (s->since_drop < FV_DROP_EVERY)
		return;
	s->since_drop = 0;
	if (s->map_len != s->mapsize) {
		/* LMDB does not say where its map is (me_mapaddr is set only
		 * for MDB_FIXEDMAP): find it by name, once per map size */
		s->map_lo = NULL;
		s->map_len = 0;
		snprintf(want, sizeof(want), "%s/data.mdb", s->dir);
		if ((f = fopen("/proc/self/maps", "re")) == NULL)
			return;
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi,
			    &off) >= 2 && strcmp(line + off, want) == 0) {
				s->map_lo = (void *)lo;
				s->map_len = hi - lo;
			}
		}
		fclose(f);
		if (s->map_len != s->mapsize)
			return;
	}
	madvise(s->map_lo, s->map_len, MADV_DONTNEED);
}

/* One record of a bulk create, prepared off the transaction. */
struct prep {
	struct fv_op		 op;
	const struct fv_leaves	*lv;
	uint8_t			 tag[TAG_BYTES];
	uint32_t		 slot;
	uint8_t			 wrapped[FV_SLOT_BYTES];
	struct fv_buf		 opv, stv;
	struct fv_ientry	*ie;
	int			 rc;
	struct fv_verr		 e;
};

struct many {
	struct fv_store		*s;
	struct prep		*p;
	uint8_t			*key[FV_PAR_WORKERS];	/* secmem */
	struct fv_buf		 tmp[FV_PAR_WORKERS];
	size_t			 written;	/* key slots written up to */
};

/* The pure part of creating records: leaves, record key, signature,
 * sealing, index entry.  Runs on both cores. */
static void
prep_range(void *arg, size_t lo, size_t hi, int w)
{
	struct many *m = arg;
	struct fv_store *s = m->s;
	uint8_t *key = m->key[w];
	size_t i;

	for (i = lo; i < hi; i++) {
		struct prep *p = &m->p[i];
		struct fv_state st;
		uint8_t ref[FV_OPREF_BYTES];

		p->op.fields = p->lv->v;
		p->op.nfields = p->lv->n;
		/* the state of a new record is its op: borrow the leaves */
		memset(&st, 0, sizeof(st));
		st.rtype = p->op.rtype;
		st.created_hlc = st.updated_hlc = p->op.hlc;
		memcpy(st.created_by, p->op.author, FV_ID_BYTES);
		st.nops = 1;
		st.oprefs = ref;
		opkey(ref, p->op.author, p->op.seq);
		st.leaves = *p->lv;
		randombytes_buf(key, 32);
		wrap_key(K_MK(s), p->slot, p->tag, key, p->wrapped);
		if ((p->rc = seal_op(K_SK(s), key, &p->op, CLASS_RECORD, p->tag,
		    &m->tmp[w], &p->opv)) == 0 &&
		    (p->rc = seal_state(key, p->tag, p->op.rid, &st,
		    CLASS_RECORD, p->slot, &m->tmp[w], &p->stv)) == 0)
			p->rc = fv_index_make(&st, p->op.rid, &p->ie);
		p->op.fields = NULL;
	}
	sodium_memzero(key, 32);
}

static void
many_free(struct many *m, size_t n)
{
	size_t i;
	int w;

	for (i = 0; i < n; i++) {
		fv_buf_free(&m->p[i].opv);
		fv_buf_free(&m->p[i].stv);
		fv_index_entry_free(m->p[i].ie);
	}
	for (w = 0; w < FV_PAR_WORKERS; w++) {
		fv_buf_free(&m->tmp[w]);
		fv_secmem_free(m->key[w]);
	}
	free(m->p);
}

/* Writes the wrapped keys of the run of consecutive slots that starts at
 * record i, once, when i starts it: a bulk create is then a few system
 * calls on the key file, not one per record. */
static int
write_slots(struct fv_store *s, struct many *m, size_t i, size_t n)
{
	uint8_t buf[64 * FV_SLOT_BYTES];
	size_t k;

	if (i < m->written)
		return 0;		/* written with the run before */
	for (k = 0; i + k < n && k < 64 &&
	    m->p[i + k].slot == m->p[i].slot + k; k++)
		memcpy(buf + k * FV_SLOT_BYTES, m->p[i + k].wrapped,
		    FV_SLOT_BYTES);
	m->written = i + k;
	return fv_keyfile_write_run(s->kf, m->p[i].slot, (uint32_t)k, buf);
}

int
fv_store_create_many(struct fv_store *s, enum fv_rtype t,
    const struct fv_leaves *lv, const uint8_t *rids, size_t n,
    struct fv_verr *e, size_t *failed)
{
	struct many m;
	size_t i, nnew0 = s->nnew;
	uint64_t seq0 = s->t_seq;
	int rc = 0, w;

	*failed = 0;
	if (s->txn == NULL)
		return FV_EBUSY;
	if (t == FV_RTYPE_NOTE || n < FV_PAR_MIN) {
		/* notes check their appeal inside the transaction */
		for (i = 0; i < n && rc == 0; i++) {
			*failed = i;
			rc = create_one(s, t, &lv[i], rids + i * FV_ID_BYTES, e);
		}
		return rc;
	}
	memset(&m, 0, sizeof(m));
	m.s = s;
	if ((m.p = calloc(n, sizeof(*m.p))) == NULL)
		return FV_ENOMEM;
	for (w = 0; w < FV_PAR_WORKERS; w++)
		if ((m.key[w] = fv_secmem_alloc(32)) == NULL)
			rc = FV_ENOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		struct prep *p = &m.p[i];

		/* ids are 128 random bits: no lookup first; the put below
		 * refuses a collision (MDB_NOOVERWRITE) */
		*failed = i;
		p->lv = &lv[i];
		tag_of(s, rids + i * FV_ID_BYTES, p->tag);
		op_header(s, &p->op, FV_OP_PUT, t, rids + i * FV_ID_BYTES);
		if ((rc = fv_keyfile_alloc(s->kf, &p->slot)) == 0 &&
		    (rc = fv_push_u32(&s->newslots, &s->nnew, &s->capnew,
		    p->slot)) != 0)
			fv_keyfile_release(s->kf, p->slot);
	}
	if (rc == 0) {
		fv_par_run(n, prep_range, &m);
		for (i = 0; i < n && rc == 0; i++)
			if ((rc = m.p[i].rc) != 0) {
				*failed = i;
				*e = m.p[i].e;
			}
	}
	if (rc != 0) {			/* nothing reached the transaction */
		for (i = nnew0; i < s->nnew; i++)
			fv_keyfile_release(s->kf, s->newslots[i]);
		s->nnew = nnew0;
		s->t_seq = seq0;
		many_free(&m, n);
		return rc == FV_EINVAL ? rc : poison(s, rc);
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct prep *p = &m.p[i];
		uint8_t ok[OPKEY_BYTES];
		MDB_val tk = { TAG_BYTES, p->tag },
		    okv = { OPKEY_BYTES, ok }, ov = { p->opv.len, p->opv.p },
		    rv = { p->stv.len, p->stv.p };

		*failed = i;
		opkey(ok, p->op.author, p->op.seq);
		if ((rc = write_slots(s, &m, i, n)) ||
		    (rc = fv_mdb_err(txn_put(s, s->db_ops, &okv, &ov,
		    MDB_NOOVERWRITE))) ||
		    (rc = fv_mdb_err(txn_put(s, s->db_recs, &tk, &rv,
		    MDB_NOOVERWRITE))))
			break;
		rc = pend_push(s, p->op.rid, p->ie);	/* takes ie */
		p->ie = NULL;
		/* random puts fault in whole neighbourhoods of the file:
		 * unmap as we go (safe: the pages stay in the cache) */
		drop_mapped(s, 1);
	}
	many_free(&m, n);
	return poison(s, rc);
}

int
fv_store_update(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], const json_t *patch, struct fv_verr *e,
    int *changed)
{
	struct fv_state st;
	struct fv_leaves lv = { 0 };
	struct fv_op op;
	json_t *cur = NULL, *next = NULL;
	uint8_t tag[TAG_BYTES];
	uint32_t slot;
	int rc, conflict;

	*changed = 0;
	if (s->txn == NULL)
		return FV_EBUSY;
	if ((rc = load_live(s, s->txn, rid, t, &st)) != 0)
		return rc;
	slot = s->cur_slot;
	memset(&op, 0, sizeof(op));
	if ((cur = fv_state_to_json(&st, rid, "")) == NULL ||
	    (next = fv_patch_apply(cur, patch)) == NULL) {
		rc = FV_ENOMEM;
		goto out;
	}
	if ((rc = fv_record_check(next, t, e)) != 0)
		goto out;
	fv_record_strip_readonly(next);
	if ((rc = fv_leaves_from_json(next, 0, s->info.device_id, &lv, e)))
		goto out;
	if (t == FV_RTYPE_NOTE && !json_equal(json_object_get(cur,
	    "appeal_id"), json_object_get(next, "appeal_id")) &&
	    (rc = check_appeal_ref(s, &lv, e)) != 0)
		goto out;
	if ((rc = fv_state_diff(&st, &lv, &op)) != 0 || op.nfields == 0)
		goto out;
	{
		struct fv_leaf *fields = op.fields;
		uint32_t n = op.nfields;

		op_header(s, &op, FV_OP_PUT, t, rid);
		op.fields = fields;
		op.nfields = n;
	}
	tag_of(s, rid, tag);
	if ((rc = rkey_load(s, slot, tag)) == 0 &&
	    (rc = put_op(s, &op, CLASS_RECORD, tag)) == 0 &&
	    (rc = fv_state_apply(&st, &op, &conflict)) == 0 &&
	    (rc = save_live(s, tag, rid, &st)) == 0)
		*changed = 1;
out:
	free(op.fields);
	fv_leaves_free(&lv);
	json_decref(cur);
	json_decref(next);
	fv_state_free(&st);
	return poison(s, rc);
}

/* Deletes the content of a live record: its ops go (their refs stay in
 * the state, soon a tombstone, so history and sync can say what was
 * shredded) and its key slot is wiped at commit. */
static int
shred(struct fv_store *s, const struct fv_state *st, uint32_t slot)
{
	MDB_val k;
	uint32_t i;
	int rc;

	for (i = 0; i < st->nops; i++) {
		k.mv_size = OPKEY_BYTES;
		k.mv_data = st->oprefs + (size_t)i * FV_OPREF_BYTES;
		if ((rc = txn_del(s, s->db_ops, &k)) != 0 &&
		    rc != MDB_NOTFOUND)
			return fv_mdb_err(rc);
	}
	return fv_push_u32(&s->wipeslots, &s->nwipe, &s->capwipe, slot);
}

int
fv_store_delete(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES])
{
	struct fv_state st;
	struct fv_op op;
	uint8_t tag[TAG_BYTES];
	uint32_t slot;
	int rc, conflict;

	if (s->txn == NULL)
		return FV_EBUSY;
	if ((rc = load_live(s, s->txn, rid, t, &st)) != 0)
		return rc;
	slot = s->cur_slot;
	tag_of(s, rid, tag);
	op_header(s, &op, FV_OP_DELETE, st.rtype, rid);
	if ((rc = shred(s, &st, slot)) ||
	    (rc = put_op(s, &op, CLASS_LOG, tag)) ||
	    (rc = fv_state_apply(&st, &op, &conflict)) ||
	    (rc = put_state(s, tag, rid, &st, CLASS_LOG)))
		goto out;
	rc = pend_push(s, rid, NULL);
out:
	fv_state_free(&st);
	return poison(s, rc);
}

void
fv_store_abort(struct fv_store *s)
{
	size_t i;

	if (s->txn == NULL)
		return;
	mdb_txn_abort(s->txn);
	s->txn = NULL;
	/* keys of records that will never exist */
	for (i = 0; i < s->nnew; i++)
		fv_keyfile_wipe(s->kf, s->newslots[i]);
	txn_reset(s);
}

/* LMDB reports a write cut short by a full disk (or a file size limit) as
 * EIO: call it a full disk when the disk or the limit is within reach. */
static int
classify(struct fv_store *s, int why)
{
	struct statvfs sv;
	struct rlimit rl;
	struct stat sb;
	char p[PATH_MAX + 16];
	const unsigned long long near = 16ULL << 20;

	if (why != FV_EIO)
		return why;
	snprintf(p, sizeof(p), "%s/data.mdb", s->dir);
	if (statvfs(s->dir, &sv) == 0 &&
	    (unsigned long long)sv.f_bavail * sv.f_frsize < near)
		return FV_ENOSPC;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    stat(p, &sb) == 0 &&
	    (unsigned long long)sb.st_size + near > rl.rlim_cur)
		return FV_ENOSPC;
	return why;
}

/* After a failed commit: was it durable after all?  LMDB may fail after
 * writing the meta page, so look at what the disk says. */
static int
reopen_check(struct fv_store *s, int why)
{
	uint64_t want = s->txns + 1;
	int rc;

	mdb_env_close(s->env);
	s->env = NULL;
	if ((rc = fv_env_open(s)) != 0 || (rc = fv_read_meta(s)) != 0)
		return rc == FV_ENOSPC ? rc : FV_EIO;
	if (s->txns == want)
		return 0;
	s->clock.last = s->clock.last > s->t_clock.last ? s->clock.last :
	    s->t_clock.last;
	return why;
}

int
fv_store_commit(struct fv_store *s)
{
	uint64_t wrote;
	size_t i;
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	if (s->poisoned) {
		rc = s->poisoned;
		fv_store_abort(s);
		return rc;
	}
	if (!s->t_dirty) {			/* nothing written */
		fv_store_abort(s);
		return 0;
	}
	if ((rc = fv_put_clock(s, s->txn, s->t_seq, s->t_clock.last,
	    s->txns + 1)) != 0 ||
	    (s->nnew > 0 && (rc = fv_keyfile_sync(s->kf)) != 0)) {
		fv_store_abort(s);
		return rc;
	}
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	if (rc != 0 && (rc = reopen_check(s, classify(s, fv_mdb_err(rc)))) != 0) {
		for (i = 0; i < s->nnew; i++)
			fv_keyfile_wipe(s->kf, s->newslots[i]);
		txn_reset(s);
		return rc;
	}
	wrote = s->t_seq - s->seq;
	s->txns++;
	s->seq = s->t_seq;
	s->clock = s->t_clock;
	for (i = 0; i < s->npend; i++) {
		if (s->pend[i].entry != NULL)
			fv_index_put(s->idx, s->pend[i].entry);
		else
			fv_index_del(s->idx, s->pend[i].rid);
		s->pend[i].entry = NULL;
	}
	drop_mapped(s, wrote);
	/* crypto-shred: the deleted records' keys go now */
	for (i = 0; i < s->nwipe; i++)
		fv_keyfile_wipe(s->kf, s->wipeslots[i]);
	if (s->nwipe > 0)
		fv_keyfile_sync(s->kf);	/* else scrubbed at next unlock */
	txn_reset(s);
	return 0;
}

int
fv_store_grow(struct fv_store *s)
{
	int rc;

	if (s->txn != NULL)
		return FV_EBUSY;
	if ((rc = mdb_env_set_mapsize(s->env, s->mapsize * 2)) != 0)
		return fv_mdb_err(rc);
	s->mapsize *= 2;
	return 0;
}

/* The name of a device, from the devices table ("unknown" if absent). */
static void
device_name(struct fv_store *s, MDB_txn *txn, const uint8_t *id, char *out,
    size_t n)
{
	MDB_val k = { FV_ID_BYTES, (void *)id }, v;
	json_t *j;

	snprintf(out, n, "unknown");
	if (memcmp(id, s->info.device_id, FV_ID_BYTES) == 0) {
		snprintf(out, n, "%s", s->info.name);
		return;
	}
	if (mdb_get(txn, s->db_devs, &k, &v) != 0)
		return;
	if ((j = json_loadb(v.mv_data, v.mv_size, 0, NULL)) != NULL) {
		const char *nm = json_string_value(json_object_get(j, "name"));

		if (nm != NULL)
			snprintf(out, n, "%s", nm);
		json_decref(j);
	}
}

static int
read_begin(struct fv_store *s, MDB_txn **txn)
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	if (s->txn != NULL) {		/* inside a write: see its changes */
		*txn = s->txn;
		return 0;
	}
	return fv_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

static void
read_end(struct fv_store *s, MDB_txn *txn)
{
	if (txn != s->txn)
		mdb_txn_abort(txn);
}

static json_t *
record_json(struct fv_store *s, MDB_txn *txn, const struct fv_state *st,
    const uint8_t *rid)
{
	char name[FV_NAME_MAX + 1];

	device_name(s, txn, st->created_by, name, sizeof(name));
	return fv_state_to_json(st, rid, name);
}

int
fv_store_get(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], json_t **out)
{
	struct fv_state st;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if ((rc = read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = load_live(s, txn, rid, t, &st)) == 0) {
		if ((*out = record_json(s, txn, &st, rid)) == NULL)
			rc = FV_ENOMEM;
		fv_state_free(&st);
	}
	read_end(s, txn);
	return rc;
}

static json_t *
op_json(struct fv_store *s, MDB_txn *txn, const struct fv_op *op, int first)
{
	char hex[2 * FV_ID_BYTES + 1], ts[32], name[FV_NAME_MAX + 1];
	json_t *o, *fields = json_object();
	uint32_t i;

	fv_id_hex(op->author, hex);
	fv_format_rfc3339(FV_HLC_MS(op->hlc), ts);
	device_name(s, txn, op->author, name, sizeof(name));
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "device", hex,
	    "device_name", name, "seq", (json_int_t)op->seq, "at", ts,
	    "hlc", (json_int_t)op->hlc, "op", op->kind == FV_OP_DELETE ?
	    "delete" : first ? "create" : "update");
	for (i = 0; i < op->nfields && fields != NULL; i++) {
		const struct fv_leaf *f = &op->fields[i];
		char path[FV_PATH_MAX + 1];
		json_t *v = f->val == NULL ? json_null() : json_loadb(f->val,
		    f->vallen, JSON_DECODE_ANY, NULL);

		memcpy(path, f->path, f->pathlen);
		path[f->pathlen] = '\0';
		json_object_set_new(fields, path, v ? v : json_null());
	}
	if (o != NULL && op->kind == FV_OP_PUT)
		json_object_set_new(o, "fields", fields);
	else
		json_decref(fields);
	return o;
}

int
fv_store_history(struct fv_store *s, const uint8_t rid[FV_ID_BYTES],
    json_t **out)
{
	struct fv_state st;
	struct fv_buf pt = { 0 };
	uint8_t tag[TAG_BYTES], got[FV_ID_BYTES];
	MDB_txn *txn;
	json_t *arr;
	uint32_t i;
	int class, rc;

	*out = NULL;
	if ((rc = read_begin(s, &txn)) != 0)
		return rc;
	tag_of(s, rid, tag);
	if ((rc = load_tag(s, txn, tag, got, &st, &class)) != 0) {
		read_end(s, txn);
		return rc;
	}
	if ((arr = json_array()) == NULL)
		rc = FV_ENOMEM;
	for (i = 0; i < st.nops && rc == 0; i++) {
		const uint8_t *ref = st.oprefs + (size_t)i * FV_OPREF_BYTES;
		struct fv_op op;

		if ((rc = load_op(s, txn, ref, tag, &pt, &op)) ==
		    FV_ENOTFOUND) {
			char hex[2 * FV_ID_BYTES + 1];

			rc = 0;
			fv_id_hex(ref, hex);
			json_array_append_new(arr, json_pack("{s:s, s:I, s:b}",
			    "device", hex, "seq",
			    (json_int_t)fv_get_u64(ref + FV_ID_BYTES),
			    "shredded", 1));
			continue;
		}
		if (rc != 0)
			break;
		json_array_append_new(arr, op_json(s, txn, &op, i == 0));
		free(op.fields);
	}
	fv_buf_free(&pt);
	fv_state_free(&st);
	read_end(s, txn);
	if (rc != 0)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

/* Does the record's summary (appeal) or text (note) contain q (folded)? */
static int
text_matches(const struct fv_state *st, const char *q, size_t qlen)
{
	const struct fv_leaf *f = fv_state_leaf(st,
	    st->rtype == FV_RTYPE_APPEAL ? "summary" : "text");
	json_t *v;
	char *folded;
	size_t n;
	int m = 0;

	if (f == NULL || f->val == NULL ||
	    (v = json_loadb(f->val, f->vallen, JSON_DECODE_ANY, NULL)) == NULL)
		return 0;
	if (json_is_string(v) && fv_fold(json_string_value(v),
	    json_string_length(v), &folded, &n) == 0) {
		m = fv_fold_contains(folded, n, q, qlen);
		sodium_memzero(folded, n);
		free(folded);
	}
	json_decref(v);
	return m;
}

int
fv_store_list(struct fv_store *s, const struct fv_filter *f,
    const char *query, json_t **out)
{
	const struct fv_ientry **v = NULL;
	struct fv_state st;
	MDB_txn *txn;
	json_t *arr;
	char *q = NULL;
	size_t n, i, qlen = 0;
	int rc;

	*out = NULL;
	if ((rc = read_begin(s, &txn)) != 0)
		return rc;
	if ((arr = json_array()) == NULL ||
	    (query != NULL && (rc = fv_fold(query, strlen(query), &q,
	    &qlen)) != 0) ||
	    (rc = fv_index_select(s->idx, f, &v, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const struct fv_ientry *e = v[i];
		int hit = q == NULL ||
		    (e->fname && fv_fold_contains(e->fname, strlen(e->fname),
		    q, qlen)) ||
		    (e->floc && fv_fold_contains(e->floc, strlen(e->floc), q,
		    qlen));

		if ((rc = load_live(s, txn, e->rid, 0, &st)) != 0)
			goto out;
		if (hit || text_matches(&st, q, qlen))
			json_array_append_new(arr, record_json(s, txn, &st,
			    e->rid));
		fv_state_free(&st);
	}
out:
	free(v);
	if (q != NULL) {
		sodium_memzero(q, qlen);
		free(q);
	}
	read_end(s, txn);
	if (rc != 0 || arr == NULL) {
		json_decref(arr);
		return rc ? rc : FV_ENOMEM;
	}
	*out = arr;
	return 0;
}

int
fv_store_stats(struct fv_store *s, struct fv_store_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->seq = s->seq;
	st->pending = s->seq - s->acked;
	st->map_bytes = s->mapsize;
	if (s->keys == NULL)
		return FV_ELOCKED;
	st->appeals = fv_index_count(s->idx, FV_RTYPE_APPEAL);
	st->notes = fv_index_count(s->idx, FV_RTYPE_NOTE);
	return 0;
}

int
fv_store_fds(const struct fv_store *s, int *fds, int n)
{
	int k = 0;

	if (n > 0 && s->env != NULL && mdb_env_get_fd(s->env, &fds[k]) == 0)
		k++;
	if (k < n && s->kf != NULL)
		fds[k++] = fv_keyfile_fd(s->kf);
	return k;
}

/* --- ops from elsewhere (sync, bundles) ---------------------------------- */

/* The enrolled device that signed: its Ed25519 key, unless revoked. */
static int
author_key(struct fv_store *s, const uint8_t *id, uint8_t pk[32])
{
	MDB_val k = { FV_ID_BYTES, (void *)id }, v;
	const char *hex;
	json_t *j;
	int rc = FV_EUNKNOWN;

	if (mdb_get(s->txn, s->db_devs, &k, &v) != 0)
		return FV_EUNKNOWN;
	if ((j = json_loadb(v.mv_data, v.mv_size, 0, NULL)) == NULL)
		return FV_ECORRUPT;
	hex = json_string_value(json_object_get(j, "public_key"));
	if (!json_is_true(json_object_get(j, "revoked")) && hex != NULL &&
	    sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, NULL, NULL) == 0)
		rc = 0;
	json_decref(j);
	return rc;
}

/* An op with this author and seq is stored: the same bytes (0), or a fork
 * (FV_EFORK).  FV_ENOTFOUND if there is none. */
static int
same_as_stored(struct fv_store *s, const struct fv_op *hdr,
    const uint8_t *op, size_t len)
{
	uint8_t ref[OPKEY_BYTES], tag[TAG_BYTES];
	MDB_val k = { OPKEY_BYTES, ref }, v;
	struct fv_buf pt = { 0 };
	struct fv_op old;
	int rc;

	opkey(ref, hdr->author, hdr->seq);
	if ((rc = mdb_get(s->txn, s->db_ops, &k, &v)) != 0)
		return fv_mdb_err(rc);
	if (v.mv_size < 1 + TAG_BYTES)
		return FV_ECORRUPT;
	memcpy(tag, (const uint8_t *)v.mv_data + 1, TAG_BYTES);
	if (((const uint8_t *)v.mv_data)[0] == CLASS_RECORD) {
		struct fv_state st;
		uint8_t rid[FV_ID_BYTES];
		int class;

		/* loads the record's key */
		if ((rc = load_tag(s, s->txn, tag, rid, &st, &class)) != 0)
			return rc;
		fv_state_free(&st);
	}
	if ((rc = load_op(s, s->txn, ref, tag, &pt, &old)) == 0) {
		free(old.fields);
		rc = pt.len == len && sodium_memcmp(pt.p, op, len) == 0 ? 0 :
		    FV_EFORK;
	}
	fv_buf_free(&pt);
	return rc;
}

int
fv_store_apply(struct fv_store *s, const uint8_t *op, size_t len,
    int *applied)
{
	struct fv_state st;
	struct fv_op hdr;
	uint8_t pk[32], tag[TAG_BYTES], rid[FV_ID_BYTES];
	int rc, class, conflict;

	*applied = 0;
	if (s->txn == NULL)
		return FV_EBUSY;
	if ((rc = fv_op_decode(op, len, &hdr)) != 0)
		return rc;
	if ((rc = author_key(s, hdr.author, pk)) != 0 ||
	    (rc = fv_op_verify(op, len, pk)) != 0)
		goto out;
	/* a clock far ahead of ours would win every merge for ever */
	if (FV_HLC_MS(hdr.hlc) > fv_now_ms() + FV_SKEW_MAX_MS) {
		rc = FV_ECLOCK;
		goto out;
	}
	if ((rc = same_as_stored(s, &hdr, op, len)) != FV_ENOTFOUND)
		goto out;		/* 0: seen already; or a fork */
	if (hdr.hlc > s->t_clock.last)
		s->t_clock.last = hdr.hlc;	/* our next edit comes after */
	tag_of(s, hdr.rid, tag);
	rc = load_tag(s, s->txn, tag, rid, &st, &class);
	if (rc == FV_ENOTFOUND) {
		memset(&st, 0, sizeof(st));
		class = -1;
		rc = 0;
	} else if (rc == 0 && memcmp(rid, hdr.rid, FV_ID_BYTES) != 0)
		rc = FV_ECORRUPT;
	if (rc != 0)
		goto out;
	if (class == CLASS_LOG) {
		fv_state_free(&st);	/* deleted: a delete wins over all */
		goto out;
	}
	if (hdr.kind == FV_OP_DELETE) {
		if ((class == CLASS_RECORD &&
		    (rc = shred(s, &st, s->cur_slot)) != 0) ||
		    (rc = put_signed(s, op, len, &hdr, CLASS_LOG, tag)) ||
		    (rc = fv_state_apply(&st, &hdr, &conflict)) ||
		    (rc = put_state(s, tag, hdr.rid, &st, CLASS_LOG)) ||
		    (rc = pend_push(s, hdr.rid, NULL)))
			goto state;
	} else {
		if ((class < 0 && (rc = rkey_new(s, tag)) != 0) ||
		    (rc = put_signed(s, op, len, &hdr, CLASS_RECORD, tag)) ||
		    (rc = fv_state_apply(&st, &hdr, &conflict)) ||
		    (rc = save_live(s, tag, hdr.rid, &st)))
			goto state;
	}
	*applied = 1;
state:
	fv_state_free(&st);
out:
	free(hdr.fields);
	return poison(s, rc);
}

int
fv_store_ops_since(struct fv_store *s, const uint8_t author[FV_ID_BYTES],
    uint64_t after, size_t max, int (*cb)(void *, const uint8_t *, size_t,
    uint64_t), void *arg)
{
	uint8_t from[OPKEY_BYTES];
	MDB_val k = { OPKEY_BYTES, from }, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	struct fv_buf pt = { 0 };
	size_t n = 0;
	int rc, op = MDB_SET_RANGE;

	if ((rc = read_begin(s, &txn)) != 0)
		return rc;
	opkey(from, author, after + 1);
	if ((rc = fv_mdb_err(mdb_cursor_open(txn, s->db_ops, &cur))) != 0)
		goto out;
	while (n < max && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		const uint8_t *key = k.mv_data;
		uint8_t tag[TAG_BYTES], rid[FV_ID_BYTES];
		struct fv_state st;
		struct fv_op dec;
		int class;

		op = MDB_NEXT;
		if (k.mv_size != OPKEY_BYTES ||
		    memcmp(key, author, FV_ID_BYTES) != 0)
			break;
		if (v.mv_size < 1 + TAG_BYTES) {
			rc = FV_ECORRUPT;
			break;
		}
		memcpy(tag, (const uint8_t *)v.mv_data + 1, TAG_BYTES);
		if (((const uint8_t *)v.mv_data)[0] == CLASS_RECORD) {
			if ((rc = load_tag(s, txn, tag, rid, &st, &class)) != 0)
				break;
			fv_state_free(&st);
		}
		if ((rc = load_op(s, txn, key, tag, &pt, &dec)) != 0)
			break;
		free(dec.fields);
		n++;
		if ((rc = cb(arg, pt.p, pt.len, fv_get_u64(key +
		    FV_ID_BYTES))) != 0)
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = fv_mdb_err(rc);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	fv_buf_free(&pt);
	read_end(s, txn);
	return rc;
}

int
fv_store_device_put(struct fv_store *s, const struct fv_device *d)
{
	char pk[65], group[sizeof(d->group)];
	MDB_val k = { FV_ID_BYTES, (void *)d->id }, v;
	json_t *j;
	char *txt;
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	sodium_bin2hex(pk, sizeof(pk), d->sign_pk, 32);
	snprintf(group, sizeof(group), "%s", d->group);
	j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", d->name, "role",
	    d->role, "public_key", pk, "group", group, "revoked", d->revoked);
	if (j == NULL || (txt = json_dumps(j, JSON_COMPACT |
	    JSON_SORT_KEYS)) == NULL) {
		json_decref(j);
		return FV_ENOMEM;
	}
	json_decref(j);
	v.mv_size = strlen(txt);
	v.mv_data = txt;
	rc = fv_mdb_err(txn_put(s, s->db_devs, &k, &v, 0));
	fv_json_free(txt);
	return poison(s, rc);
}

int
fv_store_device_get(struct fv_store *s, const uint8_t id[FV_ID_BYTES],
    struct fv_device *d)
{
	MDB_val k = { FV_ID_BYTES, (void *)id }, v;
	MDB_txn *txn;
	const char *pk;
	json_t *j = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = mdb_get(txn, s->db_devs, &k, &v)) != 0)
		rc = fv_mdb_err(rc);
	else if ((j = json_loadb(v.mv_data, v.mv_size, 0, NULL)) == NULL ||
	    (pk = json_string_value(json_object_get(j, "public_key"))) ==
	    NULL || sodium_hex2bin(d->sign_pk, 32, pk, strlen(pk), NULL, NULL,
	    NULL) != 0)
		rc = FV_ECORRUPT;
	else {
		memcpy(d->id, id, FV_ID_BYTES);
		snprintf(d->name, sizeof(d->name), "%s",
		    json_string_value(json_object_get(j, "name")) ?: "");
		snprintf(d->role, sizeof(d->role), "%s",
		    json_string_value(json_object_get(j, "role")) ?: "");
		snprintf(d->group, sizeof(d->group), "%s",
		    json_string_value(json_object_get(j, "group")) ?: "");
		d->revoked = json_is_true(json_object_get(j, "revoked"));
	}
	json_decref(j);
	read_end(s, txn);
	return rc;
}
