/* Number normalisation: what the network sends and what the configuration lists, compared
 * in one form. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ivr/number.h"

/* Canonical digits of in, with no national rule; *plus tells whether it began with '+'. */
static int
digits_of(char *out, bool *plus, const char *in)
{
	size_t n = 0;
	const char *p = in, *end;

	*plus = false;
	if (strncasecmp(p, "tel:", 4) == 0 || strncasecmp(p, "sip:", 4) == 0)
		p += 4;
	else if (strncasecmp(p, "sips:", 5) == 0)
		p += 5;
	/* the user part ends at the host or at parameters (RFC 3966 3: ";phone-context=") */
	end = p + strcspn(p, "@;");
	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= NUMBER_MAX)
				return EINVAL;
			out[n++] = *p;
		} else if (*p == '+' && n == 0 && !*plus) {
			*plus = true;
		} else if (strchr("-. ()", *p) == NULL) {
			return EINVAL; /* RFC 3966 visual separators only */
		}
	}
	out[n] = '\0';
	return n > 0 ? 0 : EINVAL;
}

int
number_normalize(char *out, size_t size, const char *in, const struct number_plan *np)
{
	char digits[NUMBER_MAX], full[NUMBER_MAX * 2];
	bool plus;
	int rc;

	if ((rc = digits_of(digits, &plus, in)) != 0)
		return rc;
	if (!plus && np != NULL && np->country_code != NULL && strlen(digits) == np->national_len)
		snprintf(full, sizeof(full), "%s%s", np->country_code, digits);
	else
		snprintf(full, sizeof(full), "%s", digits);
	if (strlen(full) >= NUMBER_MAX)
		return EINVAL;
	if (strlen(full) >= size)
		return ENOSPC;
	strcpy(out, full);
	return 0;
}

int
number_pattern_check(const char *pattern, const struct number_plan *np)
{
	char buf[NUMBER_MAX], prefix[NUMBER_MAX * 2];
	size_t n = strlen(pattern);
	bool plus;

	if (n == 0 || pattern[n - 1] != '*')
		return number_normalize(buf, sizeof(buf), pattern, np);
	if (n >= sizeof(prefix))
		return EINVAL;
	memcpy(prefix, pattern, n - 1);
	prefix[n - 1] = '\0';
	return digits_of(buf, &plus, prefix);
}

bool
number_match(const char *number, const char *pattern, const struct number_plan *np)
{
	char buf[NUMBER_MAX], prefix[NUMBER_MAX * 2];
	size_t n = strlen(pattern);
	bool plus;

	if (n == 0 || pattern[n - 1] != '*')
		return number_normalize(buf, sizeof(buf), pattern, np) == 0 &&
			strcmp(buf, number) == 0;
	/* a prefix is canonical digits as written: no national rule applies to part of one */
	if (n >= sizeof(prefix))
		return false;
	memcpy(prefix, pattern, n - 1);
	prefix[n - 1] = '\0';
	return digits_of(buf, &plus, prefix) == 0 && strncmp(number, buf, strlen(buf)) == 0;
}
