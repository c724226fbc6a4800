/* RTCP packets (RFC 3550 6) and reception statistics (A.1, A.3, A.8); the media tick at
 * every ptime, driven tick by tick, with the packets read back from a loopback socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../../src/rtp/rtp_int.h"
#include "ivr/rtcp.h"
#include "ivr/rtp.h"
#include "ivr/util.h"

#include "check.h"

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The CNAME of the SDES packet in a compound, or "" */
static void
sdes_cname(char *out, size_t size, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	out[0] = 0;
	while (off + 4 <= len) {
		size_t plen = 4 * ((size_t)(buf[off + 2] << 8 | buf[off + 3]) + 1);
		if (buf[off + 1] == RTCP_SDES && off + 10 <= len && buf[off + 8] == 1 &&
		    off + 10 + buf[off + 9] <= len && buf[off + 9] < size) {
			memcpy(out, buf + off + 10, buf[off + 9]);
			out[buf[off + 9]] = 0;
		}
		off += plen;
	}
}

static void
test_build_sr(void)
{
	struct rtcp_report r = {
		.ssrc = 0x11223344, .sr = true, .ntp_sec = 0xe0000001, .ntp_frac = 0x80000000,
		.rtp_ts = 4000, .packets = 50, .octets = 8000, .has_block = true,
		.block = {.ssrc = 0xcafe, .fraction = 25, .lost = -3, .ext_max_seq = 0x10005,
			.jitter = 12, .lsr = 0x01020304, .dlsr = 65536},
		.cname = "ivrd-test",
	};
	uint8_t buf[RTCP_MAX_LEN];
	struct rtcp_info info;
	char cname[64];
	size_t n = rtcp_build(buf, sizeof(buf), &r);

	/* SR 8 + 20 + 24, SDES 4 + 4 + 2 + 9 + 1 -> 20 */
	CHECK_INT(n, 52 + 20);
	CHECK_INT(buf[0], 0x81);
	CHECK_INT(buf[1], RTCP_SR);
	CHECK_INT(buf[2] << 8 | buf[3], 52 / 4 - 1);
	CHECK_INT(get32(buf + 4), 0x11223344);
	CHECK_INT(get32(buf + 8), 0xe0000001);
	CHECK_INT(get32(buf + 16), 4000);
	CHECK_INT(get32(buf + 20), 50);
	CHECK_INT(get32(buf + 24), 8000);
	CHECK_INT(get32(buf + 28), 0xcafe);
	CHECK_INT(buf[32], 25);
	CHECK_INT(get32(buf + 32) & 0xffffff, 0xfffffd); /* -3, 24-bit two's complement */
	CHECK_INT(get32(buf + 36), 0x10005);
	CHECK_INT(get32(buf + 40), 12);
	CHECK_INT(get32(buf + 44), 0x01020304);
	CHECK_INT(get32(buf + 48), 65536);
	CHECK_INT(buf[53], RTCP_SDES);
	CHECK_INT(buf[52] & 0x1f, 1);
	sdes_cname(cname, sizeof(cname), buf, n);
	CHECK_STR(cname, "ivrd-test");
	CHECK_INT(buf[n - 1], 0); /* END item and padding */

	CHECK_INT(rtcp_parse(&info, buf, n), 0);
	CHECK(info.sr);
	CHECK(!info.bye);
	CHECK_INT(info.ssrc, 0x11223344);
	CHECK_INT(info.lsr, 0x00018000); /* the middle 32 bits of the NTP timestamp */
	CHECK_INT(info.packets, 2);
	/* too small a buffer */
	CHECK_INT(rtcp_build(buf, n - 1, &r), 0);
}

static void
test_build_rr_bye(void)
{
	struct rtcp_report r = {.ssrc = 7, .cname = "abc", .bye = true};
	uint8_t buf[RTCP_MAX_LEN];
	struct rtcp_info info;
	char cname[64];
	size_t n = rtcp_build(buf, sizeof(buf), &r);

	/* RR without blocks 8, SDES 4 + 4 + 2 + 3 + 1 -> 16, BYE 8 */
	CHECK_INT(n, 32);
	CHECK_INT(buf[0], 0x80);
	CHECK_INT(buf[1], RTCP_RR);
	CHECK_INT(buf[24], 0x81);
	CHECK_INT(buf[25], RTCP_BYE);
	CHECK_INT(get32(buf + 28), 7);
	sdes_cname(cname, sizeof(cname), buf, n);
	CHECK_STR(cname, "abc");
	CHECK_INT(rtcp_parse(&info, buf, n), 0);
	CHECK(!info.sr);
	CHECK(info.bye);
	CHECK_INT(info.packets, 3);
}

