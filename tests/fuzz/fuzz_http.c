/*
 * fuzz_http.c - the control API of the daemon, in process.  An input is
 * what a client writes on the Unix socket (requests, pipelined requests,
 * garbage); the daemon's own event loop, evhttp, routes, writer and store
 * answer it.
 *
 * LLVMFuzzerInitialize builds a daemon as daemon/main.c does, in a
 * temporary directory: a config, a store (one Argon2id derivation, whose
 * KEK is kept in secret memory), the event base, the writer, the
 * unlocker, the API socket.  It unlocks the store and creates two records
 * with known ids (KNOWN_APPEAL and a note on it, KNOWN_NOTE), so that
 * GET, PATCH and DELETE of those ids reach real data.  A copy of the data
 * files is then kept: the store is put back to it when an input deleted a
 * known record, the store grew past FUZZ_RECORDS_MAX records or its data
 * file came near the end of the map (see worn()), so that later inputs
 * still find the records, writes still succeed, and runs stay fast.
 *
 * Each input: connect, write it all (running the loop between writes),
 * shut down the write side, then run the loop without blocking and read
 * the answers until the daemon closes the connection, has nothing to do
 * for IDLE_TURNS turns, or LOOP_MAX turns.  Then every queued write is
 * committed, and a store the input locked (POST /v1/lock) is unlocked
 * again with the KEK.  POST /v1/unlock starts an Argon2id thread: its
 * answer goes out during some later input, or at exit, where the cleanup
 * waits for it.
 *
 * The map starts small (FUZZ_MAP) so that inputs that write a lot make it
 * grow.  FUZZ_HTTP_VERBOSE=1 in the environment copies the daemon's
 * answers to stderr and logs at level info.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <sodium.h>

#include "api/json.h"
#include "api/server.h"
#include "conf.h"
#include "daemon.h"
#include "fuzz.h"
#include "fv_error.h"
#include "log.h"
#include "record.h"
#include "secmem.h"
#include "store.h"
#include "worker.h"
#include "writer.h"

#define KNOWN_APPEAL	 "0123456789abcdef0123456789abcdef"
#define KNOWN_NOTE	 "fedcba9876543210fedcba9876543210"
#define PASS		 "correct horse battery staple"
#define LOOP_MAX	 2000 /* loop turns per phase of an input */
#define IDLE_TURNS	 4    /* turns with nothing to do: the daemon waits */
#define FUZZ_RECORDS_MAX 100  /* then the store is put back */
#define FUZZ_MAP	 ((size_t)128 << 10)  /* small: the map must grow */
#define FUZZ_MAP_SLACK	 ((uint64_t)16 << 10) /* see worn() */

static const char *const snap_files[] = { "data.mdb", "recordkeys", NULL };

static struct fvd d;
static uint8_t *kek;	      /* secmem, 32 bytes */
static struct event *ev_wake; /* bounds a blocking loop turn */
static char root[PATH_MAX / 2], datadir[PATH_MAX], snapdir[PATH_MAX];
static char confpath[PATH_MAX];
static uint8_t known_appeal[FV_ID_BYTES], known_note[FV_ID_BYTES];
static int verbose; /* FUZZ_HTTP_VERBOSE: show answers,
					   log at level info */

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_http: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1); /* the atexit cleanup removes the directory */
}

/* The auto_lock timer is armed by fv_daemon_activity(); it never fires here
 * (a day), and locking is what POST /v1/lock does anyway. */
static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* --- files -------------------------------------------------------------- */

