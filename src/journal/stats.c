/* Figures over many calls (journal_stats.h). One scan of the events table in rowid (append)
 * order: a call's rows are held from its call.start until its call.end, then the whole
 * call is counted at once, so filters that depend on the whole call (dept) cost nothing
 * extra and memory holds only calls in progress. A range is read as a rowid range found
 * through the ts_ms index, so a day out of a month reads that day (and the calls that
 * started in it), never the month. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ivr/hmap.h"
#include "ivr/journal_stats.h"
#include "ivr/util.h"

/* Rows are appended in nearly ts_ms order; a row may be journaled a little after a later
 * one (the writer thread's batches), so range ends are read with this much slack. */
#define ORDER_SLACK_MS 60000
/* A call still going this long after the range ends is counted with what it had by then. */
#define CALL_MAX_MS (INT64_C(24) * 3600000)
#define HOUR_MS INT64_C(3600000)
#define TOP_CALLERS 10
#define ROWS_FIRST 16 /* rows a call has room for at first: most have fewer */

enum ev {
	E_START,
	E_ENTER,
	E_KEY,
	E_INVALID,
	E_TIMEOUT,
	E_LANG,
	E_ENTRY,
	E_ROUTE,
	E_TSTART,
	E_TRESULT,
	E_DROP,
	E_OFFER,
	E_END,
	E_DIAL_START,
	E_DIAL_END,
	E_CB_CANCEL,
};

static const char *const ev_names[] = {
	[E_START] = JEV_CALL_START, [E_ENTER] = JEV_MENU_ENTER, [E_KEY] = JEV_KEY,
	[E_INVALID] = JEV_INVALID, [E_TIMEOUT] = JEV_TIMEOUT, [E_LANG] = JEV_LANGUAGE,
	[E_ENTRY] = JEV_ENTRY, [E_ROUTE] = JEV_ROUTE, [E_TSTART] = JEV_TRANSFER_START,
	[E_TRESULT] = JEV_TRANSFER_RESULT, [E_DROP] = JEV_DROP, [E_OFFER] = JEV_CB_OFFER,
	[E_END] = JEV_CALL_END, [E_DIAL_START] = JEV_DIAL_START, [E_DIAL_END] = JEV_DIAL_END,
	[E_CB_CANCEL] = JEV_CB_CANCELLED,
};

/* Strings that repeat (menus, departments, reasons) are stored once. */
struct jstat_pool {
	struct hmap *map; /* string -> its copy */
	const char *recent[64]; /* a copy by its first byte and length: most rows repeat */
	bool oom;
};

/* One row of a call in progress; strings are the pool's. */
struct srow {
	int64_t id, ts_ms, duration_ms;
	enum ev ev;
	bool ignored;  /* a key the playing prompt could not be interrupted by */
	bool operator; /* a route by key 0 (operator) */
	char key[4];
	const char *menu, *dept, *target, *result, *reason, *prompt;
};

/* A call in progress, its strings stored after it (one allocation). */
struct scall {
	const char *call_id, *ani, *dnis;
	int64_t start_ms;
	bool dialback; /* placed by ivrd (dial.start): only its transfers count */
	size_t n, cap;
	struct srow *rows;
	char strings[];
};

/* A caller while counting, the number stored after it. */
struct scaller {
	struct jstat_caller c;
	char number[];
};

/* Per menu while counting. */
struct mstat {
	struct jstat_menu m;
	size_t leftcap;
	size_t nhang, hangcap;
	int64_t *hang_ms;
};

struct hstat {
	struct jstat_hour h;
};

struct ctx {
	const struct journal_stats_filter *f;
	struct jstat_pool *pool;
	struct hmap *live;    /* call_id -> struct scall * */
	struct hmap *menus;   /* name -> struct mstat * */
	struct hmap *depts;   /* name -> struct jstat_dept * */
	struct hmap *callers; /* number -> struct jstat_caller * */
	struct hmap *hours;   /* hour index -> struct hstat * */
	struct journal_figures *fig;
	struct hstat *last_hour;
	int64_t utc_hour, local_off_ms; /* the zone's offset during utc_hour (local_hour) */
	struct srow *spare[64]; /* row arrays of ended calls (ROWS_FIRST), for the next */
	size_t nspare;
	size_t tcap, dcap;
	int err;
};

