/*
 * badabi.c - a deliberately bad plugin for the host's refusal tests: built
 * for the next ABI major, which this host cannot know the layout of.
 * Expected:
 *	plugin badabi: refused: built for plugin ABI 2.0; this fieldvaultd
 *	has 1.0
 */
#include <fieldvault/plugin.h>

static int
badabi_begin(void *state, fv_export *x, void **run)
{
	(void)state;
	(void)x;
	*run = NULL;
	return 0;
}

static int
badabi_record(void *run, fv_export *x, const fv_record *r)
{
	(void)run;
	(void)x;
	(void)r;
	return 0;
}

static int
badabi_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

/* Not FV_PLUGIN_ABI: the ABI fields are what is under test. */
const struct fv_plugin fieldvault_plugin_v1 = {
	.abi_major = FV_ABI_MAJOR + 1,
	.abi_minor = 0,
	.name = "badabi",
	.version = "0",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = badabi_begin,
	.export_record = badabi_record,
	.export_end = badabi_end,
};
