/* RTP header parsing and the RFC 4733 receiver, the latter against SIPp's real captures. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ivr/rtp.h"
#include "ivr/util.h"

#include "check.h"

/* RFC 4733 telephone-event captures shipped with SIPp (Debian package sip-tester). */
#define PCAP_DIR "/usr/share/sip-tester/"
#define PCAP_MAX 32

/* Parses buf through a copy of exactly len bytes, so that ASan sees any read past it. */
static int
parse_exact(struct rtp_packet *p, const uint8_t *buf, size_t len, uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	memcpy(*copy, buf, len);
	return rtp_parse(p, *copy, len);
}

static void
test_parse_minimal(void)
{
	static const uint8_t pkt[] = {
		0x80, 0x80 | 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
		0xff, 0x7f,
	};
	struct rtp_packet p;
	uint8_t *copy;

	CHECK_INT(parse_exact(&p, pkt, sizeof(pkt), &copy), 0);
	CHECK_INT(p.pt, 0);
	CHECK(p.marker);
	CHECK_INT(p.seq, 0x1234);
	CHECK_INT(p.ts, 0xdeadbeef);
	CHECK_INT(p.ssrc, 0x01020304);
	CHECK(p.payload == copy + RTP_HDR_LEN);
	CHECK_INT(p.payload_len, 2);
	free(copy);

	/* a header and nothing else is a valid, empty packet */
	CHECK_INT(parse_exact(&p, pkt, RTP_HDR_LEN, &copy), 0);
	CHECK_INT(p.payload_len, 0);
	free(copy);
}

/* Two CSRCs, a one-word header extension, 3 payload bytes and 3 bytes of padding. */
static const uint8_t full_pkt[] = {
	0xb2, 0x65, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xca, 0xfe, 0xba, 0xbe,
	0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,      /* CSRC list */
	0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00,      /* RFC 8285 one-byte extension */
	0x05, 0x0a, 0x00,                                    /* payload */
	0x00, 0x00, 0x03,                                    /* padding */
};

static void
test_parse_full(void)
{
	struct rtp_packet p;
	uint8_t *copy;

	CHECK_INT(parse_exact(&p, full_pkt, sizeof(full_pkt), &copy), 0);
	CHECK_INT(p.pt, 101);
	CHECK(!p.marker);
	CHECK_INT(p.seq, 1);
	CHECK_INT(p.ts, 160);
	CHECK_INT(p.ssrc, 0xcafebabe);
	CHECK(p.payload == copy + 28);
	CHECK_INT(p.payload_len, 3);
	CHECK_INT(p.payload[0], 0x05);
	free(copy);
}

static void
test_parse_malformed(void)
{
	struct rtp_packet p;
	uint8_t pkt[80];
	uint8_t *copy;

	/* versions 0, 1 and 3 */
	for (int v = 0; v < 4; v++) {
		if (v == 2)
			continue;
		memcpy(pkt, full_pkt, sizeof(full_pkt));
		pkt[0] = (uint8_t)((pkt[0] & 0x3f) | v << 6);
		CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), EINVAL);
		free(copy);
	}
	/* CSRC count beyond the packet */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x8f;
	CHECK_INT(parse_exact(&p, pkt, RTP_HDR_LEN + 14 * 4, &copy), EINVAL);
	free(copy);
	CHECK_INT(parse_exact(&p, pkt, RTP_HDR_LEN + 15 * 4, &copy), 0);
	free(copy);
	/* extension length beyond the packet */
	memcpy(pkt, full_pkt, sizeof(full_pkt));
	pkt[23] = 2;
	CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), EINVAL);
	free(copy);
	pkt[22] = 0xff;
	pkt[23] = 0xff;
	CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), EINVAL);
	free(copy);
	/* padding count 0 (it counts itself), and more padding than payload */
	memcpy(pkt, full_pkt, sizeof(full_pkt));
	pkt[sizeof(full_pkt) - 1] = 0;
	CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), EINVAL);
	free(copy);
	pkt[sizeof(full_pkt) - 1] = 7;
	CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), EINVAL);
	free(copy);
	/* padding that eats the whole payload is allowed */
	pkt[sizeof(full_pkt) - 1] = 6;
	CHECK_INT(parse_exact(&p, pkt, sizeof(full_pkt), &copy), 0);
	CHECK_INT(p.payload_len, 0);
	free(copy);
	/* P bit with nothing after the header */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0xa0;
	CHECK_INT(parse_exact(&p, pkt, RTP_HDR_LEN, &copy), EINVAL);
	free(copy);
}

