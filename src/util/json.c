/* JSON writer and reader for the control socket's one-line answers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/json.h"

/* UTF-8 length of a valid sequence starting at p, or 0 when it is not valid. */
static size_t
utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

bool
json_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t n; *p != '\0'; p += n)
		if ((n = utf8_len(p)) == 0)
			return false;
	return true;
}

void
json_write_string(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', fp);
	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (n == 0) {
			fputs("\\ufffd", fp);
			p++;
		} else if (n > 1) {
			fwrite(p, 1, n, fp);
			p += n;
		} else {
			if (*p == '"' || *p == '\\')
				fprintf(fp, "\\%c", *p);
			else if (*p == '\n')
				fputs("\\n", fp);
			else if (*p == '\t')
				fputs("\\t", fp);
			else if (*p < 0x20 || *p == 0x7f)
				fprintf(fp, "\\u%04x", *p);
			else
				fputc(*p, fp);
			p++;
		}
	}
	fputc('"', fp);
}

void
json_out_fields(struct json_out *w, FILE *fp)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->depth = 1;
	w->more[1] = true;
}

/* The comma and key before a value. */
static void
member(struct json_out *w, const char *key)
{
	if (w->more[w->depth])
		fputc(',', w->fp);
	w->more[w->depth] = true;
	if (key != NULL) {
		json_write_string(w->fp, key);
		fputc(':', w->fp);
	}
}

static void
begin(struct json_out *w, const char *key, char open)
{
	member(w, key);
	fputc(open, w->fp);
	/* deeper nesting is a bug in a command; the output stays valid JSON, only commas
	 * at the extra levels are not tracked */
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->more[++w->depth] = false;
}

void
json_begin_obj(struct json_out *w, const char *key)
{
	begin(w, key, '{');
}

void
json_end_obj(struct json_out *w)
{
	fputc('}', w->fp);
	w->depth--;
}

void
json_begin_arr(struct json_out *w, const char *key)
{
	begin(w, key, '[');
}

void
json_end_arr(struct json_out *w)
{
	fputc(']', w->fp);
	w->depth--;
}

void
json_str(struct json_out *w, const char *key, const char *v)
{
	member(w, key);
	if (v == NULL)
		fputs("null", w->fp);
	else
		json_write_string(w->fp, v);
}

void
json_raw(struct json_out *w, const char *key, const char *json)
{
	member(w, key);
	fputs(json, w->fp);
}

void
json_int(struct json_out *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->fp, "%" PRId64, v);
}

void
json_uint(struct json_out *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->fp, "%" PRIu64, v);
}

void
json_bool(struct json_out *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->fp);
}

struct reader {
	const char *p, *end;
	unsigned depth;
};

static void
skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
hex4(struct reader *r, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, r->p++) {
		char c = r->p < r->end ? *r->p : '\0';
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return EINVAL;
		*v = *v << 4 | d;
	}
	return 0;
}

