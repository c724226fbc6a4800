/* The menu engine against a hand-built configuration and menu_ops that log every call, one
 * line each, so a test states the exact sequence a caller's keys and silences produce. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ivr/journal.h"
#include "ivr/menu.h"
#include "ivr/util.h"

/* --- the configuration --- */

enum {
	P_MAIN_GREET, P_MAIN_SHORT, P_INVALID, P_NO_INPUT, P_SALES_GREET, P_SALES_SHORT,
	P_DEEP_GREET, P_LEGAL, P_ACCT_GREET, P_ACCT_SHORT, P_DIR_GREET, P_DIR_CHOICE,
	P_DIR_BILLING, P_DIR_BILL, P_DIR_SALES, P_DIR_PAY, P_DIR_PAYROLL, P_DIR_SUPPORT, P_COUNT,
};
static char *prompt_names[P_COUNT] = {
	"main/greeting", "main/short", "common/invalid", "common/no-input", "sales/greeting",
	"sales/short", "deep/greeting", "legal/notice", "account/enter", "account/short",
	"dir/greeting", "dir/choice", "dir/billing", "dir/bill", "dir/sales", "dir/pay",
	"dir/payroll", "dir/support",
};

enum { D_OPERATOR, D_SALES, D_SUPPORT, D_BILLING, D_COUNT };
enum { M_MAIN, M_SALES, M_DEEP, M_LEGAL, M_ACCOUNT, M_DIR, M_COUNT };

static struct conf_dept depts[D_COUNT] = {
	{.name = "operator"}, {.name = "sales"}, {.name = "support"}, {.name = "billing"},
};
static struct conf_menu menus[M_COUNT];
static struct conf conf;

/* account: 7-digit accounts 1000000-1999999 go to billing, values starting with 2 to the
 * sales menu. */
static struct conf_entry_route account_routes[] = {
	{.from = "1000000", .to = "1999999", .action = {ACT_DEPT, D_BILLING}},
	{.prefix = "2", .action = {ACT_MENU, M_SALES}},
};
/* The directory's spellings: billing 2455464, bill 24557, sales 72537, pay 729,
 * payroll 7297655, support 7877678. */
static struct conf_dir_entry dir_entries[] = {
	{.name = "billing", .spell = "BILLING", .prompt = P_DIR_BILLING,
		.action = {ACT_DEPT, D_BILLING}},
	{.name = "bill", .spell = "Bill P.", .prompt = P_DIR_BILL,
		.action = {ACT_DEPT, D_SUPPORT}},
	{.name = "sales", .spell = "sales", .prompt = P_DIR_SALES, .action = {ACT_DEPT, D_SALES}},
	{.name = "pay", .spell = "PAY", .prompt = P_DIR_PAY, .action = {ACT_DEPT, D_BILLING}},
	{.name = "payroll", .spell = "pay-roll", .prompt = P_DIR_PAYROLL,
		.action = {ACT_MENU, M_SALES}},
	{.name = "support", .spell = "SUPPORT", .prompt = P_DIR_SUPPORT,
		.action = {ACT_DEPT, D_SUPPORT}},
};

static void
key_set(struct conf_menu *m, char key, enum conf_act kind, int index)
{
	int k = conf_key_index(key);

	m->keys[k].kind = kind;
	m->keys[k].index = index;
	m->key_set[k] = true;
}

/* main:  1 sales menu, 2 support, 3 legal menu, 0 * # default; falls back to the operator.
 * sales: 1 sales dept, 0 billing (overrides the operator), 7 deep menu, 8 repeat, 9 back;
 *        falls back to the main menu.
 * deep:  greeting only (short = greeting), 1 support.
 * legal: not interruptible, 1 billing. */
static void
conf_build(void)
{
	struct conf_action operator = {ACT_DEPT, D_OPERATOR};

	memset(menus, 0, sizeof(menus));
	menus[M_MAIN] = (struct conf_menu){
		.name = "main", .greeting = P_MAIN_GREET, .short_prompt = P_MAIN_SHORT,
		.invalid = P_INVALID, .no_input = P_NO_INPUT, .timeout_ms = 5000,
		.max_failures = 3, .max_timeouts = 2, .barge_in = true, .fallback = operator,
	};
	key_set(&menus[M_MAIN], '1', ACT_MENU, M_SALES);
	key_set(&menus[M_MAIN], '2', ACT_DEPT, D_SUPPORT);
	key_set(&menus[M_MAIN], '3', ACT_MENU, M_LEGAL);
	menus[M_SALES] = (struct conf_menu){
		.name = "sales", .greeting = P_SALES_GREET, .short_prompt = P_SALES_SHORT,
		.invalid = P_INVALID, .no_input = P_NO_INPUT, .timeout_ms = 4000,
		.max_failures = 2, .max_timeouts = 3, .barge_in = true,
		.fallback = {ACT_MENU, M_MAIN},
	};
	key_set(&menus[M_SALES], '1', ACT_DEPT, D_SALES);
	key_set(&menus[M_SALES], '0', ACT_DEPT, D_BILLING);
	key_set(&menus[M_SALES], '7', ACT_MENU, M_DEEP);
	key_set(&menus[M_SALES], '8', ACT_REPEAT, 0);
	key_set(&menus[M_SALES], '9', ACT_BACK, 0);
	menus[M_DEEP] = (struct conf_menu){
		.name = "deep", .greeting = P_DEEP_GREET, .short_prompt = P_DEEP_GREET,
		.invalid = P_INVALID, .no_input = P_NO_INPUT, .timeout_ms = 2500,
		.max_failures = 1, .max_timeouts = 1, .barge_in = true, .fallback = operator,
	};
	key_set(&menus[M_DEEP], '1', ACT_DEPT, D_SUPPORT);
	menus[M_LEGAL] = (struct conf_menu){
		.name = "legal", .greeting = P_LEGAL, .short_prompt = P_LEGAL,
		.invalid = P_INVALID, .no_input = P_NO_INPUT, .timeout_ms = 3000,
		.max_failures = 3, .max_timeouts = 3, .barge_in = false, .fallback = operator,
	};
	key_set(&menus[M_LEGAL], '1', ACT_DEPT, D_BILLING);
	menus[M_ACCOUNT] = (struct conf_menu){
		.name = "account", .type = MENU_ENTRY, .greeting = P_ACCT_GREET,
		.short_prompt = P_ACCT_SHORT, .invalid = P_INVALID, .no_input = P_NO_INPUT,
		.timeout_ms = 5000, .max_failures = 3, .max_timeouts = 2, .barge_in = true,
		.fallback = operator, .min_length = 6, .max_length = 8, .terminator = '#',
		.inter_digit_ms = 3000, .sensitive = true, .routes = account_routes,
		.nroutes = ARRAY_LEN(account_routes), .choice_prompt = -1,
	};
	menus[M_DIR] = (struct conf_menu){
		.name = "dir", .type = MENU_DIRECTORY, .greeting = P_DIR_GREET,
		.short_prompt = P_DIR_GREET, .invalid = P_INVALID, .no_input = P_NO_INPUT,
		.timeout_ms = 4000, .max_failures = 2, .max_timeouts = 2, .barge_in = true,
		.fallback = operator, .min_length = 1, .max_length = 10, .terminator = '#',
		.inter_digit_ms = 2000, .entries = dir_entries, .nentries = ARRAY_LEN(dir_entries),
		.choice_prompt = P_DIR_CHOICE,
	};

	memset(&conf, 0, sizeof(conf));
	conf.refs = 1;
	conf.prompt_names = prompt_names;
	conf.nprompts = P_COUNT;
	conf.goodbye_prompt = -1;
	conf.operator_action = operator;
	conf.entry_menu = M_MAIN;
	conf.menus = menus;
	conf.nmenus = M_COUNT;
	conf.depts = depts;
	conf.ndepts = D_COUNT;
}

