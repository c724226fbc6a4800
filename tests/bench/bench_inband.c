/* The in-band DTMF detector's cost per 20 ms frame of one call, on silence, speech (a
 * shipped prompt), white noise and DTMF tones. Prints figures; asserts nothing.
 *
 *   ninja -C BUILD tests/bench_inband && BUILD/tests/bench_inband [prompts/en/main/greeting.wav]
 *
 * Measure in a release build: sanitizers multiply the figures. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ivr/dtmf.h"
#include "ivr/prompt.h"

#define FRAMES 2000 /* 40 s of audio per kind */
#define ROUNDS 50

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
run(const char *what, const uint8_t *audio, enum ivr_codec codec)
{
	struct dtmf_inband d;
	size_t keys = 0;
	double t0, t;

	dtmf_inband_init(&d);
	t0 = now_ns();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t f = 0; f < FRAMES; f++) {
			char k[8];
			keys += dtmf_inband_feed(&d, k, sizeof(k), codec,
				audio + f * PROMPT_FRAME_SAMPLES, PROMPT_FRAME_SAMPLES);
		}
	t = (now_ns() - t0) / ((double)ROUNDS * FRAMES);
	/* a call sends a frame every 20 ms: one core holds 20e6 / t calls */
	printf("%-8s %-5s %7.0f ns/frame  %6.3f%% of a core per call  %8.0f calls/core  "
	       "(%zu keys)\n", what, codec == IVR_PCMA ? "alaw" : "ulaw", t, t / 20e6 * 100,
		20e6 / t, keys);
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "prompts/en/main/greeting.wav";
	size_t n = (size_t)FRAMES * PROMPT_FRAME_SAMPLES;
	uint8_t *audio = malloc(n);
	struct prompt *p;
	char err[200];
	uint32_t seed = 1;

	if (audio == NULL)
		return 1;
	for (int c = 0; c < 2; c++) {
		enum ivr_codec codec = c ? IVR_PCMA : IVR_PCMU;
		uint8_t (*enc)(int16_t) = c ? g711_alaw_encode : g711_ulaw_encode;

		memset(audio, enc(0), n);
		run("silence", audio, codec);
		if (prompt_load(&p, path, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < FRAMES; i++)
				memcpy(audio + i * PROMPT_FRAME_SAMPLES,
					prompt_frame(p, codec, i % prompt_frames(p)),
					PROMPT_FRAME_SAMPLES);
			prompt_unref(p);
			run("speech", audio, codec);
		} else {
			fprintf(stderr, "%s: %s\n", path, err);
		}
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			audio[i] = enc((int16_t)((int)(seed >> 16 & 0x3fff) - 0x2000));
		}
		run("noise", audio, codec);
		/* key 5 for 100 ms, 100 ms of silence, over and over */
		for (size_t i = 0; i < n; i++)
			audio[i] = i % 1600 < 800 ?
				enc((int16_t)(7000 * (sin(2 * M_PI * 770 * i / 8000.0) +
						     sin(2 * M_PI * 1336 * i / 8000.0)))) :
				enc(0);
		run("tones", audio, codec);
	}
	free(audio);
	return 0;
}
