#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "state.h"

static char *
memdup0(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void
leaf_clear(struct fv_leaf *f)
{
	if (f->val != NULL) {
		sodium_memzero((void *)f->val, f->vallen);
		free((void *)f->val);
	}
	free((void *)f->path);
	memset(f, 0, sizeof(*f));
}

void
fv_state_leaves_free(struct fv_leaves *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		leaf_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Makes room for one more leaf at position at (shifting the rest). */
static struct fv_leaf *
leaves_insert(struct fv_leaves *l, uint32_t at)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct fv_leaf *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(*l->v));
	l->n++;
	memset(&l->v[at], 0, sizeof(*l->v));
	return &l->v[at];
}

/* Binary search: index of path, or -(insertion point) - 1. */
static long
leaves_find(const struct fv_leaves *l, const char *path, size_t n)
{
	long lo = 0, hi = (long)l->n - 1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int c = fv_op_path_cmp(l->v[mid].path, l->v[mid].pathlen, path,
		    n);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

const struct fv_leaf *
fv_state_leaves_get(const struct fv_leaves *l, const char *path)
{
	long i = leaves_find(l, path, strlen(path));

	return i >= 0 ? &l->v[i] : NULL;
}

const struct fv_leaf *
fv_state_leaf(const struct fv_state *st, const char *path)
{
	return fv_state_leaves_get(&st->leaves, path);
}

/* Sets leaf f to a copy of src's value and version. */
static int
leaf_set(struct fv_leaf *f, const char *path, size_t pathlen,
    const struct fv_leaf *src)
{
	char *val = NULL;

	if (src->val != NULL && (val = memdup0(src->val, src->vallen)) == NULL)
		return FV_ENOMEM;
	if (f->path == NULL && (f->path = memdup0(path, pathlen)) == NULL) {
		free(val);
		return FV_ENOMEM;
	}
	if (f->val != NULL) {
		sodium_memzero((void *)f->val, f->vallen);
		free((void *)f->val);
	}
	f->pathlen = (uint8_t)pathlen;
	f->val = val;
	f->vallen = src->val != NULL ? src->vallen : 0;
	f->hlc = src->hlc;
	memcpy(f->author, src->author, FV_ID_BYTES);
	f->has_prev = src->has_prev;
	f->prev_hlc = src->prev_hlc;
	memcpy(f->prev_author, src->prev_author, FV_ID_BYTES);
	return 0;
}

/* A JSON string as compact JSON text, escaped as jansson does: the hot
 * path of every write, without jansson's generic dumper.  malloc'd. */
static char *
dump_string(const json_t *v, uint32_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v), i, k = 0;
	char *o = malloc(n * 6 + 3);

	if (o == NULL)
		return NULL;
	o[k++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			o[k++] = '\\';
			o[k++] = (char)c;
		} else if (c < 0x20) {
			o[k++] = '\\';
			switch (c) {
			case '\b':
				o[k++] = 'b';
				break;
			case '\f':
				o[k++] = 'f';
				break;
			case '\n':
				o[k++] = 'n';
				break;
			case '\r':
				o[k++] = 'r';
				break;
			case '\t':
				o[k++] = 't';
				break;
			default:
				o[k++] = 'u';
				o[k++] = '0';
				o[k++] = '0';
				o[k++] = hex[c >> 4];
				o[k++] = hex[c & 15];
			}
		} else
			o[k++] = (char)c;
	}
	o[k++] = '"';
	o[k] = '\0';
	*outlen = (uint32_t)k;
	return o;
}

