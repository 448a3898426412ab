/*
 * test_store.c - the encrypted record store (store.h) on a real directory:
 * init and open, locked refusals, the passphrase, grouped writes, reads,
 * merge-patch updates, history, delete, lists and search, persistence,
 * crypto-shredding (docs/design.md: no plaintext on disk, a deleted
 * record's key slot zeroed), aborts, map growth and replay, file descriptors.
 *
 * Argon2id runs 5 times (2 inits, 3 derivations); one KEK buffer serves
 * every unlock of a store.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "api/json.h"
#include "fold.h"
#include "fv_error.h"
#include "keyfile.h"
#include "record.h"
#include "secmem.h"
#include "store.h"
#include "tap.h"

#define A FV_RTYPE_APPEAL
#define N FV_RTYPE_NOTE

static const char PASS[] = "correct horse battery staple";
static const char WRONG[] = "correct horse battery stapler";
static const char DEVNAME[] = "tashkent-laptop-1";

static char root[] = "/tmp/fvstore.XXXXXX";
static char dir[PATH_MAX], dir2[PATH_MAX];

/* --- records --- */

/* A validated body with defaults, as the daemon stores it; takes o. */
static json_t *
valid(json_t *o, enum fv_rtype t)
{
	struct fv_verr e;

	if (o == NULL || fv_record_check(o, t, &e) != 0) {
		diag("test body refused: %s: %s", o ? e.field : "(null)",
		    o ? e.msg : "");
		abort();
	}
	fv_record_strip_readonly(o);
	if (fv_record_defaults(o, t, 1764000000000LL) != 0)
		abort();
	return o;
}

static json_t *
appeal(const char *name, const char *loc, const char *country,
    const char *category, const char *summary, const char *group)
{
	json_t *o = json_pack("{s:{s:s}, s:s, s:s, s:s, s:[s,s]}", "applicant",
	    "full_name", name, "concerns_country", country, "category",
	    category, "summary", summary, "tags", "migrant", "2026-Q4");

	if (loc != NULL)
		json_object_set_new(json_object_get(o, "applicant"), "location",
		    json_string(loc));
	if (group != NULL)
		json_object_set_new(o, "assigned_to", json_string(group));
	json_object_set_new(o, "x_source", json_pack("{s:i}", "batch", 7));
	return valid(o, A);
}

static json_t *
note(const char *text, const uint8_t *appeal_rid)
{
	json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s}}", "text", text, "visit",
	    "institution", "СИЗО-1", "country", "RU", "date", "2026-11-20");

	if (appeal_rid != NULL) {
		char hex[33];

		fv_op_id_hex(appeal_rid, hex);
		json_object_set_new(o, "appeal_id", json_string(hex));
	}
	return valid(o, N);
}

/* The record as a client sent it: the daemon's fields taken out. */
static json_t *
body_of(const json_t *rec)
{
	json_t *o = json_deep_copy(rec);

	json_object_del(o, "id");
	json_object_del(o, "type");
	json_object_del(o, "created_at");
	json_object_del(o, "updated_at");
	json_object_del(o, "created_by");
	json_object_del(o, "conflict");
	return o;
}

/* Labels for ids, to compare lists as strings. */
struct label {
	const char *name;
	uint8_t rid[FV_ID_BYTES];
};
static struct label labels[64];
static int nlabels;

static const uint8_t *
new_rid(const char *name)
{
	struct label *l = &labels[nlabels++];

	l->name = name;
	randombytes_buf(l->rid, FV_ID_BYTES);
	return l->rid;
}

static const char *
label_of(const char *hex)
{
	uint8_t rid[FV_ID_BYTES];
	int i;

	if (hex == NULL || fv_op_id_parse(hex, rid) != 0)
		return "?";
	for (i = 0; i < nlabels; i++)
		if (memcmp(labels[i].rid, rid, FV_ID_BYTES) == 0)
			return labels[i].name;
	return "?";
}

/* "a1 a2 ..." for a list, or "error N". */
static const char *
list(struct fv_store *s, int rtype, const char *status, const char *country,
    const char *category, const char *group, const uint8_t *appeal_id,
    const char *query)
{
	static char out[512];
	struct fv_filter f;
	json_t *arr = NULL, *v;
	size_t i;
	int rc;

	memset(&f, 0, sizeof(f));
	f.rtype = rtype;
	f.status = status;
	f.country = country;
	f.category = category;
	f.assigned_to = group;
	f.appeal_id = appeal_id;
	if ((rc = fv_json_list(s, &f, query, &arr)) != 0) {
		snprintf(out, sizeof(out), "error %d", rc);
		return out;
	}
	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		if (i > 0)
			strcat(out, " ");
		strcat(out,
		    label_of(json_string_value(json_object_get(v, "id"))));
	}
	json_decref(arr);
	return out;
}

/* --- files --- */

static uint8_t *
slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	uint8_t *b;
	long len;

	*n = 0;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	if ((b = malloc((size_t)len + 1)) == NULL ||
	    fread(b, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	*n = (size_t)len;
	return b;
}

struct needles {
	const char *s[64];
	size_t n[64];
	int count;
};

static void
add_needle(struct needles *nd, const void *p, size_t n)
{
	char *c = malloc(n);

	memcpy(c, p, n);
	nd->s[nd->count] = c;
	nd->n[nd->count++] = n;
}

/* Every byte form of a canary string we can think of: as is, folded for
 * search, upper case, JSON with \u escapes, UTF-16LE and -BE, and its
 * random ASCII tail alone. */
static void
add_canary(struct needles *nd, const char *s, const char *tail)
{
	char *f, *j, u[256];
	size_t fl, i, k;
	uint16_t w[128];
	uint8_t le[256], be[256];
	json_t *js;

	add_needle(nd, s, strlen(s));
	add_needle(nd, tail, strlen(tail));
	for (i = 0; tail[i] && i < sizeof(u) - 1; i++)
		u[i] = (char)(tail[i] >= 'a' && tail[i] <= 'z' ? tail[i] - 32 :
								 tail[i]);
	u[i] = '\0';
	add_needle(nd, u, strlen(u));
	if (fv_fold_str(s, strlen(s), &f, &fl) == 0) {
		add_needle(nd, f, fl);
		free(f);
	}
	js = json_string(s);
	if ((j = json_dumps(js, JSON_ENCODE_ANY | JSON_ENSURE_ASCII)) != NULL) {
		add_needle(nd, j + 1, strlen(j) - 2);
		free(j);
	}
	json_decref(js);
	/* UTF-16 of the code points (all in the BMP here) */
	for (i = 0, k = 0; s[i] && k < 128; k++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80)
			w[k] = c, i += 1;
		else if (c < 0xe0)
			w[k] = (uint16_t)((c & 0x1f) << 6 | (s[i + 1] & 0x3f)),
			i += 2;
		else
			w[k] = (uint16_t)((c & 0x0f) << 12 |
			    (s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f)),
			i += 3;
	}
	for (i = 0; i < k; i++) {
		le[2 * i] = (uint8_t)w[i], le[2 * i + 1] = (uint8_t)(w[i] >> 8);
		be[2 * i] = (uint8_t)(w[i] >> 8), be[2 * i + 1] = (uint8_t)w[i];
	}
	add_needle(nd, le, 2 * k);
	add_needle(nd, be, 2 * k);
}

