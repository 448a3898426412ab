/*
 * fuzz_op.c - the binary decoders of what sync receives and the store
 * reads back: a signed op (op.h) and a record state (state.h).
 *
 * An input is raw bytes.  If it decodes as an op, the encoding is
 * canonical: encoding the op again gives back exactly the bytes before the
 * signature.  The signature check must not crash whatever the bytes, and
 * the op applied to an empty state must give a state that survives its
 * own encoding.  The same bytes as a state: decoding must not crash, and
 * what decodes must encode to a fixed point and render (or refuse to) as
 * a record.  A broken invariant abort()s.
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
#include "state.h"

/* The key tests/fuzz/mkcorpus_op.c signs the seed ops with. */
static const char SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz op corpus key!!";
static uint8_t pk[crypto_sign_PUBLICKEYBYTES];

static const uint8_t RID[FV_ID_BYTES] = { 0xf0, 0x0d };

/* st encodes, decodes and encodes again to the same bytes; it renders as
 * JSON or is refused (a value that is not JSON), without crashing. */
static void
state_fixpoint(const struct fv_state *st)
{
	struct fv_buf a = { 0 }, b = { 0 };
	struct fv_state back;
	json_t *j;

	CHECK(fv_state_encode(st, &a) == 0);
	CHECK(fv_state_decode(a.p, a.len, &back) == 0);
	CHECK(fv_state_encode(&back, &b) == 0);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	if ((j = fv_state_to_json(&back, RID, "fuzz")) != NULL)
		json_decref(j);
	fv_state_free(&back);
	fv_buf_free(&a);
	fv_buf_free(&b);
}

static void
op_path(const uint8_t *data, size_t size)
{
	struct fv_op op;
	struct fv_buf b = { 0 };
	struct fv_state st;
	uint32_t i;
	int conflict;

	if (fv_op_decode(data, size, &op) != 0) {
		CHECK(op.fields == NULL);
		return;
	}
	CHECK(size >= FV_OP_HDR + FV_SIG_BYTES && size <= FV_OP_MAX);
	for (i = 0; i < op.nfields; i++) {
		const struct fv_leaf *f = &op.fields[i];

		/* every string points into the input */
		CHECK((const uint8_t *)f->path >= data &&
		    (const uint8_t *)f->path + f->pathlen <= data + size);
		CHECK(f->val == NULL ||
		    ((const uint8_t *)f->val >= data &&
			(const uint8_t *)f->val + f->vallen <= data + size));
	}
	CHECK(fv_op_encode(&op, &b) == 0);
	CHECK(b.len == size - FV_SIG_BYTES && memcmp(b.p, data, b.len) == 0);
	fv_buf_free(&b);
	/* its wire form comes back byte for byte */
	{
		struct fv_buf w = { 0 }, back = { 0 };

		CHECK(fv_op_pack(data, size, &w) == 0 && w.len <= size);
		CHECK(fv_op_unpack(w.p, w.len, &back) == 0);
		CHECK(back.len == size && memcmp(back.p, data, size) == 0);
		fv_buf_free(&w);
		fv_buf_free(&back);
	}

	memset(&st, 0, sizeof(st));
	CHECK(fv_state_apply(&st, &op, &conflict) == 0);
	CHECK(st.nops == 1 && st.rtype == op.rtype);
	state_fixpoint(&st);
	fv_state_free(&st);
	free(op.fields);
}

static void
state_path(const uint8_t *data, size_t size)
{
	struct fv_state st;

	if (fv_state_decode(data, size, &st) != 0) {
		CHECK(st.oprefs == NULL && st.leaves.v == NULL);
		return;
	}
	state_fixpoint(&st);
	fv_state_free(&st);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	if (sodium_init() < 0)
		abort();
	json_object_seed(0x5eed);
	crypto_sign_seed_keypair(pk, sk, (const uint8_t *)SEED);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	op_path(data, size);
	/* any bytes as a wire form: what unpacks has an op's layout, and
	 * packs back to no more bytes */
	{
		struct fv_buf back = { 0 }, w = { 0 };

		if (fv_op_unpack(data, size, &back) == 0) {
			CHECK(back.len >= size && back.len <= FV_OP_MAX);
			CHECK(fv_op_pack(back.p, back.len, &w) == 0 &&
			    w.len <= size);
		} else
			CHECK(back.len == 0);
		fv_buf_free(&back);
		fv_buf_free(&w);
	}
	/* any bytes: a short or forged op is refused, never read past */
	(void)fv_op_verify(data, size, pk);
	state_path(data, size);
	return 0;
}
