/*
 * test_frame.c - the frames of the sync protocol (frame.h): every type
 * round trips; the decoder refuses every truncation, every extra byte,
 * unknown types, non-zero flags, bad names and texts, bad counts and op
 * lengths; the OPS builder stops exactly at its limits; receipts verify
 * and fail when any signed field changes.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "frame.h"
#include "fv_error.h"
#include "op.h"
#include "tap.h"

static const uint8_t ID[FV_ID_BYTES] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
static uint8_t TOKEN_ID[FV_ID_BYTES], MAC[FV_FRAME_MAC_BYTES], PK[32];
static uint8_t SIG[FV_SIG_BYTES];

/* Re-encodes a decoded frame: what the fuzz harness does too. */
/* decodes and re-encodes to the same bytes */
static int
canonical(const uint8_t *p, size_t len)
{
	struct fv_frame f;
	struct fv_buf b = { 0 };
	int c;

	if (fv_frame_decode(p, len, &f) != 0)
		return 0;
	c = fv_frame_encode(&f, &b) == 0 && b.len == len &&
	    memcmp(b.p, p, len) == 0;
	fv_buf_free(&b);
	return c;
}

/* One sample frame of each kind, for the refusal sweeps. */
#define NSAMPLES 12
static struct fv_buf samples[NSAMPLES];
static const char *sample_names[NSAMPLES] = {
	"HQ_HELLO",
	"DEV_HELLO",
	"DEV_HELLO enroll",
	"WANT",
	"OPS 1",
	"OPS 3",
	"ACK",
	"END",
	"RECEIPT",
	"REKEY",
	"ERROR",
	"ERROR empty",
};

static void
make_samples(void)
{
	struct fv_frame_ops o;
	static const uint8_t op1[] = { 0xaa }, op2[] = { 1, 2, 3, 4, 5 };
	uint8_t op3[300];

	memset(op3, 0x5c, sizeof(op3));
	fv_frame_hq_hello(&samples[0], ID, "HQ Ташкент");
	fv_frame_dev_hello(&samples[1], ID, PK, "field-7", NULL, NULL);
	fv_frame_dev_hello(&samples[2], ID, PK, "field-8", TOKEN_ID, MAC);
	fv_frame_want(&samples[3], 0x0102030405060708ULL, 42);
	fv_frame_ops_begin(&o, &samples[4], 9);
	fv_frame_ops_add(&o, op2, sizeof(op2));
	fv_frame_ops_end(&o);
	fv_frame_ops_begin(&o, &samples[5], 0);
	fv_frame_ops_add(&o, op1, sizeof(op1));
	fv_frame_ops_add(&o, op3, sizeof(op3));
	fv_frame_ops_add(&o, op2, sizeof(op2));
	fv_frame_ops_end(&o);
	fv_frame_ack(&samples[6], 77);
	fv_frame_end(&samples[7], UINT64_MAX);
	fv_frame_receipt(&samples[8], 5, 6, "north", SIG);
	fv_frame_rekey(&samples[9]);
	fv_frame_error(&samples[10], FV_PE_REVOKED, "device revoked");
	fv_frame_error(&samples[11], FV_PE_INTERNAL, "");
}

