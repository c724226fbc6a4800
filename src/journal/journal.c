/* The journal writer: the event loop queues copies of events, one writer thread commits
 * them in batches (one transaction per wake-up) and hands completions back to the loop
 * through an eventfd. The same thread, the only writer, removes events past the retention
 * age in small transactions between batches. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/util.h"
#include "schema.h"

/* A failing commit is tried this many times; SQLITE_BUSY also waits busy_timeout each try. */
#define COMMIT_ATTEMPTS 3
#define BUSY_TIMEOUT_MS 1000
#define BACKOFF_MS 100
/* Retention: rows removed per transaction (a few ms each), so call events commit between;
 * a pass at start (or when the setting changes) and then every hour. */
#define RETENTION_BATCH 5000
#define RETENTION_EVERY_MS (3600 * 1000)
#define DAY_MS (86400 * (int64_t)1000)

struct jrec {
	struct jrec *next;
	void (*done)(void *arg, int err);
	void *arg;
	int err;
	bool is_row;             /* a callbacks row, not an event */
	struct journal_event ev; /* strings point into buf */
	struct journal_callback_row row;
	char buf[];
};

/* One retention pass: what it removes and what it has removed so far (writer thread). */
struct retention {
	bool active;
	bool events_done;
	int days;
	int64_t cutoff_ms;   /* wall clock: rows older than this go */
	int64_t from_ms;     /* events before this were looked at already */
	int64_t t0_us;
	uint64_t events, promises;
	sqlite3_stmt *del_events, *del_promises, *add_call;
};

struct journal {
	sqlite3 *db;
	sqlite3_stmt *insert;
	sqlite3_stmt *put_cb;  /* INSERT OR REPLACE INTO callbacks */
	char *path;

	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t work;   /* writer: queue non-empty or stopping */
	pthread_cond_t idle;   /* flush: a batch was processed */
	struct jrec *head, **tail;  /* queued, not yet taken by the writer */
	struct jrec *done, **done_tail; /* processed, callback pending on the loop */
	uint64_t queued;       /* records (events and callbacks rows) queued */
	uint64_t processed;    /* records committed or failed */
	bool stop;
	struct journal_stats stats;
	int retention_days;    /* the setting; 0 = keep everything */
	int64_t retention_due; /* monotonic ms of the next pass */
	struct retention ret;  /* the writer's own */

	int efd;
	struct event *done_ev;
};

/* SQLite result code -> errno, for callers that only know errno values. */
static int
sqlite_errno(sqlite3 *db, int rc)
{
	int sys = db != NULL ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		return sys != 0 ? sys : EIO;
	default:
		return EIO;
	}
}

/* mkdir -p for the journal's directory; new levels get 0750 (caller numbers are personal). */
static int
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (str_copy(dir, path, sizeof(dir)) >= sizeof(dir))
		return ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (p == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST)
			return errno;
		if (c == '\0')
			return 0;
		*p = c;
	}
}

/* Creates the file ourselves: SQLite would create it 0644, and its -wal and -shm files take
 * the database file's mode. */
