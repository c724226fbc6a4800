#include <errno.h>

#include "check.h"
#include "ivr/number.h"

static const struct number_plan nanp = {"1", 10};

static int
norm(char *out, const char *in)
{
	out[0] = '\0';
	return number_normalize(out, NUMBER_MAX, in, &nanp);
}

static void
test_forms_agree(void)
{
	static const char *const forms[] = {
		"18005550100", "8005550100", "+18005550100", "+1-800-555-0100",
		"+1 (800) 555-0100", "tel:+1-800-555-0100", "TEL:+1.800.555.0100",
		"sip:+18005550100@host;user=phone", "sips:18005550100@example.com",
		"tel:+1-800-555-0100;phone-context=example.com", "(800) 555-0100",
	};
	char out[NUMBER_MAX];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		CHECK_INT(norm(out, forms[i]), 0);
		CHECK_STR(out, "18005550100");
	}
}

static void
test_other_lengths_kept(void)
{
	char out[NUMBER_MAX];

	CHECK_INT(norm(out, "5551234"), 0); /* an extension or short number */
	CHECK_STR(out, "5551234");
	CHECK_INT(norm(out, "+442079460000"), 0);
	CHECK_STR(out, "442079460000");
	/* '+' means international: a 10-digit number after it gets no country code */
	CHECK_INT(norm(out, "+8005550100"), 0);
	CHECK_STR(out, "8005550100");
	CHECK_INT(norm(out, "123456789012345"), 0); /* 15 digits: the E.164 maximum */
	CHECK_STR(out, "123456789012345");
}

static void
test_plan(void)
{
	const struct number_plan vn = {"84", 9}, none = {NULL, 0};
	char out[NUMBER_MAX];

	CHECK_INT(number_normalize(out, sizeof(out), "912345678", &vn), 0);
	CHECK_STR(out, "84912345678");
	CHECK_INT(number_normalize(out, sizeof(out), "8005550100", &none), 0);
	CHECK_STR(out, "8005550100");
	CHECK_INT(number_normalize(out, sizeof(out), "8005550100", NULL), 0);
	CHECK_STR(out, "8005550100");
}

static void
test_garbage(void)
{
	char out[NUMBER_MAX];

	CHECK_INT(norm(out, ""), EINVAL);
	CHECK_INT(norm(out, "tel:"), EINVAL);
	CHECK_INT(norm(out, "sip:@host"), EINVAL);
	CHECK_INT(norm(out, "+"), EINVAL);
	CHECK_INT(norm(out, "anonymous"), EINVAL);
	CHECK_INT(norm(out, "sip:anonymous@anonymous.invalid"), EINVAL);
	CHECK_INT(norm(out, "1800FLOWERS"), EINVAL);
	CHECK_INT(norm(out, "*67 800 555 0100"), EINVAL);
	CHECK_INT(norm(out, "*678005550100"), EINVAL);
	CHECK_INT(norm(out, "8005550100#"), EINVAL);
	CHECK_INT(norm(out, "1++8005550100"), EINVAL);
	CHECK_INT(norm(out, "1+8005550100"), EINVAL);
	CHECK_INT(norm(out, "1234567890123456"), EINVAL); /* 16 digits */
	CHECK_INT(norm(out, "1234567890123456789012345678901234567890"), EINVAL);
	CHECK_INT(norm(out, "800\t5550100"), EINVAL);
	/* a country code making a national number too long */
	{
		const struct number_plan big = {"999", 14};
		CHECK_INT(number_normalize(out, sizeof(out), "12345678901234", &big), EINVAL);
	}
	CHECK_STR(out, ""); /* untouched on failure */
}

static void
test_small_buffer(void)
{
	char out[5] = "x";

	CHECK_INT(number_normalize(out, sizeof(out), "8005550100", &nanp), ENOSPC);
	CHECK_STR(out, "x");
	CHECK_INT(number_normalize(out, sizeof(out), "1234", &nanp), 0);
	CHECK_STR(out, "1234");
}

static void
test_match(void)
{
	CHECK(number_match("15551234567", "+15551234567", &nanp));
	CHECK(number_match("15551234567", "555-123-4567", &nanp));
	CHECK(number_match("15551234567", "1555*", &nanp));
	CHECK(number_match("15551234567", "+1 555*", &nanp));
	CHECK(number_match("15551234567", "*", &nanp) == false); /* no digits: never matches */
	CHECK(number_match("15551234567", "555*", &nanp) == false);
	CHECK(number_match("15551234567", "15551234568", &nanp) == false);
	CHECK(number_match("15551234567", "155512345678*", &nanp) == false);
	CHECK(number_match("15551234567", "", &nanp) == false);
}

static void
test_pattern_check(void)
{
	CHECK_INT(number_pattern_check("+15551234567", &nanp), 0);
	CHECK_INT(number_pattern_check("1555*", &nanp), 0);
	CHECK_INT(number_pattern_check("+1 (555) *", &nanp), 0);
	CHECK_INT(number_pattern_check("*", &nanp), EINVAL);
	CHECK_INT(number_pattern_check("1555**", &nanp), EINVAL);
	CHECK_INT(number_pattern_check("15*55", &nanp), EINVAL);
	CHECK_INT(number_pattern_check("boss", &nanp), EINVAL);
	CHECK_INT(number_pattern_check("", &nanp), EINVAL);
	CHECK_INT(number_pattern_check("1234567890123456*", &nanp), EINVAL);
}

CHECK_MAIN(T(test_forms_agree), T(test_other_lengths_kept), T(test_plan), T(test_garbage),
	T(test_small_buffer), T(test_match), T(test_pattern_check))
