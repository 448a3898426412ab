/*
 * fuzz_ombx.c - the ombx package parser (plugins/ombx/ombx_format.h), with
 * fixed test keys.
 *
 * The first byte of an input says which layer the rest is (its value
 * modulo 4), so that mutations reach the payload parser without having
 * to get past a seal and a signature:
 *
 *   0  a whole package, for the fixed recipient: ombx_outer_parse()
 *      accepts exactly the layout of docs/exchange-format.md, and
 *      ombx_package_open() leaves nothing on refusal and accepts only a
 *      package whose signature checks over context | recipient | payload;
 *      its payload then goes to 2.
 *   1  an opened seal: ombx_inner_open() likewise, in a buffer of the
 *      input's own size.
 *   2  a payload: ombx_payload_parse() leaves nothing on refusal; what it
 *      accepts is within the limits, dumps to a text it accepts again with
 *      the same entries (and that dumps to itself), and, signed and
 *      sealed, opens to itself.
 *   3  a record: ombx_payload_add_record() never lets a confidential
 *      applicant's identifying field, or a field that does not travel,
 *      into a package.
 *
 * A broken invariant abort()s.  The seed corpus (tests/fuzz/corpus/ombx/)
 * is written by mkcorpus_ombx.c with the same seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "fuzz.h"
#include "ombx_format.h"

/* The same seeds as mkcorpus_ombx.c. */
static const char SENDER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz ombx sender!!!!";
static const char RECEIVER_SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz ombx receiver!!";
static uint8_t spk[32], ssk[64], rpk[32], rsk[64], rxpk[32], rxsk[32];

static const char *const travel[] = { "applicant", "concerns_country",
	"category", "received_at", "summary", "tags", NULL };
static const char *const identifying[] = { "full_name", "birth_date",
	"location", "contact", NULL };

static int
sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	uint8_t *m;

	(void)arg;
	if ((m = malloc(OMBX_SIG_CONTEXT_LEN + len)) == NULL)
		return -1;
	memcpy(m, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(m + OMBX_SIG_CONTEXT_LEN, msg, len);
	crypto_sign_detached(sig, NULL, m, OMBX_SIG_CONTEXT_LEN + len, ssk);
	free(m);
	return 0;
}

static int
open_cb(void *arg, const uint8_t *sealed, size_t len, uint8_t *out)
{
	(void)arg;
	return crypto_box_seal_open(out, sealed, len, rxpk, rxsk) == 0 ? 0 : -1;
}

/* An independent check of a signature the parser accepted: over a copy,
 * context | rpk | payload. */
static int
verifies(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *pl,
    size_t n)
{
	uint8_t *m = malloc(OMBX_SIG_CONTEXT_LEN + 32 + n);
	int rc;

	CHECK(m != NULL);
	memcpy(m, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(m + OMBX_SIG_CONTEXT_LEN, rpk, 32);
	memcpy(m + OMBX_SIG_CONTEXT_LEN + 32, pl, n);
	rc = crypto_sign_verify_detached(sig, m, OMBX_SIG_CONTEXT_LEN + 32 + n,
	    pk);
	free(m);
	return rc == 0;
}

static int
same_entries(const struct ombx_payload *a, const struct ombx_payload *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->e[i].kind != b->e[i].kind ||
		    strcmp(a->e[i].ref, b->e[i].ref) != 0 ||
		    (a->e[i].appeal != NULL) != (b->e[i].appeal != NULL) ||
		    (a->e[i].appeal != NULL &&
			!json_equal(a->e[i].appeal, b->e[i].appeal)))
			return 0;
	return 1;
}

