/* ivrctl's reports: calls, trace, transfers, drops, callbacks, caller, report and export, one
 * command each over the report library (src/report, report.h), which the dashboard's API
 * serves too. Options are the report's argument names: --NAME VALUE, or --NAME for a flag.
 * They read the journal directly, so they work while the daemon is down. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/journal_query.h"
#include "ivr/util.h"

static enum ctl_status cmd_report_exec(struct ctl *, const struct ctl_cmd *, int, char **);

#define FORMATS "[--mask] [--json|--csv]"
#define RANGE "[--since TIME] [--until TIME]"

const struct ctl_cmd cmd_calls_entry = {
	.name = "calls",
	.args = RANGE " [--dept D] [--number NUM] [--limit N] " FORMATS,
	.help = "List calls, newest first (default limit 50, 0 for all); D: calls routed or "
		"transferred to that department; NUM matches the caller's or the dialed number.",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_trace_entry = {
	.name = "trace",
	.args = "CALL-ID " FORMATS " | trace --number NUM " RANGE " " FORMATS
		" | trace on|off sip|rtp|menu",
	.help = "Show one call as a timeline in words: what the caller heard, pressed, where "
		"they were sent and why, what happened; JSON and CSV give every stored column. "
		"With --number: that number's newest call in the range. With on or off: switch "
		"the running daemon's log tracing of SIP, RTP or the menus.",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_transfers_entry = {
	.name = "transfers",
	.args = RANGE " [--dept D] [--number NUM] [--list [--limit N]] " FORMATS,
	.help = "Transfers by department and result, busiest first; --list: every transfer "
		"attempt, newest first (default limit 50, 0 for all), with where in the menu it "
		"came from, why, and what happened next.",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_drops_entry = {
	.name = "drops",
	.args = RANGE " [--dept D] [--number NUM] [--list [--limit N]] " FORMATS,
	.help = "The funnel of each menu: entered, left by each key, invalid keys, timeouts, "
		"hung up, the median time before hanging up; --list: every drop, newest first "
		"(default limit 50, 0 for all).",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_callbacks_entry = {
	.name = "callbacks",
	.args = "[--open|--due|--overdue|--kept|--broken|--cancelled|--view V] [--dept D] "
		RANGE " [--number NUM] [--limit N] [--full-numbers] " FORMATS,
	.help = "List callback promises (default limit 50, 0 for all): escalated first (open "
		"past their due time, then broken; most overdue first), then open by due time, "
		"then kept and cancelled, newest first. --open: open or dialing; --due: open and "
		"its next attempt may be made now; --overdue: open past the time the caller was "
		"told, and broken ones; --view V names one of them (or all). TIME bounds when the "
		"promise was made; NUM matches the number to call or the caller's. The table "
		"shows the last 4 digits of numbers unless --full-numbers; JSON and CSV carry "
		"them whole unless --mask.",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_caller_entry = {
	.name = "caller",
	.args = "NUMBER " RANGE " [--dept D] [--limit N] " FORMATS,
	.help = "One caller's journey: a summary (calls, transfers, drops, promises kept and "
		"broken), their calls (newest first, default limit 50, 0 for all) and every "
		"callback promise made to them with each attempt. NUMBER matches the caller's or "
		"the dialed number, and the number a promise calls back.",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_report_entry = {
	.name = "report",
	.args = RANGE " [--dept D] [--number NUM] " FORMATS,
	.help = "A day or a range in figures: calls, transfers per routed call, first-transfer "
		"success rate, drop rate by menu, promises kept on time, repeat callers, the "
		"busiest hours (--since today for today).",
	.exec = cmd_report_exec,
};

const struct ctl_cmd cmd_export_entry = {
	.name = "export",
	.args = RANGE " [--dept D] [--number NUM] [--mask] [--json|--csv] [--output FILE]",
	.help = "Every stored column of every event in the range, oldest first, as CSV (or "
		"JSON), for auditors; D and NUM keep the events of the calls they select. "
		"--output writes a new file (mode 0600) and never overwrites one.",
	.exec = cmd_report_exec,
};

enum {
	OPT_VALUE = 256, /* a report argument with a value */
	OPT_FLAG,        /* a report argument without one */
	OPT_VIEW,        /* callbacks: --open ... --cancelled, spellings of --view */
	OPT_JSON,
	OPT_CSV,
	OPT_OUTPUT,
};

