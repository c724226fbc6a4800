/* sd_notify without libsystemd: one datagram per message to $NOTIFY_SOCKET. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/call.h"
#include "ivr/daemon.h"
#include "ivr/log.h"
#include "ivr/notify.h"

struct notifier {
	struct daemon *d;
	struct event *status_ev;
	struct event *watchdog_ev;
	char status[128]; /* as last sent */
};

int
notify_send(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[512];
	size_t plen;
	va_list ap;
	int fd = -1, n, rc = 0;

	if (path == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path)) {
		rc = EAFNOSUPPORT;
		goto out;
	}
	memcpy(sa.sun_path, path, plen);
	/* '@': the abstract namespace, a leading NUL and a length instead of a terminator */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		rc = EMSGSIZE;
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen)) < 0)
		rc = errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		log_warn("notify", "%s: %s", path, strerror(rc));
	return rc;
}

static void
status_text(char *buf, size_t size, const struct daemon *d)
{
	struct call_stats st;

	call_mgr_stats(d->calls, &st);
	snprintf(buf, size, "%s%zu call%s active, generation %" PRIu64,
		d->stopping ? "draining: " : "", st.active, st.active == 1 ? "" : "s",
		d->generation);
}

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	char now[sizeof(n->status)];
	(void)fd;
	(void)what;

	status_text(now, sizeof(now), n->d);
	if (strcmp(now, n->status) == 0)
		return;
	memcpy(n->status, now, sizeof(now));
	notify_send("STATUS=%s", now);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

/* The watchdog interval in microseconds when systemd set one for this process, else 0. */
static uint64_t
watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	/* WATCHDOG_PID names the process meant to ping: a child of ours must not */
	if (usec == NULL || (pid != NULL && strtoll(pid, NULL, 10) != (long long)getpid()))
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || v == 0) {
		log_warn("notify", "WATCHDOG_USEC=\"%s\" is not a positive number: no pings", usec);
		return 0;
	}
	return v;
}

int
notify_start(struct notifier **np, struct daemon *d)
{
	static const struct timeval second = {1, 0};
	const char *sock = getenv("NOTIFY_SOCKET");
	struct notifier *n = NULL;
	uint64_t wd;
	int rc = 0;

	if (sock == NULL || sock[0] == '\0')
		goto out;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		rc = ENOMEM;
		goto out;
	}
	n->d = d;
	status_text(n->status, sizeof(n->status), d);
	/* a failed send is logged; systemd's start timeout then says the rest */
	notify_send("READY=1\nSTATUS=%s", n->status);
	n->status_ev = event_new(d->base, -1, EV_PERSIST, on_status, n);
	if (n->status_ev == NULL || event_add(n->status_ev, &second) != 0) {
		rc = ENOMEM;
		goto out;
	}
	if ((wd = watchdog_usec()) != 0) {
		/* half the interval, as sd_watchdog_enabled(3) advises */
		struct timeval half = {(time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000)};

		n->watchdog_ev = event_new(d->base, -1, EV_PERSIST, on_watchdog, n);
		if (n->watchdog_ev == NULL || event_add(n->watchdog_ev, &half) != 0) {
			rc = ENOMEM;
			goto out;
		}
		log_info("notify", "watchdog: a ping every %.3f s", (double)wd / 2e6);
	}
out:
	if (rc != 0) {
		notify_free(n);
		n = NULL;
	}
	*np = n;
	return rc;
}

void
notify_free(struct notifier *n)
{
	if (n == NULL)
		return;
	if (n->status_ev != NULL)
		event_free(n->status_ev);
	if (n->watchdog_ev != NULL)
		event_free(n->watchdog_ev);
	free(n);
}
