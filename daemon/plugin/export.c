/*
 * export.c - fieldvault export: GET /v1/export streams what an exporter
 * plugin makes of the records.
 *
 * The loop reads the records a batch at a time (fv_store_scan_read,
 * which decrypts on both cores), the plugin thread makes each record's
 * leaves an fv_record (no JSON tree is built) and turns the batch into
 * bytes, the loop sends them as one HTTP chunk.  At most EXPORT_WINDOW
 * batches are at the thread and a new one is read only while less than
 * EXPORT_QUEUED bytes wait in the connection: memory stays flat whatever the number of records, and a slow
 * reader slows the export instead of filling memory.  A run that fails
 * half way (the plugin, the store) is cut off without the final chunk, so
 * the client knows it is incomplete.
 */
#include <fieldvault/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "api/server.h"
#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "sdkimpl.h"

#define EXPORT_BATCH	512		/* records per job */
#define EXPORT_WINDOW	2		/* jobs at the thread */
#define EXPORT_QUEUED	(1024 * 1024)	/* bytes waiting to be sent */

enum { X_BEGIN, X_BATCH, X_END };

/* The SDK's export run. */
struct fv_export {
	struct fv_output	 out;
	const char		*opt[12];	/* name, value, ..., NULL */
};

struct xport {
	struct fvd		*d;
	struct fvp_host		*h;
	struct evhttp_request	*req;		/* NULL: the reader left */
	struct evhttp_connection *evcon;
	struct fv_store_scan	*scan;
	enum fv_rtype		 type;
	long long		 from_ms, to_ms;
	char			 format[FVP_NAME_MAX + 1];
	char			 from[40], to[40], json[2];
	int			 inflight, scan_done, failed, ending;
	size_t			 records, bytes;
	int64_t			 scan_us;	/* loop, reading */
	int64_t			 thread_us;	/* plugin thread */
	int64_t			 t0;
	/* plugin thread */
	struct fv_host		*plug;
	void			*run;
	struct fv_export	 x;
	struct fv_record	 rec;		/* reused record to record */
	struct fv_sdk_leaf	*lv;		/* its leaves */
	struct {				/* the text of those not stored */
		char		 id[2 * FV_ID_BYTES + 3], ca[48], ua[48];
		char		 by[FV_SDK_QUOTED(FV_NAME_MAX)];
	}			 meta;
	char			 why[256];
};

struct xjob {
	struct fvp_job		 j;
	struct xport		*xp;
	int			 kind, rc, complete;
	struct fv_scan_batch	*recs;
	size_t			 records;	/* in the period */
	uint8_t			*out;		/* the bytes made */
	size_t			 outlen;
};

#define LEAVES_MAX	(4 * FV_OP_FIELDS_MAX + 8)	/* a record's, and
							   id, type, ... */

const char *
fv_export_option(const fv_export *x, const char *name)
{
	size_t i;

	for (i = 0; x->opt[i] != NULL; i += 2)
		if (strcmp(x->opt[i], name) == 0)
			return x->opt[i + 1];
	return NULL;
}

fv_output *
fv_export_output(fv_export *x)
{
	return &x->out;
}

/* --- plugin thread ---------------------------------------------------------- */

/* Is the record inside the period asked for? */
static int
in_period(const struct xport *xp, const fv_record *r)
{
	long long ms;
	const char *t;

	if (xp->from_ms == LLONG_MIN && xp->to_ms == LLONG_MAX)
		return 1;
	t = fv_record_get(r, xp->type == FV_RTYPE_APPEAL ? "received_at" :
	    "created_at");
	if (t == NULL || !fv_valid_rfc3339(t, &ms))
		return 0;
	return ms >= xp->from_ms && ms <= xp->to_ms;
}

/* The record's leaves as the API shows it (fv_state_to_json's order):
 * id, type, its fields, created_at, updated_at, created_by, conflict.
 * The record borrows their text: the batch's, and xp->meta. */
