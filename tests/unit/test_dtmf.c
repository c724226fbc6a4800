/* Keys by every path: SIP INFO bodies, the in-band tone detector (generated tones, noise,
 * the shipped speech prompts) and the arbiter that counts a press once. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/dtmf.h"
#include "ivr/prompt.h"

#include "check.h"

static const char all_keys[] = "0123456789*#ABCD";

/* --- SIP INFO --- */

static int
info(char *key, int *ms, const char *ctype, const char *body)
{
	char err[96];
	/* an exact-size copy, so ASan sees any read past the body */
	size_t len = strlen(body);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, body, len);
	rc = dtmf_info_parse(key, ms, ctype, copy, len, err, sizeof(err));
	if (rc == EINVAL && err[0] == '\0') {
		fprintf(stderr, "EINVAL without a reason for \"%s\"\n", body);
		rc = -1;
	}
	free(copy);
	return rc;
}

static void
test_info_relay_every_key(void)
{
	char body[64], key;
	int ms;

	for (const char *k = all_keys; *k; k++) {
		snprintf(body, sizeof(body), "Signal=%c\r\nDuration=160\r\n", *k);
		key = 0;
		CHECK_INT(info(&key, &ms, "application/dtmf-relay", body), 0);
		CHECK_INT(key, *k);
		CHECK_INT(ms, 160);
	}
}

static void
test_info_relay_tolerant(void)
{
	static const struct {
		const char *body;
		char key;
		int ms;
	} cases[] = {
		{"Signal=5\r\nDuration=160\r\n", '5', 160},
		{"Duration=250\r\nSignal=#\r\n", '#', 250},  /* any order */
		{" signal = 7 \n DURATION =  90\n", '7', 90}, /* spaces, case, LF only */
		{"SIGNAL=\t9\t", '9', -1},                 /* tabs, no line end, no Duration */
		{"Signal=10\r\n", '*', -1},                 /* event numbers */
		{"Signal=11\r\nDuration=100", '#', 100},
		{"Signal=12", 'A', -1},
		{"Signal=15", 'D', -1},
		{"Signal=d", 'D', -1},
		{"\r\n\r\nSignal=0\r\n\r\n", '0', -1},      /* blank lines */
		{"Signal=3\r\nVolume=10\r\nX-Vendor=abc\r\n", '3', -1}, /* other lines */
	};
	char key;
	int ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key = 0;
		ms = 0;
		if (info(&key, &ms, "application/dtmf-relay", cases[i].body) != 0 ||
		    key != cases[i].key || ms != cases[i].ms) {
			fprintf(stderr, "case %zu: key %c ms %d\n", i, key ? key : '?', ms);
			check_failed = 1;
		}
	}
	CHECK_INT(info(&key, &ms, "Application/DTMF-Relay", "Signal=4"), 0);
	CHECK_INT(key, '4');
	CHECK_INT(info(&key, NULL, "application/dtmf-relay;charset=utf-8", "Signal=4"), 0);
}

static void
test_info_dtmf(void)
{
	char key;
	int ms;

	for (const char *k = all_keys; *k; k++) {
		char body[2] = {*k, '\0'};
		key = 0;
		CHECK_INT(info(&key, &ms, "application/dtmf", body), 0);
		CHECK_INT(key, *k);
		CHECK_INT(ms, -1);
	}
	CHECK_INT(info(&key, &ms, "application/dtmf", "11"), 0);
	CHECK_INT(key, '#');
	CHECK_INT(info(&key, &ms, "application/dtmf", "10\r\n"), 0);
	CHECK_INT(key, '*');
	CHECK_INT(info(&key, &ms, "application/dtmf", " 5 \n"), 0);
	CHECK_INT(key, '5');
	CHECK_INT(info(&key, &ms, "application/dtmf", "b"), 0);
	CHECK_INT(key, 'B');
}

