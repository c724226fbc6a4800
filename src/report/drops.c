/* ivrctl drops and GET /api/drops (report.h): the funnel per menu node, or with list every
 * hang-up in a menu. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "ivr/json.h"
#include "ivr/util.h"
#include "report_int.h"

static const struct output_column menu_cols[] = {
	{"menu", "MENU", 0},
	{"entered", "ENTERED", OUTPUT_RIGHT},
	{"calls", "CALLS", OUTPUT_RIGHT},
	{"left", "LEFT BY (KEY>WHERE COUNT)", 0},
	{"invalid", "INVALID", OUTPUT_RIGHT},
	{"timeouts", "TIMEOUTS", OUTPUT_RIGHT},
	{"hung_up", "HUNG UP", OUTPUT_RIGHT},
	{"hangup_rate", "RATE", OUTPUT_RIGHT},
	{"median_hangup_ms", "MEDIAN HANG-UP", OUTPUT_DATA_ONLY},
	{"median_hangup", "MEDIAN HANG-UP", OUTPUT_RIGHT | OUTPUT_TABLE_ONLY},
};

static const struct output_column list_cols[] = {
	{"ts_ms", "TS", OUTPUT_DATA_ONLY},
	{"time", "TIME", OUTPUT_TABLE_ONLY},
	{"call_id", "CALL-ID", 0},
	{"ani", "CALLER", 0},
	{"menu", "MENU", 0},
	{"prompt", "LAST PROMPT", 0},
	{"in_menu_ms", "IN MENU", OUTPUT_DATA_ONLY},
	{"in_menu", "IN MENU", OUTPUT_RIGHT | OUTPUT_TABLE_ONLY},
	{"duration_ms", "IN IVR", OUTPUT_DATA_ONLY},
	{"duration", "IN IVR", OUTPUT_RIGHT | OUTPUT_TABLE_ONLY},
	{"path", "PATH", 0},
};

/* A duration for people: "12.3 s"; none for a negative one. */
static int
seconds(struct fig_out *fo, int64_t ms)
{
	char buf[32];

	if (fo->fmt != OUTPUT_TABLE || ms < 0)
		return fig_str(fo, NULL);
	snprintf(buf, sizeof(buf), "%.1f s", (double)ms / 1000.0);
	return fig_str(fo, buf);
}

/* "left" as JSON and as "1>dept:billing 12, 2>menu:sales 3". */
static int
left_cell(struct fig_out *fo, const struct jstat_menu *m)
{
	char *json = NULL, *text = NULL;
	size_t jlen = 0, tlen = 0;
	FILE *jf = open_memstream(&json, &jlen), *tf = open_memstream(&text, &tlen);
	struct json_out w = {0};
	int ret = ENOMEM;

	if (jf == NULL || tf == NULL)
		goto out;
	w.fp = jf;
	json_begin_arr(&w, NULL);
	for (size_t i = 0; i < m->nleft; i++) {
		const struct jstat_left *l = &m->left[i];
		json_begin_obj(&w, NULL);
		json_str(&w, "key", l->key);
		json_str(&w, "to", l->to);
		json_uint(&w, "count", l->count);
		json_end_obj(&w);
		fprintf(tf, "%s%s>%s %zu", i ? ", " : "", l->key, l->to, l->count);
	}
	json_end_arr(&w);
	if (fclose(jf) != 0 || fclose(tf) != 0) {
		jf = tf = NULL;
		goto out;
	}
	jf = tf = NULL;
	ret = fig_nested(fo, json, text);
out:
	if (jf != NULL)
		fclose(jf);
	if (tf != NULL)
		fclose(tf);
	free(json);
	free(text);
	return ret;
}

static int
menu_rows(struct fig_out *fo, struct journal_query *q, const struct journal_figures *fig,
	const struct report_args *a, char *err, size_t errlen)
{
	int ret = 0;

	(void)q;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < fig->nmenus && ret == 0; i++) {
		const struct jstat_menu *m = &fig->menus[i];
		if (a->limit != 0 && i == a->limit)
			break;
		fig_str(fo, m->menu);
		fig_int(fo, (int64_t)m->entered);
		fig_int(fo, (int64_t)m->calls);
		if ((ret = left_cell(fo, m)) != 0)
			break;
		fig_int(fo, (int64_t)m->invalid);
		fig_int(fo, (int64_t)m->timeouts);
		fig_int(fo, (int64_t)m->hung_up);
		fig_rate(fo, m->hung_up, m->calls);
		fig_ms(fo, m->median_hangup_ms);
		seconds(fo, m->median_hangup_ms);
		ret = fig_end_row(fo);
	}
	return ret;
}

static int
list_rows(struct fig_out *fo, struct journal_query *q, const struct journal_figures *fig,
	const struct report_args *a, char *err, size_t errlen)
{
	char num[64];
	int ret = 0;

	(void)q;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < fig->ndrop_list && ret == 0; i++) {
		const struct jstat_drop *d = &fig->drop_list[i];
		if (a->limit != 0 && i == a->limit)
			break;
		fig_int(fo, d->ts_ms);
		fig_time(fo, d->ts_ms);
		fig_str(fo, d->call_id);
		fig_str(fo, fig_number(num, sizeof(num), d->ani, a->mask));
		fig_str(fo, d->menu);
		fig_str(fo, d->prompt);
		fig_ms(fo, d->in_menu_ms);
		seconds(fo, d->in_menu_ms);
		fig_ms(fo, d->duration_ms);
		seconds(fo, d->duration_ms);
		fig_str(fo, d->path);
		ret = fig_end_row(fo);
	}
	return ret;
}

REPORT_FN(report_drops)
{
	static const struct fig_table menus = {menu_cols, ARRAY_LEN(menu_cols), menu_rows};
	static const struct fig_table drops = {list_cols, ARRAY_LEN(list_cols), list_rows};

	return fig_report(fp, fmt, q, a, false, a->list ? &drops : &menus, err, errlen);
}
