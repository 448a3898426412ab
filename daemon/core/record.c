/*
 * record.c - the schema of appeals and notes, and its validation.
 *
 * The schema is a table per object (appeal, applicant, note, visit); one
 * walker checks a body against a table, so a new field is one line.  Every
 * check names the field it refuses, since that message reaches a person
 * (CLI "fieldvault: error: applicant.full_name: is required").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <unictype.h>
#include <unistr.h>

#include "date.h"
#include "fv_error.h"
#include "record.h"

enum kind {
	K_NAME,	    /* 1..max chars, not blank */
	K_TEXT,	    /* 0..max chars */
	K_LONGTEXT, /* 1..max bytes, not blank */
	K_GROUP,    /* 1..max chars of [a-z0-9_.-] */
	K_DATE,
	K_COUNTRY,
	K_DATETIME,
	K_BOOL,
	K_ENUM,
	K_TAGS,
	K_HEXID,
	K_OBJECT,
};

struct field {
	const char *name;
	enum kind kind;
	int required;
	size_t max;
	const char *const *values; /* K_ENUM, NULL-terminated */
	const struct field *sub;   /* K_OBJECT */
};

#define GROUP_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"
#define HEX_CHARS   "0123456789abcdef"

struct ctx {
	struct fv_verr *e;
	int nx; /* x_ fields seen so far in the record */
};

static const char *const categories[] = { "detention_conditions",
	"torture_ill_treatment", "labour_rights", "migration_status",
	"consular_assistance", "disability", "health", "property", "other",
	NULL };
static const char *const channels[] = { "in_person", "visit", "letter", "phone",
	"online", "partner", NULL };
static const char *const statuses[] = { "received", "under_review", "forwarded",
	"resolved_positive", "resolved_negative", "closed", NULL };

static const struct field applicant_fields[] = { { .name = "full_name",
						     .kind = K_NAME,
						     .required = 1,
						     .max = FV_NAME_MAX_CHARS },
	{ .name = "birth_date", .kind = K_DATE },
	{ .name = "citizenship", .kind = K_COUNTRY },
	{ .name = "residence_country", .kind = K_COUNTRY },
	{ .name = "location", .kind = K_TEXT, .max = FV_TEXT_MAX_CHARS },
	{ .name = "contact", .kind = K_TEXT, .max = FV_TEXT_MAX_CHARS },
	{ .name = "confidential", .kind = K_BOOL }, { .name = NULL } };

static const struct field appeal_fields[] = { { .name = "applicant",
						  .kind = K_OBJECT,
						  .required = 1,
						  .sub = applicant_fields },
	{ .name = "concerns_country", .kind = K_COUNTRY, .required = 1 },
	{ .name = "category",
	    .kind = K_ENUM,
	    .required = 1,
	    .values = categories },
	{ .name = "channel", .kind = K_ENUM, .values = channels },
	{ .name = "received_at", .kind = K_DATETIME },
	{ .name = "summary",
	    .kind = K_LONGTEXT,
	    .required = 1,
	    .max = FV_SUMMARY_MAX },
	{ .name = "status", .kind = K_ENUM, .values = statuses },
	{ .name = "assigned_to", .kind = K_GROUP, .max = FV_GROUP_MAX_CHARS },
	{ .name = "partner", .kind = K_TEXT, .max = FV_TEXT_MAX_CHARS },
	{ .name = "partner_ref", .kind = K_TEXT, .max = FV_TEXT_MAX_CHARS },
	{ .name = "tags", .kind = K_TAGS }, { .name = NULL } };

static const struct field visit_fields[] = {
	{ .name = "institution", .kind = K_TEXT, .max = FV_TEXT_MAX_CHARS },
	{ .name = "country", .kind = K_COUNTRY },
	{ .name = "date", .kind = K_DATE }, { .name = NULL }
};

static const struct field note_fields[] = { { .name = "text",
						.kind = K_LONGTEXT,
						.required = 1,
						.max = FV_NOTE_TEXT_MAX },
	{ .name = "appeal_id", .kind = K_HEXID },
	{ .name = "visit", .kind = K_OBJECT, .sub = visit_fields },
	{ .name = "tags", .kind = K_TAGS }, { .name = NULL } };

/* Set by the daemon, ignored when a client sends them (top level only). */
static const char *const readonly[] = { "id", "created_at", "updated_at",
	"created_by", "conflict", "type", NULL };

