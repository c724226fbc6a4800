/* The QA dashboard: pages embedded in ivrd and a JSON API over the report library. Every
 * report runs on one worker thread with its own read-only journal connection: the event
 * loop carries RTP every 10 ms, and a month's report may take a second. The loop parses and
 * checks the arguments, queues a job (bounded), and answers when the worker hands the
 * document back through an eventfd (as the journal's writer does). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <netinet/in.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "assets.h"
#include "ivr/daemon.h"
#include "ivr/http.h"
#include "ivr/json.h"
#include "ivr/journal_query.h"
#include "ivr/log.h"
#include "ivr/report.h"
#include "ivr/util.h"

/* Reports queued or running at once; more get 503 (a browser asks for five per page). */
#define MAX_JOBS 16
#define COOKIE "ivrd_dashboard"

struct job {
	struct job *next;
	struct evhttp_request *req;
	struct report_args args;
	bool head;
	int rc;
	char err[256];
	char *body;
	size_t len;
};

struct dashboard {
	struct daemon *d;
	char journal_path[PATH_MAX];
	bool listen_loopback; /* http_listen is a loopback address */

	pthread_t worker;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job *todo, **todo_tail; /* for the worker, oldest first */
	struct job *done;             /* for the loop to answer */
	size_t njobs;                 /* queued, running or done but not answered */
	bool stopping;
	struct journal_query *q;      /* the worker's, once open: interrupted when stopping */

	int efd;
	struct event *ev;
};

static bool
addr_loopback(const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Secrets are compared as digests: equal length, every byte looked at. */
static void
digest(uint8_t out[SHA256_DIGEST_SIZE], const char *s, size_t len)
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, 16, (const uint8_t *)"ivrd-dashboard:\n");
	sha256_update(&c, len, (const uint8_t *)s);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static bool
