/* RTP (RFC 3550) and RFC 4733: the input is a stream of packets, each preceded by a
 * two-byte big-endian length, parsed with rtp_parse and fed to one dtmf_rx as the session
 * does for the negotiated telephone-event payload type (101 here, or the first packet's). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/rtp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dtmf_rx d;
	size_t off = 0;
	int te_pt = -1;

	dtmf_rx_init(&d);
	while (off + 2 <= size) {
		size_t len = ((size_t)data[off] << 8 | data[off + 1]);
		struct rtp_packet p;
		uint8_t *pkt;
		char key;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* a copy of exactly len bytes, so ASan sees any read past the packet */
		pkt = malloc(len ? len : 1);
		if (pkt == NULL)
			return 0;
		memcpy(pkt, data + off, len);
		off += len;
		if (rtp_parse(&p, pkt, len) == 0) {
			if (p.payload_len > 0 && p.payload + p.payload_len > pkt + len)
				abort();
			if (te_pt < 0)
				te_pt = p.pt;
			if (p.pt == te_pt || p.pt == 101) {
				int rc = dtmf_rx_packet(&d, &p, &key);
				if (rc == 1 && strchr("0123456789*#ABCD", key) == NULL)
					abort();
			}
		}
		free(pkt);
	}
	return 0;
}