static void
test_info_malformed(void)
{
	static const char *const relay[] = {
		"Duration=160\r\n", "Signal=\r\n", "Signal=55", "Signal=16", "Signal=x", "Signal=-1",
		"Signal=5\r\nSignal=6", "Signal=5\r\nDuration=abc", "Signal=5\r\nDuration=",
		"Signal=5\r\nDuration=9999999", "Signal=5\r\nDuration=1\r\nDuration=2", "Signal 5",
		"garbage", "=", "Signal=5\rDuration=1", "Signal=1 1", "Signal=01",
	};
	static const char *const plain[] = {"\r\n", "55", "x", "12a", "1 2", "16", "-1", "!!"};
	char key, err[96];
	int ms;

	for (size_t i = 0; i < sizeof(relay) / sizeof(relay[0]); i++)
		if (info(&key, &ms, "application/dtmf-relay", relay[i]) != EINVAL) {
			fprintf(stderr, "dtmf-relay \"%s\" accepted\n", relay[i]);
			check_failed = 1;
		}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (info(&key, &ms, "application/dtmf", plain[i]) != EINVAL) {
			fprintf(stderr, "dtmf \"%s\" accepted\n", plain[i]);
			check_failed = 1;
		}
	/* a NUL in the body, and the reason never quotes the body (it may be digits) */
	CHECK_INT(dtmf_info_parse(&key, &ms, "application/dtmf-relay", "Signal=5\0x", 10, err,
		sizeof(err)), EINVAL);
	CHECK_INT(dtmf_info_parse(&key, &ms, "application/dtmf-relay", "Signal=4242", 11, err,
		sizeof(err)), EINVAL);
	CHECK(strstr(err, "42") == NULL && err[0] != '\0');
	CHECK_INT(dtmf_info_parse(&key, &ms, "application/dtmf", "", 0, err, sizeof(err)), EINVAL);
	CHECK_INT(dtmf_info_parse(&key, &ms, "application/dtmf", NULL, 0, err, sizeof(err)),
		EINVAL);
	/* a hook flash is a signal but not a key */
	CHECK_INT(info(&key, &ms, "application/dtmf-relay", "Signal=!\r\nDuration=500"), ENOMSG);
	CHECK_INT(info(&key, &ms, "application/dtmf", "!"), ENOMSG);
}

static void
test_info_other_types(void)
{
	char key;
	int ms;

	CHECK_INT(info(&key, &ms, "text/plain", "Signal=5"), ENOTSUP);
	CHECK_INT(info(&key, &ms, "application/dtmf-relayx", "Signal=5"), ENOTSUP);
	CHECK_INT(info(&key, &ms, "application/dtm", "5"), ENOTSUP);
	CHECK_INT(info(&key, &ms, "application/media_control+xml", "<x/>"), ENOTSUP);
	CHECK_INT(info(&key, &ms, NULL, "5"), ENOTSUP);
}

/* --- In-band tones --- */

static const float rows[] = {697, 770, 852, 941}, cols[] = {1209, 1336, 1477, 1633};

/* 0 dBm0: a sine of peak 22656 in the decoders' 16-bit scale */
static double
peak(double dbm0)
{
	return 22656.0 * pow(10.0, dbm0 / 20.0);
}

struct audio {
	uint8_t *s;
	size_t n, cap;
	enum ivr_codec codec;
	double t; /* phase clock, so tones stay continuous across appends */
};

static void
put(struct audio *a, double v)
{
	int16_t pcm = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8000;
		a->s = realloc(a->s, a->cap);
	}
	a->s[a->n++] = a->codec == IVR_PCMA ? g711_alaw_encode(pcm) : g711_ulaw_encode(pcm);
	a->t += 1.0 / 8000;
}

/* A key at low/high dBm0 per tone, frequencies scaled by fscale. */
static void
tone(struct audio *a, char key, double ms, double low, double high, double fscale)
{
	const char *p = strchr(all_keys, key);
	static const char map[4][5] = {"123A", "456B", "789C", "*0#D"};
	int r = 0, c = 0;

	(void)p;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			if (map[i][j] == key) {
				r = i;
				c = j;
			}
	for (size_t i = 0; i < (size_t)(ms * 8); i++)
		put(a, peak(low) * sin(2 * M_PI * rows[r] * fscale * a->t) +
			peak(high) * sin(2 * M_PI * cols[c] * fscale * a->t + 1.0));
}

