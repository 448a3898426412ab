/*
 * state.h - a record's state, derived from its ops.
 *
 * The state is the set of leaves (see op.h) each with the version (hlc,
 * author) of the op that set it; a removed field stays as a leaf with no
 * value so that a concurrent older write cannot bring it back.  Merge rule:
 * per leaf the higher version wins; a delete wins over everything; a value
 * that loses to a concurrent (not causally later) one flags the record as
 * conflicted, and the loser stays readable in the op log (history).
 *
 * Encoding of a state (sealed in the store):
 *   u8 version(1) u8 rtype u8 flags  u64 created_hlc created_by[16]
 *   u64 updated_hlc  u32 nops, nops x (author[16] u64 seq)
 *   u32 nleaves, nleaves x (u8 pathlen path u64 hlc author[16] u8 flags
 *     [u64 prev_hlc prev_author[16]] [u32 vallen val])
 */
#ifndef FV_STATE_H
#define FV_STATE_H

#include <jansson.h>

#include "op.h"
#include "record.h"

#define FV_ST_CONFLICT 1
#define FV_ST_DELETED  2
#define FV_ST_FROMOP \
	4 /* stored without leaves: they are those of
				   its only op (saves half the space of a
				   record never edited) */
#define FV_OPREF_BYTES	 (FV_ID_BYTES + 8)
#define FV_STATE_OPS_MAX 100000 /* ops kept in one record's history */

/* A set of leaves that owns its strings (malloc'd copies). */
struct fv_leaves {
	struct fv_leaf *v;
	uint32_t n, cap;
};

struct fv_state {
	uint8_t rtype, flags;
	uint64_t created_hlc, updated_hlc;
	uint8_t created_by[FV_ID_BYTES];
	uint32_t nops;
	uint8_t *oprefs;	 /* nops * FV_OPREF_BYTES, malloc'd */
	struct fv_leaves leaves; /* sorted by path */
};

/* Splits a validated record body into sorted leaves with owned strings,
 * stamped with version (hlc, author).  Returns 0, FV_ENOMEM, or FV_EINVAL
 * with e filled (a field name too long). */
int fv_state_leaves_from_json(const json_t *obj, uint64_t hlc,
    const uint8_t *author, struct fv_leaves *out, struct fv_verr *e);
void fv_state_leaves_free(struct fv_leaves *l);
/* The leaf with this path, or NULL. */
const struct fv_leaf *fv_state_leaves_get(const struct fv_leaves *l,
    const char *path);

/* Applies op to st (st zeroed for a record not seen before).  *conflict is
 * set when a leaf lost to or beat a concurrent value.  Returns 0 or
 * FV_ENOMEM / FV_ETOOBIG (history full). */
int fv_state_apply(struct fv_state *st, const struct fv_op *op, int *conflict);
/* Builds the op that turns st into the record whose leaves are nl: one
 * field per changed or removed leaf, each with its prev version.  op's
 * fields array is malloc'd (caller frees) and points into st and nl, which
 * must outlive it.  op->nfields == 0 means nothing changed. */
int fv_state_diff(const struct fv_state *st, const struct fv_leaves *nl,
    struct fv_op *op);

int fv_state_encode(const struct fv_state *st, struct fv_buf *out);
/* Parses an encoded state into st (owned copies).  0 or FV_ECORRUPT. */
int fv_state_decode(const uint8_t *p, size_t len, struct fv_state *st);
/* The same as a view: st's leaves and oprefs point into p (which must
 * outlive st), its leaf array comes from a.  Never fv_state_free a view. */
int fv_state_view(const uint8_t *p, size_t len, struct fv_state *st,
    struct fv_arena *a);
/* The record as clients see it.  New reference or NULL on error. */
json_t *fv_state_to_json(const struct fv_state *st,
    const uint8_t rid[FV_ID_BYTES], const char *created_by_name);
/* Wipes (plaintext) and frees; st is left zeroed. */
void fv_state_free(struct fv_state *st);

/* The leaf with this path, or NULL. */
const struct fv_leaf *fv_state_leaf(const struct fv_state *st,
    const char *path);

#endif
