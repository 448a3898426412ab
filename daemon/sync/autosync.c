/*
 * autosync.c - a field device syncs by itself: at start (once unlocked),
 * every [sync] interval, and after a failure again after
 * FV_SYNC_RETRY_MIN s, doubling up to the interval, with jitter.  With
 * interval = 0 it syncs only when asked (fieldvault sync, bundles).
 */
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "fv_error.h"
#include "log.h"
#include "session.h"

static void autosync_cb(evutil_socket_t, short, void *);

static void
arm(struct fvd *d, long base_s)
{
	struct timeval tv;
	long ms = base_s * 1000;

	if (!d->conf->autosync)
		return; /* interval = 0: only when asked */
	/* jitter, so that devices cut off together do not return together */
	ms += (long)randombytes_uniform((uint32_t)(ms / 4 + 1)) - ms / 8;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ev_autosync, &tv);
}

static void
done(const struct fv_sync_result *r, void *arg)
{
	struct fvd *d = arg;
	long backoff;

	if (r->rc == 0) {
		if (d->sync_failures > 0)
			fv_log_info("sync: HQ reachable again");
		d->sync_failures = 0;
		arm(d, d->conf->interval);
		return;
	}
	d->sync_failures++;
	backoff = FV_SYNC_RETRY_MIN
	    << (d->sync_failures < 12 ? d->sync_failures - 1 : 11);
	if (backoff > d->conf->interval)
		backoff = d->conf->interval;
	/* the first failure and every tenth: a laptop offline for days
	 * must not fill the journal */
	if (d->sync_failures == 1 || d->sync_failures % 10 == 0)
		fv_log_warnx("sync: with HQ failed (%d in a row): %s; retrying "
			     "in about %ld s",
		    d->sync_failures, r->why[0] ? r->why : fv_error_str(r->rc),
		    backoff);
	arm(d, backoff);
}

static void
autosync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fvd *d = arg;
	int rc;

	if (fv_store_locked(d->store)) {
		arm(d, FV_SYNC_RETRY_MIN); /* no keys: wait */
		return;
	}
	if ((rc = fv_sync_field_connect(d, NULL, done, d)) == FV_ENOTFOUND)
		arm(d, d->conf->interval); /* not enrolled */
	else if (rc != 0) {
		struct fv_sync_result r;

		memset(&r, 0, sizeof(r));
		r.rc = rc;
		done(&r, d);
	}
}

int
fv_sync_autosync_start(struct fvd *d)
{
	if ((d->ev_autosync = evtimer_new(d->base, autosync_cb, d)) == NULL)
		return FV_ENOMEM;
	arm(d, 1); /* at start, once unlocked */
	return 0;
}
