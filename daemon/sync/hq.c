/*
 * hq.c - HQ's side of sync: listening, at most HS_MAX handshakes at once,
 * enrollment, what each device may see and its stream down, receipts, and
 * invitations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>
#include <sodium.h>

#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "secmem.h"
#include "session.h"

/* handshakes HQ runs at once: each holds about 1 KiB of the secure
 * memory arena until it completes; more connections wait in the kernel's
 * accept queue */
#define HS_MAX 16

static struct evconnlistener *listener;
static int handshaking, listener_off;

const char *
fv_sync_hq_refusal(int code)
{
	switch (code) {
	case FV_PE_UNKNOWN_DEVICE:
		return "device not enrolled at this HQ";
	case FV_PE_REVOKED:
		return "device revoked";
	case FV_PE_WRONG_KEY:
		return "wrong device key";
	case FV_PE_ENROLL:
		return "enrollment refused: token unknown, "
		       "used or expired, or proof wrong";
	case FV_PE_BAD_SIG:
		return "bad signature on an op";
	case FV_PE_FORK:
		return "fork: two ops with one sequence number";
	case FV_PE_LOCKED:
		return "HQ's store is locked";
	case FV_PE_INTERNAL:
		return "HQ could not store the ops";
	}
	return "protocol error";
}

/* A handshake is over (done or failed): let the next one in. */
void
fv_sync_hq_hs_over(struct fv_sync_sess *ss)
{
	if (!ss->in_hs)
		return;
	ss->in_hs = 0;
	handshaking--;
	if (listener_off && handshaking < HS_MAX && listener != NULL) {
		evconnlistener_enable(listener);
		listener_off = 0;
	}
}

/* --- who is this device ------------------------------------------------ */

struct enroll {
	const struct fv_device *dev;
	const uint8_t *token_id;
	json_t *t;
};

static int
enroll_fn(struct fv_store *s, void *arg)
{
	struct enroll *e = arg;
	int rc;

	if ((rc = fv_store_device_put(s, e->dev)) != 0)
		return rc;
	return fv_store_token_put(s, e->token_id, e->t);
}

/* Enrollment: the token must be known, unused, unexpired, and the device
 * must prove its secret, bound to this handshake.  Sets ss->refuse. */
static void
enroll(struct fv_sync_sess *ss, const struct fv_frame *f,
    const uint8_t id[FV_ID_BYTES], const uint8_t hh[64])
{
	struct fv_device dev;
	struct enroll e;
	uint8_t mac[32], sh[32];
	const char *shex;
	json_t *t = NULL;

	ss->refuse = FV_PE_ENROLL;
	if (fv_store_token_get(ss->d->store, f->u.dev_hello.token_id, &t) != 0)
		return;
	shex = json_string_value(json_object_get(t, "secret_hash"));
	if (shex == NULL ||
	    sodium_hex2bin(sh, 32, shex, strlen(shex), NULL, NULL, NULL) != 0 ||
	    json_is_true(json_object_get(t, "used")) ||
	    json_integer_value(json_object_get(t, "expires")) <
		fv_hlc_now_ms() / 1000)
		goto out;
	fv_token_mac(sh, hh, mac);
	sodium_memzero(sh, sizeof(sh)); /* it enrolls a device */
	if (sodium_memcmp(mac, f->u.dev_hello.mac, 32) != 0)
		goto out;
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.id, id, FV_ID_BYTES);
	memcpy(dev.sign_pk, f->u.dev_hello.pk, 32);
	snprintf(dev.name, sizeof(dev.name), "%s",
	    json_string_value(json_object_get(t, "name")) ?: "device");
	snprintf(dev.role, sizeof(dev.role), "field");
	snprintf(dev.group, sizeof(dev.group), "%s",
	    json_string_value(json_object_get(t, "group")) ?: "");
	json_object_set_new(t, "used", json_true());
	json_object_set_new(t, "device", json_string(f->u.dev_hello.name));
	e.dev = &dev;
	e.token_id = f->u.dev_hello.token_id;
	e.t = t;
	if (fv_writer_run(ss->d->writer, enroll_fn, &e) != 0) {
		ss->refuse = FV_PE_INTERNAL;
		goto out;
	}
	snprintf(ss->peer_name, sizeof(ss->peer_name), "%s", dev.name);
	snprintf(ss->group, sizeof(ss->group), "%s", dev.group);
	fv_log_info("sync: enrolled device '%s'", dev.name);
	ss->refuse = 0;
