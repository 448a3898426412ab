/*
 * sync.c - the sessions of docs/protocol.md §4 on top of conn.c.
 *
 * Both sides stream what the other lacks (the device its own ops, HQ the
 * ops the device may see), a frame at a time while less than SYNC_WINDOW
 * bytes wait to be written: a session never queues a whole backlog, and a
 * slow peer holds only its own connection.  Received frames are applied
 * one transaction each and acknowledged; once the device's END is durable,
 * HQ signs a receipt, on which a device with retention = purge_after_sync
 * purges what HQ holds and does not assign back to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "bundle.h"
#include "conn.h"
#include "frame.h"
#include "fv_error.h"
#include "hlc.h"
#include "log.h"
#include "par.h"
#include "secmem.h"
#include "store.h"
#include "sync.h"
#include "token.h"
#include "verify.h"

/*
 * A frame received and not yet taken into effect.  An OPS frame waits for
 * its signatures to be checked on the verifier thread (verify.h) while the
 * loop applies the one before; every frame after one that waits, waits
 * too, so frames take effect in the order they came.  At most in_cap() wait
 * per session: then the session stops reading and TCP holds the sender.
 */
#define IN_MAX		64	/* frames waiting in one session, at most */
#define IN_ALL		256	/* ... in all sessions (16 MiB), roughly */
#define GROUP_MIN	8	/* frames worth waiting for, to commit once */
#define GROUP_OPS	256	/* ops in one commit, at most: LMDB keeps a
				 * transaction's pages in memory, and
				 * the file's pages it read stay mapped
				 * until the commit */
struct item {
	struct fv_vjob	 job;		/* first: a job is its item */
	TAILQ_ENTRY(item) entry;
	struct sess	*ss;
	int		 ready;		/* checked (or nothing to check) */
	int		 in_verifier;
	size_t		 len;
	uint8_t		*frame;		/* a copy */
	struct fv_buf	 ops;		/* its ops, unpacked (op.h) */
	uint8_t		(*keys)[32];	/* the key each op is checked under */
};
TAILQ_HEAD(items, item);

struct sess {
	LIST_ENTRY(sess)	 entry;		/* every live session */
	struct fvd		*d;
	struct fv_conn		*c;
	int			 hq;		/* our side */
	uint8_t			 peer[FV_ID_BYTES];
	char			 peer_name[FV_NAME_MAX + 1];
	char			 group[FV_NAME_MAX + 1];	/* HQ: the device's */
	uint8_t			 vouched[64][FV_ID_BYTES];	/* HQ: DEVICE sent */
	int			 nvouched;
	int			 refuse;	/* HQ: ERROR code to send */
	char			 refuse_why[FV_FRAME_TEXT_MAX + 1];
	/* field side */
	struct fv_token		*tok;		/* secmem, when enrolling */
	uint8_t			 hq_pk[32];	/* pinned (Ed25519) */
	uint64_t		 start_acked, last_sent;
	int			 got_end, got_receipt, done, wanted;
	uint64_t		 ack_seen;	/* the last ACK, maybe unwritten */
	int64_t			 ack_written;	/* when one was last written */
	/* sending, paced by what waits in the connection (both sides) */
	int			 sending;	/* more to send */
	uint64_t		 next;		/* field: the last seq queued;
						 * HQ: the last arrival looked
						 * at */
	uint8_t			 peer_pk[32];	/* HQ: the device's Ed25519 */
	int			 in_hs;		/* HQ: counted in handshaking */
	struct fv_buf		*sink;		/* making a bundle: frames go
						 * here, not to a peer */
	struct items		 inq;		/* frames waiting, in order */
	struct fv_buf		 big;		/* an op coming in OP_PARTs */
	uint32_t		 big_total;
	int			 nin;
	fv_sync_cb		 cb[8];		/* whoever waits for it */
	void			*arg[8];
	int			 ncb;
	struct fv_sync_result	 res;
};

/* bytes a session lets wait in its connection before it reads more from
 * the store */
#define SYNC_WINDOW	(1u << 20)

/* handshakes HQ runs at once: each holds about 1 KiB of the secure
 * memory arena until it completes; more connections wait in the kernel's
 * accept queue */
#define HS_MAX		16

static struct evconnlistener *listener;
static int handshaking, listener_off;
static struct sess *field_sess;
static LIST_HEAD(, sess) sessions = LIST_HEAD_INITIALIZER(sessions);

static int nsess;			/* live sessions */

/* How many frames a session may keep waiting: many for one device (the
 * verifier threads run ahead), few each when many devices sync at once. */
static int
in_cap(void)
{
	int cap = IN_ALL / (nsess > 0 ? nsess : 1);

	return cap < 4 ? 4 : cap > IN_MAX ? IN_MAX : cap;
}

static struct sess *
sess_new(struct fvd *d)
{
	struct sess *ss = calloc(1, sizeof(*ss));

	if (ss != NULL) {
		ss->d = d;
		TAILQ_INIT(&ss->inq);
		nsess++;
		LIST_INSERT_HEAD(&sessions, ss, entry);
	}
	return ss;
}

/* One frame out: to the peer, or into the bundle being made. */
static int
emit(struct sess *ss, const uint8_t *p, size_t len)
{
	if (ss->sink != NULL)
		return fv_bundle_add(ss->sink, p, len);
	return fv_conn_send(ss->c, p, len);
}

static int
send_buf(struct sess *ss, struct fv_buf *b)
{
	int rc = b->err ? b->err : emit(ss, b->p, b->len);

	fv_buf_free(b);
	return rc;
}

static void
send_error(struct sess *ss, int code, const char *why)
{
	struct fv_buf b = { 0 };

	fv_frame_error(&b, (uint16_t)code, why);
	send_buf(ss, &b);
}

/* Field: the session is over; tell whoever asked. */
static void
field_done(struct sess *ss, int rc, const char *why)
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

static void item_checked(struct fv_vjob *, void *);
static void flush_soon(struct fvd *);
static void flush_cb(evutil_socket_t, short, void *);
static uint64_t hq_down_of(struct fv_store *, const uint8_t *);
static int hq_set_down_of(struct fv_store *, const uint8_t *, uint64_t);

static int
note_down(struct sess *ss, void *arg)
{
	return hq_set_down_of(ss->d->store, ss->peer, *(uint64_t *)arg);
}
static int send_parts(struct sess *, const uint8_t *, size_t);
static struct item *item_make(struct sess *, const uint8_t *, size_t, int,
    int *);

static void
item_free(struct item *it)
{
	if (it == NULL)
		return;
	if (it->frame != NULL) {
		sodium_memzero(it->frame, it->len);	/* record content */
		free(it->frame);
	}
	fv_buf_free(&it->ops);
	free(it->job.op);
	free(it);
}

static void
item_free_job(struct fv_vjob *j)
{
	item_free((struct item *)j);
}

/* HQ: a handshake is over (done or failed): let the next one in. */
static void
hs_over(struct sess *ss)
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

static void
sess_free(struct sess *ss)
{
	struct item *it;

	hs_over(ss);
	while ((it = TAILQ_FIRST(&ss->inq)) != NULL) {
		TAILQ_REMOVE(&ss->inq, it, entry);
		if (it->in_verifier)
			fv_verify_cancel(&it->job, item_free_job);
		else
			item_free(it);
	}
	fv_buf_free(&ss->big);
	nsess--;
	LIST_REMOVE(ss, entry);
	if (ss == field_sess)
		field_sess = NULL;
	fv_secmem_free(ss->tok);
	free(ss);
}

/* --- HQ ------------------------------------------------------------------- */