/* The 249 officially assigned ISO 3166-1 alpha-2 codes, plus XK. */
static const char countries[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBS"
    "BTBVBWBYBZCACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEE"
    "EGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHM"
    "HNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLC"
    "LILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNA"
    "NCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURW"
    "SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTO"
    "TRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";

const char *
fv_record_type_name(enum fv_rtype t)
{
	switch (t) {
	case FV_RTYPE_APPEAL:
		return "appeal";
	case FV_RTYPE_NOTE:
		return "note";
	}
	return NULL;
}

int
fv_record_type_parse(const char *s, enum fv_rtype *t)
{
	if (s == NULL)
		return FV_EINVAL;
	if (strcmp(s, "appeal") == 0)
		*t = FV_RTYPE_APPEAL;
	else if (strcmp(s, "note") == 0)
		*t = FV_RTYPE_NOTE;
	else
		return FV_EINVAL;
	return 0;
}

size_t
fv_record_utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	/* Every code point has exactly one byte that is not 10xxxxxx. */
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

int
fv_record_valid_country(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 2)
		return 0;
	for (i = 0; countries[i] != '\0'; i += 2)
		if (countries[i] == s[0] && countries[i + 1] == s[1])
			return 1;
	return 0;
}

int
fv_record_valid_date(const char *s)
{
	return fv_sdk_date_valid(s);
}

static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int
fv_record_valid_rfc3339(const char *s, long long *ms_out)
{
	return fv_sdk_date_rfc3339(s, ms_out);
}

