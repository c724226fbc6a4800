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

/* Whatever offer was accepted, the answer fits, parses and mirrors its m= lines. */
static void
check_answer_parses(const struct sdp_media *m)
{
	char buf[SDP_ANSWER_MAX];
	sdp_message_t *sdp = NULL;
	int n = sdp_write_answer(buf, sizeof(buf), m, "192.0.2.200", 30000, 1, 1);

	CHECK(n > 0);
	if (n <= 0)
		return;
	CHECK(sdp_message_init(&sdp) == 0);
	CHECK(sdp_message_parse(sdp, buf) == 0);
	CHECK_INT(osip_list_size(&sdp->m_medias), m->nstreams);
	sdp_message_free(sdp);
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
			if (rc == 0)
				check_answer_parses(&m);
		}
		free(orig);
	}
}

/* Parses the answer with libosip2 and checks each line against m: one m= line per offered
 * stream, the chosen one answered, every other one rejected with port 0 (RFC 3264 6). */
static void
check_answer(const char *text, const struct sdp_media *m, const char *ip, const char *ipver,
	unsigned port, const char *dir)
{
	sdp_message_t *sdp = NULL;
	char want[64];
	int a = 0, k;
	unsigned nstreams = m->nstreams > 0 ? m->nstreams : 1;

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
	CHECK_INT(osip_list_size(&sdp->m_medias), nstreams);
	for (unsigned i = 0; i < nstreams && m->nstreams > 0; i++) {
		const struct sdp_stream *st = &m->streams[i];

		if (i == m->chosen)
			continue;
		CHECK_STR(sdp_message_m_media_get(sdp, (int)i), st->media);
		CHECK_STR(sdp_message_m_port_get(sdp, (int)i), "0");
		CHECK_STR(sdp_message_m_proto_get(sdp, (int)i), st->proto);
		CHECK_STR(sdp_message_m_payload_get(sdp, (int)i, 0), st->fmt);
		CHECK(sdp_message_m_payload_get(sdp, (int)i, 1) == NULL);
		CHECK(sdp_message_a_att_field_get(sdp, (int)i, 0) == NULL);
		CHECK_INT(osip_list_size(&((sdp_media_t *)osip_list_get(&sdp->m_medias,
			(int)i))->c_connections), 0);
	}
	k = m->nstreams > 0 ? (int)m->chosen : 0;
	CHECK_STR(sdp_message_m_media_get(sdp, k), "audio");
	snprintf(want, sizeof(want), "%u", port);
	CHECK_STR(sdp_message_m_port_get(sdp, k), want);
	CHECK_STR(sdp_message_m_proto_get(sdp, k), "RTP/AVP");
	snprintf(want, sizeof(want), "%d", m->codec_pt);
	CHECK_STR(sdp_message_m_payload_get(sdp, k, 0), want);
	snprintf(want, sizeof(want), "%d %s/8000", m->codec_pt,
		m->codec == IVR_PCMU ? "PCMU" : "PCMA");
	CHECK_STR(sdp_message_a_att_field_get(sdp, k, a), "rtpmap");
	CHECK_STR(sdp_message_a_att_value_get(sdp, k, a++), want);
	if (m->te_pt >= 0) {
		snprintf(want, sizeof(want), "%d", m->te_pt);
		CHECK_STR(sdp_message_m_payload_get(sdp, k, 1), want);
		snprintf(want, sizeof(want), "%d telephone-event/8000", m->te_pt);
		CHECK_STR(sdp_message_a_att_field_get(sdp, k, a), "rtpmap");
		CHECK_STR(sdp_message_a_att_value_get(sdp, k, a++), want);
		snprintf(want, sizeof(want), "%d 0-15", m->te_pt);
		CHECK_STR(sdp_message_a_att_field_get(sdp, k, a), "fmtp");
		CHECK_STR(sdp_message_a_att_value_get(sdp, k, a++), want);
	} else {
		CHECK(sdp_message_m_payload_get(sdp, k, 1) == NULL);
	}
	snprintf(want, sizeof(want), "%u", m->ptime);
	CHECK_STR(sdp_message_a_att_field_get(sdp, k, a), "ptime");
	CHECK_STR(sdp_message_a_att_value_get(sdp, k, a++), want);
	CHECK_STR(sdp_message_a_att_field_get(sdp, k, a++), dir);
	CHECK(sdp_message_a_att_field_get(sdp, k, a) == NULL);
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
		{"sdp/video_first.sdp", "sendrecv"},
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

/* Compares text with want, one CRLF-terminated line at a time, naming the first difference. */
static void
check_lines(const char *name, const char *text, const char *const *want, size_t nwant)
{
	const char *p = text;
	size_t i;

	for (i = 0; i < nwant && *p != '\0'; i++) {
		const char *eol = strstr(p, "\r\n");
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (eol == NULL || n != strlen(want[i]) || strncmp(p, want[i], n) != 0) {
			fprintf(stderr, "%s: answer line %zu is \"%.*s\"%s, want \"%s\"\n", name,
				i + 1, (int)n, p, eol == NULL ? " without CRLF" : "", want[i]);
			check_failed = 1;
			return;
		}
		p = eol + 2;
	}
	if (i < nwant || *p != '\0') {
		fprintf(stderr, "%s: answer has %s lines than the %zu wanted (rest: \"%s\")\n",
			name, i < nwant ? "fewer" : "more", nwant, p);
		check_failed = 1;
	}
}

#define ANSWER_HEAD "v=0", "o=ivrd 1 1 IN IP4 192.0.2.200", "s=ivrd", \
	"c=IN IP4 192.0.2.200", "t=0 0"

/* RFC 3264 6: one m= line per offered m= line, in order; the ones we do not use are
 * rejected with port 0 and keep their media type, transport and first format. */
static void
test_answer_streams(void)
{
	static const char *const linphone[] = {
		ANSWER_HEAD,
		"m=audio 30000 RTP/AVP 0 100", "a=rtpmap:0 PCMU/8000",
		"a=rtpmap:100 telephone-event/8000", "a=fmtp:100 0-15", "a=ptime:20", "a=sendrecv",
		"m=video 0 RTP/AVP 96",
	};
	static const char *const video_first[] = {
		ANSWER_HEAD,
		"m=video 0 RTP/AVP 109",
		"m=audio 0 RTP/AVP 0",
		"m=audio 30000 RTP/AVP 8 110", "a=rtpmap:8 PCMA/8000",
		"a=rtpmap:110 telephone-event/8000", "a=fmtp:110 0-15", "a=ptime:20", "a=sendrecv",
	};
	static const char *const baresip[] = {
		ANSWER_HEAD,
		"m=audio 30000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv",
	};
	/* SRTP audio first (we have none), then plain RTP; a WebRTC data channel last */
	static const char mixed_offer[] =
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"m=audio 5000 RTP/SAVP 8 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n"
		"m=audio 5002 RTP/AVP 8\r\na=sendonly\r\n"
		"m=text 5004 RTP/AVP 98\r\na=rtpmap:98 t140/1000\r\n"
		"m=application 5006 UDP/DTLS/SCTP webrtc-datachannel\r\n";
	static const char *const mixed[] = {
		ANSWER_HEAD,
		"m=audio 0 RTP/SAVP 8",
		"m=audio 30000 RTP/AVP 8", "a=rtpmap:8 PCMA/8000", "a=ptime:20", "a=recvonly",
		"m=text 0 RTP/AVP 98",
		"m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
	};
	static const struct {
		const char *file;
		const char *const *want;
		size_t nwant;
		unsigned nstreams, chosen;
	} cases[] = {
		{"sdp/linphone.sdp", linphone, ARRAY_LEN(linphone), 2, 0},
		{"sdp/video_first.sdp", video_first, ARRAY_LEN(video_first), 3, 2},
		{"sdp/baresip.sdp", baresip, ARRAY_LEN(baresip), 1, 0},
		{NULL, mixed, ARRAY_LEN(mixed), 4, 1},
	};
	struct sdp_media m;
	char buf[SDP_ANSWER_MAX];

	parser_init();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len;
		char *body;
		int rc;

		if (cases[i].file != NULL) {
			body = slurp(cases[i].file, &len);
			CHECK(body != NULL);
			if (body == NULL)
				continue;
			rc = sdp_negotiate(&m, body, len, NULL, 0);
			free(body);
		} else {
			rc = negotiate_str(&m, mixed_offer, NULL, 0);
		}
		CHECK_INT(rc, 0);
		if (rc != 0)
			continue;
		CHECK_INT(m.nstreams, cases[i].nstreams);
		CHECK_INT(m.chosen, cases[i].chosen);
		CHECK(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1) > 0);
		check_lines(cases[i].file != NULL ? cases[i].file : "mixed offer", buf,
			cases[i].want, cases[i].nwant);
	}
	/* the offer's first format of each stream is noted, whatever the order of rtpmaps */
	CHECK_INT(negotiate_str(&m, mixed_offer, NULL, 0), 0);
	CHECK_STR(m.streams[0].media, "audio");
	CHECK_STR(m.streams[0].proto, "RTP/SAVP");
	CHECK_STR(m.streams[0].fmt, "8");
	CHECK_STR(m.streams[3].media, "application");
	CHECK_STR(m.streams[3].fmt, "webrtc-datachannel");
}

