/*
 * field.c - a field device's side of sync: connecting to HQ (pinned at
 * enrollment, or named by an enrollment token), its ops up, HQ's frames
 * down, and HQ's receipt.  One session at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/util.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "secmem.h"
#include "session.h"

static struct fv_sync_sess *field_sess;

void
fv_sync_field_forget(struct fv_sync_sess *ss)
{
	if (ss == field_sess)
		field_sess = NULL;
}

/* The session is over; tell whoever asked. */
void
fv_sync_field_done(struct fv_sync_sess *ss, int rc, const char *why)
{
	int i;

	if (ss->done)
		return;
	ss->done = 1;
	ss->res.rc = rc;
	if (why != NULL)
		snprintf(ss->res.why, sizeof(ss->res.why), "%s", why);
	ss->res.acked = fv_store_stats_acked(ss->d->store);
	if (ss->c != NULL)
		fv_conn_bytes(ss->c, &ss->res.bytes_in, &ss->res.bytes_out);
	if (ss->res.acked > ss->start_acked)
		ss->res.up = ss->res.acked - ss->start_acked;
	for (i = 0; i < ss->ncb; i++)
		ss->cb[i](&ss->res, ss->arg[i]);
}

/* Over once everything is sent, HQ has said END, and its receipt covers
 * everything sent up. */
static void
maybe_done(struct fv_sync_sess *ss)
{
	if (!ss->sending && ss->got_end && ss->got_receipt &&
	    fv_store_stats_acked(ss->d->store) >= ss->last_sent) {
		fv_sync_field_done(ss, 0, NULL);
		fv_conn_close_after_flush(ss->c);
	}
}

/* HQ's HQ_HELLO: is this the HQ we pinned (or the token names)?  The
 * reply is our DEV_HELLO, with the token's proof when enrolling. */
int
fv_sync_field_hello(struct fv_sync_sess *ss, const struct fv_frame *f,
    const uint8_t rs[32], const uint8_t hh[64], uint8_t *reply,
    size_t *replylen)
{
	const struct fv_store_info *in = fv_store_info(ss->d->store);
	struct fv_buf b = { 0 };
	uint8_t x[32], mac[32], sh[32];

	if (f->type != FV_F_HQ_HELLO || fv_store_x25519_of(ss->hq_pk, x) != 0 ||
	    sodium_memcmp(x, rs, 32) != 0) {
		snprintf(ss->res.why, sizeof(ss->res.why),
		    "HQ's key is not "
		    "the one this device pinned");
		return FV_EUNKNOWN;
	}
	memcpy(ss->peer, f->u.hello.id, FV_ID_BYTES);
	snprintf(ss->res.hq, sizeof(ss->res.hq), "%s", f->u.hello.name);
	if (ss->tok != NULL) {
		fv_token_secret_hash(ss->tok->secret, sh);
		fv_token_mac(sh, hh, mac);
		sodium_memzero(sh, sizeof(sh));
	}
	fv_frame_dev_hello(&b, in->device_id, in->sign_pk, in->name,
	    ss->tok ? ss->tok->token_id : NULL, ss->tok ? mac : NULL);
	if (b.err || b.len > FV_CONN_HELLO_MAX) {
		fv_buf_free(&b);
		return FV_ENOMEM;
	}
	memcpy(reply, b.p, b.len);
	*replylen = b.len;
	fv_buf_free(&b);
	return 0;
}

void
fv_sync_field_ready(struct fv_sync_sess *ss)
{
	struct fv_buf b = { 0 };

	fv_frame_want(&b, 0, fv_sync_apply_down_cursor(ss->d->store));
	fv_sync_session_send(ss, &b);
}

/* --- up: every own op HQ lacks, in OPS frames, then END ----------------- */

struct upframe {
	struct fv_frame_ops o;
	struct fv_buf w; /* one op's wire form */
	int big;	 /* w is one too large an op */
	uint64_t last;	 /* seq of the last op added */
};

static int
collect_op(void *arg, const uint8_t *op, size_t len, uint64_t seq)
{
	struct upframe *u = arg;
	int rc;

	u->w.len = 0;
	if ((rc = fv_op_pack(op, len, &u->w)) != 0)
		return rc;
	if (u->w.len > FV_FRAME_OP_MAX) {
		/* too large for any OPS frame: alone, in parts */
		if (u->o.count > 0)
			return FV_ETOOBIG; /* after this frame */
		u->big = 1;
		u->last = seq;
		return FV_ETOOBIG;
	}
	if ((rc = fv_frame_ops_add(&u->o, u->w.p, u->w.len)) == 0)
		u->last = seq;
	return rc;
}

