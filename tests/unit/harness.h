/* SPDX-License-Identifier: MIT */
/*
 * A minimal unit-test harness.  TEST(name) { ... } registers a test through a
 * constructor; main() runs them all and prints one TAP-style line per test.
 * A failed CHECK reports file:line and the expression and ends that test.
 * The program exits 0 when every test passed, 1 otherwise (automake's
 * default driver reads the exit status).
 */
#ifndef CP_TESTS_HARNESS_H
#define CP_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cp_test {
	const char *name;
	int (*fn)(void);
	struct cp_test *next;
};

static struct cp_test *cp_tests_head, **cp_tests_tail = &cp_tests_head;

#define TEST(name)                                                                                 \
	static int test_##name(void);                                                              \
	__attribute__((constructor)) static void register_##name(void)                             \
	{                                                                                          \
		static struct cp_test t = { #name, test_##name, NULL };                            \
		*cp_tests_tail = &t;                                                               \
		cp_tests_tail = &t.next;                                                           \
	}                                                                                          \
	static int test_##name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long cp_a_ = (long long)(a), cp_b_ = (long long)(b);                          \
		if (cp_a_ != cp_b_) {                                                              \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",        \
				__FILE__, __LINE__, #a, cp_a_, #b, cp_b_);                         \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *cp_a_ = (a), *cp_b_ = (b);                                             \
		if (!cp_a_ || !cp_b_ || strcmp(cp_a_, cp_b_) != 0) {                               \
			fprintf(stderr, "%s:%d: CHECK_STREQ failed: %s == \"%s\", %s == \"%s\"\n", \
				__FILE__, __LINE__, #a, cp_a_ ? cp_a_ : "(null)", #b,              \
				cp_b_ ? cp_b_ : "(null)");                                         \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* A check that returns a negative errno: 0 or more is success. */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		long long cp_r_ = (long long)(expr);                                               \
		if (cp_r_ < 0) {                                                                   \
			fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,       \
				strerror((int)-cp_r_));                                            \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	int n = 0, failed = 0;

	printf("1..%d\n", ({
		       int count = 0;
		       for (struct cp_test *t = cp_tests_head; t; t = t->next)
			       count++;
		       count;
	       }));
	for (struct cp_test *t = cp_tests_head; t; t = t->next) {
		if (argc > 1 && strcmp(argv[1], t->name) != 0)
			continue;
		int r = t->fn();

		printf("%s %d - %s\n", r ? "not ok" : "ok", ++n, t->name);
		failed += r != 0;
	}
	return failed ? 1 : 0;
}

#endif
