/* ivrctl calls and GET /api/calls (report.h): the calls that started in a time range,
 * newest first, one line each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ivr/json.h"
#include "ivr/util.h"
#include "report_int.h"

/* Table columns read for people; JSON and CSV keep raw values under stable keys. */
const struct output_column report_call_columns[] = {
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
const size_t report_call_ncolumns = ARRAY_LEN(report_call_columns);

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

int
report_call_row(struct output *o, const struct journal_call *c, bool mask)
{
	char start[32], dur[32], ani[REPORT_NUMBER_MAX], dnis[REPORT_NUMBER_MAX];
	int err;

	report_format_time(start, sizeof(start), c->start_ms);
	format_duration(dur, sizeof(dur), c->duration_ms);
	if ((err = output_str(o, start)) != 0 || (err = output_str(o, c->call_id)) != 0 ||
	    (err = output_int(o, c->start_ms)) != 0 ||
	    (err = output_str(o, report_shown(ani, sizeof(ani), c->ani, mask))) != 0 ||
	    (err = output_str(o, report_shown(dnis, sizeof(dnis), c->dnis, mask))) != 0 ||
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

int
report_calls_json(char **out, const struct journal_calls *calls, bool mask)
{
	struct output *o = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);
	int ret, rc;

	if (fp == NULL)
		return errno;
	ret = output_open(&o, fp, OUTPUT_JSON, 0, report_call_columns, report_call_ncolumns);
	for (size_t i = 0; ret == 0 && i < calls->n; i++)
		ret = report_call_row(o, &calls->v[i], mask);
	if (o != NULL && (rc = output_close(o)) != 0 && ret == 0)
		ret = rc;
	if (fclose(fp) != 0 && ret == 0)
		ret = ENOMEM;
	/* the array ends a line on its own; nested, the enclosing document goes on */
	while (ret == 0 && len > 0 && (*out)[len - 1] == '\n')
		(*out)[--len] = '\0';
	if (ret != 0) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

REPORT_FN(report_calls)
{
	struct journal_call_filter f = {
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
		.number = a->number[0] != '\0' ? a->number : NULL,
		.dept = a->dept[0] != '\0' ? a->dept : NULL,
		.limit = a->limit,
	};
	struct journal_calls *calls = NULL;
	struct output *o = NULL;
	int ret, rc;

	if ((ret = journal_query_calls(&calls, q, &f)) != 0)
		return report_journal_error(ret, q, err, errlen);
	ret = output_open(&o, fp, fmt, 0, report_call_columns, report_call_ncolumns);
	for (size_t i = 0; ret == 0 && i < calls->n; i++)
		ret = report_call_row(o, &calls->v[i], a->mask);
	if (o != NULL && (rc = output_close(o)) != 0 && ret == 0)
		ret = rc;
	journal_calls_free(calls);
	return ret != 0 ? report_write_error(ret, err, errlen) : 0;
}
