/* Prompt loading, resampling, the cache and name resolution, on sound files each test
 * writes with libsndfile into its own directory under /tmp; and the shipped prompts. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ivr/prompt.h"
#include "ivr/util.h"

#define WAV_PCM16 (SF_FORMAT_WAV | SF_FORMAT_PCM_16)
#define WAV_ULAW (SF_FORMAT_WAV | SF_FORMAT_ULAW)
#define FLAC_PCM16 (SF_FORMAT_FLAC | SF_FORMAT_PCM_16)

static const char *const shipped[] = {
	"main/greeting", "main/short", "sales/greeting", "sales/short", "support/greeting",
	"support/short", "common/invalid", "common/no-input", "common/transferring",
	"common/closed", "common/unavailable", "common/goodbye",
};

static void
tmpdir_new(char *dir, size_t len)
{
	str_copy(dir, "/tmp/ivr-prompt-XXXXXX", len);
	CHECK(mkdtemp(dir) != NULL);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
tmpdir_remove(const char *dir)
{
	CHECK_INT(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static int
write_sound(const char *path, int format, int rate, int channels, const short *pcm,
	sf_count_t frames)
{
	SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	sf_count_t n;

	if (sf == NULL)
		return -1;
	n = frames > 0 ? sf_writef_short(sf, pcm, frames) : 0;
	sf_close(sf);
	return n == frames ? 0 : -1;
}

/* Interleaved: amp[c] * sin(2 pi freq t) on channel c. */
static short *
sine(size_t frames, int rate, double freq, int channels, const double *amp)
{
	short *pcm = malloc(frames * (size_t)channels * sizeof(*pcm));

	for (size_t i = 0; i < frames; i++) {
		double s = sin(2 * M_PI * freq * (double)i / rate);

		for (int c = 0; c < channels; c++)
			pcm[i * (size_t)channels + (size_t)c] = (short)lrint(amp[c] * 32767 * s);
	}
	return pcm;
}

/* Speech-like test signal: a tone plus deterministic noise, over the whole range. */
static short *
tone_noise(size_t n)
{
	short *pcm = malloc(n * sizeof(*pcm));
	uint32_t r = 1;

	for (size_t i = 0; i < n; i++) {
		r = r * 1103515245u + 12345u;
		pcm[i] = (short)(20000 * sin(2 * M_PI * 300 * (double)i / 8000) +
			(int)(r >> 16) % 12000 - 6000);
	}
	return pcm;
}

/* The whole prompt as linear PCM, padding included. */
static int16_t *
decode(const struct prompt *p, enum ivr_codec codec)
{
	size_t n = prompt_frames(p);
	int16_t *pcm = malloc(n * PROMPT_FRAME_SAMPLES * sizeof(*pcm));

	for (size_t f = 0; f < n; f++) {
		const uint8_t *b = prompt_frame(p, codec, f);

		for (size_t i = 0; i < PROMPT_FRAME_SAMPLES; i++)
			pcm[f * PROMPT_FRAME_SAMPLES + i] = codec == IVR_PCMA ?
				g711_alaw_decode(b[i]) : g711_ulaw_decode(b[i]);
	}
	return pcm;
}

static int
ulaw_step(int16_t x)
{
	return 8 << (((uint8_t)~g711_ulaw_encode(x) >> 4) & 7);
}

static int
alaw_step(int16_t x)
{
	int seg = ((g711_alaw_encode(x) ^ 0x55) >> 4) & 7;

	return seg == 0 ? 16 : 16 << (seg - 1);
}

/* Crossings of zero with hysteresis, so noise around zero does not count. */
static int
zero_crossings(const int16_t *pcm, size_t from, size_t to)
{
	int n = 0, side = 0;

	for (size_t i = from; i < to; i++) {
		int s = pcm[i] > 1000 ? 1 : pcm[i] < -1000 ? -1 : 0;

		if (s != 0 && side != 0 && s != side)
			n++;
		if (s != 0)
			side = s;
	}
	return n;
}

