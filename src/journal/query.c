/* Read-side queries: calls in a time range, one call's rows, and the words that describe
 * them. Shared by ivrctl and the dashboard, so both tell a call's story the same way. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ivr/journal_query.h"
#include "ivr/util.h"
#include "schema.h"

#define ROW_COLUMNS "id, ts_ms, call_id, event, menu, key, dept, target, result, reason, " \
	"ani, dnis, prompt, detail, generation, duration_ms"
/* events.callback_id came with schema 2 */
#define ROW_COLUMNS_V1 ROW_COLUMNS ", NULL"
#define ROW_COLUMNS_V2 ROW_COLUMNS ", callback_id"

struct journal_query {
	sqlite3 *db;
	sqlite3_stmt *call_rows;
	char err[256];
};

/* A growing string; on allocation failure it remembers and stops growing. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void
sb_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Hands the string over (never NULL on success); ENOMEM if any append failed. */
static int
sb_finish(char **out, struct sbuf *b)
{
	if (!b->oom && b->s == NULL)
		sb_addf(b, "%s", "");
	if (b->oom) {
		free(b->s);
		*out = NULL;
		return ENOMEM;
	}
	*out = b->s;
	return 0;
}

static void
set_error(struct journal_query *q, const char *what)
{
	snprintf(q->err, sizeof(q->err), "%s: %s", what, sqlite3_errmsg(q->db));
}

static int
query_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return EACCES;
	default:
		return EIO;
	}
}

