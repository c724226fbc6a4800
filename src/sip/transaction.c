/* Transactions, RFC 3261 section 17 over UDP: server transactions absorb retransmitted
 * requests and replay the last response; client transactions retransmit until a final
 * response or Timer F. */
#include <sys/time.h>
#include <time.h>

#include <errno.h>
#include <osip2/osip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "sip_int.h"

enum tx_state {
	TX_PROCEEDING, /* no final response yet */
	TX_COMPLETED,  /* final sent (server) or received (client); absorbing retransmits */
	TX_CONFIRMED,  /* INVITE: ACK for the non-2xx final arrived (Timer I) */
	TX_ACCEPTED,   /* INVITE: 2xx sent (RFC 6026) */
};

struct sip_server_tx {
	struct sip_stack *stack;
	struct sip_msg *req;
	char key[320];
	bool invite;
	enum tx_state state;
	int code;
	char *resp;
	size_t resplen;
	struct event *timer;
	unsigned interval; /* Timer G */
	int64_t deadline;  /* Timer H */
};

struct sip_client_tx {
	struct sip_stack *stack;
	struct sip_transport *transport;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	char key[128];
	enum tx_state state;
	char *msg;
	size_t len;
	struct event *timer;
	unsigned interval; /* Timer E (Timer A for INVITE) */
	int64_t deadline;  /* Timer F (Timer B for INVITE) */
	sip_client_cb cb;
	sip_client_cb provisional;
	void *arg;
	/* INVITE (RFC 3261 17.1.1, RFC 6026): */
	bool invite;
	bool proceeding; /* a provisional response came: no more retransmissions, no Timer B */
	char *ack;       /* our ACK for the non-2xx final, sent again for each retransmission */
	size_t acklen;
};

/* RFC 3261 17.2.3: match on branch, sent-by and method (ACK matches its INVITE); requests
 * from RFC 2543 peers (no magic cookie) fall back to Call-ID, From tag, CSeq and Via. */
static void
server_key(char *key, size_t size, const struct sip_msg *m, const char *method)
{
	osip_message_t *om = m->osip;
	osip_via_t *via = NULL;
	osip_generic_param_t *br = NULL;
	const char *ftag = sip_msg_from_tag(m);

	osip_message_get_via(om, 0, &via);
	osip_via_param_get_byname(via, "branch", &br);
	if (br != NULL && br->gvalue != NULL && strncmp(br->gvalue, "z9hG4bK", 7) == 0)
		snprintf(key, size, "%s|%s|%s:%s", method, br->gvalue, via->host,
			via->port ? via->port : "");
	else
		snprintf(key, size, "%s|%s|%s|%u|%s:%s", method, m->call_id, ftag ? ftag : "",
			sip_msg_cseq(m), via->host, via->port ? via->port : "");
}

static void
server_free(struct sip_server_tx *tx)
{
	hmap_del(tx->stack->server_tx, tx->key);
	if (tx->timer != NULL)
		event_free(tx->timer);
	sip_msg_free(tx->req);
	free(tx->resp);
	free(tx);
}

static void
server_arm(struct sip_server_tx *tx, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(tx->timer, &tv);
}

/* The next retransmission, or the deadline (Timers H and F) when that comes first: 64*T1
 * is not rounded up to the retransmission after it. */
static unsigned
next_wait(unsigned interval, int64_t deadline, int64_t now)
{
	return deadline - now < (int64_t)interval ? (unsigned)(deadline - now) : interval;
}

static void
server_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sip_server_tx *tx = arg;
	(void)fd;
	(void)what;

	if (tx->state == TX_COMPLETED && tx->invite && tx->code >= 300) {
		int64_t now = clock_mono_ms();

		if (now >= tx->deadline || tx->req->transport->stream) {
			/* Timer H: the caller never acknowledged our final response */
			log_msg(LOG_PRIO_NOTICE, "sip", tx->req->call_id,
				"no ACK for %d to INVITE", tx->code);
			tx->stack->stats.tx_timeouts++;
			server_free(tx);
			return;
		}
		/* Timer G */
		sip_send_reply(tx->req->transport, (struct sockaddr *)&tx->req->src, tx->req->srclen,
			tx->resp, tx->resplen);
		tx->stack->stats.tx_retransmits++;
		tx->interval = tx->interval * 2 < SIP_T2 ? tx->interval * 2 : SIP_T2;
		server_arm(tx, next_wait(tx->interval, tx->deadline, now));
		return;
	}
	server_free(tx);
}

