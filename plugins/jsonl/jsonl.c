/*
 * jsonl.c - the jsonl exporter: JSON Lines, one record per line as compact
 * JSON (UTF-8 as it is, no \u escapes for other scripts), each ended by
 * "\n".  What it writes, "fieldvault appeal import" reads back.
 */
#include <fieldvault/plugin.h>

#include <stddef.h>

#ifndef FV_PLUGIN_EXPORT_NAME
#define FV_PLUGIN_EXPORT_NAME fieldvault_plugin_v1
#endif

/* The plugin's state is its host handle: its only use is logging. */
static int
jsonl_init(fv_host *h, void **state)
{
	*state = h;
	return 0;
}

static int
jsonl_begin(void *state, fv_export *x, void **run)
{
	(void)x;
	*run = state; /* nothing of its own to keep */
	return 0;
}

static int
jsonl_record(void *run, fv_export *x, const fv_record *r)
{
	fv_output *o = fv_export_output(x);
	const char *j;
	size_t len;

	if ((j = fv_record_get_json(r, "", &len)) == NULL) {
		fv_log(run, FV_LOG_ERROR, "record %s: cannot serialize it",
		    fv_record_id(r));
		return -1;
	}
	if (fv_output_write(o, j, len) != 0 || fv_output_write(o, "\n", 1) != 0)
		return -1;
	return 0;
}

static int
jsonl_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

const struct fv_plugin FV_PLUGIN_EXPORT_NAME = {
	FV_PLUGIN_ABI,
	.name = "jsonl",
	.version = "1.0",
	.description = "JSON Lines: one record per line",
	.kinds = FV_KIND_EXPORTER,
	.config_keys = NULL,
	.init = jsonl_init,
	.export_begin = jsonl_begin,
	.export_record = jsonl_record,
	.export_end = jsonl_end,
};
