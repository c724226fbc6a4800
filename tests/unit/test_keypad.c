/* Keypad spelling (ITU-T E.161): what a caller presses to spell a directory name. */
#include <errno.h>

#include "check.h"
#include "ivr/keypad.h"

static void
test_letters(void)
{
	static const char *const keys[] = {"ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV",
		"WXYZ"};

	for (int k = 0; k < 8; k++)
		for (const char *c = keys[k]; *c != '\0'; c++) {
			CHECK_INT(keypad_key(*c), '2' + k);
			CHECK_INT(keypad_key((char)(*c - 'A' + 'a')), '2' + k);
		}
	/* Q and Z are on 7 and 9, as E.161 has it, not on 1 and 0 as on old dials */
	CHECK_INT(keypad_key('Q'), '7');
	CHECK_INT(keypad_key('z'), '9');
	CHECK_INT(keypad_key('7'), '7');
	CHECK_INT(keypad_key('0'), '0');
	CHECK_INT(keypad_key(' '), '\0');
	CHECK_INT(keypad_key('-'), '\0');
	CHECK_INT(keypad_key('\0'), '\0');
}

static void
test_spell(void)
{
	char out[32];

	CHECK_INT(keypad_spell(out, sizeof(out), "BILLING"), 0);
	CHECK_STR(out, "2455464");
	CHECK_INT(keypad_spell(out, sizeof(out), "billing"), 0);
	CHECK_STR(out, "2455464");
	/* spaces and punctuation are skipped */
	CHECK_INT(keypad_spell(out, sizeof(out), "Bill P."), 0);
	CHECK_STR(out, "24557");
	CHECK_INT(keypad_spell(out, sizeof(out), "O'Neil-Smith, J"), 0);
	CHECK_STR(out, "66345764845");
	CHECK_INT(keypad_spell(out, sizeof(out), "Quiz 42"), 0);
	CHECK_STR(out, "784942");
	CHECK_INT(keypad_spell(out, sizeof(out), ""), 0);
	CHECK_STR(out, "");
}

static void
test_spell_errors(void)
{
	char out[4];

	/* what is not ASCII cannot be spelled; out holds what came before */
	CHECK_INT(keypad_spell(out, sizeof(out), "N\xc3\xa9"), EINVAL);
	CHECK_STR(out, "6");
	CHECK_INT(keypad_spell(out, sizeof(out), "A\tB"), EINVAL);
	/* too long: cut, and said so */
	CHECK_INT(keypad_spell(out, sizeof(out), "ABCD"), ENOSPC);
	CHECK_STR(out, "222");
	CHECK_INT(keypad_spell(out, sizeof(out), "A B C"), 0);
	CHECK_STR(out, "222");
	CHECK_INT(keypad_spell(out, 0, "A"), ENOSPC);
}

CHECK_MAIN(T(test_letters), T(test_spell), T(test_spell_errors))
