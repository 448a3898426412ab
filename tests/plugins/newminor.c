/*
 * newminor.c - a deliberately bad plugin for the host's refusal tests:
 * built against a newer SDK of the same major, so it may call a host
 * function or set a member this host lacks.  Expected:
 *	plugin newminor: refused: built for plugin ABI 1.1; this
 *	fieldvaultd has 1.0
 */
#include <fieldvault/plugin.h>

static int
newminor_begin(void *state, fv_export *x, void **run)
{
	(void)state;
	(void)x;
	*run = NULL;
	return 0;
}

static int
newminor_record(void *run, fv_export *x, const fv_record *r)
{
	(void)run;
	(void)x;
	(void)r;
	return 0;
}

static int
newminor_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

/* Not FV_PLUGIN_ABI: the ABI fields are what is under test. */
const struct fv_plugin fieldvault_plugin_v1 = {
	.abi_major = FV_ABI_MAJOR,
	.abi_minor = FV_ABI_MINOR + 1,
	.name = "newminor",
	.version = "0",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = newminor_begin,
	.export_record = newminor_record,
	.export_end = newminor_end,
};