static int
hq_check_device(struct sess *ss, const struct fv_frame *f,
    const uint8_t rs[32], const uint8_t hh[64])
{
	const struct fv_frame *fr = f;
	struct fv_store *s = ss->d->store;
	struct fv_device dev;
	uint8_t x[32], id[FV_ID_BYTES], mac[32], sh[32];
	const char *shex;
	json_t *t = NULL;
	int rc;

	if (fv_store_x25519_of(fr->u.dev_hello.pk, x) != 0 ||
	    sodium_memcmp(x, rs, 32) != 0) {
		ss->refuse = FV_PE_WRONG_KEY;
		return 0;
	}
	crypto_generichash(id, FV_ID_BYTES, fr->u.dev_hello.pk, 32, NULL, 0);
	if (memcmp(id, fr->u.dev_hello.id, FV_ID_BYTES) != 0) {
		ss->refuse = FV_PE_PROTOCOL;
		return 0;
	}
	memcpy(ss->peer, id, FV_ID_BYTES);
	memcpy(ss->peer_pk, fr->u.dev_hello.pk, 32);
	snprintf(ss->peer_name, sizeof(ss->peer_name), "%s",
	    fr->u.dev_hello.name);
	if (!fr->u.dev_hello.enroll) {
		if ((rc = fv_store_device_get(s, id, &dev)) == FV_ENOTFOUND)
			ss->refuse = FV_PE_UNKNOWN_DEVICE;
		else if (rc != 0)
			ss->refuse = rc == FV_ELOCKED ? FV_PE_LOCKED :
			    FV_PE_INTERNAL;
		else if (dev.revoked)
			ss->refuse = FV_PE_REVOKED;
		else if (sodium_memcmp(dev.sign_pk, fr->u.dev_hello.pk, 32))
			ss->refuse = FV_PE_WRONG_KEY;
		else {
			snprintf(ss->peer_name, sizeof(ss->peer_name), "%s",
			    dev.name);
			snprintf(ss->group, sizeof(ss->group), "%s",
			    dev.group);
		}
		return 0;
	}
	/* enrollment: the token must be known, unused, unexpired, and the
	 * device must prove its secret, bound to this handshake */
	ss->refuse = FV_PE_ENROLL;
	if (fv_store_token_get(s, fr->u.dev_hello.token_id, &t) != 0)
		return 0;
	shex = json_string_value(json_object_get(t, "secret_hash"));
	if (shex == NULL || sodium_hex2bin(sh, 32, shex, strlen(shex), NULL,
	    NULL, NULL) != 0 || json_is_true(json_object_get(t, "used")) ||
	    json_integer_value(json_object_get(t, "expires")) <
	    fv_now_ms() / 1000)
		goto out;
	fv_token_mac(sh, hh, mac);
	sodium_memzero(sh, sizeof(sh));		/* it enrolls a device */
	if (sodium_memcmp(mac, fr->u.dev_hello.mac, 32) != 0)
		goto out;
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.id, id, FV_ID_BYTES);
	memcpy(dev.sign_pk, fr->u.dev_hello.pk, 32);
	snprintf(dev.name, sizeof(dev.name), "%s",
	    json_string_value(json_object_get(t, "name")) ?: "device");
	snprintf(dev.role, sizeof(dev.role), "field");
	snprintf(dev.group, sizeof(dev.group), "%s",
	    json_string_value(json_object_get(t, "group")) ?: "");
	json_object_set_new(t, "used", json_true());
	json_object_set_new(t, "device", json_string(fr->u.dev_hello.name));
	if (fv_store_begin(s) != 0)
		goto out;
	if (fv_store_device_put(s, &dev) != 0 ||
	    fv_store_token_put(s, fr->u.dev_hello.token_id, t) != 0 ||
	    fv_store_commit(s) != 0) {
		fv_store_abort(s);
		ss->refuse = FV_PE_INTERNAL;
		goto out;
	}
	snprintf(ss->peer_name, sizeof(ss->peer_name), "%s", dev.name);
	snprintf(ss->group, sizeof(ss->group), "%s", dev.group);
	log_info("sync: enrolled device '%s'", dev.name);
	ss->refuse = 0;
out:
	json_decref(t);
	return 0;
}

static const char *
pe_text(int code)
{
	switch (code) {
	case FV_PE_UNKNOWN_DEVICE: return "device not enrolled at this HQ";
	case FV_PE_REVOKED:	return "device revoked";
	case FV_PE_WRONG_KEY:	return "wrong device key";
	case FV_PE_ENROLL:	return "enrollment refused: token unknown, "
				    "used or expired, or proof wrong";
	case FV_PE_BAD_SIG:	return "bad signature on an op";
	case FV_PE_FORK:	return "fork: two ops with one sequence number";
	case FV_PE_LOCKED:	return "HQ's store is locked";
	case FV_PE_INTERNAL:	return "HQ could not store the ops";
	}
	return "protocol error";
}

/* The key op i of an item was checked under, if it verified. */
static const uint8_t *
checked(const struct item *it, size_t i)
{
	return it != NULL && i < it->job.n && it->job.ok[i] ?
	    it->job.pk[i] : NULL;
}

/* Runs fn(ss, arg) in a write transaction and commits it; when the map
 * fills, grows it and runs fn again (fn keeps its effects outside the
 * store for after the commit). */
static int
in_txn(struct sess *ss, int (*fn)(struct sess *, void *), void *arg)
{
	struct fv_store *s = ss->d->store;
	int rc, grown = 0;

	for (;;) {
		if ((rc = fv_store_begin(s)) != 0)
			return rc;
		if ((rc = fn(ss, arg)) == 0)
			rc = fv_store_commit(s);
		else
			fv_store_abort(s);
		if (rc != FV_EMAPFULL)
			return rc;
		if (grown++ == 8 || fv_store_grow(s) != 0)
			return FV_ENOSPC;
		log_info("sync: store map grown");
	}
}

/* The ops of consecutive OPS frames (items), in one transaction: one
 * commit for what arrived while the last was being written. */
struct batch {
	struct item	**its;
	int		  nits;
	uint64_t	  last;		/* up: the last seq */
	int		  n;		/* applied (not seen before) */
};

static int
apply_batch(struct sess *ss, void *arg)
{
	struct batch *bt = arg;
	const struct fv_vjob *j;
	size_t i;
	int rc, applied, k;

	bt->n = 0;
	for (k = 0; k < bt->nits; k++) {
		j = &bt->its[k]->job;
		for (i = 0; i < j->n; i++) {
			/* up: only the device's own ops */
			if (ss->hq && (j->len[i] < FV_OP_HDR || memcmp(
			    j->op[i] + 3, ss->peer, FV_ID_BYTES) != 0))
				return FV_EINVAL;
			if ((rc = fv_store_apply_checked(ss->d->store,
			    j->op[i], j->len[i], checked(bt->its[k], i),
			    &applied)) != 0)
				return rc;
			bt->last = fv_get_u64(j->op[i] + 3 + FV_ID_BYTES);
			bt->n += applied;
		}
	}
	return 0;
}

/* HQ: may the device see this record?  Its own records, appeals assigned
 * to its group, notes on those; deletes go to every device (they carry no
 * content, and a device that never had the record just keeps a
 * tombstone). */
static int
in_scope(struct sess *ss, const struct fv_state *st)
{
	const struct fv_leaf *f;
	char want[FV_NAME_MAX + 3];
	json_t *a = NULL;
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
		return (f = fv_state_leaf(st, "assigned_to")) != NULL &&
		    f->val != NULL && f->vallen == strlen(want) &&
		    memcmp(f->val, want, f->vallen) == 0;
	if ((f = fv_state_leaf(st, "appeal_id")) == NULL || f->val == NULL ||
	    f->vallen != 2 * FV_ID_BYTES + 2)
		return 0;
	memcpy(hex, f->val + 1, 2 * FV_ID_BYTES);
	hex[2 * FV_ID_BYTES] = '\0';
	if (fv_id_parse(hex, aid) == 0 && fv_store_get(ss->d->store,
	    FV_RTYPE_APPEAL, aid, &a) == 0)
		in = strcmp(json_string_value(json_object_get(a,
		    "assigned_to")) ?: "", ss->group) == 0;
	json_decref(a);
	return in;
}

struct down {
	struct sess		*ss;
	struct fv_frame_ops	 o;
	struct fv_buf		 b, w;		/* w: one op's wire form */
	int			 open, rc;
};

static int
down_flush(struct down *dn)
{
	int rc = 0;

	if (dn->open && dn->o.count > 0) {
		if ((rc = fv_frame_ops_end(&dn->o)) == 0)
			rc = emit(dn->ss, dn->b.p, dn->b.len);
	} else if (dn->open)
		fv_frame_ops_abort(&dn->o);
	dn->open = 0;
	dn->b.len = 0;
	return rc;
}

/* Before the first op of an author, HQ vouches for the author's key. */
static int
vouch(struct sess *ss, const uint8_t *author)
{
	struct fv_device dev;
	struct fv_buf b = { 0 };
	int i;

	if (memcmp(author, fv_store_info(ss->d->store)->device_id,
	    FV_ID_BYTES) == 0)
		return 0;		/* HQ itself: pinned at enrollment */
	for (i = 0; i < ss->nvouched; i++)
		if (memcmp(ss->vouched[i], author, FV_ID_BYTES) == 0)
			return 0;
	if (fv_store_device_get(ss->d->store, author, &dev) != 0)
		return FV_EUNKNOWN;
	fv_frame_device(&b, dev.id, dev.sign_pk, dev.name);
	if (ss->nvouched < 64)
		memcpy(ss->vouched[ss->nvouched++], author, FV_ID_BYTES);
	return send_buf(ss, &b);
}

static int
down_op(void *arg, uint64_t n, const uint8_t *op, size_t len,
    const struct fv_state *st, int again)
{
	struct down *dn = arg;
	struct sess *ss = dn->ss;
	int rc;

	/* the device's own ops only when logged again (it may have purged
	 * the record, which is now assigned to it) */
	if (len < FV_OP_HDR || (!again && memcmp(op + 3, ss->peer,
	    FV_ID_BYTES) == 0) || !in_scope(ss, st))
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
		return send_parts(ss, dn->w.p, dn->w.len);
	}
	if ((rc = fv_frame_ops_add(&dn->o, dn->w.p, dn->w.len)) ==
	    FV_ETOOBIG) {
		if ((rc = down_flush(dn)) != 0 ||
		    (rc = fv_frame_ops_begin(&dn->o, &dn->b, n)) != 0)
			return rc;
		dn->open = 1;
		rc = fv_frame_ops_add(&dn->o, dn->w.p, dn->w.len);
	}
	ss->res.down++;		/* HQ counts what it sent down */
	return rc;
}

