/*
 * mkcorpus_bundle.c - writes the seed corpus of fuzz_bundle: payloads,
 * bundles made with the harness's fixed keys, and truncated and corrupted
 * variants.  Not built by make; run by hand from the top of a built tree
 * when bundle.h or frame.h change:
 *
 *   cc -Idaemon/core tests/fuzz/mkcorpus_bundle.c daemon/core/bundle.c \
 *       daemon/core/.libs/libfvcore.a -lsodium -ljansson -llmdb \
 *       -lunistring -lpthread -o /tmp/mkcorpus_bundle
 *   /tmp/mkcorpus_bundle tests/fuzz/corpus/bundle
 *
 * (bundle.c by name until libfvcore has it.)  A bundle's seal takes a
 * fresh ephemeral key, so the bundle files differ from run to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "bundle.h"
#include "frame.h"
#include "op.h"

/* The same seeds as fuzz_bundle.c. */
static const char SENDER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz bundle sender!!";
static const char RECEIVER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz bundle receiver";
static uint8_t spk[32], ssk[64], rpk[32], rsk[64], rxpk[32], rxsk[32];
static const char *outdir;

static void
save(const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len ||
	    fclose(f) != 0) {
		fprintf(stderr, "mkcorpus_bundle: %s: cannot write\n", path);
		exit(1);
	}
}

static void
add(struct fv_buf *pl, struct fv_buf *f)
{
	if (f->err || fv_bundle_add(pl, f->p, f->len) != 0) {
		fprintf(stderr, "mkcorpus_bundle: cannot build a frame\n");
		exit(1);
	}
	f->len = 0;
}

/* WANT, DEVICE, OPS (two ops), OPS (one), END; the ops arbitrary bytes. */
static void
full_payload(struct fv_buf *pl)
{
	static const uint8_t op1[] = "an op", op2[] = { 0xff, 0, 0xfe };
	struct fv_buf f = { 0 };
	struct fv_frame_ops o;

	fv_frame_want(&f, 7, 0);
	add(pl, &f);
	fv_frame_device(&f, (const uint8_t *)"0123456789abcdef", spk,
	    "field-1");
	add(pl, &f);
	fv_frame_ops_begin(&o, &f, 100);
	fv_frame_ops_add(&o, op1, sizeof(op1));
	fv_frame_ops_add(&o, op2, sizeof(op2));
	fv_frame_ops_end(&o);
	add(pl, &f);
	fv_frame_ops_begin(&o, &f, 102);
	fv_frame_ops_add(&o, op2, sizeof(op2));
	fv_frame_ops_end(&o);
	add(pl, &f);
	fv_frame_end(&f, 102);
	add(pl, &f);
	fv_buf_free(&f);
}

static void
hdr(struct fv_bundle_hdr *h, uint8_t dir)
{
	memset(h, 0, sizeof(*h));
	h->dir = dir;
	crypto_generichash(h->sender, FV_ID_BYTES, spk, 32, NULL, 0);
	crypto_generichash(h->receiver, FV_ID_BYTES, rpk, 32, NULL, 0);
	h->created_ms = 1700000000000ULL;
}

/* A bundle around any payload, grammar unchecked, signed by sk. */
static void
raw_bundle(struct fv_buf *b, const uint8_t *m, size_t mlen, const uint8_t *xpk,
    const uint8_t *sk)
{
	struct fv_bundle_hdr h;

	hdr(&h, FV_BUNDLE_UP);
	b->len = 0;
	fv_buf_put(b, FV_BUNDLE_MAGIC, FV_BUNDLE_MAGIC_LEN);
	fv_buf_u8(b, h.dir);
	fv_buf_put(b, h.sender, FV_ID_BYTES);
	fv_buf_put(b, h.receiver, FV_ID_BYTES);
	fv_buf_u64(b, h.created_ms);
	fv_buf_u32(b, (uint32_t)(mlen + crypto_box_SEALBYTES));
	if (fv_buf_reserve(b,
		mlen + crypto_box_SEALBYTES + crypto_sign_BYTES) != 0 ||
	    crypto_box_seal(b->p + b->len, m, mlen, xpk) != 0)
		exit(1);
	b->len += mlen + crypto_box_SEALBYTES;
	crypto_sign_detached(b->p + b->len, NULL, b->p, b->len, sk);
	b->len += crypto_sign_BYTES;
}

