/*
 * noise.h - the Noise Protocol Framework (revision 34) for the sync channel:
 * Noise_{NN,KK,IK,XX}_25519_ChaChaPoly_BLAKE2b, composed from libsodium.
 *
 * A handshake (struct fv_noise_hs) exchanges messages of at most
 * FV_NOISE_MSG_MAX bytes; once fv_noise_hs_done(), fv_noise_hs_split()
 * turns it into a transport (struct fv_noise_cs: a send and a receive
 * cipher state).  Framing (the 2-byte length), what goes in payloads and
 * which remote static keys to trust are the caller's business: XX learns
 * the peer's key during the handshake, so the caller must compare
 * fv_noise_hs_remote_static() with its pinned keys before trusting the
 * peer or anything it sent.
 *
 * Secrets (static and ephemeral private keys, the chaining key, the cipher
 * keys) live in one fv_secmem block per handshake and one per transport;
 * the _free functions (and fv_noise_hs_split(), for the handshake's keys)
 * wipe them.  Objects are not thread-safe: one thread at a time each.
 *
 * Errors: FV_EINVAL (bad argument, wrong turn, message shorter than its
 * pattern requires, unusable state), FV_ETOOBIG (a message above
 * FV_NOISE_MSG_MAX, nonce exhausted), FV_ECRYPTO (bad tag, or a DH with a
 * low-order peer key), FV_ENOMEM (secret memory exhausted).
 */
#ifndef FV_NOISE_H
#define FV_NOISE_H

#include <stddef.h>
#include <stdint.h>

enum fv_noise_pattern {
	FV_NOISE_NN,
	FV_NOISE_KK,
	FV_NOISE_IK,
	FV_NOISE_XX,
};

enum fv_noise_dir {
	FV_NOISE_SEND,
	FV_NOISE_RECV,
};

#define FV_NOISE_MSG_MAX    65535 /* bytes of any Noise message */
#define FV_NOISE_KEY_BYTES  32	  /* X25519 public or private key */
#define FV_NOISE_TAG_BYTES  16	  /* ChaChaPoly tag */
#define FV_NOISE_HASH_BYTES 64	  /* BLAKE2b: the handshake hash */
/* Largest transport payload: one message minus its tag. */
#define FV_NOISE_PAYLOAD_MAX (FV_NOISE_MSG_MAX - FV_NOISE_TAG_BYTES)

struct fv_noise_hs;
struct fv_noise_cs;

/* Returns "Noise_XX_25519_ChaChaPoly_BLAKE2b" etc. (static), or NULL for
 * an unknown pattern. */
const char *fv_noise_protocol_name(enum fv_noise_pattern p);

/*
 * Starts a handshake as initiator (initiator != 0) or responder.
 * prologue (plen <= FV_NOISE_MSG_MAX, may be NULL when plen is 0) must be
 * the same on both sides.  s_priv: our static private key, required
 * exactly when the pattern uses it (KK, IK, XX) and NULL otherwise.
 * rs_pub: the peer's static public key, required exactly when the pattern
 * has it before the handshake (KK both sides, IK initiator) and NULL
 * otherwise (XX learns it: check fv_noise_hs_remote_static()).
 * e_priv_fixed: NULL in production (a fresh ephemeral is generated); tests
 * pass a fixed ephemeral private key to reproduce vectors.
 * Keys are copied (private ones into secret memory): the caller keeps and
 * wipes its own copies.  *out is freed with fv_noise_hs_free().
 * Returns 0, FV_EINVAL or FV_ENOMEM.
 */
int fv_noise_hs_new(enum fv_noise_pattern p, int initiator,
    const uint8_t *prologue, size_t plen, const uint8_t *s_priv,
    const uint8_t *rs_pub, const uint8_t *e_priv_fixed,
    struct fv_noise_hs **out);

/*
 * Writes our next handshake message, carrying payload (plen bytes, may be
 * NULL when 0; encrypted once the pattern has a key), into out (outcap
 * bytes, not overlapping payload).  *outlen gets its length.
 * FV_EINVAL when it is not our turn, the handshake is done or dead, or out
 * is too small; FV_ETOOBIG when the message would exceed FV_NOISE_MSG_MAX.
 * Any error other than a refused argument kills the handshake.
 */
