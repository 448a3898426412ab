/*
 * store_sync.c - ops from elsewhere (sync, bundles), and the devices table.
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

#include "bundle.h"
#include "fold.h"
#include "frame.h"
#include "fv_error.h"
#include "par.h"
#include "patch.h"
#include "secmem.h"
#include "state.h"
#include "store_int.h"

/* The enrolled device that signed: its Ed25519 key, unless revoked. */
static int
author_key(struct fv_store *s, const uint8_t *id, uint8_t pk[32])
{
	MDB_val k = { FV_ID_BYTES, (void *)id }, v;
	const char *hex;
	json_t *j;
	int rc = FV_EUNKNOWN;

	if (s->ak_valid && memcmp(s->ak_id, id, FV_ID_BYTES) == 0) {
		memcpy(pk, s->ak_pk, 32);
		return 0;
	}
	if (mdb_get(s->txn, s->db_devs, &k, &v) != 0)
		return FV_EUNKNOWN;
	if ((j = json_loadb(v.mv_data, v.mv_size, 0, NULL)) == NULL)
		return FV_ECORRUPT;
	hex = json_string_value(json_object_get(j, "public_key"));
	if (!json_is_true(json_object_get(j, "revoked")) && hex != NULL &&
	    sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, NULL, NULL) == 0) {
		rc = 0;
		memcpy(s->ak_id, id, FV_ID_BYTES);
		memcpy(s->ak_pk, pk, 32);
		s->ak_valid = 1;
	}
	json_decref(j);
	return rc;
}

/* The signed op stored under ref (author || seq), opened into pt; with st,
 * the state of its record too (freed by the caller).  FV_ENOTFOUND when
 * there is no such op (never stored, or shredded). */
static int
load_signed(struct fv_store *s, MDB_txn *txn, const uint8_t *ref,
    struct fv_buf *pt, struct fv_state *st)
{
	MDB_val k = { OPKEY_BYTES, (void *)ref }, v;
	uint8_t tag[TAG_BYTES], rid[FV_ID_BYTES];
	struct fv_op dec;
	int rc, class;

	if ((rc = mdb_get(txn, s->db_ops, &k, &v)) != 0)
		return fv_store_mdb_err(rc);
	if (v.mv_size < 1 + TAG_BYTES)
		return FV_ECORRUPT;
	memcpy(tag, (const uint8_t *)v.mv_data + 1, TAG_BYTES);
	/* the record's row holds the key the op is sealed with: without st,
	 * only the key is read (sending ops up opens nothing else) */
	if (st == NULL) {
		MDB_val rk = { TAG_BYTES, tag }, rv;

		if ((rc = mdb_get(txn, s->db_recs, &rk, &rv)) != 0)
			return fv_store_mdb_err(rc);
		class = rv.mv_size >= 1 ? ((const uint8_t *)rv.mv_data)[0] : -1;
		if (class == CLASS_PURGED)
			return FV_ENOTFOUND;
		if (class == CLASS_RECORD && rv.mv_size >= 5)
			rc = fv_store_rkey_load(s,
			    fv_buf_get_u32((const uint8_t *)rv.mv_data + 1),
			    tag);
		else if (class != CLASS_LOG)
			rc = FV_ECORRUPT;
		if (rc != 0)
			return rc;
	} else if ((rc = fv_store_load_tag(s, txn, tag, rid, st, &class)) != 0)
		return rc;
	if ((rc = fv_store_load_op(s, txn, ref, tag, pt, &dec)) == 0)
		free(dec.fields);
	else if (st != NULL)
		fv_state_free(st);
	return rc;
}

/* An op with this author and seq is stored: the same bytes (0), or a fork
 * (FV_EFORK).  FV_ENOTFOUND if there is none. */
static int
same_as_stored(struct fv_store *s, const struct fv_op *hdr, const uint8_t *op,
    size_t len)
{
	uint8_t ref[OPKEY_BYTES];
	struct fv_buf pt = { 0 };
	int rc;

	fv_store_opkey(ref, hdr->author, hdr->seq);
	if ((rc = load_signed(s, s->txn, ref, &pt, NULL)) == 0)
		rc = pt.len == len && sodium_memcmp(pt.p, op, len) == 0 ?
		    0 :
		    FV_EFORK;
	fv_buf_free(&pt);
	return rc;
}

