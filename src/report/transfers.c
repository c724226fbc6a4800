/* ivrctl transfers and GET /api/transfers (report.h): by department and result, or with
 * list every transfer attempt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "ivr/util.h"
#include "report_int.h"

static const struct output_column dept_cols[] = {
	{"dept", "DEPT", 0},
	{"routed", "ROUTED", OUTPUT_RIGHT},
	{"transfers", "TRANSFERS", OUTPUT_RIGHT},
	{"ok", "OK", OUTPUT_RIGHT},
	{"failed", "FAILED", OUTPUT_RIGHT},
	{"closed", "CLOSED", OUTPUT_RIGHT},
	{"busy", "BUSY", OUTPUT_RIGHT},
	{"refused", "REFUSED", OUTPUT_RIGHT},
	{"success_rate", "SUCCESS", OUTPUT_RIGHT},
	{"first_ok", "FIRST OK", OUTPUT_RIGHT},
	{"callbacks_offered", "CALLBACKS OFFERED", OUTPUT_RIGHT},
};

static const struct output_column list_cols[] = {
	{"ts_ms", "TS", OUTPUT_DATA_ONLY},
	{"time", "TIME", OUTPUT_TABLE_ONLY},
	{"call_id", "CALL-ID", 0},
	{"ani", "CALLER", 0},
	{"menu", "MENU", 0},
	{"reason", "WHY", 0},
	{"dept", "DEPT", 0},
	{"target", "TARGET", 0},
	{"result", "RESULT", 0},
	{"failure", "FAILURE", 0},
	{"next", "THEN", 0},
};

static int
dept_rows(struct fig_out *fo, struct journal_query *q, const struct journal_figures *fig,
	const struct report_args *a, char *err, size_t errlen)
{
	size_t shown = 0;
	int ret = 0;

	(void)q;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < fig->ndepts && ret == 0; i++) {
		const struct jstat_dept *d = &fig->depts[i];
		if (a->dept[0] != '\0' && strcmp(d->dept, a->dept) != 0)
			continue;
		if (a->limit != 0 && shown++ == a->limit)
			break;
		fig_str(fo, d->dept);
		fig_int(fo, (int64_t)d->routed);
		fig_int(fo, (int64_t)d->transfers);
		fig_int(fo, (int64_t)d->ok);
		fig_int(fo, (int64_t)d->failed);
		fig_int(fo, (int64_t)d->closed);
		fig_int(fo, (int64_t)d->busy);
		fig_int(fo, (int64_t)d->refused);
		fig_rate(fo, d->ok, d->ok + d->failed);
		fig_int(fo, (int64_t)d->first_ok);
		fig_int(fo, (int64_t)d->callbacks_offered);
		ret = fig_end_row(fo);
	}
	return ret;
}

/* The call's outcome in words, as "ivrctl calls" says it. */
static int
outcome(struct journal_call *c, struct journal_query *q, const char *call_id)
{
	struct journal_rows *rows = NULL;
	int ret;

	if ((ret = journal_query_call(&rows, q, call_id)) != 0)
		return ret;
	ret = journal_call_summarise(c, rows);
	journal_rows_free(rows);
	return ret;
}

static int
list_rows(struct fig_out *fo, struct journal_query *q, const struct journal_figures *fig,
	const struct report_args *a, char *err, size_t errlen)
{
	struct journal_call call = {0};
	const char *have = NULL;
	size_t shown = 0;
	char num[64];
	int ret = 0;

	for (size_t i = 0; i < fig->ntransfer_list && ret == 0; i++) {
		const struct jstat_transfer *t = &fig->transfer_list[i];
		if (a->dept[0] != '\0' && (t->dept == NULL || strcmp(t->dept, a->dept) != 0))
			continue;
		if (a->limit != 0 && shown++ == a->limit)
			break;
		/* rows of one call follow each other: summed up once */
		if (have != t->call_id) {
			journal_call_clear(&call);
			memset(&call, 0, sizeof(call));
			have = NULL;
			if ((ret = outcome(&call, q, t->call_id)) != 0 && ret != ENOENT) {
				snprintf(err, errlen, "%s", journal_query_error(q));
				break;
			}
			ret = 0;
			have = t->call_id;
		}
		fig_int(fo, t->ts_ms);
		fig_time(fo, t->ts_ms);
		fig_str(fo, t->call_id);
		fig_str(fo, fig_number(num, sizeof(num), t->ani, a->mask));
		fig_str(fo, t->menu);
		fig_str(fo, t->reason);
		fig_str(fo, t->dept);
		fig_str(fo, t->target);
		fig_str(fo, t->result);
		fig_str(fo, t->failure);
		fig_str(fo, call.outcome);
		ret = fig_end_row(fo);
	}
	journal_call_clear(&call);
	return ret;
}

REPORT_FN(report_transfers)
{
	static const struct fig_table depts = {dept_cols, ARRAY_LEN(dept_cols), dept_rows};
	static const struct fig_table transfers = {list_cols, ARRAY_LEN(list_cols), list_rows};

	return fig_report(fp, fmt, q, a, true, a->list ? &transfers : &depts, err, errlen);
}
