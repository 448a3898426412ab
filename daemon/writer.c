/*
 * writer.c - the one committer (writer.h): group commit, and the one place
 * that knows how to grow the map and what a failure does to a
 * transaction.
 */
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
	struct fvd *d;
	struct event *ev;
	struct wq q;
	int n;
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
	if (wr->queued)
		return;
	wr->queued = 1;
	wr->rc = 0;
	wr->changed = 0;
	memset(&wr->err, 0, sizeof(wr->err));
	TAILQ_INSERT_TAIL(&w->q, wr, entry);
	w->n++;
	event_active(w->ev, 0, 0);
}

void
fv_writer_cancel(struct fv_writer *w, struct fv_write *wr)
{
	if (!wr->queued)
		return;
	TAILQ_REMOVE(&w->q, wr, entry);
	wr->queued = 0;
	w->n--;
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
	switch (wr->kind) {
	case FV_W_CREATE:
		if (wr->leaves != NULL)
			return fv_store_create_many(s, wr->rtype, wr->leaves,
			    wr->rids, wr->n, &wr->err, &wr->failed_at);
		return fv_store_create(s, wr->rtype, wr->body, wr->rids,
		    &wr->err);
	case FV_W_UPDATE:
		return fv_store_update(s, wr->rtype, wr->rids, wr->body,
		    &wr->err, &wr->changed);
	case FV_W_DELETE:
		return fv_store_delete(s, wr->rtype, wr->rids);
	case FV_W_CALL:
		return wr->apply(s, wr);
	}
	return FV_EINVAL;
}

/* Did wr's failure spoil the transaction?  A write of many parts (an
 * import, a caller's batch) may have applied some before it failed; a
 * single one, if the store says it began to change the transaction. */
static int
spoilt(struct fv_store *s, const struct fv_write *wr, int rc)
{
	return rc != 0 &&
	    (wr->kind == FV_W_CALL || wr->n > 1 || fv_store_spoilt(s) != 0);
}

/* Grows the map after FV_EMAPFULL; 0 if the transaction may be tried
 * again. */
static int
grow(struct fv_store *s, int *grown)
{
	if (*grown >= FV_GROW_MAX || fv_store_grow(s) != 0)
		return FV_ENOSPC;
	(*grown)++;
	fv_log_info("store: map grown");
	return 0;
}

/* The group in one transaction.  Returns 0 when committed (each write's
 * rc says whether it was taken), else the error that failed them all. */
static int
commit_group(struct fv_store *s, struct wq *g, int nw)
{
	struct fv_write *wr;
	int rc, grown = 0, tries = 0;

again:
	if ((rc = fv_store_begin(s)) != 0)
		return rc;
	TAILQ_FOREACH(wr, g, entry) {
		if (wr->out)
			continue;
		if ((wr->rc = apply(s, wr)) == 0 || !spoilt(s, wr, wr->rc))
			continue;
		fv_store_abort(s);
		if (wr->rc == FV_EMAPFULL) {
			if ((rc = grow(s, &grown)) != 0)
				return rc;
		} else {
			/* this one's own fault: the others without it */
			wr->out = 1;
			if (++tries > nw)
				return wr->rc;
		}
		goto again;
	}
	/* the commit itself may need pages (LMDB's free list) */
	if ((rc = fv_store_commit(s)) == FV_EMAPFULL &&
	    (rc = grow(s, &grown)) == 0)
		goto again;
	return rc;
}

/* One group: what is queued, up to FV_GROUP_MAX (the rest in groups of
 * their own); a caller's write says then how much it brings. */
static void
flush_group(struct fv_writer *w)
{
	struct fv_store *s = w->d->store;
	struct wq g;
	struct fv_write *wr, *next;
	size_t total = 0, nrec = 0;
	int rc, nw = 0;
	int64_t t0 = fv_hlc_now_us();

	TAILQ_INIT(&g);
	for (wr = TAILQ_FIRST(&w->q); wr != NULL && total < FV_GROUP_MAX;
	     wr = next) {
		next = TAILQ_NEXT(wr, entry);
		wr->weight = wr->kind != FV_W_CALL ?
		    wr->n :
		    wr->gather(wr, FV_GROUP_MAX - total);
		TAILQ_REMOVE(&w->q, wr, entry);
		wr->queued = 0;
		w->n--;
		if (wr->weight == 0)
			continue;
		wr->out = 0;
		wr->rc = 0;
		total += wr->weight;
		TAILQ_INSERT_TAIL(&g, wr, entry);
		nw++;
	}
	if (w->n > 0)
		event_active(w->ev, 0, 0);
	if (nw == 0)
		return;
	if ((rc = commit_group(s, &g, nw)) != 0)
		fv_log_error("store: group commit failed: %s",
		    fv_error_str(rc));
	else
		fv_log_debug("writer: group of %d writes committed in %.1f ms",
		    nw, (double)(fv_hlc_now_us() - t0) / 1000);
	while ((wr = TAILQ_FIRST(&g)) != NULL) {
		TAILQ_REMOVE(&g, wr, entry);
		if (rc != 0 && !wr->out && wr->rc == 0)
			wr->rc = rc == FV_EMAPFULL ? FV_ENOSPC : rc;
		if (wr->kind != FV_W_CALL)
			nrec += wr->n;
		wr->done(wr);
	}
	/* a bulk group leaves megabytes of freed parse trees and buffers in
	 * malloc's arenas (one per core): give them back, the daemon is to
	 * stay small on a laptop */
	if (nrec >= FV_TRIM_AFTER)
		malloc_trim(0);
}

void
fv_writer_flush(struct fv_writer *w)
{
	while (w->n > 0)
		flush_group(w);
}

int
fv_writer_run(struct fv_writer *w, int (*fn)(struct fv_store *, void *),
    void *arg)
{
	struct fv_store *s = w->d->store;
	int rc, grown = 0;

	for (;;) {
		if ((rc = fv_store_begin(s)) != 0)
			return rc;
		if ((rc = fn(s, arg)) == 0)
			rc = fv_store_commit(s);
		else
			fv_store_abort(s);
		if (rc != FV_EMAPFULL || grow(s, &grown) != 0)
			return rc == FV_EMAPFULL ? FV_ENOSPC : rc;
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	flush_group(arg);
}