/* Does op assign its record to this device's group (as the last receipt
 * named it)?  Then a record purged here is wanted again. */
static int
assigns_here(struct fv_store *s, const struct fv_op *op)
{
	char group[FV_NAME_MAX + 1], want[FV_NAME_MAX + 3];
	uint32_t i;

	if (fv_store_setting_get(s, "group", group, sizeof(group)) != 0 ||
	    group[0] == '\0')
		return 0;
	snprintf(want, sizeof(want), "\"%s\"", group);
	for (i = 0; i < op->nfields; i++)
		if (op->fields[i].pathlen == 11 &&
		    memcmp(op->fields[i].path, "assigned_to", 11) == 0)
			return op->fields[i].val != NULL &&
			    op->fields[i].vallen == strlen(want) &&
			    memcmp(op->fields[i].val, want,
				op->fields[i].vallen) == 0;
	return 0;
}

int
fv_store_apply(struct fv_store *s, const uint8_t *op, size_t len, int *applied)
{
	return fv_store_apply_checked(s, op, len, NULL, applied);
}

int
fv_store_apply_checked(struct fv_store *s, const uint8_t *op, size_t len,
    const uint8_t *checked_pk, int *applied)
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
	/* the signature, unless it was checked under this very key */
	if ((rc = author_key(s, hdr.author, pk)) != 0 ||
	    ((checked_pk == NULL || sodium_memcmp(checked_pk, pk, 32) != 0) &&
		(rc = fv_op_verify(op, len, pk)) != 0))
		goto out;
	/* a clock far ahead of ours would win every merge for ever */
	if (FV_HLC_MS(hdr.hlc) > fv_hlc_now_ms() + FV_SKEW_MAX_MS) {
		rc = FV_ECLOCK;
		goto out;
	}
	if ((rc = same_as_stored(s, &hdr, op, len)) != FV_ENOTFOUND)
		goto out; /* 0: seen already; or a fork */
	if (hdr.hlc > s->t_clock.last)
		s->t_clock.last = hdr.hlc; /* our next edit comes after */
	fv_store_tag_of(s, hdr.rid, tag);
	rc = fv_store_load_tag(s, s->txn, tag, rid, &st, &class);
	if (rc == FV_ENOTFOUND && class == CLASS_PURGED &&
	    !assigns_here(s, &hdr)) {
		rc = 0; /* purged: HQ has it, and we need it not */
		goto out;
	}
	if (rc == FV_ENOTFOUND) {
		/* new here, or purged and now assigned to our group: HQ
		 * sends the record's every op after this one */
		memset(&st, 0, sizeof(st));
		class = -1;
		rc = 0;
	} else if (rc == 0 && memcmp(rid, hdr.rid, FV_ID_BYTES) != 0)
		rc = FV_ECORRUPT;
	if (rc != 0)
		goto out;
	if (class == CLASS_LOG) {
		fv_state_free(&st); /* deleted: a delete wins over all */
		goto out;
	}
	if (hdr.kind == FV_OP_DELETE) {
		if ((class == CLASS_RECORD &&
			(rc = fv_store_shred(s, &st, s->cur_slot)) != 0) ||
		    (rc = fv_store_put_signed(s, op, len, &hdr, CLASS_LOG,
			 tag)) ||
		    (rc = fv_state_apply(&st, &hdr, &conflict)) ||
		    (rc = fv_store_put_state(s, tag, hdr.rid, &st,
			 CLASS_LOG)) ||
		    (rc = fv_store_pend_push(s, hdr.rid, NULL)))
			goto state;
	} else {
		if ((class < 0 && (rc = fv_store_rkey_new(s, tag)) != 0) ||
		    (rc = fv_store_put_signed(s, op, len, &hdr, CLASS_RECORD,
			 tag)) ||
		    (rc = fv_state_apply(&st, &hdr, &conflict)) ||
		    (rc = fv_store_save_live(s, tag, hdr.rid, &st)) ||
		    (rc = fv_store_relog(s, &st, &hdr)))
			goto state;
	}
	*applied = 1;
	s->t_applied++;
state:
	fv_state_free(&st);
