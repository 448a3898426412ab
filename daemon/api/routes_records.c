/*
 * routes_records.c - appeals and notes: list, create, import, read,
 * patch, delete, and a record's history.  Writes go to the writer
 * (writer.h), which answers when they are durable.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "json.h"
#include "par.h"
#include "routes.h"
#include "server.h"
#include "writer.h"

struct wctx {
	struct fv_write wr;
	struct evhttp_request *req;
	struct fvd *d;
};

static void
write_done(struct fv_write *wr)
{
	struct wctx *c = wr->arg;
	const char *t = fv_record_type_name(wr->rtype);
	char hex[2 * FV_ID_BYTES + 1];

	fv_op_id_hex(wr->rids + (wr->rc ? wr->failed_at : 0) * FV_ID_BYTES,
	    hex);
	if (wr->rc == FV_EINVAL)
		fv_server_error(c->req, 400, wr->err.field, "%s: %s",
		    wr->err.field, wr->err.msg);
	else if (wr->rc == FV_ENOTFOUND)
		fv_server_error(c->req, 404, NULL, "no such %s %s", t, hex);
	else if (wr->rc == FV_EDELETED)
		fv_server_error(c->req, 404, NULL, "%s %s was deleted", t, hex);
	else if (wr->rc == FV_ENOSPC)
		fv_server_error(c->req, 507, NULL,
		    "disk full: nothing of this "
		    "write was stored");
	else if (wr->rc != 0)
		fv_server_error(c->req, fv_server_status(wr->rc), NULL,
		    "write "
		    "failed, nothing stored: %s",
		    fv_error_str(wr->rc));
	else if (wr->kind == FV_W_CREATE && wr->n == 1)
		fv_server_reply(c->req, 201, json_pack("{s:s}", "id", hex));
	else if (wr->kind == FV_W_CREATE)
		fv_server_reply(c->req, 200,
		    json_pack("{s:I}", "count", (json_int_t)wr->n));
	else if (wr->kind == FV_W_UPDATE)
		fv_server_reply(c->req, 200,
		    json_pack("{s:s, s:b}", "id", hex, "changed", wr->changed));
	else
		fv_server_reply(c->req, 200,
		    json_pack("{s:s, s:b}", "id", hex, "deleted", 1));
	json_decref(wr->body);
	if (wr->leaves != NULL) {
		size_t i;

		for (i = 0; i < wr->n; i++)
			fv_state_leaves_free(&wr->leaves[i]);
		free(wr->leaves);
	}
	free(wr->rids);
	free(c);
}

/* A write context for n records with fresh random ids, or NULL after
 * answering 500. */
static struct wctx *
wctx_new(struct fvd *d, struct evhttp_request *req, enum fv_wkind kind,
    enum fv_rtype t, size_t n)
{
	struct wctx *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->wr.rids = malloc(n * FV_ID_BYTES)) == NULL) {
		free(c);
		fv_server_error(req, 500, NULL, "out of memory");
		return NULL;
	}
	c->req = req;
	c->d = d;
	c->wr.kind = kind;
	c->wr.rtype = t;
	c->wr.n = n;
	c->wr.done = write_done;
	c->wr.arg = c;
	randombytes_buf(c->wr.rids, n * FV_ID_BYTES);
	return c;
}

/* Queues a write of one record: body taken, rid NULL for a new one. */
static void
submit(struct fvd *d, struct evhttp_request *req, enum fv_wkind kind,
    enum fv_rtype t, json_t *body, const uint8_t *rid)
{
	struct wctx *c = wctx_new(d, req, kind, t, 1);

	if (c == NULL) {
		json_decref(body);
		return;
	}
	c->wr.body = body;
	if (rid != NULL)
		memcpy(c->wr.rids, rid, FV_ID_BYTES);
	fv_writer_submit(d->writer, &c->wr);
}

/* Queues an import: n records as leaves (taken). */
static void
submit_leaves(struct fvd *d, struct evhttp_request *req, enum fv_rtype t,
    struct fv_leaves *lv, size_t n)
{
	struct wctx *c = wctx_new(d, req, FV_W_CREATE, t, n);
	size_t i;

	if (c == NULL) {
		for (i = 0; i < n; i++)
			fv_state_leaves_free(&lv[i]);
		free(lv);
		return;
	}
	c->wr.leaves = lv;
	fv_writer_submit(d->writer, &c->wr);
}

/* Checks a new record's body and completes it with defaults. */
static int
prepare_new(json_t *body, enum fv_rtype t, struct fv_verr *e)
{
	int rc;

	if ((rc = fv_record_check(body, t, e)) != 0)
		return rc;
	fv_record_strip_readonly(body);
	return fv_record_defaults(body, t, fv_hlc_now_ms());
}

void
fv_routes_records_create(struct fvd *d, struct evhttp_request *req,
    const char *rest, int t)
{
	struct fv_verr e;
	json_t *body;

	if ((body = fv_server_body_json(req, FV_RECORD_MAX)) == NULL)
		return;
	memset(&e, 0, sizeof(e));
	if (prepare_new(body, t, &e) != 0) {
		fv_server_error(req, 400, e.field, "%s: %s", e.field, e.msg);
		json_decref(body);
		return;
	}
	submit(d, req, FV_W_CREATE, t, body, NULL);
}

