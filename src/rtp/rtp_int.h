/* Shared by session.c and pacer.c. */
#ifndef IVR_RTP_INT_H
#define IVR_RTP_INT_H

#include <event2/event.h>

#include "ivr/rtp.h"
#include "ivr/rtp_session.h"

#define RTP_QUEUE 4

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
	int fd;
	uint16_t port;
	struct event *ev;
	struct sockaddr_storage remote;
	socklen_t remotelen;
	enum ivr_codec codec;
	int codec_pt, te_pt;
	uint32_t ssrc, ts;
	uint16_t seq;
	bool sending, first;
	bool held, peer_sends; /* rtp_session_set_direction */
	struct rtp_session *prev, *next; /* the pacer's list of sending sessions */
	struct rtp_queued queue[RTP_QUEUE]; /* queue[0] plays now */
	unsigned nqueued;
	size_t frame;
	const char *last_prompt;
	struct dtmf_rx dtmf;
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
	unsigned nsessions;
};

void rtp_pacer_add(struct rtp_pacer *p, struct rtp_session *s);
void rtp_pacer_remove(struct rtp_pacer *p, struct rtp_session *s);
/* Sends one frame; returns true when the prompt queue ran dry with it. */
bool rtp_session_send_frame(struct rtp_session *s);

#endif
