/* Report kinds, their arguments (one name for ivrctl's --NAME and the API's NAME=), and
 * the dispatch to each kind's file. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ivr/number.h"
#include "ivr/util.h"
#include "report_int.h"

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

int
report_parse_time(int64_t *ms, const char *s, bool end_of_day, int64_t now_ms)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0;
	bool date_only = true;
	time_t t;

	if (*s == '-')
		return parse_relative(ms, s + 1, now_ms);
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
