/* Telephone numbers as they arrive (Request-URI or To user, From user, tel: and sip: URIs,
 * digits written with separators) turned into one form for matching: E.164 digits without
 * the '+'. */
#ifndef IVR_NUMBER_H
#define IVR_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* E.164 6.1: at most 15 digits, plus the terminating NUL. */
#define NUMBER_MAX 16

/* The national rule: a number of exactly national_len digits with no '+' is national, and
 * gets country_code in front ("8005550100" -> "18005550100" for "1" and 10). Numbers of any
 * other length are kept as they are (extensions, numbers already with their country code). */
struct number_plan {
	const char *country_code; /* digits; NULL or "" for no national rule */
	unsigned national_len;
};

/* Writes the canonical form of in into out. Accepts "tel:" and "sip:"/"sips:" URIs (user
 * part, parameters dropped), an optional leading '+', and the separators - . space ( ).
 * Returns 0; EINVAL when in is empty, holds letters, '*' or '#' (service codes such as *67
 * are not numbers) or more than 15 digits; ENOSPC when out is too small. */
int number_normalize(char *out, size_t size, const char *in, const struct number_plan *np);

/* Whether the normalized number matches pattern: a full number (normalized with np), or a
 * prefix of canonical digits ending in '*' ("1555*", "+1555*"). */
bool number_match(const char *number, const char *pattern, const struct number_plan *np);

/* Checks a pattern as number_match reads it: 0 or EINVAL. */
int number_pattern_check(const char *pattern, const struct number_plan *np);

#endif
