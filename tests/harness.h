#ifndef MDC_TEST_HARNESS_H
#define MDC_TEST_HARNESS_H
/*
 * The project's test harness: in-process, one header, no framework.
 *
 *	TEST(parses_minimal) { ASSERT_EQ_INT(1, 1); }
 *	int main(int argc, char **argv) { return mdc_test_main(argc, argv); }
 *
 * Tests register themselves through constructors; main runs them in file order (or the
 * ones named on the command line) and ends with "N passed, N failed". An ASSERT failure
 * prints file:line and returns from the test, which then counts as failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*mdc_test_fn)(int *failed);

struct mdc_test_case {
	const char *name;
	mdc_test_fn fn;
};

#define MDC_TEST_MAX 512
static struct mdc_test_case mdc_tests_[MDC_TEST_MAX];
static int mdc_ntests_;

static inline void mdc_test_register_(const char *name, mdc_test_fn fn)
{
	if (mdc_ntests_ < MDC_TEST_MAX)
		mdc_tests_[mdc_ntests_++] = (struct mdc_test_case){name, fn};
}

#define TEST(name)                                                                                 \
	static void test_##name(int *mdc_failed_);                                                 \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		mdc_test_register_(#name, test_##name);                                            \
	}                                                                                          \
	static void test_##name(int *mdc_failed_)

#define MDC_FAIL_(...)                                                                             \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                    \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		*mdc_failed_ = 1;                                                                  \
		return;                                                                            \
	} while (0)

#define ASSERT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			MDC_FAIL_("assertion failed: %s", #cond);                                  \
	} while (0)

#define ASSERT_EQ_INT(want, got)                                                                   \
	do {                                                                                       \
		long long w_ = (long long)(want), g_ = (long long)(got);                           \
		if (w_ != g_)                                                                      \
			MDC_FAIL_("%s: want %lld, got %lld", #got, w_, g_);                        \
	} while (0)

#define ASSERT_EQ_STR(want, got)                                                                   \
	do {                                                                                       \
		const char *w_ = (want), *g_ = (got);                                              \
		if (!w_ || !g_ || strcmp(w_, g_))                                                  \
			MDC_FAIL_("%s:\n  want: %s\n  got:  %s", #got, w_ ? w_ : "(null)",         \
			          g_ ? g_ : "(null)");                                             \
	} while (0)

#define ASSERT_CONTAINS(haystack, needle)                                                          \
	do {                                                                                       \
		const char *h_ = (haystack), *n_ = (needle);                                       \
		if (!h_ || !strstr(h_, n_))                                                        \
			MDC_FAIL_("%s does not contain \"%s\":\n%s", #haystack, n_,                \
			          h_ ? h_ : "(null)");                                             \
	} while (0)

#define ASSERT_NOT_CONTAINS(haystack, needle)                                                      \
	do {                                                                                       \
		const char *h_ = (haystack), *n_ = (needle);                                       \
		if (h_ && strstr(h_, n_))                                                          \
			MDC_FAIL_("%s contains \"%s\":\n%s", #haystack, n_, h_);                   \
	} while (0)

static inline int mdc_test_main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < mdc_ntests_; i++) {
		int f = 0, selected = argc < 2;
		for (int a = 1; a < argc; a++)
			if (!strcmp(argv[a], mdc_tests_[i].name))
				selected = 1;
		if (!selected)
			continue;
		mdc_tests_[i].fn(&f);
		fprintf(stderr, "%s %s\n", f ? "FAIL" : "ok  ", mdc_tests_[i].name);
		f ? failed++ : passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
