/*
 * buf.h - a growable byte buffer and big-endian readers/writers for the
 * binary encodings (ops, record state).
 */
#ifndef FV_BUF_H
#define FV_BUF_H

#include <stddef.h>
#include <stdint.h>

struct fv_buf {
	uint8_t *p;
	size_t len, cap;
	int err; /* sticky: FV_ENOMEM after a failed grow */
};

/* Appenders never fail loudly: a failed grow sets b->err and later calls do
 * nothing, so an encoder checks b->err once at the end. */
void fv_buf_put(struct fv_buf *b, const void *p, size_t n);
void fv_buf_u8(struct fv_buf *b, uint8_t v);
void fv_buf_u16(struct fv_buf *b, uint16_t v);
void fv_buf_u32(struct fv_buf *b, uint32_t v);
void fv_buf_u64(struct fv_buf *b, uint64_t v);
int fv_buf_reserve(struct fv_buf *b, size_t n);
/* Appends x to the growable array *v (*n used of *cap). */
int fv_buf_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x);
/* Wipes (the content may be plaintext) and frees; b is left empty. */
void fv_buf_free(struct fv_buf *b);

/* An arena: blocks carved from big chunks and freed all at once, wiped
 * (they may hold plaintext).  Not thread-safe: one per thread.  Chunks
 * can be kept as spares for the next blocks (fv_buf_arena_recycle): fresh
 * memory costs a page fault and a zeroed page for every 4 KiB. */
struct fv_arena_chunk;
struct fv_arena {
	struct fv_arena_chunk *head;
	struct fv_arena_chunk *spare; /* wiped, unused */
	size_t nspare;
};
/* n bytes, aligned for any type, or NULL when out of memory. */
void *fv_buf_arena_alloc(struct fv_arena *a, size_t n);
/* Frees every chunk, spares too. */
void fv_buf_arena_free(struct fv_arena *a);
/* Wipes from's chunks and makes them spares of to (up to max spares; the
 * rest are freed); from is left empty. */
void fv_buf_arena_recycle(struct fv_arena *to, struct fv_arena *from,
    size_t max);
/* Moves up to n spares of from to to. */
void fv_buf_arena_lend(struct fv_arena *to, struct fv_arena *from, size_t n);

/* A bounded reader: every get checks the remaining length; after a short
 * read r->err is set and the values read are zero. */
struct fv_rd {
	const uint8_t *p;
	size_t left;
	int err;
};

const uint8_t *fv_buf_rd_bytes(struct fv_rd *r, size_t n);
uint8_t fv_buf_rd_u8(struct fv_rd *r);
uint16_t fv_buf_rd_u16(struct fv_rd *r);
uint32_t fv_buf_rd_u32(struct fv_rd *r);
uint64_t fv_buf_rd_u64(struct fv_rd *r);

void fv_buf_put_u64(uint8_t *p, uint64_t v);
uint64_t fv_buf_get_u64(const uint8_t *p);
void fv_buf_put_u32(uint8_t *p, uint32_t v);
uint32_t fv_buf_get_u32(const void *p);

/* Wipes and frees a string made by jansson (json_dumps): it must go back
 * to jansson's allocator, which the programs set to one that wipes. */
void fv_buf_json_free(char *s);
/* Makes jansson wipe every block it frees (parsed records are plaintext)
 * and seeds its hash function; call once, before any thread parses. */
void fv_buf_json_init(void);

#endif
