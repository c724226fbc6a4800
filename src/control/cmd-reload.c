/* ivrctl reload: the daemon loads and validates the whole configuration; a bad file changes
 * nothing and every problem is listed, as "ivrd -t" lists them. */
#include <stdio.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/json.h"

static enum ctl_status cmd_reload_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_reload_entry = {
	.name = "reload",
	.args = "[--json]",
	.help = "Load the configuration file again. Calls in progress keep theirs; if anything "
		"is wrong nothing changes, every error is listed and the exit status is 1.",
	.exec = cmd_reload_exec,
};

static enum ctl_status
cmd_reload_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const struct json *warnings;
	struct json *j = NULL;
	enum ctl_status st;
	bool json, done;

	st = ctl_ask_options(&json, &done, cmd, argc, argv);
	if (done)
		return st;
	if (optind != argc)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if ((st = ctl_ask(&j, ctl, "reload", json)) != CTL_OK || j == NULL)
		return st;
	printf("configuration generation %lld in effect (was %lld)\n",
		(long long)json_get_int(j, "generation", 0),
		(long long)json_get_int(j, "previous", 0));
	if ((warnings = json_get(j, "warnings")) != NULL && warnings->type == JSON_ARRAY)
		for (const struct json *w = warnings->child; w != NULL; w = w->next)
			if (w->type == JSON_STRING)
				fprintf(stderr, "warning: %s\n", w->str);
	json_free(j);
	return CTL_OK;
}
