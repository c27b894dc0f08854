/* SPDX-License-Identifier: MIT */
/*
 * The debug=1 text writer, folded stacks and the top table, on small
 * hand-built profiles whose expected output is worked out by hand from Go's
 * printers and pprof's parsers and graph code.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "tests/unit/harness.h"

static const struct cp_value_type thread_types[] = { { "threads", "count" } };
static const struct cp_value_type cpu_types[] = { { "samples", "count" },
						  { "cpu", "nanoseconds" } };

/* Location ids in the order build_locations() adds them. */
enum { L_INLINE = 1, L_MAIN, L_NOLINES, L_NOFILE };

static int build_locations(struct cp_profile *prof)
{
	static const struct cp_mapping_desc app = {
		0x400000, 0x500000, 0, "/bin/app", "abcd", false
	};
	static const struct cp_mapping_desc spaced = { 0x600000, 0x700000,
						       0x1000,	 "/lib/with space.so",
						       NULL,	 false };
	static const struct cp_line_desc chain[] = {
		{ .function = "inl", .filename = "a.c", .line = 10 },
		{ .function = "outer_function_with_a_long_name", .filename = "a.c", .line = 20 },
	};
	static const struct cp_line_desc main_line = { .function = "main",
						       .filename = "a.c",
						       .line = 30 };
	static const struct cp_line_desc nofile = { .function = "noffile" };

	if (cp_profile_add_mapping(prof, &app) != 1 || cp_profile_add_mapping(prof, &spaced) != 2)
		return -1;
	if (cp_profile_add_location(prof, 1, 0x401000, chain, 2) != L_INLINE ||
	    cp_profile_add_location(prof, 1, 0x402000, &main_line, 1) != L_MAIN ||
	    cp_profile_add_location(prof, 1, 0x404000, NULL, 0) != L_NOLINES ||
	    cp_profile_add_location(prof, 1, 0x403000, &nofile, 1) != L_NOFILE)
		return -1;
	/* Every inline level is offset from the out-of-line function's entry. */
	if (cp_profile_set_function_entry(prof, L_INLINE, 0x400f00) < 0 ||
	    cp_profile_set_function_entry(prof, L_MAIN, 0x401ff0) < 0 ||
	    cp_profile_set_function_entry(prof, L_NOFILE + 1, 1) != -EINVAL)
		return -1;
	return 0;
}

/* A threads profile: records of 5, 3, 3 and 2 (a recursive stack), and
 * one of 100 without a stack. */
static int build_threads(struct cp_profile **ret)
{
	struct cp_profile_desc desc = { thread_types, 1, { "threads", "count" }, 1, 0, 0, NULL };
	static const uint64_t s1[] = { L_INLINE, L_MAIN }, s2[] = { L_NOLINES, L_MAIN },
			      s3[] = { L_NOFILE, L_MAIN }, s4[] = { L_MAIN, L_MAIN };
	static const int64_t v2 = 2, v3 = 3, v5 = 5, v100 = 100;
	static const struct cp_label_desc quoted = { .key = "thread", .str = "a\"b" };
	static const struct cp_label_desc two[] = { { .key = "thread", .str = "x" },
						    { .key = "pid", .num = 7 } };
	struct cp_profile *prof;

	if (cp_profile_new(&desc, &prof) < 0)
		return -1;
	if (build_locations(prof) < 0 || cp_profile_add_sample(prof, s1, 2, &v3, &quoted, 1) < 0 ||
	    cp_profile_add_sample(prof, s2, 2, &v5, two, 2) < 0 ||
	    cp_profile_add_sample(prof, s3, 2, &v3, NULL, 0) < 0 ||
	    cp_profile_add_sample(prof, s4, 2, &v2, NULL, 0) < 0 ||
	    cp_profile_append_sample(prof, NULL, 0, &v100, NULL, 0) < 0) {
		cp_profile_free(prof);
		return -1;
	}
	*ret = prof;
	return 0;
}

typedef int (*writer_fn)(const struct cp_profile *prof, FILE *out);

