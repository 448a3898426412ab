/*
 * export.c - fieldvault export: what an exporter plugin makes of the
 * records, as bytes to a sink (the API streams them: GET /v1/export).
 *
 * The loop reads the records a batch at a time (fv_store_scan_read,
 * which decrypts on both cores), the plugin thread makes each record's
 * leaves an fv_record (no JSON tree is built) and turns the batch into
 * bytes, the loop hands them to the sink.  At most EXPORT_WINDOW batches
 * are at the thread and a new one is read only while less than
 * EXPORT_QUEUED bytes wait in the sink: memory stays flat whatever the
 * number of records, and a slow reader slows the export instead of
 * filling memory.  A run that fails half way (the plugin, the store) ends
 * with done(0): the sink tells its reader the bytes are not all.
 */
#include <fieldvault/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "plugin/record.h"
#include "sdkimpl.h"

#define EXPORT_BATCH  512	    /* records per job */
#define EXPORT_WINDOW 2		    /* jobs at the thread */
#define EXPORT_QUEUED (1024 * 1024) /* bytes waiting to be sent */

enum {
	X_BEGIN,
	X_BATCH,
	X_END
};

/* The SDK's export run. */
struct fv_export {
	struct fv_output out;
	const char *opt[12]; /* name, value, ..., NULL */
};

struct fv_export_run {
	struct fvd *d;
	struct fvp_host *h;
	struct fvp_sink sink;
	int gone; /* the sink's reader left */
	struct fv_store_scan *scan;
	struct fvp_export_args a;
	int inflight, scan_done, failed, ending;
	size_t records, bytes;
	int64_t scan_us;   /* loop, reading */
	int64_t thread_us; /* plugin thread */
	int64_t t0;
	/* plugin thread */
	struct fv_host *plug;
	void *run;
	struct fv_export x;
	struct fv_plugin_record pr; /* reused record to record */
	char why[256];
};

struct xjob {
	struct fvp_job j;
	struct fv_export_run *xp;
	int kind, rc, complete;
	struct fv_scan_batch *recs;
	size_t records; /* in the period */
	uint8_t *out;	/* the bytes made */
	size_t outlen;
};

const char *
fv_export_option(const fv_export *x, const char *name)
{
	size_t i;

	for (i = 0; x->opt[i] != NULL; i += 2)
		if (strcmp(x->opt[i], name) == 0)
			return x->opt[i + 1];
	return NULL;
}

fv_output *
fv_export_output(fv_export *x)
{
	return &x->out;
}

/* --- plugin thread ---------------------------------------------------------- */

/* Is the record inside the period asked for? */
static int
in_period(const struct fv_export_run *xp, const fv_record *r)
{
	long long ms;
	const char *t;

	if (xp->a.from_ms == LLONG_MIN && xp->a.to_ms == LLONG_MAX)
		return 1;
	t = fv_record_get(r,
	    xp->a.type == FV_RTYPE_APPEAL ? "received_at" : "created_at");
	if (t == NULL || !fv_record_valid_rfc3339(t, &ms))
		return 0;
	return ms >= xp->a.from_ms && ms <= xp->a.to_ms;
}

/* Hands what the plugin wrote to the job, and readies the buffer. */
static void
take_output(struct xjob *xj)
{
	struct fv_output *o = &xj->xp->x.out;

	xj->out = o->p;
	xj->outlen = o->len;
	o->p = NULL;
	o->len = o->cap = 0;
	if (o->err)
		xj->rc = -1;
}