/* Every truncation of the full packet is refused or parses inside its bounds. */
static void
test_parse_truncated(void)
{
	for (size_t len = 0; len < sizeof(full_pkt); len++) {
		struct rtp_packet p;
		uint8_t *copy;
		int rc = parse_exact(&p, full_pkt, len, &copy);

		if (rc == 0)
			CHECK(p.payload >= copy && p.payload + p.payload_len <= copy + len);
		else
			CHECK_INT(rc, EINVAL);
		free(copy);
	}
	/* every header byte value in the first octet, over a short buffer */
	for (int b = 0; b < 256; b++) {
		uint8_t pkt[16] = {(uint8_t)b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		struct rtp_packet p;
		uint8_t *copy;
		int rc = parse_exact(&p, pkt, sizeof(pkt), &copy);

		if (rc == 0)
			CHECK(p.payload + p.payload_len <= copy + sizeof(pkt));
		free(copy);
	}
}

static void
test_write_header(void)
{
	static const uint8_t want[RTP_HDR_LEN] = {
		0x80, 0xe5, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	};
	uint8_t buf[RTP_HDR_LEN + 1];
	struct rtp_packet p;

	buf[RTP_HDR_LEN] = 0x5a;
	CHECK_INT(rtp_write_header(buf, 101, true, 0xabcd, 0x12345678, 0x9abcdef0), RTP_HDR_LEN);
	CHECK(memcmp(buf, want, RTP_HDR_LEN) == 0);
	CHECK_INT(buf[RTP_HDR_LEN], 0x5a);
	CHECK_INT(rtp_parse(&p, buf, sizeof(buf)), 0);
	CHECK_INT(p.pt, 101);
	CHECK(p.marker);
	CHECK_INT(p.seq, 0xabcd);
	CHECK_INT(p.ts, 0x12345678);
	CHECK_INT(p.ssrc, 0x9abcdef0);
	CHECK_INT(p.payload_len, 1);

	rtp_write_header(buf, 8, false, 0, 0, 0);
	CHECK_INT(buf[0], 0x80);
	CHECK_INT(buf[1], 8);
}

/* --- RFC 4733 ------------------------------------------------------------------------ */

struct pcap_rtp {
	uint8_t data[256];
	size_t len;
};

static uint32_t
le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads the UDP payloads of a classic little-endian libpcap file of Ethernet/IPv4/UDP
 * frames. Returns the number of packets, or -1. */
static int
pcap_read(struct pcap_rtp *out, size_t max, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t hdr[24], rec[16], frame[2048];
	int n = -1;

	if (f == NULL) {
		fprintf(stderr, "%s: cannot open (package sip-tester)\n", path);
		return -1;
	}
	if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr) || le32(hdr) != 0xa1b2c3d4 ||
		le32(hdr + 20) != 1 /* LINKTYPE_ETHERNET */)
		goto out;
	n = 0;
	while (fread(rec, 1, sizeof(rec), f) == sizeof(rec)) {
		uint32_t caplen = le32(rec + 8);
		size_t ihl, off;

		if (caplen > sizeof(frame) || fread(frame, 1, caplen, f) != caplen ||
			(size_t)n == max) {
			n = -1;
			goto out;
		}
		/* Ethernet II carrying IPv4 with UDP inside */
		if (caplen < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00 ||
			frame[14] >> 4 != 4 || frame[23] != 17)
			continue;
		ihl = (size_t)(frame[14] & 0x0f) * 4;
		off = 14 + ihl + 8;
		if (off > caplen || caplen - off > sizeof(out[n].data))
			continue;
		out[n].len = caplen - off;
		memcpy(out[n].data, frame + off, out[n].len);
		n++;
	}
