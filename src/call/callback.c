/* The promise ledger: callback promises in memory and in the journal's callbacks table. Every
 * change rewrites the row, then journals its event, both through the journal's writer in
 * that order: the event's commit implies the row's. callback_sched.c keeps the promises. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "callback_int.h"
#include "ivr/call.h"
#include "ivr/conf.h"
#include "ivr/hours.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/util.h"

/* A department that does not open within this is "never": callback_due_ms() -1. */
#define DUE_HORIZON_S (14 * 86400)
#define FIRST_DELAY_MS 60000

/* A promise waiting for its commit before the caller is told. */
struct cb_pending {
	struct cb_pending *next;
	struct callback_mgr *m; /* NULL once the manager is gone: done is not run */
	struct callback snap;   /* as promised, for done */
	bool updated;
	void (*done)(void *arg, int err, const struct callback *cb, bool updated);
	void *arg;
};

static const char *const state_names[] = {"open", "dialing", "kept", "broken", "cancelled"};

const char *
cb_state_name(enum cb_state s)
{
	return (unsigned)s < ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

static int
state_of(const char *name)
{
	for (size_t i = 0; name != NULL && i < ARRAY_LEN(state_names); i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}

void
cb_last4(char *buf, size_t size, const char *number)
{
	size_t n = strlen(number);

	snprintf(buf, size, "...%s", n > 4 ? number + n - 4 : number);
}

/* "2024-03-11T13:00:00Z" */
static void
iso_time(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct cb_entry *
cb_find(const struct callback_mgr *m, int64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->cb.id == id)
			return m->v[i];
	return NULL;
}

void
cb_write(struct callback_mgr *m, const struct cb_entry *e)
{
	const struct callback *cb = &e->cb;
	bool closed = cb->state != CB_OPEN && cb->state != CB_DIALING;
	struct journal_callback_row row = {
		.id = cb->id, .number = cb->number, .ani = cb->ani, .dept = cb->dept,
		.lang = cb->lang, .call_id = cb->call_id, .state = cb_state_name(cb->state),
		.created_ms = cb->created_ms, .updated_ms = cb->updated_ms, .due_ms = cb->due_ms,
		.expires_ms = cb->expires_ms, .next_ms = cb->next_ms, .attempts = cb->attempts,
		.max_attempts = cb->max_attempts,
		.last_result = cb->last_result[0] != '\0' ? cb->last_result : NULL,
		.reason = cb->reason[0] != '\0' ? cb->reason : NULL,
		.kept_call_id = cb->kept_call_id[0] != '\0' ? cb->kept_call_id : NULL,
		.closed_ms = closed ? cb->updated_ms : 0,
		.owner = cb->state == CB_DIALING ? m->owner : NULL,
		.lease_until_ms = cb->state == CB_DIALING ? e->lease_until_ms : 0,
	};

	if (journal_put_callback(m->j, &row) != 0)
		log_msg(LOG_PRIO_ERR, "callback", cb->call_id, "callback %lld: row not recorded "
			"(no memory)", (long long)cb->id);
}

void
cb_record(struct callback_mgr *m, const struct cb_entry *e, struct journal_event *ev)
{
	ev->callback_id = e->cb.id;
	if (ev->dept == NULL)
		ev->dept = e->cb.dept;
	if (ev->dnis == NULL)
		ev->dnis = e->cb.number;
	if (ev->duration_ms == 0)
		ev->duration_ms = -1;
	if (journal_append(m->j, ev) != 0)
		log_msg(LOG_PRIO_ERR, "callback", ev->call_id, "journal: %s of callback %lld lost "
			"(no memory)", ev->event, (long long)e->cb.id);
}

static void
metric_add(struct callback_mgr *m, const char *name)
{
	if (m->metrics != NULL)
		metrics_add(m->metrics, name, NULL, 1);
}

void
cb_gauges(struct callback_mgr *m)
{
	struct callback_stats st;

	if (m->metrics == NULL)
		return;
	callback_mgr_stats(m, &st);
	metrics_set(m->metrics, "callback.open", NULL, (int64_t)st.open);
	metrics_set(m->metrics, "callback.dialing", NULL, (int64_t)st.dialing);
	metrics_set(m->metrics, "callback.overdue", NULL, (int64_t)st.overdue);
}

static void
entry_remove(struct callback_mgr *m, struct cb_entry *e)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i] == e) {
			m->v[i] = m->v[--m->n];
			break;
		}
}

