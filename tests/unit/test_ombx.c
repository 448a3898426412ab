/*
 * test_ombx.c - the ombx exchange (plugins/ombx).  The format: a package
 * built from records round trips; only the fields that travel travel and a
 * confidential applicant's identity does not; open refuses every
 * truncation and every changed bit, each with the reason of its layer, a
 * package for another institution, one re-sealed to a third party, and
 * one signed by another key; the payload check refuses every bad payload
 * with a reason that names the place and quotes nothing; the limits hold
 * at their edge.  The plugin, end to end through the mock host: A sends
 * three appeals (one confidential) to B, B imports them, B answers one
 * and A imports the reply; a package from an unconfigured sender, one for
 * another institution and one with a bad entry are refused whole.
 *
 * ombx.c is built with -DFV_PLUGIN_EXPORT_NAME=ombx_plugin.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <fieldvault/mock.h>

#include "ombx_format.h"
#include "tap.h"

extern const struct fv_plugin ombx_plugin;

/* An institution: its Ed25519 pair and the X25519 pair made from it. */
struct party {
	uint8_t pk[32], sk[64], xpk[32], xsk[32];
};
static struct party A, B, C;

#define ID_A1  "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define ID_A2  "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define ID_A3  "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
#define ID_B1  "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
#define ID_B2  "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define PKG_ID "0123456789abcdef0123456789abcdef"
#define NOW    "2026-04-01T10:00:00Z"

/* A's appeals: plain, confidential (the name must not leave A), and one
 * in Cyrillic. */
static const char *const rec_a1 =
    "{\"id\":\"" ID_A1 "\",\"type\":\"appeal\",\"created_at\":"
    "\"2026-01-10T09:00:00Z\",\"updated_at\":\"2026-01-11T09:00:00Z\","
    "\"created_by\":\"tashkent-laptop-1\",\"applicant\":{\"full_name\":"
    "\"Rustam Karimov\",\"birth_date\":\"1985-03-14\",\"citizenship\":"
    "\"UZ\",\"residence_country\":\"RU\",\"location\":\"SIZO-1\","
    "\"contact\":\"+7 900 000 00 00\"},\"concerns_country\":\"RU\","
    "\"category\":\"detention_conditions\",\"channel\":\"visit\","
    "\"received_at\":\"2026-01-10T09:00:00Z\",\"summary\":\"No medical "
    "care for three months.\",\"status\":\"under_review\","
    "\"assigned_to\":\"ru-team\",\"tags\":[\"sizo\",\"health\"],"
    "\"x_case_number\":\"UZ-2026-17\"}";
static const char *const rec_a2 =
    "{\"id\":\"" ID_A2 "\",\"type\":\"appeal\",\"applicant\":{"
    "\"full_name\":\"Dilnoza Yusupova\",\"birth_date\":\"1990-07-01\","
    "\"citizenship\":\"UZ\",\"location\":\"Kazan\",\"contact\":"
    "\"dilnoza@example.org\",\"confidential\":true},\"concerns_country\":"
    "\"RU\",\"category\":\"labour_rights\",\"received_at\":"
    "\"2026-02-01T08:30:00+05:00\",\"summary\":\"Wages withheld.\","
    "\"status\":\"received\"}";
static const char *const rec_a3 =
    "{\"id\":\"" ID_A3 "\",\"type\":\"appeal\",\"applicant\":{"
    "\"full_name\":\"Шерзод Ташкентов\"},\"concerns_country\":\"RU\","
    "\"category\":\"migration_status\",\"summary\":\"Патент не продлён."
    " Oʻzbekiston.\"}";

