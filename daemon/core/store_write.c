/*
 * store_write.c - writes: transactions, create, update, delete, commit.
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

/* Forgets the transaction's bookkeeping; index entries not handed over
 * to the index are freed. */
static void
txn_reset(struct fv_store *s)
{
	size_t i;

	s->ak_valid = 0;
	for (i = 0; i < s->npend; i++)
		fv_index_entry_free(s->pend[i].entry);
	s->npend = s->nnew = s->nwipe = 0;
	s->b1.len = s->b2.len = 0;
	s->poisoned = 0;
	s->t_dirty = 0;
	s->t_arrival = s->arrival;
	s->t_acked = s->acked;
	s->t_last_sync = s->last_sync;
	s->t_applied = 0;
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
		return fv_store_mdb_err(rc);
	}
	s->t_seq = s->seq;
	s->t_clock = s->clock;
	txn_reset(s);
	return 0;
}

/* A write that failed after it began to change the transaction poisons
 * it: the caller must abort (and may replay after FV_EMAPFULL). */
int
fv_store_poison(struct fv_store *s, int rc)
{
	if (rc != 0 && rc != FV_EINVAL && rc != FV_ENOTFOUND &&
	    rc != FV_EDELETED && rc != FV_EEXIST && s->poisoned == 0)
		s->poisoned = rc;
	return rc;
}

int
fv_store_spoilt(const struct fv_store *s)
{
	return s->poisoned;
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
	op->hlc = fv_hlc_tick(&s->t_clock, fv_hlc_now_ms());
	memcpy(op->rid, rid, FV_ID_BYTES);
}

int
fv_store_pend_push(struct fv_store *s, const uint8_t *rid, struct fv_ientry *e)
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
int
fv_store_save_live(struct fv_store *s, const uint8_t *tag, const uint8_t *rid,
    const struct fv_state *st)
{
	struct fv_ientry *e;
	int rc;

	if ((rc = fv_store_put_state(s, tag, rid, st, CLASS_RECORD)) != 0)
		return rc;
	if ((rc = fv_index_make(st, rid, s->cur_slot, &e)) != 0)
		return rc;
	return fv_store_pend_push(s, rid, e);
}

/* A note's appeal_id must name a live appeal. */
static int
check_appeal_ref(struct fv_store *s, const struct fv_leaves *lv,
    struct fv_verr *e)
{
	const struct fv_leaf *f = fv_state_leaves_get(lv, "appeal_id");
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
		rc = fv_op_id_parse(hex, rid);
	}
	if (rc != 0)
		rc = FV_EINVAL;
	else if ((rc = fv_store_load_live(s, s->txn, rid, FV_RTYPE_APPEAL,
		      &st)) == 0)
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
	fv_store_tag_of(s, rid, tag);
	{
		MDB_val k = { TAG_BYTES, tag }, v;

		if ((rc = mdb_get(s->txn, s->db_recs, &k, &v)) != MDB_NOTFOUND)
			return rc == 0 ? FV_EEXIST : fv_store_mdb_err(rc);
	}
	op_header(s, &op, FV_OP_PUT, t, rid);
	op.fields = lv->v;
	op.nfields = lv->n;
	memset(&st, 0, sizeof(st));
	if ((rc = fv_store_rkey_new(s, tag)) == 0 &&
	    (rc = fv_store_put_op(s, &op, CLASS_RECORD, tag)) == 0 &&
	    (rc = fv_state_apply(&st, &op, &conflict)) == 0)
		rc = fv_store_save_live(s, tag, rid, &st);
	fv_state_free(&st);
	return fv_store_poison(s, rc);
}

int
fv_store_create(struct fv_store *s, enum fv_rtype t, const json_t *body,
    const uint8_t rid[FV_ID_BYTES], struct fv_verr *e)
{
	struct fv_leaves lv;
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	if ((rc = fv_state_leaves_from_json(body, 0, s->info.device_id, &lv,
		 e)) != 0)
		return rc;
	rc = create_one(s, t, &lv, rid, e);
	fv_state_leaves_free(&lv);
	return rc;
}

/* The kernel maps pages of the data file around every page LMDB reads
 * (fault-around), so after a bulk write the whole file would count as our
 * resident memory.  Those pages are clean page cache: unmapping them now
 * and then costs a few page faults and keeps the daemon's footprint its
 * own.  Only between transactions: no pointer into the map is held. */
void
fv_store_drop_mapped(struct fv_store *s, uint64_t wrote)
{
	s->since_drop += wrote;
	if (s->since_drop < FV_DROP_EVERY)
		return;
	s->since_drop = 0;
	fv_store_find_map(s);
	fv_store_unmap(s);
}

