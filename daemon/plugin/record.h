/*
 * record.h - a record's state as plugins see it (the SDK's fv_record):
 * the one form in which hooks and exports receive records.
 */
#ifndef FV_PLUGIN_RECORD_H
#define FV_PLUGIN_RECORD_H

#include "sdkimpl.h"
#include "state.h"
#include "store.h"

/* A record and the text of its leaves that are not in the state (id,
 * type, dates, author): set again and again, record to record. */
struct fv_plugin_record {
	struct fv_record rec;
	struct fv_sdk_leaf *lv; /* its leaves */
	char id[2 * FV_ID_BYTES + 3], ca[48], ua[48];
	char by[FV_SDK_QUOTED(FV_NAME_MAX)];
};

/* Zeroes pr and makes room for its leaves: 0 or FV_ENOMEM. */
int fv_plugin_record_init(struct fv_plugin_record *pr);
/* Makes pr->rec the record of type t and id rid as the API shows it
 * (fv_state_to_json's order): id, type, the state's fields, created_at,
 * updated_at, created_by, conflict.  st NULL: a record deleted, of which
 * the id and type are all there is.  The record borrows st's text.
 * Returns 0 or -1 (fv_sdk_record_set). */
int fv_plugin_record_set(struct fv_plugin_record *pr, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], const struct fv_state *st,
    const char *created_by);
/* Wipes and frees what pr holds; pr may be initialized again. */
void fv_plugin_record_free(struct fv_plugin_record *pr);

#endif
