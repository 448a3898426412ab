/*
 * ombx_format.c - the ombx package: its binary layers, its signature and
 * seal (public-key libsodium calls only), and the validation of its JSON
 * payload.  docs/exchange-format.md is the contract; the refusals here are
 * the cases it lists.
 *
 * A package is hostile until its signature checks, and its payload is
 * hostile after that too (a partner's software can be wrong): every length
 * is checked before it is used, and a payload is accepted whole or not at
 * all.  Reasons name entries and fields, never values: they reach the
 * daemon's log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "date.h"
#include "ombx_format.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static const char *const statuses[] = { "received", "under_review", "forwarded",
	"resolved_positive", "resolved_negative", "closed", NULL };
static const char *const categories[] = { "detention_conditions",
	"torture_ill_treatment", "labour_rights", "migration_status",
	"consular_assistance", "disability", "health", "property", "other",
	NULL };
static const char *const top_keys[] = { "format", "version", "package_id",
	"created_at", "sender", "entries", NULL };
static const char *const appeal_entry_keys[] = { "kind", "ref", "appeal",
	NULL };
static const char *const reply_entry_keys[] = { "kind", "id", "ref", "status",
	"outcome", NULL };
/* the fields of an appeal that travel: nothing of how we handle it */
static const char *const appeal_keys[] = { "applicant", "concerns_country",
	"category", "received_at", "summary", "tags", NULL };
static const char *const applicant_keys[] = { "full_name", "birth_date",
	"citizenship", "residence_country", "location", "contact",
	"confidential", NULL };
/* what a confidential applicant asked to withhold */
static const char *const identifying[] = { "full_name", "birth_date",
	"location", "contact", NULL };

static int refuse(char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes the reason; always -1, for "return refuse(...)". */
static int
refuse(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, OMBX_WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int
in_list(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
ombx_buf_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

/* --- keys ----------------------------------------------------------------- */

void
ombx_hint(const uint8_t pk[OMBX_KEY_BYTES], uint8_t hint[OMBX_HINT_BYTES])
{
	uint8_t h[32];

	/* a prefix of BLAKE2b-256, not BLAKE2b-64: the hint is then the
	 * start of the fingerprint a person compares */
	crypto_generichash(h, sizeof(h), pk, OMBX_KEY_BYTES, NULL, 0);
	memcpy(hint, h, OMBX_HINT_BYTES);
}

/* n bytes as hex in groups of 4 digits: n * 2.5 - 1 characters. */
static void
hex_groups(const uint8_t *b, size_t n, char *out)
{
	char hex[2 * 16 + 1];
	size_t i, o = 0;

	sodium_bin2hex(hex, sizeof(hex), b, n);
	for (i = 0; i < 2 * n; i += 4) {
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, hex + i, 4);
		o += 4;
	}
	out[o] = '\0';
}

void
ombx_fingerprint(const uint8_t pk[OMBX_KEY_BYTES], char out[OMBX_FPR_LEN + 1])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), pk, OMBX_KEY_BYTES, NULL, 0);
	hex_groups(h, 16, out);
}

/* --- the clear layer ------------------------------------------------------ */

