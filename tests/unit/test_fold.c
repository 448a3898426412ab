/*
 * test_fold.c - search folding: case in any script, NFKC, apostrophes,
 * white space, invalid UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "fv_error.h"
#include "tap.h"

/* Fold s and compare with want; want NULL means s must be refused. */
static void
folds_to(const char *s, size_t n, const char *want, const char *name)
{
	char *out = NULL;
	size_t len = 0;
	int r;

	r = fv_fold_str(s, n, &out, &len);
	if (want == NULL) {
		is_int(r, FV_EINVAL, "%s: refused", name);
		return;
	}
	is_int(r, 0, "%s: folds", name);
	if (r != 0)
		return;
	is_str(out, want, "%s: result", name);
	is_int(len, strlen(want), "%s: length", name);
	free(out);
}

/* 1 if needle, folded, occurs in hay, folded. */
static int
finds(const char *hay, const char *needle)
{
	char *h, *n;
	size_t hl, nl;
	int r;

	if (fv_fold_str(hay, strlen(hay), &h, &hl) != 0)
		return -1;
	if (fv_fold_str(needle, strlen(needle), &n, &nl) != 0) {
		free(h);
		return -1;
	}
	r = fv_fold_contains(h, hl, n, nl);
	free(h);
	free(n);
	return r;
}