/* HQ: the next part of what the device may see that arrived after its
 * cursor; at the end of the log, END with the last arrival number looked
 * at. */
static int
down_more(struct sess *ss)
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
		rc = send_buf(ss, &dn.b);
	}
	ss->next = last;
	fv_buf_free(&dn.b);
	fv_buf_free(&dn.w);
	return rc;
}

/* --- both sides ------------------------------------------------------------ */

static int
hello_cb(struct fv_conn *c, const uint8_t *p, size_t len, const uint8_t rs[32],
    const uint8_t hh[64], uint8_t *reply, size_t *replylen, void *arg)
{
	struct sess *ss = arg;
	struct fv_frame f;
	struct fv_buf b = { 0 };
	uint8_t x[32], mac[32], sh[32];
	const struct fv_store_info *in = fv_store_info(ss->d->store);

	if (fv_frame_decode(p, len, &f) != 0)
		return FV_EINVAL;
	if (ss->hq)
		return f.type == FV_F_DEV_HELLO ? hq_check_device(ss, &f, rs,
		    hh) : FV_EINVAL;
	/* field: is this the HQ we pinned (or the token names)? */
	if (f.type != FV_F_HQ_HELLO || fv_store_x25519_of(ss->hq_pk, x) != 0 ||
	    sodium_memcmp(x, rs, 32) != 0) {
		snprintf(ss->res.why, sizeof(ss->res.why), "HQ's key is not "
		    "the one this device pinned");
		return FV_EUNKNOWN;
	}
	memcpy(ss->peer, f.u.hello.id, FV_ID_BYTES);
	snprintf(ss->res.hq, sizeof(ss->res.hq), "%s", f.u.hello.name);
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

/* Field: how far down HQ's arrival log this device has applied. */
static uint64_t
down_cursor(struct fv_store *s)
{
	char v[32];

	return fv_store_setting_get(s, "down", v, sizeof(v)) == 0 ?
	    strtoull(v, NULL, 10) : 0;
}

/* Field: ops from HQ (its own, or other devices' it vouched for), one
 * transaction per frame. */
static int
field_ops(struct sess *ss, struct batch *bt)
{
	int rc;

	if ((rc = in_txn(ss, apply_batch, bt)) != 0) {
		log_warnx("sync: op from HQ refused: %s", fv_strerror(rc));
		return rc;
	}
	ss->res.down += (uint64_t)bt->n;
	return 0;
}

/* Field: OPS frames from HQ that have waited, applied together (HQ's go
 * through its committer, flush_cb()); non-zero closes. */
static int
ops_batch(struct sess *ss, struct item **its, int n)
{
	struct batch bt = { its, n, 0, 0 };

	return field_ops(ss, &bt) == 0 ? 0 : FV_EINVAL;
}

static void
ready_cb(struct fv_conn *c, void *arg)
{
	struct sess *ss = arg;
	struct fv_buf b = { 0 };

	if (ss->hq) {
		hs_over(ss);
		if (ss->refuse) {
			log_warnx("sync: refused device '%s': %s",
			    ss->peer_name, pe_text(ss->refuse));
			send_error(ss, ss->refuse, pe_text(ss->refuse));
			fv_conn_close_after_flush(c);
		}
		return;
	}
	fv_frame_want(&b, 0, down_cursor(ss->d->store));
	send_buf(ss, &b);
}

/* Field: every own op HQ lacks, in OPS frames, then END. */
struct upframe {
	struct fv_frame_ops	 o;
	struct fv_buf		 w;		/* one op's wire form */
	int			 big;		/* w is one too large a op */
	uint64_t		 last;		/* seq of the last op added */
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
			return FV_ETOOBIG;	/* after this frame */
		u->big = 1;
		u->last = seq;
		return FV_ETOOBIG;
	}
	rc = fv_frame_ops_add(&u->o, u->w.p, u->w.len);

	if (rc == 0)
		u->last = seq;
	return rc;
}

static int
up_more(struct sess *ss)
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
	rc = fv_store_ops_since(s, self, ss->next, FV_FRAME_OPS_MAX,
	    collect_op, &u);
	if (rc == FV_ETOOBIG && u.big) {
		fv_frame_ops_abort(&u.o);
		if ((rc = send_parts(ss, u.w.p, u.w.len)) == 0)
			ss->next = u.last;
		goto out;
	}
	if (rc == FV_ETOOBIG && u.o.count > 0)
		rc = 0;			/* the frame is full: send it */
	if (rc != 0 || u.o.count == 0) {
		fv_frame_ops_abort(&u.o);
		if (rc != 0)
			goto out;
		/* all sent: END */
		ss->sending = 0;
		ss->last_sent = ss->next;
		fv_frame_end(&b, ss->next);
		rc = send_buf(ss, &b);
		goto out;
	}
	if ((rc = fv_frame_ops_end(&u.o)) == 0 &&
	    (rc = emit(ss, b.p, b.len)) == 0)
		ss->next = u.last;
out:
	fv_buf_free(&b);
	fv_buf_free(&u.w);
	return rc;
}

/* Both sides: an op no OPS frame can carry, in OP_PART frames (at most
 * FV_OP_MAX bytes: sent whole, past the window). */
static int
send_parts(struct sess *ss, const uint8_t *w, size_t len)
{
	struct fv_buf b = { 0 };
	size_t off, n;
	int rc = 0;

	for (off = 0; rc == 0 && off < len; off += n) {
		n = len - off < FV_FRAME_PART_MAX ? len - off :
		    FV_FRAME_PART_MAX;
		b.len = 0;
		if ((rc = fv_frame_op_part(&b, (uint32_t)len, (uint32_t)off,
		    w + off, n)) == 0)
			rc = emit(ss, b.p, b.len);
	}
	fv_buf_free(&b);
	return rc;
}

/* Both sides: queue what there is to send while little waits to be
 * written; called again when it has drained. */
static int
pump(struct sess *ss)
{
	int rc = 0;

	while (rc == 0 && ss->sending && (ss->sink != NULL ||
	    fv_conn_queued(ss->c) < SYNC_WINDOW))
		rc = ss->hq ? down_more(ss) : up_more(ss);
	return rc;
}

static int
drained_cb(struct fv_conn *c, void *arg)
{
	return pump(arg);
}

/* Field: over once everything is sent, HQ has said END, and its receipt
 * covers everything sent up. */
static void
field_maybe_done(struct sess *ss)
{
	if (!ss->sending && ss->got_end && ss->got_receipt &&
	    fv_store_stats_acked(ss->d->store) >= ss->last_sent) {
		field_done(ss, 0, NULL);
		fv_conn_close_after_flush(ss->c);
	}
}

/* HQ: the device's END is durable (every OPS frame before it was
 * applied and committed): a signed receipt for what HQ holds of it. */
static int
hq_receipt(struct sess *ss)
{
	struct fv_buf b = { 0 };
	uint8_t sig[FV_SIG_BYTES];
	uint64_t have, now = (uint64_t)fv_now_ms();
	int rc;

	if ((rc = fv_store_have_seq(ss->d->store, ss->peer, &have)) != 0 ||
	    (rc = fv_store_sign_receipt(ss->d->store, ss->peer, have, now,
	    ss->group, sig)) != 0)
		return rc;
	fv_frame_receipt(&b, have, now, ss->group, sig);
	return send_buf(ss, &b);
}

/* Field: what a receipt changes, in one transaction. */
struct rcpt {
	const struct fv_frame	*f;
	size_t			 purged, kept;
};

static int
take_receipt(struct sess *ss, void *arg)
{
	struct rcpt *r = arg;
	const struct fv_frame *f = r->f;
	struct fv_store *s = ss->d->store;
	char v[64], n[32];
	int rc;

	r->purged = r->kept = 0;
	snprintf(v, sizeof(v), "%llu %llu", (unsigned long long)
	    f->u.receipt.up_to, (unsigned long long)f->u.receipt.hlc);
	if ((rc = fv_store_set_acked(s, f->u.receipt.up_to, fv_now_ms())) ||
	    (rc = fv_store_setting_put(s, "receipt", v)) ||
	    (rc = fv_store_setting_put(s, "group", f->u.receipt.group)))
		return rc;
	if (!ss->d->conf->purge_after_sync)
		return 0;
	if ((rc = fv_store_purge(s, f->u.receipt.up_to, f->u.receipt.group,
	    &r->purged, &r->kept)) != 0)
		return rc;
	/* the running total, for status */
	if (fv_store_setting_get(s, "purged", n, sizeof(n)) != 0)
		n[0] = '\0';
	snprintf(n, sizeof(n), "%llu", strtoull(n, NULL, 10) +
	    (unsigned long long)r->purged);
	return fv_store_setting_put(s, "purged", n);
}

/* Field: HQ's receipt, checked against the key pinned at enrollment, is
 * the only thing a purge may rest on. */
