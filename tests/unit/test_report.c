/* The report library's arguments (one name for ivrctl's --NAME and the API's NAME=), its
 * times, number masking, and the nested JSON cell of output.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ivr/report.h"
#include "../../src/report/report_int.h" /* report_describe */

#define NOW INT64_C(1714557600000) /* 2024-05-01 10:00:00 UTC, the tests run in UTC */
#define DAY INT64_C(86400000)
#define MIDNIGHT INT64_C(1714521600000) /* 2024-05-01 00:00:00 UTC */

static char err[256];

static int
arg(struct report_args *a, const char *name, const char *value)
{
	err[0] = '\0';
	return report_arg(a, name, value, err, sizeof(err));
}

static void
test_defaults(void)
{
	struct report_args a;

	report_args_init(&a, REPORT_CALLS, NOW);
	CHECK_INT(a.kind, REPORT_CALLS);
	CHECK_INT(a.now_ms, NOW);
	CHECK_INT(a.limit, 50);
	CHECK_INT(a.since_ms + a.until_ms, 0);
	CHECK(!a.mask && !a.list && !a.full_numbers && a.dept[0] == '\0');
	report_args_init(&a, REPORT_CALLBACKS, NOW);
	CHECK_INT(a.view, JPROM_ALL);
	CHECK_INT(a.limit, 50);
	report_args_init(&a, REPORT_EXPORT, NOW);
	CHECK_INT(a.limit, 0);
	report_args_init(&a, REPORT_SUMMARY, NOW);
	CHECK_INT(a.limit, 0);
}

/* Which names each kind takes (report.h): the others are ENOENT, not EINVAL. */
static void
test_names_per_kind(void)
{
	static const struct {
		enum report_kind kind;
		const char *takes, *refuses;
	} kinds[] = {
		{REPORT_CALLS, "since until dept number limit mask",
			"call_id view list full_numbers"},
		{REPORT_TRACE, "call_id number since until mask", "dept limit view list"},
		{REPORT_TRANSFERS, "since until dept number list limit mask",
			"call_id view full_numbers"},
		{REPORT_DROPS, "since until dept number list limit mask", "call_id view"},
		{REPORT_CALLBACKS, "view dept number since until limit mask full_numbers",
			"call_id list"},
		{REPORT_CALLER, "number since until dept limit mask full_numbers",
			"call_id view list"},
		{REPORT_SUMMARY, "since until dept number mask", "limit list view call_id"},
		{REPORT_EXPORT, "since until dept number mask", "limit list call_id"},
	};
	static const struct {
		const char *name, *value;
	} values[] = {
		{"since", "2024-05-01"}, {"until", "2024-05-02"}, {"dept", "billing"},
		{"number", "15551230001"}, {"call_id", "abc@host"}, {"limit", "5"},
		{"view", "kept"}, {"list", ""}, {"mask", "1"}, {"full_numbers", "true"},
	};
	struct report_args a;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			char words[128], *w, *save;
			int want = -1;

			for (int pass = 0; pass < 2 && want < 0; pass++) {
				snprintf(words, sizeof(words), "%s",
					pass == 0 ? kinds[k].takes : kinds[k].refuses);
				for (w = strtok_r(words, " ", &save); w != NULL;
				     w = strtok_r(NULL, " ", &save))
					if (strcmp(w, values[v].name) == 0)
						want = pass == 0 ? 0 : ENOENT;
			}
			if (want < 0)
				continue;
			report_args_init(&a, kinds[k].kind, NOW);
			if (arg(&a, values[v].name, values[v].value) != want) {
				fprintf(stderr, "%s %s: %s\n", report_kind_name(kinds[k].kind),
					values[v].name, err);
				CHECK(0);
			}
		}
	}
	report_args_init(&a, REPORT_CALLS, NOW);
	CHECK_INT(arg(&a, "bogus", "1"), ENOENT);
	CHECK(strstr(err, "bogus") != NULL);
}