static void
test_roundtrip(void)
{
	struct fv_frame f;
	struct fv_buf b = { 0 };
	struct fv_frame_ops_iter it;
	const uint8_t *op;
	size_t len;
	int i;

	for (i = 0; i < NSAMPLES; i++)
		ok(samples[i].err == 0 &&
			canonical(samples[i].p, samples[i].len),
		    "%s round trips", sample_names[i]);

	ok(fv_frame_decode(samples[0].p, samples[0].len, &f) == 0 &&
		f.type == FV_F_HQ_HELLO && f.u.hello.version == 1 &&
		memcmp(f.u.hello.id, ID, FV_ID_BYTES) == 0 &&
		strcmp(f.u.hello.name, "HQ Ташкент") == 0,
	    "HQ_HELLO fields");
	/* the layout of §3, byte by byte */
	is_int(samples[0].len, 2 + 1 + 16 + 1 + strlen("HQ Ташкент"),
	    "HQ_HELLO length");
	ok(samples[0].p[0] == 1 && samples[0].p[1] == 0 &&
		samples[0].p[2] == 1 &&
		samples[0].p[19] == strlen("HQ Ташкент"),
	    "HQ_HELLO layout");

	ok(fv_frame_decode(samples[1].p, samples[1].len, &f) == 0 &&
		f.type == FV_F_DEV_HELLO && f.u.dev_hello.enroll == 0 &&
		strcmp(f.u.dev_hello.name, "field-7") == 0 &&
		is_zero(f.u.dev_hello.token_id, FV_ID_BYTES) &&
		is_zero(f.u.dev_hello.mac, FV_FRAME_MAC_BYTES),
	    "DEV_HELLO without enrollment");
	is_int(samples[1].len, 2 + 1 + 16 + 32 + 1 + 7 + 1, "DEV_HELLO length");
	ok(fv_frame_decode(samples[2].p, samples[2].len, &f) == 0 &&
		f.u.dev_hello.enroll == 1 &&
		memcmp(f.u.dev_hello.token_id, TOKEN_ID, FV_ID_BYTES) == 0 &&
		memcmp(f.u.dev_hello.mac, MAC, FV_FRAME_MAC_BYTES) == 0,
	    "DEV_HELLO with token id and MAC");
	is_int(samples[2].len, 2 + 1 + 16 + 1 + 7 + 1 + 16 + 32 + 32,
	    "DEV_HELLO enroll length");

	ok(fv_frame_decode(samples[3].p, samples[3].len, &f) == 0 &&
		f.type == FV_F_WANT && f.u.want.up == 0x0102030405060708ULL &&
		f.u.want.down == 42 && samples[3].len == 18 &&
		samples[3].p[2] == 1 && samples[3].p[9] == 8,
	    "WANT fields, big-endian");

	ok(fv_frame_decode(samples[5].p, samples[5].len, &f) == 0 &&
		f.type == FV_F_OPS && f.u.ops.first == 0 && f.u.ops.count == 3,
	    "OPS header");
	fv_frame_ops_iter_init(&it, &f);
	ok(fv_frame_ops_next(&it, &op, &len) && len == 1 && op[0] == 0xaa &&
		op == samples[5].p + 16,
	    "first op points into the input");
	ok(fv_frame_ops_next(&it, &op, &len) && len == 300 && op[0] == 0x5c &&
		op[299] == 0x5c,
	    "second op");
	ok(fv_frame_ops_next(&it, &op, &len) && len == 5 && op[4] == 5,
	    "third op");
	ok(!fv_frame_ops_next(&it, &op, &len) &&
		!fv_frame_ops_next(&it, &op, &len),
	    "then the end, and it stays");
	is_int(samples[5].len, 12 + 4 + 1 + 4 + 300 + 4 + 5, "OPS length");

	ok(fv_frame_decode(samples[6].p, samples[6].len, &f) == 0 &&
		f.type == FV_F_ACK && f.u.ack.up_to == 77 &&
		samples[6].len == 10,
	    "ACK");
	ok(fv_frame_decode(samples[7].p, samples[7].len, &f) == 0 &&
		f.type == FV_F_END && f.u.end.last == UINT64_MAX &&
		samples[7].len == 10,
	    "END");
	ok(fv_frame_decode(samples[8].p, samples[8].len, &f) == 0 &&
		f.type == FV_F_RECEIPT && f.u.receipt.up_to == 5 &&
		f.u.receipt.hlc == 6 &&
		strcmp(f.u.receipt.group, "north") == 0 &&
		memcmp(f.u.receipt.sig, SIG, FV_SIG_BYTES) == 0 &&
		samples[8].len == 2 + 8 + 8 + 1 + 5 + 64,
	    "RECEIPT");
	ok(fv_frame_decode(samples[9].p, samples[9].len, &f) == 0 &&
		f.type == FV_F_REKEY && samples[9].len == 2,
	    "REKEY is 2 bytes");
	ok(fv_frame_decode(samples[10].p, samples[10].len, &f) == 0 &&
		f.type == FV_F_ERROR && f.u.error.code == FV_PE_REVOKED &&
		strcmp(f.u.error.text, "device revoked") == 0 &&
		samples[10].len == 2 + 2 + 1 + 14,
	    "ERROR");
	ok(fv_frame_decode(samples[11].p, samples[11].len, &f) == 0 &&
		f.u.error.code == FV_PE_INTERNAL && f.u.error.text[0] == '\0',
	    "ERROR with empty text");

	/* encoders append after what the buffer holds */
	fv_buf_put(&b, "xy", 2);
	ok(fv_frame_ack(&b, 3) == 0 && b.len == 12 &&
		memcmp(b.p, "xy", 2) == 0 && canonical(b.p + 2, 10),
	    "encoders append");
	fv_buf_free(&b);
}

/* Every truncation, every extra byte, every non-zero flag: refused, and
 * the frame left zeroed. */
