#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "fold.h"
#include "fv_error.h"
#include "hlc.h"
#include "keyfile.h"
#include "patch.h"
#include "secmem.h"
#include "state.h"
#include "store.h"
#include "vault.h"
#include "store_int.h"

int
fv_store_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return FV_ENOTFOUND;
	case MDB_MAP_FULL:
		return FV_EMAPFULL;
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return FV_ENOSPC;
	case ENOMEM:
		return FV_ENOMEM;
	case MDB_KEYEXIST:
		return FV_EEXIST;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		return FV_ECORRUPT;
	}
	return FV_EIO;
}

/* LMDB opens its lock and data files itself: make sure no child process
 * (a plugin's helper, say) inherits them. */
static void
cloexec_under(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char p[64], target[PATH_MAX];
	size_t dl = strlen(dir);
	ssize_t n;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);

		if (fd <= 2 || fd == dirfd(d))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if ((n = readlink(p, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, dir, dl) == 0 && target[dl] == '/')
			fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	}
	closedir(d);
}

int
fv_store_env_open(struct fv_store *s)
{
	MDB_txn *txn;
	MDB_envinfo ei;
	int rc;

	if ((rc = mdb_env_create(&s->env)) != 0)
		return fv_store_mdb_err(rc);
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_mapsize(s->env, s->mapsize);
	/* MDB_NOTLS: read transactions are not tied to threads.  Never
	 * MDB_NOSYNC or MDB_WRITEMAP: an acknowledged write is on disk. */
	if ((rc = mdb_env_open(s->env, s->dir, MDB_NOTLS | MDB_NORDAHEAD,
		 0600)) != 0)
		goto fail;
	cloexec_under(s->dir);
	if (mdb_env_info(s->env, &ei) == 0 && ei.me_mapsize > s->mapsize)
		s->mapsize = ei.me_mapsize;
	s->map_len = 0; /* where the map is: found again when needed */
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->db_meta)) ||
	    (rc = mdb_dbi_open(txn, "ops", MDB_CREATE, &s->db_ops)) ||
	    (rc = mdb_dbi_open(txn, "records", MDB_CREATE, &s->db_recs)) ||
	    (rc = mdb_dbi_open(txn, "devices", MDB_CREATE, &s->db_devs)) ||
	    (rc = mdb_dbi_open(txn, "tokens", MDB_CREATE, &s->db_tokens)) ||
	    (rc = mdb_dbi_open(txn, "arrivals", MDB_CREATE, &s->db_arrivals))) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	mdb_env_close(s->env);
	s->env = NULL;
	return fv_store_mdb_err(rc);
}

int
fv_store_meta_put(struct fv_store *s, MDB_txn *txn, const char *k,
    const void *v, size_t n)
{
	MDB_val key = { strlen(k), (void *)k }, val = { n, (void *)v };

	return fv_store_mdb_err(mdb_put(txn, s->db_meta, &key, &val, 0));
}

static int
meta_get(struct fv_store *s, MDB_txn *txn, const char *k, void *v, size_t n)
{
	MDB_val key = { strlen(k), (void *)k }, val;
	int rc;

	if ((rc = mdb_get(txn, s->db_meta, &key, &val)) != 0)
		return fv_store_mdb_err(rc);
	if (val.mv_size != n)
		return FV_ECORRUPT;
	memcpy(v, val.mv_data, n);
	return 0;
}

int
fv_store_put_clock(struct fv_store *s, MDB_txn *txn, uint64_t seq, uint64_t hlc,
    uint64_t txns)
{
	uint8_t c[24];

	fv_buf_put_u64(c, seq);
	fv_buf_put_u64(c + 8, hlc);
	fv_buf_put_u64(c + 16, txns);
	return fv_store_meta_put(s, txn, "clock", c, sizeof(c));
}

