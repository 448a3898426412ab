#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "par.h"
#include "routes.h"
#include "secmem.h"
#include "server.h"
#include "vault.h"
#include "worker.h"
#include "writer.h"
#include "frame.h"
#include "sync/sync.h"
#include "plugin/plugin.h"
#include "token.h"

struct wctx {
	struct fv_write		 wr;
	struct evhttp_request	*req;
	struct fvd		*d;
};

/* The request body, contiguous; *len its size.  Never NULL. */
static char *
body_of(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *p;

	*len = evbuffer_get_length(in);
	p = (char *)evbuffer_pullup(in, -1);
	return p ? p : "";
}

/* Record content arrived in this body: wipe it once parsed, and let its
 * memory go (an import chunk is megabytes). */
static void
body_wipe(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len;
	char *p = body_of(req, &len);

	if (len > 0) {
		sodium_memzero(p, len);
		evbuffer_drain(in, len);
	}
}

static void
reply_rc(struct evhttp_request *req, int rc, const char *what)
{
	fv_api_error(req, fv_api_status(rc), NULL, "%s: %s", what,
	    fv_strerror(rc));
}

/* --- status, unlock, lock -------------------------------------------- */

static void
get_status(struct fvd *d, struct evhttp_request *req)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	struct fv_store_stats st;
	char hex[2 * FV_ID_BYTES + 1];
	int locked = fv_store_stats(d->store, &st) == FV_ELOCKED;
	json_t *o;

	fv_id_hex(in->device_id, hex);
	o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:n, s:s, s:b}",
	    "role", in->role, "name", in->name, "device_id", hex,
	    "locked", locked, "pending", (json_int_t)st.pending,
	    "seq", (json_int_t)st.seq, "last_sync", "version", PACKAGE_VERSION,
	    "unlocking", fv_unlocker_busy(d->unlocker));
	if (o != NULL && fv_store_last_sync(d->store) > 0) {
		char ts[32];

		fv_format_rfc3339(fv_store_last_sync(d->store), ts);
		json_object_set_new(o, "last_sync", json_string(ts));
	}
	if (o != NULL && !locked) {
		char v[64];
		unsigned long long up_to, at;

		json_object_set_new(o, "appeals", json_integer(
		    (json_int_t)st.appeals));
		json_object_set_new(o, "notes", json_integer(
		    (json_int_t)st.notes));
		json_object_set_new(o, "retention", json_string(
		    d->conf->purge_after_sync ? "purge_after_sync" : "keep"));
		json_object_set_new(o, "purged", json_integer(
		    fv_store_setting_get(d->store, "purged", v, sizeof(v)) ==
		    0 ? (json_int_t)strtoll(v, NULL, 10) : 0));
		/* HQ's last signed receipt: what it holds of ours */
		if (fv_store_setting_get(d->store, "receipt", v, sizeof(v)) ==
		    0 && sscanf(v, "%llu %llu", &up_to, &at) == 2) {
			char ts[32];

			fv_format_rfc3339((int64_t)at, ts);
			json_object_set_new(o, "receipt", json_pack(
			    "{s:I, s:s}", "up_to", (json_int_t)up_to, "at",
			    ts));
		}
	}
	fv_api_reply(req, 200, o);
}

static void
unlock_done(int rc, void *arg)
{
	struct evhttp_request *req = arg;

	if (rc == 0)
		fv_api_reply(req, 200, json_pack("{s:b}", "locked", 0));
	else if (rc == FV_EPASS)
		fv_api_error(req, 401, NULL, "wrong passphrase");
	else
		reply_rc(req, rc, "unlock");
}

static void
post_unlock(struct fvd *d, struct evhttp_request *req)
{
	size_t len;
	char *p = body_of(req, &len);
	uint8_t *pass;
	int rc;

	if (!fv_store_locked(d->store)) {
		body_wipe(req);
		fv_api_reply(req, 200, json_pack("{s:b}", "locked", 0));
		return;
	}
	if (len == 0 || len > FV_PASS_MAX) {
		body_wipe(req);
		fv_api_error(req, 400, NULL, "passphrase must be 1..%d bytes",
		    FV_PASS_MAX);
		return;
	}
	if ((pass = fv_secmem_alloc(len)) == NULL) {
		body_wipe(req);
		fv_api_error(req, 500, NULL, "out of secure memory");
		return;
	}
	memcpy(pass, p, len);
	body_wipe(req);
	if ((rc = fv_unlocker_start(d->unlocker, pass, len, unlock_done,
	    req)) == FV_EBUSY)
		fv_api_error(req, 429, NULL, "another unlock attempt is in "
		    "progress or being delayed after a wrong passphrase; "
		    "try again later");
	else if (rc != 0)
		reply_rc(req, rc, "unlock");
}

