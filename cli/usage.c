/*
 * usage.c - the help texts, printed from the command table: the global
 * usage (every command), one verb's, and a command's verbs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define WIDTH	 79 /* columns of a line */
#define HELP_COL 29 /* where a command's or option's help starts */

/* A paragraph being printed: words wrap at WIDTH to column indent. */
struct out {
	FILE *f;
	int col, indent, fresh;
};

static void
out_start(struct out *o, FILE *f, int indent)
{
	o->f = f;
	o->col = 0;
	o->indent = indent;
	o->fresh = 1;
}

/* One word (never broken), after a space unless the line is fresh. */
static void out_word(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_word(struct out *o, const char *fmt, ...)
{
	char w[256];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(w, sizeof(w), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len >= (int)sizeof(w))
		len = (int)sizeof(w) - 1;
	if (!o->fresh && o->col + 1 + len > WIDTH) {
		fprintf(o->f, "\n%*s", o->indent, "");
		o->col = o->indent;
	} else if (!o->fresh) {
		fputc(' ', o->f);
		o->col++;
	}
	fputs(w, o->f);
	o->col += len;
	o->fresh = 0;
}

/* Text, its words wrapped. */
static void
out_text(struct out *o, const char *s)
{
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, " ");
		if (n > 0)
			out_word(o, "%.*s", (int)n, s);
		s += n;
		s += strspn(s, " ");
	}
}

/* Moves to column col: on this line if it is not past it, else on the
 * next; what follows wraps there. */
static void
out_tab(struct out *o, int col)
{
	if (o->col + 1 > col) {
		fputc('\n', o->f);
		o->col = 0;
	}
	fprintf(o->f, "%*s", col - o->col, "");
	o->col = col;
	o->indent = col;
	o->fresh = 1;
}

static void
out_end(struct out *o)
{
	fputc('\n', o->f);
}

/* How an option is written: "--status S", "--json". */
static const char *
opt_form(int id, char *w, size_t n)
{
	const struct cli_opt *opt = &cli_opts[id];

	snprintf(w, n, "%s%s%s", opt->name, opt->value ? " " : "",
	    opt->value ? opt->value : "");
	return w;
}

/* The command's synopsis: its words, the options it needs, its
 * arguments, the other options (in brief: "[options]"). */
static void
out_synopsis(struct out *o, const struct cli_cmd *cmd, int brief)
{
	const struct cli_use *u;
	char w[64];
	int i;

	out_word(o, "%s", cmd->name);
	if (cmd->verb != NULL)
		out_word(o, "%s", cmd->verb);
	for (i = 0; i < CLI_USES_MAX && cmd->uses[i].opt != OPT_NONE; i++)
		if (cmd->uses[i].flags & CLI_NEEDED)
			out_word(o, "%s",
			    opt_form(cmd->uses[i].opt, w, sizeof(w)));
	for (i = 0; i < cli_cmd_nargs(cmd); i++)
		out_word(o, "%s%s", cmd->args[i].name,
		    (cmd->args[i].flags & CLI_MANY) ? "..." : "");
	for (i = 0; i < CLI_USES_MAX && cmd->uses[i].opt != OPT_NONE; i++) {
		u = &cmd->uses[i];
		if (u->flags & CLI_NEEDED)
			continue;
		if (brief) {
			out_word(o, "[options]");
			break;
		}
		out_word(o, "[%s]", opt_form(u->opt, w, sizeof(w)));
	}
}

/* "  WORDS                      help", wrapped under the help. */
static void
out_item(FILE *f, const char *word, const char *help)
{
	struct out o;

	out_start(&o, f, 2);
	out_tab(&o, 2);
	out_word(&o, "%s", word);
	out_tab(&o, HELP_COL);
	out_text(&o, help);
	out_end(&o);
}

/* Every command named name (every command when NULL), a line each. */
static void
list_cmds(FILE *f, const char *name)
{
	const struct cli_cmd *cmd;
	struct out o;

	for (cmd = cli_cmds; cmd->name != NULL; cmd++) {
		if (name != NULL && strcmp(cmd->name, name) != 0)
			continue;
		out_start(&o, f, 4);
		out_tab(&o, 2);
		out_synopsis(&o, cmd, 1);
		out_tab(&o, HELP_COL);
		out_text(&o, cmd->help);
		out_end(&o);
	}
}

void
cli_help(FILE *f)
{
	struct out o;
	char w[64];
	int i;

	out_start(&o, f, 18);
	out_word(&o, "usage: fieldvault");
	for (i = OPT_NONE + 1; i < OPT_MAX; i++)
		if (cli_opts[i].flags & CLI_GLOBAL)
			out_word(&o, "[%s]", opt_form(i, w, sizeof(w)));
	out_word(&o, "COMMAND");
	out_word(&o, "[ARGS]");
	out_end(&o);
	fputc('\n', f);
	list_cmds(f, NULL);
	fputc('\n', f);
	for (i = OPT_NONE + 1; i < OPT_MAX; i++)
		if (cli_opts[i].flags & CLI_GLOBAL)
			out_item(f, opt_form(i, w, sizeof(w)),
			    cli_opts[i].help);
	fprintf(f,
	    "\nrun 'fieldvault COMMAND --help' for a command's "
	    "arguments and options\n"
	    "exit: 0 done, 1 refused or failed, 2 usage, 3 daemon not "
	    "reachable,\n      4 store locked\n");
}

void
cli_help_verbs(const char *name)
{
	printf("usage: fieldvault %s VERB ...\n\n", name);
	list_cmds(stdout, name);
	printf("\nrun 'fieldvault %s VERB --help' for a verb's arguments and "
	       "options\n",
	    name);
}

void
cli_help_cmd(const struct cli_cmd *cmd)
{
	const struct cli_use *u;
	struct out o;
	char w[64];
	int i;

	out_start(&o, stdout,
	    18 + (int)strlen(cmd->name) +
		(cmd->verb ? (int)strlen(cmd->verb) + 1 : 0) + 1);
	out_word(&o, "usage: fieldvault");
	out_synopsis(&o, cmd, 0);
	out_end(&o);
	out_start(&o, stdout, 0);
	fputc('\n', stdout);
	out_text(&o, cmd->help);
	out_end(&o);
	if (cli_cmd_nargs(cmd) > 0 || cmd->uses[0].opt != OPT_NONE)
		fputc('\n', stdout);
	for (i = 0; i < cli_cmd_nargs(cmd); i++)
		out_item(stdout, cmd->args[i].name, cmd->args[i].help);
	for (i = 0; i < CLI_USES_MAX && cmd->uses[i].opt != OPT_NONE; i++) {
		u = &cmd->uses[i];
		out_item(stdout, opt_form(u->opt, w, sizeof(w)),
		    u->help ? u->help : cli_opts[u->opt].help);
	}
	fputc('\n', stdout);
	out_start(&o, stdout, 2);
	out_word(&o, "global options:");
	for (i = OPT_NONE + 1; i < OPT_MAX; i++)
		if (cli_opts[i].flags & CLI_GLOBAL)
			out_word(&o, "%s%s", opt_form(i, w, sizeof(w)),
			    i + 1 < OPT_MAX &&
				    (cli_opts[i + 1].flags & CLI_GLOBAL) ?
				"," :
				"");
	out_word(&o, "(see 'fieldvault --help')");
	out_end(&o);
}
