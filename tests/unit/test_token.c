/*
 * test_token.c - the enrollment token (token.h): round trip and the
 * layout of §5; every character and every byte changed is refused or
 * decodes to another token; bad prefixes, base64 and addresses refused;
 * expiry returned as given; the MAC and the stored hash.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "fv_error.h"
#include "token.h"
#include "tap.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void
sample(struct fv_token *t, const char *addr)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < FV_ID_BYTES; i++) {
		t->token_id[i] = (uint8_t)(0x10 + i);
		t->hq_id[i] = (uint8_t)(0x80 + i);
	}
	for (i = 0; i < 32; i++) {
		t->secret[i] = (uint8_t)(0xc0 + i);
		t->hq_pk[i] = (uint8_t)(0x40 + i);
	}
	t->expires = 1767225600; /* 2026-01-01 */
	strcpy(t->addr, addr);
}

static int
same(const struct fv_token *a, const struct fv_token *b)
{
	return memcmp(a->token_id, b->token_id, FV_ID_BYTES) == 0 &&
	    memcmp(a->secret, b->secret, 32) == 0 && a->expires == b->expires &&
	    memcmp(a->hq_id, b->hq_id, FV_ID_BYTES) == 0 &&
	    memcmp(a->hq_pk, b->hq_pk, 32) == 0 &&
	    strcmp(a->addr, b->addr) == 0;
}

/* "fv1." + base64url of bin[0..n) into out. */
static void
text_of(const uint8_t *bin, size_t n, char *out, size_t outlen)
{
	memcpy(out, "fv1.", 4);
	sodium_bin2base64(out + 4, outlen - 4, bin, n, B64);
}

static void
test_roundtrip(void)
{
	struct fv_token t, u;
	char s[FV_TOKEN_STR_MAX], s2[FV_TOKEN_STR_MAX];
	uint8_t bin[FV_TOKEN_BIN_MAX];
	size_t binlen;
	static const uint64_t exp[] = { 0, 1, 1767225600, UINT64_MAX };
	char addr[FV_TOKEN_ADDR_MAX + 2];
	size_t i;

	sample(&t, "hq.example.org:7700");
	ok(fv_token_encode(&t, s, sizeof(s)) == 0 && strncmp(s, "fv1.", 4) == 0,
	    "encodes with the prefix");
	ok(strspn(s + 4,
	       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	       "0123456789-_") == strlen(s + 4),
	    "base64url, no padding");
	ok(fv_token_decode(s, &u) == 0 && same(&t, &u), "decodes to itself");
	ok(fv_token_encode(&u, s2, sizeof(s2)) == 0 && strcmp(s, s2) == 0,
	    "and encodes to the same text");

	/* the layout of §5 */
	ok(sodium_base642bin(bin, sizeof(bin), s + 4, strlen(s + 4), NULL,
	       &binlen, NULL, B64) == 0,
	    "the text is base64url");
	is_int(binlen, 106 + strlen("hq.example.org:7700"), "binary length");
	ok(bin[0] == 1 && memcmp(bin + 1, t.token_id, 16) == 0 &&
		memcmp(bin + 17, t.secret, 32) == 0 &&
		fv_buf_get_u64(bin + 49) == t.expires &&
		memcmp(bin + 57, t.hq_id, 16) == 0 &&
		memcmp(bin + 73, t.hq_pk, 32) == 0 && bin[105] == 19 &&
		memcmp(bin + 106, "hq.example.org:7700", 19) == 0,
	    "version, token id, secret, expires, HQ id, HQ key, addr");

	/* expiry is the enrollment's business: returned as given */
	for (i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
		t.expires = exp[i];
		ok(fv_token_encode(&t, s, sizeof(s)) == 0 &&
			fv_token_decode(s, &u) == 0 && u.expires == exp[i],
		    "expires %llu returned as given",
		    (unsigned long long)exp[i]);
	}

	/* the longest address fills FV_TOKEN_STR_MAX exactly */
	memset(addr, 'a', sizeof(addr));
	memcpy(addr + FV_TOKEN_ADDR_MAX - 6, ".x:443", 6);
	addr[FV_TOKEN_ADDR_MAX] = '\0';
	/* labels of at most 63: put dots in */
	addr[60] = '.';
	addr[100] = '.';
	strcpy(t.addr, addr);
	ok(fv_token_encode(&t, s, sizeof(s)) == 0 &&
		strlen(s) == FV_TOKEN_STR_MAX - 1 &&
		fv_token_decode(s, &u) == 0 && same(&t, &u),
	    "a 127-byte address: %zu characters", strlen(s));
	ok(fv_token_encode(&t, s, FV_TOKEN_STR_MAX - 1) == FV_ETOOBIG &&
		is_zero(s, FV_TOKEN_STR_MAX - 1),
	    "one byte short: FV_ETOOBIG, out wiped");
	sample(&t, "h:1");
	ok(fv_token_encode(&t, s, 4 + 146 + 1) == 0 &&
		fv_token_decode(s, &u) == 0 && same(&t, &u),
	    "exactly enough room (%zu)", strlen(s));

	/* an address of 128 bytes has no room in the struct */
	memset(t.addr, 'a', sizeof(t.addr));
	ok(fv_token_encode(&t, s, sizeof(s)) == FV_EINVAL,
	    "unterminated addr refused");
	{
		uint8_t big[106 + 128];
		char bs[400];

		memset(big, 0, 106);
		big[0] = 1;
		memset(big + 106, 'a', 128);
		memcpy(big + 106 + 60, ".", 1);
		memcpy(big + 106 + 120, ".b:9999", 7);
		big[105] = 128;
		text_of(big, sizeof(big), bs, sizeof(bs));
		ok(fv_token_decode(bs, &u) == FV_EINVAL,
		    "a 128-byte address refused");
	}
	sodium_memzero(&u, sizeof(u));
}