int
fv_store_read_meta(struct fv_store *s)
{
	MDB_txn *txn;
	uint8_t kdf[FV_SALT_BYTES + 16], clock[24];
	MDB_val key = { 4, "name" }, val;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fv_store_mdb_err(rc);
	memset(s->info.role, 0, sizeof(s->info.role));
	if ((rc = meta_get(s, txn, "role", s->info.role, 5)) == FV_ECORRUPT)
		rc = meta_get(s, txn, "role", s->info.role, 2);
	if (rc == 0 && (rc = mdb_get(txn, s->db_meta, &key, &val)) == 0) {
		if (val.mv_size == 0 || val.mv_size > FV_NAME_MAX)
			rc = FV_ECORRUPT;
		else {
			memcpy(s->info.name, val.mv_data, val.mv_size);
			s->info.name[val.mv_size] = '\0';
		}
	} else if (rc > 0)
		rc = fv_store_mdb_err(rc);
	if (rc == 0)
		rc = meta_get(s, txn, "device_id", s->info.device_id,
		    FV_ID_BYTES);
	if (rc == 0)
		rc = meta_get(s, txn, "sign_pk", s->info.sign_pk, 32);
	if (rc == 0 && (rc = meta_get(s, txn, "kdf", kdf, sizeof(kdf))) == 0) {
		memcpy(s->kdf.salt, kdf, FV_SALT_BYTES);
		s->kdf.opslimit = fv_buf_get_u64(kdf + FV_SALT_BYTES);
		s->kdf.memlimit = fv_buf_get_u64(kdf + FV_SALT_BYTES + 8);
	}
	if (rc == 0)
		rc = meta_get(s, txn, "mk", s->mk_wrapped, FV_SLOT_BYTES);
	if (rc == 0)
		rc = meta_get(s, txn, "sign_sk", s->sk_wrapped, SK_WRAPPED);
	if (rc == 0) {
		uint8_t acked[16];

		/* sync state: absent until the first sync */
		if (meta_get(s, txn, "acked", acked, 16) == 0) {
			s->acked = fv_buf_get_u64(acked);
			s->last_sync = (int64_t)fv_buf_get_u64(acked + 8);
		}
	}
	if (rc == 0) {
		MDB_cursor *cur;
		MDB_val k, v;

		/* HQ's last arrival number is its arrival log's last key */
		s->arrival = 0;
		if (mdb_cursor_open(txn, s->db_arrivals, &cur) == 0) {
			if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 &&
			    k.mv_size == 8)
				s->arrival = fv_buf_get_u64(k.mv_data);
			mdb_cursor_close(cur);
		}
	}
	if (rc == 0 && (rc = meta_get(s, txn, "clock", clock, 24)) == 0) {
		s->seq = fv_buf_get_u64(clock);
		s->clock.last = fv_buf_get_u64(clock + 8);
		s->txns = fv_buf_get_u64(clock + 16);
	}
	mdb_txn_abort(txn);
	if (rc == FV_ENOTFOUND)
		rc = FV_ECORRUPT;
	return rc;
}

static size_t map_initial = MAP_INITIAL;

void
fv_store_set_initial_map(size_t bytes)
{
	map_initial = bytes;
}

static int
path_in(const struct fv_store *s, const char *file, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s/%s", s->dir, file) < n ? 0 :
								     FV_EINVAL;
}

static int
store_new(const char *dir, struct fv_store **out)
{
	struct fv_store *s;
	char real[PATH_MAX];

	*out = NULL;
	if (fv_secmem_init() != 0)
		return FV_ENOMEM;
	if (realpath(dir, real) == NULL)
		return errno == ENOENT ? FV_ENOTFOUND : FV_EIO;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return FV_ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", real);
	s->mapsize = map_initial;
	*out = s;
	return 0;
}

