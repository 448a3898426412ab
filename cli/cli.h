/*
 * cli.h - the fieldvault command-line client.
 */
#ifndef FV_CLI_H
#define FV_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

/* exit codes (README.md) */
#define EX_DONE	    0
#define EX_FAIL	    1
#define EX_USAGE    2
#define EX_NODAEMON 3
#define EX_LOCKED   4

#define CLI_WORDS_MAX 10016 /* words that are not options */

struct cli_cmd;

/* What the command line said, checked against the command's entry. */
struct cli {
	const char *conf_path;
	struct fv_config *conf;
	int json;
	const char *passfile;
	const struct cli_cmd *cmd;
	/* option values, NULL when not given */
	const char *status, *country, *category, *assigned_to;
	const char *query, *appeal;
	const char *out, *for_dev, *format, *from, *to, *type;
	const char *partner;
	/* the words that are not options; args: those after the command's */
	const char *words[CLI_WORDS_MAX];
	int nwords;
	const char **args;
	int nargs;
};

/*
 * The command table (cmd.c).  Every option is described once, in
 * cli_opts[]; a command names the ones it takes.  Usage text and the
 * checks of a command line both come from there.
 */
enum cli_optid {
	OPT_NONE,   /* ends a command's list */
	OPT_CONFIG, /* global: every command takes these */
	OPT_PASSFILE,
	OPT_JSON,
	OPT_STATUS, /* a command's own */
	OPT_COUNTRY,
	OPT_CATEGORY,
	OPT_ASSIGNED_TO,
	OPT_QUERY,
	OPT_APPEAL,
	OPT_TYPE,
	OPT_FROM,
	OPT_TO,
	OPT_FORMAT,
	OPT_OUT,
	OPT_FOR,
	OPT_PARTNER,
	OPT_MAX
};

#define CLI_GLOBAL 0x01 /* option: taken by every command */
#define CLI_ID	   0x02 /* value or argument: a record id */
#define CLI_NEEDED 0x04 /* option as a command uses it: not optional */
#define CLI_MANY   0x08 /* argument: one or more */

struct cli_opt {
	const char *name;  /* "--status" */
	const char *alias; /* "--config" for "-c", or NULL */
	const char *value; /* its value's name; NULL: a flag */
	size_t off;	   /* where in struct cli it goes */
	int flags;	   /* CLI_GLOBAL, CLI_ID */
	const char *param; /* its API query parameter, or NULL */
	const char *help;
};

struct cli_use { /* an option as one command takes it */
	enum cli_optid opt;
	int flags;	  /* CLI_NEEDED */
	const char *help; /* NULL: the option's own */
};

struct cli_arg {
	const char *name; /* "ID", "FILE|-" */
	int flags;	  /* CLI_ID, CLI_MANY (the last only) */
	const char *help;
};

#define CLI_USES_MAX 12
#define CLI_ARG_MAX  2

struct cli_cmd {
	const char *name; /* "appeal" */
	const char *verb; /* "list", or NULL */
	int (*exec)(struct cli *);
	struct cli_arg args[CLI_ARG_MAX];  /* in order; name NULL ends */
	struct cli_use uses[CLI_USES_MAX]; /* OPT_NONE ends */
	const char *help;		   /* what it does, one line */
};

extern const struct cli_opt cli_opts[OPT_MAX]; /* [OPT_NONE] unused */
extern const struct cli_cmd cli_cmds[];	       /* name NULL ends */

/* The entry for NAME VERB (verb NULL for a command without verbs). */
const struct cli_cmd *cli_cmd_find(const char *name, const char *verb);
/* Whether NAME is a command that takes a verb ("appeal"). */
int cli_cmd_has_verbs(const char *name);
/* The entry's use of an option, or NULL when it does not take it. */
const struct cli_use *cli_cmd_uses(const struct cli_cmd *cmd,
    enum cli_optid opt);
/* How many arguments the entry declares. */
int cli_cmd_nargs(const struct cli_cmd *cmd);
/* Appends to a path buffer of size n the options given that are query
 * parameters (only those the command takes can have been given). */
void cli_cmd_query(const struct cli *c, char *path, size_t n);

/* usage.c: the help texts, made from the table. */
void cli_help(FILE *f);
void cli_help_cmd(const struct cli_cmd *cmd);
void cli_help_verbs(const char *name);

struct fv_resp;
struct json_t;
/* Sends a request to the daemon.  On a 2xx answer returns 0 with r filled
 * (caller fv_resp_free()s it); else prints why and returns the exit code. */
int cli_call(struct cli *c, const char *method, const char *path,
    const void *body, size_t len, struct fv_resp *r);
/* POSTs body (taken) as JSON to path, as cli_call() does. */
int cli_post_json(struct cli *c, const char *path, struct json_t *body,
    struct fv_resp *r);
/* The same for an answer already read (rc from fv_http or fv_http_recv). */
int cli_answer(struct cli *c, int rc, struct fv_resp *r);
void cli_print_json(const struct json_t *j);

/* Prints "fieldvault: error: ..." and returns EX_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The commands; each finds its arguments checked against its entry. */
int cmd_init(struct cli *c);
int cmd_unlock(struct cli *c);
int cmd_lock(struct cli *c);
int cmd_status(struct cli *c);
int cmd_record_add(struct cli *c); /* appeal and note */
int cmd_record_get(struct cli *c);
int cmd_record_list(struct cli *c);
int cmd_record_update(struct cli *c);
int cmd_record_delete(struct cli *c);
int cmd_record_import(struct cli *c);
int cmd_history(struct cli *c);
int cmd_sync(struct cli *c); /* sync and enroll */
int cmd_device_invite(struct cli *c);
int cmd_device_list(struct cli *c);
int cmd_device_revoke(struct cli *c);
int cmd_bundle_create(struct cli *c);
int cmd_bundle_import(struct cli *c);
int cmd_export(struct cli *c);
int cmd_plugin_list(struct cli *c);
int cmd_exchange_send(struct cli *c);
int cmd_exchange_import(struct cli *c);
int cmd_keys_show(struct cli *c);

/* Writes len bytes to path whole or not at all (a temporary file, synced,
 * renamed); prints why and returns EX_FAIL on error. */
int write_atomic(const char *path, const void *p, size_t len);
/* Writes an answer's body to --out so, and gives its X-Fieldvault-Info
 * parsed (NULL if none; printed already with --json; caller decrefs). */
int write_answer(struct cli *c, const struct fv_resp *r, struct json_t **info);

/* Reads FILE or stdin ("-") whole (at most max bytes), NUL-terminated;
 * prints why and returns EX_FAIL on error.  free_input() wipes. */
int read_input(const char *path, size_t max, char **out, size_t *len);
void free_input(char *buf, size_t len);

#endif