static struct sip_server_tx *
server_new(struct sip_stack *s, struct sip_msg *m, const char *key)
{
	struct sip_server_tx *tx = calloc(1, sizeof(*tx));

	if (tx == NULL)
		return NULL;
	tx->stack = s;
	tx->req = m;
	str_copy(tx->key, key, sizeof(tx->key));
	tx->invite = strcmp(sip_msg_method(m), "INVITE") == 0;
	tx->timer = evtimer_new(s->base, server_timer, tx);
	if (tx->timer == NULL || hmap_put(s->server_tx, tx->key, tx) != 0) {
		if (tx->timer != NULL)
			event_free(tx->timer);
		free(tx);
		return NULL;
	}
	return tx;
}

void
sip_tx_request_in(struct sip_stack *s, struct sip_msg *m)
{
	const char *method = sip_msg_method(m);
	bool ack = strcmp(method, "ACK") == 0;
	struct sip_server_tx *tx, *inv;
	char key[320];

	server_key(key, sizeof(key), m, ack ? "INVITE" : method);
	tx = hmap_get(s->server_tx, key);
	if (ack) {
		if (tx != NULL && tx->code >= 300) {
			if (tx->state == TX_COMPLETED) {
				tx->state = TX_CONFIRMED;
				server_arm(tx, SIP_T4); /* Timer I */
			}
		} else {
			s->h->ack(s->arg, m);
		}
		sip_msg_free(m);
		return;
	}
	if (tx != NULL) {
		s->stats.rx_retransmits++;
		if (tx->resp != NULL && tx->state != TX_ACCEPTED)
			sip_send_reply(m->transport, (struct sockaddr *)&m->src, m->srclen, tx->resp,
				tx->resplen);
		sip_msg_free(m);
		return;
	}
	if (strcmp(method, "CANCEL") == 0) {
		/* RFC 3261 9.2: the CANCEL names its INVITE by the same branch */
		server_key(key, sizeof(key), m, "INVITE");
		inv = hmap_get(s->server_tx, key);
		server_key(key, sizeof(key), m, "CANCEL");
		tx = server_new(s, m, key);
		if (tx == NULL) {
			sip_reply_stateless(s, m, 500, "Server Internal Error");
			sip_msg_free(m);
			return;
		}
		if (inv == NULL) {
			sip_respond(tx, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL, NULL);
			return;
		}
		sip_respond(tx, 200, "OK", NULL, NULL, NULL, NULL);
		if (inv->state == TX_PROCEEDING)
			s->h->cancel(s->arg, inv);
		return;
	}
	tx = server_new(s, m, key);
	if (tx == NULL) {
		sip_reply_stateless(s, m, 500, "Server Internal Error");
		sip_msg_free(m);
		return;
	}
	/* RFC 3261 17.2.1: a 100 at once stops the caller's INVITE retransmissions */
	if (tx->invite)
		sip_respond(tx, 100, "Trying", NULL, NULL, NULL, NULL);
	s->h->request(s->arg, tx, tx->req);
	/* answered: absorbing retransmits for 32 s needs the response, not the request */
	if (tx->state != TX_PROCEEDING && tx->req->osip != NULL) {
		osip_message_free(tx->req->osip);
		tx->req->osip = NULL;
	}
}

