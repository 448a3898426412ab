#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fv_error.h"
#include "vault.h"

#define NONCE  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

void
fv_vault_kdf_new(struct fv_kdf *k)
{
	randombytes_buf(k->salt, sizeof(k->salt));
	k->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
	k->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
}

int
fv_vault_kdf_derive(const struct fv_kdf *k, const char *pass, size_t len,
    uint8_t *kek)
{
	/* Limits come from the store's meta: refuse a store that was edited
	 * to make guessing cheap, and bound what an edit can make us spend. */
	if (k->opslimit < crypto_pwhash_OPSLIMIT_MODERATE ||
	    k->memlimit < crypto_pwhash_MEMLIMIT_MODERATE ||
	    k->opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    k->memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE || len > FV_PASS_MAX)
		return FV_EINVAL;
	if (crypto_pwhash(kek, FV_KEY_BYTES, pass, len, k->salt, k->opslimit,
		(size_t)k->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return FV_ENOMEM;
	return 0;
}

int
fv_vault_passfile_read(const char *path, uint8_t *buf, size_t *len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return FV_EIO;
	while (got <= FV_PASS_MAX &&
	    (n = read(fd, buf + got, FV_PASS_MAX + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	if (got == 0 || got > FV_PASS_MAX)
		return FV_EINVAL;
	*len = got;
	return 0;
}

/*
 * A fresh random nonce.  Sealing 100,000 records draws 300,000 nonces, and
 * libsodium's default source makes a getrandom() system call for each:
 * a tenth of what a sync costs HQ.  Nonces are public; each thread draws
 * them from its own pool of 4 KiB, the ChaCha20 stream
 * (randombytes_buf_deterministic) of a fresh 32-byte seed from the system
 * source, each nonce wiped from the pool as it is taken.  Keys still come
 * straight from randombytes_buf().
 */
#define NONCE_POOL 4096
static __thread uint8_t nonce_pool[NONCE_POOL];
static __thread size_t nonce_left;

static void
fv_nonce(uint8_t *out)
{
	uint8_t seed[randombytes_SEEDBYTES];

	if (nonce_left < NONCE) {
		randombytes_buf(seed, sizeof(seed));
		randombytes_buf_deterministic(nonce_pool, NONCE_POOL, seed);
		sodium_memzero(seed, sizeof(seed));
		nonce_left = NONCE_POOL;
	}
	nonce_left -= NONCE;
	memcpy(out, nonce_pool + nonce_left, NONCE);
	sodium_memzero(nonce_pool + nonce_left, NONCE);
}

int
fv_vault_seal(const uint8_t *key, const void *ad, size_t adlen, const void *m,
    size_t mlen, struct fv_buf *out)
{
	uint8_t *p;
	unsigned long long clen;

	if (fv_buf_reserve(out, NONCE + mlen + ABYTES) != 0)
		return FV_ENOMEM;
	p = out->p + out->len;
	fv_nonce(p);
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + NONCE, &clen, m, mlen,
	    ad, adlen, NULL, p, key);
	out->len += NONCE + (size_t)clen;
	return 0;
}

int
fv_vault_open(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, struct fv_buf *out)
{
	int rc;

	if (clen < NONCE + ABYTES)
		return FV_ECRYPTO;
	if (fv_buf_reserve(out, clen - NONCE - ABYTES) != 0)
		return FV_ENOMEM;
	if ((rc = fv_vault_open_to(key, ad, adlen, c, clen,
		 out->p + out->len)) == 0)
		out->len += clen - NONCE - ABYTES;
	return rc;
}

int
fv_vault_open_to(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, uint8_t *out)
{
	if (clen < NONCE + ABYTES ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
		c + NONCE, clen - NONCE, ad, adlen, c, key) != 0)
		return FV_ECRYPTO;
	return 0;
}

int
fv_vault_seal_key(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *m, size_t mlen, uint8_t *out)
{
	fv_nonce(out);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, NULL, m, mlen,
	    ad, adlen, NULL, out, key);
	return 0;
}

int
fv_vault_open_key(const uint8_t *key, const void *ad, size_t adlen,
    const uint8_t *c, size_t clen, uint8_t *out)
{
	if (clen < NONCE + ABYTES)
		return FV_ECRYPTO;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
		c + NONCE, clen - NONCE, ad, adlen, c, key) != 0)
		return FV_ECRYPTO;
	return 0;
}
