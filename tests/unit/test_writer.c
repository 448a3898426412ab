/*
 * test_writer.c - the one committer (daemon/writer.h) on a real store:
 * a group in one transaction, a clean refusal that leaves the others be,
 * a write that spoils the transaction taken out and the rest applied
 * again, a caller's write that gathers at the flush (and one that has
 * nothing), the group's size limit, a cancelled write, a full map grown
 * and replayed, and fv_writer_run()'s all or nothing.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "daemon.h"
#include "fv_error.h"
#include "record.h"
#include "secmem.h"
#include "store.h"
#include "tap.h"
#include "writer.h"

#define A FV_RTYPE_APPEAL

static const char PASS[] = "correct horse battery staple";
static char root[] = "/tmp/fvwriter.XXXXXX";

/* A validated appeal body, as the API hands it to the writer. */
static json_t *
appeal(const char *name, size_t summary_len)
{
	struct fv_verr e;
	char *sum = malloc(summary_len + 1);
	json_t *o;

	memset(sum, 's', summary_len);
	sum[summary_len] = '\0';
	o = json_pack("{s:{s:s}, s:s, s:s, s:s}", "applicant", "full_name",
	    name, "concerns_country", "UZ", "category", "other", "summary",
	    sum);
	free(sum);
	if (o == NULL || fv_record_check(o, A, &e) != 0)
		abort();
	fv_record_strip_readonly(o);
	if (fv_record_defaults(o, A, 1764000000000LL) != 0)
		abort();
	return o;
}

static size_t
appeals(struct fv_store *s)
{
	struct fv_store_stats st;

	fv_store_stats(s, &st);
	return st.appeals;
}

struct w {
	struct fv_write wr;
	uint8_t rid[16];
	int ndone;
	/* FV_W_CALL */
	size_t weight; /* what gather() says */
	int nrec;      /* records it creates */
	int fail;      /* the error after them */
	int napplied;
};

static void
done(struct fv_write *wr)
{
	((struct w *)wr->arg)->ndone++;
}

static size_t
gather(struct fv_write *wr, size_t budget)
{
	struct w *x = wr->arg;

	return x->weight < budget ? x->weight : budget;
}

/* gather() of a write that notes whether another was done by then */
static struct w *after;
static int seen_done = -1;

static size_t
gather_after(struct fv_write *wr, size_t budget)
{
	seen_done = after->ndone;
	return gather(wr, budget);
}

static int
call_apply(struct fv_store *s, struct fv_write *wr)
{
	struct w *x = wr->arg;
	struct fv_verr e;
	uint8_t rid[16];
	json_t *b;
	int i, rc;

	x->napplied++;
	for (i = 0; i < x->nrec; i++) {
		b = appeal("Call Writer", 20000);
		randombytes_buf(rid, sizeof(rid));
		rc = fv_store_create(s, A, b, rid, &e);
		json_decref(b);
		if (rc != 0)
			return rc;
	}
	return x->fail;
}

static void
create(struct w *x, json_t *body)
{
	memset(x, 0, sizeof(*x));
	x->wr.kind = FV_W_CREATE;
	x->wr.rtype = A;
	x->wr.body = body;
	x->wr.rids = x->rid;
	x->wr.n = 1;
	x->wr.done = done;
	x->wr.arg = x;
	randombytes_buf(x->rid, sizeof(x->rid));
}

static void
call(struct w *x, size_t weight, int nrec, int fail)
{
	memset(x, 0, sizeof(*x));
	x->wr.kind = FV_W_CALL;
	x->wr.gather = gather;
	x->wr.apply = call_apply;
	x->wr.done = done;
	x->wr.arg = x;
	x->weight = weight;
	x->nrec = nrec;
	x->fail = fail;
}

static int
run_fn(struct fv_store *s, void *arg)
{
	struct w *x = arg;
	struct fv_write wr;

	memset(&wr, 0, sizeof(wr));
	wr.arg = x;
	return call_apply(s, &wr);
}