static int
entry_add(struct callback_mgr *m, struct cb_entry *e)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct cb_entry **v = realloc(m->v, cap * sizeof(*v));
		if (v == NULL)
			return ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = e;
	return 0;
}

void
cb_close(struct callback_mgr *m, struct cb_entry *e, enum cb_state s, const char *reason,
	const char *call_id, const char *detail)
{
	struct callback *cb = &e->cb;
	const char *event = s == CB_KEPT ? JEV_CB_KEPT : s == CB_BROKEN ? JEV_CB_BROKEN :
		JEV_CB_CANCELLED;
	struct journal_event ev = {.event = event, .call_id = call_id, .reason = reason,
		.detail = detail, .ani = cb->ani};
	char last4[16];

	if (e->attempt != NULL)
		sched_abandon(m, e, s == CB_KEPT ? "kept on another call" : reason);
	cb->state = s;
	cb->updated_ms = clock_wall_ms();
	str_copy(cb->reason, reason != NULL ? reason : "", sizeof(cb->reason));
	if (s == CB_KEPT && call_id != NULL)
		str_copy(cb->kept_call_id, call_id, sizeof(cb->kept_call_id));
	cb_write(m, e);
	cb_record(m, e, &ev);
	cb_last4(last4, sizeof(last4), cb->number);
	switch (s) {
	case CB_KEPT:
		m->st.kept++;
		metric_add(m, "callback.kept");
		log_msg(LOG_PRIO_NOTICE, "callback", call_id, "callback %lld kept: %s connected to "
			"%s", (long long)cb->id, last4, cb->dept);
		break;
	case CB_BROKEN:
		m->st.broken++;
		metric_add(m, "callback.broken");
		/* escalated: a promise nobody kept must not go unnoticed */
		log_warn("callback", "callback %lld BROKEN: %s for %s, %s after %u attempt%s",
			(long long)cb->id, last4, cb->dept, reason, cb->attempts,
			cb->attempts == 1 ? "" : "s");
		break;
	default:
		m->st.cancelled++;
		metric_add(m, "callback.cancelled");
		log_notice("callback", "callback %lld cancelled (%s for %s): %s, by %s",
			(long long)cb->id, last4, cb->dept, reason != NULL ? reason : "",
			detail != NULL ? detail : "?");
		break;
	}
	m->closed[m->closed_next++ % CB_CLOSED_RECENT] = cb->id;
	entry_remove(m, e);
	free(e);
	cb_gauges(m);
}

/* --- loading --- */

static void
col_copy(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	str_copy(dst, s != NULL ? s : "", size);
}

/* A promise found dialing: the daemon stopped mid-attempt. The attempt counts. */
static void
interrupted(struct callback_mgr *m, struct cb_entry *e, int64_t now)
{
	struct journal_event ev = {
		.event = JEV_CB_RESULT, .result = "interrupted",
		.reason = "the daemon stopped during the attempt",
	};

	e->cb.state = CB_OPEN;
	e->cb.updated_ms = now;
	if (e->cb.next_ms > now)
		e->cb.next_ms = now;
	str_copy(e->cb.last_result, "interrupted", sizeof(e->cb.last_result));
	cb_write(m, e);
	cb_record(m, e, &ev);
	log_notice("callback", "callback %lld: attempt %u was interrupted; open again",
		(long long)e->cb.id, e->cb.attempts);
}

