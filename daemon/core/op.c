#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "op.h"

int
fv_op_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int
fv_op_version_cmp(uint64_t ha, const uint8_t *aa, uint64_t hb,
    const uint8_t *ab)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return memcmp(aa, ab, FV_ID_BYTES);
}

/* A leaf path is a field name (any UTF-8 but control bytes) or
 * "applicant.NAME" / "visit.NAME"; the bound keeps paths short. */
static int
path_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > FV_PATH_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

int
fv_op_encode(const struct fv_op *op, struct fv_buf *out)
{
	size_t start = out->len;
	uint32_t i;

	/* never encode what fv_op_decode would refuse */
	if ((op->kind != FV_OP_PUT && op->kind != FV_OP_DELETE) ||
	    op->nfields > FV_OP_FIELDS_MAX ||
	    (op->kind == FV_OP_DELETE) != (op->nfields == 0))
		return FV_EINVAL;
	fv_buf_u8(out, 1);
	fv_buf_u8(out, op->kind);
	fv_buf_u8(out, op->rtype);
	fv_buf_put(out, op->author, FV_ID_BYTES);
	fv_buf_u64(out, op->seq);
	fv_buf_u64(out, op->hlc);
	fv_buf_put(out, op->rid, FV_ID_BYTES);
	fv_buf_u16(out, (uint16_t)op->nfields);
	for (i = 0; i < op->nfields; i++) {
		const struct fv_leaf *f = &op->fields[i];

		if (!path_ok(f->path, f->pathlen) || f->vallen > FV_VAL_MAX ||
		    (f->val != NULL && f->vallen == 0))
			return FV_EINVAL;
		if (i > 0 &&
		    fv_op_path_cmp(op->fields[i - 1].path,
			op->fields[i - 1].pathlen, f->path, f->pathlen) >= 0)
			return FV_EINVAL;
		fv_buf_u8(out, f->pathlen);
		fv_buf_put(out, f->path, f->pathlen);
		fv_buf_u8(out,
		    (uint8_t)((f->has_prev ? 1 : 0) |
			(f->val == NULL ? 2 : 0)));
		if (f->has_prev) {
			fv_buf_u64(out, f->prev_hlc);
			fv_buf_put(out, f->prev_author, FV_ID_BYTES);
		}
		if (f->val != NULL) {
			fv_buf_u32(out, f->vallen);
			fv_buf_put(out, f->val, f->vallen);
		}
	}
	/* FV_OP_MAX bounds the signed op (what fv_op_decode takes), and
	 * counts only this op's bytes, not what out held before */
	if (out->len - start > FV_OP_MAX - FV_SIG_BYTES)
		return FV_ETOOBIG;
	return out->err;
}

int
fv_op_sign(const struct fv_op *op, const uint8_t *sk, struct fv_buf *out)
{
	size_t start = out->len;
	int rc;

	if ((rc = fv_op_encode(op, out)) != 0)
		return rc;
	if ((rc = fv_buf_reserve(out, FV_SIG_BYTES)) != 0)
		return rc;
	crypto_sign_detached(out->p + out->len, NULL, out->p + start,
	    out->len - start, sk);
	out->len += FV_SIG_BYTES;
	return 0;
}

/* Decodes into fields (room for FV_OP_FIELDS_MAX), or into a calloc'd
 * array when fields is NULL. */
static int
op_decode(const uint8_t *buf, size_t len, struct fv_op *op,
    struct fv_leaf *fields)
{
	struct fv_rd r = { buf, len, 0 };
	uint32_t i;

