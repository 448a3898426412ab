/*
 * fieldvault - the client of fieldvaultd.
 *
 *   fieldvault [-c CONFIG] COMMAND [ARGS] [--json]
 *
 * The command line is checked against the command table (cmd.c) before
 * the config is read: a word or option the command does not take is a
 * usage error (exit 2), never ignored.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "cli.h"
#include "op.h"
#include "secmem.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define VALUE_MAX 1024 /* bytes of an option's value */

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

/* "appeal list", "sync": the words that name the command. */
static const char *
cmd_words(const struct cli_cmd *cmd)
{
	static char w[64];

	snprintf(w, sizeof(w), "%s%s%s", cmd->name, cmd->verb ? " " : "",
	    cmd->verb ? cmd->verb : "");
	return w;
}

/* Prints "fieldvault: WORDS: ..." and where the usage of the command
 * named by words is (NULL: the global usage); returns EX_USAGE. */
static int
cli_usage(const char *words, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fieldvault: %s%s", words ? words : "",
	    words ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run 'fieldvault %s%s--help' for usage)\n",
	    words ? words : "", words ? " " : "");
	return EX_USAGE;
}

/* "add, get, list": the verbs of the command name. */
static const char *
verbs_of(const char *name)
{
	static char v[256];
	const struct cli_cmd *cmd;
	size_t at = 0;

	v[0] = '\0';
	for (cmd = cli_cmds; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0 && at < sizeof(v))
			at += (size_t)snprintf(v + at, sizeof(v) - at, "%s%s",
			    at ? ", " : "", cmd->verb);
	return v;
}

/* The option named a ("-c", "--status"), or OPT_NONE. */
static enum cli_optid
opt_find(const char *a)
{
	int o;

	for (o = OPT_NONE + 1; o < OPT_MAX; o++)
		if (strcmp(a, cli_opts[o].name) == 0 ||
		    (cli_opts[o].alias != NULL &&
			strcmp(a, cli_opts[o].alias) == 0))
			return (enum cli_optid)o;
	return OPT_NONE;
}

/*
 * Splits the command line into options and words, in any order.  An
 * option is stored where its table entry says; at[] keeps where on the
 * line it was, to check it against the command once that is known.
 */
static int
parse_line(struct cli *c, int argc, char **argv, int at[OPT_MAX], int *help)
{
	const struct cli_opt *o;
	enum cli_optid id;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = 1;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			printf("fieldvault %s\n", PACKAGE_VERSION);
			exit(EX_DONE);
		}
		if (a[0] != '-' || a[1] == '\0') { /* "-" is stdin */
			if (c->nwords == CLI_WORDS_MAX)
				return cli_usage(NULL, "too many arguments");
			c->words[c->nwords++] = a;
			continue;
		}
		if ((id = opt_find(a)) == OPT_NONE)
			return cli_usage(NULL, "unknown option %s", a);
		o = &cli_opts[id];
		if (at[id] != 0)
			return cli_usage(NULL, "%s given twice", a);
		at[id] = i;
		if (o->value == NULL) {
			*(int *)((char *)c + o->off) = 1;
			continue;
		}
		if (++i == argc)
			return cli_usage(NULL, "%s needs a value (%s)", a,
			    o->value);
		if (strlen(argv[i]) > VALUE_MAX)
			return cli_usage(NULL, "%s: value too long", a);
		*(const char **)((char *)c + o->off) = argv[i];
	}
	return 0;
}

/* The command the words name; prints why not (or, with help, the verbs
 * of a command that has some) and returns NULL. */
static const struct cli_cmd *
find_cmd(struct cli *c, int help, int *rc)
{
	const struct cli_cmd *cmd;
	const char *name = c->words[0];
	const char *verb = c->nwords > 1 ? c->words[1] : NULL;

	*rc = EX_USAGE;
	if (!cli_cmd_has_verbs(name)) {
		if ((cmd = cli_cmd_find(name, NULL)) == NULL)
			cli_usage(NULL, "unknown command '%s'", name);
		return cmd;
	}
	if (verb != NULL && (cmd = cli_cmd_find(name, verb)) != NULL)
		return cmd;
	if (help && verb == NULL) {
		cli_help_verbs(name);
		*rc = -1;
	} else if (verb == NULL)
		cli_usage(name, "missing verb (%s)", verbs_of(name));
	else
		cli_usage(name, "unknown verb '%s' (%s)", verb, verbs_of(name));
	return NULL;
}

/* An option the command does not take, the first on the line; or one it
 * needs and was not given. */