static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* Copies the snapshot files from one directory to the other. */
static int
copy_files(const char *from, const char *to)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32];
	size_t i;

	for (i = 0; snap_files[i] != NULL; i++) {
		snprintf(a, sizeof(a), "%s/%s", from, snap_files[i]);
		snprintf(b, sizeof(b), "%s/%s", to, snap_files[i]);
		if (copy_file(a, b) != 0)
			return -1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* --- the store ---------------------------------------------------------- */

/* Reopens the store from the snapshot and unlocks it with the KEK.  Only
 * between inputs, with no write queued and no unlock attempt running (its
 * thread reads d.store). */
static void
restore(const char *why)
{
	char p[PATH_MAX + 32];
	int rc;

	if (verbose) {
		struct fv_store_stats st;
		struct stat sb;

		snprintf(p, sizeof(p), "%s/data.mdb", datadir);
		fv_store_stats(d.store, &st);
		fprintf(stderr,
		    "fuzz_http: store put back to its snapshot "
		    "(%s; %zu records, data.mdb %lld of %llu bytes)\n",
		    why, st.appeals + st.notes,
		    stat(p, &sb) == 0 ? (long long)sb.st_size : -1LL,
		    (unsigned long long)st.map_bytes);
	}
	fv_store_close(d.store);
	d.store = NULL;
	snprintf(p, sizeof(p), "%s/lock.mdb", datadir);
	unlink(p);
	if (copy_files(snapdir, datadir) != 0)
		die("%s: cannot restore the store: %s", datadir,
		    strerror(errno));
	if ((rc = fv_store_open(datadir, &d.store)) != 0 ||
	    (rc = fv_store_unlock(d.store, kek)) != 0)
		die("%s: cannot reopen the store: %s", datadir,
		    fv_error_str(rc));
}

/* Why the store should be put back, or NULL: a known record is gone, the
 * store holds many records, or its data file has come near the end of the
 * map.  The writer grows the map when a put does not fit, but not when
 * only the commit does not (LMDB's free list needs pages too): every write
 * is then refused as "disk full" until one big enough to fail at a put
 * comes.  Put back before that edge, inputs keep reaching the paths where
 * writes succeed; an input that writes a lot still makes the map grow. */
static const char *
worn(void)
{
	struct fv_store_stats st;
	struct stat sb;
	char p[PATH_MAX + 32];
	json_t *o;

	if (fv_store_stats(d.store, &st) != 0)
		return "stats";
	if (st.appeals + st.notes > FUZZ_RECORDS_MAX)
		return "many records";
	snprintf(p, sizeof(p), "%s/data.mdb", datadir);
	if (stat(p, &sb) != 0 ||
	    (uint64_t)sb.st_size + FUZZ_MAP_SLACK > st.map_bytes)
		return "map nearly full";
	if (fv_json_record(d.store, FV_RTYPE_APPEAL, known_appeal, &o) != 0)
		return "known appeal gone";
	json_decref(o);
	if (fv_json_record(d.store, FV_RTYPE_NOTE, known_note, &o) != 0)
		return "known note gone";
	json_decref(o);
	return NULL;
}

static void
create(enum fv_rtype t, const char *text, const uint8_t *rid)
{
	struct fv_verr e;
	json_t *o;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    fv_record_check(o, t, &e) != 0)
		die("seed record refused: %s: %s", e.field, e.msg);
	fv_record_strip_readonly(o);
	if (fv_record_defaults(o, t, 1764000000000LL) != 0 ||
	    (rc = fv_store_create(d.store, t, o, rid, &e)) != 0)
		die("seed record not stored: %s", e.field);
	json_decref(o);
}

/* The two known records, then the snapshot. */
static void
seed_store(void)
{
	int rc;

	if (fv_op_id_parse(KNOWN_APPEAL, known_appeal) != 0 ||
	    fv_op_id_parse(KNOWN_NOTE, known_note) != 0 ||
	    (rc = fv_store_begin(d.store)) != 0)
		die("cannot begin the seed records");
	create(FV_RTYPE_APPEAL,
	    "{\"applicant\": {\"full_name\": "
	    "\"Азиз Каримов\", \"location\": \"Samarqand\", "
	    "\"citizenship\": \"UZ\"}, \"concerns_country\": \"RU\", "
	    "\"category\": \"detention_conditions\", \"summary\": "
	    "\"Содержится в СИЗО-1 без связи с семьёй. Oʻgʻli Toshkentda.\", "
	    "\"assigned_to\": \"team-1\", \"tags\": [\"migrant\"], "
	    "\"x_source\": {\"batch\": 7}}",
	    known_appeal);
	create(FV_RTYPE_NOTE,
	    "{\"text\": \"Visited on Tuesday; "
	    "زيارة السجن\", \"appeal_id\": \"" KNOWN_APPEAL "\", "
	    "\"visit\": {\"institution\": \"СИЗО-1\", \"country\": \"RU\", "
	    "\"date\": \"2026-11-20\"}}",
	    known_note);
	if ((rc = fv_store_commit(d.store)) != 0)
		die("cannot commit the seed records: %s", fv_error_str(rc));

	/* the snapshot is taken with the environment closed */
	fv_store_close(d.store);
	d.store = NULL;
	if (mkdir(snapdir, 0700) != 0 || copy_files(datadir, snapdir) != 0)
		die("%s: cannot snapshot the store: %s", snapdir,
		    strerror(errno));
	if ((rc = fv_store_open(datadir, &d.store)) != 0 ||
	    (rc = fv_store_unlock(d.store, kek)) != 0)
		die("%s: cannot reopen the store: %s", datadir,
		    fv_error_str(rc));
}

