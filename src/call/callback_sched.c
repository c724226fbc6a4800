/* The scheduler that keeps promises: a timer picks open promises that are due, whose
 * department is open and has room, at most ivrd.callbacks.rate a second; each is claimed
 * (state dialing, this node as owner, a lease) before it is dialled, so it is never
 * attempted twice at once, and its outcome is journaled: kept, retried, or broken.
 *
 * Caller first: dial the caller, "this is your call back from" the department's name, then
 * REFER the caller to the department's target (round-robin and max_transfers as a routed
 * call). Department first: dial the department's target, "a call back for a caller", then
 * REFER the agent to the caller's number through the outbound proxy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "call_int.h"
#include "callback_int.h"
#include "ivr/conf.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/util.h"

#define TICK_MS 500 /* departments open by hours or by ivrctl: looked at this often */
/* A department without a callback group (promises made by another node, or before a
 * reload removed it) is kept with the group's defaults. */
#define DEFAULT_RETRY_S 300
#define DEFAULT_MAX_ACTIVE 2

struct cb_attempt {
	struct cb_attempt *next;
	struct callback_mgr *m;
	int64_t id;
	struct conf *conf;    /* the generation the attempt started on */
	int dept;
	bool dept_first;
	struct call_out *o;   /* NULL once it ended */
	char call_id[64];
	char number[32];
	size_t first, tried, target;
	bool name_played;
	bool holds_slot;      /* counted in the department's transfers in flight */
	bool referring;
	bool kept;
	bool abandoned;       /* the promise was closed meanwhile */
	char fail_result[48]; /* why the answered call did not end in a transfer */
	char fail[160];
	struct event *timer;  /* the transfer's result, within transfer_timeout */
};

static void send_refer(struct cb_attempt *a);

static const struct conf_dept *
dept_of(const struct cb_attempt *a)
{
	return &a->conf->depts[a->dept];
}

static void
slot(struct cb_attempt *a, bool take)
{
	if (a->holds_slot == take)
		return;
	a->holds_slot = take;
	call_mgr_dept_inflight_add(a->m->calls, dept_of(a)->name, take ? 1 : -1);
}

static void
attempt_free(struct cb_attempt *a)
{
	struct callback_mgr *m = a->m;

	for (struct cb_attempt **p = &m->attempts; *p != NULL; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			break;
		}
	slot(a, false);
	if (a->timer != NULL)
		event_free(a->timer);
	conf_unref(a->conf);
	free(a);
}

/* An event about the attempt, under the dial-back's Call-ID. */
static void
attempt_record(struct cb_attempt *a, struct journal_event *ev)
{
	ev->call_id = a->call_id;
	ev->callback_id = a->id;
	if (ev->dept == NULL)
		ev->dept = dept_of(a)->name;
	if (ev->dnis == NULL)
		ev->dnis = a->number;
	ev->duration_ms = -1;
	if (journal_append(a->m->j, ev) != 0)
		log_msg(LOG_PRIO_ERR, "callback", a->call_id, "journal: %s lost (no memory)",
			ev->event);
}

/* The attempt is over without keeping the promise: retry after retry_s, or broken. */
static void
finish(struct cb_attempt *a, struct cb_entry *e, const char *result, const char *reason,
	int code)
{
	struct callback_mgr *m = a->m;
	const struct conf_dept *d = m->conf != NULL && conf_dept_find(m->conf, e->cb.dept) >= 0 ?
		&m->conf->depts[conf_dept_find(m->conf, e->cb.dept)] : NULL;
	unsigned retry = d != NULL && d->callback.on ? d->callback.retry_s : DEFAULT_RETRY_S;
	int64_t now = clock_wall_ms();
	char detail[32], last4[16];
	struct journal_event ev = {.event = JEV_CB_RESULT, .result = result, .reason = reason,
		.detail = detail};

	snprintf(detail, sizeof(detail), "sip %d", code);
	e->attempt = NULL;
	e->lease_until_ms = 0;
	e->cb.state = CB_OPEN;
	e->cb.updated_ms = now;
	e->cb.next_ms = now + (int64_t)retry * 1000;
	str_copy(e->cb.last_result, result, sizeof(e->cb.last_result));
	cb_write(m, e);
	attempt_record(a, &ev);
	cb_last4(last4, sizeof(last4), e->cb.number);
	log_msg(LOG_PRIO_NOTICE, "callback", a->call_id, "callback %lld attempt %u of %u to %s: "
		"%s (%s)", (long long)e->cb.id, e->cb.attempts, e->cb.max_attempts, last4, result,
		reason);
	if (e->cb.attempts >= e->cb.max_attempts)
		cb_close(m, e, CB_BROKEN, "attempts used up", a->call_id, result);
	else if (now >= e->cb.expires_ms)
		cb_close(m, e, CB_BROKEN, "window passed", a->call_id, result);
	else
		cb_gauges(m);
	sched_kick(m);
}

