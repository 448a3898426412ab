/*
 * frame.h - the frames of the sync protocol (docs/protocol.md §3): one
 * frame per Noise transport message (and the hello frames as handshake
 * payloads).
 *
 * A frame is u8 type, u8 flags (zero), then the body its type fixes; all
 * integers big-endian.  fv_frame_decode() is the one parser of frames
 * from the network: it refuses an unknown type, non-zero flags, a body
 * shorter or longer than its layout, and every count, length or value
 * outside its limit.  The encoders refuse to write what the decoder would
 * refuse, so what one side encodes the other decodes, byte for byte.
 *
 * What the frame layer does not check, because it does not know the
 * direction or the session: that WANT.up is 0 from a device, that OPS.first
 * is 0 up, the order of frames, and whether a carried op is a valid signed
 * op (fv_op_decode(), fv_op_verify()).
 */
#ifndef FV_FRAME_H
#define FV_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "op.h"

#define FV_PROTO_VERSION 1 /* the hello frames' version byte */
#define FV_FRAME_MAX \
	65519			 /* bytes of one frame: a Noise
					 * transport payload */
#define FV_FRAME_HDR	   2	 /* type, flags */
#define FV_FRAME_OPS_MAX   512	 /* ops in one OPS frame */
#define FV_FRAME_OP_MAX	   65000 /* bytes of one op in an OPS frame */
#define FV_FRAME_NAME_MAX  64	 /* bytes of a device name */
#define FV_FRAME_TEXT_MAX  200	 /* bytes of an ERROR text */
#define FV_FRAME_MAC_BYTES 32	 /* the enrollment MAC (token.h) */
/* "fieldvault receipt" | device id | u64 up_to | u64 hlc | u8 glen |
 * group: the longest */
#define FV_RECEIPT_MSG_MAX (18 + FV_ID_BYTES + 8 + 8 + 1 + FV_FRAME_NAME_MAX)

enum fv_frame_type {
	FV_F_HQ_HELLO = 1,
	FV_F_DEV_HELLO,
	FV_F_WANT,
	FV_F_OPS,
	FV_F_ACK,
	FV_F_END,
	FV_F_RECEIPT,
	FV_F_REKEY,
	FV_F_ERROR,
	FV_F_DEVICE,  /* HQ vouches for an author of the ops it sends */
	FV_F_OP_PART, /* a part of one op too large for an OPS frame */
};
/* bytes of an op in one OP_PART frame, at most */
#define FV_FRAME_PART_MAX (FV_FRAME_MAX - FV_FRAME_HDR - 8)

/* The codes of an ERROR frame (§6); the decoder refuses any other. */
enum fv_proto_err {
	FV_PE_PROTOCOL = 1,   /* bad frame, order, length */
	FV_PE_UNKNOWN_DEVICE, /* not enrolled */
	FV_PE_REVOKED,	      /* device revoked */
	FV_PE_WRONG_KEY,      /* wrong HQ key / wrong device key */
	FV_PE_ENROLL,	      /* token unknown, used, expired, bad MAC */
	FV_PE_BAD_SIG,	      /* bad signature on an op */
	FV_PE_FORK,	      /* same author and seq, other bytes */
	FV_PE_LOCKED,	      /* store locked */
	FV_PE_INTERNAL,	      /* disk full, ... */
};
#define FV_PE_MAX FV_PE_INTERNAL

/*
 * A decoded frame.  Names and the ERROR text are copied and NUL-terminated
 * (they hold no NUL: control characters are refused); the ops of an OPS
 * frame are not copied: u.ops.p points into the decoded buffer, which must
 * outlive the frame.  Walk them with fv_frame_ops_iter_init() and
 * fv_frame_ops_next() (an iterator rather than arrays of 512 pointers
 * keeps the struct small enough to copy and to keep per connection).
 */
