#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/conf.h"
#include "ivr/hours.h"
#include "ivr/log.h"
#include "ivr/prompt.h"
#include "ivr/util.h"
#include "table.h"

/* A prompt name in use, with the first setting that named it (for error lines). */
struct prompt_use {
	char file[256];
	int line;
	char path[128];
};

struct loader {
	struct conf *c;
	struct conf_errors *e;
	const char *file; /* main file, for settings without a source line */
	const char *dir;  /* where @include paths are relative to */
	struct prompt_use *uses;
	size_t nuses_alloc;
	int nomem;
};

/* Values read through the table; strings point into libconfig's tree. */
struct val {
	const char *s;
	long long i;
	double d;
	bool b;
	const config_setting_t *set; /* NULL when the default applies */
};

static const char key_chars[CONF_KEYS + 1] = "0123456789*#ABCD";

int
conf_key_index(char key)
{
	const char *p;

	if (key == '\0')
		return -1;
	p = strchr(key_chars, key);
	return p == NULL ? -1 : (int)(p - key_chars);
}

static void
add_line(struct loader *l, char ***list, size_t *n, const char *line)
{
	char **nl = realloc(*list, (*n + 1) * sizeof(**list));
	char *dup = strdup(line);

	if (nl == NULL || dup == NULL) {
		free(dup);
		if (nl != NULL)
			*list = nl;
		l->nomem = 1;
		return;
	}
	*list = nl;
	(*list)[(*n)++] = dup;
}

/* Setting paths are cut rather than overflowed; a cut path still points at the setting. */
static void __attribute__((format(printf, 3, 4)))
pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(buf, size, fmt, ap) >= (int)size)
		buf[size - 1] = '\0';
	va_end(ap);
}

static void
setting_where(const struct loader *l, const config_setting_t *s, char *buf, size_t size)
{
	const char *file = s != NULL ? config_setting_source_file(s) : NULL;
	int line = s != NULL ? (int)config_setting_source_line(s) : 0;

	const char *dir = "";

	if (file == NULL)
		file = l->file;
	/* libconfig names an @include as written; say where it really is */
	if (file != l->file && strcmp(file, l->file) != 0 && file[0] != '/' && l->dir != NULL)
		dir = l->dir;
	if (line > 0)
		snprintf(buf, size, "%s%s%s:%d", dir, dir[0] ? "/" : "", file, line);
	else
		snprintf(buf, size, "%s%s%s", dir, dir[0] ? "/" : "", file);
}

static void __attribute__((format(printf, 5, 6)))
report(struct loader *l, bool error, const config_setting_t *s, const char *path,
	const char *fmt, ...)
{
	char where[300], msg[512], line[1024];
	va_list ap;

	setting_where(l, s, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s: %s", where, path, msg);
	if (error)
		add_line(l, &l->e->errors, &l->e->nerrors, line);
	else
		add_line(l, &l->e->warnings, &l->e->nwarnings, line);
}

#define conf_error(l, s, path, ...) report(l, true, s, path, __VA_ARGS__)
#define conf_warn(l, s, path, ...) report(l, false, s, path, __VA_ARGS__)

void
conf_errors_free(struct conf_errors *e)
{
	for (size_t i = 0; i < e->nerrors; i++)
		free(e->errors[i]);
	for (size_t i = 0; i < e->nwarnings; i++)
		free(e->warnings[i]);
	free(e->errors);
	free(e->warnings);
	memset(e, 0, sizeof(*e));
}

static char *
xstrdup(struct loader *l, const char *s)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL)
		l->nomem = 1;
	return d;
}

/* A path as conf_blocks names it: "departments.billing.callback" is
 * "departments.NAME.callback". */
static const char *
generic_path(char *buf, size_t size, const char *path)
{
	const char *dot = strchr(path, '.');
	const char *next = dot != NULL ? strchr(dot + 1, '.') : NULL;

	if (next == NULL || (strncmp(path, "departments.", 12) != 0 &&
	    strncmp(path, "menus.", 6) != 0))
		return path;
	pathf(buf, size, "%.*s.NAME%s", (int)(dot - path), path, next);
	return buf;
}

/* Settings a block does not know are errors: a typo must not be silently ignored. */
static void
check_unknown(struct loader *l, const config_setting_t *group, const struct conf_opt *opts,
	const char *path)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		char p[256], g[256];

		if (name == NULL || conf_table_find(opts, name) != NULL)
			continue;
		pathf(p, sizeof(p), "%s.%s", path, name);
		if (config_setting_is_group(s) && (conf_block_opts(p) != NULL ||
			conf_block_opts(generic_path(g, sizeof(g), p)) != NULL))
			continue; /* a sub-group with its own table, checked when it is loaded */
		conf_error(l, s, p, "unknown setting");
	}
}

static const char *
type_name(enum opt_type t)
{
	switch (t) {
	case OPT_STRING: return "a string";
	case OPT_INT: return "an integer";
	case OPT_SECONDS: return "a number of seconds";
	case OPT_BOOL: return "true or false";
	case OPT_STRINGS: return "a list of strings";
	case OPT_PORTS: return "[first, last]";
	case OPT_LIST: return "a list of groups";
	case OPT_NUMBER: return "a number";
	}
	return "?";
}

static void
effective(struct loader *l, const char *path, const struct conf_opt *o, const struct val *v)
{
	char line[1024];
	size_t off = 0;

	str_appendf(line, sizeof(line), &off, "%s = ", path);
	if (v->set == NULL) {
		if (o->def == NULL)
			return;
		if (o->type == OPT_STRING)
			str_appendf(line, sizeof(line), &off, "\"%s\"; # default", o->def);
		else
			str_appendf(line, sizeof(line), &off, "%s; # default", o->def);
		add_line(l, &l->c->effective, &l->c->neffective, line);
		return;
	}
	if (o->type == OPT_STRING && (strcmp(o->name, "password") == 0 ||
		strcmp(o->name, "token") == 0)) {
		/* a secret is never printed, not even to ivrctl show config */
		str_appendf(line, sizeof(line), &off, "\"********\"; # set, not shown");
		add_line(l, &l->c->effective, &l->c->neffective, line);
		return;
	}
	switch (o->type) {
	case OPT_STRING: str_appendf(line, sizeof(line), &off, "\"%s\";", v->s); break;
	case OPT_INT: str_appendf(line, sizeof(line), &off, "%lld;", v->i); break;
	case OPT_SECONDS:
	case OPT_NUMBER: str_appendf(line, sizeof(line), &off, "%g;", v->d); break;
	case OPT_BOOL: str_appendf(line, sizeof(line), &off, "%s;", v->b ? "true" : "false"); break;
	case OPT_STRINGS:
	case OPT_PORTS:
		str_appendf(line, sizeof(line), &off, "[");
		for (int i = 0; i < config_setting_length(v->set); i++) {
			const config_setting_t *e = config_setting_get_elem(v->set, (unsigned)i);
			if (o->type == OPT_PORTS)
				str_appendf(line, sizeof(line), &off, "%s%lld", i ? ", " : "",
					config_setting_get_int64(e));
			else
				str_appendf(line, sizeof(line), &off, "%s\"%s\"", i ? ", " : "",
					config_setting_get_string(e));
		}
		str_appendf(line, sizeof(line), &off, "];");
		break;
	case OPT_LIST:
		return;
	}
	add_line(l, &l->c->effective, &l->c->neffective, line);
}

static bool
get_value(struct loader *l, const config_setting_t *group, const struct conf_opt *opts,
	const char *path, const char *name, struct val *v)
{
	const struct conf_opt *o = conf_table_find(opts, name);
	config_setting_t *s = group != NULL ? config_setting_get_member(group, name) : NULL;
	char p[256];
	int t;

	memset(v, 0, sizeof(*v));
	pathf(p, sizeof(p), "%s.%s", path, name);
	if (s == NULL) {
		if (o->required) {
			conf_error(l, group, p, "missing (%s)", o->help);
			return false;
		}
		if (o->def == NULL)
			return true;
		switch (o->type) {
		case OPT_STRING: v->s = o->def; break;
		case OPT_INT: v->i = strtoll(o->def, NULL, 10); break;
		case OPT_SECONDS:
		case OPT_NUMBER: v->d = strtod(o->def, NULL); break;
		case OPT_BOOL: v->b = strcmp(o->def, "true") == 0; break;
		default: break; /* lists: callers supply their own default */
		}
		return true;
	}
	v->set = s;
	t = config_setting_type(s);
	switch (o->type) {
	case OPT_STRING:
		if (t != CONFIG_TYPE_STRING)
			goto bad_type;
		v->s = config_setting_get_string(s);
		if (v->s[0] == '\0') {
			conf_error(l, s, p, "must not be empty");
			return false;
		}
		return true;
	case OPT_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			goto bad_type;
		v->b = config_setting_get_bool(s);
		return true;
	case OPT_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			goto bad_type;
		v->i = config_setting_get_int64(s);
		v->d = (double)v->i;
		break;
	case OPT_SECONDS:
	case OPT_NUMBER:
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
			v->d = (double)config_setting_get_int64(s);
		else if (t == CONFIG_TYPE_FLOAT)
			v->d = config_setting_get_float(s);
		else
			goto bad_type;
		break;
	case OPT_STRINGS:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			goto bad_type;
		for (int i = 0; i < config_setting_length(s); i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				conf_error(l, e, p, "element %d is not a string", i + 1);
				return false;
			}
		}
		return true;
	case OPT_PORTS:
		if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) ||
		    config_setting_length(s) != 2 ||
		    config_setting_type(config_setting_get_elem(s, 0)) != CONFIG_TYPE_INT ||
		    config_setting_type(config_setting_get_elem(s, 1)) != CONFIG_TYPE_INT)
			goto bad_type;
		return true;
	case OPT_LIST:
		if (t != CONFIG_TYPE_LIST)
			goto bad_type;
		return true;
	}
	if ((o->min != 0 || o->max != 0) && (v->d < o->min || v->d > o->max || isnan(v->d))) {
		conf_error(l, s, p, "%g is out of range (%g to %g)", v->d, o->min, o->max);
		return false;
	}
	return true;
