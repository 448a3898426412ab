/*
 * fuzz_record.c - the path a record body takes before it is stored
 * (record.h, patch.h, state.h, op.h), without the store.
 *
 * An input is JSON text.  If it is a valid appeal or note, it must survive
 * the way into the store and back out unchanged: read-only fields
 * stripped, defaults, leaves, the put op (encoded and decoded again), the
 * state that op makes (encoded and decoded again), and the record a client
 * reads back, which must equal the body that went in.  The state read as
 * a view (an export's way) must have the same leaves, and the record as a
 * plugin sees it (sdk/lib/record.c) must write back the record the client
 * reads, confidential applicants redacted.  Whatever it is, it
 * is also applied as a merge patch to a fixed stored appeal, as
 * fv_store_update does: the result must be what RFC 7396 says and share
 * nothing with its arguments, and if it is valid, the diff op and the new
 * state must give back exactly the patched record.
 *
 * A broken invariant abort()s with the reason: that is a bug in the core,
 * not a bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "fuzz.h"
#include "fv_error.h"
#include "op.h"
#include "patch.h"
#include "record.h"
#include "sdkimpl.h"
#include "state.h"

#define NOW_MS 1764000000000LL /* 2025-11-24T16:00:00Z */
#define HLC1   ((uint64_t)NOW_MS << 16)
#define HLC2   (HLC1 + (5000 << 16) + 3) /* 5 s later */

static const uint8_t AUTHOR[FV_ID_BYTES] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
	0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0 };
static const uint8_t RID[FV_ID_BYTES] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
	0x77, 0x88, 0x99, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

/* The stored appeal every input is applied to as a patch. */
static const char TARGET[] =
    "{\"applicant\": {\"full_name\": \"Dilnoza Yusupova\","
    " \"birth_date\": \"1987-03-14\", \"citizenship\": \"UZ\","
    " \"location\": \"Toshkent, Yunusobod tumani\","
    " \"x_passport\": {\"series\": \"AB\", \"n\": 1234567}},"
    " \"concerns_country\": \"RU\", \"category\": \"migration_status\","
    " \"channel\": \"letter\", \"summary\": \"Задержан в аэропорту,"
    " документы изъяты. Oʻgʻli bilan aloqa yoʻq.\","
    " \"status\": \"under_review\", \"assigned_to\": \"team-1\","
    " \"tags\": [\"migrant\", \"2026-Q4\"], \"x_source\": {\"batch\": 7}}";

static json_t *target;		/* TARGET, valid, with defaults */
static struct fv_buf target_st; /* its encoded state */

/* --- helpers ------------------------------------------------------------ */

/* A record as the body it came from: what the daemon adds taken out,
 * and an applicant or visit left empty dropped (it has no leaves, so it
 * cannot come back).  o is modified. */
static void
as_body(json_t *o)
{
	static const char *split[] = { "applicant", "visit" };
	json_t *sub;
	size_t i;

	fv_record_strip_readonly(o);
	for (i = 0; i < sizeof(split) / sizeof(split[0]); i++)
		if (json_is_object(sub = json_object_get(o, split[i])) &&
		    json_object_size(sub) == 0)
			json_object_del(o, split[i]);
}

/* 1 if o has the string member k equal to want. */
static int
str_is(const json_t *o, const char *k, const char *want)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL && strcmp(s, want) == 0;
}

/* 1 if every value in v is owned by v alone (refcount 1); jansson's
 * true, false and null are shared constants. */
static int
owned(const json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_true(v) || json_is_false(v) || json_is_null(v))
		return 1;
	if (v->refcount != 1)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (!owned(m))
				return 0;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
			if (!owned(m))
				return 0;
	}
	return 1;
}

