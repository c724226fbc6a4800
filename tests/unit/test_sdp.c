/* SDP offer/answer: offers captured from or modelled on real phones and trunks
 * (tests/data/sdp/), answers parsed back with libosip2, and garbage that must not crash. */
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include <osipparser2/osip_parser.h>
/* libosip2's struct sdp_media clashes with ours; see src/sip/sdp.c */
#define sdp_media osip_sdp_media
#include <osipparser2/sdp_message.h>
#undef sdp_media

#include "ivr/sdp.h"
#include "ivr/util.h"

#include "check.h"

/* Reads a fixture into an exact-size buffer (no terminating NUL: sdp_negotiate must not
 * need one, and ASan sees any read past the end). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
		(buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static int
negotiate_str(struct sdp_media *m, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *copy = malloc(len);
	int rc;

	memcpy(copy, text, len);
	rc = sdp_negotiate(m, copy, len, err, errlen);
	free(copy);
	return rc;
}

static const char *
addr_str(char *buf, size_t size, const struct sdp_media *m)
{
	const void *a = m->remote.ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)&m->remote)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)&m->remote)->sin_addr;

	return inet_ntop(m->remote.ss_family, a, buf, (socklen_t)size);
}

static unsigned
port_of(const struct sdp_media *m)
{
	if (m->remote.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&m->remote)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&m->remote)->sin_port);
}

struct offer_case {
	const char *file;
	int rc;
	enum ivr_codec codec;
	int codec_pt, te_pt;
	const char *addr;
	unsigned port, ptime;
	enum sdp_dir dir;
	const char *err; /* a substring of the reason, for failures */
};

static const struct offer_case offers[] = {
	/* captured from baresip 1.0.0 dialling a UDP socket */
	{"sdp/baresip.sdp", 0, IVR_PCMU, 0, 101, "127.0.0.1", 21016, 20, SDP_SENDRECV, NULL},
	/* opus and speex first; telephone-event at 48000, 16000 and 8000 Hz; video after */
	{"sdp/linphone.sdp", 0, IVR_PCMU, 0, 100, "192.168.1.50", 7078, 20, SDP_SENDRECV, NULL},
	/* static types without rtpmap, G.722 before PCMU */
	{"sdp/zoiper.sdp", 0, IVR_PCMU, 0, 101, "10.20.30.40", 52306, 20, SDP_SENDRECV, NULL},
	{"sdp/asterisk_trunk.sdp", 0, IVR_PCMA, 8, 101, "203.0.113.10", 17364, 20, SDP_SENDRECV,
		NULL},
	/* media-level c= wins over the session-level one */
	{"sdp/cisco_cube.sdp", 0, IVR_PCMA, 8, 101, "198.51.100.8", 16634, 30, SDP_SENDRECV, NULL},
	{"sdp/ipv6.sdp", 0, IVR_PCMU, 0, 96, "2001:db8::10", 40000, 20, SDP_SENDRECV, NULL},
	/* video first, then a disabled audio stream, then ours with its own c= */
	{"sdp/video_first.sdp", 0, IVR_PCMA, 8, 110, "172.16.5.21", 2226, 20, SDP_SENDRECV, NULL},
	/* LF line ends, PCMU on a dynamic type named in lower case, ptime 60 */
	{"sdp/lf_only.sdp", 0, IVR_PCMU, 97, -1, "192.0.2.7", 6000, 60, SDP_SENDRECV, NULL},
	{"sdp/hold_sendonly.sdp", 0, IVR_PCMU, 0, 101, "10.20.30.40", 52306, 20, SDP_SENDONLY,
		NULL},
	{"sdp/hold_zero.sdp", 0, IVR_PCMU, 0, 101, "0.0.0.0", 18070, 20, SDP_INACTIVE, NULL},
	{"sdp/g729_only.sdp", ENOTSUP, 0, 0, 0, NULL, 0, 0, 0,
		"offered: 18 G729/8000, 101 telephone-event/8000"},
	{"sdp/srtp_only.sdp", ENOTSUP, 0, 0, 0, NULL, 0, 0, 0, "RTP/SAVP"},
	{"sdp/no_connection.sdp", EPROTO, 0, 0, 0, NULL, 0, 0, 0,
		"no connection address (c=) for the audio stream"},
	{"sdp/bad_port.sdp", EPROTO, 0, 0, 0, NULL, 0, 0, 0, "audio port '4x00'"},
	{"sdp/hostname_c.sdp", EPROTO, 0, 0, 0, NULL, 0, 0, 0,
		"'pbx.example.com' is not an IPv4 address"},
	{"sdp/no_time.sdp", EPROTO, 0, 0, 0, NULL, 0, 0, 0, "does not parse"},
};

