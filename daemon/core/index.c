#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fold.h"
#include "fv_error.h"
#include "index.h"

/* Entries live in slabs of their own, not among the heap's short-lived
 * parse trees and buffers: the heap can then be given back to the system
 * after a bulk import (malloc_trim), and the daemon stays small.  A slab
 * entry is never freed alone; replaced and deleted entries are counted as
 * waste and the slabs compacted when waste outgrows the live entries. */
#define SLAB_BYTES  (256 * 1024)
#define COMPACT_MIN (4 * 1024 * 1024)

struct slab {
	struct slab *next;
	size_t used, cap;
	unsigned char data[];
};

struct fv_index {
	struct fv_ientry **tab; /* open addressing, linear probing */
	size_t cap, n;
	size_t count[3]; /* by rtype */
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct slab *slabs;
	size_t live, waste; /* bytes in slabs */
};

static size_t
slot_of(const struct fv_index *idx, const uint8_t *rid)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	/* keyed: ids from peers cannot be chosen to collide */
	crypto_shorthash(h, rid, FV_ID_BYTES, idx->hkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (idx->cap - 1);
}

int
fv_index_new(struct fv_index **out)
{
	struct fv_index *idx = calloc(1, sizeof(*idx));

	if (idx == NULL ||
	    (idx->tab = calloc(1024, sizeof(*idx->tab))) == NULL) {
		free(idx);
		return FV_ENOMEM;
	}
	idx->cap = 1024;
	crypto_shorthash_keygen(idx->hkey);
	*out = idx;
	return 0;
}