/* From the first padded sample to the end of the last frame. */
static bool
padded(const struct prompt *p, size_t samples)
{
	size_t last = prompt_frames(p) - 1;
	const uint8_t *u = prompt_frame(p, IVR_PCMU, last), *a = prompt_frame(p, IVR_PCMA, last);

	for (size_t i = samples - last * PROMPT_FRAME_SAMPLES; i < PROMPT_FRAME_SAMPLES; i++)
		if (u[i] != 0xff || a[i] != 0xd5)
			return false;
	return true;
}

static void
test_16k_stereo_sine(void)
{
	static const double amp[] = {0.5, 0.0};
	char dir[32], path[64], err[256];
	short *src = sine(16160, 16000, 1000, 2, amp); /* 1.01 s */
	struct prompt *p = NULL;
	int16_t *pcm;
	int peak = 0;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/stereo.wav", dir);
	CHECK_INT(write_sound(path, WAV_PCM16, 16000, 2, src, 16160), 0);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_duration_ms(p), 1010);
	CHECK_INT(prompt_frames(p), 51); /* ceil(1010 ms / 20 ms) */
	CHECK_STR(prompt_path(p), path);
	pcm = decode(p, IVR_PCMU);
	/* 1 kHz survives the rate change: 2 crossings a period over 1 s in the middle. */
	CHECK(abs(zero_crossings(pcm, 40, 8040) - 2000) <= 1);
	for (size_t i = 40; i < 8040; i++)
		peak = pcm[i] > peak ? pcm[i] : peak;
	/* Mixed down as the average: half of the left channel's 0.5. */
	CHECK(abs(peak - 8192) < 8192 / 20);
	CHECK(padded(p, 8080));
	free(pcm);
	prompt_unref(p);
	free(src);
	tmpdir_remove(dir);
}

static void
test_44k1_resampled(void)
{
	static const double amp[] = {0.8};
	char dir[32], path[64], err[256];
	short *src = sine(22050, 44100, 440, 1, amp); /* 0.5 s */
	struct prompt *p = NULL;
	int16_t *u, *a;
	int bad = 0;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cd.wav", dir);
	CHECK_INT(write_sound(path, WAV_PCM16, 44100, 1, src, 22050), 0);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_duration_ms(p), 500);
	CHECK_INT(prompt_frames(p), 25);
	u = decode(p, IVR_PCMU);
	a = decode(p, IVR_PCMA);
	/* 0.48 s of 440 Hz: 422.4 crossings. */
	CHECK(abs(zero_crossings(u, 80, 3920) - 422) <= 1);
	/* Away from the edges, the resampled signal is the same sine sampled at 8 kHz, within
	 * one G.711 step. */
	for (size_t i = 80; i < 3920; i++) {
		int16_t want = (int16_t)lrint(0.8 * 32767 * sin(2 * M_PI * 440 * (double)i / 8000));

		bad += abs(u[i] - want) > ulaw_step(want);
		bad += abs(a[i] - want) > alaw_step(want);
	}
	CHECK_INT(bad, 0);
	free(u);
	free(a);
	prompt_unref(p);
	free(src);
	tmpdir_remove(dir);
}

/* u-law in, u-law out: the codes survive; A-law is within a step of the source. */
static void
test_8k_ulaw_wav(void)
{
	char dir[32], path[64], err[256];
	short *src = tone_noise(2640), ref[2640]; /* 0.33 s */
	struct prompt *p = NULL;
	SF_INFO info = {0};
	SNDFILE *sf;
	int16_t *u, *a;
	int bad = 0;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/ulaw.wav", dir);
	CHECK_INT(write_sound(path, WAV_ULAW, 8000, 1, src, 2640), 0);
	sf = sf_open(path, SFM_READ, &info);
	CHECK(sf != NULL);
	CHECK_INT(sf_readf_short(sf, ref, 2640), 2640);
	sf_close(sf);

	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_frames(p), 17);
	CHECK_INT(prompt_duration_ms(p), 330);
	u = decode(p, IVR_PCMU);
	a = decode(p, IVR_PCMA);
	for (size_t i = 0; i < 2640; i++) {
		int step = ulaw_step(src[i]) > alaw_step(src[i]) ? ulaw_step(src[i]) :
			alaw_step(src[i]);

		bad += u[i] != ref[i];
		bad += abs(u[i] - src[i]) > ulaw_step(src[i]);
		bad += abs(a[i] - src[i]) > step;
	}
	CHECK_INT(bad, 0);
	CHECK(padded(p, 2640));
	free(u);
	free(a);
	prompt_unref(p);
	free(src);
	tmpdir_remove(dir);
}

