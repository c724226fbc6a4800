/* One 20 ms media tick for every call: a timer per call costs a wake-up per call, and
 * keeping all calls on one clock keeps their packets evenly spaced.
 *
 * The tick is a timerfd, not a libevent timer: libevent 2.1 keeps time with
 * CLOCK_MONOTONIC_COARSE (4 ms steps on a 250 Hz kernel) unless the base was made with
 * EVENT_BASE_FLAG_PRECISE_TIMER, so its 20 ms timer fires up to ~2 ms early or late, which
 * spaced packets 16-24 ms apart and, when a tick came early, sent nothing and then two
 * frames back to back. A periodic timerfd is on the exact grid and says how many periods
 * have passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "rtp_int.h"

#define TICK_US 20000
/* After a stall, send at most this many frames at once; beyond it, drop frames rather than
 * burst (a jitter buffer takes a little, not a second's worth). */
#define MAX_CATCH_UP 3

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rtp_pacer *p = arg;
	uint64_t n;
	(void)what;

	/* the number of 20 ms periods since the last read: more than one after a stall */
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || n == 0 || p->nsending == 0)
		return;
	if (n > 1)
		p->stats.late_ticks++;
	if (n > MAX_CATCH_UP) {
		p->stats.skipped_frames += (n - MAX_CATCH_UP) * p->nsending;
		p->ticks_done += n - MAX_CATCH_UP;
		/* RFC 3550 5.1: the timestamp follows the clock, sent or not, so the caller's
		 * playout stays in real time */
		for (struct rtp_session *s = p->head; s != NULL; s = s->next)
			s->ts += (uint32_t)((n - MAX_CATCH_UP) * PROMPT_FRAME_SAMPLES);
		n = MAX_CATCH_UP;
	}
	p->ndrained = 0;
	for (uint64_t i = 0; i < n; i++) {
		for (struct rtp_session *s = p->head; s != NULL; s = s->next) {
			if (!rtp_session_send_frame(s))
				continue;
			if (p->ndrained == p->drained_cap) {
				size_t cap = p->drained_cap ? p->drained_cap * 2 : 64;
				struct rtp_session **d = realloc(p->drained, cap * sizeof(*d));
				if (d == NULL)
					continue; /* the call hears silence; its timer still runs */
				p->drained = d;
				p->drained_cap = cap;
			}
			p->drained[p->ndrained++] = s;
		}
	}
	p->ticks_done += n;
	/* callbacks only now: every call's packet for this tick is out first */
	for (size_t i = 0; i < p->ndrained; i++) {
		struct rtp_session *s = p->drained[i];
		if (s != NULL)
			s->ops->drained(s->arg);
	}
	p->ndrained = 0;
}

int
rtp_pacer_new(struct rtp_pacer **pp, struct event_base *base, const char *address,
	unsigned port_min, unsigned port_max)
{
	struct rtp_pacer *p = calloc(1, sizeof(*p));
	struct in6_addr a;
	int fd;

	if (p == NULL)
		return ENOMEM;
	p->base = base;
	str_copy(p->address, address, sizeof(p->address));
	if (inet_pton(AF_INET, address, &a) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, address, &a) == 1)
		p->family = AF_INET6;
	else {
		free(p);
		return EINVAL;
	}
	rtp_pacer_set_ports(p, port_min, port_max);
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		int rc = errno;
		free(p);
		return rc;
	}
	p->tick = event_new(base, fd, EV_READ | EV_PERSIST, on_tick, p);
	if (p->tick == NULL || event_add(p->tick, NULL) != 0) {
		if (p->tick != NULL)
			event_free(p->tick);
		close(fd);
		free(p);
		return ENOMEM;
	}
	*pp = p;
	return 0;
}

void
rtp_pacer_set_ports(struct rtp_pacer *p, unsigned port_min, unsigned port_max)
{
	p->port_min = port_min + (port_min & 1);
	p->port_max = port_max;
	p->next_port = p->port_min;
}

void
rtp_pacer_free(struct rtp_pacer *p)
{
	if (p == NULL)
		return;
	close(event_get_fd(p->tick));
	event_free(p->tick);
	free(p->drained);
	free(p);
}

void
rtp_pacer_stats(const struct rtp_pacer *p, struct rtp_stats *st)
{
	*st = p->stats;
	st->sessions = p->nsessions;
}

void
rtp_pacer_add(struct rtp_pacer *p, struct rtp_session *s)
{
	s->prev = NULL;
	s->next = p->head;
	if (p->head != NULL)
		p->head->prev = s;
	p->head = s;
	if (p->nsending++ == 0) {
		/* the first tick at once (on the next loop pass, when the caller has queued its
		 * prompt), then every 20 ms; later sessions join the running tick */
		struct itimerspec its = {
			.it_interval = {.tv_sec = 0, .tv_nsec = TICK_US * 1000L},
			.it_value = {.tv_sec = 0, .tv_nsec = 1},
		};
		p->start_us = clock_mono_us();
		p->ticks_done = 0;
		timerfd_settime(event_get_fd(p->tick), 0, &its, NULL);
	}
}

void
rtp_pacer_remove(struct rtp_pacer *p, struct rtp_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		p->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	for (size_t i = 0; i < p->ndrained; i++)
		if (p->drained[i] == s)
			p->drained[i] = NULL;
	if (--p->nsending == 0) {
		struct itimerspec off = {{0, 0}, {0, 0}};
		timerfd_settime(event_get_fd(p->tick), 0, &off, NULL);
	}
}
