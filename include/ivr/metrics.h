/* Counters and gauges with dotted names ("call.active", "menu.timeout"), the same in
 * ivrctl status, the /metrics page and the logs. A series is a name plus an optional label
 * set ("node=main" or "dept=billing,result=ok"). */
#ifndef IVR_METRICS_H
#define IVR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

struct metrics;

enum metric_kind {
	METRIC_COUNTER,
	METRIC_GAUGE,
};

int metrics_new(struct metrics **mp);
void metrics_free(struct metrics *m);
/* Declares a metric's kind and help text (once, at start-up). */
int metrics_declare(struct metrics *m, const char *name, enum metric_kind kind, const char *help);
/* labels: NULL, or "k=v" pairs joined by ","; values must not contain "," or "=". */
void metrics_add(struct metrics *m, const char *name, const char *labels, int64_t by);
void metrics_set(struct metrics *m, const char *name, const char *labels, int64_t value);
int64_t metrics_get(const struct metrics *m, const char *name, const char *labels);

/* Visits every series in name order, then label order. */
void metrics_foreach(const struct metrics *m,
	void (*fn)(void *arg, const char *name, enum metric_kind kind, const char *help,
		const char *labels, int64_t value),
	void *arg);

#endif