/* "file:PATH?immutable=1", PATH percent-encoded (RFC 3986) as SQLite URIs expect. */
static int
immutable_uri(char **out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sbuf b = {0};

	sb_addf(&b, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		/* a leading "//" would read as an authority */
		if ((*p == '/' && !(p == (const unsigned char *)path && p[1] == '/')) ||
		    strchr("._-~", *p) != NULL || (*p >= '0' && *p <= '9') ||
		    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			sb_addf(&b, "%c", *p);
		else
			sb_addf(&b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	sb_addf(&b, "?immutable=1");
	return sb_finish(out, &b);
}

void
journal_query_close(struct journal_query *q)
{
	if (q == NULL)
		return;
	sqlite3_finalize(q->call_rows);
	sqlite3_close(q->db);
	free(q);
}

const char *
journal_query_error(const struct journal_query *q)
{
	return q->err;
}

void
journal_query_interrupt(struct journal_query *q)
{
	sqlite3_interrupt(q->db);
}

sqlite3 *
journal_query_db(struct journal_query *q)
{
	return q->db;
}

int
journal_query_open(struct journal_query **qp, const char *path, char *err, size_t errlen)
{
	struct journal_query *q = NULL;
	sqlite3_stmt *st = NULL;
	char wal[PATH_MAX + 4], *uri = NULL;
	struct stat sb;
	int64_t version = 0;
	int rc, ret = 0;

	*qp = NULL;
	err[0] = '\0';
	/* SQLite would report a missing file as "unable to open": say what it is */
	if (stat(path, &sb) != 0) {
		ret = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(ret));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		ret = EISDIR;
		snprintf(err, errlen, "%s is a directory", path);
		goto out;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		ret = ENOMEM;
		goto out;
	}
	/* No -wal file: the daemon is not running and every row is in the main file. A
	 * read-only WAL open would create -wal and -shm, owned by whoever runs ivrctl (the
	 * daemon could not write them later) or fail in a directory it may not write. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) != 0 && errno == ENOENT) {
		if ((ret = immutable_uri(&uri, path)) != 0)
			goto out;
		rc = sqlite3_open_v2(uri, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
			SQLITE_OPEN_NOMUTEX, NULL);
	} else {
		rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			NULL);
	}
	if (rc != SQLITE_OK) {
		ret = query_errno(rc);
		snprintf(err, errlen, "%s: %s", path,
			q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(q->db, 2000);
	rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		ret = query_errno(rc);
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(q->db));
		goto out;
	}
	if (version == 0) {
		ret = EINVAL;
		snprintf(err, errlen, "%s is not an ivrd journal (no schema)", path);
		goto out;
	}
	if (version > JOURNAL_SCHEMA_VERSION) {
		ret = ENOTSUP;
		snprintf(err, errlen, "%s has schema version %lld; this program reads up to "
			"version %d", path, (long long)version, JOURNAL_SCHEMA_VERSION);
		goto out;
	}
	rc = sqlite3_prepare_v3(q->db, version >= 2 ?
		"SELECT " ROW_COLUMNS_V2 " FROM events WHERE call_id = ?1 ORDER BY id" :
		"SELECT " ROW_COLUMNS_V1 " FROM events WHERE call_id = ?1 ORDER BY id",
		-1, SQLITE_PREPARE_PERSISTENT, &q->call_rows, NULL);
	if (rc != SQLITE_OK) {
		ret = query_errno(rc);
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(q->db));
		goto out;
	}
	*qp = q;
out:
	free(uri);
	if (ret != 0)
		journal_query_close(q);
	return ret;
}

/* One allocation per row: the struct, then its strings. */
static int
row_read(struct journal_row **rp, sqlite3_stmt *st)
{
	const unsigned char *src[12];
	size_t len[12], total = 0;
	struct journal_row *r;
	const char **dst[12];
	char *p;

	for (int i = 0; i < 12; i++) {
		src[i] = sqlite3_column_text(st, i + 2);
		len[i] = src[i] != NULL ? (size_t)sqlite3_column_bytes(st, i + 2) + 1 : 0;
		total += len[i];
	}
	r = calloc(1, sizeof(*r) + total);
	if (r == NULL)
		return ENOMEM;
	p = (char *)(r + 1);
	r->id = sqlite3_column_int64(st, 0);
	r->ev.ts_ms = sqlite3_column_int64(st, 1);
	r->ev.generation = sqlite3_column_int64(st, 14);
	r->ev.duration_ms = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1
		: sqlite3_column_int64(st, 15);
	r->ev.callback_id = sqlite3_column_int64(st, 16);
	dst[0] = &r->ev.call_id, dst[1] = &r->ev.event, dst[2] = &r->ev.menu;
	dst[3] = &r->ev.key, dst[4] = &r->ev.dept, dst[5] = &r->ev.target;
	dst[6] = &r->ev.result, dst[7] = &r->ev.reason, dst[8] = &r->ev.ani;
	dst[9] = &r->ev.dnis, dst[10] = &r->ev.prompt, dst[11] = &r->ev.detail;
	for (int i = 0; i < 12; i++) {
		if (src[i] == NULL)
			continue;
		memcpy(p, src[i], len[i]);
		*dst[i] = p;
		p += len[i];
	}
	*rp = r;
	return 0;
}

void
journal_rows_free(struct journal_rows *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

int
journal_query_call(struct journal_rows **rp, struct journal_query *q, const char *call_id)
{
	struct journal_rows *r;
	size_t cap = 0;
	int rc, err = 0;

	*rp = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ENOMEM;
	sqlite3_bind_text(q->call_rows, 1, call_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q->call_rows)) == SQLITE_ROW) {
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct journal_row **v = realloc(r->v, ncap * sizeof(*v));
			if (v == NULL) {
				err = ENOMEM;
				goto out;
			}
			r->v = v;
			cap = ncap;
		}
		if ((err = row_read(&r->v[r->n], q->call_rows)) != 0)
			goto out;
		r->n++;
	}
	if (rc != SQLITE_DONE) {
		set_error(q, "reading a call's events");
		err = query_errno(rc);
		goto out;
	}
	if (r->n == 0)
		err = ENOENT;
out:
	sqlite3_reset(q->call_rows);
	sqlite3_clear_bindings(q->call_rows);
	if (err != 0)
		journal_rows_free(r);
	else
		*rp = r;
	return err;
}

static int
dup_opt(char **dst, const char *s)
{
	*dst = NULL;
	if (s != NULL && (*dst = strdup(s)) == NULL)
		return ENOMEM;
	return 0;
}

static bool
is(const struct journal_event *ev, const char *type)
{
	return strcmp(ev->event, type) == 0;
}

static const char *
str_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

void
journal_call_clear(struct journal_call *c)
{
	free(c->call_id);
	free(c->ani);
	free(c->dnis);
	free(c->outcome);
	free(c->dept);
	free(c->menu_path);
	free(c->end_reason);
	memset(c, 0, sizeof(*c));
}

int
journal_call_summarise(struct journal_call *c, const struct journal_rows *r)
{
	const struct journal_event *start = NULL, *final = NULL, *drop = NULL, *end = NULL;
	const char *last_menu = NULL, *routed = NULL, *pending = NULL;
	struct sbuf outcome = {0}, path = {0};
	const char *sep = "";
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->duration_ms = -1;
	if (r->n == 0)
		return EINVAL;
	for (size_t i = 0; i < r->n; i++) {
		const struct journal_event *ev = &r->v[i]->ev;

		if (is(ev, JEV_CALL_START) && start == NULL) {
			start = ev;
		} else if (is(ev, JEV_MENU_ENTER) && ev->menu != NULL) {
			/* a replayed menu is one step of the path */
			if (last_menu == NULL || strcmp(last_menu, ev->menu) != 0)
				sb_addf(&path, "%s%s", last_menu ? " > " : "", ev->menu);
			last_menu = ev->menu;
		} else if (is(ev, JEV_ROUTE)) {
			routed = ev->dept;
		} else if (is(ev, JEV_TRANSFER_START)) {
			pending = str_or(ev->dept, str_or(ev->target, "?"));
		} else if (is(ev, JEV_TRANSFER_RESULT)) {
			pending = NULL;
			if (ev->result != NULL && strcmp(ev->result, "ok") == 0) {
				final = ev;
			} else {
				sb_addf(&outcome, "%stransfer failed (%s)", sep,
					str_or(ev->dept, str_or(ev->target, "?")));
				sep = ", then ";
			}
		} else if (is(ev, JEV_DROP)) {
			final = drop = ev;
		} else if (is(ev, JEV_CALL_END)) {
			end = ev;
		}
	}
	if (pending != NULL) {
		sb_addf(&outcome, "%stransfer to %s unconfirmed", sep, pending);
		sep = ", then ";
	}
	if (final != NULL && is(final, JEV_DROP))
		sb_addf(&outcome, "%shung up%s%s", sep, final->menu ? " in menu " : "",
			str_or(final->menu, ""));
	else if (final != NULL)
		sb_addf(&outcome, "%stransferred to %s", sep,
			str_or(final->dept, str_or(final->target, "?")));
	else if (end != NULL)
		/* "callback promised", "blocked", "refused" say more than "ended" */
		sb_addf(&outcome, "%s%s", sep, end->result != NULL &&
			strcmp(end->result, "dropped") != 0 &&
			strcmp(end->result, "transferred") != 0 ? end->result : "ended");
	else
		sb_addf(&outcome, "%sno end recorded", *sep ? "; " : "");

	if (end != NULL && end->duration_ms >= 0)
		c->duration_ms = end->duration_ms;
	else if (drop != NULL)
		c->duration_ms = drop->duration_ms;
	c->start_ms = start != NULL ? start->ts_ms : r->v[0]->ev.ts_ms;
	err = sb_finish(&c->outcome, &outcome);
	if (err == 0)
		err = sb_finish(&c->menu_path, &path);
	else
		free(path.s);
	if (err == 0)
		err = dup_opt(&c->call_id, r->v[0]->ev.call_id);
	if (err == 0 && start != NULL)
		err = dup_opt(&c->ani, start->ani);
	if (err == 0 && start != NULL)
		err = dup_opt(&c->dnis, start->dnis);
	if (err == 0)
		err = dup_opt(&c->dept,
			final != NULL && !is(final, JEV_DROP) ? final->dept : routed);
	if (err == 0 && end != NULL)
		err = dup_opt(&c->end_reason, end->reason);
	if (err != 0)
		journal_call_clear(c);
	return err;
}

void
journal_calls_free(struct journal_calls *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		journal_call_clear(&c->v[i]);
	free(c->v);
	free(c);
}

/* The call.start row s is of a call routed or transferred to dept (parameter n), or
 * dept is NULL. The unary '+' keeps SQLite on the call's rows (events_call_id): through
 * events_dept it would read every row of the department for each call. */
#define CALL_IN_DEPT(n) "(?" #n " IS NULL OR EXISTS (SELECT 1 FROM events d WHERE " \
	"d.call_id = s.call_id AND +d.dept = ?" #n " AND +d.event IN ('" JEV_ROUTE "', '" \
	JEV_TRANSFER_START "', '" JEV_TRANSFER_RESULT "')))"

int
journal_query_calls(struct journal_calls **cp, struct journal_query *q,
	const struct journal_call_filter *f)
{
	struct journal_calls *c;
	sqlite3_stmt *st = NULL;
	char **ids = NULL;
	size_t nids = 0, cap = 0;
	bool in_txn = false;
	int rc, err = 0;

	*cp = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ENOMEM;
	/* one snapshot for the list and each call's rows, while the daemon writes */
	rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading calls");
		err = query_errno(rc);
		goto out;
	}
	in_txn = true;
	rc = sqlite3_prepare_v2(q->db, "SELECT call_id FROM events s WHERE event = '"
		JEV_CALL_START "' AND call_id IS NOT NULL AND ts_ms >= ?1 AND ts_ms < ?2 "
		"AND (?3 IS NULL OR ani = ?3 OR dnis = ?3) AND " CALL_IN_DEPT(5) " "
		"ORDER BY ts_ms DESC, id DESC LIMIT ?4", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading calls");
		err = query_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, f->since_ms != 0 ? f->since_ms : INT64_MIN);
	sqlite3_bind_int64(st, 2, f->until_ms != 0 ? f->until_ms : INT64_MAX);
	if (f->number != NULL)
		sqlite3_bind_text(st, 3, f->number, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->limit != 0 ? (int64_t)f->limit : -1);
	if (f->dept != NULL)
		sqlite3_bind_text(st, 5, f->dept, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nids == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **v = realloc(ids, ncap * sizeof(*v));
			if (v == NULL) {
				err = ENOMEM;
				goto out;
			}
			ids = v;
			cap = ncap;
		}
		if ((ids[nids] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL) {
			err = ENOMEM;
			goto out;
		}
		nids++;
	}
	if (rc != SQLITE_DONE) {
		set_error(q, "reading calls");
		err = query_errno(rc);
		goto out;
	}
	if (nids > 0 && (c->v = calloc(nids, sizeof(*c->v))) == NULL) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nids; i++) {
		struct journal_rows *rows;

		if ((err = journal_query_call(&rows, q, ids[i])) != 0)
			goto out;
		err = journal_call_summarise(&c->v[c->n], rows);
		journal_rows_free(rows);
		if (err != 0)
			goto out;
		c->n++;
	}
