/* Digest authentication: the worked examples of RFC 7616 3.9.1 (MD5 and SHA-256) and RFC
 * 2617 3.5, challenges as proxies write them, and answers parsed back. */
#include <errno.h>
#include <string.h>

#include "ivr/digest.h"

#include "check.h"

/* RFC 7616 3.9.1 */
#define R7616_REALM "http-auth@example.org"
#define R7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define R7616_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"

static void
rfc7616_md5(void)
{
	char out[129];

	sip_digest_response(out, DIGEST_MD5, false, "Mufasa", R7616_REALM, "Circle of Life", "GET",
		"/dir/index.html", R7616_NONCE, R7616_CNONCE, "00000001", "auth");
	CHECK_STR(out, "8ca523f5e9506fed4657c9700eebdbec");
}

static void
rfc7616_sha256(void)
{
	char out[129];

	sip_digest_response(out, DIGEST_SHA256, false, "Mufasa", R7616_REALM, "Circle of Life",
		"GET", "/dir/index.html", R7616_NONCE, R7616_CNONCE, "00000001", "auth");
	CHECK_STR(out, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* RFC 2617 3.5 */
static void
rfc2617_md5(void)
{
	char out[129];

	sip_digest_response(out, DIGEST_MD5, false, "Mufasa", "testrealm@host.com",
		"Circle Of Life", "GET", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		"0a4f113b", "00000001", "auth");
	CHECK_STR(out, "6629fae49393a05397450978507c4ef1");
}

/* The whole exchange of RFC 7616 3.9.1, through the parser and the answer writer. */
static void
challenge_answered(void)
{
	struct sip_digest_challenge ch;
	char buf[1024];
	int n;

	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"" R7616_REALM "\", qop=\"auth, auth-int\","
		" algorithm=SHA-256, nonce=\"" R7616_NONCE "\", opaque=\"" R7616_OPAQUE "\""), 0);
	CHECK_STR(ch.realm, R7616_REALM);
	CHECK_STR(ch.nonce, R7616_NONCE);
	CHECK(ch.has_opaque);
	CHECK_INT(ch.alg, DIGEST_SHA256);
	CHECK(ch.qop_auth);
	CHECK(!ch.stale);
	n = sip_digest_answer(buf, sizeof(buf), &ch, "GET", "/dir/index.html", "Mufasa",
		"Circle of Life", R7616_CNONCE, 1);
	CHECK(n > 0);
	CHECK(strstr(buf, "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\"") != NULL);
	CHECK(strstr(buf, "qop=auth, nc=00000001, cnonce=\"" R7616_CNONCE "\"") != NULL);
	CHECK(strstr(buf, "opaque=\"" R7616_OPAQUE "\"") != NULL);
	CHECK(strstr(buf, "algorithm=SHA-256") != NULL);
	CHECK(strncmp(buf, "Digest username=\"Mufasa\", realm=\"" R7616_REALM "\"", 48) == 0);
	/* too small a buffer says so */
	CHECK_INT(sip_digest_answer(buf, 40, &ch, "GET", "/", "u", "p", NULL, 1), -1);
}

/* A SIP proxy's challenge without qop (RFC 2069 form) and with stale. */
static void
challenge_forms(void)
{
	struct sip_digest_challenge ch;
	char buf[1024], want[129];

	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"atlanta.example.com\",nonce=\"84f1c1ae6cbe5ua9\","
		"stale=TRUE"), 0);
	CHECK(ch.stale);
	CHECK(!ch.qop_auth);
	CHECK(!ch.has_opaque);
	CHECK_INT(ch.alg, DIGEST_MD5);
	CHECK(sip_digest_answer(buf, sizeof(buf), &ch, "INVITE", "sip:bob@biloxi.example.com",
		"bob", "zanzibar", NULL, 1) > 0);
	sip_digest_response(want, DIGEST_MD5, false, "bob", "atlanta.example.com", "zanzibar",
		"INVITE", "sip:bob@biloxi.example.com", "84f1c1ae6cbe5ua9", NULL, NULL, NULL);
	CHECK(strstr(buf, want) != NULL);
	CHECK(strstr(buf, "qop") == NULL);
	CHECK(strstr(buf, "cnonce") == NULL);

	/* quoted-pair in a realm; -sess; SHA-512-256 (RFC 8760) */
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"a\\\"b\", nonce=n, algorithm=MD5-sess, "
		"qop=auth"), 0);
	CHECK_STR(ch.realm, "a\"b");
	CHECK(ch.sess);
	CHECK(sip_digest_answer(buf, sizeof(buf), &ch, "INVITE", "sip:x@y", "u", "p", "c", 2) > 0);
	CHECK(strstr(buf, "realm=\"a\\\"b\"") != NULL);
	CHECK(strstr(buf, "algorithm=MD5-sess") != NULL);
	CHECK(strstr(buf, "nc=00000002") != NULL);
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=r, nonce=n, algorithm=SHA-512-256"), 0);
	CHECK_INT(ch.alg, DIGEST_SHA512_256);
	sip_digest_response(want, DIGEST_SHA512_256, false, "u", "r", "p", "INVITE", "sip:x", "n",
		NULL, NULL, NULL);
	CHECK_INT(strlen(want), 64);
}

static void
challenge_refused(void)
{
	struct sip_digest_challenge ch;

	CHECK_INT(sip_digest_parse(&ch, "Basic realm=\"x\""), EPROTO);
	CHECK_INT(sip_digest_parse(&ch, "Digest nonce=\"n\""), EPROTO);
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"r\""), EPROTO);
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5"),
		ENOTSUP);
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
		ENOTSUP);
	CHECK_INT(sip_digest_parse(&ch, ""), EPROTO);
	CHECK_INT(sip_digest_parse(&ch, "Digest realm"), EPROTO);
	CHECK_INT(sip_digest_parse(&ch, "Digest =x"), EPROTO);
	/* an unterminated quote ends at the end, long values are cut, never overrun */
	CHECK_INT(sip_digest_parse(&ch, "Digest realm=\"r, nonce=\"n"), EPROTO);
	{
		char big[2000];
		memset(big, 'a', sizeof(big));
		memcpy(big, "Digest realm=r, nonce=", 22);
		big[sizeof(big) - 1] = '\0';
		CHECK_INT(sip_digest_parse(&ch, big), 0);
		CHECK_INT(strlen(ch.nonce), sizeof(ch.nonce) - 1);
	}
}

CHECK_MAIN(T(rfc7616_md5), T(rfc7616_sha256), T(rfc2617_md5), T(challenge_answered),
	T(challenge_forms), T(challenge_refused))