static int scan_quiet; /* the control scan expects a hit */

/* Hits of any needle in any file under d (recursively). */
static int
scan(const char *d, const struct needles *nd, int *files)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	char p[PATH_MAX];
	struct stat sb;
	int hits = 0, i;

	if (dh == NULL)
		return -1000;
	while ((de = readdir(dh)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		if (lstat(p, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			hits += scan(p, nd, files);
		else if (S_ISREG(sb.st_mode)) {
			size_t n;
			uint8_t *b = slurp(p, &n);

			if (b == NULL) {
				hits += 1000; /* unreadable: fail loudly */
				continue;
			}
			(*files)++;
			for (i = 0; i < nd->count; i++)
				if (memmem(b, n, nd->s[i], nd->n[i]) != NULL) {
					if (!scan_quiet)
						diag("found canary form %d in "
						     "%s",
						    i, p);
					hits++;
				}
			free(b);
		}
	}
	closedir(dh);
	return hits;
}

/* The record key file's slots. */
struct kf {
	uint8_t *p; /* whole file */
	size_t len, nslots;
};

static struct kf
kf_read(const char *d)
{
	struct kf k;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/recordkeys", d);
	k.p = slurp(p, &k.len);
	k.nslots = k.len > 64 ?
	    (k.len - 64 + FV_SLOT_BYTES - 1) / FV_SLOT_BYTES :
	    0;
	return k;
}

static const uint8_t *
kf_slot(const struct kf *k, size_t i)
{
	static const uint8_t zero[FV_SLOT_BYTES];

	if (i >= k->nslots || 64 + (i + 1) * FV_SLOT_BYTES > k->len)
		return zero;
	return k->p + 64 + i * FV_SLOT_BYTES;
}

static size_t
kf_used(const struct kf *k)
{
	size_t i, n = 0;

	for (i = 0; i < k->nslots; i++)
		if (!is_zero(kf_slot(k, i), FV_SLOT_BYTES))
			n++;
	return n;
}

/* Compares two snapshots slot by slot. */
static void
kf_diff(const struct kf *a, const struct kf *b, int *zeroed, int *appeared,
    int *changed)
{
	size_t i, n = a->nslots > b->nslots ? a->nslots : b->nslots;

	*zeroed = *appeared = *changed = 0;
	for (i = 0; i < n; i++) {
		const uint8_t *x = kf_slot(a, i), *y = kf_slot(b, i);
		int zx = is_zero(x, FV_SLOT_BYTES),
		    zy = is_zero(y, FV_SLOT_BYTES);

		if (!zx && zy)
			(*zeroed)++;
		else if (zx && !zy)
			(*appeared)++;
		else if (!zx && memcmp(x, y, FV_SLOT_BYTES) != 0)
			(*changed)++;
	}
}

static void
kf_free(struct kf *k)
{
	free(k->p);
	k->p = NULL;
}

/* fds of this process that point under d: count, and how many lack
 * FD_CLOEXEC. */
static void
fds_under(const char *d, int *n, int *nocloexec)
{
	DIR *dh = opendir("/proc/self/fd");
	struct dirent *de;
	char p[64], t[PATH_MAX];
	size_t dl = strlen(d);
	ssize_t len;

	*n = *nocloexec = 0;
	if (dh == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(dh))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if ((len = readlink(p, t, sizeof(t) - 1)) <= 0)
			continue;
		t[len] = '\0';
		if (strncmp(t, d, dl) == 0 && t[dl] == '/') {
			(*n)++;
			if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
				diag("fd %d -> %s lacks FD_CLOEXEC", fd, t);
				(*nocloexec)++;
			}
		}
	}
	closedir(dh);
}

