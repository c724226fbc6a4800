/* Control protocol dispatcher: the input is what a client writes to the control socket of a
 * real daemon (configuration, journal, call manager, the server's framing and every
 * command), in up to 4 writes separated by NUL NUL. Each answer must be lines of JSON
 * objects starting with "ok". */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <event2/event.h>
#include <osip2/osip.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivr/call.h"
#include "ivr/conf.h"
#include "ivr/ctl_server.h"
#include "ivr/daemon.h"
#include "ivr/journal.h"
#include "ivr/log.h"
#include "ivr/prompt.h"
#include "ivr/rtp_session.h"
#include "ivr/util.h"

static struct daemon d;
static struct ctl_server *srv;
static char dir[] = "/tmp/ivrd-fuzz-control-XXXXXX";
static char sock_path[128];

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_control: %s: %s\n", what, strerror(errno));
	abort();
}

/* The configuration wants a port number: one the kernel has just handed out. */
static unsigned
free_udp_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port < 1024 ? 0 : port;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char conf_path[128], state[128];
	struct conf_errors e;
	unsigned sip_port = 0;
	FILE *f;
	(void)argc;
	(void)argv;

	log_set_level(LOG_PRIO_ERR);
	parser_init();
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp");
	snprintf(conf_path, sizeof(conf_path), "%s/ivrd.conf", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/ivrd.sock", dir);
	if ((f = fopen(conf_path, "w")) == NULL || (sip_port = free_udp_port()) == 0)
		fail(conf_path);
	fprintf(f,
		"ivrd: {\n"
		"  state_dir = \"%s\"; control_socket = \"%s\"; http_listen = \"off\";\n"
		"  prompts_dir = \"%s/prompts\"; languages = [\"en\", \"vi\"];\n"
		"  sip: { listen = [\"udp:127.0.0.1:%u\"]; };\n"
		"  rtp: { address = \"127.0.0.1\"; ports = [%u, %u]; };\n"
		"};\n"
		"departments = {\n"
		"  billing = { targets = [\"sip:billing@127.0.0.1:9\"]; hours = [\"always\"]; };\n"
		"  operator = { targets = [\"sip:operator@127.0.0.1:9\"]; hours = [\"always\"]; };\n"
		"};\n"
		"menus = { main = { greeting = \"main/greeting\";\n"
		"  options = ( { key = \"2\"; action = \"dept:billing\"; } ); }; };\n",
		state, sock_path, IVRD_SOURCE_ROOT, sip_port, sip_port & ~1u, (sip_port & ~1u) + 9);
	fclose(f);
	d.conf_path = strdup(conf_path);
	if (prompt_cache_new(&d.cache) != 0 ||
	    conf_load(&d.conf, &e, d.conf_path, d.cache, 1) != 0) {
		for (size_t i = 0; i < e.nerrors; i++)
			fprintf(stderr, "%s\n", e.errors[i]);
		fail("conf_load");
	}
	conf_errors_free(&e);
	d.generation = 1;
	if ((d.base = event_base_new()) == NULL || daemon_metrics(&d.metrics) != 0)
		fail("event base");
	snprintf(state, sizeof(state), "%s/journal.db", d.conf->state_dir);
	if (journal_open(&d.journal, d.base, state) != 0 ||
	    rtp_pacer_new(&d.pacer, d.base, d.conf->rtp_address, d.conf->rtp_port_min,
		d.conf->rtp_port_max) != 0 ||
	    call_mgr_new(&d.calls, d.base, d.conf, d.journal, d.pacer, d.metrics) != 0 ||
	    ctl_server_new(&srv, &d) != 0)
		fail("daemon");
	d.started_wall_ms = clock_wall_ms();
	d.started_mono_ms = clock_mono_ms();
	return 0;
}

/* Runs the loop until the client has an answer for every request line it sent, or the
 * server closed the connection. */
static void
exchange(int fd, const uint8_t *data, size_t size)
{
	char buf[65536];
	size_t got = 0;

	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		return;
	for (int spins = 0; spins < 200; spins++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		event_base_loop(d.base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 0) <= 0)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		/* every complete answer is one JSON object starting with "ok" */
		for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
			if (strncmp(line, "{\"ok\":", 6) != 0)
				abort();
		if (got > 0 && buf[got - 1] == '\n' && spins > 2)
			break;
		if (got >= sizeof(buf) - 1)
			got = 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const uint8_t *part = data, *end = data + size;
	int fd;

	if (size > 16384)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket");
	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail("connect");
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	for (int i = 0; i < 4 && part <= end; i++) {
		const uint8_t *sep = NULL;
		for (const uint8_t *p = part; p + 1 < end; p++)
			if (p[0] == 0 && p[1] == 0) {
				sep = p;
				break;
			}
		exchange(fd, part, (size_t)((sep != NULL ? sep : end) - part));
		if (sep == NULL)
			break;
		part = sep + 2;
	}
	shutdown(fd, SHUT_WR);
	exchange(fd, NULL, 0);
	close(fd);
	/* let the server see the close and free the client */
	for (int i = 0; i < 4; i++)
		event_base_loop(d.base, EVLOOP_NONBLOCK);
	return 0;
}