/* --- the loop ----------------------------------------------------------- */

/* Reads what the daemon sent, and drops it (or copies it to stderr when
 * FUZZ_HTTP_VERBOSE is set).  -1 at end of file or on an error (the
 * daemon closed), 1 if anything came, else 0. */
static int
drain(int fd)
{
	static char buf[65536];
	ssize_t n;
	int got = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (verbose)
			fwrite(buf, 1, (size_t)n, stderr);
		got = 1;
	}
	if (n == 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		return -1;
	return got;
}

static int
busy(void)
{
	return event_base_get_num_events(d.base, EVENT_BASE_COUNT_ACTIVE) > 0 ||
	    fv_writer_pending(d.writer) > 0;
}

/* Runs the loop until it has nothing to do (bounded). */
static void
settle(void)
{
	int i, idle;

	for (i = 0, idle = 0; i < LOOP_MAX && idle < IDLE_TURNS; i++) {
		event_base_loop(d.base, EVLOOP_NONBLOCK);
		idle = busy() ? 0 : idle + 1;
	}
}

/* Collects the unlocker's events (at most UNLOCKER_EVS): it is opaque,
 * so they are found as those whose argument it is. */
#define UNLOCKER_EVS 4
static int
find_unlocker_evs(const struct event_base *b, const struct event *ev, void *arg)
{
	struct event **found = arg;
	int i;

	if (event_get_callback_arg(ev) != (void *)d.unlocker)
		return 0;
	for (i = 0; i < UNLOCKER_EVS; i++)
		if (found[i] == NULL) {
			found[i] = (struct event *)ev;
			return 0;
		}
	return 1;
}

/* At exit: lets an unlock attempt finish, so that its request is answered
 * and freed.  A derivation is waited for (bounded); the delay after a
 * wrong passphrase (its timer, up to a minute) is cut short. */
static void
finish_unlock(void)
{
	struct timeval tv = { 0, 100 * 1000 };
	struct event *evs[UNLOCKER_EVS];
	int i, j;

	for (i = 0; i < 100 && fv_worker_busy(d.unlocker); i++) {
		memset(evs, 0, sizeof(evs));
		event_base_foreach_event(d.base, find_unlocker_evs, evs);
		for (j = 0; j < UNLOCKER_EVS && evs[j] != NULL; j++)
			if (event_pending(evs[j], EV_TIMEOUT, NULL))
				event_active(evs[j], EV_TIMEOUT, 1);
		evtimer_add(ev_wake, &tv);
		event_base_loop(d.base, EVLOOP_ONCE);
	}
}

/* --- set-up and tear-down ----------------------------------------------- */

static void
cleanup(void)
{
	if (d.base != NULL && d.unlocker != NULL)
		finish_unlock();
	fv_server_stop(&d);
	if (d.writer != NULL)
		fv_writer_free(d.writer);
	fv_worker_free(d.unlocker);
	fv_store_close(d.store);
	if (d.ev_autolock != NULL)
		event_free(d.ev_autolock);
	if (ev_wake != NULL)
		event_free(ev_wake);
	if (d.base != NULL)
		event_base_free(d.base);
	if (d.conf != NULL)
		fv_conf_free(d.conf);
	fv_secmem_free(kek);
	fv_secmem_shutdown();
	libevent_global_shutdown();
	if (root[0] != '\0')
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	memset(&d, 0, sizeof(d));
}

