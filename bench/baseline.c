/*
 * baseline - the unavoidable work of ingesting appeals, and nothing more:
 * parse each JSON line, sign it (Ed25519), encrypt it (XChaCha20-Poly1305),
 * put it into LMDB under a random key, commit (durably) every 1,000.
 *
 *   baseline FILE.jsonl DIR
 *
 * Prints "baseline: N appeals in S s = R appeals/s".  bench/ingest runs it
 * on the same file as fieldvault, in the same run, and reports our rate as
 * a ratio to it: machines here are noisy, ratios are steadier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>

#define NONCE  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	unsigned char pk[32], sk[64], key[32], id[16];
	unsigned char *out = NULL;
	size_t cap = 0, n = 0, len = 0;
	char *line = NULL;
	ssize_t got;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	FILE *f;
	double t0;

	if (argc != 3 || sodium_init() < 0)
		return 2;
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	crypto_sign_keypair(pk, sk);
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	mdb_env_create(&env);
	mdb_env_set_mapsize(env, (size_t)1 << 30);
	if (mdb_env_open(env, argv[2], MDB_NOTLS, 0600) != 0) {
		fprintf(stderr, "baseline: cannot open %s\n", argv[2]);
		return 1;
	}
	t0 = now();
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	while ((got = getline(&line, &len, f)) > 0) {
		json_error_t je;
		json_t *j = json_loadb(line, (size_t)got, 0, &je);
		size_t m = (size_t)got, need = 64 + NONCE + m + ABYTES;
		MDB_val k = { sizeof(id), id }, v;

		if (j == NULL) {
			fprintf(stderr, "baseline: bad JSON: %s\n", je.text);
			return 1;
		}
		json_decref(j);
		if (need > cap) {
			cap = need * 2;
			out = realloc(out, cap);
		}
		crypto_sign_detached(out, NULL, (unsigned char *)line, m, sk);
		randombytes_buf(out + 64, NONCE);
		crypto_aead_xchacha20poly1305_ietf_encrypt(out + 64 + NONCE,
		    NULL, (unsigned char *)line, m, NULL, 0, NULL, out + 64,
		    key);
		randombytes_buf(id, sizeof(id));
		v.mv_size = need;
		v.mv_data = out;
		if (mdb_put(txn, dbi, &k, &v, 0) != 0)
			return 1;
		if (++n % 1000 == 0) {
			if (mdb_txn_commit(txn) != 0)
				return 1;
			mdb_txn_begin(env, NULL, 0, &txn);
		}
	}
	if (mdb_txn_commit(txn) != 0)
		return 1;
	t0 = now() - t0;
	printf("baseline: %zu appeals in %.3f s = %.0f appeals/s\n", n, t0,
	    n / t0);
	mdb_env_close(env);
	free(out);
	free(line);
	fclose(f);
	return 0;
}
