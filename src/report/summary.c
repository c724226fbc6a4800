/* ivrctl report and GET /api/report (report.h): a day or a range in figures. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "ivr/json.h"
#include "ivr/util.h"
#include "report_int.h"

#define BUSIEST_HOURS 3

struct promise_figures {
	size_t made, kept, kept_on_time, kept_late, broken, cancelled, open;
};

static int
read_promises(struct promise_figures *p, struct journal_query *q, const struct report_args *a,
	char *err, size_t errlen)
{
	struct journal_promise_filter f = {
		.view = JPROM_ALL,
		.now_ms = a->now_ms,
		.dept = a->dept[0] != '\0' ? a->dept : NULL,
		.number = a->number[0] != '\0' ? a->number : NULL,
		.since_ms = a->since_ms,
		.until_ms = a->until_ms,
	};
	struct journal_promises *ps = NULL;
	int ret;

	memset(p, 0, sizeof(*p));
	if ((ret = journal_query_promises(&ps, q, &f)) != 0) {
		snprintf(err, errlen, "%s", journal_query_error(q));
		return ret;
	}
	for (size_t i = 0; i < ps->n; i++) {
		const struct journal_promise *r = &ps->v[i];
		const char *s = r->state != NULL ? r->state : "";
		p->made++;
		if (strcmp(s, "kept") == 0) {
			p->kept++;
			if (r->closed_ms >= 0 && r->closed_ms <= r->due_ms)
				p->kept_on_time++;
			else
				p->kept_late++;
		} else if (strcmp(s, "broken") == 0) {
			p->broken++;
		} else if (strcmp(s, "cancelled") == 0) {
			p->cancelled++;
		} else {
			p->open++;
		}
	}
	journal_promises_free(ps);
	return 0;
}

/* The busiest hours (most calls, earlier first on a tie). */
static size_t
busiest(const struct jstat_hour *out[BUSIEST_HOURS], const struct journal_figures *fig)
{
	size_t n = 0;

	for (size_t i = 0; i < fig->nhours; i++) {
		const struct jstat_hour *h = &fig->hours[i];
		size_t k = n < BUSIEST_HOURS ? n++ : BUSIEST_HOURS;
		for (; k > 0 && out[k - 1]->calls < h->calls; k--)
			if (k < BUSIEST_HOURS)
				out[k] = out[k - 1];
		if (k < BUSIEST_HOURS)
			out[k] = h;
	}
	return n;
}

/* A small JSON writer that also takes rates (numbers with a fraction, or null). */
struct sj {
	FILE *fp;
	unsigned d;
	bool more[8];
};

static void
sj_key(struct sj *s, const char *key)
{
	if (s->more[s->d])
		fputc(',', s->fp);
	s->more[s->d] = true;
	if (key != NULL) {
		json_write_string(s->fp, key);
		fputc(':', s->fp);
	}
}

static void
sj_open(struct sj *s, const char *key, char c)
{
	sj_key(s, key);
	fputc(c, s->fp);
	s->more[++s->d] = false;
}

static void
sj_close(struct sj *s, char c)
{
	fputc(c, s->fp);
	s->d--;
}

static void
sj_int(struct sj *s, const char *key, int64_t v)
{
	sj_key(s, key);
	fprintf(s->fp, "%" PRId64, v);
}

/* v 0: unbounded, null */
static void
sj_time(struct sj *s, const char *key, int64_t v)
{
	sj_key(s, key);
	if (v == 0)
		fputs("null", s->fp);
	else
		fprintf(s->fp, "%" PRId64, v);
}

static void
sj_rate(struct sj *s, const char *key, size_t n, size_t d)
{
	char buf[32];

	sj_key(s, key);
	fig_rate_text(buf, sizeof(buf), n, d);
	fputs(buf, s->fp);
}

static void
sj_str(struct sj *s, const char *key, const char *v)
{
	sj_key(s, key);
	if (v == NULL)
		fputs("null", s->fp);
	else
		json_write_string(s->fp, v);
}

