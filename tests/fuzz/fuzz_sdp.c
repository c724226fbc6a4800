/* SDP offer/answer: sdp_negotiate on the offer, then sdp_write_answer on what it chose. */
#include <sys/time.h>
#include <time.h>

#include <osip2/osip.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/sdp.h"

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
	(void)argc;
	(void)argv;
	parser_init();
	/* libosip2 reports each malformed message on stdout: millions of lines here */
	osip_trace_initialize_func(TRACE_LEVEL0, osip_quiet);
	for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_media m;
	char err[128], answer[SDP_ANSWER_MAX];
	char *body;

	if (size > 16384)
		return -1;
	/* a SIP body arrives NUL-terminated from libosip2 */
	body = malloc(size + 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	if (sdp_negotiate(&m, body, size, err, sizeof(err)) == 0) {
		int n = sdp_write_answer(answer, sizeof(answer), &m, "127.0.0.1", 40000, 1, 2);
		/* SDP_ANSWER_MAX is promised to be enough for any negotiated offer */
		if (n < 0 || (size_t)n >= sizeof(answer) || strlen(answer) != (size_t)n)
			abort();
		(void)sdp_write_answer(answer, sizeof(answer), &m, "::1", 40000, 1, 2);
	}
	free(body);
	return 0;
}
