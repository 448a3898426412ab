/*
 * daemon.c - what the parts of the daemon ask of it.
 */
#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "writer.h"

void
fv_daemon_lock(struct fvd *d, const char *why)
{
	fv_writer_flush(d->writer);
	if (!fv_store_locked(d->store))
		fv_log_info("store: locked (%s), keys wiped", why);
	fv_store_lock(d->store);
}

void
fv_daemon_activity(struct fvd *d)
{
	struct timeval tv = { d->conf->auto_lock, 0 };

	if (d->conf->auto_lock > 0)
		evtimer_add(d->ev_autolock, &tv);
	else
		evtimer_del(d->ev_autolock);
}
