/* One 10 ms media tick for every call: a timer per call costs a wake-up per call, and
 * keeping all calls on one clock keeps their packets evenly spaced. Each session sends when
 * its packet is due: every tick at a=ptime:10, every second one at 20 ms, every sixth at 60.
 * 10 ms rather than 20 because ptime 30 (a common trunk setting) is no multiple of 20;
 * sessions at 20 ms take turns between odd and even ticks by when they started, which
 * halves the burst per wake-up (tests/bench/bench_calls.py: the CPU cost is the same).
 *
 * The tick also sends each session's RTCP when due and checks its inactivity timeout (two
 * comparisons a session): no timer per call for either.
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

#define TICK_US (RTP_TICK_MS * 1000)
/* After a stall, catch up at most this many ticks (60 ms) at once; beyond it, drop packets
 * rather than burst (a jitter buffer takes a little, not a second's worth). */
#define MAX_CATCH_UP 6

/* Remembers s for a callback after the tick's packets are out. */
static void
defer(struct rtp_session ***arr, size_t *n, size_t *cap, struct rtp_session *s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct rtp_session **d = realloc(*arr, c * sizeof(*d));
		if (d == NULL)
			return; /* the callback is lost: the call hears silence, or lives on */
		*arr = d;
		*cap = c;
	}
	(*arr)[(*n)++] = s;
}

void
rtp_pacer_run(struct rtp_pacer *p, uint64_t n, int64_t now_ms)
{
	if (n == 0 || p->nsending == 0)
		return;
	if (n > 1)
		p->stats.late_ticks++;
	if (n > MAX_CATCH_UP) {
		for (struct rtp_session *s = p->head; s != NULL; s = s->next)
			p->stats.skipped_frames += rtp_session_skip(s, n - MAX_CATCH_UP);
		p->ticks_done += n - MAX_CATCH_UP;
		n = MAX_CATCH_UP;
	}
	p->ndrained = p->ndead = 0;
	for (uint64_t i = 0; i < n; i++) {
		for (struct rtp_session *s = p->head; s != NULL; s = s->next) {
			if (s->wait > 0)
				s->wait--;
			else {
				s->wait = s->ptime_ticks - 1;
				if (rtp_session_send_frame(s))
					defer(&p->drained, &p->ndrained, &p->drained_cap, s);
			}
			if (i + 1 == n && rtp_session_check(s, now_ms))
				defer(&p->dead, &p->ndead, &p->dead_cap, s);
		}
	}
	p->ticks_done += n;
	/* callbacks only now: every call's packet for this tick is out first; a callback may
	 * end its call, and rtp_pacer_remove() clears it from both lists */
	for (size_t i = 0; i < p->ndrained; i++) {
		struct rtp_session *s = p->drained[i];
		if (s != NULL)
			s->ops->drained(s->arg);
	}
	for (size_t i = 0; i < p->ndead; i++) {
		struct rtp_session *s = p->dead[i];
		if (s != NULL && s->ops->inactive != NULL)
			s->ops->inactive(s->arg);
	}
	p->ndrained = p->ndead = 0;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rtp_pacer *p = arg;
	uint64_t n;
	(void)what;

	/* the number of ticks since the last read: more than one after a stall */
	if (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		rtp_pacer_run(p, n, clock_mono_ms());
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
	rtp_pacer_set_media(p, false, 0, 0);
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
rtp_pacer_set_media(struct rtp_pacer *p, bool symmetric, unsigned timeout_ms,
	unsigned hold_timeout_ms)
{
	p->symmetric = symmetric;
	p->timeout_ms = timeout_ms;
	p->hold_timeout_ms = hold_timeout_ms;
}

void
rtp_pacer_free(struct rtp_pacer *p)
{
	if (p == NULL)
		return;
	close(event_get_fd(p->tick));
	event_free(p->tick);
	free(p->drained);
	free(p->dead);
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
		 * prompt), then every tick; later sessions join the running tick */
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
	for (size_t i = 0; i < p->ndead; i++)
		if (p->dead[i] == s)
			p->dead[i] = NULL;
	if (--p->nsending == 0) {
		struct itimerspec off = {{0, 0}, {0, 0}};
		timerfd_settime(event_get_fd(p->tick), 0, &off, NULL);
	}
}