bad_type:
	conf_error(l, s, p, "must be %s", type_name(o->type));
	return false;
}

/* Reads one table setting from group (which may be NULL: defaults). Returns false when it
 * is missing with no default or wrong, after reporting. */
static bool
get(struct loader *l, const config_setting_t *group, const struct conf_opt *opts,
	const char *path, const char *name, struct val *v)
{
	char p[256];

	if (!get_value(l, group, opts, path, name, v))
		return false;
	pathf(p, sizeof(p), "%s.%s", path, name);
	effective(l, p, conf_table_find(opts, name), v);
	return true;
}

/* Interns a prompt name; returns its id or -1 after reporting a bad name. */
static int
prompt_id(struct loader *l, const char *name, const config_setting_t *s, const char *path)
{
	struct conf *c = l->c;
	char probe[PATH_MAX];
	size_t i;

	for (i = 0; i < c->nprompts; i++)
		if (strcmp(c->prompt_names[i], name) == 0)
			return (int)i;
	if (prompt_resolve(probe, sizeof(probe), "/", "x", name) == EINVAL) {
		conf_error(l, s, path, "\"%s\" is not a prompt name (letters, digits, _ - and /)",
			name);
		return -1;
	}
	if (i >= l->nuses_alloc) {
		size_t n = l->nuses_alloc ? l->nuses_alloc * 2 : 16;
		struct prompt_use *nu = realloc(l->uses, n * sizeof(*nu));
		char **nn = realloc(c->prompt_names, n * sizeof(*nn));
		if (nn != NULL)
			c->prompt_names = nn;
		if (nu != NULL)
			l->uses = nu;
		if (nu == NULL || nn == NULL) {
			l->nomem = 1;
			return -1;
		}
		l->nuses_alloc = n;
	}
	c->prompt_names[i] = xstrdup(l, name);
	if (c->prompt_names[i] == NULL)
		return -1;
	setting_where(l, s, l->uses[i].file, sizeof(l->uses[i].file));
	str_copy(l->uses[i].path, path, sizeof(l->uses[i].path));
	c->nprompts++;
	return (int)i;
}

static int
get_prompt(struct loader *l, const config_setting_t *group, const struct conf_opt *opts,
	const char *path, const char *name, const char *def)
{
	struct val v;
	char p[256];

	if (!get(l, group, opts, path, name, &v))
		return -1;
	if (v.s == NULL)
		v.s = def;
	if (v.s == NULL)
		return -1;
	pathf(p, sizeof(p), "%s.%s", path, name);
	return prompt_id(l, v.s, v.set != NULL ? v.set : group, p);
}

static bool
parse_action(struct loader *l, const char *text, struct conf_action *a,
	const config_setting_t *s, const char *path)
{
	memset(a, 0, sizeof(*a));
	if (strcmp(text, "repeat") == 0) {
		a->kind = ACT_REPEAT;
	} else if (strcmp(text, "back") == 0) {
		a->kind = ACT_BACK;
	} else if (strncmp(text, "menu:", 5) == 0) {
		a->kind = ACT_MENU;
		a->index = conf_menu_find(l->c, text + 5);
		if (a->index < 0) {
			conf_error(l, s, path, "no menu named \"%s\"", text + 5);
			a->kind = ACT_NONE;
			return false;
		}
	} else if (strncmp(text, "dept:", 5) == 0) {
		a->kind = ACT_DEPT;
		a->index = conf_dept_find(l->c, text + 5);
		if (a->index < 0) {
			conf_error(l, s, path, "no department named \"%s\"", text + 5);
			a->kind = ACT_NONE;
			return false;
		}
	} else {
		conf_error(l, s, path,
			"\"%s\" is not an action (menu:NAME, dept:NAME, repeat or back)", text);
		return false;
	}
	return true;
}

static bool
parse_listen(struct conf_listen *li, const char *text)
{
	char host[64];
	const char *rest, *colon;
	char *end;
	long port;
	struct sockaddr_in *sin = (struct sockaddr_in *)&li->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&li->addr;

	memset(li, 0, sizeof(*li));
	if (strncmp(text, "udp:", 4) == 0)
		li->proto = CONF_UDP;
	else if (strncmp(text, "tcp:", 4) == 0)
		li->proto = CONF_TCP;
	else
		return false;
	rest = text + 4;
	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - rest - 1) >= sizeof(host))
			return false;
		memcpy(host, rest + 1, (size_t)(close - rest - 1));
		host[close - rest - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL || (size_t)(colon - rest) >= sizeof(host))
			return false;
		memcpy(host, rest, (size_t)(colon - rest));
		host[colon - rest] = '\0';
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return false;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		li->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		li->addrlen = sizeof(*sin6);
	} else {
		return false;
	}
	str_copy(li->text, text, sizeof(li->text));
	return true;
}

/* "ADDRESS" or "ADDRESS/BITS", IPv4 or IPv6; bits past the prefix are ignored. */
static bool
parse_prefix(struct conf_prefix *p, const char *text)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t hl = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned max;
	char *end;
	long bits;

	memset(p, 0, sizeof(*p));
	if (hl >= sizeof(host))
		return false;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	p->bits = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || slash[1] == '\0' || bits < 0 || bits > max)
			return false;
		p->bits = (unsigned)bits;
	}
	return true;
}

static char **
strings(struct loader *l, const config_setting_t *s, size_t *n)
{
	int len = config_setting_length(s);
	char **v = calloc((size_t)len + 1, sizeof(*v));

	*n = 0;
	if (v == NULL) {
		l->nomem = 1;
		return NULL;
	}
	for (int i = 0; i < len; i++) {
		v[i] = xstrdup(l, config_setting_get_string_elem(s, i));
		if (v[i] == NULL)
			break;
		(*n)++;
	}
	return v;
}

static int
lang_index(const struct conf *c, const char *lang)
{
	for (size_t i = 0; i < c->nlangs; i++)
		if (strcmp(c->langs[i], lang) == 0)
			return (int)i;
	return -1;
}

static bool
valid_lang(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '-' ||
			(*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* ivrd.loop_guard: absent, the guard is off. */
static void
load_loop_guard(struct loader *l, const config_setting_t *g)
{
	struct conf_loop_guard *lg = &l->c->loop_guard;
	const struct conf_opt *opts = conf_block_opts("ivrd.loop_guard");
	const char *path = "ivrd.loop_guard";
	struct val v;

	lg->dept = -1;
	lg->prompt = -1;
	if (g == NULL || !config_setting_is_group(g))
		return;
	lg->on = true;
	check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "window", &v))
		lg->window_s = (unsigned)lround(v.d);
	if (get(l, g, opts, path, "max_transfers", &v))
		lg->max_transfers = (unsigned)v.i;
	if (get(l, g, opts, path, "max_drops", &v))
		lg->max_drops = (unsigned)v.i;
	if (get(l, g, opts, path, "max_calls", &v))
		lg->max_calls = (unsigned)v.i;
	if (get(l, g, opts, path, "dept", &v) && v.s != NULL &&
	    (lg->dept = conf_dept_find(l->c, v.s)) < 0)
		conf_error(l, v.set, "ivrd.loop_guard.dept", "no department named \"%s\"", v.s);
	lg->prompt = get_prompt(l, g, opts, path, "prompt", NULL);
}

/* ivrd.callbacks: how fast promises are dialled back; defaults when absent. */
static void
load_callbacks(struct loader *l, const config_setting_t *g)
{
	const struct conf_opt *opts = conf_block_opts("ivrd.callbacks");
	const char *path = "ivrd.callbacks";
	struct val v;

	if (g != NULL && !config_setting_is_group(g))
		g = NULL;
	if (g != NULL)
		check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "rate", &v))
		l->c->callback_rate = v.d;
	if (get(l, g, opts, path, "lease", &v))
		l->c->callback_lease_s = (unsigned)lround(v.d);
}

/* ivrd.dashboard: the QA pages on http_listen. Numbers describe callers: served beyond
 * this machine only with a token. */
static void
load_dashboard(struct loader *l, const config_setting_t *g)
{
	const struct conf_opt *opts = conf_block_opts("ivrd.dashboard");
	const char *path = "ivrd.dashboard", *hl = l->c->http_listen;
	struct val v;

	if (g != NULL && !config_setting_is_group(g))
		g = NULL;
	if (g != NULL)
		check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "enabled", &v))
		l->c->dashboard = v.b;
	if (get(l, g, opts, path, "token", &v) && v.s != NULL)
		l->c->dashboard_token = xstrdup(l, v.s);
	if (get(l, g, opts, path, "full_numbers", &v))
		l->c->dashboard_full_numbers = v.b;
	if (l->c->dashboard && hl != NULL && l->c->dashboard_token == NULL &&
	    strncmp(hl, "127.", 4) != 0 && strncmp(hl, "[::1]:", 6) != 0)
		conf_warn(l, g, path, "http_listen %s is not a loopback address and no token is "
			"set: the dashboard answers loopback peers only", hl);
}

