/* status: version, uptime, generation, calls per menu node, departments, every counter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/call.h"
#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/daemon.h"
#include "ivr/journal.h"
#include "ivr/metrics.h"
#include "ivr/rtp_session.h"
#include "ivr/sip.h"
#include "ivr/util.h"
#include "srv.h"

static int srv_status(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_status_entry = {
	.name = "status",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.exec = srv_status,
};

/* Active calls counted by where they are and the generation they run on. */
struct node {
	char where[80];
	uint64_t generation;
	uint64_t calls;
};

struct nodes {
	struct node *v;
	size_t n, cap;
	int err;
};

static void
count_call(void *arg, const char *where, uint64_t generation)
{
	struct nodes *ns = arg;
	struct node *nv;
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (ns->v[i].generation == generation && strcmp(ns->v[i].where, where) == 0)
			break;
	if (i == ns->n) {
		if (ns->err != 0)
			return;
		if (ns->n == ns->cap) {
			size_t cap = ns->cap ? ns->cap * 2 : 16;
			if ((nv = realloc(ns->v, cap * sizeof(*nv))) == NULL) {
				ns->err = ENOMEM;
				return;
			}
			ns->v = nv;
			ns->cap = cap;
		}
		str_copy(ns->v[i].where, where, sizeof(ns->v[i].where));
		ns->v[i].generation = generation;
		ns->v[i].calls = 0;
		ns->n++;
	}
	ns->v[i].calls++;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	int c = strcmp(x->where, y->where);

	if (c != 0)
		return c;
	return x->generation < y->generation ? -1 : x->generation > y->generation;
}

/* The department's rules, from its "departments.NAME.hours = [...]" effective line: the
 * loader keeps no text of them, and the line is what it validated. */
static void
write_hours(struct json_out *w, const struct conf *c, const char *dept)
{
	char prefix[160];
	size_t plen;

	snprintf(prefix, sizeof(prefix), "departments.%s.hours = [", dept);
	plen = strlen(prefix);
	json_begin_arr(w, "hours");
	for (size_t i = 0; i < c->neffective; i++) {
		const char *p = c->effective[i];

		if (strncmp(p, prefix, plen) != 0)
			continue;
		/* rules cannot hold quotes: they would not have parsed */
		for (p += plen; (p = strchr(p, '"')) != NULL;) {
			const char *end = strchr(++p, '"');
			char rule[256];

			if (end == NULL)
				break;
			snprintf(rule, sizeof(rule), "%.*s", (int)(end - p), p);
			json_str(w, NULL, rule);
			p = end + 1;
		}
		break;
	}
	json_end_arr(w);
}

static void
write_departments(struct json_out *w, const struct daemon *d)
{
	static const char *const overrides[] = {"auto", "open", "closed"};
	const struct conf *c = d->conf;

	json_begin_arr(w, "departments");
	for (size_t i = 0; i < c->ndepts; i++) {
		const struct conf_dept *dp = &c->depts[i];
		enum dept_override o = call_mgr_dept_state(d->calls, dp->name);

		json_begin_obj(w, NULL);
		json_str(w, "name", dp->name);
		json_bool(w, "open", call_mgr_dept_open(d->calls, c, (int)i));
		json_str(w, "override", overrides[o]);
		write_hours(w, c, dp->name);
		json_str(w, "timezone", dp->timezone);
		json_end_obj(w);
	}
	json_end_arr(w);
}

/* The promise ledger now; absent when this daemon keeps none. */
static void
write_callbacks(struct json_out *w, const struct daemon *d)
{
	struct callback_stats cs;

	if (d->callbacks == NULL)
		return;
	callback_mgr_stats(d->callbacks, &cs);
	/* the gauges as of now, so "counters" agrees with the figures below */
	metrics_set(d->metrics, "callback.open", NULL, (int64_t)cs.open);
	metrics_set(d->metrics, "callback.dialing", NULL, (int64_t)cs.dialing);
	metrics_set(d->metrics, "callback.overdue", NULL, (int64_t)cs.overdue);
	json_begin_obj(w, "callbacks");
	json_uint(w, "open", cs.open);
	json_uint(w, "dialing", cs.dialing);
	json_uint(w, "overdue", cs.overdue);
	json_uint(w, "promised", cs.promised);
	json_uint(w, "updated", cs.updated);
	json_uint(w, "attempts", cs.attempts);
	json_uint(w, "kept", cs.kept);
	json_uint(w, "broken", cs.broken);
	json_uint(w, "cancelled", cs.cancelled);
	json_end_obj(w);
}

