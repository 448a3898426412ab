/*
 * verify.c - the verifier thread (verify.h).
 *
 * Jobs wait in `todo` (under mu); a thread takes the oldest, checks it
 * without the lock, and moves it to `done` (jobs may finish out of order:
 * a session applies its frames in order anyway); an event wakes the loop, which
 * calls each done job's callback in order.  A job cancelled while queued
 * is freed at once; one cancelled while being checked is freed by the loop
 * when it comes back.
 */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "fv_error.h"
#include "op.h"
#include "verify.h"

TAILQ_HEAD(vjobs, fv_vjob);

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread[FV_VERIFY_THREADS];
	int running, stopping;
	struct vjobs todo, done;
	void (*busy_free)(struct fv_vjob *); /* cancelled */
	struct event *ev;
} v = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *
verifier_main(void *arg)
{
	struct fv_vjob *j;
	size_t i;

	pthread_mutex_lock(&v.mu);
	for (;;) {
		while (!v.stopping && TAILQ_EMPTY(&v.todo))
			pthread_cond_wait(&v.cv, &v.mu);
		if (v.stopping)
			break;
		j = TAILQ_FIRST(&v.todo);
		TAILQ_REMOVE(&v.todo, j, entry);
		pthread_mutex_unlock(&v.mu);
		for (i = 0; i < j->n; i++)
			j->ok[i] = j->pk[i] != NULL &&
			    fv_op_verify(j->op[i], j->len[i], j->pk[i]) == 0;
		pthread_mutex_lock(&v.mu);
		TAILQ_INSERT_TAIL(&v.done, j, entry);
		event_active(v.ev, 0, 0);
	}
	pthread_mutex_unlock(&v.mu);
	return arg;
}

/* On the loop: the callbacks of the jobs checked. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vjobs ready = TAILQ_HEAD_INITIALIZER(ready);
	struct fv_vjob *j;

	pthread_mutex_lock(&v.mu);
	TAILQ_CONCAT(&ready, &v.done, entry);
	pthread_mutex_unlock(&v.mu);
	while ((j = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, j, entry);
		if (j->cancelled)
			v.busy_free(j);
		else
			j->done(j, j->arg);
	}
}

int
fv_verify_start(struct event_base *base)
{
	int i;

	if (v.running)
		return 0;
	TAILQ_INIT(&v.todo);
	TAILQ_INIT(&v.done);
	if ((v.ev = event_new(base, -1, 0, done_cb, NULL)) == NULL)
		return FV_ENOMEM;
	v.stopping = 0;
	for (i = 0; i < FV_VERIFY_THREADS; i++)
		if (pthread_create(&v.thread[i], NULL, verifier_main, NULL) !=
		    0)
			break;
	v.running = i;
	if (i == 0) {
		event_free(v.ev);
		v.ev = NULL;
		return FV_ENOMEM;
	}
	return 0;
}

void
fv_verify_stop(void)
{
	int i;

	if (!v.running)
		return;
	pthread_mutex_lock(&v.mu);
	v.stopping = 1;
	pthread_cond_broadcast(&v.cv);
	pthread_mutex_unlock(&v.mu);
	for (i = 0; i < v.running; i++)
		pthread_join(v.thread[i], NULL);
	v.running = 0;
	done_cb(-1, 0, NULL); /* cancelled jobs checked meanwhile */
	event_free(v.ev);
	v.ev = NULL;
}

int
fv_verify_submit(struct fv_vjob *j)
{
	if (!v.running)
		return FV_EBUSY;
	j->cancelled = 0;
	pthread_mutex_lock(&v.mu);
	TAILQ_INSERT_TAIL(&v.todo, j, entry);
	pthread_cond_signal(&v.cv);
	pthread_mutex_unlock(&v.mu);
	return 0;
}

void
fv_verify_cancel(struct fv_vjob *j, void (*free_cb)(struct fv_vjob *))
{
	struct fv_vjob *t;
	int found = 0;

	pthread_mutex_lock(&v.mu);
	/* queued: take it out; being checked or checked: mark it */
	TAILQ_FOREACH(t, &v.todo, entry)
		if (t == j) {
			TAILQ_REMOVE(&v.todo, j, entry);
			found = 1;
			break;
		}
	if (!found) {
		j->cancelled = 1;
		v.busy_free = free_cb;
	}
	pthread_mutex_unlock(&v.mu);
	if (found)
		free_cb(j);
}
