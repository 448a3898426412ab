/*
 * fieldvault/host.h - what the host does for a plugin: configuration,
 * logging, memory, output streams, and the services of exporters and
 * exchanges.
 *
 * Every function here is provided by fieldvaultd (and by the mock host,
 * libfieldvault-mock, for a plugin's own tests).  Unless said otherwise
 * they return 0 on success and -1 on failure, and take handles that the
 * host owns: a plugin never frees a handle, and a handle is valid only
 * during the call it was passed to.
 *
 * Threads: the host calls every callback of every plugin from one thread
 * of its own, never two at once and never on the daemon's event loop, so a
 * plugin needs no locks and may block (a slow hook delays other plugins'
 * work, never the daemon's).
 *
 * Include <fieldvault/plugin.h>, which includes this file.
 */
#ifndef FIELDVAULT_HOST_H
#define FIELDVAULT_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The plugin's handle on the host: one per loaded plugin, from init to
 * fini. */
typedef struct fv_host fv_host;
/* A stream of bytes the host delivers somewhere (the export's file, the
 * exchange package).  Written in order; buffered by the host. */
typedef struct fv_output fv_output;

/* --- configuration --------------------------------------------------- */

/* The value of key in this plugin's [plugin.NAME] section, or NULL if the
 * key is not set.  Only keys the descriptor lists in config_keys reach a
 * plugin: the host refuses a section with any other key.  The string
 * lives until fini. */
const char *fv_config_get(const fv_host *h, const char *key);
/* This installation's name and role ("field" or "hq").  Static until
 * fini. */
const char *fv_host_name(const fv_host *h);
const char *fv_host_role(const fv_host *h);

/* --- logging ---------------------------------------------------------- */

enum fv_level {
	FV_LOG_ERROR = 0,
	FV_LOG_WARN = 1,
	FV_LOG_INFO = 2,
	FV_LOG_DEBUG = 3
};
/* Writes one line to the daemon's log, prefixed with "plugin NAME: ".
 * Never log record content (names, summaries, texts): the log is on disk
 * in plain text.  Control characters are replaced; a line is cut at 1,000
 * bytes. */
void fv_log(const fv_host *h, enum fv_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fv_vlog(const fv_host *h, enum fv_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* --- memory ------------------------------------------------------------ */

/* Memory for buffers that hold record content: fv_free() wipes the block
 * before it returns it.  fv_alloc(0) returns a valid pointer; fv_free(NULL)
 * does nothing.  NULL when out of memory. */
void *fv_alloc(size_t size);
void *fv_realloc(void *p, size_t size);
char *fv_strdup(const char *s);
void fv_free(void *p);

/* --- output streams ---------------------------------------------------- */

/* Appends len bytes.  -1 if the stream failed (the reader went away, out
 * of memory): stop and return -1 from the callback. */
int fv_output_write(fv_output *o, const void *p, size_t len);
int fv_output_puts(fv_output *o, const char *s);
int fv_output_printf(fv_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- exporters ----------------------------------------------------------- */

/* One run of an exporter (fieldvault export). */
typedef struct fv_export fv_export;

/* Where the export goes. */
fv_output *fv_export_output(fv_export *x);
/* The run's options, NULL when not given:
 *   "type"   "appeal" or "note": the type of every record of the run
 *   "from"   "to"   the period asked for (YYYY-MM-DD or RFC 3339); the
 *            host passes only records inside it (appeals by received_at,
 *            notes by created_at)
 *   "json"   "1" when the user asked for JSON (fieldvault --json) */
const char *fv_export_option(const fv_export *x, const char *name);

/* --- exchanges ------------------------------------------------------------ */

/* One run of an exchange (fieldvault exchange send / import). */
typedef struct fv_exchange fv_exchange;

#define FV_KEY_BYTES  32 /* an Ed25519 public key */
#define FV_SIG_BYTES  64 /* an Ed25519 signature */
#define FV_SEAL_BYTES 48 /* what sealing adds (crypto_box_SEALBYTES) */
/* Every signature the host makes for a plugin is over this context and
 * then the message, so that nothing a plugin has signed can pass for an op,
 * a receipt or a bundle of fieldvault's own. */
#define FV_EXCHANGE_SIG_CONTEXT	    "fieldvault exchange v1" /* + its NUL */
#define FV_EXCHANGE_SIG_CONTEXT_LEN 23

/* This installation's Ed25519 public key (what fieldvault keys show
 * prints as partner_key). */
int fv_exchange_self_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES]);
/* Signs FV_EXCHANGE_SIG_CONTEXT (with its NUL) followed by msg[0..len)
 * with this installation's key (Ed25519, detached). */
int fv_exchange_sign(fv_exchange *x, const void *msg, size_t len,
    uint8_t sig[FV_SIG_BYTES]);
/* Opens what was sealed to this installation (libsodium's
 * crypto_box_seal to the X25519 form of our key): out receives
 * len - FV_SEAL_BYTES bytes.  -1 if it was not sealed to us or was
 * altered. */
int fv_exchange_open(fv_exchange *x, const uint8_t *sealed, size_t len,
    uint8_t *out);

/* send: the partner the package is for (its [partner.NAME] name), its
 * Ed25519 key, and where the package goes. */
const char *fv_exchange_partner(const fv_exchange *x);
int fv_exchange_partner_key(const fv_exchange *x, uint8_t pk[FV_KEY_BYTES]);
fv_output *fv_exchange_output(fv_exchange *x);

/* import: the package's sender.  Returns 0 and makes it the partner of this
 * import when pk is the public_key of a configured [partner.NAME]; -1
 * otherwise.  Call it before adding anything. */
int fv_exchange_sender(fv_exchange *x, const uint8_t pk[FV_KEY_BYTES]);
/* import: a new appeal from the partner.  ref is the partner's id for it
 * (1..200 bytes of printable ASCII without space, 0x21..0x7e); json an appeal object as in the
 * records' schema (read-only fields are ignored).  The host sets channel
 * "partner", partner (the sender's name) and partner_ref (ref), and does
 * nothing for a ref it already holds from this partner. */
int fv_exchange_add_appeal(fv_exchange *x, const char *ref, const char *json,
    size_t len);
/* import: the partner's answer on an appeal we sent: id is our appeal's
 * id, ref the partner's id for it (or NULL), status its status there
 * (an appeal status: "resolved_positive" ...), outcome a text of at most
 * 1,000 characters (or NULL). */
int fv_exchange_add_reply(fv_exchange *x, const char *id, const char *ref,
    const char *status, const char *outcome);
/* Refuses the whole import (or send) with a reason for the user (no record
 * content in it); the first reason given is the one reported.  Returns -1, for "return fv_exchange_refuse(...)". */
int fv_exchange_refuse(fv_exchange *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
