/* Shared by session.c and pacer.c. */
#ifndef IVR_RTP_INT_H
#define IVR_RTP_INT_H

#include <event2/event.h>

#include "ivr/rtcp.h"
#include "ivr/rtp.h"
#include "ivr/rtp_session.h"

#define RTP_QUEUE 4
/* The media tick: every ptime is a whole number of ticks (RFC 4566 a=ptime, 10-60 ms). */
#define RTP_TICK_MS 10
#define RTP_TICK_SAMPLES (PROMPT_RATE / 1000 * RTP_TICK_MS)
#define RTP_PTIME_MAX 60

struct rtp_queued {
	struct prompt *prompt;
	const char *name;
	bool interruptible;
};

struct rtp_session {
	struct rtp_pacer *pacer;
	const struct rtp_session_ops *ops;
	void *arg;
	char call_id[128];
	int fd, rtcp_fd;
	uint16_t port; /* RTCP on port + 1 */
	struct event *ev, *rtcp_ev;
	struct sockaddr_storage remote, rtcp_remote;
	socklen_t remotelen, rtcp_remotelen;
	enum ivr_codec codec;
	int codec_pt, te_pt;
	uint32_t ssrc, ts;
	uint16_t seq;
	bool sending, first;
	bool held, peer_sends; /* rtp_session_set_direction */
	struct rtp_session *prev, *next; /* the pacer's list of sending sessions */
	struct rtp_queued queue[RTP_QUEUE]; /* queue[0] plays now */
	unsigned nqueued;
	size_t frame; /* byte offset into queue[0]'s prompt */
	const char *last_prompt;
	struct dtmf_rx dtmf;
	/* in-band tones (rtp_session_set_inband) and where the audio should go on */
	struct dtmf_inband inband;
	enum dtmf_inband_mode inband_mode;
	bool inband_seen;
	uint32_t inband_ssrc, inband_next_ts;
	unsigned ptime_ticks, wait; /* a packet every ptime_ticks ticks, the next in wait + 1 */
	/* symmetric RTP: when the peer was last heard from the address we send to (0 never) */
	bool symmetric, latched_once;
	int64_t remote_heard_ms, rtcp_remote_heard_ms;
	/* liveness: the peer was last heard (RTP, RTCP or signalling) at heard_ms */
	int64_t heard_ms;
	unsigned timeout_ms, hold_timeout_ms;
	bool inactive;
	/* RTCP (RFC 3550 6) */
	int64_t rtcp_due_ms;
	uint32_t packets, octets;
	bool sent_now, sent_before; /* RTP sent in this report interval, in the one before */
	struct rtp_rx_stats rx;
	char cname[24];
};

struct rtp_pacer {
	struct event_base *base;
	struct event *tick;
	char address[64];
	int family;
	unsigned port_min, port_max, next_port;
	struct rtp_session *head;
	unsigned nsending;
	int64_t start_us;
	uint64_t ticks_done;
	struct rtp_stats stats;
	struct rtp_session **drained;
	size_t ndrained, drained_cap;
	struct rtp_session **dead; /* inactive this tick */
	size_t ndead, dead_cap;
	unsigned nsessions;
	bool symmetric; /* for sessions made from now on */
	unsigned timeout_ms, hold_timeout_ms;
};

void rtp_pacer_add(struct rtp_pacer *p, struct rtp_session *s);
/* n ticks have passed (more than one after a stall): packets due, RTCP due, timeouts. */
void rtp_pacer_run(struct rtp_pacer *p, uint64_t n, int64_t now_ms);
void rtp_pacer_remove(struct rtp_pacer *p, struct rtp_session *s);
/* Sends one packet of ptime; returns true when the prompt queue ran dry with it. */
bool rtp_session_send_frame(struct rtp_session *s);
/* The pacer skipped ticks after a stall: the packets due in them are not sent but their
 * time passes. Returns the packets skipped. */
unsigned rtp_session_skip(struct rtp_session *s, uint64_t ticks);
/* Once a tick: sends RTCP when due; true when the peer has been silent past its timeout
 * (once). */
bool rtp_session_check(struct rtp_session *s, int64_t now_ms);

#endif
