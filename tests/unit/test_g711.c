/* G.711 against the standard's fixed points, its error bound and libsndfile's codec. */
#include <sndfile.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "ivr/prompt.h"

/* Width of the quantisation step a code stands for, in the 16-bit scale. */
static int
ulaw_step(uint8_t c)
{
	return 8 << (((uint8_t)~c >> 4) & 7);
}

static int
alaw_step(uint8_t c)
{
	int seg = ((c ^ 0x55) >> 4) & 7;

	return seg == 0 ? 16 : 16 << (seg - 1);
}

static void
test_fixed_points(void)
{
	CHECK_INT(g711_ulaw_encode(0), 0xff);
	CHECK_INT(g711_ulaw_encode(-1), 0x7f);
	CHECK_INT(g711_ulaw_encode(INT16_MAX), 0x80);
	CHECK_INT(g711_ulaw_encode(INT16_MIN), 0x00);
	CHECK_INT(g711_ulaw_decode(0xff), 0);
	CHECK_INT(g711_ulaw_decode(0x7f), 0);
	CHECK_INT(g711_ulaw_decode(0x80), 32124);
	CHECK_INT(g711_ulaw_decode(0x00), -32124);

	CHECK_INT(g711_alaw_encode(0), 0xd5);
	CHECK_INT(g711_alaw_encode(-1), 0x55);
	CHECK_INT(g711_alaw_encode(INT16_MAX), 0xaa);
	CHECK_INT(g711_alaw_encode(INT16_MIN), 0x2a);
	CHECK_INT(g711_alaw_decode(0xd5), 8);
	CHECK_INT(g711_alaw_decode(0x55), -8);
	CHECK_INT(g711_alaw_decode(0xaa), 32256);
	CHECK_INT(g711_alaw_decode(0x2a), -32256);
}

/* Every code decodes to a level that encodes back to it (u-law's -0 becomes +0). */
static void
test_codes_round_trip(void)
{
	for (int c = 0; c < 256; c++) {
		CHECK_INT(g711_ulaw_encode(g711_ulaw_decode((uint8_t)c)), c == 0x7f ? 0xff : c);
		CHECK_INT(g711_alaw_encode(g711_alaw_decode((uint8_t)c)), c);
	}
}

/* The error is at most half a step, except above the largest level where it clips; and
 * the quantiser never goes down as the input goes up. */
static void
test_error_bound_and_monotonic(void)
{
	int bad_u = 0, bad_a = 0, prev_u = INT32_MIN, prev_a = INT32_MIN;

	for (int x = INT16_MIN; x <= INT16_MAX; x++) {
		uint8_t u = g711_ulaw_encode((int16_t)x), a = g711_alaw_encode((int16_t)x);
		int du = g711_ulaw_decode(u), da = g711_alaw_decode(a);

		if (abs(du - x) > ulaw_step(u) / 2 && !(abs(du) == 32124 && abs(x) > 32124))
			bad_u++;
		if (abs(da - x) > alaw_step(a) / 2 && !(abs(da) == 32256 && abs(x) > 32256))
			bad_a++;
		if (du < prev_u)
			bad_u++;
		if (da < prev_a)
			bad_a++;
		prev_u = du;
		prev_a = da;
	}
	CHECK_INT(bad_u, 0);
	CHECK_INT(bad_a, 0);
}

/* fd as a headerless G.711 file, for libsndfile's own codec. */
static SNDFILE *
raw_open(int fd, int mode, int law)
{
	SF_INFO info = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_RAW | law};

	return sf_open_fd(fd, mode, &info, 0);
}

/* libsndfile's decoder is the standard's table: ours must give the same values. */
static void
test_decode_matches_libsndfile(void)
{
	static const int laws[] = {SF_FORMAT_ULAW, SF_FORMAT_ALAW};

	for (size_t l = 0; l < 2; l++) {
		char path[] = "/tmp/ivr-g711-XXXXXX";
		int fd = mkstemp(path);
		uint8_t codes[256];
		short pcm[256];
		SNDFILE *sf;

		CHECK(fd != -1);
		for (int c = 0; c < 256; c++)
			codes[c] = (uint8_t)c;
		CHECK_INT(write(fd, codes, sizeof(codes)), sizeof(codes));
		CHECK_INT(lseek(fd, 0, SEEK_SET), 0);
		sf = raw_open(fd, SFM_READ, laws[l]);
		CHECK(sf != NULL);
		CHECK_INT(sf_readf_short(sf, pcm, 256), 256);
		for (int c = 0; c < 256; c++) {
			int ours = laws[l] == SF_FORMAT_ULAW ? g711_ulaw_decode((uint8_t)c) :
				g711_alaw_decode((uint8_t)c);
			CHECK_INT(ours, pcm[c]);
		}
		sf_close(sf);
		close(fd);
		unlink(path);
	}
}

/* libsndfile's encoder rounds differently near decision levels: one step at most. */
static void
test_encode_near_libsndfile(void)
{
	static const int laws[] = {SF_FORMAT_ULAW, SF_FORMAT_ALAW};
	static short pcm[65536];
	static uint8_t codes[65536];

	for (int i = 0; i < 65536; i++)
		pcm[i] = (short)(i + INT16_MIN);
	for (size_t l = 0; l < 2; l++) {
		char path[] = "/tmp/ivr-g711-XXXXXX";
		int fd = mkstemp(path), far = 0, differ = 0;
		bool ulaw = laws[l] == SF_FORMAT_ULAW;
		SNDFILE *sf;

		CHECK(fd != -1);
		sf = raw_open(fd, SFM_WRITE, laws[l]);
		CHECK(sf != NULL);
		CHECK_INT(sf_writef_short(sf, pcm, 65536), 65536);
		sf_close(sf);
		CHECK_INT(pread(fd, codes, sizeof(codes), 0), sizeof(codes));
		for (int i = 0; i < 65536; i++) {
			uint8_t ours = ulaw ? g711_ulaw_encode(pcm[i]) : g711_alaw_encode(pcm[i]);
			int a = ulaw ? g711_ulaw_decode(ours) : g711_alaw_decode(ours);
			int b = ulaw ? g711_ulaw_decode(codes[i]) : g711_alaw_decode(codes[i]);
			int step = ulaw ? ulaw_step(ours) : alaw_step(ours);
			int step2 = ulaw ? ulaw_step(codes[i]) : alaw_step(codes[i]);

			differ += a != b;
			far += abs(a - b) > (step > step2 ? step : step2);
		}
		printf("     %s: %d of 65536 inputs coded one step from libsndfile\n",
			ulaw ? "u-law" : "A-law", differ);
		CHECK_INT(far, 0);
		close(fd);
		unlink(path);
	}
}

CHECK_MAIN(T(test_fixed_points), T(test_codes_round_trip), T(test_error_bound_and_monotonic),
	T(test_decode_matches_libsndfile), T(test_encode_near_libsndfile))