int
main(int argc, char **argv)
{
	struct fv_buf pl = { 0 }, min = { 0 }, f = { 0 }, b = { 0 };
	struct fv_bundle_hdr h;
	uint8_t opk[32], osk[64], oxpk[32], *p;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus_bundle dir\n");
		return 2;
	}
	outdir = argv[1];
	if (sodium_init() < 0)
		return 1;
	crypto_sign_seed_keypair(spk, ssk, (const uint8_t *)SENDER_SEED);
	crypto_sign_seed_keypair(rpk, rsk, (const uint8_t *)RECEIVER_SEED);
	if (crypto_sign_ed25519_pk_to_curve25519(rxpk, rpk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(rxsk, rsk) != 0)
		return 1;
	crypto_sign_keypair(opk, osk);
	if (crypto_sign_ed25519_pk_to_curve25519(oxpk, opk) != 0)
		return 1;

	/* payloads */
	full_payload(&pl);
	save("payload-full", pl.p, pl.len);
	fv_frame_want(&f, 0, 0);
	add(&min, &f);
	fv_frame_end(&f, 0);
	add(&min, &f);
	save("payload-min", min.p, min.len);
	save("payload-bad-truncated", pl.p, pl.len - 3);
	p = malloc(pl.len + min.len);
	memcpy(p, pl.p, pl.len);
	memcpy(p + pl.len, min.p + min.len - 14, 14); /* END again */
	save("payload-bad-after-end", p, pl.len + 14);
	memcpy(p, min.p, min.len);
	p[5] = 1; /* WANT's flags */
	save("payload-bad-frame", p, min.len);
	memcpy(p, min.p + 22, 14); /* END, then WANT */
	memcpy(p + 14, min.p, 22);
	save("payload-bad-order", p, min.len);
	memcpy(p, min.p, 22);
	memset(p + 22, 0, 4); /* length 0 */
	memcpy(p + 26, min.p + 22, 14);
	save("payload-bad-len0", p, 40);
	free(p);

	/* whole bundles with the fixed keys */
	hdr(&h, FV_BUNDLE_UP);
	if (fv_bundle_seal(&h, pl.p, pl.len, rxpk, ssk, &b) != 0)
		return 1;
	save("bundle-up", b.p, b.len);
	save("bundle-truncated", b.p, b.len - 1);
	b.p[b.len - 1] ^= 1;
	save("bundle-bad-sig", b.p, b.len);
	b.p[b.len - 1] ^= 1;
	b.p[0] = 'f';
	save("bundle-bad-magic", b.p, b.len);
	b.len = 0;
	hdr(&h, FV_BUNDLE_DOWN);
	if (fv_bundle_seal(&h, min.p, min.len, rxpk, ssk, &b) != 0)
		return 1;
	save("bundle-down-min", b.p, b.len);
	/* a sealed byte changed and signed again: only the seal's MAC
	 * catches it */
	b.p[FV_BUNDLE_HDR + 5] ^= 0x20;
	crypto_sign_detached(b.p + b.len - crypto_sign_BYTES, NULL, b.p,
	    b.len - crypto_sign_BYTES, ssk);
	save("bundle-bad-sealed", b.p, b.len);
	raw_bundle(&b, pl.p, pl.len, oxpk, ssk);
	save("bundle-other-receiver", b.p, b.len);
	raw_bundle(&b, pl.p, pl.len, rxpk, osk);
	save("bundle-other-signer", b.p, b.len);
	raw_bundle(&b, pl.p, pl.len - 14, rxpk, ssk);
	save("bundle-bad-grammar", b.p, b.len);

	fv_buf_free(&f);
	fv_buf_free(&b);
	fv_buf_free(&min);
	fv_buf_free(&pl);
	sodium_memzero(osk, sizeof(osk));
	return 0;
}
