/*
 * ombx_format.h - the ombx partner exchange package (docs/exchange-format.md)
 * without the SDK: its two binary layers and its JSON payload, so that the
 * unit tests and the fuzz harness drive the very code the plugin runs.
 *
 *   package  "OMBX" | version 1 | recipient hint (8) | sealed length (u32)
 *            | sealed box
 *   sealed   crypto_box_seal, to the X25519 form of the recipient's key, of
 *   inner    sender's Ed25519 key (32) | signature (64) | payload
 *   signed   "fieldvault exchange v1\0" | recipient's Ed25519 key | payload
 *   payload  UTF-8 JSON: {"format":"ombx","version":1,...,"entries":[...]}
 *
 * Secret keys never come here: signing and opening the seal are callbacks
 * (in the plugin, fv_exchange_sign and fv_exchange_open).  Only public-key
 * libsodium calls are made here.
 *
 * Every function that refuses writes a reason for a person into why
 * (OMBX_WHY_MAX bytes): the cause and where (an entry's number, a field's
 * name), never what a record holds.  Buffers here are malloc'd and wiped
 * before they are freed (ombx_buf_free): this file is linked into tests and
 * fuzzers without the SDK's fv_alloc.
 */
#ifndef OMBX_FORMAT_H
#define OMBX_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define OMBX_MAGIC	"OMBX"
#define OMBX_MAGIC_LEN	4
#define OMBX_VERSION	1
#define OMBX_KEY_BYTES	32 /* an Ed25519 public key */
#define OMBX_SIG_BYTES	64 /* an Ed25519 signature */
#define OMBX_HINT_BYTES 8
#define OMBX_SEAL_BYTES 48 /* crypto_box_SEALBYTES */
/* magic 4, version 1, hint 8, sealed length 4 */
#define OMBX_OUTER_HDR	    17
#define OMBX_HINT_OFF	    5
#define OMBX_SEALED_LEN_OFF 13
/* sender's key 32, signature 64 */
#define OMBX_INNER_HDR 96
/* the signature's context, with its NUL (FV_EXCHANGE_SIG_CONTEXT) */
#define OMBX_SIG_CONTEXT     "fieldvault exchange v1"
#define OMBX_SIG_CONTEXT_LEN 23

#define OMBX_PKG_MAX	 (64u * 1024 * 1024)
#define OMBX_PAYLOAD_MIN 2 /* "{}" */
#define OMBX_PAYLOAD_MAX \
	(OMBX_PKG_MAX - OMBX_OUTER_HDR - OMBX_SEAL_BYTES - OMBX_INNER_HDR)
#define OMBX_SEALED_MIN	 (OMBX_SEAL_BYTES + OMBX_INNER_HDR + OMBX_PAYLOAD_MIN)
#define OMBX_ENTRIES_MAX 10000
#define OMBX_REF_MAX	 200   /* bytes of printable ASCII */
#define OMBX_SENDER_MAX	 200   /* characters */
#define OMBX_OUTCOME_MAX 1000  /* characters */
#define OMBX_SUMMARY_MAX 65536 /* bytes */
#define OMBX_NAME_MAX	 200   /* characters */
#define OMBX_TEXT_MAX	 1000  /* characters */
#define OMBX_TAGS_MAX	 64
#define OMBX_TAG_MAX	 100 /* characters */
#define OMBX_ID_HEX	 32  /* package_id, a fieldvault id */
#define OMBX_FPR_LEN	 39  /* "xxxx xxxx ... xxxx" */

#define OMBX_WHY_MAX 256

/* Signs OMBX_SIG_CONTEXT (with its NUL) followed by msg[0..len) with the
 * sender's key: 0, or -1. */
typedef int (*ombx_sign_fn)(void *arg, const uint8_t *msg, size_t len,
    uint8_t sig[OMBX_SIG_BYTES]);
/* Opens sealed[0..len) with the recipient's key into out (len -
 * OMBX_SEAL_BYTES bytes): 0, or -1. */
typedef int (*ombx_open_fn)(void *arg, const uint8_t *sealed, size_t len,
    uint8_t *out);

/* Wipes p[0..len) and frees it (free(3)); NULL is a no-op. */
void ombx_buf_free(void *p, size_t len);

/* --- keys ----------------------------------------------------------------- */

/* The recipient hint: the first 8 bytes of BLAKE2b-256(pk). */
void ombx_hint(const uint8_t pk[OMBX_KEY_BYTES], uint8_t hint[OMBX_HINT_BYTES]);
/* The fingerprint fieldvault keys show prints: the first 16 bytes of
 * BLAKE2b-256(pk) in hex, in 8 groups of 4 separated by spaces. */
