/* A call's RTP session: an even UDP port from the configured range for RTP and the next one
 * for RTCP, prompt playback paced at the negotiated ptime by the shared 10 ms media tick,
 * RFC 4733 keys in, symmetric RTP, RTCP reports and an inactivity timeout. */
#ifndef IVR_RTP_SESSION_H
#define IVR_RTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ivr/dtmf.h"
#include "ivr/prompt.h"

struct event_base;
struct prompt;
struct rtp_pacer;
struct rtp_session;

struct rtp_session_ops {
	/* A key and the path it came by (RFC 4733 or tones in the audio). */
	void (*key)(void *arg, char key, enum dtmf_path path);
	/* The prompt queue ran dry. Runs from the media tick after every call's packet of that
	 * tick has been sent. */
	void (*drained)(void *arg);
	/* No RTP or RTCP from the peer and no rtp_session_touch() for the inactivity timeout:
	 * the call is dead. Runs once; may be NULL. */
	void (*inactive)(void *arg);
};

struct rtp_stats {
	uint64_t sent, late_ticks, skipped_frames, received, dtmf_keys, malformed, send_errors;
	uint64_t rtcp_sent, rtcp_received;
	uint64_t latched;  /* symmetric RTP: destination changed to where the peer sends from */
	uint64_t inactive; /* sessions that timed out with no media */
	uint64_t inband_keys; /* keys heard as tones in the audio (dtmf.h) */
	unsigned sessions;
};

/* The media tick, shared by every session of the daemon. */
int rtp_pacer_new(struct rtp_pacer **pp, struct event_base *base, const char *address,
	unsigned port_min, unsigned port_max);
void rtp_pacer_free(struct rtp_pacer *p);
void rtp_pacer_stats(const struct rtp_pacer *p, struct rtp_stats *st);
/* Changes the port range for sessions made from now on (reload). */
void rtp_pacer_set_ports(struct rtp_pacer *p, unsigned port_min, unsigned port_max);
/* Media settings for sessions made from now on (start-up, reload): symmetric RTP, the
 * inactivity timeouts in ms (0 = none) in general and while the peer has us on hold. */
void rtp_pacer_set_media(struct rtp_pacer *p, bool symmetric, unsigned timeout_ms,
	unsigned hold_timeout_ms);

/* Binds an even port and the next one (RTCP); EADDRINUSE when the range has no free pair. */
int rtp_session_new(struct rtp_session **sp, struct rtp_pacer *p,
	const struct rtp_session_ops *ops, void *arg, const char *call_id);
uint16_t rtp_session_port(const struct rtp_session *s);
/* When to listen for tones in the audio (ivrd.rtp.inband_dtmf); AUTO until set. */
void rtp_session_set_inband(struct rtp_session *s, enum dtmf_inband_mode mode);
/* Packets of ms milliseconds (the answer's a=ptime: 10-60, whole 10 ms; else 20). */
void rtp_session_set_ptime(struct rtp_session *s, unsigned ms);
/* Starts sending to remote (silence until a prompt is queued). */
void rtp_session_start(struct rtp_session *s, const struct sockaddr *remote, socklen_t len,
	enum ivr_codec codec, int codec_pt, int te_pt);
/* Hold and unhold (RFC 3264 8.4), from the peer's SDP direction: send false (the peer sent
 * a=sendonly or a=inactive, or c=0.0.0.0) pauses playback where it is, sending nothing but
 * keeping the timestamp running; true resumes the prompt at the frame it paused on. recv
 * false says the peer will send no RTP. */
void rtp_session_set_direction(struct rtp_session *s, bool send, bool recv);
bool rtp_session_sending(const struct rtp_session *s);
/* Signalling for the call arrived: the peer is alive even without RTP. */
void rtp_session_touch(struct rtp_session *s);
/* Whole seconds since the peer was last heard from (RTP, RTCP or rtp_session_touch). */
unsigned rtp_session_silent_s(const struct rtp_session *s);
/* Stops sending, with an RTCP BYE (keeps the ports until freed). */
void rtp_session_stop(struct rtp_session *s);
void rtp_session_free(struct rtp_session *s);

/* Queues a prompt (a reference is taken). name is kept for "last heard". */
int rtp_session_play(struct rtp_session *s, struct prompt *pr, const char *name,
	bool interruptible);
/* Drops the prompt playing and the queue. */
void rtp_session_flush(struct rtp_session *s);
bool rtp_session_interruptible(const struct rtp_session *s);
bool rtp_session_idle(const struct rtp_session *s);
/* The prompt playing now, or the last one played; NULL before any. */
const char *rtp_session_last_prompt(const struct rtp_session *s);

#endif
