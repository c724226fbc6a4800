/* The figures of the transfers, drops and report kinds (journal_stats.h, report.h): a day of
 * seven calls written by the real journal writer, with promises added through SQLite as the
 * daemon leaves them; every figure, the lists, the filters, and the three formats agreeing. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "ivr/journal.h"
#include "ivr/journal_query.h"
#include "ivr/journal_stats.h"
#include "ivr/json.h"
#include "ivr/report.h"

#define T0 INT64_C(1714557600000) /* 2024-05-01 10:00:00 UTC, an hour's start */
#define SEC INT64_C(1000)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static char dir[512], path[600];
static struct journal *jw;
static int64_t call_t0;
static const char *call_now;

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* One event of the current call, s seconds after its start. */
static void
ev(int64_t s, const char *event, struct journal_event e)
{
	e.ts_ms = call_t0 + s * SEC;
	e.call_id = call_now;
	e.event = event;
	if (e.duration_ms == 0 && strcmp(event, JEV_DROP) != 0)
		e.duration_ms = -1;
	CHECK_INT(journal_append(jw, &e), 0);
}

static void
call(const char *id, int64_t t, const char *ani)
{
	call_now = id;
	call_t0 = t;
	ev(0, JEV_CALL_START, (struct journal_event){.ani = ani, .dnis = "800"});
}

static void
enter(int64_t s, const char *menu)
{
	char prompt[64];

	snprintf(prompt, sizeof(prompt), "%s_greeting", menu);
	ev(s, JEV_MENU_ENTER, (struct journal_event){.menu = menu, .prompt = prompt});
}

static void
key(int64_t s, const char *menu, const char *k)
{
	ev(s, JEV_KEY, (struct journal_event){.menu = menu, .key = k});
}

static void
end(int64_t s)
{
	ev(s, JEV_CALL_END, (struct journal_event){.reason = "caller hung up"});
}

static void
exec_sql(const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
	}
	sqlite3_free(err);
	sqlite3_close(db);
}

static void
promise(char *buf, size_t size, size_t *off, int id, const char *state, const char *number,
	int64_t created, int64_t due, int64_t closed)
{
	char cl[32];

	snprintf(cl, sizeof(cl), closed ? "%lld" : "NULL", (long long)closed);
	*off += (size_t)snprintf(buf + *off, size - *off, "INSERT INTO callbacks (id, number, ani, "
		"dept, lang, call_id, state, created_ms, updated_ms, due_ms, expires_ms, next_ms, "
		"attempts, max_attempts, closed_ms) VALUES (%d, '%s', '%s', 'billing', 'en', "
		"'p-%d', '%s', %lld, %lld, %lld, %lld, %lld, 1, 3, %s);", id, number, number, id,
		state, (long long)created, (long long)created, (long long)due,
		(long long)(due + DAY), (long long)due, cl);
}

