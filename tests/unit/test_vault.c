/*
 * test_vault.c - the key hierarchy's primitives (vault.h): Argon2id at the
 * MODERATE limits (a known answer from the reference implementation),
 * sealing and opening values and keys, and the locked memory arena
 * (secmem.h).
 */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "fv_error.h"
#include "secmem.h"
#include "vault.h"
#include "tap.h"

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/*
 * Argon2id v1.3, t=3, m=256 MiB, p=1, 32 bytes: libsodium's MODERATE.
 * Expected value computed with the reference implementation (libargon2,
 * argon2id_hash_raw(3, 262144, 1, ...)), not with libsodium: it pins the
 * algorithm and the limits, so a store made today opens tomorrow.
 */
static const char KAT_PASS[] = "correct horse battery staple";
static const char KAT_KEK[] =
    "7c6991984f2b61a844aea3ddd2a836be30c5109debb37683b6ee3136e9cdb2d0";

static void
test_kdf(void)
{
	struct fv_kdf k, k2, bad;
	uint8_t *kek1, *kek2, *kek3;
	char hex[65];
	int i;

	fv_vault_kdf_new(&k);
	fv_vault_kdf_new(&k2);
	ok(k.opslimit == crypto_pwhash_OPSLIMIT_MODERATE &&
		k.memlimit == crypto_pwhash_MEMLIMIT_MODERATE,
	    "fv_vault_kdf_new: MODERATE limits");
	ok(memcmp(k.salt, k2.salt, FV_SALT_BYTES) != 0 &&
		!all_zero(k.salt, FV_SALT_BYTES),
	    "fv_vault_kdf_new: a fresh salt each "
	    "time");

	kek1 = fv_secmem_alloc(32);
	kek2 = fv_secmem_alloc(32);
	kek3 = fv_secmem_alloc(32);
	if (kek1 == NULL || kek2 == NULL || kek3 == NULL)
		abort();

	/* cheap refusals first: nothing is derived */
	bad = k;
	bad.opslimit = crypto_pwhash_OPSLIMIT_MODERATE - 1;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "opslimit below MODERATE refused");
	bad = k;
	bad.memlimit = crypto_pwhash_MEMLIMIT_MODERATE / 2;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "memlimit below MODERATE refused");
	bad = k;
	bad.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	bad.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "INTERACTIVE limits refused");
	bad = k;
	bad.opslimit = 0;
	bad.memlimit = 0;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "zero limits refused");
	bad = k;
	bad.opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE + 1;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "opslimit above SENSITIVE refused (bounded cost)");
	bad = k;
	bad.memlimit = (uint64_t)crypto_pwhash_MEMLIMIT_SENSITIVE * 2;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "memlimit above SENSITIVE refused (bounded cost)");
	bad = k;
	bad.memlimit = 0xffffffffffffffffULL;
	is_int(fv_vault_kdf_derive(&bad, KAT_PASS, strlen(KAT_PASS), kek3),
	    FV_EINVAL, "a 64-bit memlimit refused");
	{
		char *longpass = malloc(FV_PASS_MAX + 1);

		memset(longpass, 'p', FV_PASS_MAX + 1);
		is_int(fv_vault_kdf_derive(&k, longpass, FV_PASS_MAX + 1, kek3),
		    FV_EINVAL, "a passphrase over FV_PASS_MAX refused");
		free(longpass);
	}
	ok(all_zero(kek3, 32), "refusals write no key");

	/* the two MODERATE runs: the known answer, and another passphrase */
	for (i = 0; i < (int)FV_SALT_BYTES; i++)
		k.salt[i] = (uint8_t)(i * 17 + 3);
	is_int(fv_vault_kdf_derive(&k, KAT_PASS, strlen(KAT_PASS), kek1), 0,
	    "derive at MODERATE");
	sodium_bin2hex(hex, sizeof(hex), kek1, 32);
	is_str(hex, KAT_KEK,
	    "the KEK is Argon2id13(t=3, 256 MiB, p=1) of the "
	    "passphrase and salt (reference implementation's answer)");
	is_int(fv_vault_kdf_derive(&k, KAT_PASS, strlen(KAT_PASS) - 1, kek2), 0,
	    "derive for another passphrase (one byte shorter)");
	ok(memcmp(kek1, kek2, 32) != 0 && !all_zero(kek2, 32),
	    "another passphrase gives another KEK");

	fv_secmem_free(kek1);
	fv_secmem_free(kek2);
	fv_secmem_free(kek3);
}

