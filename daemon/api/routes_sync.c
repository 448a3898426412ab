/*
 * routes_sync.c - sync with HQ, enrollment, bundles.
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

#include "buf.h"
#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "sync/sync.h"
#include "token.h"

/* POST /v1/bundle/create {"for": DEVICE-ID}: the bundle's bytes */
void
fv_routes_bundle_create(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	size_t len;
	char *p = fv_server_body(req, &len), why[256] = "";
	json_t *j = len ? json_loadb(p, len, 0, NULL) : json_object(), *info;
	struct fv_buf out = { 0 };
	int rc;

	if (!json_is_object(j)) {
		json_decref(j);
		fv_server_error(req, 400, NULL,
		    "body: a JSON object, {\"for\": "
		    "DEVICE-ID} at HQ");
		return;
	}
	rc = fv_sync_bundle_create(d,
	    json_string_value(json_object_get(j, "for")), &out, &info, why,
	    sizeof(why));
	json_decref(j);
	if (rc != 0)
		fv_server_error(req, fv_server_status(rc), NULL, "bundle: %s",
		    why[0] ? why : fv_error_str(rc));
	else
		fv_server_reply_bytes(req, out.p, out.len, info);
	fv_buf_free(&out);
}

/*
 * POST /v1/bundle/import?size=N&offset=K (a part of the bundle's bytes):
 * a bundle may be larger than a request body, so it comes in parts, in
 * order, one upload at a time; the last part imports it.  An upload left
 * for FV_API_TIMEOUT seconds is dropped when another begins.
 */
static struct {
	struct fv_buf b;
	uint64_t size;
	int64_t last_ms;
} upload;

void
fv_routes_bundle_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	const char *uq = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	const char *sz, *off;
	size_t len;
	char *p = fv_server_body(req, &len), why[256] = "";
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
		fv_server_error(req, 400, NULL,
		    "bundle import: ?size=N&offset=K "
		    "(N at most %u), the part within it",
		    FV_BUNDLE_MAX);
		return;
	}
	evhttp_clear_headers(&q);
	if (offset == 0) {
		if (upload.b.len > 0 &&
		    fv_hlc_now_ms() - upload.last_ms <
			FV_API_TIMEOUT * 1000LL) {
			fv_server_error(req, 429, NULL,
			    "another bundle is being "
			    "imported");
			return;
		}
		fv_buf_free(&upload.b);
		upload.size = size;
	} else if (offset != upload.b.len || size != upload.size) {
		fv_server_error(req, 409, NULL,
		    "bundle import: parts out of "
		    "order; start again");
		return;
	}
	fv_buf_put(&upload.b, p, len);
	upload.last_ms = fv_hlc_now_ms();
	if (upload.b.err) {
		fv_buf_free(&upload.b);
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	if (upload.b.len < upload.size) {
		fv_server_reply(req, 202,
		    json_pack("{s:I}", "received", (json_int_t)upload.b.len));
		return;
	}
	rc = fv_sync_bundle_import(d, upload.b.p, upload.b.len, &res, why,
	    sizeof(why));
	fv_buf_free(&upload.b);
	upload.size = 0;
	if (rc != 0) {
		fv_log_warnx("sync: bundle refused: %s",
		    why[0] ? why : fv_error_str(rc));
		fv_server_error(req,
		    rc == FV_ENOMEM || rc == FV_EIO || rc == FV_ENOSPC ?
			fv_server_status(rc) :
			422,
		    NULL, "bundle refused: %s",
		    why[0] ? why : fv_error_str(rc));
	} else
		fv_server_reply(req, 200, res);
}

static void
sync_done(const struct fv_sync_result *r, void *arg)
{
	struct evhttp_request *req = arg;

	if (r->rc != 0)
		fv_server_error(req, r->rc == FV_EBUSY ? 429 : 502, NULL,
		    "sync with HQ failed: %s",
		    r->why[0] ? r->why : fv_error_str(r->rc));
	else
		fv_server_reply(req, 200,
		    json_pack("{s:s, s:I, s:I, s:I, s:I, "
			      "s:I, s:I}",
			"hq", r->hq, "up", (json_int_t)r->up, "down",
			(json_int_t)r->down, "acked", (json_int_t)r->acked,
			"purged", (json_int_t)r->purged, "bytes_in",
			(json_int_t)r->bytes_in, "bytes_out",
			(json_int_t)r->bytes_out));
}

/* POST /v1/sync (field), POST /v1/enroll (field, body: the token) */
void
fv_routes_sync(struct fvd *d, struct evhttp_request *req, const char *rest,
    int enroll)
{
	char token[FV_TOKEN_STR_MAX + 1];
	size_t len;
	char *p = fv_server_body(req, &len);
	int rc;

	if (strcmp(d->conf->role, "field") != 0) {
		fv_server_error(req, 400, NULL,
		    "only a field device syncs with "
		    "HQ; HQ serves on [sync] listen");
		return;
	}
	if (enroll) {
		while (len > 0 &&
		    (p[len - 1] == '\n' || p[len - 1] == '\r' ||
			p[len - 1] == ' '))
			len--;
		if (len == 0 || len > FV_TOKEN_STR_MAX) {
			fv_server_body_wipe(req);
			fv_server_error(req, 400, NULL,
			    "not an enrollment token");
			return;
		}
		memcpy(token, p, len);
		token[len] = '\0';
		fv_server_body_wipe(req);
	}
	rc = fv_sync_field_connect(d, enroll ? token : NULL, sync_done, req);
	sodium_memzero(token, sizeof(token));
	if (rc == FV_ENOTFOUND)
		fv_server_error(req, 400, NULL,
		    "this device is not enrolled: run "
		    "'fieldvault enroll TOKEN'");
	else if (rc == FV_EINVAL)
		fv_server_error(req, 400, NULL,
		    enroll ? "not a valid enrollment "
			     "token" :
			     "bad HQ address");
	else if (rc == FV_EBUSY)
		fv_server_error(req, 429, NULL, "a sync is already running");
	else if (rc != 0)
		fv_server_error(req, 502, NULL, "cannot reach HQ: %s",
		    fv_error_str(rc));
}