/* What an accepted payload's entries must be. */
static void
check_entries(const struct ombx_payload *pl)
{
	const struct ombx_entry *e;
	size_t i, k;

	CHECK(pl->n >= 1 && pl->n <= OMBX_ENTRIES_MAX);
	CHECK(pl->nappeals + pl->nreplies == pl->n);
	CHECK(pl->package_id != NULL && strlen(pl->package_id) == 32);
	CHECK(pl->created_at != NULL && pl->sender != NULL);
	for (i = 0; i < pl->n; i++) {
		e = &pl->e[i];
		CHECK(e->ref != NULL && strlen(e->ref) >= 1 &&
		    strlen(e->ref) <= OMBX_REF_MAX);
		if (e->kind == OMBX_REPLY) {
			CHECK(e->id != NULL && e->status != NULL &&
			    e->appeal == NULL);
			continue;
		}
		CHECK(e->kind == OMBX_APPEAL && json_is_object(e->appeal));
		CHECK(json_is_object(json_object_get(e->appeal, "applicant")));
		if (!json_is_true(json_object_get(json_object_get(e->appeal,
						      "applicant"),
			"confidential")))
			continue;
		for (k = 0; identifying[k] != NULL; k++)
			CHECK(json_object_get(json_object_get(e->appeal,
						  "applicant"),
				  identifying[k]) == NULL);
	}
}

/* Signed and sealed, p[0..n) opens to itself. */
static void
seal_round_trip(const uint8_t *p, size_t n)
{
	struct ombx_opened o;
	char why[OMBX_WHY_MAX];
	uint8_t *pkg;
	size_t len;

	CHECK(ombx_package_build(p, n, spk, rpk, sign_cb, NULL, &pkg, &len,
		  why) == 0);
	CHECK(len == OMBX_OUTER_HDR + OMBX_SEAL_BYTES + OMBX_INNER_HDR + n);
	CHECK(ombx_package_open(pkg, len, rpk, open_cb, NULL, &o, why) == 0);
	CHECK(memcmp(o.in.sender_pk, spk, 32) == 0);
	CHECK(o.in.payload_len == n && memcmp(o.in.payload, p, n) == 0);
	ombx_opened_free(&o);
	ombx_buf_free(pkg, len);
}

static void
payload_path(const uint8_t *data, size_t size)
{
	struct ombx_payload pl, again;
	char why[OMBX_WHY_MAX] = "";
	uint8_t *d1, *d2;
	size_t n1, n2;

	if (ombx_payload_parse(data, size, &pl, why) != 0) {
		CHECK(pl.root == NULL && pl.e == NULL && pl.n == 0);
		CHECK(why[0] != '\0');
		return;
	}
	check_entries(&pl);
	/* what the plugin passes on is an object the host can load */
	CHECK(ombx_payload_dump(pl.root, &d1, &n1, why) == 0);
	CHECK(ombx_payload_parse(d1, n1, &again, why) == 0);
	CHECK(same_entries(&pl, &again));
	CHECK(ombx_payload_dump(again.root, &d2, &n2, why) == 0);
	CHECK(n1 == n2 && memcmp(d1, d2, n1) == 0);
	seal_round_trip(d1, n1);
	ombx_buf_free(d1, n1);
	ombx_buf_free(d2, n2);
	ombx_payload_free(&again);
	ombx_payload_free(&pl);
}

static void
outer_path(const uint8_t *data, size_t size)
{
	struct ombx_outer o;
	struct ombx_opened op;
	char why[OMBX_WHY_MAX];
	uint8_t hint[OMBX_HINT_BYTES];

	if (ombx_outer_parse(data, size, rpk, &o, why) != 0) {
		CHECK(sodium_is_zero((const uint8_t *)&o, sizeof(o)));
		CHECK(ombx_package_open(data, size, rpk, open_cb, NULL, &op,
			  why) != 0);
		CHECK(sodium_is_zero((const uint8_t *)&op, sizeof(op)));
		return;
	}
	ombx_hint(rpk, hint);
	CHECK(size >= OMBX_OUTER_HDR + OMBX_SEALED_MIN && size <= OMBX_PKG_MAX);
	CHECK(memcmp(data, "OMBX\x01", 5) == 0);
	CHECK(memcmp(data + 5, hint, OMBX_HINT_BYTES) == 0);
	CHECK(o.sealed == data + OMBX_OUTER_HDR);
	CHECK(o.sealed_len == size - OMBX_OUTER_HDR);
	CHECK(o.sealed_len ==
	    ((size_t)data[13] << 24 | (size_t)data[14] << 16 |
		(size_t)data[15] << 8 | data[16]));

	if (ombx_package_open(data, size, rpk, open_cb, NULL, &op, why) != 0) {
		CHECK(sodium_is_zero((const uint8_t *)&op, sizeof(op)));
		return;
	}
	CHECK(op.plain_len == o.sealed_len - OMBX_SEAL_BYTES);
	CHECK(op.in.payload == op.plain + OMBX_INNER_HDR);
	payload_path(op.in.payload, op.in.payload_len);
	ombx_opened_free(&op);
}

