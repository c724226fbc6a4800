/* Opening hours, evaluated in a department's own time zone. */
#ifndef IVR_HOURS_H
#define IVR_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct hours;

/* Parses a list of rules: "always", "never", "mon-fri 08:00-18:00", "sat,sun 10:00-14:00",
 * "mon 09:00-12:00,13:00-17:00", "fri-mon 22:00-06:00" (past midnight: open until 06:00 the
 * next day), "24:00" allowed as an end. The department is open when any rule matches.
 * On error returns EINVAL and writes the rule index and reason to err. */
int hours_parse(struct hours **hp, const char *const *rules, size_t n, char *err, size_t errlen);
void hours_free(struct hours *h);
/* Open at every minute of every day: no closed minute and no holiday. */
bool hours_always(const struct hours *h);
/* Days closed all day, in the zone hours_open is asked in: "YYYY-MM-DD" one date, "MM-DD"
 * that day every year ("02-29" only in leap years). Replaces any earlier list; on error
 * returns EINVAL, leaves h as it was and writes the entry index and reason to err. */
int hours_set_holidays(struct hours *h, const char *const *days, size_t n, char *err,
	size_t errlen);

struct tz; /* a loaded time zone (TZif from /usr/share/zoneinfo or $TZDIR) */
/* "UTC", "America/Chicago", "Asia/Ho_Chi_Minh" ... EINVAL for bad names, ENOENT when the zone
 * file is missing or does not parse. */
int tz_load(struct tz **zp, const char *name, char *err, size_t errlen);
void tz_free(struct tz *z);
/* Local broken-down time in z at t (like localtime_r, without touching the process TZ). */
void tz_localtime(const struct tz *z, time_t t, struct tm *out);

/* Whether now, in z, is within the rules and not on a holiday. */
bool hours_open(const struct hours *h, const struct tz *z, time_t now);
/* Whether now, in z, falls on one of the holidays. */
bool hours_holiday(const struct hours *h, const struct tz *z, time_t now);
/* When the department next opens: now when it is open now, else the first whole minute
 * after now that is open; -1 when it does not open within horizon seconds. */
time_t hours_next_open(const struct hours *h, const struct tz *z, time_t now, time_t horizon);

#endif