static int
add_leaf(struct fv_leaves *l, const char *path, const json_t *v, uint64_t hlc,
    const uint8_t *author, struct fv_verr *e)
{
	struct fv_leaf src;
	struct fv_leaf *f;
	size_t plen = strlen(path);
	long at;
	char *txt;
	int rc;

	if (plen == 0 || plen > FV_PATH_MAX) {
		snprintf(e->field, sizeof(e->field), "%.60s", path);
		snprintf(e->msg, sizeof(e->msg),
		    "field name must be 1..%d bytes", FV_PATH_MAX);
		return FV_EINVAL;
	}
	memset(&src, 0, sizeof(src));
	if (json_is_string(v))
		txt = dump_string(v, &src.vallen);
	else if ((txt = json_dumps(v,
		      JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS)) != NULL)
		src.vallen = (uint32_t)strlen(txt);
	if (txt == NULL)
		return FV_ENOMEM;
	src.val = txt;
	src.hlc = hlc;
	memcpy(src.author, author, FV_ID_BYTES);
	at = leaves_find(l, path, plen);
	if (at >= 0 || (f = leaves_insert(l, (uint32_t)(-at - 1))) == NULL)
		rc = at >= 0 ? FV_EINVAL : FV_ENOMEM;
	else
		rc = leaf_set(f, path, plen, &src);
	if (json_is_string(v)) {
		sodium_memzero(txt, src.vallen);
		free(txt);
	} else
		fv_buf_json_free(txt);
	return rc;
}

/* Only these sub-objects are split into leaves: a concurrent edit of the
 * applicant's name and of their location must both survive. */
static int
is_split(const char *k)
{
	return strcmp(k, "applicant") == 0 || strcmp(k, "visit") == 0;
}

int
fv_state_leaves_from_json(const json_t *obj, uint64_t hlc,
    const uint8_t *author, struct fv_leaves *out, struct fv_verr *e)
{
	const char *k, *k2;
	json_t *v, *v2;
	char path[FV_PATH_MAX + 2];
	int rc;

	memset(out, 0, sizeof(*out));
	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_null(v))
			continue;
		if (is_split(k) && json_is_object(v)) {
			json_object_foreach(v, k2, v2) {
				if (json_is_null(v2))
					continue;
				size_t kl = strlen(k), k2l = strlen(k2);

				/* too long: cut, add_leaf refuses it */
				if (kl + 1 + k2l >= sizeof(path))
					k2l = sizeof(path) - 2 - kl;
				memcpy(path, k, kl);
				path[kl] = '.';
				memcpy(path + kl + 1, k2, k2l);
				path[kl + 1 + k2l] = '\0';
				if ((rc = add_leaf(out, path, v2, hlc, author,
					 e)) != 0)
					goto fail;
			}
		} else if ((rc = add_leaf(out, k, v, hlc, author, e)) != 0)
			goto fail;
	}
	return 0;
fail:
	fv_state_leaves_free(out);
	return rc;
}

