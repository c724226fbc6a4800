/* ivrctl trace: one call as a timeline, each event in words with its offset from the start.
 * "trace on|off SUBSYS" is the daemon's tracing switch instead (cmd-trace-switch.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ivr/journal_query.h"
#include "ivr/util.h"

static enum ctl_status cmd_trace_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_trace_entry = {
	.name = "trace",
	.args = "CALL-ID [--json|--csv] | trace on|off sip|rtp|menu",
	.help = "Show one call as a timeline; JSON and CSV give every stored column. With on or "
		"off: switch the running daemon's log tracing of SIP, RTP or the menus.",
	.exec = cmd_trace_exec,
};

enum { COL_TIME, COL_ID, COL_TS, COL_OFFSET, COL_CALL_ID, COL_EVENT };

static const struct output_column columns[] = {
	[COL_TIME] = {"time", "TIME", OUTPUT_TABLE_ONLY | OUTPUT_RIGHT},
	[COL_ID] = {"id", "", OUTPUT_DATA_ONLY},
	[COL_TS] = {"ts_ms", "", OUTPUT_DATA_ONLY},
	[COL_OFFSET] = {"offset_ms", "", OUTPUT_DATA_ONLY},
	[COL_CALL_ID] = {"call_id", "", OUTPUT_DATA_ONLY},
	[COL_EVENT] = {"event", "", OUTPUT_DATA_ONLY},
	{"menu", "", OUTPUT_DATA_ONLY},
	{"key", "", OUTPUT_DATA_ONLY},
	{"dept", "", OUTPUT_DATA_ONLY},
	{"target", "", OUTPUT_DATA_ONLY},
	{"result", "", OUTPUT_DATA_ONLY},
	{"reason", "", OUTPUT_DATA_ONLY},
	{"ani", "", OUTPUT_DATA_ONLY},
	{"dnis", "", OUTPUT_DATA_ONLY},
	{"prompt", "", OUTPUT_DATA_ONLY},
	{"detail", "", OUTPUT_DATA_ONLY},
	{"generation", "", OUTPUT_DATA_ONLY},
	{"duration_ms", "", OUTPUT_DATA_ONLY},
	{"text", "WHAT HAPPENED", 0},
};

static int
print_row(struct output *o, const struct journal_row *r, int64_t start_ms)
{
	const struct journal_event *ev = &r->ev;
	const char *text[] = {ev->menu, ev->key, ev->dept, ev->target, ev->result, ev->reason,
		ev->ani, ev->dnis, ev->prompt, ev->detail};
	int64_t off = ev->ts_ms - start_ms, a = off < 0 ? -off : off;
	char time[32], *words = NULL;
	int err;

	snprintf(time, sizeof(time), "%s%lld.%03lld", off < 0 ? "-" : "+",
		(long long)(a / 1000), (long long)(a % 1000));
	if ((err = journal_event_describe(&words, ev)) != 0)
		return err;
	err = output_str(o, time);
	if (err == 0)
		err = output_int(o, r->id);
	if (err == 0)
		err = output_int(o, ev->ts_ms);
	if (err == 0)
		err = output_int(o, off);
	if (err == 0)
		err = output_str(o, ev->call_id);
	if (err == 0)
		err = output_str(o, ev->event);
	for (size_t i = 0; err == 0 && i < ARRAY_LEN(text); i++)
		err = output_str(o, text[i]);
	if (err == 0)
		err = ev->generation != 0 ? output_int(o, ev->generation) : output_str(o, NULL);
	if (err == 0)
		err = ev->duration_ms >= 0 ? output_int(o, ev->duration_ms) : output_str(o, NULL);
	if (err == 0)
		err = output_str(o, words);
	if (err == 0)
		err = output_end_row(o);
	free(words);
	return err;
}

/* The call's start: its call.start row, else its first row. */
static int64_t
start_of(const struct journal_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		if (strcmp(rows->v[i]->ev.event, JEV_CALL_START) == 0)
			return rows->v[i]->ev.ts_ms;
	return rows->v[0]->ev.ts_ms;
}

static enum ctl_status
cmd_trace_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum output_format fmt = OUTPUT_TABLE;
	struct journal_query *q = NULL;
	struct journal_rows *rows = NULL;
	struct output *o = NULL;
	enum ctl_status st = CTL_OK;
	const char *call_id;
	int64_t start;
	int ch, err, rc;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
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
	if (optind < argc &&
	    (strcmp(argv[optind], "on") == 0 || strcmp(argv[optind], "off") == 0)) {
		if (fmt == OUTPUT_CSV)
			return ctl_usage(cmd, "--csv is for a call's timeline");
		return ctl_trace_switch(ctl, cmd, fmt == OUTPUT_JSON, argc - optind, argv + optind);
	}
	if (optind == argc)
		return ctl_usage(cmd, "which call? (ivrctl calls lists them)");
	if (argc - optind > 1)
		return ctl_usage(cmd, "one call at a time");
	call_id = argv[optind];

	if ((st = ctl_journal_open(&q, ctl)) != CTL_OK)
		goto out;
	err = journal_query_call(&rows, q, call_id);
	if (err == ENOENT) {
		ctl_error("no call %s in the journal", call_id);
		st = CTL_ERROR;
		goto out;
	}
	if (err != 0) {
		ctl_error("%s", err == ENOMEM ? strerror(err) : journal_query_error(q));
		st = CTL_ERROR;
		goto out;
	}
	start = start_of(rows);
	if (fmt == OUTPUT_TABLE) {
		char when[32];
		report_format_time(when, sizeof(when), start);
		printf("call %s, started %s\n", call_id, when);
	}
	err = output_open(&o, stdout, fmt, OUTPUT_NO_HEADER | OUTPUT_SKIP_NULL, columns,
		ARRAY_LEN(columns));
	for (size_t i = 0; err == 0 && i < rows->n; i++)
		err = print_row(o, rows->v[i], start);
	if (o != NULL && (rc = output_close(o)) != 0 && err == 0)
		err = rc;
	if (err != 0) {
		ctl_error("writing the trace: %s", strerror(err));
		st = CTL_ERROR;
	}
out:
	journal_rows_free(rows);
	journal_query_close(q);
	return st;
}
