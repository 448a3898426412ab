/*
 * fold.h - normalise text for search, so that a query matches a record
 * whatever the case, the script (Latin, Cyrillic, Greek, Arabic...) and
 * the apostrophe a keyboard produced (Uzbek o' g' written ʻ ' ’ ‘ `).
 */
#ifndef FV_FOLD_H
#define FV_FOLD_H

#include <stddef.h>

/*
 * Fold s[0..n) (UTF-8; s may be NULL when n is 0): Unicode case folding
 * with NFKC normalisation (libunistring, no language, so I folds to i as
 * everywhere but in Turkish), every apostrophe-like code point (U+0027 ',
 * U+0060 `, U+00B4 ´, U+02BB ʻ, U+02BC ʼ, U+02BD ʽ, U+2018 ‘, U+2019 ’,
 * U+201B ‛, U+2032 ′) turned into U+0027, and every run of Unicode white
 * space turned into one U+0020.  Leading and trailing space is kept (as
 * one space), so a folded needle matches what the same text folds to.
 *
 * Returns 0 with *out a malloc'd NUL-terminated string the caller frees
 * and *outlen its length (excluding the NUL); or FV_EINVAL (s is not
 * valid UTF-8) or FV_ENOMEM, with *out and *outlen untouched.
 */
int fv_fold_str(const char *s, size_t n, char **out, size_t *outlen);

/* 1 if needle[0..needlelen) occurs in hay[0..haylen), both already folded
 * by fv_fold_str(); an empty needle occurs everywhere.  Else 0.  Borrowed. */
int fv_fold_contains(const char *hay, size_t haylen, const char *needle,
    size_t needlelen);

#endif