out:
	json_decref(t);
}

/* The device's DEV_HELLO: its key must be the one the handshake proved,
 * and it must be enrolled (or enroll now).  A refusal is sent once the
 * handshake is over (ss->refuse). */
int
fv_sync_hq_hello(struct fv_sync_sess *ss, const struct fv_frame *f,
    const uint8_t rs[32], const uint8_t hh[64])
{
	struct fv_device dev;
	uint8_t x[32], id[FV_ID_BYTES];
	int rc;

	if (fv_store_x25519_of(f->u.dev_hello.pk, x) != 0 ||
	    sodium_memcmp(x, rs, 32) != 0) {
		ss->refuse = FV_PE_WRONG_KEY;
		return 0;
	}
	crypto_generichash(id, FV_ID_BYTES, f->u.dev_hello.pk, 32, NULL, 0);
	if (memcmp(id, f->u.dev_hello.id, FV_ID_BYTES) != 0) {
		ss->refuse = FV_PE_PROTOCOL;
		return 0;
	}
	memcpy(ss->peer, id, FV_ID_BYTES);
	memcpy(ss->peer_pk, f->u.dev_hello.pk, 32);
	snprintf(ss->peer_name, sizeof(ss->peer_name), "%s",
	    f->u.dev_hello.name);
	if (f->u.dev_hello.enroll) {
		enroll(ss, f, id, hh);
		return 0;
	}
	if ((rc = fv_store_device_get(ss->d->store, id, &dev)) == FV_ENOTFOUND)
		ss->refuse = FV_PE_UNKNOWN_DEVICE;
	else if (rc != 0)
		ss->refuse = rc == FV_ELOCKED ? FV_PE_LOCKED : FV_PE_INTERNAL;
	else if (dev.revoked)
		ss->refuse = FV_PE_REVOKED;
	else if (sodium_memcmp(dev.sign_pk, f->u.dev_hello.pk, 32))
		ss->refuse = FV_PE_WRONG_KEY;
	else {
		snprintf(ss->peer_name, sizeof(ss->peer_name), "%s", dev.name);
		snprintf(ss->group, sizeof(ss->group), "%s", dev.group);
	}
	return 0;
}

void
fv_sync_hq_ready(struct fv_sync_sess *ss)
{
	fv_sync_hq_hs_over(ss);
	if (ss->refuse) {
		fv_log_warnx("sync: refused device '%s': %s", ss->peer_name,
		    fv_sync_hq_refusal(ss->refuse));
		fv_sync_session_error(ss, ss->refuse,
		    fv_sync_hq_refusal(ss->refuse));
		fv_conn_close_after_flush(ss->c);
	}
}

/* --- down: what the device may see ----------------------------------- */

/* May the device see this record?  Its own records, appeals assigned to
 * its group, notes on those; deletes go to every device (they carry no
 * content, and a device that never had the record just keeps a
 * tombstone). */
/* Is st an appeal assigned to group want (as its JSON: "group")? */
static int
assigned(const struct fv_state *st, const char *want)
{
	const struct fv_leaf *f;

	return st->rtype == FV_RTYPE_APPEAL &&
	    (f = fv_state_leaf(st, "assigned_to")) != NULL && f->val != NULL &&
	    f->vallen == strlen(want) && memcmp(f->val, want, f->vallen) == 0;
}

