/*
 * mock.c - libfieldvault-mock: the host functions of <fieldvault/host.h>
 * that the SDK library (sdk/lib) leaves to the host, and the driver of
 * <fieldvault/mock.h>, so that a plugin can be unit-tested without a
 * daemon.  It behaves as fieldvaultd does where a plugin can tell
 * (daemon/plugin/host.c, export.c): the same descriptor checks, the same
 * redaction, the same refusals of bad calls.
 */
#include <fieldvault/mock.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "sdkimpl.h"

#define PARTNER_MAX_LEN 64		    /* a partner's name */
#define LOG_LINE_MAX	1000		    /* as the daemon cuts */
#define OUTPUT_MAX	(64u * 1024 * 1024) /* as the daemon bounds */
#define APPEAL_MAX	(1024 * 1024)	    /* a record, serialized */
#define ID_HEX		32
#define WHY_MAX		256

struct partner {
	char name[PARTNER_MAX_LEN + 1];
	uint8_t pk[FV_KEY_BYTES];
};

/* The handle a plugin gets. */
struct fv_host {
	struct fv_mock_host *m;
};

struct fv_mock_host {
	struct fv_host host;
	char *name, *role;
	char **kv; /* key, value, ..., NULL */
	char *log; /* NUL-terminated */
	size_t loglen, logcap;
	int verbose;
	int have_keys;
	uint8_t pk[FV_KEY_BYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	struct partner *partners;
	size_t npartners;
};

struct fv_export {
	struct fv_output out;
	const char **opt; /* name, value, ..., NULL */
};

struct fv_exchange {
	struct fv_mock_host *m;
	int import;
	const struct partner *partner; /* import: the sender */
	struct fv_output out;	       /* send */
	char *res;		       /* import: the lines */
	size_t reslen, rescap;
	json_t *refs;	/* import: refs added */
	size_t entries; /* import: adds accepted */
	int refused;	/* fv_exchange_refuse */
	int bad;	/* a call was refused */
	char refusal[WHY_MAX], why[WHY_MAX];
};

static const char *const levels[] = { "error", "warn", "info", "debug" };

/* --- the log -------------------------------------------------------------- */

static void
log_append(struct fv_mock_host *m, const char *level, const char *text)
{
	size_t n = strlen(level) + strlen(text) + 3, c;
	char *p;

	if (m->verbose)
		fprintf(stderr, "%s: %s\n", level, text);
	if (m->loglen + n + 1 > m->logcap) {
		for (c = m->logcap ? m->logcap : 1024; c < m->loglen + n + 1;
		     c *= 2)
			;
		if ((p = realloc(m->log, c)) == NULL)
			return; /* a lost line, not a failed test */
		m->log = p;
		m->logcap = c;
	}
	snprintf(m->log + m->loglen, n + 1, "%s: %s\n", level, text);
	m->loglen += n;
}

static void
mock_vlog(struct fv_mock_host *m, enum fv_level level, const char *fmt,
    va_list ap)
{
	char line[LOG_LINE_MAX + 1];

	level = fv_sdk_log_line(line, sizeof(line), level, fmt, ap);
	if (m == NULL)
		fprintf(stderr, "%s: %s\n", levels[level], line);
	else
		log_append(m, levels[level], line);
}

/* The mock's own lines ("mock: ..."). */
static void __attribute__((format(printf, 3, 4)))
mlog(struct fv_mock_host *m, enum fv_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mock_vlog(m, level, fmt, ap);
	va_end(ap);
}

void
fv_vlog(const fv_host *h, enum fv_level level, const char *fmt, va_list ap)
{
	mock_vlog(h != NULL ? h->m : NULL, level, fmt, ap);
}

void
fv_log(const fv_host *h, enum fv_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fv_vlog(h, level, fmt, ap);
	va_end(ap);
}

const char *
fv_mock_log(const fv_mock_host *m)
{
	return m != NULL && m->log != NULL ? m->log : "";
}

/* --- the installation and the plugin's section ---------------------------- */

fv_mock_host *
fv_mock_host_new(const char *name, const char *role, const char *const *kv)
{
	struct fv_mock_host *m;

	if (name == NULL || name[0] == '\0' || role == NULL ||
	    (strcmp(role, "field") != 0 && strcmp(role, "hq") != 0))
		return NULL;
	if (sodium_init() < 0 || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->host.m = m;
	m->verbose = getenv("FV_MOCK_VERBOSE") != NULL;
	if ((m->name = strdup(name)) == NULL ||
	    (m->role = strdup(role)) == NULL ||
	    (m->kv = fv_sdk_desc_kv_copy(kv)) == NULL) {
		fv_mock_host_free(m);
		return NULL;
	}
	return m;
}

void
fv_mock_host_free(fv_mock_host *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->role);
	fv_sdk_desc_kv_free(m->kv);
	free(m->log);
	free(m->partners);
	sodium_memzero(m, sizeof(*m)); /* the secret key */
	free(m);
}

const char *
fv_config_get(const fv_host *h, const char *key)
{
	size_t i;

	if (h == NULL || key == NULL)
		return NULL;
	for (i = 0; h->m->kv[i] != NULL; i += 2)
		if (strcmp(h->m->kv[i], key) == 0)
			return h->m->kv[i + 1];
	return NULL;
}

const char *
fv_host_name(const fv_host *h)
{
	return h != NULL ? h->m->name : NULL;
}

const char *
fv_host_role(const fv_host *h)
{
	return h != NULL ? h->m->role : NULL;
}

/* --- loading -------------------------------------------------------------- */

static int __attribute__((format(printf, 3, 4)))
refuse(struct fv_mock_host *m, const char *name, const char *fmt, ...)
{
	char why[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	mlog(m, FV_LOG_ERROR, "mock: plugin %.32s: refused: %s", name, why);
	return -1;
}

/* The checks of daemon/plugin/host.c, check_desc() and take_section(). */
static int
check_desc(struct fv_mock_host *m, const struct fv_plugin *d)
{
	char why[WHY_MAX];

	if (fv_sdk_desc_check(d, "host", why, sizeof(why)) != 0)
		return refuse(m, d->name != NULL ? d->name : "(null)", "%s",
		    why);
	return 0;
}

static int
check_section(struct fv_mock_host *m, const struct fv_plugin *d)
{
	long k = fv_sdk_desc_kv_unknown(d, (const char *const *)m->kv);

	if (k >= 0)
		return refuse(m, d->name,
		    "[plugin.%s] %s: not a key of this "
		    "plugin",
		    d->name, m->kv[k]);
	return 0;
}

int
fv_mock_load(fv_mock_host *m, const struct fv_plugin *p, void **state)
{
	if (m == NULL || state == NULL)
		return -1;
	*state = NULL;
	if (p == NULL)
		return refuse(m, "?", "no descriptor");
	if (check_desc(m, p) != 0 || check_section(m, p) != 0)
		return -1;
	if (p->init != NULL && p->init(&m->host, state) != 0) {
		*state = NULL;
		return refuse(m, p->name,
		    "its init failed (see its lines "
		    "above)");
	}
	mlog(m, FV_LOG_INFO,
	    "mock: plugin %s: loaded (version %s, ABI "
	    "%u.%u)",
	    p->name, p->version != NULL ? p->version : "?", p->abi_major,
	    p->abi_minor);
	return 0;
}

void
fv_mock_unload(fv_mock_host *m, const struct fv_plugin *p, void *state)
{
	if (p == NULL)
		return;
	if (p->fini != NULL)
		p->fini(state);
	if (m != NULL)
		mlog(m, FV_LOG_INFO, "mock: plugin %s: unloaded",
		    p->name != NULL ? p->name : "?");
}

/* --- records -------------------------------------------------------------- */

/* The records of text (JSON Lines) into *out, an array; appeals: only
 * appeals.  -1 with why set on a line that is not a record. */
static int
records_load(const char *text, int appeals, json_t **out, char *why,
    size_t whylen)
{
	const char *nl, *t;
	json_error_t e;
	json_t *a, *j;
	size_t n, line;

	if ((a = *out = json_array()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (line = 1; text != NULL && *text != '\0'; line++, text = nl) {
		nl = strchr(text, '\n');
		n = nl != NULL ? (size_t)(nl - text) : strlen(text);
		nl = nl != NULL ? nl + 1 : text + n;
		if (strspn(text, " \t\r") >= n)
			continue; /* an empty line */
		if ((j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e)) ==
		    NULL) {
			/* the position, not jansson's text: it quotes
			 * the record */
			snprintf(why, whylen,
			    "records line %zu, column %d: "
			    "not JSON",
			    line, e.column);
			goto fail;
		}
		t = json_string_value(json_object_get(j, "type"));
		if (!json_is_object(j) ||
		    json_string_value(json_object_get(j, "id")) == NULL ||
		    t == NULL) {
			snprintf(why, whylen,
			    "records line %zu: not a record "
			    "(an object with id and type)",
			    line);
			json_decref(j);
			goto fail;
		}
		if (appeals && strcmp(t, "appeal") != 0) {
			snprintf(why, whylen,
			    "records line %zu: not an "
			    "appeal",
			    line);
			json_decref(j);
			goto fail;
		}
		if (json_array_append_new(a, j) != 0) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	json_decref(a);
	*out = NULL;
	return -1;
}

/* --- exports -------------------------------------------------------------- */

fv_output *
fv_export_output(fv_export *x)
{
	return x != NULL ? &x->out : NULL;
}

const char *
fv_export_option(const fv_export *x, const char *name)
{
	size_t i;

	if (x == NULL || name == NULL)
		return NULL;
	for (i = 0; x->opt[i] != NULL; i += 2)
		if (strcmp(x->opt[i], name) == 0)
			return x->opt[i + 1];
	return NULL;
}

/* The run's options: the caller's, and type=appeal unless given. */
static const char **
options_copy(const char *const *o)
{
	const char **c;
	size_t i, n = 0;
	int type = 0;

	for (; o != NULL && o[n] != NULL; n += 2) {
		if (o[n + 1] == NULL)
			return NULL; /* a name without its value */
		type |= strcmp(o[n], "type") == 0;
	}
	if ((c = calloc(n + 3, sizeof(*c))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		c[i] = o[i];
	if (!type) {
		c[n++] = "type";
		c[n++] = "appeal";
	}
	c[n] = NULL;
	return c;
}

static int
file_flush(void *arg, const uint8_t *p, size_t len)
{
	return fwrite(p, 1, len, arg) == len ? 0 : -1;
}

/* begin, each record, end: as daemon/plugin/export.c calls them. */
static int
export_run(struct fv_mock_host *m, const struct fv_plugin *p, void *state,
    struct fv_export *x, json_t *recs)
{
	struct fv_record r;
	void *run = NULL;
	size_t i;
	int failed = 0, rc;

	if (p->export_begin(state, x, &run) != 0) {
		mlog(m, FV_LOG_ERROR, "mock: export: %s: export_begin failed",
		    p->name);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < json_array_size(recs) && !failed && !x->out.err; i++) {
		if (fv_sdk_record_from_json(&r, json_array_get(recs, i)) != 0 ||
		    p->export_record(run, x, &r) != 0) {
			mlog(m, FV_LOG_ERROR,
			    "mock: export: %s: export_record "
			    "failed (record %zu)",
			    p->name, i + 1);
			failed = 1;
		}
		fv_sdk_record_release(&r);
	}
	fv_sdk_record_free(&r);
	if (x->out.err) {
		mlog(m, FV_LOG_ERROR, "mock: export: %s: the output failed",
		    p->name);
		failed = 1;
	}
	/* end is called after every successful begin, complete or not */
	rc = p->export_end(run, x, !failed);
	if (rc != 0 && !failed)
		mlog(m, FV_LOG_ERROR, "mock: export: %s: export_end failed",
		    p->name);
	if (rc != 0 || failed || fv_sdk_output_flush(&x->out) != 0)
		return -1;
	return 0;
}

int
fv_mock_export(fv_mock_host *m, const struct fv_plugin *p, void *state,
    const char *const *options, const char *records_jsonl, FILE *out)
{
	struct fv_export x;
	char why[WHY_MAX];
	json_t *recs;
	int rc;

	if (m == NULL || p == NULL || out == NULL)
		return -1;
	if (!(p->kinds & FV_KIND_EXPORTER) || p->export_begin == NULL ||
	    p->export_record == NULL || p->export_end == NULL) {
		mlog(m, FV_LOG_ERROR, "mock: export: %s: not an exporter",
		    p->name != NULL ? p->name : "?");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	if ((x.opt = options_copy(options)) == NULL) {
		mlog(m, FV_LOG_ERROR,
		    "mock: export: bad options (name, "
		    "value, ..., NULL) or out of memory");
		return -1;
	}
	if (records_load(records_jsonl, 0, &recs, why, sizeof(why)) != 0) {
		mlog(m, FV_LOG_ERROR, "mock: export: %s", why);
		free(x.opt);
		return -1;
	}
	fv_sdk_output_init(&x.out, OUTPUT_MAX, file_flush, out);
	rc = export_run(m, p, state, &x, recs);
	fv_sdk_output_free(&x.out);
	json_decref(recs);
	free(x.opt);
	return rc;
}

/* --- hooks ------------------------------------------------------------ */

/* What the daemon passes a hook for a deleted record: its id and type. */
static void
cut_to_id(json_t *j)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(j, tmp, k, v)
		if (strcmp(k, "id") != 0 && strcmp(k, "type") != 0)
			json_object_del(j, k);
}

int
fv_mock_hook(fv_mock_host *m, const struct fv_plugin *p, void *state,
    enum fv_change change, const char *records_jsonl)
{
	struct fv_record r;
	char why[WHY_MAX];
	json_t *recs;
	size_t i;

	if (m == NULL || p == NULL)
		return -1;
	if (!(p->kinds & FV_KIND_HOOK) || p->hook == NULL ||
	    change < FV_CHANGE_CREATE || change > FV_CHANGE_DELETE) {
		mlog(m, FV_LOG_ERROR,
		    "mock: hook: not a hook, or not a "
		    "change");
		return -1;
	}
	if (records_load(records_jsonl, 0, &recs, why, sizeof(why)) != 0) {
		mlog(m, FV_LOG_ERROR, "mock: hook: %s", why);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < json_array_size(recs); i++) {
		if (change == FV_CHANGE_DELETE)
			cut_to_id(json_array_get(recs, i));
		if (fv_sdk_record_from_json(&r, json_array_get(recs, i)) == 0)
			p->hook(state, &m->host, change, &r);
		fv_sdk_record_release(&r);
	}
	fv_sdk_record_free(&r);
	json_decref(recs);
	return 0;
}

/* --- exchanges: keys and partners ----------------------------------------- */

int
fv_mock_set_keys(fv_mock_host *m, const uint8_t pk[32], const uint8_t sk[64])
{
	if (m == NULL || pk == NULL || sk == NULL ||
	    sodium_memcmp(sk + 32, pk, 32) != 0)
		return -1;
	memcpy(m->pk, pk, sizeof(m->pk));
	memcpy(m->sk, sk, sizeof(m->sk));
	m->have_keys = 1;
	return 0;
}

static const struct partner *
partner_by_name(const struct fv_mock_host *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->npartners; i++)
		if (strcmp(m->partners[i].name, name) == 0)
			return &m->partners[i];
	return NULL;
}

int
fv_mock_add_partner(fv_mock_host *m, const char *name, const uint8_t pk[32])
{
	struct partner *n;
	size_t len;

	if (m == NULL || name == NULL || pk == NULL ||
	    (len = strlen(name)) == 0 || len > PARTNER_MAX_LEN ||
	    partner_by_name(m, name) != NULL)
		return -1;
	if ((n = realloc(m->partners, (m->npartners + 1) * sizeof(*n))) == NULL)
		return -1;
	m->partners = n;
	n += m->npartners++;
	memcpy(n->name, name, len + 1);
	memcpy(n->pk, pk, sizeof(n->pk));
	return 0;
}

static int
have_keys(const fv_exchange *x)
{
	if (x == NULL)
		return 0;
	if (!x->m->have_keys)
		mlog(x->m, FV_LOG_ERROR,
		    "mock: the installation has no keys "
		    "(fv_mock_set_keys)");
	return x->m->have_keys;
}

int
fv_exchange_self_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES])
{
	if (!have_keys(x) || pk == NULL)
		return -1;
	memcpy(pk, x->m->pk, FV_KEY_BYTES);
	return 0;
}

int
fv_exchange_sign(fv_exchange *x, const void *msg, size_t len,
    uint8_t sig[FV_SIG_BYTES])
{
	uint8_t *b;
	int rc;

	if (!have_keys(x) || sig == NULL || (msg == NULL && len > 0) ||
	    len > SIZE_MAX - FV_EXCHANGE_SIG_CONTEXT_LEN)
		return -1;
	/* pure Ed25519 over context || msg: the context needs a copy */
	if ((b = fv_alloc(FV_EXCHANGE_SIG_CONTEXT_LEN + len)) == NULL)
		return -1;
	memcpy(b, FV_EXCHANGE_SIG_CONTEXT, FV_EXCHANGE_SIG_CONTEXT_LEN);
	if (len > 0)
		memcpy(b + FV_EXCHANGE_SIG_CONTEXT_LEN, msg, len);
	rc = crypto_sign_detached(sig, NULL, b,
	    FV_EXCHANGE_SIG_CONTEXT_LEN + len, x->m->sk);
	fv_free(b);
	return rc == 0 ? 0 : -1;
}

int
fv_exchange_open(fv_exchange *x, const uint8_t *sealed, size_t len,
    uint8_t *out)
{
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	uint8_t xsk[crypto_box_SECRETKEYBYTES];
	int rc = -1;

	if (!have_keys(x) || sealed == NULL || out == NULL ||
	    len < FV_SEAL_BYTES)
		return -1;
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, x->m->pk) == 0 &&
	    crypto_sign_ed25519_sk_to_curve25519(xsk, x->m->sk) == 0 &&
	    crypto_box_seal_open(out, sealed, len, xpk, xsk) == 0)
		rc = 0;
	sodium_memzero(xsk, sizeof(xsk));
	return rc;
}

const char *
fv_exchange_partner(const fv_exchange *x)
{
	return x != NULL && x->partner != NULL ? x->partner->name : NULL;
}

int
fv_exchange_partner_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES])
{
	if (x == NULL || x->partner == NULL || pk == NULL)
		return -1;
	memcpy(pk, x->partner->pk, FV_KEY_BYTES);
	return 0;
}