static void
silence(struct audio *a, double ms)
{
	for (size_t i = 0; i < (size_t)(ms * 8); i++)
		put(a, 0);
}

static void
samples_silence(struct audio *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(a, 0);
}

/* Feeds the audio in 20 ms packets; returns the keys heard. */
static const char *
detect(struct audio *a)
{
	static char out[64];
	struct dtmf_inband d;
	size_t nout = 0;

	dtmf_inband_init(&d);
	for (size_t off = 0; off < a->n; off += PROMPT_FRAME_SAMPLES) {
		size_t len = a->n - off < PROMPT_FRAME_SAMPLES ? a->n - off : PROMPT_FRAME_SAMPLES;
		char keys[8];
		size_t k = dtmf_inband_feed(&d, keys, sizeof(keys), a->codec, a->s + off, len);
		for (size_t i = 0; i < k && nout + 1 < sizeof(out); i++)
			out[nout++] = keys[i];
	}
	out[nout] = '\0';
	free(a->s);
	*a = (struct audio){.codec = a->codec};
	return out;
}

static void
test_inband_every_key_and_level(void)
{
	static const double levels[] = {-3, -10, -20, -28};
	static const enum ivr_codec codecs[] = {IVR_PCMU, IVR_PCMA};

	for (size_t c = 0; c < 2; c++)
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
			for (const char *k = all_keys; *k; k++) {
				struct audio a = {.codec = codecs[c]};
				char want[2] = {*k, '\0'};
				silence(&a, 60);
				tone(&a, *k, 100, levels[l], levels[l], 1.0);
				silence(&a, 100);
				const char *got = detect(&a);
				if (strcmp(got, want) != 0) {
					fprintf(stderr, "key %c at %.0f dBm0 (codec %d): heard \"%s\"\n",
						*k, levels[l], codecs[c], got);
					check_failed = 1;
				}
			}
}

