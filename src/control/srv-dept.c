/* dept NAME open|close|auto: an operator's override of a department's hours, journaled. */
#include <errno.h>
#include <string.h>

#include "ivr/call.h"
#include "ivr/conf.h"
#include "ivr/daemon.h"
#include "ivr/util.h"
#include "srv.h"

static int srv_dept(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_dept_entry = {
	.name = "dept",
	.args = "NAME open|close|auto",
	.min_args = 2,
	.max_args = 2,
	.exec = srv_dept,
};

static int
srv_dept(struct json_out *w, const struct srv_req *r)
{
	static const struct {
		const char *word, *state;
		enum dept_override o;
	} states[] = {
		{"open", "open", DEPT_OPEN},
		{"close", "closed", DEPT_CLOSED},
		{"auto", "auto", DEPT_AUTO},
	};
	const char *name = r->argv[1];
	size_t i;
	int dept, rc;

	for (i = 0; i < ARRAY_LEN(states); i++)
		if (strcmp(r->argv[2], states[i].word) == 0)
			break;
	if (i == ARRAY_LEN(states))
		return srv_fail(w, "\"%s\" is not open, close or auto", r->argv[2]);
	if ((dept = conf_dept_find(r->d->conf, name)) < 0)
		return srv_fail(w, "no department named \"%s\"", name);
	if ((rc = call_mgr_dept_override(r->d->calls, name, states[i].o, r->who)) != 0) {
		srv_fail(w, "%s: %s", name, strerror(rc));
		return rc;
	}
	json_str(w, "name", name);
	json_str(w, "override", states[i].state);
	json_bool(w, "open", call_mgr_dept_open(r->d->calls, r->d->conf, dept));
	return 0;
}
