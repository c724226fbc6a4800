/* Report kinds, their arguments (one name for ivrctl's --NAME and the API's NAME=), and
 * the dispatch to each kind's file. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ivr/number.h"
#include "ivr/util.h"
#include "report_int.h"

/* The arguments each kind takes (report_arg names, as bits). */
enum {
	ARG_SINCE = 1 << 0,
	ARG_UNTIL = 1 << 1,
	ARG_DEPT = 1 << 2,
	ARG_NUMBER = 1 << 3,
	ARG_CALL_ID = 1 << 4,
	ARG_LIMIT = 1 << 5,
	ARG_VIEW = 1 << 6,
	ARG_LIST = 1 << 7,
	ARG_MASK = 1 << 8,
	ARG_FULL_NUMBERS = 1 << 9,
};

#define ARGS_RANGE (ARG_SINCE | ARG_UNTIL)

static const unsigned kind_args[] = {
	[REPORT_CALLS] = ARGS_RANGE | ARG_DEPT | ARG_NUMBER | ARG_LIMIT | ARG_MASK,
	[REPORT_TRACE] = ARG_CALL_ID | ARG_NUMBER | ARGS_RANGE | ARG_MASK,
	[REPORT_TRANSFERS] = ARGS_RANGE | ARG_DEPT | ARG_NUMBER | ARG_LIST | ARG_LIMIT | ARG_MASK,
	[REPORT_DROPS] = ARGS_RANGE | ARG_DEPT | ARG_NUMBER | ARG_LIST | ARG_LIMIT | ARG_MASK,
	[REPORT_CALLBACKS] = ARG_VIEW | ARG_DEPT | ARG_NUMBER | ARGS_RANGE | ARG_LIMIT |
		ARG_MASK | ARG_FULL_NUMBERS,
	[REPORT_CALLER] = ARG_NUMBER | ARGS_RANGE | ARG_DEPT | ARG_LIMIT | ARG_MASK |
		ARG_FULL_NUMBERS,
	[REPORT_SUMMARY] = ARGS_RANGE | ARG_DEPT | ARG_NUMBER | ARG_MASK,
	[REPORT_EXPORT] = ARGS_RANGE | ARG_DEPT | ARG_NUMBER | ARG_MASK,
};

static const struct {
	const char *name;
	unsigned bit;
} arg_names[] = {
	{"since", ARG_SINCE}, {"until", ARG_UNTIL}, {"dept", ARG_DEPT}, {"number", ARG_NUMBER},
	{"call_id", ARG_CALL_ID}, {"limit", ARG_LIMIT}, {"view", ARG_VIEW}, {"list", ARG_LIST},
	{"mask", ARG_MASK}, {"full_numbers", ARG_FULL_NUMBERS},
};

static const char *const view_names[] = {
	[JPROM_ALL] = "all",
	[JPROM_OPEN] = "open",
	[JPROM_DUE] = "due",
	[JPROM_OVERDUE] = "overdue",
	[JPROM_KEPT] = "kept",
	[JPROM_BROKEN] = "broken",
	[JPROM_CANCELLED] = "cancelled",
};

/* Relative times reach back at most a century; past that it is a typo. */
#define MAX_RELATIVE_MS (INT64_C(100) * 366 * 86400000)

/* Exactly n decimal digits. */
static bool
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

static int
parse_relative(int64_t *ms, const char *s, int64_t now_ms)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}, {'w', 604800000},
	};
	int64_t n = 0;

	if (*s < '0' || *s > '9')
		return EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (INT64_MAX - 9) / 10)
			return EINVAL;
		n = n * 10 + (*s - '0');
	}
	for (size_t i = 0; i < ARRAY_LEN(units); i++) {
		if (s[0] != units[i].unit || s[1] != '\0')
			continue;
		if (n > MAX_RELATIVE_MS / units[i].ms)
			return EINVAL;
		*ms = now_ms - n * units[i].ms;
		return 0;
	}
	return EINVAL;
}

static int
days_in_month(int y, int mo)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/* The local midnight that starts the day now_ms falls in, days later (negative: earlier);
 * end_of_day: the midnight after it. */
static int
local_day(int64_t *ms, int64_t now_ms, int days, bool end_of_day)
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return EINVAL;
	tm.tm_mday += days + (end_of_day ? 1 : 0);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return EINVAL;
	*ms = (int64_t)t * 1000;
	return 0;
}

