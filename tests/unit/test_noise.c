/*
 * test_noise.c - Noise handshakes and transport (noise.h): every cacophony
 * vector (NN, KK, IK, XX over 25519/ChaChaPoly/BLAKE2b) byte for byte, then
 * tampering, truncation at every length, size limits, rekey, nonces,
 * remote statics, low-order keys, and that every secret block is returned.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "noise.h"
#include "secmem.h"
#include "tap.h"

#define VECTORS "tests/vectors/noise-25519-chachapoly-blake2b.json"
#define NPAT	4

static const char *const patname[NPAT] = { "NN", "KK", "IK", "XX" };
static const int nmsgs[NPAT] = { 2, 2, 2, 3 };
/* Shortest valid handshake message, per pattern and message. */
static const size_t minlen[NPAT][3] = {
	[FV_NOISE_NN] = { 32, 48 },
	[FV_NOISE_KK] = { 48, 48 },
	[FV_NOISE_IK] = { 96, 48 },
	[FV_NOISE_XX] = { 32, 96, 64 },
};

static uint8_t mbuf[FV_NOISE_MSG_MAX + 64], pbuf[FV_NOISE_MSG_MAX + 64];
static size_t mlen;
static uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32];
static uint8_t fix_ie[32], fix_re[32];
static const uint8_t prologue[] = "fieldvault test";

/* ---------------------------------------------------------------------- */

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len;

	if (hex == NULL ||
	    sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL) != 0)
		return SIZE_MAX;
	return len;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A 32-byte key from the vector, if present. */
static int
jkey(const json_t *v, const char *k, uint8_t out[32])
{
	const char *s = jstr(v, k);

	return s != NULL && unhex(s, out, 32) == 32;
}

static void
diag_hex(const char *what, const uint8_t *p, size_t n)
{
	char hex[2 * 256 + 1];

	if (n > 256)
		n = 256;
	sodium_bin2hex(hex, sizeof(hex), p, n);
	diag("%s: %s", what, hex);
}

static int
same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* ---------------------------------------------------------------------- */

/* Starts an initiator and a responder for p with the test's statics (and
 * fixed ephemerals when fixed): each side gets what its pattern needs. */
static int
start(enum fv_noise_pattern p, int fixed, struct fv_noise_hs **i,
    struct fv_noise_hs **r)
{
	int rc;

	*i = *r = NULL;
	rc = fv_noise_hs_new(p, 1, prologue, sizeof(prologue) - 1,
	    p == FV_NOISE_NN ? NULL : ipriv,
	    p == FV_NOISE_IK || p == FV_NOISE_KK ? rpub : NULL,
	    fixed ? fix_ie : NULL, i);
	if (rc != 0)
		return rc;
	rc = fv_noise_hs_new(p, 0, prologue, sizeof(prologue) - 1,
	    p == FV_NOISE_NN ? NULL : rpriv, p == FV_NOISE_KK ? ipub : NULL,
	    fixed ? fix_re : NULL, r);
	if (rc != 0) {
		fv_noise_hs_free(*i);
		*i = NULL;
	}
	return rc;
}

/* The payload carried by message m: none where it would travel in clear. */
static const char *
payload_of(enum fv_noise_pattern p, int m)
{
	static const char *const pl[3] = { "payload 0", "payload 1",
		"payload 2" };

	if (m == 0 && (p == FV_NOISE_NN || p == FV_NOISE_XX))
		return "";
	return pl[m];
}

/* Writes handshake message m (into mbuf/mlen). */
static int
put(enum fv_noise_pattern p, struct fv_noise_hs *i, struct fv_noise_hs *r,
    int m)
{
	const char *pl = payload_of(p, m);

	return fv_noise_hs_write(m % 2 == 0 ? i : r, (const uint8_t *)pl,
	    strlen(pl), mbuf, sizeof(mbuf), &mlen);
}

/* Reads mbuf/mlen as message m and checks its payload. */
static int
get(enum fv_noise_pattern p, struct fv_noise_hs *i, struct fv_noise_hs *r,
    int m)
{
	const char *pl = payload_of(p, m);
	size_t n;
	int rc;

	rc = fv_noise_hs_read(m % 2 == 0 ? r : i, mbuf, mlen, pbuf,
	    sizeof(pbuf), &n);
	if (rc == 0 && !same(pbuf, n, (const uint8_t *)pl, strlen(pl)))
		rc = FV_ECORRUPT;
	return rc;
}

/* Exchanges messages [0, upto). */
static int
steps(enum fv_noise_pattern p, struct fv_noise_hs *i, struct fv_noise_hs *r,
    int upto)
{
	int m, rc;

	for (m = 0; m < upto; m++)
		if ((rc = put(p, i, r, m)) != 0 || (rc = get(p, i, r, m)) != 0)
			return rc;
	return 0;
}