out:
	sqlite3_finalize(st);
	if (in_txn)
		sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	if (err != 0)
		journal_calls_free(c);
	else
		*cp = c;
	return err;
}

/* "9.3 s" */
/* A route decision's inputs, journaled as "key=value; ...", in words. Rows written before
 * the inputs were journaled hold the menu path alone. */
static void
describe_inputs(struct sbuf *b, const char *detail)
{
	static const struct {
		const char *key, *words;
	} names[] = {
		{"path", "menu path"}, {"dnis", "dialed"}, {"ani", "caller"},
		{"digits", "entered"}, {"hours", "hours"}, {"overflow", "overflow step"},
		{"guard", "loop guard"},
	};
	const char *p = detail, *sep = "; based on: ";

	if (strchr(detail, '=') == NULL) {
		sb_addf(b, " (path %s)", detail);
		return;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ";"), k = strcspn(p, "=");
		const char *words = NULL;

		if (k < n) {
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (strlen(names[i].key) == k && strncmp(p, names[i].key, k) == 0)
					words = names[i].words;
			if (words != NULL)
				sb_addf(b, "%s%s %.*s", sep, words, (int)(n - k - 1), p + k + 1);
			else
				sb_addf(b, "%s%.*s", sep, (int)n, p);
			sep = ", ";
		}
		p += n;
		while (*p == ';' || *p == ' ')
			p++;
	}
}

