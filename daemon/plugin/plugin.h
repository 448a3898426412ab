/*
 * plugin.h - what the rest of fieldvaultd uses of the plugin host: jobs
 * that run plugins (the list, exports, partner exchange), each telling
 * its outcome to callbacks on the loop, and the hooks' feed.  It knows
 * nothing of HTTP: the API (api/routes_plugins.c) answers requests with
 * these.  (host.h is the host's inside.)
 */
#ifndef FV_PLUGIN_PLUGIN_H
#define FV_PLUGIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon.h"

#define FVP_NAME_MAX	     32		       /* a plugin's name */
#define FVP_EXCHANGE_IDS_MAX 10000	       /* appeals in one package */
#define FVP_PACKAGE_MAX	     (8 * 1024 * 1024) /* one import request */

/* The loaded (and refused) plugins, as a JSON array of {name, state,
 * ...} (docs/api.md) to done (reference taken), on the loop; NULL when
 * out of memory.  fv_host_list_gone: the asker left, done is not called. */
struct fv_host_list;
struct fv_host_list *fv_host_list(struct fvd *d,
    void (*done)(json_t *list, void *arg), void *arg);
void fv_host_list_gone(struct fv_host_list *l);
/*
 * An export: an exporter plugin's output, to a sink.  begin, then bytes
 * any number of times, then done; or refused alone, when the exporter
 * cannot begin.  None is called once the sink's reader is gone.
 */
struct fvp_sink {
	void (*begin)(void *arg);
	/* 0, or -1: the bytes are lost (the export fails). */
	int (*bytes)(void *arg, const uint8_t *p, size_t len);
	/* Bytes taken and not yet sent on: the export waits while many. */
	size_t (*queued)(void *arg);
	void (*refused)(void *arg, const char *why);
	/* complete: 0 if the export was cut off (the bytes are not all). */
	void (*done)(void *arg, int complete);
	void *arg;
};

struct fvp_export_args {
	char format[FVP_NAME_MAX + 1]; /* the exporter */
	enum fv_rtype type;
	char from[40], to[40];	  /* as asked ("": none) */
	long long from_ms, to_ms; /* the period, inclusive */
	int json;		  /* the json=1 option */
};

struct fv_export_run;
/* Starts an export of the records of scan (taken): NULL when out of
 * memory (scan is then the caller's still). */
struct fv_export_run *fv_export_start(struct fvd *d,
    const struct fvp_export_args *a, struct fv_store_scan *scan,
    const struct fvp_sink *sink);
/* The sink sent bytes on: the export reads on. */
void fv_export_sent(struct fv_export_run *x);
/* The sink's reader went away: the export ends, calling it no more. */
void fv_export_gone(struct fv_export_run *x);
/*
 * Partner exchange (HQ): send makes a package of appeals for a partner
 * and marks them forwarded; import writes what a partner's package holds,
 * all or nothing.  The outcome comes to done, on the loop.
 */
enum fvp_fault {
	FVP_FAULT_NONE,
	FVP_FAULT_INPUT,   /* the request */
	FVP_FAULT_STORE,   /* the store: rc says what */
	FVP_FAULT_REFUSED, /* the plugin, or the package */
	FVP_FAULT_WRITE	   /* the store refused a write */
};
struct fvp_outcome {
	enum fvp_fault fault;
	int rc;		   /* FVP_FAULT_STORE */
	const char *field; /* the input at fault, or NULL */
	char why[640];	   /* what went wrong, whole */
	const char *partner;
	size_t appeals, replies; /* send: in the package */
	const uint8_t *pkg;	 /* send: the package */
	size_t pkglen;
	size_t created, held, unchanged; /* import */
};
typedef void (*fvp_exchange_done)(const struct fvp_outcome *o, void *arg);

struct fvp_exchange;
/* Sends the n appeals of ids (16 bytes each) to partner with the plugin
 * format.  NULL with *o filled (done is not called) when refused at
 * once. */
struct fvp_exchange *fv_exchange_send(struct fvd *d, const char *format,
    const char *partner, const uint8_t *ids, size_t n, fvp_exchange_done done,
    void *arg, struct fvp_outcome *o);
/* Imports the package pkg (taken, wiped when freed) with the plugin
 * format; as send. */
struct fvp_exchange *fv_exchange_import(struct fvd *d, const char *format,
    uint8_t *pkg, size_t len, fvp_exchange_done done, void *arg,
    struct fvp_outcome *o);
/* The asker left: the run goes on, done is not called. */
void fv_exchange_gone(struct fvp_exchange *x);

/* The store's observer (fv_store_set_observer): feeds the hooks. */
void fv_hooks_observe(void *d, const uint8_t rid[16], int rtype, int change);
/* Drops the changes not yet passed to hooks (lock: they cannot be read). */
void fv_hooks_clear(struct fvd *d);
void fv_hooks_free(void);

/* "1a2b 3c4d ...": the first 16 bytes of BLAKE2b-256 of the key. */
void fv_exchange_fingerprint(const uint8_t pk[32], char out[40]);

#endif