static int
make_record(struct xport *xp, const struct fv_scan_rec *sr)
{
	char *id = xp->meta.id, *ca = xp->meta.ca, *ua = xp->meta.ua;
	char *by = xp->meta.by, ts[32];
	const char *type = sr->st.rtype == FV_RTYPE_APPEAL ? "\"appeal\"" :
	    "\"note\"";
	struct fv_sdk_leaf *v = xp->lv;
	size_t n = 0, i;

#define LEAF(p, j, jl)	do {						\
		v[n].path = (p);					\
		v[n].pathlen = strlen(p);				\
		v[n].json = (j);					\
		v[n++].jsonlen = (jl);					\
	} while (0)
	id[0] = '"';
	fv_id_hex(sr->rid, id + 1);
	id[2 * FV_ID_BYTES + 1] = '"';
	LEAF("id", id, 2 * FV_ID_BYTES + 2);
	LEAF("type", type, strlen(type));
	for (i = 0; i < sr->st.leaves.n && n < LEAVES_MAX - 6; i++) {
		const struct fv_leaf *f = &sr->st.leaves.v[i];

		if (f->val == NULL)
			continue;
		v[n].path = f->path;
		v[n].pathlen = f->pathlen;
		v[n].json = f->val;
		v[n++].jsonlen = f->vallen;
	}
	fv_format_rfc3339((long long)(sr->st.created_hlc >> 16), ts);
	LEAF("created_at", ca, (size_t)snprintf(ca, sizeof(xp->meta.ca),
	    "\"%s\"", ts));
	fv_format_rfc3339((long long)(sr->st.updated_hlc >> 16), ts);
	LEAF("updated_at", ua, (size_t)snprintf(ua, sizeof(xp->meta.ua),
	    "\"%s\"", ts));
	LEAF("created_by", by, fv_sdk_quote(sr->created_by,
	    strnlen(sr->created_by, FV_NAME_MAX), by));
	if (sr->st.flags & FV_ST_CONFLICT)
		LEAF("conflict", "true", 4);
#undef LEAF
	return fv_sdk_record_set(&xp->rec, v, n);
}

/* Hands what the plugin wrote to the job, and readies the buffer. */
static void
take_output(struct xjob *xj)
{
	struct fv_output *o = &xj->xp->x.out;

	xj->out = o->p;
	xj->outlen = o->len;
	o->p = NULL;
	o->len = o->cap = 0;
	if (o->err)
		xj->rc = -1;
}

