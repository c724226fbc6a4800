/* A configuration generation: the whole validated configuration, prompts decoded, immutable
 * once loaded. Each call holds a reference to the generation it started on; a reload builds
 * a new one and swaps a pointer, and the old one is freed with its last call. */
#ifndef IVR_CONF_H
#define IVR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ivr/dtmf.h"
#include "ivr/number.h"

struct prompt;
struct prompt_cache;
struct hours;
struct tz;

/* Keys a caller can press, in RFC 4733 event order: 0-9 * # A-D. */
#define CONF_KEYS 16
int conf_key_index(char key); /* -1 for anything else */

enum conf_act {
	ACT_NONE = 0,
	ACT_MENU,   /* go to a menu (pushed, so "back" returns) */
	ACT_DEPT,   /* route to a department */
	ACT_REPEAT, /* replay the menu's short prompt */
	ACT_BACK,   /* return to the previous menu */
	ACT_LANG,   /* switch the call's language (index: language) and replay the short prompt */
	ACT_CALLBACK,        /* offer a call back from a department (index: department) */
	ACT_CALLBACK_CANCEL, /* cancel the caller's open promises (index unused) */
};

struct conf_action {
	enum conf_act kind;
	int index; /* menu or department index */
};

enum conf_menu_type {
	MENU_CHOICE = 0, /* one key picks an option */
	MENU_ENTRY,      /* several digits, routed by value (account numbers, extensions) */
	MENU_DIRECTORY,  /* a name spelled on the keypad */
};

/* An entry menu's route: a range of equal-length values, or a prefix. */
struct conf_entry_route {
	char *from, *to; /* both NULL for a prefix route */
	char *prefix;
	struct conf_action action;
};

/* A directory menu's name. */
struct conf_dir_entry {
	char *name;
	char *spell; /* as written: letters, digits, spaces, punctuation (keypad.h) */
	int prompt;
	struct conf_action action;
};

#define CONF_ENTRY_MAX 32 /* digits in one entry */

struct conf_menu {
	char *name;
	enum conf_menu_type type;
	/* entry and directory menus */
	unsigned min_length, max_length;
	char terminator; /* '\0': none */
	unsigned inter_digit_ms;
	bool sensitive, zero_is_digit;
	struct conf_entry_route *routes;
	size_t nroutes;
	struct conf_dir_entry *entries;
	size_t nentries;
	int choice_prompt;
	int greeting, short_prompt, invalid, no_input; /* prompt ids */
	unsigned timeout_ms;
	unsigned max_failures, max_timeouts;
	bool barge_in;
	struct conf_action fallback;
	struct conf_action keys[CONF_KEYS];
	bool key_set[CONF_KEYS]; /* set by an option, overriding 0 / * / # */
};

/* departments.NAME.callback: when the department offers a call back and how it keeps it. */
#define CB_OFFER_CLOSED 1u      /* the department is closed */
#define CB_OFFER_UNAVAILABLE 2u /* every target refused or failed the transfer, or busy */
#define CB_OFFER_OVERFLOW 4u    /* the fallback chain is exhausted (max_overflow) */

enum conf_cb_order {
	CB_CALLER_FIRST, /* dial the caller, "this is your call back from ...", REFER to the dept */
	CB_DEPT_FIRST,   /* dial the department, announce the call back, REFER it to the caller */
};

enum conf_cb_returning {
	CB_RETURN_OFFER, /* a returning caller with an open promise is offered the department */
	CB_RETURN_ROUTE, /* ... or sent straight there */
};

struct conf_callback {
	bool on;                  /* the group is present */
	unsigned offer;           /* CB_OFFER_* */
	unsigned service_level_s; /* the call back is due this long after the department opens
				   * (or after the promise, when it is open) */
	unsigned window_s;        /* not kept this long after the promise: broken */
	unsigned attempts;        /* dial-backs before the promise is broken */
	unsigned retry_s;         /* between attempts */
	unsigned max_active;      /* dial-backs in progress at once for the department */
	enum conf_cb_order order;
	enum conf_cb_returning returning;
	int name_prompt;          /* the department's name, said after "this is your call back
				   * from"; -1: none */
};

