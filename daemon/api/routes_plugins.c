/*
 * routes_plugins.c - what plugins do for the API: the list of plugins,
 * exports, partner exchange (the plugin host runs them: plugin/plugin.h).
 */
#include "config.h"

#include <fieldvault/plugin.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "plugin/plugin.h"
#include "routes.h"
#include "server.h"

/*
 * A reply waiting on a plugin job: the job is told when the reader
 * leaves (and the reply freed then); job_over ends the wait.
 */
struct job_reply {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	void *job;
	void (*gone)(void *job);
};

static void
job_closed(struct evhttp_connection *evcon, void *arg)
{
	struct job_reply *jr = arg;

	jr->gone(jr->job); /* evhttp frees the request */
	free(jr);
}

/* A reply for req, or NULL after answering 500. */
static struct job_reply *
job_reply_new(struct evhttp_request *req)
{
	struct job_reply *jr;

	if ((jr = calloc(1, sizeof(*jr))) == NULL) {
		fv_server_error(req, 500, NULL, "out of memory");
		return NULL;
	}
	jr->req = req;
	jr->evcon = evhttp_request_get_connection(req);
	return jr;
}

static void
job_watch(struct job_reply *jr, void *job, void (*gone)(void *j))
{
	jr->job = job;
	jr->gone = gone;
	evhttp_connection_set_closecb(jr->evcon, job_closed, jr);
}

static void
job_over(struct job_reply *jr)
{
	evhttp_connection_set_closecb(jr->evcon, NULL, NULL);
	free(jr);
}

/* --- the plugins --------------------------------------------------------- */

static void
list_done(json_t *list, void *arg)
{
	struct job_reply *jr = arg;

	fv_server_reply(jr->req, 200,
	    json_pack("{s:o, s:i, s:i}", "plugins", list, "abi_major",
		FV_ABI_MAJOR, "abi_minor", FV_ABI_MINOR));
	job_over(jr);
}

static void
list_gone(void *job)
{
	fv_host_list_gone(job);
}

/* GET /v1/plugins: the loaded (and refused) plugins. */
void
fv_routes_plugins(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	struct job_reply *jr;
	struct fv_host_list *l;

	if ((jr = job_reply_new(req)) == NULL)
		return;
	if ((l = fv_host_list(d, list_done, jr)) == NULL) {
		free(jr);
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	job_watch(jr, l, list_gone);
}

/* --- partner exchange (HQ) ---------------------------------------------- */

/* a package a partner sends must fit one request */
_Static_assert(FVP_PACKAGE_MAX <= FV_API_BODY_MAX, "package too large");

static void
exchange_gone(void *job)
{
	fv_exchange_gone(job);
}

static void
exchange_fail(struct evhttp_request *req, const struct fvp_outcome *o)
{
	int code = 500;

	switch (o->fault) {
	case FVP_FAULT_INPUT:
		code = 400;
		break;
	case FVP_FAULT_STORE:
		code = fv_server_status(o->rc);
		break;
	case FVP_FAULT_REFUSED:
		code = 422;
		break;
	case FVP_FAULT_NONE:
	case FVP_FAULT_WRITE:
		break;
	}
	fv_server_error(req, code, o->field, "%s", o->why);
}

static void
exchange_sent(const struct fvp_outcome *o, void *arg)
{
	struct job_reply *xr = arg;

	if (o->fault != FVP_FAULT_NONE)
		exchange_fail(xr->req, o);
	else
		fv_server_reply_bytes(xr->req, o->pkg, o->pkglen,
		    json_pack("{s:s, s:I, s:I}", "partner", o->partner,
			"appeals", (json_int_t)o->appeals, "replies",
			(json_int_t)o->replies));
	job_over(xr);
}

static void
exchange_imported(const struct fvp_outcome *o, void *arg)
{
	struct job_reply *xr = arg;

	if (o->fault != FVP_FAULT_NONE)
		exchange_fail(xr->req, o);
	else
		fv_server_reply(xr->req, 200,
		    json_pack("{s:s, s:I, s:I, s:I, "
			      "s:I}",
			"partner", o->partner, "created",
			(json_int_t)o->created, "already_held",
			(json_int_t)o->held, "replies", (json_int_t)o->replies,
			"unchanged", (json_int_t)o->unchanged));
	job_over(xr);
}

/* Partner exchange is HQ's: 0 after answering 400 elsewhere. */
static int
hq_only(struct fvd *d, struct evhttp_request *req)
{
	if (strcmp(d->conf->role, "hq") == 0)
		return 1;
	fv_server_error(req, 400, NULL,
	    "exchange: partner exchange is HQ's "
	    "(this is a field device)");
	return 0;
}

/* The run started (or refused at once, answered). */
static void
exchange_started(struct job_reply *xr, struct fvp_exchange *x,
    const struct fvp_outcome *o)
{
	if (x == NULL) {
		exchange_fail(xr->req, o);
		free(xr);
		return;
	}
	job_watch(xr, x, exchange_gone);
}

/* The appeal ids of the JSON array ids, or NULL after answering 400. */
static uint8_t *
exchange_ids(struct evhttp_request *req, json_t *ids)
{
	uint8_t *rid;
	json_t *v;
	size_t i, k;

	if ((rid = malloc(json_array_size(ids) * FV_ID_BYTES)) == NULL) {
		fv_server_error(req, 500, NULL, "out of memory");
		return NULL;
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v) ||
		    fv_op_id_parse(json_string_value(v),
			rid + i * FV_ID_BYTES) != 0) {
			fv_server_error(req, 400, "ids",
			    "exchange send: id %zu: "
			    "not an id",
			    i + 1);
			free(rid);
			return NULL;
		}
		for (k = 0; k < i; k++)
			if (json_equal(json_array_get(ids, k), v)) {
				fv_server_error(req, 400, "ids",
				    "exchange send: "
				    "%s named twice",
				    json_string_value(v));
				free(rid);
				return NULL;
			}
	}
	return rid;
}

