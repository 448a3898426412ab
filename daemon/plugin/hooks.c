/*
 * hooks.c - hook plugins hear of every committed change.
 *
 * The store tells of each change at commit (fv_hooks_observe): its id,
 * type and kind wait in a list on the loop.  A low-priority event reads
 * the records (HOOK_BATCH at a time, at most HOOK_WINDOW batches at the
 * plugin thread) and hands them over; the thread calls every hook plugin
 * for each.  A hook that falls behind makes the list grow up to
 * HOOK_WAIT_MAX changes; past that, changes are dropped and counted in
 * the log: the daemon's memory and loop come first.
 */
#include <fieldvault/plugin.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "op.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "plugin/record.h"
#include "sdkimpl.h"

#define HOOK_BATCH    256
#define HOOK_WINDOW   2
#define HOOK_WAIT_MAX (1024 * 1024)

struct change {
	uint8_t rid[FV_ID_BYTES];
	uint8_t rtype, kind;
};

struct hooks {
	struct change *v;
	size_t head, n, cap;
	size_t dropped;
	int64_t dropped_logged;
	int inflight;
	struct event *ev;
};

/* A change read for the hooks: the record's state (owned; zeroed when
 * it is deleted) and its author's name. */
struct hrec {
	struct change c;
	struct fv_state st;
	char by[FV_NAME_MAX + 1];
};

struct hjob {
	struct fvp_job j;
	struct fvd *d;
	struct hrec v[HOOK_BATCH];
	size_t n;
};

static struct hooks hk;

static void feed(evutil_socket_t, short, void *);

void
fv_hooks_observe(void *arg, const uint8_t rid[16], int rtype, int change)
{
	struct fvd *d = arg;
	struct change *nv;
	size_t i, c;

	if (!fv_host_have_hooks(d->plugins))
		return;
	if (hk.n == HOOK_WAIT_MAX) {
		hk.dropped++;
		if (fv_hlc_now_ms() - hk.dropped_logged > 10000) {
			fv_log_error(
			    "plugins: hooks are %d changes behind: %zu "
			    "changes dropped so far",
			    HOOK_WAIT_MAX, hk.dropped);
			hk.dropped_logged = fv_hlc_now_ms();
		}
		return;
	}
	if (hk.n == hk.cap) { /* a ring, grown in order */
		c = hk.cap ? 2 * hk.cap : 1024;
		if ((nv = malloc(c * sizeof(*nv))) == NULL) {
			hk.dropped++;
			return;
		}
		for (i = 0; i < hk.n; i++)
			nv[i] = hk.v[(hk.head + i) % hk.cap];
		free(hk.v);
		hk.v = nv;
		hk.cap = c;
		hk.head = 0;
	}
	nv = &hk.v[(hk.head + hk.n) % hk.cap];
	memcpy(nv->rid, rid, FV_ID_BYTES);
	nv->rtype = (uint8_t)rtype;
	nv->kind = (uint8_t)change;
	hk.n++;
	if (hk.ev == NULL) {
		if ((hk.ev = event_new(d->base, -1, 0, feed, d)) == NULL)
			return;
		event_priority_set(hk.ev, 2);
	}
	event_active(hk.ev, 0, 0);
}

void
fv_hooks_clear(struct fvd *d)
{
	if (hk.n > 0)
		fv_log_warnx("plugins: store locked: %zu changes not passed to "
			     "hooks",
		    hk.n);
	hk.n = 0;
	hk.head = 0;
}

/* --- plugin thread ---------------------------------------------------------- */

struct call {
	struct fv_record *r;
	int change;
};

static void
call_hook(struct fv_host *p, void *arg)
{
	struct call *c = arg;

	p->desc->hook(p->state, p, (enum fv_change)c->change, c->r);
}

static void
hjob_run(struct fvp_job *j)
{
	struct hjob *hj = (struct hjob *)j;
	struct fv_plugin_record pr;
	struct call c = { &pr.rec, 0 };
	size_t i;

	if (fv_plugin_record_init(&pr) != 0)
		return;
	for (i = 0; i < hj->n; i++) {
		struct hrec *h = &hj->v[i];

		c.change = h->c.kind;
		if (fv_plugin_record_set(&pr, h->c.rtype, h->c.rid,
			h->c.kind == FV_CHANGE_DELETE ? NULL : &h->st,
			h->by) == 0)
			fv_host_each(j->host, FV_KIND_HOOK, call_hook, &c);
		fv_sdk_record_release(&pr.rec);
	}
	fv_plugin_record_free(&pr);
}

/* --- loop --------------------------------------------------------------------- */

static void
hjob_done(struct fvp_job *j)
{
	struct hjob *hj = (struct hjob *)j;
	size_t i;

	hk.inflight--;
	if (hk.n > 0 && hk.ev != NULL)
		event_active(hk.ev, 0, 0);
	for (i = 0; i < hj->n; i++)
		fv_state_free(&hj->v[i].st);
	free(hj);
}

/* Reads the record c tells of into h: 0, or -1 (a store error: the
 * change is not passed on). */
static int
read_change(struct fvd *d, const struct change *c, struct hrec *h)
{
	int rc = FV_ENOTFOUND;

	h->c = *c;
	memset(&h->st, 0, sizeof(h->st));
	if (c->kind != FV_CHANGE_DELETE)
		rc = fv_store_record(d->store, c->rtype, c->rid, &h->st, h->by);
	if (rc == FV_ENOTFOUND || rc == FV_EDELETED) {
		/* deleted (perhaps since): the id and type are all there is */
		h->c.kind = FV_CHANGE_DELETE;
		return 0;
	}
	return rc == 0 ? 0 : -1;
}

static void
feed(evutil_socket_t fd, short what, void *arg)
{
	struct fvd *d = arg;
	struct hjob *hj;
	size_t i;

	while (hk.n > 0 && hk.inflight < HOOK_WINDOW) {
		if (fv_store_locked(d->store)) {
			fv_hooks_clear(d);
			return;
		}
		if ((hj = calloc(1, sizeof(*hj))) == NULL)
			return;
		for (i = 0; i < HOOK_BATCH && hk.n > 0; i++) {
			if (read_change(d, &hk.v[hk.head], &hj->v[hj->n]) == 0)
				hj->n++;
			hk.head = (hk.head + 1) % hk.cap;
			hk.n--;
		}
		hj->d = d;
		hj->j.run = hjob_run;
		hj->j.done = hjob_done;
		hk.inflight++;
		fv_host_submit(d->plugins, &hj->j);
	}
}

void
fv_hooks_free(void)
{
	if (hk.ev != NULL)
		event_free(hk.ev);
	free(hk.v);
	memset(&hk, 0, sizeof(hk));
}