/* The day (see each call), then one call the next day. */
static void
setup(void)
{
	struct event_base *base = event_base_new();
	char sql[4096];
	size_t off = 0;

	/* the figures' hours are local: T0 starts one in UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(dir, sizeof(dir), "%s/ivr-stats-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
		"/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT(journal_open(&jw, base, path), 0);

	/* c1: 1 in main to billing, transferred */
	call("c1", T0, "15550001");
	enter(1, "main");
	key(5, "main", "1");
	ev(5, JEV_ROUTE, (struct journal_event){.menu = "main", .dept = "billing",
		.reason = "key 1 in menu main"});
	ev(6, JEV_TRANSFER_START, (struct journal_event){.dept = "billing", .target = "sip:b1"});
	ev(8, JEV_TRANSFER_RESULT, (struct journal_event){.dept = "billing", .target = "sip:b1",
		.result = "ok"});
	end(60);

	/* c2: a timeout, 2 to sales, * back, 0 to the operator: the first target busy */
	call("c2", T0 + 600 * SEC, "15550002");
	enter(1, "main");
	ev(11, JEV_TIMEOUT, (struct journal_event){.menu = "main", .detail = "timeout 1 of 3"});
	key(15, "main", "2");
	enter(15, "sales");
	ev(17, JEV_HOLD, (struct journal_event){.menu = "sales"});
	ev(18, JEV_RESUME, (struct journal_event){.menu = "sales"});
	key(20, "sales", "*");
	enter(20, "main");
	key(24, "main", "5");
	ev(24, JEV_KEY, (struct journal_event){.menu = "main", .key = "9",
		.detail = "ignored: the prompt playing cannot be interrupted"});
	key(25, "main", "0");
	ev(25, JEV_ROUTE, (struct journal_event){.menu = "main", .dept = "reception",
		.reason = "key 0 (operator) in menu main"});
	ev(26, JEV_TRANSFER_START, (struct journal_event){.dept = "reception", .target = "sip:r1"});
	ev(28, JEV_TRANSFER_RESULT, (struct journal_event){.dept = "reception",
		.target = "sip:r1", .result = "failed", .reason = "sip 486"});
	ev(28, JEV_TRANSFER_START, (struct journal_event){.dept = "reception", .target = "sip:r2"});
	ev(30, JEV_TRANSFER_RESULT, (struct journal_event){.dept = "reception",
		.target = "sip:r2", .result = "ok"});
	end(90);

	/* c3: c1's caller again: an invalid key, then hangs up in main after 30 s */
	call("c3", T0 + 1200 * SEC, "15550001");
	enter(1, "main");
	ev(10, JEV_INVALID, (struct journal_event){.menu = "main", .key = "7",
		.detail = "failure 1 of 3"});
	ev(31, JEV_DROP, (struct journal_event){.menu = "main", .duration_ms = 40000,
		.prompt = "main_invalid"});
	end(31);

	/* c4: sales, # repeats, 3 for French, 1 to billing: closed, a callback offered */
	call("c4", T0 + 3 * HOUR, "15550003");
	enter(1, "main");
	key(3, "main", "2");
	enter(3, "sales");
	key(5, "sales", "#");
	key(7, "sales", "3");
	ev(7, JEV_LANGUAGE, (struct journal_event){.menu = "sales", .detail = "fr"});
	key(9, "sales", "1");
	ev(9, JEV_ROUTE, (struct journal_event){.menu = "sales", .dept = "billing",
		.reason = "key 1 in menu sales"});
	ev(9, JEV_ROUTE, (struct journal_event){.menu = "sales", .dept = "billing",
		.result = "closed", .reason = "key 1 in menu sales"});
	ev(10, JEV_CB_OFFER, (struct journal_event){.menu = "callback", .dept = "billing",
		.result = "offered", .reason = "billing is closed"});
	ev(14, JEV_KEY, (struct journal_event){.menu = "callback", .key = "1"});
	ev(14, JEV_CB_OFFER, (struct journal_event){.menu = "callback", .dept = "billing",
		.result = "accepted"});
	end(30);

	/* c5: c2's caller again, hangs up in sales 10 s after entering it */
	call("c5", T0 + 3 * HOUR + 600 * SEC, "15550002");
	enter(1, "main");
	key(2, "main", "2");
	enter(2, "sales");
	ev(12, JEV_DROP, (struct journal_event){.menu = "sales", .duration_ms = 12000,
		.prompt = "sales_greeting"});
	end(12);

	/* c7: blocked by a caller rule */
	call("c7", T0 + 4 * HOUR, "15550005");
	ev(0, JEV_CALL_END, (struct journal_event){.result = "blocked"});

	/* a dial-back's rows: no call.start, not a call of the day */
	call_now = "d1";
	ev(100, JEV_TRANSFER_START, (struct journal_event){.dept = "billing"});

	/* c6: the next day, to billing, failed */
	call("c6", T0 + 25 * HOUR, "15550004");
	enter(1, "main");
	key(2, "main", "1");
	ev(2, JEV_ROUTE, (struct journal_event){.menu = "main", .dept = "billing",
		.reason = "key 1 in menu main"});
	ev(3, JEV_TRANSFER_START, (struct journal_event){.dept = "billing", .target = "sip:b1"});
	ev(5, JEV_TRANSFER_RESULT, (struct journal_event){.dept = "billing", .target = "sip:b1",
		.result = "failed", .reason = "sip 503"});
	end(20);

	journal_close(jw);
	event_base_free(base);

	off += (size_t)snprintf(sql + off, sizeof(sql) - off, "BEGIN;");
	promise(sql, sizeof(sql), &off, 1, "kept", "15550003", T0 + 3 * HOUR, T0 + 5 * HOUR,
		T0 + 4 * HOUR);
	promise(sql, sizeof(sql), &off, 2, "kept", "15550003", T0 + 3 * HOUR, T0 + 5 * HOUR,
		T0 + 6 * HOUR);
	promise(sql, sizeof(sql), &off, 3, "broken", "15550006", T0 + HOUR, T0 + 2 * HOUR,
		T0 + 8 * HOUR);
	promise(sql, sizeof(sql), &off, 4, "open", "15550007", T0 + 5 * HOUR, T0 + 30 * HOUR, 0);
	promise(sql, sizeof(sql), &off, 5, "cancelled", "15550008", T0 + 5 * HOUR,
		T0 + 30 * HOUR, T0 + 6 * HOUR);
	promise(sql, sizeof(sql), &off, 6, "open", "15550009", T0 + 30 * HOUR, T0 + 40 * HOUR, 0);
	snprintf(sql + off, sizeof(sql) - off, "COMMIT;");
	exec_sql(sql);
}