static void
kept(struct cb_attempt *a, int code)
{
	struct cb_entry *e = cb_find(a->m, a->id);
	char detail[32], reason[96];
	struct journal_event ev = {.event = JEV_CB_RESULT, .result = "answered",
		.reason = reason, .detail = detail};

	a->kept = true;
	if (e == NULL || e->attempt != a)
		return;
	snprintf(detail, sizeof(detail), "sip %d", code);
	snprintf(reason, sizeof(reason), "connected to %s", dept_of(a)->name);
	str_copy(e->cb.last_result, "answered", sizeof(e->cb.last_result));
	e->attempt = NULL;
	attempt_record(a, &ev);
	cb_close(a->m, e, CB_KEPT, "connected by a dial-back", a->call_id, NULL);
}

static void
on_refer(void *arg, int code, const char *why)
{
	struct cb_attempt *a = arg;
	const struct conf_dept *d = dept_of(a);
	struct journal_event ev = {.event = JEV_TRANSFER_RESULT, .reason = why};

	if (!a->referring)
		return;
	a->referring = false;
	evtimer_del(a->timer);
	ev.target = a->dept_first ? NULL : d->targets[a->target];
	ev.result = code >= 200 && code < 300 ? "ok" : "failed";
	attempt_record(a, &ev);
	if (code >= 200 && code < 300) {
		slot(a, false);
		kept(a, code);
		if (a->o != NULL)
			call_out_hangup(a->o, "transferred");
		return;
	}
	if (!a->dept_first) {
		slot(a, false);
		if (!a->abandoned && ++a->tried < d->ntargets) {
			a->target = (a->first + a->tried) % d->ntargets;
			send_refer(a);
			return;
		}
	}
	str_copy(a->fail_result, a->dept_first ? call_out_result_of(code) : "transfer failed",
		sizeof(a->fail_result));
	str_copy(a->fail, why, sizeof(a->fail));
	if (a->o != NULL)
		call_out_hangup(a->o, why);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cb_attempt *a = arg;
	char why[64];
	(void)fd;
	(void)what;

	snprintf(why, sizeof(why), "no result within %u s", dept_of(a)->transfer_timeout_ms / 1000);
	on_refer(a, 408, why);
}

static void
send_refer(struct cb_attempt *a)
{
	const struct conf_dept *d = dept_of(a);
	const struct conf_outbound *ob = &a->conf->outbound;
	struct journal_event ev = {.event = JEV_TRANSFER_START};
	char target[256];
	int rc;

	if (a->dept_first)
		/* the agent calls the caller through the proxy, as ivrd would */
		snprintf(target, sizeof(target), "sip:%s@%s", a->number,
			ob->domain != NULL ? ob->domain : ob->proxy.text + 4);
	else
		str_copy(target, d->targets[a->target], sizeof(target));
	slot(a, true);
	ev.target = target;
	attempt_record(a, &ev);
	a->referring = true;
	rc = call_out_refer(a->o, target, on_refer, a);
	if (rc != 0) {
		on_refer(a, 503, "REFER not sent");
		return;
	}
	{
		struct timeval tv = {(time_t)(d->transfer_timeout_ms / 1000),
			(suseconds_t)(d->transfer_timeout_ms % 1000) * 1000};
		evtimer_add(a->timer, &tv);
	}
}

static void
on_played(void *arg, struct call_out *o)
{
	struct cb_attempt *a = arg;
	int np = dept_of(a)->callback.on ? dept_of(a)->callback.name_prompt : -1;

	if (a->abandoned) {
		call_out_hangup(o, "the promise was closed");
		return;
	}
	/* "this is your call back from" + the department's name */
	if (!a->dept_first && !a->name_played) {
		a->name_played = true;
		if (np >= 0 && call_out_play(o, np) == 0)
			return;
	}
	send_refer(a);
}

