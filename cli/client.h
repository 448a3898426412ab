/*
 * client.h - the CLI's side of the control API: one HTTP/1.1 request per
 * connection over the daemon's Unix socket.
 */
#ifndef FV_CLIENT_H
#define FV_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define FV_RESP_MAX ((size_t)1 << 30) /* bytes of a response */

struct fv_resp {
	int status; /* HTTP status */
	char *body; /* NUL-terminated */
	size_t len;
	json_t *json; /* parsed body, or NULL */
	char *info;   /* X-Fieldvault-Info, or NULL */
};

/* Sends the request and reads the whole answer.  Returns 0, or -1 when the
 * daemon cannot be reached (errno set), or -2 on a malformed answer. */
int fv_http(const char *sock, const char *method, const char *path,
    const void *body, size_t len, struct fv_resp *r);
/* The same in two halves, so that a client can keep two requests in
 * flight: send returns the connection (or -1), recv reads the answer and
 * closes it. */
int fv_http_send(const char *sock, const char *method, const char *path,
    const void *body, size_t len);
int fv_http_recv(int fd, struct fv_resp *r);
/* GET path and write the body of a 200 answer to outfd as it comes.
 * Returns 0 with r->status 200 when the whole body was written; 0 with
 * another status and r->body/json holding the error; -1 daemon not
 * reachable, -2 malformed answer, -3 the answer was cut off (the daemon
 * failed half way), -4 writing to outfd failed (errno set). */
int fv_http_stream(const char *sock, const char *path, int outfd,
    struct fv_resp *r);
/* Wipes (records are plaintext here) and frees the response. */
void fv_resp_free(struct fv_resp *r);
/* Appends "&key=value" (URL-encoded) to a path buffer of size n. */
void fv_query_add(char *path, size_t n, const char *key, const char *val);

#endif
