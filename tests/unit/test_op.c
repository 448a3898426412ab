/*
 * test_op.c - the op (op.h): canonical encoding round trip, Ed25519
 * signature over every byte, a decoder that refuses every malformed or
 * non-canonical input, ids in hex, version and path ordering.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "fv_error.h"
#include "op.h"
#include "tap.h"

static uint8_t pk[32], sk[64], pk2[32], sk2[64];

static void
fill_id(uint8_t *id, uint8_t b)
{
	int i;

	for (i = 0; i < FV_ID_BYTES; i++)
		id[i] = (uint8_t)(b + i);
}

static struct fv_leaf
leaf(const char *path, const char *val)
{
	struct fv_leaf f;

	memset(&f, 0, sizeof(f));
	f.path = path;
	f.pathlen = (uint8_t)strlen(path);
	f.val = val;
	f.vallen = val != NULL ? (uint32_t)strlen(val) : 0;
	return f;
}

/* The sample op: a value, a value with prev, a removal with prev, a
 * whole array, an x_ value, in canonical order. */
static struct fv_leaf sample_fields[5];

static void
sample(struct fv_op *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = FV_OP_PUT;
	op->rtype = 1;
	fill_id(op->author, 0xa0);
	op->seq = 0x0102030405060708ULL;
	op->hlc = 0x1122334455667788ULL;
	fill_id(op->rid, 0x10);
	sample_fields[0] = leaf("applicant.full_name", "\"Дилноза Эшматова\"");
	sample_fields[1] = leaf("applicant.location", "\"СИЗО-1, Москва\"");
	sample_fields[1].has_prev = 1;
	sample_fields[1].prev_hlc = 77;
	fill_id(sample_fields[1].prev_author, 0xc0);
	sample_fields[2] = leaf("status", NULL);
	sample_fields[2].has_prev = 1;
	sample_fields[2].prev_hlc = 0xffffffffffffffffULL;
	fill_id(sample_fields[2].prev_author, 0x01);
	sample_fields[3] = leaf("tags", "[\"a\",\"b\"]");
	sample_fields[4] = leaf("x_src", "{\"k\":[1,2,null]}");
	op->fields = sample_fields;
	op->nfields = 5;
}

static int
leaf_eq(const struct fv_leaf *a, const struct fv_leaf *b)
{
	if (a->pathlen != b->pathlen ||
	    memcmp(a->path, b->path, a->pathlen) != 0 ||
	    (a->val == NULL) != (b->val == NULL) || a->has_prev != b->has_prev)
		return 0;
	if (a->val != NULL &&
	    (a->vallen != b->vallen || memcmp(a->val, b->val, a->vallen) != 0))
		return 0;
	if (a->has_prev &&
	    (a->prev_hlc != b->prev_hlc ||
		memcmp(a->prev_author, b->prev_author, FV_ID_BYTES) != 0))
		return 0;
	return 1;
}

/*
 * A raw op writer that does none of fv_op_encode's checks, to make the
 * inputs the decoder must refuse.  Field flags are given as they go on
 * the wire; prev is written when flags & 1, a value unless flags & 2.
 */
struct rawf {
	const char *path;
	int pathlen; /* -1: strlen(path) */
	uint8_t flags;
	const char *val;
	long vallen; /* -1: strlen(val) */
};

static void
raw_op(struct fv_buf *b, uint8_t version, uint8_t kind, uint8_t rtype,
    uint64_t seq, uint16_t nfields, const struct rawf *f, size_t nf)
{
	uint8_t id[FV_ID_BYTES];
	size_t i, start = b->len;

	fv_buf_u8(b, version);
	fv_buf_u8(b, kind);
	fv_buf_u8(b, rtype);
	fill_id(id, 0xa0);
	fv_buf_put(b, id, FV_ID_BYTES);
	fv_buf_u64(b, seq);
	fv_buf_u64(b, 1234567);
	fill_id(id, 0x10);
	fv_buf_put(b, id, FV_ID_BYTES);
	fv_buf_u16(b, nfields);
	for (i = 0; i < nf; i++) {
		size_t pl = f[i].pathlen < 0 ? strlen(f[i].path) :
					       (size_t)f[i].pathlen;

		fv_buf_u8(b, (uint8_t)pl);
		fv_buf_put(b, f[i].path, pl);
		fv_buf_u8(b, f[i].flags);
		if (f[i].flags & 1) {
			fv_buf_u64(b, 5);
			fill_id(id, 0x33);
			fv_buf_put(b, id, FV_ID_BYTES);
		}
		if (!(f[i].flags & 2)) {
			size_t vl = f[i].vallen < 0 ? strlen(f[i].val) :
						      (size_t)f[i].vallen;

			fv_buf_u32(b, (uint32_t)vl);
			fv_buf_put(b, f[i].val, vl);
		}
	}
	/* a real signature, so that only the decoder's checks refuse it */
	if (fv_buf_reserve(b, FV_SIG_BYTES) == 0) {
		crypto_sign_detached(b->p + b->len, NULL, b->p + start,
		    b->len - start, sk);
		b->len += FV_SIG_BYTES;
	}
}

