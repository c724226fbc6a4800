/* ivrctl show config: the running generation's every setting as in effect, defaults
 * included and marked. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/json.h"

static enum ctl_status cmd_show_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_show_entry = {
	.name = "show",
	.args = "config [--json]",
	.help = "The configuration the daemon runs on, every setting with its value; defaults "
		"are marked \"# default\".",
	.exec = cmd_show_exec,
};

static enum ctl_status
cmd_show_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const struct json *lines;
	struct json *j = NULL;
	enum ctl_status st;
	bool json, done;

	st = ctl_ask_options(&json, &done, cmd, argc, argv);
	if (done)
		return st;
	if (optind == argc)
		return ctl_usage(cmd, "show what? (config)");
	if (strcmp(argv[optind], "config") != 0)
		return ctl_usage(cmd, "nothing to show called '%s' (config)", argv[optind]);
	if (argc - optind > 1)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if ((st = ctl_ask(&j, ctl, "show config", json)) != CTL_OK || j == NULL)
		return st;
	printf("# %s, generation %lld\n", json_get_str(j, "path", "?"),
		(long long)json_get_int(j, "generation", 0));
	if ((lines = json_get(j, "lines")) != NULL && lines->type == JSON_ARRAY)
		for (const struct json *l = lines->child; l != NULL; l = l->next)
			if (l->type == JSON_STRING)
				puts(l->str);
	json_free(j);
	return CTL_OK;
}