static void
write_json(FILE *fp, const struct journal_figures *fig, const struct promise_figures *p,
	const struct report_args *a)
{
	const struct jstat_hour *top[BUSIEST_HOURS];
	size_t ntop = busiest(top, fig);
	struct sj s = {.fp = fp};
	char num[64];

	sj_open(&s, NULL, '{');
	sj_time(&s, "since_ms", a->since_ms);
	sj_time(&s, "until_ms", a->until_ms);
	sj_int(&s, "calls", (int64_t)fig->calls);
	sj_int(&s, "routed_calls", (int64_t)fig->routed_calls);
	sj_int(&s, "transferred_calls", (int64_t)fig->transferred_calls);
	sj_int(&s, "transfers", (int64_t)fig->transfers);
	sj_rate(&s, "transfers_per_routed_call", fig->transfers, fig->routed_calls);
	sj_rate(&s, "first_transfer_success_rate", fig->first_ok_calls, fig->transferred_calls);
	sj_int(&s, "dropped_calls", (int64_t)fig->dropped_calls);
	sj_rate(&s, "drop_rate", fig->dropped_calls, fig->calls);
	sj_open(&s, "drops_by_menu", '[');
	for (size_t i = 0; i < fig->nmenus; i++) {
		const struct jstat_menu *m = &fig->menus[i];
		sj_open(&s, NULL, '{');
		sj_str(&s, "menu", m->menu);
		sj_int(&s, "calls", (int64_t)m->calls);
		sj_int(&s, "hung_up", (int64_t)m->hung_up);
		sj_rate(&s, "rate", m->hung_up, m->calls);
		sj_close(&s, '}');
	}
	sj_close(&s, ']');
	sj_open(&s, "promises", '{');
	sj_int(&s, "made", (int64_t)p->made);
	sj_int(&s, "kept", (int64_t)p->kept);
	sj_int(&s, "kept_on_time", (int64_t)p->kept_on_time);
	sj_int(&s, "kept_late", (int64_t)p->kept_late);
	sj_int(&s, "broken", (int64_t)p->broken);
	sj_int(&s, "cancelled", (int64_t)p->cancelled);
	sj_int(&s, "open", (int64_t)p->open);
	sj_rate(&s, "on_time_rate", p->kept_on_time, p->kept + p->broken);
	sj_close(&s, '}');
	sj_int(&s, "callers", (int64_t)fig->callers);
	sj_int(&s, "repeat_callers", (int64_t)fig->repeat_callers);
	sj_int(&s, "repeat_calls", (int64_t)fig->repeat_calls);
	sj_open(&s, "top_callers", '[');
	for (size_t i = 0; i < fig->ntop; i++) {
		const struct jstat_caller *c = &fig->top[i];
		sj_open(&s, NULL, '{');
		sj_str(&s, "number", fig_number(num, sizeof(num), c->number, a->mask));
		sj_int(&s, "calls", (int64_t)c->calls);
		sj_int(&s, "transfers", (int64_t)c->transfers);
		sj_int(&s, "drops", (int64_t)c->drops);
		sj_close(&s, '}');
	}
	sj_close(&s, ']');
	sj_open(&s, "hours", '[');
	for (size_t i = 0; i < fig->nhours; i++) {
		const struct jstat_hour *h = &fig->hours[i];
		sj_open(&s, NULL, '{');
		sj_int(&s, "hour_ms", h->hour_ms);
		sj_int(&s, "calls", (int64_t)h->calls);
		sj_int(&s, "transferred", (int64_t)h->transferred);
		sj_int(&s, "dropped", (int64_t)h->dropped);
		sj_close(&s, '}');
	}
	sj_close(&s, ']');
	sj_open(&s, "busiest_hours", '[');
	for (size_t i = 0; i < ntop; i++) {
		sj_open(&s, NULL, '{');
		sj_int(&s, "hour_ms", top[i]->hour_ms);
		sj_int(&s, "calls", (int64_t)top[i]->calls);
		sj_close(&s, '}');
	}
	sj_close(&s, ']');
	sj_close(&s, '}');
	fputc('\n', fp);
}