out:
	fclose(f);
	return n;
}

static const struct {
	const char *file;
	char key;
} captures[] = {
	{"dtmf_2833_0.pcap", '0'}, {"dtmf_2833_1.pcap", '1'}, {"dtmf_2833_2.pcap", '2'},
	{"dtmf_2833_3.pcap", '3'}, {"dtmf_2833_4.pcap", '4'}, {"dtmf_2833_5.pcap", '5'},
	{"dtmf_2833_6.pcap", '6'}, {"dtmf_2833_7.pcap", '7'}, {"dtmf_2833_8.pcap", '8'},
	{"dtmf_2833_9.pcap", '9'}, {"dtmf_2833_star.pcap", '*'},
	{"dtmf_2833_pound.pcap", '#'},
};

static int
load_capture(struct pcap_rtp *pkts, size_t i)
{
	char path[256];
	int n;

	snprintf(path, sizeof(path), PCAP_DIR "%s", captures[i].file);
	n = pcap_read(pkts, PCAP_MAX, path);
	CHECK(n > 0);
	return n;
}

/* Feeds packets [from, to) in the order given by idx (or in order when idx is NULL) and
 * returns the keys reported; *first gets the position of the first report. */
static void
feed(struct dtmf_rx *d, const struct pcap_rtp *pkts, const int *idx, int from, int to,
	char *keys, size_t keys_size, int *first)
{
	size_t nkeys = strlen(keys);

	for (int i = from; i < to; i++) {
		const struct pcap_rtp *pk = &pkts[idx != NULL ? idx[i] : i];
		struct rtp_packet p;
		char key = 0;
		int rc;

		CHECK_INT(rtp_parse(&p, pk->data, pk->len), 0);
		CHECK_INT(p.pt, 101);
		rc = dtmf_rx_packet(d, &p, &key);
		CHECK(rc == 0 || rc == 1);
		if (rc == 1 && nkeys + 1 < keys_size) {
			if (nkeys == 0 && first != NULL)
				*first = i;
			keys[nkeys++] = key;
			keys[nkeys] = '\0';
		}
	}
}

/* Each real capture (marker on the first packet, updates, three end packets) is one key,
 * reported on its first packet. */
static void
test_dtmf_captures(void)
{
	for (size_t i = 0; i < ARRAY_LEN(captures); i++) {
		struct pcap_rtp pkts[PCAP_MAX];
		struct dtmf_rx d;
		char keys[16] = "";
		int first = -1, n = load_capture(pkts, i);

		if (n <= 0)
			continue;
		CHECK_INT(n, 10);
		dtmf_rx_init(&d);
		feed(&d, pkts, NULL, 0, n, keys, sizeof(keys), &first);
		CHECK_INT(strlen(keys), 1);
		CHECK_INT(keys[0], captures[i].key);
		CHECK_INT(first, 0);
	}
}

/* The start packets may be lost (RFC 4733 2.5.2): whatever arrives first reports the key,
 * even only the end packets, and nothing after it does. */
static void
test_dtmf_lost_start(void)
{
	struct pcap_rtp pkts[PCAP_MAX];
	int n = load_capture(pkts, 5);

	if (n <= 0)
		return;
	for (int skip = 1; skip < n; skip++) {
		struct dtmf_rx d;
		char keys[16] = "";
		int first = -1;

		dtmf_rx_init(&d);
		feed(&d, pkts, NULL, skip, n, keys, sizeof(keys), &first);
		CHECK_STR(keys, "5");
		CHECK_INT(first, skip);
	}
}

/* Reordered and duplicated packets of one event: still one key. */
static void
test_dtmf_reordered(void)
{
	struct pcap_rtp pkts[PCAP_MAX];
	int idx[3 * PCAP_MAX], n = load_capture(pkts, 10), m = 0;
	struct dtmf_rx d;
	char keys[16] = "";

	if (n <= 0)
		return;
	for (int i = n - 1; i >= 0; i--)
		idx[m++] = i;
	for (int i = 0; i < n; i++) {
		idx[m++] = i;
		idx[m++] = (i * 7) % n;
	}
	dtmf_rx_init(&d);
	feed(&d, pkts, idx, 0, m, keys, sizeof(keys), NULL);
	CHECK_STR(keys, "*");
}

