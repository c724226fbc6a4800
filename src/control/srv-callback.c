/* callback cancel ID REASON: staff cancel a callback promise (journaled with who and why).
 * REASON is percent-encoded (RFC 3986 2.1: "%20" for a space) so it stays one word; words
 * after it are joined with spaces, for people typing at the socket. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/callback.h"
#include "ivr/conf.h"
#include "ivr/daemon.h"
#include "ivr/journal_query.h"
#include "ivr/log.h"
#include "ivr/util.h"
#include "srv.h"

/* struct callback's reason, with its NUL */
#define MAX_REASON 160

static int srv_callback(struct json_out *w, const struct srv_req *r);

const struct srv_cmd srv_callback_entry = {
	.name = "callback",
	.args = "cancel ID REASON",
	.min_args = 3,
	.max_args = 7,
	.exec = srv_callback,
};

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The reason's words joined by spaces, percent-decoded. EINVAL for a bad escape, a NUL or
 * a control character; ENOSPC when too long. */
static int
reason_decode(char *out, size_t size, char **words, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		for (const char *p = words[i]; *p != '\0'; p++) {
			int c = (unsigned char)*p;

			if (c == '%') {
				int hi = hex(p[1]), lo = hi >= 0 ? hex(p[2]) : -1;
				if (lo < 0)
					return EINVAL;
				c = hi << 4 | lo;
				p += 2;
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return EINVAL;
			if (len + 1 >= size)
				return ENOSPC;
			out[len++] = (char)c;
		}
		if (i + 1 < n) {
			if (len + 1 >= size)
				return ENOSPC;
			out[len++] = ' ';
		}
	}
	out[len] = '\0';
	return 0;
}

/* Why a promise cannot be cancelled, from its row in the journal: the ledger in memory holds
 * the open ones. A primary-key read of a WAL file: it never waits on the writer. */
static int
explain(struct json_out *w, const struct daemon *d, int64_t id)
{
	struct journal_promise_filter f = {.view = JPROM_ALL, .id = id,
		.now_ms = clock_wall_ms()};
	struct journal_promises *ps = NULL;
	struct journal_query *q = NULL;
	char path[PATH_MAX], err[256];
	const struct journal_promise *p;
	int rc;

	snprintf(path, sizeof(path), "%s/journal.db", d->conf->state_dir);
	if (journal_query_open(&q, path, err, sizeof(err)) != 0 ||
	    journal_query_promises(&ps, q, &f) != 0 || ps->n == 0) {
		journal_promises_free(ps);
		journal_query_close(q);
		return 0;
	}
	p = &ps->v[0];
	json_str(w, "state", p->state);
	if (p->state != NULL && strcmp(p->state, "kept") == 0)
		rc = srv_fail(w, "callback #%lld was already kept%s%s", (long long)id,
			p->kept_call_id ? " by call " : "", p->kept_call_id ? p->kept_call_id : "");
	else if (p->state != NULL && (strcmp(p->state, "broken") == 0 ||
	    strcmp(p->state, "cancelled") == 0))
		rc = srv_fail(w, "callback #%lld was already %s%s%s", (long long)id, p->state,
			p->reason ? ": " : "", p->reason ? p->reason : "");
	else
		rc = srv_fail(w, "callback #%lld is %s and not in the running ledger",
			(long long)id, p->state ? p->state : "of no state");
	journal_promises_free(ps);
	journal_query_close(q);
	return rc;
}

static int
srv_callback(struct json_out *w, const struct srv_req *r)
{
	const struct callback *cb;
	char reason[MAX_REASON], *end, number[32], dept[64];
	const char *was;
	long long id;
	int rc;

	if (strcmp(r->argv[1], "cancel") != 0)
		return srv_fail(w, "usage: callback cancel ID REASON");
	errno = 0;
	id = strtoll(r->argv[2], &end, 10);
	if (r->argv[2][0] < '0' || r->argv[2][0] > '9' || *end != '\0' || errno != 0 || id <= 0)
		return srv_fail(w, "\"%s\" is not a callback id", r->argv[2]);
	rc = reason_decode(reason, sizeof(reason), r->argv + 3, r->argc - 3);
	if (rc == ENOSPC)
		return srv_fail(w, "the reason is longer than %d bytes", MAX_REASON - 1);
	if (rc != 0)
		return srv_fail(w, "the reason is not one line of text (percent-encoded)");
	if (reason[strspn(reason, " \t")] == '\0')
		return srv_fail(w, "a reason is required");
	if (r->d->callbacks == NULL)
		return srv_fail(w, "this ivrd keeps no callback promises");
	if ((cb = callback_get(r->d->callbacks, id)) == NULL) {
		if ((rc = explain(w, r->d, id)) != 0)
			return rc;
		return srv_fail(w, "no callback #%lld", id);
	}
	if (cb->state != CB_OPEN && cb->state != CB_DIALING) {
		json_str(w, "state", cb_state_name(cb->state));
		return srv_fail(w, "callback #%lld was already %s", id, cb_state_name(cb->state));
	}
	was = cb->state == CB_DIALING ? "dialing" : "open";
	str_copy(number, cb->number, sizeof(number));
	str_copy(dept, cb->dept, sizeof(dept));
	rc = callback_cancel(r->d->callbacks, id, r->who, reason, NULL);
	if (rc == ENOENT || rc == EALREADY) {
		if ((rc = explain(w, r->d, id)) != 0)
			return rc;
		return srv_fail(w, "callback #%lld is no longer open", id);
	}
	if (rc != 0) {
		srv_fail(w, "callback #%lld: %s", id, strerror(rc));
		return rc;
	}
	log_notice("control", "%s: callback #%lld (%s) cancelled: %s", r->who, id, dept, reason);
	json_int(w, "id", id);
	json_str(w, "state", "cancelled");
	json_str(w, "was", was);
	json_str(w, "dept", dept);
	json_str(w, "number", number);
	json_str(w, "reason", reason);
	json_str(w, "who", r->who);
	return 0;
}