static void
test_sweeps(void)
{
	struct fv_frame f;
	uint8_t *p;
	size_t n, k;
	int i, bad, v;

	for (i = 0; i < NSAMPLES; i++) {
		const struct fv_buf *s = &samples[i];

		bad = 0;
		for (n = 0; n < s->len; n++) {
			memset(&f, 0xee, sizeof(f));
			if (fv_frame_decode(s->p, n, &f) != FV_EINVAL ||
			    !is_zero(&f, sizeof(f))) {
				diag("%s: truncated to %zu accepted",
				    sample_names[i], n);
				bad++;
			}
		}
		ok(bad == 0, "%s: all %zu truncations refused", sample_names[i],
		    s->len);

		p = malloc(s->len + 8);
		memcpy(p, s->p, s->len);
		bad = 0;
		for (v = 0; v < 256; v++) {
			p[s->len] = (uint8_t)v;
			if (fv_frame_decode(p, s->len + 1, &f) != FV_EINVAL)
				bad++;
		}
		for (k = 2; k <= 8; k++)
			if (fv_frame_decode(p, s->len + k, &f) != FV_EINVAL)
				bad++;
		ok(bad == 0, "%s: every trailing extra byte refused",
		    sample_names[i]);

		bad = 0;
		for (v = 1; v < 256; v++) {
			p[1] = (uint8_t)v;
			if (fv_frame_decode(p, s->len, &f) != FV_EINVAL)
				bad++;
		}
		ok(bad == 0, "%s: every non-zero flags byte refused",
		    sample_names[i]);
		p[1] = 0;

		/* any one byte changed: refused, or canonical */
		bad = 0;
		for (k = 0; k < s->len; k++) {
			for (v = 1; v < 256; v <<= 1) {
				p[k] ^= (uint8_t)v;
				if (fv_frame_decode(p, s->len, &f) == 0 &&
				    !canonical(p, s->len))
					bad++;
				p[k] ^= (uint8_t)v;
			}
		}
		ok(bad == 0, "%s: every bit flip refused or canonical",
		    sample_names[i]);
		free(p);
	}
}

static void
test_types(void)
{
	uint8_t p[32];
	struct fv_frame f;
	int t, bad = 0;
	size_t n;

	memset(p, 0, sizeof(p));
	for (t = 0; t < 256; t++) {
		if (t >= FV_F_HQ_HELLO && t <= FV_F_DEVICE)
			continue;
		p[0] = (uint8_t)t;
		for (n = 0; n <= sizeof(p); n++)
			if (fv_frame_decode(p, n, &f) != FV_EINVAL)
				bad++;
	}
	ok(bad == 0, "types 0 and 11..255 refused at every length");
	ok(fv_frame_decode(p, 0, &f) == FV_EINVAL, "empty input refused");
	ok(fv_frame_decode(NULL, 0, &f) == FV_EINVAL, "NULL, 0 refused");
	p[0] = FV_F_REKEY;
	ok(fv_frame_decode(p, 1, &f) == FV_EINVAL, "type without flags");
	ok(fv_frame_decode(p, 2, &f) == 0, "REKEY from bytes");
	{
		struct fv_buf b = { 0 };
		size_t k;

		ok(fv_frame_device(&b, ID, PK, "field-9") == 0 &&
			b.len == 2 + 16 + 32 + 1 + 7,
		    "DEVICE encodes");
		ok(fv_frame_decode(b.p, b.len, &f) == 0 &&
			f.type == FV_F_DEVICE &&
			memcmp(f.u.device.id, ID, FV_ID_BYTES) == 0 &&
			memcmp(f.u.device.pk, PK, 32) == 0 &&
			strcmp(f.u.device.name, "field-9") == 0,
		    "DEVICE decodes to the same id, key and name");
		for (k = 0, bad = 0; k < b.len; k++)
			if (fv_frame_decode(b.p, k, &f) == 0)
				bad++;
		ok(bad == 0, "DEVICE refused at every truncation");
		ok(fv_frame_device(&b, ID, PK, "") == FV_EINVAL,
		    "DEVICE with an empty name is refused");
		fv_buf_free(&b);
	}
}

/* A hello with the name bytes given. */
static size_t
hello_bytes(uint8_t *p, uint8_t type, const char *name, size_t n)
{
	size_t k = 0;

	p[k++] = type;
	p[k++] = 0;
	p[k++] = 1;
	memcpy(p + k, ID, FV_ID_BYTES);
	k += FV_ID_BYTES;
	if (type == FV_F_DEV_HELLO) {
		memcpy(p + k, PK, 32);
		k += 32;
	}
	p[k++] = (uint8_t)n;
	memcpy(p + k, name, n);
	k += n;
	if (type == FV_F_DEV_HELLO)
		p[k++] = 0;
	return k;
}

