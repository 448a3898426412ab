#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "client.h"
#include "buf.h"
#include "bundle.h"
#include "fv_error.h"
#include "op.h"
#include "record.h"
#include "secmem.h"
#include "store.h"
#include "vault.h"

/* --- talking to the daemon ------------------------------------------- */

/* Sends a request; on failure prints why and returns the exit code.  On
 * success (2xx) r holds the answer and 0 is returned. */
int
cli_answer(struct cli *c, int rc, struct fv_resp *r)
{
	const char *msg;

	if (rc == -1) {
		fprintf(stderr,
		    "fieldvault: error: daemon not reachable at "
		    "%s: %s\n",
		    c->conf->socket, strerror(errno));
		return EX_NODAEMON;
	}
	if (rc != 0) {
		fv_resp_free(r);
		return cli_fail("malformed answer from the daemon");
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	msg = json_string_value(json_object_get(r->json, "error"));
	fprintf(stderr, "fieldvault: error: %s\n",
	    msg ? msg :
		  "request "
		  "refused");
	rc = r->status == 423 ? EX_LOCKED : EX_FAIL;
	fv_resp_free(r);
	return rc;
}

int
cli_call(struct cli *c, const char *method, const char *path, const void *body,
    size_t len, struct fv_resp *r)
{
	return cli_answer(c,
	    fv_http(c->conf->socket, method, path, body, len, r), r);
}

int
cli_post_json(struct cli *c, const char *path, json_t *body, struct fv_resp *r)
{
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	json_decref(body);
	if (txt == NULL)
		return cli_fail("out of memory");
	rc = cli_call(c, "POST", path, txt, strlen(txt), r);
	fv_buf_json_free(txt);
	return rc;
}

void
cli_print_json(const json_t *j)
{
	char *s = json_dumps(j,
	    JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (s != NULL) {
		puts(s);
		fv_buf_json_free(s);
	}
}

/* --- passphrases ------------------------------------------------------- */

static int
read_tty(const char *prompt, uint8_t *buf, size_t *len)
{
	struct termios old, noecho;
	FILE *tty = fopen("/dev/tty", "r+e");
	int c;
	size_t n = 0;

	if (tty == NULL)
		return -1;
	fputs(prompt, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	while ((c = fgetc(tty)) != EOF && c != '\n')
		if (n <= FV_PASS_MAX)
			buf[n++] = (uint8_t)c;
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	*len = n;
	return 0;
}

/* The passphrase, from --passphrase-file, $FIELDVAULT_PASSPHRASE or the
 * terminal (asked twice when confirm).  Secret memory, caller frees. */
static int
get_passphrase(struct cli *c, int confirm, uint8_t **out, size_t *len)
{
	uint8_t *p = fv_secmem_alloc(FV_PASS_MAX + 1), *q = NULL;
	const char *env = getenv("FIELDVAULT_PASSPHRASE");
	size_t n = 0, m;

	if (p == NULL)
		return cli_fail("out of secure memory");
	if (c->passfile != NULL) {
		if (fv_vault_passfile_read(c->passfile, p, &n) == FV_EIO) {
			fv_secmem_free(p);
			return cli_fail("%s: %s", c->passfile, strerror(errno));
		}
	} else if (env != NULL) {
		n = strlen(env);
		if (n <= FV_PASS_MAX)
			memcpy(p, env, n);
	} else {
		if (read_tty("passphrase: ", p, &n) != 0) {
			fv_secmem_free(p);
			return cli_fail("no passphrase: use --passphrase-file, "
					"FIELDVAULT_PASSPHRASE or a terminal");
		}
		if (confirm) {
			if ((q = fv_secmem_alloc(FV_PASS_MAX + 1)) == NULL ||
			    read_tty("again: ", q, &m) != 0 || m != n ||
			    sodium_memcmp(p, q, n) != 0) {
				fv_secmem_free(p);
				fv_secmem_free(q);
				return cli_fail("the passphrases differ");
			}
			fv_secmem_free(q);
		}
	}
	if (n == 0 || n > FV_PASS_MAX) {
		fv_secmem_free(p);
		return cli_fail("passphrase must be 1..%d bytes", FV_PASS_MAX);
	}
	*out = p;
	*len = n;
	return 0;
}

/* --- init, unlock, lock, status ------------------------------------------ */

int
cmd_init(struct cli *c)
{
	struct fv_resp r;
	uint8_t *pass;
	size_t len;
	int rc;

	if (fv_http(c->conf->socket, "GET", "/v1/status", NULL, 0, &r) == 0) {
		fv_resp_free(&r);
		return cli_fail("a daemon is running on %s: stop it first",
		    c->conf->socket);
	}
	if ((rc = get_passphrase(c, 1, &pass, &len)) != 0)
		return rc;
	if (len < FV_PASS_MIN) {
		fv_secmem_free(pass);
		return cli_fail("passphrase must be at least %d bytes",
		    FV_PASS_MIN);
	}
	rc = fv_store_init(c->conf->data_dir, c->conf->role, c->conf->name,
	    (const char *)pass, len);
	fv_secmem_free(pass);
	if (rc == FV_EEXIST)
		return cli_fail("%s already holds a store; refusing to "
				"overwrite it",
		    c->conf->data_dir);
	if (rc != 0)
		return cli_fail("init %s: %s", c->conf->data_dir,
		    fv_error_str(rc));
	if (c->json)
		printf(
		    "{\"data_dir\":\"%s\",\"role\":\"%s\",\"name\":\"%s\"}\n",
		    c->conf->data_dir, c->conf->role, c->conf->name);
	else
		printf("initialised %s '%s' in %s\n", c->conf->role,
		    c->conf->name, c->conf->data_dir);
	return EX_DONE;
}

int
cmd_unlock(struct cli *c)
{
	struct fv_resp r;
	uint8_t *pass;
	size_t len;
	int rc;

	if ((rc = get_passphrase(c, 0, &pass, &len)) != 0)
		return rc;
	rc = cli_call(c, "POST", "/v1/unlock", pass, len, &r);
	fv_secmem_free(pass);
	if (rc != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("unlocked\n");
	fv_resp_free(&r);
	return EX_DONE;
}

int
cmd_lock(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = cli_call(c, "POST", "/v1/lock", NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("locked\n");
	fv_resp_free(&r);
	return EX_DONE;
}

int
cmd_status(struct cli *c)
{
	static const char *keys[] = { "role", "name", "device_id", "locked",
		"appeals", "notes", "pending", "last_sync", NULL };
	struct fv_resp r;
	int rc, i;

	if ((rc = cli_call(c, "GET", "/v1/status", NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else {
		json_t *rc_ = json_object_get(r.json, "receipt");

		for (i = 0; keys[i] != NULL; i++) {
			json_t *v = json_object_get(r.json, keys[i]);
			char *s = v && !json_is_null(v) ?
			    json_dumps(v, JSON_ENCODE_ANY) :
			    NULL;
			const char *txt = json_is_string(v) ?
			    json_string_value(v) :
			    s ? s :
				"-";

			printf("%-10s %s\n", keys[i], txt);
			fv_buf_json_free(s);
		}
		/* what a seized laptop would hold, and why */
		if (json_object_get(r.json, "retention") != NULL)
			printf("%-10s %s (%lld purged after HQ's receipts)\n",
			    "retention",
			    json_string_value(json_object_get(r.json,
				"retention")),
			    (long long)json_integer_value(
				json_object_get(r.json, "purged")));
		if (rc_ != NULL)
			printf("%-10s HQ holds our ops up to #%lld (signed "
			       "%s)\n",
			    "receipt",
			    (long long)json_integer_value(json_object_get(rc_,
				"up_to")),
			    json_string_value(json_object_get(rc_, "at")));
	}
	fv_resp_free(&r);
	return EX_DONE;
}

/* sync, and enroll TOKEN: the same request but for the token */
int
cmd_sync(struct cli *c)
{
	int enroll = strcmp(c->cmd->name, "enroll") == 0;
	const char *tok = enroll ? c->args[0] : NULL;
	struct fv_resp r;
	int rc;

	if ((rc = cli_call(c, "POST", enroll ? "/v1/enroll" : "/v1/sync", tok,
		 tok ? strlen(tok) : 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else if (enroll)
		printf("enrolled with HQ '%s'; %lld ops sent\n",
		    json_string_value(json_object_get(r.json, "hq")),
		    (long long)json_integer_value(json_object_get(r.json,
			"up")));
	else
		printf("synced with HQ '%s': %lld ops up, %lld down; HQ holds "
		       "everything up to #%lld%s\n",
		    json_string_value(json_object_get(r.json, "hq")),
		    (long long)json_integer_value(json_object_get(r.json,
			"up")),
		    (long long)json_integer_value(json_object_get(r.json,
			"down")),
		    (long long)json_integer_value(json_object_get(r.json,
			"acked")),
		    json_integer_value(json_object_get(r.json, "purged")) > 0 ?
			"; purged what HQ holds" :
			"");
	fv_resp_free(&r);
	return EX_DONE;
}

/* --- devices (HQ) ------------------------------------------------------- */

int
cmd_device_invite(struct cli *c)
{
	struct fv_resp r;
	json_t *j;
	int rc;

	j = json_pack("{s:s}", "name", c->args[0]);
	if (j != NULL && c->assigned_to != NULL)
		json_object_set_new(j, "assigned_to",
		    json_string(c->assigned_to));
	if ((rc = cli_post_json(c, "/v1/devices/invite", j, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("%s\n",
		    json_string_value(json_object_get(r.json, "token")));
	fv_resp_free(&r);
	return EX_DONE;
}

int
cmd_device_list(struct cli *c)
{
	struct fv_resp r;
	json_t *d;
	size_t i;
	int rc;

	if ((rc = cli_call(c, "GET", "/v1/devices", NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else {
		printf("%-32s %-6s %-20s %-16s %s\n", "ID", "ROLE", "NAME",
		    "GROUP", "STATE");
		json_array_foreach(r.json, i, d)
			printf("%-32s %-6s %-20s %-16s %s\n",
			    json_string_value(json_object_get(d, "id")),
			    json_string_value(json_object_get(d, "role")),
			    json_string_value(json_object_get(d, "name")),
			    json_string_value(json_object_get(d, "group")) ?:
									     "",
			    json_is_true(json_object_get(d, "revoked")) ?
				"revoked" :
				"active");
	}
	fv_resp_free(&r);
	return EX_DONE;
}

int
cmd_device_revoke(struct cli *c)
{
	struct fv_resp r;
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "/v1/devices/%.40s/revoke", c->args[0]);
	if ((rc = cli_call(c, "POST", path, NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("revoked %s\n", c->args[0]);
	fv_resp_free(&r);
	return EX_DONE;
}

/* Writes len bytes to path whole or not at all: a temporary file in the
 * same directory (0600), synced, renamed over path. */
int
write_atomic(const char *path, const void *p, size_t len)
{
	char tmp[PATH_MAX];
	const char *b = p;
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
		(long)getpid()) >= sizeof(tmp))
		return cli_fail("%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return cli_fail("%s: %s", tmp, strerror(errno));
	while (off < len) {
		if ((n = write(fd, b + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fsync(fd) != 0 || close(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return cli_fail("%s: %s", path, strerror(e));
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return cli_fail("%s: %s", path, strerror(e));
	}
	return EX_DONE;
}

int
write_answer(struct cli *c, const struct fv_resp *r, json_t **info)
{
	int rc;

	*info = NULL;
	if ((rc = write_atomic(c->out, r->body, r->len)) != EX_DONE)
		return rc;
	*info = r->info ? json_loads(r->info, 0, NULL) : NULL;
	if (c->json)
		cli_print_json(*info);
	return EX_DONE;
}

#define BUNDLE_PART ((size_t)4 << 20) /* bytes a request */

int
cmd_bundle_create(struct cli *c)
{
	struct fv_resp r;
	json_t *info;
	int rc;

	info = c->for_dev ? json_pack("{s:s}", "for", c->for_dev) :
			    json_object();
	if ((rc = cli_post_json(c, "/v1/bundle/create", info, &r)) != 0)
		return rc;
	if ((rc = write_answer(c, &r, &info)) == EX_DONE && !c->json)
		printf("wrote %s: %lld ops for '%s' (%zu bytes, sealed to it "
		       "and signed)\n",
		    c->out,
		    (long long)json_integer_value(json_object_get(info, "ops")),
		    json_string_value(json_object_get(info, "to")) ?: "?",
		    r.len);
	json_decref(info);
	fv_resp_free(&r);
	return rc;
}

int
cmd_bundle_import(struct cli *c)
{
	struct fv_resp r;
	char *buf, path[96];
	size_t len, off, n, part;
	int rc;

	if ((rc = read_input(c->args[0], FV_BUNDLE_MAX, &buf, &len)) != 0)
		return rc;
	/* in parts of at most a request body, in order (tests make them
	 * small) */
	part = BUNDLE_PART;
	if (getenv("FIELDVAULT_BUNDLE_PART") != NULL &&
	    (part = strtoul(getenv("FIELDVAULT_BUNDLE_PART"), NULL, 10)) == 0)
		part = BUNDLE_PART;
	for (off = 0, rc = 0; rc == 0; off += n) {
		n = len - off < part ? len - off : part;
		snprintf(path, sizeof(path),
		    "/v1/bundle/import?size=%zu&"
		    "offset=%zu",
		    len, off);
		if ((rc = cli_call(c, "POST", path, buf + off, n, &r)) != 0 ||
		    off + n == len)
			break;
		fv_resp_free(&r);
	}
	free_input(buf, len);
	if (rc != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("imported a bundle from '%s': %lld ops, %lld new%s\n",
		    json_string_value(json_object_get(r.json, "from")),
		    (long long)json_integer_value(json_object_get(r.json,
			"ops")),
		    (long long)json_integer_value(json_object_get(r.json,
			"applied")),
		    json_integer_value(json_object_get(r.json, "purged")) > 0 ?
			"; purged what HQ holds" :
			"");
	fv_resp_free(&r);
	return EX_DONE;
}
