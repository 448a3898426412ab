/*
 * record.c - a record's state as plugins see it: its leaves made an
 * fv_record (no JSON tree is built), for hooks and exports alike.
 */
#include <fieldvault/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv_error.h"
#include "plugin/record.h"

#define LEAVES_MAX (4 * FV_OP_FIELDS_MAX + 8) /* a record's, and id, ... */

int
fv_plugin_record_init(struct fv_plugin_record *pr)
{
	memset(pr, 0, sizeof(*pr));
	if ((pr->lv = calloc(LEAVES_MAX, sizeof(*pr->lv))) == NULL)
		return FV_ENOMEM;
	return 0;
}

/* Appends a leaf whose JSON text is s (n bytes, borrowed). */
static void
leaf(struct fv_plugin_record *pr, size_t *n, const char *path, const char *s,
    size_t len)
{
	struct fv_sdk_leaf *v = &pr->lv[(*n)++];

	v->path = path;
	v->pathlen = strlen(path);
	v->json = s;
	v->jsonlen = len;
}

/* The leaf of a date (an hlc's milliseconds) as "RFC 3339". */
static size_t
date(char *out, size_t len, uint64_t hlc)
{
	char ts[32];

	fv_record_format_rfc3339((long long)(hlc >> 16), ts);
	return (size_t)snprintf(out, len, "\"%s\"", ts);
}

int
fv_plugin_record_set(struct fv_plugin_record *pr, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], const struct fv_state *st,
    const char *created_by)
{
	const char *type = t == FV_RTYPE_APPEAL ? "\"appeal\"" : "\"note\"";
	size_t n = 0, i;

	pr->id[0] = '"';
	fv_op_id_hex(rid, pr->id + 1);
	pr->id[2 * FV_ID_BYTES + 1] = '"';
	leaf(pr, &n, "id", pr->id, 2 * FV_ID_BYTES + 2);
	leaf(pr, &n, "type", type, strlen(type));
	if (st == NULL)
		return fv_sdk_record_set(&pr->rec, pr->lv, n);
	for (i = 0; i < st->leaves.n && n < LEAVES_MAX - 6; i++) {
		const struct fv_leaf *f = &st->leaves.v[i];

		if (f->val == NULL)
			continue;
		pr->lv[n].path = f->path;
		pr->lv[n].pathlen = f->pathlen;
		pr->lv[n].json = f->val;
		pr->lv[n++].jsonlen = f->vallen;
	}
	leaf(pr, &n, "created_at", pr->ca,
	    date(pr->ca, sizeof(pr->ca), st->created_hlc));
	leaf(pr, &n, "updated_at", pr->ua,
	    date(pr->ua, sizeof(pr->ua), st->updated_hlc));
	leaf(pr, &n, "created_by", pr->by,
	    fv_sdk_record_quote(created_by, strnlen(created_by, FV_NAME_MAX),
		pr->by));
	if (st->flags & FV_ST_CONFLICT)
		leaf(pr, &n, "conflict", "true", 4);
	return fv_sdk_record_set(&pr->rec, pr->lv, n);
}

void
fv_plugin_record_free(struct fv_plugin_record *pr)
{
	fv_sdk_record_free(&pr->rec);
	free(pr->lv);
	pr->lv = NULL;
}
