/*
 * host.c - the plugin thread, its job queue, and the registry of loaded
 * plugins: loading with libltdl, the checks that refuse a plugin, and the
 * host functions of the SDK that concern a plugin itself (config, log).
 */
#include <fieldvault/plugin.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "fv_error.h"
#include "log.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "sdkimpl.h"

TAILQ_HEAD(jobq, fvp_job);
TAILQ_HEAD(plugq, fv_host);

/* What a load needs of the config, copied: the thread must not read the
 * loop's config, which SIGHUP replaces. */
struct loadset {
	char dir[PATH_MAX];
	char load[1024];
	char inst[FV_NAME_MAX + 1], role[8];
	char conf_path[PATH_MAX];
	struct {
		char name[FVP_NAME_MAX + 1];
		char **kv; /* key, value, ..., NULL */
		int *lines;
	} * sec;
	size_t nsec;
};

struct load_job {
	struct fvp_job j;
	struct loadset *ls; /* NULL: unload only */
	int hooks;	    /* result: a hook is loaded */
};

struct fvp_host {
	struct fvd *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq todo, done;
	int stop;
	struct event *ev_done;
	int have_hooks; /* loop side */
	/* plugin thread only */
	struct plugq loaded;
	json_t *refused;
	int ltdl_ok;
};

/* --- the thread and its queue -------------------------------------------- */

static void *
thread_main(void *arg)
{
	struct fvp_host *h = arg;
	struct fvp_job *j;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (TAILQ_EMPTY(&h->todo) && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if ((j = TAILQ_FIRST(&h->todo)) == NULL)
			break; /* stop, and nothing left */
		TAILQ_REMOVE(&h->todo, j, entry);
		pthread_mutex_unlock(&h->mu);
		j->run(j);
		pthread_mutex_lock(&h->mu);
		TAILQ_INSERT_TAIL(&h->done, j, entry);
		if (h->ev_done != NULL)
			event_active(h->ev_done, 0, 0);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* On the loop: the jobs the thread has finished. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fvp_host *h = arg;
	struct jobq q;
	struct fvp_job *j;

	TAILQ_INIT(&q);
	pthread_mutex_lock(&h->mu);
	TAILQ_CONCAT(&q, &h->done, entry);
	pthread_mutex_unlock(&h->mu);
	while ((j = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, j, entry);
		j->done(j);
	}
}

void
fv_host_submit(struct fvp_host *h, struct fvp_job *j)
{
	j->host = h;
	pthread_mutex_lock(&h->mu);
	TAILQ_INSERT_TAIL(&h->todo, j, entry);
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

struct fvd *
fv_host_daemon(struct fvp_host *h)
{
	return h->d;
}

int
fv_host_have_hooks(const struct fvp_host *h)
{
	return h != NULL && h->have_hooks;
}

/* --- the registry (plugin thread) ---------------------------------------- */

static void
unload(struct fv_host *p)
{
	if (p->desc->fini != NULL)
		p->desc->fini(p->state);
	lt_dlclose(p->dl);
	fv_log_info("plugin %s: unloaded", p->name);
	fv_sdk_desc_kv_free(p->kv);
	free(p);
}

struct fv_host *
fv_host_find(struct fvp_host *h, const char *name, unsigned kind)
{
	struct fv_host *p;

	TAILQ_FOREACH(p, &h->loaded, entry)
		if (strcmp(p->name, name) == 0 && (p->desc->kinds & kind)) {
			p->refs++;
			return p;
		}
	return NULL;
}

void
fv_host_unref(struct fv_host *p)
{
	if (--p->refs == 0 && p->retired)
		unload(p);
}

void
fv_host_each(struct fvp_host *h, unsigned kind,
    void (*fn)(struct fv_host *, void *), void *arg)
{
	struct fv_host *p;

	TAILQ_FOREACH(p, &h->loaded, entry)
		if (p->desc->kinds & kind)
			fn(p, arg);
}

static json_t *
kinds_json(unsigned k)
{
	json_t *a = json_array();

	if (k & FV_KIND_EXPORTER)
		json_array_append_new(a, json_string("exporter"));
	if (k & FV_KIND_EXCHANGE)
		json_array_append_new(a, json_string("exchange"));
	if (k & FV_KIND_HOOK)
		json_array_append_new(a, json_string("hook"));
	return a;
}

json_t *
fv_host_list_json(struct fvp_host *h)
{
	json_t *a = json_array();
	struct fv_host *p;
	char abi[16];

	TAILQ_FOREACH(p, &h->loaded, entry) {
		snprintf(abi, sizeof(abi), "%u.%u", p->desc->abi_major,
		    p->desc->abi_minor);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s?, s:o, s:s, "
			      "s:s}",
			"name", p->name, "version",
			p->desc->version ? p->desc->version : "", "description",
			p->desc->description, "kinds",
			kinds_json(p->desc->kinds), "abi", abi, "state",
			"loaded"));
	}
	json_array_extend(a, h->refused);
	return a;
}