int
ombx_outer_parse(const uint8_t *pkg, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], struct ombx_outer *o,
    char why[OMBX_WHY_MAX])
{
	uint8_t ours[OMBX_HINT_BYTES];
	char theirs_s[24], ours_s[OMBX_FPR_LEN + 1];
	uint32_t n;

	memset(o, 0, sizeof(*o));
	if (len == 0 || memcmp(pkg, OMBX_MAGIC, MIN(len, OMBX_MAGIC_LEN)) != 0)
		return refuse(why,
		    "not an ombx package (it does not begin "
		    "with OMBX)");
	if (len <= OMBX_MAGIC_LEN)
		return refuse(why,
		    "the package is truncated or altered "
		    "(%zu bytes)",
		    len);
	if (pkg[OMBX_MAGIC_LEN] != OMBX_VERSION)
		return refuse(why,
		    "unsupported ombx version %u (this "
		    "fieldvault reads version %d)",
		    pkg[OMBX_MAGIC_LEN], OMBX_VERSION);
	if (len > OMBX_PKG_MAX)
		return refuse(why, "the package is over %u bytes",
		    OMBX_PKG_MAX);
	if (len < OMBX_OUTER_HDR)
		return refuse(why,
		    "the package is truncated or altered "
		    "(%zu bytes)",
		    len);
	ombx_hint(self_pk, ours);
	if (sodium_memcmp(ours, pkg + OMBX_HINT_OFF, OMBX_HINT_BYTES) != 0) {
		hex_groups(pkg + OMBX_HINT_OFF, OMBX_HINT_BYTES, theirs_s);
		ombx_fingerprint(self_pk, ours_s);
		return refuse(why,
		    "the package is for another institution "
		    "(its recipient's key fingerprint begins %s; ours is %s)",
		    theirs_s, ours_s);
	}
	n = get_be32(pkg + OMBX_SEALED_LEN_OFF);
	if (n != len - OMBX_OUTER_HDR)
		return refuse(why,
		    "the package is truncated or altered (its "
		    "sealed part should be %lu bytes, it has %zu)",
		    (unsigned long)n, len - OMBX_OUTER_HDR);
	if (n < OMBX_SEALED_MIN)
		return refuse(why,
		    "the package is truncated or altered (a "
		    "sealed part of %lu bytes is too short)",
		    (unsigned long)n);
	memcpy(o->hint, pkg + OMBX_HINT_OFF, OMBX_HINT_BYTES);
	o->sealed = pkg + OMBX_OUTER_HDR;
	o->sealed_len = n;
	return 0;
}

/* --- the signed layer ----------------------------------------------------- */

int
ombx_inner_open(uint8_t *plain, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], struct ombx_inner *in,
    char why[OMBX_WHY_MAX])
{
	uint8_t spk[OMBX_KEY_BYTES], sig[OMBX_SIG_BYTES];
	const size_t msg = OMBX_INNER_HDR - OMBX_KEY_BYTES -
	    OMBX_SIG_CONTEXT_LEN;
	size_t plen;

	memset(in, 0, sizeof(*in));
	if (len < OMBX_INNER_HDR + OMBX_PAYLOAD_MIN)
		return refuse(why,
		    "the package is truncated or altered (its "
		    "signed part is too short)");
	plen = len - OMBX_INNER_HDR;
	if (plen > OMBX_PAYLOAD_MAX)
		return refuse(why, "the package is over %u bytes",
		    OMBX_PKG_MAX);
	memcpy(spk, plain, OMBX_KEY_BYTES);
	memcpy(sig, plain + OMBX_KEY_BYTES, OMBX_SIG_BYTES);
	/* the signed message, context | our key | payload, is laid in
	 * front of the payload over the copied header: one span, no copy
	 * of up to 64 MiB */
	memcpy(plain + msg, OMBX_SIG_CONTEXT, OMBX_SIG_CONTEXT_LEN);
	memcpy(plain + msg + OMBX_SIG_CONTEXT_LEN, self_pk, OMBX_KEY_BYTES);
	if (crypto_sign_verify_detached(sig, plain + msg,
		OMBX_SIG_CONTEXT_LEN + OMBX_KEY_BYTES + plen, spk) != 0)
		return refuse(why,
		    "the package's signature does not verify: "
		    "it was altered, or signed for another institution");
	memcpy(in->sender_pk, spk, OMBX_KEY_BYTES);
	in->payload = plain + OMBX_INNER_HDR;
	in->payload_len = plen;
	return 0;
}

/* inner = spk | sig | payload, signed through sign.  0, or -1. */
static int
inner_build(uint8_t *inner, const uint8_t *payload, size_t plen,
    const uint8_t spk[OMBX_KEY_BYTES], const uint8_t rpk[OMBX_KEY_BYTES],
    ombx_sign_fn sign, void *arg)
{
	uint8_t sig[OMBX_SIG_BYTES];

	memcpy(inner, spk, OMBX_KEY_BYTES);
	/* the message to sign is rpk | payload: rpk goes where the
	 * signature's second half will be, so the message is one span */
	memcpy(inner + OMBX_INNER_HDR - OMBX_KEY_BYTES, rpk, OMBX_KEY_BYTES);
	memcpy(inner + OMBX_INNER_HDR, payload, plen);
	if (sign(arg, inner + OMBX_INNER_HDR - OMBX_KEY_BYTES,
		OMBX_KEY_BYTES + plen, sig) != 0)
		return -1;
	memcpy(inner + OMBX_KEY_BYTES, sig, OMBX_SIG_BYTES);
	return 0;
}

