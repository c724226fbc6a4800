/* ivrctl trace and GET /api/trace (report.h): one call as a timeline, each event in words
 * with its offset from the call's start; JSON and CSV give every stored column. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/util.h"
#include "report_int.h"

static const struct output_column columns[] = {
	{"time", "TIME", OUTPUT_TABLE_ONLY | OUTPUT_RIGHT},
	{"id", "", OUTPUT_DATA_ONLY},
	{"ts_ms", "", OUTPUT_DATA_ONLY},
	{"offset_ms", "", OUTPUT_DATA_ONLY},
	{"call_id", "", OUTPUT_DATA_ONLY},
	{"event", "", OUTPUT_DATA_ONLY},
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
print_row(struct output *o, const struct journal_row *r, int64_t start_ms, bool mask)
{
	struct report_masked m;
	const struct journal_event *ev = &m.ev;
	int64_t off = r->ev.ts_ms - start_ms, abs_off = off < 0 ? -off : off;
	const char *const *text[] = {&ev->menu, &ev->key, &ev->dept, &ev->target, &ev->result,
		&ev->reason, &ev->ani, &ev->dnis, &ev->prompt, &ev->detail};
	char time[32], *words = NULL;
	int ret;

	if ((ret = report_mask_event(&m, &r->ev, mask)) != 0 ||
	    (ret = journal_event_describe(&words, ev)) != 0)
		goto out;
	snprintf(time, sizeof(time), "%s%lld.%03lld", off < 0 ? "-" : "+",
		(long long)(abs_off / 1000), (long long)(abs_off % 1000));
	ret = output_str(o, time);
	if (ret == 0)
		ret = output_int(o, r->id);
	if (ret == 0)
		ret = output_int(o, ev->ts_ms);
	if (ret == 0)
		ret = output_int(o, off);
	if (ret == 0)
		ret = output_str(o, ev->call_id);
	if (ret == 0)
		ret = output_str(o, ev->event);
	for (size_t i = 0; ret == 0 && i < ARRAY_LEN(text); i++)
		ret = output_str(o, *text[i]);
	if (ret == 0)
		ret = ev->generation != 0 ? output_int(o, ev->generation) : output_str(o, NULL);
	if (ret == 0)
		ret = ev->duration_ms >= 0 ? output_int(o, ev->duration_ms) : output_str(o, NULL);
	if (ret == 0)
		ret = output_str(o, words);
	if (ret == 0)
		ret = output_end_row(o);
out:
	free(words);
	report_masked_clear(&m);
	return ret;
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

/* With a number instead of a call id: that number's newest call in the range. */
static int
newest_call(char *call_id, size_t size, struct journal_query *q, const struct report_args *a,
	char *err, size_t errlen)
{
	struct journal_call_filter f = {
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
		.number = a->number,
		.limit = 1,
	};
	struct journal_calls *calls = NULL;
	int ret;

	if ((ret = journal_query_calls(&calls, q, &f)) != 0)
		return report_journal_error(ret, q, err, errlen);
	if (calls->n == 0) {
		char shown[REPORT_NUMBER_MAX];

		snprintf(err, errlen, "no calls from or to %s%s in the journal",
			report_shown(shown, sizeof(shown), a->number, a->mask),
			a->since_ms != 0 || a->until_ms != 0 ? " in that time range" : "");
		ret = ENOENT;
	} else if (str_copy(call_id, calls->v[0].call_id, size) >= size) {
		snprintf(err, errlen, "call id too long");
		ret = ENAMETOOLONG;
	}
	journal_calls_free(calls);
	return ret;
}

REPORT_FN(report_trace)
{
	struct journal_rows *rows = NULL;
	struct output *o = NULL;
	char call_id[sizeof(a->call_id)];
	int64_t start;
	int ret, rc;

	if (a->call_id[0] != '\0')
		str_copy(call_id, a->call_id, sizeof(call_id));
	else if ((ret = newest_call(call_id, sizeof(call_id), q, a, err, errlen)) != 0)
		return ret;
	ret = journal_query_call(&rows, q, call_id);
	if (ret == ENOENT) {
		snprintf(err, errlen, "no call %s in the journal", call_id);
		return ENOENT;
	}
	if (ret != 0)
		return report_journal_error(ret, q, err, errlen);
	start = start_of(rows);
	if (fmt == OUTPUT_TABLE) {
		char when[32];

		report_format_time(when, sizeof(when), start);
		fprintf(fp, "call %s, started %s\n", call_id, when);
	}
	ret = output_open(&o, fp, fmt, OUTPUT_NO_HEADER | OUTPUT_SKIP_NULL, columns,
		ARRAY_LEN(columns));
	for (size_t i = 0; ret == 0 && i < rows->n; i++)
		ret = print_row(o, rows->v[i], start, a->mask);
	if (o != NULL && (rc = output_close(o)) != 0 && ret == 0)
		ret = rc;
	journal_rows_free(rows);
	return ret != 0 ? report_write_error(ret, err, errlen) : 0;
}
