/*
 * test_plugins.c - the bundled exporters (csv, jsonl, stats) run through
 * the mock host (sdk/mock), and the mock host itself: CSV quoting, inert
 * formula cells, any script, the BOM, CRLF, the header rows of appeals and
 * notes; confidential applicants absent from csv and jsonl; jsonl lines
 * parse back; stats counts as text and JSON, notes not counted, distinct
 * values bounded; the mock's descriptor checks, log, export runs, and an
 * exchange round trip with the refusals of bad host calls.
 *
 * Built with each plugin's descriptor renamed (-DFV_PLUGIN_EXPORT_NAME=
 * csv_plugin, jsonl_plugin, stats_plugin), since all three are linked in.
 */
#define _GNU_SOURCE /* memmem, asprintf */

#include <fieldvault/mock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "tap.h"

extern const struct fv_plugin csv_plugin, jsonl_plugin, stats_plugin;

#define BOM "\xef\xbb\xbf"

/* --- records -------------------------------------------------------------- */

/* Cyrillic; a comma, quotes, CR LF; a formula-like contact; tags. */
#define REC_A \
	"{\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"appeal\"," \
	"\"created_at\":\"2026-04-02T10:00:00Z\"," \
	"\"updated_at\":\"2026-04-02T10:00:00Z\"," \
	"\"created_by\":\"tashkent-laptop-1\"," \
	"\"received_at\":\"2026-04-02T09:30:00Z\"," \
	"\"applicant\":{\"full_name\":\"Иванов Пётр\"," \
	"\"birth_date\":\"1980-05-17\",\"citizenship\":\"UZ\"," \
	"\"residence_country\":\"RU\",\"location\":\"Москва, СИЗО-1\"," \
	"\"contact\":\"+7 900 000-00-00\",\"confidential\":false}," \
	"\"concerns_country\":\"RU\",\"category\":\"detention_conditions\"," \
	"\"channel\":\"visit\",\"status\":\"received\"," \
	"\"assigned_to\":\"moscow\"," \
	"\"summary\":\"He said \\\"help\\\", then\\r\\nleft\"," \
	"\"tags\":[\"urgent\",\"detention\"],\"conflict\":true}"

/* Uzbek Latin; every formula lead (= + - @ TAB CR); an x_ field. */
#define REC_B \
	"{\"id\":\"11111111111111111111111111111111\",\"type\":\"appeal\"," \
	"\"created_at\":\"2026-04-03T08:00:00Z\"," \
	"\"updated_at\":\"2026-04-05T08:00:00Z\",\"created_by\":\"hq\"," \
	"\"received_at\":\"2026-04-03T07:00:00Z\"," \
	"\"applicant\":{\"full_name\":\"Gʻulomov Bahodir\"," \
	"\"citizenship\":\"UZ\",\"location\":\"@Oʻzbekiston\"," \
	"\"contact\":\"\\rcall me\"}," \
	"\"concerns_country\":\"KZ\",\"category\":\"labour_rights\"," \
	"\"partner\":\"\\tTab\",\"partner_ref\":\"-5\"," \
	"\"summary\":\"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\"," \
	"\"tags\":[\"+x\",\"y\"],\"x_case\":12}"

/* Arabic; a confidential applicant. */
#define REC_C \
	"{\"id\":\"22222222222222222222222222222222\",\"type\":\"appeal\"," \
	"\"created_at\":\"2026-04-04T08:00:00Z\"," \
	"\"updated_at\":\"2026-04-04T08:00:00Z\",\"created_by\":\"hq\"," \
	"\"received_at\":\"2026-04-04T07:00:00Z\"," \
	"\"applicant\":{\"full_name\":\"محمد عبد الله\"," \
	"\"birth_date\":\"1975-01-01\",\"citizenship\":\"UZ\"," \
	"\"residence_country\":\"AE\",\"location\":\"دبي\"," \
	"\"contact\":\"+971 50 000 0000\",\"confidential\":true}," \
	"\"concerns_country\":\"AE\",\"category\":\"migration_status\"," \
	"\"channel\":\"phone\",\"status\":\"under_review\"," \
	"\"summary\":\"الملخص: طلب مساعدة\",\"tags\":[]}"

#define NOTE_A \
	"{\"id\":\"33333333333333333333333333333333\",\"type\":\"note\"," \
	"\"created_at\":\"2026-04-06T12:00:00Z\"," \
	"\"updated_at\":\"2026-04-06T12:00:00Z\",\"created_by\":\"hq\"," \
	"\"appeal_id\":\"0123456789abcdef0123456789abcdef\"," \
	"\"visit\":{\"institution\":\"ИК-5, Владимир\",\"country\":\"RU\"," \
	"\"date\":\"2026-04-05\"}," \
	"\"text\":\"Visited; 12 compatriots.\\nAll \\\"fine\\\"\"," \
	"\"tags\":[\"monitoring\"]}"

#define APPEAL_HEADER \
	"id,created_at,updated_at,created_by,received_at," \
	"applicant.full_name,applicant.birth_date,applicant.citizenship," \
	"applicant.residence_country,applicant.location,applicant.contact," \
	"applicant.confidential,concerns_country,category,channel,status," \
	"assigned_to,partner,partner_ref,summary,tags,conflict\r\n"

#define NOTE_HEADER \
	"id,created_at,updated_at,created_by,appeal_id,visit.institution," \
	"visit.country,visit.date,text,tags,conflict\r\n"

#define ROW_A \
	"0123456789abcdef0123456789abcdef,2026-04-02T10:00:00Z," \
	"2026-04-02T10:00:00Z,tashkent-laptop-1,2026-04-02T09:30:00Z," \
	"Иванов Пётр,1980-05-17,UZ,RU,\"Москва, СИЗО-1\"," \
	"\"'+7 900 000-00-00\",false,RU,detention_conditions,visit," \
	"received,moscow,,,\"He said \"\"help\"\", then\r\nleft\"," \
	"urgent; detention,true\r\n"

#define ROW_B \
	"11111111111111111111111111111111,2026-04-03T08:00:00Z," \
	"2026-04-05T08:00:00Z,hq,2026-04-03T07:00:00Z," \
	"Gʻulomov Bahodir,,UZ,,\"'@Oʻzbekiston\",\"'\rcall me\",,KZ," \
	"labour_rights,,,,\"'\tTab\",\"'-5\"," \
	"\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"," \
	"\"'+x; y\",false\r\n"

