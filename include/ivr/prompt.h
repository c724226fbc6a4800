/* Prompts: audio files decoded once at load (libsndfile, resampled with libsamplerate when
 * not 8 kHz, mixed down to mono) into 20 ms G.711 frames that every call shares. */
#ifndef IVR_PROMPT_H
#define IVR_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#define PROMPT_RATE 8000
#define PROMPT_FRAME_MS 20
#define PROMPT_FRAME_SAMPLES 160 /* 20 ms at 8 kHz, one byte per G.711 sample */

/* RTP static payload types (RFC 3551). */
enum ivr_codec {
	IVR_PCMU = 0,
	IVR_PCMA = 8,
};

struct prompt;       /* immutable once loaded; reference counted */
struct prompt_cache; /* path -> prompt, so a reload does not decode unchanged files again */

/* Decodes path. On failure returns an errno value and writes a one-line reason to err. */
int prompt_load(struct prompt **pp, const char *path, char *err, size_t errlen);
struct prompt *prompt_ref(struct prompt *p);
void prompt_unref(struct prompt *p);
/* References held, the cache's included (for the cache's sweep and for tests). */
int prompt_refcount(const struct prompt *p);

size_t prompt_frames(const struct prompt *p);
/* PROMPT_FRAME_SAMPLES bytes of frame i (i < prompt_frames(p)); the last frame is padded
 * with silence. */
const uint8_t *prompt_frame(const struct prompt *p, enum ivr_codec codec, size_t i);
const char *prompt_path(const struct prompt *p);
unsigned prompt_duration_ms(const struct prompt *p);
/* One frame of G.711 silence for codec. */
const uint8_t *prompt_silence(enum ivr_codec codec);

/* Resolves prompt name "main/greeting" to DIR/LANG/main/greeting.EXT, trying the extensions
 * libsndfile reads (wav, flac, ogg, au, aiff ...). Returns 0 and the path, or ENOENT. Names
 * with "..", a leading "/" or characters other than [A-Za-z0-9_/-] give EINVAL, and so does
 * a LANG that is not one such component. ENAMETOOLONG: the path does not fit pathlen. */
int prompt_resolve(char *path, size_t pathlen, const char *dir, const char *lang,
	const char *name);

/* The cache keys prompts by path, size and mtime: an unchanged file returns the prompt
 * already decoded (with a new reference). */
int prompt_cache_new(struct prompt_cache **cp);
int prompt_cache_get(struct prompt_cache *c, struct prompt **pp, const char *path, char *err,
	size_t errlen);
/* Drops cache entries that no one else holds any more. */
void prompt_cache_sweep(struct prompt_cache *c);
/* Prompts the cache holds (status and metrics). */
size_t prompt_cache_count(const struct prompt_cache *c);
void prompt_cache_free(struct prompt_cache *c);

/* G.711 (ITU-T G.711) for 16-bit linear PCM. */
uint8_t g711_ulaw_encode(int16_t pcm);
int16_t g711_ulaw_decode(uint8_t ulaw);
uint8_t g711_alaw_encode(int16_t pcm);
int16_t g711_alaw_decode(uint8_t alaw);

#endif
