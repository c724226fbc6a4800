#include <ctype.h>
#include <errno.h>

#include "ivr/keypad.h"

/* ITU-T E.161 figure 1: the letters of keys 2-9, A to Z in order. */
static const char letter_keys[26] = "22233344455566677778889999";

char
keypad_key(char c)
{
	if (c >= '0' && c <= '9')
		return c;
	if (c >= 'a' && c <= 'z')
		return letter_keys[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return letter_keys[c - 'A'];
	return '\0';
}

int
keypad_spell(char *out, size_t size, const char *text)
{
	size_t n = 0;
	int rc = 0;

	if (size == 0)
		return ENOSPC;
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;
		char k = keypad_key((char)c);

		if (k == '\0') {
			if (c == ' ' || (c < 0x80 && ispunct(c)))
				continue;
			rc = EINVAL;
			goto out;
		}
		if (n + 1 >= size) {
			rc = ENOSPC;
			goto out;
		}
		out[n++] = k;
	}
out:
	out[n] = '\0';
	return rc;
}
