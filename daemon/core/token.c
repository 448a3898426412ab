/*
 * token.c - the enrollment token: a strict text codec, the enrollment MAC
 * and the hash HQ keeps of the secret.
 */
#include <arpa/inet.h>

#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "fv_error.h"
#include "token.h"

#define B64	   sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PREFIX_LEN (sizeof(FV_TOKEN_PREFIX) - 1)
#define MAC_TAG	   "fieldvault enroll"
#define HASH_TAG   "fieldvault token"

_Static_assert(FV_TOKEN_STR_MAX ==
	PREFIX_LEN + sodium_base64_ENCODED_LEN(FV_TOKEN_BIN_MAX, B64),
    "token text size");
_Static_assert(sizeof(((struct fv_token *)0)->addr) == FV_TOKEN_ADDR_MAX + 1,
    "addr size");

/* Decimal 1..65535, no sign, no leading zero. */
static int
port_ok(const char *p, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || p[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* Labels of [A-Za-z0-9-], 1..63 bytes, no hyphen at either end. */
static int
dns_ok(const char *h, size_t n)
{
	size_t i, lab = 0;
	char c;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		c = h[i];
		if (c == '.') {
			if (lab == 0 || h[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return 0;
		if ((c == '-' && lab == 0) || ++lab > 63)
			return 0;
	}
	return lab > 0 && h[n - 1] != '-';
}

/* An address literal of family af: inet_pton wants a C string. */
static int
ip_ok(int af, const char *h, size_t n)
{
	char tmp[64];
	uint8_t out[16];

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, out) == 1;
}

int
fv_token_addr_ok(const char *a, size_t n)
{
	size_t c, i;
	int numeric = 1;

	if (n == 0 || n > FV_TOKEN_ADDR_MAX)
		return 0;
	/* the last colon: an IPv6 host has its own, inside brackets */
	for (c = n; c > 0 && a[c - 1] != ':'; c--)
		;
	if (c == 0 || !port_ok(a + c, n - c))
		return 0;
	c--; /* the host is a[0..c) */
	if (c > 0 && a[0] == '[')
		return c >= 2 && a[c - 1] == ']' &&
		    memchr(a + 1, ':', c - 2) != NULL &&
		    ip_ok(AF_INET6, a + 1, c - 2);
	for (i = 0; i < c; i++)
		if (a[i] != '.' && (a[i] < '0' || a[i] > '9'))
			numeric = 0;
	/* all digits and dots is an IPv4 address or nothing */
	return numeric ? ip_ok(AF_INET, a, c) : dns_ok(a, c);
}

static int
b64_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
fv_token_encode(const struct fv_token *t, char *out, size_t outlen)
{
	uint8_t bin[FV_TOKEN_BIN_MAX], *w;
	size_t n, binlen, need;

	n = strnlen(t->addr, sizeof(t->addr));
	if (n == sizeof(t->addr) || !fv_token_addr_ok(t->addr, n))
		return FV_EINVAL;
	binlen = FV_TOKEN_BIN_MIN + n;
	need = PREFIX_LEN + sodium_base64_ENCODED_LEN(binlen, B64);
	if (outlen < need) {
		if (outlen > 0)
			sodium_memzero(out, outlen);
		return FV_ETOOBIG;
	}
	w = bin;
	*w++ = FV_TOKEN_VERSION;
	memcpy(w, t->token_id, FV_ID_BYTES);
	w += FV_ID_BYTES;
	memcpy(w, t->secret, FV_TOKEN_SECRET_BYTES);
	w += FV_TOKEN_SECRET_BYTES;
	fv_buf_put_u64(w, t->expires);
	w += 8;
	memcpy(w, t->hq_id, FV_ID_BYTES);
	w += FV_ID_BYTES;
	memcpy(w, t->hq_pk, 32);
	w += 32;
	*w++ = (uint8_t)n;
	memcpy(w, t->addr, n);
	memcpy(out, FV_TOKEN_PREFIX, PREFIX_LEN);
	sodium_bin2base64(out + PREFIX_LEN, outlen - PREFIX_LEN, bin, binlen,
	    B64);
	sodium_memzero(bin, sizeof(bin));
	return 0;
}

int
fv_token_decode(const char *s, struct fv_token *t)
{
	uint8_t bin[FV_TOKEN_BIN_MAX];
	struct fv_rd r;
	const uint8_t *p;
	size_t n, binlen, alen, i;
	int rc = FV_EINVAL;

	memset(t, 0, sizeof(*t));
	n = strnlen(s, FV_TOKEN_STR_MAX);
	if (n >= FV_TOKEN_STR_MAX || n < PREFIX_LEN ||
	    memcmp(s, FV_TOKEN_PREFIX, PREFIX_LEN) != 0)
		return FV_EINVAL;
	/* libsodium 1.0.18 maps some bytes >= 0x80 to base64 digits (signed
	 * char arithmetic): check the alphabet here */
	for (i = PREFIX_LEN; i < n; i++)
		if (!b64_char_ok(s[i]))
			return FV_EINVAL;
	/* no ignore set and no end pointer: a stray character is an error,
	 * and libsodium refuses non-zero padding bits (one text per token) */
	if (sodium_base642bin(bin, sizeof(bin), s + PREFIX_LEN, n - PREFIX_LEN,
		NULL, &binlen, NULL, B64) != 0)
		goto out;
	r.p = bin;
	r.left = binlen;
	r.err = 0;
	if (fv_buf_rd_u8(&r) != FV_TOKEN_VERSION)
		goto out;
	if ((p = fv_buf_rd_bytes(&r, FV_ID_BYTES)) != NULL)
		memcpy(t->token_id, p, FV_ID_BYTES);
	if ((p = fv_buf_rd_bytes(&r, FV_TOKEN_SECRET_BYTES)) != NULL)
		memcpy(t->secret, p, FV_TOKEN_SECRET_BYTES);
	t->expires = fv_buf_rd_u64(&r);
	if ((p = fv_buf_rd_bytes(&r, FV_ID_BYTES)) != NULL)
		memcpy(t->hq_id, p, FV_ID_BYTES);
	if ((p = fv_buf_rd_bytes(&r, 32)) != NULL)
		memcpy(t->hq_pk, p, 32);
	alen = fv_buf_rd_u8(&r);
	if ((p = fv_buf_rd_bytes(&r, alen)) == NULL || r.left != 0 ||
	    !fv_token_addr_ok((const char *)p, alen))
		goto out;
	memcpy(t->addr, p, alen);
	t->addr[alen] = '\0';
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	if (rc != 0)
		sodium_memzero(t, sizeof(*t));
	return rc;
}

void
fv_token_mac(const uint8_t secret[FV_TOKEN_SECRET_BYTES], const uint8_t hh[64],
    uint8_t mac[FV_TOKEN_MAC_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, secret, FV_TOKEN_SECRET_BYTES,
	    FV_TOKEN_MAC_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)MAC_TAG,
	    sizeof(MAC_TAG) - 1);
	crypto_generichash_update(&st, hh, 64);
	crypto_generichash_final(&st, mac, FV_TOKEN_MAC_BYTES);
	/* the state is derived from the key */
	sodium_memzero(&st, sizeof(st));
}

int
fv_token_mac_check(const uint8_t secret[FV_TOKEN_SECRET_BYTES],
    const uint8_t hh[64], const uint8_t mac[FV_TOKEN_MAC_BYTES])
{
	uint8_t want[FV_TOKEN_MAC_BYTES];
	int rc;

	fv_token_mac(secret, hh, want);
	rc = crypto_verify_32(want, mac) == 0 ? 0 : FV_ECRYPTO;
	sodium_memzero(want, sizeof(want));
	return rc;
}

void
fv_token_secret_hash(const uint8_t secret[FV_TOKEN_SECRET_BYTES],
    uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)HASH_TAG,
	    sizeof(HASH_TAG) - 1);
	crypto_generichash_update(&st, secret, FV_TOKEN_SECRET_BYTES);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}