static int
check_opts(const struct cli_cmd *cmd, const int at[OPT_MAX])
{
	const struct cli_use *u;
	int o, first = OPT_NONE, i;

	for (o = OPT_NONE + 1; o < OPT_MAX; o++)
		if (at[o] != 0 && !(cli_opts[o].flags & CLI_GLOBAL) &&
		    cli_cmd_uses(cmd, (enum cli_optid)o) == NULL &&
		    (first == OPT_NONE || at[o] < at[first]))
			first = o;
	if (first != OPT_NONE)
		return cli_usage(cmd_words(cmd), "unexpected option %s",
		    cli_opts[first].name);
	for (i = 0; i < CLI_USES_MAX && cmd->uses[i].opt != OPT_NONE; i++) {
		u = &cmd->uses[i];
		if ((u->flags & CLI_NEEDED) && at[u->opt] == 0)
			return cli_usage(cmd_words(cmd), "missing %s %s",
			    cli_opts[u->opt].name, cli_opts[u->opt].value);
	}
	return 0;
}

static int
is_id(const char *s)
{
	uint8_t id[FV_ID_BYTES];

	return fv_op_id_parse(s, id) == 0;
}

/* The arguments after the command's words: how many, and ids that are
 * not. */
static int
check_args(struct cli *c, const int at[OPT_MAX])
{
	const struct cli_cmd *cmd = c->cmd;
	const struct cli_arg *a;
	int n = cli_cmd_nargs(cmd), i, o;

	c->args = c->words + (cmd->verb ? 2 : 1);
	c->nargs = c->nwords - (cmd->verb ? 2 : 1);
	if (c->nargs < n)
		return cli_usage(cmd_words(cmd), "missing %s",
		    cmd->args[c->nargs].name);
	if (c->nargs > n && (n == 0 || !(cmd->args[n - 1].flags & CLI_MANY)))
		return cli_usage(cmd_words(cmd), "unexpected argument '%s'",
		    c->args[n]);
	for (i = 0; i < c->nargs; i++) {
		a = &cmd->args[i < n ? i : n - 1]; /* the last repeats */
		if ((a->flags & CLI_ID) && !is_id(c->args[i]))
			return cli_usage(cmd_words(cmd),
			    "%s: not an id (32 "
			    "hex characters)",
			    a->name);
	}
	for (o = OPT_NONE + 1; o < OPT_MAX; o++)
		if (at[o] != 0 && (cli_opts[o].flags & CLI_ID) &&
		    !is_id(*(const char **)((const char *)c + cli_opts[o].off)))
			return cli_usage(cmd_words(cmd),
			    "%s: not an id (32 "
			    "hex characters)",
			    cli_opts[o].name);
	return 0;
}

/* Reads the command line into c: 0 when there is a command to run, -1
 * when help was asked for and printed, else a usage error's exit code. */
static int
parse_args(struct cli *c, int argc, char **argv)
{
	int at[OPT_MAX] = { 0 }, help = 0, rc;

	if ((rc = parse_line(c, argc, argv, at, &help)) != 0)
		return rc;
	if (c->nwords == 0) {
		cli_help(help ? stdout : stderr);
		return help ? -1 : EX_USAGE;
	}
	if ((c->cmd = find_cmd(c, help, &rc)) == NULL)
		return rc;
	if (help) {
		cli_help_cmd(c->cmd);
		return -1;
	}
	if ((rc = check_opts(c->cmd, at)) != 0)
		return rc;
	return check_args(c, at);
}

int
main(int argc, char **argv)
{
	struct rlimit rl = { 0, 0 };
	struct cli c;
	char err[512];
	int rc;

	setrlimit(RLIMIT_CORE, &rl); /* passphrases pass through here */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	fv_buf_json_init();
	if (sodium_init() < 0 || fv_secmem_init() != 0)
		return cli_fail("cannot initialise libsodium");
	memset(&c, 0, sizeof(c));
	if ((rc = parse_args(&c, argc, argv)) != 0)
		return rc < 0 ? EX_DONE : rc;
	if (c.conf_path == NULL &&
	    (c.conf_path = getenv("FIELDVAULT_CONFIG")) == NULL)
		c.conf_path = SYSCONFDIR "/fieldvault/fieldvault.conf";
	if (fv_conf_load(c.conf_path, &c.conf, err, sizeof(err)) != 0)
		return cli_fail("%s", err);
	rc = c.cmd->exec(&c);
	fv_conf_free(c.conf);
	fv_secmem_shutdown();
	return rc;
}