int
journal_query_caller_events(struct journal_query *q, int64_t since_ms,
	void (*fn)(void *arg, const char *ani, const char *event, int64_t ts_ms), void *arg)
{
	/* transfer.start and drop rows name no caller: their call's call.start does */
	static const char sql[] = "SELECT s.ani, e.event, e.ts_ms FROM events e "
		"JOIN events s ON s.call_id = e.call_id AND s.event = '" JEV_CALL_START "' "
		"WHERE e.event IN ('" JEV_CALL_START "', '" JEV_TRANSFER_START "', '" JEV_DROP "') "
		"AND e.ts_ms >= ?1 AND s.ani IS NOT NULL AND s.ani != '' ORDER BY e.id";
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading callers' history");
		err = query_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
	if (rc != SQLITE_DONE) {
		set_error(q, "reading callers' history");
		err = query_errno(rc);
	}
out:
	sqlite3_finalize(st);
	return err;
}

static void
sb_seconds(struct sbuf *b, int64_t ms)
{
	sb_addf(b, "%lld.%lld s", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
}

/* callback.* events (journal.h); false for one this version has no words for. */
static bool
describe_promise(struct sbuf *b, const struct journal_event *ev)
{
	const char *what = ev->event + 9;
	long long id = (long long)ev->callback_id;

	if (strcmp(what, "promised") == 0 || strcmp(what, "updated") == 0) {
		sb_addf(b, "%s call back #%lld from %s to %s", *what == 'p' ? "promised" :
			"updated", id, str_or(ev->dept, "?"), str_or(ev->dnis, "?"));
		if (ev->detail != NULL)
			sb_addf(b, " (%s)", ev->detail);
	} else if (strcmp(what, "attempt") == 0) {
		sb_addf(b, "call back #%lld: dialing %s", id, str_or(ev->dnis, "?"));
		if (ev->detail != NULL)
			sb_addf(b, ", %s", ev->detail);
		if (ev->reason != NULL)
			sb_addf(b, " (%s)", ev->reason);
	} else if (strcmp(what, "result") == 0) {
		sb_addf(b, "call back #%lld: %s", id, str_or(ev->result, "no result"));
		if (ev->detail != NULL)
			sb_addf(b, " (%s)", ev->detail);
		if (ev->reason != NULL)
			sb_addf(b, " — %s", ev->reason);
	} else if (strcmp(what, "kept") == 0) {
		sb_addf(b, "call back #%lld kept", id);
	} else if (strcmp(what, "broken") == 0 || strcmp(what, "overdue") == 0) {
		sb_addf(b, "call back #%lld %s", id, what);
		if (ev->reason != NULL)
			sb_addf(b, " — %s", ev->reason);
	} else if (strcmp(what, "offer") == 0) {
		/* the conversation in the call: offered, accepted, declined, not stored, told */
		const char *r = str_or(ev->result, "?");
		if (strcmp(r, "told") == 0)
			sb_addf(b, "told the caller when to expect call back #%lld", id);
		else if (strcmp(r, "not stored") == 0)
			sb_addf(b, "call back from %s could not be stored: nothing promised",
				str_or(ev->dept, "?"));
		else
			sb_addf(b, "call back from %s %s", str_or(ev->dept, "?"), r);
		if (ev->reason != NULL)
			sb_addf(b, " (%s)", ev->reason);
	} else if (strcmp(what, "cancelled") == 0) {
		sb_addf(b, "call back #%lld cancelled", id);
		if (ev->detail != NULL)
			sb_addf(b, " by %s", ev->detail);
		if (ev->reason != NULL)
			sb_addf(b, " — %s", ev->reason);
	} else {
		return false;
	}
	return true;
}

int
journal_event_describe(char **out, const struct journal_event *ev)
{
	struct sbuf b = {0};

	if (is(ev, JEV_CALL_START)) {
		const char *sep = " (";
		sb_addf(&b, "call from %s to %s", str_or(ev->ani, "an unknown number"),
			str_or(ev->dnis, "an unknown number"));
		if (ev->generation != 0) {
			sb_addf(&b, "%sconfiguration generation %lld", sep,
				(long long)ev->generation);
			sep = ", ";
		}
		if (ev->detail != NULL) {
			sb_addf(&b, "%slanguage %s", sep, ev->detail);
			sep = ", ";
		}
		if (*sep == ',')
			sb_addf(&b, ")");
	} else if (is(ev, JEV_MENU_ENTER)) {
		sb_addf(&b, "entered menu %s", str_or(ev->menu, "?"));
		if (ev->prompt != NULL)
			sb_addf(&b, ", hearing %s", ev->prompt);
	} else if (is(ev, JEV_KEY)) {
		sb_addf(&b, "pressed %s", str_or(ev->key, "a key"));
	} else if (is(ev, JEV_INVALID)) {
		sb_addf(&b, "invalid key %s", str_or(ev->key, "?"));
		if (ev->menu != NULL)
			sb_addf(&b, " in menu %s", ev->menu);
		if (ev->detail != NULL)
			sb_addf(&b, " (%s)", ev->detail);
	} else if (is(ev, JEV_ENTRY)) {
		sb_addf(&b, "entered %s", str_or(ev->key, "?"));
		if (ev->menu != NULL)
			sb_addf(&b, " in menu %s", ev->menu);
		if (ev->detail != NULL)
			sb_addf(&b, " (%s)", ev->detail);
	} else if (is(ev, JEV_TIMEOUT)) {
		sb_addf(&b, "no key pressed");
		if (ev->menu != NULL)
			sb_addf(&b, " in menu %s", ev->menu);
		if (ev->detail != NULL)
			sb_addf(&b, " (%s)", ev->detail);
	} else if (is(ev, JEV_ROUTE)) {
		if (ev->result != NULL && strcmp(ev->result, "closed") == 0)
			sb_addf(&b, "%s is closed", str_or(ev->dept, "?"));
		else if (ev->result != NULL && strcmp(ev->result, "busy") == 0)
			sb_addf(&b, "%s is busy", str_or(ev->dept, "?"));
		else if (ev->result != NULL && strcmp(ev->result, "refused") == 0)
			sb_addf(&b, "not sent to %s", str_or(ev->dept, "?"));
		else
			sb_addf(&b, "routed to %s", str_or(ev->dept, "?"));
		if (ev->reason != NULL)
			sb_addf(&b, " — reason: %s", ev->reason);
		if (ev->detail != NULL)
			describe_inputs(&b, ev->detail);
	} else if (is(ev, JEV_TRANSFER_START)) {
		sb_addf(&b, "transfer to %s started", str_or(ev->target, str_or(ev->dept, "?")));
	} else if (is(ev, JEV_TRANSFER_RESULT)) {
		const char *to = str_or(ev->dept, str_or(ev->target, "?"));
		if (ev->result != NULL && strcmp(ev->result, "ok") == 0)
			sb_addf(&b, "transfer to %s succeeded", to);
		else if (ev->result != NULL && strcmp(ev->result, "failed") == 0)
			sb_addf(&b, "transfer to %s failed", to);
		else
			sb_addf(&b, "transfer to %s: %s", to, str_or(ev->result, "no result"));
		if (ev->reason != NULL)
			sb_addf(&b, " — %s", ev->reason);
	} else if (is(ev, JEV_DROP)) {
		sb_addf(&b, "hung up");
		if (ev->menu != NULL)
			sb_addf(&b, " in menu %s", ev->menu);
		if (ev->duration_ms >= 0) {
			sb_addf(&b, " after ");
			sb_seconds(&b, ev->duration_ms);
		}
		if (ev->prompt != NULL)
			sb_addf(&b, "; last heard %s", ev->prompt);
	} else if (is(ev, JEV_CALL_END)) {
		sb_addf(&b, "call ended");
		if (ev->result != NULL)
			sb_addf(&b, " (%s)", ev->result);
		if (ev->reason != NULL)
			sb_addf(&b, " — %s", ev->reason);
	} else if (strncmp(ev->event, "callback.", 9) == 0 && describe_promise(&b, ev)) {
		/* in words */
	} else {
		/* an event this version has no words for: show what it holds */
		const char *name[] = {"menu", "key", "dept", "target", "result", "reason", "ani",
			"dnis", "prompt", "detail"};
		const char *val[] = {ev->menu, ev->key, ev->dept, ev->target, ev->result,
			ev->reason, ev->ani, ev->dnis, ev->prompt, ev->detail};
		sb_addf(&b, "%s", ev->event);
		for (size_t i = 0; i < ARRAY_LEN(val); i++)
			if (val[i] != NULL)
				sb_addf(&b, " %s=%s", name[i], val[i]);
		if (ev->duration_ms >= 0)
			sb_addf(&b, " duration_ms=%lld", (long long)ev->duration_ms);
	}
	return sb_finish(out, &b);
}

/* Callback promises. */

/* Schema 2 added the callbacks table and events.callback_id together. */
static int
has_promises(bool *yes, struct journal_query *q)
{
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	*yes = false;
	rc = sqlite3_prepare_v2(q->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
		"name = 'callbacks'", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		*yes = true;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_error(q, "reading the schema");
		err = query_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}

static void
promise_clear(struct journal_promise *p)
{
	free(p->number);
	free(p->ani);
	free(p->dept);
	free(p->lang);
	free(p->call_id);
	free(p->state);
	free(p->last_result);
	free(p->reason);
	free(p->kept_call_id);
	free(p->owner);
}

void
journal_promises_free(struct journal_promises *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		promise_clear(&p->v[i]);
	free(p->v);
	free(p);
}

static int
col_dup(char **dst, sqlite3_stmt *st, int col)
{
	return dup_opt(dst, (const char *)sqlite3_column_text(st, col));
}

static int64_t
col_time(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, col);
}

#define PROMISE_COLUMNS "id, number, ani, dept, lang, call_id, state, created_ms, updated_ms, " \
	"due_ms, expires_ms, next_ms, attempts, max_attempts, last_result, reason, " \
	"kept_call_id, closed_ms, owner, lease_until_ms"

static int
promise_read(struct journal_promise *p, sqlite3_stmt *st, int64_t now_ms)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->created_ms = col_time(st, 7);
	p->updated_ms = col_time(st, 8);
	p->due_ms = col_time(st, 9);
	p->expires_ms = col_time(st, 10);
	p->next_ms = col_time(st, 11);
	p->attempts = sqlite3_column_int64(st, 12);
	p->max_attempts = sqlite3_column_int64(st, 13);
	p->closed_ms = col_time(st, 17);
	p->lease_until_ms = col_time(st, 19);
	if ((err = col_dup(&p->number, st, 1)) != 0 || (err = col_dup(&p->ani, st, 2)) != 0 ||
	    (err = col_dup(&p->dept, st, 3)) != 0 || (err = col_dup(&p->lang, st, 4)) != 0 ||
	    (err = col_dup(&p->call_id, st, 5)) != 0 || (err = col_dup(&p->state, st, 6)) != 0 ||
	    (err = col_dup(&p->last_result, st, 14)) != 0 ||
	    (err = col_dup(&p->reason, st, 15)) != 0 ||
	    (err = col_dup(&p->kept_call_id, st, 16)) != 0 ||
	    (err = col_dup(&p->owner, st, 18)) != 0) {
		promise_clear(p);
		return err;
	}
	p->overdue = p->state != NULL && (strcmp(p->state, "open") == 0 ||
		strcmp(p->state, "dialing") == 0) && p->due_ms >= 0 && p->due_ms < now_ms;
	return 0;
}

