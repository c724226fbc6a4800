/* show config: every setting as in effect, from the settings table, defaults marked. */
#include <string.h>

#include "ivr/conf.h"
#include "ivr/daemon.h"
#include "srv.h"

static int srv_show(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_show_entry = {
	.name = "show",
	.args = "config",
	.min_args = 1,
	.max_args = 1,
	.exec = srv_show,
};

static int
srv_show(struct json_out *w, const struct srv_req *r)
{
	const struct conf *c = r->d->conf;

	if (strcmp(r->argv[1], "config") != 0)
		return srv_fail(w, "nothing to show called \"%s\" (show config)", r->argv[1]);
	json_str(w, "path", c->path);
	json_uint(w, "generation", c->generation);
	json_begin_arr(w, "lines");
	for (size_t i = 0; i < c->neffective; i++)
		json_str(w, NULL, c->effective[i]);
	json_end_arr(w);
	return 0;
}
