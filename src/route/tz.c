/* Time zones read from TZif files (RFC 8536) and evaluated per zone: the daemon serves
 * departments in many zones at once, so the process-wide TZ is never touched. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/hours.h"

#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
/* Real zone files are a few KiB; the cap only bounds what a bad file makes us read. */
#define TZ_FILE_MAX (1024 * 1024)
#define TZ_NAME_MAX 255
/* POSIX wants at least 3 characters in a designation; zic writes at most 6 */
#define TZ_ABBR_MAX 15
#define TZ_FOOTER_MAX 255
#define TZIF_HEADER_LEN 44

#define SECS_PER_DAY 86400
/* 400 Gregorian years are exactly 20871 weeks: dates and weekdays repeat */
#define DAYS_PER_400Y 146097

struct tz_type {
	int32_t utoff;
	bool isdst;
	const char *abbr;
};

/* A change date of a POSIX TZ rule: Jn, n or Mm.w.d, then the local time of the change. */
struct tz_date {
	char form; /* 'J', 'n' or 'M' */
	int day;   /* J: 1-365, February 29 never counted; n: 0-365 */
	int mon, week, wday;
	int32_t secs;
};

struct tz_rule {
	struct tz_type std, dst;
	bool has_dst;
	struct tz_date start, end;
	char std_abbr[TZ_ABBR_MAX + 1], dst_abbr[TZ_ABBR_MAX + 1];
};

struct tz {
	uint32_t ntrans, ntypes;
	uint8_t *trans_type;
	struct tz_type *types;
	char *abbrs;
	bool has_rule;
	struct tz_rule rule;
	int64_t trans[]; /* then types, trans_type and abbrs, in the same allocation */
};

static const int month_start[2][13] = {
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
};

/* Division rounding toward minus infinity, b > 0. */
static int64_t
fdiv(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Days from 1970-01-01 to January 1st of year y, proleptic Gregorian. */
static int64_t
days_to_year(int64_t y)
{
	int64_t p = y - 1;

	/* 477 leap years from year 1 to 1969 */
	return 365 * (y - 1970) + fdiv(p, 4) - fdiv(p, 100) + fdiv(p, 400) - 477;
}

/* The year holding a day counted from 1970-01-01, and the day's index in that year. */
static int64_t
year_of(int64_t days, int64_t *yday)
{
	int64_t y = 1970 + fdiv(days * 400, DAYS_PER_400Y);

	/* the estimate is off by a year at most */
	while (days_to_year(y) > days)
		y--;
	while (days_to_year(y + 1) <= days)
		y++;
	*yday = days - days_to_year(y);
	return y;
}

/* Splits t into days since the epoch and seconds into the day, without overflow even
 * at the ends of time_t. */
static int64_t
split_day(int64_t t, int64_t *secs)
{
	int64_t days = t / SECS_PER_DAY;

	*secs = t % SECS_PER_DAY;
	if (*secs < 0) {
		*secs += SECS_PER_DAY;
		days--;
	}
	return days;
}

/* When a rule date falls in year y, in local seconds since the epoch. */
static int64_t
change_at(const struct tz_date *d, int64_t y)
{
	int leap = is_leap(y);
	int64_t day = days_to_year(y);

	switch (d->form) {
	case 'J':
		day += d->day - 1 + (leap && d->day >= 60);
		break;
	case 'n':
		day += d->day;
		break;
	default: {
		/* weekday wday of week `week` of the month, week 5 being the last */
		int first = month_start[leap][d->mon - 1];
		int mdays = month_start[leap][d->mon] - first;
		int wd = (int)(((day + first + 4) % 7 + 7) % 7); /* 1970-01-01: Thursday */
		int mday = (d->wday - wd + 7) % 7 + (d->week - 1) * 7;

		if (mday >= mdays)
			mday -= 7;
		day += first + mday;
	}
	}
	return day * SECS_PER_DAY + d->secs;
}

/* POSIX: a change happens at a local time counted in the time it ends, so DST starts in
 * standard time and ends in DST. */
static const struct tz_type *
rule_type_at(const struct tz_rule *r, int64_t t)
{
	const int64_t cycle = (int64_t)DAYS_PER_400Y * SECS_PER_DAY;
	const struct tz_type *type = &r->std;
	int64_t at = INT64_MIN, y, yday;

	if (!r->has_dst)
		return &r->std;
	/* evaluated in 1970-2369, the same in the 400-year cycle and far from overflow */
	t %= cycle;
	if (t < 0)
		t += cycle;
	y = year_of(t / SECS_PER_DAY, &yday);
	/* The latest change at or before t. One year's end may meet the next one's start
	 * (DST all year, RFC 8536 3.3.1): the later year wins the tie. */
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		int64_t start = change_at(&r->start, yy) - r->std.utoff;
		int64_t end = change_at(&r->end, yy) - r->dst.utoff;

		if (start <= t && start >= at) {
			at = start;
			type = &r->dst;
		}
		if (end <= t && end >= at) {
			at = end;
			type = &r->std;
		}
	}
	return type;
}

