/*
 * test_conn.c - the sync channel over a socket pair: the Noise XX
 * handshake with payloads both ways, pinned keys, frames both ways,
 * rekeying, and refusals (wrong key, tampered byte, zero length).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "fv_error.h"
#include "secmem.h"
#include "sync/conn.h"
#include "tap.h"

struct side {
	const char *name;
	uint8_t pk[32], sk[32];
	uint8_t want_peer[32]; /* the key we pinned */
	uint8_t hh[64];
	int ready, closed, err, frames, hellos;
	size_t bytes;
	struct fv_conn *c;
	struct event_base *base;
};

static int
hello(struct fv_conn *c, const uint8_t *p, size_t len, const uint8_t rs[32],
    const uint8_t hh[64], uint8_t *reply, size_t *replylen, void *arg)
{
	struct side *s = arg;

	s->hellos++;
	memcpy(s->hh, hh, 64);
	if (memcmp(rs, s->want_peer, 32) != 0)
		return FV_EUNKNOWN; /* not the key we pinned */
	memcpy(reply, "DEV_HELLO", 9);
	*replylen = 9;
	return len > 0 && (p[0] == 'H' || p[0] == 'D') ? 0 : FV_EINVAL;
}

static void
ready(struct fv_conn *c, void *arg)
{
	((struct side *)arg)->ready = 1;
}

static int
frame(struct fv_conn *c, const uint8_t *f, size_t len, void *arg)
{
	struct side *s = arg;

	s->frames++;
	s->bytes += len;
	return 0;
}

static void
closed(struct fv_conn *c, int err, void *arg)
{
	struct side *s = arg;

	s->closed = 1;
	s->err = err;
	s->c = NULL;
}

static const struct fv_conn_cbs cbs = { hello, ready, frame, closed, NULL };

static void
keys(struct side *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	crypto_box_keypair(s->pk, s->sk);
}

/* Runs the loop until cond holds or 2000 turns pass. */
#define RUN(base, cond) \
	do { \
		int turns_ = 0; \
		while (!(cond) && turns_++ < 2000) \
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK); \
	} while (0)

static int
pair(struct event_base *base, struct side *dev, struct side *hq, int *raw)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	if (raw != NULL) { /* the test plays the device itself */
		*raw = sv[0];
		return fv_conn_new(base, sv[1], 0, hq->sk,
		    (const uint8_t *)"HQ_HELLO", 8, &cbs, hq, &hq->c);
	}
	if (fv_conn_new(base, sv[1], 0, hq->sk, (const uint8_t *)"HQ_HELLO", 8,
		&cbs, hq, &hq->c) != 0 ||
	    fv_conn_new(base, sv[0], 1, dev->sk, NULL, 0, &cbs, dev, &dev->c) !=
		0)
		return -1;
	return 0;
}

int
main(void)
{
	struct event_base *base;
	struct side dev, hq, other;
	uint8_t f[FV_CONN_FRAME_MAX + 1];
	int i, raw;

	if (sodium_init() < 0 || fv_secmem_init() != 0 ||
	    (base = event_base_new()) == NULL)
		return 1;
	memset(f, 'x', sizeof(f));
	f[0] = 3;
	f[1] = 0;

	/* a good handshake: each side pinned the other */
	keys(&dev, "dev");
	keys(&hq, "hq");
	memcpy(dev.want_peer, hq.pk, 32);
	memcpy(hq.want_peer, dev.pk, 32);
	ok(pair(base, &dev, &hq, NULL) == 0, "two ends on a socket pair");
	RUN(base, dev.ready && hq.ready);
	ok(dev.ready && hq.ready, "the handshake completes on both sides");
	is_int(dev.hellos + hq.hellos, 2, "each side saw the other's payload");
	ok(memcmp(dev.hh, hq.hh, 64) == 0,
	    "both see the same handshake hash (for the enrollment MAC)");
	for (i = 0; i < 50; i++)
		fv_conn_send(dev.c, f, (size_t)(2 + i * 1000));
	fv_conn_send(hq.c, f, FV_CONN_FRAME_MAX);
	RUN(base, hq.frames == 50 && dev.frames == 1);
	is_int(hq.frames, 50, "50 frames up");
	is_int(dev.frames, 1, "a largest frame down");
	is_int(fv_conn_send(dev.c, f, FV_CONN_FRAME_MAX + 1), FV_EINVAL,
	    "an oversized frame is refused");
	is_int(fv_conn_send(dev.c, f, 1), FV_EINVAL,
	    "a frame shorter than type and flags is refused");
	/* rekeying every 7 messages, both ways */
	fv_conn_set_rekey(dev.c, 7);
	fv_conn_set_rekey(hq.c, 7);
	for (i = 0; i < 40; i++) {
		fv_conn_send(dev.c, f, 100);
		fv_conn_send(hq.c, f, 100);
	}
	RUN(base, hq.frames == 90 && dev.frames == 41);
	ok(hq.frames == 90 && dev.frames == 41 && !hq.closed && !dev.closed,
	    "rekeyed every 7 messages, both ways, and still talking");
	fv_conn_free(dev.c);
	RUN(base, hq.closed);
	ok(hq.closed && hq.err == 0, "the other side sees an orderly close");

	/* the device meets another HQ than the one it pinned */
	keys(&dev, "dev");
	keys(&hq, "hq");
	keys(&other, "other");
	memcpy(dev.want_peer, other.pk, 32);
	memcpy(hq.want_peer, dev.pk, 32);
	pair(base, &dev, &hq, NULL);
	RUN(base, dev.closed && hq.closed);
	ok(dev.closed && dev.err == FV_EUNKNOWN && !dev.ready,
	    "a device refuses an HQ whose key it did not pin");
	ok(hq.closed && !hq.ready, "and HQ never gets a session");

	/* HQ meets a device it never enrolled */
	keys(&dev, "dev");
	keys(&hq, "hq");
	memcpy(dev.want_peer, hq.pk, 32);
	memcpy(hq.want_peer, other.pk, 32);
	pair(base, &dev, &hq, NULL);
	RUN(base, dev.closed && hq.closed);
	ok(hq.closed && hq.err == FV_EUNKNOWN && !hq.ready,
	    "HQ refuses a device whose key is not enrolled");
	ok(dev.closed, "and the device is cut off");

	/* garbage from the wire: a zero length, a tampered message */
	keys(&hq, "hq");
	pair(base, NULL, &hq, &raw);
	if (write(raw, "\0\0", 2) != 2)
		diag("write failed");
	RUN(base, hq.closed);
	ok(hq.closed && hq.err == FV_EINVAL, "a zero-length message closes");
	close(raw);
	keys(&hq, "hq");
	pair(base, NULL, &hq, &raw);
	{
		uint8_t junk[40] = { 0, 38 };

		randombytes_buf(junk + 2, 38);
		if (write(raw, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
			diag("write failed");
		RUN(base, hq.closed || hq.hellos);
		/* 38 random bytes are a valid message 1 (e is any key): HQ
		 * answers; the next random message must kill it */
		if (write(raw, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
			diag("write failed");
		RUN(base, hq.closed);
		ok(hq.closed && hq.err != 0 && !hq.ready,
		    "a forged handshake message closes (%d)", hq.err);
	}
	close(raw);
	/* a peer that stops half-way times out: checked by the idle
	 * timeout of libevent, not waited for here (10 s) */
	is_int((long long)fv_secmem_used(), 0,
	    "no secret memory left in use after every connection ended");
	event_base_free(base);
	return done_testing();
}
