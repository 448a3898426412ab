/*
 * verify.h - checks the signatures of received ops on a thread of their
 * own, so that the loop applies one batch while the next is verified.
 *
 * Ed25519 verification is most of what receiving costs (2-4 s for 100,000
 * ops on one core); the store and the loop are single-threaded, the check
 * is pure.  A session hands each OPS frame's ops, with the key each must
 * verify under, to the verifier; done() runs on the loop when all are
 * checked.  The store still compares the key against the author's enrolled
 * one before it trusts the result (fv_store_apply_checked()).
 */
#ifndef FV_VERIFY_H
#define FV_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

/* Threads that check: two, so that both cores verify while the loop waits
 * for the disk. */
#define FV_VERIFY_THREADS 2

struct fv_vjob {
	/* filled by the caller */
	size_t n;
	const uint8_t **op; /* n signed ops */
	const size_t *len;
	const uint8_t **pk; /* n Ed25519 keys; NULL: not checked */
	void (*done)(struct fv_vjob *, void *);
	void *arg;
	/* the result, when done() runs */
	uint8_t *ok; /* n flags: 1 verified (caller's
					 * array of n bytes) */
	/* the verifier's */
	TAILQ_ENTRY(fv_vjob) entry;
	int cancelled;
};

/* Starts the threads (done() callbacks run on base).  0 or FV_ENOMEM. */
int fv_verify_start(struct event_base *base);
/* Stops and joins it; jobs not done are dropped (their done() is not
 * called; cancelled ones are freed with free_cancelled). */
void fv_verify_stop(void);
/* Queues a job; done() runs on the loop once every op is checked.  Jobs
 * are checked in the order submitted.  0, or FV_EBUSY when not started
 * (the caller verifies inline then). */
int fv_verify_submit(struct fv_vjob *j);
/* The caller no longer wants the job (its session ended): done() is not
 * called for it, and free_cb(j) runs once the verifier is through with it
 * (at once when it is not being checked). */
void fv_verify_cancel(struct fv_vjob *j, void (*free_cb)(struct fv_vjob *));

#endif
