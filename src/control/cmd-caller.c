/* ivrctl caller NUMBER: one caller's journey across calls, read from the journal — a summary
 * line first, then their calls and their callback promises with every attempt. */
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

static enum ctl_status cmd_caller_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_caller_entry = {
	.name = "caller",
	.args = "NUMBER [--limit N] [--json|--csv]",
	.help = "One caller's journey: a summary (calls, transfers, drops, promises kept and "
		"broken), their calls (newest first, default limit 50, 0 for all) and every "
		"callback promise made to them with each attempt. NUMBER matches the caller's or "
		"the dialed number, and the number a promise calls back.",
	.exec = cmd_caller_exec,
};

/* Everything shown about one caller. */
struct caller {
	const char *number;
	struct journal_caller_totals totals;
	struct journal_calls *calls;
	struct journal_promises *promises;
	struct journal_rows **events; /* per promise */
	size_t kept, broken, open, cancelled;
};

static void
caller_clear(struct caller *c)
{
	for (size_t i = 0; c->events != NULL && i < c->promises->n; i++)
		journal_rows_free(c->events[i]);
	free(c->events);
	journal_promises_free(c->promises);
	journal_calls_free(c->calls);
}

static int
caller_load(struct caller *c, struct journal_query *q, const char *number, size_t limit)
{
	struct journal_call_filter cf = {.number = number, .limit = limit};
	struct journal_promise_filter pf = {.view = JPROM_ALL, .now_ms = clock_wall_ms(),
		.number = number};
	int err;

	memset(c, 0, sizeof(*c));
	c->number = number;
	if ((err = journal_query_caller_totals(&c->totals, q, number)) != 0 ||
	    (err = journal_query_calls(&c->calls, q, &cf)) != 0 ||
	    (err = journal_query_promises(&c->promises, q, &pf)) != 0)
		return err;
	if (c->promises->n > 0 &&
	    (c->events = calloc(c->promises->n, sizeof(*c->events))) == NULL)
		return ENOMEM;
	for (size_t i = 0; i < c->promises->n; i++) {
		const char *s = c->promises->v[i].state ? c->promises->v[i].state : "";

		if ((err = journal_query_promise_events(&c->events[i], q,
		    c->promises->v[i].id)) != 0)
			return err;
		if (strcmp(s, "kept") == 0)
			c->kept++;
		else if (strcmp(s, "broken") == 0)
			c->broken++;
		else if (strcmp(s, "cancelled") == 0)
			c->cancelled++;
		else
			c->open++;
	}
	return 0;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "12 calls, 12 transfers, 9 drops; 6 promises: 0 kept, 6 broken" */
static void
summary(char *buf, size_t size, const struct caller *c)
{
	const struct journal_caller_totals *t = &c->totals;
	size_t off = 0, np = c->promises->n;

	str_appendf(buf, size, &off, "%zu %s, %zu %s, %zu %s; ", t->calls,
		plural(t->calls, "call", "calls"), t->transfers,
		plural(t->transfers, "transfer", "transfers"), t->drops,
		plural(t->drops, "drop", "drops"));
	if (!c->promises->recorded) {
		str_appendf(buf, size, &off, "no callback promises recorded");
		return;
	}
	str_appendf(buf, size, &off, "%zu %s: %zu kept, %zu broken", np,
		plural(np, "promise", "promises"), c->kept, c->broken);
	if (c->open > 0)
		str_appendf(buf, size, &off, ", %zu open", c->open);
	if (c->cancelled > 0)
		str_appendf(buf, size, &off, ", %zu cancelled", c->cancelled);
}

/* People: the summary, then a table of calls, of promises, of what each promise went
 * through. */
static const struct output_column call_columns[] = {
	{"start", "START", 0},
	{"call_id", "CALL ID", 0},
	{"dnis", "DIALED", 0},
	{"outcome", "OUTCOME", 0},
	{"menu_path", "PATH", 0},
};

static const struct output_column history_columns[] = {
	{"id", "PROMISE", OUTPUT_RIGHT},
	{"time", "TIME", 0},
	{"text", "WHAT HAPPENED", 0},
};

static int
close_table(struct output *o, int err)
{
	int rc = output_close(o);

	return err != 0 ? err : rc;
}

static int
print_table(const struct caller *c)
{
	struct output *o;
	char line[512], when[32];
	int err;

	summary(line, sizeof(line), c);
	printf("caller %s: %s\n\n", c->number, line);
	if (c->calls->n == 0) {
		puts("no calls recorded");
	} else {
		if (c->calls->n < c->totals.calls)
			printf("the last %zu calls:\n", c->calls->n);
		if ((err = output_open(&o, stdout, OUTPUT_TABLE, 0, call_columns,
		    ARRAY_LEN(call_columns))) != 0)
			return err;
		for (size_t i = 0; err == 0 && i < c->calls->n; i++) {
			const struct journal_call *call = &c->calls->v[i];

			report_format_time(when, sizeof(when), call->start_ms);
			if ((err = output_str(o, when)) == 0 &&
			    (err = output_str(o, call->call_id)) == 0 &&
			    (err = output_str(o, call->dnis)) == 0 &&
			    (err = output_str(o, call->outcome)) == 0 &&
			    (err = output_str(o, call->menu_path)) == 0)
				err = output_end_row(o);
		}
		if ((err = close_table(o, err)) != 0)
			return err;
	}
	if (c->promises->n == 0)
		return 0;
	putchar('\n');
	if ((err = output_open(&o, stdout, OUTPUT_TABLE, 0, ctl_promise_columns,
	    ctl_promise_ncolumns)) != 0)
		return err;
	for (size_t i = 0; err == 0 && i < c->promises->n; i++)
		err = ctl_promise_row(o, &c->promises->v[i], true);
	if ((err = close_table(o, err)) != 0)
		return err;
	putchar('\n');
	if ((err = output_open(&o, stdout, OUTPUT_TABLE, 0, history_columns,
	    ARRAY_LEN(history_columns))) != 0)
		return err;
	for (size_t i = 0; err == 0 && i < c->promises->n; i++) {
		for (size_t k = 0; err == 0 && k < c->events[i]->n; k++) {
			const struct journal_event *ev = &c->events[i]->v[k]->ev;
			char *words = NULL;

			report_format_time(when, sizeof(when), ev->ts_ms);
			if ((err = journal_event_describe(&words, ev)) == 0 &&
			    (err = output_int(o, c->promises->v[i].id)) == 0 &&
			    (err = output_str(o, when)) == 0 && (err = output_str(o, words)) == 0)
				err = output_end_row(o);
			free(words);
		}
	}
	return close_table(o, err);
}

static void
json_event(struct json_out *w, const struct journal_row *r)
{
	const struct journal_event *ev = &r->ev;
	char *words = NULL;

	json_begin_obj(w, NULL);
	json_int(w, "id", r->id);
	json_int(w, "ts_ms", ev->ts_ms);
	json_str(w, "event", ev->event);
	json_str(w, "call_id", ev->call_id);
	json_str(w, "dept", ev->dept);
	json_str(w, "dnis", ev->dnis);
	json_str(w, "result", ev->result);
	json_str(w, "reason", ev->reason);
	json_str(w, "detail", ev->detail);
	journal_event_describe(&words, ev);
	json_str(w, "text", words);
	free(words);
	json_end_obj(w);
}

static int
print_json(const struct caller *c)
{
	struct json_out w;
	char line[512];

	summary(line, sizeof(line), c);
	fputs("{\"number\": ", stdout);
	json_write_string(stdout, c->number);
	json_out_fields(&w, stdout);
	json_str(&w, "summary", line);
	json_begin_obj(&w, "totals");
	json_uint(&w, "calls", c->totals.calls);
	json_uint(&w, "transfers", c->totals.transfers);
	json_uint(&w, "transfers_failed", c->totals.transfers_failed);
	json_uint(&w, "drops", c->totals.drops);
	json_uint(&w, "promises", c->promises->n);
	json_uint(&w, "kept", c->kept);
	json_uint(&w, "broken", c->broken);
	json_uint(&w, "open", c->open);
	json_uint(&w, "cancelled", c->cancelled);
	json_end_obj(&w);
	json_bool(&w, "promises_recorded", c->promises->recorded);
	json_begin_arr(&w, "calls");
	for (size_t i = 0; i < c->calls->n; i++) {
		const struct journal_call *call = &c->calls->v[i];

		json_begin_obj(&w, NULL);
		json_str(&w, "call_id", call->call_id);
		json_int(&w, "start_ms", call->start_ms);
		json_str(&w, "ani", call->ani);
		json_str(&w, "dnis", call->dnis);
		if (call->duration_ms >= 0)
			json_int(&w, "duration_ms", call->duration_ms);
		else
			json_str(&w, "duration_ms", NULL);
		json_str(&w, "outcome", call->outcome);
		json_str(&w, "dept", call->dept);
		json_str(&w, "menu_path", call->menu_path);
		json_str(&w, "end_reason", call->end_reason);
		json_end_obj(&w);
	}
	json_end_arr(&w);
	json_begin_arr(&w, "promises");
	for (size_t i = 0; i < c->promises->n; i++) {
		json_begin_obj(&w, NULL);
		ctl_promise_json(&w, &c->promises->v[i]);
		json_begin_arr(&w, "events");
		for (size_t k = 0; k < c->events[i]->n; k++)
			json_event(&w, c->events[i]->v[k]);
		json_end_arr(&w);
		json_end_obj(&w);
	}
	json_end_arr(&w);
	fputs("}\n", stdout);
	return fflush(stdout) != 0 || ferror(stdout) ? EIO : 0;
}

/* CSV: one record a line — each call, each promise, each event of a promise. */
static const struct output_column csv_columns[] = {
	{"record", "", 0},
	{"ts_ms", "", 0},
	{"call_id", "", 0},
	{"callback_id", "", 0},
	{"event", "", 0},
	{"dept", "", 0},
	{"number", "", 0},
	{"state", "", 0},
	{"result", "", 0},
	{"reason", "", 0},
	{"attempts", "", 0},
	{"max_attempts", "", 0},
	{"due_ms", "", 0},
	{"detail", "", 0},
};

static int
csv_call(struct output *o, const struct journal_call *call)
{
	int err;

	if ((err = output_str(o, "call")) != 0 || (err = output_int(o, call->start_ms)) != 0 ||
	    (err = output_str(o, call->call_id)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, call->dept)) != 0 ||
	    (err = output_str(o, call->dnis)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, call->outcome)) != 0 ||
	    (err = output_str(o, call->end_reason)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, call->menu_path)) != 0)
		return err;
	return output_end_row(o);
}