int
sip_respond(struct sip_server_tx *tx, int code, const char *reason, const char *to_tag,
	const char *extra, const char *ctype, const char *body)
{
	char *buf;
	size_t len;
	int rc;

	if (tx->state != TX_PROCEEDING)
		return EALREADY;
	rc = sip_build_response(&buf, &len, tx->req, code, reason, to_tag, extra, ctype, body,
		tx->stack->user_agent);
	if (rc != 0)
		return rc;
	sip_send_reply(tx->req->transport, (struct sockaddr *)&tx->req->src, tx->req->srclen, buf,
		len);
	free(tx->resp);
	tx->resp = buf;
	tx->resplen = len;
	tx->code = code;
	if (code < 200)
		return 0;
	if (!tx->invite) {
		tx->state = TX_COMPLETED;
		server_arm(tx, SIP_TX_TIMEOUT); /* Timer J */
	} else if (code < 300) {
		/* RFC 6026: absorb INVITE retransmits; the call retransmits its 2xx itself */
		tx->state = TX_ACCEPTED;
		server_arm(tx, SIP_TX_TIMEOUT);
	} else {
		tx->state = TX_COMPLETED;
		tx->interval = SIP_T1;
		tx->deadline = clock_mono_ms() + SIP_TX_TIMEOUT; /* Timer H */
		/* Timer G, but not over TCP (RFC 3261 17.2.1) */
		server_arm(tx, tx->req->transport->stream ? SIP_TX_TIMEOUT : SIP_T1);
	}
	return 0;
}

const struct sip_msg *
sip_tx_request(const struct sip_server_tx *tx)
{
	return tx->req;
}

static void
client_free(struct sip_client_tx *tx)
{
	hmap_del(tx->stack->client_tx, tx->key);
	if (tx->timer != NULL)
		event_free(tx->timer);
	free(tx->msg);
	free(tx->ack);
	free(tx);
}

static void
client_arm(struct sip_client_tx *tx, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(tx->timer, &tv);
}

static void
client_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sip_client_tx *tx = arg;
	struct timeval tv;
	int64_t now = clock_mono_ms();
	unsigned ms;
	(void)fd;
	(void)what;

	if (tx->state != TX_PROCEEDING || (tx->invite && tx->proceeding)) {
		/* Timer K or D ended, the 2xx window (RFC 6026 Timer M) closed, or an INVITE left
		 * by its owner got no final response in 64*T1 (RFC 3261 9.1) */
		client_free(tx);
		return;
	}
	if (now >= tx->deadline) {
		/* Timer F (Timer B for INVITE) */
		sip_client_cb cb = tx->cb;
		tx->stack->stats.tx_timeouts++;
		tx->cb = NULL;
		if (cb != NULL)
			cb(tx->arg, 408, NULL);
		client_free(tx);
		return;
	}
	sip_send(tx->transport, (struct sockaddr *)&tx->dst, tx->dstlen, tx->msg, tx->len);
	tx->stack->stats.tx_retransmits++;
	if (tx->invite)
		tx->interval *= 2; /* Timer A: doubling without a cap */
	else
		tx->interval = tx->interval * 2 < SIP_T2 ? tx->interval * 2 : SIP_T2; /* Timer E */
	ms = next_wait(tx->interval, tx->deadline, now);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(tx->timer, &tv);
}

int
sip_client_send(struct sip_client_tx **txp, struct sip_stack *s, struct sip_transport *t,
	const struct sockaddr *dst, socklen_t dstlen, const char *method, const char *branch,
	const char *msg, size_t len, sip_client_cb cb, void *arg)
{
	struct sip_client_tx *tx = calloc(1, sizeof(*tx));
	struct timeval tv = {.tv_sec = 0, .tv_usec = SIP_T1 * 1000};
	int rc = ENOMEM;

	if (tx == NULL)
		return ENOMEM;
	tx->stack = s;
	tx->transport = t;
	memcpy(&tx->dst, dst, dstlen);
	tx->dstlen = dstlen;
	snprintf(tx->key, sizeof(tx->key), "%s|%s", branch, method);
	tx->msg = malloc(len);
	if (tx->msg == NULL)
		goto fail;
	memcpy(tx->msg, msg, len);
	tx->len = len;
	tx->cb = cb;
	tx->arg = arg;
	tx->invite = strcmp(method, "INVITE") == 0;
	tx->interval = SIP_T1;
	tx->deadline = clock_mono_ms() + SIP_TX_TIMEOUT;
	tx->timer = evtimer_new(s->base, client_timer, tx);
	if (tx->timer == NULL)
		goto fail;
	if ((rc = hmap_put(s->client_tx, tx->key, tx)) != 0)
		goto fail;
	rc = sip_send(t, dst, dstlen, msg, len);
	if (rc != 0) {
		hmap_del(s->client_tx, tx->key);
		goto fail;
	}
	/* RFC 3261 17.1.1.2, 17.1.2.2: no Timer A or E over TCP, Timer B or F still */
	if (t->stream)
		tv = (struct timeval){.tv_sec = SIP_TX_TIMEOUT / 1000};
	evtimer_add(tx->timer, &tv);
	*txp = tx;
	return 0;
fail:
	if (tx->timer != NULL)
		event_free(tx->timer);
	free(tx->msg);
	free(tx);
	return rc;
}