/* POST /v1/exchange/send {"partner", "format", "ids"}: the package. */
void
fv_routes_exchange_send(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	size_t len;
	char *p = fv_server_body(req, &len);
	json_t *body = NULL, *ids;
	const char *pname, *format;
	struct job_reply *xr;
	struct fvp_outcome o;
	uint8_t *rid;

	if (!hq_only(d, req))
		return;
	if (len > 4 * 1024 * 1024 ||
	    (body = json_loadb(p, len, 0, NULL)) == NULL ||
	    (pname = json_string_value(json_object_get(body, "partner"))) ==
		NULL ||
	    !json_is_array(ids = json_object_get(body, "ids")) ||
	    json_array_size(ids) == 0 ||
	    json_array_size(ids) > FVP_EXCHANGE_IDS_MAX) {
		fv_server_error(req, 400, NULL,
		    "exchange send: {\"partner\": "
		    "NAME, \"ids\": [1..%d appeal ids]}",
		    FVP_EXCHANGE_IDS_MAX);
		json_decref(body);
		return;
	}
	if ((format = json_string_value(json_object_get(body, "format"))) ==
	    NULL)
		format = "ombx";
	if ((rid = exchange_ids(req, ids)) != NULL &&
	    (xr = job_reply_new(req)) != NULL)
		exchange_started(xr,
		    fv_exchange_send(d, format, pname, rid,
			json_array_size(ids), exchange_sent, xr, &o),
		    &o);
	free(rid);
	json_decref(body);
}

/* POST /v1/exchange/import?format=NAME (body: the package). */
void
fv_routes_exchange_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *uq = evhttp_uri_get_query(
		       evhttp_request_get_evhttp_uri(req)),
		   *f;
	char format[FVP_NAME_MAX + 1] = "ombx";
	struct job_reply *xr;
	struct fvp_outcome o;
	struct evkeyvalq q;
	uint8_t *pkg;

	if (!hq_only(d, req))
		return;
	if (len == 0 || len > FVP_PACKAGE_MAX) {
		fv_server_error(req, 413, NULL,
		    "exchange import: a package of "
		    "1..%d bytes",
		    FVP_PACKAGE_MAX);
		return;
	}
	if ((pkg = malloc(len)) == NULL) {
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	evbuffer_remove(in, pkg, len);
	TAILQ_INIT(&q);
	if (uq != NULL && evhttp_parse_query_str(uq, &q) == 0 &&
	    (f = evhttp_find_header(&q, "format")) != NULL)
		snprintf(format, sizeof(format), "%s", f);
	evhttp_clear_headers(&q);
	if ((xr = job_reply_new(req)) == NULL) {
		sodium_memzero(pkg, len);
		free(pkg);
		return;
	}
	exchange_started(xr,
	    fv_exchange_import(d, format, pkg, len, exchange_imported, xr, &o),
	    &o);
}

/* --- exports: the plugin host's bytes, as one chunked reply -------------- */

static void
export_gone(void *job)
{
	fv_export_gone(job);
}

static void
export_begin(void *arg)
{
	struct job_reply *er = arg;

	evhttp_send_reply_start(er->req, 200, "OK");
}

static void
export_sent(struct evhttp_connection *evcon, void *arg)
{
	struct job_reply *er = arg;

	fv_export_sent(er->job);
}

static int
export_bytes(void *arg, const uint8_t *p, size_t len)
{
	struct job_reply *er = arg;
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL || evbuffer_add(b, p, len) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		return -1;
	}
	evhttp_send_reply_chunk_with_cb(er->req, b, export_sent, er);
	evbuffer_free(b);
	return 0;
}

static size_t
export_queued(void *arg)
{
	struct job_reply *er = arg;
	struct bufferevent *bev;

	if ((bev = evhttp_connection_get_bufferevent(er->evcon)) == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(bev));
}