static void
wipe_str(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
fv_index_entry_free(struct fv_ientry *e)
{
	if (e == NULL)
		return;
	wipe_str(e->assigned_to);
	wipe_str(e->fname);
	wipe_str(e->floc);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

static void
slabs_free(struct slab *sl)
{
	struct slab *next;

	for (; sl != NULL; sl = next) {
		next = sl->next;
		sodium_memzero(sl->data, sl->used); /* folded names */
		free(sl);
	}
}

void
fv_index_free(struct fv_index *idx)
{
	if (idx == NULL)
		return;
	slabs_free(idx->slabs);
	free(idx->tab);
	free(idx);
}

static size_t
entry_bytes(const struct fv_ientry *e)
{
	size_t n = sizeof(*e);

	n += e->assigned_to ? strlen(e->assigned_to) + 1 : 0;
	n += e->fname ? strlen(e->fname) + 1 : 0;
	n += e->floc ? strlen(e->floc) + 1 : 0;
	return (n + 15) & ~(size_t)15;
}

static char *
slab_str(char **at, const char *s)
{
	char *p = *at;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(p, s, n);
	*at += n;
	return p;
}

/* A copy of e in a slab, or NULL. */
static struct fv_ientry *
slab_copy(struct fv_index *idx, const struct fv_ientry *e)
{
	size_t need = entry_bytes(e);
	struct fv_ientry *c;
	struct slab *sl = idx->slabs;
	char *at;

	if (sl == NULL || sl->cap - sl->used < need) {
		size_t cap = need > SLAB_BYTES ? need : SLAB_BYTES;

		if ((sl = malloc(sizeof(*sl) + cap)) == NULL)
			return NULL;
		sl->used = 0;
		sl->cap = cap;
		sl->next = idx->slabs;
		idx->slabs = sl;
	}
	c = (struct fv_ientry *)(void *)(sl->data + sl->used);
	sl->used += need;
	*c = *e;
	at = (char *)(c + 1);
	c->assigned_to = slab_str(&at, e->assigned_to);
	c->fname = slab_str(&at, e->fname);
	c->floc = slab_str(&at, e->floc);
	idx->live += need;
	return c;
}

/* Copies every live entry into fresh slabs and drops the old ones. */
static void
compact(struct fv_index *idx)
{
	struct slab *old = idx->slabs;
	size_t i;

	idx->slabs = NULL;
	idx->live = idx->waste = 0;
	for (i = 0; i < idx->cap; i++)
		if (idx->tab[i] != NULL) {
			struct fv_ientry *c = slab_copy(idx, idx->tab[i]);

			if (c == NULL) { /* keep the old slabs too */
				struct slab *sl = idx->slabs;

				while (sl->next != NULL)
					sl = sl->next;
				sl->next = old;
				return;
			}
			idx->tab[i] = c;
		}
	slabs_free(old);
}

/* A JSON string literal with no escapes is its own text between the
 * quotes: the common case, decoded without a parser. */
static int
plain_string(const struct fv_leaf *f, const char **p, size_t *n)
{
	if (f->vallen < 2 || f->val[0] != '"' || f->val[f->vallen - 1] != '"' ||
	    memchr(f->val, '\\', f->vallen) != NULL)
		return 0;
	*p = f->val + 1;
	*n = f->vallen - 2;
	return 1;
}

/* The string value of a leaf, copied into buf; "" when absent. */
static int
leaf_str(const struct fv_state *st, const char *path, char *buf, size_t len)
{
	const struct fv_leaf *f = fv_state_leaf(st, path);
	json_t *v;
	int rc = 0;

	const char *p;
	size_t n;

	buf[0] = '\0';
	if (f == NULL || f->val == NULL)
		return 0;
	if (plain_string(f, &p, &n)) {
		if (n >= len)
			return FV_EINVAL;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return 0;
	}
	if ((v = json_loadb(f->val, f->vallen, JSON_DECODE_ANY, NULL)) == NULL)
		return FV_EINVAL;
	if (!json_is_string(v) || json_string_length(v) >= len)
		rc = FV_EINVAL;
	else
		memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	json_decref(v);
	return rc;
}

/* Folded copy of a text leaf, or NULL when absent. */
static int
leaf_fold(const struct fv_state *st, const char *path, char **out)
{
	const struct fv_leaf *f = fv_state_leaf(st, path);
	json_t *v;
	size_t n;
	int rc;

	const char *p;

	*out = NULL;
	if (f == NULL || f->val == NULL)
		return 0;
	if (plain_string(f, &p, &n))
		return fv_fold_str(p, n, out, &n);
	if ((v = json_loadb(f->val, f->vallen, JSON_DECODE_ANY, NULL)) == NULL)
		return FV_EINVAL;
	rc = json_is_string(v) ?
	    fv_fold_str(json_string_value(v), json_string_length(v), out, &n) :
	    FV_EINVAL;
	json_decref(v);
	return rc;
}

int
fv_index_make(const struct fv_state *st, const uint8_t rid[FV_ID_BYTES],
    uint32_t slot, struct fv_ientry **out)
{
	struct fv_ientry *e = calloc(1, sizeof(*e));
	char buf[2 * FV_ID_BYTES + 1], grp[128];
	int rc;

	*out = NULL;
	if (e == NULL)
		return FV_ENOMEM;
	memcpy(e->rid, rid, FV_ID_BYTES);
	e->rtype = st->rtype;
	e->created_hlc = st->created_hlc;
	e->slot = slot;
	if ((e->single = st->nops == 1))
		memcpy(e->opref, st->oprefs, sizeof(e->opref));
	if ((rc = leaf_str(st, "status", e->status, sizeof(e->status))) ||
	    (rc = leaf_str(st, "category", e->category, sizeof(e->category))) ||
	    (rc = leaf_str(st, "channel", e->channel, sizeof(e->channel))) ||
	    (rc = leaf_str(st, "concerns_country", e->country,
		 sizeof(e->country))) ||
	    (rc = leaf_str(st, "assigned_to", grp, sizeof(grp))) ||
	    (rc = leaf_str(st, "appeal_id", buf, sizeof(buf))))
		goto fail;
	if (grp[0] != '\0' && (e->assigned_to = strdup(grp)) == NULL) {
		rc = FV_ENOMEM;
		goto fail;
	}
	if (buf[0] != '\0' && fv_op_id_parse(buf, e->appeal_id) == 0)
		e->has_appeal = 1;
	if ((rc = leaf_fold(st, "applicant.full_name", &e->fname)) != 0 ||
	    (rc = leaf_fold(st, "applicant.location", &e->floc)) != 0)
		goto fail;
	*out = e;
	return 0;
fail:
	fv_index_entry_free(e);
	return rc;
}

/* A slab entry leaves the index: wipe its strings, count it as waste. */
static void
drop_entry(struct fv_index *idx, struct fv_ientry *e)
{
	size_t n = entry_bytes(e);

	sodium_memzero(e, n);
	idx->live -= n;
	idx->waste += n;
}

static size_t
find(const struct fv_index *idx, const uint8_t *rid)
{
	size_t i = slot_of(idx, rid);

	while (idx->tab[i] != NULL &&
	    memcmp(idx->tab[i]->rid, rid, FV_ID_BYTES) != 0)
		i = (i + 1) & (idx->cap - 1);
	return i;
}

static int
rehash(struct fv_index *idx, size_t cap)
{
	struct fv_ientry **old = idx->tab;
	size_t oldcap = idx->cap, i;

	if ((idx->tab = calloc(cap, sizeof(*idx->tab))) == NULL) {
		idx->tab = old;
		return FV_ENOMEM;
	}
	idx->cap = cap;
	for (i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			idx->tab[find(idx, old[i]->rid)] = old[i];
	free(old);
	return 0;
}

int
fv_index_put(struct fv_index *idx, struct fv_ientry *e)
{
	struct fv_ientry *c;
	size_t i;

	if ((idx->n + 1) * 4 > idx->cap * 3 && rehash(idx, idx->cap * 2) != 0) {
		fv_index_entry_free(e);
		return FV_ENOMEM;
	}
	c = slab_copy(idx, e);
	fv_index_entry_free(e);
	if (c == NULL)
		return FV_ENOMEM;
	i = find(idx, c->rid);
	if (idx->tab[i] != NULL) {
		idx->count[idx->tab[i]->rtype % 3]--;
		drop_entry(idx, idx->tab[i]);
	} else
		idx->n++;
	idx->tab[i] = c;
	idx->count[c->rtype % 3]++;
	if (idx->waste > COMPACT_MIN && idx->waste > idx->live)
		compact(idx);
	return 0;
}

void
fv_index_del(struct fv_index *idx, const uint8_t rid[FV_ID_BYTES])
{
	size_t i = find(idx, rid), j, k;

	if (idx->tab[i] == NULL)
		return;
	idx->count[idx->tab[i]->rtype % 3]--;
	drop_entry(idx, idx->tab[i]);
	idx->tab[i] = NULL;
	idx->n--;
	/* backward-shift deletion keeps probe chains whole */
	for (j = (i + 1) & (idx->cap - 1); idx->tab[j] != NULL;
	     j = (j + 1) & (idx->cap - 1)) {
		k = slot_of(idx, idx->tab[j]->rid);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			idx->tab[i] = idx->tab[j];
			idx->tab[j] = NULL;
			i = j;
		}
	}
}

const struct fv_ientry *
fv_index_get(const struct fv_index *idx, const uint8_t rid[FV_ID_BYTES])
{
	return idx->tab[find(idx, rid)];
}

size_t
fv_index_count(const struct fv_index *idx, int rtype)
{
	return idx->count[rtype % 3];
}

static int
match(const struct fv_ientry *e, const struct fv_filter *f)
{
	if (f->rtype && e->rtype != f->rtype)
		return 0;
	if (f->status && strcmp(f->status, e->status) != 0)
		return 0;
	if (f->country && strcmp(f->country, e->country) != 0)
		return 0;
	if (f->channel && strcmp(f->channel, e->channel) != 0)
		return 0;
	if (f->category && strcmp(f->category, e->category) != 0)
		return 0;
	if (f->assigned_to &&
	    (e->assigned_to == NULL ||
		strcmp(f->assigned_to, e->assigned_to) != 0))
		return 0;
	if (f->appeal_id &&
	    (!e->has_appeal ||
		memcmp(f->appeal_id, e->appeal_id, FV_ID_BYTES) != 0))
		return 0;
	return 1;
}

static int
by_created(const void *a, const void *b)
{
	const struct fv_ientry *x = *(const struct fv_ientry *const *)a;
	const struct fv_ientry *y = *(const struct fv_ientry *const *)b;

	if (x->created_hlc != y->created_hlc)
		return x->created_hlc < y->created_hlc ? -1 : 1;
	return memcmp(x->rid, y->rid, FV_ID_BYTES);
}

int
fv_index_select(const struct fv_index *idx, const struct fv_filter *f,
    const struct fv_ientry ***out, size_t *n)
{
	const struct fv_ientry **v;
	size_t i, k = 0;

	if ((v = malloc((idx->n + 1) * sizeof(*v))) == NULL)
		return FV_ENOMEM;
	for (i = 0; i < idx->cap; i++)
		if (idx->tab[i] != NULL && match(idx->tab[i], f))
			v[k++] = idx->tab[i];
	qsort(v, k, sizeof(*v), by_created);
	*out = v;
	*n = k;
	return 0;
}
