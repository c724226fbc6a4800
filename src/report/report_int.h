/* One function per report kind (report.h says what each prints), dispatched by report_write.
 * Each returns 0 or an errno value with a sentence in err. */
#ifndef IVR_REPORT_INT_H
#define IVR_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ivr/report.h"

struct json_out;
struct journal_promise;

#define REPORT_FN(name) \
	int name(FILE *fp, enum output_format fmt, struct journal_query *q, \
		const struct report_args *a, char *err, size_t errlen)

REPORT_FN(report_calls);
REPORT_FN(report_trace);
REPORT_FN(report_transfers);
REPORT_FN(report_drops);
REPORT_FN(report_summary);
REPORT_FN(report_callbacks);
REPORT_FN(report_caller);
REPORT_FN(report_export);

/* Numbers as a report shows them (report.h: masked in every format with args.mask). */
#define REPORT_NUMBER_MAX 256
/* n itself, its masked form in buf when mask, or NULL for NULL. */
const char *report_shown(char *buf, size_t size, const char *n, bool mask);

/* An event with its numbers masked: ani, dnis, and the "ani=" / "dnis=" inputs of a route's
 * detail. Without mask, ev as it is. report_masked_clear() frees what it holds. */
struct report_masked {
	struct journal_event ev;
	char ani[REPORT_NUMBER_MAX], dnis[REPORT_NUMBER_MAX];
	char *detail;
};

int report_mask_event(struct report_masked *m, const struct journal_event *ev, bool mask);
void report_masked_clear(struct report_masked *m);
/* journal_event_describe() of ev, its numbers masked when mask. */
int report_describe(char **out, const struct journal_event *ev, bool mask);

/* One call a line (calls, caller): the columns and a row. */
extern const struct output_column report_call_columns[];
extern const size_t report_call_ncolumns;
int report_call_row(struct output *o, const struct journal_call *c, bool mask);
/* The calls as "calls --json" prints them, malloc'ed, for a document that nests them. */
int report_calls_json(char **out, const struct journal_calls *calls, bool mask);

/* A callback promise (callbacks, caller): a row of report_promise_columns (numbers masked
 * in a table unless full_numbers, in every format with mask), or the same members in JSON. */
extern const struct output_column report_promise_columns[];
extern const size_t report_promise_ncolumns;
int report_promise_row(struct output *o, const struct journal_promise *p, bool full_numbers,
	bool mask);
void report_promise_json(struct json_out *w, const struct journal_promise *p, bool mask);

/* The write error of a report, in err ("writing the report: ..."). */
int report_write_error(int err, char *err_buf, size_t errlen);
/* A journal error, in err: the query's sentence, or strerror for ENOMEM. */
int report_journal_error(int err, struct journal_query *q, char *err_buf, size_t errlen);

#endif
