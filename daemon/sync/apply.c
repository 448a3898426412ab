/*
 * apply.c - what a received frame does to the store, in the open
 * transaction.  Live sessions run it for each frame as its turn comes
 * (OPS frames in the committer's group, the others in a transaction of
 * their own); a bundle runs it for all its frames in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv_error.h"
#include "hlc.h"
#include "session.h"

/* Field: how far down HQ's arrival log this device has applied. */
uint64_t
fv_sync_apply_down_cursor(struct fv_store *s)
{
	char v[32];

	return fv_store_setting_get(s, "down", v, sizeof(v)) == 0 ?
	    strtoull(v, NULL, 10) :
	    0;
}

static void
down_key(const uint8_t dev[FV_ID_BYTES], char k[6 + 2 * FV_ID_BYTES])
{
	memcpy(k, "down.", 5);
	fv_op_id_hex(dev, k + 5);
}

/* HQ: how far down its arrival log a device has applied, as the device
 * last said (a WANT, an up bundle). */
uint64_t
fv_sync_apply_down_of(struct fv_store *s, const uint8_t dev[FV_ID_BYTES])
{
	char k[6 + 2 * FV_ID_BYTES], v[32];

	down_key(dev, k);
	return fv_store_setting_get(s, k, v, sizeof(v)) == 0 ?
	    strtoull(v, NULL, 10) :
	    0;
}

/* A cursor only grows. */
static int
put_cursor(struct fv_store *s, const char *k, uint64_t have, uint64_t now)
{
	char v[32];

	if (now <= have)
		return 0;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)now);
	return fv_store_setting_put(s, k, v);
}

/* The ops of an OPS frame: up, only the device's own. */
static int
apply_ops(struct fv_sync_sess *ss, struct fv_store *s, struct fv_sync_item *it)
{
	const struct fv_vjob *j = &it->job;
	size_t i;
	int rc, applied;

	it->applied = 0;
	for (i = 0; i < j->n; i++) {
		if (ss->hq &&
		    (j->len[i] < FV_OP_HDR ||
			memcmp(j->op[i] + 3, ss->peer, FV_ID_BYTES) != 0))
			return FV_EINVAL;
		if ((rc = fv_store_apply_checked(s, j->op[i], j->len[i],
			 j->ok[i] ? j->pk[i] : NULL, &applied)) != 0)
			return rc;
		it->last = fv_buf_get_u64(j->op[i] + 3 + FV_ID_BYTES);
		it->applied += applied;
	}
	return 0;
}

/* Field: HQ vouches for another device of the group; a key once known is
 * not replaced. */
static int
apply_device(struct fv_store *s, const struct fv_frame *f)
{
	struct fv_device dev;

	if (fv_store_device_get(s, f->u.device.id, &dev) == 0)
		return 0;
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.id, f->u.device.id, FV_ID_BYTES);
	memcpy(dev.sign_pk, f->u.device.pk, 32);
	snprintf(dev.name, sizeof(dev.name), "%s", f->u.device.name);
	snprintf(dev.role, sizeof(dev.role), "field");
	return fv_store_device_put(s, &dev);
}

int
fv_sync_apply_receipt_ok(struct fv_store *s, const struct fv_frame *f,
    const uint8_t hq_pk[32])
{
	struct fv_store_stats st;

	if (fv_frame_receipt_verify(f->u.receipt.sig,
		fv_store_info(s)->device_id, f->u.receipt.up_to,
		f->u.receipt.hlc, f->u.receipt.group, hq_pk) != 0)
		return FV_ESIG;
	fv_store_stats(s, &st);
	return f->u.receipt.up_to > st.seq ? FV_EINVAL : 0; /* ops we
								 * never wrote */
}

/* Field: HQ's receipt (checked: fv_sync_apply_receipt_ok) is the only
 * thing a purge may rest on. */
static int
apply_receipt(struct fv_sync_sess *ss, struct fv_store *s,
    struct fv_sync_item *it)
{
	const struct fv_frame *f = &it->f;
	char v[64], n[32];
	int rc;

	it->purged = it->kept = 0;
	snprintf(v, sizeof(v), "%llu %llu",
	    (unsigned long long)f->u.receipt.up_to,
	    (unsigned long long)f->u.receipt.hlc);
	if ((rc = fv_store_set_acked(s, f->u.receipt.up_to, fv_hlc_now_ms())) ||
	    (rc = fv_store_setting_put(s, "receipt", v)) ||
	    (rc = fv_store_setting_put(s, "group", f->u.receipt.group)))
		return rc;
	if (!ss->d->conf->purge_after_sync)
		return 0;
	if ((rc = fv_store_purge(s, f->u.receipt.up_to, f->u.receipt.group,
		 &it->purged, &it->kept)) != 0)
		return rc;
	/* the running total, for status */
	if (fv_store_setting_get(s, "purged", n, sizeof(n)) != 0)
		n[0] = '\0';
	snprintf(n, sizeof(n), "%llu",
	    strtoull(n, NULL, 10) + (unsigned long long)it->purged);
	return fv_store_setting_put(s, "purged", n);
}

int
fv_sync_apply_frame(struct fv_sync_sess *ss, struct fv_store *s,
    struct fv_sync_item *it)
{
	const struct fv_frame *f = &it->f;
	char k[6 + 2 * FV_ID_BYTES];

	switch (f->type) {
	case FV_F_OPS:
		return apply_ops(ss, s, it);
	case FV_F_DEVICE:
		return ss->hq ? FV_EINVAL : apply_device(s, f);
	case FV_F_WANT:
		if (!ss->hq) /* HQ holds our ops up to want.up */
			return f->u.want.up <= fv_store_stats_acked(s) ?
			    0 :
			    fv_store_set_acked(s, f->u.want.up,
				fv_hlc_now_ms());
		/* where the device's down cursor is, for bundles */
		down_key(ss->peer, k);
		return put_cursor(s, k, fv_sync_apply_down_of(s, ss->peer),
		    f->u.want.down);
	case FV_F_END:
		return ss->hq ?
		    0 :
		    put_cursor(s, "down", fv_sync_apply_down_cursor(s),
			f->u.end.last);
	case FV_F_RECEIPT:
		return ss->hq ? FV_EINVAL : apply_receipt(ss, s, it);
	}
	return 0;
}

struct now {
	struct fv_sync_sess *ss;
	struct fv_sync_item *it;
};

static int
now_fn(struct fv_store *s, void *arg)
{
	struct now *n = arg;

	return fv_sync_apply_frame(n->ss, s, n->it);
}

int
fv_sync_apply_now(struct fv_sync_sess *ss, struct fv_sync_item *it)
{
	struct now n = { ss, it };

	return fv_writer_run(ss->d->writer, now_fn, &n);
}
