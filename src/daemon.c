/* Reload: a whole new generation is loaded and proven good before one pointer changes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ivr/call.h"
#include "ivr/callback.h"
#include "ivr/daemon.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/notify.h"
#include "ivr/prompt.h"
#include "ivr/rtp_session.h"
#include "ivr/util.h"

static void
journal_reload(struct daemon *d, uint64_t gen, const char *result, const struct conf_errors *e,
	const char *who, int64_t us)
{
	char detail[2048];
	size_t off = 0;
	struct journal_event ev = {
		.event = "config.reload", .result = result, .reason = who,
		.generation = (int64_t)gen, .duration_ms = us / 1000, .detail = detail,
	};

	detail[0] = '\0';
	for (size_t i = 0; e != NULL && i < e->nerrors; i++)
		str_appendf(detail, sizeof(detail), &off, "%s%s", i ? "\n" : "", e->errors[i]);
	journal_append(d->journal, &ev);
}

int
daemon_metrics(struct metrics **mp)
{
	static const struct {
		const char *name;
		enum metric_kind kind;
		bool labelled;
		const char *help;
	} all[] = {
		{"call.active", METRIC_GAUGE, false, "Calls in progress."},
		{"call.total", METRIC_COUNTER, false, "Calls answered or ringing since start."},
		{"call.rejected", METRIC_COUNTER, false,
			"INVITEs refused (no codec, no port, draining ...)."},
		{"call.end", METRIC_COUNTER, true, "Calls ended, by result."},
		{"call.refused", METRIC_COUNTER, true,
			"INVITEs refused at the door, by reason: untrusted (ivrd.sip.trusted), "
			"capacity (max_calls), source_capacity (max_calls_per_source)."},
		{"menu.enter", METRIC_COUNTER, true, "Callers entering a menu node."},
		{"menu.invalid", METRIC_COUNTER, true, "Invalid keys per menu node."},
		{"menu.timeout", METRIC_COUNTER, true, "No-input timeouts per menu node."},
		{"menu.drop", METRIC_COUNTER, true, "Callers who hung up at a menu node."},
		{"route.decision", METRIC_COUNTER, true, "Route decisions by department and result."},
		{"dtmf.rfc4733", METRIC_COUNTER, false, "Keys from RFC 4733 telephone-events."},
		{"dtmf.info", METRIC_COUNTER, false, "Keys from SIP INFO (dtmf-relay, dtmf)."},
		{"dtmf.inband", METRIC_COUNTER, false, "Keys heard as tones in the audio."},
		{"dtmf.duplicate", METRIC_COUNTER, false,
			"Keys dropped: the same press already came by another path."},
		{"transfer.result", METRIC_COUNTER, true, "Transfers by department and result."},
		{"config.generation", METRIC_GAUGE, false,
			"Configuration generation new calls start on."},
		{"config.reload.ok", METRIC_COUNTER, false, "Reloads that took effect."},
		{"config.reload.fail", METRIC_COUNTER, false,
			"Reloads refused (the old generation kept serving)."},
		{"callback.open", METRIC_GAUGE, false,
			"Callback promises open (waiting for a dial-back)."},
		{"callback.dialing", METRIC_GAUGE, false,
			"Callback promises with a dial-back in progress."},
		{"callback.overdue", METRIC_GAUGE, false,
			"Open callback promises past the time the caller was told."},
		{"callback.promised", METRIC_COUNTER, false, "Callback promises made."},
		{"callback.updated", METRIC_COUNTER, false,
			"Callback promises updated by the same caller asking again."},
		{"callback.attempts", METRIC_COUNTER, false, "Dial-backs started."},
		{"callback.kept", METRIC_COUNTER, false,
			"Callback promises kept (the caller reached the department)."},
		{"callback.broken", METRIC_COUNTER, false,
			"Callback promises broken (attempts used up or the window passed)."},
		{"callback.cancelled", METRIC_COUNTER, false,
			"Callback promises cancelled by the caller or by staff."},
	};
	int rc = metrics_new(mp);

	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(all); i++) {
		rc = metrics_declare(*mp, all[i].name, all[i].kind, all[i].help);
		/* present from the start, so an alert on the first failure has a series */
		if (rc == 0 && !all[i].labelled)
			metrics_set(*mp, all[i].name, NULL, 0);
	}
	return rc;
}

