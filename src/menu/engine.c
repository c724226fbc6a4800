#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ivr/journal.h"
#include "ivr/keypad.h"
#include "ivr/log.h"
#include "ivr/menu.h"
#include "ivr/util.h"

static const struct conf_menu *
cur(const struct menu_session *ms)
{
	return &ms->conf->menus[ms->menu];
}

static void
record(struct menu_session *ms, const char *event, const char *key, const char *detail,
	const char *prompt)
{
	struct journal_event ev = {
		.event = event,
		.menu = cur(ms)->name,
		.key = key,
		.detail = detail,
		.prompt = prompt,
		.duration_ms = -1,
	};

	ms->ops->record(ms->arg, &ev);
}

void
menu_init(struct menu_session *ms, const struct conf *conf, const struct menu_ops *ops,
	void *arg)
{
	memset(ms, 0, sizeof(*ms));
	ms->conf = conf;
	ms->ops = ops;
	ms->arg = arg;
	ms->menu = -1;
	ms->state = MENU_IDLE;
	ms->operator = conf->operator_action;
}

const char *
menu_name(const struct menu_session *ms)
{
	return ms->menu >= 0 ? cur(ms)->name : NULL;
}

bool
menu_masks_keys(const struct menu_session *ms)
{
	return ms->menu >= 0 && cur(ms)->type == MENU_ENTRY && cur(ms)->sensitive;
}

static void
entry_clear(struct menu_session *ms)
{
	memset(ms->entry, 0, sizeof(ms->entry));
	ms->nentry = 0;
	ms->nchoices = 0;
}

static bool
visited(struct menu_session *ms, int menu)
{
	for (int i = 0; i < ms->nvisited; i++)
		if (ms->visited[i] == menu)
			return true;
	if (ms->nvisited < MENU_DEPTH)
		ms->visited[ms->nvisited++] = menu;
	return false;
}

static void
prompt(struct menu_session *ms, int id, bool interruptible)
{
	if (ms->state != MENU_PROMPTING) {
		ms->ops->timer(ms->arg, 0);
		ms->state = MENU_PROMPTING;
	}
	ms->ops->play(ms->arg, id, interruptible);
}

static void
enter(struct menu_session *ms, int menu)
{
	const struct conf_menu *m;
	size_t off = strlen(ms->path);
	int id;

	ms->menu = menu;
	ms->failures = 0;
	ms->timeouts = 0;
	entry_clear(ms);
	m = cur(ms);
	id = visited(ms, menu) ? m->short_prompt : m->greeting;
	str_appendf(ms->path, sizeof(ms->path), &off, "%s%s", off ? " > " : "", m->name);
	record(ms, JEV_MENU_ENTER, NULL, NULL, ms->conf->prompt_names[id]);
	if (log_tracing(LOG_TRACE_MENU))
		log_msg(LOG_PRIO_DEBUG, "menu", NULL, "enter %s, path %s", m->name, ms->path);
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
	prompt(ms, id, m->barge_in);
}

void
menu_enter(struct menu_session *ms, int menu)
{
	ms->depth = 0;
	enter(ms, menu);
}

void
menu_leave(struct menu_session *ms)
{
	entry_clear(ms);
	if (ms->state == MENU_IDLE)
		return;
	/* the menu's prompt must not outlive it: a key that routes during a prompt is a
	 * barge-in like any other */
	ms->ops->timer(ms->arg, 0);
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
}

void
menu_resume(struct menu_session *ms)
{
	if (ms->menu < 0)
		return;
	entry_clear(ms);
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
	prompt(ms, cur(ms)->short_prompt, cur(ms)->barge_in);
}

static void
route(struct menu_session *ms, int dept, const char *reason)
{
	struct journal_event ev = {
		.event = JEV_ROUTE,
		.menu = cur(ms)->name,
		.dept = ms->conf->depts[dept].name,
		.reason = reason,
		.detail = ms->path,
		.duration_ms = -1,
	};

	ms->ops->record(ms->arg, &ev);
	menu_leave(ms);
	ms->ops->route(ms->arg, dept, reason);
}

/* Fallback after too many failures or timeouts. */
static void
fall_back(struct menu_session *ms, const char *why)
{
	const struct conf_menu *m = cur(ms);
	char reason[200];

	snprintf(reason, sizeof(reason), "%s in menu %s: fallback", why, m->name);
	if (m->fallback.kind == ACT_DEPT) {
		route(ms, m->fallback.index, reason);
		return;
	}
	if (ms->depth < MENU_DEPTH)
		ms->stack[ms->depth++] = ms->menu;
	enter(ms, m->fallback.index);
}

