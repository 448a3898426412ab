#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "fv_error.h"

#ifndef FV_PLUGINDIR
#define FV_PLUGINDIR "/usr/lib/fieldvault/plugins"
#endif

struct parse {
	struct fv_config *c;
	const char *path;
	int line;
	char *err;
	size_t errlen;
	char section[80];
	unsigned seen;		     /* bit per known key */
	unsigned tops;		     /* daemon, sync, plugins seen */
	struct fv_conf_section *cur; /* plugin / partner */
};

static int fail(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct parse *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	return FV_EINVAL;
}

int
fv_conf_partner_key_parse(const char *s, unsigned char pk[32])
{
	size_t n, pre = strlen(FV_PARTNER_KEY_PREFIX);

	if (s == NULL || strlen(s) != FV_PARTNER_KEY_LEN ||
	    strncmp(s, FV_PARTNER_KEY_PREFIX, pre) != 0 ||
	    sodium_base642bin(pk, 32, s + pre, strlen(s + pre), NULL, &n, NULL,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != 32)
		return -1;
	return 0;
}

void
fv_conf_partner_key_format(const unsigned char pk[32],
    char out[FV_PARTNER_KEY_LEN + 1])
{
	size_t pre = strlen(FV_PARTNER_KEY_PREFIX);

	memcpy(out, FV_PARTNER_KEY_PREFIX, pre);
	sodium_bin2base64(out + pre, FV_PARTNER_KEY_LEN + 1 - pre, pk, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
fv_conf_parse_duration(const char *s, long *secs)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return FV_EINVAL;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return FV_EINVAL;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return FV_EINVAL;
	}
	if (*end != '\0' && end[1] != '\0')
		return FV_EINVAL;
	if (v > 366L * 86400 / mul)
		return FV_EINVAL;
	*secs = v * mul;
	return 0;
}

static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* "host:port" with a port in 1..65535. */
static int
valid_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon == s || strlen(s) >= 128)
		return 0;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port > 0 && port <= 65535 && end != colon + 1;
}

