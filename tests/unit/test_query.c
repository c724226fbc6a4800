/* The promise ledger's queries (journal_query.h): a journal written by the real writer, with
 * callbacks rows and callback.* events added through SQLite as the daemon would leave them;
 * each view's filter and order, a caller's totals, and a schema 1 journal without promises. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "ivr/journal.h"
#include "ivr/journal_query.h"

#define NOW INT64_C(1714557600000) /* 2024-05-01 10:00:00 UTC */
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)

static char dir[512], path[600];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void
exec_sql(const char *file, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	CHECK_INT(sqlite3_open(file, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
	}
	sqlite3_free(err);
	sqlite3_close(db);
}

/* A promise row; times relative to NOW. */
static void
add_promise(char *buf, size_t size, size_t *off, int id, const char *state, const char *dept,
	const char *number, int64_t created, int64_t due, int64_t next, int64_t closed,
	const char *reason, const char *kept_by)
{
	char cl[32], rs[96], kb[64];

	snprintf(cl, sizeof(cl), closed ? "%lld" : "NULL", (long long)(NOW + closed));
	snprintf(rs, sizeof(rs), reason ? "'%s'" : "NULL", reason);
	snprintf(kb, sizeof(kb), kept_by ? "'%s'" : "NULL", kept_by);
	*off += (size_t)snprintf(buf + *off, size - *off, "INSERT INTO callbacks (id, number, ani, "
		"dept, lang, call_id, state, created_ms, updated_ms, due_ms, expires_ms, next_ms, "
		"attempts, max_attempts, last_result, reason, kept_call_id, closed_ms) VALUES "
		"(%d, '%s', '%s', '%s', 'en', 'p-%d', '%s', %lld, %lld, %lld, %lld, %lld, 1, 3, "
		"'busy', %s, %s, %s);", id, number, number, dept, id, state,
		(long long)(NOW + created), (long long)(NOW + created), (long long)(NOW + due),
		(long long)(NOW + due + 24 * HOUR), (long long)(NOW + next), rs, kb, cl);
}

/* A v2 journal from the real writer, then the ledger of nine promises. */
static void
ledger_setup(void)
{
	struct event_base *base = event_base_new();
	struct journal *j = NULL;
	char sql[8192];
	size_t off = 0;

	snprintf(dir, sizeof(dir), "%s/ivr-query-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
		"/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT(journal_open(&j, base, path), 0);
	journal_close(j);
	event_base_free(base);

	off += (size_t)snprintf(sql + off, sizeof(sql) - off, "BEGIN;");
	add_promise(sql, sizeof(sql), &off, 1, "open", "billing", "15550001", -4 * HOUR,
		-3 * HOUR, -HOUR, 0, NULL, NULL);
	add_promise(sql, sizeof(sql), &off, 2, "open", "sales", "15550002", -2 * HOUR, -HOUR,
		HOUR, 0, NULL, NULL);
	add_promise(sql, sizeof(sql), &off, 3, "dialing", "billing", "15550003", -HOUR, HOUR,
		-MIN, 0, NULL, NULL);
	add_promise(sql, sizeof(sql), &off, 4, "open", "billing", "15550004", -MIN, 2 * HOUR,
		2 * HOUR, 0, NULL, NULL);
	add_promise(sql, sizeof(sql), &off, 5, "broken", "billing", "15550001", -12 * HOUR,
		-10 * HOUR, -HOUR, -HOUR, "attempts used up", NULL);
	add_promise(sql, sizeof(sql), &off, 6, "broken", "sales", "15550006", -6 * HOUR,
		-5 * HOUR, -HOUR, -HOUR, "window passed", NULL);
	add_promise(sql, sizeof(sql), &off, 7, "kept", "billing", "15550001", -3 * HOUR,
		-2 * HOUR, -2 * HOUR, -2 * HOUR, NULL, "k-7");
	add_promise(sql, sizeof(sql), &off, 8, "cancelled", "sales", "15550008", -HOUR, HOUR,
		HOUR, -30 * MIN, "duplicate", NULL);
	add_promise(sql, sizeof(sql), &off, 9, "kept", "sales", "15550009", -7 * HOUR,
		-6 * HOUR, -6 * HOUR, -5 * HOUR, NULL, "k-9");
	snprintf(sql + off, sizeof(sql) - off, "COMMIT;");
	exec_sql(path, sql);
}

static void
ledger_teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The ids a view lists, as "1,2,5". */
static void
ids_of(char *buf, size_t size, struct journal_query *q, struct journal_promise_filter *f)
{
	struct journal_promises *ps = NULL;
	size_t off = 0;

	buf[0] = '\0';
	f->now_ms = NOW;
	CHECK_INT(journal_query_promises(&ps, q, f), 0);
	if (ps == NULL)
		return;
	CHECK(ps->recorded);
	for (size_t i = 0; i < ps->n; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%lld", i ? "," : "",
			(long long)ps->v[i].id);
	journal_promises_free(ps);
}

static void
test_views_and_order(void)
{
	struct journal_query *q = NULL;
	char err[256], ids[128];

	ledger_setup();
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	/* escalated (overdue open, then broken; most overdue first), open by due time, then
	 * kept and cancelled newest first */
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_ALL});
	CHECK_STR(ids, "1,2,5,6,3,4,8,7,9");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_OPEN});
	CHECK_STR(ids, "1,2,3,4");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_DUE});
	CHECK_STR(ids, "1,3");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_OVERDUE});
	CHECK_STR(ids, "1,2,5,6");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_KEPT});
	CHECK_STR(ids, "7,9");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_BROKEN});
	CHECK_STR(ids, "5,6");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_CANCELLED});
	CHECK_STR(ids, "8");
	journal_query_close(q);
	ledger_teardown();
}

