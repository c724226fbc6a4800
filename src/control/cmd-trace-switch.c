/* ivrctl trace on|off sip|rtp|menu: the daemon's subsystem tracing, switched at run time
 * (ivrctl trace CALL-ID, in cmd-trace.c, is the journal's timeline of one call). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ivr/util.h"
#include "ivr/json.h"

enum ctl_status
ctl_trace_switch(struct ctl *ctl, const struct ctl_cmd *cmd, bool json, int argc, char **argv)
{
	static const char *const subsystems[] = {"sip", "rtp", "menu"};
	const struct json *trace;
	struct json *j = NULL;
	enum ctl_status st;
	char request[32];
	size_t i;

	if (argc < 2)
		return ctl_usage(cmd, "trace %s what? (sip, rtp, menu)", argv[0]);
	if (argc > 2)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[2]);
	for (i = 0; i < ARRAY_LEN(subsystems); i++)
		if (strcmp(argv[1], subsystems[i]) == 0)
			break;
	if (i == ARRAY_LEN(subsystems))
		return ctl_usage(cmd, "unknown subsystem '%s' (sip, rtp, menu)", argv[1]);
	snprintf(request, sizeof(request), "trace %s %s", argv[0], subsystems[i]);
	if ((st = ctl_ask(&j, ctl, request, json)) != CTL_OK || j == NULL)
		return st;
	trace = json_get(j, "trace");
	printf("tracing:");
	for (i = 0; i < ARRAY_LEN(subsystems); i++)
		printf(" %s %s%s", subsystems[i], json_get_bool(trace, subsystems[i], false) ?
			"on" : "off", i + 1 < ARRAY_LEN(subsystems) ? "," : "\n");
	json_free(j);
	return CTL_OK;
}