/* departments.NAME.callback: absent, the department offers no call backs. */
static void
load_dept_callback(struct loader *l, const config_setting_t *dg, struct conf_dept *d,
	const char *dpath)
{
	static const char *const offers[] = {"closed", "unavailable", "overflow"};
	const struct conf_opt *opts = conf_block_opts("departments.NAME.callback");
	const config_setting_t *g = config_setting_get_member(dg, "callback");
	struct conf_callback *cb = &d->callback;
	char path[256], p[288];
	struct val v;

	cb->name_prompt = -1;
	pathf(path, sizeof(path), "%s.callback", dpath);
	if (g == NULL)
		return;
	if (!config_setting_is_group(g)) {
		conf_error(l, g, path, "must be a group { offer = [...]; ... }");
		return;
	}
	cb->on = true;
	check_unknown(l, g, opts, path);
	pathf(p, sizeof(p), "%s.offer", path);
	if (get(l, g, opts, path, "offer", &v)) {
		if (v.set == NULL)
			cb->offer = CB_OFFER_CLOSED | CB_OFFER_UNAVAILABLE | CB_OFFER_OVERFLOW;
		for (int i = 0; v.set != NULL && i < config_setting_length(v.set); i++) {
			const char *w = config_setting_get_string_elem(v.set, i);
			size_t k;
			for (k = 0; k < ARRAY_LEN(offers); k++)
				if (strcmp(w, offers[k]) == 0)
					break;
			if (k == ARRAY_LEN(offers))
				conf_error(l, v.set, p, "\"%s\" is not closed, unavailable or overflow",
					w);
			else
				cb->offer |= 1u << k;
		}
	}
	if (get(l, g, opts, path, "service_level", &v))
		cb->service_level_s = (unsigned)lround(v.d);
	if (get(l, g, opts, path, "window", &v))
		cb->window_s = (unsigned)lround(v.d);
	if (get(l, g, opts, path, "attempts", &v))
		cb->attempts = (unsigned)v.i;
	if (get(l, g, opts, path, "retry", &v))
		cb->retry_s = (unsigned)lround(v.d);
	if (get(l, g, opts, path, "max_active", &v))
		cb->max_active = (unsigned)v.i;
	pathf(p, sizeof(p), "%s.order", path);
	if (get(l, g, opts, path, "order", &v)) {
		if (strcmp(v.s, "caller-first") == 0)
			cb->order = CB_CALLER_FIRST;
		else if (strcmp(v.s, "department-first") == 0)
			cb->order = CB_DEPT_FIRST;
		else
			conf_error(l, v.set, p, "\"%s\" is not \"caller-first\" or "
				"\"department-first\"", v.s);
	}
	pathf(p, sizeof(p), "%s.returning", path);
	if (get(l, g, opts, path, "returning", &v)) {
		if (strcmp(v.s, "offer") == 0)
			cb->returning = CB_RETURN_OFFER;
		else if (strcmp(v.s, "route") == 0)
			cb->returning = CB_RETURN_ROUTE;
		else
			conf_error(l, v.set, p, "\"%s\" is not \"offer\" or \"route\"", v.s);
	}
	if (cb->service_level_s >= cb->window_s)
		conf_error(l, g, path, "service_level %u s is not less than window %u s: every "
			"promise would be broken before it is due", cb->service_level_s,
			cb->window_s);
	cb->name_prompt = get_prompt(l, g, opts, path, "name_prompt", NULL);
}

/* The prompts of the callback conversation, by name under prompts_dir/LANG/: interned
 * (loaded with the others) when a department or a menu option uses them. */
static void
load_cb_prompts(struct loader *l, const config_setting_t *s)
{
	static const char *const days[7] = {"sunday", "monday", "tuesday", "wednesday",
		"thursday", "friday", "saturday"};
	struct conf_cb_prompts *cp = &l->c->cb_prompts;
	const char *path = "callback prompts";
	char name[64];
	bool used = false;

	for (size_t i = 0; i < l->c->ndepts; i++)
		used |= l->c->depts[i].callback.on;
	for (size_t i = 0; i < l->c->nmenus; i++)
		for (int k = 0; k < CONF_KEYS; k++)
			used |= l->c->menus[i].key_set[k] &&
				(l->c->menus[i].keys[k].kind == ACT_CALLBACK ||
				 l->c->menus[i].keys[k].kind == ACT_CALLBACK_CANCEL);
	if (!used)
		return;
	/* a promise nobody can dial is the broken promise this product exists to prevent */
	for (size_t i = 0; i < l->c->ndepts && !l->c->outbound.on; i++)
		if (l->c->depts[i].callback.on) {
			char where[160];
			snprintf(where, sizeof(where), "departments.%s.callback",
				l->c->depts[i].name);
			conf_error(l, s, where, "call backs are dialled through "
				"ivrd.sip.outbound.proxy, which is off");
			break;
		}
#define CBP(field, n) cp->field = prompt_id(l, "callback/" n, s, path)
	CBP(offer, "offer");
	CBP(number_is, "number-is");
	CBP(confirm, "confirm");
	CBP(enter_number, "enter-number");
	CBP(invalid_number, "invalid-number");
	CBP(promised, "promised");
	CBP(today, "today");
	CBP(tomorrow, "tomorrow");
	CBP(at, "at");
	CBP(this_is, "this-is");
	CBP(for_caller, "for-caller");
	CBP(returning, "returning");
	CBP(returning_keys, "returning-keys");
	CBP(cancelled, "cancelled");
	CBP(none, "none");
	CBP(goodbye, "goodbye");
#undef CBP
	for (int i = 0; i < 7; i++) {
		pathf(name, sizeof(name), "callback/%s", days[i]);
		cp->weekday[i] = prompt_id(l, name, s, path);
	}
	for (int i = 0; i < 48; i++) {
		pathf(name, sizeof(name), "callback/time-%02d%02d", i / 2, i % 2 * 30);
		cp->times[i] = prompt_id(l, name, s, path);
	}
	for (int i = 0; i < 10; i++) {
		pathf(name, sizeof(name), "callback/digit-%d", i);
		cp->digits[i] = prompt_id(l, name, s, path);
	}
}

/* ivrd.sip.outbound: where calls ivrd places go, and the credentials for the proxy. */
static void
load_outbound(struct loader *l, const config_setting_t *sip)
{
	struct conf_outbound *ob = &l->c->outbound;
	const char *path = "ivrd.sip.outbound";
	const struct conf_opt *opts = conf_block_opts(path);
	const config_setting_t *g = sip != NULL ? config_setting_get_member(sip, "outbound") : NULL;
	struct val v;

	if (g != NULL && !config_setting_is_group(g)) {
		conf_error(l, g, path, "must be a group { ... }");
		g = NULL;
	}
	if (g != NULL)
		check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "proxy", &v) && v.s != NULL && strcmp(v.s, "off") != 0) {
		if (!parse_listen(&ob->proxy, v.s) || ob->proxy.proto != CONF_UDP)
			conf_error(l, v.set, "ivrd.sip.outbound.proxy", "\"%s\" is not \"off\" or "
				"udp:ADDRESS:PORT with a numeric IPv4 or [IPv6] address", v.s);
		else
			ob->on = true;
	}
	if (get(l, g, opts, path, "from", &v) && v.s != NULL) {
		if ((strncmp(v.s, "sip:", 4) != 0 && strncmp(v.s, "sips:", 5) != 0) ||
		    strchr(v.s, '@') == NULL || strcspn(v.s, " \t<>\"") != strlen(v.s))
			conf_error(l, v.set, "ivrd.sip.outbound.from",
				"\"%s\" is not a sip: URI like \"sip:ivrd@callcenter.example\"", v.s);
		ob->from = xstrdup(l, v.s);
	}
	if (get(l, g, opts, path, "domain", &v) && v.s != NULL) {
		if (strcspn(v.s, " \t<>\"@;") != strlen(v.s))
			conf_error(l, v.set, "ivrd.sip.outbound.domain", "\"%s\" is not a host name "
				"or address (with an optional :PORT)", v.s);
		ob->domain = xstrdup(l, v.s);
	}
	if (get(l, g, opts, path, "username", &v) && v.s != NULL)
		ob->username = xstrdup(l, v.s);
	if (get(l, g, opts, path, "password", &v) && v.s != NULL)
		ob->password = xstrdup(l, v.s);
	if (get(l, g, opts, path, "realm", &v) && v.s != NULL)
		ob->realm = xstrdup(l, v.s);
	if ((ob->username == NULL) != (ob->password == NULL))
		conf_error(l, g, ob->username != NULL ? "ivrd.sip.outbound.password" :
			"ivrd.sip.outbound.username", "missing (username and password go together)");
	if (get(l, g, opts, path, "ring_timeout", &v))
		ob->ring_timeout_ms = (unsigned)lround(v.d * 1000);
	if (get(l, g, opts, path, "max_outbound", &v))
		ob->max_outbound = (unsigned)v.i;
}

