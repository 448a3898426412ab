/*
 * noentry.c - a deliberately bad plugin for the host's refusal tests: it
 * exports no fieldvault_plugin_v1, only a descriptor under another name,
 * as a library built for something else (or a typo) would.  Expected:
 *	plugin noentry: refused: .../noentry.so: no fieldvault_plugin_v1
 *	symbol: not a fieldvault plugin
 */
#include <fieldvault/plugin.h>

static int
noentry_begin(void *state, fv_export *x, void **run)
{
	(void)state;
	(void)x;
	*run = NULL;
	return 0;
}

static int
noentry_record(void *run, fv_export *x, const fv_record *r)
{
	(void)run;
	(void)x;
	(void)r;
	return 0;
}

static int
noentry_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

/* A whole descriptor, so that only the missing symbol can be the reason. */
const struct fv_plugin fieldvault_plugin = {
	FV_PLUGIN_ABI,
	.name = "noentry",
	.version = "0",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = noentry_begin,
	.export_record = noentry_record,
	.export_end = noentry_end,
};
