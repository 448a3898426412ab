/*
 * test_apply.c - ops from elsewhere: a field device's ops applied at HQ
 * and back (fv_store_apply, fv_store_ops_since), as sync and bundles will
 * do it.  Signatures, idempotence, forks, unknown and revoked authors,
 * clock skew, deletes, and convergence of concurrent edits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "api/json.h"
#include "fv_error.h"
#include "hlc.h"
#include "op.h"
#include "record.h"
#include "secmem.h"
#include "store.h"
#include "tap.h"

static const char PASS[] = "correct horse battery staple";

struct oplist {
	uint8_t *op[256];
	size_t len[256];
	size_t n;
};

static int
collect(void *arg, const uint8_t *op, size_t len, uint64_t seq)
{
	struct oplist *l = arg;

	if (l->n == 256 || (l->op[l->n] = malloc(len)) == NULL)
		return FV_ENOMEM;
	memcpy(l->op[l->n], op, len);
	l->len[l->n++] = len;
	return 0;
}

static void
oplist_free(struct oplist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->op[i]);
	l->n = 0;
}

static struct fv_store *
make_store(const char *dir, const char *role, const char *name, uint8_t *kek)
{
	struct fv_store *s;

	if (fv_store_init(dir, role, name, PASS, strlen(PASS)) != 0 ||
	    fv_store_open(dir, &s) != 0 ||
	    fv_store_derive(s, PASS, strlen(PASS), kek) != 0 ||
	    fv_store_unlock(s, kek) != 0)
		return NULL;
	return s;
}

static void
know(struct fv_store *s, const struct fv_store *other, const char *group)
{
	const struct fv_store_info *in = fv_store_info(other);
	struct fv_device d;

	memset(&d, 0, sizeof(d));
	memcpy(d.id, in->device_id, FV_ID_BYTES);
	memcpy(d.sign_pk, in->sign_pk, 32);
	snprintf(d.name, sizeof(d.name), "%s", in->name);
	snprintf(d.role, sizeof(d.role), "%s", in->role);
	snprintf(d.group, sizeof(d.group), "%s", group);
	fv_store_begin(s);
	fv_store_device_put(s, &d);
	fv_store_commit(s);
}

static json_t *
appeal(const char *name, const char *status)
{
	json_t *a = json_pack("{s:{s:s}, s:s, s:s, s:s, s:s}", "applicant",
	    "full_name", name, "concerns_country", "RU", "category", "health",
	    "summary", "Denied care.", "status", status);
	struct fv_verr e;

	fv_record_check(a, FV_RTYPE_APPEAL, &e);
	fv_record_defaults(a, FV_RTYPE_APPEAL, 1700000000000LL);
	return a;
}

/* Applies every op of l in one transaction; returns the first error. */
static int
apply_all(struct fv_store *s, struct oplist *l, int *napplied)
{
	size_t i;
	int rc = 0, a;

	*napplied = 0;
	fv_store_begin(s);
	for (i = 0; i < l->n && rc == 0; i++) {
		rc = fv_store_apply(s, l->op[i], l->len[i], &a);
		*napplied += a;
	}
	if (rc == 0)
		rc = fv_store_commit(s);
	else
		fv_store_abort(s);
	return rc;
}

static char *
dump(struct fv_store *s, const uint8_t *rid)
{
	json_t *j;
	char *txt;

	if (fv_json_record(s, 0, rid, &j) != 0)
		return strdup("(none)");
	json_object_del(j, "updated_at"); /* same op, same value anyway */
	txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return txt;
}

static int
same(struct fv_store *a, struct fv_store *b, const uint8_t *rid)
{
	char *x = dump(a, rid), *y = dump(b, rid);
	int eq = strcmp(x, y) == 0 && strcmp(x, "(none)") != 0;

	if (!eq)
		diag("A: %s\n# B: %s", x, y);
	free(x);
	free(y);
	return eq;
}

/* A device of the test's own, whose ops it signs by hand. */
struct fake {
	uint8_t id[FV_ID_BYTES], pk[32], sk[64];
};