static void
xjob_run(struct fvp_job *j)
{
	struct xjob *xj = (struct xjob *)j;
	struct fv_export_run *xp = xj->xp;
	const struct fv_plugin *d;
	size_t i;
	int k = 0;
	int64_t t0;

	switch (xj->kind) {
	case X_BEGIN:
		if ((xp->plug = fv_host_find(j->host, xp->a.format,
			 FV_KIND_EXPORTER)) == NULL) {
			snprintf(xp->why, sizeof(xp->why),
			    "no exporter "
			    "plugin '%s' is loaded (see 'fieldvault plugin "
			    "list')",
			    xp->a.format);
			xj->rc = -1;
			return;
		}
		d = xp->plug->desc;
		if (fv_plugin_record_init(&xp->pr) != 0) {
			snprintf(xp->why, sizeof(xp->why), "out of memory");
			xj->rc = -1;
			fv_host_unref(xp->plug);
			xp->plug = NULL;
			return;
		}
		fv_sdk_output_init(&xp->x.out, FVP_OUTPUT_MAX, NULL, NULL);
		xp->x.opt[k++] = "type";
		xp->x.opt[k++] = fv_record_type_name(xp->a.type);
		if (xp->a.from[0] != '\0') {
			xp->x.opt[k++] = "from";
			xp->x.opt[k++] = xp->a.from;
		}
		if (xp->a.to[0] != '\0') {
			xp->x.opt[k++] = "to";
			xp->x.opt[k++] = xp->a.to;
		}
		if (xp->a.json) {
			xp->x.opt[k++] = "json";
			xp->x.opt[k++] = "1";
		}
		xp->x.opt[k] = NULL;
		if (d->export_begin(xp->plug->state, &xp->x, &xp->run) != 0) {
			snprintf(xp->why, sizeof(xp->why),
			    "the %s plugin "
			    "could not begin (see the daemon's log)",
			    xp->a.format);
			xj->rc = -1;
			fv_sdk_output_free(&xp->x.out);
			fv_host_unref(xp->plug);
			xp->plug = NULL;
			return;
		}
		take_output(xj);
		if (xj->rc != 0) { /* its output failed already */
			d->export_end(xp->run, &xp->x, 0);
			snprintf(xp->why, sizeof(xp->why),
			    "the %s plugin's "
			    "output failed",
			    xp->a.format);
			fv_sdk_output_free(&xp->x.out);
			fv_host_unref(xp->plug);
			xp->plug = NULL;
		}
		break;
	case X_BATCH:
		t0 = fv_hlc_now_us();
		d = xp->plug->desc;
		for (i = 0; i < xj->recs->n && xj->rc == 0; i++) {
			const struct fv_scan_rec *sr = &xj->recs->rec[i];

			if (fv_plugin_record_set(&xp->pr, sr->st.rtype, sr->rid,
				&sr->st, sr->created_by) != 0)
				xj->rc = -1;
			else if (in_period(xp, &xp->pr.rec)) {
				xj->records++;
				if (d->export_record(xp->run, &xp->x,
					&xp->pr.rec) != 0)
					xj->rc = -1;
			}
			fv_sdk_record_release(&xp->pr.rec);
		}

		take_output(xj);
		xp->thread_us += fv_hlc_now_us() - t0;
		break;
	case X_END:
		d = xp->plug->desc;
		if (d->export_end(xp->run, &xp->x, xj->complete) != 0)
			xj->rc = -1;
		take_output(xj);
		fv_sdk_output_free(&xp->x.out);
		fv_plugin_record_free(&xp->pr);
		fv_host_unref(xp->plug);
		xp->plug = NULL;
		break;
	}
}

/* --- loop ------------------------------------------------------------------------ */

static void pump(struct fv_export_run *);
static void xjob_done(struct fvp_job *);

static void
submit(struct fv_export_run *xp, int kind, struct fv_scan_batch *recs,
    int complete)
{
	struct xjob *xj = calloc(1, sizeof(*xj));

	if (xj == NULL)
		fv_log_fatalx("export: out of memory");
	xj->j.run = xjob_run;
	xj->j.done = xjob_done;
	xj->xp = xp;
	xj->kind = kind;
	xj->recs = recs;
	xj->complete = complete;
	xp->inflight++;
	fv_host_submit(xp->h, &xj->j);
}

static void
xport_free(struct fv_export_run *xp)
{
	fv_store_scan_free(xp->scan);
	fv_plugin_record_free(&xp->pr);
	free(xp);
}

static void
wipe_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
}

static void
send_bytes(struct fv_export_run *xp, const uint8_t *p, size_t len)
{
	if (len == 0 || xp->gone)
		return;
	if (xp->sink.bytes(xp->sink.arg, p, len) != 0)
		xp->failed = 1;
	else
		xp->bytes += len;
}

