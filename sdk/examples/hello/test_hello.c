/*
 * test_hello.c - unit test of the hello plugin against the mock host
 * (libfieldvault-mock): no daemon.  Prints TAP; exits 1 if a check
 * failed.
 *
 *	make check
 *	FV_MOCK_VERBOSE=1 ./test_hello		(also shows the plugin's log)
 */
#include <fieldvault/plugin.h>
#include <fieldvault/mock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* hello.c, linked in */
extern const struct fv_plugin fieldvault_plugin_v1;

#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"
#define ID3 "00000000000000000000000000000003"

/* A confidential applicant, a note, and a status with a tab in it. */
static const char records[] =
    "{\"id\":\"" ID1 "\",\"type\":\"appeal\","
    "\"created_at\":\"2026-03-02T09:14:00Z\",\"status\":\"under_review\","
    "\"applicant\":{\"full_name\":\"Secret Name\",\"confidential\":true},"
    "\"summary\":\"Secret summary\"}\n"
    "{\"id\":\"" ID2 "\",\"type\":\"note\","
    "\"created_at\":\"2026-03-03T10:00:00Z\",\"text\":\"Secret text\"}\n"
    "\n"
    "{\"id\":\"" ID3 "\",\"type\":\"appeal\","
    "\"created_at\":\"2026-03-04T11:00:00Z\",\"status\":\"a\\tb\"}\n";

static const char expected[] = ID1
    "\tappeal\t2026-03-02T09:14:00Z\tunder_review\n" ID2
    "\tnote\t2026-03-03T10:00:00Z\t\n" ID3
    "\tappeal\t2026-03-04T11:00:00Z\ta b\n"
    "# 3 records\n";

static int tests, failures;

static void
check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tests, what);
}

/* Runs an export of recs with p; its output in *text (malloc'd). */
static int export(fv_mock_host *h, const struct fv_plugin *p, void *state,
    const char *recs, char **text)
{
	size_t len;
	FILE *f;
	int rc;

	if ((f = open_memstream(text, &len)) == NULL)
		return -1;
	rc = fv_mock_export(h, p, state, NULL, recs, f);
	fclose(f);
	return rc;
}

/*
 * A copy of hello's descriptor whose export_record fails at a chosen
 * call, and whose export_end notes what it was told: an export cut short.
 */
static int shim_fail_at; /* export_record: fail at this call */
static int shim_calls;
static int shim_complete = -1; /* what export_end was told */

static int
shim_end(void *run, fv_export *x, int complete)
{
	shim_complete = complete;
	return fieldvault_plugin_v1.export_end(run, x, complete);
}

