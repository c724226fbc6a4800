/* The journal: rows as appended, NULLs, callbacks on the loop after commit, durability across
 * kill -9, failures that are reported rather than lost, and the read-side summaries. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "ivr/journal.h"
#include "ivr/journal_query.h"
#include "ivr/util.h"

static char dir[512];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

/* Each test gets a fresh directory. */
static void
tmp_setup(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	umask(022);
	snprintf(dir, sizeof(dir), "%s/ivr-journal-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void
tmp_teardown(void)
{
	chmod(dir, 0700);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* A second connection, as ivrctl or another process would see the file. */
static sqlite3 *
db_open(const char *path)
{
	sqlite3 *db = NULL;

	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -12345;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

static int64_t
file_count(const char *path, const char *sql)
{
	sqlite3 *db = db_open(path);
	int64_t v = db_int(db, sql);

	sqlite3_close(db);
	return v;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop until *flag reaches want, for at most 15 s. */
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

/* stderr into a file, to check what was logged */
struct capture {
	int saved;
	char path[PATH_MAX];
};

static void
capture_start(struct capture *c)
{
	int fd;

	path_in(c->path, sizeof(c->path), "stderr.XXXXXX");
	fd = mkstemp(c->path);
	fflush(stderr);
	c->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *
capture_end(struct capture *c)
{
	char *buf = calloc(1, 65536);
	int fd;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fd = open(c->path, O_RDONLY);
	if (fd >= 0) {
		(void)!read(fd, buf, 65535);
		close(fd);
	}
	unlink(c->path);
	fputs(buf, stderr); /* still shown in the test log */
	return buf;
}

static const struct journal_event empty = {.duration_ms = -1};

#define N_EVENTS 1000
#define TS_BASE INT64_C(1700000000000)

struct many {
	struct journal *j;
	int done;
};

static void
append_many(evutil_socket_t fd, short what, void *arg)
{
	struct many *m = arg;
	char call[32], key[4];

	(void)fd, (void)what;
	for (int i = 0; i < N_EVENTS; i++) {
		struct journal_event ev = empty;
		snprintf(call, sizeof(call), "call-%d", i % 10);
		snprintf(key, sizeof(key), "%d", i % 10);
		ev.ts_ms = TS_BASE + i;
		ev.call_id = call;
		ev.event = JEV_KEY;
		ev.menu = "main";
		ev.key = key;
		ev.generation = i + 1;
		ev.duration_ms = i;
		CHECK_INT(journal_append(m->j, &ev), 0);
	}
	m->done = 1;
}

static void
test_append_order_and_values(void)
{
	struct event_base *base = event_base_new();
	struct many m = {0};
	struct journal_stats st;
	struct stat sb;
	char path[PATH_MAX], wal[PATH_MAX + 4], sub[PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *q = NULL;
	int i = 0;

	tmp_setup();
	path_in(path, sizeof(path), "state/ivrd/journal.db");
	CHECK_INT(journal_open(&m.j, base, path), 0);
	/* created missing directories 0750 and the file 0640 (umask 022) */
	path_in(sub, sizeof(sub), "state/ivrd");
	CHECK(stat(sub, &sb) == 0 && (sb.st_mode & 07777) == 0750);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0640);

	event_base_once(base, -1, EV_TIMEOUT, append_many, &m, &(struct timeval){0, 0});
	run_until(base, &m.done, 1);
	journal_flush(m.j);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(wal, &sb) == 0 && (sb.st_mode & 07777) == 0640);

	db = db_open(path);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events"), N_EVENTS);
	CHECK_INT(db_int(db, "PRAGMA user_version"), 2);
	CHECK_INT(db_int(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
		1);
	CHECK_INT(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
		"('events_call_id', 'events_ts', 'events_event_ts', 'events_ani', 'events_dept')"),
		5);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT id, ts_ms, call_id, event, menu, key, "
		"generation, duration_ms FROM events ORDER BY id", -1, &q, NULL), SQLITE_OK);
	for (; sqlite3_step(q) == SQLITE_ROW; i++) {
		char call[32], key[4];
		snprintf(call, sizeof(call), "call-%d", i % 10);
		snprintf(key, sizeof(key), "%d", i % 10);
		CHECK_INT(sqlite3_column_int64(q, 0), i + 1);
		CHECK_INT(sqlite3_column_int64(q, 1), TS_BASE + i);
		CHECK_STR((const char *)sqlite3_column_text(q, 2), call);
		CHECK_STR((const char *)sqlite3_column_text(q, 3), "key");
		CHECK_STR((const char *)sqlite3_column_text(q, 4), "main");
		CHECK_STR((const char *)sqlite3_column_text(q, 5), key);
		CHECK_INT(sqlite3_column_int64(q, 6), i + 1);
		CHECK_INT(sqlite3_column_int64(q, 7), i);
	}
	CHECK_INT(i, N_EVENTS);
	sqlite3_finalize(q);
	sqlite3_close(db);

	journal_get_stats(m.j, &st);
	CHECK_INT(st.appended, N_EVENTS);
	CHECK_INT(st.committed, N_EVENTS);
	CHECK_INT(st.failed, 0);
	CHECK(st.batches >= 1 && st.batches <= N_EVENTS);
	journal_close(m.j);
	event_base_free(base);
	tmp_teardown();
}

static void
test_null_columns(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = empty;
	struct journal *j;
	char path[PATH_MAX];
	sqlite3 *db;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	ev.ts_ms = 1;
	ev.event = "call.end";
	CHECK_INT(journal_append(j, &ev), 0);
	/* zero duration and empty strings are values, not NULL */
	ev.ts_ms = 2;
	ev.ani = "";
	ev.duration_ms = 0;
	ev.generation = 5;
	CHECK_INT(journal_append(j, &ev), 0);
	ev.event = NULL;
	CHECK_INT(journal_append(j, &ev), EINVAL);
	journal_flush(j);

	db = db_open(path);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events"), 2);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE ts_ms = 1 AND call_id IS NULL AND "
		"menu IS NULL AND key IS NULL AND dept IS NULL AND target IS NULL AND "
		"result IS NULL AND reason IS NULL AND ani IS NULL AND dnis IS NULL AND prompt IS NULL AND "
		"detail IS NULL AND generation IS NULL AND duration_ms IS NULL"), 1);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE ts_ms = 2 AND ani = '' AND "
		"duration_ms = 0 AND generation = 5 AND dnis IS NULL"), 1);
	sqlite3_close(db);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