static void
teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct journal_query *
open_q(void)
{
	struct journal_query *q = NULL;
	char err[256];

	CHECK_INT(journal_query_open(&q, path, err, sizeof(err)), 0);
	return q;
}

/* report_write into a string (malloc'ed). */
static char *
run(struct journal_query *q, enum report_kind kind, enum output_format fmt,
	void (*adjust)(struct report_args *))
{
	struct report_args a;
	char err[256] = "", *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	report_args_init(&a, kind, T0 + 2 * DAY);
	a.since_ms = T0;
	a.until_ms = T0 + DAY;
	if (adjust != NULL)
		adjust(&a);
	CHECK_INT(report_write(fp, fmt, q, &a, err, sizeof(err)), 0);
	if (err[0] != '\0')
		fprintf(stderr, "%s\n", err);
	fclose(fp);
	return out;
}

static struct json *
parse(const char *s)
{
	struct json *j = NULL;

	CHECK_INT(json_parse(&j, s, strlen(s)), 0);
	return j;
}

static const struct json *
elem(const struct json *arr, size_t i)
{
	const struct json *e = arr != NULL ? arr->child : NULL;

	while (e != NULL && i-- > 0)
		e = e->next;
	return e;
}

static size_t
count(const struct json *arr)
{
	size_t n = 0;

	for (const struct json *e = arr != NULL ? arr->child : NULL; e != NULL; e = e->next)
		n++;
	return n;
}

static double
num(const struct json *o, const char *k)
{
	const struct json *v = json_get(o, k);

	return v != NULL && v->type == JSON_NUMBER ? v->num : -999;
}

static bool
is_null(const struct json *o, const char *k)
{
	const struct json *v = json_get(o, k);

	return v != NULL && v->type == JSON_NULL;
}

/* A JSON scalar as CSV shows it. */
static void
scalar(char *buf, size_t size, const struct json *v)
{
	if (v->type == JSON_NULL)
		buf[0] = '\0';
	else if (v->type == JSON_STRING)
		snprintf(buf, size, "%s", v->str);
	else if (v->type == JSON_NUMBER && v->num == (double)(int64_t)v->num)
		snprintf(buf, size, "%lld", (long long)v->num);
	else if (v->type == JSON_NUMBER)
		snprintf(buf, size, "%.4g", v->num);
	else
		snprintf(buf, size, "%s", v->type == JSON_TRUE ? "true" : "false");
}

/* Every JSON row, as CSV (no quoting needed here), is the CSV's line. */
static void
csv_agrees(const char *json, const char *csv, const char *nested_key)
{
	struct json *j = parse(json);
	char line[1024], cell[256];
	const char *p = strchr(csv, '\n');
	size_t rows = 0;

	if (j == NULL || p == NULL) {
		CHECK(0);
		json_free(j);
		return;
	}
	p++;
	for (const struct json *o = j->child; o != NULL; o = o->next, rows++) {
		size_t off = 0;
		for (const struct json *v = o->child; v != NULL; v = v->next) {
			if (nested_key != NULL && strcmp(v->key, nested_key) == 0) {
				/* "key>to count, ..." */
				off += (size_t)snprintf(line + off, sizeof(line) - off, "%s\"",
					v == o->child ? "" : ",");
				for (const struct json *l = v->child; l != NULL; l = l->next)
					off += (size_t)snprintf(line + off, sizeof(line) - off,
						"%s%s>%s %lld", l == v->child ? "" : ", ",
						json_get_str(l, "key", ""),
						json_get_str(l, "to", ""),
						(long long)json_get_int(l, "count", 0));
				off += (size_t)snprintf(line + off, sizeof(line) - off, "\"");
				continue;
			}
			scalar(cell, sizeof(cell), v);
			off += (size_t)snprintf(line + off, sizeof(line) - off,
				strchr(cell, ',') ? "%s\"%s\"" : "%s%s", v == o->child ? "" : ",",
				cell);
		}
		snprintf(line + off, sizeof(line) - off, "\r\n");
		if (strncmp(p, line, strlen(line)) != 0) {
			fprintf(stderr, "json row: %s csv row:  %.*s\n", line,
				(int)strcspn(p, "\n") + 1, p);
			CHECK(0);
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	CHECK(p != NULL && *p == '\0');
	json_free(j);
}

static bool
has_line(const char *text, const char *line)
{
	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, line, strlen(line)) == 0 && (p[strlen(line)] == '\n' ||
		    p[strlen(line)] == '\r'))
			return true;
	return false;
}

