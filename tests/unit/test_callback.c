/* The callback ledger: a promise is committed (row and event) before done runs; asking again
 * updates the open promise; a restart loads open promises and turns an attempt that was
 * dialing into an interrupted one; cancel and kept close promises; the due time follows the
 * department's hours and service level. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/hours.h"
#include "ivr/journal.h"
#include "ivr/util.h"

static char dir[512];
static char path[PATH_MAX];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void
tmp_setup(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/ivr-callback-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/journal.db", dir);
}

static void
tmp_teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* What another connection (ivrctl, a second node) sees in the file now. */
static int64_t
file_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -12345;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
file_exec(const char *sql)
{
	sqlite3 *db = NULL;

	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		CHECK(0);
	}
	sqlite3_close(db);
}

struct seen {
	int done;
	int err;
	bool updated;
	int64_t id;
	char number[32];
	int64_t rows_open;  /* the promise's row, as committed when done ran */
	int64_t events;     /* its callback.promised / callback.updated events */
};

static void
on_done(void *arg, int err, const struct callback *cb, bool updated)
{
	struct seen *s = arg;
	char sql[256];

	s->done++;
	s->err = err;
	s->updated = updated;
	s->id = cb->id;
	str_copy(s->number, cb->number, sizeof(s->number));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM callbacks WHERE id = %lld AND "
		"state = 'open' AND number = '%s'", (long long)cb->id, cb->number);
	s->rows_open = file_int(sql);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE callback_id = %lld AND "
		"event = '%s'", (long long)cb->id, updated ? JEV_CB_UPDATED : JEV_CB_PROMISED);
	s->events = file_int(sql);
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

static void
run_until(struct event_base *base, const int *flag, int want)
{
	struct timeval tv = {15, 0};
	struct event *guard = evtimer_new(base, on_guard, base);
	int64_t deadline = clock_mono_ms() + 15000;

	evtimer_add(guard, &tv);
	while (*flag < want && clock_mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK_INT(*flag, want);
	event_free(guard);
}

static struct callback_req
req(const char *number, const char *ani, const char *dept)
{
	int64_t now = clock_wall_ms();

	return (struct callback_req){
		.number = number, .ani = ani, .dept = dept, .lang = "en", .call_id = "in-1@x",
		.due_ms = now + 3600000, .expires_ms = now + 86400000, .max_attempts = 3,
	};
}

static void
test_promise_durable_then_updated(void)
{
	struct event_base *base = event_base_new();
	struct journal *j;
	struct callback_mgr *m;
	struct seen a = {0}, b = {0}, c = {0};
	struct callback_req r;
	struct callback_stats st;
	const struct callback *cb;

	tmp_setup();
	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(callback_mgr_new(&m, base, j, path, NULL, NULL), 0);

	r = req("15551230001", "15551230001", "billing");
	CHECK_INT(callback_promise(m, &r, on_done, &a), 0);
	/* in memory at once, durable when done runs */
	cb = callback_find_open(m, "15551230001", "billing");
	CHECK(cb != NULL && cb->state == CB_OPEN);
	CHECK(callback_find_open(m, "15551230001", "sales") == NULL);
	CHECK(callback_find_open(m, "15551230001", NULL) == cb);
	run_until(base, &a.done, 1);
	CHECK_INT(a.err, 0);
	CHECK(!a.updated);
	CHECK_INT(a.id, 1);
	CHECK_INT(a.rows_open, 1);
	CHECK_INT(a.events, 1);

	/* the same caller and department again, another number: the promise is updated */
	r = req("15559990000", "15551230001", "billing");
	r.call_id = "in-2@x";
	CHECK_INT(callback_promise(m, &r, on_done, &b), 0);
	run_until(base, &b.done, 1);
	CHECK_INT(b.err, 0);
	CHECK(b.updated);
	CHECK_INT(b.id, 1);
	CHECK_STR(b.number, "15559990000");
	CHECK_INT(b.rows_open, 1);
	CHECK_INT(b.events, 1);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE event = 'callback.updated' AND "
		"call_id = 'in-2@x' AND dnis = '15559990000' AND ani = '15551230001' AND "
		"dept = 'billing'"), 1);
	/* the caller's number finds it too */
	CHECK(callback_find_open(m, "15559990000", "billing") != NULL);

	/* another department: a second promise */
	r = req("15551230001", "15551230001", "sales");
	CHECK_INT(callback_promise(m, &r, on_done, &c), 0);
	run_until(base, &c.done, 1);
	CHECK_INT(c.id, 2);
	CHECK(!c.updated);

	r.number = "";
	CHECK_INT(callback_promise(m, &r, on_done, &c), EINVAL);
	callback_mgr_stats(m, &st);
	CHECK_INT(st.open, 2);
	CHECK_INT(st.promised, 2);
	CHECK_INT(st.updated, 1);

	/* kept by a returning call; cancelled by staff; neither twice */
	callback_kept(m, 1, "in-3@x");
	CHECK(callback_get(m, 1) == NULL);
	CHECK_INT(callback_cancel(m, 2, "ivrctl (uid 0)", "asked by phone", NULL), 0);
	CHECK_INT(callback_cancel(m, 2, "ivrctl (uid 0)", "again", NULL), EALREADY);
	CHECK_INT(callback_cancel(m, 1, "ivrctl (uid 0)", "late", NULL), EALREADY);
	CHECK_INT(callback_cancel(m, 77, "ivrctl (uid 0)", "none", NULL), ENOENT);
	callback_mgr_stats(m, &st);
	CHECK_INT(st.open, 0);
	CHECK_INT(st.kept, 1);
	CHECK_INT(st.cancelled, 1);
	journal_flush(j);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks WHERE id = 1 AND state = 'kept' AND "
		"kept_call_id = 'in-3@x' AND closed_ms IS NOT NULL"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks WHERE id = 2 AND state = 'cancelled' "
		"AND reason = 'asked by phone'"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE event = 'callback.cancelled' AND "
		"callback_id = 2 AND detail = 'ivrctl (uid 0)'"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE event = 'callback.kept' AND "
		"callback_id = 1 AND call_id = 'in-3@x'"), 1);

	callback_mgr_free(m);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static void
