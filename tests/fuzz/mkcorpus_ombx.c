/*
 * mkcorpus_ombx.c - writes the seed corpus of fuzz_ombx: for each layer
 * (the input's first byte: 0 package, 1 opened seal, 2 payload, 3 record)
 * valid seeds made with the harness's fixed keys, and a few refused
 * variants.  Not built by make; run by hand from the top of the tree when
 * ombx_format.h changes:
 *
 *   cc -Iplugins/ombx tests/fuzz/mkcorpus_ombx.c plugins/ombx/ombx_format.c \
 *       -ljansson -lsodium -o /tmp/mkcorpus_ombx
 *   /tmp/mkcorpus_ombx tests/fuzz/corpus/ombx
 *
 * A seal takes a fresh ephemeral key, so the package files differ from
 * run to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ombx_format.h"

/* The same seeds as fuzz_ombx.c. */
static const char SENDER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz ombx sender!!!!";
static const char RECEIVER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz ombx receiver!!";
static uint8_t spk[32], ssk[64], rpk[32], rsk[64], rxpk[32], rxsk[32];
static const char *outdir;

enum {
	L_PACKAGE = 0,
	L_INNER = 1,
	L_PAYLOAD = 2,
	L_RECORD = 3
};

#define REC_PLAIN \
	"{\"id\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"," \
	"\"type\":\"appeal\",\"applicant\":{\"full_name\":\"Rustam Karimov\"," \
	"\"birth_date\":\"1985-03-14\",\"citizenship\":\"UZ\"," \
	"\"residence_country\":\"RU\",\"location\":\"SIZO-1\"," \
	"\"contact\":\"+7 900\"},\"concerns_country\":\"RU\",\"category\":" \
	"\"detention_conditions\",\"channel\":\"visit\",\"received_at\":" \
	"\"2026-01-10T09:00:00Z\",\"summary\":\"No medical care.\"," \
	"\"status\":\"under_review\",\"assigned_to\":\"ru-team\",\"tags\":" \
	"[\"sizo\",\"health\"],\"x_case\":\"17\"}"
#define REC_CONF \
	"{\"id\":\"a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2\"," \
	"\"type\":\"appeal\",\"applicant\":{\"full_name\":\"D. Yusupova\"," \
	"\"contact\":\"d@example.org\",\"citizenship\":\"UZ\"," \
	"\"confidential\":true},\"concerns_country\":\"RU\",\"category\":" \
	"\"labour_rights\",\"received_at\":\"2026-02-01T08:30:00+05:00\"," \
	"\"summary\":\"Шерзод: oʻzbek tilida.\"}"
#define REC_REPLY \
	"{\"id\":\"b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1\"," \
	"\"type\":\"appeal\",\"applicant\":{\"full_name\":\"R. K.\"}," \
	"\"concerns_country\":\"RU\",\"category\":\"other\",\"summary\":" \
	"\"s\",\"channel\":\"partner\",\"partner\":\"partner\"," \
	"\"partner_ref\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\",\"status\":" \
	"\"resolved_positive\",\"x_outcome\":\"released\"}"

static void
save(const char *name, int layer, const void *p, size_t len)
{
	char path[4096];
	uint8_t l = (uint8_t)layer;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(&l, 1, 1, f) != 1 ||
	    fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "mkcorpus_ombx: %s: cannot write\n", path);
		exit(1);
	}
}

static void
save_str(const char *name, int layer, const char *s)
{
	save(name, layer, s, strlen(s));
}

static int
sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	const uint8_t *sk = arg;
	uint8_t *m;

	if ((m = malloc(OMBX_SIG_CONTEXT_LEN + len)) == NULL)
		return -1;
	memcpy(m, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(m + OMBX_SIG_CONTEXT_LEN, msg, len);
	crypto_sign_detached(sig, NULL, m, OMBX_SIG_CONTEXT_LEN + len, sk);
	free(m);
	return 0;
}

static void
fail(const char *what, const char *why)
{
	fprintf(stderr, "mkcorpus_ombx: %s: %s\n", what, why);
	exit(1);
}

/* The payload of the three records for "partner". */
static void
payload(uint8_t **p, size_t *len)
{
	static const char *recs[] = { REC_PLAIN, REC_CONF, REC_REPLY };
	char why[OMBX_WHY_MAX];
	json_t *root, *r;
	size_t i;

	root = ombx_payload_new("0123456789abcdef0123456789abcdef",
	    "2026-04-01T10:00:00Z", "ombudsman-uz");
	for (i = 0; i < 3; i++) {
		if ((r = json_loads(recs[i], 0, NULL)) == NULL ||
		    ombx_payload_add_record(root, r, "partner", why) != 0)
			fail("record", why);
		json_decref(r);
	}
	if (ombx_payload_dump(root, p, len, why) != 0)
		fail("dump", why);
	json_decref(root);
}

