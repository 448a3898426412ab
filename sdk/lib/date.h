/*
 * date.h - the record schema's date rules, once: fieldvaultd's record
 * checks (daemon/core/record.c) and the plugins that read dates in their
 * own formats (plugins/ombx) compile them in, so that a plugin needs no
 * daemon to agree with it.  Header-only: nothing here is exported.
 */
#ifndef FV_SDK_DATE_H
#define FV_SDK_DATE_H

#include <string.h>

/* Two ASCII digits at p as a number, or -1. */
static inline int
fv_sdk_date_dig2(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Parses YYYY-MM-DD at s (10 bytes, not necessarily NUL-ended): a real
 * calendar date, year 1900..2100. */
static inline int
fv_sdk_date_parse(const char *s, int *y, int *m, int *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int hi, lo, max;

	if (s[4] != '-' || s[7] != '-')
		return 0;
	if ((hi = fv_sdk_date_dig2(s)) < 0 ||
	    (lo = fv_sdk_date_dig2(s + 2)) < 0)
		return 0;
	*y = hi * 100 + lo;
	if ((*m = fv_sdk_date_dig2(s + 5)) < 0 ||
	    (*d = fv_sdk_date_dig2(s + 8)) < 0)
		return 0;
	if (*y < 1900 || *y > 2100 || *m < 1 || *m > 12)
		return 0;
	max = mdays[*m - 1] +
	    (*m == 2 && ((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0));
	return *d >= 1 && *d <= max;
}

/* 1 if s is exactly YYYY-MM-DD, a real calendar date, year 1900..2100. */
static inline int
fv_sdk_date_valid(const char *s)
{
	int y, m, d;

	return s != NULL && strlen(s) == 10 && fv_sdk_date_parse(s, &y, &m, &d);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static inline long long
fv_sdk_date_days(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * 1 if s is an RFC 3339 date-time ("2026-11-24T14:16:37Z",
 * "2026-11-24t14:16:37.25+05:00"): date as fv_sdk_date_valid(), T or t,
 * seconds 00..60, an optional fraction of 1..9 digits, then Z, z or
 * +hh:mm / -hh:mm.  If ms_out is not NULL it gets the instant in Unix ms
 * (fraction truncated to ms; a leap second counts as the next second).
 * Else 0, *ms_out untouched.
 */
static inline int
fv_sdk_date_rfc3339(const char *s, long long *ms_out)
{
	const char *p;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int ndig = 0;
	long long frac = 0, ms;

	/* Shortest is "YYYY-MM-DDTHH:MM:SSZ"; the date is 10 bytes. */
	if (s == NULL || strlen(s) < 20)
		return 0;
	if (!fv_sdk_date_parse(s, &y, &mo, &d))
		return 0;
	if ((s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return 0;
	if ((h = fv_sdk_date_dig2(s + 11)) < 0 ||
	    (mi = fv_sdk_date_dig2(s + 14)) < 0 ||
	    (sec = fv_sdk_date_dig2(s + 17)) < 0 || h > 23 || mi > 59 ||
	    sec > 60)
		return 0;
	p = s + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, ndig++)
			if (ndig < 3)
				frac = frac * 10 + (*p - '0');
		if (ndig < 1 || ndig > 9)
			return 0;
		for (; ndig < 3; ndig++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (strlen(p) != 6 || p[3] != ':' ||
		    (oh = fv_sdk_date_dig2(p + 1)) < 0 ||
		    (om = fv_sdk_date_dig2(p + 4)) < 0 || oh > 23 || om > 59)
			return 0;
		p += 6;
	} else
		return 0;
	if (*p != '\0')
		return 0;
	if (ms_out != NULL) {
		ms = fv_sdk_date_days(y, mo, d) * 86400 + h * 3600 + mi * 60 +
		    sec - sign * (oh * 3600 + om * 60);
		*ms_out = ms * 1000 + frac;
	}
	return 1;
}

#endif