/* Words of a table line, spaces squeezed. */
static bool
has_words(const char *text, const char *words)
{
	char *copy = strdup(text), *save = NULL, *l;
	bool found = false;

	for (l = strtok_r(copy, "\n", &save); l != NULL && !found;
	     l = strtok_r(NULL, "\n", &save)) {
		char squeezed[1024];
		size_t n = 0;
		for (const char *s = l; *s != '\0' && n + 1 < sizeof(squeezed); s++)
			if (*s != ' ' || (n > 0 && squeezed[n - 1] != ' '))
				squeezed[n++] = *s;
		while (n > 0 && squeezed[n - 1] == ' ')
			n--;
		squeezed[n] = '\0';
		found = strcmp(squeezed, words) == 0;
	}
	free(copy);
	return found;
}

static void
test_transfers(void)
{
	struct journal_query *q;
	struct json *j;
	char *json, *csv, *table;
	const struct json *r;

	setup();
	q = open_q();
	json = run(q, REPORT_TRANSFERS, OUTPUT_JSON, NULL);
	csv = run(q, REPORT_TRANSFERS, OUTPUT_CSV, NULL);
	table = run(q, REPORT_TRANSFERS, OUTPUT_TABLE, NULL);
	j = parse(json);
	CHECK_INT(count(j), 2);
	/* busiest first */
	r = elem(j, 0);
	CHECK_STR(json_get_str(r, "dept", ""), "reception");
	CHECK(num(r, "routed") == 1 && num(r, "transfers") == 2 && num(r, "ok") == 1);
	CHECK(num(r, "failed") == 1 && num(r, "closed") == 0 && num(r, "busy") == 0);
	CHECK(num(r, "refused") == 0 && num(r, "success_rate") == 0.5);
	CHECK(num(r, "first_ok") == 0 && num(r, "callbacks_offered") == 0);
	r = elem(j, 1);
	CHECK_STR(json_get_str(r, "dept", ""), "billing");
	/* c4's route to billing found it closed: not routed */
	CHECK(num(r, "routed") == 1 && num(r, "transfers") == 1 && num(r, "ok") == 1);
	CHECK(num(r, "failed") == 0 && num(r, "closed") == 1 && num(r, "success_rate") == 1);
	CHECK(num(r, "first_ok") == 1 && num(r, "callbacks_offered") == 1);
	CHECK(has_line(csv, "dept,routed,transfers,ok,failed,closed,busy,refused,success_rate,"
		"first_ok,callbacks_offered"));
	CHECK(has_line(csv, "billing,1,1,1,0,1,0,0,1,1,1"));
	csv_agrees(json, csv, NULL);
	CHECK(has_words(table, "reception 1 2 1 1 0 0 0 50.0% 0 0"));
	CHECK(has_words(table, "billing 1 1 1 0 1 0 0 100.0% 1 1"));
	json_free(j);
	free(json);
	free(csv);
	free(table);
	journal_query_close(q);
	teardown();
}

static void
all_time(struct report_args *a)
{
	a->since_ms = a->until_ms = 0;
}

static void
dept_billing(struct report_args *a)
{
	snprintf(a->dept, sizeof(a->dept), "billing");
}

static void
list(struct report_args *a)
{
	a->list = true;
}

static void
list_masked_2(struct report_args *a)
{
	a->list = true;
	a->mask = true;
	a->limit = 2;
}

