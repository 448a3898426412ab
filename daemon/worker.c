#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fv_error.h"
#include "log.h"
#include "secmem.h"
#include "worker.h"

struct fv_unlocker {
	struct fvd *d;
	struct event *done_ev, *delay_ev;
	pthread_t thread;
	int running; /* thread started, not joined */
	int busy;    /* attempt not yet answered */
	int failures;
	uint8_t *pass, *kek;
	size_t passlen;
	int rc; /* the thread's result */
	fv_unlock_cb cb;
	void *arg;
};

static void
answer(struct fv_unlocker *u, int rc)
{
	u->busy = 0;
	u->cb(rc, u->arg);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	answer(arg, FV_EPASS);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fv_unlocker *u = arg;
	int rc = u->rc;

	pthread_join(u->thread, NULL);
	u->running = 0;
	fv_secmem_free(u->pass);
	u->pass = NULL;
	if (rc == 0)
		rc = fv_store_unlock(u->d->store, u->kek);
	fv_secmem_free(u->kek);
	u->kek = NULL;
	if (rc == FV_EPASS) {
		struct timeval tv = { 0, 0 };
		int n = u->failures < 6 ? u->failures : 6;

		u->failures++;
		tv.tv_sec = 1L << n;
		if (tv.tv_sec > FV_UNLOCK_DELAY_MAX)
			tv.tv_sec = FV_UNLOCK_DELAY_MAX;
		fv_log_warnx(
		    "unlock: wrong passphrase (%d in a row), answering "
		    "in %ld s",
		    u->failures, (long)tv.tv_sec);
		evtimer_add(u->delay_ev, &tv);
		return;
	}
	if (rc == 0) {
		u->failures = 0;
		fv_log_info("unlock: store unlocked");
		/* the idle time counts from now: a timer that fired while
		 * Argon2id ran found the store locked and did nothing */
		fv_daemon_activity(u->d);
	} else
		fv_log_error("unlock: failed: %s", fv_error_str(rc));
	answer(u, rc);
}

static void *
derive_main(void *arg)
{
	struct fv_unlocker *u = arg;

	u->rc = fv_store_derive(u->d->store, (const char *)u->pass, u->passlen,
	    u->kek);
	event_active(u->done_ev, 0, 0);
	return NULL;
}

int
fv_worker_new(struct fvd *d, struct fv_unlocker **out)
{
	struct fv_unlocker *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return FV_ENOMEM;
	u->d = d;
	u->done_ev = event_new(d->base, -1, 0, done_cb, u);
	u->delay_ev = evtimer_new(d->base, delay_cb, u);
	if (u->done_ev == NULL || u->delay_ev == NULL) {
		fv_worker_free(u);
		return FV_ENOMEM;
	}
	*out = u;
	return 0;
}

void
fv_worker_free(struct fv_unlocker *u)
{
	if (u == NULL)
		return;
	if (u->running)
		pthread_join(u->thread, NULL);
	fv_secmem_free(u->pass);
	fv_secmem_free(u->kek);
	if (u->done_ev != NULL)
		event_free(u->done_ev);
	if (u->delay_ev != NULL)
		event_free(u->delay_ev);
	free(u);
}

int
fv_worker_unlock(struct fv_unlocker *u, uint8_t *pass, size_t len,
    fv_unlock_cb cb, void *arg)
{
	if (u->busy) {
		fv_secmem_free(pass);
		return FV_EBUSY;
	}
	if ((u->kek = fv_secmem_alloc(32)) == NULL) {
		fv_secmem_free(pass);
		return FV_ENOMEM;
	}
	u->pass = pass;
	u->passlen = len;
	u->cb = cb;
	u->arg = arg;
	u->rc = 0;
	if (pthread_create(&u->thread, NULL, derive_main, u) != 0) {
		fv_secmem_free(u->pass);
		fv_secmem_free(u->kek);
		u->pass = u->kek = NULL;
		return FV_ENOMEM;
	}
	u->running = 1;
	u->busy = 1;
	return 0;
}

int
fv_worker_busy(const struct fv_unlocker *u)
{
	return u->busy;
}

int
fv_worker_failures(const struct fv_unlocker *u)
{
	return u->failures;
}
