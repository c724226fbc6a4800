/* A call, from INVITE to its end: answer, menus, routing, transfer, journal. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "ivr/call.h"
#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/dtmf.h"
#include "ivr/hmap.h"
#include "ivr/hours.h"
#include "ivr/journal.h"
#include "ivr/journal_query.h"
#include "ivr/log.h"
#include "ivr/menu.h"
#include "ivr/metrics.h"
#include "ivr/rtp_session.h"
#include "ivr/sdp.h"
#include "ivr/sip.h"
#include "ivr/util.h"

#define ALLOW "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, UPDATE, INFO\r\n"
/* Events the loop guard keeps per caller and kind; its thresholds stay within this. */
#define GUARD_RING 32

enum call_state {
	CALL_RINGING,  /* 180 sent, answer delayed */
	CALL_MENU,     /* answered, in the menus */
	CALL_ROUTING,  /* hearing why a department cannot take the call */
	CALL_OFFER,    /* in the callback conversation (offer.c) */
	CALL_TRANSFER, /* REFER sent, waiting for the outcome */
	CALL_GOODBYE,  /* hearing the goodbye prompt, then BYE */
	CALL_LEAVING,  /* our BYE sent */
	CALL_ENDED,
};

static const char *const state_names[] = {
	"ringing", "menu", "routing", "offer", "transfer", "goodbye", "leaving", "ended",
};

/* Where a call goes when the caller declines a call back. */
enum offer_after {
	AFTER_ACTION,   /* c->after: the department's fallback */
	AFTER_MENU,     /* the menu the option was in (menu_resume) */
	AFTER_ENTRY,    /* the entry menu (a returning caller) */
	AFTER_OVERFLOW, /* the operator, as past the overflow limit */
};

struct call_mgr {
	struct event_base *base;
	struct conf *conf;
	struct journal *journal;
	struct rtp_pacer *pacer;
	struct sip_stack *sip;
	struct hmap *calls;
	struct hmap *overrides; /* department name -> (enum dept_override) */
	/* By department name, so they survive reloads: */
	struct hmap *rr;        /* -> 1 + the first target of the next round-robin transfer */
	struct hmap *inflight;  /* -> transfers under way */
	/* Loop guard: caller number -> struct guard_history, seeded once from the journal and
	 * kept up to date by record(), so no call waits on SQLite. */
	struct hmap *history;
	bool history_on;
	int64_t history_swept_ms;
	struct metrics *metrics;
	struct call_stats stats;
	bool draining;
	struct hmap *by_source;  /* source IP -> calls in progress from it */
	struct outbound *outbound; /* calls ivrd placed (outbound.c), NULL before the first */
	struct callback_mgr *callbacks; /* the promise ledger; NULL: none */
	int64_t refuse_log_ms;   /* rate limit for refusal log lines */
	unsigned refuse_log_count;
};

struct call {
	struct call_mgr *mgr;
	struct conf *conf;
	enum call_state state;
	char call_id[256];
	char local_tag[24];
	char remote_tag[128];
	char ani[64], dnis[64];
	int lang;
	int64_t start_mono, answer_mono;

	struct sip_dialog dlg;
	struct sip_server_tx *invite_tx; /* until its final response */
	char *ok_msg;                    /* our 2xx, retransmitted until ACK */
	size_t ok_len;
	struct sockaddr_storage invite_src;
	socklen_t invite_srclen;
	char source[INET6_ADDRSTRLEN]; /* the INVITE's source address, counted in by_source */
	unsigned ok_interval;
	int64_t ok_deadline;
	struct event *ok_timer;
	struct event *answer_timer;
	struct event *input_timer;
	struct event *transfer_timer;
	struct event *free_ev;
	char sdp_answer[SDP_ANSWER_MAX]; /* our SDP as last sent: answer or offer */
	uint64_t sdp_id, sdp_version;    /* its o=; the version goes up when it changes */
	bool offer_sent;     /* our 2xx carries an offer: the answer comes in the ACK */
	bool media_started;  /* late offer: RTP and the menus wait for the answer */
	bool held;           /* the caller cannot hear us (RFC 3264 8.4) */
	unsigned input_ms;   /* the no-input timer the menu asked for, kept while held */
	uint32_t ok_cseq;    /* CSeq of the INVITE our 2xx answers */

	/* session timer (RFC 4028); se_s 0 when the caller asked for none */
	unsigned se_s;
	bool se_we_refresh;  /* refresher=uas */
	bool se_peer_timer;  /* the caller supports "timer" */
	bool peer_update;    /* the caller's Allow lists UPDATE */
	int64_t se_refreshed;
	struct event *se_timer;
	struct sip_client_tx *refresh_tx;
	bool refresh_invite; /* refresh_tx is a re-INVITE: an offer of ours is pending */

	struct rtp_session *rtp;
	struct sdp_media media;
	struct menu_session menu;
	const char *last_menu;
	struct dtmf_arbiter keys; /* one press, one key, whatever paths carry it */
	enum dtmf_path key_path;  /* the path of the key the menu is handling */

	/* routing and transfer */
	int dept;
	size_t target, first, tried; /* targets: current, tried first, tried so far */
	unsigned hops;
	bool holds_slot;     /* counted in the department's transfers in flight */
	bool *failed;        /* [dept]: its transfer failed in this call; NULL until one does */
	bool escalated;      /* sent to the loop guard's department */
	bool escalating;     /* on the way there: its route is already journaled */
	bool noted_start;    /* this call's start is in the guard's history */
	struct conf_action after; /* where to go when the routing prompt ends */
	char after_reason[200];
	struct sip_client_tx *refer_tx;
	struct sip_client_tx *bye_tx;
	uint32_t refer_cseq;
	bool refer_accepted;
	bool transferred;

	/* What a route decision was made from, journaled with each one (route_inputs). */
	char dnis_rule[64]; /* "numbers.[1]", or "default" for numbers nobody listed */
	char ani_rule[96];  /* the caller rule that fired, "" when none */
	const struct conf_caller *caller; /* that rule, in this call's generation */
	char digits[40];    /* the last multi-digit entry, masked when sensitive */
	char guard[128];    /* the loop guard's verdict, "" until it has one */

	/* callback conversation (offer.c) */
	struct offer *offer;
	enum offer_after offer_after;
	bool offered;       /* one offer a call: a chain of closed departments asks once */
	bool promised;      /* a promise was stored and told: the call ends "callback promised" */
	int asked_dept;     /* the department the caller asked for (overflow offers), -1 */
	int entry;          /* the entry menu */
	int64_t returning_id; /* the open promise a returning caller was told of */
};

static void call_end(struct call *c, const char *result, const char *reason);
static void route_dept(struct call *c, int dept, const char *reason);
static void take_action(struct call *c, const struct conf_action *a, const char *reason);

static void
set_state(struct call *c, enum call_state s)
{
	if (c->state == s)
		return;
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "state %s -> %s", state_names[c->state],
		state_names[s]);
	c->state = s;
}

/* Every journaled event also counts, under the same dotted name space as status. */
static void
count(struct call_mgr *m, const struct journal_event *ev)
{
	char labels[160];

	if (m->metrics == NULL)
		return;
	if (strcmp(ev->event, JEV_MENU_ENTER) == 0 || strcmp(ev->event, JEV_INVALID) == 0 ||
	    strcmp(ev->event, JEV_TIMEOUT) == 0 || strcmp(ev->event, JEV_DROP) == 0) {
		static const char *const names[][2] = {
			{JEV_MENU_ENTER, "menu.enter"}, {JEV_INVALID, "menu.invalid"},
			{JEV_TIMEOUT, "menu.timeout"}, {JEV_DROP, "menu.drop"},
		};
		snprintf(labels, sizeof(labels), "node=%s", ev->menu != NULL ? ev->menu : "none");
		for (size_t i = 0; i < ARRAY_LEN(names); i++)
			if (strcmp(ev->event, names[i][0]) == 0)
				metrics_add(m->metrics, names[i][1], labels, 1);
	} else if (strcmp(ev->event, JEV_TRANSFER_RESULT) == 0) {
		snprintf(labels, sizeof(labels), "dept=%s,result=%s", ev->dept, ev->result);
		metrics_add(m->metrics, "transfer.result", labels, 1);
	} else if (strcmp(ev->event, JEV_ROUTE) == 0) {
		snprintf(labels, sizeof(labels), "dept=%s,result=%s", ev->dept,
			ev->result != NULL ? ev->result : "routed");
		metrics_add(m->metrics, "route.decision", labels, 1);
	} else if (strcmp(ev->event, JEV_CALL_END) == 0) {
		snprintf(labels, sizeof(labels), "result=%s", ev->result);
		metrics_add(m->metrics, "call.end", labels, 1);
	}
}

/* The inputs of a route decision, "key=value; ...": what QA reads to see why a caller was
 * sent where they went. Every input ivrd has goes here, and only here. */
static void
route_inputs(const struct call *c, const char *dept, char *buf, size_t size)
{
	size_t off = 0;
	int d = dept != NULL ? conf_dept_find(c->conf, dept) : -1;

	str_appendf(buf, size, &off, "path=%s; dnis=%s %s", c->menu.path[0] ? c->menu.path : "-",
		c->dnis, c->dnis_rule);
	if (c->ani_rule[0])
		str_appendf(buf, size, &off, "; ani=%s %s", c->ani, c->ani_rule);
	if (c->digits[0])
		str_appendf(buf, size, &off, "; digits=%s", c->digits);
	if (d >= 0) {
		enum dept_override o = call_mgr_dept_state(c->mgr, dept);
		str_appendf(buf, size, &off, "; hours=%s%s",
			call_mgr_dept_open(c->mgr, c->conf, d) ? "open" : "closed",
			o == DEPT_OPEN ? " (opened by an operator)" :
			o == DEPT_CLOSED ? " (closed by an operator)" : "");
	}
	if (c->hops > 1)
		str_appendf(buf, size, &off, "; overflow=%u", c->hops - 1);
	if (c->guard[0])
		str_appendf(buf, size, &off, "; guard=%s", c->guard);
}

/* --- loop guard history --- */

enum guard_kind { GUARD_CALL, GUARD_TRANSFER, GUARD_DROP, GUARD_KINDS };

/* The last GUARD_RING events of each kind for one caller, wall-clock ms. */
struct guard_history {
	int64_t ts[GUARD_KINDS][GUARD_RING];
	unsigned n[GUARD_KINDS]; /* ever noted; the ring holds the last GUARD_RING */
	int64_t last_ms;
};

/* Anonymous, restricted or empty caller numbers say nothing about who calls. */
static bool
ani_counted(const char *ani)
{
	return ani != NULL && strpbrk(ani, "0123456789") != NULL;
}

static int64_t
guard_window_ms(const struct call_mgr *m)
{
	/* with the guard off, history is kept for a day in case a reload turns it back on */
	return (m->conf->loop_guard.on ? m->conf->loop_guard.window_s : 86400) * INT64_C(1000);
}

struct sweep {
	const char **stale;
	size_t n;
	int64_t before;
};

static void
sweep_one(void *arg, const char *key, void *value)
{
	struct sweep *sw = arg;
	const struct guard_history *h = value;

	if (h->last_ms < sw->before)
		sw->stale[sw->n++] = key;
}

/* Forgets callers with nothing in the window, at most once a minute. */
static void
history_sweep(struct call_mgr *m, int64_t now)
{
	struct sweep sw = {.before = now - guard_window_ms(m)};

	if (now - m->history_swept_ms < 60000)
		return;
	m->history_swept_ms = now;
	if ((sw.stale = calloc(hmap_count(m->history) + 1, sizeof(*sw.stale))) == NULL)
		return;
	hmap_foreach(m->history, sweep_one, &sw);
	for (size_t i = 0; i < sw.n; i++)
		free(hmap_del(m->history, sw.stale[i]));
	free(sw.stale);
}

static bool
history_note(struct call_mgr *m, const char *ani, enum guard_kind k, int64_t ts_ms)
{
	struct guard_history *h;

	if (!m->history_on || !ani_counted(ani))
		return false;
	history_sweep(m, clock_wall_ms());
	if ((h = hmap_get(m->history, ani)) == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			return false;
		if (hmap_put(m->history, ani, h) != 0) {
			free(h);
			return false;
		}
	}
	h->ts[k][h->n[k]++ % GUARD_RING] = ts_ms;
	if (ts_ms > h->last_ms)
		h->last_ms = ts_ms;
	return true;
}

