/* Rows of figures for the transfers, drops and report kinds, on output.c: a rate is a JSON
 * number or null (output_json), "75.0%" in a table; durations and times for people. */
#ifndef IVR_REPORT_FIGURES_H
#define IVR_REPORT_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ivr/journal_stats.h"
#include "ivr/output.h"
#include "ivr/report.h"

struct fig_out {
	FILE *fp;
	enum output_format fmt;
	struct output *o;
};

int fig_open(struct fig_out *fo, FILE *fp, enum output_format fmt,
	const struct output_column *cols, size_t ncols);
int fig_str(struct fig_out *fo, const char *s);
int fig_int(struct fig_out *fo, int64_t v);
/* v < 0: no value */
int fig_ms(struct fig_out *fo, int64_t v);
/* n / d, null when d is 0: a JSON number, "0.75" in CSV, "75.0%" in a table. */
int fig_rate(struct fig_out *fo, size_t n, size_t d);
/* A JSON value as written (json), and how a table and CSV show it (text). */
int fig_nested(struct fig_out *fo, const char *json, const char *text);
/* A local time for people (table only columns). */
int fig_time(struct fig_out *fo, int64_t ms);
int fig_end_row(struct fig_out *fo);
/* 0 or the errno of a failed write. */
int fig_close(struct fig_out *fo);

/* "0.75" (up to 4 significant digits) or "null". */
void fig_rate_text(char *buf, size_t size, size_t n, size_t d);

/* A number as a report shows it: masked when asked, NULL stays NULL. */
const char *fig_number(char *buf, size_t size, const char *n, bool mask);

/* The figures for a report's arguments; err set on failure. */
int fig_read(struct journal_figures **fp, struct journal_query *q,
	const struct report_args *a, bool lists, bool by_dept, char *err, size_t errlen);

/* One table of figures: its columns and what writes its rows. */
struct fig_table {
	const struct output_column *cols;
	size_t ncols;
	int (*rows)(struct fig_out *fo, struct journal_query *q, const struct journal_figures *fig,
		const struct report_args *a, char *err, size_t errlen);
};

/* Reads the figures (lists when a->list) and writes t; err says why on failure. */
int fig_report(FILE *fp, enum output_format fmt, struct journal_query *q,
	const struct report_args *a, bool by_dept, const struct fig_table *t, char *err,
	size_t errlen);

#endif
