/*
 * conn.h - one sync channel: Noise_XX_25519_ChaChaPoly_BLAKE2b over a TCP
 * (or any stream) socket, on the loop (docs/protocol.md §2).
 *
 * On the wire: a 2-byte big-endian length, then a Noise message of
 * 1..65,535 bytes.  The handshake carries one payload each way (the
 * responder's in message 2, the initiator's in message 3); after it, each
 * transport message carries one frame.  The connection rekeys its sending
 * direction every FV_CONN_REKEY_MSGS messages, announcing it with a REKEY
 * frame (type 8, empty) under the old key; a REKEY received rekeys the
 * receiving direction and is not passed on.  Any bad byte closes it.
 */
#ifndef FV_CONN_H
#define FV_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define FV_CONN_PROLOGUE     "fieldvault sync 1"
#define FV_CONN_HS_TIMEOUT   10 /* seconds for the handshake */
#define FV_CONN_IDLE_TIMEOUT 60 /* seconds without a byte */
#define FV_CONN_REKEY_MSGS   (1u << 20)
#define FV_CONN_FRAME_MAX    65519	  /* bytes of one frame */
#define FV_CONN_HELLO_MAX    1024	  /* bytes of a handshake payload */
#define FV_CONN_LOW_WATER    (256u << 10) /* drained() below this */

struct fv_conn;

struct fv_conn_cbs {
	/*
	 * The peer's handshake payload arrived, with its static key rs
	 * (authenticated) and the handshake hash as it stood after message
	 * 2 (the same on both sides: an enrollment MAC binds to it).  The
	 * initiator answers with its own payload for message 3 in reply
	 * (*replylen bytes, at most FV_CONN_HELLO_MAX); the responder's
	 * reply is ignored.  Return 0 to go on, or an FV_E* code to close.
	 */
	int (*hello)(struct fv_conn *, const uint8_t *payload, size_t len,
	    const uint8_t rs[32], const uint8_t hh[64], uint8_t *reply,
	    size_t *replylen, void *arg);
	/* The handshake is complete: frames may be sent. */
	void (*ready)(struct fv_conn *, void *arg);
	/* A frame arrived (valid until return).  Non-zero closes. */
	int (*frame)(struct fv_conn *, const uint8_t *f, size_t len, void *arg);
	/* Closed: err 0 on an orderly end of stream, else FV_E*.  The
	 * connection is freed right after this returns. */
	void (*closed)(struct fv_conn *, int err, void *arg);
	/* Optional: what was queued to send has drained to
	 * FV_CONN_LOW_WATER bytes or less: a sender with more to send
	 * queues the next part (flow control: fv_conn_queued()).  Non-zero
	 * closes. */
	int (*drained)(struct fv_conn *, void *arg);
};

/*
 * Starts a channel on a connected, non-blocking socket fd (taken: closed
 * when the connection ends).  s_priv: our X25519 static private key (32
 * bytes, copied into secret memory).  hello: the responder's payload for
 * message 2 (NULL/0 for the initiator, who answers in the hello
 * callback).  Returns 0 or FV_ENOMEM / FV_EINVAL (fd closed then too).
 */
int fv_conn_new(struct event_base *base, evutil_socket_t fd, int initiator,
    const uint8_t s_priv[32], const uint8_t *hello, size_t hellolen,
    const struct fv_conn_cbs *cbs, void *arg, struct fv_conn **out);
/* Sends one frame (1..FV_CONN_FRAME_MAX bytes).  0, FV_EINVAL (not ready,
 * bad size) or FV_ENOMEM. */
int fv_conn_send(struct fv_conn *c, const uint8_t *f, size_t len);
/* Stops (on) or resumes delivering frames: a receiver with too much not
 * yet processed stops reading, and TCP tells the sender to wait. */
void fv_conn_pause(struct fv_conn *c, int on);
/* Bytes queued to send and not yet written to the socket. */
size_t fv_conn_queued(const struct fv_conn *c);
/* Bytes read from and written to the socket so far (what the wire
 * carried: lengths, handshake, tags included). */
void fv_conn_bytes(const struct fv_conn *c, uint64_t *in, uint64_t *out);
/* Runs fn(c, arg) from outside the connection's callbacks (a timer, a
 * thread's answer) as if it were one: a non-zero return closes the
 * connection (closed() is called), and a close fn asks for happens after
 * fn returns.  Returns fn's result (FV_EIO if the connection is dead).
 * The connection may be gone when it returns. */
int fv_conn_run(struct fv_conn *c, int (*fn)(struct fv_conn *, void *),
    void *arg);
/* Closes once everything queued is written (closed() is called then). */
void fv_conn_close_after_flush(struct fv_conn *c);
/* Closes now, without calling closed(); wipes every key. */
void fv_conn_free(struct fv_conn *c);
/* Tests: rekey after this many messages instead. */
void fv_conn_set_rekey(struct fv_conn *c, uint32_t msgs);

#endif
