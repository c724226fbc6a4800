/* ivrctl callbacks: the callback promises ledger, read from the journal (the daemon may be
 * down). Escalated promises first: overdue open ones, then broken ones, most overdue first. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ivr/journal_query.h"
#include "ivr/number.h"
#include "ivr/util.h"
#include "ivr/json.h"

#define DEFAULT_LIMIT 50

static enum ctl_status cmd_callbacks_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_callbacks_entry = {
	.name = "callbacks",
	.args = "[--open|--due|--overdue|--kept|--broken|--cancelled] [--dept D] "
		"[--since TIME] [--until TIME] [--number NUM] [--limit N] [--full-numbers] "
		"[--json|--csv]",
	.help = "List callback promises (default limit 50, 0 for all): escalated first (open "
		"past their due time, then broken; most overdue first), then open by due time, "
		"then kept and cancelled, newest first. --open: open or dialing; --due: open and "
		"its next attempt may be made now; --overdue: open past the time the caller was "
		"told, and broken ones. TIME bounds when the promise was made; NUM matches the "
		"number to call or the caller's. The table shows the last 4 digits of numbers "
		"unless --full-numbers; JSON and CSV always carry them whole.",
	.exec = cmd_callbacks_exec,
};

const struct output_column ctl_promise_columns[] = {
	{"id", "ID", OUTPUT_RIGHT},
	{"status", "STATE", OUTPUT_TABLE_ONLY},
	{"state", "", OUTPUT_DATA_ONLY},
	{"overdue", "", OUTPUT_DATA_ONLY},
	{"dept", "DEPT", 0},
	{"shown_number", "NUMBER", OUTPUT_TABLE_ONLY},
	{"number", "", OUTPUT_DATA_ONLY},
	{"ani", "", OUTPUT_DATA_ONLY},
	{"lang", "", OUTPUT_DATA_ONLY},
	{"call_id", "", OUTPUT_DATA_ONLY},
	{"promised", "PROMISED", OUTPUT_TABLE_ONLY},
	{"created_ms", "", OUTPUT_DATA_ONLY},
	{"due", "DUE", OUTPUT_TABLE_ONLY},
	{"due_ms", "", OUTPUT_DATA_ONLY},
	{"expires_ms", "", OUTPUT_DATA_ONLY},
	{"next_ms", "", OUTPUT_DATA_ONLY},
	{"tries", "ATTEMPTS", OUTPUT_TABLE_ONLY | OUTPUT_RIGHT},
	{"attempts", "", OUTPUT_DATA_ONLY},
	{"max_attempts", "", OUTPUT_DATA_ONLY},
	{"last_result", "LAST RESULT", 0},
	{"reason", "REASON", 0},
	{"kept_call_id", "KEPT BY", 0},
	{"updated_ms", "", OUTPUT_DATA_ONLY},
	{"closed_ms", "", OUTPUT_DATA_ONLY},
	{"owner", "", OUTPUT_DATA_ONLY},
	{"lease_until_ms", "", OUTPUT_DATA_ONLY},
};
const size_t ctl_promise_ncolumns = ARRAY_LEN(ctl_promise_columns);


static int
out_time(struct output *o, int64_t ms)
{
	return ms >= 0 ? output_int(o, ms) : output_str(o, NULL);
}

static int
out_local(struct output *o, int64_t ms)
{
	char when[32];

	if (ms < 0)
		return output_str(o, NULL);
	report_format_time(when, sizeof(when), ms);
	return output_str(o, when);
}

int
ctl_promise_row(struct output *o, const struct journal_promise *p, bool full_numbers)
{
	char status[64], shown[64], tries[48];
	int err;

	snprintf(status, sizeof(status), "%s%s", p->state ? p->state : "?",
		p->overdue ? " (overdue)" : "");
	if (p->number != NULL && !full_numbers)
		report_mask_number(shown, sizeof(shown), p->number);
	else
		str_copy(shown, p->number ? p->number : "", sizeof(shown));
	snprintf(tries, sizeof(tries), "%lld/%lld", (long long)p->attempts,
		(long long)p->max_attempts);
	if ((err = output_int(o, p->id)) != 0 || (err = output_str(o, status)) != 0 ||
	    (err = output_str(o, p->state)) != 0 || (err = output_bool(o, p->overdue)) != 0 ||
	    (err = output_str(o, p->dept)) != 0 ||
	    (err = output_str(o, p->number ? shown : NULL)) != 0 ||
	    (err = output_str(o, p->number)) != 0 || (err = output_str(o, p->ani)) != 0 ||
	    (err = output_str(o, p->lang)) != 0 || (err = output_str(o, p->call_id)) != 0 ||
	    (err = out_local(o, p->created_ms)) != 0 || (err = out_time(o, p->created_ms)) != 0 ||
	    (err = out_local(o, p->due_ms)) != 0 || (err = out_time(o, p->due_ms)) != 0 ||
	    (err = out_time(o, p->expires_ms)) != 0 || (err = out_time(o, p->next_ms)) != 0 ||
	    (err = output_str(o, tries)) != 0 || (err = output_int(o, p->attempts)) != 0 ||
	    (err = output_int(o, p->max_attempts)) != 0 ||
	    (err = output_str(o, p->last_result)) != 0 || (err = output_str(o, p->reason)) != 0 ||
	    (err = output_str(o, p->kept_call_id)) != 0 ||
	    (err = out_time(o, p->updated_ms)) != 0 || (err = out_time(o, p->closed_ms)) != 0 ||
	    (err = output_str(o, p->owner)) != 0 || (err = out_time(o, p->lease_until_ms)) != 0)
		return err;
	return output_end_row(o);
}

static void
json_time(struct json_out *w, const char *key, int64_t ms)
{
	if (ms >= 0)
		json_int(w, key, ms);
	else
		json_str(w, key, NULL);
}

/* The members of a promise, with the keys "ivrctl callbacks --json" uses. */
void
ctl_promise_json(struct json_out *w, const struct journal_promise *p)
{
	json_int(w, "id", p->id);
	json_str(w, "state", p->state);
	json_bool(w, "overdue", p->overdue);
	json_str(w, "dept", p->dept);
	json_str(w, "number", p->number);
	json_str(w, "ani", p->ani);
	json_str(w, "lang", p->lang);
	json_str(w, "call_id", p->call_id);
	json_time(w, "created_ms", p->created_ms);
	json_time(w, "due_ms", p->due_ms);
	json_time(w, "expires_ms", p->expires_ms);
	json_time(w, "next_ms", p->next_ms);
	json_int(w, "attempts", p->attempts);
	json_int(w, "max_attempts", p->max_attempts);
	json_str(w, "last_result", p->last_result);
	json_str(w, "reason", p->reason);
	json_str(w, "kept_call_id", p->kept_call_id);
	json_time(w, "updated_ms", p->updated_ms);
	json_time(w, "closed_ms", p->closed_ms);
	json_str(w, "owner", p->owner);
	json_time(w, "lease_until_ms", p->lease_until_ms);
}


