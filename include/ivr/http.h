/* The metrics page: /metrics in Prometheus text format 0.0.4 and /healthz, served by evhttp
 * on ivrd.http_listen (local-only by default).
 *
 * Names: "ivrd_" + the dotted name with every '.' (and any other character a Prometheus
 * name cannot hold) turned into '_'; counters end in "_total", added unless the name
 * already ends so ("call.total" -> ivrd_call_total, "menu.enter" -> ivrd_menu_enter_total).
 * Labels are the series' "k=v,k=v" pairs, values escaped as the format asks. */
#ifndef IVR_HTTP_H
#define IVR_HTTP_H

struct daemon;
struct http_metrics;

/* Listens on d->conf->http_listen; *hp is NULL when that is off. Logs why it cannot listen
 * and returns the errno. d must outlive the server. */
int http_metrics_new(struct http_metrics **hp, struct daemon *d);
void http_metrics_free(struct http_metrics *h);

#endif