/* All twelve captures in the order they were recorded (by RTP timestamp), as one caller
 * dialling them on one stream, each end packet sent three times. */
static void
test_dtmf_sequence(void)
{
	/* 1 was captured before 0 */
	static const size_t order[] = {1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
	struct dtmf_rx d;
	char keys[32] = "";

	dtmf_rx_init(&d);
	for (size_t i = 0; i < ARRAY_LEN(order); i++) {
		struct pcap_rtp pkts[PCAP_MAX];
		int n = load_capture(pkts, order[i]);

		if (n > 0)
			feed(&d, pkts, NULL, 0, n, keys, sizeof(keys), NULL);
	}
	CHECK_STR(keys, "1023456789*#");
}

/* Synthetic telephone-event packets for the cases the captures do not cover. */
static int
event(struct dtmf_rx *d, uint32_t ssrc, uint32_t ts, uint8_t ev, bool end, uint16_t dur,
	char *key)
{
	uint8_t buf[RTP_HDR_LEN + 4];
	struct rtp_packet p;

	rtp_write_header(buf, 101, false, 0, ts, ssrc);
	buf[RTP_HDR_LEN] = ev;
	buf[RTP_HDR_LEN + 1] = (end ? 0x80 : 0) | 10;
	buf[RTP_HDR_LEN + 2] = (uint8_t)(dur >> 8);
	buf[RTP_HDR_LEN + 3] = (uint8_t)dur;
	*key = 0;
	CHECK_INT(rtp_parse(&p, buf, sizeof(buf)), 0);
	return dtmf_rx_packet(d, &p, key);
}

static void
test_dtmf_same_key_twice(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 1, 1000, 5, false, 0, &key), 1);
	CHECK_INT(key, '5');
	CHECK_INT(event(&d, 1, 1000, 5, true, 800, &key), 0);
	CHECK_INT(key, 0);
	/* pressed again: a new timestamp */
	CHECK_INT(event(&d, 1, 3000, 5, false, 0, &key), 1);
	CHECK_INT(key, '5');
	CHECK_INT(event(&d, 1, 3000, 5, true, 800, &key), 0);
	/* a late end packet of the first press after the second began */
	CHECK_INT(event(&d, 1, 1000, 5, true, 800, &key), 0);
	/* a sender that reuses the timestamp for another key */
	CHECK_INT(event(&d, 1, 3000, 6, false, 0, &key), 1);
	CHECK_INT(key, '6');
}

static void
test_dtmf_ssrc_change(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 1, 1000, 7, false, 0, &key), 1);
	/* a new source (re-INVITE to another media server) at the same timestamp */
	CHECK_INT(event(&d, 2, 1000, 7, false, 0, &key), 1);
	CHECK_INT(key, '7');
	CHECK_INT(event(&d, 2, 1000, 7, true, 800, &key), 0);
	/* and at an earlier one */
	CHECK_INT(event(&d, 3, 500, 7, false, 0, &key), 1);
}

static void
test_dtmf_wraparound(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 9, 0xfffffe00u, 1, false, 0, &key), 1);
	CHECK_INT(event(&d, 9, 0xfffffe00u, 1, true, 0x400, &key), 0);
	CHECK_INT(event(&d, 9, 0x00000300u, 2, false, 0, &key), 1);
	CHECK_INT(key, '2');
	/* the end of the pre-wrap event arriving late */
	CHECK_INT(event(&d, 9, 0xfffffe00u, 1, true, 0x400, &key), 0);
	CHECK_INT(event(&d, 9, 0x00000300u, 2, true, 0x320, &key), 0);
	CHECK_INT(event(&d, 9, 0x00001000u, 1, false, 0, &key), 1);
	CHECK_INT(key, '1');
}