static enum ctl_status
cmd_callbacks_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"open", no_argument, NULL, JPROM_OPEN},
		{"due", no_argument, NULL, JPROM_DUE},
		{"overdue", no_argument, NULL, JPROM_OVERDUE},
		{"kept", no_argument, NULL, JPROM_KEPT},
		{"broken", no_argument, NULL, JPROM_BROKEN},
		{"cancelled", no_argument, NULL, JPROM_CANCELLED},
		{"dept", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"number", required_argument, NULL, 'n'},
		{"limit", required_argument, NULL, 'l'},
		{"full-numbers", no_argument, NULL, 'F'},
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct journal_promise_filter f = {.view = JPROM_ALL, .limit = DEFAULT_LIMIT};
	enum output_format fmt = OUTPUT_TABLE;
	struct journal_query *q = NULL;
	struct journal_promises *ps = NULL;
	struct output *o = NULL;
	enum ctl_status st = CTL_OK;
	const char *view = NULL;
	bool full = false;
	char number[NUMBER_MAX], *end;
	int ch, err, rc;

	f.now_ms = clock_wall_ms();
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case JPROM_OPEN:
		case JPROM_DUE:
		case JPROM_OVERDUE:
		case JPROM_KEPT:
		case JPROM_BROKEN:
		case JPROM_CANCELLED:
			if (view != NULL && f.view != (enum journal_promise_view)ch)
				return ctl_usage(cmd, "%s and %s exclude each other", view,
					argv[optind - 1]);
			f.view = (enum journal_promise_view)ch;
			view = argv[optind - 1];
			break;
		case 'd':
			f.dept = optarg;
			break;
		case 's':
		case 'u':
			if (report_parse_time(ch == 's' ? &f.since_ms : &f.until_ms, optarg, ch == 'u',
			    f.now_ms) != 0)
				return ctl_usage(cmd, "bad time '%s' (YYYY-MM-DD, \"YYYY-MM-DD "
					"HH:MM[:SS]\", -30m, -2h, -7d)", optarg);
			break;
		case 'n':
			f.number = report_number(number, sizeof(number), optarg);
			break;
		case 'l':
			errno = 0;
			f.limit = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0)
				return ctl_usage(cmd, "bad limit '%s'", optarg);
			break;
		case 'F':
			full = true;
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
	if ((err = journal_query_promises(&ps, q, &f)) != 0) {
		ctl_error("%s", err == ENOMEM ? strerror(err) : journal_query_error(q));
		st = CTL_ERROR;
		goto out;
	}
	if (ps->n == 0 && fmt == OUTPUT_TABLE) {
		bool filtered = view != NULL || f.dept || f.number || f.since_ms || f.until_ms;
		puts(ps->recorded && filtered ? "no callback promises match" :
			"no callback promises recorded");
		goto out;
	}
	err = output_open(&o, stdout, fmt, 0, ctl_promise_columns, ctl_promise_ncolumns);
	for (size_t i = 0; err == 0 && i < ps->n; i++)
		err = ctl_promise_row(o, &ps->v[i], full);
	if (o != NULL && (rc = output_close(o)) != 0 && err == 0)
		err = rc;
	if (err != 0) {
		ctl_error("writing the list: %s", strerror(err));
		st = CTL_ERROR;
	}
out:
	journal_promises_free(ps);
	journal_query_close(q);
	return st;
}