static const char *
pool_str(struct jstat_pool *p, const char *s)
{
	const char **hit;
	char *v;

	if (s == NULL)
		return NULL;
	hit = &p->recent[((unsigned char)s[0] * 7u + (unsigned)strlen(s)) & 63];
	if (*hit != NULL && strcmp(*hit, s) == 0)
		return *hit;
	if ((v = hmap_get(p->map, s)) != NULL)
		return *hit = v;
	if ((v = strdup(s)) == NULL || hmap_put(p->map, s, v) != 0) {
		free(v);
		p->oom = true;
		return NULL;
	}
	return *hit = v;
}

static void
free_value(void *arg, const char *key, void *value)
{
	(void)arg;
	(void)key;
	free(value);
}

static void
pool_free(struct jstat_pool *p)
{
	if (p == NULL)
		return;
	if (p->map != NULL) {
		hmap_foreach(p->map, free_value, NULL);
		hmap_free(p->map);
	}
	free(p);
}

void
journal_figures_free(struct journal_figures *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nmenus; i++)
		free(f->menus[i].left);
	free(f->menus);
	free(f->depts);
	free(f->top);
	free(f->hours);
	free(f->transfer_list);
	free(f->drop_list);
	pool_free(f->pool);
	free(f);
}

static bool
set(const char *s)
{
	return s != NULL && *s != '\0';
}

static bool
eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The entry in map for key, created zeroed (size bytes) when absent. */
static void *
slot(struct ctx *x, struct hmap *map, const char *key, size_t size)
{
	void *v = hmap_get(map, key);

	if (v != NULL)
		return v;
	if ((v = calloc(1, size)) == NULL || hmap_put(map, key, v) != 0) {
		free(v);
		x->err = ENOMEM;
		return NULL;
	}
	return v;
}

static struct jstat_dept *
dept(struct ctx *x, const char *name)
{
	struct jstat_dept *d;

	if (name == NULL)
		return NULL;
	if ((d = slot(x, x->depts, name, sizeof(*d))) != NULL && d->dept == NULL)
		d->dept = pool_str(x->pool, name);
	return d;
}

static struct mstat *
menu(struct ctx *x, const char *name)
{
	struct mstat *m;

	if (name == NULL)
		return NULL;
	if ((m = slot(x, x->menus, name, sizeof(*m))) != NULL && m->m.menu == NULL) {
		m->m.menu = pool_str(x->pool, name);
		m->m.median_hangup_ms = -1;
	}
	return m;
}

static void
left_add(struct ctx *x, struct mstat *m, const char *key, const char *to)
{
	struct jstat_left *l;

	key = pool_str(x->pool, key);
	to = pool_str(x->pool, to);
	if (key == NULL || to == NULL)
		return;
	for (size_t i = 0; i < m->m.nleft; i++) {
		if (m->m.left[i].key == key && m->m.left[i].to == to) {
			m->m.left[i].count++;
			return;
		}
	}
	if (m->m.nleft == m->leftcap) {
		size_t cap = m->leftcap ? m->leftcap * 2 : 8;
		if ((l = realloc(m->m.left, cap * sizeof(*l))) == NULL) {
			x->err = ENOMEM;
			return;
		}
		m->m.left = l;
		m->leftcap = cap;
	}
	m->m.left[m->m.nleft++] = (struct jstat_left){key, to, 1};
}

static void
hang_add(struct ctx *x, struct mstat *m, int64_t ms)
{
	if (m->nhang == m->hangcap) {
		size_t cap = m->hangcap ? m->hangcap * 2 : 16;
		int64_t *v = realloc(m->hang_ms, cap * sizeof(*v));
		if (v == NULL) {
			x->err = ENOMEM;
			return;
		}
		m->hang_ms = v;
		m->hangcap = cap;
	}
	m->hang_ms[m->nhang++] = ms;
}

/* Whether menu name was entered in rows [0, end). */
static bool
entered_before(const struct scall *c, size_t end, const char *name)
{
	for (size_t i = 0; i < end; i++)
		if (c->rows[i].ev == E_ENTER && c->rows[i].menu == name)
			return true;
	return false;
}