static int
in_scope(struct fv_sync_sess *ss, const struct fv_state *st)
{
	const struct fv_leaf *f;
	struct fv_state a;
	char want[FV_NAME_MAX + 3];
	uint8_t aid[FV_ID_BYTES];
	char hex[2 * FV_ID_BYTES + 1];
	int in = 0;

	if (st->flags & FV_ST_DELETED)
		return 1;
	if (memcmp(st->created_by, ss->peer, FV_ID_BYTES) == 0)
		return 1;
	if (ss->group[0] == '\0')
		return 0;
	snprintf(want, sizeof(want), "\"%s\"", ss->group);
	if (st->rtype == FV_RTYPE_APPEAL)
		return assigned(st, want);
	if ((f = fv_state_leaf(st, "appeal_id")) == NULL || f->val == NULL ||
	    f->vallen != 2 * FV_ID_BYTES + 2)
		return 0;
	memcpy(hex, f->val + 1, 2 * FV_ID_BYTES);
	hex[2 * FV_ID_BYTES] = '\0';
	if (fv_op_id_parse(hex, aid) == 0 &&
	    fv_store_record(ss->d->store, FV_RTYPE_APPEAL, aid, &a, NULL) ==
		0) {
		in = assigned(&a, want);
		fv_state_free(&a);
	}
	return in;
}

struct down {
	struct fv_sync_sess *ss;
	struct fv_frame_ops o;
	struct fv_buf b, w; /* w: one op's wire form */
	int open;
};

static int
down_flush(struct down *dn)
{
	int rc = 0;

	if (dn->open && dn->o.count > 0) {
		if ((rc = fv_frame_ops_end(&dn->o)) == 0)
			rc = fv_sync_session_emit(dn->ss, dn->b.p, dn->b.len);
	} else if (dn->open)
		fv_frame_ops_abort(&dn->o);
	dn->open = 0;
	dn->b.len = 0;
	return rc;
}

/* Before the first op of an author, HQ vouches for the author's key. */
static int
vouch(struct fv_sync_sess *ss, const uint8_t *author)
{
	struct fv_device dev;
	struct fv_buf b = { 0 };
	int i;

	if (memcmp(author, fv_store_info(ss->d->store)->device_id,
		FV_ID_BYTES) == 0)
		return 0; /* HQ itself: pinned at enrollment */
	for (i = 0; i < ss->nvouched; i++)
		if (memcmp(ss->vouched[i].id, author, FV_ID_BYTES) == 0)
			return 0;
	if (fv_store_device_get(ss->d->store, author, &dev) != 0)
		return FV_EUNKNOWN;
	fv_frame_device(&b, dev.id, dev.sign_pk, dev.name);
	if (ss->nvouched < VOUCH_MAX)
		memcpy(ss->vouched[ss->nvouched++].id, author, FV_ID_BYTES);
	return fv_sync_session_send(ss, &b);
}

static int
down_op(void *arg, uint64_t n, const uint8_t *op, size_t len,
    const struct fv_state *st, int again)
{
	struct down *dn = arg;
	struct fv_sync_sess *ss = dn->ss;
	int rc;

	/* the device's own ops only when logged again (it may have purged
	 * the record, which is now assigned to it) */
	if (len < FV_OP_HDR ||
	    (!again && memcmp(op + 3, ss->peer, FV_ID_BYTES) == 0) ||
	    !in_scope(ss, st))
		return 0;
	if ((rc = vouch(ss, op + 3)) != 0)
		return rc;
	if (!dn->open) {
		if ((rc = fv_frame_ops_begin(&dn->o, &dn->b, n)) != 0)
			return rc;
		dn->open = 1;
	}
	dn->w.len = 0;
	if ((rc = fv_op_pack(op, len, &dn->w)) != 0)
		return rc;
	if (dn->w.len > FV_FRAME_OP_MAX) {
		/* too large for any OPS frame: alone, in parts */
		ss->res.down++;
		if ((rc = down_flush(dn)) != 0)
			return rc;
		return fv_sync_session_send_parts(ss, dn->w.p, dn->w.len);
	}
	if ((rc = fv_frame_ops_add(&dn->o, dn->w.p, dn->w.len)) == FV_ETOOBIG) {
		if ((rc = down_flush(dn)) != 0 ||
		    (rc = fv_frame_ops_begin(&dn->o, &dn->b, n)) != 0)
			return rc;
		dn->open = 1;
		rc = fv_frame_ops_add(&dn->o, dn->w.p, dn->w.len);
	}
	ss->res.down++; /* HQ counts what it sent down */
	return rc;
}

