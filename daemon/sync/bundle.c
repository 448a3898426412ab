/*
 * bundle.c - a session in a file (docs/protocol.md §7).
 *
 * A bundle holds the frames a session would send, sealed to the receiver
 * and signed by the sender: made by the same code that streams them
 * (a session whose frames go to a buffer), taken in by the same code that
 * receives them (fv_sync_inbound_take, fv_sync_apply_frame), but all or nothing:
 * every frame, op and signature is checked before one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "par.h"
#include "secmem.h"
#include "session.h"

/* HQ: a bundle for one device: HQ's receipt of what it holds of the
 * device's ops, then what the device may see after the cursor it last
 * told HQ. */
static int
create_down(struct fv_sync_sess *ss, const char *for_dev,
    struct fv_device *peer, char *why, size_t whylen)
{
	struct fv_store *s = ss->d->store;
	struct fv_buf b = { 0 };
	uint8_t id[FV_ID_BYTES], sig[FV_SIG_BYTES];
	uint64_t have = 0, now = (uint64_t)fv_hlc_now_ms();
	int rc;

	if (for_dev == NULL || fv_op_id_parse(for_dev, id) != 0) {
		snprintf(why, whylen,
		    "HQ makes a bundle for one device: "
		    "--for DEVICE-ID (see 'device list')");
		return FV_EINVAL;
	}
	if ((rc = fv_store_device_get(s, id, peer)) != 0 ||
	    strcmp(peer->role, "field") != 0 || peer->revoked) {
		snprintf(why, whylen, "no enrolled device with that id");
		return rc == 0 ? FV_ENOTFOUND : rc;
	}
	memcpy(ss->peer, peer->id, FV_ID_BYTES);
	memcpy(ss->peer_pk, peer->sign_pk, 32);
	snprintf(ss->group, sizeof(ss->group), "%s", peer->group);
	if ((rc = fv_store_have_seq(s, peer->id, &have)) != 0 ||
	    (rc = fv_store_sign_receipt(s, peer->id, have, now, peer->group,
		 sig)) != 0)
		return rc;
	if ((rc = fv_frame_want(&b, have, 0)) != 0 ||
	    (rc = fv_sync_session_send(ss, &b)) != 0 ||
	    (rc = fv_frame_receipt(&b, have, now, peer->group, sig)) != 0 ||
	    (rc = fv_sync_session_send(ss, &b)) != 0)
		return rc;
	ss->next = fv_sync_apply_down_of(s, peer->id);
	return 0;
}

/* Field: a bundle for its HQ: every op HQ has not acknowledged. */
static int
create_up(struct fv_sync_sess *ss, const char *for_dev, struct fv_device *peer,
    char *why, size_t whylen)
{
	struct fv_store *s = ss->d->store;
	struct fv_buf b = { 0 };
	int rc;

	if (for_dev != NULL) {
		snprintf(why, whylen,
		    "a field device's bundle is for its HQ: "
		    "no --for");
		return FV_EINVAL;
	}
	if ((rc = fv_sync_field_pinned_hq(s, peer)) != 0) {
		snprintf(why, whylen, "not enrolled with an HQ");
		return rc;
	}
	if ((rc = fv_frame_want(&b, 0, fv_sync_apply_down_cursor(s))) != 0 ||
	    (rc = fv_sync_session_send(ss, &b)) != 0)
		return rc;
	ss->next = fv_store_stats_acked(s);
	return 0;
}

