/*
 * stats.c - the stats exporter: how many appeals, by concerns_country,
 * category, status and channel, for the records of the run (the host has
 * already kept only those of the period asked for; "from" and "to" are
 * only printed).  Notes are not counted.
 *
 * Output, at the end of a complete run only: a text table, or with the
 * option json=1 one JSON object
 *
 *   {"period":{"from":F|null,"to":T|null},"total":N,
 *    "by_concerns_country":{"RU":38,...},"by_category":{...},
 *    "by_status":{...},"by_channel":{...}}
 *
 * each count list sorted by count, largest first, then by name.
 *
 * The counts live in one small open-addressing hash per dimension.  Every
 * value is a short enum or a country code, but nothing here trusts that:
 * past MAX_KEYS distinct values, or for a value longer than KEY_MAX
 * bytes, the record counts as "other".
 */
#include <fieldvault/plugin.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#ifndef FV_PLUGIN_EXPORT_NAME
#define FV_PLUGIN_EXPORT_NAME fieldvault_plugin_v1
#endif

#define KEY_MAX	 47   /* bytes of a value */
#define MAX_KEYS 512  /* distinct values per dimension */
#define SLOTS	 1024 /* a power of 2 above MAX_KEYS */
#define OVERFLOW "other"
#define ABSENT	 "unknown" /* a required field missing */

struct slot {
	unsigned long long count; /* 0: free */
	char key[KEY_MAX + 1];
};

struct dim {
	size_t nkeys;
	struct slot slot[SLOTS];
};

enum {
	D_COUNTRY,
	D_CATEGORY,
	D_STATUS,
	D_CHANNEL,
	NDIMS
};

/* The record's field, its count when absent (channel and status: their
 * defaults), its member in the JSON output. */
static const struct {
	const char *field, *absent, *json;
} dims[NDIMS] = {
	{ "concerns_country", ABSENT, "by_concerns_country" },
	{ "category", ABSENT, "by_category" },
	{ "status", "received", "by_status" },
	{ "channel", "in_person", "by_channel" },
};

struct run {
	unsigned long long total;
	struct dim d[NDIMS];
};

/* The plugin's state is its host handle: its only use is logging. */
static int
stats_init(fv_host *h, void **state)
{
	*state = h;
	return 0;
}

/* FNV-1a: short keys, no adversary worth more (the bound holds anyway). */
static size_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h & (SLOTS - 1);
}

/* The slot of key: found, or taken for it; NULL when a new key is not
 * allowed (the table holds MAX_KEYS keys already). */
static struct slot *
find(struct dim *d, const char *key, int may_add)
{
	size_t i;

	for (i = hash(key); d->slot[i].count != 0; i = (i + 1) & (SLOTS - 1))
		if (strcmp(d->slot[i].key, key) == 0)
			return &d->slot[i];
	if (!may_add)
		return NULL;
	memcpy(d->slot[i].key, key, strlen(key) + 1);
	d->nkeys++;
	return &d->slot[i];
}

static void
count(struct dim *d, const char *v)
{
	struct slot *s;

	if (strlen(v) > KEY_MAX ||
	    (s = find(d, v, d->nkeys < MAX_KEYS)) == NULL)
		/* "other" may go past MAX_KEYS: SLOTS leaves room for it */
		s = find(d, OVERFLOW, 1);
	s->count++;
}

static int
stats_begin(void *state, fv_export *x, void **run)
{
	struct run *rn;

	(void)state;
	(void)x;
	if ((rn = fv_alloc(sizeof(*rn))) == NULL)
		return -1;
	memset(rn, 0, sizeof(*rn));
	*run = rn;
	return 0;
}

static int
stats_record(void *run, fv_export *x, const fv_record *r)
{
	struct run *rn = run;
	const char *v, *type = fv_record_type(r);
	size_t i;

	(void)x;
	if (type == NULL || strcmp(type, "appeal") != 0)
		return 0;
	rn->total++;
	for (i = 0; i < NDIMS; i++) {
		if ((v = fv_record_get(r, dims[i].field)) == NULL)
			v = dims[i].absent;
		count(&rn->d[i], v);
	}
	return 0;
}

/* --- output ----------------------------------------------------------- */

