/*
 * cli.h - the fieldvault command-line client.
 */
#ifndef FV_CLI_H
#define FV_CLI_H

#include "conf.h"

/* exit codes (README.md) */
#define EX_DONE		0
#define EX_FAIL		1
#define EX_USAGE	2
#define EX_NODAEMON	3
#define EX_LOCKED	4

struct cli {
	const char		*conf_path;
	struct fv_config	*conf;
	int			 json;
	const char		*passfile;
	/* list filters */
	const char		*status, *country, *category, *assigned_to;
	const char		*query, *appeal;
	const char		*out, *for_dev;	/* bundle create */
	const char		*format, *from, *to, *type;	/* export */
	const char		*partner;	/* exchange send */
	const char		*args[10016];	/* positional words (ids) */
	int			 nargs;
};

struct fv_resp;
struct json_t;
/* Sends a request to the daemon.  On a 2xx answer returns 0 with r filled
 * (caller fv_resp_free()s it); else prints why and returns the exit code. */
int	cli_call(struct cli *c, const char *method, const char *path,
	    const void *body, size_t len, struct fv_resp *r);
/* The same for an answer already read (rc from fv_http or fv_http_recv). */
int	cli_answer(struct cli *c, int rc, struct fv_resp *r);
void	cli_print_json(const struct json_t *j);

/* Prints "fieldvault: error: ..." and returns EX_FAIL. */
int	cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int	cmd_init(struct cli *c);
int	cmd_unlock(struct cli *c);
int	cmd_lock(struct cli *c);
int	cmd_status(struct cli *c);
int	cmd_record(struct cli *c, const char *type);	/* appeal / note */
int	cmd_history(struct cli *c);
int	cmd_sync(struct cli *c);
int	cmd_device(struct cli *c);
int	cmd_bundle(struct cli *c);
int	cmd_export(struct cli *c);
int	cmd_plugin(struct cli *c);
int	cmd_exchange(struct cli *c);
int	cmd_keys(struct cli *c);
/* Writes len bytes to path whole or not at all (a temporary file, synced,
 * renamed); prints why and returns EX_FAIL on error. */
int	write_atomic(const char *path, const void *p, size_t len);

/* Reads FILE or stdin ("-") whole (at most max bytes), NUL-terminated;
 * prints why and returns EX_FAIL on error.  free_input() wipes. */
int	read_input(const char *path, size_t max, char **out, size_t *len);
void	free_input(char *buf, size_t len);

#endif