/* A whole handshake and split; *i and *r are freed. */
static int
session(enum fv_noise_pattern p, int fixed, struct fv_noise_cs **ci,
    struct fv_noise_cs **cr)
{
	struct fv_noise_hs *i, *r;
	int rc;

	*ci = *cr = NULL;
	if ((rc = start(p, fixed, &i, &r)) != 0)
		return rc;
	if ((rc = steps(p, i, r, nmsgs[p])) == 0 &&
	    (rc = fv_noise_hs_split(i, ci)) == 0 &&
	    (rc = fv_noise_hs_split(r, cr)) != 0) {
		fv_noise_cs_free(*ci);
		*ci = NULL;
	}
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);
	return rc;
}

/* Sends len bytes from a to b; 0 when b reads exactly them. */
static int
talk(struct fv_noise_cs *a, struct fv_noise_cs *b, const char *s)
{
	uint8_t ct[128], pt[128];
	size_t len = strlen(s);
	int rc;

	if ((rc = fv_noise_encrypt(a, NULL, 0, (const uint8_t *)s, len, ct)) !=
	    0)
		return rc;
	if ((rc = fv_noise_decrypt(b, NULL, 0, ct, len + 16, pt)) != 0)
		return rc;
	return same(pt, len, (const uint8_t *)s, len) ? 0 : FV_ECORRUPT;
}

/* ---------------------------------------------------------------------- */

static void
run_vector(const json_t *v, int *seen)
{
	struct fv_noise_hs *ihs = NULL, *rhs = NULL;
	struct fv_noise_cs *ics = NULL, *rcs = NULL;
	const json_t *msgs, *m;
	const char *name = jstr(v, "protocol_name");
	const char *pn;
	uint8_t ipro[256], rpro[256], is[32], ie[32], rs[32], re[32];
	uint8_t ip[32], rp[32], k[32], h[64], hwant[64];
	uint8_t pt[1024], ct[1024], got[1024];
	size_t ipl, rpl, ptl, ctl, n;
	int p, has_is, has_rs, i, rc, rc2, from_i;

	for (p = 0; p < NPAT; p++)
		if (name != NULL &&
		    strcmp(name, fv_noise_protocol_name(p)) == 0)
			break;
	if (p == NPAT) {
		ok(0, "vector %s: a pattern we implement", name ? name : "?");
		return;
	}
	seen[p]++;
	pn = patname[p];
	ipl = unhex(jstr(v, "init_prologue"), ipro, sizeof(ipro));
	rpl = unhex(jstr(v, "resp_prologue"), rpro, sizeof(rpro));
	has_is = jkey(v, "init_static", is);
	has_rs = jkey(v, "resp_static", rs);
	if (ipl == SIZE_MAX || rpl == SIZE_MAX ||
	    !jkey(v, "init_ephemeral", ie) || !jkey(v, "resp_ephemeral", re) ||
	    unhex(jstr(v, "handshake_hash"), hwant, 64) != 64 ||
	    (msgs = json_object_get(v, "messages")) == NULL) {
		ok(0, "%s: vector is well formed", pn);
		return;
	}
	if (has_is)
		crypto_scalarmult_base(ip, is);
	if (has_rs)
		crypto_scalarmult_base(rp, rs);
	if (jkey(v, "init_remote_static", k))
		ok(has_rs && memcmp(k, rp, 32) == 0,
		    "%s: init_remote_static is resp_static's public key", pn);
	if (jkey(v, "resp_remote_static", k))
		ok(has_is && memcmp(k, ip, 32) == 0,
		    "%s: resp_remote_static is init_static's public key", pn);

	rc = fv_noise_hs_new(p, 1, ipro, ipl, has_is ? is : NULL,
	    p == FV_NOISE_IK || p == FV_NOISE_KK ? rp : NULL, ie, &ihs);
	rc2 = fv_noise_hs_new(p, 0, rpro, rpl, has_rs ? rs : NULL,
	    p == FV_NOISE_KK ? ip : NULL, re, &rhs);
	ok(rc == 0 && rc2 == 0, "%s: initiator and responder start", pn);
	if (rc != 0 || rc2 != 0)
		goto out;

	for (i = 0; i < (int)json_array_size(msgs); i++) {
		m = json_array_get(msgs, i);
		from_i = i % 2 == 0;
		ptl = unhex(jstr(m, "payload"), pt, sizeof(pt));
		ctl = unhex(jstr(m, "ciphertext"), ct, sizeof(ct));
		if (ptl == SIZE_MAX || ctl == SIZE_MAX) {
			ok(0, "%s: message %d is well formed", pn, i);
			break;
		}
		if (ics == NULL) {
			rc = fv_noise_hs_write(from_i ? ihs : rhs, pt, ptl, got,
			    sizeof(got), &n);
			if (!ok(rc == 0 && same(got, n, ct, ctl),
				"%s: handshake message %d (%s): ciphertext matches",
				pn, i, from_i ? "initiator" : "responder")) {
				diag("rc %d", rc);
				diag_hex("got ", got, n);
				diag_hex("want", ct, ctl);
			}
			rc = fv_noise_hs_read(from_i ? rhs : ihs, ct, ctl, got,
			    sizeof(got), &n);
			ok(rc == 0 && same(got, n, pt, ptl),
			    "%s: handshake message %d: payload matches", pn, i);
			if (!fv_noise_hs_done(ihs) && !fv_noise_hs_done(rhs))
				continue;
			ok(fv_noise_hs_done(ihs) && fv_noise_hs_done(rhs),
			    "%s: both sides done after message %d", pn, i);
			fv_noise_hs_hash(ihs, h);
			if (!ok(memcmp(h, hwant, 64) == 0,
				"%s: initiator's handshake hash matches", pn))
				diag_hex("got", h, 64);
			fv_noise_hs_hash(rhs, h);
			ok(memcmp(h, hwant, 64) == 0,
			    "%s: responder's handshake hash matches", pn);
			rc = fv_noise_hs_remote_static(ihs, k);
			ok(has_rs ? rc == 0 && memcmp(k, rp, 32) == 0 :
				    rc == FV_ENOTFOUND,
			    "%s: initiator's remote static %s", pn,
			    has_rs ? "is the responder's" : "is unknown");
			rc = fv_noise_hs_remote_static(rhs, k);
			ok(has_is ? rc == 0 && memcmp(k, ip, 32) == 0 :
				    rc == FV_ENOTFOUND,
			    "%s: responder's remote static %s", pn,
			    has_is ? "is the initiator's" : "is unknown");
			rc = fv_noise_hs_split(ihs, &ics);
			rc2 = fv_noise_hs_split(rhs, &rcs);
			ok(rc == 0 && rc2 == 0, "%s: split", pn);
			if (rc != 0 || rc2 != 0)
				break;
			continue;
		}
		rc = fv_noise_encrypt(from_i ? ics : rcs, NULL, 0, pt, ptl,
		    got);
		ok(rc == 0 && same(got, ptl + 16, ct, ctl),
		    "%s: transport message %d (%s): ciphertext matches", pn, i,
		    from_i ? "initiator" : "responder");
		rc = fv_noise_decrypt(from_i ? rcs : ics, NULL, 0, ct, ctl,
		    got);
		ok(rc == 0 && ctl >= 16 && same(got, ctl - 16, pt, ptl),
		    "%s: transport message %d: payload matches", pn, i);
	}
	ok(ics != NULL && rcs != NULL &&
		fv_noise_nonce(ics, FV_NOISE_SEND) +
			fv_noise_nonce(rcs, FV_NOISE_SEND) ==
		    json_array_size(msgs) - (size_t)nmsgs[p],
	    "%s: every transport message used one nonce", pn);
out:
	fv_noise_cs_free(ics);
	fv_noise_cs_free(rcs);
	fv_noise_hs_free(ihs);
	fv_noise_hs_free(rhs);
}