static unsigned
history_count(const struct call_mgr *m, const char *ani, enum guard_kind k, int64_t now)
{
	const struct guard_history *h = ani_counted(ani) ? hmap_get(m->history, ani) : NULL;
	int64_t since = now - guard_window_ms(m);
	unsigned n = 0;

	for (unsigned i = 0; h != NULL && i < GUARD_RING && i < h->n[k]; i++)
		if (h->ts[k][i] >= since)
			n++;
	return n;
}

static enum guard_kind
guard_kind(const char *event)
{
	if (strcmp(event, JEV_CALL_START) == 0)
		return GUARD_CALL;
	if (strcmp(event, JEV_TRANSFER_START) == 0)
		return GUARD_TRANSFER;
	if (strcmp(event, JEV_DROP) == 0)
		return GUARD_DROP;
	return GUARD_KINDS;
}

static void
seed_one(void *arg, const char *ani, const char *event, int64_t ts_ms)
{
	enum guard_kind k = guard_kind(event);

	if (k != GUARD_KINDS)
		history_note(arg, ani, k, ts_ms);
}

/* Reads the window's history from the journal once, when the guard first comes on; from
 * then on record() keeps it. */
static void
history_seed(struct call_mgr *m)
{
	struct journal_query *q = NULL;
	char path[4096], err[512];
	int64_t now = clock_wall_ms();
	int rc;

	if (m->history_on || !m->conf->loop_guard.on)
		return;
	m->history_on = true;
	journal_flush(m->journal);
	snprintf(path, sizeof(path), "%s/journal.db", m->conf->state_dir);
	if ((rc = journal_query_open(&q, path, err, sizeof(err))) == 0)
		rc = journal_query_caller_events(q, now - guard_window_ms(m), seed_one, m);
	if (rc != 0 && rc != ENOENT)
		log_warn("guard", "callers' history not read, counting from now: %s",
			q != NULL ? journal_query_error(q) : err);
	else
		log_notice("guard", "callers' history: %zu numbers in the last %lld s",
			hmap_count(m->history), (long long)(guard_window_ms(m) / 1000));
	journal_query_close(q);
}

static void
record(struct call *c, struct journal_event *ev)
{
	char inputs[512];

	if (strcmp(ev->event, JEV_ROUTE) == 0 && ev->detail == NULL) {
		route_inputs(c, ev->dept, inputs, sizeof(inputs));
		ev->detail = inputs;
	}
	count(c->mgr, ev);
	if (guard_kind(ev->event) != GUARD_KINDS) {
		bool noted = history_note(c->mgr, c->ani, guard_kind(ev->event), clock_wall_ms());
		if (guard_kind(ev->event) == GUARD_CALL)
			c->noted_start = noted;
	}
	ev->call_id = c->call_id;
	if (ev->duration_ms == 0 && ev->event != NULL && strcmp(ev->event, JEV_CALL_END) != 0 &&
	    strcmp(ev->event, JEV_DROP) != 0)
		ev->duration_ms = -1;
	if (journal_append(c->mgr->journal, ev) != 0)
		log_msg(LOG_PRIO_ERR, "call", c->call_id, "journal: %s event lost (no memory)",
			ev->event);
}

static void
timer_set(struct event *ev, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (ms == 0)
		event_del(ev);
	else
		event_add(ev, &tv);
}

/* --- menu engine glue --- */

static void
m_play(void *arg, int id, bool interruptible)
{
	struct call *c = arg;
	const struct prompt *p = conf_prompt(c->conf, c->lang, id);

	if (p != NULL)
		rtp_session_play(c->rtp, (struct prompt *)p, c->conf->prompt_names[id],
			interruptible);
}

static void
m_stop(void *arg)
{
	struct call *c = arg;

	rtp_session_flush(c->rtp);
}

static bool
m_interruptible(void *arg)
{
	struct call *c = arg;

	return rtp_session_interruptible(c->rtp);
}

static void
m_timer(void *arg, unsigned ms)
{
	struct call *c = arg;

	/* a caller on hold cannot hear the prompt: no timeout until they are back */
	c->input_ms = ms;
	if (!c->held || ms == 0)
		timer_set(c->input_timer, ms);
}

static void
m_record(void *arg, const struct journal_event *ev)
{
	struct call *c = arg;
	struct journal_event e = *ev;
	char detail[200];

	if (ev->menu != NULL)
		c->last_menu = ev->menu;
	if (strcmp(ev->event, JEV_ROUTE) == 0)
		e.detail = NULL; /* the call knows every input, the menu only its path */
	else if (strcmp(ev->event, JEV_ENTRY) == 0)
		str_copy(c->digits, ev->key, sizeof(c->digits)); /* masked by the menu */
	else if (strcmp(ev->event, JEV_KEY) == 0) {
		snprintf(detail, sizeof(detail), "%s%svia %s", ev->detail ? ev->detail : "",
			ev->detail ? "; " : "", dtmf_path_name(c->key_path));
		e.detail = detail;
	}
	record(c, &e);
}

static void
m_language(void *arg, int lang)
{
	struct call *c = arg;

	log_msg(LOG_PRIO_INFO, "call", c->call_id, "language %s -> %s", c->conf->langs[c->lang],
		c->conf->langs[lang]);
	c->lang = lang;
}

static void
m_route(void *arg, int dept, const char *reason)
{
	struct call *c = arg;

	c->hops = 0;
	route_dept(c, dept, reason);
}

static bool start_offer(struct call *c, enum offer_kind kind, int dept, int64_t id,
	int prompt, const char *reason, enum offer_after after);

/* A menu option "callback:DEPT" (dept) or "callback-cancel" (-1). */
static void
m_callback(void *arg, int dept, const char *reason)
{
	struct call *c = arg;
	bool started = false;

	if (c->mgr->callbacks == NULL)
		log_msg(LOG_PRIO_WARNING, "call", c->call_id, "%s: no call back ledger", reason);
	else if (dept < 0)
		started = start_offer(c, OFFER_CANCEL, 0, 0, -1, reason, AFTER_MENU);
	else if (callback_due_ms(c->mgr->callbacks, c->conf, dept, clock_wall_ms()) < 0)
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "no call back offered from %s: it does "
			"not open within 14 days", c->conf->depts[dept].name);
	else
		started = start_offer(c, OFFER_CALLBACK, dept, 0, -1, reason, AFTER_MENU);
	if (!started) {
		set_state(c, CALL_MENU);
		menu_resume(&c->menu);
	}
}

static const struct menu_ops menu_ops = {
	.play = m_play,
	.stop = m_stop,
	.interruptible = m_interruptible,
	.timer = m_timer,
	.record = m_record,
	.route = m_route,
	.language = m_language,
	.callback = m_callback,
};

static void
on_input_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	(void)fd;
	(void)what;

	if (!c->held)
		menu_timeout(&c->menu);
}

/* --- RTP glue --- */

/* Keys by every path (RFC 4733, INFO, tones) meet here; a press two paths carry counts
 * once. */
static void
r_key(void *arg, char key, enum dtmf_path path)
{
	static const char *const counter[DTMF_NPATHS] = {
		[DTMF_RFC4733] = "dtmf.rfc4733", [DTMF_INFO] = "dtmf.info",
		[DTMF_INBAND] = "dtmf.inband",
	};
	struct call *c = arg;

	if (!dtmf_arbiter_accept(&c->keys, key, path, clock_mono_ms())) {
		metrics_add(c->mgr->metrics, "dtmf.duplicate", NULL, 1);
		/* not the key: the menu may be taking an account number */
		log_msg(LOG_PRIO_INFO, "call", c->call_id,
			"key by %s dropped: the same key came by %s %lld ms before",
			dtmf_path_name(path), dtmf_path_name(c->keys.path),
			(long long)(clock_mono_ms() - c->keys.at_ms));
		return;
	}
	metrics_add(c->mgr->metrics, counter[path], NULL, 1);
	c->key_path = path;
	if (c->state == CALL_MENU) {
		if (menu_masks_keys(&c->menu))
			log_msg(LOG_PRIO_INFO, "call", c->call_id, "key (sensitive) by %s in menu %s",
				dtmf_path_name(path), menu_name(&c->menu));
		else
			log_msg(LOG_PRIO_INFO, "call", c->call_id, "key %c by %s in menu %s", key,
				dtmf_path_name(path), menu_name(&c->menu));
		menu_key(&c->menu, key);
	} else if (c->state == CALL_OFFER && c->offer != NULL) {
		/* the digits of a number to call back are the caller's personal data */
		if (offer_masks_keys(c->offer))
			log_msg(LOG_PRIO_INFO, "call", c->call_id, "key (number) by %s in the call "
				"back offer", dtmf_path_name(path));
		else
			log_msg(LOG_PRIO_INFO, "call", c->call_id, "key %c by %s in the call back "
				"offer", key, dtmf_path_name(path));
		offer_key(c->offer, key);
	}
}

static void send_bye(struct call *c);

static void
r_drained(void *arg)
{
	struct call *c = arg;
	struct conf_action a;

	switch (c->state) {
	case CALL_MENU:
		menu_prompts_done(&c->menu);
		break;
	case CALL_ROUTING:
		a = c->after;
		take_action(c, &a, c->after_reason);
		break;
	case CALL_OFFER:
		if (c->offer != NULL)
			offer_drained(c->offer);
		break;
	case CALL_GOODBYE:
		send_bye(c);
		break;
	default:
		break;
	}
}

static void drop(struct call *c, const char *how);

/* Still in the IVR: hanging up now is a drop. */
static bool
in_ivr(const struct call *c)
{
	return c->state == CALL_MENU || c->state == CALL_ROUTING || c->state == CALL_OFFER ||
		c->state == CALL_TRANSFER;
}

/* No RTP, RTCP or request from the caller for rtp.timeout: the caller is gone (a phone that
 * lost power, a NAT binding that expired) and would hold its slot for ever. */
static void
r_inactive(void *arg)
{
	struct call *c = arg;
	char why[48];

	if (c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	snprintf(why, sizeof(why), "no media for %u s", rtp_session_silent_s(c->rtp));
	str_copy(c->after_reason, why, sizeof(c->after_reason));
	if (in_ivr(c))
		drop(c, why);
	send_bye(c);
}

static const struct rtp_session_ops rtp_ops = {
	.key = r_key,
	.drained = r_drained,
	.inactive = r_inactive,
};

/* --- routing --- */

static void
play(struct call *c, int id, bool interruptible)
{
	m_play(c, id, interruptible);
}

static void
goodbye(struct call *c, const char *reason)
{
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "ending the call: %s", reason);
	str_copy(c->after_reason, reason, sizeof(c->after_reason));
	menu_leave(&c->menu);
	rtp_session_flush(c->rtp);
	set_state(c, CALL_GOODBYE);
	if (c->conf->goodbye_prompt >= 0)
		play(c, c->conf->goodbye_prompt, false);
	if (rtp_session_idle(c->rtp))
		send_bye(c);
}

/* Goes where a fallback (or the menu) points, after the prompt explaining why. */
static void
take_action(struct call *c, const struct conf_action *a, const char *reason)
{
	switch (a->kind) {
	case ACT_DEPT:
		route_dept(c, a->index, reason);
		break;
	case ACT_MENU:
		set_state(c, CALL_MENU);
		menu_enter(&c->menu, a->index);
		break;
	default:
		goodbye(c, "no department could take the call");
		break;
	}
}

/* Plays prompt id, then goes to the department's fallback. */
static void
fall_back(struct call *c, const struct conf_dept *d, int prompt_id, const char *why)
{
	snprintf(c->after_reason, sizeof(c->after_reason), "fallback of %s (%s)", d->name, why);
	c->after = d->fallback;
	rtp_session_flush(c->rtp);
	set_state(c, CALL_ROUTING);
	play(c, prompt_id, false);
	if (rtp_session_idle(c->rtp))
		r_drained(c);
}

/* --- callback offers (the conversation is offer.c's) --- */

static void route_event(struct call *c, const char *dept, const char *result,
	const char *reason);

/* Whether dept offers this caller a call back now, in case why (CB_OFFER_*). */
static bool
offer_wanted(struct call *c, int dept, unsigned why)
{
	const struct conf_dept *d = &c->conf->depts[dept];
	char digits[NUMBER_MAX];

	if (c->mgr->callbacks == NULL || !d->callback.on || (d->callback.offer & why) == 0 ||
	    c->offered)
		return false;
	if (number_normalize(digits, sizeof(digits), c->ani, &c->conf->plan) != 0) {
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "no call back offered from %s: the "
			"caller's number is not one to call", d->name);
		return false;
	}
	if (callback_due_ms(c->mgr->callbacks, c->conf, dept, clock_wall_ms()) < 0) {
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "no call back offered from %s: it does "
			"not open within 14 days", d->name);
		return false;
	}
	return true;
}

