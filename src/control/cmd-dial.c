/* ivrctl dial NUMBER [--prompt NAME]: a test call through the outbound proxy; waits for the
 * outcome and prints it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/output.h"
#include "ivr/util.h"
#include "ivr/json.h"

static enum ctl_status cmd_dial_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_dial_entry = {
	.name = "dial",
	.args = "NUMBER [--prompt NAME] [--json]",
	.help = "Place a test call through ivrd.sip.outbound: when answered, play the prompt "
		"(default: the goodbye prompt) and hang up. Prints the outcome (answered, busy, "
		"declined, no answer, auth refused, unreachable ...); exit status 0 when answered.",
	.exec = cmd_dial_exec,
};

/* The longest a call can take: ring_timeout (at most 300 s), the prompt, the BYE. */
#define DIAL_ANSWER_TIMEOUT_S 900

static const struct output_column cols[] = {
	{"number", "NUMBER", 0},
	{"result", "RESULT", 0},
	{"sip_code", "SIP", OUTPUT_RIGHT},
	{"seconds", "SECONDS", OUTPUT_RIGHT | OUTPUT_TABLE_ONLY},
	{"duration_ms", "DURATION_MS", OUTPUT_DATA_ONLY},
	{"reason", "REASON", 0},
	{"call_id", "CALL-ID", 0},
};

static enum ctl_status
cmd_dial_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"prompt", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum output_format fmt = OUTPUT_TABLE;
	const char *prompt = NULL, *number, *result;
	struct output *o = NULL;
	struct json *j = NULL;
	enum ctl_status st;
	char request[512], secs[32];
	int ch;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			prompt = optarg;
			break;
		case 'J':
			fmt = OUTPUT_JSON;
			break;
		case 'h':
			return ctl_help(cmd);
		default:
			return ctl_bad_option(cmd, ch, argv);
		}
	}
	if (optind == argc)
		return ctl_usage(cmd, "which number?");
	if (argc - optind > 1)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
	number = argv[optind];
	if (*number == '\0' || number[strcspn(number, " \t\r\n")] != '\0')
		return ctl_usage(cmd, "'%s' is not a number", number);
	if (prompt != NULL && (*prompt == '\0' || prompt[strcspn(prompt, " \t\r\n")] != '\0'))
		return ctl_usage(cmd, "'%s' is not a prompt name", prompt);
	if ((size_t)snprintf(request, sizeof(request), "dial %s%s%s", number, prompt ? " " : "",
		prompt ? prompt : "") >= sizeof(request))
		return ctl_usage(cmd, "number or prompt name too long");
	ctl->answer_timeout_s = DIAL_ANSWER_TIMEOUT_S;
	if ((st = ctl_ask(&j, ctl, request, false)) != CTL_OK || j == NULL)
		return st;
	result = json_get_str(j, "result", "?");
	snprintf(secs, sizeof(secs), "%.1f", (double)json_get_int(j, "duration_ms", 0) / 1000.0);
	if (output_open(&o, stdout, fmt, OUTPUT_SKIP_NULL, cols, ARRAY_LEN(cols)) != 0) {
		json_free(j);
		ctl_error("out of memory");
		return CTL_ERROR;
	}
	output_str(o, json_get_str(j, "number", number));
	output_str(o, result);
	output_int(o, json_get_int(j, "sip_code", 0));
	output_str(o, secs);
	output_int(o, json_get_int(j, "duration_ms", 0));
	output_str(o, json_get_str(j, "reason", NULL));
	output_str(o, json_get_str(j, "call_id", NULL));
	output_end_row(o);
	st = output_close(o) == 0 ? CTL_OK : CTL_ERROR;
	if (st == CTL_OK && strcmp(result, "answered") != 0)
		st = CTL_ERROR;
	json_free(j);
	return st;
}
