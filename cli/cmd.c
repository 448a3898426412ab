/*
 * cmd.c - the command table: every command, its arguments and the
 * options it takes.  The parser checks a command line against it and the
 * help texts are printed from it, so that what a command accepts and what
 * its usage says cannot drift apart.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "client.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define OFF(f) offsetof(struct cli, f)

/* name, alias, value, where, flags, query parameter, help */
const struct cli_opt cli_opts[OPT_MAX] = {
	[OPT_CONFIG] = { "-c", "--config", "CONFIG", OFF(conf_path), CLI_GLOBAL,
	    NULL,
	    "else $FIELDVAULT_CONFIG, else " SYSCONFDIR
	    "/fieldvault/fieldvault.conf" },
	[OPT_PASSFILE] = { "--passphrase-file", NULL, "FILE", OFF(passfile),
	    CLI_GLOBAL, NULL,
	    "else $FIELDVAULT_PASSPHRASE, else the "
	    "terminal" },
	[OPT_JSON] = { "--json", NULL, NULL, OFF(json), CLI_GLOBAL, NULL,
	    "machine-readable output" },
	[OPT_STATUS] = { "--status", NULL, "S", OFF(status), 0, "status",
	    "only appeals in status S" },
	[OPT_COUNTRY] = { "--country", NULL, "CC", OFF(country), 0, "country",
	    "only appeals that concern country CC" },
	[OPT_CATEGORY] = { "--category", NULL, "C", OFF(category), 0,
	    "category", "only appeals of category C" },
	[OPT_ASSIGNED_TO] = { "--assigned-to", NULL, "G", OFF(assigned_to), 0,
	    "assigned_to", "only appeals assigned to group G" },
	[OPT_QUERY] = { "--query", NULL, "TEXT", OFF(query), 0, "query",
	    "only appeals whose applicant's name or location or summary "
	    "holds TEXT (any case, any script)" },
	[OPT_APPEAL] = { "--appeal", NULL, "ID", OFF(appeal), CLI_ID, "appeal",
	    "only the notes about appeal ID" },
	[OPT_TYPE] = { "--type", NULL, "appeal|note", OFF(type), 0, "type",
	    "which records (default appeal)" },
	[OPT_FROM] = { "--from", NULL, "DATE", OFF(from), 0, "from",
	    "only records received (notes: created) from DATE on: "
	    "YYYY-MM-DD or RFC 3339" },
	[OPT_TO] = { "--to", NULL, "DATE", OFF(to), 0, "to",
	    "only records received (notes: created) up to DATE; a day "
	    "counts whole" },
	[OPT_FORMAT] = { "--format", NULL, "NAME", OFF(format), 0, "format",
	    "the plugin to run (see 'fieldvault plugin list')" },
	[OPT_OUT] = { "--out", NULL, "FILE", OFF(out), 0, NULL,
	    "write to FILE, whole or not at all" },
	[OPT_FOR] = { "--for", NULL, "DEVICE-ID", OFF(for_dev), 0, NULL,
	    "(HQ) a bundle for this device; without it, a bundle for HQ" },
	[OPT_PARTNER] = { "--partner", NULL, "NAME", OFF(partner), 0, NULL,
	    "the partner ombudsman, as named by its [partner.NAME] section" },
};

#define ID_ARG(what) \
	{ \
		"ID", CLI_ID, what "'s id (32 hex characters)" \
	}
#define FILE_ARG(what) \
	{ \
		"FILE|-", 0, what ", or - for standard input" \
	}