int
main(void)
{
	static const char *const uzbek[] = {
		"Gʻulomov", /* U+02BB, the official Uzbek letter */
		"G'ulomov", /* U+0027, what most keyboards type */
		"G‘ulomov", /* U+2018 */
		"G’ulomov", /* U+2019, what word processors produce */
		"Gʼulomov", /* U+02BC */
		"Gʽulomov", /* U+02BD */
		"G`ulomov", /* U+0060 */
		"G´ulomov", /* U+00B4: NFKC alone would make it " ́" */
		"G‛ulomov", /* U+201B */
		"G′ulomov", /* U+2032 */
		"GʻULOMOV", NULL
	};
	const char *const *p;
	char *out;
	size_t len;

	/* Cyrillic. */
	is_int(finds("Эшматова", "эшматова"), 1, "cyrillic: title case");
	is_int(finds("ЭШМАТОВА", "эшматова"), 1, "cyrillic: upper case");
	is_int(finds("Дилноза Эшматова, Москва", "ЭШМАТОВ"), 1,
	    "cyrillic: inside a longer text, needle in upper case");
	is_int(finds("Эшматова", "петров"), 0, "cyrillic: no false match");
	folds_to("ЁЛКА", strlen("ЁЛКА"), "ёлка", "cyrillic: Ё");

	/* Uzbek Latin apostrophes. */
	for (p = uzbek; *p != NULL; p++)
		is_int(finds(*p, "gʻulomov"), 1, "uzbek: gʻulomov finds %s",
		    *p);
	is_int(finds("Oʻzbekiston", "o'zbekiston"), 1, "uzbek: o' finds oʻ");
	folds_to("Gʻulomov", strlen("Gʻulomov"), "g'ulomov",
	    "uzbek: folded form");
	folds_to("＇｀", strlen("＇｀"), "''",
	    "fullwidth apostrophe and grave (NFKC) become '");

	/* Greek: final sigma, accented capitals. */
	is_int(finds("ΟΔΥΣΣΕΥΣ", "οδυσσευς"), 1, "greek: final sigma");
	is_int(finds("Ο Οδυσσέας", "ΟΔΥΣΣΈΑΣ"), 1, "greek: tonos");
	is_int(finds("Αθήνα", "αθηνα"), 0,
	    "greek: accents are not removed (only case)");

	/* German sharp s. */
	is_int(finds("Straße", "STRASSE"), 1, "german: ß matches SS");
	is_int(finds("STRASSE", "straße"), 1, "german: SS matches ß");
	folds_to("ß", strlen("ß"), "ss", "german: ß folds to ss");
	folds_to("ẞ", strlen("ẞ"), "ss", "german: capital ẞ folds to ss");

	/* Arabic has no case: it must match itself, unchanged. */
	is_int(finds("عبد الله محمد", "محمد"), 1, "arabic: matches itself");
	folds_to("محمد", strlen("محمد"), "محمد", "arabic: unchanged");
	is_int(finds("عبد الله", "محمد"), 0, "arabic: no false match");

	/* No language: I is i, not Turkish dotless ı. */
	folds_to("ISTANBUL", 8, "istanbul", "default (not Turkish) I -> i");
	/*
	 * Full case folding keeps the dot of İ (U+0130) as U+0307, so
	 * "istanbul" does not find "İstanbul"; "i̇stanbul" does.  Known and
	 * accepted: the fold is language-neutral by design.
	 */
	folds_to("İ", strlen("İ"), "i\xcc\x87", "İ folds to i + U+0307");
	is_int(finds("İstanbul", "İSTANBUL"), 1, "İ matches itself");
	folds_to("ı", strlen("ı"), "ı", "dotless ı stays itself");

	/* NFKC: compatibility and composition. */
	folds_to("ＡＢＣ", strlen("ＡＢＣ"), "abc", "fullwidth Latin");
	folds_to("ﬁle", strlen("ﬁle"), "file", "ligature fi");
	is_int(finds("CAFÉ", "cafe\xcc\x81"), 1,
	    "decomposed é matches precomposed É");

	/* White space. */
	folds_to("a \t\n b", 6, "a b", "a run of white space is one space");
	folds_to("a\xc2\xa0"
		 "b",
	    4, "a b", "no-break space is a space");
	folds_to("a\xe3\x80\x80"
		 "b",
	    5, "a b", "ideographic space");
	folds_to("  x  ", 5, " x ", "ends keep one space");
	is_int(finds("Dilnoza   Eshmatova", "dilnoza eshmatova"), 1,
	    "spaces collapse in the haystack");

	/* Lengths, empty input, embedded limits. */
	folds_to("", 0, "", "empty input");
	folds_to(NULL, 0, "", "NULL with length 0");
	folds_to("ABCDEF", 3, "abc", "only n bytes are read");
	is_int(fv_fold_contains("abc", 3, "", 0), 1, "empty needle matches");
	is_int(fv_fold_contains("", 0, "", 0), 1,
	    "empty needle matches empty haystack");
	is_int(fv_fold_contains("ab", 2, "abc", 3), 0, "longer needle");
	is_int(fv_fold_contains("xabcx", 5, "abc", 3), 1, "inside");

	/* The ASCII fast path folds exactly as the full path: a leading é
	 * forces the full path on the same text. */
	{
		int c, same = 1;

		for (c = 1; c < 128 && same; c++) {
			char a[8], u[8], *fa = NULL, *fu = NULL;
			size_t la, lu;

			snprintf(a, sizeof(a), "A%c%cB", c, c);
			snprintf(u, sizeof(u), "\xc3\xa9%c%cB", c, c);
			if (fv_fold_str(a, strlen(a), &fa, &la) != 0 ||
			    fv_fold_str(u, strlen(u), &fu, &lu) != 0 ||
			    lu != la + 1 ||
			    memcmp(fa + 1, fu + 2, la - 1) != 0) {
				diag("byte 0x%02x: '%s' vs '%s'", c,
				    fa ? fa : "?", fu ? fu : "?");
				same = 0;
			}
			free(fa);
			free(fu);
		}
		ok(same,
		    "ASCII fast path: every byte folds as on the full path");
	}

	/* Invalid UTF-8 is refused. */
	folds_to("\xff", 1, NULL, "invalid: 0xff");
	folds_to("ab\xc3", 3, NULL, "invalid: truncated sequence");
	folds_to("\xc0\xaf", 2, NULL, "invalid: overlong");
	folds_to("\xed\xa0\x80", 3, NULL, "invalid: surrogate");
	folds_to("\xf4\x90\x80\x80", 4, NULL, "invalid: above U+10FFFF");
	folds_to("Ж", 1, NULL, "invalid: cut in the middle of a letter");
	out = NULL;
	len = 77;
	fv_fold_str("\x80", 1, &out, &len);
	ok(out == NULL && len == 77, "invalid: outputs untouched");

	return done_testing();
}
