/* The running daemon: what the control socket, the metrics page and signals act on. */
#ifndef IVR_DAEMON_H
#define IVR_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "ivr/conf.h"

struct event_base;
struct prompt_cache;
struct journal;
struct rtp_pacer;
struct call_mgr;
struct callback_mgr;
struct metrics;

struct daemon {
	struct event_base *base;
	const char *conf_path;
	struct conf *conf; /* the generation new calls start on */
	struct prompt_cache *cache;
	struct journal *journal;
	struct rtp_pacer *pacer;
	struct call_mgr *calls;
	struct callback_mgr *callbacks;
	struct metrics *metrics;
	uint64_t generation;
	int64_t started_wall_ms;
	int64_t started_mono_ms;
	bool stopping;
	bool reloading;
};

/* The registry with every metric ivrd keeps declared (names, kinds, help). */
int daemon_metrics(struct metrics **mp);

/* Loads, validates and (when good) swaps in a new generation; journals and counts the
 * outcome. Returns 0, EINVAL with every problem in e (the old generation keeps serving),
 * EBUSY when a reload is already running, or ENOMEM. e is the caller's to free. */
int daemon_reload(struct daemon *d, struct conf_errors *e, const char *who);

#endif