void
sip_client_detach(struct sip_client_tx *tx)
{
	if (tx == NULL)
		return;
	tx->cb = NULL;
	tx->provisional = NULL;
	/* an INVITE past its provisional has no timer left: give it 64*T1 for a final */
	if (tx->invite && tx->state == TX_PROCEEDING && tx->proceeding)
		client_arm(tx, SIP_TX_TIMEOUT);
}

void
sip_client_on_provisional(struct sip_client_tx *tx, sip_client_cb cb)
{
	tx->provisional = cb;
}

/* RFC 3261 17.1.1.3: the ACK for a non-2xx final is the INVITE's Request-URI, top Via
 * (same branch), From, Call-ID, CSeq number and Route, with the response's To. */
static int
build_ack(struct sip_client_tx *tx, const struct sip_msg *resp)
{
	osip_message_t *inv = NULL, *om = resp->osip;
	osip_list_iterator_t it;
	osip_via_t *via = NULL;
	size_t size = tx->len + 512, off = 0;
	char *buf = NULL, *s = NULL;
	int rc = ENOMEM;

	if (osip_message_init(&inv) != 0)
		return ENOMEM;
	if (osip_message_parse(inv, tx->msg, tx->len) != 0 || inv->req_uri == NULL ||
	    osip_message_get_via(inv, 0, &via) < 0 || via == NULL || inv->cseq == NULL ||
	    om->to == NULL) {
		rc = EPROTO;
		goto out;
	}
	if ((buf = malloc(size)) == NULL)
		goto out;
	if (osip_uri_to_str(inv->req_uri, &s) != 0)
		goto out;
	str_appendf(buf, size, &off, "ACK %s SIP/2.0\r\n", s);
	osip_free(s);
	s = NULL;
	if (osip_via_to_str(via, &s) != 0)
		goto out;
	str_appendf(buf, size, &off, "Via: %s\r\nMax-Forwards: 70\r\n", s);
	osip_free(s);
	s = NULL;
	for (osip_route_t *r = osip_list_get_first(&inv->routes, &it); r != NULL;
	     r = osip_list_get_next(&it)) {
		if (osip_route_to_str(r, &s) != 0)
			goto out;
		str_appendf(buf, size, &off, "Route: %s\r\n", s);
		osip_free(s);
		s = NULL;
	}
	if (osip_from_to_str(inv->from, &s) != 0)
		goto out;
	str_appendf(buf, size, &off, "From: %s\r\n", s);
	osip_free(s);
	s = NULL;
	if (osip_to_to_str(om->to, &s) != 0)
		goto out;
	str_appendf(buf, size, &off, "To: %s\r\n", s);
	osip_free(s);
	s = NULL;
	if (osip_call_id_to_str(inv->call_id, &s) != 0)
		goto out;
	str_appendf(buf, size, &off, "Call-ID: %s\r\nCSeq: %s ACK\r\n", s, inv->cseq->number);
	str_appendf(buf, size, &off, "Content-Length: 0\r\n\r\n");
	if (off >= size) {
		rc = EMSGSIZE;
		goto out;
	}
	free(tx->ack);
	tx->ack = buf;
	tx->acklen = off;
	buf = NULL;
	rc = 0;
out:
	osip_free(s);
	free(buf);
	osip_message_free(inv);
	return rc;
}

/* RFC 3261 17.1.1.2 with RFC 6026: provisional responses stop Timers A and B; a non-2xx
 * final is ACKed here and its retransmissions absorbed (Timer D); every 2xx, the first and
 * retransmitted or forked ones within 64*T1, goes to the owner, who ACKs it. */
