/* Calls ivrd places: the INVITE through ivrd.sip.outbound (sip/uac.c), then a prompt to the
 * callee and the next step (hang up, or what the requester does in played()). Journaled as
 * dial.start, dial.result and dial.end under the call's own Call-ID. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_int.h"
#include "ivr/conf.h"
#include "ivr/hmap.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/rtp_session.h"
#include "ivr/sdp.h"
#include "ivr/sip.h"
#include "ivr/uac.h"
#include "ivr/util.h"

#define OUT_ALLOW "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY\r\n"

struct outbound {
	struct hmap *calls; /* Call-ID -> struct call_out */
};

enum out_state {
	OUT_DIALING, /* INVITE sent, no answer yet */
	OUT_PLAYING, /* answered, the prompt playing */
	OUT_NEXT,    /* the prompt played: the requester's step */
	OUT_LEAVING, /* our BYE sent */
	OUT_ENDED,
};

static const char *const out_state_names[] = {
	"dialing", "playing", "next", "leaving", "ended",
};

struct call_out {
	struct call_mgr *mgr;
	struct conf *conf;
	enum out_state state;
	char call_id[64];
	char number[128];
	char prompt[128];
	int prompt_id;
	int lang;
	struct sip_uac *uac;
	struct rtp_session *rtp;
	struct sdp_media media;
	struct sip_client_tx *bye_tx;
	struct event *free_ev;
	int64_t start_mono;
	const char *result;
	int code;
	char reason[256];
	char end_reason[160];
	void (*played)(void *arg, struct call_out *o);
	void (*done)(void *arg, const struct call_out_result *r);
	void *arg;
	/* REFER (call_out_refer): its CSeq names the NOTIFYs about it (RFC 3515 2.4.4) */
	struct sip_client_tx *refer_tx;
	uint32_t refer_cseq;
	void (*refer_result)(void *arg, int code, const char *why);
	void *refer_arg;
};

static void
set_state(struct call_out *o, enum out_state s)
{
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "outbound %s -> %s", out_state_names[o->state],
		out_state_names[s]);
	o->state = s;
}

static void
record(struct call_out *o, struct journal_event *ev)
{
	struct metrics *mt = call_mgr_metrics(o->mgr);

	ev->call_id = o->call_id;
	if (ev->duration_ms == 0)
		ev->duration_ms = -1;
	if (mt != NULL) {
		if (strcmp(ev->event, JEV_DIAL_RESULT) == 0) {
			char labels[64];
			snprintf(labels, sizeof(labels), "result=%s", ev->result);
			metrics_add(mt, "dial.result", labels, 1);
		} else if (strcmp(ev->event, JEV_DIAL_START) == 0) {
			metrics_add(mt, "dial.start", NULL, 1);
		}
	}
	if (journal_append(call_mgr_journal(o->mgr), ev) != 0)
		log_msg(LOG_PRIO_ERR, "call", o->call_id, "journal: %s event lost (no memory)",
			ev->event);
}

/* What a final response means to the one who asked for the call (call_int.h). */
const char *
call_out_result_of(int code)
{
	if (code >= 200 && code < 300)
		return "answered";
	switch (code) {
	case 486:
	case 600:
		return "busy";
	case 603:
		return "declined";
	case 480:
	case 487:
		return "no answer";
	case 401:
	case 407:
		return "auth refused";
	case 404:
	case 410:
	case 484:
	case 485:
	case 604:
		return "invalid number";
	case 408:
	case 500:
	case 502:
	case 503:
	case 504:
		return "unreachable";
	default:
		return "failed";
	}
}

static void
journal_result(struct call_out *o)
{
	char detail[32];
	struct journal_event ev = {
		.event = JEV_DIAL_RESULT, .dnis = o->number, .result = o->result,
		.reason = o->reason, .detail = detail,
	};

	snprintf(detail, sizeof(detail), "sip %d", o->code);
	record(o, &ev);
	log_msg(LOG_PRIO_NOTICE, "call", o->call_id, "dial %s: %s (%d %s)", o->number, o->result,
		o->code, o->reason);
}

static void
out_free(evutil_socket_t fd, short what, void *arg)
{
	struct call_out *o = arg;
	(void)fd;
	(void)what;

	event_free(o->free_ev);
	sip_uac_free(o->uac);
	rtp_session_free(o->rtp);
	conf_unref(o->conf);
	free(o);
}