	memset(op, 0, sizeof(*op));
	if (len < FV_OP_HDR + FV_SIG_BYTES || len > FV_OP_MAX)
		return FV_EINVAL;
	r.left = len - FV_SIG_BYTES;
	if (fv_buf_rd_u8(&r) != 1)
		return FV_EINVAL;
	op->kind = fv_buf_rd_u8(&r);
	op->rtype = fv_buf_rd_u8(&r);
	memcpy(op->author, fv_buf_rd_bytes(&r, FV_ID_BYTES), FV_ID_BYTES);
	op->seq = fv_buf_rd_u64(&r);
	op->hlc = fv_buf_rd_u64(&r);
	memcpy(op->rid, fv_buf_rd_bytes(&r, FV_ID_BYTES), FV_ID_BYTES);
	op->nfields = fv_buf_rd_u16(&r);
	if ((op->kind != FV_OP_PUT && op->kind != FV_OP_DELETE) ||
	    (op->rtype != 1 && op->rtype != 2) || op->seq == 0 ||
	    op->nfields > FV_OP_FIELDS_MAX ||
	    (op->kind == FV_OP_DELETE) != (op->nfields == 0))
		return FV_EINVAL;
	if (fields != NULL)
		memset(op->fields = fields, 0, op->nfields * sizeof(*fields));
	else if ((op->fields = calloc(op->nfields, sizeof(*fields))) == NULL)
		return FV_ENOMEM;
	for (i = 0; i < op->nfields && !r.err; i++) {
		struct fv_leaf *f = &op->fields[i];
		uint8_t flags;

		f->pathlen = fv_buf_rd_u8(&r);
		f->path = (const char *)fv_buf_rd_bytes(&r, f->pathlen);
		flags = fv_buf_rd_u8(&r);
		if (r.err || (flags & ~3) || !path_ok(f->path, f->pathlen) ||
		    (i > 0 &&
			fv_op_path_cmp(op->fields[i - 1].path,
			    op->fields[i - 1].pathlen, f->path,
			    f->pathlen) >= 0))
			goto bad;
		f->hlc = op->hlc;
		memcpy(f->author, op->author, FV_ID_BYTES);
		if (flags & 1) {
			const uint8_t *pa;

			f->has_prev = 1;
			f->prev_hlc = fv_buf_rd_u64(&r);
			/* NULL when the input ends inside prev_author */
			if ((pa = fv_buf_rd_bytes(&r, FV_ID_BYTES)) == NULL)
				goto bad;
			memcpy(f->prev_author, pa, FV_ID_BYTES);
		}
		if (!(flags & 2)) {
			f->vallen = fv_buf_rd_u32(&r);
			if (f->vallen == 0 || f->vallen > FV_VAL_MAX)
				goto bad;
			f->val = (const char *)fv_buf_rd_bytes(&r, f->vallen);
		}
	}
	if (r.err || r.left != 0)
		goto bad;
	return 0;
bad:
	if (fields == NULL)
		free(op->fields);
	op->fields = NULL;
	return FV_EINVAL;
}

int
fv_op_decode(const uint8_t *buf, size_t len, struct fv_op *op)
{
	return op_decode(buf, len, op, NULL);
}

int
fv_op_decode_in(const uint8_t *buf, size_t len, struct fv_op *op,
    struct fv_leaf fields[FV_OP_FIELDS_MAX])
{
	return op_decode(buf, len, op, fields);
}

int
fv_op_verify(const uint8_t *buf, size_t len, const uint8_t pk[32])
{
	if (len < FV_OP_HDR + FV_SIG_BYTES)
		return FV_ESIG;
	if (crypto_sign_verify_detached(buf + len - FV_SIG_BYTES, buf,
		len - FV_SIG_BYTES, pk) != 0)
		return FV_ESIG;
	return 0;
}

void
fv_op_id_hex(const uint8_t id[FV_ID_BYTES], char *out)
{
	sodium_bin2hex(out, 2 * FV_ID_BYTES + 1, id, FV_ID_BYTES);
}

