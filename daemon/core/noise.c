/*
 * noise.c - Noise handshakes and transport (Noise revision 34, §5 and §7)
 * with DH = X25519, cipher = ChaChaPoly (IETF), hash = BLAKE2b-512.
 *
 * Everything is libsodium's: crypto_scalarmult, the IETF ChaCha20-Poly1305
 * AEAD and crypto_generichash_blake2b.  Only HMAC (RFC 2104) and Noise's
 * HKDF are put together here, because libsodium's keyed BLAKE2b is not
 * HMAC and the Noise spec fixes HMAC.
 *
 * A pattern is a table of tokens per message plus which statics are
 * pre-messages; one interpreter writes and reads them all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fv_error.h"
#include "noise.h"
#include "secmem.h"

#define DHLEN	 32
#define KEYLEN	 32
#define TAGLEN	 16
#define HASHLEN	 64
#define BLOCKLEN 128
/* The nonce 2^64-1 is reserved (rekey uses it): a cipher state whose
 * counter reaches it is spent. */
#define NONCE_SPENT UINT64_MAX

enum tok {
	T_END,
	T_E,
	T_S,
	T_EE,
	T_ES,
	T_SE,
	T_SS
};

#define PRE_I 0x1 /* the initiator's static is a pre-message */
#define PRE_R 0x2 /* the responder's static is a pre-message */
#define MSGS  3
#define TOKS  5 /* per message, including T_END */

struct pattern {
	const char *name;
	uint8_t pre;
	uint8_t nmsg;
	uint8_t tok[MSGS][TOKS];
};

