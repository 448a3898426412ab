/*
 * frame.c - the frames of the sync protocol: a strict decoder and
 * encoders that write only what it accepts.
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "frame.h"
#include "fv_error.h"
#include "noise.h"
#include "op.h"

/* One frame is one Noise transport payload. */
_Static_assert(FV_FRAME_MAX == FV_NOISE_PAYLOAD_MAX, "frame vs noise");
/* The largest op entry fits an empty OPS frame. */
_Static_assert(FV_FRAME_HDR + 8 + 2 + 4 + FV_FRAME_OP_MAX <= FV_FRAME_MAX,
    "op vs frame");

#define OPS_HDR	    (FV_FRAME_HDR + 8 + 2) /* up to the first entry */
#define RECEIPT_TAG "fieldvault receipt"
_Static_assert(sizeof(RECEIPT_TAG) - 1 + FV_ID_BYTES + 16 + 1 +
	    FV_FRAME_NAME_MAX ==
	FV_RECEIPT_MSG_MAX,
    "receipt message");

/* An OP_PART's numbers: only for an op no OPS frame can carry. */
static int
part_ok(uint32_t total, uint32_t offset, size_t len)
{
	return total > FV_FRAME_OP_MAX && total <= FV_OP_MAX && len >= 1 &&
	    len <= FV_FRAME_PART_MAX && offset < total &&
	    len <= (size_t)(total - offset);
}

/* Refused code points: control characters, and those that let a peer's
 * text break or reorder a log line or a terminal. */
static int
cp_ok(uint32_t c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return 0;
	if (c == 0x2028 || c == 0x2029)
		return 0;
	if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return 0;
	return 1;
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) of code points cp_ok() accepts. */
int
fv_frame_text_ok(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, len;
	uint32_t c, min;

	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			len = 1;
			min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			min = 0x80;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			min = 0x800;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		if (len > n - i)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
		    !cp_ok(c))
			return 0;
		i += len;
	}
	return 1;
}

