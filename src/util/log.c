#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ivr/log.h"

static enum log_prio max_prio = LOG_PRIO_INFO;
static unsigned trace_mask;
static int tty = -1;

void
log_set_level(enum log_prio max)
{
	max_prio = max;
}

void
log_set_trace(unsigned mask, bool on)
{
	if (on)
		trace_mask |= mask;
	else
		trace_mask &= ~mask;
}

bool
log_tracing(enum log_trace t)
{
	return (trace_mask & t) != 0;
}

void
log_msg(enum log_prio prio, const char *subsys, const char *call_id, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (prio > max_prio && prio != LOG_PRIO_DEBUG)
		return;
	if (prio == LOG_PRIO_DEBUG && max_prio < LOG_PRIO_DEBUG && trace_mask == 0)
		return;

	/* journald reads the <N> priority prefix; a person at a terminal does not need it */
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (call_id != NULL)
		n = snprintf(line, sizeof(line), "<%d>%s: [%s] ", (int)prio, subsys, call_id);
	else
		n = snprintf(line, sizeof(line), "<%d>%s: ", (int)prio, subsys);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Network input reaches log lines: one event must stay one line. */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", tty ? line + 3 : line);
}
