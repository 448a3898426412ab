/*
 * record.c - the record accessors of <fieldvault/record.h>.
 *
 * A record is a list of leaves, each a path and its value as JSON text,
 * in the record's order: "id", "type", the fields ("applicant.full_name"
 * for a field of applicant or visit, any other value whole), then
 * "created_at", "updated_at", "created_by" and "conflict".  The daemon
 * makes them from the decrypted record without building a JSON tree (an
 * export reads 100,000 records a second); hooks, exchange and the mock
 * host make them from a jansson object.  fv_sdk_record_set decodes each
 * string once and sorts the paths, so an accessor is a binary search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdkimpl.h"

/* The objects whose fields are leaves of their own (as in the store). */
static int
is_split(const char *p, size_t n)
{
	return (n == 9 && memcmp(p, "applicant", 9) == 0) ||
	    (n == 5 && memcmp(p, "visit", 5) == 0);
}

/* The length of the head of a split path ("applicant" of
 * "applicant.full_name"), or 0. */
static size_t
split_head(const char *p, size_t n)
{
	const char *dot = memchr(p, '.', n);

	return dot != NULL && is_split(p, (size_t)(dot - p)) ?
	    (size_t)(dot - p) :
	    0;
}

static int
leaf_is(const struct fv_rleaf *f, const char *path, size_t n)
{
	return f->pathlen == n && memcmp(f->path, path, n) == 0;
}

/* Is the JSON text the literal true? */
static int
is_true(const char *json, size_t len)
{
	return len == 4 && memcmp(json, "true", 4) == 0;
}