/* The output of @fn, in a string to free; NULL with *r set on failure. */
static char *capture(writer_fn fn, const struct cp_profile *prof, int *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		*r = -ENOMEM;
		return NULL;
	}
	*r = fn(prof, f);
	fclose(f);
	if (*r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

TEST(count_format)
{
	struct cp_profile *prof;
	char *text;
	int r;

	CHECK_OK(build_threads(&prof));
	text = capture(cp_profile_write_text, prof, &r);
	cp_profile_free(prof);
	CHECK_OK(r);
	/* Sorted by count, ties by addresses; @ lists are addresses + 1; the
	 * inline chain is two "#" lines with tabwriter's padding; no record
	 * for the empty stack; the mapping with a space is left out. */
	CHECK_STREQ(text, "threads profile: total 13\n"
			  "5 @ 0x404001 0x402001\n"
			  "# labels: {\"pid\":7, \"thread\":\"x\"}\n"
			  "#\t0x404000\n"
			  "#\t0x402000\tmain+0x10\ta.c:30\n"
			  "\n"
			  "3 @ 0x401001 0x402001\n"
			  "# labels: {\"thread\":\"a\\\"b\"}\n"
			  "#\t0x401000\tinl+0x100\t\t\t\ta.c:10\n"
			  "#\t0x401000\touter_function_with_a_long_name+0x100\ta.c:20\n"
			  "#\t0x402000\tmain+0x10\t\t\t\ta.c:30\n"
			  "\n"
			  "3 @ 0x403001 0x402001\n"
			  "#\t0x403000\tnoffile\n"
			  "#\t0x402000\tmain+0x10\ta.c:30\n"
			  "\n"
			  "2 @ 0x402001 0x402001\n"
			  "#\t0x402000\tmain+0x10\ta.c:30\n"
			  "#\t0x402000\tmain+0x10\ta.c:30\n"
			  "\n"
			  "--- Memory map: ---\n"
			  "400000-500000 r-xp /bin/app (@0) abcd\n");
	free(text);
	return 0;
}

TEST(contention_format_for_cpu)
{
	struct cp_profile_desc desc = { cpu_types, 2, { "cpu", "nanoseconds" }, 10, 0, 0, NULL };
	static const uint64_t a[] = { L_MAIN }, b[] = { L_INLINE, L_MAIN };
	static const int64_t va[] = { 2, 20 }, vb[] = { 1, 30 };
	struct cp_profile *prof;
	char *text;
	int r;

	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_OK(build_locations(prof));
	CHECK_OK(cp_profile_add_sample(prof, a, 1, va, NULL, 0));
	CHECK_OK(cp_profile_add_sample(prof, b, 2, vb, NULL, 0));
	text = capture(cp_profile_write_text, prof, &r);
	cp_profile_free(prof);
	CHECK_OK(r);
	/* Nanoseconds as cycles at 1 GHz, then the count; the most time first. */
	CHECK_STREQ(text, "--- contention:\n"
			  "cycles/second=1000000000\n"
			  "30 1 @ 0x401001 0x402001\n"
			  "#\t0x401000\tinl+0x100\t\t\t\ta.c:10\n"
			  "#\t0x401000\touter_function_with_a_long_name+0x100\ta.c:20\n"
			  "#\t0x402000\tmain+0x10\t\t\t\ta.c:30\n"
			  "\n"
			  "20 2 @ 0x402001\n"
			  "#\t0x402000\tmain+0x10\ta.c:30\n"
			  "\n"
			  "--- Memory map: ---\n"
			  "400000-500000 r-xp /bin/app (@0) abcd\n");
	free(text);
	return 0;
}

TEST(text_refuses_what_it_cannot_express)
{
	static const struct cp_value_type bytes[] = { { "alloc_space", "bytes" } };
	static const struct cp_value_type spaced[] = { { "my threads", "count" } };
	struct cp_profile_desc desc = { bytes, 1, { "space", "bytes" }, 1, 0, 0, NULL };
	static const uint64_t stack[] = { L_MAIN };
	static const int64_t negative = -1;
	struct cp_profile *prof;
	int r;

	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK(!capture(cp_profile_write_text, prof, &r));
	CHECK_EQ(r, -EOPNOTSUPP);
	cp_profile_free(prof);

	desc.sample_types = spaced;
	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK(!capture(cp_profile_write_text, prof, &r));
	CHECK_EQ(r, -EINVAL);
	cp_profile_free(prof);

	desc.sample_types = thread_types;
	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_OK(build_locations(prof));
	CHECK_OK(cp_profile_add_sample(prof, stack, 1, &negative, NULL, 0));
	CHECK(!capture(cp_profile_write_text, prof, &r));
	CHECK_EQ(r, -EINVAL);
	cp_profile_free(prof);
	return 0;
}

TEST(folded)
{
	struct cp_profile *prof;
	char *text;
	int r;

	CHECK_OK(build_threads(&prof));
	text = capture(cp_profile_write_folded, prof, &r);
	cp_profile_free(prof);
	CHECK_OK(r);
	CHECK_STREQ(text, "main;[app] 5\n"
			  "main;main 2\n"
			  "main;noffile 3\n"
			  "main;outer_function_with_a_long_name;inl 3\n");
	free(text);
	return 0;
}

TEST(top)
{
	struct cp_profile *prof;
	struct cp_top *top;

	CHECK_OK(build_threads(&prof));
	CHECK_OK(cp_profile_top(prof, 0, 0, &top));
	/* The empty stack counts in the total only; main is counted once in
	 * its recursive sample; ties in flat go by name. */
	CHECK_EQ(top->total, 113);
	CHECK_EQ(top->nkept, 5);
	CHECK_EQ(top->ndropped, 0);
	CHECK_EQ(top->nrows, 5);
	CHECK_STREQ(top->rows[0].name, "[app]");
	CHECK_EQ(top->rows[0].flat, 5);
	CHECK_EQ(top->rows[0].cum, 5);
	CHECK_STREQ(top->rows[1].name, "inl");
	CHECK_EQ(top->rows[1].inlined, CP_TOP_INLINED);
	CHECK_STREQ(top->rows[2].name, "noffile");
	CHECK_STREQ(top->rows[3].name, "main");
	CHECK_EQ(top->rows[3].flat, 2);
	CHECK_EQ(top->rows[3].cum, 13);
	CHECK_EQ(top->rows[3].inlined, CP_TOP_NOT_INLINED);
	CHECK_STREQ(top->rows[4].name, "outer_function_with_a_long_name");
	CHECK_EQ(top->rows[4].flat, 0);
	CHECK_EQ(top->rows[4].cum, 3);
	CHECK_EQ(top->rows[4].inlined, CP_TOP_NOT_INLINED);
	cp_top_free(top);

	CHECK_OK(cp_profile_top(prof, 0, 2, &top));
	CHECK_EQ(top->nrows, 2);
	CHECK_EQ(top->nkept, 5);
	cp_top_free(top);
	CHECK_EQ(cp_profile_top(prof, 1, 0, &top), -EINVAL);
	cp_profile_free(prof);
	return 0;
}

TEST(top_cuts_below_half_a_percent)
{
	struct cp_profile_desc desc = { thread_types, 1, { "threads", "count" }, 1, 0, 0, NULL };
	static const uint64_t hot[] = { L_MAIN }, cold[] = { L_NOLINES, L_MAIN };
	static const int64_t many = 1000, one = 1;
	struct cp_profile *prof;
	struct cp_top *top;

	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_OK(build_locations(prof));
	CHECK_OK(cp_profile_add_sample(prof, hot, 1, &many, NULL, 0));
	CHECK_OK(cp_profile_add_sample(prof, cold, 2, &one, NULL, 0));
	CHECK_OK(cp_profile_top(prof, 0, 0, &top));
	/* The cut is 0.5% of 1001, i.e. 5: [app]'s cum of 1 is below it. */
	CHECK_EQ(top->nkept, 1);
	CHECK_EQ(top->ndropped, 1);
	CHECK_STREQ(top->rows[0].name, "main");
	CHECK_EQ(top->rows[0].cum, 1001);
	cp_top_free(top);
	cp_profile_free(prof);
	return 0;
}
