/*
 * inbound.c - received frames, in order.
 *
 * A frame that cannot take effect at once waits in its session's queue:
 * an OPS frame while the verifier threads check its signatures (verify.h),
 * and every frame behind one that waits.  At most fv_sync_session_in_cap()
 * wait per session: then the session stops reading and TCP holds the
 * sender.  OPS frames whose turn has come go to the committer (writer.h)
 * as one write of the session, which joins whatever else is ready then in
 * one transaction: one commit for many frames and many devices.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "log.h"
#include "session.h"

static void checked_cb(struct fv_vjob *, void *);
static size_t ops_gather(struct fv_write *, size_t);
static int ops_apply(struct fv_store *, struct fv_write *);
static void ops_done(struct fv_write *);

void
fv_sync_inbound_item_free(struct fv_sync_item *it)
{
	if (it == NULL)
		return;
	fv_buf_free(&it->ops); /* wiped: record content */
	free(it->job.op);
	free(it);
}

static void
item_free_job(struct fv_vjob *j)
{
	fv_sync_inbound_item_free((struct fv_sync_item *)j);
}

/* Frames waiting, the committer's write, an op half received. */
void
fv_sync_inbound_clear(struct fv_sync_sess *ss)
{
	struct fv_sync_item *it;

	if (ss->wr.queued)
		fv_writer_cancel(ss->d->writer, &ss->wr);
	while ((it = TAILQ_FIRST(&ss->inq)) != NULL) {
		TAILQ_REMOVE(&ss->inq, it, entry);
		if (it->in_verifier)
			fv_verify_cancel(&it->job, item_free_job);
		else
			fv_sync_inbound_item_free(it);
	}
	ss->nin = 0;
	if (ss->big.p != NULL)
		sodium_memzero(ss->big.p, ss->big.len);
	fv_buf_free(&ss->big);
}

/* A DEVICE frame: HQ vouches for another device of the group.  Its key
 * must hash to its id; remembered for the ops that follow. */
int
fv_sync_inbound_vouched(struct fv_sync_sess *ss, const struct fv_frame *f)
{
	uint8_t id[FV_ID_BYTES];

	crypto_generichash(id, FV_ID_BYTES, f->u.device.pk, 32, NULL, 0);
	if (ss->hq || memcmp(id, f->u.device.id, FV_ID_BYTES) != 0)
		return FV_EINVAL;
	if (ss->nvouched == VOUCH_MAX)
		return FV_ETOOBIG;
	memcpy(ss->vouched[ss->nvouched].id, id, FV_ID_BYTES);
	memcpy(ss->vouched[ss->nvouched++].pk, f->u.device.pk, 32);
	return 0;
}

/* The Ed25519 key the store will check op (len bytes) against: up, the
 * device's own; down, the author's as enrolled here or as HQ vouched for
 * it.  NULL when there is none (the store checks, or refuses, then). */
static const uint8_t *
key_for(struct fv_sync_sess *ss, const uint8_t *op, size_t len, uint8_t out[32])
{
	struct fv_device dev;
	int i;

	if (len < FV_OP_HDR)
		return NULL;
	if (ss->hq) {
		/* a copy: the session may end while a thread reads it */
		if (memcmp(op + 3, ss->peer, FV_ID_BYTES) != 0)
			return NULL;
		memcpy(out, ss->peer_pk, 32);
		return out;
	}
	if (fv_store_device_get(ss->d->store, op + 3, &dev) == 0) {
		if (dev.revoked)
			return NULL;
		memcpy(out, dev.sign_pk, 32);
		return out;
	}
	for (i = 0; i < ss->nvouched; i++)
		if (memcmp(ss->vouched[i].id, op + 3, FV_ID_BYTES) == 0) {
			memcpy(out, ss->vouched[i].pk, 32);
			return out;
		}
	return NULL;
}

/* An OPS item's ops, unpacked one after another, with the key each is to
 * be checked under; n ops come from the frame (or the one whole op). */
static int
item_ops(struct fv_sync_item *it, const uint8_t *p, size_t len, int whole)
{
	struct fv_frame_ops_iter oi;
	const uint8_t *op;
	uint8_t *blk;
	size_t n, i, oplen, at;
	int rc;

	n = whole ? 1 : it->f.u.ops.count;
	/* op pointers, lengths, key pointers, keys, results: one block */
	if ((blk = malloc(n *
		 (sizeof(uint8_t *) + sizeof(size_t) + sizeof(uint8_t *) + 32 +
		     1))) == NULL)
		return FV_ENOMEM;
	it->job.op = (const uint8_t **)blk;
	it->job.len = (const size_t *)(blk + n * sizeof(uint8_t *));
	it->job.pk = (const uint8_t **)(blk +
	    n * (sizeof(uint8_t *) + sizeof(size_t)));
	it->keys = (uint8_t(*)[32])(blk +
	    n * (2 * sizeof(uint8_t *) + sizeof(size_t)));
	it->job.ok = blk + n * (2 * sizeof(uint8_t *) + sizeof(size_t) + 32);
	/* offsets first; pointers once the buffer is done */
	if (!whole)
		fv_frame_ops_iter_init(&oi, &it->f);
	for (i = 0; i < n; i++) {
		if (whole) {
			op = p;
			oplen = len;
		} else if (fv_frame_ops_next(&oi, &op, &oplen) != 1)
			break;
		at = it->ops.len;
		if ((rc = fv_op_unpack(op, oplen, &it->ops)) != 0)
			return rc;
		it->job.op[i] = (const uint8_t *)(uintptr_t)at;
		((size_t *)it->job.len)[i] = it->ops.len - at;
	}
	it->job.n = i;
	for (i = 0; i < it->job.n; i++) {
		it->job.op[i] = it->ops.p + (uintptr_t)it->job.op[i];
		it->job.pk[i] = key_for(it->ss, it->job.op[i], it->job.len[i],
		    it->keys[i]);
		it->job.ok[i] = 0;
	}
	it->job.done = checked_cb;
	it->job.arg = it;
	return 0;
}