/* The end, answered or not: done() runs, then the call is freed from the loop. */
static void
out_end(struct call_out *o, const char *reason)
{
	struct outbound *ob = *call_mgr_outbound(o->mgr);
	int64_t dur = clock_mono_ms() - o->start_mono;
	struct call_out_result r = {
		.call_id = o->call_id, .number = o->number, .result = o->result,
		.sip_code = o->code, .reason = o->reason, .duration_ms = dur,
	};
	void (*done)(void *, const struct call_out_result *) = o->done;

	if (o->state == OUT_ENDED)
		return;
	if (o->state != OUT_DIALING) {
		struct journal_event ev = {
			.event = JEV_DIAL_END, .dnis = o->number, .reason = reason,
			.duration_ms = dur,
		};
		record(o, &ev);
	}
	set_state(o, OUT_ENDED);
	rtp_session_stop(o->rtp);
	sip_client_detach(o->bye_tx);
	o->bye_tx = NULL;
	sip_client_detach(o->refer_tx);
	o->refer_tx = NULL;
	o->refer_result = NULL;
	hmap_del(ob->calls, o->call_id);
	o->done = NULL;
	o->played = NULL;
	if (done != NULL)
		done(o->arg, &r);
	event_active(o->free_ev, 0, 0);
}

static void
on_bye_response(void *arg, int code, const struct sip_msg *resp)
{
	struct call_out *o = arg;
	(void)code;
	(void)resp;

	o->bye_tx = NULL;
	out_end(o, o->end_reason);
}

static void
send_bye(struct call_out *o, const char *reason)
{
	struct sip_dialog *d = sip_uac_dialog(o->uac);

	str_copy(o->end_reason, reason, sizeof(o->end_reason));
	set_state(o, OUT_LEAVING);
	rtp_session_stop(o->rtp);
	if (d == NULL || sip_dialog_send(&o->bye_tx, call_mgr_sip(o->mgr), d, "BYE", NULL, NULL,
		NULL, on_bye_response, o) != 0) {
		o->bye_tx = NULL;
		out_end(o, reason);
	}
}

void
call_out_hangup(struct call_out *o, const char *reason)
{
	switch (o->state) {
	case OUT_DIALING:
		sip_uac_cancel(o->uac, reason);
		break;
	case OUT_PLAYING:
	case OUT_NEXT:
		send_bye(o, reason);
		break;
	default:
		break;
	}
}

void
call_out_detach(struct call_out *o)
{
	if (o == NULL)
		return;
	o->done = NULL;
	o->played = NULL;
	o->refer_result = NULL;
}

int
call_out_play(struct call_out *o, int prompt_id)
{
	const struct prompt *p;

	if (o->state != OUT_NEXT || prompt_id < 0 || (size_t)prompt_id >= o->conf->nprompts ||
	    (p = conf_prompt(o->conf, o->lang, prompt_id)) == NULL)
		return EINVAL;
	set_state(o, OUT_PLAYING);
	rtp_session_play(o->rtp, (struct prompt *)p, o->conf->prompt_names[prompt_id], false);
	return 0;
}

/* The transfer's fate, told once. */
static void
refer_done(struct call_out *o, int code, const char *why)
{
	void (*cb)(void *, int, const char *) = o->refer_result;

	o->refer_result = NULL;
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "transfer: %s", why);
	if (cb != NULL)
		cb(o->refer_arg, code, why);
}

static void
on_refer_response(void *arg, int code, const struct sip_msg *resp)
{
	struct call_out *o = arg;
	char why[64];
	(void)resp;

	o->refer_tx = NULL;
	if (code >= 200 && code < 300)
		return; /* the outcome comes in NOTIFYs */
	if (code == 408)
		snprintf(why, sizeof(why), "REFER got no answer");
	else
		snprintf(why, sizeof(why), "REFER refused with %d", code);
	refer_done(o, code, why);
}

