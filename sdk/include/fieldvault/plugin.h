/*
 * fieldvault/plugin.h - the plugin ABI of fieldvault.  The only header a
 * plugin includes (it includes record.h and host.h).
 *
 * A plugin is a shared object that exports one symbol,
 *
 *	const struct fv_plugin fieldvault_plugin_v1 = { FV_PLUGIN_ABI, ... };
 *
 * and is loaded by fieldvaultd from [plugins] dir when its name is in
 * [plugins] load.  The host refuses (one log line each, and goes on
 * without it) a plugin whose file is missing or writable by group or
 * others, that
 * lacks the symbol, whose ABI major differs from the host's or whose minor
 * is newer, whose name differs from its file's, that names no kind or
 * lacks a callback of a kind it names, or whose init fails.
 *
 * Build with -Wl,-z,now (pkg-config --libs fieldvault-plugin gives it) so
 * that a host function the daemon lacks makes the load fail, not a call
 * later.
 *
 * ABI rules (as Varnish does it): adding a function or appending a member
 * to struct fv_plugin raises FV_ABI_MINOR; removing or changing anything
 * raises FV_ABI_MAJOR and sets the minor to 0.  A plugin loads when its
 * major equals the host's and its minor is not above the host's.
 *
 * ABI changelog:
 *   1.0  (fieldvault 0.1)  first: exporter, exchange and hook kinds.
 */
#ifndef FIELDVAULT_PLUGIN_H
#define FIELDVAULT_PLUGIN_H

#include <stdint.h>

#include <fieldvault/host.h>
#include <fieldvault/record.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FV_ABI_MAJOR 1
#define FV_ABI_MINOR 0

/* The symbol the host looks for. */
#define FV_PLUGIN_SYMBOL "fieldvault_plugin_v1"

/* Kinds: what a plugin does (any combination). */
#define FV_KIND_EXPORTER 0x1u /* records -> a file format */
#define FV_KIND_EXCHANGE 0x2u /* records <-> a partner's package */
#define FV_KIND_HOOK	 0x4u /* called on each committed change */

/* The ABI fields, first in every descriptor. */
#define FV_PLUGIN_ABI .abi_major = FV_ABI_MAJOR, .abi_minor = FV_ABI_MINOR

struct fv_plugin {
	/* the ABI the plugin was built for: set with FV_PLUGIN_ABI */
	uint16_t abi_major;
	uint16_t abi_minor;
	/* the name in [plugins] load and of the file (NAME.so): 1..32 of
	 * a-z 0-9 _ - */
	const char *name;
	const char *version;	 /* the plugin's own, for plugin list */
	const char *description; /* one line, or NULL */
	unsigned kinds;		 /* FV_KIND_* */
	/* the keys its [plugin.NAME] section may hold, NULL-terminated;
	 * NULL: none */
	const char *const *config_keys;

	/* Called once after loading: check the configuration, set up,
	 * return 0 and put the plugin's state in *state, or log why and
	 * return -1 (the plugin is then unloaded; fini is not called). */
	int (*init)(fv_host *h, void **state);
	/* Called once before unloading (shutdown, SIGHUP). */
	void (*fini)(void *state);

	/* FV_KIND_EXPORTER: a run is begin, record for each record in
	 * order, end.  begin puts the run's own state in *run.  end is
	 * always called after a successful begin; complete is 1 when every
	 * record was passed, 0 when the run was cut short (an error, the
	 * reader went away): then free and write nothing more.  A -1 from
	 * begin or record ends the run as failed. */
	int (*export_begin)(void *state, fv_export *x, void **run);
	int (*export_record)(void *run, fv_export *x, const fv_record *r);
	int (*export_end)(void *run, fv_export *x, int complete);

	/* FV_KIND_EXCHANGE: send writes a package of the n appeals for
	 * fv_exchange_partner() to fv_exchange_output(); import reads one
	 * and passes what it holds to fv_exchange_add_appeal() and
	 * fv_exchange_add_reply().  The host applies an import only when
	 * import returns 0, all of it in one transaction. */
	int (*exchange_send)(void *state, fv_exchange *x,
	    const fv_record *const *recs, size_t n);
	int (*exchange_import)(void *state, fv_exchange *x, const uint8_t *pkg,
	    size_t len);

	/* FV_KIND_HOOK: called for each change after it is durable, in
	 * commit order.  Changes wait in a queue of bounded size: a hook
	 * that falls far behind loses changes, and the host logs how many. */
	void (*hook)(void *state, fv_host *h, enum fv_change change,
	    const fv_record *r);
};

/* What every plugin defines (declared here so that the compiler checks
 * its type, and C++ gives it C linkage). */
extern const struct fv_plugin fieldvault_plugin_v1;

#ifdef __cplusplus
}
#endif

#endif