static void
test_inband_twist_level_frequency(void)
{
	static const struct {
		double low, high, fscale;
		const char *want;
	} cases[] = {
		{-10, -16, 1.0, "5"},   /* normal twist 6 dB */
		{-16, -13, 1.0, "5"},   /* reverse twist 3 dB */
		{-8, -18, 1.0, ""},     /* normal twist 10 dB */
		{-16, -10, 1.0, ""},    /* reverse twist 6 dB */
		{-42, -42, 1.0, ""},    /* below the level */
		{-10, -10, 1.015, "5"}, /* Q.24: 1.5% off frequency */
		{-10, -10, 0.985, "5"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct audio a = {.codec = IVR_PCMU};
		silence(&a, 40);
		tone(&a, '5', 120, cases[i].low, cases[i].high, cases[i].fscale);
		silence(&a, 100);
		const char *got = detect(&a);
		if (strcmp(got, cases[i].want) != 0) {
			fprintf(stderr, "case %zu: heard \"%s\", want \"%s\"\n", i, got, cases[i].want);
			check_failed = 1;
		}
	}
}

/* 40 ms tones count and 20 ms ones do not, wherever they fall against the blocks. */
static void
test_inband_duration(void)
{
	for (size_t off = 0; off < DTMF_INBAND_BLOCK; off += 3) {
		struct audio a = {.codec = IVR_PCMU};
		samples_silence(&a, off);
		tone(&a, '8', 40, -10, -10, 1.0);
		silence(&a, 60);
		tone(&a, '9', 20, -10, -10, 1.0);
		silence(&a, 60);
		tone(&a, '7', 20, -3, -3, 1.0);
		silence(&a, 60);
		const char *got = detect(&a);
		if (strcmp(got, "8") != 0) {
			fprintf(stderr, "offset %zu: heard \"%s\"\n", off, got);
			check_failed = 1;
		}
	}
}

static void
test_inband_presses(void)
{
	for (size_t off = 0; off < DTMF_INBAND_BLOCK; off += 17) {
		struct audio a = {.codec = IVR_PCMU};
		samples_silence(&a, off);
		/* the same key twice with a 40 ms gap: two presses */
		tone(&a, '4', 60, -10, -10, 1.0);
		silence(&a, 40);
		tone(&a, '4', 60, -10, -10, 1.0);
		silence(&a, 100);
		/* another key straight after, then a 10 ms drop-out inside one press */
		tone(&a, '1', 60, -10, -10, 1.0);
		tone(&a, '2', 60, -10, -10, 1.0);
		silence(&a, 100);
		tone(&a, '3', 60, -10, -10, 1.0);
		silence(&a, 10);
		tone(&a, '3', 60, -10, -10, 1.0);
		silence(&a, 100);
		const char *got = detect(&a);
		if (strcmp(got, "44123") != 0) {
			fprintf(stderr, "offset %zu: heard \"%s\"\n", off, got);
			check_failed = 1;
		}
	}
}

static void
test_inband_gap(void)
{
	struct audio a = {.codec = IVR_PCMU};
	struct dtmf_inband d;
	char keys[8];
	size_t n = 0;

	tone(&a, '6', 200, -10, -10, 1.0);
	dtmf_inband_init(&d);
	n += dtmf_inband_feed(&d, keys + n, sizeof(keys) - n, IVR_PCMU, a.s, 800);
	/* the sender paused (silence suppression): the same key after it is a new press */
	dtmf_inband_gap(&d);
	n += dtmf_inband_feed(&d, keys + n, sizeof(keys) - n, IVR_PCMU, a.s + 800, 800);
	CHECK_INT(n, 2);
	CHECK(keys[0] == '6' && keys[1] == '6');
	/* one big payload, several keys; those past maxkeys are dropped */
	free(a.s);
	a = (struct audio){.codec = IVR_PCMU};
	for (int i = 0; i < 4; i++) {
		tone(&a, all_keys[i], 60, -10, -10, 1.0);
		silence(&a, 60);
	}
	dtmf_inband_init(&d);
	CHECK_INT(dtmf_inband_feed(&d, keys, 3, IVR_PCMU, a.s, a.n), 3);
	CHECK(memcmp(keys, "012", 3) == 0);
	free(a.s);
}

static void
test_inband_noise_rejected(void)
{
	static const double levels[] = {-3, -10, -20, -30, -40};
	uint32_t seed = 12345;

	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		struct audio a = {.codec = IVR_PCMU};
		/* white noise, 10 s, rms at the level */
		for (int i = 0; i < 80000; i++) {
			seed = seed * 1103515245u + 12345u;
			double u = (double)(seed >> 8) / (1 << 24) * 2 - 1; /* uniform: rms 1/sqrt3 */
			put(&a, u * sqrt(3.0) * peak(levels[l]) / sqrt(2.0));
		}
		CHECK_STR(detect(&a), "");
	}
	/* one tone of a pair, and a dial-tone-like 350+440 Hz */
	struct audio a = {.codec = IVR_PCMU};
	for (int i = 0; i < 8000; i++)
		put(&a, peak(-10) * sin(2 * M_PI * 770 * a.t));
	for (int i = 0; i < 8000; i++)
		put(&a, peak(-10) * (sin(2 * M_PI * 350 * a.t) + sin(2 * M_PI * 440 * a.t)));
	CHECK_STR(detect(&a), "");
}

/* Talk-off: the shipped speech prompts, both codecs, must give no key. */
static size_t talkoff_frames, talkoff_keys, talkoff_files;

static void
talkoff_file(const char *path)
{
	static const enum ivr_codec codecs[] = {IVR_PCMU, IVR_PCMA};
	struct prompt *p;
	char err[200];

	if (prompt_load(&p, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		check_failed = 1;
		return;
	}
	talkoff_files++;
	for (size_t c = 0; c < 2; c++) {
		struct dtmf_inband d;
		dtmf_inband_init(&d);
		for (size_t i = 0; i < prompt_frames(p); i++) {
			char keys[8];
			size_t n = dtmf_inband_feed(&d, keys, sizeof(keys), codecs[c],
				prompt_frame(p, codecs[c], i), PROMPT_FRAME_SAMPLES);
			talkoff_frames++;
			if (n > 0)
				fprintf(stderr, "%s frame %zu (codec %d): key %c\n", path, i, codecs[c],
					keys[0]);
			talkoff_keys += n;
		}
	}
	prompt_unref(p);
}

static void
talkoff_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		check_failed = 1;
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".wav") == 0)
			talkoff_file(path);
		else if (e->d_type == DT_DIR)
			talkoff_dir(path);
	}
	closedir(d);
}

