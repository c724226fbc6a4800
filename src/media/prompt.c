/* Prompt loading: any file libsndfile reads becomes 8 kHz mono, coded once to both G.711
 * laws in 20 ms frames that every call plays from without copying. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ivr/prompt.h"
#include "ivr/util.h"

/* A mistyped path must not be able to eat the daemon's memory: 10 min is 9.6 MB. */
#define PROMPT_MAX_SECONDS 600
#define READ_FRAMES 4096 /* input frames per sf_readf_float() */
#define SAMPLES_PER_MS (PROMPT_RATE / 1000)

#define ULAW_SILENCE 0xff
#define ALAW_SILENCE 0xd5

struct prompt {
	int refs;
	size_t nframes;
	unsigned duration_ms;
	uint8_t *ulaw; /* nframes * PROMPT_FRAME_SAMPLES bytes, in the same allocation */
	uint8_t *alaw;
	char path[];
};

/* Where decoded 8 kHz samples go while a prompt is being loaded. */
struct sink {
	struct prompt *p;
	size_t len; /* samples written */
	size_t cap; /* samples the allocation holds */
};

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static struct prompt *
prompt_alloc(const char *path, size_t nframes)
{
	size_t pathlen = strlen(path) + 1;
	size_t bytes = nframes * PROMPT_FRAME_SAMPLES;
	struct prompt *p;

	p = malloc(sizeof(*p) + pathlen + 2 * bytes);
	if (p == NULL)
		return NULL;
	p->refs = 1;
	p->nframes = nframes;
	p->duration_ms = 0;
	memcpy(p->path, path, pathlen);
	p->ulaw = (uint8_t *)p->path + pathlen;
	p->alaw = p->ulaw + bytes;
	memset(p->ulaw, ULAW_SILENCE, bytes);
	memset(p->alaw, ALAW_SILENCE, bytes);
	return p;
}

static void
sink_put(struct sink *s, const float *in, size_t n)
{
	for (size_t i = 0; i < n && s->len < s->cap; i++, s->len++) {
		/* libsndfile scales 16-bit PCM by 1/32768: this gives the samples back exactly. */
		long v = lrintf(in[i] * 32768.0f);
		int16_t pcm = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);

		s->p->ulaw[s->len] = g711_ulaw_encode(pcm);
		s->p->alaw[s->len] = g711_alaw_encode(pcm);
	}
}

/* Feeds n mono samples through the resampler; last flushes what it still holds. */
static int
resample(struct sink *s, SRC_STATE *src, double ratio, const float *in, long n, bool last)
{
	float out[1024];
	SRC_DATA d = {
		.data_in = in,
		.input_frames = n,
		.data_out = out,
		.output_frames = (long)ARRAY_LEN(out),
		.end_of_input = last,
		.src_ratio = ratio,
	};
	int rc;

	for (;;) {
		if ((rc = src_process(src, &d)) != 0)
			return rc;
		sink_put(s, out, (size_t)d.output_frames_gen);
		d.data_in += d.input_frames_used;
		d.input_frames -= d.input_frames_used;
		if (d.input_frames == 0 && (!last || d.output_frames_gen == 0))
			return 0;
	}
}

/* Averages interleaved channels in place: buf[i] is written after buf[i * channels]. */
static void
mix_mono(float *buf, size_t frames, int channels)
{
	for (size_t i = 0; i < frames; i++) {
		float sum = 0;

		for (int c = 0; c < channels; c++)
			sum += buf[i * (size_t)channels + (size_t)c];
		buf[i] = sum / (float)channels;
	}
}