void
fv_record_format_rfc3339(long long ms, char buf[32])
{
	long long days, rem, y;
	int m, d;

	/* Floor division, so instants before 1970 land on the right day. */
	days = ms / 86400000;
	rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	rem /= 1000;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
	    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

static int verr(struct ctx *, const char *, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Record the first error as "prefix.name: msg"; always FV_EINVAL. */
static int
verr(struct ctx *c, const char *prefix, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (c->e == NULL)
		return FV_EINVAL;
	if (prefix != NULL && *prefix != '\0')
		snprintf(c->e->field, sizeof(c->e->field), "%s.%s", prefix,
		    name);
	else
		snprintf(c->e->field, sizeof(c->e->field), "%s", name);
	va_start(ap, fmt);
	vsnprintf(c->e->msg, sizeof(c->e->msg), fmt, ap);
	va_end(ap);
	return FV_EINVAL;
}

/* jansson allows U+0000 inside strings (\u0000); C consumers do not. */
static int
has_nul(const json_t *v)
{
	return strlen(json_string_value(v)) != json_string_length(v);
}

/* 1 if s[0..n) has a code point that is not Unicode White_Space. */
static int
not_blank(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + n;
	ucs4_t uc;

	while (p < end) {
		p += u8_mbtouc(&uc, p, end - p);
		if (!uc_is_property_white_space(uc))
			return 1;
	}
	return 0;
}

static int
check_enum(struct ctx *c, const char *prefix, const struct field *f,
    const char *s)
{
	char list[160];
	size_t i, len = 0;

	for (i = 0; f->values[i] != NULL; i++)
		if (strcmp(s, f->values[i]) == 0)
			return 0;
	list[0] = '\0';
	for (i = 0; f->values[i] != NULL && len < sizeof(list); i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? ", " : "", f->values[i]);
	return verr(c, prefix, f->name, "must be one of: %s", list);
}

static int
check_tags(struct ctx *c, const char *prefix, const struct field *f,
    const json_t *v)
{
	const json_t *t;
	size_t i, n;
	char name[32];

	if (!json_is_array(v))
		return verr(c, prefix, f->name, "must be an array of strings");
	if (json_array_size(v) > FV_TAGS_MAX)
		return verr(c, prefix, f->name, "must have at most %d tags",
		    FV_TAGS_MAX);
	json_array_foreach(v, i, t) {
		snprintf(name, sizeof(name), "%s[%zu]", f->name, i);
		if (!json_is_string(t))
			return verr(c, prefix, name, "must be a string");
		if (has_nul(t))
			return verr(c, prefix, name, "must not contain U+0000");
		n = fv_record_utf8_chars(json_string_value(t),
		    json_string_length(t));
		if (n < 1 || n > FV_TAG_MAX_CHARS)
			return verr(c, prefix, name, "must be 1..%d characters",
			    FV_TAG_MAX_CHARS);
	}
	return 0;
}

static int check_object(struct ctx *, const json_t *, const struct field *,
    const char *, int);

/* A value of a known field, not null. */
static int
check_value(struct ctx *c, const char *prefix, const struct field *f,
    const json_t *v)
{
	const char *s;
	char path[96];
	size_t len, n;

	switch (f->kind) {
	case K_BOOL:
		if (!json_is_boolean(v))
			return verr(c, prefix, f->name,
			    "must be true or false");
		return 0;
	case K_TAGS:
		return check_tags(c, prefix, f, v);
	case K_OBJECT:
		if (!json_is_object(v))
			return verr(c, prefix, f->name, "must be an object");
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", f->name);
		return check_object(c, v, f->sub, path, 0);
	default:
		break;
	}

	/* Every other kind is a string. */
	if (!json_is_string(v))
		return verr(c, prefix, f->name, "must be a string");
	if (has_nul(v))
		return verr(c, prefix, f->name, "must not contain U+0000");
	s = json_string_value(v);
	len = json_string_length(v);
	switch (f->kind) {
	case K_NAME:
		n = fv_record_utf8_chars(s, len);
		if (n < 1 || n > f->max)
			return verr(c, prefix, f->name,
			    "must be 1..%zu characters", f->max);
		if (!not_blank(s, len))
			return verr(c, prefix, f->name,
			    "must not be only white space");
		return 0;
	case K_TEXT:
		if (fv_record_utf8_chars(s, len) > f->max)
			return verr(c, prefix, f->name,
			    "must be at most %zu characters", f->max);
		return 0;
	case K_LONGTEXT:
		if (len == 0)
			return verr(c, prefix, f->name, "must not be empty");
		if (len > f->max)
			return verr(c, prefix, f->name,
			    "must be at most %zu bytes", f->max);
		if (!not_blank(s, len))
			return verr(c, prefix, f->name,
			    "must not be only white space");
		return 0;
	case K_GROUP:
		if (!fv_record_valid_group(s))
			return verr(c, prefix, f->name,
			    "must be 1..%zu characters of a-z 0-9 _ . -",
			    f->max);
		return 0;
	case K_DATE:
		if (!fv_record_valid_date(s))
			return verr(c, prefix, f->name,
			    "must be YYYY-MM-DD, a real date (1900..2100)");
		return 0;
	case K_COUNTRY:
		if (!fv_record_valid_country(s))
			return verr(c, prefix, f->name,
			    "must be an ISO 3166-1 alpha-2 code");
		return 0;
	case K_DATETIME:
		if (!fv_record_valid_rfc3339(s, NULL))
			return verr(c, prefix, f->name,
			    "must be an RFC 3339 date-time");
		return 0;
	case K_ENUM:
		return check_enum(c, prefix, f, s);
	case K_HEXID:
		if (len != FV_ID_HEX_LEN || strspn(s, HEX_CHARS) != len)
			return verr(c, prefix, f->name,
			    "must be %d lowercase hex characters",
			    FV_ID_HEX_LEN);
		return 0;
	default:
		return verr(c, prefix, f->name, "internal: unknown kind");
	}
}

/*
 * Bound an x_ value before anything else walks it: depth (so later
 * recursive code such as the serializer stays shallow) and NUL in strings.
 */
static int
x_walk(const json_t *v, int depth)
{
	const char *k;
	const json_t *m;
	size_t i;
	int r;

	if (json_is_string(v))
		return has_nul(v) ? -1 : 0;
	if (!json_is_array(v) && !json_is_object(v))
		return 0;
	if (depth > FV_X_DEPTH_MAX)
		return -2;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if ((r = x_walk(m, depth + 1)) != 0)
				return r;
		return 0;
	}
	/* jansson's object iterators are not const-correct; we only read. */
	json_object_foreach((json_t *)v, k, m)
		if ((r = x_walk(m, depth + 1)) != 0)
			return r;
	return 0;
}

static int
check_x(struct ctx *c, const char *prefix, const char *name, const json_t *v)
{
	size_t len, i;
	int r;

	len = strlen(name);
	if (len < 3 || len > FV_X_NAME_MAX)
		return verr(c, prefix, name,
		    "x_ field names must be 3..%d bytes", FV_X_NAME_MAX);
	/* the name becomes a leaf path, which op.c refuses with these */
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return verr(c, prefix, name,
			    "x_ field names must "
			    "not contain control characters");
	if (++c->nx > FV_X_FIELDS_MAX)
		return verr(c, prefix, name,
		    "too many x_ fields (at most %d in a record)",
		    FV_X_FIELDS_MAX);
	if ((r = x_walk(v, 1)) == -1)
		return verr(c, prefix, name, "must not contain U+0000");
	if (r == -2)
		return verr(c, prefix, name, "must be nested at most %d deep",
		    FV_X_DEPTH_MAX);
	len = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (len == 0 || len > FV_X_FIELD_MAX)
		return verr(c, prefix, name,
		    "must be at most %d bytes serialized", FV_X_FIELD_MAX);
	return 0;
}

static int
is_readonly(const char *name)
{
	size_t i;

	for (i = 0; readonly[i] != NULL; i++)
		if (strcmp(name, readonly[i]) == 0)
			return 1;
	return 0;
}

static int
check_object(struct ctx *c, const json_t *obj, const struct field *fields,
    const char *prefix, int top)
{
	const struct field *f;
	const char *k;
	const json_t *v;
	int r;

	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_null(v) || (top && is_readonly(k)))
			continue;
		for (f = fields; f->name != NULL; f++)
			if (strcmp(k, f->name) == 0)
				break;
		if (f->name != NULL)
			r = check_value(c, prefix, f, v);
		else if (strncmp(k, "x_", 2) == 0)
			r = check_x(c, prefix, k, v);
		else
			r = verr(c, prefix, k, "unknown field");
		if (r != 0)
			return r;
	}
	for (f = fields; f->name != NULL; f++) {
		v = json_object_get(obj, f->name);
		if (f->required && (v == NULL || json_is_null(v)))
			return verr(c, prefix, f->name, "is required");
	}
	return 0;
}

