/*
 * token.h - the enrollment token (docs/protocol.md §5): what
 * `fieldvault device invite` prints at HQ and `fieldvault enroll` reads
 * on a field device.
 *
 *   "fv1." base64url-without-padding(
 *     u8 version(1) | token id[16] | secret[32] | u64 expires (Unix s) |
 *     HQ device id[16] | HQ Ed25519 public key[32] | u8 len | "host:port")
 *
 * The codec only parses and writes: whether the token is expired, known,
 * used, and whether its HQ id belongs to its HQ key is the enrollment's
 * business.
 *
 * The secret proves the right to enroll until the token is used or
 * expires.  Whoever holds a struct fv_token holds it: keep the struct in
 * fv_secmem memory and wipe it (sodium_memzero) after use; the same for
 * the token text.  These functions copy it only into the caller's memory
 * and wipe their own temporaries.
 */
#ifndef FV_TOKEN_H
#define FV_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "op.h"

#define FV_TOKEN_VERSION      1
#define FV_TOKEN_PREFIX	      "fv1."
#define FV_TOKEN_SECRET_BYTES 32
#define FV_TOKEN_ADDR_MAX     127 /* bytes of "host:port" */
#define FV_TOKEN_MAC_BYTES    32
/* Bytes of the binary token: 106 + the address. */
#define FV_TOKEN_BIN_MIN (1 + FV_ID_BYTES + 32 + 8 + FV_ID_BYTES + 32 + 1)
#define FV_TOKEN_BIN_MAX (FV_TOKEN_BIN_MIN + FV_TOKEN_ADDR_MAX)
/* Room for the longest token text and its NUL. */
#define FV_TOKEN_STR_MAX 316

struct fv_token {
	uint8_t token_id[FV_ID_BYTES];
	uint8_t secret[FV_TOKEN_SECRET_BYTES]; /* secret: wipe */
	uint64_t expires;		       /* Unix seconds */
	uint8_t hq_id[FV_ID_BYTES];
	uint8_t hq_pk[32];		  /* Ed25519 */
	char addr[FV_TOKEN_ADDR_MAX + 1]; /* "host:port" */
};

/*
 * Writes t as token text, NUL-terminated, into out (outlen bytes;
 * FV_TOKEN_STR_MAX is always enough).  The text holds the secret: the
 * caller wipes out.  Returns 0, FV_EINVAL (t->addr is not a valid
 * host:port, see fv_token_addr_ok()) or FV_ETOOBIG (out too small; out is
 * then wiped).
 */
int fv_token_encode(const struct fv_token *t, char *out, size_t outlen);

/*
 * Parses the NUL-terminated token text s into *t.  Strict: the exact
 * prefix "fv1.", canonical base64url without padding and nothing around
 * it (no white space: the caller trims a pasted token), version 1, the
 * exact length, an address that fv_token_addr_ok() accepts.  t->expires
 * is returned as given (the codec does not read the clock).  t receives
 * the secret (see above).  Returns 0 or FV_EINVAL (*t is then wiped).
 */
int fv_token_decode(const char *s, struct fv_token *t);

/*
 * 1 when a[0..n) is "host:port": port 1..65535 in decimal without leading
 * zeros; host a DNS name (labels of letters, digits and inner hyphens,
 * 1..63 bytes, dot-separated, no trailing dot), a dotted-quad IPv4
 * address, or an IPv6 address in brackets ("[::1]:7700").  n at most
 * FV_TOKEN_ADDR_MAX.
 */
int fv_token_addr_ok(const char *a, size_t n);

/* The enrollment MAC: BLAKE2b-256 keyed by secret over
 * "fieldvault enroll" | hh, hh the Noise handshake hash (64 bytes). */
void fv_token_mac(const uint8_t secret[FV_TOKEN_SECRET_BYTES],
    const uint8_t hh[64], uint8_t mac[FV_TOKEN_MAC_BYTES]);
/* Recomputes the MAC and compares in constant time: 0 or FV_ECRYPTO. */
int fv_token_mac_check(const uint8_t secret[FV_TOKEN_SECRET_BYTES],
    const uint8_t hh[64], const uint8_t mac[FV_TOKEN_MAC_BYTES]);

/* What HQ stores of the secret: BLAKE2b-256("fieldvault token" | secret). */
void fv_token_secret_hash(const uint8_t secret[FV_TOKEN_SECRET_BYTES],
    uint8_t out[32]);

#endif
