/* The control socket ivrctl (and any tool speaking its line protocol, documented in
 * src/control/server.c) asks the running daemon through. */
#ifndef IVR_CTL_SERVER_H
#define IVR_CTL_SERVER_H

struct daemon;
struct ctl_server;

/* Listens on d->conf->control_socket (mode 0660, group ivrd.control_group or the daemon's
 * own). Refuses to start, logging why, when another daemon answers there or the socket
 * cannot be made: returns 0 or an errno value. d must outlive the server. */
int ctl_server_new(struct ctl_server **sp, struct daemon *d);
/* Closes every connection and removes the socket file. */
void ctl_server_free(struct ctl_server *s);

#endif