static void
xjob_run(struct fvp_job *j)
{
	struct xjob *xj = (struct xjob *)j;
	struct xport *xp = xj->xp;
	const struct fv_plugin *d;
	size_t i;
	int k = 0;
	int64_t t0;

	switch (xj->kind) {
	case X_BEGIN:
		if ((xp->plug = fvp_find(j->host, xp->format,
		    FV_KIND_EXPORTER)) == NULL) {
			snprintf(xp->why, sizeof(xp->why), "no exporter "
			    "plugin '%s' is loaded (see 'fieldvault plugin "
			    "list')", xp->format);
			xj->rc = -1;
			return;
		}
		d = xp->plug->desc;
		if ((xp->lv = calloc(LEAVES_MAX, sizeof(*xp->lv))) == NULL) {
			snprintf(xp->why, sizeof(xp->why), "out of memory");
			xj->rc = -1;
			fvp_unref(xp->plug);
			xp->plug = NULL;
			return;
		}
		fv_sdk_output_init(&xp->x.out, FVP_OUTPUT_MAX, NULL, NULL);
		xp->x.opt[k++] = "type";
		xp->x.opt[k++] = fv_rtype_name(xp->type);
		if (xp->from[0] != '\0') {
			xp->x.opt[k++] = "from";
			xp->x.opt[k++] = xp->from;
		}
		if (xp->to[0] != '\0') {
			xp->x.opt[k++] = "to";
			xp->x.opt[k++] = xp->to;
		}
		if (xp->json[0] != '\0') {
			xp->x.opt[k++] = "json";
			xp->x.opt[k++] = "1";
		}
		xp->x.opt[k] = NULL;
		if (d->export_begin(xp->plug->state, &xp->x, &xp->run) != 0) {
			snprintf(xp->why, sizeof(xp->why), "the %s plugin "
			    "could not begin (see the daemon's log)",
			    xp->format);
			xj->rc = -1;
			fv_sdk_output_free(&xp->x.out);
			fvp_unref(xp->plug);
			xp->plug = NULL;
			return;
		}
		take_output(xj);
		if (xj->rc != 0) {	/* its output failed already */
			d->export_end(xp->run, &xp->x, 0);
			snprintf(xp->why, sizeof(xp->why), "the %s plugin's "
			    "output failed", xp->format);
			fv_sdk_output_free(&xp->x.out);
			fvp_unref(xp->plug);
			xp->plug = NULL;
		}
		break;
	case X_BATCH:
		t0 = fv_now_us();
		d = xp->plug->desc;
		for (i = 0; i < xj->recs->n && xj->rc == 0; i++) {
			if (make_record(xp, &xj->recs->rec[i]) != 0)
				xj->rc = -1;
			else if (in_period(xp, &xp->rec)) {
				xj->records++;
				if (d->export_record(xp->run, &xp->x,
				    &xp->rec) != 0)
					xj->rc = -1;
			}
			fv_sdk_record_release(&xp->rec);
		}

		take_output(xj);
		xp->thread_us += fv_now_us() - t0;
		break;
	case X_END:
		d = xp->plug->desc;
		if (d->export_end(xp->run, &xp->x, xj->complete) != 0)
			xj->rc = -1;
		take_output(xj);
		fv_sdk_output_free(&xp->x.out);
		fv_sdk_record_free(&xp->rec);
		free(xp->lv);
		xp->lv = NULL;
		fvp_unref(xp->plug);
		xp->plug = NULL;
		break;
	}
}

/* --- loop ------------------------------------------------------------------------ */

static void pump(struct xport *);
static void xjob_done(struct fvp_job *);

static void
submit(struct xport *xp, int kind, struct fv_scan_batch *recs, int complete)
{
	struct xjob *xj = calloc(1, sizeof(*xj));

	if (xj == NULL)
		fatalx("export: out of memory");
	xj->j.run = xjob_run;
	xj->j.done = xjob_done;
	xj->xp = xp;
	xj->kind = kind;
	xj->recs = recs;
	xj->complete = complete;
	xp->inflight++;
	fvp_submit(xp->h, &xj->j);
}

static void
closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct xport *xp = arg;

	xp->req = NULL;		/* evhttp frees it */
	xp->evcon = NULL;
	pump(xp);
}

static void
unwatch(struct xport *xp)
{
	if (xp->evcon != NULL)
		evhttp_connection_set_closecb(xp->evcon, NULL, NULL);
}

static void
xport_free(struct xport *xp)
{
	fv_store_scan_free(xp->scan);
	fv_sdk_record_free(&xp->rec);
	free(xp->lv);
	free(xp);
}

static void
wipe_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
}

static void
chunk_sent(struct evhttp_connection *evcon, void *arg)
{
	pump(arg);
}

static void
send_bytes(struct xport *xp, const uint8_t *p, size_t len)
{
	struct evbuffer *b;

	if (len == 0 || xp->req == NULL)
		return;
	if ((b = evbuffer_new()) == NULL || evbuffer_add(b, p, len) != 0) {
		xp->failed = 1;
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	xp->bytes += len;
	evhttp_send_reply_chunk_with_cb(xp->req, b, chunk_sent, xp);
	evbuffer_free(b);
}

static size_t
queued(const struct xport *xp)
{
	struct bufferevent *bev;

	if (xp->evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(xp->evcon)) == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(bev));
}