struct fv_frame {
	uint8_t type; /* enum fv_frame_type */
	union {
		struct {			 /* FV_F_HQ_HELLO */
			uint8_t version;	 /* FV_PROTO_VERSION */
			uint8_t id[FV_ID_BYTES]; /* HQ's device id */
			char name[FV_FRAME_NAME_MAX + 1];
		} hello;
		struct { /* FV_F_DEV_HELLO */
			uint8_t version;
			uint8_t id[FV_ID_BYTES];
			uint8_t pk[32]; /* its Ed25519 key */
			char name[FV_FRAME_NAME_MAX + 1];
			int enroll;			 /* 0 or 1 */
			uint8_t token_id[FV_ID_BYTES];	 /* zero unless */
			uint8_t mac[FV_FRAME_MAC_BYTES]; /* enroll */
		} dev_hello;
		struct { /* FV_F_WANT */
			uint64_t up, down;
		} want;
		struct { /* FV_F_OPS */
			uint64_t first;
			uint16_t count;	  /* 1..FV_FRAME_OPS_MAX */
			const uint8_t *p; /* the count entries, in buf */
			size_t len;	  /* bytes at p */
		} ops;
		struct { /* FV_F_ACK */
			uint64_t up_to;
		} ack;
		struct { /* FV_F_END */
			uint64_t last;
		} end;
		struct { /* FV_F_RECEIPT */
			uint64_t up_to, hlc;
			/* the device's group ("" for none): what it keeps
			 * under purge_after_sync */
			char group[FV_FRAME_NAME_MAX + 1];
			uint8_t sig[FV_SIG_BYTES];
		} receipt;
		struct { /* FV_F_OP_PART: the op's (wire
					 * form's) bytes [offset, offset +
					 * len) of total; total is over
					 * FV_FRAME_OP_MAX, at most FV_OP_MAX */
			uint32_t total, offset;
			const uint8_t *p; /* len bytes, in buf */
			size_t len;
		} part;
		struct { /* FV_F_DEVICE */
			uint8_t id[FV_ID_BYTES];
			uint8_t pk[32];
			char name[FV_FRAME_NAME_MAX + 1];
		} device;
		struct {	       /* FV_F_ERROR */
			uint16_t code; /* 1..FV_PE_MAX */
			char text[FV_FRAME_TEXT_MAX + 1];
		} error;
		/* FV_F_REKEY has no body */
	} u;
};

/*
 * Parses the frame buf[0..len) (len <= FV_FRAME_MAX) into *f.  Strict:
 * exact body length; flags 0; version FV_PROTO_VERSION in the hellos
 * (another version has another layout, which this one cannot check);
 * names 1..FV_FRAME_NAME_MAX bytes and ERROR texts 0..FV_FRAME_TEXT_MAX
 * bytes of valid UTF-8 without control characters (C0, DEL, C1), line or
 * paragraph separators (U+2028, U+2029) or bidi embeddings, overrides and
 * isolates (U+202A..U+202E, U+2066..U+2069), as they end up in logs;
 * enroll 0 or 1 (the token id and MAC present exactly when 1); an ERROR
 * code 1..FV_PE_MAX; OPS with 1..FV_FRAME_OPS_MAX ops of
 * 1..FV_FRAME_OP_MAX bytes each that fill the body exactly.
 * f->u.ops.p points into buf.  Returns 0 or FV_EINVAL (*f is then zeroed).
 */
int fv_frame_decode(const uint8_t *buf, size_t len, struct fv_frame *f);

/* Walks the ops of a decoded OPS frame (f and its buffer must outlive
 * it).  fv_frame_ops_next() returns 1 and sets *op (into the frame's
 * buffer) and *len, or 0 after the last op. */
struct fv_frame_ops_iter {
	const uint8_t *p;
	size_t left;
	uint16_t n; /* ops still to come */
};
void fv_frame_ops_iter_init(struct fv_frame_ops_iter *it,
    const struct fv_frame *f);
int fv_frame_ops_next(struct fv_frame_ops_iter *it, const uint8_t **op,
    size_t *len);

/*
 * Encoders: each appends one whole frame to b (after what b holds: the
 * caller may have put the 2-byte length or other frames there first).
 * They return 0, FV_EINVAL for a value the decoder would refuse (nothing
 * is appended then), or FV_ENOMEM (b->err, sticky: b is unusable).
 * Strings are NUL-terminated and copied.
 */
int fv_frame_hq_hello(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const char *name);
/* token_id and mac are both NULL (enroll = 0) or both set (enroll = 1). */
int fv_frame_dev_hello(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const uint8_t pk[32], const char *name, const uint8_t *token_id,
    const uint8_t *mac);