int
ombx_package_build(const uint8_t *payload, size_t plen,
    const uint8_t spk[OMBX_KEY_BYTES], const uint8_t rpk[OMBX_KEY_BYTES],
    ombx_sign_fn sign, void *arg, uint8_t **pkg, size_t *len,
    char why[OMBX_WHY_MAX])
{
	uint8_t xpk[crypto_box_PUBLICKEYBYTES], *inner, *p;
	size_t ilen, total;

	*pkg = NULL;
	*len = 0;
	if (plen < OMBX_PAYLOAD_MIN)
		return refuse(why, "the payload must be at least %d bytes",
		    OMBX_PAYLOAD_MIN);
	if (plen > OMBX_PAYLOAD_MAX)
		return refuse(why, "the package would be over %u bytes",
		    OMBX_PKG_MAX);
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, rpk) != 0)
		return refuse(why,
		    "the recipient's key is not a usable "
		    "Ed25519 public key");
	ilen = OMBX_INNER_HDR + plen;
	total = OMBX_OUTER_HDR + OMBX_SEAL_BYTES + ilen;
	if ((inner = malloc(ilen)) == NULL)
		return refuse(why, "out of memory");
	if ((p = malloc(total)) == NULL) {
		free(inner);
		return refuse(why, "out of memory");
	}
	if (inner_build(inner, payload, plen, spk, rpk, sign, arg) != 0) {
		ombx_buf_free(inner, ilen);
		free(p);
		return refuse(why, "cannot sign the package");
	}
	memcpy(p, OMBX_MAGIC, OMBX_MAGIC_LEN);
	p[OMBX_MAGIC_LEN] = OMBX_VERSION;
	ombx_hint(rpk, p + OMBX_HINT_OFF);
	put_be32(p + OMBX_SEALED_LEN_OFF, (uint32_t)(OMBX_SEAL_BYTES + ilen));
	if (crypto_box_seal(p + OMBX_OUTER_HDR, inner, ilen, xpk) != 0) {
		ombx_buf_free(inner, ilen);
		free(p);
		return refuse(why, "cannot seal the package");
	}
	ombx_buf_free(inner, ilen);
	*pkg = p;
	*len = total;
	return 0;
}

int
ombx_package_open(const uint8_t *pkg, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], ombx_open_fn open, void *arg,
    struct ombx_opened *o, char why[OMBX_WHY_MAX])
{
	struct ombx_outer out;

	memset(o, 0, sizeof(*o));
	if (ombx_outer_parse(pkg, len, self_pk, &out, why) != 0)
		return -1;
	o->plain_len = out.sealed_len - OMBX_SEAL_BYTES;
	if ((o->plain = malloc(o->plain_len)) == NULL) {
		memset(o, 0, sizeof(*o));
		return refuse(why, "out of memory");
	}
	if (open(arg, out.sealed, out.sealed_len, o->plain) != 0) {
		ombx_opened_free(o);
		return refuse(why,
		    "the package's seal does not open: it was "
		    "altered, or sealed to another key than ours");
	}
	if (ombx_inner_open(o->plain, o->plain_len, self_pk, &o->in, why) !=
	    0) {
		ombx_opened_free(o);
		return -1;
	}
	return 0;
}

void
ombx_opened_free(struct ombx_opened *o)
{
	ombx_buf_free(o->plain, o->plain_len);
	memset(o, 0, sizeof(*o));
}

/* --- the payload: checks -------------------------------------------------- */

/* Where a check is: the entry (1-based, 0 at the top) and the object's
 * path in it ("appeal.applicant", or ""). */