struct cb_state {
	pthread_t loop_thread;
	const char *path;
	int calls;
	int order[3];
	int err[3];
	int on_loop[3];
	int64_t visible[3];
};

static struct cb_state *cb_st;

static void
on_committed(void *arg, int err)
{
	struct cb_state *s = cb_st;
	int i = (int)(intptr_t)arg;

	if (s->calls < 3) {
		char sql[128];
		s->order[s->calls] = i;
		s->err[s->calls] = err;
		s->on_loop[s->calls] = pthread_equal(pthread_self(), s->loop_thread);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE call_id = 'cb-%d'",
			i);
		s->visible[s->calls] = file_count(s->path, sql);
	}
	s->calls++;
}

static void
test_callback_on_loop_thread_after_commit(void)
{
	struct event_base *base = event_base_new();
	struct cb_state s = {.loop_thread = pthread_self()};
	struct journal *j;
	char path[PATH_MAX], call[16];

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	s.path = path;
	cb_st = &s;
	CHECK_INT(journal_open(&j, base, path), 0);
	for (int i = 0; i < 3; i++) {
		struct journal_event ev = empty;
		snprintf(call, sizeof(call), "cb-%d", i);
		ev.call_id = call;
		ev.event = JEV_CALL_START;
		CHECK_INT(journal_append_cb(j, &ev, on_committed, (void *)(intptr_t)i), 0);
	}
	CHECK_INT(s.calls, 0); /* never from inside journal_append_cb */
	run_until(base, &s.calls, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(s.order[i], i);
		CHECK_INT(s.err[i], 0);
		CHECK(s.on_loop[i]);
		CHECK_INT(s.visible[i], 1);
	}
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static void
count_cb(void *arg, int err)
{
	int *n = arg;

	CHECK_INT(err, 0);
	(*n)++;
}

/* ts 0 is stamped when appended: here the commit waits on another writer's lock. */
static void
test_ts_zero_is_append_time(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = empty;
	struct journal *j;
	char path[PATH_MAX];
	int64_t t0, t1, stored;
	sqlite3 *other;
	int done = 0;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	other = db_open(path);
	CHECK_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	ev.event = JEV_CALL_START;
	ev.call_id = "now";
	t0 = clock_wall_ms();
	CHECK_INT(journal_append_cb(j, &ev, count_cb, &done), 0);
	t1 = clock_wall_ms();
	ev.call_id = "fixed";
	ev.ts_ms = 123;
	CHECK_INT(journal_append_cb(j, &ev, count_cb, &done), 0);
	nanosleep(&(struct timespec){0, 300 * 1000000}, NULL);
	CHECK_INT(done, 0);
	CHECK_INT(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	run_until(base, &done, 2);

	stored = db_int(other, "SELECT ts_ms FROM events WHERE call_id = 'now'");
	CHECK(stored >= t0 && stored <= t1);
	CHECK_INT(db_int(other, "SELECT ts_ms FROM events WHERE call_id = 'fixed'"), 123);
	sqlite3_close(other);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static void
test_close_flushes(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = empty;
	struct journal *j;
	char path[PATH_MAX];
	int done = 0;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	ev.event = JEV_KEY;
	ev.key = "1";
	for (int i = 0; i < 5000; i++)
		CHECK_INT(journal_append(j, &ev), 0);
	CHECK_INT(journal_append_cb(j, &ev, count_cb, &done), 0);
	/* the loop never ran: close still commits everything and runs the callback */
	journal_close(j);
	CHECK_INT(done, 1);
	CHECK_INT(file_count(path, "SELECT count(*) FROM events"), 5001);

	/* reopening keeps the rows and appends after them */
	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(journal_append(j, &ev), 0);
	journal_close(j);
	CHECK_INT(file_count(path, "SELECT max(id) FROM events"), 5002);
	event_base_free(base);
	tmp_teardown();
}

struct fail_state {
	int calls;
	int err;
};

static void
on_failed(void *arg, int err)
{
	struct fail_state *f = arg;

	f->calls++;
	f->err = err;
}

/* A lock held past every retry: the event is reported failed and logged, never dropped in
 * silence, and the journal carries on once the lock is gone. */
static void
test_commit_failure_is_reported(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = empty;
	struct fail_state f = {0};
	struct journal_stats st;
	struct capture cap;
	struct journal *j;
	char path[PATH_MAX], *log;
	sqlite3 *other;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	other = db_open(path);
	sqlite3_busy_timeout(other, 0);
	CHECK_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	ev.event = JEV_TRANSFER_RESULT;
	ev.call_id = "lost-call";
	ev.dept = "billing";
	ev.result = "ok";
	capture_start(&cap);
	CHECK_INT(journal_append_cb(j, &ev, on_failed, &f), 0);
	run_until(base, &f.calls, 1);
	log = capture_end(&cap);
	CHECK_INT(f.err, EBUSY);
	CHECK(strstr(log, "<3>journal: [lost-call]") != NULL);
	CHECK(strstr(log, "not recorded") != NULL);
	CHECK(strstr(log, "dept=billing") != NULL);
	free(log);
	journal_get_stats(j, &st);
	CHECK_INT(st.failed, 1);
	CHECK_INT(st.committed, 0);

	CHECK_INT(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	ev.call_id = "next-call";
	CHECK_INT(journal_append(j, &ev), 0);
	journal_flush(j);
	CHECK_INT(db_int(other, "SELECT count(*) FROM events WHERE call_id = 'next-call'"), 1);
	CHECK_INT(db_int(other, "SELECT count(*) FROM events WHERE call_id = 'lost-call'"), 0);
	sqlite3_close(other);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static void
test_unwritable_directory(void)
{
	struct event_base *base = event_base_new();
	struct journal *j = (struct journal *)1;
	struct capture cap;
	char path[PATH_MAX], file[PATH_MAX], ro[PATH_MAX], *log;
	int fd, status = 0;
	pid_t pid;

	tmp_setup();
	/* a parent that is a file fails for root too */
	path_in(file, sizeof(file), "plain");
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	path_in(path, sizeof(path), "plain/journal.db");
	capture_start(&cap);
	CHECK_INT(journal_open(&j, base, path), ENOTDIR);
	log = capture_end(&cap);
	CHECK(j == NULL);
	CHECK(strstr(log, "<3>journal: ") != NULL && strstr(log, path) != NULL &&
		strstr(log, strerror(ENOTDIR)) != NULL);
	free(log);

	/* a directory it may not write to; as root, the check runs as nobody */
	chmod(dir, 0755);
	path_in(ro, sizeof(ro), "readonly");
	mkdir(ro, 0555);
	path_in(path, sizeof(path), "readonly/state/journal.db");
	capture_start(&cap);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int rc;
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(100);
		rc = journal_open(&j, base, path);
		event_base_free(base);
		_exit(rc == EACCES && j == NULL ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	log = capture_end(&cap);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(log, "readonly/state") != NULL && strstr(log, strerror(EACCES)) != NULL);
	free(log);
	event_base_free(base);
	tmp_teardown();
}

static void
test_newer_schema_refused(void)
{
	struct event_base *base = event_base_new();
	struct journal_query *q;
	struct journal *j;
	struct capture cap;
	char path[PATH_MAX], err[256], *log;
	sqlite3 *db;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	journal_close(j);
	db = db_open(path);
	sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL);
	sqlite3_close(db);

	capture_start(&cap);
	CHECK_INT(journal_open(&j, base, path), ENOTSUP);
	log = capture_end(&cap);
	CHECK(strstr(log, "schema version 3") != NULL);
	free(log);
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "schema version 3") != NULL);
	path_in(path, sizeof(path), "missing.db");
	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), ENOENT);
	event_base_free(base);
	tmp_teardown();
}

