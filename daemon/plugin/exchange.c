/*
 * exchange.c - partner exchange: fieldvault exchange send | import, and
 * keys show's partner key.
 *
 * send: the loop reads the appeals, the exchange plugin writes the package
 * on its thread (signing through the host), then the loop marks the
 * appeals sent to the partner as forwarded and answers with the package.
 * import: the plugin opens and checks the package on its thread and says
 * what it holds (fv_exchange_add_*); the loop checks all of it against the
 * schema and the store before it writes any of it, then writes it in one
 * group commit.  A package refused is refused whole.
 */
#include <fieldvault/plugin.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "op.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "record.h"
#include "sdkimpl.h"
#include "secmem.h"
#include "writer.h"

#define PKG_MAX	   FVP_PACKAGE_MAX
#define REF_MAX	   FV_SDK_REF_MAX
#define KEYS_BYTES (64 + 32) /* Ed25519 sk, X25519 sk */

struct partner {
	char name[FV_NAME_MAX + 1];
	uint8_t pk[32];
};

struct inappeal {
	char ref[REF_MAX + 1];
	json_t *body;
};

struct inreply {
	uint8_t id[FV_ID_BYTES];
	char ref[REF_MAX + 1];
	char status[24];
	char *outcome;
};

/* The SDK's exchange run. */
struct fv_exchange {
	int importing;
	uint8_t *keys; /* secmem: KEYS_BYTES */
	uint8_t self_pk[32];
	struct partner *partners; /* configured */
	size_t npartners;
	struct partner *partner; /* send: to; import: from */
	struct fv_output out;
	struct inappeal *ap;
	size_t nap, capap;
	struct inreply *rp;
	size_t nrp, caprp;
	char why[256];
	int refused; /* a call was refused */
};

struct fvp_exchange {
	struct fvp_job j;
	struct fvd *d;
	fvp_exchange_done done;
	void *arg;
	int gone; /* the asker left */
	char format[FVP_NAME_MAX + 1];
	struct fv_exchange x;
	json_t *recs; /* send */
	uint8_t *pkg; /* import */
	size_t pkglen;
	int rc;
	/* the writes of the outcome */
	struct fv_write *w;
	size_t nw, wdone;
	size_t created, skipped, updated, unchanged, sent;
	size_t replies;
	int wfail;
	char wwhy[512];
};

/* --- keys -------------------------------------------------------------------- */

void
fv_exchange_fingerprint(const uint8_t pk[32], char out[40])
{
	uint8_t h[32];
	char hex[33];
	int i, o = 0;

	crypto_generichash(h, sizeof(h), pk, 32, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, 16);
	for (i = 0; i < 32; i += 4) {
		memcpy(out + o, hex + i, 4);
		o += 4;
		out[o++] = i < 28 ? ' ' : '\0';
	}
}

/* --- the SDK (plugin thread) ------------------------------------------------- */

int
fv_exchange_self_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES])
{
	memcpy(pk, x->self_pk, 32);
	return 0;
}

int
fv_exchange_sign(fv_exchange *x, const void *msg, size_t len,
    uint8_t sig[FV_SIG_BYTES])
{
	uint8_t *m;

	if (x->keys == NULL || len > SIZE_MAX - FV_EXCHANGE_SIG_CONTEXT_LEN ||
	    (m = fv_alloc(FV_EXCHANGE_SIG_CONTEXT_LEN + len)) == NULL)
		return -1;
	/* the plain concatenation, as docs/exchange-format.md says */
	memcpy(m, FV_EXCHANGE_SIG_CONTEXT, FV_EXCHANGE_SIG_CONTEXT_LEN);
	memcpy(m + FV_EXCHANGE_SIG_CONTEXT_LEN, msg, len);
	crypto_sign_detached(sig, NULL, m, FV_EXCHANGE_SIG_CONTEXT_LEN + len,
	    x->keys);
	fv_free(m);
	return 0;
}

int
fv_exchange_open(fv_exchange *x, const uint8_t *sealed, size_t len,
    uint8_t *out)
{
	uint8_t xpk[32];

	if (x->keys == NULL || len < crypto_box_SEALBYTES ||
	    crypto_sign_ed25519_pk_to_curve25519(xpk, x->self_pk) != 0)
		return -1;
	return crypto_box_seal_open(out, sealed, len, xpk, x->keys + 64) == 0 ?
	    0 :
	    -1;
}

