/* JSON (RFC 8259, UTF-8): the control socket's answers and the reports are written with
 * json_out; ivrctl reads answers with json_parse. */
#ifndef IVR_JSON_H
#define IVR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

/* A writer: each call adds one value (with its key inside an object) and the comma before
 * it when one is needed. */
struct json_out {
	FILE *fp;
	unsigned depth;
	bool more[JSON_MAX_DEPTH]; /* a value was written at this depth: the next needs a comma */
};

/* Starts inside an object of which one member is already written. */
void json_out_fields(struct json_out *w, FILE *fp);
/* key is NULL for array elements. */
void json_begin_obj(struct json_out *w, const char *key);
void json_end_obj(struct json_out *w);
void json_begin_arr(struct json_out *w, const char *key);
void json_end_arr(struct json_out *w);
void json_str(struct json_out *w, const char *key, const char *v); /* v NULL: null */
void json_int(struct json_out *w, const char *key, int64_t v);
void json_uint(struct json_out *w, const char *key, uint64_t v);
void json_bool(struct json_out *w, const char *key, bool v);
/* A value already written as JSON (one valid value, as another writer made it). */
void json_raw(struct json_out *w, const char *key, const char *json);
/* A string literal; bytes that are not UTF-8 become U+FFFD. */
void json_write_string(FILE *fp, const char *s);
/* Whether s is valid UTF-8 (no overlong forms, no surrogates). */
bool json_utf8_valid(const char *s);

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* A parsed value. Arrays and objects list their elements from child through next. */
struct json {
	enum json_type type;
	char *key; /* an object member's name, else NULL */
	char *str; /* JSON_STRING: the text (no NUL inside: \u0000 is refused) */
	double num;
	struct json *child, *next;
};

/* Parses exactly one value (surrounding white space allowed). EINVAL when text is not
 * JSON or nests deeper than JSON_MAX_DEPTH, ENOMEM. */
int json_parse(struct json **jp, const char *text, size_t len);
void json_free(struct json *j);
/* A member of an object, NULL when absent (or j is not an object). */
const struct json *json_get(const struct json *j, const char *key);
/* A member's value when it has that type, else def. */
const char *json_get_str(const struct json *j, const char *key, const char *def);
int64_t json_get_int(const struct json *j, const char *key, int64_t def);
bool json_get_bool(const struct json *j, const char *key, bool def);

#endif