static int
copy(struct parse *p, char *dst, size_t n, const char *key, const char *v)
{
	if (strlen(v) >= n)
		return fail(p, "%s: value too long", key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
daemon_key(struct parse *p, const char *k, const char *v)
{
	struct fv_config *c = p->c;

	if (strcmp(k, "role") == 0) {
		if (strcmp(v, "field") && strcmp(v, "hq"))
			return fail(p, "role: must be field or hq");
		return copy(p, c->role, sizeof(c->role), k, v);
	}
	if (strcmp(k, "name") == 0) {
		if (!valid_name(v))
			return fail(p,
			    "name: must be 1..64 letters, digits, "
			    "'.', '-' or '_'");
		return copy(p, c->name, sizeof(c->name), k, v);
	}
	if (strcmp(k, "data_dir") == 0) {
		if (v[0] != '/')
			return fail(p, "data_dir: must be an absolute path");
		return copy(p, c->data_dir, sizeof(c->data_dir), k, v);
	}
	if (strcmp(k, "socket") == 0) {
		if (v[0] != '/')
			return fail(p, "socket: must be an absolute path");
		return copy(p, c->socket, sizeof(c->socket), k, v);
	}
	if (strcmp(k, "log_level") == 0) {
		if (fv_log_parse_level(v, &c->log_level) != 0)
			return fail(p,
			    "log_level: must be error, warn, info "
			    "or debug");
		return 0;
	}
	if (strcmp(k, "auto_lock") == 0) {
		if (fv_conf_parse_duration(v, &c->auto_lock) != 0)
			return fail(p,
			    "auto_lock: not a duration (e.g. 0, "
			    "90s, 15m, 2h)");
		return 0;
	}
	return fail(p, "unknown key '%s' in [daemon]", k);
}

static int
sync_key(struct parse *p, const char *k, const char *v)
{
	struct fv_config *c = p->c;

	if (strcmp(k, "listen") == 0 || strcmp(k, "hq") == 0) {
		if (!valid_hostport(v))
			return fail(p, "%s: must be HOST:PORT", k);
		return copy(p, k[0] == 'l' ? c->listen : c->hq, 128, k, v);
	}
	if (strcmp(k, "interval") == 0) {
		long secs;

		if (fv_conf_parse_duration(v, &secs) != 0)
			return fail(p,
			    "interval: not a duration (e.g. 0, "
			    "5m)");
		/* 0: a device syncs only when asked (fieldvault sync, a
		 * bundle); the interval keeps its default */
		c->autosync = secs > 0;
		if (secs > 0)
			c->interval = secs;
		return 0;
	}
	if (strcmp(k, "retention") == 0) {
		if (strcmp(v, "keep") && strcmp(v, "purge_after_sync"))
			return fail(p,
			    "retention: must be keep or "
			    "purge_after_sync");
		c->purge_after_sync = v[0] == 'p';
		return 0;
	}
	return fail(p, "unknown key '%s' in [sync]", k);
}

static int
plugins_key(struct parse *p, const char *k, const char *v)
{
	struct fv_config *c = p->c;

	if (strcmp(k, "dir") == 0) {
		if (v[0] != '/')
			return fail(p, "dir: must be an absolute path");
		return copy(p, c->plugins_dir, sizeof(c->plugins_dir), k, v);
	}
	if (strcmp(k, "load") == 0)
		return copy(p, c->plugins_load, sizeof(c->plugins_load), k, v);
	return fail(p, "unknown key '%s' in [plugins]", k);
}

static int
section_key(struct parse *p, const char *k, const char *v)
{
	struct fv_conf_section *s = p->cur;
	struct fv_conf_kv *kv;
	unsigned char pk[32];
	size_t i;

	if (strncmp(p->section, "partner.", 8) == 0 &&
	    strcmp(k, "public_key") != 0)
		return fail(p, "unknown key '%s' in [%s]", k, p->section);
	if (strncmp(p->section, "partner.", 8) == 0 &&
	    fv_conf_partner_key_parse(v, pk) != 0)
		return fail(p,
		    "public_key: not a partner key (\"%s\" and 43 "
		    "base64url characters, as the partner's 'fieldvault keys "
		    "show' prints it)",
		    FV_PARTNER_KEY_PREFIX);
	for (i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, k) == 0)
			return fail(p, "'%s' set twice in [%s]", k, p->section);
	if ((kv = realloc(s->kv, (s->nkv + 1) * sizeof(*kv))) == NULL)
		return fail(p, "out of memory");
	s->kv = kv;
	kv[s->nkv].key = strdup(k);
	kv[s->nkv].val = strdup(v);
	kv[s->nkv].line = p->line;
	if (kv[s->nkv].key == NULL || kv[s->nkv].val == NULL) {
		free(kv[s->nkv].key);
		free(kv[s->nkv].val);
		return fail(p, "out of memory");
	}
	s->nkv++;
	return 0;
}

static int
open_section(struct parse *p, const char *name)
{
	struct fv_config *c = p->c;
	struct fv_conf_section **list, *s;
	size_t *n, i;
	const char *sub;

	if (strlen(name) >= sizeof(p->section))
		return fail(p, "section name too long");
	snprintf(p->section, sizeof(p->section), "%s", name);
	p->cur = NULL;
	p->seen = 0;
	if (!strcmp(name, "daemon") || !strcmp(name, "sync") ||
	    !strcmp(name, "plugins")) {
		/* a second [daemon] would let a key be set twice unseen */
		unsigned bit = name[0] == 'd' ? 1 : name[0] == 's' ? 2 : 4;

		if (p->tops & bit)
			return fail(p, "section [%s] appears twice", name);
		p->tops |= bit;
		return 0;
	}
	if (strncmp(name, "plugin.", 7) == 0) {
		list = &c->plugins;
		n = &c->nplugins;
		sub = name + 7;
	} else if (strncmp(name, "partner.", 8) == 0) {
		list = &c->partners;
		n = &c->npartners;
		sub = name + 8;
	} else
		return fail(p, "unknown section [%s]", name);
	if (!valid_name(sub))
		return fail(p, "[%s]: bad name", name);
	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i].name, sub) == 0)
			return fail(p, "section [%s] appears twice", name);
	if (*n >= FV_CONF_SECTIONS_MAX)
		return fail(p, "too many sections");
	if ((s = realloc(*list, (*n + 1) * sizeof(*s))) == NULL)
		return fail(p, "out of memory");
	*list = s;
	s = &s[(*n)++];
	memset(s, 0, sizeof(*s));
	s->line = p->line;
	if ((s->name = strdup(sub)) == NULL)
		return fail(p, "out of memory");
	p->cur = s;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
