/* Calls: each owns its SIP dialog, its RTP session, a menu session and a reference to the
 * configuration generation it started on. The manager answers the SIP stack. */
#ifndef IVR_CALL_H
#define IVR_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct conf;
struct journal;
struct sip_stack;
struct rtp_pacer;
struct metrics;
struct call_mgr;

/* An operator's override of a department's hours (ivrctl dept NAME open|close|auto). */
enum dept_override {
	DEPT_AUTO,   /* the configured hours decide */
	DEPT_OPEN,
	DEPT_CLOSED,
};

struct call_stats {
	uint64_t total, answered, rejected, cancelled, transfers, transfers_ok, transfers_failed;
	uint64_t drops, no_ack;
	size_t active;
};

/* conf: a reference is taken; new calls start on it. metrics may be NULL. */
int call_mgr_new(struct call_mgr **mp, struct event_base *base, struct conf *conf,
	struct journal *j, struct rtp_pacer *pacer, struct metrics *metrics);
/* The SIP stack the manager answers (made by call_mgr_new, listening on conf's addresses). */
struct sip_stack *call_mgr_sip(struct call_mgr *m);
/* Calls from now on start on conf; calls in progress keep theirs. */
void call_mgr_set_conf(struct call_mgr *m, struct conf *conf);
void call_mgr_stats(const struct call_mgr *m, struct call_stats *st);
/* Visits every active call: where it is ("menu main", "transfer", "ringing" ...) and the
 * generation it runs on. */
void call_mgr_foreach(const struct call_mgr *m,
	void (*fn)(void *arg, const char *where, uint64_t generation), void *arg);
/* Overrides are kept by department name across reloads; journaled. EINVAL for an unknown
 * department in the current configuration. */
int call_mgr_dept_override(struct call_mgr *m, const char *dept, enum dept_override o,
	const char *who);
enum dept_override call_mgr_dept_state(const struct call_mgr *m, const char *dept);
/* Whether a department takes calls now: its override, else its hours. */
bool call_mgr_dept_open(const struct call_mgr *m, const struct conf *c, int dept);
/* While draining, new calls get 503 with Retry-After; calls in progress go on. */
void call_mgr_drain(struct call_mgr *m, bool on);
/* Ends every call (BYE to the answered ones), journaled with reason. */
void call_mgr_end_all(struct call_mgr *m, const char *reason);
void call_mgr_free(struct call_mgr *m);

/* The callback ledger calls consult (returning callers) and add to (offers); NULL: none. */
struct callback_mgr;
void call_mgr_set_callbacks(struct call_mgr *m, struct callback_mgr *cb);

/* Calls ivrd places through ivrd.sip.outbound (src/call/outbound.c): ivrctl's test call now,
 * callbacks later. Answered, the callee hears the prompt in the language asked, then the next
 * step: played() when set (it ends the call with call_out_hangup() or hands it on), else a
 * BYE. */
struct call_out;

struct call_out_result {
	const char *call_id;
	const char *number;
	const char *result;   /* "answered", "busy", "declined", "no answer", "auth refused",
			       * "unreachable", "invalid number", "failed", "cancelled" (given
			       * up by call_out_hangup() or at shutdown before an answer) */
	int sip_code;         /* the final response (200 when answered), 0 when none came */
	const char *reason;   /* in words */
	int64_t duration_ms;  /* from the INVITE to the end */
};

struct call_dial_req {
	const char *number;  /* digits (with + * #), or a sip: URI */
	const char *prompt;  /* a prompt the configuration loaded; NULL: the goodbye prompt;
			      * "": none (played() at once) */
	int lang;            /* language index; -1: the default language */
	const char *who;     /* who asked, journaled */
	/* Answered and the prompt played; NULL: hang up. */
	void (*played)(void *arg, struct call_out *o);
	/* The end, answered or not: runs once, after which o is gone. */
	void (*done)(void *arg, const struct call_out_result *r);
	void *arg;
};

/* Places the call. Errors, with why in err: ENOTCONN (no outbound proxy configured), EBUSY
 * (max_outbound calls out already), ESHUTDOWN (draining), EINVAL (number or prompt),
 * EADDRINUSE (no RTP port), ENOMEM. *op may be NULL. */
int call_mgr_dial(struct call_out **op, struct call_mgr *m, const struct call_dial_req *req,
	char *err, size_t errlen);
/* In played(): plays another prompt (an id of the call's configuration); played() runs
 * again when it ends. EINVAL when the call is not in played() or the prompt is unknown. */
int call_out_play(struct call_out *o, int prompt_id);
/* In played(): transfers the callee to target (a SIP URI) with REFER (RFC 3515). result
 * runs once with the outcome: 2xx when the target answered (NOTIFY sipfrag), else why not
 * (REFER refused or unanswered, NOTIFY 3xx-6xx, subscription ended without a result). The
 * call stays up: hang it up after. Not run when the call ends first (done() runs). */
int call_out_refer(struct call_out *o, const char *target,
	void (*result)(void *arg, int code, const char *why), void *arg);
/* Ends an answered call with a BYE (or gives up ringing: CANCEL); done() still runs. */
void call_out_hangup(struct call_out *o, const char *reason);
/* The requester goes away: played() and done() will not run; the call goes on alone. */
void call_out_detach(struct call_out *o);
const char *call_out_call_id(const struct call_out *o);
size_t call_mgr_outbound_count(const struct call_mgr *m);

#endif
