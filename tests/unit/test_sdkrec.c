/*
 * test_sdkrec.c - the SDK's records (sdk/lib/record.c): made from leaves
 * as an export makes them, and from jansson as hooks, exchange and the
 * mock do.  Strings decoded once (escapes, \u pairs, bad text refused),
 * numbers and booleans as written, the whole record and the split objects
 * written back as the API writes them, paths inside whole values, tags,
 * confidential applicants, records set again and again.  And the rules
 * of partner exchange both hosts apply (sdk/lib/xchg.c).
 */
#include <fieldvault/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "sdkimpl.h"
#include "tap.h"

#define REC \
	"{\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"appeal\"," \
	"\"applicant\":{\"full_name\":\"Иванов \\\"Пётр\\\"\"," \
	"\"citizenship\":\"UZ\",\"confidential\":false}," \
	"\"category\":\"health\",\"count\":12,\"ratio\":-0.5," \
	"\"summary\":\"line\\none \\u00e9 \\ud83d\\ude00 \\\\ \\/ \\t\"," \
	"\"tags\":[\"urgent\",\"a \\\"b\\\"\",\"\"]," \
	"\"x_extra\":{\"case\":{\"number\":7,\"open\":true},\"k\":null}," \
	"\"x_list\":[1,2]," \
	"\"created_at\":\"2026-04-02T10:00:00.000Z\",\"conflict\":true}"

static json_t *
parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	if (j == NULL) {
		printf("Bail out! bad test JSON\n");
		exit(1);
	}
	return j;
}

static void
test_from_json(void)
{
	struct fv_record r;
	json_t *j = parse(REC), *back;
	const char *s;
	char *want;
	size_t len;

	memset(&r, 0, sizeof(r));
	ok(fv_sdk_record_from_json(&r, j) == 0, "a record from jansson");
	is_str(fv_record_id(&r), "0123456789abcdef0123456789abcdef", "its id");
	is_str(fv_record_type(&r), "appeal", "its type");
	is_str(fv_record_get(&r, "applicant.full_name"), "Иванов \"Пётр\"",
	    "a split field, its escapes decoded");
	is_str(fv_record_get(&r, "summary"),
	    "line\none \xc3\xa9 \xf0\x9f\x98\x80 \\ / \t",
	    "\\n, \\u00e9, a surrogate pair, \\\\, \\/, \\t decoded");
	is_str(fv_record_get(&r, "count"), "12", "an integer as written");
	is_str(fv_record_get(&r, "ratio"), "-0.5", "a real as written");
	is_str(fv_record_get(&r, "applicant.confidential"), "false",
	    "a boolean as written");
	ok(fv_record_get(&r, "applicant") == NULL, "an object: NULL");
	ok(fv_record_get(&r, "tags") == NULL, "an array: NULL");
	ok(fv_record_get(&r, "nosuch") == NULL, "an absent field: NULL");
	ok(fv_record_get(&r, "applicant.nosuch") == NULL,
	    "an absent split field: NULL");
	is_str(fv_record_get(&r, "x_extra.case.number"), "7",
	    "a path inside a whole value");
	ok(fv_record_get_bool(&r, "x_extra.case.open"), "a boolean inside it");
	ok(fv_record_get(&r, "x_extra.k") == NULL, "a null inside it: NULL");
	ok(fv_record_get(&r, "x_extra.case.nosuch.deeper") == NULL,
	    "an absent path inside it: NULL");
	ok(fv_record_conflict(&r), "conflict");
	ok(!fv_record_get_bool(&r, "applicant.confidential"),
	    "get_bool of false");
	ok(!fv_record_get_bool(&r, "category"), "get_bool of a string");
	is_int((long long)fv_record_tag_count(&r), 3, "three tags");
	is_str(fv_record_tag(&r, 1), "a \"b\"", "a tag decoded");
	is_str(fv_record_tag(&r, 2), "", "an empty tag");
	ok(fv_record_tag(&r, 3) == NULL, "past the end: NULL");

	s = fv_record_get_json(&r, "", &len);
	want = json_dumps(j, JSON_COMPACT);
	is_str(s, want, "the whole record: as jansson writes it, in order");
	ok(s != NULL && len == strlen(s), "and its length");
	free(want);
	want = json_dumps(json_object_get(j, "applicant"), JSON_COMPACT);
	is_str(fv_record_get_json(&r, "applicant", NULL), want,
	    "a split object, whole");
	free(want);
	is_str(fv_record_get_json(&r, "x_extra", NULL),
	    "{\"case\":{\"number\":7,\"open\":true},\"k\":null}",
	    "a whole value as stored");
	is_str(fv_record_get_json(&r, "x_extra.case", NULL),
	    "{\"number\":7,\"open\":true}", "a value inside it");
	want = json_dumps(json_object_get(j, "summary"), JSON_ENCODE_ANY);
	is_str(fv_record_get_json(&r, "summary", &len), want,
	    "a string as its JSON text");
	free(want);
	ok(fv_record_get_json(&r, "visit", NULL) == NULL,
	    "an absent split object: NULL");
	back = json_loads(fv_record_get_json(&r, "", NULL), 0, NULL);
	ok(json_equal(back, j), "the whole record parses back equal");
	json_decref(back);
	fv_sdk_record_free(&r);
	json_decref(j);
}