/* --- menu_ops that log --- */

struct mock {
	char log[8192]; /* "; "-separated calls since the last take() */
	size_t off;
	bool interruptible;
	bool playing_interruptible; /* what the last play() asked for */
	int routes;
	int route_dept;
	char route_reason[200];
	unsigned timer_ms; /* armed timer, 0 = none */
};

static void __attribute__((format(printf, 2, 3)))
mlog(struct mock *mk, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (mk->off > 0 && mk->off < sizeof(mk->log))
		str_appendf(mk->log, sizeof(mk->log), &mk->off, "; ");
	if (mk->off >= sizeof(mk->log))
		return;
	va_start(ap, fmt);
	n = vsnprintf(mk->log + mk->off, sizeof(mk->log) - mk->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		mk->off += (size_t)n;
}

static void
o_play(void *arg, int id, bool interruptible)
{
	struct mock *mk = arg;

	CHECK(id >= 0 && id < P_COUNT);
	mk->playing_interruptible = interruptible;
	mlog(mk, "play %s%s", prompt_names[id], interruptible ? "" : " (uninterruptible)");
}

static void
o_stop(void *arg)
{
	mlog(arg, "stop");
}

static bool
o_interruptible(void *arg)
{
	struct mock *mk = arg;

	return mk->interruptible;
}

static void
o_timer(void *arg, unsigned ms)
{
	struct mock *mk = arg;

	mk->timer_ms = ms;
	mlog(mk, "timer %u", ms);
}

static void
o_record(void *arg, const struct journal_event *ev)
{
	struct mock *mk = arg;
	char line[600];
	size_t off = 0;

	CHECK(ev->event != NULL);
	CHECK_INT(ev->duration_ms, -1);
	CHECK(ev->call_id == NULL);
	str_appendf(line, sizeof(line), &off, "%s", ev->event);
#define FIELD(f)                                                                   \
	if (ev->f != NULL)                                                         \
		str_appendf(line, sizeof(line), &off, " " #f "=%s", ev->f);
	FIELD(menu)
	FIELD(key)
	FIELD(dept)
	FIELD(reason)
	FIELD(detail)
	FIELD(prompt)
#undef FIELD
	mlog(mk, "%s", line);
}

static void
o_route(void *arg, int dept, const char *reason)
{
	struct mock *mk = arg;

	CHECK(dept >= 0 && dept < D_COUNT);
	mk->routes++;
	mk->route_dept = dept;
	str_copy(mk->route_reason, reason, sizeof(mk->route_reason));
	mlog(mk, "route %s: %s", depts[dept].name, reason);
}

static void
o_callback(void *arg, int dept, const char *reason)
{
	mlog(arg, "callback %s: %s", dept >= 0 ? depts[dept].name : "cancel", reason);
}

static const struct menu_ops ops = {
	.play = o_play,
	.stop = o_stop,
	.interruptible = o_interruptible,
	.timer = o_timer,
	.record = o_record,
	.route = o_route,
	.callback = o_callback,
};

static struct mock mk;
static struct menu_session ms;
static char taken[sizeof(mk.log)];

/* The calls logged since the last take, and a fresh log. */
static const char *
take(void)
{
	str_copy(taken, mk.log, sizeof(taken));
	mk.log[0] = '\0';
	mk.off = 0;
	return taken;
}

static void
setup(void)
{
	conf_build();
	memset(&mk, 0, sizeof(mk));
	mk.interruptible = true;
	menu_init(&ms, &conf, &ops, &mk);
}

/* Enters the entry menu and lets its greeting play out: the caller is now waiting. */
static void
start(void)
{
	setup();
	menu_enter(&ms, M_MAIN);
	menu_prompts_done(&ms);
	take();
}

/* Lets the prompts play out; the timer must be armed with the menu's timeout. */
static void
done(unsigned timeout_ms)
{
	menu_prompts_done(&ms);
	CHECK_INT(ms.state, MENU_WAITING);
	CHECK_INT(mk.timer_ms, timeout_ms);
	take();
}

/* --- tests --- */

static void
test_before_enter(void)
{
	setup();
	CHECK(menu_name(&ms) == NULL);
	CHECK_INT(ms.state, MENU_IDLE);
	menu_key(&ms, '1');
	menu_timeout(&ms);
	menu_prompts_done(&ms);
	menu_leave(&ms);
	CHECK_STR(take(), "");
}

static void
test_enter_greeting(void)
{
	setup();
	menu_enter(&ms, M_MAIN);
	CHECK_STR(take(), "menu.enter menu=main prompt=main/greeting; stop; timer 0; "
		"play main/greeting");
	CHECK_STR(menu_name(&ms), "main");
	CHECK_STR(ms.path, "main");
	CHECK_INT(ms.state, MENU_PROMPTING);
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.timeouts, 0);
}

static void
test_timer_after_prompts(void)
{
	setup();
	menu_enter(&ms, M_MAIN);
	CHECK_INT(mk.timer_ms, 0);
	/* silence while the greeting plays is no timeout */
	take();
	menu_timeout(&ms);
	CHECK_STR(take(), "");
	CHECK_INT(ms.timeouts, 0);
	menu_prompts_done(&ms);
	CHECK_STR(take(), "timer 5000");
	CHECK_INT(ms.state, MENU_WAITING);
	/* a second "drained" changes nothing */
	menu_prompts_done(&ms);
	CHECK_STR(take(), "");
	/* each menu has its own timeout */
	menu_key(&ms, '1');
	take();
	menu_prompts_done(&ms);
	CHECK_STR(take(), "timer 4000");
}

static void
test_key_submenu(void)
{
	start();
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=main key=1; "
		"menu.enter menu=sales prompt=sales/greeting; stop; timer 0; play sales/greeting");
	CHECK_STR(menu_name(&ms), "sales");
	CHECK_STR(ms.path, "main > sales");
	CHECK_INT(ms.depth, 1);
	CHECK_INT(mk.timer_ms, 0);
	CHECK_INT(mk.routes, 0);
}