static void
mkparty(struct party *p)
{
	crypto_sign_keypair(p->pk, p->sk);
	if (crypto_sign_ed25519_pk_to_curve25519(p->xpk, p->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(p->xsk, p->sk) != 0)
		abort();
}

/* What the host does for the plugin, with the party's own keys. */
static int
sign_as(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	const struct party *p = arg;
	uint8_t *m;

	if ((m = malloc(OMBX_SIG_CONTEXT_LEN + len)) == NULL)
		return -1;
	memcpy(m, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(m + OMBX_SIG_CONTEXT_LEN, msg, len);
	crypto_sign_detached(sig, NULL, m, OMBX_SIG_CONTEXT_LEN + len, p->sk);
	free(m);
	return 0;
}

static int
open_as(void *arg, const uint8_t *sealed, size_t len, uint8_t *out)
{
	const struct party *p = arg;

	return crypto_box_seal_open(out, sealed, len, p->xpk, p->xsk) == 0 ? 0 :
									     -1;
}

static json_t *
jload(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	if (j == NULL)
		abort();
	return j;
}

/* A payload of A's three appeals for partner, and its text. */
static json_t *
payload_of(const char *const *recs, size_t n, const char *partner)
{
	json_t *root = ombx_payload_new(PKG_ID, NOW, "ombudsman-uz"), *r;
	char why[OMBX_WHY_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		r = jload(recs[i]);
		if (ombx_payload_add_record(root, r, partner, why) != 0) {
			diag("add_record %zu: %s", i, why);
			abort();
		}
		json_decref(r);
	}
	return root;
}

static void
dump(const json_t *root, uint8_t **p, size_t *len)
{
	char why[OMBX_WHY_MAX];

	if (ombx_payload_dump(root, p, len, why) != 0)
		abort();
}

/* A package of the three appeals from A to B. */
static void
package_ab(uint8_t **pkg, size_t *len)
{
	const char *recs[] = { rec_a1, rec_a2, rec_a3 };
	json_t *root = payload_of(recs, 3, "ru-ombudsman");
	char why[OMBX_WHY_MAX];
	uint8_t *p;
	size_t plen;

	dump(root, &p, &plen);
	if (ombx_package_build(p, plen, A.pk, B.pk, sign_as, &A, pkg, len,
		why) != 0)
		abort();
	ombx_buf_free(p, plen);
	json_decref(root);
}

static int
has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static int
has_bytes(const uint8_t *p, size_t n, const char *s)
{
	size_t i, k = strlen(s);

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return 1;
	return 0;
}

/* --- keys ----------------------------------------------------------------- */

static void
test_keys(void)
{
	uint8_t hint[OMBX_HINT_BYTES];
	char fpr[OMBX_FPR_LEN + 1], hex[17], g[20];

	ombx_fingerprint(A.pk, fpr);
	is_int(strlen(fpr), 39, "fingerprint: 39 characters");
	ok(fpr[4] == ' ' && fpr[34] == ' ' &&
		strspn(fpr, "0123456789abcdef ") == 39,
	    "fingerprint: 8 groups of 4 hex");
	ombx_hint(A.pk, hint);
	sodium_bin2hex(hex, sizeof(hex), hint, sizeof(hint));
	snprintf(g, sizeof(g), "%.4s %.4s %.4s %.4s", hex, hex + 4, hex + 8,
	    hex + 12);
	ok(strncmp(fpr, g, 19) == 0, "the hint is the fingerprint's start");
}

/* --- round trip ----------------------------------------------------------- */

static void
check_entries(const struct ombx_payload *pl)
{
	json_t *a1 = pl->e[0].appeal, *a2 = pl->e[1].appeal, *ap;
	static const char *withheld[] = { "full_name", "birth_date", "location",
		"contact" };
	size_t i;
	int gone = 1;

	is_int(pl->n, 3, "payload: 3 entries");
	ok(pl->e[0].kind == OMBX_APPEAL && pl->e[2].kind == OMBX_APPEAL,
	    "payload: appeals");
	is_str(pl->e[0].ref, ID_A1, "appeal 1: ref is A's id");
	is_int(json_object_size(a1), 6, "appeal 1: the 6 fields that travel");
	ok(json_object_get(a1, "status") == NULL &&
		json_object_get(a1, "channel") == NULL &&
		json_object_get(a1, "assigned_to") == NULL &&
		json_object_get(a1, "x_case_number") == NULL &&
		json_object_get(a1, "id") == NULL,
	    "appeal 1: nothing else");
	ap = json_object_get(a1, "applicant");
	is_str(json_string_value(json_object_get(ap, "full_name")),
	    "Rustam Karimov", "appeal 1: the name travels");
	is_int(json_object_size(ap), 6, "appeal 1: the applicant's fields");
	ap = json_object_get(a2, "applicant");
	for (i = 0; i < 4; i++)
		gone &= json_object_get(ap, withheld[i]) == NULL;
	ok(gone, "appeal 2: no identifying field of a confidential one");
	ok(json_is_true(json_object_get(ap, "confidential")) &&
		has(json_string_value(json_object_get(ap, "citizenship")),
		    "UZ"),
	    "appeal 2: confidential true, citizenship kept");
	is_str(json_string_value(json_object_get(
		   json_object_get(pl->e[2].appeal, "applicant"), "full_name")),
	    "Шерзод Ташкентов", "appeal 3: Cyrillic as it is");
	is_str(pl->sender, "ombudsman-uz", "payload: sender");
	is_str(pl->package_id, PKG_ID, "payload: package_id");
}

static void
test_round_trip(void)
{
	struct ombx_opened o;
	struct ombx_payload pl;
	uint8_t *pkg, plain[4096];
	size_t len;
	char why[OMBX_WHY_MAX];

	package_ab(&pkg, &len);
	ok(memcmp(pkg, "OMBX\x01", 5) == 0, "package: magic and version");
	ok(!has_bytes(pkg, len, "Rustam"), "package: nothing in clear");
	/* what B sees once the seal is open: no confidential name */
	ok(len - OMBX_OUTER_HDR - OMBX_SEAL_BYTES <= sizeof(plain) &&
		open_as(&B, pkg + OMBX_OUTER_HDR, len - OMBX_OUTER_HDR,
		    plain) == 0,
	    "package: B opens the seal");
	ok(memcmp(plain, A.pk, 32) == 0, "inner: the sender's key first");
	ok(has_bytes(plain, len - 65, "Rustam Karimov") &&
		!has_bytes(plain, len - 65, "Dilnoza") &&
		!has_bytes(plain, len - 65, "dilnoza@") &&
		!has_bytes(plain, len - 65, "Kazan") &&
		!has_bytes(plain, len - 65, "1990-07-01"),
	    "inner: the confidential applicant's identity is not there");

	ok(ombx_package_open(pkg, len, B.pk, open_as, &B, &o, why) == 0,
	    "open as B");
	ok(memcmp(o.in.sender_pk, A.pk, 32) == 0, "open: the sender is A");
	ok(ombx_payload_parse(o.in.payload, o.in.payload_len, &pl, why) == 0,
	    "payload parses");
	check_entries(&pl);
	ombx_payload_free(&pl);
	ombx_opened_free(&o);
	ok(o.plain == NULL, "opened_free clears");
	free(pkg);
}

/* --- refusals of the binary layers ---------------------------------------- */

static int
refused_as(const uint8_t *pkg, size_t len, struct party *to, char *why)
{
	struct ombx_opened o;
	int rc;

	memset(&o, 0xee, sizeof(o));
	rc = ombx_package_open(pkg, len, to->pk, open_as, to, &o, why);
	if (rc == 0) {
		ombx_opened_free(&o);
		return 0;
	}
	return o.plain == NULL && o.plain_len == 0 && o.in.payload == NULL;
}

static void
test_truncated(void)
{
	uint8_t *pkg;
	size_t len, i;
	char why[OMBX_WHY_MAX];
	int all = 1, reason = 1;

	package_ab(&pkg, &len);
	for (i = 0; i < len; i++) {
		uint8_t *cut = malloc(i > 0 ? i : 1);

		memcpy(cut, pkg, i);
		all &= refused_as(cut, i, &B, why);
		if (i > 0 && !has(why, "truncated or altered")) {
			diag("cut at %zu: %s", i, why);
			reason = 0;
		}
		free(cut);
	}
	ok(all, "every truncation (0..%zu bytes) refused, nothing left", len);
	ok(reason, "every truncation says truncated or altered");
	pkg = realloc(pkg, len + 1);
	pkg[len] = 0;
	ok(refused_as(pkg, len + 1, &B, why) && has(why, "truncated"),
	    "a byte after the end refused: %s", why);
	free(pkg);
}

/* The reason a flip at byte i must give: its layer's. */
static const char *
flip_reason(size_t i)
{
	if (i < 4)
		return "not an ombx package";
	if (i == 4)
		return "unsupported ombx version";
	if (i < 13)
		return "for another institution";
	if (i < OMBX_OUTER_HDR)
		return "truncated or altered";
	return "seal does not open";
}

static void
test_flips(void)
{
	uint8_t *pkg;
	size_t len, i;
	char why[OMBX_WHY_MAX];
	int b, all = 1, reason = 1;

	package_ab(&pkg, &len);
	for (i = 0; i < len; i++)
		for (b = 0; b < 8; b++) {
			pkg[i] ^= 1 << b;
			all &= refused_as(pkg, len, &B, why);
			if (!has(why, flip_reason(i)) && reason) {
				diag("flip %zu.%d: %s", i, b, why);
				reason = 0;
			}
			pkg[i] ^= 1 << b;
		}
	ok(all, "every one of %zu bit flips refused", len * 8);
	ok(reason, "each with its layer's reason");
	ok(refused_as(pkg, len, &B, why) == 0, "the package still opens");
	free(pkg);
}

static void
test_other_recipient(void)
{
	uint8_t *pkg;
	size_t len;
	char why[OMBX_WHY_MAX], fpr[OMBX_FPR_LEN + 1];

	package_ab(&pkg, &len);
	ok(refused_as(pkg, len, &C, why) &&
		has(why,
		    "for another "
		    "institution"),
	    "C cannot take B's package: %s", why);
	ombx_fingerprint(C.pk, fpr);
	ok(has(why, fpr), "the reason shows our fingerprint");
	free(pkg);
}

/* Re-sealed as a package; inner[0..n) taken as it is. */
static void
reseal(const uint8_t *inner, size_t n, const struct party *to, uint8_t **pkg,
    size_t *len)
{
	uint8_t *p;

	*len = OMBX_OUTER_HDR + OMBX_SEAL_BYTES + n;
	p = *pkg = malloc(*len);
	memcpy(p, "OMBX\x01", 5);
	ombx_hint(to->pk, p + 5);
	p[13] = (uint8_t)((OMBX_SEAL_BYTES + n) >> 24);
	p[14] = (uint8_t)((OMBX_SEAL_BYTES + n) >> 16);
	p[15] = (uint8_t)((OMBX_SEAL_BYTES + n) >> 8);
	p[16] = (uint8_t)(OMBX_SEAL_BYTES + n);
	crypto_box_seal(p + OMBX_OUTER_HDR, inner, n, to->xpk);
}

static void
test_resealed(void)
{
	uint8_t *pkg, *inner, *p2, sig[64];
	size_t len, n, len2;
	char why[OMBX_WHY_MAX];

	package_ab(&pkg, &len);
	n = len - OMBX_OUTER_HDR - OMBX_SEAL_BYTES;
	inner = malloc(n);
	open_as(&B, pkg + OMBX_OUTER_HDR, len - OMBX_OUTER_HDR, inner);
	reseal(inner, n, &C, &p2, &len2);
	ok(refused_as(p2, len2, &C, why) && has(why, "signature"),
	    "B re-seals A's package to C: refused: %s", why);
	free(p2);
	reseal(inner, n, &B, &p2, &len2);
	ok(refused_as(p2, len2, &B, why) == 0, "re-sealed to B: it opens");
	free(p2);

	/* C signs, claiming to be A */
	memcpy(inner + 64, B.pk, 32);
	sign_as(&C, inner + 64, n - 64, sig);
	memcpy(inner + 32, sig, 64);
	reseal(inner, n, &B, &p2, &len2);
	ok(refused_as(p2, len2, &B, why) && has(why, "signature"),
	    "signed by C with A's key in it: refused");
	free(p2);
	free(inner);
	free(pkg);
}

static void
test_inner(void)
{
	uint8_t buf[OMBX_INNER_HDR + 8];
	struct ombx_inner in;
	char why[OMBX_WHY_MAX];
	uint8_t *p;
	size_t len, n;

	memset(buf, 0, sizeof(buf));
	ok(ombx_inner_open(buf, OMBX_INNER_HDR + 1, B.pk, &in, why) != 0 &&
		has(why, "too short") && in.payload == NULL,
	    "inner: a 1-byte payload refused");
	ok(ombx_inner_open(buf, sizeof(buf), B.pk, &in, why) != 0 &&
		has(why, "signature"),
	    "inner: zeros refused: %s", why);

	package_ab(&p, &len);
	n = len - OMBX_OUTER_HDR - OMBX_SEAL_BYTES;
	{
		uint8_t *inner = malloc(n);

		open_as(&B, p + OMBX_OUTER_HDR, len - OMBX_OUTER_HDR, inner);
		ok(ombx_inner_open(inner, n, B.pk, &in, why) == 0 &&
			in.payload == inner + OMBX_INNER_HDR &&
			in.payload_len == n - OMBX_INNER_HDR,
		    "inner: the payload is in place");
		free(inner);
	}
	free(p);
}

/* --- refusals of the payload ---------------------------------------------- */

/* A payload whose entries are E. */
#define HEAD \
	"{\"format\":\"ombx\",\"version\":1,\"package_id\":\"" PKG_ID \
	"\",\"created_at\":\"" NOW "\",\"sender\":\"x\","
#define APPL	  "{\"full_name\":\"N\"}"
#define APPEAL(a) "{\"kind\":\"appeal\",\"ref\":\"r1\",\"appeal\":" a "}"
#define GOODA \
	"{\"applicant\":" APPL ",\"concerns_country\":\"RU\"," \
	"\"category\":\"other\",\"summary\":\"s\"}"
#define WITH(f) \
	"{\"applicant\":" APPL ",\"concerns_country\":\"RU\"," \
	"\"category\":\"other\",\"summary\":\"s\"," f "}"
#define AP(ap) \
	"{\"applicant\":" ap ",\"concerns_country\":\"RU\"," \
	"\"category\":\"other\",\"summary\":\"s\"}"
#define ENT(e) HEAD "\"entries\":[" e "]}"
#define REPLY(f) \
	"{\"kind\":\"reply\",\"id\":\"" ID_A1 "\",\"ref\":" \
	"\"" ID_B1 "\",\"status\":\"closed\"" f "}"

static const struct {
	const char *json;
	const char *why;
} bad_payloads[] = {
	{ "[]", "not a JSON object" },
	{ "{\"format\"", "ends too early" },
	{ "{\"format\":\"ombx\"} {}", "something after" },
	{ "{\"format\":\"\xc3\x28\"}", "not valid UTF-8" },
	{ "{\"format\":\"ombx\",\"format\":\"ombx\"}", "a key twice" },
	{ "{\"format\":\"a\\u0000b\"}", "NUL" },
	{ "{\"format\": secret}", "a syntax error" },
	{ "{}", "format: is required" },
	{ "{\"format\":\"OMBX\",\"version\":1}", "format: must be" },
	{ "{\"format\":\"ombx\",\"version\":2,\"new\":1}",
	    "unsupported payload version 2" },
	{ "{\"format\":\"ombx\",\"version\":\"1\"}",
	    "version: must be an integer" },
	{ "{\"format\":\"ombx\",\"version\":1.0}",
	    "version: must be an integer" },
	{ HEAD "\"x_extra\":1,\"entries\":[" APPEAL(GOODA) "]}",
	    "x_extra: not a field" },
	{ HEAD "\"Иванов\":1,\"entries\":[" APPEAL(GOODA) "]}",
	    "(a field): not a field" },
	{ "{\"format\":\"ombx\",\"version\":1,\"package_id\":\"ABCDEF\"}",
	    "package_id: must be 32" },
	{ "{\"format\":\"ombx\",\"version\":1,\"package_id\":\"" PKG_ID
	  "\",\"created_at\":\"2026-02-30T00:00:00Z\"}",
	    "created_at: must be" },
	{ "{\"format\":\"ombx\",\"version\":1,\"package_id\":\"" PKG_ID
	  "\",\"created_at\":\"" NOW "\",\"sender\":\"\"}",
	    "sender: must be" },
	{ "{\"format\":\"ombx\",\"version\":1,\"package_id\":\"" PKG_ID
	  "\",\"created_at\":\"" NOW "\",\"sender\":\"a\\nb\"}",
	    "sender: must be" },
	{ HEAD "\"entries\":[]}", "entries: must be an array of 1.." },
	{ HEAD "\"entries\":{}}", "entries: must be an array" },
	{ HEAD "\"entries\":null}", "entries: must be" },
	{ ENT("1"), "entry 1: must be an object" },
	{ ENT("{\"kind\":\"note\"}"), "entry 1: kind: must be" },
	{ ENT("{\"ref\":\"r\"}"), "entry 1: kind: is required" },
	{ ENT("{\"kind\":\"appeal\",\"appeal\":" GOODA "}"),
	    "entry 1: ref: is required" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":\"r 1\",\"appeal\":" GOODA "}"),
	    "entry 1: ref: must be 1..200 printable" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":\"\",\"appeal\":" GOODA "}"),
	    "entry 1: ref: must be 1..200" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":7,\"appeal\":" GOODA "}"),
	    "entry 1: ref: must be a string" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":\"r\"}"),
	    "entry 1: appeal: is required" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":\"r\",\"appeal\":[]}"),
	    "entry 1: appeal: must be an object" },
	{ ENT("{\"kind\":\"appeal\",\"ref\":\"r\",\"id\":\"x\",\"appeal\":" GOODA
	      "}"),
	    "entry 1: id: not a field" },
	{ ENT(APPEAL(WITH("\"status\":\"closed\""))),
	    "entry 1: appeal.status: not a field" },
	{ ENT(APPEAL(WITH("\"x_case\":\"1\""))),
	    "entry 1: appeal.x_case: not a field" },
	{ ENT(APPEAL("{\"concerns_country\":\"RU\",\"category\":\"other\","
		     "\"summary\":\"s\"}")),
	    "entry 1: appeal.applicant: is required" },
	{ ENT(APPEAL(AP("\"Rustam\""))),
	    "entry 1: appeal.applicant: must be an object" },
	{ ENT(APPEAL(AP("{}"))),
	    "entry 1: appeal.applicant.full_name: is required" },
	{ ENT(APPEAL(AP("{\"full_name\":\"\"}"))),
	    "appeal.applicant.full_name: must be 1..200" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"nickname\":\"n\"}"))),
	    "appeal.applicant.nickname: not a field" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"confidential\":true}"))),
	    "appeal.applicant.full_name: must be absent" },
	{ ENT(APPEAL(AP("{\"contact\":\"c\",\"confidential\":true}"))),
	    "appeal.applicant.contact: must be absent" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"confidential\":\"yes\"}"))),
	    "confidential: must be true or false" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"birth_date\":"
			"\"1985-02-30\"}"))),
	    "applicant.birth_date: must be" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"birth_date\":"
			"\"1850-01-01\"}"))),
	    "applicant.birth_date: must be" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"citizenship\":\"uz\"}"))),
	    "applicant.citizenship: must be an ISO" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"residence_country\":"
			"\"UZB\"}"))),
	    "applicant.residence_country: must be" },
	{ ENT(APPEAL(AP("{\"full_name\":\"N\",\"location\":7}"))),
	    "applicant.location: must be a string" },
	{ ENT(APPEAL("{\"applicant\":" APPL ",\"category\":\"other\","
		     "\"summary\":\"s\"}")),
	    "appeal.concerns_country: is required" },
	{ ENT(APPEAL("{\"applicant\":" APPL ",\"concerns_country\":\"RU\","
		     "\"category\":\"torture\",\"summary\":\"s\"}")),
	    "appeal.category: must be" },
	{ ENT(APPEAL("{\"applicant\":" APPL ",\"concerns_country\":\"RU\","
		     "\"summary\":\"s\"}")),
	    "appeal.category: is required" },
	{ ENT(APPEAL(WITH("\"received_at\":\"2026-01-10 09:00:00\""))),
	    "appeal.received_at: must be an RFC 3339" },
	{ ENT(APPEAL(WITH("\"received_at\":\"2026-01-10T09:00:00+5:00\""))),
	    "appeal.received_at: must be" },
	{ ENT(APPEAL(WITH("\"received_at\":\"2026-01-10T24:00:00Z\""))),
	    "appeal.received_at: must be" },
	{ ENT(APPEAL("{\"applicant\":" APPL ",\"concerns_country\":\"RU\","
		     "\"category\":\"other\",\"summary\":\"\"}")),
	    "appeal.summary: must be 1.." },
	{ ENT(APPEAL("{\"applicant\":" APPL ",\"concerns_country\":\"RU\","
		     "\"category\":\"other\",\"summary\":[\"s\"]}")),
	    "appeal.summary: must be a string" },
	{ ENT(APPEAL(WITH("\"tags\":\"a\""))),
	    "appeal.tags: must be an "
	    "array" },
	{ ENT(APPEAL(WITH("\"tags\":[\"a\",\"\"]"))),
	    "appeal.tags: tag 2: must be 1..100" },
	{ ENT(APPEAL(WITH("\"tags\":[\"a\",null]"))),
	    "appeal.tags: tag 2: must be a string" },
	{ ENT(REPLY(",\"appeal\":{}")), "entry 1: appeal: not a field" },
	{ ENT("{\"kind\":\"reply\",\"ref\":\"r\",\"status\":\"closed\"}"),
	    "entry 1: id: is required" },
	{ ENT("{\"kind\":\"reply\",\"id\":\"i\",\"status\":\"closed\"}"),
	    "entry 1: ref: is required" },
	{ ENT("{\"kind\":\"reply\",\"id\":\"i\",\"ref\":\"r\"}"),
	    "entry 1: status: is required" },
	{ ENT("{\"kind\":\"reply\",\"id\":\"i\",\"ref\":\"r\",\"status\":"
	      "\"done\"}"),
	    "entry 1: status: must be an appeal status" },
	{ ENT(REPLY(",\"outcome\":null")),
	    "entry 1: outcome: must be a "
	    "string" },
	{ ENT(APPEAL(GOODA) "," APPEAL(GOODA)),
	    "entries 1 and 2: two appeals with the same ref" },
	{ ENT(APPEAL(GOODA) "," REPLY("") "," REPLY(",\"outcome\":\"o\"")),
	    "entries 2 and 3: two replies with the same id" },
	{ ENT(APPEAL(GOODA) ",7"), "entry 2: must be an object" },
};