static size_t
fake_op(struct fake *f, uint64_t seq, uint64_t hlc, const uint8_t *rid,
    const char *status, uint8_t *out)
{
	struct fv_leaf leaf;
	struct fv_op op;
	struct fv_buf b = { 0 };
	char val[64];
	size_t n;

	snprintf(val, sizeof(val), "\"%s\"", status);
	memset(&leaf, 0, sizeof(leaf));
	leaf.path = "status";
	leaf.pathlen = 6;
	leaf.val = val;
	leaf.vallen = (uint32_t)strlen(val);
	memset(&op, 0, sizeof(op));
	op.kind = FV_OP_PUT;
	op.rtype = FV_RTYPE_APPEAL;
	memcpy(op.author, f->id, FV_ID_BYTES);
	op.seq = seq;
	op.hlc = hlc;
	memcpy(op.rid, rid, FV_ID_BYTES);
	op.nfields = 1;
	op.fields = &leaf;
	if (fv_op_sign(&op, f->sk, &b) != 0)
		return 0;
	memcpy(out, b.p, b.len);
	n = b.len;
	fv_buf_free(&b);
	return n;
}

int
main(void)
{
	char tmpl[] = "/tmp/fvapply.XXXXXX", da[64], dh[64], dc[64], cmd[128];
	struct fv_store *a, *h, *c;
	struct oplist la = { 0 }, lh = { 0 };
	struct fv_device dev;
	struct fake f;
	uint8_t *kek, rid[4][FV_ID_BYTES], buf[4096], buf2[4096];
	size_t i, n, n2;
	json_t *j;
	int rc, napp, ap;

	fv_secmem_init();
	kek = fv_secmem_alloc(32);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(da, sizeof(da), "%s/a", tmpl);
	snprintf(dh, sizeof(dh), "%s/h", tmpl);
	snprintf(dc, sizeof(dc), "%s/c", tmpl);
	a = make_store(da, "field", "dev-a", kek);
	h = make_store(dh, "hq", "hq", kek);
	c = make_store(dc, "field", "dev-c", kek);
	ok(a && h && c, "three stores: a field device, HQ, a stranger");
	if (!a || !h || !c)
		return done_testing();
	know(h, a, "tashkent");
	know(a, h, "");

	/* the field device records, edits, deletes */
	for (i = 0; i < 4; i++)
		randombytes_buf(rid[i], FV_ID_BYTES);
	fv_store_begin(a);
	for (i = 0; i < 3; i++) {
		j = appeal(i == 0 ? "Эшматова Гулнора" : "Gʻulomov Rustam",
		    "received");
		fv_store_create(a, FV_RTYPE_APPEAL, j, rid[i], NULL);
		json_decref(j);
	}
	is_int(fv_store_commit(a), 0, "device: 3 appeals");
	fv_store_begin(a);
	j = json_pack("{s:s, s:{s:s}}", "status", "under_review", "applicant",
	    "location", "Kazan");
	{
		struct fv_verr e;

		fv_store_update(a, FV_RTYPE_APPEAL, rid[0], j, &e, &ap);
	}
	json_decref(j);
	fv_store_delete(a, FV_RTYPE_APPEAL, rid[2]);
	is_int(fv_store_commit(a), 0, "device: an update and a delete");

	rc = fv_store_ops_since(a, fv_store_info(a)->device_id, 0, 100, collect,
	    &la);
	is_int(rc, 0, "device's ops read back for sending");
	is_int(la.n, 4,
	    "4 ops to send: 2 creates, the update, the delete "
	    "(the deleted appeal's create is shredded)");

	/* HQ takes them */
	rc = apply_all(h, &la, &napp);
	is_int(rc, 0, "HQ applies the device's ops");
	is_int(napp, (long long)la.n, "every one of them");
	ok(same(a, h, rid[0]), "the edited appeal is the same at HQ");
	ok(same(a, h, rid[1]), "the untouched one too");
	{
		json_t *o = NULL;

		is_int(fv_json_record(h, 0, rid[2], &o), FV_EDELETED,
		    "the deleted appeal is deleted at HQ");
		json_decref(o);
		fv_json_record(h, 0, rid[0], &o);
		is_str(json_string_value(json_object_get(o, "created_by")),
		    "dev-a", "created_by names the device");
		json_decref(o);
	}
	rc = apply_all(h, &la, &napp);
	ok(rc == 0 && napp == 0, "applying them again changes nothing");
	ok(same(a, h, rid[0]), "and the appeal is still the same");

	/* tampered, unknown, revoked */
	memcpy(buf, la.op[0], la.len[0]);
	buf[la.len[0] / 2] ^= 1;
	fv_store_begin(h);
	rc = fv_store_apply(h, buf, la.len[0], &ap);
	fv_store_abort(h);
	ok(rc == FV_ESIG || rc == FV_EINVAL, "a tampered op is refused (%d)",
	    rc);
	fv_store_begin(c);
	j = appeal("Stranger", "received");
	fv_store_create(c, FV_RTYPE_APPEAL, j, rid[3], NULL);
	json_decref(j);
	fv_store_commit(c);
	fv_store_ops_since(c, fv_store_info(c)->device_id, 0, 10, collect, &lh);
	rc = apply_all(h, &lh, &napp);
	is_int(rc, FV_EUNKNOWN,
	    "an op of a device HQ never enrolled is refused");
	oplist_free(&lh);
	know(h, c, "tashkent");
	fv_store_device_get(h, fv_store_info(c)->device_id, &dev);
	dev.revoked = 1;
	fv_store_begin(h);
	fv_store_device_put(h, &dev);
	fv_store_commit(h);
	fv_store_ops_since(c, fv_store_info(c)->device_id, 0, 10, collect, &lh);
	is_int(apply_all(h, &lh, &napp), FV_EUNKNOWN,
	    "an op of a revoked device is refused");
	oplist_free(&lh);

	/* forks and clocks, with a device whose keys the test holds */
	crypto_sign_keypair(f.pk, f.sk);
	crypto_generichash(f.id, FV_ID_BYTES, f.pk, 32, NULL, 0);
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.id, f.id, FV_ID_BYTES);
	memcpy(dev.sign_pk, f.pk, 32);
	snprintf(dev.name, sizeof(dev.name), "fake");
	snprintf(dev.role, sizeof(dev.role), "field");
	fv_store_begin(h);
	fv_store_device_put(h, &dev);
	fv_store_commit(h);
	n = fake_op(&f, 1, (uint64_t)fv_hlc_now_ms() << 16, rid[1], "forwarded",
	    buf);
	n2 = fake_op(&f, 1, (uint64_t)fv_hlc_now_ms() << 16, rid[1], "closed",
	    buf2);
	fv_store_begin(h);
	is_int(fv_store_apply(h, buf, n, &ap), 0, "a hand-signed op applies");
	fv_store_commit(h);
	fv_store_begin(h);
	is_int(fv_store_apply(h, buf2, n2, &ap), FV_EFORK,
	    "the same author and seq with other bytes is a fork");
	fv_store_abort(h);
	n = fake_op(&f, 2,
	    (uint64_t)(fv_hlc_now_ms() + 2 * FV_SKEW_MAX_MS) << 16, rid[1],
	    "closed", buf);
	fv_store_begin(h);
	is_int(fv_store_apply(h, buf, n, &ap), FV_ECLOCK,
	    "a clock two days ahead is refused");
	fv_store_abort(h);

	/* concurrent edits converge, both ways */
	oplist_free(&la);
	{
		struct fv_verr e;
		struct oplist up = { 0 }, down = { 0 };

		fv_store_begin(a);
		j = json_pack("{s:s, s:s}", "status", "forwarded", "partner",
		    "ru-ombudsman");
		fv_store_update(a, FV_RTYPE_APPEAL, rid[0], j, &e, &ap);
		json_decref(j);
		fv_store_commit(a);
		fv_store_begin(h);
		j = json_pack("{s:s, s:s}", "status", "resolved_positive",
		    "assigned_to", "tashkent");
		fv_store_update(h, FV_RTYPE_APPEAL, rid[0], j, &e, &ap);
		json_decref(j);
		fv_store_commit(h);
		fv_store_ops_since(a, fv_store_info(a)->device_id, 3, 10,
		    collect, &up);
		fv_store_ops_since(h, fv_store_info(h)->device_id, 0, 10,
		    collect, &down);
		is_int(apply_all(h, &up, &napp), 0,
		    "HQ takes the device's edit");
		is_int(apply_all(a, &down, &napp), 0,
		    "the device takes HQ's edit");
		ok(same(a, h, rid[0]), "both copies are the same");
		{
			json_t *o = NULL;

			fv_json_record(a, 0, rid[0], &o);
			ok(json_is_true(json_object_get(o, "conflict")),
			    "and both say there was a conflict");
			is_str(json_string_value(json_object_get(o, "partner")),
			    "ru-ombudsman",
			    "the fields nobody fought over "
			    "are kept from both sides");
			ok(json_object_get(o, "assigned_to") != NULL,
			    "(both sides)");
			json_decref(o);
		}
		oplist_free(&up);
		oplist_free(&down);
	}

	fv_store_close(a);
	fv_store_close(h);
	fv_store_close(c);
	fv_secmem_free(kek);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpl);
	return done_testing();
}
