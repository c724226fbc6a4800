/* SDP offer/answer (RFC 3264) for one G.711 audio stream plus telephone-event (RFC 4733),
 * on top of libosip2's SDP parser. Every other offered stream is answered, and rejected. */
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libosip2 has its own struct sdp_media (sdp_media_t): rename its tag in this file so
 * that ours from ivr/sdp.h can be seen too. */
#define sdp_media osip_sdp_media
#include <osipparser2/sdp_message.h>
#undef sdp_media

#include "ivr/sdp.h"
#include "ivr/util.h"

/* Far above any real offer; bounds the copy made for the parser. */
#define SDP_MAX_LEN 65536
/* NULs after the copy: its terminator, and slack for libosip2, which looks past the
 * terminator in places (sdp_message_parse_m() does strchr(tmp + 1, ' ') after a token that
 * may end the text). */
#define SDP_PAD 4
#define PTIME_DEFAULT 20

/* Names of the static payload types a phone may offer without a=rtpmap (RFC 3551 table 4),
 * for the error that lists an offer's codecs. */
static const char *const static_pt_names[] = {
	[0] = "PCMU/8000", [3] = "GSM/8000", [4] = "G723/8000", [8] = "PCMA/8000",
	[9] = "G722/8000", [13] = "CN/8000", [18] = "G729/8000",
};

static const char *const dir_names[] = {
	[SDP_SENDRECV] = "sendrecv",
	[SDP_SENDONLY] = "sendonly",
	[SDP_RECVONLY] = "recvonly",
	[SDP_INACTIVE] = "inactive",
};

/* RFC 3264 6.1: sendonly is answered recvonly and the reverse */
static const enum sdp_dir answer_dir[] = {
	[SDP_SENDRECV] = SDP_SENDRECV,
	[SDP_SENDONLY] = SDP_RECVONLY,
	[SDP_RECVONLY] = SDP_SENDONLY,
	[SDP_INACTIVE] = SDP_INACTIVE,
};

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Offer text quoted in an error message: at most 40 bytes, control and non-ASCII bytes
 * replaced, so that a log line stays one readable line. */
static const char *
quote(char dst[48], const char *s)
{
	size_t i;

	if (s == NULL)
		return "(none)";
	for (i = 0; s[i] != '\0' && i < 40; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0')
		dst[i++] = '~';
	dst[i] = '\0';
	return dst;
}

/* A decimal number with nothing around it, at most max. */
static int
parse_uint(unsigned *v, const char *s, unsigned max)
{
	unsigned n = 0;

	if (s == NULL || *s == '\0')
		return EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		n = n * 10 + (unsigned)(*s - '0');
		if (n > max)
			return ERANGE;
	}
	*v = n;
	return 0;
}

/* The value of the first attribute called field in list l, or NULL. An attribute without
 * a value (a=sendrecv) gives "". */
static const char *
attr_get(const osip_list_t *l, const char *field)
{
	for (int i = 0; i < osip_list_size(l); i++) {
		const sdp_attribute_t *a = osip_list_get(l, i);

		if (a != NULL && a->a_att_field != NULL && strcasecmp(a->a_att_field, field) == 0)
			return a->a_att_value != NULL ? a->a_att_value : "";
	}
	return NULL;
}

/* The encoding of payload type pt from a=rtpmap:PT ENC/RATE[/CHANNELS] (RFC 4566 6). */
static const char *
rtpmap_get(const sdp_media_t *med, unsigned pt)
{
	for (int i = 0; i < osip_list_size(&med->a_attributes); i++) {
		const sdp_attribute_t *a = osip_list_get(&med->a_attributes, i);
		const char *v;
		unsigned n = 0;

		if (a == NULL || a->a_att_field == NULL || a->a_att_value == NULL ||
			strcasecmp(a->a_att_field, "rtpmap") != 0)
			continue;
		v = a->a_att_value;
		if (*v < '0' || *v > '9')
			continue;
		for (; *v >= '0' && *v <= '9' && n <= 127; v++)
			n = n * 10 + (unsigned)(*v - '0');
		if (n != pt || (*v != ' ' && *v != '\t'))
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		return v;
	}
	return NULL;
}