static int
mode_of(const char *d, const char *f)
{
	char p[PATH_MAX + 256];
	struct stat sb;

	snprintf(p, sizeof(p), "%.4000s%s%.200s", d, f ? "/" : "", f ? f : "");
	return stat(p, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static void
rm_rf(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	char p[PATH_MAX];
	struct stat sb;

	if (dh == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(dh);
	rmdir(d);
}

/* --- the tests --- */

static uint8_t *kek;	/* secmem: the one KEK of the main store */
static size_t kek_used; /* secmem in use with only kek allocated */
static struct needles canaries;
static char can_name[128], can_sum[128], can_note[128];

static const uint8_t *a1, *a2, *a3, *n1, *n2;
static json_t *b_a1, *b_a2, *b_a3, *b_n1, *b_n2;

static struct fv_store *
test_init_open(void)
{
	struct fv_store *s = NULL;
	char other[PATH_MAX], longname[80];
	size_t used0;
	int rc;

	is_int(fv_store_init(dir, "field", DEVNAME, PASS, strlen(PASS)), 0,
	    "init a field store");
	is_int(mode_of(dir, NULL), 0700, "the data dir is 0700");
	is_int(mode_of(dir, "data.mdb"), 0600, "data.mdb is 0600");
	is_int(mode_of(dir, "recordkeys"), 0600, "recordkeys is 0600");
	{
		struct kf k = kf_read(dir);

		ok(k.p != NULL && k.len >= 64 && !memcmp(k.p, "FVRKEYS1", 8) &&
			kf_used(&k) == 0,
		    "recordkeys: header, no key yet");
		kf_free(&k);
	}
	is_int(fv_store_init(dir, "field", DEVNAME, PASS, strlen(PASS)),
	    FV_EEXIST, "a second init of the same dir: FV_EEXIST");
	is_int(fv_store_init(dir, "hq", "other", PASS, strlen(PASS)), FV_EEXIST,
	    "  whatever the role and name");

	snprintf(other, sizeof(other), "%s/other", root);
	is_int(fv_store_init(other, "field", DEVNAME, "1234567", 7), FV_EINVAL,
	    "init refuses a 7-byte passphrase");
	ok(access(other, F_OK) != 0, "  and creates nothing");
	is_int(fv_store_init(other, "admin", DEVNAME, PASS, strlen(PASS)),
	    FV_EINVAL, "init refuses role admin");
	is_int(fv_store_init(other, "field", "", PASS, strlen(PASS)), FV_EINVAL,
	    "init refuses an empty name");
	memset(longname, 'n', 65);
	longname[65] = '\0';
	is_int(fv_store_init(other, "field", longname, PASS, strlen(PASS)),
	    FV_EINVAL, "init refuses a 65-byte name");
	ok(access(other, F_OK) != 0, "  none of them created anything");

	is_int(fv_store_open(other, &s), FV_ENOTFOUND,
	    "open a missing dir: "
	    "FV_ENOTFOUND");
	is_int(fv_store_open(root, &s), FV_ENOTFOUND,
	    "open a dir without a "
	    "store: FV_ENOTFOUND");

	is_int(fv_store_open(dir, &s), 0, "open the store");
	if (s == NULL)
		return NULL;
	is_int(fv_store_locked(s), 1, "it opens locked");
	is_str(fv_store_info(s)->role, "field", "info: role");
	is_str(fv_store_info(s)->name, DEVNAME, "info: name");
	{
		uint8_t z[FV_ID_BYTES] = { 0 };

		ok(memcmp(fv_store_info(s)->device_id, z, FV_ID_BYTES) != 0,
		    "info: a device id");
	}

	/* locked: every read and write refused */
	{
		struct fv_store_stats st;
		struct fv_filter f;
		json_t *j = NULL;
		uint8_t rid[FV_ID_BYTES] = { 1 };

		memset(&f, 0, sizeof(f));
		is_int(fv_store_begin(s), FV_ELOCKED, "locked: begin");
		is_int(fv_json_record(s, A, rid, &j), FV_ELOCKED,
		    "locked: get");
		is_int(fv_json_history(s, rid, &j), FV_ELOCKED,
		    "locked: history");
		is_int(fv_json_list(s, &f, NULL, &j), FV_ELOCKED,
		    "locked: list");
		is_int(fv_json_list(s, &f, "x", &j), FV_ELOCKED,
		    "locked: search");
		is_int(fv_store_stats(s, &st), FV_ELOCKED, "locked: stats");
		ok(j == NULL, "  and nothing returned");
	}

	/* the passphrase */
	if ((kek = fv_secmem_alloc(32)) == NULL)
		abort();
	used0 = kek_used = fv_secmem_used();
	is_int(fv_store_derive(s, WRONG, strlen(WRONG), kek), 0,
	    "derive from a wrong passphrase");
	rc = fv_store_unlock(s, kek);
	is_int(rc, FV_EPASS, "unlock with it: FV_EPASS");
	is_int(fv_store_locked(s), 1, "  still locked");
	is_int(fv_store_begin(s), FV_ELOCKED, "  writes still refused");
	is_int(fv_secmem_used(), used0, "  no key left in secret memory");
	is_int(fv_store_derive(s, PASS, strlen(PASS), kek), 0,
	    "derive from the right passphrase");
	is_int(fv_store_unlock(s, kek), 0, "unlock");
	is_int(fv_store_locked(s), 0, "  unlocked");
	is_int(fv_store_unlock(s, kek), 0, "  unlocking again is harmless");
	{
		struct fv_store_stats st;

		is_int(fv_store_stats(s, &st), 0, "stats");
		ok(st.appeals == 0 && st.notes == 0 && st.seq == 0,
		    "  an empty store");
	}
	return s;
}

static void
test_create(struct fv_store *s)
{
	struct fv_verr e;
	json_t *bad, *j = NULL;
	uint8_t missing[FV_ID_BYTES];
	struct fv_store_stats st;
	struct kf k0, k1;
	int rc, z, ap, ch;

	a1 = new_rid("a1");
	a2 = new_rid("a2");
	a3 = new_rid("a3");
	n1 = new_rid("n1");
	n2 = new_rid("n2");
	b_a1 = appeal("Дилноза Эшматова", "Москва", "RU", "labour_rights",
	    "Не выплачена зарплата за три месяца.", "moscow-team");
	b_a2 = appeal("G\xca\xbbulomov Jasur", "Алматы", "KZ",
	    "detention_conditions",
	    "Работал на кирпичном заводе, паспорт отобран.", NULL);
	b_a3 = appeal(can_name, NULL, "RU", "health", can_sum, NULL);
	b_n1 = note("Посещение СИЗО-1: условия содержания.", a1);
	b_n2 = note(can_note, a2);

	k0 = kf_read(dir);
	is_int(fv_store_begin(s), 0, "begin");
	is_int(fv_store_begin(s), FV_EBUSY, "  a second begin: FV_EBUSY");
	is_int(fv_store_create(s, A, b_a1, a1, &e), 0, "create appeal a1");
	is_int(fv_store_create(s, A, b_a2, a2, &e), 0, "create appeal a2");
	is_int(fv_store_create(s, A, b_a3, a3, &e), 0,
	    "create appeal a3 "
	    "(canaries)");
	is_int(fv_store_create(s, N, b_n1, n1, &e), 0,
	    "create note n1 on a1 "
	    "(created in the same transaction)");
	is_int(fv_store_create(s, N, b_n2, n2, &e), 0,
	    "create note n2 on a2 "
	    "(canary)");

	randombytes_buf(missing, sizeof(missing));
	bad = note("Без обращения.", missing);
	memset(&e, 0, sizeof(e));
	rc = fv_store_create(s, N, bad, new_rid("bad"), &e);
	is_int(rc, FV_EINVAL, "a note on a missing appeal is refused");
	is_str(e.field, "appeal_id", "  e.field names appeal_id");
	ok(e.msg[0] != '\0', "  with a reason (%s)", e.msg);
	json_decref(bad);
	bad = note("На заметку о заметке.", n1);
	memset(&e, 0, sizeof(e));
	is_int(fv_store_create(s, N, bad, new_rid("bad2"), &e), FV_EINVAL,
	    "a note whose appeal_id names a note is refused");
	is_str(e.field, "appeal_id", "  e.field names appeal_id");
	json_decref(bad);
	is_int(fv_store_create(s, A, b_a2, a1, &e), FV_EEXIST,
	    "create with an existing id: FV_EEXIST");
	is_int(fv_json_record(s, A, a1, &j), 0,
	    "read inside the transaction "
	    "sees its writes");
	json_decref(j);
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	ok(ap == 5 && z == 0 && ch == 0,
	    "five record keys written into "
	    "fresh slots (%d)",
	    ap);
	kf_free(&k1);
	is_int(fv_store_commit(s), 0,
	    "commit (refused writes did not spoil "
	    "the transaction)");
	k1 = kf_read(dir);
	is_int(kf_used(&k1), 5, "five live slots after commit");
	kf_free(&k0);
	kf_free(&k1);
	is_int(fv_store_stats(s, &st), 0, "stats");
	ok(st.appeals == 3 && st.notes == 2, "  3 appeals, 2 notes");
	is_int(st.seq, 5, "  5 ops (refused writes took no seq)");
	is_int(fv_store_commit(s), FV_EBUSY,
	    "commit without begin: "
	    "FV_EBUSY");
	{
		uint8_t r[FV_ID_BYTES];

		randombytes_buf(r, sizeof(r));
		is_int(fv_store_create(s, A, b_a1, r, &e), FV_EBUSY,
		    "create without begin: FV_EBUSY");
	}
}

static void
test_get(struct fv_store *s)
{
	json_t *j = NULL, *b;
	char hex[33];
	long long c_ms, u_ms;

	is_int(fv_json_record(s, A, a1, &j), 0, "get a1");
	b = body_of(j);
	ok(json_equal(b, b_a1),
	    "  every field as stored (applicant, tags, "
	    "x_ value, defaults)");
	if (!json_equal(b, b_a1)) {
		char *t1 = json_dumps(b, JSON_SORT_KEYS);
		char *t2 = json_dumps(b_a1, JSON_SORT_KEYS);

		diag("got  %s", t1);
		diag("want %s", t2);
		free(t1);
		free(t2);
	}
	json_decref(b);
	fv_op_id_hex(a1, hex);
	is_str(json_string_value(json_object_get(j, "id")), hex, "  id");
	is_str(json_string_value(json_object_get(j, "type")), "appeal",
	    "  type");
	is_str(json_string_value(json_object_get(j, "created_by")), DEVNAME,
	    "  created_by is the device name");
	ok(fv_record_valid_rfc3339(
	       json_string_value(json_object_get(j, "created_at")), &c_ms) &&
		fv_record_valid_rfc3339(json_string_value(json_object_get(j,
					    "updated_at")),
		    &u_ms) &&
		c_ms == u_ms &&
		llabs(c_ms - (long long)time(NULL) * 1000) < 600000,
	    "  created_at = updated_at, RFC 3339, now");
	ok(json_object_get(j, "conflict") == NULL, "  no conflict");
	json_decref(j);

	j = NULL;
	is_int(fv_json_record(s, N, n1, &j), 0, "get n1");
	b = body_of(j);
	ok(json_equal(b, b_n1), "  every field as stored (visit, appeal_id)");
	json_decref(b);
	is_str(json_string_value(json_object_get(j, "type")), "note",
	    "  type note");
	json_decref(j);

	j = NULL;
	is_int(fv_json_record(s, N, a1, &j), FV_ENOTFOUND,
	    "get an appeal as a note: FV_ENOTFOUND");
	is_int(fv_json_record(s, A, n1, &j), FV_ENOTFOUND,
	    "get a note as an appeal: FV_ENOTFOUND");
	{
		uint8_t r[FV_ID_BYTES];

		randombytes_buf(r, sizeof(r));
		is_int(fv_json_record(s, A, r, &j), FV_ENOTFOUND,
		    "get an unknown id: FV_ENOTFOUND");
	}
	ok(j == NULL, "  nothing returned");
}

static int
count_device(void *arg, const struct fv_device *d)
{
	int *n = arg;

	(*n)++;
	return d->bare ? 0 : 7;
}

/* The store's reads without JSON: a record's state, the devices. */
static void
test_record_devices(struct fv_store *s)
{
	struct fv_state st;
	struct fv_device d;
	const struct fv_leaf *f;
	char name[FV_NAME_MAX + 1], pk[65], hex[33], *txt, want[512];
	json_t *j;
	int n = 0;

	is_int(fv_store_record(s, A, a1, &st, name), 0, "record a1: its state");
	is_int(st.rtype, FV_RTYPE_APPEAL, "  an appeal");
	is_str(name, DEVNAME, "  created by this device");
	ok((f = fv_state_leaf(&st, "status")) != NULL && f->val != NULL,
	    "  its leaves are there");
	fv_state_free(&st);
	is_int(fv_store_record(s, A, a1, &st, NULL), 0, "  no name asked");
	fv_state_free(&st);
	is_int(fv_store_record(s, N, a1, &st, name), FV_ENOTFOUND,
	    "record of the wrong type: FV_ENOTFOUND");
	ok(st.nops == 0 && st.oprefs == NULL, "  st left zeroed");

	is_int(fv_store_devices(s, count_device, &n), 0, "devices: walked");
	is_int(n, 1, "  only this device");
	memset(&d, 0, sizeof(d));
	memset(d.id, 0xff, sizeof(d.id)); /* after this device in id order */
	randombytes_buf(d.sign_pk, sizeof(d.sign_pk));
	snprintf(d.name, sizeof(d.name), "bukhara-tablet-2");
	snprintf(d.role, sizeof(d.role), "field");
	snprintf(d.group, sizeof(d.group), "bukhara");
	d.revoked = 1;
	ok(fv_store_begin(s) == 0 && fv_store_device_put(s, &d) == 0 &&
		fv_store_commit(s) == 0,
	    "a device put");
	n = 0;
	is_int(fv_store_devices(s, count_device, &n), 7,
	    "  a non-zero return of cb stops the walk and is returned");
	is_int(n, 2, "  at the second device");

	is_int(fv_json_devices(s, &j), 0, "devices as the API's JSON");
	is_int((int)json_array_size(j), 2, "  two of them");
	ok(json_object_get(json_array_get(j, 0), "group") == NULL &&
		json_object_get(json_array_get(j, 0), "revoked") == NULL,
	    "  this device's own row: no group, no revoked");
	fv_op_id_hex(d.id, hex);
	sodium_bin2hex(pk, sizeof(pk), d.sign_pk, 32);
	snprintf(want, sizeof(want),
	    "{\"group\":\"bukhara\",\"id\":\"%s\",\"name\":"
	    "\"bukhara-tablet-2\",\"public_key\":\"%s\",\"revoked\":true,"
	    "\"role\":\"field\"}",
	    hex, pk);
	txt = json_dumps(json_array_get(j, 1), JSON_COMPACT | JSON_SORT_KEYS);
	is_str(txt, want, "  the device put, every field");
	free(txt);
	json_decref(j);
}

static void
test_update(struct fv_store *s)
{
	struct fv_verr e;
	struct fv_store_stats st0, st1;
	json_t *p, *j = NULL, *h = NULL, *f;
	int changed = -1;
	uint64_t seq;

	p = json_loads(
	    "{\"status\":\"under_review\","
	    "\"applicant\":{\"location\":null},\"x_source\":{\"batch\":8}}",
	    0, NULL);
	fv_store_begin(s);
	is_int(fv_store_update(s, A, a1, p, &e, &changed), 0,
	    "update a1 with a merge patch");
	is_int(changed, 1, "  changed");
	/* a3 gets an edit too: an edited record is stored with its leaves */
	json_decref(p);
	p = json_pack("{s:s}", "status", "forwarded");
	changed = -1;
	is_int(fv_store_update(s, A, a3, p, &e, &changed), 0, "update a3");
	is_int(changed, 1, "  changed");
	json_decref(p);
	is_int(fv_store_commit(s), 0, "commit");

	is_int(fv_json_record(s, A, a1, &j), 0, "get a1");
	is_str(json_string_value(json_object_get(j, "status")), "under_review",
	    "  status patched");
	ok(json_object_get(json_object_get(j, "applicant"), "location") == NULL,
	    "  applicant.location removed by null");
	is_str(json_string_value(json_object_get(
		   json_object_get(j, "applicant"), "full_name")),
	    "Дилноза Эшматова",
	    "  applicant.full_name kept (patch merged, not replaced)");
	is_int(json_integer_value(
		   json_object_get(json_object_get(j, "x_source"), "batch")),
	    8, "  x_ value patched");
	ok(json_equal(json_object_get(j, "tags"),
	       json_object_get(b_a1, "tags")),
	    "  tags untouched");
	ok(strcmp(json_string_value(json_object_get(j, "updated_at")),
	       json_string_value(json_object_get(j, "created_at"))) >= 0,
	    "  updated_at not before created_at");
	json_decref(j);

	is_int(fv_json_history(s, a1, &h), 0, "history of a1");
	is_int(json_array_size(h), 2, "  two entries");
	is_str(json_string_value(json_object_get(json_array_get(h, 0), "op")),
	    "create", "  first: create");
	is_str(json_string_value(json_object_get(json_array_get(h, 0),
		   "device_name")),
	    DEVNAME, "  by this device");
	is_str(json_string_value(json_object_get(json_array_get(h, 1), "op")),
	    "update", "  second: update");
	f = json_object_get(json_array_get(h, 1), "fields");
	ok(json_object_size(f) == 3 &&
		json_is_null(json_object_get(f, "applicant.location")) &&
		json_string_value(json_object_get(f, "status")) != NULL &&
		strcmp(json_string_value(json_object_get(f, "status")),
		    "under_review") == 0 &&
		json_integer_value(json_object_get(
		    json_object_get(f, "x_source"), "batch")) == 8,
	    "  the update names exactly the changed leaves, removal as null");
	ok(json_integer_value(json_object_get(json_array_get(h, 1), "seq")) >
		json_integer_value(json_object_get(json_array_get(h, 0),
		    "seq")),
	    "  in seq order");
	json_decref(h);

	/* the same patch again changes nothing and writes nothing */
	fv_store_stats(s, &st0);
	p = json_loads("{\"status\":\"under_review\","
		       "\"applicant\":{\"location\":null}}",
	    0, NULL);
	fv_store_begin(s);
	changed = -1;
	is_int(fv_store_update(s, A, a1, p, &e, &changed), 0,
	    "an identical patch");
	is_int(changed, 0, "  changed = 0");
	is_int(fv_store_commit(s), 0, "  commit");
	json_decref(p);
	fv_store_stats(s, &st1);
	is_int(st1.seq, st0.seq, "  no new op");
	h = NULL;
	fv_json_history(s, a1, &h);
	is_int(json_array_size(h), 2, "  no new history entry");
	json_decref(h);

	/* refused patches */
	seq = st1.seq;
	fv_store_begin(s);
	p = json_pack("{s:s}", "status", "lost");
	memset(&e, 0, sizeof(e));
	is_int(fv_store_update(s, A, a1, p, &e, &changed), FV_EINVAL,
	    "a patch with a bad status is refused");
	is_str(e.field, "status", "  naming status");
	json_decref(p);
	p = json_pack("{s:n}", "summary");
	memset(&e, 0, sizeof(e));
	is_int(fv_store_update(s, A, a1, p, &e, &changed), FV_EINVAL,
	    "a patch removing a required field is refused");
	is_str(e.field, "summary", "  naming summary");
	json_decref(p);
	p = json_pack("{s:s}", "colour", "red");
	memset(&e, 0, sizeof(e));
	is_int(fv_store_update(s, A, a1, p, &e, &changed), FV_EINVAL,
	    "a patch with an unknown field is refused");
	is_str(e.field, "colour", "  naming it");
	json_decref(p);
	{
		uint8_t missing[FV_ID_BYTES];
		char hex[33];

		randombytes_buf(missing, sizeof(missing));
		fv_op_id_hex(missing, hex);
		p = json_pack("{s:s}", "appeal_id", hex);
		memset(&e, 0, sizeof(e));
		is_int(fv_store_update(s, N, n1, p, &e, &changed), FV_EINVAL,
		    "a note moved to a missing appeal is refused");
		is_str(e.field, "appeal_id", "  naming appeal_id");
		is_int(fv_store_update(s, A, missing, p, &e, &changed),
		    FV_ENOTFOUND, "update of an unknown id: FV_ENOTFOUND");
		json_decref(p);
	}
	p = json_pack("{s:s}", "status", "closed");
	is_int(fv_store_update(s, N, a1, p, &e, &changed), FV_ENOTFOUND,
	    "update of an appeal as a note: FV_ENOTFOUND");
	json_decref(p);
	/* a good note update in the same transaction still works */
	p = json_pack("{s:[s]}", "tags", "follow-up");
	changed = 0;
	is_int(fv_store_update(s, N, n1, p, &e, &changed), 0,
	    "after refusals the transaction goes on");
	is_int(changed, 1, "  changed");
	json_decref(p);
	is_int(fv_store_commit(s), 0, "  commit");
	fv_store_stats(s, &st1);
	is_int(st1.seq, seq + 1,
	    "  exactly one op for the refusals and "
	    "the update");
	j = NULL;
	fv_json_record(s, A, a1, &j);
	is_str(json_string_value(json_object_get(j, "status")), "under_review",
	    "refused patches changed nothing");
	json_decref(j);
}

static void
test_list(struct fv_store *s)
{
	is_str(list(s, A, NULL, NULL, NULL, NULL, NULL, NULL), "a1 a2 a3",
	    "list appeals: all, oldest first");
	is_str(list(s, N, NULL, NULL, NULL, NULL, NULL, NULL), "n1 n2",
	    "list notes");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, NULL), "a1 a2 a3 n1 n2",
	    "list everything");
	is_str(list(s, A, NULL, "KZ", NULL, NULL, NULL, NULL), "a2",
	    "filter by country");
	is_str(list(s, A, NULL, "RU", NULL, NULL, NULL, NULL), "a1 a3",
	    "filter by country RU");
	is_str(list(s, A, NULL, NULL, "health", NULL, NULL, NULL), "a3",
	    "filter by category");
	is_str(list(s, A, "under_review", NULL, NULL, NULL, NULL, NULL), "a1",
	    "filter by status");
	is_str(list(s, A, "received", NULL, NULL, NULL, NULL, NULL), "a2",
	    "filter by the default status");
	is_str(list(s, A, NULL, NULL, NULL, "moscow-team", NULL, NULL), "a1",
	    "filter by assigned_to");
	is_str(list(s, A, "under_review", "KZ", NULL, NULL, NULL, NULL), "",
	    "filters combine (none match)");
	is_str(list(s, N, NULL, NULL, NULL, NULL, a1, NULL), "n1",
	    "notes of one appeal");
	is_str(list(s, N, NULL, NULL, NULL, NULL, a3, NULL), "",
	    "notes of an appeal that has none");

	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "эшматова"), "a1",
	    "query \"эшматова\" finds \"Эшматова\"");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "ДИЛНОЗА"), "a1",
	    "query in upper case");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "g\xca\xbbulomov"),
	    "a2", "query \"gʻulomov\" finds \"Gʻulomov\"");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "g'ulomov"), "a2",
	    "query with an ASCII apostrophe finds it too");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "алматы"), "a2",
	    "query matches the location");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "КИРПИЧНОМ"), "a2",
	    "a word only in the summary is found");
	is_str(list(s, N, NULL, NULL, NULL, NULL, NULL, "условия"), "n1",
	    "a word in a note's text is found");
	is_str(list(s, A, NULL, "RU", NULL, NULL, NULL, "кирпичном"), "",
	    "query and filter together");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "москва"), "",
	    "a removed location no longer matches");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "zzzz-nothing"), "",
	    "a query that matches nothing");
	is_str(list(s, A, NULL, NULL, NULL, NULL, NULL, ""), "a1 a2 a3",
	    "an empty query matches everything");
}

