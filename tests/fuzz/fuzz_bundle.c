/*
 * fuzz_bundle.c - the parser of bundles (bundle.h), with fixed test keys.
 *
 * An input is raw bytes, taken three ways.  As a payload: fv_bundle_check()
 * and the iterator agree, and what is accepted is exactly a sequence of
 * u32 len | frame, WANT first and END last, every frame re-encoding to
 * its bytes; sealed and signed, it opens to itself.  As a bundle header:
 * what fv_bundle_peek() accepts has the layout of bundle.h.  As a whole
 * bundle: fv_bundle_open() never crashes, leaves nothing on refusal, and
 * accepts only a genuine bundle (signed by the fixed sender, a payload
 * that checks).  A broken invariant abort()s.
 *
 * The seed corpus (tests/fuzz/corpus/bundle/) is written by
 * mkcorpus_bundle.c with the same seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "bundle.h"
#include "frame.h"
#include "fuzz.h"
#include "fv_error.h"
#include "op.h"

#define SEAL crypto_box_SEALBYTES
#define SIG  crypto_sign_BYTES

/* The same seeds as mkcorpus_bundle.c: the sender signs, the receiver
 * opens (its X25519 pair made from its Ed25519 one). */
static const char SENDER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz bundle sender!!";
static const char RECEIVER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz bundle receiver";
static uint8_t spk[32], ssk[64], rpk[32], rsk[64], rxpk[32], rxsk[32];

/* fv_bundle_peek(): what it accepts has the layout of bundle.h. */
static void
peek_path(const uint8_t *data, size_t size)
{
	struct fv_bundle_hdr h;

	if (fv_bundle_peek(data, size, &h) != 0) {
		CHECK(sodium_is_zero((const unsigned char *)&h, sizeof(h)));
		return;
	}
	CHECK(size >= FV_BUNDLE_HDR + SEAL + SIG && size <= FV_BUNDLE_MAX);
	CHECK(memcmp(data, FV_BUNDLE_MAGIC, FV_BUNDLE_MAGIC_LEN) == 0);
	CHECK(h.dir == FV_BUNDLE_UP || h.dir == FV_BUNDLE_DOWN);
	CHECK(h.dir == data[FV_BUNDLE_MAGIC_LEN]);
	CHECK(memcmp(h.sender, data + 11, FV_ID_BYTES) == 0);
	CHECK(memcmp(h.receiver, data + 27, FV_ID_BYTES) == 0);
	CHECK(h.created_ms == fv_buf_get_u64(data + 43));
	CHECK(fv_buf_get_u32(data + 51) == size - FV_BUNDLE_HDR - SIG);
}

/*
 * fv_bundle_check() and the iterator, against a walk of the length
 * prefixes here: on acceptance the iterator yields exactly the frames,
 * in order, each re-encoding to its bytes; on refusal it yields an error,
 * never a clean end.  Returns check's verdict.
 */
static int
payload_path(const uint8_t *data, size_t size)
{
	struct fv_bundle_iter it;
	struct fv_frame f;
	struct fv_rd r = { data, size, 0 };
	struct fv_buf b = { 0 };
	const uint8_t *p;
	size_t i;
	uint32_t n;
	int rc, got;

	rc = fv_bundle_check(data, size);
	CHECK(rc == 0 || rc == FV_EINVAL);
	fv_bundle_iter_init(&it, data, size);
	if (rc != 0) {
		for (i = 0; (got = fv_bundle_next(&it, &f)) == 1; i++)
			CHECK(i < size);
		CHECK(got == FV_EINVAL && f.type == 0);
		return rc;
	}

	for (i = 0; r.left > 0; i++) {
		n = fv_buf_rd_u32(&r);
		p = fv_buf_rd_bytes(&r, n);
		CHECK(r.err == 0 && n >= 1 && n <= FV_FRAME_MAX);
		CHECK(fv_bundle_next(&it, &f) == 1);
		b.len = 0;
		CHECK(fv_frame_encode(&f, &b) == 0);
		CHECK(b.len == n && memcmp(b.p, p, n) == 0);
		if (i == 0)
			CHECK(f.type == FV_F_WANT);
		else if (r.left == 0)
			CHECK(f.type == FV_F_END);
		else
			CHECK(f.type == FV_F_DEVICE || f.type == FV_F_OPS ||
			    f.type == FV_F_OP_PART || f.type == FV_F_RECEIPT);
		if (f.type == FV_F_OPS)
			CHECK(f.u.ops.p >= p &&
			    f.u.ops.p + f.u.ops.len <= p + n);
	}
	CHECK(i >= 2);
	CHECK(fv_bundle_next(&it, &f) == 0 && f.type == 0);
	CHECK(fv_bundle_next(&it, &f) == 0);
	fv_buf_free(&b);
	return 0;
}

