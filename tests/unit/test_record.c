/*
 * test_record.c - the record schema (docs/records.md): every required field,
 * every bound at its limit and one past it, every enum, types, unknown and x_
 * fields, dates, countries, RFC 3339, NUL, defaults, read-only fields.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv_error.h"
#include "record.h"
#include "tap.h"

#define A FV_RTYPE_APPEAL
#define N FV_RTYPE_NOTE

static const char appeal_json[] =
    "{\"applicant\":{\"full_name\":\"Дилноза Эшматова\"},"
    "\"concerns_country\":\"RU\",\"category\":\"labour_rights\","
    "\"summary\":\"Не выплачена зарплата за три месяца.\"}";
static const char note_json[] = "{\"text\":\"Посещение СИЗО-1, Москва.\"}";

static json_t *
parse(const char *s)
{
	json_error_t err;
	json_t *v;

	if ((v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err)) == NULL)
		diag("bad test JSON %s: %s", s, err.text);
	return v;
}

static json_t *
base(enum fv_rtype t)
{
	return parse(t == A ? appeal_json : note_json);
}

/* A string of n copies of unit. */
static json_t *
rep(const char *unit, size_t n)
{
	size_t u = strlen(unit), i;
	char *buf;
	json_t *v;

	if ((buf = malloc(u * n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		memcpy(buf + i * u, unit, u);
	buf[u * n] = '\0';
	v = json_stringn(buf, u * n);
	free(buf);
	return v;
}

/* Set (v) or delete (v NULL) the member at a dotted path "a.b"; takes v. */
static void
put(json_t *o, const char *path, json_t *v)
{
	const char *dot = strchr(path, '.');
	char head[64];
	json_t *sub;

	if (dot == NULL) {
		if (v == NULL)
			json_object_del(o, path);
		else
			json_object_set_new(o, path, v);
		return;
	}
	snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
	if ((sub = json_object_get(o, head)) == NULL) {
		sub = json_object();
		json_object_set_new(o, head, sub);
	}
	put(sub, dot + 1, v);
}

/* Check o (consumed): field NULL expects success, else that error. */
static void
expect(json_t *o, enum fv_rtype t, const char *field, const char *msg,
    const char *name)
{
	struct fv_verr e;
	int r;

	r = fv_record_check(o, t, &e);
	if (field == NULL) {
		if (!ok(r == 0, "%s: accepted", name))
			diag("refused: %s: %s", e.field, e.msg);
	} else {
		ok(r == FV_EINVAL && strcmp(e.field, field) == 0 &&
			(msg == NULL || strstr(e.msg, msg) != NULL),
		    "%s: refused as %s", name, field);
		if (r != FV_EINVAL || strcmp(e.field, field) != 0 ||
		    (msg != NULL && strstr(e.msg, msg) == NULL))
			diag("got %d %s: %s", r, r ? e.field : "",
			    r ? e.msg : "");
	}
	json_decref(o);
}

/* Base record of type t with path set to JSON text val (NULL: deleted). */
static void
try(enum fv_rtype t, const char *path, const char *val, const char *field,
    const char *msg)
{
	json_t *o = base(t);
	char name[200];

	put(o, path, val != NULL ? parse(val) : NULL);
	snprintf(name, sizeof(name), "%s %s = %s", t == A ? "appeal" : "note",
	    path, val != NULL ? val : "(absent)");
	expect(o, t, field, msg, name);
}

/* Base record with path set to v (taken). */
static void
tryv(enum fv_rtype t, const char *path, json_t *v, const char *field,
    const char *msg, const char *name)
{
	json_t *o = base(t);

	put(o, path, v);
	expect(o, t, field, msg, name);
}

static const struct {
	enum fv_rtype t;
	const char *path, *val, *field, *msg;
} cases[] = {
	/* Every required field missing, or null (= absent). */
	{ A, "applicant", NULL, "applicant", "is required" },
	{ A, "applicant", "null", "applicant", "is required" },
	{ A, "applicant.full_name", NULL, "applicant.full_name",
	    "is required" },
	{ A, "applicant.full_name", "null", "applicant.full_name",
	    "is required" },
	{ A, "concerns_country", NULL, "concerns_country", "is required" },
	{ A, "category", NULL, "category", "is required" },
	{ A, "summary", NULL, "summary", "is required" },
	{ A, "summary", "null", "summary", "is required" },
	{ N, "text", NULL, "text", "is required" },
	{ N, "text", "null", "text", "is required" },
	/* Optional fields may be null, i.e. absent. */
	{ A, "channel", "null", NULL, NULL },
	{ A, "applicant.birth_date", "null", NULL, NULL },
	{ N, "visit", "null", NULL, NULL },
	/* Wrong JSON types. */
	{ A, "applicant", "\"Эшматова\"", "applicant", "must be an object" },
	{ A, "applicant", "[]", "applicant", "must be an object" },
	{ A, "applicant.full_name", "42", "applicant.full_name",
	    "must be a string" },
	{ A, "applicant.birth_date", "20240101", "applicant.birth_date",
	    "must be a string" },
	{ A, "applicant.citizenship", "true", "applicant.citizenship",
	    "must be a string" },
	{ A, "applicant.location", "[\"x\"]", "applicant.location",
	    "must be a string" },
	{ A, "applicant.contact", "1.5", "applicant.contact",
	    "must be a string" },
	{ A, "applicant.confidential", "\"yes\"", "applicant.confidential",
	    "must be true or false" },
	{ A, "applicant.confidential", "1", "applicant.confidential",
	    "must be true or false" },
	{ A, "applicant.confidential", "true", NULL, NULL },
	{ A, "concerns_country", "1", "concerns_country", "must be a string" },
	{ A, "category", "[\"health\"]", "category", "must be a string" },
	{ A, "summary", "{}", "summary", "must be a string" },
	{ A, "received_at", "0", "received_at", "must be a string" },
	{ A, "status", "false", "status", "must be a string" },
	{ A, "assigned_to", "5", "assigned_to", "must be a string" },
	{ A, "partner", "false", "partner", "must be a string" },
	{ A, "partner_ref", "{}", "partner_ref", "must be a string" },
	{ A, "tags", "\"a\"", "tags", "must be an array" },
	{ A, "tags", "{}", "tags", "must be an array" },
	{ A, "tags", "[\"a\",\"b\",3]", "tags[2]", "must be a string" },
	{ A, "tags", "[null]", "tags[0]", "must be a string" },
	{ A, "tags", "[]", NULL, NULL },
	{ N, "text", "1", "text", "must be a string" },
	{ N, "appeal_id", "5", "appeal_id", "must be a string" },
	{ N, "visit", "\"СИЗО-1\"", "visit", "must be an object" },
	{ N, "visit.date", "20240101", "visit.date", "must be a string" },
	{ N, "visit.institution", "1", "visit.institution",
	    "must be a string" },
	{ N, "tags", "[[]]", "tags[0]", "must be a string" },
	/* Unknown fields, top level and nested; x_ is case-sensitive. */
	{ A, "foo", "1", "foo", "unknown field" },
	{ A, "applicant.nickname", "\"x\"", "applicant.nickname",
	    "unknown field" },
	{ A, "applicant.id", "\"x\"", "applicant.id", "unknown field" },
	{ A, "X_foo", "1", "X_foo", "unknown field" },
	{ A, "text", "\"x\"", "text", "unknown field" },
	{ N, "summary", "\"x\"", "summary", "unknown field" },
	{ N, "visit.room", "\"12\"", "visit.room", "unknown field" },
	{ N, "visit.type", "\"x\"", "visit.type", "unknown field" },
	/* x_ fields are kept, top level and nested, any JSON value. */
	{ A, "x_source", "{\"a\":[1,2,{\"b\":null}],\"c\":\"Ж\"}", NULL, NULL },
	{ A, "applicant.x_ref", "\"abc\"", NULL, NULL },
	{ A, "x_null", "null", NULL, NULL },
	{ N, "visit.x_cell", "12", NULL, NULL },
	{ N, "x_flags", "[true,false,null,1.5]", NULL, NULL },
	{ A, "x_", "1", "x_", "x_ field names must be 3..64 bytes" },
	/* Enums. */
	{ A, "category", "\"Health\"", "category", "must be one of: " },
	{ A, "status", "\"\"", "status", "must be one of: " },
	{ A, "channel", "\"in person\"", "channel", "must be one of: " },
	/* type, if present, must match; other read-only fields are ignored. */
	{ A, "type", "\"appeal\"", NULL, NULL },
	{ A, "type", "null", NULL, NULL },
	{ A, "type", "\"note\"", "type", "must be \"appeal\"" },
	{ A, "type", "\"Appeal\"", "type", "must be \"appeal\"" },
	{ A, "type", "5", "type", "must be \"appeal\"" },
	{ N, "type", "\"note\"", NULL, NULL },
	{ N, "type", "\"appeal\"", "type", "must be \"note\"" },
	{ A, "id", "5", NULL, NULL },
	{ A, "created_at", "\"junk\"", NULL, NULL },
	{ A, "updated_at", "[]", NULL, NULL },
	{ N, "created_by", "{}", NULL, NULL },
	{ N, "conflict", "true", NULL, NULL },
	/* Dates: real calendar dates, 1900..2100. */
	{ A, "applicant.birth_date", "\"2024-02-29\"", NULL, NULL },
	{ A, "applicant.birth_date", "\"2000-02-29\"", NULL, NULL },
	{ A, "applicant.birth_date", "\"1900-01-01\"", NULL, NULL },
	{ A, "applicant.birth_date", "\"2100-12-31\"", NULL, NULL },
	{ A, "applicant.birth_date", "\"2023-02-29\"", "applicant.birth_date",
	    "must be YYYY-MM-DD" },
	{ A, "applicant.birth_date", "\"1900-02-29\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2100-02-29\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"1899-12-31\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2101-01-01\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-13-01\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-00-10\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-04-31\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-04-00\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-4-01\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024/04/01\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"2024-04-01x\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\" 2024-04-01\"", "applicant.birth_date",
	    NULL },
	{ A, "applicant.birth_date", "\"\"", "applicant.birth_date", NULL },
	{ N, "visit.date", "\"2024-02-29\"", NULL, NULL },
	{ N, "visit.date", "\"2023-02-29\"", "visit.date",
	    "must be YYYY-MM-DD" },
	/* Countries: assigned alpha-2, upper case. */
	{ A, "concerns_country", "\"UZ\"", NULL, NULL },
	{ A, "concerns_country", "\"XK\"", NULL, NULL },
	{ A, "concerns_country", "\"ZZ\"", "concerns_country",
	    "must be an ISO 3166-1 alpha-2 code" },
	{ A, "concerns_country", "\"uz\"", "concerns_country", NULL },
	{ A, "concerns_country", "\"Uz\"", "concerns_country", NULL },
	{ A, "concerns_country", "\"UZB\"", "concerns_country", NULL },
	{ A, "concerns_country", "\"UK\"", "concerns_country", NULL },
	{ A, "concerns_country", "\"\"", "concerns_country", NULL },
	{ A, "applicant.citizenship", "\"ZZ\"", "applicant.citizenship", NULL },
	{ A, "applicant.residence_country", "\"ru\"",
	    "applicant.residence_country", NULL },
	{ A, "applicant.residence_country", "\"KZ\"", NULL, NULL },
	{ N, "visit.country", "\"ZZ\"", "visit.country", NULL },
	{ N, "visit.country", "\"TR\"", NULL, NULL },
	/* received_at. */
	{ A, "received_at", "\"2026-11-24T14:16:37Z\"", NULL, NULL },
	{ A, "received_at", "\"2026-11-24T14:16:37.125+05:00\"", NULL, NULL },
	{ A, "received_at", "\"2026-11-24 14:16:37Z\"", "received_at",
	    "must be an RFC 3339 date-time" },
	{ A, "received_at", "\"2026-11-24\"", "received_at", NULL },
	/* assigned_to: a group name. */
	{ A, "assigned_to", "\"tashkent\"", NULL, NULL },
	{ A, "assigned_to", "\"field.uz-1_a\"", NULL, NULL },
	{ A, "assigned_to", "\"\"", "assigned_to",
	    "must be 1..64 characters of a-z 0-9 _ . -" },
	{ A, "assigned_to", "\"Tashkent\"", "assigned_to", NULL },
	{ A, "assigned_to", "\"tash kent\"", "assigned_to", NULL },
	{ A, "assigned_to", "\"ташкент\"", "assigned_to", NULL },
	/* appeal_id: 32 lowercase hex. */
	{ N, "appeal_id", "\"0123456789abcdef0123456789abcdef\"", NULL, NULL },
	{ N, "appeal_id", "\"0123456789ABCDEF0123456789ABCDEF\"", "appeal_id",
	    "must be 32 lowercase hex characters" },
	{ N, "appeal_id", "\"0123456789abcdef0123456789abcde\"", "appeal_id",
	    NULL },
	{ N, "appeal_id", "\"0123456789abcdef0123456789abcdef0\"", "appeal_id",
	    NULL },
	{ N, "appeal_id", "\"0123456789abcdefg123456789abcdef\"", "appeal_id",
	    NULL },
	/* Empty optional texts are allowed; blank required texts are not. */
	{ A, "applicant.location", "\"\"", NULL, NULL },
	{ N, "visit.institution", "\"\"", NULL, NULL },
	{ A, "applicant.full_name", "\"\"", "applicant.full_name",
	    "must be 1..200 characters" },
	{ A, "applicant.full_name", "\"  \\t \"", "applicant.full_name",
	    "must not be only white space" },
	{ A, "applicant.full_name", "\"\\u3000\\u00a0\"", "applicant.full_name",
	    "must not be only white space" },
	{ A, "summary", "\"\"", "summary", "must not be empty" },
	{ A, "summary", "\" \\n\\t\"", "summary",
	    "must not be only white space" },
	{ N, "text", "\"\"", "text", "must not be empty" },
	{ A, "tags", "[\"ok\",\"\"]", "tags[1]", "must be 1..100 characters" },
	/* No U+0000 in any string. */
	{ A, "summary", "\"a\\u0000b\"", "summary", "must not contain U+0000" },
	{ A, "applicant.full_name", "\"Ж\\u0000\"", "applicant.full_name",
	    "must not contain U+0000" },
	{ A, "applicant.location", "\"\\u0000\"", "applicant.location",
	    "must not contain U+0000" },
	{ A, "concerns_country", "\"UZ\\u0000\"", "concerns_country",
	    "must not contain U+0000" },
	{ A, "tags", "[\"a\\u0000\"]", "tags[0]", "must not contain U+0000" },
	{ A, "x_raw", "{\"k\":[\"a\\u0000\"]}", "x_raw",
	    "must not contain U+0000" },
	{ N, "text", "\"\\u0000\"", "text", "must not contain U+0000" },
	{ N, "visit.institution", "\"a\\u0000\"", "visit.institution",
	    "must not contain U+0000" },
	/* The rest of docs/records.md's rules, each at its edge. */
	{ A, "x_a", "1", NULL, NULL },
	{ A, "xfoo", "1", "xfoo", "unknown field" },
	{ A, "x_a\tb", "1", "x_a\tb", "must not contain control characters" },
	{ A, "x_\037", "1", "x_\037", "must not contain control characters" },
	{ N, "visit.x_\177", "1", "visit.x_\177",
	    "must not contain control characters" },
	{ N, "text", "\" \\n\\u00a0\"", "text",
	    "must not be only white space" },
	{ A, "received_at", "\"1900-01-01T00:00:00Z\"", NULL, NULL },
	{ A, "received_at", "\"2100-12-31T23:59:60.999999999z\"", NULL, NULL },
	{ A, "received_at", "\"1899-12-31T23:59:59Z\"", "received_at", NULL },
	{ A, "received_at", "\"2101-01-01T00:00:00Z\"", "received_at", NULL },
	{ A, "received_at", "\"2026-11-24T14:16:37\"", "received_at", NULL },
	{ A, "received_at", "\"2026-11-24T14:16:37+0500\"", "received_at",
	    NULL },
	{ A, "assigned_to", "\"a\"", NULL, NULL },
	{ A, "tags", "[\"a\"]", NULL, NULL },
	{ A, "applicant.contact", "\"\"", NULL, NULL },
	{ A, "partner", "\"\"", NULL, NULL },
	{ A, "partner_ref", "\"\"", NULL, NULL },
	{ A, "concerns_country", "\"SU\"", "concerns_country", NULL },
	{ A, "concerns_country", "\"EU\"", "concerns_country", NULL },
};

/* Every value of an enum is accepted, and a bad one names them all. */
static void
enums(void)
{
	static const char *const cat[] = { "detention_conditions",
		"torture_ill_treatment", "labour_rights", "migration_status",
		"consular_assistance", "disability", "health", "property",
		"other" };
	static const char *const chan[] = { "in_person", "visit", "letter",
		"phone", "online", "partner" };
	static const char *const st[] = { "received", "under_review",
		"forwarded", "resolved_positive", "resolved_negative",
		"closed" };
	struct fv_verr e;
	json_t *o;
	size_t i;

	for (i = 0; i < sizeof(cat) / sizeof(cat[0]); i++)
		tryv(A, "category", json_string(cat[i]), NULL, NULL, cat[i]);
	for (i = 0; i < sizeof(chan) / sizeof(chan[0]); i++)
		tryv(A, "channel", json_string(chan[i]), NULL, NULL, chan[i]);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		tryv(A, "status", json_string(st[i]), NULL, NULL, st[i]);

	o = base(A);
	put(o, "category", json_string("bogus"));
	is_int(fv_record_check(o, A, &e), FV_EINVAL, "category bogus");
	is_str(e.msg,
	    "must be one of: detention_conditions, "
	    "torture_ill_treatment, labour_rights, migration_status, "
	    "consular_assistance, disability, health, property, other",
	    "category: message lists every value");
	put(o, "category", json_string("other"));
	put(o, "channel", json_string("fax"));
	is_int(fv_record_check(o, A, &e), FV_EINVAL, "channel fax");
	is_str(e.msg,
	    "must be one of: in_person, visit, letter, phone, "
	    "online, partner",
	    "channel: message lists every value");
	put(o, "channel", NULL);
	put(o, "status", json_string("open"));
	is_int(fv_record_check(o, A, &e), FV_EINVAL, "status open");
	is_str(e.field, "status", "status: field");
	is_str(e.msg,
	    "must be one of: received, under_review, forwarded, "
	    "resolved_positive, resolved_negative, closed",
	    "status: message lists every value");
	json_decref(o);
}

/* x_ count: the top level and the sub-object sub of a record of type t
 * together, 32 then 33. */
static void
x_count(enum fv_rtype t, const char *sub)
{
	json_t *o = base(t);
	char name[64];
	size_t i;

	for (i = 0; i < FV_X_FIELDS_MAX / 2; i++) {
		snprintf(name, sizeof(name), "%s.x_s%02zu", sub, i);
		put(o, name, json_integer(i));
		snprintf(name, sizeof(name), "x_t%02zu", i);
		put(o, name, json_integer(i));
	}
	snprintf(name, sizeof(name), "32 x_ fields, top level and %s", sub);
	expect(json_deep_copy(o), t, NULL, NULL, name);
	put(o, "x_t16", json_integer(16));
	snprintf(name, sizeof(name), "33 x_ fields, top level and %s", sub);
	expect(o, t, "x_t16", "too many x_ fields", name);
}

/* Each bound at its limit and one past it. */
static void
bounds(void)
{
	static const char *const texts[] = { "applicant.location",
		"applicant.contact", "partner", "partner_ref" };
	json_t *a;
	char name[FV_X_NAME_MAX + 2];
	size_t i;

	/* "Ж" is two bytes: characters, not bytes, are counted. */
	tryv(A, "applicant.full_name", rep("Ж", 200), NULL, NULL,
	    "full_name 200 Cyrillic letters");
	tryv(A, "applicant.full_name", rep("Ж", 201), "applicant.full_name",
	    "must be 1..200 characters", "full_name 201 Cyrillic letters");
	tryv(A, "applicant.full_name", rep("Ж", 1), NULL, NULL,
	    "full_name 1 letter");
	tryv(A, "summary", rep("a", 65536), NULL, NULL, "summary 65536 bytes");
	tryv(A, "summary", rep("a", 65537), "summary",
	    "must be at most 65536 bytes", "summary 65537 bytes");
	/* Bytes, not characters: 32768 two-byte letters are 64 KiB. */
	tryv(A, "summary", rep("Ж", 32768), NULL, NULL,
	    "summary 32768 Cyrillic letters (65536 bytes)");
	tryv(A, "summary", rep("Ж", 32769), "summary", NULL,
	    "summary 32769 Cyrillic letters (65538 bytes)");
	tryv(N, "text", rep("a", 262144), NULL, NULL, "text 262144 bytes");
	tryv(N, "text", rep("a", 262145), "text",
	    "must be at most 262144 bytes", "text 262145 bytes");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		snprintf(name, sizeof(name), "%s 1000 letters", texts[i]);
		tryv(A, texts[i], rep("Ж", 1000), NULL, NULL, name);
		snprintf(name, sizeof(name), "%s 1001 letters", texts[i]);
		tryv(A, texts[i], rep("Ж", 1001), texts[i],
		    "must be at most 1000 characters", name);
	}
	tryv(N, "visit.institution", rep("Ж", 1000), NULL, NULL,
	    "visit.institution 1000 letters");
	tryv(N, "visit.institution", rep("Ж", 1001), "visit.institution",
	    "must be at most 1000 characters", "visit.institution 1001");
	tryv(A, "assigned_to", rep("a", 64), NULL, NULL, "assigned_to 64");
	tryv(A, "assigned_to", rep("a", 65), "assigned_to", NULL,
	    "assigned_to 65");

	/* Tags: count and length. */
	a = json_array();
	for (i = 0; i < FV_TAGS_MAX; i++)
		json_array_append_new(a, json_string("t"));
	tryv(A, "tags", json_deep_copy(a), NULL, NULL, "64 tags");
	json_array_append_new(a, json_string("t"));
	tryv(N, "tags", a, "tags", "must have at most 64 tags", "65 tags");
	a = json_array();
	json_array_append_new(a, rep("Ж", 100));
	tryv(A, "tags", a, NULL, NULL, "tag of 100 letters");
	a = json_array();
	json_array_append_new(a, json_string("ok"));
	json_array_append_new(a, rep("Ж", 101));
	tryv(A, "tags", a, "tags[1]", "must be 1..100 characters",
	    "tag of 101 letters");

	/* x_ value: a string of k bytes serializes to k + 2. */
	tryv(A, "x_blob", rep("a", 65534), NULL, NULL,
	    "x_ field of 65536 bytes serialized");
	tryv(A, "x_blob", rep("a", 65535), "x_blob",
	    "must be at most 65536 bytes serialized",
	    "x_ field of 65537 bytes serialized");
	tryv(N, "visit.x_blob", rep("a", 65535), "visit.x_blob", NULL,
	    "nested x_ field of 65537 bytes serialized");

	x_count(A, "applicant");
	x_count(N, "visit");
	memset(name, 'n', sizeof(name));
	memcpy(name, "x_", 2);
	name[FV_X_NAME_MAX] = '\0';
	tryv(A, name, json_true(), NULL, NULL, "x_ name of 64 bytes");
	name[FV_X_NAME_MAX] = 'n';
	name[FV_X_NAME_MAX + 1] = '\0';
	tryv(A, name, json_true(), name, "names must be 3..64 bytes",
	    "x_ name of 65 bytes");

	/* x_ depth: 16 nested containers, then 17. */
	a = json_integer(1);
	for (i = 0; i < FV_X_DEPTH_MAX; i++)
		a = i % 2 ? json_pack("[o]", a) : json_pack("{s:o}", "k", a);
	tryv(A, "x_deep", json_deep_copy(a), NULL, NULL, "x_ 16 deep");
	tryv(A, "applicant.x_deep", json_deep_copy(a), NULL, NULL,
	    "applicant.x_ 16 deep");
	tryv(A, "x_deep", json_pack("[o]", json_deep_copy(a)), "x_deep",
	    "must be nested at most 16 deep", "x_ 17 deep");
	tryv(A, "applicant.x_deep", json_pack("[o]", a), "applicant.x_deep",
	    "must be nested at most 16 deep", "applicant.x_ 17 deep");
}

/* Grow o with x_ fields until it serializes to exactly size bytes. */
static void
fill_to(json_t *o, size_t size)
{
	char key[16];
	size_t cur, i;

	for (i = 0;; i++) {
		snprintf(key, sizeof(key), "x_f%02zu", i);
		json_object_set_new(o, key, json_string(""));
		cur = json_dumpb(o, NULL, 0, JSON_COMPACT);
		if (size - cur <= 60000) {
			json_object_set_new(o, key, rep("a", size - cur));
			return;
		}
		json_object_set_new(o, key, rep("a", 60000));
	}
}

static void
record_size(void)
{
	json_t *o;

	o = base(N);
	put(o, "text", rep("a", FV_NOTE_TEXT_MAX));
	fill_to(o, FV_RECORD_MAX);
	is_int(json_dumpb(o, NULL, 0, JSON_COMPACT), FV_RECORD_MAX,
	    "filler built a record of exactly 1 MiB");
	expect(o, N, NULL, NULL, "record of 1048576 bytes serialized");
	o = base(N);
	put(o, "text", rep("a", FV_NOTE_TEXT_MAX));
	fill_to(o, FV_RECORD_MAX + 1);
	expect(o, N, "(record)", "must be at most 1048576 bytes",
	    "record of 1048577 bytes serialized");
}

static void
misc_check(void)
{
	struct fv_verr e;
	json_t *o;

	expect(base(A), A, NULL, NULL, "minimal appeal");
	expect(base(N), N, NULL, NULL, "minimal note");
	expect(
	    parse(
		"{\"type\":\"appeal\",\"id\":\"x\",\"applicant\":{"
		"\"full_name\":\"Gʻulomov Oʻtkir\",\"birth_date\":\"1990-05-17\","
		"\"citizenship\":\"UZ\",\"residence_country\":\"RU\","
		"\"location\":\"СИЗО-1, Москва\",\"contact\":\"+7 900 000-00-00\","
		"\"confidential\":true,\"x_ref\":\"A-1\"},"
		"\"concerns_country\":\"RU\",\"category\":\"detention_conditions\","
		"\"channel\":\"visit\",\"received_at\":\"2026-11-24T14:16:37Z\","
		"\"summary\":\"شكوى\",\"status\":\"forwarded\","
		"\"assigned_to\":\"moscow\",\"partner\":\"Уполномоченный\","
		"\"partner_ref\":\"RU-2026/17\",\"tags\":[\"визит\",\"oʻ\"],"
		"\"x_source\":{\"form\":3}}"),
	    A, NULL, NULL, "full appeal");
	expect(
	    parse(
		"{\"text\":\"Visit report\",\"appeal_id\":"
		"\"00112233445566778899aabbccddeeff\",\"visit\":{\"institution\":"
		"\"ИК-2\",\"country\":\"RU\",\"date\":\"2026-11-20\"},"
		"\"tags\":[\"monitoring\"]}"),
	    N, NULL, NULL, "full note");

	/* The first bad field in body order. */
	expect(parse("{\"foo\":1,\"summary\":5}"), A, "foo", "unknown field",
	    "first bad field is named");
	expect(parse("{\"summary\":5,\"foo\":1}"), A, "summary", NULL,
	    "first bad field is named (other order)");
	expect(parse("[1]"), A, "(record)", "must be a JSON object",
	    "array body");
	o = base(A);
	is_int(fv_record_check(o, A, NULL), 0, "e may be NULL (good)");
	is_int(fv_record_check(o, N, NULL), FV_EINVAL, "e may be NULL (bad)");
	is_int(fv_record_check(o, (enum fv_rtype)7, &e), FV_EINVAL,
	    "unknown record type");
	is_str(e.field, "type", "unknown record type: field");
	is_int(fv_record_check(NULL, A, &e), FV_EINVAL, "NULL body");
	json_decref(o);
}

static void
helpers(void)
{
	static const char *const rfc_bad[] = { "2026-11-24 14:16:37Z",
		"2026-11-24T14:16:37", "2026-11-24T24:00:00Z",
		"2026-11-24T14:60:00Z", "2026-11-24T14:16:61Z",
		"2026-11-24T14:16:37.Z", "2026-11-24T14:16:37.1234567890Z",
		"2026-11-24T14:16:37+0500", "2026-11-24T14:16:37+05:00x",
		"2026-11-24T14:16:37+24:00", "2026-11-24T14:16:37+05:60",
		"2026-11-24T14:16Z", "2026-11-24", "2023-02-29T00:00:00Z",
		"2026-11-24T14:16:37ZZ", "1899-12-31T23:59:59Z", "",
		"2026-11-24X14:16:37Z", "2026-11-24T1:16:37Z" };
	enum fv_rtype t = 0;
	long long ms;
	char buf[32];
	int n, i, j;
	size_t k;

	is_str(fv_record_type_name(A), "appeal", "rtype name appeal");
	is_str(fv_record_type_name(N), "note", "rtype name note");
	ok(fv_record_type_name((enum fv_rtype)0) == NULL, "rtype name of 0");
	ok(fv_record_type_parse("note", &t) == 0 && t == N, "parse note");
	ok(fv_record_type_parse("appeal", &t) == 0 && t == A, "parse appeal");
	is_int(fv_record_type_parse("Appeal", &t), FV_EINVAL, "parse Appeal");
	is_int(fv_record_type_parse(NULL, &t), FV_EINVAL, "parse NULL");

	is_int(fv_record_utf8_chars("", 0), 0, "utf8 chars: empty");
	is_int(fv_record_utf8_chars("Жж", 4), 2, "utf8 chars: Cyrillic");
	is_int(fv_record_utf8_chars("gʻ", 3), 2, "utf8 chars: modifier letter");
	is_int(fv_record_utf8_chars("\xf0\x9f\x98\x80", 4), 1,
	    "utf8 chars: emoji");

	/* 249 assigned codes + XK, out of all 676 pairs. */
	for (n = 0, i = 'A'; i <= 'Z'; i++)
		for (j = 'A'; j <= 'Z'; j++) {
			buf[0] = i, buf[1] = j, buf[2] = '\0';
			n += fv_record_valid_country(buf);
		}
	is_int(n, 250, "250 valid country codes");
	ok(fv_record_valid_country("AX") && fv_record_valid_country("BQ") &&
		fv_record_valid_country("SS") && fv_record_valid_country("SX"),
	    "recent codes are valid");
	ok(!fv_record_valid_country("AN") && !fv_record_valid_country("YU") &&
		!fv_record_valid_country("EU") &&
		!fv_record_valid_country("SU") &&
		!fv_record_valid_country(NULL),
	    "withdrawn and reserved codes are not");

	ok(fv_record_valid_rfc3339("2026-11-24T14:16:37Z", &ms) &&
		ms == 1795529797000LL,
	    "rfc3339: Z");
	ok(fv_record_valid_rfc3339("2026-11-24t14:16:37z", &ms) &&
		ms == 1795529797000LL,
	    "rfc3339: lower-case t and z");
	ok(fv_record_valid_rfc3339("2026-11-24T19:16:37.5+05:00", &ms) &&
		ms == 1795529797500LL,
	    "rfc3339: +05:00 and .5");
	ok(fv_record_valid_rfc3339("2026-11-24T10:46:37.123456789-03:30",
	       &ms) &&
		ms == 1795529797123LL,
	    "rfc3339: -03:30 and 9 digits");
	ok(fv_record_valid_rfc3339("1970-01-01T00:00:00Z", &ms) && ms == 0,
	    "rfc3339: epoch");
	ok(fv_record_valid_rfc3339("1969-12-31T23:59:59Z", &ms) && ms == -1000,
	    "rfc3339: before the epoch");
	ok(fv_record_valid_rfc3339("2024-02-29T00:00:00+00:00", &ms) &&
		ms == 1709164800000LL,
	    "rfc3339: leap day");
	ok(fv_record_valid_rfc3339("2016-12-31T23:59:60Z", &ms) &&
		ms == 1483228800000LL,
	    "rfc3339: leap second is the next second");
	ok(fv_record_valid_rfc3339("2026-11-24T14:16:37Z", NULL),
	    "rfc3339: no ms");
	for (k = 0; k < sizeof(rfc_bad) / sizeof(rfc_bad[0]); k++)
		ok(!fv_record_valid_rfc3339(rfc_bad[k], &ms),
		    "rfc3339 bad: '%s'", rfc_bad[k]);

	fv_record_format_rfc3339(0, buf);
	is_str(buf, "1970-01-01T00:00:00Z", "format: epoch");
	fv_record_format_rfc3339(1795529797999LL, buf);
	is_str(buf, "2026-11-24T14:16:37Z", "format: ms truncated");
	fv_record_format_rfc3339(-1, buf);
	is_str(buf, "1969-12-31T23:59:59Z", "format: -1 ms");
	fv_record_format_rfc3339(951782400000LL, buf);
	is_str(buf, "2000-02-29T00:00:00Z", "format: leap day 2000");
	fv_record_format_rfc3339(4133980799000LL, buf);
	is_str(buf, "2100-12-31T23:59:59Z", "format: 2100");
	/* Round trip, one instant a little over a day apart, 1900..2100. */
	for (n = 0, ms = -2208988800000LL; ms < 4133980800000LL;
	     ms += 86400000LL * 7 + 3723000) {
		long long back = -1;

		fv_record_format_rfc3339(ms, buf);
		if (!fv_record_valid_rfc3339(buf, &back) || back != ms)
			n++;
	}
	is_int(n, 0, "format and parse round-trip 1900..2100");
}

static void
defaults_strip(void)
{
	char now[32];
	json_t *o, *c;

	o = base(A);
	is_int(fv_record_defaults(o, A, 1795529797123LL), 0, "defaults");
	is_str(json_string_value(json_object_get(o, "channel")), "in_person",
	    "default channel");
	is_str(json_string_value(json_object_get(o, "status")), "received",
	    "default status");
	is_str(json_string_value(json_object_get(o, "received_at")),
	    "2026-11-24T14:16:37Z", "default received_at");
	expect(o, A, NULL, NULL, "appeal with defaults");

	o = base(A);
	put(o, "channel", json_string("letter"));
	put(o, "status", json_null());
	put(o, "received_at", json_string("2026-01-02T03:04:05+05:00"));
	fv_record_defaults(o, A, 0);
	is_str(json_string_value(json_object_get(o, "channel")), "letter",
	    "defaults keep a given channel");
	is_str(json_string_value(json_object_get(o, "status")), "received",
	    "defaults replace a null status");
	is_str(json_string_value(json_object_get(o, "received_at")),
	    "2026-01-02T03:04:05+05:00", "defaults keep received_at");
	json_decref(o);

	o = base(N);
	c = json_deep_copy(o);
	is_int(fv_record_defaults(o, N, 0), 0, "note defaults");
	ok(json_equal(o, c), "a note gets no defaults");
	is_int(fv_record_defaults(o, (enum fv_rtype)9, 0), FV_EINVAL,
	    "defaults: bad type");
	is_int(fv_record_defaults(NULL, A, 0), FV_EINVAL, "defaults: NULL");
	json_decref(o);
	json_decref(c);
	fv_record_format_rfc3339(1795529797123LL, now);
	is_str(now, "2026-11-24T14:16:37Z", "now formatted in seconds");

	o = parse(
	    "{\"id\":\"x\",\"type\":\"appeal\",\"created_at\":1,"
	    "\"updated_at\":2,\"created_by\":\"d\",\"conflict\":true,"
	    "\"summary\":\"s\",\"partner\":null,\"applicant\":{\"full_name\":"
	    "\"n\",\"contact\":null},\"x_a\":null,\"x_b\":{\"c\":null}}");
	c = parse("{\"summary\":\"s\",\"applicant\":{\"full_name\":\"n\"},"
		  "\"x_b\":{\"c\":null}}");
	fv_record_strip_readonly(o);
	ok(json_equal(o, c),
	    "strip: read-only fields and nulls gone, "
	    "x_ values kept as they are");
	json_decref(o);
	json_decref(c);
	o = parse("{\"visit\":{\"date\":null,\"country\":\"UZ\"}}");
	fv_record_strip_readonly(o);
	ok(json_object_get(json_object_get(o, "visit"), "date") == NULL &&
		json_object_size(json_object_get(o, "visit")) == 1,
	    "strip: nulls in visit gone");
	json_decref(o);
	fv_record_strip_readonly(NULL);
	ok(1, "strip: NULL is a no-op");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		try(cases[i].t, cases[i].path, cases[i].val, cases[i].field,
		    cases[i].msg);
	misc_check();
	enums();
	bounds();
	record_size();
	helpers();
	defaults_strip();
	return done_testing();
}