/* Leaves the menu for a submenu (pushed, so * returns) or a department. */
static void
go(struct menu_session *ms, const struct conf_action *a, const char *reason)
{
	if (a->kind == ACT_DEPT) {
		route(ms, a->index, reason);
		return;
	}
	if (ms->depth < MENU_DEPTH)
		ms->stack[ms->depth++] = ms->menu;
	enter(ms, a->index);
}

static void
act(struct menu_session *ms, const struct conf_action *a, char key)
{
	const struct conf_menu *m = cur(ms);
	char reason[160];

	switch (a->kind) {
	case ACT_MENU:
	case ACT_DEPT:
		if (key == '0' && !m->key_set[conf_key_index('0')])
			snprintf(reason, sizeof(reason), "key 0 (operator) in menu %s", m->name);
		else
			snprintf(reason, sizeof(reason), "key %c in menu %s", key, m->name);
		go(ms, a, reason);
		break;
	case ACT_LANG:
		ms->ops->language(ms->arg, a->index);
		record(ms, JEV_LANGUAGE, NULL, ms->conf->langs[a->index],
			ms->conf->prompt_names[m->short_prompt]);
		/* the short prompt again, now in that language */
		ms->ops->stop(ms->arg);
		ms->state = MENU_IDLE;
		prompt(ms, m->short_prompt, m->barge_in);
		break;
	case ACT_CALLBACK:
	case ACT_CALLBACK_CANCEL:
		if (ms->ops->callback == NULL)
			break;
		snprintf(reason, sizeof(reason), "key %c in menu %s", key, m->name);
		ms->ops->stop(ms->arg);
		ms->state = MENU_IDLE;
		ms->ops->callback(ms->arg, a->kind == ACT_CALLBACK ? a->index : -1, reason);
		break;
	case ACT_BACK:
		if (ms->depth > 0) {
			enter(ms, ms->stack[--ms->depth]);
			break;
		}
		/* * in the entry menu has nowhere to go back to: repeat it */
		/* fall through */
	case ACT_REPEAT:
		ms->ops->stop(ms->arg);
		ms->state = MENU_IDLE;
		prompt(ms, m->short_prompt, m->barge_in);
		break;
	case ACT_NONE:
		break;
	}
}

/* What the caller is asked again after the invalid or no-input prompt. */
static void
reprompt(struct menu_session *ms)
{
	const struct conf_menu *m = cur(ms);

	if (ms->nchoices == 0) {
		prompt(ms, m->short_prompt, m->barge_in);
		return;
	}
	prompt(ms, m->choice_prompt, true);
	for (size_t i = 0; i < ms->nchoices; i++)
		prompt(ms, m->entries[ms->choices[i]].prompt, true);
}

/* A failure: why is NULL for a key a choice menu does not offer. */
static void
invalid(struct menu_session *ms, const char *key, const char *why)
{
	const struct conf_menu *m = cur(ms);
	char detail[128];

	ms->failures++;
	snprintf(detail, sizeof(detail), "%s%sfailure %u of %u", why != NULL ? why : "",
		why != NULL ? ": " : "", ms->failures, m->max_failures);
	record(ms, JEV_INVALID, key, detail, NULL);
	if (ms->failures >= m->max_failures) {
		snprintf(detail, sizeof(detail), "%u invalid %s", ms->failures,
			m->type == MENU_CHOICE ? "keys" : "entries");
		fall_back(ms, detail);
		return;
	}
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
	prompt(ms, m->invalid, true);
	reprompt(ms);
}

/* Drops what was typed and asks again, counting nothing. */
static void
restart(struct menu_session *ms)
{
	entry_clear(ms);
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
	prompt(ms, cur(ms)->short_prompt, cur(ms)->barge_in);
}

/* The value as journaled and logged (menu.h: masking). */
static void
shown(const struct menu_session *ms, char out[CONF_ENTRY_MAX + 1])
{
	size_t n = ms->nentry;

	for (size_t i = 0; i < n; i++)
		out[i] = !cur(ms)->sensitive || (n >= 7 && (i < 2 || i >= n - 2)) ? ms->entry[i]
										   : '*';
	out[n] = '\0';
}

static const struct conf_entry_route *
entry_route(const struct menu_session *ms)
{
	const struct conf_menu *m = cur(ms);

	for (size_t i = 0; i < m->nroutes; i++) {
		const struct conf_entry_route *r = &m->routes[i];
		if (r->prefix != NULL ? strncmp(ms->entry, r->prefix, strlen(r->prefix)) == 0
				      : strlen(r->from) == ms->nentry &&
				strcmp(ms->entry, r->from) >= 0 && strcmp(ms->entry, r->to) <= 0)
			return r;
	}
	return NULL;
}