int fv_noise_hs_write(struct fv_noise_hs *hs, const uint8_t *payload,
    size_t plen, uint8_t *out, size_t outcap, size_t *outlen);

/*
 * Reads the peer's next handshake message msg (mlen bytes, from the
 * network: never read beyond mlen) and puts its payload into payload
 * (paycap bytes, not overlapping msg; may be NULL when paycap is 0).
 * *paylen gets its length.  FV_EINVAL when it is not the peer's turn, msg
 * is shorter than the pattern requires or payload is too small;
 * FV_ETOOBIG above FV_NOISE_MSG_MAX; FV_ECRYPTO on a bad tag or a
 * low-order key.  Any error kills the handshake: free it.
 */
int fv_noise_hs_read(struct fv_noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t paycap, size_t *paylen);

/* 1 when every message of the pattern has been written or read. */
int fv_noise_hs_done(const struct fv_noise_hs *hs);

/*
 * Once done, derives the transport keys (our send key is the peer's
 * receive key) into a new *out, freed with fv_noise_cs_free().  Wipes the
 * handshake's secrets: the handshake then only answers fv_noise_hs_hash()
 * and fv_noise_hs_remote_static(), and is still freed by the caller.
 * Returns 0, FV_EINVAL (not done, dead, or already split) or FV_ENOMEM.
 */
int fv_noise_hs_split(struct fv_noise_hs *hs, struct fv_noise_cs **out);

/* The handshake hash h (not secret): once done, the same on both sides and
 * unique to this session, for channel binding (e.g. an enrollment MAC). */
void fv_noise_hs_hash(const struct fv_noise_hs *hs,
    uint8_t h[FV_NOISE_HASH_BYTES]);

/* Copies the peer's static public key into rs: 0, or FV_ENOTFOUND while
 * it is not known (yet, or ever for NN).  Authenticated only once the
 * handshake is done. */
int fv_noise_hs_remote_static(const struct fv_noise_hs *hs,
    uint8_t rs[FV_NOISE_KEY_BYTES]);

/* Wipes and frees hs (NULL is a no-op). */
void fv_noise_hs_free(struct fv_noise_hs *hs);

/*
 * Encrypts pt (len <= FV_NOISE_PAYLOAD_MAX) with associated data ad into
 * out (len + FV_NOISE_TAG_BYTES bytes; out == pt is allowed, any other
 * overlap is not) under the send key and its next nonce.
 * Returns 0, FV_ETOOBIG (too long, or the 2^64-1 nonces are used up:
 * rekeying does not help, start a new handshake) or FV_EINVAL.
 */
int fv_noise_encrypt(struct fv_noise_cs *cs, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *out);

/*
 * Decrypts ct (FV_NOISE_TAG_BYTES <= len <= FV_NOISE_MSG_MAX) into out
 * (len - FV_NOISE_TAG_BYTES bytes; out == ct is allowed) under the receive
 * key and its next nonce.  Returns 0, FV_EINVAL (too short), FV_ETOOBIG,
 * or FV_ECRYPTO (bad tag: out is zeroed and the nonce does not advance).
 */
int fv_noise_decrypt(struct fv_noise_cs *cs, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, uint8_t *out);

/* Replaces the key of one direction by REKEY(k) (Noise §4.2; the nonce
 * goes on).  The peer must rekey the opposite direction at the same point
 * of the stream, so the protocol above signals it.  Returns 0. */
int fv_noise_rekey(struct fv_noise_cs *cs, enum fv_noise_dir d);

/* The next nonce of one direction: the number of messages so far. */
uint64_t fv_noise_nonce(const struct fv_noise_cs *cs, enum fv_noise_dir d);

/* Moves one direction's nonce forward to n (Noise SetNonce), e.g. for
 * tests of exhaustion.  Refuses to go backwards (a send nonce used twice
 * breaks ChaChaPoly): FV_EINVAL. */
int fv_noise_set_nonce(struct fv_noise_cs *cs, enum fv_noise_dir d, uint64_t n);

/* Wipes and frees cs (NULL is a no-op). */
void fv_noise_cs_free(struct fv_noise_cs *cs);

#endif