void
fv_store_find_map(struct fv_store *s)
{
	char line[PATH_MAX + 128], want[PATH_MAX + 16];
	unsigned long lo, hi;
	FILE *f;
	int off;

	if (s->map_len == s->mapsize)
		return;
	/* LMDB does not say where its map is (me_mapaddr is set only for
	 * MDB_FIXEDMAP): find it by name, once per map size */
	s->map_lo = NULL;
	s->map_len = 0;
	snprintf(want, sizeof(want), "%s/data.mdb", s->dir);
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi,
			&off) >= 2 &&
		    strcmp(line + off, want) == 0) {
			s->map_lo = (void *)lo;
			s->map_len = hi - lo;
		}
	}
	fclose(f);
}

void
fv_store_unmap(const struct fv_store *s)
{
	if (s->map_len == s->mapsize && s->map_lo != NULL)
		madvise(s->map_lo, s->map_len, MADV_DONTNEED);
}

/* One record of a bulk create, prepared off the transaction. */
struct prep {
	struct fv_op op;
	const struct fv_leaves *lv;
	uint8_t tag[TAG_BYTES];
	uint32_t slot;
	uint8_t wrapped[FV_SLOT_BYTES];
	struct fv_buf opv, stv;
	struct fv_ientry *ie;
	int rc;
	struct fv_verr e;
};

struct many {
	struct fv_store *s;
	struct prep *p;
	uint8_t *key[FV_PAR_WORKERS]; /* secmem */
	struct fv_buf tmp[FV_PAR_WORKERS];
	size_t written; /* key slots written up to */
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
		fv_store_opkey(ref, p->op.author, p->op.seq);
		st.leaves = *p->lv;
		randombytes_buf(key, 32);
		fv_store_wrap_key(K_MK(s), p->slot, p->tag, key, p->wrapped);
		if ((p->rc = fv_store_seal_op(K_SK(s), key, &p->op,
			 CLASS_RECORD, p->tag, &m->tmp[w], &p->opv)) == 0 &&
		    (p->rc = fv_store_seal_state(key, p->tag, p->op.rid, &st,
			 CLASS_RECORD, p->slot, &m->tmp[w], &p->stv)) == 0)
			p->rc = fv_index_make(&st, p->op.rid, p->slot, &p->ie);
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
		return 0; /* written with the run before */
	for (k = 0; i + k < n && k < 64 && m->p[i + k].slot == m->p[i].slot + k;
	     k++)
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
			rc = create_one(s, t, &lv[i], rids + i * FV_ID_BYTES,
			    e);
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
		fv_store_tag_of(s, rids + i * FV_ID_BYTES, p->tag);
		op_header(s, &p->op, FV_OP_PUT, t, rids + i * FV_ID_BYTES);
		if ((rc = fv_keyfile_alloc(s->kf, &p->slot)) == 0 &&
		    (rc = fv_buf_push_u32(&s->newslots, &s->nnew, &s->capnew,
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
	if (rc != 0) { /* nothing reached the transaction */
		for (i = nnew0; i < s->nnew; i++)
			fv_keyfile_release(s->kf, s->newslots[i]);
		s->nnew = nnew0;
		s->t_seq = seq0;
		many_free(&m, n);
		return rc == FV_EINVAL ? rc : fv_store_poison(s, rc);
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct prep *p = &m.p[i];
		uint8_t ok[OPKEY_BYTES];
		MDB_val tk = { TAG_BYTES, p->tag }, okv = { OPKEY_BYTES, ok },
			ov = { p->opv.len, p->opv.p },
			rv = { p->stv.len, p->stv.p };

		*failed = i;
		fv_store_opkey(ok, p->op.author, p->op.seq);
		if ((rc = write_slots(s, &m, i, n)) ||
		    (rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_ops, &okv,
			 &ov, MDB_NOOVERWRITE))) ||
		    (rc = fv_store_arrive(s, ok, 0)) ||
		    (rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_recs, &tk,
			 &rv, MDB_NOOVERWRITE))))
			break;
		rc = fv_store_pend_push(s, p->op.rid, p->ie); /* takes ie */
		p->ie = NULL;
		/* random puts fault in whole neighbourhoods of the file:
		 * unmap as we go (safe: the pages stay in the cache) */
		fv_store_drop_mapped(s, 1);
	}
	many_free(&m, n);
	return fv_store_poison(s, rc);
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
	if ((rc = fv_store_load_live(s, s->txn, rid, t, &st)) != 0)
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
	if ((rc = fv_state_leaves_from_json(next, 0, s->info.device_id, &lv,
		 e)))
		goto out;
	if (t == FV_RTYPE_NOTE &&
	    !json_equal(json_object_get(cur, "appeal_id"),
		json_object_get(next, "appeal_id")) &&
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
	fv_store_tag_of(s, rid, tag);
	if ((rc = fv_store_rkey_load(s, slot, tag)) == 0 &&
	    (rc = fv_store_put_op(s, &op, CLASS_RECORD, tag)) == 0 &&
	    (rc = fv_state_apply(&st, &op, &conflict)) == 0 &&
	    (rc = fv_store_save_live(s, tag, rid, &st)) == 0 &&
	    (rc = fv_store_relog(s, &st, &op)) == 0)
		*changed = 1;
out:
	free(op.fields);
	fv_state_leaves_free(&lv);
	json_decref(cur);
	json_decref(next);
	fv_state_free(&st);
	return fv_store_poison(s, rc);
}