static void
test_vectors(void)
{
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX];
	json_error_t err;
	json_t *root, *vs;
	int seen[NPAT] = { 0 }, p;
	size_t i;

	if (top == NULL)
		top = getenv("srcdir");
	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", VECTORS);
	root = json_load_file(path, 0, &err);
	vs = json_object_get(root, "vectors");
	if (!ok(json_is_array(vs), "vectors load from %s", path)) {
		diag("%s:%d: %s", path, err.line, err.text);
		json_decref(root);
		return;
	}
	for (i = 0; i < json_array_size(vs); i++)
		run_vector(json_array_get(vs, i), seen);
	for (p = 0; p < NPAT; p++)
		is_int(seen[p], 1, "the %s vector was run", patname[p]);
	json_decref(root);
}

/* ---------------------------------------------------------------------- */

static void
test_api(void)
{
	struct fv_noise_hs *i = NULL, *r = NULL;
	struct fv_noise_cs *cs = (struct fv_noise_cs *)&cs, *cs2 = NULL;
	uint8_t k[32];
	size_t n;
	int p;

	for (p = 0; p < NPAT; p++) {
		char want[64];

		snprintf(want, sizeof(want),
		    "Noise_%s_25519_ChaChaPoly_BLAKE2b", patname[p]);
		is_str(fv_noise_protocol_name(p), want, "protocol name of %s",
		    patname[p]);
	}
	ok(fv_noise_protocol_name((enum fv_noise_pattern)7) == NULL,
	    "no name for an unknown pattern");

	is_int(fv_noise_hs_new(FV_NOISE_XX, 1, NULL, 0, NULL, NULL, NULL, &i),
	    FV_EINVAL, "XX without our static is refused");
	ok(i == NULL, "  and gives no handshake");
	is_int(fv_noise_hs_new(FV_NOISE_XX, 0, NULL, 0, rpriv, ipub, NULL, &i),
	    FV_EINVAL, "XX with a remote static is refused (XX learns it)");
	is_int(fv_noise_hs_new(FV_NOISE_NN, 1, NULL, 0, ipriv, NULL, NULL, &i),
	    FV_EINVAL, "NN with a static is refused");
	is_int(fv_noise_hs_new(FV_NOISE_KK, 0, NULL, 0, rpriv, NULL, NULL, &i),
	    FV_EINVAL, "KK responder without the initiator's key");
	is_int(fv_noise_hs_new(FV_NOISE_IK, 1, NULL, 0, ipriv, NULL, NULL, &i),
	    FV_EINVAL, "IK initiator without the responder's key");
	is_int(fv_noise_hs_new(FV_NOISE_IK, 0, NULL, 0, rpriv, ipub, NULL, &i),
	    FV_EINVAL, "IK responder given a remote static");
	is_int(fv_noise_hs_new(FV_NOISE_NN, 1, NULL, 3, NULL, NULL, NULL, &i),
	    FV_EINVAL, "a NULL prologue with a length");
	is_int(fv_noise_hs_new((enum fv_noise_pattern)9, 1, NULL, 0, NULL, NULL,
		   NULL, &i),
	    FV_EINVAL, "an unknown pattern");

	if (!ok(start(FV_NOISE_XX, 0, &i, &r) == 0, "XX starts"))
		return;
	is_int(fv_noise_hs_remote_static(i, k), FV_ENOTFOUND,
	    "remote static unknown before the handshake");
	is_int(fv_noise_hs_write(r, NULL, 0, mbuf, sizeof(mbuf), &n), FV_EINVAL,
	    "the responder may not write first");
	is_int(fv_noise_hs_split(i, &cs), FV_EINVAL, "no split before done");
	ok(cs == NULL, "  and no transport");
	is_int(fv_noise_hs_write(i, NULL, 0, mbuf, 31, &n), FV_EINVAL,
	    "an output buffer too small is refused");
	is_int(steps(FV_NOISE_XX, i, r, 3), 0,
	    "refused calls did not harm the handshake");
	is_int(fv_noise_hs_write(i, NULL, 0, mbuf, sizeof(mbuf), &n), FV_EINVAL,
	    "no message after the last");
	is_int(fv_noise_hs_split(i, &cs), 0, "split once done");
	is_int(fv_noise_hs_split(i, &cs2), FV_EINVAL, "  but not twice");
	fv_noise_cs_free(cs);
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);
	fv_noise_hs_free(NULL);
	fv_noise_cs_free(NULL);

	if (start(FV_NOISE_XX, 0, &i, &r) == 0) {
		is_int(fv_noise_hs_read(i, mbuf, 32, pbuf, sizeof(pbuf), &n),
		    FV_EINVAL, "the initiator may not read first");
		is_int(fv_noise_hs_write(i, NULL, 0, mbuf, sizeof(mbuf), &n),
		    FV_EINVAL, "  and that handshake is dead");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}
}