/* The next part of what the device may see that arrived after its
 * cursor; at the end of the log, END with the last arrival number looked
 * at. */
int
fv_sync_hq_more(struct fv_sync_sess *ss)
{
	struct down dn;
	uint64_t last;
	int rc;

	memset(&dn, 0, sizeof(dn));
	dn.ss = ss;
	rc = fv_store_arrivals_since(ss->d->store, ss->next, 512, ss->peer,
	    down_op, &dn, &last);
	if (rc == 0)
		rc = down_flush(&dn);
	if (rc == 0 && last == ss->next) {
		ss->sending = 0;
		dn.b.len = 0;
		fv_frame_end(&dn.b, last);
		rc = fv_sync_session_send(ss, &dn.b);
	}
	ss->next = last;
	fv_buf_free(&dn.b);
	fv_buf_free(&dn.w);
	return rc;
}

/* --- frames from the device ---------------------------------------------- */

/* The device's END is durable (every OPS frame before it was applied and
 * committed): a signed receipt for what HQ holds of it. */
static int
receipt(struct fv_sync_sess *ss)
{
	struct fv_buf b = { 0 };
	uint8_t sig[FV_SIG_BYTES];
	uint64_t have, now = (uint64_t)fv_hlc_now_ms();
	int rc;

	if ((rc = fv_store_have_seq(ss->d->store, ss->peer, &have)) != 0 ||
	    (rc = fv_store_sign_receipt(ss->d->store, ss->peer, have, now,
		 ss->group, sig)) != 0)
		return rc;
	fv_frame_receipt(&b, have, now, ss->group, sig);
	return fv_sync_session_send(ss, &b);
}

/* A frame other than OPS takes effect. */
int
fv_sync_hq_handle(struct fv_sync_sess *ss, struct fv_sync_item *it)
{
	const struct fv_frame *f = &it->f;
	struct fv_buf b = { 0 };
	uint64_t have;

	if (ss->refuse)
		return 0; /* the ERROR is on its way out */
	switch (f->type) {
	case FV_F_WANT:
		if (fv_store_have_seq(ss->d->store, ss->peer, &have) != 0)
			have = 0;
		if (ss->wanted)
			return FV_EINVAL; /* one WANT a session */
		ss->wanted = 1;
		if (fv_sync_apply_now(ss, it) != 0)
			fv_log_warnx(
			    "sync: could not note device '%s''s cursor",
			    ss->peer_name);
		fv_frame_want(&b, have, 0);
		if (fv_sync_session_send(ss, &b) != 0)
			return FV_EIO;
		ss->next = f->u.want.down;
		ss->sending = 1;
		return fv_sync_session_pump(ss);
	case FV_F_END:
		fv_log_info("sync: device '%s': %llu ops in", ss->peer_name,
		    (unsigned long long)ss->res.down);
		return receipt(ss);
	}
	return FV_EINVAL;
}

