/* Calls: each owns its SIP dialog, its RTP session, a menu session and a reference to the
 * configuration generation it started on. The manager answers the SIP stack. */
#ifndef IVR_CALL_H
#define IVR_CALL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct conf;
struct journal;
struct sip_stack;
struct rtp_pacer;
struct call_mgr;

struct call_stats {
	uint64_t total, answered, rejected, cancelled, transfers, transfers_ok, transfers_failed;
	uint64_t drops, no_ack;
	size_t active;
};

/* conf: a reference is taken; new calls start on it. */
int call_mgr_new(struct call_mgr **mp, struct event_base *base, struct conf *conf,
	struct journal *j, struct rtp_pacer *pacer);
/* The SIP stack the manager answers (made by call_mgr_new, listening on conf's addresses). */
struct sip_stack *call_mgr_sip(struct call_mgr *m);
/* Calls from now on start on conf; calls in progress keep theirs. */
void call_mgr_set_conf(struct call_mgr *m, struct conf *conf);
void call_mgr_stats(const struct call_mgr *m, struct call_stats *st);
/* Ends every call (BYE to the answered ones), journaled with reason. */
void call_mgr_end_all(struct call_mgr *m, const char *reason);
void call_mgr_free(struct call_mgr *m);

#endif