static bool
start_offer(struct call *c, enum offer_kind kind, int dept, int64_t id, int prompt,
	const char *reason, enum offer_after after)
{
	int rc;

	if (kind == OFFER_CALLBACK)
		c->offered = true;
	c->offer_after = after;
	menu_leave(&c->menu);
	rtp_session_flush(c->rtp);
	set_state(c, CALL_OFFER);
	/* the conversation may end at once (nothing to cancel): c->offer is set first */
	if ((rc = offer_start(&c->offer, c, kind, dept, id, prompt, reason)) != 0) {
		log_msg(LOG_PRIO_ERR, "call", c->call_id, "call back conversation not started: %s",
			strerror(rc));
		return false;
	}
	return true;
}

/* A department that cannot take the call offers a call back before its fallback: the
 * prompt saying why, then the offer; declined, the fallback as without it. */
static bool
offer_fallback(struct call *c, int dept, unsigned why, int prompt, const char *what)
{
	const struct conf_dept *d = &c->conf->depts[dept];
	char reason[128];

	if (!offer_wanted(c, dept, why))
		return false;
	snprintf(c->after_reason, sizeof(c->after_reason), "fallback of %s (%s)", d->name, what);
	c->after = d->fallback;
	snprintf(reason, sizeof(reason), "%s is %s", d->name, what);
	return start_offer(c, OFFER_CALLBACK, dept, 0, prompt, reason, AFTER_ACTION);
}

/* A caller with an open promise who calls again (callback.h): per the department's
 * policy, straight there or told of it. */
static bool
returning_caller(struct call *c)
{
	const struct callback *cb;
	char reason[160];
	int d;

	if (c->mgr->callbacks == NULL || !ani_counted(c->ani) ||
	    (cb = callback_find_open(c->mgr->callbacks, c->ani, NULL)) == NULL ||
	    (d = conf_dept_find(c->conf, cb->dept)) < 0 || !c->conf->depts[d].callback.on)
		return false;
	c->returning_id = cb->id;
	if (c->conf->depts[d].callback.returning == CB_RETURN_OFFER)
		return start_offer(c, OFFER_RETURNING, d, cb->id, -1, NULL, AFTER_ENTRY);
	snprintf(reason, sizeof(reason), "open call back #%lld to %s", (long long)cb->id,
		cb->dept);
	route_event(c, c->conf->depts[d].name, NULL, reason);
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "returning caller: %s", reason);
	c->offered = true;
	c->hops = 0;
	route_dept(c, d, reason);
	return true;
}

static void overflow_limit(struct call *c);

void
call_offer_done(struct call *c, enum offer_next next, int dept, const char *reason)
{
	struct conf_action a;
	char why[200];

	offer_free(c->offer);
	c->offer = NULL;
	if (c->state != CALL_OFFER)
		return;
	switch (next) {
	case OFFER_NEXT_PROMISED:
		c->promised = true;
		str_copy(c->after_reason, reason, sizeof(c->after_reason));
		set_state(c, CALL_GOODBYE);
		if (rtp_session_idle(c->rtp))
			send_bye(c);
		return;
	case OFFER_NEXT_CONNECT:
		snprintf(why, sizeof(why), "open call back #%lld to %s: %s",
			(long long)c->returning_id, c->conf->depts[dept].name, reason);
		route_event(c, c->conf->depts[dept].name, NULL, why);
		c->offered = true; /* they have their promise: no second offer on the way */
		c->hops = 0;
		route_dept(c, dept, why);
		return;
	case OFFER_NEXT_FALLBACK:
	case OFFER_NEXT_MENU:
		break;
	}
	switch (c->offer_after) {
	case AFTER_ACTION:
		if (next == OFFER_NEXT_FALLBACK) {
			a = c->after;
			take_action(c, &a, c->after_reason);
			return;
		}
		/* fall through */
	case AFTER_ENTRY:
		set_state(c, CALL_MENU);
		menu_enter(&c->menu, c->entry);
		break;
	case AFTER_MENU:
		set_state(c, CALL_MENU);
		menu_resume(&c->menu);
		break;
	case AFTER_OVERFLOW:
		overflow_limit(c);
		break;
	}
}

static void on_refer_response(void *arg, int code, const struct sip_msg *resp);

/* A counter by department name, kept in the manager across reloads; 0 is absent. */
static uintptr_t
counter_get(const struct hmap *h, const char *name)
{
	return (uintptr_t)hmap_get(h, name);
}

static void
counter_set(struct hmap *h, const char *name, uintptr_t v)
{
	hmap_del(h, name);
	if (v != 0 && hmap_put(h, name, (void *)v) != 0)
		log_warn("call", "%s: a counter is lost (no memory)", name);
}

static void
slot_release(struct call *c)
{
	const char *name = c->conf->depts[c->dept].name;

	if (!c->holds_slot)
		return;
	c->holds_slot = false;
	counter_set(c->mgr->inflight, name, counter_get(c->mgr->inflight, name) - 1);
}

static void
transfer_to_target(struct call *c)
{
	const struct conf_dept *d = &c->conf->depts[c->dept];
	const char *target = d->targets[c->target];
	char extra[768];
	struct journal_event ev = {.event = JEV_TRANSFER_START, .dept = d->name, .target = target};
	int rc;

	snprintf(extra, sizeof(extra), "Refer-To: <%s>\r\nReferred-By: %s\r\n", target,
		c->dlg.contact);
	record(c, &ev);
	c->refer_accepted = false;
	c->holds_slot = true;
	counter_set(c->mgr->inflight, d->name, counter_get(c->mgr->inflight, d->name) + 1);
	rc = sip_dialog_send(&c->refer_tx, c->mgr->sip, &c->dlg, "REFER", extra, NULL, NULL,
		on_refer_response, c);
	c->refer_cseq = c->dlg.local_cseq;
	c->mgr->stats.transfers++;
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "transfer to %s (%s)", d->name, target);
	if (rc != 0) {
		c->refer_tx = NULL;
		on_refer_response(c, 503, NULL);
		return;
	}
	timer_set(c->transfer_timer, d->transfer_timeout_ms);
}

static void
route_event(struct call *c, const char *dept, const char *result, const char *reason)
{
	struct journal_event ev = {
		.event = JEV_ROUTE, .menu = c->last_menu, .dept = dept, .result = result,
		.reason = reason,
	};

	record(c, &ev);
}

/* Sends the call to dept; record: the decision is ours to journal (the menu journals its
 * own). */
static void
route_to(struct call *c, int dept, const char *reason, bool record_it)
{
	const struct conf_dept *d = &c->conf->depts[dept];
	uintptr_t busy = counter_get(c->mgr->inflight, d->name);
	char why[64];

	c->dept = dept;
	if (!call_mgr_dept_open(c->mgr, c->conf, dept)) {
		route_event(c, d->name, "closed", reason);
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "%s is closed: %s", d->name, reason);
		if (!offer_fallback(c, dept, CB_OFFER_CLOSED, d->closed_prompt, "closed"))
			fall_back(c, d, d->closed_prompt, "closed");
		return;
	}
	if (d->max_transfers > 0 && busy >= d->max_transfers) {
		snprintf(why, sizeof(why), "%zu transfer%s in flight", (size_t)busy,
			busy == 1 ? "" : "s");
		route_event(c, d->name, "busy", why);
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "%s is busy: %s", d->name, why);
		if (!offer_fallback(c, dept, CB_OFFER_UNAVAILABLE, d->unavailable_prompt, "busy"))
			fall_back(c, d, d->unavailable_prompt, "busy");
		return;
	}
	if (record_it)
		route_event(c, d->name, NULL, reason);
	rtp_session_flush(c->rtp);
	set_state(c, CALL_TRANSFER);
	play(c, d->transfer_prompt, false);
	c->first = 0;
	if (d->round_robin) {
		uintptr_t next = counter_get(c->mgr->rr, d->name);
		c->first = next > 0 ? (next - 1) % d->ntargets : 0;
		counter_set(c->mgr->rr, d->name, (c->first + 1) % d->ntargets + 1);
	}
	c->tried = 0;
	c->target = c->first;
	transfer_to_target(c);
}

static bool
dept_failed(const struct call *c, int dept)
{
	return c->failed != NULL && c->failed[dept];
}

/* The loop guard's verdict: the prompt, then its department. */
static void
escalate(struct call *c, const char *why)
{
	const struct conf_loop_guard *lg = &c->conf->loop_guard;
	const struct conf_dept *d = &c->conf->depts[lg->dept];

	str_copy(c->guard, why, sizeof(c->guard));
	c->escalated = c->escalating = true;
	route_event(c, d->name, NULL, "escalated by the loop guard");
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "loop guard: %s: escalating to %s", why,
		d->name);
	menu_leave(&c->menu);
	str_copy(c->after_reason, "escalated by the loop guard", sizeof(c->after_reason));
	c->after = (struct conf_action){.kind = ACT_DEPT, .index = lg->dept};
	rtp_session_flush(c->rtp);
	set_state(c, CALL_ROUTING);
	if (lg->prompt >= 0)
		play(c, lg->prompt, false);
	if (rtp_session_idle(c->rtp))
		r_drained(c);
}

static void
window_words(char *buf, size_t size, unsigned s)
{
	if (s % 3600 == 0)
		snprintf(buf, size, "%u h", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, size, "%u min", s / 60);
	else
		snprintf(buf, size, "%u s", s);
}

/* A caller past the guard's thresholds goes straight to its department. */
static bool
guard_at_start(struct call *c)
{
	const struct conf_loop_guard *lg = &c->conf->loop_guard;
	static const char *const kinds[GUARD_KINDS] = {"calls", "transfers", "drops"};
	unsigned max[GUARD_KINDS] = {lg->max_calls, lg->max_transfers, lg->max_drops};
	int64_t now = clock_wall_ms();
	char why[128], window[32];

	if (!lg->on || !c->mgr->history_on || !ani_counted(c->ani))
		return false;
	/* calls before this one, in the order the thresholds are listed */
	for (enum guard_kind k = GUARD_CALL; k < GUARD_KINDS; k++) {
		unsigned n = history_count(c->mgr, c->ani, k, now);
		if (k == GUARD_CALL && c->noted_start && n > 0)
			n--;
		if (max[k] == 0 || n < max[k])
			continue;
		window_words(window, sizeof(window), lg->window_s);
		snprintf(why, sizeof(why), "%u %s in %s", n, kinds[k], window);
		escalate(c, why);
		return true;
	}
	return false;
}

/* Past ivrd.max_overflow fallbacks: the operator, unless it already failed this call. */
static void
overflow_limit(struct call *c)
{
	const struct conf_action *op = &c->conf->operator_action;
	char why[96];

	snprintf(why, sizeof(why), "overflow limit reached (%u fallbacks)", c->hops - 1);
	/* the department first asked for may call back instead */
	if (c->asked_dept >= 0 && offer_wanted(c, c->asked_dept, CB_OFFER_OVERFLOW) &&
	    start_offer(c, OFFER_CALLBACK, c->asked_dept, 0, -1, why, AFTER_OVERFLOW))
		return;
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "%s: operator", why);
	if (op->kind != ACT_DEPT) {
		take_action(c, op, why);
		return;
	}
	if (dept_failed(c, op->index)) {
		route_event(c, c->conf->depts[op->index].name, "refused",
			"overflow limit reached; the operator already failed this call");
		goodbye(c, "overflow limit reached and the operator failed");
		return;
	}
	c->hops++;
	route_to(c, op->index, why, true);
}

static void
route_dept(struct call *c, int dept, const char *reason)
{
	const struct conf *cf = c->conf;
	const struct conf_loop_guard *lg = &cf->loop_guard;
	bool guard_dept = c->escalating && dept == lg->dept;
	bool operator = cf->operator_action.kind == ACT_DEPT && dept == cf->operator_action.index;
	char why[128];

	if (c->hops == 0)
		c->asked_dept = dept;
	if (lg->on && dept_failed(c, dept)) {
		snprintf(why, sizeof(why), "%s already failed this call", cf->depts[dept].name);
		if (!c->escalated && !dept_failed(c, lg->dept)) {
			escalate(c, why);
			return;
		}
		str_copy(c->guard, why, sizeof(c->guard));
		route_event(c, cf->depts[dept].name, "refused", why);
		goodbye(c, why);
		return;
	}
	/* the guard's department and an operator not yet failed take the call past the limit */
	if (c->hops > cf->max_overflow && !guard_dept && !(operator && !dept_failed(c, dept))) {
		overflow_limit(c);
		return;
	}
	c->escalating = false;
	c->hops++;
	route_to(c, dept, reason, c->hops > 1 && !guard_dept);
}