static void
post_lock(struct fvd *d, struct evhttp_request *req)
{
	fvd_lock(d, "lock command");
	fv_api_reply(req, 200, json_pack("{s:b}", "locked", 1));
}

/* --- records ------------------------------------------------------------ */

static json_t *
parse_json(struct evhttp_request *req, size_t max)
{
	json_error_t je;
	size_t len;
	char *p = body_of(req, &len);
	json_t *j;

	if (len > max) {
		body_wipe(req);
		fv_api_error(req, 413, NULL, "body is %zu bytes, at most %zu "
		    "allowed", len, max);
		return NULL;
	}
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
	body_wipe(req);
	if (j == NULL)
		fv_api_error(req, 400, NULL, "invalid JSON at line %d column "
		    "%d: %s", je.line, je.column, je.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		fv_api_error(req, 400, NULL, "body must be a JSON object");
	}
	return j;
}

static void
write_done(struct fv_write *wr)
{
	struct wctx *c = wr->arg;
	const char *t = fv_rtype_name(wr->rtype);
	char hex[2 * FV_ID_BYTES + 1];

	fv_id_hex(wr->rids + (wr->rc ? wr->failed_at : 0) * FV_ID_BYTES, hex);
	if (wr->rc == FV_EINVAL)
		fv_api_error(c->req, 400, wr->err.field, "%s: %s",
		    wr->err.field, wr->err.msg);
	else if (wr->rc == FV_ENOTFOUND)
		fv_api_error(c->req, 404, NULL, "no such %s %s", t, hex);
	else if (wr->rc == FV_EDELETED)
		fv_api_error(c->req, 404, NULL, "%s %s was deleted", t, hex);
	else if (wr->rc == FV_ENOSPC)
		fv_api_error(c->req, 507, NULL, "disk full: nothing of this "
		    "write was stored");
	else if (wr->rc != 0)
		fv_api_error(c->req, fv_api_status(wr->rc), NULL, "write "
		    "failed, nothing stored: %s", fv_strerror(wr->rc));
	else if (wr->kind == FV_W_CREATE && wr->n == 1)
		fv_api_reply(c->req, 201, json_pack("{s:s}", "id", hex));
	else if (wr->kind == FV_W_CREATE)
		fv_api_reply(c->req, 200, json_pack("{s:I}", "count",
		    (json_int_t)wr->n));
	else if (wr->kind == FV_W_UPDATE)
		fv_api_reply(c->req, 200, json_pack("{s:s, s:b}", "id", hex,
		    "changed", wr->changed));
	else
		fv_api_reply(c->req, 200, json_pack("{s:s, s:b}", "id", hex,
		    "deleted", 1));
	json_decref(wr->body);
	if (wr->leaves != NULL) {
		size_t i;

		for (i = 0; i < wr->n; i++)
			fv_leaves_free(&wr->leaves[i]);
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
		fv_api_error(req, 500, NULL, "out of memory");
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
			fv_leaves_free(&lv[i]);
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
	return fv_record_defaults(body, t, fv_now_ms());
}

static void
post_record(struct fvd *d, struct evhttp_request *req, enum fv_rtype t)
{
	struct fv_verr e;
	json_t *body;

	if ((body = parse_json(req, FV_RECORD_MAX)) == NULL)
		return;
	memset(&e, 0, sizeof(e));
	if (prepare_new(body, t, &e) != 0) {
		fv_api_error(req, 400, e.field, "%s: %s", e.field, e.msg);
		json_decref(body);
		return;
	}
	submit(d, req, FV_W_CREATE, t, body, NULL);
}

/* One line of an import, parsed on either core. */
struct iline {
	const char	*p;
	size_t		 len, lineno;
	struct fv_leaves lv;		/* the record, parsed and checked */
	int		 rc;		/* 0, 1 (bad JSON), 2 (invalid) */
	json_error_t	 je;
	struct fv_verr	 e;
};

struct iparse {
	struct fvd		*d;
	struct evhttp_request	*req;
	struct iline		*v;
	size_t			 n;
	enum fv_rtype		 t;
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
			snprintf(l->e.msg, sizeof(l->e.msg), "must be an object");
		} else if (prepare_new(j, ip->t, &l->e) != 0 ||
		    fv_leaves_from_json(j, 0, nobody, &l->lv, &l->e) != 0)
			l->rc = 2;
		/* leaves are a fraction of jansson's tree: keep only them */
		json_decref(j);
	}
}