/* CSV: "figure,value" rows named as the JSON paths. */
static int
csv_row(struct output *o, const char *fmt_path, const char *a1, const char *a2,
	const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), fmt_path, a1, a2);
	output_str(o, path);
	output_str(o, value);
	return output_end_row(o);
}

static int
csv_int(struct output *o, const char *p1, const char *p2, const char *p3, size_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%zu", v);
	return csv_row(o, p1, p2, p3, buf);
}

static int
csv_rate(struct output *o, const char *p1, const char *p2, const char *p3, size_t n, size_t d)
{
	char buf[32];

	fig_rate_text(buf, sizeof(buf), n, d);
	return csv_row(o, p1, p2, p3, d == 0 ? NULL : buf);
}

static int
write_csv(FILE *fp, const struct journal_figures *fig, const struct promise_figures *p,
	const struct report_args *a)
{
	static const struct output_column cols[] = {{"figure", "FIGURE", 0}, {"value", "VALUE", 0}};
	const struct jstat_hour *top[BUSIEST_HOURS];
	size_t ntop = busiest(top, fig);
	struct output *o;
	char buf[64], num[64];
	int ret;

	if ((ret = output_open(&o, fp, OUTPUT_CSV, 0, cols, ARRAY_LEN(cols))) != 0)
		return ret;
	snprintf(buf, sizeof(buf), "%" PRId64, a->since_ms);
	csv_row(o, "since_ms", NULL, NULL, a->since_ms ? buf : NULL);
	snprintf(buf, sizeof(buf), "%" PRId64, a->until_ms);
	csv_row(o, "until_ms", NULL, NULL, a->until_ms ? buf : NULL);
	csv_int(o, "calls", NULL, NULL, fig->calls);
	csv_int(o, "routed_calls", NULL, NULL, fig->routed_calls);
	csv_int(o, "transferred_calls", NULL, NULL, fig->transferred_calls);
	csv_int(o, "transfers", NULL, NULL, fig->transfers);
	csv_rate(o, "transfers_per_routed_call", NULL, NULL, fig->transfers, fig->routed_calls);
	csv_rate(o, "first_transfer_success_rate", NULL, NULL, fig->first_ok_calls,
		fig->transferred_calls);
	csv_int(o, "dropped_calls", NULL, NULL, fig->dropped_calls);
	csv_rate(o, "drop_rate", NULL, NULL, fig->dropped_calls, fig->calls);
	for (size_t i = 0; i < fig->nmenus; i++) {
		const struct jstat_menu *m = &fig->menus[i];
		csv_int(o, "drops_by_menu.%s.calls", m->menu, NULL, m->calls);
		csv_int(o, "drops_by_menu.%s.hung_up", m->menu, NULL, m->hung_up);
		csv_rate(o, "drops_by_menu.%s.rate", m->menu, NULL, m->hung_up, m->calls);
	}
	csv_int(o, "promises.made", NULL, NULL, p->made);
	csv_int(o, "promises.kept", NULL, NULL, p->kept);
	csv_int(o, "promises.kept_on_time", NULL, NULL, p->kept_on_time);
	csv_int(o, "promises.kept_late", NULL, NULL, p->kept_late);
	csv_int(o, "promises.broken", NULL, NULL, p->broken);
	csv_int(o, "promises.cancelled", NULL, NULL, p->cancelled);
	csv_int(o, "promises.open", NULL, NULL, p->open);
	csv_rate(o, "promises.on_time_rate", NULL, NULL, p->kept_on_time, p->kept + p->broken);
	csv_int(o, "callers", NULL, NULL, fig->callers);
	csv_int(o, "repeat_callers", NULL, NULL, fig->repeat_callers);
	csv_int(o, "repeat_calls", NULL, NULL, fig->repeat_calls);
	for (size_t i = 0; i < fig->ntop; i++) {
		const struct jstat_caller *c = &fig->top[i];
		const char *n = fig_number(num, sizeof(num), c->number, a->mask);
		csv_int(o, "top_callers.%s.calls", n, NULL, c->calls);
		csv_int(o, "top_callers.%s.transfers", n, NULL, c->transfers);
		csv_int(o, "top_callers.%s.drops", n, NULL, c->drops);
	}
	for (size_t i = 0; i < fig->nhours; i++) {
		const struct jstat_hour *h = &fig->hours[i];
		snprintf(buf, sizeof(buf), "%" PRId64, h->hour_ms);
		csv_int(o, "hours.%s.calls", buf, NULL, h->calls);
		csv_int(o, "hours.%s.transferred", buf, NULL, h->transferred);
		csv_int(o, "hours.%s.dropped", buf, NULL, h->dropped);
	}
	for (size_t i = 0; i < ntop; i++) {
		snprintf(buf, sizeof(buf), "%" PRId64, top[i]->hour_ms);
		csv_int(o, "busiest_hours.%s.calls", buf, NULL, top[i]->calls);
	}
	return output_close(o);
}