static void
transfer_failed(struct call *c, const char *why)
{
	const struct conf_dept *d = &c->conf->depts[c->dept];
	struct journal_event ev = {
		.event = JEV_TRANSFER_RESULT, .dept = d->name, .target = d->targets[c->target],
		.result = "failed", .reason = why,
	};

	timer_set(c->transfer_timer, 0);
	if (c->refer_tx != NULL) {
		sip_client_detach(c->refer_tx);
		c->refer_tx = NULL;
	}
	slot_release(c);
	record(c, &ev);
	c->mgr->stats.transfers_failed++;
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "transfer to %s failed: %s", d->name, why);
	if (++c->tried < d->ntargets) {
		c->target = (c->first + c->tried) % d->ntargets;
		transfer_to_target(c);
		return;
	}
	if (c->failed == NULL)
		c->failed = calloc(c->conf->ndepts, sizeof(*c->failed));
	if (c->failed != NULL)
		c->failed[c->dept] = true;
	if (!offer_fallback(c, c->dept, CB_OFFER_UNAVAILABLE, d->unavailable_prompt,
		"unavailable"))
		fall_back(c, d, d->unavailable_prompt, "unavailable");
}

static void
transfer_ok(struct call *c, const char *how)
{
	const struct conf_dept *d = &c->conf->depts[c->dept];
	struct journal_event ev = {
		.event = JEV_TRANSFER_RESULT, .dept = d->name, .target = d->targets[c->target],
		.result = "ok", .reason = how,
	};

	timer_set(c->transfer_timer, 0);
	slot_release(c);
	record(c, &ev);
	c->mgr->stats.transfers_ok++;
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "transferred to %s", d->name);
	c->transferred = true;
	if (c->mgr->callbacks != NULL && ani_counted(c->ani)) {
		/* the caller reached the department they were promised a call back from */
		const struct callback *cb = callback_find_open(c->mgr->callbacks, c->ani, d->name);
		if (cb != NULL) {
			log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "call back #%lld kept: the caller "
				"reached %s", (long long)cb->id, d->name);
			callback_kept(c->mgr->callbacks, cb->id, c->call_id);
		}
	}
	snprintf(c->after_reason, sizeof(c->after_reason), "transferred to %s", d->name);
	send_bye(c);
}

static void
on_refer_response(void *arg, int code, const struct sip_msg *resp)
{
	struct call *c = arg;
	char why[96];
	(void)resp;

	c->refer_tx = NULL;
	if (c->state != CALL_TRANSFER)
		return;
	if (code >= 200 && code < 300) {
		c->refer_accepted = true;
		return; /* the outcome comes in NOTIFYs */
	}
	if (code == 408)
		snprintf(why, sizeof(why), "REFER got no answer");
	else
		snprintf(why, sizeof(why), "REFER refused with %d", code);
	transfer_failed(c, why);
}

static void
on_transfer_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	char why[64];
	(void)fd;
	(void)what;

	if (c->state != CALL_TRANSFER)
		return;
	snprintf(why, sizeof(why), "no result within %u s",
		c->conf->depts[c->dept].transfer_timeout_ms / 1000);
	transfer_failed(c, why);
}

/* --- ending --- */

static void
on_bye_response(void *arg, int code, const struct sip_msg *resp)
{
	struct call *c = arg;
	(void)resp;
	(void)code;

	c->bye_tx = NULL;
	call_end(c, c->transferred ? "transferred" : c->promised ? "callback promised" : "ended",
		c->after_reason);
}

static void
send_bye(struct call *c)
{
	if (c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	menu_leave(&c->menu);
	set_state(c, CALL_LEAVING);
	rtp_session_stop(c->rtp);
	if (sip_dialog_send(&c->bye_tx, c->mgr->sip, &c->dlg, "BYE", NULL, NULL, NULL,
		on_bye_response, c) != 0) {
		c->bye_tx = NULL;
		call_end(c, "ended", c->after_reason);
	}
}

static void
call_free(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	(void)fd;
	(void)what;

	event_free(c->free_ev);
	event_free(c->ok_timer);
	event_free(c->answer_timer);
	event_free(c->input_timer);
	event_free(c->transfer_timer);
	event_free(c->se_timer);
	rtp_session_free(c->rtp);
	sip_dialog_free(&c->dlg);
	free(c->ok_msg);
	conf_unref(c->conf);
	free(c->failed);
	free(c);
}

static void
call_end(struct call *c, const char *result, const char *reason)
{
	struct journal_event ev = {
		.event = JEV_CALL_END, .result = result, .reason = reason,
		.duration_ms = clock_mono_ms() - c->start_mono,
	};

	if (c->state == CALL_ENDED)
		return;
	set_state(c, CALL_ENDED);
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "ended (%s): %s", result, reason);
	slot_release(c); /* ended mid-transfer */
	record(c, &ev);
	menu_leave(&c->menu);
	offer_free(c->offer); /* a promise being stored is kept, never told */
	c->offer = NULL;
	event_del(c->ok_timer);
	event_del(c->answer_timer);
	event_del(c->input_timer);
	event_del(c->transfer_timer);
	event_del(c->se_timer);
	rtp_session_stop(c->rtp);
	/* pending transactions finish on their own, without calling back */
	sip_client_detach(c->refer_tx);
	sip_client_detach(c->bye_tx);
	sip_client_detach(c->refresh_tx);
	c->refresh_tx = NULL;
	if (c->invite_tx != NULL) {
		sip_respond(c->invite_tx, 500, "Server Internal Error", c->local_tag, NULL, NULL,
			NULL);
		c->invite_tx = NULL;
	}
	hmap_del(c->mgr->calls, c->call_id);
	counter_set(c->mgr->by_source, c->source, counter_get(c->mgr->by_source, c->source) - 1);
	c->mgr->stats.active--;
	metrics_set(c->mgr->metrics, "call.active", NULL, (int64_t)c->mgr->stats.active);
	/* freed from the loop, after whatever handler is running now returns */
	event_active(c->free_ev, 0, 0);
}

/* The caller hung up while still in the IVR. */
static void
drop(struct call *c, const char *how)
{
	int64_t in_ivr = clock_mono_ms() - (c->answer_mono ? c->answer_mono : c->start_mono);
	char detail[64];
	struct journal_event ev = {
		.event = JEV_DROP, .menu = c->last_menu, .duration_ms = in_ivr,
		.prompt = rtp_session_last_prompt(c->rtp), .reason = how,
	};

	snprintf(detail, sizeof(detail), "state %s", state_names[c->state]);
	ev.detail = detail;
	record(c, &ev);
	c->mgr->stats.drops++;
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "dropped in %s %s after %.1f s: %s",
		c->state == CALL_MENU ? "menu" : "state",
		c->state == CALL_MENU && c->last_menu ? c->last_menu : state_names[c->state],
		(double)in_ivr / 1000.0, how);
}

/* --- answering --- */

#define OK_EARLY_MS 10

static void
on_ok_timer(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	int64_t now = clock_mono_ms();
	(void)fd;
	(void)what;

	/* libevent's coarse clock may fire a few ms early: a wait that was to end at the
	 * deadline has ended, or one more 200 would go out just before the BYE */
	if (now + OK_EARLY_MS >= c->ok_deadline) {
		/* RFC 3261 13.3.1.4: no ACK within 64*T1 ends the session with a BYE */
		c->mgr->stats.no_ack++;
		log_msg(LOG_PRIO_WARNING, "call", c->call_id, "no ACK for 200 OK: ending the call");
		str_copy(c->after_reason, "no ACK for our 200 OK", sizeof(c->after_reason));
		if (in_ivr(c))
			drop(c, "no ACK");
		send_bye(c);
		return;
	}
	/* RFC 3261 13.3.1.4: also over TCP, on the INVITE's connection */
	sip_send_reply(c->dlg.transport, (struct sockaddr *)&c->invite_src, c->invite_srclen,
		c->ok_msg, c->ok_len);
	c->ok_interval = c->ok_interval * 2 < SIP_T2 ? c->ok_interval * 2 : SIP_T2;
	/* the BYE is due at 64*T1, not at the first retransmission after it */
	timer_set(c->ok_timer, c->ok_deadline - now < c->ok_interval ?
		(unsigned)(c->ok_deadline - now) : c->ok_interval);
}

static void
start_ok_retransmit(struct call *c, const struct sip_server_tx *tx, const char *extra)
{
	const struct sip_msg *req = sip_tx_request(tx);

	free(c->ok_msg);
	c->ok_msg = NULL;
	if (sip_build_response(&c->ok_msg, &c->ok_len, req, 200, "OK", c->local_tag, extra,
		"application/sdp", c->sdp_answer, c->conf->user_agent) != 0)
		return;
	memcpy(&c->invite_src, &req->src, req->srclen);
	c->invite_srclen = req->srclen;
	c->ok_cseq = sip_msg_cseq(req);
	c->ok_interval = SIP_T1;
	c->ok_deadline = clock_mono_ms() + SIP_TX_TIMEOUT;
	timer_set(c->ok_timer, SIP_T1);
}

/* --- offer/answer, hold --- */

static const char *const dir_words[] = {
	[SDP_SENDRECV] = "sendrecv", [SDP_SENDONLY] = "sendonly",
	[SDP_RECVONLY] = "recvonly", [SDP_INACTIVE] = "inactive",
};

/* Writes our SDP into c->sdp_answer: the answer to c->media, or our offer. RFC 3264 8: the
 * o= version goes up when the SDP changes, and only then. */
static int
local_sdp(struct call *c, const struct conf *cf, bool offer)
{
	char buf[SDP_ANSWER_MAX];
	int n = -1;

	for (int pass = 0; pass < 2; pass++) {
		if (offer)
			n = sdp_write_offer(buf, sizeof(buf), cf->rtp_address,
				rtp_session_port(c->rtp), c->sdp_id, c->sdp_version, SDP_SENDRECV,
				c->media.ptime);
		else
			n = sdp_write_answer(buf, sizeof(buf), &c->media, cf->rtp_address,
				rtp_session_port(c->rtp), c->sdp_id, c->sdp_version);
		if (n < 0)
			return EINVAL;
		if (c->sdp_answer[0] == '\0' || strcmp(buf, c->sdp_answer) == 0)
			break;
		if (pass == 0)
			c->sdp_version++;
	}
	memcpy(c->sdp_answer, buf, (size_t)n + 1);
	return 0;
}

static bool
addr_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* The caller went on hold or came back: journaled for QA; the no-input timer waits. */
static void
hold_changed(struct call *c, enum sdp_dir dir)
{
	struct journal_event ev = {
		.event = c->held ? JEV_HOLD : JEV_RESUME,
		.menu = c->state == CALL_MENU ? menu_name(&c->menu) : NULL,
		.prompt = rtp_session_last_prompt(c->rtp), .detail = dir_words[dir],
	};

	log_msg(LOG_PRIO_INFO, "call", c->call_id, "%s (%s) in %s %s",
		c->held ? "on hold" : "off hold", dir_words[dir],
		c->state == CALL_MENU ? "menu" : "state",
		c->state == CALL_MENU && menu_name(&c->menu) ? menu_name(&c->menu) :
		state_names[c->state]);
	record(c, &ev);
	if (c->state == CALL_OFFER && c->offer != NULL)
		offer_hold(c->offer, c->held, rtp_session_idle(c->rtp));
	if (c->held) {
		event_del(c->input_timer);
	} else if (c->state == CALL_MENU && c->input_ms > 0 &&
		   (c->menu.state == MENU_WAITING || c->menu.state == MENU_ENTERING)) {
		/* the caller heard nothing while held: a whole timeout from now */
		timer_set(c->input_timer, c->input_ms);
	}
}

/* RTP follows what the caller's SDP (offer or answer) says; its direction is the caller's
 * own: we send when it receives. */
static void
media_apply(struct call *c, const struct sdp_media *nm)
{
	bool send = nm->dir == SDP_SENDRECV || nm->dir == SDP_RECVONLY;
	bool recv = nm->dir == SDP_SENDRECV || nm->dir == SDP_SENDONLY;
	bool was_held = c->held;
	struct sockaddr_storage keep = c->media.remote;
	socklen_t keeplen = c->media.remote_len;

	if (c->media_started && nm->codec != c->media.codec)
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "codec %s -> %s",
			c->media.codec == IVR_PCMU ? "PCMU" : "PCMA",
			nm->codec == IVR_PCMU ? "PCMU" : "PCMA");
	c->media = *nm;
	/* RFC 3264 8.4: c=0.0.0.0 says "send nothing", not where to */
	if (addr_unspecified(&nm->remote) && keeplen > 0 && !addr_unspecified(&keep)) {
		c->media.remote = keep;
		c->media.remote_len = keeplen;
	}
	if (!c->media_started || c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	rtp_session_set_ptime(c->rtp, c->media.ptime);
	rtp_session_start(c->rtp, (struct sockaddr *)&c->media.remote, c->media.remote_len,
		c->media.codec, c->media.codec_pt, c->media.te_pt);
	rtp_session_set_direction(c->rtp, send, recv);
	c->held = !send;
	if (c->held != was_held)
		hold_changed(c, nm->dir);
}