out:
	free(hdr.fields);
	return fv_store_poison(s, rc);
}

int
fv_store_ops_since(struct fv_store *s, const uint8_t author[FV_ID_BYTES],
    uint64_t after, size_t max,
    int (*cb)(void *, const uint8_t *, size_t, uint64_t), void *arg)
{
	uint8_t from[OPKEY_BYTES];
	MDB_val k = { OPKEY_BYTES, from }, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	struct fv_buf pt = { 0 };
	size_t n = 0;
	int rc, op = MDB_SET_RANGE;

	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	fv_store_opkey(from, author, after + 1);
	if ((rc = fv_store_mdb_err(mdb_cursor_open(txn, s->db_ops, &cur))) != 0)
		goto out;
	while (n < max && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		const uint8_t *key = k.mv_data;

		op = MDB_NEXT;
		if (k.mv_size != OPKEY_BYTES ||
		    memcmp(key, author, FV_ID_BYTES) != 0)
			break;
		if ((rc = load_signed(s, txn, key, &pt, NULL)) != 0)
			break;
		n++;
		if ((rc = cb(arg, pt.p, pt.len,
			 fv_buf_get_u64(key + FV_ID_BYTES))) != 0)
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = fv_store_mdb_err(rc);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	fv_buf_free(&pt);
	fv_store_read_end(s, txn);
	if (s->txn == NULL)
		fv_store_drop_mapped(s, n); /* pages read: not ours */
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
	s->ak_valid = 0;
	sodium_bin2hex(pk, sizeof(pk), d->sign_pk, 32);
	snprintf(group, sizeof(group), "%s", d->group);
	j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", d->name, "role",
	    d->role, "public_key", pk, "group", group, "revoked", d->revoked);
	if (j == NULL ||
	    (txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(j);
		return FV_ENOMEM;
	}
	json_decref(j);
	v.mv_size = strlen(txt);
	v.mv_data = txt;
	rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_devs, &k, &v, 0));
	fv_buf_json_free(txt);
	return fv_store_poison(s, rc);
}

/* A row of the devices table into d; FV_ECORRUPT if it is not one. */
static int
device_decode(const MDB_val *k, const MDB_val *v, struct fv_device *d)
{
	json_t *j;
	const char *pk;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (k->mv_size != FV_ID_BYTES ||
	    (j = json_loadb(v->mv_data, v->mv_size, 0, NULL)) == NULL)
		return FV_ECORRUPT;
	if ((pk = json_string_value(json_object_get(j, "public_key"))) ==
		NULL ||
	    sodium_hex2bin(d->sign_pk, 32, pk, strlen(pk), NULL, NULL, NULL) !=
		0)
		rc = FV_ECORRUPT;
	else {
		memcpy(d->id, k->mv_data, FV_ID_BYTES);
		snprintf(d->name, sizeof(d->name), "%s",
		    json_string_value(json_object_get(j, "name")) ?: "");
		snprintf(d->role, sizeof(d->role), "%s",
		    json_string_value(json_object_get(j, "role")) ?: "");
		snprintf(d->group, sizeof(d->group), "%s",
		    json_string_value(json_object_get(j, "group")) ?: "");
		d->revoked = json_is_true(json_object_get(j, "revoked"));
		d->bare = json_object_get(j, "group") == NULL;
	}
	json_decref(j);
	return rc;
}

int
fv_store_device_get(struct fv_store *s, const uint8_t id[FV_ID_BYTES],
    struct fv_device *d)
{
	MDB_val k = { FV_ID_BYTES, (void *)id }, v;
	MDB_txn *txn;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = mdb_get(txn, s->db_devs, &k, &v)) != 0)
		rc = fv_store_mdb_err(rc);
	else
		rc = device_decode(&k, &v, d);
	fv_store_read_end(s, txn);
	return rc;
}

int
fv_store_noise_keys(struct fv_store *s, uint8_t *sk, uint8_t pk[32])
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	/* one identity: the Noise static is the signing key's X25519 form */
	if (crypto_sign_ed25519_sk_to_curve25519(sk, K_SK(s)) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(pk, s->info.sign_pk) != 0)
		return FV_ECRYPTO;
	return 0;
}