static void
load_ivrd(struct loader *l, const config_t *cfg, struct val *operator, struct val *entry)
{
	struct conf *c = l->c;
	const config_setting_t *top = config_lookup(cfg, "ivrd");
	const config_setting_t *sip = top ? config_setting_get_member(top, "sip") : NULL;
	const config_setting_t *rtp = top ? config_setting_get_member(top, "rtp") : NULL;
	const struct conf_opt *ivrd_opts = conf_block_opts("ivrd");
	const struct conf_opt *sip_opts = conf_block_opts("ivrd.sip");
	const struct conf_opt *rtp_opts = conf_block_opts("ivrd.rtp");
	struct val v, dl;

	if (top == NULL) {
		conf_error(l, NULL, "ivrd", "missing (the daemon's own settings)");
	} else {
		/* sip and rtp are sub-groups, not table settings */
		int n = config_setting_length(top);
		for (int i = 0; i < n; i++) {
			config_setting_t *s = config_setting_get_elem(top, (unsigned)i);
			const char *name = config_setting_name(s);
			char p[256];
			if (strcmp(name, "sip") == 0 || strcmp(name, "rtp") == 0 ||
			    strcmp(name, "loop_guard") == 0 || strcmp(name, "callbacks") == 0 ||
			    strcmp(name, "dashboard") == 0) {
				if (!config_setting_is_group(s)) {
					pathf(p, sizeof(p), "ivrd.%s", name);
					conf_error(l, s, p, "must be a group { ... }");
				}
				continue;
			}
			if (conf_table_find(ivrd_opts, name) == NULL) {
				pathf(p, sizeof(p), "ivrd.%s", name);
				conf_error(l, s, p, "unknown setting");
			}
		}
	}
	if (sip != NULL && !config_setting_is_group(sip))
		sip = NULL;
	if (rtp != NULL && !config_setting_is_group(rtp))
		rtp = NULL;

	if (get(l, top, ivrd_opts, "ivrd", "state_dir", &v))
		c->state_dir = xstrdup(l, v.s);
	if (get(l, top, ivrd_opts, "ivrd", "control_socket", &v))
		c->control_socket = xstrdup(l, v.s);
	if (get(l, top, ivrd_opts, "ivrd", "prompts_dir", &v))
		c->prompts_dir = xstrdup(l, v.s);
	if (get(l, top, ivrd_opts, "ivrd", "control_group", &v) && v.s != NULL) {
		c->control_group = xstrdup(l, v.s);
		if (getgrnam(v.s) == NULL)
			conf_error(l, v.set, "ivrd.control_group", "no group named \"%s\" on this "
				"machine", v.s);
	}
	if (get(l, top, ivrd_opts, "ivrd", "drain_time", &v))
		c->drain_ms = (unsigned)lround(v.d * 1000);
	if (get(l, top, ivrd_opts, "ivrd", "http_listen", &v) && strcmp(v.s, "off") != 0) {
		char host[64];
		const char *colon = strrchr(v.s, ':');
		long port = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
		struct in6_addr a;
		size_t hl = colon != NULL ? (size_t)(colon - v.s) : 0;
		if (hl > 0 && v.s[0] == '[' && v.s[hl - 1] == ']' && hl - 2 < sizeof(host)) {
			memcpy(host, v.s + 1, hl - 2);
			host[hl - 2] = '\0';
		} else if (hl < sizeof(host)) {
			memcpy(host, v.s, hl);
			host[hl] = '\0';
		} else {
			host[0] = '\0';
		}
		if (port < 1 || port > 65535 || (inet_pton(AF_INET, host, &a) != 1 &&
			inet_pton(AF_INET6, host, &a) != 1))
			conf_error(l, v.set, "ivrd.http_listen",
				"\"%s\" is not ADDRESS:PORT with a numeric address, nor \"off\"", v.s);
		else
			c->http_listen = xstrdup(l, v.s);
	}
	get(l, top, ivrd_opts, "ivrd", "operator", operator);
	get(l, top, ivrd_opts, "ivrd", "entry_menu", entry);
	if (get(l, top, ivrd_opts, "ivrd", "country_code", &v)) {
		if (strlen(v.s) > 3 || strspn(v.s, "0123456789") != strlen(v.s) || v.s[0] == '0')
			conf_error(l, v.set, "ivrd.country_code",
				"\"%s\" is not a country code (1 to 3 digits, no leading 0)", v.s);
		else
			str_copy(c->country_code, v.s, sizeof(c->country_code));
	}
	c->plan.country_code = c->country_code;
	if (get(l, top, ivrd_opts, "ivrd", "national_length", &v))
		c->plan.national_len = (unsigned)v.i;

	/* languages: the default first, then the others listed */
	if (!get(l, top, ivrd_opts, "ivrd", "default_language", &dl) || dl.s == NULL)
		dl.s = "en";
	if (!valid_lang(dl.s))
		conf_error(l, dl.set, "ivrd.default_language", "\"%s\" is not a language code", dl.s);
	c->langs = calloc(1, sizeof(*c->langs));
	if (c->langs == NULL) {
		l->nomem = 1;
		return;
	}
	c->langs[0] = xstrdup(l, dl.s);
	c->nlangs = 1;
	if (get(l, top, ivrd_opts, "ivrd", "languages", &v) && v.set != NULL) {
		for (int i = 0; i < config_setting_length(v.set); i++) {
			const char *lang = config_setting_get_string_elem(v.set, i);
			char **nl;
			if (!valid_lang(lang)) {
				conf_error(l, v.set, "ivrd.languages", "\"%s\" is not a language code",
					lang);
				continue;
			}
			if (lang_index(c, lang) >= 0)
				continue;
			nl = realloc(c->langs, (c->nlangs + 1) * sizeof(*nl));
			if (nl == NULL) {
				l->nomem = 1;
				return;
			}
			c->langs = nl;
			c->langs[c->nlangs] = xstrdup(l, lang);
			c->nlangs++;
		}
	}
	c->goodbye_prompt = get_prompt(l, top, ivrd_opts, "ivrd", "goodbye_prompt", NULL);
	if (get(l, top, ivrd_opts, "ivrd", "max_overflow", &v))
		c->max_overflow = (unsigned)v.i;
	if (get(l, top, ivrd_opts, "ivrd", "retention_days", &v))
		c->retention_days = (unsigned)v.i;
	load_loop_guard(l, top != NULL ? config_setting_get_member(top, "loop_guard") : NULL);
	load_callbacks(l, top != NULL ? config_setting_get_member(top, "callbacks") : NULL);
	load_dashboard(l, top != NULL ? config_setting_get_member(top, "dashboard") : NULL);

	if (sip != NULL)
		check_unknown(l, sip, sip_opts, "ivrd.sip");
	load_outbound(l, sip);
	if (get(l, sip, sip_opts, "ivrd.sip", "listen", &v)) {
		if (v.set == NULL) {
			c->listen = calloc(1, sizeof(*c->listen));
			if (c->listen == NULL || !parse_listen(c->listen, "udp:127.0.0.1:5060"))
				l->nomem = 1;
			else
				c->nlisten = 1;
		} else {
			int n = config_setting_length(v.set);
			c->listen = calloc((size_t)n + 1, sizeof(*c->listen));
			if (c->listen == NULL) {
				l->nomem = 1;
				return;
			}
			if (n == 0)
				conf_error(l, v.set, "ivrd.sip.listen", "needs at least one address");
			for (int i = 0; i < n; i++) {
				const char *a = config_setting_get_string_elem(v.set, i);
				if (!parse_listen(&c->listen[c->nlisten], a))
					conf_error(l, v.set, "ivrd.sip.listen",
						"\"%s\" is not udp:ADDRESS:PORT or tcp:ADDRESS:PORT "
						"with a numeric IPv4 or [IPv6] address and a port "
						"1-65535", a);
				else
					c->nlisten++;
			}
		}
	}
	if (get(l, sip, sip_opts, "ivrd.sip", "answer_delay", &v))
		c->answer_delay_ms = (unsigned)lround(v.d * 1000);
	if (get(l, sip, sip_opts, "ivrd.sip", "user_agent", &v))
		c->user_agent = xstrdup(l, v.s);
	if (get(l, sip, sip_opts, "ivrd.sip", "trusted", &v) && v.set != NULL) {
		int n = config_setting_length(v.set);
		c->trusted = calloc((size_t)n + 1, sizeof(*c->trusted));
		if (c->trusted == NULL) {
			l->nomem = 1;
			return;
		}
		for (int i = 0; i < n; i++) {
			const char *a = config_setting_get_string_elem(v.set, i);
			if (!parse_prefix(&c->trusted[c->ntrusted], a))
				conf_error(l, v.set, "ivrd.sip.trusted", "\"%s\" is not a numeric IPv4 "
					"or IPv6 address with an optional /PREFIX-LENGTH", a);
			else
				c->ntrusted++;
		}
	}
	if (get(l, sip, sip_opts, "ivrd.sip", "max_calls", &v))
		c->max_calls = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "max_calls_per_source", &v))
		c->max_calls_per_source = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "max_message_size", &v))
		c->max_message_size = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "max_headers", &v))
		c->max_headers = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "max_connections", &v))
		c->max_connections = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "tcp_idle_timeout", &v))
		c->tcp_idle_timeout = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "session_expires", &v))
		c->session_expires_s = (unsigned)v.i;
	if (get(l, sip, sip_opts, "ivrd.sip", "min_se", &v)) {
		c->min_se_s = (unsigned)v.i;
		if (c->min_se_s > c->session_expires_s)
			conf_error(l, v.set, "ivrd.sip.min_se", "%u is more than session_expires (%u)",
				c->min_se_s, c->session_expires_s);
	}

	if (rtp != NULL)
		check_unknown(l, rtp, rtp_opts, "ivrd.rtp");
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "address", &v)) {
		struct in6_addr a6;
		c->rtp_address = xstrdup(l, v.s);
		if (inet_pton(AF_INET, v.s, &a6) != 1 && inet_pton(AF_INET6, v.s, &a6) != 1)
			conf_error(l, v.set, "ivrd.rtp.address", "\"%s\" is not a numeric IP address",
				v.s);
	}
	c->rtp_port_min = 20000;
	c->rtp_port_max = 20999;
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "ports", &v) && v.set != NULL) {
		long long lo = config_setting_get_int_elem(v.set, 0);
		long long hi = config_setting_get_int_elem(v.set, 1);
		if (lo < 1024 || hi > 65534 || hi - lo < 1)
			conf_error(l, v.set, "ivrd.rtp.ports",
				"[%lld, %lld] must be two ports from 1024 to 65534, first < last", lo, hi);
		else {
			c->rtp_port_min = (unsigned)lo;
			c->rtp_port_max = (unsigned)hi;
		}
	}
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "symmetric", &v))
		c->rtp_symmetric = v.b;
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "timeout", &v))
		c->rtp_timeout_ms = (unsigned)lround(v.d * 1000);
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "hold_timeout", &v))
		c->rtp_hold_timeout_ms = (unsigned)lround(v.d * 1000);
	if (get(l, rtp, rtp_opts, "ivrd.rtp", "inband_dtmf", &v)) {
		if (strcmp(v.s, "auto") == 0)
			c->rtp_inband_dtmf = DTMF_INBAND_AUTO;
		else if (strcmp(v.s, "always") == 0)
			c->rtp_inband_dtmf = DTMF_INBAND_ALWAYS;
		else if (strcmp(v.s, "off") == 0)
			c->rtp_inband_dtmf = DTMF_INBAND_OFF;
		else
			conf_error(l, v.set, "ivrd.rtp.inband_dtmf",
				"\"%s\" is not auto, always or off", v.s);
	}
}

/* Menus and departments are groups of groups; names are collected first so actions can
 * refer to ones defined later in the file. */
static const config_setting_t *
collect_names(struct loader *l, const config_t *cfg, const char *what, size_t *n,
	size_t elem_size, void **arr)
{
	const config_setting_t *g = config_lookup(cfg, what);
	char *base;

	*n = 0;
	*arr = NULL;
	if (g == NULL)
		return NULL;
	if (!config_setting_is_group(g)) {
		conf_error(l, g, what, "must be a group { name = { ... }; ... }");
		return NULL;
	}
	*arr = calloc((size_t)config_setting_length(g) + 1, elem_size);
	if (*arr == NULL) {
		l->nomem = 1;
		return NULL;
	}
	base = *arr;
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		char p[256];
		pathf(p, sizeof(p), "%s.%s", what, config_setting_name(s));
		if (!config_setting_is_group(s)) {
			conf_error(l, s, p, "must be a group { ... }");
			continue;
		}
		/* both conf_menu and conf_dept start with char *name */
		*(char **)(base + *n * elem_size) = xstrdup(l, config_setting_name(s));
		(*n)++;
	}
	return g;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* An action an entry route or a directory name leads to: out of the menu, never repeat or
 * back. */