static void
test_offers(void)
{
	parser_init();
	for (size_t i = 0; i < ARRAY_LEN(offers); i++) {
		const struct offer_case *c = &offers[i];
		struct sdp_media m;
		char err[256] = "", addr[INET6_ADDRSTRLEN];
		size_t len;
		char *body = slurp(c->file, &len);
		int rc;

		CHECK(body != NULL);
		if (body == NULL)
			continue;
		rc = sdp_negotiate(&m, body, len, err, sizeof(err));
		free(body);
		if (rc != c->rc)
			fprintf(stderr, "%s: rc %d, err \"%s\"\n", c->file, rc, err);
		CHECK_INT(rc, c->rc);
		if (rc != 0) {
			if (strstr(err, c->err) == NULL)
				fprintf(stderr, "%s: err \"%s\"\n", c->file, err);
			CHECK(strstr(err, c->err) != NULL);
			CHECK(strchr(err, '\n') == NULL);
			continue;
		}
		CHECK_INT(m.codec, c->codec);
		CHECK_INT(m.codec_pt, c->codec_pt);
		CHECK_INT(m.te_pt, c->te_pt);
		CHECK_STR(addr_str(addr, sizeof(addr), &m), c->addr);
		CHECK_INT(m.remote_len, m.remote.ss_family == AF_INET6 ?
			sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		CHECK_INT(port_of(&m), c->port);
		CHECK_INT(m.ptime, c->ptime);
		CHECK_INT(m.dir, c->dir);
	}
}

/* An offer built around one audio m= line, to vary a single thing. */
static int
negotiate_audio(struct sdp_media *m, const char *session_attrs, const char *mline,
	const char *media_attrs, char *err, size_t errlen)
{
	char text[1024];

	snprintf(text, sizeof(text),
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"%s%s\r\n%s", session_attrs, mline, media_attrs);
	return negotiate_str(m, text, err, errlen);
}

static void
test_ptime(void)
{
	static const struct {
		const char *attr;
		unsigned want;
	} cases[] = {
		{"", 20}, {"a=ptime:10\r\n", 10}, {"a=ptime:30\r\n", 30}, {"a=ptime:40\r\n", 40},
		{"a=ptime:60\r\n", 60}, {"a=ptime:5\r\n", 10}, {"a=ptime:90\r\n", 60},
		{"a=ptime:25\r\n", 20}, {"a=ptime:0\r\n", 20}, {"a=ptime:20.0\r\n", 20},
		{"a=ptime:-20\r\n", 20}, {"a=ptime\r\n", 20}, {"a=ptime:99999999999\r\n", 20},
	};
	struct sdp_media m;

	parser_init();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0", cases[i].attr, NULL,
			0), 0);
		CHECK_INT(m.ptime, cases[i].want);
	}
	/* session level when the media level says nothing */
	CHECK_INT(negotiate_audio(&m, "a=ptime:30\r\n", "m=audio 4000 RTP/AVP 0", "", NULL, 0), 0);
	CHECK_INT(m.ptime, 30);
	CHECK_INT(negotiate_audio(&m, "a=ptime:30\r\n", "m=audio 4000 RTP/AVP 0",
		"a=ptime:40\r\n", NULL, 0), 0);
	CHECK_INT(m.ptime, 40);
}

static void
test_direction(void)
{
	struct sdp_media m;

	parser_init();
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0", "a=recvonly\r\n", NULL, 0), 0);
	CHECK_INT(m.dir, SDP_RECVONLY);
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0", "a=inactive\r\n", NULL, 0), 0);
	CHECK_INT(m.dir, SDP_INACTIVE);
	CHECK_INT(negotiate_audio(&m, "a=sendonly\r\n", "m=audio 4000 RTP/AVP 0", "", NULL, 0), 0);
	CHECK_INT(m.dir, SDP_SENDONLY);
	/* media level beats session level */
	CHECK_INT(negotiate_audio(&m, "a=sendonly\r\n", "m=audio 4000 RTP/AVP 0",
		"a=sendrecv\r\n", NULL, 0), 0);
	CHECK_INT(m.dir, SDP_SENDRECV);
}

