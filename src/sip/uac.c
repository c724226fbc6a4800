/* The UAC side of a call (RFC 3261 8.1, 12.1.2): the INVITE through the outbound proxy, the
 * digest challenge answered once (22.2, 22.3), the ACK for a 2xx and the dialog made from
 * it, CANCEL when the callee does not answer (9.1). */
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <osip2/osip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/digest.h"
#include "ivr/log.h"
#include "ivr/uac.h"
#include "ivr/util.h"
#include "sip_int.h"

#define UAC_ALLOW "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY\r\n"
/* Challenges answered for one call: a second only when the first answer met a stale nonce
 * (RFC 7616 3.3). */
#define UAC_MAX_AUTH 3

struct sip_uac {
	struct sip_stack *stack;
	struct sip_transport *transport;
	struct sockaddr_storage proxy;
	socklen_t proxylen;
	char *ruri, *from, *username, *password, *realm, *sdp;
	char route[128];     /* "<sip:HOST:PORT;lr>", "" without a Route */
	char call_id[64];
	char local_tag[24];
	char branch[48];     /* of the INVITE in flight */
	uint32_t cseq;
	char auth[1200];     /* the Authorization line of the next INVITE, "" for none */
	unsigned auth_tries;
	struct sip_client_tx *invite_tx;
	struct sip_client_tx *cancel_tx;
	bool provisional;    /* a 1xx came: CANCEL may go (9.1) */
	bool cancel_pending; /* CANCEL wanted, waiting for a provisional */
	bool cancelled;      /* CANCEL sent */
	bool answered;
	bool done;           /* failed() ran */
	char why[160];       /* our reason for the CANCEL */
	unsigned ring_timeout_ms;
	struct event *timer; /* ring timeout; after CANCEL, 64*T1 for the INVITE's final */
	struct sip_dialog dlg;
	bool have_dlg;
	char remote_tag[128];
	char *ack;           /* the ACK for the 2xx, sent again for each retransmission */
	size_t acklen;
	const struct sip_uac_ops *ops;
	void *arg;
};

static void send_invite_tx(struct sip_uac *u);