static void
test_parse_malformed(void)
{
	struct rtcp_report r = {.ssrc = 7, .sr = true, .cname = "abc", .bye = true};
	uint8_t buf[RTCP_MAX_LEN], bad[RTCP_MAX_LEN];
	struct rtcp_info info;
	size_t n = rtcp_build(buf, sizeof(buf), &r);

	CHECK_INT(rtcp_parse(&info, buf, n), 0);
	/* every truncation, and trailing bytes */
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		/* the SR alone, SR + SDES, and all three are whole compounds */
		CHECK_INT(rtcp_parse(&info, copy, len), len == 28 || len == 28 + 16 ? 0 : EINVAL);
		free(copy);
	}
	memcpy(bad, buf, n);
	bad[n] = 0;
	CHECK_INT(rtcp_parse(&info, bad, n + 1), EINVAL);
	/* version 1 */
	memcpy(bad, buf, n);
	bad[0] = 0x40;
	CHECK_INT(rtcp_parse(&info, bad, n), EINVAL);
	/* a later packet of version 3 */
	memcpy(bad, buf, n);
	bad[28] |= 0xc0;
	CHECK_INT(rtcp_parse(&info, bad, n), EINVAL);
	/* starts with SDES */
	CHECK_INT(rtcp_parse(&info, buf + 28, n - 28), EINVAL);
	/* a length running past the end */
	memcpy(bad, buf, n);
	bad[31] += 1;
	CHECK_INT(rtcp_parse(&info, bad, n), EINVAL);
	/* padding on the first packet */
	memcpy(bad, buf, n);
	bad[0] |= 0x20;
	CHECK_INT(rtcp_parse(&info, bad, n), EINVAL);
	/* an SR claiming a report block it has no room for */
	memcpy(bad, buf, n);
	bad[0] |= 1;
	CHECK_INT(rtcp_parse(&info, bad, n), EINVAL);
	/* padding on the last packet, counted right, is fine; counted wrong is not */
	memcpy(bad, buf, n);
	bad[n - 8] |= 0x20;
	bad[n - 6] = 0;
	bad[n - 5] = 2; /* the BYE grows by a word of padding */
	memset(bad + n, 0, 4);
	bad[n + 3] = 4;
	CHECK_INT(rtcp_parse(&info, bad, n + 4), 0);
	bad[n + 3] = 9;
	CHECK_INT(rtcp_parse(&info, bad, n + 4), EINVAL);
	bad[n + 3] = 0;
	CHECK_INT(rtcp_parse(&info, bad, n + 4), EINVAL);
}

static void
test_rx_loss(void)
{
	struct rtp_rx_stats st = {0};
	struct rtcp_block b;

	/* 100 packets from 65500, wrapping, every tenth lost */
	for (unsigned i = 0; i < 100; i++)
		if (i % 10 != 5)
			CHECK(rtp_rx_update(&st, 42, (uint16_t)(65500 + i), 160 * i, 160 * i, true));
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.ssrc, 42);
	CHECK_INT(b.ext_max_seq, 65536 + (65500 + 99 - 65536));
	CHECK_INT(b.lost, 10);
	CHECK_INT(b.fraction, 10 * 256 / 100);
	CHECK_INT(b.jitter, 0);
	/* the next interval: nothing lost, a duplicate makes the loss negative */
	for (unsigned i = 100; i < 110; i++)
		rtp_rx_update(&st, 42, (uint16_t)(65500 + i), 160 * i, 160 * i, true);
	rtp_rx_update(&st, 42, (uint16_t)(65500 + 109), 0, 0, false);
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.fraction, 0);
	CHECK_INT(b.lost, 9);
	/* most of an interval lost */
	rtp_rx_update(&st, 42, (uint16_t)(65500 + 130), 0, 0, false);
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.fraction, 20 * 256 / 21);
	/* a jump is believed only when the next packet follows it */
	CHECK(!rtp_rx_update(&st, 42, 30000, 0, 0, false));
	CHECK(rtp_rx_update(&st, 42, 30001, 0, 0, false));
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.ext_max_seq, 30001);
	CHECK_INT(b.lost, 0);
	/* a new SSRC starts over */
	CHECK(rtp_rx_update(&st, 43, 5, 0, 0, true));
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.ssrc, 43);
	CHECK_INT(b.ext_max_seq, 5);
	CHECK_INT(b.lost, 0);
}