fv_output *
fv_exchange_output(fv_exchange *x)
{
	return x != NULL && !x->import ? &x->out : NULL;
}

int
fv_exchange_refuse(fv_exchange *x, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (x == NULL || x->refused)
		return -1; /* the first reason is the one */
	va_start(ap, fmt);
	vsnprintf(x->refusal, sizeof(x->refusal), fmt, ap);
	va_end(ap);
	/* it reaches a terminal: one line, as the daemon makes it */
	for (i = 0; x->refusal[i] != '\0'; i++)
		if ((unsigned char)x->refusal[i] < 0x20)
			x->refusal[i] = ' ';
	x->refused = 1;
	return -1;
}

/* --- exchanges: what an import adds --------------------------------------- */

/* A call of the plugin's the daemon would refuse: logged, remembered
 * (the first one) for the import's reason, -1. */
static int __attribute__((format(printf, 2, 3)))
bad_call(fv_exchange *x, const char *fmt, ...)
{
	char why[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	mlog(x->m, FV_LOG_ERROR, "mock: refused: %s", why);
	if (!x->bad)
		snprintf(x->why, sizeof(x->why), "%s", why);
	x->bad = 1;
	return -1;
}

/* Appends o (taken) as one line of the import's result. */
static int
result_line(fv_exchange *x, json_t *o)
{
	char *s, *p;
	size_t n, c;

	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s == NULL)
		return bad_call(x, "out of memory");
	n = strlen(s);
	if (x->reslen + n + 2 > x->rescap) {
		for (c = x->rescap ? x->rescap : 1024; c < x->reslen + n + 2;
		     c *= 2)
			;
		if ((p = realloc(x->res, c)) == NULL) {
			free(s);
			return bad_call(x, "out of memory");
		}
		x->res = p;
		x->rescap = c;
	}
	memcpy(x->res + x->reslen, s, n);
	x->reslen += n;
	x->res[x->reslen++] = '\n';
	x->res[x->reslen] = '\0';
	free(s);
	return 0;
}

