/*
 * index.h - the in-memory index of live records, for lists, filters and
 * search.  Built at unlock from the decrypted store, kept current by the
 * writer, dropped (and wiped) at lock.  Nothing of it reaches the disk.
 *
 * Folded name and location (fold.h) are kept per appeal; a query that
 * misses them is checked against the summary by decrypting the record, so
 * memory stays small with large summaries (see docs/design.md).
 */
#ifndef FV_INDEX_H
#define FV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct fv_ientry {
	uint8_t rid[FV_ID_BYTES];
	uint8_t rtype;
	uint8_t has_appeal;
	uint8_t appeal_id[FV_ID_BYTES]; /* notes */
	char status[24], category[24], channel[12], country[3];
	char *assigned_to;
	char *fname, *floc; /* folded */
	uint64_t created_hlc;
	/* where it is read fastest: a record never edited is stored as its
	 * one op (FV_ST_FROMOP), which a reader can open with the record's
	 * key without the state (an export reads ops in the order written) */
	uint32_t slot;	/* of its key */
	uint8_t single; /* one op, at opref */
	uint8_t opref[FV_OPREF_BYTES];
};

struct fv_filter {
	int rtype; /* 0: any */
	const char *status, *country, *category, *assigned_to;
	const char *channel;
	const uint8_t *appeal_id; /* notes of this appeal */
};

struct fv_index;

int fv_index_new(struct fv_index **out);
/* Wipes every entry and frees the index; NULL is a no-op. */
void fv_index_free(struct fv_index *idx);
/* Makes a detached entry from a live record's state, its key in this
 * slot (caller owns it until fv_index_put).  Returns 0, FV_ENOMEM or
 * FV_EINVAL (bad stored value). */
int fv_index_make(const struct fv_state *st, const uint8_t rid[FV_ID_BYTES],
    uint32_t slot, struct fv_ientry **out);
void fv_index_entry_free(struct fv_ientry *e);
/* Inserts (a compact copy of) e, replacing an entry with the same id;
 * takes e (it is freed).  Entries got from the index are valid until the
 * next put or del. */
int fv_index_put(struct fv_index *idx, struct fv_ientry *e);
void fv_index_del(struct fv_index *idx, const uint8_t rid[FV_ID_BYTES]);
const struct fv_ientry *fv_index_get(const struct fv_index *idx,
    const uint8_t rid[FV_ID_BYTES]);
size_t fv_index_count(const struct fv_index *idx, int rtype);
/* The entries matching f, oldest first, as a malloc'd array of borrowed
 * pointers (valid until the index changes).  Returns 0 or FV_ENOMEM. */
int fv_index_select(const struct fv_index *idx, const struct fv_filter *f,
    const struct fv_ientry ***out, size_t *n);

#endif