static bool
parse_leading_action(struct loader *l, const struct val *act, struct conf_action *a,
	const char *path)
{
	if (!parse_action(l, act->s, a, act->set, path))
		return false;
	if (a->kind == ACT_MENU || a->kind == ACT_DEPT)
		return true;
	conf_error(l, act->set, path, "must be menu:NAME or dept:NAME");
	a->kind = ACT_NONE;
	return false;
}

static void
load_routes(struct loader *l, const config_setting_t *list, struct conf_menu *m,
	const char *path)
{
	const struct conf_opt *opts = conf_block_opts("menus.NAME.routes.[N]");
	int n = config_setting_length(list);

	m->routes = calloc((size_t)n + 1, sizeof(*m->routes));
	if (m->routes == NULL) {
		l->nomem = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct conf_entry_route *r = &m->routes[m->nroutes];
		struct val from, to, prefix, act;
		char p[256], pa[280];

		pathf(p, sizeof(p), "%s.routes.[%d]", path, i + 1);
		if (!config_setting_is_group(g)) {
			conf_error(l, g, p, "must be a group { from = \"...\"; to = \"...\"; "
				"action = \"...\"; }");
			continue;
		}
		check_unknown(l, g, opts, p);
		/* every setting is read, so each of their errors is reported */
		bool ok = get(l, g, opts, p, "from", &from);
		ok = get(l, g, opts, p, "to", &to) && ok;
		ok = get(l, g, opts, p, "prefix", &prefix) && ok;
		ok = get(l, g, opts, p, "action", &act) && ok;
		if (!ok)
			continue;
		if (prefix.s != NULL ? from.s != NULL || to.s != NULL : from.s == NULL || to.s == NULL) {
			conf_error(l, g, p, "needs either from and to, or prefix");
			continue;
		}
		if (prefix.s != NULL && !all_digits(prefix.s)) {
			conf_error(l, prefix.set, p, "prefix \"%s\" must be digits", prefix.s);
			continue;
		}
		if (from.s != NULL && (!all_digits(from.s) || !all_digits(to.s) ||
			strlen(from.s) != strlen(to.s) || strcmp(from.s, to.s) > 0)) {
			conf_error(l, from.set, p, "from \"%s\" and to \"%s\" must be digits, as many "
				"in each, from <= to", from.s, to.s);
			continue;
		}
		if (strlen(prefix.s != NULL ? prefix.s : from.s) > m->max_length)
			conf_warn(l, g, p, "longer than max_length %u: no entry can match",
				m->max_length);
		snprintf(pa, sizeof(pa), "%s.action", p);
		if (!parse_leading_action(l, &act, &r->action, pa))
			continue;
		r->from = from.s != NULL ? xstrdup(l, from.s) : NULL;
		r->to = to.s != NULL ? xstrdup(l, to.s) : NULL;
		r->prefix = prefix.s != NULL ? xstrdup(l, prefix.s) : NULL;
		m->nroutes++;
	}
}

/* What a directory name may be spelled with; keypad_spell() turns it into keys. */
static bool
spellable(const char *s)
{
	bool any = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80 || (!isalnum(c) && !ispunct(c) && c != ' '))
			return false;
		any |= isalnum(c) != 0;
	}
	return any;
}

static void
load_entries(struct loader *l, const config_setting_t *list, struct conf_menu *m,
	const char *path)
{
	const struct conf_opt *opts = conf_block_opts("menus.NAME.entries.[N]");
	int n = config_setting_length(list);

	m->entries = calloc((size_t)n + 1, sizeof(*m->entries));
	if (m->entries == NULL) {
		l->nomem = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct conf_dir_entry *e = &m->entries[m->nentries];
		struct val name, spell, act;
		char p[256], pa[280];
		int prompt;

		pathf(p, sizeof(p), "%s.entries.[%d]", path, i + 1);
		if (!config_setting_is_group(g)) {
			conf_error(l, g, p, "must be a group { name = \"...\"; action = \"...\"; "
				"prompt = \"...\"; }");
			continue;
		}
		check_unknown(l, g, opts, p);
		bool ok = get(l, g, opts, p, "name", &name);
		ok = get(l, g, opts, p, "spell", &spell) && ok;
		if (!(get(l, g, opts, p, "action", &act) && ok))
			continue;
		if (spell.s == NULL)
			spell.s = name.s;
		if (!spellable(spell.s)) {
			conf_error(l, spell.set != NULL ? spell.set : name.set, p, "\"%s\" cannot be "
				"spelled on a keypad: ASCII letters and digits (spaces and punctuation "
				"are skipped)", spell.s);
			continue;
		}
		prompt = get_prompt(l, g, opts, p, "prompt", NULL);
		snprintf(pa, sizeof(pa), "%s.action", p);
		if (prompt < 0 || !parse_leading_action(l, &act, &e->action, pa))
			continue;
		e->name = xstrdup(l, name.s);
		e->spell = xstrdup(l, spell.s);
		e->prompt = prompt;
		m->nentries++;
	}
}

/* The settings of entry and directory menus; a choice menu must not have them. */
static void
load_entry(struct loader *l, const config_setting_t *g, struct conf_menu *m, const char *path)
{
	static const char *const only[] = {"min_length", "max_length", "terminator",
		"inter_digit_timeout", "sensitive", "zero_is_digit", "routes", "entries",
		"choice_prompt"};
	const struct conf_opt *opts = conf_block_opts("menus.NAME");
	const char *list = m->type == MENU_ENTRY ? "routes" : "entries";
	char p[256];
	struct val v;

	if (m->type == MENU_CHOICE) {
		for (size_t i = 0; i < ARRAY_LEN(only); i++)
			if (config_setting_get_member(g, only[i]) != NULL) {
				pathf(p, sizeof(p), "%s.%s", path, only[i]);
				conf_error(l, config_setting_get_member(g, only[i]), p,
					"only for type = \"entry\" or \"directory\"");
			}
		return;
	}
	if (config_setting_get_member(g, "options") != NULL) {
		pathf(p, sizeof(p), "%s.options", path);
		conf_error(l, config_setting_get_member(g, "options"), p,
			"only for type = \"choice\"; an entry menu has routes, a directory entries");
	}
	if (config_setting_get_member(g, m->type == MENU_ENTRY ? "entries" : "routes") != NULL) {
		pathf(p, sizeof(p), "%s.%s", path, m->type == MENU_ENTRY ? "entries" : "routes");
		conf_error(l, config_setting_get_member(g, m->type == MENU_ENTRY ? "entries" :
			"routes"), p, "only for type = \"%s\"", m->type == MENU_ENTRY ?
			"directory" : "entry");
	}
	if (get(l, g, opts, path, "min_length", &v))
		m->min_length = (unsigned)v.i;
	if (get(l, g, opts, path, "max_length", &v))
		m->max_length = (unsigned)v.i;
	if (m->min_length > m->max_length)
		conf_error(l, g, path, "min_length %u is more than max_length %u", m->min_length,
			m->max_length);
	if (get(l, g, opts, path, "terminator", &v)) {
		pathf(p, sizeof(p), "%s.terminator", path);
		if (strcmp(v.s, "none") == 0)
			m->terminator = '\0';
		else if (strlen(v.s) == 1 && strchr("#ABCD", v.s[0]) != NULL)
			m->terminator = v.s[0];
		else
			conf_error(l, v.set, p, "\"%s\" is not #, A-D or none (digits are the entry, "
				"* clears it)", v.s);
	}
	if (get(l, g, opts, path, "inter_digit_timeout", &v))
		m->inter_digit_ms = (unsigned)lround(v.d * 1000);
	if (get(l, g, opts, path, "sensitive", &v))
		m->sensitive = v.b;
	if (get(l, g, opts, path, "zero_is_digit", &v))
		m->zero_is_digit = v.b;
	m->choice_prompt = -1;
	if (m->type == MENU_DIRECTORY)
		m->choice_prompt = get_prompt(l, g, opts, path, "choice_prompt", NULL);
	if (!get(l, g, opts, path, list, &v))
		return;
	if (v.set == NULL || config_setting_length(v.set) == 0) {
		conf_error(l, v.set != NULL ? v.set : g, path, "has no %s: a caller could only "
			"wait for the fallback", list);
		return;
	}
	if (m->type == MENU_ENTRY)
		load_routes(l, v.set, m, path);
	else
		load_entries(l, v.set, m, path);
}

