/* The control socket's commands, one file each (srv-NAME.c), dispatched from server.c. */
#ifndef IVR_SRV_H
#define IVR_SRV_H

#include <sys/types.h>

#include "json.h"

struct daemon;

/* One request: its words and who sent it. */
struct srv_req {
	struct daemon *d;
	int argc;
	char **argv; /* argv[0] is the command's name */
	uid_t uid;
	const char *who; /* "ivrctl (uid N)", for logs and the journal */
};

struct srv_cmd {
	const char *name;
	const char *args; /* what follows the name, for the usage in an error */
	int min_args, max_args; /* words after the name */
	/* Writes the answer's members after "ok"; returns 0, or an errno value after
	 * writing "error" (and "errors"), usually with srv_fail(). */
	int (*exec)(struct json_out *w, const struct srv_req *r);
};

extern const struct srv_cmd srv_status_entry;
extern const struct srv_cmd srv_reload_entry;
extern const struct srv_cmd srv_dept_entry;
extern const struct srv_cmd srv_show_entry;
extern const struct srv_cmd srv_trace_entry;

/* Writes "error" (printf-style) and an empty "errors"; returns EINVAL. */
int srv_fail(struct json_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