static void
test_shred(struct fv_store *s)
{
	struct kf k0, k1;
	json_t *j = NULL, *h = NULL, *p;
	struct fv_verr e;
	struct fv_store_stats st;
	int z, ap, ch, files = 0, changed;
	size_t i;

	/* the scanner works: a control file with one canary form */
	{
		char cdir[PATH_MAX], cf[PATH_MAX + 8];
		FILE *f;
		struct needles one;

		snprintf(cdir, sizeof(cdir), "%s/control", root);
		snprintf(cf, sizeof(cf), "%s/x", cdir);
		mkdir(cdir, 0700);
		f = fopen(cf, "wb");
		fputs("....", f);
		fwrite(canaries.s[canaries.count - 2], 1,
		    canaries.n[canaries.count - 2], f); /* UTF-16LE */
		fclose(f);
		files = 0;
		scan_quiet = 1;
		ok(scan(cdir, &canaries, &files) >= 1 && files == 1,
		    "the scanner finds a canary in a file (control)");
		scan_quiet = 0;
		memset(&one, 0, sizeof(one));
		add_needle(&one, "no such thing", 13);
		files = 0;
		is_int(scan(cdir, &one, &files), 0,
		    "  and not what is not "
		    "there");
		free((void *)one.s[0]);
		unlink(cf);
		rmdir(cdir);
	}

	files = 0;
	is_int(scan(dir, &canaries, &files), 0,
	    "after commit: no canary "
	    "in any form in any file of the data dir");
	ok(files >= 3, "  (%d files scanned)", files);

	k0 = kf_read(dir);
	fv_store_begin(s);
	is_int(fv_store_delete(s, A, a3), 0,
	    "delete a3 (edited: stored "
	    "with its leaves)");
	is_int(fv_store_delete(s, N, n2), 0,
	    "delete n2 (never edited: "
	    "stored as its op)");
	is_int(fv_store_delete(s, A, n1), FV_ENOTFOUND,
	    "delete a note as "
	    "an appeal: FV_ENOTFOUND");
	is_int(fv_json_record(s, A, a3, &j), FV_EDELETED,
	    "  inside the "
	    "transaction a3 reads as deleted");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	ok(z == 0 && ap == 0 && ch == 0, "  its key stays until commit");
	kf_free(&k1);
	is_int(fv_store_commit(s), 0, "commit the deletes");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	is_int(z, 2, "exactly two 72-byte key slots are now all zero");
	ok(ap == 0 && ch == 0, "  and no other slot changed");
	is_int(kf_used(&k1), 3, "  three live keys left");
	kf_free(&k0);
	kf_free(&k1);

	is_int(fv_json_record(s, A, a3, &j), FV_EDELETED,
	    "get a3: "
	    "FV_EDELETED");
	is_int(fv_json_record(s, N, n2, &j), FV_EDELETED,
	    "get n2: "
	    "FV_EDELETED");
	p = json_pack("{s:s}", "status", "closed");
	fv_store_begin(s);
	is_int(fv_store_update(s, A, a3, p, &e, &changed), FV_EDELETED,
	    "update a3: FV_EDELETED");
	is_int(fv_store_delete(s, A, a3), FV_EDELETED,
	    "delete a3 again: "
	    "FV_EDELETED");
	is_int(fv_store_create(s, A, b_a1, a3, &e), FV_EEXIST,
	    "create with a3's id: FV_EEXIST (the tombstone stays)");
	is_int(fv_store_commit(s), 0, "  commit (nothing written)");
	json_decref(p);

	is_int(fv_json_history(s, a3, &h), 0, "history of a3");
	is_int(json_array_size(h), 3,
	    "  three entries: create, update, "
	    "delete");
	for (i = 0, z = 0; i + 1 < json_array_size(h); i++)
		if (json_is_true(json_object_get(json_array_get(h, i),
			"shredded")) &&
		    json_object_get(json_array_get(h, i), "fields") == NULL)
			z++;
	is_int(z, 2,
	    "  the create and the update are \"shredded\", without "
	    "fields");
	is_str(json_string_value(json_object_get(
		   json_array_get(h, json_array_size(h) - 1), "op")),
	    "delete",
	    "  the last is the "
	    "delete");
	ok(json_object_get(json_array_get(h, json_array_size(h) - 1),
	       "fields") == NULL,
	    "  which carries no content");
	{
		char *t = json_dumps(h, 0);

		ok(t != NULL && strstr(t, "Канарейка") == NULL,
		    "  no content in the history");
		free(t);
	}
	json_decref(h);
	h = NULL;
	is_int(fv_json_history(s, n2, &h), 0, "history of n2");
	ok(json_array_size(h) == 2 &&
		json_is_true(json_object_get(json_array_get(h, 0), "shredded")),
	    "  create shredded, delete");
	json_decref(h);

	is_int(fv_store_stats(s, &st), 0, "stats");
	ok(st.appeals == 2 && st.notes == 1, "  2 appeals, 1 note left");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, NULL), "a1 a2 n1",
	    "deleted records are not listed");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL,
		   strstr(can_note, "QzNote")),
	    "", "nor found");

	files = 0;
	is_int(scan(dir, &canaries, &files), 0,
	    "after delete: still no "
	    "canary in any form anywhere");
}