static int
field_receipt(struct sess *ss, const struct fv_frame *f)
{
	struct fv_store *s = ss->d->store;
	struct fv_store_stats st;
	struct rcpt r = { f, 0, 0 };
	int rc;

	if (fv_receipt_verify(f->u.receipt.sig, fv_store_info(s)->device_id,
	    f->u.receipt.up_to, f->u.receipt.hlc, f->u.receipt.group,
	    ss->hq_pk) != 0) {
		log_warnx("sync: HQ's receipt does not verify: ignored");
		snprintf(ss->res.why, sizeof(ss->res.why), "HQ's receipt "
		    "does not verify");
		return FV_ESIG;
	}
	fv_store_stats(s, &st);
	if (f->u.receipt.up_to > st.seq)
		return FV_EINVAL;		/* ops we never wrote */
	if ((rc = in_txn(ss, take_receipt, &r)) != 0) {
		log_warnx("sync: could not record HQ's receipt: %s",
		    fv_strerror(rc));
		return rc;
	}
	if (r.purged > 0)
		log_info("sync: purged %zu records HQ holds (receipt up to "
		    "%llu); %zu kept", r.purged, (unsigned long long)
		    f->u.receipt.up_to, r.kept);
	ss->res.purged = r.purged;
	ss->got_receipt = 1;
	field_maybe_done(ss);
	return 0;
}

/* A frame other than OPS takes effect. */
static int
handle(struct sess *ss, const struct fv_frame *fp)
{
	struct fv_store *s = ss->d->store;
	struct fv_frame f = *fp;
	struct fv_buf b = { 0 };
	uint64_t have;

	if (ss->hq) {
		if (ss->refuse)
			return 0;	/* the ERROR is on its way out */
		switch (f.type) {
		case FV_F_WANT:
			if (fv_store_have_seq(s, ss->peer, &have) != 0)
				have = 0;
			if (ss->wanted)
				return FV_EINVAL;	/* one WANT a session */
			ss->wanted = 1;
			/* where the device's down cursor is, for bundles */
			if (f.u.want.down > hq_down_of(s, ss->peer) &&
			    in_txn(ss, note_down, &f.u.want.down) != 0)
				log_warnx("sync: could not note device '%s''s "
				    "cursor", ss->peer_name);
			fv_frame_want(&b, have, 0);
			if (send_buf(ss, &b) != 0)
				return FV_EIO;
			ss->next = f.u.want.down;
			ss->sending = 1;
			return pump(ss);
		case FV_F_OPS:
			return FV_EINVAL;	/* they wait: run_queue() */
		case FV_F_END:
			log_info("sync: device '%s': %llu ops in",
			    ss->peer_name, (unsigned long long)ss->res.down);
			return hq_receipt(ss);
		}
		return FV_EINVAL;
	}
	switch (f.type) {
	case FV_F_WANT:
		if (ss->tok != NULL) {
			/* HQ took the enrollment: pin it */
			struct fv_device hq;
			char addr[FV_TOKEN_ADDR_MAX + 1];

			memset(&hq, 0, sizeof(hq));
			memcpy(hq.id, ss->tok->hq_id, FV_ID_BYTES);
			memcpy(hq.sign_pk, ss->tok->hq_pk, 32);
			snprintf(hq.name, sizeof(hq.name), "%s", ss->res.hq);
			snprintf(hq.role, sizeof(hq.role), "hq");
			snprintf(addr, sizeof(addr), "%s", ss->tok->addr);
			if (fv_store_begin(s) != 0 ||
			    fv_store_device_put(s, &hq) != 0 ||
			    fv_store_setting_put(s, "hq_id", "set") != 0 ||
			    fv_store_setting_put(s, "hq_addr", addr) != 0 ||
			    fv_store_commit(s) != 0) {
				fv_store_abort(s);
				field_done(ss, FV_EIO, "could not record HQ");
				return FV_EIO;
			}
			fv_secmem_free(ss->tok);
			ss->tok = NULL;
			log_info("sync: enrolled with HQ '%s'", ss->res.hq);
		}
		/* HQ holds our ops up to want.up: an acknowledgement lost
		 * with a cut session is recovered here */
		{
			struct fv_store_stats st;

			fv_store_stats(s, &st);
			if (f.u.want.up > st.seq)
				return FV_EINVAL;	/* ops we never wrote */
		}
		if (f.u.want.up > fv_store_stats_acked(s) &&
		    (fv_store_begin(s) != 0 ||
		    fv_store_set_acked(s, f.u.want.up, fv_now_ms()) != 0 ||
		    fv_store_commit(s) != 0)) {
			fv_store_abort(s);
			return FV_EIO;
		}
		if (ss->sending || ss->wanted)
			return FV_EINVAL;	/* one WANT a session */
		ss->wanted = 1;
		ss->next = f.u.want.up;
		ss->sending = 1;
		return pump(ss);
	case FV_F_ACK:
		/* written down at most once a second: an acknowledgement
		 * lost with a crash comes back in the next session's WANT,
		 * and HQ's receipt ends every session with one */
		if (f.u.ack.up_to > ss->ack_seen)
			ss->ack_seen = f.u.ack.up_to;
		if (fv_now_ms() - ss->ack_written < 1000)
			return 0;
		ss->ack_written = fv_now_ms();
		if (fv_store_begin(s) != 0 ||
		    fv_store_set_acked(s, ss->ack_seen, fv_now_ms()) != 0 ||
		    fv_store_commit(s) != 0) {
			fv_store_abort(s);
			return FV_EIO;
		}
		field_maybe_done(ss);
		return 0;
	case FV_F_DEVICE: {
		struct fv_device dev, known;
		uint8_t id[FV_ID_BYTES];

		/* HQ vouches for another device of the group: its key must
		 * hash to its id, and a key once known is not replaced */
		crypto_generichash(id, FV_ID_BYTES, f.u.device.pk, 32, NULL, 0);
		if (memcmp(id, f.u.device.id, FV_ID_BYTES) != 0)
			return FV_EINVAL;
		if (fv_store_device_get(s, id, &known) == 0)
			return 0;
		memset(&dev, 0, sizeof(dev));
		memcpy(dev.id, id, FV_ID_BYTES);
		memcpy(dev.sign_pk, f.u.device.pk, 32);
		snprintf(dev.name, sizeof(dev.name), "%s", f.u.device.name);
		snprintf(dev.role, sizeof(dev.role), "field");
		if (fv_store_begin(s) != 0 || fv_store_device_put(s, &dev) !=
		    0 || fv_store_commit(s) != 0) {
			fv_store_abort(s);
			return FV_EIO;
		}
		return 0;
	}
	case FV_F_OPS:
		return FV_EINVAL;		/* they wait: run_queue() */
	case FV_F_END: {
		char v[32];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)
		    f.u.end.last);
		if (fv_store_begin(s) != 0 ||
		    fv_store_setting_put(s, "down", v) != 0 ||
		    fv_store_commit(s) != 0) {
			fv_store_abort(s);
			return FV_EIO;
		}
		ss->got_end = 1;
		field_maybe_done(ss);
		return 0;
	}
	case FV_F_RECEIPT:
		return field_receipt(ss, &f);
	case FV_F_ERROR:
		field_done(ss, FV_EUNKNOWN, f.u.error.text);
		return FV_EINVAL;
	}
	return FV_EINVAL;
}

/* The Ed25519 key the store will check op (len bytes) against: the
 * device's own up, the author's as enrolled or vouched for down.  NULL
 * when there is none (the store refuses the op then). */
static const uint8_t *
key_for(struct sess *ss, const uint8_t *op, size_t len, uint8_t out[32])
{
	struct fv_device dev;

	if (len < FV_OP_HDR)
		return NULL;
	if (ss->hq) {
		/* a copy: the session may end while a thread reads it */
		if (memcmp(op + 3, ss->peer, FV_ID_BYTES) != 0)
			return NULL;
		memcpy(out, ss->peer_pk, 32);
		return out;
	}
	if (fv_store_device_get(ss->d->store, op + 3, &dev) != 0 ||
	    dev.revoked)
		return NULL;
	memcpy(out, dev.sign_pk, 32);
	return out;
}

/* A copy of a frame that must wait; an OPS frame gets its job, its ops
 * unpacked.  whole: p is one op (put together from OP_PART frames), not a
 * frame.  NULL, with *rc FV_ENOMEM or FV_EINVAL (an op that does not
 * unpack). */