static void
test_confidential(void)
{
	struct fv_record r;
	json_t *j = parse(
	    "{\"id\":\"aa\",\"type\":\"appeal\","
	    "\"applicant\":{\"full_name\":\"Secret\",\"birth_date\":"
	    "\"1990-01-01\",\"citizenship\":\"UZ\",\"residence_country\":"
	    "\"RU\",\"location\":\"Hidden\",\"contact\":\"+998\","
	    "\"x_nick\":\"S\",\"confidential\":true},\"summary\":\"s\"}");

	memset(&r, 0, sizeof(r));
	ok(fv_sdk_record_from_json(&r, j) == 0, "a confidential applicant");
	ok(fv_record_get(&r, "applicant.full_name") == NULL &&
		fv_record_get(&r, "applicant.birth_date") == NULL &&
		fv_record_get(&r, "applicant.location") == NULL &&
		fv_record_get(&r, "applicant.contact") == NULL &&
		fv_record_get(&r, "applicant.x_nick") == NULL,
	    "no identifying field, x_ ones included");
	is_str(fv_record_get(&r, "applicant.citizenship"), "UZ",
	    "citizenship stays");
	is_str(fv_record_get(&r, "applicant.residence_country"), "RU",
	    "residence_country stays");
	ok(fv_record_get_bool(&r, "applicant.confidential"),
	    "confidential stays");
	is_str(fv_record_get_json(&r, "", NULL),
	    "{\"id\":\"aa\",\"type\":"
	    "\"appeal\",\"applicant\":{\"citizenship\":\"UZ\","
	    "\"residence_country\":\"RU\",\"confidential\":true},"
	    "\"summary\":\"s\"}",
	    "nor in the whole record");
	fv_sdk_record_free(&r);
	json_decref(j);
}

#define L(p, j) \
	{ \
		p, j, sizeof(p) - 1, sizeof(j) - 1 \
	}

