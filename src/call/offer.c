/* The callback conversation inside a call that reached ivrd: the offer of a call back (a
 * closed or unavailable department, an exhausted overflow chain, a menu option), the number
 * read back or keyed in, the promise made durable (callback_promise) and only then told;
 * a returning caller's open promise; the caller cancelling theirs.
 *
 * It speaks through its call (call_int.h) and tells it where to go at the end with
 * call_offer_done(). A promise still being stored when the caller hangs up outlives the
 * call: its done callback frees the conversation. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call_int.h"
#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/hours.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/number.h"
#include "ivr/util.h"

#define OFFER_TIMEOUT_MS 5000 /* silence after the prompts before a timeout */
#define OFFER_MENU "callback" /* the conversation's name in the journal's menu column */

enum step {
	ST_ASK,       /* "press 1 for a call back, 2 to go on" */
	ST_CONFIRM,   /* "the number ending in 4567: 1 if right, 2 for another" */
	ST_ENTER,     /* digits, then # */
	ST_STORING,   /* callback_promise() under way: keys wait */
	ST_FAILED,    /* not stored: the unavailable prompt, then the fallback */
	ST_RETURNING, /* "you have a call back pending: 1 connects, 2 keeps it" */
	ST_CANCELLED, /* "cancelled" or "none", then back to the menu */
	ST_TOLD,      /* stored, the caller hears when to expect the call */
};

static const char *const day_names[7] = {"on Sunday", "on Monday", "on Tuesday",
	"on Wednesday", "on Thursday", "on Friday", "on Saturday"};

struct offer {
	struct call *call; /* NULL once the call ended while a promise was being stored */
	enum offer_kind kind;
	enum step step;
	int dept;
	int64_t cb_id;       /* returning: the open promise */
	bool has_ani;        /* the caller's number can be called back */
	unsigned misses;     /* keys that were no answer, at this step */
	unsigned bad_numbers;
	char typed[NUMBER_MAX + 1];
	size_t ntyped;
	char number[NUMBER_MAX]; /* to call, normalized */
	struct event *timer;
	char call_id[256];   /* for the log line of a promise stored after the call ended */
};

static const struct conf *
cf(const struct offer *o)
{
	return call_conf(o->call);
}

static const struct conf_dept *
dept(const struct offer *o)
{
	return &cf(o)->depts[o->dept];
}

static const struct conf_cb_prompts *
prompts(const struct offer *o)
{
	return &cf(o)->cb_prompts;
}

/* "*******4567": a number as journaled and logged (personal data: its last 4 digits). */
static void
masked(char *buf, size_t size, const char *number)
{
	size_t n = strlen(number), i;

	for (i = 0; i < n && i + 1 < size; i++)
		buf[i] = i + 4 < n ? '*' : number[i];
	buf[i] = '\0';
}

static void
journal_offer(struct offer *o, const char *result, const char *reason)
{
	struct journal_event ev = {
		.event = JEV_CB_OFFER, .menu = OFFER_MENU, .dept = dept(o)->name,
		.result = result, .reason = reason, .duration_ms = -1,
	};

	call_journal(o->call, &ev);
}

static void
journal_key(struct offer *o, char key, const char *detail)
{
	char k[2] = {key, '\0'};
	struct journal_event ev = {
		.event = JEV_KEY, .menu = OFFER_MENU, .key = k, .detail = detail,
		.duration_ms = -1,
	};

	call_journal(o->call, &ev);
}

static void
say(struct offer *o, int prompt, bool interruptible)
{
	if (prompt >= 0)
		call_say(o->call, prompt, interruptible);
}

static void
timer_stop(struct offer *o)
{
	event_del(o->timer);
}

static void
timer_start(struct offer *o)
{
	struct timeval tv = {OFFER_TIMEOUT_MS / 1000, OFFER_TIMEOUT_MS % 1000 * 1000};

	event_add(o->timer, &tv);
}

/* The conversation's end; o is freed by the call (call_offer_done). */
static void
finish(struct offer *o, enum offer_next next, const char *reason)
{
	timer_stop(o);
	call_offer_done(o->call, next, o->dept, reason);
}