struct vc {
	char *why;
	size_t entry;
	const char *obj;
};

static int bad(const struct vc *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "entry 3: appeal.applicant.full_name: must be ..."; always -1. */
static int
bad(const struct vc *c, const char *field, const char *fmt, ...)
{
	char at[32] = "", msg[160];
	va_list ap;

	if (c->entry > 0)
		snprintf(at, sizeof(at), "entry %zu: ", c->entry);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return refuse(c->why, "%s%s%s%s: %s", at, c->obj,
	    c->obj[0] != '\0' ? "." : "", field, msg);
}

/* A key is named in a reason only when it looks like a field name: the
 * reason is logged, and a key can be any text. */
static const char *
key_name(const char *k)
{
	size_t i;

	for (i = 0; k[i] != '\0'; i++)
		if (i >= 32 ||
		    !((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_' ||
			(i > 0 && k[i] >= '0' && k[i] <= '9')))
			return "(a field)";
	return i > 0 ? k : "(a field)";
}

static int
only_keys(const struct vc *c, json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		if (!in_list(k, keys))
			return bad(c, key_name(k),
			    "not a field of ombx "
			    "version %d",
			    OMBX_VERSION);
	return 0;
}

/* The string at key: 1 and *s, 0 when absent (an error if required),
 * -1 with why when it is not a string. */
static int
get_str(const struct vc *c, json_t *o, const char *key, int required,
    const char **s)
{
	json_t *v = json_object_get(o, key);

	*s = NULL;
	if (v == NULL) {
		if (required)
			return bad(c, key, "is required");
		return 0;
	}
	if (!json_is_string(v))
		return bad(c, key, "must be a string");
	*s = json_string_value(v);
	return 1;
}

/* Code points of valid UTF-8 (jansson checked it): one byte each that is
 * not a continuation byte. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
valid_ref(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > OMBX_REF_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int
valid_hexid(const char *s)
{
	size_t i;

	for (i = 0; i < OMBX_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int
valid_country(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	    s[2] == '\0';
}

/* Text of 1..max characters without control characters. */
static int
valid_label(const char *s, size_t max)
{
	size_t n = utf8_chars(s);
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return n >= 1 && n <= max;
}

/* An optional text field of at most max characters. */
static int
check_text(const struct vc *c, json_t *o, const char *key, size_t max)
{
	const char *s;
	int rc;

	if ((rc = get_str(c, o, key, 0, &s)) <= 0)
		return rc;
	if (utf8_chars(s) > max)
		return bad(c, key, "must be at most %zu characters", max);
	return 0;
}

static int
check_country(const struct vc *c, json_t *o, const char *key, int required)
{
	const char *s;
	int rc;

	if ((rc = get_str(c, o, key, required, &s)) <= 0)
		return rc;
	if (!valid_country(s))
		return bad(c, key, "must be an ISO 3166-1 alpha-2 code");
	return 0;
}

static int
check_applicant_names(const struct vc *c, json_t *ap, int confidential)
{
	const char *s;
	size_t i, n;
	int rc;

	if (confidential) {
		/* the sender had to leave them at home */
		for (i = 0; identifying[i] != NULL; i++)
			if (json_object_get(ap, identifying[i]) != NULL)
				return bad(c, identifying[i],
				    "must be absent: "
				    "the applicant is confidential");
		return 0;
	}
	if ((rc = get_str(c, ap, "full_name", 1, &s)) < 0)
		return rc;
	n = utf8_chars(s);
	if (n < 1 || n > OMBX_NAME_MAX)
		return bad(c, "full_name", "must be 1..%d characters",
		    OMBX_NAME_MAX);
	if ((rc = get_str(c, ap, "birth_date", 0, &s)) < 0)
		return rc;
	if (rc > 0 && !fv_sdk_date_valid(s))
		return bad(c, "birth_date",
		    "must be YYYY-MM-DD, a real date "
		    "(1900..2100)");
	if (check_text(c, ap, "location", OMBX_TEXT_MAX) != 0 ||
	    check_text(c, ap, "contact", OMBX_TEXT_MAX) != 0)
		return -1;
	return 0;
}

static int
check_applicant(const struct vc *c, json_t *appeal)
{
	json_t *ap = json_object_get(appeal, "applicant"), *conf;
	struct vc sub = *c;

	if (ap == NULL)
		return bad(c, "applicant", "is required");
	if (!json_is_object(ap))
		return bad(c, "applicant", "must be an object");
	sub.obj = "appeal.applicant";
	if (only_keys(&sub, ap, applicant_keys) != 0)
		return -1;
	conf = json_object_get(ap, "confidential");
	if (conf != NULL && !json_is_boolean(conf))
		return bad(&sub, "confidential", "must be true or false");
	if (check_applicant_names(&sub, ap, json_is_true(conf)) != 0 ||
	    check_country(&sub, ap, "citizenship", 0) != 0 ||
	    check_country(&sub, ap, "residence_country", 0) != 0)
		return -1;
	return 0;
}

static int
check_tags(const struct vc *c, json_t *appeal)
{
	json_t *tags = json_object_get(appeal, "tags"), *t;
	size_t i, n;

	if (tags == NULL)
		return 0;
	if (!json_is_array(tags))
		return bad(c, "tags", "must be an array of strings");
	if (json_array_size(tags) > OMBX_TAGS_MAX)
		return bad(c, "tags", "must have at most %d tags",
		    OMBX_TAGS_MAX);
	json_array_foreach(tags, i, t) {
		if (!json_is_string(t))
			return bad(c, "tags", "tag %zu: must be a string",
			    i + 1);
		n = utf8_chars(json_string_value(t));
		if (n < 1 || n > OMBX_TAG_MAX)
			return bad(c, "tags",
			    "tag %zu: must be 1..%d "
			    "characters",
			    i + 1, OMBX_TAG_MAX);
	}
	return 0;
}

static int
check_appeal(const struct vc *c, json_t *appeal)
{
	struct vc sub = *c;
	const char *s;
	size_t n;
	int rc;

	if (!json_is_object(appeal))
		return bad(c, "appeal", "must be an object");
	sub.obj = "appeal";
	if (only_keys(&sub, appeal, appeal_keys) != 0 ||
	    check_applicant(&sub, appeal) != 0 ||
	    check_country(&sub, appeal, "concerns_country", 1) != 0)
		return -1;
	if (get_str(&sub, appeal, "category", 1, &s) < 0)
		return -1;
	if (!in_list(s, categories))
		return bad(&sub, "category", "must be an appeal category");
	if ((rc = get_str(&sub, appeal, "received_at", 0, &s)) < 0)
		return -1;
	if (rc > 0 && !fv_sdk_date_rfc3339(s, NULL))
		return bad(&sub, "received_at",
		    "must be an RFC 3339 date "
		    "and time");
	if (get_str(&sub, appeal, "summary", 1, &s) < 0)
		return -1;
	n = json_string_length(json_object_get(appeal, "summary"));
	if (n < 1 || n > OMBX_SUMMARY_MAX)
		return bad(&sub, "summary", "must be 1..%d bytes",
		    OMBX_SUMMARY_MAX);
	return check_tags(&sub, appeal);
}

static int
check_ref(const struct vc *c, json_t *e, const char *key, const char **s)
{
	if (get_str(c, e, key, 1, s) < 0)
		return -1;
	if (!valid_ref(*s))
		return bad(c, key, "must be 1..%d printable ASCII characters",
		    OMBX_REF_MAX);
	return 0;
}

static int
check_reply(const struct vc *c, json_t *e, struct ombx_entry *out)
{
	int rc;

	if (only_keys(c, e, reply_entry_keys) != 0 ||
	    check_ref(c, e, "id", &out->id) != 0 ||
	    check_ref(c, e, "ref", &out->ref) != 0 ||
	    get_str(c, e, "status", 1, &out->status) < 0)
		return -1;
	if (!in_list(out->status, statuses))
		return bad(c, "status", "must be an appeal status");
	if ((rc = get_str(c, e, "outcome", 0, &out->outcome)) < 0)
		return -1;
	if (rc > 0 && utf8_chars(out->outcome) > OMBX_OUTCOME_MAX)
		return bad(c, "outcome", "must be at most %d characters",
		    OMBX_OUTCOME_MAX);
	out->kind = OMBX_REPLY;
	return 0;
}

static int
check_entry(struct vc *c, json_t *e, struct ombx_entry *out)
{
	const char *kind;

	memset(out, 0, sizeof(*out));
	c->obj = "";
	if (!json_is_object(e))
		return refuse(c->why, "entry %zu: must be an object", c->entry);
	if (get_str(c, e, "kind", 1, &kind) < 0)
		return -1;
	if (strcmp(kind, "reply") == 0)
		return check_reply(c, e, out);
	if (strcmp(kind, "appeal") != 0)
		return bad(c, "kind", "must be \"appeal\" or \"reply\"");
	if (only_keys(c, e, appeal_entry_keys) != 0 ||
	    check_ref(c, e, "ref", &out->ref) != 0)
		return -1;
	if ((out->appeal = json_object_get(e, "appeal")) == NULL)
		return bad(c, "appeal", "is required");
	if (check_appeal(c, out->appeal) != 0)
		return -1;
	out->kind = OMBX_APPEAL;
	return 0;
}

static int
check_top(const struct vc *c, struct ombx_payload *pl)
{
	json_t *r = pl->root, *v;
	const char *fmt;

	/* format and version first: a package of a later version is
	 * "unsupported", not "unknown field" */
	if (get_str(c, r, "format", 1, &fmt) < 0)
		return -1;
	if (strcmp(fmt, "ombx") != 0)
		return bad(c, "format", "must be \"ombx\"");
	if ((v = json_object_get(r, "version")) == NULL)
		return bad(c, "version", "is required");
	if (!json_is_integer(v))
		return bad(c, "version", "must be an integer");
	if (json_integer_value(v) != OMBX_VERSION)
		return refuse(c->why,
		    "unsupported payload version %lld (this "
		    "fieldvault reads version %d)",
		    (long long)json_integer_value(v), OMBX_VERSION);
	if (only_keys(c, r, top_keys) != 0 ||
	    get_str(c, r, "package_id", 1, &pl->package_id) < 0)
		return -1;
	if (!valid_hexid(pl->package_id))
		return bad(c, "package_id", "must be 32 lowercase hex digits");
	if (get_str(c, r, "created_at", 1, &pl->created_at) < 0)
		return -1;
	if (!fv_sdk_date_rfc3339(pl->created_at, NULL))
		return bad(c, "created_at",
		    "must be an RFC 3339 date and "
		    "time");
	if (get_str(c, r, "sender", 1, &pl->sender) < 0)
		return -1;
	if (!valid_label(pl->sender, OMBX_SENDER_MAX))
		return bad(c, "sender",
		    "must be 1..%d characters, none a "
		    "control character",
		    OMBX_SENDER_MAX);
	v = json_object_get(r, "entries");
	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > OMBX_ENTRIES_MAX)
		return bad(c, "entries", "must be an array of 1..%d entries",
		    OMBX_ENTRIES_MAX);
	return 0;
}

/* A reference of an entry, for finding one twice. */
struct keyref {
	const char *s;
	size_t entry; /* 1-based */
	enum ombx_kind kind;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->s, y->s)) != 0)
		return c;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Two appeals with one ref, or two replies on one appeal, would leave
 * the receiver to pick one: refused. */
