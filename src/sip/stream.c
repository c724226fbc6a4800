/* TCP transport: listener, connections and framing (RFC 3261 18.3). Every framed message
 * goes through sip_stack_input like a datagram. Messages and dialogs name a connection by
 * its listener and peer address, never by pointer: a connection may close at any time and
 * a send to the same peer then opens a new one.
 *
 * A connection closes on framing errors (garbage, a missing Content-Length, a message
 * larger than max_message_size), on the peer closing it, and after tcp_idle_timeout
 * seconds without traffic unless a live dialog came over it (RFC 5923 3: a connection is
 * kept while it may still be used; a phone behind NAT is reachable only over it). Its
 * closing ends no call: the peer may reconnect, and our requests open a new connection. */
#include <sys/time.h>
#include <time.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ivr/log.h"
#include "ivr/util.h"
#include "sip_int.h"

/* What a peer that does not read may leave queued before its connection is closed. */
#define OUT_MAX (1 << 20)

struct sip_conn {
	struct sip_transport *t;   /* the listener it belongs to */
	struct bufferevent *bev;   /* NULL: fed by sip_stack_stream_input */
	struct evbuffer *in, *out; /* the bufferevent's, or our own without a socket */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char key[160];
	struct event *idle;
	size_t scan;  /* where the search for the end of the headers resumes */
	bool busy;    /* inside conn_input: close later */
	bool dead;    /* closed while busy */
	bool closing; /* closes once its output is written */
};

enum frame {
	FRAME_MORE,    /* an incomplete message */
	FRAME_SKIP,    /* a CRLF between messages */
	FRAME_PING,    /* RFC 5626 4.4.1: CRLFCRLF */
	FRAME_MSG,
	FRAME_NOLEN,   /* no Content-Length: 400 */
	FRAME_BADLEN,  /* Content-Length not a number: 400 */
	FRAME_TOOBIG,  /* more than max_message_size: 413 */
	FRAME_GARBAGE, /* not SIP */
};

static void
conn_key(char *key, size_t size, const struct sip_transport *t, const struct sockaddr *sa)
{
	char host[64];
	unsigned port;

	sip_addr_str(sa, host, sizeof(host), &port);
	snprintf(key, size, "%s|%s|%u", t->hostport, host, port);
}

/* "SIP/2.0 200 OK" or "METHOD URI SIP/2.0": anything else on a stream cannot be framed. */
static bool
start_line_ok(const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n >= 8 && strncasecmp(p, "SIP/2.0 ", 8) == 0)
		return true;
	return n >= 10 && strncasecmp(p + n - 8, " SIP/2.0", 8) == 0;
}

/* The Content-Length of a header block (full or compact name, RFC 3261 7.3.3). */
static enum frame
content_length(const char *p, const char *end, size_t max, size_t *cl)
{
	p = memchr(p, '\n', (size_t)(end - p)); /* after the start line */
	while (p != NULL && ++p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *n;
		size_t v = 0;

		if (nl == NULL)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon == NULL || *p == ' ' || *p == '\t') {
			p = nl;
			continue;
		}
		for (n = colon; n > p && (n[-1] == ' ' || n[-1] == '\t'); n--)
			;
		if (!(((size_t)(n - p) == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
			((size_t)(n - p) == 1 && (*p == 'l' || *p == 'L')))) {
			p = nl;
			continue;
		}
		for (p = colon + 1; p < nl && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == nl || *p < '0' || *p > '9')
			return FRAME_BADLEN;
		for (; p < nl && *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (size_t)(*p - '0');
			if (v > max)
				return FRAME_TOOBIG;
		}
		for (; p < nl && (*p == ' ' || *p == '\t' || *p == '\r'); p++)
			;
		if (p != nl)
			return FRAME_BADLEN;
		*cl = v;
		return FRAME_MSG;
	}
	return FRAME_NOLEN;
}

/* RFC 3261 18.3: the headers end at the first empty line; the body is Content-Length bytes.
 * *used is what the frame takes, *hdrlen the header block's length. */