static void
test_rx_jitter(void)
{
	struct rtp_rx_stats st = {0};
	struct rtcp_block b;

	/* RFC 3550 A.8: J += (|D| - J) / 16 */
	rtp_rx_update(&st, 1, 1, 1000, 5000, true);
	rtp_rx_update(&st, 1, 2, 1160, 5160 + 160, true); /* 20 ms late: D = 160 */
	rtp_rx_block(&b, &st, 0);
	CHECK_INT(b.jitter, 10);
	/* a steady 80-sample swing settles near 80 */
	for (unsigned i = 3; i < 400; i++)
		rtp_rx_update(&st, 1, (uint16_t)i, 160 * i, 160 * i + (i % 2 ? 80 : 0), true);
	rtp_rx_block(&b, &st, 0);
	CHECK(b.jitter >= 75 && b.jitter <= 80);
	/* telephone-events do not count towards jitter */
	rtp_rx_update(&st, 1, 400, 0, 999999, false);
	rtp_rx_block(&b, &st, 0);
	CHECK(b.jitter >= 75 && b.jitter <= 80);
	/* LSR and DLSR from the caller's last SR */
	rtp_rx_sr(&st, 0xabcd1234, 1000);
	rtp_rx_block(&b, &st, 1500);
	CHECK_INT(b.lsr, 0xabcd1234);
	CHECK_INT(b.dlsr, 32768);
}

/* --- the media tick --- */

struct rig {
	struct event_base *base;
	struct rtp_pacer *p;
	struct rtp_session *s;
	int rx, rtcp_rx; /* where the session sends RTP and RTCP */
	struct sockaddr_in to;
	int drained, inactive;
	char dir[64];
	struct prompt *pr;
};

static void
r_drained(void *arg)
{
	((struct rig *)arg)->drained++;
}

static void
r_inactive(void *arg)
{
	((struct rig *)arg)->inactive++;
}

static const struct rtp_session_ops ops = {.drained = r_drained, .inactive = r_inactive};

/* A 16-bit 8 kHz mono WAV of n samples of a ramp. */
static void
write_wav(const char *path, unsigned n)
{
	FILE *f = fopen(path, "wb");
	uint8_t h[44] = "RIFF....WAVEfmt ";
	uint32_t v;

	CHECK(f != NULL);
	if (f == NULL)
		return;
#define LE32(off, x) (v = (x), h[off] = (uint8_t)v, h[off + 1] = (uint8_t)(v >> 8), \
	h[off + 2] = (uint8_t)(v >> 16), h[off + 3] = (uint8_t)(v >> 24))
	LE32(4, 36 + 2 * n);
	LE32(16, 16);
	h[20] = 1; h[22] = 1;          /* PCM, mono */
	LE32(24, 8000);
	LE32(28, 16000);
	h[32] = 2; h[34] = 16;
	memcpy(h + 36, "data", 4);
	LE32(40, 2 * n);
#undef LE32
	fwrite(h, 1, sizeof(h), f);
	for (unsigned i = 0; i < n; i++) {
		int16_t x = (int16_t)((int)(i * 37 % 16000) - 8000);
		uint8_t le[2] = {(uint8_t)x, (uint8_t)((uint16_t)x >> 8)};
		fwrite(le, 1, 2, f);
	}
	fclose(f);
}