static int
path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
hex4(const char *p, const char *end)
{
	long v = 0;
	int i, h;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static char *
put_utf8(char *o, unsigned long c)
{
	if (c < 0x80)
		*o++ = (char)c;
	else if (c < 0x800) {
		*o++ = (char)(0xc0 | (c >> 6));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*o++ = (char)(0xe0 | (c >> 12));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (c >> 18));
		*o++ = (char)(0x80 | ((c >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	return o;
}

/* Decodes the JSON string at p (its opening quote) into out, NUL-ended:
 * out needs as many bytes as the text has.  Returns the end of the string
 * (past the closing quote), or NULL if it is not one or holds a NUL. */
static const char *
decode_str(const char *p, const char *end, char *out)
{
	const char *q, *bs;
	char *o = out;
	long c, lo;

	if (p >= end || *p++ != '"')
		return NULL;
	for (;;) {
		/* the run up to the next quote or backslash, at once */
		q = memchr(p, '"', (size_t)(end - p));
		bs = memchr(p, '\\', (size_t)((q != NULL ? q : end) - p));
		if (bs == NULL) {
			if (q == NULL || memchr(p, '\0', (size_t)(q - p)))
				return NULL;
			memcpy(o, p, (size_t)(q - p));
			o[q - p] = '\0';
			return q + 1;
		}
		if (memchr(p, '\0', (size_t)(bs - p)) != NULL)
			return NULL;
		memcpy(o, p, (size_t)(bs - p));
		o += bs - p;
		p = bs + 1;
		if (p >= end)
			return NULL;
		switch (*p++) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if ((c = hex4(p, end)) <= 0) /* \u0000 too */
				return NULL;
			p += 4;
			if (c >= 0xd800 && c < 0xdc00) {
				if (end - p < 6 || p[0] != '\\' ||
				    p[1] != 'u' ||
				    (lo = hex4(p + 2, end)) < 0xdc00 ||
				    lo > 0xdfff)
					return NULL;
				p += 6;
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (c >= 0xdc00 && c < 0xe000)
				return NULL;
			o = put_utf8(o, (unsigned long)c);
			break;
		default:
			return NULL;
		}
	}
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The tags: a JSON array of strings, each decoded into mem.  Anything
 * else gives no tags.  Returns the end of what it wrote in mem. */
static char *
parse_tags(struct fv_record *r, const struct fv_rleaf *f, char *mem,
    const char **slots, size_t max)
{
	const char *p = f->json, *end = f->json + f->jsonlen;

	r->tags = slots;
	r->ntags = 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '[')
		return mem;
	p = skip_ws(p, end);
	if (p < end && *p == ']')
		return mem;
	while (r->ntags < max) {
		const char *next = decode_str(p, end, mem);

		if (next == NULL)
			break;
		slots[r->ntags++] = mem;
		mem += strlen(mem) + 1;
		p = skip_ws(next, end);
		if (p < end && *p == ']')
			return mem;
		if (p == end || *p++ != ',')
			break;
		p = skip_ws(p, end);
	}
	r->ntags = 0; /* not an array of strings */
	return mem;
}

/* Is the leaf an identifying field of a confidential applicant? */
static int
withheld(const struct fv_rleaf *f)
{
	static const char *keep[] = { "citizenship", "residence_country",
		"confidential", NULL };
	int i;

	if (f->pathlen < 10 || memcmp(f->path, "applicant.", 10) != 0)
		return 0;
	for (i = 0; keep[i] != NULL; i++)
		if (f->pathlen - 10 == strlen(keep[i]) &&
		    memcmp(f->path + 10, keep[i], f->pathlen - 10) == 0)
			return 0;
	return 1;
}

int
fv_sdk_record_set(struct fv_record *r, const struct fv_sdk_leaf *v, size_t n)
{
	size_t i, j, need, textbytes = 0, maxtags = 0;
	const struct fv_sdk_leaf *tags = NULL;
	int confidential = 0;
	char *text;
	const char **slots;

	fv_sdk_record_release(r);
	for (i = 0; i < n; i++) {
		if (v[i].pathlen == 22 &&
		    memcmp(v[i].path, "applicant.confidential", 22) == 0)
			confidential = is_true(v[i].json, v[i].jsonlen);
		if (v[i].pathlen == 4 && memcmp(v[i].path, "tags", 4) == 0) {
			tags = &v[i];
			maxtags = v[i].jsonlen / 2;
		}
		if (v[i].jsonlen > SIZE_MAX / 4 - textbytes)
			return -1;
		textbytes += v[i].jsonlen + 1;
	}
	if (tags != NULL)
		textbytes += tags->jsonlen + 1;
	need = n * (sizeof(struct fv_rleaf) + sizeof(uint32_t)) +
	    maxtags * sizeof(char *) + textbytes;
	if (need > r->memcap) {
		void *m = fv_alloc(need);

		if (m == NULL)
			return -1;
		fv_free(r->mem);
		r->mem = m;
		r->memcap = need;
	}
	/* most aligned first */
	r->leaf = (struct fv_rleaf *)r->mem;
	slots = (const char **)(r->leaf + n);
	r->by_path = (uint32_t *)(slots + maxtags);
	text = (char *)(r->by_path + n);
	for (i = 0; i < n; i++) {
		struct fv_rleaf *f = &r->leaf[r->n];
		const char *j0 = v[i].json;

		f->path = v[i].path;
		f->pathlen = (uint32_t)v[i].pathlen;
		f->json = j0;
		f->jsonlen = (uint32_t)v[i].jsonlen;
		f->text = NULL;
		if (f->jsonlen == 0 || (confidential && withheld(f)))
			continue;
		if (j0[0] == '"') {
			if (decode_str(j0, j0 + f->jsonlen, text) == NULL)
				continue; /* not a string: no such leaf */
			f->text = text;
			text += strlen(text) + 1;
		} else if (j0[0] == 't' || j0[0] == 'f' || j0[0] == '-' ||
		    (j0[0] >= '0' && j0[0] <= '9')) {
			memcpy(text, j0, f->jsonlen);
			text[f->jsonlen] = '\0';
			f->text = text;
			text += f->jsonlen + 1;
		}
		/* sorted by path: insertion, the input being nearly sorted */
		for (j = r->n; j > 0 &&
		     path_cmp(r->leaf[r->by_path[j - 1]].path,
			 r->leaf[r->by_path[j - 1]].pathlen, f->path,
			 f->pathlen) > 0;
		     j--)
			r->by_path[j] = r->by_path[j - 1];
		r->by_path[j] = (uint32_t)r->n++;
		if (leaf_is(f, "id", 2))
			r->id = f->text;
		else if (leaf_is(f, "type", 4))
			r->type = f->text;
		else if (leaf_is(f, "tags", 4))
			text = parse_tags(r, f, text, slots, maxtags);
	}
	return r->id != NULL && r->type != NULL ? 0 : -1;
}

/* --- records made from jansson ---------------------------------------------- */

struct conv {
	char *p; /* fv_alloc'd: plaintext */
	size_t len, cap;
	struct {
		size_t path, pathlen, json, jsonlen;
	} * v;
	size_t n, capv;
	int err;
};

static size_t
conv_put(struct conv *c, const char *s, size_t n)
{
	size_t at = c->len;

	if (c->err)
		return 0;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		char *p;

		while (cap < c->len + n)
			cap *= 2;
		if ((p = fv_realloc(c->p, cap)) == NULL) {
			c->err = 1;
			return 0;
		}
		c->p = p;
		c->cap = cap;
	}
	if (s != NULL) /* NULL: room only */
		memcpy(c->p + c->len, s, n);
	c->len += n;
	return at;
}

/* v as compact JSON text in wiping memory (fv_free it), NUL-ended. */
static char *
dump(const json_t *v, size_t *len)
{
	size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	char *s;

	if (n == 0 || (s = fv_alloc(n + 1)) == NULL)
		return NULL;
	json_dumpb(v, s, n, JSON_COMPACT | JSON_ENCODE_ANY);
	s[n] = '\0';
	*len = n;
	return s;
}

static void
conv_leaf(struct conv *c, const char *head, const char *key, json_t *val)
{
	size_t path, json, n;
	char *s;

	if (c->n == c->capv) {
		size_t cap = c->capv ? 2 * c->capv : 32;
		void *v = realloc(c->v, cap * sizeof(*c->v));

		if (v == NULL) {
			c->err = 1;
			return;
		}
		c->v = v;
		c->capv = cap;
	}
	path = c->len;
	if (head != NULL) {
		conv_put(c, head, strlen(head));
		conv_put(c, ".", 1);
	}
	conv_put(c, key, strlen(key));
	if ((s = dump(val, &n)) == NULL) {
		c->err = 1;
		return;
	}
	json = conv_put(c, s, n);
	fv_free(s);
	c->v[c->n].path = path;
	c->v[c->n].pathlen = json - path;
	c->v[c->n].json = json;
	c->v[c->n++].jsonlen = n;
}

int
fv_sdk_record_from_json(struct fv_record *r, const json_t *j)
{
	struct conv c = { 0 };
	struct fv_sdk_leaf *v;
	const char *k, *k2;
	json_t *val, *val2;
	size_t i;
	int rc = -1;

	if (!json_is_object(j))
		return -1;
	json_object_foreach((json_t *)j, k, val) {
		if (json_is_null(val))
			continue;
		if (is_split(k, strlen(k)) && json_is_object(val))
			json_object_foreach(val, k2, val2) {
				if (!json_is_null(val2))
					conv_leaf(&c, k, k2, val2);
			}
		else
			conv_leaf(&c, NULL, k, val);
	}
	if (!c.err && (v = calloc(c.n + 1, sizeof(*v))) != NULL) {
		for (i = 0; i < c.n; i++) {
			v[i].path = c.p + c.v[i].path;
			v[i].pathlen = c.v[i].pathlen;
			v[i].json = c.p + c.v[i].json;
			v[i].jsonlen = c.v[i].jsonlen;
		}
		rc = fv_sdk_record_set(r, v, c.n);
		free(v);
	}
	free(c.v);
	if (rc != 0) {
		fv_free(c.p);
		fv_sdk_record_release(r);
		return -1;
	}
	r->src = c.p; /* the leaves point into it */
	return 0;
}

void
fv_sdk_record_release(struct fv_record *r)
{
	size_t i;

	for (i = 0; i < r->nowned; i++)
		fv_free(r->owned[i]);
	r->nowned = 0;
	fv_free(r->src);
	r->src = NULL;
	if (r->mem != NULL)
		sodium_memzero(r->mem, r->memcap);
	r->leaf = NULL;
	r->by_path = NULL;
	r->n = r->ntags = 0;
	r->tags = NULL;
	r->id = r->type = NULL;
}

void
fv_sdk_record_free(struct fv_record *r)
{
	fv_sdk_record_release(r);
	free(r->owned);
	fv_free(r->mem);
	memset(r, 0, sizeof(*r));
}

/* --- accessors --------------------------------------------------------------- */

/* Keeps s (fv_alloc'd) until the record is released; NULL if out of
 * memory (s is freed). */
static const char *
own(const fv_record *cr, char *s)
{
	struct fv_record *r = (struct fv_record *)cr;
	char **n;

	if (s == NULL)
		return NULL;
	if (r->nowned == r->capowned) {
		size_t c = r->capowned ? 2 * r->capowned : 8;

		if ((n = realloc(r->owned, c * sizeof(*n))) == NULL) {
			fv_free(s);
			return NULL;
		}
		r->owned = n;
		r->capowned = c;
	}
	r->owned[r->nowned++] = s;
	return s;
}

static const struct fv_rleaf *
find(const fv_record *r, const char *path, size_t n)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fv_rleaf *f = &r->leaf[r->by_path[mid]];
		int c = path_cmp(f->path, f->pathlen, path, n);

		if (c == 0)
			return f;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A path inside a whole value ("x_extra.case.number"): parses the
 * longest leaf that is a prefix of it.  A new reference or NULL. */
static json_t *
inside(const fv_record *r, const char *path, size_t n)
{
	const struct fv_rleaf *f = NULL;
	const char *rest, *dot;
	json_t *root, *v;
	char part[128];
	size_t k = n;

	while (f == NULL && k > 0) {
		while (k > 0 && path[--k] != '.')
			;
		if (k > 0)
			f = find(r, path, k);
	}
	if (f == NULL || f->json[0] != '{' ||
	    (root = json_loadb(f->json, f->jsonlen, 0, NULL)) == NULL)
		return NULL;
	v = root;
	for (rest = path + k + 1; v != NULL; rest = dot + 1) {
		if ((dot = strchr(rest, '.')) == NULL) {
			v = json_object_get(v, rest);
			break;
		}
		if ((size_t)(dot - rest) >= sizeof(part)) {
			v = NULL;
			break;
		}
		memcpy(part, rest, (size_t)(dot - rest));
		part[dot - rest] = '\0';
		v = json_object_get(v, part);
	}
	json_incref(v);
	json_decref(root);
	return v;
}

const char *
fv_record_type(const fv_record *r)
{
	return r->type;
}

const char *
fv_record_id(const fv_record *r)
{
	return r->id;
}

const char *
fv_record_get(const fv_record *r, const char *path)
{
	const struct fv_rleaf *f;
	const char *s = NULL;
	size_t n;
	json_t *v;

	if (path == NULL)
		return NULL;
	n = strlen(path);
	if ((f = find(r, path, n)) != NULL)
		return f->text;
	if ((v = inside(r, path, n)) == NULL)
		return NULL;
	if (json_is_string(v))
		s = own(r, fv_strdup(json_string_value(v)));
	else if (json_is_boolean(v) || json_is_number(v))
		s = own(r, dump(v, &n));
	json_decref(v);
	return s;
}

int
fv_record_get_bool(const fv_record *r, const char *path)
{
	const struct fv_rleaf *f;
	json_t *v;
	int t;

	if (path == NULL)
		return 0;
	if ((f = find(r, path, strlen(path))) != NULL)
		return is_true(f->json, f->jsonlen);
	v = inside(r, path, strlen(path));
	t = json_is_true(v);
	json_decref(v);
	return t;
}

size_t
fv_sdk_record_quote(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	size_t i;

	*o++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[ch >> 4];
			o[5] = hex[ch & 15];
			o += 6;
		} else
			*o++ = (char)ch;
	}
	*o++ = '"';
	return (size_t)(o - out);
}

/* Appends s (n bytes) as a JSON string. */
static void
put_quoted(struct conv *c, const char *s, size_t n)
{
	size_t at;

	if (n > SIZE_MAX / 8 ||
	    (at = conv_put(c, NULL, FV_SDK_QUOTED(n)), c->err))
		return;
	c->len = at + fv_sdk_record_quote(s, n, c->p + at);
}

/* Appends the leaves [i, j) as the members of an object, dropping the
 * first skip bytes of each path (the split head and its dot). */
static void
put_members(struct conv *c, const struct fv_record *r, size_t i, size_t j,
    size_t skip)
{
	size_t k, h;

	for (k = i; k < j; k++) {
		const struct fv_rleaf *f = &r->leaf[k];

		if (k > i)
			conv_put(c, ",", 1);
		if (skip == 0 && (h = split_head(f->path, f->pathlen)) > 0) {
			size_t e = k;

			while (e < j && r->leaf[e].pathlen > h &&
			    memcmp(r->leaf[e].path, f->path, h + 1) == 0)
				e++;
			put_quoted(c, f->path, h);
			conv_put(c, ":{", 2);
			put_members(c, r, k, e, h + 1);
			conv_put(c, "}", 1);
			k = e - 1;
			continue;
		}
		put_quoted(c, f->path + skip, f->pathlen - skip);
		conv_put(c, ":", 1);
		conv_put(c, f->json, f->jsonlen);
	}
}

const char *
fv_record_get_json(const fv_record *r, const char *path, size_t *len)
{
	const struct fv_rleaf *f;
	struct conv c = { 0 };
	size_t n, i, e;
	json_t *v;
	char *s;

	if (path == NULL)
		return NULL;
	n = strlen(path);
	if (n > 0 && (f = find(r, path, n)) != NULL) {
		if ((s = fv_alloc(f->jsonlen + 1)) == NULL)
			return NULL;
		memcpy(s, f->json, f->jsonlen);
		s[f->jsonlen] = '\0';
		if (len != NULL)
			*len = f->jsonlen;
		return own(r, s);
	}
	if (n == 0 || is_split(path, n)) {
		/* the whole record, or one of its split objects */
		for (i = 0; n > 0 && i < r->n &&
		     !(r->leaf[i].pathlen > n && r->leaf[i].path[n] == '.' &&
			 memcmp(r->leaf[i].path, path, n) == 0);
		     i++)
			;
		if (i == r->n && n > 0)
			return NULL;
		for (e = n == 0 ? r->n : i; n > 0 && e < r->n &&
		     r->leaf[e].pathlen > n && r->leaf[e].path[n] == '.' &&
		     memcmp(r->leaf[e].path, path, n) == 0;
		     e++)
			;
		conv_put(&c, "{", 1);
		put_members(&c, r, n == 0 ? 0 : i, e, n == 0 ? 0 : n + 1);
		conv_put(&c, "}", 2); /* and its NUL */
		if (c.err) {
			fv_free(c.p);
			return NULL;
		}
		if (len != NULL)
			*len = c.len - 1;
		return own(r, c.p);
	}
	if ((v = inside(r, path, n)) == NULL || json_is_null(v)) {
		json_decref(v);
		return NULL;
	}
	s = dump(v, &n);
	json_decref(v);
	if (s != NULL && len != NULL)
		*len = n;
	return own(r, s);
}

size_t
fv_record_tag_count(const fv_record *r)
{
	return r->ntags;
}

const char *
fv_record_tag(const fv_record *r, size_t i)
{
	return i < r->ntags ? r->tags[i] : NULL;
}

int
fv_record_conflict(const fv_record *r)
{
	return fv_record_get_bool(r, "conflict");
}