static void
test_transfers_filters_and_list(void)
{
	struct journal_query *q;
	struct json *j;
	char *json, *csv;
	const struct json *r;

	setup();
	q = open_q();
	/* every day: c6 adds a failed transfer to billing; billing now leads on routed */
	json = run(q, REPORT_TRANSFERS, OUTPUT_JSON, all_time);
	j = parse(json);
	r = elem(j, 0);
	CHECK_STR(json_get_str(r, "dept", ""), "billing");
	CHECK(num(r, "routed") == 2 && num(r, "transfers") == 2 && num(r, "failed") == 1);
	CHECK(num(r, "success_rate") == 0.5);
	json_free(j);
	free(json);

	json = run(q, REPORT_TRANSFERS, OUTPUT_JSON, dept_billing);
	j = parse(json);
	CHECK_INT(count(j), 1);
	CHECK_STR(json_get_str(elem(j, 0), "dept", ""), "billing");
	json_free(j);
	free(json);

	json = run(q, REPORT_TRANSFERS, OUTPUT_JSON, list);
	csv = run(q, REPORT_TRANSFERS, OUTPUT_CSV, list);
	j = parse(json);
	CHECK_INT(count(j), 3);
	r = elem(j, 0); /* newest first */
	CHECK_STR(json_get_str(r, "call_id", ""), "c2");
	CHECK(num(r, "ts_ms") == (double)(T0 + 628 * SEC));
	CHECK_STR(json_get_str(r, "target", ""), "sip:r2");
	CHECK_STR(json_get_str(r, "result", ""), "ok");
	CHECK_STR(json_get_str(r, "menu", ""), "main");
	CHECK_STR(json_get_str(r, "reason", ""), "key 0 (operator) in menu main");
	CHECK(is_null(r, "failure"));
	CHECK(strstr(json_get_str(r, "next", ""), "reception") != NULL);
	r = elem(j, 1);
	CHECK_STR(json_get_str(r, "target", ""), "sip:r1");
	CHECK_STR(json_get_str(r, "result", ""), "failed");
	CHECK_STR(json_get_str(r, "failure", ""), "sip 486");
	r = elem(j, 2);
	CHECK_STR(json_get_str(r, "call_id", ""), "c1");
	CHECK_STR(json_get_str(r, "ani", ""), "15550001");
	CHECK_STR(json_get_str(r, "dept", ""), "billing");
	CHECK_STR(json_get_str(r, "reason", ""), "key 1 in menu main");
	csv_agrees(json, csv, NULL);
	json_free(j);
	free(json);
	free(csv);

	json = run(q, REPORT_TRANSFERS, OUTPUT_JSON, list_masked_2);
	j = parse(json);
	CHECK_INT(count(j), 2);
	CHECK_STR(json_get_str(elem(j, 0), "ani", ""), "****0002");
	json_free(j);
	free(json);
	journal_query_close(q);
	teardown();
}

static void
check_left(const struct json *m, size_t i, const char *k, const char *to, int n)
{
	const struct json *l = elem(json_get(m, "left"), i);

	CHECK_STR(json_get_str(l, "key", ""), k);
	CHECK_STR(json_get_str(l, "to", ""), to);
	CHECK_INT(json_get_int(l, "count", -1), n);
}

static void
test_drops(void)
{
	struct journal_query *q;
	struct json *j;
	char *json, *csv, *table;
	const struct json *m;

	setup();
	q = open_q();
	json = run(q, REPORT_DROPS, OUTPUT_JSON, NULL);
	csv = run(q, REPORT_DROPS, OUTPUT_CSV, NULL);
	table = run(q, REPORT_DROPS, OUTPUT_TABLE, NULL);
	j = parse(json);
	CHECK_INT(count(j), 2);
	m = elem(j, 0);
	CHECK_STR(json_get_str(m, "menu", ""), "main");
	CHECK(num(m, "entered") == 6 && num(m, "calls") == 5 && num(m, "invalid") == 1);
	CHECK(num(m, "timeouts") == 1 && num(m, "hung_up") == 1 && num(m, "hangup_rate") == 0.2);
	CHECK(num(m, "median_hangup_ms") == 30000);
	/* 5 (invalid) and 9 (ignored) led nowhere */
	CHECK_INT(count(json_get(m, "left")), 4);
	check_left(m, 0, "2", "menu:sales", 3);
	check_left(m, 1, "0", "operator", 1);
	check_left(m, 2, "1", "dept:billing", 1);
	check_left(m, 3, "5", "none", 1);
	m = elem(j, 1);
	CHECK_STR(json_get_str(m, "menu", ""), "sales");
	CHECK(num(m, "entered") == 3 && num(m, "calls") == 3 && num(m, "invalid") == 0);
	CHECK(num(m, "hung_up") == 1 && num(m, "median_hangup_ms") == 10000);
	CHECK(num(m, "hangup_rate") == 0.3333);
	CHECK_INT(count(json_get(m, "left")), 4);
	check_left(m, 0, "#", "repeat", 1);
	check_left(m, 1, "*", "back", 1);
	check_left(m, 2, "1", "dept:billing", 1);
	check_left(m, 3, "3", "language", 1);
	csv_agrees(json, csv, "left");
	CHECK(has_line(csv, "main,6,5,\"2>menu:sales 3, 0>operator 1, 1>dept:billing 1, 5>none 1\","
		"1,1,1,0.2,30000"));
	CHECK(has_words(table, "main 6 5 2>menu:sales 3, 0>operator 1, 1>dept:billing 1, 5>none "
		"1 1 1 1 20.0% 30.0 s"));
	json_free(j);
	free(json);
	free(csv);
	free(table);
	journal_query_close(q);
	teardown();
}