int
report_parse_time(int64_t *ms, const char *s, bool end_of_day, int64_t now_ms)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0;
	bool date_only = true;
	time_t t;

	if (*s == '-')
		return parse_relative(ms, s + 1, now_ms);
	if (strcmp(s, "today") == 0)
		return local_day(ms, now_ms, 0, end_of_day);
	if (strcmp(s, "yesterday") == 0)
		return local_day(ms, now_ms, -1, end_of_day);
	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
	    !digits(&s, 2, &d))
		return EINVAL;
	if (*s == ' ' || *s == 'T') {
		s++;
		date_only = false;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return EINVAL;
		if (*s == ':' && (s++, !digits(&s, 2, &sec)))
			return EINVAL;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d + (date_only && end_of_day ? 1 : 0);
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return EINVAL;
	*ms = (int64_t)t * 1000;
	return 0;
}

void
report_format_time(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld ms", (long long)ms);
}

/* "*******4567": enough for staff to tell callers apart, not to dial them. */
void
report_mask_number(char *buf, size_t size, const char *n)
{
	size_t len = strlen(n), i;

	for (i = 0; i + 1 < size && i < len; i++)
		buf[i] = i + 4 < len ? '*' : n[i];
	buf[i] = '\0';
}

const char *
report_shown(char *buf, size_t size, const char *n, bool mask)
{
	if (n == NULL || !mask)
		return n;
	report_mask_number(buf, size, n);
	return buf;
}

/* "path=main; ani=15551234567; dnis=18005550100 (numbers.[1])": the numbers' digits, all but
 * the last 4, become '*' in place (the length stays, as report_mask_number keeps it). */
static void
mask_inputs(char *detail)
{
	char *p = detail;

	while (*p != '\0') {
		size_t n = strcspn(p, ";"), k = strcspn(p, "=");

		if (k < n && ((k == 3 && strncmp(p, "ani", 3) == 0) ||
		    (k == 4 && strncmp(p, "dnis", 4) == 0))) {
			char *v = p + k + 1;
			/* the number only: "18005550100 (numbers.[1])" says which rule matched */
			size_t len = strcspn(v, " ;");

			if (len > n - k - 1)
				len = n - k - 1;
			for (size_t i = 0; i + 4 < len; i++)
				v[i] = '*';
		}
		p += n;
		while (*p == ';' || *p == ' ')
			p++;
	}
}

int
report_mask_event(struct report_masked *m, const struct journal_event *ev, bool mask)
{
	m->ev = *ev;
	m->detail = NULL;
	if (!mask)
		return 0;
	m->ev.ani = report_shown(m->ani, sizeof(m->ani), ev->ani, true);
	m->ev.dnis = report_shown(m->dnis, sizeof(m->dnis), ev->dnis, true);
	if (ev->detail != NULL && strchr(ev->detail, '=') != NULL) {
		if ((m->detail = strdup(ev->detail)) == NULL)
			return ENOMEM;
		mask_inputs(m->detail);
		m->ev.detail = m->detail;
	}
	return 0;
}

void
report_masked_clear(struct report_masked *m)
{
	free(m->detail);
	m->detail = NULL;
}

int
report_describe(char **out, const struct journal_event *ev, bool mask)
{
	struct report_masked m;
	int err;

	*out = NULL;
	if ((err = report_mask_event(&m, ev, mask)) == 0)
		err = journal_event_describe(out, &m.ev);
	report_masked_clear(&m);
	return err;
}

int
report_write_error(int err, char *buf, size_t errlen)
{
	snprintf(buf, errlen, "writing the report: %s", strerror(err));
	return err;
}

int
report_journal_error(int err, struct journal_query *q, char *buf, size_t errlen)
{
	snprintf(buf, errlen, "%s", err == ENOMEM ? strerror(err) : journal_query_error(q));
	return err;
}

const char *
report_number(char *buf, size_t size, const char *arg)
{
	static const struct number_plan plain = {NULL, 0};

	/* the journal holds numbers normalized; anything else is matched as typed */
	return number_normalize(buf, size, arg, &plain) == 0 ? buf : arg;
}

static const char *const kind_names[] = {
	[REPORT_CALLS] = "calls",
	[REPORT_TRACE] = "trace",
	[REPORT_TRANSFERS] = "transfers",
	[REPORT_DROPS] = "drops",
	[REPORT_CALLBACKS] = "callbacks",
	[REPORT_CALLER] = "caller",
	[REPORT_SUMMARY] = "report",
	[REPORT_EXPORT] = "export",
};

int
report_kind_parse(enum report_kind *k, const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(kind_names); i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*k = (enum report_kind)i;
			return 0;
		}
	}
	return EINVAL;
}

const char *
report_kind_name(enum report_kind k)
{
	return (size_t)k < ARRAY_LEN(kind_names) ? kind_names[k] : "?";
}

