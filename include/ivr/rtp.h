/* RTP packets (RFC 3550) and RFC 4733 telephone-events. */
#ifndef IVR_RTP_H
#define IVR_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_LEN 12

/* Network byte order into a packet being built (RTP and RTCP). */
static inline void
rtp_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
rtp_put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

struct rtp_packet {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload; /* points into the buffer given to rtp_parse */
	size_t payload_len;
};

/* Parses an RTP packet (version 2, CSRCs, header extension and padding handled).
 * Returns 0 or EINVAL for anything malformed. */
int rtp_parse(struct rtp_packet *p, const uint8_t *buf, size_t len);
/* Writes a 12-byte header; returns RTP_HDR_LEN. */
size_t rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
	uint32_t ssrc);

/* RFC 4733 receiver: turns a stream of telephone-event packets into one key per event,
 * whatever the retransmissions of start, update and end packets. */
#define DTMF_RECENT 8

struct dtmf_rx {
	uint32_t ssrc;
	unsigned nrecent;                /* events remembered, newest at recent[0] */
	uint32_t recent_ts[DTMF_RECENT]; /* RTP timestamp of each event reported */
	uint8_t recent_event[DTMF_RECENT];
};

void dtmf_rx_init(struct dtmf_rx *d);
/* p must have the negotiated telephone-event payload type. Returns 1 and the key
 * ('0'-'9', '*', '#', 'A'-'D') for a new event, 0 for a packet of an event already
 * reported (update, end, retransmit) or an event that is not a key, EINVAL for a malformed
 * payload. */
int dtmf_rx_packet(struct dtmf_rx *d, const struct rtp_packet *p, char *key);

#endif