static void
test_codec_choice(void)
{
	struct sdp_media m;
	char err[256];

	parser_init();
	/* the offer's order decides, not ours */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 8 0", "", NULL, 0), 0);
	CHECK_INT(m.codec, IVR_PCMA);
	CHECK_INT(m.codec_pt, 8);
	/* an rtpmap that gives a static number another codec is followed */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0 8", "a=rtpmap:0 G729/8000\r\n",
		NULL, 0), 0);
	CHECK_INT(m.codec, IVR_PCMA);
	/* PCMU at another clock rate is not ours */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 97",
		"a=rtpmap:97 PCMU/16000\r\n", err, sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "97 PCMU/16000") != NULL);
	/* telephone-event only counts when listed on the m= line */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0",
		"a=rtpmap:101 telephone-event/8000\r\n", NULL, 0), 0);
	CHECK_INT(m.te_pt, -1);
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0 abc", "", err, sizeof(err)),
		EPROTO);
	CHECK(strstr(err, "'abc'") != NULL);
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0 128", "", NULL, 0), EPROTO);
	CHECK_INT(negotiate_audio(&m, "", "m=audio 70000 RTP/AVP 0", "", NULL, 0), EPROTO);
	/* every audio stream disabled, or none at all */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 0 RTP/AVP 0", "", err, sizeof(err)), ENOTSUP);
	CHECK_INT(negotiate_audio(&m, "", "m=video 4000 RTP/AVP 96", "", err, sizeof(err)),
		ENOTSUP);
	CHECK(strstr(err, "no audio") != NULL);
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
		"c=IN IP4 192.0.2.1\r\nt=0 0\r\n", err, sizeof(err)), ENOTSUP);
}

static void
test_malformed(void)
{
	static const char *const bodies[] = {
		"",
		"\r\n",
		"v=0\r\n",
		"hello world",
		/* c= with an IPv6 literal under IP4, and the reverse */
		"v=0\r\no=- 1 1 IN IP4 ::1\r\ns=-\r\nc=IN IP4 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 10.0.0.1\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=ATM NSAP 1.2.3.4\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IPX 1.2.3.4\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n",
		/* a line out of RFC 4566 order */
		"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\nc=IN IP4 1.2.3.5\r\n",
	};
	struct sdp_media m;
	char err[256];

	parser_init();
	for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
		err[0] = '\0';
		CHECK_INT(negotiate_str(&m, bodies[i], err, sizeof(err)), EPROTO);
		CHECK(err[0] != '\0');
	}
	/* a NUL inside the body */
	CHECK_INT(sdp_negotiate(&m, "v=0\r\n\0o=", 8, err, sizeof(err)), EPROTO);
	/* no terminating CRLF on the last line is accepted */
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
		"t=0 0\r\nm=audio 4000 RTP/AVP 0", err, sizeof(err)), 0);
	/* a small err buffer is truncated, not overrun */
	CHECK_INT(negotiate_str(&m, "hello", err, 8), EPROTO);
	CHECK_INT(strlen(err), 7);
	/* offer text in err is bounded and printable */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0 \x1b[31m"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", err,
		sizeof(err)), EPROTO);
	CHECK(strstr(err, "'?[31mAAA") != NULL);
	CHECK(strchr(err, '\x1b') == NULL);
	CHECK(strlen(err) < 100);
}

/* libosip2 5.3 reads past the text after an m= line with no payload types that ends the
 * body (strchr(tmp + 1, ...) in sdp_message_parse_m); ASan showed it. */
static void
test_osip_overread_mline_without_payloads(void)
{
	struct sdp_media m;
	char err[128];

	parser_init();
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
		"t=0 0\r\nm=audio 4000 RTP/AVP\n", err, sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "offered: nothing") != NULL);
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n"
		"t=0 0\r\nm=audio 4000 RTP/AVP\r", err, sizeof(err)), ENOTSUP);
}

