/* libosip2 glue: field access and response building. */
#include <sys/time.h>
#include <time.h>

#include <errno.h>
#include <inttypes.h>
#include <osip2/osip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "ivr/sip.h"
#include "ivr/util.h"
#include "sip_int.h"

#define M(m) ((osip_message_t *)(m)->osip)
/* Far above what echoing a 64 KB request can take. */
#define RESPONSE_MAX (4 << 20)

const char *
sip_msg_method(const struct sip_msg *m)
{
	return M(m)->sip_method != NULL ? M(m)->sip_method : "";
}

const char *
sip_msg_call_id(const struct sip_msg *m)
{
	return m->call_id;
}

static const char *
tag_of(osip_from_t *h)
{
	osip_generic_param_t *p = NULL;

	if (h == NULL || osip_from_get_tag(h, &p) != 0 || p == NULL || p->gvalue == NULL)
		return NULL;
	return p->gvalue;
}

const char *
sip_msg_from_tag(const struct sip_msg *m)
{
	return tag_of(M(m)->from);
}

const char *
sip_msg_to_tag(const struct sip_msg *m)
{
	return tag_of(M(m)->to);
}

unsigned
sip_msg_cseq(const struct sip_msg *m)
{
	osip_cseq_t *c = M(m)->cseq;

	if (c == NULL || c->number == NULL)
		return 0;
	return (unsigned)strtoul(c->number, NULL, 10);
}

int
sip_msg_status(const struct sip_msg *m)
{
	return M(m)->status_code;
}

/* The user part of a sip: URI, or the number of a tel: URI (RFC 3966), parameters and all. */
static const char *
uri_user(const osip_uri_t *u)
{
	if (u == NULL)
		return "";
	if (u->username != NULL)
		return u->username;
	if (u->scheme != NULL && strcasecmp(u->scheme, "tel") == 0 && u->string != NULL)
		return u->string;
	return "";
}

const char *
sip_msg_ruri_user(const struct sip_msg *m)
{
	return uri_user(M(m)->req_uri);
}

const char *
sip_msg_from_user(const struct sip_msg *m)
{
	return M(m)->from != NULL ? uri_user(M(m)->from->url) : "";
}

const char *
sip_msg_to_user(const struct sip_msg *m)
{
	return M(m)->to != NULL ? uri_user(M(m)->to->url) : "";
}

/* RFC 3261 7.3.3 and the IANA registry: compact forms libosip2 keeps as plain headers. */
static const char *const compact[][2] = {
	{"event", "o"}, {"refer-to", "r"}, {"referred-by", "b"}, {"supported", "k"},
	{"subject", "s"}, {"allow-events", "u"}, {"session-expires", "x"},
	{"content-encoding", "e"}, {"accept-contact", "a"}, {"reject-contact", "j"},
	{"request-disposition", "d"}, {"identity", "y"},
};

const char *
sip_msg_header(const struct sip_msg *m, const char *name)
{
	osip_header_t *h = NULL;

	if (osip_message_header_get_byname(M(m), name, 0, &h) >= 0 && h != NULL)
		return h->hvalue;
	/* the same header by its other name */
	for (size_t i = 0; i < ARRAY_LEN(compact); i++) {
		const char *other = strcasecmp(name, compact[i][0]) == 0 ? compact[i][1] :
			strcasecmp(name, compact[i][1]) == 0 ? compact[i][0] : NULL;
		if (other != NULL && osip_message_header_get_byname(M(m), other, 0, &h) >= 0 &&
		    h != NULL)
			return h->hvalue;
	}
	return NULL;
}

/* token is one of the comma-separated values of value. */
static bool
list_has(const char *value, const char *token)
{
	size_t n = strlen(token);

	while (value != NULL && *value != '\0') {
		size_t len;

		value += strspn(value, " \t,");
		len = strcspn(value, ", \t;");
		if (len == n && strncasecmp(value, token, n) == 0)
			return true;
		value += strcspn(value, ",");
	}
	return false;
}

bool
sip_msg_lists(const struct sip_msg *m, const char *name, const char *token)
{
	osip_header_t *h = NULL;

	/* libosip2 parses Allow into its own list, one entry per value */
	if (strcasecmp(name, "allow") == 0) {
		for (int i = 0; i < osip_list_size(&M(m)->allows); i++) {
			osip_allow_t *a = osip_list_get(&M(m)->allows, i);
			if (a != NULL && list_has(a->value, token))
				return true;
		}
		return false;
	}
	for (int pos = 0; (pos = osip_message_header_get_byname(M(m), name, pos, &h)) >= 0;
	     pos++)
		if (h != NULL && list_has(h->hvalue, token))
			return true;
	return false;
}