int
fv_sync_bundle_create(struct fvd *d, const char *for_dev, struct fv_buf *out,
    json_t **info, char *why, size_t whylen)
{
	struct fv_store *s = d->store;
	const struct fv_store_info *in = fv_store_info(s);
	struct fv_bundle_hdr h;
	struct fv_device peer;
	struct fv_buf payload = { 0 };
	struct fv_sync_sess ss;
	uint8_t xpk[32];
	int rc;

	*info = NULL;
	memset(&ss, 0, sizeof(ss));
	memset(&h, 0, sizeof(h));
	fv_sync_session_init_bundle(&ss, d, strcmp(in->role, "hq") == 0,
	    &payload);
	h.dir = ss.hq ? FV_BUNDLE_DOWN : FV_BUNDLE_UP;
	if ((rc = ss.hq ? create_down(&ss, for_dev, &peer, why, whylen) :
			  create_up(&ss, for_dev, &peer, why, whylen)) != 0)
		goto out;
	ss.sending = 1;
	if ((rc = fv_sync_session_pump(&ss)) != 0)
		goto out;
	memcpy(h.sender, in->device_id, FV_ID_BYTES);
	memcpy(h.receiver, peer.id, FV_ID_BYTES);
	h.created_ms = (uint64_t)fv_hlc_now_ms();
	if ((rc = fv_store_x25519_of(peer.sign_pk, xpk)) != 0 ||
	    (rc = fv_store_bundle_seal(s, &h, payload.p, payload.len, xpk,
		 out)) != 0)
		goto out;
	*info = json_pack("{s:s, s:s, s:I, s:I}", "to", peer.name, "direction",
	    ss.hq ? "down" : "up", "ops",
	    (json_int_t)(ss.hq ? ss.res.down :
				 ss.next - fv_store_stats_acked(s)),
	    "bytes", (json_int_t)out->len);
out:
	if (rc == FV_ETOOBIG)
		snprintf(why, whylen,
		    "more than a bundle holds (%u MiB): "
		    "sync, or make bundles more often",
		    FV_BUNDLE_MAX >> 20);
	fv_buf_free(&payload);
	fv_sync_session_clear(&ss);
	return rc;
}

/* --- import ----------------------------------------------------------------- */

/* Every op of the bundle, for both cores to check. */
struct check {
	struct fv_sync_item **it; /* the op's item */
	size_t *i;		  /* ... and its index there */
	size_t n;
};

static void
check_fn(void *arg, size_t lo, size_t hi, int worker)
{
	struct check *c = arg;
	struct fv_vjob *j;
	size_t k;

	for (k = lo; k < hi; k++) {
		j = &c->it[k]->job;
		j->ok[c->i[k]] = j->pk[c->i[k]] != NULL &&
		    fv_op_verify(j->op[c->i[k]], j->len[c->i[k]],
			j->pk[c->i[k]]) == 0;
	}
}

/* Checks every op's signature (the loop waits: a bundle is rare).  0, or
 * FV_ESIG when one does not verify. */
static int
check_all(struct fv_sync_sess *ss)
{
	struct fv_sync_item *it;
	struct check c = { NULL, NULL, 0 };
	size_t k, n = 0;
	int rc = 0;

	TAILQ_FOREACH(it, &ss->inq, entry)
		n += it->job.n;
	if (n == 0)
		return 0;
	if ((c.it = calloc(n, sizeof(*c.it))) == NULL ||
	    (c.i = calloc(n, sizeof(*c.i))) == NULL) {
		free(c.it);
		return FV_ENOMEM;
	}
	TAILQ_FOREACH(it, &ss->inq, entry)
		for (k = 0; k < it->job.n; k++) {
			c.it[c.n] = it;
			c.i[c.n++] = k;
		}
	fv_par_run(c.n, check_fn, &c);
	for (k = 0; rc == 0 && k < c.n; k++)
		if (!c.it[k]->job.ok[c.i[k]])
			rc = FV_ESIG;
	free(c.it);
	free(c.i);
	return rc;
}

/* The bundle's frames in one transaction, in order; HQ's receipt last,
 * as in a session: a purge rests on what the bundle brought. */
static int
import_fn(struct fv_store *s, void *arg)
{
	struct fv_sync_sess *ss = arg;
	struct fv_sync_item *it;
	int rc, pass;

	for (pass = 0; pass < 2; pass++)
		TAILQ_FOREACH(it, &ss->inq, entry)
			if ((it->f.type == FV_F_RECEIPT) == pass &&
			    (rc = fv_sync_apply_frame(ss, s, it)) != 0)
				return rc;
	return 0;
}

/* Reads the bundle's frames into ss->inq, each checked as a session
 * would check it.  why says it for a person. */
static int
take_frames(struct fv_sync_sess *ss, const struct fv_device *from,
    const struct fv_buf *payload, char *why, size_t whylen)
{
	struct fv_bundle_iter bi;
	struct fv_sync_item *it;
	struct fv_frame f;
	const uint8_t *p;
	size_t len;
	int rc;

	fv_bundle_iter_init(&bi, payload->p, payload->len);
	while ((rc = fv_bundle_next_raw(&bi, &f, &p, &len)) == 1) {
		if (f.type == FV_F_RECEIPT &&
		    (ss->hq ||
			fv_sync_apply_receipt_ok(ss->d->store, &f,
			    from->sign_pk) != 0)) {
			snprintf(why, whylen,
			    "the bundle's receipt does not "
			    "verify");
			return FV_ESIG;
		}
		if ((rc = fv_sync_inbound_take(ss, p, len, &it)) != 0)
			break;
		if (it != NULL)
			TAILQ_INSERT_TAIL(&ss->inq, it, entry);
	}
	if (rc != 0 || ss->big.len > 0) {
		snprintf(why, whylen, "the bundle's content is malformed");
		return rc < 0 ? rc : FV_EINVAL;
	}
	return 0;
}

