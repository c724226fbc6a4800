/* RTCP (RFC 3550 6): the compound reports a session sends, the validation of the ones it
 * receives, and the reception statistics a report block carries (RFC 3550 A.1, A.3, A.8). */
#ifndef IVR_RTCP_H
#define IVR_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_SDES 202
#define RTCP_BYE 203
/* SR with one report block, SDES with a 64-byte CNAME, BYE */
#define RTCP_MAX_LEN 200

/* What we know about the caller's stream (one source: a new SSRC starts over). */
struct rtp_rx_stats {
	bool valid;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles; /* sequence wraps, shifted left 16 */
	uint32_t base_seq, bad_seq;
	uint32_t received, expected_prior, received_prior;
	uint32_t transit; /* arrival minus RTP timestamp of the last audio packet */
	bool have_transit;
	uint32_t jitter;  /* RFC 3550 A.8: times 16 */
	uint32_t lsr;     /* middle 32 bits of the NTP timestamp of the caller's last SR */
	int64_t lsr_ms;   /* when that SR arrived (monotonic ms), 0: none */
};

/* One report block (RFC 3550 6.4.1). */
struct rtcp_block {
	uint32_t ssrc;
	uint8_t fraction;      /* lost since the last report, in 1/256 */
	int32_t lost;          /* cumulative, 24-bit signed */
	uint32_t ext_max_seq;
	uint32_t jitter;       /* RTP timestamp units */
	uint32_t lsr, dlsr;    /* dlsr in 1/65536 s */
};

struct rtcp_report {
	uint32_t ssrc;
	bool sr;               /* SR when we sent RTP since the report before last, else RR */
	uint32_t ntp_sec, ntp_frac, rtp_ts, packets, octets;
	bool has_block;
	struct rtcp_block block;
	const char *cname;     /* up to 255 bytes */
	bool bye;
};

/* What a received compound packet said. */
struct rtcp_info {
	uint32_t ssrc;         /* of the first packet's sender */
	bool sr;
	uint32_t lsr;          /* the SR's NTP timestamp, middle 32 bits */
	bool bye;
	unsigned packets;      /* RTCP packets in the compound */
};

/* Writes a compound packet: SR or RR (with the block if any), SDES CNAME, BYE if asked.
 * Returns its length, or 0 when it does not fit size. */
size_t rtcp_build(uint8_t *buf, size_t size, const struct rtcp_report *r);
/* Validates a compound packet (RFC 3550 A.2: version 2, first an SR or RR without padding,
 * padding only in the last, lengths adding up to len). Returns 0 or EINVAL. */
int rtcp_parse(struct rtcp_info *info, const uint8_t *buf, size_t len);

/* RFC 3550 A.1/A.8: a packet with seq and ts arrived at `arrival` (RTP timestamp units of
 * the local clock). jitter says whether it is audio (telephone-events, whose timestamps stand
 * still for an event, count for loss only). Returns false when it is not counted (a jump in
 * sequence numbers not yet confirmed by the next packet). */
bool rtp_rx_update(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t ts,
	uint32_t arrival, bool jitter);
/* The caller's SR arrived at now_ms. */
void rtp_rx_sr(struct rtp_rx_stats *st, uint32_t lsr, int64_t now_ms);
/* Fills a report block for the interval since the last call (RFC 3550 A.3). */
void rtp_rx_block(struct rtcp_block *b, struct rtp_rx_stats *st, int64_t now_ms);

#endif