const struct cli_cmd cli_cmds[] = {
	{ .name = "init",
	    .exec = cmd_init,
	    .help = "create the data directory, keys and empty store (daemon "
		    "not running)" },
	{ .name = "unlock",
	    .exec = cmd_unlock,
	    .help = "derive the store key from the passphrase" },
	{ .name = "lock",
	    .exec = cmd_lock,
	    .help = "wipe every key from the daemon's memory" },
	{ .name = "status",
	    .exec = cmd_status,
	    .help = "role, name, device, counts, pending ops, last sync" },

	{ .name = "appeal",
	    .verb = "add",
	    .exec = cmd_record_add,
	    .args = { FILE_ARG("a JSON appeal") },
	    .help = "create an appeal from JSON; print the new id" },
	{ .name = "appeal",
	    .verb = "get",
	    .exec = cmd_record_get,
	    .args = { ID_ARG("the appeal") },
	    .help = "print the appeal as JSON" },
	{ .name = "appeal",
	    .verb = "list",
	    .exec = cmd_record_list,
	    .uses = { { OPT_STATUS, 0, NULL }, { OPT_COUNTRY, 0, NULL },
		{ OPT_CATEGORY, 0, NULL }, { OPT_ASSIGNED_TO, 0, NULL },
		{ OPT_QUERY, 0, NULL } },
	    .help = "the appeals, oldest first: a table, or a JSON array" },
	{ .name = "appeal",
	    .verb = "update",
	    .exec = cmd_record_update,
	    .args = { ID_ARG("the appeal"), FILE_ARG("a JSON merge patch") },
	    .help = "apply a JSON merge patch (RFC 7396)" },
	{ .name = "appeal",
	    .verb = "delete",
	    .exec = cmd_record_delete,
	    .args = { ID_ARG("the appeal") },
	    .help = "delete; the content becomes unrecoverable" },
	{ .name = "appeal",
	    .verb = "import",
	    .exec = cmd_record_import,
	    .args = { FILE_ARG("JSON Lines, an appeal a line") },
	    .help = "create appeals in bulk, all or none; print the count" },

	{ .name = "note",
	    .verb = "add",
	    .exec = cmd_record_add,
	    .args = { FILE_ARG("a JSON note") },
	    .help = "create a note from JSON; print the new id" },
	{ .name = "note",
	    .verb = "get",
	    .exec = cmd_record_get,
	    .args = { ID_ARG("the note") },
	    .help = "print the note as JSON" },
	{ .name = "note",
	    .verb = "list",
	    .exec = cmd_record_list,
	    .uses = { { OPT_APPEAL, 0, NULL } },
	    .help = "the notes, oldest first: a table, or a JSON array" },
	{ .name = "note",
	    .verb = "update",
	    .exec = cmd_record_update,
	    .args = { ID_ARG("the note"), FILE_ARG("a JSON merge patch") },
	    .help = "apply a JSON merge patch (RFC 7396)" },
	{ .name = "note",
	    .verb = "delete",
	    .exec = cmd_record_delete,
	    .args = { ID_ARG("the note") },
	    .help = "delete; the content becomes unrecoverable" },
	{ .name = "note",
	    .verb = "import",
	    .exec = cmd_record_import,
	    .args = { FILE_ARG("JSON Lines, a note a line") },
	    .help = "create notes in bulk, all or none; print the count" },

	{ .name = "history",
	    .exec = cmd_history,
	    .args = { ID_ARG("the appeal or note") },
	    .help = "the record's changes, oldest first" },
	{ .name = "sync",
	    .exec = cmd_sync,
	    .help = "sync with HQ now and wait; print what moved" },
	{ .name = "enroll",
	    .exec = cmd_sync,
	    .args = { { "TOKEN", 0, "what HQ's 'device invite' printed" } },
	    .help = "pair this field device with HQ" },

	{ .name = "device",
	    .verb = "invite",
	    .exec = cmd_device_invite,
	    .args = { { "NAME", 0, "the device's name" } },
	    .uses = { { OPT_ASSIGNED_TO, 0,
		"the device's group: HQ gives it "
		"the appeals assigned to G" } },
	    .help = "(HQ) print a one-time enrollment token" },
	{ .name = "device",
	    .verb = "list",
	    .exec = cmd_device_list,
	    .help = "(HQ) the enrolled devices" },
	{ .name = "device",
	    .verb = "revoke",
	    .exec = cmd_device_revoke,
	    .args = { { "DEVICE-ID", 0, "as 'device list' shows it" } },
	    .help = "(HQ) refuse the device from now on" },

	{ .name = "bundle",
	    .verb = "create",
	    .exec = cmd_bundle_create,
	    .uses = { { OPT_OUT, CLI_NEEDED, "write the bundle to FILE" },
		{ OPT_FOR, 0, NULL } },
	    .help = "sync by file: a bundle for HQ, or (HQ) for a device" },
	{ .name = "bundle",
	    .verb = "import",
	    .exec = cmd_bundle_import,
	    .args = { { "FILE", 0, "the bundle" } },
	    .help = "take a bundle in: all or nothing" },

	{ .name = "export",
	    .exec = cmd_export,
	    .uses = { { OPT_FORMAT, CLI_NEEDED,
			  "the exporter plugin (see "
			  "'fieldvault plugin list')" },
		{ OPT_OUT, 0,
		    "write to FILE, whole or not at all; else to "
		    "standard output" },
		{ OPT_TYPE, 0, NULL }, { OPT_STATUS, 0, NULL },
		{ OPT_COUNTRY, 0, NULL }, { OPT_CATEGORY, 0, NULL },
		{ OPT_ASSIGNED_TO, 0, NULL }, { OPT_QUERY, 0, NULL },
		{ OPT_APPEAL, 0, NULL }, { OPT_FROM, 0, NULL },
		{ OPT_TO, 0, NULL } },
	    .help = "run an exporter plugin on the matching records" },

	{ .name = "plugin",
	    .verb = "list",
	    .exec = cmd_plugin_list,
	    .help = "loaded plugins, versions, kinds, ABI" },

	{ .name = "exchange",
	    .verb = "send",
	    .exec = cmd_exchange_send,
	    .args = { { "ID", CLI_MANY,
		"the appeals to send, or to send "
		"replies on" } },
	    .uses = { { OPT_PARTNER, CLI_NEEDED, NULL },
		{ OPT_OUT, CLI_NEEDED, "write the package to FILE" },
		{ OPT_FORMAT, 0, "the exchange plugin (default ombx)" } },
	    .help = "(HQ) a package of appeals, or replies, for a partner "
		    "ombudsman" },
	{ .name = "exchange",
	    .verb = "import",
	    .exec = cmd_exchange_import,
	    .args = { { "FILE", 0, "a partner's package" } },
	    .uses = { { OPT_FORMAT, 0, "the exchange plugin (default ombx)" } },
	    .help = "(HQ) take a partner's package in" },

	{ .name = "keys",
	    .verb = "show",
	    .exec = cmd_keys_show,
	    .help = "this installation's public keys" },
	{ .name = NULL }
};

