/* One press, one key: the arbiter between RFC 4733, SIP INFO and in-band tones. */
#include "ivr/dtmf.h"

const char *
dtmf_path_name(enum dtmf_path path)
{
	switch (path) {
	case DTMF_RFC4733:
		return "rfc4733";
	case DTMF_INFO:
		return "info";
	case DTMF_INBAND:
		return "inband";
	}
	return "?";
}

void
dtmf_arbiter_init(struct dtmf_arbiter *a)
{
	*a = (struct dtmf_arbiter){0};
}

bool
dtmf_arbiter_accept(struct dtmf_arbiter *a, char key, enum dtmf_path path, int64_t now_ms)
{
	/* A duplicate is compared with the key that counted, never with another duplicate,
	 * so a late path cannot stretch the window press after press. */
	if (a->key == key && a->path != path && now_ms - a->at_ms < DTMF_DUP_WINDOW_MS &&
	    now_ms >= a->at_ms) {
		a->duplicates++;
		return false;
	}
	a->key = key;
	a->path = path;
	a->at_ms = now_ms;
	a->counted[path]++;
	return true;
}