/* 16-bit at 8 kHz is neither resampled nor rescaled: the frames are exactly the G.711
 * coding of the source, for WAV and FLAC alike. */
static void
test_8k_pcm16_exact(void)
{
	static const int formats[] = {WAV_PCM16, FLAC_PCM16};
	char dir[32], path[64], err[256];
	short *src = tone_noise(1000); /* 125 ms */

	tmpdir_new(dir, sizeof(dir));
	for (size_t f = 0; f < ARRAY_LEN(formats); f++) {
		struct prompt *p = NULL;
		int bad = 0;

		snprintf(path, sizeof(path), "%s/exact.%s", dir, f == 0 ? "wav" : "flac");
		CHECK_INT(write_sound(path, formats[f], 8000, 1, src, 1000), 0);
		CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
		CHECK_INT(prompt_frames(p), 7);
		CHECK_INT(prompt_duration_ms(p), 125);
		for (size_t i = 0; i < 1000; i++) {
			size_t fr = i / PROMPT_FRAME_SAMPLES, off = i % PROMPT_FRAME_SAMPLES;

			bad += prompt_frame(p, IVR_PCMU, fr)[off] != g711_ulaw_encode(src[i]);
			bad += prompt_frame(p, IVR_PCMA, fr)[off] != g711_alaw_encode(src[i]);
		}
		CHECK_INT(bad, 0);
		CHECK(padded(p, 1000));
		prompt_unref(p);
	}
	free(src);
	tmpdir_remove(dir);
}

static void
test_bad_files(void)
{
	char dir[32], path[64], err[256], want[128];
	struct prompt *p = NULL;
	FILE *f;

	tmpdir_new(dir, sizeof(dir));

	snprintf(path, sizeof(path), "%s/notes.wav", dir);
	f = fopen(path, "w");
	fputs("this is not audio, only text that ends up with a .wav name\n", f);
	fclose(f);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), EINVAL);
	snprintf(want, sizeof(want), "%s: not a sound file libsndfile can read: ", path);
	CHECK(strncmp(err, want, strlen(want)) == 0 && strlen(err) > strlen(want));
	CHECK(strchr(err, '\n') == NULL);

	snprintf(path, sizeof(path), "%s/missing.wav", dir);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CHECK_STR(err, want);

	snprintf(path, sizeof(path), "%s/empty.wav", dir);
	CHECK_INT(write_sound(path, WAV_PCM16, 8000, 1, NULL, 0), 0);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), EINVAL);
	snprintf(want, sizeof(want), "%s: empty (no audio)", path);
	CHECK_STR(err, want);

	CHECK_INT(prompt_load(&p, dir, err, sizeof(err)), EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	CHECK_STR(err, want);

	CHECK(p == NULL);
	tmpdir_remove(dir);
}

/* 10 minutes load; one sample more is refused before anything is decoded. */
static void
test_too_long(void)
{
	static short zero[8000];
	char dir[32], path[64], err[256], want[128];
	struct prompt *p = NULL;
	SF_INFO info = {.samplerate = 8000, .channels = 1, .format = WAV_ULAW};
	SNDFILE *sf;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/long.wav", dir);
	sf = sf_open(path, SFM_WRITE, &info);
	for (int s = 0; s < 600; s++)
		CHECK_INT(sf_writef_short(sf, zero, 8000), 8000);
	sf_close(sf);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_frames(p), 30000);
	prompt_unref(p);
	p = NULL;

	sf = sf_open(path, SFM_RDWR, &info);
	sf_seek(sf, 0, SEEK_END);
	CHECK_INT(sf_writef_short(sf, zero, 1), 1);
	sf_close(sf);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), EFBIG);
	snprintf(want, sizeof(want), "%s: longer than 10 minutes", path);
	CHECK_STR(err, want);
	CHECK(p == NULL);
	tmpdir_remove(dir);
}