static void
test_leaves(void)
{
	static const struct fv_sdk_leaf a[] = {
		L("id", "\"0001\""),
		L("type", "\"note\""),
		L("appeal_id", "\"0002\""),
		L("text", "\"t\\u0000x\""),
		L("visit.country", "\"RU\""),
		L("visit.date", "\"2026-05-04\""),
		L("zz", "\"bad \\q escape\""),
		L("created_by", "\"hq\""),
	};
	static const struct fv_sdk_leaf b[] = {
		L("id", "\"0003\""),
		L("type", "\"appeal\""),
		L("tags", "[1,2]"),
		L("applicant.confidential", "true"),
		L("applicant.full_name", "\"X\""),
	};
	static const struct fv_sdk_leaf c[] = { L("type", "\"appeal\"") };
	struct fv_record r;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 2; i++) {
		ok(fv_sdk_record_set(&r, a, sizeof(a) / sizeof(a[0])) == 0,
		    "a record of leaves (again: the memory is reused)");
		is_str(fv_record_get(&r, "visit.date"), "2026-05-04",
		    "a field found by its path");
		ok(fv_record_get(&r, "text") == NULL,
		    "a string holding \\u0000 is no string");
		ok(fv_record_get(&r, "zz") == NULL,
		    "nor one with a bad escape");
		is_str(fv_record_get_json(&r, "", NULL),
		    "{\"id\":\"0001\","
		    "\"type\":\"note\",\"appeal_id\":\"0002\",\"visit\":"
		    "{\"country\":\"RU\",\"date\":\"2026-05-04\"},"
		    "\"created_by\":\"hq\"}",
		    "written back in the leaves' order, visit as an object");
		fv_sdk_record_release(&r);
	}
	ok(fv_sdk_record_set(&r, b, sizeof(b) / sizeof(b[0])) == 0,
	    "another record in the same memory");
	is_int((long long)fv_record_tag_count(&r), 0,
	    "tags that are not strings: none");
	ok(fv_record_get(&r, "applicant.full_name") == NULL,
	    "a confidential applicant's name withheld");
	ok(fv_record_get(&r, "appeal_id") == NULL,
	    "nothing left of the record before");
	ok(fv_sdk_record_set(&r, c, 1) != 0, "no id: refused");
	fv_sdk_record_free(&r);
}

static void
test_quote(void)
{
	char out[FV_SDK_QUOTED(8)];
	size_t n = fv_sdk_record_quote("a\"\\\n\x01z", 6, out);

	ok(n == 20 && memcmp(out, "\"a\\\"\\\\\\u000a\\u0001z\"", n) == 0,
	    "a name written as a JSON string");
}

/* The daemon and the mock refuse the same refs, statuses and outcomes. */
static void
test_exchange_rules(void)
{
	char ref[FV_SDK_REF_MAX + 2];
	size_t i;
	int partner = 0, summary = 0;

	memset(ref, 'r', sizeof(ref));
	ref[FV_SDK_REF_MAX] = '\0';
	ok(fv_sdk_xchg_valid_ref(ref), "a ref of %d bytes", FV_SDK_REF_MAX);
	ref[FV_SDK_REF_MAX] = 'r';
	ref[FV_SDK_REF_MAX + 1] = '\0';
	ok(!fv_sdk_xchg_valid_ref(ref), "one byte more: refused");
	ok(fv_sdk_xchg_valid_ref("OMB-2026/17~a"), "printable ASCII");
	ok(!fv_sdk_xchg_valid_ref(""), "an empty ref: refused");
	ok(!fv_sdk_xchg_valid_ref(NULL), "no ref: refused");
	ok(!fv_sdk_xchg_valid_ref("OMB 17"), "a space: refused");
	ok(!fv_sdk_xchg_valid_ref("caf\xc3\xa9"), "non-ASCII: refused");
	ok(fv_sdk_xchg_valid_status("resolved_negative"), "an appeal status");
	ok(!fv_sdk_xchg_valid_status("open"), "not a status: refused");
	ok(!fv_sdk_xchg_valid_status(NULL), "no status: refused");
	is_int((int)fv_sdk_xchg_utf8_chars("d\xc3\xa9j\xc3\xa0 \xe2\x9c\x93"),
	    6, "characters, not bytes");
	for (i = 0; fv_sdk_xchg_travel[i] != NULL; i++) {
		partner |= strcmp(fv_sdk_xchg_travel[i], "partner") == 0;
		summary |= strcmp(fv_sdk_xchg_travel[i], "summary") == 0;
	}
	ok(summary && !partner,
	    "a partner's summary travels, its marks "
	    "are the host's");
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	test_from_json();
	test_confidential();
	test_leaves();
	test_quote();
	test_exchange_rules();
	return done_testing();
}