int
fv_sync_field_more(struct fv_sync_sess *ss)
{
	struct fv_store *s = ss->d->store;
	const uint8_t *self = fv_store_info(s)->device_id;
	struct upframe u;
	struct fv_buf b = { 0 };
	int rc;

	memset(&u, 0, sizeof(u));
	u.last = ss->next;
	if ((rc = fv_frame_ops_begin(&u.o, &b, ss->next + 1)) != 0)
		goto out;
	rc = fv_store_ops_since(s, self, ss->next, FV_FRAME_OPS_MAX, collect_op,
	    &u);
	if (rc == FV_ETOOBIG && u.big) {
		fv_frame_ops_abort(&u.o);
		if ((rc = fv_sync_session_send_parts(ss, u.w.p, u.w.len)) == 0)
			ss->next = u.last;
		goto out;
	}
	if (rc == FV_ETOOBIG && u.o.count > 0)
		rc = 0; /* the frame is full: send it */
	if (rc != 0 || u.o.count == 0) {
		fv_frame_ops_abort(&u.o);
		if (rc != 0)
			goto out;
		/* all sent: END */
		ss->sending = 0;
		ss->last_sent = ss->next;
		fv_frame_end(&b, ss->next);
		rc = fv_sync_session_send(ss, &b);
		goto out;
	}
	if ((rc = fv_frame_ops_end(&u.o)) == 0 &&
	    (rc = fv_sync_session_emit(ss, b.p, b.len)) == 0)
		ss->next = u.last;
out:
	fv_buf_free(&b);
	fv_buf_free(&u.w);
	return rc;
}

/* --- frames from HQ ------------------------------------------------------- */

struct pin {
	struct fv_device hq;
	char addr[FV_TOKEN_ADDR_MAX + 1];
};

static int
pin_fn(struct fv_store *s, void *arg)
{
	struct pin *p = arg;
	int rc;

	if ((rc = fv_store_device_put(s, &p->hq)) != 0 ||
	    (rc = fv_store_setting_put(s, "hq_id", "set")) != 0)
		return rc;
	return fv_store_setting_put(s, "hq_addr", p->addr);
}

/* HQ took the enrollment (its first WANT): pin it. */
static int
pin_hq(struct fv_sync_sess *ss)
{
	struct pin p;

	memset(&p, 0, sizeof(p));
	memcpy(p.hq.id, ss->tok->hq_id, FV_ID_BYTES);
	memcpy(p.hq.sign_pk, ss->tok->hq_pk, 32);
	snprintf(p.hq.name, sizeof(p.hq.name), "%s", ss->res.hq);
	snprintf(p.hq.role, sizeof(p.hq.role), "hq");
	snprintf(p.addr, sizeof(p.addr), "%s", ss->tok->addr);
	if (fv_writer_run(ss->d->writer, pin_fn, &p) != 0) {
		fv_sync_field_done(ss, FV_EIO, "could not record HQ");
		return FV_EIO;
	}
	fv_secmem_free(ss->tok);
	ss->tok = NULL;
	fv_log_info("sync: enrolled with HQ '%s'", ss->res.hq);
	return 0;
}

static int
want(struct fv_sync_sess *ss, struct fv_sync_item *it)
{
	struct fv_store_stats st;
	int rc;

	if (ss->tok != NULL && (rc = pin_hq(ss)) != 0)
		return rc;
	/* HQ holds our ops up to want.up: an acknowledgement lost with a
	 * cut session is recovered here */
	fv_store_stats(ss->d->store, &st);
	if (it->f.u.want.up > st.seq)
		return FV_EINVAL; /* ops we never wrote */
	if (fv_sync_apply_now(ss, it) != 0)
		return FV_EIO;
	if (ss->sending || ss->wanted)
		return FV_EINVAL; /* one WANT a session */
	ss->wanted = 1;
	ss->next = it->f.u.want.up;
	ss->sending = 1;
	return fv_sync_session_pump(ss);
}

static int
ack_fn(struct fv_store *s, void *arg)
{
	return fv_store_set_acked(s, *(uint64_t *)arg, fv_hlc_now_ms());
}

/* Written down at most once a second: an acknowledgement lost with a
 * crash comes back in the next session's WANT, and HQ's receipt ends
 * every session with one. */
static int
ack(struct fv_sync_sess *ss, const struct fv_frame *f)
{
	if (f->u.ack.up_to > ss->ack_seen)
		ss->ack_seen = f->u.ack.up_to;
	if (fv_hlc_now_ms() - ss->ack_written < 1000)
		return 0;
	ss->ack_written = fv_hlc_now_ms();
	if (fv_writer_run(ss->d->writer, ack_fn, &ss->ack_seen) != 0)
		return FV_EIO;
	maybe_done(ss);
	return 0;
}

static int
receipt(struct fv_sync_sess *ss, struct fv_sync_item *it)
{
	int rc;

	if ((rc = fv_sync_apply_receipt_ok(ss->d->store, &it->f, ss->hq_pk)) ==
	    FV_ESIG) {
		fv_log_warnx("sync: HQ's receipt does not verify: ignored");
		snprintf(ss->res.why, sizeof(ss->res.why),
		    "HQ's receipt "
		    "does not verify");
		return rc;
	}
	if (rc != 0)
		return rc;
	if ((rc = fv_sync_apply_now(ss, it)) != 0) {
		fv_log_warnx("sync: could not record HQ's receipt: %s",
		    fv_error_str(rc));
		return rc;
	}
	if (it->purged > 0)
		fv_log_info("sync: purged %zu records HQ holds (receipt up to "
			    "%llu); %zu kept",
		    it->purged, (unsigned long long)it->f.u.receipt.up_to,
		    it->kept);
	ss->res.purged = it->purged;
	ss->got_receipt = 1;
	maybe_done(ss);
	return 0;
}

