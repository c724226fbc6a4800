/* The journal: one SQLite row per call event, never edited. The event loop hands events to
 * a writer thread, so disk writes never stall it; rows are committed in batches (WAL mode,
 * synchronous=FULL), and a committed event survives kill -9 of the daemon. */
#ifndef IVR_JOURNAL_H
#define IVR_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct journal;

/* Event types, as stored in the "event" column. */
/* ani, dnis (normalized when they are numbers), generation, detail: language, reason: the
 * caller rule that fired, "(callers.[N] MARK)" */
#define JEV_CALL_START "call.start"
#define JEV_MENU_ENTER "menu.enter"     /* menu, prompt (the prompt about to play) */
#define JEV_KEY "key"                   /* menu, key */
#define JEV_INVALID "input.invalid"     /* menu, key, detail: "failure N of M" */
#define JEV_TIMEOUT "input.timeout"     /* menu, detail: "timeout N of M" */
/* menu, detail: the language the call continues in, prompt: the short prompt replayed in it */
#define JEV_LANGUAGE "language"
/* menu, key: the value (masked when sensitive), detail: how it ended and what it matched */
#define JEV_ENTRY "input.entry"
#define JEV_ROUTE "route"               /* menu, dept, reason, detail: the inputs; result:
					 * NULL (routed), "closed", "busy" (max_transfers),
					 * "refused" (overflow or loop guard: goodbye) */
#define JEV_TRANSFER_START "transfer.start"   /* dept, target */
#define JEV_TRANSFER_RESULT "transfer.result" /* dept, target, result: "ok" or "failed", reason */
#define JEV_DROP "drop"                 /* menu, duration_ms, prompt: last prompt heard */
/* The caller put the call on hold (RFC 3264 8.4) and took it off: menu, prompt (the one
 * paused), detail: the caller's SDP direction ("sendonly"; "inactive", c=0.0.0.0 too) */
#define JEV_HOLD "hold"
#define JEV_RESUME "resume"
/* Calls ivrd places (ivrctl dial, callbacks), under their own Call-ID: dial.start (dnis: the
 * number, prompt, reason: who asked), dial.result once the outcome is known (dnis, result:
 * "answered", "busy", "declined", "no answer", "auth refused", "unreachable", "invalid
 * number", "failed"; reason; detail: "sip CODE"), dial.end when an answered call ends
 * (reason, duration_ms). */
#define JEV_DIAL_START "dial.start"
#define JEV_DIAL_RESULT "dial.result"
#define JEV_DIAL_END "dial.end"
/* Callback promises (callback.h), each event with callback_id set:
 *   callback.promised  call_id: the promising call, dept, ani, dnis: the number to call,
 *                      detail: "due <ISO time>; expires <ISO time>; attempts N"
 *   callback.updated   the same caller asked again for the same department: new number/due
 *   callback.attempt   call_id: the dial-back's Call-ID, dept, dnis, detail "attempt N of M",
 *                      reason: "caller first" / "department first"
 *   callback.result    call_id: the dial-back's, result: "answered", "busy", "no answer",
 *                      "failed"... (call_out_result), detail "sip CODE", reason
 *   callback.kept      call_id: the call that connected the caller to the department
 *   callback.broken    reason: "attempts used up" / "window passed" (escalated: warning log)
 *   callback.overdue   due_ms passed without a kept call (escalated once)
 *   callback.cancelled reason, detail: who (the caller from a menu, or "ivrctl (uid N)"),
 *                      call_id: the call it was cancelled on (none from ivrctl) */
#define JEV_CB_PROMISED "callback.promised"
#define JEV_CB_UPDATED "callback.updated"
#define JEV_CB_ATTEMPT "callback.attempt"
#define JEV_CB_RESULT "callback.result"
#define JEV_CB_KEPT "callback.kept"
#define JEV_CB_BROKEN "callback.broken"
#define JEV_CB_OVERDUE "callback.overdue"
#define JEV_CB_CANCELLED "callback.cancelled"
/* The conversation in a call (src/call/offer.c), menu "callback", no callback_id: dept,
 * result "offered" (reason: why: "billing is closed", "key 1 in menu main"), "accepted",
 * "declined" (reason: "key 2", "no key pressed"...), "not stored" (the promise could not be
 * made durable: the caller was told nothing and went to the fallback), "told" (stored, and
 * now said: prompt, reason "call back #N promised: tomorrow at 08:30", callback_id),
 * "pending" (a returning caller with an open promise is asked whether to go to its
 * department now: callback_id) */