static void
test_bad_payloads(void)
{
	struct ombx_payload pl;
	char why[OMBX_WHY_MAX];
	size_t i, n = sizeof(bad_payloads) / sizeof(bad_payloads[0]);
	const char *j;
	int rc;

	for (i = 0; i < n; i++) {
		j = bad_payloads[i].json;
		memset(&pl, 0xee, sizeof(pl));
		strcpy(why, "");
		rc = ombx_payload_parse((const uint8_t *)j, strlen(j), &pl,
		    why);
		ok(rc == -1 && has(why, bad_payloads[i].why) &&
			pl.root == NULL && pl.e == NULL && pl.n == 0,
		    "bad payload %zu refused: %s", i + 1, why);
		if (!has(why, bad_payloads[i].why))
			diag("want '%s'", bad_payloads[i].why);
	}
	rc = ombx_payload_parse((const uint8_t *)"{\"format\": secret}", 18,
	    &pl, why);
	ok(rc == -1 && !has(why, "secret"), "a reason quotes nothing");
	rc = ombx_payload_parse((const uint8_t *)"{", 1, &pl, why);
	ok(rc == -1 && has(why, "2.."), "a 1-byte payload refused");

	j = ENT(APPEAL(GOODA) "," REPLY(",\"outcome\":\"\""));
	ok(ombx_payload_parse((const uint8_t *)j, strlen(j), &pl, why) == 0 &&
		pl.nappeals == 1 && pl.nreplies == 1 && pl.e[1].outcome != NULL,
	    "the minimal appeal and reply pass");
	ombx_payload_free(&pl);
	j = ENT(APPEAL(AP("{\"confidential\":true,\"citizenship\":\"UZ\"}")));
	ok(ombx_payload_parse((const uint8_t *)j, strlen(j), &pl, why) == 0,
	    "a confidential applicant needs no name");
	ombx_payload_free(&pl);
	j = ENT(APPEAL(WITH("\"received_at\":\"2026-01-10t09:00:00.123456789"
			    "-03:30\",\"tags\":[]")));
	ok(ombx_payload_parse((const uint8_t *)j, strlen(j), &pl, why) == 0,
	    "RFC 3339 with fraction and offset, no tags");
	ombx_payload_free(&pl);
}

