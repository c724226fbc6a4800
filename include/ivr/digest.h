/* HTTP digest authentication as SIP uses it (RFC 3261 22.4, RFC 7616, RFC 8760): parsing a
 * WWW-Authenticate or Proxy-Authenticate challenge and answering it. */
#ifndef IVR_DIGEST_H
#define IVR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

enum sip_digest_alg {
	DIGEST_MD5,
	DIGEST_SHA256,
	DIGEST_SHA512_256,
};

struct sip_digest_challenge {
	char realm[128];
	char nonce[256];
	char opaque[256];
	bool has_opaque;
	enum sip_digest_alg alg;
	bool sess;     /* the "-sess" variant of alg */
	bool qop_auth; /* qop offered and includes "auth"; false: the RFC 2069 form */
	bool stale;
};

/* Parses a challenge's value ("Digest realm=\"...\", nonce=\"...\", ..."). EPROTO when it
 * is not Digest or has no realm or nonce; ENOTSUP for an algorithm other than MD5, SHA-256
 * and SHA-512-256 (with or without -sess) or a qop without "auth" (auth-int only). */
int sip_digest_parse(struct sip_digest_challenge *ch, const char *value);

/* The hex request-digest (RFC 7616 3.4.1) into out (129 bytes are enough). qop NULL: the
 * RFC 2069 form, H(HA1:nonce:HA2); cnonce and nc are then unused. */
void sip_digest_response(char *out, enum sip_digest_alg alg, bool sess, const char *user,
	const char *realm, const char *password, const char *method, const char *uri,
	const char *nonce, const char *cnonce, const char *nc, const char *qop);

/* Writes the Authorization or Proxy-Authorization value answering ch for one request:
 * qop=auth with cnonce (random when NULL) and nc when offered, opaque echoed. Returns the
 * length, or -1 when buf is too small. */
int sip_digest_answer(char *buf, size_t size, const struct sip_digest_challenge *ch,
	const char *method, const char *uri, const char *user, const char *password,
	const char *cnonce, unsigned nc);

#endif
