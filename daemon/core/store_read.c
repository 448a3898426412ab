/*
 * store_read.c - reads: records, history, lists, figures.
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

int
fv_store_read_begin(struct fv_store *s, MDB_txn **txn)
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	if (s->txn != NULL) { /* inside a write: see its changes */
		*txn = s->txn;
		return 0;
	}
	return fv_store_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

void
fv_store_read_end(struct fv_store *s, MDB_txn *txn)
{
	if (txn != s->txn)
		mdb_txn_abort(txn);
}

int
fv_store_record(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], struct fv_state *st,
    char created_by[FV_NAME_MAX + 1])
{
	MDB_txn *txn;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = fv_store_load_live(s, txn, rid, t, st)) == 0 &&
	    created_by != NULL)
		device_name(s, txn, st->created_by, created_by,
		    FV_NAME_MAX + 1);
	fv_store_read_end(s, txn);
	return rc;
}

int
fv_store_history(struct fv_store *s, const uint8_t rid[FV_ID_BYTES],
    fv_store_history_cb cb, void *arg)
{
	struct fv_state st;
	struct fv_buf pt = { 0 };
	uint8_t tag[TAG_BYTES], got[FV_ID_BYTES];
	char name[FV_NAME_MAX + 1];
	MDB_txn *txn;
	uint32_t i;
	int class, rc;

	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	fv_store_tag_of(s, rid, tag);
	if ((rc = fv_store_load_tag(s, txn, tag, got, &st, &class)) != 0) {
		fv_store_read_end(s, txn);
		return rc;
	}
	for (i = 0; i < st.nops && rc == 0; i++) {
		const uint8_t *ref = st.oprefs + (size_t)i * FV_OPREF_BYTES;
		struct fv_op op;

		if ((rc = fv_store_load_op(s, txn, ref, tag, &pt, &op)) ==
		    FV_ENOTFOUND) {
			rc = cb(arg, ref, fv_buf_get_u64(ref + FV_ID_BYTES),
			    NULL, NULL);
			continue;
		}
		if (rc != 0)
			break;
		device_name(s, txn, op.author, name, sizeof(name));
		rc = cb(arg, op.author, op.seq, &op, name);
		free(op.fields);
	}
	fv_buf_free(&pt);
	fv_state_free(&st);
	fv_store_read_end(s, txn);
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
	if (json_is_string(v) &&
	    fv_fold_str(json_string_value(v), json_string_length(v), &folded,
		&n) == 0) {
		m = fv_fold_contains(folded, n, q, qlen);
		sodium_memzero(folded, n);
		free(folded);
	}
	json_decref(v);
	return m;
}

#define SCAN_CACHE 32 /* device names a scan remembers */

struct fv_store_scan {
	uint8_t *rids; /* the matching ids, as selected */
	uint8_t *hit;  /* matched by name or location */
	size_t n, at;
	char *q; /* folded query, or NULL */
	size_t qlen;
	struct fv_st_viewer *vw[FV_PAR_WORKERS];
	struct fv_arena pool; /* spare chunks for the viewers */
	struct {
		uint8_t id[FV_ID_BYTES];
		char name[FV_NAME_MAX + 1];
	} dev[SCAN_CACHE];
	size_t ndev;
};

/* Records a reader reads between unmappings of the file pages: each read
 * may map 64 KiB (the kernel's fault-around), so 64 reads hold at most
 * 4 MiB a reader.  It costs speed: docs/benchmarks.md, bench/export. */
#define SCAN_DROP_EVERY 64
#define SCAN_SPARES	32 /* chunks of 256 KiB kept for reuse */

static void
viewer_free(struct fv_st_viewer *vw)
{
	if (vw != NULL) {
		fv_secmem_free(vw->key);
		fv_buf_arena_free(&vw->arena);
		free(vw);
	}
}

void
fv_store_scan_free(struct fv_store_scan *sc)
{
	int w;

	if (sc == NULL)
		return;
	if (sc->q != NULL) {
		sodium_memzero(sc->q, sc->qlen);
		free(sc->q);
	}
	for (w = 0; w < FV_PAR_WORKERS; w++)
		viewer_free(sc->vw[w]);
	fv_buf_arena_free(&sc->pool);
	free(sc->rids);
	free(sc->hit);
	sodium_memzero(sc->dev, sizeof(sc->dev));
	free(sc);
}

