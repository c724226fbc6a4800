/* ivrctl caller and GET /api/caller (report.h). */
#include <errno.h>
#include <stdio.h>

#include "report_int.h"

REPORT_FN(report_caller)
{
	(void)fp;
	(void)fmt;
	(void)q;
	(void)a;
	snprintf(err, errlen, "not built yet");
	return ENOSYS;
}
