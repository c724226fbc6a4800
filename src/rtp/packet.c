/* RTP fixed header, CSRC list, header extension and padding (RFC 3550 5.1, 5.3.1). */
#include <errno.h>

#include "ivr/rtp.h"

#define RTP_VERSION 2

static uint16_t
get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int
rtp_parse(struct rtp_packet *p, const uint8_t *buf, size_t len)
{
	size_t off, ext, pad = 0;

	if (len < RTP_HDR_LEN || buf[0] >> 6 != RTP_VERSION)
		return EINVAL;
	off = RTP_HDR_LEN + 4 * (size_t)(buf[0] & 0x0f);
	if (off > len)
		return EINVAL;
	if (buf[0] & 0x10) {
		/* RFC 3550 5.3.1: 16-bit profile field, then length in 32-bit words */
		if (len - off < 4)
			return EINVAL;
		ext = 4 + 4 * (size_t)get16(buf + off + 2);
		if (len - off < ext)
			return EINVAL;
		off += ext;
	}
	if (buf[0] & 0x20) {
		/* RFC 3550 5.1: the last octet counts the padding, itself included */
		if (len == off)
			return EINVAL;
		pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return EINVAL;
	}
	p->marker = buf[1] & 0x80;
	p->pt = buf[1] & 0x7f;
	p->seq = get16(buf + 2);
	p->ts = get32(buf + 4);
	p->ssrc = get32(buf + 8);
	p->payload = buf + off;
	p->payload_len = len - off - pad;
	return 0;
}

size_t
rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
	uint32_t ssrc)
{
	buf[0] = RTP_VERSION << 6;
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	rtp_put16(buf + 2, seq);
	rtp_put32(buf + 4, ts);
	rtp_put32(buf + 8, ssrc);
	return RTP_HDR_LEN;
}