const char *
fv_exchange_partner(const fv_exchange *x)
{
	return x->partner != NULL ? x->partner->name : NULL;
}

int
fv_exchange_partner_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES])
{
	if (x->partner == NULL)
		return -1;
	memcpy(pk, x->partner->pk, 32);
	return 0;
}

fv_output *
fv_exchange_output(fv_exchange *x)
{
	return x->importing ? NULL : &x->out;
}

int
fv_exchange_refuse(fv_exchange *x, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (x->refused) /* the first reason is the cause */
		return -1;
	x->refused = 1;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	for (i = 0; x->why[i] != '\0'; i++)
		if ((unsigned char)x->why[i] < 0x20)
			x->why[i] = ' ';
	return -1;
}

int
fv_exchange_sender(fv_exchange *x, const uint8_t pk[FV_KEY_BYTES])
{
	size_t i;

	if (!x->importing)
		return -1;
	if (x->partner != NULL) /* one package, one sender */
		return sodium_memcmp(x->partner->pk, pk, 32) == 0 ?
		    0 :
		    fv_exchange_refuse(x, "plugin: a second sender");
	for (i = 0; i < x->npartners; i++)
		if (sodium_memcmp(x->partners[i].pk, pk, 32) == 0) {
			x->partner = &x->partners[i];
			return 0;
		}
	return -1;
}