int
fv_store_init(const char *dir, const char *role, const char *name,
    const char *pass, size_t passlen)
{
	struct fv_store *s;
	MDB_txn *txn;
	uint8_t *sec, *kek, *mk, *sk, kdf[FV_SALT_BYTES + 16];
	uint8_t ad[2 + FV_ID_BYTES];
	char p[PATH_MAX + 32], pkhex[65];
	json_t *dev;
	char *devtxt;
	MDB_val key, val;
	int rc;

	if ((strcmp(role, "field") && strcmp(role, "hq")) || name[0] == '\0' ||
	    strlen(name) > FV_NAME_MAX)
		return FV_EINVAL;
	if (passlen < FV_PASS_MIN || passlen > FV_PASS_MAX)
		return FV_EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return FV_EIO;
	if ((rc = store_new(dir, &s)) != 0)
		return rc;
	path_in(s, "data.mdb", p, sizeof(p));
	if (access(p, F_OK) == 0) {
		free(s);
		return FV_EEXIST;
	}
	path_in(s, "recordkeys", p, sizeof(p));
	if ((rc = fv_keyfile_open(p, 1, &s->kf)) != 0) {
		free(s);
		return rc;
	}
	if ((sec = fv_secmem_alloc(32 + 32 + 64)) == NULL) {
		rc = FV_ENOMEM;
		goto out;
	}
	kek = sec;
	mk = sec + 32;
	sk = sec + 64;
	crypto_sign_keypair(s->info.sign_pk, sk);
	crypto_generichash(s->info.device_id, FV_ID_BYTES, s->info.sign_pk, 32,
	    NULL, 0);
	randombytes_buf(mk, 32);
	fv_vault_kdf_new(&s->kdf);
	if ((rc = fv_vault_kdf_derive(&s->kdf, pass, passlen, kek)) != 0)
		goto out;
	memcpy(ad, "mk", 2);
	memcpy(ad + 2, s->info.device_id, FV_ID_BYTES);
	fv_vault_seal_key(kek, ad, sizeof(ad), mk, 32, s->mk_wrapped);
	memcpy(ad, "sk", 2);
	fv_vault_seal_key(mk, ad, sizeof(ad), sk, 64, s->sk_wrapped);
	memcpy(kdf, s->kdf.salt, FV_SALT_BYTES);
	fv_buf_put_u64(kdf + FV_SALT_BYTES, s->kdf.opslimit);
	fv_buf_put_u64(kdf + FV_SALT_BYTES + 8, s->kdf.memlimit);
	if ((rc = fv_store_env_open(s)) != 0)
		goto out;
	if ((rc = fv_store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn))) != 0)
		goto out;
	sodium_bin2hex(pkhex, sizeof(pkhex), s->info.sign_pk, 32);
	dev = json_pack("{s:s, s:s, s:s}", "name", name, "role", role,
	    "public_key", pkhex);
	devtxt = json_dumps(dev, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(dev);
	key.mv_size = FV_ID_BYTES;
	key.mv_data = s->info.device_id;
	val.mv_size = devtxt ? strlen(devtxt) : 0;
	val.mv_data = devtxt;
	if ((rc = fv_store_meta_put(s, txn, "format", "fieldvault-1", 12)) ||
	    (rc = fv_store_meta_put(s, txn, "role", role, strlen(role))) ||
	    (rc = fv_store_meta_put(s, txn, "name", name, strlen(name))) ||
	    (rc = fv_store_meta_put(s, txn, "device_id", s->info.device_id,
		 FV_ID_BYTES)) ||
	    (rc = fv_store_meta_put(s, txn, "sign_pk", s->info.sign_pk, 32)) ||
	    (rc = fv_store_meta_put(s, txn, "kdf", kdf, sizeof(kdf))) ||
	    (rc = fv_store_meta_put(s, txn, "mk", s->mk_wrapped,
		 FV_SLOT_BYTES)) ||
	    (rc = fv_store_meta_put(s, txn, "sign_sk", s->sk_wrapped,
		 SK_WRAPPED)) ||
	    (rc = fv_store_put_clock(s, txn, 0, 0, 0)) || devtxt == NULL ||
	    (rc = fv_store_mdb_err(mdb_put(txn, s->db_devs, &key, &val, 0)))) {
		mdb_txn_abort(txn);
		if (rc == 0)
			rc = FV_ENOMEM;
	} else
		rc = fv_store_mdb_err(mdb_txn_commit(txn));
	fv_buf_json_free(devtxt);
out:
	fv_secmem_free(sec);
	fv_store_close(s);
	return rc;
}

