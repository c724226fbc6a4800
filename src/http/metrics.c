/* The metrics page: the registry's series, plus what the journal, RTP and SIP count on their
 * own, read at scrape time; and a health check. Only two paths exist, both answered from
 * memory, so a scraper can neither walk the disk nor hold the daemon up for long. The
 * dashboard's paths go to dashboard.c, whose reports run off the event loop. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/util.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ivr/call.h"
#include "ivr/callback.h"
#include "ivr/daemon.h"
#include "ivr/http.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/rtp_session.h"
#include "ivr/sip.h"
#include "ivr/util.h"

/* A scraper sends a request line and a few headers; nothing needs more. */
#define MAX_HEADERS 8192
#define MAX_BODY 4096
#define TIMEOUT_S 10
#define BACKLOG 16

struct http_metrics {
	struct daemon *d;
	struct evhttp *http;
	struct dashboard *dash; /* "/", "/trace", "/assets/", "/api/" */
};

struct scrape {
	struct evbuffer *out;
	char family[128]; /* the metric whose HELP and TYPE were written last */
};

/* Text format 0.0.4: HELP text escapes \ and newline; label values also escape ". */
static void
put_escaped(struct evbuffer *out, const char *s, size_t len, bool quote)
{
	while (len > 0) {
		size_t n = 0;

		while (n < len && s[n] != '\\' && s[n] != '\n' && !(quote && s[n] == '"'))
			n++;
		evbuffer_add(out, s, n);
		if (n == len)
			break;
		evbuffer_add(out, s[n] == '\n' ? "\\n" : s[n] == '"' ? "\\\"" : "\\\\", 2);
		s += n + 1;
		len -= n + 1;
	}
}

static char
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ?
		c : '_';
}

/* "ivrd_" + the dotted name; a counter ends in "_total" once, even if its name has it. */
static void
prom_name(char *buf, size_t size, const char *dotted, enum metric_kind kind)
{
	size_t off = 0;

	str_appendf(buf, size, &off, "ivrd_");
	for (const char *p = dotted; *p != '\0' && off + 1 < size; p++)
		buf[off++] = name_char(*p);
	buf[off] = '\0';
	if (kind == METRIC_COUNTER && (off < 6 || strcmp(buf + off - 6, "_total") != 0))
		str_appendf(buf, size, &off, "_total");
}

/* The registry's "k=v,k=v" as {k="v",k="v"}. */
static void
put_labels(struct evbuffer *out, const char *labels)
{
	const char *p = labels;

	if (*p == '\0')
		return;
	evbuffer_add(out, "{", 1);
	while (*p != '\0') {
		size_t klen = strcspn(p, "=,"), vlen;

		for (size_t i = 0; i < klen; i++) {
			char c = name_char(p[i]);
			evbuffer_add(out, &c, 1);
		}
		p += klen;
		if (*p == '=')
			p++;
		vlen = strcspn(p, ",");
		evbuffer_add(out, "=\"", 2);
		put_escaped(out, p, vlen, true);
		evbuffer_add(out, "\"", 1);
		p += vlen;
		if (*p == ',' && *++p != '\0')
			evbuffer_add(out, ",", 1);
	}
	evbuffer_add(out, "}", 1);
}

/* One sample line, preceded by HELP and TYPE when it starts a new metric; series of a
 * metric must come together, which the callers' order guarantees. */
static void
sample(struct scrape *s, const char *dotted, enum metric_kind kind, const char *help,
	const char *labels, const char *value)
{
	char name[128];

	prom_name(name, sizeof(name), dotted, kind);
	if (strcmp(name, s->family) != 0) {
		if (*help != '\0') {
			evbuffer_add_printf(s->out, "# HELP %s ", name);
			put_escaped(s->out, help, strlen(help), false);
			evbuffer_add(s->out, "\n", 1);
		}
		evbuffer_add_printf(s->out, "# TYPE %s %s\n", name,
			kind == METRIC_COUNTER ? "counter" : "gauge");
		str_copy(s->family, name, sizeof(s->family));
	}
	evbuffer_add_printf(s->out, "%s", name);
	put_labels(s->out, labels);
	evbuffer_add_printf(s->out, " %s\n", value);
}

static void
put_series(void *arg, const char *name, enum metric_kind kind, const char *help,
	const char *labels, int64_t value)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRId64, value);
	sample(arg, name, kind, help, labels, v);
}

