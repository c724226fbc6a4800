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
 *
 * Entry menus (type = "entry": account numbers, extensions) take several digits:
 *   - the first digit may interrupt the greeting or short prompt (as barge_in says); digits
 *     then accumulate. The entry ends on the terminator (not part of the value), on reaching
 *     max_length, or when inter_digit_timeout passes after a digit without another: a
 *     partial entry, judged like any other, never counted as a timeout.
 *   - `timeout` runs only while nothing has been typed yet (after the prompts end); it is a
 *     timeout toward max_timeouts like in choice menus.
 *   - an ended entry shorter than min_length, or that no route matches, is ONE failure toward
 *     max_failures, whatever its length; the invalid prompt then the short prompt play, and
 *     the caller types the whole value again. A key that is not a digit (A-D; # when it is
 *     not the terminator) is a failure too, and drops what was typed.
 *   - * drops what was typed and replays the short prompt, counting nothing; with nothing
 *     typed it is "back", as in choice menus. The terminator with nothing typed replays the
 *     short prompt, counting nothing.
 *   - 0 as the first key goes to the operator, unless the menu says zero_is_digit = true or
 *     there is no operator; after the first digit, 0 is always a digit.
 *   - routes are tried in order: a range matches a value with as many digits as its from and
 *     to, between them; a prefix matches a value starting with it. Routes compare the full
 *     value; it is journaled once per entry (input.entry) and shown in logs and route
 *     reasons masked when the menu is sensitive: the first and last two digits from 7
 *     digits up, every digit below that ("12***67", "******").
 * Directory menus (type = "directory") take a name spelled on the keypad (keypad.h), ended
 * the same way; the names whose spelling starts with the keys typed match, and one spelled
 * exactly wins alone. One match acts; 2 to MENU_CHOICES matches are read back (the choice
 * prompt, then each name's prompt) and 1..N picks one, where any other key is a failure and
 * a timeout counts as one, both replaying the read-back; no match, or more than
 * MENU_CHOICES, is one failure.
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
	/* The call continues in another language (an option "lang:CODE"). */
	void (*language)(void *arg, int lang);
	/* The caller leaves the menus for the callback conversation: an offer of a call back
	 * from dept (an option "callback:DEPT"), or dept -1 to cancel their open promises
	 * ("callback-cancel"). The menu is idle until menu_resume(). May be NULL. */
	void (*callback)(void *arg, int dept, const char *reason);
};

#define MENU_DEPTH 16
#define MENU_PATH 256
#define MENU_CHOICES 3 /* directory names read back at most */

enum menu_state {
	MENU_IDLE,      /* not in a menu (routing, transferring) */
	MENU_PROMPTING, /* prompts playing */
	MENU_WAITING,   /* prompts done, no-input timer running */
	MENU_ENTERING,  /* digits being typed, inter-digit timer running */
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
	struct conf_action operator; /* what 0 does: the operator, or the number's department hint */
	char entry[CONF_ENTRY_MAX + 1]; /* digits typed, in full: never journaled nor logged */
	size_t nentry;
	int choices[MENU_CHOICES]; /* directory names read back */
	size_t nchoices;
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
/* Back to the menu the caller left for the callback conversation (menu_ops.callback): its
 * short prompt again, the visit's counts as they were. */
void menu_resume(struct menu_session *ms);
const char *menu_name(const struct menu_session *ms);
/* Whether keys pressed now must be kept out of logs (a sensitive entry menu). */
bool menu_masks_keys(const struct menu_session *ms);

#endif