static void
test_mutations(void)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const char junk[] = "=+/ .\n\t\x01\x7f\xc3";
	struct fv_token t, u;
	char s[FV_TOKEN_STR_MAX], m[FV_TOKEN_STR_MAX];
	uint8_t bin[FV_TOKEN_BIN_MAX];
	size_t n, i, j, binlen;
	int bad = 0, refused = 0, differ = 0, rc, k;

	sample(&t, "[2001:db8::7]:7700");
	fv_token_encode(&t, s, sizeof(s));
	n = strlen(s);

	/* every character replaced by every other base64url character */
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(alpha) - 1; j++) {
			if (alpha[j] == s[i])
				continue;
			memcpy(m, s, n + 1);
			m[i] = alpha[j];
			memset(&u, 0xee, sizeof(u));
			if ((rc = fv_token_decode(m, &u)) == 0) {
				if (same(&t, &u))
					bad++;
				else
					differ++;
			} else if (rc != FV_EINVAL || !is_zero(&u, sizeof(u)))
				bad++;
			else
				refused++;
		}
	}
	ok(bad == 0, "every character changed: %d refused, %d other tokens",
	    refused, differ);

	bad = 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(junk) - 1; j++) {
			if (junk[j] == s[i])
				continue;
			memcpy(m, s, n + 1);
			m[i] = junk[j];
			if (fv_token_decode(m, &u) != FV_EINVAL)
				bad++;
		}
	ok(bad == 0, "a non-base64url character anywhere refused");
	/* libsodium 1.0.18 alone takes some bytes >= 0x80 for digits */
	bad = 0;
	for (k = 1; k < 256; k++) {
		if (strchr(alpha, k) != NULL)
			continue;
		for (i = 4; i < n; i += 37) {
			memcpy(m, s, n + 1);
			m[i] = (char)k;
			if (fv_token_decode(m, &u) != FV_EINVAL)
				bad++;
		}
	}
	ok(bad == 0, "every byte outside the alphabet refused");

	/* every byte of the binary, every bit flipped */
	sodium_base642bin(bin, sizeof(bin), s + 4, n - 4, NULL, &binlen, NULL,
	    B64);
	bad = refused = differ = 0;
	for (i = 0; i < binlen; i++)
		for (k = 0; k < 8; k++) {
			bin[i] ^= (uint8_t)(1 << k);
			text_of(bin, binlen, m, sizeof(m));
			if ((rc = fv_token_decode(m, &u)) == 0) {
				if (same(&t, &u))
					bad++;
				else
					differ++;
			} else if (rc != FV_EINVAL)
				bad++;
			else
				refused++;
			bin[i] ^= (uint8_t)(1 << k);
		}
	ok(bad == 0, "every bit flipped: %d refused, %d other tokens", refused,
	    differ);
	bin[0] = 2;
	text_of(bin, binlen, m, sizeof(m));
	ok(fv_token_decode(m, &u) == FV_EINVAL, "version 2 refused");
	bin[0] = 1;
	bin[105]++;
	text_of(bin, binlen, m, sizeof(m));
	ok(fv_token_decode(m, &u) == FV_EINVAL, "addr length too long");
	bin[105] -= 2;
	text_of(bin, binlen, m, sizeof(m));
	ok(fv_token_decode(m, &u) == FV_EINVAL, "addr length too short");
	bin[105]++;

	/* every truncation of the binary, and one byte more */
	bad = 0;
	for (i = 0; i < binlen; i++) {
		text_of(bin, i, m, sizeof(m));
		if (fv_token_decode(m, &u) != FV_EINVAL)
			bad++;
	}
	ok(bad == 0, "every truncated binary refused");
	bin[binlen] = '0';
	text_of(bin, binlen + 1, m, sizeof(m));
	ok(fv_token_decode(m, &u) == FV_EINVAL, "a byte after the address");

	/* every truncation of the text */
	bad = 0;
	for (i = 0; i < n; i++) {
		memcpy(m, s, i);
		m[i] = '\0';
		if (fv_token_decode(m, &u) != FV_EINVAL)
			bad++;
	}
	ok(bad == 0, "every truncated text refused");
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(&u, sizeof(u));
}