static int
create_file(const char *path)
{
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & S_IRWXO) != 0)
		log_warn("journal", "%s is accessible to all users (mode %04o); it holds caller "
			"numbers", path, (unsigned)(st.st_mode & 07777));
	if (close(fd) != 0)
		err = errno;
	return err;
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* Creates the schema in a fresh file, or checks an existing one is a version we write. */
static int
schema_setup(struct journal *j)
{
	sqlite3_stmt *st = NULL;
	int64_t version = 0;
	int rc;

	rc = sqlite3_prepare_v2(j->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			log_err("journal", "%s: cannot switch to WAL mode (mode is %s)", j->path,
				mode ? mode : "unknown");
			sqlite3_finalize(st);
			return EIO;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		goto fail;
	if ((rc = exec_sql(j->db, "PRAGMA synchronous=FULL")) != SQLITE_OK)
		goto fail;
	/* IMMEDIATE: two processes opening a new file create the schema once */
	if ((rc = exec_sql(j->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto fail;
	if ((rc = pragma_int(j->db, "PRAGMA user_version", &version)) != SQLITE_OK)
		goto fail;
	if (version > JOURNAL_SCHEMA_VERSION) {
		exec_sql(j->db, "ROLLBACK");
		log_err("journal", "%s has schema version %lld; this ivrd writes version %d",
			j->path, (long long)version, JOURNAL_SCHEMA_VERSION);
		return ENOTSUP;
	}
	if (version == 0 && (rc = exec_sql(j->db, JOURNAL_SCHEMA_SQL)) != SQLITE_OK)
		goto fail;
	if (version == 1 && (rc = exec_sql(j->db, JOURNAL_MIGRATE_1_2_SQL)) != SQLITE_OK)
		goto fail;
	if ((rc = exec_sql(j->db, "COMMIT")) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	log_err("journal", "%s: %s", j->path, sqlite3_errmsg(j->db));
	if (!sqlite3_get_autocommit(j->db))
		exec_sql(j->db, "ROLLBACK");
	return sqlite_errno(j->db, rc);
}

static int
bind_text(sqlite3_stmt *st, int col, const char *s)
{
	return s != NULL ? sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC)
		: sqlite3_bind_null(st, col);
}

static int
bind_event(sqlite3_stmt *st, const struct journal_event *ev)
{
	int rc = sqlite3_bind_int64(st, 1, ev->ts_ms);
	const char *text[] = {ev->call_id, ev->event, ev->menu, ev->key, ev->dept, ev->target,
		ev->result, ev->reason, ev->ani, ev->dnis, ev->prompt, ev->detail};

	for (size_t i = 0; i < ARRAY_LEN(text) && rc == SQLITE_OK; i++)
		rc = bind_text(st, (int)i + 2, text[i]);
	if (rc == SQLITE_OK)
		rc = ev->generation != 0 ? sqlite3_bind_int64(st, 14, ev->generation)
			: sqlite3_bind_null(st, 14);
	if (rc == SQLITE_OK)
		rc = ev->duration_ms >= 0 ? sqlite3_bind_int64(st, 15, ev->duration_ms)
			: sqlite3_bind_null(st, 15);
	if (rc == SQLITE_OK)
		rc = ev->callback_id > 0 ? sqlite3_bind_int64(st, 16, ev->callback_id)
			: sqlite3_bind_null(st, 16);
	return rc;
}

static int
bind_int_or_null(sqlite3_stmt *st, int col, int64_t v)
{
	return v != 0 ? sqlite3_bind_int64(st, col, v) : sqlite3_bind_null(st, col);
}

/* The columns in JOURNAL_PUT_CALLBACK_SQL's order. */
static int
bind_row(sqlite3_stmt *st, const struct journal_callback_row *r)
{
	const char *text[] = {r->number, r->ani, r->dept, r->lang, r->call_id, r->state};
	const int64_t num[] = {r->created_ms, r->updated_ms, r->due_ms, r->expires_ms,
		r->next_ms, r->attempts, r->max_attempts};
	const char *text2[] = {r->last_result, r->reason, r->kept_call_id};
	int rc = sqlite3_bind_int64(st, 1, r->id), col = 2;

	for (size_t i = 0; i < ARRAY_LEN(text) && rc == SQLITE_OK; i++)
		rc = bind_text(st, col++, text[i]);
	for (size_t i = 0; i < ARRAY_LEN(num) && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_int64(st, col++, num[i]);
	for (size_t i = 0; i < ARRAY_LEN(text2) && rc == SQLITE_OK; i++)
		rc = bind_text(st, col++, text2[i]);
	if (rc == SQLITE_OK)
		rc = bind_int_or_null(st, col++, r->closed_ms);
	if (rc == SQLITE_OK)
		rc = bind_text(st, col++, r->owner);
	if (rc == SQLITE_OK)
		rc = bind_int_or_null(st, col, r->lease_until_ms);
	return rc;
}

#define JOURNAL_PUT_CALLBACK_SQL \
	"INSERT OR REPLACE INTO callbacks (id, number, ani, dept, lang, call_id, state, " \
	"created_ms, updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts, " \
	"last_result, reason, kept_call_id, closed_ms, owner, lease_until_ms) VALUES (?1, ?2, " \
	"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"

/* One transaction for the whole batch: one fsync of the WAL however many events. Rows and
 * events go in queue order, so an event commits with (or after) the rows before it. */
static int
commit_batch(struct journal *j, struct jrec *batch)
{
	int rc;

	rc = exec_sql(j->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto out;
	for (struct jrec *r = batch; r != NULL; r = r->next) {
		sqlite3_stmt *st = r->is_row ? j->put_cb : j->insert;
		rc = r->is_row ? bind_row(st, &r->row) : bind_event(st, &r->ev);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto out;
	}
	rc = exec_sql(j->db, "COMMIT");
out:
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(j->db))
		exec_sql(j->db, "ROLLBACK");
	return rc;
}

/* The log is the last record of an event the journal could not keep. */
static void
log_lost(const struct journal *j, const struct journal_event *ev, const char *why)
{
	char line[1024];
	size_t off = 0;
	const char *name[] = {"menu", "key", "dept", "target", "result", "reason", "prompt",
		"detail"};
	const char *val[] = {ev->menu, ev->key, ev->dept, ev->target, ev->result, ev->reason,
		ev->prompt, ev->detail};

	str_appendf(line, sizeof(line), &off, "%s: event not recorded (%s): %s ts_ms=%lld",
		j->path, why, ev->event, (long long)ev->ts_ms);
	if (ev->callback_id > 0)
		str_appendf(line, sizeof(line), &off, " callback_id=%lld",
			(long long)ev->callback_id);
	for (size_t i = 0; i < ARRAY_LEN(val); i++)
		if (val[i] != NULL)
			str_appendf(line, sizeof(line), &off, " %s=%s", name[i], val[i]);
	if (ev->duration_ms >= 0)
		str_appendf(line, sizeof(line), &off, " duration_ms=%lld",
			(long long)ev->duration_ms);
	log_msg(LOG_PRIO_ERR, "journal", ev->call_id, "%s", line);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Commits a batch taken from the queue (lock not held), retrying, and hands its completions
 * to the loop. */
static void
write_batch(struct journal *j, struct jrec *batch)
{
	struct jrec *r, *next, *done = NULL, **done_tail = &done;
	uint64_t n = 0, nev = 0;
	int64_t t0, t1;
	int rc, err;

	for (r = batch; r != NULL; r = r->next) {
		n++;
		nev += !r->is_row;
	}
	t0 = clock_mono_us();
	for (int attempt = 1; ; attempt++) {
		rc = commit_batch(j, batch);
		if (rc == SQLITE_OK || attempt == COMMIT_ATTEMPTS)
			break;
		log_warn("journal", "%s: commit of %llu event(s) failed (%s), try %d of %d",
			j->path, (unsigned long long)n, sqlite3_errmsg(j->db), attempt,
			COMMIT_ATTEMPTS);
		sleep_ms(BACKOFF_MS << (2 * (attempt - 1)));
	}
	t1 = clock_mono_us();
	err = sqlite_errno(j->db, rc);
	if (rc != SQLITE_OK) {
		log_err("journal", "%s: %llu event(s) lost after %d tries: %s", j->path,
			(unsigned long long)n, COMMIT_ATTEMPTS, sqlite3_errmsg(j->db));
		for (r = batch; r != NULL; r = r->next)
			if (r->is_row)
				log_msg(LOG_PRIO_ERR, "journal", r->row.call_id, "%s: callback %lld "
					"row not recorded (%s): state %s", j->path,
					(long long)r->row.id, sqlite3_errstr(rc),
					r->row.state ? r->row.state : "");
			else
				log_lost(j, &r->ev, sqlite3_errstr(rc));
	}

	for (r = batch; r != NULL; r = next) {
		next = r->next;
		if (r->done == NULL) {
			free(r);
			continue;
		}
		r->err = err;
		r->next = NULL;
		*done_tail = r;
		done_tail = &r->next;
	}

	pthread_mutex_lock(&j->lock);
	j->processed += n;
	if (rc == SQLITE_OK)
		j->stats.committed += nev;
	else
		j->stats.failed += nev;
	j->stats.batches++;
	j->stats.last_commit_us = t1 - t0;
	if (done != NULL) {
		uint64_t one = 1;
		*j->done_tail = done;
		j->done_tail = done_tail;
		/* a full counter (EAGAIN) still wakes the loop */
		(void)!write(j->efd, &one, sizeof(one));
	}
	pthread_cond_broadcast(&j->idle);
	pthread_mutex_unlock(&j->lock);
}

/* Retention. Events older than the cutoff go, oldest first, except:
 *  - events of promises that stay: open and dialing ones, and closed ones closed after the
 *    cutoff (their row stays, so does their history);
 *  - every event of a call that made, attempted or kept such a promise;
 *  - every event of a call that has an event after the cutoff: calls go whole.
 * Closed promises' rows (kept, broken, cancelled) closed before the cutoff go too. What
 * stays is decided once at the start of a pass: a promise or call that changes meanwhile
 * only gets newer events, which no pass of this cutoff removes. */
#define RETENTION_KEEP_SQL \
	"CREATE TEMP TABLE IF NOT EXISTS retention_promises (id INTEGER PRIMARY KEY);" \
	"CREATE TEMP TABLE IF NOT EXISTS retention_keep (call_id TEXT PRIMARY KEY);" \
	"CREATE TEMP TABLE IF NOT EXISTS retention_calls (call_id TEXT PRIMARY KEY);" \
	"DELETE FROM temp.retention_promises; DELETE FROM temp.retention_keep;" \
	"DELETE FROM temp.retention_calls;" \
	"INSERT INTO temp.retention_promises SELECT id FROM main.callbacks WHERE state NOT IN " \
	"('kept', 'broken', 'cancelled') OR closed_ms IS NULL OR closed_ms >= %lld;" \
	"INSERT OR IGNORE INTO temp.retention_keep SELECT call_id FROM main.events WHERE " \
	"callback_id IN (SELECT id FROM temp.retention_promises) AND call_id IS NOT NULL;" \
	"INSERT OR IGNORE INTO temp.retention_keep SELECT call_id FROM main.callbacks WHERE " \
	"id IN (SELECT id FROM temp.retention_promises) AND call_id IS NOT NULL;"

/* ?1 events before this were looked at already, ?2 the cutoff, ?3 the batch size */
#define RETENTION_EVENTS_SQL \
	"DELETE FROM main.events WHERE id IN (SELECT e.id FROM main.events e " \
	"WHERE e.ts_ms >= ?1 AND e.ts_ms < ?2 " \
	"AND (e.callback_id IS NULL OR e.callback_id NOT IN " \
	"(SELECT id FROM temp.retention_promises)) " \
	"AND (e.call_id IS NULL OR (e.call_id NOT IN (SELECT call_id FROM temp.retention_keep) " \
	"AND NOT EXISTS (SELECT 1 FROM main.events n WHERE n.call_id = e.call_id " \
	"AND n.ts_ms >= ?2))) " \
	"ORDER BY e.ts_ms LIMIT ?3) RETURNING call_id, ts_ms"

#define RETENTION_PROMISES_SQL \
	"DELETE FROM main.callbacks WHERE id IN (SELECT id FROM main.callbacks WHERE state IN " \
	"('kept', 'broken', 'cancelled') AND closed_ms < ?1 LIMIT ?2)"

static int
retention_prepare(struct journal *j)
{
	struct retention *p = &j->ret;
	int rc = SQLITE_OK;

	if (p->del_events == NULL)
		rc = sqlite3_prepare_v3(j->db, RETENTION_EVENTS_SQL, -1,
			SQLITE_PREPARE_PERSISTENT, &p->del_events, NULL);
	if (rc == SQLITE_OK && p->del_promises == NULL)
		rc = sqlite3_prepare_v3(j->db, RETENTION_PROMISES_SQL, -1,
			SQLITE_PREPARE_PERSISTENT, &p->del_promises, NULL);
	if (rc == SQLITE_OK && p->add_call == NULL)
		rc = sqlite3_prepare_v3(j->db, "INSERT OR IGNORE INTO temp.retention_calls "
			"VALUES (?1)", -1, SQLITE_PREPARE_PERSISTENT, &p->add_call, NULL);
	return rc;
}

/* Starts a pass: the cutoff, and what stays whatever its age. */
static int
retention_begin(struct journal *j, int days)
{
	struct retention *p = &j->ret;
	char *sql;
	int rc;

	p->days = days;
	p->cutoff_ms = clock_wall_ms() - days * DAY_MS;
	p->from_ms = INT64_MIN;
	p->t0_us = clock_mono_us();
	p->events = p->promises = 0;
	p->events_done = false;
	sql = sqlite3_mprintf("BEGIN;" RETENTION_KEEP_SQL "COMMIT;", (long long)p->cutoff_ms);
	if (sql == NULL)
		return SQLITE_NOMEM;
	rc = exec_sql(j->db, sql);
	sqlite3_free(sql);
	if (rc == SQLITE_OK)
		rc = retention_prepare(j);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(j->db))
		exec_sql(j->db, "ROLLBACK");
	if (rc == SQLITE_OK)
		p->active = true;
	return rc;
}

/* One transaction: the oldest RETENTION_BATCH events that go, or closed promises once the
 * events are done. *more is false when the pass has nothing left. */
static int
retention_batch(struct journal *j, bool *more)
{
	struct retention *p = &j->ret;
	int64_t n = 0, from = p->from_ms;
	int rc;

	*more = true;
	if ((rc = exec_sql(j->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	if (!p->events_done) {
		sqlite3_stmt *st = p->del_events;
		sqlite3_bind_int64(st, 1, p->from_ms);
		sqlite3_bind_int64(st, 2, p->cutoff_ms);
		sqlite3_bind_int(st, 3, RETENTION_BATCH);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			n++;
			if (sqlite3_column_int64(st, 1) > from)
				from = sqlite3_column_int64(st, 1);
			if (sqlite3_column_type(st, 0) == SQLITE_NULL)
				continue;
			sqlite3_bind_value(p->add_call, 1, sqlite3_column_value(st, 0));
			int rc2 = sqlite3_step(p->add_call);
			sqlite3_reset(p->add_call);
			if (rc2 != SQLITE_DONE) {
				rc = rc2;
				break;
			}
		}
		sqlite3_reset(st);
	} else {
		sqlite3_stmt *st = p->del_promises;
		sqlite3_bind_int64(st, 1, p->cutoff_ms);
		sqlite3_bind_int(st, 2, RETENTION_BATCH);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		n = sqlite3_changes(j->db);
	}
	if (rc == SQLITE_DONE)
		rc = exec_sql(j->db, "COMMIT");
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(j->db))
			exec_sql(j->db, "ROLLBACK");
		return rc;
	}
	if (p->events_done) {
		p->promises += (uint64_t)n;
		*more = n == RETENTION_BATCH;
		return SQLITE_OK;
	}
	p->events += (uint64_t)n;
	p->from_ms = from;
	p->events_done = n < RETENTION_BATCH;
	pthread_mutex_lock(&j->lock);
	j->stats.retention_removed += (uint64_t)n;
	pthread_mutex_unlock(&j->lock);
	return SQLITE_OK;
}

/* The report of a pass (also one cut short): a log line and a journal event, when anything
 * went. */
static void
retention_end(struct journal *j)
{
	struct retention *p = &j->ret;
	int64_t calls = 0, ms = (clock_mono_us() - p->t0_us) / 1000;
	time_t cutoff = (time_t)(p->cutoff_ms / 1000);
	char when[32], detail[256];
	struct journal_event ev = {
		.event = JEV_RETENTION, .detail = detail, .duration_ms = ms,
	};
	struct tm tm;
	int rc;

	p->active = false;
	pthread_mutex_lock(&j->lock);
	j->stats.retention_passes++;
	pthread_mutex_unlock(&j->lock);
	pragma_int(j->db, "SELECT count(*) FROM temp.retention_calls", &calls);
	exec_sql(j->db, "DELETE FROM temp.retention_calls; DELETE FROM temp.retention_keep; "
		"DELETE FROM temp.retention_promises");
	if (p->events == 0 && p->promises == 0)
		return;
	if (localtime_r(&cutoff, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)p->cutoff_ms);
	snprintf(detail, sizeof(detail), "removed %llu event%s of %lld call%s and %llu closed "
		"promise%s older than %s (%d day%s)", (unsigned long long)p->events,
		p->events == 1 ? "" : "s", (long long)calls, calls == 1 ? "" : "s",
		(unsigned long long)p->promises, p->promises == 1 ? "" : "s", when, p->days,
		p->days == 1 ? "" : "s");
	log_notice("journal", "retention %s in %lld ms", detail, (long long)ms);
	ev.ts_ms = clock_wall_ms();
	rc = exec_sql(j->db, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK && (rc = bind_event(j->insert, &ev)) == SQLITE_OK)
		rc = sqlite3_step(j->insert);
	sqlite3_reset(j->insert);
	sqlite3_clear_bindings(j->insert);
	if (rc == SQLITE_DONE)
		rc = exec_sql(j->db, "COMMIT");
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(j->db))
			exec_sql(j->db, "ROLLBACK");
		log_lost(j, &ev, sqlite3_errstr(rc));
	}
}

/* One step of retention between queued batches: start a pass, remove one batch, or end. */
static void
retention_step(struct journal *j, int days)
{
	struct retention *p = &j->ret;
	bool more = true;
	int rc;

	if (!p->active) {
		if ((rc = retention_begin(j, days)) != SQLITE_OK)
			log_warn("journal", "%s: retention: %s; next try in an hour", j->path,
				sqlite3_errmsg(j->db));
		return;
	}
	if (days == 0) { /* switched off by a reload: stop here */
		retention_end(j);
		return;
	}
	rc = retention_batch(j, &more);
	if (rc != SQLITE_OK)
		log_warn("journal", "%s: retention stopped: %s; next try in an hour", j->path,
			sqlite3_errmsg(j->db));
	if (rc != SQLITE_OK || !more)
		retention_end(j);
}

/* With the lock held: a pass is under way or due. */
static bool
retention_wanted(const struct journal *j)
{
	return j->ret.active || (j->retention_days > 0 && clock_mono_ms() >= j->retention_due);
}

static void *
writer_main(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct jrec *batch;
		int days;

		while (j->head == NULL && !j->stop && !retention_wanted(j)) {
			if (j->retention_days > 0) {
				struct timespec until = {
					(time_t)(j->retention_due / 1000),
					(long)(j->retention_due % 1000) * 1000000,
				};
				pthread_cond_timedwait(&j->work, &j->lock, &until);
			} else {
				pthread_cond_wait(&j->work, &j->lock);
			}
		}
		/* queued events first: a retention pass never holds up a call's events */
		if (j->head != NULL) {
			batch = j->head;
			j->head = NULL;
			j->tail = &j->head;
			pthread_mutex_unlock(&j->lock);
			write_batch(j, batch);
			pthread_mutex_lock(&j->lock);
			continue;
		}
		if (j->stop)
			break;
		days = j->retention_days;
		if (!j->ret.active)
			j->retention_due = clock_mono_ms() + RETENTION_EVERY_MS;
		pthread_mutex_unlock(&j->lock);
		retention_step(j, days);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	if (j->ret.active) /* stopping mid-pass: report what went */
		retention_end(j);
	return NULL;
}

/* Runs on the loop thread: callbacks for events the writer has processed. */
static void
run_completions(struct journal *j)
{
	struct jrec *list, *next;

	pthread_mutex_lock(&j->lock);
	list = j->done;
	j->done = NULL;
	j->done_tail = &j->done;
	pthread_mutex_unlock(&j->lock);
	for (; list != NULL; list = next) {
		next = list->next;
		list->done(list->arg, list->err);
		free(list);
	}
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	uint64_t count;

	(void)what;
	(void)!read(fd, &count, sizeof(count));
	run_completions(arg);
}

static void
journal_free(struct journal *j)
{
	if (j->done_ev != NULL)
		event_free(j->done_ev);
	if (j->efd >= 0)
		close(j->efd);
	sqlite3_finalize(j->insert);
	sqlite3_finalize(j->put_cb);
	sqlite3_finalize(j->ret.del_events);
	sqlite3_finalize(j->ret.del_promises);
	sqlite3_finalize(j->ret.add_call);
	sqlite3_close(j->db);
	pthread_cond_destroy(&j->idle);
	pthread_cond_destroy(&j->work);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}

int
journal_open(struct journal **jp, struct event_base *base, const char *path)
{
	struct journal *j;
	pthread_condattr_t mono;
	sigset_t all, old;
	int rc, err;

	*jp = NULL;
	if (base == NULL || path == NULL || *path == '\0')
		return EINVAL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return ENOMEM;
	j->efd = -1;
	j->tail = &j->head;
	j->done_tail = &j->done;
	pthread_mutex_init(&j->lock, NULL);
	/* the writer's hourly retention wake-up ignores wall-clock steps */
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&j->work, &mono);
	pthread_condattr_destroy(&mono);
	pthread_cond_init(&j->idle, NULL);
	j->path = strdup(path);
	if (j->path == NULL) {
		err = ENOMEM;
		goto out;
	}

	if ((err = make_parent(path)) != 0) {
		log_err("journal", "cannot create the directory for %s: %s", path, strerror(err));
		goto out;
	}
	if ((err = create_file(path)) != 0) {
		log_err("journal", "cannot create %s: %s", path, strerror(err));
		goto out;
	}
	rc = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		err = sqlite_errno(j->db, rc);
		log_err("journal", "cannot open %s: %s", path,
			j->db != NULL ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	if ((err = schema_setup(j)) != 0)
		goto out;
	/* retention's working sets (call ids) stay off the disk */
	exec_sql(j->db, "PRAGMA temp_store=MEMORY");
	rc = sqlite3_prepare_v3(j->db, "INSERT INTO events (ts_ms, call_id, event, menu, key, "
		"dept, target, result, reason, ani, dnis, prompt, detail, generation, "
		"duration_ms, callback_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		"?12, ?13, ?14, ?15, ?16)", -1, SQLITE_PREPARE_PERSISTENT, &j->insert, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(j->db, JOURNAL_PUT_CALLBACK_SQL, -1,
			SQLITE_PREPARE_PERSISTENT, &j->put_cb, NULL);
	if (rc != SQLITE_OK) {
		err = sqlite_errno(j->db, rc);
		log_err("journal", "%s: %s", path, sqlite3_errmsg(j->db));
		goto out;
	}

	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->efd < 0) {
		err = errno;
		log_err("journal", "eventfd: %s", strerror(err));
		goto out;
	}
	j->done_ev = event_new(base, j->efd, EV_READ | EV_PERSIST, on_done, j);
	if (j->done_ev == NULL || event_add(j->done_ev, NULL) != 0) {
		err = ENOMEM;
		goto out;
	}

	/* signals belong to the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&j->writer, NULL, writer_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		log_err("journal", "cannot start the writer thread: %s", strerror(err));
		goto out;
	}
	*jp = j;
out:
	if (err != 0)
		journal_free(j);
	return err;
}

static void
enqueue(struct journal *j, struct jrec *r, bool event)
{
	pthread_mutex_lock(&j->lock);
	*j->tail = r;
	j->tail = &r->next;
	j->queued++;
	if (event)
		j->stats.appended++;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->lock);
}

/* The bytes n strings need in a record, NULs included (NULL strings take none). */
static size_t
strings_size(const char *const *src, size_t *len, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
		total += len[i];
	}
	return total;
}

/* Copies the strings into buf and points each *dst[i] at its copy. */
static void
strings_copy(char *buf, const char *const *src, const size_t *len, const char **const *dst,
	size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (src[i] == NULL)
			continue;
		memcpy(buf, src[i], len[i]);
		*dst[i] = buf;
		buf += len[i];
	}
}

