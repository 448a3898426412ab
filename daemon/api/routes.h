/*
 * routes.h - the control API's resources (docs/api.md).
 */
#ifndef FV_ROUTES_H
#define FV_ROUTES_H

#include <event2/http.h>

#include "daemon.h"

#define FV_IMPORT_LINES_MAX	10000	/* records in one import request */

void	fv_routes_dispatch(struct fvd *d, struct evhttp_request *req);

#endif