/* enc is name ("PCMU/8000"), case-insensitively, with an optional "/1" channel count. */
static bool
encoding_is(const char *enc, const char *name)
{
	size_t n = strlen(name);

	if (enc == NULL || strncasecmp(enc, name, n) != 0)
		return false;
	enc += n;
	if (strcmp(enc, "/1") == 0)
		enc += 2;
	while (*enc == ' ' || *enc == '\t')
		enc++;
	return *enc == '\0';
}

/* Media-level attribute, else the session-level one (RFC 4566 5.13). */
static const char *
attr_either(const sdp_message_t *sdp, const sdp_media_t *med, const char *field)
{
	const char *v = attr_get(&med->a_attributes, field);

	return v != NULL ? v : attr_get(&sdp->a_attributes, field);
}

static enum sdp_dir
direction(const osip_list_t *l, bool *found)
{
	/* RFC 3264 5.1; should an offer carry several, the first counts */
	for (int i = 0; i < osip_list_size(l); i++) {
		const sdp_attribute_t *a = osip_list_get(l, i);

		if (a == NULL || a->a_att_field == NULL)
			continue;
		for (size_t d = 0; d < ARRAY_LEN(dir_names); d++) {
			if (strcasecmp(a->a_att_field, dir_names[d]) == 0) {
				*found = true;
				return (enum sdp_dir)d;
			}
		}
	}
	*found = false;
	return SDP_SENDRECV;
}

/* RFC 4566 6: a=ptime is what the offerer wants to receive. We packetise in whole 10 ms
 * steps from 10 to 60 ms; anything else falls back to 20 ms. */
static unsigned
ptime_pick(const char *v)
{
	unsigned ms;

	if (parse_uint(&ms, v, UINT16_MAX) == 0 && ms > 0) {
		ms = ms < 10 ? 10 : ms > 60 ? 60 : ms;
		if (ms % 10 == 0)
			return ms;
	}
	return PTIME_DEFAULT;
}

/* First audio m= line that is not disabled (port 0, RFC 3264 5.1) and uses plain RTP. */
static int
audio_pick(sdp_media_t **medp, unsigned *port, const sdp_message_t *sdp, char *err,
	size_t errlen)
{
	const char *other_proto = NULL;
	char q[48];

	for (int i = 0; i < osip_list_size(&sdp->m_medias); i++) {
		sdp_media_t *med = osip_list_get(&sdp->m_medias, i);

		if (med == NULL || med->m_media == NULL || strcasecmp(med->m_media, "audio") != 0)
			continue;
		if (parse_uint(port, med->m_port, UINT16_MAX) != 0) {
			set_err(err, errlen, "audio port '%s' is not a number 0-65535",
				quote(q, med->m_port));
			return EPROTO;
		}
		if (*port == 0)
			continue;
		/* RFC 3264 6: the answer keeps the offer's transport; we have no SRTP */
		if (med->m_proto == NULL || strcasecmp(med->m_proto, "RTP/AVP") != 0) {
			other_proto = med->m_proto;
			continue;
		}
		*medp = med;
		return 0;
	}
	if (other_proto != NULL)
		set_err(err, errlen, "audio offered only over '%s', not RTP/AVP",
			quote(q, other_proto));
	else
		set_err(err, errlen, "no audio stream in the offer");
	return ENOTSUP;
}

/* The first PCMU or PCMA in the m= line's order, and telephone-event/8000. */
static int
codec_pick(struct sdp_media *m, const sdp_media_t *med, char *err, size_t errlen)
{
	char offered[160] = "";
	size_t off = 0;
	char q[48];

	m->codec_pt = -1;
	m->te_pt = -1;
	for (int i = 0; i < osip_list_size(&med->m_payloads); i++) {
		const char *s = osip_list_get(&med->m_payloads, i);
		const char *enc;
		unsigned pt;

		if (parse_uint(&pt, s, 127) != 0) {
			set_err(err, errlen, "payload type '%s' is not a number 0-127", quote(q, s));
			return EPROTO;
		}
		/* RFC 3551 6: static types need no rtpmap; an rtpmap names any type */
		enc = rtpmap_get(med, pt);
		if (enc == NULL && pt < ARRAY_LEN(static_pt_names))
			enc = static_pt_names[pt];
		if (m->codec_pt < 0 && encoding_is(enc, "PCMU/8000")) {
			m->codec = IVR_PCMU;
			m->codec_pt = (int)pt;
		} else if (m->codec_pt < 0 && encoding_is(enc, "PCMA/8000")) {
			m->codec = IVR_PCMA;
			m->codec_pt = (int)pt;
		} else if (m->te_pt < 0 && encoding_is(enc, "telephone-event/8000")) {
			m->te_pt = (int)pt;
		}
		str_appendf(offered, sizeof(offered), &off, "%s%u%s%s", i > 0 ? ", " : "", pt,
			enc != NULL ? " " : "", enc != NULL ? quote(q, enc) : "");
	}
	if (m->codec_pt < 0) {
		set_err(err, errlen, "no PCMU or PCMA in the audio offer (offered: %s)",
			off > 0 ? offered : "nothing");
		return ENOTSUP;
	}
	return 0;
}

