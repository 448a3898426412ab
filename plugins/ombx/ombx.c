/*
 * ombx.c - the ombx exchange plugin: appeals to a partner ombudsman, and
 * the partner's appeals and status replies back, as packages signed by
 * the sender and sealed to the recipient (docs/exchange-format.md).
 *
 * The format is ombx_format.c; this file only joins it to the host.  The
 * host holds the secret key: it signs (fv_exchange_sign) and opens seals
 * (fv_exchange_open) for us.  We make the public-key calls ourselves.
 *
 * send:   each appeal becomes an entry (a reply when it is an appeal this
 *         partner sent us), the payload is checked as the partner will
 *         check it, then signed, sealed and written whole.
 * import: open, verify, name the sender to the host, check the whole
 *         payload, and only then pass its entries on: a bad entry refuses
 *         the package before the host is given anything.
 */
#include <fieldvault/plugin.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "ombx_format.h"

#ifndef FV_PLUGIN_EXPORT_NAME
#define FV_PLUGIN_EXPORT_NAME fieldvault_plugin_v1
#endif

/* The plugin's state is its host handle: for the installation's name and
 * for logging. */
static int
ombx_init(fv_host *h, void **state)
{
	/* sealing draws random bytes; idempotent when the host did it */
	if (sodium_init() < 0) {
		fv_log(h, FV_LOG_ERROR, "cannot initialize libsodium");
		return -1;
	}
	*state = h;
	return 0;
}

static int
sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[OMBX_SIG_BYTES])
{
	return fv_exchange_sign(arg, msg, len, sig);
}

static int
open_cb(void *arg, const uint8_t *sealed, size_t len, uint8_t *out)
{
	return fv_exchange_open(arg, sealed, len, out);
}

/* --- send ----------------------------------------------------------------- */

/* A new payload: a random package id, now, and our name. */
static json_t *
new_payload(fv_host *h)
{
	uint8_t rnd[OMBX_ID_HEX / 2];
	char id[OMBX_ID_HEX + 1], now[32];
	time_t t = time(NULL);
	struct tm tm;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return ombx_payload_new(id, now, fv_host_name(h));
}

static int
add_records(fv_exchange *x, json_t *root, const fv_record *const *recs,
    size_t n, char why[OMBX_WHY_MAX])
{
	const char *partner = fv_exchange_partner(x), *j;
	json_t *rec;
	size_t i, len;
	int rc;

	for (i = 0; i < n; i++) {
		if (strcmp(fv_record_type(recs[i]), "appeal") != 0) {
			snprintf(why, OMBX_WHY_MAX,
			    "record %s is a note: only "
			    "appeals are exchanged",
			    fv_record_id(recs[i]));
			return -1;
		}
		if ((j = fv_record_get_json(recs[i], "", &len)) == NULL ||
		    (rec = json_loadb(j, len, 0, NULL)) == NULL) {
			snprintf(why, OMBX_WHY_MAX,
			    "appeal %s: cannot read "
			    "it",
			    fv_record_id(recs[i]));
			return -1;
		}
		rc = ombx_payload_add_record(root, rec, partner, why);
		json_decref(rec);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The payload as the partner will check it: a package it would refuse
 * is refused here, where the user can still fix the appeal. */
static int
self_check(const uint8_t *p, size_t len, char why[OMBX_WHY_MAX])
{
	struct ombx_payload pl;
	char sub[OMBX_WHY_MAX];

	if (ombx_payload_parse(p, len, &pl, sub) != 0) {
		/* entry N is the N-th appeal named */
		snprintf(why, OMBX_WHY_MAX,
		    "the package would not be valid: "
		    "%.200s",
		    sub);
		return -1;
	}
	ombx_payload_free(&pl);
	return 0;
}

static int
ombx_send(void *state, fv_exchange *x, const fv_record *const *recs, size_t n)
{
	uint8_t spk[OMBX_KEY_BYTES], rpk[OMBX_KEY_BYTES];
	uint8_t *payload = NULL, *pkg = NULL;
	size_t plen = 0, len = 0;
	char why[OMBX_WHY_MAX];
	json_t *root;
	int rc = -1;

	if (fv_exchange_partner(x) == NULL ||
	    fv_exchange_partner_key(x, rpk) != 0 ||
	    fv_exchange_self_key(x, spk) != 0)
		return fv_exchange_refuse(x,
		    "no partner or key for the "
		    "package");
	if (n < 1 || n > OMBX_ENTRIES_MAX)
		return fv_exchange_refuse(x, "a package holds 1..%d appeals",
		    OMBX_ENTRIES_MAX);
	if ((root = new_payload(state)) == NULL)
		return fv_exchange_refuse(x, "out of memory");
	if (add_records(x, root, recs, n, why) != 0 ||
	    ombx_payload_dump(root, &payload, &plen, why) != 0 ||
	    self_check(payload, plen, why) != 0 ||
	    ombx_package_build(payload, plen, spk, rpk, sign_cb, x, &pkg, &len,
		why) != 0)
		rc = fv_exchange_refuse(x, "%s", why);
	else if (fv_output_write(fv_exchange_output(x), pkg, len) != 0)
		rc = fv_exchange_refuse(x,
		    "cannot write the package (%zu "
		    "bytes)",
		    len);
	else
		rc = 0;
	json_decref(root);
	ombx_buf_free(payload, plen);
	ombx_buf_free(pkg, len);
	return rc;
}

/* --- import --------------------------------------------------------------- */

/* A reply's id is our reference of the appeal: a fieldvault id. */
static int
our_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == OMBX_ID_HEX;
}

/* What the format allows but this installation cannot hold; checked
 * before anything is passed on. */
static int
check_ours(fv_exchange *x, const struct ombx_payload *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->e[i].kind == OMBX_REPLY && !our_id(pl->e[i].id))
			return fv_exchange_refuse(x,
			    "entry %zu: a reply whose "
			    "id is not one of our appeal ids",
			    i + 1);
	return 0;
}