static int
decode_rc(const struct fv_buf *b)
{
	struct fv_op op;
	int rc = fv_op_decode(b->p, b->len, &op);

	if (rc == 0)
		free(op.fields);
	else if (op.fields != NULL)
		rc = 999; /* a refused op must leave no fields behind */
	return rc;
}

static void
raw_case(const char *name, int want, uint8_t version, uint8_t kind,
    uint8_t rtype, uint64_t seq, uint16_t nfields, const struct rawf *f,
    size_t nf)
{
	struct fv_buf b = { 0 };

	raw_op(&b, version, kind, rtype, seq, nfields, f, nf);
	is_int(decode_rc(&b), want, "decode: %s", name);
	fv_buf_free(&b);
}

static void
test_roundtrip(void)
{
	struct fv_op op, got;
	struct fv_buf enc = { 0 }, sig = { 0 }, re = { 0 };
	uint32_t i;
	int same = 1;

	sample(&op);
	is_int(fv_op_encode(&op, &enc), 0, "encode the sample op");
	is_int(fv_op_sign(&op, sk, &sig), 0, "sign the sample op");
	is_int(sig.len, enc.len + FV_SIG_BYTES, "signed = encoded + 64 bytes");
	ok(sig.len >= enc.len && memcmp(sig.p, enc.p, enc.len) == 0,
	    "the signed op starts with the canonical encoding");
	ok(enc.len > FV_OP_HDR && enc.p[0] == 1 && enc.p[1] == FV_OP_PUT &&
		enc.p[2] == 1,
	    "header: version 1, kind, rtype");
	ok(enc.len > FV_OP_HDR &&
		fv_buf_get_u64(enc.p + 19) == 0x0102030405060708ULL &&
		fv_buf_get_u64(enc.p + 27) == 0x1122334455667788ULL &&
		enc.p[51] == 0 && enc.p[52] == 5,
	    "header: big-endian seq, hlc, nfields at their offsets");

	is_int(fv_op_decode(sig.p, sig.len, &got), 0, "decode the signed op");
	is_int(got.kind, op.kind, "kind survives");
	is_int(got.rtype, op.rtype, "rtype survives");
	ok(memcmp(got.author, op.author, FV_ID_BYTES) == 0, "author survives");
	ok(got.seq == op.seq, "seq survives");
	ok(got.hlc == op.hlc, "hlc survives");
	ok(memcmp(got.rid, op.rid, FV_ID_BYTES) == 0, "rid survives");
	is_int(got.nfields, op.nfields, "nfields survives");
	for (i = 0; i < got.nfields && i < op.nfields; i++) {
		if (!leaf_eq(&got.fields[i], &op.fields[i]))
			same = 0;
		if (got.fields[i].hlc != op.hlc ||
		    memcmp(got.fields[i].author, op.author, FV_ID_BYTES) != 0)
			same = 0;
	}
	ok(same,
	    "every field survives (path, value, removal, prev) and "
	    "carries the op's version");
	ok(got.nfields == 5 && got.fields[2].val == NULL &&
		got.fields[2].has_prev,
	    "a removed field decodes as val NULL");
	ok(got.nfields == 5 && (const uint8_t *)got.fields[0].path >= sig.p &&
		(const uint8_t *)got.fields[0].path < sig.p + sig.len,
	    "decoded strings point into the buffer");
	is_int(fv_op_encode(&got, &re), 0, "re-encode the decoded op");
	ok(re.len == enc.len && memcmp(re.p, enc.p, enc.len) == 0,
	    "re-encoding is byte-identical (canonical)");
	free(got.fields);

	/* encode appends */
	re.len = 0;
	fv_buf_put(&re, "xyz", 3);
	is_int(fv_op_encode(&op, &re), 0, "encode after existing bytes");
	ok(re.len == enc.len + 3 && memcmp(re.p, "xyz", 3) == 0 &&
		memcmp(re.p + 3, enc.p, enc.len) == 0,
	    "encode appends");
	re.len = 0;
	fv_buf_put(&re, "xyz", 3);
	is_int(fv_op_sign(&op, sk, &re), 0, "sign after existing bytes");
	is_int(fv_op_verify(re.p + 3, re.len - 3, pk), 0,
	    "signature covers only the op, not what preceded it");

	/* a delete op */
	{
		struct fv_op d;
		struct fv_buf db = { 0 };

		memset(&d, 0, sizeof(d));
		d.kind = FV_OP_DELETE;
		d.rtype = 2;
		fill_id(d.author, 1);
		fill_id(d.rid, 2);
		d.seq = 1;
		d.hlc = 9;
		is_int(fv_op_sign(&d, sk, &db), 0, "sign a delete op");
		is_int(db.len, FV_OP_HDR + FV_SIG_BYTES,
		    "a delete op is header + signature");
		is_int(fv_op_decode(db.p, db.len, &got), 0,
		    "decode a delete op");
		ok(got.kind == FV_OP_DELETE && got.rtype == 2 &&
			got.nfields == 0 && got.seq == 1 && got.hlc == 9,
		    "delete op survives");
		free(got.fields);
		fv_buf_free(&db);
	}
	fv_buf_free(&enc);
	fv_buf_free(&sig);
	fv_buf_free(&re);
}

