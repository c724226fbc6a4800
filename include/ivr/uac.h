/* The UAC side of a call: one outbound INVITE through an outbound proxy (RFC 3261 8.1, 12.1.2,
 * 9.1 CANCEL, 22 digest authentication), up to the dialog it makes. */
#ifndef IVR_UAC_H
#define IVR_UAC_H

#include <stdbool.h>
#include <sys/socket.h>

#include "ivr/sip.h"

struct sip_uac;

struct sip_uac_params {
	struct sip_transport *transport;
	const struct sockaddr *proxy; /* where the INVITE goes (the outbound proxy) */
	socklen_t proxylen;
	bool route;            /* a Route to the proxy, loose routing: <sip:HOST:PORT;lr> */
	const char *ruri;      /* Request-URI, and the To URI */
	const char *from;      /* our identity: "sip:ivrd@callcenter.example" */
	const char *username;  /* NULL: challenges fail the call */
	const char *password;
	const char *realm;     /* NULL: answer any realm */
	const char *sdp;       /* the offer */
	const char *call_id;   /* NULL: one is made up */
	unsigned ring_timeout_ms; /* CANCEL after this long without an answer; 0: never */
};

struct sip_uac_ops {
	/* A provisional response (180, 183 ...; 100 is not reported). */
	void (*progress)(void *arg, int code);
	/* A 2xx: ACKed, the dialog is made (sip_uac_dialog). resp holds the answer. */
	void (*answered)(void *arg, const struct sip_msg *resp);
	/* No answer: code is the final response (487 after our CANCEL, 408 when nothing came
	 * back), reason says why in words ("authentication refused", "no answer within 30 s").
	 * Runs once; the owner may free the UAC from it. */
	void (*failed)(void *arg, int code, const char *reason);
};

/* Sends the INVITE. Call-ID, tags and branches are made here. */
int sip_uac_invite(struct sip_uac **up, struct sip_stack *s, const struct sip_uac_params *p,
	const struct sip_uac_ops *ops, void *arg);
/* Gives up before an answer: CANCEL once a provisional response came (RFC 3261 9.1), at
 * once or when one arrives; failed() reports the outcome (487, or a 2xx that raced the
 * CANCEL: ACKed and ended with BYE). */
void sip_uac_cancel(struct sip_uac *u, const char *reason);
/* After answered(): the dialog, for BYE, REFER ... with sip_dialog_send. */
struct sip_dialog *sip_uac_dialog(struct sip_uac *u);
const char *sip_uac_call_id(const struct sip_uac *u);
/* The callee's tag, "" before an answer. */
const char *sip_uac_remote_tag(const struct sip_uac *u);
/* No more callbacks; pending transactions finish on their own. */
void sip_uac_free(struct sip_uac *u);

#endif