static int
load(struct callback_mgr *m)
{
	static const char sql[] = "SELECT id, number, ani, dept, lang, call_id, state, "
		"created_ms, updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts, "
		"last_result, reason, kept_call_id, owner, lease_until_ms, "
		"EXISTS (SELECT 1 FROM events WHERE callback_id = callbacks.id AND "
		"event = '" JEV_CB_OVERDUE "') FROM callbacks WHERE state IN ('open', 'dialing') "
		"ORDER BY id";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t now = clock_wall_ms();
	size_t found = 0, dialing = 0;
	int rc, err = 0;

	rc = sqlite3_open_v2(m->journal_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM callbacks", -1, &st,
			NULL);
	}
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		m->next_id = sqlite3_column_int64(st, 0) + 1;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cb_entry *e = calloc(1, sizeof(*e));
		struct callback *cb;
		int s;

		rc = SQLITE_OK;
		if (e == NULL || entry_add(m, e) != 0) {
			free(e);
			err = ENOMEM;
			break;
		}
		cb = &e->cb;
		cb->id = sqlite3_column_int64(st, 0);
		col_copy(cb->number, sizeof(cb->number), st, 1);
		col_copy(cb->ani, sizeof(cb->ani), st, 2);
		col_copy(cb->dept, sizeof(cb->dept), st, 3);
		col_copy(cb->lang, sizeof(cb->lang), st, 4);
		col_copy(cb->call_id, sizeof(cb->call_id), st, 5);
		s = state_of((const char *)sqlite3_column_text(st, 6));
		cb->created_ms = sqlite3_column_int64(st, 7);
		cb->updated_ms = sqlite3_column_int64(st, 8);
		cb->due_ms = sqlite3_column_int64(st, 9);
		cb->expires_ms = sqlite3_column_int64(st, 10);
		cb->next_ms = sqlite3_column_int64(st, 11);
		cb->attempts = (unsigned)sqlite3_column_int64(st, 12);
		cb->max_attempts = (unsigned)sqlite3_column_int64(st, 13);
		col_copy(cb->last_result, sizeof(cb->last_result), st, 14);
		col_copy(cb->reason, sizeof(cb->reason), st, 15);
		col_copy(cb->kept_call_id, sizeof(cb->kept_call_id), st, 16);
		cb->overdue_noted = sqlite3_column_int(st, 19) != 0;
		cb->state = CB_OPEN;
		found++;
		if (s == CB_DIALING) {
			dialing++;
			interrupted(m, e, now);
		}
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK && err == 0) {
		log_err("callback", "%s: cannot load the promises: %s", m->journal_path,
			db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		err = EIO;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (err == 0)
		log_notice("callback", "%zu open promise%s loaded (%zu interrupted); next id %lld",
			found, found == 1 ? "" : "s", dialing, (long long)m->next_id);
	return err;
}

/* --- the API --- */

int
callback_mgr_new(struct callback_mgr **mp, struct event_base *base, struct journal *j,
	const char *journal_path, struct call_mgr *calls, struct metrics *metrics)
{
	struct callback_mgr *m;
	char host[48] = "";
	int err;

	*mp = NULL;
	if (base == NULL || j == NULL || journal_path == NULL)
		return EINVAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ENOMEM;
	m->base = base;
	m->j = j;
	m->calls = calls;
	m->metrics = metrics;
	m->next_id = 1;
	gethostname(host, sizeof(host) - 1);
	snprintf(m->owner, sizeof(m->owner), "%s:%ld", host[0] != '\0' ? host : "ivrd",
		(long)getpid());
	if ((m->journal_path = strdup(journal_path)) == NULL) {
		err = ENOMEM;
		goto out;
	}
	if ((err = load(m)) != 0 || (err = sched_start(m)) != 0)
		goto out;
	cb_gauges(m);
	*mp = m;
out:
	if (err != 0)
		callback_mgr_free(m);
	return err;
}

void
callback_mgr_set_conf(struct callback_mgr *m, struct conf *c)
{
	struct conf *old = m->conf;

	m->conf = conf_ref(c);
	if (old != NULL)
		conf_unref(old);
	sched_kick(m);
}

void
callback_mgr_free(struct callback_mgr *m)
{
	if (m == NULL)
		return;
	sched_stop(m);
	/* commits still on their way: the daemon is going, nobody is left to tell */
	for (struct cb_pending *p = m->pending; p != NULL; p = p->next)
		p->m = NULL;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	if (m->conf != NULL)
		conf_unref(m->conf);
	free(m->journal_path);
	free(m);
}

static void
pending_unlink(struct callback_mgr *m, struct cb_pending *p)
{
	for (struct cb_pending **pp = &m->pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void
on_promised(void *arg, int err)
{
	struct cb_pending *p = arg;
	struct callback_mgr *m = p->m;
	struct cb_entry *e;

	if (m == NULL) {
		free(p);
		return;
	}
	pending_unlink(m, p);
	e = cb_find(m, p->snap.id);
	if (err != 0) {
		log_msg(LOG_PRIO_ERR, "callback", p->snap.call_id, "callback %lld not recorded: %s; "
			"nothing promised", (long long)p->snap.id, strerror(err));
		if (e != NULL && !p->updated && e->attempt == NULL) {
			entry_remove(m, e);
			free(e);
			cb_gauges(m);
		}
	} else if (e != NULL) {
		p->snap = e->cb;
	}
	p->done(p->arg, err, &p->snap, p->updated);
	free(p);
}

static void
describe(char *buf, size_t size, const struct callback *cb)
{
	char due[32], exp[32];

	iso_time(due, sizeof(due), cb->due_ms);
	iso_time(exp, sizeof(exp), cb->expires_ms);
	snprintf(buf, size, "due %s; expires %s; attempts %u", due, exp, cb->max_attempts);
}

static struct cb_entry *
find_key(const struct callback_mgr *m, const char *ani, const char *number, const char *dept)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct callback *cb = &m->v[i]->cb;
		if (strcmp(cb->dept, dept) != 0)
			continue;
		if (ani[0] != '\0' ? strcmp(cb->ani, ani) == 0 :
		    cb->ani[0] == '\0' && strcmp(cb->number, number) == 0)
			return m->v[i];
	}
	return NULL;
}

int
callback_promise(struct callback_mgr *m, const struct callback_req *r,
	void (*done)(void *arg, int err, const struct callback *cb, bool updated), void *arg)
{
	const char *ani = r->ani != NULL ? r->ani : "";
	int64_t now = clock_wall_ms();
	struct cb_entry *e;
	struct cb_pending *p;
	struct callback *cb;
	char detail[128], last4[16];
	bool updated;
	int rc;

	if (m == NULL || r->number == NULL || r->number[0] == '\0' || r->dept == NULL ||
	    r->dept[0] == '\0' || done == NULL || strlen(r->number) >= sizeof(cb->number) ||
	    strlen(ani) >= sizeof(cb->ani) || strlen(r->dept) >= sizeof(cb->dept) ||
	    r->max_attempts == 0)
		return EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ENOMEM;
	e = find_key(m, ani, r->number, r->dept);
	updated = e != NULL;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL || entry_add(m, e) != 0) {
			free(e);
			free(p);
			return ENOMEM;
		}
		e->cb.id = m->next_id++;
		e->cb.state = CB_OPEN;
		e->cb.created_ms = now;
		str_copy(e->cb.ani, ani, sizeof(e->cb.ani));
		str_copy(e->cb.dept, r->dept, sizeof(e->cb.dept));
		/* not while the promising call may still be up (the caller would be busy):
		 * the service level, at most a minute, and then when the department is open
		 * and has room */
		int64_t first = r->dial_ms > 0 ? r->dial_ms : r->due_ms;
		e->cb.next_ms = now + (first - now < 0 ? 0 : first - now < FIRST_DELAY_MS ?
			first - now : FIRST_DELAY_MS);
	}
	cb = &e->cb;
	str_copy(cb->number, r->number, sizeof(cb->number));
	str_copy(cb->lang, r->lang != NULL ? r->lang : "", sizeof(cb->lang));
	str_copy(cb->call_id, r->call_id != NULL ? r->call_id : "", sizeof(cb->call_id));
	if (cb->due_ms != r->due_ms)
		cb->overdue_noted = false;
	cb->due_ms = r->due_ms;
	cb->expires_ms = r->expires_ms;
	if (r->max_attempts > cb->max_attempts)
		cb->max_attempts = r->max_attempts;
	cb->updated_ms = now;
	describe(detail, sizeof(detail), cb);

	p->m = m;
	p->snap = *cb;
	p->updated = updated;
	p->done = done;
	p->arg = arg;
	cb_write(m, e);
	{
		struct journal_event ev = {
			.event = updated ? JEV_CB_UPDATED : JEV_CB_PROMISED, .call_id = r->call_id,
			.ani = ani[0] != '\0' ? ani : NULL, .detail = detail, .callback_id = cb->id,
			.dept = cb->dept, .dnis = cb->number, .duration_ms = -1,
		};
		rc = journal_append_cb(m->j, &ev, on_promised, p);
	}
	if (rc != 0) {
		if (!updated) {
			entry_remove(m, e);
			free(e);
		}
		free(p);
		return rc;
	}
	p->next = m->pending;
	m->pending = p;
	if (updated) {
		m->st.updated++;
		metric_add(m, "callback.updated");
	} else {
		m->st.promised++;
		metric_add(m, "callback.promised");
	}
	cb_last4(last4, sizeof(last4), cb->number);
	log_msg(LOG_PRIO_NOTICE, "callback", r->call_id, "callback %lld %s: %s for %s, %s",
		(long long)cb->id, updated ? "updated" : "promised", last4, cb->dept, detail);
	cb_gauges(m);
	sched_kick(m);
	return 0;
}