int
journal_query_promises(struct journal_promises **pp, struct journal_query *q,
	const struct journal_promise_filter *f)
{
	/* Only constant text goes into the statement; values are bound. Each view names the
	 * states it wants, so the (state, next_ms) index serves it. */
	static const char *const views[] = {
		[JPROM_ALL] = "1",
		[JPROM_OPEN] = "state IN ('open', 'dialing')",
		[JPROM_DUE] = "state IN ('open', 'dialing') AND next_ms <= ?1",
		[JPROM_OVERDUE] = ("state IN ('open', 'dialing', 'broken') AND "
			"(state = 'broken' OR due_ms < ?1)"),
		[JPROM_KEPT] = "state = 'kept'",
		[JPROM_BROKEN] = "state = 'broken'",
		[JPROM_CANCELLED] = "state = 'cancelled'",
	};
	struct journal_promises *p;
	struct sbuf sql = {0};
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	size_t cap = 0;
	bool have;
	int rc, err;

	*pp = NULL;
	if ((unsigned)f->view >= ARRAY_LEN(views))
		return EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ENOMEM;
	if ((err = has_promises(&have, q)) != 0 || !have)
		goto out;
	p->recorded = true;
	/* escalated (overdue open, then broken), open by due time, then the closed ones */
	sb_addf(&sql, "SELECT " PROMISE_COLUMNS ", CASE WHEN state IN ('open', 'dialing') AND "
		"due_ms < ?1 THEN 0 WHEN state = 'broken' THEN 1 WHEN state IN ('open', "
		"'dialing') THEN 2 ELSE 3 END AS rank FROM callbacks WHERE %s", views[f->view]);
	if (f->id != 0)
		sb_addf(&sql, " AND id = ?7");
	if (f->dept != NULL)
		sb_addf(&sql, " AND dept = ?2");
	if (f->number != NULL)
		sb_addf(&sql, " AND (number = ?3 OR ani = ?3)");
	if (f->since_ms != 0)
		sb_addf(&sql, " AND created_ms >= ?4");
	if (f->until_ms != 0)
		sb_addf(&sql, " AND created_ms < ?5");
	sb_addf(&sql, " ORDER BY rank, CASE WHEN rank < 3 THEN due_ms ELSE "
		"-COALESCE(closed_ms, updated_ms) END, id LIMIT ?6");
	if ((err = sb_finish(&text, &sql)) != 0)
		goto out;
	rc = sqlite3_prepare_v2(q->db, text, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading callback promises");
		err = query_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, f->now_ms);
	if (f->dept != NULL)
		sqlite3_bind_text(st, 2, f->dept, -1, SQLITE_STATIC);
	if (f->number != NULL)
		sqlite3_bind_text(st, 3, f->number, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->since_ms);
	sqlite3_bind_int64(st, 5, f->until_ms);
	sqlite3_bind_int64(st, 6, f->limit != 0 ? (int64_t)f->limit : -1);
	if (f->id != 0)
		sqlite3_bind_int64(st, 7, f->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct journal_promise *v = realloc(p->v, ncap * sizeof(*v));
			if (v == NULL) {
				err = ENOMEM;
				goto out;
			}
			p->v = v;
			cap = ncap;
		}
		if ((err = promise_read(&p->v[p->n], st, f->now_ms)) != 0)
			goto out;
		p->n++;
	}
	if (rc != SQLITE_DONE) {
		set_error(q, "reading callback promises");
		err = query_errno(rc);
	}
