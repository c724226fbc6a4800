/* SIP INFO DTMF bodies: the input's first line is the Content-Type, the rest the body,
 * parsed as call.c does for an INFO in a call. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/dtmf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tlen = nl != NULL ? (size_t)(nl - data) : size;
	size_t blen = nl != NULL ? size - tlen - 1 : 0;
	char *ctype = malloc(tlen + 1), *body = malloc(blen ? blen : 1), err[96];
	char key = 0;
	int ms, rc;

	if (ctype == NULL || body == NULL)
		goto out;
	memcpy(ctype, data, tlen);
	ctype[tlen] = '\0';
	/* an exact-size copy, so ASan sees any read past the body */
	if (blen > 0)
		memcpy(body, nl + 1, blen);
	rc = dtmf_info_parse(&key, &ms, ctype, body, blen, err, sizeof(err));
	if (rc == 0 && (key == '\0' || strchr("0123456789*#ABCD", key) == NULL))
		abort();
	if (rc == 0 && ms < -1)
		abort();
	if (rc == EINVAL && (err[0] == '\0' || strlen(err) >= sizeof(err)))
		abort();
	if (rc != 0 && rc != EINVAL && rc != ENOTSUP && rc != ENOMSG)
		abort();
out:
	free(ctype);
	free(body);
	return 0;
}