/* RFC 4733 2.5.1.3: a key held longer than 0xFFFF samples goes on in a new segment. */
static void
test_dtmf_long_press(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 4, 50000, 0, false, 0, &key), 1);
	CHECK_INT(event(&d, 4, 50000, 0, false, 0xffff, &key), 0);
	CHECK_INT(event(&d, 4, 50000 + 0xffff, 0, false, 160, &key), 0);
	CHECK_INT(event(&d, 4, 50000 + 0xffff, 0, true, 4000, &key), 0);
	/* late packet of the first segment */
	CHECK_INT(event(&d, 4, 50000, 0, false, 0xffff, &key), 0);
	CHECK_INT(event(&d, 4, 50000 + 0xffff + 8000, 0, false, 0, &key), 1);
}

/* SIPp replays captures cut from one recording (one SSRC): pressing 2 after # sends an
 * event whose timestamp is older than the last one. It is still a new key. */
static void
test_dtmf_earlier_timestamp_is_a_new_key(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 0x0e05384e, 92640, 11, false, 0, &key), 1);
	CHECK_INT(key, '#');
	CHECK_INT(event(&d, 0x0e05384e, 92640, 11, true, 800, &key), 0);
	CHECK_INT(event(&d, 0x0e05384e, 23200, 2, false, 0, &key), 1);
	CHECK_INT(key, '2');
	/* and a late end packet of the # still counts for nothing */
	CHECK_INT(event(&d, 0x0e05384e, 92640, 11, true, 800, &key), 0);
}

static void
test_dtmf_not_keys(void)
{
	static const char want[] = "0123456789*#ABCD";
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	for (uint8_t ev = 0; ev < 16; ev++) {
		CHECK_INT(event(&d, 1, 1000u * (ev + 1), ev, false, 0, &key), 1);
		CHECK_INT(key, want[ev]);
	}
	/* RFC 4734 tones (flash, answer tone ...) are ignored, and leave no trace */
	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 1, 1000, 16, false, 0, &key), 0);
	CHECK_INT(event(&d, 1, 1000, 255, true, 0, &key), 0);
	CHECK_INT(key, 0);
	CHECK_INT(event(&d, 1, 1000, 3, false, 0, &key), 1);
	CHECK_INT(key, '3');
}

static void
test_dtmf_short_payload(void)
{
	uint8_t buf[RTP_HDR_LEN + 4] = {0};
	struct rtp_packet p;
	struct dtmf_rx d;
	char key = 0;

	dtmf_rx_init(&d);
	rtp_write_header(buf, 101, true, 1, 1000, 1);
	for (size_t len = RTP_HDR_LEN; len < sizeof(buf); len++) {
		CHECK_INT(rtp_parse(&p, buf, len), 0);
		CHECK_INT(dtmf_rx_packet(&d, &p, &key), EINVAL);
	}
	CHECK_INT(key, 0);
	CHECK_INT(rtp_parse(&p, buf, sizeof(buf)), 0);
	CHECK_INT(dtmf_rx_packet(&d, &p, &key), 1);
}

/* A sender whose clock jumps far back on the same SSRC is not silenced for good. */
static void
test_dtmf_clock_jump(void)
{
	struct dtmf_rx d;
	char key;

	dtmf_rx_init(&d);
	CHECK_INT(event(&d, 1, 5000000, 4, false, 0, &key), 1);
	CHECK_INT(event(&d, 1, 1000, 4, false, 0, &key), 1);
	CHECK_INT(key, '4');
}

CHECK_MAIN(T(test_parse_minimal), T(test_parse_full), T(test_parse_malformed),
	T(test_parse_truncated), T(test_write_header), T(test_dtmf_captures),
	T(test_dtmf_lost_start), T(test_dtmf_reordered), T(test_dtmf_sequence),
	T(test_dtmf_same_key_twice), T(test_dtmf_ssrc_change), T(test_dtmf_wraparound),
	T(test_dtmf_long_press), T(test_dtmf_earlier_timestamp_is_a_new_key),
	T(test_dtmf_not_keys), T(test_dtmf_short_payload),
	T(test_dtmf_clock_jump))
