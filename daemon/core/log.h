/*
 * log.h - the daemon's log: one line per event on stderr.
 *
 * Lines read "subsystem: object: what: why" and never carry record content.
 * When stderr is the journal (JOURNAL_STREAM set), lines get a "<N>" syslog
 * level prefix.  fv_log_warn() appends strerror(errno).
 */
#ifndef FV_LOG_H
#define FV_LOG_H

/* The plugin SDK (fieldvault/host.h) names the same levels: a file that
 * includes both includes the SDK's first. */
#ifndef FIELDVAULT_HOST_H
enum fv_loglevel {
	FV_LOG_ERROR = 0,
	FV_LOG_WARN,
	FV_LOG_INFO,
	FV_LOG_DEBUG
};
#else
#define fv_loglevel fv_level
#endif

void fv_log_init(enum fv_loglevel level, const char *progname);
void fv_log_setlevel(enum fv_loglevel level);
int fv_log_parse_level(const char *s, enum fv_loglevel *out);
void fv_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fv_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fv_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fv_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fv_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line at level, for the plugins' fv_log. */
void fv_log_at(enum fv_loglevel level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fv_log_fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