int
call_out_refer(struct call_out *o, const char *target,
	void (*result)(void *arg, int code, const char *why), void *arg)
{
	struct sip_dialog *d = sip_uac_dialog(o->uac);
	char extra[768];
	int rc;

	if (o->state != OUT_NEXT || d == NULL || o->refer_result != NULL || target == NULL ||
	    strcspn(target, "\r\n<>") != strlen(target))
		return EINVAL;
	if (snprintf(extra, sizeof(extra), strchr(o->conf->outbound.from, '<') != NULL ?
		"Refer-To: <%s>\r\nReferred-By: %s\r\n" : "Refer-To: <%s>\r\nReferred-By: <%s>\r\n",
		target, o->conf->outbound.from) >= (int)sizeof(extra))
		return EINVAL;
	rc = sip_dialog_send(&o->refer_tx, call_mgr_sip(o->mgr), d, "REFER", extra, NULL, NULL,
		on_refer_response, o);
	if (rc != 0) {
		o->refer_tx = NULL;
		return rc;
	}
	o->refer_cseq = d->local_cseq;
	o->refer_result = result;
	o->refer_arg = arg;
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "REFER to %s", target);
	return 0;
}

/* NOTIFY for our REFER (RFC 3515 2.4.5): the sipfrag's status line is the transfer's fate. */
static void
out_notify(struct call_out *o, struct sip_server_tx *tx, const struct sip_msg *req)
{
	const char *event = sip_msg_header(req, "event");
	const char *state = sip_msg_header(req, "subscription-state");
	const char *body, *id;
	size_t blen, n;
	int code = 0;
	char frag[64], why[64];

	if (event == NULL)
		event = sip_msg_header(req, "o");
	n = event != NULL ? strcspn(event, "; \t") : 0;
	if (n != 5 || strncasecmp(event, "refer", 5) != 0) {
		sip_respond(tx, 489, "Bad Event", NULL, "Allow-Events: refer\r\n", NULL, NULL);
		return;
	}
	if (o->refer_cseq == 0) {
		sip_respond(tx, 481, "Subscription Does Not Exist", NULL, NULL, NULL, NULL);
		return;
	}
	sip_respond(tx, 200, "OK", NULL, NULL, NULL, NULL);
	id = strcasestr(event, "id=");
	if (o->refer_result == NULL ||
	    (id != NULL && (uint32_t)strtoul(id + 3, NULL, 10) != o->refer_cseq))
		return;
	body = sip_msg_body(req, &blen);
	if (body != NULL && blen > 0) {
		n = blen < sizeof(frag) - 1 ? blen : sizeof(frag) - 1;
		memcpy(frag, body, n);
		frag[n] = '\0';
		if (sscanf(frag, "SIP/2.0 %d", &code) != 1)
			code = 0;
	}
	if (code >= 200) {
		snprintf(why, sizeof(why), "target answered %d", code);
		refer_done(o, code, why);
	} else if (state != NULL && strncasecmp(state, "terminated", 10) == 0) {
		refer_done(o, 500, "subscription ended without a final result");
	}
}

const char *
call_out_call_id(const struct call_out *o)
{
	return o->call_id;
}

size_t
call_mgr_outbound_count(const struct call_mgr *m)
{
	struct outbound *ob = *call_mgr_outbound((struct call_mgr *)m);

	return ob != NULL ? hmap_count(ob->calls) : 0;
}

/* --- RTP --- */

static void
r_key(void *arg, char key, enum dtmf_path path)
{
	(void)arg;
	(void)key;
	(void)path;
}

static void
r_drained(void *arg)
{
	struct call_out *o = arg;

	if (o->state != OUT_PLAYING)
		return;
	set_state(o, OUT_NEXT);
	if (o->played != NULL)
		o->played(o->arg, o);
	else
		send_bye(o, "prompt played");
}

static void
r_inactive(void *arg)
{
	struct call_out *o = arg;

	if (o->state == OUT_PLAYING || o->state == OUT_NEXT)
		send_bye(o, "no RTP from the callee");
}

static const struct rtp_session_ops rtp_ops = {
	.key = r_key,
	.drained = r_drained,
	.inactive = r_inactive,
};

/* --- SIP --- */

static void
u_progress(void *arg, int code)
{
	struct call_out *o = arg;

	log_msg(LOG_PRIO_INFO, "call", o->call_id, "dial %s: %d", o->number, code);
}

