/*
 * routes_status.c - the installation itself: status, keys, unlock, lock
 * (all answered while the store is locked).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "plugin/plugin.h"
#include "routes.h"
#include "secmem.h"
#include "server.h"
#include "vault.h"
#include "worker.h"

void
fv_routes_status(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	struct fv_store_stats st;
	char hex[2 * FV_ID_BYTES + 1];
	int locked = fv_store_stats(d->store, &st) == FV_ELOCKED;
	json_t *o;

	fv_op_id_hex(in->device_id, hex);
	o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:n, s:s, s:b}", "role",
	    in->role, "name", in->name, "device_id", hex, "locked", locked,
	    "pending", (json_int_t)st.pending, "seq", (json_int_t)st.seq,
	    "last_sync", "version", PACKAGE_VERSION, "unlocking",
	    fv_worker_busy(d->unlocker));
	if (o != NULL && fv_store_last_sync(d->store) > 0) {
		char ts[32];

		fv_record_format_rfc3339(fv_store_last_sync(d->store), ts);
		json_object_set_new(o, "last_sync", json_string(ts));
	}
	if (o != NULL && !locked) {
		char v[64];
		unsigned long long up_to, at;

		json_object_set_new(o, "appeals",
		    json_integer((json_int_t)st.appeals));
		json_object_set_new(o, "notes",
		    json_integer((json_int_t)st.notes));
		json_object_set_new(o, "retention",
		    json_string(d->conf->purge_after_sync ? "purge_after_sync" :
							    "keep"));
		json_object_set_new(o, "purged",
		    json_integer(fv_store_setting_get(d->store, "purged", v,
				     sizeof(v)) == 0 ?
			    (json_int_t)strtoll(v, NULL, 10) :
			    0));
		/* HQ's last signed receipt: what it holds of ours */
		if (fv_store_setting_get(d->store, "receipt", v, sizeof(v)) ==
			0 &&
		    sscanf(v, "%llu %llu", &up_to, &at) == 2) {
			char ts[32];

			fv_record_format_rfc3339((int64_t)at, ts);
			json_object_set_new(o, "receipt",
			    json_pack("{s:I, s:s}", "up_to", (json_int_t)up_to,
				"at", ts));
		}
	}
	fv_server_reply(req, 200, o);
}

/* GET /v1/keys: this installation's public keys (keys show). */
void
fv_routes_keys(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	char pk[65], id[2 * FV_ID_BYTES + 1], partner[FV_PARTNER_KEY_LEN + 1];
	char fp[40];

	sodium_bin2hex(pk, sizeof(pk), in->sign_pk, 32);
	fv_op_id_hex(in->device_id, id);
	fv_conf_partner_key_format(in->sign_pk, partner);
	fv_exchange_fingerprint(in->sign_pk, fp);
	fv_server_reply(req, 200,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", in->name,
		"role", in->role, "device_id", id, "signing_key", pk,
		"partner_key", partner, "fingerprint", fp));
}

static void
unlock_done(int rc, void *arg)
{
	struct evhttp_request *req = arg;

	if (rc == 0)
		fv_server_reply(req, 200, json_pack("{s:b}", "locked", 0));
	else if (rc == FV_EPASS)
		fv_server_error(req, 401, NULL, "wrong passphrase");
	else
		fv_server_error_rc(req, rc, "unlock");
}

void
fv_routes_unlock(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	size_t len;
	char *p = fv_server_body(req, &len);
	uint8_t *pass;
	int rc;

	if (!fv_store_locked(d->store)) {
		fv_server_body_wipe(req);
		fv_server_reply(req, 200, json_pack("{s:b}", "locked", 0));
		return;
	}
	if (len == 0 || len > FV_PASS_MAX) {
		fv_server_body_wipe(req);
		fv_server_error(req, 400, NULL,
		    "passphrase must be 1..%d bytes", FV_PASS_MAX);
		return;
	}
	if ((pass = fv_secmem_alloc(len)) == NULL) {
		fv_server_body_wipe(req);
		fv_server_error(req, 500, NULL, "out of secure memory");
		return;
	}
	memcpy(pass, p, len);
	fv_server_body_wipe(req);
	if ((rc = fv_worker_unlock(d->unlocker, pass, len, unlock_done, req)) ==
	    FV_EBUSY)
		fv_server_error(req, 429, NULL,
		    "another unlock attempt is in "
		    "progress or being delayed after a wrong passphrase; "
		    "try again later");
	else if (rc != 0)
		fv_server_error_rc(req, rc, "unlock");
}

void
fv_routes_lock(struct fvd *d, struct evhttp_request *req, const char *rest,
    int arg)
{
	fv_daemon_lock(d, "lock command");
	fv_server_reply(req, 200, json_pack("{s:b}", "locked", 1));
}
