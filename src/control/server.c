/* The control socket: ivrctl, and any tool that speaks this protocol, asking the running
 * daemon.
 *
 * Protocol
 *   A Unix stream socket at ivrd.control_socket, mode 0660, group ivrd.control_group (else
 *   ivrd's own group). The peer's credentials (SO_PEERCRED) must be root, ivrd's own user,
 *   or a user whose primary or supplementary groups include the socket's group.
 *
 *   A request is one line: UTF-8 words separated by spaces, ended by "\n" ("\r\n" too), at
 *   most 4096 bytes with its line end:
 *       status                       version, uptime, generation, calls, departments, counters
 *       reload                       load, validate and swap in the configuration file
 *       dept NAME open|close|auto    override a department's hours now (auto: its hours)
 *       show config                  every setting as in effect, defaults marked "# default"
 *       trace on|off sip|rtp|menu    subsystem tracing in the log
 *       dial NUMBER [PROMPT]         a test call through ivrd.sip.outbound: answered once
 *                                    the call is over (the prompt played, BYE)
 *       callback cancel ID REASON    cancel a callback promise (journaled with who);
 *                                    REASON percent-encoded ("%20": a space) or the
 *                                    rest of the line
 *   Each request gets one answer, in order: one line of JSON (RFC 8259), an object that
 *   starts with "ok":
 *       {"ok":true,...the command's members...}
 *       {"ok":false,"error":"what went wrong","errors":["file:line: path: what", ...]}
 *   A connection may carry any number of requests. The daemon closes it after 60 s without
 *   a request, or after answering a request that is too long or a peer it refuses.
 *
 *   Try it: printf 'status\n' | socat - UNIX-CONNECT:/run/ivrd/ivrd.sock
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/conf.h"
#include "ivr/ctl_server.h"
#include "ivr/daemon.h"
#include "ivr/log.h"
#include "ivr/util.h"
#include "srv.h"

#define MAX_LINE 4096     /* one request with its "\n" */
#define MAX_WORDS 8
#define MAX_CLIENTS 256
#define MAX_PENDING 65536 /* unread answers before a client's requests wait */
#define IDLE_S 60
#define WRITE_S 10

static const char NOMEM[] = "{\"ok\":false,\"error\":\"out of memory\",\"errors\":[]}\n";

static const struct srv_cmd *const commands[] = {
	&srv_status_entry,
	&srv_reload_entry,
	&srv_dept_entry,
	&srv_show_entry,
	&srv_trace_entry,
	&srv_dial_entry,
	&srv_callback_entry,
};

struct client {
	TAILQ_ENTRY(client) entry;
	struct ctl_server *srv;
	struct bufferevent *bev;
	uid_t uid;
	bool eof;     /* the peer sent all it will: answer, then close */
	bool closing; /* the last answer is on its way */
	struct srv_later *later; /* a request whose answer comes later */
};

struct srv_later {
	struct client *c;
	void (*gone)(void *arg);
	void *arg;
};

struct ctl_server {
	struct daemon *d;
	struct evconnlistener *listener;
	struct event *resume; /* accepting again after running out of descriptors */
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	char group[64];
	gid_t gid;
	dev_t dev; /* the socket file we made: only that one is removed at exit */
	ino_t ino;
	TAILQ_HEAD(, client) clients;
	size_t nclients;
};

int
srv_fail(struct json_out *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_str(w, "error", msg);
	json_begin_arr(w, "errors");
	json_end_arr(w);
	return EINVAL;
}

