/* ivrctl calls: the calls that started in a time range, newest first, one line each. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ivr/journal_query.h"
#include "ivr/util.h"

#define DEFAULT_LIMIT 50

static enum ctl_status cmd_calls_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_calls_entry = {
	.name = "calls",
	.args = "[--since TIME] [--until TIME] [--number NUM] [--limit N] [--json|--csv]",
	.help = "List calls, newest first (default limit 50, 0 for all); NUM matches the "
		"caller's or the dialed number.",
	.exec = cmd_calls_exec,
};

/* Table columns read for people; JSON and CSV keep raw values under stable keys. */
static const struct output_column columns[] = {
	{"start", "START", OUTPUT_TABLE_ONLY},
	{"call_id", "CALL ID", 0},
	{"start_ms", "", OUTPUT_DATA_ONLY},
	{"ani", "CALLER", 0},
	{"dnis", "DIALED", 0},
	{"duration", "DURATION", OUTPUT_TABLE_ONLY | OUTPUT_RIGHT},
	{"duration_ms", "", OUTPUT_DATA_ONLY},
	{"outcome", "OUTCOME", 0},
	{"dept", "", OUTPUT_DATA_ONLY},
	{"menu_path", "PATH", 0},
	{"end_reason", "", OUTPUT_DATA_ONLY},
};

/* "0:09", "12:05", "1:02:03" */
static void
format_duration(char *buf, size_t size, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, size, "%lld:%02lld:%02lld", (long long)(s / 3600),
			(long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(buf, size, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

static int
print_call(struct output *o, const struct journal_call *c)
{
	char start[32], dur[32];
	int err;

	report_format_time(start, sizeof(start), c->start_ms);
	format_duration(dur, sizeof(dur), c->duration_ms);
	if ((err = output_str(o, start)) != 0 || (err = output_str(o, c->call_id)) != 0 ||
	    (err = output_int(o, c->start_ms)) != 0 || (err = output_str(o, c->ani)) != 0 ||
	    (err = output_str(o, c->dnis)) != 0 ||
	    (err = output_str(o, c->duration_ms >= 0 ? dur : NULL)) != 0)
		return err;
	if (c->duration_ms >= 0)
		err = output_int(o, c->duration_ms);
	else
		err = output_str(o, NULL);
	if (err != 0 || (err = output_str(o, c->outcome)) != 0 ||
	    (err = output_str(o, c->dept)) != 0 || (err = output_str(o, c->menu_path)) != 0 ||
	    (err = output_str(o, c->end_reason)) != 0)
		return err;
	return output_end_row(o);
}

static enum ctl_status
cmd_calls_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"number", required_argument, NULL, 'n'},
		{"limit", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct journal_call_filter f = {.limit = DEFAULT_LIMIT};
	enum output_format fmt = OUTPUT_TABLE;
	struct journal_query *q = NULL;
	struct journal_calls *calls = NULL;
	struct output *o = NULL;
	enum ctl_status st = CTL_OK;
	int64_t now = clock_wall_ms();
	char *end;
	int ch, err, rc;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'u':
			if (report_parse_time(ch == 's' ? &f.since_ms : &f.until_ms, optarg, ch == 'u',
			    now) != 0)
				return ctl_usage(cmd, "bad time '%s' (YYYY-MM-DD, \"YYYY-MM-DD "
					"HH:MM[:SS]\", -30m, -2h, -7d)", optarg);
			break;
		case 'n':
			f.number = optarg;
			break;
		case 'l':
			errno = 0;
			f.limit = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0)
				return ctl_usage(cmd, "bad limit '%s'", optarg);
			break;
		case 'J':
		case 'C':
			if (ctl_set_format(&fmt, ch == 'J' ? OUTPUT_JSON : OUTPUT_CSV) != 0)
				return ctl_usage(cmd, "--json and --csv exclude each other");
			break;
		case 'h':
			return ctl_help(cmd);
		default:
			return ctl_bad_option(cmd, ch, argv);
		}
	}
	if (optind != argc)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (f.since_ms != 0 && f.until_ms != 0 && f.until_ms <= f.since_ms)
		return ctl_usage(cmd, "--until must be later than --since");

	if ((st = ctl_journal_open(&q, ctl)) != CTL_OK)
		goto out;
	if ((err = journal_query_calls(&calls, q, &f)) != 0) {
		ctl_error("%s", err == ENOMEM ? strerror(err) : journal_query_error(q));
		st = CTL_ERROR;
		goto out;
	}
	err = output_open(&o, stdout, fmt, 0, columns, ARRAY_LEN(columns));
	for (size_t i = 0; err == 0 && i < calls->n; i++)
		err = print_call(o, &calls->v[i]);
	if (o != NULL && (rc = output_close(o)) != 0 && err == 0)
		err = rc;
	if (err != 0) {
		ctl_error("writing the list: %s", strerror(err));
		st = CTL_ERROR;
	}
out:
	journal_calls_free(calls);
	journal_query_close(q);
	return st;
}