/* The refusal of a plugin: one log line, and kept for plugin list. */
static int
refuse(struct fvp_host *h, const char *name, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fv_log_error("plugin %s: refused: %s", name, why);
	json_array_append_new(h->refused,
	    json_pack("{s:s, s:s, s:s}", "name", name, "state", "refused",
		"reason", why));
	return -1;
}

/* Only a file nobody else may change is loaded: libltdl would otherwise
 * run whatever code someone could put there. */
static int
trusted(struct fvp_host *h, const char *name, const char *path, int dir)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return refuse(h, name, "%s: %s", path, strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return refuse(h, name, "%s: not a %s", path,
		    dir ? "directory" : "regular file");
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return refuse(h, name,
		    "%s: writable by group or others (mode "
		    "%03o)",
		    path, (unsigned)(st.st_mode & 0777));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return refuse(h, name,
		    "%s: owned by uid %u, neither root nor "
		    "this daemon's",
		    path, (unsigned)st.st_uid);
	return 0;
}

static int
check_desc(struct fvp_host *h, const char *name, const struct fv_plugin *d)
{
	char why[256];

	if (fv_sdk_desc_check(d, "fieldvaultd", why, sizeof(why)) != 0)
		return refuse(h, name, "%s", why);
	/* the file's name is the plugin's (Knot's rule) */
	if (strcmp(d->name, name) != 0)
		return refuse(h, name,
		    "its descriptor names it '%.32s', its "
		    "file '%s'",
		    d->name, name);
	return 0;
}

/* The plugin's section, checked against the keys it accepts; its copy
 * in *kv. */
static int
take_section(struct fvp_host *h, const struct loadset *ls, const char *name,
    const struct fv_plugin *d, char ***kv)
{
	const char *const *sec = NULL;
	size_t i;
	long k;

	*kv = NULL;
	for (i = 0; i < ls->nsec; i++)
		if (strcmp(ls->sec[i].name, name) == 0) {
			sec = (const char *const *)ls->sec[i].kv;
			break;
		}
	if ((k = fv_sdk_desc_kv_unknown(d, sec)) >= 0)
		return refuse(h, name,
		    "%s:%d: [plugin.%s] %s: not a key of "
		    "this plugin",
		    ls->conf_path, ls->sec[i].lines[k / 2], name, sec[k]);
	if ((*kv = fv_sdk_desc_kv_copy(sec)) == NULL)
		return refuse(h, name, "out of memory");
	return 0;
}

