/* Spelling on a telephone keypad, letters as ITU-T E.161 places them: 2 ABC, 3 DEF, 4 GHI,
 * 5 JKL, 6 MNO, 7 PQRS, 8 TUV, 9 WXYZ. */
#ifndef IVR_KEYPAD_H
#define IVR_KEYPAD_H

#include <stddef.h>

/* The key a letter or digit is on ('0'-'9'), either case; '\0' for anything else. */
char keypad_key(char c);
/* Writes the keys that spell text: letters and digits become keys, spaces and punctuation
 * are skipped. Returns 0, EINVAL for a character that is neither letter, digit, space nor
 * ASCII punctuation, or ENOSPC when the keys do not fit in size. */
int keypad_spell(char *out, size_t size, const char *text);

#endif