int
fv_store_scan_new(struct fv_store *s, const struct fv_filter *f,
    const char *query, struct fv_store_scan **out)
{
	const struct fv_ientry **v = NULL;
	struct fv_store_scan *sc;
	size_t i;
	int rc, w;

	*out = NULL;
	if (s->keys == NULL)
		return FV_ELOCKED;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return FV_ENOMEM;
	if ((query != NULL &&
		(rc = fv_fold_str(query, strlen(query), &sc->q, &sc->qlen)) !=
		    0) ||
	    (rc = fv_index_select(s->idx, f, &v, &sc->n)) != 0)
		goto fail;
	rc = FV_ENOMEM;
	if ((sc->rids = malloc(sc->n * FV_ID_BYTES + 1)) == NULL ||
	    (sc->hit = malloc(sc->n + 1)) == NULL)
		goto fail;
	for (w = 0; w < FV_PAR_WORKERS; w++)
		if ((sc->vw[w] = calloc(1, sizeof(*sc->vw[w]))) == NULL ||
		    (sc->vw[w]->key = fv_secmem_alloc(FV_KEY_BYTES)) == NULL)
			goto fail;
	for (i = 0; i < sc->n; i++) {
		const struct fv_ientry *e = v[i];

		memcpy(sc->rids + i * FV_ID_BYTES, e->rid, FV_ID_BYTES);
		sc->hit[i] = sc->q == NULL ||
		    (e->fname &&
			fv_fold_contains(e->fname, strlen(e->fname), sc->q,
			    sc->qlen)) ||
		    (e->floc &&
			fv_fold_contains(e->floc, strlen(e->floc), sc->q,
			    sc->qlen));
	}
	free(v);
	*out = sc;
	return 0;
fail:
	free(v);
	fv_store_scan_free(sc);
	return rc;
}

/* One fv_store_scan_read: the candidates [base, base + n) of the scan. */
struct scanrun {
	struct fv_store *s;
	struct fv_store_scan *sc;
	MDB_txn *txn; /* the store's write txn, or NULL */
	struct fv_scan_rec *rec;
	uint8_t *keep;
	struct plan { /* from the index, as the read begins */
		uint32_t slot;
		uint8_t state;
		uint8_t opref[FV_OPREF_BYTES];
	} * plan;
	size_t base;
	int rc[FV_PAR_WORKERS];
};

enum {
	P_STATE,
	P_OP,
	P_GONE
}; /* plan: read the state, the op, nothing */

/* Reads candidates [lo, hi) on one core, in a read txn of its own. */
static void
read_range(void *arg, size_t lo, size_t hi, int w)
{
	struct scanrun *r = arg;
	struct fv_store *s = r->s;
	struct fv_store_scan *sc = r->sc;
	MDB_txn *txn = r->txn;
	size_t i, since = 0;
	int rc = 0;

	if (txn == NULL &&
	    (rc = fv_store_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY,
		 &txn))) != 0) {
		r->rc[w] = rc;
		return;
	}
	for (i = lo; i < hi && rc == 0; i++) {
		struct fv_scan_rec *sr = &r->rec[i];
		size_t at = r->base + i;

		memcpy(sr->rid, sc->rids + at * FV_ID_BYTES, FV_ID_BYTES);
		switch (r->plan != NULL ? r->plan[i].state : P_STATE) {
		case P_GONE:
			continue;
		case P_OP:
			/* its op alone; the state is the authority if that
			 * fails */
			if (fv_store_view_op(s, txn, sr->rid, r->plan[i].slot,
				r->plan[i].opref, sc->vw[w], &sr->st) == 0) {
				rc = 0;
				break;
			}
			/* FALLTHROUGH */
		default:
			rc = fv_store_view_live(s, txn, sr->rid, sc->vw[w],
			    &sr->st);
		}
		if (rc == FV_ENOTFOUND || rc == FV_EDELETED) {
			rc = 0; /* gone since the scan began */
			continue;
		}
		if (rc == 0)
			r->keep[i] = sc->hit[at] ||
			    text_matches(&sr->st, sc->q, sc->qlen);
		/* each fault maps the 64 KiB around it: unmap often, or a
		 * scan holds the file (states sit at random pages) */
		if (++since >= SCAN_DROP_EVERY && r->txn == NULL) {
			fv_store_unmap(s);
			since = 0;
		}
	}
	if (r->txn == NULL)
		mdb_txn_abort(txn);
	r->rc[w] = rc;
}

/* The name of a record's author, remembered for the rest of the scan. */
static const char *
scan_device(struct fv_store *s, struct fv_store_scan *sc, MDB_txn *txn,
    const uint8_t *id)
{
	size_t i;

	for (i = 0; i < sc->ndev; i++)
		if (memcmp(sc->dev[i].id, id, FV_ID_BYTES) == 0)
			return sc->dev[i].name;
	i = sc->ndev < SCAN_CACHE ? sc->ndev++ : SCAN_CACHE - 1;
	memcpy(sc->dev[i].id, id, FV_ID_BYTES);
	device_name(s, txn, id, sc->dev[i].name, sizeof(sc->dev[i].name));
	return sc->dev[i].name;
}