out:
	sqlite3_finalize(st);
	free(text);
	if (err != 0)
		journal_promises_free(p);
	else
		*pp = p;
	return err;
}

int
journal_query_promise_events(struct journal_rows **rp, struct journal_query *q,
	int64_t callback_id)
{
	struct journal_rows *r;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	bool have;
	int rc, err;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ENOMEM;
	if ((err = has_promises(&have, q)) != 0 || !have)
		goto out;
	rc = sqlite3_prepare_v2(q->db, "SELECT " ROW_COLUMNS_V2 " FROM events WHERE "
		"callback_id = ?1 ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading a promise's events");
		err = query_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, callback_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct journal_row **v = realloc(r->v, ncap * sizeof(*v));
			if (v == NULL) {
				err = ENOMEM;
				goto out;
			}
			r->v = v;
			cap = ncap;
		}
		if ((err = row_read(&r->v[r->n], st)) != 0)
			goto out;
		r->n++;
	}
	if (rc != SQLITE_DONE) {
		set_error(q, "reading a promise's events");
		err = query_errno(rc);
	}
out:
	sqlite3_finalize(st);
	if (err != 0)
		journal_rows_free(r);
	else
		*rp = r;
	return err;
}

int
journal_query_caller_totals(struct journal_caller_totals *t, struct journal_query *q,
	const struct journal_call_filter *f)
{
	/* the caller's calls by their call.start, as journal_query_calls finds them; then
	 * what happened on each */
	static const char sql[] = "SELECT "
		"COALESCE(SUM(e.event = '" JEV_CALL_START "'), 0), "
		"COALESCE(SUM(e.event = '" JEV_TRANSFER_START "'), 0), "
		"COALESCE(SUM(e.event = '" JEV_TRANSFER_RESULT "' AND "
		"COALESCE(e.result, '') != 'ok'), 0), "
		"COALESCE(SUM(e.event = '" JEV_DROP "'), 0) "
		"FROM events s JOIN events e ON e.call_id = s.call_id "
		"WHERE s.event = '" JEV_CALL_START "' AND (s.ani = ?1 OR s.dnis = ?1) AND "
		"s.ts_ms >= ?2 AND s.ts_ms < ?3 AND " CALL_IN_DEPT(4) " AND "
		"e.event IN ('" JEV_CALL_START "', '" JEV_TRANSFER_START "', '"
		JEV_TRANSFER_RESULT "', '" JEV_DROP "')";
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	memset(t, 0, sizeof(*t));
	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, f->number, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, f->since_ms != 0 ? f->since_ms : INT64_MIN);
		sqlite3_bind_int64(st, 3, f->until_ms != 0 ? f->until_ms : INT64_MAX);
		if (f->dept != NULL)
			sqlite3_bind_text(st, 4, f->dept, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		t->calls = (size_t)sqlite3_column_int64(st, 0);
		t->transfers = (size_t)sqlite3_column_int64(st, 1);
		t->transfers_failed = (size_t)sqlite3_column_int64(st, 2);
		t->drops = (size_t)sqlite3_column_int64(st, 3);
	} else {
		set_error(q, "reading a caller's calls");
		err = query_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}