/* --- limits --------------------------------------------------------------- */

/* A growing JSON text. */
struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* s repeated n times. */
static void
sb_rep(struct sb *b, const char *s, size_t n)
{
	while (n-- > 0)
		sb_add(b, s);
}

static int
parses(const struct sb *b, char *why)
{
	struct ombx_payload pl;
	int rc;

	rc = ombx_payload_parse((const uint8_t *)b->p, b->len, &pl, why);
	ombx_payload_free(&pl);
	return rc == 0;
}

/* A payload of n entries (distinct refs). */
static void
n_entries(struct sb *b, size_t n)
{
	char e[128];
	size_t i;

	b->len = 0;
	sb_add(b, HEAD "\"entries\":[");
	for (i = 0; i < n; i++) {
		snprintf(e, sizeof(e),
		    "%s{\"kind\":\"appeal\",\"ref\":"
		    "\"r%zu\",\"appeal\":",
		    i ? "," : "", i);
		sb_add(b, e);
		sb_add(b, GOODA "}");
	}
	sb_add(b, "]}");
}

/* One appeal with field f = "PREFIX" s*n "SUFFIX". */
static void
one_field(struct sb *b, const char *pre, const char *s, size_t n,
    const char *post)
{
	b->len = 0;
	sb_add(b, pre);
	sb_rep(b, s, n);
	sb_add(b, post);
}