static int
queue(struct journal *j, const struct journal_event *ev, void (*done)(void *, int),
	void *arg)
{
	const char *const src[] = {ev->call_id, ev->menu, ev->key, ev->dept, ev->target,
		ev->result, ev->reason, ev->ani, ev->dnis, ev->prompt, ev->detail, ev->event};
	const char **dst[ARRAY_LEN(src)];
	size_t len[ARRAY_LEN(src)], total;
	struct jrec *r;

	if (j == NULL || ev->event == NULL)
		return EINVAL;
	total = strings_size(src, len, ARRAY_LEN(src));
	r = malloc(sizeof(*r) + total);
	if (r == NULL)
		return ENOMEM;
	r->next = NULL;
	r->done = done;
	r->arg = arg;
	r->err = 0;
	r->is_row = false;
	r->ev = *ev;
	if (r->ev.ts_ms == 0)
		r->ev.ts_ms = clock_wall_ms();
	dst[0] = &r->ev.call_id, dst[1] = &r->ev.menu, dst[2] = &r->ev.key;
	dst[3] = &r->ev.dept, dst[4] = &r->ev.target, dst[5] = &r->ev.result;
	dst[6] = &r->ev.reason, dst[7] = &r->ev.ani, dst[8] = &r->ev.dnis;
	dst[9] = &r->ev.prompt, dst[10] = &r->ev.detail, dst[11] = &r->ev.event;
	strings_copy(r->buf, src, len, dst, ARRAY_LEN(src));

	enqueue(j, r, true);
	return 0;
}