static enum frame
frame(const char *buf, size_t len, size_t max, size_t *scan, size_t *used, size_t *hdrlen)
{
	static const char ping[] = "\r\n\r\n";
	size_t lim = len < max ? len : max, end = 0, cl = 0;
	const char *nl;
	enum frame f;

	if (len >= 4 && memcmp(buf, ping, 4) == 0) {
		*used = 4;
		return FRAME_PING;
	}
	if (len < 4 && memcmp(buf, ping, len) == 0)
		return FRAME_MORE; /* perhaps the start of a ping */
	if (buf[0] == '\n' || (buf[0] == '\r' && buf[1] == '\n')) {
		*used = buf[0] == '\n' ? 1 : 2;
		return FRAME_SKIP;
	}
	nl = memchr(buf, '\n', lim);
	if (nl == NULL)
		return len >= max ? FRAME_TOOBIG : FRAME_MORE;
	if (!start_line_ok(buf, (size_t)(nl - buf)))
		return FRAME_GARBAGE;
	for (size_t i = *scan > (size_t)(nl - buf) ? *scan : (size_t)(nl - buf); i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < lim && buf[i + 1] == '\n') {
			end = i + 2;
			break;
		}
		if (i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			end = i + 3;
			break;
		}
	}
	if (end == 0) {
		/* resume at the last two bytes: the empty line may be cut in half */
		*scan = lim > 2 ? lim - 2 : 0;
		return len >= max ? FRAME_TOOBIG : FRAME_MORE;
	}
	*hdrlen = end;
	if (memchr(buf, '\0', end) != NULL)
		return FRAME_GARBAGE;
	if ((f = content_length(buf, buf + end, max, &cl)) != FRAME_MSG)
		return f;
	if (end + cl > max)
		return FRAME_TOOBIG;
	if (len < end + cl)
		return FRAME_MORE;
	*used = end + cl;
	return FRAME_MSG;
}

static void
conn_free(struct sip_conn *c)
{
	if (c->idle != NULL)
		event_free(c->idle);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
	} else {
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
	}
	free(c);
}

static void
conn_close(struct sip_conn *c, const char *why)
{
	struct sip_stack *s = c->t->stack;

	if (c->dead)
		return;
	c->dead = true;
	hmap_del(s->conns, c->key);
	s->stats.tcp_connections--;
	s->stats.tcp_closed++;
	if (log_tracing(LOG_TRACE_SIP))
		log_msg(LOG_PRIO_DEBUG, "sip", NULL, "tcp %s closed: %s", c->key, why);
	if (!c->busy)
		conn_free(c);
}

static void
conn_touch(struct sip_conn *c)
{
	struct timeval tv = {.tv_sec = c->t->stack->idle_ms / 1000,
		.tv_usec = (c->t->stack->idle_ms % 1000) * 1000};

	if (c->idle != NULL)
		evtimer_add(c->idle, &tv);
}

static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;
	(void)fd;
	(void)what;

	if (hmap_get(c->t->stack->holds, c->key) != NULL) {
		conn_touch(c); /* a live dialog may still need it */
		return;
	}
	conn_close(c, "idle");
}

