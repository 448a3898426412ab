#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum fv_loglevel cur_level = FV_LOG_INFO;
static const char *prog = "fieldvaultd";
static int journal;

void
fv_log_init(enum fv_loglevel level, const char *progname)
{
	cur_level = level;
	prog = progname;
	journal = getenv("JOURNAL_STREAM") != NULL;
}

void
fv_log_setlevel(enum fv_loglevel level)
{
	cur_level = level;
}

int
fv_log_parse_level(const char *s, enum fv_loglevel *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum fv_loglevel)i;
			return 0;
		}
	return -1;
}

static void
vlog(enum fv_loglevel level, const char *why, const char *fmt, va_list ap)
{
	static const int syslog_pri[] = { 3, 4, 6, 7 };
	static const char *tag[] = { "error", "warn", "info", "debug" };
	char line[1024];
	int n;

	if (level > cur_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (journal)
		fprintf(stderr, "<%d>%s: %s%s%s\n", syslog_pri[level],
		    tag[level], line, why ? ": " : "", why ? why : "");
	else {
		char ts[32];
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s[%s]: %s%s%s\n", ts, prog, tag[level],
		    line, why ? ": " : "", why ? why : "");
	}
}

#define LOGFN(name, level, witherr) \
	void name(const char *fmt, ...) \
	{ \
		int saved = errno; \
		va_list ap; \
\
		va_start(ap, fmt); \
		vlog(level, witherr ? strerror(saved) : NULL, fmt, ap); \
		va_end(ap); \
		errno = saved; \
	}

LOGFN(fv_log_warn, FV_LOG_WARN, 1)
LOGFN(fv_log_warnx, FV_LOG_WARN, 0)
LOGFN(fv_log_error, FV_LOG_ERROR, 0)
LOGFN(fv_log_info, FV_LOG_INFO, 0)
LOGFN(fv_log_debug, FV_LOG_DEBUG, 0)

void
fv_log_at(enum fv_loglevel level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void
fv_log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(FV_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	abort();
}
