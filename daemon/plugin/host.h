/*
 * host.h - fieldvaultd's plugin host (internal; plugins see only the SDK,
 * sdk/include/fieldvault/).
 *
 * Plugins run on one thread of their own, the plugin thread: loading,
 * init, every callback, fini and unloading happen there, so a plugin may
 * block without holding the event loop, and needs no locks.  The loop
 * talks to that thread with jobs: run() on the plugin thread, then done()
 * back on the loop.  The thread owns the registry of loaded plugins; the
 * loop owns the store.  Records cross as jansson objects handed over
 * whole (never shared).
 *
 * Include <fieldvault/plugin.h> before any daemon header (log.h).
 */
#ifndef FV_PLUGIN_HOST_H
#define FV_PLUGIN_HOST_H

#include <fieldvault/plugin.h>

#include <limits.h>
#include <sys/queue.h>

#include <jansson.h>
#include <ltdl.h>

#include "conf.h"
#include "daemon.h"
#include "plugin/plugin.h"

#define FVP_OUTPUT_MAX (64u * 1024 * 1024) /* one callback's output */

struct fvp_host;

/* A loaded plugin: the SDK's fv_host is this. */
struct fv_host {
	char name[FVP_NAME_MAX + 1];
	char inst[FV_NAME_MAX + 1], role[8];
	lt_dlhandle dl;
	const struct fv_plugin *desc;
	void *state;
	char **kv;   /* key, value, ..., NULL */
	int refs;    /* runs using it */
	int retired; /* unloaded once refs is 0 */
	struct fvp_host *host;
	TAILQ_ENTRY(fv_host) entry;
};

struct fvp_job {
	void (*run)(struct fvp_job *j);	 /* thread */
	void (*done)(struct fvp_job *j); /* loop */
	struct fvp_host *host;
	TAILQ_ENTRY(fvp_job) entry;
};

/* Starts the plugin thread and queues the loading of conf's plugins. */
int fv_host_new(struct fvd *d, struct fvp_host **out);
/* SIGHUP: queues unloading every plugin and loading conf's (a plugin in
 * use by a run is unloaded when the run ends). */
void fv_host_reload(struct fvp_host *h, const struct fv_config *conf);
/* Unloads everything, stops the thread, runs the jobs' done callbacks
 * still due; NULL is a no-op. */
void fv_host_free(struct fvp_host *h);
/* Queues a job (run on the thread, then done on the loop). */
void fv_host_submit(struct fvp_host *h, struct fvp_job *j);
struct fvd *fv_host_daemon(struct fvp_host *h);
/* Is a hook plugin loaded (as of the last load)?  Loop side. */
int fv_host_have_hooks(const struct fvp_host *h);

/* Plugin thread only: the loaded plugin called name with kind, with a
 * reference taken (fv_host_unref), or NULL. */
struct fv_host *fv_host_find(struct fvp_host *h, const char *name,
    unsigned kind);
void fv_host_unref(struct fv_host *p);
/* Plugin thread only: calls fn for each loaded plugin with kind. */
void fv_host_each(struct fvp_host *h, unsigned kind,
    void (*fn)(struct fv_host *p, void *arg), void *arg);
/* Plugin thread only: the plugins as a JSON array (loaded and refused). */
json_t *fv_host_list_json(struct fvp_host *h);

#endif