int
journal_query_events(struct journal_query *q, const struct journal_call_filter *f,
	int (*fn)(void *arg, const struct journal_row *r), void *arg)
{
	/* every row in range by events_ts, each checked against dept through its call's rows
	 * when a dept is given; with a number, the rows of that number's calls (their
	 * call.start rows match number and dept) by events_call_id, then sorted */
#define EVENTS_IN_RANGE " FROM events s WHERE ts_ms >= ?1 AND ts_ms < ?2 AND " \
	CALL_IN_DEPT(5) " ORDER BY ts_ms, id"
#define EVENTS_OF_CALLS " FROM events WHERE call_id IN (SELECT s.call_id FROM events s " \
	"WHERE s.event = '" JEV_CALL_START "' AND (s.ani = ?3 OR s.dnis = ?3) AND " \
	CALL_IN_DEPT(5) ") AND ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms, id"
	static const char *const sql[2][2] = {
		{"SELECT " ROW_COLUMNS_V1 EVENTS_IN_RANGE, "SELECT " ROW_COLUMNS_V1 EVENTS_OF_CALLS},
		{"SELECT " ROW_COLUMNS_V2 EVENTS_IN_RANGE, "SELECT " ROW_COLUMNS_V2 EVENTS_OF_CALLS},
	};
#undef EVENTS_IN_RANGE
#undef EVENTS_OF_CALLS
	sqlite3_stmt *st = NULL;
	bool v2, in_txn = false;
	int rc, err;

	rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading events");
		return query_errno(rc);
	}
	in_txn = true;
	if ((err = has_promises(&v2, q)) != 0)
		goto out;
	rc = sqlite3_prepare_v2(q->db, sql[v2][f->number != NULL], -1, &st, NULL);
	if (rc != SQLITE_OK) {
		set_error(q, "reading events");
		err = query_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, f->since_ms != 0 ? f->since_ms : INT64_MIN);
	sqlite3_bind_int64(st, 2, f->until_ms != 0 ? f->until_ms : INT64_MAX);
	if (f->number != NULL)
		sqlite3_bind_text(st, 3, f->number, -1, SQLITE_STATIC);
	if (f->dept != NULL)
		sqlite3_bind_text(st, 5, f->dept, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_row *r;

		if ((err = row_read(&r, st)) != 0)
			goto out;
		err = fn(arg, r);
		free(r);
		if (err != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		set_error(q, "reading events");
		err = query_errno(rc);
	}
out:
	sqlite3_finalize(st);
	if (in_txn)
		sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	return err;
}