static void
test_filters(void)
{
	struct journal_promise_filter f = {.view = JPROM_ALL, .now_ms = NOW};
	struct journal_promises *ps = NULL;
	struct journal_query *q = NULL;
	char err[256], ids[128];

	ledger_setup();
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.dept = "sales"});
	CHECK_STR(ids, "2,6,8,9");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.view = JPROM_OVERDUE,
		.dept = "billing"});
	CHECK_STR(ids, "1,5");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.number = "15550001"});
	CHECK_STR(ids, "1,5,7");
	/* promised in the last two hours (created -2 h inclusive, until now exclusive) */
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.since_ms = NOW - 2 * HOUR,
		.until_ms = NOW - MIN});
	CHECK_STR(ids, "2,3,8");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.limit = 3});
	CHECK_STR(ids, "1,2,5");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.id = 7});
	CHECK_STR(ids, "7");
	ids_of(ids, sizeof(ids), q, &(struct journal_promise_filter){.dept = "nowhere"});
	CHECK_STR(ids, "");

	/* what a row holds */
	f.id = 1;
	CHECK_INT(journal_query_promises(&ps, q, &f), 0);
	CHECK_INT(ps->n, 1);
	if (ps->n == 1) {
		CHECK_STR(ps->v[0].state, "open");
		CHECK(ps->v[0].overdue);
		CHECK_STR(ps->v[0].number, "15550001");
		CHECK_STR(ps->v[0].last_result, "busy");
		CHECK_INT(ps->v[0].due_ms, NOW - 3 * HOUR);
		CHECK_INT(ps->v[0].attempts, 1);
		CHECK_INT(ps->v[0].max_attempts, 3);
		CHECK_INT(ps->v[0].closed_ms, -1);
		CHECK(ps->v[0].reason == NULL);
	}
	journal_promises_free(ps);
	f.id = 7;
	CHECK_INT(journal_query_promises(&ps, q, &f), 0);
	CHECK_INT(ps->n, 1);
	if (ps->n == 1) {
		CHECK(!ps->v[0].overdue); /* kept: never overdue */
		CHECK_STR(ps->v[0].kept_call_id, "k-7");
		CHECK_INT(ps->v[0].closed_ms, NOW - 2 * HOUR);
	}
	journal_promises_free(ps);
	f.id = 0;
	f.view = (enum journal_promise_view)99;
	CHECK_INT(journal_query_promises(&ps, q, &f), EINVAL);
	CHECK(ps == NULL);
	journal_query_close(q);
	ledger_teardown();
}

