/*
 * session.c - a sync session's life (docs/protocol.md §4) on top of
 * conn.c: its connection's callbacks, sending paced by what waits to be
 * written, and the end.
 *
 * Both sides stream what the other lacks (the device its own ops, HQ the
 * ops the device may see), a frame at a time while less than SYNC_WINDOW
 * bytes wait to be written: a session never queues a whole backlog, and a
 * slow peer holds only its own connection.  Received frames take effect in
 * order (inbound.c); once the device's END is durable, HQ signs a receipt,
 * on which a device with retention = purge_after_sync purges what HQ holds
 * and does not assign back to it.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "log.h"
#include "secmem.h"
#include "session.h"

static LIST_HEAD(, fv_sync_sess) sessions = LIST_HEAD_INITIALIZER(sessions);
static int nsess; /* live sessions */

struct fv_sync_sess *
fv_sync_session_new(struct fvd *d, int hq)
{
	struct fv_sync_sess *ss = calloc(1, sizeof(*ss));

	if (ss != NULL) {
		fv_sync_session_init_bundle(ss, d, hq, NULL);
		nsess++;
		LIST_INSERT_HEAD(&sessions, ss, entry);
	}
	return ss;
}

void
fv_sync_session_init_bundle(struct fv_sync_sess *ss, struct fvd *d, int hq,
    struct fv_buf *sink)
{
	ss->d = d;
	ss->hq = hq;
	ss->sink = sink;
	TAILQ_INIT(&ss->inq);
}

/* How many frames a session may keep waiting: many for one device (the
 * verifier threads run ahead), few each when many devices sync at once. */
int
fv_sync_session_in_cap(void)
{
	int cap = IN_ALL / (nsess > 0 ? nsess : 1);

	return cap < 4 ? 4 : cap > IN_MAX ? IN_MAX : cap;
}

/* What a session holds, live or a bundle's. */
void
fv_sync_session_clear(struct fv_sync_sess *ss)
{
	fv_sync_inbound_clear(ss);
	fv_secmem_free(ss->tok);
	ss->tok = NULL;
}

void
fv_sync_session_free(struct fv_sync_sess *ss)
{
	if (ss->hq)
		fv_sync_hq_hs_over(ss);
	else
		fv_sync_field_forget(ss);
	fv_sync_session_clear(ss);
	nsess--;
	LIST_REMOVE(ss, entry);
	free(ss);
}

/* One frame out: to the peer, or into the bundle being made. */
int
fv_sync_session_emit(struct fv_sync_sess *ss, const uint8_t *p, size_t len)
{
	if (ss->sink != NULL)
		return fv_bundle_add(ss->sink, p, len);
	return fv_conn_send(ss->c, p, len);
}

int
fv_sync_session_send(struct fv_sync_sess *ss, struct fv_buf *b)
{
	int rc = b->err ? b->err : fv_sync_session_emit(ss, b->p, b->len);

	fv_buf_free(b);
	return rc;
}

void
fv_sync_session_error(struct fv_sync_sess *ss, int code, const char *why)
{
	struct fv_buf b = { 0 };

	fv_frame_error(&b, (uint16_t)code, why);
	fv_sync_session_send(ss, &b);
}

/* Both sides: an op no OPS frame can carry, in OP_PART frames (at most
 * FV_OP_MAX bytes: sent whole, past the window). */
int
fv_sync_session_send_parts(struct fv_sync_sess *ss, const uint8_t *w,
    size_t len)
{
	struct fv_buf b = { 0 };
	size_t off, n;
	int rc = 0;

	for (off = 0; rc == 0 && off < len; off += n) {
		n = len - off < FV_FRAME_PART_MAX ? len - off :
						    FV_FRAME_PART_MAX;
		b.len = 0;
		if ((rc = fv_frame_op_part(&b, (uint32_t)len, (uint32_t)off,
			 w + off, n)) == 0)
			rc = fv_sync_session_emit(ss, b.p, b.len);
	}
	fv_buf_free(&b);
	return rc;
}

/* Both sides: queue what there is to send while little waits to be
 * written; called again when it has drained.  A bundle takes it all. */
int
fv_sync_session_pump(struct fv_sync_sess *ss)
{
	int rc = 0;

	while (rc == 0 && ss->sending &&
	    (ss->sink != NULL || fv_conn_queued(ss->c) < SYNC_WINDOW))
		rc = ss->hq ? fv_sync_hq_more(ss) : fv_sync_field_more(ss);
	return rc;
}

/* --- the connection's callbacks ------------------------------------------ */

static int
hello_cb(struct fv_conn *c, const uint8_t *p, size_t len, const uint8_t rs[32],
    const uint8_t hh[64], uint8_t *reply, size_t *replylen, void *arg)
{
	struct fv_sync_sess *ss = arg;
	struct fv_frame f;

	if (fv_frame_decode(p, len, &f) != 0)
		return FV_EINVAL;
	if (ss->hq)
		return f.type == FV_F_DEV_HELLO ?
		    fv_sync_hq_hello(ss, &f, rs, hh) :
		    FV_EINVAL;
	return fv_sync_field_hello(ss, &f, rs, hh, reply, replylen);
}

static void
ready_cb(struct fv_conn *c, void *arg)
{
	struct fv_sync_sess *ss = arg;

	if (ss->hq)
		fv_sync_hq_ready(ss);
	else
		fv_sync_field_ready(ss);
}

static int
frame_cb(struct fv_conn *c, const uint8_t *p, size_t len, void *arg)
{
	return fv_sync_inbound_frame(arg, p, len);
}

static int
drained_cb(struct fv_conn *c, void *arg)
{
	return fv_sync_session_pump(arg);
}

static void
closed_cb(struct fv_conn *c, int err, void *arg)
{
	struct fv_sync_sess *ss = arg;

	if (!ss->hq)
		fv_sync_field_done(ss, err ? err : FV_EIO,
		    ss->res.why[0] ? ss->res.why : "connection to HQ lost");
	else if (err != 0 && err != FV_EIO)
		/* a broken handshake or frame (tampered, replayed, too
		 * long): the Noise layer refused it */
		fv_log_warnx("sync: connection from %s dropped: %s",
		    ss->peer_name[0] ? ss->peer_name :
				       "a peer before its "
				       "handshake",
		    err == FV_ECRYPTO	 ? "a message that does not "
					   "decrypt (tampered or replayed)" :
			err == FV_EINVAL ? "a malformed message or frame" :
					   fv_error_str(err));
	fv_sync_session_free(ss);
}

const struct fv_conn_cbs fv_sync_session_cbs = { hello_cb, ready_cb, frame_cb,
	closed_cb, drained_cb };

void
fv_sync_session_stop(struct fvd *d)
{
	struct fv_sync_sess *ss;

	fv_sync_hq_stop();
	/* sessions cut by the stop: nothing unacknowledged is lost, the
	 * next session resends it */
	while ((ss = LIST_FIRST(&sessions)) != NULL) {
		fv_conn_free(ss->c);
		fv_sync_session_free(ss);
	}
}