/* "name" or "name{labels}" -> value */
static void
write_counter(void *arg, const char *name, enum metric_kind kind, const char *help,
	const char *labels, int64_t value)
{
	struct json_out *w = arg;
	char key[256];
	(void)kind;
	(void)help;

	if (labels != NULL && *labels != '\0')
		snprintf(key, sizeof(key), "%s{%s}", name, labels);
	else
		snprintf(key, sizeof(key), "%s", name);
	json_int(w, key, value);
}

static void
write_subsystems(struct json_out *w, const struct daemon *d)
{
	struct journal_stats js;
	struct rtp_stats rs;
	struct sip_stats ss;

	journal_get_stats(d->journal, &js);
	json_begin_obj(w, "journal");
	json_uint(w, "appended", js.appended);
	json_uint(w, "committed", js.committed);
	json_uint(w, "failed", js.failed);
	json_uint(w, "batches", js.batches);
	json_int(w, "last_commit_us", js.last_commit_us);
	json_uint(w, "retention_removed", js.retention_removed);
	json_end_obj(w);

	rtp_pacer_stats(d->pacer, &rs);
	json_begin_obj(w, "rtp");
	json_uint(w, "sessions", rs.sessions);
	json_uint(w, "sent", rs.sent);
	json_uint(w, "late_ticks", rs.late_ticks);
	json_uint(w, "skipped_frames", rs.skipped_frames);
	json_uint(w, "received", rs.received);
	json_uint(w, "dtmf_keys", rs.dtmf_keys);
	json_uint(w, "inband_keys", rs.inband_keys);
	json_uint(w, "malformed", rs.malformed);
	json_uint(w, "send_errors", rs.send_errors);
	json_uint(w, "rtcp_sent", rs.rtcp_sent);
	json_uint(w, "rtcp_received", rs.rtcp_received);
	json_uint(w, "latched", rs.latched);
	json_uint(w, "inactive", rs.inactive);
	json_end_obj(w);

	sip_stack_stats(call_mgr_sip(d->calls), &ss);
	json_begin_obj(w, "sip");
	json_uint(w, "rx_requests", ss.rx_requests);
	json_uint(w, "rx_responses", ss.rx_responses);
	json_uint(w, "rx_malformed", ss.rx_malformed);
	json_uint(w, "rx_retransmits", ss.rx_retransmits);
	json_uint(w, "tx_messages", ss.tx_messages);
	json_uint(w, "tx_retransmits", ss.tx_retransmits);
	json_uint(w, "tx_timeouts", ss.tx_timeouts);
	json_uint(w, "tx_errors", ss.tx_errors);
	json_uint(w, "tcp_connections", ss.tcp_connections);
	json_uint(w, "tcp_accepted", ss.tcp_accepted);
	json_uint(w, "tcp_connected", ss.tcp_connected);
	json_uint(w, "tcp_closed", ss.tcp_closed);
	json_uint(w, "tcp_refused", ss.tcp_refused);
	json_end_obj(w);
}

static int
srv_status(struct json_out *w, const struct srv_req *r)
{
	const struct daemon *d = r->d;
	struct nodes ns = {0};
	struct call_stats cs;

	call_mgr_foreach(d->calls, count_call, &ns);
	if (ns.err != 0) {
		free(ns.v);
		return srv_fail(w, "out of memory");
	}
	if (ns.n > 1)
		qsort(ns.v, ns.n, sizeof(*ns.v), node_cmp);
	call_mgr_stats(d->calls, &cs);

	json_str(w, "version", IVRD_VERSION);
	json_int(w, "pid", (int64_t)getpid());
	json_int(w, "uptime_s", (clock_mono_ms() - d->started_mono_ms) / 1000);
	json_int(w, "started", d->started_wall_ms);
	json_uint(w, "generation", d->generation);
	json_bool(w, "stopping", d->stopping);

	json_begin_obj(w, "calls");
	json_uint(w, "active", cs.active);
	json_uint(w, "total", cs.total);
	json_uint(w, "answered", cs.answered);
	json_uint(w, "rejected", cs.rejected);
	json_uint(w, "cancelled", cs.cancelled);
	json_uint(w, "drops", cs.drops);
	json_uint(w, "transfers", cs.transfers);
	json_uint(w, "transfers_ok", cs.transfers_ok);
	json_uint(w, "transfers_failed", cs.transfers_failed);
	json_begin_arr(w, "nodes");
	for (size_t i = 0; i < ns.n; i++) {
		json_begin_obj(w, NULL);
		json_str(w, "where", ns.v[i].where);
		json_uint(w, "generation", ns.v[i].generation);
		json_uint(w, "calls", ns.v[i].calls);
		json_end_obj(w);
	}
	json_end_arr(w);
	json_end_obj(w);
	free(ns.v);

	write_departments(w, d);
	write_callbacks(w, d);
	json_begin_obj(w, "counters");
	metrics_foreach(d->metrics, write_counter, w);
	json_end_obj(w);
	write_subsystems(w, d);
	return 0;
}
