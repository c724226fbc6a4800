/* Prompt names ("main/greeting") to files under DIR/LANG. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ivr/prompt.h"
#include "ivr/util.h"

/* In order of preference; all of them are formats libsndfile reads. */
static const char *const prompt_exts[] = {
	"wav", "flac", "ogg", "oga", "opus", "mp3", "au", "aiff", "aif", "caf", "w64",
};

/* Components of [A-Za-z0-9_-] joined by single '/' (when slash): no ".", no leading or
 * trailing '/', nothing that could leave the prompt directory or need quoting. */
static bool
valid_name(const char *s, bool slash)
{
	bool start = true;

	for (; *s != '\0'; s++) {
		if (*s == '/' && slash && !start) {
			start = true;
			continue;
		}
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
			!(*s >= '0' && *s <= '9') && *s != '_' && *s != '-')
			return false;
		start = false;
	}
	return !start;
}

int
prompt_resolve(char *path, size_t pathlen, const char *dir, const char *lang,
	const char *name)
{
	struct stat st;

	if (!valid_name(lang, false) || !valid_name(name, true))
		return EINVAL;
	for (size_t i = 0; i < ARRAY_LEN(prompt_exts); i++) {
		int n = snprintf(path, pathlen, "%s/%s/%s.%s", dir, lang, name, prompt_exts[i]);

		if (n < 0 || (size_t)n >= pathlen)
			return ENAMETOOLONG;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
	return ENOENT;
}
