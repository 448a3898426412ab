/*
 * conf.h - the INI configuration (docs/config.md).
 *
 * Parsed whole, validated, then handed over: a bad file changes nothing
 * and the error reads "FILE:LINE: reason".
 */
#ifndef FV_CONF_H
#define FV_CONF_H

#include <limits.h>
#include <stddef.h>

#include "log.h"

#define FV_CONF_LINE_MAX     4096
#define FV_CONF_SECTIONS_MAX 256

struct fv_conf_kv {
	char *key, *val;
	int line;
};

/* A [plugin.NAME] or [partner.NAME] section: its keys are checked by
 * whoever uses them. */
struct fv_conf_section {
	char *name; /* the part after the dot */
	int line;
	struct fv_conf_kv *kv;
	size_t nkv;
};

struct fv_config {
	char path[PATH_MAX];
	/* [daemon] */
	char role[8]; /* field | hq */
	char name[65];
	char data_dir[PATH_MAX];
	char socket[108]; /* sun_path */
	enum fv_loglevel log_level;
	long auto_lock; /* seconds, 0 = never */
	/* [sync] */
	char listen[128], hq[128];
	long interval; /* seconds */
	int autosync;  /* 0: "interval = 0" */
	int purge_after_sync;
	/* [plugins] */
	char plugins_dir[PATH_MAX];
	char plugins_load[1024];
	struct fv_conf_section *plugins, *partners;
	size_t nplugins, npartners;
};

/* Parses and validates path.  On error returns FV_EINVAL (or FV_EIO) and
 * writes "path:line: reason" into err.  *out is freed with
 * fv_conf_free. */
int fv_conf_load(const char *path, struct fv_config **out, char *err,
    size_t errlen);
void fv_conf_free(struct fv_config *c);
/* partner_key: "ombx1:" and the unpadded base64url of an Ed25519 public
 * key: what fieldvault keys show prints for a partner, and what a
 * [partner.NAME] public_key holds (docs/exchange-format.md). */
#define FV_PARTNER_KEY_PREFIX "ombx1:"
#define FV_PARTNER_KEY_LEN    (6 + 43)
int fv_conf_partner_key_parse(const char *s, unsigned char pk[32]);
void fv_conf_partner_key_format(const unsigned char pk[32],
    char out[FV_PARTNER_KEY_LEN + 1]);
/* "90", "30s", "15m", "2h", "1d" -> seconds.  0 or FV_EINVAL. */
int fv_conf_parse_duration(const char *s, long *secs);

#endif
