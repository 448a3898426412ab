/*
 * bundle.c - a sync session in a file: the frames of a session, sealed to
 * the receiver and signed by the sender.  Nothing of a bundle is used
 * before the whole of it is checked.
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "bundle.h"
#include "frame.h"
#include "fv_error.h"
#include "op.h"

#define SEAL_BYTES crypto_box_SEALBYTES
#define SIG_BYTES  crypto_sign_BYTES

_Static_assert(FV_BUNDLE_HDR == 55, "bundle header");
_Static_assert(sizeof(FV_BUNDLE_MAGIC) - 1 == FV_BUNDLE_MAGIC_LEN, "magic");
_Static_assert(SIG_BYTES == FV_SIG_BYTES, "signature size");
_Static_assert(crypto_box_PUBLICKEYBYTES == 32 &&
	crypto_box_SECRETKEYBYTES == 32,
    "X25519 key size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == 32 &&
	crypto_sign_SECRETKEYBYTES == 64,
    "Ed25519 key size");
/* n is a u32, and so is every size below FV_BUNDLE_MAX */
_Static_assert(FV_BUNDLE_MAX <= UINT32_MAX, "bundle size");
_Static_assert(FV_BUNDLE_MAX > FV_BUNDLE_HDR + SEAL_BYTES + SIG_BYTES,
    "bundle limit");

/* The largest payload a bundle can carry. */
#define PAYLOAD_MAX (FV_BUNDLE_MAX - FV_BUNDLE_HDR - SEAL_BYTES - SIG_BYTES)

static int
dir_ok(uint8_t dir)
{
	return dir == FV_BUNDLE_UP || dir == FV_BUNDLE_DOWN;
}

/*
 * Reads one u32 len | frame from r and decodes it into *f: 1, 0 at the
 * end of the payload, or FV_EINVAL (sticky in r->err, *f zeroed).
 */
static int
next_frame(struct fv_rd *r, struct fv_frame *f, const uint8_t **raw,
    size_t *rawlen)
{
	const uint8_t *p;
	uint32_t n;

	if (r->err)
		goto bad;
	if (r->left == 0)
		return 0;
	n = fv_buf_rd_u32(r);
	if (r->err || n == 0 || n > FV_FRAME_MAX ||
	    (p = fv_buf_rd_bytes(r, n)) == NULL ||
	    fv_frame_decode(p, n, f) != 0)
		goto bad;
	if (raw != NULL) {
		*raw = p;
		*rawlen = n;
	}
	return 1;
bad:
	r->err = FV_EINVAL;
	memset(f, 0, sizeof(*f));
	return FV_EINVAL;
}

int
fv_bundle_add(struct fv_buf *payload, const uint8_t *frame, size_t len)
{
	if (payload->err)
		return payload->err;
	if (len == 0 || len > FV_FRAME_MAX)
		return FV_EINVAL;
	/* grow first: a failed grow then appends nothing */
	if (fv_buf_reserve(payload, 4 + len) != 0)
		return payload->err;
	fv_buf_u32(payload, (uint32_t)len);
	fv_buf_put(payload, frame, len);
	return 0;
}

int
fv_bundle_check(const uint8_t *payload, size_t len)
{
	struct fv_rd r = { payload, len, 0 };
	struct fv_frame f;
	size_t i;
	int rc, end = 0;

	for (i = 0; (rc = next_frame(&r, &f, NULL, NULL)) == 1; i++) {
		if (end)
			return FV_EINVAL; /* nothing after END */
		if (i == 0) {
			if (f.type != FV_F_WANT)
				return FV_EINVAL;
		} else if (f.type == FV_F_END)
			end = 1;
		else if (f.type != FV_F_DEVICE && f.type != FV_F_OPS &&
		    f.type != FV_F_OP_PART && f.type != FV_F_RECEIPT)
			return FV_EINVAL;
	}
	return rc == 0 && end ? 0 : FV_EINVAL;
}

void
fv_bundle_iter_init(struct fv_bundle_iter *it, const uint8_t *payload,
    size_t len)
{
	it->r.p = payload;
	it->r.left = len;
	/* The reader alone cannot tell the order of frames: check the whole
	 * grammar here, so that a refused payload yields no frame at all. */
	it->r.err = fv_bundle_check(payload, len) != 0 ? FV_EINVAL : 0;
}

int
fv_bundle_next(struct fv_bundle_iter *it, struct fv_frame *f)
{
	const uint8_t *p;
	size_t n;

	return fv_bundle_next_raw(it, f, &p, &n);
}

int
fv_bundle_next_raw(struct fv_bundle_iter *it, struct fv_frame *f,
    const uint8_t **p, size_t *len)
{
	int rc = next_frame(&it->r, f, p, len);

	if (rc == 0)
		memset(f, 0, sizeof(*f));
	return rc;
}

