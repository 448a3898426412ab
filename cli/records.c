/*
 * records.c - appeal and note commands, and history.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "fv_error.h"
#include "op.h"
#include "par.h"
#include "record.h"

#define IMPORT_CHUNK_LINES 1000
#define IMPORT_CHUNK_BYTES (4 * 1024 * 1024)
#define IMPORT_IN_FLIGHT   2
#define INPUT_MAX	   ((size_t)1 << 30) /* bytes of an import */

/* Reads FILE or stdin ("-") whole, at most max bytes. */
int
read_input(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return cli_fail("%s: %s", path, strerror(errno));
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return cli_fail("%s: out of memory", path);
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > max) {
			free(buf);
			if (f != stdin)
				fclose(f);
			return cli_fail("%s: larger than %zu bytes", path, max);
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		if (f != stdin)
			fclose(f);
		return cli_fail("%s: read error", path);
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

void
free_input(char *buf, size_t len)
{
	sodium_memzero(buf, len);
	free(buf);
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Prints s in a column of width code points (cut with "…" if longer). */
static void
col(const char *s, int width)
{
	size_t n = strlen(s), chars = fv_record_utf8_chars(s, n), i, k = 0;

	if ((int)chars <= width) {
		printf("%s%*s", s, width - (int)chars + 1, "");
		return;
	}
	for (i = 0; i < n && (int)k < width - 1; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
		i++;
	printf("%.*s… ", (int)i, s);
}

static void
print_table(const json_t *arr, int appeal)
{
	size_t i;
	json_t *r;

	if (appeal)
		printf("%-32s %-17s %-7s %-21s %-10s %s\n", "ID", "STATUS",
		    "COUNTRY", "CATEGORY", "RECEIVED", "NAME");
	else
		printf("%-32s %-32s %-10s %s\n", "ID", "APPEAL", "CREATED",
		    "TEXT");
	json_array_foreach(arr, i, r) {
		printf("%s ", str(r, "id"));
		if (appeal) {
			col(str(r, "status"), 17);
			col(str(r, "concerns_country"), 7);
			col(str(r, "category"), 21);
			printf("%-10.10s ", str(r, "received_at"));
			printf("%s",
			    str(json_object_get(r, "applicant"), "full_name"));
		} else {
			col(str(r, "appeal_id")[0] ? str(r, "appeal_id") : "-",
			    32);
			printf("%-10.10s ", str(r, "created_at"));
			col(str(r, "text"), 60);
		}
		printf("\n");
	}
	printf("(%zu %s%s)\n", json_array_size(arr), appeal ? "appeal" : "note",
	    json_array_size(arr) == 1 ? "" : "s");
}

struct cline {
	const char *p;
	size_t len, lineno;
	char msg[320]; /* empty: the line is good */
};

struct check {
	struct cline *v;
	size_t n, cap;
	enum fv_rtype t;
};

static void
check_range(void *arg, size_t lo, size_t hi, int worker)
{
	struct check *c = arg;
	struct fv_verr e;
	json_error_t je;
	json_t *j;
	size_t i;

	for (i = lo; i < hi; i++) {
		struct cline *l = &c->v[i];

		if ((j = json_loadb(l->p, l->len, JSON_REJECT_DUPLICATES,
			 &je)) == NULL) {
			snprintf(l->msg, sizeof(l->msg),
			    "invalid JSON at "
			    "column %d: %s",
			    je.column, je.text);
			continue;
		}
		memset(&e, 0, sizeof(e));
		if (fv_record_check(j, c->t, &e) != 0)
			snprintf(l->msg, sizeof(l->msg), "%s: %s", e.field,
			    e.msg);
		json_decref(j);
	}
}

/* Reads the answer to the oldest chunk in flight. */
static int
import_answer(struct cli *c, int *fly, int *nfly, size_t *sent)
{
	struct fv_resp r;
	int rc = cli_answer(c, fv_http_recv(fly[0], &r), &r);

	fly[0] = fly[1];
	(*nfly)--;
	if (rc == 0) {
		*sent += (size_t)json_integer_value(json_object_get(r.json,
		    "count"));
		fv_resp_free(&r);
	}
	return rc;
}

/* Checks every line locally first, so that a bad line writes nothing,
 * then sends chunks; each chunk is one durable group on the daemon. */
static int
import(struct cli *c, const char *type, const char *file)
{
	struct fv_resp r;
	enum fv_rtype t = strcmp(type, "appeal") == 0 ? FV_RTYPE_APPEAL :
							FV_RTYPE_NOTE;
	struct check chk;
	char *buf, *p, *end, *nl, *chunk, path[64];
	size_t len, lineno = 0, total, sent = 0, lines = 0, i;
	int rc, progress = isatty(STDERR_FILENO), fly[2], nfly = 0;

	if ((rc = read_input(file, INPUT_MAX, &buf, &len)) != 0)
		return rc;
	memset(&chk, 0, sizeof(chk));
	chk.t = t;
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (strspn(p, " \t\r") >= (size_t)(nl - p))
			continue;
		if (chk.n == chk.cap) {
			struct cline *v = realloc(chk.v,
			    (chk.cap ? chk.cap * 2 : 1024) * sizeof(*v));

			if (v == NULL) {
				free(chk.v);
				free_input(buf, len);
				return cli_fail("out of memory");
			}
			chk.v = v;
			chk.cap = chk.cap ? chk.cap * 2 : 1024;
		}
		memset(&chk.v[chk.n], 0, sizeof(chk.v[0]));
		chk.v[chk.n].p = p;
		chk.v[chk.n].len = (size_t)(nl - p);
		chk.v[chk.n++].lineno = lineno;
	}
	fv_par_run(chk.n, check_range, &chk);
	for (i = 0; i < chk.n; i++)
		if (chk.v[i].msg[0] != '\0') {
			rc = cli_fail("%s: line %zu: %s; nothing imported",
			    file, chk.v[i].lineno, chk.v[i].msg);
			free(chk.v);
			free_input(buf, len);
			return rc;
		}
	total = chk.n;
	free(chk.v);
	/* IMPORT_IN_FLIGHT chunks at a time: two would let the daemon read
	 * the next while it commits this one (8% faster here), at the cost
	 * of a second chunk in the daemon's memory (11 MiB more RSS) */
	snprintf(path, sizeof(path), "/v1/%ss/import", type);
	for (p = chunk = buf; p <= end && rc == 0; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (strspn(p, " \t\r") < (size_t)(nl - p))
			lines++;
		if (nl < end && lines < IMPORT_CHUNK_LINES &&
		    (size_t)(nl - chunk) < IMPORT_CHUNK_BYTES)
			continue;
		if (lines > 0) {
			if (nfly == IMPORT_IN_FLIGHT)
				rc = import_answer(c, fly, &nfly, &sent);
			if (rc == 0 &&
			    (fly[nfly] = fv_http_send(c->conf->socket, "POST",
				 path, chunk, (size_t)(nl - chunk))) < 0)
				rc = cli_answer(c, -1, &r);
			else if (rc == 0)
				nfly++;
			if (progress)
				fprintf(stderr, "\rimport: %zu/%zu %ss", sent,
				    total, type);
		}
		chunk = nl + 1;
		lines = 0;
		if (nl == end)
			break;
	}
	while (nfly > 0) {
		int rc2 = import_answer(c, fly, &nfly, &sent);

		if (rc == 0)
			rc = rc2;
	}
	if (rc != 0) {
		free_input(buf, len);
		fprintf(stderr,
		    "fieldvault: %zu of %zu %ss were imported before "
		    "the failure\n",
		    sent, total, type);
		return rc;
	}
	if (progress)
		fprintf(stderr, "\n");
	free_input(buf, len);
	if (c->json)
		printf("{\"count\":%zu}\n", sent);
	else
		printf("%zu\n", sent);
	return EX_DONE;
}

/* method on /v1/TYPEs, or /v1/TYPEs/ID when id is not NULL; the body is
 * FILE's content (or stdin's) when file is not NULL. */
static int
call_record(struct cli *c, const char *method, const char *id, const char *file,
    struct fv_resp *r)
{
	char path[128], *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "/v1/%ss%s%s", c->cmd->name, id ? "/" : "",
	    id ? id : "");
	if (file != NULL &&
	    (rc = read_input(file, FV_RECORD_MAX, &buf, &len)) != 0)
		return rc;
	rc = cli_call(c, method, path, buf, len, r);
	if (buf != NULL)
		free_input(buf, len);
	return rc;
}

/* appeal|note add FILE|- */
int
cmd_record_add(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = call_record(c, "POST", NULL, c->args[0], &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("%s\n", str(r.json, "id"));
	fv_resp_free(&r);
	return EX_DONE;
}

/* appeal|note update ID FILE|- */
int
cmd_record_update(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = call_record(c, "PATCH", c->args[0], c->args[1], &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("%s %s\n",
		    json_is_true(json_object_get(r.json, "changed")) ?
			"updated" :
			"unchanged",
		    c->args[0]);
	fv_resp_free(&r);
	return EX_DONE;
}

/* appeal|note get ID */
int
cmd_record_get(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = call_record(c, "GET", c->args[0], NULL, &r)) != 0)
		return rc;
	cli_print_json(r.json);
	fv_resp_free(&r);
	return EX_DONE;
}

/* appeal|note delete ID */
int
cmd_record_delete(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = call_record(c, "DELETE", c->args[0], NULL, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("deleted %s\n", c->args[0]);
	fv_resp_free(&r);
	return EX_DONE;
}

/* appeal list [filters], note list [--appeal ID]: the table says which
 * filters each takes, so only those can be set. */
int
cmd_record_list(struct cli *c)
{
	struct fv_resp r;
	char path[8192];
	int rc;

	snprintf(path, sizeof(path), "/v1/%ss", c->cmd->name);
	cli_cmd_query(c, path, sizeof(path));
	if ((rc = cli_call(c, "GET", path, NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		print_table(r.json, strcmp(c->cmd->name, "appeal") == 0);
	fv_resp_free(&r);
	return EX_DONE;
}

/* appeal|note import FILE|- */
int
cmd_record_import(struct cli *c)
{
	return import(c, c->cmd->name, c->args[0]);
}

int
cmd_history(struct cli *c)
{
	struct fv_resp r;
	char path[128];
	size_t i;
	json_t *h;
	int rc;

	snprintf(path, sizeof(path), "/v1/history/%s", c->args[0]);
	if ((rc = cli_call(c, "GET", path, NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		json_array_foreach(r.json, i, h) {
			const char *k;
			json_t *v;

			if (json_is_true(json_object_get(h, "shredded"))) {
				printf("%-20s %-20s #%-6lld (content destroyed "
				       "by delete)\n",
				    "-", str(h, "device"),
				    (long long)json_integer_value(
					json_object_get(h, "seq")));
				continue;
			}
			printf("%-20s %-20s #%-6lld %-7s", str(h, "at"),
			    str(h, "device_name"),
			    (long long)json_integer_value(json_object_get(h,
				"seq")),
			    str(h, "op"));
			json_object_foreach(json_object_get(h, "fields"), k, v)
				printf(" %s%s", k,
				    json_is_null(v) ? "(removed)" : "");
			printf("\n");
		}
	fv_resp_free(&r);
	return EX_DONE;
}
