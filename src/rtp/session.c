/* A call's RTP session: its ports, what it plays, the keys it hears, its RTCP, whether the
 * peer is still there. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "rtp_int.h"

/* Symmetric RTP keeps sending where it latched until that source has been silent this long:
 * a late packet from an old NAT binding or a stray sender does not move the stream, a peer
 * that really moved is followed within 1.5 s. */
#define LATCH_HOLD_MS 1500
/* RFC 3550 6.2: 5 s between reports, 0.5-1.5 times that at random, the first one after half */
#define RTCP_INTERVAL_MS 5000
#define NTP_UNIX_OFFSET 2208988800u /* seconds from 1900 to 1970 */

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
			memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static void
addr_str(char *buf, size_t size, const struct sockaddr_storage *a)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		inet_ntop(AF_INET, &x->sin_addr, ip, sizeof(ip));
		port = ntohs(x->sin_port);
		snprintf(buf, size, "%s:%u", ip, port);
	} else {
		const struct sockaddr_in6 *x = (const void *)a;
		inet_ntop(AF_INET6, &x->sin6_addr, ip, sizeof(ip));
		port = ntohs(x->sin6_port);
		snprintf(buf, size, "[%s]:%u", ip, port);
	}
}

/* Symmetric RTP (RFC 4961 in spirit, for callers behind NAT): send to where the peer sends
 * from. Returns true when the destination changed. */
static bool
latch(struct sockaddr_storage *dst, socklen_t *dstlen, int64_t *heard,
	const struct sockaddr_storage *src, socklen_t srclen, int64_t now_ms)
{
	if (same_addr(dst, src)) {
		*heard = now_ms;
		return false;
	}
	if (*heard != 0 && now_ms - *heard < LATCH_HOLD_MS)
		return false;
	memcpy(dst, src, srclen);
	*dstlen = srclen;
	*heard = now_ms;
	return true;
}

/* A packet of the negotiated stream (codec or telephone-event): the peer is alive, its
 * statistics for our reports, and where to send when symmetric. */
static void
rx_media(struct rtp_session *s, const struct rtp_packet *pkt, const struct sockaddr_storage *src,
	socklen_t srclen)
{
	int64_t now_us, now_ms;
	char was[64], to[64];

	if (!s->sending || (pkt->pt != s->codec_pt && (s->te_pt < 0 || pkt->pt != s->te_pt)))
		return;
	now_us = clock_mono_us();
	now_ms = now_us / 1000;
	s->heard_ms = now_ms;
	/* arrival on the 8 kHz clock: RFC 3550 A.8 */
	rtp_rx_update(&s->rx, pkt->ssrc, pkt->seq, pkt->ts, (uint32_t)(now_us * 8 / 1000),
		pkt->pt == s->codec_pt);
	if (!s->symmetric)
		return;
	addr_str(was, sizeof(was), &s->remote);
	if (!latch(&s->remote, &s->remotelen, &s->remote_heard_ms, src, srclen, now_ms))
		return;
	s->pacer->stats.latched++;
	addr_str(to, sizeof(to), &s->remote);
	/* logged once a call; later moves are counted (and traced) */
	if (!s->latched_once)
		log_msg(LOG_PRIO_INFO, "rtp", s->call_id, "symmetric RTP: sending to %s (was %s)",
			to, was);
	else if (log_tracing(LOG_TRACE_RTP))
		log_msg(LOG_PRIO_DEBUG, "rtp", s->call_id, "symmetric RTP: sending to %s (was %s)",
			to, was);
	s->latched_once = true;
}