#define ROW_C \
	"22222222222222222222222222222222,2026-04-04T08:00:00Z," \
	"2026-04-04T08:00:00Z,hq,2026-04-04T07:00:00Z,,,UZ,AE,,,true,AE," \
	"migration_status,phone,under_review,,,,الملخص: طلب مساعدة,,false\r\n"

#define ROW_NOTE \
	"33333333333333333333333333333333,2026-04-06T12:00:00Z," \
	"2026-04-06T12:00:00Z,hq,0123456789abcdef0123456789abcdef," \
	"\"ИК-5, Владимир\",RU,2026-04-05," \
	"\"Visited; 12 compatriots.\nAll \"\"fine\"\"\",monitoring,false\r\n"

/* --- helpers -------------------------------------------------------------- */

struct outbuf {
	char *p;
	size_t len;
};

/* Runs the exporter p over recs with options; the output in *o. */
static int
run_export(fv_mock_host *h, const struct fv_plugin *p, const char *const *opts,
    const char *recs, struct outbuf *o)
{
	void *st;
	FILE *f;
	int rc;

	o->p = NULL;
	o->len = 0;
	if ((f = open_memstream(&o->p, &o->len)) == NULL)
		return -1;
	if (fv_mock_load(h, p, &st) != 0) {
		fclose(f);
		return -1;
	}
	rc = fv_mock_export(h, p, st, opts, recs, f);
	fv_mock_unload(h, p, st);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
contains(const struct outbuf *o, const char *s)
{
	return memmem(o->p, o->len, s, strlen(s)) != NULL;
}

/*
 * A strict RFC 4180 reader: rows of cells as a JSON array of arrays, or
 * NULL if the text breaks the RFC (a bare CR or LF outside quotes, a quote
 * inside an unquoted cell, a last line without CRLF).
 */
static json_t *
csv_parse(const char *p, size_t len)
{
	const char *end = p + len, *s;
	json_t *rows = json_array(), *row = json_array();
	char *cell = malloc(len + 1);
	size_t n;

	if (len >= 3 && memcmp(p, BOM, 3) == 0)
		p += 3;
	while (p < end) {
		n = 0;
		if (*p == '"') {
			for (p++;; p++) {
				if (p >= end)
					goto bad;
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"')
						p++;
					else
						break;
				}
				cell[n++] = *p;
			}
			p++;
		} else
			for (; p < end && *p != ',' && *p != '\r'; p++) {
				if (*p == '"' || *p == '\n')
					goto bad;
				cell[n++] = *p;
			}
		json_array_append_new(row, json_stringn(cell, n));
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			goto bad;
		p += 2;
		json_array_append_new(rows, row);
		row = json_array();
	}
	s = json_array_size(row) == 0 ? "" : NULL;
	json_decref(row);
	free(cell);
	if (s == NULL) {
		json_decref(rows);
		return NULL;
	}
	return rows;
bad:
	json_decref(row);
	json_decref(rows);
	free(cell);
	return NULL;
}

static const char *
cell(json_t *rows, size_t r, size_t c)
{
	return json_string_value(json_array_get(json_array_get(rows, r), c));
}

/* --- csv ------------------------------------------------------------------ */

static void
test_csv_appeals(void)
{
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	struct outbuf o;
	json_t *rows;
	size_t i;
	int rc;

	rc = run_export(h, &csv_plugin, NULL, REC_A "\n" REC_B "\n" REC_C "\n",
	    &o);
	is_int(rc, 0, "csv: appeals exported");
	ok(o.len >= 3 && memcmp(o.p, BOM, 3) == 0,
	    "csv: starts with the "
	    "UTF-8 BOM");
	ok(o.len > 3 &&
		strncmp(o.p + 3, APPEAL_HEADER, strlen(APPEAL_HEADER)) == 0,
	    "csv: the header row of appeals");
	ok(contains(&o, APPEAL_HEADER ROW_A),
	    "csv: Cyrillic; comma, quotes "
	    "and CR LF quoted; + made inert; booleans; tags joined");
	ok(contains(&o, ROW_A ROW_B),
	    "csv: Uzbek Latin; = + - @ TAB CR "
	    "cells made inert and quoted; absent fields empty");
	ok(contains(&o, ROW_B ROW_C),
	    "csv: Arabic; a confidential "
	    "applicant's identifying cells empty");
	is_int(o.len, 3 + strlen(APPEAL_HEADER ROW_A ROW_B ROW_C),
	    "csv: nothing else");
	ok(!contains(&o, "محمد") && !contains(&o, "1975-01-01") &&
		!contains(&o, "دبي") && !contains(&o, "+971"),
	    "csv: no name, birth date, location or contact of a "
	    "confidential applicant");
	ok((rows = csv_parse(o.p, o.len)) != NULL,
	    "csv: strict RFC 4180 "
	    "(CRLF line ends, quotes balanced)");
	is_int(json_array_size(rows), 4, "csv: a header and 3 rows");
	for (i = 0; i < 4; i++)
		is_int(json_array_size(json_array_get(rows, i)), 22,
		    "csv: row %zu has 22 cells", i);
	is_str(cell(rows, 1, 19), "He said \"help\", then\r\nleft",
	    "csv: the summary reads back as it was");
	is_str(cell(rows, 1, 5), "Иванов Пётр", "csv: Cyrillic reads back");
	is_str(cell(rows, 2, 9), "'@Oʻzbekiston",
	    "csv: Uzbek reads back, "
	    "inert");
	is_str(cell(rows, 3, 19), "الملخص: طلب مساعدة",
	    "csv: Arabic reads "
	    "back");
	json_decref(rows);
	free(o.p);

	/* nothing but the header when there is no record */
	rc = run_export(h, &csv_plugin, NULL, "", &o);
	ok(rc == 0 && o.len == 3 + strlen(APPEAL_HEADER) &&
		memcmp(o.p + 3, APPEAL_HEADER, o.len - 3) == 0,
	    "csv: no records: the BOM and the header");
	free(o.p);
	fv_mock_host_free(h);
}

