/* Shared by the call module's own files: call.c (calls that reach ivrd) and outbound.c
 * (calls ivrd places). */
#ifndef IVR_CALL_INT_H
#define IVR_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ivr/call.h"

struct sip_server_tx;
struct sip_msg;
struct journal_event;
struct outbound;

/* call.c */
struct event_base *call_mgr_base(const struct call_mgr *m);
struct conf *call_mgr_conf(const struct call_mgr *m);
struct journal *call_mgr_journal(const struct call_mgr *m);
struct rtp_pacer *call_mgr_pacer(const struct call_mgr *m);
struct metrics *call_mgr_metrics(const struct call_mgr *m);
bool call_mgr_draining(const struct call_mgr *m);
struct outbound **call_mgr_outbound(struct call_mgr *m);
/* Transfers under way to a department (by name), shared by routed calls and dial-backs;
 * the first target of its next transfer (round-robin advances). */
struct conf_dept;
unsigned call_mgr_dept_inflight(const struct call_mgr *m, const char *dept);
void call_mgr_dept_inflight_add(struct call_mgr *m, const char *dept, int delta);
size_t call_mgr_dept_first_target(struct call_mgr *m, const struct conf_dept *d);

/* call.c, for offer.c: what the callback conversation does with its call */
struct call;
struct callback_mgr;
const struct conf *call_conf(const struct call *c);
struct call_mgr *call_mgr_of(const struct call *c);
struct callback_mgr *call_mgr_callbacks(const struct call_mgr *m);
const char *call_id(const struct call *c);
const char *call_ani(const struct call *c);
int call_lang(const struct call *c);
/* Queues a prompt in the call's language. */
void call_say(struct call *c, int prompt, bool interruptible);
/* Drops the prompts playing and queued. */
void call_hush(struct call *c);
/* Nothing playing nor queued. */
bool call_quiet(const struct call *c);
void call_journal(struct call *c, struct journal_event *ev);

enum offer_next {
	OFFER_NEXT_FALLBACK, /* declined: where the call would have gone without the offer */
	OFFER_NEXT_PROMISED, /* stored and told (prompts queued): goodbye, then BYE */
	OFFER_NEXT_CONNECT,  /* a returning caller to the promised department */
	OFFER_NEXT_MENU,     /* back to the menus */
};
/* The conversation ended (the offer is freed here): where the call goes next. */
void call_offer_done(struct call *c, enum offer_next next, int dept, const char *reason);

/* offer.c: the callback conversation */
enum offer_kind {
	OFFER_CALLBACK,  /* offer a call back from dept */
	OFFER_RETURNING, /* the caller has open promise cb_id from dept: connect or keep */
	OFFER_CANCEL,    /* cancel the caller's open promises */
};
struct offer;
struct tz;
/* Starts the conversation; first_prompt (-1: none) plays before the offer, reason is
 * journaled. *op is set before anything else happens: the conversation may end (and
 * call_offer_done run) before this returns. */
int offer_start(struct offer **op, struct call *c, enum offer_kind kind, int dept,
	int64_t cb_id, int first_prompt, const char *reason);
void offer_key(struct offer *o, char key);
/* The call's prompt queue ran dry. */
void offer_drained(struct offer *o);
/* The caller put the call on hold (or took it off): the no-answer timer waits; idle says
 * the prompts had all been heard, so the wait for a key starts again. */
void offer_hold(struct offer *o, bool held, bool idle);
/* Keys pressed now are digits of a number: not to be logged. */
bool offer_masks_keys(const struct offer *o);
/* The call ends (or the conversation did); a promise being stored finishes alone. */
void offer_free(struct offer *o);
/* The promised time as said: due rounded up to the next half hour in zone z (NULL: UTC);
 * *day -1 today, -2 tomorrow, else the weekday 0-6 (Sunday 0); *slot the half hour 0-47. */
void offer_when(const struct tz *z, int64_t now_ms, int64_t due_ms, int *day, int *slot);

/* outbound.c */
/* A request inside an outbound call's dialog: answered, true; false when none matches. */
bool outbound_in_dialog(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req);
void outbound_end_all(struct call_mgr *m, const char *reason);
/* A final SIP status in the words of call_out_result: "busy", "no answer", "unreachable"... */
const char *call_out_result_of(int code);
void outbound_free(struct call_mgr *m);

#endif