static void
load_menu(struct loader *l, const config_setting_t *g, struct conf_menu *m,
	const struct conf_action *operator)
{
	const struct conf_opt *opts = conf_block_opts("menus.NAME");
	const struct conf_opt *oopts = conf_block_opts("menus.NAME.options.[N]");
	char path[200];
	struct val v;

	snprintf(path, sizeof(path), "menus.%s", m->name);
	check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "type", &v)) {
		if (strcmp(v.s, "entry") == 0)
			m->type = MENU_ENTRY;
		else if (strcmp(v.s, "directory") == 0)
			m->type = MENU_DIRECTORY;
		else if (strcmp(v.s, "choice") != 0)
			conf_error(l, v.set, path, "type \"%s\" is not choice, entry or directory",
				v.s);
	}
	m->greeting = get_prompt(l, g, opts, path, "greeting", NULL);
	m->short_prompt = get_prompt(l, g, opts, path, "short", NULL);
	if (m->short_prompt < 0)
		m->short_prompt = m->greeting;
	m->invalid = get_prompt(l, g, opts, path, "invalid", NULL);
	m->no_input = get_prompt(l, g, opts, path, "no_input", NULL);
	if (get(l, g, opts, path, "timeout", &v))
		m->timeout_ms = (unsigned)lround(v.d * 1000);
	if (get(l, g, opts, path, "max_failures", &v))
		m->max_failures = (unsigned)v.i;
	if (get(l, g, opts, path, "max_timeouts", &v))
		m->max_timeouts = (unsigned)v.i;
	if (get(l, g, opts, path, "barge_in", &v))
		m->barge_in = v.b;
	m->fallback = *operator;
	if (get(l, g, opts, path, "fallback", &v) && v.s != NULL) {
		char p[256];
		pathf(p, sizeof(p), "%s.fallback", path);
		if (parse_action(l, v.s, &m->fallback, v.set, p) &&
		    (m->fallback.kind == ACT_REPEAT || m->fallback.kind == ACT_BACK))
			conf_error(l, v.set, p, "a fallback must lead out: menu:NAME or dept:NAME");
		else if (m->fallback.kind == ACT_MENU && m->fallback.index == (int)(m - l->c->menus))
			conf_error(l, v.set, p, "a menu cannot fall back to itself");
	}
	load_entry(l, g, m, path);
	if (m->type != MENU_CHOICE)
		return;
	if (!get(l, g, opts, path, "options", &v) || v.set == NULL ||
	    config_setting_length(v.set) == 0) {
		if (config_setting_get_member(g, "options") == NULL || v.set != NULL)
			conf_error(l, v.set != NULL ? v.set : g, path, "has no options: a caller "
				"could only wait for the fallback");
		return;
	}
	for (int i = 0; i < config_setting_length(v.set); i++) {
		const config_setting_t *o = config_setting_get_elem(v.set, (unsigned)i);
		char p[256];
		struct val key, act;
		int k;

		pathf(p, sizeof(p), "%s.options.[%d]", path, i + 1);
		if (!config_setting_is_group(o)) {
			conf_error(l, o, p, "must be a group { key = \"1\"; action = \"...\"; }");
			continue;
		}
		check_unknown(l, o, oopts, p);
		bool ok = get(l, o, oopts, p, "key", &key);
		if (!(get(l, o, oopts, p, "action", &act) && ok))
			continue;
		k = strlen(key.s) == 1 ? conf_key_index(key.s[0]) : -1;
		if (k < 0) {
			conf_error(l, key.set, p, "key \"%s\" is not one of 0-9 * # A-D", key.s);
			continue;
		}
		if (m->key_set[k]) {
			conf_error(l, key.set, p, "key %s is already used in this menu", key.s);
			continue;
		}
		snprintf(p + strlen(p), sizeof(p) - strlen(p), ".action");
		/* only an option may switch language: a fallback must lead out of the menu */
		if (strncmp(act.s, "lang:", 5) == 0) {
			m->keys[k].kind = ACT_LANG;
			m->keys[k].index = lang_index(l->c, act.s + 5);
			if (m->keys[k].index < 0)
				conf_error(l, act.set, p, "language \"%s\" is not loaded: list it in "
					"ivrd.languages", act.s + 5);
			else
				m->key_set[k] = true;
		} else if (strncmp(act.s, "callback:", 9) == 0) {
			int d = conf_dept_find(l->c, act.s + 9);
			m->keys[k] = (struct conf_action){ACT_CALLBACK, d};
			if (d < 0)
				conf_error(l, act.set, p, "no department named \"%s\"", act.s + 9);
			else if (!l->c->depts[d].callback.on)
				conf_error(l, act.set, p, "department %s offers no call backs: give it "
					"a callback group", act.s + 9);
			else
				m->key_set[k] = true;
		} else if (strcmp(act.s, "callback-cancel") == 0) {
			m->keys[k] = (struct conf_action){ACT_CALLBACK_CANCEL, 0};
			m->key_set[k] = true;
		} else if (parse_action(l, act.s, &m->keys[k], act.set, p)) {
			m->key_set[k] = true;
		}
	}
}

static void
load_dept(struct loader *l, const config_setting_t *g, struct conf_dept *d,
	const struct conf_action *operator)
{
	const struct conf_opt *opts = conf_block_opts("departments.NAME");
	char path[200], p[256], err[256];
	struct val v;
	size_t n;

	snprintf(path, sizeof(path), "departments.%s", d->name);
	check_unknown(l, g, opts, path);
	if (get(l, g, opts, path, "targets", &v) && v.set != NULL) {
		d->targets = strings(l, v.set, &d->ntargets);
		pathf(p, sizeof(p), "%s.targets", path);
		if (d->ntargets == 0)
			conf_error(l, v.set, p, "needs at least one SIP URI");
		for (size_t i = 0; i < d->ntargets; i++)
			if (strncmp(d->targets[i], "sip:", 4) != 0 &&
			    strncmp(d->targets[i], "sips:", 5) != 0)
				conf_error(l, v.set, p, "\"%s\" is not a sip: URI", d->targets[i]);
			else if (strpbrk(d->targets[i], "<>\" \r\n") != NULL)
				conf_error(l, v.set, p, "\"%s\" must not contain <, >, quotes or spaces",
					d->targets[i]);
	}
	if (get(l, g, opts, path, "timezone", &v)) {
		d->timezone = xstrdup(l, v.s);
		pathf(p, sizeof(p), "%s.timezone", path);
		if (tz_load(&d->tz, v.s, err, sizeof(err)) != 0)
			conf_error(l, v.set != NULL ? v.set : g, p, "%s", err);
	}
	if (get(l, g, opts, path, "hours", &v)) {
		static const char *const always[] = {"always"};
		char **rules = NULL;
		if (v.set != NULL)
			rules = strings(l, v.set, &n);
		pathf(p, sizeof(p), "%s.hours", path);
		if (hours_parse(&d->hours, rules ? (const char *const *)rules : always,
			rules ? n : 1, err, sizeof(err)) != 0)
			conf_error(l, v.set != NULL ? v.set : g, p, "%s", err);
		for (size_t i = 0; rules != NULL && i < n; i++)
			free(rules[i]);
		free(rules);
	}
	/* The operator is the last resort: it falls back nowhere unless told to. */
	if (operator->kind == ACT_DEPT && operator->index == (int)(d - l->c->depts))
		d->fallback.kind = ACT_NONE;
	else
		d->fallback = *operator;
	if (get(l, g, opts, path, "fallback", &v) && v.s != NULL) {
		pathf(p, sizeof(p), "%s.fallback", path);
		if (parse_action(l, v.s, &d->fallback, v.set, p) &&
		    (d->fallback.kind == ACT_REPEAT || d->fallback.kind == ACT_BACK))
			conf_error(l, v.set, p, "a fallback must lead out: menu:NAME or dept:NAME");
		else if (d->fallback.kind == ACT_DEPT && d->fallback.index == (int)(d - l->c->depts))
			conf_error(l, v.set, p, "a department cannot fall back to itself");
	}
	d->closed_prompt = get_prompt(l, g, opts, path, "closed_prompt", NULL);
	d->unavailable_prompt = get_prompt(l, g, opts, path, "unavailable_prompt", NULL);
	d->transfer_prompt = get_prompt(l, g, opts, path, "transfer_prompt", NULL);
	if (get(l, g, opts, path, "transfer_timeout", &v))
		d->transfer_timeout_ms = (unsigned)lround(v.d * 1000);
	if (get(l, g, opts, path, "strategy", &v)) {
		d->round_robin = strcmp(v.s, "round-robin") == 0;
		pathf(p, sizeof(p), "%s.strategy", path);
		if (!d->round_robin && strcmp(v.s, "order") != 0)
			conf_error(l, v.set, p, "\"%s\" is not \"order\" or \"round-robin\"", v.s);
	}
	if (get(l, g, opts, path, "max_transfers", &v))
		d->max_transfers = (unsigned)v.i;
	load_dept_callback(l, g, d, path);
	if (get(l, g, opts, path, "holidays", &v) && v.set != NULL && d->hours != NULL) {
		char **days = strings(l, v.set, &n);
		pathf(p, sizeof(p), "%s.holidays", path);
		if (days != NULL && hours_set_holidays(d->hours, (const char *const *)days, n, err,
			sizeof(err)) != 0)
			conf_error(l, v.set, p, "%s", err);
		for (size_t i = 0; days != NULL && i < n; i++)
			free(days[i]);
		free(days);
	}
}

static void
load_numbers(struct loader *l, const config_t *cfg, const char *entry_name)
{
	struct conf *c = l->c;
	const config_setting_t *g = config_lookup(cfg, "numbers");
	const struct conf_opt *opts = conf_block_opts("numbers.[N]");

	if (g == NULL)
		return;
	if (!config_setting_is_list(g)) {
		conf_error(l, g, "numbers", "must be a list ( { dnis = \"...\"; menu = \"...\"; } )");
		return;
	}
	c->numbers = calloc((size_t)config_setting_length(g) + 1, sizeof(*c->numbers));
	if (c->numbers == NULL) {
		l->nomem = 1;
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		struct conf_number *num = &c->numbers[c->nnumbers];
		char path[64], digits[NUMBER_MAX];
		struct val v;

		snprintf(path, sizeof(path), "numbers.[%d]", i + 1);
		if (!config_setting_is_group(s)) {
			conf_error(l, s, path, "must be a group { dnis = \"...\"; }");
			continue;
		}
		check_unknown(l, s, opts, path);
		if (!get(l, s, opts, path, "dnis", &v))
			continue;
		if (number_normalize(digits, sizeof(digits), v.s, &c->plan) != 0) {
			conf_error(l, v.set, path, "dnis \"%s\" is not a telephone number (digits, an "
				"optional leading +, separators - . ( ) and spaces; at most 15 digits)",
				v.s);
			continue;
		}
		if (conf_number_find(c, digits) != NULL) {
			conf_error(l, v.set, path, "dnis %s is listed twice", digits);
			continue;
		}
		num->menu = -1;
		num->lang = 0;
		num->dept_hint = -1;
		if (get(l, s, opts, path, "dept", &v) && v.s != NULL) {
			num->dept_hint = conf_dept_find(c, v.s);
			if (num->dept_hint < 0)
				conf_error(l, v.set, path, "dept: no department named \"%s\"", v.s);
		}
		if (get(l, s, opts, path, "menu", &v)) {
			const char *name = v.s != NULL ? v.s : entry_name;
			num->menu = conf_menu_find(c, name);
			if (num->menu < 0)
				conf_error(l, v.set != NULL ? v.set : s, path, "menu: no menu named \"%s\"",
					name);
		}
		if (get(l, s, opts, path, "language", &v) && v.s != NULL) {
			num->lang = lang_index(c, v.s);
			if (num->lang < 0) {
				conf_error(l, v.set, path,
					"language \"%s\" is not the default language nor listed in "
					"ivrd.languages", v.s);
				num->lang = 0;
			}
		}
		num->dnis = xstrdup(l, digits);
		c->nnumbers++;
	}
}