int
fv_exchange_sender(fv_exchange *x, const uint8_t pk[FV_KEY_BYTES])
{
	size_t i;

	if (x == NULL)
		return -1;
	if (!x->import)
		return bad_call(x, "fv_exchange_sender: not in an import");
	if (pk == NULL)
		return bad_call(x, "fv_exchange_sender: no key");
	for (i = 0; i < x->m->npartners; i++)
		if (sodium_memcmp(x->m->partners[i].pk, pk, FV_KEY_BYTES) == 0)
			break;
	if (i == x->m->npartners)
		return bad_call(x,
		    "fv_exchange_sender: not the key of a "
		    "partner");
	if (x->partner != NULL)
		return x->partner == &x->m->partners[i] ?
		    0 :
		    bad_call(x, "fv_exchange_sender: a second, other sender");
	x->partner = &x->m->partners[i];
	return result_line(x, json_pack("{s:s}", "sender", x->partner->name));
}

static int
valid_id(const char *s)
{
	return s != NULL && strlen(s) == ID_HEX &&
	    strspn(s, "0123456789abcdef") == ID_HEX;
}

/* The common checks of an addition: an import whose sender is known,
 * and room for one more entry. */
static int
may_add(fv_exchange *x, const char *fn)
{
	if (!x->import)
		return bad_call(x, "%s: not in an import", fn);
	if (x->partner == NULL)
		return bad_call(x, "%s: before fv_exchange_sender", fn);
	if (x->entries >= FV_SDK_ENTRIES_MAX)
		return bad_call(x, "%s: more than %d entries", fn,
		    FV_SDK_ENTRIES_MAX);
	return 0;
}

