/* Keys by every path a phone may send them: RFC 4733 telephone-events (rtp.h), SIP INFO
 * bodies (RFC 6086 legacy usage), tones in the G.711 audio; and the arbiter that counts a
 * press once whatever paths carry it. */
#ifndef IVR_DTMF_H
#define IVR_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivr/prompt.h"

enum dtmf_path {
	DTMF_RFC4733,
	DTMF_INFO,
	DTMF_INBAND,
};
#define DTMF_NPATHS 3

/* "rfc4733", "info", "inband": in logs, the journal and counter names (dtmf.NAME). */
const char *dtmf_path_name(enum dtmf_path path);

/* --- SIP INFO (src/sip/info.c) --- */

/* The content types dtmf_info_parse takes, for a 415's Accept header. */
#define DTMF_INFO_ACCEPT "application/dtmf-relay, application/dtmf"

/* Parses an INFO body. ctype is the Content-Type without parameters (NULL when absent).
 * application/dtmf-relay: "Signal=5\r\nDuration=160\r\n" lines in any order and case, spaces
 * around names and values, LF or CRLF; Duration optional, other lines ignored.
 * application/dtmf: the body is the key. A key is 0-9 * # A-D (a-d), or an RFC 4733 event
 * number 0-15 (10 is *, 11 is #). Returns 0 with the key (and duration_ms, -1 when not
 * given; duration_ms may be NULL), ENOTSUP for another content type, ENOMSG for a signal
 * that is not a key (hook flash "!"), EINVAL for a malformed body with a reason in err that
 * quotes nothing from the body. */
int dtmf_info_parse(char *key, int *duration_ms, const char *ctype, const char *body,
	size_t len, char *err, size_t errlen);

/* --- In-band tones (src/rtp/inband.c) --- */

/* When the in-band detector runs (ivrd.rtp.inband_dtmf). */
enum dtmf_inband_mode {
	DTMF_INBAND_AUTO,   /* only when the peer negotiated no telephone-event */
	DTMF_INBAND_ALWAYS,
	DTMF_INBAND_OFF,
};

/* Goertzel blocks of 102 samples (12.75 ms): 8000/102 = 78 Hz per bin separates the
 * 73-89 Hz spaced DTMF rows. */
#define DTMF_INBAND_BLOCK 102

struct dtmf_inband {
	uint8_t block[DTMF_INBAND_BLOCK]; /* G.711 samples of the block being filled */
	unsigned fill;
	char cand;       /* the key of the last blocks, 0 for none */
	unsigned ncand;  /* consecutive blocks that heard cand */
	char down;       /* the key reported and not yet released, 0 for none */
	unsigned nquiet; /* consecutive blocks without the key down */
};

void dtmf_inband_init(struct dtmf_inband *d);
/* Feeds n G.711 samples of codec. Writes the keys that start in them to keys (at most
 * maxkeys; more are dropped) and returns how many. */
size_t dtmf_inband_feed(struct dtmf_inband *d, char *keys, size_t maxkeys,
	enum ivr_codec codec, const uint8_t *samples, size_t n);
/* A gap in the audio (the sender paused, a new source): the key down is released and the
 * part-filled block dropped, so the same key after it counts again. */
void dtmf_inband_gap(struct dtmf_inband *d);

/* --- One press, one key (src/rtp/keys.c) --- */

/* How long after a key another path's report of the same key is the same press. The paths
 * race: RFC 4733 leaves at key-down and in-band detection follows 25-40 ms later; an INFO
 * may leave at key-down or at key-up (a press lasts 80-300 ms), crosses proxies, and over
 * UDP a lost INFO is sent again after T1 = 500 ms (RFC 3261 17.1.2.2). 1 s covers a key-up
 * INFO retransmitted once. A second press by only another path within it is lost, which
 * needs a phone that switches paths between two presses of one key. */
#define DTMF_DUP_WINDOW_MS 1000

struct dtmf_arbiter {
	char key;            /* the last key that counted, 0 before any */
	enum dtmf_path path; /* its path */
	int64_t at_ms;       /* when it came */
	uint64_t counted[DTMF_NPATHS], duplicates;
};

void dtmf_arbiter_init(struct dtmf_arbiter *a);
/* True when the key counts: it is not the key that counted last, or it came by that key's
 * path (a new press: each path separates its own presses), or DTMF_DUP_WINDOW_MS passed.
 * False for the same press reported by another path (counted in duplicates). */
bool dtmf_arbiter_accept(struct dtmf_arbiter *a, char key, enum dtmf_path path,
	int64_t now_ms);

#endif