/* Deterministic mutations of every fixture: each result is one of the three documented
 * ones, with a reason for the failures. Under ASan this also proves no read goes astray. */
static void
test_garbage(void)
{
	static const char *const files[] = {
		"sdp/baresip.sdp", "sdp/linphone.sdp", "sdp/video_first.sdp", "sdp/cisco_cube.sdp",
	};
	static const char bytes[] = " \r\n=:/0a.-\x80\t";
	uint32_t seed = 1;

	parser_init();
	for (size_t f = 0; f < ARRAY_LEN(files); f++) {
		size_t len;
		char *orig = slurp(files[f], &len);

		CHECK(orig != NULL);
		if (orig == NULL)
			continue;
		for (int round = 0; round < 3000; round++) {
			struct sdp_media m;
			char err[128] = "";
			size_t n = round < (int)len ? (size_t)round : len;
			char *buf = malloc(len);
			int rc;

			/* every prefix, then random edits of the whole text */
			memcpy(buf, orig, len);
			if (round >= (int)len) {
				n = len;
				for (int k = 0; k < 1 + round % 4; k++) {
					seed = seed * 1103515245 + 12345;
					buf[(seed >> 8) % len] = bytes[(seed >> 20) % (sizeof(bytes) - 1)];
				}
			}
			rc = sdp_negotiate(&m, buf, n, err, sizeof(err));
			CHECK(rc == 0 || rc == EPROTO || rc == ENOTSUP);
			CHECK(rc == 0 || err[0] != '\0');
			free(buf);
		}
		free(orig);
	}
}

/* Parses the answer with libosip2 and checks each line against m. */
static void
check_answer(const char *text, const struct sdp_media *m, const char *ip, const char *ipver,
	unsigned port, const char *dir)
{
	sdp_message_t *sdp = NULL;
	char want[64];
	int a = 0;

	CHECK(sdp_message_init(&sdp) == 0);
	if (sdp_message_parse(sdp, text) != 0) {
		CHECK(!"answer parses");
		sdp_message_free(sdp);
		return;
	}
	CHECK_STR(sdp_message_v_version_get(sdp), "0");
	CHECK_STR(sdp_message_o_username_get(sdp), "ivrd");
	CHECK_STR(sdp_message_o_sess_id_get(sdp), "18446744073709551615");
	CHECK_STR(sdp_message_o_sess_version_get(sdp), "2");
	CHECK_STR(sdp_message_o_nettype_get(sdp), "IN");
	CHECK_STR(sdp_message_o_addrtype_get(sdp), ipver);
	CHECK_STR(sdp_message_o_addr_get(sdp), ip);
	CHECK_STR(sdp_message_s_name_get(sdp), "ivrd");
	CHECK_STR(sdp_message_c_nettype_get(sdp, -1, 0), "IN");
	CHECK_STR(sdp_message_c_addrtype_get(sdp, -1, 0), ipver);
	CHECK_STR(sdp_message_c_addr_get(sdp, -1, 0), ip);
	CHECK_STR(sdp_message_t_start_time_get(sdp, 0), "0");
	CHECK_STR(sdp_message_t_stop_time_get(sdp, 0), "0");
	CHECK_INT(osip_list_size(&sdp->m_medias), 1);
	CHECK_STR(sdp_message_m_media_get(sdp, 0), "audio");
	snprintf(want, sizeof(want), "%u", port);
	CHECK_STR(sdp_message_m_port_get(sdp, 0), want);
	CHECK_STR(sdp_message_m_proto_get(sdp, 0), "RTP/AVP");
	snprintf(want, sizeof(want), "%d", m->codec_pt);
	CHECK_STR(sdp_message_m_payload_get(sdp, 0, 0), want);
	snprintf(want, sizeof(want), "%d %s/8000", m->codec_pt,
		m->codec == IVR_PCMU ? "PCMU" : "PCMA");
	CHECK_STR(sdp_message_a_att_field_get(sdp, 0, a), "rtpmap");
	CHECK_STR(sdp_message_a_att_value_get(sdp, 0, a++), want);
	if (m->te_pt >= 0) {
		snprintf(want, sizeof(want), "%d", m->te_pt);
		CHECK_STR(sdp_message_m_payload_get(sdp, 0, 1), want);
		snprintf(want, sizeof(want), "%d telephone-event/8000", m->te_pt);
		CHECK_STR(sdp_message_a_att_field_get(sdp, 0, a), "rtpmap");
		CHECK_STR(sdp_message_a_att_value_get(sdp, 0, a++), want);
		snprintf(want, sizeof(want), "%d 0-15", m->te_pt);
		CHECK_STR(sdp_message_a_att_field_get(sdp, 0, a), "fmtp");
		CHECK_STR(sdp_message_a_att_value_get(sdp, 0, a++), want);
	} else {
		CHECK(sdp_message_m_payload_get(sdp, 0, 1) == NULL);
	}
	snprintf(want, sizeof(want), "%u", m->ptime);
	CHECK_STR(sdp_message_a_att_field_get(sdp, 0, a), "ptime");
	CHECK_STR(sdp_message_a_att_value_get(sdp, 0, a++), want);
	CHECK_STR(sdp_message_a_att_field_get(sdp, 0, a++), dir);
	CHECK(sdp_message_a_att_field_get(sdp, 0, a) == NULL);
	sdp_message_free(sdp);
}

