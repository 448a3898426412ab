/*
 * fuzz.h - the one entry point every harness defines (libFuzzer's).
 */
#ifndef FV_FUZZ_H
#define FV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A property every input must keep: a failure aborts, which libFuzzer
 * and replay.c both report with the input. */
#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
			    #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up; replay.c calls it like libFuzzer does. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
