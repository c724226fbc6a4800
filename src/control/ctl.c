/* What every ivrctl command shares: messages, finding the journal, times. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>

#include "ctl.h"
#include "ivr/journal_query.h"
#include "ivr/util.h"

/* Must match the default of ivrd.state_dir in the daemon's settings table. */
#define DEFAULT_STATE_DIR "/var/lib/ivrd"

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ivrctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

enum ctl_status
ctl_usage(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fprintf(stderr, "ivrctl %s: ", cmd->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: " CTL_GLOBAL_USAGE " %s %s\n", cmd->name, cmd->args);
	return CTL_USAGE;
}

enum ctl_status
ctl_help(const struct ctl_cmd *cmd)
{
	printf("usage: " CTL_GLOBAL_USAGE " %s %s\n%s\n", cmd->name, cmd->args, cmd->help);
	return CTL_OK;
}

enum ctl_status
ctl_bad_option(const struct ctl_cmd *cmd, int ch, char **argv)
{
	const char *opt = argv[optind - 1];

	if (ch == ':')
		return ctl_usage(cmd, "%s needs an argument", opt);
	return ctl_usage(cmd, "unknown option %s", opt);
}

int
ctl_set_format(enum output_format *fmt, enum output_format want)
{
	if (*fmt != OUTPUT_TABLE && *fmt != want)
		return EINVAL;
	*fmt = want;
	return 0;
}

enum ctl_status
ctl_conf_string(char *buf, size_t size, const struct ctl *ctl, const char *setting,
	const char *def, const char *what, const char *instead)
{
	const char *v = def;
	enum ctl_status st = CTL_OK;
	const config_setting_t *s;
	char incdir[PATH_MAX], *slash;
	config_t cfg;

	config_init(&cfg);
	/* @include paths are relative to the file's directory, as for ivrd */
	str_copy(incdir, ctl->config, sizeof(incdir));
	if ((slash = strrchr(incdir, '/')) != NULL) {
		*slash = '\0';
		config_set_include_dir(&cfg, incdir);
	}
	if (!config_read_file(&cfg, ctl->config)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			ctl_error("cannot read %s: %s (use -c CONFIG or %s)", ctl->config,
				strerror(errno), instead);
		else
			ctl_error("%s:%d: %s", config_error_file(&cfg) ? config_error_file(&cfg)
				: ctl->config, config_error_line(&cfg), config_error_text(&cfg));
		st = CTL_ERROR;
		goto out;
	}
	if ((s = config_lookup(&cfg, setting)) != NULL) {
		v = config_setting_get_string(s);
		if (v == NULL || *v == '\0') {
			ctl_error("%s:%d: %s: must be %s", config_setting_source_file(s) ?
				config_setting_source_file(s) : ctl->config,
				config_setting_source_line(s), setting, what);
			st = CTL_ERROR;
			goto out;
		}
	}
	if (str_copy(buf, v, size) >= size) {
		ctl_error("%s: %s is too long", ctl->config, setting);
		st = CTL_ERROR;
	}
out:
	config_destroy(&cfg);
	return st;
}

/* Reads <ivrd.state_dir>/journal.db from the configuration file, as the daemon does. */
static enum ctl_status
journal_path(char *buf, size_t size, const struct ctl *ctl)
{
	char dir[PATH_MAX];

	if (ctl_conf_string(dir, sizeof(dir), ctl, "ivrd.state_dir", DEFAULT_STATE_DIR,
		"a directory name", "-j JOURNAL") != CTL_OK)
		return CTL_ERROR;
	if ((size_t)snprintf(buf, size, "%s%sjournal.db", dir,
		dir[strlen(dir) - 1] == '/' ? "" : "/") >= size) {
		ctl_error("%s: ivrd.state_dir is too long", ctl->config);
		return CTL_ERROR;
	}
	return CTL_OK;
}

enum ctl_status
ctl_journal_open(struct journal_query **qp, const struct ctl *ctl)
{
	char path[PATH_MAX], err[512];
	int rc;

	*qp = NULL;
	if (ctl->journal != NULL) {
		if (str_copy(path, ctl->journal, sizeof(path)) >= sizeof(path)) {
			ctl_error("%s: %s", ctl->journal, strerror(ENAMETOOLONG));
			return CTL_ERROR;
		}
	} else if (journal_path(path, sizeof(path), ctl) != CTL_OK) {
		return CTL_ERROR;
	}
	rc = journal_query_open(qp, path, err, sizeof(err));
	if (rc == ENOENT)
		ctl_error("no journal at %s (has ivrd run with this configuration?)", path);
	else if (rc != 0)
		ctl_error("%s", err);
	return rc == 0 ? CTL_OK : CTL_ERROR;
}
