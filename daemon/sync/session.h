/*
 * session.h - what the files of daemon/sync/ share (not for the rest of
 * the daemon: sync.h is its face).
 *
 *   session.c	a session's life: the connection's callbacks, sending,
 *		pacing, the end
 *   inbound.c	received frames: the queue that keeps them in order, the
 *		verifier hand-off, the committer's part (writer.h)
 *   apply.c	what a received frame does to the store, in the open
 *		transaction: one function for live sessions and bundles
 *   hq.c	HQ's side: listening, handshakes, enrollment, scope, what
 *		goes down, receipts, invitations
 *   field.c	a field device's side: connecting, pinning HQ, what goes
 *		up, HQ's receipt
 *   autosync.c	a field device's sync by itself
 *   bundle.c	a session in a file
 */
#ifndef FV_SYNC_SESSION_H
#define FV_SYNC_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buf.h"
#include "bundle.h"
#include "conn.h"
#include "frame.h"
#include "store.h"
#include "sync.h"
#include "token.h"
#include "verify.h"
#include "writer.h"

#define IN_MAX	  64  /* frames waiting in one session, at most */
#define IN_ALL	  256 /* ... in all sessions (16 MiB), roughly */
#define GROUP_MIN 8   /* frames worth waiting for, to commit once */
#define GROUP_OPS \
	256	     /* ops of one session in one commit, at most:
				 * LMDB keeps a transaction's pages in
				 * memory, and the file's pages it read stay
				 * mapped until the commit */
#define VOUCH_MAX 64 /* devices vouched for, remembered a session */

/* bytes a session lets wait in its connection before it reads more from
 * the store */
#define SYNC_WINDOW (1u << 20)

/*
 * A frame received and not yet taken into effect.  An OPS frame (or one
 * op put together from OP_PART frames) waits for its signatures to be
 * checked on the verifier thread (verify.h) while the loop applies the one
 * before; every frame after one that waits, waits too, so frames take
 * effect in the order they came.
 */
struct fv_sync_item {
	struct fv_vjob job; /* first: a job is its item */
	TAILQ_ENTRY(fv_sync_item) entry;
	struct fv_sync_sess *ss;
	struct fv_frame f; /* decoded; OPS: type only */
	int ready;	   /* checked (or nothing to
						 * check) */
	int in_verifier;
	struct fv_buf ops;   /* OPS: its ops, unpacked */
	uint8_t (*keys)[32]; /* the key each op is checked
						 * under */
	/* what applying it did (apply.c) */
	uint64_t last;	     /* the last op's seq */
	int applied;	     /* ops not seen before */
	size_t purged, kept; /* a receipt's purge */
};
TAILQ_HEAD(fv_sync_items, fv_sync_item);

struct fv_sync_vouched {
	uint8_t id[FV_ID_BYTES];
	uint8_t pk[32];
};

struct fv_sync_sess {
	LIST_ENTRY(fv_sync_sess) entry; /* every live session */
	struct fvd *d;
	struct fv_conn *c; /* NULL for a bundle */
	int hq;		   /* our side */
	uint8_t peer[FV_ID_BYTES];
	char peer_name[FV_NAME_MAX + 1];
	char group[FV_NAME_MAX + 1]; /* HQ: the device's */
	uint8_t peer_pk[32];	     /* HQ: the device's Ed25519 */
	/* HQ: devices it sent DEVICE frames for; field: devices HQ vouched
	 * for (their keys check ops before the DEVICE frame is applied) */
	struct fv_sync_vouched vouched[VOUCH_MAX];
	int nvouched;
	int refuse; /* HQ: ERROR code to send */
	int in_hs;  /* HQ: counted in handshaking */
	/* field side */
	struct fv_token *tok; /* secmem, when enrolling */
	uint8_t hq_pk[32];    /* pinned (Ed25519) */
	uint64_t start_acked, last_sent;
	int got_end, got_receipt, done, wanted;
	uint64_t ack_seen;   /* the last ACK, maybe unwritten */
	int64_t ack_written; /* when one was last written */
	/* sending, paced by what waits in the connection (both sides) */
	int sending;	     /* more to send */
	uint64_t next;	     /* field: the last seq queued;
						 * HQ: the last arrival looked
						 * at */
	struct fv_buf *sink; /* making a bundle: frames go
						 * here, not to a peer */
	/* receiving */
	struct fv_sync_items inq; /* frames waiting, in order */
	int nin;
	struct fv_buf big; /* an op coming in OP_PARTs */
	uint32_t big_total;
	/* the committer's part: OPS frames ready at the head of inq */
	struct fv_write wr;
	struct fv_sync_item *grp[IN_MAX];
	int ngrp;
	/* who waits for the end (field) */
	fv_sync_cb cb[8];
	void *arg[8];
	int ncb;
	struct fv_sync_result res;
};

