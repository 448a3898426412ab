/*
 * log.c - a plugin's log line as the host writes it, for the daemon and
 * the mock host alike.
 */
#include <stdarg.h>
#include <stdio.h>

#include "sdkimpl.h"

enum fv_level
fv_sdk_log_line(char *line, size_t size, enum fv_level level, const char *fmt,
    va_list ap)
{
	size_t i;

	if ((int)level < FV_LOG_ERROR || level > FV_LOG_DEBUG)
		level = FV_LOG_INFO;
	vsnprintf(line, size, fmt, ap);
	/* one line per call, whatever the plugin wrote */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	return level;
}