/* --- listening ------------------------------------------------------------- */

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct fvd *d = arg;
	const struct fv_store_info *in = fv_store_info(d->store);
	struct fv_sync_sess *ss;
	struct fv_buf b = { 0 };
	uint8_t *sk, pk[32];

	evutil_make_socket_nonblocking(fd);
	if ((sk = fv_secmem_alloc(32)) == NULL) {
		evutil_closesocket(fd);
		fv_log_warnx("sync: connection refused: out of secure memory");
		return;
	}
	if (fv_store_noise_keys(d->store, sk, pk) != 0 ||
	    (ss = fv_sync_session_new(d, 1)) == NULL) {
		/* locked: no key to answer with */
		fv_secmem_free(sk);
		evutil_closesocket(fd);
		fv_log_warnx("sync: connection refused: store locked");
		return;
	}
	fv_frame_hq_hello(&b, in->device_id, in->name);
	if (b.err ||
	    fv_conn_new(d->base, fd, 0, sk, b.p, b.len, &fv_sync_session_cbs,
		ss, &ss->c) != 0) {
		fv_log_warnx("sync: connection refused: out of %smemory",
		    b.err ? "" : "secure ");
		fv_sync_session_free(ss);
	} else {
		ss->in_hs = 1;
		if (++handshaking >= HS_MAX) {
			evconnlistener_disable(listener);
			listener_off = 1;
		}
	}
	fv_secmem_free(sk);
	fv_buf_free(&b);
}

int
fv_sync_hq_listen(struct fvd *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (d->conf->listen[0] == '\0')
		return 0;
	if (evutil_parse_sockaddr_port(d->conf->listen, (struct sockaddr *)&ss,
		&len) != 0) {
		snprintf(err, errlen, "[sync] listen: '%s' is not IP:PORT",
		    d->conf->listen);
		return FV_EINVAL;
	}
	listener = evconnlistener_new_bind(d->base, accept_cb, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    64, (struct sockaddr *)&ss, len);
	if (listener == NULL) {
		snprintf(err, errlen, "[sync] listen %s: %s", d->conf->listen,
		    strerror(errno));
		return FV_EIO;
	}
	fv_log_info("sync: HQ listening on %s", d->conf->listen);
	return 0;
}

void
fv_sync_hq_stop(void)
{
	if (listener != NULL)
		evconnlistener_free(listener);
	listener = NULL;
}

/* --- invitations ------------------------------------------------------------ */

struct invite {
	const uint8_t *token_id;
	json_t *j;
};

static int
invite_fn(struct fv_store *s, void *arg)
{
	struct invite *iv = arg;

	return fv_store_token_put(s, iv->token_id, iv->j);
}

int
fv_sync_hq_invite(struct fvd *d, const char *name, const char *group,
    long valid_s, char *out, size_t outlen, int64_t *expires)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	struct fv_token *t;
	struct invite iv;
	uint8_t sh[32];
	char hex[65];
	int rc;

	if (d->conf->listen[0] == '\0')
		return FV_EINVAL;
	if ((t = fv_secmem_alloc(sizeof(*t))) == NULL)
		return FV_ENOMEM;
	randombytes_buf(t->token_id, sizeof(t->token_id));
	randombytes_buf(t->secret, sizeof(t->secret));
	t->expires = (uint64_t)(fv_hlc_now_ms() / 1000 + valid_s);
	memcpy(t->hq_id, in->device_id, FV_ID_BYTES);
	memcpy(t->hq_pk, in->sign_pk, 32);
	snprintf(t->addr, sizeof(t->addr), "%s", d->conf->listen);
	fv_token_secret_hash(t->secret, sh);
	sodium_bin2hex(hex, sizeof(hex), sh, 32);
	sodium_memzero(sh, sizeof(sh));
	iv.token_id = t->token_id;
	iv.j = json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", name, "group",
	    group ? group : "", "secret_hash", hex, "expires",
	    (json_int_t)t->expires, "used", 0);
	if (iv.j == NULL)
		rc = FV_ENOMEM;
	else if ((rc = fv_writer_run(d->writer, invite_fn, &iv)) == 0)
		rc = fv_token_encode(t, out, outlen);
	*expires = (int64_t)t->expires;
	json_decref(iv.j);
	sodium_memzero(hex, sizeof(hex));
	fv_secmem_free(t);
	return rc;
}
