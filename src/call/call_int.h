/* Shared by the call module's own files: call.c (calls that reach ivrd) and outbound.c
 * (calls ivrd places). */
#ifndef IVR_CALL_INT_H
#define IVR_CALL_INT_H

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

/* outbound.c */
/* A request inside an outbound call's dialog: answered, true; false when none matches. */
bool outbound_in_dialog(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req);
void outbound_end_all(struct call_mgr *m, const char *reason);
void outbound_free(struct call_mgr *m);

#endif