/* --- session timer (RFC 4028) --- */

struct se_req {
	unsigned se;      /* 0: no session timer */
	bool we_refresh, peer_timer;
};

/* What a request asks of the session timer. Returns 0, 422 (below our Min-SE) or 400. */
static int
se_negotiate(struct se_req *st, const struct conf *cf, const struct sip_msg *req)
{
	const char *v = sip_msg_header(req, "session-expires");
	const char *ms = sip_msg_header(req, "min-se");
	const char *r;
	unsigned long se, floor = 0;
	char *end;

	memset(st, 0, sizeof(*st));
	if (v == NULL)
		v = sip_msg_header(req, "x"); /* compact form */
	st->peer_timer = sip_msg_lists(req, "supported", "timer") ||
		sip_msg_lists(req, "k", "timer") || sip_msg_lists(req, "require", "timer");
	if (v == NULL)
		return 0; /* RFC 4028 9: no Session-Expires, no timer */
	while (*v == ' ' || *v == '\t')
		v++;
	se = strtoul(v, &end, 10);
	if (end == v || se == 0 || se > UINT32_MAX)
		return 400;
	if (se < cf->min_se_s)
		return 422;
	if (ms != NULL)
		floor = strtoul(ms, NULL, 10);
	/* RFC 4028 9: we may shorten the interval, not below either side's Min-SE */
	st->se = se < cf->session_expires_s ? (unsigned)se : cf->session_expires_s;
	if (st->se < floor)
		st->se = floor < se ? (unsigned)floor : (unsigned)se;
	r = strcasestr(end, "refresher=");
	/* the caller refreshes when it supports timer and did not hand the job to us */
	st->we_refresh = !st->peer_timer ||
		(r != NULL && strncasecmp(r + 10, "uas", 3) == 0);
	return 0;
}

/* Header lines for a 2xx that carries the session timer. */
static void
se_headers(const struct call *c, char *buf, size_t size, size_t *off)
{
	if (c->se_s == 0)
		return;
	str_appendf(buf, size, off, "Session-Expires: %u;refresher=%s\r\n", c->se_s,
		c->se_we_refresh ? "uas" : "uac");
	if (c->se_peer_timer)
		str_appendf(buf, size, off, "Require: timer\r\n");
}

/* RFC 4028 10: the refresher refreshes at half the interval; the other side gives up at
 * the interval less min(32 s, a third of it). */
static int64_t
se_expiry(const struct call *c)
{
	unsigned grace = c->se_s / 3 < 32 ? c->se_s / 3 : 32;

	return c->se_refreshed + (int64_t)(c->se_s - grace) * 1000;
}

static void
se_arm(struct call *c)
{
	if (c->se_s == 0) {
		event_del(c->se_timer);
		return;
	}
	c->se_refreshed = clock_mono_ms();
	timer_set(c->se_timer, c->se_we_refresh ? c->se_s * 500 :
		(unsigned)(se_expiry(c) - c->se_refreshed));
}

static void
se_apply(struct call *c, const struct se_req *st)
{
	c->se_s = st->se;
	c->se_we_refresh = st->we_refresh;
	c->se_peer_timer = st->peer_timer;
	if (c->answer_mono != 0)
		se_arm(c);
}

/* Ends an answered call from our side, journaling the drop. */
static void
hang_up(struct call *c, const char *why)
{
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "ending the call: %s", why);
	str_copy(c->after_reason, why, sizeof(c->after_reason));
	if (in_ivr(c))
		drop(c, why);
	send_bye(c);
}

static void send_refresh(struct call *c);

static void
on_se_timer(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	int64_t now = clock_mono_ms(), expiry = se_expiry(c);
	(void)fd;
	(void)what;

	if (c->se_s == 0 || c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	if (!c->se_we_refresh || now >= expiry) {
		hang_up(c, "session timer expired");
		return;
	}
	if (c->refresh_tx == NULL)
		send_refresh(c);
	/* retry a refresh that failed soon, give up at the expiry */
	timer_set(c->se_timer, expiry - now < 5000 ? (unsigned)(expiry - now) : 5000);
}

/* ACK for the 2xx of our refresh re-INVITE (RFC 3261 13.2.2.4): its CSeq, a new branch. */
static void
send_ack(struct call *c, uint32_t cseq)
{
	char branch[48], *msg = NULL;
	size_t len;
	uint32_t next = c->dlg.local_cseq;

	c->dlg.local_cseq = cseq - 1;
	if (sip_dialog_request(&msg, &len, &c->dlg, "ACK", branch, sizeof(branch), NULL, NULL,
		NULL, c->conf->user_agent) == 0)
		sip_send(c->dlg.transport, (struct sockaddr *)&c->dlg.dest, c->dlg.destlen, msg,
			len);
	c->dlg.local_cseq = next;
	free(msg);
}

static void
on_refresh_response(void *arg, int code, const struct sip_msg *resp)
{
	struct call *c = arg;
	struct se_req st;
	char why[64];

	if (c->refresh_tx != NULL && c->refresh_invite && resp != NULL && code >= 200 &&
	    code < 300) {
		send_ack(c, sip_msg_cseq(resp));
		/* further 2xx retransmissions are not ours to see: the call may end first */
		sip_client_detach(c->refresh_tx);
	}
	c->refresh_tx = NULL;
	c->refresh_invite = false;
	if (c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	if (code >= 200 && code < 300) {
		/* RFC 4028 10: the response's Session-Expires is the interval from now on */
		if (resp != NULL && se_negotiate(&st, c->conf, resp) == 0 && st.se > 0) {
			c->se_s = st.se;
			c->se_we_refresh = !(strcasestr(sip_msg_header(resp, "session-expires") ?
				sip_msg_header(resp, "session-expires") : "", "refresher=uac"));
		}
		log_msg(LOG_PRIO_INFO, "call", c->call_id, "session refreshed (%u s)", c->se_s);
		se_arm(c);
		return;
	}
	if (code == 408 || code == 481) {
		snprintf(why, sizeof(why), "session refresh failed (%d)", code);
		hang_up(c, why);
		return;
	}
	if (code == 405 || code == 501)
		c->peer_update = false;
	log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "session refresh refused with %d", code);
}

static void
send_refresh(struct call *c)
{
	char extra[160];
	bool invite = !c->peer_update;
	int rc;

	snprintf(extra, sizeof(extra), "Session-Expires: %u;refresher=uas\r\nSupported: timer\r\n"
		"%s", c->se_s, c->se_peer_timer ? "Require: timer\r\n" : "");
	/* RFC 4028 7.4: UPDATE without a body when the caller allows it; else a re-INVITE
	 * offering our SDP unchanged */
	rc = sip_dialog_send(&c->refresh_tx, c->mgr->sip, &c->dlg, invite ? "INVITE" : "UPDATE",
		extra, invite ? "application/sdp" : NULL, invite ? c->sdp_answer : NULL,
		on_refresh_response, c);
	c->refresh_invite = invite;
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "session refresh (%s)",
		invite ? "re-INVITE" : "UPDATE");
	if (rc != 0) {
		c->refresh_tx = NULL;
		c->refresh_invite = false;
		log_msg(LOG_PRIO_WARNING, "call", c->call_id, "session refresh not sent: %s",
			strerror(rc));
	}
}

/* Contact, Allow, Supported and the session timer, for a 2xx to INVITE or UPDATE. */
static void
ok_headers(const struct call *c, char *buf, size_t size)
{
	size_t off = 0;

	str_appendf(buf, size, &off, "Contact: %s\r\n" ALLOW "Supported: timer\r\n",
		c->dlg.contact);
	se_headers(c, buf, size, &off);
}

/* Media can flow: RTP starts and the caller enters the menus. */
static void
start_media(struct call *c)
{
	bool send = c->media.dir == SDP_SENDRECV || c->media.dir == SDP_RECVONLY;
	bool recv = c->media.dir == SDP_SENDRECV || c->media.dir == SDP_SENDONLY;
	int entry;
	const struct conf_number *num;

	c->media_started = true;
	rtp_session_set_ptime(c->rtp, c->media.ptime);
	rtp_session_start(c->rtp, (struct sockaddr *)&c->media.remote, c->media.remote_len,
		c->media.codec, c->media.codec_pt, c->media.te_pt);
	set_state(c, CALL_MENU);
	if (!send || !recv)
		rtp_session_set_direction(c->rtp, send, recv);
	if (!send) {
		c->held = true;
		hold_changed(c, c->media.dir);
	}
	num = conf_number_find(c->conf, c->dnis);
	entry = num != NULL && num->menu >= 0 ? num->menu : c->conf->entry_menu;
	c->entry = c->caller != NULL && c->caller->menu >= 0 ? c->caller->menu : entry;
	if (guard_at_start(c))
		return;
	if (returning_caller(c))
		return;
	if (c->caller != NULL && c->caller->dept >= 0) {
		char reason[64];
		struct journal_event ev = {
			.event = JEV_ROUTE, .dept = c->conf->depts[c->caller->dept].name,
			.reason = reason,
		};
		snprintf(reason, sizeof(reason), "caller rule callers.[%zu]",
			(size_t)(c->caller - c->conf->callers) + 1);
		record(c, &ev);
		c->hops = 0;
		route_dept(c, c->caller->dept, reason);
		return;
	}
	if (c->caller != NULL && c->caller->menu >= 0)
		entry = c->caller->menu;
	menu_enter(&c->menu, entry);
}

static void
answer(struct call *c)
{
	char extra[512];

	ok_headers(c, extra, sizeof(extra));
	start_ok_retransmit(c, c->invite_tx, extra);
	sip_respond(c->invite_tx, 200, "OK", c->local_tag, extra, "application/sdp",
		c->sdp_answer);
	c->invite_tx = NULL;
	c->mgr->stats.answered++;
	c->answer_mono = clock_mono_ms();
	se_arm(c);
	/* RFC 3264 late offer: our 2xx offered, the ACK answers; media waits for it */
	if (c->offer_sent)
		return;
	start_media(c);
}

static void
on_answer_timer(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	(void)fd;
	(void)what;

	if (c->state == CALL_RINGING && c->invite_tx != NULL)
		answer(c);
}

static void
reject(struct sip_server_tx *tx, int code, const char *reason, const char *extra)
{
	sip_respond(tx, code, reason, NULL, extra, NULL, NULL);
}

/* Copies at most the user part's safe characters: it goes into logs and the journal. */
static void
copy_user(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < size; src++)
		if ((*src >= '0' && *src <= '9') || (*src >= 'a' && *src <= 'z') ||
		    (*src >= 'A' && *src <= 'Z') || strchr("+-._*#", *src) != NULL)
			dst[n++] = *src;
	dst[n] = '\0';
}

/* A number as matched (number.h) when it is one; otherwise ("anonymous") as it came. */
static void
call_number(char *dst, size_t size, const char *user, const struct conf *conf)
{
	if (number_normalize(dst, size, user, &conf->plan) != 0)
		copy_user(dst, size, user);
}

/* A call refused at the door, journaled as one that started and ended at once. */
static void
journal_refusal(struct call_mgr *m, const struct sip_msg *req, const char *ani,
	const char *dnis, const char *result, const char *why)
{
	const struct conf_number *num = conf_number_find(m->conf, dnis);
	struct journal_event start = {
		.event = JEV_CALL_START, .call_id = req->call_id, .ani = ani, .dnis = dnis,
		.generation = (int64_t)m->conf->generation,
		.detail = m->conf->langs[num != NULL ? num->lang : 0],
		.reason = why, .duration_ms = -1,
	};
	struct journal_event end = {
		.event = JEV_CALL_END, .call_id = req->call_id, .result = result, .reason = why,
	};

	if (journal_append(m->journal, &start) != 0 || journal_append(m->journal, &end) != 0)
		log_msg(LOG_PRIO_ERR, "call", req->call_id, "journal: %s call lost (no memory)",
			result);
	count(m, &end);
}