int
fv_store_exchange_keys(struct fv_store *s, uint8_t *ed_sk, uint8_t *x_sk)
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	memcpy(ed_sk, K_SK(s), crypto_sign_SECRETKEYBYTES);
	return crypto_sign_ed25519_sk_to_curve25519(x_sk, K_SK(s)) == 0 ?
	    0 :
	    FV_ECRYPTO;
}

int
fv_store_x25519_of(const uint8_t sign_pk[32], uint8_t pk[32])
{
	return crypto_sign_ed25519_pk_to_curve25519(pk, sign_pk) == 0 ?
	    0 :
	    FV_EINVAL;
}

int
fv_store_have_seq(struct fv_store *s, const uint8_t author[FV_ID_BYTES],
    uint64_t *seq)
{
	uint8_t k0[OPKEY_BYTES];
	MDB_val k = { OPKEY_BYTES, k0 }, v;
	MDB_cursor *cur;
	MDB_txn *txn;
	int rc;

	*seq = 0;
	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	fv_store_opkey(k0, author, UINT64_MAX);
	if ((rc = fv_store_mdb_err(mdb_cursor_open(txn, s->db_ops, &cur))) ==
	    0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && memcmp(k.mv_data, k0, OPKEY_BYTES) != 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (rc == 0 && k.mv_size == OPKEY_BYTES &&
		    memcmp(k.mv_data, author, FV_ID_BYTES) == 0)
			*seq = fv_buf_get_u64((const uint8_t *)k.mv_data +
			    FV_ID_BYTES);
		rc = rc == MDB_NOTFOUND ? 0 : fv_store_mdb_err(rc);
		mdb_cursor_close(cur);
	}
	fv_store_read_end(s, txn);
	return rc;
}

int
fv_store_set_acked(struct fv_store *s, uint64_t up_to, int64_t when_ms)
{
	uint8_t v[16];
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	if (up_to < s->t_acked)
		up_to = s->t_acked; /* acknowledgements only grow */
	fv_buf_put_u64(v, up_to);
	fv_buf_put_u64(v + 8, (uint64_t)when_ms);
	s->t_dirty = 1;
	if ((rc = fv_store_meta_put(s, s->txn, "acked", v, sizeof(v))) == 0) {
		s->t_acked = up_to;
		s->t_last_sync = when_ms;
	}
	return fv_store_poison(s, rc);
}

int64_t
fv_store_last_sync(const struct fv_store *s)
{
	return s->last_sync;
}

int
fv_store_token_put(struct fv_store *s, const uint8_t id[16], const json_t *t)
{
	MDB_val k = { 16, (void *)id }, v;
	char *txt;
	int rc;

	if (s->txn == NULL)
		return FV_EBUSY;
	if ((txt = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return FV_ENOMEM;
	v.mv_size = strlen(txt);
	v.mv_data = txt;
	rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_tokens, &k, &v, 0));
	fv_buf_json_free(txt);
	return fv_store_poison(s, rc);
}

int
fv_store_token_get(struct fv_store *s, const uint8_t id[16], json_t **out)
{
	MDB_val k = { 16, (void *)id }, v;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = mdb_get(txn, s->db_tokens, &k, &v)) != 0)
		rc = fv_store_mdb_err(rc);
	else if ((*out = json_loadb(v.mv_data, v.mv_size, 0, NULL)) == NULL)
		rc = FV_ECORRUPT;
	fv_store_read_end(s, txn);
	return rc;
}