/* Names whose spelling starts with the keys typed, the first MENU_CHOICES in found; one
 * spelled exactly wins alone. Returns how many match. */
static size_t
dir_match(const struct menu_session *ms, int found[MENU_CHOICES])
{
	const struct conf_menu *m = cur(ms);
	size_t n = 0, exact = 0;
	int exact_i = -1;

	for (size_t i = 0; i < m->nentries; i++) {
		char keys[64];
		int rc = keypad_spell(keys, sizeof(keys), m->entries[i].spell);

		/* a spelling too long for keys still starts with what fits */
		if ((rc != 0 && rc != ENOSPC) || strncmp(keys, ms->entry, ms->nentry) != 0)
			continue;
		if (rc == 0 && strlen(keys) == ms->nentry) {
			exact++;
			exact_i = (int)i;
		}
		if (n < MENU_CHOICES)
			found[n] = (int)i;
		n++;
	}
	if (exact == 1) {
		found[0] = exact_i;
		return 1;
	}
	return n;
}

static void
dir_end(struct menu_session *ms, const char *value, const char *how)
{
	const struct conf_menu *m = cur(ms);
	int found[MENU_CHOICES];
	size_t n = dir_match(ms, found), off = 0;
	char detail[200], reason[200];

	str_appendf(detail, sizeof(detail), &off, "%s; ", how);
	if (n == 0 || n > MENU_CHOICES) {
		if (n == 0)
			str_appendf(detail, sizeof(detail), &off, "no name matches");
		else
			str_appendf(detail, sizeof(detail), &off, "%zu names match", n);
		record(ms, JEV_ENTRY, value, detail, NULL);
		entry_clear(ms);
		invalid(ms, value, n == 0 ? "no name matches" : "too many names match");
		return;
	}
	str_appendf(detail, sizeof(detail), &off, "matches");
	for (size_t i = 0; i < n; i++)
		str_appendf(detail, sizeof(detail), &off, "%s %s", i ? "," : "",
			m->entries[found[i]].name);
	if (n > 1)
		str_appendf(detail, sizeof(detail), &off, ": read back");
	record(ms, JEV_ENTRY, value, detail, NULL);
	if (n == 1) {
		snprintf(reason, sizeof(reason), "spelled %s in menu %s → %s", value, m->name,
			m->entries[found[0]].name);
		entry_clear(ms);
		go(ms, &m->entries[found[0]].action, reason);
		return;
	}
	memcpy(ms->choices, found, n * sizeof(found[0]));
	ms->nchoices = n;
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
	reprompt(ms);
}

/* The entry ended (how: by what); judge it. */
static void
entry_end(struct menu_session *ms, const char *how)
{
	const struct conf_menu *m = cur(ms);
	const struct conf_entry_route *r;
	char value[CONF_ENTRY_MAX + 1], what[80], detail[200], reason[200];

	shown(ms, value);
	if (ms->nentry < m->min_length) {
		snprintf(detail, sizeof(detail), "%s; too short (%zu of at least %u digits)", how,
			ms->nentry, m->min_length);
		record(ms, JEV_ENTRY, value, detail, NULL);
		entry_clear(ms);
		invalid(ms, value, "too short");
		return;
	}
	if (m->type == MENU_DIRECTORY) {
		dir_end(ms, value, how);
		return;
	}
	r = entry_route(ms);
	if (r == NULL) {
		snprintf(detail, sizeof(detail), "%s; no route", how);
		record(ms, JEV_ENTRY, value, detail, NULL);
		entry_clear(ms);
		invalid(ms, value, "no route");
		return;
	}
	if (r->prefix != NULL)
		snprintf(what, sizeof(what), "prefix %s", r->prefix);
	else
		snprintf(what, sizeof(what), "range %s-%s", r->from, r->to);
	snprintf(detail, sizeof(detail), "%s; %s", how, what);
	record(ms, JEV_ENTRY, value, detail, NULL);
	snprintf(reason, sizeof(reason), "entry %s in menu %s → %s", value, m->name, what);
	entry_clear(ms);
	go(ms, &r->action, reason);
}