/* A blocked caller: 603 Decline. */
static void
decline(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req,
	const char *ani, const char *dnis, const struct conf_caller *rule)
{
	char why[64];

	snprintf(why, sizeof(why), "(callers.[%zu] blocked)",
		(size_t)(rule - m->conf->callers) + 1);
	reject(tx, 603, "Decline", NULL);
	log_msg(LOG_PRIO_NOTICE, "call", req->call_id, "call from %s to %s declined: %s", ani,
		dnis, why);
	journal_refusal(m, req, ani, dnis, "blocked", why);
}

/* The source address without its port; an IPv4 source on a dual-stack socket as IPv4. */
static void
source_ip(char *buf, size_t size, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)size);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
			(socklen_t)size);
}

/* Refusals are the answer to floods and scans: at most 10 log lines a second. */
static bool
refuse_log_allowed(struct call_mgr *m)
{
	int64_t now = clock_mono_ms();

	if (now - m->refuse_log_ms >= 1000) {
		if (m->refuse_log_count > 10)
			log_warn("call", "%u more refusals not logged", m->refuse_log_count - 10);
		m->refuse_log_ms = now;
		m->refuse_log_count = 0;
	}
	return ++m->refuse_log_count <= 10;
}

/* Who may call and how many at once (ivrd.sip.trusted, max_calls, max_calls_per_source).
 * Returns 0, or the status it answered the INVITE with after journaling the refusal. */
static int
admit(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req,
	const char *ani, const char *dnis, const char *src)
{
	const struct conf *conf = m->conf;
	uintptr_t from_src = counter_get(m->by_source, src);
	const char *label;
	char why[128];
	int code;

	if (!conf_trusted(conf, (const struct sockaddr *)&req->src)) {
		snprintf(why, sizeof(why), "source %s not trusted", src);
		label = "reason=untrusted";
		code = 403;
		reject(tx, code, "Forbidden", NULL);
	} else if (conf->max_calls > 0 && m->stats.active >= conf->max_calls) {
		snprintf(why, sizeof(why), "%zu calls active (max_calls)", m->stats.active);
		label = "reason=capacity";
		code = 503;
		reject(tx, code, "Service Unavailable", "Retry-After: 5\r\n");
	} else if (conf->max_calls_per_source > 0 && from_src >= conf->max_calls_per_source) {
		snprintf(why, sizeof(why), "%zu calls active from %s (max_calls_per_source)",
			(size_t)from_src, src);
		label = "reason=source_capacity";
		code = 503;
		reject(tx, code, "Service Unavailable", "Retry-After: 5\r\n");
	} else {
		return 0;
	}
	if (refuse_log_allowed(m))
		log_msg(LOG_PRIO_NOTICE, "call", req->call_id, "call from %s to %s refused: %s",
			ani, dnis, why);
	metrics_add(m->metrics, "call.refused", label, 1);
	journal_refusal(m, req, ani, dnis, "refused", why);
	return code;
}

/* "Unsupported: ..." with the options of a Require header other than timer; false when
 * there are none. */
static bool
unsupported(char *buf, size_t size, const char *require)
{
	size_t off = 0;
	bool any = false;

	str_appendf(buf, size, &off, "Unsupported: ");
	while (*require != '\0') {
		size_t n;

		require += strspn(require, " \t,");
		n = strcspn(require, " \t,");
		if (n > 0 && !(n == 5 && strncasecmp(require, "timer", 5) == 0)) {
			/* a list too long for buf is cut, the line still ends */
			if (off + n + 5 < size)
				str_appendf(buf, size, &off, "%s%.*s", any ? ", " : "", (int)n,
					require);
			any = true;
		}
		require += n;
	}
	str_appendf(buf, size, &off, "\r\n");
	return any;
}

static void
new_call(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req)
{
	struct conf *conf = m->conf;
	const char *require = sip_msg_header(req, "require");
	const struct conf_number *num;
	const struct conf_caller *rule;
	struct call *c = NULL;
	struct se_req se;
	char ctype[64], err[200], warn[256], ani[64], dnis[64], src[INET6_ADDRSTRLEN];
	const char *body;
	size_t blen;
	int rc;

	m->stats.total++;
	if (m->draining) {
		reject(tx, 503, "Service Unavailable", "Retry-After: 30\r\n");
		goto rejected;
	}
	call_number(ani, sizeof(ani), sip_msg_from_user(req), conf);
	/* a Request-URI without a user (sip:host) leaves the dialed number to the To header */
	call_number(dnis, sizeof(dnis), sip_msg_ruri_user(req)[0] ? sip_msg_ruri_user(req) :
		sip_msg_to_user(req), conf);
	source_ip(src, sizeof(src), &req->src);
	if (admit(m, tx, req, ani, dnis, src) != 0)
		goto rejected;
	rule = conf_caller_find(conf, ani);
	if (rule != NULL && rule->mark == MARK_BLOCKED) {
		decline(m, tx, req, ani, dnis, rule);
		goto rejected;
	}
	if (require != NULL && unsupported(warn, sizeof(warn), require)) {
		/* RFC 3261 8.2.2.3: of what a caller may require we support timer alone (no
		 * 100rel: we send no reliable provisional responses) */
		reject(tx, 420, "Bad Extension", warn);
		goto rejected;
	}
	if ((rc = se_negotiate(&se, conf, req)) != 0) {
		snprintf(warn, sizeof(warn), "Min-SE: %u\r\n", conf->min_se_s);
		if (rc == 422)
			reject(tx, 422, "Session Interval Too Small", warn);
		else
			reject(tx, 400, "Bad Request (Session-Expires)", NULL);
		goto rejected;
	}
	body = sip_msg_body(req, &blen);
	if (body != NULL && blen > 0 && (sip_msg_content_type(req, ctype, sizeof(ctype)) == NULL ||
	    strcmp(ctype, "application/sdp") != 0)) {
		reject(tx, 415, "Unsupported Media Type", "Accept: application/sdp\r\n");
		goto rejected;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		reject(tx, 503, "Service Unavailable", "Retry-After: 5\r\n");
		goto rejected;
	}
	/* RFC 3261 13.2.1: no offer in the INVITE, ours goes in the 2xx (late offer) */
	c->offer_sent = body == NULL || blen == 0;
	rc = c->offer_sent ? 0 : sdp_negotiate(&c->media, body, blen, err, sizeof(err));
	if (rc != 0) {
		log_msg(LOG_PRIO_NOTICE, "call", req->call_id, "SDP offer refused: %s", err);
		if (rc == ENOTSUP) {
			snprintf(warn, sizeof(warn), "Warning: 305 ivrd \"offer PCMU or PCMA\"\r\n");
			reject(tx, 488, "Not Acceptable Here", warn);
		} else {
			reject(tx, 400, "Bad Request (malformed SDP)", NULL);
		}
		goto rejected;
	}
	c->mgr = m;
	str_copy(c->call_id, req->call_id, sizeof(c->call_id));
	sip_random_token(c->local_tag, sizeof(c->local_tag));
	str_copy(c->remote_tag, sip_msg_from_tag(req) ? sip_msg_from_tag(req) : "",
		sizeof(c->remote_tag));
	if (sip_dialog_init(&c->dlg, req, c->local_tag) != 0) {
		reject(tx, 400, "Bad Request (Missing Contact)", NULL);
		goto rejected;
	}
	c->free_ev = event_new(m->base, -1, 0, call_free, c);
	c->ok_timer = evtimer_new(m->base, on_ok_timer, c);
	c->answer_timer = evtimer_new(m->base, on_answer_timer, c);
	c->input_timer = evtimer_new(m->base, on_input_timeout, c);
	c->transfer_timer = evtimer_new(m->base, on_transfer_timeout, c);
	c->se_timer = evtimer_new(m->base, on_se_timer, c);
	if (c->free_ev == NULL || c->ok_timer == NULL || c->answer_timer == NULL ||
	    c->input_timer == NULL || c->transfer_timer == NULL || c->se_timer == NULL) {
		reject(tx, 503, "Service Unavailable", "Retry-After: 5\r\n");
		goto rejected;
	}
	rc = rtp_session_new(&c->rtp, m->pacer, &rtp_ops, c, c->call_id);
	if (rc != 0) {
		log_msg(LOG_PRIO_WARNING, "call", req->call_id, "no RTP port: %s", strerror(rc));
		reject(tx, 503, "Service Unavailable", "Retry-After: 5\r\n");
		goto rejected;
	}
	rtp_session_set_inband(c->rtp, conf->rtp_inband_dtmf);
	dtmf_arbiter_init(&c->keys);
	c->sdp_id = arc4random();
	c->sdp_version = 1;
	if (local_sdp(c, conf, c->offer_sent) != 0 || hmap_put(m->calls, c->call_id, c) != 0) {
		reject(tx, 500, "Server Internal Error", NULL);
		goto rejected;
	}

	c->conf = conf_ref(conf);
	c->asked_dept = -1;
	c->invite_tx = tx;
	c->start_mono = clock_mono_ms();
	c->peer_update = sip_msg_lists(req, "allow", "UPDATE");
	se_apply(c, &se);
	str_copy(c->source, src, sizeof(c->source));
	counter_set(m->by_source, src, counter_get(m->by_source, src) + 1);
	str_copy(c->ani, ani, sizeof(c->ani));
	str_copy(c->dnis, dnis, sizeof(c->dnis));
	num = conf_number_find(conf, c->dnis);
	c->lang = num != NULL ? num->lang : 0;
	menu_init(&c->menu, conf, &menu_ops, c);
	if (num != NULL && num->dept_hint >= 0) {
		snprintf(c->dnis_rule, sizeof(c->dnis_rule), "(numbers.[%zu] hint %s)",
			(size_t)(num - conf->numbers) + 1, conf->depts[num->dept_hint].name);
		c->menu.operator = (struct conf_action){ACT_DEPT, num->dept_hint};
	} else if (num != NULL) {
		snprintf(c->dnis_rule, sizeof(c->dnis_rule), "(numbers.[%zu])",
			(size_t)(num - conf->numbers) + 1);
	} else {
		str_copy(c->dnis_rule, "(not listed: entry menu)", sizeof(c->dnis_rule));
	}
	c->caller = rule;
	if (rule != NULL) {
		snprintf(c->ani_rule, sizeof(c->ani_rule), "(callers.[%zu]%s%s)",
			(size_t)(rule - conf->callers) + 1, rule->mark ? " " : "",
			conf_mark_name(rule->mark));
		if (rule->lang >= 0)
			c->lang = rule->lang;
	}
	m->stats.active++;
	metrics_set(m->metrics, "call.active", NULL, (int64_t)m->stats.active);
	metrics_add(m->metrics, "call.total", NULL, 1);
	{
		char detail[64];
		struct journal_event ev = {
			.event = JEV_CALL_START, .ani = c->ani, .dnis = c->dnis,
			.generation = (int64_t)conf->generation, .detail = detail,
			.reason = c->ani_rule[0] ? c->ani_rule : NULL,
		};
		snprintf(detail, sizeof(detail), "%s", conf->langs[c->lang]);
		record(c, &ev);
	}
	log_msg(LOG_PRIO_INFO, "call", c->call_id, "call from %s to %s, %s, rtp port %u",
		c->ani, c->dnis, c->offer_sent ? "late offer" :
		c->media.codec == IVR_PCMU ? "PCMU" : "PCMA", rtp_session_port(c->rtp));
	if (conf->answer_delay_ms > 0) {
		c->state = CALL_RINGING;
		sip_respond(tx, 180, "Ringing", c->local_tag, NULL, NULL, NULL);
		timer_set(c->answer_timer, conf->answer_delay_ms);
		return;
	}
	answer(c);
	return;
rejected:
	m->stats.rejected++;
	metrics_add(m->metrics, "call.rejected", NULL, 1);
	if (c != NULL) {
		if (c->free_ev != NULL)
			event_free(c->free_ev);
		if (c->ok_timer != NULL)
			event_free(c->ok_timer);
		if (c->answer_timer != NULL)
			event_free(c->answer_timer);
		if (c->input_timer != NULL)
			event_free(c->input_timer);
		if (c->transfer_timer != NULL)
			event_free(c->transfer_timer);
		if (c->se_timer != NULL)
			event_free(c->se_timer);
		rtp_session_free(c->rtp);
		sip_dialog_free(&c->dlg);
		free(c);
	}
}

/* An offer from the caller in a re-INVITE or UPDATE. Returns 0 with c->media and our answer
 * updated, or the status that refused it, the session going on unchanged (RFC 3261 14.2). */