/* Every single-bit flip (bit 0 and bit 7 of each byte) in every handshake
 * message fails with FV_ECRYPTO, at that message or (no tag in it yet) the
 * next, and leaves the failing side dead with its secrets wiped. */
static void
test_tamper(void)
{
	struct fv_noise_hs *i, *r, *dead;
	size_t used, n, j, tries;
	int p, m, bit, rc, at, bad;

	for (p = 0; p < NPAT; p++) {
		for (m = 0; m < nmsgs[p]; m++) {
			bad = 0;
			tries = 0;
			for (j = 0;; j++) {
				for (bit = 0; bit < 2; bit++) {
					if (start(p, 1, &i, &r) != 0 ||
					    steps(p, i, r, m) != 0 ||
					    put(p, i, r, m) != 0 || j >= mlen) {
						if (j < mlen || j == 0)
							bad++;
						fv_noise_hs_free(i);
						fv_noise_hs_free(r);
						goto done;
					}
					tries++;
					mbuf[j] ^= bit ? 0x80 : 0x01;
					at = m;
					used = fv_secmem_used();
					if ((rc = get(p, i, r, m)) == 0 &&
					    m + 1 < nmsgs[p]) {
						at = m + 1;
						used = fv_secmem_used();
						if ((rc = put(p, i, r, at)) ==
						    0)
							rc = get(p, i, r, at);
					}
					dead = at % 2 == 0 ? r : i;
					if (rc != FV_ECRYPTO ||
					    fv_noise_hs_done(dead) ||
					    fv_noise_hs_write(dead, NULL, 0,
						mbuf, sizeof(mbuf),
						&n) != FV_EINVAL ||
					    fv_noise_hs_read(dead, mbuf, mlen,
						pbuf, sizeof(pbuf),
						&n) != FV_EINVAL ||
					    fv_secmem_used() >= used) {
						if (bad++ == 0)
							diag("%s msg %d byte "
							     "%zu: rc %d",
							    patname[p], m, j,
							    rc);
					}
					fv_noise_hs_free(i);
					fv_noise_hs_free(r);
				}
			}
		done:
			ok(bad == 0 && tries > 0,
			    "%s message %d: all %zu bit "
			    "flips fail with FV_ECRYPTO, leave the side dead "
			    "and wiped",
			    patname[p], m, tries);
		}
	}
}