const char *
sip_msg_content_type(const struct sip_msg *m, char *buf, size_t size)
{
	osip_content_type_t *ct = M(m)->content_type;

	if (ct == NULL || ct->type == NULL || ct->subtype == NULL)
		return NULL;
	snprintf(buf, size, "%s/%s", ct->type, ct->subtype);
	for (char *p = buf; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return buf;
}

const char *
sip_msg_body(const struct sip_msg *m, size_t *len)
{
	osip_body_t *b = NULL;

	*len = 0;
	if (osip_message_get_body(M(m), 0, &b) < 0 || b == NULL || b->body == NULL)
		return NULL;
	*len = b->length;
	return b->body;
}

/* Appends one header from an osip *_to_str function, freeing its result. */
static void
append_hdr(char *buf, size_t size, size_t *off, const char *name, int rc, char **val)
{
	if (rc == 0 && *val != NULL)
		str_appendf(buf, size, off, "%s: %s\r\n", name, *val);
	osip_free(*val);
	*val = NULL;
}

/* RFC 3261 8.2.6.2: a response (but 100) to a request without a To tag carries one, even
 * when no dialog comes of it. Derived from the request and a secret of this process, so
 * that a retransmitted request gets the same tag also from a stateless reply (8.2.7). */
static void
tag_for(char *buf, size_t size, const struct sip_msg *req)
{
	static uint64_t secret;
	osip_message_t *r = M(req);
	osip_via_t *via = NULL;
	osip_generic_param_t *br = NULL;
	const char *parts[4];
	uint64_t h;

	if (secret == 0)
		arc4random_buf(&secret, sizeof(secret));
	if (osip_message_get_via(r, 0, &via) >= 0 && via != NULL)
		osip_via_param_get_byname(via, "branch", &br);
	parts[0] = req->call_id;
	parts[1] = sip_msg_from_tag(req);
	parts[2] = br != NULL ? br->gvalue : NULL;
	parts[3] = r->cseq != NULL ? r->cseq->number : NULL;
	h = 14695981039346656037ULL ^ secret; /* FNV-1a, each part followed by a 0 byte */
	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		for (const char *p = parts[i] != NULL ? parts[i] : ""; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	}
	snprintf(buf, size, "%016" PRIx64, h);
}

/* Writes the response into buf; returns the length it takes, >= size when buf is short. */
static size_t
write_response(char *buf, size_t size, const struct sip_msg *req, int code,
	const char *reason, const char *to_tag, const char *extra, const char *ctype,
	const char *body, const char *server)
{
	osip_message_t *r = M(req);
	osip_list_iterator_t it;
	size_t off = 0;
	char *s = NULL;
	int rc;

	str_appendf(buf, size, &off, "SIP/2.0 %d %s\r\n", code, reason);
	for (osip_via_t *via = osip_list_get_first(&r->vias, &it); via != NULL;
	     via = osip_list_get_next(&it)) {
		rc = osip_via_to_str(via, &s);
		append_hdr(buf, size, &off, "Via", rc, &s);
	}
	rc = osip_from_to_str(r->from, &s);
	append_hdr(buf, size, &off, "From", rc, &s);
	if (osip_to_to_str(r->to, &s) == 0 && s != NULL) {
		/* RFC 3261 8.2.6.2: add our tag unless the request's To has one (or for 100) */
		if (to_tag != NULL && code > 100 && sip_msg_to_tag(req) == NULL)
			str_appendf(buf, size, &off, "To: %s;tag=%s\r\n", s, to_tag);
		else
			str_appendf(buf, size, &off, "To: %s\r\n", s);
	}
	osip_free(s);
	s = NULL;
	rc = osip_call_id_to_str(r->call_id, &s);
	append_hdr(buf, size, &off, "Call-ID", rc, &s);
	rc = osip_cseq_to_str(r->cseq, &s);
	append_hdr(buf, size, &off, "CSeq", rc, &s);
	if (server != NULL)
		str_appendf(buf, size, &off, "Server: %s\r\n", server);
	if (extra != NULL)
		str_appendf(buf, size, &off, "%s", extra);
	if (ctype != NULL && body != NULL)
		str_appendf(buf, size, &off, "Content-Type: %s\r\n", ctype);
	str_appendf(buf, size, &off, "Content-Length: %zu\r\n\r\n",
		body != NULL ? strlen(body) : 0);
	if (body != NULL)
		str_appendf(buf, size, &off, "%s", body);
	return off;
}

int
sip_build_response(char **out, size_t *len, const struct sip_msg *req, int code,
	const char *reason, const char *to_tag, const char *extra, const char *ctype,
	const char *body, const char *server)
{
	size_t size = 4096 + (body != NULL ? strlen(body) : 0) +
		(extra != NULL ? strlen(extra) : 0);
	size_t off;
	char *buf, tag[24];

	if (to_tag == NULL && code > 100 && sip_msg_to_tag(req) == NULL) {
		tag_for(tag, sizeof(tag), req);
		to_tag = tag;
	}
	/* Every Via goes back, and From and To as they came (RFC 3261 8.2.6.2): a request
	 * that fills a datagram can take more than the first guess. A transaction whose
	 * response could not be built would never end. */
	for (;;) {
		if ((buf = malloc(size)) == NULL)
			return ENOMEM;
		off = write_response(buf, size, req, code, reason, to_tag, extra, ctype, body,
			server);
		if (off < size)
			break;
		free(buf);
		if (size > RESPONSE_MAX / 4)
			return EMSGSIZE;
		size *= 4;
	}
	/* the transaction keeps it for 32 s (Timer J): keep only what was written */
	{
		char *fit = realloc(buf, off + 1);
		if (fit != NULL)
			buf = fit;
	}
	*out = buf;
	*len = off;
	return 0;
}

void
sip_random_token(char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[32];
	size_t n = size - 1 < sizeof(rnd) ? size - 1 : sizeof(rnd);

	arc4random_buf(rnd, n);
	for (size_t i = 0; i < n; i++)
		buf[i] = hex[rnd[i] & 15];
	buf[n] = '\0';
}

void
sip_new_branch(char *buf, size_t size)
{
	char tok[24];

	sip_random_token(tok, sizeof(tok));
	/* RFC 3261 8.1.1.7: the magic cookie marks an RFC 3261 branch */
	snprintf(buf, size, "z9hG4bK%s", tok);
}