/* retention = purge_after_sync: what HQ holds and does not assign back
 * is crypto-shredded; what is assigned back, notes on it, and records
 * with ops above the receipt stay. */
static void
test_purge(struct fv_store *s)
{
	struct fv_verr e;
	struct fv_store_stats st;
	struct kf k0, k1;
	const uint8_t *p1 = new_rid("p1"), *p2 = new_rid("p2");
	size_t purged = 9, kept = 9, live;
	uint64_t up;
	json_t *j = NULL;
	int z, ap, ch, files = 0;

	fv_store_begin(s);
	is_int(fv_store_create(s, A, b_a3, p1, &e), 0, "purge: create p1");
	is_int(fv_store_commit(s), 0, "  commit");
	fv_store_stats(s, &st);
	up = st.seq; /* what HQ's receipt covers */
	fv_store_begin(s);
	is_int(fv_store_create(s, A, b_a2, p2, &e), 0,
	    "  create p2 after "
	    "the receipt's seq");
	is_int(fv_store_commit(s), 0, "  commit");
	is_int(fv_store_purge(s, up, "moscow-team", &purged, &kept), FV_EBUSY,
	    "purge outside a transaction: FV_EBUSY");
	fv_store_stats(s, &st);
	live = st.appeals + st.notes;
	k0 = kf_read(dir);
	fv_store_begin(s);
	is_int(fv_store_purge(s, up, "moscow-team", &purged, &kept), 0,
	    "purge up to the receipt, group moscow-team");
	is_int((int)purged, (int)live - 3,
	    "  every other record purged "
	    "(a2: no group, p1, ...: %zu)",
	    live - 3);
	is_int((int)kept, 3,
	    "  3 kept: a1 (moscow-team), n1 (a note on "
	    "a1), p2 (not receipted)");
	is_int(fv_store_commit(s), 0, "  commit");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	is_int(z, (int)purged,
	    "  exactly as many key slots are now all "
	    "zero");
	ok(ap == 0 && ch == 0, "  and no other slot changed");
	kf_free(&k0);
	kf_free(&k1);
	is_int(fv_json_record(s, A, p1, &j), FV_ENOTFOUND, "  p1 is gone");
	is_int(fv_json_record(s, A, a2, &j), FV_ENOTFOUND, "  a2 is gone");
	is_int(fv_json_history(s, p1, &j), FV_ENOTFOUND,
	    "  with its "
	    "history");
	ok(fv_json_record(s, A, a1, &j) == 0, "  a1 stays");
	json_decref(j);
	j = NULL;
	ok(fv_json_record(s, N, n1, &j) == 0, "  n1 stays");
	json_decref(j);
	j = NULL;
	ok(fv_json_record(s, A, p2, &j) == 0, "  p2 stays");
	json_decref(j);
	j = NULL;
	fv_store_stats(s, &st);
	ok(st.appeals == 2 && st.notes == 1, "  2 appeals and 1 note held");
	fv_store_begin(s);
	is_int(fv_store_create(s, A, b_a3, p1, &e), FV_EEXIST,
	    "  p1's id "
	    "is not free again");
	fv_store_abort(s);
	fv_store_begin(s);
	is_int(fv_store_purge(s, up, "moscow-team", &purged, &kept), 0,
	    "purge again");
	is_int((int)purged, 0, "  purges nothing more");
	fv_store_commit(s);
	files = 0;
	is_int(scan(dir, &canaries, &files), 0,
	    "after the purge: no "
	    "canary in any form anywhere");
}