static void
iparse_free(struct iparse *ip)
{
	size_t i;

	body_wipe(ip->req);
	for (i = 0; i < ip->n; i++)
		fv_leaves_free(&ip->v[i].lv);
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
			fv_api_error(ip->req, 400, NULL, "line %zu: invalid "
			    "JSON at column %d: %s", l->lineno, l->je.column,
			    l->je.text);
			goto out;
		}
		if (l->rc == 2) {
			fv_api_error(ip->req, 400, l->e.field, "line %zu: %s: %s",
			    l->lineno, l->e.field, l->e.msg);
			goto out;
		}
	}
	if (fv_store_locked(ip->d->store)) {
		fv_api_error(ip->req, 423, NULL, "store is locked: run "
		    "'fieldvault unlock'");
		goto out;
	}
	if ((all = calloc(ip->n, sizeof(*all))) == NULL) {
		fv_api_error(ip->req, 500, NULL, "out of memory");
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
static void
post_import(struct fvd *d, struct evhttp_request *req, enum fv_rtype t)
{
	struct iparse *ip;
	size_t len, lineno = 0;
	char *p = body_of(req, &len), *end = p + len, *nl;

	if ((ip = calloc(1, sizeof(*ip))) == NULL ||
	    (ip->v = calloc(FV_IMPORT_LINES_MAX, sizeof(*ip->v))) == NULL) {
		free(ip);
		body_wipe(req);
		fv_api_error(req, 500, NULL, "out of memory");
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
			continue;		/* blank line */
		if (nl - p > FV_RECORD_MAX) {
			fv_api_error(req, 413, NULL, "line %zu: record larger "
			    "than %d bytes", lineno, FV_RECORD_MAX);
			iparse_free(ip);
			return;
		}
		if (ip->n == FV_IMPORT_LINES_MAX) {
			fv_api_error(req, 413, NULL, "more than %d records in "
			    "one request", FV_IMPORT_LINES_MAX);
			iparse_free(ip);
			return;
		}
		ip->v[ip->n].p = p;
		ip->v[ip->n].len = (size_t)(nl - p);
		ip->v[ip->n++].lineno = lineno;
	}
	if (ip->n == 0) {
		fv_api_reply(req, 200, json_pack("{s:i}", "count", 0));
		iparse_free(ip);
		return;
	}
	fv_par_run(ip->n, parse_range, ip);
	body_wipe(req);
	lines_parsed(ip);
}

static void
get_record(struct fvd *d, struct evhttp_request *req, enum fv_rtype t,
    const uint8_t *rid, const char *hex)
{
	json_t *o;
	int rc = fv_store_get(d->store, t, rid, &o);

	if (rc == 0)
		fv_api_reply(req, 200, o);
	else if (rc == FV_ENOTFOUND)
		fv_api_error(req, 404, NULL, "no such %s %s",
		    fv_rtype_name(t), hex);
	else if (rc == FV_EDELETED)
		fv_api_error(req, 404, NULL, "%s %s was deleted",
		    fv_rtype_name(t), hex);
	else
		reply_rc(req, rc, "read");
}

static void
get_history(struct fvd *d, struct evhttp_request *req, const uint8_t *rid,
    const char *hex)
{
	json_t *o;
	int rc = fv_store_history(d->store, rid, &o);

	if (rc == 0)
		fv_api_reply(req, 200, o);
	else if (rc == FV_ENOTFOUND)
		fv_api_error(req, 404, NULL, "no such record %s", hex);
	else
		reply_rc(req, rc, "history");
}

static void
list_records(struct fvd *d, struct evhttp_request *req, enum fv_rtype t)
{
	static const char *appeal_keys[] = { "status", "country", "category",
	    "assigned_to", "query", NULL };
	static const char *note_keys[] = { "appeal", NULL };
	const char **keys = t == FV_RTYPE_APPEAL ? appeal_keys : note_keys;
	struct evkeyvalq q;
	struct evkeyval *kv;
	struct fv_filter f;
	uint8_t aid[FV_ID_BYTES];
	const char *uq = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(
	    req)), *aidhex;
	json_t *out;
	int rc, i, known;

	TAILQ_INIT(&q);
	if (uq != NULL && evhttp_parse_query_str(uq, &q) != 0) {
		fv_api_error(req, 400, NULL, "bad query string");
		return;
	}
	TAILQ_FOREACH(kv, &q, next) {
		for (i = 0, known = 0; keys[i] != NULL; i++)
			known |= strcmp(keys[i], kv->key) == 0;
		if (!known || strlen(kv->value) > 1024) {
			fv_api_error(req, 400, kv->key, "%s: unknown or too "
			    "long parameter", kv->key);
			evhttp_clear_headers(&q);
			return;
		}
	}
	memset(&f, 0, sizeof(f));
	f.rtype = t;
	f.status = evhttp_find_header(&q, "status");
	f.country = evhttp_find_header(&q, "country");
	f.category = evhttp_find_header(&q, "category");
	f.assigned_to = evhttp_find_header(&q, "assigned_to");
	if ((aidhex = evhttp_find_header(&q, "appeal")) != NULL) {
		if (fv_id_parse(aidhex, aid) != 0) {
			fv_api_error(req, 400, "appeal", "appeal: not an id");
			evhttp_clear_headers(&q);
			return;
		}
		f.appeal_id = aid;
	}
	rc = fv_store_list(d->store, &f, evhttp_find_header(&q, "query"),
	    &out);
	evhttp_clear_headers(&q);
	if (rc == 0)
		fv_api_reply(req, 200, out);
	else
		reply_rc(req, rc, "list");
}