static void
test_csv_notes(void)
{
	static const char *const note[] = { "type", "note", NULL };
	static const char *const bad[] = { "type", "person", NULL };
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	struct outbuf o;
	json_t *rows;

	is_int(run_export(h, &csv_plugin, note, NOTE_A "\n", &o), 0,
	    "csv: notes exported");
	ok(o.len == 3 + strlen(NOTE_HEADER ROW_NOTE) &&
		memcmp(o.p, BOM NOTE_HEADER ROW_NOTE, o.len) == 0,
	    "csv: the columns of notes");
	rows = csv_parse(o.p, o.len);
	ok(rows != NULL && json_array_size(json_array_get(rows, 1)) == 11,
	    "csv: a note row has 11 cells");
	is_str(cell(rows, 1, 8), "Visited; 12 compatriots.\nAll \"fine\"",
	    "csv: the note's text reads back");
	json_decref(rows);
	free(o.p);

	is_int(run_export(h, &csv_plugin, bad, NOTE_A "\n", &o), -1,
	    "csv: an unknown type is refused");
	ok(strstr(fv_mock_log(h),
	       "error: cannot export records of type "
	       "'person'") != NULL,
	    "csv: and says why in the log");
	free(o.p);
	fv_mock_host_free(h);
}

/* --- jsonl ---------------------------------------------------------------- */

static void
test_jsonl(void)
{
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	struct outbuf o;
	json_t *j, *a;
	char *line, *save = NULL;
	size_t n = 0;
	int parsed = 1;
	static const char *const ids[] = { "0123456789abcdef0123456789abcdef",
		"11111111111111111111111111111111",
		"22222222222222222222222222222222" };

	is_int(run_export(h, &jsonl_plugin, NULL,
		   REC_A "\n\n" REC_B "\r\n" REC_C, &o),
	    0, "jsonl: exported");
	ok(o.len > 0 && o.p[o.len - 1] == '\n', "jsonl: ends with a newline");
	ok(contains(&o, "\"Иванов Пётр\"") && contains(&o, "Oʻzbekiston") &&
		contains(&o, "الملخص"),
	    "jsonl: UTF-8 as it is, no \\u escapes");
	ok(!contains(&o, "محمد") && !contains(&o, "1975-01-01") &&
		!contains(&o, "دبي") && !contains(&o, "+971"),
	    "jsonl: no identifying field of a confidential applicant");
	for (line = strtok_r(o.p, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), n++) {
		if ((j = json_loads(line, JSON_REJECT_DUPLICATES, NULL)) ==
			NULL ||
		    n >= 3 ||
		    strcmp(json_string_value(json_object_get(j, "id")),
			ids[n]) != 0)
			parsed = 0;
		if (n == 0)
			ok(json_equal(j, a = json_loads(REC_A, 0, NULL)),
			    "jsonl: a record reads back equal");
		if (n == 0)
			json_decref(a);
		if (n == 2) {
			a = json_object_get(j, "applicant");
			ok(json_is_true(json_object_get(a, "confidential")) &&
				json_object_get(a, "full_name") == NULL &&
				json_object_get(a, "birth_date") == NULL &&
				json_object_get(a, "location") == NULL &&
				json_object_get(a, "contact") == NULL &&
				json_object_get(a, "citizenship") != NULL,
			    "jsonl: the confidential applicant redacted, "
			    "the rest kept");
		}
		json_decref(j);
	}
	ok(parsed && n == 3, "jsonl: 3 lines, each a record, in order");
	free(o.p);
	fv_mock_host_free(h);
}

/* --- stats ---------------------------------------------------------------- */

#define ST(id, cc, cat, rest) \
	"{\"id\":\"" id "\",\"type\":\"appeal\",\"applicant\":" \
	"{\"full_name\":\"X\"},\"concerns_country\":\"" cc "\"," \
	"\"category\":\"" cat "\",\"summary\":\"s\"" rest "}\n"

#define STATS_RECS \
	ST("a1", "RU", "detention_conditions", \
	    ",\"status\":\"received\",\"channel\":\"visit\"") \
	ST("a2", "RU", "torture_ill_treatment", ",\"status\":\"forwarded\"") \
	ST("a3", "KZ", "labour_rights", "") \
	ST("a4", "RU", "labour_rights", \
	    ",\"status\":\"resolved_positive\",\"channel\":\"letter\"") \
	ST("a5", "TR", "detention_conditions", \
	    ",\"status\":\"received\",\"channel\":\"in_person\"") \
	NOTE_A "\n"

#define STATS_BODY \
	"\n" \
	"concerns_country      count\n" \
	"RU                        3\n" \
	"KZ                        1\n" \
	"TR                        1\n" \
	"\n" \
	"category              count\n" \
	"detention_conditions      2\n" \
	"labour_rights             2\n" \
	"torture_ill_treatment     1\n" \
	"\n" \
	"status                count\n" \
	"received                  3\n" \
	"forwarded                 1\n" \
	"resolved_positive         1\n" \
	"\n" \
	"channel               count\n" \
	"in_person                 3\n" \
	"letter                    1\n" \
	"visit                     1\n"

#define STATS_JSON_COUNTS \
	"\"total\":5,\"by_concerns_country\":{\"RU\":3,\"KZ\":1,\"TR\":1}," \
	"\"by_category\":{\"detention_conditions\":2,\"labour_rights\":2," \
	"\"torture_ill_treatment\":1},\"by_status\":{\"received\":3," \
	"\"forwarded\":1,\"resolved_positive\":1},\"by_channel\":" \
	"{\"in_person\":3,\"letter\":1,\"visit\":1}}\n"

static int
is_output(const struct outbuf *o, const char *want)
{
	if (o->len == strlen(want) && memcmp(o->p, want, o->len) == 0)
		return 1;
	diag("got:\n%.*s", (int)o->len, o->p);
	return 0;
}