int
fv_state_apply(struct fv_state *st, const struct fv_op *op, int *conflict)
{
	uint32_t i;
	uint8_t *refs;
	int rc;

	*conflict = 0;
	if (st->nops >= FV_STATE_OPS_MAX)
		return FV_ETOOBIG;
	refs = realloc(st->oprefs, (size_t)(st->nops + 1) * FV_OPREF_BYTES);
	if (refs == NULL)
		return FV_ENOMEM;
	st->oprefs = refs;
	memcpy(refs + (size_t)st->nops * FV_OPREF_BYTES, op->author,
	    FV_ID_BYTES);
	fv_buf_put_u64(refs + (size_t)st->nops * FV_OPREF_BYTES + FV_ID_BYTES,
	    op->seq);
	st->nops++;
	if (st->rtype == 0) {
		st->rtype = op->rtype;
		st->created_hlc = op->hlc;
		memcpy(st->created_by, op->author, FV_ID_BYTES);
	} else if (op->hlc < st->created_hlc) {
		/* ops may arrive out of order: creation is the earliest */
		st->created_hlc = op->hlc;
		memcpy(st->created_by, op->author, FV_ID_BYTES);
	}
	if (op->hlc > st->updated_hlc)
		st->updated_hlc = op->hlc;
	if (op->kind == FV_OP_DELETE) {
		st->flags |= FV_ST_DELETED;
		fv_state_leaves_free(&st->leaves);
		return 0;
	}
	if (st->flags & FV_ST_DELETED)
		return 0; /* delete wins */
	for (i = 0; i < op->nfields; i++) {
		struct fv_leaf nfv = op->fields[i], *nf = &nfv, *cur;
		long at = leaves_find(&st->leaves, nf->path, nf->pathlen);

		/* every field of an op carries the op's version */
		nf->hlc = op->hlc;
		memcpy(nf->author, op->author, FV_ID_BYTES);

		if (at < 0) {
			if ((cur = leaves_insert(&st->leaves,
				 (uint32_t)(-at - 1))) == NULL)
				return FV_ENOMEM;
			if ((rc = leaf_set(cur, nf->path, nf->pathlen, nf)) !=
			    0)
				return rc;
			if (nf->has_prev)
				*conflict = 1; /* it overwrote what we lack */
			continue;
		}
		cur = &st->leaves.v[at];
		if (fv_op_version_cmp(nf->hlc, nf->author, cur->hlc,
			cur->author) > 0) {
			if (!nf->has_prev ||
			    fv_op_version_cmp(nf->prev_hlc, nf->prev_author,
				cur->hlc, cur->author) != 0)
				*conflict = 1;
			if ((rc = leaf_set(cur, nf->path, nf->pathlen, nf)) !=
			    0)
				return rc;
		} else if (fv_op_version_cmp(nf->hlc, nf->author, cur->hlc,
			       cur->author) < 0) {
			/* a late arrival: fine if cur was written over it */
			if (!cur->has_prev ||
			    fv_op_version_cmp(cur->prev_hlc, cur->prev_author,
				nf->hlc, nf->author) != 0)
				*conflict = 1;
		}
	}
	if (*conflict)
		st->flags |= FV_ST_CONFLICT;
	return 0;
}

int
fv_state_diff(const struct fv_state *st, const struct fv_leaves *nl,
    struct fv_op *op)
{
	uint32_t i = 0, j = 0, n = 0;
	struct fv_leaf *f;

	op->nfields = 0;
	op->fields = calloc((size_t)st->leaves.n + nl->n + 1, sizeof(*f));
	if (op->fields == NULL)
		return FV_ENOMEM;
	/* merge walk over two sorted lists */
	while (i < st->leaves.n || j < nl->n) {
		const struct fv_leaf *a = i < st->leaves.n ? &st->leaves.v[i] :
							     NULL;
		const struct fv_leaf *b = j < nl->n ? &nl->v[j] : NULL;
		int c = a == NULL ?
		    1 :
		    b == NULL ?
		    -1 :
		    fv_op_path_cmp(a->path, a->pathlen, b->path, b->pathlen);

		if (c < 0) { /* removed */
			if (a->val != NULL) {
				f = &op->fields[n++];
				f->path = a->path;
				f->pathlen = a->pathlen;
				f->val = NULL;
			} else
				f = NULL;
			i++;
		} else if (c > 0) { /* new */
			f = &op->fields[n++];
			*f = *b;
			f->has_prev = 0;
			j++;
			continue;
		} else {
			if (a->val != NULL && a->vallen == b->vallen &&
			    memcmp(a->val, b->val, a->vallen) == 0)
				f = NULL;
			else {
				f = &op->fields[n++];
				*f = *b;
			}
			i++;
			j++;
		}
		if (f != NULL) {
			f->has_prev = 1;
			f->prev_hlc = a->hlc;
			memcpy(f->prev_author, a->author, FV_ID_BYTES);
		}
	}
	op->nfields = n;
	return 0;
}