/* RFC 7396: r is MergePatch(t, p).  t may be NULL (absent). */
static int
merged(const json_t *t, const json_t *p, const json_t *r)
{
	const char *k;
	json_t *v;

	if (!json_is_object(p))
		return json_equal(p, r);
	if (!json_is_object(r))
		return 0;
	if (!json_is_object(t))
		t = NULL;
	json_object_foreach((json_t *)p, k, v) {
		json_t *rv = json_object_get(r, k);

		if (json_is_null(v)) {
			if (rv != NULL)
				return 0;
		} else if (rv == NULL ||
		    !merged(t ? json_object_get(t, k) : NULL, v, rv))
			return 0;
	}
	/* what the patch does not name is kept, and nothing else appears */
	json_object_foreach((json_t *)r, k, v)
		if (json_object_get(p, k) == NULL &&
		    (t == NULL || !json_equal(json_object_get(t, k), v)))
			return 0;
	if (t != NULL)
		json_object_foreach((json_t *)t, k, v)
			if (json_object_get(p, k) == NULL &&
			    json_object_get(r, k) == NULL)
				return 0;
	return 1;
}

static void
op_init(struct fv_op *op, enum fv_rtype t, uint64_t seq, uint64_t hlc)
{
	memset(op, 0, sizeof(*op));
	op->kind = FV_OP_PUT;
	op->rtype = (uint8_t)t;
	memcpy(op->author, AUTHOR, FV_ID_BYTES);
	op->seq = seq;
	op->hlc = hlc;
	memcpy(op->rid, RID, FV_ID_BYTES);
}

/* op must encode, and decode (with a dummy signature) to the same op. */
static void
op_roundtrip(const struct fv_op *op)
{
	struct fv_buf b = { 0 };
	struct fv_op back;
	uint32_t i;

	CHECK(fv_op_encode(op, &b) == 0);
	CHECK(fv_buf_reserve(&b, FV_SIG_BYTES) == 0);
	memset(b.p + b.len, 0, FV_SIG_BYTES);
	b.len += FV_SIG_BYTES;
	CHECK(fv_op_decode(b.p, b.len, &back) == 0);
	CHECK(back.kind == op->kind && back.rtype == op->rtype &&
	    back.seq == op->seq && back.hlc == op->hlc &&
	    back.nfields == op->nfields);
	for (i = 0; i < op->nfields; i++) {
		const struct fv_leaf *a = &op->fields[i], *z = &back.fields[i];

		CHECK(a->pathlen == z->pathlen &&
		    memcmp(a->path, z->path, a->pathlen) == 0);
		CHECK((a->val == NULL) == (z->val == NULL) &&
		    (a->val == NULL ||
			(a->vallen == z->vallen &&
			    memcmp(a->val, z->val, a->vallen) == 0)));
		CHECK(a->has_prev == z->has_prev &&
		    (!a->has_prev ||
			(a->prev_hlc == z->prev_hlc &&
			    memcmp(a->prev_author, z->prev_author,
				FV_ID_BYTES) == 0)));
	}
	free(back.fields);
	fv_buf_free(&b);
}

/* The encoded state read as a view must be the state decoded. */
static void
view_is(const struct fv_buf *enc, const struct fv_state *want)
{
	struct fv_arena a = { 0 };
	struct fv_state v;
	uint32_t i;

	CHECK(fv_state_view(enc->p, enc->len, &v, &a) == 0);
	CHECK(v.rtype == want->rtype && v.flags == want->flags &&
	    v.created_hlc == want->created_hlc &&
	    v.updated_hlc == want->updated_hlc && v.nops == want->nops &&
	    v.leaves.n == want->leaves.n);
	CHECK(memcmp(v.oprefs, want->oprefs, (size_t)v.nops * FV_OPREF_BYTES) ==
	    0);
	for (i = 0; i < v.leaves.n; i++) {
		const struct fv_leaf *x = &v.leaves.v[i],
				     *y = &want->leaves.v[i];

		CHECK(x->pathlen == y->pathlen &&
		    memcmp(x->path, y->path, x->pathlen) == 0);
		CHECK((x->val == NULL) == (y->val == NULL));
		CHECK(x->val == NULL ||
		    (x->vallen == y->vallen &&
			memcmp(x->val, y->val, x->vallen) == 0));
	}
	fv_buf_arena_free(&a);
}

