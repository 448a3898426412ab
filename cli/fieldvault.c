/*
 * fieldvault - the client of fieldvaultd.
 *
 *   fieldvault [-c CONFIG] COMMAND [ARGS] [--json]
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "cli.h"
#include "secmem.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static const char usage_text[] =
"usage: fieldvault [-c CONFIG] COMMAND [ARGS] [--json]\n"
"\n"
"  init                       create the data directory and keys\n"
"  unlock | lock              derive the store key / wipe every key\n"
"  status                     role, name, device, counts, pending\n"
"  appeal add FILE|-          create from JSON, print the new id\n"
"  appeal get ID              print the appeal as JSON\n"
"  appeal list [--status S] [--country CC] [--category C]\n"
"              [--assigned-to G] [--query TEXT]\n"
"  appeal update ID FILE|-    apply a JSON merge patch (RFC 7396)\n"
"  appeal delete ID           delete; the content becomes unrecoverable\n"
"  appeal import FILE|-       bulk create from JSON Lines, print count\n"
"  note add|get|list [--appeal ID]|update|delete\n"
"  history ID                 the record's changes, oldest first\n"
"  sync                       sync with HQ now and wait; prints what moved\n"
"  enroll TOKEN               pair this field device with HQ\n"
"  device invite NAME [--assigned-to G]   (HQ) a one-time enrollment token\n"
"  device list | device revoke ID         (HQ) enrolled devices\n"
"  bundle create --out FILE [--for DEVICE-ID]\n"
"                             sync by file: for HQ, or (HQ) for a device\n"
"  bundle import FILE         take a bundle in: all or nothing\n"
"  export --format NAME [--out FILE] [--type appeal|note] [filters as for\n"
"         list] [--from DATE --to DATE]   run an exporter plugin\n"
"  plugin list                loaded plugins, versions, kinds, ABI\n"
"  exchange send --partner NAME --out FILE ID...   (HQ) a package of\n"
"                             appeals (or replies) for a partner ombudsman\n"
"  exchange import FILE       (HQ) take a partner's package in\n"
"  keys show                  this installation's public keys\n"
"\n"
"  -c CONFIG                  default " SYSCONFDIR "/fieldvault/"
"fieldvault.conf\n"
"  --passphrase-file FILE     else $FIELDVAULT_PASSPHRASE, else the "
"terminal\n"
"  --json                     machine-readable output\n"
"\n"
"exit: 0 done, 1 refused or failed, 2 usage, 3 daemon not reachable,\n"
"      4 store locked\n";

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fieldvault: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EX_FAIL;
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fieldvault: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run 'fieldvault --help' for usage)\n");
	return EX_USAGE;
}

static int
parse_args(struct cli *c, int argc, char **argv)
{
	static const struct { const char *name; size_t off; } vopts[] = {
		{ "--passphrase-file", offsetof(struct cli, passfile) },
		{ "--status", offsetof(struct cli, status) },
		{ "--country", offsetof(struct cli, country) },
		{ "--category", offsetof(struct cli, category) },
		{ "--assigned-to", offsetof(struct cli, assigned_to) },
		{ "--query", offsetof(struct cli, query) },
		{ "--appeal", offsetof(struct cli, appeal) },
		{ "--out", offsetof(struct cli, out) },
		{ "--for", offsetof(struct cli, for_dev) },
		{ "--format", offsetof(struct cli, format) },
		{ "--from", offsetof(struct cli, from) },
		{ "--to", offsetof(struct cli, to) },
		{ "--type", offsetof(struct cli, type) },
		{ "--partner", offsetof(struct cli, partner) },
	};
	int i;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(EX_DONE);
		}
		if (strcmp(a, "--version") == 0) {
			printf("fieldvault %s\n", PACKAGE_VERSION);
			exit(EX_DONE);
		}
		if (strcmp(a, "--json") == 0) {
			c->json = 1;
			continue;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc)
				return cli_usage("%s needs a value", a);
			c->conf_path = argv[i];
			continue;
		}
		for (k = 0; k < sizeof(vopts) / sizeof(vopts[0]); k++)
			if (strcmp(a, vopts[k].name) == 0)
				break;
		if (k < sizeof(vopts) / sizeof(vopts[0])) {
			if (++i == argc)
				return cli_usage("%s needs a value", a);
			if (strlen(argv[i]) > 1024)
				return cli_usage("%s: value too long", a);
			*(const char **)((char *)c + vopts[k].off) = argv[i];
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return cli_usage("unknown option %s", a);
		if (c->nargs == (int)(sizeof(c->args) / sizeof(c->args[0])))
			return cli_usage("too many arguments");
		c->args[c->nargs++] = a;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct rlimit rl = { 0, 0 };
	struct cli c;
	char err[512];
	const char *cmd;
	int rc;

	setrlimit(RLIMIT_CORE, &rl);	/* passphrases pass through here */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	fv_json_init();
	if (sodium_init() < 0 || fv_secmem_init() != 0)
		return cli_fail("cannot initialise libsodium");
	memset(&c, 0, sizeof(c));
	if ((rc = parse_args(&c, argc, argv)) != 0)
		return rc;
	if (c.nargs == 0)
		return cli_usage("no command given");
	if (c.conf_path == NULL && (c.conf_path = getenv("FIELDVAULT_CONFIG"))
	    == NULL)
		c.conf_path = SYSCONFDIR "/fieldvault/fieldvault.conf";
	if (fv_config_load(c.conf_path, &c.conf, err, sizeof(err)) != 0)
		return cli_fail("%s", err);
	cmd = c.args[0];
	if (strcmp(cmd, "init") == 0)
		rc = cmd_init(&c);
	else if (strcmp(cmd, "unlock") == 0)
		rc = cmd_unlock(&c);
	else if (strcmp(cmd, "lock") == 0)
		rc = cmd_lock(&c);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&c);
	else if (strcmp(cmd, "appeal") == 0 || strcmp(cmd, "note") == 0)
		rc = cmd_record(&c, cmd);
	else if (strcmp(cmd, "history") == 0)
		rc = cmd_history(&c);
	else if (strcmp(cmd, "sync") == 0 || strcmp(cmd, "enroll") == 0)
		rc = cmd_sync(&c);
	else if (strcmp(cmd, "device") == 0)
		rc = cmd_device(&c);
	else if (strcmp(cmd, "bundle") == 0)
		rc = cmd_bundle(&c);
	else if (strcmp(cmd, "export") == 0)
		rc = cmd_export(&c);
	else if (strcmp(cmd, "plugin") == 0)
		rc = cmd_plugin(&c);
	else if (strcmp(cmd, "exchange") == 0)
		rc = cmd_exchange(&c);
	else if (strcmp(cmd, "keys") == 0)
		rc = cmd_keys(&c);
	else
		rc = cli_usage("unknown command '%s'", cmd);
	fv_config_free(c.conf);
	fv_secmem_shutdown();
	return rc;
}
