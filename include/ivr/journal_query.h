/* Reading the journal: ivrctl and the dashboard. A read-only connection that works whether
 * or not the daemon is running; it never writes. */
#ifndef IVR_JOURNAL_QUERY_H
#define IVR_JOURNAL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivr/journal.h"

struct journal_query;

/* ENOENT when there is no file at path; any other failure (not a journal, a schema newer
 * than this program, SQLite errors) returns an errno value with a sentence in err. */
int journal_query_open(struct journal_query **qp, const char *path, char *err, size_t errlen);
void journal_query_close(struct journal_query *q);
/* What went wrong in the last failed query. */
const char *journal_query_error(const struct journal_query *q);
/* Makes the query running on q (in another thread) give up soon with an error; for a
 * daemon stopping while a long report runs. */
void journal_query_interrupt(struct journal_query *q);
/* The read-only connection, for the figures in journal_stats.h (src/journal only). */
struct sqlite3 *journal_query_db(struct journal_query *q);

/* One stored row. NULL columns read back as NULL strings, generation 0, duration_ms -1. */
struct journal_row {
	int64_t id;
	struct journal_event ev;
};

struct journal_rows {
	size_t n;
	struct journal_row **v;
};

/* Every row of one call, in the order they were appended. ENOENT when there is none. */
int journal_query_call(struct journal_rows **rp, struct journal_query *q, const char *call_id);
void journal_rows_free(struct journal_rows *r);

/* One call in a line. */
struct journal_call {
	char *call_id;
	int64_t start_ms;
	char *ani;           /* NULL when not recorded */
	char *dnis;
	int64_t duration_ms; /* from call.end (or drop); -1 when no end is recorded */
	/* in words: "transferred to billing", "transfer failed (billing), then hung up in menu
	 * sales", "callback promised", "blocked", "ended" (call.end's result when it says more),
	 * "no end recorded" */
	char *outcome;
	char *dept;          /* transferred to, else last routed to; NULL for neither */
	char *menu_path;     /* menus entered, "main > sales"; "" for none */
	char *end_reason;    /* call.end reason, or NULL */
};

struct journal_calls {
	size_t n;
	struct journal_call *v;
};

struct journal_call_filter {
	int64_t since_ms;   /* calls that started in [since_ms, until_ms); 0 = unbounded */
	int64_t until_ms;
	const char *number; /* exact caller (ANI) or dialed (DNIS) number; NULL = any */
	const char *dept;   /* calls with a route or transfer row naming dept; NULL = any */
	size_t limit;       /* 0 = no limit */
};

/* Calls that started in the filter's range, newest first. */
int journal_query_calls(struct journal_calls **cp, struct journal_query *q,
	const struct journal_call_filter *f);
void journal_calls_free(struct journal_calls *c);

/* Every row with ts_ms in f's range, oldest first (ts_ms, then id); with f->number or
 * f->dept only rows of the calls they select (as journal_query_calls, whenever the call
 * started; f->limit is ignored). One snapshot. fn gets each row (the row is valid during
 * the call only); a non-zero return stops the scan and is returned. */
int journal_query_events(struct journal_query *q, const struct journal_call_filter *f,
	int (*fn)(void *arg, const struct journal_row *r), void *arg);

/* Sums up one call from its rows, as journal_query_call returns them. Free with
 * journal_call_clear(). */
int journal_call_summarise(struct journal_call *c, const struct journal_rows *r);
void journal_call_clear(struct journal_call *c);

/* The loop guard's history: every call.start, transfer.start and drop row since since_ms,
 * oldest first, each with the caller number of its call; calls without one are left out. */
int journal_query_caller_events(struct journal_query *q, int64_t since_ms,
	void (*fn)(void *arg, const char *ani, const char *event, int64_t ts_ms), void *arg);

/* Callback promises (the callbacks table, schema 2; callback.h). A journal of schema 1 has
 * none: the queries below find nothing there and say so in "recorded". */
enum journal_promise_view {
	JPROM_ALL,       /* every promise: escalated first (as JPROM_OVERDUE), then open by due
			  * time, then kept and cancelled, newest first */
	JPROM_OPEN,      /* open or dialing, by due time */
	JPROM_DUE,       /* open or dialing and next_ms <= now: an attempt may be made */
	JPROM_OVERDUE,   /* escalated: open or dialing with due_ms < now, most overdue first,
			  * then broken, most overdue first */
	JPROM_KEPT,      /* newest first */
	JPROM_BROKEN,    /* most overdue first */
	JPROM_CANCELLED, /* newest first */
};

struct journal_promise_filter {
	enum journal_promise_view view;
	int64_t now_ms;     /* what due and overdue are measured against */
	int64_t id;         /* one promise; 0 = any */
	const char *dept;   /* NULL = any */
	const char *number; /* the number to call or the caller's (ani); NULL = any */
	int64_t since_ms;   /* promised (created) in [since_ms, until_ms); 0 = unbounded */
	int64_t until_ms;
	size_t limit;       /* 0 = no limit */
};

/* One promise as its row holds it. NULL columns read back as NULL strings and -1 times. */
struct journal_promise {
	int64_t id;
	char *number, *ani, *dept, *lang, *call_id, *state;
	int64_t created_ms, updated_ms, due_ms, expires_ms, next_ms, closed_ms;
	int64_t attempts, max_attempts;
	char *last_result, *reason, *kept_call_id, *owner;
	int64_t lease_until_ms;
	bool overdue;       /* open or dialing, and due_ms < the filter's now */
};

struct journal_promises {
	size_t n;
	struct journal_promise *v;
	bool recorded;      /* the journal has a callbacks table (schema 2 or later) */
};

int journal_query_promises(struct journal_promises **pp, struct journal_query *q,
	const struct journal_promise_filter *f);
void journal_promises_free(struct journal_promises *p);

/* Every callback.* event of one promise, in the order they were appended; none (n 0) in a
 * journal of schema 1. */
int journal_query_promise_events(struct journal_rows **rp, struct journal_query *q,
	int64_t callback_id);

/* One caller's figures over every call from (or to) f->number (required) that the rest of
 * f matches (limit aside), as "ivrctl caller" sums up. */
struct journal_caller_totals {
	size_t calls;
	size_t transfers;        /* transfer.start rows: transfers tried */
	size_t transfers_failed; /* transfer.result rows with a result other than "ok" */
	size_t drops;            /* hung up in a menu */
};

int journal_query_caller_totals(struct journal_caller_totals *t, struct journal_query *q,
	const struct journal_call_filter *f);

/* One event in words, as "ivrctl trace" shows it: "pressed 2", "routed to billing — reason:
 * menu main key 2 (path main)". *out is malloc'ed. */
int journal_event_describe(char **out, const struct journal_event *ev);

#endif