/* A version 1 file (events without callback_id) is migrated to 2, its rows kept. */
static void
test_v1_migrated(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = {.event = "call.end", .duration_ms = -1, .callback_id = 7};
	struct journal *j;
	char path[PATH_MAX];
	sqlite3 *db = NULL;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
		"CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, call_id TEXT,"
		" event TEXT NOT NULL, menu TEXT, key TEXT, dept TEXT, target TEXT, result TEXT,"
		" reason TEXT, ani TEXT, dnis TEXT, prompt TEXT, detail TEXT, generation INTEGER,"
		" duration_ms INTEGER);"
		"INSERT INTO events (ts_ms, call_id, event, ani) VALUES (5, 'old-1', 'call.start',"
		" '+15551230000');"
		"INSERT INTO events (ts_ms, call_id, event) VALUES (6, 'old-1', 'call.end');"
		"PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(journal_append(j, &ev), 0);
	journal_close(j);
	db = db_open(path);
	CHECK_INT(db_int(db, "PRAGMA user_version"), 2);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE call_id = 'old-1' AND "
		"callback_id IS NULL"), 2);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE ani = '+15551230000'"), 1);
	CHECK_INT(db_int(db, "SELECT callback_id FROM events WHERE id = 3"), 7);
	CHECK_INT(db_int(db, "SELECT count(*) FROM callbacks"), 0);
	CHECK_INT(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
		"('callbacks_state', 'callbacks_number', 'callbacks_dept', 'events_callback')"), 4);
	sqlite3_close(db);
	event_base_free(base);
	tmp_teardown();
}

