/*
 * routes.h - the control API's resources (docs/api.md): one table of
 * routes, each a method, a path (exact, or a prefix ending in '/') and a
 * handler, answered by the files of its resource (routes_*.c).
 */
#ifndef FV_ROUTES_H
#define FV_ROUTES_H

#include <stddef.h>

#include <event2/http.h>

#include "daemon.h"

#define FV_IMPORT_LINES_MAX 10000 /* records in one import request */

/* rest: what follows a prefix route's prefix ("" for an exact path);
 * arg: the route's arg (a record type, ...). */
typedef void (*fv_route_fn)(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);

#define FV_ROUTE_PREFIX 0x01 /* path is a prefix ending in '/' */
#define FV_ROUTE_LOCKED 0x02 /* answers while the store is locked */
#define FV_ROUTE_IDLE	0x04 /* a probe: not use, keeps no key alive */

struct fv_route {
	enum evhttp_cmd_type method;
	const char *path;
	fv_route_fn fn;
	int arg;
	int flags;
};

/* What a request gets. */
enum fv_route_verdict {
	FV_ROUTE_RUN,	    /* *r's handler */
	FV_ROUTE_NOTFOUND,  /* 404: no route has this path */
	FV_ROUTE_BADMETHOD, /* 405: *r has the path, not the method */
	FV_ROUTE_ISLOCKED   /* 423: the store must be unlocked first */
};

/* The API's routes, ending with a NULL path. */
extern const struct fv_route fv_routes_table[];

/* Looks path and method up in tab: the first route whose path matches
 * names the resource, and the resource's route for the method is *r
 * (*rest what follows a prefix).  A request that does not find a route
 * answering locked gets FV_ROUTE_ISLOCKED while locked is set. */
enum fv_route_verdict fv_routes_find(const struct fv_route *tab,
    enum evhttp_cmd_type method, const char *path, int locked,
    const struct fv_route **r, const char **rest);
/* "GET, PATCH or DELETE": the methods of r's resource. */
void fv_routes_methods(const struct fv_route *tab, const struct fv_route *r,
    char *out, size_t outlen);
/* Answers req from the table. */
void fv_routes_dispatch(struct fvd *d, struct evhttp_request *req);

/* Checks that every parameter of q is one of keys (NULL-ended) and at
 * most 1024 bytes: 0, or -1 after answering 400. */
struct evkeyvalq;
int fv_routes_query_check(struct evhttp_request *req, struct evkeyvalq *q,
    const char *const *keys);
/* The filter of a list or an export of type t: the parameters of q
 * (borrowed), the appeal's id in aid.  -1: "appeal" is not an id. */
int fv_routes_query_filter(struct evkeyvalq *q, enum fv_rtype t,
    struct fv_filter *f, uint8_t aid[FV_ID_BYTES]);

/* The handlers, by resource. */
/* routes_status.c */
void fv_routes_status(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_keys(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg);
void fv_routes_unlock(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_lock(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg);
/* routes_records.c: arg is the record type */
void fv_routes_records_list(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_records_create(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_records_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_record_get(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_record_patch(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_record_delete(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_history(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
/* routes_sync.c: arg of sync is 1 for an enrollment */
void fv_routes_sync(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg);
void fv_routes_bundle_create(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_bundle_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
/* routes_devices.c */
void fv_routes_devices(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_device_invite(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_device_revoke(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
/* routes_plugins.c */
void fv_routes_plugins(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_export(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_exchange_send(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);
void fv_routes_exchange_import(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg);

#endif
