/*
 * test_config.c - the INI configuration (conf.h, docs/config.md): a full file
 * and its values, the defaults, every kind of error as "PATH:LINE: reason"
 * on the right line, and durations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fv_error.h"
#include "tap.h"

static char tmpdir[] = "/tmp/fvconf.XXXXXX";
static char path[PATH_MAX];
static int nfiles;

/* Writes text to a new file in tmpdir; its name is left in path. */
static const char *
write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/c%03d.conf", tmpdir, ++nfiles);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0) {
		diag("cannot write %s: %s", path, strerror(errno));
		abort();
	}
	return path;
}

/* The example of docs/config.md, filled in. */
static const char full_conf[] =
    "; fieldvault configuration\n"					/* 1 */
    "\n"								/* 2 */
    "[daemon]\n"							/* 3 */
    "role = field                 ; field | hq\n"			/* 4 */
    "name = tashkent-laptop-1     ; this device's name\n"		/* 5 */
    "data_dir = /var/lib/fieldvault\n"					/* 6 */
    "socket = /run/fieldvault/control.sock   ; default: DATA_DIR/...\n" /* 7 */
    "log_level = debug            ; error | warn | info | debug\n"	/* 8 */
    "auto_lock = 15m              ; 0 = never\n"			/* 9 */
    "\n"								/* 10 */
    "[sync]\n"								/* 11 */
    "listen = 0.0.0.0:7443        ; HQ: where devices connect\n"	/* 12 */
    "hq = 192.0.2.10:7443         ; field: where HQ is\n"		/* 13 */
    "interval = 5m\n"							/* 14 */
    "retention = purge_after_sync ; keep | purge_after_sync\n"		/* 15 */
    "\n"								/* 16 */
    "[plugins]\n"							/* 17 */
    "dir = /usr/lib/fieldvault/plugins\n"				/* 18 */
    "load = csv, jsonl, stats, ombx\n"					/* 19 */
    "\n"								/* 20 */
    "[plugin.ombx]                ; each plugin's own section\n"	/* 21 */
    "outbox = /srv/ombx/out\n"						/* 22 */
    "# a comment line\n"						/* 23 */
    "[partner.ru-ombudsman]       ; HQ: a partner institution\n"	/* 24 */
    "public_key = ombx1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA   ; as printed\n" /* 25 */
    "[plugin.csv]\n"; /* 26 */