static void
test_values(void)
{
	struct report_args a;

	report_args_init(&a, REPORT_CALLBACKS, NOW);
	CHECK_INT(arg(&a, "number", "+1 (555) 123-0001"), 0);
	CHECK_STR(a.number, "15551230001");
	CHECK_INT(arg(&a, "number", "alice"), 0); /* not a number: matched as typed */
	CHECK_STR(a.number, "alice");
	CHECK_INT(arg(&a, "limit", "0"), 0);
	CHECK_INT(a.limit, 0);
	CHECK_INT(arg(&a, "limit", "12"), 0);
	CHECK_INT(a.limit, 12);
	for (const char *const *bad = (const char *const[]){"-1", "x", "", "1x",
	     "99999999999999999999999", NULL}; *bad != NULL; bad++) {
		CHECK_INT(arg(&a, "limit", *bad), EINVAL);
		CHECK(strstr(err, "bad limit") != NULL);
	}
	CHECK_INT(arg(&a, "view", "overdue"), 0);
	CHECK_INT(a.view, JPROM_OVERDUE);
	CHECK_INT(arg(&a, "view", "all"), 0);
	CHECK_INT(a.view, JPROM_ALL);
	CHECK_INT(arg(&a, "view", "late"), EINVAL);
	CHECK_INT(arg(&a, "mask", ""), 0);
	CHECK(a.mask);
	CHECK_INT(arg(&a, "mask", "false"), 0);
	CHECK(!a.mask);
	CHECK_INT(arg(&a, "mask", "true"), 0);
	CHECK_INT(arg(&a, "mask", "0"), 0);
	CHECK(!a.mask);
	CHECK_INT(arg(&a, "mask", "yes please"), EINVAL);
	CHECK_INT(arg(&a, "full_numbers", NULL), 0); /* a flag with no value */
	CHECK(a.full_numbers);
	char longer[100];
	memset(longer, 'd', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CHECK_INT(arg(&a, "dept", longer), EINVAL);
	CHECK_INT(arg(&a, "dept", "billing"), 0);
	CHECK_STR(a.dept, "billing");
	CHECK_INT(arg(&a, "since", "yesterday"), 0);
	CHECK_INT(a.since_ms, MIDNIGHT - DAY);
	CHECK_INT(arg(&a, "until", "yesterday"), 0); /* an end: the end of that day */
	CHECK_INT(a.until_ms, MIDNIGHT);
	CHECK_INT(arg(&a, "since", "soon"), EINVAL);
	CHECK(strstr(err, "bad time 'soon'") != NULL);
}

static void
test_check(void)
{
	struct report_args a;

	report_args_init(&a, REPORT_CALLS, NOW);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), 0);
	CHECK_INT(arg(&a, "since", "2024-05-02"), 0);
	CHECK_INT(arg(&a, "until", "2024-05-01"), 0);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "later") != NULL);
	CHECK_INT(arg(&a, "until", "2024-05-02"), 0); /* the end of that day: fine */
	CHECK_INT(report_args_check(&a, err, sizeof(err)), 0);

	report_args_init(&a, REPORT_CALLER, NOW);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), EINVAL);
	CHECK_INT(arg(&a, "number", "15551230001"), 0);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), 0);

	report_args_init(&a, REPORT_TRACE, NOW);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), EINVAL);
	CHECK_INT(arg(&a, "number", "15551230001"), 0); /* its newest call */
	CHECK_INT(report_args_check(&a, err, sizeof(err)), 0);
	report_args_init(&a, REPORT_TRACE, NOW);
	CHECK_INT(arg(&a, "call_id", "a@b"), 0);
	CHECK_INT(report_args_check(&a, err, sizeof(err)), 0);
}

