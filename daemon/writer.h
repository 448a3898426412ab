/*
 * writer.h - the one committer, with group commit.
 *
 * Every change to the store goes through here.  Writes from every client,
 * and every sync session's received ops, are queued; once per loop turn,
 * after all I/O callbacks of that turn ran, the queue is applied in one
 * store transaction and one commit (one fsync); then each write's
 * callback is called with its own result.  So a write is acknowledged only
 * once it is durable, and many concurrent writers share the cost of one
 * fsync.  The few changes that must take effect before the caller goes on
 * (a device pinned, a receipt taken) run at once in a transaction of their
 * own with fv_writer_run().
 *
 * The writer alone decides what a failure means for the transaction:
 *   - a write refused before it changed anything (the store says so:
 *     fv_store_spoilt() is 0) fails alone; the others go on;
 *   - a write that failed after it changed something spoils the
 *     transaction: it is aborted, that write fails, the rest are applied
 *     again without it;
 *   - a full map (FV_EMAPFULL) is grown and everything applied again;
 *   - a failed commit fails every write of the group.
 */
#ifndef FV_WRITER_H
#define FV_WRITER_H

#include <sys/queue.h>

#include <jansson.h>

#include "daemon.h"
#include "record.h"
#include "state.h"
#include "store.h"

#define FV_TRIM_AFTER 200 /* records in a group before malloc_trim */
#define FV_GROUP_MAX \
	1024	      /* records or ops in one commit, about:
				 * LMDB keeps a transaction's dirty pages
				 * in memory until the commit */
#define FV_GROW_MAX 8 /* map growths for one transaction */

enum fv_wkind {
	FV_W_CREATE,
	FV_W_UPDATE,
	FV_W_DELETE,
	FV_W_CALL, /* the caller's own work: gather, apply */
};

struct fv_write {
	enum fv_wkind kind;
	enum fv_rtype rtype;
	json_t *body;		  /* create: body, update: patch */
	struct fv_leaves *leaves; /* an import: n records' leaves */
	uint8_t *rids;		  /* one id per record */
	size_t n;		  /* records in this write */
	/*
	 * FV_W_CALL: gather() runs when the group is formed and says how
	 * much (records or ops) the write applies now, at most budget; 0
	 * takes it out of the queue without done().  apply() runs in the
	 * group's transaction, again if the group is applied again: it
	 * keeps its effects outside the store for done().
	 */
	size_t (*gather)(struct fv_write *wr, size_t budget);
	int (*apply)(struct fv_store *s, struct fv_write *wr);
	/* result */
	int rc;
	struct fv_verr err;
	size_t failed_at; /* index of the refused record */
	int changed;
	void (*done)(struct fv_write *wr);
	void *arg;
	/* the writer's */
	int queued;
	int out; /* taken out of the group */
	size_t weight;
	TAILQ_ENTRY(fv_write) entry;
};

int fv_writer_new(struct fvd *d, struct fv_writer **out);
void fv_writer_free(struct fv_writer *w);
/* Queues wr (the writer owns nothing of it; done() is called exactly once,
 * from the loop, after the group commit or on failure).  Queuing a write
 * that is queued already does nothing. */
void fv_writer_submit(struct fv_writer *w, struct fv_write *wr);
/* Takes back a queued write: its done() is not called. */
void fv_writer_cancel(struct fv_writer *w, struct fv_write *wr);
/* Applies everything queued now (shutdown, lock). */
void fv_writer_flush(struct fv_writer *w);
int fv_writer_pending(const struct fv_writer *w);
/* Runs fn(s, arg) now in a transaction of its own and commits it, growing
 * the map and running fn again when it fills (fn keeps its effects
 * outside the store for after the commit).  0 or fn's or the commit's
 * error. */
int fv_writer_run(struct fv_writer *w, int (*fn)(struct fv_store *s, void *arg),
    void *arg);

#endif