static void
test_inband_talkoff_prompts(void)
{
	/* the tests run in tests/data */
	talkoff_dir("../../prompts/en");
	talkoff_dir("../../prompts/vi");
	printf("talk-off: %zu prompts, %zu frames of 20 ms (%.0f s, u-law and A-law), %zu keys\n",
		talkoff_files, talkoff_frames, talkoff_frames * 0.02, talkoff_keys);
	CHECK(talkoff_files >= 20);
	CHECK_INT(talkoff_keys, 0);
}

/* --- One press, one key --- */

static void
test_arbiter(void)
{
	struct dtmf_arbiter a;

	dtmf_arbiter_init(&a);
	/* RFC 4733 first, the INFO for the same press 150 ms later: once */
	CHECK(dtmf_arbiter_accept(&a, '5', DTMF_RFC4733, 1000));
	CHECK(!dtmf_arbiter_accept(&a, '5', DTMF_INFO, 1150));
	/* the same key again by the same path: a new press */
	CHECK(dtmf_arbiter_accept(&a, '5', DTMF_RFC4733, 1300));
	CHECK(!dtmf_arbiter_accept(&a, '5', DTMF_INFO, 1450));
	/* another key by the other path counts at once */
	CHECK(dtmf_arbiter_accept(&a, '6', DTMF_INFO, 1500));
	CHECK(!dtmf_arbiter_accept(&a, '6', DTMF_RFC4733, 1510));
	CHECK(!dtmf_arbiter_accept(&a, '6', DTMF_INBAND, 1540));
	/* the window runs from the key that counted, not from a duplicate */
	CHECK(dtmf_arbiter_accept(&a, '6', DTMF_RFC4733, 1500 + DTMF_DUP_WINDOW_MS));
	CHECK_INT(a.counted[DTMF_RFC4733], 3);
	CHECK_INT(a.counted[DTMF_INFO], 1);
	CHECK_INT(a.counted[DTMF_INBAND], 0);
	CHECK_INT(a.duplicates, 4);

	/* the paths race: the second press's INFO comes first, then its RFC 4733 event; the
	 * count stays right (two presses) */
	dtmf_arbiter_init(&a);
	CHECK(dtmf_arbiter_accept(&a, '1', DTMF_RFC4733, 0));
	CHECK(!dtmf_arbiter_accept(&a, '1', DTMF_INFO, 150));
	CHECK(!dtmf_arbiter_accept(&a, '1', DTMF_INFO, 300));
	CHECK(dtmf_arbiter_accept(&a, '1', DTMF_RFC4733, 320));
	CHECK_INT(a.counted[DTMF_RFC4733], 2);
	/* a clock that goes back never makes a duplicate */
	CHECK(dtmf_arbiter_accept(&a, '1', DTMF_INBAND, 100));
	CHECK_STR(dtmf_path_name(DTMF_RFC4733), "rfc4733");
	CHECK_STR(dtmf_path_name(DTMF_INFO), "info");
	CHECK_STR(dtmf_path_name(DTMF_INBAND), "inband");
}

CHECK_MAIN({"info_relay_every_key", test_info_relay_every_key},
	{"info_relay_tolerant", test_info_relay_tolerant},
	{"info_dtmf", test_info_dtmf},
	{"info_malformed", test_info_malformed},
	{"info_other_types", test_info_other_types},
	{"inband_every_key_and_level", test_inband_every_key_and_level},
	{"inband_twist_level_frequency", test_inband_twist_level_frequency},
	{"inband_duration", test_inband_duration},
	{"inband_presses", test_inband_presses},
	{"inband_gap", test_inband_gap},
	{"inband_noise_rejected", test_inband_noise_rejected},
	{"inband_talkoff_prompts", test_inband_talkoff_prompts},
	{"arbiter", test_arbiter})
