#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "fv_error.h"

int
fv_buf_reserve(struct fv_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err)
		return b->err;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	/* Not realloc: the old block may hold plaintext and must be wiped. */
	if ((p = malloc(cap)) == NULL)
		return b->err = FV_ENOMEM;
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
fv_buf_put(struct fv_buf *b, const void *p, size_t n)
{
	if (n == 0 || fv_buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
fv_buf_u8(struct fv_buf *b, uint8_t v)
{
	fv_buf_put(b, &v, 1);
}

void
fv_buf_u16(struct fv_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	fv_buf_put(b, x, 2);
}

void
fv_buf_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
fv_buf_get_u32(const void *v)
{
	const uint8_t *p = v;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
fv_buf_u32(struct fv_buf *b, uint32_t v)
{
	uint8_t x[4];

	fv_buf_put_u32(x, v);
	fv_buf_put(b, x, 4);
}

void
fv_buf_put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t
fv_buf_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
fv_buf_u64(struct fv_buf *b, uint64_t v)
{
	uint8_t x[8];

	fv_buf_put_u64(x, v);
	fv_buf_put(b, x, 8);
}

void
fv_buf_free(struct fv_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

#define ARENA_CHUNK (256 * 1024)

struct fv_arena_chunk {
	struct fv_arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

void *
fv_buf_arena_alloc(struct fv_arena *a, size_t n)
{
	struct fv_arena_chunk *c = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) &
	    ~(sizeof(max_align_t) - 1);
	void *p;

	if (need < n)
		return NULL;
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;

		if (size == ARENA_CHUNK && a->spare != NULL) {
			c = a->spare;
			a->spare = c->next;
			a->nspare--;
		} else if (size > SIZE_MAX - sizeof(*c) ||
		    (c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		/* a big block gets a chunk of its own, behind the current
		 * one, which may still have room */
		if (a->head != NULL && size != ARENA_CHUNK) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (uint8_t *)c->data + c->used;
	c->used += need;
	return p;
}

void
fv_buf_arena_recycle(struct fv_arena *to, struct fv_arena *from, size_t max)
{
	struct fv_arena_chunk *c, *next;

	for (c = from->head; c != NULL; c = next) {
		next = c->next;
		sodium_memzero(c->data, c->used);
		if (c->size == ARENA_CHUNK && to->nspare < max) {
			c->next = to->spare;
			to->spare = c;
			to->nspare++;
		} else
			free(c);
	}
	from->head = NULL;
	if (from != to)
		fv_buf_arena_free(from); /* its spares */
}

void
fv_buf_arena_lend(struct fv_arena *to, struct fv_arena *from, size_t n)
{
	struct fv_arena_chunk *c;

	while (n-- > 0 && (c = from->spare) != NULL) {
		from->spare = c->next;
		from->nspare--;
		c->next = to->spare;
		to->spare = c;
		to->nspare++;
	}
}

void
fv_buf_arena_free(struct fv_arena *a)
{
	struct fv_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		sodium_memzero(c->data, c->used);
		free(c);
	}
	for (c = a->spare; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	memset(a, 0, sizeof(*a));
}

const uint8_t *
fv_buf_rd_bytes(struct fv_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->left) {
		r->err = FV_EINVAL;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t
fv_buf_rd_u8(struct fv_rd *r)
{
	const uint8_t *p = fv_buf_rd_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t
fv_buf_rd_u16(struct fv_rd *r)
{
	const uint8_t *p = fv_buf_rd_bytes(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
fv_buf_rd_u32(struct fv_rd *r)
{
	const uint8_t *p = fv_buf_rd_bytes(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3] :
		   0;
}

uint64_t
fv_buf_rd_u64(struct fv_rd *r)
{
	const uint8_t *p = fv_buf_rd_bytes(r, 8);

	return p ? fv_buf_get_u64(p) : 0;
}

/* Blocks carry their size in front so that the free can wipe them. */
static void *
wipe_malloc(size_t n)
{
	size_t *p = malloc(n + sizeof(size_t) * 2);

	if (p == NULL)
		return NULL;
	p[0] = n;
	return p + 2;
}

static void
wipe_free(void *v)
{
	size_t *p = v;

	if (p == NULL)
		return;
	p -= 2;
	sodium_memzero(p, p[0] + sizeof(size_t) * 2);
	free(p);
}

void
fv_buf_json_init(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	json_object_seed(0);
}

void
fv_buf_json_free(char *s)
{
	json_malloc_t m;
	json_free_t f;

	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	json_get_alloc_funcs(&m, &f);
	f(s);
}

int
fv_buf_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		uint32_t *p = realloc(*v, c * sizeof(*p));

		if (p == NULL)
			return FV_ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}