/* --- bundles ------------------------------------------------------------- */

/* POST /v1/bundle/create {"for": DEVICE-ID}: the bundle's bytes */
static void
post_bundle_create(struct fvd *d, struct evhttp_request *req)
{
	size_t len;
	char *p = body_of(req, &len), why[256] = "";
	json_t *j = len ? json_loadb(p, len, 0, NULL) : json_object(), *info;
	struct fv_buf out = { 0 };
	int rc;

	if (!json_is_object(j)) {
		json_decref(j);
		fv_api_error(req, 400, NULL, "body: a JSON object, {\"for\": "
		    "DEVICE-ID} at HQ");
		return;
	}
	rc = fv_sync_bundle_create(d, json_string_value(json_object_get(j,
	    "for")), &out, &info, why, sizeof(why));
	json_decref(j);
	if (rc != 0)
		fv_api_error(req, fv_api_status(rc), NULL, "bundle: %s",
		    why[0] ? why : fv_strerror(rc));
	else
		fv_api_reply_bytes(req, out.p, out.len, info);
	fv_buf_free(&out);
}

/*
 * POST /v1/bundle/import?size=N&offset=K (a part of the bundle's bytes):
 * a bundle may be larger than a request body, so it comes in parts, in
 * order, one upload at a time; the last part imports it.  An upload left
 * for FV_API_TIMEOUT seconds is dropped when another begins.
 */
static struct {
	struct fv_buf	 b;
	uint64_t	 size;
	int64_t		 last_ms;
} upload;