static int
udp_bind(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
rig_new(struct rig *g, unsigned ptime, unsigned timeout_ms, bool symmetric)
{
	char path[128], err[128];

	memset(g, 0, sizeof(*g));
	g->rx = g->rtcp_rx = -1;
	/* an even port and the next, for RTP and RTCP */
	for (uint16_t port = (uint16_t)(41000 + getpid() % 4000 * 2); port < 65000; port += 2) {
		g->rx = udp_bind(port);
		if (g->rx < 0)
			continue;
		g->rtcp_rx = udp_bind(port + 1);
		if (g->rtcp_rx >= 0) {
			g->to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
			inet_pton(AF_INET, "127.0.0.1", &g->to.sin_addr);
			break;
		}
		close(g->rx);
		g->rx = -1;
	}
	CHECK(g->rtcp_rx >= 0);
	str_copy(g->dir, "/tmp/ivr-rtcp-XXXXXX", sizeof(g->dir));
	CHECK(mkdtemp(g->dir) != NULL);
	snprintf(path, sizeof(path), "%s/p.wav", g->dir);
	write_wav(path, 1000); /* 6.25 frames: the last one padded */
	CHECK_INT(prompt_load(&g->pr, path, err, sizeof(err)), 0);
	remove(path);
	g->base = event_base_new();
	CHECK_INT(rtp_pacer_new(&g->p, g->base, "127.0.0.1", 30000, 39999), 0);
	rtp_pacer_set_media(g->p, symmetric, timeout_ms, 0);
	CHECK_INT(rtp_session_new(&g->s, g->p, &ops, g, "test-call"), 0);
	CHECK_INT(rtp_session_port(g->s) % 2, 0);
	rtp_session_set_ptime(g->s, ptime);
	return g->pr != NULL && g->s != NULL && g->rtcp_rx >= 0;
}

static void
rig_free(struct rig *g)
{
	rtp_session_free(g->s);
	rtp_pacer_free(g->p);
	if (g->base != NULL)
		event_base_free(g->base);
	if (g->pr != NULL)
		prompt_unref(g->pr);
	close(g->rx);
	close(g->rtcp_rx);
	rmdir(g->dir);
}

/* Reads one datagram from fd, 0 when none is waiting. */
static size_t
take(int fd, uint8_t *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size, 0);

	return n > 0 ? (size_t)n : 0;
}

static void
pacing_at(unsigned ptime)
{
	size_t plen = ptime * 8, prompt = 7 * PROMPT_FRAME_SAMPLES, got = 0;
	uint8_t want[2 * 7 * PROMPT_FRAME_SAMPLES + 480], buf[600];
	int64_t t0 = clock_mono_ms();
	uint32_t ts0 = 0;
	uint16_t seq0 = 0;
	unsigned npkt = 0;
	struct rig g;

	if (!rig_new(&g, ptime, 0, false)) {
		rig_free(&g);
		return;
	}
	/* two prompts back to back, then silence */
	for (size_t i = 0; i < 7; i++) {
		memcpy(want + i * PROMPT_FRAME_SAMPLES, prompt_frame(g.pr, IVR_PCMU, i),
			PROMPT_FRAME_SAMPLES);
		memcpy(want + prompt + i * PROMPT_FRAME_SAMPLES, prompt_frame(g.pr, IVR_PCMU, i),
			PROMPT_FRAME_SAMPLES);
	}
	memset(want + 2 * prompt, 0xff, sizeof(want) - 2 * prompt);
	CHECK_INT(prompt_frames(g.pr), 7);
	rtp_session_play(g.s, g.pr, "p", true);
	rtp_session_play(g.s, g.pr, "p", true);
	rtp_session_start(g.s, (struct sockaddr *)&g.to, sizeof(g.to), IVR_PCMU, 0, 101);
	for (unsigned tick = 0; tick < 60; tick++) {
		size_t n;
		rtp_pacer_run(g.p, 1, t0 + 10 * tick);
		n = take(g.rx, buf, sizeof(buf));
		/* one packet on every ptime/10th tick, none between */
		if (tick % (ptime / 10) != 0) {
			CHECK_INT(n, 0);
			continue;
		}
		CHECK_INT(n, RTP_HDR_LEN + plen);
		if (n != RTP_HDR_LEN + plen)
			continue;
		if (npkt == 0) {
			ts0 = get32(buf + 4);
			seq0 = (uint16_t)(buf[2] << 8 | buf[3]);
			CHECK(buf[1] & 0x80);
		} else {
			CHECK(!(buf[1] & 0x80));
		}
		CHECK_INT(buf[1] & 0x7f, 0);
		CHECK_INT((uint16_t)(buf[2] << 8 | buf[3]), (uint16_t)(seq0 + npkt));
		CHECK_INT(get32(buf + 4) - ts0, 80 * tick);
		if (got + plen <= sizeof(want))
			CHECK(memcmp(buf + RTP_HDR_LEN, want + got, plen) == 0);
		got += plen;
		npkt++;
		/* the queue ran dry with the packet holding the second prompt's end */
		CHECK_INT(g.drained, got >= 2 * prompt ? 1 : 0);
	}
	CHECK_INT(npkt, 60 / (ptime / 10));
	/* a stall of 25 ticks: 19 skipped, 6 caught up, and the clock kept */
	rtp_pacer_run(g.p, 25, t0 + 850);
	for (size_t n; (n = take(g.rx, buf, sizeof(buf))) > 0;) {
		uint32_t d = get32(buf + 4) - ts0;
		CHECK(d % plen == 0);
		CHECK(d >= 80 * (60 + 19) && d < 80 * 85);
	}
	rtp_pacer_run(g.p, 1, t0 + 860);
	for (unsigned tick = 86; tick < 86 + 6; tick++) {
		size_t n = take(g.rx, buf, sizeof(buf));
		if (n > 0)
			CHECK_INT(get32(buf + 4) - ts0, 80 * (tick - 1));
		rtp_pacer_run(g.p, 1, t0 + 10 * tick);
	}
	rig_free(&g);
}

