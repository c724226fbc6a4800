/* The UAS dialog (RFC 3261 12.1.1) and the requests ivrd sends inside it. */
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <osip2/osip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ivr/sip.h"
#include "ivr/util.h"
#include "sip_int.h"

void
sip_dialog_free(struct sip_dialog *d)
{
	if (d->connlen > 0 && d->transport != NULL)
		sip_stream_hold(d->transport, (struct sockaddr *)&d->conn, d->connlen, -1);
	free(d->ruri);
	free(d->call_id);
	free(d->local_tag);
	free(d->local_hdr);
	free(d->remote_hdr);
	free(d->remote_target);
	for (size_t i = 0; i < d->nroute; i++)
		free(d->route[i]);
	free(d->route);
	memset(d, 0, sizeof(*d));
}

static char *
dup_osip(char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	osip_free(s);
	return d;
}

/* A numeric host and port from a URI; names are not resolved (no DNS on the call path). */
static bool
uri_addr(const osip_uri_t *u, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char host[64];
	long port = 5060;

	if (u == NULL || u->host == NULL)
		return false;
	str_copy(host, u->host, sizeof(host));
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']')
			return false;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (u->port != NULL) {
		char *end;
		port = strtol(u->port, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return false;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return true;
	}
	return false;
}

bool
sip_uri_addr(const struct osip_uri *u, struct sockaddr_storage *ss, socklen_t *len)
{
	return uri_addr(u, ss, len);
}

int
sip_dialog_init(struct sip_dialog *d, const struct sip_msg *inv, const char *local_tag)
{
	osip_message_t *om = inv->osip;
	osip_contact_t *ct = NULL;
	osip_record_route_t *rr = NULL;
	char *s = NULL;
	osip_uri_t *dest_uri;
	osip_uri_param_t *tp = NULL;
	int rc = ENOMEM;

	memset(d, 0, sizeof(*d));
	if (osip_message_get_contact(om, 0, &ct) < 0 || ct == NULL || ct->url == NULL)
		return EPROTO;
	d->call_id = strdup(inv->call_id);
	d->local_tag = strdup(local_tag);
	if (osip_to_to_str(om->to, &s) != 0)
		goto fail;
	if (asprintf(&d->local_hdr, "%s;tag=%s", s, local_tag) < 0)
		d->local_hdr = NULL;
	osip_free(s);
	s = NULL;
	if (osip_from_to_str(om->from, &s) != 0)
		goto fail;
	d->remote_hdr = dup_osip(s);
	s = NULL;
	if (osip_uri_to_str(ct->url, &s) != 0)
		goto fail;
	d->remote_target = dup_osip(s);
	if (d->call_id == NULL || d->local_tag == NULL || d->local_hdr == NULL ||
	    d->remote_hdr == NULL || d->remote_target == NULL)
		goto fail;
	for (int pos = 0; osip_message_get_record_route(om, pos, &rr) >= 0 && rr != NULL; pos++) {
		char **nr = realloc(d->route, (d->nroute + 1) * sizeof(*nr));
		if (nr == NULL)
			goto fail;
		d->route = nr;
		s = NULL;
		if (osip_record_route_to_str(rr, &s) != 0)
			goto fail;
		d->route[d->nroute] = dup_osip(s);
		if (d->route[d->nroute] == NULL)
			goto fail;
		d->nroute++;
		rr = NULL;
	}
	d->remote_cseq = sip_msg_cseq(inv);
	d->local_cseq = arc4random_uniform(10000) + 1;
	d->transport = inv->transport;
	/* RFC 3261 12.2.1.1: requests go to the first route, or to the remote target without
	 * a route set. A first route without ;lr is a strict router: it becomes the
	 * Request-URI and the remote target the last Route. */
	rr = NULL;
	dest_uri = ct->url;
	if (osip_message_get_record_route(om, 0, &rr) >= 0 && rr != NULL && rr->url != NULL) {
		osip_uri_param_t *lr = NULL;
		dest_uri = rr->url;
		d->strict = osip_uri_uparam_get_byname(rr->url, "lr", &lr) != 0 || lr == NULL;
	}
	s = NULL;
	if (osip_uri_to_str(d->strict ? dest_uri : ct->url, &s) != 0)
		goto fail;
	if ((d->ruri = dup_osip(s)) == NULL)
		goto fail;
	/* the next hop's ;transport, else the INVITE's */
	if (osip_uri_uparam_get_byname(dest_uri, "transport", &tp) == 0 && tp != NULL &&
	    tp->gvalue != NULL) {
		struct sip_transport *t = sip_stack_find(inv->transport->stack,
			strcasecmp(tp->gvalue, "tcp") == 0, inv->src.ss_family);
		if (t != NULL)
			d->transport = t;
	}
	snprintf(d->contact, sizeof(d->contact), "<sip:ivr@%s%s>",
		sip_transport_hostport(d->transport), d->transport->stream ? ";transport=tcp" : "");
	/* a host that is a name, or a private address we cannot reach, gets the INVITE's
	 * source */
	if (!uri_addr(dest_uri, &d->dest, &d->destlen)) {
		memcpy(&d->dest, &inv->src, inv->srclen);
		d->destlen = inv->srclen;
	}
	/* RFC 5923, RFC 5626 practice: without proxies in the route set, the caller is reached
	 * over its own connection while it is open (a phone behind NAT can be reached no other
	 * way); the dialog keeps that connection from the idle timeout. */
	if (d->transport == inv->transport && inv->transport->stream && d->nroute == 0) {
		memcpy(&d->conn, &inv->src, inv->srclen);
		d->connlen = inv->srclen;
		sip_stream_hold(d->transport, (struct sockaddr *)&d->conn, d->connlen, 1);
	}
	return 0;
fail:
	sip_dialog_free(d);
	return rc;
}