static void
invite_response(struct sip_client_tx *tx, const struct sip_msg *m, int code)
{
	sip_client_cb cb;

	if (code < 200) {
		if (tx->state != TX_PROCEEDING)
			return;
		if (!tx->proceeding) {
			tx->proceeding = true;
			evtimer_del(tx->timer);
		}
		if (tx->provisional != NULL)
			tx->provisional(tx->arg, code, m);
		return;
	}
	if (code < 300) {
		if (tx->state == TX_COMPLETED)
			return;
		if (tx->state == TX_PROCEEDING) {
			tx->state = TX_ACCEPTED;
			tx->provisional = NULL;
			client_arm(tx, SIP_TX_TIMEOUT); /* Timer M */
		}
		if (tx->cb != NULL)
			tx->cb(tx->arg, code, m);
		return;
	}
	if (tx->state == TX_COMPLETED) {
		/* a retransmitted final: our ACK was lost */
		if (tx->ack != NULL)
			sip_send(tx->transport, (struct sockaddr *)&tx->dst, tx->dstlen, tx->ack,
				tx->acklen);
		return;
	}
	if (tx->state != TX_PROCEEDING)
		return;
	tx->state = TX_COMPLETED;
	tx->provisional = NULL;
	if (build_ack(tx, m) == 0)
		sip_send(tx->transport, (struct sockaddr *)&tx->dst, tx->dstlen, tx->ack,
			tx->acklen);
	client_arm(tx, SIP_TX_TIMEOUT / 2); /* Timer D: 32 s over UDP */
	cb = tx->cb;
	tx->cb = NULL;
	if (cb != NULL)
		cb(tx->arg, code, m);
}

void
sip_tx_response_in(struct sip_stack *s, struct sip_msg *m)
{
	osip_message_t *om = m->osip;
	osip_via_t *via = NULL;
	osip_generic_param_t *br = NULL;
	struct sip_client_tx *tx = NULL;
	char key[128];
	int code = sip_msg_status(m);

	osip_message_get_via(om, 0, &via);
	osip_via_param_get_byname(via, "branch", &br);
	if (br != NULL && br->gvalue != NULL) {
		snprintf(key, sizeof(key), "%s|%s", br->gvalue, om->cseq->method);
		tx = hmap_get(s->client_tx, key);
	}
	if (tx != NULL && tx->invite) {
		invite_response(tx, m, code);
		sip_msg_free(m);
		return;
	}
	if (tx == NULL || tx->state != TX_PROCEEDING) {
		if (tx == NULL && log_tracing(LOG_TRACE_SIP))
			log_msg(LOG_PRIO_DEBUG, "sip", m->call_id, "stray %d response dropped", code);
		sip_msg_free(m);
		return;
	}
	if (code < 200) {
		/* RFC 3261 17.1.2.2: provisional responses slow retransmission to T2 */
		tx->interval = SIP_T2 / 2;
		sip_msg_free(m);
		return;
	}
	tx->state = TX_COMPLETED;
	{
		struct timeval tv = {.tv_sec = SIP_T4 / 1000, .tv_usec = 0};
		sip_client_cb cb = tx->cb;
		evtimer_add(tx->timer, &tv); /* Timer K */
		tx->cb = NULL;
		if (cb != NULL)
			cb(tx->arg, code, m);
	}
	sip_msg_free(m);
}

static void
collect(void *arg, const char *key, void *value)
{
	void ***v = arg;
	(void)key;
	*(*v)++ = value;
}

void
sip_tx_free_all(struct sip_stack *s)
{
	size_t n = hmap_count(s->server_tx), k = hmap_count(s->client_tx);
	void **all = calloc(n + k + 1, sizeof(*all)), **p = all;

	if (all == NULL)
		return;
	hmap_foreach(s->server_tx, collect, &p);
	for (size_t i = 0; i < n; i++)
		server_free(all[i]);
	p = all;
	hmap_foreach(s->client_tx, collect, &p);
	for (size_t i = 0; i < k; i++)
		client_free(all[i]);
	free(all);
}
