/*
 * daemon.h - the state of fieldvaultd, shared by its parts.
 *
 * One libevent loop owns everything here; only the unlock worker thread
 * runs beside it, and it touches nothing but its own job (worker.h).
 */
#ifndef FV_DAEMON_H
#define FV_DAEMON_H

#include <event2/event.h>
#include <event2/http.h>

#include "conf.h"
#include "store.h"

struct fv_writer;
struct fv_unlocker;
struct fvp_host;

struct fvd {
	struct event_base *base;
	struct fv_config *conf;
	const char *conf_path;
	struct fv_store *store;
	struct evhttp *http;
	int listen_fd;
	struct event *ev_term, *ev_int, *ev_hup, *ev_autolock;
	struct event *ev_trim;	   /* gives free heap back */
	struct event *ev_autosync; /* field: the next sync */
	int sync_failures;	   /* in a row */
	struct fv_writer *writer;
	struct fv_unlocker *unlocker;
	struct fvp_host *plugins; /* plugin/host.h */
	int stopping;
	long started;
};

/* Something happened on the API: push the auto_lock deadline back. */
void fv_daemon_activity(struct fvd *d);
/* Wipe every key now (lock command, auto_lock, shutdown). */
void fv_daemon_lock(struct fvd *d, const char *why);

#endif
