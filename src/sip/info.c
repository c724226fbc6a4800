/* DTMF in SIP INFO bodies, as phones and trunks send them (RFC 6086 legacy usage, no
 * Info-Package): application/dtmf-relay and application/dtmf. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ivr/dtmf.h"

static const char keys[] = "0123456789*#ABCD";

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trims spaces and tabs at both ends of [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* A key by its character or its RFC 4733 event number (0-15). */
static int
parse_key(char *key, const char *s, const char *e)
{
	unsigned ev = 0;

	if (e - s == 1) {
		char ch = *s >= 'a' && *s <= 'd' ? (char)(*s - 'a' + 'A') : *s;
		const char *k = ch != '\0' ? strchr(keys, ch) : NULL;
		if (k != NULL) {
			*key = *k;
			return 0;
		}
		if (ch == '!')
			return ENOMSG; /* hook flash: a signal, not a key */
		return EINVAL;
	}
	if (e - s != 2 || s[0] != '1' || s[1] < '0' || s[1] > '5')
		return EINVAL;
	ev = 10u + (unsigned)(s[1] - '0');
	*key = keys[ev];
	return 0;
}

static bool
name_is(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(e - s) == n && strncasecmp(s, name, n) == 0;
}

static int
fail(char *err, size_t errlen, const char *why)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", why);
	return EINVAL;
}

static int
parse_relay(char *key, int *duration_ms, const char *body, size_t len, char *err,
	size_t errlen)
{
	const char *p = body, *end = body + len;
	bool have_signal = false, have_duration = false;
	int rc = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol != NULL ? eol : end;
		const char *ns, *ne, *vs, *ve, *eq;

		if (le > p && le[-1] == '\r')
			le--;
		ns = p;
		ne = le;
		p = eol != NULL ? eol + 1 : end;
		if (memchr(ns, '\0', (size_t)(ne - ns)) != NULL || memchr(ns, '\r', (size_t)(ne - ns)))
			return fail(err, errlen, "control characters in the body");
		trim(&ns, &ne);
		if (ns == ne)
			continue;
		eq = memchr(ns, '=', (size_t)(ne - ns));
		if (eq == NULL)
			return fail(err, errlen, "a line without '='");
		vs = eq + 1;
		ve = ne;
		ne = eq;
		trim(&ns, &ne);
		trim(&vs, &ve);
		if (name_is(ns, ne, "signal")) {
			if (have_signal)
				return fail(err, errlen, "more than one Signal");
			have_signal = true;
			rc = parse_key(key, vs, ve);
			if (rc == EINVAL)
				return fail(err, errlen,
					"Signal is not one of 0-9 * # A-D or an event 0-15");
		} else if (name_is(ns, ne, "duration")) {
			int ms = 0;
			if (have_duration)
				return fail(err, errlen, "more than one Duration");
			have_duration = true;
			if (vs == ve || ve - vs > 6)
				return fail(err, errlen, "Duration is not a number of milliseconds");
			for (const char *q = vs; q < ve; q++) {
				if (*q < '0' || *q > '9')
					return fail(err, errlen,
						"Duration is not a number of milliseconds");
				ms = ms * 10 + (*q - '0');
			}
			if (duration_ms != NULL)
				*duration_ms = ms;
		}
		/* other lines (some senders add their own) are ignored */
	}
	if (!have_signal)
		return fail(err, errlen, "no Signal line");
	return rc;
}

int
dtmf_info_parse(char *key, int *duration_ms, const char *ctype, const char *body,
	size_t len, char *err, size_t errlen)
{
	size_t n;

	if (errlen > 0)
		err[0] = '\0';
	if (duration_ms != NULL)
		*duration_ms = -1;
	if (ctype == NULL)
		return ENOTSUP;
	n = strcspn(ctype, "; \t");
	if (n == strlen("application/dtmf-relay") &&
	    strncasecmp(ctype, "application/dtmf-relay", n) == 0)
		return parse_relay(key, duration_ms, body != NULL ? body : "", len, err, errlen);
	if (n == strlen("application/dtmf") && strncasecmp(ctype, "application/dtmf", n) == 0) {
		const char *s = body != NULL ? body : "", *e = s + (body != NULL ? len : 0);
		int rc;

		/* the key alone, perhaps with a line end */
		while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
			e--;
		trim(&s, &e);
		rc = s == e ? EINVAL : parse_key(key, s, e);
		if (rc == EINVAL)
			return fail(err, errlen, "body is not one of 0-9 * # A-D or an event 0-15");
		return rc;
	}
	return ENOTSUP;
}
