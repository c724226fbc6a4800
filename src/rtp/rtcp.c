/* RTCP compound packets (RFC 3550 6) and the receiver statistics behind a report block. */
#include <errno.h>
#include <string.h>

#include "ivr/rtcp.h"
#include "ivr/rtp.h"

#define RTCP_VERSION 2
#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000 /* RFC 3550 A.1 */
#define MAX_MISORDER 100

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The common header: count in the low 5 bits, length in 32-bit words minus one. */
static void
header(uint8_t *b, unsigned count, uint8_t pt, size_t len)
{
	b[0] = (uint8_t)(RTCP_VERSION << 6 | (count & 0x1f));
	b[1] = pt;
	rtp_put16(b + 2, (uint16_t)(len / 4 - 1));
}

size_t
rtcp_build(uint8_t *buf, size_t size, const struct rtcp_report *r)
{
	size_t cname_len = r->cname != NULL ? strnlen(r->cname, 255) : 0;
	/* SDES: header, SSRC, CNAME item, at least one null octet, to a 32-bit boundary */
	size_t sdes = (4 + 4 + 2 + cname_len + 1 + 3) / 4 * 4;
	size_t first = 8 + (r->sr ? 20 : 0) + (r->has_block ? 24 : 0);
	size_t len = first + sdes + (r->bye ? 8 : 0);
	uint8_t *b = buf;

	if (len > size)
		return 0;
	memset(buf, 0, len);
	header(b, r->has_block ? 1 : 0, r->sr ? RTCP_SR : RTCP_RR, first);
	rtp_put32(b + 4, r->ssrc);
	b += 8;
	if (r->sr) {
		/* RFC 3550 6.4.1: the NTP and RTP timestamps name the same instant */
		rtp_put32(b, r->ntp_sec);
		rtp_put32(b + 4, r->ntp_frac);
		rtp_put32(b + 8, r->rtp_ts);
		rtp_put32(b + 12, r->packets);
		rtp_put32(b + 16, r->octets);
		b += 20;
	}
	if (r->has_block) {
		const struct rtcp_block *k = &r->block;
		int32_t lost = k->lost > 0x7fffff ? 0x7fffff : k->lost < -0x800000 ? -0x800000 :
			k->lost;
		rtp_put32(b, k->ssrc);
		rtp_put32(b + 4, (uint32_t)k->fraction << 24 | ((uint32_t)lost & 0xffffff));
		rtp_put32(b + 8, k->ext_max_seq);
		rtp_put32(b + 12, k->jitter);
		rtp_put32(b + 16, k->lsr);
		rtp_put32(b + 20, k->dlsr);
		b += 24;
	}
	header(b, 1, RTCP_SDES, sdes);
	rtp_put32(b + 4, r->ssrc);
	b[8] = 1; /* CNAME */
	b[9] = (uint8_t)cname_len;
	memcpy(b + 10, r->cname != NULL ? r->cname : "", cname_len);
	b += sdes;
	if (r->bye) {
		header(b, 1, RTCP_BYE, 8);
		rtp_put32(b + 4, r->ssrc);
	}
	return len;
}

int
rtcp_parse(struct rtcp_info *info, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	memset(info, 0, sizeof(*info));
	/* RFC 3550 A.2: the first packet is an SR or RR, without padding */
	if (len < 8 || (buf[0] & 0xe0) != RTCP_VERSION << 6 ||
	    (buf[1] != RTCP_SR && buf[1] != RTCP_RR))
		return EINVAL;
	while (off < len) {
		const uint8_t *p = buf + off;
		size_t plen;

		if (len - off < 4 || p[0] >> 6 != RTCP_VERSION)
			return EINVAL;
		plen = 4 * ((size_t)(p[2] << 8 | p[3]) + 1);
		if (plen > len - off)
			return EINVAL;
		/* padding only in the last packet, its count within that packet */
		if (p[0] & 0x20) {
			if (off + plen != len || p[plen - 1] == 0 || p[plen - 1] > plen - 4)
				return EINVAL;
		}
		switch (p[1]) {
		case RTCP_SR:
			if (plen < 28 || 28 + 24 * (size_t)(p[0] & 0x1f) > plen)
				return EINVAL;
			if (off == 0) {
				info->sr = true;
				info->lsr = get32(p + 10);
			}
			break;
		case RTCP_RR:
			if (plen < 8 || 8 + 24 * (size_t)(p[0] & 0x1f) > plen)
				return EINVAL;
			break;
		case RTCP_BYE:
			info->bye = true;
			break;
		default:
			break;
		}
		if (off == 0)
			info->ssrc = get32(p + 4);
		info->packets++;
		off += plen;
	}
	return 0;
}

