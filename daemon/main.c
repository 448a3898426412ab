/*
 * fieldvaultd - the fieldvault daemon.
 *
 *   fieldvaultd -c CONFIG [--passphrase-file FILE]
 *
 * Runs in the foreground, logs to stderr, starts locked unless given a
 * passphrase, stops cleanly on SIGTERM/SIGINT, reloads on SIGHUP.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <sodium.h>

#include <fieldvault/plugin.h>

#include "api/server.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "sync/sync.h"
#include "sync/verify.h"
#include "buf.h"
#include "daemon.h"
#include "fv_error.h"
#include "log.h"
#include "secmem.h"
#include "vault.h"
#include "worker.h"
#include "writer.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fieldvaultd -c CONFIG [--passphrase-file FILE]"
	    "\n");
	exit(2);
}

/* jansson's strings hold record content: wipe every block it frees. */
static void
autolock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fvd *d = arg;

	if (fv_store_locked(d->store))
		return;
	fv_log_info("auto_lock: idle for %ld s", d->conf->auto_lock);
	fv_daemon_lock(d, "auto_lock");
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fvd *d = arg;
	struct timeval grace = { 0, 300000 };

	if (d->stopping)
		return;
	fv_log_info("fieldvaultd: %s: stopping",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	d->stopping = 1;
	/* every queued write is committed and answered; the answers get a
	 * moment to leave before the connections close */
	fv_writer_flush(d->writer);
	event_base_loopexit(d->base, &grace);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fvd *d = arg;
	struct fv_config *nc;
	char err[512];

	if (fv_conf_load(d->conf_path, &nc, err, sizeof(err)) != 0) {
		fv_log_error(
		    "config: reload refused, keeping the running one: %s", err);
		return;
	}
	if (strcmp(nc->role, d->conf->role) ||
	    strcmp(nc->name, d->conf->name) ||
	    strcmp(nc->data_dir, d->conf->data_dir) ||
	    strcmp(nc->socket, d->conf->socket))
		fv_log_warnx("config: role, name, data_dir and socket changes "
			     "take effect at restart");
	memcpy(nc->role, d->conf->role, sizeof(nc->role));
	memcpy(nc->name, d->conf->name, sizeof(nc->name));
	memcpy(nc->data_dir, d->conf->data_dir, sizeof(nc->data_dir));
	memcpy(nc->socket, d->conf->socket, sizeof(nc->socket));
	fv_conf_free(d->conf);
	d->conf = nc;
	fv_log_setlevel(nc->log_level);
	fv_host_reload(d->plugins, d->conf);
	fv_daemon_activity(d);
	fv_log_info("config: reloaded %s", d->conf_path);
}

static void
startup_unlocked(int rc, void *arg)
{
	if (rc != 0)
		fv_log_error("unlock: --passphrase-file: %s; the store stays "
			     "locked",
		    fv_error_str(rc));
}

static int
lock_data_dir(const char *dir)
{
	char p[PATH_MAX + 16];
	int fd;

	snprintf(p, sizeof(p), "%s/daemon.lock", dir);
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -2;
	}
	return fd; /* held until exit */
}