static int
take_offer(struct call *c, const struct sip_msg *req, const char *body, size_t blen,
	char *warn, size_t wlen)
{
	struct sdp_media media;
	char ctype[64], err[200];
	int rc;

	warn[0] = '\0';
	if (sip_msg_content_type(req, ctype, sizeof(ctype)) == NULL ||
	    strcmp(ctype, "application/sdp") != 0) {
		snprintf(warn, wlen, "Accept: application/sdp\r\n");
		return 415;
	}
	rc = sdp_negotiate(&media, body, blen, err, sizeof(err));
	if (rc != 0) {
		log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "%s offer refused, media unchanged: %s",
			sip_msg_method(req), err);
		if (rc != ENOTSUP)
			return 400;
		snprintf(warn, wlen, "Warning: 305 ivrd \"offer PCMU or PCMA\"\r\n");
		return 488;
	}
	media_apply(c, &media);
	return local_sdp(c, c->conf, false) == 0 ? 0 : 500;
}

static const char *
status_reason(int code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 415: return "Unsupported Media Type";
	case 422: return "Session Interval Too Small";
	case 488: return "Not Acceptable Here";
	case 491: return "Request Pending";
	default: return "Server Internal Error";
	}
}

/* What re-INVITE and UPDATE have in common: the session timer and the offer if any.
 * Returns 0 when answered 200 is due (the caller sends it), or the status it refused with. */
static int
refresh_or_offer(struct call *c, struct sip_server_tx *tx, const struct sip_msg *req,
	const char *body, size_t blen)
{
	struct se_req st;
	char warn[256];
	int code;

	if ((code = se_negotiate(&st, c->conf, req)) != 0) {
		snprintf(warn, sizeof(warn), "Min-SE: %u\r\n", c->conf->min_se_s);
		sip_respond(tx, code, status_reason(code), NULL, code == 422 ? warn : NULL, NULL,
			NULL);
		return code;
	}
	if (body != NULL && blen > 0 && (code = take_offer(c, req, body, blen, warn,
		sizeof(warn))) != 0) {
		sip_respond(tx, code, status_reason(code), NULL, warn[0] ? warn : NULL, NULL, NULL);
		return code;
	}
	/* RFC 4028 10: each refresh starts the interval again */
	se_apply(c, &st);
	return 0;
}

/* re-INVITE (RFC 3261 14.2): hold, unhold, a new address or codec, a session refresh;
 * the caller keeps their place in the menu. */
static void
reinvite(struct call *c, struct sip_server_tx *tx, const struct sip_msg *req)
{
	char extra[512], retry[40];
	const char *body;
	size_t blen;

	/* RFC 3261 14.2: glare with our own re-INVITE, or one still in progress */
	if (c->refresh_tx != NULL && c->refresh_invite) {
		reject(tx, 491, "Request Pending", NULL);
		return;
	}
	if (c->invite_tx != NULL || c->ok_msg != NULL) {
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", arc4random_uniform(10));
		reject(tx, 500, "Server Internal Error", retry);
		return;
	}
	body = sip_msg_body(req, &blen);
	if (refresh_or_offer(c, tx, req, body, blen) != 0)
		return;
	if (body == NULL || blen == 0) {
		/* RFC 3264 8: no offer, so the 2xx carries ours and the ACK the answer */
		if (local_sdp(c, c->conf, true) != 0) {
			reject(tx, 500, "Server Internal Error", NULL);
			return;
		}
		c->offer_sent = true;
	}
	ok_headers(c, extra, sizeof(extra));
	start_ok_retransmit(c, tx, extra);
	sip_respond(tx, 200, "OK", NULL, extra, "application/sdp", c->sdp_answer);
}

/* UPDATE (RFC 3311): an offer answered at once, or a session refresh without a body. */
static void
update(struct call *c, struct sip_server_tx *tx, const struct sip_msg *req)
{
	char extra[512], retry[40];
	const char *body;
	size_t blen;

	body = sip_msg_body(req, &blen);
	if (body != NULL && blen > 0) {
		/* RFC 3311 5.2: an offer while ours awaits its answer, or before we answered
		 * the INVITE's */
		if (c->offer_sent || (c->refresh_tx != NULL && c->refresh_invite)) {
			reject(tx, 491, "Request Pending", NULL);
			return;
		}
		if (c->invite_tx != NULL) {
			snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
				arc4random_uniform(10));
			reject(tx, 500, "Server Internal Error", retry);
			return;
		}
	}
	if (refresh_or_offer(c, tx, req, body, blen) != 0)
		return;
	ok_headers(c, extra, sizeof(extra));
	if (body != NULL && blen > 0)
		sip_respond(tx, 200, "OK", NULL, extra, "application/sdp", c->sdp_answer);
	else
		sip_respond(tx, 200, "OK", NULL, extra, NULL, NULL);
}

static bool
is_refer_event(const char *event)
{
	size_t n = strcspn(event, "; \t");

	return n == 5 && strncasecmp(event, "refer", 5) == 0;
}

/* NOTIFY for our REFER (RFC 3515 2.4.5): the body's status line is the transfer's fate. */
static void
notify(struct call *c, struct sip_server_tx *tx, const struct sip_msg *req)
{
	const char *event = sip_msg_header(req, "event");
	const char *state = sip_msg_header(req, "subscription-state");
	const char *body;
	const char *id;
	size_t blen;
	int code = 0;
	char frag[64], why[96];

	if (event == NULL)
		event = sip_msg_header(req, "o");
	if (event == NULL || !is_refer_event(event)) {
		reject(tx, 489, "Bad Event", "Allow-Events: refer\r\n");
		return;
	}
	if (c->state != CALL_TRANSFER && c->state != CALL_LEAVING) {
		reject(tx, 481, "Subscription Does Not Exist", NULL);
		return;
	}
	reject(tx, 200, "OK", NULL);
	if (c->state != CALL_TRANSFER)
		return;
	/* an id names the REFER by its CSeq; NOTIFYs for an earlier target are stale */
	id = strcasestr(event, "id=");
	if (id != NULL && (uint32_t)strtoul(id + 3, NULL, 10) != c->refer_cseq)
		return;
	body = sip_msg_body(req, &blen);
	if (body != NULL && blen > 0) {
		size_t n = blen < sizeof(frag) - 1 ? blen : sizeof(frag) - 1;
		memcpy(frag, body, n);
		frag[n] = '\0';
		if (sscanf(frag, "SIP/2.0 %d", &code) != 1)
			code = 0;
	}
	c->refer_accepted = true;
	if (code >= 200 && code < 300) {
		snprintf(why, sizeof(why), "target answered %d", code);
		transfer_ok(c, why);
	} else if (code >= 300) {
		snprintf(why, sizeof(why), "target answered %d", code);
		transfer_failed(c, why);
	} else if (state != NULL && strncasecmp(state, "terminated", 10) == 0) {
		transfer_failed(c, "subscription ended without a final result");
	}
}

static void
bye(struct call *c, struct sip_server_tx *tx)
{
	reject(tx, 200, "OK", NULL);
	switch (c->state) {
	case CALL_MENU:
	case CALL_ROUTING:
	case CALL_OFFER:
		drop(c, "caller hung up");
		call_end(c, "dropped", "caller hung up in the IVR");
		break;
	case CALL_TRANSFER:
		if (c->refer_accepted) {
			const struct conf_dept *d = &c->conf->depts[c->dept];
			struct journal_event ev = {
				.event = JEV_TRANSFER_RESULT, .dept = d->name,
				.target = d->targets[c->target], .result = "unconfirmed",
				.reason = "the caller's side ended our leg before reporting the outcome",
			};
			record(c, &ev);
			call_end(c, "transferred", "caller's side ended the call during transfer");
		} else {
			drop(c, "caller hung up during transfer");
			call_end(c, "dropped", "caller hung up during transfer");
		}
		break;
	case CALL_GOODBYE:
		call_end(c, c->promised ? "callback promised" : "ended", c->after_reason);
		break;
	default:
		call_end(c, c->transferred ? "transferred" : "ended",
			c->after_reason[0] ? c->after_reason : "caller hung up");
		break;
	}
}

/* INFO (RFC 6086) with the DTMF bodies phones and trunks send without an Info-Package:
 * the key joins the RFC 4733 ones. */
static void
info(struct call *c, struct sip_server_tx *tx, const struct sip_msg *req)
{
	char ctype[128], err[96], reason[160];
	const char *body;
	size_t blen;
	char key;
	int rc;

	body = sip_msg_body(req, &blen);
	/* RFC 6086 4.2.2: a bodiless INFO (a keepalive some peers send) gets 200 */
	if (body == NULL || blen == 0) {
		reject(tx, 200, "OK", NULL);
		return;
	}
	rc = dtmf_info_parse(&key, NULL, sip_msg_content_type(req, ctype, sizeof(ctype)), body,
		blen, err, sizeof(err));
	switch (rc) {
	case 0:
		reject(tx, 200, "OK", NULL);
		r_key(c, key, DTMF_INFO);
		break;
	case ENOMSG:
		reject(tx, 200, "OK", NULL); /* a hook flash: nothing for a menu */
		break;
	case ENOTSUP:
		reject(tx, 415, "Unsupported Media Type", "Accept: " DTMF_INFO_ACCEPT "\r\n");
		break;
	default:
		/* err quotes nothing from the body: it may be digits of a sensitive entry */
		log_msg(LOG_PRIO_NOTICE, "call", c->call_id, "INFO refused: %s", err);
		snprintf(reason, sizeof(reason), "Bad Request (%s)", err);
		reject(tx, 400, reason, NULL);
		break;
	}
}

static void
in_dialog(struct call_mgr *m, struct sip_server_tx *tx, const struct sip_msg *req)
{
	const char *method = sip_msg_method(req);
	struct call *c = hmap_get(m->calls, req->call_id);
	const char *ftag = sip_msg_from_tag(req);
	const char *ttag = sip_msg_to_tag(req);

	if (c == NULL && outbound_in_dialog(m, tx, req))
		return;
	/* RFC 3261 12.2.2: the dialog is Call-ID, our tag and the caller's tag */
	if (c == NULL || c->state == CALL_ENDED || ttag == NULL ||
	    strcmp(ttag, c->local_tag) != 0 || ftag == NULL || strcmp(ftag, c->remote_tag) != 0) {
		reject(tx, 481, "Call/Transaction Does Not Exist", NULL);
		return;
	}
	/* RFC 3261 12.2.2: a CSeq lower than the last is out of order */
	if (sip_msg_cseq(req) < c->dlg.remote_cseq) {
		reject(tx, 500, "Server Internal Error", "Retry-After: 1\r\n");
		return;
	}
	c->dlg.remote_cseq = sip_msg_cseq(req);
	rtp_session_touch(c->rtp); /* the caller is alive, RTP or not (rtp.timeout) */
	if (strcmp(method, "BYE") == 0)
		bye(c, tx);
	else if (strcmp(method, "NOTIFY") == 0)
		notify(c, tx, req);
	else if (strcmp(method, "INVITE") == 0)
		reinvite(c, tx, req);
	else if (strcmp(method, "UPDATE") == 0)
		update(c, tx, req);
	else if (strcmp(method, "OPTIONS") == 0)
		reject(tx, 200, "OK", ALLOW "Accept: application/sdp\r\n");
	else if (strcmp(method, "INFO") == 0)
		info(c, tx, req);
	else if (strcmp(method, "REFER") == 0 || strcmp(method, "PRACK") == 0 ||
		 strcmp(method, "MESSAGE") == 0 || strcmp(method, "SUBSCRIBE") == 0)
		reject(tx, 405, "Method Not Allowed", ALLOW);
	else
		reject(tx, 501, "Not Implemented", ALLOW);
}

