/* SIP glue: each input is up to 8 datagrams separated by NUL bytes, fed through
 * sip_stack_input (parse, RFC 3261 8.2 checks, transactions) of a fresh stack. Requests are
 * answered 200 (with an SDP answer when the body negotiates) so response building runs too.
 * Every datagram comes from 127.0.0.1 at a sink socket of ours: nothing leaves loopback. */
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
#include <unistd.h>

#include "ivr/conf.h"
#include "ivr/log.h"
#include "ivr/sdp.h"
#include "ivr/sip.h"

static struct event_base *base;
static struct conf_listen listen_on;
static struct sockaddr_in sink_addr;
static int sink = -1;

static void
on_request(void *arg, struct sip_server_tx *tx, const struct sip_msg *req)
{
	struct sdp_media m;
	char answer[SDP_ANSWER_MAX];
	size_t len;
	const char *body = sip_msg_body(req, &len);
	(void)arg;

	/* exercise every accessor the call layer uses */
	(void)sip_msg_method(req);
	(void)sip_msg_call_id(req);
	(void)sip_msg_from_tag(req);
	(void)sip_msg_to_tag(req);
	(void)sip_msg_cseq(req);
	(void)sip_msg_ruri_user(req);
	(void)sip_msg_from_user(req);
	(void)sip_msg_to_user(req);
	(void)sip_msg_header(req, "Contact");
	if (body != NULL && sdp_negotiate(&m, body, len, NULL, 0) == 0 &&
	    sdp_write_answer(answer, sizeof(answer), &m, "127.0.0.1", 10000, 1, 1) > 0) {
		if (strcmp(sip_msg_method(req), "INVITE") == 0) {
			struct sip_dialog d;
			if (sip_dialog_init(&d, req, "fuzztag") == 0)
				sip_dialog_free(&d);
		}
		sip_respond(tx, 200, "OK", NULL, NULL, "application/sdp", answer);
		return;
	}
	sip_respond(tx, 200, "OK", NULL, "X-Fuzz: 1\r\n", NULL, NULL);
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
	socklen_t len = sizeof(sink_addr);
	struct sockaddr_in *a = (struct sockaddr_in *)&listen_on.addr;
	(void)argc;
	(void)argv;

	log_set_level(LOG_PRIO_ERR); /* garbage is logged as a warning: keep quiet */
	parser_init();
	/* libosip2 reports each malformed message on stdout: millions of lines here */
	osip_trace_initialize_func(TRACE_LEVEL0, osip_quiet);
	for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
	base = event_base_new();
	sink = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sink_addr, 0, sizeof(sink_addr));
	sink_addr.sin_family = AF_INET;
	sink_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (base == NULL || sink < 0 ||
	    bind(sink, (struct sockaddr *)&sink_addr, sizeof(sink_addr)) != 0 ||
	    getsockname(sink, (struct sockaddr *)&sink_addr, &len) != 0)
		abort();
	listen_on.proto = CONF_UDP;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_on.addrlen = sizeof(*a);
	return 0;
}

static void
drain(void)
{
	char buf[2048];

	while (recv(sink, buf, sizeof(buf), 0) >= 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_stack *s;
	const uint8_t *p = data, *end = data + size;

	if (size > 65535)
		return -1;
	if (sip_stack_new(&s, base, &handlers, NULL, "ivrd-fuzz") != 0)
		return 0;
	if (sip_stack_listen(s, &listen_on) != 0)
		abort();
	for (int n = 0; n < 8 && p < end; n++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = (size_t)((nul != NULL ? nul : end) - p);
		/* the transport hands the parser a NUL-terminated datagram */
		char *buf = malloc(len + 1);
		if (buf == NULL)
			break;
		memcpy(buf, p, len);
		buf[len] = '\0';
		sip_stack_input(s, sip_stack_transport(s), buf, len,
			(struct sockaddr *)&sink_addr, sizeof(sink_addr));
		free(buf);
		p += len + 1;
	}
	sip_stack_free(s);
	drain();
	return 0;
}