static struct item *
item_make(struct sess *ss, const uint8_t *p, size_t len, int whole, int *rc)
{
	struct item *it = calloc(1, sizeof(*it));
	struct fv_frame_ops_iter oi;
	struct fv_frame f;
	const uint8_t *op;
	uint8_t *blk;
	size_t n, i, oplen, at;

	*rc = FV_ENOMEM;
	if (it == NULL || (it->frame = malloc(len)) == NULL) {
		free(it);
		return NULL;
	}
	it->ss = ss;
	it->len = len;
	memcpy(it->frame, p, len);
	memset(&f, 0, sizeof(f));
	if (!whole && (fv_frame_decode(it->frame, len, &f) != 0 ||
	    f.type != FV_F_OPS)) {
		it->ready = 1;
		return it;
	}
	n = whole ? 1 : f.u.ops.count;
	/* op pointers, lengths, key pointers, keys, results: one block */
	if ((blk = malloc(n * (sizeof(uint8_t *) + sizeof(size_t) +
	    sizeof(uint8_t *) + 32 + 1))) == NULL) {
		item_free(it);
		return NULL;
	}
	it->job.op = (const uint8_t **)blk;
	it->job.len = (const size_t *)(blk + n * sizeof(uint8_t *));
	it->job.pk = (const uint8_t **)(blk + n * (sizeof(uint8_t *) +
	    sizeof(size_t)));
	it->keys = (uint8_t (*)[32])(blk + n * (2 * sizeof(uint8_t *) +
	    sizeof(size_t)));
	it->job.ok = blk + n * (2 * sizeof(uint8_t *) + sizeof(size_t) + 32);
	it->job.n = n;
	/* unpacked one after another; pointers once the buffer is done */
	fv_frame_ops_iter_init(&oi, &f);
	for (i = 0; i < n; i++) {
		if (whole) {
			op = it->frame;
			oplen = it->len;
		} else if (fv_frame_ops_next(&oi, &op, &oplen) != 1)
			break;
		at = it->ops.len;
		if ((*rc = fv_op_unpack(op, oplen, &it->ops)) != 0) {
			item_free(it);
			return NULL;
		}
		it->job.op[i] = (const uint8_t *)(uintptr_t)at;
		((size_t *)it->job.len)[i] = it->ops.len - at;
	}
	it->job.n = i;
	for (i = 0; i < it->job.n; i++) {
		it->job.op[i] = it->ops.p + (uintptr_t)it->job.op[i];
		it->job.pk[i] = key_for(ss, it->job.op[i], it->job.len[i],
		    it->keys[i]);
		it->job.ok[i] = 0;
	}
	/* the frame itself is not needed any more */
	sodium_memzero(it->frame, it->len);
	free(it->frame);
	it->frame = NULL;
	it->len = 0;
	it->job.done = item_checked;
	it->job.arg = it;
	return it;
}

/* Frames whose turn has come take effect, in order; reading resumes once
 * few wait. */
static int
run_queue(struct sess *ss)
{
	struct item *it;
	struct fv_frame f;
	int rc = 0;

	while (rc == 0 && !ss->done && (it = TAILQ_FIRST(&ss->inq)) != NULL &&
	    it->ready) {
		struct item *grp[IN_MAX];
		size_t nops = 0;
		int n = 0, k;

		/* the OPS frames checked so far, together; a few while more
		 * are being checked right behind them wait for those: one
		 * commit (two fsyncs) for many frames */
		while (it != NULL && it->ready && it->job.done != NULL &&
		    n < IN_MAX && nops < GROUP_OPS) {
			nops += it->job.n;
			grp[n++] = it;
			it = TAILQ_NEXT(it, entry);
		}
		if (n > 0 && n < GROUP_MIN && nops < GROUP_OPS && it != NULL &&
		    !it->ready && it->job.done != NULL)
			break;
		if (n > 0 && ss->hq) {
			/* HQ: the committer applies them, with what other
			 * sessions have ready, in one transaction */
			flush_soon(ss->d);
			break;
		}
		if (n > 0) {
			for (k = 0; k < n; k++) {
				TAILQ_REMOVE(&ss->inq, grp[k], entry);
				ss->nin--;
			}
			rc = ops_batch(ss, grp, n);
			for (k = 0; k < n; k++)
				item_free(grp[k]);
			continue;
		}
		it = TAILQ_FIRST(&ss->inq);
		TAILQ_REMOVE(&ss->inq, it, entry);
		ss->nin--;
		rc = fv_frame_decode(it->frame, it->len, &f) != 0 ? FV_EINVAL :
		    handle(ss, &f);
		item_free(it);
	}
	if (rc == 0 && ss->nin < in_cap())
		fv_conn_pause(ss->c, 0);
	return rc;
}

static int
run_queue_cb(struct fv_conn *c, void *arg)
{
	return run_queue(arg);
}

/*
 * HQ's committer: the OPS frames every session has ready at the head of
 * its queue, applied in one transaction (one commit, two fsyncs, for many
 * devices syncing at once), at the loop's lowest priority so that what is
 * ready meanwhile joins.  A session whose ops are refused is taken out and
 * the rest applied again; it gets its ERROR.
 */
#define FLUSH_OPS	1024	/* ops in one commit, over all sessions */

struct pick {
	struct sess	*ss;
	struct batch	 bt;
	struct item	*grp[IN_MAX];
	int		 rc;
};

struct flush {
	struct pick	*p;
	int		 n, failed;
};

static struct event *flush_ev;

static void
flush_soon(struct fvd *d)
{
	if (flush_ev == NULL) {
		if ((flush_ev = event_new(d->base, -1, 0, flush_cb, d)) == NULL)
			return;
		event_priority_set(flush_ev, 2);
	}
	event_active(flush_ev, 0, 0);
}

static int
apply_picks(struct sess *any, void *arg)
{
	struct flush *fl = arg;
	int i, rc;

	for (i = 0; i < fl->n; i++) {
		if (fl->p[i].rc != 0)
			continue;
		if ((rc = apply_batch(fl->p[i].ss, &fl->p[i].bt)) != 0) {
			fl->failed = i;
			return rc;
		}
	}
	return 0;
}

/* One session's part, once the transaction is over (0 or its error). */
static int
pick_done(struct fv_conn *c, void *arg)
{
	struct pick *pk = arg;
	struct sess *ss = pk->ss;
	struct fv_buf b = { 0 };
	int k, pe = 0;

	for (k = 0; k < pk->bt.nits; k++) {
		TAILQ_REMOVE(&ss->inq, pk->grp[k], entry);
		ss->nin--;
		item_free(pk->grp[k]);
	}
	if (pk->rc != 0) {
		log_warnx("sync: device '%s': op refused: %s", ss->peer_name,
		    fv_strerror(pk->rc));
		pe = pk->rc == FV_ESIG ? FV_PE_BAD_SIG : pk->rc == FV_EFORK ?
		    FV_PE_FORK : pk->rc == FV_EINVAL || pk->rc == FV_EUNKNOWN ||
		    pk->rc == FV_ECLOCK ? FV_PE_PROTOCOL : pk->rc == FV_ELOCKED ?
		    FV_PE_LOCKED : FV_PE_INTERNAL;
		send_error(ss, pe, pe_text(pe));
		fv_conn_close_after_flush(c);
		return 0;
	}
	ss->res.down += (uint64_t)pk->bt.n;
	fv_frame_ack(&b, pk->bt.last);
	if (send_buf(ss, &b) != 0)
		return FV_EIO;
	return run_queue(ss);		/* what came after them */
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flush fl = { NULL, 0, -1 };
	struct sess *ss;
	struct item *it;
	size_t total = 0, nops;
	int i, rc, grown = 0, more = 0;

	for (ss = LIST_FIRST(&sessions); ss != NULL; ss = LIST_NEXT(ss, entry))
		fl.n++;
	if (fl.n == 0 || (fl.p = calloc((size_t)fl.n, sizeof(*fl.p))) == NULL)
		return;
	fl.n = 0;
	LIST_FOREACH(ss, &sessions, entry) {
		struct pick *pk = &fl.p[fl.n];

		if (!ss->hq || ss->refuse || ss->c == NULL)
			continue;
		if (total >= FLUSH_OPS) {
			more = 1;	/* the next round takes the rest */
			continue;
		}
		nops = 0;
		for (it = TAILQ_FIRST(&ss->inq); it != NULL && it->ready &&
		    it->job.done != NULL && pk->bt.nits < IN_MAX &&
		    nops < GROUP_OPS; it = TAILQ_NEXT(it, entry)) {
			nops += it->job.n;
			pk->grp[pk->bt.nits++] = it;
		}
		if (pk->bt.nits == 0)
			continue;
		pk->ss = ss;
		pk->bt.its = pk->grp;
		total += nops;
		fl.n++;
	}
	/* one transaction; without a session whose ops are refused */
	for (;;) {
		fl.failed = -1;
		if (fl.n == 0 || (rc = in_txn(fl.p[0].ss, apply_picks, &fl)) == 0)
			break;
		if (fl.failed < 0 || grown++ > fl.n) {
			for (i = 0; i < fl.n; i++)	/* the store failed */
				if (fl.p[i].rc == 0)
					fl.p[i].rc = rc;
			break;
		}
		fl.p[fl.failed].rc = rc;
	}
	for (i = 0; i < fl.n; i++)
		fv_conn_run(fl.p[i].ss->c, pick_done, &fl.p[i]);
	free(fl.p);
	if (more)
		flush_soon(arg);
}

/* On the loop: the verifier is through with an item's ops. */
static void
item_checked(struct fv_vjob *j, void *arg)
{
	struct item *it = arg;

	it->in_verifier = 0;
	it->ready = 1;
	fv_conn_run(it->ss->c, run_queue_cb, it->ss);
}