static void
on_done(void *arg, const struct call_out_result *r)
{
	struct cb_attempt *a = arg;
	struct callback_mgr *m = a->m;
	struct cb_entry *e = cb_find(m, a->id);
	bool answered = r->sip_code >= 200 && r->sip_code < 300;
	const char *result = r->result, *reason = r->reason;

	a->o = NULL;
	if (a->referring) {
		a->referring = false;
		evtimer_del(a->timer);
		if (a->fail[0] == '\0') {
			str_copy(a->fail_result, "hung up", sizeof(a->fail_result));
			str_copy(a->fail, "the call ended during the transfer", sizeof(a->fail));
		}
	}
	if (a->kept) {
		attempt_free(a);
		return;
	}
	if (answered) {
		result = a->fail_result[0] != '\0' ? a->fail_result : "hung up";
		reason = a->fail[0] != '\0' ? a->fail : r->reason;
	}
	if (call_mgr_draining(m->calls)) {
		result = "interrupted";
		reason = "the daemon is stopping";
	}
	if (e == NULL || e->attempt != a) {
		/* closed meanwhile (cancelled, kept on another call): only the outcome */
		char detail[32];
		struct journal_event ev = {.event = JEV_CB_RESULT, .result = result,
			.reason = reason, .detail = detail};
		snprintf(detail, sizeof(detail), "sip %d", r->sip_code);
		attempt_record(a, &ev);
		attempt_free(a);
		return;
	}
	finish(a, e, result, reason, r->sip_code);
	if (strcmp(result, "interrupted") == 0 && (e = cb_find(m, a->id)) != NULL)
		e->cb.next_ms = clock_wall_ms(); /* due again at the next start */
	attempt_free(a);
}

static int
lang_index(const struct conf *c, const char *lang)
{
	for (size_t i = 0; i < c->nlangs; i++)
		if (strcmp(c->langs[i], lang) == 0)
			return (int)i;
	return -1;
}

/* Claims e (dialing, this node, a lease), then dials. 0: started or counted as failed;
 * else nothing changed and the pass stops. */
static int
start(struct callback_mgr *m, struct cb_entry *e, int dept, int64_t now)
{
	struct conf *c = m->conf;
	const struct conf_dept *d = &c->depts[dept];
	const struct conf_cb_prompts *cp = &c->cb_prompts;
	struct cb_attempt *a;
	struct call_dial_req req = {0};
	char err[200], detail[48], last4[16];
	int prompt, rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ENOMEM;
	a->m = m;
	a->id = e->cb.id;
	a->conf = conf_ref(c);
	a->dept = dept;
	a->dept_first = d->callback.on && d->callback.order == CB_DEPT_FIRST;
	str_copy(a->number, e->cb.number, sizeof(a->number));
	if ((a->timer = evtimer_new(m->base, on_timer, a)) == NULL) {
		conf_unref(a->conf);
		free(a);
		return ENOMEM;
	}
	a->next = m->attempts;
	m->attempts = a;
	a->first = a->target = call_mgr_dept_first_target(m->calls, d);

	e->cb.state = CB_DIALING;
	e->cb.attempts++;
	e->cb.updated_ms = now;
	e->lease_until_ms = now + (int64_t)(c->callback_lease_s > 0 ? c->callback_lease_s : 120) *
		1000;
	e->attempt = a;
	cb_write(m, e);

	prompt = a->dept_first ? cp->for_caller : cp->this_is;
	req.number = a->dept_first ? d->targets[a->first] : e->cb.number;
	req.prompt = prompt >= 0 ? c->prompt_names[prompt] : "";
	req.lang = lang_index(c, e->cb.lang);
	req.who = "callback";
	req.played = on_played;
	req.done = on_done;
	req.arg = a;
	rc = call_mgr_dial(&a->o, m->calls, &req, err, sizeof(err));
	if (rc == EINVAL) {
		/* the number (or the department's target) cannot be dialled: the attempt
		 * counts, and the promise ends broken rather than looping */
		snprintf(a->call_id, sizeof(a->call_id), "callback-%lld", (long long)e->cb.id);
		finish(a, e, "invalid number", err, 0);
		attempt_free(a);
		return 0;
	}
	if (rc != 0) {
		log_warn("callback", "callback %lld: cannot dial: %s", (long long)e->cb.id, err);
		e->cb.state = CB_OPEN;
		e->cb.attempts--;
		e->lease_until_ms = 0;
		e->attempt = NULL;
		cb_write(m, e);
		attempt_free(a);
		return rc;
	}
	str_copy(a->call_id, call_out_call_id(a->o), sizeof(a->call_id));
	if (a->dept_first)
		slot(a, true);
	snprintf(detail, sizeof(detail), "attempt %u of %u", e->cb.attempts, e->cb.max_attempts);
	{
		struct journal_event ev = {.event = JEV_CB_ATTEMPT, .detail = detail,
			.reason = a->dept_first ? "department first" : "caller first"};
		attempt_record(a, &ev);
	}
	m->st.attempts++;
	if (m->metrics != NULL)
		metrics_add(m->metrics, "callback.attempts", NULL, 1);
	cb_last4(last4, sizeof(last4), e->cb.number);
	log_msg(LOG_PRIO_INFO, "callback", a->call_id, "callback %lld: %s, dialing %s for %s "
		"(%s)", (long long)e->cb.id, detail, last4, d->name,
		a->dept_first ? "department first" : "caller first");
	return 0;
}

