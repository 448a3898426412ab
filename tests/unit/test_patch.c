/*
 * test_patch.c - RFC 7396 JSON merge patch: every example of the RFC
 * (section 3 and Appendix A), and that neither argument is modified.
 */
#include <stdlib.h>

#include <jansson.h>

#include "patch.h"
#include "tap.h"

static json_t *
parse(const char *s)
{
	json_error_t err;
	json_t *v;

	v = json_loads(s, JSON_DECODE_ANY, &err);
	if (v == NULL)
		diag("bad test JSON %s: %s", s, err.text);
	return v;
}

/* target/patch/want as JSON text; check the result and the arguments. */
static void
merge(const char *target, const char *patch, const char *want)
{
	json_t *t, *p, *w, *r, *t0, *p0;
	char *got;

	t = parse(target);
	p = parse(patch);
	w = parse(want);
	t0 = json_deep_copy(t);
	p0 = json_deep_copy(p);
	r = fv_patch_apply(t, p);
	ok(r != NULL && json_equal(r, w), "%s + %s = %s", target, patch, want);
	if (r != NULL && !json_equal(r, w)) {
		got = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
		diag("got %s", got);
		free(got);
	}
	ok(json_equal(t, t0) && json_equal(p, p0), "... arguments unchanged");
	json_decref(t);
	json_decref(p);
	json_decref(w);
	json_decref(r);
	json_decref(t0);
	json_decref(p0);
}

int
main(void)
{
	json_t *t, *p, *r;

	/* RFC 7396 section 3. */
	merge("{\"title\":\"Goodbye!\","
	      "\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
	      "\"tags\":[\"example\",\"sample\"],"
	      "\"content\":\"This will be unchanged\"}",
	    "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
	    "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	    "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
	    "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
	    "\"phoneNumber\":\"+01-123-456-7890\"}");

	/* RFC 7396 Appendix A, in order. */
	merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	    "{\"a\":{\"b\":\"d\"}}");
	merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	merge("{\"a\":\"foo\"}", "null", "null");
	merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");

	/* Beyond the RFC's table. */
	merge("{\"a\":{\"b\":{\"c\":1,\"d\":2}},\"x\":1}",
	    "{\"a\":{\"b\":{\"c\":null,\"e\":[null]}}}",
	    "{\"a\":{\"b\":{\"d\":2,\"e\":[null]}},\"x\":1}");
	merge("{\"a\":1}", "{}", "{\"a\":1}");
	merge("{\"a\":1}", "{\"a\":{\"b\":null}}", "{\"a\":{}}");
	merge("{\"applicant\":{\"full_name\":\"Эшматова\",\"contact\":1}}",
	    "{\"applicant\":{\"contact\":null,\"location\":\"Москва\"}}",
	    "{\"applicant\":{\"full_name\":\"Эшматова\","
	    "\"location\":\"Москва\"}}");

	/* Absent target. */
	p = parse("{\"a\":{\"b\":null,\"c\":1}}");
	r = fv_patch_apply(NULL, p);
	t = parse("{\"a\":{\"c\":1}}");
	ok(r != NULL && json_equal(r, t), "absent target, object patch");
	json_decref(r);
	json_decref(t);
	json_decref(p);
	p = parse("[1]");
	r = fv_patch_apply(NULL, p);
	ok(r != NULL && json_equal(r, p) && r != p,
	    "absent target, array patch: a copy");
	json_decref(r);
	json_decref(p);
	ok(fv_patch_apply(NULL, NULL) == NULL, "NULL patch gives NULL");

	/* The result shares nothing: editing it leaves the target alone. */
	t = parse("{\"a\":{\"b\":[1]},\"c\":{\"d\":1}}");
	p = parse("{\"e\":{\"f\":2}}");
	r = fv_patch_apply(t, p);
	json_object_set_new(json_object_get(r, "c"), "d", json_integer(9));
	json_array_append_new(json_object_get(json_object_get(r, "a"), "b"),
	    json_integer(2));
	json_object_set_new(json_object_get(r, "e"), "f", json_integer(3));
	is_int(json_integer_value(json_object_get(json_object_get(t, "c"),
		   "d")),
	    1, "untouched member of target not shared");
	is_int(json_array_size(json_object_get(json_object_get(t, "a"), "b")),
	    1, "nested array of target not shared");
	is_int(json_integer_value(json_object_get(json_object_get(p, "e"),
		   "f")),
	    2, "value of patch not shared");
	json_decref(r);

	/* Patching with itself (same pointer twice) is fine. */
	r = fv_patch_apply(t, t);
	ok(r != NULL && json_equal(r, t), "target patched with itself");
	json_decref(r);
	json_decref(t);
	json_decref(p);

	return done_testing();
}