int
report_write(FILE *fp, enum output_format fmt, struct journal_query *q,
	const struct report_args *a, char *err, size_t errlen)
{
	static REPORT_FN((*const fns[])) = {
		[REPORT_CALLS] = report_calls,
		[REPORT_TRACE] = report_trace,
		[REPORT_TRANSFERS] = report_transfers,
		[REPORT_DROPS] = report_drops,
		[REPORT_CALLBACKS] = report_callbacks,
		[REPORT_CALLER] = report_caller,
		[REPORT_SUMMARY] = report_summary,
		[REPORT_EXPORT] = report_export,
	};

	if ((size_t)a->kind >= ARRAY_LEN(fns)) {
		snprintf(err, errlen, "no such report");
		return EINVAL;
	}
	return fns[a->kind](fp, fmt, q, a, err, errlen);
}

/* Lists (calls, promises, caller's calls, transfer and drop rows) show the newest 50 unless
 * asked; a trace, the summary and an export are whole. */
void
report_args_init(struct report_args *a, enum report_kind kind, int64_t now_ms)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->now_ms = now_ms;
	a->view = JPROM_ALL;
	switch (kind) {
	case REPORT_CALLS:
	case REPORT_TRANSFERS:
	case REPORT_DROPS:
	case REPORT_CALLBACKS:
	case REPORT_CALLER:
		a->limit = 50;
		break;
	default:
		a->limit = 0;
		break;
	}
}

static int
parse_flag(bool *b, const char *v)
{
	if (*v == '\0' || strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*b = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		*b = false;
	else
		return EINVAL;
	return 0;
}

static int
copy_arg(char *buf, size_t size, const char *name, const char *v, char *err, size_t errlen)
{
	if (str_copy(buf, v, size) >= size) {
		snprintf(err, errlen, "%s is too long (at most %zu characters)", name, size - 1);
		return EINVAL;
	}
	return 0;
}

int
report_arg(struct report_args *a, const char *name, const char *value, char *err,
	size_t errlen)
{
	unsigned bit = 0;
	char *end;

	for (size_t i = 0; i < ARRAY_LEN(arg_names); i++)
		if (strcmp(name, arg_names[i].name) == 0)
			bit = arg_names[i].bit;
	if (bit == 0 || (size_t)a->kind >= ARRAY_LEN(kind_args) || !(kind_args[a->kind] & bit)) {
		snprintf(err, errlen, "%s takes no argument %s", report_kind_name(a->kind), name);
		return ENOENT;
	}
	if (value == NULL)
		value = "";
	switch (bit) {
	case ARG_SINCE:
	case ARG_UNTIL:
		if (report_parse_time(bit == ARG_SINCE ? &a->since_ms : &a->until_ms, value,
		    bit == ARG_UNTIL, a->now_ms) != 0) {
			snprintf(err, errlen, "bad time '%s' (YYYY-MM-DD, \"YYYY-MM-DD "
				"HH:MM[:SS]\", today, yesterday, -30m, -2h, -7d)", value);
			return EINVAL;
		}
		return 0;
	case ARG_DEPT:
		return copy_arg(a->dept, sizeof(a->dept), name, value, err, errlen);
	case ARG_NUMBER: {
		char buf[sizeof(a->number)];
		return copy_arg(a->number, sizeof(a->number), name,
			report_number(buf, sizeof(buf), value), err, errlen);
	}
	case ARG_CALL_ID:
		return copy_arg(a->call_id, sizeof(a->call_id), name, value, err, errlen);
	case ARG_LIMIT:
		errno = 0;
		a->limit = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0) {
			snprintf(err, errlen, "bad limit '%s'", value);
			return EINVAL;
		}
		return 0;
	case ARG_VIEW:
		for (size_t i = 0; i < ARRAY_LEN(view_names); i++) {
			if (strcmp(value, view_names[i]) == 0) {
				a->view = (enum journal_promise_view)i;
				return 0;
			}
		}
		snprintf(err, errlen, "bad view '%s' (open, due, overdue, kept, broken, "
			"cancelled, all)", value);
		return EINVAL;
	default:
		if (parse_flag(bit == ARG_LIST ? &a->list : bit == ARG_MASK ? &a->mask :
		    &a->full_numbers, value) != 0) {
			snprintf(err, errlen, "bad value '%s' for %s (true or false)", value, name);
			return EINVAL;
		}
		return 0;
	}
}

int
report_args_check(const struct report_args *a, char *err, size_t errlen)
{
	if (a->since_ms != 0 && a->until_ms != 0 && a->until_ms <= a->since_ms) {
		snprintf(err, errlen, "until must be later than since");
		return EINVAL;
	}
	if (a->kind == REPORT_CALLER && a->number[0] == '\0') {
		snprintf(err, errlen, "which number?");
		return EINVAL;
	}
	if (a->kind == REPORT_TRACE && a->call_id[0] == '\0' && a->number[0] == '\0') {
		snprintf(err, errlen, "which call? (a call id, or a number for its newest call)");
		return EINVAL;
	}
	return 0;
}