static int
csv_promise(struct output *o, const struct journal_promise *p)
{
	int err;

	if ((err = output_str(o, "promise")) != 0 || (err = output_int(o, p->created_ms)) != 0 ||
	    (err = output_str(o, p->call_id)) != 0 || (err = output_int(o, p->id)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, p->dept)) != 0 ||
	    (err = output_str(o, p->number)) != 0 || (err = output_str(o, p->state)) != 0 ||
	    (err = output_str(o, p->last_result)) != 0 || (err = output_str(o, p->reason)) != 0 ||
	    (err = output_int(o, p->attempts)) != 0 ||
	    (err = output_int(o, p->max_attempts)) != 0 || (err = output_int(o, p->due_ms)) != 0 ||
	    (err = output_str(o, p->kept_call_id)) != 0)
		return err;
	return output_end_row(o);
}

static int
csv_event(struct output *o, const struct journal_event *ev)
{
	int err;

	if ((err = output_str(o, "event")) != 0 || (err = output_int(o, ev->ts_ms)) != 0 ||
	    (err = output_str(o, ev->call_id)) != 0 || (err = output_int(o, ev->callback_id)) != 0 ||
	    (err = output_str(o, ev->event)) != 0 || (err = output_str(o, ev->dept)) != 0 ||
	    (err = output_str(o, ev->dnis)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, ev->result)) != 0 || (err = output_str(o, ev->reason)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, ev->detail)) != 0)
		return err;
	return output_end_row(o);
}