/* Where the key (or entry) at row i led: the next row of the call that acts on it. */
static void
led_to(char *buf, size_t size, const struct scall *c, size_t i)
{
	const struct srow *k = &c->rows[i];
	bool star = k->ev == E_KEY && strcmp(k->key, "*") == 0;
	bool pound = k->ev == E_KEY && strcmp(k->key, "#") == 0;

	for (size_t j = i + 1; j < c->n; j++) {
		const struct srow *r = &c->rows[j];
		switch (r->ev) {
		case E_ENTER:
			if (star && entered_before(c, i, r->menu))
				snprintf(buf, size, "back");
			else
				snprintf(buf, size, "menu:%s", r->menu ? r->menu : "?");
			return;
		case E_ROUTE:
			if (r->operator)
				snprintf(buf, size, "operator");
			else
				snprintf(buf, size, "dept:%s", r->dept ? r->dept : "?");
			return;
		case E_OFFER:
			snprintf(buf, size, "callback:%s", r->dept ? r->dept : "?");
			return;
		case E_LANG:
			snprintf(buf, size, "language");
			return;
		case E_CB_CANCEL:
			snprintf(buf, size, "callback-cancel");
			return;
		default:
			j = c->n;
			break;
		}
	}
	/* * in the entry menu, # and an empty entry's terminator ask again */
	snprintf(buf, size, "%s", star || pound ? "repeat" : "none");
}

static void
path_add(char *path, size_t size, size_t *off, const char *name)
{
	str_appendf(path, size, off, "%s%s", *off ? " > " : "", name ? name : "?");
}

static void
list_transfer(struct ctx *x, const struct scall *c, size_t i)
{
	struct journal_figures *fig = x->fig;
	const struct srow *t = &c->rows[i];
	struct jstat_transfer *e;

	if (fig->ntransfer_list == x->tcap) {
		size_t cap = x->tcap ? x->tcap * 2 : 64;
		if ((e = realloc(fig->transfer_list, cap * sizeof(*e))) == NULL) {
			x->err = ENOMEM;
			return;
		}
		fig->transfer_list = e;
		x->tcap = cap;
	}
	e = &fig->transfer_list[fig->ntransfer_list++];
	*e = (struct jstat_transfer){.id = t->id, .ts_ms = t->ts_ms,
		.call_id = pool_str(x->pool, c->call_id), .ani = pool_str(x->pool, c->ani),
		.dept = t->dept, .target = t->target};
	for (size_t j = i; j-- > 0;) {
		if (c->rows[j].ev == E_ROUTE && c->rows[j].dept == t->dept) {
			e->menu = c->rows[j].menu;
			e->reason = c->rows[j].reason;
			break;
		}
	}
	if (c->dialback)
		e->reason = "the call back of a promise";
	for (size_t j = i + 1; j < c->n && c->rows[j].ev != E_TSTART; j++) {
		if (c->rows[j].ev == E_TRESULT) {
			e->result = c->rows[j].result;
			/* an ok result's reason ("target answered 200") is no failure */
			if (!eq(e->result, "ok"))
				e->failure = c->rows[j].reason;
			break;
		}
	}
}

static void
list_drop(struct ctx *x, const struct scall *c, size_t i, int64_t in_menu_ms, const char *path)
{
	struct journal_figures *fig = x->fig;
	const struct srow *d = &c->rows[i];
	struct jstat_drop *e;

	if (fig->ndrop_list == x->dcap) {
		size_t cap = x->dcap ? x->dcap * 2 : 64;
		if ((e = realloc(fig->drop_list, cap * sizeof(*e))) == NULL) {
			x->err = ENOMEM;
			return;
		}
		fig->drop_list = e;
		x->dcap = cap;
	}
	fig->drop_list[fig->ndrop_list++] = (struct jstat_drop){.id = d->id, .ts_ms = d->ts_ms,
		.call_id = pool_str(x->pool, c->call_id), .ani = pool_str(x->pool, c->ani),
		.menu = d->menu, .prompt = d->prompt,
		.in_menu_ms = in_menu_ms, .duration_ms = d->duration_ms,
		.path = pool_str(x->pool, path)};
}

/* The menu journals its route before the call finds the department closed or busy, which
 * journals a second route row with that result: the first did not route. */
static bool
really_routed(const struct scall *c, size_t i)
{
	for (size_t j = i + 1; j < c->n; j++) {
		if (c->rows[j].ev == E_TSTART || c->rows[j].ev == E_ENTER)
			return true;
		if (c->rows[j].ev == E_ROUTE)
			return c->rows[j].dept != c->rows[i].dept || c->rows[j].result == NULL;
	}
	return true;
}

static bool
matches(const struct ctx *x, const struct scall *c)
{
	const struct journal_stats_filter *f = x->f;

	if (set(f->number) && !eq(c->ani, f->number) && !eq(c->dnis, f->number))
		return false;
	if (!set(f->dept))
		return true;
	for (size_t i = 0; i < c->n; i++)
		if ((c->rows[i].ev == E_ROUTE || c->rows[i].ev == E_TSTART) &&
		    eq(c->rows[i].dept, f->dept))
			return true;
	return false;
}

