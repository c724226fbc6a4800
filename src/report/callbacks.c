/* ivrctl callbacks and GET /api/callbacks (report.h). */
#include <errno.h>
#include <stdio.h>

#include "report_int.h"

REPORT_FN(report_callbacks)
{
	(void)fp;
	(void)fmt;
	(void)q;
	(void)a;
	snprintf(err, errlen, "not built yet");
	return ENOSYS;
}
