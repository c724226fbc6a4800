/* ivrctl status: the running daemon at a glance — version, uptime, generation, where the
 * calls are, which departments take calls, every counter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/util.h"
#include "ivr/json.h"

static enum ctl_status cmd_status_exec(struct ctl *, const struct ctl_cmd *, int, char **);

const struct ctl_cmd cmd_status_entry = {
	.name = "status",
	.args = "[--json]",
	.help = "The running daemon: version, uptime, configuration generation, active calls "
		"per menu node, callback promises (open, dialing, overdue; promised, kept, broken, "
		"cancelled since start), departments (open now, override, hours), counters.",
	.exec = cmd_status_exec,
};

static const struct output_column node_columns[] = {
	{"calls", "CALLS", OUTPUT_RIGHT},
	{"where", "WHERE", 0},
	{"generation", "GENERATION", OUTPUT_RIGHT},
};

static const struct output_column dept_columns[] = {
	{"name", "DEPARTMENT", 0},
	{"now", "NOW", 0},
	{"override", "OVERRIDE", 0},
	{"timezone", "TIMEZONE", 0},
	{"hours", "HOURS", 0},
};

static const struct output_column counter_columns[] = {
	{"name", "COUNTER", 0},
	{"value", "VALUE", OUTPUT_RIGHT},
};

/* "0:05:12", "3d 04:05:06" */
static void
format_uptime(char *buf, size_t size, int64_t s)
{
	if (s >= 86400)
		snprintf(buf, size, "%lldd %02lld:%02lld:%02lld", (long long)(s / 86400),
			(long long)(s / 3600 % 24), (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(buf, size, "%lld:%02lld:%02lld", (long long)(s / 3600),
			(long long)(s / 60 % 60), (long long)(s % 60));
}

static const struct json *
array(const struct json *j, const char *key)
{
	const struct json *a = json_get(j, key);

	return a != NULL && (a->type == JSON_ARRAY || a->type == JSON_OBJECT) ? a->child : NULL;
}

static int
print_nodes(const struct json *calls)
{
	struct output *o;
	int err = output_open(&o, stdout, OUTPUT_TABLE, 0, node_columns, ARRAY_LEN(node_columns));

	for (const struct json *n = array(calls, "nodes"); err == 0 && n != NULL; n = n->next) {
		if ((err = output_int(o, json_get_int(n, "calls", 0))) == 0 &&
		    (err = output_str(o, json_get_str(n, "where", NULL))) == 0 &&
		    (err = output_int(o, json_get_int(n, "generation", 0))) == 0)
			err = output_end_row(o);
	}
	if (o != NULL) {
		int rc = output_close(o);
		err = err != 0 ? err : rc;
	}
	return err;
}

static int
print_departments(const struct json *j)
{
	struct output *o;
	int err = output_open(&o, stdout, OUTPUT_TABLE, 0, dept_columns, ARRAY_LEN(dept_columns));

	for (const struct json *d = array(j, "departments"); err == 0 && d != NULL; d = d->next) {
		char hours[512];
		size_t off = 0;

		hours[0] = '\0';
		for (const struct json *h = array(d, "hours"); h != NULL; h = h->next)
			if (h->type == JSON_STRING)
				str_appendf(hours, sizeof(hours), &off, "%s%s", off ? "; " : "",
					h->str);
		if ((err = output_str(o, json_get_str(d, "name", NULL))) == 0 &&
		    (err = output_str(o, json_get_bool(d, "open", false) ? "open" :
			    "closed")) == 0 &&
		    (err = output_str(o, json_get_str(d, "override", NULL))) == 0 &&
		    (err = output_str(o, json_get_str(d, "timezone", NULL))) == 0 &&
		    (err = output_str(o, hours)) == 0)
			err = output_end_row(o);
	}
	if (o != NULL) {
		int rc = output_close(o);
		err = err != 0 ? err : rc;
	}
	return err;
}

/* The daemon's counters as they are named, then each subsystem's as "journal.appended". */
static int
print_counters(const struct json *j)
{
	static const char *const subsystems[] = {"journal", "rtp", "sip"};
	struct output *o;
	int err = output_open(&o, stdout, OUTPUT_TABLE, 0, counter_columns,
		ARRAY_LEN(counter_columns));

	for (size_t i = 0; i <= ARRAY_LEN(subsystems); i++) {
		const char *sub = i == 0 ? NULL : subsystems[i - 1];
		for (const struct json *c = array(j, sub ? sub : "counters"); err == 0 && c != NULL;
		     c = c->next) {
			char name[256];

			if (c->type != JSON_NUMBER)
				continue;
			snprintf(name, sizeof(name), "%s%s%s", sub ? sub : "", sub ? "." : "",
				c->key);
			if ((err = output_str(o, name)) == 0 &&
			    (err = output_int(o, (int64_t)c->num)) == 0)
				err = output_end_row(o);
		}
	}
	if (o != NULL) {
		int rc = output_close(o);
		err = err != 0 ? err : rc;
	}
	return err;
}

static int
print_status(const struct json *j)
{
	const struct json *calls = json_get(j, "calls"), *cb;
	char up[32], since[32];
	int err;

	format_uptime(up, sizeof(up), json_get_int(j, "uptime_s", 0));
	report_format_time(since, sizeof(since), json_get_int(j, "started", 0));
	printf("ivrd %s, pid %lld, up %s (since %s), configuration generation %lld%s\n",
		json_get_str(j, "version", "?"), (long long)json_get_int(j, "pid", 0), up, since,
		(long long)json_get_int(j, "generation", 0),
		json_get_bool(j, "stopping", false) ? ", stopping: calls in progress finish" : "");
	printf("calls: %lld active, %lld since start\n",
		(long long)json_get_int(calls, "active", 0),
		(long long)json_get_int(calls, "total", 0));
	if ((cb = json_get(j, "callbacks")) != NULL && cb->type == JSON_OBJECT)
		printf("callbacks: %lld open (%lld dialing), %lld overdue; since start %lld "
			"promised, %lld kept, %lld broken, %lld cancelled\n",
			(long long)json_get_int(cb, "open", 0) + json_get_int(cb, "dialing", 0),
			(long long)json_get_int(cb, "dialing", 0),
			(long long)json_get_int(cb, "overdue", 0),
			(long long)json_get_int(cb, "promised", 0),
			(long long)json_get_int(cb, "kept", 0),
			(long long)json_get_int(cb, "broken", 0),
			(long long)json_get_int(cb, "cancelled", 0));
	if (array(calls, "nodes") != NULL) {
		putchar('\n');
		if ((err = print_nodes(calls)) != 0)
			return err;
	}
	putchar('\n');
	if ((err = print_departments(j)) != 0)
		return err;
	putchar('\n');
	return print_counters(j);
}

static enum ctl_status
cmd_status_exec(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct json *j = NULL;
	enum ctl_status st;
	bool json, done;
	int err;

	st = ctl_ask_options(&json, &done, cmd, argc, argv);
	if (done)
		return st;
	if (optind != argc)
		return ctl_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if ((st = ctl_ask(&j, ctl, "status", json)) != CTL_OK || j == NULL)
		return st;
	if ((err = print_status(j)) != 0) {
		ctl_error("writing the status: %s", strerror(err));
		st = CTL_ERROR;
	}
	json_free(j);
	return st;
}
