#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sodium.h>

#include "conn.h"
#include "fv_error.h"
#include "noise.h"
#include "secmem.h"

#define REKEY_FRAME 8

struct fv_conn {
	struct bufferevent *bev;
	struct fv_noise_hs *hs;
	struct fv_noise_cs *cs;
	struct fv_conn_cbs cbs;
	void *arg;
	int initiator, ready, dead;
	int busy, freeme;		 /* in a callback: free later */
	int closing;			 /* once the output is written */
	int paused;			 /* the reader cannot take more */
	uint8_t hh[FV_NOISE_HASH_BYTES]; /* after msg 2 */
	uint8_t hello[FV_CONN_HELLO_MAX];
	size_t hellolen;
	uint32_t rekey_every, sent;
	uint64_t bytes_in, bytes_out;
	uint8_t *buf; /* one message, plaintext */
};

static void
die(struct fv_conn *c, int err)
{
	struct fv_conn_cbs cbs = c->cbs;
	void *arg = c->arg;

	if (c->dead)
		return;
	c->dead = 1;
	if (cbs.closed != NULL)
		cbs.closed(c, err, arg);
	fv_conn_free(c);
}

static int
put_msg(struct fv_conn *c, const uint8_t *m, size_t len)
{
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	if (len == 0 || len > FV_NOISE_MSG_MAX ||
	    bufferevent_write(c->bev, hdr, 2) != 0 ||
	    bufferevent_write(c->bev, m, len) != 0)
		return FV_ENOMEM;
	c->bytes_out += 2 + len;
	return 0;
}

static int
hs_send(struct fv_conn *c, const uint8_t *payload, size_t plen)
{
	uint8_t msg[FV_CONN_HELLO_MAX + 256];
	size_t n;
	int rc;

	if ((rc = fv_noise_hs_write(c->hs, payload, plen, msg, sizeof(msg),
		 &n)) != 0)
		return rc;
	return put_msg(c, msg, n);
}

static int
finish(struct fv_conn *c)
{
	int rc;

	if ((rc = fv_noise_hs_split(c->hs, &c->cs)) != 0)
		return rc;
	c->ready = 1;
	bufferevent_set_timeouts(c->bev,
	    &(struct timeval){ FV_CONN_IDLE_TIMEOUT, 0 }, NULL);
	if (c->cbs.ready != NULL)
		c->cbs.ready(c, c->arg);
	return 0;
}

/* One handshake message from the peer. */
static int
on_hs(struct fv_conn *c, const uint8_t *m, size_t len)
{
	uint8_t payload[FV_CONN_HELLO_MAX], rs[32], reply[FV_CONN_HELLO_MAX];
	size_t plen, rlen = 0;
	int rc, last;

	if ((rc = fv_noise_hs_read(c->hs, m, len, payload, sizeof(payload),
		 &plen)) != 0)
		return rc;
	if (!c->initiator && fv_noise_hs_remote_static(c->hs, rs) != 0) {
		/* message 1: answer with ours, remember h after it */
		if ((rc = hs_send(c, c->hello, c->hellolen)) != 0)
			return rc;
		fv_noise_hs_hash(c->hs, c->hh);
		return 0;
	}
	if ((rc = fv_noise_hs_remote_static(c->hs, rs)) != 0)
		return rc;
	if (c->initiator)
		fv_noise_hs_hash(c->hs, c->hh); /* after message 2 */
	last = !c->initiator;
	if ((rc = c->cbs.hello(c, payload, plen, rs, c->hh, reply, &rlen,
		 c->arg)) != 0)
		return rc;
	if (!last) {
		if (rlen > FV_CONN_HELLO_MAX)
			return FV_EINVAL;
		if ((rc = hs_send(c, reply, rlen)) != 0)
			return rc;
	}
	return fv_noise_hs_done(c->hs) ? finish(c) : FV_EINVAL;
}

/* One transport message: a frame. */
static int
on_msg(struct fv_conn *c, const uint8_t *m, size_t len)
{
	int rc;

	if (len < FV_NOISE_TAG_BYTES + 2)
		return FV_EINVAL;
	if ((rc = fv_noise_decrypt(c->cs, NULL, 0, m, len, c->buf)) != 0)
		return rc;
	len -= FV_NOISE_TAG_BYTES;
	if (c->buf[0] == REKEY_FRAME) {
		if (len != 2 || c->buf[1] != 0)
			return FV_EINVAL;
		return fv_noise_rekey(c->cs, FV_NOISE_RECV);
	}
	return c->cbs.frame(c, c->buf, len, c->arg) ? FV_EINVAL : 0;
}

static void really_free(struct fv_conn *);
static void leave(struct fv_conn *);

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct fv_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2], *m;
	size_t len;
	int rc = 0;

	/* callbacks may free the connection: it goes once we are out */
	c->busy = 1;
	while (!c->dead && !c->closing && !c->paused && rc == 0 &&
	    evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, hdr, 2);
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len == 0) {
			rc = FV_EINVAL;
			break;
		}
		if (evbuffer_get_length(in) < 2 + len)
			break; /* wait for the rest */
		if ((m = evbuffer_pullup(in, (ev_ssize_t)(2 + len))) == NULL) {
			rc = FV_ENOMEM;
			break;
		}
		c->bytes_in += 2 + len;
		rc = c->ready ? on_msg(c, m + 2, len) : on_hs(c, m + 2, len);
		if (!c->freeme)
			evbuffer_drain(in, 2 + len);
	}
	if (rc != 0)
		die(c, rc);
	leave(c);
}