static void
test_encode_refuses(void)
{
	struct fv_op op;
	struct fv_leaf f[3];
	struct fv_buf b = { 0 };
	char longpath[FV_PATH_MAX + 2];

	sample(&op);
	op.kind = 3;
	is_int(fv_op_encode(&op, &b), FV_EINVAL, "encode refuses kind 3");
	sample(&op);
	op.kind = FV_OP_DELETE;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses a delete with fields");
	sample(&op);
	op.nfields = 0;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses a put with no field (the decoder would)");

	f[0] = leaf("b", "1");
	f[1] = leaf("a", "2");
	sample(&op);
	op.fields = f;
	op.nfields = 2;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL, "encode refuses b before a");
	f[1] = leaf("b", "2");
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL, "encode refuses a duplicate");
	f[0] = leaf("applicant.x", "1");
	f[1] = leaf("applicant", "2");
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses a longer path before its prefix");
	f[0] = leaf("", "1");
	op.nfields = 1;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses an empty path");
	f[0] = leaf("a\tb", "1");
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses a control byte in a path");
	memset(longpath, 'p', FV_PATH_MAX + 1);
	longpath[FV_PATH_MAX + 1] = '\0';
	f[0] = leaf(longpath, "1");
	f[0].pathlen = FV_PATH_MAX + 1;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses a path of FV_PATH_MAX+1 bytes");
	longpath[FV_PATH_MAX] = '\0';
	f[0] = leaf(longpath, "1");
	b.len = 0;
	is_int(fv_op_encode(&op, &b), 0,
	    "encode takes a path of FV_PATH_MAX bytes");
	f[0] = leaf("a", "1");
	f[0].vallen = 0;
	b.len = 0;
	is_int(fv_op_encode(&op, &b), FV_EINVAL,
	    "encode refuses an empty value");
	fv_buf_free(&b);
}

