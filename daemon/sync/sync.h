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

#include <stdint.h>

#include "daemon.h"

struct fv_sync_result {
	int		 rc;		/* 0 or FV_E* */
	char		 why[256];	/* for a person, when rc != 0 */
	uint64_t	 up;		/* ops sent up and acknowledged */
	uint64_t	 down;		/* ops received and applied */
	uint64_t	 acked;		/* HQ holds our ops up to this seq */
	uint64_t	 purged;	/* records purged after HQ's receipt */
	uint64_t	 bytes_in, bytes_out;	/* on the wire */
	char		 hq[65];	/* HQ's name */
};

typedef void (*fv_sync_cb)(const struct fv_sync_result *r, void *arg);

/* HQ: starts listening.  0, or an error with err filled. */
int	fv_sync_listen(struct fvd *d, char *err, size_t errlen);
void	fv_sync_stop(struct fvd *d);

/* Field: one session with HQ now (addr "host:port"); token: an enrollment
 * token to present (NULL once enrolled).  cb runs on the loop when the
 * session ends.  FV_EBUSY if one is running. */
int	fv_sync_connect(struct fvd *d, const char *token, fv_sync_cb cb,
	    void *arg);

/* Field: sync at start (once unlocked), every [sync] interval, and on
 * failure again after FV_SYNC_RETRY_MIN s, doubling up to the interval,
 * with jitter. */
#define FV_SYNC_RETRY_MIN	5L
int	fv_sync_auto(struct fvd *d);

/* HQ: a one-time enrollment token for a new device. */
int	fv_sync_invite(struct fvd *d, const char *name, const char *group,
	    long valid_s, char *token, size_t len, int64_t *expires);

#endif
