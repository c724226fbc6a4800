/* Reading the journal: ivrctl and the dashboard. A read-only connection that works whether
 * or not the daemon is running; it never writes. */
#ifndef IVR_JOURNAL_QUERY_H
#define IVR_JOURNAL_QUERY_H

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
	 * sales", "ended", "no end recorded" */
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
	size_t limit;       /* 0 = no limit */
};

/* Calls that started in the filter's range, newest first. */
int journal_query_calls(struct journal_calls **cp, struct journal_query *q,
	const struct journal_call_filter *f);
void journal_calls_free(struct journal_calls *c);

/* Sums up one call from its rows, as journal_query_call returns them. Free with
 * journal_call_clear(). */
int journal_call_summarise(struct journal_call *c, const struct journal_rows *r);
void journal_call_clear(struct journal_call *c);

/* The loop guard's history: every call.start, transfer.start and drop row since since_ms,
 * oldest first, each with the caller number of its call; calls without one are left out. */
int journal_query_caller_events(struct journal_query *q, int64_t since_ms,
	void (*fn)(void *arg, const char *ani, const char *event, int64_t ts_ms), void *arg);

/* One event in words, as "ivrctl trace" shows it: "pressed 2", "routed to billing — reason:
 * menu main key 2 (path main)". *out is malloc'ed. */
int journal_event_describe(char **out, const struct journal_event *ev);

#endif