static void
test_full(void)
{
	struct fv_config *c = NULL;
	char err[512] = "";
	int rc;

	rc = fv_conf_load(write_conf(full_conf), &c, err, sizeof(err));
	is_int(rc, 0, "full config loads");
	if (rc != 0 || c == NULL) {
		diag("error: %s", err);
		return;
	}
	is_str(c->path, path, "path kept");
	is_str(c->role, "field", "role");
	is_str(c->name, "tashkent-laptop-1", "name (inline comment cut)");
	is_str(c->data_dir, "/var/lib/fieldvault", "data_dir");
	is_str(c->socket, "/run/fieldvault/control.sock", "socket as given");
	is_int(c->log_level, FV_LOG_DEBUG, "log_level debug");
	is_int(c->auto_lock, 900, "auto_lock 15m = 900 s");
	is_str(c->listen, "0.0.0.0:7443", "listen");
	is_str(c->hq, "192.0.2.10:7443", "hq");
	is_int(c->interval, 300, "interval 5m = 300 s");
	is_int(c->autosync, 1, "automatic sync on");
	is_int(c->purge_after_sync, 1, "retention purge_after_sync");
	is_str(c->plugins_dir, "/usr/lib/fieldvault/plugins", "plugins dir");
	is_str(c->plugins_load, "csv, jsonl, stats, ombx", "plugins load");
	is_int(c->nplugins, 2, "two [plugin.NAME] sections");
	if (c->nplugins == 2) {
		is_str(c->plugins[0].name, "ombx", "  first: ombx");
		is_int(c->plugins[0].line, 21, "  its line");
		ok(c->plugins[0].nkv == 1 &&
			strcmp(c->plugins[0].kv[0].key, "outbox") == 0 &&
			strcmp(c->plugins[0].kv[0].val, "/srv/ombx/out") == 0 &&
			c->plugins[0].kv[0].line == 22,
		    "  its key kept for the plugin, with its line");
		ok(strcmp(c->plugins[1].name, "csv") == 0 &&
			c->plugins[1].nkv == 0,
		    "  an empty [plugin.csv] section");
	}
	is_int(c->npartners, 1, "one [partner.NAME] section");
	if (c->npartners == 1) {
		is_str(c->partners[0].name, "ru-ombudsman", "  its name");
		ok(c->partners[0].nkv == 1 &&
			strcmp(c->partners[0].kv[0].key, "public_key") == 0 &&
			c->partners[0].kv[0].line == 25,
		    "  public_key, line 25");
		if (c->partners[0].nkv == 1)
			is_str(c->partners[0].kv[0].val,
			    "ombx1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			    "  the partner key is kept whole");
	}
	fv_conf_free(c);
}

static void
test_defaults(void)
{
	struct fv_config *c = NULL;
	char err[512] = "";
	int rc;

	rc = fv_conf_load(write_conf("[daemon]\nrole = hq\nname = "
				     "ombudsman.uz\ndata_dir = /srv/fv\n"),
	    &c, err, sizeof(err));
	is_int(rc, 0, "minimal config loads");
	if (rc != 0 || c == NULL) {
		diag("error: %s", err);
		return;
	}
	is_str(c->role, "hq", "role hq");
	is_str(c->socket, "/srv/fv/control.sock",
	    "default socket = DATA_DIR/control.sock");
	is_int(c->log_level, FV_LOG_INFO, "default log_level info");
	is_int(c->auto_lock, 900, "default auto_lock 15m = 900");
	is_int(c->interval, 300, "default interval 5m = 300");
	is_int(c->autosync, 1, "automatic sync on by default");
	is_int(c->purge_after_sync, 0, "default retention keep");
	is_str(c->listen, "", "no listen by default");
	is_str(c->hq, "", "no hq by default");
	ok(c->plugins_dir[0] == '/', "a default plugin dir (%s)",
	    c->plugins_dir);
	ok(c->nplugins == 0 && c->npartners == 0,
	    "no plugin or partner "
	    "sections");
	fv_conf_free(c);

	/* forms that must be read the same */
	c = NULL;
	rc = fv_conf_load(write_conf("\r\n  [ daemon ]  \r\n"
				     "\trole=field\r\n"
				     "name =x   # comment\r\n"
				     "data_dir\t=\t/d ; c\r\n"
				     "auto_lock = 0\r\n"
				     "[sync]\n"
				     "retention = keep\n"
				     "interval = 1"),
	    &c, err, sizeof(err)); /* no final newline */
	is_int(rc, 0,
	    "CRLF, tabs, spaces, '#' and ';' comments, no final "
	    "newline");
	if (rc == 0 && c != NULL) {
		ok(strcmp(c->role, "field") == 0 && strcmp(c->name, "x") == 0 &&
			strcmp(c->data_dir, "/d") == 0,
		    "  values trimmed");
		is_int(c->auto_lock, 0, "  auto_lock 0 = never");
		is_int(c->interval, 1, "  interval on the last line, 1 s");
		is_str(c->socket, "/d/control.sock", "  default socket");
	} else
		diag("error: %s", err);
	fv_conf_free(c);

	/* interval 0: no automatic sync; the interval keeps its default */
	c = NULL;
	rc = fv_conf_load(write_conf("[daemon]\nrole = field\nname = a\n"
				     "data_dir = /d\n[sync]\ninterval = 0\n"),
	    &c, err, sizeof(err));
	ok(rc == 0 && c != NULL && c->autosync == 0 && c->interval == 300,
	    "interval 0: automatic sync off");
	fv_conf_free(c);

	/* a comment character inside a value is part of it */
	c = NULL;
	rc = fv_conf_load(write_conf("[daemon]\nrole = field\nname = a\n"
				     "data_dir = /x#y;z\n"),
	    &c, err, sizeof(err));
	ok(rc == 0 && c != NULL && strcmp(c->data_dir, "/x#y;z") == 0,
	    "'#' and ';' not after a blank are part of the value");
	fv_conf_free(c);

	/* the file shipped with the sources */
	{
		const char *sd = getenv("srcdir");
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/conf/fieldvault.conf",
		    sd ? sd : ".");
		if (access(p, R_OK) == 0) {
			c = NULL;
			rc = fv_conf_load(p, &c, err, sizeof(err));
			ok(rc == 0, "conf/fieldvault.conf loads");
			if (rc != 0)
				diag("%s", err);
			fv_conf_free(c);
		} else
			ok(1,
			    "conf/fieldvault.conf loads # SKIP not found "
			    "from here");
	}
}