/* Every truncation of every handshake message is refused, reading only
 * the bytes given (each cut is a heap block of its exact size: ASan). */
static void
test_truncation(void)
{
	struct fv_noise_hs *i, *r;
	uint8_t full[512], *cut;
	size_t flen, len, n;
	int p, m, rc, want, bad;

	for (p = 0; p < NPAT; p++) {
		for (m = 0; m < nmsgs[p]; m++) {
			bad = 0;
			if (start(p, 1, &i, &r) != 0 ||
			    steps(p, i, r, m) != 0 || put(p, i, r, m) != 0) {
				ok(0, "%s message %d: set up", patname[p], m);
				continue;
			}
			fv_noise_hs_free(i);
			fv_noise_hs_free(r);
			memcpy(full, mbuf, mlen);
			flen = mlen;
			for (len = 0; len < flen; len++) {
				if (start(p, 1, &i, &r) != 0 ||
				    steps(p, i, r, m) != 0) {
					bad++;
					continue;
				}
				cut = malloc(len > 0 ? len : 1);
				memcpy(cut, full, len);
				rc = fv_noise_hs_read(m % 2 == 0 ? r : i, cut,
				    len, pbuf, sizeof(pbuf), &n);
				want = len < minlen[p][m] ? FV_EINVAL :
							    FV_ECRYPTO;
				if (rc != want && bad++ == 0)
					diag("%s msg %d len %zu: rc %d",
					    patname[p], m, len, rc);
				free(cut);
				fv_noise_hs_free(i);
				fv_noise_hs_free(r);
			}
			ok(bad == 0,
			    "%s message %d: all %zu truncations "
			    "refused (FV_EINVAL below %zu bytes, FV_ECRYPTO "
			    "from there)",
			    patname[p], m, flen, minlen[p][m]);
		}
	}
}

static void
test_limits(void)
{
	struct fv_noise_hs *i, *r;
	struct fv_noise_cs *ci, *cr;
	uint8_t *big = calloc(1, FV_NOISE_MSG_MAX + 64);
	size_t n;

	if (big == NULL || start(FV_NOISE_XX, 0, &i, &r) != 0) {
		ok(0, "limits: set up");
		free(big);
		return;
	}
	is_int(fv_noise_hs_write(i, big, FV_NOISE_MSG_MAX - 31, mbuf,
		   sizeof(mbuf), &n),
	    FV_ETOOBIG,
	    "XX message 0 with a payload one byte too big: FV_ETOOBIG");
	is_int(fv_noise_hs_write(i, big, FV_NOISE_MSG_MAX - 32, mbuf,
		   sizeof(mbuf), &n),
	    0, "  the largest payload is written");
	is_int(n, FV_NOISE_MSG_MAX, "  into a message of exactly 65535");
	is_int(fv_noise_hs_read(r, mbuf, n, pbuf, n - 33, &n), FV_EINVAL,
	    "a payload buffer too small is refused");
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);

	if (start(FV_NOISE_XX, 0, &i, &r) == 0) {
		is_int(fv_noise_hs_read(r, big, FV_NOISE_MSG_MAX + 1, pbuf,
			   sizeof(pbuf), &n),
		    FV_ETOOBIG, "a handshake message above 65535 is refused");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}
	if (start(FV_NOISE_XX, 0, &i, &r) == 0) {
		is_int(steps(FV_NOISE_XX, i, r, 1), 0, "XX message 0");
		is_int(fv_noise_hs_write(r, big, FV_NOISE_MSG_MAX - 95, mbuf,
			   sizeof(mbuf), &n),
		    FV_ETOOBIG, "XX message 1 one byte too big: FV_ETOOBIG");
		is_int(fv_noise_hs_write(r, big, FV_NOISE_MSG_MAX - 96, mbuf,
			   sizeof(mbuf), &n),
		    0, "  the largest is written");
		is_int(fv_noise_hs_read(i, mbuf, n, pbuf, sizeof(pbuf), &n), 0,
		    "  and read");
		is_int(n, FV_NOISE_MSG_MAX - 96, "  whole");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}

	if (session(FV_NOISE_XX, 0, &ci, &cr) != 0) {
		ok(0, "limits: session");
		free(big);
		return;
	}
	is_int(fv_noise_encrypt(ci, NULL, 0, big, FV_NOISE_PAYLOAD_MAX + 1,
		   mbuf),
	    FV_ETOOBIG, "transport payload of 65520: FV_ETOOBIG");
	is_int(fv_noise_nonce(ci, FV_NOISE_SEND), 0, "  uses no nonce");
	is_int(fv_noise_encrypt(ci, NULL, 0, big, FV_NOISE_PAYLOAD_MAX, mbuf),
	    0, "transport payload of 65519 is encrypted");
	is_int(fv_noise_decrypt(cr, NULL, 0, mbuf, FV_NOISE_MSG_MAX, pbuf), 0,
	    "  and decrypted");
	is_int(fv_noise_decrypt(cr, NULL, 0, big, FV_NOISE_MSG_MAX + 1, pbuf),
	    FV_ETOOBIG, "transport message above 65535: FV_ETOOBIG");
	/* in place */
	memcpy(mbuf, "in place", 8);
	ok(fv_noise_encrypt(ci, NULL, 0, mbuf, 8, mbuf) == 0 &&
		fv_noise_decrypt(cr, NULL, 0, mbuf, 24, mbuf) == 0 &&
		memcmp(mbuf, "in place", 8) == 0,
	    "encrypt and decrypt in place");
	fv_noise_cs_free(ci);
	fv_noise_cs_free(cr);
	free(big);
}

