/*
 * sdkimpl.h - the parts of the SDK's implementation that fieldvaultd and
 * the mock host (libfieldvault-mock) share: records over jansson, wiping
 * memory, output buffers.  Not installed: plugins see only the opaque
 * types of <fieldvault/plugin.h>.
 */
#ifndef FV_SDKIMPL_H
#define FV_SDKIMPL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <fieldvault/plugin.h>

struct fv_record {
	json_t		*j;		/* borrowed from the wrapper */
	const char	*id, *type;
	char		**owned;	/* strings made by accessors */
	size_t		 nowned, capowned;
};

/* Wraps the record object j (borrowed; it must outlive r): r's accessors
 * read it.  r must be zeroed before its first wrap.  Returns 0, or -1 if j is not a record (no id or type). */
int	fv_sdk_record_wrap(struct fv_record *r, json_t *j);
/* Wipes and frees what the accessors made; r may be wrapped again. */
void	fv_sdk_record_release(struct fv_record *r);
/* Removes, in place, the identifying fields of an appeal whose applicant
 * is confidential: every applicant field but citizenship,
 * residence_country and confidential. */
void	fv_sdk_redact(json_t *j);

/* A plugin name: 1..FV_SDK_NAME_MAX of a-z 0-9 _ - (it becomes a file
 * name: no dot, no slash). */
#define FV_SDK_NAME_MAX		32
int	fv_sdk_valid_name(const char *s);
/* The descriptor's ABI, name, kinds and their callbacks: 0, or -1 with the
 * reason in why ("this HOST has ..."). */
int	fv_sdk_check_desc(const struct fv_plugin *d, const char *host,
	    char *why, size_t len);

/* An output stream: bytes gather in p; when flush is set, it gets them
 * once more than FV_OUTPUT_FLUSH are waiting (and at fv_sdk_output_flush);
 * a -1 from flush fails the stream.  max bounds what may wait. */
#define FV_OUTPUT_FLUSH		(256 * 1024)
struct fv_output {
	uint8_t		*p;
	size_t		 len, cap, max;
	int		 err;
	int		(*flush)(void *arg, const uint8_t *p, size_t len);
	void		*arg;
};
void	fv_sdk_output_init(struct fv_output *o, size_t max,
	    int (*flush)(void *, const uint8_t *, size_t), void *arg);
int	fv_sdk_output_flush(struct fv_output *o);
/* Wipes and frees the buffer. */
void	fv_sdk_output_free(struct fv_output *o);

#endif