/* When the local hour holding ms began: hours are the staff's, so a zone half an hour off
 * UTC still gets whole local hours. The offset is looked up once per UTC hour (zones change
 * it only on a quarter hour at the earliest, and a call's hour is read at its start). */
static int64_t
local_hour(struct ctx *x, int64_t ms)
{
	int64_t utc_hour = ms >= 0 ? ms / HOUR_MS : (ms - HOUR_MS + 1) / HOUR_MS, local;

	if (utc_hour != x->utc_hour) {
		time_t t = (time_t)(utc_hour * 3600);
		struct tm tm;

		x->utc_hour = utc_hour;
		x->local_off_ms = localtime_r(&t, &tm) != NULL ? (int64_t)tm.tm_gmtoff * 1000 : 0;
	}
	local = ms + x->local_off_ms;
	return local - ((local % HOUR_MS) + HOUR_MS) % HOUR_MS - x->local_off_ms;
}

/* Counts one whole call. */
static void
account(struct ctx *x, const struct scall *c)
{
	struct journal_figures *fig = x->fig;
	bool routed = false, dropped = false, first_ok = false, first_done = false;
	size_t transfers = 0, first_t = SIZE_MAX;
	/* the menus this call entered, each with when it last entered */
	struct { struct mstat *m; int64_t ts_ms; } in[32];
	size_t nin = 0, off = 0;
	char path[512] = "", to[200];
	struct scaller *who = NULL;
	struct hstat *hour;

	if (!matches(x, c))
		return;
	for (size_t i = 0; i < c->n && x->err == 0; i++) {
		const struct srow *r = &c->rows[i];
		struct jstat_dept *d;
		struct mstat *m;
		size_t k;

		/* an agent took a dial-back's transfer; the rest is no caller's call */
		if (c->dialback && r->ev != E_TSTART && r->ev != E_TRESULT)
			continue;
		switch (r->ev) {
		case E_ENTER:
			if ((m = menu(x, r->menu)) == NULL)
				break;
			m->m.entered++;
			for (k = 0; k < nin && in[k].m != m; k++)
				;
			if (k == nin) {
				m->m.calls++;
				if (nin < ARRAY_LEN(in))
					in[nin++].m = m;
			}
			if (k < nin)
				in[k].ts_ms = r->ts_ms;
			path_add(path, sizeof(path), &off, r->menu);
			break;
		case E_KEY:
		case E_ENTRY:
			if (r->ignored || r->menu == NULL)
				break;
			/* keys of the callback offer (menu "callback") are not a menu's */
			if ((m = hmap_get(x->menus, r->menu)) == NULL ||
			    !entered_before(c, i, r->menu))
				break;
			if (i + 1 < c->n && c->rows[i + 1].ev == E_INVALID)
				break;
			led_to(to, sizeof(to), c, i);
			left_add(x, m, r->ev == E_ENTRY ? "entry" : r->key, to);
			break;
		case E_INVALID:
			if ((m = menu(x, r->menu)) != NULL)
				m->m.invalid++;
			break;
		case E_TIMEOUT:
			if ((m = menu(x, r->menu)) != NULL)
				m->m.timeouts++;
			break;
		case E_DROP: {
			int64_t in_menu = -1;
			dropped = true;
			if ((m = menu(x, r->menu)) != NULL) {
				m->m.hung_up++;
				for (k = 0; k < nin; k++) {
					if (in[k].m == m) {
						in_menu = r->ts_ms - in[k].ts_ms;
						hang_add(x, m, in_menu);
					}
				}
			}
			if (x->f->lists)
				list_drop(x, c, i, in_menu, path);
			break;
		}
		case E_ROUTE:
			if ((d = dept(x, r->dept)) == NULL)
				break;
			if (r->result == NULL) {
				if (really_routed(c, i)) {
					d->routed++;
					routed = true;
				}
			} else if (strcmp(r->result, "closed") == 0) {
				d->closed++;
			} else if (strcmp(r->result, "busy") == 0) {
				d->busy++;
			} else if (strcmp(r->result, "refused") == 0) {
				d->refused++;
			}
			break;
		case E_TSTART:
			if ((d = dept(x, r->dept)) == NULL)
				break;
			d->transfers++;
			if (transfers++ == 0)
				first_t = i;
			if (x->f->lists)
				list_transfer(x, c, i);
			break;
		case E_TRESULT:
			if ((d = dept(x, r->dept)) == NULL)
				break;
			if (eq(r->result, "ok"))
				d->ok++;
			else
				d->failed++;
			/* the first transfer's result: the first result after it */
			if (first_t != SIZE_MAX && !first_done && !c->dialback) {
				first_done = true;
				if (eq(r->result, "ok") && r->dept == c->rows[first_t].dept) {
					first_ok = true;
					d->first_ok++;
				}
			}
			break;
		case E_OFFER:
			if (eq(r->result, "offered") && (d = dept(x, r->dept)) != NULL)
				d->callbacks_offered++;
			break;
		default:
			break;
		}
	}
	if (c->dialback)
		return;
	fig->calls++;
	fig->routed_calls += routed;
	fig->transferred_calls += transfers > 0;
	fig->transfers += transfers;
	fig->first_ok_calls += first_ok;
	fig->dropped_calls += dropped;
	if (set(c->ani) && (who = hmap_get(x->callers, c->ani)) == NULL) {
		size_t len = strlen(c->ani) + 1;
		if ((who = calloc(1, sizeof(*who) + len)) == NULL ||
		    hmap_put(x->callers, c->ani, who) != 0) {
			free(who);
			who = NULL;
			x->err = ENOMEM;
		} else {
			memcpy(who->number, c->ani, len);
			who->c.number = who->number;
		}
	}
	if (who != NULL) {
		who->c.calls++;
		who->c.transfers += transfers;
		who->c.drops += dropped;
	}
	/* calls end in about the order they start: the last hour is most often the one */
	int64_t hour_ms = local_hour(x, c->start_ms);
	if (x->last_hour != NULL && x->last_hour->h.hour_ms == hour_ms) {
		hour = x->last_hour;
	} else {
		snprintf(to, sizeof(to), "%lld", (long long)hour_ms);
		hour = x->last_hour = slot(x, x->hours, to, sizeof(*hour));
	}
	if (hour != NULL) {
		hour->h.hour_ms = hour_ms;
		hour->h.calls++;
		hour->h.transferred += transfers > 0;
		hour->h.dropped += dropped;
	}
}