/* RFC 4566 5.7: media-level c= overrides the session-level one. Only IP literals: we do not
 * resolve names in the call path. */
static int
connection_pick(struct sdp_media *m, bool *hold, const sdp_message_t *sdp,
	const sdp_media_t *med, unsigned port, char *err, size_t errlen)
{
	const sdp_connection_t *c = sdp->c_connection;
	char q[48];

	if (osip_list_size(&med->c_connections) > 0)
		c = osip_list_get(&med->c_connections, 0);
	if (c == NULL || c->c_addr == NULL) {
		set_err(err, errlen, "no connection address (c=) for the audio stream");
		return EPROTO;
	}
	if (c->c_nettype == NULL || strcasecmp(c->c_nettype, "IN") != 0) {
		set_err(err, errlen, "connection network type '%s' is not IN",
			quote(q, c->c_nettype));
		return EPROTO;
	}
	memset(&m->remote, 0, sizeof(m->remote));
	if (c->c_addrtype != NULL && strcasecmp(c->c_addrtype, "IP4") == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&m->remote;

		if (inet_pton(AF_INET, c->c_addr, &sin->sin_addr) != 1) {
			set_err(err, errlen, "connection address '%s' is not an IPv4 address",
				quote(q, c->c_addr));
			return EPROTO;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		m->remote_len = sizeof(*sin);
		*hold = sin->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (c->c_addrtype != NULL && strcasecmp(c->c_addrtype, "IP6") == 0) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->remote;

		if (inet_pton(AF_INET6, c->c_addr, &sin6->sin6_addr) != 1) {
			set_err(err, errlen, "connection address '%s' is not an IPv6 address",
				quote(q, c->c_addr));
			return EPROTO;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		m->remote_len = sizeof(*sin6);
		*hold = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	} else {
		set_err(err, errlen, "connection address type '%s' is not IP4 or IP6",
			quote(q, c->c_addrtype));
		return EPROTO;
	}
	return 0;
}

/* Copies an m= line field the answer repeats. Visible ASCII only, so that nothing from the
 * offer can end a line or split a field of ours; too long for our copy is ENOTSUP. */
static int
token_copy(char *dst, size_t size, const char *s, unsigned line, const char *what,
	char *err, size_t errlen)
{
	char q[48];
	size_t n;

	if (s == NULL || *s == '\0') {
		set_err(err, errlen, "m= line %u has no %s", line, what);
		return EPROTO;
	}
	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f) {
			set_err(err, errlen, "m= line %u: %s '%s' is not a token", line, what,
				quote(q, s));
			return EPROTO;
		}
	}
	if (n >= size) {
		set_err(err, errlen, "m= line %u: %s '%s' is longer than %zu characters", line,
			what, quote(q, s), size - 1);
		return ENOTSUP;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* RFC 3264 6: the answer has exactly as many m= lines as the offer, in the same order, so
 * note each one and which of them is the audio stream we answer. */
static int
streams_copy(struct sdp_media *m, const sdp_message_t *sdp, const sdp_media_t *chosen,
	char *err, size_t errlen)
{
	int n = osip_list_size(&sdp->m_medias);
	int rc;

	if (n > SDP_MAX_STREAMS) {
		set_err(err, errlen, "%d media streams offered, at most %d answered", n,
			SDP_MAX_STREAMS);
		return ENOTSUP;
	}
	for (int i = 0; i < n; i++) {
		const sdp_media_t *med = osip_list_get(&sdp->m_medias, i);
		struct sdp_stream *st = &m->streams[i];
		unsigned line = (unsigned)i + 1;

		if (med == NULL) {
			set_err(err, errlen, "m= line %u is empty", line);
			return EPROTO;
		}
		if ((rc = token_copy(st->media, sizeof(st->media), med->m_media, line,
			"media type", err, errlen)) != 0 ||
		    (rc = token_copy(st->proto, sizeof(st->proto), med->m_proto, line,
			"transport", err, errlen)) != 0 ||
		    (rc = token_copy(st->fmt, sizeof(st->fmt), osip_list_get(&med->m_payloads, 0),
			line, "format", err, errlen)) != 0)
			return rc;
		if (med == chosen)
			m->chosen = (unsigned)i;
	}
	m->nstreams = (unsigned)n;
	return 0;
}

int
sdp_negotiate(struct sdp_media *m, const char *body, size_t len, char *err, size_t errlen)
{
	sdp_message_t *sdp = NULL;
	sdp_media_t *med = NULL;
	struct sdp_media r = {0};
	char *copy = NULL;
	unsigned port;
	bool hold = false, found;
	int rc;

	if (len > SDP_MAX_LEN) {
		set_err(err, errlen, "SDP body of %zu bytes is larger than %d", len, SDP_MAX_LEN);
		rc = EPROTO;
		goto out;
	}
	if (len > 0 && memchr(body, '\0', len) != NULL) {
		set_err(err, errlen, "NUL byte in the SDP body");
		rc = EPROTO;
		goto out;
	}
	if ((copy = calloc(1, len + 2 + SDP_PAD)) == NULL) {
		set_err(err, errlen, "out of memory");
		rc = ENOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(copy, body, len);
	/* the parser wants every line terminated, the last one too */
	if (len == 0 || body[len - 1] != '\n')
		memcpy(copy + len, "\r\n", 2);
	if (sdp_message_init(&sdp) != 0) {
		set_err(err, errlen, "out of memory");
		rc = ENOMEM;
		goto out;
	}
	if (sdp_message_parse(sdp, copy) != 0) {
		set_err(err, errlen, "SDP does not parse (RFC 4566 syntax or line order)");
		rc = EPROTO;
		goto out;
	}
	if ((rc = audio_pick(&med, &port, sdp, err, errlen)) != 0)
		goto out;
	if ((rc = codec_pick(&r, med, err, errlen)) != 0)
		goto out;
	if ((rc = connection_pick(&r, &hold, sdp, med, port, err, errlen)) != 0)
		goto out;
	if ((rc = streams_copy(&r, sdp, med, err, errlen)) != 0)
		goto out;
	r.ptime = ptime_pick(attr_either(sdp, med, "ptime"));
	r.dir = direction(&med->a_attributes, &found);
	if (!found)
		r.dir = direction(&sdp->a_attributes, &found);
	/* RFC 3264 8.4: c=0.0.0.0 (or ::) is the old way to put a call on hold */
	if (hold)
		r.dir = SDP_INACTIVE;
	*m = r;
out:
	sdp_message_free(sdp);
	free(copy);
	return rc;
}

/* The m= line and attributes of the audio stream we answer. */
static void
write_audio(char *buf, size_t size, size_t *off, const struct sdp_media *m, const char *codec,
	uint16_t local_port)
{
	str_appendf(buf, size, off, "m=audio %u RTP/AVP %d", local_port, m->codec_pt);
	if (m->te_pt >= 0)
		str_appendf(buf, size, off, " %d", m->te_pt);
	str_appendf(buf, size, off, "\r\na=rtpmap:%d %s/8000\r\n", m->codec_pt, codec);
	/* RFC 4733 2.4: we understand the DTMF events 0-15 only */
	if (m->te_pt >= 0)
		str_appendf(buf, size, off, "a=rtpmap:%d telephone-event/8000\r\n"
			"a=fmtp:%d 0-15\r\n", m->te_pt, m->te_pt);
	str_appendf(buf, size, off, "a=ptime:%u\r\na=%s\r\n", m->ptime,
		dir_names[answer_dir[m->dir]]);
}

int
sdp_write_answer(char *buf, size_t size, const struct sdp_media *m, const char *local_ip,
	uint16_t local_port, uint64_t sess_id, uint64_t sess_version)
{
	struct in6_addr addr;
	const char *ipver, *codec;
	size_t off = 0;

	if (inet_pton(AF_INET, local_ip, &addr) == 1)
		ipver = "IP4";
	else if (inet_pton(AF_INET6, local_ip, &addr) == 1)
		ipver = "IP6";
	else
		return -1;
	switch (m->codec) {
	case IVR_PCMU:
		codec = "PCMU";
		break;
	case IVR_PCMA:
		codec = "PCMA";
		break;
	default:
		return -1;
	}
	if ((unsigned)m->dir >= ARRAY_LEN(answer_dir))
		return -1;
	if (m->codec_pt < 0 || m->codec_pt > 127 || m->te_pt < -1 || m->te_pt > 127)
		return -1;
	if (m->nstreams > SDP_MAX_STREAMS || (m->nstreams > 0 && m->chosen >= m->nstreams))
		return -1;

	str_appendf(buf, size, &off,
		"v=0\r\n"
		"o=ivrd %" PRIu64 " %" PRIu64 " IN %s %s\r\n"
		"s=ivrd\r\n"
		"c=IN %s %s\r\n"
		"t=0 0\r\n",
		sess_id, sess_version, ipver, local_ip, ipver, local_ip);
	if (m->nstreams == 0)
		write_audio(buf, size, &off, m, codec, local_port);
	for (unsigned i = 0; i < m->nstreams; i++) {
		const struct sdp_stream *st = &m->streams[i];

		if (i == m->chosen) {
			write_audio(buf, size, &off, m, codec, local_port);
			continue;
		}
		if (memchr(st->media, '\0', sizeof(st->media)) == NULL || st->media[0] == '\0' ||
		    memchr(st->proto, '\0', sizeof(st->proto)) == NULL || st->proto[0] == '\0' ||
		    memchr(st->fmt, '\0', sizeof(st->fmt)) == NULL || st->fmt[0] == '\0')
			return -1;
		/* RFC 3264 6: rejected with port 0; RFC 4566 5.14 still wants a format */
		str_appendf(buf, size, &off, "m=%s 0 %s %s\r\n", st->media, st->proto, st->fmt);
	}
	if (off >= size)
		return -1;
	return (int)off;
}

int
sdp_write_offer(char *buf, size_t size, const char *local_ip, uint16_t local_port,
	uint64_t sess_id, uint64_t sess_version, enum sdp_dir dir, unsigned ptime)
{
	struct in6_addr addr;
	const char *ipver;
	size_t off = 0;

	if (inet_pton(AF_INET, local_ip, &addr) == 1)
		ipver = "IP4";
	else if (inet_pton(AF_INET6, local_ip, &addr) == 1)
		ipver = "IP6";
	else
		return -1;
	if ((unsigned)dir >= ARRAY_LEN(dir_names))
		return -1;
	str_appendf(buf, size, &off,
		"v=0\r\n"
		"o=ivrd %" PRIu64 " %" PRIu64 " IN %s %s\r\n"
		"s=ivrd\r\n"
		"c=IN %s %s\r\n"
		"t=0 0\r\n"
		"m=audio %u RTP/AVP 0 8 %d\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:%d telephone-event/8000\r\n"
		"a=fmtp:%d 0-15\r\n",
		sess_id, sess_version, ipver, local_ip, ipver, local_ip, local_port,
		SDP_OFFER_TE_PT, SDP_OFFER_TE_PT, SDP_OFFER_TE_PT);
	if (ptime != 0)
		str_appendf(buf, size, &off, "a=ptime:%u\r\n", ptime);
	str_appendf(buf, size, &off, "a=%s\r\n", dir_names[dir]);
	if (off >= size)
		return -1;
	return (int)off;
}

int
sdp_answer_parse(struct sdp_media *m, const char *body, size_t len, char *err, size_t errlen)
{
	struct sdp_media r;
	int rc;

	if ((rc = sdp_negotiate(&r, body, len, err, errlen)) != 0)
		return rc;
	/* RFC 3264 6: the answer's first m= line answers our only one */
	if (r.nstreams > 0 && r.chosen != 0) {
		set_err(err, errlen, "the answer rejects our audio stream (port 0)");
		return ENOTSUP;
	}
	/* RFC 3264 6.1: the answerer uses the payload types of the offer */
	if ((r.codec == IVR_PCMU && r.codec_pt != 0) || (r.codec == IVR_PCMA && r.codec_pt != 8)) {
		set_err(err, errlen, "the answer puts %s on payload type %d, not the offer's",
			r.codec == IVR_PCMU ? "PCMU" : "PCMA", r.codec_pt);
		return ENOTSUP;
	}
	if (r.te_pt != SDP_OFFER_TE_PT)
		r.te_pt = -1;
	*m = r;
	return 0;
}
