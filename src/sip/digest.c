/* Digest authentication for requests ivrd sends (RFC 3261 22.4, RFC 7616, RFC 8760). The
 * hashes come from nettle. */
#include <errno.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ivr/digest.h"
#include "ivr/sip.h"
#include "ivr/util.h"

/* Copies one parameter value: a token, or a quoted-string unescaped (RFC 7230 3.2.6).
 * Returns the position after it. */
static const char *
param_value(const char *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 < size)
				out[n++] = *p;
		}
		if (*p == '"')
			p++;
	} else {
		for (; *p != '\0' && *p != ',' && *p != ' ' && *p != '\t'; p++)
			if (n + 1 < size)
				out[n++] = *p;
	}
	out[n] = '\0';
	return p;
}

static bool
list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p != '\0';) {
		size_t n;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == wl && strncasecmp(p, word, n) == 0)
			return true;
		p += n;
	}
	return false;
}

int
sip_digest_parse(struct sip_digest_challenge *ch, const char *value)
{
	char name[32], val[256], alg[32] = "MD5", qop[64] = "";
	bool have_realm = false, have_nonce = false, have_qop = false;
	const char *p = value;

	memset(ch, 0, sizeof(*ch));
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Digest", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return EPROTO;
	p += 6;
	for (;;) {
		size_t n;
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, "= \t,");
		if (n == 0 || n >= sizeof(name))
			return EPROTO;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			return EPROTO;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		p = param_value(p, val, sizeof(val));
		if (strcasecmp(name, "realm") == 0) {
			str_copy(ch->realm, val, sizeof(ch->realm));
			have_realm = true;
		} else if (strcasecmp(name, "nonce") == 0) {
			str_copy(ch->nonce, val, sizeof(ch->nonce));
			have_nonce = true;
		} else if (strcasecmp(name, "opaque") == 0) {
			str_copy(ch->opaque, val, sizeof(ch->opaque));
			ch->has_opaque = true;
		} else if (strcasecmp(name, "stale") == 0) {
			ch->stale = strcasecmp(val, "true") == 0;
		} else if (strcasecmp(name, "algorithm") == 0) {
			str_copy(alg, val, sizeof(alg));
		} else if (strcasecmp(name, "qop") == 0) {
			str_copy(qop, val, sizeof(qop));
			have_qop = true;
		}
	}
	if (!have_realm || !have_nonce)
		return EPROTO;
	{
		size_t al = strlen(alg);
		if (al > 5 && strcasecmp(alg + al - 5, "-sess") == 0) {
			ch->sess = true;
			alg[al - 5] = '\0';
		}
	}
	if (strcasecmp(alg, "MD5") == 0)
		ch->alg = DIGEST_MD5;
	else if (strcasecmp(alg, "SHA-256") == 0)
		ch->alg = DIGEST_SHA256;
	else if (strcasecmp(alg, "SHA-512-256") == 0)
		ch->alg = DIGEST_SHA512_256;
	else
		return ENOTSUP;
	if (have_qop) {
		if (!list_has(qop, "auth"))
			return ENOTSUP; /* auth-int alone: the body would have to be hashed */
		ch->qop_auth = true;
	}
	return 0;
}