static const struct tz_type *
type_at(const struct tz *z, int64_t t)
{
	uint32_t lo, hi;

	/* RFC 8536 3.3: the footer rules where no transition does */
	if (z->ntrans == 0)
		return z->has_rule ? rule_type_at(&z->rule, t) : &z->types[0];
	if (t < z->trans[0])
		return &z->types[0];
	if (t > z->trans[z->ntrans - 1] && z->has_rule)
		return rule_type_at(&z->rule, t);
	/* the last transition at or before t */
	lo = 0;
	hi = z->ntrans - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &z->types[z->trans_type[lo]];
}

/* tm_zone points into z. Years beyond int (t past 2^55 or so) wrap in tm_year; no caller
 * comes near. */
void
tz_localtime(const struct tz *z, time_t t, struct tm *out)
{
	const struct tz_type *type = type_at(z, t);
	int64_t secs, yday, y, days = split_day(t, &secs);
	int mon = 0;

	/* the offset moves the day by one at most */
	secs += type->utoff;
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	} else if (secs >= SECS_PER_DAY) {
		secs -= SECS_PER_DAY;
		days++;
	}
	y = year_of(days, &yday);
	while (yday >= month_start[is_leap(y)][mon + 1])
		mon++;

	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = mon;
	out->tm_mday = (int)(yday - month_start[is_leap(y)][mon]) + 1;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01: Thursday */
	out->tm_yday = (int)yday;
	out->tm_isdst = type->isdst;
	out->tm_gmtoff = type->utoff;
	out->tm_zone = type->abbr;
}

/* The POSIX TZ string of the footer (POSIX 8.3 with RFC 8536 3.3.1's extensions). */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* 1 to maxdigits decimal digits. */
static bool
parse_num(const char **sp, int maxdigits, int *v)
{
	const char *s = *sp;
	int n = 0;

	*v = 0;
	while (n < maxdigits && is_digit(s[n]))
		*v = *v * 10 + (s[n++] - '0');
	*sp = s + n;
	return n > 0;
}

/* "EST", or quoted "<+0530>" */
static bool
parse_abbr(const char **sp, char *abbr)
{
	const char *s = *sp;
	size_t n = 0;

	if (*s == '<') {
		s++;
		while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '+' || s[n] == '-')
			n++;
		if (s[n] != '>')
			return false;
		*sp = s + n + 1;
	} else {
		while (is_alpha(s[n]))
			n++;
		*sp = s + n;
	}
	if (n < 3 || n > TZ_ABBR_MAX)
		return false;
	memcpy(abbr, s, n);
	abbr[n] = '\0';
	return true;
}

/* [+-]hh[:mm[:ss]]: offsets take hours 0-24 (POSIX), change times -167 to 167 (RFC 8536
 * 3.3.1). */
static bool
parse_hms(const char **sp, int max_hours, int32_t *secs)
{
	const char *s = *sp;
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!parse_num(&s, 3, &h) || h > max_hours)
		return false;
	if (*s == ':') {
		s++;
		if (!parse_num(&s, 2, &m) || m > 59)
			return false;
		if (*s == ':') {
			s++;
			if (!parse_num(&s, 2, &sec) || sec > 59)
				return false;
		}
	}
	*sp = s;
	*secs = sign * (h * 3600 + m * 60 + sec);
	return true;
}

static bool
parse_date(const char **sp, struct tz_date *d)
{
	const char *s = *sp;

	d->form = *s;
	if (*s == 'J') {
		s++;
		if (!parse_num(&s, 3, &d->day) || d->day < 1 || d->day > 365)
			return false;
	} else if (*s == 'M') {
		s++;
		if (!parse_num(&s, 2, &d->mon) || d->mon < 1 || d->mon > 12 || *s++ != '.' ||
		    !parse_num(&s, 1, &d->week) || d->week < 1 || d->week > 5 || *s++ != '.' ||
		    !parse_num(&s, 1, &d->wday) || d->wday > 6)
			return false;
	} else {
		d->form = 'n';
		if (!parse_num(&s, 3, &d->day) || d->day > 365)
			return false;
	}
	/* POSIX: 02:00:00 when no time is given */
	d->secs = 7200;
	if (*s == '/') {
		s++;
		if (!parse_hms(&s, 167, &d->secs))
			return false;
	}
	*sp = s;
	return true;
}

