/*
 * fuzz.h - the one entry point every harness defines (libFuzzer's).
 */
#ifndef FV_FUZZ_H
#define FV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up; replay.c calls it like libFuzzer does. */
int	LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