int
fv_record_check(const json_t *obj, enum fv_rtype t, struct fv_verr *e)
{
	struct ctx c = { .e = e, .nx = 0 };
	const json_t *type;
	const char *name;
	int r;

	if (e != NULL)
		e->field[0] = e->msg[0] = '\0';
	if ((name = fv_record_type_name(t)) == NULL)
		return verr(&c, NULL, "type", "unknown record type");
	if (!json_is_object(obj))
		return verr(&c, NULL, "(record)", "must be a JSON object");
	type = json_object_get(obj, "type");
	if (type != NULL && !json_is_null(type) &&
	    (!json_is_string(type) || strcmp(json_string_value(type), name)))
		return verr(&c, NULL, "type", "must be \"%s\"", name);
	r = check_object(&c, obj,
	    t == FV_RTYPE_APPEAL ? appeal_fields : note_fields, "", 1);
	if (r != 0)
		return r;
	/* Last, so that a field that is too big is named as such. */
	if (json_dumpb(obj, NULL, 0, JSON_COMPACT) > FV_RECORD_MAX)
		return verr(&c, NULL, "(record)",
		    "must be at most %d bytes serialized", FV_RECORD_MAX);
	return 0;
}

static void
drop_nulls(json_t *obj)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, k, v)
		if (json_is_null(v))
			json_object_del(obj, k);
}

void
fv_record_strip_readonly(json_t *obj)
{
	size_t i;
	json_t *sub;

	if (!json_is_object(obj))
		return;
	for (i = 0; readonly[i] != NULL; i++)
		json_object_del(obj, readonly[i]);
	drop_nulls(obj);
	if (json_is_object(sub = json_object_get(obj, "applicant")))
		drop_nulls(sub);
	if (json_is_object(sub = json_object_get(obj, "visit")))
		drop_nulls(sub);
}

/* Set key to a new string unless a non-null value is there. */
static int
set_default(json_t *obj, const char *key, const char *val)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL && !json_is_null(v))
		return 0;
	/* json_object_set_new() takes the reference even on failure. */
	if (json_object_set_new(obj, key, json_string(val)) != 0)
		return FV_ENOMEM;
	return 0;
}

int
fv_record_defaults(json_t *obj, enum fv_rtype t, long long now_ms)
{
	char now[32];
	int r;

	if (!json_is_object(obj) || fv_record_type_name(t) == NULL)
		return FV_EINVAL;
	if (t != FV_RTYPE_APPEAL)
		return 0;
	fv_record_format_rfc3339(now_ms, now);
	if ((r = set_default(obj, "channel", "in_person")) != 0 ||
	    (r = set_default(obj, "status", "received")) != 0 ||
	    (r = set_default(obj, "received_at", now)) != 0)
		return r;
	return 0;
}

int
fv_record_valid_group(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= FV_GROUP_MAX_CHARS &&
	    strspn(s, GROUP_CHARS) == len;
}
