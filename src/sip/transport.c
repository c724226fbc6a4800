/* Transports (UDP here, TCP in stream.c): sockets, parsing, the checks every request must
 * pass (RFC 3261 8.2). */
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <osip2/osip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ivr/conf.h"
#include "ivr/log.h"
#include "ivr/util.h"
#include "sip_int.h"

#define SIP_MAX_DATAGRAM 65535

int
sip_stack_new(struct sip_stack **sp, struct event_base *base, const struct sip_handlers *h,
	void *arg, const char *user_agent)
{
	struct sip_stack *s = calloc(1, sizeof(*s));
	int rc = ENOMEM;

	if (s == NULL)
		return ENOMEM;
	s->base = base;
	s->h = h;
	s->arg = arg;
	/* the ivrd.sip defaults, until the configuration sets its own */
	s->max_size = 16384;
	s->max_headers = 100;
	s->max_conns = 1024;
	s->idle_ms = 120000;
	s->user_agent = strdup(user_agent != NULL ? user_agent : "ivrd");
	if (s->user_agent == NULL)
		goto out;
	if ((rc = hmap_new(&s->server_tx)) != 0 || (rc = hmap_new(&s->client_tx)) != 0 ||
	    (rc = hmap_new(&s->conns)) != 0 || (rc = hmap_new(&s->holds)) != 0)
		goto out;
	*sp = s;
	return 0;
out:
	sip_stack_free(s);
	return rc;
}

void
sip_stack_free(struct sip_stack *s)
{
	if (s == NULL)
		return;
	if (s->server_tx != NULL && s->client_tx != NULL)
		sip_tx_free_all(s);
	hmap_free(s->server_tx);
	hmap_free(s->client_tx);
	if (s->conns != NULL)
		sip_stream_free_all(s);
	hmap_free(s->conns);
	hmap_free(s->holds);
	for (size_t i = 0; i < s->ntransports; i++) {
		struct sip_transport *t = s->transports[i];
		if (t->ev != NULL)
			event_free(t->ev);
		close(t->fd);
		free(t);
	}
	free(s->transports);
	free(s->user_agent);
	free(s);
}

void
sip_stack_stats(const struct sip_stack *s, struct sip_stats *st)
{
	*st = s->stats;
}

void
sip_stack_limits(struct sip_stack *s, size_t max_size, unsigned max_headers)
{
	s->max_size = max_size;
	s->max_headers = max_headers;
}

void
sip_stack_stream_limits(struct sip_stack *s, unsigned max_conns, unsigned idle_s)
{
	s->max_conns = max_conns;
	s->idle_ms = idle_s * 1000;
}

struct sip_transport *
sip_stack_transport(struct sip_stack *s)
{
	return s->ntransports > 0 ? s->transports[0] : NULL;
}

const char *
sip_transport_hostport(const struct sip_transport *t)
{
	return t->hostport;
}

struct sip_transport *
sip_stack_find(struct sip_stack *s, bool stream, int family)
{
	for (size_t i = 0; i < s->ntransports; i++)
		if (s->transports[i]->stream == stream &&
		    s->transports[i]->addr.ss_family == family)
			return s->transports[i];
	return NULL;
}

const char *
sip_transport_proto(const struct sip_transport *t)
{
	return t->stream ? "TCP" : "UDP";
}

bool
sip_log_allowed(struct sip_stack *s)
{
	int64_t now = clock_mono_ms();

	/* a storm of garbage must not become a storm of log lines */
	if (now - s->log_window_ms >= 1000) {
		if (s->log_count > 10)
			log_warn("sip", "%u more malformed messages not logged", s->log_count - 10);
		s->log_window_ms = now;
		s->log_count = 0;
	}
	return ++s->log_count <= 10;
}

void
sip_addr_str(const struct sockaddr *sa, char *host, size_t hostlen, unsigned *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)hostlen);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)hostlen);
		*port = ntohs(s4->sin_port);
	}
}

