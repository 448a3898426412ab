#include "fv_error.h"

const char *
fv_error_str(int code)
{
	switch (code) {
	case FV_OK:
		return "success";
	case FV_EINVAL:
		return "invalid input";
	case FV_ENOMEM:
		return "out of memory";
	case FV_ENOTFOUND:
		return "not found";
	case FV_ELOCKED:
		return "store is locked";
	case FV_EPASS:
		return "wrong passphrase";
	case FV_ECRYPTO:
		return "authentication failed (tampered data or wrong key)";
	case FV_EIO:
		return "storage I/O error";
	case FV_ENOSPC:
		return "disk full";
	case FV_EEXIST:
		return "already exists";
	case FV_ETOOBIG:
		return "too large";
	case FV_EDELETED:
		return "deleted";
	case FV_ECORRUPT:
		return "stored data is inconsistent";
	case FV_EBUSY:
		return "busy, try again later";
	case FV_ESIG:
		return "bad signature";
	case FV_EUNKNOWN:
		return "unknown or revoked device";
	case FV_EFORK:
		return "fork: another op with the same author and sequence";
	case FV_ECLOCK:
		return "clock too far ahead";
	}
	return "unknown error";
}