#define SUMMARY_PRE \
	ENT_PRE "{\"applicant\":" APPL \
		",\"concerns_country\":\"RU\",\"category\":\"other\"," \
		"\"summary\":\""
#define ENT_PRE \
	HEAD "\"entries\":[{\"kind\":\"appeal\",\"ref\":" \
	     "\"r\",\"appeal\":"
#define ENT_POST "}]}"
#define REPLY_PRE \
	HEAD "\"entries\":[{\"kind\":\"reply\",\"id\":\"" ID_A1 \
	     "\",\"ref\":\"r\",\"status\":\"closed\"," \
	     "\"outcome\":\""

static void
test_limits(void)
{
	struct sb b = { 0 };
	char why[OMBX_WHY_MAX];
	uint8_t *big, *pkg;
	size_t len;

	n_entries(&b, OMBX_ENTRIES_MAX);
	ok(parses(&b, why), "10,000 entries pass");
	n_entries(&b, OMBX_ENTRIES_MAX + 1);
	ok(!parses(&b, why) &&
		has(why,
		    "entries: must be an array of "
		    "1..10000"),
	    "10,001 entries refused");

	one_field(&b, SUMMARY_PRE, "ж", OMBX_SUMMARY_MAX / 2, "\"}" ENT_POST);
	ok(parses(&b, why), "a summary of 65,536 bytes passes");
	one_field(&b, SUMMARY_PRE, "ж", OMBX_SUMMARY_MAX / 2, "!\"}" ENT_POST);
	ok(!parses(&b, why) && has(why, "summary: must be 1..65536 bytes"),
	    "65,537 bytes refused");

	one_field(&b, ENT_PRE "{\"applicant\":{\"full_name\":\"", "Ж", 200,
	    "\"},\"concerns_country\":\"RU\",\"category\":\"other\","
	    "\"summary\":\"s\"}" ENT_POST);
	ok(parses(&b, why), "a name of 200 Cyrillic characters passes");
	one_field(&b, ENT_PRE "{\"applicant\":{\"full_name\":\"", "Ж", 201,
	    "\"},\"concerns_country\":\"RU\",\"category\":\"other\","
	    "\"summary\":\"s\"}" ENT_POST);
	ok(!parses(&b, why) && has(why, "full_name: must be 1..200"),
	    "201 refused");

	one_field(&b,
	    ENT_PRE "{\"applicant\":{\"full_name\":\"N\","
		    "\"location\":\"",
	    "ʻ", 1000,
	    "\"},\"concerns_country\":\"RU\","
	    "\"category\":\"other\",\"summary\":\"s\"}" ENT_POST);
	ok(parses(&b, why), "a location of 1,000 characters passes");
	one_field(&b,
	    ENT_PRE "{\"applicant\":{\"full_name\":\"N\","
		    "\"location\":\"",
	    "ʻ", 1001,
	    "\"},\"concerns_country\":\"RU\","
	    "\"category\":\"other\",\"summary\":\"s\"}" ENT_POST);
	ok(!parses(&b, why) && has(why, "location: must be at most 1000"),
	    "1,001 refused");

	one_field(&b, SUMMARY_PRE "s\",\"tags\":[\"t\"", ",\"t\"", 63,
	    "]}" ENT_POST);
	ok(parses(&b, why), "64 tags pass");
	one_field(&b, SUMMARY_PRE "s\",\"tags\":[\"t\"", ",\"t\"", 64,
	    "]}" ENT_POST);
	ok(!parses(&b, why) && has(why, "at most 64 tags"), "65 refused");
	one_field(&b, SUMMARY_PRE "s\",\"tags\":[\"", "я", 100,
	    "\"]}" ENT_POST);
	ok(parses(&b, why), "a tag of 100 characters passes");
	one_field(&b, SUMMARY_PRE "s\",\"tags\":[\"", "я", 101,
	    "\"]}" ENT_POST);
	ok(!parses(&b, why) && has(why, "tag 1: must be 1..100"),
	    "101 refused");

	one_field(&b, HEAD "\"entries\":[{\"kind\":\"appeal\",\"ref\":\"", "r",
	    200, "\",\"appeal\":" GOODA ENT_POST);
	ok(parses(&b, why), "a ref of 200 bytes passes");
	one_field(&b, HEAD "\"entries\":[{\"kind\":\"appeal\",\"ref\":\"", "r",
	    201, "\",\"appeal\":" GOODA ENT_POST);
	ok(!parses(&b, why) && has(why, "ref: must be 1..200"), "201 refused");

	one_field(&b, REPLY_PRE, "ё", 1000, "\"}]}");
	ok(parses(&b, why), "an outcome of 1,000 characters passes");
	one_field(&b, REPLY_PRE, "ё", 1001, "\"}]}");
	ok(!parses(&b, why) && has(why, "outcome: must be at most 1000"),
	    "1,001 refused");
	free(b.p);

	/* the byte limits: zero pages, cheap */
	if ((big = calloc(1, OMBX_PKG_MAX + 1)) == NULL)
		abort();
	memcpy(big, "OMBX\x01", 5);
	ok(refused_as(big, OMBX_PKG_MAX + 1, &B, why) &&
		has(why,
		    "over "
		    "67108864"),
	    "a package over 64 MiB refused: %s", why);
	ok(ombx_package_build(big, OMBX_PAYLOAD_MAX + 1, A.pk, B.pk, sign_as,
	       &A, &pkg, &len, why) != 0 &&
		pkg == NULL && len == 0,
	    "a payload over the limit is not built");
	{
		struct ombx_payload pl;

		ok(ombx_payload_parse(big, OMBX_PAYLOAD_MAX + 1, &pl, why) !=
			    0 &&
			has(why, "must be 2.."),
		    "nor parsed");
	}
	free(big);
}