static void
test_answer(void)
{
	static const struct {
		const char *file, *dir;
	} cases[] = {
		{"sdp/baresip.sdp", "sendrecv"},
		{"sdp/linphone.sdp", "sendrecv"},
		{"sdp/cisco_cube.sdp", "sendrecv"},
		{"sdp/lf_only.sdp", "sendrecv"},
		{"sdp/hold_sendonly.sdp", "recvonly"},
		{"sdp/hold_zero.sdp", "inactive"},
	};
	struct sdp_media m;
	char buf[1024];
	int n;

	parser_init();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len;
		char *body = slurp(cases[i].file, &len);

		CHECK(body != NULL);
		if (body == NULL)
			continue;
		CHECK_INT(sdp_negotiate(&m, body, len, NULL, 0), 0);
		free(body);
		n = sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, UINT64_MAX, 2);
		CHECK(n > 0 && (size_t)n == strlen(buf));
		check_answer(buf, &m, "192.0.2.200", "IP4", 30000, cases[i].dir);
	}

	/* the remaining direction, over IPv6 */
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 0", "a=recvonly\r\n", NULL, 0), 0);
	n = sdp_write_answer(buf, sizeof(buf), &m, "2001:db8::1", 30002, UINT64_MAX, 2);
	CHECK(n > 0);
	check_answer(buf, &m, "2001:db8::1", "IP6", 30002, "sendonly");

	/* every line ends in CRLF */
	for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
		CHECK(p > buf && p[-1] == '\r');
	CHECK(n > 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n');
}

static void
test_answer_limits(void)
{
	struct sdp_media m;
	char full[1024], small[1024];
	int n;

	parser_init();
	CHECK_INT(negotiate_audio(&m, "", "m=audio 4000 RTP/AVP 8 101",
		"a=rtpmap:101 telephone-event/8000\r\n", NULL, 0), 0);
	n = sdp_write_answer(full, sizeof(full), &m, "192.0.2.200", 30000, 1, 1);
	CHECK(n > 0);
	/* too small by any amount is refused; one byte for the NUL is enough */
	for (int size = 0; size <= n; size++)
		CHECK_INT(sdp_write_answer(small, (size_t)size, &m, "192.0.2.200", 30000, 1, 1), -1);
	CHECK_INT(sdp_write_answer(small, (size_t)n + 1, &m, "192.0.2.200", 30000, 1, 1), n);
	CHECK_STR(small, full);

	CHECK_INT(sdp_write_answer(small, sizeof(small), &m, "ivr.example.com", 30000, 1, 1), -1);
	m.codec = 3;
	CHECK_INT(sdp_write_answer(small, sizeof(small), &m, "192.0.2.200", 30000, 1, 1), -1);
}

CHECK_MAIN(T(test_offers), T(test_ptime), T(test_direction), T(test_codec_choice),
	T(test_malformed), T(test_osip_overread_mline_without_payloads), T(test_garbage),
	T(test_answer), T(test_answer_limits))
