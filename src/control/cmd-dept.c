/* ivrctl dept NAME open|close|auto: override a department's hours now (journaled). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/json.h"

static enum ctl_status cmd_dept_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_dept_entry = {
	.name = "dept",
	.args = "NAME open|close|auto [--json]",
	.help = "Open or close a department now, whatever its hours; auto gives it back to its "
		"hours. Kept across reloads, not across restarts.",
	.exec = cmd_dept_exec,
};

static enum ctl_status
cmd_dept_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct json *j = NULL;
	enum ctl_status st;
	bool json, done;
	char request[512];
	const char *name, *state;

	st = ctl_ask_options(&json, &done, cmd, argc, argv);
	if (done)
		return st;
	if (argc - optind < 2)
		return ctl_usage(cmd, "which department, and open, close or auto?");
	if (argc - optind > 2)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind + 2]);
	name = argv[optind];
	state = argv[optind + 1];
	if (strcmp(state, "open") != 0 && strcmp(state, "close") != 0 && strcmp(state, "auto") != 0)
		return ctl_usage(cmd, "'%s' is not open, close or auto", state);
	if (*name == '\0' || name[strcspn(name, " \t\r\n")] != '\0' ||
	    (size_t)snprintf(request, sizeof(request), "dept %s %s", name, state) >=
		    sizeof(request))
		return ctl_usage(cmd, "'%s' is not a department name", name);
	if ((st = ctl_ask(&j, ctl, request, json)) != CTL_OK || j == NULL)
		return st;
	printf("%s: %s now (override %s)\n", json_get_str(j, "name", name),
		json_get_bool(j, "open", false) ? "open" : "closed",
		json_get_str(j, "override", "?"));
	json_free(j);
	return CTL_OK;
}