struct row_seen {
	const char *path;
	int done;
	int err;
	int64_t rows; /* callbacks rows visible to another connection at done */
	int64_t state_ok;
};

static void
row_committed(void *arg, int err)
{
	struct row_seen *s = arg;

	s->err = err;
	s->rows = file_count(s->path, "SELECT count(*) FROM callbacks");
	s->state_ok = file_count(s->path, "SELECT count(*) FROM callbacks WHERE id = 3 AND "
		"state = 'dialing' AND attempts = 1 AND closed_ms IS NULL AND owner = 'n1' AND "
		"lease_until_ms = 99 AND ani IS NULL AND number = '+15550001111'");
	s->done++;
}

/* A callbacks row queued before an event is committed when that event's done runs; a later
 * put of the same id replaces the row. */
static void
test_callback_row_before_event(void)
{
	struct event_base *base = event_base_new();
	struct journal_callback_row row = {
		.id = 3, .number = "+15550001111", .dept = "billing", .state = "open",
		.created_ms = 1, .updated_ms = 1, .due_ms = 10, .expires_ms = 20, .next_ms = 10,
		.max_attempts = 3,
	};
	struct journal_event ev = {.event = "callback.attempt", .duration_ms = -1,
		.callback_id = 3};
	struct row_seen seen = {0};
	struct journal *j;
	char path[PATH_MAX];

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	seen.path = path;
	CHECK_INT(journal_open(&j, base, path), 0);
	CHECK_INT(journal_put_callback(j, &row), 0);
	row.state = "dialing";
	row.attempts = 1;
	row.owner = "n1";
	row.lease_until_ms = 99;
	CHECK_INT(journal_put_callback(j, &row), 0);
	CHECK_INT(journal_append_cb(j, &ev, row_committed, &seen), 0);
	row.state = NULL;
	CHECK_INT(journal_put_callback(j, &row), EINVAL);
	run_until(base, &seen.done, 1);
	CHECK_INT(seen.err, 0);
	CHECK_INT(seen.rows, 1);
	CHECK_INT(seen.state_ok, 1);
	journal_close(j);
	event_base_free(base);
	tmp_teardown();
}