static void
packages(const uint8_t *pl, size_t plen)
{
	uint8_t *pkg, *inner, opk[32], osk[64];
	char why[OMBX_WHY_MAX];
	size_t len, n;

	if (ombx_package_build(pl, plen, spk, rpk, sign_cb, ssk, &pkg, &len,
		why) != 0)
		fail("package", why);
	save("package-valid", L_PACKAGE, pkg, len);
	save("package-truncated", L_PACKAGE, pkg, len - 1);
	save("package-header-only", L_PACKAGE, pkg, OMBX_OUTER_HDR);

	n = len - OMBX_OUTER_HDR - OMBX_SEAL_BYTES;
	if ((inner = malloc(n)) == NULL ||
	    crypto_box_seal_open(inner, pkg + OMBX_OUTER_HDR,
		len - OMBX_OUTER_HDR, rxpk, rxsk) != 0)
		fail("inner", "cannot open");
	save("inner-valid", L_INNER, inner, n);
	inner[n - 2] ^= 1;
	save("inner-bad-signature", L_INNER, inner, n);
	free(inner);

	pkg[4] = 2;
	save("package-version-2", L_PACKAGE, pkg, len);
	pkg[4] = 1;
	pkg[len - 1] ^= 1;
	save("package-bad-seal", L_PACKAGE, pkg, len);
	ombx_buf_free(pkg, len);

	/* for another institution, and from an unknown signer */
	crypto_sign_keypair(opk, osk);
	if (ombx_package_build(pl, plen, spk, opk, sign_cb, ssk, &pkg, &len,
		why) != 0)
		fail("package", why);
	save("package-other-recipient", L_PACKAGE, pkg, len);
	ombx_buf_free(pkg, len);
	if (ombx_package_build(pl, plen, opk, rpk, sign_cb, osk, &pkg, &len,
		why) != 0)
		fail("package", why);
	save("package-other-sender", L_PACKAGE, pkg, len);
	ombx_buf_free(pkg, len);
	sodium_memzero(osk, sizeof(osk));
}

#define HEAD \
	"{\"format\":\"ombx\",\"version\":1,\"package_id\":" \
	"\"0123456789abcdef0123456789abcdef\",\"created_at\":" \
	"\"2026-04-01T10:00:00Z\",\"sender\":\"x\",\"entries\":["
#define GOODA \
	"{\"kind\":\"appeal\",\"ref\":\"r1\",\"appeal\":{" \
	"\"applicant\":{\"confidential\":true},\"concerns_country\":" \
	"\"RU\",\"category\":\"other\",\"summary\":\"s\"}}"
#define REPLY \
	"{\"kind\":\"reply\",\"id\":\"i\",\"ref\":\"r\",\"status\":" \
	"\"closed\",\"outcome\":\"ok\"}"

static void
payloads(const uint8_t *pl, size_t plen)
{
	save("payload-full", L_PAYLOAD, pl, plen);
	save_str("payload-min-appeal", L_PAYLOAD, HEAD GOODA "]}");
	save_str("payload-min-reply", L_PAYLOAD, HEAD REPLY "]}");
	save_str("payload-bad-twice", L_PAYLOAD, HEAD GOODA "," GOODA "]}");
	save_str("payload-bad-confidential", L_PAYLOAD,
	    HEAD
	    "{\"kind\":"
	    "\"appeal\",\"ref\":\"r\",\"appeal\":{\"applicant\":{"
	    "\"full_name\":\"N\",\"confidential\":true},\"concerns_country\":"
	    "\"RU\",\"category\":\"other\",\"summary\":\"s\"}}]}");
	save_str("payload-bad-version", L_PAYLOAD,
	    "{\"format\":\"ombx\","
	    "\"version\":2}");
	save_str("payload-bad-field", L_PAYLOAD,
	    HEAD "{\"kind\":\"reply\","
		 "\"id\":\"i\",\"ref\":\"r\",\"status\":\"closed\",\"x\":1}]}");
}

static void
records(void)
{
	save_str("record-appeal", L_RECORD, REC_PLAIN);
	save_str("record-confidential", L_RECORD, REC_CONF);
	save_str("record-reply", L_RECORD, REC_REPLY);
	save_str("record-note", L_RECORD,
	    "{\"id\":\"a1a1a1a1a1a1a1a1a1a1a1a1"
	    "a1a1a1a1\",\"type\":\"note\",\"text\":\"t\"}");
}

int
main(int argc, char **argv)
{
	uint8_t *pl;
	size_t plen;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus_ombx dir\n");
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
	payload(&pl, &plen);
	packages(pl, plen);
	payloads(pl, plen);
	records();
	ombx_buf_free(pl, plen);
	return 0;
}