static void
line_int(FILE *fp, const char *words, size_t v)
{
	fprintf(fp, "  %-34s %zu\n", words, v);
}

static void
line_rate(FILE *fp, const char *words, size_t n, size_t d, bool percent)
{
	if (d == 0)
		fprintf(fp, "  %-34s -\n", words);
	else if (percent)
		fprintf(fp, "  %-34s %.1f%% (%zu of %zu)\n", words, 100.0 * (double)n / (double)d,
			n, d);
	else
		fprintf(fp, "  %-34s %.2f\n", words, (double)n / (double)d);
}

static int
write_table(FILE *fp, const struct journal_figures *fig, const struct promise_figures *p,
	const struct report_args *a)
{
	static const struct output_column menu_cols[] = {
		{"menu", "  MENU", 0}, {"calls", "CALLS IN", OUTPUT_RIGHT},
		{"hung_up", "HUNG UP", OUTPUT_RIGHT}, {"rate", "RATE", OUTPUT_RIGHT},
	};
	static const struct output_column caller_cols[] = {
		{"number", "  NUMBER", 0}, {"calls", "CALLS", OUTPUT_RIGHT},
		{"transfers", "TRANSFERS", OUTPUT_RIGHT}, {"drops", "DROPS", OUTPUT_RIGHT},
	};
	static const struct output_column hour_cols[] = {
		{"hour", "  HOUR", 0}, {"calls", "CALLS", OUTPUT_RIGHT},
		{"transferred", "TRANSFERRED", OUTPUT_RIGHT}, {"dropped", "DROPPED", OUTPUT_RIGHT},
	};
	const struct jstat_hour *top[BUSIEST_HOURS];
	size_t ntop = busiest(top, fig);
	char from[64] = "the start", to[64] = "now", buf[96], num[64];
	struct fig_out fo;
	int ret;

	if (a->since_ms != 0)
		report_format_time(from, sizeof(from), a->since_ms);
	if (a->until_ms != 0)
		report_format_time(to, sizeof(to), a->until_ms);
	fprintf(fp, "Calls that started from %s to %s\n", from, to);
	line_int(fp, "calls", fig->calls);
	line_int(fp, "routed to a department", fig->routed_calls);
	line_int(fp, "transferred", fig->transferred_calls);
	line_int(fp, "transfers", fig->transfers);
	line_rate(fp, "transfers per routed call", fig->transfers, fig->routed_calls, false);
	line_rate(fp, "first transfer succeeded", fig->first_ok_calls, fig->transferred_calls,
		true);
	line_int(fp, "hung up in a menu", fig->dropped_calls);
	line_rate(fp, "drop rate", fig->dropped_calls, fig->calls, true);
	line_int(fp, "callers", fig->callers);
	line_int(fp, "callers who called again", fig->repeat_callers);
	line_int(fp, "calls again", fig->repeat_calls);
	fprintf(fp, "Callback promises made\n");
	line_int(fp, "made", p->made);
	line_int(fp, "kept on time", p->kept_on_time);
	line_int(fp, "kept late", p->kept_late);
	line_int(fp, "broken", p->broken);
	line_int(fp, "cancelled", p->cancelled);
	line_int(fp, "open", p->open);
	line_rate(fp, "kept on time (of kept and broken)", p->kept_on_time, p->kept + p->broken,
		true);
	if (fig->nmenus > 0) {
		fprintf(fp, "Drops by menu\n");
		fflush(fp);
		if ((ret = fig_open(&fo, fp, OUTPUT_TABLE, menu_cols, ARRAY_LEN(menu_cols))) != 0)
			return ret;
		for (size_t i = 0; i < fig->nmenus; i++) {
			snprintf(buf, sizeof(buf), "  %s", fig->menus[i].menu);
			fig_str(&fo, buf);
			fig_int(&fo, (int64_t)fig->menus[i].calls);
			fig_int(&fo, (int64_t)fig->menus[i].hung_up);
			fig_rate(&fo, fig->menus[i].hung_up, fig->menus[i].calls);
			fig_end_row(&fo);
		}
		if ((ret = fig_close(&fo)) != 0)
			return ret;
	}
	if (fig->ntop > 0) {
		fprintf(fp, "Callers who called most\n");
		ret = fig_open(&fo, fp, OUTPUT_TABLE, caller_cols, ARRAY_LEN(caller_cols));
		if (ret != 0)
			return ret;
		for (size_t i = 0; i < fig->ntop; i++) {
			snprintf(buf, sizeof(buf), "  %s", fig_number(num, sizeof(num),
				fig->top[i].number, a->mask));
			fig_str(&fo, buf);
			fig_int(&fo, (int64_t)fig->top[i].calls);
			fig_int(&fo, (int64_t)fig->top[i].transfers);
			fig_int(&fo, (int64_t)fig->top[i].drops);
			fig_end_row(&fo);
		}
		if ((ret = fig_close(&fo)) != 0)
			return ret;
	}
	if (ntop > 0) {
		fprintf(fp, "Busiest hours\n");
		for (size_t i = 0; i < ntop; i++) {
			report_format_time(buf, sizeof(buf), top[i]->hour_ms);
			fprintf(fp, "  %.16s  %zu calls\n", buf, top[i]->calls);
		}
		fprintf(fp, "Calls by hour\n");
		if ((ret = fig_open(&fo, fp, OUTPUT_TABLE, hour_cols, ARRAY_LEN(hour_cols))) != 0)
			return ret;
		for (size_t i = 0; i < fig->nhours; i++) {
			char t[64];
			report_format_time(t, sizeof(t), fig->hours[i].hour_ms);
			snprintf(buf, sizeof(buf), "  %.16s", t);
			fig_str(&fo, buf);
			fig_int(&fo, (int64_t)fig->hours[i].calls);
			fig_int(&fo, (int64_t)fig->hours[i].transferred);
			fig_int(&fo, (int64_t)fig->hours[i].dropped);
			fig_end_row(&fo);
		}
		if ((ret = fig_close(&fo)) != 0)
			return ret;
	}
	return 0;
}

REPORT_FN(report_summary)
{
	struct journal_figures *fig = NULL;
	struct promise_figures p;
	int ret;

	err[0] = '\0';
	if ((ret = fig_read(&fig, q, a, false, false, err, errlen)) != 0)
		goto out;
	if ((ret = read_promises(&p, q, a, err, errlen)) != 0)
		goto out;
	if (fmt == OUTPUT_JSON)
		write_json(fp, fig, &p, a);
	else if (fmt == OUTPUT_CSV)
		ret = write_csv(fp, fig, &p, a);
	else
		ret = write_table(fp, fig, &p, a);
	errno = 0;
	if ((fflush(fp) != 0 || ferror(fp)) && ret == 0)
		ret = errno != 0 ? errno : EIO;
out:
	if (ret != 0 && err[0] == '\0')
		snprintf(err, errlen, "%s", strerror(ret));
	journal_figures_free(fig);
	return ret;
}