static void
pump(struct xport *xp)
{
	struct fv_scan_batch *batch;
	int64_t t0;
	int rc;

	while (!xp->ending && !xp->failed && xp->req != NULL &&
	    !xp->scan_done && xp->inflight < EXPORT_WINDOW &&
	    queued(xp) < EXPORT_QUEUED) {
		t0 = fv_now_us();
		rc = fv_store_scan_read(xp->d->store, xp->scan, EXPORT_BATCH,
		    &batch, &xp->scan_done);
		xp->scan_us += fv_now_us() - t0;
		if (rc != 0) {
			log_error("export: %s: reading the records: %s",
			    xp->format, fv_strerror(rc));
			xp->failed = 1;
		} else if (batch->n > 0)
			submit(xp, X_BATCH, batch, 0);
		else
			fv_scan_batch_free(batch);
	}
	if (xp->inflight > 0 || xp->ending)
		return;
	if (xp->failed || xp->req == NULL || xp->scan_done) {
		xp->ending = 1;
		submit(xp, X_END, NULL, !xp->failed && xp->req != NULL);
	}
}

static void
xjob_done(struct fvp_job *j)
{
	struct xjob *xj = (struct xjob *)j;
	struct xport *xp = xj->xp;
	int kind = xj->kind, rc = xj->rc, complete = xj->complete;
	double secs;

	xp->inflight--;
	xp->records += xj->records;
	if (kind == X_BEGIN && rc != 0) {
		wipe_free(xj->out, xj->outlen);
		free(xj);
		unwatch(xp);
		if (xp->req != NULL)
			fv_api_error(xp->req, 404, "format", "export: %s",
			    xp->why);
		xport_free(xp);
		return;
	}
	if (kind == X_BEGIN && xp->req != NULL)
		evhttp_send_reply_start(xp->req, 200, "OK");
	if (rc == 0)
		send_bytes(xp, xj->out, xj->outlen);
	wipe_free(xj->out, xj->outlen);
	fv_store_scan_recycle(xp->scan, xj->recs);	/* for the next read */
	free(xj);
	if (rc != 0 && !xp->failed) {
		log_error("export: %s: the plugin failed (record %zu)",
		    xp->format, xp->records);
		xp->failed = 1;
	}
	if (kind != X_END) {
		pump(xp);
		return;
	}
	secs = (double)(fv_now_us() - xp->t0) / 1e6;
	unwatch(xp);
	if (complete && rc == 0 && !xp->failed && xp->req != NULL) {
		evhttp_send_reply_end(xp->req);
		/* where the time went: the loop's reading, the plugin */
		log_info("export: %s: %zu records, %zu bytes in %.2f s "
		    "(reading %.2f s, plugin %.2f s)", xp->format, xp->records,
		    xp->bytes, secs, (double)xp->scan_us / 1e6,
		    (double)xp->thread_us / 1e6);
	} else {
		log_error("export: %s: cut off after %zu records (%s)",
		    xp->format, xp->records, xp->req == NULL ?
		    "the reader went away" : "failed");
		/* no final chunk: the client sees the export is incomplete */
		if (xp->evcon != NULL)
			evhttp_connection_free(xp->evcon);
	}
	xport_free(xp);
}

/* "2026-04-01" or an RFC 3339 time; a date alone as "to" takes its whole
 * day. */
static int
parse_when(const char *s, int end, long long *ms)
{
	char t[40];

	if (fv_valid_date(s)) {
		snprintf(t, sizeof(t), "%sT%s", s, end ? "23:59:59.999Z" :
		    "00:00:00Z");
		return fv_valid_rfc3339(t, ms) ? 0 : -1;
	}
	return fv_valid_rfc3339(s, ms) ? 0 : -1;
}