/* What the journal, the media tick and the SIP stack keep themselves, read now. */
static void
put_stats(struct scrape *s, const struct daemon *d)
{
	struct journal_stats js;
	struct rtp_stats rs;
	struct sip_stats ss;
	char v[32];

	journal_get_stats(d->journal, &js);
	rtp_pacer_stats(d->pacer, &rs);
	sip_stack_stats(call_mgr_sip(d->calls), &ss);
	const struct {
		const char *name;
		enum metric_kind kind;
		const char *help;
		uint64_t value;
	} all[] = {
		{"journal.appended", METRIC_COUNTER, "Journal events queued for writing.", js.appended},
		{"journal.committed", METRIC_COUNTER, "Journal events committed to disk.",
			js.committed},
		{"journal.failed", METRIC_COUNTER, "Journal events that could not be written.",
			js.failed},
		{"journal.retention.removed", METRIC_COUNTER,
			"Journal events removed by retention (ivrd.retention_days).",
			js.retention_removed},
		{"rtp.sent", METRIC_COUNTER, "RTP packets sent.", rs.sent},
		{"rtp.send.errors", METRIC_COUNTER, "RTP packets the kernel refused to send.",
			rs.send_errors},
		{"rtp.tick.late", METRIC_COUNTER, "Media ticks that ran late.", rs.late_ticks},
		{"rtp.frames.skipped", METRIC_COUNTER,
			"Prompt frames skipped to catch up after a late tick.", rs.skipped_frames},
		{"rtp.received", METRIC_COUNTER, "RTP packets received.", rs.received},
		{"rtp.dtmf.keys", METRIC_COUNTER, "RFC 4733 key presses received.", rs.dtmf_keys},
		{"rtp.malformed", METRIC_COUNTER, "RTP and RTCP packets dropped as malformed.",
			rs.malformed},
		{"rtp.rtcp.sent", METRIC_COUNTER, "RTCP compound packets sent.", rs.rtcp_sent},
		{"rtp.rtcp.received", METRIC_COUNTER, "Valid RTCP compound packets received.",
			rs.rtcp_received},
		{"rtp.latched", METRIC_COUNTER,
			"Symmetric RTP: streams sent on to where the caller's RTP came from.", rs.latched},
		{"rtp.inactive", METRIC_COUNTER, "Calls with no media for rtp.timeout.", rs.inactive},
		{"rtp.sessions", METRIC_GAUGE, "RTP sessions open.", rs.sessions},
		{"sip.rx.requests", METRIC_COUNTER, "SIP requests received.", ss.rx_requests},
		{"sip.rx.responses", METRIC_COUNTER, "SIP responses received.", ss.rx_responses},
		{"sip.rx.malformed", METRIC_COUNTER, "SIP messages dropped as malformed.",
			ss.rx_malformed},
		{"sip.rx.retransmits", METRIC_COUNTER, "Retransmissions received and absorbed.",
			ss.rx_retransmits},
		{"sip.tx.retransmits", METRIC_COUNTER, "Retransmissions sent.", ss.tx_retransmits},
		{"sip.tx.timeouts", METRIC_COUNTER, "Transactions that timed out.", ss.tx_timeouts},
		{"sip.tx.errors", METRIC_COUNTER, "SIP messages that could not be sent.",
			ss.tx_errors},
		{"sip.tcp.connections", METRIC_GAUGE, "SIP TCP connections open.",
			ss.tcp_connections},
		{"sip.tcp.accepted", METRIC_COUNTER, "SIP TCP connections accepted.",
			ss.tcp_accepted},
		{"sip.tcp.connected", METRIC_COUNTER, "SIP TCP connections opened by ivrd.",
			ss.tcp_connected},
		{"sip.tcp.closed", METRIC_COUNTER, "SIP TCP connections closed.", ss.tcp_closed},
		{"sip.tcp.refused", METRIC_COUNTER,
			"SIP TCP connections refused (max_connections).", ss.tcp_refused},
	};

	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		snprintf(v, sizeof(v), "%" PRIu64, all[i].value);
		sample(s, all[i].name, all[i].kind, all[i].help, "", v);
	}
	snprintf(v, sizeof(v), "%.6f", (double)js.last_commit_us / 1e6);
	sample(s, "journal.commit.seconds", METRIC_GAUGE, "Duration of the last journal commit.",
		"", v);
	snprintf(v, sizeof(v), "%.3f", (double)(clock_mono_ms() - d->started_mono_ms) / 1e3);
	sample(s, "uptime.seconds", METRIC_GAUGE, "Seconds since ivrd started serving.", "", v);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_metrics *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct scrape s = {.out = evbuffer_new()};
	const char *type = "text/plain; charset=utf-8", *reason = "OK";
	int code = 200;

	if (dashboard_serves(h->dash, path)) {
		evbuffer_free(s.out);
		dashboard_request(h->dash, req);
		return;
	}
	if (s.out == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	if (path == NULL || (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0)) {
		code = 404;
		reason = "Not Found";
		evbuffer_add_printf(s.out, "not found\n");
	} else if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		code = 405;
		reason = "Method Not Allowed";
		evhttp_add_header(hdr, "Allow", "GET, HEAD");
		evbuffer_add_printf(s.out, "method not allowed\n");
	} else if (strcmp(path, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		if (h->d->callbacks != NULL) {
			/* overdue grows with the clock alone: count it at scrape time */
			struct callback_stats cs;
			callback_mgr_stats(h->d->callbacks, &cs);
			metrics_set(h->d->metrics, "callback.open", NULL, (int64_t)cs.open);
			metrics_set(h->d->metrics, "callback.dialing", NULL, (int64_t)cs.dialing);
			metrics_set(h->d->metrics, "callback.overdue", NULL, (int64_t)cs.overdue);
		}
		metrics_foreach(h->d->metrics, put_series, &s);
		put_stats(&s, h->d);
	} else if (h->d->stopping) {
		code = 503;
		reason = "Service Unavailable";
		evbuffer_add_printf(s.out, "draining\n");
	} else {
		evbuffer_add_printf(s.out, "ok\n");
	}
	evhttp_add_header(hdr, "Content-Type", type);
	if (method == EVHTTP_REQ_HEAD) {
		/* evhttp drops a HEAD reply's body without saying how long it was */
		char n[24];
		snprintf(n, sizeof(n), "%zu", evbuffer_get_length(s.out));
		evhttp_add_header(hdr, "Content-Length", n);
	}
	evhttp_send_reply(req, code, reason, s.out);
	evbuffer_free(s.out);
}