int
fv_exchange_add_appeal(fv_exchange *x, const char *ref, const char *json,
    size_t len)
{
	struct inappeal *n;
	json_t *j;
	size_t c;

	if (!x->importing || x->partner == NULL)
		return fv_exchange_refuse(x,
		    "plugin: an appeal before the "
		    "sender is known");
	if (!fv_sdk_xchg_valid_ref(ref))
		return fv_exchange_refuse(x,
		    "entry %zu: ref: 1..%d printable "
		    "characters",
		    x->nap + x->nrp + 1, REF_MAX);
	if (x->nap + x->nrp >= FVP_EXCHANGE_IDS_MAX)
		return fv_exchange_refuse(x, "more than %d entries",
		    FVP_EXCHANGE_IDS_MAX);
	if (len > FV_RECORD_MAX ||
	    (j = json_loadb(json, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		if (len <= FV_RECORD_MAX)
			json_decref(j);
		return fv_exchange_refuse(x, "entry %zu: not a JSON object",
		    x->nap + x->nrp + 1);
	}
	if (x->nap == x->capap) {
		c = x->capap ? 2 * x->capap : 16;
		if ((n = realloc(x->ap, c * sizeof(*n))) == NULL) {
			json_decref(j);
			return fv_exchange_refuse(x, "out of memory");
		}
		x->ap = n;
		x->capap = c;
	}
	snprintf(x->ap[x->nap].ref, sizeof(x->ap[x->nap].ref), "%s", ref);
	x->ap[x->nap++].body = j;
	return 0;
}

static int
valid_utf8(const char *s)
{
	json_t *t = json_string(s); /* NULL for bad UTF-8 */
	int ok = t != NULL;

	json_decref(t);
	return ok;
}

int
fv_exchange_add_reply(fv_exchange *x, const char *id, const char *ref,
    const char *status, const char *outcome)
{
	struct inreply *n;
	size_t c, k = x->nap + x->nrp + 1;

	if (!x->importing || x->partner == NULL)
		return fv_exchange_refuse(x,
		    "plugin: a reply before the "
		    "sender is known");
	if (x->nap + x->nrp >= FVP_EXCHANGE_IDS_MAX)
		return fv_exchange_refuse(x, "more than %d entries",
		    FVP_EXCHANGE_IDS_MAX);
	if (!fv_sdk_xchg_valid_status(status))
		return fv_exchange_refuse(x,
		    "entry %zu: status: not an "
		    "appeal status",
		    k);
	if (ref != NULL && !fv_sdk_xchg_valid_ref(ref))
		return fv_exchange_refuse(x,
		    "entry %zu: ref: 1..%d printable "
		    "characters",
		    k, REF_MAX);
	if (outcome != NULL &&
	    (!valid_utf8(outcome) ||
		fv_sdk_xchg_utf8_chars(outcome) > FV_SDK_OUTCOME_MAX))
		return fv_exchange_refuse(x,
		    "entry %zu: outcome: UTF-8 text "
		    "of at most %d characters",
		    k, FV_SDK_OUTCOME_MAX);
	if (x->nrp == x->caprp) {
		c = x->caprp ? 2 * x->caprp : 16;
		if ((n = realloc(x->rp, c * sizeof(*n))) == NULL)
			return fv_exchange_refuse(x, "out of memory");
		x->rp = n;
		x->caprp = c;
	}
	n = &x->rp[x->nrp];
	memset(n, 0, sizeof(*n));
	if (id == NULL || strlen(id) != 2 * FV_ID_BYTES ||
	    fv_op_id_parse(id, n->id) != 0)
		return fv_exchange_refuse(x, "entry %zu: id: not an appeal id",
		    k);
	snprintf(n->ref, sizeof(n->ref), "%s", ref ? ref : "");
	snprintf(n->status, sizeof(n->status), "%s", status);
	if (outcome != NULL && (n->outcome = strdup(outcome)) == NULL)
		return fv_exchange_refuse(x, "out of memory");
	x->nrp++;
	return 0;
}

/* --- plugin thread -------------------------------------------------------------- */

static void
send_run(struct fvp_job *j)
{
	struct fvp_exchange *c = (struct fvp_exchange *)j;
	struct fv_host *p;
	struct fv_record *r;
	const fv_record **v;
	size_t i, n = json_array_size(c->recs);

	if ((p = fv_host_find(j->host, c->format, FV_KIND_EXCHANGE)) == NULL) {
		snprintf(c->x.why, sizeof(c->x.why),
		    "no exchange plugin '%s' "
		    "is loaded (see 'fieldvault plugin list')",
		    c->format);
		c->rc = -1;
		return;
	}
	r = calloc(n + 1, sizeof(*r));
	v = calloc(n + 1, sizeof(*v));
	c->rc = r != NULL && v != NULL ? 0 : -1;
	for (i = 0; i < n && c->rc == 0; i++) {
		c->rc = fv_sdk_record_from_json(&r[i],
		    json_array_get(c->recs, i));
		v[i] = &r[i];
	}
	if (c->rc == 0)
		c->rc = p->desc->exchange_send(p->state, &c->x, v, n);
	if (c->rc == 0 && c->x.refused)
		c->rc = -1;
	/* what a partner's fieldvault can import in one request */
	if (c->rc == 0 && (c->x.out.err || c->x.out.len > PKG_MAX))
		c->rc = fv_exchange_refuse(&c->x,
		    "the package would be larger "
		    "than %d bytes: send fewer appeals at once",
		    PKG_MAX);
	for (i = 0; r != NULL && i < n; i++)
		fv_sdk_record_free(&r[i]);
	free(r);
	free(v);
	fv_host_unref(p);
}

static void
import_run(struct fvp_job *j)
{
	struct fvp_exchange *c = (struct fvp_exchange *)j;
	struct fv_host *p;

	if ((p = fv_host_find(j->host, c->format, FV_KIND_EXCHANGE)) == NULL) {
		snprintf(c->x.why, sizeof(c->x.why),
		    "no exchange plugin '%s' "
		    "is loaded (see 'fieldvault plugin list')",
		    c->format);
		c->rc = -1;
		return;
	}
	c->rc = p->desc->exchange_import(p->state, &c->x, c->pkg, c->pkglen);
	if (c->rc == 0 && c->x.refused) /* refused whole, even if the
					 * plugin went on */
		c->rc = -1;
	if (c->rc == 0 && c->x.partner == NULL)
		c->rc = fv_exchange_refuse(&c->x, "the plugin named no sender");
	fv_host_unref(p);
}

/* --- loop ---------------------------------------------------------------------- */

static void
xchg_free(struct fvp_exchange *c)
{
	size_t i;

	if (c->x.keys != NULL)
		fv_secmem_free(c->x.keys);
	fv_sdk_output_free(&c->x.out);
	for (i = 0; i < c->x.nap; i++)
		json_decref(c->x.ap[i].body);
	for (i = 0; i < c->x.nrp; i++)
		free(c->x.rp[i].outcome);
	free(c->x.ap);
	free(c->x.rp);
	free(c->x.partners);
	json_decref(c->recs);
	if (c->pkg != NULL) {
		sodium_memzero(c->pkg, c->pkglen);
		free(c->pkg);
	}
	for (i = 0; i < c->nw; i++) {
		json_decref(c->w[i].body);
		free(c->w[i].rids);
	}
	free(c->w);
	free(c);
}

/* The run's keys and partners, from the store and the config. */
static int
xchg_setup(struct fvd *d, struct fvp_exchange *c)
{
	const struct fv_config *cf = d->conf;
	size_t i, k;

	c->d = d;
	fv_sdk_output_init(&c->x.out, FVP_OUTPUT_MAX, NULL, NULL);
	memcpy(c->x.self_pk, fv_store_info(d->store)->sign_pk, 32);
	if ((c->x.keys = fv_secmem_alloc(KEYS_BYTES)) == NULL ||
	    fv_store_exchange_keys(d->store, c->x.keys, c->x.keys + 64) != 0)
		return FV_ENOMEM;
	if (cf->npartners > 0 &&
	    (c->x.partners = calloc(cf->npartners, sizeof(*c->x.partners))) ==
		NULL)
		return FV_ENOMEM;
	for (i = 0; i < cf->npartners; i++) {
		const struct fv_conf_section *s = &cf->partners[i];

		snprintf(c->x.partners[c->x.npartners].name,
		    sizeof(c->x.partners[0].name), "%s", s->name);
		for (k = 0; k < s->nkv; k++)
			if (strcmp(s->kv[k].key, "public_key") == 0 &&
			    fv_conf_partner_key_parse(s->kv[k].val,
				c->x.partners[c->x.npartners].pk) == 0) {
				c->x.npartners++;
				break;
			}
	}
	return 0;
}

/* A live appeal as the partner gets it (fv_state_to_json). */
static int
appeal_json(struct fv_store *s, const uint8_t *id, json_t **out)
{
	struct fv_state st;
	char name[FV_NAME_MAX + 1];
	int rc;

	*out = NULL;
	if ((rc = fv_store_record(s, FV_RTYPE_APPEAL, id, &st, name)) != 0)
		return rc;
	if ((*out = fv_state_to_json(&st, id, name)) == NULL)
		rc = FV_ENOMEM;
	fv_state_free(&st);
	return rc;
}

static const char *
jstr(json_t *o, const char *path)
{
	const char *dot = strchr(path, '.');
	char part[32];

	if (dot != NULL) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - path), path);
		return jstr(json_object_get(o, part), dot + 1);
	}
	return json_string_value(json_object_get(o, path));
}

