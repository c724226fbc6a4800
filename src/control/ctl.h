/* ivrctl's commands, one file each (cmd-NAME.c), dispatched from src/ivrctl.c. */
#ifndef IVR_CTL_H
#define IVR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivr/output.h"
#include "ivr/report.h"

struct journal_query;
struct json;

/* Exit statuses. */
enum ctl_status {
	CTL_OK = 0,
	CTL_ERROR = 1,
	CTL_USAGE = 2,
};

/* Global options. */
struct ctl {
	const char *config;  /* -c, or the default */
	const char *journal; /* -j, or NULL: <ivrd.state_dir>/journal.db */
	const char *socket;  /* -s, or NULL: ivrd.control_socket */
	unsigned answer_timeout_s; /* how long ctl_ask waits for the answer; 0: 60 s */
};

struct ctl_cmd {
	const char *name;
	const char *args; /* what follows the name on a usage line */
	const char *help; /* one line for "ivrctl help" */
	enum ctl_status (*exec)(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv);
};

/* The reports (cmd-report.c, src/report). */
extern const struct ctl_cmd cmd_calls_entry;
extern const struct ctl_cmd cmd_trace_entry;
extern const struct ctl_cmd cmd_transfers_entry;
extern const struct ctl_cmd cmd_drops_entry;
extern const struct ctl_cmd cmd_callbacks_entry;
extern const struct ctl_cmd cmd_caller_entry;
extern const struct ctl_cmd cmd_report_entry;
extern const struct ctl_cmd cmd_export_entry;
extern const struct ctl_cmd cmd_status_entry;
extern const struct ctl_cmd cmd_reload_entry;
extern const struct ctl_cmd cmd_dept_entry;
extern const struct ctl_cmd cmd_show_entry;
extern const struct ctl_cmd cmd_dial_entry;
extern const struct ctl_cmd cmd_callback_entry;

#define CTL_DEFAULT_CONFIG "/etc/ivrd/ivrd.conf"
#define CTL_GLOBAL_USAGE "ivrctl [-c CONFIG] [-j JOURNAL]"

/* "ivrctl: ..." on stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The reason (may be NULL) and the command's usage line on stderr; returns CTL_USAGE. */
enum ctl_status ctl_usage(const struct ctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The command's usage line on stdout, for --help. */
enum ctl_status ctl_help(const struct ctl_cmd *cmd);
/* Reports unknown options and missing arguments after getopt_long returned '?' or ':'. */
enum ctl_status ctl_bad_option(const struct ctl_cmd *cmd, int ch, char **argv);

/* A string setting of the configuration file, read as ivrd reads it (def when absent; what
 * the value must be; instead: the option that spares reading the file). Says why not on
 * stderr and returns CTL_ERROR. */
enum ctl_status ctl_conf_string(char *buf, size_t size, const struct ctl *ctl,
	const char *setting, const char *def, const char *what, const char *instead);

/* Options of the commands that ask the daemon: --json, --help. *done: return the status at
 * once (help printed, or a usage error); else optind is at the command's first word. */
enum ctl_status ctl_ask_options(bool *json, bool *done, const struct ctl_cmd *cmd, int argc,
	char **argv);
/* Asks the running daemon over its control socket (-s, or from the configuration): sends
 * one request line and reads the one-line JSON answer. With json the answer is printed as
 * it came. A refusal ("ok": false) is CTL_ERROR, printed (without json: the error and each
 * of its "errors" on stderr). Otherwise *jp is the answer for the command to print for
 * people (NULL with json); the caller frees it. Says why not on stderr. */
enum ctl_status ctl_ask(struct json **jp, const struct ctl *ctl, const char *request, bool json);
/* ivrctl trace on|off SUBSYS: the daemon's tracing switch (the words after "trace"). */
enum ctl_status ctl_trace_switch(struct ctl *ctl, const struct ctl_cmd *cmd, bool json,
	int argc, char **argv);

/* Opens the journal named by -j or by the configuration, read-only; says why not on
 * stderr and returns CTL_ERROR. */
enum ctl_status ctl_journal_open(struct journal_query **qp, const struct ctl *ctl);

/* --json / --csv: EINVAL when the other one was already given. */
int ctl_set_format(enum output_format *fmt, enum output_format want);

#endif