static void
put_leaf(struct fv_buf *b, const struct fv_leaf *f)
{
	fv_buf_u8(b, f->pathlen);
	fv_buf_put(b, f->path, f->pathlen);
	fv_buf_u64(b, f->hlc);
	fv_buf_put(b, f->author, FV_ID_BYTES);
	fv_buf_u8(b, (uint8_t)((f->has_prev ? 1 : 0) | (f->val ? 0 : 2)));
	if (f->has_prev) {
		fv_buf_u64(b, f->prev_hlc);
		fv_buf_put(b, f->prev_author, FV_ID_BYTES);
	}
	if (f->val != NULL) {
		fv_buf_u32(b, f->vallen);
		fv_buf_put(b, f->val, f->vallen);
	}
}

int
fv_state_encode(const struct fv_state *st, struct fv_buf *out)
{
	uint32_t i;

	fv_buf_u8(out, 1);
	fv_buf_u8(out, st->rtype);
	fv_buf_u8(out, st->flags);
	fv_buf_u64(out, st->created_hlc);
	fv_buf_put(out, st->created_by, FV_ID_BYTES);
	fv_buf_u64(out, st->updated_hlc);
	fv_buf_u32(out, st->nops);
	fv_buf_put(out, st->oprefs, (size_t)st->nops * FV_OPREF_BYTES);
	fv_buf_u32(out, st->leaves.n);
	for (i = 0; i < st->leaves.n; i++)
		put_leaf(out, &st->leaves.v[i]);
	return out->err;
}

/* Decodes into owned copies, or, with an arena, into a view: leaves and
 * oprefs point into p, the leaf array comes from the arena. */
static int
state_decode(const uint8_t *p, size_t len, struct fv_state *st,
    struct fv_arena *a)
{
	struct fv_rd r = { p, len, 0 };
	uint32_t i, n;
	const uint8_t *x;

	memset(st, 0, sizeof(*st));
	if (fv_buf_rd_u8(&r) != 1)
		return FV_ECORRUPT;
	st->rtype = fv_buf_rd_u8(&r);
	st->flags = fv_buf_rd_u8(&r);
	st->created_hlc = fv_buf_rd_u64(&r);
	if ((x = fv_buf_rd_bytes(&r, FV_ID_BYTES)) != NULL)
		memcpy(st->created_by, x, FV_ID_BYTES);
	st->updated_hlc = fv_buf_rd_u64(&r);
	st->nops = fv_buf_rd_u32(&r);
	if (r.err || st->nops > FV_STATE_OPS_MAX ||
	    (x = fv_buf_rd_bytes(&r, (size_t)st->nops * FV_OPREF_BYTES)) ==
		NULL)
		goto bad;
	if (a != NULL)
		st->oprefs = (uint8_t *)x;
	else if (st->nops > 0) {
		if ((st->oprefs = malloc((size_t)st->nops * FV_OPREF_BYTES)) ==
		    NULL)
			goto bad;
		memcpy(st->oprefs, x, (size_t)st->nops * FV_OPREF_BYTES);
	}
	n = fv_buf_rd_u32(&r);
	if (r.err || n > FV_OP_FIELDS_MAX * 4)
		goto bad;
	if (a != NULL && n > 0 &&
	    (st->leaves.v = fv_buf_arena_alloc(a, n * sizeof(*st->leaves.v))) ==
		NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		struct fv_leaf src, *f;
		uint8_t flags;

		memset(&src, 0, sizeof(src));
		src.pathlen = fv_buf_rd_u8(&r);
		src.path = (const char *)fv_buf_rd_bytes(&r, src.pathlen);
		src.hlc = fv_buf_rd_u64(&r);
		if ((x = fv_buf_rd_bytes(&r, FV_ID_BYTES)) != NULL)
			memcpy(src.author, x, FV_ID_BYTES);
		flags = fv_buf_rd_u8(&r);
		if (flags & 1) {
			src.has_prev = 1;
			src.prev_hlc = fv_buf_rd_u64(&r);
			if ((x = fv_buf_rd_bytes(&r, FV_ID_BYTES)) != NULL)
				memcpy(src.prev_author, x, FV_ID_BYTES);
		}
		if (!(flags & 2)) {
			src.vallen = fv_buf_rd_u32(&r);
			src.val = (const char *)fv_buf_rd_bytes(&r, src.vallen);
		}
		if (r.err || src.pathlen == 0 ||
		    (i > 0 &&
			fv_op_path_cmp(st->leaves.v[i - 1].path,
			    st->leaves.v[i - 1].pathlen, src.path,
			    src.pathlen) >= 0))
			goto bad;
		if (a != NULL)
			st->leaves.v[st->leaves.n++] = src;
		else if ((f = leaves_insert(&st->leaves, i)) == NULL ||
		    leaf_set(f, src.path, src.pathlen, &src) != 0)
			goto bad;
	}
	if (r.left != 0)
		goto bad;
	return 0;
bad:
	if (a == NULL)
		fv_state_free(st);
	memset(st, 0, sizeof(*st));
	return FV_ECORRUPT;
}