static void
test_key_dept(void)
{
	start();
	menu_key(&ms, '2');
	CHECK_STR(take(), "key menu=main key=2; "
		"route menu=main dept=support reason=key 2 in menu main detail=main; "
		"timer 0; stop; route support: key 2 in menu main");
	CHECK_INT(mk.routes, 1);
	CHECK_INT(mk.route_dept, D_SUPPORT);
	CHECK_STR(mk.route_reason, "key 2 in menu main");
	CHECK_INT(ms.state, MENU_IDLE);
	CHECK_INT(mk.timer_ms, 0);

	/* from a submenu the path says how the caller got there */
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=sales key=1; "
		"route menu=sales dept=sales reason=key 1 in menu sales detail=main > sales; "
		"timer 0; stop; route sales: key 1 in menu sales");
}

static void
test_operator(void)
{
	/* 0 in a menu that does not take it */
	start();
	menu_key(&ms, '0');
	CHECK_STR(take(), "key menu=main key=0; route menu=main dept=operator "
		"reason=key 0 (operator) in menu main detail=main; timer 0; stop; "
		"route operator: key 0 (operator) in menu main");

	/* ... from any menu, including one that cannot be interrupted once it is waiting */
	start();
	menu_key(&ms, '3');
	done(3000);
	menu_key(&ms, '0');
	CHECK_INT(mk.routes, 1);
	CHECK_INT(mk.route_dept, D_OPERATOR);
	CHECK_STR(mk.route_reason, "key 0 (operator) in menu legal");

	/* a menu's own 0 wins */
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '0');
	CHECK_INT(mk.routes, 1);
	CHECK_INT(mk.route_dept, D_BILLING);
	CHECK_STR(mk.route_reason, "key 0 in menu sales");

	/* an operator that is a menu is entered like any submenu */
	start();
	conf.operator_action = (struct conf_action){ACT_MENU, M_DEEP};
	ms.operator = conf.operator_action; /* the session took its operator at menu_init */
	menu_key(&ms, '0');
	CHECK_STR(take(), "key menu=main key=0; "
		"menu.enter menu=deep prompt=deep/greeting; stop; timer 0; play deep/greeting");
	CHECK_STR(ms.path, "main > deep");
	CHECK_INT(mk.routes, 0);

	/* no operator at all: 0 is an invalid key like any other */
	start();
	conf.operator_action = (struct conf_action){ACT_NONE, 0};
	ms.operator = conf.operator_action;
	menu_key(&ms, '0');
	CHECK_INT(ms.failures, 1);
	CHECK_INT(mk.routes, 0);
}

static void
test_back(void)
{
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '7');
	done(2500);
	CHECK_INT(ms.depth, 2);
	CHECK_STR(ms.path, "main > sales > deep");

	/* * returns to the previous menu with its short prompt */
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=deep key=*; "
		"menu.enter menu=sales prompt=sales/short; stop; timer 0; play sales/short");
	CHECK_STR(menu_name(&ms), "sales");
	CHECK_INT(ms.depth, 1);
	done(4000);

	/* a menu's own "back" option does the same */
	menu_key(&ms, '9');
	CHECK_STR(take(), "key menu=sales key=9; "
		"menu.enter menu=main prompt=main/short; stop; timer 0; play main/short");
	CHECK_INT(ms.depth, 0);
	CHECK_STR(ms.path, "main > sales > deep > sales > main");
	done(5000);

	/* * in the entry menu has nowhere to go: it repeats the short prompt */
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=main key=*; stop; timer 0; play main/short");
	CHECK_STR(menu_name(&ms), "main");
	CHECK_INT(ms.failures, 0);
	CHECK_INT(mk.routes, 0);
}

