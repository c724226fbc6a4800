/* Opening hours as a bitmap of the minutes of a week, Monday 00:00 first: parsing does the
 * work, so asking whether a department is open is one lookup in its local time. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ivr/hours.h"

#define DAY_MIN 1440
#define WEEK_MIN (7 * DAY_MIN)
#define BLANKS " \t"

struct hours {
	uint64_t open[(WEEK_MIN + 63) / 64];
	bool always;
	/* holidays: yearly ones by month and day, dated ones as YYYYMMDD */
	uint32_t yearly[13];
	int32_t *dates;
	size_t ndates;
};

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static bool
word_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

static int
day_index(const char *s, size_t n)
{
	for (int d = 0; d < 7; d++)
		if (word_is(s, n, day_names[d]))
			return d;
	return -1;
}

/* "mon-fri,sun"; a range may wrap past Sunday ("fri-mon"). Sets bit 0 for Monday. */
static int
parse_days(unsigned *mask, const char *s, size_t n, char *why, size_t whylen)
{
	const char *end = s + n;

	*mask = 0;
	for (const char *item = s; item <= end; item++) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		const char *stop = comma != NULL ? comma : end;
		const char *dash = memchr(item, '-', (size_t)(stop - item));
		const char *to = dash != NULL ? dash + 1 : item;
		int first, last;

		if (stop == item) {
			snprintf(why, whylen, "empty day in \"%.*s\"", (int)n, s);
			return EINVAL;
		}
		first = day_index(item, (size_t)((dash != NULL ? dash : stop) - item));
		last = day_index(to, (size_t)(stop - to));
		if (first < 0 || last < 0) {
			const char *bad = first < 0 ? item : to;
			const char *bad_end = first < 0 && dash != NULL ? dash : stop;

			snprintf(why, whylen, "unknown day \"%.*s\"", (int)(bad_end - bad), bad);
			return EINVAL;
		}
		for (int d = first;; d = (d + 1) % 7) {
			*mask |= 1u << d;
			if (d == last)
				break;
		}
		item = stop;
	}
	return 0;
}

/* "HH:MM", as minutes into the day; "24:00" is 1440. */
static bool
parse_clock(int *min, const char *s, size_t n)
{
	int h, m;

	if (n != 5 || s[2] != ':')
		return false;
	for (size_t i = 0; i < n; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return false;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return false;
	*min = h * 60 + m;
	return true;
}

static void
open_range(struct hours *h, unsigned days, int start, int end)
{
	/* an end before the start runs past midnight into the next day */
	int len = end > start ? end - start : end + DAY_MIN - start;

	for (int d = 0; d < 7; d++) {
		if ((days & 1u << d) == 0)
			continue;
		for (int i = 0; i < len; i++) {
			int m = (d * DAY_MIN + start + i) % WEEK_MIN;

			h->open[m / 64] |= UINT64_C(1) << (m % 64);
		}
	}
}

/* "08:00-12:00,13:00-17:00" opened on the given days. */
static int
parse_times(struct hours *h, unsigned days, const char *s, size_t n, char *why, size_t whylen)
{
	const char *end = s + n;

	for (const char *item = s; item <= end; item++) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		const char *stop = comma != NULL ? comma : end;
		const char *dash = memchr(item, '-', (size_t)(stop - item));
		int len = (int)(stop - item), start, finish;

		if (dash == NULL) {
			snprintf(why, whylen, "\"%.*s\" is not a time range", len, item);
			return EINVAL;
		}
		if (!parse_clock(&start, item, (size_t)(dash - item))) {
			snprintf(why, whylen, "\"%.*s\" is not a time of day", (int)(dash - item),
				item);
			return EINVAL;
		}
		if (start == DAY_MIN) {
			snprintf(why, whylen, "\"24:00\" can only end a range");
			return EINVAL;
		}
		if (!parse_clock(&finish, dash + 1, (size_t)(stop - dash - 1))) {
			snprintf(why, whylen, "\"%.*s\" is not a time of day",
				(int)(stop - dash - 1), dash + 1);
			return EINVAL;
		}
		if (start == finish) {
			snprintf(why, whylen, "empty time range %.*s", len, item);
			return EINVAL;
		}
		open_range(h, days, start, finish);
		item = stop;
	}
	return 0;
}

/* "always", "never", or days then times separated by blanks. */
static int
parse_rule(struct hours *h, const char *rule, char *why, size_t whylen)
{
	const char *days = rule + strspn(rule, BLANKS);
	size_t ndays = strcspn(days, BLANKS);
	const char *times = days + ndays + strspn(days + ndays, BLANKS);
	size_t ntimes = strcspn(times, BLANKS);
	const char *rest = times + ntimes + strspn(times + ntimes, BLANKS);
	unsigned mask;
	int rc;

	if (ndays == 0) {
		snprintf(why, whylen, "empty rule");
		return EINVAL;
	}
	if (word_is(days, ndays, "always") || word_is(days, ndays, "never")) {
		if (ntimes != 0) {
			snprintf(why, whylen, "\"%.*s\" stands alone", (int)ndays, days);
			return EINVAL;
		}
		if (word_is(days, ndays, "always"))
			memset(h->open, 0xff, sizeof(h->open));
		return 0;
	}
	if (ntimes == 0) {
		snprintf(why, whylen, "expected days and times, as in \"mon-fri 08:00-18:00\"");
		return EINVAL;
	}
	if (*rest != '\0') {
		snprintf(why, whylen, "unexpected \"%s\"", rest);
		return EINVAL;
	}
	if ((rc = parse_days(&mask, days, ndays, why, whylen)) != 0)
		return rc;
	return parse_times(h, mask, times, ntimes, why, whylen);
}