static void
test_seal(void)
{
	uint8_t key[32], key2[32];
	static const char ad[] = "rec\x01\x02\x03";
	static const char msg[] = "Дилноза Эшматова: не выплачена зарплата";
	struct fv_buf c = { 0 }, c2 = { 0 }, m = { 0 };
	uint8_t *t;
	size_t i, n, bad, mlen = strlen(msg);
	int rc;

	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	crypto_aead_xchacha20poly1305_ietf_keygen(key2);

	is_int(fv_vault_seal(key, ad, sizeof(ad), msg, mlen, &c), 0, "seal");
	is_int(c.len, mlen + FV_SEAL_OVERHEAD, "sealed = nonce + text + tag");
	ok(memmem(c.p, c.len, "Эшматова", strlen("Эшматова")) == NULL,
	    "no plaintext in the sealed value");
	is_int(fv_vault_open(key, ad, sizeof(ad), c.p, c.len, &m), 0, "open");
	ok(m.len == mlen && memcmp(m.p, msg, mlen) == 0, "round trip");
	fv_vault_seal(key, ad, sizeof(ad), msg, mlen, &c2);
	ok(c2.len == c.len && memcmp(c.p, c2.p, c.len) != 0 &&
		memcmp(c.p, c2.p, 24) != 0,
	    "sealing twice: fresh nonce, "
	    "different ciphertext");

	/* appending */
	m.len = 0;
	fv_buf_put(&m, "head", 4);
	is_int(fv_vault_open(key, ad, sizeof(ad), c.p, c.len, &m), 0,
	    "open after existing bytes");
	ok(m.len == 4 + mlen && memcmp(m.p, "head", 4) == 0 &&
		memcmp(m.p + 4, msg, mlen) == 0,
	    "open appends");
	c2.len = 0;
	fv_buf_put(&c2, "HD", 2);
	fv_vault_seal(key, NULL, 0, msg, mlen, &c2);
	is_int(c2.len, 2 + mlen + FV_SEAL_OVERHEAD, "seal appends");
	m.len = 0;
	is_int(fv_vault_open(key, NULL, 0, c2.p + 2, c2.len - 2, &m), 0,
	    "open with no AD");
	m.len = 0;
	is_int(fv_vault_open(key, "", 0, c2.p + 2, c2.len - 2, &m), 0,
	    "empty AD is the same as no AD");

	/* empty message */
	c2.len = 0;
	is_int(fv_vault_seal(key, ad, sizeof(ad), "", 0, &c2), 0, "seal empty");
	is_int(c2.len, FV_SEAL_OVERHEAD, "  is just nonce and tag");
	m.len = 0;
	is_int(fv_vault_open(key, ad, sizeof(ad), c2.p, c2.len, &m), 0,
	    "  opens");
	is_int(m.len, 0, "  to nothing");

	/* refusals */
	m.len = 0;
	is_int(fv_vault_open(key2, ad, sizeof(ad), c.p, c.len, &m), FV_ECRYPTO,
	    "wrong key refused");
	is_int(m.len, 0, "  nothing appended");
	is_int(fv_vault_open(key, ad, sizeof(ad) - 1, c.p, c.len, &m),
	    FV_ECRYPTO, "shorter AD refused");
	is_int(fv_vault_open(key, "rec\x01\x02\x04", sizeof(ad), c.p, c.len,
		   &m),
	    FV_ECRYPTO, "other AD refused (a value moved to another key)");
	is_int(fv_vault_open(key, NULL, 0, c.p, c.len, &m), FV_ECRYPTO,
	    "missing AD refused");
	is_int(m.len, 0, "  nothing appended on any refusal");

	if ((t = malloc(c.len + 1)) == NULL)
		abort();
	for (bad = 0, i = 0; i < c.len * 8; i++) {
		memcpy(t, c.p, c.len);
		t[i / 8] ^= (uint8_t)(1 << (i % 8));
		m.len = 0;
		if (fv_vault_open(key, ad, sizeof(ad), t, c.len, &m) ==
			FV_ECRYPTO &&
		    m.len == 0)
			bad++;
	}
	ok(bad == c.len * 8, "every flipped bit refused (%zu of %zu)", bad,
	    c.len * 8);
	free(t);
	for (bad = 0, n = 0; n < c.len; n++) {
		if ((t = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(t, c.p, n);
		m.len = 0;
		if (fv_vault_open(key, ad, sizeof(ad), t, n, &m) ==
			FV_ECRYPTO &&
		    m.len == 0)
			bad++;
		free(t);
	}
	ok(bad == c.len, "every truncation refused (%zu of %zu)", bad, c.len);
	/* a longer value: the tag covers it all */
	{
		uint8_t *big = malloc(100000);

		memset(big, 'A', 100000);
		c2.len = 0;
		fv_vault_seal(key, ad, sizeof(ad), big, 100000, &c2);
		c2.p[c2.len / 2] ^= 1;
		m.len = 0;
		is_int(fv_vault_open(key, ad, sizeof(ad), c2.p, c2.len, &m),
		    FV_ECRYPTO,
		    "a flipped bit in the middle of 100 kB refused");
		c2.p[c2.len / 2] ^= 1;
		m.len = 0;
		rc = fv_vault_open(key, ad, sizeof(ad), c2.p, c2.len, &m);
		ok(rc == 0 && m.len == 100000 && memcmp(m.p, big, 100000) == 0,
		    "  and the intact value opens");
		free(big);
	}
	fv_buf_free(&c);
	fv_buf_free(&c2);
	fv_buf_free(&m);
}

static void
test_seal_key(void)
{
	uint8_t *kek = fv_secmem_alloc(32), *mk = fv_secmem_alloc(32);
	uint8_t *sk = fv_secmem_alloc(64), *out = fv_secmem_alloc(64);
	uint8_t w32[32 + FV_SEAL_OVERHEAD], w64[64 + FV_SEAL_OVERHEAD];
	uint8_t t[64 + FV_SEAL_OVERHEAD], pk[32];
	static const uint8_t ad[] = "mk\x11\x22";
	size_t i, bad;

	if (kek == NULL || mk == NULL || sk == NULL || out == NULL)
		abort();
	randombytes_buf(kek, 32);
	randombytes_buf(mk, 32);
	crypto_sign_keypair(pk, sk);
	is_int(fv_vault_seal_key(kek, ad, sizeof(ad), mk, 32, w32), 0,
	    "seal a key");
	ok(memmem(w32, sizeof(w32), mk, 32) == NULL,
	    "  it is not in the "
	    "wrapped form");
	is_int(fv_vault_open_key(kek, ad, sizeof(ad), w32, sizeof(w32), out), 0,
	    "open the key");
	ok(memcmp(out, mk, 32) == 0, "  round trip");
	is_int(fv_vault_seal_key(mk, "sk", 2, sk, 64, w64), 0,
	    "seal a 64-byte key");
	memset(out, 0, 64);
	is_int(fv_vault_open_key(mk, "sk", 2, w64, sizeof(w64), out), 0,
	    "  open it");
	ok(memcmp(out, sk, 64) == 0, "  round trip");

	memset(out, 0, 64);
	is_int(fv_vault_open_key(mk, ad, sizeof(ad), w32, sizeof(w32), out),
	    FV_ECRYPTO, "wrong key refused");
	is_int(fv_vault_open_key(kek, "mk", 2, w32, sizeof(w32), out),
	    FV_ECRYPTO, "wrong AD refused");
	is_int(fv_vault_open_key(kek, ad, sizeof(ad), w32, FV_SEAL_OVERHEAD - 1,
		   out),
	    FV_ECRYPTO, "shorter than the overhead refused");
	is_int(fv_vault_open_key(kek, ad, sizeof(ad), w32, sizeof(w32) - 1,
		   out),
	    FV_ECRYPTO, "truncated refused");
	ok(all_zero(out, 64), "refused opens leave no key behind");
	for (bad = 0, i = 0; i < sizeof(w32) * 8; i++) {
		memcpy(t, w32, sizeof(w32));
		t[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (fv_vault_open_key(kek, ad, sizeof(ad), t, sizeof(w32),
			out) == FV_ECRYPTO)
			bad++;
	}
	ok(bad == sizeof(w32) * 8,
	    "every flipped bit of a wrapped key "
	    "refused");
	fv_secmem_free(kek);
	fv_secmem_free(mk);
	fv_secmem_free(sk);
	fv_secmem_free(out);
}

/* --- secmem --- */

static void *
hammer(void *arg)
{
	int id = *(int *)arg, i, j, bad = 0;

	for (i = 0; i < 2000; i++) {
		uint8_t *p = fv_secmem_alloc(96);

		if (p == NULL) {
			bad++;
			continue;
		}
		memset(p, id, 96);
		for (j = 0; j < 96; j++)
			if (p[j] != (uint8_t)id)
				bad++;
		fv_secmem_free(p);
	}
	*(int *)arg = bad;
	return NULL;
}

static void
test_secmem(void)
{
	uint8_t *p, *q, *r, *v[FV_SECMEM_ARENA / 64 + 8];
	size_t base, n, i;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int distinct;

	is_int(fv_secmem_init(), 0, "secmem init");
	is_int(fv_secmem_init(), 0, "  init again (idempotent)");
	base = fv_secmem_used();
	is_int(base, 0, "nothing in use at the start");

	ok(fv_secmem_alloc(0) == NULL, "alloc(0) refused");
	ok(fv_secmem_alloc(4097) == NULL, "alloc(4097) refused");
	is_int(fv_secmem_used(), 0, "  refusals take nothing");

	p = fv_secmem_alloc(100);
	ok(p != NULL && all_zero(p, 100), "alloc(100): zeroed memory");
	is_int(fv_secmem_used(), 128, "  used grows by whole 64-byte blocks");
	q = fv_secmem_alloc(64);
	is_int(fv_secmem_used(), 192, "alloc(64): one more block");
	ok(q != NULL && (q >= p + 128 || q + 64 <= p), "  not overlapping");
	memset(p, 0xa5, 128);
	memset(q, 0x5a, 64);
	fv_secmem_free(p);
	ok(all_zero(p, 128),
	    "free wipes the whole run (read through the "
	    "saved pointer)");
	ok(q[0] == 0x5a && q[63] == 0x5a, "  and leaves its neighbour alone");
	is_int(fv_secmem_used(), 64, "  and releases it");
	fv_secmem_free(p);
	is_int(fv_secmem_used(), 64,
	    "a second free of the same block is "
	    "ignored");
	fv_secmem_free(NULL);
	is_int(fv_secmem_used(), 64, "free(NULL) is a no-op");
	r = fv_secmem_alloc(10);
	ok(r == p, "the freed block is reused first");
	ok(r != NULL && all_zero(r, 64), "  and comes back zeroed");
	fv_secmem_free(r);
	fv_secmem_free(q);
	is_int(fv_secmem_used(), 0, "everything released");

	/* the largest allocation */
	p = fv_secmem_alloc(4096);
	ok(p != NULL, "alloc(4096)");
	is_int(fv_secmem_used(), 4096, "  64 blocks");
	memset(p, 0xff, 4096);
	fv_secmem_free(p);
	ok(all_zero(p, 4096), "  wiped on free");

	/* exhaustion and recovery */
	for (n = 0; n < sizeof(v) / sizeof(v[0]); n++)
		if ((v[n] = fv_secmem_alloc(4096)) == NULL)
			break;
	is_int(n, FV_SECMEM_ARENA / 4096,
	    "the arena holds exactly %d runs of "
	    "4096 bytes",
	    FV_SECMEM_ARENA / 4096);
	is_int(fv_secmem_used(), FV_SECMEM_ARENA, "  all of it in use");
	ok(fv_secmem_alloc(1) == NULL, "exhausted: alloc(1) gives NULL");
	fv_secmem_free(v[3]);
	ok((p = fv_secmem_alloc(1)) != NULL,
	    "after a free, alloc works "
	    "again");
	ok(fv_secmem_alloc(4096) == NULL,
	    "  but a 4096-byte run no longer "
	    "fits in the 4095 bytes left");
	fv_secmem_free(p);
	ok((v[3] = fv_secmem_alloc(4096)) != NULL,
	    "  and fits again once "
	    "the hole is whole");
	for (i = 0; i < n; i++)
		fv_secmem_free(v[i]);
	is_int(fv_secmem_used(), 0, "every run released");

	/* fragmentation: runs of 2048 bytes, two holes apart */
	for (n = 0; n < sizeof(v) / sizeof(v[0]); n++)
		if ((v[n] = fv_secmem_alloc(2048)) == NULL)
			break;
	is_int(n, FV_SECMEM_ARENA / 2048, "the arena holds %d runs of 2048",
	    FV_SECMEM_ARENA / 2048);
	fv_secmem_free(v[5]);
	fv_secmem_free(v[7]);
	ok(fv_secmem_alloc(4096) == NULL,
	    "two separate 2048-byte holes do "
	    "not make a 4096-byte run");
	fv_secmem_free(v[6]);
	ok((p = fv_secmem_alloc(4096)) != NULL && p == v[5],
	    "three neighbouring holes do, at the lowest address");
	fv_secmem_free(p);
	for (i = 0; i < n; i++)
		if (i < 5 || i > 7)
			fv_secmem_free(v[i]);
	is_int(fv_secmem_used(), 0, "every run released");

	/* many small keys share the one arena */
	for (n = 0; n < FV_SECMEM_ARENA / 64 + 4; n++) {
		size_t before = fv_secmem_used();

		if ((p = fv_secmem_alloc(32)) == NULL)
			break;
		if (fv_secmem_used() != before + 64)
			break;
		if ((uintptr_t)p < lo)
			lo = (uintptr_t)p;
		if ((uintptr_t)p > hi)
			hi = (uintptr_t)p;
		if (n < sizeof(v) / sizeof(v[0]))
			v[n] = p;
	}
	ok(n >= 900, "at least 900 32-byte keys fit (%zu)", n);
	is_int(n, FV_SECMEM_ARENA / 64, "  exactly one per 64-byte block");
	ok(hi - lo < FV_SECMEM_ARENA,
	    "  all inside one %d-byte arena "
	    "(no mapping each)",
	    FV_SECMEM_ARENA);
	distinct = 1;
	for (i = 1; i < n && i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] == v[i - 1])
			distinct = 0;
	ok(distinct, "  each a different block");
	for (i = 0; i < n && i < sizeof(v) / sizeof(v[0]); i++)
		fv_secmem_free(v[i]);
	is_int(fv_secmem_used(), 0, "  all released");

	/* two threads at once */
	{
		pthread_t t1, t2;
		int a = 1, b = 2;

		pthread_create(&t1, NULL, hammer, &a);
		pthread_create(&t2, NULL, hammer, &b);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		ok(a == 0 && b == 0,
		    "two threads alloc/write/free 2000 times "
		    "each: no overlap, no failure");
		is_int(fv_secmem_used(), 0, "  and release everything");
	}

	/* shutdown wipes; a later alloc sets up a new arena */
	p = fv_secmem_alloc(64);
	memset(p, 0x77, 64);
	fv_secmem_shutdown();
	is_int(fv_secmem_used(), 0, "shutdown: nothing in use");
	p = fv_secmem_alloc(64);
	ok(p != NULL && all_zero(p, 64),
	    "alloc after shutdown: a new arena, "
	    "zeroed");
	fv_secmem_free(p);
	fv_secmem_shutdown();
}

int
main(void)
{
	if (sodium_init() < 0 || fv_secmem_init() != 0)
		return 99;
	test_secmem();
	test_seal();
	test_seal_key();
	test_kdf();
	fv_secmem_shutdown();
	return done_testing();
}
