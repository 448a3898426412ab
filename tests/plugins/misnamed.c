/*
 * misnamed.c - a deliberately bad plugin for the host's refusal tests: its
 * descriptor names it "othername" but its file is misnamed.so, so
 * [plugins] load, plugin list and export --format could not agree on what
 * to call it.  Expected:
 *	plugin misnamed: refused: its descriptor names it 'othername', its
 *	file 'misnamed'
 */
#include <fieldvault/plugin.h>

static int
misnamed_begin(void *state, fv_export *x, void **run)
{
	(void)state;
	(void)x;
	*run = NULL;
	return 0;
}

static int
misnamed_record(void *run, fv_export *x, const fv_record *r)
{
	(void)run;
	(void)x;
	(void)r;
	return 0;
}

static int
misnamed_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "othername",
	.version = "0",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = misnamed_begin,
	.export_record = misnamed_record,
	.export_end = misnamed_end,
};
