/* ivrctl callback cancel ID --reason TEXT: staff cancel a callback promise, through the
 * running daemon (it owns the ledger; the journal file is never written behind its back). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/util.h"
#include "ivr/json.h"

static enum ctl_status cmd_callback_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_callback_entry = {
	.name = "callback",
	.args = "cancel ID --reason TEXT [--json]",
	.help = "Cancel a callback promise (ivrctl callbacks lists them) that is open or being "
		"dialed: an attempt ringing is hung up. The reason and who cancelled are "
		"journaled. Needs the running daemon.",
	.exec = cmd_callback_exec,
};

/* What the daemon reads back as one word (server: srv-callback.c). */
static bool
encode_reason(char *out, size_t size, const char *reason)
{
	size_t off = 0;

	for (const unsigned char *p = (const unsigned char *)reason; *p != '\0'; p++) {
		bool esc = *p == ' ' || *p == '%' || *p == '\t';
		if (off + (esc ? 3 : 1) >= size)
			return false;
		if (esc)
			off += (size_t)snprintf(out + off, size - off, "%%%02X", *p);
		else
			out[off++] = (char)*p;
	}
	out[off] = '\0';
	return true;
}

static enum ctl_status
cmd_callback_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *id;
	struct json *j = NULL;
	enum ctl_status st;
	char request[1024], enc[900];
	bool json = false;
	int ch;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reason = optarg;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			return ctl_help(cmd);
		default:
			return ctl_bad_option(cmd, ch, argv);
		}
	}
	if (optind == argc || strcmp(argv[optind], "cancel") != 0)
		return ctl_usage(cmd, optind == argc ? "what? (cancel)" : "unknown action '%s'",
			argv[optind]);
	if (argc - optind < 2)
		return ctl_usage(cmd, "which promise? (ivrctl callbacks lists them)");
	if (argc - optind > 2)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind + 2]);
	id = argv[optind + 1];
	if (*id == '\0' || id[strspn(id, "0123456789")] != '\0' || strspn(id, "0") == strlen(id))
		return ctl_usage(cmd, "'%s' is not a callback id", id);
	if (reason == NULL || reason[strspn(reason, " \t")] == '\0')
		return ctl_usage(cmd, "--reason is required: say why, it is journaled");
	for (const char *p = reason; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return ctl_usage(cmd, "the reason must be one line of text");
	if (!encode_reason(enc, sizeof(enc), reason) ||
	    (size_t)snprintf(request, sizeof(request), "callback cancel %s %s", id, enc) >=
		    sizeof(request))
		return ctl_usage(cmd, "the reason is too long");
	if ((st = ctl_ask(&j, ctl, request, json)) != CTL_OK || j == NULL)
		return st;
	printf("callback #%lld (%s) cancelled: %s\n", (long long)json_get_int(j, "id", 0),
		json_get_str(j, "dept", "?"), json_get_str(j, "reason", reason));
	json_free(j);
	return CTL_OK;
}
