/* ivrd: answers calls, walks callers through the menus, routes them, journals it all. */
#include <sys/time.h>
#include <time.h>

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <osip2/osip.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/call.h"
#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/ctl_server.h"
#include "ivr/daemon.h"
#include "ivr/http.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/metrics.h"
#include "ivr/notify.h"
#include "ivr/prompt.h"
#include "ivr/rtp_session.h"
#include "ivr/util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: ivrd [-t] [-d] [-T sip,rtp,menu] [-c FILE]\n"
		   "  -c FILE  configuration (default /etc/ivrd/ivrd.conf)\n"
		   "  -t       check the configuration, list every problem, and exit\n"
		   "  -d       log debug messages\n"
		   "  -T LIST  trace subsystems: sip, rtp, menu\n"
		   "  -V       print the version\n");
}

static void
print_problems(const struct conf_errors *e, const char *prefix)
{
	for (size_t i = 0; i < e->nerrors; i++)
		log_msg(LOG_PRIO_ERR, prefix, NULL, "error: %s", e->errors[i]);
	for (size_t i = 0; i < e->nwarnings; i++)
		log_msg(LOG_PRIO_WARNING, prefix, NULL, "warning: %s", e->warnings[i]);
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct conf_errors e;
	(void)sig;
	(void)what;

	daemon_reload(d, &e, "SIGHUP");
	conf_errors_free(&e);
}

/* The graceful stop: new calls get 503 while those in progress finish, up to drain_time. */
struct drain {
	struct daemon *d;
	struct event *tick;
	int64_t deadline_ms;
};

static void
drain_finish(struct drain *dr)
{
	call_mgr_end_all(dr->d->calls, "daemon stopping");
	event_base_loopexit(dr->d->base, NULL);
}

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct drain *dr = arg;
	struct call_stats st;
	(void)fd;
	(void)what;

	call_mgr_stats(dr->d->calls, &st);
	if (st.active == 0)
		log_notice("ivrd", "drained: every call finished");
	else if (clock_mono_ms() >= dr->deadline_ms)
		log_notice("ivrd", "drain time over: ending %zu call%s", st.active,
			st.active == 1 ? "" : "s");
	else
		return;
	drain_finish(dr);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	/* polled: calls end in many ways, and a check every 200 ms costs nothing */
	static const struct timeval every = {0, 200 * 1000};
	struct drain *dr = arg;
	struct daemon *d = dr->d;
	struct call_stats st;
	(void)what;

	call_mgr_stats(d->calls, &st);
	if (d->stopping) {
		log_notice("ivrd", "signal %d while draining: ending %zu call%s now", (int)sig,
			st.active, st.active == 1 ? "" : "s");
		drain_finish(dr);
		return;
	}
	d->stopping = true;
	/* EXTEND_TIMEOUT_USEC: a drain_time longer than TimeoutStopSec= still gets its time */
	notify_send("STOPPING=1\nEXTEND_TIMEOUT_USEC=%llu",
		((unsigned long long)d->conf->drain_ms + 5000) * 1000);
	call_mgr_drain(d->calls, true);
	log_notice("ivrd", "stopping on signal %d; draining: %zu call%s in progress, up to %g s",
		(int)sig, st.active, st.active == 1 ? "" : "s", d->conf->drain_ms / 1000.0);
	dr->deadline_ms = clock_mono_ms() + d->conf->drain_ms;
	dr->tick = event_new(d->base, -1, EV_PERSIST, on_drain_tick, dr);
	if (dr->tick == NULL || event_add(dr->tick, &every) != 0) {
		log_err("ivrd", "cannot time the drain: ending calls now");
		drain_finish(dr);
		return;
	}
	on_drain_tick(-1, 0, dr);
}

/* libosip2 would print parser complaints on stderr; ours are logged once, with context. */
static void
osip_quiet(const char *fi, int li, osip_trace_level_t level, const char *chfr, va_list ap)
{
	(void)fi;
	(void)li;
	(void)level;
	(void)chfr;
	(void)ap;
}