static bool
parse_rule(struct tz_rule *r, const char *s)
{
	int32_t off;

	if (!parse_abbr(&s, r->std_abbr) || !parse_hms(&s, 24, &off))
		return false;
	/* POSIX offsets count west of Greenwich */
	r->std = (struct tz_type){.utoff = -off, .isdst = false, .abbr = r->std_abbr};
	if (*s == '\0')
		return true;
	if (!parse_abbr(&s, r->dst_abbr))
		return false;
	/* POSIX: DST is an hour ahead unless its offset is given */
	off -= 3600;
	if (*s != ',' && !parse_hms(&s, 24, &off))
		return false;
	r->dst = (struct tz_type){.utoff = -off, .isdst = true, .abbr = r->dst_abbr};
	r->has_dst = true;
	/* a footer must say when DST applies: no rule means no implementation default */
	if (*s != ',')
		return false;
	s++;
	if (!parse_date(&s, &r->start) || *s != ',')
		return false;
	s++;
	return parse_date(&s, &r->end) && *s == '\0';
}

/* TZif files (RFC 8536 3) */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *
take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

struct tzif_block {
	const uint8_t *times, *idx, *types, *chars;
};

static int
read_header(struct tzif_header *h, struct cursor *c, const char **why)
{
	const uint8_t *p = take(c, TZIF_HEADER_LEN);

	if (p == NULL || memcmp(p, "TZif", 4) != 0) {
		*why = "not a TZif file";
		return ENOENT;
	}
	/* RFC 8536 3.1; version 4 (RFC 9636) only changes leap-second tables */
	h->version = (char)p[4];
	if (h->version != '\0' && (h->version < '2' || h->version > '4')) {
		*why = "unsupported TZif version";
		return ENOENT;
	}
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
		*why = "bad TZif header counts";
		return ENOENT;
	}
	return 0;
}

/* Locates the sections of a data block whose times are timesize bytes wide. */
static int
read_block(struct tzif_block *b, struct cursor *c, const struct tzif_header *h,
	size_t timesize, const char **why)
{
	b->times = take(c, (size_t)h->timecnt * timesize);
	b->idx = take(c, h->timecnt);
	b->types = take(c, (size_t)h->typecnt * 6);
	b->chars = take(c, h->charcnt);
	if (b->times == NULL || b->idx == NULL || b->types == NULL || b->chars == NULL ||
	    take(c, (size_t)h->leapcnt * (timesize + 4)) == NULL ||
	    take(c, h->isstdcnt) == NULL || take(c, h->isutcnt) == NULL) {
		*why = "truncated TZif data";
		return ENOENT;
	}
	return 0;
}

static int
tz_alloc(struct tz **zp, uint32_t ntrans, uint32_t ntypes, uint32_t nchars)
{
	struct tz *z;

	z = calloc(1, sizeof(*z) + ntrans * sizeof(int64_t) + ntypes * sizeof(struct tz_type) +
		ntrans + nchars);
	if (z == NULL)
		return ENOMEM;
	z->ntrans = ntrans;
	z->ntypes = ntypes;
	z->types = (struct tz_type *)(z->trans + ntrans);
	z->trans_type = (uint8_t *)(z->types + ntypes);
	z->abbrs = (char *)(z->trans_type + ntrans);
	*zp = z;
	return 0;
}

