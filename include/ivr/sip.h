/* SIP: transport (UDP, TCP), messages (libosip2 parser), transactions (RFC 3261 section 17
 * timers) and the UAS dialog. The call layer sees requests that are not retransmissions,
 * ACKs for 2xx, matched CANCELs, and responses to the requests it sent. */
#ifndef IVR_SIP_H
#define IVR_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct conf_listen;
struct sip_stack;
struct sip_transport;
struct sip_server_tx;
struct sip_client_tx;

/* RFC 3261 timers, ms */
#define SIP_T1 500
#define SIP_T2 4000
#define SIP_T4 5000
#define SIP_TX_TIMEOUT (64 * SIP_T1)

/* A received message. osip is the parsed libosip2 osip_message_t. */
struct sip_msg {
	void *osip;
	struct sip_transport *transport;
	struct sockaddr_storage src;
	socklen_t srclen;
	char call_id[256]; /* number@host, as the calls table keys it */
};

struct sip_handlers {
	/* A new request (never a retransmission, never ACK or CANCEL). Respond on tx now or
	 * later; every INVITE tx must get a final response. */
	void (*request)(void *arg, struct sip_server_tx *tx, const struct sip_msg *req);
	/* An ACK that matched no transaction: the ACK for a 2xx. */
	void (*ack)(void *arg, const struct sip_msg *ack);
	/* A CANCEL matched INVITE tx, which has no final response yet; 200 was sent to the
	 * CANCEL. The handler answers the INVITE with 487. */
	void (*cancel)(void *arg, struct sip_server_tx *invite_tx);
};

struct sip_stats {
	uint64_t rx_requests, rx_responses, rx_malformed, rx_retransmits;
	uint64_t tx_messages, tx_retransmits, tx_timeouts, tx_errors;
	uint64_t tcp_connections; /* open now */
	uint64_t tcp_accepted, tcp_connected, tcp_closed, tcp_refused;
};

int sip_stack_new(struct sip_stack **sp, struct event_base *base,
	const struct sip_handlers *h, void *arg, const char *user_agent);
int sip_stack_listen(struct sip_stack *s, const struct conf_listen *l);
void sip_stack_free(struct sip_stack *s);
void sip_stack_stats(const struct sip_stack *s, struct sip_stats *st);
/* Datagrams larger than max_size or with more than max_headers header lines are refused
 * before parsing (defaults 16384 and 100). */
void sip_stack_limits(struct sip_stack *s, size_t max_size, unsigned max_headers);
/* TCP: connections open at once (accepted and opened; more are refused) and seconds
 * without traffic before a connection that carries no dialog is closed (defaults 1024,
 * 120). */
void sip_stack_stream_limits(struct sip_stack *s, unsigned max_conns, unsigned idle_s);
/* Local address of the first listener, for Contact and Via. */
struct sip_transport *sip_stack_transport(struct sip_stack *s);
/* The first listener of a kind (stream: TCP) and address family, or NULL. */
struct sip_transport *sip_stack_find(struct sip_stack *s, bool stream, int family);
/* Processes one datagram as if received on t (tests, fuzzing). */
void sip_stack_input(struct sip_stack *s, struct sip_transport *t, const char *buf, size_t len,
	const struct sockaddr *src, socklen_t srclen);

/* Feeds bytes to the TCP connection from src on stream transport t as if read from its
 * socket (tests, fuzzing); the connection, without a socket, is made on first use and
 * what it sends is discarded; the stack opens no connections from then on. Returns false
 * once the framing has closed it. */
bool sip_stack_stream_input(struct sip_stack *s, struct sip_transport *t, const char *buf,
	size_t len, const struct sockaddr *src, socklen_t srclen);

/* "127.0.0.1:5060" or "[::1]:5060" of the transport. */
const char *sip_transport_hostport(const struct sip_transport *t);
/* "UDP" or "TCP", as Via names it. */
const char *sip_transport_proto(const struct sip_transport *t);
/* Over TCP: on the connection to dst, opened when there is none (RFC 3261 18.1.1). */
int sip_send(struct sip_transport *t, const struct sockaddr *dst, socklen_t dstlen,
	const char *buf, size_t len);
/* Sends a response to a request from src. Over TCP on the request's connection; when that
 * has closed, on a connection to the top Via's received address and sent-by port
 * (RFC 3261 18.2.2). */
int sip_send_reply(struct sip_transport *t, const struct sockaddr *src, socklen_t srclen,
	const char *buf, size_t len);

/* Message access. Strings belong to the message. */
const char *sip_msg_method(const struct sip_msg *m);
const char *sip_msg_call_id(const struct sip_msg *m);
const char *sip_msg_from_tag(const struct sip_msg *m);
const char *sip_msg_to_tag(const struct sip_msg *m);
unsigned sip_msg_cseq(const struct sip_msg *m);
int sip_msg_status(const struct sip_msg *m);
/* Request-URI user (the dialed number), From user (the caller), To user; a tel: URI's
 * number stands for its user; "" when absent. */