int
fv_bundle_peek(const uint8_t *buf, size_t len, struct fv_bundle_hdr *h)
{
	struct fv_rd r = { buf, len, 0 };
	const uint8_t *magic, *sender, *receiver;
	uint32_t n;

	memset(h, 0, sizeof(*h));
	if (len > FV_BUNDLE_MAX)
		return FV_EINVAL;
	magic = fv_buf_rd_bytes(&r, FV_BUNDLE_MAGIC_LEN);
	h->dir = fv_buf_rd_u8(&r);
	sender = fv_buf_rd_bytes(&r, FV_ID_BYTES);
	receiver = fv_buf_rd_bytes(&r, FV_ID_BYTES);
	h->created_ms = fv_buf_rd_u64(&r);
	n = fv_buf_rd_u32(&r);
	/* r.left - SIG_BYTES == n, without n + SIG_BYTES overflowing */
	if (r.err || memcmp(magic, FV_BUNDLE_MAGIC, FV_BUNDLE_MAGIC_LEN) != 0 ||
	    !dir_ok(h->dir) || n < SEAL_BYTES || r.left < SIG_BYTES ||
	    r.left - SIG_BYTES != n) {
		memset(h, 0, sizeof(*h));
		return FV_EINVAL;
	}
	memcpy(h->sender, sender, FV_ID_BYTES);
	memcpy(h->receiver, receiver, FV_ID_BYTES);
	return 0;
}

int
fv_bundle_seal(const struct fv_bundle_hdr *h, const uint8_t *payload,
    size_t len, const uint8_t receiver_xpk[32], const uint8_t *sender_sk,
    struct fv_buf *out)
{
	size_t n, total;
	uint8_t *p;
	int rc;

	if (out->err)
		return out->err;
	if (!dir_ok(h->dir))
		return FV_EINVAL;
	/* the sizes before the payload is read or anything allocated */
	if (len > PAYLOAD_MAX)
		return FV_ETOOBIG;
	if ((rc = fv_bundle_check(payload, len)) != 0)
		return rc;
	n = len + SEAL_BYTES;
	total = FV_BUNDLE_HDR + n + SIG_BYTES;
	if (fv_buf_reserve(out, total) != 0)
		return out->err;

	/* Written past out->len, which moves only once all is done: on an
	 * error out holds what it held. */
	p = out->p + out->len;
	memcpy(p, FV_BUNDLE_MAGIC, FV_BUNDLE_MAGIC_LEN);
	p[FV_BUNDLE_MAGIC_LEN] = h->dir;
	memcpy(p + FV_BUNDLE_MAGIC_LEN + 1, h->sender, FV_ID_BYTES);
	memcpy(p + FV_BUNDLE_MAGIC_LEN + 1 + FV_ID_BYTES, h->receiver,
	    FV_ID_BYTES);
	fv_buf_put_u64(p + FV_BUNDLE_HDR - 12, h->created_ms);
	fv_buf_put_u32(p + FV_BUNDLE_HDR - 4, (uint32_t)n);
	/* fails only for a receiver key of low order */
	if (crypto_box_seal(p + FV_BUNDLE_HDR, payload, len, receiver_xpk) != 0)
		return FV_EINVAL;
	crypto_sign_detached(p + FV_BUNDLE_HDR + n, NULL, p, FV_BUNDLE_HDR + n,
	    sender_sk);
	out->len += total;
	return 0;
}

int
fv_bundle_open(const uint8_t *buf, size_t len, const uint8_t sender_pk[32],
    const uint8_t self_xpk[32], const uint8_t *self_xsk,
    struct fv_bundle_hdr *h, struct fv_buf *payload)
{
	size_t n, mlen;
	int rc;

	memset(payload, 0, sizeof(*payload));
	if ((rc = fv_bundle_peek(buf, len, h)) != 0)
		return rc;
	/* The signature first: until it holds, nothing of the file is the
	 * sender's, and an open seal would cost a stranger's allocation. */
	if (crypto_sign_verify_detached(buf + len - SIG_BYTES, buf,
		len - SIG_BYTES, sender_pk) != 0) {
		rc = FV_ESIG;
		goto bad;
	}
	n = len - FV_BUNDLE_HDR - SIG_BYTES;
	mlen = n - SEAL_BYTES;
	/* at least a byte: libsodium gets a real pointer for an empty one */
	if (fv_buf_reserve(payload, mlen > 0 ? mlen : 1) != 0) {
		rc = payload->err;
		goto bad;
	}
	if (crypto_box_seal_open(payload->p, buf + FV_BUNDLE_HDR, n, self_xpk,
		self_xsk) != 0) {
		rc = FV_ESIG;
		goto bad;
	}
	payload->len = mlen;
	if ((rc = fv_bundle_check(payload->p, payload->len)) != 0)
		goto bad;
	return 0;
bad:
	fv_buf_free(payload); /* wipes */
	memset(h, 0, sizeof(*h));
	return rc;
}