int
fv_op_id_parse(const char *s, uint8_t id[FV_ID_BYTES])
{
	size_t i;

	if (s == NULL || strlen(s) != 2 * FV_ID_BYTES)
		return FV_EINVAL;
	for (i = 0; i < 2 * FV_ID_BYTES; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return FV_EINVAL;
	if (sodium_hex2bin(id, FV_ID_BYTES, s, 2 * FV_ID_BYTES, NULL, NULL,
		NULL) != 0)
		return FV_EINVAL;
	return 0;
}

/*
 * The wire form (op.h): the record schema's leaf paths, in this order for
 * ever (protocol version 1), each sent as one byte 0x81 + its index.
 */
static const char *const wire_paths[] = {
	"applicant.full_name",
	"applicant.birth_date",
	"applicant.citizenship",
	"applicant.residence_country",
	"applicant.location",
	"applicant.contact",
	"applicant.confidential",
	"concerns_country",
	"category",
	"channel",
	"received_at",
	"summary",
	"status",
	"assigned_to",
	"partner",
	"partner_ref",
	"tags",
	"text",
	"appeal_id",
	"visit.institution",
	"visit.country",
	"visit.date",
};
#define NWIRE (sizeof(wire_paths) / sizeof(wire_paths[0]))
_Static_assert(FV_PATH_MAX < 0x81 && 0x81 + NWIRE <= 0x100, "wire codes");

/* Copies one op's fields from r to out, paths translated by one of the two
 * directions; the rest byte for byte, bounds checked.  Strict: whatever it
 * accepts has the layout of a canonical op (fv_op_decode() still checks
 * the rest: order, values, the signature does the content). */
static int
wire_copy(struct fv_rd *r, struct fv_buf *out, int pack)
{
	const uint8_t *p;
	uint16_t n, i;
	uint8_t b, flags;
	uint32_t vlen;
	size_t k;

	if ((p = fv_buf_rd_bytes(r, FV_OP_HDR - 2)) == NULL)
		return FV_EINVAL;
	fv_buf_put(out, p, FV_OP_HDR - 2);
	n = fv_buf_rd_u16(r);
	fv_buf_u16(out, n);
	if (n > FV_OP_FIELDS_MAX)
		return FV_EINVAL;
	for (i = 0; i < n && !r->err; i++) {
		b = fv_buf_rd_u8(r);
		if (b >= 0x81) { /* a code: only when unpacking */
			if (pack || (size_t)(b - 0x81) >= NWIRE)
				return FV_EINVAL;
			k = strlen(wire_paths[b - 0x81]);
			fv_buf_u8(out, (uint8_t)k);
			fv_buf_put(out, wire_paths[b - 0x81], k);
		} else {
			if (b == 0 || (p = fv_buf_rd_bytes(r, b)) == NULL)
				return FV_EINVAL;
			for (k = 0; pack && k < NWIRE; k++)
				if (strlen(wire_paths[k]) == b &&
				    memcmp(wire_paths[k], p, b) == 0)
					break;
			if (pack && k < NWIRE)
				fv_buf_u8(out, (uint8_t)(0x81 + k));
			else {
				fv_buf_u8(out, b);
				fv_buf_put(out, p, b);
			}
		}
		flags = fv_buf_rd_u8(r);
		fv_buf_u8(out, flags);
		if (flags & ~3)
			return FV_EINVAL;
		if ((flags & 1) &&
		    (p = fv_buf_rd_bytes(r, 8 + FV_ID_BYTES)) != NULL)
			fv_buf_put(out, p, 8 + FV_ID_BYTES);
		if (!(flags & 2)) {
			vlen = fv_buf_rd_u32(r);
			if (vlen > FV_VAL_MAX ||
			    (p = fv_buf_rd_bytes(r, vlen)) == NULL)
				return FV_EINVAL;
			fv_buf_u32(out, vlen);
			fv_buf_put(out, p, vlen);
		}
	}
	if (r->err || (p = fv_buf_rd_bytes(r, FV_SIG_BYTES)) == NULL ||
	    r->left != 0)
		return FV_EINVAL;
	fv_buf_put(out, p, FV_SIG_BYTES);
	return out->err;
}

static int
wire(const uint8_t *in, size_t len, struct fv_buf *out, int pack)
{
	struct fv_rd r = { in, len, 0 };
	size_t start = out->len;
	int rc;

	if (len > FV_OP_MAX)
		return FV_EINVAL;
	if ((rc = wire_copy(&r, out, pack)) == 0 &&
	    out->len - start > FV_OP_MAX)
		rc = FV_EINVAL;
	if (rc != 0 && out->len > start) {
		sodium_memzero(out->p + start, out->len - start);
		out->len = start;
	}
	return rc;
}

int
fv_op_pack(const uint8_t *op, size_t len, struct fv_buf *out)
{
	return wire(op, len, out, 1);
}

int
fv_op_unpack(const uint8_t *w, size_t len, struct fv_buf *out)
{
	return wire(w, len, out, 0);
}
