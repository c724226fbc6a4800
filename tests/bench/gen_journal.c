/* gen_journal: a journal of N calls over D days for the report benchmark, written straight
 * through SQLite with the daemon's own schema (schema.h) and event names (journal.h), so it
 * always matches what ivrd writes. Deterministic for a seed and an end time.
 *
 *   gen_journal [-n CALLS] [-d DAYS] [-s SEED] [-e END_MS] FILE
 *
 * Calls follow the demo configuration (etc/ivrd.conf): menus main, sales, support; repeat
 * callers from a pool; busier 9-17 (UTC); timeouts, invalid keys, drops; transfers ok about
 * 85 % of the time with a fallback to the operator; closed departments offering callbacks,
 * promises kept on time, late, broken or cancelled, with their dial-back attempts. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ivr/journal.h"
#include "schema.h"

#define MIN_MS (60 * (int64_t)1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define ROWS_PER_TXN 200000

/* Share of a day's calls per UTC hour: the working day is busiest. */
static const int hour_weight[24] = {1, 1, 1, 1, 1, 2, 4, 8, 14, 20, 22, 22, 20, 21, 22, 22, 20,
	16, 10, 6, 4, 3, 2, 1};

struct gen {
	sqlite3 *db;
	sqlite3_stmt *ev, *cb;
	uint64_t rng;
	int64_t end_ms;
	uint64_t events, promises, rows_in_txn;
	int64_t next_promise;
	unsigned ani_pool;
};

/* splitmix64: small, fast, the same sequence everywhere */
static uint64_t
rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static uint64_t
below(struct gen *g, uint64_t n)
{
	return n != 0 ? rnd(g) % n : 0;
}

/* true with probability pct/1000 */
static bool
chance(struct gen *g, unsigned per_mille)
{
	return below(g, 1000) < per_mille;
}

static void
die(struct gen *g, const char *what)
{
	fprintf(stderr, "gen_journal: %s: %s\n", what, g->db ? sqlite3_errmsg(g->db) : "?");
	exit(1);
}