static void
call_free(struct scall *c)
{
	if (c == NULL)
		return;
	free(c->rows);
	free(c);
}

static void
finish_call(struct ctx *x, struct scall *c)
{
	if (x->err == 0)
		account(x, c);
	hmap_del(x->live, c->call_id);
	if (c->cap == ROWS_FIRST && x->nspare < ARRAY_LEN(x->spare)) {
		x->spare[x->nspare++] = c->rows;
		c->rows = NULL;
	}
	call_free(c);
}

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* SELECT column order */
enum { C_ID, C_TS, C_CALL, C_EVENT, C_MENU, C_KEY, C_DEPT, C_TARGET, C_RESULT, C_REASON,
	C_ANI, C_DNIS, C_PROMPT, C_DETAIL, C_DURATION };

static int
ev_code(enum ev *e, const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(ev_names); i++) {
		if (strcmp(name, ev_names[i]) == 0) {
			*e = (enum ev)i;
			return 0;
		}
	}
	return ENOENT;
}

static void
add_row(struct ctx *x, sqlite3_stmt *st)
{
	const char *call_id, *event = col(st, C_EVENT), *s;
	const struct journal_stats_filter *f = x->f;
	struct scall *c;
	struct srow *r;
	int64_t ts;
	enum ev e;

	if (event == NULL || ev_code(&e, event) != 0 || (call_id = col(st, C_CALL)) == NULL)
		return;
	ts = sqlite3_column_int64(st, C_TS);
	c = hmap_get(x->live, call_id);
	if (e == E_START || e == E_DIAL_START) {
		if (c != NULL || (f->since_ms != 0 && ts < f->since_ms) ||
		    (f->until_ms != 0 && ts >= f->until_ms))
			return;
		/* a dial-back's caller is the number it calls */
		const char *ani = col(st, e == E_START ? C_ANI : C_DNIS), *dnis = col(st, C_DNIS);
		size_t lc = strlen(call_id) + 1, la = ani ? strlen(ani) + 1 : 0;
		size_t ld = dnis ? strlen(dnis) + 1 : 0;
		char *p;
		if ((c = calloc(1, sizeof(*c) + lc + la + ld)) == NULL ||
		    hmap_put(x->live, call_id, c) != 0) {
			free(c);
			x->err = ENOMEM;
			return;
		}
		p = c->strings;
		c->call_id = memcpy(p, call_id, lc);
		c->ani = ani ? memcpy(p + lc, ani, la) : NULL;
		c->dnis = dnis ? memcpy(p + lc + la, dnis, ld) : NULL;
		c->start_ms = ts;
		c->dialback = e == E_DIAL_START;
		return;
	}
	if (c == NULL)
		return;
	if (e == E_END || e == E_DIAL_END) {
		finish_call(x, c);
		return;
	}
	if (c->cap == 0 && x->nspare > 0) {
		c->rows = x->spare[--x->nspare];
		c->cap = ROWS_FIRST;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : ROWS_FIRST;
		if ((r = realloc(c->rows, cap * sizeof(*r))) == NULL) {
			x->err = ENOMEM;
			return;
		}
		c->rows = r;
		c->cap = cap;
	}
	r = &c->rows[c->n++];
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, C_ID);
	r->ts_ms = ts;
	r->ev = e;
	r->duration_ms = -1;
	/* each event's columns that count (journal.h) */
	switch (e) {
	case E_KEY:
		s = col(st, C_DETAIL);
		r->ignored = s != NULL && strncmp(s, "ignored", 7) == 0;
		/* fall through */
	case E_ENTRY:
		if ((s = col(st, C_KEY)) != NULL)
			str_copy(r->key, s, sizeof(r->key));
		/* fall through */
	case E_ENTER:
	case E_INVALID:
	case E_TIMEOUT:
		r->menu = pool_str(x->pool, col(st, C_MENU));
		break;
	case E_ROUTE:
		r->menu = pool_str(x->pool, col(st, C_MENU));
		s = col(st, C_REASON);
		r->operator = s != NULL && strstr(s, "(operator)") != NULL;
		if (f->lists)
			r->reason = pool_str(x->pool, s);
		/* fall through */
	case E_TRESULT:
	case E_OFFER:
		r->result = pool_str(x->pool, col(st, C_RESULT));
		/* fall through */
	case E_TSTART:
		r->dept = pool_str(x->pool, col(st, C_DEPT));
		if (f->lists && e != E_ROUTE && e != E_OFFER) {
			r->target = pool_str(x->pool, col(st, C_TARGET));
			r->reason = pool_str(x->pool, col(st, C_REASON));
		}
		break;
	case E_DROP:
		r->menu = pool_str(x->pool, col(st, C_MENU));
		if (sqlite3_column_type(st, C_DURATION) != SQLITE_NULL)
			r->duration_ms = sqlite3_column_int64(st, C_DURATION);
		if (f->lists)
			r->prompt = pool_str(x->pool, col(st, C_PROMPT));
		break;
	default:
		break;
	}
}

