/* ivrctl callbacks and GET /api/callbacks (report.h): the callback promises ledger.
 * Escalated promises first: overdue open ones, then broken ones, most overdue first. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ivr/json.h"
#include "ivr/util.h"
#include "report_int.h"

const struct output_column report_promise_columns[] = {
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
const size_t report_promise_ncolumns = ARRAY_LEN(report_promise_columns);


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
report_promise_row(struct output *o, const struct journal_promise *p, bool full_numbers,
	bool mask)
{
	char status[64], shown[REPORT_NUMBER_MAX], tries[48];
	char number[REPORT_NUMBER_MAX], ani[REPORT_NUMBER_MAX];
	const char *num = report_shown(number, sizeof(number), p->number, mask);
	int err;

	snprintf(status, sizeof(status), "%s%s", p->state ? p->state : "?",
		p->overdue ? " (overdue)" : "");
	if (p->number != NULL && (!full_numbers || mask))
		report_mask_number(shown, sizeof(shown), p->number);
	else
		str_copy(shown, p->number ? p->number : "", sizeof(shown));
	snprintf(tries, sizeof(tries), "%lld/%lld", (long long)p->attempts,
		(long long)p->max_attempts);
	if ((err = output_int(o, p->id)) != 0 || (err = output_str(o, status)) != 0 ||
	    (err = output_str(o, p->state)) != 0 || (err = output_bool(o, p->overdue)) != 0 ||
	    (err = output_str(o, p->dept)) != 0 ||
	    (err = output_str(o, p->number ? shown : NULL)) != 0 ||
	    (err = output_str(o, num)) != 0 ||
	    (err = output_str(o, report_shown(ani, sizeof(ani), p->ani, mask))) != 0 ||
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
report_promise_json(struct json_out *w, const struct journal_promise *p, bool mask)
{
	char number[REPORT_NUMBER_MAX], ani[REPORT_NUMBER_MAX];

	json_int(w, "id", p->id);
	json_str(w, "state", p->state);
	json_bool(w, "overdue", p->overdue);
	json_str(w, "dept", p->dept);
	json_str(w, "number", report_shown(number, sizeof(number), p->number, mask));
	json_str(w, "ani", report_shown(ani, sizeof(ani), p->ani, mask));
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

REPORT_FN(report_callbacks)
{
	struct journal_promise_filter f = {
		.view = a->view,
		.now_ms = a->now_ms,
		.dept = a->dept[0] != '\0' ? a->dept : NULL,
		.number = a->number[0] != '\0' ? a->number : NULL,
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
		.limit = a->limit,
	};
	struct journal_promises *ps = NULL;
	struct output *o = NULL;
	int ret, rc;

	if ((ret = journal_query_promises(&ps, q, &f)) != 0)
		return report_journal_error(ret, q, err, errlen);
	if (ps->n == 0 && fmt == OUTPUT_TABLE) {
		bool filtered = a->view != JPROM_ALL || f.dept || f.number || f.since_ms ||
			f.until_ms;

		fputs(ps->recorded && filtered ? "no callback promises match\n" :
			"no callback promises recorded\n", fp);
		ret = fflush(fp) != 0 || ferror(fp) ? EIO : 0;
		goto out;
	}
	ret = output_open(&o, fp, fmt, 0, report_promise_columns, report_promise_ncolumns);
	for (size_t i = 0; ret == 0 && i < ps->n; i++)
		ret = report_promise_row(o, &ps->v[i], a->full_numbers, a->mask);
	if (o != NULL && (rc = output_close(o)) != 0 && ret == 0)
		ret = rc;
out:
	journal_promises_free(ps);
	return ret != 0 ? report_write_error(ret, err, errlen) : 0;
}