struct fv_sync_item *
fv_sync_inbound_item(struct fv_sync_sess *ss, const uint8_t *p, size_t len,
    int whole, int *rc)
{
	struct fv_sync_item *it = calloc(1, sizeof(*it));

	*rc = FV_ENOMEM;
	if (it == NULL)
		return NULL;
	it->ss = ss;
	if (whole)
		it->f.type = FV_F_OPS;
	else if (fv_frame_decode(p, len, &it->f) != 0) {
		*rc = FV_EINVAL;
		free(it);
		return NULL;
	}
	if (it->f.type != FV_F_OPS) {
		it->ready = 1;
		return it;
	}
	if ((*rc = item_ops(it, p, len, whole)) != 0) {
		fv_sync_inbound_item_free(it);
		return NULL;
	}
	/* the ops were copied: nothing points into p any more */
	it->f.u.ops.p = NULL;
	return it;
}

/* Frames whose turn has come take effect, in order: OPS frames through
 * the committer, the others at once; reading resumes once few wait. */
int
fv_sync_inbound_run(struct fv_sync_sess *ss)
{
	struct fv_sync_item *it;
	size_t nops;
	int rc = 0, n;

	while (rc == 0 && !ss->done && !ss->wr.queued && ss->ngrp == 0 &&
	    (it = TAILQ_FIRST(&ss->inq)) != NULL && it->ready) {
		if (it->f.type == FV_F_OPS) {
			/* the OPS frames checked so far, together; a few
			 * while more are being checked right behind them
			 * wait for those: one commit for many frames */
			for (n = 0, nops = 0; it != NULL && it->ready &&
			     it->f.type == FV_F_OPS && n < IN_MAX &&
			     nops < GROUP_OPS;
			     it = TAILQ_NEXT(it, entry), n++)
				nops += it->job.n;
			if (n < GROUP_MIN && nops < GROUP_OPS && it != NULL &&
			    !it->ready && it->f.type == FV_F_OPS)
				break;
			ss->wr.kind = FV_W_CALL;
			ss->wr.gather = ops_gather;
			ss->wr.apply = ops_apply;
			ss->wr.done = ops_done;
			ss->wr.arg = ss;
			fv_writer_submit(ss->d->writer, &ss->wr);
			break;
		}
		TAILQ_REMOVE(&ss->inq, it, entry);
		ss->nin--;
		rc = ss->hq ? fv_sync_hq_handle(ss, it) :
			      fv_sync_field_handle(ss, it);
		fv_sync_inbound_item_free(it);
	}
	if (rc == 0 && ss->c != NULL && ss->nin < fv_sync_session_in_cap())
		fv_conn_pause(ss->c, 0);
	return rc;
}

static int
run_cb(struct fv_conn *c, void *arg)
{
	return fv_sync_inbound_run(arg);
}

/* On the loop: the verifier is through with an item's ops. */
static void
checked_cb(struct fv_vjob *j, void *arg)
{
	struct fv_sync_item *it = arg;

	it->in_verifier = 0;
	it->ready = 1;
	fv_conn_run(it->ss->c, run_cb, it->ss);
}

/* The committer forms a group: the OPS frames ready at the head of the
 * queue now, up to what the group has room for. */
static size_t
ops_gather(struct fv_write *wr, size_t budget)
{
	struct fv_sync_sess *ss = wr->arg;
	struct fv_sync_item *it;
	size_t nops = 0, max = budget < GROUP_OPS ? budget : GROUP_OPS;

	ss->ngrp = 0;
	if (ss->done || ss->refuse)
		return 0;
	for (it = TAILQ_FIRST(&ss->inq); it != NULL && it->ready &&
	     it->f.type == FV_F_OPS && ss->ngrp < IN_MAX && nops < max;
	     it = TAILQ_NEXT(it, entry)) {
		nops += it->job.n;
		ss->grp[ss->ngrp++] = it;
	}
	/* an OPS frame of no op still takes its turn */
	return ss->ngrp > 0 ? nops + 1 : 0;
}