static const char *const mark_names[] = {"", "internal", "priority", "blocked"};

const char *
conf_mark_name(enum conf_mark m)
{
	return mark_names[m];
}

static void
load_callers(struct loader *l, const config_t *cfg)
{
	struct conf *c = l->c;
	const config_setting_t *g = config_lookup(cfg, "callers");
	const struct conf_opt *opts = conf_block_opts("callers.[N]");

	if (g == NULL)
		return;
	if (!config_setting_is_list(g)) {
		conf_error(l, g, "callers", "must be a list ( { match = [\"...\"]; mark = \"...\"; } )");
		return;
	}
	c->callers = calloc((size_t)config_setting_length(g) + 1, sizeof(*c->callers));
	if (c->callers == NULL) {
		l->nomem = 1;
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		struct conf_caller *r = &c->callers[c->ncallers];
		char path[64], p[96];
		struct val v;

		snprintf(path, sizeof(path), "callers.[%d]", i + 1);
		if (!config_setting_is_group(s)) {
			conf_error(l, s, path, "must be a group { match = [\"...\"]; ... }");
			continue;
		}
		check_unknown(l, s, opts, path);
		r->menu = r->dept = r->lang = -1;
		c->ncallers++;
		pathf(p, sizeof(p), "%s.match", path);
		if (get(l, s, opts, path, "match", &v)) {
			r->match = strings(l, v.set, &r->nmatch);
			if (config_setting_length(v.set) == 0)
				conf_error(l, v.set, p, "needs at least one number or prefix");
			for (size_t j = 0; j < r->nmatch; j++)
				if (number_pattern_check(r->match[j], &c->plan) != 0)
					conf_error(l, v.set, p, "\"%s\" is neither a telephone number nor "
						"a prefix of digits ending in *", r->match[j]);
		}
		pathf(p, sizeof(p), "%s.mark", path);
		if (get(l, s, opts, path, "mark", &v) && v.s != NULL) {
			size_t k;
			for (k = MARK_INTERNAL; k < ARRAY_LEN(mark_names); k++)
				if (strcmp(v.s, mark_names[k]) == 0)
					break;
			if (k == ARRAY_LEN(mark_names))
				conf_error(l, v.set, p, "\"%s\" is not a mark (internal, priority or "
					"blocked)", v.s);
			else
				r->mark = (enum conf_mark)k;
		}
		pathf(p, sizeof(p), "%s.menu", path);
		if (get(l, s, opts, path, "menu", &v) && v.s != NULL &&
		    (r->menu = conf_menu_find(c, v.s)) < 0)
			conf_error(l, v.set, p, "no menu named \"%s\"", v.s);
		pathf(p, sizeof(p), "%s.dept", path);
		if (get(l, s, opts, path, "dept", &v) && v.s != NULL &&
		    (r->dept = conf_dept_find(c, v.s)) < 0)
			conf_error(l, v.set, p, "no department named \"%s\"", v.s);
		pathf(p, sizeof(p), "%s.language", path);
		if (get(l, s, opts, path, "language", &v) && v.s != NULL &&
		    (r->lang = lang_index(c, v.s)) < 0)
			conf_error(l, v.set, p, "language \"%s\" is not the default language nor "
				"listed in ivrd.languages", v.s);
		if (config_setting_get_member(s, "mark") == NULL &&
		    config_setting_get_member(s, "menu") == NULL &&
		    config_setting_get_member(s, "dept") == NULL &&
		    config_setting_get_member(s, "language") == NULL)
			conf_error(l, s, path, "does nothing: give it a mark, menu, dept or language");
		else if (r->mark == MARK_BLOCKED && (config_setting_get_member(s, "menu") != NULL ||
			config_setting_get_member(s, "dept") != NULL ||
			config_setting_get_member(s, "language") != NULL))
			conf_error(l, s, path, "a blocked caller is never answered: menu, dept and "
				"language would do nothing");
		else if (config_setting_get_member(s, "menu") != NULL &&
			config_setting_get_member(s, "dept") != NULL)
			conf_error(l, s, path, "menu and dept both set: callers go to one of them");
	}
}

static void
mark_action(const struct conf *c, const struct conf_action *a, bool *seen, int *stack, size_t *sp)
{
	if (a->kind == ACT_MENU && !seen[a->index]) {
		seen[a->index] = true;
		stack[(*sp)++] = a->index;
	} else if (a->kind == ACT_DEPT) {
		/* follow the department's fallback chain into menus */
		const struct conf_dept *d = &c->depts[a->index];
		for (size_t hop = 0; hop < c->ndepts && d->fallback.kind == ACT_DEPT; hop++)
			d = &c->depts[d->fallback.index];
		if (d->fallback.kind == ACT_MENU && !seen[d->fallback.index]) {
			seen[d->fallback.index] = true;
			stack[(*sp)++] = d->fallback.index;
		}
	}
}

static void
check_graph(struct loader *l, const config_t *cfg)
{
	struct conf *c = l->c;
	bool *seen = calloc(c->nmenus + 1, sizeof(*seen));
	int *stack = calloc(c->nmenus + 1, sizeof(*stack));
	size_t sp = 0;

	if (seen == NULL || stack == NULL) {
		l->nomem = 1;
		goto out;
	}
	if (c->entry_menu >= 0) {
		seen[c->entry_menu] = true;
		stack[sp++] = c->entry_menu;
	}
	for (size_t i = 0; i < c->nnumbers; i++)
		if (c->numbers[i].menu >= 0 && !seen[c->numbers[i].menu]) {
			seen[c->numbers[i].menu] = true;
			stack[sp++] = c->numbers[i].menu;
		}
	for (size_t i = 0; i < c->nnumbers; i++)
		if (c->numbers[i].dept_hint >= 0)
			mark_action(c, &(struct conf_action){ACT_DEPT, c->numbers[i].dept_hint}, seen,
				stack, &sp);
	for (size_t i = 0; i < c->ncallers; i++) {
		const struct conf_caller *r = &c->callers[i];
		if (r->dept >= 0)
			mark_action(c, &(struct conf_action){ACT_DEPT, r->dept}, seen, stack, &sp);
		else if (r->menu >= 0)
			mark_action(c, &(struct conf_action){ACT_MENU, r->menu}, seen, stack, &sp);
	}
	mark_action(c, &c->operator_action, seen, stack, &sp);
	while (sp > 0) {
		const struct conf_menu *m = &c->menus[stack[--sp]];
		for (int k = 0; k < CONF_KEYS; k++)
			if (m->key_set[k])
				mark_action(c, &m->keys[k], seen, stack, &sp);
		for (size_t k = 0; k < m->nroutes; k++)
			mark_action(c, &m->routes[k].action, seen, stack, &sp);
		for (size_t k = 0; k < m->nentries; k++)
			mark_action(c, &m->entries[k].action, seen, stack, &sp);
		mark_action(c, &m->fallback, seen, stack, &sp);
	}
	for (size_t i = 0; i < c->nmenus; i++)
		if (!seen[i]) {
			char p[200];
			pathf(p, sizeof(p), "menus.%s", c->menus[i].name);
			conf_warn(l, config_lookup(cfg, p), p,
				"unreachable: no number, menu or fallback leads here");
		}

	/* A fallback chain of departments that loops would pass callers around forever. */
	for (size_t i = 0; i < c->ndepts; i++) {
		const struct conf_dept *d = &c->depts[i];
		size_t hop;
		for (hop = 0; hop <= c->ndepts && d->fallback.kind == ACT_DEPT; hop++)
			d = &c->depts[d->fallback.index];
		if (hop > c->ndepts) {
			char p[200];
			pathf(p, sizeof(p), "departments.%s.fallback", c->depts[i].name);
			conf_error(l, config_lookup(cfg, p), p,
				"the chain of department fallbacks loops without reaching a menu or a "
				"department with no fallback");
		}
	}
	if (c->operator_action.kind == ACT_DEPT) {
		const struct conf_dept *op = &c->depts[c->operator_action.index];
		if (op->hours != NULL && !hours_always(op->hours) && op->fallback.kind == ACT_NONE)
			conf_warn(l, config_lookup(cfg, "ivrd.operator"), "ivrd.operator",
				"department %s has opening hours and no fallback: callers who need a "
				"person while it is closed hear the goodbye prompt", op->name);
	}
out:
	free(seen);
	free(stack);
}

static void
load_prompts(struct loader *l, struct prompt_cache *cache)
{
	struct conf *c = l->c;
	char path[PATH_MAX], err[512];

	if (c->nprompts == 0 || c->prompts_dir == NULL)
		return;
	c->prompts = calloc(c->nlangs * c->nprompts, sizeof(*c->prompts));
	if (c->prompts == NULL) {
		l->nomem = 1;
		return;
	}
	for (size_t lang = 0; lang < c->nlangs; lang++) {
		for (size_t id = 0; id < c->nprompts; id++) {
			struct prompt **pp = &c->prompts[lang * c->nprompts + id];
			const struct prompt_use *u = &l->uses[id];
			char line[1024];
			int rc;

			rc = prompt_resolve(path, sizeof(path), c->prompts_dir, c->langs[lang],
				c->prompt_names[id]);
			if (rc == 0)
				rc = cache != NULL ? prompt_cache_get(cache, pp, path, err, sizeof(err))
						   : prompt_load(pp, path, err, sizeof(err));
			else
				snprintf(err, sizeof(err), "no file for prompt \"%s\" in %s/%s/",
					c->prompt_names[id], c->prompts_dir, c->langs[lang]);
			if (rc == 0)
				continue;
			if (rc == ENOMEM) {
				l->nomem = 1;
				return;
			}
			if (lang == 0 || rc != ENOENT) {
				snprintf(line, sizeof(line), "%s: %s: %s", u->file, u->path, err);
				add_line(l, &l->e->errors, &l->e->nerrors, line);
			} else {
				/* never silence at run time: the default language stands in */
				snprintf(line, sizeof(line), "%s: %s: %s; playing the %s prompt instead",
					u->file, u->path, err, c->langs[0]);
				add_line(l, &l->e->warnings, &l->e->nwarnings, line);
				if (c->prompts[id] != NULL)
					*pp = prompt_ref(c->prompts[id]);
			}
		}
	}
}