static void
u_answered(void *arg, const struct sip_msg *resp)
{
	struct call_out *o = arg;
	const struct prompt *p;
	const char *body;
	size_t blen;
	char err[200];

	if (o->state == OUT_ENDED) {
		/* given up (shutdown) while the 2xx was on its way: end it at once */
		struct sip_client_tx *bye;
		sip_dialog_send(&bye, call_mgr_sip(o->mgr), sip_uac_dialog(o->uac), "BYE", NULL,
			NULL, NULL, NULL, NULL);
		return;
	}
	o->code = sip_msg_status(resp);
	body = sip_msg_body(resp, &blen);
	if (body == NULL || blen == 0 ||
	    sdp_answer_parse(&o->media, body, blen, err, sizeof(err)) != 0) {
		if (body == NULL || blen == 0)
			str_copy(err, "no SDP answer", sizeof(err));
		o->result = "failed";
		snprintf(o->reason, sizeof(o->reason), "answered, but the media cannot be used: %s",
			err);
		journal_result(o);
		set_state(o, OUT_NEXT);
		send_bye(o, o->reason);
		return;
	}
	o->result = "answered";
	str_copy(o->reason, "answered", sizeof(o->reason));
	journal_result(o);
	set_state(o, OUT_PLAYING);
	rtp_session_start(o->rtp, (struct sockaddr *)&o->media.remote, o->media.remote_len,
		o->media.codec, o->media.codec_pt, o->media.te_pt);
	p = o->prompt_id >= 0 ? conf_prompt(o->conf, o->lang, o->prompt_id) : NULL;
	if (p != NULL)
		rtp_session_play(o->rtp, (struct prompt *)p, o->conf->prompt_names[o->prompt_id],
			false);
	else
		r_drained(o);
}

static void
u_failed(void *arg, int code, const char *reason)
{
	struct call_out *o = arg;

	if (o->state == OUT_ENDED)
		return;
	o->code = code;
	o->result = call_out_result_of(code);
	if (code == 487 && strncmp(reason, "no answer", 9) != 0)
		o->result = "cancelled"; /* hung up by the requester or at shutdown */
	str_copy(o->reason, reason, sizeof(o->reason));
	journal_result(o);
	out_end(o, reason);
}

static const struct sip_uac_ops uac_ops = {
	.progress = u_progress,
	.answered = u_answered,
	.failed = u_failed,
};

bool
outbound_in_dialog(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req)
{
	struct outbound *ob = *call_mgr_outbound(m);
	struct call_out *o = ob != NULL ? hmap_get(ob->calls, req->call_id) : NULL;
	const char *method = sip_msg_method(req);
	const char *ftag = sip_msg_from_tag(req), *ttag = sip_msg_to_tag(req);
	struct sip_dialog *d;

	if (o == NULL)
		return false;
	d = sip_uac_dialog(o->uac);
	/* RFC 3261 12.2.2: Call-ID, our tag and the callee's */
	if (d == NULL || ttag == NULL || strcmp(ttag, d->local_tag) != 0 || ftag == NULL ||
	    strcmp(ftag, sip_uac_remote_tag(o->uac)) != 0) {
		sip_respond(tx, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL, NULL);
		return true;
	}
	if (d->remote_cseq != 0 && sip_msg_cseq(req) < d->remote_cseq) {
		sip_respond(tx, 500, "Server Internal Error", NULL, "Retry-After: 1\r\n", NULL, NULL);
		return true;
	}
	d->remote_cseq = sip_msg_cseq(req);
	if (o->rtp != NULL)
		rtp_session_touch(o->rtp);
	if (strcmp(method, "BYE") == 0) {
		sip_respond(tx, 200, "OK", NULL, NULL, NULL, NULL);
		if (o->state == OUT_LEAVING) {
			sip_client_detach(o->bye_tx);
			o->bye_tx = NULL;
			out_end(o, o->end_reason);
		} else {
			out_end(o, "callee hung up");
		}
	} else if (strcmp(method, "OPTIONS") == 0) {
		sip_respond(tx, 200, "OK", NULL, OUT_ALLOW, NULL, NULL);
	} else if (strcmp(method, "NOTIFY") == 0) {
		out_notify(o, tx, req);
	} else if (strcmp(method, "INVITE") == 0) {
		/* a media change ivrd does not follow on this leg: the session stays as it is */
		sip_respond(tx, 488, "Not Acceptable Here", NULL, NULL, NULL, NULL);
	} else {
		sip_respond(tx, 405, "Method Not Allowed", NULL, OUT_ALLOW, NULL, NULL);
	}
	return true;
}