static int
ops_apply(struct fv_store *s, struct fv_write *wr)
{
	struct fv_sync_sess *ss = wr->arg;
	int k, rc;

	for (k = 0; k < ss->ngrp; k++)
		if ((rc = fv_sync_apply_frame(ss, s, ss->grp[k])) != 0)
			return rc;
	return 0;
}

/* The group is durable (or the session's part refused): on the
 * connection, as if it were one of its callbacks. */
static int
ops_taken(struct fv_conn *c, void *arg)
{
	struct fv_sync_sess *ss = arg;
	struct fv_sync_item *it;
	struct fv_buf b = { 0 };
	uint64_t last = 0, applied = 0;
	int k, pe, rc = ss->wr.rc;

	for (k = 0; k < ss->ngrp; k++) {
		it = ss->grp[k];
		last = it->job.n > 0 ? it->last : last;
		applied += (uint64_t)it->applied;
		TAILQ_REMOVE(&ss->inq, it, entry);
		ss->nin--;
		fv_sync_inbound_item_free(it);
	}
	ss->ngrp = 0;
	if (rc != 0 && !ss->hq) {
		fv_log_warnx("sync: op from HQ refused: %s", fv_error_str(rc));
		return FV_EINVAL;
	}
	if (rc != 0) {
		fv_log_warnx("sync: device '%s': op refused: %s", ss->peer_name,
		    fv_error_str(rc));
		pe = rc == FV_ESIG ? FV_PE_BAD_SIG :
		    rc == FV_EFORK ? FV_PE_FORK :
		    rc == FV_EINVAL || rc == FV_EUNKNOWN || rc == FV_ECLOCK ?
				     FV_PE_PROTOCOL :
		    rc == FV_ELOCKED ? FV_PE_LOCKED :
				       FV_PE_INTERNAL;
		fv_sync_session_error(ss, pe, fv_sync_hq_refusal(pe));
		fv_conn_close_after_flush(c);
		return 0;
	}
	ss->res.down += applied;
	if (ss->hq && last > 0) {
		/* HQ acknowledges what is durable */
		fv_frame_ack(&b, last);
		if (fv_sync_session_send(ss, &b) != 0)
			return FV_EIO;
	}
	return fv_sync_inbound_run(ss); /* what came after them */
}

static void
ops_done(struct fv_write *wr)
{
	struct fv_sync_sess *ss = wr->arg;

	fv_conn_run(ss->c, ops_taken, ss);
}

/* A frame received, as an item: *out NULL while an op comes in parts.
 * Live sessions and bundles take their frames through here. */
int
fv_sync_inbound_take(struct fv_sync_sess *ss, const uint8_t *p, size_t len,
    struct fv_sync_item **out)
{
	struct fv_frame f;
	struct fv_sync_item *it;
	int rc;

	*out = NULL;
	if (fv_frame_decode(p, len, &f) != 0)
		return FV_EINVAL;
	/* an op too large for a frame: its parts, in order, nothing
	 * between them */
	if (f.type == FV_F_OP_PART) {
		if (f.u.part.offset != ss->big.len ||
		    (ss->big.len > 0 && f.u.part.total != ss->big_total))
			return FV_EINVAL;
		ss->big_total = f.u.part.total;
		fv_buf_put(&ss->big, f.u.part.p, f.u.part.len);
		if (ss->big.err)
			return FV_ENOMEM;
		if (ss->big.len < ss->big_total)
			return 0;
		it = fv_sync_inbound_item(ss, ss->big.p, ss->big.len, 1, &rc);
		sodium_memzero(ss->big.p, ss->big.len);
		ss->big.len = 0;
	} else if (ss->big.len > 0)
		return FV_EINVAL;
	else
		it = fv_sync_inbound_item(ss, p, len, 0, &rc);
	if (it == NULL)
		return rc;
	/* HQ vouches for an author before its ops: their keys are needed
	 * as they come, before the DEVICE frame takes effect */
	if (it->f.type == FV_F_DEVICE &&
	    (rc = fv_sync_inbound_vouched(ss, &it->f)) != 0 &&
	    rc != FV_ETOOBIG) {
		fv_sync_inbound_item_free(it);
		return rc;
	}
	*out = it;
	return 0;
}

/* A frame from the peer. */
int
fv_sync_inbound_frame(struct fv_sync_sess *ss, const uint8_t *p, size_t len)
{
	struct fv_sync_item *it;
	int rc;

	if ((rc = fv_sync_inbound_take(ss, p, len, &it)) != 0 || it == NULL)
		return rc;
	TAILQ_INSERT_TAIL(&ss->inq, it, entry);
	if (++ss->nin >= fv_sync_session_in_cap())
		fv_conn_pause(ss->c, 1);
	if (!it->ready) {
		if (fv_verify_submit(&it->job) == 0)
			it->in_verifier = 1;
		else
			it->ready = 1; /* no verifier: the store checks */
	}
	return fv_sync_inbound_run(ss);
}