static int
check_twice(const struct ombx_payload *pl, char *why)
{
	struct keyref *k;
	size_t i;
	int rc = 0;

	if ((k = calloc(pl->n, sizeof(*k))) == NULL)
		return refuse(why, "out of memory");
	for (i = 0; i < pl->n; i++) {
		k[i].kind = pl->e[i].kind;
		k[i].s = pl->e[i].kind == OMBX_APPEAL ? pl->e[i].ref :
							pl->e[i].id;
		k[i].entry = i + 1;
	}
	qsort(k, pl->n, sizeof(*k), keyref_cmp);
	for (i = 1; i < pl->n && rc == 0; i++)
		if (k[i].kind == k[i - 1].kind &&
		    strcmp(k[i].s, k[i - 1].s) == 0)
			rc = refuse(why, "entries %zu and %zu: %s",
			    k[i - 1].entry, k[i].entry,
			    k[i].kind == OMBX_APPEAL ?
				"two appeals with the same ref" :
				"two replies with the same id");
	free(k);
	return rc;
}

/* jansson's reason without its "near '...'": that would quote the
 * payload into the log. */
static const char *
json_why(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:
		return "not valid UTF-8";
	case json_error_duplicate_key:
		return "a key twice in one object";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a NUL character";
	case json_error_premature_end_of_input:
		return "it ends too early";
	case json_error_end_of_input_expected:
		return "something after the object";
	case json_error_wrong_type:
		return "not an object";
	default:
		return "a syntax error";
	}
}

