/*
 * op.h - the op: the unit of change, of history and of sync.
 *
 * An op says: device AUTHOR, in its SEQ-th change, at hybrid logical clock
 * HLC, set these leaf fields of record RID (or deleted it).  Its canonical
 * encoding is binary and is what the author's Ed25519 key signs:
 *
 *   u8 version(1) u8 kind u8 rtype  author[16]  u64 seq  u64 hlc  rid[16]
 *   u16 nfields, then per field, in strictly increasing path order:
 *     u8 pathlen, path, u8 flags (1 = has prev, 2 = removed),
 *     [u64 prev_hlc, prev_author[16]]   when flags & 1
 *     [u32 vallen, val (JSON text)]     unless flags & 2
 *   sig[64]   Ed25519 over every byte before it
 *
 * All integers big-endian.  "prev" names the version of the field the author
 * overwrote, which lets a receiver tell a causal successor from a concurrent
 * edit (a conflict).  A leaf path is a top-level field name or
 * "applicant.x" / "visit.x"; arrays and x_ values are whole leaves.
 */
#ifndef FV_OP_H
#define FV_OP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FV_ID_BYTES	 16
#define FV_SIG_BYTES	 64
#define FV_PATH_MAX	 128		   /* bytes of a leaf path */
#define FV_OP_FIELDS_MAX 512		   /* leaves in one op */
#define FV_VAL_MAX	 (1024 * 1024)	   /* bytes of one leaf value */
#define FV_OP_MAX	 (2 * 1024 * 1024) /* bytes of an encoded op */
#define FV_OP_HDR	 53

enum fv_opkind {
	FV_OP_PUT = 1,
	FV_OP_DELETE = 2
};

struct fv_leaf {
	const char *path;
	uint8_t pathlen;
	const char *val; /* JSON text; NULL when removed */
	uint32_t vallen;
	uint64_t hlc; /* version of this value: (hlc, author) */
	uint8_t author[FV_ID_BYTES];
	uint8_t has_prev; /* the version it overwrote, if any */
	uint64_t prev_hlc;
	uint8_t prev_author[FV_ID_BYTES];
};

struct fv_op {
	uint8_t kind, rtype;
	uint8_t author[FV_ID_BYTES];
	uint64_t seq, hlc;
	uint8_t rid[FV_ID_BYTES];
	uint32_t nfields;
	struct fv_leaf *fields; /* hlc/author of each are the op's */
};

/* Appends the canonical, unsigned encoding of op to out.  Fields must be in
 * strictly increasing path order.  Returns 0, FV_EINVAL or FV_ENOMEM. */
int fv_op_encode(const struct fv_op *op, struct fv_buf *out);
/* Encodes op and appends its signature by sk (64-byte Ed25519 secret). */
int fv_op_sign(const struct fv_op *op, const uint8_t *sk, struct fv_buf *out);
/* Parses a signed op of len bytes.  On success op->fields is a malloc'd
 * array (caller frees) whose strings point into buf, which must outlive op.
 * Checks every bound and canonical order; does not check the signature.
 * Returns 0 or FV_EINVAL. */
int fv_op_decode(const uint8_t *buf, size_t len, struct fv_op *op);
/* The same with op->fields in the caller's array (nothing to free). */
int fv_op_decode_in(const uint8_t *buf, size_t len, struct fv_op *op,
    struct fv_leaf fields[FV_OP_FIELDS_MAX]);
/* Checks the signature of a signed op against the author's public key.
 * Returns 0 or FV_ESIG. */
int fv_op_verify(const uint8_t *buf, size_t len, const uint8_t pk[32]);

/*
 * The wire form of a signed op (OPS frames, bundles): the canonical
 * encoding with each leaf path that is one of the record schema's known
 * paths replaced by one byte, 0x81 + its index in a fixed table (a
 * canonical path length is 1..128, so the two never mix up).  Names of
 * fields are most of an op's overhead over its JSON; content is never
 * compressed (its length would say more about it).  fv_op_pack() takes a
 * signed op, fv_op_unpack() gives one back byte for byte; both append to
 * out and refuse (FV_EINVAL, out as it was) what does not have an op's
 * layout, unpack also a code outside the table.  The signature is
 * checked on the unpacked bytes.
 */
int fv_op_pack(const uint8_t *op, size_t len, struct fv_buf *out);
int fv_op_unpack(const uint8_t *w, size_t len, struct fv_buf *out);

/* Orders leaf paths as the encoding requires (memcmp, then length). */
int fv_op_path_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Orders versions: by hlc, then author bytes.  <0, 0, >0. */
int fv_op_version_cmp(uint64_t ha, const uint8_t *aa, uint64_t hb,
    const uint8_t *ab);

/* Lowercase hex of an id; out has room for 2*FV_ID_BYTES+1. */
void fv_op_id_hex(const uint8_t id[FV_ID_BYTES], char *out);
/* Parses 32 lowercase hex characters.  Returns 0 or FV_EINVAL. */
int fv_op_id_parse(const char *s, uint8_t id[FV_ID_BYTES]);

#endif