static void
on_request(void *arg, struct sip_server_tx *tx, const struct sip_msg *req)
{
	struct call_mgr *m = arg;
	const char *method = sip_msg_method(req);
	const char *mf = sip_msg_header(req, "max-forwards");

	if (mf != NULL && strtol(mf, NULL, 10) <= 0 && strcmp(method, "OPTIONS") != 0) {
		reject(tx, 483, "Too Many Hops", NULL);
		return;
	}
	if (sip_msg_to_tag(req) != NULL) {
		in_dialog(m, tx, req);
		return;
	}
	/* OPTIONS stays open to monitoring; an untrusted INVITE is journaled by new_call */
	if (strcmp(method, "INVITE") != 0 && strcmp(method, "OPTIONS") != 0 &&
	    !conf_trusted(m->conf, (const struct sockaddr *)&req->src)) {
		if (refuse_log_allowed(m)) {
			char src[INET6_ADDRSTRLEN];
			source_ip(src, sizeof(src), &req->src);
			log_msg(LOG_PRIO_NOTICE, "call", req->call_id, "%s from %s refused: not trusted",
				method, src);
		}
		reject(tx, 403, "Forbidden", NULL);
		return;
	}
	if (strcmp(method, "INVITE") == 0) {
		if (hmap_get(m->calls, req->call_id) != NULL) {
			/* same Call-ID, new transaction, no To tag: a loop or a fork */
			reject(tx, 482, "Loop Detected", NULL);
			return;
		}
		new_call(m, tx, req);
	} else if (strcmp(method, "OPTIONS") == 0) {
		reject(tx, 200, "OK", ALLOW "Accept: application/sdp\r\n");
	} else if (strcmp(method, "BYE") == 0 || strcmp(method, "NOTIFY") == 0) {
		reject(tx, 481, "Call/Transaction Does Not Exist", NULL);
	} else if (strcmp(method, "REGISTER") == 0 || strcmp(method, "SUBSCRIBE") == 0 ||
		   strcmp(method, "PUBLISH") == 0 || strcmp(method, "MESSAGE") == 0 ||
		   strcmp(method, "REFER") == 0 || strcmp(method, "INFO") == 0 ||
		   strcmp(method, "UPDATE") == 0 || strcmp(method, "PRACK") == 0) {
		reject(tx, 405, "Method Not Allowed", ALLOW);
	} else {
		reject(tx, 501, "Not Implemented", ALLOW);
	}
}

/* The answer to the offer in our 2xx (RFC 3264 late offer). Without a usable one, a call
 * that has no media yet ends; an established one keeps its media. */
static void
ack_answer(struct call *c, const struct sip_msg *ack)
{
	struct sdp_media media;
	const char *body;
	size_t blen;
	char ctype[64], err[200], why[260];
	int rc = EPROTO;

	if (c->state == CALL_LEAVING || c->state == CALL_ENDED)
		return;
	body = sip_msg_body(ack, &blen);
	if (body == NULL || blen == 0)
		snprintf(err, sizeof(err), "no SDP answer in the ACK");
	else if (sip_msg_content_type(ack, ctype, sizeof(ctype)) == NULL ||
		 strcmp(ctype, "application/sdp") != 0)
		snprintf(err, sizeof(err), "the ACK's body is not application/sdp");
	else
		rc = sdp_answer_parse(&media, body, blen, err, sizeof(err));
	if (rc != 0) {
		if (!c->media_started) {
			snprintf(why, sizeof(why), "no usable SDP answer in the ACK: %s", err);
			hang_up(c, why);
		} else {
			log_msg(LOG_PRIO_NOTICE, "call", c->call_id,
				"SDP answer in the ACK refused, media unchanged: %s", err);
		}
		return;
	}
	media_apply(c, &media);
	if (!c->media_started)
		start_media(c);
}

static void
on_ack(void *arg, const struct sip_msg *ack)
{
	struct call_mgr *m = arg;
	struct call *c = hmap_get(m->calls, ack->call_id);

	if (c == NULL || c->ok_msg == NULL || sip_msg_cseq(ack) != c->ok_cseq)
		return;
	event_del(c->ok_timer);
	free(c->ok_msg);
	c->ok_msg = NULL;
	if (c->offer_sent) {
		c->offer_sent = false;
		ack_answer(c, ack);
	}
}

static void
on_cancel(void *arg, struct sip_server_tx *invite_tx)
{
	struct call_mgr *m = arg;
	const struct sip_msg *req = sip_tx_request(invite_tx);
	struct call *c = hmap_get(m->calls, req->call_id);

	if (c == NULL || c->invite_tx != invite_tx)
		return;
	sip_respond(invite_tx, 487, "Request Terminated", c->local_tag, NULL, NULL, NULL);
	c->invite_tx = NULL;
	m->stats.cancelled++;
	call_end(c, "cancelled", "caller cancelled before answer");
}

static const struct sip_handlers sip_handlers = {
	.request = on_request,
	.ack = on_ack,
	.cancel = on_cancel,
};

int
call_mgr_new(struct call_mgr **mp, struct event_base *base, struct conf *conf,
	struct journal *j, struct rtp_pacer *pacer, struct metrics *metrics)
{
	struct call_mgr *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return ENOMEM;
	m->base = base;
	m->journal = j;
	m->pacer = pacer;
	m->metrics = metrics;
	m->conf = conf_ref(conf);
	if ((rc = hmap_new(&m->calls)) != 0 || (rc = hmap_new(&m->overrides)) != 0 ||
	    (rc = hmap_new(&m->rr)) != 0 || (rc = hmap_new(&m->inflight)) != 0 ||
	    (rc = hmap_new(&m->history)) != 0 || (rc = hmap_new(&m->by_source)) != 0)
		goto fail;
	history_seed(m);
	if ((rc = sip_stack_new(&m->sip, base, &sip_handlers, m, conf->user_agent)) != 0)
		goto fail;
	sip_stack_limits(m->sip, conf->max_message_size, conf->max_headers);
	sip_stack_stream_limits(m->sip, conf->max_connections, conf->tcp_idle_timeout);
	for (size_t i = 0; i < conf->nlisten; i++) {
		rc = sip_stack_listen(m->sip, &conf->listen[i]);
		if (rc != 0) {
			log_err("sip", "cannot listen on %s: %s", conf->listen[i].text, strerror(rc));
			goto fail;
		}
	}
	*mp = m;
	return 0;
fail:
	call_mgr_free(m);
	return rc;
}

struct sip_stack *
call_mgr_sip(struct call_mgr *m)
{
	return m->sip;
}

void
call_mgr_set_conf(struct call_mgr *m, struct conf *conf)
{
	struct conf *old = m->conf;

	m->conf = conf_ref(conf);
	conf_unref(old);
	sip_stack_limits(m->sip, conf->max_message_size, conf->max_headers);
	sip_stack_stream_limits(m->sip, conf->max_connections, conf->tcp_idle_timeout);
	history_seed(m);
}

void
call_mgr_stats(const struct call_mgr *m, struct call_stats *st)
{
	*st = m->stats;
}

struct visit {
	void (*fn)(void *arg, const char *where, uint64_t generation);
	void *arg;
};

static void
visit_call(void *arg, const char *key, void *value)
{
	struct visit *v = arg;
	struct call *c = value;
	char where[80];
	(void)key;

	if (c->state == CALL_MENU && menu_name(&c->menu) != NULL)
		snprintf(where, sizeof(where), "menu %s", menu_name(&c->menu));
	else
		snprintf(where, sizeof(where), "%s", state_names[c->state]);
	v->fn(v->arg, where, c->conf->generation);
}

void
call_mgr_foreach(const struct call_mgr *m,
	void (*fn)(void *arg, const char *where, uint64_t generation), void *arg)
{
	struct visit v = {fn, arg};

	hmap_foreach(m->calls, visit_call, &v);
}

static const char *const override_names[] = {"auto", "open", "closed"};

int
call_mgr_dept_override(struct call_mgr *m, const char *dept, enum dept_override o,
	const char *who)
{
	enum dept_override old = call_mgr_dept_state(m, dept);
	struct journal_event ev = {
		.event = "dept.override", .dept = dept, .result = override_names[o], .reason = who,
		.duration_ms = -1,
	};
	char detail[32];

	if (conf_dept_find(m->conf, dept) < 0)
		return EINVAL;
	hmap_del(m->overrides, dept);
	if (o != DEPT_AUTO && hmap_put(m->overrides, dept, (void *)(intptr_t)o) != 0)
		return ENOMEM;
	snprintf(detail, sizeof(detail), "%s -> %s", override_names[old], override_names[o]);
	ev.detail = detail;
	journal_append(m->journal, &ev);
	log_notice("dept", "%s: %s (%s)", dept, detail, who != NULL ? who : "operator");
	return 0;
}

enum dept_override
call_mgr_dept_state(const struct call_mgr *m, const char *dept)
{
	return (enum dept_override)(intptr_t)hmap_get(m->overrides, dept);
}

bool
call_mgr_dept_open(const struct call_mgr *m, const struct conf *c, int dept)
{
	const struct conf_dept *d = &c->depts[dept];

	switch (call_mgr_dept_state(m, d->name)) {
	case DEPT_OPEN:
		return true;
	case DEPT_CLOSED:
		return false;
	default:
		return hours_open(d->hours, d->tz, time(NULL));
	}
}

void
call_mgr_drain(struct call_mgr *m, bool on)
{
	m->draining = on;
}

static void
collect(void *arg, const char *key, void *value)
{
	struct call ***p = arg;
	(void)key;
	*(*p)++ = value;
}

void
call_mgr_end_all(struct call_mgr *m, const char *reason)
{
	size_t n = hmap_count(m->calls);
	struct call **all = calloc(n + 1, sizeof(*all)), **p = all;

	outbound_end_all(m, reason);
	if (all == NULL)
		return;
	hmap_foreach(m->calls, collect, &p);
	for (size_t i = 0; i < n; i++) {
		struct call *c = all[i];
		if (in_ivr(c))
			drop(c, reason);
		if (c->state == CALL_RINGING && c->invite_tx != NULL) {
			call_end(c, "ended", reason);
			continue;
		}
		str_copy(c->after_reason, reason, sizeof(c->after_reason));
		send_bye(c);
		call_end(c, "ended", reason);
	}
	free(all);
}

static void
free_value(void *arg, const char *key, void *value)
{
	(void)arg;
	(void)key;
	free(value);
}

void
call_mgr_free(struct call_mgr *m)
{
	if (m == NULL)
		return;
	if (m->calls != NULL)
		call_mgr_end_all(m, "daemon stopping");
	/* run the deferred frees of the calls just ended */
	event_base_loop(m->base, EVLOOP_NONBLOCK);
	outbound_free(m);
	sip_stack_free(m->sip);
	hmap_free(m->calls);
	hmap_free(m->overrides);
	hmap_free(m->rr);
	hmap_free(m->inflight);
	hmap_free(m->by_source);
	if (m->history != NULL)
		hmap_foreach(m->history, free_value, NULL);
	hmap_free(m->history);
	conf_unref(m->conf);
	free(m);
}

/* --- for outbound.c --- */

struct event_base *
call_mgr_base(const struct call_mgr *m)
{
	return m->base;
}

struct conf *
call_mgr_conf(const struct call_mgr *m)
{
	return m->conf;
}

struct journal *
call_mgr_journal(const struct call_mgr *m)
{
	return m->journal;
}

struct rtp_pacer *
call_mgr_pacer(const struct call_mgr *m)
{
	return m->pacer;
}

struct metrics *
call_mgr_metrics(const struct call_mgr *m)
{
	return m->metrics;
}

bool
call_mgr_draining(const struct call_mgr *m)
{
	return m->draining;
}

struct outbound **
call_mgr_outbound(struct call_mgr *m)
{
	return &m->outbound;
}

void
call_mgr_set_callbacks(struct call_mgr *m, struct callback_mgr *cb)
{
	m->callbacks = cb;
}

/* --- for offer.c --- */

struct callback_mgr *
call_mgr_callbacks(const struct call_mgr *m)
{
	return m->callbacks;
}

const struct conf *
call_conf(const struct call *c)
{
	return c->conf;
}

struct call_mgr *
call_mgr_of(const struct call *c)
{
	return c->mgr;
}

const char *
call_id(const struct call *c)
{
	return c->call_id;
}

const char *
call_ani(const struct call *c)
{
	return c->ani;
}

int
call_lang(const struct call *c)
{
	return c->lang;
}

void
call_say(struct call *c, int prompt, bool interruptible)
{
	play(c, prompt, interruptible);
}

void
call_hush(struct call *c)
{
	rtp_session_flush(c->rtp);
}

bool
call_quiet(const struct call *c)
{
	return rtp_session_idle(c->rtp);
}

void
call_journal(struct call *c, struct journal_event *ev)
{
	record(c, ev);
}

/* --- for callback_sched.c: dial-backs share the departments' caps and rotation --- */

unsigned
call_mgr_dept_inflight(const struct call_mgr *m, const char *dept)
{
	return (unsigned)counter_get(m->inflight, dept);
}

void
call_mgr_dept_inflight_add(struct call_mgr *m, const char *dept, int delta)
{
	counter_set(m->inflight, dept, counter_get(m->inflight, dept) + (uintptr_t)(intptr_t)delta);
}

size_t
call_mgr_dept_first_target(struct call_mgr *m, const struct conf_dept *d)
{
	uintptr_t next;
	size_t first;

	if (!d->round_robin || d->ntargets == 0)
		return 0;
	next = counter_get(m->rr, d->name);
	first = next > 0 ? (next - 1) % d->ntargets : 0;
	counter_set(m->rr, d->name, (first + 1) % d->ntargets + 1);
	return first;
}
