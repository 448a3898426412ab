/*
 * csv.c - the csv exporter: records as RFC 4180 CSV that a spreadsheet
 * opens right, whatever the script.
 *
 * The file starts with a UTF-8 byte order mark (spreadsheets otherwise
 * guess a legacy code page and garble Cyrillic or Arabic), then a header
 * row of the columns' dotted paths, then one row per record; every line
 * ends with CRLF.  A cell holding a comma, a double quote, CR or LF is
 * quoted, its quotes doubled.  A cell a spreadsheet would take for a
 * formula (first character = + - @ TAB CR) gets a leading single quote
 * and is quoted: an export must not run what an applicant typed.
 *
 * Each row is built in one buffer of the run, reused, and written with one
 * fv_output_write: no printf per cell.
 */
#include <fieldvault/plugin.h>

#include <stdint.h>
#include <string.h>

#ifndef FV_PLUGIN_EXPORT_NAME
#define FV_PLUGIN_EXPORT_NAME fieldvault_plugin_v1
#endif

enum col_kind {
	COL_FIELD,   /* fv_record_get of the path */
	COL_TAGS,    /* the tags joined with "; " */
	COL_CONFLICT /* fv_record_conflict: true or false */
};

struct column {
	const char *path; /* also the header */
	enum col_kind kind;
};

static const struct column appeal_cols[] = { { "id", COL_FIELD },
	{ "created_at", COL_FIELD }, { "updated_at", COL_FIELD },
	{ "created_by", COL_FIELD }, { "received_at", COL_FIELD },
	{ "applicant.full_name", COL_FIELD },
	{ "applicant.birth_date", COL_FIELD },
	{ "applicant.citizenship", COL_FIELD },
	{ "applicant.residence_country", COL_FIELD },
	{ "applicant.location", COL_FIELD }, { "applicant.contact", COL_FIELD },
	{ "applicant.confidential", COL_FIELD },
	{ "concerns_country", COL_FIELD }, { "category", COL_FIELD },
	{ "channel", COL_FIELD }, { "status", COL_FIELD },
	{ "assigned_to", COL_FIELD }, { "partner", COL_FIELD },
	{ "partner_ref", COL_FIELD }, { "summary", COL_FIELD },
	{ "tags", COL_TAGS }, { "conflict", COL_CONFLICT },
	{ NULL, COL_FIELD } };

static const struct column note_cols[] = { { "id", COL_FIELD },
	{ "created_at", COL_FIELD }, { "updated_at", COL_FIELD },
	{ "created_by", COL_FIELD }, { "appeal_id", COL_FIELD },
	{ "visit.institution", COL_FIELD }, { "visit.country", COL_FIELD },
	{ "visit.date", COL_FIELD }, { "text", COL_FIELD },
	{ "tags", COL_TAGS }, { "conflict", COL_CONFLICT },
	{ NULL, COL_FIELD } };

#define TAG_SEP "; "
#define BOM	"\xef\xbb\xbf"