static void
test_short_on_return(void)
{
	start();
	/* first visit of sales: greeting; back to main: short; sales again: short */
	menu_key(&ms, '1');
	CHECK(strstr(take(), "play sales/greeting") != NULL);
	menu_key(&ms, '*');
	CHECK(strstr(take(), "play main/short") != NULL);
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=main key=1; "
		"menu.enter menu=sales prompt=sales/short; stop; timer 0; play sales/short");

	/* entering again after a transfer that failed: the caller heard the greeting already */
	menu_key(&ms, '1');
	CHECK_INT(mk.routes, 1);
	take();
	menu_enter(&ms, M_MAIN);
	CHECK_STR(take(), "menu.enter menu=main prompt=main/short; stop; timer 0; "
		"play main/short");
	CHECK_INT(ms.depth, 0);
	/* the stack went with the transfer: * repeats */
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=main key=*; stop; timer 0; play main/short");
}

static void
test_repeat(void)
{
	start();
	menu_key(&ms, '5');
	menu_key(&ms, '5');
	CHECK_INT(ms.failures, 2);
	done(5000);
	/* # replays the short prompt and counts as nothing */
	menu_key(&ms, '#');
	CHECK_STR(take(), "key menu=main key=#; stop; timer 0; play main/short");
	CHECK_INT(ms.failures, 2);
	CHECK_INT(ms.timeouts, 0);
	CHECK_INT(ms.state, MENU_PROMPTING);
	done(5000);
	menu_key(&ms, '#');
	menu_key(&ms, '#');
	CHECK_INT(ms.failures, 2);
	/* the failure count goes on where it was */
	take();
	menu_key(&ms, '5');
	CHECK_STR(take(), "input.invalid menu=main key=5 detail=failure 3 of 3; "
		"route menu=main dept=operator reason=3 invalid keys in menu main: fallback "
		"detail=main; timer 0; stop; "
		"route operator: 3 invalid keys in menu main: fallback");

	/* a menu's own "repeat" option */
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '8');
	CHECK_STR(take(), "key menu=sales key=8; stop; timer 0; play sales/short");
	CHECK_INT(ms.failures, 0);
}

static void
test_invalid_to_dept(void)
{
	start();
	menu_key(&ms, '5');
	CHECK_STR(take(), "input.invalid menu=main key=5 detail=failure 1 of 3; stop; timer 0; "
		"play common/invalid; play main/short");
	CHECK_INT(ms.failures, 1);
	CHECK_INT(ms.state, MENU_PROMPTING);
	done(5000);
	menu_key(&ms, 'D'); /* a key the menu does not offer */
	CHECK_STR(take(), "input.invalid menu=main key=D detail=failure 2 of 3; stop; timer 0; "
		"play common/invalid; play main/short");
	done(5000);
	menu_key(&ms, '9');
	CHECK_STR(take(), "input.invalid menu=main key=9 detail=failure 3 of 3; "
		"route menu=main dept=operator reason=3 invalid keys in menu main: fallback "
		"detail=main; timer 0; stop; "
		"route operator: 3 invalid keys in menu main: fallback");
	CHECK_INT(mk.routes, 1);
	CHECK_INT(ms.state, MENU_IDLE);
}

static void
test_invalid_to_menu(void)
{
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '5');
	CHECK_STR(take(), "input.invalid menu=sales key=5 detail=failure 1 of 2; stop; timer 0; "
		"play common/invalid; play sales/short");
	done(4000);
	menu_key(&ms, '6');
	CHECK_STR(take(), "input.invalid menu=sales key=6 detail=failure 2 of 2; "
		"menu.enter menu=main prompt=main/short; stop; timer 0; play main/short");
	CHECK_STR(menu_name(&ms), "main");
	CHECK_INT(ms.failures, 0);
	CHECK_INT(mk.routes, 0);
	CHECK_STR(ms.path, "main > sales > main");
	done(5000);
	/* main counts from 0 again, against its own maximum */
	menu_key(&ms, '5');
	CHECK(strstr(take(), "detail=failure 1 of 3") != NULL);

	/* max_failures 1: the first invalid key falls back */
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_key(&ms, '7');
	done(2500);
	menu_key(&ms, '5');
	CHECK_STR(take(), "input.invalid menu=deep key=5 detail=failure 1 of 1; "
		"route menu=deep dept=operator reason=1 invalid keys in menu deep: fallback "
		"detail=main > sales > deep; timer 0; stop; "
		"route operator: 1 invalid keys in menu deep: fallback");
}

static void
test_timeouts(void)
{
	start();
	mk.timer_ms = 5000;
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=main detail=timeout 1 of 2; timer 0; "
		"play common/no-input; play main/short");
	CHECK_INT(ms.timeouts, 1);
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.state, MENU_PROMPTING);
	/* the timer starts again only when the re-prompt ends */
	menu_timeout(&ms);
	CHECK_STR(take(), "");
	done(5000);
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=main detail=timeout 2 of 2; "
		"route menu=main dept=operator reason=2 timeouts in menu main: fallback "
		"detail=main; timer 0; stop; route operator: 2 timeouts in menu main: fallback");
	CHECK_INT(ms.state, MENU_IDLE);
	menu_timeout(&ms);
	CHECK_STR(take(), "");

	/* to a menu: sales falls back to main after 3 */
	start();
	menu_key(&ms, '1');
	done(4000);
	menu_timeout(&ms);
	done(4000);
	menu_timeout(&ms);
	CHECK(strstr(take(), "detail=timeout 2 of 3") != NULL);
	done(4000);
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=sales detail=timeout 3 of 3; "
		"menu.enter menu=main prompt=main/short; stop; timer 0; play main/short");
	CHECK_INT(ms.timeouts, 0);
	CHECK_INT(mk.routes, 0);
	done(5000);
	menu_timeout(&ms);
	CHECK(strstr(take(), "detail=timeout 1 of 2") != NULL);
}