int
ombx_payload_parse(const uint8_t *p, size_t len, struct ombx_payload *pl,
    char why[OMBX_WHY_MAX])
{
	struct vc c = { why, 0, "" };
	json_error_t je;
	json_t *ents;
	size_t i;

	memset(pl, 0, sizeof(*pl));
	if (len < OMBX_PAYLOAD_MIN || len > OMBX_PAYLOAD_MAX)
		return refuse(why, "the payload must be %d..%u bytes",
		    OMBX_PAYLOAD_MIN, OMBX_PAYLOAD_MAX);
	if ((pl->root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
		 &je)) == NULL)
		return refuse(why,
		    "the payload is not a valid JSON object: "
		    "%s (at byte %d)",
		    json_why(&je), je.position);
	if (!json_is_object(pl->root)) {
		refuse(why, "the payload is not a JSON object");
		goto fail;
	}
	if (check_top(&c, pl) != 0)
		goto fail;
	ents = json_object_get(pl->root, "entries");
	pl->n = json_array_size(ents);
	if ((pl->e = calloc(pl->n, sizeof(*pl->e))) == NULL) {
		refuse(why, "out of memory");
		goto fail;
	}
	for (i = 0; i < pl->n; i++) {
		c.entry = i + 1;
		if (check_entry(&c, json_array_get(ents, i), &pl->e[i]) != 0)
			goto fail;
		if (pl->e[i].kind == OMBX_APPEAL)
			pl->nappeals++;
		else
			pl->nreplies++;
	}
	if (check_twice(pl, why) != 0)
		goto fail;
	return 0;
