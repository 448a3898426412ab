/*
 * plugins.c - the commands that run plugins: export, plugin list,
 * exchange send | import, and keys show.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "cli.h"
#include "client.h"

#define PACKAGE_MAX (8 * 1024 * 1024) /* the daemon's body limit */

/* --- export ------------------------------------------------------------------ */

int
cmd_export(struct cli *c)
{
	char path[8192], tmp[PATH_MAX];
	struct fv_resp r;
	int fd = STDOUT_FILENO, rc, ex;

	snprintf(path, sizeof(path), "/v1/export");
	cli_cmd_query(c, path, sizeof(path));
	if (c->json)
		fv_query_add(path, sizeof(path), "json", "1");
	if (c->out != NULL) {
		/* whole or not at all: a temporary file renamed at the end */
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", c->out,
			(long)getpid()) >= sizeof(tmp))
			return cli_fail("%s: path too long", c->out);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			 0600)) < 0)
			return cli_fail("%s: %s", tmp, strerror(errno));
	}
	rc = fv_http_stream(c->conf->socket, path, fd, &r);
	if (rc == 0 && r.status == 200 && c->out != NULL &&
	    (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, c->out) != 0)) {
		ex = cli_fail("%s: %s", c->out, strerror(errno));
		unlink(tmp);
		fv_resp_free(&r);
		return ex;
	}
	if (c->out != NULL && (rc != 0 || r.status != 200)) {
		close(fd);
		unlink(tmp); /* nothing half written is left */
	}
	if (rc == -3 || rc == -2)
		ex = cli_fail("export cut off: the daemon failed half way (see "
			      "its log)%s",
		    c->out ? "; nothing written" : "");
	else if (rc == -4)
		ex = cli_fail("%s: %s", c->out ? c->out : "standard output",
		    strerror(errno));
	else
		ex = cli_answer(c, rc, &r);
	fv_resp_free(&r);
	return ex;
}

/* --- plugin list ----------------------------------------------------------------- */

static void
print_kinds(json_t *k, char *out, size_t n)
{
	json_t *v;
	size_t i, at = 0;

	out[0] = '\0';
	json_array_foreach(k, i, v)
		at += (size_t)snprintf(out + at, at < n ? n - at : 0, "%s%s",
		    i ? "," : "", json_string_value(v));
}

int
cmd_plugin_list(struct cli *c)
{
	struct fv_resp r;
	json_t *p;
	char kinds[64];
	size_t i;
	int rc;

	if ((rc = cli_call(c, "GET", "/v1/plugins", NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(json_object_get(r.json, "plugins"));
	else {
		printf("%-16s %-10s %-24s %-5s %s\n", "NAME", "VERSION",
		    "KINDS", "ABI", "STATE");
		json_array_foreach(json_object_get(r.json, "plugins"), i, p) {
			const char *st = json_string_value(json_object_get(p,
			    "state"));

			print_kinds(json_object_get(p, "kinds"), kinds,
			    sizeof(kinds));
			if (st != NULL && strcmp(st, "refused") == 0)
				printf("%-16s %-10s %-24s %-5s refused: %s\n",
				    json_string_value(json_object_get(p,
					"name")),
				    "-", "-", "-",
				    json_string_value(json_object_get(p,
					"reason")));
			else
				printf("%-16s %-10s %-24s %-5s %s\n",
				    json_string_value(json_object_get(p,
					"name")),
				    json_string_value(json_object_get(p,
					"version")),
				    kinds,
				    json_string_value(json_object_get(p,
					"abi")),
				    st ? st : "");
		}
	}
	fv_resp_free(&r);
	return EX_DONE;
}

/* --- exchange ---------------------------------------------------------------------- */

int
cmd_exchange_send(struct cli *c)
{
	struct fv_resp r;
	json_t *body, *ids, *info;
	int i, rc;

	if ((ids = json_array()) == NULL)
		return cli_fail("out of memory");
	for (i = 0; i < c->nargs; i++)
		json_array_append_new(ids, json_string(c->args[i]));
	body = json_pack("{s:s, s:o}", "partner", c->partner, "ids", ids);
	if (body != NULL && c->format != NULL)
		json_object_set_new(body, "format", json_string(c->format));
	if ((rc = cli_post_json(c, "/v1/exchange/send", body, &r)) != 0)
		return rc;
	if ((rc = write_answer(c, &r, &info)) == EX_DONE && !c->json)
		printf("wrote %s for %s: %lld appeals, %lld replies (%zu "
		       "bytes, sealed to the partner and signed)\n",
		    c->out, c->partner,
		    (long long)json_integer_value(json_object_get(info,
			"appeals")),
		    (long long)json_integer_value(json_object_get(info,
			"replies")),
		    r.len);
	json_decref(info);
	fv_resp_free(&r);
	return rc;
}

int
cmd_exchange_import(struct cli *c)
{
	struct fv_resp r;
	char *buf, path[128];
	size_t len;
	int rc;

	if ((rc = read_input(c->args[0], PACKAGE_MAX, &buf, &len)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/v1/exchange/import");
	cli_cmd_query(c, path, sizeof(path));
	rc = cli_call(c, "POST", path, buf, len, &r);
	free_input(buf, len);
	if (rc != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf("imported a package from %s: %lld new appeals, %lld "
		       "already here, %lld replies applied\n",
		    json_string_value(json_object_get(r.json, "partner")),
		    (long long)json_integer_value(json_object_get(r.json,
			"created")),
		    (long long)json_integer_value(json_object_get(r.json,
			"already_held")),
		    (long long)json_integer_value(json_object_get(r.json,
			"replies")));
	fv_resp_free(&r);
	return EX_DONE;
}

/* --- keys ----------------------------------------------------------------------------- */

int
cmd_keys_show(struct cli *c)
{
	struct fv_resp r;
	int rc;

	if ((rc = cli_call(c, "GET", "/v1/keys", NULL, 0, &r)) != 0)
		return rc;
	if (c->json)
		cli_print_json(r.json);
	else
		printf(
		    "%s (%s)\n"
		    "  device id    %s\n"
		    "  signing key  %s (Ed25519)\n"
		    "  fingerprint  %s\n"
		    "  partner key  %s\n"
		    "               (what a partner puts in its [partner.%s] "
		    "public_key)\n",
		    json_string_value(json_object_get(r.json, "name")),
		    json_string_value(json_object_get(r.json, "role")),
		    json_string_value(json_object_get(r.json, "device_id")),
		    json_string_value(json_object_get(r.json, "signing_key")),
		    json_string_value(json_object_get(r.json, "fingerprint")),
		    json_string_value(json_object_get(r.json, "partner_key")),
		    json_string_value(json_object_get(r.json, "name")));
	fv_resp_free(&r);
	return EX_DONE;
}
