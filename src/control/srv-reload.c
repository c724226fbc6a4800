/* reload: the same path as SIGHUP; the caller gets every problem back. */
#include <errno.h>
#include <string.h>

#include "ivr/conf.h"
#include "ivr/daemon.h"
#include "srv.h"

static int srv_reload(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_reload_entry = {
	.name = "reload",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.exec = srv_reload,
};

static void
write_list(struct json_out *w, const char *key, char *const *v, size_t n)
{
	json_begin_arr(w, key);
	for (size_t i = 0; i < n; i++)
		json_str(w, NULL, v[i]);
	json_end_arr(w);
}

static int
srv_reload(struct json_out *w, const struct srv_req *r)
{
	uint64_t before = r->d->generation;
	struct conf_errors e;
	char msg[512];
	int rc = daemon_reload(r->d, &e, r->who);

	if (rc == 0) {
		json_uint(w, "generation", r->d->generation);
		json_uint(w, "previous", before);
	} else {
		if (rc == EINVAL)
			snprintf(msg, sizeof(msg), "%s: %zu error%s; generation %llu keeps serving",
				r->d->conf_path, e.nerrors, e.nerrors == 1 ? "" : "s",
				(unsigned long long)before);
		else if (rc == EBUSY)
			snprintf(msg, sizeof(msg), "a reload is already running");
		else
			snprintf(msg, sizeof(msg), "%s: %s; generation %llu keeps serving",
				r->d->conf_path, strerror(rc), (unsigned long long)before);
		json_str(w, "error", msg);
		write_list(w, "errors", e.errors, e.nerrors);
	}
	write_list(w, "warnings", e.warnings, e.nwarnings);
	conf_errors_free(&e);
	return rc;
}