static void
load_one(struct fvp_host *h, const struct loadset *ls, const char *name)
{
	struct fv_host *p, *q;
	const struct fv_plugin *d;
	char path[PATH_MAX + 64];
	lt_dladvise adv;

	if (!fv_sdk_desc_valid_name(name)) {
		refuse(h, name, "not a plugin name (1..%d of a-z 0-9 _ -)",
		    FVP_NAME_MAX);
		return;
	}
	TAILQ_FOREACH(q, &h->loaded, entry)
		if (strcmp(q->name, name) == 0 && !q->retired) {
			refuse(h, name, "named twice in [plugins] load");
			return;
		}
	snprintf(path, sizeof(path), "%s/%s.so", ls->dir, name);
	if (trusted(h, name, ls->dir, 1) != 0 || trusted(h, name, path, 0) != 0)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		refuse(h, name, "out of memory");
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->inst, sizeof(p->inst), "%s", ls->inst);
	snprintf(p->role, sizeof(p->role), "%s", ls->role);
	p->host = h;
	/* an absolute path: libltdl searches nothing; local: one plugin's
	 * symbols do not resolve another's */
	if (lt_dladvise_init(&adv) == 0 && lt_dladvise_local(&adv) == 0)
		p->dl = lt_dlopenadvise(path, adv);
	lt_dladvise_destroy(&adv);
	if (p->dl == NULL) {
		/* libltdl says "file not found" whatever went wrong: ask
		 * dlopen itself (an undefined symbol, a bad ELF file) */
		void *dh = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		const char *e = dh == NULL ? dlerror() : lt_dlerror();

		if (dh != NULL)
			dlclose(dh);
		refuse(h, name, "%s", e ? e : "cannot load");
		free(p);
		return;
	}
	if ((d = lt_dlsym(p->dl, FV_PLUGIN_SYMBOL)) == NULL) {
		refuse(h, name, "%s: no %s symbol: not a fieldvault plugin",
		    path, FV_PLUGIN_SYMBOL);
		goto fail;
	}
	if (check_desc(h, name, d) != 0 ||
	    take_section(h, ls, name, d, &p->kv) != 0)
		goto fail;
	p->desc = d;
	if (d->init != NULL && d->init(p, &p->state) != 0) {
		refuse(h, name, "its init failed (see its lines above)");
		goto fail;
	}
	TAILQ_INSERT_TAIL(&h->loaded, p, entry);
	fv_log_info("plugin %s: loaded %s (version %s, ABI %u.%u)", name, path,
	    d->version ? d->version : "?", d->abi_major, d->abi_minor);
	return;
fail:
	fv_sdk_desc_kv_free(p->kv);
	lt_dlclose(p->dl);
	free(p);
}

static void
unload_all(struct fvp_host *h)
{
	struct fv_host *p;

	while ((p = TAILQ_FIRST(&h->loaded)) != NULL) {
		TAILQ_REMOVE(&h->loaded, p, entry);
		if (p->refs > 0)
			p->retired = 1; /* its run ends it */
		else
			unload(p);
	}
	json_array_clear(h->refused);
}

static void
loadset_free(struct loadset *ls)
{
	size_t i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->nsec; i++) {
		fv_sdk_desc_kv_free(ls->sec[i].kv);
		free(ls->sec[i].lines);
	}
	free(ls->sec);
	free(ls);
}

static void
load_run(struct fvp_job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct fvp_host *h = j->host;
	struct loadset *ls = lj->ls;
	struct fv_host *p;
	char *names, *tok, *save = NULL;

	unload_all(h);
	if (ls == NULL)
		return;
	if (!h->ltdl_ok) {
		if (lt_dlinit() != 0) {
			fv_log_error("plugins: libltdl: %s", lt_dlerror());
			return;
		}
		h->ltdl_ok = 1;
	}
	if ((names = strdup(ls->load)) == NULL)
		return;
	for (tok = strtok_r(names, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save))
		load_one(h, ls, tok);
	free(names);
	TAILQ_FOREACH(p, &h->loaded, entry)
		lj->hooks |= (p->desc->kinds & FV_KIND_HOOK) != 0;
}

static void
load_done(struct fvp_job *j)
{
	struct load_job *lj = (struct load_job *)j;

	j->host->have_hooks = lj->hooks;
	loadset_free(lj->ls);
	free(lj);
}

static struct loadset *
loadset_new(const struct fv_config *c)
{
	struct loadset *ls = calloc(1, sizeof(*ls));
	size_t i, k;

	if (ls == NULL)
		return NULL;
	snprintf(ls->dir, sizeof(ls->dir), "%s", c->plugins_dir);
	snprintf(ls->load, sizeof(ls->load), "%s", c->plugins_load);
	snprintf(ls->inst, sizeof(ls->inst), "%s", c->name);
	snprintf(ls->role, sizeof(ls->role), "%s", c->role);
	snprintf(ls->conf_path, sizeof(ls->conf_path), "%s", c->path);
	if (c->nplugins > 0 &&
	    (ls->sec = calloc(c->nplugins, sizeof(*ls->sec))) == NULL)
		goto fail;
	for (i = 0; i < c->nplugins; i++, ls->nsec++) {
		const struct fv_conf_section *s = &c->plugins[i];

		snprintf(ls->sec[i].name, sizeof(ls->sec[i].name), "%s",
		    s->name);
		if ((ls->sec[i].kv = calloc(2 * s->nkv + 1, sizeof(char *))) ==
			NULL ||
		    (ls->sec[i].lines = calloc(s->nkv + 1, sizeof(int))) ==
			NULL)
			goto fail;
		for (k = 0; k < s->nkv; k++) {
			ls->sec[i].kv[2 * k] = strdup(s->kv[k].key);
			ls->sec[i].kv[2 * k + 1] = strdup(s->kv[k].val);
			ls->sec[i].lines[k] = s->kv[k].line;
			if (ls->sec[i].kv[2 * k] == NULL ||
			    ls->sec[i].kv[2 * k + 1] == NULL)
				goto fail;
		}
	}
	return ls;
fail:
	ls->nsec = c->nplugins;
	loadset_free(ls);
	return NULL;
}

