#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fv_error.h"
#include "keyfile.h"

#define HDR   64
#define MAGIC "FVRKEYS1"

struct fv_keyfile {
	int fd;
	uint64_t *used; /* bitmap */
	uint32_t nwords;
	uint32_t nused;
	uint32_t hint; /* no free slot below this word */
};

static int
io_err(void)
{
	return errno == ENOSPC || errno == EFBIG || errno == EDQUOT ?
	    FV_ENOSPC :
	    FV_EIO;
}

int
fv_keyfile_open(const char *path, int create, struct fv_keyfile **out)
{
	struct fv_keyfile *kf;
	char hdr[HDR];
	int fd;

	*out = NULL;
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0),
	    0600);
	if (fd < 0)
		return errno == EEXIST ? FV_EEXIST : FV_EIO;
	if (create) {
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, MAGIC, 8);
		if (pwrite(fd, hdr, HDR, 0) != HDR || fdatasync(fd) != 0) {
			int rc = io_err();

			close(fd);
			return rc;
		}
	} else if (pread(fd, hdr, HDR, 0) != HDR || memcmp(hdr, MAGIC, 8)) {
		close(fd);
		return FV_ECORRUPT;
	}
	if ((kf = calloc(1, sizeof(*kf))) == NULL) {
		close(fd);
		return FV_ENOMEM;
	}
	kf->fd = fd;
	*out = kf;
	return 0;
}

void
fv_keyfile_close(struct fv_keyfile *kf)
{
	if (kf == NULL)
		return;
	close(kf->fd);
	free(kf->used);
	free(kf);
}

void
fv_keyfile_reset(struct fv_keyfile *kf)
{
	if (kf->used != NULL)
		memset(kf->used, 0, kf->nwords * sizeof(*kf->used));
	kf->nused = 0;
	kf->hint = 0;
}

static int
grow(struct fv_keyfile *kf, uint32_t slot)
{
	uint32_t need = slot / 64 + 1, n;
	uint64_t *u;

	if (need <= kf->nwords)
		return 0;
	if (slot >= FV_SLOTS_MAX)
		return FV_ETOOBIG;
	n = kf->nwords ? kf->nwords : 64;
	while (n < need)
		n *= 2;
	if ((u = realloc(kf->used, n * sizeof(*u))) == NULL)
		return FV_ENOMEM;
	memset(u + kf->nwords, 0, (n - kf->nwords) * sizeof(*u));
	kf->used = u;
	kf->nwords = n;
	return 0;
}

static int
is_used(const struct fv_keyfile *kf, uint32_t slot)
{
	return slot / 64 < kf->nwords &&
	    (kf->used[slot / 64] >> (slot % 64) & 1);
}

int
fv_keyfile_mark(struct fv_keyfile *kf, uint32_t slot)
{
	int rc;

	if ((rc = grow(kf, slot)) != 0)
		return rc;
	if (is_used(kf, slot))
		return FV_ECORRUPT; /* two records, one slot */
	kf->used[slot / 64] |= (uint64_t)1 << (slot % 64);
	kf->nused++;
	return 0;
}

void
fv_keyfile_release(struct fv_keyfile *kf, uint32_t slot)
{
	if (!is_used(kf, slot))
		return;
	kf->used[slot / 64] &= ~((uint64_t)1 << (slot % 64));
	kf->nused--;
	if (slot / 64 < kf->hint)
		kf->hint = slot / 64;
}

int
fv_keyfile_alloc(struct fv_keyfile *kf, uint32_t *slot)
{
	uint32_t w;
	int rc;

	for (w = kf->hint; w < kf->nwords && kf->used[w] == ~(uint64_t)0; w++)
		;
	kf->hint = w;
	if (w == kf->nwords && (rc = grow(kf, w * 64)) != 0)
		return rc;
	*slot = w * 64 + (uint32_t)__builtin_ctzll(~kf->used[w]);
	return fv_keyfile_mark(kf, *slot);
}

static off_t
slot_off(uint32_t slot)
{
	return (off_t)HDR + (off_t)slot * FV_SLOT_BYTES;
}

int
fv_keyfile_write(struct fv_keyfile *kf, uint32_t slot,
    const uint8_t wrapped[FV_SLOT_BYTES])
{
	if (pwrite(kf->fd, wrapped, FV_SLOT_BYTES, slot_off(slot)) !=
	    FV_SLOT_BYTES)
		return io_err();
	return 0;
}

int
fv_keyfile_write_run(struct fv_keyfile *kf, uint32_t first, uint32_t n,
    const uint8_t *wrapped)
{
	size_t len = (size_t)n * FV_SLOT_BYTES;

	if (pwrite(kf->fd, wrapped, len, slot_off(first)) != (ssize_t)len)
		return io_err();
	return 0;
}

int
fv_keyfile_read(struct fv_keyfile *kf, uint32_t slot,
    uint8_t wrapped[FV_SLOT_BYTES])
{
	if (pread(kf->fd, wrapped, FV_SLOT_BYTES, slot_off(slot)) !=
	    FV_SLOT_BYTES)
		return FV_ECORRUPT;
	return 0;
}

int
fv_keyfile_wipe(struct fv_keyfile *kf, uint32_t slot)
{
	static const uint8_t zero[FV_SLOT_BYTES];
	int rc;

	rc = fv_keyfile_write(kf, slot, zero);
	fv_keyfile_release(kf, slot);
	return rc;
}

int
fv_keyfile_sync(struct fv_keyfile *kf)
{
	return fdatasync(kf->fd) == 0 ? 0 : io_err();
}

int
fv_keyfile_scrub(struct fv_keyfile *kf, uint32_t *nscrubbed)
{
	static const uint8_t zero[FV_SLOT_BYTES];
	uint8_t buf[FV_SLOT_BYTES * 256];
	struct stat sb;
	uint32_t nslots, s, i, n = 0;
	int rc;

	*nscrubbed = 0;
	if (fstat(kf->fd, &sb) != 0)
		return FV_EIO;
	nslots = (uint32_t)((sb.st_size - HDR + FV_SLOT_BYTES - 1) /
	    FV_SLOT_BYTES);
	for (s = 0; s < nslots; s += 256) {
		ssize_t got = pread(kf->fd, buf, sizeof(buf), slot_off(s));

		if (got < 0)
			return FV_EIO;
		for (i = 0; i < 256 && (ssize_t)(i * FV_SLOT_BYTES) < got; i++)
			if (!is_used(kf, s + i) &&
			    memcmp(buf + i * FV_SLOT_BYTES, zero,
				FV_SLOT_BYTES) != 0) {
				if ((rc = fv_keyfile_write(kf, s + i, zero)) !=
				    0)
					return rc;
				n++;
			}
	}
	*nscrubbed = n;
	return n ? fv_keyfile_sync(kf) : 0;
}

int
fv_keyfile_fd(const struct fv_keyfile *kf)
{
	return kf->fd;
}

uint32_t
fv_keyfile_used(const struct fv_keyfile *kf)
{
	return kf->nused;
}