static void
post_bundle_import(struct fvd *d, struct evhttp_request *req)
{
	const char *uq = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(
	    req));
	struct evkeyvalq q;
	const char *sz, *off;
	size_t len;
	char *p = body_of(req, &len), why[256] = "";
	uint64_t size, offset;
	json_t *res;
	int rc;

	TAILQ_INIT(&q);
	if (uq == NULL || evhttp_parse_query_str(uq, &q) != 0 ||
	    (sz = evhttp_find_header(&q, "size")) == NULL ||
	    (off = evhttp_find_header(&q, "offset")) == NULL ||
	    (size = strtoull(sz, NULL, 10)) == 0 || size > FV_BUNDLE_MAX ||
	    (offset = strtoull(off, NULL, 10)) + len > size) {
		evhttp_clear_headers(&q);
		fv_api_error(req, 400, NULL, "bundle import: ?size=N&offset=K "
		    "(N at most %u), the part within it", FV_BUNDLE_MAX);
		return;
	}
	evhttp_clear_headers(&q);
	if (offset == 0) {
		if (upload.b.len > 0 && fv_now_ms() - upload.last_ms <
		    FV_API_TIMEOUT * 1000LL) {
			fv_api_error(req, 429, NULL, "another bundle is being "
			    "imported");
			return;
		}
		fv_buf_free(&upload.b);
		upload.size = size;
	} else if (offset != upload.b.len || size != upload.size) {
		fv_api_error(req, 409, NULL, "bundle import: parts out of "
		    "order; start again");
		return;
	}
	fv_buf_put(&upload.b, p, len);
	upload.last_ms = fv_now_ms();
	if (upload.b.err) {
		fv_buf_free(&upload.b);
		fv_api_error(req, 500, NULL, "out of memory");
		return;
	}
	if (upload.b.len < upload.size) {
		fv_api_reply(req, 202, json_pack("{s:I}", "received",
		    (json_int_t)upload.b.len));
		return;
	}
	rc = fv_sync_bundle_import(d, upload.b.p, upload.b.len, &res, why,
	    sizeof(why));
	fv_buf_free(&upload.b);
	upload.size = 0;
	if (rc != 0) {
		log_warnx("sync: bundle refused: %s", why[0] ? why :
		    fv_strerror(rc));
		fv_api_error(req, rc == FV_ENOMEM || rc == FV_EIO ||
		    rc == FV_ENOSPC ? fv_api_status(rc) : 422, NULL,
		    "bundle refused: %s", why[0] ? why : fv_strerror(rc));
	} else
		fv_api_reply(req, 200, res);
}

/* --- sync, enrollment, devices -------------------------------------- */

static void
sync_done(const struct fv_sync_result *r, void *arg)
{
	struct evhttp_request *req = arg;

	if (r->rc != 0)
		fv_api_error(req, r->rc == FV_EBUSY ? 429 : 502, NULL,
		    "sync with HQ failed: %s", r->why[0] ? r->why :
		    fv_strerror(r->rc));
	else
		fv_api_reply(req, 200, json_pack("{s:s, s:I, s:I, s:I, s:I, "
		    "s:I, s:I}", "hq", r->hq, "up", (json_int_t)r->up, "down",
		    (json_int_t)r->down, "acked", (json_int_t)r->acked,
		    "purged", (json_int_t)r->purged, "bytes_in",
		    (json_int_t)r->bytes_in, "bytes_out",
		    (json_int_t)r->bytes_out));
}

/* POST /v1/sync (field), POST /v1/enroll (field, body: the token) */
static void
post_sync(struct fvd *d, struct evhttp_request *req, int enroll)
{
	char token[FV_TOKEN_STR_MAX + 1];
	size_t len;
	char *p = body_of(req, &len);
	int rc;

	if (strcmp(d->conf->role, "field") != 0) {
		fv_api_error(req, 400, NULL, "only a field device syncs with "
		    "HQ; HQ serves on [sync] listen");
		return;
	}
	if (enroll) {
		while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' ||
		    p[len - 1] == ' '))
			len--;
		if (len == 0 || len > FV_TOKEN_STR_MAX) {
			body_wipe(req);
			fv_api_error(req, 400, NULL, "not an enrollment token");
			return;
		}
		memcpy(token, p, len);
		token[len] = '\0';
		body_wipe(req);
	}
	rc = fv_sync_connect(d, enroll ? token : NULL, sync_done, req);
	sodium_memzero(token, sizeof(token));
	if (rc == FV_ENOTFOUND)
		fv_api_error(req, 400, NULL, "this device is not enrolled: run "
		    "'fieldvault enroll TOKEN'");
	else if (rc == FV_EINVAL)
		fv_api_error(req, 400, NULL, enroll ? "not a valid enrollment "
		    "token" : "bad HQ address");
	else if (rc == FV_EBUSY)
		fv_api_error(req, 429, NULL, "a sync is already running");
	else if (rc != 0)
		fv_api_error(req, 502, NULL, "cannot reach HQ: %s",
		    fv_strerror(rc));
}

