/*
 * plugin.h - what the rest of fieldvaultd uses of the plugin host: the API
 * routes that run plugins, and the hooks' feed.  (host.h is the host's
 * inside.)
 */
#ifndef FV_PLUGIN_PLUGIN_H
#define FV_PLUGIN_PLUGIN_H

#include <event2/http.h>

#include "daemon.h"

#define FVP_EXCHANGE_IDS_MAX	10000		/* appeals in one package */

/* GET /v1/plugins: the loaded (and refused) plugins. */
void	fvp_list(struct fvd *d, struct evhttp_request *req);
/* GET /v1/export?format=NAME&...: streams an exporter's output. */
void	fvp_export(struct fvd *d, struct evhttp_request *req);
/* POST /v1/exchange/send {"partner", "format", "ids"}: the package. */
void	fvp_exchange_send(struct fvd *d, struct evhttp_request *req);
/* POST /v1/exchange/import?format=NAME (body: the package). */
void	fvp_exchange_import(struct fvd *d, struct evhttp_request *req);

/* The store's observer (fv_store_set_observer): feeds the hooks. */
void	fvp_hooks_observe(void *d, const uint8_t rid[16], int rtype,
	    int change);
/* Drops the changes not yet passed to hooks (lock: they cannot be read). */
void	fvp_hooks_clear(struct fvd *d);
void	fvp_hooks_free(void);

/* "1a2b 3c4d ...": the first 16 bytes of BLAKE2b-256 of the key. */
void	fvp_fingerprint(const uint8_t pk[32], char out[40]);

#endif
