/*
 * nokind.c - a deliberately bad plugin for the host's refusal tests: it
 * says it is an exporter but has no export_record, which the host would
 * otherwise call through NULL at the first export.  Expected:
 *	plugin nokind: refused: an exporter without export_begin,
 *	export_record and export_end
 */
#include <fieldvault/plugin.h>

static int
nokind_begin(void *state, fv_export *x, void **run)
{
	(void)state;
	(void)x;
	*run = NULL;
	return 0;
}

static int
nokind_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "nokind",
	.version = "0",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = nokind_begin,
	.export_record = NULL,
	.export_end = nokind_end,
};