static void
number_1(struct report_args *a)
{
	snprintf(a->number, sizeof(a->number), "15550001");
}

static void
test_drops_filters_and_list(void)
{
	struct journal_query *q;
	struct json *j;
	char *json, *csv;
	const struct json *m;

	setup();
	q = open_q();
	/* calls routed to billing: c1 and c4 (closed) */
	json = run(q, REPORT_DROPS, OUTPUT_JSON, dept_billing);
	j = parse(json);
	m = elem(j, 0);
	CHECK_STR(json_get_str(m, "menu", ""), "main");
	CHECK(num(m, "entered") == 2 && num(m, "hung_up") == 0 && num(m, "hangup_rate") == 0);
	CHECK(is_null(m, "median_hangup_ms"));
	json_free(j);
	free(json);

	json = run(q, REPORT_DROPS, OUTPUT_JSON, number_1);
	j = parse(json);
	CHECK_INT(count(j), 1);
	CHECK(num(elem(j, 0), "calls") == 2 && num(elem(j, 0), "hung_up") == 1);
	json_free(j);
	free(json);

	json = run(q, REPORT_DROPS, OUTPUT_JSON, list);
	csv = run(q, REPORT_DROPS, OUTPUT_CSV, list);
	j = parse(json);
	CHECK_INT(count(j), 2);
	m = elem(j, 0);
	CHECK_STR(json_get_str(m, "call_id", ""), "c5");
	CHECK_STR(json_get_str(m, "menu", ""), "sales");
	CHECK_STR(json_get_str(m, "prompt", ""), "sales_greeting");
	CHECK(num(m, "in_menu_ms") == 10000 && num(m, "duration_ms") == 12000);
	CHECK_STR(json_get_str(m, "path", ""), "main > sales");
	m = elem(j, 1);
	CHECK_STR(json_get_str(m, "call_id", ""), "c3");
	CHECK(num(m, "ts_ms") == (double)(T0 + 1231 * SEC));
	CHECK(num(m, "in_menu_ms") == 30000 && num(m, "duration_ms") == 40000);
	CHECK_STR(json_get_str(m, "path", ""), "main");
	csv_agrees(json, csv, NULL);
	json_free(j);
	free(json);
	free(csv);
	journal_query_close(q);
	teardown();
}

/* Every scalar of the report's JSON, named by its path, is a "figure,value" row of the CSV;
 * arrays are named by their elements' first member. */
static void
flatten(const struct json *o, const char *prefix, const char *csv, size_t *n)
{
	char p[256], row[640], cell[128];

	for (const struct json *v = o->child; v != NULL; v = v->next) {
		snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", v->key);
		if (v->type == JSON_OBJECT) {
			flatten(v, p, csv, n);
		} else if (v->type == JSON_ARRAY) {
			for (const struct json *e = v->child; e != NULL; e = e->next) {
				char q[400];
				scalar(cell, sizeof(cell), e->child);
				snprintf(q, sizeof(q), "%s.%s", p, cell);
				/* the naming member is in the path, not a row */
				struct json copy = *e;
				copy.child = e->child->next;
				flatten(&copy, q, csv, n);
			}
		} else {
			scalar(cell, sizeof(cell), v);
			snprintf(row, sizeof(row), "%s,%s", p, cell);
			if (!has_line(csv, row)) {
				fprintf(stderr, "not in the CSV: %s\n", row);
				CHECK(0);
			}
			(*n)++;
		}
	}
}