struct conf_dept {
	char *name;
	struct conf_callback callback;
	char **targets;
	size_t ntargets;
	char *timezone;
	struct tz *tz;
	struct hours *hours;
	struct conf_action fallback; /* ACT_NONE: nowhere left (the operator itself) */
	int closed_prompt, unavailable_prompt, transfer_prompt;
	unsigned transfer_timeout_ms;
	bool round_robin;       /* each transfer starts at the next target, not the first */
	unsigned max_transfers; /* REFERs outstanding at once; 0 = no cap */
};

/* ivrd.loop_guard: callers passed around too often go to a person who can sort it out. */
struct conf_loop_guard {
	bool on;               /* the group is present */
	unsigned window_s;     /* counts cover this many seconds back */
	unsigned max_transfers, max_drops, max_calls; /* 0 = not counted */
	int dept;              /* where escalated callers go */
	int prompt;            /* played first */
};

struct conf_number {
	char *dnis; /* normalized (number.h) */
	int menu;
	int lang;
	int dept_hint; /* where 0 (operator) leads from this number's menus; -1: the operator */
};

enum conf_mark { MARK_NONE = 0, MARK_INTERNAL, MARK_PRIORITY, MARK_BLOCKED };

/* A caller (ANI) rule: the first whose match list holds the caller's number applies. */
struct conf_caller {
	char **match; /* as written: full numbers or digit prefixes ending in '*' (number.h) */
	size_t nmatch;
	enum conf_mark mark;
	int menu, dept, lang; /* -1: not set */
};

enum conf_proto { CONF_UDP, CONF_TCP };

struct conf_listen {
	enum conf_proto proto;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];
};

/* ivrd.sip.outbound: calls ivrd places (ivrctl dial, callbacks) through an outbound proxy. */
struct conf_outbound {
	bool on;                 /* a proxy is set */
	struct conf_listen proxy;
	char *from;              /* our identity URI */
	char *domain;            /* host of the Request-URI; NULL: the proxy's address */
	char *username, *password, *realm; /* NULL when not set */
	unsigned ring_timeout_ms;
	unsigned max_outbound;   /* calls out at once */
};

/* ivrd.sip.trusted: an address prefix (CIDR) INVITEs may come from. */
struct conf_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned bits;
};

/* The prompts of the callback conversation (prompts_dir/LANG/callback/...), loaded when any
 * department offers call backs or a menu has a callback option; -1 when not loaded. */
struct conf_cb_prompts {
	int offer;          /* "we can call you back ... press 1 for a call back, 2 to go on" */
	int number_is;      /* "we will call you at the number ending in" (then digits) */
	int confirm;        /* "if that is right press 1; to give another number press 2" */
	int enter_number;   /* "enter the number to call, then press #" */
	int invalid_number; /* "that number cannot be called" */
	int promised;       /* "thank you; we expect to call you back" (then day and time) */
	int today, tomorrow, weekday[7]; /* weekday[0] = Sunday */
	int at;             /* "at" */
	int times[48];      /* "00:00", "00:30" ... "23:30" as spoken */
	int digits[10];
	int this_is;        /* "this is your call back from" (then the department's name) */
	int for_caller;     /* department first: "a call back for a caller; connecting" */
	int returning;      /* "you have a call back pending from" (then the name) */
	int returning_keys; /* "press 1 to be connected now, 2 to keep your call back" */
	int cancelled;      /* "your call back has been cancelled" */
	int none;           /* "you have no call back pending" */
	int goodbye;        /* "goodbye" after a promise */
};

struct conf {
	int refs;
	uint64_t generation;
	char *path;