/* Closes once what is queued has been written (a final error response). */
static void
conn_close_after_write(struct sip_conn *c, const char *why)
{
	if (c->bev == NULL || evbuffer_get_length(c->out) == 0) {
		conn_close(c, why);
		return;
	}
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void
conn_write(struct sip_conn *c, const char *buf, size_t len)
{
	if (c->bev == NULL) {
		return; /* tests and fuzzing: nobody reads it */
	}
	if (evbuffer_get_length(c->out) + len > OUT_MAX) {
		conn_close(c, "peer does not read");
		return;
	}
	evbuffer_add(c->out, buf, len);
	conn_touch(c);
}

/* Frames and processes everything complete in the input buffer. */
static void
conn_input(struct sip_conn *c)
{
	struct sip_stack *s = c->t->stack;
	size_t len, used = 0, hdrlen = 0;
	const char *buf;
	char *msg;

	c->busy = true;
	while (!c->dead && !c->closing && (len = evbuffer_get_length(c->in)) > 0) {
		enum frame f;

		buf = (const char *)evbuffer_pullup(c->in, -1);
		if (buf == NULL)
			break;
		f = frame(buf, len, s->max_size, &c->scan, &used, &hdrlen);
		switch (f) {
		case FRAME_MORE:
			goto out;
		case FRAME_PING:
			conn_write(c, "\r\n", 2); /* RFC 5626 4.4.1: the pong */
			/* fall through */
		case FRAME_SKIP:
			evbuffer_drain(c->in, used);
			break;
		case FRAME_MSG:
			/* the parser gets a NUL-terminated message, as from a datagram */
			if ((msg = malloc(used + 1)) == NULL) {
				conn_close(c, "out of memory");
				goto out;
			}
			memcpy(msg, buf, used);
			msg[used] = '\0';
			evbuffer_drain(c->in, used);
			c->scan = 0;
			sip_stack_input(s, c->t, msg, used, (struct sockaddr *)&c->peer, c->peerlen);
			free(msg);
			break;
		case FRAME_NOLEN:
			sip_reject_unframed(s, c->t, buf, hdrlen, (struct sockaddr *)&c->peer,
				c->peerlen, 400, "Bad Request (Missing Content-Length)",
				"no Content-Length on a stream");
			conn_close_after_write(c, "no Content-Length");
			goto out;
		case FRAME_BADLEN:
			sip_reject_unframed(s, c->t, buf, hdrlen, (struct sockaddr *)&c->peer,
				c->peerlen, 400, "Bad Request (Bad Content-Length)",
				"Content-Length is not a number");
			conn_close_after_write(c, "bad Content-Length");
			goto out;
		case FRAME_TOOBIG:
			sip_reject_unframed(s, c->t, buf, len < s->max_size ? len : s->max_size,
				(struct sockaddr *)&c->peer, c->peerlen, 413,
				"Request Entity Too Large", "more than max_message_size");
			conn_close_after_write(c, "message too large");
			goto out;
		case FRAME_GARBAGE:
			sip_reject_unframed(s, c->t, buf, len, (struct sockaddr *)&c->peer,
				c->peerlen, 0, NULL, "not SIP on a stream: connection closed");
			conn_close(c, "garbage");
			goto out;
		}
	}
out:
	c->busy = false;
	if (c->dead)
		conn_free(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct sip_conn *c = arg;
	(void)bev;

	conn_touch(c);
	conn_input(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct sip_conn *c = arg;
	(void)bev;

	if (c->closing && evbuffer_get_length(c->out) == 0)
		conn_close(c, "after an error response");
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sip_conn *c = arg;
	(void)bev;

	if (what & BEV_EVENT_CONNECTED) {
		conn_touch(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (!(what & BEV_EVENT_READING) || log_tracing(LOG_TRACE_SIP))
			log_msg(LOG_PRIO_NOTICE, "sip", NULL, "tcp %s: %s", c->key,
				strerror(EVUTIL_SOCKET_ERROR()));
		conn_close(c, "error");
	} else if (what & BEV_EVENT_EOF) {
		conn_close(c, "closed by the peer");
	}
}

/* fd < 0 and bev NULL: a connection without a socket (tests, fuzzing). */
static int
conn_new(struct sip_conn **cp, struct sip_transport *t, int fd, const struct sockaddr *peer,
	socklen_t peerlen)
{
	struct sip_stack *s = t->stack;
	struct sip_conn *c;
	int rc = ENOMEM;

	if (s->stats.tcp_connections >= s->max_conns) {
		if (fd >= 0)
			close(fd);
		s->stats.tcp_refused++;
		if (sip_log_allowed(s))
			log_warn("sip", "tcp connection refused: max_connections %u reached",
				s->max_conns);
		return EMFILE;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (fd >= 0)
			close(fd);
		return ENOMEM;
	}
	c->t = t;
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	conn_key(c->key, sizeof(c->key), t, peer);
	if (fd >= 0) {
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			close(fd);
			goto fail;
		}
		c->in = bufferevent_get_input(c->bev);
		c->out = bufferevent_get_output(c->bev);
		bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
		c->idle = evtimer_new(s->base, on_idle, c);
		if (c->idle == NULL || bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
			goto fail;
	} else {
		c->in = evbuffer_new();
		c->out = evbuffer_new();
		if (c->in == NULL || c->out == NULL)
			goto fail;
	}
	if ((rc = hmap_put(s->conns, c->key, c)) != 0)
		goto fail;
	s->stats.tcp_connections++;
	conn_touch(c);
	*cp = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sip_transport *t = arg;
	(void)what;

	/* a bounded batch, as for datagrams */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		struct sip_conn *c;
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED && sip_log_allowed(t->stack))
				log_warn("sip", "accept on tcp %s: %s", t->hostport, strerror(errno));
			return;
		}
		/* an old connection from the same address and port is gone */
		{
			char key[160];
			conn_key(key, sizeof(key), t, (struct sockaddr *)&peer);
			if ((c = hmap_get(t->stack->conns, key)) != NULL)
				conn_close(c, "replaced");
		}
		if (conn_new(&c, t, fd, (struct sockaddr *)&peer, len) == 0) {
			t->stack->stats.tcp_accepted++;
			if (log_tracing(LOG_TRACE_SIP))
				log_msg(LOG_PRIO_DEBUG, "sip", NULL, "tcp %s accepted", c->key);
		}
	}
}

int
sip_stream_listen(struct sip_transport *t)
{
	if (listen(t->fd, 128) != 0)
		return errno;
	t->ev = event_new(t->stack->base, t->fd, EV_READ | EV_PERSIST, on_accept, t);
	if (t->ev == NULL || event_add(t->ev, NULL) != 0)
		return ENOMEM;
	return 0;
}

/* RFC 3261 18.1.1: a new connection from the listener's address, so that the peer sees
 * the host our Via names. */
static int
conn_connect(struct sip_conn **cp, struct sip_transport *t, const struct sockaddr *dst,
	socklen_t dstlen)
{
	struct sockaddr_storage local;
	struct sip_conn *c;
	int fd, rc;

	if (t->stack->offline)
		return ENETUNREACH;
	if (dst->sa_family != t->addr.ss_family)
		return EAFNOSUPPORT;
	fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	memcpy(&local, &t->addr, t->addrlen);
	if (local.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	else
		((struct sockaddr_in *)&local)->sin_port = 0;
	if (bind(fd, (struct sockaddr *)&local, t->addrlen) != 0) {
		rc = errno;
		close(fd);
		return rc;
	}
	if ((rc = conn_new(&c, t, fd, dst, dstlen)) != 0)
		return rc;
	if (bufferevent_socket_connect(c->bev, dst, (int)dstlen) != 0) {
		/* bufferevent_socket_connect reports a refused connect itself, later */
		conn_close(c, "connect failed");
		return ECONNREFUSED;
	}
	t->stack->stats.tcp_connected++;
	*cp = c;
	return 0;
}

int
sip_stream_send(struct sip_transport *t, const struct sockaddr *dst, socklen_t dstlen,
	const char *buf, size_t len, bool connect)
{
	struct sip_conn *c;
	char key[160];
	int rc;

	conn_key(key, sizeof(key), t, dst);
	c = hmap_get(t->stack->conns, key);
	if (c == NULL || c->closing) {
		if (!connect)
			return ENOTCONN;
		if (c != NULL)
			return ENOTCONN;
		if ((rc = conn_connect(&c, t, dst, dstlen)) != 0)
			return rc;
	}
	conn_write(c, buf, len);
	return 0;
}

bool
sip_stream_open(struct sip_transport *t, const struct sockaddr *peer, socklen_t len)
{
	char key[160];
	struct sip_conn *c;
	(void)len;

	conn_key(key, sizeof(key), t, peer);
	c = hmap_get(t->stack->conns, key);
	return c != NULL && !c->closing;
}

void
sip_stream_hold(struct sip_transport *t, const struct sockaddr *peer, socklen_t len,
	int delta)
{
	char key[160];
	uintptr_t n;
	(void)len;

	conn_key(key, sizeof(key), t, peer);
	n = (uintptr_t)hmap_get(t->stack->holds, key);
	if (delta < 0 && n == 0)
		return;
	n = delta > 0 ? n + 1 : n - 1;
	hmap_del(t->stack->holds, key);
	if (n > 0)
		hmap_put(t->stack->holds, key, (void *)n);
}

bool
sip_stack_stream_input(struct sip_stack *s, struct sip_transport *t, const char *buf,
	size_t len, const struct sockaddr *src, socklen_t srclen)
{
	struct sip_conn *c;
	char key[160];

	if (!t->stream)
		return false;
	s->offline = true;
	conn_key(key, sizeof(key), t, src);
	if ((c = hmap_get(s->conns, key)) == NULL && conn_new(&c, t, -1, src, srclen) != 0)
		return false;
	if (evbuffer_add(c->in, buf, len) != 0)
		return true;
	conn_input(c);
	return hmap_get(s->conns, key) != NULL;
}

static void
collect(void *arg, const char *key, void *value)
{
	void ***v = arg;
	(void)key;
	*(*v)++ = value;
}

void
sip_stream_free_all(struct sip_stack *s)
{
	size_t n = hmap_count(s->conns);
	void **all = calloc(n + 1, sizeof(*all)), **p = all;

	if (all == NULL)
		return;
	hmap_foreach(s->conns, collect, &p);
	for (size_t i = 0; i < n; i++)
		conn_close(all[i], "shutting down");
	free(all);
}