int
fv_store_open(const char *dir, struct fv_store **out)
{
	struct fv_store *s;
	char p[PATH_MAX + 32];
	int rc;

	if ((rc = store_new(dir, &s)) != 0)
		return rc;
	path_in(s, "data.mdb", p, sizeof(p));
	if (access(p, F_OK) != 0) {
		free(s);
		return FV_ENOTFOUND;
	}
	if ((rc = fv_store_env_open(s)) != 0 ||
	    (rc = fv_store_read_meta(s)) != 0)
		goto fail;
	path_in(s, "recordkeys", p, sizeof(p));
	if ((rc = fv_keyfile_open(p, 0, &s->kf)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	fv_store_close(s);
	return rc;
}

void
fv_store_close(struct fv_store *s)
{
	if (s == NULL)
		return;
	if (s->txn != NULL)
		fv_store_abort(s);
	fv_store_lock(s);
	if (s->env != NULL)
		mdb_env_close(s->env);
	fv_keyfile_close(s->kf);
	fv_buf_free(&s->b1);
	fv_buf_free(&s->b2);
	free(s->pend);
	free(s->newslots);
	free(s->wipeslots);
	free(s);
}

const struct fv_store_info *
fv_store_info(const struct fv_store *s)
{
	return &s->info;
}

int
fv_store_locked(const struct fv_store *s)
{
	return s->keys == NULL;
}

int
fv_store_derive(const struct fv_store *s, const char *pass, size_t len,
    uint8_t *kek)
{
	return fv_vault_kdf_derive(&s->kdf, pass, len, kek);
}

int
fv_store_unlock(struct fv_store *s, const uint8_t *kek)
{
	uint8_t ad[2 + FV_ID_BYTES], rid[FV_ID_BYTES];
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint32_t scrubbed;
	int rc, class;

	if (s->keys != NULL)
		return 0;
	if ((s->keys = fv_secmem_alloc(KEYS_BYTES)) == NULL)
		return FV_ENOMEM;
	memcpy(ad, "mk", 2);
	memcpy(ad + 2, s->info.device_id, FV_ID_BYTES);
	if (fv_vault_open_key(kek, ad, sizeof(ad), s->mk_wrapped, FV_SLOT_BYTES,
		K_MK(s)) != 0) {
		rc = FV_EPASS;
		goto fail;
	}
	memcpy(ad, "sk", 2);
	if (fv_vault_open_key(K_MK(s), ad, sizeof(ad), s->sk_wrapped,
		SK_WRAPPED, K_SK(s)) != 0) {
		rc = FV_ECORRUPT;
		goto fail;
	}
	crypto_kdf_derive_from_key(K_TAG(s), 32, 1, "fvstore1", K_MK(s));
	crypto_kdf_derive_from_key(K_LOG(s), 32, 2, "fvstore1", K_MK(s));
	if ((rc = fv_index_new(&s->idx)) != 0)
		goto fail;
	fv_keyfile_reset(s->kf);
	if ((rc = fv_store_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY,
		 &txn))) ||
	    (rc = fv_store_mdb_err(mdb_cursor_open(txn, s->db_recs, &cur))))
		goto fail;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		struct fv_state st;
		struct fv_ientry *e;

		if (k.mv_size != TAG_BYTES || v.mv_size < 1)
			continue;
		if (((uint8_t *)v.mv_data)[0] == CLASS_RECORD &&
		    (v.mv_size < 5 ||
			(rc = fv_keyfile_mark(s->kf,
			     fv_buf_get_u32((uint8_t *)v.mv_data + 1))) != 0)) {
			rc = rc ? rc : FV_ECORRUPT;
			goto fail;
		}
		if (((uint8_t *)v.mv_data)[0] == CLASS_PURGED)
			continue; /* purged after sync: nothing to index */
		if ((rc = fv_store_load_tag(s, txn, k.mv_data, rid, &st,
			 &class)) != 0)
			goto fail;
		fv_store_drop_mapped(s, 1);
		if (class == CLASS_RECORD && !(st.flags & FV_ST_DELETED)) {
			if ((rc = fv_index_make(&st, rid, s->cur_slot, &e)) ==
			    0)
				rc = fv_index_put(s->idx, e);
		}
		fv_state_free(&st);
		if (rc != 0)
			goto fail;
	}
	if (rc != MDB_NOTFOUND) {
		rc = fv_store_mdb_err(rc);
		goto fail;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	/* slots written by a transaction that never committed, or not wiped
	 * after a delete because of a crash: destroy them now */
	return fv_keyfile_scrub(s->kf, &scrubbed);
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	fv_store_lock(s);
	return rc;
}

void
fv_store_lock(struct fv_store *s)
{
	fv_index_free(s->idx);
	s->idx = NULL;
	fv_secmem_free(s->keys);
	s->keys = NULL;
	if (s->kf != NULL)
		fv_keyfile_reset(s->kf);
	fv_buf_free(&s->b1);
	fv_buf_free(&s->b2);
}
