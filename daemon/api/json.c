/*
 * json.c - the store's answers as the API's JSON: a record, its history,
 * a list of records, the devices.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "json.h"

struct history {
	json_t *arr;
	size_t n; /* ops so far: the first creates */
};

static json_t *
op_json(const struct fv_op *op, const char *name, int first)
{
	char hex[2 * FV_ID_BYTES + 1], ts[32];
	json_t *o, *fields = json_object();
	uint32_t i;

	fv_op_id_hex(op->author, hex);
	fv_record_format_rfc3339(FV_HLC_MS(op->hlc), ts);
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "device", hex,
	    "device_name", name, "seq", (json_int_t)op->seq, "at", ts, "hlc",
	    (json_int_t)op->hlc, "op",
	    op->kind == FV_OP_DELETE ? "delete" :
		first		     ? "create" :
				       "update");
	for (i = 0; i < op->nfields && fields != NULL; i++) {
		const struct fv_leaf *f = &op->fields[i];
		char path[FV_PATH_MAX + 1];
		json_t *v = f->val == NULL ?
		    json_null() :
		    json_loadb(f->val, f->vallen, JSON_DECODE_ANY, NULL);

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

static int
history_op(void *arg, const uint8_t *author, uint64_t seq,
    const struct fv_op *op, const char *name)
{
	struct history *h = arg;
	char hex[2 * FV_ID_BYTES + 1];

	if (op != NULL)
		json_array_append_new(h->arr, op_json(op, name, h->n == 0));
	else {
		fv_op_id_hex(author, hex);
		json_array_append_new(h->arr,
		    json_pack("{s:s, s:I, s:b}", "device", hex, "seq",
			(json_int_t)seq, "shredded", 1));
	}
	h->n++;
	return 0;
}

int
fv_json_history(struct fv_store *s, const uint8_t rid[FV_ID_BYTES],
    json_t **out)
{
	struct history h = { json_array(), 0 };
	int rc;

	*out = NULL;
	if (h.arr == NULL)
		return FV_ENOMEM;
	if ((rc = fv_store_history(s, rid, history_op, &h)) != 0) {
		json_decref(h.arr);
		return rc;
	}
	*out = h.arr;
	return 0;
}

/* Appends the next max records of sc to arr. */
static int
list_batch(struct fv_store *s, struct fv_store_scan *sc, size_t max,
    json_t *arr, int *done)
{
	struct fv_scan_batch *b;
	json_t *j;
	size_t i;
	int rc;

	if ((rc = fv_store_scan_read(s, sc, max, &b, done)) != 0)
		return rc;
	for (i = 0; i < b->n && rc == 0; i++) {
		const struct fv_scan_rec *sr = &b->rec[i];

		if ((j = fv_state_to_json(&sr->st, sr->rid, sr->created_by)) ==
			NULL ||
		    json_array_append_new(arr, j))
			rc = FV_ENOMEM;
	}
	fv_store_scan_recycle(sc, b);
	return rc;
}

int
fv_json_list(struct fv_store *s, const struct fv_filter *f, const char *query,
    json_t **out)
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
		rc = list_batch(s, sc, 512, arr, &done);
	fv_store_scan_free(sc);
	if (rc != 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int
fv_json_record(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], json_t **out)
{
	struct fv_state st;
	char name[FV_NAME_MAX + 1];
	int rc;

	*out = NULL;
	if ((rc = fv_store_record(s, t, rid, &st, name)) != 0)
		return rc;
	if ((*out = fv_state_to_json(&st, rid, name)) == NULL)
		rc = FV_ENOMEM;
	fv_state_free(&st);
	return rc;
}

static int
device_json(void *arg, const struct fv_device *d)
{
	char hex[2 * FV_ID_BYTES + 1], pk[65];
	json_t *j;

	fv_op_id_hex(d->id, hex);
	sodium_bin2hex(pk, sizeof(pk), d->sign_pk, 32);
	j = json_pack("{s:s, s:s, s:s, s:s}", "id", hex, "name", d->name,
	    "role", d->role, "public_key", pk);
	if (j != NULL && !d->bare &&
	    (json_object_set_new(j, "group", json_string(d->group)) ||
		json_object_set_new(j, "revoked", json_boolean(d->revoked)))) {
		json_decref(j);
		j = NULL;
	}
	if (j == NULL || json_array_append_new(arg, j))
		return FV_ENOMEM;
	return 0;
}

int
fv_json_devices(struct fv_store *s, json_t **out)
{
	json_t *arr;
	int rc;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return FV_ENOMEM;
	if ((rc = fv_store_devices(s, device_json, arr)) != 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}