static void
exec(struct gen *g, const char *sql)
{
	if (sqlite3_exec(g->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(g, sql);
}

static void
txn_tick(struct gen *g)
{
	if (++g->rows_in_txn < ROWS_PER_TXN)
		return;
	exec(g, "COMMIT; BEGIN");
	g->rows_in_txn = 0;
}

static void
bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static void
bind_opt(sqlite3_stmt *st, int col, int64_t v, bool present)
{
	if (present)
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

/* The columns of the daemon's insert (journal.c), in its order. */
static void
put(struct gen *g, const struct journal_event *e)
{
	sqlite3_stmt *st = g->ev;
	const char *text[] = {e->call_id, e->event, e->menu, e->key, e->dept, e->target,
		e->result, e->reason, e->ani, e->dnis, e->prompt, e->detail};

	sqlite3_bind_int64(st, 1, e->ts_ms);
	for (int i = 0; i < 12; i++)
		bind_text(st, i + 2, text[i]);
	bind_opt(st, 14, e->generation, e->generation != 0);
	bind_opt(st, 15, e->duration_ms, e->duration_ms > 0);
	bind_opt(st, 16, e->callback_id, e->callback_id > 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		die(g, "insert event");
	sqlite3_reset(st);
	g->events++;
	txn_tick(g);
}

static void
put_row(struct gen *g, const struct journal_callback_row *r)
{
	sqlite3_stmt *st = g->cb;
	const char *text[] = {r->number, r->ani, r->dept, r->lang, r->call_id, r->state};
	const int64_t num[] = {r->created_ms, r->updated_ms, r->due_ms, r->expires_ms, r->next_ms,
		r->attempts, r->max_attempts};
	const char *text2[] = {r->last_result, r->reason, r->kept_call_id};
	int col = 2;

	sqlite3_bind_int64(st, 1, r->id);
	for (int i = 0; i < 6; i++)
		bind_text(st, col++, text[i]);
	for (int i = 0; i < 7; i++)
		sqlite3_bind_int64(st, col++, num[i]);
	for (int i = 0; i < 3; i++)
		bind_text(st, col++, text2[i]);
	bind_opt(st, col++, r->closed_ms, r->closed_ms != 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		die(g, "insert promise");
	sqlite3_reset(st);
	g->promises++;
	txn_tick(g);
}

/* duration_ms 0 is none here: every duration the generator writes is longer */
#define EV(...) ((struct journal_event){__VA_ARGS__})

static const char *
target_of(const char *dept)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "sip:%s@pbx.example.com", dept);
	return buf;
}

/* A transfer; true when it connected. */
static bool
transfer(struct gen *g, int64_t *t, const char *cid, const char *dept, unsigned ok_per_mille)
{
	static const char *const why[] = {"486 Busy Here", "408 Request Timeout", "603 Decline",
		"480 Temporarily Unavailable"};
	bool ok = chance(g, ok_per_mille);

	put(g, &EV(.ts_ms = *t, .call_id = cid, .event = JEV_TRANSFER_START, .dept = dept,
		.target = target_of(dept)));
	*t += 1000 + (int64_t)below(g, 19000);
	put(g, &EV(.ts_ms = *t, .call_id = cid, .event = JEV_TRANSFER_RESULT, .dept = dept,
		.target = target_of(dept), .result = ok ? "ok" : "failed",
		.reason = ok ? "NOTIFY 200 OK" : why[below(g, 4)]));
	return ok;
}

/* A promise made at t by call cid, its dial-backs and how it ended (or is still open at the
 * end of the journal). */
static void
promise(struct gen *g, int64_t t, const char *cid, const char *ani, const char *dept)
{
	char detail[96], dial[64], why[64];
	int64_t id = g->next_promise++, due = t + HOUR_MS + (int64_t)below(g, 3 * HOUR_MS);
	struct journal_callback_row r = {
		.id = id, .number = ani, .ani = ani, .dept = dept, .lang = "en", .call_id = cid,
		.state = "open", .created_ms = t, .updated_ms = t, .due_ms = due,
		.expires_ms = due + DAY_MS, .next_ms = due - 30 * MIN_MS, .max_attempts = 3,
	};
	unsigned fate = (unsigned)below(g, 100); /* <55 on time, <70 late, <95 broken, cancelled */
	int64_t at = r.next_ms;
	bool kept = false, overdue = false;

	snprintf(detail, sizeof(detail), "due in %" PRId64 " min; attempts 3",
		(due - t) / MIN_MS);
	put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CB_PROMISED, .dept = dept, .ani = ani,
		.dnis = ani, .detail = detail, .callback_id = id));
	snprintf(why, sizeof(why), "call back #%" PRId64 " promised", id);
	put(g, &EV(.ts_ms = t + 10, .call_id = cid, .event = JEV_CB_OFFER, .menu = "callback",
		.dept = dept, .result = "told", .reason = why, .prompt = "callback/told",
		.callback_id = id));
	if (fate >= 95) {
		int64_t when = t + 10 * MIN_MS + (int64_t)below(g, HOUR_MS);
		if (when < g->end_ms) {
			put(g, &EV(.ts_ms = when, .event = JEV_CB_CANCELLED, .dept = dept,
				.reason = "customer asked", .detail = "ivrctl (uid 1000)",
				.callback_id = id));
			r.state = "cancelled";
			r.reason = "customer asked";
			r.closed_ms = r.updated_ms = when;
		}
		put_row(g, &r);
		return;
	}
	if (fate >= 55 && fate < 70)
		at = due + 10 * MIN_MS + (int64_t)below(g, 3 * HOUR_MS); /* late */
	for (int a = 1; a <= 3 && at < g->end_ms; a++) {
		bool answer = fate < 70 && (a == 2 || chance(g, 600));
		const char *res = answer ? "answered" : chance(g, 500) ? "busy" : "no answer";
		char att[32];
		if (at > due && !overdue) {
			put(g, &EV(.ts_ms = due, .event = JEV_CB_OVERDUE, .dept = dept,
				.callback_id = id));
			overdue = true;
		}
		snprintf(dial, sizeof(dial), "dial-%" PRId64 "-%d@ivrd.gen", id, a);
		snprintf(att, sizeof(att), "attempt %d of 3", a);
		put(g, &EV(.ts_ms = at, .call_id = dial, .event = JEV_CB_ATTEMPT, .dept = dept,
			.dnis = ani, .detail = att, .reason = "caller first", .callback_id = id));
		put(g, &EV(.ts_ms = at + 5, .call_id = dial, .event = JEV_DIAL_START, .dnis = ani,
			.prompt = "callback/hello", .reason = "callback"));
		at += 5000 + (int64_t)below(g, 25000);
		put(g, &EV(.ts_ms = at, .call_id = dial, .event = JEV_DIAL_RESULT, .dnis = ani,
			.result = res, .detail = answer ? "sip 200" : *res == 'b' ? "sip 486" :
			"sip 408"));
		put(g, &EV(.ts_ms = at + 1, .call_id = dial, .event = JEV_CB_RESULT, .dept = dept,
			.dnis = ani, .result = res, .callback_id = id));
		r.attempts = a;
		r.last_result = res;
		r.updated_ms = at;
		if (answer) {
			int64_t t0 = at;
			at += 3000;
			transfer(g, &at, dial, dept, 1000);
			put(g, &EV(.ts_ms = at + 1, .call_id = dial, .event = JEV_CB_KEPT, .dept = dept,
				.callback_id = id));
			at += 60000 + (int64_t)below(g, 240000);
			put(g, &EV(.ts_ms = at, .call_id = dial, .event = JEV_DIAL_END,
				.reason = "transferred", .duration_ms = at - t0));
			r.state = "kept";
			r.reason = "connected";
			r.kept_call_id = dial;
			r.closed_ms = r.updated_ms;
			kept = true;
			break;
		}
		at += 30 * MIN_MS + (int64_t)below(g, 30 * MIN_MS);
		r.next_ms = at;
	}
	if (!kept && r.attempts == 3) {
		int64_t when = r.updated_ms + 1000;
		put(g, &EV(.ts_ms = when, .event = JEV_CB_BROKEN, .dept = dept,
			.reason = "attempts used up", .callback_id = id));
		r.state = "broken";
		r.reason = "attempts used up";
		r.closed_ms = r.updated_ms = when;
	}
	put_row(g, &r);
}

/* One inbound call starting at t. */
static void
call(struct gen *g, uint64_t n, int64_t t)
{
	static const char *const fails[] = {"failure 1 of 3", "failure 2 of 3"};
	char cid[80], ani_buf[16], reason[64];
	const char *ani = NULL, *menu = "main", *dept = NULL, *dnis, *result;
	int64_t start = t;
	char key[2] = "0";

	snprintf(cid, sizeof(cid), "%08" PRIx64 "%08" PRIx64 "-%" PRIu64 "@192.0.2.10",
		rnd(g) >> 32, rnd(g) >> 32, n);
	if (!chance(g, 30)) {
		/* repeat callers: a few numbers call often (the busiest some 200 times in a
		 * million calls), most once or twice */
		double u = (double)(rnd(g) >> 11) / (double)(1ULL << 53);
		snprintf(ani_buf, sizeof(ani_buf), "1555%07u",
			(unsigned)(g->ani_pool * u * sqrt(u)));
		ani = ani_buf;
	}
	dnis = chance(g, 150) ? "18005550101" : "18005550100";
	put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CALL_START, .ani = ani, .dnis = dnis,
		.generation = 1, .detail = dnis[10] == '1' ? "vi" : "en"));
	for (int level = 0; dept == NULL; level++) {
		char prompt[32];
		snprintf(prompt, sizeof(prompt), "%s/greeting", menu);
		t += 100;
		put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_MENU_ENTER, .menu = menu,
			.prompt = prompt));
		t += 2000 + (int64_t)below(g, 6000);
		if (chance(g, 60)) {
			t += 5000;
			put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_TIMEOUT, .menu = menu,
				.detail = "timeout 1 of 3"));
		}
		for (int f = 0; f < 2 && chance(g, 50); f++) {
			put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_INVALID, .menu = menu,
				.key = "9", .detail = fails[f]));
			t += 1500;
		}
		if (chance(g, level == 0 ? 110 : 60)) {
			t += (int64_t)below(g, 10000);
			put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_DROP, .menu = menu,
				.prompt = prompt, .duration_ms = t - start));
			put(g, &EV(.ts_ms = t + 1, .call_id = cid, .event = JEV_CALL_END,
				.result = "dropped", .reason = "caller hung up in menu",
				.duration_ms = t - start));
			return;
		}
		unsigned k = (unsigned)below(g, 100);
		const char *here = menu;
		if (level == 0) {
			key[0] = k < 30 ? '1' : k < 55 ? '2' : k < 85 ? '3' : k < 95 ? '4' : '0';
			menu = key[0] == '1' ? "sales" : key[0] == '3' ? "support" : menu;
			dept = key[0] == '2' ? "billing" : key[0] == '4' ? "orders" :
				key[0] == '0' ? "operator" : NULL;
		} else if (strcmp(menu, "sales") == 0) {
			key[0] = k < 70 ? '1' : '2';
			dept = key[0] == '1' ? "sales" : "orders";
		} else {
			key[0] = k < 60 ? '1' : '2';
			dept = key[0] == '1' ? "support_internet" : "support_phone";
		}
		put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_KEY, .menu = here, .key = key));
	}
	snprintf(reason, sizeof(reason), "key %s in menu %s", key, menu);
	t += 50;
	if (chance(g, 50) && strcmp(dept, "operator") != 0) {
		/* after hours for this department: offer a call back */
		put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_ROUTE, .menu = menu,
			.dept = dept, .reason = reason, .result = "closed"));
		char offer[64];
		snprintf(offer, sizeof(offer), "%s is closed", dept);
		put(g, &EV(.ts_ms = t + 10, .call_id = cid, .event = JEV_CB_OFFER,
			.menu = "callback", .dept = dept, .result = "offered", .reason = offer));
		t += 4000 + (int64_t)below(g, 4000);
		if (ani != NULL && chance(g, 650)) {
			put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CB_OFFER,
				.menu = "callback", .dept = dept, .result = "accepted", .reason = "key 1"));
			promise(g, t + 100, cid, ani, dept);
			t += 6000;
			put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CALL_END, .result = "ended",
				.reason = "callback promised", .duration_ms = t - start));
			return;
		}
		put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CB_OFFER, .menu = "callback",
			.dept = dept, .result = "declined", .reason = "key 2"));
		snprintf(reason, sizeof(reason), "fallback of %s (closed)", dept);
		dept = "operator";
		put(g, &EV(.ts_ms = t + 10, .call_id = cid, .event = JEV_ROUTE, .menu = menu,
			.dept = dept, .reason = reason));
	} else {
		put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_ROUTE, .menu = menu,
			.dept = dept, .reason = reason));
	}
	result = "transferred";
	if (!transfer(g, &t, cid, dept, 850)) {
		snprintf(reason, sizeof(reason), "fallback of %s (unavailable)", dept);
		put(g, &EV(.ts_ms = t + 10, .call_id = cid, .event = JEV_ROUTE, .menu = menu,
			.dept = "operator", .reason = reason));
		t += 20;
		if (!transfer(g, &t, cid, "operator", 950))
			result = "ended";
	}
	t += 200;
	put(g, &EV(.ts_ms = t, .call_id = cid, .event = JEV_CALL_END, .result = result,
		.reason = *result == 't' ? "REFER accepted" : "nowhere left: goodbye",
		.duration_ms = t - start));
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct gen g = {.next_promise = 1};
	uint64_t calls = 1000000, seed = 7;
	unsigned days = 30;
	char *idx_sql[32];
	size_t nidx = 0;
	sqlite3_stmt *st;
	int64_t *starts;
	double t0 = now_s(), t1;
	int total_w = 0, c;

	g.end_ms = (int64_t)time(NULL) / 86400 * DAY_MS; /* today, 00:00 UTC */
	while ((c = getopt(argc, argv, "n:d:s:e:")) != -1) {
		switch (c) {
		case 'n': calls = strtoull(optarg, NULL, 10); break;
		case 'd': days = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'e': g.end_ms = strtoll(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || calls == 0 || days == 0) {
usage:
		fprintf(stderr, "usage: gen_journal [-n CALLS] [-d DAYS] [-s SEED] [-e END_MS] "
			"FILE\n");
		return 2;
	}
	g.rng = seed;
	g.ani_pool = (unsigned)(calls / 3 + 1);
	if (unlink(argv[optind]) != 0 && errno != ENOENT) {
		perror(argv[optind]);
		return 1;
	}
	if (sqlite3_open(argv[optind], &g.db) != SQLITE_OK)
		die(&g, argv[optind]);
	exec(&g, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576; "
		"PRAGMA temp_store=MEMORY; PRAGMA threads=2");
	exec(&g, JOURNAL_SCHEMA_SQL);
	/* the schema's indexes, built once at the end: far faster than row by row */
	if (sqlite3_prepare_v2(g.db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
	    "AND sql IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
		die(&g, "indexes");
	while (sqlite3_step(st) == SQLITE_ROW && nidx < 32) {
		char drop[128];
		idx_sql[nidx++] = strdup((const char *)sqlite3_column_text(st, 1));
		snprintf(drop, sizeof(drop), "DROP INDEX %s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		exec(&g, drop);
		if (sqlite3_prepare_v2(g.db, "SELECT name, sql FROM sqlite_master WHERE type = "
		    "'index' AND sql IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
			die(&g, "indexes");
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(g.db, "INSERT INTO events (ts_ms, call_id, event, menu, key, "
	    "dept, target, result, reason, ani, dnis, prompt, detail, generation, duration_ms, "
	    "callback_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?16)", -1, &g.ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g.db, "INSERT INTO callbacks (id, number, ani, dept, lang, call_id, "
	    "state, created_ms, updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts, "
	    "last_result, reason, kept_call_id, closed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)", -1, &g.cb, NULL) != SQLITE_OK)
		die(&g, "prepare");

	/* start times first, in order, so row ids grow with time as in a real journal */
	starts = malloc(calls * sizeof(*starts));
	if (starts == NULL) {
		fprintf(stderr, "gen_journal: out of memory\n");
		return 1;
	}
	for (int h = 0; h < 24; h++)
		total_w += hour_weight[h];
	for (uint64_t i = 0; i < calls; i++) {
		int w = (int)below(&g, (uint64_t)total_w), h = 0;
		while (w >= hour_weight[h])
			w -= hour_weight[h++];
		starts[i] = g.end_ms - (int64_t)days * DAY_MS + (int64_t)below(&g, days) * DAY_MS +
			h * HOUR_MS + (int64_t)below(&g, HOUR_MS - 10 * MIN_MS);
	}
	qsort(starts, calls, sizeof(*starts), cmp_i64);
	exec(&g, "BEGIN");
	for (uint64_t i = 0; i < calls; i++)
		call(&g, i, starts[i]);
	exec(&g, "COMMIT");
	free(starts);
	t1 = now_s();
	for (size_t i = 0; i < nidx; i++) {
		exec(&g, idx_sql[i]);
		free(idx_sql[i]);
	}
	sqlite3_finalize(g.ev);
	sqlite3_finalize(g.cb);
	/* as the daemon leaves it */
	exec(&g, "PRAGMA journal_mode=WAL");
	sqlite3_close(g.db);
	printf("%" PRIu64 " calls, %" PRIu64 " events, %" PRIu64 " promises over %u days to %s: "
		"%.1f s (rows %.1f s, %zu indexes %.1f s)\n", calls, g.events, g.promises, days,
		argv[optind], now_s() - t0, t1 - t0, nidx, now_s() - t1);
	return 0;
}