static void
test_report(void)
{
	struct journal_query *q;
	struct json *j;
	char *json, *csv, *table;
	const struct json *p, *a;
	size_t n = 0, lines = 0;

	setup();
	q = open_q();
	json = run(q, REPORT_SUMMARY, OUTPUT_JSON, NULL);
	csv = run(q, REPORT_SUMMARY, OUTPUT_CSV, NULL);
	table = run(q, REPORT_SUMMARY, OUTPUT_TABLE, NULL);
	j = parse(json);
	CHECK(num(j, "since_ms") == (double)T0 && num(j, "until_ms") == (double)(T0 + DAY));
	CHECK(num(j, "calls") == 6 && num(j, "routed_calls") == 2);
	CHECK(num(j, "transferred_calls") == 2 && num(j, "transfers") == 3);
	CHECK(num(j, "transfers_per_routed_call") == 1.5);
	CHECK(num(j, "first_transfer_success_rate") == 0.5);
	CHECK(num(j, "dropped_calls") == 2);
	CHECK(num(j, "drop_rate") == 0.3333);
	a = json_get(j, "drops_by_menu");
	CHECK_INT(count(a), 2);
	CHECK_STR(json_get_str(elem(a, 0), "menu", ""), "main");
	CHECK(num(elem(a, 0), "calls") == 5 && num(elem(a, 0), "hung_up") == 1);
	CHECK(num(elem(a, 0), "rate") == 0.2);
	CHECK_STR(json_get_str(elem(a, 1), "menu", ""), "sales");
	CHECK(num(elem(a, 1), "calls") == 3 && num(elem(a, 1), "hung_up") == 1);
	p = json_get(j, "promises");
	CHECK(num(p, "made") == 5 && num(p, "kept") == 2 && num(p, "kept_on_time") == 1);
	CHECK(num(p, "kept_late") == 1 && num(p, "broken") == 1 && num(p, "cancelled") == 1);
	CHECK(num(p, "open") == 1);
	CHECK(num(p, "on_time_rate") == 0.3333);
	CHECK(num(j, "callers") == 4 && num(j, "repeat_callers") == 2);
	CHECK(num(j, "repeat_calls") == 2);
	a = json_get(j, "top_callers");
	CHECK_INT(count(a), 2);
	CHECK_STR(json_get_str(elem(a, 0), "number", ""), "15550001");
	CHECK(num(elem(a, 0), "calls") == 2 && num(elem(a, 0), "transfers") == 1);
	CHECK(num(elem(a, 0), "drops") == 1);
	CHECK_STR(json_get_str(elem(a, 1), "number", ""), "15550002");
	CHECK(num(elem(a, 1), "calls") == 2 && num(elem(a, 1), "transfers") == 2);
	CHECK(num(elem(a, 1), "drops") == 1);
	a = json_get(j, "hours");
	CHECK_INT(count(a), 3);
	CHECK(num(elem(a, 0), "hour_ms") == (double)T0 && num(elem(a, 0), "calls") == 3);
	CHECK(num(elem(a, 0), "transferred") == 2 && num(elem(a, 0), "dropped") == 1);
	CHECK(num(elem(a, 1), "hour_ms") == (double)(T0 + 3 * HOUR));
	CHECK(num(elem(a, 1), "calls") == 2 && num(elem(a, 1), "dropped") == 1);
	CHECK(num(elem(a, 2), "hour_ms") == (double)(T0 + 4 * HOUR));
	a = json_get(j, "busiest_hours");
	CHECK_INT(count(a), 3);
	CHECK(num(elem(a, 0), "hour_ms") == (double)T0 && num(elem(a, 0), "calls") == 3);
	CHECK(num(elem(a, 1), "hour_ms") == (double)(T0 + 3 * HOUR));
	CHECK(num(elem(a, 2), "hour_ms") == (double)(T0 + 4 * HOUR));

	flatten(j, "", csv, &n);
	for (const char *s = csv; (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	CHECK_INT(lines, n + 1); /* and nothing else but the heading */
	CHECK(has_line(csv, "promises.kept,2"));
	CHECK(has_line(csv, "drops_by_menu.main.rate,0.2"));
	CHECK(has_words(table, "calls 6"));
	CHECK(has_words(table, "first transfer succeeded 50.0% (1 of 2)"));
	CHECK(has_words(table, "drop rate 33.3% (2 of 6)"));
	CHECK(has_words(table, "main 5 1 20.0%"));
	CHECK(has_words(table, "15550002 2 2 1"));
	json_free(j);
	free(json);
	free(csv);
	free(table);
	journal_query_close(q);
	teardown();
}

static void
masked_1(struct report_args *a)
{
	number_1(a);
	a->mask = true;
}

static void
nothing(struct report_args *a)
{
	a->since_ms = T0 + 10 * DAY;
	a->until_ms = T0 + 11 * DAY;
}

static void
test_report_filters(void)
{
	struct journal_query *q;
	struct json *j;
	char *json;

	setup();
	q = open_q();
	json = run(q, REPORT_SUMMARY, OUTPUT_JSON, masked_1);
	j = parse(json);
	CHECK(num(j, "calls") == 2 && num(j, "dropped_calls") == 1 && num(j, "transfers") == 1);
	CHECK_STR(json_get_str(elem(json_get(j, "top_callers"), 0), "number", ""), "****0001");
	CHECK(num(json_get(j, "promises"), "made") == 0);
	CHECK(strstr(json, "15550001") == NULL);
	json_free(j);
	free(json);

	json = run(q, REPORT_SUMMARY, OUTPUT_JSON, dept_billing);
	j = parse(json);
	CHECK(num(j, "calls") == 2 && num(j, "routed_calls") == 1);
	CHECK(num(json_get(j, "promises"), "made") == 5);
	json_free(j);
	free(json);

	/* no calls: rates null, lists empty */
	json = run(q, REPORT_SUMMARY, OUTPUT_JSON, nothing);
	j = parse(json);
	CHECK(num(j, "calls") == 0 && is_null(j, "drop_rate"));
	CHECK(is_null(j, "transfers_per_routed_call"));
	CHECK(is_null(json_get(j, "promises"), "on_time_rate"));
	CHECK_INT(count(json_get(j, "hours")), 0);
	json_free(j);
	free(json);
	json = run(q, REPORT_DROPS, OUTPUT_JSON, nothing);
	CHECK_STR(json, "[]\n");
	free(json);
	journal_query_close(q);
	teardown();
}

/* Calls with no call.end (a daemon killed mid-call) count with what they have. */
static void
test_no_end(void)
{
	struct event_base *base = event_base_new();
	struct journal_figures *f = NULL;
	struct journal_stats_filter filt = {0};
	struct journal_query *q;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/ivr-stats-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
		"/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	CHECK_INT(journal_open(&jw, base, path), 0);
	call("x1", T0, "15550001");
	enter(1, "main");
	call("x2", T0 + SEC, "15550002");
	enter(1, "main");
	ev(5, JEV_DROP, (struct journal_event){.menu = "main", .duration_ms = 5000});
	journal_close(jw);
	event_base_free(base);
	q = open_q();
	CHECK_INT(journal_stats_read(&f, q, &filt, err, sizeof(err)), 0);
	CHECK(f != NULL && f->calls == 2 && f->dropped_calls == 1 && f->nmenus == 1);
	CHECK(f != NULL && f->nmenus == 1 && f->menus[0].calls == 2 &&
		f->menus[0].median_hangup_ms == 4000);
	journal_figures_free(f);
	journal_query_close(q);
	teardown();
}

/* Hours are the staff's local hours, also in a zone half an hour off UTC. */
static void
test_report_local_hours(void)
{
	struct journal_query *q;
	struct json *j;
	char *json;
	const struct json *a;

	setup();
	q = open_q();
	setenv("TZ", "Asia/Kolkata", 1); /* UTC+5:30: T0 is 15:30 there */
	tzset();
	json = run(q, REPORT_SUMMARY, OUTPUT_JSON, NULL);
	setenv("TZ", "UTC", 1);
	tzset();
	j = parse(json);
	a = json_get(j, "hours");
	CHECK_INT(count(a), 3);
	CHECK(num(elem(a, 0), "hour_ms") == (double)(T0 - HOUR / 2));
	CHECK(num(elem(a, 0), "calls") == 3);
	CHECK(num(elem(a, 1), "hour_ms") == (double)(T0 + 3 * HOUR - HOUR / 2));
	json_free(j);
	free(json);
	journal_query_close(q);
	teardown();
}

CHECK_MAIN({"transfers", test_transfers},
	{"transfers_filters_and_list", test_transfers_filters_and_list},
	{"drops", test_drops}, {"drops_filters_and_list", test_drops_filters_and_list},
	{"report", test_report}, {"report_filters", test_report_filters},
	{"report_local_hours", test_report_local_hours}, {"no_end", test_no_end})