static int
frame_cb(struct fv_conn *c, const uint8_t *p, size_t len, void *arg)
{
	struct sess *ss = arg;
	struct fv_frame f;
	struct item *it;
	int rc;

	if (fv_frame_decode(p, len, &f) != 0)
		return FV_EINVAL;
	/* an op too large for a frame: its parts, in order, nothing
	 * between them */
	if (f.type == FV_F_OP_PART) {
		if (f.u.part.offset != ss->big.len || (ss->big.len > 0 &&
		    f.u.part.total != ss->big_total))
			return FV_EINVAL;
		ss->big_total = f.u.part.total;
		fv_buf_put(&ss->big, f.u.part.p, f.u.part.len);
		if (ss->big.err)
			return FV_ENOMEM;
		if (ss->big.len < ss->big_total)
			return 0;
		it = item_make(ss, ss->big.p, ss->big.len, 1, &rc);
		sodium_memzero(ss->big.p, ss->big.len);
		ss->big.len = 0;
		if (it == NULL)
			return rc;
	} else if (ss->big.len > 0)
		return FV_EINVAL;
	else if (f.type != FV_F_OPS && TAILQ_EMPTY(&ss->inq))
		return handle(ss, &f);
	else if ((it = item_make(ss, p, len, 0, &rc)) == NULL)
		return rc;
	TAILQ_INSERT_TAIL(&ss->inq, it, entry);
	if (++ss->nin >= in_cap())
		fv_conn_pause(c, 1);
	if (!it->ready) {
		if (fv_verify_submit(&it->job) == 0)
			it->in_verifier = 1;
		else
			it->ready = 1;	/* no verifier: the store checks */
	}
	return run_queue(ss);
}

static void
closed_cb(struct fv_conn *c, int err, void *arg)
{
	struct sess *ss = arg;

	if (!ss->hq)
		field_done(ss, err ? err : FV_EIO, ss->res.why[0] ?
		    ss->res.why : "connection to HQ lost");
	else if (err != 0 && err != FV_EIO)
		/* a broken handshake or frame (tampered, replayed, too
		 * long): the Noise layer refused it */
		log_warnx("sync: connection from %s dropped: %s",
		    ss->peer_name[0] ? ss->peer_name : "a peer before its "
		    "handshake", err == FV_ECRYPTO ? "a message that does not "
		    "decrypt (tampered or replayed)" : err == FV_EINVAL ?
		    "a malformed message or frame" : fv_strerror(err));
	sess_free(ss);
}

static const struct fv_conn_cbs cbs = { hello_cb, ready_cb, frame_cb,
    closed_cb, drained_cb };

/* --- HQ: listening ----------------------------------------------------------- */

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct fvd *d = arg;
	const struct fv_store_info *in = fv_store_info(d->store);
	struct sess *ss;
	struct fv_buf b = { 0 };
	uint8_t *sk, pk[32];

	evutil_make_socket_nonblocking(fd);
	if ((sk = fv_secmem_alloc(32)) == NULL) {
		evutil_closesocket(fd);
		log_warnx("sync: connection refused: out of secure memory");
		return;
	}
	if (fv_store_noise_keys(d->store, sk, pk) != 0 ||
	    (ss = sess_new(d)) == NULL) {
		/* locked: no key to answer with */
		fv_secmem_free(sk);
		evutil_closesocket(fd);
		log_warnx("sync: connection refused: store locked");
		return;
	}
	ss->hq = 1;
	fv_frame_hq_hello(&b, in->device_id, in->name);
	if (b.err || fv_conn_new(d->base, fd, 0, sk, b.p, b.len, &cbs, ss,
	    &ss->c) != 0) {
		log_warnx("sync: connection refused: out of %smemory",
		    b.err ? "" : "secure ");
		sess_free(ss);
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
fv_sync_listen(struct fvd *d, char *err, size_t errlen)
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
	log_info("sync: HQ listening on %s", d->conf->listen);
	return 0;
}

void
fv_sync_stop(struct fvd *d)
{
	struct sess *ss;

	if (listener != NULL)
		evconnlistener_free(listener);
	listener = NULL;
	if (flush_ev != NULL)
		event_free(flush_ev);
	flush_ev = NULL;
	/* sessions cut by the stop: nothing unacknowledged is lost, the
	 * next session resends it */
	while ((ss = LIST_FIRST(&sessions)) != NULL) {
		fv_conn_free(ss->c);
		sess_free(ss);
	}
}

/* --- field: connecting ---------------------------------------------------------- */

/* Field: the HQ pinned at enrollment (the one device of role hq).
 * FV_ENOTFOUND when not enrolled. */
static int
pinned_hq(struct fv_store *s, struct fv_device *hq)
{
	json_t *devs = NULL, *dj;
	uint8_t id[FV_ID_BYTES];
	size_t i;
	int rc;

	if ((rc = fv_store_devices(s, &devs)) != 0)
		return rc;
	rc = FV_ENOTFOUND;
	for (i = 0; rc != 0 && i < json_array_size(devs); i++) {
		dj = json_array_get(devs, i);
		if (strcmp(json_string_value(json_object_get(dj, "role")) ?:
		    "", "hq") == 0 && fv_id_parse(json_string_value(
		    json_object_get(dj, "id")), id) == 0 &&
		    fv_store_device_get(s, id, hq) == 0)
			rc = 0;
	}
	json_decref(devs);
	return rc;
}

int
fv_sync_connect(struct fvd *d, const char *token, fv_sync_cb cb, void *arg)
{
	struct fv_store *s = d->store;
	struct sockaddr_storage sa;
	struct fv_device hq;
	struct sess *ss;
	char addr[FV_TOKEN_ADDR_MAX + 1];
	uint8_t *sk, pk[32];
	int len = sizeof(sa), fd, rc;

	if (field_sess != NULL) {
		/* one session at a time: a second asker waits for it */
		if (token != NULL || field_sess->ncb == 8)
			return FV_EBUSY;
		field_sess->cb[field_sess->ncb] = cb;
		field_sess->arg[field_sess->ncb++] = arg;
		return 0;
	}
	if ((ss = sess_new(d)) == NULL)
		return FV_ENOMEM;
	ss->cb[0] = cb;
	ss->arg[0] = arg;
	ss->ncb = 1;
	if (token != NULL) {
		if ((ss->tok = fv_secmem_alloc(sizeof(*ss->tok))) == NULL ||
		    fv_token_decode(token, ss->tok) != 0) {
			sess_free(ss);
			return FV_EINVAL;
		}
		memcpy(ss->hq_pk, ss->tok->hq_pk, 32);
		snprintf(addr, sizeof(addr), "%s", ss->tok->addr);
	} else {
		if ((rc = pinned_hq(s, &hq)) != 0) {
			sess_free(ss);
			return rc;			/* not enrolled */
		}
		memcpy(ss->hq_pk, hq.sign_pk, 32);
		if (d->conf->hq[0] != '\0')
			snprintf(addr, sizeof(addr), "%s", d->conf->hq);
		else if (fv_store_setting_get(s, "hq_addr", addr,
		    sizeof(addr)) != 0) {
			sess_free(ss);
			return FV_ENOTFOUND;
		}
	}
	ss->start_acked = fv_store_stats_acked(s);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&sa,
	    &len) != 0) {
		sess_free(ss);
		return FV_EINVAL;
	}
	if ((fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		sess_free(ss);
		return FV_EIO;
	}
	evutil_make_socket_nonblocking(fd);
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)len) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		sess_free(ss);
		return FV_EIO;
	}
	if ((sk = fv_secmem_alloc(32)) == NULL ||
	    (rc = fv_store_noise_keys(s, sk, pk)) != 0) {
		fv_secmem_free(sk);
		close(fd);
		sess_free(ss);
		return sk ? rc : FV_ENOMEM;
	}
	rc = fv_conn_new(d->base, fd, 1, sk, NULL, 0, &cbs, ss, &ss->c);
	fv_secmem_free(sk);
	if (rc != 0) {
		sess_free(ss);
		return rc;
	}
	field_sess = ss;
	return 0;
}

int
fv_sync_invite(struct fvd *d, const char *name, const char *group,
    long valid_s, char *out, size_t outlen, int64_t *expires)
{
	const struct fv_store_info *in = fv_store_info(d->store);
	struct fv_token *t;
	uint8_t sh[32];
	char hex[65];
	json_t *j;
	int rc;

	if (d->conf->listen[0] == '\0')
		return FV_EINVAL;
	if ((t = fv_secmem_alloc(sizeof(*t))) == NULL)
		return FV_ENOMEM;
	randombytes_buf(t->token_id, sizeof(t->token_id));
	randombytes_buf(t->secret, sizeof(t->secret));
	t->expires = (uint64_t)(fv_now_ms() / 1000 + valid_s);
	memcpy(t->hq_id, in->device_id, FV_ID_BYTES);
	memcpy(t->hq_pk, in->sign_pk, 32);
	snprintf(t->addr, sizeof(t->addr), "%s", d->conf->listen);
	fv_token_secret_hash(t->secret, sh);
	sodium_bin2hex(hex, sizeof(hex), sh, 32);
	sodium_memzero(sh, sizeof(sh));
	j = json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", name, "group",
	    group ? group : "", "secret_hash", hex, "expires",
	    (json_int_t)t->expires, "used", 0);
	if (j == NULL || (rc = fv_store_begin(d->store)) != 0 ||
	    (rc = fv_store_token_put(d->store, t->token_id, j)) != 0 ||
	    (rc = fv_store_commit(d->store)) != 0)
		fv_store_abort(d->store);
	else
		rc = fv_token_encode(t, out, outlen);
	*expires = (int64_t)t->expires;
	json_decref(j);
	sodium_memzero(hex, sizeof(hex));
	fv_secmem_free(t);
	return j == NULL ? FV_ENOMEM : rc;
}