/* Bytes that make a cell quoted. */
static const uint8_t
    quote_me[256] = { [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1 };
/* First bytes that make a spreadsheet read a formula. */
static const uint8_t formula[256] = { ['='] = 1,
	['+'] = 1,
	['-'] = 1,
	['@'] = 1,
	['\t'] = 1,
	['\r'] = 1 };

struct run {
	const struct column *cols;
	char *row; /* the row being built (fv_alloc) */
	size_t len, cap;
	char *tags; /* the joined tags (fv_alloc) */
	size_t tcap;
};

/* The plugin's state is its host handle: its only use is logging. */
static int
csv_init(fv_host *h, void **state)
{
	*state = h;
	return 0;
}

/* Makes room for n more bytes in *buf; 0 or -1. */
static int
grow(char **buf, size_t *cap, size_t len, size_t n)
{
	size_t c;
	char *p;

	if (n <= *cap - len)
		return 0;
	if (n > SIZE_MAX / 2 - len)
		return -1;
	for (c = *cap ? *cap : 1024; c < len + n; c *= 2)
		;
	if ((p = fv_realloc(*buf, c)) == NULL)
		return -1;
	*buf = p;
	*cap = c;
	return 0;
}

/* Appends the cell s[0..n) to the row, quoted and defused as needed, with
 * the comma that separates it from the one before. */
static int
cell(struct run *rn, int first, const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i, quotes = 0;
	int quote, defuse;
	char *p;

	defuse = n > 0 && formula[u[0]];
	quote = defuse;
	for (i = 0; i < n; i++)
		if (quote_me[u[i]]) {
			quote = 1;
			quotes += u[i] == '"';
		}
	/* comma, quote, apostrophe, the cell, its doubled quotes, quote */
	if (grow(&rn->row, &rn->cap, rn->len, n + quotes + 4) != 0)
		return -1;
	p = rn->row + rn->len;
	if (!first)
		*p++ = ',';
	if (quote)
		*p++ = '"';
	if (defuse)
		*p++ = '\'';
	if (quotes == 0) {
		memcpy(p, s, n);
		p += n;
	} else
		for (i = 0; i < n; i++)
			if ((*p++ = s[i]) == '"')
				*p++ = '"';
	if (quote)
		*p++ = '"';
	rn->len = (size_t)(p - rn->row);
	return 0;
}

static int
cell_str(struct run *rn, int first, const char *s)
{
	return cell(rn, first, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* The tags joined with TAG_SEP as one cell. */
static int
cell_tags(struct run *rn, int first, const fv_record *r)
{
	size_t i, n, len = 0, count = fv_record_tag_count(r);
	const char *t;

	for (i = 0; i < count; i++) {
		if ((t = fv_record_tag(r, i)) == NULL)
			continue;
		n = strlen(t);
		if (grow(&rn->tags, &rn->tcap, len, n + sizeof(TAG_SEP)) != 0)
			return -1;
		if (len > 0) {
			memcpy(rn->tags + len, TAG_SEP, sizeof(TAG_SEP) - 1);
			len += sizeof(TAG_SEP) - 1;
		}
		memcpy(rn->tags + len, t, n);
		len += n;
	}
	return cell(rn, first, len > 0 ? rn->tags : "", len);
}

/* Ends the row with CRLF and writes it in one go. */
static int
row_end(struct run *rn, fv_export *x)
{
	if (grow(&rn->row, &rn->cap, rn->len, 2) != 0)
		return -1;
	rn->row[rn->len++] = '\r';
	rn->row[rn->len++] = '\n';
	return fv_output_write(fv_export_output(x), rn->row, rn->len);
}

static void
run_free(struct run *rn)
{
	fv_free(rn->row);
	fv_free(rn->tags);
	fv_free(rn);
}

static int
csv_begin(void *state, fv_export *x, void **run)
{
	const char *type = fv_export_option(x, "type");
	struct run *rn;
	size_t i;

	if (type != NULL && strcmp(type, "appeal") != 0 &&
	    strcmp(type, "note") != 0) {
		fv_log(state, FV_LOG_ERROR,
		    "cannot export records of type "
		    "'%.16s'",
		    type);
		return -1;
	}
	if ((rn = fv_alloc(sizeof(*rn))) == NULL)
		return -1;
	memset(rn, 0, sizeof(*rn));
	rn->cols = type != NULL && strcmp(type, "note") == 0 ? note_cols :
							       appeal_cols;
	if (grow(&rn->row, &rn->cap, 0, sizeof(BOM)) != 0)
		goto fail;
	memcpy(rn->row, BOM, sizeof(BOM) - 1);
	rn->len = sizeof(BOM) - 1;
	for (i = 0; rn->cols[i].path != NULL; i++)
		if (cell_str(rn, i == 0, rn->cols[i].path) != 0)
			goto fail;
	if (row_end(rn, x) != 0)
		goto fail;
	*run = rn;
	return 0;
fail:
	run_free(rn);
	return -1;
}

static int
csv_record(void *run, fv_export *x, const fv_record *r)
{
	struct run *rn = run;
	const struct column *c;
	int rc = 0;

	rn->len = 0;
	for (c = rn->cols; c->path != NULL && rc == 0; c++) {
		switch (c->kind) {
		case COL_FIELD:
			rc = cell_str(rn, c == rn->cols,
			    fv_record_get(r, c->path));
			break;
		case COL_TAGS:
			rc = cell_tags(rn, c == rn->cols, r);
			break;
		case COL_CONFLICT:
			rc = cell_str(rn, c == rn->cols,
			    fv_record_conflict(r) ? "true" : "false");
			break;
		}
	}
	return rc == 0 ? row_end(rn, x) : -1;
}

static int
csv_end(void *run, fv_export *x, int complete)
{
	(void)x;
	(void)complete; /* every row is written already */
	run_free(run);
	return 0;
}

const struct fv_plugin FV_PLUGIN_EXPORT_NAME = {
	FV_PLUGIN_ABI,
	.name = "csv",
	.version = "1.0",
	.description = "RFC 4180 CSV with a UTF-8 BOM, safe in spreadsheets",
	.kinds = FV_KIND_EXPORTER,
	.config_keys = NULL,
	.init = csv_init,
	.export_begin = csv_begin,
	.export_record = csv_record,
	.export_end = csv_end,
};