/* An offer with n m= lines: n - 1 video lines with the given fields, then our audio. */
static int
negotiate_streams(struct sdp_media *m, unsigned n, const char *media, const char *proto,
	const char *fmt, char *err, size_t errlen)
{
	char text[4096];
	size_t off = 0;

	str_appendf(text, sizeof(text), &off,
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n");
	for (unsigned i = 0; i + 1 < n; i++)
		str_appendf(text, sizeof(text), &off, "m=%s %u %s %s\r\n", media, 4002 + 2 * i,
			proto, fmt);
	str_appendf(text, sizeof(text), &off, "m=audio 4000 RTP/AVP 127 126\r\n"
		"a=rtpmap:127 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\na=ptime:60\r\n"
		"a=inactive\r\n");
	CHECK(off < sizeof(text));
	return negotiate_str(m, text, err, errlen);
}

static void
test_answer_streams_limits(void)
{
	/* longest fields we copy: 15, 31 and 31 characters */
	static const char media15[] = "applicationxxxx";
	static const char proto31[] = "UDP/TLS/RTP/SAVPF/XXXXXXXXXXXXX";
	static const char fmt31[] = "webrtc-datachannel-xxxxxxxxxxxx";
	/* the longest IP literal there is */
	static const char ip6[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	struct sdp_media m;
	char err[256], buf[SDP_ANSWER_MAX], small[SDP_ANSWER_MAX];
	int n;

	parser_init();
	/* the largest answer we can be asked for fits in SDP_ANSWER_MAX */
	CHECK_INT(negotiate_streams(&m, SDP_MAX_STREAMS, media15, proto31, fmt31, err,
		sizeof(err)), 0);
	CHECK_INT(m.nstreams, SDP_MAX_STREAMS);
	CHECK_INT(m.chosen, SDP_MAX_STREAMS - 1);
	n = sdp_write_answer(buf, sizeof(buf), &m, ip6, 65535, UINT64_MAX, UINT64_MAX);
	CHECK(n > 0 && n < SDP_ANSWER_MAX);
	/* and a buffer one byte short of it is refused, not overrun */
	CHECK_INT(sdp_write_answer(small, (size_t)n, &m, ip6, 65535, UINT64_MAX, UINT64_MAX), -1);
	CHECK(sdp_write_answer(buf, sizeof(buf), &m, ip6, 65535, UINT64_MAX, 2) > 0);
	check_answer(buf, &m, ip6, "IP6", 65535, "inactive");

	/* one stream more than we can mirror */
	CHECK_INT(negotiate_streams(&m, SDP_MAX_STREAMS + 1, "video", "RTP/AVP", "96", err,
		sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "9 media streams offered, at most 8") != NULL);
	/* fields one character too long to copy */
	CHECK_INT(negotiate_streams(&m, 2, "applicationxxxxx", "RTP/AVP", "96", err,
		sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "m= line 1: media type 'applicationxxxxx' is longer than 15") != NULL);
	CHECK_INT(negotiate_streams(&m, 3, "video", "UDP/TLS/RTP/SAVPF/XXXXXXXXXXXXXX", "96",
		err, sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "transport") != NULL);
	CHECK_INT(negotiate_streams(&m, 2, "video", "RTP/AVP",
		"webrtc-datachannel-xxxxxxxxxxxxx", err, sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "format") != NULL);
	/* control and non-ASCII bytes would end up in our answer */
	CHECK_INT(negotiate_streams(&m, 2, "vid\x1b[0meo", "RTP/AVP", "96", err, sizeof(err)),
		EPROTO);
	CHECK(strstr(err, "media type 'vid?[0meo' is not a token") != NULL);
	CHECK_INT(negotiate_streams(&m, 2, "video", "RTP/AVP", "9\x80", err, sizeof(err)),
		EPROTO);
	/* a stream we reject still needs a format to repeat */
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n"
		"c=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 0 RTP/AVP\r\nm=audio 4000 RTP/AVP 0\r\n",
		err, sizeof(err)), EPROTO);
	CHECK(strstr(err, "m= line 1 has no format") != NULL);

	/* a stream list that does not hold together is refused */
	CHECK_INT(negotiate_str(&m, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n"
		"c=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
		"m=audio 4000 RTP/AVP 0\r\n", NULL, 0), 0);
	CHECK(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1) > 0);
	m.chosen = 2;
	CHECK_INT(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1), -1);
	m.chosen = 1;
	m.nstreams = SDP_MAX_STREAMS + 1;
	CHECK_INT(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1), -1);
	m.nstreams = 2;
	m.streams[0].fmt[0] = '\0';
	CHECK_INT(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1), -1);
	memset(m.streams[0].fmt, 'x', sizeof(m.streams[0].fmt));
	CHECK_INT(sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, 1, 1), -1);
	/* no stream list (a caller filling sdp_media itself): the audio line alone */
	m.nstreams = 0;
	n = sdp_write_answer(buf, sizeof(buf), &m, "192.0.2.200", 30000, UINT64_MAX, 2);
	CHECK(n > 0);
	check_answer(buf, &m, "192.0.2.200", "IP4", 30000, "sendrecv");
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

