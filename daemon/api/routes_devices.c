/*
 * routes_devices.c - the devices this installation knows; HQ invites and
 * revokes them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "frame.h"
#include "hlc.h"
#include "json.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "sync/sync.h"
#include "token.h"
#include "writer.h"

void
fv_routes_devices(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	json_t *j;
	int rc;

	if ((rc = fv_json_devices(d->store, &j)) != 0)
		fv_server_error_rc(req, rc, "devices");
	else
		fv_server_reply(req, 200, j);
}

/* Devices are managed at HQ: 0 after answering 400 elsewhere. */
static int
hq_only(struct fvd *d, struct evhttp_request *req)
{
	if (strcmp(d->conf->role, "hq") == 0)
		return 1;
	fv_server_error(req, 400, NULL,
	    "devices are invited and revoked at HQ");
	return 0;
}

void
fv_routes_device_invite(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	char token[FV_TOKEN_STR_MAX + 1];
	const char *name, *group;
	int64_t expires;
	char ts[32];
	json_t *j;
	int rc;

	if (!hq_only(d, req) || (j = fv_server_body_json(req, 4096)) == NULL)
		return;
	name = json_string_value(json_object_get(j, "name"));
	group = json_string_value(json_object_get(j, "assigned_to"));
	if (name == NULL || !fv_frame_text_ok(name, strlen(name)) ||
	    strlen(name) > FV_NAME_MAX) {
		json_decref(j);
		fv_server_error(req, 400, "name", "name: 1..64 characters");
		return;
	}
	if (group != NULL && !fv_record_valid_group(group)) {
		json_decref(j);
		fv_server_error(req, 400, "assigned_to",
		    "assigned_to: a group "
		    "name of 1..64 of a-z 0-9 _ . -");
		return;
	}
	rc = fv_sync_hq_invite(d, name, group, 72 * 3600, token, sizeof(token),
	    &expires);
	json_decref(j);
	if (rc == FV_EINVAL) {
		fv_server_error(req, 400, NULL,
		    "set [sync] listen: the token "
		    "carries HQ's address");
		return;
	}
	if (rc != 0) {
		fv_server_error_rc(req, rc, "invite");
		return;
	}
	fv_record_format_rfc3339(expires * 1000, ts);
	fv_server_reply(req, 200,
	    json_pack("{s:s, s:s}", "token", token, "expires", ts));
	sodium_memzero(token, sizeof(token));
}

static int
put_device(struct fv_store *s, void *arg)
{
	return fv_store_device_put(s, arg);
}

/* POST /v1/devices/ID/revoke */
void
fv_routes_device_revoke(struct fvd *d, struct evhttp_request *req,
    const char *rest, int arg)
{
	struct fv_device dev;
	uint8_t id[FV_ID_BYTES];
	char hex[2 * FV_ID_BYTES + 1];
	int rc;

	if (!hq_only(d, req))
		return;
	if (strlen(rest) != 2 * FV_ID_BYTES + 7 ||
	    strcmp(rest + 2 * FV_ID_BYTES, "/revoke") != 0) {
		fv_server_error(req, 404, NULL, "no such resource");
		return;
	}
	memcpy(hex, rest, 2 * FV_ID_BYTES);
	hex[2 * FV_ID_BYTES] = '\0';
	if (fv_op_id_parse(hex, id) != 0 ||
	    (rc = fv_store_device_get(d->store, id, &dev)) == FV_ENOTFOUND) {
		fv_server_error(req, 404, NULL, "no such device");
		return;
	}
	dev.revoked = 1;
	if (rc != 0 || (rc = fv_writer_run(d->writer, put_device, &dev)) != 0) {
		fv_server_error_rc(req, rc, "revoke");
		return;
	}
	fv_log_info("sync: device '%s' revoked", dev.name);
	fv_server_reply(req, 200,
	    json_pack("{s:s, s:b}", "id", hex, "revoked", 1));
}
