/*
 * nosym.c - a deliberately bad plugin for the host's refusal tests: it
 * calls a host function no fieldvaultd has, as a plugin built against a
 * newer SDK (that lies about its ABI) would.  Built with -Wl,-z,now, the
 * dynamic loader must resolve every symbol at load, so the load itself
 * fails; without -z now the call would crash the daemon at init.
 * Expected:
 *	plugin nosym: refused: .../nosym.so: ... undefined symbol:
 *	fv_host_does_not_exist
 */
#include <fieldvault/plugin.h>

/* Declared here only: no host defines it. */
int fv_host_does_not_exist(fv_host *);

static int
nosym_init(fv_host *h, void **state)
{
	*state = NULL;
	return fv_host_does_not_exist(h);
}

static void
nosym_hook(void *state, fv_host *h, enum fv_change change, const fv_record *r)
{
	(void)state;
	(void)h;
	(void)change;
	(void)r;
}

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "nosym",
	.version = "0",
	.kinds = FV_KIND_HOOK,
	.init = nosym_init,
	.hook = nosym_hook,
};