static void
devices(struct fvd *d, struct evhttp_request *req, const char *rest)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct fv_device dev;
	uint8_t id[FV_ID_BYTES];
	json_t *j;
	int rc;

	if (*rest == '\0' && m == EVHTTP_REQ_GET) {
		if ((rc = fv_store_devices(d->store, &j)) != 0)
			reply_rc(req, rc, "devices");
		else
			fv_api_reply(req, 200, j);
		return;
	}
	if (strcmp(d->conf->role, "hq") != 0) {
		fv_api_error(req, 400, NULL, "devices are invited and revoked "
		    "at HQ");
		return;
	}
	if (strcmp(rest, "/invite") == 0 && m == EVHTTP_REQ_POST) {
		char token[FV_TOKEN_STR_MAX + 1];
		const char *name, *group;
		int64_t expires;
		struct fv_verr e;
		char ts[32];

		if ((j = parse_json(req, 4096)) == NULL)
			return;
		name = json_string_value(json_object_get(j, "name"));
		group = json_string_value(json_object_get(j, "assigned_to"));
		if (name == NULL || !fv_frame_text_ok(name, strlen(name)) ||
		    strlen(name) > FV_NAME_MAX) {
			json_decref(j);
			fv_api_error(req, 400, "name", "name: 1..64 characters");
			return;
		}
		memset(&e, 0, sizeof(e));
		if (group != NULL && !fv_valid_group(group)) {
			json_decref(j);
			fv_api_error(req, 400, "assigned_to", "assigned_to: a "
			    "group name of 1..64 of a-z 0-9 _ . -");
			return;
		}
		rc = fv_sync_invite(d, name, group, 72 * 3600, token,
		    sizeof(token), &expires);
		json_decref(j);
		if (rc == FV_EINVAL) {
			fv_api_error(req, 400, NULL, "set [sync] listen: the "
			    "token carries HQ's address");
			return;
		}
		if (rc != 0) {
			reply_rc(req, rc, "invite");
			return;
		}
		fv_format_rfc3339(expires * 1000, ts);
		fv_api_reply(req, 200, json_pack("{s:s, s:s}", "token", token,
		    "expires", ts));
		sodium_memzero(token, sizeof(token));
		return;
	}
	if (strncmp(rest, "/", 1) == 0 && strlen(rest) == 1 + 32 + 7 &&
	    strcmp(rest + 33, "/revoke") == 0 && m == EVHTTP_REQ_POST) {
		char hex[33];

		memcpy(hex, rest + 1, 32);
		hex[32] = '\0';
		if (fv_id_parse(hex, id) != 0 ||
		    (rc = fv_store_device_get(d->store, id, &dev)) ==
		    FV_ENOTFOUND) {
			fv_api_error(req, 404, NULL, "no such device");
			return;
		}
		dev.revoked = 1;
		if (rc != 0 || (rc = fv_store_begin(d->store)) != 0 ||
		    (rc = fv_store_device_put(d->store, &dev)) != 0 ||
		    (rc = fv_store_commit(d->store)) != 0) {
			fv_store_abort(d->store);
			reply_rc(req, rc, "revoke");
			return;
		}
		log_info("sync: device '%s' revoked", dev.name);
		fv_api_reply(req, 200, json_pack("{s:s, s:b}", "id", hex,
		    "revoked", 1));
		return;
	}
	fv_api_error(req, 404, NULL, "no such resource");
}

/* /v1/appeals..., /v1/notes... */
static void
records(struct fvd *d, struct evhttp_request *req, enum fv_rtype t,
    const char *rest)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	uint8_t rid[FV_ID_BYTES];
	json_t *patch;

	if (*rest == '\0') {
		if (m == EVHTTP_REQ_GET)
			list_records(d, req, t);
		else if (m == EVHTTP_REQ_POST)
			post_record(d, req, t);
		else
			fv_api_error(req, 405, NULL, "use GET or POST");
		return;
	}
	if (strcmp(rest, "/import") == 0) {
		if (m == EVHTTP_REQ_POST)
			post_import(d, req, t);
		else
			fv_api_error(req, 405, NULL, "use POST");
		return;
	}
	if (rest[0] != '/' || fv_id_parse(rest + 1, rid) != 0) {
		fv_api_error(req, 404, NULL, "not a record id: %.40s",
		    rest + 1);
		return;
	}
	if (m == EVHTTP_REQ_GET)
		get_record(d, req, t, rid, rest + 1);
	else if (m == EVHTTP_REQ_PATCH) {
		if ((patch = parse_json(req, FV_RECORD_MAX)) != NULL)
			submit(d, req, FV_W_UPDATE, t, patch, rid);
	} else if (m == EVHTTP_REQ_DELETE)
		submit(d, req, FV_W_DELETE, t, NULL, rid);
	else
		fv_api_error(req, 405, NULL, "use GET, PATCH or DELETE");
}