static void
test_bad_text(void)
{
	struct fv_token t, u;
	static const char *pfx[] = { "fv2.", "FV1.", "fv1-", "fv1:", "fv0." };
	char s[FV_TOKEN_STR_MAX], m[FV_TOKEN_STR_MAX + 8];
	size_t n, i;
	char *l;

	sample(&t, "10.0.0.1:7700");
	fv_token_encode(&t, s, sizeof(s));
	n = strlen(s);

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		memcpy(m, s, n + 1);
		memcpy(m, pfx[i], 4);
		ok(fv_token_decode(m, &u) == FV_EINVAL, "prefix %s refused",
		    pfx[i]);
	}
	ok(fv_token_decode("", &u) == FV_EINVAL, "empty text refused");
	ok(fv_token_decode("fv1", &u) == FV_EINVAL, "\"fv1\" refused");
	ok(fv_token_decode("fv1.", &u) == FV_EINVAL, "\"fv1.\" refused");
	ok(fv_token_decode(s + 4, &u) == FV_EINVAL, "no prefix refused");
	snprintf(m, sizeof(m), " %s", s);
	ok(fv_token_decode(m, &u) == FV_EINVAL, "leading space refused");
	snprintf(m, sizeof(m), "%s\n", s);
	ok(fv_token_decode(m, &u) == FV_EINVAL, "trailing newline refused");
	snprintf(m, sizeof(m), "%s=", s);
	ok(fv_token_decode(m, &u) == FV_EINVAL, "padding refused");
	snprintf(m, sizeof(m), "%sA", s);
	ok(fv_token_decode(m, &u) == FV_EINVAL,
	    "one character more (a dangling 6 bits) refused");
	snprintf(m, sizeof(m), "%sAA", s);
	ok(fv_token_decode(m, &u) == FV_EINVAL, "a zero byte more refused");

	/* base64 with non-zero unused bits: another text, same bytes */
	memcpy(m, s, n + 1);
	l = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789-_",
	    m[n - 1]);
	diag("%zu base64 characters, last '%c'", n - 4, m[n - 1]);
	m[n - 1] = l[1];
	ok((n - 4) % 4 != 0 && fv_token_decode(m, &u) == FV_EINVAL,
	    "non-zero padding bits refused (one text per token)");

	/* the standard alphabet instead of the URL-safe one */
	{
		char std[FV_TOKEN_STR_MAX + 8];
		int found;

		/* an HQ key of 0xff bytes makes '_' and '-' characters */
		memset(t.hq_pk, 0xff, 32);
		memset(t.token_id, 0xfb, 16);
		fv_token_encode(&t, s, sizeof(s));
		found = strchr(s + 4, '_') != NULL ||
		    strchr(s + 4, '-') != NULL;
		memcpy(std, s, strlen(s) + 1);
		for (l = std + 4; *l; l++)
			if (*l == '_')
				*l = '/';
			else if (*l == '-')
				*l = '+';
		ok(found && fv_token_decode(s, &u) == 0 &&
			fv_token_decode(std, &u) == FV_EINVAL,
		    "standard base64 alphabet refused");
	}

	/* over FV_TOKEN_STR_MAX */
	{
		char *big = malloc(5000);

		memset(big, 'A', 4999);
		memcpy(big, "fv1.", 4);
		big[4999] = '\0';
		ok(fv_token_decode(big, &u) == FV_EINVAL, "5000 characters");
		big[FV_TOKEN_STR_MAX] = '\0';
		ok(fv_token_decode(big, &u) == FV_EINVAL,
		    "FV_TOKEN_STR_MAX characters");
		free(big);
	}
	sodium_memzero(&u, sizeof(u));
}