/* Deletes the content of a live record: its ops go (their refs stay in
 * the state, soon a tombstone, so history and sync can say what was
 * shredded) and its key slot is wiped at commit. */
int
fv_store_shred(struct fv_store *s, const struct fv_state *st, uint32_t slot)
{
	MDB_val k;
	uint32_t i;
	int rc;

	for (i = 0; i < st->nops; i++) {
		k.mv_size = OPKEY_BYTES;
		k.mv_data = st->oprefs + (size_t)i * FV_OPREF_BYTES;
		if ((rc = fv_store_txn_del(s, s->db_ops, &k)) != 0 &&
		    rc != MDB_NOTFOUND)
			return fv_store_mdb_err(rc);
	}
	return fv_buf_push_u32(&s->wipeslots, &s->nwipe, &s->capwipe, slot);
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
	if ((rc = fv_store_load_live(s, s->txn, rid, t, &st)) != 0)
		return rc;
	slot = s->cur_slot;
	fv_store_tag_of(s, rid, tag);
	op_header(s, &op, FV_OP_DELETE, st.rtype, rid);
	if ((rc = fv_store_shred(s, &st, slot)) ||
	    (rc = fv_store_put_op(s, &op, CLASS_LOG, tag)) ||
	    (rc = fv_state_apply(&st, &op, &conflict)) ||
	    (rc = fv_store_put_state(s, tag, rid, &st, CLASS_LOG)))
		goto out;
	rc = fv_store_pend_push(s, rid, NULL);
out:
	fv_state_free(&st);
	return fv_store_poison(s, rc);
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
	if ((rc = fv_store_env_open(s)) != 0 ||
	    (rc = fv_store_read_meta(s)) != 0)
		return rc == FV_ENOSPC ? rc : FV_EIO;
	if (s->txns == want)
		return 0;
	s->clock.last = s->clock.last > s->t_clock.last ? s->clock.last :
							  s->t_clock.last;
	return why;
}

/* The observer hears of a change as the index takes it. */
static void
tell(struct fv_store *s, const struct pend *p)
{
	const struct fv_ientry *was = fv_index_get(s->idx, p->rid);

	if (p->entry != NULL)
		s->observe(s->observe_arg, p->rid, p->entry->rtype,
		    was ? FV_STORE_UPDATED : FV_STORE_CREATED);
	else if (was != NULL)
		s->observe(s->observe_arg, p->rid, was->rtype,
		    FV_STORE_DELETED);
}

void
fv_store_set_observer(struct fv_store *s, fv_store_observer cb, void *arg)
{
	s->observe = cb;
	s->observe_arg = arg;
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
	if (!s->t_dirty) { /* nothing written */
		fv_store_abort(s);
		return 0;
	}
	if ((rc = fv_store_put_clock(s, s->txn, s->t_seq, s->t_clock.last,
		 s->txns + 1)) != 0 ||
	    (s->nnew > 0 && (rc = fv_keyfile_sync(s->kf)) != 0)) {
		fv_store_abort(s);
		return rc;
	}
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	if (rc != 0 &&
	    (rc = reopen_check(s, classify(s, fv_store_mdb_err(rc)))) != 0) {
		for (i = 0; i < s->nnew; i++)
			fv_keyfile_wipe(s->kf, s->newslots[i]);
		txn_reset(s);
		return rc;
	}
	wrote = s->t_seq - s->seq + s->t_applied;
	s->txns++;
	s->arrival = s->t_arrival;
	s->acked = s->t_acked;
	s->last_sync = s->t_last_sync;
	s->seq = s->t_seq;
	s->clock = s->t_clock;
	for (i = 0; i < s->npend; i++) {
		if (s->observe != NULL)
			tell(s, &s->pend[i]);
		if (s->pend[i].entry != NULL)
			fv_index_put(s->idx, s->pend[i].entry);
		else
			fv_index_del(s->idx, s->pend[i].rid);
		s->pend[i].entry = NULL;
	}
	fv_store_drop_mapped(s, wrote);
	/* crypto-shred: the deleted records' keys go now */
	for (i = 0; i < s->nwipe; i++)
		fv_keyfile_wipe(s->kf, s->wipeslots[i]);
	if (s->nwipe > 0)
		fv_keyfile_sync(s->kf); /* else scrubbed at next unlock */
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
		return fv_store_mdb_err(rc);
	s->mapsize *= 2;
	return 0;
}