/* The first rowid whose ts_ms is at least ts (or past the end). */
static int
rowid_at(int64_t *id, sqlite3 *db, int64_t ts)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT id FROM events WHERE ts_ms >= ?1 ORDER BY ts_ms "
		"LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, ts);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*id = INT64_MAX;
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

struct live_list {
	struct scall **v;
	size_t n;
};

static void
collect_live(void *arg, const char *key, void *value)
{
	struct live_list *l = arg;

	(void)key;
	l->v[l->n++] = value;
}

static int
by_id(const void *a, const void *b)
{
	const struct scall *x = *(struct scall *const *)a, *y = *(struct scall *const *)b;
	int64_t p = x->n ? x->rows[0].id : 0, q = y->n ? y->rows[0].id : 0;

	return (p > q) - (p < q);
}

/* Calls with no call.end in reach (a daemon killed mid-call): counted as they stand. */
static void
finish_live(struct ctx *x)
{
	struct live_list l = {0};

	if (hmap_count(x->live) == 0)
		return;
	if ((l.v = calloc(hmap_count(x->live), sizeof(*l.v))) == NULL) {
		x->err = ENOMEM;
		return;
	}
	hmap_foreach(x->live, collect_live, &l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_id);
	for (size_t i = 0; i < l.n; i++)
		finish_call(x, l.v[i]);
	free(l.v);
}