static int
tz_parse(struct tz **zp, const uint8_t *buf, size_t len, const char **why)
{
	struct cursor c = {buf, len};
	struct tzif_header h;
	struct tzif_block b;
	struct tz *z = NULL;
	size_t timesize = 4;
	const uint8_t *nl;
	char footer[TZ_FOOTER_MAX + 1];
	int rc;

	if ((rc = read_header(&h, &c, why)) != 0)
		goto out;
	if (h.version != '\0') {
		/* RFC 8536 4: skip the version 1 block, use the 64-bit one */
		if ((rc = read_block(&b, &c, &h, 4, why)) != 0 ||
		    (rc = read_header(&h, &c, why)) != 0)
			goto out;
		timesize = 8;
	}
	if ((rc = read_block(&b, &c, &h, timesize, why)) != 0)
		goto out;
	rc = ENOENT;
	/* tz_localtime knows nothing of leap seconds ("right/" zones) */
	if (h.leapcnt != 0) {
		*why = "leap-second zones are not supported";
		goto out;
	}
	if (b.chars[h.charcnt - 1] != '\0') {
		*why = "unterminated time zone designation";
		goto out;
	}
	if ((rc = tz_alloc(&z, h.timecnt, h.typecnt, h.charcnt)) != 0)
		goto out;
	rc = ENOENT;
	memcpy(z->abbrs, b.chars, h.charcnt);
	for (uint32_t i = 0; i < h.typecnt; i++) {
		const uint8_t *p = b.types + 6 * i;
		int32_t utoff = (int32_t)be32(p);

		/* RFC 8536 3.2: -2^31 is not a valid offset */
		if (utoff == INT32_MIN || p[4] > 1 || p[5] >= h.charcnt) {
			*why = "bad local time type";
			goto out;
		}
		z->types[i] = (struct tz_type){
			.utoff = utoff, .isdst = p[4], .abbr = z->abbrs + p[5]};
	}
	for (uint32_t i = 0; i < h.timecnt; i++) {
		z->trans[i] = timesize == 8 ? be64(b.times + 8 * i) :
					      (int32_t)be32(b.times + 4 * i);
		z->trans_type[i] = b.idx[i];
		if (b.idx[i] >= h.typecnt || (i > 0 && z->trans[i] <= z->trans[i - 1])) {
			*why = "bad transition";
			goto out;
		}
	}
	if (h.version != '\0') {
		/* RFC 8536 3.3: "\n" TZ string "\n", and nothing after */
		nl = c.left > 0 ? memchr(c.p + 1, '\n', c.left - 1) : NULL;
		if (nl == NULL || c.p[0] != '\n' || nl + 1 != c.p + c.left ||
		    (size_t)(nl - c.p - 1) > TZ_FOOTER_MAX) {
			*why = "bad TZif footer";
			goto out;
		}
		memcpy(footer, c.p + 1, (size_t)(nl - c.p - 1));
		footer[nl - c.p - 1] = '\0';
		z->has_rule = footer[0] != '\0';
		/* a NUL inside would hide the rest of the string */
		if (z->has_rule &&
		    (strlen(footer) != (size_t)(nl - c.p - 1) || !parse_rule(&z->rule, footer))) {
			*why = "bad TZ string in footer";
			goto out;
		}
	} else if (c.left != 0) {
		*why = "trailing data after TZif block";
		goto out;
	}
	*zp = z;
	z = NULL;
	rc = 0;
out:
	free(z);
	return rc;
}

/* "UTC" works without the zone files, as in a minimal container. */
static int
tz_utc(struct tz **zp)
{
	int rc;

	if ((rc = tz_alloc(zp, 0, 1, sizeof("UTC"))) != 0)
		return rc;
	memcpy((*zp)->abbrs, "UTC", sizeof("UTC"));
	(*zp)->types[0] = (struct tz_type){.utoff = 0, .isdst = false, .abbr = (*zp)->abbrs};
	return 0;
}

/* Names resolve under the zone directory: no absolute path, and "." is outside the allowed
 * set, so no ".." can climb out of it. */
static bool
name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!is_alpha(ch) && !is_digit(ch) && strchr("_+-/", ch) == NULL)
			return false;
	}
	return true;
}

static int
read_file(uint8_t **bufp, size_t *lenp, const char *path, const char **why)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOTDIR ? ENOENT : errno;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
		*why = "not a zone file";
		rc = ENOENT;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = ENOMEM;
		goto out;
	}
	/* one byte more than fstat said, to notice a file that grew */
	while (len <= (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)st.st_size) {
		*why = "zone file changed while read";
		rc = ENOENT;
		goto out;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
tz_load(struct tz **zp, const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR"), *why = NULL;
	struct tz *z = NULL;
	uint8_t *buf = NULL;
	char *path = NULL;
	size_t len = 0;
	int rc;

	*zp = NULL;
	if (!name_valid(name)) {
		snprintf(err, errlen, "zone \"%s\": invalid name (letters, digits and \"_+-/\" "
			"only, not starting with \"/\")", name);
		return EINVAL;
	}
	/* as glibc does with an empty TZDIR */
	if (dir == NULL || *dir == '\0')
		dir = TZ_DIR_DEFAULT;
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		rc = ENOMEM;
		goto out;
	}
	rc = read_file(&buf, &len, path, &why);
	if (rc == ENOENT && why == NULL && strcmp(name, "UTC") == 0)
		rc = tz_utc(&z);
	else if (rc == 0)
		rc = tz_parse(&z, buf, len, &why);
	if (rc != 0)
		goto out;
	*zp = z;
out:
	if (rc != 0)
		snprintf(err, errlen, "zone \"%s\": %s: %s", name, path != NULL ? path : dir,
			why != NULL ? why : strerror(rc));
	free(buf);
	free(path);
	return rc;
}

void
tz_free(struct tz *z)
{
	free(z);
}
