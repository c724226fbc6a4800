/* A call's RTP session: its port, what it plays, the keys it hears. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "rtp_int.h"

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct rtp_session *s = arg;
	struct rtp_pacer *p = s->pacer;
	uint8_t buf[1500];
	(void)what;

	for (int i = 0; i < 16; i++) {
		struct rtp_packet pkt;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		char key;

		if (n < 0)
			return;
		p->stats.received++;
		if (rtp_parse(&pkt, buf, (size_t)n) != 0) {
			p->stats.malformed++;
			continue;
		}
		if (s->te_pt < 0 || pkt.pt != s->te_pt)
			continue;
		switch (dtmf_rx_packet(&s->dtmf, &pkt, &key)) {
		case 1:
			p->stats.dtmf_keys++;
			/* not the digit: it may be part of an account number; the call logs
			 * keys, masked where the menu says so */
			if (log_tracing(LOG_TRACE_RTP))
				log_msg(LOG_PRIO_DEBUG, "rtp", s->call_id, "telephone-event (ts %u)",
					pkt.ts);
			s->ops->key(s->arg, key);
			break;
		case 0:
			break;
		default:
			p->stats.malformed++;
			break;
		}
	}
}

static int
bind_port(struct rtp_pacer *p, int *fdp, uint16_t *portp)
{
	unsigned span = (p->port_max - p->port_min) / 2 + 1;
	int rc = EADDRINUSE;

	for (unsigned tries = 0; tries < span; tries++) {
		unsigned port = p->next_port;
		struct sockaddr_storage ss;
		socklen_t len;
		int fd;

		p->next_port += 2;
		if (p->next_port > p->port_max)
			p->next_port = p->port_min;
		memset(&ss, 0, sizeof(ss));
		if (p->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			inet_pton(AF_INET, p->address, &s4->sin_addr);
			len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			inet_pton(AF_INET6, p->address, &s6->sin6_addr);
			len = sizeof(*s6);
		}
		fd = socket(p->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return errno;
		if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
			*fdp = fd;
			*portp = (uint16_t)port;
			return 0;
		}
		rc = errno;
		close(fd);
		if (rc != EADDRINUSE && rc != EACCES)
			return rc;
	}
	return EADDRINUSE;
}

int
rtp_session_new(struct rtp_session **sp, struct rtp_pacer *p,
	const struct rtp_session_ops *ops, void *arg, const char *call_id)
{
	struct rtp_session *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return ENOMEM;
	s->pacer = p;
	s->ops = ops;
	s->arg = arg;
	s->te_pt = -1;
	s->peer_sends = true;
	str_copy(s->call_id, call_id, sizeof(s->call_id));
	rc = bind_port(p, &s->fd, &s->port);
	if (rc != 0) {
		free(s);
		return rc;
	}
	s->ev = event_new(p->base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
	if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		close(s->fd);
		free(s);
		return ENOMEM;
	}
	/* RFC 3550 5.1: random initial sequence number, timestamp and SSRC */
	s->ssrc = arc4random();
	s->ts = arc4random();
	s->seq = (uint16_t)arc4random();
	dtmf_rx_init(&s->dtmf);
	p->nsessions++;
	*sp = s;
	return 0;
}

uint16_t
rtp_session_port(const struct rtp_session *s)
{
	return s->port;
}

void
rtp_session_start(struct rtp_session *s, const struct sockaddr *remote, socklen_t len,
	enum ivr_codec codec, int codec_pt, int te_pt)
{
	memcpy(&s->remote, remote, len);
	s->remotelen = len;
	s->codec = codec;
	s->codec_pt = codec_pt;
	s->te_pt = te_pt;
	if (!s->sending) {
		s->sending = true;
		s->first = true;
		rtp_pacer_add(s->pacer, s);
	}
}

void
rtp_session_set_direction(struct rtp_session *s, bool send, bool recv)
{
	s->held = !send;
	s->peer_sends = recv;
}

bool
rtp_session_sending(const struct rtp_session *s)
{
	return s->sending && !s->held;
}

void
rtp_session_touch(struct rtp_session *s)
{
	(void)s;
}

void
rtp_session_stop(struct rtp_session *s)
{
	if (!s->sending)
		return;
	s->sending = false;
	rtp_pacer_remove(s->pacer, s);
}

void
rtp_session_flush(struct rtp_session *s)
{
	for (unsigned i = 0; i < s->nqueued; i++)
		prompt_unref(s->queue[i].prompt);
	s->nqueued = 0;
	s->frame = 0;
}

void
rtp_session_free(struct rtp_session *s)
{
	if (s == NULL)
		return;
	rtp_session_stop(s);
	rtp_session_flush(s);
	event_free(s->ev);
	close(s->fd);
	s->pacer->nsessions--;
	free(s);
}

int
rtp_session_play(struct rtp_session *s, struct prompt *pr, const char *name,
	bool interruptible)
{
	if (s->nqueued == RTP_QUEUE)
		return ENOBUFS;
	s->queue[s->nqueued].prompt = prompt_ref(pr);
	s->queue[s->nqueued].name = name;
	s->queue[s->nqueued].interruptible = interruptible;
	if (s->nqueued++ == 0) {
		s->frame = 0;
		s->last_prompt = name;
	}
	return 0;
}

bool
rtp_session_interruptible(const struct rtp_session *s)
{
	return s->nqueued == 0 || s->queue[0].interruptible;
}

bool
rtp_session_idle(const struct rtp_session *s)
{
	return s->nqueued == 0;
}

const char *
rtp_session_last_prompt(const struct rtp_session *s)
{
	return s->last_prompt;
}

bool
rtp_session_send_frame(struct rtp_session *s)
{
	struct rtp_pacer *p = s->pacer;
	uint8_t pkt[RTP_HDR_LEN + PROMPT_FRAME_SAMPLES];
	const uint8_t *frame;
	bool drained = false;

	if (s->held) {
		/* RFC 3550 5.1: the timestamp keeps time while nothing is sent */
		s->ts += PROMPT_FRAME_SAMPLES;
		s->first = true;
		return false;
	}
	if (s->nqueued > 0) {
		struct rtp_queued *q = &s->queue[0];
		frame = prompt_frame(q->prompt, s->codec, s->frame);
		/* copy before the prompt may lose its last reference below */
		memcpy(pkt + RTP_HDR_LEN, frame, PROMPT_FRAME_SAMPLES);
		if (++s->frame >= prompt_frames(q->prompt)) {
			prompt_unref(q->prompt);
			memmove(&s->queue[0], &s->queue[1], (s->nqueued - 1) * sizeof(s->queue[0]));
			s->nqueued--;
			s->frame = 0;
			if (s->nqueued > 0)
				s->last_prompt = s->queue[0].name;
			else
				drained = true;
		}
	} else {
		memcpy(pkt + RTP_HDR_LEN, prompt_silence(s->codec), PROMPT_FRAME_SAMPLES);
	}
	rtp_write_header(pkt, (uint8_t)s->codec_pt, s->first, s->seq, s->ts, s->ssrc);
	if (sendto(s->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&s->remote, s->remotelen) < 0)
		p->stats.send_errors++;
	else
		p->stats.sent++;
	s->first = false;
	s->seq++;
	s->ts += PROMPT_FRAME_SAMPLES;
	return drained;
}
