/* trace on|off sip|rtp|menu: a subsystem's debug lines in the log, switched at run time. */
#include <string.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "srv.h"

static int srv_trace(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_trace_entry = {
	.name = "trace",
	.args = "on|off sip|rtp|menu",
	.min_args = 2,
	.max_args = 2,
	.exec = srv_trace,
};

static const struct {
	const char *name;
	enum log_trace t;
} subsystems[] = {
	{"sip", LOG_TRACE_SIP},
	{"rtp", LOG_TRACE_RTP},
	{"menu", LOG_TRACE_MENU},
};

static int
srv_trace(struct json_out *w, const struct srv_req *r)
{
	bool on = strcmp(r->argv[1], "on") == 0;
	size_t i;

	if (!on && strcmp(r->argv[1], "off") != 0)
		return srv_fail(w, "usage: trace on|off sip|rtp|menu");
	for (i = 0; i < ARRAY_LEN(subsystems); i++)
		if (strcmp(r->argv[2], subsystems[i].name) == 0)
			break;
	if (i == ARRAY_LEN(subsystems))
		return srv_fail(w, "unknown subsystem \"%s\" (sip, rtp, menu)", r->argv[2]);
	log_set_trace(subsystems[i].t, on);
	log_notice("control", "%s tracing %s (%s)", subsystems[i].name, on ? "on" : "off",
		r->who);
	json_begin_obj(w, "trace");
	for (i = 0; i < ARRAY_LEN(subsystems); i++)
		json_bool(w, subsystems[i].name, log_tracing(subsystems[i].t));
	json_end_obj(w);
	return 0;
}
