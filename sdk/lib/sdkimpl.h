/*
 * sdkimpl.h - the parts of the SDK's implementation that fieldvaultd and
 * the mock host (libfieldvault-mock) share: records over jansson, wiping
 * memory, output buffers.  Not installed: plugins see only the opaque
 * types of <fieldvault/plugin.h>.
 */
#ifndef FV_SDKIMPL_H
#define FV_SDKIMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <fieldvault/plugin.h>

/* A plugin's log message as one line (at most size - 1 bytes, control
 * characters blanked) and its level, an unknown one made info (log.c). */
enum fv_level fv_sdk_log_line(char *line, size_t size, enum fv_level level,
    const char *fmt, va_list ap);

/* A record as plugins see it (record.c): its leaves, each a path and its
 * value as JSON text, in the record's order. */
struct fv_rleaf {
	const char *path, *json; /* not NUL-ended: the source's */
	const char *text;	 /* NUL-ended: a string decoded, a
					   number or boolean as written;
					   NULL for null, object, array */
	uint32_t pathlen, jsonlen;
};
struct fv_record {
	const char *id, *type;
	struct fv_rleaf *leaf;
	uint32_t *by_path; /* leaf indexes sorted by path */
	size_t n;
	const char **tags;
	size_t ntags;
	uint8_t *mem; /* the above, reused record to record */
	size_t memcap;
	char *src;    /* the text of a record from jansson */
	char **owned; /* strings made by accessors */
	size_t nowned, capowned;
};
/* A leaf given to fv_sdk_record_set: path and JSON text (not NUL-ended). */
struct fv_sdk_leaf {
	const char *path, *json;
	size_t pathlen, jsonlen;
};

/* Makes r the record of these leaves (in the record's order; "id" and
 * "type" among them).  The leaves' text is borrowed: it must outlive r's
 * use.  An appeal whose applicant.confidential is true loses every
 * applicant field but citizenship, residence_country and confidential.
 * r must be zeroed before its first use; it can be set again and again.
 * Returns 0, or -1 (no id or type; out of memory). */
int fv_sdk_record_set(struct fv_record *r, const struct fv_sdk_leaf *v,
    size_t n);
/* The same from a record object as the API gives it (j is not kept). */
int fv_sdk_record_from_json(struct fv_record *r, const json_t *j);
/* Wipes what the record's accessors made and what it holds; r may be set
 * again. */
void fv_sdk_record_release(struct fv_record *r);
/* The same, and frees r's memory. */
void fv_sdk_record_free(struct fv_record *r);
/* Writes s (n bytes) as a JSON string into out, which has room for
 * FV_SDK_QUOTED(n) bytes; returns the length written. */
#define FV_SDK_QUOTED(n) (6 * (n) + 2)
size_t fv_sdk_record_quote(const char *s, size_t n, char *out);

/* A plugin name: 1..FV_SDK_NAME_MAX of a-z 0-9 _ - (it becomes a file
 * name: no dot, no slash). */
#define FV_SDK_NAME_MAX 32
int fv_sdk_desc_valid_name(const char *s);
/* The descriptor's ABI, name, kinds and their callbacks: 0, or -1 with the
 * reason in why ("this HOST has ..."). */
int fv_sdk_desc_check(const struct fv_plugin *d, const char *host, char *why,
    size_t len);

/* A plugin's [plugin.NAME] section: name, value, ..., NULL.  copy gives
 * NULL when out of memory or a name lacks its value; unknown gives the
 * index of the first name the plugin does not accept (config_keys), or
 * -1. */
char **fv_sdk_desc_kv_copy(const char *const *kv);
void fv_sdk_desc_kv_free(char **kv);
long fv_sdk_desc_kv_unknown(const struct fv_plugin *d, const char *const *kv);

/* Partner exchange (xchg.c): a partner's ref is 1..FV_SDK_REF_MAX
 * printable ASCII bytes, no space; a reply's status one of an appeal's;
 * its outcome at most FV_SDK_OUTCOME_MAX characters of UTF-8; a package
 * at most FV_SDK_ENTRIES_MAX appeals and replies.  fv_sdk_xchg_travel: the
 * fields of a partner's appeal the host keeps (the rest is its own to
 * set), NULL-ended. */
#define FV_SDK_REF_MAX	   200
#define FV_SDK_OUTCOME_MAX 1000
#define FV_SDK_ENTRIES_MAX 10000
extern const char *const fv_sdk_xchg_travel[];
int fv_sdk_xchg_valid_ref(const char *s);
int fv_sdk_xchg_valid_status(const char *s);
/* The characters (code points) of the UTF-8 text s. */
size_t fv_sdk_xchg_utf8_chars(const char *s);

/* An output stream: bytes gather in p; when flush is set, it gets them
 * once more than FV_OUTPUT_FLUSH are waiting (and at fv_sdk_output_flush);
 * a -1 from flush fails the stream.  max bounds what may wait. */
#define FV_OUTPUT_FLUSH (256 * 1024)
struct fv_output {
	uint8_t *p;
	size_t len, cap, max;
	int err;
	int (*flush)(void *arg, const uint8_t *p, size_t len);
	void *arg;
};
void fv_sdk_output_init(struct fv_output *o, size_t max,
    int (*flush)(void *arg, const uint8_t *p, size_t len), void *arg);
int fv_sdk_output_flush(struct fv_output *o);
/* Wipes and frees the buffer. */
void fv_sdk_output_free(struct fv_output *o);

#endif