fail:
	ombx_payload_free(pl);
	return -1;
}

void
ombx_payload_free(struct ombx_payload *pl)
{
	json_decref(pl->root);
	free(pl->e);
	memset(pl, 0, sizeof(*pl));
}

/* --- the payload: building ------------------------------------------------ */

json_t *
ombx_payload_new(const char *package_id, const char *created_at,
    const char *sender)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:[]}", "format", "ombx",
	    "version", OMBX_VERSION, "package_id", package_id, "created_at",
	    created_at, "sender", sender, "entries");
}

static const char *
rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* A record of an appeal the partner sent us, which we now answer. */
static int
is_reply(const json_t *rec, const char *partner)
{
	const char *ch = rec_str(rec, "channel"), *p = rec_str(rec, "partner");

	return ch != NULL && strcmp(ch, "partner") == 0 && p != NULL &&
	    strcmp(p, partner) == 0 && rec_str(rec, "partner_ref") != NULL;
}

/* The applicant object's present fields, less the identifying ones of a
 * confidential applicant (the host removed them already: this is the
 * second lock on that door).  NULL when out of memory. */
static json_t *
applicant_of(json_t *ap)
{
	json_t *a, *v;
	int conf = json_is_true(json_object_get(ap, "confidential"));
	size_t i;

	if ((a = json_object()) == NULL)
		return NULL;
	for (i = 0; applicant_keys[i] != NULL; i++) {
		if (conf && in_list(applicant_keys[i], identifying))
			continue;
		v = json_object_get(ap, applicant_keys[i]);
		if (v != NULL && !json_is_null(v) &&
		    json_object_set(a, applicant_keys[i], v) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The appeal object that travels: only appeal_keys. */
static json_t *
appeal_of(const json_t *rec)
{
	json_t *a, *v;
	size_t i;

	if ((a = json_object()) == NULL)
		return NULL;
	for (i = 0; appeal_keys[i] != NULL; i++) {
		v = json_object_get(rec, appeal_keys[i]);
		if (v == NULL || json_is_null(v))
			continue;
		/* an applicant that is no object cannot hide fields; it is
		 * copied, for the payload check to refuse */
		if (strcmp(appeal_keys[i], "applicant") == 0 &&
		    json_is_object(v))
			v = applicant_of(v);
		else
			json_incref(v);
		if (v == NULL ||
		    json_object_set_new(a, appeal_keys[i], v) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
add_reply(json_t *ents, const json_t *rec, const char *id, char *why)
{
	const char *pref = rec_str(rec, "partner_ref");
	const char *st = rec_str(rec, "status"), *out;
	json_t *e;

	if (!valid_ref(pref))
		return refuse(why,
		    "appeal %s: its partner_ref is not a "
		    "reference ombx carries (1..%d printable ASCII "
		    "characters)",
		    id, OMBX_REF_MAX);
	out = rec_str(rec, "x_outcome");
	if (out != NULL && utf8_chars(out) > OMBX_OUTCOME_MAX)
		return refuse(why,
		    "appeal %s: x_outcome is over %d "
		    "characters",
		    id, OMBX_OUTCOME_MAX);
	e = json_pack("{s:s, s:s, s:s, s:s, s:s*}", "kind", "reply", "id", pref,
	    "ref", id, "status", st != NULL ? st : "received", "outcome", out);
	if (e == NULL || json_array_append_new(ents, e) != 0)
		return refuse(why, "out of memory");
	return 0;
}

static int
add_appeal(json_t *ents, const json_t *rec, const char *id, char *why)
{
	json_t *a, *e;

	if ((a = appeal_of(rec)) == NULL)
		return refuse(why, "out of memory");
	e = json_pack("{s:s, s:s, s:o}", "kind", "appeal", "ref", id, "appeal",
	    a);
	if (e == NULL || json_array_append_new(ents, e) != 0)
		return refuse(why, "out of memory");
	return 0;
}

int
ombx_payload_add_record(json_t *root, const json_t *rec, const char *partner,
    char why[OMBX_WHY_MAX])
{
	json_t *ents = json_object_get(root, "entries");
	const char *id = rec_str(rec, "id"), *type = rec_str(rec, "type");

	if (!json_is_array(ents))
		return refuse(why, "not a payload");
	if (!json_is_object(rec) || id == NULL || !valid_hexid(id))
		return refuse(why, "a record without an id");
	if (type == NULL || strcmp(type, "appeal") != 0)
		return refuse(why,
		    "record %s is not an appeal: only appeals "
		    "are exchanged",
		    id);
	if (json_array_size(ents) >= OMBX_ENTRIES_MAX)
		return refuse(why, "more than %d appeals in one package",
		    OMBX_ENTRIES_MAX);
	if (is_reply(rec, partner))
		return add_reply(ents, rec, id, why);
	return add_appeal(ents, rec, id, why);
}

int
ombx_payload_dump(const json_t *root, uint8_t **out, size_t *len,
    char why[OMBX_WHY_MAX])
{
	const size_t flags = JSON_COMPACT;
	size_t n;
	uint8_t *p;

	*out = NULL;
	*len = 0;
	n = json_dumpb(root, NULL, 0, flags);
	if (n == 0)
		return refuse(why, "cannot write the payload");
	if (n > OMBX_PAYLOAD_MAX)
		return refuse(why, "the package would be over %u bytes",
		    OMBX_PKG_MAX);
	if ((p = malloc(n)) == NULL)
		return refuse(why, "out of memory");
	if (json_dumpb(root, (char *)p, n, flags) != n) {
		ombx_buf_free(p, n);
		return refuse(why, "cannot write the payload");
	}
	*out = p;
	*len = n;
	return 0;
}