static bool
has_yearly(const struct hours *h)
{
	for (size_t i = 0; i < sizeof(h->yearly) / sizeof(h->yearly[0]); i++)
		if (h->yearly[i] != 0)
			return true;
	return false;
}

static bool
all_open(const struct hours *h)
{
	for (int m = 0; m < WEEK_MIN; m++)
		if ((h->open[m / 64] >> (m % 64) & 1) == 0)
			return false;
	return true;
}

int
hours_parse(struct hours **hp, const char *const *rules, size_t n, char *err, size_t errlen)
{
	struct hours *h = NULL;
	char why[256];
	int rc = EINVAL;

	*hp = NULL;
	if (n == 0) {
		snprintf(err, errlen, "no rules: say \"always\" or \"never\"");
		goto out;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		rc = ENOMEM;
		snprintf(err, errlen, "%s", strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = parse_rule(h, rules[i], why, sizeof(why))) != 0) {
			snprintf(err, errlen, "rule %zu \"%s\": %s", i + 1, rules[i], why);
			goto out;
		}
	}
	h->always = all_open(h);
	*hp = h;
	h = NULL;
out:
	free(h);
	return rc;
}

void
hours_free(struct hours *h)
{
	if (h == NULL)
		return;
	free(h->dates);
	free(h);
}

bool
hours_always(const struct hours *h)
{
	return h->always && h->ndates == 0 && !has_yearly(h);
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int mon)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return mon == 2 && (y == 0 || is_leap(y)) ? 29 : days[mon - 1];
}

static const char *const month_names[12] = {
	"January", "February", "March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December",
};

/* n digits at s; -1 when any is not a digit */
static int
digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" or "MM-DD"; *y is 0 for a yearly holiday. */
static int
parse_date(int *y, int *mon, int *day, const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);
	const char *md = n == 10 ? s + 5 : s;

	*y = 0;
	if ((n != 10 && n != 5) || (n == 10 && s[4] != '-') || md[2] != '-' ||
	    (n == 10 && (*y = digits(s, 4)) < 0) || (*mon = digits(md, 2)) < 0 ||
	    (*day = digits(md + 3, 2)) < 0) {
		snprintf(why, whylen, "expected \"YYYY-MM-DD\" (one date) or \"MM-DD\" (every "
			"year)");
		return EINVAL;
	}
	if (n == 10 && *y < 1970) {
		snprintf(why, whylen, "year %d is before 1970", *y);
		return EINVAL;
	}
	if (*mon < 1 || *mon > 12) {
		snprintf(why, whylen, "no month %02d", *mon);
		return EINVAL;
	}
	if (*day < 1) {
		snprintf(why, whylen, "no day 00");
		return EINVAL;
	}
	if (*day > month_days(*y, *mon)) {
		if (*y != 0)
			snprintf(why, whylen, "%s %d has %d days", month_names[*mon - 1], *y,
				month_days(*y, *mon));
		else
			snprintf(why, whylen, "%s has %d days", month_names[*mon - 1],
				month_days(*y, *mon));
		return EINVAL;
	}
	return 0;
}

int
hours_set_holidays(struct hours *h, const char *const *days, size_t n, char *err,
	size_t errlen)
{
	uint32_t yearly[13] = {0};
	int32_t *dates = NULL;
	size_t ndates = 0;
	char why[128];
	int rc = 0;

	if (n > 0 && (dates = calloc(n, sizeof(*dates))) == NULL) {
		rc = ENOMEM;
		snprintf(err, errlen, "%s", strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int y, mon, day;

		if ((rc = parse_date(&y, &mon, &day, days[i], why, sizeof(why))) != 0) {
			snprintf(err, errlen, "holiday %zu \"%s\": %s", i + 1, days[i], why);
			goto out;
		}
		if (y == 0)
			yearly[mon] |= UINT32_C(1) << day;
		else
			dates[ndates++] = y * 10000 + mon * 100 + day;
	}
	free(h->dates);
	memcpy(h->yearly, yearly, sizeof(yearly));
	h->dates = dates;
	h->ndates = ndates;
	dates = NULL;
out:
	free(dates);
	return rc;
}

bool
hours_holiday(const struct hours *h, const struct tz *z, time_t now)
{
	struct tm tm;
	int32_t ymd;

	if (h->ndates == 0 && !has_yearly(h))
		return false;
	tz_localtime(z, now, &tm);
	if (h->yearly[tm.tm_mon + 1] >> tm.tm_mday & 1)
		return true;
	ymd = (int32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
	for (size_t i = 0; i < h->ndates; i++)
		if (h->dates[i] == ymd)
			return true;
	return false;
}

bool
hours_open(const struct hours *h, const struct tz *z, time_t now)
{
	struct tm tm;
	int m;

	if (hours_holiday(h, z, now))
		return false;
	if (h->always)
		return true;
	tz_localtime(z, now, &tm);
	m = (tm.tm_wday + 6) % 7 * DAY_MIN + tm.tm_hour * 60 + tm.tm_min;
	return (h->open[m / 64] >> (m % 64) & 1) != 0;
}

time_t
hours_next_open(const struct hours *h, const struct tz *z, time_t now, time_t horizon)
{
	bool any = false;

	if (hours_open(h, z, now))
		return now;
	for (size_t i = 0; i < sizeof(h->open) / sizeof(h->open[0]) && !any; i++)
		any = h->open[i] != 0;
	if (!any)
		return -1;
	/* minute by minute: zone offsets are whole minutes; two weeks is 20160 steps */
	for (time_t t = now - now % 60 + 60; t <= now + horizon; t += 60)
		if (hours_open(h, z, t))
			return t;
	return -1;
}