int
main(void)
{
	struct event_base *base;
	struct fv_store *s = NULL;
	struct fvd d;
	struct fv_writer *w;
	struct w a, b, c, e, f, g;
	char dir[PATH_MAX];
	uint8_t *kek;
	size_t n0;
	json_t *bad;

	if (sodium_init() < 0 || fv_secmem_init() != 0 ||
	    mkdtemp(root) == NULL || (base = event_base_new()) == NULL ||
	    event_base_priority_init(base, 3) != 0 ||
	    (kek = fv_secmem_alloc(32)) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/data", root);
	/* a small map: the growth is exercised below */
	fv_store_set_initial_map((size_t)1 << 20);
	if (fv_store_init(dir, "field", "writer-test", PASS, strlen(PASS)) !=
		0 ||
	    fv_store_open(dir, &s) != 0 ||
	    fv_store_derive(s, PASS, strlen(PASS), kek) != 0 ||
	    fv_store_unlock(s, kek) != 0)
		return 1;
	memset(&d, 0, sizeof(d));
	d.base = base;
	d.store = s;
	is_int(fv_writer_new(&d, &w), 0, "a writer");

	/* 1. a group: a create, a refused create, a write that spoils */
	create(&a, appeal("Group Member", 100));
	bad = json_pack("{s:s}", "status", "forwarded");
	create(&b, bad);
	b.wr.kind = FV_W_UPDATE; /* of no record: refused cleanly */
	call(&c, 3, 2, FV_ESIG);
	fv_writer_submit(w, &a.wr);
	fv_writer_submit(w, &b.wr);
	fv_writer_submit(w, &c.wr);
	fv_writer_submit(w, &a.wr); /* queued already: nothing */
	is_int(fv_writer_pending(w), 3, "three writes queued, once each");
	is_int(a.ndone + b.ndone + c.ndone, 0,
	    "  none done before the loop "
	    "turns");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	is_int(a.ndone + b.ndone + c.ndone, 3, "one turn: all three done");
	is_int(a.wr.rc, 0, "  the good create committed");
	is_int(b.wr.rc, FV_ENOTFOUND, "  the refused one failed alone");
	is_int(c.wr.rc, FV_ESIG, "  the spoiling write got its own error");
	is_int(c.napplied, 1, "  and was taken out after one try");
	is_int(appeals(s), 1,
	    "  the store holds the good create only: the "
	    "spoiling write's 2 records were rolled back");

	/* 2. a caller's write with nothing to gather: no done() */
	call(&e, 0, 1, 0);
	fv_writer_submit(w, &e.wr);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	is_int(e.ndone, 0,
	    "a write that gathers nothing is dropped, no "
	    "done()");
	is_int(e.napplied, 0, "  and not applied");
	is_int(fv_writer_pending(w), 0, "  nor left queued");

	/* 3. the group's limit: a second write goes into a group of its
	 * own (it gathers after the first group's done()) */
	call(&e, FV_GROUP_MAX, 1, 0);
	call(&f, 1, 1, 0);
	f.wr.gather = gather_after;
	f.wr.arg = &f;
	after = &e;
	fv_writer_submit(w, &e.wr);
	fv_writer_submit(w, &f.wr);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	is_int(e.ndone + f.ndone, 2, "a full group, then the next write");
	is_int(seen_done, 1,
	    "  in a group of its own, formed after the "
	    "first was committed");
	is_int(f.wr.rc, 0, "  committed");

	/* 4. cancel */
	create(&g, appeal("Cancelled", 100));
	fv_writer_submit(w, &g.wr);
	fv_writer_cancel(w, &g.wr);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	is_int(g.ndone, 0, "a cancelled write is not done");
	json_decref(g.wr.body);

	/* 5. the map fills (1 MiB, 80 records of 20 KB): grown, replayed */
	n0 = appeals(s);
	call(&e, 80, 80, 0);
	fv_writer_submit(w, &e.wr);
	fv_writer_flush(w);
	is_int(e.wr.rc, 0, "a group larger than the map commits");
	ok(e.napplied > 1,
	    "  after the map was grown and the group "
	    "replayed (%d tries)",
	    e.napplied);
	is_int(appeals(s), n0 + 80, "  every record once");

	/* 6. fv_writer_run: all or nothing, with growth */
	n0 = appeals(s);
	call(&e, 0, 3, FV_EINVAL);
	ok(fv_writer_run(w, run_fn, &e) == FV_EINVAL, "run: fn's error");
	is_int(appeals(s), n0, "  nothing of it committed");
	call(&e, 0, 120, 0);
	is_int(fv_writer_run(w, run_fn, &e), 0,
	    "run: a transaction larger "
	    "than the map");
	ok(e.napplied > 1, "  grown and run again (%d tries)", e.napplied);
	is_int(appeals(s), n0 + 120, "  committed once");

	/* 7. locked: every write of the group fails with that */
	fv_store_lock(s);
	json_decref(a.wr.body);
	create(&a, appeal("Locked Out", 100));
	fv_writer_submit(w, &a.wr);
	fv_writer_flush(w);
	is_int(a.wr.rc, FV_ELOCKED, "a locked store fails the group");

	json_decref(a.wr.body);
	json_decref(bad);
	fv_writer_free(w);
	fv_store_close(s);
	fv_secmem_free(kek);
	event_base_free(base);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			diag("could not remove %s", root);
	}
	return done_testing();
}