int
daemon_reload(struct daemon *d, struct conf_errors *e, const char *who)
{
	int64_t t0 = clock_mono_us();
	struct conf *c;
	int rc;

	memset(e, 0, sizeof(*e));
	if (d->reloading)
		return EBUSY;
	d->reloading = true;
	/* systemd holds "systemctl reload" until READY=1; the timestamp pairs it with this */
	notify_send("RELOADING=1\nMONOTONIC_USEC=%lld", (long long)t0);
	log_notice("config", "reloading %s (%s)", d->conf_path, who);
	rc = conf_load(&c, e, d->conf_path, d->cache, d->generation + 1);
	for (size_t i = 0; i < e->nerrors; i++)
		log_msg(LOG_PRIO_ERR, "config", NULL, "error: %s", e->errors[i]);
	for (size_t i = 0; i < e->nwarnings; i++)
		log_msg(LOG_PRIO_WARNING, "config", NULL, "warning: %s", e->warnings[i]);
	if (rc != 0) {
		log_err("config", "%s: %zu error%s; generation %llu keeps serving", d->conf_path,
			e->nerrors, e->nerrors == 1 ? "" : "s", (unsigned long long)d->generation);
		metrics_add(d->metrics, "config.reload.fail", NULL, 1);
		journal_reload(d, d->generation + 1, "refused", e, who, clock_mono_us() - t0);
		notify_send("READY=1");
		d->reloading = false;
		return rc;
	}
	if (c->nlisten != d->conf->nlisten ||
	    memcmp(c->listen, d->conf->listen, c->nlisten * sizeof(*c->listen)) != 0)
		log_warn("config", "sip.listen changed: takes effect at the next restart");
	if (strcmp(c->control_socket, d->conf->control_socket) != 0 ||
	    (c->control_group == NULL) != (d->conf->control_group == NULL) ||
	    (c->control_group != NULL && strcmp(c->control_group, d->conf->control_group) != 0))
		log_warn("config", "control_socket or control_group changed: takes effect at the "
			"next restart");
	if ((c->http_listen == NULL) != (d->conf->http_listen == NULL) ||
	    (c->http_listen != NULL && strcmp(c->http_listen, d->conf->http_listen) != 0))
		log_warn("config", "http_listen changed: takes effect at the next restart");
	if (strcmp(c->rtp_address, d->conf->rtp_address) != 0)
		log_warn("config", "rtp.address changed: takes effect at the next restart");
	rtp_pacer_set_ports(d->pacer, c->rtp_port_min, c->rtp_port_max);
	rtp_pacer_set_media(d->pacer, c->rtp_symmetric, c->rtp_timeout_ms, c->rtp_hold_timeout_ms);
	call_mgr_set_conf(d->calls, c);
	if (d->callbacks != NULL)
		callback_mgr_set_conf(d->callbacks, c);
	journal_set_retention(d->journal, (int)c->retention_days);
	d->generation = c->generation;
	log_notice("config", "generation %llu -> %llu in %.1f ms",
		(unsigned long long)d->conf->generation, (unsigned long long)c->generation,
		(double)(clock_mono_us() - t0) / 1000.0);
	conf_unref(d->conf);
	d->conf = c;
	/* prompts only the old generations still hold stay until their last call ends */
	prompt_cache_sweep(d->cache);
	metrics_add(d->metrics, "config.reload.ok", NULL, 1);
	metrics_set(d->metrics, "config.generation", NULL, (int64_t)d->generation);
	journal_reload(d, d->generation, "ok", e, who, clock_mono_us() - t0);
	notify_send("READY=1");
	d->reloading = false;
	return 0;
}