/* rec as a plugin gets it: written back whole, it must be rec, with
 * only citizenship, residence_country and confidential left of a
 * confidential applicant. */
static void
plugin_sees(const json_t *rec)
{
	static const char *keep[] = { "citizenship", "residence_country",
		"confidential" };
	struct fv_record r;
	json_t *want = json_deep_copy(rec), *a, *back, *v;
	const char *k, *text;
	void *tmp;
	size_t i, len;
	int kept;

	CHECK(want != NULL);
	a = json_object_get(want, "applicant");
	if (json_is_true(json_object_get(a, "confidential")))
		json_object_foreach_safe(a, tmp, k, v) {
			for (i = 0, kept = 0; i < 3; i++)
				kept |= strcmp(k, keep[i]) == 0;
			if (!kept)
				json_object_del(a, k);
		}
	memset(&r, 0, sizeof(r));
	CHECK(fv_sdk_record_from_json(&r, rec) == 0);
	CHECK((text = fv_record_get_json(&r, "", &len)) != NULL);
	CHECK((back = json_loadb(text, len, 0, NULL)) != NULL);
	CHECK(json_equal(back, want));
	json_object_foreach(back, k, v)
		if (json_is_string(v))
			CHECK(strcmp(fv_record_get(&r, k),
				  json_string_value(v)) == 0);
	json_decref(back);
	json_decref(want);
	fv_sdk_record_free(&r);
}

/* st must encode and decode to a state that encodes the same. */
static void
state_roundtrip(const struct fv_state *st, struct fv_buf *out)
{
	struct fv_state back;
	struct fv_buf b2 = { 0 };

	CHECK(fv_state_encode(st, out) == 0);
	CHECK(fv_state_decode(out->p, out->len, &back) == 0);
	CHECK(fv_state_encode(&back, &b2) == 0);
	CHECK(b2.len == out->len && memcmp(b2.p, out->p, b2.len) == 0);
	view_is(out, &back);
	fv_state_free(&back);
	fv_buf_free(&b2);
}

/* The record st gives a client, as a body: must equal want. */
static void
state_is(const struct fv_state *st, enum fv_rtype t, const json_t *want)
{
	json_t *rec, *w;
	char hex[2 * FV_ID_BYTES + 1];

	CHECK((rec = fv_state_to_json(st, RID, "fuzz")) != NULL);
	fv_op_id_hex(RID, hex);
	CHECK(str_is(rec, "id", hex));
	CHECK(str_is(rec, "type", fv_record_type_name(t)));
	CHECK(str_is(rec, "created_by", "fuzz"));
	CHECK(json_object_get(rec, "conflict") == NULL);
	CHECK(fv_record_check(rec, t, NULL) == 0);
	plugin_sees(rec);
	as_body(rec);
	CHECK((w = json_deep_copy(want)) != NULL);
	as_body(w);
	CHECK(json_equal(rec, w));
	json_decref(rec);
	json_decref(w);
}

/* Creates what the store would from a valid body (strip and defaults
 * done): the state of its first op, encoded into *enc if not NULL. */
static void
create(const json_t *body, enum fv_rtype t, struct fv_buf *enc)
{
	struct fv_leaves lv;
	struct fv_verr e;
	struct fv_state st;
	struct fv_op op;
	struct fv_buf b = { 0 };
	int conflict;

	CHECK(fv_state_leaves_from_json(body, HLC1, AUTHOR, &lv, &e) == 0);
	CHECK(lv.n > 0);
	op_init(&op, t, 1, HLC1);
	op.fields = lv.v;
	op.nfields = lv.n;
	op_roundtrip(&op);
	memset(&st, 0, sizeof(st));
	CHECK(fv_state_apply(&st, &op, &conflict) == 0 && !conflict);
	state_roundtrip(&st, enc != NULL ? enc : &b);
	state_is(&st, t, body);
	fv_state_free(&st);
	fv_state_leaves_free(&lv);
	fv_buf_free(&b);
}