/* Reads u8 len then len bytes of text into out (room for max + 1). */
static void
rd_text(struct fv_rd *r, size_t min, size_t max, char *out)
{
	size_t n = fv_buf_rd_u8(r);
	const uint8_t *p;

	if ((p = fv_buf_rd_bytes(r, n)) == NULL)
		return;
	if (n < min || n > max || !fv_frame_text_ok((const char *)p, n)) {
		r->err = FV_EINVAL;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
rd_copy(struct fv_rd *r, void *out, size_t n)
{
	const uint8_t *p;

	if ((p = fv_buf_rd_bytes(r, n)) != NULL)
		memcpy(out, p, n);
}

/* The OPS body after first and count: count entries filling it exactly. */
static int
rd_ops(struct fv_rd *r, struct fv_frame *f)
{
	uint16_t i;
	uint32_t n;

	f->u.ops.first = fv_buf_rd_u64(r);
	f->u.ops.count = fv_buf_rd_u16(r);
	if (r->err || f->u.ops.count == 0 || f->u.ops.count > FV_FRAME_OPS_MAX)
		return FV_EINVAL;
	f->u.ops.p = r->p;
	f->u.ops.len = r->left;
	for (i = 0; i < f->u.ops.count; i++) {
		n = fv_buf_rd_u32(r);
		if (r->err || n == 0 || n > FV_FRAME_OP_MAX ||
		    fv_buf_rd_bytes(r, n) == NULL)
			return FV_EINVAL;
	}
	return 0;
}

int
fv_frame_decode(const uint8_t *buf, size_t len, struct fv_frame *f)
{
	struct fv_rd r = { buf, len, 0 };
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (len > FV_FRAME_MAX)
		goto bad;
	f->type = fv_buf_rd_u8(&r);
	if (fv_buf_rd_u8(&r) != 0 || r.err)
		goto bad;
	switch (f->type) {
	case FV_F_HQ_HELLO:
		f->u.hello.version = fv_buf_rd_u8(&r);
		rd_copy(&r, f->u.hello.id, FV_ID_BYTES);
		rd_text(&r, 1, FV_FRAME_NAME_MAX, f->u.hello.name);
		if (f->u.hello.version != FV_PROTO_VERSION)
			goto bad;
		break;
	case FV_F_DEV_HELLO:
		f->u.dev_hello.version = fv_buf_rd_u8(&r);
		rd_copy(&r, f->u.dev_hello.id, FV_ID_BYTES);
		rd_copy(&r, f->u.dev_hello.pk, 32);
		rd_text(&r, 1, FV_FRAME_NAME_MAX, f->u.dev_hello.name);
		f->u.dev_hello.enroll = fv_buf_rd_u8(&r);
		if (f->u.dev_hello.version != FV_PROTO_VERSION ||
		    f->u.dev_hello.enroll > 1)
			goto bad;
		if (f->u.dev_hello.enroll) {
			rd_copy(&r, f->u.dev_hello.token_id, FV_ID_BYTES);
			rd_copy(&r, f->u.dev_hello.mac, FV_FRAME_MAC_BYTES);
		}
		break;
	case FV_F_WANT:
		f->u.want.up = fv_buf_rd_u64(&r);
		f->u.want.down = fv_buf_rd_u64(&r);
		break;
	case FV_F_OPS:
		rc = rd_ops(&r, f);
		break;
	case FV_F_ACK:
		f->u.ack.up_to = fv_buf_rd_u64(&r);
		break;
	case FV_F_END:
		f->u.end.last = fv_buf_rd_u64(&r);
		break;
	case FV_F_RECEIPT:
		f->u.receipt.up_to = fv_buf_rd_u64(&r);
		f->u.receipt.hlc = fv_buf_rd_u64(&r);
		rd_text(&r, 0, FV_FRAME_NAME_MAX, f->u.receipt.group);
		rd_copy(&r, f->u.receipt.sig, FV_SIG_BYTES);
		break;
	case FV_F_REKEY:
		break;
	case FV_F_OP_PART:
		f->u.part.total = fv_buf_rd_u32(&r);
		f->u.part.offset = fv_buf_rd_u32(&r);
		f->u.part.len = r.left;
		f->u.part.p = fv_buf_rd_bytes(&r, r.left);
		if (r.err ||
		    !part_ok(f->u.part.total, f->u.part.offset, f->u.part.len))
			goto bad;
		break;
	case FV_F_DEVICE:
		rd_copy(&r, f->u.device.id, FV_ID_BYTES);
		rd_copy(&r, f->u.device.pk, 32);
		rd_text(&r, 1, FV_FRAME_NAME_MAX, f->u.device.name);
		break;
	case FV_F_ERROR:
		f->u.error.code = fv_buf_rd_u16(&r);
		rd_text(&r, 0, FV_FRAME_TEXT_MAX, f->u.error.text);
		if (f->u.error.code < 1 || f->u.error.code > FV_PE_MAX)
			goto bad;
		break;
	default:
		goto bad;
	}
	/* the body is exactly its layout: nothing short, nothing left */
	if (rc == 0 && r.err == 0 && r.left == 0)
		return 0;
bad:
	memset(f, 0, sizeof(*f));
	return FV_EINVAL;
}

void
fv_frame_ops_iter_init(struct fv_frame_ops_iter *it, const struct fv_frame *f)
{
	memset(it, 0, sizeof(*it));
	if (f->type != FV_F_OPS)
		return;
	it->p = f->u.ops.p;
	it->left = f->u.ops.len;
	it->n = f->u.ops.count;
}

int
fv_frame_ops_next(struct fv_frame_ops_iter *it, const uint8_t **op, size_t *len)
{
	struct fv_rd r = { it->p, it->left, 0 };
	uint32_t n;

	if (it->n == 0)
		return 0;
	/* fv_frame_decode() checked every entry; check again all the same,
	 * so that a frame the caller filled by hand cannot read past. */
	n = fv_buf_rd_u32(&r);
	if ((*op = fv_buf_rd_bytes(&r, n)) == NULL) {
		it->n = 0;
		return 0;
	}
	*len = n;
	it->p = r.p;
	it->left = r.left;
	it->n--;
	return 1;
}

static int
name_ok(const char *s, size_t min, size_t max)
{
	size_t n;

	if (s == NULL)
		return min == 0;
	n = strnlen(s, max + 1);
	return n >= min && n <= max && fv_frame_text_ok(s, n);
}

static void
put_hdr(struct fv_buf *b, uint8_t type)
{
	fv_buf_u8(b, type);
	fv_buf_u8(b, 0);
}

static void
put_text(struct fv_buf *b, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	fv_buf_u8(b, (uint8_t)n);
	fv_buf_put(b, s, n);
}

int
fv_frame_hq_hello(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const char *name)
{
	if (!name_ok(name, 1, FV_FRAME_NAME_MAX))
		return FV_EINVAL;
	put_hdr(b, FV_F_HQ_HELLO);
	fv_buf_u8(b, FV_PROTO_VERSION);
	fv_buf_put(b, id, FV_ID_BYTES);
	put_text(b, name);
	return b->err;
}

int
fv_frame_dev_hello(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const uint8_t pk[32], const char *name, const uint8_t *token_id,
    const uint8_t *mac)
{
	if (!name_ok(name, 1, FV_FRAME_NAME_MAX) ||
	    (token_id == NULL) != (mac == NULL))
		return FV_EINVAL;
	put_hdr(b, FV_F_DEV_HELLO);
	fv_buf_u8(b, FV_PROTO_VERSION);
	fv_buf_put(b, id, FV_ID_BYTES);
	fv_buf_put(b, pk, 32);
	put_text(b, name);
	fv_buf_u8(b, token_id != NULL);
	if (token_id != NULL) {
		fv_buf_put(b, token_id, FV_ID_BYTES);
		fv_buf_put(b, mac, FV_FRAME_MAC_BYTES);
	}
	return b->err;
}

int
fv_frame_want(struct fv_buf *b, uint64_t up, uint64_t down)
{
	put_hdr(b, FV_F_WANT);
	fv_buf_u64(b, up);
	fv_buf_u64(b, down);
	return b->err;
}

int
fv_frame_ack(struct fv_buf *b, uint64_t up_to)
{
	put_hdr(b, FV_F_ACK);
	fv_buf_u64(b, up_to);
	return b->err;
}

int
fv_frame_end(struct fv_buf *b, uint64_t last)
{
	put_hdr(b, FV_F_END);
	fv_buf_u64(b, last);
	return b->err;
}

int
fv_frame_receipt(struct fv_buf *b, uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t sig[FV_SIG_BYTES])
{
	size_t n = strlen(group);

	if (n > FV_FRAME_NAME_MAX || !fv_frame_text_ok(group, n))
		return FV_EINVAL;
	put_hdr(b, FV_F_RECEIPT);
	fv_buf_u64(b, up_to);
	fv_buf_u64(b, hlc);
	fv_buf_u8(b, (uint8_t)n);
	fv_buf_put(b, group, n);
	fv_buf_put(b, sig, FV_SIG_BYTES);
	return b->err;
}

int
fv_frame_rekey(struct fv_buf *b)
{
	put_hdr(b, FV_F_REKEY);
	return b->err;
}

int
fv_frame_error(struct fv_buf *b, uint16_t code, const char *text)
{
	if (code < 1 || code > FV_PE_MAX ||
	    !name_ok(text, 0, FV_FRAME_TEXT_MAX))
		return FV_EINVAL;
	put_hdr(b, FV_F_ERROR);
	fv_buf_u16(b, code);
	put_text(b, text);
	return b->err;
}

int
fv_frame_ops_begin(struct fv_frame_ops *o, struct fv_buf *b, uint64_t first)
{
	o->b = b;
	o->start = b->len;
	o->count = 0;
	put_hdr(b, FV_F_OPS);
	fv_buf_u64(b, first);
	fv_buf_u16(b, 0); /* the count, written by _end */
	return b->err;
}

int
fv_frame_ops_add(struct fv_frame_ops *o, const uint8_t *op, size_t len)
{
	struct fv_buf *b = o->b;

	if (b->err)
		return b->err;
	if (len == 0 || len > FV_FRAME_OP_MAX)
		return FV_EINVAL;
	if (o->count >= FV_FRAME_OPS_MAX ||
	    b->len - o->start + 4 + len > FV_FRAME_MAX)
		return FV_ETOOBIG;
	/* grow first: a failed grow then leaves the frame as it was */
	if (fv_buf_reserve(b, 4 + len) != 0)
		return b->err;
	fv_buf_u32(b, (uint32_t)len);
	fv_buf_put(b, op, len);
	o->count++;
	return 0;
}

int
fv_frame_ops_end(struct fv_frame_ops *o)
{
	struct fv_buf *b = o->b;

	if (b->err)
		return b->err;
	if (o->count == 0) {
		b->len = o->start;
		return FV_EINVAL;
	}
	b->p[o->start + OPS_HDR - 2] = (uint8_t)(o->count >> 8);
	b->p[o->start + OPS_HDR - 1] = (uint8_t)o->count;
	return 0;
}

void
fv_frame_ops_abort(struct fv_frame_ops *o)
{
	if (o->b != NULL && o->b->len > o->start)
		o->b->len = o->start;
	o->count = 0;
}

size_t
fv_frame_receipt_message(uint8_t out[FV_RECEIPT_MSG_MAX],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group)
{
	size_t t = sizeof(RECEIPT_TAG) - 1,
	       n = strnlen(group, FV_FRAME_NAME_MAX);

	memcpy(out, RECEIPT_TAG, t);
	memcpy(out + t, dev_id, FV_ID_BYTES);
	fv_buf_put_u64(out + t + FV_ID_BYTES, up_to);
	fv_buf_put_u64(out + t + FV_ID_BYTES + 8, hlc);
	out[t + FV_ID_BYTES + 16] = (uint8_t)n;
	memcpy(out + t + FV_ID_BYTES + 17, group, n);
	return t + FV_ID_BYTES + 17 + n;
}

void
fv_frame_receipt_sign(uint8_t sig[FV_SIG_BYTES],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t sk[64])
{
	uint8_t m[FV_RECEIPT_MSG_MAX];
	size_t n = fv_frame_receipt_message(m, dev_id, up_to, hlc, group);

	crypto_sign_detached(sig, NULL, m, n, sk);
}

int
fv_frame_receipt_verify(const uint8_t sig[FV_SIG_BYTES],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t pk[32])
{
	uint8_t m[FV_RECEIPT_MSG_MAX];
	size_t n = fv_frame_receipt_message(m, dev_id, up_to, hlc, group);

	if (crypto_sign_verify_detached(sig, m, n, pk) != 0)
		return FV_ESIG;
	return 0;
}

int
fv_frame_device(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const uint8_t pk[32], const char *name)
{
	if (!name_ok(name, 1, FV_FRAME_NAME_MAX))
		return FV_EINVAL;
	put_hdr(b, FV_F_DEVICE);
	fv_buf_put(b, id, FV_ID_BYTES);
	fv_buf_put(b, pk, 32);
	put_text(b, name);
	return b->err;
}

int
fv_frame_op_part(struct fv_buf *b, uint32_t total, uint32_t offset,
    const uint8_t *p, size_t len)
{
	if (!part_ok(total, offset, len))
		return FV_EINVAL;
	put_hdr(b, FV_F_OP_PART);
	fv_buf_u32(b, total);
	fv_buf_u32(b, offset);
	fv_buf_put(b, p, len);
	return b->err;
}

int
fv_frame_encode(const struct fv_frame *f, struct fv_buf *b)
{
	struct fv_frame_ops o;
	struct fv_frame_ops_iter it;
	const uint8_t *op;
	size_t len;
	int rc;

	switch (f->type) {
	case FV_F_HQ_HELLO:
		return fv_frame_hq_hello(b, f->u.hello.id, f->u.hello.name);
	case FV_F_DEV_HELLO:
		return fv_frame_dev_hello(b, f->u.dev_hello.id,
		    f->u.dev_hello.pk, f->u.dev_hello.name,
		    f->u.dev_hello.enroll ? f->u.dev_hello.token_id : NULL,
		    f->u.dev_hello.enroll ? f->u.dev_hello.mac : NULL);
	case FV_F_WANT:
		return fv_frame_want(b, f->u.want.up, f->u.want.down);
	case FV_F_OPS:
		if ((rc = fv_frame_ops_begin(&o, b, f->u.ops.first)) != 0)
			return rc;
		fv_frame_ops_iter_init(&it, f);
		while (fv_frame_ops_next(&it, &op, &len))
			if ((rc = fv_frame_ops_add(&o, op, len)) != 0)
				return rc;
		return fv_frame_ops_end(&o);
	case FV_F_ACK:
		return fv_frame_ack(b, f->u.ack.up_to);
	case FV_F_END:
		return fv_frame_end(b, f->u.end.last);
	case FV_F_RECEIPT:
		return fv_frame_receipt(b, f->u.receipt.up_to, f->u.receipt.hlc,
		    f->u.receipt.group, f->u.receipt.sig);
	case FV_F_REKEY:
		return fv_frame_rekey(b);
	case FV_F_ERROR:
		return fv_frame_error(b, f->u.error.code, f->u.error.text);
	case FV_F_DEVICE:
		return fv_frame_device(b, f->u.device.id, f->u.device.pk,
		    f->u.device.name);
	case FV_F_OP_PART:
		return fv_frame_op_part(b, f->u.part.total, f->u.part.offset,
		    f->u.part.p, f->u.part.len);
	}
	return FV_EINVAL;
}