static void
test_counters_independent(void)
{
	/* invalid keys do not reset timeouts ... */
	start();
	menu_timeout(&ms);
	done(5000);
	menu_key(&ms, '5');
	menu_key(&ms, '5');
	CHECK_INT(ms.failures, 2);
	CHECK_INT(ms.timeouts, 1);
	done(5000);
	menu_timeout(&ms);
	CHECK(strstr(take(), "reason=2 timeouts in menu main: fallback") != NULL);
	CHECK_INT(mk.routes, 1);

	/* ... and timeouts do not reset invalid keys, nor add to them */
	start();
	menu_key(&ms, '5');
	done(5000);
	menu_key(&ms, '5');
	done(5000);
	menu_timeout(&ms);
	CHECK(strstr(take(), "detail=timeout 1 of 2") != NULL);
	CHECK_INT(ms.failures, 2);
	done(5000);
	menu_key(&ms, '5');
	CHECK(strstr(take(), "reason=3 invalid keys in menu main: fallback") != NULL);
	CHECK_INT(mk.routes, 1);

	/* a valid key that stays in the menu (repeat) resets neither */
	start();
	menu_key(&ms, '5');
	done(5000);
	menu_timeout(&ms);
	done(5000);
	menu_key(&ms, '#');
	CHECK_INT(ms.failures, 1);
	CHECK_INT(ms.timeouts, 1);
}

static void
test_counters_reset_on_enter(void)
{
	start();
	menu_key(&ms, '5');
	done(5000);
	menu_key(&ms, '5');
	done(5000);
	menu_timeout(&ms);
	done(5000);
	CHECK_INT(ms.failures, 2);
	CHECK_INT(ms.timeouts, 1);
	menu_key(&ms, '1');
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.timeouts, 0);
	done(4000);
	menu_key(&ms, '5');
	done(4000);
	CHECK_INT(ms.failures, 1);
	/* back is a new visit too */
	menu_key(&ms, '*');
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.timeouts, 0);
	done(5000);
	menu_key(&ms, '5');
	CHECK(strstr(take(), "detail=failure 1 of 3") != NULL);
	done(5000);
	menu_timeout(&ms);
	CHECK(strstr(take(), "detail=timeout 1 of 2") != NULL);
}

static void
test_key_disarms_timer(void)
{
	static const char keys[] = {'1', '2', '5', '#', '*', '0'};

	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		start();
		CHECK_INT(mk.timer_ms, 5000);
		menu_key(&ms, keys[i]);
		CHECK_INT(mk.timer_ms, 0);
		CHECK(strstr(take(), "timer 0") != NULL);
	}
}

static void
test_barge_in(void)
{
	/* a valid key during the greeting stops it and acts */
	setup();
	menu_enter(&ms, M_MAIN);
	take();
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=main key=1; "
		"menu.enter menu=sales prompt=sales/greeting; stop; timer 0; play sales/greeting");

	/* an invalid key during a prompt stops it and counts */
	menu_key(&ms, '5');
	CHECK_STR(take(), "input.invalid menu=sales key=5 detail=failure 1 of 2; stop; "
		"timer 0; play common/invalid; play sales/short");
	CHECK_INT(ms.failures, 1);

	/* # during the re-prompt: repeat from the start, not counted */
	menu_key(&ms, '#');
	CHECK_STR(take(), "key menu=sales key=#; stop; timer 0; play sales/short");
	CHECK_INT(ms.failures, 1);

	/* a department key during a prompt: the prompt stops, the caller leaves */
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=sales key=1; route menu=sales dept=sales "
		"reason=key 1 in menu sales detail=main > sales; timer 0; stop; "
		"route sales: key 1 in menu sales");
}

static void
test_no_barge_in(void)
{
	start();
	menu_key(&ms, '3');
	CHECK_STR(take(), "key menu=main key=3; menu.enter menu=legal prompt=legal/notice; "
		"stop; timer 0; play legal/notice (uninterruptible)");
	/* the call says the notice playing cannot be interrupted: keys are journaled, ignored */
	mk.interruptible = false;
	menu_key(&ms, '1');
	menu_key(&ms, '5');
	menu_key(&ms, '0');
	CHECK_STR(take(),
		"key menu=legal key=1 detail=ignored: the prompt playing cannot be interrupted; "
		"key menu=legal key=5 detail=ignored: the prompt playing cannot be interrupted; "
		"key menu=legal key=0 detail=ignored: the prompt playing cannot be interrupted");
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.state, MENU_PROMPTING);
	CHECK_STR(menu_name(&ms), "legal");
	CHECK_INT(mk.routes, 0);
	/* once it has played, keys work */
	done(3000);
	menu_key(&ms, '5');
	/* the invalid prompt may be interrupted even in this menu; the short one may not */
	CHECK_STR(take(), "input.invalid menu=legal key=5 detail=failure 1 of 3; stop; timer 0; "
		"play common/invalid; play legal/notice (uninterruptible)");
	/* while the (interruptible) invalid prompt plays, a key interrupts it */
	mk.interruptible = true;
	menu_key(&ms, '1');
	CHECK_INT(mk.routes, 1);
	CHECK_INT(mk.route_dept, D_BILLING);
}

static void
test_leave(void)
{
	/* leaving while waiting: the timer goes, and input after it is ignored */
	start();
	menu_leave(&ms);
	CHECK_STR(take(), "timer 0; stop");
	CHECK_INT(ms.state, MENU_IDLE);
	menu_key(&ms, '1');
	menu_key(&ms, '5');
	menu_timeout(&ms);
	menu_prompts_done(&ms);
	menu_leave(&ms);
	CHECK_STR(take(), "");
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.timeouts, 0);
	CHECK_INT(mk.timer_ms, 0);

	/* leaving while prompting stops the prompt */
	setup();
	menu_enter(&ms, M_MAIN);
	take();
	menu_leave(&ms);
	CHECK_STR(take(), "timer 0; stop");
	menu_prompts_done(&ms);
	menu_key(&ms, '2');
	CHECK_STR(take(), "");
	CHECK_INT(mk.routes, 0);

	/* after a route the engine has left already */
	start();
	menu_key(&ms, '2');
	take();
	menu_leave(&ms);
	menu_key(&ms, '1');
	menu_timeout(&ms);
	CHECK_STR(take(), "");
	CHECK_INT(mk.routes, 1);
}