void ombx_fingerprint(const uint8_t pk[OMBX_KEY_BYTES],
    char out[OMBX_FPR_LEN + 1]);

/* --- the binary layers ---------------------------------------------------- */

struct ombx_outer {
	uint8_t hint[OMBX_HINT_BYTES];
	const uint8_t *sealed; /* inside the package */
	size_t sealed_len;     /* OMBX_SEALED_MIN.. */
};

/* Reads the clear layer of pkg[0..len), a package for the holder of
 * self_pk: 0 and *o, or -1 with why (and *o zeroed). */
int ombx_outer_parse(const uint8_t *pkg, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], struct ombx_outer *o,
    char why[OMBX_WHY_MAX]);

struct ombx_inner {
	uint8_t sender_pk[OMBX_KEY_BYTES];
	const uint8_t *payload; /* inside the buffer given */
	size_t payload_len;
};

/* Checks the opened layer plain[0..len) of a package for self_pk: its
 * signature by the sender's key it holds, over the context, self_pk and
 * the payload.  The check is made in place: the first OMBX_INNER_HDR bytes
 * of plain are overwritten (the key is copied into *in first), so that a
 * payload of up to 64 MiB needs no second copy.  0 and *in, or -1 with
 * why (and *in zeroed). */
int ombx_inner_open(uint8_t *plain, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], struct ombx_inner *in,
    char why[OMBX_WHY_MAX]);

/* A whole package of payload[0..plen) from spk to rpk, signed with sign:
 * 0 and *pkg (malloc'd; ombx_buf_free(*pkg, *len)), or -1 with why. */
int ombx_package_build(const uint8_t *payload, size_t plen,
    const uint8_t spk[OMBX_KEY_BYTES], const uint8_t rpk[OMBX_KEY_BYTES],
    ombx_sign_fn sign, void *arg, uint8_t **pkg, size_t *len,
    char why[OMBX_WHY_MAX]);

struct ombx_opened {
	uint8_t *plain; /* the opened seal */
	size_t plain_len;
	struct ombx_inner in; /* its payload is in plain */
};

/* Both layers of pkg[0..len) for self_pk, the seal opened with open: 0 and
 * *o (ombx_opened_free it), or -1 with why and nothing to free. */
int ombx_package_open(const uint8_t *pkg, size_t len,
    const uint8_t self_pk[OMBX_KEY_BYTES], ombx_open_fn open, void *arg,
    struct ombx_opened *o, char why[OMBX_WHY_MAX]);
/* Wipes and frees what ombx_package_open made. */
void ombx_opened_free(struct ombx_opened *o);

/* --- the payload ---------------------------------------------------------- */

enum ombx_kind {
	OMBX_APPEAL = 1, /* an appeal the sender passes to us */
	OMBX_REPLY = 2	 /* the sender's answer on one we sent */
};

struct ombx_entry {
	enum ombx_kind kind;
	const char *ref;     /* the sender's reference */
	const char *id;	     /* reply: our reference */
	const char *status;  /* reply: an appeal status */
	const char *outcome; /* reply: text, or NULL */
	json_t *appeal;	     /* appeal: the object, in root */
};

/* A parsed payload; its strings and objects live in root. */
struct ombx_payload {
	json_t *root;
	const char *package_id, *created_at, *sender;
	struct ombx_entry *e;
	size_t n, nappeals, nreplies;
};

/* Parses and validates all of p[0..len): 0 and *pl (ombx_payload_free
 * it), or -1 with why (and *pl zeroed).  Nothing is accepted in part. */
int ombx_payload_parse(const uint8_t *p, size_t len, struct ombx_payload *pl,
    char why[OMBX_WHY_MAX]);
void ombx_payload_free(struct ombx_payload *pl);

/* A new payload's root, with no entries yet; NULL when out of memory. */
json_t *ombx_payload_new(const char *package_id, const char *created_at,
    const char *sender);
/* Adds the entry for the record rec (an object as fieldvault returns a
 * record) to a package for partner: a reply when rec is an appeal that
 * came from partner (channel "partner", partner, partner_ref), else an
 * appeal with only the fields that travel, without the identifying fields
 * of a confidential applicant.  0, or -1 with why. */
int ombx_payload_add_record(json_t *root, const json_t *rec,
    const char *partner, char why[OMBX_WHY_MAX]);
/* The payload's text (compact UTF-8 JSON): 0 and *out (malloc'd;
 * ombx_buf_free(*out, *len)), or -1 with why. */
int ombx_payload_dump(const json_t *root, uint8_t **out, size_t *len,
    char why[OMBX_WHY_MAX]);

#endif
