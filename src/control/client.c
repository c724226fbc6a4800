/* Asking the running daemon over its control socket (the protocol: src/control/server.c). */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ivr/util.h"
#include "ivr/json.h"

/* Must match the default of ivrd.control_socket in the daemon's settings table. */
#define DEFAULT_CONTROL_SOCKET "/run/ivrd/ivrd.sock"
/* A reload of a large configuration is the slowest answer. */
#define ANSWER_TIMEOUT_S 60
#define MAX_ANSWER (64 << 20)

static enum ctl_status
connect_daemon(int *fdp, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {ANSWER_TIMEOUT_S, 0};
	int fd, err;

	*fdp = -1;
	if (str_copy(addr.sun_path, path, sizeof(addr.sun_path)) >= sizeof(addr.sun_path)) {
		ctl_error("%s: %s", path, strerror(ENAMETOOLONG));
		return CTL_ERROR;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		ctl_error("socket: %s", strerror(errno));
		return CTL_ERROR;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		err = errno;
		close(fd);
		if (err == ENOENT || err == ENOTDIR)
			ctl_error("ivrd is not running (no control socket at %s)", path);
		else if (err == ECONNREFUSED)
			ctl_error("ivrd is not running (nothing answers on %s)", path);
		else if (err == EACCES || err == EPERM)
			ctl_error("permission denied on %s: ivrctl must run as root, as ivrd's "
				"user or in its control group", path);
		else
			ctl_error("%s: %s", path, strerror(err));
		return CTL_ERROR;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*fdp = fd;
	return CTL_OK;
}

static enum ctl_status
send_request(int fd, const char *request)
{
	size_t len = strlen(request), off = 0;
	char *line = malloc(len + 2);
	enum ctl_status st = CTL_OK;

	if (line == NULL) {
		ctl_error("%s", strerror(ENOMEM));
		return CTL_ERROR;
	}
	memcpy(line, request, len);
	memcpy(line + len, "\n", 2);
	while (off < len + 1) {
		/* MSG_NOSIGNAL: a daemon that hangs up is an error message, not SIGPIPE */
		ssize_t n = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctl_error("sending to ivrd: %s", strerror(errno));
			st = CTL_ERROR;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return st;
}

/* One line, without its "\n". */
static enum ctl_status
read_answer(char **linep, int fd)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl = NULL;

	*linep = NULL;
	while (nl == NULL) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			if (cap > MAX_ANSWER || (nb = realloc(buf, cap)) == NULL) {
				ctl_error("ivrd's answer is too long");
				goto fail;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ctl_error("ivrd did not answer within %d s", ANSWER_TIMEOUT_S);
			goto fail;
		}
		if (n < 0) {
			ctl_error("reading from ivrd: %s", strerror(errno));
			goto fail;
		}
		if (n == 0) {
			ctl_error("ivrd closed the connection without answering");
			goto fail;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	*nl = '\0';
	*linep = buf;
	return CTL_OK;
fail:
	free(buf);
	return CTL_ERROR;
}

enum ctl_status
ctl_ask_options(bool *json, bool *done, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	*json = false;
	*done = true;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'J':
			*json = true;
			break;
		case 'h':
			return ctl_help(cmd);
		default:
			return ctl_bad_option(cmd, ch, argv);
		}
	}
	*done = false;
	return CTL_OK;
}

/* Errors and warnings of a refused request, as "ivrd -t" lists them. */
static void
print_refusal(const struct json *j)
{
	static const char *const lists[] = {"errors", "warnings"};

	ctl_error("%s", json_get_str(j, "error", "ivrd refused the request"));
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		const struct json *list = json_get(j, lists[i]);
		for (const struct json *e = list != NULL ? list->child : NULL; e != NULL;
		     e = e->next)
			if (e->type == JSON_STRING)
				fprintf(stderr, "%s: %s\n", i == 0 ? "error" : "warning", e->str);
	}
}

enum ctl_status
ctl_ask(struct json **jp, const struct ctl *ctl, const char *request, bool json)
{
	char path[PATH_MAX], *line = NULL;
	const struct json *ok;
	struct json *j = NULL;
	enum ctl_status st;
	int fd = -1;

	*jp = NULL;
	if (ctl->socket != NULL) {
		if (str_copy(path, ctl->socket, sizeof(path)) >= sizeof(path)) {
			ctl_error("%s: %s", ctl->socket, strerror(ENAMETOOLONG));
			return CTL_ERROR;
		}
	} else if ((st = ctl_conf_string(path, sizeof(path), ctl, "ivrd.control_socket",
			DEFAULT_CONTROL_SOCKET, "a socket path", "-s SOCKET")) != CTL_OK) {
		return st;
	}
	if ((st = connect_daemon(&fd, path)) != CTL_OK)
		return st;
	if (ctl->answer_timeout_s > 0) {
		struct timeval tv = {(time_t)ctl->answer_timeout_s, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if ((st = send_request(fd, request)) == CTL_OK)
		st = read_answer(&line, fd);
	close(fd);
	if (st != CTL_OK)
		goto out;
	if (json_parse(&j, line, strlen(line)) != 0 || (ok = json_get(j, "ok")) == NULL ||
	    (ok->type != JSON_TRUE && ok->type != JSON_FALSE)) {
		ctl_error("ivrd answered outside the control protocol: %.200s", line);
		st = CTL_ERROR;
		goto out;
	}
	if (json)
		puts(line);
	else if (ok->type == JSON_FALSE)
		print_refusal(j);
	if (ok->type == JSON_FALSE)
		st = CTL_ERROR;
	else if (!json) {
		*jp = j;
		j = NULL;
	}
out:
	json_free(j);
	free(line);
	return st;
}