/* --- building from records ------------------------------------------------ */

static int
add_one(const char *rec, const char *partner, json_t **entry, char *why)
{
	json_t *root = ombx_payload_new(PKG_ID, NOW, "s"), *r = jload(rec);
	int rc;

	rc = ombx_payload_add_record(root, r, partner, why);
	*entry = rc == 0 ?
	    json_incref(json_array_get(json_object_get(root, "entries"), 0)) :
	    NULL;
	json_decref(r);
	json_decref(root);
	return rc;
}

#define PARTNER_REC(f) \
	"{\"id\":\"" ID_B1 "\",\"type\":\"appeal\"," \
	"\"applicant\":{\"full_name\":\"R\"},\"concerns_country\":\"RU\"," \
	"\"category\":\"other\",\"summary\":\"s\",\"channel\":\"partner\"" f \
	"}"

static void
test_records(void)
{
	char why[OMBX_WHY_MAX];
	json_t *e, *root, *r;
	size_t i;
	int rc;

	ok(add_one("{\"id\":\"" ID_A1 "\",\"type\":\"note\",\"text\":\"t\"}",
	       "p", &e, why) != 0 &&
		has(why, "not an appeal") && has(why, ID_A1),
	    "a note refused: %s", why);
	ok(add_one("{\"type\":\"appeal\"}", "p", &e, why) != 0,
	    "a record without an id refused");
	ok(add_one(
	       PARTNER_REC(",\"partner\":\"ombudsman-uz\",\"partner_ref\":"
			   "\"" ID_A1
			   "\",\"status\":\"resolved_positive\",\"x_outcome\":"
			   "\"released\""),
	       "ombudsman-uz", &e, why) == 0,
	    "an appeal from the partner becomes a reply");
	is_str(json_string_value(json_object_get(e, "kind")), "reply",
	    "reply: kind");
	is_str(json_string_value(json_object_get(e, "id")), ID_A1,
	    "reply: id is the partner's ref");
	is_str(json_string_value(json_object_get(e, "ref")), ID_B1,
	    "reply: ref is our id");
	is_str(json_string_value(json_object_get(e, "status")),
	    "resolved_positive", "reply: status");
	is_str(json_string_value(json_object_get(e, "outcome")), "released",
	    "reply: outcome from x_outcome");
	is_int(json_object_size(e), 5, "reply: nothing else");
	json_decref(e);
	ok(add_one(PARTNER_REC(",\"partner\":\"p\",\"partner_ref\":\"q\","
			       "\"x_outcome\":7"),
	       "p", &e, why) == 0 &&
		json_object_get(e, "outcome") == NULL &&
		has(json_string_value(json_object_get(e, "status")),
		    "received"),
	    "no status: received; x_outcome not a string: no outcome");
	json_decref(e);
	ok(add_one(PARTNER_REC(",\"partner\":\"other\",\"partner_ref\":\"q\""),
	       "p", &e, why) == 0 &&
		has(json_string_value(json_object_get(e, "kind")), "appeal"),
	    "from another partner: an appeal to this one");
	json_decref(e);
	ok(add_one(PARTNER_REC(",\"partner\":\"p\""), "p", &e, why) == 0 &&
		has(json_string_value(json_object_get(e, "kind")), "appeal"),
	    "from the partner without partner_ref: an appeal");
	json_decref(e);
	ok(add_one(PARTNER_REC(",\"partner\":\"p\",\"partner_ref\":\"a b\""),
	       "p", &e, why) != 0 &&
		has(why, "partner_ref"),
	    "a partner_ref ombx cannot carry refused: %s", why);
	{
		struct sb b = { 0 };

		sb_add(&b,
		    PARTNER_REC(",\"partner\":\"p\",\"partner_ref\":"
				"\"q\",\"x_outcome\":\""));
		b.len--;
		sb_rep(&b, "x", 1001);
		sb_add(&b, "\"}");
		ok(add_one(b.p, "p", &e, why) != 0 && has(why, "x_outcome"),
		    "an x_outcome over 1,000 characters refused");
		free(b.p);
	}

	root = ombx_payload_new(PKG_ID, NOW, "s");
	r = jload(rec_a3);
	for (i = 0, rc = 0; i < OMBX_ENTRIES_MAX && rc == 0; i++)
		rc = ombx_payload_add_record(root, r, "p", why);
	ok(rc == 0 && ombx_payload_add_record(root, r, "p", why) != 0 &&
		has(why, "more than 10000"),
	    "the 10,001st record refused");
	json_decref(r);
	json_decref(root);
}

/* --- the test vector of docs/exchange-format.md --------------------------- */

#define VECTOR "tests/vectors/ombx-v1.json"

/* The hex string at key of v as bytes: exactly n of them, else NULL. */
static uint8_t *
vhex(json_t *v, const char *key, size_t n)
{
	const char *h = json_string_value(json_object_get(v, key));
	uint8_t *b = malloc(n > 0 ? n : 1);
	size_t got;

	if (h == NULL || b == NULL ||
	    sodium_hex2bin(b, n, h, strlen(h), NULL, &got, NULL) != 0 ||
	    got != n || strlen(h) != 2 * n) {
		free(b);
		return NULL;
	}
	return b;
}