const struct callback *
callback_find_open(const struct callback_mgr *m, const char *ani, const char *dept)
{
	if (m == NULL || ani == NULL || ani[0] == '\0')
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		const struct callback *cb = &m->v[i]->cb;
		if ((dept == NULL || strcmp(cb->dept, dept) == 0) &&
		    (strcmp(cb->ani, ani) == 0 || strcmp(cb->number, ani) == 0))
			return cb;
	}
	return NULL;
}

const struct callback *
callback_get(const struct callback_mgr *m, int64_t id)
{
	const struct cb_entry *e = m != NULL ? cb_find(m, id) : NULL;

	return e != NULL ? &e->cb : NULL;
}

/* Whether a promise not in memory was ever made: its row, or one closed lately. */
static bool
known_closed(const struct callback_mgr *m, int64_t id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool found = false;

	for (size_t i = 0; i < CB_CLOSED_RECENT; i++)
		if (m->closed[i] == id)
			return true;
	if (sqlite3_open_v2(m->journal_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT 1 FROM callbacks WHERE id = ?1", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_bind_int64(st, 1, id) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

int
callback_cancel(struct callback_mgr *m, int64_t id, const char *who, const char *reason,
	const char *call_id)
{
	struct cb_entry *e;

	if (m == NULL)
		return ENOENT;
	if ((e = cb_find(m, id)) == NULL)
		return known_closed(m, id) ? EALREADY : ENOENT;
	/* an attempt ringing is hung up by cb_close first */
	cb_close(m, e, CB_CANCELLED, reason != NULL && reason[0] != '\0' ? reason : "cancelled",
		call_id, who);
	return 0;
}

void
callback_kept(struct callback_mgr *m, int64_t id, const char *call_id)
{
	struct cb_entry *e = m != NULL ? cb_find(m, id) : NULL;

	if (e == NULL) {
		log_msg(LOG_PRIO_INFO, "callback", call_id, "callback %lld: not open; nothing to keep",
			(long long)id);
		return;
	}
	cb_close(m, e, CB_KEPT, "the caller called again and was connected", call_id, NULL);
}

int64_t
callback_due_ms(const struct callback_mgr *m, const struct conf *c, int dept, int64_t now_ms)
{
	const struct conf_dept *d;
	int64_t sl;
	time_t open;

	if (dept < 0 || (size_t)dept >= c->ndepts)
		return -1;
	d = &c->depts[dept];
	sl = (int64_t)d->callback.service_level_s * 1000;
	if (m != NULL && m->calls != NULL && call_mgr_dept_state(m->calls, d->name) == DEPT_OPEN)
		return now_ms + sl;
	/* closed by an operator: its hours say when it would open again */
	open = hours_next_open(d->hours, d->tz, (time_t)(now_ms / 1000), DUE_HORIZON_S);
	if (open < 0)
		return -1;
	if (open == (time_t)(now_ms / 1000))
		return now_ms + sl;
	return (int64_t)open * 1000 + sl;
}

void
callback_mgr_stats(const struct callback_mgr *m, struct callback_stats *st)
{
	int64_t now = clock_wall_ms();

	*st = m->st;
	st->open = st->dialing = st->overdue = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct callback *cb = &m->v[i]->cb;
		if (cb->state == CB_DIALING)
			st->dialing++;
		else
			st->open++;
		if (cb->due_ms < now)
			st->overdue++;
	}
}

static int
by_next(const void *a, const void *b)
{
	const struct cb_entry *x = *(struct cb_entry *const *)a, *y = *(struct cb_entry *const *)b;

	if (x->cb.next_ms != y->cb.next_ms)
		return x->cb.next_ms < y->cb.next_ms ? -1 : 1;
	return x->cb.id < y->cb.id ? -1 : x->cb.id > y->cb.id;
}

void
callback_mgr_foreach(const struct callback_mgr *m,
	void (*fn)(void *arg, const struct callback *cb), void *arg)
{
	struct cb_entry **v;

	if (m == NULL || m->n == 0)
		return;
	if ((v = malloc(m->n * sizeof(*v))) == NULL)
		return;
	memcpy(v, m->v, m->n * sizeof(*v));
	qsort(v, m->n, sizeof(*v), by_next);
	for (size_t i = 0, n = m->n; i < n; i++)
		fn(arg, &v[i]->cb);
	free(v);
}