int
sip_dialog_request(char **out, size_t *len, struct sip_dialog *d, const char *method,
	char *branch, size_t branchlen, const char *extra, const char *ctype, const char *body,
	const char *user_agent)
{
	size_t blen = body != NULL ? strlen(body) : 0;
	const char *ruri = d->ruri != NULL ? d->ruri : d->remote_target;
	size_t size = 2048 + blen + (extra ? strlen(extra) : 0) + 2 * strlen(d->remote_target) +
		strlen(ruri) + strlen(d->local_hdr) + strlen(d->remote_hdr) + strlen(d->call_id);
	size_t off = 0;
	char *buf;

	for (size_t i = 0; i < d->nroute; i++)
		size += strlen(d->route[i]) + 16;
	buf = malloc(size);
	if (buf == NULL)
		return ENOMEM;
	sip_new_branch(branch, branchlen);
	d->local_cseq++;
	str_appendf(buf, size, &off, "%s %s SIP/2.0\r\n", method, ruri);
	str_appendf(buf, size, &off, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n",
		sip_transport_proto(d->transport), sip_transport_hostport(d->transport), branch);
	str_appendf(buf, size, &off, "Max-Forwards: 70\r\n");
	str_appendf(buf, size, &off, "From: %s\r\nTo: %s\r\n", d->local_hdr, d->remote_hdr);
	str_appendf(buf, size, &off, "Call-ID: %s\r\nCSeq: %u %s\r\n", d->call_id,
		d->local_cseq, method);
	/* a strict router took the first route as Request-URI; the remote target goes last */
	for (size_t i = d->strict ? 1 : 0; i < d->nroute; i++)
		str_appendf(buf, size, &off, "Route: %s\r\n", d->route[i]);
	if (d->strict)
		str_appendf(buf, size, &off, "Route: <%s>\r\n", d->remote_target);
	str_appendf(buf, size, &off, "Contact: %s\r\n", d->contact);
	if (user_agent != NULL)
		str_appendf(buf, size, &off, "User-Agent: %s\r\n", user_agent);
	if (extra != NULL)
		str_appendf(buf, size, &off, "%s", extra);
	if (ctype != NULL && body != NULL)
		str_appendf(buf, size, &off, "Content-Type: %s\r\n", ctype);
	str_appendf(buf, size, &off, "Content-Length: %zu\r\n\r\n", blen);
	if (body != NULL)
		str_appendf(buf, size, &off, "%s", body);
	if (off >= size) {
		free(buf);
		return EMSGSIZE;
	}
	*out = buf;
	*len = off;
	return 0;
}

int
sip_dialog_send(struct sip_client_tx **txp, struct sip_stack *s, struct sip_dialog *d,
	const char *method, const char *extra, const char *ctype, const char *body,
	sip_client_cb cb, void *arg)
{
	char branch[48], *msg;
	size_t len;
	int rc;

	rc = sip_dialog_request(&msg, &len, d, method, branch, sizeof(branch), extra, ctype, body,
		s->user_agent);
	if (rc != 0)
		return rc;
	/* RFC 3261 18.1.1: the dialog's connection while it is open, else a new one */
	if (d->connlen > 0 && sip_stream_open(d->transport, (struct sockaddr *)&d->conn,
		d->connlen))
		rc = sip_client_send(txp, s, d->transport, (struct sockaddr *)&d->conn, d->connlen,
			method, branch, msg, len, cb, arg);
	else
		rc = sip_client_send(txp, s, d->transport, (struct sockaddr *)&d->dest,
			d->destlen, method, branch, msg, len, cb, arg);
	free(msg);
	return rc;
}
