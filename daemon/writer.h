/*
 * writer.h - the one writer, with group commit.
 *
 * Writes from every client are queued; once per loop turn, after all I/O
 * callbacks of that turn ran, the queue is applied in one store
 * transaction and one commit (one fsync); then each write's callback is
 * called with its own result.  So a write is acknowledged only once it is
 * durable, and many concurrent writers share the cost of one fsync.
 */
#ifndef FV_WRITER_H
#define FV_WRITER_H

#include <sys/queue.h>

#include <jansson.h>

#include "daemon.h"
#include "record.h"
#include "state.h"

#define FV_TRIM_AFTER	200	/* records in a group before malloc_trim */

enum fv_wkind { FV_W_CREATE, FV_W_UPDATE, FV_W_DELETE };

struct fv_write {
	enum fv_wkind		 kind;
	enum fv_rtype		 rtype;
	json_t			*body;		/* create: body, update: patch */
	struct fv_leaves	*leaves;	/* an import: n records' leaves */
	uint8_t			*rids;		/* one id per record */
	size_t			 n;		/* records in this write */
	/* result */
	int			 rc;
	struct fv_verr		 err;
	size_t			 failed_at;	/* index of the refused record */
	int			 changed;
	void			(*done)(struct fv_write *);
	void			*arg;
	TAILQ_ENTRY(fv_write)	 entry;
};

int	fv_writer_new(struct fvd *d, struct fv_writer **out);
void	fv_writer_free(struct fv_writer *w);
/* Queues w (the writer owns nothing of it; done() is called exactly once,
 * from the loop, after the group commit or on failure). */
void	fv_writer_submit(struct fv_writer *w, struct fv_write *wr);
/* Applies everything queued now (shutdown, lock). */
void	fv_writer_flush(struct fv_writer *w);
int	fv_writer_pending(const struct fv_writer *w);

#endif
