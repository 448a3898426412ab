/*
 * patch.h - JSON merge patch (RFC 7396), the body of "appeal update".
 */
#ifndef FV_PATCH_H
#define FV_PATCH_H

#include <jansson.h>

/*
 * Apply patch to target as RFC 7396 says and return the result: a new
 * reference the caller releases with json_decref(), sharing no value with
 * either argument (so it may be modified freely).  target may be NULL
 * (absent); neither argument is modified.  Returns NULL if patch is NULL
 * or memory runs out.
 */
json_t *fv_patch_apply(const json_t *target, const json_t *patch);

#endif