static int
scan(struct ctx *x, sqlite3 *db, char *err, size_t errlen)
{
	const struct journal_stats_filter *f = x->f;
	sqlite3_stmt *st = NULL;
	int64_t lo = 0, stop = INT64_MAX;
	int rc;

	if (f->since_ms != 0 && (rc = rowid_at(&lo, db, f->since_ms - ORDER_SLACK_MS)) != SQLITE_OK)
		goto out;
	if (f->until_ms != 0 && f->until_ms < INT64_MAX - CALL_MAX_MS)
		stop = f->until_ms + CALL_MAX_MS;
	/* in rowid order; add_row reads only the columns each event needs, and SQLite's
	 * cost grows with every column a row returns: what only lists show stays out */
	rc = sqlite3_prepare_v2(db, f->lists ?
		"SELECT id, ts_ms, call_id, event, menu, key, dept, target, result, reason, ani, "
		"dnis, prompt, detail, duration_ms FROM events WHERE id >= ?1 ORDER BY id" :
		"SELECT id, ts_ms, call_id, event, menu, key, dept, NULL, result, reason, ani, "
		"dnis, NULL, detail, duration_ms FROM events WHERE id >= ?1 ORDER BY id",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, lo);
	while (x->err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(st, C_TS);
		/* past the range: only calls still in progress are followed */
		if (f->until_ms != 0 && ts >= f->until_ms + ORDER_SLACK_MS &&
		    (hmap_count(x->live) == 0 || ts >= stop))
			break;
		add_row(x, st);
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "reading the journal: %s", sqlite3_errmsg(db));
		x->err = (rc & 0xff) == SQLITE_NOMEM ? ENOMEM : (rc & 0xff) == SQLITE_BUSY ? EBUSY
			: EIO;
	}
	sqlite3_finalize(st);
	return x->err;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;

	return (p > q) - (p < q);
}

static int
by_count(const void *a, const void *b)
{
	const struct jstat_left *x = a, *y = b;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return strcmp(x->to, y->to);
}

static int
by_entered(const void *a, const void *b)
{
	const struct jstat_menu *x = a, *y = b;

	if (x->entered != y->entered)
		return x->entered > y->entered ? -1 : 1;
	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return strcmp(x->menu, y->menu);
}

static int
by_busy(const void *a, const void *b)
{
	const struct jstat_dept *x = a, *y = b;

	if (x->transfers != y->transfers)
		return x->transfers > y->transfers ? -1 : 1;
	if (x->routed != y->routed)
		return x->routed > y->routed ? -1 : 1;
	return strcmp(x->dept, y->dept);
}

static int
by_calls(const void *a, const void *b)
{
	const struct jstat_caller *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return strcmp(x->number, y->number);
}

static int
by_hour(const void *a, const void *b)
{
	const struct jstat_hour *x = a, *y = b;

	return (x->hour_ms > y->hour_ms) - (x->hour_ms < y->hour_ms);
}

static int
transfer_newest(const void *a, const void *b)
{
	const struct jstat_transfer *x = a, *y = b;

	return (x->id < y->id) - (x->id > y->id);
}

static int
drop_newest(const void *a, const void *b)
{
	const struct jstat_drop *x = a, *y = b;

	return (x->id < y->id) - (x->id > y->id);
}

struct gather {
	struct ctx *x;
	void *v;
	size_t n;
};

static void
gather_menu(void *arg, const char *key, void *value)
{
	struct gather *g = arg;
	struct mstat *m = value;
	struct jstat_menu *out = &((struct jstat_menu *)g->v)[g->n++];

	(void)key;
	*out = m->m;
	m->m.left = NULL;
	if (m->nhang > 0) {
		qsort(m->hang_ms, m->nhang, sizeof(*m->hang_ms), cmp_i64);
		out->median_hangup_ms = m->nhang % 2 ? m->hang_ms[m->nhang / 2]
			: (m->hang_ms[m->nhang / 2 - 1] + m->hang_ms[m->nhang / 2]) / 2;
	}
	if (out->nleft > 1)
		qsort(out->left, out->nleft, sizeof(*out->left), by_count);
	free(m->hang_ms);
	free(m);
}

static void
gather_dept(void *arg, const char *key, void *value)
{
	struct gather *g = arg;

	(void)key;
	((struct jstat_dept *)g->v)[g->n++] = *(struct jstat_dept *)value;
	free(value);
}

static void
gather_caller(void *arg, const char *key, void *value)
{
	struct gather *g = arg;
	struct jstat_caller *c = &((struct scaller *)value)->c;

	(void)key;
	g->x->fig->callers++;
	if (c->calls >= 2) {
		struct jstat_caller *top = g->v;
		size_t k = g->n < TOP_CALLERS ? g->n++ : TOP_CALLERS;
		g->x->fig->repeat_callers++;
		g->x->fig->repeat_calls += c->calls - 1;
		/* only the first TOP_CALLERS are kept, in order */
		for (; k > 0 && by_calls(c, &top[k - 1]) < 0; k--)
			if (k < TOP_CALLERS)
				top[k] = top[k - 1];
		if (k < TOP_CALLERS) {
			top[k] = *c;
			top[k].number = pool_str(g->x->pool, c->number);
		}
	}
	free(value);
}