static void
test_keys_outside_table(void)
{
	/* anything that is not a DTMF key counts as invalid, and never indexes the tables */
	start();
	menu_key(&ms, 'x');
	CHECK(strstr(take(), "input.invalid menu=main key=x detail=failure 1 of 3") != NULL);
	done(5000);
	menu_key(&ms, '\0');
	CHECK_INT(ms.failures, 2);
}

static void
test_long_path(void)
{
	/* a caller going round in circles: the path is cut, never overrun */
	start();
	for (int i = 0; i < 100; i++) {
		menu_key(&ms, '1');
		menu_key(&ms, '*');
	}
	CHECK_INT(strlen(ms.path), MENU_PATH - 1);
	CHECK(strncmp(ms.path, "main > sales > main > sales", 27) == 0);
	CHECK_STR(menu_name(&ms), "main");
	CHECK_INT(ms.depth, 0);
	take();
	menu_key(&ms, '2');
	CHECK_INT(mk.routes, 1);
	CHECK(strstr(take(), " detail=main > sales > main") != NULL);
}

/* --- entry and directory menus --- */

/* Enters menu and lets its greeting play out. */
static void
start_in(int menu)
{
	setup();
	menu_enter(&ms, menu);
	menu_prompts_done(&ms);
	take();
}

static void
type(const char *keys)
{
	for (; *keys != '\0'; keys++)
		menu_key(&ms, *keys);
}

static bool
entry_wiped(void)
{
	for (size_t i = 0; i < sizeof(ms.entry); i++)
		if (ms.entry[i] != '\0')
			return false;
	return ms.nentry == 0;
}

#define T3 "timer 3000; "
#define ACCT_BILLING "route menu=account dept=billing reason=entry 12***67 in menu account → " \
	"range 1000000-1999999 detail=account; timer 0; stop; route billing: entry 12***67 in " \
	"menu account → range 1000000-1999999"

static void
test_entry_terminator(void)
{
	start_in(M_ACCOUNT);
	CHECK_INT(mk.timer_ms, 5000);
	/* each digit (re)starts the inter-digit timer in place of the no-input one */
	menu_key(&ms, '1');
	CHECK_STR(take(), "timer 3000");
	CHECK_INT(ms.state, MENU_ENTERING);
	type("234567");
	CHECK_STR(take(), T3 T3 T3 T3 T3 "timer 3000");
	/* # ends the entry and is not part of it; routes see the full value */
	menu_key(&ms, '#');
	CHECK_STR(take(), "input.entry menu=account key=12***67 detail=ended by #; range "
		"1000000-1999999; " ACCT_BILLING);
	CHECK_INT(mk.route_dept, D_BILLING);
	CHECK_INT(ms.failures, 0);
	CHECK(entry_wiped());
}

static void
test_entry_max_length(void)
{
	start_in(M_ACCOUNT);
	type("2000000");
	CHECK_INT(ms.state, MENU_ENTERING);
	take();
	/* the 8th digit ends it: no terminator needed */
	menu_key(&ms, '1');
	CHECK_STR(take(), "input.entry menu=account key=20****01 detail=max_length reached; "
		"prefix 2; menu.enter menu=sales prompt=sales/greeting; stop; timer 0; "
		"play sales/greeting");
	CHECK_STR(ms.path, "account > sales");
	CHECK_INT(ms.depth, 1);
	CHECK(entry_wiped());
}

static void
test_entry_partial(void)
{
	/* the inter-digit timeout ends the entry with what was typed */
	start_in(M_ACCOUNT);
	type("1234567");
	take();
	menu_timeout(&ms);
	CHECK_STR(take(), "input.entry menu=account key=12***67 detail=inter-digit timeout "
		"(partial); range 1000000-1999999; " ACCT_BILLING);
	CHECK_INT(ms.timeouts, 0);

	/* a partial entry too short is one failure, never a timeout */
	start_in(M_ACCOUNT);
	type("12");
	take();
	menu_timeout(&ms);
	CHECK_STR(take(), "input.entry menu=account key=** detail=inter-digit timeout (partial); "
		"too short (2 of at least 6 digits); input.invalid menu=account key=** detail=too "
		"short: failure 1 of 3; stop; timer 0; play common/invalid; play account/short");
	CHECK_INT(ms.failures, 1);
	CHECK_INT(ms.timeouts, 0);
	CHECK_INT(ms.state, MENU_PROMPTING);
	CHECK(entry_wiped());
}

static void
test_entry_too_short(void)
{
	start_in(M_ACCOUNT);
	type("123#");
	CHECK_STR(take(), T3 T3 "timer 3000; input.entry menu=account key=*** detail=ended by #; "
		"too short (3 of at least 6 digits); input.invalid menu=account key=*** "
		"detail=too short: failure 1 of 3; stop; timer 0; play common/invalid; "
		"play account/short");
	done(5000);
	/* then the whole value again */
	type("1098765#");
	CHECK_INT(mk.routes, 1);
	CHECK_STR(mk.route_reason, "entry 10***65 in menu account → range 1000000-1999999");
}

static void
test_entry_no_route(void)
{
	start_in(M_ACCOUNT);
	/* 6 digits: long enough, but the range is of 7-digit values and no prefix is 1 */
	type("123456#");
	CHECK_STR(take(), T3 T3 T3 T3 T3 "timer 3000; input.entry menu=account key=****** "
		"detail=ended by #; no route; input.invalid menu=account key=****** detail=no "
		"route: failure 1 of 3; stop; timer 0; play common/invalid; play account/short");
	done(5000);
	type("3456789#");
	CHECK(strstr(take(), "detail=no route: failure 2 of 3") != NULL);
	done(5000);
	/* shorter and longer than the range both miss it */
	type("9876543#");
	CHECK(strstr(take(), "input.invalid menu=account key=98***43 detail=no route: failure 3 "
		"of 3; route menu=account dept=operator reason=3 invalid entries in menu account: "
		"fallback detail=account; timer 0; stop; route operator: 3 invalid entries in menu "
		"account: fallback") != NULL);
	CHECK_INT(mk.routes, 1);
}

