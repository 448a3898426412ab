/*
 * good.c - the valid plugin of the host's tests, loaded beside the bad
 * ones to show that a refusal costs only the refused plugin.
 *
 *  - exporter: one line per record, its id;
 *  - hook: counts the changes and logs each one's number and kind (never
 *    the record), and the total at fini;
 *  - [plugin.good] greeting = TEXT, logged at init as
 *	plugin good: greeting=TEXT
 *    so that a test can see the section reach the plugin (and a SIGHUP
 *    reload bring a new value);
 *  - [plugin.good] sleep_ms = N: each hook call sleeps N ms (a slow sink:
 *    the daemon must go on answering meanwhile);
 *  - [plugin.good] fail_after = N: export_record fails after N records
 *    (the export is then cut off).
 */
#include <fieldvault/plugin.h>

#include <stdlib.h>
#include <time.h>

struct good {
	fv_host *h; /* for fini's line */
	unsigned long changes;
	long sleep_ms, fail_after, exported;
};

static int
good_init(fv_host *h, void **state)
{
	struct good *g;
	const char *greeting = fv_config_get(h, "greeting");

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->h = h;
	if (fv_config_get(h, "sleep_ms") != NULL)
		g->sleep_ms = atol(fv_config_get(h, "sleep_ms"));
	g->fail_after = -1;
	if (fv_config_get(h, "fail_after") != NULL)
		g->fail_after = atol(fv_config_get(h, "fail_after"));
	/* fv_log prefixes "plugin good: " */
	fv_log(h, FV_LOG_INFO, "greeting=%s",
	    greeting != NULL ? greeting : "(unset)");
	*state = g;
	return 0;
}

static void
good_fini(void *state)
{
	struct good *g = state;

	fv_log(g->h, FV_LOG_INFO, "%lu changes seen", g->changes);
	free(g);
}

static int
good_begin(void *state, fv_export *x, void **run)
{
	struct good *g = state;

	(void)x;
	g->exported = 0;
	*run = g;
	return 0;
}

static int
good_record(void *run, fv_export *x, const fv_record *r)
{
	struct good *g = run;

	if (g->fail_after >= 0 && g->exported++ >= g->fail_after)
		return -1;
	return fv_output_printf(fv_export_output(x), "%s\n", fv_record_id(r));
}

static int
good_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

static void
good_hook(void *state, fv_host *h, enum fv_change change, const fv_record *r)
{
	struct good *g = state;
	static const char *what[] = { "?", "create", "update", "delete" };

	(void)r;
	if (g->sleep_ms > 0) {
		struct timespec ts = { g->sleep_ms / 1000,
			(g->sleep_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	g->changes++;
	fv_log(h, FV_LOG_INFO, "change %lu: %s", g->changes,
	    change >= FV_CHANGE_CREATE && change <= FV_CHANGE_DELETE ?
		what[change] :
		what[0]);
}

static const char *const good_keys[] = { "greeting", "sleep_ms", "fail_after",
	NULL };

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "good",
	.version = "1.0",
	.description = "the host tests' valid plugin",
	.kinds = FV_KIND_EXPORTER | FV_KIND_HOOK,
	.config_keys = good_keys,
	.init = good_init,
	.fini = good_fini,
	.export_begin = good_begin,
	.export_record = good_record,
	.export_end = good_end,
	.hook = good_hook,
};