static void
timer_set(struct event *ev, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* The end without an answer: failed() is the last thing the UAC does. */
static void
finish(struct sip_uac *u, int code, const char *reason)
{
	if (u->done || u->answered)
		return;
	u->done = true;
	evtimer_del(u->timer);
	sip_client_detach(u->invite_tx);
	u->invite_tx = NULL;
	log_msg(LOG_PRIO_INFO, "sip", u->call_id, "outbound INVITE failed: %d %s", code, reason);
	u->ops->failed(u->arg, code, reason);
}

/* INVITE or CANCEL with the INVITE's Request-URI, From, To, Call-ID and branch (a CANCEL
 * must match its INVITE in all of them, RFC 3261 9.1). */
static char *
build_request(struct sip_uac *u, const char *method, size_t *len)
{
	bool invite = strcmp(method, "INVITE") == 0;
	size_t blen = invite && u->sdp != NULL ? strlen(u->sdp) : 0;
	size_t size = 2048 + blen + strlen(u->ruri) * 2 + strlen(u->from) + strlen(u->auth);
	const char *hp = sip_transport_hostport(u->transport);
	size_t off = 0;
	char *buf = malloc(size);

	if (buf == NULL)
		return NULL;
	str_appendf(buf, size, &off, "%s %s SIP/2.0\r\n", method, u->ruri);
	str_appendf(buf, size, &off, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", hp, u->branch);
	str_appendf(buf, size, &off, "Max-Forwards: 70\r\n");
	if (u->route[0] != '\0')
		str_appendf(buf, size, &off, "Route: %s\r\n", u->route);
	str_appendf(buf, size, &off, "From: <%s>;tag=%s\r\nTo: <%s>\r\n", u->from, u->local_tag,
		u->ruri);
	str_appendf(buf, size, &off, "Call-ID: %s\r\nCSeq: %u %s\r\n", u->call_id, u->cseq,
		method);
	if (invite) {
		str_appendf(buf, size, &off, "Contact: <sip:ivr@%s>\r\n" UAC_ALLOW "Supported: \r\n",
			hp);
		str_appendf(buf, size, &off, "User-Agent: %s\r\n", u->stack->user_agent);
		str_appendf(buf, size, &off, "%s", u->auth);
		if (u->sdp != NULL)
			str_appendf(buf, size, &off, "Content-Type: application/sdp\r\n");
	}
	str_appendf(buf, size, &off, "Content-Length: %zu\r\n\r\n", blen);
	if (blen > 0)
		str_appendf(buf, size, &off, "%s", u->sdp);
	if (off >= size) {
		free(buf);
		return NULL;
	}
	*len = off;
	return buf;
}

static void
on_cancel_response(void *arg, int code, const struct sip_msg *resp)
{
	struct sip_uac *u = arg;
	(void)resp;

	u->cancel_tx = NULL;
	/* 200: the 487 follows on the INVITE; 481: its final response is on its way anyway */
	if (code >= 300 && log_tracing(LOG_TRACE_SIP))
		log_msg(LOG_PRIO_DEBUG, "sip", u->call_id, "CANCEL got %d", code);
}

static void
send_cancel(struct sip_uac *u)
{
	char *msg;
	size_t len;

	u->cancel_pending = false;
	u->cancelled = true;
	msg = build_request(u, "CANCEL", &len);
	if (msg == NULL || sip_client_send(&u->cancel_tx, u->stack, u->transport,
		(struct sockaddr *)&u->proxy, u->proxylen, "CANCEL", u->branch, msg, len,
		on_cancel_response, u) != 0)
		u->cancel_tx = NULL;
	free(msg);
	log_msg(LOG_PRIO_INFO, "sip", u->call_id, "CANCEL sent: %s", u->why);
	/* RFC 3261 9.1: no final response 64*T1 after the CANCEL, the INVITE is over */
	timer_set(u->timer, SIP_TX_TIMEOUT);
}

void
sip_uac_cancel(struct sip_uac *u, const char *reason)
{
	if (u->done || u->answered || u->cancelled || u->cancel_pending)
		return;
	str_copy(u->why, reason, sizeof(u->why));
	if (u->provisional)
		send_cancel(u);
	else
		u->cancel_pending = true; /* RFC 3261 9.1: not before a provisional response */
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sip_uac *u = arg;
	char why[64];
	(void)fd;
	(void)what;

	if (u->cancelled) {
		finish(u, 408, "no final response after CANCEL");
		return;
	}
	snprintf(why, sizeof(why), "no answer within %u s", u->ring_timeout_ms / 1000);
	sip_uac_cancel(u, why);
}

static void
on_provisional(void *arg, int code, const struct sip_msg *resp)
{
	struct sip_uac *u = arg;
	(void)resp;

	u->provisional = true;
	if (u->cancel_pending) {
		send_cancel(u);
		return;
	}
	if (code > 100 && u->ops->progress != NULL)
		u->ops->progress(u->arg, code);
}

/* RFC 3261 12.1.2: the dialog from the 2xx: remote target from its Contact, the route set
 * from its Record-Route in reverse, the remote tag from its To. */
static int
dialog_from(struct sip_uac *u, const struct sip_msg *resp)
{
	osip_message_t *om = resp->osip;
	struct sip_dialog *d = &u->dlg;
	osip_contact_t *ct = NULL;
	osip_record_route_t *rr = NULL;
	char *s = NULL;
	int n = 0;

	memset(d, 0, sizeof(*d));
	d->call_id = strdup(u->call_id);
	d->local_tag = strdup(u->local_tag);
	if (asprintf(&d->local_hdr, "<%s>;tag=%s", u->from, u->local_tag) < 0)
		d->local_hdr = NULL;
	if (osip_to_to_str(om->to, &s) == 0 && s != NULL)
		d->remote_hdr = strdup(s);
	osip_free(s);
	s = NULL;
	/* without a Contact (a broken peer), the Request-URI is all we have */
	if (osip_message_get_contact(om, 0, &ct) >= 0 && ct != NULL && ct->url != NULL &&
	    osip_uri_to_str(ct->url, &s) == 0 && s != NULL)
		d->remote_target = strdup(s);
	else
		d->remote_target = strdup(u->ruri);
	osip_free(s);
	s = NULL;
	if (d->call_id == NULL || d->local_tag == NULL || d->local_hdr == NULL ||
	    d->remote_hdr == NULL || d->remote_target == NULL)
		goto fail;
	while (osip_message_get_record_route(om, n, &rr) >= 0 && rr != NULL) {
		n++;
		rr = NULL;
	}
	if (n > 0 && (d->route = calloc((size_t)n, sizeof(*d->route))) == NULL)
		goto fail;
	for (int i = n - 1; i >= 0; i--) {
		rr = NULL;
		if (osip_message_get_record_route(om, i, &rr) < 0 || rr == NULL ||
		    osip_record_route_to_str(rr, &s) != 0 || s == NULL)
			goto fail;
		d->route[d->nroute] = strdup(s);
		osip_free(s);
		s = NULL;
		if (d->route[d->nroute] == NULL)
			goto fail;
		d->nroute++;
	}
	d->local_cseq = u->cseq;
	d->transport = u->transport;
	snprintf(d->contact, sizeof(d->contact), "<sip:ivr@%s>",
		sip_transport_hostport(u->transport));
	/* the first route, else the outbound proxy (8.1.2), else the remote target */
	rr = NULL;
	if (n > 0 && osip_message_get_record_route(om, n - 1, &rr) >= 0 && rr != NULL &&
	    sip_uri_addr(rr->url, &d->dest, &d->destlen)) {
	} else if (u->proxylen > 0) {
		memcpy(&d->dest, &u->proxy, u->proxylen);
		d->destlen = u->proxylen;
	} else {
		memcpy(&d->dest, &resp->src, resp->srclen);
		d->destlen = resp->srclen;
	}
	str_copy(u->remote_tag, sip_msg_to_tag(resp) ? sip_msg_to_tag(resp) : "",
		sizeof(u->remote_tag));
	u->have_dlg = true;
	return 0;
fail:
	sip_dialog_free(d);
	return ENOMEM;
}

/* RFC 3261 13.2.2.4: the ACK for a 2xx is a new transaction of the dialog (new branch) with
 * the INVITE's CSeq number. */
static void
send_ack(struct sip_uac *u)
{
	char branch[48];

	if (u->ack == NULL) {
		u->dlg.local_cseq = u->cseq - 1; /* sip_dialog_request counts one up */
		if (sip_dialog_request(&u->ack, &u->acklen, &u->dlg, "ACK", branch, sizeof(branch),
			NULL, NULL, NULL, u->stack->user_agent) != 0) {
			u->ack = NULL;
			return;
		}
	}
	sip_send(u->transport, (struct sockaddr *)&u->dlg.dest, u->dlg.destlen, u->ack, u->acklen);
}

static void
on_2xx(struct sip_uac *u, const struct sip_msg *resp)
{
	if (!u->have_dlg && dialog_from(u, resp) != 0) {
		finish(u, 500, "no memory for the dialog");
		return;
	}
	send_ack(u);
	if (u->answered || u->done)
		return; /* a retransmission: ACKed again */
	evtimer_del(u->timer);
	if (u->cancelled || u->cancel_pending) {
		/* RFC 3261 9.1: the 2xx raced our CANCEL: the call is up, so end it */
		struct sip_client_tx *bye;
		char why[sizeof(u->why) + 64];
		sip_dialog_send(&bye, u->stack, &u->dlg, "BYE", NULL, NULL, NULL, NULL, NULL);
		snprintf(why, sizeof(why), "%s (answered as the CANCEL went: ended with BYE)",
			u->why);
		finish(u, 487, why);
		return;
	}
	u->answered = true;
	log_msg(LOG_PRIO_INFO, "sip", u->call_id, "outbound call answered");
	u->ops->answered(u->arg, resp);
}

/* One value of a challenge header of resp, the first we can answer; its realm matched
 * against the configured one. */
static int
pick_challenge(struct sip_uac *u, struct sip_digest_challenge *ch, const struct sip_msg *resp,
	bool proxy)
{
	osip_message_t *om = resp->osip;
	osip_list_t *l = proxy ? &om->proxy_authenticates : &om->www_authenticates;
	int rc = EPROTO;

	for (int i = 0; i < osip_list_size(l); i++) {
		osip_www_authenticate_t *h = osip_list_get(l, i);
		char *s = NULL;
		int r;

		if (h == NULL || osip_www_authenticate_to_str(h, &s) != 0 || s == NULL)
			continue;
		r = sip_digest_parse(ch, s);
		osip_free(s);
		if (r == 0 && u->realm != NULL && strcmp(ch->realm, u->realm) != 0)
			r = EACCES;
		if (r == 0)
			return 0;
		if (rc != EACCES)
			rc = r;
	}
	return rc;
}

/* RFC 3261 22.2, 22.3: the INVITE again, CSeq one up, with our credentials. */
static void
on_challenge(struct sip_uac *u, int code, const struct sip_msg *resp)
{
	struct sip_digest_challenge ch;
	bool proxy = code == 407;
	char why[200], value[1100];
	int rc;

	if (u->username == NULL || u->password == NULL) {
		finish(u, code, "authentication required, but no username and password are set");
		return;
	}
	rc = pick_challenge(u, &ch, resp, proxy);
	if (rc != 0) {
		snprintf(why, sizeof(why), "authentication refused: %s",
			rc == EACCES ? "the challenge is for another realm" :
			rc == ENOTSUP ? "no challenge with an algorithm ivrd knows" :
			"malformed challenge");
		finish(u, code, why);
		return;
	}
	/* a second challenge to answered credentials means they were wrong, unless the nonce
	 * merely went stale (RFC 7616 3.3) */
	if (u->auth_tries > 0 && (!ch.stale || u->auth_tries >= UAC_MAX_AUTH)) {
		finish(u, code, "authentication refused");
		return;
	}
	u->auth_tries++;
	if (sip_digest_answer(value, sizeof(value), &ch, "INVITE", u->ruri, u->username,
		u->password, NULL, 1) < 0) {
		finish(u, code, "authentication refused: challenge too long to answer");
		return;
	}
	snprintf(u->auth, sizeof(u->auth), "%s: %s\r\n",
		proxy ? "Proxy-Authorization" : "Authorization", value);
	u->cseq++;
	sip_new_branch(u->branch, sizeof(u->branch));
	u->provisional = false;
	log_msg(LOG_PRIO_INFO, "sip", u->call_id, "INVITE again with credentials for realm %s",
		ch.realm);
	send_invite_tx(u);
}

static void
on_invite_response(void *arg, int code, const struct sip_msg *resp)
{
	struct sip_uac *u = arg;
	char why[160];

	if (resp == NULL) {
		u->invite_tx = NULL;
		finish(u, code, code == 408 ? "no response (Timer B)" : "could not be sent");
		return;
	}
	if (code < 300) {
		on_2xx(u, resp);
		return;
	}
	u->invite_tx = NULL; /* ACKed by the transaction */
	if ((code == 401 || code == 407) && !u->cancelled && !u->cancel_pending) {
		on_challenge(u, code, resp);
		return;
	}
	if (code == 487 && u->cancelled) {
		finish(u, code, u->why);
		return;
	}
	{
		osip_message_t *om = resp->osip;
		snprintf(why, sizeof(why), "%d %s", code,
			om->reason_phrase != NULL ? om->reason_phrase : "");
	}
	finish(u, code, why);
}

static void
send_invite_tx(struct sip_uac *u)
{
	char *msg;
	size_t len;
	int rc;

	msg = build_request(u, "INVITE", &len);
	if (msg == NULL) {
		finish(u, 500, "INVITE too large");
		return;
	}
	rc = sip_client_send(&u->invite_tx, u->stack, u->transport, (struct sockaddr *)&u->proxy,
		u->proxylen, "INVITE", u->branch, msg, len, on_invite_response, u);
	free(msg);
	if (rc != 0) {
		char why[96];
		u->invite_tx = NULL;
		snprintf(why, sizeof(why), "could not be sent: %s", strerror(rc));
		finish(u, 503, why);
		return;
	}
	sip_client_on_provisional(u->invite_tx, on_provisional);
}

int
sip_uac_invite(struct sip_uac **up, struct sip_stack *s, const struct sip_uac_params *p,
	const struct sip_uac_ops *ops, void *arg)
{
	struct sip_uac *u = calloc(1, sizeof(*u));
	char tok[24];
	int rc = ENOMEM;

	if (u == NULL)
		return ENOMEM;
	u->stack = s;
	u->transport = p->transport;
	memcpy(&u->proxy, p->proxy, p->proxylen);
	u->proxylen = p->proxylen;
	u->ops = ops;
	u->arg = arg;
	u->ring_timeout_ms = p->ring_timeout_ms;
	u->ruri = strdup(p->ruri);
	u->from = strdup(p->from);
	u->sdp = p->sdp != NULL ? strdup(p->sdp) : NULL;
	u->username = p->username != NULL ? strdup(p->username) : NULL;
	u->password = p->password != NULL ? strdup(p->password) : NULL;
	u->realm = p->realm != NULL ? strdup(p->realm) : NULL;
	if (u->ruri == NULL || u->from == NULL || (p->sdp != NULL && u->sdp == NULL) ||
	    (p->username != NULL && u->username == NULL) ||
	    (p->password != NULL && u->password == NULL) || (p->realm != NULL && u->realm == NULL))
		goto fail;
	if (p->route) {
		/* the proxy as a loose router (RFC 3261 16.12.1.1) */
		char host[INET6_ADDRSTRLEN];
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)p->proxy;
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)p->proxy;

		if (p->proxy->sa_family == AF_INET6) {
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			snprintf(u->route, sizeof(u->route), "<sip:[%s]:%u;lr>", host,
				ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			snprintf(u->route, sizeof(u->route), "<sip:%s:%u;lr>", host,
				ntohs(s4->sin_port));
		}
	}
	sip_random_token(tok, sizeof(tok));
	if (p->call_id != NULL)
		str_copy(u->call_id, p->call_id, sizeof(u->call_id));
	else
		snprintf(u->call_id, sizeof(u->call_id), "%s@ivrd", tok);
	sip_random_token(u->local_tag, sizeof(u->local_tag));
	sip_new_branch(u->branch, sizeof(u->branch));
	u->cseq = arc4random_uniform(10000) + 1;
	u->timer = evtimer_new(s->base, on_timer, u);
	if (u->timer == NULL)
		goto fail;
	u->done = true; /* no callback from inside this function */
	send_invite_tx(u);
	u->done = false;
	if (u->invite_tx == NULL) {
		rc = EIO;
		goto fail;
	}
	if (u->ring_timeout_ms > 0)
		timer_set(u->timer, u->ring_timeout_ms);
	log_msg(LOG_PRIO_INFO, "sip", u->call_id, "INVITE %s from %s", u->ruri, u->from);
	*up = u;
	return 0;
fail:
	sip_uac_free(u);
	return rc;
}

struct sip_dialog *
sip_uac_dialog(struct sip_uac *u)
{
	return u->have_dlg ? &u->dlg : NULL;
}

const char *
sip_uac_call_id(const struct sip_uac *u)
{
	return u->call_id;
}

const char *
sip_uac_remote_tag(const struct sip_uac *u)
{
	return u->remote_tag;
}

void
sip_uac_free(struct sip_uac *u)
{
	if (u == NULL)
		return;
	sip_client_detach(u->invite_tx);
	sip_client_detach(u->cancel_tx);
	if (u->timer != NULL)
		event_free(u->timer);
	sip_dialog_free(&u->dlg);
	free(u->ack);
	free(u->ruri);
	free(u->from);
	free(u->sdp);
	free(u->username);
	if (u->password != NULL)
		explicit_bzero(u->password, strlen(u->password));
	free(u->password);
	free(u->realm);
	free(u);
}