/* --- field: automatic sync ---------------------------------------------------- */

static void autosync_cb(evutil_socket_t, short, void *);

static void
autosync_arm(struct fvd *d, long base_s)
{
	struct timeval tv;
	long ms = base_s * 1000;

	/* jitter, so that devices cut off together do not return together */
	ms += (long)randombytes_uniform((uint32_t)(ms / 4 + 1)) - ms / 8;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ev_autosync, &tv);
}

static void
autosync_done(const struct fv_sync_result *r, void *arg)
{
	struct fvd *d = arg;
	long backoff;

	if (r->rc == 0) {
		if (d->sync_failures > 0)
			log_info("sync: HQ reachable again");
		d->sync_failures = 0;
		autosync_arm(d, d->conf->interval);
		return;
	}
	d->sync_failures++;
	backoff = FV_SYNC_RETRY_MIN << (d->sync_failures < 12 ?
	    d->sync_failures - 1 : 11);
	if (backoff > d->conf->interval)
		backoff = d->conf->interval;
	/* the first failure and every tenth: a laptop offline for days
	 * must not fill the journal */
	if (d->sync_failures == 1 || d->sync_failures % 10 == 0)
		log_warnx("sync: with HQ failed (%d in a row): %s; retrying "
		    "in about %ld s", d->sync_failures, r->why[0] ? r->why :
		    fv_strerror(r->rc), backoff);
	autosync_arm(d, backoff);
}

static void
autosync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fvd *d = arg;
	int rc;

	if (fv_store_locked(d->store)) {
		autosync_arm(d, FV_SYNC_RETRY_MIN);	/* no keys: wait */
		return;
	}
	if ((rc = fv_sync_connect(d, NULL, autosync_done, d)) == FV_ENOTFOUND)
		autosync_arm(d, d->conf->interval);	/* not enrolled */
	else if (rc != 0) {
		struct fv_sync_result r;

		memset(&r, 0, sizeof(r));
		r.rc = rc;
		autosync_done(&r, d);
	}
}

int
fv_sync_auto(struct fvd *d)
{
	if ((d->ev_autosync = evtimer_new(d->base, autosync_cb, d)) == NULL)
		return FV_ENOMEM;
	autosync_arm(d, 1);		/* at start, once unlocked */
	return 0;
}

/* --- bundles: a session in a file (docs/protocol.md §7) ----------------- */

/* HQ: how far down its arrival log a device has applied, as the device
 * last said (a WANT, an up bundle). */
static uint64_t
hq_down_of(struct fv_store *s, const uint8_t *dev)
{
	char k[8 + 2 * FV_ID_BYTES + 1], v[32];

	memcpy(k, "down.", 5);
	fv_id_hex(dev, k + 5);
	return fv_store_setting_get(s, k, v, sizeof(v)) == 0 ?
	    strtoull(v, NULL, 10) : 0;
}

/* ... in the open transaction; it only grows */
static int
hq_set_down_of(struct fv_store *s, const uint8_t *dev, uint64_t down)
{
	char k[8 + 2 * FV_ID_BYTES + 1], v[32];

	if (down <= hq_down_of(s, dev))
		return 0;
	memcpy(k, "down.", 5);
	fv_id_hex(dev, k + 5);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)down);
	return fv_store_setting_put(s, k, v);
}

int
fv_sync_bundle_create(struct fvd *d, const char *for_dev, struct fv_buf *out,
    json_t **info, char *why, size_t whylen)
{
	struct fv_store *s = d->store;
	const struct fv_store_info *in = fv_store_info(s);
	struct fv_bundle_hdr h;
	struct fv_device peer;
	struct fv_buf payload = { 0 }, b = { 0 };
	struct sess ss;
	uint8_t xpk[32], sig[FV_SIG_BYTES];
	uint64_t have = 0, now = (uint64_t)fv_now_ms();
	int rc;

	*info = NULL;
	memset(&ss, 0, sizeof(ss));
	memset(&h, 0, sizeof(h));
	ss.d = d;
	ss.hq = strcmp(in->role, "hq") == 0;
	ss.sink = &payload;
	TAILQ_INIT(&ss.inq);
	if (ss.hq) {
		uint8_t id[FV_ID_BYTES];

		if (for_dev == NULL || fv_id_parse(for_dev, id) != 0) {
			snprintf(why, whylen, "HQ makes a bundle for one "
			    "device: --for DEVICE-ID (see 'device list')");
			return FV_EINVAL;
		}
		if ((rc = fv_store_device_get(s, id, &peer)) != 0 ||
		    strcmp(peer.role, "field") != 0 || peer.revoked) {
			snprintf(why, whylen, "no enrolled device with that id");
			return rc == 0 ? FV_ENOTFOUND : rc;
		}
		memcpy(ss.peer, peer.id, FV_ID_BYTES);
		memcpy(ss.peer_pk, peer.sign_pk, 32);
		snprintf(ss.group, sizeof(ss.group), "%s", peer.group);
		/* what HQ holds of the device's ops (receipted), then what
		 * the device may see after the cursor it last told HQ */
		if ((rc = fv_store_have_seq(s, peer.id, &have)) != 0 ||
		    (rc = fv_store_sign_receipt(s, peer.id, have, now,
		    peer.group, sig)) != 0)
			goto out;
		if ((rc = fv_frame_want(&b, have, 0)) != 0 ||
		    (rc = fv_bundle_add(&payload, b.p, b.len)) != 0)
			goto out;
		b.len = 0;
		if ((rc = fv_frame_receipt(&b, have, now, peer.group,
		    sig)) != 0 ||
		    (rc = fv_bundle_add(&payload, b.p, b.len)) != 0)
			goto out;
		ss.next = hq_down_of(s, peer.id);
		h.dir = FV_BUNDLE_DOWN;
	} else {
		if (for_dev != NULL) {
			snprintf(why, whylen, "a field device's bundle is for "
			    "its HQ: no --for");
			return FV_EINVAL;
		}
		if ((rc = pinned_hq(s, &peer)) != 0) {
			snprintf(why, whylen, "not enrolled with an HQ");
			return rc;
		}
		/* every op HQ has not acknowledged */
		if ((rc = fv_frame_want(&b, 0, down_cursor(s))) != 0 ||
		    (rc = fv_bundle_add(&payload, b.p, b.len)) != 0)
			goto out;
		ss.next = fv_store_stats_acked(s);
		h.dir = FV_BUNDLE_UP;
	}
	ss.sending = 1;
	while (rc == 0 && ss.sending)
		rc = ss.hq ? down_more(&ss) : up_more(&ss);
	if (rc != 0)
		goto out;
	memcpy(h.sender, in->device_id, FV_ID_BYTES);
	memcpy(h.receiver, peer.id, FV_ID_BYTES);
	h.created_ms = now;
	if ((rc = fv_store_x25519_of(peer.sign_pk, xpk)) != 0 ||
	    (rc = fv_store_bundle_seal(s, &h, payload.p, payload.len, xpk,
	    out)) != 0)
		goto out;
	*info = json_pack("{s:s, s:s, s:I, s:I}", "to", peer.name,
	    "direction", ss.hq ? "down" : "up", "ops", (json_int_t)(ss.hq ?
	    ss.res.down : ss.next - fv_store_stats_acked(s)),
	    "bytes", (json_int_t)out->len);
out:
	if (rc == FV_ETOOBIG)
		snprintf(why, whylen, "more than a bundle holds (%u MiB): "
		    "sync, or make bundles more often", FV_BUNDLE_MAX >> 20);
	fv_buf_free(&b);
	fv_buf_free(&payload);
	return rc;
}

/* What a bundle brings, checked whole before anything is written. */
struct take {
	const struct fv_bundle_hdr *h;
	const struct fv_device	*from;
	struct fv_buf		 ops;		/* canonical ops, one after
						 * another */
	size_t			 nops, capops;
	size_t			*off, *len;
	uint8_t			*ok;		/* signature checked */
	uint8_t			(*pk)[32];	/* ... under this key */
	struct fv_frame		 want, end, receipt;
	int			 has_receipt;
	struct fv_frame		 devs[64];	/* DEVICE frames (HQ's) */
	int			 ndevs;
	int			 applied;
	size_t			 purged, kept;
};

static int
take_op(struct take *t, const uint8_t *w, size_t len)
{
	size_t at = t->ops.len;
	int rc;

	if (t->nops == t->capops) {
		size_t c = t->capops ? t->capops * 2 : 256;
		size_t *o = realloc(t->off, c * sizeof(*o));

		if (o == NULL)
			return FV_ENOMEM;
		t->off = o;
		if ((o = realloc(t->len, c * sizeof(*o))) == NULL)
			return FV_ENOMEM;
		t->len = o;
		t->capops = c;
	}
	if ((rc = fv_op_unpack(w, len, &t->ops)) != 0)
		return rc;
	t->off[t->nops] = at;
	t->len[t->nops++] = t->ops.len - at;
	return 0;
}