static size_t
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* RFC 8259 section 7: escapes, surrogate pairs; raw control characters are not allowed. */
static int
read_string(char **sp, struct reader *r)
{
	const char *start = ++r->p; /* past the quote */
	char *s, *o;
	unsigned cp, lo;

	/* the decoded text is never longer than the literal */
	while (r->p < r->end && *r->p != '"')
		r->p += *r->p == '\\' && r->p + 1 < r->end ? 2 : 1;
	if (r->p >= r->end)
		return EINVAL;
	if ((s = malloc((size_t)(r->p - start) + 1)) == NULL)
		return ENOMEM;
	o = s;
	for (r->p = start; *r->p != '"';) {
		unsigned char c = (unsigned char)*r->p;
		size_t n;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			if ((n = utf8_len((const unsigned char *)r->p)) == 0 ||
			    r->p + n > r->end)
				goto bad;
			memcpy(o, r->p, n);
			o += n;
			r->p += n;
			continue;
		}
		r->p++;
		switch (*r->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (hex4(r, &cp) != 0 || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
					goto bad;
				r->p += 2;
				if (hex4(r, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o += put_utf8(o, cp);
			break;
		default:
			goto bad;
		}
	}
	r->p++;
	*o = '\0';
	*sp = s;
	return 0;
bad:
	free(s);
	return EINVAL;
}

/* RFC 8259 section 6. */
static int
read_number(struct json *j, struct reader *r)
{
	const char *p = r->p;
	char buf[64];

	if (p < r->end && *p == '-')
		p++;
	if (p < r->end && *p == '0')
		p++;
	else if (p < r->end && *p >= '1' && *p <= '9')
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	else
		return EINVAL;
	if (p < r->end && *p == '.') {
		if (++p >= r->end || *p < '0' || *p > '9')
			return EINVAL;
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		if (++p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return EINVAL;
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if ((size_t)(p - r->p) >= sizeof(buf))
		return EINVAL;
	memcpy(buf, r->p, (size_t)(p - r->p));
	buf[p - r->p] = '\0';
	j->type = JSON_NUMBER;
	j->num = strtod(buf, NULL);
	r->p = p;
	return isfinite(j->num) ? 0 : EINVAL;
}

static int read_value(struct json **jp, struct reader *r);

static bool
literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* Elements of an array or members of an object, up to the closing bracket. */
static int
read_items(struct json *j, struct reader *r, char close)
{
	struct json **tail = &j->child;
	int rc;

	if (++r->depth >= JSON_MAX_DEPTH)
		return EINVAL;
	r->p++;
	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		skip_space(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"')
				return EINVAL;
			if ((rc = read_string(&key, r)) != 0)
				return rc;
			skip_space(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				return EINVAL;
			}
			r->p++;
		}
		if ((rc = read_value(tail, r)) != 0) {
			free(key);
			return rc;
		}
		(*tail)->key = key;
		tail = &(*tail)->next;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return 0;
		}
		return EINVAL;
	}
}

static int
read_value(struct json **jp, struct reader *r)
{
	struct json *j;
	int rc = EINVAL;

	skip_space(r);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ENOMEM;
	*jp = j;
	if (r->p >= r->end)
		return EINVAL;
	switch (*r->p) {
	case '{':
		j->type = JSON_OBJECT;
		rc = read_items(j, r, '}');
		break;
	case '[':
		j->type = JSON_ARRAY;
		rc = read_items(j, r, ']');
		break;
	case '"':
		j->type = JSON_STRING;
		rc = read_string(&j->str, r);
		break;
	case 't':
		j->type = JSON_TRUE;
		rc = literal(r, "true") ? 0 : EINVAL;
		break;
	case 'f':
		j->type = JSON_FALSE;
		rc = literal(r, "false") ? 0 : EINVAL;
		break;
	case 'n':
		j->type = JSON_NULL;
		rc = literal(r, "null") ? 0 : EINVAL;
		break;
	default:
		rc = read_number(j, r);
		break;
	}
	return rc;
}

int
json_parse(struct json **jp, const char *text, size_t len)
{
	struct reader r = {text, text + len, 0};
	struct json *j = NULL;
	int rc = read_value(&j, &r);

	if (rc == 0) {
		skip_space(&r);
		if (r.p != r.end)
			rc = EINVAL;
	}
	if (rc != 0) {
		json_free(j);
		j = NULL;
	}
	*jp = j;
	return rc;
}

void
json_free(struct json *j)
{
	while (j != NULL) {
		struct json *next = j->next;
		json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct json *
json_get(const struct json *j, const char *key)
{
	if (j == NULL || j->type != JSON_OBJECT)
		return NULL;
	for (const struct json *m = j->child; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *
json_get_str(const struct json *j, const char *key, const char *def)
{
	const struct json *m = json_get(j, key);

	return m != NULL && m->type == JSON_STRING ? m->str : def;
}

int64_t
json_get_int(const struct json *j, const char *key, int64_t def)
{
	const struct json *m = json_get(j, key);

	if (m == NULL || m->type != JSON_NUMBER || m->num < -9.2e18 || m->num > 9.2e18)
		return def;
	return (int64_t)m->num;
}

bool
json_get_bool(const struct json *j, const char *key, bool def)
{
	const struct json *m = json_get(j, key);

	if (m == NULL || (m->type != JSON_TRUE && m->type != JSON_FALSE))
		return def;
	return m->type == JSON_TRUE;
}