int
sip_send(struct sip_transport *t, const struct sockaddr *dst, socklen_t dstlen,
	const char *buf, size_t len)
{
	int rc;

	if (t->stream) {
		rc = sip_stream_send(t, dst, dstlen, buf, len, true);
	} else {
		ssize_t n = sendto(t->fd, buf, len, 0, dst, dstlen);
		rc = n < 0 ? errno : 0;
	}
	if (rc != 0) {
		t->stack->stats.tx_errors++;
		return rc;
	}
	t->stack->stats.tx_messages++;
	if (log_tracing(LOG_TRACE_SIP)) {
		char host[64];
		unsigned port;
		sip_addr_str(dst, host, sizeof(host), &port);
		log_msg(LOG_PRIO_DEBUG, "sip", NULL, "send %zu bytes to %s:%u: %.*s", len, host,
			port, (int)(len < 400 ? len : 400), buf);
	}
	return 0;
}

/* The top Via of a response we built: its received address (else its host) and its
 * sent-by port (else 5060). */
static bool
via_dest(const char *buf, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const char *p = buf, *end = buf + len, *nl;
	osip_via_t *via = NULL;
	osip_generic_param_t *rcv = NULL;
	char line[512], host[64];
	long port = 5060;
	bool ok = false;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		size_t n = (size_t)(nl - p);
		if (n >= 4 && strncasecmp(p, "Via:", 4) == 0) {
			p += 4;
			n -= 4;
		} else if (n >= 2 && strncasecmp(p, "v:", 2) == 0) {
			p += 2;
			n -= 2;
		} else {
			continue;
		}
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			return false;
		memcpy(line, p, n);
		line[n] = '\0';
		break;
	}
	if (p >= end || nl == NULL || osip_via_init(&via) != 0)
		return false;
	if (osip_via_parse(via, line) != 0 || via->host == NULL)
		goto out;
	osip_via_param_get_byname(via, "received", &rcv);
	str_copy(host, rcv != NULL && rcv->gvalue != NULL ? rcv->gvalue : via->host, sizeof(host));
	if (via->port != NULL) {
		char *e;
		port = strtol(via->port, &e, 10);
		if (*e != '\0' || port < 1 || port > 65535)
			goto out;
	}
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']')
			goto out;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in);
		ok = true;
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in6);
		ok = true;
	}
out:
	osip_via_free(via);
	return ok;
}

int
sip_send_reply(struct sip_transport *t, const struct sockaddr *src, socklen_t srclen,
	const char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc;

	if (!t->stream || sip_stream_open(t, src, srclen))
		return sip_send(t, src, srclen, buf, len);
	/* RFC 3261 18.2.2: the request's connection is gone */
	rc = ENOTCONN;
	if (via_dest(buf, len, &ss, &sslen))
		rc = sip_send(t, (struct sockaddr *)&ss, sslen, buf, len);
	else
		t->stack->stats.tx_errors++;
	if (rc != 0 && sip_log_allowed(t->stack))
		log_msg(LOG_PRIO_NOTICE, "sip", NULL,
			"response dropped: its tcp connection closed and its Via is unreachable (%s)",
			strerror(rc));
	return rc;
}

void
sip_msg_free(struct sip_msg *m)
{
	if (m == NULL)
		return;
	if (m->osip != NULL)
		osip_message_free(m->osip);
	free(m);
}

/* RFC 3581 4 / RFC 3261 18.2.1: note where the request really came from. */
static void
mark_received(osip_message_t *om, const struct sockaddr *src)
{
	osip_via_t *via = NULL;
	osip_generic_param_t *rport = NULL;
	char host[64], port[8];
	unsigned p;

	if (osip_message_get_via(om, 0, &via) < 0 || via == NULL)
		return;
	sip_addr_str(src, host, sizeof(host), &p);
	snprintf(port, sizeof(port), "%u", p);
	if (via->host == NULL || strcmp(via->host, host) != 0)
		osip_via_set_received(via, osip_strdup(host));
	if (osip_via_param_get_byname(via, "rport", &rport) == 0 && rport != NULL &&
	    rport->gvalue == NULL)
		rport->gvalue = osip_strdup(port);
}

/* A response outside any transaction: to requests refused before one exists. */
void
sip_reply_stateless(struct sip_stack *s, struct sip_msg *m, int code, const char *reason)
{
	char *buf;
	size_t len;

	if (sip_build_response(&buf, &len, m, code, reason, NULL, NULL, NULL, NULL,
		s->user_agent) == 0) {
		sip_send_reply(m->transport, (struct sockaddr *)&m->src, m->srclen, buf, len);
		free(buf);
	}
}