static void
decline(struct offer *o, const char *why)
{
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "call back from %s declined: %s",
		dept(o)->name, why);
	journal_offer(o, "declined", why);
	finish(o, o->kind == OFFER_CALLBACK ? OFFER_NEXT_FALLBACK : OFFER_NEXT_MENU, why);
}

/* A prompt sequence that waits for a key when it ends. */
static void
ask(struct offer *o, enum step step)
{
	const struct conf_cb_prompts *p = prompts(o);
	size_t n = strlen(o->number);

	timer_stop(o);
	o->step = step;
	switch (step) {
	case ST_ASK:
		say(o, p->offer, true);
		break;
	case ST_CONFIRM:
		say(o, p->number_is, true);
		for (size_t i = n > 4 ? n - 4 : 0; i < n; i++)
			say(o, p->digits[o->number[i] - '0'], true);
		say(o, p->confirm, true);
		break;
	case ST_ENTER:
		o->ntyped = 0;
		o->typed[0] = '\0';
		say(o, p->enter_number, true);
		break;
	case ST_RETURNING:
		say(o, p->returning, true);
		say(o, dept(o)->callback.name_prompt, true);
		say(o, p->returning_keys, true);
		break;
	default:
		break;
	}
	if (call_quiet(o->call))
		timer_start(o);
}

/* A key that answers nothing, or a timeout: the question once more, then no. */
static void
miss(struct offer *o, const char *what)
{
	char why[80];

	if (++o->misses >= 2) {
		snprintf(why, sizeof(why), "%s twice", what);
		decline(o, why);
		return;
	}
	call_hush(o->call);
	ask(o, o->step);
}

/* Day and time as said to the caller (offer.h): due rounded up to the next half hour in
 * the department's zone; *day is -1 today, -2 tomorrow, else the weekday (0 = Sunday). */