int
http_metrics_new(struct http_metrics **hp, struct daemon *d)
{
	const char *addr = d->conf->http_listen;
	struct http_metrics *h = NULL;
	struct sockaddr_storage ss;
	int len = sizeof(ss), fd = -1, one = 1, rc = 0;

	*hp = NULL;
	if (addr == NULL)
		return 0;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) != 0) {
		rc = EINVAL;
		log_err("http", "%s: not ADDRESS:PORT", addr);
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->http = evhttp_new(d->base)) == NULL) {
		rc = ENOMEM;
		log_err("http", "out of memory");
		goto out;
	}
	h->d = d;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* a restart must not wait for the old process's connections in TIME_WAIT */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 || listen(fd, BACKLOG) != 0) {
		rc = errno;
		log_err("http", "cannot listen on %s: %s", addr, strerror(rc));
		goto out;
	}
	if (evhttp_accept_socket_with_handle(h->http, fd) == NULL) {
		rc = ENOMEM;
		log_err("http", "cannot serve on %s: out of memory", addr);
		goto out;
	}
	fd = -1; /* the listener closes it */
	/* every method reaches on_request, which answers 405 (evhttp itself would say 501) */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
		EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->http, MAX_HEADERS);
	evhttp_set_max_body_size(h->http, MAX_BODY);
	evhttp_set_timeout(h->http, TIMEOUT_S);
	evhttp_set_gencb(h->http, on_request, h);
	if ((rc = dashboard_new(&h->dash, d)) != 0)
		goto out;
	log_notice("http", "serving /metrics and /healthz on %s", addr);
	if (d->conf->dashboard)
		log_notice("http", "serving the dashboard on http://%s/", addr);
	*hp = h;
	h = NULL;
out:
	if (fd >= 0)
		close(fd);
	http_metrics_free(h);
	return rc;
}

void
http_metrics_free(struct http_metrics *h)
{
	if (h == NULL)
		return;
	dashboard_free(h->dash); /* answers what it holds while connections live */
	if (h->http != NULL)
		evhttp_free(h->http);
	free(h);
}
