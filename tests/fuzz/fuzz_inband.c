/* The in-band DTMF detector on arbitrary audio: the first byte picks the codec (bit 0:
 * A-law) and the packet size (the rest, 1-128 samples), the remaining bytes are G.711
 * samples fed in packets of that size, with a gap wherever a packet starts with 0x00. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/dtmf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dtmf_inband d;
	enum ivr_codec codec;
	size_t psize;

	if (size < 1)
		return 0;
	codec = data[0] & 1 ? IVR_PCMA : IVR_PCMU;
	psize = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	dtmf_inband_init(&d);
	while (size > 0) {
		size_t n = size < psize ? size : psize;
		uint8_t *pkt = malloc(n);
		char keys[4];
		size_t k;

		if (pkt == NULL)
			return 0;
		memcpy(pkt, data, n);
		if (pkt[0] == 0x00)
			dtmf_inband_gap(&d);
		k = dtmf_inband_feed(&d, keys, sizeof(keys), codec, pkt, n);
		if (k > sizeof(keys))
			abort();
		for (size_t i = 0; i < k; i++)
			if (keys[i] == '\0' || strchr("0123456789*#ABCD", keys[i]) == NULL)
				abort();
		if (d.fill >= DTMF_INBAND_BLOCK)
			abort();
		free(pkt);
		data += n;
		size -= n;
	}
	return 0;
}
