/* One function per report kind (report.h says what each prints), dispatched by report_write.
 * Each returns 0 or an errno value with a sentence in err. */
#ifndef IVR_REPORT_INT_H
#define IVR_REPORT_INT_H

#include <stddef.h>
#include <stdio.h>

#include "ivr/report.h"

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

#endif
