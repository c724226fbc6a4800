/* ivrctl's commands, one file each (cmd-NAME.c), dispatched from src/ivrctl.c. */
#ifndef IVR_CTL_H
#define IVR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivr/output.h"

struct journal_query;

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
};

struct ctl_cmd {
	const char *name;
	const char *args; /* what follows the name on a usage line */
	const char *help; /* one line for "ivrctl help" */
	enum ctl_status (*exec)(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv);
};

extern const struct ctl_cmd cmd_calls_entry;
extern const struct ctl_cmd cmd_trace_entry;

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

/* Opens the journal named by -j or by the configuration, read-only; says why not on
 * stderr and returns CTL_ERROR. */
enum ctl_status ctl_journal_open(struct journal_query **qp, const struct ctl *ctl);

/* --json / --csv: EINVAL when the other one was already given. */
int ctl_set_format(enum output_format *fmt, enum output_format want);

/* TIME arguments: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (local time; 'T' may replace the
 * space), or relative to now_ms: "-30s", "-30m", "-2h", "-7d", "-1w". A bare date used as an
 * end (end_of_day) means the end of that day, so --since D --until D is the whole of D. */
int ctl_parse_time(int64_t *ms, const char *s, bool end_of_day, int64_t now_ms);
/* Local "YYYY-MM-DD HH:MM:SS". */
void ctl_format_time(char *buf, size_t size, int64_t ms);

#endif
