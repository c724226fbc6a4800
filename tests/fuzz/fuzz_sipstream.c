/* SIP over TCP: the stream framer (RFC 3261 18.3, RFC 5626 keep-alives) fed arbitrary bytes
 * in arbitrary pieces, then through sip_stack_input. The first byte seeds the chunking: each
 * piece is 1 to 256 bytes, or the whole rest. Connections have no socket and the stack opens
 * none, so nothing leaves the process. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <time.h>

#include <osip2/osip.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ivr/conf.h"
#include "ivr/log.h"
#include "ivr/sip.h"

static struct event_base *base;
static struct conf_listen listen_on;
static struct sockaddr_in peer;

static void
on_request(void *arg, struct sip_server_tx *tx, const struct sip_msg *req)
{
	(void)arg;
	(void)sip_msg_header(req, "Event");
	if (strcmp(sip_msg_method(req), "INVITE") == 0) {
		struct sip_dialog d;
		if (sip_dialog_init(&d, req, "fuzztag") == 0)
			sip_dialog_free(&d);
	}
	sip_respond(tx, 200, "OK", NULL, NULL, NULL, NULL);
}

static void
on_ack(void *arg, const struct sip_msg *ack)
{
	(void)arg;
	(void)sip_msg_call_id(ack);
}

static void
on_cancel(void *arg, struct sip_server_tx *invite_tx)
{
	(void)arg;
	sip_respond(invite_tx, 487, "Request Terminated", NULL, NULL, NULL, NULL);
}

static const struct sip_handlers handlers = { on_request, on_ack, on_cancel };

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
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&listen_on.addr;
	(void)argc;
	(void)argv;

	log_set_level(LOG_PRIO_ERR);
	parser_init();
	osip_trace_initialize_func(TRACE_LEVEL0, osip_quiet);
	for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
	if ((base = event_base_new()) == NULL)
		abort();
	listen_on.proto = CONF_TCP;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_on.addrlen = sizeof(*a);
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer.sin_port = htons(40000);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_stack *s;
	uint32_t seed;
	size_t off = 1;

	if (size < 1 || size > 200000)
		return -1;
	seed = data[0] * 2654435761u + 1;
	peer.sin_port = htons(40000);
	if (sip_stack_new(&s, base, &handlers, NULL, "ivrd-fuzz") != 0)
		return 0;
	/* small enough that the size limits are reached */
	sip_stack_limits(s, 2048, 30);
	if (sip_stack_listen(s, &listen_on) != 0)
		abort();
	while (off < size) {
		size_t n;
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 8 == 0 ? size - off : 1 + (seed >> 8) % 256;
		if (n > size - off)
			n = size - off;
		if (!sip_stack_stream_input(s, sip_stack_transport(s), (const char *)data + off, n,
			(struct sockaddr *)&peer, sizeof(peer))) {
			/* closed: the rest goes to a new connection, as a reconnecting peer's */
			peer.sin_port = htons((uint16_t)(40000 + off % 1000));
		}
		off += n;
	}
	sip_stack_free(s);
	return 0;
}