int
fv_state_decode(const uint8_t *p, size_t len, struct fv_state *st)
{
	return state_decode(p, len, st, NULL);
}

int
fv_state_view(const uint8_t *p, size_t len, struct fv_state *st,
    struct fv_arena *a)
{
	return state_decode(p, len, st, a);
}

/* A leaf's value as JSON.  Most are strings without escapes: those skip
 * the parser (a list or an export of 100,000 records reads 1.5 million
 * leaves). */
static json_t *
leaf_json(const char *p, size_t n)
{
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"' &&
	    memchr(p + 1, '\\', n - 2) == NULL)
		return json_stringn(p + 1, n - 2); /* checks the UTF-8 */
	return json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

json_t *
fv_state_to_json(const struct fv_state *st, const uint8_t rid[FV_ID_BYTES],
    const char *created_by_name)
{
	json_t *o = json_object(), *v, *sub;
	char hex[2 * FV_ID_BYTES + 1], ts[32], head[FV_PATH_MAX + 1];
	uint32_t i;

	if (o == NULL)
		return NULL;
	fv_op_id_hex(rid, hex);
	json_object_set_new(o, "id", json_string(hex));
	json_object_set_new(o, "type",
	    json_string(fv_record_type_name(st->rtype)));
	for (i = 0; i < st->leaves.n; i++) {
		const struct fv_leaf *f = &st->leaves.v[i];
		const char *dot = memchr(f->path, '.', f->pathlen);
		json_t *parent = o;
		const char *key = f->path; /* not NUL-ended in a view */
		size_t keylen = f->pathlen;

		if (f->val == NULL)
			continue;
		if ((v = leaf_json(f->val, f->vallen)) == NULL)
			goto fail;
		if (dot != NULL && (size_t)(dot - f->path) < sizeof(head)) {
			memcpy(head, f->path, (size_t)(dot - f->path));
			head[dot - f->path] = '\0';
			if (is_split(head)) {
				if ((sub = json_object_get(o, head)) == NULL) {
					sub = json_object();
					json_object_set_new(o, head, sub);
				}
				parent = sub;
				key = dot + 1;
				keylen = f->pathlen -
				    (size_t)(dot + 1 - f->path);
			}
		}
		if (parent == NULL ||
		    json_object_setn_new(parent, key, keylen, v) != 0)
			goto fail;
	}
	fv_record_format_rfc3339((long long)((st->created_hlc) >> 16), ts);
	json_object_set_new(o, "created_at", json_string(ts));
	fv_record_format_rfc3339((long long)((st->updated_hlc) >> 16), ts);
	json_object_set_new(o, "updated_at", json_string(ts));
	json_object_set_new(o, "created_by", json_string(created_by_name));
	if (st->flags & FV_ST_CONFLICT)
		json_object_set_new(o, "conflict", json_true());
	return o;
fail:
	json_decref(o);
	return NULL;
}

void
fv_state_free(struct fv_state *st)
{
	fv_state_leaves_free(&st->leaves);
	free(st->oprefs);
	memset(st, 0, sizeof(*st));
}