/* Both cores check the signatures (the loop waits: a bundle is rare). */
static void
take_verify(void *arg, size_t lo, size_t hi, int worker)
{
	struct take *t = arg;
	size_t i;

	for (i = lo; i < hi; i++)
		t->ok[i] = fv_op_verify(t->ops.p + t->off[i], t->len[i],
		    t->pk[i]) == 0;
}

static int
take_apply(struct sess *ss, void *arg)
{
	struct take *t = arg;
	struct fv_store *s = ss->d->store;
	struct fv_device dev, known;
	int i, rc, applied;
	size_t k;
	char v[32];

	t->applied = 0;
	t->purged = t->kept = 0;
	/* authors HQ vouches for, before their ops */
	for (i = 0; i < t->ndevs; i++) {
		if (fv_store_device_get(s, t->devs[i].u.device.id, &known) == 0)
			continue;
		memset(&dev, 0, sizeof(dev));
		memcpy(dev.id, t->devs[i].u.device.id, FV_ID_BYTES);
		memcpy(dev.sign_pk, t->devs[i].u.device.pk, 32);
		snprintf(dev.name, sizeof(dev.name), "%s",
		    t->devs[i].u.device.name);
		snprintf(dev.role, sizeof(dev.role), "field");
		if ((rc = fv_store_device_put(s, &dev)) != 0)
			return rc;
	}
	for (k = 0; k < t->nops; k++) {
		const uint8_t *op = t->ops.p + t->off[k];

		/* up: only the sender's own ops */
		if (ss->hq && memcmp(op + 3, t->h->sender, FV_ID_BYTES) != 0)
			return FV_EINVAL;
		if ((rc = fv_store_apply_checked(s, op, t->len[k], t->ok[k] ?
		    t->pk[k] : NULL, &applied)) != 0)
			return rc;
		t->applied += applied;
	}
	if (ss->hq)
		return hq_set_down_of(s, t->h->sender, t->want.u.want.down);
	/* down: HQ's receipt (checked already), its acknowledgement, and
	 * how far down its log this bundle goes */
	if (t->has_receipt) {
		struct rcpt r = { &t->receipt, 0, 0 };

		if ((rc = take_receipt(ss, &r)) != 0)
			return rc;
		t->purged = r.purged;
		t->kept = r.kept;
	} else if ((rc = fv_store_set_acked(s, t->want.u.want.up,
	    fv_now_ms())) != 0)
		return rc;
	if (t->end.u.end.last > down_cursor(s)) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)
		    t->end.u.end.last);
		if ((rc = fv_store_setting_put(s, "down", v)) != 0)
			return rc;
	}
	return 0;
}

int
fv_sync_bundle_import(struct fvd *d, const uint8_t *buf, size_t len,
    json_t **result, char *why, size_t whylen)
{
	struct fv_store *s = d->store;
	const struct fv_store_info *in = fv_store_info(s);
	struct fv_bundle_hdr h;
	struct fv_bundle_iter it;
	struct fv_device from;
	struct fv_frame f;
	struct fv_buf payload = { 0 }, big = { 0 };
	struct take t;
	struct sess ss;
	uint8_t *xsk = NULL, xpk[32];
	size_t k;
	int rc, hq = strcmp(in->role, "hq") == 0;

	*result = NULL;
	memset(&t, 0, sizeof(t));
	memset(&ss, 0, sizeof(ss));
	if (fv_bundle_peek(buf, len, &h) != 0) {
		snprintf(why, whylen, "not a fieldvault bundle, or cut short");
		return FV_EINVAL;
	}
	if (memcmp(h.receiver, in->device_id, FV_ID_BYTES) != 0) {
		snprintf(why, whylen, "the bundle is addressed to another "
		    "installation");
		return FV_EINVAL;
	}
	if (h.dir != (hq ? FV_BUNDLE_UP : FV_BUNDLE_DOWN) ||
	    (rc = fv_store_device_get(s, h.sender, &from)) != 0 ||
	    from.revoked || strcmp(from.role, hq ? "field" : "hq") != 0) {
		snprintf(why, whylen, hq ? "the bundle is not from a device "
		    "enrolled here" : "the bundle is not from this device's "
		    "HQ");
		return FV_EUNKNOWN;
	}
	if ((xsk = fv_secmem_alloc(32)) == NULL)
		return FV_ENOMEM;
	if ((rc = fv_store_noise_keys(s, xsk, xpk)) != 0)
		goto out;
	if ((rc = fv_bundle_open(buf, len, from.sign_pk, xpk, xsk, &h,
	    &payload)) != 0) {
		snprintf(why, whylen, rc == FV_ESIG ? "the bundle was "
		    "tampered with, or not sealed to this installation" :
		    "the bundle's content is malformed");
		goto out;
	}
	/* every frame, every op, every signature, before any write */
	t.h = &h;
	t.from = &from;
	fv_bundle_iter_init(&it, payload.p, payload.len);
	while (rc == 0 && (rc = fv_bundle_next(&it, &f)) == 1) {
		rc = 0;
		if (big.len > 0 && f.type != FV_F_OP_PART) {
			rc = FV_EINVAL;
			break;
		}
		switch (f.type) {
		case FV_F_WANT:
			t.want = f;
			break;
		case FV_F_END:
			t.end = f;
			break;
		case FV_F_RECEIPT:
			if (hq || fv_receipt_verify(f.u.receipt.sig,
			    in->device_id, f.u.receipt.up_to, f.u.receipt.hlc,
			    f.u.receipt.group, from.sign_pk) != 0)
				rc = FV_ESIG;
			t.receipt = f;
			t.has_receipt = 1;
			break;
		case FV_F_DEVICE: {
			uint8_t id[FV_ID_BYTES];

			crypto_generichash(id, FV_ID_BYTES, f.u.device.pk, 32,
			    NULL, 0);
			if (hq || t.ndevs == 64 || memcmp(id, f.u.device.id,
			    FV_ID_BYTES) != 0)
				rc = FV_EINVAL;
			else
				t.devs[t.ndevs++] = f;
			break;
		}
		case FV_F_OPS: {
			struct fv_frame_ops_iter oi;
			const uint8_t *op;
			size_t oplen;

			fv_frame_ops_iter_init(&oi, &f);
			while (rc == 0 && fv_frame_ops_next(&oi, &op, &oplen))
				rc = take_op(&t, op, oplen);
			break;
		}
		case FV_F_OP_PART:
			if (f.u.part.offset != big.len)
				rc = FV_EINVAL;
			fv_buf_put(&big, f.u.part.p, f.u.part.len);
			if (rc == 0 && (rc = big.err) == 0 &&
			    big.len == f.u.part.total) {
				rc = take_op(&t, big.p, big.len);
				sodium_memzero(big.p, big.len);
				big.len = 0;
			}
			break;
		}
	}
	if (rc != 0 || big.len > 0) {
		snprintf(why, whylen, "the bundle's content is malformed");
		rc = rc ? rc : FV_EINVAL;
		goto out;
	}
	/* keys: the sender's own up; down, the author's as known here or
	 * as HQ vouches for it in this bundle */
	if (t.nops > 0 && ((t.ok = calloc(t.nops, 1)) == NULL ||
	    (t.pk = calloc(t.nops, 32)) == NULL)) {
		rc = FV_ENOMEM;
		goto out;
	}
	for (k = 0; k < t.nops; k++) {
		const uint8_t *author = t.ops.p + t.off[k] + 3;
		struct fv_device a;
		int i;

		if (fv_store_device_get(s, author, &a) == 0 && !a.revoked)
			memcpy(t.pk[k], a.sign_pk, 32);
		for (i = 0; !hq && i < t.ndevs; i++)
			if (memcmp(t.devs[i].u.device.id, author,
			    FV_ID_BYTES) == 0)
				memcpy(t.pk[k], t.devs[i].u.device.pk, 32);
	}
	fv_par_run(t.nops, take_verify, &t);
	for (k = 0; k < t.nops; k++)
		if (!t.ok[k]) {
			snprintf(why, whylen, "an op in the bundle has a bad "
			    "signature: nothing imported");
			rc = FV_ESIG;
			goto out;
		}
	ss.d = d;
	ss.hq = hq;
	TAILQ_INIT(&ss.inq);
	if ((rc = in_txn(&ss, take_apply, &t)) != 0) {
		snprintf(why, whylen, "%s: nothing imported", fv_strerror(rc));
		goto out;
	}
	log_info("sync: bundle from '%s': %zu ops, %d new%s", from.name,
	    t.nops, t.applied, t.purged ? ", purged what HQ holds" : "");
	*result = json_pack("{s:s, s:s, s:I, s:I, s:I}", "from", from.name,
	    "direction", hq ? "up" : "down", "ops", (json_int_t)t.nops,
	    "applied", (json_int_t)t.applied, "purged",
	    (json_int_t)t.purged);
out:
	fv_secmem_free(xsk);
	fv_buf_free(&payload);
	fv_buf_free(&big);
	fv_buf_free(&t.ops);
	free(t.off);
	free(t.len);
	free(t.ok);
	free(t.pk);
	return rc;
}