secret_equal(const char *given, size_t len, const char *token)
{
	uint8_t a[SHA256_DIGEST_SIZE], b[SHA256_DIGEST_SIZE];
	uint8_t diff = 0;

	digest(a, given, len);
	digest(b, token, strlen(token));
	for (size_t i = 0; i < sizeof(a); i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* The cookie holds a digest of the token, not the token. */
static void
cookie_value(char *buf, size_t size, const char *token)
{
	uint8_t h[SHA256_DIGEST_SIZE];
	size_t off = 0;

	digest(h, token, strlen(token));
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(h); i++)
		str_appendf(buf, size, &off, "%02x", h[i]);
}

static void
security_headers(struct evkeyvalq *hdr)
{
	evhttp_add_header(hdr, "Content-Security-Policy", "default-src 'self'");
	evhttp_add_header(hdr, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(hdr, "Referrer-Policy", "no-referrer");
	evhttp_add_header(hdr, "X-Frame-Options", "DENY");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
}

/* Every answer goes out here, and req is not touched after it. A client gone before its
 * answer: libevent 2.1 either noticed (a timeout or EOF detaches the unanswered request from
 * its freed connection and leaves it to us; evhttp_send_reply then frees it) or fails the
 * write and frees connection and request itself. */
static void
reply(struct evhttp_request *req, bool head, int code, const char *reason, const char *type,
	const void *body, size_t len)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	char n[24];

	security_headers(hdr);
	evhttp_add_header(hdr, "Content-Type", type);
	if (head) {
		/* evhttp drops a HEAD reply's body without saying how long it was */
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(hdr, "Content-Length", n);
	}
	if (out == NULL || (len > 0 && evbuffer_add(out, body, len) != 0)) {
		if (out != NULL)
			evbuffer_free(out);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
reply_error(struct evhttp_request *req, bool head, int code, const char *reason,
	const char *msg)
{
	char *body = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&body, &len);

	if (fp == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	fputs("{\"error\": ", fp);
	json_write_string(fp, msg);
	fputs("}\n", fp);
	if (fclose(fp) != 0) {
		free(body);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	reply(req, head, code, reason, "application/json", body, len);
	free(body);
}

static void
answer_job(struct job *j)
{
	if (evhttp_request_get_connection(j->req) == NULL)
		log_debug("http", "dashboard: /api/%s: the client left before its answer",
			report_kind_name(j->args.kind));
	switch (j->rc) {
	case 0:
		reply(j->req, j->head, 200, "OK", "application/json", j->body, j->len);
		break;
	case ENOENT:
		reply_error(j->req, j->head, 404, "Not Found", j->err);
		break;
	case EINVAL:
		reply_error(j->req, j->head, 400, "Bad Request", j->err);
		break;
	case ENOSYS:
		reply_error(j->req, j->head, 501, "Not Implemented", *j->err != '\0' ? j->err :
			"this report is not available yet");
		break;
	case ECANCELED:
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Retry-After", "1");
		reply_error(j->req, j->head, 503, "Service Unavailable", "ivrd is stopping");
		break;
	default:
		reply_error(j->req, j->head, 500, "Internal Server Error", *j->err != '\0' ?
			j->err : strerror(j->rc));
		break;
	}
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}

static void
run_job(struct dashboard *dash, struct journal_query **qp, struct job *j)
{
	FILE *fp;

	if (*qp == NULL) {
		j->rc = journal_query_open(qp, dash->journal_path, j->err, sizeof(j->err));
		if (j->rc != 0) {
			if (j->rc == ENOENT)
				snprintf(j->err, sizeof(j->err), "no journal yet");
			j->rc = j->rc == ENOENT ? EIO : j->rc;
			return;
		}
		pthread_mutex_lock(&dash->lock);
		dash->q = *qp;
		pthread_mutex_unlock(&dash->lock);
	}
	fp = open_memstream(&j->body, &j->len);
	if (fp == NULL) {
		j->rc = errno;
		return;
	}
	j->rc = report_write(fp, OUTPUT_JSON, *qp, &j->args, j->err, sizeof(j->err));
	if (fclose(fp) != 0 && j->rc == 0)
		j->rc = ENOMEM;
}

static void *
worker_main(void *arg)
{
	struct dashboard *dash = arg;
	struct journal_query *q = NULL;
	uint64_t one = 1;

	pthread_mutex_lock(&dash->lock);
	for (;;) {
		struct job *j;

		while (!dash->stopping && dash->todo == NULL)
			pthread_cond_wait(&dash->work, &dash->lock);
		if (dash->stopping)
			break;
		j = dash->todo;
		dash->todo = j->next;
		if (dash->todo == NULL)
			dash->todo_tail = &dash->todo;
		pthread_mutex_unlock(&dash->lock);

		run_job(dash, &q, j);

		pthread_mutex_lock(&dash->lock);
		j->next = dash->done;
		dash->done = j;
		if (write(dash->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("http", "dashboard: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&dash->lock);
	journal_query_close(q);
	return NULL;
}

/* The loop's side: answer what the worker finished. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct dashboard *dash = arg;
	struct job *done, *rev = NULL;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("http", "dashboard: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&dash->lock);
	done = dash->done;
	dash->done = NULL;
	pthread_mutex_unlock(&dash->lock);
	while (done != NULL) { /* oldest first */
		struct job *next = done->next;
		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev != NULL) {
		struct job *next = rev->next;
		answer_job(rev);
		dash->njobs--;
		job_free(rev);
		rev = next;
	}
}

static const struct dash_asset *
asset(const char *name)
{
	for (const struct dash_asset *a = dash_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* The asset a page path names, NULL for the API and others. */
static const struct dash_asset *
page_asset(const char *path)
{
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		return asset("index.html");
	if (strcmp(path, "/trace") == 0)
		return asset("trace.html");
	if (strncmp(path, "/assets/", 8) == 0 && strchr(path + 8, '/') == NULL &&
	    strcmp(path + 8, "index.html") != 0 && strcmp(path + 8, "trace.html") != 0)
		return asset(path + 8);
	return NULL;
}

bool
dashboard_serves(const struct dashboard *dash, const char *path)
{
	if (dash == NULL || path == NULL || !dash->d->conf->dashboard)
		return false;
	return strncmp(path, "/api/", 5) == 0 || page_asset(path) != NULL;
}

/* The value of one cookie in a Cookie header, or NULL. */
static const char *
find_cookie(const char *hdr, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (const char *p = hdr; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t l = strcspn(p, ";");
		if (l > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			*len = l - nl - 1;
			return p + nl + 1;
		}
		p += l;
	}
	return NULL;
}

/* The request's URI without its token parameter, for the redirect after ?token=. */
static void
strip_token(char *buf, size_t size, const char *path, const char *query)
{
	size_t off = 0;
	char sep = '?';

	buf[0] = '\0';
	str_appendf(buf, size, &off, "%s", path);
	for (const char *p = query; p != NULL && *p != '\0';) {
		size_t l = strcspn(p, "&");
		if (l > 0 && !(l >= 5 && strncmp(p, "token", 5) == 0 && (l == 5 || p[5] == '='))) {
			str_appendf(buf, size, &off, "%c%.*s", sep, (int)l, p);
			sep = '&';
		}
		p += l;
		if (*p == '&')
			p++;
	}
}

enum access { ACCESS_OK, ACCESS_REDIRECT, ACCESS_DENIED, ACCESS_FORBIDDEN };

/* A token (header, cookie or ?token=) or, without one, a peer allowed in; ?token= on a page
 * gets a cookie and a redirect to the URL without it, so the token leaves the address bar. */
static enum access
check_access(struct dashboard *dash, struct evhttp_request *req, const struct evkeyvalq *params,
	bool page)
{
	const char *token = dash->d->conf->dashboard_token;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *auth, *cookie, *qt, *c;
	size_t len;

	if (token == NULL) {
		struct evhttp_connection *con = evhttp_request_get_connection(req);
		if (!dash->listen_loopback && (con == NULL ||
			!addr_loopback(evhttp_connection_get_addr(con))))
			return ACCESS_FORBIDDEN;
		return ACCESS_OK;
	}
	auth = evhttp_find_header(in, "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    secret_equal(auth + 7, strlen(auth + 7), token))
		return ACCESS_OK;
	cookie = evhttp_find_header(in, "Cookie");
	if ((c = find_cookie(cookie, COOKIE, &len)) != NULL) {
		char want[2 * SHA256_DIGEST_SIZE + 1];
		cookie_value(want, sizeof(want), token);
		if (len == strlen(want)) {
			uint8_t diff = 0;
			for (size_t i = 0; i < len; i++)
				diff |= (uint8_t)(c[i] ^ want[i]);
			if (diff == 0)
				return ACCESS_OK;
		}
	}
	qt = evhttp_find_header(params, "token");
	if (qt != NULL && secret_equal(qt, strlen(qt), token))
		return page ? ACCESS_REDIRECT : ACCESS_OK;
	return ACCESS_DENIED;
}

static void
serve_page(struct evhttp_request *req, bool head, const struct dash_asset *a)
{
	reply(req, head, 200, "OK", a->type, a->data, a->len);
}

static void
serve_api(struct dashboard *dash, struct evhttp_request *req, bool head, const char *kind,
	const struct evkeyvalq *params)
{
	struct job *j;
	enum report_kind k;
	char err[256] = "";

	if (report_kind_parse(&k, kind) != 0 || k == REPORT_EXPORT) {
		reply_error(req, head, 404, "Not Found", "no such report (calls, trace, transfers, "
			"drops, callbacks, caller, report)");
		return;
	}
	if (dash->njobs >= MAX_JOBS) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		reply_error(req, head, 503, "Service Unavailable", "busy: too many reports at once");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(req, head, 503, "Service Unavailable", "out of memory");
		return;
	}
	report_args_init(&j->args, k, clock_wall_ms());
	for (const struct evkeyval *kv = params->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		int rc;
		if (strcmp(kv->key, "token") == 0)
			continue;
		rc = report_arg(&j->args, kv->key, kv->value, err, sizeof(err));
		if (rc == ENOENT && *err == '\0')
			snprintf(err, sizeof(err), "%s takes no argument %s", kind, kv->key);
		if (rc != 0) {
			reply_error(req, head, 400, "Bad Request", err);
			free(j);
			return;
		}
	}
	if (report_args_check(&j->args, err, sizeof(err)) != 0) {
		reply_error(req, head, 400, "Bad Request", err);
		free(j);
		return;
	}
	if (!dash->d->conf->dashboard_full_numbers)
		j->args.mask = true;
	j->req = req;
	j->head = head;
	pthread_mutex_lock(&dash->lock);
	*dash->todo_tail = j;
	dash->todo_tail = &j->next;
	dash->njobs++;
	pthread_cond_signal(&dash->work);
	pthread_mutex_unlock(&dash->lock);
}

void
dashboard_request(struct dashboard *dash, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const struct dash_asset *page = page_asset(path);
	bool head = method == EVHTTP_REQ_HEAD;
	struct evkeyvalq params;

	TAILQ_INIT(&params);
	if (method != EVHTTP_REQ_GET && !head) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_error(req, false, 405, "Method Not Allowed", "the dashboard is read-only: "
			"GET and HEAD only");
		return;
	}
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0) {
		reply_error(req, head, 400, "Bad Request", "the query string is not "
			"NAME=VALUE&... with %-escapes");
		return;
	}
	switch (check_access(dash, req, &params, page != NULL)) {
	case ACCESS_OK:
		break;
	case ACCESS_FORBIDDEN:
		reply_error(req, head, 403, "Forbidden", "the dashboard is served to this machine "
			"only: set ivrd.dashboard.token to serve it further");
		goto out;
	case ACCESS_DENIED:
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
			"Bearer realm=\"ivrd\"");
		reply_error(req, head, 401, "Unauthorized", "a token is needed: Authorization: "
			"Bearer TOKEN, or ?token=TOKEN once");
		goto out;
	case ACCESS_REDIRECT: {
		struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
		char loc[2048], cookie[160], v[2 * SHA256_DIGEST_SIZE + 1];
		cookie_value(v, sizeof(v), dash->d->conf->dashboard_token);
		snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", v);
		strip_token(loc, sizeof(loc), path, query);
		evhttp_add_header(hdr, "Set-Cookie", cookie);
		evhttp_add_header(hdr, "Location", loc);
		reply(req, head, 303, "See Other", "text/plain; charset=utf-8", "", 0);
		goto out;
	}
	}
	if (page != NULL)
		serve_page(req, head, page);
	else
		serve_api(dash, req, head, path + 5, &params);
out:
	evhttp_clear_headers(&params);
}

int
dashboard_new(struct dashboard **dp, struct daemon *d)
{
	struct dashboard *dash = calloc(1, sizeof(*dash));
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc = 0;
	sigset_t all, old;

	*dp = NULL;
	if (dash == NULL)
		return ENOMEM;
	dash->d = d;
	dash->efd = -1;
	dash->todo_tail = &dash->todo;
	pthread_mutex_init(&dash->lock, NULL);
	pthread_cond_init(&dash->work, NULL);
	snprintf(dash->journal_path, sizeof(dash->journal_path), "%s/journal.db",
		d->conf->state_dir);
	dash->listen_loopback = d->conf->http_listen != NULL &&
		evutil_parse_sockaddr_port(d->conf->http_listen, (struct sockaddr *)&ss, &len) == 0 &&
		addr_loopback((struct sockaddr *)&ss);
	dash->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dash->efd < 0) {
		rc = errno;
		log_err("http", "dashboard: eventfd: %s", strerror(rc));
		goto out;
	}
	dash->ev = event_new(d->base, dash->efd, EV_READ | EV_PERSIST, on_done, dash);
	if (dash->ev == NULL || event_add(dash->ev, NULL) != 0) {
		rc = ENOMEM;
		log_err("http", "dashboard: out of memory");
		goto out;
	}
	/* signals are the loop's business, never the worker's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&dash->worker, NULL, worker_main, dash);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_err("http", "dashboard: cannot start its worker: %s", strerror(rc));
		goto out;
	}
	dash->started = true;
	*dp = dash;
	dash = NULL;
out:
	dashboard_free(dash);
	return rc;
}

void
dashboard_free(struct dashboard *dash)
{
	struct job *j;

	if (dash == NULL)
		return;
	if (dash->started) {
		pthread_mutex_lock(&dash->lock);
		dash->stopping = true;
		/* a month's report may run for seconds: ivrd stops now, the answer is 503 */
		if (dash->q != NULL)
			journal_query_interrupt(dash->q);
		pthread_cond_signal(&dash->work);
		pthread_mutex_unlock(&dash->lock);
		pthread_join(dash->worker, NULL);
	}
	/* answered now, before evhttp_free frees their connections */
	if (dash->ev != NULL)
		on_done(dash->efd, EV_READ, dash);
	while ((j = dash->todo) != NULL) {
		dash->todo = j->next;
		j->rc = ECANCELED;
		answer_job(j);
		job_free(j);
	}
	if (dash->ev != NULL)
		event_free(dash->ev);
	if (dash->efd >= 0)
		close(dash->efd);
	pthread_cond_destroy(&dash->work);
	pthread_mutex_destroy(&dash->lock);
	free(dash);
}