static int
print_csv(const struct caller *c)
{
	struct output *o;
	int err = output_open(&o, stdout, OUTPUT_CSV, 0, csv_columns, ARRAY_LEN(csv_columns));

	for (size_t i = 0; err == 0 && i < c->calls->n; i++)
		err = csv_call(o, &c->calls->v[i]);
	for (size_t i = 0; err == 0 && i < c->promises->n; i++) {
		err = csv_promise(o, &c->promises->v[i]);
		for (size_t k = 0; err == 0 && k < c->events[i]->n; k++)
			err = csv_event(o, &c->events[i]->v[k]->ev);
	}
	return o != NULL ? close_table(o, err) : err;
}

static enum ctl_status
cmd_caller_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum output_format fmt = OUTPUT_TABLE;
	struct journal_query *q = NULL;
	struct caller c = {0};
	enum ctl_status st = CTL_OK;
	size_t limit = DEFAULT_LIMIT;
	char buf[NUMBER_MAX], *end;
	const char *number;
	bool loaded = false;
	int ch, err;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
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
	if (optind == argc)
		return ctl_usage(cmd, "which number?");
	if (argc - optind > 1)
		return ctl_usage(cmd, "one number at a time");
	if (*argv[optind] == '\0')
		return ctl_usage(cmd, "which number?");
	number = report_number(buf, sizeof(buf), argv[optind]);

	if ((st = ctl_journal_open(&q, ctl)) != CTL_OK)
		goto out;
	loaded = true;
	if ((err = caller_load(&c, q, number, limit)) != 0) {
		ctl_error("%s", err == ENOMEM ? strerror(err) : journal_query_error(q));
		st = CTL_ERROR;
		goto out;
	}
	err = fmt == OUTPUT_JSON ? print_json(&c) : fmt == OUTPUT_CSV ? print_csv(&c) :
		print_table(&c);
	if (err != 0) {
		ctl_error("writing the caller's journey: %s", strerror(err));
		st = CTL_ERROR;
	}
out:
	if (loaded)
		caller_clear(&c);
	journal_query_close(q);
	return st;
}