/* The appeal as the daemon takes it from a partner, before its schema
 * check and defaults: the fields that travel, the partner's marks.  (The
 * daemon also stores a confidential applicant's absent name as
 * "(withheld)": left out here, so that a test sees the name did not
 * travel.)  NULL when out of memory. */
static json_t *
partner_appeal(fv_exchange *x, json_t *in, const char *ref)
{
	json_t *a = json_object(), *v;
	size_t i;

	for (i = 0; a != NULL && fv_sdk_xchg_travel[i] != NULL; i++)
		if ((v = json_object_get(in, fv_sdk_xchg_travel[i])) != NULL &&
		    json_object_set(a, fv_sdk_xchg_travel[i], v) != 0)
			goto fail;
	if (a == NULL ||
	    json_object_set_new(a, "channel", json_string("partner")) != 0 ||
	    json_object_set_new(a, "partner", json_string(x->partner->name)) !=
		0 ||
	    json_object_set_new(a, "partner_ref", json_string(ref)) != 0)
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

int
fv_exchange_add_appeal(fv_exchange *x, const char *ref, const char *json,
    size_t len)
{
	json_t *in, *a;

	if (x == NULL)
		return -1;
	if (may_add(x, "fv_exchange_add_appeal") != 0)
		return -1;
	if (!fv_sdk_xchg_valid_ref(ref))
		return bad_call(x,
		    "fv_exchange_add_appeal: ref: not 1..%d "
		    "printable ASCII bytes",
		    FV_SDK_REF_MAX);
	if (json == NULL || len > APPEAL_MAX)
		return bad_call(x,
		    "fv_exchange_add_appeal: json: none, or "
		    "over %d bytes",
		    APPEAL_MAX);
	if ((in = json_loadb(json, len, 0, NULL)) == NULL ||
	    !json_is_object(in)) {
		json_decref(in);
		return bad_call(x,
		    "fv_exchange_add_appeal: json: not a JSON "
		    "object");
	}
	x->entries++;
	if (json_object_get(x->refs, ref) != NULL) {
		json_decref(in); /* held already: nothing to do */
		return 0;
	}
	a = partner_appeal(x, in, ref);
	json_decref(in);
	if (a == NULL || json_object_set_new(x->refs, ref, json_true()) != 0) {
		json_decref(a);
		return bad_call(x, "out of memory");
	}
	return result_line(x, json_pack("{s:o, s:s}", "appeal", a, "ref", ref));
}

int
fv_exchange_add_reply(fv_exchange *x, const char *id, const char *ref,
    const char *status, const char *outcome)
{
	json_t *o;

	if (x == NULL)
		return -1;
	if (may_add(x, "fv_exchange_add_reply") != 0)
		return -1;
	if (!valid_id(id))
		return bad_call(x,
		    "fv_exchange_add_reply: id: not %d "
		    "lowercase hex digits",
		    ID_HEX);
	if (ref != NULL && !fv_sdk_xchg_valid_ref(ref))
		return bad_call(x,
		    "fv_exchange_add_reply: ref: not 1..%d "
		    "printable ASCII bytes",
		    FV_SDK_REF_MAX);
	if (!fv_sdk_xchg_valid_status(status))
		return bad_call(x,
		    "fv_exchange_add_reply: status: not an "
		    "appeal status");
	if (outcome != NULL &&
	    fv_sdk_xchg_utf8_chars(outcome) > FV_SDK_OUTCOME_MAX)
		return bad_call(x,
		    "fv_exchange_add_reply: outcome: over %d "
		    "characters",
		    FV_SDK_OUTCOME_MAX);
	o = json_pack("{s:{s:s, s:s?, s:s, s:s?}}", "reply", "id", id, "ref",
	    ref, "status", status, "outcome", outcome);
	if (o == NULL) /* outcome is not UTF-8 */
		return bad_call(x,
		    "fv_exchange_add_reply: outcome: not "
		    "UTF-8");
	x->entries++;
	return result_line(x, o);
}

/* --- exchanges: the runs -------------------------------------------------- */

static void
set_err(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
}

/* Why the run failed: the plugin's refusal first, then the mock's. */
static const char *
run_why(const fv_exchange *x)
{
	if (x->refused)
		return x->refusal;
	if (x->bad)
		return x->why;
	if (x->out.err)
		return "the package failed (over 64 MiB, or out of memory)";
	return "the plugin failed without a reason (fv_exchange_refuse)";
}

static int
is_exchange(struct fv_mock_host *m, const struct fv_plugin *p, char *err,
    size_t errlen)
{
	if (p != NULL && (p->kinds & FV_KIND_EXCHANGE) &&
	    p->exchange_send != NULL && p->exchange_import != NULL)
		return 1;
	mlog(m, FV_LOG_ERROR, "mock: exchange: not an exchange plugin");
	set_err(err, errlen, "not an exchange plugin");
	return 0;
}

/* Wraps the records of recs: *rv (the records) and *pv (pointers to
 * them, as exchange_send takes them). */
static int
wrap_all(json_t *recs, struct fv_record **rv, const fv_record ***pv)
{
	size_t i, n = json_array_size(recs);

	*rv = calloc(n + 1, sizeof(**rv));
	*pv = calloc(n + 1, sizeof(**pv));
	if (*rv == NULL || *pv == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (fv_sdk_record_from_json(&(*rv)[i],
			json_array_get(recs, i)) != 0)
			return -1;
		(*pv)[i] = &(*rv)[i];
	}
	return 0;
}

static void
release_all(struct fv_record *rv, size_t n)
{
	size_t i;

	for (i = 0; rv != NULL && i < n; i++)
		fv_sdk_record_free(&rv[i]);
	free(rv);
}

static int
send_run(struct fv_mock_host *m, const struct fv_plugin *p, void *state,
    fv_exchange *x, json_t *recs, char *err, size_t errlen)
{
	struct fv_record *rv = NULL;
	const fv_record **pv = NULL;
	size_t n = json_array_size(recs);
	int rc = -1;

	if (wrap_all(recs, &rv, &pv) != 0)
		set_err(err, errlen, "out of memory");
	else if (p->exchange_send(state, x, pv, n) != 0 || x->refused ||
	    x->bad || x->out.err) {
		set_err(err, errlen, run_why(x));
		mlog(m, FV_LOG_ERROR, "mock: exchange send: %s: failed",
		    p->name);
	} else
		rc = 0;
	release_all(rv, n);
	free(pv);
	return rc;
}

int
fv_mock_exchange_send(fv_mock_host *m, const struct fv_plugin *p, void *state,
    const char *partner, const char *records_jsonl, uint8_t **pkg, size_t *len,
    char *err, size_t errlen)
{
	struct fv_exchange x;
	char why[WHY_MAX];
	json_t *recs;

	if (m == NULL || pkg == NULL || len == NULL)
		return -1;
	*pkg = NULL;
	*len = 0;
	if (!is_exchange(m, p, err, errlen))
		return -1;
	memset(&x, 0, sizeof(x));
	x.m = m;
	if (partner == NULL ||
	    (x.partner = partner_by_name(m, partner)) == NULL) {
		set_err(err, errlen, "no such partner (fv_mock_add_partner)");
		return -1;
	}
	if (records_load(records_jsonl, 1, &recs, why, sizeof(why)) != 0) {
		mlog(m, FV_LOG_ERROR, "mock: exchange send: %s", why);
		set_err(err, errlen, why);
		return -1;
	}
	fv_sdk_output_init(&x.out, OUTPUT_MAX, NULL, NULL);
	if (send_run(m, p, state, &x, recs, err, errlen) != 0) {
		fv_sdk_output_free(&x.out);
		json_decref(recs);
		return -1;
	}
	json_decref(recs);
	/* the buffer becomes the package (output.c mallocs it) */
	*pkg = x.out.p != NULL ? x.out.p : calloc(1, 1);
	*len = x.out.len;
	return *pkg != NULL ? 0 : -1;
}

int
fv_mock_exchange_import(fv_mock_host *m, const struct fv_plugin *p, void *state,
    const uint8_t *pkg, size_t len, char **result, char *err, size_t errlen)
{
	struct fv_exchange x;
	int rc;

	if (m == NULL || result == NULL || (pkg == NULL && len > 0))
		return -1;
	*result = NULL;
	if (!is_exchange(m, p, err, errlen))
		return -1;
	if (len == 0) { /* the daemon takes 1.. bytes */
		set_err(err, errlen, "an empty package");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	x.m = m;
	x.import = 1;
	if ((x.refs = json_object()) == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	rc = p->exchange_import(state, &x, pkg, len);
	if (rc == 0 && x.partner == NULL && !x.bad) /* else: that first */
		fv_exchange_refuse(&x, "the plugin named no sender");
	json_decref(x.refs);
	if (rc != 0 || x.refused || x.bad) {
		set_err(err, errlen, run_why(&x));
		mlog(m, FV_LOG_ERROR, "mock: exchange import: %s: refused",
		    p->name);
		if (x.res != NULL)
			sodium_memzero(x.res, x.rescap);
		free(x.res);
		return -1;
	}
	*result = x.res != NULL ? x.res : calloc(1, 1);
	return *result != NULL ? 0 : -1;
}
