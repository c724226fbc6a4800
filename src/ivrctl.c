/* ivrctl: the operators' and QA staff's command line. Global options, then one command from
 * the table below; each command lives in src/control/cmd-NAME.c. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl.h"
#include "ivr/util.h"

static const struct ctl_cmd *const commands[] = {
	&cmd_status_entry,
	&cmd_reload_entry,
	&cmd_dept_entry,
	&cmd_show_entry,
	&cmd_calls_entry,
	&cmd_trace_entry,
	&cmd_transfers_entry,
	&cmd_drops_entry,
	&cmd_callbacks_entry,
	&cmd_caller_entry,
	&cmd_report_entry,
	&cmd_export_entry,
	&cmd_callback_entry,
	&cmd_dial_entry,
};

static void
usage(FILE *fp)
{
	fputs("usage: " CTL_GLOBAL_USAGE " COMMAND [ARGS]\n", fp);
}

static void
help(void)
{
	usage(stdout);
	printf("\n"
		"  -c CONFIG   configuration file (default " CTL_DEFAULT_CONFIG "); the journal\n"
		"              is <ivrd.state_dir>/journal.db\n"
		"  -j JOURNAL  read this journal file instead\n"
		"  -s SOCKET   ask the daemon on this control socket (default:\n"
		"              ivrd.control_socket from CONFIG, /run/ivrd/ivrd.sock)\n"
		"\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		printf("  %s %s\n      %s\n", commands[i]->name, commands[i]->args,
			commands[i]->help);
	printf("  help\n      This list. \"ivrctl COMMAND --help\" shows one command.\n"
		"\nTIME is YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS]\" (local time), today, yesterday,\n"
		"or relative to now: -30s, -30m, -2h, -7d, -1w. A date alone (or today,\n"
		"yesterday) in --until means the end of that day. The reports read the journal\n"
		"and work while ivrd is down; --mask shows numbers as *******4567 in every\n"
		"format; --json prints what the dashboard's /api/COMMAND serves.\n");
}

int
main(int argc, char **argv)
{
	struct ctl ctl = {.config = CTL_DEFAULT_CONFIG};
	int ch;

	opterr = 0;
	/* '+': options after the command name belong to the command */
	while ((ch = getopt(argc, argv, "+:c:j:s:h")) != -1) {
		switch (ch) {
		case 'c':
			ctl.config = optarg;
			break;
		case 'j':
			ctl.journal = optarg;
			break;
		case 's':
			ctl.socket = optarg;
			break;
		case 'h':
			help();
			return CTL_OK;
		case ':':
			fprintf(stderr, "ivrctl: -%c needs an argument\n", optopt);
			usage(stderr);
			return CTL_USAGE;
		default:
			fprintf(stderr, "ivrctl: unknown option -%c\n", optopt);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fputs("ivrctl: which command? (ivrctl help lists them)\n", stderr);
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		help();
		return CTL_OK;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(argv[0], commands[i]->name) != 0)
			continue;
		/* 0, not 1: glibc restarts its scan state for the command's own options */
		optind = 0;
		return commands[i]->exec(&ctl, commands[i], argc, argv);
	}
	fprintf(stderr, "ivrctl: unknown command '%s' (ivrctl help lists them)\n", argv[0]);
	usage(stderr);
	return CTL_USAGE;
}
