/*
 * fieldvault/mock.h - a mock host (libfieldvault-mock) to unit-test a
 * plugin without a daemon.  Link the plugin's sources with
 * `pkg-config --libs fieldvault-mock`: the library provides every
 * function of <fieldvault/host.h> and <fieldvault/record.h>, and this API
 * drives the plugin as fieldvaultd would.
 *
 *	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
 *	void *st;
 *
 *	if (fv_mock_load(h, &fieldvault_plugin_v1, &st) == 0) {
 *		fv_mock_export(h, &fieldvault_plugin_v1, st, NULL,
 *		    "{\"id\":\"...\",\"type\":\"appeal\",...}\n", out);
 *		fv_mock_unload(h, &fieldvault_plugin_v1, st);
 *	}
 *	fv_mock_host_free(h);
 *
 * Records are given as JSON Lines text, each line a record as fieldvault
 * returns it (id, type, created_at, ... as "fieldvault appeal get"
 * prints); empty lines are skipped.  The mock passes them as given, in
 * order (it does not filter them by type or period as the daemon does),
 * after removing the identifying fields of a confidential applicant as the
 * daemon does.
 *
 * Functions returning int return 0 on success and -1 on failure; the
 * reason is in fv_mock_log() (or in err for the exchange functions).  A
 * mock host is for one thread.  It checks what the daemon checks in each
 * host call a plugin makes, so that a plugin passing its tests here does
 * not fail in fieldvaultd on a call it got wrong.
 */
#ifndef FIELDVAULT_MOCK_H
#define FIELDVAULT_MOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fieldvault/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fv_mock_host fv_mock_host;

/* A mock installation called name (fv_host_name), of role "field" or "hq"
 * (fv_host_role), whose [plugin.NAME] section holds kv: "key", "value",
 * ..., NULL (NULL: an empty section).  The strings are copied.  NULL when
 * out of memory or an argument is NULL or bad (name empty, or a role other
 * than field and hq). */
fv_mock_host *fv_mock_host_new(const char *name, const char *role,
    const char *const *kv);
/* Frees h and wipes its keys; NULL is a no-op.  Unload the plugin
 * first. */
void fv_mock_host_free(fv_mock_host *h);

/* What was logged so far, one "LEVEL: text\n" line per fv_log call (LEVEL:
 * error, warn, info or debug), as the daemon would log it (control
 * characters replaced, cut at 1,000 bytes), and the mock's own lines
 * ("mock: ...": loads, unloads, refusals and failures).
 * Owned by h, valid until the next call on h.  Each line is also written
 * to stderr when the environment variable FV_MOCK_VERBOSE is set. */
const char *fv_mock_log(const fv_mock_host *h);

/* Checks the descriptor p as fieldvaultd does (ABI major equal and minor
 * not newer, a valid name, known kinds each with its callbacks, every key
 * of the section in p->config_keys), then calls p->init (if any) with the
 * plugin's fv_host and puts its state in *state (NULL without init).
 * -1 when refused (the reason is logged) or init failed.  Every plugin
 * loaded with h gets h's section: use a mock host per plugin when they
 * have settings. */
int fv_mock_load(fv_mock_host *h, const struct fv_plugin *p, void **state);
/* Calls p->fini(state), if any. */
void fv_mock_unload(fv_mock_host *h, const struct fv_plugin *p, void *state);

/* Runs an export with the exporter p, as "fieldvault export" does:
 * export_begin, export_record for each record of records_jsonl, and
 * export_end (complete is 0 if a record failed; end is not called when
 * begin failed).  options are the run's options (fv_export_option):
 * "name", "value", ..., NULL, or NULL for none; "type" is "appeal" unless
 * given.  What the plugin writes goes to out as it is made.  -1 if a
 * record line is not a record, a callback returned -1 or the output
 * failed (out may then hold part of the export). */
int fv_mock_export(fv_mock_host *h, const struct fv_plugin *p, void *state,
    const char *const *options, const char *records_jsonl, FILE *out);

/* Calls the hook p for each record of records_jsonl, in order, as a
 * change of kind change, with the plugin's fv_host; for FV_CHANGE_DELETE
 * the record is cut to its id and type, as the daemon passes a deleted
 * record.  -1 if p is not a hook or a line is not a record. */
int fv_mock_hook(fv_mock_host *h, const struct fv_plugin *p, void *state,
    enum fv_change change, const char *records_jsonl);

/* The mock installation's Ed25519 key pair, as crypto_sign_keypair()
 * makes it (sk holds the seed, then pk): used by fv_exchange_self_key,
 * fv_exchange_sign and fv_exchange_open.  Copied (and wiped on free).  -1
 * if sk's public half is not pk. */
int fv_mock_set_keys(fv_mock_host *h, const uint8_t pk[32],
    const uint8_t sk[64]);
/* Adds a partner institution, as a [partner.NAME] section with
 * public_key pk would.  -1 if name is empty, longer than 64 bytes, or
 * already a partner. */
int fv_mock_add_partner(fv_mock_host *h, const char *name,
    const uint8_t pk[32]);

/* Runs exchange_send of p for partner (a name given to
 * fv_mock_add_partner) with the appeals of records_jsonl, redacted as the
 * daemon does.  On success *pkg (malloc'd: free() it) and *len get the
 * package.  On failure err (if not NULL) gets the reason: the plugin's
 * fv_exchange_refuse text, or the mock's. */
int fv_mock_exchange_send(fv_mock_host *h, const struct fv_plugin *p,
    void *state, const char *partner, const char *records_jsonl, uint8_t **pkg,
    size_t *len, char *err, size_t errlen);
/* Runs exchange_import of p on pkg[0..len).  On success *result
 * (malloc'd, NUL-terminated: free() it) gets one JSON line per thing the
 * plugin passed to the host, in order:
 *
 *	{"sender":NAME}				fv_exchange_sender, first
 *	{"appeal":{...},"ref":REF}		fv_exchange_add_appeal
 *	{"reply":{"id":ID,"ref":REF|null,"status":S,"outcome":T|null}}
 *						fv_exchange_add_reply
 *
 * the appeal as the daemon keeps it, before its schema check and
 * defaults: the fields that travel (applicant, concerns_country, category,
 * received_at, summary, tags), channel "partner", partner and partner_ref
 * (the daemon then stores a confidential applicant's absent name as
 * "(withheld)"; the mock shows it absent); an appeal with a ref already
 * added in this import is left out, as the daemon does.  The mock does
 * not check the appeal against the records' schema: the daemon does, and
 * refuses the package.
 *
 * The mock refuses (-1, logged) each call the daemon refuses: a sender
 * that is not a partner, adding before the sender is known, a ref not of
 * 1..200 printable ASCII bytes without space, an appeal that is not a
 * JSON object, an id not of 32 lowercase hex digits, a status that is not
 * an appeal status, an outcome not UTF-8 or over 1,000 characters, more
 * than 10,000 entries; and, stricter than the daemon, a second, other
 * sender.  The import fails (err gets why) on an empty package, when the
 * plugin returns -1, calls fv_exchange_refuse, names no sender, or
 * returns 0 after a call of its was refused (stricter than the daemon,
 * which would apply the rest: a plugin must stop at a refused call). */
int fv_mock_exchange_import(fv_mock_host *h, const struct fv_plugin *p,
    void *state, const uint8_t *pkg, size_t len, char **result, char *err,
    size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
