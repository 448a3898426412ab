/*
 * record.c - the record accessors of <fieldvault/record.h>, over jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdkimpl.h"

int
fv_sdk_record_wrap(struct fv_record *r, json_t *j)
{
	r->j = j;
	r->id = json_string_value(json_object_get(j, "id"));
	r->type = json_string_value(json_object_get(j, "type"));
	return r->id != NULL && r->type != NULL ? 0 : -1;
}

void
fv_sdk_record_release(struct fv_record *r)
{
	size_t i;

	for (i = 0; i < r->nowned; i++)
		fv_free(r->owned[i]);
	free(r->owned);
	r->owned = NULL;
	r->nowned = r->capowned = 0;
}

void
fv_sdk_redact(json_t *j)
{
	/* what may stay: nothing that identifies the person (an x_ field
	 * inside applicant might) */
	static const char *keep[] = { "citizenship", "residence_country",
	    "confidential", NULL };
	json_t *a = json_object_get(j, "applicant"), *v;
	const char *k;
	void *tmp;
	int i, kept;

	if (!json_is_true(json_object_get(a, "confidential")))
		return;
	json_object_foreach_safe(a, tmp, k, v) {
		for (i = 0, kept = 0; keep[i] != NULL; i++)
			kept |= strcmp(k, keep[i]) == 0;
		if (!kept)
			json_object_del(a, k);
	}
}

/* Keeps s (fv_alloc'd) until the record is released; NULL if out of
 * memory (s is freed). */
static const char *
own(const fv_record *cr, char *s)
{
	struct fv_record *r = (struct fv_record *)cr;
	char **n;

	if (s == NULL)
		return NULL;
	if (r->nowned == r->capowned) {
		size_t c = r->capowned ? 2 * r->capowned : 8;

		if ((n = realloc(r->owned, c * sizeof(*n))) == NULL) {
			fv_free(s);
			return NULL;
		}
		r->owned = n;
		r->capowned = c;
	}
	r->owned[r->nowned++] = s;
	return s;
}

/* The value at a dotted path ("applicant.full_name"), or NULL. */
static json_t *
lookup(const fv_record *r, const char *path)
{
	char part[128];
	const char *dot;
	json_t *v = r->j;
	size_t n;

	if (path == NULL)
		return NULL;
	while ((dot = strchr(path, '.')) != NULL) {
		if ((n = (size_t)(dot - path)) >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if ((v = json_object_get(v, part)) == NULL)
			return NULL;
		path = dot + 1;
	}
	return json_object_get(v, path);
}

const char *
fv_record_type(const fv_record *r)
{
	return r->type;
}

const char *
fv_record_id(const fv_record *r)
{
	return r->id;
}

const char *
fv_record_get(const fv_record *r, const char *path)
{
	json_t *v = lookup(r, path);
	char buf[64];

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v) || json_is_false(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	else
		return NULL;
	return own(r, fv_strdup(buf));
}

int
fv_record_get_bool(const fv_record *r, const char *path)
{
	return json_is_true(lookup(r, path));
}

const char *
fv_record_get_json(const fv_record *r, const char *path, size_t *len)
{
	json_t *v = path != NULL && path[0] == '\0' ? r->j : lookup(r, path);
	char *c;
	size_t n;

	if (v == NULL || json_is_null(v))
		return NULL;
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (n == 0 || (c = fv_alloc(n + 1)) == NULL)
		return NULL;
	json_dumpb(v, c, n, JSON_COMPACT | JSON_ENCODE_ANY);
	c[n] = '\0';
	if (own(r, c) == NULL)
		return NULL;
	if (len != NULL)
		*len = n;
	return c;
}

size_t
fv_record_tag_count(const fv_record *r)
{
	json_t *t = json_object_get(r->j, "tags");

	return json_is_array(t) ? json_array_size(t) : 0;
}

const char *
fv_record_tag(const fv_record *r, size_t i)
{
	return json_string_value(json_array_get(json_object_get(r->j, "tags"),
	    i));
}

int
fv_record_conflict(const fv_record *r)
{
	return json_is_true(json_object_get(r->j, "conflict"));
}