static void
rx_init(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq)
{
	uint32_t lsr = st->lsr;
	int64_t lsr_ms = st->lsr_ms;

	memset(st, 0, sizeof(*st));
	st->valid = true;
	st->ssrc = ssrc;
	st->base_seq = seq;
	st->max_seq = seq;
	st->bad_seq = SEQ_MOD + 1;
	st->lsr = lsr;
	st->lsr_ms = lsr_ms;
}

bool
rtp_rx_update(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t ts,
	uint32_t arrival, bool jitter)
{
	uint16_t udelta;

	if (!st->valid || st->ssrc != ssrc) {
		rx_init(st, ssrc, seq);
	} else {
		udelta = (uint16_t)(seq - st->max_seq);
		if (udelta < MAX_DROPOUT) {
			/* in order, gaps allowed */
			if (seq < st->max_seq)
				st->cycles += SEQ_MOD;
			st->max_seq = seq;
		} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
			/* a big jump: believe it when the next packet follows it (the sender
			 * restarted without changing SSRC) */
			if (seq != st->bad_seq) {
				st->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
				return false;
			}
			rx_init(st, ssrc, seq);
		}
		/* else a duplicate or a packet out of order: counted, no new maximum */
	}
	st->received++;
	if (jitter) {
		/* RFC 3550 A.8: J += (|D| - J) / 16, kept times 16 */
		uint32_t transit = arrival - ts;
		if (st->have_transit) {
			int32_t d = (int32_t)(transit - st->transit);
			uint32_t ad = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
			st->jitter += ad - ((st->jitter + 8) >> 4);
		}
		st->transit = transit;
		st->have_transit = true;
	}
	return true;
}

void
rtp_rx_sr(struct rtp_rx_stats *st, uint32_t lsr, int64_t now_ms)
{
	st->lsr = lsr;
	st->lsr_ms = now_ms;
}

void
rtp_rx_block(struct rtcp_block *b, struct rtp_rx_stats *st, int64_t now_ms)
{
	/* RFC 3550 A.3 */
	uint32_t ext_max = st->cycles + st->max_seq;
	uint32_t expected = ext_max - st->base_seq + 1;
	int64_t lost = (int64_t)expected - st->received;
	uint32_t expected_interval = expected - st->expected_prior;
	uint32_t received_interval = st->received - st->received_prior;
	int64_t lost_interval = (int64_t)expected_interval - received_interval;

	st->expected_prior = expected;
	st->received_prior = st->received;
	memset(b, 0, sizeof(*b));
	b->ssrc = st->ssrc;
	/* all lost is 256/256: the field holds 255 at most */
	b->fraction = expected_interval == 0 || lost_interval <= 0 ? 0 :
		lost_interval >= expected_interval ? 255 :
		(uint8_t)((lost_interval << 8) / expected_interval);
	b->lost = lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : (int32_t)lost;
	b->ext_max_seq = ext_max;
	b->jitter = st->jitter >> 4;
	if (st->lsr_ms != 0) {
		b->lsr = st->lsr;
		b->dlsr = (uint32_t)((now_ms - st->lsr_ms) * 65536 / 1000);
	}
}