const struct cli_cmd *
cli_cmd_find(const char *name, const char *verb)
{
	const struct cli_cmd *cmd;

	for (cmd = cli_cmds; cmd->name != NULL; cmd++) {
		if (strcmp(cmd->name, name) != 0)
			continue;
		if (cmd->verb == NULL ||
		    (verb != NULL && strcmp(cmd->verb, verb) == 0))
			return cmd;
	}
	return NULL;
}

int
cli_cmd_has_verbs(const char *name)
{
	const struct cli_cmd *cmd;

	for (cmd = cli_cmds; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0 && cmd->verb != NULL)
			return 1;
	return 0;
}

const struct cli_use *
cli_cmd_uses(const struct cli_cmd *cmd, enum cli_optid opt)
{
	int i;

	for (i = 0; i < CLI_USES_MAX && cmd->uses[i].opt != OPT_NONE; i++)
		if (cmd->uses[i].opt == opt)
			return &cmd->uses[i];
	return NULL;
}

int
cli_cmd_nargs(const struct cli_cmd *cmd)
{
	int n;

	for (n = 0; n < CLI_ARG_MAX && cmd->args[n].name != NULL; n++)
		;
	return n;
}

void
cli_cmd_query(const struct cli *c, char *path, size_t n)
{
	int o;

	for (o = OPT_NONE + 1; o < OPT_MAX; o++)
		if (cli_opts[o].param != NULL)
			fv_query_add(path, n, cli_opts[o].param,
			    *(const char *const *)((const char *)c +
				cli_opts[o].off));
}
