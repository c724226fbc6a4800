/* Logging: one line per event on stderr, prefixed with a journald priority (<3> error ...
 * <7> debug), the subsystem and, for call lines, the Call-ID. */
#ifndef IVR_LOG_H
#define IVR_LOG_H

#include <stdbool.h>

enum log_prio {
	LOG_PRIO_ERR = 3,
	LOG_PRIO_WARNING = 4,
	LOG_PRIO_NOTICE = 5,
	LOG_PRIO_INFO = 6,
	LOG_PRIO_DEBUG = 7,
};

/* Subsystems whose debug tracing can be switched at run time. */
enum log_trace {
	LOG_TRACE_SIP = 1 << 0,
	LOG_TRACE_RTP = 1 << 1,
	LOG_TRACE_MENU = 1 << 2,
};

void log_set_level(enum log_prio max);
void log_set_trace(unsigned mask, bool on);
bool log_tracing(enum log_trace t);

void log_msg(enum log_prio prio, const char *subsys, const char *call_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(sub, ...) log_msg(LOG_PRIO_ERR, sub, NULL, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_PRIO_WARNING, sub, NULL, __VA_ARGS__)
#define log_notice(sub, ...) log_msg(LOG_PRIO_NOTICE, sub, NULL, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_PRIO_INFO, sub, NULL, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_PRIO_DEBUG, sub, NULL, __VA_ARGS__)

#endif