/* One line of an import, parsed on either core. */
struct iline {
	const char *p;
	size_t len, lineno;
	struct fv_leaves lv; /* the record, parsed and checked */
	int rc;		     /* 0, 1 (bad JSON), 2 (invalid) */
	json_error_t je;
	struct fv_verr e;
};

struct iparse {
	struct fvd *d;
	struct evhttp_request *req;
	struct iline *v;
	size_t n;
	enum fv_rtype t;
};

/* Parses and checks lines [lo, hi) on either core. */
static void
parse_range(void *arg, size_t lo, size_t hi, int worker)
{
	struct iparse *ip = arg;
	size_t i;

	static const uint8_t nobody[FV_ID_BYTES];
	json_t *j;

	for (i = lo; i < hi; i++) {
		struct iline *l = &ip->v[i];

		if ((j = json_loadb(l->p, l->len, JSON_REJECT_DUPLICATES,
			 &l->je)) == NULL)
			l->rc = 1;
		else if (!json_is_object(j)) {
			l->rc = 2;
			snprintf(l->e.field, sizeof(l->e.field), "(record)");
			snprintf(l->e.msg, sizeof(l->e.msg),
			    "must be an object");
		} else if (prepare_new(j, ip->t, &l->e) != 0 ||
		    fv_state_leaves_from_json(j, 0, nobody, &l->lv, &l->e) != 0)
			l->rc = 2;
		/* leaves are a fraction of jansson's tree: keep only them */
		json_decref(j);
	}
}

static void
iparse_free(struct iparse *ip)
{
	size_t i;

	fv_server_body_wipe(ip->req);
	for (i = 0; i < ip->n; i++)
		fv_state_leaves_free(&ip->v[i].lv);
	free(ip->v);
	free(ip);
}

/* Back on the loop: refuse the whole chunk, or queue it for writing. */
static void
lines_parsed(void *arg)
{
	struct iparse *ip = arg;
	struct fv_leaves *all;
	size_t i;

	for (i = 0; i < ip->n; i++) {
		struct iline *l = &ip->v[i];

		if (l->rc == 1) {
			fv_server_error(ip->req, 400, NULL,
			    "line %zu: invalid "
			    "JSON at column %d: %s",
			    l->lineno, l->je.column, l->je.text);
			goto out;
		}
		if (l->rc == 2) {
			fv_server_error(ip->req, 400, l->e.field,
			    "line %zu: %s: %s", l->lineno, l->e.field,
			    l->e.msg);
			goto out;
		}
	}
	if (fv_store_locked(ip->d->store)) {
		fv_server_error(ip->req, 423, NULL,
		    "store is locked: run "
		    "'fieldvault unlock'");
		goto out;
	}
	if ((all = calloc(ip->n, sizeof(*all))) == NULL) {
		fv_server_error(ip->req, 500, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < ip->n; i++) {
		all[i] = ip->v[i].lv;
		memset(&ip->v[i].lv, 0, sizeof(ip->v[i].lv));
	}
	submit_leaves(ip->d, ip->req, ip->t, all, ip->n);
out:
	iparse_free(ip);
}

/* JSON Lines in, all or nothing: every line is checked (on both cores)
 * before any is queued for writing. */
void
fv_routes_records_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int t)
{
	struct iparse *ip;
	size_t len, lineno = 0;
	char *p = fv_server_body(req, &len), *end = p + len, *nl;

	if ((ip = calloc(1, sizeof(*ip))) == NULL ||
	    (ip->v = calloc(FV_IMPORT_LINES_MAX, sizeof(*ip->v))) == NULL) {
		free(ip);
		fv_server_body_wipe(req);
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	ip->d = d;
	ip->req = req;
	ip->t = t;
	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (strspn(p, " \t\r") >= (size_t)(nl - p))
			continue; /* blank line */
		if (nl - p > FV_RECORD_MAX) {
			fv_server_error(req, 413, NULL,
			    "line %zu: record larger "
			    "than %d bytes",
			    lineno, FV_RECORD_MAX);
			iparse_free(ip);
			return;
		}
		if (ip->n == FV_IMPORT_LINES_MAX) {
			fv_server_error(req, 413, NULL,
			    "more than %d records in "
			    "one request",
			    FV_IMPORT_LINES_MAX);
			iparse_free(ip);
			return;
		}
		ip->v[ip->n].p = p;
		ip->v[ip->n].len = (size_t)(nl - p);
		ip->v[ip->n++].lineno = lineno;
	}
	if (ip->n == 0) {
		fv_server_reply(req, 200, json_pack("{s:i}", "count", 0));
		iparse_free(ip);
		return;
	}
	fv_par_run(ip->n, parse_range, ip);
	fv_server_body_wipe(req);
	lines_parsed(ip);
}

