/* The control socket's commands, one file each (srv-NAME.c), dispatched from server.c. */
#ifndef IVR_SRV_H
#define IVR_SRV_H

#include <sys/types.h>

#include "ivr/json.h"

struct daemon;

/* One request: its words and who sent it. */
struct srv_req {
	struct daemon *d;
	int argc;
	char **argv; /* argv[0] is the command's name */
	uid_t uid;
	const char *who; /* "ivrctl (uid N)", for logs and the journal */
	void *conn;      /* the connection, for srv_later_new() */
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
extern const struct srv_cmd srv_dial_entry;
extern const struct srv_cmd srv_callback_entry;

/* A command that answers later (ivrctl dial waits for the call's outcome): exec takes a
 * handle with srv_later_new(), writes nothing and returns SRV_LATER. The connection's
 * answers stay in order: its next requests wait for this one. If the client goes away
 * first, gone(arg) runs and the handle is no more. */
#define SRV_LATER (-1)
struct srv_later;
struct srv_later *srv_later_new(const struct srv_req *r, void (*gone)(void *arg), void *arg);
/* The answer: fill writes the members after "ok" as exec would, rc 0 or an errno value
 * (then fill writes "error" and "errors", e.g. with srv_fail()). The handle is freed. */
void srv_later_answer(struct srv_later *l, int rc, void (*fill)(struct json_out *w, void *arg),
	void *arg);

/* Writes "error" (printf-style) and an empty "errors"; returns EINVAL. */
int srv_fail(struct json_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