static void
test_stats(void)
{
	static const char *const period[] = { "from", "2026-04-01", "to",
		"2026-06-30", NULL };
	static const char *const from[] = { "from", "2026-04-01", NULL };
	static const char *const to[] = { "to", "2026-06-30", NULL };
	static const char *const jperiod[] = { "from", "2026-04-01", "to",
		"2026-06-30", "json", "1", NULL };
	static const char *const json[] = { "json", "1", NULL };
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	struct outbuf o;

	is_int(run_export(h, &stats_plugin, period, STATS_RECS, &o), 0,
	    "stats: text");
	ok(is_output(&o,
	       "Appeals from 2026-04-01 to 2026-06-30: 5\n" STATS_BODY),
	    "stats: the period, the total, the counts by "
	    "count then name; defaults counted; the note not counted");
	free(o.p);
	run_export(h, &stats_plugin, NULL, STATS_RECS, &o);
	ok(is_output(&o, "Appeals, all time: 5\n" STATS_BODY),
	    "stats: text, no period");
	free(o.p);
	run_export(h, &stats_plugin, from, STATS_RECS, &o);
	ok(o.len > 0 &&
		strncmp(o.p, "Appeals from 2026-04-01 on: 5\n", 30) == 0,
	    "stats: text, from only");
	free(o.p);
	run_export(h, &stats_plugin, to, STATS_RECS, &o);
	ok(o.len > 0 && strncmp(o.p, "Appeals up to 2026-06-30: 5\n", 28) == 0,
	    "stats: text, to only");
	free(o.p);

	is_int(run_export(h, &stats_plugin, jperiod, STATS_RECS, &o), 0,
	    "stats: JSON");
	ok(is_output(&o,
	       "{\"period\":{\"from\":\"2026-04-01\",\"to\":"
	       "\"2026-06-30\"}," STATS_JSON_COUNTS),
	    "stats: JSON counts, "
	    "sorted");
	free(o.p);
	run_export(h, &stats_plugin, json, STATS_RECS, &o);
	ok(is_output(&o,
	       "{\"period\":{\"from\":null,\"to\":null}," STATS_JSON_COUNTS),
	    "stats: JSON, no period: nulls");
	free(o.p);

	run_export(h, &stats_plugin, json, NOTE_A "\n", &o);
	ok(is_output(&o,
	       "{\"period\":{\"from\":null,\"to\":null},"
	       "\"total\":0,\"by_concerns_country\":{},\"by_category\":{},"
	       "\"by_status\":{},\"by_channel\":{}}\n"),
	    "stats: notes alone count nothing");
	free(o.p);
	fv_mock_host_free(h);
}

/* 600 distinct countries: 512 kept, the rest counted as "other". */
static void
test_stats_bound(void)
{
	static const char *const json[] = { "json", "1", NULL };
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	char *recs, *p, id[8], long_cc[80];
	struct outbuf o;
	json_t *j, *c;
	size_t i;

	recs = malloc(601 * 256);
	for (p = recs, i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "c%zu", i);
		p += sprintf(p,
		    "{\"id\":\"%s\",\"type\":\"appeal\","
		    "\"concerns_country\":\"C%03zu\",\"category\":\"other\"}\n",
		    id, i);
	}
	memset(long_cc, 'Z', 60);
	long_cc[60] = '\0';
	sprintf(p,
	    "{\"id\":\"z\",\"type\":\"appeal\",\"concerns_country\":"
	    "\"%s\",\"category\":\"other\"}\n",
	    long_cc);
	is_int(run_export(h, &stats_plugin, json, recs, &o), 0,
	    "stats: 601 appeals, 601 distinct countries");
	j = json_loadb(o.p, o.len, 0, NULL);
	c = json_object_get(j, "by_concerns_country");
	is_int(json_integer_value(json_object_get(j, "total")), 601,
	    "stats: all counted");
	is_int(json_object_size(c), 513, "stats: 512 countries and other");
	is_int(json_integer_value(json_object_get(c, "other")), 89,
	    "stats: the rest and the too long one are other");
	is_int(json_integer_value(json_object_get(c, "C000")), 1,
	    "stats: the first ones kept");
	json_decref(j);
	free(o.p);
	free(recs);
	fv_mock_host_free(h);
}

/* --- the mock: loading, the log, runs ------------------------------------- */

static int test_end_calls, test_end_complete;
static char test_type[16];

static int
t_init(fv_host *h, void **state)
{
	const char *g = fv_config_get(h, "greeting");

	*state = h;
	fv_log(h, FV_LOG_INFO, "greeting %s, host %s/%s, ctl a\nb\x7f",
	    g ? g : "(none)", fv_host_name(h), fv_host_role(h));
	return g != NULL && strcmp(g, "fail") == 0 ? -1 : 0;
}

static int
t_begin(void *state, fv_export *x, void **run)
{
	const char *f = fv_export_option(x, "fail");

	snprintf(test_type, sizeof(test_type), "%s",
	    fv_export_option(x, "type"));
	*run = state;
	return f != NULL && strcmp(f, "begin") == 0 ? -1 : 0;
}

static int
t_record(void *run, fv_export *x, const fv_record *r)
{
	const char *f = fv_export_option(x, "fail");

	(void)run;
	if (f != NULL && strcmp(f, fv_record_id(r)) == 0)
		return -1;
	return fv_output_puts(fv_export_output(x), "r\n");
}

static int
t_end(void *run, fv_export *x, int complete)
{
	(void)run;
	test_end_calls++;
	test_end_complete = complete;
	if (complete)
		return fv_output_puts(fv_export_output(x), "end\n");
	return 0;
}

static const char *const t_keys[] = { "greeting", NULL };

static const struct fv_plugin t_plugin = {
	FV_PLUGIN_ABI,
	.name = "t-exp_1",
	.version = "0.1",
	.kinds = FV_KIND_EXPORTER,
	.config_keys = t_keys,
	.init = t_init,
	.export_begin = t_begin,
	.export_record = t_record,
	.export_end = t_end,
};