/* Tones in the audio (inband.c), when the setting and the SDP say to listen for them. */
static void
rx_inband(struct rtp_session *s, const struct rtp_packet *pkt)
{
	int32_t jump = (int32_t)(pkt->ts - s->inband_next_ts);
	char keys[8];
	size_t n;

	if (s->inband_mode == DTMF_INBAND_OFF ||
	    (s->inband_mode == DTMF_INBAND_AUTO && s->te_pt >= 0))
		return;
	/* RFC 3550 5.1: a new source, or a timestamp jump of over 40 ms (silence suppression,
	 * a pause), is a gap between tones; a packet or two lost in a tone is not */
	if (!s->inband_seen || pkt->ssrc != s->inband_ssrc || jump > 320 || jump < -320)
		dtmf_inband_gap(&s->inband);
	s->inband_seen = true;
	s->inband_ssrc = pkt->ssrc;
	s->inband_next_ts = pkt->ts + (uint32_t)pkt->payload_len;
	n = dtmf_inband_feed(&s->inband, keys, sizeof(keys), s->codec, pkt->payload,
		pkt->payload_len);
	for (size_t i = 0; i < n; i++) {
		s->pacer->stats.inband_keys++;
		/* not the digit, as for telephone-events */
		if (log_tracing(LOG_TRACE_RTP))
			log_msg(LOG_PRIO_DEBUG, "rtp", s->call_id, "in-band key (ts %u)", pkt->ts);
		s->ops->key(s->arg, keys[i], DTMF_INBAND);
	}
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct rtp_session *s = arg;
	struct rtp_pacer *p = s->pacer;
	uint8_t buf[1500];
	(void)what;

	for (int i = 0; i < 16; i++) {
		struct rtp_packet pkt;
		struct sockaddr_storage src;
		socklen_t srclen = sizeof(src);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &srclen);
		char key;

		if (n < 0)
			return;
		p->stats.received++;
		if (rtp_parse(&pkt, buf, (size_t)n) != 0) {
			p->stats.malformed++;
			continue;
		}
		rx_media(s, &pkt, &src, srclen);
		if (s->te_pt < 0 || pkt.pt != s->te_pt) {
			if (s->sending && pkt.pt == s->codec_pt)
				rx_inband(s, &pkt);
			continue;
		}
		switch (dtmf_rx_packet(&s->dtmf, &pkt, &key)) {
		case 1:
			p->stats.dtmf_keys++;
			/* not the digit: it may be part of an account number; the call logs
			 * keys, masked where the menu says so */
			if (log_tracing(LOG_TRACE_RTP))
				log_msg(LOG_PRIO_DEBUG, "rtp", s->call_id, "telephone-event (ts %u)",
					pkt.ts);
			s->ops->key(s->arg, key, DTMF_RFC4733);
			break;
		case 0:
			break;
		default:
			p->stats.malformed++;
			break;
		}
	}
}

/* RTCP from the peer (RFC 3550 6): validated, counted, a sign of life; an SR gives the
 * LSR/DLSR of our next report block. */
static void
on_rtcp(evutil_socket_t fd, short what, void *arg)
{
	struct rtp_session *s = arg;
	struct rtp_pacer *p = s->pacer;
	uint8_t buf[1500];
	(void)what;

	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage src;
		socklen_t srclen = sizeof(src);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &srclen);
		struct rtcp_info info;
		int64_t now_ms;

		if (n < 0)
			return;
		if (rtcp_parse(&info, buf, (size_t)n) != 0) {
			p->stats.malformed++;
			continue;
		}
		p->stats.rtcp_received++;
		if (!s->sending)
			continue;
		now_ms = clock_mono_ms();
		s->heard_ms = now_ms;
		if (info.sr)
			rtp_rx_sr(&s->rx, info.lsr, now_ms);
		if (s->symmetric)
			latch(&s->rtcp_remote, &s->rtcp_remotelen, &s->rtcp_remote_heard_ms, &src,
				srclen, now_ms);
		if (log_tracing(LOG_TRACE_RTP))
			log_msg(LOG_PRIO_DEBUG, "rtp", s->call_id, "RTCP %s from SSRC %08x, %u "
				"packets%s", info.sr ? "SR" : "RR", info.ssrc, info.packets,
				info.bye ? ", BYE" : "");
	}
}

