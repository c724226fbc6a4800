/* Hours rules: each input line is a rule; lines after a line "--" are holidays. What
 * parses is asked whether it is open at a few instants in UTC. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/hours.h"

#define MAX_LINES 64

static struct tz *utc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];
	(void)argc;
	(void)argv;
	if (tz_load(&utc, "UTC", err, sizeof(err)) != 0)
		utc = NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rules[MAX_LINES], *days[MAX_LINES];
	size_t nrules = 0, ndays = 0;
	bool holidays = false;
	struct hours *h = NULL;
	char err[256], *text, *p;

	if (size > 8192)
		return -1;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (p = text; p != NULL;) {
		char *line = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
		if (strcmp(line, "--") == 0)
			holidays = true;
		else if (holidays && ndays < MAX_LINES)
			days[ndays++] = line;
		else if (!holidays && nrules < MAX_LINES)
			rules[nrules++] = line;
	}
	if (hours_parse(&h, rules, nrules, err, sizeof(err)) == 0) {
		(void)hours_always(h);
		(void)hours_set_holidays(h, days, ndays, err, sizeof(err));
		if (utc != NULL) {
			/* a Monday 12:00, a leap day, a Sunday just before midnight */
			static const time_t at[] = { 1700481600, 1709164800, 1700956799 };
			for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
				(void)hours_open(h, utc, at[i]);
				(void)hours_holiday(h, utc, at[i]);
			}
		}
		hours_free(h);
	}
	free(text);
	return 0;
}
