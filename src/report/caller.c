/* ivrctl caller NUMBER and GET /api/caller (report.h): one caller's journey across calls,
 * read from the journal — a summary line first, then their calls and their callback
 * promises with every attempt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/json.h"
#include "ivr/util.h"
#include "report_int.h"

/* Everything shown about one caller. */
struct caller {
	const char *number;  /* as shown: masked with mask */
	bool mask;
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
caller_load(struct caller *c, struct journal_query *q, const struct report_args *a)
{
	const char *dept = a->dept[0] != '\0' ? a->dept : NULL;
	struct journal_call_filter cf = {.since_ms = a->since_ms, .until_ms = a->until_ms,
		.number = a->number, .dept = dept, .limit = a->limit};
	struct journal_promise_filter pf = {.view = JPROM_ALL, .now_ms = a->now_ms,
		.number = a->number, .dept = dept, .since_ms = a->since_ms,
		.until_ms = a->until_ms};
	int err;

	if ((err = journal_query_caller_totals(&c->totals, q, &cf)) != 0 ||
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
print_table(FILE *fp, const struct caller *c)
{
	struct output *o;
	char line[512], when[32];
	int err;

	summary(line, sizeof(line), c);
	fprintf(fp, "caller %s: %s\n\n", c->number, line);
	if (c->calls->n == 0) {
		fputs("no calls recorded\n", fp);
	} else {
		if (c->calls->n < c->totals.calls)
			fprintf(fp, "the last %zu calls:\n", c->calls->n);
		if ((err = output_open(&o, fp, OUTPUT_TABLE, 0, call_columns,
		    ARRAY_LEN(call_columns))) != 0)
			return err;
		for (size_t i = 0; err == 0 && i < c->calls->n; i++) {
			const struct journal_call *call = &c->calls->v[i];
			char dnis[REPORT_NUMBER_MAX];

			report_format_time(when, sizeof(when), call->start_ms);
			if ((err = output_str(o, when)) == 0 &&
			    (err = output_str(o, call->call_id)) == 0 &&
			    (err = output_str(o, report_shown(dnis, sizeof(dnis), call->dnis,
			    c->mask))) == 0 &&
			    (err = output_str(o, call->outcome)) == 0 &&
			    (err = output_str(o, call->menu_path)) == 0)
				err = output_end_row(o);
		}
		if ((err = close_table(o, err)) != 0)
			return err;
	}
	if (c->promises->n == 0)
		return 0;
	fputc('\n', fp);
	/* the caller is known by number here: whole numbers unless masked */
	if ((err = output_open(&o, fp, OUTPUT_TABLE, 0, report_promise_columns,
	    report_promise_ncolumns)) != 0)
		return err;
	for (size_t i = 0; err == 0 && i < c->promises->n; i++)
		err = report_promise_row(o, &c->promises->v[i], true, c->mask);
	if ((err = close_table(o, err)) != 0)
		return err;
	fputc('\n', fp);
	if ((err = output_open(&o, fp, OUTPUT_TABLE, 0, history_columns,
	    ARRAY_LEN(history_columns))) != 0)
		return err;
	for (size_t i = 0; err == 0 && i < c->promises->n; i++) {
		for (size_t k = 0; err == 0 && k < c->events[i]->n; k++) {
			const struct journal_event *ev = &c->events[i]->v[k]->ev;
			char *words = NULL;

			report_format_time(when, sizeof(when), ev->ts_ms);
			if ((err = report_describe(&words, ev, c->mask)) == 0 &&
			    (err = output_int(o, c->promises->v[i].id)) == 0 &&
			    (err = output_str(o, when)) == 0 && (err = output_str(o, words)) == 0)
				err = output_end_row(o);
			free(words);
		}
	}
	return close_table(o, err);
}

static void
json_event(struct json_out *w, const struct journal_row *r, bool mask)
{
	char dnis[REPORT_NUMBER_MAX], *words = NULL;
	const struct journal_event *ev = &r->ev;

	json_begin_obj(w, NULL);
	json_int(w, "id", r->id);
	json_int(w, "ts_ms", ev->ts_ms);
	json_str(w, "event", ev->event);
	json_str(w, "call_id", ev->call_id);
	json_str(w, "dept", ev->dept);
	json_str(w, "dnis", report_shown(dnis, sizeof(dnis), ev->dnis, mask));
	json_str(w, "result", ev->result);
	json_str(w, "reason", ev->reason);
	json_str(w, "detail", ev->detail);
	report_describe(&words, ev, mask);
	json_str(w, "text", words);
	free(words);
	json_end_obj(w);
}

static int
print_json(FILE *fp, const struct caller *c)
{
	struct json_out w;
	char line[512], *calls = NULL;
	int err;

	/* the calls exactly as "calls --json" prints them */
	if ((err = report_calls_json(&calls, c->calls, c->mask)) != 0)
		return err;
	summary(line, sizeof(line), c);
	fputs("{\"number\": ", fp);
	json_write_string(fp, c->number);
	json_out_fields(&w, fp);
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
	json_raw(&w, "calls", calls);
	free(calls);
	json_begin_arr(&w, "promises");
	for (size_t i = 0; i < c->promises->n; i++) {
		json_begin_obj(&w, NULL);
		report_promise_json(&w, &c->promises->v[i], c->mask);
		json_begin_arr(&w, "events");
		for (size_t k = 0; k < c->events[i]->n; k++)
			json_event(&w, c->events[i]->v[k], c->mask);
		json_end_arr(&w);
		json_end_obj(&w);
	}
	json_end_arr(&w);
	fputs("}\n", fp);
	return fflush(fp) != 0 || ferror(fp) ? EIO : 0;
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
csv_call(struct output *o, const struct journal_call *call, bool mask)
{
	char dnis[REPORT_NUMBER_MAX];
	int err;

	if ((err = output_str(o, "call")) != 0 || (err = output_int(o, call->start_ms)) != 0 ||
	    (err = output_str(o, call->call_id)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, call->dept)) != 0 ||
	    (err = output_str(o, report_shown(dnis, sizeof(dnis), call->dnis, mask))) != 0 ||
	    (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, call->outcome)) != 0 ||
	    (err = output_str(o, call->end_reason)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, call->menu_path)) != 0)
		return err;
	return output_end_row(o);
}

static int
csv_promise(struct output *o, const struct journal_promise *p, bool mask)
{
	char number[REPORT_NUMBER_MAX];
	int err;

	if ((err = output_str(o, "promise")) != 0 || (err = output_int(o, p->created_ms)) != 0 ||
	    (err = output_str(o, p->call_id)) != 0 || (err = output_int(o, p->id)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, p->dept)) != 0 ||
	    (err = output_str(o, report_shown(number, sizeof(number), p->number, mask))) != 0 ||
	    (err = output_str(o, p->state)) != 0 ||
	    (err = output_str(o, p->last_result)) != 0 || (err = output_str(o, p->reason)) != 0 ||
	    (err = output_int(o, p->attempts)) != 0 ||
	    (err = output_int(o, p->max_attempts)) != 0 || (err = output_int(o, p->due_ms)) != 0 ||
	    (err = output_str(o, p->kept_call_id)) != 0)
		return err;
	return output_end_row(o);
}

