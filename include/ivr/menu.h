/* The menu engine: one per call, on the configuration generation the call started with.
 * It knows nothing of SIP or RTP; the call gives it keys, timeouts and "prompts finished",
 * and it answers through menu_ops.
 *
 * Counting, per visit of a menu (entering a menu, also by * back, starts a new visit with
 * both counters at 0):
 *   - an invalid key adds 1 to failures; a timeout (no key for `timeout` seconds after the
 *     prompts end) adds 1 to timeouts. The counters are separate and never reset each other.
 *   - when failures reaches max_failures, or timeouts reaches max_timeouts, the caller goes
 *     to the menu's fallback at once; before that, the invalid (or no-input) prompt plays,
 *     then the short prompt, and the timeout starts again when they end.
 *   - # (repeat) and keys pressed during a prompt (barge-in) count as nothing but what they
 *     are: a valid key acts, an invalid one is a failure.
 */
#ifndef IVR_MENU_H
#define IVR_MENU_H

#include <stdbool.h>

#include "ivr/conf.h"

struct journal_event;

struct menu_ops {
	/* Queue a prompt behind those already queued. */
	void (*play)(void *arg, int prompt_id, bool interruptible);
	/* Stop the prompt playing and drop the queue (barge-in). */
	void (*stop)(void *arg);
	/* Whether the prompt playing now may be interrupted by a key. */
	bool (*interruptible)(void *arg);
	/* Start (ms > 0) or cancel (ms == 0) the no-input timer. */
	void (*timer)(void *arg, unsigned ms);
	/* Record an event; the call fills in Call-ID and time. */
	void (*record)(void *arg, const struct journal_event *ev);
	/* The caller leaves the menus for a department; reason says why, in words. */
	void (*route)(void *arg, int dept, const char *reason);
};

#define MENU_DEPTH 16
#define MENU_PATH 256

enum menu_state {
	MENU_IDLE,      /* not in a menu (routing, transferring) */
	MENU_PROMPTING, /* prompts playing */
	MENU_WAITING,   /* prompts done, no-input timer running */
};

struct menu_session {
	const struct conf *conf;
	const struct menu_ops *ops;
	void *arg;
	enum menu_state state;
	int menu;
	int stack[MENU_DEPTH];
	int depth;
	unsigned failures, timeouts;
	int visited[MENU_DEPTH]; /* menus whose greeting was heard: short on return */
	int nvisited;
	char path[MENU_PATH]; /* menus entered, "main > sales" */
};

void menu_init(struct menu_session *ms, const struct conf *conf, const struct menu_ops *ops,
	void *arg);
/* Enter a menu (the entry menu at call start, or a fallback after a failed transfer). */
void menu_enter(struct menu_session *ms, int menu);
void menu_key(struct menu_session *ms, char key);
void menu_timeout(struct menu_session *ms);
/* The prompt queue ran dry. */
void menu_prompts_done(struct menu_session *ms);
/* Leave the menus (a transfer is under way or the call ends): stops prompts, timers and
 * input. */
void menu_leave(struct menu_session *ms);
const char *menu_name(const struct menu_session *ms);

#endif