/* --- the two paths ------------------------------------------------------ */

static void
new_record(const json_t *j, enum fv_rtype t)
{
	struct fv_verr e;
	json_t *body;
	int rc;

	memset(&e, 0xff, sizeof(e));
	rc = fv_record_check(j, t, &e);
	CHECK(memchr(e.field, '\0', sizeof(e.field)) != NULL &&
	    memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
	if (rc != 0) {
		/* e.field may be "": a member named "" is named so */
		CHECK(rc == FV_EINVAL && e.msg[0] != '\0');
		return;
	}
	CHECK((body = json_deep_copy(j)) != NULL);
	fv_record_strip_readonly(body);
	CHECK(fv_record_defaults(body, t, NOW_MS) == 0);
	CHECK(fv_record_check(body, t, &e) == 0);
	create(body, t, NULL);
	json_decref(body);
}

/* fv_store_update on TARGET, in memory. */
static void
update(const json_t *patch)
{
	struct fv_state st;
	struct fv_leaves lv;
	struct fv_verr e;
	struct fv_op op;
	struct fv_buf b = { 0 };
	json_t *cur, *next, *pcopy, *ccopy;
	int conflict;

	CHECK(fv_state_decode(target_st.p, target_st.len, &st) == 0);
	CHECK((cur = fv_state_to_json(&st, RID, "")) != NULL);
	CHECK((pcopy = json_deep_copy(patch)) != NULL);
	CHECK((ccopy = json_deep_copy(cur)) != NULL);
	CHECK((next = fv_patch_apply(cur, patch)) != NULL);
	CHECK(merged(cur, patch, next));
	CHECK(owned(next));
	/* neither argument changed */
	CHECK(json_equal(cur, ccopy) && json_equal(patch, pcopy));
	json_decref(ccopy);
	json_decref(pcopy);

	if (fv_record_check(next, FV_RTYPE_APPEAL, &e) != 0)
		goto out;
	fv_record_strip_readonly(next);
	CHECK(fv_state_leaves_from_json(next, 0, AUTHOR, &lv, &e) == 0);
	CHECK(fv_state_diff(&st, &lv, &op) == 0);
	if (op.nfields == 0) {
		/* nothing changed: the patched record is the stored one */
		state_is(&st, FV_RTYPE_APPEAL, next);
	} else {
		struct fv_leaf *fields = op.fields;
		uint32_t n = op.nfields;

		op_init(&op, FV_RTYPE_APPEAL, 2, HLC2);
		op.fields = fields;
		op.nfields = n;
		op_roundtrip(&op);
		/* every field names the version it overwrote: no conflict */
		CHECK(fv_state_apply(&st, &op, &conflict) == 0 && !conflict);
		CHECK(st.nops == 2 && st.updated_hlc == HLC2 &&
		    st.created_hlc == HLC1);
		state_roundtrip(&st, &b);
		state_is(&st, FV_RTYPE_APPEAL, next);
	}
	free(op.fields);
	fv_state_leaves_free(&lv);
out:
	json_decref(cur);
	json_decref(next);
	fv_state_free(&st);
	fv_buf_free(&b);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fv_verr e;

	if (sodium_init() < 0)
		abort();
	json_object_seed(0x5eed); /* the same iteration order each run */
	CHECK((target = json_loads(TARGET, JSON_REJECT_DUPLICATES, NULL)) !=
	    NULL);
	CHECK(fv_record_check(target, FV_RTYPE_APPEAL, &e) == 0);
	fv_record_strip_readonly(target);
	CHECK(fv_record_defaults(target, FV_RTYPE_APPEAL, NOW_MS) == 0);
	create(target, FV_RTYPE_APPEAL, &target_st);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;

	/* any JSON text, not only objects: the checks must refuse the rest */
	if ((j = json_loadb((const char *)data, size,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL)) == NULL)
		return 0;
	new_record(j, FV_RTYPE_APPEAL);
	new_record(j, FV_RTYPE_NOTE);
	update(j);
	json_decref(j);
	return 0;
}