static void
test_names(void)
{
	static const struct {
		const char *s, *what;
	} bad[] = {
		{ "", "empty" },
		{ "a\x01", "C0 control" },
		{ "a\nb", "newline" },
		{ "a\tb", "tab" },
		{ "\x1f", "unit separator" },
		{ "a\x7f", "DEL" },
		{ "a\xc2\x85", "C1 control (NEL)" },
		{ "a\xc2\x9b", "C1 control (CSI)" },
		{ "\xe2\x80\xa8", "line separator" },
		{ "x\xe2\x80\xae", "bidi override" },
		{ "x\xe2\x81\xa6", "bidi isolate" },
		{ "\xc0\xaf", "overlong" },
		{ "\xe0\x80\xaf", "overlong 3" },
		{ "\xed\xa0\x80", "surrogate" },
		{ "\xf4\x90\x80\x80", "above U+10FFFF" },
		{ "\xe2\x82", "truncated sequence" },
		{ "\x80", "lone continuation" },
		{ "\xff", "0xff" },
	};
	static const char *good[] = {
		"a",
		"HQ Ташкент",
		"Самарқанд-2",
		"نقطة ٣",
		"📡 relay",
		"dev \xe2\x80\x8f",
		"~ok~",
	};
	char name[80];
	uint8_t p[128];
	struct fv_frame f;
	struct fv_buf b = { 0 };
	size_t i, n;
	int t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i].s);
		for (t = FV_F_HQ_HELLO; t <= FV_F_DEV_HELLO; t++) {
			ok(fv_frame_decode(p,
			       hello_bytes(p, (uint8_t)t, bad[i].s, n),
			       &f) == FV_EINVAL,
			    "%s name refused: %s",
			    t == FV_F_HQ_HELLO ? "HQ" : "DEV", bad[i].what);
		}
		ok(fv_frame_hq_hello(&b, ID, bad[i].s) == FV_EINVAL &&
			fv_frame_dev_hello(&b, ID, PK, bad[i].s, NULL, NULL) ==
			    FV_EINVAL &&
			fv_frame_error(&b, 1, bad[i].s) ==
			    (n == 0 ? 0 : FV_EINVAL),
		    "encoders refuse it: %s", bad[i].what);
		b.len = 0;
	}
	ok(fv_frame_decode(p, hello_bytes(p, FV_F_HQ_HELLO, "a\0b", 3), &f) ==
		FV_EINVAL,
	    "NUL in a name refused");
	ok(fv_frame_hq_hello(&b, ID, NULL) == FV_EINVAL && b.len == 0,
	    "NULL name refused");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i]);
		ok(fv_frame_decode(p, hello_bytes(p, FV_F_HQ_HELLO, good[i], n),
		       &f) == 0 &&
			strcmp(f.u.hello.name, good[i]) == 0,
		    "name accepted: %s", good[i]);
	}

	memset(name, 'n', sizeof(name));
	ok(fv_frame_decode(p, hello_bytes(p, FV_F_DEV_HELLO, name, 64), &f) ==
		    0 &&
		strlen(f.u.dev_hello.name) == 64,
	    "64-byte name accepted");
	ok(fv_frame_decode(p, hello_bytes(p, FV_F_DEV_HELLO, name, 65), &f) ==
		FV_EINVAL,
	    "65-byte name refused");
	name[64] = '\0';
	ok(fv_frame_hq_hello(&b, ID, name) == 0, "encoder: 64 bytes");
	name[64] = 'n';
	name[65] = '\0';
	b.len = 0;
	ok(fv_frame_hq_hello(&b, ID, name) == FV_EINVAL && b.len == 0,
	    "encoder: 65 bytes refused, nothing appended");
	/* 32 two-byte characters are 64 bytes; one more is 66 */
	for (i = 0; i < 33; i++)
		memcpy(name + 2 * i, "ж", 2);
	name[64] = '\0';
	ok(fv_frame_hq_hello(&b, ID, name) == 0, "64 bytes of Cyrillic");
	name[64] = "ж"[0];
	name[66] = '\0';
	ok(fv_frame_hq_hello(&b, ID, name) == FV_EINVAL,
	    "66 bytes of Cyrillic refused");

	/* version and enroll */
	n = hello_bytes(p, FV_F_HQ_HELLO, "hq", 2);
	p[2] = 2;
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "HQ_HELLO version 2");
	p[2] = 0;
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "HQ_HELLO version 0");
	n = hello_bytes(p, FV_F_DEV_HELLO, "d", 1);
	p[2] = 2;
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "DEV_HELLO version 2");
	p[2] = 1;
	p[n - 1] = 2;
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "enroll 2 refused");
	p[n - 1] = 1;
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "enroll 1 without token id and MAC refused");
	memset(p + n, 0, 48);
	ok(fv_frame_decode(p, n + 48, &f) == 0 && f.u.dev_hello.enroll,
	    "enroll 1 with them accepted");
	p[n - 1] = 0;
	ok(fv_frame_decode(p, n + 48, &f) == FV_EINVAL,
	    "enroll 0 with them refused");
	ok(fv_frame_dev_hello(&b, ID, PK, "d", TOKEN_ID, NULL) == FV_EINVAL &&
		fv_frame_dev_hello(&b, ID, PK, "d", NULL, MAC) == FV_EINVAL,
	    "encoder: token id and MAC together or not at all");
	fv_buf_free(&b);
}