static void
test_pacing_10(void)
{
	pacing_at(10);
}

static void
test_pacing_20(void)
{
	pacing_at(20);
}

static void
test_pacing_30(void)
{
	pacing_at(30);
}

static void
test_pacing_60(void)
{
	pacing_at(60);
}

/* SR after the first interval with counts matching the RTP sent, RR once we stop sending
 * (hold), BYE at the end; the inactivity timeout fires once. */
static void
test_session_rtcp_and_timeout(void)
{
	uint8_t buf[600];
	int64_t t0;
	struct rtcp_info info;
	char cname[64];
	unsigned npkt = 0, nsr = 0;
	uint32_t ssrc = 0;
	struct rig g;
	size_t n;

	if (!rig_new(&g, 20, 5000, false)) {
		rig_free(&g);
		return;
	}
	t0 = clock_mono_ms();
	rtp_session_start(g.s, (struct sockaddr *)&g.to, sizeof(g.to), IVR_PCMU, 0, 101);
	/* the first report 1.25-3.75 s after the start */
	for (unsigned tick = 0; tick < 400 && nsr == 0; tick++) {
		rtp_pacer_run(g.p, 1, t0 + 10 * tick);
		while ((n = take(g.rx, buf, sizeof(buf))) > 0) {
			ssrc = get32(buf + 8);
			npkt++;
		}
		if ((n = take(g.rtcp_rx, buf, sizeof(buf))) > 0) {
			CHECK_INT(rtcp_parse(&info, buf, n), 0);
			CHECK(info.sr);
			CHECK_INT(info.ssrc, ssrc);
			CHECK_INT(get32(buf + 20), npkt);
			CHECK_INT(get32(buf + 24), npkt * 160);
			CHECK(tick >= 125);
			sdes_cname(cname, sizeof(cname), buf, n);
			CHECK(strncmp(cname, "ivrd-", 5) == 0);
			nsr++;
		}
	}
	CHECK_INT(nsr, 1);
	CHECK_INT(g.inactive, 0);
	/* no RTP, RTCP or touch for 5 s */
	rtp_pacer_run(g.p, 1, t0 + 4900);
	CHECK_INT(g.inactive, 0);
	rtp_pacer_run(g.p, 1, t0 + 5100);
	CHECK_INT(g.inactive, 1);
	rtp_pacer_run(g.p, 1, t0 + 9000);
	CHECK_INT(g.inactive, 1);
	/* on hold: two report intervals later the reports are RRs */
	rtp_session_set_direction(g.s, false, true);
	while (take(g.rtcp_rx, buf, sizeof(buf)) > 0)
		;
	for (int64_t t = 9000; t < 40000; t += 10)
		rtp_pacer_run(g.p, 1, t0 + t);
	while ((n = take(g.rtcp_rx, buf, sizeof(buf))) > 0)
		CHECK_INT(rtcp_parse(&info, buf, n), 0);
	/* RFC 3550 6.4: a participant that stopped sending reports with an RR */
	CHECK(!info.sr);
	rtp_session_stop(g.s);
	n = take(g.rtcp_rx, buf, sizeof(buf));
	CHECK_INT(rtcp_parse(&info, buf, n), 0);
	CHECK(info.bye);
	rig_free(&g);
}