/* Digits (with + * #) become the user part of sip:NUMBER@HOST ('#' escaped, RFC 3261 25.1);
 * a sip: URI is taken as it is. */
static bool
request_uri(char *buf, size_t size, const char *number, const struct conf_outbound *ob)
{
	size_t off = 0;

	if (strncmp(number, "sip:", 4) == 0) {
		if (strcspn(number, " \t\r\n<>\"") != strlen(number) || strlen(number) < 6)
			return false;
		return str_copy(buf, number, size) < size;
	}
	if (*number == '\0')
		return false;
	str_appendf(buf, size, &off, "sip:");
	for (const char *p = number; *p != '\0'; p++) {
		if (*p == '#')
			str_appendf(buf, size, &off, "%%23");
		else if ((*p >= '0' && *p <= '9') || *p == '+' || *p == '*')
			str_appendf(buf, size, &off, "%c", *p);
		else
			return false;
	}
	if (ob->domain != NULL)
		str_appendf(buf, size, &off, "@%s", ob->domain);
	else if (ob->proxy.addr.ss_family == AF_INET6)
		str_appendf(buf, size, &off, "@%s", strchr(ob->proxy.text, '['));
	else
		str_appendf(buf, size, &off, "@%s", strchr(ob->proxy.text, ':') + 1);
	return off < size;
}