/*
 * Loads text and expects it refused with exactly "PATH:LINE: reason"
 * (line 0: "PATH: reason") where reason contains want.
 */
static void
bad(const char *name, const char *text, int line, const char *want)
{
	struct fv_config *c = (struct fv_config *)&c;
	char err[512], prefix[PATH_MAX + 32];
	int rc, good;
	size_t pl;

	memset(err, 0, sizeof(err));
	rc = fv_conf_load(write_conf(text), &c, err, sizeof(err));
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	pl = strlen(prefix);
	good = rc == FV_EINVAL && c == NULL && strncmp(err, prefix, pl) == 0 &&
	    strlen(err) > pl && strchr(err, '\n') == NULL &&
	    strstr(err + pl, want) != NULL;
	if (line > 0) /* and no other line number after the path */
		good = good && strncmp(err + strlen(path), ":", 1) == 0;
	ok(good, "%s: \"%s\"", name,
	    err + (strncmp(err, path, strlen(path)) == 0 ? strlen(path) : 0));
	if (!good)
		diag("rc %d, want \"%s%s...\"", rc, prefix, want);
	if (rc == 0)
		fv_conf_free(c);
}

#define D "[daemon]\nrole = field\nname = n\ndata_dir = /d\n" /* 4 lines */

static void
test_errors(void)
{
	char *longl;
	size_t i;

	bad("unknown section", D "[bogus]\n", 5, "bogus");
	bad("unknown section (case)", D "[Daemon]\n", 5, "Daemon");
	bad("unknown key in [daemon]", D "colour = red\n", 5, "colour");
	bad("unknown key in [sync]", D "[sync]\nintervall = 5m\n", 6,
	    "intervall");
	bad("unknown key in [plugins]", D "[plugins]\npath = /x\n", 6, "path");
	bad("[sync] key in [daemon]", D "listen = 0.0.0.0:1\n", 5, "listen");
	bad("unknown key in [partner.NAME]", D "[partner.kz]\nurl = x\n", 6,
	    "url");
	bad("bad role", "[daemon]\nname = n\nrole = admin\ndata_dir = /d\n", 3,
	    "role");
	bad("role in upper case", "[daemon]\nrole = HQ\n", 2, "role");
	bad("bad log_level", D "log_level = verbose\n", 5, "log_level");
	bad("bad duration (unit)", D "auto_lock = 15x\n", 5, "auto_lock");
	bad("bad duration (words)", D "auto_lock = fifteen\n", 5, "auto_lock");
	bad("bad duration (negative)", D "auto_lock = -1\n", 5, "auto_lock");
	bad("bad duration (space)", D "[sync]\ninterval = 5 m\n", 6,
	    "interval");
	bad("bad duration (interval)", D "[sync]\ninterval = -5m\n", 6,
	    "interval");
	bad("relative data_dir",
	    "[daemon]\nrole = field\nname = n\n"
	    "data_dir = var/lib/fv\n",
	    4, "data_dir");
	bad("relative socket", D "socket = run/x.sock\n", 5, "socket");
	bad("relative plugin dir", D "[plugins]\ndir = plugins\n", 6, "dir");
	bad("bad name", "[daemon]\nrole = field\nname = tash kent\n", 3,
	    "name");
	bad("name with a slash", "[daemon]\nname = ../etc\n", 2, "name");
	bad("key outside a section", "role = field\n" D, 1, "role");
	bad("key outside a section after comments", "; c\n\n# d\nname = n\n", 4,
	    "name");
	bad("line without '='", D "role field\n", 5, "=");
	bad("'=' without a key", D " = field\n", 5, "key");
	bad("empty value", D "log_level =\n", 5, "log_level");
	bad("duplicate key", "[daemon]\nrole = field\nname = a\nrole = hq\n", 4,
	    "role");
	bad("duplicate key, same value", D "name = n\n", 5, "name");
	bad("duplicate key in [sync]",
	    D "[sync]\ninterval = 5m\n"
	      "interval = 5m\n",
	    7, "interval");
	bad("duplicate key in [plugin.NAME]",
	    D "[plugin.csv]\nsep = ,\n"
	      "sep = ;\n",
	    7, "sep");
	bad("partner key of another form",
	    D "[partner.kz]\npublic_key = "
	      "fvk1:QmFzZTY0Kys/PQ==\n",
	    6, "not a partner key");
	bad("duplicate public_key",
	    D
	    "[partner.kz]\npublic_key = ombx1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "public_key = ombx1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	    7, "public_key");
	bad("duplicate [plugin.NAME]",
	    D "[plugin.ombx]\n[plugin.csv]\n"
	      "[plugin.ombx]\n",
	    7, "ombx");
	bad("duplicate [partner.NAME]", D "[partner.kz]\n[partner.kz]\n", 6,
	    "kz");
	bad("duplicate [daemon]", D "[sync]\ninterval = 5m\n[daemon]\n", 7,
	    "daemon");
	bad("duplicate [sync]", D "[sync]\n[plugins]\n[sync]\n", 7, "sync");
	bad("duplicate [plugins]", D "[plugins]\nload = csv\n[plugins]\n", 7,
	    "plugins");
	bad("duplicate key across a repeated [daemon]",
	    D "[daemon]\n"
	      "role = hq\n",
	    5, "daemon");
	bad("bad section name", D "[plugin.]\n", 5, "plugin.");
	bad("bad partner name", D "[partner.ru ombudsman]\n", 5,
	    "partner.ru ombudsman");
	bad("section without ']'", D "[sync\n", 5, "]");
	bad("listen without a port", D "[sync]\nlisten = 0.0.0.0\n", 6,
	    "listen");
	bad("hq without a host", D "[sync]\nhq = :7443\n", 6, "hq");
	bad("port 0", D "[sync]\nlisten = 0.0.0.0:0\n", 6, "listen");
	bad("port 65536", D "[sync]\nhq = 192.0.2.10:65536\n", 6, "hq");
	bad("port not a number", D "[sync]\nhq = 192.0.2.10:https\n", 6, "hq");
	bad("port with junk", D "[sync]\nhq = 192.0.2.10:7443x\n", 6, "hq");
	bad("empty port", D "[sync]\nhq = 192.0.2.10:\n", 6, "hq");
	bad("bad retention", D "[sync]\nretention = forever\n", 6, "retention");
	bad("missing role", "[daemon]\nname = n\ndata_dir = /d\n", 0, "role");
	bad("missing name", "[daemon]\nrole = hq\ndata_dir = /d\n", 0, "name");
	bad("missing data_dir", "[daemon]\nrole = hq\nname = n\n", 0,
	    "data_dir");
	bad("empty file", "", 0, "role");
	bad("only [daemon]", "[daemon]\n", 0, "role");
	{
		char t[512];

		snprintf(t, sizeof(t),
		    "[daemon]\nrole = field\nname = n\n"
		    "data_dir = /%0100d\n",
		    0);
		bad("data_dir too long for the default socket", t, 0, "socket");
	}

	/* a line at the length bound and one past it */
	if ((longl = malloc(FV_CONF_LINE_MAX + 64)) == NULL)
		abort();
	strcpy(longl, D "; ");
	i = strlen(longl);
	memset(longl + i, 'c', FV_CONF_LINE_MAX - 2); /* "; " + n - 2 */
	strcpy(longl + i + FV_CONF_LINE_MAX - 2, "\nauto_lock = 1m\n");
	{
		struct fv_config *c = NULL;
		char err[512] = "";
		int rc = fv_conf_load(write_conf(longl), &c, err, sizeof(err));

		ok(rc == 0 && c != NULL && c->auto_lock == 60,
		    "a line of exactly FV_CONF_LINE_MAX bytes is taken, and "
		    "the next line read as a line");
		if (rc != 0)
			diag("%s", err);
		fv_conf_free(c);
	}
	memset(longl + i, 'c', FV_CONF_LINE_MAX - 1);
	strcpy(longl + i + FV_CONF_LINE_MAX - 1, "\nauto_lock = 1m\n");
	bad("a line of FV_CONF_LINE_MAX+1 bytes", longl, 5, "long");
	free(longl);

	/* a file that is not there */
	{
		struct fv_config *c = (struct fv_config *)&c;
		char err[512] = "", want[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
		snprintf(want, sizeof(want), "%s: ", path);
		is_int(fv_conf_load(path, &c, err, sizeof(err)), FV_EIO,
		    "a missing file: FV_EIO");
		ok(c == NULL && strncmp(err, want, strlen(want)) == 0 &&
			strlen(err) > strlen(want),
		    "  \"PATH: reason\" (%s)", err);
	}
}

static void
test_duration(void)
{
	static const struct {
		const char *s;
		long want;
	} good[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "90", 90 },
		{ "30s", 30 },
		{ "0s", 0 },
		{ "15m", 900 },
		{ "0m", 0 },
		{ "2h", 7200 },
		{ "1d", 86400 },
		{ "007", 7 },
		{ "366d", 366L * 86400 },
		{ "8784h", 366L * 86400 },
		{ "31622400", 366L * 86400 },
	};
	static const char *badv[] = {
		"",
		"s",
		"m",
		"-5",
		"+5",
		" 5",
		"5 ",
		"5x",
		"5mm",
		"5 m",
		"1.5h",
		"5M",
		"5H",
		"1w",
		"0x10",
		"99999999999999999999",
		"367d",
		"8785h",
		"31622401",
		"527041m",
		"5s5",
	};
	size_t i;
	long v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		ok(fv_conf_parse_duration(good[i].s, &v) == 0 &&
			v == good[i].want,
		    "duration \"%s\" = %ld (got %ld)", good[i].s, good[i].want,
		    v);
	}
	for (i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		v = -1;
		ok(fv_conf_parse_duration(badv[i], &v) == FV_EINVAL && v == -1,
		    "duration \"%s\" refused, value untouched", badv[i]);
	}
}

static void
cleanup(void)
{
	int i;

	for (i = 1; i <= nfiles; i++) {
		snprintf(path, sizeof(path), "%s/c%03d.conf", tmpdir, i);
		unlink(path);
	}
	if (rmdir(tmpdir) != 0)
		diag("rmdir %s: %s", tmpdir, strerror(errno));
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 99;
	test_full();
	test_defaults();
	test_errors();
	test_duration();
	cleanup();
	return done_testing();
}
