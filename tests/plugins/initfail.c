/*
 * initfail.c - a deliberately bad plugin for the host's refusal tests: a
 * valid descriptor whose init fails, as a sink that cannot reach its
 * database would.  Expected, in this order:
 *	plugin initfail: cannot reach the sink
 *	plugin initfail: refused: its init failed (see its lines above)
 */
#include <fieldvault/plugin.h>

#include <stdlib.h>

static int
initfail_init(fv_host *h, void **state)
{
	*state = NULL;
	fv_log(h, FV_LOG_ERROR, "cannot reach the sink");
	return -1;
}

/* Must never run: the host calls fini only after a successful init. */
static void
initfail_fini(void *state)
{
	(void)state;
	abort();
}

static void
initfail_hook(void *state, fv_host *h, enum fv_change change,
    const fv_record *r)
{
	(void)state;
	(void)h;
	(void)change;
	(void)r;
}

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "initfail",
	.version = "0",
	.kinds = FV_KIND_HOOK,
	.init = initfail_init,
	.fini = initfail_fini,
	.hook = initfail_hook,
};