static void
test_verify(void)
{
	struct fv_op op;
	struct fv_buf sig = { 0 };
	uint8_t *c;
	size_t i, body, nbad[3] = { 0, 0, 0 }, ntot[3] = { 0, 0, 0 };
	int bit;

	sample(&op);
	fv_op_sign(&op, sk, &sig);
	body = sig.len - FV_SIG_BYTES;
	is_int(fv_op_verify(sig.p, sig.len, pk), 0,
	    "verify with the author's key");
	is_int(fv_op_verify(sig.p, sig.len, pk2), FV_ESIG,
	    "verify with another key fails");
	is_int(fv_op_verify(sig.p, FV_OP_HDR + FV_SIG_BYTES - 1, pk), FV_ESIG,
	    "verify of a too-short buffer fails");
	is_int(fv_op_verify(sig.p, sig.len - 1, pk), FV_ESIG,
	    "verify of a truncated op fails");

	if ((c = malloc(sig.len)) == NULL)
		abort();
	for (i = 0; i < sig.len; i++)
		for (bit = 0; bit < 8; bit++) {
			int region = i < FV_OP_HDR ? 0 : i < body ? 1 : 2;

			memcpy(c, sig.p, sig.len);
			c[i] ^= (uint8_t)(1 << bit);
			ntot[region]++;
			if (fv_op_verify(c, sig.len, pk) == FV_ESIG)
				nbad[region]++;
		}
	ok(ntot[0] == FV_OP_HDR * 8 && nbad[0] == ntot[0],
	    "every flipped bit in the header fails verify (%zu/%zu)", nbad[0],
	    ntot[0]);
	ok(ntot[1] > 0 && nbad[1] == ntot[1],
	    "every flipped bit in the fields fails verify (%zu/%zu)", nbad[1],
	    ntot[1]);
	ok(ntot[2] == FV_SIG_BYTES * 8 && nbad[2] == ntot[2],
	    "every flipped bit in the signature fails verify (%zu/%zu)",
	    nbad[2], ntot[2]);
	memcpy(c, sig.p, sig.len);
	is_int(fv_op_verify(c, sig.len, pk), 0, "the unflipped copy verifies");
	free(c);
	fv_buf_free(&sig);
}