static void
child_committed(void *arg, int err)
{
	int fd = *(int *)arg;

	if (err == 0)
		(void)!write(fd, "x", 1);
}

/* A committed event survives kill -9: the child reports the commit, the parent kills it
 * before any clean shutdown and finds every row in the WAL. */
static void
test_kill9_keeps_committed_events(void)
{
	char path[PATH_MAX], wal[PATH_MAX + 4], c = 0;
	struct pollfd pfd;
	struct stat sb;
	int pipefd[2], status = 0;
	pid_t pid;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct event_base *base = event_base_new();
		struct journal_event ev = empty;
		struct journal *j;
		close(pipefd[0]);
		if (journal_open(&j, base, path) != 0)
			_exit(1);
		ev.event = JEV_CALL_START;
		ev.call_id = "durable";
		for (int i = 0; i < 99; i++)
			journal_append(j, &ev);
		ev.event = JEV_CALL_END;
		journal_append_cb(j, &ev, child_committed, &pipefd[1]);
		event_base_dispatch(base); /* runs until killed */
		_exit(2);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	CHECK_INT(poll(&pfd, 1, 15000), 1);
	CHECK_INT(read(pipefd[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(wal, &sb) == 0 && sb.st_size > 0); /* no checkpoint-on-close happened */
	CHECK_INT(file_count(path, "SELECT count(*) FROM events WHERE call_id = 'durable'"), 100);
	CHECK_INT(file_count(path, "SELECT count(*) FROM events WHERE event = 'call.end'"), 1);
	tmp_teardown();
}

static void
put(struct journal *j, int64_t ts, const char *call, const char *event, int64_t duration_ms,
	const struct journal_event *fields)
{
	struct journal_event ev = *fields;

	ev.ts_ms = ts;
	ev.duration_ms = duration_ms;
	ev.call_id = call;
	ev.event = event;
	CHECK_INT(journal_append(j, &ev), 0);
}

#define F(...) (&(struct journal_event){__VA_ARGS__})

/* Writes two calls through the journal and reads them back as ivrctl does. */
static void
test_query_calls_and_words(void)
{
	struct event_base *base = event_base_new();
	struct journal_call_filter f = {0};
	struct journal_calls *calls;
	struct journal_rows *rows;
	struct journal_query *q;
	struct journal *j;
	char path[PATH_MAX], err[256];
	static const char *const words[] = {
		"call from 5551234 to 18005550100 (configuration generation 1, language en)",
		"entered menu main, hearing main/greeting",
		"pressed 2",
		"routed to billing — reason: menu main key 2 (path main)",
		"transfer to sip:billing@127.0.0.1:5090 started",
		"transfer to billing failed — busy",
		"entered menu sales, hearing sales/greeting",
		"invalid key 9 in menu sales (failure 1 of 3)",
		"no key pressed in menu sales (timeout 1 of 3)",
		"routed to sales — reason: fallback; based on: menu path main > sales, dialed "
		"18005550100 (numbers.[1]), caller 5551234 (callers.[2] internal), entered 12****89, "
		"hours open (opened by an operator), overflow step 1, loop guard ok",
		"transfer to sip:sales@127.0.0.1:5090 started",
		"transfer to sales succeeded",
		"call ended (transferred)",
	};
	int64_t t = TS_BASE;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	put(j, t, "A", JEV_CALL_START, -1, F(.ani = "5551234", .dnis = "18005550100",
		.generation = 1, .detail = "en"));
	put(j, t + 2, "A", JEV_MENU_ENTER, -1, F(.menu = "main", .prompt = "main/greeting"));
	put(j, t + 3120, "A", JEV_KEY, -1, F(.menu = "main", .key = "2"));
	put(j, t + 3121, "A", JEV_ROUTE, -1, F(.menu = "main", .dept = "billing",
		.reason = "menu main key 2", .detail = "main"));
	put(j, t + 3122, "A", JEV_TRANSFER_START, -1, F(.dept = "billing",
		.target = "sip:billing@127.0.0.1:5090"));
	put(j, t + 4500, "A", JEV_TRANSFER_RESULT, -1, F(.dept = "billing", .result = "failed",
		.reason = "busy"));
	put(j, t + 4600, "A", JEV_MENU_ENTER, -1, F(.menu = "sales", .prompt = "sales/greeting"));
	put(j, t + 5000, "A", JEV_INVALID, -1, F(.menu = "sales", .key = "9",
		.detail = "failure 1 of 3"));
	put(j, t + 9000, "A", JEV_TIMEOUT, -1, F(.menu = "sales", .detail = "timeout 1 of 3"));
	put(j, t + 9100, "A", JEV_ROUTE, -1, F(.dept = "sales", .reason = "fallback",
		.detail = "path=main > sales; dnis=18005550100 (numbers.[1]); ani=5551234 "
		"(callers.[2] internal); digits=12****89; hours=open (opened by an operator); "
		"overflow=1; guard=ok"));
	put(j, t + 9200, "A", JEV_TRANSFER_START, -1, F(.dept = "sales",
		.target = "sip:sales@127.0.0.1:5090"));
	put(j, t + 9300, "A", JEV_TRANSFER_RESULT, -1, F(.dept = "sales", .result = "ok"));
	put(j, t + 9400, "A", JEV_CALL_END, 9400, F(.result = "transferred"));

	put(j, t + 60000, "B", JEV_CALL_START, -1, F(.ani = "5559999", .dnis = "18005550100"));
	put(j, t + 60001, "B", JEV_MENU_ENTER, -1, F(.menu = "main"));
	put(j, t + 60002, "B", JEV_MENU_ENTER, -1, F(.menu = "main"));
	put(j, t + 62000, "B", JEV_MENU_ENTER, -1, F(.menu = "sales"));
	put(j, t + 69300, "B", JEV_DROP, 9300, F(.menu = "sales",
		.prompt = "sales/greeting"));
	put(j, t + 69300, "B", JEV_CALL_END, 9300, F(.result = "dropped",
		.reason = "caller hung up"));
	put(j, t + 120000, "C", JEV_CALL_START, -1, F(.ani = "5551234"));
	journal_close(j);

	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	CHECK_INT(journal_query_calls(&calls, q, &f), 0);
	CHECK_INT(calls->n, 3);
	if (calls->n == 3) {
		CHECK_STR(calls->v[0].call_id, "C"); /* newest first */
		CHECK_STR(calls->v[0].outcome, "no end recorded");
		CHECK_INT(calls->v[0].duration_ms, -1);
		CHECK_STR(calls->v[1].outcome, "hung up in menu sales");
		CHECK_STR(calls->v[1].menu_path, "main > sales");
		CHECK_INT(calls->v[1].duration_ms, 9300);
		CHECK_STR(calls->v[1].end_reason, "caller hung up");
		CHECK(calls->v[1].dept == NULL);
		CHECK_STR(calls->v[2].outcome,
			"transfer failed (billing), then transferred to sales");
		CHECK_STR(calls->v[2].dept, "sales");
		CHECK_STR(calls->v[2].menu_path, "main > sales");
		CHECK_STR(calls->v[2].ani, "5551234");
		CHECK_STR(calls->v[2].dnis, "18005550100");
		CHECK_INT(calls->v[2].start_ms, t);
		CHECK_INT(calls->v[2].duration_ms, 9400);
	}
	journal_calls_free(calls);

	f.number = "5551234";
	f.limit = 1;
	CHECK_INT(journal_query_calls(&calls, q, &f), 0);
	CHECK(calls->n == 1 && strcmp(calls->v[0].call_id, "C") == 0);
	journal_calls_free(calls);
	f.limit = 0;
	f.since_ms = t;
	f.until_ms = t + 60000; /* [since, until) */
	CHECK_INT(journal_query_calls(&calls, q, &f), 0);
	CHECK(calls->n == 1 && strcmp(calls->v[0].call_id, "A") == 0);
	journal_calls_free(calls);

	CHECK_INT(journal_query_call(&rows, q, "A"), 0);
	CHECK_INT(rows->n, ARRAY_LEN(words));
	for (size_t i = 0; i < rows->n && i < ARRAY_LEN(words); i++) {
		char *s = NULL;
		CHECK_INT(journal_event_describe(&s, &rows->v[i]->ev), 0);
		CHECK_STR(s, words[i]);
		free(s);
	}
	journal_rows_free(rows);
	CHECK_INT(journal_query_call(&rows, q, "B"), 0);
	{
		char *s = NULL;
		CHECK_INT(journal_event_describe(&s, &rows->v[4]->ev), 0);
		CHECK_STR(s, "hung up in menu sales after 9.3 s; last heard sales/greeting");
		free(s);
	}
	journal_rows_free(rows);
	CHECK_INT(journal_query_call(&rows, q, "nope"), ENOENT);
	journal_query_close(q);
	event_base_free(base);
	tmp_teardown();
}

/* Retention: a pass of several batches removes the old calls whole and the promises closed
 * before the cutoff; an open promise's old call, a call around the cutoff and new rows stay;
 * the pass is logged and journaled. */
static void
test_retention(void)
{
	struct event_base *base = event_base_new();
	struct journal_event ev = empty;
	struct journal_callback_row row = {.number = "15551230001", .dept = "billing",
		.max_attempts = 3};
	struct journal_stats st = {0};
	int64_t now = clock_wall_ms(), old = now - 40 * 86400000LL;
	struct capture cap;
	struct journal *j;
	char path[PATH_MAX], id[32], *log;
	sqlite3 *db;

	tmp_setup();
	path_in(path, sizeof(path), "journal.db");
	CHECK_INT(journal_open(&j, base, path), 0);
	/* 6,000 old calls of two events: more than one batch */
	for (int i = 0; i < 6000; i++) {
		snprintf(id, sizeof(id), "old-%d", i);
		ev.call_id = id;
		ev.ts_ms = old + i;
		ev.event = JEV_CALL_START;
		CHECK_INT(journal_append(j, &ev), 0);
		ev.event = JEV_CALL_END;
		CHECK_INT(journal_append(j, &ev), 0);
	}
	const struct {
		const char *call_id, *event;
		int64_t ts_ms, callback_id;
	} rows[] = {
		{"edge", JEV_CALL_START, old, 0},      /* ends after the cutoff: stays */
		{"edge", JEV_CALL_END, now - 1000, 0},
		{"p1", JEV_CALL_START, old, 0},        /* made promise 1, still open: stays */
		{"p1", JEV_CB_PROMISED, old + 1, 1},
		{"p2", JEV_CB_PROMISED, old, 2},       /* promise 2, broken long ago: goes */
		{NULL, JEV_CB_BROKEN, old + 1, 2},
		{"new", JEV_CALL_START, now - 1000, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ev.call_id = rows[i].call_id;
		ev.event = rows[i].event;
		ev.ts_ms = rows[i].ts_ms;
		ev.callback_id = rows[i].callback_id;
		CHECK_INT(journal_append(j, &ev), 0);
	}
	row.id = 1, row.state = "open", row.call_id = "p1", row.created_ms = old;
	CHECK_INT(journal_put_callback(j, &row), 0);
	row.id = 2, row.state = "broken", row.call_id = "p2", row.closed_ms = old + 1;
	CHECK_INT(journal_put_callback(j, &row), 0);
	journal_flush(j);

	capture_start(&cap);
	journal_set_retention(j, 30);
	/* the pass runs on the writer thread: bounded wait for its end */
	for (int i = 0; i < 3000 && st.retention_passes == 0; i++) {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		journal_get_stats(j, &st);
	}
	journal_close(j);
	log = capture_end(&cap);
	CHECK_INT(st.retention_passes, 1);
	CHECK_INT(st.retention_removed, 12002);
	CHECK(strstr(log, "<5>journal: retention 0 -> 30 days") != NULL);
	CHECK(strstr(log, "<5>journal: retention removed 12002 events of 6001 calls and 1 "
		"closed promise older than ") != NULL);
	free(log);
	db = db_open(path);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE call_id LIKE 'old-%' OR "
		"call_id = 'p2' OR callback_id = 2"), 0);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE call_id IN ('edge', 'p1', "
		"'new')"), 5);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events WHERE event = 'journal.retention' "
		"AND call_id IS NULL AND duration_ms >= 0 AND detail LIKE 'removed 12002 events "
		"of 6001 calls and 1 closed promise older than % (30 days)'"), 1);
	CHECK_INT(db_int(db, "SELECT count(*) FROM events"), 6);
	CHECK_INT(db_int(db, "SELECT group_concat(id) FROM callbacks"), 1);
	sqlite3_close(db);
	event_base_free(base);
	tmp_teardown();
}

CHECK_MAIN(T(test_append_order_and_values), T(test_null_columns),
	T(test_callback_on_loop_thread_after_commit), T(test_ts_zero_is_append_time),
	T(test_close_flushes), T(test_commit_failure_is_reported), T(test_unwritable_directory),
	T(test_newer_schema_refused), T(test_v1_migrated), T(test_callback_row_before_event),
	T(test_kill9_keeps_committed_events),
	T(test_query_calls_and_words), T(test_retention))
