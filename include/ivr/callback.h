/* Callback promises: a durable promise with an owner (the department), a due time and an
 * outcome, kept by the daemon itself (src/call/callback.c: the ledger; callback_sched.c: the
 * scheduler that dials back).
 *
 * The ledger lives in memory and in the journal's callbacks table (schema.h). Every change
 * rewrites the promise's row and appends an event (journal.h JEV_CB_*), both through the
 * journal's writer thread, in that order, so a committed event implies a committed row.
 * A promise is durable before the caller is told: callback_promise() calls back only once
 * the row and its event are committed.
 *
 * One open promise per caller (ani) and department: asking again updates it (number, due
 * time), journaled as callback.updated. At start the open and dialing promises are loaded
 * from the journal; a promise found "dialing" was interrupted by a crash: the attempt
 * counts, with result "interrupted", and the promise is open again. */
#ifndef IVR_CALLBACK_H
#define IVR_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct journal;
struct call_mgr;
struct conf;
struct metrics;
struct callback_mgr;

enum cb_state {
	CB_OPEN,      /* waiting for its next attempt */
	CB_DIALING,   /* an attempt is in progress */
	CB_KEPT,      /* the caller was connected to the department */
	CB_BROKEN,    /* attempts used up, or the window passed */
	CB_CANCELLED, /* by the caller or by staff */
};

/* "open", "dialing", "kept", "broken", "cancelled" */
const char *cb_state_name(enum cb_state s);

struct callback {
	int64_t id;
	char number[32];       /* to dial, normalized (number.h) */
	char ani[32];          /* the caller's number on the promising call, normalized */
	char dept[64];
	char lang[16];         /* the language of the promising call */
	char call_id[256];     /* the call that made (or last updated) the promise */
	enum cb_state state;
	int64_t created_ms, updated_ms; /* wall clock, ms since the epoch */
	int64_t due_ms;        /* when the caller was told to expect the call */
	int64_t expires_ms;    /* kept by then, or broken */
	int64_t next_ms;       /* the next attempt, no earlier than this */
	unsigned attempts, max_attempts;
	char last_result[48];  /* of the last attempt: "busy", "no answer", "interrupted"... */
	char reason[160];
	char kept_call_id[256];
	bool overdue_noted;    /* callback.overdue already journaled */
};

/* base, j, calls: the daemon's. metrics may be NULL. Loads the open promises from the
 * journal file at journal_path (a separate read connection, before any promise is made). */
int callback_mgr_new(struct callback_mgr **mp, struct event_base *base, struct journal *j,
	const char *journal_path, struct call_mgr *calls, struct metrics *metrics);
/* The configuration generation scheduling uses from now on (reload). A reference is taken. */
void callback_mgr_set_conf(struct callback_mgr *m, struct conf *c);
/* Stops dialing; attempts in progress are left to finish or are ended by the call manager. */
void callback_mgr_free(struct callback_mgr *m);

struct callback_req {
	const char *number;   /* to dial (normalized by the caller of this) */
	const char *ani;      /* the caller's number on this call */
	const char *dept;
	const char *lang;
	const char *call_id;  /* the promising call */
	int64_t due_ms;       /* what the caller was told: overdue after it */
	int64_t dial_ms;      /* the first attempt no earlier than this (callback_due_ms());
			       * 0: due_ms */
	int64_t expires_ms;
	unsigned max_attempts;
};

/* Makes (or, for an open promise of the same ani and dept, updates) a promise. done runs on
 * the event loop once it is committed (err 0: tell the caller) or could not be (err != 0:
 * do not promise anything); cb is valid during done only; updated says it was an update.
 * Returns 0 (done will run, unless callback_mgr_free comes first: the daemon is stopping),
 * or an errno value (done will not run). */
int callback_promise(struct callback_mgr *m, const struct callback_req *r,
	void (*done)(void *arg, int err, const struct callback *cb, bool updated), void *arg);

/* The open (or dialing) promise of a caller: for one department, or any when dept is NULL;
 * NULL when there is none. Valid until the next event loop pass. */
const struct callback *callback_find_open(const struct callback_mgr *m, const char *ani,
	const char *dept);
const struct callback *callback_get(const struct callback_mgr *m, int64_t id);

/* Cancels an open promise; who and reason are journaled, under call_id when a caller
 * cancelled it on a call (NULL from ivrctl). ENOENT (no such promise), EALREADY
 * (kept, broken or cancelled already), EBUSY (an attempt is ringing: it is hung up first and
 * the promise cancelled; returns 0 in that case). */
int callback_cancel(struct callback_mgr *m, int64_t id, const char *who, const char *reason,
	const char *call_id);
/* A returning caller reached the promised department on call_id: the promise is kept. */
void callback_kept(struct callback_mgr *m, int64_t id, const char *call_id);

/* When a caller asking now should expect the call: the department's service level after
 * now if it is open, else after its next opening (its hours, zone and holidays; an operator
 * override counts as its hours would). -1 when the department never opens within 14 days. */
int64_t callback_due_ms(const struct callback_mgr *m, const struct conf *c, int dept,
	int64_t now_ms);

/* Counts for status and metrics. */
struct callback_stats {
	size_t open, dialing, overdue;
	uint64_t promised, updated, attempts, kept, broken, cancelled;
};
void callback_mgr_stats(const struct callback_mgr *m, struct callback_stats *st);
/* Visits the promises in memory (open and dialing), soonest next_ms first. */
void callback_mgr_foreach(const struct callback_mgr *m,
	void (*fn)(void *arg, const struct callback *cb), void *arg);

#endif