static const struct option opts[] = {
	{"since", required_argument, NULL, OPT_VALUE},
	{"until", required_argument, NULL, OPT_VALUE},
	{"dept", required_argument, NULL, OPT_VALUE},
	{"number", required_argument, NULL, OPT_VALUE},
	{"call-id", required_argument, NULL, OPT_VALUE},
	{"limit", required_argument, NULL, OPT_VALUE},
	{"view", required_argument, NULL, OPT_VALUE},
	{"list", no_argument, NULL, OPT_FLAG},
	{"mask", no_argument, NULL, OPT_FLAG},
	{"full-numbers", no_argument, NULL, OPT_FLAG},
	{"open", no_argument, NULL, OPT_VIEW},
	{"due", no_argument, NULL, OPT_VIEW},
	{"overdue", no_argument, NULL, OPT_VIEW},
	{"kept", no_argument, NULL, OPT_VIEW},
	{"broken", no_argument, NULL, OPT_VIEW},
	{"cancelled", no_argument, NULL, OPT_VIEW},
	{"json", no_argument, NULL, OPT_JSON},
	{"csv", no_argument, NULL, OPT_CSV},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* What the command line asked for. */
struct request {
	struct report_args args;
	enum output_format fmt;
	const char *output; /* export --output */
	const char *view;   /* the view asked for, and the option's name that asked */
	const char *view_opt;
	const char *first;  /* the first report option's name, refused with trace on|off */
};

/* One report option; ctl_usage's status when it is refused, else CTL_OK. */
static enum ctl_status
report_option(struct request *r, const struct ctl_cmd *cmd, int ch, const struct option *o,
	const char *value)
{
	char name[32], err[256];
	int rc;

	if (ch == OPT_VIEW || strcmp(o->name, "view") == 0) {
		const char *v = ch == OPT_VIEW ? o->name : value;

		if (r->view != NULL && strcmp(v, r->view) != 0)
			return ctl_usage(cmd, "--%s and --%s exclude each other", r->view_opt,
				o->name);
		if ((rc = report_arg(&r->args, "view", v, err, sizeof(err))) == 0) {
			r->view = v;
			r->view_opt = o->name;
		}
	} else {
		/* the option's name with '_' for '-': the report's argument name */
		str_copy(name, o->name, sizeof(name));
		for (char *p = name; *p != '\0'; p++)
			if (*p == '-')
				*p = '_';
		rc = report_arg(&r->args, name, ch == OPT_FLAG ? "" : value, err, sizeof(err));
	}
	if (rc == ENOENT)
		return ctl_usage(cmd, "unknown option --%s", o->name);
	if (rc != 0)
		return ctl_usage(cmd, "%s", err);
	if (r->first == NULL)
		r->first = o->name;
	return CTL_OK;
}

/* export --output: a new file only, so an auditor's earlier export is never replaced. */
static enum ctl_status
open_output(FILE **fpp, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	*fpp = NULL;
	if (fd < 0) {
		if (errno == EEXIST)
			ctl_error("%s exists; export writes a new file", path);
		else
			ctl_error("%s: %s", path, strerror(errno));
		return CTL_ERROR;
	}
	if ((*fpp = fdopen(fd, "w")) == NULL) {
		ctl_error("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return CTL_ERROR;
	}
	return CTL_OK;
}

static enum ctl_status
run_report(struct ctl *ctl, const struct request *r)
{
	struct journal_query *q = NULL;
	enum ctl_status st;
	FILE *fp = stdout;
	char err[512];
	int rc;

	if ((st = ctl_journal_open(&q, ctl)) != CTL_OK)
		return st;
	if (r->output != NULL && (st = open_output(&fp, r->output)) != CTL_OK)
		goto out;
	err[0] = '\0';
	rc = report_write(fp, r->fmt, q, &r->args, err, sizeof(err));
	if (fp != stdout && fclose(fp) != 0 && rc == 0) {
		rc = errno;
		snprintf(err, sizeof(err), "writing %s: %s", r->output, strerror(rc));
	}
	if (rc != 0) {
		ctl_error("%s", err[0] != '\0' ? err : strerror(rc));
		if (fp != stdout)
			unlink(r->output); /* no half an export left behind */
		st = CTL_ERROR;
	}
out:
	journal_query_close(q);
	return st;
}

static enum ctl_status
cmd_report_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct request r = {.fmt = OUTPUT_TABLE};
	enum report_kind kind;
	enum ctl_status st;
	char err[256];
	int ch, idx;

	if (report_kind_parse(&kind, cmd->name) != 0)
		return ctl_usage(cmd, "no such report");
	report_args_init(&r.args, kind, clock_wall_ms());
	while ((ch = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		switch (ch) {
		case OPT_VALUE:
		case OPT_FLAG:
		case OPT_VIEW:
			if ((st = report_option(&r, cmd, ch, &opts[idx], optarg)) != CTL_OK)
				return st;
			break;
		case OPT_JSON:
		case OPT_CSV:
			if (ctl_set_format(&r.fmt, ch == OPT_JSON ? OUTPUT_JSON : OUTPUT_CSV) != 0)
				return ctl_usage(cmd, "--json and --csv exclude each other");
			break;
		case OPT_OUTPUT:
			if (kind != REPORT_EXPORT)
				return ctl_usage(cmd, "unknown option --output");
			r.output = optarg;
			break;
		case 'h':
			return ctl_help(cmd);
		default:
			return ctl_bad_option(cmd, ch, argv);
		}
	}
	if (kind == REPORT_TRACE && optind < argc &&
	    (strcmp(argv[optind], "on") == 0 || strcmp(argv[optind], "off") == 0)) {
		if (r.fmt == OUTPUT_CSV)
			return ctl_usage(cmd, "--csv is for a call's timeline");
		if (r.first != NULL)
			return ctl_usage(cmd, "--%s is for a call's timeline", r.first);
		return ctl_trace_switch(ctl, cmd, r.fmt == OUTPUT_JSON, argc - optind,
			argv + optind);
	}
	if (kind == REPORT_TRACE || kind == REPORT_CALLER) {
		const char *name = kind == REPORT_TRACE ? "call_id" : "number";

		if (argc - optind > 1)
			return ctl_usage(cmd, kind == REPORT_TRACE ? "one call at a time" :
				"one number at a time");
		if (optind < argc && *argv[optind] == '\0')
			return ctl_usage(cmd, kind == REPORT_TRACE ? "which call?" :
				"which number?");
		if (optind < argc && report_arg(&r.args, name, argv[optind++], err,
		    sizeof(err)) != 0)
			return ctl_usage(cmd, "%s", err);
		if (kind == REPORT_TRACE && r.args.call_id[0] == '\0' && r.args.number[0] == '\0')
			return ctl_usage(cmd, "which call? (ivrctl calls lists them)");
	}
	if (optind != argc)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (report_args_check(&r.args, err, sizeof(err)) != 0)
		return ctl_usage(cmd, "%s", err);
	return run_report(ctl, &r);
}