static void
test_entry_timeouts(void)
{
	/* timeout counts only before the first digit */
	start_in(M_ACCOUNT);
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=account detail=timeout 1 of 2; timer 0; "
		"play common/no-input; play account/short");
	done(5000);
	menu_key(&ms, '1');
	menu_timeout(&ms);
	CHECK_INT(ms.timeouts, 1);
	CHECK_INT(ms.failures, 1);
	done(5000);
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=account detail=timeout 2 of 2; route menu=account "
		"dept=operator reason=2 timeouts in menu account: fallback detail=account; "
		"timer 0; stop; route operator: 2 timeouts in menu account: fallback");
}

static void
test_entry_star_and_terminator(void)
{
	start_in(M_ACCOUNT);
	type("12");
	take();
	/* * drops what was typed, counting nothing */
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=account key=* detail=entry cleared; stop; timer 0; "
		"play account/short");
	CHECK(entry_wiped());
	CHECK_INT(ms.failures, 0);
	CHECK_INT(ms.timeouts, 0);
	done(5000);
	/* # with nothing typed: the short prompt again, counting nothing */
	menu_key(&ms, '#');
	CHECK_STR(take(), "key menu=account key=#; stop; timer 0; play account/short");
	CHECK_INT(ms.failures, 0);
	done(5000);
	/* * with nothing typed is back; in the entry menu, nowhere: the short prompt again */
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=account key=*; stop; timer 0; play account/short");
	done(5000);
	type("1234567#");
	CHECK_INT(mk.routes, 1);

	/* from a menu that led here, * with nothing typed goes back to it */
	start();
	key_set(&menus[M_MAIN], '4', ACT_MENU, M_ACCOUNT);
	menu_key(&ms, '4');
	done(5000);
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=account key=*; menu.enter menu=main prompt=main/short; "
		"stop; timer 0; play main/short");
}

static void
test_entry_barge_in(void)
{
	/* the first digit stops the greeting */
	setup();
	menu_enter(&ms, M_ACCOUNT);
	take();
	menu_key(&ms, '1');
	CHECK_STR(take(), "stop; timer 3000");
	CHECK_INT(ms.state, MENU_ENTERING);
	/* the stopped prompt's "drained" changes nothing */
	menu_prompts_done(&ms);
	CHECK_STR(take(), "");
	CHECK_INT(mk.timer_ms, 3000);
	type("234567#");
	CHECK_INT(mk.routes, 1);

	/* an uninterruptible greeting: digits are ignored and not journaled */
	setup();
	menus[M_ACCOUNT].barge_in = false;
	menu_enter(&ms, M_ACCOUNT);
	take();
	mk.interruptible = false;
	menu_key(&ms, '1');
	CHECK_STR(take(), "key menu=account detail=ignored: the prompt playing cannot be "
		"interrupted");
	CHECK_INT(ms.nentry, 0);
}

static void
test_entry_zero_and_non_digits(void)
{
	/* 0 first: the operator */
	start_in(M_ACCOUNT);
	menu_key(&ms, '0');
	CHECK_STR(take(), "key menu=account key=0; route menu=account dept=operator reason=key 0 "
		"(operator) in menu account detail=account; timer 0; stop; route operator: key 0 "
		"(operator) in menu account");

	/* after the first digit, 0 is a digit */
	start_in(M_ACCOUNT);
	type("1000000#");
	CHECK_INT(mk.route_dept, D_BILLING);

	/* zero_is_digit: values may start with 0 */
	setup();
	menus[M_ACCOUNT].zero_is_digit = true;
	menus[M_ACCOUNT].sensitive = false;
	menu_enter(&ms, M_ACCOUNT);
	menu_prompts_done(&ms);
	take();
	type("0123456#");
	CHECK(strstr(take(), "input.entry menu=account key=0123456 detail=ended by #; no route")
		!= NULL);

	/* a key that is not a digit is a failure and drops the entry */
	start_in(M_ACCOUNT);
	type("12");
	take();
	menu_key(&ms, 'A');
	CHECK_STR(take(), "input.invalid menu=account key=A detail=not a digit: failure 1 of 3; "
		"stop; timer 0; play common/invalid; play account/short");
	CHECK(entry_wiped());
}

static void
test_entry_masking(void)
{
	const char *log;

	/* a sensitive value never leaves the engine in full */
	start_in(M_ACCOUNT);
	CHECK(menu_masks_keys(&ms));
	type("1234567#");
	log = take();
	CHECK(strstr(log, "1234567") == NULL);
	CHECK(strstr(log, "key=12***67") != NULL);
	CHECK(strstr(mk.route_reason, "1234567") == NULL);

	/* 8 digits keep the first and last two; below 7, nothing */
	start_in(M_ACCOUNT);
	type("20000001");
	CHECK(strstr(take(), "key=20****01") != NULL);

	/* not sensitive: the value as typed */
	setup();
	menus[M_ACCOUNT].sensitive = false;
	menu_enter(&ms, M_ACCOUNT);
	CHECK(!menu_masks_keys(&ms));
	type("1234567#");
	CHECK(strstr(take(), "input.entry menu=account key=1234567 ") != NULL);
	CHECK_STR(mk.route_reason, "entry 1234567 in menu account → range 1000000-1999999");

	/* choice menus never mask */
	start();
	CHECK(!menu_masks_keys(&ms));
}

static void
test_directory_single(void)
{
	start_in(M_DIR);
	type("7877#");
	CHECK_STR(take(), "timer 2000; timer 2000; timer 2000; timer 2000; input.entry menu=dir "
		"key=7877 detail=ended by #; matches support; route menu=dir dept=support "
		"reason=spelled 7877 in menu dir → support detail=dir; timer 0; stop; "
		"route support: spelled 7877 in menu dir → support");

	/* spelled exactly, a name wins over the longer ones it starts: pay, not payroll */
	start_in(M_DIR);
	type("729");
	take();
	menu_timeout(&ms);
	CHECK_STR(take(), "input.entry menu=dir key=729 detail=inter-digit timeout (partial); "
		"matches pay; route menu=dir dept=billing reason=spelled 729 in menu dir → pay "
		"detail=dir; timer 0; stop; route billing: spelled 729 in menu dir → pay");
}

