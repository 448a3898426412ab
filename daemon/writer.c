#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "writer.h"

TAILQ_HEAD(wq, fv_write);

struct fv_writer {
	struct fvd	*d;
	struct event	*ev;
	struct wq	 q;
	int		 n;
};

static void flush_cb(evutil_socket_t, short, void *);

int
fv_writer_new(struct fvd *d, struct fv_writer **out)
{
	struct fv_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return FV_ENOMEM;
	w->d = d;
	TAILQ_INIT(&w->q);
	if ((w->ev = event_new(d->base, -1, 0, flush_cb, w)) == NULL) {
		free(w);
		return FV_ENOMEM;
	}
	/* the lowest priority: runs after the turn's reads have queued */
	event_priority_set(w->ev, 2);
	*out = w;
	return 0;
}

void
fv_writer_free(struct fv_writer *w)
{
	if (w == NULL)
		return;
	fv_writer_flush(w);
	event_free(w->ev);
	free(w);
}

void
fv_writer_submit(struct fv_writer *w, struct fv_write *wr)
{
	wr->rc = 0;
	wr->changed = 0;
	memset(&wr->err, 0, sizeof(wr->err));
	TAILQ_INSERT_TAIL(&w->q, wr, entry);
	w->n++;
	event_active(w->ev, 0, 0);
}

int
fv_writer_pending(const struct fv_writer *w)
{
	return w->n;
}

/* One write inside the open transaction.  Returns its result. */
static int
apply(struct fv_store *s, struct fv_write *wr)
{
	int rc = 0;

	switch (wr->kind) {
	case FV_W_CREATE:
		if (wr->leaves != NULL)
			rc = fv_store_create_many(s, wr->rtype, wr->leaves,
			    wr->rids, wr->n, &wr->err, &wr->failed_at);
		else
			rc = fv_store_create(s, wr->rtype, wr->body, wr->rids,
			    &wr->err);
		break;
	case FV_W_UPDATE:
		rc = fv_store_update(s, wr->rtype, wr->rids, wr->body,
		    &wr->err, &wr->changed);
		break;
	case FV_W_DELETE:
		rc = fv_store_delete(s, wr->rtype, wr->rids);
		break;
	}
	return rc;
}

static int
spoils(int rc)
{
	return rc != 0 && rc != FV_EINVAL && rc != FV_ENOTFOUND &&
	    rc != FV_EDELETED && rc != FV_EEXIST;
}

void
fv_writer_flush(struct fv_writer *w)
{
	struct fv_store *s = w->d->store;
	struct wq batch;
	struct fv_write *wr;
	int rc, grown = 0, nw;
	size_t nrec = 0;
	int64_t t0 = fv_now_us();

	if (w->n == 0)
		return;
	TAILQ_INIT(&batch);
	TAILQ_CONCAT(&batch, &w->q, entry);
	nw = w->n;
	w->n = 0;
again:
	rc = fv_store_begin(s);
	TAILQ_FOREACH(wr, &batch, entry) {
		if (rc != 0)
			break;
		wr->rc = apply(s, wr);
		if (wr->rc == FV_EINVAL && wr->kind == FV_W_CREATE &&
		    wr->n > 1) {
			/* an import is all or nothing: it was checked whole
			 * before it was queued, so this cannot happen short
			 * of a collision; spoil the batch to stay safe */
			rc = FV_EINVAL;
		} else if (spoils(wr->rc))
			rc = wr->rc;
	}
	if (rc == FV_EMAPFULL && grown < 8) {
		fv_store_abort(s);
		if ((rc = fv_store_grow(s)) == 0) {
			grown++;
			log_info("store: map grown for a group of writes");
			goto again;
		}
	}
	if (rc == 0)
		rc = fv_store_commit(s);
	else
		fv_store_abort(s);
	/* the commit itself may need pages (LMDB's free list) */
	if (rc == FV_EMAPFULL && grown < 8 && fv_store_grow(s) == 0) {
		grown++;
		log_info("store: map grown for a group of writes");
		goto again;
	}
	if (rc != 0)
		log_error("store: group commit failed: %s", fv_strerror(rc));
	else
		log_debug("writer: group of %d writes committed in %.1f ms",
		    nw, (double)(fv_now_us() - t0) / 1000);
	while ((wr = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, wr, entry);
		if (rc != 0 && (wr->rc == 0 || spoils(wr->rc) ||
		    wr->n > 1))
			wr->rc = rc == FV_EMAPFULL ? FV_ENOSPC : rc;
		nrec += wr->n;
		wr->done(wr);
	}
	/* a bulk group leaves megabytes of freed parse trees and buffers in
	 * malloc's arenas (one per core): give them back, the daemon is to
	 * stay small on a laptop */
	if (nrec >= FV_TRIM_AFTER)
		malloc_trim(0);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	fv_writer_flush(arg);
}