int
conf_load(struct conf **cp, struct conf_errors *e, const char *path,
	struct prompt_cache *cache, uint64_t generation)
{
	struct loader l = {.e = e, .file = path};
	config_t cfg;
	const config_setting_t *mg, *dg;
	struct val operator = {0}, entry = {0};
	char dir[PATH_MAX], *slash;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	*cp = NULL;
	l.c = calloc(1, sizeof(*l.c));
	if (l.c == NULL)
		return ENOMEM;
	l.c->refs = 1;
	l.c->generation = generation;
	l.c->path = xstrdup(&l, path);
	l.c->entry_menu = -1;
	l.c->goodbye_prompt = -1;
	memset(&l.c->cb_prompts, 0xff, sizeof(l.c->cb_prompts)); /* every id -1: not loaded */

	config_init(&cfg);
	str_copy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		config_set_include_dir(&cfg, dir);
		l.dir = dir;
	}
	if (!config_read_file(&cfg, path)) {
		char line[1024];
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(line, sizeof(line), "%s: cannot read: %s", path, strerror(errno));
		else
			snprintf(line, sizeof(line), "%s:%d: syntax error: %s",
				config_error_file(&cfg) ? config_error_file(&cfg) : path,
				config_error_line(&cfg), config_error_text(&cfg));
		add_line(&l, &e->errors, &e->nerrors, line);
		rc = EINVAL;
		goto out;
	}
	{
		/* top-level names other than these are typos */
		static const char *const top[] = {"ivrd", "menus", "departments", "numbers", "callers"};
		const config_setting_t *root = config_root_setting(&cfg);
		for (int i = 0; i < config_setting_length(root); i++) {
			config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
			size_t k;
			for (k = 0; k < ARRAY_LEN(top); k++)
				if (strcmp(config_setting_name(s), top[k]) == 0)
					break;
			if (k == ARRAY_LEN(top))
				conf_error(&l, s, config_setting_name(s), "unknown setting");
		}
	}

	mg = collect_names(&l, &cfg, "menus", &l.c->nmenus, sizeof(*l.c->menus),
		(void **)&l.c->menus);
	dg = collect_names(&l, &cfg, "departments", &l.c->ndepts, sizeof(*l.c->depts),
		(void **)&l.c->depts);
	load_ivrd(&l, &cfg, &operator, &entry);
	if (l.nomem)
		goto out;

	if (operator.s != NULL &&
	    parse_action(&l, operator.s, &l.c->operator_action,
		operator.set ? operator.set : config_lookup(&cfg, "ivrd"), "ivrd.operator") &&
	    l.c->operator_action.kind != ACT_DEPT && l.c->operator_action.kind != ACT_MENU)
		conf_error(&l, operator.set, "ivrd.operator", "must be dept:NAME or menu:NAME");
	if (l.c->nmenus == 0)
		conf_error(&l, mg, "menus", "no menus: callers need at least one");
	if (entry.s != NULL && l.c->nmenus > 0) {
		l.c->entry_menu = conf_menu_find(l.c, entry.s);
		if (l.c->entry_menu < 0)
			conf_error(&l, entry.set ? entry.set : config_lookup(&cfg, "ivrd"),
				"ivrd.entry_menu", "no menu named \"%s\"", entry.s);
	}
	for (size_t i = 0; i < l.c->ndepts; i++)
		load_dept(&l, config_setting_get_member(dg, l.c->depts[i].name), &l.c->depts[i],
			&l.c->operator_action);
	for (size_t i = 0; i < l.c->nmenus; i++)
		load_menu(&l, config_setting_get_member(mg, l.c->menus[i].name), &l.c->menus[i],
			&l.c->operator_action);
	load_numbers(&l, &cfg, entry.s != NULL ? entry.s : "main");
	load_callers(&l, &cfg);
	load_cb_prompts(&l, dg != NULL ? dg : mg);
	if (l.nomem)
		goto out;
	check_graph(&l, &cfg);
	load_prompts(&l, cache);
	if (l.nomem)
		goto out;
	if (e->nerrors > 0)
		rc = EINVAL;
out:
	config_destroy(&cfg);
	free(l.uses);
	if (l.nomem)
		rc = ENOMEM;
	if (rc != 0)
		conf_unref(l.c);
	else
		*cp = l.c;
	return rc;
}

struct conf *
conf_ref(struct conf *c)
{
	c->refs++;
	return c;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
conf_unref(struct conf *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	for (size_t i = 0; i < c->nmenus; i++) {
		struct conf_menu *m = &c->menus[i];
		free(m->name);
		for (size_t k = 0; k < m->nroutes; k++) {
			free(m->routes[k].from);
			free(m->routes[k].to);
			free(m->routes[k].prefix);
		}
		free(m->routes);
		for (size_t k = 0; k < m->nentries; k++) {
			free(m->entries[k].name);
			free(m->entries[k].spell);
		}
		free(m->entries);
	}
	free(c->menus);
	for (size_t i = 0; i < c->ndepts; i++) {
		struct conf_dept *d = &c->depts[i];
		free(d->name);
		free_strings(d->targets, d->ntargets);
		free(d->timezone);
		if (d->tz != NULL)
			tz_free(d->tz);
		if (d->hours != NULL)
			hours_free(d->hours);
	}
	free(c->depts);
	for (size_t i = 0; i < c->nnumbers; i++)
		free(c->numbers[i].dnis);
	free(c->numbers);
	for (size_t i = 0; i < c->ncallers; i++)
		free_strings(c->callers[i].match, c->callers[i].nmatch);
	free(c->callers);
	if (c->prompts != NULL)
		for (size_t i = 0; i < c->nlangs * c->nprompts; i++)
			if (c->prompts[i] != NULL)
				prompt_unref(c->prompts[i]);
	free(c->prompts);
	free_strings(c->prompt_names, c->nprompts);
	free_strings(c->langs, c->nlangs);
	free_strings(c->effective, c->neffective);
	free(c->listen);
	free(c->trusted);
	free(c->user_agent);
	free(c->outbound.from);
	free(c->outbound.domain);
	free(c->outbound.username);
	if (c->outbound.password != NULL)
		explicit_bzero(c->outbound.password, strlen(c->outbound.password));
	free(c->outbound.password);
	free(c->outbound.realm);
	free(c->rtp_address);
	free(c->state_dir);
	free(c->control_socket);
	free(c->control_group);
	free(c->prompts_dir);
	free(c->http_listen);
	if (c->dashboard_token != NULL)
		explicit_bzero(c->dashboard_token, strlen(c->dashboard_token));
	free(c->dashboard_token);
	free(c->path);
	free(c);
}

const struct prompt *
conf_prompt(const struct conf *c, int lang, int id)
{
	if (id < 0 || (size_t)id >= c->nprompts || lang < 0 || (size_t)lang >= c->nlangs)
		return NULL;
	return c->prompts[(size_t)lang * c->nprompts + (size_t)id];
}

int
conf_menu_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nmenus; i++)
		if (c->menus[i].name != NULL && strcmp(c->menus[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
conf_dept_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->ndepts; i++)
		if (c->depts[i].name != NULL && strcmp(c->depts[i].name, name) == 0)
			return (int)i;
	return -1;
}

const struct conf_number *
conf_number_find(const struct conf *c, const char *dnis)
{
	char digits[NUMBER_MAX];

	if (number_normalize(digits, sizeof(digits), dnis, &c->plan) != 0)
		return NULL;
	for (size_t i = 0; i < c->nnumbers; i++)
		if (strcmp(c->numbers[i].dnis, digits) == 0)
			return &c->numbers[i];
	return NULL;
}

static bool
prefix_match(const struct conf_prefix *p, const uint8_t *a)
{
	unsigned whole = p->bits / 8, rest = p->bits % 8;

	if (memcmp(p->addr, a, whole) != 0)
		return false;
	return rest == 0 || ((p->addr[whole] ^ a[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

bool
conf_trusted(const struct conf *c, const struct sockaddr *sa)
{
	int family = sa->sa_family;
	const uint8_t *a;

	if (c->ntrusted == 0)
		return true;
	if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		a = a6->s6_addr;
		/* an IPv4 source on a dual-stack socket arrives as ::ffff:a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	}
	for (size_t i = 0; i < c->ntrusted; i++)
		if (c->trusted[i].family == family && prefix_match(&c->trusted[i], a))
			return true;
	return false;
}

const struct conf_caller *
conf_caller_find(const struct conf *c, const char *ani)
{
	char number[NUMBER_MAX];

	if (number_normalize(number, sizeof(number), ani, &c->plan) != 0)
		return NULL;
	for (size_t i = 0; i < c->ncallers; i++)
		for (size_t j = 0; j < c->callers[i].nmatch; j++)
			if (number_match(number, c->callers[i].match[j], &c->plan))
				return &c->callers[i];
	return NULL;
}

void
conf_action_str(const struct conf *c, const struct conf_action *a, char *buf, size_t size)
{
	switch (a->kind) {
	case ACT_MENU: snprintf(buf, size, "menu:%s", c->menus[a->index].name); break;
	case ACT_DEPT: snprintf(buf, size, "dept:%s", c->depts[a->index].name); break;
	case ACT_REPEAT: snprintf(buf, size, "repeat"); break;
	case ACT_BACK: snprintf(buf, size, "back"); break;
	case ACT_LANG: snprintf(buf, size, "lang:%s", c->langs[a->index]); break;
	case ACT_CALLBACK: snprintf(buf, size, "callback:%s", c->depts[a->index].name); break;
	case ACT_CALLBACK_CANCEL: snprintf(buf, size, "callback-cancel"); break;
	case ACT_NONE: snprintf(buf, size, "none"); break;
	}
}