int
call_mgr_dial(struct call_out **op, struct call_mgr *m, const struct call_dial_req *req,
	char *err, size_t errlen)
{
	struct conf *conf = call_mgr_conf(m);
	const struct conf_outbound *cob = &conf->outbound;
	struct outbound **obp = call_mgr_outbound(m), *ob;
	struct call_out *o = NULL;
	struct sip_uac_params p = {0};
	char ruri[256], offer[SDP_ANSWER_MAX], tok[24];
	int rc;

	if (!cob->on) {
		snprintf(err, errlen, "no outbound proxy: set ivrd.sip.outbound.proxy");
		return ENOTCONN;
	}
	if (call_mgr_draining(m)) {
		snprintf(err, errlen, "the daemon is stopping");
		return ESHUTDOWN;
	}
	if (*obp == NULL) {
		if ((*obp = calloc(1, sizeof(**obp))) == NULL)
			return ENOMEM;
		if (hmap_new(&(*obp)->calls) != 0) {
			free(*obp);
			*obp = NULL;
			return ENOMEM;
		}
	}
	ob = *obp;
	if (hmap_count(ob->calls) >= cob->max_outbound) {
		snprintf(err, errlen, "%u calls out already (ivrd.sip.outbound.max_outbound)",
			cob->max_outbound);
		return EBUSY;
	}
	if (strlen(req->number) >= 128 || !request_uri(ruri, sizeof(ruri), req->number, cob)) {
		snprintf(err, errlen, "\"%.64s\" is not a number (digits, + * #) or a sip: URI",
			req->number);
		return EINVAL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ENOMEM;
	o->prompt_id = conf->goodbye_prompt;
	if (req->prompt != NULL && *req->prompt == '\0') {
		o->prompt_id = -1; /* no prompt: played() at once */
	} else if (req->prompt != NULL) {
		o->prompt_id = -1;
		for (size_t i = 0; i < conf->nprompts; i++)
			if (strcmp(conf->prompt_names[i], req->prompt) == 0)
				o->prompt_id = (int)i;
		if (o->prompt_id < 0) {
			snprintf(err, errlen, "no prompt named \"%.100s\" in the configuration",
				req->prompt);
			free(o);
			return EINVAL;
		}
	}
	o->mgr = m;
	o->lang = req->lang >= 0 && (size_t)req->lang < conf->nlangs ? req->lang : 0;
	str_copy(o->number, req->number, sizeof(o->number));
	str_copy(o->prompt, o->prompt_id >= 0 ? conf->prompt_names[o->prompt_id] : "",
		sizeof(o->prompt));
	sip_random_token(tok, sizeof(tok));
	snprintf(o->call_id, sizeof(o->call_id), "%s@ivrd", tok);
	o->played = req->played;
	o->done = req->done;
	o->arg = req->arg;
	o->start_mono = clock_mono_ms();
	o->result = "failed";
	o->free_ev = event_new(call_mgr_base(m), -1, 0, out_free, o);
	if (o->free_ev == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	rc = rtp_session_new(&o->rtp, call_mgr_pacer(m), &rtp_ops, o, o->call_id);
	if (rc != 0) {
		snprintf(err, errlen, "no RTP port: %s", strerror(rc));
		goto fail;
	}
	/* nobody listens for keys on a test call: spare the detector */
	rtp_session_set_inband(o->rtp, DTMF_INBAND_OFF);
	if (sdp_write_offer(offer, sizeof(offer), conf->rtp_address, rtp_session_port(o->rtp),
		arc4random(), 1, SDP_SENDRECV, 20) < 0) {
		rc = EINVAL;
		snprintf(err, errlen, "cannot write the SDP offer");
		goto fail;
	}
	/* the proxy is reached over UDP, from a listener of its address family */
	p.transport = sip_stack_find(call_mgr_sip(m), false, cob->proxy.addr.ss_family);
	p.proxy = (const struct sockaddr *)&cob->proxy.addr;
	p.proxylen = cob->proxy.addrlen;
	p.route = true;
	p.ruri = ruri;
	p.from = cob->from;
	p.username = cob->username;
	p.password = cob->password;
	p.realm = cob->realm;
	p.sdp = offer;
	p.call_id = o->call_id;
	p.ring_timeout_ms = cob->ring_timeout_ms;
	if (p.transport == NULL) {
		rc = ENOTCONN;
		snprintf(err, errlen, "no UDP SIP listener of the proxy's address family");
		goto fail;
	}
	if ((rc = hmap_put(ob->calls, o->call_id, o)) != 0)
		goto fail;
	rc = sip_uac_invite(&o->uac, call_mgr_sip(m), &p, &uac_ops, o);
	if (rc != 0) {
		hmap_del(ob->calls, o->call_id);
		snprintf(err, errlen, "INVITE not sent: %s", strerror(rc));
		goto fail;
	}
	o->conf = conf_ref(conf);
	{
		struct journal_event ev = {
			.event = JEV_DIAL_START, .dnis = o->number, .prompt = o->prompt,
			.reason = req->who, .detail = ruri,
			.generation = (int64_t)conf->generation,
		};
		record(o, &ev);
	}
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "dialing %s (%s) via %s, prompt %s, rtp port %u",
		o->number, ruri, cob->proxy.text, o->prompt, rtp_session_port(o->rtp));
	if (op != NULL)
		*op = o;
	return 0;
fail:
	if (o->free_ev != NULL)
		event_free(o->free_ev);
	rtp_session_free(o->rtp);
	free(o);
	return rc;
}

static void
collect(void *arg, const char *key, void *value)
{
	struct call_out ***p = arg;
	(void)key;
	*(*p)++ = value;
}

void
outbound_end_all(struct call_mgr *m, const char *reason)
{
	struct outbound *ob = *call_mgr_outbound(m);
	struct call_out **all, **p;
	size_t n;

	if (ob == NULL || (n = hmap_count(ob->calls)) == 0)
		return;
	if ((all = calloc(n, sizeof(*all))) == NULL)
		return;
	p = all;
	hmap_foreach(ob->calls, collect, &p);
	for (size_t i = 0; i < n; i++) {
		struct call_out *o = all[i];
		if (o->state == OUT_DIALING) {
			sip_uac_cancel(o->uac, reason);
			o->result = "failed";
			o->code = 0;
			str_copy(o->reason, reason, sizeof(o->reason));
			journal_result(o);
		} else if (o->state == OUT_PLAYING || o->state == OUT_NEXT) {
			send_bye(o, reason);
		}
		out_end(o, reason);
	}
	free(all);
}

void
outbound_free(struct call_mgr *m)
{
	struct outbound **obp = call_mgr_outbound(m);

	if (*obp == NULL)
		return;
	hmap_free((*obp)->calls);
	free(*obp);
	*obp = NULL;
}
