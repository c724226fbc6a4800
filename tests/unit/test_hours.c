/* Opening hours and time zones: rules and their errors, open or closed at chosen instants
 * around DST changes, zone files good and bad, and tz_localtime against glibc. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ivr/hours.h"
#include "ivr/util.h"

/* A UTC instant; timegm does not look at TZ. */
static time_t
utc(int y, int mon, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h,
		.tm_min = mi, .tm_sec = s};

	return timegm(&tm);
}

static struct tz *
zone(const char *name)
{
	struct tz *z = NULL;
	char err[256] = "";

	if (tz_load(&z, name, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	CHECK(z != NULL);
	return z;
}

static struct hours *
hours_of(const char *const *rules, size_t n)
{
	struct hours *h = NULL;
	char err[256] = "";

	if (hours_parse(&h, rules, n, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	CHECK(h != NULL);
	return h;
}

#define HOURS(...) \
	hours_of((const char *const[]){__VA_ARGS__}, ARRAY_LEN(((const char *[]){__VA_ARGS__})))

static void
test_parse_errors(void)
{
	static const struct {
		const char *rule, *err;
	} bad[] = {
		{"mon-fry 08:00-18:00", "unknown day \"fry\""},
		{"fry-mon 08:00-18:00", "unknown day \"fry\""},
		{"monday 08:00-18:00", "unknown day \"monday\""},
		{"mon,,tue 08:00-18:00", "empty day in \"mon,,tue\""},
		{"mon, 08:00-18:00", "empty day in \"mon,\""},
		{"mon 25:00-26:00", "\"25:00\" is not a time of day"},
		{"mon 08:60-09:00", "\"08:60\" is not a time of day"},
		{"mon 08:00-24:01", "\"24:01\" is not a time of day"},
		{"mon 8:00-18:00", "\"8:00\" is not a time of day"},
		{"mon 08:00-", "\"\" is not a time of day"},
		{"mon 24:00-06:00", "\"24:00\" can only end a range"},
		{"mon 09:00-09:00", "empty time range 09:00-09:00"},
		{"mon 00:00-00:00", "empty time range 00:00-00:00"},
		{"mon 08:00", "\"08:00\" is not a time range"},
		{"mon 08:00-12:00,", "\"\" is not a time range"},
		{"mon", "expected days and times, as in \"mon-fri 08:00-18:00\""},
		{"mon 08:00-12:00 sat", "unexpected \"sat\""},
		{"  ", "empty rule"},
		{"always mon-fri", "\"always\" stands alone"},
		{"Never 08:00-09:00", "\"Never\" stands alone"},
	};
	char err[256], want[256];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const char *rules[] = {"mon-fri 08:00-18:00", bad[i].rule};
		struct hours *h = (struct hours *)1;

		err[0] = '\0';
		CHECK_INT(hours_parse(&h, rules, 2, err, sizeof(err)), EINVAL);
		CHECK(h == NULL);
		snprintf(want, sizeof(want), "rule 2 \"%s\": %s", bad[i].rule, bad[i].err);
		CHECK_STR(err, want);
	}

	CHECK_INT(hours_parse(&(struct hours *){NULL}, NULL, 0, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "no rules: say \"always\" or \"never\"");
	/* a short buffer truncates, and none at all is allowed */
	CHECK_INT(hours_parse(&(struct hours *){NULL}, (const char *[]){"x"}, 1, err, 8),
		EINVAL);
	CHECK_STR(err, "rule 1 ");
	CHECK_INT(hours_parse(&(struct hours *){NULL}, (const char *[]){"x"}, 1, NULL, 0),
		EINVAL);
}

/* 2026-01-05 is a Monday. */
#define MON(d, h, m) utc(2026, 1, 5 + (d), h, m, 0)

static void
test_parse_days_and_times(void)
{
	struct tz *z = zone("UTC");
	struct hours *h;

	h = HOURS("MON-Fri 08:00-18:00", "sat,SUN 10:00-14:00");
	CHECK(!hours_open(h, z, MON(0, 7, 59)));
	CHECK(hours_open(h, z, MON(0, 8, 0)));
	CHECK(hours_open(h, z, MON(4, 17, 59) + 59));
	CHECK(!hours_open(h, z, MON(4, 18, 0)));
	CHECK(!hours_open(h, z, MON(5, 9, 59)));
	CHECK(hours_open(h, z, MON(5, 10, 0)));
	CHECK(hours_open(h, z, MON(6, 13, 59)));
	CHECK(!hours_open(h, z, MON(6, 14, 0)));
	CHECK(!hours_always(h));
	hours_free(h);

	h = HOURS("mon 09:00-12:00,13:00-17:00", "wed\t12:00-24:00", "thu-tue 06:00-07:00");
	CHECK(hours_open(h, z, MON(0, 11, 59)));
	CHECK(!hours_open(h, z, MON(0, 12, 30)));
	CHECK(hours_open(h, z, MON(0, 13, 0)));
	CHECK(!hours_open(h, z, MON(0, 17, 0)));
	CHECK(hours_open(h, z, MON(2, 23, 59)));
	CHECK(!hours_open(h, z, MON(3, 0, 0)));
	/* thu-tue wraps over the weekend and leaves Wednesday out */
	CHECK(hours_open(h, z, MON(1, 6, 30)));
	CHECK(!hours_open(h, z, MON(2, 6, 30)));
	CHECK(hours_open(h, z, MON(3, 6, 30)));
	CHECK(hours_open(h, z, MON(6, 6, 30)));
	hours_free(h);
	tz_free(z);
}

static void
test_past_midnight(void)
{
	struct tz *z = zone("UTC");
	struct hours *h;

	/* the days name where a range starts: Monday night runs into Tuesday */
	h = HOURS("fri-mon 22:00-06:00");
	CHECK(!hours_open(h, z, MON(4, 21, 59)));
	CHECK(hours_open(h, z, MON(4, 22, 0)));
	CHECK(hours_open(h, z, MON(5, 3, 0)));
	CHECK(hours_open(h, z, MON(6, 23, 0)));
	CHECK(hours_open(h, z, MON(1, 5, 59)));
	CHECK(!hours_open(h, z, MON(1, 6, 0)));
	CHECK(!hours_open(h, z, MON(1, 22, 30)));
	CHECK(!hours_open(h, z, MON(2, 3, 0)));
	CHECK(!hours_open(h, z, MON(4, 3, 0)));
	hours_free(h);

	/* Sunday night wraps into the next week's Monday */
	h = HOURS("sun 22:00-06:00", "tue 23:00-00:00");
	CHECK(hours_open(h, z, MON(0, 5, 59)));
	CHECK(!hours_open(h, z, MON(0, 6, 0)));
	CHECK(hours_open(h, z, MON(6, 22, 0)));
	CHECK(hours_open(h, z, MON(7, 0, 0)));
	CHECK(hours_open(h, z, MON(1, 23, 59)));
	CHECK(!hours_open(h, z, MON(2, 0, 0)));
	hours_free(h);
	tz_free(z);
}

static void
test_always_never(void)
{
	struct tz *z = zone("UTC");
	struct hours *h;

	h = HOURS(" Always ");
	CHECK(hours_always(h));
	CHECK(hours_open(h, z, MON(2, 3, 33)));
	hours_free(h);

	/* a week covered rule by rule is "always" too */
	h = HOURS("mon-wed 00:00-24:00", "thu-sun 00:00-12:00", "thu-sun 12:00-00:00");
	CHECK(hours_always(h));
	hours_free(h);

	h = HOURS("never");
	CHECK(!hours_always(h));
	for (int d = 0; d < 7; d++)
		for (int hr = 0; hr < 24; hr++)
			CHECK(!hours_open(h, z, MON(d, hr, 30)));
	hours_free(h);

	/* open when any rule matches: "never" adds nothing */
	h = HOURS("never", "mon 08:00-09:00");
	CHECK(hours_open(h, z, MON(0, 8, 30)));
	CHECK(!hours_open(h, z, MON(0, 9, 0)));
	hours_free(h);
	tz_free(z);
}

static void
check_local(const struct tz *z, time_t t, int y, int mon, int d, int h, int mi, int s,
	long gmtoff, int isdst)
{
	struct tm tm;

	tz_localtime(z, t, &tm);
	CHECK_INT(tm.tm_year + 1900, y);
	CHECK_INT(tm.tm_mon + 1, mon);
	CHECK_INT(tm.tm_mday, d);
	CHECK_INT(tm.tm_hour, h);
	CHECK_INT(tm.tm_min, mi);
	CHECK_INT(tm.tm_sec, s);
	CHECK_INT(tm.tm_gmtoff, gmtoff);
	CHECK_INT(tm.tm_isdst, isdst);
}

static void
test_chicago(void)
{
	struct tz *z = zone("America/Chicago");
	struct hours *office = HOURS("mon-fri 08:00-18:00");
	struct hours *gap = HOURS("sun 02:00-03:00");
	struct hours *twice = HOURS("sun 01:00-02:00");

	/* 2026-03-08: clocks go from 02:00 CST to 03:00 CDT */
	check_local(z, utc(2026, 3, 8, 7, 59, 59), 2026, 3, 8, 1, 59, 59, -21600, 0);
	check_local(z, utc(2026, 3, 8, 8, 0, 0), 2026, 3, 8, 3, 0, 0, -18000, 1);
	/* 02:00-03:00 does not exist that night, and is open the Sunday before */
	CHECK(hours_open(gap, z, utc(2026, 3, 1, 8, 30, 0)));
	for (time_t t = utc(2026, 3, 8, 5, 0, 0); t < utc(2026, 3, 8, 12, 0, 0); t += 60)
		CHECK(!hours_open(gap, z, t));
	/* the office opens at 08:00 local: 14:00 UTC on Friday, 13:00 UTC on Monday */
	CHECK(!hours_open(office, z, utc(2026, 3, 6, 13, 30, 0)));
	CHECK(hours_open(office, z, utc(2026, 3, 6, 14, 0, 0)));
	CHECK(!hours_open(office, z, utc(2026, 3, 9, 12, 59, 0)));
	CHECK(hours_open(office, z, utc(2026, 3, 9, 13, 0, 0)));
	CHECK(hours_open(office, z, utc(2026, 3, 9, 22, 59, 0)));
	CHECK(!hours_open(office, z, utc(2026, 3, 9, 23, 0, 0)));

	/* 2026-11-01: 02:00 CDT becomes 01:00 CST, so 01:00-02:00 happens twice */
	check_local(z, utc(2026, 11, 1, 6, 59, 59), 2026, 11, 1, 1, 59, 59, -18000, 1);
	check_local(z, utc(2026, 11, 1, 7, 0, 0), 2026, 11, 1, 1, 0, 0, -21600, 0);
	CHECK(!hours_open(twice, z, utc(2026, 11, 1, 5, 59, 0)));
	CHECK(hours_open(twice, z, utc(2026, 11, 1, 6, 0, 0)));
	CHECK(hours_open(twice, z, utc(2026, 11, 1, 6, 59, 59)));
	CHECK(hours_open(twice, z, utc(2026, 11, 1, 7, 0, 0)));
	CHECK(hours_open(twice, z, utc(2026, 11, 1, 7, 59, 0)));
	CHECK(!hours_open(twice, z, utc(2026, 11, 1, 8, 0, 0)));
	CHECK(!hours_open(office, z, utc(2026, 11, 2, 13, 30, 0)));
	CHECK(hours_open(office, z, utc(2026, 11, 2, 14, 0, 0)));

	/* past the file's transitions, from the footer's CST6CDT,M3.2.0,M11.1.0 */
	check_local(z, utc(2090, 3, 12, 7, 59, 59), 2090, 3, 12, 1, 59, 59, -21600, 0);
	check_local(z, utc(2090, 3, 12, 8, 0, 0), 2090, 3, 12, 3, 0, 0, -18000, 1);
	check_local(z, utc(2090, 11, 5, 7, 0, 0), 2090, 11, 5, 1, 0, 0, -21600, 0);
	hours_free(office);
	hours_free(gap);
	hours_free(twice);
	tz_free(z);
}

static void
test_other_zones(void)
{
	struct tz *hcm = zone("Asia/Ho_Chi_Minh"), *lon = zone("Europe/London");
	struct tz *lhi = zone("Australia/Lord_Howe"), *u = zone("UTC");
	struct hours *office = HOURS("mon-fri 08:00-17:00");
	struct hours *night = HOURS("sun 01:30-02:00");
	struct tm tm;

	/* UTC+7 all year: Monday 08:00 is 01:00 UTC in January and in July */
	check_local(hcm, utc(2026, 1, 5, 1, 0, 0), 2026, 1, 5, 8, 0, 0, 25200, 0);
	CHECK(!hours_open(office, hcm, utc(2026, 1, 5, 0, 59, 0)));
	CHECK(hours_open(office, hcm, utc(2026, 1, 5, 1, 0, 0)));
	CHECK(hours_open(office, hcm, utc(2026, 7, 6, 1, 0, 0)));
	CHECK(!hours_open(office, hcm, utc(2026, 7, 6, 10, 0, 0)));
	/* Sunday evening UTC is already Monday morning there */
	check_local(hcm, utc(2026, 7, 5, 23, 0, 0), 2026, 7, 6, 6, 0, 0, 25200, 0);
	tz_localtime(hcm, utc(2026, 7, 5, 23, 0, 0), &tm);
	CHECK_INT(tm.tm_wday, 1);
	CHECK(hours_open(office, u, utc(2026, 7, 6, 10, 0, 0)));

	/* BST 2026: 01:00 UTC on March 29 to 01:00 UTC on October 25 */
	check_local(lon, utc(2026, 3, 29, 0, 59, 59), 2026, 3, 29, 0, 59, 59, 0, 0);
	check_local(lon, utc(2026, 3, 29, 1, 0, 0), 2026, 3, 29, 2, 0, 0, 3600, 1);
	check_local(lon, utc(2026, 10, 25, 0, 59, 59), 2026, 10, 25, 1, 59, 59, 3600, 1);
	check_local(lon, utc(2026, 10, 25, 1, 0, 0), 2026, 10, 25, 1, 0, 0, 0, 0);
	CHECK(hours_open(office, lon, utc(2026, 3, 27, 8, 0, 0)));
	CHECK(!hours_open(office, lon, utc(2026, 3, 30, 16, 0, 0)));
	CHECK(hours_open(office, lon, utc(2026, 3, 30, 7, 0, 0)));
	tz_localtime(lon, utc(2026, 7, 1, 12, 0, 0), &tm);
	CHECK_STR(tm.tm_zone, "BST");

	/* Lord Howe's DST is half an hour: +10:30, +11 from October to April */
	check_local(lhi, utc(2026, 4, 4, 14, 59, 59), 2026, 4, 5, 1, 59, 59, 39600, 1);
	check_local(lhi, utc(2026, 4, 4, 15, 0, 0), 2026, 4, 5, 1, 30, 0, 37800, 0);
	check_local(lhi, utc(2026, 10, 3, 15, 29, 59), 2026, 10, 4, 1, 59, 59, 37800, 0);
	check_local(lhi, utc(2026, 10, 3, 15, 30, 0), 2026, 10, 4, 2, 30, 0, 39600, 1);
	/* April 5: 01:30-02:00 happens twice, so an hour of real time */
	CHECK(!hours_open(night, lhi, utc(2026, 4, 4, 14, 29, 0)));
	CHECK(hours_open(night, lhi, utc(2026, 4, 4, 14, 30, 0)));
	CHECK(hours_open(night, lhi, utc(2026, 4, 4, 15, 29, 0)));
	CHECK(!hours_open(night, lhi, utc(2026, 4, 4, 15, 30, 0)));
	/* October 4: 02:00-02:30 is skipped, 01:30-02:00 happens once */
	CHECK(hours_open(night, lhi, utc(2026, 10, 3, 15, 0, 0)));
	CHECK(hours_open(night, lhi, utc(2026, 10, 3, 15, 29, 0)));
	CHECK(!hours_open(night, lhi, utc(2026, 10, 3, 15, 30, 0)));

	check_local(u, utc(2026, 3, 8, 8, 0, 0), 2026, 3, 8, 8, 0, 0, 0, 0);
	tz_localtime(u, 0, &tm);
	CHECK_STR(tm.tm_zone, "UTC");
	CHECK_INT(tm.tm_wday, 4);
	CHECK_INT(tm.tm_yday, 0);
	hours_free(office);
	hours_free(night);
	tz_free(hcm);
	tz_free(lon);
	tz_free(lhi);
	tz_free(u);
}

/* Comparison with glibc, which is given TZ here only: the daemon never sets it. */

static void
glibc_zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void
glibc_reset(void)
{
	unsetenv("TZ");
	tzset();
}

static bool
same_tm(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec &&
	       a->tm_wday == b->tm_wday && a->tm_yday == b->tm_yday &&
	       a->tm_isdst == b->tm_isdst && a->tm_gmtoff == b->tm_gmtoff &&
	       strcmp(a->tm_zone, b->tm_zone) == 0;
}

static bool
same_state(const struct tm *a, const struct tm *b)
{
	return a->tm_isdst == b->tm_isdst && a->tm_gmtoff == b->tm_gmtoff &&
	       strcmp(a->tm_zone, b->tm_zone) == 0;
}

static void
print_tm(const char *who, const struct tm *tm)
{
	fprintf(stderr, "  %-5s %04d-%02d-%02d %02d:%02d:%02d wday %d yday %d isdst %d "
		"gmtoff %ld %s\n", who, tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
		tm->tm_hour, tm->tm_min, tm->tm_sec, tm->tm_wday, tm->tm_yday, tm->tm_isdst,
		tm->tm_gmtoff, tm->tm_zone);
}

/* Compares at t; reports the first few differences of a zone. */
static void
compare_at(const char *name, const struct tz *z, time_t t, int *diffs)
{
	struct tm ours, theirs;

	tz_localtime(z, t, &ours);
	localtime_r(&t, &theirs);
	if (same_tm(&ours, &theirs))
		return;
	if ((*diffs)++ < 3) {
		fprintf(stderr, "%s at %lld:\n", name, (long long)t);
		print_tm("ours", &ours);
		print_tm("glibc", &theirs);
	}
	check_failed = 1;
}

/* Samples every few days from 1901 to 2100; wherever glibc's offset changes between two
 * samples, also compares the second before and the second of the change. Returns the
 * number of changes seen. */
static int
sweep(const char *name, const struct tz *z, time_t from, time_t to)
{
	const time_t step = 5 * 86400 + 3593;
	struct tm prev, cur;
	int diffs = 0, changes = 0;

	localtime_r(&from, &prev);
	for (time_t t = from; t < to; t += step) {
		compare_at(name, z, t, &diffs);
		localtime_r(&t, &cur);
		if (!same_state(&prev, &cur)) {
			time_t lo = t - step, hi = t;

			while (hi - lo > 1) {
				time_t mid = lo + (hi - lo) / 2;
				struct tm m;

				localtime_r(&mid, &m);
				if (same_state(&m, &prev))
					lo = mid;
				else
					hi = mid;
			}
			compare_at(name, z, lo, &diffs);
			compare_at(name, z, hi, &diffs);
			changes++;
		}
		prev = cur;
	}
	return changes;
}

#define SWEEP_FROM ((time_t)INT32_MIN) /* 1901-12-13 */
#define SWEEP_TO ((time_t)4102444800)  /* 2100-01-01 */

static void
test_localtime_vs_glibc(void)
{
	static const char *const zones[] = {
		"UTC", "America/Chicago", "America/New_York", "America/Los_Angeles",
		"America/St_Johns", "America/Sao_Paulo", "America/Santiago", "America/Nuuk",
		"Europe/London", "Europe/Dublin", "Europe/Berlin", "Europe/Moscow",
		"Africa/Casablanca", "Asia/Ho_Chi_Minh", "Asia/Kolkata", "Asia/Kathmandu",
		"Asia/Tehran", "Asia/Tokyo", "Australia/Lord_Howe", "Australia/Adelaide",
		"Pacific/Auckland", "Pacific/Chatham", "Pacific/Kiritimati", "Antarctica/Troll",
	};

	for (size_t i = 0; i < ARRAY_LEN(zones); i++) {
		struct tz *z = zone(zones[i]);

		if (z == NULL)
			continue;
		glibc_zone(zones[i]);
		sweep(zones[i], z, SWEEP_FROM, SWEEP_TO);
		tz_free(z);
	}
	glibc_reset();
}

/* Zone files written for the test, in a directory given as TZDIR. */

static char tzdir[] = "/tmp/test_hours.XXXXXX";

struct buf {
	unsigned char b[4096];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (n > 0 && b->n + n <= sizeof(b->b))
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put_be(struct buf *b, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		put(b, &(unsigned char){(unsigned char)(v >> (8 * bytes))}, 1);
}

struct zone_spec {
	char version;
	size_t ntrans;
	const int64_t *trans;
	const uint8_t *idx;
	size_t ntypes;
	const int32_t *utoff;
	const uint8_t *isdst, *desig;
	const char *chars;
	size_t nchars, nleaps; /* leap-second records are all zero */
	const char *footer;    /* version 2 and later */
};

static void
put_block(struct buf *b, const struct zone_spec *z, int timesize)
{
	put(b, "TZif", 4);
	put(b, &z->version, 1);
	put(b, (char[15]){0}, 15);
	put_be(b, 0, 4); /* isutcnt */
	put_be(b, 0, 4); /* isstdcnt */
	put_be(b, z->nleaps, 4);
	put_be(b, z->ntrans, 4);
	put_be(b, z->ntypes, 4);
	put_be(b, z->nchars, 4);
	for (size_t i = 0; i < z->ntrans; i++)
		put_be(b, (uint64_t)z->trans[i], timesize);
	put(b, z->idx, z->ntrans);
	for (size_t i = 0; i < z->ntypes; i++) {
		put_be(b, (uint32_t)z->utoff[i], 4);
		put(b, &z->isdst[i], 1);
		put(b, &z->desig[i], 1);
	}
	put(b, z->chars, z->nchars);
	for (size_t i = 0; i < z->nleaps; i++)
		put(b, (char[12]){0}, (size_t)timesize + 4);
}

static void
encode(struct buf *b, const struct zone_spec *z)
{
	b->n = 0;
	if (z->version == '\0') {
		put_block(b, z, 4);
		return;
	}
	/* readers of version 2+ skip the first block: keep it empty */
	put_block(b, &(struct zone_spec){.version = z->version, .ntypes = 1, .utoff = z->utoff,
			     .isdst = z->isdst, .desig = z->desig, .chars = z->chars,
			     .nchars = z->nchars}, 4);
	put_block(b, z, 8);
	put(b, "\n", 1);
	put(b, z->footer, strlen(z->footer));
	put(b, "\n", 1);
}

static void
write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	CHECK(n <= sizeof(((struct buf *)0)->b));
	snprintf(path, sizeof(path), "%s/%s", tzdir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_INT(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void
write_zone(const char *name, const struct zone_spec *z)
{
	struct buf b;

	encode(&b, z);
	write_file(name, b.b, b.n);
}

static void
remove_zone(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tzdir, name);
	CHECK_INT(unlink(path), 0);
}

static void
tzdir_enter(void)
{
	CHECK(mkdtemp(tzdir) != NULL);
	setenv("TZDIR", tzdir, 1);
}

static void
tzdir_leave(void)
{
	unsetenv("TZDIR");
	CHECK_INT(rmdir(tzdir), 0);
	strcpy(tzdir, "/tmp/test_hours.XXXXXX");
}

/* A zone with no transitions, all from its footer. */
static void
write_rule_zone(const char *name, const char *footer)
{
	write_zone(name, &(struct zone_spec){.version = '3', .ntypes = 1,
				 .utoff = (int32_t[]){0}, .isdst = (uint8_t[]){0},
				 .desig = (uint8_t[]){0}, .chars = "UTC", .nchars = 4,
				 .footer = footer});
}

static void
test_tz_rules_vs_glibc(void)
{
	/* each of Jn, n and Mm.w.d, times with minutes, seconds, signs and past 24 hours,
	 * quoted names, both hemispheres, negative DST; none near New Year, where glibc
	 * looks at the UTC year alone. From 1970: glibc applies no rule before. */
	static const char *const rules[] = {
		"EST5EDT,M3.2.0,M11.1.0",
		"<+0330>-3:30<+0430>,J79/24,J263/24",
		"AAA3:15BBB2:15:30,J60/2:30,300/1:00:30",
		"AAA+5BBB4,59/2,J59",
		"<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
		"<-04>4<-03>,M9.1.6/24,M4.1.6/24",
		"<+13>-13<+14>,M9.5.0/3,M4.1.0/4",
		"IST-1GMT0,M10.5.0,M3.5.0/1",
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"AAA-5BBB,M2.5.6/100,M10.1.1/-100",
		"XXX-5:45",
		"<-0930>9:30",
	};
	char name[32];

	tzdir_enter();
	for (size_t i = 0; i < ARRAY_LEN(rules); i++) {
		struct tz *z;

		snprintf(name, sizeof(name), "rule%zu", i);
		write_rule_zone(name, rules[i]);
		if ((z = zone(name)) != NULL) {
			glibc_zone(rules[i]);
			/* zones with DST change in the sweep; those without do not */
			CHECK_INT(sweep(rules[i], z, 0, SWEEP_TO) > 0,
				strchr(rules[i], ',') != NULL);
			tz_free(z);
		}
		remove_zone(name);
	}
	glibc_reset();
	tzdir_leave();
}

static void
test_tz_rule_all_year_dst(void)
{
	struct tz *z;

	/* RFC 8536 3.3.1: DST all year when it ends at 24:00 + the DST offset on December 31
	 * and starts January 1 at 00:00. (glibc has standard time in the hours where the UTC
	 * year has turned and the local one has not.) */
	tzdir_enter();
	write_rule_zone("dst", "EST5EDT,0/0,J365/25");
	if ((z = zone("dst")) != NULL) {
		check_local(z, utc(2030, 1, 1, 0, 0, 0), 2029, 12, 31, 20, 0, 0, -14400, 1);
		check_local(z, utc(2030, 1, 1, 4, 59, 59), 2030, 1, 1, 0, 59, 59, -14400, 1);
		check_local(z, utc(2030, 1, 1, 5, 0, 0), 2030, 1, 1, 1, 0, 0, -14400, 1);
		check_local(z, utc(2030, 7, 1, 0, 0, 0), 2030, 6, 30, 20, 0, 0, -14400, 1);
		check_local(z, utc(1800, 1, 1, 3, 0, 0), 1799, 12, 31, 23, 0, 0, -14400, 1);
		tz_free(z);
	}
	remove_zone("dst");
	tzdir_leave();
}

static const int64_t v1_trans[] = {-1000000000, 1000000000, 1100000000};
static const uint8_t v1_idx[] = {1, 2, 1};

static const struct zone_spec v1_zone = {
	.version = '\0', .ntrans = 3, .trans = v1_trans, .idx = v1_idx,
	.ntypes = 3, .utoff = (const int32_t[]){-3600, 1800, 5400},
	.isdst = (const uint8_t[]){0, 0, 1}, .desig = (const uint8_t[]){0, 4, 8},
	.chars = "LMT\0AAA\0BBB", .nchars = 12,
};

static void
test_tzif_files(void)
{
	const struct zone_spec v2_zone = {
		.version = '2', .ntrans = 3, .trans = (const int64_t[]){-5000000000, 0, 1000000000},
		.idx = v1_idx, .ntypes = 3, .utoff = v1_zone.utoff, .isdst = v1_zone.isdst,
		.desig = v1_zone.desig, .chars = v1_zone.chars, .nchars = 12,
		.footer = "AAA-0:30BBB-1:30,M3.5.0,M10.5.0/3",
	};
	char path[256];
	struct tz *z;

	tzdir_enter();
	/* version 1: 32-bit times, no footer; type 0 before the first transition, the
	 * last transition's type after it */
	write_zone("v1", &v1_zone);
	if ((z = zone("v1")) != NULL) {
		check_local(z, -1000000001, 1938, 4, 24, 21, 13, 19, -3600, 0);
		check_local(z, -1000000000, 1938, 4, 24, 22, 43, 20, 1800, 0);
		check_local(z, 999999999, 2001, 9, 9, 2, 16, 39, 1800, 0);
		check_local(z, 1000000000, 2001, 9, 9, 3, 16, 40, 5400, 1);
		check_local(z, utc(2090, 1, 1, 0, 0, 0), 2090, 1, 1, 0, 30, 0, 1800, 0);
		snprintf(path, sizeof(path), "%s/v1", tzdir);
		glibc_zone(path);
		sweep("v1", z, SWEEP_FROM, SWEEP_TO);
		glibc_reset();
		tz_free(z);
	}
	remove_zone("v1");

	/* version 2: 64-bit times before 1901, then the footer after the last transition */
	write_zone("v2", &v2_zone);
	if ((z = zone("v2")) != NULL) {
		check_local(z, -5000000001, 1811, 7, 23, 14, 6, 39, -3600, 0);
		check_local(z, -5000000000, 1811, 7, 23, 15, 36, 40, 1800, 0);
		check_local(z, utc(2050, 3, 27, 1, 29, 59), 2050, 3, 27, 1, 59, 59, 1800, 0);
		check_local(z, utc(2050, 3, 27, 1, 30, 0), 2050, 3, 27, 3, 0, 0, 5400, 1);
		snprintf(path, sizeof(path), "%s/v2", tzdir);
		glibc_zone(path);
		sweep("v2", z, SWEEP_FROM, SWEEP_TO);
		glibc_reset();
		tz_free(z);
	}
	remove_zone("v2");
	tzdir_leave();
}

static void
test_tzif_bad(void)
{
	static const struct {
		const char *what, *err;
		size_t at;        /* byte to change, or where to cut when cut is set */
		unsigned char to; /* its new value */
		bool cut;
	} bad[] = {
		{"magic", "not a TZif file", 0, 'X', false},
		{"version", "unsupported TZif version", 4, '1', false},
		{"no types", "bad TZif header counts", 39, 0, false},
		{"truncated", "truncated TZif data", 120, 0, true},
		{"NUL in footer", "bad TZ string in footer", 145, 0, false},
		{"empty", "not a TZif file", 0, 0, true},
	};
	const struct zone_spec good = {
		.version = '2', .ntrans = 2, .trans = (const int64_t[]){0, 1000},
		.idx = (const uint8_t[]){1, 0}, .ntypes = 2, .utoff = (const int32_t[]){0, 3600},
		.isdst = (const uint8_t[]){0, 1}, .desig = (const uint8_t[]){0, 4},
		.chars = "AAA\0BBB", .nchars = 8, .footer = "AAA0BBB,M3.5.0,M10.5.0",
	};
	/* variants of the good file, each broken in one place */
	const struct {
		const char *err;
		struct zone_spec z;
	} broken[] = {
		{"bad transition",
			{.version = '2', .ntrans = 2, .trans = (const int64_t[]){1000, 1000},
				.idx = good.idx, .ntypes = 2, .utoff = good.utoff,
				.isdst = good.isdst, .desig = good.desig, .chars = good.chars,
				.nchars = 8, .footer = good.footer}},
		{"bad transition",
			{.version = '2', .ntrans = 2, .trans = good.trans,
				.idx = (const uint8_t[]){0, 2}, .ntypes = 2, .utoff = good.utoff,
				.isdst = good.isdst, .desig = good.desig, .chars = good.chars,
				.nchars = 8, .footer = good.footer}},
		{"bad local time type",
			{.version = '2', .ntrans = 2, .trans = good.trans, .idx = good.idx,
				.ntypes = 2, .utoff = good.utoff, .isdst = (const uint8_t[]){0, 2},
				.desig = good.desig, .chars = good.chars, .nchars = 8,
				.footer = good.footer}},
		{"bad local time type",
			{.version = '2', .ntrans = 2, .trans = good.trans, .idx = good.idx,
				.ntypes = 2, .utoff = good.utoff, .isdst = good.isdst,
				.desig = (const uint8_t[]){0, 8}, .chars = good.chars, .nchars = 8,
				.footer = good.footer}},
		{"unterminated time zone designation",
			{.version = '2', .ntrans = 2, .trans = good.trans, .idx = good.idx,
				.ntypes = 2, .utoff = good.utoff, .isdst = good.isdst,
				.desig = good.desig, .chars = good.chars, .nchars = 7,
				.footer = good.footer}},
		{"bad TZ string in footer",
			{.version = '2', .ntrans = 2, .trans = good.trans, .idx = good.idx,
				.ntypes = 2, .utoff = good.utoff, .isdst = good.isdst,
				.desig = good.desig, .chars = good.chars, .nchars = 8,
				.footer = "AAA0BBB"}},
		{"leap-second zones are not supported",
			{.version = '2', .ntrans = 2, .trans = good.trans, .idx = good.idx,
				.ntypes = 2, .utoff = good.utoff, .isdst = good.isdst,
				.desig = good.desig, .chars = good.chars, .nchars = 8, .nleaps = 1,
				.footer = good.footer}},
	};
	static const char *const bad_footers[] = {
		"AA0", "AAA", "AAA25", "<A+>0", "AAA0BBB,M13.1.0,M10.5.0", "AAA0BBB,M3.6.0,M10.5.0",
		"AAA0BBB,M3.5.7,M10.5.0", "AAA0BBB,J0,J365", "AAA0BBB,0,366", "AAA0BBB,0/168,300",
		"AAA0BBB,0/1:60,300", "AAA0BBB,0,300,", "AAA0BBB,0;300", "AAA0 ",
	};
	char err[256], want[256];
	struct buf b;
	struct tz *z;

	tzdir_enter();
	encode(&b, &good);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct buf copy = b;

		if (bad[i].cut)
			copy.n = bad[i].at;
		else
			copy.b[bad[i].at] = bad[i].to;
		write_file("bad", copy.b, copy.n);
		z = (struct tz *)1;
		CHECK_INT(tz_load(&z, "bad", err, sizeof(err)), ENOENT);
		CHECK(z == NULL);
		snprintf(want, sizeof(want), "zone \"bad\": %s/bad: %s", tzdir, bad[i].err);
		if (strcmp(err, want) != 0)
			fprintf(stderr, "%s:\n", bad[i].what);
		CHECK_STR(err, want);
	}
	/* a footer must close with a newline and end the file */
	for (int extra = 0; extra < 2; extra++) {
		struct buf copy = b;

		if (extra)
			put(&copy, "x", 1);
		else
			copy.n--;
		write_file("bad", copy.b, copy.n);
		CHECK_INT(tz_load(&z, "bad", err, sizeof(err)), ENOENT);
		snprintf(want, sizeof(want), "zone \"bad\": %s/bad: bad TZif footer", tzdir);
		CHECK_STR(err, want);
	}
	for (size_t i = 0; i < ARRAY_LEN(broken); i++) {
		write_zone("bad", &broken[i].z);
		CHECK_INT(tz_load(&z, "bad", err, sizeof(err)), ENOENT);
		snprintf(want, sizeof(want), "zone \"bad\": %s/bad: %s", tzdir, broken[i].err);
		CHECK_STR(err, want);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_footers); i++) {
		struct zone_spec s = good;

		s.footer = bad_footers[i];
		write_zone("bad", &s);
		CHECK_INT(tz_load(&z, "bad", err, sizeof(err)), ENOENT);
		snprintf(want, sizeof(want), "zone \"bad\": %s/bad: bad TZ string in footer",
			tzdir);
		if (strcmp(err, want) != 0)
			fprintf(stderr, "footer \"%s\":\n", bad_footers[i]);
		CHECK_STR(err, want);
	}
	/* the good file loads: the breakage above is all that failed */
	write_zone("bad", &good);
	CHECK_INT(tz_load(&z, "bad", err, sizeof(err)), 0);
	tz_free(z);
	remove_zone("bad");
	tzdir_leave();
}

static void
test_zone_names(void)
{
	static const char *const invalid[] = {
		"", "/etc/localtime", "../etc/passwd", "America/../../etc/passwd",
		"America/Chi cago", "UTC\n", "Europe/Lon.don", "America\\Chicago",
	};
	char err[512], want[512];
	struct tz *z;

	for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
		z = (struct tz *)1;
		CHECK_INT(tz_load(&z, invalid[i], err, sizeof(err)), EINVAL);
		CHECK(z == NULL);
		snprintf(want, sizeof(want), "zone \"%s\": invalid name (letters, digits and "
			"\"_+-/\" only, not starting with \"/\")", invalid[i]);
		CHECK_STR(err, want);
	}
	/* plus and minus are in real names */
	z = zone("Etc/GMT+5");
	if (z != NULL) {
		check_local(z, 0, 1969, 12, 31, 19, 0, 0, -18000, 0);
		tz_free(z);
	}

	CHECK_INT(tz_load(&z, "Mars/Olympus_Mons", err, sizeof(err)), ENOENT);
	CHECK(z == NULL);
	CHECK_STR(err, "zone \"Mars/Olympus_Mons\": /usr/share/zoneinfo/Mars/Olympus_Mons: "
		"No such file or directory");
	CHECK_INT(tz_load(&z, "UTC/x", err, sizeof(err)), ENOENT);
	CHECK_INT(tz_load(&z, "America", err, sizeof(err)), ENOENT);
	CHECK_STR(err, "zone \"America\": /usr/share/zoneinfo/America: not a zone file");

	/* an empty zone directory still has UTC, and nothing else */
	tzdir_enter();
	z = zone("UTC");
	if (z != NULL) {
		struct tm tm;

		check_local(z, utc(2026, 3, 8, 8, 0, 0), 2026, 3, 8, 8, 0, 0, 0, 0);
		tz_localtime(z, utc(2026, 3, 8, 8, 0, 0), &tm);
		CHECK_STR(tm.tm_zone, "UTC");
		tz_free(z);
	}
	CHECK_INT(tz_load(&z, "America/Chicago", err, sizeof(err)), ENOENT);
	snprintf(want, sizeof(want), "zone \"America/Chicago\": %s/America/Chicago: "
		"No such file or directory", tzdir);
	CHECK_STR(err, want);
	tzdir_leave();
}

static void
test_extreme_times(void)
{
	struct tz *z = zone("America/Chicago");
	struct tm tm;

	/* far outside any table: the footer rule, no overflow (UBSan watches) */
	tz_localtime(z, (time_t)1 << 50, &tm);
	CHECK(tm.tm_mday >= 1 && tm.tm_mday <= 31);
	tz_localtime(z, -((time_t)1 << 50), &tm);
	CHECK_INT(tm.tm_gmtoff, -21036); /* local mean time */
	tz_localtime(z, INT64_MAX, &tm);
	tz_localtime(z, INT64_MIN, &tm);
	tz_free(z);
}

static void
holidays(struct hours *h, const char *const *days, size_t n)
{
	char err[256] = "";

	if (hours_set_holidays(h, days, n, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_STR(err, "");
}

#define HOLIDAYS(h, ...) holidays(h, (const char *const[]){__VA_ARGS__}, \
	ARRAY_LEN(((const char *[]){__VA_ARGS__})))

static void
test_holidays(void)
{
	struct hours *h = HOURS("always");
	struct tz *z = zone("UTC");

	CHECK(hours_always(h));
	HOLIDAYS(h, "2026-12-25", "01-01", "2026-11-26");
	CHECK(!hours_always(h));
	/* a dated holiday: that day only, all day */
	CHECK(hours_open(h, z, utc(2026, 12, 24, 23, 59, 59)));
	CHECK(!hours_open(h, z, utc(2026, 12, 25, 0, 0, 0)));
	CHECK(!hours_open(h, z, utc(2026, 12, 25, 23, 59, 59)));
	CHECK(hours_open(h, z, utc(2026, 12, 26, 0, 0, 0)));
	CHECK(hours_open(h, z, utc(2027, 12, 25, 12, 0, 0)));
	CHECK(!hours_open(h, z, utc(2026, 11, 26, 12, 0, 0)));
	CHECK(hours_open(h, z, utc(2025, 11, 26, 12, 0, 0)));
	/* a yearly one: every year */
	CHECK(!hours_open(h, z, utc(2026, 1, 1, 8, 0, 0)));
	CHECK(!hours_open(h, z, utc(2031, 1, 1, 8, 0, 0)));
	CHECK(hours_holiday(h, z, utc(2031, 1, 1, 8, 0, 0)));
	CHECK(!hours_holiday(h, z, utc(2031, 1, 2, 8, 0, 0)));
	/* a new list replaces the old */
	HOLIDAYS(h, "07-04");
	CHECK(hours_open(h, z, utc(2026, 12, 25, 12, 0, 0)));
	CHECK(!hours_open(h, z, utc(2026, 7, 4, 12, 0, 0)));
	holidays(h, NULL, 0);
	CHECK(hours_always(h));
	hours_free(h);
	tz_free(z);
}

static void
test_holiday_leap_day(void)
{
	struct hours *h = HOURS("mon-sun 00:00-24:00");
	struct tz *z = zone("UTC");

	HOLIDAYS(h, "02-29", "2028-02-29");
	CHECK(!hours_open(h, z, utc(2028, 2, 29, 10, 0, 0)));
	CHECK(!hours_open(h, z, utc(2032, 2, 29, 10, 0, 0)));
	/* not a leap year: the day does not exist, the days around it stay open */
	CHECK(hours_open(h, z, utc(2027, 2, 28, 10, 0, 0)));
	CHECK(hours_open(h, z, utc(2027, 3, 1, 10, 0, 0)));
	hours_free(h);
	tz_free(z);
}

static void
test_holiday_errors(void)
{
	static const struct {
		const char *day, *err;
	} bad[] = {
		{"2026-02-29", "holiday 1 \"2026-02-29\": February 2026 has 28 days"},
		{"2100-02-29", "holiday 1 \"2100-02-29\": February 2100 has 28 days"},
		{"02-30", "holiday 1 \"02-30\": February has 29 days"},
		{"04-31", "holiday 1 \"04-31\": April has 30 days"},
		{"2026-13-01", "holiday 1 \"2026-13-01\": no month 13"},
		{"00-10", "holiday 1 \"00-10\": no month 00"},
		{"12-00", "holiday 1 \"12-00\": no day 00"},
		{"1969-12-31", "holiday 1 \"1969-12-31\": year 1969 is before 1970"},
		{"2026/12/25", "holiday 1 \"2026/12/25\": expected \"YYYY-MM-DD\" (one date) "
			"or \"MM-DD\" (every year)"},
		{"12-25 ", "holiday 1 \"12-25 \": expected \"YYYY-MM-DD\" (one date) "
			"or \"MM-DD\" (every year)"},
		{"2026-1-5", "holiday 1 \"2026-1-5\": expected \"YYYY-MM-DD\" (one date) "
			"or \"MM-DD\" (every year)"},
		{"", "holiday 1 \"\": expected \"YYYY-MM-DD\" (one date) or \"MM-DD\" "
			"(every year)"},
		{"christmas", "holiday 1 \"christmas\": expected \"YYYY-MM-DD\" (one date) "
			"or \"MM-DD\" (every year)"},
	};
	struct hours *h = HOURS("always");
	struct tz *z = zone("UTC");
	char err[256];

	HOLIDAYS(h, "12-25");
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		CHECK_INT(hours_set_holidays(h, &bad[i].day, 1, err, sizeof(err)), EINVAL);
		CHECK_STR(err, bad[i].err);
	}
	/* the index names the bad entry; the list in effect is untouched */
	{
		const char *days[] = {"01-01", "2026-12-25", "2026-02-30"};
		CHECK_INT(hours_set_holidays(h, days, 3, err, sizeof(err)), EINVAL);
		CHECK_STR(err, "holiday 3 \"2026-02-30\": February 2026 has 28 days");
	}
	CHECK(!hours_open(h, z, utc(2026, 12, 25, 12, 0, 0)));
	CHECK(hours_open(h, z, utc(2026, 1, 1, 12, 0, 0)));
	hours_free(h);
	tz_free(z);
}

static void
test_holiday_zones(void)
{
	struct hours *h = HOURS("always");
	struct tz *hcm = zone("Asia/Ho_Chi_Minh"), *chi = zone("America/Chicago");

	HOLIDAYS(h, "12-25", "2026-09-02");
	/* 17:00 UTC on the 24th is already midnight of the 25th in Ho Chi Minh City (UTC+7) */
	CHECK(hours_open(h, hcm, utc(2026, 12, 24, 16, 59, 59)));
	CHECK(!hours_open(h, hcm, utc(2026, 12, 24, 17, 0, 0)));
	CHECK(!hours_open(h, hcm, utc(2026, 12, 25, 16, 59, 59)));
	CHECK(hours_open(h, hcm, utc(2026, 12, 25, 17, 0, 0)));
	/* and Chicago (UTC-6 in December) is still on the 25th at 01:00 UTC on the 26th */
	CHECK(hours_open(h, chi, utc(2026, 12, 25, 5, 59, 59)));
	CHECK(!hours_open(h, chi, utc(2026, 12, 25, 6, 0, 0)));
	CHECK(!hours_open(h, chi, utc(2026, 12, 26, 1, 0, 0)));
	CHECK(hours_open(h, chi, utc(2026, 12, 26, 6, 0, 0)));
	/* a dated holiday too, in summer time in Chicago (UTC-5) */
	CHECK(!hours_open(h, hcm, utc(2026, 9, 1, 17, 0, 0)));
	CHECK(hours_open(h, chi, utc(2026, 9, 2, 4, 59, 0)));
	CHECK(!hours_open(h, chi, utc(2026, 9, 2, 5, 0, 0)));
	hours_free(h);
	tz_free(hcm);
	tz_free(chi);
}

/* The next opening: now when open; else the first open minute, across a weekend, a DST
 * change and a holiday; -1 for never or beyond the horizon. */
static void
test_next_open(void)
{
	struct hours *h = HOURS("mon-fri 08:00-18:00"), *never = HOURS("never");
	struct tz *z = zone("America/Chicago");
	char err[128];
	const time_t day14 = 14 * 86400;

	if (h == NULL || never == NULL || z == NULL)
		goto out;
	/* Friday 2024-03-08 17:59:30 CST: open now */
	CHECK_INT(hours_next_open(h, z, utc(2024, 3, 8, 23, 59, 30), day14),
		utc(2024, 3, 8, 23, 59, 30));
	/* Friday 19:00:10 CST: Monday 08:00, CDT from Sunday 2024-03-10 */
	CHECK_INT(hours_next_open(h, z, utc(2024, 3, 9, 1, 0, 10), day14),
		utc(2024, 3, 11, 13, 0, 0));
	CHECK_INT(hours_next_open(h, z, utc(2024, 3, 9, 1, 0, 10), 86400), -1);
	CHECK_INT(hours_set_holidays(h, (const char *[]){"2024-03-11"}, 1, err, sizeof(err)), 0);
	CHECK_INT(hours_next_open(h, z, utc(2024, 3, 9, 1, 0, 10), day14),
		utc(2024, 3, 12, 13, 0, 0));
	CHECK_INT(hours_next_open(never, z, utc(2024, 3, 9, 1, 0, 10), day14), -1);
out:
	hours_free(h);
	hours_free(never);
	tz_free(z);
}

CHECK_MAIN(T(test_parse_errors), T(test_parse_days_and_times), T(test_past_midnight),
	T(test_always_never), T(test_chicago), T(test_other_zones), T(test_localtime_vs_glibc),
	T(test_tz_rules_vs_glibc), T(test_tz_rule_all_year_dst), T(test_tzif_files),
	T(test_tzif_bad), T(test_zone_names), T(test_extreme_times), T(test_holidays),
	T(test_holiday_leap_day), T(test_holiday_errors), T(test_holiday_zones),
	T(test_next_open))
