/* QA reports read from the journal: one implementation behind "ivrctl KIND" and the
 * dashboard's JSON API (GET /api/KIND?name=value...), so `ivrctl KIND --json` and the API
 * print the same document for the same arguments. Every report reads the journal through a
 * read-only journal_query and works whether or not the daemon is running.
 *
 * Arguments have one name in both places: the ivrctl long option "--NAME VALUE" and the
 * API's query parameter "NAME=VALUE" (report_arg()).
 *
 * Formats (output.h): a table for people, JSON for programs (the API), CSV for spreadsheets.
 * The figures are the same in all three. Numbers (callers, dialed numbers, numbers to call
 * back) are masked in every format and column when args.mask is set: "*******4567".
 *
 * JSON documents, one per kind (times are ms since the epoch, UTC; durations in ms; rates
 * are 0..1 with null when there is nothing to divide by):
 *
 * calls      [ {start_ms, call_id, ani, dnis, duration_ms, outcome, dept, menu_path,
 *               end_reason}, ... ] newest first. dept: only calls routed or transferred to it.
 * trace      [ {id, ts_ms, offset_ms, call_id, event, menu, key, dept, target, result, reason,
 *               ani, dnis, prompt, detail, generation, duration_ms, text}, ... ] of one call
 *               (args.call_id; or, with args.number, that number's newest call in range).
 * transfers  by department: [ {dept, routed, transfers, ok, failed, closed, busy, refused,
 *               success_rate, first_ok, callbacks_offered}, ... ] busiest first, where
 *               routed: route rows to dept that routed (the menu's route row followed by
 *               one finding dept closed or busy did not); transfers: transfer.start rows;
 *               ok/failed: transfer.result rows; closed/busy/refused: route rows with that
 *               result; success_rate: ok / (ok + failed); first_ok: calls whose first
 *               transfer went to dept and succeeded; callbacks_offered: callback.offer rows
 *               with result "offered" for dept. Counted over calls (call.start) that
 *               started in range, and the transfers of dial-backs (dial.start) made in
 *               range: an agent took those too (their ani: the number called back).
 *            with args.list: every transfer attempt, newest first: [ {ts_ms, call_id, ani,
 *               menu, reason, dept, target, result, failure, next}, ... ] where menu and
 *               reason: the route that sent it (where in the menu and why), failure: the
 *               reason of a failed transfer.result, next: the call's outcome in words
 *               (journal_call).
 * drops      the funnel per menu node, most entered first: [ {menu, entered, calls, left:
 *               [ {key, to, count}, ... ], invalid, timeouts, hung_up, hangup_rate,
 *               median_hangup_ms}, ... ] where entered: menu.enter rows; calls: distinct
 *               calls that entered; left: how calls went on from it, by key and where the
 *               key led ("menu:sales", "dept:billing", "operator", "back", "repeat",
 *               "callback:billing", "callback-cancel", "language", "none": it led
 *               nowhere), most first, key "entry" for an entry menu's value; keys
 *               ignored during a prompt that cannot be interrupted, and invalid ones, are
 *               not in it; invalid/timeouts:
 *               input.invalid/input.timeout rows; hung_up: drop rows in the menu;
 *               hangup_rate: hung_up / calls; median_hangup_ms: median time from (last)
 *               entering the menu to hanging up there.
 *               In a table "left" reads "1>dept:billing 12, 2>menu:sales 3"; in CSV one
 *               cell in that form too.
 *            with args.list: every drop, newest first: [ {ts_ms, call_id, ani, menu, prompt,
 *               in_menu_ms, duration_ms, path}, ... ].
 * callbacks  the promise ledger (journal_query_promises; args.view, escalated first for
 *               JPROM_ALL), the members of report_promise_json (report_int.h).
 * caller     { number, summary (the totals in words), totals: {calls, transfers,
 *               transfers_failed, drops, promises, kept, broken, open, cancelled},
 *               promises_recorded (false for a schema 1 journal), calls: [as calls],
 *               promises: [ {as callbacks, events: [ {id, ts_ms, event, call_id, dept,
 *               dnis, result, reason, detail, text}, ... ]} ] } for args.number; with a
 *               range or dept, the calls that started in it (routed or transferred to
 *               dept) and the promises made in it (for dept).
 * report     { since_ms, until_ms, calls, routed_calls, transferred_calls, transfers,
 *               transfers_per_routed_call, first_transfer_success_rate, dropped_calls,
 *               drop_rate, drops_by_menu: [ {menu, calls, hung_up, rate} ] (calls: calls
 *               that entered the menu, as drops' "calls"; rate: hung_up / calls),
 *               promises: {made, kept, kept_on_time, kept_late, broken, cancelled, open,
 *               on_time_rate}, callers, repeat_callers, repeat_calls,
 *               top_callers: [ {number, calls, transfers, drops} ] (callers with 2 or more
 *               calls, most first, at most 10), hours: [ {hour_ms, calls, transferred,
 *               dropped} ] (every hour of the range that had a call, in order),
 *               busiest_hours: [ {hour_ms, calls} ] (at most 3) }. routed_calls: calls with
 *               a route row that routed; first_transfer_success_rate: calls whose first
 *               transfer succeeded / calls with a transfer; dropped_calls: calls with a drop
 *               row; drop_rate: dropped_calls / calls; promises: made (created) in range,
 *               kept_on_time: kept at or before due_ms, on_time_rate: kept_on_time / (kept +
 *               broken); repeat_calls: the calls of repeat callers after their first;
 *               hour_ms: when the local hour the calls started in began. In a table: the
 *               figures in words with small tables; in CSV: rows "figure,value" with names
 *               as the JSON paths ("promises.kept", "drops_by_menu.main.rate").
 * export     every stored column of every event in range (of the calls matching dept or
 *               number, when given), oldest first, for auditors; CSV in any case but JSON
 *               when asked: [ {id, ts_ms, call_id, event, menu, key, dept, target, result,
 *               reason, ani, dnis, prompt, detail, generation, duration_ms, callback_id} ]
 *               with NULL as null (an empty CSV field). Not served by the API.
 */
