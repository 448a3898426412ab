/*
 * vault.h - the key hierarchy and the sealing of stored values.
 *
 *   passphrase --Argon2id--> KEK --unwraps--> master key (random, 32 bytes)
 *   master key --KDF--> tag key (keyed hash of record ids: LMDB keys)
 *              --KDF--> log key (deletes and tombstones: no content)
 *              --wraps--> the device's Ed25519 secret key
 *              --wraps--> each record's key (in the record key file)
 *   record key --seals--> the record's ops and state
 *
 * Sealing is XChaCha20-Poly1305 with a random nonce and the value's place
 * (table and LMDB key) as associated data, so a value moved to another key
 * fails to open.  Sealed form: nonce[24] || ciphertext || tag[16].
 */
#ifndef FV_VAULT_H
#define FV_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"

#define FV_KEY_BYTES 32
#define FV_SEAL_OVERHEAD \
	(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
	    crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define FV_SALT_BYTES crypto_pwhash_SALTBYTES
#define FV_PASS_MAX   1024 /* bytes of a passphrase */
#define FV_PASS_MIN   8

/* Argon2id parameters; never below libsodium's MODERATE. */
struct fv_kdf {
	uint8_t salt[FV_SALT_BYTES];
	uint64_t opslimit;
	uint64_t memlimit;
};

/* Fills k with a fresh salt and the default (MODERATE) limits. */
void fv_vault_kdf_new(struct fv_kdf *k);
/* Derives the KEK (32 bytes into kek, secret memory) from a passphrase.
 * Slow (about a second) and thread-safe.  Returns 0, FV_EINVAL (limits
 * below MODERATE: a tampered store) or FV_ENOMEM. */
int fv_vault_kdf_derive(const struct fv_kdf *k, const char *pass, size_t len,
    uint8_t *kek);

/* Reads a passphrase file into buf (FV_PASS_MAX + 1 bytes of secret
 * memory); one trailing newline (LF or CRLF) is not part of it.  Returns
 * 0, FV_EIO (errno says why) or FV_EINVAL (empty or over FV_PASS_MAX). */
int fv_vault_passfile_read(const char *path, uint8_t *buf, size_t *len);

/* Appends seal(key, ad, m) to out.  Returns 0 or FV_ENOMEM. */
int fv_vault_seal(const uint8_t *key, const void *ad, size_t adlen,
    const void *m, size_t mlen, struct fv_buf *out);
/* Opens a sealed value c[0..clen) into out (appended).  Returns 0,
 * FV_ECRYPTO (wrong key, moved or tampered) or FV_ENOMEM. */
int fv_vault_open(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, struct fv_buf *out);
/* The same into out, which has room for clen - FV_SEAL_OVERHEAD bytes. */
int fv_vault_open_to(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, uint8_t *out);
/* The same for a fixed-size secret: m and out are secret memory. */
int fv_vault_seal_key(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *m, size_t mlen, uint8_t *out /* mlen+OVERHEAD */);
int fv_vault_open_key(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, uint8_t *out /* clen-OVERHEAD */);

#endif