void
fv_store_scan_recycle(struct fv_store_scan *sc, struct fv_scan_batch *b)
{
	int w;

	if (b == NULL)
		return;
	for (w = 0; w < FV_PAR_WORKERS; w++)
		fv_buf_arena_recycle(&sc->pool, &b->arena[w], SCAN_SPARES);
	fv_store_scan_batch_free(b);
}

void
fv_store_scan_batch_free(struct fv_scan_batch *b)
{
	int w;

	if (b == NULL)
		return;
	for (w = 0; w < FV_PAR_WORKERS; w++)
		fv_buf_arena_free(&b->arena[w]);
	if (b->rec != NULL)
		sodium_memzero(b->rec, b->n * sizeof(*b->rec));
	free(b->rec);
	free(b);
}

int
fv_store_scan_read(struct fv_store *s, struct fv_store_scan *sc, size_t max,
    struct fv_scan_batch **out, int *done)
{
	struct scanrun r;
	struct fv_scan_batch *b;
	MDB_txn *txn;
	size_t i, k = sc->n - sc->at < max ? sc->n - sc->at : max;
	int rc, w;

	*out = NULL;
	*done = sc->at == sc->n;
	if (s->keys == NULL)
		return FV_ELOCKED;
	r.keep = NULL;
	r.plan = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->rec = calloc(k + 1, sizeof(*b->rec))) == NULL ||
	    (r.keep = calloc(k + 1, 1)) == NULL ||
	    (s->txn == NULL &&
		(r.plan = calloc(k + 1, sizeof(*r.plan))) == NULL)) {
		if (b != NULL)
			free(b->rec);
		free(b);
		free(r.keep);
		return FV_ENOMEM;
	}
	/* the index is the committed state the reads will see */
	for (i = 0; r.plan != NULL && i < k; i++) {
		const struct fv_ientry *e = fv_index_get(s->idx,
		    sc->rids + (sc->at + i) * FV_ID_BYTES);

		if (e == NULL)
			r.plan[i].state = P_GONE;
		else if (e->single) {
			r.plan[i].state = P_OP;
			r.plan[i].slot = e->slot;
			memcpy(r.plan[i].opref, e->opref, FV_OPREF_BYTES);
		}
	}
	r.s = s;
	r.sc = sc;
	r.txn = s->txn; /* inside a write: see its changes */
	r.rec = b->rec;
	r.base = sc->at;
	memset(r.rc, 0, sizeof(r.rc));
	fv_store_find_map(s);
	for (w = 0; w < FV_PAR_WORKERS; w++)
		fv_buf_arena_lend(&sc->vw[w]->arena, &sc->pool,
		    (sc->pool.nspare + 1) / 2);
	if (r.txn != NULL)
		read_range(&r, 0, k, 0);
	else
		fv_par_run(k, read_range, &r);
	for (w = 0; w < FV_PAR_WORKERS; w++) {
		struct fv_arena *a = &sc->vw[w]->arena;

		fv_buf_arena_lend(&sc->pool, a, a->nspare);
		b->arena[w] = *a; /* the batch's now */
		memset(a, 0, sizeof(*a));
	}
	for (w = 0, rc = 0; w < FV_PAR_WORKERS && rc == 0; w++)
		rc = r.rc[w];
	if (rc == 0)
		rc = fv_store_read_begin(s, &txn);
	if (rc == 0) {
		for (i = 0; i < k; i++) {
			if (!r.keep[i])
				continue;
			const char *nm = scan_device(s, sc, txn,
			    b->rec[i].st.created_by);
			char *cp = fv_buf_arena_alloc(&b->arena[0],
			    strlen(nm) + 1);

			if (cp == NULL) {
				rc = FV_ENOMEM;
				break;
			}
			b->rec[b->n] = b->rec[i];
			b->rec[b->n++].created_by = strcpy(cp, nm);
		}
		fv_store_read_end(s, txn);
	}
	free(r.keep);
	free(r.plan);
	if (rc != 0) {
		fv_store_scan_batch_free(b);
		return rc;
	}
	sc->at += k;
	*done = sc->at == sc->n;
	*out = b;
	return 0;
}

size_t
fv_store_scan_count(const struct fv_store_scan *sc)
{
	return sc->n;
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