static void
test_transport(void)
{
	struct fv_noise_cs *ci, *cr;
	uint8_t ct[64], pt[64], *cut;
	size_t len;
	int bad = 0, rc;

	if (session(FV_NOISE_XX, 0, &ci, &cr) != 0) {
		ok(0, "transport: session");
		return;
	}
	is_int(fv_noise_nonce(ci, FV_NOISE_SEND), 0, "send nonce starts at 0");
	is_int(talk(ci, cr, "one"), 0, "initiator to responder");
	is_int(talk(ci, cr, "two"), 0, "again");
	is_int(talk(cr, ci, "three"), 0, "responder to initiator");
	is_int(fv_noise_nonce(ci, FV_NOISE_SEND), 2, "send nonce counts");
	is_int(fv_noise_nonce(cr, FV_NOISE_RECV), 2, "receive nonce counts");
	is_int(fv_noise_nonce(cr, FV_NOISE_SEND), 1, "  per direction");

	/* ad binds */
	fv_noise_encrypt(ci, (const uint8_t *)"ad", 2, (const uint8_t *)"x", 1,
	    ct);
	is_int(fv_noise_decrypt(cr, (const uint8_t *)"da", 2, ct, 17, pt),
	    FV_ECRYPTO, "other associated data: FV_ECRYPTO");
	is_int(fv_noise_nonce(cr, FV_NOISE_RECV), 2,
	    "  and the nonce does not advance");
	is_int(fv_noise_decrypt(cr, (const uint8_t *)"ad", 2, ct, 17, pt), 0,
	    "  the genuine one still decrypts");
	fv_noise_encrypt(ci, NULL, 0, (const uint8_t *)"hello", 5, ct);
	ct[2] ^= 0x10;
	is_int(fv_noise_decrypt(cr, NULL, 0, ct, 21, pt), FV_ECRYPTO,
	    "a flipped bit: FV_ECRYPTO");
	ct[2] ^= 0x10;
	for (len = 0; len < 21; len++) {
		cut = malloc(len > 0 ? len : 1);
		memcpy(cut, ct, len);
		rc = fv_noise_decrypt(cr, NULL, 0, cut, len, pt);
		if (rc != (len < 16 ? FV_EINVAL : FV_ECRYPTO))
			bad++;
		free(cut);
	}
	ok(bad == 0, "every truncation refused (FV_EINVAL below 16 bytes)");
	is_int(fv_noise_decrypt(cr, NULL, 0, ct, 21, pt), 0,
	    "  the genuine one still decrypts");
	/* rekey */
	fv_noise_rekey(ci, FV_NOISE_SEND);
	fv_noise_rekey(cr, FV_NOISE_RECV);
	is_int(talk(ci, cr, "after rekey"), 0, "both rekey: still talk");
	is_int(fv_noise_nonce(ci, FV_NOISE_SEND), 5,
	    "  rekey does not reset the nonce");
	is_int(talk(cr, ci, "other way"), 0,
	    "  the other direction is untouched");
	fv_noise_rekey(cr, FV_NOISE_SEND);
	fv_noise_rekey(ci, FV_NOISE_RECV);
	is_int(talk(cr, ci, "back"), 0, "rekey of the other direction");
	fv_noise_rekey(ci, FV_NOISE_SEND);
	fv_noise_encrypt(ci, NULL, 0, (const uint8_t *)"lonely", 6, ct);
	is_int(fv_noise_decrypt(cr, NULL, 0, ct, 22, pt), FV_ECRYPTO,
	    "a side that did not rekey cannot read");
	fv_noise_rekey(cr, FV_NOISE_RECV);
	is_int(fv_noise_decrypt(cr, NULL, 0, ct, 22, pt), 0,
	    "  until it rekeys too");
	is_int(fv_noise_rekey(ci, (enum fv_noise_dir)5), FV_EINVAL,
	    "rekey of no direction");

	/* nonce exhaustion */
	is_int(fv_noise_set_nonce(ci, FV_NOISE_SEND, 1), FV_EINVAL,
	    "a nonce cannot go backwards");
	ok(fv_noise_set_nonce(ci, FV_NOISE_SEND, UINT64_MAX - 1) == 0 &&
		fv_noise_set_nonce(cr, FV_NOISE_RECV, UINT64_MAX - 1) == 0,
	    "nonces moved to 2^64-2");
	is_int(talk(ci, cr, "last"), 0, "the last nonce is usable");
	ok(fv_noise_nonce(ci, FV_NOISE_SEND) == UINT64_MAX,
	    "  the send nonce is now 2^64-1");
	is_int(fv_noise_encrypt(ci, NULL, 0, (const uint8_t *)"x", 1, ct),
	    FV_ETOOBIG, "nonce 2^64-1 is never used: encrypt refused");
	is_int(fv_noise_decrypt(cr, NULL, 0, ct, 17, pt), FV_ETOOBIG,
	    "  and decrypt too");
	ok(fv_noise_nonce(ci, FV_NOISE_SEND) == UINT64_MAX,
	    "  the nonce does not wrap");
	fv_noise_cs_free(ci);
	fv_noise_cs_free(cr);
}