int
main(int argc, char **argv)
{
	struct daemon d = {.conf_path = "/etc/ivrd/ivrd.conf"};
	struct event *sigs[4] = {0};
	struct drain drain = {.d = &d};
	struct notifier *notifier = NULL;
	struct http_metrics *http = NULL;
	struct ctl_server *ctl = NULL;
	bool check = false;
	char path[PATH_MAX];
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "c:tdT:Vh")) != -1) {
		switch (opt) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'd':
			log_set_level(LOG_PRIO_DEBUG);
			break;
		case 'T':
			for (char *s = optarg, *tok; (tok = strsep(&s, ",")) != NULL;) {
				if (strcmp(tok, "sip") == 0)
					log_set_trace(LOG_TRACE_SIP, true);
				else if (strcmp(tok, "rtp") == 0)
					log_set_trace(LOG_TRACE_RTP, true);
				else if (strcmp(tok, "menu") == 0)
					log_set_trace(LOG_TRACE_MENU, true);
				else {
					fprintf(stderr, "ivrd: -T: unknown subsystem \"%s\" (sip, rtp, menu)\n",
						tok);
					return 2;
				}
			}
			break;
		case 'V':
			printf("ivrd %s\n", IVRD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ivrd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* libosip2 parses nothing safely before this */
	parser_init();
	osip_trace_initialize_func(END_TRACE_LEVEL, osip_quiet);
	signal(SIGPIPE, SIG_IGN);

	if (prompt_cache_new(&d.cache) != 0) {
		log_err("ivrd", "out of memory");
		return 1;
	}
	{
		struct conf_errors e;
		int lrc = conf_load(&d.conf, &e, d.conf_path, d.cache, 1);
		print_problems(&e, "config");
		if (lrc == EINVAL)
			log_err("config", "%s: %zu error%s; configuration refused", d.conf_path,
				e.nerrors, e.nerrors == 1 ? "" : "s");
		else if (lrc != 0)
			log_err("config", "%s: %s", d.conf_path, strerror(lrc));
		conf_errors_free(&e);
		if (lrc != 0)
			goto out;
		d.generation = 1;
	}
	if (check) {
		printf("%s: configuration OK: %zu menus, %zu departments, %zu numbers, "
		       "%zu prompts in %zu language%s\n",
			d.conf_path, d.conf->nmenus, d.conf->ndepts, d.conf->nnumbers,
			d.conf->nprompts, d.conf->nlangs, d.conf->nlangs == 1 ? "" : "s");
		rc = 0;
		goto out;
	}

	d.base = event_base_new();
	if (d.base == NULL || daemon_metrics(&d.metrics) != 0) {
		log_err("ivrd", "cannot create the event loop");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/journal.db", d.conf->state_dir);
	if ((rc = journal_open(&d.journal, d.base, path)) != 0) {
		log_err("journal", "%s: %s", path, strerror(rc));
		rc = 1;
		goto out;
	}
	journal_set_retention(d.journal, (int)d.conf->retention_days);
	if ((rc = rtp_pacer_new(&d.pacer, d.base, d.conf->rtp_address, d.conf->rtp_port_min,
		     d.conf->rtp_port_max)) != 0) {
		log_err("rtp", "%s: %s", d.conf->rtp_address, strerror(rc));
		rc = 1;
		goto out;
	}
	rtp_pacer_set_media(d.pacer, d.conf->rtp_symmetric, d.conf->rtp_timeout_ms,
		d.conf->rtp_hold_timeout_ms);
	if ((rc = call_mgr_new(&d.calls, d.base, d.conf, d.journal, d.pacer, d.metrics)) != 0) {
		rc = 1;
		goto out;
	}
	/* promises made before a restart are loaded and kept */
	if ((rc = callback_mgr_new(&d.callbacks, d.base, d.journal, path, d.calls,
		     d.metrics)) != 0) {
		log_err("callback", "cannot start the promise ledger: %s", strerror(rc));
		rc = 1;
		goto out;
	}
	callback_mgr_set_conf(d.callbacks, d.conf);
	call_mgr_set_callbacks(d.calls, d.callbacks);
	if (ctl_server_new(&ctl, &d) != 0) {
		rc = 1;
		goto out;
	}
	if (http_metrics_new(&http, &d) != 0) {
		rc = 1;
		goto out;
	}
	sigs[0] = evsignal_new(d.base, SIGHUP, on_reload, &d);
	sigs[1] = evsignal_new(d.base, SIGTERM, on_stop, &drain);
	sigs[2] = evsignal_new(d.base, SIGINT, on_stop, &drain);
	for (int i = 0; i < 3; i++)
		if (sigs[i] == NULL || event_add(sigs[i], NULL) != 0) {
			log_err("ivrd", "cannot watch signals");
			rc = 1;
			goto out;
		}
	metrics_set(d.metrics, "config.generation", NULL, (int64_t)d.generation);
	d.started_wall_ms = clock_wall_ms();
	d.started_mono_ms = clock_mono_ms();
	log_notice("ivrd", "ready: ivrd %s, configuration generation %llu, journal %s",
		IVRD_VERSION, (unsigned long long)d.conf->generation, path);
	if (notify_start(&notifier, &d) != 0) {
		log_err("ivrd", "out of memory");
		rc = 1;
		goto out;
	}
	event_base_dispatch(d.base);
	rc = 0;
out:
	for (int i = 0; i < 4; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (drain.tick != NULL)
		event_free(drain.tick);
	notify_free(notifier);
	http_metrics_free(http);
	ctl_server_free(ctl);
	if (d.calls != NULL)
		call_mgr_set_callbacks(d.calls, NULL);
	callback_mgr_free(d.callbacks);
	call_mgr_free(d.calls);
	rtp_pacer_free(d.pacer);
	if (d.journal != NULL)
		journal_close(d.journal);
	conf_unref(d.conf);
	prompt_cache_free(d.cache);
	metrics_free(d.metrics);
	if (d.base != NULL)
		event_base_free(d.base);
	return rc;
}