static void
test_error(void)
{
	struct fv_buf b = { 0 };
	struct fv_frame f;
	char text[210];
	uint8_t p[8] = { FV_F_ERROR, 0, 0, 1, 0 };

	ok(fv_frame_decode(p, 5, &f) == 0 && f.u.error.code == 1,
	    "ERROR code 1 from bytes");
	p[3] = 0;
	ok(fv_frame_decode(p, 5, &f) == FV_EINVAL, "code 0 refused");
	p[3] = FV_PE_MAX + 1;
	ok(fv_frame_decode(p, 5, &f) == FV_EINVAL, "code 10 refused");
	p[2] = 1;
	p[3] = 1;
	ok(fv_frame_decode(p, 5, &f) == FV_EINVAL, "code 257 refused");
	ok(fv_frame_error(&b, 0, "x") == FV_EINVAL &&
		fv_frame_error(&b, FV_PE_MAX + 1, "x") == FV_EINVAL &&
		b.len == 0,
	    "encoder refuses codes outside 1..9");
	ok(fv_frame_error(&b, FV_PE_FORK, NULL) == 0 &&
		fv_frame_decode(b.p, b.len, &f) == 0 && f.u.error.text[0] == 0,
	    "NULL text is empty");
	b.len = 0;

	memset(text, 't', sizeof(text));
	text[200] = '\0';
	ok(fv_frame_error(&b, FV_PE_PROTOCOL, text) == 0 &&
		canonical(b.p, b.len) && b.len == 205,
	    "200-byte text");
	b.len = 0;
	text[200] = 't';
	text[201] = '\0';
	ok(fv_frame_error(&b, FV_PE_PROTOCOL, text) == FV_EINVAL,
	    "201-byte text refused by the encoder");
	{
		uint8_t q[2 + 2 + 1 + 201];

		q[0] = FV_F_ERROR;
		q[1] = 0;
		q[2] = 0;
		q[3] = 1;
		q[4] = 201;
		memset(q + 5, 't', 201);
		ok(fv_frame_decode(q, sizeof(q), &f) == FV_EINVAL,
		    "201-byte text refused by the decoder");
		q[4] = 200;
		ok(fv_frame_decode(q, sizeof(q) - 1, &f) == 0,
		    "200-byte text accepted by the decoder");
		q[10] = '\n';
		ok(fv_frame_decode(q, sizeof(q) - 1, &f) == FV_EINVAL,
		    "a newline in the text refused");
	}
	fv_buf_free(&b);
}

/* An OPS frame by hand: count as given, then n ops of len bytes each. */
static uint8_t *
ops_bytes(uint16_t count, size_t n, uint32_t len, size_t *outlen)
{
	uint8_t *p;
	size_t k = 0, i;

	*outlen = 12 + n * (4 + (size_t)len);
	if ((p = calloc(1, *outlen)) == NULL)
		abort();
	p[k++] = FV_F_OPS;
	p[k++] = 0;
	fv_buf_put_u64(p + k, 1);
	k += 8;
	p[k++] = (uint8_t)(count >> 8);
	p[k++] = (uint8_t)count;
	for (i = 0; i < n; i++) {
		fv_buf_put_u32(p + k, len);
		k += 4 + len;
	}
	return p;
}