static void
write_config(void)
{
	FILE *f;

	if ((f = fopen(confpath, "w")) == NULL)
		die("%s: %s", confpath, strerror(errno));
	fprintf(f,
	    "[daemon]\nrole = field\nname = fuzz\ndata_dir = %s\n"
	    "socket = %s/api.sock\nlog_level = %s\nauto_lock = 1d\n",
	    datadir, root, verbose ? "info" : "error");
	if (fclose(f) != 0)
		die("%s: %s", confpath, strerror(errno));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char err[512];
	int rc;

	/* what daemon/main.c's harden() does that matters here */
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	json_object_seed(0x5eed);
	if (sodium_init() < 0 || fv_secmem_init() != 0)
		die("cannot initialise libsodium");

	verbose = getenv("FUZZ_HTTP_VERBOSE") != NULL;
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(root, sizeof(root), "%s/fvfuzz.XXXXXX", tmp) >=
		sizeof(root) - 64 ||
	    mkdtemp(root) == NULL) {
		root[0] = '\0';
		die("%s: cannot make a temporary directory", tmp);
	}
	atexit(cleanup);
	snprintf(datadir, sizeof(datadir), "%s/data", root);
	snprintf(snapdir, sizeof(snapdir), "%s/snap", root);
	snprintf(confpath, sizeof(confpath), "%s/fv.conf", root);
	write_config();
	fv_store_set_initial_map(FUZZ_MAP);
	if ((rc = fv_store_init(datadir, "field", "fuzz", PASS,
		 strlen(PASS))) != 0)
		die("%s: init: %s", datadir, fv_error_str(rc));

	/* as daemon/main.c */
	d.conf_path = confpath;
	if (fv_conf_load(confpath, &d.conf, err, sizeof(err)) != 0)
		die("%s", err);
	fv_log_init(d.conf->log_level, "fuzz_http");
	if ((rc = fv_store_open(d.conf->data_dir, &d.store)) != 0)
		die("%s: open: %s", d.conf->data_dir, fv_error_str(rc));
	evthread_use_pthreads();
	if ((d.base = event_base_new()) == NULL ||
	    event_base_priority_init(d.base, 3) != 0 ||
	    fv_writer_new(&d, &d.writer) != 0 ||
	    fv_worker_new(&d, &d.unlocker) != 0)
		die("cannot set up the event loop");
	if (fv_server_start(&d, err, sizeof(err)) != 0)
		die("api: %s", err);
	if ((d.ev_autolock = evtimer_new(d.base, noop_cb, &d)) == NULL ||
	    (ev_wake = evtimer_new(d.base, noop_cb, NULL)) == NULL)
		die("cannot make timers");
	fv_daemon_activity(&d);

	/* unlocked directly, so that requests reach the record routes */
	if ((kek = fv_secmem_alloc(32)) == NULL)
		die("out of secure memory");
	if ((rc = fv_store_derive(d.store, PASS, strlen(PASS), kek)) != 0 ||
	    (rc = fv_store_unlock(d.store, kek)) != 0)
		die("unlock: %s", fv_error_str(rc));
	seed_store();
	return 0;
}

static int
client_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d.conf->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	/* the listener's backlog takes it at once: the daemon accepts in
	 * the loop below */
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	size_t off = 0;
	ssize_t n;
	int fd, i, idle, r;

	fd = client_connect();
	for (i = 0; off < size && i < LOOP_MAX; i++) {
		n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			break;		/* the daemon closed: it is done */
		else if (drain(fd) < 0) /* it may wait for us to read */
			break;
		event_base_loop(d.base, EVLOOP_NONBLOCK);
	}
	shutdown(fd, SHUT_WR);
	for (i = 0, idle = 0; i < LOOP_MAX && idle < IDLE_TURNS; i++) {
		event_base_loop(d.base, EVLOOP_NONBLOCK);
		if ((r = drain(fd)) < 0)
			break;
		idle = r > 0 || busy() ? 0 : idle + 1;
	}
	close(fd);

	/* every queued write committed and answered, the connection gone */
	fv_writer_flush(d.writer);
	settle();
	CHECK(fv_writer_pending(d.writer) == 0);
	if (fv_store_locked(d.store))
		CHECK(fv_store_unlock(d.store, kek) == 0);
	if (!fv_worker_busy(d.unlocker) && (why = worn()) != NULL)
		restore(why);
	return 0;
}