void
fvp_export(struct fvd *d, struct evhttp_request *req)
{
	static const char *keys[] = { "format", "type", "status", "country",
	    "category", "assigned_to", "query", "appeal", "from", "to",
	    "json", NULL };
	const char *uq = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(
	    req)), *v;
	struct evkeyvalq q;
	struct evkeyval *kv;
	struct fv_filter f;
	struct xport *xp;
	uint8_t aid[FV_ID_BYTES];
	const char *bad = NULL, *why = NULL;
	int i, known, rc;

	TAILQ_INIT(&q);
	if (uq == NULL || evhttp_parse_query_str(uq, &q) != 0 ||
	    (v = evhttp_find_header(&q, "format")) == NULL) {
		evhttp_clear_headers(&q);
		fv_api_error(req, 400, "format", "export: ?format=NAME is "
		    "required");
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
	if ((xp = calloc(1, sizeof(*xp))) == NULL) {
		evhttp_clear_headers(&q);
		fv_api_error(req, 500, NULL, "out of memory");
		return;
	}
	xp->d = d;
	xp->h = d->plugins;
	xp->t0 = fv_now_us();
	xp->type = FV_RTYPE_APPEAL;
	xp->from_ms = LLONG_MIN;
	xp->to_ms = LLONG_MAX;
	snprintf(xp->format, sizeof(xp->format), "%s", v);
	memset(&f, 0, sizeof(f));
	if ((v = evhttp_find_header(&q, "type")) != NULL &&
	    fv_rtype_parse(v, &xp->type) != 0)
		bad = "type", why = "type: appeal or note";
	else if ((v = evhttp_find_header(&q, "from")) != NULL &&
	    (strlen(v) >= sizeof(xp->from) || parse_when(v, 0,
	    &xp->from_ms) != 0))
		bad = "from", why = "from: a date (YYYY-MM-DD) or an RFC "
		    "3339 time";
	else if ((v = evhttp_find_header(&q, "to")) != NULL &&
	    (strlen(v) >= sizeof(xp->to) || parse_when(v, 1,
	    &xp->to_ms) != 0))
		bad = "to", why = "to: a date (YYYY-MM-DD) or an RFC 3339 "
		    "time";
	else if ((v = evhttp_find_header(&q, "appeal")) != NULL &&
	    fv_id_parse(v, aid) != 0)
		bad = "appeal", why = "appeal: not an id";
	else if (xp->from_ms > xp->to_ms)
		bad = "from", why = "from is after to";
	if (bad != NULL) {
		fv_api_error(req, 400, bad, "export: %s", why);
		evhttp_clear_headers(&q);
		free(xp);
		return;
	}
	snprintf(xp->from, sizeof(xp->from), "%s",
	    (v = evhttp_find_header(&q, "from")) ? v : "");
	snprintf(xp->to, sizeof(xp->to), "%s",
	    (v = evhttp_find_header(&q, "to")) ? v : "");
	if ((v = evhttp_find_header(&q, "json")) != NULL && strcmp(v, "1") == 0)
		xp->json[0] = '1';
	f.rtype = xp->type;
	f.status = evhttp_find_header(&q, "status");
	f.country = evhttp_find_header(&q, "country");
	f.category = evhttp_find_header(&q, "category");
	f.assigned_to = evhttp_find_header(&q, "assigned_to");
	if (evhttp_find_header(&q, "appeal") != NULL)
		f.appeal_id = aid;
	rc = fv_store_scan_new(d->store, &f, evhttp_find_header(&q, "query"),
	    &xp->scan);
	evhttp_clear_headers(&q);
	if (rc != 0) {
		fv_api_error(req, fv_api_status(rc), NULL, "export: %s",
		    fv_strerror(rc));
		free(xp);
		return;
	}
	xp->req = req;
	xp->evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(xp->evcon, closed_cb, xp);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/octet-stream");
	log_info("export: %s: %zu %ss selected", xp->format,
	    fv_store_scan_count(xp->scan), fv_rtype_name(xp->type));
	submit(xp, X_BEGIN, NULL, 0);
}