static void
inner_path(const uint8_t *data, size_t size)
{
	struct ombx_inner in;
	char why[OMBX_WHY_MAX];
	uint8_t *buf;

	/* its own size, so that the sanitizers see a read past the end */
	CHECK((buf = malloc(size > 0 ? size : 1)) != NULL);
	memcpy(buf, data, size);
	if (ombx_inner_open(buf, size, rpk, &in, why) != 0) {
		CHECK(sodium_is_zero((const uint8_t *)&in, sizeof(in)));
		free(buf);
		return;
	}
	CHECK(size >= OMBX_INNER_HDR + OMBX_PAYLOAD_MIN);
	CHECK(memcmp(in.sender_pk, data, 32) == 0);
	CHECK(in.payload == buf + OMBX_INNER_HDR &&
	    in.payload_len == size - OMBX_INNER_HDR);
	CHECK(memcmp(in.payload, data + OMBX_INNER_HDR, in.payload_len) == 0);
	CHECK(verifies(data + 32, data, in.payload, in.payload_len));
	payload_path(in.payload, in.payload_len);
	free(buf);
}

/* The entry a record became: only what travels, nothing withheld. */
static void
check_built(const json_t *rec, const json_t *e)
{
	json_t *a, *ap;
	const char *k;
	json_t *v;
	size_t i;
	int conf;

	if (strcmp(json_string_value(json_object_get(e, "kind")), "reply") ==
	    0) {
		CHECK(json_equal(json_object_get(e, "id"),
		    json_object_get(rec, "partner_ref")));
		CHECK(json_equal(json_object_get(e, "ref"),
		    json_object_get(rec, "id")));
		return;
	}
	a = json_object_get(e, "appeal");
	json_object_foreach(a, k, v) {
		for (i = 0; travel[i] != NULL && strcmp(travel[i], k); i++)
			;
		CHECK(travel[i] != NULL);
	}
	ap = json_object_get(a, "applicant");
	conf = json_is_true(json_object_get(json_object_get(rec, "applicant"),
	    "confidential"));
	for (i = 0; conf && identifying[i] != NULL; i++)
		CHECK(json_object_get(ap, identifying[i]) == NULL);
}

static void
record_path(const uint8_t *data, size_t size)
{
	char why[OMBX_WHY_MAX];
	json_t *rec, *root;

	if ((rec = json_loadb((const char *)data, size, 0, NULL)) == NULL)
		return;
	root = ombx_payload_new("0123456789abcdef0123456789abcdef",
	    "2026-01-01T00:00:00Z", "fuzz");
	CHECK(root != NULL);
	if (ombx_payload_add_record(root, rec, "partner", why) == 0)
		check_built(rec,
		    json_array_get(json_object_get(root, "entries"), 0));
	else
		CHECK(json_array_size(json_object_get(root, "entries")) == 0);
	json_decref(root);
	json_decref(rec);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
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
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		outer_path(data + 1, size - 1);
		break;
	case 1:
		inner_path(data + 1, size - 1);
		break;
	case 2:
		payload_path(data + 1, size - 1);
		break;
	default:
		record_path(data + 1, size - 1);
		break;
	}
	return 0;
}
