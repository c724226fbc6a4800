/* ITU-T G.711 companding of 16-bit linear PCM: 8 segments of 16 steps each, the step
 * doubling from one segment to the next. Magnitudes are coded symmetrically around zero. */
#include <stdint.h>

#include "ivr/prompt.h"

#define ULAW_BIAS 132  /* 33 in G.711's 14-bit scale, shifted to 16 bits */
#define ULAW_CLIP 32635 /* largest magnitude that does not overflow once biased */

/* Index of the highest set bit; v > 0. */
static int
top_bit(unsigned v)
{
	return 31 - __builtin_clz(v);
}

uint8_t
g711_ulaw_encode(int16_t pcm)
{
	unsigned mag = pcm < 0 ? -(unsigned)pcm : (unsigned)pcm;
	unsigned sign = pcm < 0 ? 0x80 : 0x00;
	int seg;

	if (mag > ULAW_CLIP)
		mag = ULAW_CLIP;
	/* With the bias the segment is where the top bit lands: bit 7 is segment 0. */
	mag += ULAW_BIAS;
	seg = top_bit(mag) - 7;
	/* u-law sends the code inverted so that silence is mostly ones on the line. */
	return (uint8_t)~(sign | (unsigned)seg << 4 | ((mag >> (seg + 3)) & 0x0f));
}

int16_t
g711_ulaw_decode(uint8_t ulaw)
{
	unsigned c = (uint8_t)~ulaw;
	unsigned seg = (c >> 4) & 0x07;
	int mag = (int)((((c & 0x0f) << 3) + ULAW_BIAS) << seg) - ULAW_BIAS;

	return (int16_t)(c & 0x80 ? -mag : mag);
}

uint8_t
g711_alaw_encode(int16_t pcm)
{
	/* A-law codes 13 bits; a set sign bit means positive. */
	unsigned mag = (pcm < 0 ? -(unsigned)pcm : (unsigned)pcm) >> 3;
	unsigned sign = pcm < 0 ? 0x00 : 0x80;
	unsigned code;

	if (mag > 0x0fff)
		mag = 0x0fff;
	if (mag < 32) {
		/* Segments 0 and 1 share the same step. */
		code = mag >> 1;
	} else {
		int seg = top_bit(mag) - 4;
		code = (unsigned)seg << 4 | ((mag >> seg) & 0x0f);
	}
	/* Even bits inverted, so that silence is not a run of zeros on the line. */
	return (uint8_t)((sign | code) ^ 0x55);
}

int16_t
g711_alaw_decode(uint8_t alaw)
{
	unsigned c = alaw ^ 0x55u;
	unsigned seg = (c >> 4) & 0x07;
	unsigned mant = (c & 0x0f) << 4;
	int mag;

	/* Reconstruct at the middle of the step, in the 16-bit scale. */
	if (seg == 0)
		mag = (int)(mant + 8);
	else
		mag = (int)((mant + 0x108) << (seg - 1));
	return (int16_t)(c & 0x80 ? mag : -mag);
}
