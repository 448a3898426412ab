/*
 * xchg.c - the rules every host applies to what an exchange plugin says
 * a package holds (fv_exchange_add_appeal, fv_exchange_add_reply), the
 * daemon's and the mock's alike, so that a plugin the mock accepts
 * imports.
 */
#include <stdlib.h>
#include <string.h>

#include "sdkimpl.h"

const char *const fv_sdk_xchg_travel[] = { "applicant", "concerns_country",
	"category", "received_at", "summary", "tags", NULL };

static const char *const statuses[] = { "received", "under_review", "forwarded",
	"resolved_positive", "resolved_negative", "closed", NULL };

int
fv_sdk_xchg_valid_ref(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > FV_SDK_REF_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

int
fv_sdk_xchg_valid_status(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && statuses[i] != NULL; i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

size_t
fv_sdk_xchg_utf8_chars(const char *s)
{
	size_t c = 0;

	for (; *s != '\0'; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	return c;
}