void
fv_host_reload(struct fvp_host *h, const struct fv_config *conf)
{
	struct load_job *lj = calloc(1, sizeof(*lj));

	if (lj == NULL || (lj->ls = loadset_new(conf)) == NULL) {
		free(lj);
		fv_log_error("plugins: out of memory: not reloaded");
		return;
	}
	lj->j.run = load_run;
	lj->j.done = load_done;
	fv_host_submit(h, &lj->j);
}

int
fv_host_new(struct fvd *d, struct fvp_host **out)
{
	struct fvp_host *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->refused = json_array()) == NULL) {
		free(h);
		return FV_ENOMEM;
	}
	h->d = d;
	TAILQ_INIT(&h->todo);
	TAILQ_INIT(&h->done);
	TAILQ_INIT(&h->loaded);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if ((h->ev_done = event_new(d->base, -1, 0, done_cb, h)) == NULL ||
	    pthread_create(&h->th, NULL, thread_main, h) != 0) {
		if (h->ev_done != NULL)
			event_free(h->ev_done);
		json_decref(h->refused);
		free(h);
		return FV_ENOMEM;
	}
	fv_host_reload(h, d->conf);
	*out = h;
	return 0;
}

void
fv_host_free(struct fvp_host *h)
{
	struct load_job *lj;

	if (h == NULL)
		return;
	if ((lj = calloc(1, sizeof(*lj))) != NULL) {
		lj->j.run = load_run; /* ls NULL: unload only */
		lj->j.done = load_done;
		fv_host_submit(h, &lj->j);
	}
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	done_cb(-1, 0, h); /* the answers still due */
	if (h->ltdl_ok)
		lt_dlexit();
	event_free(h->ev_done);
	json_decref(h->refused);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

/* --- the SDK: a plugin's own settings, and the log ---------------------- */

const char *
fv_config_get(const fv_host *p, const char *key)
{
	size_t i;

	for (i = 0; p->kv != NULL && p->kv[i] != NULL; i += 2)
		if (strcmp(p->kv[i], key) == 0)
			return p->kv[i + 1];
	return NULL;
}

const char *
fv_host_name(const fv_host *p)
{
	return p->inst;
}

const char *
fv_host_role(const fv_host *p)
{
	return p->role;
}

void
fv_vlog(const fv_host *p, enum fv_level level, const char *fmt, va_list ap)
{
	char line[1001];

	level = fv_sdk_log_line(line, sizeof(line), level, fmt, ap);
	fv_log_at(level, "plugin %s: %s", p != NULL ? p->name : "?", line);
}

void
fv_log(const fv_host *p, enum fv_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fv_vlog(p, level, fmt, ap);
	va_end(ap);
}

/* --- plugin list --------------------------------------------------------------- */

struct fv_host_list {
	struct fvp_job j;
	void (*done)(json_t *, void *);
	void *arg; /* NULL: the asker left */
	json_t *list;
};

static void
list_run(struct fvp_job *j)
{
	((struct fv_host_list *)j)->list = fv_host_list_json(j->host);
}

static void
list_done(struct fvp_job *j)
{
	struct fv_host_list *l = (struct fv_host_list *)j;

	if (l->arg != NULL)
		l->done(l->list ? l->list : json_array(), l->arg);
	else
		json_decref(l->list);
	free(l);
}

struct fv_host_list *
fv_host_list(struct fvd *d, void (*done)(json_t *list, void *arg), void *arg)
{
	struct fv_host_list *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->done = done;
	l->arg = arg;
	l->j.run = list_run;
	l->j.done = list_done;
	fv_host_submit(d->plugins, &l->j);
	return l;
}

void
fv_host_list_gone(struct fv_host_list *l)
{
	l->arg = NULL;
}