static void
choose(struct menu_session *ms, char key)
{
	const struct conf_menu *m = cur(ms);
	const struct conf_dir_entry *e;
	char k[2] = {key, '\0'}, reason[200];

	if (key < '1' || key >= '1' + (int)ms->nchoices) {
		invalid(ms, k, "not one of the names read back");
		return;
	}
	e = &m->entries[ms->choices[key - '1']];
	record(ms, JEV_KEY, k, e->name, NULL);
	snprintf(reason, sizeof(reason), "spelled %s in menu %s, choice %c → %s", ms->entry,
		m->name, key, e->name);
	entry_clear(ms);
	go(ms, &e->action, reason);
}

/* A key in an entry or directory menu (menu.h says what each does). */
static void
entry_key(struct menu_session *ms, char key)
{
	const struct conf_menu *m = cur(ms);
	const struct conf_action *op = &ms->operator;
	char k[2] = {key, '\0'}, how[32], reason[160];

	if (key == '*') {
		record(ms, JEV_KEY, k, ms->nentry > 0 ? "entry cleared" : NULL, NULL);
		if (ms->nentry > 0) {
			restart(ms);
		} else {
			struct conf_action back = {ACT_BACK, 0};
			act(ms, &back, key);
		}
		return;
	}
	if (key == '0' && op->kind != ACT_NONE &&
	    (ms->nchoices > 0 || (ms->nentry == 0 && !m->zero_is_digit))) {
		record(ms, JEV_KEY, k, NULL, NULL);
		snprintf(reason, sizeof(reason), "key 0 (operator) in menu %s", m->name);
		entry_clear(ms);
		go(ms, op, reason);
		return;
	}
	if (ms->nchoices > 0) {
		choose(ms, key);
		return;
	}
	if (key == m->terminator && key != '\0') {
		if (ms->nentry == 0) {
			record(ms, JEV_KEY, k, NULL, NULL);
			restart(ms);
			return;
		}
		snprintf(how, sizeof(how), "ended by %c", key);
		entry_end(ms, how);
		return;
	}
	if (key < '0' || key > '9') {
		entry_clear(ms);
		invalid(ms, k, "not a digit");
		return;
	}
	/* the first digit interrupts the prompt; from then on the inter-digit timer runs */
	if (ms->state == MENU_PROMPTING)
		ms->ops->stop(ms->arg);
	ms->state = MENU_ENTERING;
	ms->entry[ms->nentry++] = key;
	if (ms->nentry >= m->max_length) {
		entry_end(ms, "max_length reached");
		return;
	}
	ms->ops->timer(ms->arg, m->inter_digit_ms);
}

void
menu_key(struct menu_session *ms, char key)
{
	const struct conf_menu *m;
	struct conf_action a = {0};
	char k[2] = {key, '\0'};
	int idx;

	if (ms->state == MENU_IDLE)
		return;
	m = cur(ms);
	if (ms->state == MENU_PROMPTING && !ms->ops->interruptible(ms->arg)) {
		record(ms, JEV_KEY, menu_masks_keys(ms) ? NULL : k,
			"ignored: the prompt playing cannot be interrupted", NULL);
		return;
	}
	if (m->type != MENU_CHOICE) {
		entry_key(ms, key);
		return;
	}
	idx = conf_key_index(key);
	if (idx >= 0 && m->key_set[idx])
		a = m->keys[idx];
	else if (key == '0')
		a = ms->operator;
	else if (key == '*')
		a.kind = ACT_BACK;
	else if (key == '#')
		a.kind = ACT_REPEAT;

	if (a.kind == ACT_NONE) {
		invalid(ms, k, NULL);
		return;
	}
	record(ms, JEV_KEY, k, NULL, NULL);
	act(ms, &a, key);
}

void
menu_timeout(struct menu_session *ms)
{
	const struct conf_menu *m;
	char detail[64];

	if (ms->state == MENU_ENTERING) {
		entry_end(ms, "inter-digit timeout (partial)");
		return;
	}
	if (ms->state != MENU_WAITING)
		return;
	m = cur(ms);
	ms->timeouts++;
	snprintf(detail, sizeof(detail), "timeout %u of %u", ms->timeouts, m->max_timeouts);
	record(ms, JEV_TIMEOUT, NULL, detail, NULL);
	if (ms->timeouts >= m->max_timeouts) {
		snprintf(detail, sizeof(detail), "%u timeouts", ms->timeouts);
		fall_back(ms, detail);
		return;
	}
	ms->state = MENU_IDLE;
	prompt(ms, m->no_input, true);
	reprompt(ms);
}

void
menu_prompts_done(struct menu_session *ms)
{
	if (ms->state != MENU_PROMPTING)
		return;
	ms->state = MENU_WAITING;
	ms->ops->timer(ms->arg, cur(ms)->timeout_ms);
}
