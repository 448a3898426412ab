/*
 * fuzz_frame.c - the decoders of what a sync peer sends before and after
 * the handshake: a frame (frame.h) and an enrollment token (token.h).
 *
 * An input is raw bytes.  If it decodes as a frame, the encoding is
 * canonical: the encoders write back exactly the input; every op of an
 * OPS frame lies inside the input and goes through fv_op_decode() without
 * crashing.  The same bytes, as a NUL-terminated string, as a token: what
 * decodes encodes back to the same text.  A broken invariant abort()s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "frame.h"
#include "fuzz.h"
#include "fv_error.h"
#include "op.h"
#include "token.h"

static void
frame_path(const uint8_t *data, size_t size)
{
	struct fv_frame f;
	struct fv_frame_ops_iter it;
	struct fv_buf b = { 0 };
	struct fv_op op;
	const uint8_t *p;
	size_t len;
	unsigned n = 0;

	if (fv_frame_decode(data, size, &f) != 0) {
		CHECK(f.type == 0);
		return;
	}
	CHECK(size >= FV_FRAME_HDR && size <= FV_FRAME_MAX);
	CHECK(fv_frame_encode(&f, &b) == 0);
	CHECK(b.len == size && memcmp(b.p, data, size) == 0);
	fv_buf_free(&b);

	if (f.type != FV_F_OPS)
		return;
	CHECK(f.u.ops.count >= 1 && f.u.ops.count <= FV_FRAME_OPS_MAX);
	fv_frame_ops_iter_init(&it, &f);
	while (fv_frame_ops_next(&it, &p, &len)) {
		CHECK(len >= 1 && len <= FV_FRAME_OP_MAX);
		CHECK(p >= data && p + len <= data + size);
		if (fv_op_decode(p, len, &op) == 0)
			free(op.fields);
		n++;
	}
	CHECK(n == f.u.ops.count);
}

static void
token_path(const uint8_t *data, size_t size)
{
	struct fv_token t;
	char *s, out[FV_TOKEN_STR_MAX];

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (fv_token_decode(s, &t) == 0) {
		CHECK(fv_token_addr_ok(t.addr, strlen(t.addr)));
		CHECK(fv_token_encode(&t, out, sizeof(out)) == 0);
		CHECK(strcmp(out, s) == 0);
	}
	free(s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	frame_path(data, size);
	token_path(data, size);
	return 0;
}
