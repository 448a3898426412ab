#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <sodium.h>
#include <stdlib.h>

#include "buf.h"
#include "fv_error.h"
#include "log.h"
#include "routes.h"
#include "server.h"

int
fv_server_status(int rc)
{
	switch (rc) {
	case 0:
		return 200;
	case FV_EINVAL:
		return 400;
	case FV_EPASS:
		return 401;
	case FV_ENOTFOUND:
	case FV_EDELETED:
		return 404;
	case FV_EEXIST:
		return 409;
	case FV_ETOOBIG:
		return 413;
	case FV_ELOCKED:
		return 423;
	case FV_EBUSY:
		return 429;
	case FV_ENOSPC:
		return 507;
	}
	return 500;
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 423:
		return "Locked";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	}
	return "Internal Server Error";
}

void
fv_server_reply(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *txt;

	if (body == NULL)
		body = json_object();
	txt = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (out != NULL && txt != NULL) {
		evbuffer_add(out, txt, strlen(txt));
		evbuffer_add(out, "\n", 1);
	}
	if (txt != NULL) {
		/* record content: do not leave it in freed heap */
		fv_buf_json_free(txt);
	}
	evhttp_send_reply(req, txt ? code : 500, reason(txt ? code : 500), out);
	if (out != NULL)
		evbuffer_free(out);
}

void
fv_server_reply_bytes(struct evhttp_request *req, const uint8_t *p, size_t len,
    json_t *info)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	char *txt = info ? json_dumps(info, JSON_COMPACT) : NULL;

	evhttp_add_header(h, "Content-Type", "application/octet-stream");
	if (txt != NULL)
		evhttp_add_header(h, "X-Fieldvault-Info", txt);
	fv_buf_json_free(txt);
	json_decref(info);
	if (out == NULL || evbuffer_add(out, p, len) != 0) {
		if (out != NULL)
			evbuffer_free(out);
		fv_server_error(req, 500, NULL, "out of memory");
		return;
	}
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

void
fv_server_error(struct evhttp_request *req, int code, const char *field,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s}", "error", msg);
	if (o != NULL && field != NULL && field[0] != '\0')
		json_object_set_new(o, "field", json_string(field));
	fv_server_reply(req, code, o);
}

void
fv_server_error_rc(struct evhttp_request *req, int rc, const char *what)
{
	fv_server_error(req, fv_server_status(rc), NULL, "%s: %s", what,
	    fv_error_str(rc));
}

char *
fv_server_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *p;

	*len = evbuffer_get_length(in);
	p = (char *)evbuffer_pullup(in, -1);
	return p ? p : "";
}

void
fv_server_body_wipe(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len;
	char *p = fv_server_body(req, &len);

	if (len > 0) {
		sodium_memzero(p, len);
		evbuffer_drain(in, len);
	}
}

json_t *
fv_server_body_json(struct evhttp_request *req, size_t max)
{
	json_error_t je;
	size_t len;
	char *p = fv_server_body(req, &len);
	json_t *j;

	if (len > max) {
		fv_server_body_wipe(req);
		fv_server_error(req, 413, NULL,
		    "body is %zu bytes, at most %zu "
		    "allowed",
		    len, max);
		return NULL;
	}
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
	fv_server_body_wipe(req);
	if (j == NULL)
		fv_server_error(req, 400, NULL,
		    "invalid JSON at line %d column "
		    "%d: %s",
		    je.line, je.column, je.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		fv_server_error(req, 400, NULL, "body must be a JSON object");
	}
	return j;
}

static void
gencb(struct evhttp_request *req, void *arg)
{
	fv_routes_dispatch(arg, req);
}

/* A socket file may be left by a daemon that died: remove it only if no
 * one answers on it. */
static int
claim_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another daemon answers there", path);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
fv_server_start(struct fvd *d, char *err, size_t errlen)
{
	const char *path = d->conf->socket;
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return FV_EINVAL;
	}
	if (claim_path(path, err, errlen) != 0)
		return FV_EIO;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return FV_EIO;
	}
	old = umask(0177); /* the socket is born 0600 */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, 128) != 0) {
		umask(old);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return FV_EIO;
	}
	umask(old);
	if ((d->http = evhttp_new(d->base)) == NULL) {
		close(fd);
		snprintf(err, errlen, "evhttp_new failed");
		return FV_ENOMEM;
	}
	evhttp_set_max_body_size(d->http, FV_API_BODY_MAX);
	evhttp_set_max_headers_size(d->http, FV_API_HEADERS_MAX);
	evhttp_set_timeout(d->http, FV_API_TIMEOUT);
	evhttp_set_allowed_methods(d->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
		EVHTTP_REQ_DELETE);
	evhttp_set_gencb(d->http, gencb, d);
	if (evhttp_accept_socket(d->http, fd) != 0) {
		snprintf(err, errlen, "%s: cannot serve", path);
		close(fd);
		return FV_EIO;
	}
	d->listen_fd = fd;
	return 0;
}

void
fv_server_stop(struct fvd *d)
{
	if (d->http != NULL) {
		evhttp_free(d->http); /* closes the listening socket */
		d->http = NULL;
		unlink(d->conf->socket);
	}
}