/* A frame other than OPS takes effect. */
int
fv_sync_field_handle(struct fv_sync_sess *ss, struct fv_sync_item *it)
{
	switch (it->f.type) {
	case FV_F_WANT:
		return want(ss, it);
	case FV_F_ACK:
		return ack(ss, &it->f);
	case FV_F_DEVICE:
		return fv_sync_apply_now(ss, it) != 0 ? FV_EIO : 0;
	case FV_F_END:
		if (fv_sync_apply_now(ss, it) != 0)
			return FV_EIO;
		ss->got_end = 1;
		maybe_done(ss);
		return 0;
	case FV_F_RECEIPT:
		return receipt(ss, it);
	case FV_F_ERROR:
		fv_sync_field_done(ss, FV_EUNKNOWN, it->f.u.error.text);
		return FV_EINVAL;
	}
	return FV_EINVAL;
}

/* --- connecting ------------------------------------------------------------ */

static int
hq_of(void *arg, const struct fv_device *d)
{
	if (strcmp(d->role, "hq") != 0)
		return 0;
	memcpy(arg, d, sizeof(*d));
	return 1;
}

/* The HQ pinned at enrollment (the one device of role hq).  FV_ENOTFOUND
 * when not enrolled. */
int
fv_sync_field_pinned_hq(struct fv_store *s, struct fv_device *hq)
{
	int rc;

	if ((rc = fv_store_devices(s, hq_of, hq)) == 1)
		return 0;
	return rc != 0 ? rc : FV_ENOTFOUND;
}

/* Where HQ is, and its key: the token's, or the pinned one's. */
static int
target(struct fv_sync_sess *ss, const char *token, char *addr, size_t len)
{
	struct fv_store *s = ss->d->store;
	struct fv_device hq;
	int rc;

	if (token != NULL) {
		if ((ss->tok = fv_secmem_alloc(sizeof(*ss->tok))) == NULL)
			return FV_ENOMEM;
		if (fv_token_decode(token, ss->tok) != 0)
			return FV_EINVAL;
		memcpy(ss->hq_pk, ss->tok->hq_pk, 32);
		snprintf(addr, len, "%s", ss->tok->addr);
		return 0;
	}
	if ((rc = fv_sync_field_pinned_hq(s, &hq)) != 0)
		return rc; /* not enrolled */
	memcpy(ss->hq_pk, hq.sign_pk, 32);
	if (ss->d->conf->hq[0] != '\0') {
		snprintf(addr, len, "%s", ss->d->conf->hq);
		return 0;
	}
	return fv_store_setting_get(s, "hq_addr", addr, len) != 0 ?
	    FV_ENOTFOUND :
	    0;
}

static int
dial(struct fv_sync_sess *ss, const char *addr)
{
	struct sockaddr_storage sa;
	uint8_t *sk, pk[32];
	int len = sizeof(sa), fd, rc;

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&sa, &len) != 0)
		return FV_EINVAL;
	if ((fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return FV_EIO;
	evutil_make_socket_nonblocking(fd);
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)len) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return FV_EIO;
	}
	if ((sk = fv_secmem_alloc(32)) == NULL ||
	    (rc = fv_store_noise_keys(ss->d->store, sk, pk)) != 0) {
		fv_secmem_free(sk);
		close(fd);
		return sk ? rc : FV_ENOMEM;
	}
	rc = fv_conn_new(ss->d->base, fd, 1, sk, NULL, 0, &fv_sync_session_cbs,
	    ss, &ss->c);
	fv_secmem_free(sk);
	return rc;
}

int
fv_sync_field_connect(struct fvd *d, const char *token, fv_sync_cb cb,
    void *arg)
{
	struct fv_sync_sess *ss;
	char addr[FV_TOKEN_ADDR_MAX + 1];
	int rc;

	if (field_sess != NULL) {
		/* one session at a time: a second asker waits for it */
		if (token != NULL || field_sess->ncb == 8)
			return FV_EBUSY;
		field_sess->cb[field_sess->ncb] = cb;
		field_sess->arg[field_sess->ncb++] = arg;
		return 0;
	}
	if ((ss = fv_sync_session_new(d, 0)) == NULL)
		return FV_ENOMEM;
	ss->cb[0] = cb;
	ss->arg[0] = arg;
	ss->ncb = 1;
	if ((rc = target(ss, token, addr, sizeof(addr))) != 0 ||
	    (ss->start_acked = fv_store_stats_acked(d->store),
		rc = dial(ss, addr)) != 0) {
		fv_sync_session_free(ss);
		return rc;
	}
	field_sess = ss;
	return 0;
}