static void
test_abort(struct fv_store *s)
{
	struct kf k0, k1;
	struct fv_verr e;
	json_t *b, *j = NULL, *p;
	const uint8_t *x = new_rid("x");
	int z, ap, ch, changed, files = 0;

	b = appeal(can_name, NULL, "UZ", "other", can_sum, NULL);
	k0 = kf_read(dir);
	fv_store_begin(s);
	is_int(fv_store_create(s, A, b, x, &e), 0, "create x");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	ok(ap == 1 && z == 0 && ch == 0, "  its key is written to a slot");
	kf_free(&k1);
	fv_store_abort(s);
	is_int(fv_json_record(s, A, x, &j), FV_ENOTFOUND,
	    "after abort x does "
	    "not exist");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	ok(ap == 0 && z == 0 && ch == 0,
	    "  and its key slot is zero again "
	    "(every other slot as it was)");
	kf_free(&k0);
	kf_free(&k1);
	is_int(scan(dir, &canaries, &files), 0, "  no canary on disk");
	json_decref(b);

	p = json_pack("{s:s}", "status", "closed");
	fv_store_begin(s);
	fv_store_update(s, A, a1, p, &e, &changed);
	fv_store_abort(s);
	json_decref(p);
	fv_json_record(s, A, a1, &j);
	is_str(json_string_value(json_object_get(j, "status")), "under_review",
	    "an aborted update changed nothing");
	json_decref(j);
	fv_store_abort(s);
	ok(1, "abort without a transaction is harmless");
	{
		struct fv_store_stats st;

		fv_store_stats(s, &st);
		ok(st.appeals == 2 && st.notes == 1, "  counts unchanged");
	}
}