/* The record id that rest is, or 0 after answering 404. */
static int
record_id(struct evhttp_request *req, const char *rest, uint8_t *rid)
{
	if (fv_op_id_parse(rest, rid) == 0)
		return 1;
	fv_server_error(req, 404, NULL, "not a record id: %.40s", rest);
	return 0;
}

/* Answers a read of the record hex (a noun: "appeal", "record"). */
static void
read_reply(struct evhttp_request *req, int rc, json_t *o, const char *noun,
    const char *hex, const char *what)
{
	if (rc == 0)
		fv_server_reply(req, 200, o);
	else if (rc == FV_ENOTFOUND)
		fv_server_error(req, 404, NULL, "no such %s %s", noun, hex);
	else if (rc == FV_EDELETED)
		fv_server_error(req, 404, NULL, "%s %s was deleted", noun, hex);
	else
		fv_server_error_rc(req, rc, what);
}

void
fv_routes_record_get(struct fvd *d, struct evhttp_request *req, const char *hex,
    int t)
{
	uint8_t rid[FV_ID_BYTES];
	json_t *o;
	int rc;

	if (!record_id(req, hex, rid))
		return;
	rc = fv_json_record(d->store, t, rid, &o);
	read_reply(req, rc, o, fv_record_type_name(t), hex, "read");
}

void
fv_routes_record_patch(struct fvd *d, struct evhttp_request *req,
    const char *rest, int t)
{
	uint8_t rid[FV_ID_BYTES];
	json_t *patch;

	if (record_id(req, rest, rid) &&
	    (patch = fv_server_body_json(req, FV_RECORD_MAX)) != NULL)
		submit(d, req, FV_W_UPDATE, t, patch, rid);
}

void
fv_routes_record_delete(struct fvd *d, struct evhttp_request *req,
    const char *rest, int t)
{
	uint8_t rid[FV_ID_BYTES];

	if (record_id(req, rest, rid))
		submit(d, req, FV_W_DELETE, t, NULL, rid);
}

void
fv_routes_history(struct fvd *d, struct evhttp_request *req, const char *hex,
    int arg)
{
	uint8_t rid[FV_ID_BYTES];
	json_t *o;
	int rc;

	if (fv_op_id_parse(hex, rid) != 0) {
		fv_server_body_wipe(req);
		fv_server_error(req, 404, NULL, "no such resource");
		return;
	}
	rc = fv_json_history(d->store, rid, &o);
	read_reply(req, rc, o, "record", hex, "history");
}

int
fv_routes_query_check(struct evhttp_request *req, struct evkeyvalq *q,
    const char *const *keys)
{
	struct evkeyval *kv;
	int i, known;

	TAILQ_FOREACH(kv, q, next) {
		for (i = 0, known = 0; keys[i] != NULL; i++)
			known |= strcmp(keys[i], kv->key) == 0;
		if (!known || strlen(kv->value) > 1024) {
			fv_server_error(req, 400, kv->key,
			    "%s: unknown or too "
			    "long parameter",
			    kv->key);
			return -1;
		}
	}
	return 0;
}

int
fv_routes_query_filter(struct evkeyvalq *q, enum fv_rtype t,
    struct fv_filter *f, uint8_t aid[FV_ID_BYTES])
{
	const char *aidhex;

	memset(f, 0, sizeof(*f));
	f->rtype = t;
	f->status = evhttp_find_header(q, "status");
	f->country = evhttp_find_header(q, "country");
	f->category = evhttp_find_header(q, "category");
	f->assigned_to = evhttp_find_header(q, "assigned_to");
	if ((aidhex = evhttp_find_header(q, "appeal")) != NULL) {
		if (fv_op_id_parse(aidhex, aid) != 0)
			return -1;
		f->appeal_id = aid;
	}
	return 0;
}

void
fv_routes_records_list(struct fvd *d, struct evhttp_request *req,
    const char *rest, int t)
{
	static const char *const appeal_keys[] = { "status", "country",
		"category", "assigned_to", "query", NULL };
	static const char *const note_keys[] = { "appeal", NULL };
	struct evkeyvalq q;
	struct fv_filter f;
	uint8_t aid[FV_ID_BYTES];
	const char *uq = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	json_t *out;
	int rc;

	TAILQ_INIT(&q);
	if (uq != NULL && evhttp_parse_query_str(uq, &q) != 0) {
		fv_server_error(req, 400, NULL, "bad query string");
		return;
	}
	if (fv_routes_query_check(req, &q,
		t == FV_RTYPE_APPEAL ? appeal_keys : note_keys) != 0) {
		evhttp_clear_headers(&q);
		return;
	}
	if (fv_routes_query_filter(&q, t, &f, aid) != 0) {
		fv_server_error(req, 400, "appeal", "appeal: not an id");
		evhttp_clear_headers(&q);
		return;
	}
	rc = fv_json_list(d->store, &f, evhttp_find_header(&q, "query"), &out);
	evhttp_clear_headers(&q);
	if (rc == 0)
		fv_server_reply(req, 200, out);
	else
		fv_server_error_rc(req, rc, "list");
}
