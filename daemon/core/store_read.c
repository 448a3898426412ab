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
void
fv_st_device_name(struct fv_store *s, MDB_txn *txn, const uint8_t *id, char *out,
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
fv_st_read_begin(struct fv_store *s, MDB_txn **txn)
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	if (s->txn != NULL) {		/* inside a write: see its changes */
		*txn = s->txn;
		return 0;
	}
	return fv_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

void
fv_st_read_end(struct fv_store *s, MDB_txn *txn)
{
	if (txn != s->txn)
		mdb_txn_abort(txn);
}

json_t *
fv_st_record_json(struct fv_store *s, MDB_txn *txn, const struct fv_state *st,
    const uint8_t *rid)
{
	char name[FV_NAME_MAX + 1];

	fv_st_device_name(s, txn, st->created_by, name, sizeof(name));
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
	if ((rc = fv_st_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = fv_st_load_live(s, txn, rid, t, &st)) == 0) {
		if ((*out = fv_st_record_json(s, txn, &st, rid)) == NULL)
			rc = FV_ENOMEM;
		fv_state_free(&st);
	}
	fv_st_read_end(s, txn);
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
	fv_st_device_name(s, txn, op->author, name, sizeof(name));
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
	if ((rc = fv_st_read_begin(s, &txn)) != 0)
		return rc;
	fv_st_tag_of(s, rid, tag);
	if ((rc = fv_st_load_tag(s, txn, tag, got, &st, &class)) != 0) {
		fv_st_read_end(s, txn);
		return rc;
	}
	if ((arr = json_array()) == NULL)
		rc = FV_ENOMEM;
	for (i = 0; i < st.nops && rc == 0; i++) {
		const uint8_t *ref = st.oprefs + (size_t)i * FV_OPREF_BYTES;
		struct fv_op op;

		if ((rc = fv_st_load_op(s, txn, ref, tag, &pt, &op)) ==
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
	fv_st_read_end(s, txn);
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

struct fv_store_scan {
	uint8_t		*rids;		/* the matching ids, as selected */
	uint8_t		*hit;		/* matched by name or location */
	size_t		 n, at;
	char		*q;		/* folded query, or NULL */
	size_t		 qlen;
	size_t		 since_drop;	/* records read since pages dropped */
};

/* Records a scan reads between unmappings of the file pages: each read
 * may map 64 KiB (the kernel's fault-around), so 64 reads hold at most
 * 4 MiB.  It costs speed: docs/benchmarks.md, bench/export. */
#define SCAN_DROP_EVERY	64

void
fv_store_scan_free(struct fv_store_scan *sc)
{
	if (sc == NULL)
		return;
	if (sc->q != NULL) {
		sodium_memzero(sc->q, sc->qlen);
		free(sc->q);
	}
	free(sc->rids);
	free(sc->hit);
	free(sc);
}

int
fv_store_scan_new(struct fv_store *s, const struct fv_filter *f,
    const char *query, struct fv_store_scan **out)
{
	const struct fv_ientry **v = NULL;
	struct fv_store_scan *sc;
	size_t i;
	int rc;

	*out = NULL;
	if (s->keys == NULL)
		return FV_ELOCKED;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return FV_ENOMEM;
	if ((query != NULL && (rc = fv_fold(query, strlen(query), &sc->q,
	    &sc->qlen)) != 0) ||
	    (rc = fv_index_select(s->idx, f, &v, &sc->n)) != 0)
		goto fail;
	rc = FV_ENOMEM;
	if ((sc->rids = malloc(sc->n * FV_ID_BYTES + 1)) == NULL ||
	    (sc->hit = malloc(sc->n + 1)) == NULL)
		goto fail;
	for (i = 0; i < sc->n; i++) {
		const struct fv_ientry *e = v[i];

		memcpy(sc->rids + i * FV_ID_BYTES, e->rid, FV_ID_BYTES);
		sc->hit[i] = sc->q == NULL ||
		    (e->fname && fv_fold_contains(e->fname, strlen(e->fname),
		    sc->q, sc->qlen)) ||
		    (e->floc && fv_fold_contains(e->floc, strlen(e->floc),
		    sc->q, sc->qlen));
	}
	free(v);
	*out = sc;
	return 0;
fail:
	free(v);
	fv_store_scan_free(sc);
	return rc;
}

int
fv_store_scan_next(struct fv_store *s, struct fv_store_scan *sc, size_t max,
    json_t *arr, int *done)
{
	struct fv_state st;
	MDB_txn *txn;
	json_t *j;
	size_t got = 0;
	int rc;

	if ((rc = fv_st_read_begin(s, &txn)) != 0)
		return rc;
	for (; sc->at < sc->n && got < max; sc->at++) {
		const uint8_t *rid = sc->rids + sc->at * FV_ID_BYTES;

		rc = fv_st_load_live(s, txn, rid, 0, &st);
		if (rc == FV_ENOTFOUND || rc == FV_EDELETED) {
			rc = 0;		/* gone since the scan began */
			continue;
		}
		if (rc != 0)
			break;
		/* records sit at random pages (keys are keyed hashes), and
		 * each fault maps the pages around it too: unmap often */
		if (++sc->since_drop >= SCAN_DROP_EVERY && txn != s->txn) {
			fv_st_drop_mapped(s, FV_DROP_EVERY);
			sc->since_drop = 0;
		}
		if (sc->hit[sc->at] || text_matches(&st, sc->q, sc->qlen)) {
			if ((j = fv_st_record_json(s, txn, &st, rid)) == NULL ||
			    json_array_append_new(arr, j) != 0) {
				fv_state_free(&st);
				rc = FV_ENOMEM;
				break;
			}
			got++;
		}
		fv_state_free(&st);
	}
	fv_st_read_end(s, txn);
	/* a long scan reads the whole file: leave its pages to the cache,
	 * not to this process's memory */
	*done = sc->at == sc->n;
	return rc;
}

size_t
fv_store_scan_count(const struct fv_store_scan *sc)
{
	return sc->n;
}

int
fv_store_list(struct fv_store *s, const struct fv_filter *f,
    const char *query, json_t **out)
{
	struct fv_store_scan *sc;
	json_t *arr;
	int rc, done = 0;

	*out = NULL;
	if ((rc = fv_store_scan_new(s, f, query, &sc)) != 0)
		return rc;
	if ((arr = json_array()) == NULL)
		rc = FV_ENOMEM;
	while (rc == 0 && !done)
		rc = fv_store_scan_next(s, sc, SIZE_MAX, arr, &done);
	fv_store_scan_free(sc);
	if (rc != 0) {
		json_decref(arr);
		return rc;
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
