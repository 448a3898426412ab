/*
 * bundle.h - a sync session in a file, for USB sticks and messengers
 * (docs/protocol.md §7).
 *
 *   "FVBUNDLE1\n" (10 bytes) | u8 dir (1 up: device to HQ, 2 down: HQ to
 *   device) | sender device id[16] | receiver device id[16] |
 *   u64 created (Unix ms) | u32 n | sealed[n] | sig[64]
 *
 * sealed = crypto_box_seal(payload, receiver's X25519 key); sig = the
 * sender's Ed25519 signature (crypto_sign_detached) over every byte before
 * it.  All integers big-endian.  The payload is what a session would send,
 * as a sequence of u32 len | frame (1..FV_FRAME_MAX bytes each, frame.h):
 *
 *   WANT, then any number of DEVICE, OPS, OP_PART and RECEIPT frames,
 *   then END; nothing after
 *
 * (WANT.up: HQ's acknowledgement of the device's ops, 0 up; WANT.down: the
 * device's down cursor, 0 down; END.last as in a session.)
 *
 * Everything a bundle holds is checked before any of it is used:
 * fv_bundle_open() verifies the signature over the whole file, opens the
 * seal and checks the payload's grammar and every frame, or refuses the
 * bundle whole.
 */
#ifndef FV_BUNDLE_H
#define FV_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "op.h"

#define FV_BUNDLE_MAGIC	    "FVBUNDLE1\n"
#define FV_BUNDLE_MAGIC_LEN 10
/* magic, dir, sender, receiver, created, n */
#define FV_BUNDLE_HDR (FV_BUNDLE_MAGIC_LEN + 1 + 2 * FV_ID_BYTES + 8 + 4)
#define FV_BUNDLE_MAX (256u << 20) /* bytes of a whole bundle */

enum fv_bundle_dir {
	FV_BUNDLE_UP = 1,
	FV_BUNDLE_DOWN = 2
};

struct fv_bundle_hdr {
	uint8_t dir; /* enum fv_bundle_dir */
	uint8_t sender[FV_ID_BYTES];
	uint8_t receiver[FV_ID_BYTES];
	uint64_t created_ms;
};

/* Appends u32 len | frame to a payload being built.  0, FV_EINVAL (len 0
 * or over FV_FRAME_MAX: nothing appended) or b->err. */
int fv_bundle_add(struct fv_buf *payload, const uint8_t *frame, size_t len);

/*
 * Seals payload[0..len) to the receiver (receiver_xpk: its X25519 public
 * key) and signs the whole with the sender's 64-byte Ed25519 secret key
 * (not copied), appending the bundle to out.  The payload's grammar is
 * checked first (FV_EINVAL: a bundle the receiver would refuse is never
 * written); FV_ETOOBIG if the bundle would exceed FV_BUNDLE_MAX; FV_EINVAL
 * for a bad dir; FV_ENOMEM.  out is left as it was on error.
 */
int fv_bundle_seal(const struct fv_bundle_hdr *h, const uint8_t *payload,
    size_t len, const uint8_t receiver_xpk[32], const uint8_t *sender_sk,
    struct fv_buf *out);

/* Parses the clear header of buf[0..len): the magic, a known dir, n at
 * least crypto_box_SEALBYTES and len exactly FV_BUNDLE_HDR + n + 64, len
 * at most FV_BUNDLE_MAX.  Checks no signature (the caller needs the sender
 * id to find the key).  0 or FV_EINVAL (*h zeroed). */
int fv_bundle_peek(const uint8_t *buf, size_t len, struct fv_bundle_hdr *h);

/*
 * Opens a bundle: fv_bundle_peek(), the signature against sender_pk (the
 * Ed25519 key of the sender the header names: FV_ESIG), the seal with this
 * installation's X25519 pair (self_xsk: 32 bytes of secret memory; a seal
 * to another key or a tampered one: FV_ESIG), then the payload's grammar
 * (fv_bundle_check: FV_EINVAL).  The payload is put in *payload (a fresh
 * buffer: the caller frees it with fv_buf_free, which wipes).  On any
 * error *payload is empty and *h zeroed.  The caller checks that
 * h->receiver is itself and that the sender may send this dir.
 */
int fv_bundle_open(const uint8_t *buf, size_t len, const uint8_t sender_pk[32],
    const uint8_t self_xpk[32], const uint8_t *self_xsk,
    struct fv_bundle_hdr *h, struct fv_buf *payload);

/* The payload's grammar: a sequence of u32 len | frame filling it
 * exactly, each frame 1..FV_FRAME_MAX bytes and accepted by
 * fv_frame_decode(), WANT first, END last, only DEVICE, OPS, OP_PART and
 * RECEIPT between.
 * 0 or FV_EINVAL. */
int fv_bundle_check(const uint8_t *payload, size_t len);

/* Walks a checked payload: fv_bundle_next() returns 1 with the next frame
 * decoded into *f (pointing into the payload, which must outlive it), 0
 * after the last, FV_EINVAL on a payload fv_bundle_check() refuses. */
struct fv_bundle_iter {
	struct fv_rd r;
};
void fv_bundle_iter_init(struct fv_bundle_iter *it, const uint8_t *payload,
    size_t len);
int fv_bundle_next(struct fv_bundle_iter *it, struct fv_frame *f);
/* The same, with the frame's bytes in the payload (*p, *len). */
int fv_bundle_next_raw(struct fv_bundle_iter *it, struct fv_frame *f,
    const uint8_t **p, size_t *len);

#endif