static void
test_fds(struct fv_store *s, const char *d, const char *what)
{
	int fds[8], n, i, bad = 0, m, nocl;

	n = fv_store_fds(s, fds, 8);
	is_int(n, 2, "%s: fv_store_fds gives the LMDB and key file fds", what);
	for (i = 0; i < n; i++)
		if (fds[i] < 0 || !(fcntl(fds[i], F_GETFD) & FD_CLOEXEC))
			bad++;
	is_int(bad, 0, "%s: they have FD_CLOEXEC", what);
	fds_under(d, &m, &nocl);
	ok(m >= 3, "%s: %d fds open under the data dir", what, m);
	is_int(nocl, 0, "%s: every one has FD_CLOEXEC", what);
}

static struct fv_store *
test_persist(struct fv_store *s)
{
	json_t *g1 = NULL, *g2 = NULL, *gn = NULL, *h1 = NULL, *j = NULL;
	json_t *h = NULL;
	struct fv_store_stats st0, st1;
	struct fv_verr e;
	struct kf k0, k1;
	size_t used_locked;
	int m, nocl, z, ap, ch, files = 0;
	uint8_t junk[FV_SLOT_BYTES];
	char kp[PATH_MAX + 16];

	fv_json_record(s, A, a1, &g1);
	fv_json_record(s, A, a2, &g2);
	fv_json_record(s, N, n1, &gn);
	fv_json_history(s, a1, &h1);
	fv_store_stats(s, &st0);

	/* lock and unlock in place */
	fv_store_lock(s);
	is_int(fv_store_locked(s), 1, "lock");
	is_int(fv_json_record(s, A, a1, &j), FV_ELOCKED, "  get refused");
	used_locked = fv_secmem_used();
	is_int(used_locked, kek_used,
	    "  only the test's KEK left in secret "
	    "memory");
	is_int(fv_store_unlock(s, kek), 0, "unlock again with the same KEK");

	fv_store_close(s);
	fds_under(dir, &m, &nocl);
	is_int(m, 0, "close leaves no fd open under the data dir");
	is_int(fv_secmem_used(), kek_used, "close wipes the store's keys");
	s = NULL;
	is_int(fv_store_open(dir, &s), 0, "reopen");
	if (s == NULL)
		return NULL;
	is_int(fv_store_locked(s), 1, "  locked");
	is_int(fv_store_unlock(s, kek), 0, "  unlock (no new derivation)");

	is_int(fv_json_record(s, A, a1, &j), 0, "a1 is there");
	ok(json_equal(j, g1), "  identical, timestamps included");
	json_decref(j);
	j = NULL;
	fv_json_record(s, A, a2, &j);
	ok(json_equal(j, g2), "a2 identical");
	json_decref(j);
	j = NULL;
	fv_json_record(s, N, n1, &j);
	ok(json_equal(j, gn), "n1 identical");
	json_decref(j);
	j = NULL;
	is_int(fv_json_record(s, A, a3, &j), FV_EDELETED, "a3 still deleted");
	fv_json_history(s, a1, &h);
	ok(json_equal(h, h1), "a1's history identical");
	json_decref(h);
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, NULL), "a1 a2 n1",
	    "list as before");
	is_str(list(s, 0, NULL, NULL, NULL, NULL, NULL, "эшматова"), "a1",
	    "search as before (index rebuilt)");
	fv_store_stats(s, &st1);
	ok(st1.seq == st0.seq && st1.appeals == 2 && st1.notes == 1,
	    "stats as before");
	test_fds(s, dir, "after reopen");

	/* the clock went on: a new op takes the next seq */
	fv_store_begin(s);
	is_int(fv_store_create(s, A, b_a2, new_rid("a4"), &e), 0,
	    "create after reopen");
	is_int(fv_store_commit(s), 0, "  commit");
	fv_store_stats(s, &st1);
	is_int(st1.seq, st0.seq + 1, "  seq continues from the stored clock");

	/* a slot written by a transaction that never committed is
	 * scrubbed at unlock */
	k0 = kf_read(dir);
	memset(junk, 0xab, sizeof(junk));
	snprintf(kp, sizeof(kp), "%s/recordkeys", dir);
	{
		int fd = open(kp, O_WRONLY | O_CLOEXEC);

		ok(fd >= 0 &&
			pwrite(fd, junk, sizeof(junk),
			    64 + (off_t)(k0.nslots + 2) * FV_SLOT_BYTES) ==
			    (ssize_t)sizeof(junk),
		    "plant a stray key slot (as a "
		    "crash mid-write leaves)");
		close(fd);
	}
	fv_store_lock(s);
	is_int(fv_store_unlock(s, kek), 0, "lock and unlock");
	k1 = kf_read(dir);
	kf_diff(&k0, &k1, &z, &ap, &ch);
	ok(z == 0 && ap == 0 && ch == 0,
	    "  the stray slot is scrubbed, live "
	    "slots untouched");
	kf_free(&k0);
	kf_free(&k1);
	j = NULL;
	is_int(fv_json_record(s, A, a1, &j), 0, "  records still readable");
	json_decref(j);
	is_int(scan(dir, &canaries, &files), 0, "no canary after reopen");

	json_decref(g1);
	json_decref(g2);
	json_decref(gn);
	json_decref(h1);
	return s;
}