/* session.c */
struct fv_sync_sess *fv_sync_session_new(struct fvd *d, int hq);
/* A session not on the loop (a bundle): frames go to sink. */
void fv_sync_session_init_bundle(struct fv_sync_sess *ss, struct fvd *d, int hq,
    struct fv_buf *sink);
void fv_sync_session_free(struct fv_sync_sess *ss);
/* Frames one session may keep waiting (fewer when many sync at once). */
int fv_sync_session_in_cap(void);
void fv_sync_session_clear(struct fv_sync_sess *ss);
int fv_sync_session_emit(struct fv_sync_sess *ss, const uint8_t *p, size_t len);
/* Sends b's frame (or b's error) and empties b. */
int fv_sync_session_send(struct fv_sync_sess *ss, struct fv_buf *b);
void fv_sync_session_error(struct fv_sync_sess *ss, int code, const char *why);
/* An op too large for an OPS frame, in OP_PART frames. */
int fv_sync_session_send_parts(struct fv_sync_sess *ss, const uint8_t *w,
    size_t len);
/* Queues what there is to send while little waits to be written. */
int fv_sync_session_pump(struct fv_sync_sess *ss);
/* The callbacks of every session's connection. */
extern const struct fv_conn_cbs fv_sync_session_cbs;

/* inbound.c */
int fv_sync_inbound_frame(struct fv_sync_sess *ss, const uint8_t *p,
    size_t len);
int fv_sync_inbound_run(struct fv_sync_sess *ss);
/* A received frame as an item, through one path for live sessions and
 * bundles: an op in OP_PART frames put together (*out NULL until it is
 * whole), a DEVICE frame's key taken for the ops after it. */
int fv_sync_inbound_take(struct fv_sync_sess *ss, const uint8_t *p, size_t len,
    struct fv_sync_item **out);
/* A received frame as an item (whole: p is one op put together from
 * OP_PART frames).  NULL, with *rc FV_ENOMEM or FV_EINVAL. */
struct fv_sync_item *fv_sync_inbound_item(struct fv_sync_sess *ss,
    const uint8_t *p, size_t len, int whole, int *rc);
void fv_sync_inbound_item_free(struct fv_sync_item *it);
/* Takes a DEVICE frame's word for an author's key, for this session. */
int fv_sync_inbound_vouched(struct fv_sync_sess *ss, const struct fv_frame *f);
void fv_sync_inbound_clear(struct fv_sync_sess *ss);

/* apply.c: in the open transaction */
int fv_sync_apply_frame(struct fv_sync_sess *ss, struct fv_store *s,
    struct fv_sync_item *it);
/* One item in a transaction of its own (the writer's). */
int fv_sync_apply_now(struct fv_sync_sess *ss, struct fv_sync_item *it);
uint64_t fv_sync_apply_down_cursor(struct fv_store *s);
uint64_t fv_sync_apply_down_of(struct fv_store *s,
    const uint8_t dev[FV_ID_BYTES]);
/* Field: may this receipt be taken?  (Signed by HQ's key, for ops that
 * were written.) */
int fv_sync_apply_receipt_ok(struct fv_store *s, const struct fv_frame *f,
    const uint8_t hq_pk[32]);

/* hq.c */
int fv_sync_hq_hello(struct fv_sync_sess *ss, const struct fv_frame *f,
    const uint8_t rs[32], const uint8_t hh[64]);
void fv_sync_hq_ready(struct fv_sync_sess *ss);
void fv_sync_hq_hs_over(struct fv_sync_sess *ss);
int fv_sync_hq_handle(struct fv_sync_sess *ss, struct fv_sync_item *it);
int fv_sync_hq_more(struct fv_sync_sess *ss);
void fv_sync_hq_stop(void);
const char *fv_sync_hq_refusal(int code);

/* field.c */
int fv_sync_field_hello(struct fv_sync_sess *ss, const struct fv_frame *f,
    const uint8_t rs[32], const uint8_t hh[64], uint8_t *reply,
    size_t *replylen);
void fv_sync_field_ready(struct fv_sync_sess *ss);
int fv_sync_field_handle(struct fv_sync_sess *ss, struct fv_sync_item *it);
int fv_sync_field_more(struct fv_sync_sess *ss);
void fv_sync_field_done(struct fv_sync_sess *ss, int rc, const char *why);
int fv_sync_field_pinned_hq(struct fv_store *s, struct fv_device *hq);
void fv_sync_field_forget(struct fv_sync_sess *ss);

#endif
