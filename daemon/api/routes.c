/*
 * routes.c - the control API's route table and its dispatch.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "routes.h"
#include "server.h"

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define PATCH  EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE

/* Exact paths before the prefixes that would take them. */
const struct fv_route fv_routes_table[] = {
	{ GET, "/v1/status", fv_routes_status, 0,
	    FV_ROUTE_LOCKED | FV_ROUTE_IDLE },
	{ GET, "/v1/keys", fv_routes_keys, 0, FV_ROUTE_LOCKED },
	{ POST, "/v1/unlock", fv_routes_unlock, 0, FV_ROUTE_LOCKED },
	{ POST, "/v1/lock", fv_routes_lock, 0, FV_ROUTE_LOCKED },

	{ GET, "/v1/appeals", fv_routes_records_list, FV_RTYPE_APPEAL, 0 },
	{ POST, "/v1/appeals", fv_routes_records_create, FV_RTYPE_APPEAL, 0 },
	{ POST, "/v1/appeals/import", fv_routes_records_import, FV_RTYPE_APPEAL,
	    0 },
	{ GET, "/v1/appeals/", fv_routes_record_get, FV_RTYPE_APPEAL,
	    FV_ROUTE_PREFIX },
	{ PATCH, "/v1/appeals/", fv_routes_record_patch, FV_RTYPE_APPEAL,
	    FV_ROUTE_PREFIX },
	{ DELETE, "/v1/appeals/", fv_routes_record_delete, FV_RTYPE_APPEAL,
	    FV_ROUTE_PREFIX },
	{ GET, "/v1/notes", fv_routes_records_list, FV_RTYPE_NOTE, 0 },
	{ POST, "/v1/notes", fv_routes_records_create, FV_RTYPE_NOTE, 0 },
	{ POST, "/v1/notes/import", fv_routes_records_import, FV_RTYPE_NOTE,
	    0 },
	{ GET, "/v1/notes/", fv_routes_record_get, FV_RTYPE_NOTE,
	    FV_ROUTE_PREFIX },
	{ PATCH, "/v1/notes/", fv_routes_record_patch, FV_RTYPE_NOTE,
	    FV_ROUTE_PREFIX },
	{ DELETE, "/v1/notes/", fv_routes_record_delete, FV_RTYPE_NOTE,
	    FV_ROUTE_PREFIX },
	{ GET, "/v1/history/", fv_routes_history, 0, FV_ROUTE_PREFIX },

	{ POST, "/v1/sync", fv_routes_sync, 0, 0 },
	{ POST, "/v1/enroll", fv_routes_sync, 1, 0 },
	{ POST, "/v1/bundle/create", fv_routes_bundle_create, 0, 0 },
	{ POST, "/v1/bundle/import", fv_routes_bundle_import, 0, 0 },

	{ GET, "/v1/devices", fv_routes_devices, 0, 0 },
	{ POST, "/v1/devices/invite", fv_routes_device_invite, 0, 0 },
	{ POST, "/v1/devices/", fv_routes_device_revoke, 0, FV_ROUTE_PREFIX },

	{ GET, "/v1/plugins", fv_routes_plugins, 0, 0 },
	{ GET, "/v1/export", fv_routes_export, 0, 0 },
	{ POST, "/v1/exchange/send", fv_routes_exchange_send, 0, 0 },
	{ POST, "/v1/exchange/import", fv_routes_exchange_import, 0, 0 },
	{ 0, NULL, NULL, 0, 0 }
};

static int
path_matches(const struct fv_route *r, const char *path)
{
	if (r->flags & FV_ROUTE_PREFIX)
		return strncmp(path, r->path, strlen(r->path)) == 0;
	return strcmp(path, r->path) == 0;
}

enum fv_route_verdict
fv_routes_find(const struct fv_route *tab, enum evhttp_cmd_type method,
    const char *path, int locked, const struct fv_route **r, const char **rest)
{
	const struct fv_route *t, *res = NULL;

	*r = NULL;
	*rest = "";
	for (t = tab; t->path != NULL && res == NULL; t++)
		if (path_matches(t, path))
			res = t;
	for (t = res; t != NULL && t->path != NULL; t++)
		if (strcmp(t->path, res->path) == 0 && t->method == method) {
			*r = t;
			break;
		}
	if (*r != NULL && ((*r)->flags & FV_ROUTE_LOCKED))
		goto run;
	if (locked)
		return FV_ROUTE_ISLOCKED;
	if (res == NULL)
		return FV_ROUTE_NOTFOUND;
	if (*r == NULL) {
		*r = res;
		return FV_ROUTE_BADMETHOD;
	}
run:
	if ((*r)->flags & FV_ROUTE_PREFIX)
		*rest = path + strlen((*r)->path);
	return FV_ROUTE_RUN;
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "?";
	}
}

void
fv_routes_methods(const struct fv_route *tab, const struct fv_route *r,
    char *out, size_t outlen)
{
	const struct fv_route *t, *m[8];
	size_t n = 0, i, len = 0;

	for (t = tab; t->path != NULL && n < 8; t++)
		if (strcmp(t->path, r->path) == 0)
			m[n++] = t;
	out[0] = '\0';
	for (i = 0; i < n && len < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s",
		    i == 0	   ? "" :
			i + 1 == n ? " or " :
				     ", ",
		    method_name(m[i]->method));
}

void
fv_routes_dispatch(struct fvd *d, struct evhttp_request *req)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(
		       evhttp_request_get_evhttp_uri(req)),
		   *rest;
	const struct fv_route *r;
	char use[64];

	if (path == NULL)
		path = "";
	if (d->stopping) {
		fv_server_error(req, 503, NULL, "daemon is stopping");
		return;
	}
	switch (fv_routes_find(fv_routes_table, m, path,
	    fv_store_locked(d->store), &r, &rest)) {
	case FV_ROUTE_RUN:
		/* a status probe is not use: it must not keep the keys */
		if (!(r->flags & FV_ROUTE_IDLE))
			fv_daemon_activity(d);
		r->fn(d, req, rest, r->arg);
		return;
	case FV_ROUTE_ISLOCKED:
		fv_daemon_activity(d);
		fv_server_body_wipe(req);
		fv_server_error(req, 423, NULL,
		    "store is locked: run "
		    "'fieldvault unlock'");
		return;
	case FV_ROUTE_BADMETHOD:
		fv_daemon_activity(d);
		fv_server_body_wipe(req);
		fv_routes_methods(fv_routes_table, r, use, sizeof(use));
		fv_server_error(req, 405, NULL, "use %s", use);
		return;
	case FV_ROUTE_NOTFOUND:
		fv_daemon_activity(d);
		fv_server_body_wipe(req);
		fv_server_error(req, 404, NULL, "no such resource");
		return;
	}
}
