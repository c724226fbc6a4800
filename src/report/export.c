/* ivrctl export (report.h): every stored column of every event in a range, oldest first,
 * for auditors. CSV unless JSON is asked for; rows stream out as they are read. */
#include <errno.h>
#include <stdio.h>

#include "ivr/util.h"
#include "report_int.h"

/* The events table's columns, as stored (schema.h). */
static const struct output_column columns[] = {
	{"id", "", 0},
	{"ts_ms", "", 0},
	{"call_id", "", 0},
	{"event", "", 0},
	{"menu", "", 0},
	{"key", "", 0},
	{"dept", "", 0},
	{"target", "", 0},
	{"result", "", 0},
	{"reason", "", 0},
	{"ani", "", 0},
	{"dnis", "", 0},
	{"prompt", "", 0},
	{"detail", "", 0},
	{"generation", "", 0},
	{"duration_ms", "", 0},
	{"callback_id", "", 0},
};

struct export {
	struct output *o;
	bool mask;
	int write_err; /* what stopped the scan on this side */
};

/* The journal stores NULL for generation and callback_id 0 and duration_ms -1. */
static int
export_row(void *arg, const struct journal_row *r)
{
	struct export *x = arg;
	struct report_masked m;
	const struct journal_event *ev = &m.ev;
	int ret;

	if ((ret = report_mask_event(&m, &r->ev, x->mask)) != 0)
		return ret;
	const char *text[] = {ev->call_id, ev->event, ev->menu, ev->key, ev->dept, ev->target,
		ev->result, ev->reason, ev->ani, ev->dnis, ev->prompt, ev->detail};
	ret = output_int(x->o, r->id);
	if (ret == 0)
		ret = output_int(x->o, ev->ts_ms);
	for (size_t i = 0; ret == 0 && i < ARRAY_LEN(text); i++)
		ret = output_str(x->o, text[i]);
	if (ret == 0)
		ret = ev->generation != 0 ? output_int(x->o, ev->generation) :
			output_str(x->o, NULL);
	if (ret == 0)
		ret = ev->duration_ms >= 0 ? output_int(x->o, ev->duration_ms) :
			output_str(x->o, NULL);
	if (ret == 0)
		ret = ev->callback_id != 0 ? output_int(x->o, ev->callback_id) :
			output_str(x->o, NULL);
	if (ret == 0)
		ret = output_end_row(x->o);
	report_masked_clear(&m);
	x->write_err = ret;
	return ret;
}

REPORT_FN(report_export)
{
	struct journal_call_filter f = {
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
		.number = a->number[0] != '\0' ? a->number : NULL,
		.dept = a->dept[0] != '\0' ? a->dept : NULL,
	};
	struct export x = {.mask = a->mask};
	int ret, rc;

	if ((ret = output_open(&x.o, fp, fmt == OUTPUT_JSON ? OUTPUT_JSON : OUTPUT_CSV, 0,
	    columns, ARRAY_LEN(columns))) != 0)
		return report_write_error(ret, err, errlen);
	ret = journal_query_events(q, &f, export_row, &x);
	if (ret != 0 && x.write_err == 0) {
		report_journal_error(ret, q, err, errlen);
		output_close(x.o);
		return ret;
	}
	if ((rc = output_close(x.o)) != 0 && ret == 0)
		ret = rc;
	return ret != 0 ? report_write_error(ret, err, errlen) : 0;
}