int
fv_store_devices(struct fv_store *s, fv_store_device_cb cb, void *arg)
{
	struct fv_device d;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, stop = 0;

	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = fv_store_mdb_err(mdb_cursor_open(txn, s->db_devs, &cur))) ==
	    0) {
		while (stop == 0 &&
		    (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
			if (device_decode(&k, &v, &d) == 0)
				stop = cb(arg, &d);
		rc = stop != 0	       ? stop :
		    rc == MDB_NOTFOUND ? 0 :
					 fv_store_mdb_err(rc);
		mdb_cursor_close(cur);
	}
	fv_store_read_end(s, txn);
	return rc;
}

int
fv_store_setting_put(struct fv_store *s, const char *key, const char *val)
{
	char k[64];

	if (s->txn == NULL)
		return FV_EBUSY;
	if ((size_t)snprintf(k, sizeof(k), "set.%s", key) >= sizeof(k) ||
	    strlen(val) > 1024)
		return FV_EINVAL;
	s->t_dirty = 1;
	return fv_store_poison(s,
	    fv_store_meta_put(s, s->txn, k, val, strlen(val)));
}

int
fv_store_setting_get(struct fv_store *s, const char *key, char *out, size_t len)
{
	char k[64];
	MDB_val kv, v;
	MDB_txn *txn;
	int rc;

	out[0] = '\0';
	if ((size_t)snprintf(k, sizeof(k), "set.%s", key) >= sizeof(k))
		return FV_EINVAL;
	kv.mv_size = strlen(k);
	kv.mv_data = k;
	if (s->txn != NULL)
		txn = s->txn;
	else if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fv_store_mdb_err(rc);
	if ((rc = mdb_get(txn, s->db_meta, &kv, &v)) != 0)
		rc = fv_store_mdb_err(rc);
	else if (v.mv_size >= len)
		rc = FV_ETOOBIG;
	else {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
	}
	if (txn != s->txn)
		mdb_txn_abort(txn);
	return rc;
}

uint64_t
fv_store_stats_acked(const struct fv_store *s)
{
	return s->acked;
}

int
fv_store_arrivals_since(struct fv_store *s, uint64_t after, size_t max,
    const uint8_t *skip,
    int (*cb)(void *, uint64_t, const uint8_t *, size_t,
	const struct fv_state *, int),
    void *arg, uint64_t *last)
{
	uint8_t from[8];
	MDB_val k = { 8, from }, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	struct fv_buf pt = { 0 };
	size_t n = 0, skipped = 0;
	int rc, op = MDB_SET_RANGE;

	*last = after;
	if ((rc = fv_store_read_begin(s, &txn)) != 0)
		return rc;
	fv_buf_put_u64(from, after + 1);
	if ((rc = fv_store_mdb_err(mdb_cursor_open(txn, s->db_arrivals, &cur))))
		goto out;
	while (n < max && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		uint8_t ref[OPKEY_BYTES];
		struct fv_state st;
		int again;

		op = MDB_NEXT;
		if (k.mv_size != 8 ||
		    (v.mv_size != OPKEY_BYTES &&
			v.mv_size != OPKEY_BYTES + 1)) {
			rc = FV_ECORRUPT;
			break;
		}
		again = v.mv_size > OPKEY_BYTES;
		*last = fv_buf_get_u64(k.mv_data);
		/* the device's own ops go back to it only when logged again:
		 * passed over without reading them (a cheaper step: 64 of
		 * them count as one) */
		if (skip != NULL && !again &&
		    memcmp(v.mv_data, skip, FV_ID_BYTES) == 0) {
			if (++skipped % 64 == 0)
				n++;
			continue;
		}
		n++;
		memcpy(ref, v.mv_data, OPKEY_BYTES);
		if ((rc = load_signed(s, txn, ref, &pt, &st)) == FV_ENOTFOUND) {
			rc = 0; /* shredded since: nothing to send */
			continue;
		}
		if (rc != 0)
			break;
		rc = cb(arg, *last, pt.p, pt.len, &st, again);
		fv_state_free(&st);
		if (rc != 0)
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = fv_store_mdb_err(rc);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	fv_buf_free(&pt);
	fv_store_read_end(s, txn);
	if (s->txn == NULL)
		fv_store_drop_mapped(s, n); /* pages read: not ours */
	return rc;
}

int
fv_store_sign_receipt(struct fv_store *s, const uint8_t dev[FV_ID_BYTES],
    uint64_t up_to, uint64_t hlc, const char *group, uint8_t sig[64])
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	fv_frame_receipt_sign(sig, dev, up_to, hlc, group, K_SK(s));
	return 0;
}

/* Is the live record st (an appeal, or a note) assigned to group?  A
 * note goes with its appeal. */
static int
assigned_to(struct fv_store *s, const struct fv_state *st, const char *group)
{
	const struct fv_leaf *f;
	char want[FV_NAME_MAX + 3], hex[2 * FV_ID_BYTES + 1];
	uint8_t aid[FV_ID_BYTES];
	struct fv_state ap;
	int in;

	if (group[0] == '\0')
		return 0;
	snprintf(want, sizeof(want), "\"%s\"", group);
	if (st->rtype == FV_RTYPE_APPEAL)
		return (f = fv_state_leaves_get(&st->leaves, "assigned_to")) !=
		    NULL &&
		    f->val != NULL && f->vallen == strlen(want) &&
		    memcmp(f->val, want, f->vallen) == 0;
	if ((f = fv_state_leaves_get(&st->leaves, "appeal_id")) == NULL ||
	    f->val == NULL || f->vallen != 2 * FV_ID_BYTES + 2)
		return 0;
	memcpy(hex, f->val + 1, 2 * FV_ID_BYTES);
	hex[2 * FV_ID_BYTES] = '\0';
	if (fv_op_id_parse(hex, aid) != 0 ||
	    fv_store_load_live(s, s->txn, aid, FV_RTYPE_APPEAL, &ap) != 0)
		return 0;
	in = assigned_to(s, &ap, group);
	fv_state_free(&ap);
	return in;
}

int
fv_store_purge(struct fv_store *s, uint64_t up_to, const char *group,
    size_t *purged, size_t *kept)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t *tags = NULL, *t, rid[FV_ID_BYTES], purged_row = CLASS_PURGED;
	size_t n = 0, cap = 0, i;
	int rc;

	*purged = *kept = 0;
	if (s->txn == NULL)
		return FV_EBUSY;
	if (strlen(group) > FV_NAME_MAX)
		return FV_EINVAL;
	/* the live records first: the loop below rewrites rows */
	if ((rc = fv_store_mdb_err(mdb_cursor_open(s->txn, s->db_recs,
		 &cur))) != 0)
		return fv_store_poison(s, rc);
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (k.mv_size != TAG_BYTES || v.mv_size < 1 ||
		    ((uint8_t *)v.mv_data)[0] != CLASS_RECORD)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((t = realloc(tags, cap * TAG_BYTES)) == NULL) {
				rc = FV_ENOMEM;
				break;
			}
			tags = t;
		}
		memcpy(tags + n++ * TAG_BYTES, k.mv_data, TAG_BYTES);
	}
	mdb_cursor_close(cur);
	rc = rc == MDB_NOTFOUND ? 0 : rc > 0 ? fv_store_mdb_err(rc) : rc;
	for (i = 0; rc == 0 && i < n; i++) {
		struct fv_state st;
		uint32_t j, slot;
		int class, keep = 0;

		t = tags + i * TAG_BYTES;
		if ((rc = fv_store_load_tag(s, s->txn, t, rid, &st, &class)) !=
		    0)
			break;
		slot = s->cur_slot;
		/* an op of ours HQ has not receipted: not yet at HQ */
		for (j = 0; j < st.nops && !keep; j++) {
			const uint8_t *ref = st.oprefs +
			    (size_t)j * FV_OPREF_BYTES;

			keep = memcmp(ref, s->info.device_id, FV_ID_BYTES) ==
				0 &&
			    fv_buf_get_u64(ref + FV_ID_BYTES) > up_to;
		}
		if (!keep)
			keep = assigned_to(s, &st, group);
		if (keep) {
			(*kept)++;
			fv_state_free(&st);
			continue;
		}
		k.mv_size = TAG_BYTES;
		k.mv_data = t;
		v.mv_size = 1;
		v.mv_data = &purged_row;
		if ((rc = fv_store_shred(s, &st, slot)) == 0 &&
		    (rc = fv_store_mdb_err(fv_store_txn_put(s, s->db_recs, &k,
			 &v, 0))) == 0 &&
		    (rc = fv_store_pend_push(s, rid, NULL)) == 0)
			(*purged)++;
		fv_state_free(&st);
	}
	if (rc == 0 && *purged > 0)
		s->t_dirty = 1;
	free(tags);
	return fv_store_poison(s, rc);
}

int
fv_store_bundle_seal(struct fv_store *s, const struct fv_bundle_hdr *h,
    const uint8_t *payload, size_t len, const uint8_t receiver_xpk[32],
    struct fv_buf *out)
{
	if (s->keys == NULL)
		return FV_ELOCKED;
	return fv_bundle_seal(h, payload, len, receiver_xpk, K_SK(s), out);
}