static int
by_count(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a;
	const struct slot *y = *(const struct slot *const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The used slots of d, sorted, into v; how many. */
static size_t
sorted(const struct dim *d, const struct slot **v)
{
	size_t i, n = 0;

	for (i = 0; i < SLOTS; i++)
		if (d->slot[i].count != 0)
			v[n++] = &d->slot[i];
	qsort(v, n, sizeof(*v), by_count);
	return n;
}

static int
text_period(fv_output *o, const char *from, const char *to,
    unsigned long long total)
{
	if (from != NULL && to != NULL)
		return fv_output_printf(o, "Appeals from %s to %s: %llu\n",
		    from, to, total);
	if (from != NULL)
		return fv_output_printf(o, "Appeals from %s on: %llu\n", from,
		    total);
	if (to != NULL)
		return fv_output_printf(o, "Appeals up to %s: %llu\n", to,
		    total);
	return fv_output_printf(o, "Appeals, all time: %llu\n", total);
}

static int
text_out(struct run *rn, fv_export *x, const struct slot **v)
{
	fv_output *o = fv_export_output(x);
	size_t i, j, n;

	if (text_period(o, fv_export_option(x, "from"),
		fv_export_option(x, "to"), rn->total) != 0)
		return -1;
	for (i = 0; i < NDIMS; i++) {
		if (fv_output_printf(o, "\n%-21s %5s\n", dims[i].field,
			"count") != 0)
			return -1;
		n = sorted(&rn->d[i], v);
		for (j = 0; j < n; j++)
			if (fv_output_printf(o, "%-21s %5llu\n", v[j]->key,
				v[j]->count) != 0)
				return -1;
	}
	return 0;
}

/* A string option as JSON: null when absent. */
static json_t *
opt_json(const fv_export *x, const char *name)
{
	const char *s = fv_export_option(x, name);

	return s != NULL ? json_string(s) : json_null();
}

static json_t *
counts_json(const struct dim *d, const struct slot **v)
{
	json_t *o = json_object();
	size_t i, n = sorted(d, v);

	for (i = 0; o != NULL && i < n; i++)
		if (json_object_set_new(o, v[i]->key,
			json_integer((json_int_t)v[i]->count)) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/* json_dump_callback's sink: straight into the export. */
static int
dump_cb(const char *buf, size_t size, void *arg)
{
	return fv_output_write(arg, buf, size);
}

static int
json_out(struct run *rn, fv_export *x, const struct slot **v)
{
	json_t *top, *period;
	size_t i;
	int rc = -1;

	if ((top = json_object()) == NULL)
		return -1;
	if ((period = json_object()) == NULL ||
	    json_object_set_new(top, "period", period) != 0 ||
	    json_object_set_new(period, "from", opt_json(x, "from")) != 0 ||
	    json_object_set_new(period, "to", opt_json(x, "to")) != 0 ||
	    json_object_set_new(top, "total",
		json_integer((json_int_t)rn->total)) != 0)
		goto out;
	for (i = 0; i < NDIMS; i++)
		if (json_object_set_new(top, dims[i].json,
			counts_json(&rn->d[i], v)) != 0)
			goto out;
	if (json_dump_callback(top, dump_cb, fv_export_output(x),
		JSON_COMPACT) != 0 ||
	    fv_output_write(fv_export_output(x), "\n", 1) != 0)
		goto out;
	rc = 0;
out:
	json_decref(top);
	return rc;
}

static int
stats_end(void *run, fv_export *x, int complete)
{
	struct run *rn = run;
	const struct slot **v;
	const char *json;
	int rc = 0;

	if (complete) {
		if ((v = calloc(SLOTS, sizeof(*v))) == NULL)
			rc = -1;
		else {
			json = fv_export_option(x, "json");
			rc = json != NULL && strcmp(json, "1") == 0 ?
			    json_out(rn, x, v) :
			    text_out(rn, x, v);
			free(v);
		}
	}
	fv_free(rn);
	return rc;
}

const struct fv_plugin FV_PLUGIN_EXPORT_NAME = {
	FV_PLUGIN_ABI,
	.name = "stats",
	.version = "1.0",
	.description = "appeals counted by country, category, status, channel",
	.kinds = FV_KIND_EXPORTER,
	.config_keys = NULL,
	.init = stats_init,
	.export_begin = stats_begin,
	.export_record = stats_record,
	.export_end = stats_end,
};