#ifndef IVR_REPORT_H
#define IVR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ivr/journal_query.h"
#include "ivr/output.h"

enum report_kind {
	REPORT_CALLS,
	REPORT_TRACE,
	REPORT_TRANSFERS,
	REPORT_DROPS,
	REPORT_CALLBACKS,
	REPORT_CALLER,
	REPORT_SUMMARY, /* "report" */
	REPORT_EXPORT,
};

struct report_args {
	enum report_kind kind;
	int64_t now_ms;     /* what "today", relative times, due and overdue are measured against */
	int64_t since_ms;   /* [since_ms, until_ms); 0 = unbounded */
	int64_t until_ms;
	char dept[64];      /* "" = any */
	char number[64];    /* normalized digits, "" = any (caller: required) */
	char call_id[256];  /* trace */
	size_t limit;       /* rows; 0 = all; report_args_init sets each kind's default */
	enum journal_promise_view view; /* callbacks */
	bool list;          /* transfers, drops: one row per event instead of totals */
	bool mask;          /* numbers masked in every format */
	bool full_numbers;  /* tables of promises show whole numbers (ivrctl --full-numbers) */
};

/* The kind named "calls", "trace", ..., "report", "export"; EINVAL for others. */
int report_kind_parse(enum report_kind *k, const char *name);
const char *report_kind_name(enum report_kind k);

/* Defaults for kind at now_ms: limit 50 for the lists (calls, transfers, drops, callbacks,
 * caller's calls), 0 for trace, report and export; view JPROM_ALL; the rest unset. */
void report_args_init(struct report_args *a, enum report_kind kind, int64_t now_ms);

/* One argument by name, as ivrctl's --NAME VALUE or the API's NAME=VALUE: since, until
 * (report_parse_time; "today" and "yesterday" too), dept, number (normalized), call_id,
 * limit, view (open|due|overdue|kept|broken|cancelled|all), list, mask (flags: value
 * "", "1", "true" or "0", "false"). EINVAL with a sentence in err for a bad value, ENOENT
 * for a name the kind does not take. */
int report_arg(struct report_args *a, const char *name, const char *value, char *err,
	size_t errlen);
/* After all arguments: until later than since, caller has a number, trace a call id. */
int report_args_check(const struct report_args *a, char *err, size_t errlen);

/* Writes the report. 0; ENOENT (with err: no such call / no calls for that number) when
 * there is nothing to report where a thing was named; else an errno with err set (journal
 * errors, write errors). */
int report_write(FILE *fp, enum output_format fmt, struct journal_query *q,
	const struct report_args *a, char *err, size_t errlen);

/* TIME arguments: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (local time; 'T' may replace the
 * space), "today", "yesterday", or relative to now_ms: "-30s", "-30m", "-2h", "-7d", "-1w".
 * A bare date (or today/yesterday) used as an end (end_of_day) means the end of that day. */
int report_parse_time(int64_t *ms, const char *s, bool end_of_day, int64_t now_ms);
/* Local "YYYY-MM-DD HH:MM:SS". */
void report_format_time(char *buf, size_t size, int64_t ms);
/* A number argument as the journal stores numbers (digits, no '+' or separators); when it
 * is not a number, arg itself. */
const char *report_number(char *buf, size_t size, const char *arg);
/* "*******4567": enough for staff to tell callers apart, not to dial them. */
void report_mask_number(char *buf, size_t size, const char *n);

#endif