static void
test_promise_events_and_caller(void)
{
	struct journal_caller_totals t;
	struct journal_rows *r = NULL;
	struct journal_query *q = NULL;
	char err[256], *words = NULL;

	ledger_setup();
	exec_sql(path, "BEGIN;"
		"INSERT INTO events (ts_ms, call_id, event, ani, dnis) VALUES "
		"(1, 'c1', 'call.start', '15550001', '18005550100'),"
		"(2, 'c2', 'call.start', '15550001', '18005550100'),"
		"(3, 'c3', 'call.start', '15559999', '18005550100');"
		"INSERT INTO events (ts_ms, call_id, event, dept, result) VALUES "
		"(4, 'c1', 'transfer.start', 'billing', NULL),"
		"(5, 'c1', 'transfer.result', 'billing', 'failed'),"
		"(6, 'c1', 'transfer.start', 'sales', NULL),"
		"(7, 'c1', 'transfer.result', 'sales', 'ok'),"
		"(8, 'c2', 'drop', NULL, NULL),"
		"(9, 'c3', 'drop', NULL, NULL);"
		"INSERT INTO events (ts_ms, call_id, event, dept, dnis, result, detail, reason, "
		"callback_id) VALUES "
		"(10, 'c2', 'callback.promised', 'billing', '15550001', NULL, 'due x', NULL, 1),"
		"(11, 'd1', 'callback.attempt', 'billing', '15550001', NULL, 'attempt 1 of 3', "
		"'caller first', 1),"
		"(12, 'd1', 'callback.result', 'billing', '15550001', 'busy', 'sip 486', NULL, 1),"
		"(13, NULL, 'callback.cancelled', 'sales', NULL, NULL, 'ivrctl (uid 0)', "
		"'duplicate', 8);"
		"COMMIT;");
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	CHECK_INT(journal_query_promise_events(&r, q, 1), 0);
	CHECK_INT(r->n, 3);
	if (r->n == 3) {
		CHECK_STR(r->v[0]->ev.event, "callback.promised");
		CHECK_INT(r->v[2]->ev.callback_id, 1);
		CHECK_STR(r->v[2]->ev.result, "busy");
		CHECK_INT(journal_event_describe(&words, &r->v[2]->ev), 0);
		CHECK_STR(words, "call back #1: busy (sip 486)");
		free(words);
		CHECK_INT(journal_event_describe(&words, &r->v[1]->ev), 0);
		CHECK_STR(words, "call back #1: dialing 15550001, attempt 1 of 3 (caller first)");
		free(words);
	}
	journal_rows_free(r);
	CHECK_INT(journal_query_promise_events(&r, q, 8), 0);
	CHECK_INT(r->n, 1);
	if (r->n == 1) {
		CHECK_INT(journal_event_describe(&words, &r->v[0]->ev), 0);
		CHECK_STR(words, "call back #8 cancelled by ivrctl (uid 0) — duplicate");
		free(words);
	}
	journal_rows_free(r);
	CHECK_INT(journal_query_promise_events(&r, q, 42), 0);
	CHECK_INT(r->n, 0);
	journal_rows_free(r);

	/* a call's rows carry the promise they are about */
	CHECK_INT(journal_query_call(&r, q, "c2"), 0);
	CHECK_INT(r->n, 3);
	if (r->n == 3)
		CHECK_INT(r->v[2]->ev.callback_id, 1);
	journal_rows_free(r);

	CHECK_INT(journal_query_caller_totals(&t, q,
	    &(struct journal_call_filter){.number = "15550001"}), 0);
	CHECK_INT(t.calls, 2);
	CHECK_INT(t.transfers, 2);
	CHECK_INT(t.transfers_failed, 1);
	CHECK_INT(t.drops, 1);
	CHECK_INT(journal_query_caller_totals(&t, q,
	    &(struct journal_call_filter){.number = "15550000"}), 0);
	CHECK_INT(t.calls + t.transfers + t.drops, 0);
	journal_query_close(q);
	ledger_teardown();
}

/* Schema 1: no callbacks table, no events.callback_id. Nothing to find, nothing fails. */
static void
test_schema_1(void)
{
	struct journal_promise_filter f = {.view = JPROM_OVERDUE, .now_ms = NOW};
	struct journal_promises *ps = NULL;
	struct journal_caller_totals t;
	struct journal_rows *r = NULL;
	struct journal_query *q = NULL;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/ivr-query-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
		"/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	exec_sql(path, "CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, "
		"call_id TEXT, event TEXT NOT NULL, menu TEXT, key TEXT, dept TEXT, target TEXT, "
		"result TEXT, reason TEXT, ani TEXT, dnis TEXT, prompt TEXT, detail TEXT, "
		"generation INTEGER, duration_ms INTEGER);"
		"INSERT INTO events (ts_ms, call_id, event, ani) VALUES (1, 'c1', 'call.start', "
		"'15550001'), (2, 'c1', 'drop', NULL);"
		"PRAGMA user_version = 1;");
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	CHECK_INT(journal_query_promises(&ps, q, &f), 0);
	CHECK(ps != NULL && !ps->recorded && ps->n == 0);
	journal_promises_free(ps);
	CHECK_INT(journal_query_promise_events(&r, q, 1), 0);
	CHECK(r != NULL && r->n == 0);
	journal_rows_free(r);
	CHECK_INT(journal_query_call(&r, q, "c1"), 0);
	CHECK(r != NULL && r->n == 2 && r->v[0]->ev.callback_id == 0);
	journal_rows_free(r);
	CHECK_INT(journal_query_caller_totals(&t, q,
	    &(struct journal_call_filter){.number = "15550001"}), 0);
	CHECK_INT(t.calls, 1);
	CHECK_INT(t.drops, 1);
	journal_query_close(q);
	ledger_teardown();
}

CHECK_MAIN({"views_and_order", test_views_and_order}, {"filters", test_filters},
	{"promise_events_and_caller", test_promise_events_and_caller},
	{"schema_1", test_schema_1})