static void
test_ops_decode(void)
{
	struct fv_frame f;
	uint8_t *p;
	size_t n;

	p = ops_bytes(0, 0, 0, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "OPS with 0 ops refused");
	free(p);
	p = ops_bytes(512, 512, 1, &n);
	ok(fv_frame_decode(p, n, &f) == 0 && f.u.ops.count == 512 &&
		canonical(p, n),
	    "512 ops accepted");
	free(p);
	p = ops_bytes(513, 513, 1, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "513 ops refused");
	free(p);
	p = ops_bytes(0xffff, 0, 0, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "count 65535 refused");
	free(p);
	p = ops_bytes(1, 1, 0, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "op of 0 bytes refused");
	free(p);
	p = ops_bytes(2, 2, 0, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "two empty ops refused");
	free(p);
	p = ops_bytes(1, 1, FV_FRAME_OP_MAX, &n);
	ok(fv_frame_decode(p, n, &f) == 0 && canonical(p, n),
	    "op of 65000 bytes accepted");
	free(p);
	p = ops_bytes(1, 1, FV_FRAME_OP_MAX + 1, &n);
	ok(n <= FV_FRAME_MAX && fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "op of 65001 bytes refused (in a frame under the limit)");
	free(p);

	/* ops that do not fill the body exactly */
	p = ops_bytes(2, 3, 10, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "count 2 with a third op after them refused");
	free(p);
	p = ops_bytes(3, 2, 10, &n);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "count 3 with two ops refused");
	free(p);
	p = ops_bytes(1, 1, 10, &n);
	fv_buf_put_u32(p + 12, 11);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "op length past the end refused");
	fv_buf_put_u32(p + 12, 9);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL,
	    "op length short of the end refused");
	fv_buf_put_u32(p + 12, 0xffffffffU);
	ok(fv_frame_decode(p, n, &f) == FV_EINVAL, "op length 2^32-1");
	free(p);

	/* the whole frame: FV_FRAME_MAX bytes and not one more */
	n = FV_FRAME_MAX;
	p = calloc(1, n + 1);
	p[0] = FV_F_OPS;
	p[11] = 2;
	fv_buf_put_u32(p + 12, FV_FRAME_OP_MAX);
	fv_buf_put_u32(p + 16 + FV_FRAME_OP_MAX,
	    (uint32_t)(n - 20 - FV_FRAME_OP_MAX));
	ok(fv_frame_decode(p, n, &f) == 0 && canonical(p, n),
	    "an OPS frame of exactly FV_FRAME_MAX bytes");
	fv_buf_put_u32(p + 16 + FV_FRAME_OP_MAX,
	    (uint32_t)(n + 1 - 20 - FV_FRAME_OP_MAX));
	ok(fv_frame_decode(p, n + 1, &f) == FV_EINVAL, "one byte more refused");
	free(p);
	p = calloc(1, FV_FRAME_MAX + 1);
	p[0] = FV_F_REKEY;
	ok(fv_frame_decode(p, FV_FRAME_MAX + 1, &f) == FV_EINVAL,
	    "any input over FV_FRAME_MAX refused");
	free(p);
}

static void
test_ops_builder(void)
{
	struct fv_buf b = { 0 };
	struct fv_frame_ops o;
	struct fv_frame f;
	struct fv_frame_ops_iter it;
	const uint8_t *op;
	uint8_t *big;
	size_t len, before;
	int i, rc, bad;

	big = malloc(FV_FRAME_OP_MAX + 1);
	for (i = 0; i <= FV_FRAME_OP_MAX; i++)
		big[i] = (uint8_t)i;

	/* the count limit */
	ok(fv_frame_ops_begin(&o, &b, 100) == 0, "begin");
	for (i = 0; i < 1000; i++) {
		uint8_t v = (uint8_t)i;

		if ((rc = fv_frame_ops_add(&o, &v, 1)) != 0)
			break;
	}
	is_int(i, FV_FRAME_OPS_MAX, "stops at 512 ops");
	is_int(rc, FV_ETOOBIG, "with FV_ETOOBIG");
	before = b.len;
	ok(fv_frame_ops_add(&o, big, 1) == FV_ETOOBIG && b.len == before,
	    "a full frame stays as it was");
	ok(fv_frame_ops_end(&o) == 0 && fv_frame_decode(b.p, b.len, &f) == 0 &&
		f.u.ops.count == 512 && f.u.ops.first == 100 &&
		b.len == 12 + 512 * 5,
	    "512 ops decode");
	fv_frame_ops_iter_init(&it, &f);
	bad = 0;
	for (i = 0; fv_frame_ops_next(&it, &op, &len); i++)
		if (len != 1 || op[0] != (uint8_t)i)
			bad++;
	ok(bad == 0 && i == 512, "in order");
	b.len = 0;

	/* the byte limit */
	fv_frame_ops_begin(&o, &b, 0);
	ok(fv_frame_ops_add(&o, big, FV_FRAME_OP_MAX) == 0,
	    "a 65000-byte op fits an empty frame");
	ok(fv_frame_ops_add(&o, big, FV_FRAME_OP_MAX) == FV_ETOOBIG,
	    "a second one does not");
	/* 65519 - 12 - 4 - 65000 = 503 left: a 499-byte op fills it */
	ok(fv_frame_ops_add(&o, big, 500) == FV_ETOOBIG,
	    "500 bytes do not fit the rest");
	ok(fv_frame_ops_add(&o, big, 499) == 0 && b.len == FV_FRAME_MAX,
	    "499 bytes fill it exactly");
	ok(fv_frame_ops_add(&o, big, 1) == FV_ETOOBIG, "then nothing fits");
	ok(fv_frame_ops_end(&o) == 0 && canonical(b.p, b.len),
	    "the full frame decodes");
	b.len = 0;

	/* ops no frame can carry; no ops */
	fv_frame_ops_begin(&o, &b, 0);
	ok(fv_frame_ops_add(&o, big, FV_FRAME_OP_MAX + 1) == FV_EINVAL,
	    "op over 65000 bytes: FV_EINVAL, never fits");
	ok(fv_frame_ops_add(&o, big, 0) == FV_EINVAL, "empty op: FV_EINVAL");
	ok(fv_frame_ops_end(&o) == FV_EINVAL && b.len == 0,
	    "an OPS frame without ops is not written");

	/* after other bytes; abort */
	fv_buf_put(&b, "\x00\x10", 2);
	fv_frame_ops_begin(&o, &b, 7);
	fv_frame_ops_add(&o, big, 3);
	ok(fv_frame_ops_end(&o) == 0 && b.len == 2 + 12 + 7 &&
		canonical(b.p + 2, b.len - 2),
	    "built after a length prefix");
	fv_frame_ops_begin(&o, &b, 8);
	fv_frame_ops_add(&o, big, 3);
	fv_frame_ops_abort(&o);
	is_int(b.len, 2 + 12 + 7, "abort removes the frame");

	/* a full frame, then the next one: the sender's loop */
	b.len = 0;
	{
		int frames = 0, sent = 0;
		size_t off = 0;

		fv_frame_ops_begin(&o, &b, 0);
		for (i = 0; i < 10; i++) {
			if ((rc = fv_frame_ops_add(&o, big, 20000)) ==
			    FV_ETOOBIG) {
				fv_frame_ops_end(&o);
				frames++;
				fv_frame_ops_begin(&o, &b, 0);
				rc = fv_frame_ops_add(&o, big, 20000);
			}
			if (rc != 0)
				break;
		}
		fv_frame_ops_end(&o);
		frames++;
		while (off < b.len &&
		    fv_frame_decode(b.p + off,
			12 +
			    (size_t)(b.p[off + 11] + (b.p[off + 10] << 8)) *
				20004,
			&f) == 0) {
			sent += f.u.ops.count;
			off += 12 + (size_t)f.u.ops.count * 20004;
		}
		ok(i == 10 && frames == 4 && sent == 10 && off == b.len,
		    "10 ops of 20000 bytes go in 4 frames of 3, 3, 3, 1");
	}

	/* the iterator on another type yields nothing */
	fv_frame_decode(samples[6].p, samples[6].len, &f);
	fv_frame_ops_iter_init(&it, &f);
	ok(!fv_frame_ops_next(&it, &op, &len), "no ops in an ACK");

	free(big);
	fv_buf_free(&b);
}