/* Who sent it, and is it for us?  The sender's key opens it. */
static int
open_bundle(struct fv_sync_sess *ss, const uint8_t *buf, size_t len,
    struct fv_device *from, struct fv_buf *payload, char *why, size_t whylen)
{
	struct fv_store *s = ss->d->store;
	struct fv_bundle_hdr h;
	uint8_t *xsk, xpk[32];
	int rc;

	if (fv_bundle_peek(buf, len, &h) != 0) {
		snprintf(why, whylen, "not a fieldvault bundle, or cut short");
		return FV_EINVAL;
	}
	if (memcmp(h.receiver, fv_store_info(s)->device_id, FV_ID_BYTES)) {
		snprintf(why, whylen,
		    "the bundle is addressed to another "
		    "installation");
		return FV_EINVAL;
	}
	if (h.dir != (ss->hq ? FV_BUNDLE_UP : FV_BUNDLE_DOWN) ||
	    fv_store_device_get(s, h.sender, from) != 0 || from->revoked ||
	    strcmp(from->role, ss->hq ? "field" : "hq") != 0) {
		snprintf(why, whylen,
		    ss->hq ? "the bundle is not from a "
			     "device enrolled here" :
			     "the bundle is not from this "
			     "device's HQ");
		return FV_EUNKNOWN;
	}
	if ((xsk = fv_secmem_alloc(32)) == NULL)
		return FV_ENOMEM;
	if ((rc = fv_store_noise_keys(s, xsk, xpk)) == 0 &&
	    (rc = fv_bundle_open(buf, len, from->sign_pk, xpk, xsk, &h,
		 payload)) != 0)
		snprintf(why, whylen,
		    rc == FV_ESIG ?
			"the bundle was "
			"tampered with, or not sealed to this installation" :
			"the bundle's content is malformed");
	fv_secmem_free(xsk);
	/* up: the sender's own ops only, as from a session's peer */
	memcpy(ss->peer, h.sender, FV_ID_BYTES);
	memcpy(ss->peer_pk, from->sign_pk, 32);
	return rc;
}

int
fv_sync_bundle_import(struct fvd *d, const uint8_t *buf, size_t len,
    json_t **result, char *why, size_t whylen)
{
	struct fv_device from;
	struct fv_buf payload = { 0 };
	struct fv_sync_sess ss;
	struct fv_sync_item *it;
	size_t nops = 0, purged = 0;
	int rc, applied = 0;

	*result = NULL;
	memset(&ss, 0, sizeof(ss));
	fv_sync_session_init_bundle(&ss, d,
	    strcmp(fv_store_info(d->store)->role, "hq") == 0, NULL);
	if ((rc = open_bundle(&ss, buf, len, &from, &payload, why, whylen)) !=
		0 ||
	    (rc = take_frames(&ss, &from, &payload, why, whylen)) != 0)
		goto out;
	if ((rc = check_all(&ss)) != 0) {
		snprintf(why, whylen,
		    rc == FV_ESIG ? "an op in the bundle "
				    "has a bad signature: nothing imported" :
				    "%s",
		    fv_error_str(rc));
		goto out;
	}
	if ((rc = fv_writer_run(d->writer, import_fn, &ss)) != 0) {
		snprintf(why, whylen, "%s: nothing imported", fv_error_str(rc));
		goto out;
	}
	TAILQ_FOREACH(it, &ss.inq, entry) {
		nops += it->job.n;
		applied += it->applied;
		purged += it->purged;
	}
	fv_log_info("sync: bundle from '%s': %zu ops, %d new%s", from.name,
	    nops, applied, purged ? ", purged what HQ holds" : "");
	*result = json_pack("{s:s, s:s, s:I, s:I, s:I}", "from", from.name,
	    "direction", ss.hq ? "up" : "down", "ops", (json_int_t)nops,
	    "applied", (json_int_t)applied, "purged", (json_int_t)purged);
out:
	fv_sync_session_clear(&ss);
	fv_buf_free(&payload);
	return rc;
}
