/*
 * desc.c - the checks every host makes of a plugin's descriptor, the
 * daemon's and the mock's alike, so that a plugin the mock accepts loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdkimpl.h"

int
fv_sdk_desc_valid_name(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > FV_SDK_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
			*s == '_' || *s == '-'))
			return 0;
	return 1;
}

int
fv_sdk_desc_check(const struct fv_plugin *d, const char *host, char *why,
    size_t len)
{
	unsigned k = d->kinds;

	if (d->abi_major != FV_ABI_MAJOR || d->abi_minor > FV_ABI_MINOR)
		snprintf(why, len,
		    "built for plugin ABI %u.%u; this %s has "
		    "%u.%u",
		    d->abi_major, d->abi_minor, host, FV_ABI_MAJOR,
		    FV_ABI_MINOR);
	else if (!fv_sdk_desc_valid_name(d->name))
		snprintf(why, len, "not a plugin name (1..%d of a-z 0-9 _ -)",
		    FV_SDK_NAME_MAX);
	else if (k == 0 ||
	    (k & ~(FV_KIND_EXPORTER | FV_KIND_EXCHANGE | FV_KIND_HOOK)) != 0)
		snprintf(why, len, "kinds 0x%x: none, or unknown to this %s", k,
		    host);
	else if ((k & FV_KIND_EXPORTER) &&
	    (d->export_begin == NULL || d->export_record == NULL ||
		d->export_end == NULL))
		snprintf(why, len,
		    "an exporter without export_begin, "
		    "export_record and export_end");
	else if ((k & FV_KIND_EXCHANGE) &&
	    (d->exchange_send == NULL || d->exchange_import == NULL))
		snprintf(why, len,
		    "an exchange without exchange_send and "
		    "exchange_import");
	else if ((k & FV_KIND_HOOK) && d->hook == NULL)
		snprintf(why, len, "a hook without its hook function");
	else
		return 0;
	return -1;
}

void
fv_sdk_desc_kv_free(char **kv)
{
	size_t i;

	if (kv == NULL)
		return;
	for (i = 0; kv[i] != NULL; i++)
		free(kv[i]);
	free(kv);
}

char **
fv_sdk_desc_kv_copy(const char *const *kv)
{
	size_t i, n = 0;
	char **c;

	while (kv != NULL && kv[n] != NULL && kv[n + 1] != NULL)
		n += 2;
	if (kv != NULL && kv[n] != NULL) /* a key without its value */
		return NULL;
	if ((c = calloc(n + 1, sizeof(*c))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((c[i] = strdup(kv[i])) == NULL) {
			fv_sdk_desc_kv_free(c);
			return NULL;
		}
	return c;
}

long
fv_sdk_desc_kv_unknown(const struct fv_plugin *d, const char *const *kv)
{
	size_t i, j;
	int known;

	for (i = 0; kv != NULL && kv[i] != NULL; i += 2) {
		known = 0;
		for (j = 0; d->config_keys != NULL && d->config_keys[j] != NULL;
		     j++)
			known |= strcmp(d->config_keys[j], kv[i]) == 0;
		if (!known)
			return (long)i;
	}
	return -1;
}