static void
export_refused(void *arg, const char *why)
{
	struct job_reply *er = arg;

	fv_server_error(er->req, 404, "format", "export: %s", why);
	job_over(er);
}

static void
export_done(void *arg, int complete)
{
	struct job_reply *er = arg;
	struct evhttp_connection *evcon = er->evcon;

	if (complete)
		evhttp_send_reply_end(er->req);
	job_over(er);
	/* no final chunk: the client sees the export is incomplete */
	if (!complete)
		evhttp_connection_free(evcon);
}

/* "2026-04-01" or an RFC 3339 time; a date alone as "to" takes its whole
 * day. */
static int
parse_when(const char *s, int end, long long *ms)
{
	char t[40];

	if (fv_record_valid_date(s)) {
		snprintf(t, sizeof(t), "%sT%s", s,
		    end ? "23:59:59.999Z" : "00:00:00Z");
		return fv_record_valid_rfc3339(t, ms) ? 0 : -1;
	}
	return fv_record_valid_rfc3339(s, ms) ? 0 : -1;
}

/* The export's own parameters; bad names the one at fault. */
static const char *
export_args(struct evkeyvalq *q, struct fvp_export_args *a, const char **bad)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	a->type = FV_RTYPE_APPEAL;
	a->from_ms = LLONG_MIN;
	a->to_ms = LLONG_MAX;
	snprintf(a->format, sizeof(a->format), "%s",
	    evhttp_find_header(q, "format"));
	if ((v = evhttp_find_header(q, "type")) != NULL &&
	    fv_record_type_parse(v, &a->type) != 0)
		return *bad = "type", "type: appeal or note";
	if ((v = evhttp_find_header(q, "from")) != NULL &&
	    (strlen(v) >= sizeof(a->from) ||
		parse_when(v, 0, &a->from_ms) != 0))
		return *bad = "from",
		       "from: a date (YYYY-MM-DD) or an RFC "
		       "3339 time";
	if ((v = evhttp_find_header(q, "to")) != NULL &&
	    (strlen(v) >= sizeof(a->to) || parse_when(v, 1, &a->to_ms) != 0))
		return *bad = "to",
		       "to: a date (YYYY-MM-DD) or an RFC 3339 "
		       "time";
	snprintf(a->from, sizeof(a->from), "%s",
	    (v = evhttp_find_header(q, "from")) ? v : "");
	snprintf(a->to, sizeof(a->to), "%s",
	    (v = evhttp_find_header(q, "to")) ? v : "");
	a->json = (v = evhttp_find_header(q, "json")) != NULL &&
	    strcmp(v, "1") == 0;
	return NULL;
}

/* GET /v1/export?format=NAME&...: streams an exporter's output. */
void
fv_routes_export(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	static const char *const keys[] = { "format", "type", "status",
		"country", "category", "assigned_to", "query", "appeal", "from",
		"to", "json", NULL };
	static const struct fvp_sink sink = { export_begin, export_bytes,
		export_queued, export_refused, export_done, NULL };
	const char *uq = evhttp_uri_get_query(
		       evhttp_request_get_evhttp_uri(req)),
		   *bad = NULL, *why;
	struct fvp_export_args a;
	struct fv_store_scan *scan;
	struct job_reply *er;
	struct fv_export_run *x;
	struct fvp_sink s = sink;
	struct evkeyvalq q;
	struct fv_filter f;
	uint8_t aid[FV_ID_BYTES];
	int rc;

	TAILQ_INIT(&q);
	if (uq == NULL || evhttp_parse_query_str(uq, &q) != 0 ||
	    evhttp_find_header(&q, "format") == NULL) {
		evhttp_clear_headers(&q);
		fv_server_error(req, 400, "format",
		    "export: ?format=NAME is "
		    "required");
		return;
	}
	if (fv_routes_query_check(req, &q, keys) != 0) {
		evhttp_clear_headers(&q);
		return;
	}
	if ((why = export_args(&q, &a, &bad)) == NULL) {
		if (fv_routes_query_filter(&q, a.type, &f, aid) != 0)
			bad = "appeal", why = "appeal: not an id";
		else if (a.from_ms > a.to_ms)
			bad = "from", why = "from is after to";
	}
	if (why != NULL) {
		fv_server_error(req, 400, bad, "export: %s", why);
		evhttp_clear_headers(&q);
		return;
	}
	rc = fv_store_scan_new(d->store, &f, evhttp_find_header(&q, "query"),
	    &scan);
	evhttp_clear_headers(&q);
	if (rc != 0) {
		fv_server_error(req, fv_server_status(rc), NULL, "export: %s",
		    fv_error_str(rc));
		return;
	}
	if ((er = job_reply_new(req)) == NULL) {
		fv_store_scan_free(scan);
		return;
	}
	s.arg = er;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/octet-stream");
	if ((x = fv_export_start(d, &a, scan, &s)) == NULL) {
		fv_store_scan_free(scan);
		free(er);
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	job_watch(er, x, export_gone);
}