static void
test_truncation(void)
{
	struct fv_op op, got;
	struct fv_buf sig = { 0 };
	uint8_t *c;
	size_t n, refused = 0;
	int leaked = 0;

	sample(&op);
	fv_op_sign(&op, sk, &sig);
	/* each length in its own allocation so ASan sees any over-read */
	for (n = 0; n < sig.len; n++) {
		if ((c = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(c, sig.p, n);
		if (fv_op_decode(c, n, &got) == FV_EINVAL)
			refused++;
		if (got.fields != NULL)
			leaked++;
		free(c);
	}
	ok(refused == sig.len,
	    "decode refuses every truncation (%zu of %zu "
	    "lengths)",
	    refused, sig.len);
	is_int(leaked, 0, "a refused decode leaves op->fields NULL");
	if ((c = malloc(sig.len + 1)) == NULL)
		abort();
	memcpy(c, sig.p, sig.len);
	c[sig.len] = 0;
	is_int(fv_op_decode(c, sig.len + 1, &got), FV_EINVAL,
	    "decode refuses a trailing byte");
	free(c);
	/* the delete op, too */
	{
		struct fv_op d;
		struct fv_buf db = { 0 };

		memset(&d, 0, sizeof(d));
		d.kind = FV_OP_DELETE;
		d.rtype = 1;
		d.seq = 3;
		fv_op_sign(&d, sk, &db);
		for (refused = 0, n = 0; n < db.len; n++) {
			if ((c = malloc(n ? n : 1)) == NULL)
				abort();
			memcpy(c, db.p, n);
			if (fv_op_decode(c, n, &got) == FV_EINVAL)
				refused++;
			free(c);
		}
		ok(refused == db.len,
		    "decode refuses every truncation of a "
		    "delete op");
		fv_buf_free(&db);
	}
	fv_buf_free(&sig);
}

static void
test_decode_refuses(void)
{
	static char big[FV_VAL_MAX + 3];
	char p128[FV_PATH_MAX + 1], p129[FV_PATH_MAX + 2];
	struct rawf *many;
	size_t i;
	struct rawf ab[] = { { "a", -1, 0, "1", -1 }, { "b", -1, 0, "2", -1 } };
	struct rawf ba[] = { { "b", -1, 0, "1", -1 }, { "a", -1, 0, "2", -1 } };
	struct rawf aa[] = { { "a", -1, 0, "1", -1 }, { "a", -1, 2, NULL, 0 } };
	struct rawf pre[] = { { "applicant", -1, 0, "1", -1 },
		{ "applicant.full_name", -1, 0, "\"x\"", -1 } };
	struct rawf erp[] = { { "applicant.full_name", -1, 0, "\"x\"", -1 },
		{ "applicant", -1, 0, "1", -1 } };
	struct rawf one[] = { { "a", -1, 0, "1", -1 } };
	struct rawf prev[] = { { "a", -1, 1, "1", -1 } };
	struct rawf rm[] = { { "a", -1, 3, NULL, 0 } };
	struct rawf flag4[] = { { "a", -1, 4, "1", -1 } };
	struct rawf flag80[] = { { "a", -1, 0x80, "1", -1 } };
	struct rawf empty_path[] = { { "", -1, 0, "1", -1 } };
	struct rawf ctl_path[] = { { "a\nb", -1, 0, "1", -1 } };
	struct rawf del_path[] = { { "a\x7f", -1, 0, "1", -1 } };
	struct rawf empty_val[] = { { "a", -1, 0, "", 0 } };
	struct rawf path128[] = { { p128, -1, 0, "1", -1 } };
	struct rawf path129[] = { { p129, -1, 0, "1", -1 } };
	struct rawf valmax[] = { { "a", -1, 0, big, FV_VAL_MAX } };
	struct rawf valbig[] = { { "a", -1, 0, big, FV_VAL_MAX + 1 } };
	struct rawf twomax[] = { { "a", -1, 0, big, FV_VAL_MAX },
		{ "b", -1, 0, big, FV_VAL_MAX } };

	memset(big, '7', sizeof(big));
	memset(p128, 'q', FV_PATH_MAX);
	p128[FV_PATH_MAX] = '\0';
	memset(p129, 'q', FV_PATH_MAX + 1);
	p129[FV_PATH_MAX + 1] = '\0';

	raw_case("a well-formed raw op", 0, 1, 1, 1, 1, 2, ab, 2);
	raw_case("a prefix sorts before its extension", 0, 1, 1, 1, 1, 2, pre,
	    2);
	raw_case("a field with prev", 0, 1, 1, 1, 1, 1, prev, 1);
	raw_case("a removal with prev", 0, 1, 1, 2, 1, 1, rm, 1);
	raw_case("a delete op", 0, 1, 2, 1, 7, 0, NULL, 0);
	raw_case("fields out of order", FV_EINVAL, 1, 1, 1, 1, 2, ba, 2);
	raw_case("duplicate paths", FV_EINVAL, 1, 1, 1, 1, 2, aa, 2);
	raw_case("an extension before its prefix", FV_EINVAL, 1, 1, 1, 1, 2,
	    erp, 2);
	raw_case("version 0", FV_EINVAL, 0, 1, 1, 1, 1, one, 1);
	raw_case("version 2", FV_EINVAL, 2, 1, 1, 1, 1, one, 1);
	raw_case("kind 0", FV_EINVAL, 1, 0, 1, 1, 1, one, 1);
	raw_case("kind 3", FV_EINVAL, 1, 3, 1, 1, 1, one, 1);
	raw_case("kind 255", FV_EINVAL, 1, 255, 1, 1, 1, one, 1);
	raw_case("rtype 0", FV_EINVAL, 1, 1, 0, 1, 1, one, 1);
	raw_case("rtype 3", FV_EINVAL, 1, 1, 3, 1, 1, one, 1);
	raw_case("seq 0", FV_EINVAL, 1, 1, 1, 0, 1, one, 1);
	raw_case("seq 0 on a delete", FV_EINVAL, 1, 2, 1, 0, 0, NULL, 0);
	raw_case("a delete op with a field", FV_EINVAL, 1, 2, 1, 1, 1, one, 1);
	raw_case("a put op without fields", FV_EINVAL, 1, 1, 1, 1, 0, NULL, 0);
	raw_case("nfields larger than the fields present", FV_EINVAL, 1, 1, 1,
	    1, 2, one, 1);
	raw_case("nfields smaller than the fields present", FV_EINVAL, 1, 1, 1,
	    1, 1, ab, 2);
	raw_case("unknown flag bit 4", FV_EINVAL, 1, 1, 1, 1, 1, flag4, 1);
	raw_case("unknown flag bit 0x80", FV_EINVAL, 1, 1, 1, 1, 1, flag80, 1);
	raw_case("an empty path", FV_EINVAL, 1, 1, 1, 1, 1, empty_path, 1);
	raw_case("a newline in a path", FV_EINVAL, 1, 1, 1, 1, 1, ctl_path, 1);
	raw_case("DEL in a path", FV_EINVAL, 1, 1, 1, 1, 1, del_path, 1);
	raw_case("an empty value", FV_EINVAL, 1, 1, 1, 1, 1, empty_val, 1);
	raw_case("a path of FV_PATH_MAX bytes", 0, 1, 1, 1, 1, 1, path128, 1);
	raw_case("a path of FV_PATH_MAX+1 bytes", FV_EINVAL, 1, 1, 1, 1, 1,
	    path129, 1);
	raw_case("a value of FV_VAL_MAX bytes", 0, 1, 1, 1, 1, 1, valmax, 1);
	raw_case("a value of FV_VAL_MAX+1 bytes", FV_EINVAL, 1, 1, 1, 1, 1,
	    valbig, 1);
	raw_case("two values of FV_VAL_MAX bytes (op over FV_OP_MAX)",
	    FV_EINVAL, 1, 1, 1, 1, 2, twomax, 2);

	/* field count at the bound and one past it */
	if ((many = calloc(FV_OP_FIELDS_MAX + 1, sizeof(*many))) == NULL)
		abort();
	{
		static char names[FV_OP_FIELDS_MAX + 1][8];

		for (i = 0; i <= FV_OP_FIELDS_MAX; i++) {
			snprintf(names[i], sizeof(names[i]), "f%04zu", i);
			many[i].path = names[i];
			many[i].pathlen = -1;
			many[i].val = "1";
			many[i].vallen = -1;
		}
	}
	raw_case("FV_OP_FIELDS_MAX fields", 0, 1, 1, 1, 1, FV_OP_FIELDS_MAX,
	    many, FV_OP_FIELDS_MAX);
	raw_case("FV_OP_FIELDS_MAX+1 fields", FV_EINVAL, 1, 1, 1, 1,
	    FV_OP_FIELDS_MAX + 1, many, FV_OP_FIELDS_MAX + 1);
	free(many);
}

/* An op whose signed size lands exactly on FV_OP_MAX, and one byte over:
 * what fv_op_sign produces, fv_op_decode must take, and the reverse. */
static void
test_size_bound(void)
{
	static char v1[FV_VAL_MAX], v2[FV_VAL_MAX];
	struct fv_leaf f[2];
	struct fv_op op, got;
	struct fv_buf b = { 0 };
	size_t fixed, rest;
	int rc;

	memset(v1, 'x', sizeof(v1));
	memset(v2, 'y', sizeof(v2));
	sample(&op);
	f[0] = leaf("a", NULL);
	f[0].val = v1;
	f[0].vallen = FV_VAL_MAX;
	f[1] = leaf("b", NULL);
	f[1].val = v2;
	op.fields = f;
	op.nfields = 2;
	/* header + 2 x (1 + 1 + 1 + 4) + values + signature */
	fixed = FV_OP_HDR + 2 * 7 + FV_VAL_MAX + FV_SIG_BYTES;
	rest = FV_OP_MAX - fixed; /* second value: lands on MAX */
	f[1].vallen = (uint32_t)rest;
	rc = fv_op_sign(&op, sk, &b);
	is_int(rc, 0, "sign an op of exactly FV_OP_MAX signed bytes");
	is_int(b.len, FV_OP_MAX, "its signed size is FV_OP_MAX");
	rc = fv_op_decode(b.p, b.len, &got);
	is_int(rc, 0, "decode takes it");
	if (rc == 0)
		free(got.fields);
	is_int(fv_op_verify(b.p, b.len, pk), 0, "and it verifies");

	f[1].vallen = (uint32_t)rest + 1;
	b.len = 0;
	rc = fv_op_sign(&op, sk, &b);
	ok(rc == FV_ETOOBIG || rc == FV_EINVAL,
	    "sign refuses an op one byte over FV_OP_MAX (decode would)");
	if (rc == 0) {
		rc = fv_op_decode(b.p, b.len, &got);
		diag("signed %zu bytes; decode says %d", b.len, rc);
		if (rc == 0)
			free(got.fields);
	}
	/* the limit holds for the op itself, not for what precedes it */
	b.len = 0;
	{
		char pfx[100];

		memset(pfx, 'p', sizeof(pfx));
		fv_buf_put(&b, pfx, sizeof(pfx));
	}
	f[1].vallen = (uint32_t)rest;
	is_int(fv_op_sign(&op, sk, &b), 0,
	    "sign at the bound after other bytes in the buffer");
	fv_buf_free(&b);
}

static void
test_ids(void)
{
	uint8_t id[FV_ID_BYTES], back[FV_ID_BYTES];
	char hex[2 * FV_ID_BYTES + 1], bad[2 * FV_ID_BYTES + 2];
	int i, lower = 1;

	for (i = 0; i < FV_ID_BYTES; i++)
		id[i] = (uint8_t)(0xf0 - i * 15);
	memset(hex, '#', sizeof(hex));
	fv_op_id_hex(id, hex);
	is_int(strlen(hex), 32, "fv_op_id_hex: 32 characters, NUL-terminated");
	for (i = 0; i < 32; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
			(hex[i] >= 'a' && hex[i] <= 'f')))
			lower = 0;
	ok(lower, "fv_op_id_hex: lowercase hex");
	is_str(hex, "f0e1d2c3b4a5968778695a4b3c2d1e0f", "fv_op_id_hex: value");
	is_int(fv_op_id_parse(hex, back), 0, "fv_op_id_parse of fv_op_id_hex");
	ok(memcmp(id, back, FV_ID_BYTES) == 0, "id round trip");
	is_int(fv_op_id_parse("00000000000000000000000000000000", back), 0,
	    "all zeros parse");

	memset(back, 0x55, sizeof(back));
	is_int(fv_op_id_parse("F0E1D2C3B4A5968778695A4B3C2D1E0F", back),
	    FV_EINVAL, "uppercase refused");
	is_int(fv_op_id_parse("f0e1d2c3b4a5968778695a4b3c2d1e0F", back),
	    FV_EINVAL, "one uppercase character refused");
	is_int(fv_op_id_parse("f0e1d2c3b4a5968778695a4b3c2d1e0", back),
	    FV_EINVAL, "31 characters refused");
	is_int(fv_op_id_parse("f0e1d2c3b4a5968778695a4b3c2d1e0f0", back),
	    FV_EINVAL, "33 characters refused");
	is_int(fv_op_id_parse("", back), FV_EINVAL, "empty refused");
	is_int(fv_op_id_parse(NULL, back), FV_EINVAL, "NULL refused");
	is_int(fv_op_id_parse("g0e1d2c3b4a5968778695a4b3c2d1e0f", back),
	    FV_EINVAL, "non-hex refused");
	is_int(fv_op_id_parse(" 0e1d2c3b4a5968778695a4b3c2d1e0f", back),
	    FV_EINVAL, "leading space refused");
	is_int(fv_op_id_parse("f0e1d2c3-4a5968778695a4b3c2d1e0f", back),
	    FV_EINVAL, "dash refused");
	strcpy(bad, hex);
	bad[10] = '\0';
	is_int(fv_op_id_parse(bad, back), FV_EINVAL, "embedded NUL refused");
	{
		uint8_t ff[FV_ID_BYTES];

		memset(ff, 0x55, sizeof(ff));
		ok(memcmp(back, ff, FV_ID_BYTES) == 0,
		    "refused parses leave the id untouched");
	}
}

static void
test_order(void)
{
	uint8_t a[FV_ID_BYTES], b[FV_ID_BYTES];

	memset(a, 0x01, sizeof(a));
	memset(b, 0x01, sizeof(b));
	b[FV_ID_BYTES - 1] = 0x02;
	ok(fv_op_version_cmp(5, a, 5, a) == 0, "version: equal");
	ok(fv_op_version_cmp(4, b, 5, a) < 0,
	    "version: lower hlc first, "
	    "whatever the author");
	ok(fv_op_version_cmp(6, a, 5, b) > 0, "version: higher hlc later");
	ok(fv_op_version_cmp(5, a, 5, b) < 0 &&
		fv_op_version_cmp(5, b, 5, a) > 0,
	    "version: same hlc, ordered by author bytes");
	a[0] = 0xff;
	ok(fv_op_version_cmp(5, a, 5, b) > 0,
	    "version: author bytes unsigned, "
	    "first byte most significant");
	ok(fv_op_version_cmp(0xffffffffffffffffULL, b, 1, a) > 0,
	    "version: hlc compared unsigned over 64 bits");
	ok(fv_op_version_cmp(1ULL << 32, b, 0xffffffffULL, a) > 0,
	    "version: high bits of hlc count");

	ok(fv_op_path_cmp("a", 1, "b", 1) < 0, "path: a < b");
	ok(fv_op_path_cmp("b", 1, "a", 1) > 0, "path: b > a");
	ok(fv_op_path_cmp("ab", 2, "ab", 2) == 0, "path: equal");
	ok(fv_op_path_cmp("applicant", 9, "applicant.full_name", 19) < 0,
	    "path: a prefix sorts first");
	ok(fv_op_path_cmp("applicant.full_name", 19, "applicant", 9) > 0,
	    "path: an extension sorts after");
	ok(fv_op_path_cmp("applicant.zzz", 13, "category", 8) < 0,
	    "path: bytes before length");
	ok(fv_op_path_cmp("z", 1, "\xc3\xa9", 2) < 0, "path: bytes unsigned");
}

/* The wire form: known paths become one byte, everything else stays, and
 * unpacking gives back the signed op byte for byte. */
static void
test_wire(void)
{
	static const struct rawf known[] = {
		{ "applicant.full_name", -1, 0, "\"Ali\"", -1 },
		{ "status", -1, 1, "\"closed\"", -1 },
		{ "summary", -1, 0, "\"x\"", -1 },
		{ "x_custom", -1, 0, "1", -1 },
		{ "zzz", -1, 2, NULL, 0 },
	};
	struct fv_buf op = { 0 }, w = { 0 }, back = { 0 };
	size_t i, bad;

	raw_op(&op, 1, FV_OP_PUT, 1, 7, 5, known, 5);
	is_int(decode_rc(&op), 0,
	    "wire: a sample op with known and unknown "
	    "paths");
	is_int(fv_op_pack(op.p, op.len, &w), 0, "pack it");
	is_int((int)(op.len - w.len),
	    (int)(strlen("applicant.full_name") + strlen("status") +
		strlen("summary")),
	    "  each known path is "
	    "one byte instead of its length and name");
	is_int(fv_op_unpack(w.p, w.len, &back), 0, "unpack");
	ok(back.len == op.len && memcmp(back.p, op.p, op.len) == 0,
	    "  gives back the signed op byte for byte");
	ok(fv_op_verify(back.p, back.len, pk) == 0, "  which verifies");
	back.len = 0;
	is_int(fv_op_unpack(op.p, op.len, &back), 0,
	    "an op without codes "
	    "unpacks to itself");
	ok(back.len == op.len && memcmp(back.p, op.p, op.len) == 0,
	    "  byte "
	    "for byte");
	back.len = 0;
	is_int(fv_op_pack(w.p, w.len, &back), FV_EINVAL,
	    "packing a packed "
	    "op is refused (a code is no canonical path length)");
	ok(back.len == 0, "  and appends nothing");
	for (i = 0, bad = 0; i < w.len; i++) {
		back.len = 0;
		if (fv_op_unpack(w.p, i, &back) != FV_EINVAL || back.len != 0)
			bad++;
	}
	is_int((int)bad, 0,
	    "every truncation of the wire form is refused, "
	    "nothing appended");
	back.len = 0;
	fv_buf_u8(&back, 0xee);	    /* something before */
	w.p[FV_OP_HDR] = 0x81 + 22; /* past the table */
	is_int(fv_op_unpack(w.p, w.len, &back), FV_EINVAL,
	    "a code past the "
	    "table is refused");
	ok(back.len == 1 && back.p[0] == 0xee, "  what out held is kept");
	w.p[FV_OP_HDR] = 0;
	is_int(fv_op_unpack(w.p, w.len, &back), FV_EINVAL,
	    "a zero path "
	    "length is refused");
	w.p[FV_OP_HDR] = 0x81;
	back.len = 0;
	is_int(fv_op_unpack(w.p, w.len, &back), 0,
	    "code 0x81 is "
	    "applicant.full_name");
	ok(back.len == op.len && memcmp(back.p, op.p, op.len) == 0,
	    "  the "
	    "op again");
	fv_buf_free(&op);
	fv_buf_free(&w);
	fv_buf_free(&back);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 99;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	test_roundtrip();
	test_encode_refuses();
	test_verify();
	test_truncation();
	test_decode_refuses();
	test_size_bound();
	test_ids();
	test_order();
	test_wire();
	return done_testing();
}