int fv_frame_want(struct fv_buf *b, uint64_t up, uint64_t down);
int fv_frame_ack(struct fv_buf *b, uint64_t up_to);
int fv_frame_end(struct fv_buf *b, uint64_t last);
int fv_frame_receipt(struct fv_buf *b, uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t sig[FV_SIG_BYTES]);
int fv_frame_rekey(struct fv_buf *b);
/* code 1..FV_PE_MAX; text as the decoder wants it (never record content:
 * a fixed phrase). */
int fv_frame_error(struct fv_buf *b, uint16_t code, const char *text);
int fv_frame_device(struct fv_buf *b, const uint8_t id[FV_ID_BYTES],
    const uint8_t pk[32], const char *name);
/* One part (1..FV_FRAME_PART_MAX bytes at offset) of an op of total
 * bytes, FV_FRAME_OP_MAX < total <= FV_OP_MAX, offset + len <= total. */
int fv_frame_op_part(struct fv_buf *b, uint32_t total, uint32_t offset,
    const uint8_t *p, size_t len);

/*
 * An OPS frame built one op at a time:
 *
 *	fv_frame_ops_begin(&o, b, first);
 *	while (more ops) {
 *		rc = fv_frame_ops_add(&o, op, len);
 *		if (rc == FV_ETOOBIG) {		// full: send it, start anew
 *			fv_frame_ops_end(&o); ...; fv_frame_ops_begin(...);
 *			rc = fv_frame_ops_add(&o, op, len);	// fits now
 *		}
 *		if (rc != 0) ...
 *	}
 *	fv_frame_ops_end(&o);
 *
 * b must not be touched by anything else between begin and end.  The op
 * bytes are copied.  fv_frame_ops_add() returns 0; FV_ETOOBIG when the
 * frame is full (FV_FRAME_OPS_MAX ops, or the op's entry would take the
 * frame over FV_FRAME_MAX bytes: an op of up to FV_FRAME_OP_MAX bytes
 * always fits an empty frame); FV_EINVAL for an op of 0 or more than
 * FV_FRAME_OP_MAX bytes, which no frame can carry (send it in a bundle);
 * FV_ENOMEM.  The frame is left as it was after any error.
 * fv_frame_ops_end() writes the count and returns 0, or FV_EINVAL for a
 * frame without an op (an OPS frame carries at least one; the header is
 * then removed from b), or b->err.  fv_frame_ops_abort() removes the
 * frame from b.
 */
struct fv_frame_ops {
	struct fv_buf *b;
	size_t start; /* offset of the frame in b */
	uint16_t count;
};
int fv_frame_ops_begin(struct fv_frame_ops *o, struct fv_buf *b,
    uint64_t first);
int fv_frame_ops_add(struct fv_frame_ops *o, const uint8_t *op, size_t len);
int fv_frame_ops_end(struct fv_frame_ops *o);
void fv_frame_ops_abort(struct fv_frame_ops *o);

/*
 * Receipts: HQ's Ed25519 signature over the message "fieldvault receipt" |
 * dev_id (the device whose ops are receipted) | u64 up_to | u64 hlc (HQ's
 * clock, Unix ms) | u8 glen | group (the device's group at HQ, 0..64
 * bytes), big-endian.  sk is HQ's 64-byte Ed25519 secret key (the
 * caller's, in fv_secmem; not copied); pk its public key.
 * fv_frame_receipt_message() returns the message's length (group is cut at
 * FV_FRAME_NAME_MAX bytes); fv_frame_receipt_verify() returns 0 or FV_ESIG.
 */
size_t fv_frame_receipt_message(uint8_t out[FV_RECEIPT_MSG_MAX],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group);
void fv_frame_receipt_sign(uint8_t sig[FV_SIG_BYTES],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t sk[64]);
int fv_frame_receipt_verify(const uint8_t sig[FV_SIG_BYTES],
    const uint8_t dev_id[FV_ID_BYTES], uint64_t up_to, uint64_t hlc,
    const char *group, const uint8_t pk[32]);

/* 1 when s[0..n) is text a name or an ERROR text may hold (the rule of
 * fv_frame_decode(), without the length bounds), else 0. */
int fv_frame_text_ok(const char *s, size_t n);
/* Encodes a decoded frame again (appended to b): the canonical bytes. */
int fv_frame_encode(const struct fv_frame *f, struct fv_buf *b);

#endif
