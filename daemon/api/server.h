/*
 * server.h - the control API: HTTP/1.1 + JSON on a Unix socket of mode
 * 0600 (docs/api.md).  Only the owner of the daemon can talk to it.
 */
#ifndef FV_SERVER_H
#define FV_SERVER_H

#include <jansson.h>
#include <event2/http.h>

#include "bundle.h"
#include "daemon.h"

#define FV_API_BODY_MAX	   (8 * 1024 * 1024) /* import chunks */
#define FV_API_HEADERS_MAX (16 * 1024)
#define FV_API_TIMEOUT	   60 /* seconds */

/* Binds the socket named in the config (refusing one a live daemon
 * answers on) and starts serving.  0, or an error with err filled. */
int fv_server_start(struct fvd *d, char *err, size_t errlen);
/* Stops accepting, closes connections, removes the socket. */
void fv_server_stop(struct fvd *d);

/* Sends body (reference taken; NULL: empty object) with this status. */
void fv_server_reply(struct evhttp_request *req, int code, json_t *body);
/* Sends bytes (application/octet-stream) with info (reference taken, may
 * be NULL) as compact JSON in the X-Fieldvault-Info header. */
void fv_server_reply_bytes(struct evhttp_request *req, const uint8_t *p,
    size_t len, json_t *info);
/* Sends {"error": msg, "field": field?}. */
void fv_server_error(struct evhttp_request *req, int code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends {"error": "what: the code's text"} with the code's status. */
void fv_server_error_rc(struct evhttp_request *req, int rc, const char *what);
/* The HTTP status for an FV_E* code. */
int fv_server_status(int rc);

/* The request body, contiguous (never NULL); *len its size. */
char *fv_server_body(struct evhttp_request *req, size_t *len);
/* Record content arrived in the body: wipes it once parsed, and lets its
 * memory go (an import chunk is megabytes). */
void fv_server_body_wipe(struct evhttp_request *req);
/* The body (wiped) as a JSON object of at most max bytes, or NULL after
 * answering 400 or 413. */
json_t *fv_server_body_json(struct evhttp_request *req, size_t max);

#endif
