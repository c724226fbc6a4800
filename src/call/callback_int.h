/* Shared by the promise ledger (callback.c) and its scheduler (callback_sched.c). */
#ifndef IVR_CALLBACK_INT_H
#define IVR_CALLBACK_INT_H

#include "ivr/callback.h"

struct event;
struct journal_event;
struct cb_attempt;
struct cb_pending;

/* A promise in memory: open or dialing. */
struct cb_entry {
	struct callback cb;
	int64_t lease_until_ms;     /* while dialing */
	struct cb_attempt *attempt; /* the dial-back in progress, NULL when open */
};

#define CB_CLOSED_RECENT 64

struct callback_mgr {
	struct event_base *base;
	struct journal *j;
	struct call_mgr *calls;
	struct metrics *metrics;
	struct conf *conf;       /* NULL until callback_mgr_set_conf: nothing is dialled */
	char *journal_path;
	char owner[64];          /* this node, in the rows it claims */
	struct cb_entry **v;     /* open and dialing promises */
	size_t n, cap;
	int64_t next_id;
	struct callback_stats st; /* counters; the sizes are counted when asked */
	struct cb_pending *pending; /* promises waiting for their commit */
	/* ids closed lately, whose rows may not be committed yet (callback_cancel) */
	int64_t closed[CB_CLOSED_RECENT];
	size_t closed_next;

	/* the scheduler (callback_sched.c) */
	struct event *tick;
	double tokens;           /* starts allowed now (ivrd.callbacks.rate) */
	int64_t tokens_ms;
	struct cb_attempt *attempts;
	bool no_proxy_noted;
};

/* callback.c */
struct cb_entry *cb_find(const struct callback_mgr *m, int64_t id);
/* Rewrites the promise's row (through the journal's writer, before any later event). */
void cb_write(struct callback_mgr *m, const struct cb_entry *e);
/* Journals ev about e: callback_id, dept and dnis (the number) filled in when unset. */
void cb_record(struct callback_mgr *m, const struct cb_entry *e, struct journal_event *ev);
/* Closes e as kept, broken or cancelled: row, event (JEV_CB_*), counters, log; e is freed. */
void cb_close(struct callback_mgr *m, struct cb_entry *e, enum cb_state s, const char *reason,
	const char *call_id, const char *detail);
/* "...1234": the last four digits, for logs (numbers are personal data). */
void cb_last4(char *buf, size_t size, const char *number);
void cb_gauges(struct callback_mgr *m);

/* callback_sched.c */
int sched_start(struct callback_mgr *m);
/* Ends the attempts in progress (their promises are open again: "interrupted") and the
 * timer. */
void sched_stop(struct callback_mgr *m);
/* Something changed (a promise, the configuration): look again soon. */
void sched_kick(struct callback_mgr *m);
/* e is being closed while its attempt runs: the call is hung up, its outcome only
 * journaled. */
void sched_abandon(struct callback_mgr *m, struct cb_entry *e, const char *why);

#endif
