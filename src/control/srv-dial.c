/* dial NUMBER [PROMPT]: a test call through the outbound proxy; the answer waits for the
 * outcome (answered: after the prompt played and the call ended). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/call.h"
#include "ivr/daemon.h"
#include "ivr/log.h"
#include "ivr/util.h"
#include "srv.h"

static int srv_dial(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_dial_entry = {
	.name = "dial",
	.args = "NUMBER [PROMPT]",
	.min_args = 1,
	.max_args = 2,
	.exec = srv_dial,
};

struct dial_wait {
	struct srv_later *later;
	struct call_out *call;
	char call_id[64], number[128], result[32], reason[256];
	int code;
	int64_t duration_ms;
};

static void
fill(struct json_out *w, void *arg)
{
	struct dial_wait *dw = arg;

	json_str(w, "call_id", dw->call_id);
	json_str(w, "number", dw->number);
	json_str(w, "result", dw->result);
	json_int(w, "sip_code", dw->code);
	json_str(w, "reason", dw->reason);
	json_int(w, "duration_ms", dw->duration_ms);
}

static void
on_done(void *arg, const struct call_out_result *res)
{
	struct dial_wait *dw = arg;

	str_copy(dw->call_id, res->call_id, sizeof(dw->call_id));
	str_copy(dw->number, res->number, sizeof(dw->number));
	str_copy(dw->result, res->result, sizeof(dw->result));
	str_copy(dw->reason, res->reason, sizeof(dw->reason));
	dw->code = res->sip_code;
	dw->duration_ms = res->duration_ms;
	srv_later_answer(dw->later, 0, fill, dw);
	free(dw);
}

/* ivrctl went away: the call goes on, nobody waits for it. */
static void
on_gone(void *arg)
{
	struct dial_wait *dw = arg;

	call_out_detach(dw->call);
	free(dw);
}

static int
srv_dial(struct json_out *w, const struct srv_req *r)
{
	struct dial_wait *dw = calloc(1, sizeof(*dw));
	struct call_dial_req req = {
		.number = r->argv[1], .prompt = r->argc > 2 ? r->argv[2] : NULL, .lang = -1,
		.who = r->who, .done = on_done, .arg = dw,
	};
	char err[256];
	int rc;

	if (dw == NULL)
		return srv_fail(w, "out of memory");
	rc = call_mgr_dial(&dw->call, r->d->calls, &req, err, sizeof(err));
	if (rc != 0) {
		free(dw);
		if (rc == ENOMEM)
			str_copy(err, "out of memory", sizeof(err));
		srv_fail(w, "%s", err);
		return rc;
	}
	dw->later = srv_later_new(r, on_gone, dw);
	if (dw->later == NULL) {
		/* cannot wait: the call goes on, and the answer says where to follow it */
		call_out_detach(dw->call);
		json_str(w, "call_id", call_out_call_id(dw->call));
		json_str(w, "result", "dialing");
		free(dw);
		return 0;
	}
	log_notice("control", "%s: dial %s", r->who, r->argv[1]);
	return SRV_LATER;
}
