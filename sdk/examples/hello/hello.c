/*
 * hello.c - a small fieldvault plugin, the example of
 * docs/plugin-guide.md.  It is two kinds at once:
 *
 *  - an exporter: "fieldvault export --format hello" writes one line per
 *    record, "ID<TAB>TYPE<TAB>CREATED_AT<TAB>STATUS" (STATUS empty for a
 *    note), then "# N records";
 *  - a hook: every committed change appends "create ID", "update ID" or
 *    "delete ID" to the file named by the key "log" of [plugin.hello].
 *
 * Build:	make		(pkg-config fieldvault-plugin)
 * Test:	make check	(pkg-config fieldvault-mock: no daemon needed)
 */
#include <fieldvault/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The plugin's state, from init to fini. */
struct hello {
	int fd;	     /* the hook's log, opened O_APPEND */
	char *path;  /* named in messages (not content) */
	int failing; /* said once, not once per change */
};

/* One export run. */
struct hello_run {
	fv_output *out;
	size_t n;
};

static int
hello_init(fv_host *h, void **state)
{
	struct hello *s;
	const char *path;

	/*
	 * Check the configuration here, not at the first change: a refused
	 * init is one clear line at load time, a failing hook is a silent
	 * loss later.
	 */
	if ((path = fv_config_get(h, "log")) == NULL || *path == '\0') {
		fv_log(h, FV_LOG_ERROR,
		    "[plugin.hello] log: not set (the "
		    "file the hook appends changes to)");
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		fv_log(h, FV_LOG_ERROR, "out of memory");
		free(s);
		return -1;
	}
	/* 0600: the ids say which records changed when, which is not for
	 * other local users to read */
	s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd == -1) {
		fv_log(h, FV_LOG_ERROR, "[plugin.hello] log: %s: %s", path,
		    strerror(errno));
		free(s->path);
		free(s);
		return -1;
	}
	fv_log(h, FV_LOG_INFO, "logging changes to %s", path);
	*state = s;
	return 0;
}

static void
hello_fini(void *state)
{
	struct hello *s = state;

	if (s == NULL)
		return;
	close(s->fd);
	free(s->path);
	free(s);
}

/* --- exporter -------------------------------------------------------- */

static int
hello_export_begin(void *state, fv_export *x, void **run)
{
	struct hello_run *r;

	(void)state;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->out = fv_export_output(x);
	*run = r;
	return 0;
}

/*
 * Writes s as one field: a tab or a newline inside it would shift the
 * columns or split the line, so every control character becomes a space.
 * The daemon validates the fields this plugin writes, but a format should
 * not depend on that.
 */
static int
put_field(fv_output *o, const char *s, const char *sep)
{
	const char *p;

	for (p = s != NULL ? s : ""; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			if (fv_output_write(o, s, p - s) == -1 ||
			    fv_output_puts(o, " ") == -1)
				return -1;
			s = p + 1;
		}
	if (s != NULL && fv_output_puts(o, s) == -1)
		return -1;
	return fv_output_puts(o, sep);
}

static int
hello_export_record(void *run, fv_export *x, const fv_record *rec)
{
	struct hello_run *r = run;

	(void)x;
	if (put_field(r->out, fv_record_id(rec), "\t") == -1 ||
	    put_field(r->out, fv_record_type(rec), "\t") == -1 ||
	    put_field(r->out, fv_record_get(rec, "created_at"), "\t") == -1 ||
	    put_field(r->out, fv_record_get(rec, "status"), "\n") == -1)
		return -1; /* the stream failed: the host ends the run */
	r->n++;
	return 0;
}

static int
hello_export_end(void *run, fv_export *x, int complete)
{
	struct hello_run *r = run;
	int rc = 0;

	(void)x;
	/* the trailer says the export is whole: never after a cut */
	if (complete)
		rc = fv_output_printf(r->out, "# %zu records\n", r->n);
	free(r);
	return rc;
}

/* --- hook ------------------------------------------------------------ */

static void
hello_hook(void *state, fv_host *h, enum fv_change change, const fv_record *rec)
{
	struct hello *s = state;
	const char *what;
	char line[128];
	ssize_t w;
	int n;

	switch (change) {
	case FV_CHANGE_CREATE:
		what = "create";
		break;
	case FV_CHANGE_UPDATE:
		what = "update";
		break;
	case FV_CHANGE_DELETE:
		what = "delete";
		break;
	default:
		return; /* a change a later ABI adds */
	}
	n = snprintf(line, sizeof(line), "%s %s\n", what, fv_record_id(rec));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	/* one write per line: O_APPEND keeps lines whole even when someone
	 * else appends to the same file */
	do
		w = write(s->fd, line, n);
	while (w == -1 && errno == EINTR);
	if (w != n) {
		if (!s->failing)
			fv_log(h, FV_LOG_WARN, "%s: cannot append: %s", s->path,
			    w == -1 ? strerror(errno) : "short write");
		s->failing = 1;
		return;
	}
	if (s->failing)
		fv_log(h, FV_LOG_INFO, "%s: appending again", s->path);
	s->failing = 0;
}

/* --- the descriptor: the one symbol the host looks for --------------- */

static const char *const hello_keys[] = { "log", NULL };

const struct fv_plugin fieldvault_plugin_v1 = {
	FV_PLUGIN_ABI,
	.name = "hello",
	.version = "1.0.0",
	.description = "example: an id list exporter and a change log hook",
	.kinds = FV_KIND_EXPORTER | FV_KIND_HOOK,
	.config_keys = hello_keys,
	.init = hello_init,
	.fini = hello_fini,
	.export_begin = hello_export_begin,
	.export_record = hello_export_record,
	.export_end = hello_export_end,
	.hook = hello_hook,
};