static struct fv_write *
add_write(struct fvp_exchange *c, enum fv_wkind kind, json_t *body,
    const uint8_t *rid)
{
	struct fv_write *w = &c->w[c->nw++];

	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->rtype = FV_RTYPE_APPEAL;
	w->body = body;
	w->n = 1;
	if ((w->rids = malloc(FV_ID_BYTES)) == NULL)
		fv_log_fatalx("exchange: out of memory");
	if (rid != NULL)
		memcpy(w->rids, rid, FV_ID_BYTES);
	else
		randombytes_buf(w->rids, FV_ID_BYTES);
	return w;
}

/* Tells the asker the outcome of c (fault: NONE, or what failed). */
static void outcome(struct fvp_exchange *c, enum fvp_fault fault,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
outcome(struct fvp_exchange *c, enum fvp_fault fault, const char *fmt, ...)
{
	struct fvp_outcome o;
	va_list ap;

	memset(&o, 0, sizeof(o));
	o.fault = fault;
	va_start(ap, fmt);
	vsnprintf(o.why, sizeof(o.why), fmt, ap);
	va_end(ap);
	if (fault == FVP_FAULT_NONE) {
		o.partner = c->x.partner->name;
		o.appeals = c->sent;
		o.replies = c->replies;
		o.pkg = c->x.out.p;
		o.pkglen = c->x.out.len;
		o.created = c->created;
		o.held = c->skipped;
		o.unchanged = c->unchanged;
	}
	c->done(&o, c->arg);
}

/* Answers, once every write of the run is done. */
static void
finish(struct fvp_exchange *c)
{
	if (c->gone) {
		fv_log_warnx("exchange: the client left before the answer");
		xchg_free(c);
		return;
	}
	if (c->wfail)
		outcome(c, FVP_FAULT_WRITE,
		    "exchange: the store refused a "
		    "write: %s",
		    c->wwhy);
	else if (c->x.importing) {
		fv_log_info(
		    "exchange: imported a package from %s: %zu appeals "
		    "created, %zu already held, %zu replies (%zu changed "
		    "nothing)",
		    c->x.partner->name, c->created, c->skipped, c->replies,
		    c->unchanged);
		outcome(c, FVP_FAULT_NONE, "%s", "");
	} else {
		fv_log_info(
		    "exchange: package for %s: %zu appeals, %zu replies, "
		    "%zu bytes",
		    c->x.partner->name, c->sent, c->replies, c->x.out.len);
		outcome(c, FVP_FAULT_NONE, "%s", "");
	}
	xchg_free(c);
}

static void
writes_done(struct fv_write *w)
{
	struct fvp_exchange *c = w->arg;

	if (w->rc != 0 && !c->wfail) {
		c->wfail = 1;
		snprintf(c->wwhy, sizeof(c->wwhy), "%s%s%s",
		    fv_error_str(w->rc), w->err.field[0] ? ": " : "",
		    w->err.field);
	}
	if (w->kind == FV_W_UPDATE && !w->changed && c->x.importing)
		c->unchanged++;
	if (++c->wdone == c->nw)
		finish(c);
}

static void
submit_writes(struct fvp_exchange *c)
{
	size_t i, n = c->nw;

	if (n == 0) {
		finish(c);
		return;
	}
	for (i = 0; i < n; i++) {
		c->w[i].done = writes_done;
		c->w[i].arg = c;
	}
	/* all queued in this loop turn: one group, one commit */
	for (i = 0; i < n; i++)
		fv_writer_submit(c->d->writer, &c->w[i]);
}

static int
is_reply(json_t *rec, const char *partner)
{
	const char *ch = jstr(rec, "channel"), *p = jstr(rec, "partner");

	return ch != NULL && strcmp(ch, "partner") == 0 && p != NULL &&
	    strcmp(p, partner) == 0 && jstr(rec, "partner_ref") != NULL;
}

static void
send_done(struct fvp_job *j)
{
	struct fvp_exchange *c = (struct fvp_exchange *)j;
	const char *name, *st;
	uint8_t rid[FV_ID_BYTES];
	json_t *rec, *patch;
	size_t i;

	if (c->gone) {
		xchg_free(c);
		return;
	}
	if (c->rc != 0) {
		outcome(c, FVP_FAULT_REFUSED, "exchange: %s",
		    c->x.why[0] ? c->x.why :
				  "the plugin failed (see the daemon's log)");
		xchg_free(c);
		return;
	}
	name = c->x.partner->name;
	if ((c->w = calloc(json_array_size(c->recs) + 1, sizeof(*c->w))) ==
	    NULL)
		fv_log_fatalx("exchange: out of memory");
	/* what went to the partner is now theirs to follow up */
	json_array_foreach(c->recs, i, rec) {
		if (is_reply(rec, name)) {
			c->replies++;
			continue;
		}
		c->sent++;
		st = jstr(rec, "status");
		patch = json_pack("{s:s}", "partner", name);
		if (st == NULL || strcmp(st, "received") == 0 ||
		    strcmp(st, "under_review") == 0)
			json_object_set_new(patch, "status",
			    json_string("forwarded"));
		fv_op_id_parse(jstr(rec, "id"), rid);
		add_write(c, FV_W_UPDATE, patch, rid);
	}
	submit_writes(c);
}

/* Refused at once: *o says why. */
static struct fvp_exchange *refuse(struct fvp_exchange *c,
    struct fvp_outcome *o, enum fvp_fault fault, int rc, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static struct fvp_exchange *
refuse(struct fvp_exchange *c, struct fvp_outcome *o, enum fvp_fault fault,
    int rc, const char *field, const char *fmt, ...)
{
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->fault = fault;
	o->rc = rc;
	o->field = field;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
	if (c != NULL)
		xchg_free(c);
	return NULL;
}

static struct fvp_exchange *
xchg_new(struct fvd *d, const char *format, fvp_exchange_done done, void *arg)
{
	struct fvp_exchange *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->format, sizeof(c->format), "%s", format);
	c->done = done;
	c->arg = arg;
	c->d = d;
	return c;
}

struct fvp_exchange *
fv_exchange_send(struct fvd *d, const char *format, const char *partner,
    const uint8_t *ids, size_t n, fvp_exchange_done done, void *arg,
    struct fvp_outcome *o)
{
	struct fvp_exchange *c;
	char hex[2 * FV_ID_BYTES + 1];
	json_t *rec;
	size_t i;
	int rc;

	if ((c = xchg_new(d, format, done, arg)) == NULL ||
	    (c->recs = json_array()) == NULL)
		return refuse(c, o, FVP_FAULT_STORE, FV_ENOMEM, NULL,
		    "out of memory");
	for (i = 0; i < n; i++) {
		if ((rc = appeal_json(d->store, ids + i * FV_ID_BYTES, &rec)) !=
		    0) {
			fv_op_id_hex(ids + i * FV_ID_BYTES, hex);
			return refuse(c, o, FVP_FAULT_STORE, rc, "ids",
			    "exchange send: appeal %s: %s", hex,
			    fv_error_str(rc));
		}
		json_array_append_new(c->recs, rec); /* redacted when set */
	}
	if ((rc = xchg_setup(d, c)) != 0)
		return refuse(c, o, FVP_FAULT_STORE, rc, NULL, "exchange: %s",
		    fv_error_str(rc));
	for (i = 0; i < c->x.npartners; i++)
		if (strcmp(c->x.partners[i].name, partner) == 0)
			c->x.partner = &c->x.partners[i];
	if (c->x.partner == NULL)
		return refuse(c, o, FVP_FAULT_INPUT, 0, "partner",
		    "exchange send: no partner '%s' in %s (a [partner.%s] "
		    "section with its public_key)",
		    partner, d->conf->path, partner);
	c->j.run = send_run;
	c->j.done = send_done;
	fv_host_submit(d->plugins, &c->j);
	return c;
}

void
fv_exchange_gone(struct fvp_exchange *c)
{
	c->gone = 1;
}

/* A string leaf of st, or NULL (a new reference). */
static json_t *
leaf_string(const struct fv_state *st, const char *path)
{
	const struct fv_leaf *l = fv_state_leaf(st, path);
	json_t *v;

	if (l == NULL || l->val == NULL ||
	    (v = json_loadb(l->val, l->vallen, JSON_DECODE_ANY, NULL)) == NULL)
		return NULL;
	if (!json_is_string(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Adds the refs of b's appeals from partner to set. */
static void
held_in(const struct fv_scan_batch *b, const char *partner, json_t *set)
{
	json_t *p, *ref;
	size_t i;

	for (i = 0; i < b->n; i++) {
		p = leaf_string(&b->rec[i].st, "partner");
		ref = leaf_string(&b->rec[i].st, "partner_ref");
		if (p != NULL && ref != NULL &&
		    strcmp(json_string_value(p), partner) == 0)
			json_object_set_new(set, json_string_value(ref),
			    json_true());
		json_decref(p);
		json_decref(ref);
	}
}

/* The refs this partner's appeals already hold here. */
static json_t *
held_refs(struct fvd *d, const char *partner)
{
	struct fv_store_scan *sc;
	struct fv_scan_batch *b;
	struct fv_filter f;
	json_t *set = json_object();
	int done = 0;

	memset(&f, 0, sizeof(f));
	f.rtype = FV_RTYPE_APPEAL;
	f.channel = "partner";
	if (set == NULL || fv_store_scan_new(d->store, &f, NULL, &sc) != 0) {
		json_decref(set);
		return NULL;
	}
	while (!done && set != NULL) {
		if (fv_store_scan_read(d->store, sc, 512, &b, &done) != 0) {
			json_decref(set);
			set = NULL;
			break;
		}
		held_in(b, partner, set);
		fv_store_scan_recycle(sc, b);
	}
	fv_store_scan_free(sc);
	return set;
}

/* A partner's appeal as it is stored here, or NULL with why. */
static json_t *
appeal_from(struct inappeal *a, const char *partner, size_t k, char *why,
    size_t wlen)
{
	json_t *b = json_object(), *ap;
	struct fv_verr e;
	int i;

	for (i = 0; b != NULL && fv_sdk_xchg_travel[i] != NULL; i++)
		if ((ap = json_object_get(a->body, fv_sdk_xchg_travel[i])) !=
		    NULL)
			json_object_set(b, fv_sdk_xchg_travel[i], ap);
	ap = json_object_get(b, "applicant");
	if (json_is_object(ap) &&
	    json_is_true(json_object_get(ap, "confidential")) &&
	    json_object_get(ap, "full_name") == NULL) {
		/* the name stayed with the partner, as the applicant asked */
		ap = json_deep_copy(ap);
		json_object_set_new(ap, "full_name", json_string("(withheld)"));
		json_object_set_new(b, "applicant", ap);
	}
	json_object_set_new(b, "channel", json_string("partner"));
	json_object_set_new(b, "partner", json_string(partner));
	json_object_set_new(b, "partner_ref", json_string(a->ref));
	memset(&e, 0, sizeof(e));
	if (fv_record_check(b, FV_RTYPE_APPEAL, &e) != 0) {
		snprintf(why, wlen, "entry %zu (ref %.40s): %.90s: %.100s", k,
		    a->ref, e.field, e.msg);
		json_decref(b);
		return NULL;
	}
	fv_record_strip_readonly(b);
	fv_record_defaults(b, FV_RTYPE_APPEAL, fv_hlc_now_ms());
	return b;
}

static void
import_done(struct fvp_job *j)
{
	struct fvp_exchange *c = (struct fvp_exchange *)j;
	const char *name;
	char why[512] = "", hex[2 * FV_ID_BYTES + 1];
	json_t *held = NULL, *b, *rec, *patch;
	size_t i;
	int rc;

	if (c->gone) {
		xchg_free(c);
		return;
	}
	if (c->rc != 0) {
		fv_log_warnx("exchange: package refused: %s",
		    c->x.why[0] ? c->x.why : "the plugin failed");
		outcome(c, FVP_FAULT_REFUSED, "exchange: package refused: %s",
		    c->x.why[0] ? c->x.why :
				  "the plugin failed (see the "
				  "daemon's log)");
		xchg_free(c);
		return;
	}
	name = c->x.partner->name;
	if ((c->w = calloc(c->x.nap + c->x.nrp + 1, sizeof(*c->w))) == NULL ||
	    (held = held_refs(c->d, name)) == NULL)
		fv_log_fatalx("exchange: out of memory");
	/* everything is checked before anything is written */
	for (i = 0; i < c->x.nap && why[0] == '\0'; i++) {
		if (json_object_get(held, c->x.ap[i].ref) != NULL) {
			c->skipped++;
			continue;
		}
		if ((b = appeal_from(&c->x.ap[i], name, i + 1, why,
			 sizeof(why))) == NULL)
			break;
		json_object_set_new(held, c->x.ap[i].ref, json_true());
		add_write(c, FV_W_CREATE, b, NULL);
		c->created++;
	}
	for (i = 0; i < c->x.nrp && why[0] == '\0'; i++) {
		struct inreply *r = &c->x.rp[i];
		const char *p;

		fv_op_id_hex(r->id, hex);
		if ((rc = appeal_json(c->d->store, r->id, &rec)) != 0) {
			snprintf(why, sizeof(why), "reply on appeal %s: %s",
			    hex, fv_error_str(rc));
			break;
		}
		p = jstr(rec, "partner");
		if (p == NULL || strcmp(p, name) != 0) {
			snprintf(why, sizeof(why),
			    "reply on appeal %s, which "
			    "was not sent to %s",
			    hex, name);
			json_decref(rec);
			break;
		}
		json_decref(rec);
		patch = json_pack("{s:s}", "status", r->status);
		if (r->ref[0] != '\0')
			json_object_set_new(patch, "partner_ref",
			    json_string(r->ref));
		if (r->outcome != NULL)
			json_object_set_new(patch, "x_partner_outcome",
			    json_string(r->outcome));
		add_write(c, FV_W_UPDATE, patch, r->id);
		c->replies++;
	}
	json_decref(held);
	if (why[0] != '\0') {
		fv_log_warnx("exchange: package from %s refused: %s", name,
		    why);
		outcome(c, FVP_FAULT_REFUSED, "exchange: package refused: %s",
		    why);
		xchg_free(c);
		return;
	}
	submit_writes(c);
}

struct fvp_exchange *
fv_exchange_import(struct fvd *d, const char *format, uint8_t *pkg, size_t len,
    fvp_exchange_done done, void *arg, struct fvp_outcome *o)
{
	struct fvp_exchange *c;
	int rc;

	if ((c = xchg_new(d, format, done, arg)) == NULL) {
		sodium_memzero(pkg, len);
		free(pkg);
		return refuse(NULL, o, FVP_FAULT_STORE, FV_ENOMEM, NULL,
		    "out of memory");
	}
	c->pkg = pkg;
	c->pkglen = len;
	c->x.importing = 1;
	if ((rc = xchg_setup(d, c)) != 0)
		return refuse(c, o, FVP_FAULT_STORE, rc, NULL, "exchange: %s",
		    fv_error_str(rc));
	c->j.run = import_run;
	c->j.done = import_done;
	fv_host_submit(d->plugins, &c->j);
	return c;
}