static void
test_mock_load(void)
{
	static const char *const kv[] = { "greeting", "hi", NULL };
	static const char *const failkv[] = { "greeting", "fail", NULL };
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", kv);
	fv_mock_host *hf = fv_mock_host_new("hq-test", "hq", failkv);
	struct fv_plugin d;
	void *st;

	ok(fv_mock_host_new("x", "boss", NULL) == NULL &&
		fv_mock_host_new("", "hq", NULL) == NULL,
	    "mock: a bad role or name refused");
	is_int(fv_mock_load(h, &t_plugin, &st), 0,
	    "mock: loads a good "
	    "plugin");
	ok(st != NULL, "mock: init's state");
	ok(strstr(fv_mock_log(h),
	       "info: greeting hi, host hq-test/hq, ctl "
	       "a b \n") != NULL,
	    "mock: config, name, role; the log line with "
	    "control characters replaced");
	fv_mock_unload(h, &t_plugin, st);

	d = t_plugin;
	d.abi_major = FV_ABI_MAJOR + 1;
	is_int(fv_mock_load(h, &d, &st), -1,
	    "mock: another ABI major "
	    "refused");
	ok(strstr(fv_mock_log(h), "refused: built for plugin ABI 2.0") != NULL,
	    "mock: and logged");
	d = t_plugin;
	d.abi_minor = FV_ABI_MINOR + 1;
	is_int(fv_mock_load(h, &d, &st), -1, "mock: a newer minor refused");
	d = t_plugin;
	d.name = "Bad Name";
	is_int(fv_mock_load(h, &d, &st), -1, "mock: a bad name refused");
	d = t_plugin;
	d.kinds = 0;
	is_int(fv_mock_load(h, &d, &st), -1, "mock: no kind refused");
	d = t_plugin;
	d.kinds = 0x10;
	is_int(fv_mock_load(h, &d, &st), -1, "mock: an unknown kind refused");
	d = t_plugin;
	d.export_end = NULL;
	is_int(fv_mock_load(h, &d, &st), -1,
	    "mock: an exporter without "
	    "export_end refused");
	d = t_plugin;
	d.kinds |= FV_KIND_HOOK;
	is_int(fv_mock_load(h, &d, &st), -1,
	    "mock: a hook without hook "
	    "refused");
	is_int(fv_mock_load(h, &csv_plugin, &st), -1,
	    "mock: a section key "
	    "the plugin does not take refused");
	ok(strstr(fv_mock_log(h), "[plugin.csv] greeting: not a key") != NULL,
	    "mock: and logged");
	is_int(fv_mock_load(hf, &t_plugin, &st), -1,
	    "mock: a failed init "
	    "refused");
	ok(strstr(fv_mock_log(hf), "refused: its init failed") != NULL,
	    "mock: and logged");
	fv_mock_host_free(h);
	fv_mock_host_free(hf);
}

static void
test_mock_export(void)
{
	static const char *const fb[] = { "fail", "begin", NULL };
	static const char *const f2[] = { "fail", "r2", "type", "note", NULL };
	static const char *const odd[] = { "fail", NULL, NULL };
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	struct outbuf o;
	const char *recs = "{\"id\":\"r1\",\"type\":\"note\"}\n"
			   "{\"id\":\"r2\",\"type\":\"note\"}\n"
			   "{\"id\":\"r3\",\"type\":\"note\"}\n";

	test_end_calls = 0;
	is_int(run_export(h, &t_plugin, NULL, recs, &o), 0, "mock: a run");
	ok(o.len == 10 && memcmp(o.p, "r\nr\nr\nend\n", 10) == 0 &&
		test_end_calls == 1 && test_end_complete == 1,
	    "mock: begin, 3 records, end complete");
	is_str(test_type, "appeal", "mock: type defaults to appeal");
	free(o.p);

	test_end_calls = 0;
	is_int(run_export(h, &t_plugin, fb, recs, &o), -1,
	    "mock: a failed "
	    "begin fails the run");
	is_int(test_end_calls, 0, "mock: and end is not called");
	free(o.p);

	is_int(run_export(h, &t_plugin, f2, recs, &o), -1,
	    "mock: a failed "
	    "record fails the run");
	ok(test_end_calls == 1 && test_end_complete == 0,
	    "mock: end is "
	    "called, not complete");
	is_str(test_type, "note", "mock: type as given");
	ok(o.len == 0 &&
		strstr(fv_mock_log(h),
		    "export_record failed "
		    "(record 2)") != NULL,
	    "mock: nothing written, the failure "
	    "logged");
	free(o.p);

	is_int(run_export(h, &t_plugin, odd, recs, &o), -1,
	    "mock: an "
	    "option without its value refused");
	free(o.p);
	is_int(run_export(h, &t_plugin, NULL, "{\"id\":\"r1\"}\n", &o), -1,
	    "mock: a line that is not a record refused");
	ok(strstr(fv_mock_log(h), "records line 1: not a record") != NULL,
	    "mock: and logged");
	free(o.p);
	is_int(run_export(h, &t_plugin, NULL, "{\"id\":\n", &o), -1,
	    "mock: a line that is not JSON refused");
	free(o.p);
	fv_mock_host_free(h);
}

/* --- the mock: hooks ------------------------------------------------------ */

static int hook_n[4], hook_bad;

static void
h_hook(void *state, fv_host *h, enum fv_change change, const fv_record *r)
{
	(void)state;
	if (!streq(fv_host_name(h), "hq-test") || change < FV_CHANGE_CREATE ||
	    change > FV_CHANGE_DELETE) {
		hook_bad = 1;
		return;
	}
	hook_n[change]++;
	/* a deleted record is its id and type; a confidential one has no
	 * identifying field */
	if (change == FV_CHANGE_DELETE &&
	    (fv_record_get(r, "summary") != NULL ||
		!streq(fv_record_type(r), "appeal") ||
		!streq(fv_record_id(r), "0123456789abcdef0123456789abcdef")))
		hook_bad = 1;
	if (fv_record_get_bool(r, "applicant.confidential") &&
	    fv_record_get(r, "applicant.contact") != NULL)
		hook_bad = 1;
}

static const struct fv_plugin h_plugin = {
	FV_PLUGIN_ABI,
	.name = "hooktest",
	.kinds = FV_KIND_HOOK,
	.hook = h_hook,
};

static void
test_mock_hook(void)
{
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	void *st;

	is_int(fv_mock_load(h, &h_plugin, &st), 0, "mock: a hook loads");
	is_int(fv_mock_hook(h, &h_plugin, st, FV_CHANGE_CREATE,
		   REC_A "\n" REC_C "\n"),
	    0, "mock: hook: two creations");
	is_int(fv_mock_hook(h, &h_plugin, st, FV_CHANGE_UPDATE, REC_B), 0,
	    "mock: hook: an update");
	is_int(fv_mock_hook(h, &h_plugin, st, FV_CHANGE_DELETE, REC_A), 0,
	    "mock: hook: a deletion");
	ok(hook_n[FV_CHANGE_CREATE] == 2 && hook_n[FV_CHANGE_UPDATE] == 1 &&
		hook_n[FV_CHANGE_DELETE] == 1 && !hook_bad,
	    "mock: hook: each "
	    "change passed as the daemon passes it");
	is_int(fv_mock_hook(h, &csv_plugin, NULL, FV_CHANGE_CREATE, REC_A), -1,
	    "mock: hook: an exporter is not a hook");
	fv_mock_unload(h, &h_plugin, st);
	fv_mock_host_free(h);
}

/* --- the mock: exchange --------------------------------------------------- */

