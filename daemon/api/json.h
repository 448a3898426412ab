/*
 * json.h - the store's answers as the API's JSON (docs/api.md).
 */
#ifndef FV_API_JSON_H
#define FV_API_JSON_H

#include <jansson.h>

#include "store.h"

/* A record's ops, oldest first: [{device, device_name, seq, at, hlc, op,
 * fields?} | {device, seq, shredded}]. */
int fv_json_history(struct fv_store *s, const uint8_t rid[FV_ID_BYTES],
    json_t **out);
/* The records a scan of f and query gives (fv_store_scan_new), as an
 * array of records as clients see them. */
int fv_json_list(struct fv_store *s, const struct fv_filter *f,
    const char *query, json_t **out);

/* A live record as clients see it.  FV_ENOTFOUND, FV_EDELETED. */
int fv_json_record(struct fv_store *s, enum fv_rtype t,
    const uint8_t rid[FV_ID_BYTES], json_t **out);
/* Every known device: [{id, name, role, group, public_key, revoked}]
 * (a store's own row as created has no group and no revoked). */
int fv_json_devices(struct fv_store *s, json_t **out);

#endif