static void
test_statics(void)
{
	struct fv_noise_hs *i, *r;
	struct fv_noise_cs *ci, *cr;
	uint8_t k[32], h1[64], h2[64], h3[64], zero[32] = { 0 };
	size_t n;
	int rc;

	/* XX with generated keys: each side learns the other's static */
	if (!ok(start(FV_NOISE_XX, 0, &i, &r) == 0, "XX starts"))
		return;
	is_int(steps(FV_NOISE_XX, i, r, 2), 0, "XX messages 0 and 1");
	ok(fv_noise_hs_remote_static(i, k) == 0 && memcmp(k, rpub, 32) == 0,
	    "the initiator knows the responder's static after message 1");
	is_int(fv_noise_hs_remote_static(r, k), FV_ENOTFOUND,
	    "  the responder does not know the initiator's yet");
	ok(put(FV_NOISE_XX, i, r, 2) == 0 && get(FV_NOISE_XX, i, r, 2) == 0,
	    "XX message 2");
	ok(fv_noise_hs_remote_static(r, k) == 0 && memcmp(k, ipub, 32) == 0,
	    "the responder knows the initiator's static");
	fv_noise_hs_hash(i, h1);
	fv_noise_hs_hash(r, h2);
	ok(memcmp(h1, h2, 64) == 0, "both sides have the same hash");
	ok(fv_noise_hs_split(i, &ci) == 0 && fv_noise_hs_split(r, &cr) == 0,
	    "split");
	fv_noise_hs_hash(i, h3);
	ok(memcmp(h1, h3, 64) == 0 && fv_noise_hs_remote_static(i, k) == 0 &&
		memcmp(k, rpub, 32) == 0,
	    "hash and remote static survive the split");
	is_int(talk(ci, cr, "hq?"), 0, "transport i->r");
	is_int(talk(cr, ci, "device!"), 0, "transport r->i");
	is_int(talk(ci, ci, "self"), FV_ECRYPTO,
	    "a side cannot read its own messages (a key per direction)");
	fv_noise_cs_free(ci);
	fv_noise_cs_free(cr);
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);

	if (start(FV_NOISE_XX, 0, &i, &r) == 0) {
		steps(FV_NOISE_XX, i, r, 3);
		fv_noise_hs_hash(i, h3);
		ok(memcmp(h1, h3, 64) != 0,
		    "a second session has another hash (fresh ephemerals)");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}

	/* IK: the responder learns the initiator's static from message 0 */
	if (start(FV_NOISE_IK, 0, &i, &r) == 0) {
		ok(steps(FV_NOISE_IK, i, r, 1) == 0 &&
			fv_noise_hs_remote_static(r, k) == 0 &&
			memcmp(k, ipub, 32) == 0,
		    "IK: the responder learns the initiator's static");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}
	/* IK to the wrong responder key */
	i = r = NULL;
	if (fv_noise_hs_new(FV_NOISE_IK, 1, NULL, 0, ipriv, ipub, NULL, &i) ==
		0 &&
	    fv_noise_hs_new(FV_NOISE_IK, 0, NULL, 0, rpriv, NULL, NULL, &r) ==
		0) {
		fv_noise_hs_write(i, NULL, 0, mbuf, sizeof(mbuf), &mlen);
		is_int(fv_noise_hs_read(r, mbuf, mlen, pbuf, sizeof(pbuf), &n),
		    FV_ECRYPTO,
		    "IK to a key the responder does not hold: "
		    "FV_ECRYPTO");
	}
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);
	/* different prologues */
	i = r = NULL;
	if (fv_noise_hs_new(FV_NOISE_NN, 1, (const uint8_t *)"a", 1, NULL, NULL,
		NULL, &i) == 0 &&
	    fv_noise_hs_new(FV_NOISE_NN, 0, (const uint8_t *)"b", 1, NULL, NULL,
		NULL, &r) == 0) {
		rc = steps(FV_NOISE_NN, i, r, 2);
		is_int(rc, FV_ECRYPTO, "NN with different prologues fails");
	}
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);

	/* empty payloads need no payload buffer */
	i = r = NULL;
	ci = cr = NULL;
	if (start(FV_NOISE_NN, 0, &i, &r) == 0) {
		ok(fv_noise_hs_write(i, NULL, 0, mbuf, sizeof(mbuf), &mlen) ==
			    0 &&
			fv_noise_hs_read(r, mbuf, mlen, NULL, 0, &n) == 0 &&
			n == 0 &&
			fv_noise_hs_write(r, NULL, 0, mbuf, sizeof(mbuf),
			    &mlen) == 0 &&
			mlen == 48 &&
			fv_noise_hs_read(i, mbuf, mlen, NULL, 0, &n) == 0 &&
			n == 0 && fv_noise_hs_split(i, &ci) == 0 &&
			fv_noise_hs_split(r, &cr) == 0,
		    "NN with empty payloads read into no buffer");
		ok(fv_noise_encrypt(ci, NULL, 0, NULL, 0, mbuf) == 0 &&
			fv_noise_decrypt(cr, NULL, 0, mbuf, 16, NULL) == 0,
		    "an empty transport message decrypts into no buffer");
		fv_noise_cs_free(ci);
		fv_noise_cs_free(cr);
	}
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);

	/* low-order keys: the all-zero DH output is refused */
	if (fv_noise_hs_new(FV_NOISE_IK, 1, NULL, 0, ipriv, zero, NULL, &i) ==
	    0) {
		is_int(fv_noise_hs_write(i, NULL, 0, mbuf, sizeof(mbuf), &n),
		    FV_ECRYPTO, "IK towards a low-order static: FV_ECRYPTO");
		fv_noise_hs_free(i);
	}
	if (start(FV_NOISE_XX, 0, &i, &r) == 0) {
		steps(FV_NOISE_XX, i, r, 1);
		put(FV_NOISE_XX, i, r, 1);
		memset(mbuf, 0, 32);
		is_int(get(FV_NOISE_XX, i, r, 1), FV_ECRYPTO,
		    "XX with a low-order ephemeral: FV_ECRYPTO");
		fv_noise_hs_free(i);
		fv_noise_hs_free(r);
	}
}

