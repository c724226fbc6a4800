/* systemd's notification protocol (sd_notify(3)), by hand: readiness, reload, stop, a status
 * line and watchdog pings. Without $NOTIFY_SOCKET all of it does nothing. */
#ifndef IVR_NOTIFY_H
#define IVR_NOTIFY_H

struct daemon;
struct notifier;

/* Sends one message ("READY=1", "STATUS=...", lines joined by '\n') to $NOTIFY_SOCKET, a
 * path or, starting with '@', an abstract socket. 0 when unset; else 0 or errno, logged. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends READY=1 with the status, then keeps STATUS= current (calls active, generation; at
 * most once a second) and, when $WATCHDOG_USEC is meant for us, sends WATCHDOG=1 from d's
 * event loop every half interval, so a stuck loop stops the pings. *np stays NULL when
 * there is no $NOTIFY_SOCKET. 0 or ENOMEM. */
int notify_start(struct notifier **np, struct daemon *d);
void notify_free(struct notifier *n);

#endif
