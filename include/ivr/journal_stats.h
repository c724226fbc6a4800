/* Figures over many calls for the QA reports (report.h: transfers, drops, report): one pass
 * over the journal's rows in append order, each call summed up once its call.end is read. A
 * read-only use of a journal_query; works whether or not the daemon is running. */
#ifndef IVR_JOURNAL_STATS_H
#define IVR_JOURNAL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivr/journal_query.h"

/* Calls (call.start rows: calls ivrd answered or refused) that started in [since_ms,
 * until_ms) (0 = unbounded), from or to number, routed (a route row, whatever its result)
 * or transferred to dept. Strings NULL or "" = any. */
struct journal_stats_filter {
	int64_t since_ms;
	int64_t until_ms;
	const char *dept;
	const char *number;
	bool lists;         /* also fill transfer_list and drop_list */
};

/* One department, as report.h's transfers kind lists it. */
struct jstat_dept {
	const char *dept;
	size_t routed, transfers, ok, failed, closed, busy, refused, first_ok, callbacks_offered;
};

/* One transfer attempt (transfer.start row), with the route that sent it. */
struct jstat_transfer {
	int64_t id, ts_ms;
	const char *call_id, *ani, *menu, *reason, *dept, *target;
	const char *result;  /* transfer.result's: "ok", "failed"; NULL: none recorded */
	const char *failure; /* a failed transfer.result's reason */
};

/* Where a key (or an entry, key "entry") led from a menu, and how often. */
struct jstat_left {
	const char *key, *to;
	size_t count;
};

struct jstat_menu {
	const char *menu;
	size_t entered;        /* menu.enter rows */
	size_t calls;          /* distinct calls that entered */
	size_t invalid, timeouts, hung_up;
	int64_t median_hangup_ms; /* -1: no hang-up with a known time in the menu */
	size_t nleft;
	struct jstat_left *left; /* most first */
};

/* One drop row. */
struct jstat_drop {
	int64_t id, ts_ms;
	const char *call_id, *ani, *menu, *prompt;
	int64_t in_menu_ms;  /* since the call last entered the menu; -1 unknown */
	int64_t duration_ms; /* in the IVR; -1 unknown */
	const char *path;    /* menus entered until then, "main > sales" */
};

struct jstat_caller {
	const char *number;
	size_t calls, transfers, drops;
};

struct jstat_hour {
	int64_t hour_ms;
	size_t calls, transferred, dropped;
};

struct journal_figures {
	size_t calls, routed_calls, transferred_calls, transfers, first_ok_calls, dropped_calls;
	size_t callers, repeat_callers, repeat_calls;
	size_t ndepts;
	struct jstat_dept *depts;     /* busiest (most transfers, then routed) first */
	size_t nmenus;
	struct jstat_menu *menus;     /* most entered first */
	size_t ntop;
	struct jstat_caller *top;     /* callers with 2 or more calls, most first, at most 10 */
	size_t nhours;
	struct jstat_hour *hours;     /* every hour that had a call, in order */
	size_t ntransfer_list;
	struct jstat_transfer *transfer_list; /* newest first */
	size_t ndrop_list;
	struct jstat_drop *drop_list; /* newest first */
	struct jstat_pool *pool;      /* owns the strings */
};

/* 0, or an errno value with a sentence in err. */
int journal_stats_read(struct journal_figures **fp, struct journal_query *q,
	const struct journal_stats_filter *f, char *err, size_t errlen);
void journal_figures_free(struct journal_figures *f);

#endif