static void
test_refcount(void)
{
	char dir[32], path[64], err[256];
	short *src = tone_noise(800);
	struct prompt *p = NULL;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/ref.wav", dir);
	CHECK_INT(write_sound(path, WAV_PCM16, 8000, 1, src, 800), 0);
	CHECK_INT(prompt_load(&p, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_refcount(p), 1);
	CHECK(prompt_ref(p) == p);
	CHECK_INT(prompt_refcount(p), 2);
	prompt_unref(p);
	CHECK_INT(prompt_refcount(p), 1);
	prompt_unref(p); /* freed: the leak check and ASan tell if it was not, or twice */
	prompt_unref(NULL);
	free(src);
	tmpdir_remove(dir);
}

static void
test_silence(void)
{
	const uint8_t *u = prompt_silence(IVR_PCMU), *a = prompt_silence(IVR_PCMA);

	for (size_t i = 0; i < PROMPT_FRAME_SAMPLES; i++) {
		CHECK_INT(u[i], 0xff);
		CHECK_INT(a[i], 0xd5);
	}
	CHECK_INT(g711_ulaw_decode(u[0]), 0);
	CHECK_INT(g711_alaw_decode(a[0]), 8);
}

static void
set_mtime(const char *path, time_t sec)
{
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	CHECK_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_cache(void)
{
	char dir[32], path[64], bad[64], err[256];
	short *src = tone_noise(1600);
	struct prompt_cache *c = NULL;
	struct prompt *p1, *p2, *p3, *p4, *p5 = NULL;

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/c.wav", dir);
	CHECK_INT(write_sound(path, WAV_PCM16, 8000, 1, src, 800), 0);
	set_mtime(path, 1000000);
	CHECK_INT(prompt_cache_new(&c), 0);

	/* Unchanged file: the same object, one more reference. */
	CHECK_INT(prompt_cache_get(c, &p1, path, err, sizeof(err)), 0);
	CHECK_INT(prompt_refcount(p1), 2);
	CHECK_INT(prompt_cache_get(c, &p2, path, err, sizeof(err)), 0);
	CHECK(p2 == p1);
	CHECK_INT(prompt_refcount(p1), 3);
	prompt_unref(p2);

	/* Same size, new mtime: decoded again; the old prompt lives on for its holder. */
	CHECK_INT(write_sound(path, WAV_PCM16, 8000, 1, src + 800, 800), 0);
	set_mtime(path, 2000000);
	CHECK_INT(prompt_cache_get(c, &p3, path, err, sizeof(err)), 0);
	CHECK(p3 != p1);
	CHECK_INT(prompt_refcount(p1), 1);
	CHECK_INT(prompt_cache_count(c), 1);
	CHECK(memcmp(prompt_frame(p1, IVR_PCMU, 0), prompt_frame(p3, IVR_PCMU, 0),
		PROMPT_FRAME_SAMPLES) != 0);

	/* New size, same mtime: decoded again. */
	CHECK_INT(write_sound(path, WAV_PCM16, 8000, 1, src, 1600), 0);
	set_mtime(path, 2000000);
	CHECK_INT(prompt_cache_get(c, &p4, path, err, sizeof(err)), 0);
	CHECK(p4 != p3);
	CHECK_INT(prompt_frames(p4), 10);

	/* Errors are reported and not cached. */
	snprintf(bad, sizeof(bad), "%s/none.wav", dir);
	CHECK_INT(prompt_cache_get(c, &p5, bad, err, sizeof(err)), ENOENT);
	CHECK(strstr(err, "none.wav: No such file or directory") != NULL);
	CHECK_INT(prompt_cache_count(c), 1);

	/* Sweep keeps what a call still holds and drops what only the cache holds. */
	prompt_cache_sweep(c);
	CHECK_INT(prompt_cache_count(c), 1);
	prompt_unref(p4);
	prompt_cache_sweep(c);
	CHECK_INT(prompt_cache_count(c), 0);

	/* Freeing the cache leaves callers' references valid. */
	CHECK_INT(prompt_cache_get(c, &p5, path, err, sizeof(err)), 0);
	prompt_cache_free(c);
	CHECK_INT(prompt_refcount(p5), 1);
	CHECK_INT(prompt_frames(p5), 10);
	prompt_unref(p5);
	prompt_unref(p3);
	prompt_unref(p1);
	prompt_cache_free(NULL);
	free(src);
	tmpdir_remove(dir);
}

static void
touch(const char *dir, const char *rel)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL)
		fclose(f);
}