static void
test_addr(void)
{
	static const char *good[] = {
		"localhost:1",
		"hq:65535",
		"hq.example.org:7700",
		"HQ-1.Example.ORG:443",
		"10.0.0.1:7700",
		"0.0.0.0:80",
		"[::1]:7700",
		"[2001:db8::1]:443",
		"[::ffff:10.0.0.1]:9",
		"xn--80ak6aa92e.com:7700",
		"a1.b-2.c3:8",
		"123.example:80",
	};
	static const char *bad[] = {
		"",
		"hq",
		"hq:",
		":80",
		"hq:0",
		"hq:65536",
		"hq:99999",
		"hq:080",
		"hq:-1",
		"hq:+80",
		"hq: 80",
		"hq:80 ",
		"hq:8a",
		"hq:123456",
		"ho st:80",
		"-hq:80",
		"hq-:80",
		"a..b:80",
		".hq:80",
		"hq.:80",
		"hq_1:80",
		"hq/x:80",
		"hq@x:80",
		"[::1:80",
		"[::1]80",
		"::1:80",
		"[::1]:",
		"[]:80",
		"[1.2.3.4]:80",
		"[::1%eth0]:80",
		"[::g]:80",
		"x[::1]:80",
		"1.2.3.256:80",
		"1.2.3:80",
		"1.2.3.4.5:80",
		"01.2.3.4:80",
		"1..2.3:80",
		"hq:80:80",
		"Ташкент:80",
		"hq\\n:80",
	};
	char a[200];
	struct fv_token t, u;
	char s[FV_TOKEN_STR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sample(&t, good[i]);
		ok(fv_token_addr_ok(good[i], strlen(good[i])) &&
			fv_token_encode(&t, s, sizeof(s)) == 0 &&
			fv_token_decode(s, &u) == 0 && same(&t, &u),
		    "addr accepted: %s", good[i]);
	}
	ok(!fv_token_addr_ok("hq\n:80", 6) && !fv_token_addr_ok("hq:8\0", 5) &&
		!fv_token_addr_ok("h\0:80", 5),
	    "control bytes and NUL refused");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t bin[FV_TOKEN_BIN_MAX];
		size_t n = strlen(bad[i]);

		/* the decoder sees it too: built by hand */
		sample(&t, "h:1");
		fv_token_encode(&t, s, sizeof(s));
		sodium_base642bin(bin, sizeof(bin), s + 4, strlen(s + 4), NULL,
		    NULL, NULL, B64);
		bin[105] = (uint8_t)n;
		memcpy(bin + 106, bad[i], n);
		text_of(bin, 106 + n, s, sizeof(s));
		sample(&t, bad[i]);
		ok(!fv_token_addr_ok(bad[i], n) &&
			fv_token_encode(&t, s + 200, sizeof(s) - 200) ==
			    FV_EINVAL &&
			fv_token_decode(s, &u) == FV_EINVAL,
		    "addr refused: \"%s\"", bad[i]);
	}
	/* labels: 63 bytes yes, 64 no */
	memset(a, 'l', 63);
	strcpy(a + 63, ".org:80");
	ok(fv_token_addr_ok(a, strlen(a)), "63-byte label accepted");
	memset(a, 'l', 64);
	strcpy(a + 64, ".org:80");
	ok(!fv_token_addr_ok(a, strlen(a)), "64-byte label refused");
	memset(a, 'l', 60);
	memcpy(a + 60, ".", 1);
	memset(a + 61, 'm', 60);
	strcpy(a + 121, ".x:80"); /* 126 bytes */
	ok(fv_token_addr_ok(a, strlen(a)) && strlen(a) == 126, "126 bytes");
	strcpy(a + 121, ".xy:80");
	ok(fv_token_addr_ok(a, strlen(a)) && strlen(a) == 127, "127 bytes");
	strcpy(a + 121, ".xyz:80");
	ok(!fv_token_addr_ok(a, strlen(a)), "128 bytes refused");
	sodium_memzero(&u, sizeof(u));
}

