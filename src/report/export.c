/* ivrctl export and GET /api/export (report.h). */
#include <errno.h>
#include <stdio.h>

#include "report_int.h"

REPORT_FN(report_export)
{
	(void)fp;
	(void)fmt;
	(void)q;
	(void)a;
	snprintf(err, errlen, "not built yet");
	return ENOSYS;
}
