/* A small unit-test harness: each test runs in turn; a failed CHECK reports file:line and
 * marks the test failed. Under AddressSanitizer each test is followed by a leak check. */
#ifndef IVR_CHECK_H
#define IVR_CHECK_H

#include <stdio.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHECK_HAVE_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_HAVE_LSAN 1
#endif
#ifdef CHECK_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

static int check_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failed = 1;                                        \
		}                                                                \
	} while (0)
#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);  \
		if (check_a_ != check_b_) {                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_);  \
			check_failed = 1;                                        \
		}                                                                \
	} while (0)
#define CHECK_STR(a, b)                                                          \
	do {                                                                     \
		const char *check_a_ = (a), *check_b_ = (b);                     \
		if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                 \
			check_failed = 1;                                        \
		}                                                                \
	} while (0)

struct check_test {
	const char *name;
	void (*fn)(void);
};

static inline int
check_run(const struct check_test *tests, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		check_failed = 0;
		tests[i].fn();
#ifdef CHECK_HAVE_LSAN
		if (__lsan_do_recoverable_leak_check() != 0) {
			fprintf(stderr, "%s: leaked memory\n", tests[i].name);
			check_failed = 1;
		}
#endif
		printf("%s %s\n", check_failed ? "FAIL" : "ok  ", tests[i].name);
		failed += check_failed;
	}
	printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed ? 1 : 0;
}

#define CHECK_MAIN(...)                                                          \
	int main(void)                                                           \
	{                                                                        \
		static const struct check_test tests_[] = {__VA_ARGS__};         \
		return check_run(tests_, sizeof(tests_) / sizeof(tests_[0]));    \
	}
#define T(fn) {#fn, fn}

#endif