/* The party of the seed at key; -1 if there is none. */
static int
vparty(json_t *v, const char *key, struct party *p)
{
	uint8_t *seed = vhex(v, key, 32);

	if (seed == NULL)
		return -1;
	crypto_sign_seed_keypair(p->pk, p->sk, seed);
	free(seed);
	if (crypto_sign_ed25519_pk_to_curve25519(p->xpk, p->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(p->xsk, p->sk) != 0)
		return -1;
	return 0;
}

static int
vector_keys(json_t *v, struct party *s, struct party *r)
{
	uint8_t hint[OMBX_HINT_BYTES];
	char pk[60], fpr[OMBX_FPR_LEN + 1], hex[17];

	if (!ok(vparty(v, "sender_seed", s) == 0 &&
		    vparty(v, "recipient_seed", r) == 0,
		"vector: the seeds"))
		return -1;
	/* partner_key: "ombx1:" and unpadded base64url */
	strcpy(pk, "ombx1:");
	sodium_bin2base64(pk + 6, sizeof(pk) - 6, r->pk, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	is_str(pk,
	    json_string_value(json_object_get(v, "recipient_partner_key")),
	    "vector: partner_key");
	is_int(strlen(pk), 49, "vector: a partner_key is 49 characters");
	ombx_fingerprint(r->pk, fpr);
	is_str(fpr,
	    json_string_value(json_object_get(v, "recipient_fingerprint")),
	    "vector: fingerprint");
	ombx_hint(r->pk, hint);
	sodium_bin2hex(hex, sizeof(hex), hint, sizeof(hint));
	is_str(hex, json_string_value(json_object_get(v, "recipient_hint")),
	    "vector: recipient hint");
	return 0;
}

static void
vector_package(json_t *v, struct party *s, struct party *r)
{
	const char *pl = json_string_value(json_object_get(v, "payload"));
	size_t plen = pl != NULL ? strlen(pl) : 0, len;
	uint8_t *sig = vhex(v, "signature", 64), *m, *pkg;
	char why[OMBX_WHY_MAX];
	struct ombx_opened o;
	const char *h;

	m = malloc(OMBX_SIG_CONTEXT_LEN + 32 + plen);
	memcpy(m, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(m + OMBX_SIG_CONTEXT_LEN, r->pk, 32);
	memcpy(m + OMBX_SIG_CONTEXT_LEN + 32, pl, plen);
	ok(sig != NULL &&
		crypto_sign_verify_detached(sig, m,
		    OMBX_SIG_CONTEXT_LEN + 32 + plen, s->pk) == 0,
	    "vector: the signature is over context | recipient | payload");
	free(m);
	h = json_string_value(json_object_get(v, "package"));
	len = h != NULL ? strlen(h) / 2 : 0;
	pkg = vhex(v, "package", len);
	ok(pkg != NULL &&
		ombx_package_open(pkg, len, r->pk, open_as, r, &o, why) == 0,
	    "vector: the package opens");
	ok(pkg != NULL && memcmp(o.in.sender_pk, s->pk, 32) == 0 &&
		o.in.payload_len == plen && memcmp(o.in.payload, pl, plen) == 0,
	    "vector: to its payload, from its sender");
	if (pkg != NULL)
		ombx_opened_free(&o);
	free(pkg);
	free(sig);
}

static void
test_vector(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	json_error_t err;
	struct party s, r;
	json_t *v;

	if (top == NULL && (top = getenv("srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof(path), "%s/%s", top, VECTOR);
	v = json_load_file(path, 0, &err);
	if (!ok(json_is_object(v), "vector loads from %s", path)) {
		diag("%s:%d: %s", path, err.line, err.text);
		return;
	}
	if (vector_keys(v, &s, &r) == 0)
		vector_package(v, &s, &r);
	json_decref(v);
}

/* --- end to end, through the mock host ------------------------------------ */

struct inst {
	fv_mock_host *h;
	void *st;
};

static void
inst_new(struct inst *in, const char *name, const struct party *p)
{
	in->h = fv_mock_host_new(name, "hq", NULL);
	if (in->h == NULL || fv_mock_set_keys(in->h, p->pk, p->sk) != 0 ||
	    fv_mock_load(in->h, &ombx_plugin, &in->st) != 0)
		abort();
}

static void
inst_free(struct inst *in)
{
	fv_mock_unload(in->h, &ombx_plugin, in->st);
	fv_mock_host_free(in->h);
}

/* The n-th line (0-based) of the import's result, parsed. */
static json_t *
line(const char *res, int n)
{
	const char *nl;

	for (; n > 0 && res != NULL; n--)
		res = (nl = strchr(res, '\n')) != NULL ? nl + 1 : NULL;
	if (res == NULL || *res == '\0')
		return NULL;
	nl = strchr(res, '\n');
	return json_loadb(res, nl != NULL ? (size_t)(nl - res) : strlen(res), 0,
	    NULL);
}

static const char *
jpath(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);

	if (b != NULL)
		v = json_object_get(v, b);
	return json_string_value(v);
}

static void
e2e_appeals(struct inst *ia, struct inst *ib, uint8_t **pkg, size_t *len)
{
	char recs[4096], err[256], *res = NULL;
	json_t *l;
	uint8_t *plain;
	int rc;

	snprintf(recs, sizeof(recs), "%s\n%s\n%s\n", rec_a1, rec_a2, rec_a3);
	rc = fv_mock_exchange_send(ia->h, &ombx_plugin, ia->st, "ru-ombudsman",
	    recs, pkg, len, err, sizeof(err));
	ok(rc == 0, "A sends 3 appeals to B%s%s", rc ? ": " : "",
	    rc ? err : "");
	if (rc != 0)
		return;
	plain = malloc(*len);
	ok(open_as(&B, *pkg + OMBX_OUTER_HDR, *len - OMBX_OUTER_HDR, plain) ==
		    0 &&
		has_bytes(plain, *len - 65, "Rustam") &&
		!has_bytes(plain, *len - 65, "Dilnoza") &&
		!has_bytes(plain, *len - 65, "x_case_number") &&
		!has_bytes(plain, *len - 65, "ru-team"),
	    "the package's plaintext: no confidential name, nothing local");
	free(plain);

	rc = fv_mock_exchange_import(ib->h, &ombx_plugin, ib->st, *pkg, *len,
	    &res, err, sizeof(err));
	ok(rc == 0, "B imports it%s%s", rc ? ": " : "", rc ? err : "");
	l = line(res, 0);
	is_str(jpath(l, "sender", NULL), "ombudsman-uz", "B: the sender");
	json_decref(l);
	l = line(res, 1);
	is_str(jpath(l, "ref", NULL), ID_A1, "B: appeal 1's ref is A's id");
	is_str(jpath(l, "appeal", "channel"), "partner", "B: channel partner");
	is_str(jpath(l, "appeal", "partner"), "ombudsman-uz", "B: partner");
	ok(json_object_get(json_object_get(l, "appeal"), "status") == NULL,
	    "B: A's status did not travel");
	json_decref(l);
	l = line(res, 2);
	ok(l != NULL &&
		json_object_get(json_object_get(json_object_get(l, "appeal"),
				    "applicant"),
		    "full_name") == NULL &&
		json_is_true(json_object_get(
		    json_object_get(json_object_get(l, "appeal"), "applicant"),
		    "confidential")),
	    "B: the confidential one arrives without a name");
	json_decref(l);
	l = line(res, 3);
	is_str(jpath(json_object_get(l, "appeal"), "applicant", "full_name"),
	    "Шерзод Ташкентов", "B: Cyrillic intact");
	json_decref(l);
	ok(line(res, 4) == NULL, "B: nothing more");
	free(res);
}

static void
e2e_reply(struct inst *ia, struct inst *ib)
{
	char recs[2048], err[256], *res = NULL;
	uint8_t *pkg = NULL;
	size_t len = 0;
	json_t *l;
	int rc;

	/* B's copy of A's appeal 1, answered; and an appeal of B's own */
	snprintf(recs, sizeof(recs), "%s\n%s\n",
	    PARTNER_REC(
		",\"partner\":"
		"\"ombudsman-uz\",\"partner_ref\":\"" ID_A1 "\",\"status\":"
		"\"resolved_positive\",\"x_outcome\":\"Moved to a prison "
		"hospital.\""),
	    "{\"id\":\"" ID_B2 "\",\"type\":\"appeal\","
	    "\"applicant\":{\"full_name\":\"Ivan Petrov\",\"citizenship\":"
	    "\"RU\"},\"concerns_country\":\"UZ\",\"category\":\"property\","
	    "\"summary\":\"s\",\"channel\":\"letter\"}");
	rc = fv_mock_exchange_send(ib->h, &ombx_plugin, ib->st, "ombudsman-uz",
	    recs, &pkg, &len, err, sizeof(err));
	ok(rc == 0, "B answers A%s%s", rc ? ": " : "", rc ? err : "");
	rc = fv_mock_exchange_import(ia->h, &ombx_plugin, ia->st, pkg, len,
	    &res, err, sizeof(err));
	ok(rc == 0, "A imports the answer%s%s", rc ? ": " : "", rc ? err : "");
	l = line(res, 1);
	is_str(jpath(l, "reply", "id"), ID_A1, "A: the reply is on A's id");
	is_str(jpath(l, "reply", "ref"), ID_B1, "A: with B's ref");
	is_str(jpath(l, "reply", "status"), "resolved_positive", "A: status");
	is_str(jpath(l, "reply", "outcome"), "Moved to a prison hospital.",
	    "A: outcome");
	json_decref(l);
	l = line(res, 2);
	is_str(jpath(l, "ref", NULL), ID_B2, "A: and B's own appeal");
	json_decref(l);
	free(res);
	rc = fv_mock_exchange_import(ia->h, &ombx_plugin, ia->st, pkg, len,
	    &res, err, sizeof(err));
	ok(rc == 0, "A imports it twice: the plugin passes the same again");
	free(res);
	free(pkg);
}

/* A package A signs: the payload text j to B. */
static void
forged(const char *j, uint8_t **pkg, size_t *len)
{
	char why[OMBX_WHY_MAX];

	if (ombx_package_build((const uint8_t *)j, strlen(j), A.pk, B.pk,
		sign_as, &A, pkg, len, why) != 0)
		abort();
}

static void
e2e_refusals(struct inst *ib, const uint8_t *pkg_ab, size_t len_ab)
{
	struct inst ic;
	char err[256], *res = NULL, fpr[OMBX_FPR_LEN + 1];
	uint8_t *pkg;
	size_t len;
	int rc;

	/* C knows B, B does not know C */
	inst_new(&ic, "third-institution", &C);
	fv_mock_add_partner(ic.h, "ru-ombudsman", B.pk);
	fv_mock_add_partner(ic.h, "ombudsman-uz", A.pk);
	rc = fv_mock_exchange_send(ic.h, &ombx_plugin, ic.st, "ru-ombudsman",
	    rec_a3, &pkg, &len, err, sizeof(err));
	ok(rc == 0, "C sends to B");
	rc = fv_mock_exchange_import(ib->h, &ombx_plugin, ib->st, pkg, len,
	    &res, err, sizeof(err));
	ombx_fingerprint(C.pk, fpr);
	ok(rc != 0 && res == NULL && has(err, "not a configured partner") &&
		has(err, fpr),
	    "B refuses C's package: %s", err);
	free(pkg);

	rc = fv_mock_exchange_import(ic.h, &ombx_plugin, ic.st, pkg_ab, len_ab,
	    &res, err, sizeof(err));
	ok(rc != 0 && has(err, "for another institution"),
	    "C refuses A's package for B: %s", err);
	inst_free(&ic);

	forged(
	    ENT(APPEAL(GOODA) ",{\"kind\":\"appeal\",\"ref\":\"r2\","
			      "\"appeal\":" WITH("\"status\":\"closed\"") "}"),
	    &pkg, &len);
	rc = fv_mock_exchange_import(ib->h, &ombx_plugin, ib->st, pkg, len,
	    &res, err, sizeof(err));
	/* the plugin's own check, before it passed anything on */
	ok(rc != 0 && res == NULL && has(err, "entry 2: appeal.status"),
	    "a bad second entry refuses the whole package: %s", err);
	free(pkg);

	forged(ENT("{\"kind\":\"reply\",\"id\":\"R-17\",\"ref\":\"r\","
		   "\"status\":\"closed\"}"),
	    &pkg, &len);
	rc = fv_mock_exchange_import(ib->h, &ombx_plugin, ib->st, pkg, len,
	    &res, err, sizeof(err));
	ok(rc != 0 && has(err, "not one of our appeal ids"),
	    "a reply on an id that is not ours refused: %s", err);
	free(pkg);

	rc = fv_mock_exchange_import(ib->h, &ombx_plugin, ib->st,
	    (const uint8_t *)"PK\x03\x04", 4, &res, err, sizeof(err));
	ok(rc != 0 && has(err, "not an ombx package"), "a zip file: %s", err);
}

static void
test_e2e(void)
{
	struct inst ia, ib;
	uint8_t *pkg = NULL;
	size_t len = 0;

	inst_new(&ia, "ombudsman-uz", &A);
	inst_new(&ib, "ru-ombudsman", &B);
	fv_mock_add_partner(ia.h, "ru-ombudsman", B.pk);
	fv_mock_add_partner(ib.h, "ombudsman-uz", A.pk);
	e2e_appeals(&ia, &ib, &pkg, &len);
	e2e_reply(&ia, &ib);
	if (pkg != NULL)
		e2e_refusals(&ib, pkg, len);
	free(pkg);
	ok(!has(fv_mock_log(ia.h), "Rustam") &&
		!has(fv_mock_log(ib.h), "Rustam"),
	    "no record content logged");
	inst_free(&ia);
	inst_free(&ib);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	mkparty(&A);
	mkparty(&B);
	mkparty(&C);
	test_keys();
	test_round_trip();
	test_truncated();
	test_flips();
	test_other_recipient();
	test_resealed();
	test_inner();
	test_bad_payloads();
	test_limits();
	test_records();
	test_vector();
	test_e2e();
	return done_testing();
}