/* The department can take one more dial-back: its policy's max_active, and max_transfers
 * shared with routed calls (dial-backs that will transfer count as in flight). */
static bool
room(const struct callback_mgr *m, const struct conf_dept *d)
{
	unsigned max = d->callback.on ? d->callback.max_active : DEFAULT_MAX_ACTIVE;
	unsigned active = 0, waiting = 0;

	for (const struct cb_attempt *a = m->attempts; a != NULL; a = a->next)
		if (strcmp(dept_of(a)->name, d->name) == 0) {
			active++;
			waiting += !a->holds_slot && !a->kept;
		}
	if (max > 0 && active >= max)
		return false;
	return d->max_transfers == 0 ||
	       call_mgr_dept_inflight(m->calls, d->name) + waiting < d->max_transfers;
}

static void
overdue(struct callback_mgr *m, struct cb_entry *e)
{
	struct journal_event ev = {.event = JEV_CB_OVERDUE, .call_id = e->cb.call_id,
		.result = cb_state_name(e->cb.state), .reason = e->cb.last_result[0] != '\0' ?
		e->cb.last_result : NULL};
	char last4[16];

	e->cb.overdue_noted = true;
	cb_record(m, e, &ev);
	cb_last4(last4, sizeof(last4), e->cb.number);
	log_warn("callback", "callback %lld OVERDUE: %s for %s was due %lld s ago; %u of %u "
		"attempts made", (long long)e->cb.id, last4, e->cb.dept,
		(long long)((clock_wall_ms() - e->cb.due_ms) / 1000), e->cb.attempts,
		e->cb.max_attempts);
}

static int
by_next(const void *x, const void *y)
{
	const struct cb_entry *a = *(struct cb_entry *const *)x, *b = *(struct cb_entry *const *)y;

	if (a->cb.next_ms != b->cb.next_ms)
		return a->cb.next_ms < b->cb.next_ms ? -1 : 1;
	return a->cb.id < b->cb.id ? -1 : a->cb.id > b->cb.id;
}