static void
test_times(void)
{
	static const struct {
		const char *s;
		bool end;
		int64_t want;
	} good[] = {
		{"today", false, MIDNIGHT},
		{"today", true, MIDNIGHT + DAY},
		{"yesterday", false, MIDNIGHT - DAY},
		{"yesterday", true, MIDNIGHT},
		{"2024-05-01", false, MIDNIGHT},
		{"2024-05-01", true, MIDNIGHT + DAY},
		{"2024-05-01 10:00", true, NOW}, /* a time is a time, as an end too */
		{"2024-05-01T10:00:30", false, NOW + 30000},
		{"2024-02-29", false, INT64_C(1709164800000)},
		{"-30s", false, NOW - 30000},
		{"-30m", false, NOW - 1800000},
		{"-2h", false, NOW - 7200000},
		{"-7d", true, NOW - 7 * DAY}, /* relative: the same as an end */
		{"-1w", false, NOW - 7 * DAY},
	};
	static const char *const bad[] = {
		"", "tomorrow", "Today", "today ", "-", "-5", "-2y", "-h", "--2h", "2024-02-30",
		"2023-02-29", "2024-13-01", "2024-05-01 25:00", "2024-05-01 10:60", "2024-5-1",
		"2024-05-01 10", "2024-05-01 10:00:00Z", "-99999999999999999999w", "-99999999w",
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		CHECK_INT(report_parse_time(&ms, good[i].s, good[i].end, NOW), 0);
		if (ms != good[i].want) {
			fprintf(stderr, "%s: %lld\n", good[i].s, (long long)ms);
			CHECK(0);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (report_parse_time(&ms, bad[i], false, NOW) != EINVAL) {
			fprintf(stderr, "'%s' was accepted\n", bad[i]);
			CHECK(0);
		}
	}
	/* "today" in local time: 2024-05-01 03:00 UTC is still 30 April in New York */
	setenv("TZ", "EST5EDT", 1);
	tzset();
	CHECK_INT(report_parse_time(&ms, "today", false, MIDNIGHT + 3 * 3600000), 0);
	CHECK_INT(ms, MIDNIGHT - DAY + 4 * 3600000);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void
test_masking(void)
{
	struct journal_event ev = {
		.ts_ms = NOW, .call_id = "c1", .event = JEV_ROUTE, .menu = "main",
		.dept = "billing", .reason = "menu main key 2",
		.detail = "path=main; ani=15551234567 (callers.[0] vip); "
			"dnis=18005550100 (numbers.[1]); digits=42",
		.duration_ms = -1,
	};
	char buf[64], *words = NULL;

	report_mask_number(buf, sizeof(buf), "15551234567");
	CHECK_STR(buf, "*******4567");
	report_mask_number(buf, sizeof(buf), "4567");
	CHECK_STR(buf, "4567");
	report_mask_number(buf, sizeof(buf), "");
	CHECK_STR(buf, "");
	report_mask_number(buf, 6, "15551234567"); /* cut, never overrun */
	CHECK_STR(buf, "*****");

	CHECK_INT(report_describe(&words, &ev, false), 0);
	CHECK(words != NULL && strstr(words, "caller 15551234567") != NULL);
	free(words);
	CHECK_INT(report_describe(&words, &ev, true), 0);
	CHECK(words != NULL && strstr(words, "caller *******4567") != NULL);
	CHECK(words != NULL && strstr(words, "dialed *******0100 (numbers.[1])") != NULL);
	CHECK(words != NULL && strstr(words, "*******4567 (callers.[0] vip)") != NULL);
	CHECK(words != NULL && strstr(words, "entered 42") != NULL); /* not a number */
	CHECK(words != NULL && strstr(words, "5551234") == NULL);
	free(words);

	ev.event = JEV_CALL_START;
	ev.ani = "15551234567";
	ev.dnis = "18005550100";
	ev.detail = "en";
	CHECK_INT(report_describe(&words, &ev, true), 0);
	CHECK_STR(words, "call from *******4567 to *******0100 (language en)");
	free(words);
	CHECK_STR(ev.ani, "15551234567"); /* the event itself is left alone */
}

/* A nested JSON value in a row: as given in JSON, its text in a table and CSV. */
static void
test_json_cell(void)
{
	static const struct output_column cols[] = {
		{"menu", "MENU", 0},
		{"left", "LEFT", 0},
	};
	static const char *const want[] = {
		[OUTPUT_TABLE] = "MENU   LEFT\nmain   1>dept:billing 2\nsales  -\n",
		[OUTPUT_JSON] = "[\n  {\"menu\": \"main\", \"left\": [{\"key\": \"1\"}]},\n"
			"  {\"menu\": \"sales\", \"left\": []}\n]\n",
		[OUTPUT_CSV] = "menu,left\r\nmain,1>dept:billing 2\r\nsales,\r\n",
	};

	for (int fmt = OUTPUT_TABLE; fmt <= OUTPUT_CSV; fmt++) {
		struct output *o = NULL;
		char *text = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&text, &len);

		CHECK(fp != NULL);
		if (fp == NULL)
			return;
		CHECK_INT(output_open(&o, fp, (enum output_format)fmt, 0, cols, 2), 0);
		CHECK_INT(output_str(o, "main"), 0);
		CHECK_INT(output_json(o, "[{\"key\": \"1\"}]", "1>dept:billing 2"), 0);
		CHECK_INT(output_end_row(o), 0);
		CHECK_INT(output_str(o, "sales"), 0);
		CHECK_INT(output_json(o, "[]", NULL), 0);
		CHECK_INT(output_end_row(o), 0);
		CHECK_INT(output_close(o), 0);
		fclose(fp);
		CHECK_STR(text, want[fmt]);
		free(text);
	}
}

int
main(void)
{
	static const struct check_test tests[] = {
		{"defaults", test_defaults},
		{"names_per_kind", test_names_per_kind},
		{"values", test_values},
		{"check", test_check},
		{"times", test_times},
		{"masking", test_masking},
		{"json_cell", test_json_cell},
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return check_run(tests, sizeof(tests) / sizeof(tests[0]));
}