/* H(parts joined by ':') as lowercase hex into out. */
static void
hash_hex(char *out, enum sip_digest_alg alg, const char *const *parts, size_t nparts)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t dlen;
	union {
		struct md5_ctx md5;
		struct sha256_ctx sha256;
		struct sha512_256_ctx sha512_256;
	} ctx;

	switch (alg) {
	case DIGEST_SHA256:
		sha256_init(&ctx.sha256);
		for (size_t i = 0; i < nparts; i++) {
			if (i > 0)
				sha256_update(&ctx.sha256, 1, (const uint8_t *)":");
			sha256_update(&ctx.sha256, strlen(parts[i]), (const uint8_t *)parts[i]);
		}
		dlen = SHA256_DIGEST_SIZE;
		sha256_digest(&ctx.sha256, dlen, d);
		break;
	case DIGEST_SHA512_256:
		sha512_256_init(&ctx.sha512_256);
		for (size_t i = 0; i < nparts; i++) {
			if (i > 0)
				sha512_256_update(&ctx.sha512_256, 1, (const uint8_t *)":");
			sha512_256_update(&ctx.sha512_256, strlen(parts[i]),
				(const uint8_t *)parts[i]);
		}
		dlen = SHA512_256_DIGEST_SIZE;
		sha512_256_digest(&ctx.sha512_256, dlen, d);
		break;
	default:
		md5_init(&ctx.md5);
		for (size_t i = 0; i < nparts; i++) {
			if (i > 0)
				md5_update(&ctx.md5, 1, (const uint8_t *)":");
			md5_update(&ctx.md5, strlen(parts[i]), (const uint8_t *)parts[i]);
		}
		dlen = MD5_DIGEST_SIZE;
		md5_digest(&ctx.md5, dlen, d);
		break;
	}
	for (size_t i = 0; i < dlen; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * dlen] = '\0';
}

void
sip_digest_response(char *out, enum sip_digest_alg alg, bool sess, const char *user,
	const char *realm, const char *password, const char *method, const char *uri,
	const char *nonce, const char *cnonce, const char *nc, const char *qop)
{
	char ha1[65], ha2[65], tmp[65];

	hash_hex(ha1, alg, (const char *const[]){user, realm, password}, 3);
	if (sess) {
		/* RFC 7616 3.4.2: -sess binds HA1 to this nonce and cnonce */
		str_copy(tmp, ha1, sizeof(tmp));
		hash_hex(ha1, alg, (const char *const[]){tmp, nonce, cnonce}, 3);
	}
	hash_hex(ha2, alg, (const char *const[]){method, uri}, 2);
	if (qop != NULL)
		hash_hex(out, alg, (const char *const[]){ha1, nonce, nc, cnonce, qop, ha2}, 6);
	else
		hash_hex(out, alg, (const char *const[]){ha1, nonce, ha2}, 3);
}

/* A quoted-string of s (RFC 7230 3.2.6). */
static void
append_quoted(char *buf, size_t size, size_t *off, const char *s)
{
	str_appendf(buf, size, off, "\"");
	for (; *s != '\0'; s++)
		str_appendf(buf, size, off, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	str_appendf(buf, size, off, "\"");
}

int
sip_digest_answer(char *buf, size_t size, const struct sip_digest_challenge *ch,
	const char *method, const char *uri, const char *user, const char *password,
	const char *cnonce, unsigned nc)
{
	static const char *const names[] = {"MD5", "SHA-256", "SHA-512-256"};
	char resp[129], cn[40], ncs[9];
	size_t off = 0;

	if (cnonce == NULL) {
		sip_random_token(cn, sizeof(cn));
		cnonce = cn;
	}
	snprintf(ncs, sizeof(ncs), "%08x", nc);
	sip_digest_response(resp, ch->alg, ch->sess, user, ch->realm, password, method, uri,
		ch->nonce, cnonce, ncs, ch->qop_auth ? "auth" : NULL);
	str_appendf(buf, size, &off, "Digest username=");
	append_quoted(buf, size, &off, user);
	str_appendf(buf, size, &off, ", realm=");
	append_quoted(buf, size, &off, ch->realm);
	str_appendf(buf, size, &off, ", nonce=");
	append_quoted(buf, size, &off, ch->nonce);
	str_appendf(buf, size, &off, ", uri=");
	append_quoted(buf, size, &off, uri);
	str_appendf(buf, size, &off, ", response=\"%s\", algorithm=%s%s", resp, names[ch->alg],
		ch->sess ? "-sess" : "");
	if (ch->qop_auth) {
		str_appendf(buf, size, &off, ", qop=auth, nc=%s, cnonce=", ncs);
		append_quoted(buf, size, &off, cnonce);
	}
	if (ch->has_opaque) {
		str_appendf(buf, size, &off, ", opaque=");
		append_quoted(buf, size, &off, ch->opaque);
	}
	if (off >= size)
		return -1;
	return (int)off;
}