/*
 * A test exchange: the package is sealed to the partner and holds a
 * signature, the sender's key and the appeals' JSON lines.  A package
 * "cmd:" KEY WORD makes the import make one kind of host call instead.
 */
static int
x_send(void *state, fv_exchange *x, const fv_record *const *recs, size_t n)
{
	uint8_t ppk[32], xpk[32], *plain, *sealed;
	size_t i, len = 64 + 32, jl;
	const char *j;
	int rc = -1;

	(void)state;
	for (i = 0; i < n; i++)
		if ((j = fv_record_get_json(recs[i], "", &jl)) != NULL)
			len += jl + 1;
	plain = fv_alloc(len);
	sealed = fv_alloc(len + FV_SEAL_BYTES);
	if (plain == NULL || sealed == NULL ||
	    fv_exchange_self_key(x, plain + 64) != 0)
		goto out;
	for (len = 96, i = 0; i < n; i++) {
		j = fv_record_get_json(recs[i], "", &jl);
		memcpy(plain + len, j, jl);
		len += jl;
		plain[len++] = '\n';
	}
	if (fv_exchange_sign(x, plain + 64, len - 64, plain) != 0 ||
	    fv_exchange_partner_key(x, ppk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(xpk, ppk) != 0 ||
	    crypto_box_seal(sealed, plain, len, xpk) != 0)
		goto out;
	rc = fv_output_write(fv_exchange_output(x), sealed,
	    len + FV_SEAL_BYTES);
out:
	fv_free(plain);
	fv_free(sealed);
	return rc;
}

/* A partner's key, not the sender's. */
static uint8_t third_pk[32];

static int
x_cmd(fv_exchange *x, const uint8_t *pk, const char *w)
{
	static const char *const appeal =
	    "{\"id\":\"ffff\","
	    "\"type\":\"appeal\",\"applicant\":{\"full_name\":\"Пётр\"},"
	    "\"summary\":\"s\"}";
	char longtext[1100];
	uint8_t other[32];
	int i;

	if (strcmp(w, "early") == 0) {
		fv_exchange_add_appeal(x, "R-1", appeal, strlen(appeal));
		return 0; /* ignores the refusal: the mock must not */
	}
	if (strcmp(w, "nosender") == 0)
		return 0;
	if (strcmp(w, "stranger") == 0) {
		memset(other, 7, sizeof(other));
		return fv_exchange_sender(x, other) != 0 ?
		    fv_exchange_refuse(x, "unknown sender") :
		    0;
	}
	if (fv_exchange_sender(x, pk) != 0)
		return fv_exchange_refuse(x, "unknown sender");
	if (strcmp(w, "refuse") == 0)
		return fv_exchange_refuse(x, "no thanks %d", 7);
	if (strcmp(w, "badref") == 0)
		fv_exchange_add_appeal(x, "", appeal, strlen(appeal));
	else if (strcmp(w, "spaceref") == 0)
		fv_exchange_add_appeal(x, "a b", appeal, strlen(appeal));
	else if (strcmp(w, "ctlref") == 0)
		fv_exchange_add_appeal(x, "a\x01", appeal, strlen(appeal));
	else if (strcmp(w, "longref") == 0) {
		memset(longtext, 'r', 201);
		longtext[201] = '\0';
		fv_exchange_add_appeal(x, longtext, appeal, strlen(appeal));
	} else if (strcmp(w, "badjson") == 0)
		fv_exchange_add_appeal(x, "R-1", "[1]", 3);
	else if (strcmp(w, "badid") == 0)
		fv_exchange_add_reply(x, "ABCDEF0123456789ABCDEF0123456789",
		    NULL, "closed", NULL);
	else if (strcmp(w, "badstatus") == 0)
		fv_exchange_add_reply(x, "0123456789abcdef0123456789abcdef",
		    NULL, "done", NULL);
	else if (strcmp(w, "longoutcome") == 0) {
		memset(longtext, 'o', 1001);
		longtext[1001] = '\0';
		fv_exchange_add_reply(x, "0123456789abcdef0123456789abcdef",
		    NULL, "closed", longtext);
	} else if (strcmp(w, "many") == 0) {
		for (i = 0; i <= 10000; i++)
			if (fv_exchange_add_reply(x,
				"0123456789abcdef0123456789abcdef", NULL,
				"closed", NULL) != 0)
				return -1;
	} else if (strcmp(w, "second") == 0)
		fv_exchange_sender(x, third_pk);
	else if (strcmp(w, "ok") == 0) {
		memset(longtext, 'o', 1000); /* 1,000: the most */
		longtext[1000] = '\0';
		if (fv_exchange_add_appeal(x, "R-1", appeal, strlen(appeal)) !=
			0 ||
		    fv_exchange_add_appeal(x, "R-1", appeal, strlen(appeal)) !=
			0 ||
		    fv_exchange_add_reply(x, "0123456789abcdef0123456789abcdef",
			NULL, "resolved_positive", "Пётр: ok") != 0 ||
		    fv_exchange_add_reply(x, "0123456789abcdef0123456789abcdef",
			"Ref-9", "closed", longtext) != 0)
			return -1;
	}
	return 0;
}

static int
x_import(void *state, fv_exchange *x, const uint8_t *pkg, size_t len)
{
	uint8_t *plain, *m;
	const char *p, *nl, *end;
	char ref[40];
	json_t *j;
	size_t n;
	int rc = -1;

	(void)state;
	if (len > 36 && memcmp(pkg, "cmd:", 4) == 0) {
		char w[32];

		snprintf(w, sizeof(w), "%.*s", (int)(len - 36), pkg + 36);
		return x_cmd(x, pkg + 4, w);
	}
	if (len < FV_SEAL_BYTES + 96)
		return fv_exchange_refuse(x, "too short");
	n = len - FV_SEAL_BYTES;
	plain = fv_alloc(n);
	m = fv_alloc(FV_EXCHANGE_SIG_CONTEXT_LEN + n - 64);
	if (plain == NULL || m == NULL)
		goto out;
	if (fv_exchange_open(x, pkg, len, plain) != 0) {
		rc = fv_exchange_refuse(x, "not sealed to us, or altered");
		goto out;
	}
	memcpy(m, FV_EXCHANGE_SIG_CONTEXT, FV_EXCHANGE_SIG_CONTEXT_LEN);
	memcpy(m + FV_EXCHANGE_SIG_CONTEXT_LEN, plain + 64, n - 64);
	if (crypto_sign_verify_detached(plain, m,
		FV_EXCHANGE_SIG_CONTEXT_LEN + n - 64, plain + 64) != 0) {
		rc = fv_exchange_refuse(x, "bad signature");
		goto out;
	}
	if (fv_exchange_sender(x, plain + 64) != 0) {
		rc = fv_exchange_refuse(x, "unknown sender");
		goto out;
	}
	end = (const char *)plain + n;
	for (p = (const char *)plain + 96; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		snprintf(ref, sizeof(ref), "%s",
		    json_string_value(json_object_get(j, "id")));
		json_decref(j);
		if (fv_exchange_add_appeal(x, ref, p, (size_t)(nl - p)) != 0)
			goto out;
	}
	rc = 0;
out:
	fv_free(plain);
	fv_free(m);
	return rc;
}

static const struct fv_plugin x_plugin = {
	FV_PLUGIN_ABI,
	.name = "xtest",
	.version = "0.1",
	.kinds = FV_KIND_EXCHANGE,
	.exchange_send = x_send,
	.exchange_import = x_import,
};

/* The second line of an import's result: REC_A from "uz". */
static int
second_line_ok(const char *res)
{
	const char *nl = res != NULL ? strchr(res, '\n') : NULL;
	const char *id = "0123456789abcdef0123456789abcdef";
	json_t *j, *a;
	int good;

	if (nl == NULL ||
	    (j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL)) == NULL)
		return 0;
	a = json_object_get(j, "appeal");
	good = json_object_size(j) == 2 &&
	    streq(json_string_value(json_object_get(j, "ref")), id) &&
	    streq(json_string_value(json_object_get(a, "channel")),
		"partner") &&
	    streq(json_string_value(json_object_get(a, "partner")), "uz") &&
	    streq(json_string_value(json_object_get(a, "partner_ref")), id) &&
	    streq(json_string_value(json_object_get(
		      json_object_get(a, "applicant"), "full_name")),
		"Иванов Пётр");
	json_decref(j);
	return good;
}

