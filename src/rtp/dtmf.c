/* RFC 4733 telephone-event receiver: one key per event, whatever packets of it arrive. */
#include <errno.h>

#include "ivr/rtp.h"

/* RFC 4733 3.2: events 0-15 are the DTMF keys; higher codes (RFC 4734 tones) are not. */
static const char dtmf_keys[] = "0123456789*#ABCD";

/* RFC 4733 2.5.1.3, 2.5.2.3: an event longer than the 16-bit duration field goes on in a
 * new segment whose timestamp is the previous segment's plus 0xFFFF. */
#define DTMF_SEGMENT 0xffffu
/* A packet up to this far behind the last event (10 s at 8 kHz: one full segment plus
 * jitter) is a late packet of an earlier event; further back, the sender's clock jumped. */
#define DTMF_STALE 80000u

void
dtmf_rx_init(struct dtmf_rx *d)
{
	*d = (struct dtmf_rx){0};
}

int
dtmf_rx_packet(struct dtmf_rx *d, const struct rtp_packet *p, char *key)
{
	uint8_t ev;

	if (p->payload_len < 4)
		return EINVAL;
	ev = p->payload[0];
	if (ev >= sizeof(dtmf_keys) - 1)
		return 0;
	/* RFC 4733 2.2.1, 2.5.2: every packet of an event carries its start timestamp, and
	 * any of them (start, update, end, retransmit) may be the first to arrive.
	 * Differences are modulo 2^32 so that wraparound needs no special case. */
	if (d->have_last && p->ssrc == d->last_ssrc) {
		uint32_t behind = d->last_ts - p->ts;

		if (ev == d->last_event && behind == 0)
			return 0;
		if (ev == d->last_event && p->ts - d->last_ts == DTMF_SEGMENT) {
			d->last_ts = p->ts;
			return 0;
		}
		if (behind != 0 && behind <= DTMF_STALE)
			return 0;
	}
	d->have_last = true;
	d->last_ts = p->ts;
	d->last_event = ev;
	d->last_ssrc = p->ssrc;
	*key = dtmf_keys[ev];
	return 1;
}