static void
log_bad(struct sip_stack *s, const struct sip_msg *m, const char *what)
{
	char host[64];
	unsigned port;

	s->stats.rx_malformed++;
	if (!sip_log_allowed(s))
		return;
	sip_addr_str((const struct sockaddr *)&m->src, host, sizeof(host), &port);
	log_msg(LOG_PRIO_WARNING, "sip", m->call_id[0] ? m->call_id : NULL,
		"malformed message from %s:%u: %s", host, port, what);
}

/* Checks the headers every message needs. Returns NULL or what is missing. */
static const char *
missing_header(osip_message_t *om)
{
	osip_via_t *via = NULL;

	if (osip_message_get_via(om, 0, &via) < 0 || via == NULL || via->host == NULL)
		return "Via";
	if (om->from == NULL || om->from->url == NULL)
		return "From";
	if (om->to == NULL || om->to->url == NULL)
		return "To";
	if (om->call_id == NULL || om->call_id->number == NULL)
		return "Call-ID";
	if (om->cseq == NULL || om->cseq->number == NULL || om->cseq->method == NULL)
		return "CSeq";
	return NULL;
}

/* RFC 3261 18.3: over UDP the body is the rest of the datagram, or Content-Length bytes of
 * it; bytes after those are ignored, fewer than those make the message bad. Returns NULL or
 * what is wrong. */
static const char *
bad_length(const osip_message_t *om, const char *buf, size_t len)
{
	const char *v, *end;
	size_t have = 0, want = 0;

	if (om->content_length == NULL || (v = om->content_length->value) == NULL)
		return NULL;
	/* the body starts after the first empty line, CRLF or bare LF */
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n') {
			have = len - (i + 2);
			break;
		}
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') {
			have = len - (i + 3);
			break;
		}
	}
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if (v == end)
		return "Content-Length is not a number";
	for (; v < end; v++) {
		if (*v < '0' || *v > '9')
			return "Content-Length is not a number";
		want = want * 10 + (size_t)(*v - '0');
		if (want > have)
			return "Content-Length larger than the body";
	}
	return NULL;
}

/* Header lines before the empty line, folded continuations not counted; a cheap scan that
 * stops once past max. */
static unsigned
count_headers(const char *buf, size_t len, unsigned max)
{
	const char *end = buf + len, *p = memchr(buf, '\n', len);
	unsigned n = 0;

	/* the start line is not a header */
	while (p != NULL && ++p < end && n <= max) {
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			break;
		if (*p != ' ' && *p != '\t')
			n++;
		p = memchr(p, '\n', (size_t)(end - p));
	}
	return n;
}

/* RFC 3261 8.2.6.2: what a response is built from, full and compact names. */
static bool
response_header(const char *line, size_t len)
{
	static const char *const names[] = {
		"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq",
	};
	size_t n = 0;

	while (n < len && line[n] != ':' && line[n] != ' ' && line[n] != '\t')
		n++;
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strlen(names[i]) == n && strncasecmp(line, names[i], n) == 0)
			return true;
	return false;
}

/* Answers a request refused before parsing, from a copy of its start line and the headers
 * a response needs, within max_size bytes; without those (or for a response) nothing is
 * sent. */
static void
reply_unparsed(struct sip_stack *s, struct sip_msg *m, const char *buf, size_t len, int code,
	const char *reason)
{
	static const char tail[] = "Content-Length: 0\r\n\r\n";
	size_t scan = len < s->max_size ? len : s->max_size, off = 0, ll;
	const char *p = buf, *end = buf + scan, *nl;
	osip_message_t *om = NULL;
	char *copy;

	if (len >= 8 && strncmp(buf, "SIP/2.0 ", 8) == 0)
		return;
	/* room for every line kept and the Content-Length line */
	if ((copy = malloc(scan + sizeof(tail))) == NULL)
		return;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		ll = (size_t)(nl + 1 - p);
		if (*p == '\n' || (*p == '\r' && ll == 2))
			break;
		if (p == buf || response_header(p, ll)) {
			memcpy(copy + off, p, ll);
			off += ll;
		}
	}
	memcpy(copy + off, tail, sizeof(tail)); /* with its NUL, as the parser gets buf */
	off += sizeof(tail) - 1;
	if (osip_message_init(&om) != 0)
		goto out;
	m->osip = om;
	if (osip_message_parse(om, copy, off) != 0 || !MSG_IS_REQUEST(om) ||
	    missing_header(om) != NULL || strcmp(om->sip_method, "ACK") == 0)
		goto out;
	mark_received(om, (const struct sockaddr *)&m->src);
	sip_reply_stateless(s, m, code, reason);