/* touch() is a sign of life; on hold with hold_timeout 0 there is no timeout. */
static void
test_session_touch_and_hold(void)
{
	struct rig g;
	int64_t t0;

	if (!rig_new(&g, 20, 2000, false)) {
		rig_free(&g);
		return;
	}
	rtp_session_start(g.s, (struct sockaddr *)&g.to, sizeof(g.to), IVR_PCMU, 0, 101);
	t0 = clock_mono_ms();
	rtp_session_touch(g.s);
	rtp_pacer_run(g.p, 1, t0 + 1900);
	CHECK_INT(g.inactive, 0);
	rtp_session_set_direction(g.s, true, false);
	rtp_pacer_run(g.p, 1, t0 + 3600 * 1000);
	CHECK_INT(g.inactive, 0);
	rtp_session_set_direction(g.s, true, true);
	rtp_pacer_run(g.p, 1, clock_mono_ms() + 2000);
	CHECK_INT(g.inactive, 1);
	rig_free(&g);
}

/* Symmetric RTP follows the source of the caller's RTP, and not a second source while the
 * first is still sending. */
static void
test_session_symmetric(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	uint8_t pkt[RTP_HDR_LEN + 160] = {0}, buf[600];
	int a = udp_bind(0), b = udp_bind(0);
	struct rig g;

	if (!rig_new(&g, 20, 0, true) || a < 0 || b < 0) {
		rig_free(&g);
		close(a);
		close(b);
		return;
	}
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sa.sin_port = htons(rtp_session_port(g.s));
	rtp_session_start(g.s, (struct sockaddr *)&g.to, sizeof(g.to), IVR_PCMU, 0, 101);
	/* the test runs the ticks: the pacer's own timer would send more from the loop */
	timerfd_settime(event_get_fd(g.p->tick), 0, &(struct itimerspec){{0, 0}, {0, 0}}, NULL);
	rtp_pacer_run(g.p, 2, clock_mono_ms());
	CHECK(take(g.rx, buf, sizeof(buf)) > 0);
	/* a packet of another payload type moves nothing */
	rtp_write_header(pkt, 18, false, 1, 160, 99);
	sendto(a, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa, sizeof(sa));
	event_base_loop(g.base, EVLOOP_NONBLOCK);
	rtp_pacer_run(g.p, 2, clock_mono_ms());
	CHECK(take(g.rx, buf, sizeof(buf)) > 0);
	CHECK_INT(g.p->stats.latched, 0);
	/* PCMU from a: the stream goes to a */
	rtp_write_header(pkt, 0, false, 2, 320, 99);
	sendto(a, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa, sizeof(sa));
	event_base_loop(g.base, EVLOOP_NONBLOCK);
	rtp_pacer_run(g.p, 2, clock_mono_ms());
	CHECK(take(a, buf, sizeof(buf)) > 0);
	CHECK(take(g.rx, buf, sizeof(buf)) == 0);
	CHECK_INT(g.p->stats.latched, 1);
	/* b while a is fresh: no flap */
	rtp_write_header(pkt, 0, false, 3, 480, 99);
	sendto(b, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa, sizeof(sa));
	event_base_loop(g.base, EVLOOP_NONBLOCK);
	rtp_pacer_run(g.p, 2, clock_mono_ms());
	CHECK(take(a, buf, sizeof(buf)) > 0);
	CHECK(take(b, buf, sizeof(buf)) == 0);
	CHECK_INT(g.p->stats.latched, 1);
	/* garbage is counted, and moves nothing */
	sendto(b, "garbage", 7, 0, (struct sockaddr *)&sa, sizeof(sa));
	sa.sin_port = htons(rtp_session_port(g.s) + 1);
	sendto(b, "garbage", 7, 0, (struct sockaddr *)&sa, sizeof(sa));
	event_base_loop(g.base, EVLOOP_NONBLOCK);
	CHECK_INT(g.p->stats.malformed, 2);
	rig_free(&g);
	close(a);
	close(b);
}

CHECK_MAIN(T(test_build_sr), T(test_build_rr_bye), T(test_parse_malformed), T(test_rx_loss),
	T(test_rx_jitter), T(test_pacing_10), T(test_pacing_20), T(test_pacing_30),
	T(test_pacing_60), T(test_session_rtcp_and_timeout), T(test_session_touch_and_hold),
	T(test_session_symmetric))