/* The daemon's writer: a group of creates, replayed after growing the
 * map when it fills.  Returns the commit's result. */
static int
writer_creates(struct fv_store *s, json_t **bodies, uint8_t (*rids)[16], int n,
    int *grown, int *first_full)
{
	struct fv_verr e;
	int i, rc;

	*grown = 0;
again:
	if ((rc = fv_store_begin(s)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = fv_store_create(s, A, bodies[i], rids[i], &e)) != 0)
			break;
	if (rc == FV_EMAPFULL && *grown < 8) {
		if (*first_full < 0)
			*first_full = i;
		fv_store_abort(s);
		if ((rc = fv_store_grow(s)) != 0)
			return rc;
		(*grown)++;
		goto again;
	}
	if (rc != 0) {
		fv_store_abort(s);
		return rc;
	}
	return fv_store_commit(s);
}

static void
test_growth(void)
{
	enum {
		MAXREC = 600
	};
	static json_t *bodies[MAXREC];
	static uint8_t rids[MAXREC][16];
	struct fv_store *s = NULL;
	struct fv_store_stats st;
	struct fv_verr e;
	struct kf k;
	json_t *j;
	char sum[20001];
	int i, n, rc = 0, grown, first = -1, present;

	fv_store_set_initial_map((size_t)1 << 20);
	is_int(fv_store_init(dir2, "hq", "ombudsman-hq", PASS, strlen(PASS)), 0,
	    "init a second store with a 1 MiB map");
	is_int(fv_store_open(dir2, &s), 0, "  open it");
	if (s == NULL)
		return;
	is_int(fv_store_derive(s, PASS, strlen(PASS), kek), 0, "  derive");
	is_int(fv_store_unlock(s, kek), 0, "  unlock");
	fv_store_stats(s, &st);
	is_int(st.map_bytes, 1 << 20, "  map is 1 MiB");

	for (i = 0; i < MAXREC; i++) {
		size_t c;

		for (c = 0; c < sizeof(sum) - 1; c++)
			sum[c] = (char)('a' + randombytes_uniform(26));
		sum[sizeof(sum) - 1] = '\0';
		bodies[i] = appeal("Map Filler", NULL, "TJ", "other", sum,
		    NULL);
		randombytes_buf(rids[i], 16);
	}

	fv_store_begin(s);
	for (n = 0; n < MAXREC; n++)
		if ((rc = fv_store_create(s, A, bodies[n], rids[n], &e)) != 0)
			break;
	is_int(rc, FV_EMAPFULL,
	    "creating 20 kB appeals fills the map: "
	    "FV_EMAPFULL");
	ok(n > 5 && n < MAXREC, "  after %d creates", n);
	is_int(fv_store_commit(s), FV_EMAPFULL,
	    "  a spoilt transaction "
	    "does not commit");
	j = NULL;
	is_int(fv_json_record(s, A, rids[0], &j), FV_ENOTFOUND,
	    "  nothing of "
	    "it was kept");
	k = kf_read(dir2);
	is_int(kf_used(&k), 0, "  no record key left in the key file");
	kf_free(&k);

	/* what the writer does: abort, grow, replay the same group */
	rc = writer_creates(s, bodies, rids, n + 1, &grown, &first);
	is_int(rc, 0, "abort, grow, replay the same %d creates: commit", n + 1);
	ok(grown >= 1, "  the map grew %d time(s)", grown);
	fv_store_stats(s, &st);
	ok(st.map_bytes >= (2u << 20), "  map is now %llu bytes",
	    (unsigned long long)st.map_bytes);
	is_int(st.appeals, n + 1, "  every record is there");
	for (present = 0, i = 0; i <= n; i++) {
		j = NULL;
		if (fv_json_record(s, A, rids[i], &j) == 0 &&
		    json_equal(json_object_get(j, "summary"),
			json_object_get(bodies[i], "summary")))
			present++;
		json_decref(j);
	}
	is_int(present, n + 1, "  and reads back whole");
	k = kf_read(dir2);
	is_int(kf_used(&k), n + 1, "  one key slot each");
	kf_free(&k);
	test_fds(s, dir2, "after growth");

	/* reopened with the small initial map: the file is bigger */
	fv_store_close(s);
	s = NULL;
	is_int(fv_store_open(dir2, &s), 0, "reopen with a 1 MiB initial map");
	if (s == NULL)
		goto out;
	is_int(fv_store_unlock(s, kek), 0, "  unlock");
	fv_store_stats(s, &st);
	is_int(st.appeals, n + 1, "  all %d records there", n + 1);
	rc = writer_creates(s, bodies + n + 1, rids + n + 1, MAXREC - n - 1,
	    &grown, &first);
	is_int(rc, 0, "  %d more creates commit (grown %d times)",
	    MAXREC - n - 1, grown);
	fv_store_stats(s, &st);
	is_int(st.appeals, MAXREC, "  %d records", MAXREC);
	fv_store_close(s);
out:
	for (i = 0; i < MAXREC; i++)
		json_decref(bodies[i]);
	fv_store_set_initial_map((size_t)64 << 20);
}

int
main(void)
{
	struct fv_store *s;
	char tail[33];
	uint8_t r[16];
	int i;

	if (sodium_init() < 0 || fv_secmem_init() != 0 || mkdtemp(root) == NULL)
		return 99;
	snprintf(dir, sizeof(dir), "%s/data", root);
	snprintf(dir2, sizeof(dir2), "%s/grow", root);

	randombytes_buf(r, sizeof(r));
	fv_op_id_hex(r, tail);
	snprintf(can_name, sizeof(can_name), "Канарейка Жёлтая %.16s", tail);
	snprintf(can_sum, sizeof(can_sum),
	    "Summary QzSummaryCanary%.12s "
	    "ends here.",
	    tail + 16);
	snprintf(can_note, sizeof(can_note), "Заметка QzNoteCanary%.10s",
	    tail + 20);
	{
		char t[64], h[17];

		snprintf(h, sizeof(h), "%.16s", tail);
		add_canary(&canaries, can_name, h);
		snprintf(t, sizeof(t), "QzSummaryCanary%.12s", tail + 16);
		snprintf(h, sizeof(h), "%.12s", tail + 16);
		add_canary(&canaries, t, h);
		snprintf(h, sizeof(h), "%.10s", tail + 20);
		add_canary(&canaries, can_note, h);
	}

	s = test_init_open();
	if (s != NULL) {
		test_create(s);
		test_get(s);
		test_record_devices(s);
		test_update(s);
		test_list(s);
		test_shred(s);
		test_abort(s);
		test_fds(s, dir, "main store");
		s = test_persist(s);
		test_purge(s);
		fv_store_close(s);
	}
	test_growth();

	fv_secmem_free(kek);
	json_decref(b_a1);
	json_decref(b_a2);
	json_decref(b_a3);
	json_decref(b_n1);
	json_decref(b_n2);
	for (i = 0; i < canaries.count; i++)
		free((void *)canaries.s[i]);
	rm_rf(root);
	ok(access(root, F_OK) != 0, "temporary directory removed");
	return done_testing();
}