visit(void *arg, const struct callback *cb)
{
	int64_t *ids = arg;

	for (int i = 0; i < 4; i++)
		if (ids[i] == 0) {
			ids[i] = cb->id;
			break;
		}
}

/* Rows as a previous run (or another node) left them: loaded, the dialing one interrupted. */
static void
test_restart_loads_and_interrupts(void)
{
	struct event_base *base = event_base_new();
	struct journal *j;
	struct callback_mgr *m;
	const struct callback *cb;
	struct seen s = {0};
	struct callback_req r;
	int64_t ids[4] = {0};
	char sql[1024];
	int64_t now = clock_wall_ms();

	tmp_setup();
	CHECK_INT(journal_open(&j, base, path), 0);
	journal_close(j);
	snprintf(sql, sizeof(sql),
		"INSERT INTO callbacks (id, number, ani, dept, lang, call_id, state, created_ms, "
		"updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts) VALUES "
		"(3, '15550000003', '15550000003', 'billing', 'en', 'a@x', 'kept', 1, 1, 1, 1, 1, "
		"1, 3),"
		"(5, '15550000005', '15550000005', 'billing', 'en', 'b@x', 'open', %lld, %lld, "
		"%lld, %lld, %lld, 0, 3),"
		"(9, '15550000009', '15550000009', 'sales', 'vi', 'c@x', 'dialing', %lld, %lld, "
		"%lld, %lld, %lld, 1, 3);"
		"INSERT INTO events (ts_ms, event, callback_id) VALUES (1, 'callback.overdue', 5);",
		(long long)now, (long long)now, (long long)now - 1000, (long long)now + 3600000,
		(long long)now + 5000, (long long)now, (long long)now, (long long)now + 600000,
		(long long)now + 3600000, (long long)now + 9000);
	file_exec(sql);

	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(callback_mgr_new(&m, base, j, path, NULL, NULL), 0);
	CHECK(callback_get(m, 3) == NULL);
	cb = callback_get(m, 5);
	CHECK(cb != NULL && cb->state == CB_OPEN && cb->attempts == 0 && cb->overdue_noted);
	cb = callback_get(m, 9);
	CHECK(cb != NULL);
	if (cb != NULL) {
		CHECK_INT(cb->state, CB_OPEN);
		CHECK_INT(cb->attempts, 1);
		CHECK_STR(cb->last_result, "interrupted");
		CHECK_STR(cb->lang, "vi");
		/* due now: the attempt missed while down is made at once */
		CHECK(cb->next_ms <= clock_wall_ms());
		CHECK(!cb->overdue_noted);
	}
	callback_mgr_foreach(m, visit, ids);
	CHECK_INT(ids[0], 9);
	CHECK_INT(ids[1], 5);
	CHECK_INT(ids[2], 0);
	CHECK_INT(callback_cancel(m, 3, "ivrctl", "x", NULL), EALREADY);

	/* ids go on after the largest */
	r = req("15551230001", "15551230001", "billing");
	CHECK_INT(callback_promise(m, &r, on_done, &s), 0);
	run_until(base, &s.done, 1);
	CHECK_INT(s.id, 10);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks WHERE id = 9 AND state = 'open' AND "
		"attempts = 1 AND last_result = 'interrupted' AND owner IS NULL"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE callback_id = 9 AND "
		"event = 'callback.result' AND result = 'interrupted'"), 1);
	/* promise 5 was already noted overdue; nothing is journaled again */
	callback_mgr_free(m);
	journal_close(j);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE callback_id = 5 AND "
		"event = 'callback.overdue'"), 1);
	event_base_free(base);
	tmp_teardown();
}