static void
test_resolve(void)
{
	static const char *const invalid[] = {
		"", "../x", "/abs", "a b", "main/../greeting", "main//greeting", "main/",
		"main/greeting.wav", "./main", "main\\greeting", "main/gr\303\251eting",
	};
	char dir[32], path[128], want[128];

	tmpdir_new(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/en", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/en/main", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/en/main/dir.wav", dir);
	mkdir(path, 0700);
	touch(dir, "en/main/greeting.wav");
	touch(dir, "en/main/greeting.flac");
	touch(dir, "en/main/short.flac");
	touch(dir, "en/top_level-1.au");

	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", "main/greeting"), 0);
	snprintf(want, sizeof(want), "%s/en/main/greeting.wav", dir);
	CHECK_STR(path, want);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", "main/short"), 0);
	snprintf(want, sizeof(want), "%s/en/main/short.flac", dir);
	CHECK_STR(path, want);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", "top_level-1"), 0);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", "main/missing"), ENOENT);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", "main/dir"), ENOENT);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "vi", "main/greeting"), ENOENT);
	CHECK_INT(prompt_resolve(path, 20, dir, "en", "main/greeting"), ENAMETOOLONG);

	for (size_t i = 0; i < ARRAY_LEN(invalid); i++)
		CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en", invalid[i]), EINVAL);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "../en", "main/greeting"), EINVAL);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "en/main", "greeting"), EINVAL);
	CHECK_INT(prompt_resolve(path, sizeof(path), dir, "", "main/greeting"), EINVAL);
	tmpdir_remove(dir);
}

/* What make-prompts.sh produced: every prompt in both languages, 8 kHz mono u-law WAV. */
static void
test_shipped_prompts(void)
{
	static const char *const langs[] = {"en", "vi"};
	struct prompt *p[ARRAY_LEN(langs) * ARRAY_LEN(shipped)] = {0};
	char path[256], err[256];
	unsigned audio_ms = 0;
	size_t n = 0;
	int64_t t0, elapsed = 0;

	for (size_t l = 0; l < ARRAY_LEN(langs); l++) {
		for (size_t i = 0; i < ARRAY_LEN(shipped); i++, n++) {
			SF_INFO info = {0};
			SNDFILE *sf;

			CHECK_INT(prompt_resolve(path, sizeof(path), "../../prompts", langs[l],
				shipped[i]), 0);
			sf = sf_open(path, SFM_READ, &info);
			CHECK(sf != NULL);
			sf_close(sf);
			CHECK_INT(info.format, WAV_ULAW);
			CHECK_INT(info.channels, 1);
			CHECK_INT(info.samplerate, 8000);

			t0 = clock_mono_us();
			CHECK_INT(prompt_load(&p[n], path, err, sizeof(err)), 0);
			elapsed += clock_mono_us() - t0;
			if (p[n] == NULL)
				continue;
			CHECK(prompt_duration_ms(p[n]) > 1000 && prompt_duration_ms(p[n]) < 30000);
			CHECK_INT(prompt_frames(p[n]), (prompt_duration_ms(p[n]) + 19) / 20);
			audio_ms += prompt_duration_ms(p[n]);
		}
	}
	printf("     %zu shipped prompts, %.1f s of audio, loaded in %.1f ms\n", n,
		audio_ms / 1000.0, elapsed / 1000.0);
	for (size_t i = 0; i < n; i++)
		prompt_unref(p[i]);
}

CHECK_MAIN(T(test_16k_stereo_sine), T(test_44k1_resampled), T(test_8k_ulaw_wav),
	T(test_8k_pcm16_exact), T(test_bad_files), T(test_too_long), T(test_refcount),
	T(test_silence), T(test_cache), T(test_resolve), T(test_shipped_prompts))