parse_line(struct parse *p, char *line)
{
	static const char *daemon_keys[] = { "role", "name", "data_dir",
		"socket", "log_level", "auto_lock", "listen", "hq", "interval",
		"retention", "dir", "load", NULL };
	char *s, *eq, *k, *v, *c;
	unsigned bit;
	int i;

	/* a comment starts at ';' or '#' at line start or after blank */
	for (c = line; *c != '\0'; c++)
		if ((*c == ';' || *c == '#') &&
		    (c == line || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			break;
		}
	s = trim(line);
	if (*s == '\0')
		return 0;
	if (*s == '[') {
		if (s[strlen(s) - 1] != ']')
			return fail(p, "section header must end with ']'");
		s[strlen(s) - 1] = '\0';
		return open_section(p, trim(s + 1));
	}
	if ((eq = strchr(s, '=')) == NULL)
		return fail(p, "expected 'key = value'");
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (*k == '\0')
		return fail(p, "missing key before '='");
	if (p->section[0] == '\0')
		return fail(p, "'%s' outside any section", k);
	if (p->cur != NULL)
		return section_key(p, k, v);
	for (i = 0, bit = 0; daemon_keys[i] != NULL; i++)
		if (strcmp(daemon_keys[i], k) == 0)
			bit = 1u << i;
	if (bit && (p->seen & bit))
		return fail(p, "'%s' set twice in [%s]", k, p->section);
	p->seen |= bit;
	if (*v == '\0')
		return fail(p, "%s: empty value", k);
	if (strcmp(p->section, "daemon") == 0)
		return daemon_key(p, k, v);
	if (strcmp(p->section, "sync") == 0)
		return sync_key(p, k, v);
	return plugins_key(p, k, v);
}

int
fv_conf_load(const char *path, struct fv_config **out, char *err, size_t errlen)
{
	struct parse p;
	struct fv_config *c;
	char line[FV_CONF_LINE_MAX + 2];
	FILE *f;
	int rc = 0;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FV_EIO;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return FV_ENOMEM;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->log_level = FV_LOG_INFO;
	c->auto_lock = 15 * 60;
	c->interval = 5 * 60;
	c->autosync = 1;
	snprintf(c->plugins_dir, sizeof(c->plugins_dir), "%s", FV_PLUGINDIR);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		p.line++;
		if (n > 0 && line[n - 1] == '\n')
			n--; /* the newline is not counted */
		if (n > FV_CONF_LINE_MAX)
			rc = fail(&p, "line longer than %d bytes",
			    FV_CONF_LINE_MAX);
		else
			rc = parse_line(&p, line);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = FV_EIO;
	}
	fclose(f);
	p.line = 0;
	if (rc == 0 && c->role[0] == '\0')
		rc = fail(&p, "[daemon] role is required");
	else if (rc == 0 && c->name[0] == '\0')
		rc = fail(&p, "[daemon] name is required");
	else if (rc == 0 && c->data_dir[0] == '\0')
		rc = fail(&p, "[daemon] data_dir is required");
	if (rc == 0 && c->socket[0] == '\0' &&
	    (size_t)snprintf(c->socket, sizeof(c->socket), "%s/control.sock",
		c->data_dir) >= sizeof(c->socket))
		rc = fail(&p,
		    "data_dir too long for the default socket path; "
		    "set [daemon] socket");
	if (rc != 0) {
		fv_conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void
free_sections(struct fv_conf_section *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < s[i].nkv; j++) {
			free(s[i].kv[j].key);
			free(s[i].kv[j].val);
		}
		free(s[i].kv);
		free(s[i].name);
	}
	free(s);
}

void
fv_conf_free(struct fv_config *c)
{
	if (c == NULL)
		return;
	free_sections(c->plugins, c->nplugins);
	free_sections(c->partners, c->npartners);
	free(c);
}
