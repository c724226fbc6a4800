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
	unsigned interval; /* Timer E */
	int64_t deadline;  /* Timer F */
	sip_client_cb cb;
	void *arg;
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

		if (now >= tx->deadline) {
			/* Timer H: the caller never acknowledged our final response */
			log_msg(LOG_PRIO_NOTICE, "sip", tx->req->call_id,
				"no ACK for %d to INVITE", tx->code);
			tx->stack->stats.tx_timeouts++;
			server_free(tx);
			return;
		}
		/* Timer G */
		sip_send(tx->req->transport, (struct sockaddr *)&tx->req->src, tx->req->srclen,
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
			sip_send(m->transport, (struct sockaddr *)&m->src, m->srclen, tx->resp,
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
	sip_send(tx->req->transport, (struct sockaddr *)&tx->req->src, tx->req->srclen, buf, len);
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
		server_arm(tx, SIP_T1);                         /* Timer G */
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
	free(tx);
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

	if (tx->state != TX_PROCEEDING) {
		client_free(tx); /* Timer K ended */
		return;
	}
	if (now >= tx->deadline) {
		/* Timer F */
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
	if (tx != NULL)
		tx->cb = NULL;
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
