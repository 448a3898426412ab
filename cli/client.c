#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"

#define IO_TIMEOUT_MS (300 * 1000) /* unlock may wait out a delay */

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
parse_response(struct fv_resp *r, char *buf, size_t n)
{
	char *hdr_end = NULL, *p;
	size_t i, clen = (size_t)-1;

	for (i = 0; i + 3 < n; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			hdr_end = buf + i;
			break;
		}
	if (hdr_end == NULL || n < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return -2;
	*hdr_end = '\0';
	r->status = atoi(buf + 9);
	for (p = strstr(buf, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtoul(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "X-Fieldvault-Info:", 18) == 0 &&
		    r->info == NULL) {
			char *v = p + 20, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			r->info = e ? strndup(v, (size_t)(e - v)) : strdup(v);
		}
	}
	p = hdr_end + 4;
	if (clen == (size_t)-1 || clen > (size_t)(buf + n - p))
		clen = (size_t)(buf + n - p);
	if ((r->body = malloc(clen + 1)) == NULL)
		return -2;
	memcpy(r->body, p, clen);
	r->body[clen] = '\0';
	r->len = clen;
	r->json = json_loadb(r->body, clen, JSON_DECODE_ANY, NULL);
	return r->status >= 100 ? 0 : -2;
}

int
fv_http_send(const char *sock, const char *method, const char *path,
    const void *body, size_t len)
{
	struct sockaddr_un sun;
	char head[4096];
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	snprintf(head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: fieldvault\r\n"
	    "Content-Length: %zu\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\n\r\n",
	    method, path, len);
	if (write_all(fd, head, strlen(head)) != 0 ||
	    (len > 0 && write_all(fd, body, len) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
fv_http_recv(int fd, struct fv_resp *r)
{
	struct pollfd pfd;
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0;
	ssize_t got;
	int rc = -2;

	memset(r, 0, sizeof(*r));
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 65536;

			if (c > FV_RESP_MAX || (nb = malloc(c)) == NULL)
				goto out;
			if (buf != NULL) {
				memcpy(nb, buf, n);
				sodium_memzero(buf, cap);
				free(buf);
			}
			buf = nb;
			cap = c;
		}
		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0) {
			errno = ETIMEDOUT;
			goto out;
		}
		if ((got = read(fd, buf + n, cap - n)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	rc = parse_response(r, buf, n);
out:
	if (buf != NULL) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	close(fd);
	return rc;
}

int
fv_http(const char *sock, const char *method, const char *path,
    const void *body, size_t len, struct fv_resp *r)
{
	int fd;

	memset(r, 0, sizeof(*r));
	if ((fd = fv_http_send(sock, method, path, body, len)) < 0)
		return -1;
	return fv_http_recv(fd, r);
}

void
fv_resp_free(struct fv_resp *r)
{
	if (r->body != NULL) {
		sodium_memzero(r->body, r->len);
		free(r->body);
	}
	json_decref(r->json);
	free(r->info);
	memset(r, 0, sizeof(*r));
}

void
fv_query_add(char *path, size_t n, const char *key, const char *val)
{
	size_t at = strlen(path);
	const unsigned char *v = (const unsigned char *)val;

	if (val == NULL)
		return;
	at += (size_t)snprintf(path + at, n - at,
	    "%s%s=", strchr(path, '?') ? "&" : "?", key);
	for (; *v != '\0' && at + 4 < n; v++) {
		if (isalnum(*v) || *v == '-' || *v == '_' || *v == '.')
			path[at++] = (char)*v;
		else
			at += (size_t)snprintf(path + at, n - at, "%%%02X", *v);
	}
	path[at < n ? at : n - 1] = '\0';
}

/* --- streamed answers (export) ------------------------------------------- */

struct rd {
	int fd;
	char buf[65536];
	size_t at, len;
};

/* Up to n bytes of the answer (at least 1), or 0 at EOF, -1 on error. */
static ssize_t
rd_some(struct rd *r, char *out, size_t n)
{
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	ssize_t got;

	if (r->at == r->len) {
		for (;;) {
			if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if ((got = read(r->fd, r->buf, sizeof(r->buf))) >= 0)
				break;
			if (errno != EINTR)
				return -1;
		}
		if (got == 0)
			return 0;
		r->at = 0;
		r->len = (size_t)got;
	}
	if (n > r->len - r->at)
		n = r->len - r->at;
	memcpy(out, r->buf + r->at, n);
	r->at += n;
	return (ssize_t)n;
}

/* A line ending in CRLF (at most n - 1 bytes, NUL-terminated). */
static int
rd_line(struct rd *r, char *out, size_t n)
{
	size_t i = 0;
	char ch;

	for (;;) {
		if (rd_some(r, &ch, 1) != 1 || i + 1 >= n)
			return -1;
		if (ch == '\n')
			break;
		out[i++] = ch;
	}
	if (i > 0 && out[i - 1] == '\r')
		i--;
	out[i] = '\0';
	return 0;
}

static int
rd_copy(struct rd *r, size_t n, int outfd)
{
	char b[65536];
	ssize_t got;

	while (n > 0) {
		if ((got = rd_some(r, b, n < sizeof(b) ? n : sizeof(b))) <= 0)
			return -1;
		if (write_all(outfd, b, (size_t)got) != 0) {
			sodium_memzero(b, sizeof(b));
			return -4;
		}
		n -= (size_t)got;
	}
	sodium_memzero(b, sizeof(b));
	return 0;
}

int
fv_http_stream(const char *sock, const char *path, int outfd, struct fv_resp *r)
{
	struct rd *rd;
	char line[8192], *body = NULL;
	size_t clen = (size_t)-1, n = 0;
	int fd, chunked = 0, rc = -2;
	unsigned long sz;

	memset(r, 0, sizeof(*r));
	if ((fd = fv_http_send(sock, "GET", path, NULL, 0)) < 0)
		return -1;
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		close(fd);
		return -2;
	}
	rd->fd = fd;
	if (rd_line(rd, line, sizeof(line)) != 0 ||
	    strncmp(line, "HTTP/1.", 7) != 0)
		goto out;
	r->status = atoi(line + 9);
	for (;;) {
		if (rd_line(rd, line, sizeof(line)) != 0)
			goto out;
		if (line[0] == '\0')
			break;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtoul(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strstr(line + 18, "chunked") != NULL)
			chunked = 1;
	}
	if (r->status != 200) {
		/* an error: a small JSON body, read whole */
		if (clen == (size_t)-1 || clen > 65536 ||
		    (body = malloc(clen + 1)) == NULL)
			goto out;
		while (n < clen) {
			ssize_t got = rd_some(rd, body + n, clen - n);

			if (got <= 0)
				break;
			n += (size_t)got;
		}
		body[n] = '\0';
		r->body = body;
		r->len = n;
		r->json = json_loadb(body, n, 0, NULL);
		rc = 0;
		goto out;
	}
	if (!chunked) {
		rc = clen == (size_t)-1		  ? -3 :
		    rd_copy(rd, clen, outfd) == 0 ? 0 :
						    -3;
		goto out;
	}
	/* chunked: the answer is whole only with its last, empty chunk */
	for (;;) {
		if (rd_line(rd, line, sizeof(line)) != 0) {
			rc = -3;
			break;
		}
		sz = strtoul(line, NULL, 16);
		if (sz == 0) {
			rc = 0;
			break;
		}
		if ((rc = rd_copy(rd, sz, outfd)) != 0 ||
		    rd_line(rd, line, sizeof(line)) != 0) {
			rc = rc == -4 ? -4 : -3;
			break;
		}
	}
out:
	sodium_memzero(rd, sizeof(*rd));
	free(rd);
	close(fd);
	return rc;
}