static void
client_free(struct client *c)
{
	if (c->later != NULL) {
		struct srv_later *l = c->later;
		c->later = NULL;
		l->gone(l->arg);
		free(l);
	}
	TAILQ_REMOVE(&c->srv->clients, c, entry);
	c->srv->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

/* Sends one error answer and closes once it is written. */
static void
client_refuse(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
client_refuse(struct client *c, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char msg[512];
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((fp = open_memstream(&text, &len)) != NULL) {
		fputs("{\"ok\":false,\"error\":", fp);
		json_write_string(fp, msg);
		fputs(",\"errors\":[]}\n", fp);
	}
	if (fp == NULL || fclose(fp) != 0 || evbuffer_add(out, text, len) != 0)
		evbuffer_add(out, NOMEM, sizeof(NOMEM) - 1);
	free(text);
	bufferevent_disable(c->bev, EV_READ);
	c->closing = true;
}

static const char *
command_list(void)
{
	static char list[128];
	size_t off = 0;

	if (list[0] == '\0')
		for (size_t i = 0; i < ARRAY_LEN(commands); i++)
			str_appendf(list, sizeof(list), &off, "%s%s", i ? ", " : "",
				commands[i]->name);
	return list;
}

/* Splits the line into req's words and runs its command. */
static int
dispatch(struct json_out *w, struct srv_req *req, char *line, size_t len)
{
	const struct srv_cmd *cmd = NULL;
	char *save, *word;

	if (memchr(line, '\0', len) != NULL || !json_utf8_valid(line))
		return srv_fail(w, "a request is one line of UTF-8 text");
	for (const char *p = line; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return srv_fail(w, "a request is one line of UTF-8 text");
	for (word = strtok_r(line, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save)) {
		if (req->argc == MAX_WORDS)
			return srv_fail(w, "more than %d words", MAX_WORDS);
		req->argv[req->argc++] = word;
	}
	if (req->argc == 0)
		return srv_fail(w, "empty request (commands: %s)", command_list());
	for (size_t i = 0; i < ARRAY_LEN(commands) && cmd == NULL; i++)
		if (strcmp(req->argv[0], commands[i]->name) == 0)
			cmd = commands[i];
	if (cmd == NULL)
		return srv_fail(w, "unknown command \"%s\" (commands: %s)", req->argv[0],
			command_list());
	if (req->argc - 1 < cmd->min_args || req->argc - 1 > cmd->max_args)
		return srv_fail(w, "usage: %s%s%s", cmd->name, *cmd->args ? " " : "", cmd->args);
	return cmd->exec(w, req);
}

/* Answers one request line (its line end removed). */
static void
client_request(struct client *c, char *line, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char *argv[MAX_WORDS + 1] = {0}, who[48];
	struct srv_req req = {.d = c->srv->d, .argv = argv, .uid = c->uid, .who = who};
	struct json_out w;
	char *body = NULL;
	size_t blen = 0;
	FILE *fp;
	int rc;

	snprintf(who, sizeof(who), "ivrctl (uid %u)", (unsigned)c->uid);
	req.conn = c;
	if ((fp = open_memstream(&body, &blen)) == NULL) {
		evbuffer_add(out, NOMEM, sizeof(NOMEM) - 1);
		return;
	}
	json_out_fields(&w, fp);
	rc = dispatch(&w, &req, line, len);
	if (rc == SRV_LATER) {
		fclose(fp);
		free(body);
		return;
	}
	/* the writer escapes every NUL: body is one string */
	if (fclose(fp) != 0 ||
	    evbuffer_add_printf(out, "{\"ok\":%s%s}\n", rc == 0 ? "true" : "false", body) < 0)
		evbuffer_add(out, NOMEM, sizeof(NOMEM) - 1);
	free(body);
}

/* After answering: closes a finished connection, or stops reading from a client that
 * does not read its answers until it does. */
static void
client_settle(struct client *c)
{
	size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (c->later != NULL)
		return; /* waiting for an answer: reading goes on only to notice a hang-up */
	if (c->closing || c->eof) {
		if (pending == 0)
			client_free(c);
		return;
	}
	if (pending >= MAX_PENDING)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* Answers every complete request that has arrived, as long as the client reads. */
static void
client_process(struct client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char line[MAX_LINE + 1];

	while (!c->closing && c->later == NULL && evbuffer_get_length(out) < MAX_PENDING) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t have = evbuffer_get_length(in), n;

		if (eol.pos >= 0)
			n = (size_t)eol.pos + 1;
		else if (have >= MAX_LINE)
			n = MAX_LINE + 1; /* no line end in sight */
		else if (c->eof && have > 0)
			n = have; /* a last request without its "\n" */
		else
			break;
		if (n > MAX_LINE) {
			/* where the next request starts is unknown: answer and close */
			client_refuse(c, "request longer than %d bytes", MAX_LINE);
			break;
		}
		evbuffer_remove(in, line, n);
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		client_request(c, line, n);
	}
	client_settle(c);
}

struct srv_later *
srv_later_new(const struct srv_req *r, void (*gone)(void *arg), void *arg)
{
	static const struct timeval stuck = {WRITE_S, 0};
	struct client *c = r->conn;
	struct srv_later *l;

	if (c == NULL || c->later != NULL || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->c = c;
	l->gone = gone;
	l->arg = arg;
	c->later = l;
	/* no idle timeout while the answer is being worked out */
	bufferevent_set_timeouts(c->bev, NULL, &stuck);
	return l;
}

void
srv_later_answer(struct srv_later *l, int rc, void (*fill)(struct json_out *w, void *arg),
	void *arg)
{
	static const struct timeval idle = {IDLE_S, 0}, stuck = {WRITE_S, 0};
	struct client *c = l->c;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct json_out w;
	char *body = NULL;
	size_t blen = 0;
	FILE *fp;

	c->later = NULL;
	free(l);
	bufferevent_set_timeouts(c->bev, &idle, &stuck);
	if ((fp = open_memstream(&body, &blen)) == NULL) {
		evbuffer_add(out, NOMEM, sizeof(NOMEM) - 1);
	} else {
		json_out_fields(&w, fp);
		fill(&w, arg);
		if (fclose(fp) != 0 || evbuffer_add_printf(out, "{\"ok\":%s%s}\n",
			rc == 0 ? "true" : "false", body) < 0)
			evbuffer_add(out, NOMEM, sizeof(NOMEM) - 1);
		free(body);
	}
	/* the requests that waited, or the close a finished client is owed */
	client_process(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_process(arg);
}

/* Everything written: go on with requests held back, or close. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_process(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	(void)bev;

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !c->closing) {
		c->eof = true;
		client_process(c);
		return;
	}
	/* an error, a write that failed, or a client idle past its timeout */
	client_free(c);
}

/* Root, ivrd's own user, or a member of the socket's group. */
static bool
peer_allowed(const struct ctl_server *s, const struct ucred *cr)
{
	struct passwd pw, *pp = NULL;
	gid_t few[64], *groups = few;
	int n = (int)ARRAY_LEN(few);
	bool ok = false;
	char buf[4096];

	if (cr->uid == 0 || cr->uid == geteuid() || cr->gid == s->gid)
		return true;
	if (getpwuid_r(cr->uid, &pw, buf, sizeof(buf), &pp) != 0 || pp == NULL)
		return false;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
		/* n now says how many there are */
		if ((groups = calloc((size_t)n, sizeof(*groups))) == NULL ||
		    getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
			n = 0;
	}
	for (int i = 0; i < n && !ok; i++)
		ok = groups[i] == s->gid;
	if (groups != few)
		free(groups);
	return ok;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	void *arg)
{
	static const struct timeval idle = {IDLE_S, 0}, stuck = {WRITE_S, 0};
	struct ctl_server *s = arg;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct client *c;
	(void)sa;
	(void)salen;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_err("control", "out of memory: connection refused");
		free(c);
		close(fd);
		return;
	}
	c->srv = s;
	TAILQ_INSERT_TAIL(&s->clients, c, entry);
	s->nclients++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* reading stops at one request's worth until the requests in hand are answered */
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_LINE);
	bufferevent_set_timeouts(c->bev, &idle, &stuck);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
		log_err("control", "SO_PEERCRED: %s", strerror(errno));
		client_refuse(c, "cannot tell who is asking");
		return;
	}
	c->uid = cr.uid;
	if (!peer_allowed(s, &cr)) {
		log_warn("control", "refused uid %u gid %u (pid %d): not root, ivrd's user or in "
			"group %s", (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid, s->group);
		client_refuse(c, "permission denied: uid %u is not root, ivrd's user or a member "
			"of group %s", (unsigned)cr.uid, s->group);
		return;
	}
	if (s->nclients > MAX_CLIENTS) {
		log_warn("control", "refused uid %u (pid %d): %d connections already",
			(unsigned)cr.uid, (int)cr.pid, MAX_CLIENTS);
		client_refuse(c, "too many connections (%d); try again", MAX_CLIENTS);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
}

/* EMFILE and the like: accepting at once would spin, so pause a second. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	static const struct timeval pause = {1, 0};
	struct ctl_server *s = arg;

	log_err("control", "accept: %s; accepting again in 1 s",
		strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(l);
	event_add(s->resume, &pause);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;
	(void)fd;
	(void)what;

	evconnlistener_enable(s->listener);
}

static int
find_group(struct ctl_server *s, const char *name)
{
	struct group gr, *gp = NULL;
	char buf[16384];
	int rc;

	if (name == NULL) {
		s->gid = getegid();
		if (getgrgid_r(s->gid, &gr, buf, sizeof(buf), &gp) == 0 && gp != NULL)
			str_copy(s->group, gr.gr_name, sizeof(s->group));
		else
			snprintf(s->group, sizeof(s->group), "%u", (unsigned)s->gid);
		return 0;
	}
	rc = getgrnam_r(name, &gr, buf, sizeof(buf), &gp);
	if (rc != 0 || gp == NULL) {
		log_err("control", "ivrd.control_group: %s \"%s\"",
			rc != 0 ? strerror(rc) : "no group named", name);
		return rc != 0 ? rc : ENOENT;
	}
	s->gid = gr.gr_gid;
	str_copy(s->group, name, sizeof(s->group));
	return 0;
}

/* The socket's directory, made 0750 for the socket's group when it is missing (the
 * runtime directory systemd makes is left as it is). */
static int
make_parent(const struct ctl_server *s)
{
	char dir[sizeof(s->path)], *slash;

	str_copy(dir, s->path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) != 0) {
		if (errno == EEXIST)
			return 0;
		log_err("control", "cannot make %s for the control socket: %s", dir,
			strerror(errno));
		return errno;
	}
	/* mkdir's mode went through the umask */
	if (chmod(dir, 0750) != 0 || chown(dir, (uid_t)-1, s->gid) != 0) {
		log_err("control", "%s: cannot give it to group %s: %s", dir, s->group,
			strerror(errno));
		return errno;
	}
	return 0;
}

/* A socket file left by a daemon that died is removed; one a live daemon answers on is
 * not ours to take. */
static int
clear_stale(const struct ctl_server *s, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, rc;

	if (lstat(s->path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_err("control", "%s: %s", s->path, strerror(errno));
		return errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control", "%s exists and is not a socket; refusing to replace it",
			s->path);
		return EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN) {
		log_err("control", "another ivrd answers on %s; refusing to start", s->path);
		return EADDRINUSE;
	}
	if (rc != ECONNREFUSED) {
		log_err("control", "%s: %s", s->path, strerror(rc));
		return rc;
	}
	if (unlink(s->path) != 0 && errno != ENOENT) {
		log_err("control", "cannot remove the stale socket %s: %s", s->path,
			strerror(errno));
		return errno;
	}
	log_notice("control", "removed the stale socket %s", s->path);
	return 0;
}

static int
make_socket(struct ctl_server *s, int *fdp)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int fd = -1, rc;

	*fdp = -1;
	str_copy(addr.sun_path, s->path, sizeof(addr.sun_path));
	if ((rc = make_parent(s)) != 0 || (rc = clear_stale(s, &addr)) != 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		rc = errno;
		log_err("control", "%s: %s", s->path, strerror(rc));
		goto out;
	}
	/* nobody can connect before listen(), so the mode is right before anyone can */
	if (chmod(s->path, 0660) != 0 || chown(s->path, (uid_t)-1, s->gid) != 0 ||
	    stat(s->path, &st) != 0) {
		rc = errno;
		log_err("control", "%s: cannot give it mode 0660 and group %s: %s", s->path,
			s->group, strerror(rc));
		unlink(s->path);
		goto out;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(fd, 64) != 0) {
		rc = errno;
		log_err("control", "%s: listen: %s", s->path, strerror(rc));
		unlink(s->path);
		goto out;
	}
	*fdp = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
ctl_server_new(struct ctl_server **sp, struct daemon *d)
{
	const char *path = d->conf->control_socket;
	struct ctl_server *s;
	int fd = -1, rc;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ENOMEM;
	s->d = d;
	TAILQ_INIT(&s->clients);
	if (str_copy(s->path, path, sizeof(s->path)) >= sizeof(s->path)) {
		log_err("control", "ivrd.control_socket: \"%s\" is longer than %zu bytes", path,
			sizeof(s->path) - 1);
		rc = ENAMETOOLONG;
		goto out;
	}
	if ((rc = find_group(s, d->conf->control_group)) != 0 || (rc = make_socket(s, &fd)) != 0)
		goto out;
	s->resume = evtimer_new(d->base, on_resume, s);
	s->listener = evconnlistener_new(d->base, on_accept, s,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (s->resume == NULL || s->listener == NULL) {
		log_err("control", "out of memory");
		if (s->listener == NULL) {
			close(fd);
			unlink(s->path);
		}
		rc = ENOMEM;
		goto out;
	}
	evconnlistener_set_error_cb(s->listener, on_accept_error);
	log_info("control", "listening on %s (mode 0660, group %s)", s->path, s->group);
	*sp = s;
	s = NULL;
out:
	ctl_server_free(s);
	return rc;
}

void
ctl_server_free(struct ctl_server *s)
{
	struct client *c;
	struct stat st;

	if (s == NULL)
		return;
	while ((c = TAILQ_FIRST(&s->clients)) != NULL)
		client_free(c);
	if (s->listener != NULL) {
		evconnlistener_free(s->listener);
		/* only the file we made: a new daemon may already have replaced it */
		if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
			unlink(s->path);
	}
	if (s->resume != NULL)
		event_free(s->resume);
	free(s);
}