const char *sip_msg_ruri_user(const struct sip_msg *m);
const char *sip_msg_from_user(const struct sip_msg *m);
const char *sip_msg_to_user(const struct sip_msg *m);
/* The first value of a header by name (case-insensitive), or NULL. */
const char *sip_msg_header(const struct sip_msg *m, const char *name);
/* Whether any header called name (Allow, Supported, Require...) lists token among its
 * comma-separated values, case-insensitively. */
bool sip_msg_lists(const struct sip_msg *m, const char *name, const char *token);
const char *sip_msg_content_type(const struct sip_msg *m, char *buf, size_t size);
/* Body bytes, or NULL with *len 0. */
const char *sip_msg_body(const struct sip_msg *m, size_t *len);

/* Server transactions. extra holds whole header lines each ending in CRLF, or NULL. A NULL
 * to_tag on a response to a request without one gets a tag made from the request. */
int sip_respond(struct sip_server_tx *tx, int code, const char *reason, const char *to_tag,
	const char *extra, const char *ctype, const char *body);
/* The request the transaction is for. */
const struct sip_msg *sip_tx_request(const struct sip_server_tx *tx);
/* Builds a response to req without a transaction (the 2xx the call retransmits itself). */
int sip_build_response(char **out, size_t *len, const struct sip_msg *req, int code,
	const char *reason, const char *to_tag, const char *extra, const char *ctype,
	const char *body, const char *server);

/* Client transactions. cb runs once: with the final response, or with resp NULL and code
 * 408 on timeout, 503 when it could not be sent. Provisional responses are not reported
 * unless sip_client_on_provisional() asks for them.
 * An INVITE is an INVITE client transaction (RFC 3261 17.1.1, RFC 6026): Timer A
 * retransmits until a provisional response, Timer B gives 408; a non-2xx final is ACKed by
 * the transaction (same branch) and its retransmissions absorbed; cb runs again for every
 * retransmitted 2xx within 64*T1 (the owner ACKs each 2xx itself). */
typedef void (*sip_client_cb)(void *arg, int code, const struct sip_msg *resp);
int sip_client_send(struct sip_client_tx **txp, struct sip_stack *s, struct sip_transport *t,
	const struct sockaddr *dst, socklen_t dstlen, const char *method, const char *branch,
	const char *msg, size_t len, sip_client_cb cb, void *arg);
/* The owner goes away: cb will not run; the transaction finishes on its own. */
void sip_client_detach(struct sip_client_tx *tx);
/* Provisional responses (1xx, 100 included) to tx go to cb, until its final response. */
void sip_client_on_provisional(struct sip_client_tx *tx, sip_client_cb cb);

/* Random tokens: tags, branches ("z9hG4bK..."). */
void sip_random_token(char *buf, size_t size);
void sip_new_branch(char *buf, size_t size);

/* The UAS side of a dialog, made from the INVITE. */
struct sip_dialog {
	char *call_id;
	char *local_tag;
	char *local_hdr;     /* our From in requests we send: the INVITE's To with our tag */
	char *remote_hdr;    /* our To: the INVITE's From, with its tag */
	char *remote_target; /* Contact URI of the caller */
	char **route;        /* Record-Route values, in order */
	size_t nroute;
	char *ruri;          /* the Request-URI: remote target, or a strict router's URI */
	bool strict;         /* the first route lacks ;lr (RFC 3261 12.2.1.1) */
	uint32_t local_cseq;
	uint32_t remote_cseq;
	struct sip_transport *transport;
	struct sockaddr_storage dest; /* where in-dialog requests go */
	socklen_t destlen;
	struct sockaddr_storage conn; /* TCP: the INVITE's connection, reused while open */
	socklen_t connlen;            /* 0: none */
	char contact[128];   /* our Contact header value */
};

int sip_dialog_init(struct sip_dialog *d, const struct sip_msg *invite, const char *local_tag);
void sip_dialog_free(struct sip_dialog *d);
/* Builds an in-dialog request with the next local CSeq. branch receives the Via branch. */
int sip_dialog_request(char **out, size_t *len, struct sip_dialog *d, const char *method,
	char *branch, size_t branchlen, const char *extra, const char *ctype, const char *body,
	const char *user_agent);
/* Sends an in-dialog request as a client transaction. */
int sip_dialog_send(struct sip_client_tx **txp, struct sip_stack *s, struct sip_dialog *d,
	const char *method, const char *extra, const char *ctype, const char *body,
	sip_client_cb cb, void *arg);

#endif
