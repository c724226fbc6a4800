/* Number normalisation: the input is "number\npattern\ncountry_code" (later parts
 * optional), through number_normalize, number_pattern_check and number_match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/number.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *parts[3] = { NULL, NULL, NULL };
	char out[NUMBER_MAX], small[5];
	struct number_plan np = { "1", 10 };
	char *p;

	if (size > 4096)
		return -1;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	for (int i = 0; i < 3 && p != NULL; i++) {
		parts[i] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}
	if (parts[2] != NULL) {
		np.country_code = parts[2];
		np.national_len = size % 16;
	}
	if (number_normalize(out, sizeof(out), parts[0], &np) == 0 && strlen(out) >= NUMBER_MAX)
		abort();
	(void)number_normalize(small, sizeof(small), parts[0], &np);
	(void)number_normalize(out, sizeof(out), parts[0], NULL);
	if (parts[1] != NULL) {
		(void)number_pattern_check(parts[1], &np);
		(void)number_match(parts[0], parts[1], &np);
		(void)number_match(out, parts[1], &np);
	}
	free(text);
	return 0;
}
