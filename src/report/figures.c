/* Rows of figures (figures.h). */
#include <stdio.h>
#include <string.h>

#include "figures.h"

int
fig_open(struct fig_out *fo, FILE *fp, enum output_format fmt,
	const struct output_column *cols, size_t ncols)
{
	memset(fo, 0, sizeof(*fo));
	fo->fp = fp;
	fo->fmt = fmt;
	return output_open(&fo->o, fp, fmt, 0, cols, ncols);
}

int
fig_str(struct fig_out *fo, const char *s)
{
	return output_str(fo->o, s);
}

int
fig_int(struct fig_out *fo, int64_t v)
{
	return output_int(fo->o, v);
}

int
fig_ms(struct fig_out *fo, int64_t v)
{
	if (v < 0)
		return fig_str(fo, NULL);
	return fig_int(fo, v);
}

void
fig_rate_text(char *buf, size_t size, size_t n, size_t d)
{
	if (d == 0)
		snprintf(buf, size, "null");
	else
		snprintf(buf, size, "%.4g", (double)n / (double)d);
}

int
fig_rate(struct fig_out *fo, size_t n, size_t d)
{
	char buf[32];

	if (d == 0)
		return fig_str(fo, NULL);
	if (fo->fmt == OUTPUT_TABLE) {
		snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * (double)n / (double)d);
		return output_str(fo->o, buf);
	}
	fig_rate_text(buf, sizeof(buf), n, d);
	return fig_nested(fo, buf, buf);
}

int
fig_nested(struct fig_out *fo, const char *json, const char *text)
{
	return output_json(fo->o, json, text);
}

int
fig_time(struct fig_out *fo, int64_t ms)
{
	char buf[64];

	if (fo->fmt != OUTPUT_TABLE)
		return fig_str(fo, NULL);
	report_format_time(buf, sizeof(buf), ms);
	return fig_str(fo, buf);
}

int
fig_end_row(struct fig_out *fo)
{
	return output_end_row(fo->o);
}

int
fig_close(struct fig_out *fo)
{
	return output_close(fo->o);
}

const char *
fig_number(char *buf, size_t size, const char *n, bool mask)
{
	if (n == NULL || !mask)
		return n;
	report_mask_number(buf, size, n);
	return buf;
}

int
fig_read(struct journal_figures **fp, struct journal_query *q,
	const struct report_args *a, bool lists, bool by_dept, char *err, size_t errlen)
{
	struct journal_stats_filter f = {
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
		/* transfers: every call, and only that department's rows shown */
		.dept = by_dept ? NULL : a->dept,
		.number = a->number,
		.lists = lists,
	};

	return journal_stats_read(fp, q, &f, err, errlen);
}

int
fig_report(FILE *fp, enum output_format fmt, struct journal_query *q,
	const struct report_args *a, bool by_dept, const struct fig_table *t, char *err,
	size_t errlen)
{
	struct journal_figures *fig = NULL;
	struct fig_out fo;
	bool open = false;
	int ret, cret;

	err[0] = '\0';
	if ((ret = fig_read(&fig, q, a, a->list, by_dept, err, errlen)) != 0)
		goto out;
	if ((ret = fig_open(&fo, fp, fmt, t->cols, t->ncols)) != 0)
		goto out;
	open = true;
	ret = t->rows(&fo, q, fig, a, err, errlen);
out:
	if (open && (cret = fig_close(&fo)) != 0 && ret == 0)
		ret = cret;
	if (ret != 0 && err[0] == '\0')
		snprintf(err, errlen, "%s", strerror(ret));
	journal_figures_free(fig);
	return ret;
}