static int
bind_one(struct rtp_pacer *p, int *fdp, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

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
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		rc = errno;
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/* RFC 3550 11: RTP on an even port, RTCP on the next; a pair half taken is skipped. */
static int
bind_port(struct rtp_pacer *p, int *fdp, int *rtcp_fdp, uint16_t *portp)
{
	unsigned span;

	if (p->port_min + 1 > p->port_max)
		return EADDRINUSE;
	span = (p->port_max - p->port_min + 1) / 2;
	for (unsigned tries = 0; tries < span; tries++) {
		unsigned port = p->next_port;
		int rc;

		p->next_port += 2;
		if (p->next_port + 1 > p->port_max)
			p->next_port = p->port_min;
		rc = bind_one(p, fdp, port);
		if (rc == 0) {
			rc = bind_one(p, rtcp_fdp, port + 1);
			if (rc == 0) {
				*portp = (uint16_t)port;
				return 0;
			}
			close(*fdp);
		}
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
	s->ptime_ticks = PROMPT_FRAME_MS / RTP_TICK_MS;
	s->symmetric = p->symmetric;
	s->timeout_ms = p->timeout_ms;
	s->hold_timeout_ms = p->hold_timeout_ms;
	str_copy(s->call_id, call_id, sizeof(s->call_id));
	rc = bind_port(p, &s->fd, &s->rtcp_fd, &s->port);
	if (rc != 0) {
		free(s);
		return rc;
	}
	s->ev = event_new(p->base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
	s->rtcp_ev = event_new(p->base, s->rtcp_fd, EV_READ | EV_PERSIST, on_rtcp, s);
	if (s->ev == NULL || s->rtcp_ev == NULL || event_add(s->ev, NULL) != 0 ||
	    event_add(s->rtcp_ev, NULL) != 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		if (s->rtcp_ev != NULL)
			event_free(s->rtcp_ev);
		close(s->fd);
		close(s->rtcp_fd);
		free(s);
		return ENOMEM;
	}
	/* RFC 3550 5.1: random initial sequence number, timestamp and SSRC */
	s->ssrc = arc4random();
	s->ts = arc4random();
	s->seq = (uint16_t)arc4random();
	/* RFC 7022: a random CNAME per session */
	snprintf(s->cname, sizeof(s->cname), "ivrd-%08x%08x", arc4random(), arc4random());
	dtmf_rx_init(&s->dtmf);
	dtmf_inband_init(&s->inband);
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
rtp_session_set_inband(struct rtp_session *s, enum dtmf_inband_mode mode)
{
	s->inband_mode = mode;
}

void
rtp_session_set_ptime(struct rtp_session *s, unsigned ms)
{
	if (ms < RTP_TICK_MS || ms > RTP_PTIME_MAX || ms % RTP_TICK_MS != 0)
		ms = PROMPT_FRAME_MS;
	s->ptime_ticks = ms / RTP_TICK_MS;
	if (s->wait >= s->ptime_ticks)
		s->wait = s->ptime_ticks - 1;
}

/* RFC 3550 6.2: the interval at random from 0.5 to 1.5 times its nominal value */
static int64_t
rtcp_interval(unsigned ms)
{
	return ms / 2 + arc4random_uniform(ms + 1);
}

/* The SDP address for RTP and, RFC 3550 11, its port + 1 for RTCP. */
static void
set_remote(struct rtp_session *s, const struct sockaddr *remote, socklen_t len, int64_t now_ms)
{
	/* symmetric: a latched source still sending keeps the stream (a re-INVITE that
	 * refreshes the session repeats the address behind the NAT) */
	if (!s->symmetric || s->remote_heard_ms == 0 ||
	    now_ms - s->remote_heard_ms >= LATCH_HOLD_MS) {
		memcpy(&s->remote, remote, len);
		s->remotelen = len;
		s->remote_heard_ms = 0;
	}
	if (!s->symmetric || s->rtcp_remote_heard_ms == 0 ||
	    now_ms - s->rtcp_remote_heard_ms >= LATCH_HOLD_MS) {
		memcpy(&s->rtcp_remote, remote, len);
		s->rtcp_remotelen = len;
		s->rtcp_remote_heard_ms = 0;
		if (remote->sa_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&s->rtcp_remote;
			a->sin_port = htons((uint16_t)(ntohs(a->sin_port) + 1));
		} else if (remote->sa_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->rtcp_remote;
			a->sin6_port = htons((uint16_t)(ntohs(a->sin6_port) + 1));
		}
	}
}

void
rtp_session_start(struct rtp_session *s, const struct sockaddr *remote, socklen_t len,
	enum ivr_codec codec, int codec_pt, int te_pt)
{
	int64_t now_ms = clock_mono_ms();

	set_remote(s, remote, len, now_ms);
	s->codec = codec;
	s->codec_pt = codec_pt;
	s->te_pt = te_pt;
	if (!s->sending) {
		s->sending = true;
		s->first = true;
		s->wait = 0;
		s->heard_ms = now_ms;
		s->rtcp_due_ms = now_ms + rtcp_interval(RTCP_INTERVAL_MS / 2);
		rtp_pacer_add(s->pacer, s);
	}
}

void
rtp_session_set_direction(struct rtp_session *s, bool send, bool recv)
{
	s->held = !send;
	/* the other timeout applies from now */
	if (s->peer_sends != recv)
		s->heard_ms = clock_mono_ms();
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
	s->heard_ms = clock_mono_ms();
}

unsigned
rtp_session_silent_s(const struct rtp_session *s)
{
	int64_t d = clock_mono_ms() - s->heard_ms;

	return d > 0 ? (unsigned)(d / 1000) : 0;
}

/* A compound report: SR (or RR when we have sent nothing lately) + SDES CNAME [+ BYE]. */
static void
rtcp_send(struct rtp_session *s, int64_t now_ms, bool bye)
{
	struct rtcp_report r = {.ssrc = s->ssrc, .cname = s->cname, .bye = bye};
	uint8_t buf[RTCP_MAX_LEN];
	size_t n;

	/* RFC 3550 6.4: SR when we sent RTP since the report before last */
	r.sr = s->sent_now || s->sent_before;
	s->sent_before = s->sent_now;
	s->sent_now = false;
	if (r.sr) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r.ntp_sec = (uint32_t)ts.tv_sec + NTP_UNIX_OFFSET;
		r.ntp_frac = (uint32_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
		/* the media clock now: s->ts is due wait + 1 ticks from this one */
		r.rtp_ts = s->ts - (s->wait + 1) * RTP_TICK_SAMPLES;
		r.packets = s->packets;
		r.octets = s->octets;
	}
	if (s->rx.valid) {
		r.has_block = true;
		rtp_rx_block(&r.block, &s->rx, now_ms);
	}
	n = rtcp_build(buf, sizeof(buf), &r);
	if (sendto(s->rtcp_fd, buf, n, 0, (struct sockaddr *)&s->rtcp_remote,
		s->rtcp_remotelen) < 0)
		s->pacer->stats.send_errors++;
	else
		s->pacer->stats.rtcp_sent++;
}

bool
rtp_session_check(struct rtp_session *s, int64_t now_ms)
{
	unsigned limit;

	if (now_ms >= s->rtcp_due_ms) {
		rtcp_send(s, now_ms, false);
		s->rtcp_due_ms = now_ms + rtcp_interval(RTCP_INTERVAL_MS);
	}
	limit = s->peer_sends ? s->timeout_ms : s->hold_timeout_ms;
	if (limit == 0 || s->inactive || now_ms - s->heard_ms < limit)
		return false;
	s->inactive = true;
	s->pacer->stats.inactive++;
	log_msg(LOG_PRIO_WARNING, "rtp", s->call_id, "no RTP or RTCP from the caller for %u s%s",
		(unsigned)((now_ms - s->heard_ms) / 1000), s->peer_sends ? "" : " (on hold)");
	return true;
}

void
rtp_session_stop(struct rtp_session *s)
{
	if (!s->sending)
		return;
	/* RFC 3550 6.6: a BYE, in a compound packet, when the session ends */
	rtcp_send(s, clock_mono_ms(), true);
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
	event_free(s->rtcp_ev);
	close(s->fd);
	close(s->rtcp_fd);
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

/* Copies up to len bytes of the queued prompts from the play position, moving to the next
 * prompt when one ends (a packet of 30 ms may hold the end of one and the start of the
 * next). Returns the bytes copied; *drained when the queue ran dry. */
static size_t
fill_prompt(struct rtp_session *s, uint8_t *out, size_t len, bool *drained)
{
	size_t off = 0;

	while (off < len && s->nqueued > 0) {
		struct rtp_queued *q = &s->queue[0];
		size_t total = prompt_frames(q->prompt) * PROMPT_FRAME_SAMPLES;
		size_t in = s->frame % PROMPT_FRAME_SAMPLES;
		size_t n = PROMPT_FRAME_SAMPLES - in;

		/* frame by frame: prompt_frame() promises one frame's bytes at a time */
		if (n > len - off)
			n = len - off;
		memcpy(out + off,
			prompt_frame(q->prompt, s->codec, s->frame / PROMPT_FRAME_SAMPLES) + in, n);
		off += n;
		s->frame += n;
		if (s->frame >= total) {
			/* copied before the prompt may lose its last reference here */
			prompt_unref(q->prompt);
			memmove(&s->queue[0], &s->queue[1], (s->nqueued - 1) * sizeof(s->queue[0]));
			s->nqueued--;
			s->frame = 0;
			if (s->nqueued > 0)
				s->last_prompt = s->queue[0].name;
			else
				*drained = true;
		}
	}
	return off;
}

unsigned
rtp_session_skip(struct rtp_session *s, uint64_t ticks)
{
	uint64_t sends;

	if (ticks <= s->wait) {
		s->wait -= (unsigned)ticks;
		return 0;
	}
	ticks -= s->wait + 1;
	sends = 1 + ticks / s->ptime_ticks;
	s->wait = s->ptime_ticks - 1 - (unsigned)(ticks % s->ptime_ticks);
	/* RFC 3550 5.1: the timestamp follows the clock, sent or not, so the caller's playout
	 * stays in real time */
	s->ts += (uint32_t)(sends * s->ptime_ticks * RTP_TICK_SAMPLES);
	return (unsigned)sends;
}

bool
rtp_session_send_frame(struct rtp_session *s)
{
	struct rtp_pacer *p = s->pacer;
	uint8_t pkt[RTP_HDR_LEN + RTP_PTIME_MAX * PROMPT_RATE / 1000];
	size_t len = s->ptime_ticks * RTP_TICK_SAMPLES, off;
	bool drained = false;

	if (s->held) {
		/* RFC 3550 5.1: the timestamp keeps time while nothing is sent */
		s->ts += (uint32_t)len;
		s->first = true;
		return false;
	}
	off = fill_prompt(s, pkt + RTP_HDR_LEN, len, &drained);
	while (off < len) {
		size_t n = len - off < PROMPT_FRAME_SAMPLES ? len - off : PROMPT_FRAME_SAMPLES;
		memcpy(pkt + RTP_HDR_LEN + off, prompt_silence(s->codec), n);
		off += n;
	}
	rtp_write_header(pkt, (uint8_t)s->codec_pt, s->first, s->seq, s->ts, s->ssrc);
	if (sendto(s->fd, pkt, RTP_HDR_LEN + len, 0, (struct sockaddr *)&s->remote,
		s->remotelen) < 0) {
		p->stats.send_errors++;
	} else {
		p->stats.sent++;
		s->packets++;
		s->octets += (uint32_t)len;
		s->sent_now = true;
	}
	s->first = false;
	s->seq++;
	s->ts += (uint32_t)len;
	return drained;
}
