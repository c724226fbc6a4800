#include <stdio.h>
#include <string.h>

#include "ivr/journal.h"
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
}

const char *
menu_name(const struct menu_session *ms)
{
	return ms->menu >= 0 ? cur(ms)->name : NULL;
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
	if (ms->state == MENU_IDLE)
		return;
	/* the menu's prompt must not outlive it: a key that routes during a prompt is a
	 * barge-in like any other */
	ms->ops->timer(ms->arg, 0);
	ms->ops->stop(ms->arg);
	ms->state = MENU_IDLE;
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

static void
act(struct menu_session *ms, const struct conf_action *a, char key)
{
	const struct conf_menu *m = cur(ms);
	char reason[160];

	switch (a->kind) {
	case ACT_MENU:
		if (ms->depth < MENU_DEPTH)
			ms->stack[ms->depth++] = ms->menu;
		enter(ms, a->index);
		break;
	case ACT_DEPT:
		if (key == '0' && !m->key_set[conf_key_index('0')])
			snprintf(reason, sizeof(reason), "key 0 (operator) in menu %s", m->name);
		else
			snprintf(reason, sizeof(reason), "key %c in menu %s", key, m->name);
		route(ms, a->index, reason);
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

void
menu_key(struct menu_session *ms, char key)
{
	const struct conf_menu *m;
	struct conf_action a = {0};
	char k[2] = {key, '\0'}, detail[64];
	int idx;

	if (ms->state == MENU_IDLE)
		return;
	m = cur(ms);
	if (ms->state == MENU_PROMPTING && !ms->ops->interruptible(ms->arg)) {
		record(ms, JEV_KEY, k, "ignored: the prompt playing cannot be interrupted", NULL);
		return;
	}
	idx = conf_key_index(key);
	if (idx >= 0 && m->key_set[idx])
		a = m->keys[idx];
	else if (key == '0')
		a = ms->conf->operator_action;
	else if (key == '*')
		a.kind = ACT_BACK;
	else if (key == '#')
		a.kind = ACT_REPEAT;

	if (a.kind == ACT_NONE) {
		ms->failures++;
		snprintf(detail, sizeof(detail), "failure %u of %u", ms->failures, m->max_failures);
		record(ms, JEV_INVALID, k, detail, NULL);
		if (ms->failures >= m->max_failures) {
			snprintf(detail, sizeof(detail), "%u invalid keys", ms->failures);
			fall_back(ms, detail);
			return;
		}
		ms->ops->stop(ms->arg);
		ms->state = MENU_IDLE;
		prompt(ms, m->invalid, true);
		prompt(ms, m->short_prompt, m->barge_in);
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
	prompt(ms, m->short_prompt, m->barge_in);
}

void
menu_prompts_done(struct menu_session *ms)
{
	if (ms->state != MENU_PROMPTING)
		return;
	ms->state = MENU_WAITING;
	ms->ops->timer(ms->arg, cur(ms)->timeout_ms);
}
