/* Shared by the SIP stack's own files. */
#ifndef IVR_SIP_INT_H
#define IVR_SIP_INT_H

#include <event2/event.h>

#include "ivr/hmap.h"
#include "ivr/sip.h"

struct sip_transport {
	struct sip_stack *stack;
	int fd;
	struct event *ev;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char hostport[80];
};

struct sip_stack {
	struct event_base *base;
	const struct sip_handlers *h;
	void *arg;
	char *user_agent;
	struct sip_transport **transports;
	size_t ntransports;
	struct hmap *server_tx;
	struct hmap *client_tx;
	struct sip_stats stats;
	int64_t log_window_ms; /* rate limit for malformed-input log lines */
	unsigned log_count;
	size_t max_size;      /* ivrd.sip.max_message_size */
	unsigned max_headers; /* ivrd.sip.max_headers */
};

/* transaction.c */
void sip_tx_request_in(struct sip_stack *s, struct sip_msg *m);
void sip_tx_response_in(struct sip_stack *s, struct sip_msg *m);
void sip_tx_free_all(struct sip_stack *s);
/* transport.c */
void sip_msg_free(struct sip_msg *m);
void sip_reply_stateless(struct sip_stack *s, struct sip_msg *m, int code, const char *reason);
bool sip_log_allowed(struct sip_stack *s);

#endif