int
prompt_load(struct prompt **pp, const char *path, char *err, size_t errlen)
{
	struct sink sink = {0};
	SF_INFO info = {0};
	SNDFILE *sf = NULL;
	SRC_STATE *src = NULL;
	float *buf = NULL;
	double ratio = 1.0;
	sf_count_t got, total = 0;
	struct stat st;
	int fd, rc, serr = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		rc = errno;
		fail(err, errlen, rc, "%s: %s", path, strerror(rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, EINVAL, "%s: not a regular file", path);
		goto out;
	}
	sf = sf_open_fd(fd, SFM_READ, &info, 0);
	if (sf == NULL) {
		rc = fail(err, errlen, EINVAL, "%s: not a sound file libsndfile can read: %s", path,
			sf_strerror(NULL));
		goto out;
	}
	if (info.frames <= 0) {
		rc = fail(err, errlen, EINVAL, "%s: empty (no audio)", path);
		goto out;
	}
	if (info.samplerate != PROMPT_RATE) {
		ratio = (double)PROMPT_RATE / info.samplerate;
		if (!src_is_valid_ratio(ratio)) {
			rc = fail(err, errlen, EINVAL, "%s: sample rate %d Hz cannot be converted",
				path, info.samplerate);
			goto out;
		}
	}
	if (info.frames > (sf_count_t)PROMPT_MAX_SECONDS * info.samplerate) {
		rc = fail(err, errlen, EFBIG, "%s: longer than %d minutes", path,
			PROMPT_MAX_SECONDS / 60);
		goto out;
	}

	sink.cap = (size_t)((info.frames * PROMPT_RATE + info.samplerate - 1) / info.samplerate);
	sink.p = prompt_alloc(path,
		(sink.cap + PROMPT_FRAME_SAMPLES - 1) / PROMPT_FRAME_SAMPLES);
	buf = malloc(READ_FRAMES * (size_t)info.channels * sizeof(*buf));
	if (sink.p == NULL || buf == NULL) {
		rc = fail(err, errlen, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if (info.samplerate != PROMPT_RATE) {
		src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &serr);
		if (src == NULL) {
			rc = fail(err, errlen, ENOMEM, "%s: resampler: %s", path,
				src_strerror(serr));
			goto out;
		}
	}

	while ((got = sf_readf_float(sf, buf, READ_FRAMES)) > 0) {
		total += got;
		mix_mono(buf, (size_t)got, info.channels);
		if (src == NULL)
			sink_put(&sink, buf, (size_t)got);
		else if ((serr = resample(&sink, src, ratio, buf, (long)got, false)) != 0)
			break;
	}
	if (src != NULL && serr == 0)
		serr = resample(&sink, src, ratio, buf, 0, true);
	if (serr != 0) {
		rc = fail(err, errlen, EIO, "%s: resampling: %s", path, src_strerror(serr));
		goto out;
	}
	if (sf_error(sf) != SF_ERR_NO_ERROR) {
		rc = fail(err, errlen, EIO, "%s: read error: %s", path, sf_strerror(sf));
		goto out;
	}
	if (total == 0) {
		rc = fail(err, errlen, EINVAL, "%s: empty (no audio)", path);
		goto out;
	}

	/* The header may promise more than the file holds: the length is what was read, and
	 * whatever the resampler gave past it is silenced again. */
	sink.len = (size_t)((total * PROMPT_RATE + info.samplerate - 1) / info.samplerate);
	sink.p->nframes = (sink.len + PROMPT_FRAME_SAMPLES - 1) / PROMPT_FRAME_SAMPLES;
	sink.p->duration_ms = (unsigned)((sink.len + SAMPLES_PER_MS - 1) / SAMPLES_PER_MS);
	memset(sink.p->ulaw + sink.len, ULAW_SILENCE,
		sink.p->nframes * PROMPT_FRAME_SAMPLES - sink.len);
	memset(sink.p->alaw + sink.len, ALAW_SILENCE,
		sink.p->nframes * PROMPT_FRAME_SAMPLES - sink.len);
	*pp = sink.p;
	sink.p = NULL;
	rc = 0;
out:
	if (src != NULL)
		src_delete(src);
	free(buf);
	free(sink.p);
	if (sf != NULL)
		sf_close(sf);
	if (fd != -1)
		close(fd);
	return rc;
}

struct prompt *
prompt_ref(struct prompt *p)
{
	p->refs++;
	return p;
}

void
prompt_unref(struct prompt *p)
{
	if (p != NULL && --p->refs == 0)
		free(p);
}

int
prompt_refcount(const struct prompt *p)
{
	return p->refs;
}

size_t
prompt_frames(const struct prompt *p)
{
	return p->nframes;
}

const uint8_t *
prompt_frame(const struct prompt *p, enum ivr_codec codec, size_t i)
{
	const uint8_t *base = codec == IVR_PCMA ? p->alaw : p->ulaw;

	return base + i * PROMPT_FRAME_SAMPLES;
}

const char *
prompt_path(const struct prompt *p)
{
	return p->path;
}

unsigned
prompt_duration_ms(const struct prompt *p)
{
	return p->duration_ms;
}

#define REP10(x) x, x, x, x, x, x, x, x, x, x
#define REP160(x) REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), \
	REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x), REP10(x)

static const uint8_t ulaw_silence[PROMPT_FRAME_SAMPLES] = {REP160(ULAW_SILENCE)};
static const uint8_t alaw_silence[PROMPT_FRAME_SAMPLES] = {REP160(ALAW_SILENCE)};

const uint8_t *
prompt_silence(enum ivr_codec codec)
{
	return codec == IVR_PCMA ? alaw_silence : ulaw_silence;
}