/* A payload, sealed and signed: it opens to itself; refused, sealing
 * writes nothing. */
static void
seal_path(const uint8_t *data, size_t size, int checked)
{
	struct fv_bundle_hdr h, g;
	struct fv_buf out = { 0 }, got = { 0 };
	int rc;

	memset(&h, 0, sizeof(h));
	h.dir = size % 2 ? FV_BUNDLE_UP : FV_BUNDLE_DOWN;
	crypto_generichash(h.sender, FV_ID_BYTES, spk, 32, NULL, 0);
	crypto_generichash(h.receiver, FV_ID_BYTES, rpk, 32, NULL, 0);
	h.created_ms = size;
	rc = fv_bundle_seal(&h, data, size, rxpk, ssk, &out);
	if (checked != 0) {
		CHECK(rc == FV_EINVAL && out.len == 0 && out.err == 0);
		fv_buf_free(&out);
		return;
	}
	if (size > FV_BUNDLE_MAX - FV_BUNDLE_HDR - SEAL - SIG) {
		CHECK(rc == FV_ETOOBIG && out.len == 0);
		fv_buf_free(&out);
		return;
	}
	CHECK(rc == 0 && out.len == FV_BUNDLE_HDR + size + SEAL + SIG);
	CHECK(fv_bundle_open(out.p, out.len, spk, rxpk, rxsk, &g, &got) == 0);
	CHECK(g.dir == h.dir && g.created_ms == h.created_ms &&
	    memcmp(g.sender, h.sender, FV_ID_BYTES) == 0 &&
	    memcmp(g.receiver, h.receiver, FV_ID_BYTES) == 0);
	CHECK(got.len == size && memcmp(got.p, data, size) == 0);
	fv_buf_free(&got);
	fv_buf_free(&out);
}

/* A whole bundle: refused cleanly, or genuine. */
static void
open_path(const uint8_t *data, size_t size)
{
	struct fv_bundle_hdr h;
	struct fv_buf pl;
	int rc;

	rc = fv_bundle_open(data, size, spk, rxpk, rxsk, &h, &pl);
	if (rc != 0) {
		CHECK(rc == FV_EINVAL || rc == FV_ESIG);
		CHECK(sodium_is_zero((const unsigned char *)&h, sizeof(h)));
		CHECK(pl.p == NULL && pl.len == 0 && pl.cap == 0);
		return;
	}
	CHECK(fv_bundle_peek(data, size, &h) == 0);
	CHECK(crypto_sign_verify_detached(data + size - SIG, data, size - SIG,
		  spk) == 0);
	CHECK(size == FV_BUNDLE_HDR + pl.len + SEAL + SIG);
	CHECK(fv_bundle_check(pl.p, pl.len) == 0);
	fv_buf_free(&pl);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(spk, ssk, (const uint8_t *)SENDER_SEED);
	crypto_sign_seed_keypair(rpk, rsk, (const uint8_t *)RECEIVER_SEED);
	if (crypto_sign_ed25519_pk_to_curve25519(rxpk, rpk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(rxsk, rsk) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc;

	peek_path(data, size);
	rc = payload_path(data, size);
	seal_path(data, size, rc);
	open_path(data, size);
	return 0;
}