static const struct pattern patterns[] = {
	[FV_NOISE_NN] = { "Noise_NN_25519_ChaChaPoly_BLAKE2b", 0, 2,
	    { { T_E }, { T_E, T_EE } } },
	[FV_NOISE_KK] = { "Noise_KK_25519_ChaChaPoly_BLAKE2b", PRE_I | PRE_R, 2,
	    { { T_E, T_ES, T_SS }, { T_E, T_EE, T_SE } } },
	[FV_NOISE_IK] = { "Noise_IK_25519_ChaChaPoly_BLAKE2b", PRE_R, 2,
	    { { T_E, T_ES, T_S, T_SS }, { T_E, T_EE, T_SE } } },
	[FV_NOISE_XX] = { "Noise_XX_25519_ChaChaPoly_BLAKE2b", 0, 3,
	    { { T_E }, { T_E, T_EE, T_S, T_ES }, { T_S, T_SE } } },
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

/*
 * The handshake's secrets and the scratch space that holds secret
 * intermediates, in one fv_secmem block.  The BLAKE2b state comes first:
 * it needs 64-byte alignment, which secmem blocks have (checked at new).
 */
struct hs_secret {
	crypto_generichash_blake2b_state st;
	uint8_t ck[HASHLEN]; /* chaining key */
	uint8_t tk[HASHLEN]; /* HKDF temp_key */
	uint8_t o1[HASHLEN]; /* HKDF outputs */
	uint8_t o2[HASHLEN];
	uint8_t pad[BLOCKLEN];	/* HMAC key ^ ipad, then ^ opad */
	uint8_t inner[HASHLEN]; /* HMAC inner hash */
	uint8_t k[KEYLEN];	/* handshake cipher key */
	uint8_t s[DHLEN];	/* our static private key */
	uint8_t e[DHLEN];	/* our ephemeral private key */
	uint8_t dh[DHLEN];	/* the last DH output */
};

struct fv_noise_hs {
	const struct pattern *pat;
	int initiator;
	int msg;  /* next message of the pattern */
	int dead; /* an error ended it */
	int has_k;
	int has_rs;
	uint64_t n;
	uint8_t h[HASHLEN];
	uint8_t s_pub[DHLEN];
	uint8_t e_pub[DHLEN];
	uint8_t rs[DHLEN];
	uint8_t re[DHLEN];
	struct hs_secret *sec; /* NULL once split or dead */
};

struct cs_secret {
	uint8_t k[2][KEYLEN]; /* indexed by enum fv_noise_dir */
	uint8_t tmp[KEYLEN];  /* rekey output */
	uint8_t mac[TAGLEN];
};

struct fv_noise_cs {
	uint64_t n[2];
	struct cs_secret *sec;
};

/* Noise's ChaChaPoly nonce: 32 zero bits, then n little-endian. */
static void
nonce_encode(uint8_t nb[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
    uint64_t n)
{
	int i;

	memset(nb, 0, 4);
	for (i = 0; i < 8; i++)
		nb[4 + i] = (uint8_t)(n >> (8 * i));
}

/* CipherState EncryptWithAd: out gets len + TAGLEN bytes. */
static int
cs_encrypt(const uint8_t *k, uint64_t *n, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nb[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (*n == NONCE_SPENT)
		return FV_ETOOBIG;
	nonce_encode(nb, *n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, adlen,
	    NULL, nb, k);
	(*n)++;
	return 0;
}

/* CipherState DecryptWithAd: len >= TAGLEN; the nonce advances only on
 * success. */
static int
cs_decrypt(const uint8_t *k, uint64_t *n, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t nb[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (*n == NONCE_SPENT)
		return FV_ETOOBIG;
	nonce_encode(nb, *n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len,
		ad, adlen, nb, k) != 0) {
		if (out != NULL && len > TAGLEN)
			sodium_memzero(out, len - TAGLEN);
		return FV_ECRYPTO;
	}
	(*n)++;
	return 0;
}

/* Noise §4.2 REKEY: k = the first 32 bytes of ENCRYPT(k, 2^64-1, "",
 * zeros[32]), i.e. the ciphertext without its tag. */
static void
cs_rekey(uint8_t *k, uint8_t *tmp, uint8_t *mac)
{
	static const uint8_t zeros[KEYLEN];
	uint8_t nb[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	nonce_encode(nb, UINT64_MAX);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(tmp, mac, NULL,
	    zeros, sizeof(zeros), NULL, 0, NULL, nb, k);
	memcpy(k, tmp, KEYLEN);
	sodium_memzero(tmp, KEYLEN);
	sodium_memzero(mac, TAGLEN);
}

/*
 * HMAC-BLAKE2b (RFC 2104, B = 128, L = 64) of d1 || d2 under key
 * (keylen <= HASHLEN, so never hashed first) into out[HASHLEN].
 * out may be key or d1: both are consumed before out is written.
 */
static void
hmac(struct hs_secret *x, const uint8_t *key, size_t keylen, const uint8_t *d1,
    size_t l1, const uint8_t *d2, size_t l2, uint8_t *out)
{
	size_t i;

	memset(x->pad, 0, BLOCKLEN);
	memcpy(x->pad, key, keylen);
	for (i = 0; i < BLOCKLEN; i++)
		x->pad[i] ^= 0x36;
	crypto_generichash_blake2b_init(&x->st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&x->st, x->pad, BLOCKLEN);
	crypto_generichash_blake2b_update(&x->st, d1, l1);
	crypto_generichash_blake2b_update(&x->st, d2, l2);
	crypto_generichash_blake2b_final(&x->st, x->inner, HASHLEN);
	for (i = 0; i < BLOCKLEN; i++)
		x->pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_blake2b_init(&x->st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&x->st, x->pad, BLOCKLEN);
	crypto_generichash_blake2b_update(&x->st, x->inner, HASHLEN);
	crypto_generichash_blake2b_final(&x->st, out, HASHLEN);
	sodium_memzero(x->pad, BLOCKLEN);
	sodium_memzero(x->inner, HASHLEN);
	sodium_memzero(&x->st, sizeof(x->st));
}

/* Noise §4.3 HKDF(ck, ikm, 2) into x->o1, x->o2 (the caller wipes them). */
static void
hkdf2(struct hs_secret *x, const uint8_t *ikm, size_t ikmlen)
{
	static const uint8_t one = 0x01, two = 0x02;

	hmac(x, x->ck, HASHLEN, ikm, ikmlen, NULL, 0, x->tk);
	hmac(x, x->tk, HASHLEN, &one, 1, NULL, 0, x->o1);
	hmac(x, x->tk, HASHLEN, x->o1, HASHLEN, &two, 1, x->o2);
	sodium_memzero(x->tk, HASHLEN);
}

/* SymmetricState MixHash: h = HASH(h || data).  Nothing here is secret. */
static void
mix_hash(struct fv_noise_hs *hs, const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, hs->h, HASHLEN);
	crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, hs->h, HASHLEN);
}

/* SymmetricState MixKey with the DH output in sec->dh. */
static void
mix_key(struct fv_noise_hs *hs)
{
	struct hs_secret *x = hs->sec;

	hkdf2(x, x->dh, DHLEN);
	memcpy(x->ck, x->o1, HASHLEN);
	memcpy(x->k, x->o2, KEYLEN); /* HASHLEN 64: truncate to 32 */
	sodium_memzero(x->o1, HASHLEN);
	sodium_memzero(x->o2, HASHLEN);
	sodium_memzero(x->dh, DHLEN);
	hs->has_k = 1;
	hs->n = 0;
}

/* EncryptAndHash: out gets len (+ TAGLEN once there is a key) bytes. */
static int
encrypt_and_hash(struct fv_noise_hs *hs, const uint8_t *pt, size_t len,
    uint8_t *out, size_t *outlen)
{
	int rc;

	if (hs->has_k) {
		if ((rc = cs_encrypt(hs->sec->k, &hs->n, hs->h, HASHLEN, pt,
			 len, out)) != 0)
			return rc;
		len += TAGLEN;
	} else if (len > 0) /* no key yet: in clear */
		memcpy(out, pt, len);
	mix_hash(hs, out, len);
	*outlen = len;
	return 0;
}

/* DecryptAndHash of len bytes (>= TAGLEN once there is a key). */
static int
decrypt_and_hash(struct fv_noise_hs *hs, const uint8_t *ct, size_t len,
    uint8_t *out)
{
	int rc;

	if (hs->has_k) {
		if ((rc = cs_decrypt(hs->sec->k, &hs->n, hs->h, HASHLEN, ct,
			 len, out)) != 0)
			return rc;
	} else if (len > 0)
		memcpy(out, ct, len);
	mix_hash(hs, ct, len);
	return 0;
}

/* Performs the DH a token names, from our side, and mixes it in.  A
 * low-order peer key gives an all-zero output, which libsodium refuses. */
static int
mix_dh(struct fv_noise_hs *hs, int tok)
{
	struct hs_secret *x = hs->sec;
	/* A token names the initiator's key, then the responder's. */
	int ie = tok == T_EE || tok == T_ES, re = tok == T_EE || tok == T_SE;
	int mine_e = hs->initiator ? ie : re,
	    theirs_e = hs->initiator ? re : ie;

	if (crypto_scalarmult(x->dh, mine_e ? x->e : x->s,
		theirs_e ? hs->re : hs->rs) != 0) {
		sodium_memzero(x->dh, DHLEN);
		return FV_ECRYPTO;
	}
	mix_key(hs);
	return 0;
}

/* Bytes of message m beyond its payload, given whether a key is set when
 * it starts: ephemerals, statics (+ tag once keyed), the payload's tag. */
static size_t
msg_overhead(const struct pattern *p, int m, int has_k)
{
	const uint8_t *t;
	size_t len = 0;

	for (t = p->tok[m]; *t != T_END; t++) {
		if (*t == T_E)
			len += DHLEN;
		else if (*t == T_S)
			len += DHLEN + (has_k ? TAGLEN : 0);
		else
			has_k = 1;
	}
	return len + (has_k ? TAGLEN : 0);
}

/* Does this side of the pattern need its own static key? */
static int
uses_s(const struct pattern *p, int initiator)
{
	const uint8_t *t;
	int m;

	if (p->pre & (initiator ? PRE_I : PRE_R))
		return 1;
	for (m = 0; m < p->nmsg; m++)
		for (t = p->tok[m]; *t != T_END; t++)
			if ((*t == T_S && (m % 2 == 0) == initiator) ||
			    *t == T_SS || *t == (initiator ? T_SE : T_ES))
				return 1;
	return 0;
}

/*
 * Runs the tokens of the current message: writing (out != NULL) appends to
 * out; reading consumes in, which the caller checked is at least
 * msg_overhead() long.  *off advances past the tokens.
 */
static int
tokens(struct fv_noise_hs *hs, uint8_t *out, const uint8_t *in, size_t *off)
{
	const uint8_t *t;
	size_t n = 0;
	int rc = 0;

	for (t = hs->pat->tok[hs->msg]; *t != T_END && rc == 0; t++) {
		if (*t == T_E) {
			if (out != NULL)
				memcpy(out + *off, hs->e_pub, DHLEN);
			else
				memcpy(hs->re, in + *off, DHLEN);
			mix_hash(hs, out != NULL ? hs->e_pub : hs->re, DHLEN);
			*off += DHLEN;
		} else if (*t == T_S && out != NULL) {
			rc = encrypt_and_hash(hs, hs->s_pub, DHLEN, out + *off,
			    &n);
			*off += n;
		} else if (*t == T_S) {
			n = DHLEN + (hs->has_k ? TAGLEN : 0);
			if ((rc = decrypt_and_hash(hs, in + *off, n, hs->rs)) ==
			    0)
				hs->has_rs = 1;
			*off += n;
		} else
			rc = mix_dh(hs, *t);
	}
	return rc;
}

/* Wipes the secrets of a handshake that failed; it refuses everything
 * from now on. */
static int
hs_kill(struct fv_noise_hs *hs, int rc)
{
	fv_secmem_free(hs->sec);
	hs->sec = NULL;
	hs->dead = 1;
	return rc;
}

/* Our turn to write (mine != 0) or read, in a live handshake? */
static int
hs_turn(const struct fv_noise_hs *hs, int mine)
{
	return hs->sec != NULL && !hs->dead && hs->msg < hs->pat->nmsg &&
	    ((hs->msg % 2 == 0) == hs->initiator) == (mine != 0);
}

const char *
fv_noise_protocol_name(enum fv_noise_pattern p)
{
	if ((size_t)p >= NPATTERNS)
		return NULL;
	return patterns[p].name;
}

int
fv_noise_hs_new(enum fv_noise_pattern p, int initiator, const uint8_t *prologue,
    size_t plen, const uint8_t *s_priv, const uint8_t *rs_pub,
    const uint8_t *e_priv_fixed, struct fv_noise_hs **out)
{
	const struct pattern *pat;
	struct fv_noise_hs *hs;
	struct hs_secret *x;
	int need_rs, rc;

	if (out == NULL)
		return FV_EINVAL;
	*out = NULL;
	if ((size_t)p >= NPATTERNS || (prologue == NULL && plen != 0) ||
	    plen > FV_NOISE_MSG_MAX)
		return FV_EINVAL;
	pat = &patterns[p];
	initiator = initiator != 0;
	need_rs = (pat->pre & (initiator ? PRE_R : PRE_I)) != 0;
	/* A key the pattern does not use is a caller's mistake (e.g. an rs
	 * for XX, expecting it to be enforced): refuse it. */
	if ((s_priv != NULL) != uses_s(pat, initiator) ||
	    (rs_pub != NULL) != need_rs)
		return FV_EINVAL;

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return FV_ENOMEM;
	hs->pat = pat;
	hs->initiator = initiator;
	if ((x = hs->sec = fv_secmem_alloc(sizeof(*x))) == NULL ||
	    (uintptr_t)x % 64 != 0) {
		rc = FV_ENOMEM;
		goto fail;
	}
	rc = FV_EINVAL;
	if (s_priv != NULL) {
		memcpy(x->s, s_priv, DHLEN);
		if (crypto_scalarmult_base(hs->s_pub, x->s) != 0)
			goto fail;
	}
	if (rs_pub != NULL) {
		memcpy(hs->rs, rs_pub, DHLEN);
		hs->has_rs = 1;
	}
	/* Every pattern here sends an ephemeral from each side: make ours
	 * now rather than at its token, it changes nothing on the wire. */
	if (e_priv_fixed != NULL) {
		memcpy(x->e, e_priv_fixed, DHLEN);
		if (crypto_scalarmult_base(hs->e_pub, x->e) != 0)
			goto fail;
	} else
		crypto_box_keypair(hs->e_pub, x->e);

	/* InitializeSymmetric (every name is under HASHLEN bytes: h is the
	 * name, zero-padded), the prologue, the pre-messages (initiator's
	 * first). */
	memcpy(hs->h, pat->name, strlen(pat->name));
	memcpy(x->ck, hs->h, HASHLEN);
	mix_hash(hs, prologue, plen);
	if (pat->pre & PRE_I)
		mix_hash(hs, initiator ? hs->s_pub : hs->rs, DHLEN);
	if (pat->pre & PRE_R)
		mix_hash(hs, initiator ? hs->rs : hs->s_pub, DHLEN);
	*out = hs;
	return 0;
fail:
	fv_noise_hs_free(hs);
	return rc;
}

int
fv_noise_hs_write(struct fv_noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t need, off = 0, n;
	int rc;

	if (outlen != NULL)
		*outlen = 0;
	if (hs == NULL || out == NULL || outlen == NULL ||
	    (payload == NULL && plen != 0) || !hs_turn(hs, 1))
		return FV_EINVAL;
	need = msg_overhead(hs->pat, hs->msg, hs->has_k);
	if (plen > FV_NOISE_MSG_MAX - need)
		return FV_ETOOBIG;
	if (need + plen > outcap)
		return FV_EINVAL;

	if ((rc = tokens(hs, out, NULL, &off)) != 0 ||
	    (rc = encrypt_and_hash(hs, payload, plen, out + off, &n)) != 0)
		return hs_kill(hs, rc);
	hs->msg++;
	*outlen = off + n;
	return 0;
}

int
fv_noise_hs_read(struct fv_noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t paycap, size_t *paylen)
{
	size_t need, off = 0, n;
	int rc;

	if (paylen != NULL)
		*paylen = 0;
	if (hs == NULL)
		return FV_EINVAL;
	if (paylen == NULL || (msg == NULL && mlen != 0) ||
	    (payload == NULL && paycap != 0) || !hs_turn(hs, 0))
		return hs_kill(hs, FV_EINVAL);
	if (mlen > FV_NOISE_MSG_MAX)
		return hs_kill(hs, FV_ETOOBIG);
	need = msg_overhead(hs->pat, hs->msg, hs->has_k);
	if (mlen < need || mlen - need > paycap)
		return hs_kill(hs, FV_EINVAL);

	/* From here every read is within need <= mlen. */
	if ((rc = tokens(hs, NULL, msg, &off)) != 0)
		return hs_kill(hs, rc);
	n = mlen - off;
	if ((rc = decrypt_and_hash(hs, msg + off, n, payload)) != 0)
		return hs_kill(hs, rc);
	hs->msg++;
	*paylen = n - (hs->has_k ? TAGLEN : 0);
	return 0;
}

int
fv_noise_hs_done(const struct fv_noise_hs *hs)
{
	return hs != NULL && !hs->dead && hs->msg == hs->pat->nmsg;
}

int
fv_noise_hs_split(struct fv_noise_hs *hs, struct fv_noise_cs **out)
{
	struct fv_noise_cs *cs;
	struct hs_secret *x;

	if (out == NULL)
		return FV_EINVAL;
	*out = NULL;
	if (!fv_noise_hs_done(hs) || hs->sec == NULL)
		return FV_EINVAL;
	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    (cs->sec = fv_secmem_alloc(sizeof(*cs->sec))) == NULL) {
		free(cs);
		return FV_ENOMEM;
	}
	x = hs->sec;
	hkdf2(x, NULL, 0);
	/* The initiator sends with the first key, the responder with the
	 * second. */
	memcpy(cs->sec->k[FV_NOISE_SEND], hs->initiator ? x->o1 : x->o2,
	    KEYLEN);
	memcpy(cs->sec->k[FV_NOISE_RECV], hs->initiator ? x->o2 : x->o1,
	    KEYLEN);
	fv_secmem_free(hs->sec); /* wipes ck, k, s, e and o1, o2 */
	hs->sec = NULL;
	*out = cs;
	return 0;
}

void
fv_noise_hs_hash(const struct fv_noise_hs *hs, uint8_t h[FV_NOISE_HASH_BYTES])
{
	memcpy(h, hs->h, HASHLEN);
}

int
fv_noise_hs_remote_static(const struct fv_noise_hs *hs,
    uint8_t rs[FV_NOISE_KEY_BYTES])
{
	if (hs == NULL || !hs->has_rs)
		return FV_ENOTFOUND;
	memcpy(rs, hs->rs, DHLEN);
	return 0;
}

void
fv_noise_hs_free(struct fv_noise_hs *hs)
{
	if (hs == NULL)
		return;
	fv_secmem_free(hs->sec);
	sodium_memzero(hs, sizeof(*hs));
	free(hs);
}

int
fv_noise_encrypt(struct fv_noise_cs *cs, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out)
{
	if (cs == NULL || out == NULL || (ad == NULL && adlen != 0) ||
	    (pt == NULL && len != 0))
		return FV_EINVAL;
	if (len > FV_NOISE_PAYLOAD_MAX)
		return FV_ETOOBIG;
	return cs_encrypt(cs->sec->k[FV_NOISE_SEND], &cs->n[FV_NOISE_SEND], ad,
	    adlen, pt, len, out);
}

int
fv_noise_decrypt(struct fv_noise_cs *cs, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out)
{
	if (cs == NULL || ct == NULL || (ad == NULL && adlen != 0) ||
	    (out == NULL && len > TAGLEN))
		return FV_EINVAL;
	if (len < TAGLEN || len > FV_NOISE_MSG_MAX)
		return len < TAGLEN ? FV_EINVAL : FV_ETOOBIG;
	return cs_decrypt(cs->sec->k[FV_NOISE_RECV], &cs->n[FV_NOISE_RECV], ad,
	    adlen, ct, len, out);
}

int
fv_noise_rekey(struct fv_noise_cs *cs, enum fv_noise_dir d)
{
	if (cs == NULL || (d != FV_NOISE_SEND && d != FV_NOISE_RECV))
		return FV_EINVAL;
	cs_rekey(cs->sec->k[d], cs->sec->tmp, cs->sec->mac);
	return 0;
}

uint64_t
fv_noise_nonce(const struct fv_noise_cs *cs, enum fv_noise_dir d)
{
	return cs->n[d == FV_NOISE_RECV];
}

int
fv_noise_set_nonce(struct fv_noise_cs *cs, enum fv_noise_dir d, uint64_t n)
{
	if (cs == NULL || (d != FV_NOISE_SEND && d != FV_NOISE_RECV) ||
	    n < cs->n[d])
		return FV_EINVAL;
	cs->n[d] = n;
	return 0;
}

void
fv_noise_cs_free(struct fv_noise_cs *cs)
{
	if (cs == NULL)
		return;
	fv_secmem_free(cs->sec);
	sodium_memzero(cs, sizeof(*cs));
	free(cs);
}