	struct conf_listen *listen;
	size_t nlisten;
	unsigned answer_delay_ms;
	char *user_agent;
	struct conf_prefix *trusted; /* none: every source may call */
	size_t ntrusted;
	unsigned max_calls, max_calls_per_source; /* 0 = no limit */
	unsigned max_message_size, max_headers;
	struct conf_outbound outbound;
	unsigned max_connections, tcp_idle_timeout; /* TCP: connections at once; seconds */
	unsigned session_expires_s, min_se_s; /* RFC 4028 session timer */

	char *rtp_address;
	unsigned rtp_port_min, rtp_port_max;
	bool rtp_symmetric;
	unsigned rtp_timeout_ms, rtp_hold_timeout_ms; /* 0 = none */
	enum dtmf_inband_mode rtp_inband_dtmf;

	char *state_dir;
	char *control_socket;
	char *control_group; /* NULL: the daemon's own group */
	char *prompts_dir;
	char *http_listen;   /* NULL when "off" */
	bool dashboard;             /* ivrd.dashboard.enabled */
	char *dashboard_token;      /* NULL: none */
	bool dashboard_full_numbers; /* numbers unmasked in the dashboard */
	unsigned drain_ms;
	unsigned retention_days; /* ivrd.retention_days: journal age kept, 0 = everything */

	char **langs; /* langs[0] is the default language */
	size_t nlangs;

	char **prompt_names; /* id -> name */
	size_t nprompts;
	struct prompt **prompts; /* [lang * nprompts + id], never NULL after load */
	int goodbye_prompt;

	struct conf_action operator_action;
	int entry_menu; /* for dialed numbers not listed */
	unsigned max_overflow; /* department fallbacks a call may take before the operator */
	struct conf_loop_guard loop_guard;
	struct conf_cb_prompts cb_prompts;
	double callback_rate; /* ivrd.callbacks.rate: dial-backs started per second at most */
	unsigned callback_lease_s; /* ivrd.callbacks.lease: an attempt's claim on its promise */

	struct conf_menu *menus;
	size_t nmenus;
	struct conf_dept *depts;
	size_t ndepts;
	struct conf_number *numbers;
	size_t nnumbers;
	struct conf_caller *callers;
	size_t ncallers;
	char country_code[4];   /* ivrd.country_code */
	struct number_plan plan; /* how dialed and caller numbers are normalized */

	/* Every setting as in effect, "path = value", defaults marked: from the same table
	 * the validator reads, so "ivrctl show config" cannot drift from it. */
	char **effective;
	size_t neffective;
};

/* Problems found while loading, each "file:line: setting.path: what is wrong". */
struct conf_errors {
	char **errors;
	size_t nerrors;
	char **warnings;
	size_t nwarnings;
};
void conf_errors_free(struct conf_errors *e);

/* Loads and validates the whole file; every error is collected before refusing it. cache
 * (may be NULL) reuses prompts already decoded. Returns 0 with *cp set, or EINVAL with the
 * errors in e (ENOMEM for memory). */
int conf_load(struct conf **cp, struct conf_errors *e, const char *path,
	struct prompt_cache *cache, uint64_t generation);
struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf *c);

const struct prompt *conf_prompt(const struct conf *c, int lang, int id);
int conf_menu_find(const struct conf *c, const char *name);
int conf_dept_find(const struct conf *c, const char *name);
/* The number entry for a dialed number (normalized, then compared), or NULL. */
const struct conf_number *conf_number_find(const struct conf *c, const char *dnis);
/* The first caller rule matching a caller's number, or NULL. */
const struct conf_caller *conf_caller_find(const struct conf *c, const char *ani);
/* Whether ivrd.sip.trusted lets sa call (true when it lists nothing). */
bool conf_trusted(const struct conf *c, const struct sockaddr *sa);
/* "internal", "priority", "blocked" or "" */
const char *conf_mark_name(enum conf_mark m);

/* Writes the action as "menu:NAME", "dept:NAME", "repeat", "back". */
void conf_action_str(const struct conf *c, const struct conf_action *a, char *buf, size_t size);

#endif