static void
test_receipt(void)
{
	uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64];
	uint8_t m[FV_RECEIPT_MSG_MAX];
	uint8_t dev[FV_ID_BYTES];
	struct fv_buf b = { 0 };
	struct fv_frame f;
	char long_group[FV_FRAME_NAME_MAX + 2];
	size_t n;
	int i, bad;

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	memcpy(dev, ID, sizeof(dev));

	is_int(FV_RECEIPT_MSG_MAX, 115, "the longest message is 115 bytes");
	n = fv_frame_receipt_message(m, dev, 0x0102030405060708ULL,
	    0xa1a2a3a4a5a6a7a8ULL, "north");
	ok(n == 56 && memcmp(m, "fieldvault receipt", 18) == 0 &&
		memcmp(m + 18, dev, 16) == 0 && m[34] == 1 && m[41] == 8 &&
		m[42] == 0xa1 && m[49] == 0xa8 && m[50] == 5 &&
		memcmp(m + 51, "north", 5) == 0,
	    "message layout");
	is_int((int)fv_frame_receipt_message(m, dev, 1, 2, ""), 51,
	    "no group: a zero length");

	fv_frame_receipt_sign(sig, dev, 10, 20, "north", sk);
	n = fv_frame_receipt_message(m, dev, 10, 20, "north");
	ok(fv_frame_receipt_verify(sig, dev, 10, 20, "north", pk) == 0 &&
		crypto_sign_verify_detached(sig, m, n, pk) == 0,
	    "receipt verifies, over exactly that message");
	fv_frame_receipt(&b, 10, 20, "north", sig);
	ok(fv_frame_decode(b.p, b.len, &f) == 0 &&
		fv_frame_receipt_verify(f.u.receipt.sig, dev, f.u.receipt.up_to,
		    f.u.receipt.hlc, f.u.receipt.group, pk) == 0,
	    "through a RECEIPT frame");
	is_int(fv_frame_receipt_verify(sig, dev, 11, 20, "north", pk), FV_ESIG,
	    "other up_to fails");
	is_int(fv_frame_receipt_verify(sig, dev, 10, 21, "north", pk), FV_ESIG,
	    "other hlc fails");
	is_int(fv_frame_receipt_verify(sig, dev, 10, 20, "south", pk), FV_ESIG,
	    "other group fails");
	is_int(fv_frame_receipt_verify(sig, dev, 10, 20, "", pk), FV_ESIG,
	    "no group fails");
	is_int(fv_frame_receipt_verify(sig, dev, 10, 20, "north", pk2), FV_ESIG,
	    "other key fails");
	bad = 0;
	for (i = 0; i < FV_ID_BYTES; i++) {
		dev[i] ^= 1;
		if (fv_frame_receipt_verify(sig, dev, 10, 20, "north", pk) !=
		    FV_ESIG)
			bad++;
		dev[i] ^= 1;
	}
	ok(bad == 0, "any device id byte changed fails");
	bad = 0;
	for (i = 0; i < 64; i++) {
		sig[i] ^= 0x10;
		if (fv_frame_receipt_verify(sig, dev, 10, 20, "north", pk) !=
		    FV_ESIG)
			bad++;
		sig[i] ^= 0x10;
	}
	ok(bad == 0, "any signature byte changed fails");
	memset(long_group, 'g', sizeof(long_group) - 1);
	long_group[sizeof(long_group) - 1] = '\0';
	b.len = 0;
	is_int(fv_frame_receipt(&b, 1, 2, long_group, sig), FV_EINVAL,
	    "a group over 64 bytes is refused");
	is_int(fv_frame_receipt(&b, 1, 2, "a\nb", sig), FV_EINVAL,
	    "a group with a control character is refused");
	ok(b.len == 0, "nothing appended then");
	fv_buf_free(&b);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
}