static void
gather_hour(void *arg, const char *key, void *value)
{
	struct gather *g = arg;

	(void)key;
	((struct jstat_hour *)g->v)[g->n++] = ((struct hstat *)value)->h;
	free(value);
}

/* Moves what the maps hold into the figures' arrays, emptying the maps. */
static int
gather(struct ctx *x, struct hmap **map, void (*fn)(void *, const char *, void *),
	size_t elem, void **out, size_t *n)
{
	struct gather g = {x, NULL, 0};

	if ((g.v = calloc(hmap_count(*map) + 1, elem)) == NULL)
		return ENOMEM;
	hmap_foreach(*map, fn, &g);
	hmap_free(*map);
	*map = NULL;
	*out = g.v;
	*n = g.n;
	return 0;
}

static void
drop_all(void *arg, const char *key, void *value)
{
	bool menus = *(bool *)arg;

	(void)key;
	if (menus) {
		struct mstat *m = value;
		free(m->m.left);
		free(m->hang_ms);
	}
	free(value);
}

static void
drop_live(void *arg, const char *key, void *value)
{
	(void)arg;
	(void)key;
	call_free(value);
}

static void
map_free(struct hmap *m, bool menus)
{
	if (m == NULL)
		return;
	hmap_foreach(m, drop_all, &menus);
	hmap_free(m);
}

int
journal_stats_read(struct journal_figures **fp, struct journal_query *q,
	const struct journal_stats_filter *f, char *err, size_t errlen)
{
	struct ctx x = {.f = f, .utc_hour = INT64_MIN};
	struct journal_figures *fig;
	void *v;
	int ret;

	*fp = NULL;
	err[0] = '\0';
	if ((fig = calloc(1, sizeof(*fig))) == NULL || (fig->pool = calloc(1,
	    sizeof(*fig->pool))) == NULL || hmap_new(&fig->pool->map) != 0 ||
	    hmap_new(&x.live) != 0 || hmap_new(&x.menus) != 0 || hmap_new(&x.depts) != 0 ||
	    hmap_new(&x.callers) != 0 || hmap_new(&x.hours) != 0) {
		ret = ENOMEM;
		goto out;
	}
	x.fig = fig;
	x.pool = fig->pool;
	if ((ret = scan(&x, journal_query_db(q), err, errlen)) != 0)
		goto out;
	finish_live(&x);
	if ((ret = x.err) != 0 || (ret = fig->pool->oom ? ENOMEM : 0) != 0)
		goto out;
	if ((ret = gather(&x, &x.menus, gather_menu, sizeof(*fig->menus), &v, &fig->nmenus)) != 0)
		goto out;
	fig->menus = v;
	if (fig->nmenus > 1)
		qsort(fig->menus, fig->nmenus, sizeof(*fig->menus), by_entered);
	if ((ret = gather(&x, &x.depts, gather_dept, sizeof(*fig->depts), &v, &fig->ndepts)) != 0)
		goto out;
	fig->depts = v;
	if (fig->ndepts > 1)
		qsort(fig->depts, fig->ndepts, sizeof(*fig->depts), by_busy);
	if ((ret = gather(&x, &x.callers, gather_caller, sizeof(*fig->top), &v, &fig->ntop)) != 0)
		goto out;
	fig->top = v;
	if ((ret = gather(&x, &x.hours, gather_hour, sizeof(*fig->hours), &v, &fig->nhours)) != 0)
		goto out;
	fig->hours = v;
	if (fig->nhours > 1)
		qsort(fig->hours, fig->nhours, sizeof(*fig->hours), by_hour);
	if (fig->ntransfer_list > 1)
		qsort(fig->transfer_list, fig->ntransfer_list, sizeof(*fig->transfer_list),
			transfer_newest);
	if (fig->ndrop_list > 1)
		qsort(fig->drop_list, fig->ndrop_list, sizeof(*fig->drop_list), drop_newest);
	*fp = fig;
	fig = NULL;
out:
	if (ret == ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory reading the journal");
	if (x.live != NULL) {
		hmap_foreach(x.live, drop_live, NULL);
		hmap_free(x.live);
	}
	while (x.nspare > 0)
		free(x.spare[--x.nspare]);
	map_free(x.menus, true);
	map_free(x.depts, false);
	map_free(x.callers, false);
	map_free(x.hours, false);
	journal_figures_free(fig);
	return ret;
}