/* Out of a callback: a free or a close asked for inside it happens now. */
static void
leave(struct fv_conn *c)
{
	c->busy = 0;
	if (c->freeme)
		really_free(c);
	else if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		die(c, 0);
}

/* The output drained to the low-water mark (or below). */
static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct fv_conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			die(c, 0);
		return;
	}
	if (!c->ready || c->dead || c->cbs.drained == NULL)
		return;
	fv_conn_run(c, c->cbs.drained, c->arg);
}

int
fv_conn_run(struct fv_conn *c, int (*fn)(struct fv_conn *, void *), void *arg)
{
	int rc;

	if (c->dead)
		return FV_EIO;
	c->busy = 1;
	if ((rc = fn(c, arg)) != 0)
		die(c, rc);
	leave(c);
	return rc;
}

void
fv_conn_close_after_flush(struct fv_conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    !c->busy)
		die(c, 0);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fv_conn *c = arg;

	if (what & BEV_EVENT_EOF)
		die(c, c->ready ? 0 : FV_EINVAL);
	else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		die(c, FV_EIO);
}

int
fv_conn_new(struct event_base *base, evutil_socket_t fd, int initiator,
    const uint8_t s_priv[32], const uint8_t *hello, size_t hellolen,
    const struct fv_conn_cbs *cbs, void *arg, struct fv_conn **out)
{
	struct fv_conn *c;
	int rc;

	*out = NULL;
	if (hellolen > FV_CONN_HELLO_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return hellolen > FV_CONN_HELLO_MAX ? FV_EINVAL : FV_ENOMEM;
	}
	c->initiator = initiator;
	c->cbs = *cbs;
	c->arg = arg;
	c->rekey_every = FV_CONN_REKEY_MSGS;
	if (hellolen > 0)
		memcpy(c->hello, hello, hellolen);
	c->hellolen = hellolen;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL || (c->buf = malloc(FV_NOISE_MSG_MAX)) == NULL) {
		if (c->bev == NULL)
			evutil_closesocket(fd);
		fv_conn_free(c);
		return FV_ENOMEM;
	}
	if ((rc = fv_noise_hs_new(FV_NOISE_XX, initiator,
		 (const uint8_t *)FV_CONN_PROLOGUE, strlen(FV_CONN_PROLOGUE),
		 s_priv, NULL, NULL, &c->hs)) != 0) {
		fv_conn_free(c);
		return rc;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev,
	    &(struct timeval){ FV_CONN_HS_TIMEOUT, 0 }, NULL);
	/* a peer may not make us buffer more than one message */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + FV_NOISE_MSG_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, FV_CONN_LOW_WATER, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (initiator && (rc = hs_send(c, NULL, 0)) != 0) {
		fv_conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
fv_conn_send(struct fv_conn *c, const uint8_t *f, size_t len)
{
	uint8_t rk[2] = { REKEY_FRAME, 0 };
	uint8_t *ct;
	int rc;

	if (!c->ready || c->dead || len < 2 || len > FV_CONN_FRAME_MAX)
		return FV_EINVAL;
	if ((ct = malloc(FV_NOISE_MSG_MAX)) == NULL)
		return FV_ENOMEM;
	if (++c->sent >= c->rekey_every) {
		c->sent = 0;
		if ((rc = fv_noise_encrypt(c->cs, NULL, 0, rk, 2, ct)) != 0 ||
		    (rc = put_msg(c, ct, 2 + FV_NOISE_TAG_BYTES)) != 0 ||
		    (rc = fv_noise_rekey(c->cs, FV_NOISE_SEND)) != 0)
			goto out;
	}
	if ((rc = fv_noise_encrypt(c->cs, NULL, 0, f, len, ct)) == 0)
		rc = put_msg(c, ct, len + FV_NOISE_TAG_BYTES);
out:
	free(ct);
	return rc;
}

void
fv_conn_pause(struct fv_conn *c, int on)
{
	if (c->dead || c->closing || c->paused == !!on)
		return;
	c->paused = !!on;
	if (on)
		bufferevent_disable(c->bev, EV_READ);
	else {
		bufferevent_enable(c->bev, EV_READ);
		/* messages already read wait in the input buffer */
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			bufferevent_trigger(c->bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS |
				BEV_TRIG_DEFER_CALLBACKS);
	}
}

size_t
fv_conn_queued(const struct fv_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void
fv_conn_bytes(const struct fv_conn *c, uint64_t *in, uint64_t *out)
{
	*in = c->bytes_in;
	*out = c->bytes_out;
}

void
fv_conn_set_rekey(struct fv_conn *c, uint32_t msgs)
{
	c->rekey_every = msgs ? msgs : 1;
}

void
fv_conn_free(struct fv_conn *c)
{
	if (c == NULL)
		return;
	c->dead = 1;
	if (c->busy) {
		c->freeme = 1;
		return;
	}
	really_free(c);
}

static void
really_free(struct fv_conn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	fv_noise_hs_free(c->hs);
	fv_noise_cs_free(c->cs);
	if (c->buf != NULL) {
		sodium_memzero(c->buf, FV_NOISE_MSG_MAX);
		free(c->buf);
	}
	sodium_memzero(c, sizeof(*c));
	free(c);
}