static void
test_write_offer(void)
{
	static const enum sdp_dir dirs[] = {SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE};
	struct sdp_media m;
	char buf[SDP_ANSWER_MAX], again[SDP_ANSWER_MAX], small[SDP_ANSWER_MAX];
	char a[64];
	int n;

	parser_init();
	/* what a phone receiving our offer sees: PCMU first, PCMA, DTMF on 101 */
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		n = sdp_write_offer(buf, sizeof(buf), "192.0.2.200", 30000, 7, 1, dirs[i], 20);
		CHECK(n > 0);
		CHECK_INT(negotiate_str(&m, buf, NULL, 0), 0);
		CHECK_INT(m.codec, IVR_PCMU);
		CHECK_INT(m.codec_pt, 0);
		CHECK_INT(m.te_pt, 101);
		CHECK_INT(m.ptime, 20);
		CHECK_INT(m.dir, dirs[i]);
		CHECK_INT(m.nstreams, 1);
		CHECK_STR(addr_str(a, sizeof(a), &m), "192.0.2.200");
		CHECK_INT(port_of(&m), 30000);
	}
	CHECK(strstr(buf, "a=rtpmap:8 PCMA/8000\r\n") != NULL);
	CHECK(strstr(buf, "a=fmtp:101 0-15\r\n") != NULL);
	CHECK(strstr(buf, "o=ivrd 7 1 IN IP4 192.0.2.200\r\n") != NULL);
	/* no ptime: none written, the peer assumes 20 */
	n = sdp_write_offer(buf, sizeof(buf), "2001:db8::1", 4000, 7, 1, SDP_SENDRECV, 0);
	CHECK(n > 0);
	CHECK(strstr(buf, "ptime") == NULL);
	CHECK(strstr(buf, "c=IN IP6 2001:db8::1\r\n") != NULL);
	/* RFC 3264 8: a new version changes the o= line alone */
	n = sdp_write_offer(buf, sizeof(buf), "192.0.2.200", 30000, 7, 1, SDP_SENDRECV, 20);
	CHECK_INT(sdp_write_offer(again, sizeof(again), "192.0.2.200", 30000, 7, 2, SDP_SENDRECV,
		20), n);
	CHECK(strstr(again, "o=ivrd 7 2 IN IP4") != NULL);
	CHECK_STR(strstr(again, "s=ivrd"), strstr(buf, "s=ivrd"));
	/* too small by any amount is refused */
	for (int size = 0; size <= n; size++)
		CHECK_INT(sdp_write_offer(small, (size_t)size, "192.0.2.200", 30000, 7, 1,
			SDP_SENDRECV, 20), -1);
	CHECK_INT(sdp_write_offer(small, (size_t)n + 1, "192.0.2.200", 30000, 7, 1,
		SDP_SENDRECV, 20), n);
	CHECK_INT(sdp_write_offer(small, sizeof(small), "ivr.example.com", 30000, 7, 1,
		SDP_SENDRECV, 20), -1);
	CHECK_INT(sdp_write_offer(small, sizeof(small), "192.0.2.200", 30000, 7, 1, 9, 20), -1);
}