static void
test_directory_ambiguous(void)
{
	start_in(M_DIR);
	type("245#");
	CHECK_STR(take(), "timer 2000; timer 2000; timer 2000; input.entry menu=dir key=245 "
		"detail=ended by #; matches billing, bill: read back; stop; timer 0; "
		"play dir/choice; play dir/billing; play dir/bill");
	CHECK_INT(ms.nchoices, 2);
	done(4000);
	/* a key that picks no name: a failure, and the read-back again */
	menu_key(&ms, '3');
	CHECK_STR(take(), "input.invalid menu=dir key=3 detail=not one of the names read back: "
		"failure 1 of 2; stop; timer 0; play common/invalid; play dir/choice; "
		"play dir/billing; play dir/bill");
	done(4000);
	/* silence: a timeout, and the read-back again */
	menu_timeout(&ms);
	CHECK_STR(take(), "input.timeout menu=dir detail=timeout 1 of 2; timer 0; "
		"play common/no-input; play dir/choice; play dir/billing; play dir/bill");
	/* 2 picks the second, also during the read-back */
	menu_key(&ms, '2');
	CHECK_STR(take(), "key menu=dir key=2 detail=bill; route menu=dir dept=support "
		"reason=spelled 245 in menu dir, choice 2 → bill detail=dir; timer 0; stop; "
		"route support: spelled 245 in menu dir, choice 2 → bill");

	/* three names; * during the read-back: spell again, counting nothing */
	start_in(M_DIR);
	type("72#");
	CHECK(strstr(take(), "matches sales, pay, payroll: read back; stop; timer 0; "
		"play dir/choice; play dir/sales; play dir/pay; play dir/payroll") != NULL);
	menu_key(&ms, '*');
	CHECK_STR(take(), "key menu=dir key=* detail=entry cleared; stop; timer 0; "
		"play dir/greeting");
	CHECK_INT(ms.nchoices, 0);
	CHECK_INT(ms.failures, 0);
	/* a choice leading to a menu */
	type("72#");
	done(4000);
	menu_key(&ms, '3');
	CHECK_STR(menu_name(&ms), "sales");
	CHECK_INT(mk.routes, 0);
}

static void
test_directory_none(void)
{
	start_in(M_DIR);
	type("9#");
	CHECK_STR(take(), "timer 2000; input.entry menu=dir key=9 detail=ended by #; no name "
		"matches; input.invalid menu=dir key=9 detail=no name matches: failure 1 of 2; "
		"stop; timer 0; play common/invalid; play dir/greeting");
	done(4000);
	/* more names than can be read back: a failure too (the caller spells further) */
	type("7#");
	CHECK_STR(take(), "timer 2000; input.entry menu=dir key=7 detail=ended by #; 4 names "
		"match; input.invalid menu=dir key=7 detail=too many names match: failure 2 of 2; "
		"route menu=dir dept=operator reason=2 invalid entries in menu dir: fallback "
		"detail=dir; timer 0; stop; route operator: 2 invalid entries in menu dir: "
		"fallback");
}

/* callback:DEPT and callback-cancel hand the call to the conversation; menu_resume brings
 * the caller back to the same menu's short prompt, the visit's counts kept. */
static void
test_callback_and_resume(void)
{
	setup();
	key_set(&menus[M_SALES], '4', ACT_CALLBACK, D_BILLING);
	key_set(&menus[M_SALES], '5', ACT_CALLBACK_CANCEL, 0);
	menu_enter(&ms, M_MAIN);
	menu_key(&ms, '1');
	menu_prompts_done(&ms);
	menu_key(&ms, '6'); /* invalid: one failure, kept over the resume */
	menu_prompts_done(&ms);
	take();
	menu_key(&ms, '4');
	CHECK_STR(take(), "key menu=sales key=4; stop; callback billing: key 4 in menu sales");
	CHECK_INT(ms.state, MENU_IDLE);
	/* idle: keys and timeouts belong to the conversation */
	menu_key(&ms, '1');
	menu_timeout(&ms);
	CHECK_STR(take(), "");
	menu_resume(&ms);
	CHECK_STR(take(), "stop; timer 0; play sales/short");
	CHECK_STR(menu_name(&ms), "sales");
	CHECK_INT(ms.failures, 1);
	CHECK_STR(ms.path, "main > sales");
	done(4000);
	menu_key(&ms, '5');
	CHECK_STR(take(), "key menu=sales key=5; stop; callback cancel: key 5 in menu sales");
	menu_resume(&ms);
	done(4000);
	/* * still goes back: the stack survived */
	menu_key(&ms, '*');
	CHECK_STR(menu_name(&ms), "main");
	/* resume before any menu: nothing */
	setup();
	menu_resume(&ms);
	CHECK_STR(take(), "");
}

CHECK_MAIN(T(test_before_enter), T(test_enter_greeting), T(test_timer_after_prompts),
	T(test_key_submenu), T(test_key_dept), T(test_operator), T(test_back),
	T(test_short_on_return), T(test_repeat), T(test_invalid_to_dept),
	T(test_invalid_to_menu), T(test_timeouts), T(test_counters_independent),
	T(test_counters_reset_on_enter), T(test_key_disarms_timer), T(test_barge_in),
	T(test_no_barge_in), T(test_leave), T(test_keys_outside_table), T(test_long_path),
	T(test_entry_terminator), T(test_entry_max_length), T(test_entry_partial),
	T(test_entry_too_short), T(test_entry_no_route), T(test_entry_timeouts),
	T(test_entry_star_and_terminator), T(test_entry_barge_in),
	T(test_entry_zero_and_non_digits), T(test_entry_masking), T(test_directory_single),
	T(test_directory_ambiguous), T(test_directory_none), T(test_callback_and_resume))