static void
harden(void)
{
	struct rlimit rl = { 0, 0 };

	/* no core dump may hold keys or records */
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a file size limit is a full disk */
	fv_buf_json_init();	  /* before any thread parses JSON */
	/* Import chunks are megabyte buffers: keep them in mappings of their
	 * own, returned when freed, instead of letting glibc raise its mmap
	 * threshold and fragment the heap with them. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
}

/* The heap the daemon's work leaves free (request parse trees, the
 * buffers of single writes and of sync sessions) goes back to the system
 * every TRIM_EVERY_S while the heap changes and more than TRIM_FREE of it
 * is free: 10,000 single updates had left 50 MiB of it resident, the
 * writer trimming only after bulk groups.  malloc_trim returns the free
 * pages inside the heap too, not only its top (2 to 12 ms for a
 * fragmented heap of 60 MiB). */
#define TRIM_EVERY_S 2
#define TRIM_FREE    ((size_t)1024 * 1024)

static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	static size_t last; /* free bytes after the last trim */
	size_t free_now = mallinfo2().fordblks;

	(void)fd;
	(void)what;
	(void)arg;
	if (free_now > TRIM_FREE && free_now != last) {
		malloc_trim(0);
		last = mallinfo2().fordblks;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument,
						  NULL, 'c' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	struct fvd d;
	const char *passfile = NULL;
	char err[512];
	uint8_t *pass;
	size_t passlen;
	int ch, rc, lockfd;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'V':
			printf("fieldvaultd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (d.conf_path == NULL || optind != argc)
		usage();
	harden();
	if (sodium_init() < 0 || fv_secmem_init() != 0) {
		fprintf(stderr, "fieldvaultd: cannot initialise libsodium\n");
		return 1;
	}
	if (fv_conf_load(d.conf_path, &d.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldvaultd: %s\n", err);
		return 1;
	}
	fv_log_init(d.conf->log_level, "fieldvaultd");
	if ((lockfd = lock_data_dir(d.conf->data_dir)) < 0) {
		fv_log_error("fieldvaultd: %s: %s", d.conf->data_dir,
		    lockfd == -2 ? "another fieldvaultd uses this data_dir" :
				   "cannot open (run 'fieldvault init' first)");
		return 1;
	}
	if ((rc = fv_store_open(d.conf->data_dir, &d.store)) != 0) {
		fv_log_error("store: %s: %s%s", d.conf->data_dir,
		    fv_error_str(rc),
		    rc == FV_ENOTFOUND ? " (run 'fieldvault init' first)" : "");
		return 1;
	}
	if (strcmp(fv_store_info(d.store)->role, d.conf->role) != 0 ||
	    strcmp(fv_store_info(d.store)->name, d.conf->name) != 0) {
		fv_log_error("config: %s: role/name (%s/%s) differ from the "
			     "store's (%s/%s)",
		    d.conf_path, d.conf->role, d.conf->name,
		    fv_store_info(d.store)->role, fv_store_info(d.store)->name);
		return 1;
	}
	evthread_use_pthreads();
	if ((d.base = event_base_new()) == NULL ||
	    event_base_priority_init(d.base, 3) != 0 ||
	    fv_writer_new(&d, &d.writer) != 0 ||
	    fv_worker_new(&d, &d.unlocker) != 0 || fv_verify_start(d.base) != 0)
		fv_log_fatalx("fieldvaultd: cannot set up the event loop");
	if (fv_host_new(&d, &d.plugins) != 0)
		fv_log_fatalx("fieldvaultd: cannot start the plugin thread");
	fv_store_set_observer(d.store, fv_hooks_observe, &d);
	if (fv_server_start(&d, err, sizeof(err)) != 0) {
		fv_log_error("api: %s", err);
		return 1;
	}
	if (strcmp(d.conf->role, "hq") == 0 &&
	    fv_sync_hq_listen(&d, err, sizeof(err)) != 0) {
		fv_log_error("sync: %s", err);
		fv_server_stop(&d);
		return 1;
	}
	if (strcmp(d.conf->role, "field") == 0 &&
	    fv_sync_autosync_start(&d) != 0)
		fv_log_fatalx("fieldvaultd: cannot set up automatic sync");
	d.ev_term = evsignal_new(d.base, SIGTERM, stop_cb, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, stop_cb, &d);
	d.ev_hup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	d.ev_autolock = evtimer_new(d.base, autolock_cb, &d);
	d.ev_trim = event_new(d.base, -1, EV_PERSIST, trim_cb, &d);
	if (d.ev_trim == NULL || event_priority_set(d.ev_trim, 2) != 0 ||
	    event_add(d.ev_trim, &(struct timeval){ TRIM_EVERY_S, 0 }) != 0)
		fv_log_fatalx("fieldvaultd: cannot set up the heap trim");
	evsignal_add(d.ev_term, NULL);
	evsignal_add(d.ev_int, NULL);
	evsignal_add(d.ev_hup, NULL);
	fv_daemon_activity(&d);
	if (passfile != NULL) {
		if ((pass = fv_secmem_alloc(FV_PASS_MAX + 1)) == NULL)
			rc = FV_ENOMEM;
		else if ((rc = fv_vault_passfile_read(passfile, pass,
			      &passlen)) != 0)
			fv_secmem_free(pass);
		if (rc != 0)
			fv_log_error("unlock: %s: %s", passfile,
			    rc == FV_EINVAL ?
				"empty or longer than 1024 bytes" :
				rc == FV_EIO ? strerror(errno) :
					       fv_error_str(rc));
		else
			fv_worker_unlock(d.unlocker, pass, passlen,
			    startup_unlocked, &d);
	}
	fv_log_info("fieldvaultd %s: %s '%s' serving on %s, store locked%s",
	    PACKAGE_VERSION, d.conf->role, d.conf->name, d.conf->socket,
	    passfile ? " (unlocking)" : "");
	event_base_dispatch(d.base);

	fv_sync_session_stop(&d); /* HQ's listener, any session */
	fv_verify_stop();
	fv_writer_flush(d.writer); /* its hooks' changes */
	fv_host_free(d.plugins);   /* fini, unload, the answers due */
	fv_hooks_free();
	fv_server_stop(&d);
	fv_writer_free(d.writer);
	fv_worker_free(d.unlocker);
	fv_store_close(d.store); /* wipes the keys */
	event_free(d.ev_term);
	event_free(d.ev_int);
	event_free(d.ev_hup);
	event_free(d.ev_autolock);
	event_free(d.ev_trim);
	if (d.ev_autosync != NULL)
		event_free(d.ev_autosync);
	event_base_free(d.base);
	fv_conf_free(d.conf);
	fv_secmem_shutdown();
	fv_log_info("fieldvaultd: stopped");
	close(lockfd);
	return 0;
}
