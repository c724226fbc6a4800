/* Control protocol JSON: json_parse, the getters the commands use, and json_write_string
 * back out (which must turn anything into valid UTF-8). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/json.h"

static void
walk(const struct json *j, FILE *out, unsigned depth)
{
	if (depth > JSON_MAX_DEPTH + 1)
		abort(); /* deeper than json_parse promises */
	for (; j != NULL; j = j->next) {
		if (j->key != NULL)
			json_write_string(out, j->key);
		if (j->type == JSON_STRING)
			json_write_string(out, j->str);
		walk(j->child, out, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json *j = NULL;
	FILE *out;
	char *text, *buf = NULL;
	size_t buflen = 0;

	if (size > 65536)
		return -1;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)json_utf8_valid(text);
	if (json_parse(&j, text, size) == 0) {
		(void)json_get_str(j, "command", NULL);
		(void)json_get_int(j, "id", -1);
		(void)json_get_bool(j, "on", false);
		(void)json_get(j, "args");
		out = open_memstream(&buf, &buflen);
		if (out != NULL) {
			walk(j, out, 0);
			fclose(out);
			if (!json_utf8_valid(buf))
				abort();
			free(buf);
		}
		json_free(j);
	}
	free(text);
	return 0;
}