static int
csv_event(struct output *o, const struct journal_event *ev, bool mask)
{
	char dnis[REPORT_NUMBER_MAX];
	int err;

	if ((err = output_str(o, "event")) != 0 || (err = output_int(o, ev->ts_ms)) != 0 ||
	    (err = output_str(o, ev->call_id)) != 0 || (err = output_int(o, ev->callback_id)) != 0 ||
	    (err = output_str(o, ev->event)) != 0 || (err = output_str(o, ev->dept)) != 0 ||
	    (err = output_str(o, report_shown(dnis, sizeof(dnis), ev->dnis, mask))) != 0 ||
	    (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, ev->result)) != 0 || (err = output_str(o, ev->reason)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, NULL)) != 0 ||
	    (err = output_str(o, NULL)) != 0 || (err = output_str(o, ev->detail)) != 0)
		return err;
	return output_end_row(o);
}

static int
print_csv(FILE *fp, const struct caller *c)
{
	struct output *o;
	int err = output_open(&o, fp, OUTPUT_CSV, 0, csv_columns, ARRAY_LEN(csv_columns));

	for (size_t i = 0; err == 0 && i < c->calls->n; i++)
		err = csv_call(o, &c->calls->v[i], c->mask);
	for (size_t i = 0; err == 0 && i < c->promises->n; i++) {
		err = csv_promise(o, &c->promises->v[i], c->mask);
		for (size_t k = 0; err == 0 && k < c->events[i]->n; k++)
			err = csv_event(o, &c->events[i]->v[k]->ev, c->mask);
	}
	return o != NULL ? close_table(o, err) : err;
}

REPORT_FN(report_caller)
{
	char shown[REPORT_NUMBER_MAX];
	struct caller c = {0};
	int ret;

	c.number = report_shown(shown, sizeof(shown), a->number, a->mask);
	c.mask = a->mask;
	if ((ret = caller_load(&c, q, a)) != 0) {
		report_journal_error(ret, q, err, errlen);
		goto out;
	}
	ret = fmt == OUTPUT_JSON ? print_json(fp, &c) : fmt == OUTPUT_CSV ? print_csv(fp, &c) :
		print_table(fp, &c);
	if (ret != 0)
		report_write_error(ret, err, errlen);
out:
	caller_clear(&c);
	return ret;
}