int
journal_put_callback(struct journal *j, const struct journal_callback_row *row)
{
	const char *const src[] = {row->number, row->ani, row->dept, row->lang, row->call_id,
		row->state, row->last_result, row->reason, row->kept_call_id, row->owner};
	size_t len[ARRAY_LEN(src)], total;
	struct jrec *r;

	if (j == NULL || row->id <= 0 || row->number == NULL || row->dept == NULL ||
	    row->state == NULL)
		return EINVAL;
	total = strings_size(src, len, ARRAY_LEN(src));
	r = calloc(1, sizeof(*r) + total);
	if (r == NULL)
		return ENOMEM;
	r->is_row = true;
	r->row = *row;
	{
		const char **dst[] = {&r->row.number, &r->row.ani, &r->row.dept, &r->row.lang,
			&r->row.call_id, &r->row.state, &r->row.last_result, &r->row.reason,
			&r->row.kept_call_id, &r->row.owner};
		strings_copy(r->buf, src, len, dst, ARRAY_LEN(src));
	}
	enqueue(j, r, false);
	return 0;
}

int
journal_append(struct journal *j, const struct journal_event *ev)
{
	return queue(j, ev, NULL, NULL);
}

int
journal_append_cb(struct journal *j, const struct journal_event *ev,
	void (*done)(void *arg, int err), void *arg)
{
	return queue(j, ev, done, arg);
}

void
journal_flush(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
	for (uint64_t target = j->queued; j->processed < target; )
		pthread_cond_wait(&j->idle, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

/* Call on the loop thread: callbacks still pending run here, before it returns. */
void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->writer, NULL);
	run_completions(j);
	journal_free(j);
}

void
journal_set_retention(struct journal *j, int days)
{
	pthread_mutex_lock(&j->lock);
	if (days != j->retention_days) {
		log_notice("journal", "retention %d -> %d days%s", j->retention_days, days,
			days == 0 ? " (keep everything)" : "");
		j->retention_days = days;
		/* a new age takes effect at once */
		j->retention_due = clock_mono_ms();
		pthread_cond_signal(&j->work);
	}
	pthread_mutex_unlock(&j->lock);
}

void
journal_get_stats(const struct journal *j, struct journal_stats *st)
{
	/* the lock guards the counters; taking it does not change the journal */
	struct journal *mj = (struct journal *)j;

	pthread_mutex_lock(&mj->lock);
	*st = j->stats;
	pthread_mutex_unlock(&mj->lock);
}
