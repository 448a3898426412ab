/*
 * replay.c - the main() a fuzz harness gets in make check: every stored
 * input of $top_srcdir/tests/fuzz/corpus/NAME/ goes through
 * LLVMFuzzerTestOneInput once, in sorted order, as one TAP test each.
 * NAME comes from the program's name ("replay_record" -> "record").  With
 * file arguments, those files are replayed instead.
 *
 * There is nothing to compare: a harness abort()s on a broken invariant
 * and the sanitizers kill it on a memory error, so a bad input ends the
 * process before its "ok" line and the plan is never printed.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_INPUT_MAX (64 * 1024 * 1024)

/* Reads path into a malloc'd buffer of exactly its size (so that the
 * sanitizers see a read past the end); *len is that size. */
static int
slurp(const char *path, uint8_t **out, size_t *len)
{
	struct stat sb;
	uint8_t *p;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > REPLAY_INPUT_MAX) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	*len = (size_t)sb.st_size;
	/* an empty input still gets a valid pointer, as libFuzzer gives */
	if ((p = malloc(*len > 0 ? *len : 1)) == NULL ||
	    fread(p, 1, *len, f) != *len) {
		free(p);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*out = p;
	return 0;
}

/* Runs one file as test n; 0, or -1 if it could not be read. */
static int
replay(int n, const char *path, const char *label)
{
	uint8_t *data;
	size_t len;

	if (slurp(path, &data, &len) != 0) {
		printf("not ok %d - %s # %s\n", n, label, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s\n", n, label);
	fflush(stdout);
	return 0;
}

/* "replay_record" (or libtool's "lt-replay_record") -> "record". */
static const char *
corpus_name(const char *argv0)
{
	const char *b = strrchr(argv0, '/');

	b = b != NULL ? b + 1 : argv0;
	if (strncmp(b, "lt-", 3) == 0)
		b += 3;
	if (strncmp(b, "replay_", 7) == 0)
		b += 7;
	else if (strncmp(b, "fuzz_", 5) == 0)
		b += 5;
	return b;
}

static int
skip_entry(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int
main(int argc, char **argv)
{
	struct dirent **ents;
	const char *srcdir, *name;
	char dir[PATH_MAX], path[PATH_MAX], label[NAME_MAX + 64];
	int i, n, bad = 0;

	/* like libFuzzer: before anything else, with the real arguments */
	LLVMFuzzerInitialize(&argc, &argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			bad |= replay(i, argv[i], argv[i]);
		printf("1..%d\n", argc - 1);
		return bad ? 1 : 0;
	}

	if ((srcdir = getenv("top_srcdir")) == NULL &&
	    (srcdir = getenv("srcdir")) == NULL)
		srcdir = ".";
	name = corpus_name(argv[0]);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		srcdir, name) >= sizeof(dir)) {
		printf("Bail out! %s/tests/fuzz/corpus/%s: path too long\n",
		    srcdir, name);
		return 1;
	}
	if ((n = scandir(dir, &ents, skip_entry, alphasort)) < 0) {
		printf("Bail out! %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "corpus/%s/%s", name,
		    ents[i]->d_name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			ents[i]->d_name) >= sizeof(path)) {
			printf("not ok %d - %s # path too long\n", i + 1,
			    label);
			bad = 1;
		} else
			bad |= replay(i + 1, path, label);
		free(ents[i]);
	}
	free(ents);
	printf("1..%d\n", n);
	return bad ? 1 : 0;
}
