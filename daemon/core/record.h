/*
 * record.h - the record schema (docs/records.md) and its validation.
 *
 * A record body is a jansson object.  fv_record_check() says whether a body
 * may be stored, naming the first bad field; fv_record_strip_readonly()
 * removes what a client may send but not set; fv_record_defaults() fills
 * in what a new appeal gets when the client leaves it out.
 *
 * Limits, as docs/records.md states them.  "chars"
 * are Unicode code points, "bytes" are bytes of UTF-8.
 *
 *   applicant.full_name	1..200 chars, not only white space
 *   summary (appeal)		1..65536 bytes, not only white space
 *   text (note)		1..262144 bytes, not only white space
 *   other texts		0..1000 chars (applicant.location, .contact,
 *				partner, partner_ref, visit.institution);
 *				empty is allowed, null means absent
 *   assigned_to		1..64 chars of [a-z0-9_.-] (a group name)
 *   tags			at most 64, each 1..100 chars
 *   appeal_id (note)		32 lowercase hex chars
 *   dates			YYYY-MM-DD, a real date, years 1900..2100
 *   received_at		RFC 3339 date-time, same years, fraction of
 *				at most 9 digits
 *   countries			ISO 3166-1 alpha-2, upper case, assigned, or XK
 *   x_ fields			names of 3..64 bytes starting "x_" and free
 *				of control characters (< 0x20, 0x7f), any JSON
 *				value of at most 65536 bytes serialized and
 *				nested at most 16 deep; at most 32 in a record
 *				(top level, applicant and visit together)
 *   the whole record		at most 1 MiB serialized (compact)
 *
 * No string anywhere in a record may contain U+0000: C consumers (plugins,
 * exports) would silently truncate it.
 */
#ifndef FV_RECORD_H
#define FV_RECORD_H

#include <stddef.h>

#include <jansson.h>

#define FV_NAME_MAX_CHARS  200
#define FV_SUMMARY_MAX	   65536
#define FV_NOTE_TEXT_MAX   262144
#define FV_TEXT_MAX_CHARS  1000
#define FV_GROUP_MAX_CHARS 64
#define FV_TAGS_MAX	   64
#define FV_TAG_MAX_CHARS   100
#define FV_X_NAME_MAX	   64
#define FV_X_FIELD_MAX	   65536
#define FV_X_FIELDS_MAX	   32
#define FV_X_DEPTH_MAX	   16
#define FV_RECORD_MAX	   (1024 * 1024)
#define FV_ID_HEX_LEN	   32

enum fv_rtype {
	FV_RTYPE_APPEAL = 1,
	FV_RTYPE_NOTE = 2,
};

/*
 * A validation error: field is the dotted path of the bad field
 * ("applicant.full_name", "tags[2]", "visit.date"), or "(record)" when the
 * body as a whole is at fault; msg is a short reason ("is required").  Both
 * are NUL-terminated; a too-long path is truncated.
 */
struct fv_verr {
	char field[96];
	char msg[160];
};

/* "appeal" or "note"; NULL for a value outside enum fv_rtype.  Static. */
const char *fv_record_type_name(enum fv_rtype t);

/* Parse "appeal" / "note" into *t.  Returns 0, or FV_EINVAL (s NULL or
 * another word; *t untouched). */
int fv_record_type_parse(const char *s, enum fv_rtype *t);

/*
 * Remove in place, from obj, the read-only fields a client may send (id,
 * created_at, updated_at, created_by, conflict, type), and every member
 * whose value is null at the top level and inside applicant and visit
 * (null means absent; what is inside x_ values is kept as it is).  Call
 * fv_record_check() first: it is the one that checks "type".  obj is
 * borrowed; a non-object is left alone.
 */
void fv_record_strip_readonly(json_t *obj);

/*
 * Check obj, a complete record body, against the schema of type t (see
 * the limits above).  Read-only fields are ignored, except "type": if
 * present and not null it must be the string fv_record_type_name(t).  A null
 * member counts as absent.  Unknown fields are refused unless their name
 * starts with "x_", at the top level and inside applicant and visit.  A
 * note's appeal_id is checked for form only; whether it exists is the
 * caller's business.
 *
 * Returns 0, or FV_EINVAL with *e (if e is not NULL) naming the first bad
 * field, fields taken in the order of the body, then missing required
 * fields in the order of the tables of docs/records.md.  obj and e are
 * borrowed.
 */
int fv_record_check(const json_t *obj, enum fv_rtype t, struct fv_verr *e);

/*
 * Fill in the defaults of a new record, where a field is absent or null:
 * an appeal gets channel "in_person", status "received" and received_at
 * now_ms (Unix ms, formatted by fv_record_format_rfc3339()); a note gets nothing.
 * obj is borrowed and modified.  Returns 0, FV_EINVAL (obj not an object,
 * bad t) or FV_ENOMEM.
 */
int fv_record_defaults(json_t *obj, enum fv_rtype t, long long now_ms);

/* 1 if s is an assigned ISO 3166-1 alpha-2 code (the 249, upper case) or
 * XK (Kosovo, user-assigned but in common use); else 0.  NULL gives 0. */
int fv_record_valid_country(const char *s);

/* 1 if s is a group name (assigned_to): 1..64 of a-z 0-9 _ . - */
int fv_record_valid_group(const char *s);

/* 1 if s is exactly YYYY-MM-DD, a real calendar date, year 1900..2100. */
int fv_record_valid_date(const char *s);

/*
 * 1 if s is an RFC 3339 date-time ("2026-11-24T14:16:37Z",
 * "2026-11-24t14:16:37.25+05:00"): date as fv_record_valid_date(), T or t,
 * seconds 00..60, an optional fraction of 1..9 digits, then Z, z or
 * +hh:mm / -hh:mm.  If ms_out is not NULL it gets the instant in Unix ms
 * (fraction truncated to ms; a leap second counts as the next second).
 * Else 0, *ms_out untouched.
 */
int fv_record_valid_rfc3339(const char *s, long long *ms_out);

/* Write ms (Unix ms) as "YYYY-MM-DDTHH:MM:SSZ", UTC, seconds truncated
 * toward the past, into buf (NUL-terminated). */
void fv_record_format_rfc3339(long long ms, char buf[32]);

/* Number of code points in s[0..n), which must be valid UTF-8 (jansson
 * strings are). */
size_t fv_record_utf8_chars(const char *s, size_t n);

#endif
