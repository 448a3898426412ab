#include <pthread.h>

#include "par.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static int started, pending;
static unsigned long gen;
static void (*job_fn)(void *, size_t, size_t, int);
static void *job_arg;
static size_t job_lo, job_hi;

static void *
helper(void *unused)
{
	unsigned long seen = 0;

	(void)unused;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (gen == seen)
			pthread_cond_wait(&go, &mu);
		seen = gen;
		pthread_mutex_unlock(&mu);
		job_fn(job_arg, job_lo, job_hi, 1);
		pthread_mutex_lock(&mu);
		pending = 0;
		pthread_cond_signal(&done);
	}
	return NULL;
}

void
fv_par_run(size_t n, void (*fn)(void *, size_t, size_t, int), void *arg)
{
	pthread_t t;
	size_t half = n / 2;

	pthread_mutex_lock(&mu);
	if (!started && n >= FV_PAR_MIN) {
		pthread_attr_t at;

		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&t, &at, helper, NULL) == 0;
		pthread_attr_destroy(&at);
	}
	/* the helper is busy with another caller's half: do it all here */
	if (!started || n < FV_PAR_MIN || pending) {
		pthread_mutex_unlock(&mu);
		fn(arg, 0, n, 0);
		return;
	}
	job_fn = fn;
	job_arg = arg;
	job_lo = half;
	job_hi = n;
	pending = 1;
	gen++;
	pthread_cond_signal(&go);
	pthread_mutex_unlock(&mu);
	fn(arg, 0, half, 0);
	pthread_mutex_lock(&mu);
	while (pending)
		pthread_cond_wait(&done, &mu);
	pthread_mutex_unlock(&mu);
}