/* Runs the command word w on b's import, as if sent by pk. */
static int
cmd(fv_mock_host *b, const uint8_t pk[32], const char *w, char **res, char *err,
    size_t errlen)
{
	uint8_t pkg[80];
	size_t n = strlen(w);

	memcpy(pkg, "cmd:", 4);
	memcpy(pkg + 4, pk, 32);
	memcpy(pkg + 36, w, n);
	return fv_mock_exchange_import(b, &x_plugin, NULL, pkg, 36 + n, res,
	    err, errlen);
}

static void
test_mock_exchange(void)
{
	static const struct {
		const char *word, *why;
	} bad[] = {
		{ "early", "add_appeal: before fv_exchange_sender" },
		{ "nosender", "the plugin named no sender" },
		{ "stranger", "unknown sender" },
		{ "refuse", "no thanks 7" },
		{ "badref", "ref: not 1..200 printable ASCII bytes" },
		{ "spaceref", "ref: not 1..200 printable ASCII bytes" },
		{ "ctlref", "ref: not 1..200 printable ASCII bytes" },
		{ "longref", "ref: not 1..200 printable ASCII bytes" },
		{ "badjson", "json: not a JSON object" },
		{ "badid", "id: not 32 lowercase hex digits" },
		{ "badstatus", "status: not an appeal status" },
		{ "longoutcome", "outcome: over 1000 characters" },
		{ "second", "a second, other sender" },
		{ "many", "add_reply: more than 10000 entries" },
	};
	uint8_t apk[32], ask[64], bpk[32], bsk[64], ksk[64], *pkg;
	fv_mock_host *a = fv_mock_host_new("ombudsman-uz", "hq", NULL);
	fv_mock_host *b = fv_mock_host_new("ombudsman-ru", "hq", NULL);
	char err[256], *res, *want, longo[1001];
	size_t len, i;
	void *st;

	crypto_sign_keypair(apk, ask);
	crypto_sign_keypair(bpk, bsk);
	crypto_sign_keypair(third_pk, ksk);
	ok(fv_mock_set_keys(a, apk, ask) == 0 &&
		fv_mock_set_keys(b, bpk, bsk) == 0,
	    "mock: keys set");
	is_int(fv_mock_set_keys(a, bpk, ask), -1,
	    "mock: keys that are not a "
	    "pair refused");
	ok(fv_mock_add_partner(a, "ru", bpk) == 0 &&
		fv_mock_add_partner(b, "uz", apk) == 0 &&
		fv_mock_add_partner(b, "kz", third_pk) == 0,
	    "mock: partners added");
	is_int(fv_mock_add_partner(a, "ru", apk), -1,
	    "mock: a partner twice "
	    "refused");
	is_int(fv_mock_load(a, &x_plugin, &st), 0, "mock: an exchange loads");

	is_int(fv_mock_exchange_send(a, &x_plugin, NULL, "ru",
		   REC_A "\n" REC_C "\n", &pkg, &len, err, sizeof(err)),
	    0, "mock: send");
	ok(len > 0 && memmem(pkg, len, "Иванов", strlen("Иванов")) == NULL,
	    "mock: the package is sealed");
	is_int(fv_mock_exchange_import(b, &x_plugin, NULL, pkg, len, &res, err,
		   sizeof(err)),
	    0,
	    "mock: import: opened, signature checked, "
	    "sender known");
	ok(res != NULL && strncmp(res, "{\"sender\":\"uz\"}\n", 16) == 0,
	    "mock: import: the sender first");
	ok(second_line_ok(res),
	    "mock: import: the appeal as the host takes "
	    "it");
	ok(res != NULL && strstr(res, "محمد") == NULL &&
		strstr(res, "دبي") == NULL && strstr(res, "+971") == NULL &&
		strstr(res, "\"confidential\":true") != NULL,
	    "mock: send: the "
	    "confidential applicant redacted");
	ok(res != NULL && strstr(res, "\"created_by\"") == NULL &&
		strstr(res, "\"status\"") == NULL,
	    "mock: import: only the fields that travel");
	free(res);

	pkg[len / 2] ^= 1;
	is_int(fv_mock_exchange_import(b, &x_plugin, NULL, pkg, len, &res, err,
		   sizeof(err)),
	    -1, "mock: an altered package refused");
	is_str(err, "not sealed to us, or altered",
	    "mock: with the plugin's "
	    "reason");
	pkg[len / 2] ^= 1;
	is_int(fv_mock_exchange_import(a, &x_plugin, NULL, pkg, len, &res, err,
		   sizeof(err)),
	    -1, "mock: a package for another refused");
	free(pkg);

	is_int(fv_mock_exchange_import(b, &x_plugin, NULL, pkg, 0, &res, err,
		   sizeof(err)),
	    -1, "mock: an empty package refused");
	is_int(fv_mock_exchange_send(a, &x_plugin, NULL, "fr", REC_A, &pkg,
		   &len, err, sizeof(err)),
	    -1, "mock: send to no partner refused");
	is_int(fv_mock_exchange_send(a, &x_plugin, NULL, "ru", NOTE_A, &pkg,
		   &len, err, sizeof(err)),
	    -1, "mock: send of a note refused");

	memset(longo, 'o', 1000);
	longo[1000] = '\0';
	is_int(cmd(b, apk, "ok", &res, err, sizeof(err)), 0,
	    "mock: appeals and replies added");
	if (asprintf(&want,
		"{\"sender\":\"uz\"}\n"
		"{\"appeal\":{\"applicant\":{\"full_name\":\"Пётр\"},"
		"\"summary\":\"s\",\"channel\":\"partner\",\"partner\":\"uz\","
		"\"partner_ref\":\"R-1\"},\"ref\":\"R-1\"}\n"
		"{\"reply\":{\"id\":\"0123456789abcdef0123456789abcdef\","
		"\"ref\":null,\"status\":\"resolved_positive\","
		"\"outcome\":\"Пётр: ok\"}}\n"
		"{\"reply\":{\"id\":\"0123456789abcdef0123456789abcdef\","
		"\"ref\":\"Ref-9\",\"status\":\"closed\",\"outcome\":\"%s\"}}"
		"\n",
		longo) < 0)
		want = NULL;
	is_str(res, want, "mock: the result lines (a ref twice: added once)");
	free(want);
	free(res);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		is_int(cmd(b, apk, bad[i].word, &res, err, sizeof(err)), -1,
		    "mock: %s refused", bad[i].word);
		ok(strstr(err, bad[i].why) != NULL && res == NULL,
		    "mock: %s: %s", bad[i].word, err);
	}
	is_int(fv_mock_export(a, &x_plugin, NULL, NULL, "", stdout), -1,
	    "mock: an exchange is not an exporter");
	fv_mock_unload(a, &x_plugin, st);
	fv_mock_host_free(a);
	fv_mock_host_free(b);
	sodium_memzero(ask, sizeof(ask));
	sodium_memzero(bsk, sizeof(bsk));
	sodium_memzero(ksk, sizeof(ksk));
}