static void
test_secmem(size_t used0)
{
	struct fv_noise_hs *i, *r;
	struct fv_noise_cs *ci, *cr;
	size_t u1, u2;

	if (start(FV_NOISE_XX, 0, &i, &r) != 0) {
		ok(0, "secmem: start");
		return;
	}
	u1 = fv_secmem_used();
	ok(u1 > used0 && (u1 - used0) % 2 == 0 && (u1 - used0) / 2 <= 1024,
	    "a handshake holds one block of secret memory (%zu bytes)",
	    (u1 - used0) / 2);
	steps(FV_NOISE_XX, i, r, 3);
	fv_noise_hs_split(i, &ci);
	fv_noise_hs_split(r, &cr);
	u2 = fv_secmem_used();
	ok(u2 > used0 && u2 < u1,
	    "split wipes the handshakes' secrets, the "
	    "transports hold %zu bytes each",
	    (u2 - used0) / 2);
	fv_noise_hs_free(i);
	fv_noise_hs_free(r);
	is_int(fv_secmem_used(), u2, "the spent handshakes hold nothing");
	fv_noise_cs_free(ci);
	fv_noise_cs_free(cr);
	is_int(fv_secmem_used(), used0, "freeing the transports returns all");
}

int
main(void)
{
	size_t used0;
	int j;

	if (sodium_init() < 0 || fv_secmem_init() != 0) {
		ok(0, "sodium and secmem initialize");
		return done_testing();
	}
	used0 = fv_secmem_used();
	crypto_box_keypair(ipub, ipriv);
	crypto_box_keypair(rpub, rpriv);
	for (j = 0; j < 32; j++) {
		fix_ie[j] = (uint8_t)(0x11 * j + 1);
		fix_re[j] = (uint8_t)(0x7 * j + 3);
	}

	test_vectors();
	test_api();
	test_tamper();
	test_truncation();
	test_limits();
	test_transport();
	test_statics();
	test_secmem(used0);
	is_int(fv_secmem_used(), used0,
	    "no secret memory left in use after everything is freed");
	fv_secmem_shutdown();
	return done_testing();
}