static int64_t
civil_days(const struct tm *tm)
{
	/* days from 1970-01-01 (H. Hinnant's days_from_civil) */
	int64_t y = tm->tm_year + 1900 - (tm->tm_mon < 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t m = tm->tm_mon + 1;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm->tm_mday - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void
localtime_in(const struct tz *z, time_t t, struct tm *tm)
{
	if (z != NULL)
		tz_localtime(z, t, tm);
	else
		gmtime_r(&t, tm);
}

/* The half hour the caller is told, in z; the promise is due then, not at the minute the
 * service level gives, so it is never "overdue" before the time the caller heard. */
static time_t
told_time(const struct tz *z, int64_t due_ms)
{
	time_t t = (time_t)((due_ms + 999) / 1000);
	struct tm due;
	int past;

	localtime_in(z, t, &due);
	past = due.tm_min % 30 * 60 + due.tm_sec;
	return past > 0 ? t + 1800 - past : t;
}

void
offer_when(const struct tz *z, int64_t now_ms, int64_t due_ms, int *day, int *slot)
{
	time_t t = told_time(z, due_ms);
	struct tm due, now;
	int64_t d;

	localtime_in(z, t, &due);
	localtime_in(z, (time_t)(now_ms / 1000), &now);
	*slot = due.tm_hour * 2 + due.tm_min / 30;
	d = civil_days(&due) - civil_days(&now);
	*day = d <= 0 ? -1 : d == 1 ? -2 : due.tm_wday;
}

static void
on_promised(void *arg, int err, const struct callback *cb, bool updated)
{
	struct offer *o = arg;
	const struct conf_cb_prompts *p;
	char reason[160], num[NUMBER_MAX + 1], when[64];
	int day, slot;
	struct tm tm;
	time_t due;

	if (o->call == NULL) {
		/* the caller hung up while it was stored: kept all the same, never told */
		if (err == 0)
			log_msg(LOG_PRIO_NOTICE, "call", o->call_id, "call back #%lld stored after "
				"the caller hung up", (long long)cb->id);
		event_free(o->timer);
		free(o);
		return;
	}
	if (err != 0) {
		log_msg(LOG_PRIO_ERR, "call", o->call_id, "call back from %s not stored: %s; "
			"nothing promised", dept(o)->name, strerror(err));
		snprintf(reason, sizeof(reason), "not stored: %s", strerror(err));
		journal_offer(o, "not stored", reason);
		o->step = ST_FAILED;
		call_hush(o->call);
		say(o, dept(o)->unavailable_prompt, false);
		if (call_quiet(o->call))
			finish(o, OFFER_NEXT_FALLBACK, "call back not stored");
		return;
	}
	p = prompts(o);
	offer_when(dept(o)->tz, clock_wall_ms(), cb->due_ms, &day, &slot);
	masked(num, sizeof(num), cb->number);
	due = (time_t)(cb->due_ms / 1000);
	gmtime_r(&due, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_msg(LOG_PRIO_NOTICE, "call", o->call_id, "call back #%lld %s: %s, number %s, due %s",
		(long long)cb->id, updated ? "updated" : "promised", dept(o)->name, num, when);
	/* stored: only now is the caller told */
	o->step = ST_TOLD;
	snprintf(reason, sizeof(reason), "call back #%lld %s %s at %02d:%02d", (long long)cb->id,
		updated ? "updated:" : "promised:", day == -1 ? "today" : day == -2 ? "tomorrow" :
		day_names[day], slot / 2, slot % 2 * 30);
	{
		struct journal_event ev = {
			.event = JEV_CB_OFFER, .menu = OFFER_MENU, .dept = dept(o)->name,
			.result = "told", .reason = reason, .duration_ms = -1,
			.prompt = p->promised >= 0 ? cf(o)->prompt_names[p->promised] : NULL,
			.callback_id = cb->id,
		};
		call_journal(o->call, &ev);
	}
	call_hush(o->call);
	say(o, p->promised, false);
	say(o, day == -1 ? p->today : day == -2 ? p->tomorrow : p->weekday[day], false);
	say(o, p->at, false);
	say(o, p->times[slot], false);
	say(o, p->goodbye, false);
	snprintf(reason, sizeof(reason), "call back #%lld %s", (long long)cb->id,
		updated ? "updated" : "promised");
	finish(o, OFFER_NEXT_PROMISED, reason);
}

static void
promise(struct offer *o)
{
	struct call_mgr *m = call_mgr_of(o->call);
	struct callback_mgr *cbm = call_mgr_callbacks(m);
	const struct conf_dept *d = dept(o);
	int64_t now = clock_wall_ms();
	struct callback_req r = {
		.number = o->number, .ani = call_ani(o->call), .dept = d->name,
		.lang = cf(o)->langs[call_lang(o->call)], .call_id = o->call_id,
		.expires_ms = now + (int64_t)d->callback.window_s * 1000,
		.max_attempts = d->callback.attempts,
	};
	int rc = cbm != NULL ? 0 : ENOTCONN;

	timer_stop(o);
	call_hush(o->call);
	r.due_ms = cbm != NULL ? callback_due_ms(cbm, cf(o), o->dept, now) : -1;
	if (rc == 0 && r.due_ms < 0)
		rc = ERANGE;
	if (rc == 0) {
		r.dial_ms = r.due_ms;
		r.due_ms = (int64_t)told_time(d->tz, r.due_ms) * 1000;
	}
	if (rc == 0 && r.due_ms > r.expires_ms)
		r.expires_ms = r.due_ms + (int64_t)d->callback.window_s * 1000;
	o->step = ST_STORING;
	/* done may run before callback_promise returns: o is not touched after it */
	if (rc == 0 && (rc = callback_promise(cbm, &r, on_promised, o)) == 0)
		return;
	on_promised(o, rc, NULL, false);
}

static bool
valid_number(const struct offer *o, char *out, size_t size)
{
	const struct number_plan *np = &cf(o)->plan;
	size_t n = strlen(o->typed), cc = np->country_code ? strlen(np->country_code) : 0;

	if (number_normalize(out, size, o->typed, np) != 0)
		return false;
	/* a national number, or the country code and a national number */
	return n == np->national_len || (cc > 0 && n == cc + np->national_len &&
		strncmp(o->typed, np->country_code, cc) == 0);
}

static void
entered(struct offer *o, const char *how)
{
	char shown[NUMBER_MAX + 1], detail[96], number[NUMBER_MAX];
	bool ok = valid_number(o, number, sizeof(number));
	struct journal_event ev = {
		.event = JEV_ENTRY, .menu = OFFER_MENU, .key = shown, .detail = detail,
		.duration_ms = -1,
	};

	timer_stop(o);
	masked(shown, sizeof(shown), o->typed);
	snprintf(detail, sizeof(detail), "%s; %s", how, ok ? "number to call" :
		"not a number that can be called");
	call_journal(o->call, &ev);
	log_msg(LOG_PRIO_INFO, "call", o->call_id, "call back number %s %s", shown,
		ok ? "taken" : "refused");
	if (ok) {
		str_copy(o->number, number, sizeof(o->number));
		promise(o);
		return;
	}
	if (++o->bad_numbers >= 2) {
		decline(o, "two numbers that cannot be called");
		return;
	}
	call_hush(o->call);
	say(o, prompts(o)->invalid_number, true);
	ask(o, ST_ENTER);
}

static void
enter_key(struct offer *o, char key)
{
	if (key == '#') {
		if (o->ntyped == 0) {
			call_hush(o->call);
			ask(o, ST_ENTER);
		} else {
			entered(o, "ended by #");
		}
		return;
	}
	if (key == '*') {
		call_hush(o->call);
		ask(o, ST_ENTER);
		return;
	}
	if (key < '0' || key > '9' || o->ntyped >= NUMBER_MAX - 1) {
		o->typed[o->ntyped] = '\0';
		entered(o, key < '0' || key > '9' ? "ended by a key that is not a digit" :
			"too many digits");
		return;
	}
	if (o->ntyped == 0)
		call_hush(o->call);
	o->typed[o->ntyped++] = key;
	o->typed[o->ntyped] = '\0';
	timer_stop(o);
	timer_start(o);
}

void
offer_key(struct offer *o, char key)
{
	switch (o->step) {
	case ST_ASK:
		if (key == '1') {
			journal_key(o, key, "call back accepted");
			journal_offer(o, "accepted", "key 1");
			o->misses = 0;
			call_hush(o->call);
			ask(o, o->has_ani ? ST_CONFIRM : ST_ENTER);
		} else if (key == '2') {
			journal_key(o, key, "call back declined");
			decline(o, "key 2");
		} else {
			journal_key(o, key, "not 1 or 2");
			miss(o, "no answer");
		}
		break;
	case ST_CONFIRM:
		if (key == '1') {
			journal_key(o, key, "number confirmed");
			promise(o);
		} else if (key == '2') {
			journal_key(o, key, "another number");
			o->misses = 0;
			call_hush(o->call);
			ask(o, ST_ENTER);
		} else {
			journal_key(o, key, "not 1 or 2");
			miss(o, "no answer");
		}
		break;
	case ST_ENTER:
		enter_key(o, key);
		break;
	case ST_RETURNING:
		if (key == '1') {
			journal_key(o, key, "connect now");
			finish(o, OFFER_NEXT_CONNECT, "the caller chose to be connected now");
		} else if (key == '2') {
			journal_key(o, key, "keep the call back");
			finish(o, OFFER_NEXT_MENU, "the caller keeps the call back");
		} else {
			journal_key(o, key, "not 1 or 2");
			if (++o->misses >= 2) {
				finish(o, OFFER_NEXT_MENU, "no answer twice: the call back is kept");
				return;
			}
			call_hush(o->call);
			ask(o, ST_RETURNING);
		}
		break;
	default:
		break; /* storing, or saying goodbye: keys wait */
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct offer *o = arg;
	(void)fd;
	(void)what;

	switch (o->step) {
	case ST_ASK:
	case ST_CONFIRM:
		decline(o, "no key pressed");
		break;
	case ST_ENTER:
		if (o->ntyped > 0)
			entered(o, "inter-digit timeout");
		else
			decline(o, "no number entered");
		break;
	case ST_RETURNING:
		finish(o, OFFER_NEXT_MENU, "no key pressed: the call back is kept");
		break;
	default:
		break;
	}
}

void
offer_drained(struct offer *o)
{
	switch (o->step) {
	case ST_FAILED:
		finish(o, OFFER_NEXT_FALLBACK, "call back not stored");
		break;
	case ST_CANCELLED:
		finish(o, OFFER_NEXT_MENU, "call backs cancelled");
		break;
	case ST_STORING:
		break;
	default:
		if (!event_pending(o->timer, EV_TIMEOUT, NULL))
			timer_start(o);
		break;
	}
}

void
offer_hold(struct offer *o, bool held, bool idle)
{
	if (held)
		timer_stop(o);
	else if (idle)
		offer_drained(o);
}

bool
offer_masks_keys(const struct offer *o)
{
	return o != NULL && o->step == ST_ENTER;
}

/* callback-cancel: every open promise of the caller, then the menu again. */
static void
cancel_all(struct offer *o)
{
	struct callback_mgr *cbm = call_mgr_callbacks(call_mgr_of(o->call));
	const char *ani = call_ani(o->call);
	unsigned n = 0;

	for (size_t i = 0; cbm != NULL && o->has_ani && i <= cf(o)->ndepts + 8; i++) {
		const struct callback *cb = callback_find_open(cbm, ani, NULL);
		char dname[64];
		int64_t id;
		if (cb == NULL)
			break;
		id = cb->id;
		str_copy(dname, cb->dept, sizeof(dname));
		if (callback_cancel(cbm, id, "caller", "cancelled by the caller from a menu",
		    o->call_id) != 0)
			break;
		log_msg(LOG_PRIO_NOTICE, "call", o->call_id, "call back #%lld (%s) cancelled by "
			"the caller", (long long)id, dname);
		n++;
	}
	if (n == 0)
		log_msg(LOG_PRIO_INFO, "call", o->call_id, "no call back to cancel");
	o->step = ST_CANCELLED;
	say(o, n > 0 ? prompts(o)->cancelled : prompts(o)->none, true);
	if (call_quiet(o->call))
		finish(o, OFFER_NEXT_MENU, "call backs cancelled");
}

int
offer_start(struct offer **op, struct call *c, enum offer_kind kind, int dept_idx,
	int64_t cb_id, int first_prompt, const char *reason)
{
	struct offer *o = calloc(1, sizeof(*o));
	char digits[NUMBER_MAX];

	*op = NULL;
	if (o == NULL)
		return ENOMEM;
	o->timer = evtimer_new(call_mgr_base(call_mgr_of(c)), on_timeout, o);
	if (o->timer == NULL) {
		free(o);
		return ENOMEM;
	}
	o->call = c;
	o->kind = kind;
	o->dept = dept_idx;
	o->cb_id = cb_id;
	str_copy(o->call_id, call_id(c), sizeof(o->call_id));
	o->has_ani = number_normalize(digits, sizeof(digits), call_ani(c), &call_conf(c)->plan) == 0;
	if (o->has_ani)
		str_copy(o->number, digits, sizeof(o->number));
	*op = o;
	call_hush(c);
	switch (kind) {
	case OFFER_CALLBACK:
		log_msg(LOG_PRIO_INFO, "call", o->call_id, "offering a call back from %s: %s",
			dept(o)->name, reason);
		journal_offer(o, "offered", reason);
		say(o, first_prompt, false);
		ask(o, ST_ASK);
		break;
	case OFFER_RETURNING: {
		char why[80];
		struct journal_event ev = {
			.event = JEV_CB_OFFER, .menu = OFFER_MENU, .dept = dept(o)->name,
			.result = "pending", .reason = why, .duration_ms = -1, .callback_id = cb_id,
		};
		log_msg(LOG_PRIO_INFO, "call", o->call_id, "returning caller: call back #%lld "
			"from %s is open", (long long)cb_id, dept(o)->name);
		/* the trace says why the caller hears of their promise before any menu */
		snprintf(why, sizeof(why), "returning caller: call back #%lld is open",
			(long long)cb_id);
		call_journal(o->call, &ev);
		ask(o, ST_RETURNING);
		break;
	}
	case OFFER_CANCEL:
		cancel_all(o);
		break;
	}
	return 0;
}

void
offer_free(struct offer *o)
{
	if (o == NULL)
		return;
	if (o->step == ST_STORING) {
		/* on_promised frees it */
		event_del(o->timer);
		o->call = NULL;
		return;
	}
	event_free(o->timer);
	free(o);
}