static int
shim_failing_record(void *run, fv_export *x, const fv_record *r)
{
	if (++shim_calls == shim_fail_at)
		return -1;
	return fieldvault_plugin_v1.export_record(run, x, r);
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int
main(void)
{
	char dir[] = "/tmp/test_hello.XXXXXX", path[64], bad[96];
	const char *kv_none[] = { NULL };
	const char *kv_bad[] = { "log", bad, NULL };
	const char *kv_typo[] = { "log", path, "colour", "red", NULL };
	const char *kv[] = { "log", path, NULL };
	struct fv_plugin shim;
	fv_mock_host *h;
	struct stat st;
	void *state;
	char *out = NULL;
	const char *log, *s;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/changes.log", dir);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/changes.log", dir);

	/* init refuses, and says why, without the key */
	h = fv_mock_host_new("test", "field", kv_none);
	check(h != NULL, "mock host");
	check(fv_mock_load(h, &fieldvault_plugin_v1, &state) == -1,
	    "no log key: init fails");
	check(strstr(fv_mock_log(h), "log: not set") != NULL,
	    "no log key: the log says why");
	fv_mock_host_free(h);

	/* ... and with a file it cannot open */
	h = fv_mock_host_new("test", "field", kv_bad);
	check(fv_mock_load(h, &fieldvault_plugin_v1, &state) == -1,
	    "log in a missing directory: init fails");
	check(strstr(fv_mock_log(h), "No such file") != NULL,
	    "log in a missing directory: the log says why");
	fv_mock_host_free(h);

	/* a key not in config_keys: the host refuses before init */
	h = fv_mock_host_new("test", "field", kv_typo);
	check(fv_mock_load(h, &fieldvault_plugin_v1, &state) == -1,
	    "unknown key: refused");
	check(access(path, F_OK) == -1, "unknown key: init not called");
	fv_mock_host_free(h);

	/* the exporter */
	h = fv_mock_host_new("test", "field", kv);
	check(fv_mock_load(h, &fieldvault_plugin_v1, &state) == 0, "loads");
	check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "log file created mode 0600");
	check(export(h, &fieldvault_plugin_v1, state, records, &out) == 0,
	    "export runs");
	check(out != NULL && strcmp(out, expected) == 0,
	    "export: one line per record, control characters made spaces, "
	    "trailer");
	check(out != NULL && strstr(out, "Secret") == NULL,
	    "export: no content beyond the four columns");
	free(out);
	out = NULL;
	check(export(h, &fieldvault_plugin_v1, state, "", &out) == 0 &&
		out != NULL && strcmp(out, "# 0 records\n") == 0,
	    "export of nothing: the trailer alone");
	free(out);
	out = NULL;
	fv_mock_unload(h, &fieldvault_plugin_v1, state);
	log = fv_mock_log(h);
	check(strstr(log, "Secret") == NULL, "no record content logged");
	fv_mock_host_free(h);

	/* a run cut short: what came before stays, no trailer */
	shim = fieldvault_plugin_v1;
	shim.export_record = shim_failing_record;
	shim.export_end = shim_end;
	shim_fail_at = 2;
	shim_calls = 0;
	h = fv_mock_host_new("test", "field", kv);
	check(fv_mock_load(h, &shim, &state) == 0, "loads (failing shim)");
	check(export(h, &shim, state, records, &out) == -1,
	    "cut short: the export fails");
	check(shim_complete == 0, "cut short: export_end told so");
	check(out != NULL && strchr(out, '#') == NULL, "cut short: no trailer");
	free(out);
	out = NULL;
	fv_mock_unload(h, &shim, state);
	fv_mock_host_free(h);

	/* the hook: one line per change, appended */
	if (unlink(path) == -1)
		perror(path);
	h = fv_mock_host_new("test", "hq", kv);
	check(fv_mock_load(h, &fieldvault_plugin_v1, &state) == 0,
	    "loads (hook)");
	check(fv_mock_hook(h, &fieldvault_plugin_v1, state, FV_CHANGE_CREATE,
		  records) == 0,
	    "hook: three creates");
	check(fv_mock_hook(h, &fieldvault_plugin_v1, state, FV_CHANGE_UPDATE,
		  "{\"id\":\"" ID2 "\",\"type\":\"note\"}") == 0,
	    "hook: an update");
	check(fv_mock_hook(h, &fieldvault_plugin_v1, state, FV_CHANGE_DELETE,
		  "{\"id\":\"" ID1 "\",\"type\":\"appeal\"}") == 0,
	    "hook: a delete");
	fv_mock_unload(h, &fieldvault_plugin_v1, state); /* fini closes */
	s = slurp(path);
	check(s != NULL &&
		strcmp(s,
		    "create " ID1 "\ncreate " ID2 "\ncreate " ID3
		    "\nupdate " ID2 "\ndelete " ID1 "\n") == 0,
	    "hook: create, update and delete lines appended");
	check(strstr(fv_mock_log(h), "Secret") == NULL,
	    "hook: no record content logged");
	fv_mock_host_free(h);

	unlink(path);
	rmdir(dir);
	printf("1..%d\n", tests);
	return failures > 0;
}