static int
answer_str(struct sdp_media *m, const char *mline, const char *attrs, char *err,
	size_t errlen)
{
	char text[1024];
	size_t len;
	char *copy;
	int rc;

	snprintf(text, sizeof(text),
		"v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
		"%s\r\n%s", mline, attrs);
	len = strlen(text);
	copy = malloc(len);
	memcpy(copy, text, len);
	rc = sdp_answer_parse(m, copy, len, err, errlen);
	free(copy);
	return rc;
}

static void
test_answer_parse(void)
{
	struct sdp_media m;
	char err[256];

	parser_init();
	CHECK_INT(answer_str(&m, "m=audio 5000 RTP/AVP 8 101",
		"a=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n", err, sizeof(err)), 0);
	CHECK_INT(m.codec, IVR_PCMA);
	CHECK_INT(m.codec_pt, 8);
	CHECK_INT(m.te_pt, 101);
	CHECK_INT(m.dir, SDP_RECVONLY);
	CHECK_INT(port_of(&m), 5000);
	CHECK_INT(answer_str(&m, "m=audio 5000 RTP/AVP 0", "", NULL, 0), 0);
	CHECK_INT(m.codec, IVR_PCMU);
	CHECK_INT(m.te_pt, -1);
	CHECK_INT(m.dir, SDP_SENDRECV);
	/* DTMF on a type we did not offer is not ours to decode */
	CHECK_INT(answer_str(&m, "m=audio 5000 RTP/AVP 0 100",
		"a=rtpmap:100 telephone-event/8000\r\n", NULL, 0), 0);
	CHECK_INT(m.te_pt, -1);
	/* c=0.0.0.0: the answerer sends and receives nothing yet */
	CHECK_INT(sdp_answer_parse(&m, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"
		"c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", 83, NULL, 0), 0);
	CHECK_INT(m.dir, SDP_INACTIVE);
	/* our stream rejected, a codec on another number, no codec of ours, garbage */
	CHECK_INT(answer_str(&m, "m=audio 0 RTP/AVP 0", "", err, sizeof(err)), ENOTSUP);
	CHECK_INT(answer_str(&m, "m=audio 5000 RTP/AVP 96", "a=rtpmap:96 PCMU/8000\r\n", err,
		sizeof(err)), ENOTSUP);
	CHECK(strstr(err, "payload type 96") != NULL);
	CHECK_INT(answer_str(&m, "m=audio 5000 RTP/AVP 18", "", err, sizeof(err)), ENOTSUP);
	CHECK_INT(sdp_answer_parse(&m, "v=0\r\n", 5, err, sizeof(err)), EPROTO);
	CHECK_INT(sdp_answer_parse(&m, "", 0, err, sizeof(err)), EPROTO);
}

CHECK_MAIN(T(test_write_offer), T(test_answer_parse), T(test_offers), T(test_ptime), T(test_direction), T(test_codec_choice),
	T(test_malformed), T(test_osip_overread_mline_without_payloads), T(test_garbage),
	T(test_answer), T(test_answer_streams), T(test_answer_streams_limits),
	T(test_answer_limits))
