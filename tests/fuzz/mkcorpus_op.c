/*
 * mkcorpus_op.c - writes the seed corpus of fuzz_op: ops signed with the
 * harness's fixed key, and record states.  Not built by make; run by hand
 * from the top of a built tree when op.h or state.h change:
 *
 *   cc -Idaemon/core tests/fuzz/mkcorpus_op.c daemon/core/.libs/libfvcore.a \
 *       -lsodium -ljansson -llmdb -lunistring -lpthread -o /tmp/mkcorpus_op
 *   /tmp/mkcorpus_op tests/fuzz/corpus/op
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "op.h"
#include "state.h"

/* The same seed as fuzz_op.c. */
static const char SEED[crypto_sign_SEEDBYTES] =
    "fieldvault fuzz op corpus key!!";
static uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static const char *outdir;

/* One field: prev 0 means none; val NULL a removal. */
struct fs {
	const char *path, *val;
	uint64_t prev;
};

static void
save(const char *name, const struct fv_buf *b)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", outdir, name);
	if (b->err || (f = fopen(p, "wb")) == NULL ||
	    fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
		fprintf(stderr, "mkcorpus_op: %s: cannot write\n", p);
		exit(1);
	}
}

static void
mkop(struct fv_op *op, struct fv_leaf *lv, int kind, int rtype, uint64_t seq,
    uint64_t hlc, const struct fs *fs, size_t n)
{
	size_t i;

	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	op->rtype = (uint8_t)rtype;
	crypto_generichash(op->author, FV_ID_BYTES, pk, sizeof(pk), NULL, 0);
	op->seq = seq;
	op->hlc = hlc;
	memset(op->rid, 0x5a, FV_ID_BYTES);
	op->rid[0] = (uint8_t)seq;
	for (i = 0; i < n; i++) {
		memset(&lv[i], 0, sizeof(lv[i]));
		lv[i].path = fs[i].path;
		lv[i].pathlen = (uint8_t)strlen(fs[i].path);
		lv[i].val = fs[i].val;
		lv[i].vallen = fs[i].val ? (uint32_t)strlen(fs[i].val) : 0;
		if (fs[i].prev != 0) {
			lv[i].has_prev = 1;
			lv[i].prev_hlc = fs[i].prev;
			memcpy(lv[i].prev_author, op->author, FV_ID_BYTES);
		}
	}
	op->fields = lv;
	op->nfields = (uint32_t)n;
}

/* Signs op into NAME; with state != NULL, also applies it there. */
static void
emit(const char *name, const struct fv_op *op, struct fv_state *st)
{
	struct fv_buf b = { 0 };
	int conflict;

	if (fv_op_sign(op, sk, &b) != 0) {
		fprintf(stderr, "mkcorpus_op: %s: cannot sign\n", name);
		exit(1);
	}
	save(name, &b);
	fv_buf_free(&b);
	if (st != NULL && fv_state_apply(st, op, &conflict) != 0)
		exit(1);
}

static void
emit_state(const char *name, const struct fv_state *st)
{
	struct fv_buf b = { 0 };

	if (fv_state_encode(st, &b) != 0)
		exit(1);
	save(name, &b);
	fv_buf_free(&b);
}

int
main(int argc, char **argv)
{
	static const uint64_t H = (uint64_t)1764000000000LL << 16;
	static const struct fs appeal[] = {
		{ "applicant.citizenship", "\"UZ\"", 0 },
		{ "applicant.full_name", "\"Азиз Каримов\"", 0 },
		{ "applicant.location", "\"Oʻzbekiston, Qarshi\"", 0 },
		{ "category", "\"detention_conditions\"", 0 },
		{ "channel", "\"in_person\"", 0 },
		{ "concerns_country", "\"RU\"", 0 },
		{ "received_at", "\"2025-11-24T16:00:00Z\"", 0 },
		{ "status", "\"received\"", 0 },
		{ "summary", "\"Содержится в СИЗО-1 без связи.\"", 0 },
		{ "tags", "[\"migrant\",\"2026-Q4\"]", 0 },
		{ "x_source", "{\"batch\":7}", 0 },
	};
	static const struct fs edit[] = {
		{ "applicant.location", NULL, H },
		{ "status", "\"under_review\"", H },
		{ "tags", "[]", H },
		{ "x_new", "{\"a\":[1,2.5,null,true]}", 0 },
	};
	static const struct fs note[] = {
		{ "appeal_id", "\"0123456789abcdef0123456789abcdef\"", 0 },
		{ "text", "\"زيارة السجن: Visited on Tuesday\"", 0 },
		{ "visit.country", "\"RU\"", 0 },
		{ "visit.date", "\"2026-11-20\"", 0 },
		{ "visit.institution", "\"СИЗО-1\"", 0 },
	};
	static const struct fs odd[] = {
		{ "a", "1", 0 },
		{ "a.b", "\"\\u0000\"", 0 },
		{ "applicant.", "{}", 0 },
		{ "visit.x_\xc3\xa9", "-0.0", 0 },
		{ "\xff\xfe", "not json", 0 },
	};
	char longpath[FV_PATH_MAX + 1];
	struct fs longf[1];
	struct fv_leaf lv[16];
	struct fv_op op;
	struct fv_state st;

	if (argc != 2 || sodium_init() < 0)
		return 2;
	outdir = argv[1];
	crypto_sign_seed_keypair(pk, sk, (const uint8_t *)SEED);

	memset(&st, 0, sizeof(st));
	mkop(&op, lv, FV_OP_PUT, 1, 1, H, appeal, 11);
	emit("op-appeal-create", &op, &st);
	emit_state("state-appeal-created", &st);
	mkop(&op, lv, FV_OP_PUT, 1, 2, H + (5000 << 16), edit, 4);
	emit("op-appeal-edit", &op, &st);
	emit_state("state-appeal-edited", &st);
	mkop(&op, lv, FV_OP_DELETE, 1, 3, H + (9000 << 16), NULL, 0);
	emit("op-appeal-delete", &op, &st);
	emit_state("state-appeal-deleted", &st);
	fv_state_free(&st);

	memset(&st, 0, sizeof(st));
	mkop(&op, lv, FV_OP_PUT, 2, 4, H + 7, note, 5);
	emit("op-note-create", &op, &st);
	emit_state("state-note", &st);
	fv_state_free(&st);

	/* a concurrent edit: prev names a version the receiver lacks */
	memset(&st, 0, sizeof(st));
	mkop(&op, lv, FV_OP_PUT, 1, 5, H + 11, edit + 1, 1);
	lv[0].prev_hlc = H + 10;
	emit("op-conflict", &op, &st);
	st.flags |= FV_ST_CONFLICT;
	emit_state("state-conflict", &st);
	fv_state_free(&st);

	/* legal but odd: paths and values the schema never makes */
	mkop(&op, lv, FV_OP_PUT, 2, 0xffffffffffffffffULL, ~0ULL, odd, 5);
	emit("op-odd-paths", &op, NULL);
	memset(longpath, 'x', FV_PATH_MAX);
	longpath[FV_PATH_MAX] = '\0';
	longf[0].path = longpath;
	longf[0].val = "\"longest path\"";
	longf[0].prev = 1;
	mkop(&op, lv, FV_OP_PUT, 1, 6, 1, longf, 1);
	emit("op-longest-path", &op, NULL);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}
