/* The metrics page: /metrics in Prometheus text format 0.0.4 and /healthz, served by evhttp
 * on ivrd.http_listen (local-only by default).
 *
 * Names: "ivrd_" + the dotted name with every '.' (and any other character a Prometheus
 * name cannot hold) turned into '_'; counters end in "_total", added unless the name
 * already ends so ("call.total" -> ivrd_call_total, "menu.enter" -> ivrd_menu_enter_total).
 * Labels are the series' "k=v,k=v" pairs, values escaped as the format asks. */
#ifndef IVR_HTTP_H
#define IVR_HTTP_H

#include <stdbool.h>

struct daemon;
struct http_metrics;

/* Listens on d->conf->http_listen; *hp is NULL when that is off. Logs why it cannot listen
 * and returns the errno. d must outlive the server. */
int http_metrics_new(struct http_metrics **hp, struct daemon *d);
void http_metrics_free(struct http_metrics *h);

/* The read-only QA dashboard, served by the same evhttp (ivrd.dashboard): "/" (today's
 * figures and charts), "/trace?call_id=ID", "/assets/NAME" (embedded in ivrd), and the JSON
 * API "GET /api/KIND?NAME=VALUE..." for KIND calls, trace, transfers, drops, callbacks,
 * caller, report: report_write()'s JSON, byte for byte what "ivrctl KIND --json --NAME
 * VALUE" prints (numbers masked unless ivrd.dashboard.full_numbers).
 *
 * Answers: 400 {"error": "..."} for bad arguments, 404 for an unknown call or number, 405
 * for methods other than GET and HEAD, 501 for a kind not built, 503 with Retry-After when
 * the query queue is full; 401 without the token when one is set, 403 for peers that are
 * not loopback when http_listen is not loopback and no token is set.
 *
 * Reports run on a worker thread with its own read-only journal connection, never on the
 * event loop (it carries RTP); answers come back through an eventfd. */
struct evhttp_request;
struct dashboard;

int dashboard_new(struct dashboard **dp, struct daemon *d);
/* Whether path is one of the dashboard's (and it is enabled in the running configuration). */
bool dashboard_serves(const struct dashboard *dash, const char *path);
void dashboard_request(struct dashboard *dash, struct evhttp_request *req);
/* Stops the worker; requests still waiting get 503. Before evhttp_free. */
void dashboard_free(struct dashboard *dash);

#endif