/* GET /v1/keys: this installation's public keys (keys show). */
static void
get_keys(struct fvd *d, struct evhttp_request *req)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	char pk[65], id[2 * FV_ID_BYTES + 1], partner[FV_PARTNER_KEY_LEN + 1];
	char fp[40];

	sodium_bin2hex(pk, sizeof(pk), in->sign_pk, 32);
	fv_id_hex(in->device_id, id);
	fv_partner_key_format(in->sign_pk, partner);
	fvp_fingerprint(in->sign_pk, fp);
	fv_api_reply(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "name", in->name, "role", in->role, "device_id", id,
	    "signing_key", pk, "partner_key", partner, "fingerprint", fp));
}

void
fv_routes_dispatch(struct fvd *d, struct evhttp_request *req)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	uint8_t rid[FV_ID_BYTES];

	if (path == NULL)
		path = "";
	if (d->stopping) {
		fv_api_error(req, 503, NULL, "daemon is stopping");
		return;
	}

	/* a status probe is not use: it must not keep the keys in memory */
	if (strcmp(path, "/v1/status") == 0 && m == EVHTTP_REQ_GET) {
		get_status(d, req);
		return;
	}
	fvd_activity(d);
	if (strcmp(path, "/v1/keys") == 0 && m == EVHTTP_REQ_GET) {
		get_keys(d, req);	/* public: works locked too */
		return;
	}
	if (strcmp(path, "/v1/unlock") == 0 && m == EVHTTP_REQ_POST) {
		post_unlock(d, req);
		return;
	}
	if (strcmp(path, "/v1/lock") == 0 && m == EVHTTP_REQ_POST) {
		post_lock(d, req);
		return;
	}
	if (fv_store_locked(d->store)) {
		body_wipe(req);
		fv_api_error(req, 423, NULL, "store is locked: run "
		    "'fieldvault unlock'");
		return;
	}
	if (strncmp(path, "/v1/appeals", 11) == 0 &&
	    (path[11] == '\0' || path[11] == '/'))
		records(d, req, FV_RTYPE_APPEAL, path + 11);
	else if (strncmp(path, "/v1/notes", 9) == 0 &&
	    (path[9] == '\0' || path[9] == '/'))
		records(d, req, FV_RTYPE_NOTE, path + 9);
	else if (strcmp(path, "/v1/sync") == 0 && m == EVHTTP_REQ_POST)
		post_sync(d, req, 0);
	else if (strcmp(path, "/v1/bundle/create") == 0 &&
	    m == EVHTTP_REQ_POST)
		post_bundle_create(d, req);
	else if (strcmp(path, "/v1/bundle/import") == 0 &&
	    m == EVHTTP_REQ_POST)
		post_bundle_import(d, req);
	else if (strcmp(path, "/v1/plugins") == 0 && m == EVHTTP_REQ_GET)
		fvp_list(d, req);
	else if (strcmp(path, "/v1/export") == 0 && m == EVHTTP_REQ_GET)
		fvp_export(d, req);
	else if (strcmp(path, "/v1/exchange/send") == 0 &&
	    m == EVHTTP_REQ_POST)
		fvp_exchange_send(d, req);
	else if (strcmp(path, "/v1/exchange/import") == 0 &&
	    m == EVHTTP_REQ_POST)
		fvp_exchange_import(d, req);
	else if (strcmp(path, "/v1/enroll") == 0 && m == EVHTTP_REQ_POST)
		post_sync(d, req, 1);
	else if (strncmp(path, "/v1/devices", 11) == 0)
		devices(d, req, path + 11);
	else if (strncmp(path, "/v1/history/", 12) == 0 &&
	    m == EVHTTP_REQ_GET && fv_id_parse(path + 12, rid) == 0)
		get_history(d, req, rid, path + 12);
	else {
		body_wipe(req);
		fv_api_error(req, 404, NULL, "no such resource");
	}
}
