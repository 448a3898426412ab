/*
 * fv_error.h - error codes shared by every fieldvault module.
 *
 * Functions return 0 on success or a negative FV_E* code; fv_error_str()
 * turns a code into a short English phrase for messages.
 */
#ifndef FV_ERROR_H
#define FV_ERROR_H

enum {
	FV_OK = 0,
	FV_EINVAL = -1,	   /* bad input: a field, a frame, a value */
	FV_ENOMEM = -2,	   /* out of memory */
	FV_ENOTFOUND = -3, /* no such record or key */
	FV_ELOCKED = -4,   /* store is locked: no keys in memory */
	FV_EPASS = -5,	   /* wrong passphrase */
	FV_ECRYPTO = -6,   /* authentication failed: tampered or wrong key */
	FV_EIO = -7,	   /* I/O or storage failure (errno says more) */
	FV_ENOSPC = -8,	   /* disk full */
	FV_EEXIST = -9,	   /* already exists */
	FV_ETOOBIG = -10,  /* input exceeds a named limit */
	FV_EDELETED = -11, /* record was deleted */
	FV_ECORRUPT = -12, /* stored data is inconsistent */
	FV_EBUSY = -13,	   /* try again later */
	FV_ESIG = -14,	   /* bad signature */
	FV_EUNKNOWN = -15, /* signed by a device not enrolled, or revoked */
	FV_EFORK = -16,	   /* same author and seq, other bytes */
	FV_ECLOCK = -17,   /* a clock far ahead of ours */
};

/* Returns a static string describing code; never NULL. */
const char *fv_error_str(int code);

#endif
