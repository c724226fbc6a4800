/* DTMF tones in the caller's G.711 audio, for peers that send no RFC 4733 events: the
 * Goertzel algorithm over 102-sample blocks, judged the way ITU-T Q.24 and Bellcore
 * (TR-NWT-000506) ask of a receiver. */
#include <math.h>
#include <string.h>

#include "ivr/dtmf.h"

#define N DTMF_INBAND_BLOCK

static const float freqs[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
static const char keymap[4][5] = {"123A", "456B", "789C", "*0#D"};

/* 0 dBm0 is a sine of peak 22656 in the 16-bit scale the G.711 decoders give (3.17 dB
 * below a full-scale sine, G.711 table 5). */
#define DBM0_PEAK 22656.0f
/* Each tone must reach -32 dBm0: Bellcore accepts down to -25 dBm0 per tone, with margin
 * for a lossy line. Normalized Goertzel power is the tone's energy in the block,
 * N * A^2 / 2. */
#define MIN_DBM0 (-32.0f)
/* Twist (G.711 lines lose highs): the high tone may be 8 dB below the low one (normal
 * twist) or 4 dB above it (reverse twist). */
#define TWIST_NORMAL 6.31f  /* 8 dB */
#define TWIST_REVERSE 2.51f /* 4 dB */
/* Each tone must stand 8 dB above every other frequency of its group. */
#define GROUP_PEAK 6.31f
/* The two tones must carry this share of the block's energy: speech and noise spread
 * theirs. A block only partly covered by a tone carries about the covered share, so a
 * tone must fill 82 samples of a block to count there: a 20 ms tone (160 samples) never
 * fills two blocks that well, a 40 ms one (320) always covers two whole blocks. */
#define TONE_SHARE 0.8f
/* A key held is still held in a block where its tones are the strongest of their groups,
 * with half the energy and a quarter of the level: a block only part covered leaks into
 * the neighbouring bins, and a drop-out of 10 ms in a tone must not make a second press. */
#define HOLD_SHARE 0.5f
#define HOLD_LEVEL 0.25f
/* Blocks: two in a row start a key (25.5 ms, so 40 ms tones always count and 20 ms ones
 * never); two without it (a gap of 25.5 ms or more, Bellcore asks 40 ms be enough) end it. */
#define START_BLOCKS 2
#define END_BLOCKS 2

static float ulaw_lin[256], alaw_lin[256], coef[8], min_energy;
static bool ready;

static void
setup(void)
{
	float a = DBM0_PEAK * powf(10.0f, MIN_DBM0 / 20.0f);

	for (int i = 0; i < 256; i++) {
		ulaw_lin[i] = (float)g711_ulaw_decode((uint8_t)i);
		alaw_lin[i] = (float)g711_alaw_decode((uint8_t)i);
	}
	for (int k = 0; k < 8; k++)
		coef[k] = 2.0f * cosf(2.0f * (float)M_PI * freqs[k] / PROMPT_RATE);
	min_energy = N * a * a / 2.0f;
	ready = true;
}

void
dtmf_inband_init(struct dtmf_inband *d)
{
	if (!ready)
		setup();
	*d = (struct dtmf_inband){0};
}

/* Index of the largest of v[0..3]; whether it stands GROUP_PEAK above the others. */
static int
peak(const float *v, bool *dominant)
{
	int m = 0;

	for (int i = 1; i < 4; i++)
		if (v[i] > v[m])
			m = i;
	*dominant = true;
	for (int i = 0; i < 4; i++)
		if (i != m && v[i] * GROUP_PEAK > v[m])
			*dominant = false;
	return m;
}

/* Judges one block: *strict is a key heard by every rule, *held a key heard well enough
 * to go on holding it (0 for none). */
static void
judge(const uint8_t *block, enum ivr_codec codec, char *strict, char *held)
{
	const float *lin = codec == IVR_PCMA ? alaw_lin : ulaw_lin;
	float x[N], s1[8] = {0}, s2[8] = {0}, pw[8], energy = 0, row, col, tones;
	bool rdom, cdom;
	int r, c;

	*strict = *held = 0;
	for (int i = 0; i < N; i++) {
		x[i] = lin[block[i]];
		energy += x[i] * x[i];
	}
	/* too quiet for two tones even at the hold level: most blocks, at no further cost */
	if (energy < min_energy * HOLD_LEVEL)
		return;
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 8; k++) {
			float s0 = x[i] + coef[k] * s1[k] - s2[k];
			s2[k] = s1[k];
			s1[k] = s0;
		}
	for (int k = 0; k < 8; k++)
		pw[k] = (s1[k] * s1[k] + s2[k] * s2[k] - coef[k] * s1[k] * s2[k]) * (2.0f / N);
	r = peak(pw, &rdom);
	c = peak(pw + 4, &cdom);
	row = pw[r];
	col = pw[4 + c];
	tones = row + col;
	if (row > col * TWIST_NORMAL || col > row * TWIST_REVERSE)
		return;
	if (row >= min_energy * HOLD_LEVEL && col >= min_energy * HOLD_LEVEL &&
	    tones >= energy * HOLD_SHARE)
		*held = keymap[r][c];
	if (rdom && cdom && row >= min_energy && col >= min_energy && tones >= energy * TONE_SHARE)
		*strict = keymap[r][c];
}

/* Returns the key that starts with this block, or 0. */
static char
step(struct dtmf_inband *d, enum ivr_codec codec)
{
	char strict, held;

	judge(d->block, codec, &strict, &held);
	if (d->down != 0) {
		if (held == d->down)
			d->nquiet = 0;
		else if (++d->nquiet >= END_BLOCKS)
			d->down = 0;
	}
	if (strict != 0 && strict == d->cand) {
		if (d->ncand < START_BLOCKS)
			d->ncand++;
	} else {
		d->cand = strict;
		d->ncand = strict != 0;
	}
	if (d->ncand >= START_BLOCKS && d->cand != d->down) {
		d->down = d->cand;
		d->nquiet = 0;
		return d->down;
	}
	return 0;
}

size_t
dtmf_inband_feed(struct dtmf_inband *d, char *keys, size_t maxkeys, enum ivr_codec codec,
	const uint8_t *samples, size_t n)
{
	size_t nkeys = 0;

	while (n > 0) {
		size_t take = N - d->fill < n ? N - d->fill : n;
		char k;

		memcpy(d->block + d->fill, samples, take);
		d->fill += (unsigned)take;
		samples += take;
		n -= take;
		if (d->fill < N)
			break;
		d->fill = 0;
		if ((k = step(d, codec)) != 0 && nkeys < maxkeys)
			keys[nkeys++] = k;
	}
	return nkeys;
}

void
dtmf_inband_gap(struct dtmf_inband *d)
{
	d->fill = 0;
	d->cand = d->down = 0;
	d->ncand = d->nquiet = 0;
}
