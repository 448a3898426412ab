/*
 * fieldvault/record.h - reading a record (an appeal or a note).
 *
 * A record is an opaque handle owned by the host and valid during the
 * callback it was passed to.  Fields are named by their dotted path as in
 * the records' schema: "summary", "applicant.full_name", "visit.date",
 * "x_case_number".  Strings are UTF-8, NUL-free, owned by the record.
 *
 * When an appeal's applicant asked for confidentiality
 * (applicant.confidential is true) the host removes the identifying fields
 * (applicant.full_name, birth_date, location, contact) before any plugin
 * sees the record: fv_record_get() then returns NULL for them.
 *
 * Include <fieldvault/plugin.h>, which includes this file.
 */
#ifndef FIELDVAULT_RECORD_H
#define FIELDVAULT_RECORD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fv_record fv_record;

/* "appeal" or "note". */
const char *fv_record_type(const fv_record *r);
/* The id: 32 lowercase hex characters. */
const char *fv_record_id(const fv_record *r);
/* The field at path as text: a string as it is; a number or a boolean
 * as JSON writes it ("12", "true"); NULL when the field is absent, null,
 * an object or an array. */
const char *fv_record_get(const fv_record *r, const char *path);
/* 1 if the field at path is the boolean true, else 0. */
int fv_record_get_bool(const fv_record *r, const char *path);
/* The field at path as compact JSON text (any value: objects, arrays),
 * NUL-terminated, *len its length if len is not NULL; NULL when absent.
 * "" (the empty path) gives the whole record. */
const char *fv_record_get_json(const fv_record *r, const char *path,
    size_t *len);
/* The record's tags: how many, and the i-th (NULL past the end). */
size_t fv_record_tag_count(const fv_record *r);
const char *fv_record_tag(const fv_record *r, size_t i);
/* 1 if a concurrent edit of the record lost to another (see history). */
int fv_record_conflict(const fv_record *r);

/* Hooks: what happened to the record.  A deleted record has only its id
 * and type. */
enum fv_change {
	FV_CHANGE_CREATE = 1,
	FV_CHANGE_UPDATE = 2,
	FV_CHANGE_DELETE = 3
};

#ifdef __cplusplus
}
#endif

#endif
