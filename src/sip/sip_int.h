/* Shared by the SIP stack's own files. */
#ifndef IVR_SIP_INT_H
#define IVR_SIP_INT_H

#include <event2/event.h>

#include "ivr/hmap.h"
#include "ivr/sip.h"

struct sip_transport {
	struct sip_stack *stack;
	bool stream;  /* TCP: a listener whose connections live in stream.c */
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
	struct hmap *conns;   /* stream connections by sip_conn key */
	struct hmap *holds;   /* dialogs per connection key (kept open while idle) */
	unsigned max_conns;   /* ivrd.sip.max_connections */
	unsigned idle_ms;     /* ivrd.sip.tcp_idle_timeout */
	bool offline;         /* fed by sip_stack_stream_input: opens no connections */
};

/* transaction.c */
void sip_tx_request_in(struct sip_stack *s, struct sip_msg *m);
void sip_tx_response_in(struct sip_stack *s, struct sip_msg *m);
void sip_tx_free_all(struct sip_stack *s);
/* transport.c */
void sip_msg_free(struct sip_msg *m);
void sip_reply_stateless(struct sip_stack *s, struct sip_msg *m, int code, const char *reason);
bool sip_log_allowed(struct sip_stack *s);
void sip_addr_str(const struct sockaddr *sa, char *host, size_t hostlen, unsigned *port);
/* The first listener of a kind and address family, or NULL. */
/* A framing error on a stream: logged (rate-limited) and counted; code > 0 answers the
 * request in buf when its start line and the headers a response needs are there. */
void sip_reject_unframed(struct sip_stack *s, struct sip_transport *t, const char *buf,
	size_t len, const struct sockaddr *src, socklen_t srclen, int code, const char *reason,
	const char *what);
/* stream.c */
int sip_stream_listen(struct sip_transport *t);
/* Sends on the connection to dst; without one, opens it when connect is set, else returns
 * ENOTCONN. */
int sip_stream_send(struct sip_transport *t, const struct sockaddr *dst, socklen_t dstlen,
	const char *buf, size_t len, bool connect);
bool sip_stream_open(struct sip_transport *t, const struct sockaddr *peer, socklen_t len);
/* A dialog keeps its connection from the idle timeout: delta +1 or -1. */
void sip_stream_hold(struct sip_transport *t, const struct sockaddr *peer, socklen_t len,
	int delta);
void sip_stream_free_all(struct sip_stack *s);

/* dialog.c: a numeric host and port from a URI (no DNS on the call path) */
struct osip_uri;
bool sip_uri_addr(const struct osip_uri *u, struct sockaddr_storage *ss, socklen_t *len);

#endif