out:
	free(copy);
}

void
sip_reject_unframed(struct sip_stack *s, struct sip_transport *t, const char *buf, size_t len,
	const struct sockaddr *src, socklen_t srclen, int code, const char *reason,
	const char *what)
{
	struct sip_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	m->transport = t;
	memcpy(&m->src, src, srclen);
	m->srclen = srclen;
	log_bad(s, m, what);
	if (code > 0)
		reply_unparsed(s, m, buf, len, code, reason);
	sip_msg_free(m);
}

void
sip_stack_input(struct sip_stack *s, struct sip_transport *t, const char *buf, size_t len,
	const struct sockaddr *src, socklen_t srclen)
{
	struct sip_msg *m;
	osip_message_t *om = NULL;
	const char *miss, *bad;
	char reason[96];
	size_t i;

	/* RFC 5626 keep-alives: CRLFs alone */
	for (i = 0; i < len && (buf[i] == '\r' || buf[i] == '\n' || buf[i] == ' '); i++)
		;
	if (i == len)
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	m->transport = t;
	memcpy(&m->src, src, srclen);
	m->srclen = srclen;
	/* limits before parsing: what they guard against is the parser's work */
	if (len > s->max_size) {
		snprintf(reason, sizeof(reason), "%zu bytes, more than max_message_size %zu", len,
			s->max_size);
		log_bad(s, m, reason);
		reply_unparsed(s, m, buf, len, 413, "Request Entity Too Large");
		goto drop;
	}
	if (count_headers(buf, len, s->max_headers) > s->max_headers) {
		snprintf(reason, sizeof(reason), "more than max_headers %u header lines",
			s->max_headers);
		log_bad(s, m, reason);
		reply_unparsed(s, m, buf, len, 400, "Bad Request (Too many headers)");
		goto drop;
	}
	if (osip_message_init(&om) != 0) {
		free(m);
		return;
	}
	m->osip = om;
	if (osip_message_parse(om, buf, len) != 0) {
		log_bad(s, m, "not a SIP message libosip2 can parse");
		goto drop;
	}
	if (log_tracing(LOG_TRACE_SIP)) {
		char host[64];
		unsigned port;
		sip_addr_str(src, host, sizeof(host), &port);
		log_msg(LOG_PRIO_DEBUG, "sip", NULL, "recv %zu bytes from %s:%u: %.*s", len, host,
			port, (int)(len < 400 ? len : 400), buf);
	}
	miss = missing_header(om);
	if (miss != NULL) {
		snprintf(reason, sizeof(reason), "Bad Request (Missing %s)", miss);
		log_bad(s, m, reason);
		/* a response needs a Via to follow */
		if (MSG_IS_REQUEST(om) && strcmp(miss, "Via") != 0 &&
		    strcmp(om->sip_method, "ACK") != 0)
			sip_reply_stateless(s, m, 400, reason);
		goto drop;
	}
	if (om->call_id->host != NULL)
		snprintf(m->call_id, sizeof(m->call_id), "%s@%s", om->call_id->number,
			om->call_id->host);
	else
		str_copy(m->call_id, om->call_id->number, sizeof(m->call_id));
	if (strlen(om->call_id->number) + (om->call_id->host ? strlen(om->call_id->host) : 0) >=
	    sizeof(m->call_id) - 1) {
		log_bad(s, m, "Call-ID longer than 254 characters");
		if (MSG_IS_REQUEST(om) && strcmp(om->sip_method, "ACK") != 0)
			sip_reply_stateless(s, m, 400, "Bad Request (Call-ID too long)");
		goto drop;
	}

	if ((bad = bad_length(om, buf, len)) != NULL) {
		snprintf(reason, sizeof(reason), "Bad Request (%s)", bad);
		log_bad(s, m, bad);
		if (MSG_IS_REQUEST(om) && strcmp(om->sip_method, "ACK") != 0)
			sip_reply_stateless(s, m, 400, reason);
		goto drop;
	}

	if (MSG_IS_RESPONSE(om)) {
		s->stats.rx_responses++;
		sip_tx_response_in(s, m);
		return;
	}
	s->stats.rx_requests++;
	mark_received(om, src);
	if (strcasecmp(om->cseq->method, om->sip_method) != 0 &&
	    strcmp(om->sip_method, "ACK") != 0 && strcmp(om->sip_method, "CANCEL") != 0) {
		log_bad(s, m, "CSeq method differs from the request method");
		sip_reply_stateless(s, m, 400, "Bad Request (CSeq method mismatch)");
		goto drop;
	}
	if (om->req_uri == NULL || om->req_uri->scheme == NULL ||
	    (strcasecmp(om->req_uri->scheme, "sip") != 0 &&
		strcasecmp(om->req_uri->scheme, "sips") != 0 &&
		strcasecmp(om->req_uri->scheme, "tel") != 0)) {
		log_bad(s, m, "Request-URI scheme is not sip, sips or tel");
		if (strcmp(om->sip_method, "ACK") != 0)
			sip_reply_stateless(s, m, 416, "Unsupported URI Scheme");
		goto drop;
	}
	sip_tx_request_in(s, m);
	return;
drop:
	sip_msg_free(m);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	static char buf[SIP_MAX_DATAGRAM + 1];
	(void)what;

	/* drain a bounded batch so one busy socket cannot starve the media tick */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage src;
		socklen_t srclen = sizeof(src);
		ssize_t n = recvfrom(fd, buf, SIP_MAX_DATAGRAM, 0, (struct sockaddr *)&src, &srclen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("sip", "receive on %s: %s", t->hostport, strerror(errno));
			return;
		}
		buf[n] = '\0';
		sip_stack_input(t->stack, t, buf, (size_t)n, (struct sockaddr *)&src, srclen);
	}
}

