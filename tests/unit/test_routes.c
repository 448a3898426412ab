/*
 * test_routes.c - the control API's route table: which handler a method
 * and path reach, 404 for a path no route has, 405 (and the methods to
 * use) for a known path with another method, 423 for every route but
 * status, keys, unlock and lock while the store is locked.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/routes.h"
#include "tap.h"

static const struct fv_route *r;
static const char *rest;

static enum fv_route_verdict
find(enum evhttp_cmd_type m, const char *path, int locked)
{
	return fv_routes_find(fv_routes_table, m, path, locked, &r, &rest);
}

static void
runs(enum evhttp_cmd_type m, const char *path, int locked, fv_route_fn fn,
    int arg, const char *want_rest)
{
	is_int(find(m, path, locked), FV_ROUTE_RUN, "%s runs", path);
	ok(r != NULL && r->fn == fn && r->arg == arg, "%s: its handler", path);
	is_str(rest, want_rest, "%s: rest", path);
}

static void
bad_method(enum evhttp_cmd_type m, const char *path, const char *use)
{
	char got[64];

	is_int(find(m, path, 0), FV_ROUTE_BADMETHOD, "%s: 405", path);
	fv_routes_methods(fv_routes_table, r, got, sizeof(got));
	is_str(got, use, "%s: use %s", path, use);
}

int
main(void)
{
	static const char *open_locked[] = { "/v1/status", "/v1/keys",
		"/v1/unlock", "/v1/lock", NULL };
	const struct fv_route *t;
	int i, listed;

	/* found */
	runs(EVHTTP_REQ_GET, "/v1/appeals", 0, fv_routes_records_list,
	    FV_RTYPE_APPEAL, "");
	runs(EVHTTP_REQ_POST, "/v1/notes", 0, fv_routes_records_create,
	    FV_RTYPE_NOTE, "");
	runs(EVHTTP_REQ_POST, "/v1/notes/import", 0, fv_routes_records_import,
	    FV_RTYPE_NOTE, "");
	runs(EVHTTP_REQ_PATCH, "/v1/appeals/00ff", 0, fv_routes_record_patch,
	    FV_RTYPE_APPEAL, "00ff");
	runs(EVHTTP_REQ_GET, "/v1/appeals/", 0, fv_routes_record_get,
	    FV_RTYPE_APPEAL, "");
	runs(EVHTTP_REQ_GET, "/v1/history/abc", 0, fv_routes_history, 0, "abc");
	runs(EVHTTP_REQ_POST, "/v1/enroll", 0, fv_routes_sync, 1, "");
	runs(EVHTTP_REQ_POST, "/v1/sync", 0, fv_routes_sync, 0, "");
	runs(EVHTTP_REQ_POST, "/v1/devices/invite", 0, fv_routes_device_invite,
	    0, "");
	runs(EVHTTP_REQ_POST, "/v1/devices/00ff/revoke", 0,
	    fv_routes_device_revoke, 0, "00ff/revoke");
	runs(EVHTTP_REQ_GET, "/v1/export", 0, fv_routes_export, 0, "");

	/* 404: no route has the path */
	is_int(find(EVHTTP_REQ_GET, "/v1/appealsx", 0), FV_ROUTE_NOTFOUND,
	    "a longer name is not the resource");
	is_int(find(EVHTTP_REQ_GET, "/v1/nothing", 0), FV_ROUTE_NOTFOUND,
	    "unknown path: 404");
	is_int(find(EVHTTP_REQ_GET, "", 0), FV_ROUTE_NOTFOUND, "empty path");
	is_int(find(EVHTTP_REQ_GET, "/v1/history", 0), FV_ROUTE_NOTFOUND,
	    "a prefix route needs its '/'");

	/* 405: the resource, not the method */
	bad_method(EVHTTP_REQ_PUT, "/v1/appeals", "GET or POST");
	bad_method(EVHTTP_REQ_GET, "/v1/appeals/import", "POST");
	bad_method(EVHTTP_REQ_POST, "/v1/notes/00ff", "GET, PATCH or DELETE");
	bad_method(EVHTTP_REQ_GET, "/v1/sync", "POST");
	bad_method(EVHTTP_REQ_GET, "/v1/devices/invite", "POST");
	bad_method(EVHTTP_REQ_POST, "/v1/status", "GET");

	/* locked: status, keys, unlock and lock only */
	runs(EVHTTP_REQ_GET, "/v1/status", 1, fv_routes_status, 0, "");
	ok(r->flags & FV_ROUTE_IDLE, "a status probe is not use");
	runs(EVHTTP_REQ_GET, "/v1/keys", 1, fv_routes_keys, 0, "");
	runs(EVHTTP_REQ_POST, "/v1/unlock", 1, fv_routes_unlock, 0, "");
	runs(EVHTTP_REQ_POST, "/v1/lock", 1, fv_routes_lock, 0, "");
	is_int(find(EVHTTP_REQ_GET, "/v1/appeals", 1), FV_ROUTE_ISLOCKED,
	    "a list while locked: 423");
	is_int(find(EVHTTP_REQ_GET, "/v1/nothing", 1), FV_ROUTE_ISLOCKED,
	    "an unknown path while locked: 423, not 404");
	is_int(find(EVHTTP_REQ_PUT, "/v1/appeals", 1), FV_ROUTE_ISLOCKED,
	    "a wrong method while locked: 423, not 405");
	is_int(find(EVHTTP_REQ_POST, "/v1/status", 1), FV_ROUTE_ISLOCKED,
	    "status with another method while locked: 423");
	for (t = fv_routes_table; t->path != NULL; t++) {
		for (i = 0, listed = 0; open_locked[i] != NULL; i++)
			listed |= strcmp(open_locked[i], t->path) == 0;
		if (!listed != !(t->flags & FV_ROUTE_LOCKED))
			ok(0, "%s: answers locked only if listed", t->path);
		if (!listed)
			is_int(find(t->method, t->path, 1), FV_ROUTE_ISLOCKED,
			    "%s: 423 while locked", t->path);
	}
	return done_testing();
}