static void
arm(struct callback_mgr *m, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(m->tick, &tv);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct callback_mgr *m = arg;
	struct conf *c = m->conf;
	int64_t now = clock_wall_ms(), mono = clock_mono_ms(), wait = TICK_MS;
	double rate = c != NULL && c->callback_rate > 0 ? c->callback_rate : 1.0;
	double cap = rate / 5 > 1 ? rate / 5 : 1; /* a burst of 200 ms' worth at most */
	struct cb_entry **due = NULL;
	size_t ndue = 0;
	bool limited = false;
	(void)fd;
	(void)what;

	m->tokens += (double)(mono - m->tokens_ms) * rate / 1000.0;
	if (m->tokens > cap)
		m->tokens = cap;
	m->tokens_ms = mono;

	/* escalations; backwards, as closing moves the last entry into the hole */
	for (size_t i = m->n; i-- > 0;) {
		struct cb_entry *e = m->v[i];
		if (e->cb.due_ms < now && !e->cb.overdue_noted)
			overdue(m, e);
		if (e->cb.state != CB_OPEN)
			continue;
		if (e->cb.attempts >= e->cb.max_attempts)
			cb_close(m, e, CB_BROKEN, "attempts used up", NULL, e->cb.last_result);
		else if (now >= e->cb.expires_ms)
			cb_close(m, e, CB_BROKEN, "window passed", NULL, e->cb.last_result);
	}
	if (c == NULL)
		goto out;
	if (m->n > 0 && (due = malloc(m->n * sizeof(*due))) == NULL)
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		struct cb_entry *e = m->v[i];
		if (e->cb.state != CB_OPEN)
			continue;
		if (e->cb.next_ms <= now)
			due[ndue++] = e;
		else if (e->cb.next_ms - now < wait)
			wait = e->cb.next_ms - now;
	}
	if (ndue > 1)
		qsort(due, ndue, sizeof(*due), by_next);
	for (size_t i = 0; i < ndue; i++) {
		struct cb_entry *e = due[i];
		int dept = conf_dept_find(c, e->cb.dept);

		if (dept < 0 || c->depts[dept].ntargets == 0 ||
		    !call_mgr_dept_open(m->calls, c, dept) || !room(m, &c->depts[dept]))
			continue;
		if (!c->outbound.on) {
			if (!m->no_proxy_noted)
				log_warn("callback", "%zu promise%s due, but no outbound proxy is set "
					"(ivrd.sip.outbound.proxy): nothing can be dialled", ndue,
					ndue == 1 ? " is" : "s are");
			m->no_proxy_noted = true;
			break;
		}
		if (call_mgr_draining(m->calls) ||
		    call_mgr_outbound_count(m->calls) >= c->outbound.max_outbound)
			break;
		if (m->tokens < 1.0) {
			limited = true;
			break;
		}
		if (start(m, e, dept, now) != 0)
			break;
		m->tokens -= 1.0;
	}
	if (limited) {
		int64_t ms = (int64_t)((1.0 - m->tokens) * 1000.0 / rate) + 1;
		if (ms < wait)
			wait = ms;
	}
	free(due);
out:
	cb_gauges(m);
	arm(m, wait > 0 ? wait : 1);
}

int
sched_start(struct callback_mgr *m)
{
	m->tick = evtimer_new(m->base, on_tick, m);
	if (m->tick == NULL)
		return ENOMEM;
	m->tokens = 1.0;
	m->tokens_ms = clock_mono_ms();
	arm(m, 0);
	return 0;
}

void
sched_kick(struct callback_mgr *m)
{
	if (m->tick != NULL)
		arm(m, 0);
}

void
sched_abandon(struct callback_mgr *m, struct cb_entry *e, const char *why)
{
	struct cb_attempt *a = e->attempt;
	(void)m;

	e->attempt = NULL;
	if (a == NULL)
		return;
	a->abandoned = true;
	if (a->referring) {
		a->referring = false;
		evtimer_del(a->timer);
	}
	if (a->o != NULL)
		call_out_hangup(a->o, why);
}

void
sched_stop(struct callback_mgr *m)
{
	if (m->tick != NULL) {
		event_free(m->tick);
		m->tick = NULL;
	}
	while (m->attempts != NULL) {
		struct cb_attempt *a = m->attempts;
		struct cb_entry *e = cb_find(m, a->id);
		struct call_out *o = a->o;

		if (e != NULL && e->attempt == a) {
			struct journal_event ev = {.event = JEV_CB_RESULT, .result = "interrupted",
				.reason = "the daemon is stopping"};
			e->attempt = NULL;
			e->lease_until_ms = 0;
			e->cb.state = CB_OPEN;
			e->cb.next_ms = clock_wall_ms();
			str_copy(e->cb.last_result, "interrupted", sizeof(e->cb.last_result));
			cb_write(m, e);
			attempt_record(a, &ev);
		}
		/* the call goes on alone until the call manager ends it */
		if (o != NULL) {
			call_out_detach(o);
			call_out_hangup(o, "daemon stopping");
		}
		attempt_free(a);
	}
}
