/* RFC 4733 telephone-event receiver: one key per event, whatever packets of it arrive. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ivr/rtp.h"

/* RFC 4733 3.2: events 0-15 are the DTMF keys; higher codes (RFC 4734 tones) are not. */
static const char dtmf_keys[] = "0123456789*#ABCD";

/* RFC 4733 2.5.1.3, 2.5.2.3: an event longer than the 16-bit duration field goes on in a
 * new segment whose timestamp is the previous segment's plus 0xFFFF. */
#define DTMF_SEGMENT 0xffffu

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
	if (d->nrecent > 0 && p->ssrc != d->ssrc)
		d->nrecent = 0;
	/* RFC 4733 2.2.1, 2.5.2: every packet of an event carries its start timestamp, and
	 * any of them (start, update, end, retransmit) may be the first to arrive. A packet
	 * names an event already reported when its timestamp and code match one of the last
	 * few; timestamps are not ordered, since senders (and recorded captures) may jump. */
	for (unsigned i = 0; i < d->nrecent; i++)
		if (d->recent_ts[i] == p->ts && d->recent_event[i] == ev)
			return 0;
	/* a later segment of the same press is remembered, not reported */
	bool segment = d->nrecent > 0 && ev == d->recent_event[0] &&
		p->ts - d->recent_ts[0] == DTMF_SEGMENT;
	if (d->nrecent == DTMF_RECENT)
		d->nrecent--;
	memmove(&d->recent_ts[1], &d->recent_ts[0], d->nrecent * sizeof(d->recent_ts[0]));
	memmove(&d->recent_event[1], &d->recent_event[0], d->nrecent);
	d->recent_ts[0] = p->ts;
	d->recent_event[0] = ev;
	d->ssrc = p->ssrc;
	d->nrecent++;
	if (segment)
		return 0;
	*key = dtmf_keys[ev];
	return 1;
}
