/*
 * patch.c - JSON merge patch (RFC 7396).
 *
 * The result is built from deep copies, so the caller may edit it (strip
 * read-only fields, add defaults) without touching the stored record the
 * target came from.  Below the top, merge() works in place on values only
 * the result owns, so each level is copied once.
 */
#include <jansson.h>

#include "patch.h"

/*
 * RFC 7396 section 2, MergePatch(Target, Patch).  t is an owned reference
 * (or NULL), consumed; returns an owned reference, or NULL on failure.
 */
static json_t *
merge(json_t *t, const json_t *p)
{
	const char *k;
	json_t *v, *cur, *nv;

	if (!json_is_object(p)) {
		json_decref(t);
		return json_deep_copy(p);
	}
	if (!json_is_object(t)) {
		json_decref(t);
		if ((t = json_object()) == NULL)
			return NULL;
	}
	/* jansson's object iterators are not const-correct; we only read. */
	json_object_foreach((json_t *)p, k, v) {
		if (json_is_null(v)) {
			json_object_del(t, k);
			continue;
		}
		/* Hold cur across the replace below: merge() consumes it. */
		cur = json_incref(json_object_get(t, k));
		if ((nv = merge(cur, v)) == NULL ||
		    json_object_set_new(t, k, nv) != 0) {
			json_decref(t);
			return NULL;
		}
	}
	return t;
}

json_t *
fv_patch_apply(const json_t *target, const json_t *patch)
{
	json_t *t = NULL;

	if (patch == NULL)
		return NULL;
	if (json_is_object(patch) && json_is_object(target) &&
	    (t = json_deep_copy(target)) == NULL)
		return NULL;
	return merge(t, patch);
}