/* A promise nobody can keep: broken by the scheduler's pass, escalated in the journal. */
static void
test_overdue_and_broken(void)
{
	struct event_base *base = event_base_new();
	struct journal *j;
	struct callback_mgr *m;
	struct callback_stats st;
	char sql[1024];
	int64_t now = clock_wall_ms();

	tmp_setup();
	CHECK_INT(journal_open(&j, base, path), 0);
	journal_close(j);
	snprintf(sql, sizeof(sql),
		"INSERT INTO callbacks (id, number, ani, dept, state, created_ms, updated_ms, "
		"due_ms, expires_ms, next_ms, attempts, max_attempts) VALUES "
		"(1, '15550000001', '15550000001', 'billing', 'open', 1, 1, %lld, %lld, %lld, 3, 3),"
		"(2, '15550000002', '15550000002', 'billing', 'open', 1, 1, %lld, %lld, %lld, 0, 3),"
		"(3, '15550000003', '15550000003', 'billing', 'open', 1, 1, %lld, %lld, %lld, 0, 3);",
		(long long)now + 60000, (long long)now + 600000, (long long)now,
		(long long)now - 60000, (long long)now - 1, (long long)now,
		(long long)now - 1000, (long long)now + 600000, (long long)now + 60000);
	file_exec(sql);
	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(callback_mgr_new(&m, base, j, path, NULL, NULL), 0);
	/* the first pass runs on the loop */
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	journal_flush(j);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks WHERE id = 1 AND state = 'broken' AND "
		"reason = 'attempts used up'"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM callbacks WHERE id = 2 AND state = 'broken' AND "
		"reason = 'window passed'"), 1);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE event = 'callback.broken'"), 2);
	CHECK_INT(file_int("SELECT count(*) FROM events WHERE event = 'callback.overdue' AND "
		"callback_id = 3"), 1);
	callback_mgr_stats(m, &st);
	CHECK_INT(st.broken, 2);
	CHECK_INT(st.open, 1);
	CHECK_INT(st.overdue, 1);
	callback_mgr_free(m);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static struct hours *
hours_of(const char *rule)
{
	struct hours *h = NULL;
	char err[128];

	CHECK_INT(hours_parse(&h, (const char *[]){rule}, 1, err, sizeof(err)), 0);
	return h;
}

static time_t
utc(int y, int mon, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h,
		.tm_min = mi};

	return timegm(&tm);
}

static void
test_due_from_hours(void)
{
	struct conf_dept depts[2] = {0};
	struct conf c = {.depts = depts, .ndepts = 2};
	struct tz *z = NULL;
	char err[128];
	/* Saturday 2024-03-09 10:00 UTC: closed; Monday 08:00 opens */
	int64_t sat = (int64_t)utc(2024, 3, 9, 10, 0) * 1000 + 250;
	int64_t mon = (int64_t)utc(2024, 3, 11, 9, 30) * 1000;

	CHECK_INT(tz_load(&z, "UTC", err, sizeof(err)), 0);
	depts[0].name = "billing";
	depts[0].hours = hours_of("mon-fri 08:00-18:00");
	depts[0].tz = z;
	depts[0].callback.service_level_s = 1800;
	depts[1].name = "never";
	depts[1].hours = hours_of("never");
	depts[1].tz = z;
	CHECK_INT(callback_due_ms(NULL, &c, 0, sat), (int64_t)utc(2024, 3, 11, 8, 30) * 1000);
	CHECK_INT(callback_due_ms(NULL, &c, 0, mon), mon + 1800 * 1000);
	CHECK_INT(callback_due_ms(NULL, &c, 1, sat), -1);
	CHECK_INT(callback_due_ms(NULL, &c, 2, sat), -1);
	hours_free(depts[0].hours);
	hours_free(depts[1].hours);
	tz_free(z);
}

CHECK_MAIN(T(test_promise_durable_then_updated), T(test_restart_loads_and_interrupts),
	T(test_overdue_and_broken), T(test_due_from_hours))