#define JEV_CB_OFFER "callback.offer"
/* result ("blocked": declined with 603 by a caller rule; "refused": 403 from a source not
 * in ivrd.sip.trusted or 503 at max_calls / max_calls_per_source, reason saying which),
 * reason, duration_ms. Blocked and refused calls journal call.start and call.end at once. */
#define JEV_CALL_END "call.end"
/* A retention pass removed something (no call_id): detail "removed N events of M calls and K
 * closed promises older than <local date> (D days)", duration_ms. */
#define JEV_RETENTION "journal.retention"

/* All strings may be NULL; they are copied before journal_append returns. */
struct journal_event {
	int64_t ts_ms;      /* wall clock, ms since the epoch, UTC; 0 = now */
	const char *call_id;
	const char *event;  /* JEV_* */
	const char *menu;
	const char *key;
	const char *dept;
	const char *target;
	const char *result;
	const char *reason;
	const char *ani;
	const char *dnis;
	const char *prompt;
	const char *detail;
	int64_t generation; /* configuration generation, 0 = none */
	int64_t duration_ms; /* -1 = none */
	int64_t callback_id; /* the promise the event is about (callback.h), 0 = none */
};

/* A promise's row in the callbacks table (schema.h), rewritten whole at every change. Strings
 * may be NULL (NULL columns); times 0 for closed_ms and lease_until_ms are NULL. */
struct journal_callback_row {
	int64_t id;
	const char *number, *ani, *dept, *lang, *call_id;
	const char *state;  /* cb_state_name() */
	int64_t created_ms, updated_ms, due_ms, expires_ms, next_ms;
	int64_t attempts, max_attempts;
	const char *last_result, *reason, *kept_call_id;
	int64_t closed_ms;
	const char *owner;
	int64_t lease_until_ms;
};

/* Opens (creating schema and parent directory as needed) the journal at path and starts its
 * writer thread. base receives commit notifications. */
int journal_open(struct journal **jp, struct event_base *base, const char *path);
/* Queues an event; never blocks on disk. Returns 0 or ENOMEM. */
int journal_append(struct journal *j, const struct journal_event *ev);
/* As journal_append; done(arg, err) runs later on the event loop thread once the row is
 * committed (err 0) or could not be (err != 0). For promises that must be durable before the
 * caller is told. */
int journal_append_cb(struct journal *j, const struct journal_event *ev,
	void (*done)(void *arg, int err), void *arg);
/* Queues an INSERT OR REPLACE of a callbacks row, copied now, in order with events: it is
 * committed in the same transaction as, or before, any event queued after it, so the done of
 * a later journal_append_cb implies the row is durable. Returns 0, EINVAL or ENOMEM. */
int journal_put_callback(struct journal *j, const struct journal_callback_row *row);
/* Retention (ivrd.retention_days): events older than days (0: keep everything) are removed
 * by the writer thread in small transactions between the queued ones, at once when the age
 * changes and then every hour, with the closed promises closed before then. Open promises,
 * their events and their calls stay whatever their age; calls go whole. */
void journal_set_retention(struct journal *j, int days);
/* Blocks until everything queued so far is committed (tests, shutdown). */
void journal_flush(struct journal *j);
/* Flushes, stops the writer thread and closes the database. */
void journal_close(struct journal *j);

/* Counters for status and metrics. */
struct journal_stats {
	uint64_t appended;
	uint64_t committed;
	uint64_t failed;
	uint64_t batches;
	int64_t last_commit_us; /* duration of the last commit */
	uint64_t retention_removed; /* events removed by retention */
	uint64_t retention_passes;  /* retention passes finished (or cut short) */
};
void journal_get_stats(const struct journal *j, struct journal_stats *st);

#endif