/* OP_PART: the parts of an op too large for an OPS frame. */
static void
test_op_part(void)
{
	static uint8_t data[FV_FRAME_PART_MAX + 1];
	struct fv_buf b = { 0 };
	struct fv_frame f;
	uint32_t total = 2 * FV_FRAME_OP_MAX + 100;

	memset(data, 0x5a, sizeof(data));
	is_int(fv_frame_op_part(&b, total, 0, data, FV_FRAME_PART_MAX), 0,
	    "OP_PART: a full first part");
	ok(b.len == FV_FRAME_MAX, "  fills a frame exactly");
	ok(fv_frame_decode(b.p, b.len, &f) == 0 && f.type == FV_F_OP_PART &&
		f.u.part.total == total && f.u.part.offset == 0 &&
		f.u.part.len == FV_FRAME_PART_MAX && f.u.part.p == b.p + 10,
	    "  decodes, pointing into the buffer");
	ok(canonical(b.p, b.len), "  and re-encodes to the same bytes");
	b.len = 0;
	is_int(fv_frame_op_part(&b, total, total - 1, data, 1), 0,
	    "  a last "
	    "part of one byte");
	ok(fv_frame_decode(b.p, b.len, &f) == 0 && f.u.part.len == 1,
	    "  decodes");
	b.len = 0;
	is_int(fv_frame_op_part(&b, total, total - 1, data, 2), FV_EINVAL,
	    "  a part past the end is refused");
	is_int(fv_frame_op_part(&b, FV_FRAME_OP_MAX, 0, data, 10), FV_EINVAL,
	    "  an op that fits an OPS frame is refused");
	is_int(fv_frame_op_part(&b, FV_OP_MAX + 1, 0, data, 10), FV_EINVAL,
	    "  an op over FV_OP_MAX is refused");
	is_int(fv_frame_op_part(&b, total, 0, data, 0), FV_EINVAL,
	    "  an empty part is refused");
	is_int(fv_frame_op_part(&b, total, 0, data, FV_FRAME_PART_MAX + 1),
	    FV_EINVAL, "  a part over a frame is refused");
	ok(b.len == 0, "  nothing appended by the refusals");
	/* the decoder refuses the same by hand */
	fv_buf_u8(&b, FV_F_OP_PART);
	fv_buf_u8(&b, 0);
	fv_buf_u32(&b, total);
	fv_buf_u32(&b, total); /* offset at the end */
	fv_buf_u8(&b, 1);
	is_int(fv_frame_decode(b.p, b.len, &f), FV_EINVAL,
	    "  decode: an "
	    "offset at the end is refused");
	b.len = 10;
	is_int(fv_frame_decode(b.p, b.len, &f), FV_EINVAL,
	    "  decode: no "
	    "bytes is refused");
	fv_buf_free(&b);
}

int
main(void)
{
	int i;

	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	memset(TOKEN_ID, 0x7e, sizeof(TOKEN_ID));
	memset(MAC, 0x3c, sizeof(MAC));
	memset(SIG, 0x99, sizeof(SIG));
	make_samples();
	test_roundtrip();
	test_sweeps();
	test_types();
	test_names();
	test_error();
	test_ops_decode();
	test_ops_builder();
	test_receipt();
	test_op_part();
	for (i = 0; i < NSAMPLES; i++)
		fv_buf_free(&samples[i]);
	return done_testing();
}