/* --- speed ---------------------------------------------------------------- */

static int
null_begin(void *state, fv_export *x, void **run)
{
	(void)x;
	*run = state;
	return 0;
}

static int
null_record(void *run, fv_export *x, const fv_record *r)
{
	(void)run;
	(void)x;
	(void)r;
	return 0;
}

static int
null_end(void *run, fv_export *x, int complete)
{
	(void)run;
	(void)x;
	(void)complete;
	return 0;
}

static const struct fv_plugin null_plugin = {
	FV_PLUGIN_ABI,
	.name = "null",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = null_begin,
	.export_record = null_record,
	.export_end = null_end,
};

/* Each record formatted LOOP times by csv: its own cost shows above the
 * mock's parsing of the records. */
#define LOOP 50

static int
loop_begin(void *state, fv_export *x, void **run)
{
	return csv_plugin.export_begin(state, x, run);
}

static int
loop_record(void *run, fv_export *x, const fv_record *r)
{
	int i;

	for (i = 0; i < LOOP; i++)
		if (csv_plugin.export_record(run, x, r) != 0)
			return -1;
	return 0;
}

static int
loop_end(void *run, fv_export *x, int complete)
{
	return csv_plugin.export_end(run, x, complete);
}

static const struct fv_plugin loop_plugin = {
	FV_PLUGIN_ABI,
	.name = "csvloop",
	.kinds = FV_KIND_EXPORTER,
	.export_begin = loop_begin,
	.export_record = loop_record,
	.export_end = loop_end,
};

static double
timed(fv_mock_host *h, const struct fv_plugin *p, const char *recs, FILE *f)
{
	struct timespec t0, t1;
	void *st;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fv_mock_load(h, p, &st) == 0 ?
	    fv_mock_export(h, p, st, NULL, recs, f) :
	    -1;
	fv_mock_unload(h, p, st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return rc != 0 ? -1 :
			 (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* csv's own speed: the records formatted LOOP times each, less the same
 * run with an exporter that does nothing (the mock's parsing).  A figure
 * (diag), not a check: sanitizers and valgrind slow it down. */
static void
test_speed(void)
{
	fv_mock_host *h = fv_mock_host_new("hq-test", "hq", NULL);
	const char *e = getenv("FV_BENCH_N");
	size_t i, n = e != NULL ? strtoul(e, NULL, 10) : 2000;
	size_t one = strlen(REC_A) + 1;
	double tn, tc;
	char *recs;
	FILE *f;

	if ((recs = malloc(n * one + 1)) == NULL ||
	    (f = fopen("/dev/null", "w")) == NULL) {
		free(recs);
		fv_mock_host_free(h);
		ok(0, "speed: set up");
		return;
	}
	for (i = 0; i < n; i++) {
		memcpy(recs + i * one, REC_A, one - 1);
		recs[i * one + one - 1] = '\n';
	}
	recs[n * one] = '\0';
	tn = timed(h, &null_plugin, recs, f);
	tc = timed(h, &loop_plugin, recs, f);
	ok(tn >= 0 && tc >= 0, "speed: %zu records through csv %d times", n,
	    LOOP);
	if (tc > tn)
		diag("csv formats %.0f records/s (%zu rows of %zu bytes in "
		     "%.3f s)",
		    (double)(n * LOOP) / (tc - tn), n * LOOP, strlen(ROW_A),
		    tc - tn);
	fclose(f);
	free(recs);
	fv_mock_host_free(h);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	test_csv_appeals();
	test_csv_notes();
	test_jsonl();
	test_stats();
	test_stats_bound();
	test_mock_load();
	test_mock_export();
	test_mock_hook();
	test_mock_exchange();
	test_speed();
	return done_testing();
}
