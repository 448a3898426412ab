/*
 * sync.h - sessions between a field device and its HQ (docs/protocol.md).
 *
 * HQ listens on [sync] listen and serves every device on the loop; a field
 * device connects when asked (fieldvault sync, enroll) and streams its
 * ops up.  Each batch of ops received is verified against its author's
 * enrolled key, applied in one transaction and acknowledged once durable.
 */
#ifndef FV_SYNC_H
#define FV_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon.h"

struct fv_sync_result {
	int rc;			      /* 0 or FV_E* */
	char why[256];		      /* for a person, when rc != 0 */
	uint64_t up;		      /* ops sent up and acknowledged */
	uint64_t down;		      /* ops received and applied */
	uint64_t acked;		      /* HQ holds our ops up to this seq */
	uint64_t purged;	      /* records purged after HQ's receipt */
	uint64_t bytes_in, bytes_out; /* on the wire */
	char hq[65];		      /* HQ's name */
};

typedef void (*fv_sync_cb)(const struct fv_sync_result *r, void *arg);

/* HQ: starts listening.  0, or an error with err filled. */
int fv_sync_hq_listen(struct fvd *d, char *err, size_t errlen);
void fv_sync_session_stop(struct fvd *d);

/* Field: one session with HQ now (addr "host:port"); token: an enrollment
 * token to present (NULL once enrolled).  cb runs on the loop when the
 * session ends.  FV_EBUSY if one is running. */
int fv_sync_field_connect(struct fvd *d, const char *token, fv_sync_cb cb,
    void *arg);

/* Field: sync at start (once unlocked), every [sync] interval, and on
 * failure again after FV_SYNC_RETRY_MIN s, doubling up to the interval,
 * with jitter. */
#define FV_SYNC_RETRY_MIN 5L
int fv_sync_autosync_start(struct fvd *d);

/* HQ: a one-time enrollment token for a new device. */
int fv_sync_hq_invite(struct fvd *d, const char *name, const char *group,
    long valid_s, char *token, size_t len, int64_t *expires);

/*
 * Bundles (docs/protocol.md §7): a session in a file.  create: a field
 * device's is for its HQ (for_dev NULL): every op HQ has not acknowledged;
 * HQ's is for one device (for_dev: its id in hex): HQ's receipt of what it
 * holds of the device's ops, and what the device may see after the cursor
 * it last reported.  Appends the bundle to out; *info says what it holds;
 * why, on error, says it for a person.  import: all or nothing, in one
 * transaction, after the signature, the seal and every op's signature are
 * checked; importing twice changes nothing.
 */
struct fv_buf;
int fv_sync_bundle_create(struct fvd *d, const char *for_dev,
    struct fv_buf *out, json_t **info, char *why, size_t whylen);
int fv_sync_bundle_import(struct fvd *d, const uint8_t *buf, size_t len,
    json_t **result, char *why, size_t whylen);

#endif