static void
pump(struct fv_export_run *xp)
{
	struct fv_scan_batch *batch;
	int64_t t0;
	int rc;

	while (!xp->ending && !xp->failed && !xp->gone && !xp->scan_done &&
	    xp->inflight < EXPORT_WINDOW &&
	    xp->sink.queued(xp->sink.arg) < EXPORT_QUEUED) {
		t0 = fv_hlc_now_us();
		rc = fv_store_scan_read(xp->d->store, xp->scan, EXPORT_BATCH,
		    &batch, &xp->scan_done);
		xp->scan_us += fv_hlc_now_us() - t0;
		if (rc != 0) {
			fv_log_error("export: %s: reading the records: %s",
			    xp->a.format, fv_error_str(rc));
			xp->failed = 1;
		} else if (batch->n > 0)
			submit(xp, X_BATCH, batch, 0);
		else
			fv_store_scan_batch_free(batch);
	}
	if (xp->inflight > 0 || xp->ending)
		return;
	if (xp->failed || xp->gone || xp->scan_done) {
		xp->ending = 1;
		submit(xp, X_END, NULL, !xp->failed && !xp->gone);
	}
}

static void
xjob_done(struct fvp_job *j)
{
	struct xjob *xj = (struct xjob *)j;
	struct fv_export_run *xp = xj->xp;
	int kind = xj->kind, rc = xj->rc, complete = xj->complete;
	double secs;

	xp->inflight--;
	xp->records += xj->records;
	if (kind == X_BEGIN && rc != 0) {
		wipe_free(xj->out, xj->outlen);
		free(xj);
		if (!xp->gone)
			xp->sink.refused(xp->sink.arg, xp->why);
		xport_free(xp);
		return;
	}
	if (kind == X_BEGIN && !xp->gone)
		xp->sink.begin(xp->sink.arg);
	if (rc == 0)
		send_bytes(xp, xj->out, xj->outlen);
	wipe_free(xj->out, xj->outlen);
	fv_store_scan_recycle(xp->scan, xj->recs); /* for the next read */
	free(xj);
	if (rc != 0 && !xp->failed) {
		fv_log_error("export: %s: the plugin failed (record %zu)",
		    xp->a.format, xp->records);
		xp->failed = 1;
	}
	if (kind != X_END) {
		pump(xp);
		return;
	}
	secs = (double)(fv_hlc_now_us() - xp->t0) / 1e6;
	if (complete && rc == 0 && !xp->failed && !xp->gone) {
		xp->sink.done(xp->sink.arg, 1);
		/* where the time went: the loop's reading, the plugin */
		fv_log_info("export: %s: %zu records, %zu bytes in %.2f s "
			    "(reading %.2f s, plugin %.2f s)",
		    xp->a.format, xp->records, xp->bytes, secs,
		    (double)xp->scan_us / 1e6, (double)xp->thread_us / 1e6);
	} else {
		fv_log_error("export: %s: cut off after %zu records (%s)",
		    xp->a.format, xp->records,
		    xp->gone ? "the reader went away" : "failed");
		if (!xp->gone)
			xp->sink.done(xp->sink.arg, 0);
	}
	xport_free(xp);
}

struct fv_export_run *
fv_export_start(struct fvd *d, const struct fvp_export_args *a,
    struct fv_store_scan *scan, const struct fvp_sink *sink)
{
	struct fv_export_run *xp;

	if ((xp = calloc(1, sizeof(*xp))) == NULL)
		return NULL;
	xp->d = d;
	xp->h = d->plugins;
	xp->t0 = fv_hlc_now_us();
	xp->a = *a;
	xp->scan = scan;
	xp->sink = *sink;
	fv_log_info("export: %s: %zu %ss selected", xp->a.format,
	    fv_store_scan_count(xp->scan), fv_record_type_name(xp->a.type));
	submit(xp, X_BEGIN, NULL, 0);
	return xp;
}

void
fv_export_sent(struct fv_export_run *xp)
{
	pump(xp);
}

void
fv_export_gone(struct fv_export_run *xp)
{
	xp->gone = 1;
	pump(xp);
}