static int
add_appeal(fv_exchange *x, const struct ombx_entry *e)
{
	size_t n = json_dumpb(e->appeal, NULL, 0, JSON_COMPACT);
	char *buf;
	int rc;

	if (n == 0 || (buf = fv_alloc(n + 1)) == NULL)
		return fv_exchange_refuse(x, "out of memory");
	json_dumpb(e->appeal, buf, n, JSON_COMPACT);
	buf[n] = '\0';
	rc = fv_exchange_add_appeal(x, e->ref, buf, n);
	fv_free(buf);
	return rc;
}

/* The host refuses a call with its own reason (fv_exchange_refuse), so a
 * -1 here needs no other. */
static int
add_entries(fv_exchange *x, const struct ombx_payload *pl)
{
	const struct ombx_entry *e;
	size_t i;

	for (i = 0; i < pl->n; i++) {
		e = &pl->e[i];
		if (e->kind == OMBX_APPEAL) {
			if (add_appeal(x, e) != 0)
				return -1;
		} else if (fv_exchange_add_reply(x, e->id, e->ref, e->status,
			       e->outcome) != 0)
			return -1;
	}
	return 0;
}

/* Opens pkg and names its sender to the host: 0 and the payload, or -1
 * (refused). */
static int
open_package(fv_exchange *x, const uint8_t *pkg, size_t len,
    struct ombx_payload *pl)
{
	struct ombx_opened o;
	uint8_t self[OMBX_KEY_BYTES];
	char why[OMBX_WHY_MAX], fpr[OMBX_FPR_LEN + 1];
	int rc;

	if (fv_exchange_self_key(x, self) != 0)
		return fv_exchange_refuse(x, "no key of ours to open it");
	if (ombx_package_open(pkg, len, self, open_cb, x, &o, why) != 0)
		return fv_exchange_refuse(x, "%s", why);
	/* the signature checked: the key is the sender's, not a claim */
	if (fv_exchange_sender(x, o.in.sender_pk) != 0) {
		ombx_fingerprint(o.in.sender_pk, fpr);
		ombx_opened_free(&o);
		return fv_exchange_refuse(x,
		    "the sender is not a configured "
		    "partner (its key fingerprint is %s): add its partner_key "
		    "as public_key of a [partner.NAME] section",
		    fpr);
	}
	rc = ombx_payload_parse(o.in.payload, o.in.payload_len, pl, why);
	ombx_opened_free(&o);
	if (rc != 0)
		return fv_exchange_refuse(x, "%s", why);
	return 0;
}

static int
ombx_import(void *state, fv_exchange *x, const uint8_t *pkg, size_t len)
{
	struct ombx_payload pl;
	int rc;

	if (open_package(x, pkg, len, &pl) != 0)
		return -1;
	rc = check_ours(x, &pl) == 0 && add_entries(x, &pl) == 0 ? 0 : -1;
	if (rc == 0)
		fv_log(state, FV_LOG_DEBUG,
		    "package %s: %zu appeals, %zu "
		    "replies",
		    pl.package_id, pl.nappeals, pl.nreplies);
	ombx_payload_free(&pl);
	return rc;
}

const struct fv_plugin FV_PLUGIN_EXPORT_NAME = {
	FV_PLUGIN_ABI,
	.name = "ombx",
	.version = "1.0",
	.description = "partner ombudsman exchange: signed, sealed packages "
		       "of appeals and status replies",
	.kinds = FV_KIND_EXCHANGE,
	.config_keys = NULL,
	.init = ombx_init,
	.exchange_send = ombx_send,
	.exchange_import = ombx_import,
};
