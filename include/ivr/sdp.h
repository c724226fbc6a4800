/* SDP offer/answer (RFC 3264) for one audio stream: G.711 plus telephone-event. */
#ifndef IVR_SDP_H
#define IVR_SDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ivr/prompt.h"

enum sdp_dir {
	SDP_SENDRECV,
	SDP_SENDONLY,
	SDP_RECVONLY,
	SDP_INACTIVE,
};

/* Offers with more m= lines than this are refused (ENOTSUP): the answer must mirror each. */
#define SDP_MAX_STREAMS 8
/* Room for any answer sdp_write_answer() writes for a negotiated sdp_media. */
#define SDP_ANSWER_MAX 1024

/* One m= line of the offer, as the answer repeats it (RFC 3264 6). */
struct sdp_stream {
	char media[16]; /* "audio", "video", "application"... */
	char proto[32]; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF"... */
	char fmt[32];   /* the first format: a rejected line repeats it to stay valid */
};

struct sdp_media {
	enum ivr_codec codec;   /* PCMU or PCMA: the first of the two in the offer's order */
	int codec_pt;           /* payload type the offer used for it (0 or 8, or dynamic) */
	int te_pt;              /* telephone-event payload type, -1 when not offered */
	struct sockaddr_storage remote; /* connection address and media port */
	socklen_t remote_len;
	unsigned ptime;         /* ms, 20 when not given */
	enum sdp_dir dir;       /* the offerer's direction */
	struct sdp_stream streams[SDP_MAX_STREAMS]; /* the offer's m= lines, in order */
	unsigned nstreams;      /* 0: answer with the audio line alone */
	unsigned chosen;        /* index of the audio stream answered; the others get port 0 */
};

/* Parses an SDP offer and picks the answer's codecs. Returns 0, EPROTO (malformed: why in
 * err), or ENOTSUP when no audio stream offers PCMU or PCMA, or the offer has more than
 * SDP_MAX_STREAMS m= lines or tokens too long to repeat (the INVITE gets 488).
 * Uses libosip2's SDP parser: the daemon calls parser_init() once at start-up, before any
 * call to this. The first audio m= line with a non-zero port over RTP/AVP is used; c=0.0.0.0
 * (hold) gives SDP_INACTIVE. err may be NULL. */
int sdp_negotiate(struct sdp_media *m, const char *body, size_t len, char *err, size_t errlen);

/* Writes the answer to m: one m= line per offered one, in the offer's order (RFC 3264 6);
 * the chosen audio stream with our address and port, the chosen codec and telephone-event,
 * every other one rejected with port 0. sess_id/version go into o=. SDP_ANSWER_MAX bytes
 * are always enough. Returns the length, or -1 when buf is too small, local_ip is not an
 * IP literal or m holds no valid codec, payload type, direction or stream list. */
int sdp_write_answer(char *buf, size_t size, const struct sdp_media *m, const char *local_ip,
	uint16_t local_port, uint64_t sess_id, uint64_t sess_version);

/* The payload type we offer telephone-event (RFC 4733) on. */
#define SDP_OFFER_TE_PT 101

/* Writes our offer: one audio m= line with PCMU (0), PCMA (8) and telephone-event
 * SDP_OFFER_TE_PT (events 0-15), direction dir, a=ptime when ptime is not 0. sess_id/version
 * go into o=; RFC 3264 8: the caller raises the version whenever the SDP changes.
 * SDP_ANSWER_MAX bytes are always enough. Returns the length, or -1 when buf is too small,
 * local_ip is not an IP literal or dir is not a direction. */
int sdp_write_offer(char *buf, size_t size, const char *local_ip, uint16_t local_port,
	uint64_t sess_id, uint64_t sess_version, enum sdp_dir dir, unsigned ptime);

/* Parses the answer to an offer of sdp_write_offer(). As sdp_negotiate(), and m->dir is the
 * answerer's direction (what it will do: recvonly means it sends nothing). The answer must
 * keep our one audio stream (RFC 3264 6: port 0 there rejects it, ENOTSUP) and pick PCMU or
 * PCMA on the payload types we offered (ENOTSUP otherwise); a telephone-event on any other
 * type than ours is left out (te_pt -1). */
int sdp_answer_parse(struct sdp_media *m, const char *body, size_t len, char *err,
	size_t errlen);

#endif
