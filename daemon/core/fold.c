/*
 * fold.c - search normalisation (libunistring).
 *
 * Apostrophes are mapped twice: before the case fold, because NFKC turns
 * U+00B4 into a space and a combining accent, which would no longer look
 * like an apostrophe; and after it, because NFKC produces some of them
 * from compatibility characters (fullwidth ｀ becomes `).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "fv_error.h"
#include "fold.h"

static int
apostrophe(ucs4_t uc)
{
	switch (uc) {
	case 0x0027:
	case 0x0060:
	case 0x00b4:
	case 0x02bb:
	case 0x02bc:
	case 0x02bd:
	case 0x2018:
	case 0x2019:
	case 0x201b:
	case 0x2032:
		return 1;
	}
	return 0;
}

/*
 * Copy valid UTF-8 s[0..n) to d, mapping apostrophes to ' and, if spaces,
 * runs of white space to one space.  Never longer than the input, since
 * each replacement is one byte; returns the length written.
 */
static size_t
map(uint8_t *d, const uint8_t *s, size_t n, int spaces)
{
	const uint8_t *end = s + n;
	uint8_t *start = d;
	ucs4_t uc;
	int len, inspace = 0;

	while (s < end) {
		len = u8_mbtouc(&uc, s, end - s);
		if (spaces && uc_is_property_white_space(uc)) {
			if (!inspace)
				*d++ = ' ';
			inspace = 1;
		} else if (apostrophe(uc)) {
			*d++ = '\'';
			inspace = 0;
		} else {
			memcpy(d, s, len);
			d += len;
			inspace = 0;
		}
		s += len;
	}
	return d - start;
}

/*
 * ASCII text (most Latin-script names and places) folds to itself in
 * lower case: the same result as the full path, without its two passes
 * and allocations.  Returns 0 if s is not all ASCII.
 */
static int
fold_ascii(const char *s, size_t n, char **out, size_t *outlen)
{
	char *d;
	size_t i, k = 0;
	int inspace = 0;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	if ((d = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			if (!inspace)
				d[k++] = ' ';
			inspace = 1;
			continue;
		}
		inspace = 0;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '`')
			c = '\'';
		d[k++] = c;
	}
	d[k] = '\0';
	*out = d;
	*outlen = k;
	return 1;
}

int
fv_fold_str(const char *s, size_t n, char **out, size_t *outlen)
{
	uint8_t *pre, *folded, *res;
	size_t len, flen = 0;

	switch (fold_ascii(s, n, out, outlen)) {
	case 1:
		return 0;
	case -1:
		return FV_ENOMEM;
	}
	if (n > 0 && u8_check((const uint8_t *)s, n) != NULL)
		return FV_EINVAL;
	if ((pre = malloc(n + 1)) == NULL)
		return FV_ENOMEM;
	len = n > 0 ? map(pre, (const uint8_t *)s, n, 0) : 0;
	pre[len] = '\0'; /* never read; quiets gcc's access analysis */
	/* u8_casefold allocates when given no buffer; flen gets the length. */
	folded = u8_casefold(pre, len, NULL, UNINORM_NFKC, NULL, &flen);
	free(pre);
	if (folded == NULL && len > 0)
		return errno == EILSEQ ? FV_EINVAL : FV_ENOMEM;
	/* Room for the NUL; the second pass only shrinks the text. */
	if ((res = malloc(flen + 1)) == NULL) {
		free(folded);
		return FV_ENOMEM;
	}
	len = folded != NULL ? map(res, folded, flen, 1) : 0;
	free(folded);
	res[len] = '\0';
	*out = (char *)res;
	*outlen = len;
	return 0;
}

int
fv_fold_contains(const char *hay, size_t haylen, const char *needle,
    size_t needlelen)
{
	if (needlelen == 0)
		return 1;
	if (needlelen > haylen)
		return 0;
	/* UTF-8 is self-synchronising: a byte match is a code point match. */
	return memmem(hay, haylen, needle, needlelen) != NULL;
}