int
sip_stack_listen(struct sip_stack *s, const struct conf_listen *l)
{
	struct sip_transport *t, **nt;
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	int one = 1, rcvbuf = 4 << 20, rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ENOMEM;
	t->stack = s;
	t->stream = l->proto == CONF_TCP;
	t->fd = socket(l->addr.ss_family, (t->stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
		SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		rc = errno;
		free(t);
		return rc;
	}
	setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]" and "0.0.0.0" on one port are two listeners */
	if (l->addr.ss_family == AF_INET6)
		setsockopt(t->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* bursts of call setups arrive faster than one loop pass */
	if (!t->stream)
		setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(t->fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0) {
		rc = errno;
		goto fail;
	}
	t->addrlen = sizeof(t->addr);
	getsockname(t->fd, (struct sockaddr *)&t->addr, &t->addrlen);
	sip_addr_str((struct sockaddr *)&t->addr, host, sizeof(host), &port);
	if (t->addr.ss_family == AF_INET6)
		snprintf(t->hostport, sizeof(t->hostport), "[%s]:%u", host, port);
	else
		snprintf(t->hostport, sizeof(t->hostport), "%s:%u", host, port);
	if (t->stream) {
		if ((rc = sip_stream_listen(t)) != 0)
			goto fail;
	} else {
		t->ev = event_new(s->base, t->fd, EV_READ | EV_PERSIST, on_readable, t);
		if (t->ev == NULL || event_add(t->ev, NULL) != 0) {
			rc = ENOMEM;
			goto fail;
		}
	}
	nt = realloc(s->transports, (s->ntransports + 1) * sizeof(*nt));
	if (nt == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	s->transports = nt;
	s->transports[s->ntransports++] = t;
	log_info("sip", "listening on %s %s", t->stream ? "tcp" : "udp", t->hostport);
	return 0;
fail:
	if (t->ev != NULL)
		event_free(t->ev);
	close(t->fd);
	free(t);
	return rc;
}