static void
test_mac(void)
{
	uint8_t secret[32], hh[64], mac[32], want[32], msg[17 + 64], h[32];
	uint8_t m2[16 + 32];
	int i;

	for (i = 0; i < 32; i++)
		secret[i] = (uint8_t)(i * 7);
	for (i = 0; i < 64; i++)
		hh[i] = (uint8_t)(0xf0 ^ i);
	memcpy(msg, "fieldvault enroll", 17);
	memcpy(msg + 17, hh, 64);
	crypto_generichash(want, 32, msg, sizeof(msg), secret, 32);
	fv_token_mac(secret, hh, mac);
	ok(memcmp(mac, want, 32) == 0,
	    "MAC = BLAKE2b-256(key = secret, \"fieldvault enroll\" | hh)");
	is_int(fv_token_mac_check(secret, hh, mac), 0, "MAC checks");
	hh[63] ^= 1;
	is_int(fv_token_mac_check(secret, hh, mac), FV_ECRYPTO,
	    "another handshake: refused (no replay)");
	hh[63] ^= 1;
	secret[0] ^= 1;
	is_int(fv_token_mac_check(secret, hh, mac), FV_ECRYPTO,
	    "another secret: refused");
	secret[0] ^= 1;
	mac[31] ^= 0x80;
	is_int(fv_token_mac_check(secret, hh, mac), FV_ECRYPTO,
	    "a changed MAC: refused");

	memcpy(m2, "fieldvault token", 16);
	memcpy(m2 + 16, secret, 32);
	crypto_generichash(want, 32, m2, sizeof(m2), NULL, 0);
	fv_token_secret_hash(secret, h);
	ok(memcmp(h, want, 32) == 0,
	    "stored hash = BLAKE2b-256(\"fieldvault token\" | secret)");
	ok(memcmp(h, mac, 32) != 0, "and it is not the MAC");
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(m2, sizeof(m2));
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	test_roundtrip();
	test_mutations();
	test_bad_text();
	test_addr();
	test_mac();
	return done_testing();
}
