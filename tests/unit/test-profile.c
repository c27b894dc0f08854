/* SPDX-License-Identifier: MIT */
/*
 * The profile builder: interning, dedupe, merging, ids and has_* flags.
 * White-box where the public accessors cannot see (the string table and the
 * function table).
 */
#include "config.h"

#include <errno.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "lib/util.h"
#include "tests/unit/harness.h"

static const struct cp_value_type cpu_types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

static const struct cp_profile_desc cpu_desc = {
	.sample_types = cpu_types,
	.nsample_types = 2,
	.period_type = { "cpu", "nanoseconds" },
	.period = 10000000,
	.time_nanos = 1700000000123456789,
	.duration_nanos = 2500000000,
};

static const struct cp_mapping_desc main_map = {
	.memory_start = 0x400000,
	.memory_limit = 0x500000,
	.filename = "/usr/bin/app",
	.build_id = "0123abcd",
};

static const struct cp_mapping_desc lib_map = {
	.memory_start = 0x7f0000000000,
	.memory_limit = 0x7f0000100000,
	.file_offset = 0x1000,
	.filename = "/lib/libc.so.6",
	.has_inline_frames = true,
};

static const struct cp_line_desc full_line = { "leaf", "_Z4leafv", "a.c", 10, 5 };

static struct cp_profile *new_cpu(void)
{
	struct cp_profile *prof = NULL;

	return cp_profile_new(&cpu_desc, &prof) < 0 ? NULL : prof;
}

TEST(new_rejects_no_sample_types)
{
	struct cp_profile_desc desc = cpu_desc;
	struct cp_profile *prof = NULL;

	desc.nsample_types = 0;
	CHECK_EQ(cp_profile_new(&desc, &prof), -EINVAL);
	desc.nsample_types = 2;
	desc.sample_types = NULL;
	CHECK_EQ(cp_profile_new(&desc, &prof), -EINVAL);
	CHECK(prof == NULL);
	cp_profile_free(NULL);
	return 0;
}

TEST(header_fields)
{
	struct cp_profile *prof = new_cpu();

	CHECK(prof);
	CHECK_EQ(cp_profile_nsample_types(prof), 2);
	CHECK_STREQ(cp_profile_sample_type(prof, 0).type, "samples");
	CHECK_STREQ(cp_profile_sample_type(prof, 0).unit, "count");
	CHECK_STREQ(cp_profile_sample_type(prof, 1).type, "cpu");
	CHECK_STREQ(cp_profile_sample_type(prof, 1).unit, "nanoseconds");
	CHECK_STREQ(cp_profile_period_type(prof).type, "cpu");
	CHECK_STREQ(cp_profile_period_type(prof).unit, "nanoseconds");
	CHECK_EQ(cp_profile_period(prof), 10000000);
	CHECK_EQ(cp_profile_time_nanos(prof), 1700000000123456789);
	CHECK_EQ(cp_profile_duration_nanos(prof), 2500000000);
	/* Unset: pprof shows the last type. */
	CHECK_EQ(prof->default_sample_type, 0);
	CHECK_EQ(cp_profile_default_sample_index(prof), 1);
	CHECK_EQ(cp_profile_nsamples(prof), 0);
	CHECK_EQ(cp_profile_nmappings(prof), 0);
	CHECK(cp_profile_location(prof, 0) == NULL);
	CHECK(cp_profile_location(prof, 1) == NULL);
	cp_profile_free(prof);
	return 0;
}

TEST(default_sample_type)
{
	struct cp_profile_desc desc = cpu_desc;
	struct cp_profile *prof = NULL;

	desc.default_sample_type = "samples";
	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_EQ(cp_profile_default_sample_index(prof), 0);
	CHECK_STREQ(cp_strpool_get(&prof->strings, (size_t)prof->default_sample_type), "samples");
	cp_profile_free(prof);

	/* A name that is no sample type falls back to the last, as in pprof. */
	desc.default_sample_type = "alloc_space";
	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_EQ(cp_profile_default_sample_index(prof), 1);
	cp_profile_free(prof);
	return 0;
}

TEST(string_table_first_use_order)
{
	struct cp_profile *prof = new_cpu();
	static const char *const want[] = {
		"",	    "samples", "count",	   "cpu", "nanoseconds", "/usr/bin/app",
		"0123abcd", "leaf",    "_Z4leafv", "a.c", "thread",	 "main",
	};
	struct cp_label_desc label = { .key = "thread", .str = "main" };
	int64_t loc;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	loc = cp_profile_add_location(prof, 1, 0x401000, &full_line, 1);
	CHECK_EQ(loc, 1);
	CHECK_OK(
		cp_profile_add_sample(prof, (uint64_t[]){ 1 }, 1, (int64_t[]){ 1, 10 }, &label, 1));
	/* Already interned strings keep their numbers. */
	CHECK_OK(cp_profile_add_mapping(prof, &(struct cp_mapping_desc){ .filename = "a.c" }));
	CHECK_EQ(prof->strings.len, CP_ARRAY_SIZE(want));
	for (size_t i = 0; i < CP_ARRAY_SIZE(want); i++)
		CHECK_STREQ(cp_strpool_get(&prof->strings, i), want[i]);
	cp_profile_free(prof);
	return 0;
}

TEST(mappings_in_order)
{
	struct cp_profile *prof = new_cpu();
	struct cp_profile_mapping m;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	CHECK_EQ(cp_profile_add_mapping(prof, &lib_map), 2);
	CHECK_EQ(cp_profile_add_mapping(prof, &(struct cp_mapping_desc){ .filename = "[vdso]" }),
		 3);
	CHECK_EQ(cp_profile_nmappings(prof), 3);

	m = cp_profile_mapping(prof, 0);
	CHECK_EQ(m.id, 1);
	CHECK_EQ(m.memory_start, 0x400000);
	CHECK_EQ(m.memory_limit, 0x500000);
	CHECK_EQ(m.file_offset, 0);
	CHECK_STREQ(m.filename, "/usr/bin/app");
	CHECK_STREQ(m.build_id, "0123abcd");
	m = cp_profile_mapping(prof, 1);
	CHECK_EQ(m.id, 2);
	CHECK_EQ(m.file_offset, 0x1000);
	CHECK_STREQ(m.build_id, "");
	CHECK(m.has_inline_frames);
	m = cp_profile_mapping(prof, 2);
	CHECK_EQ(m.id, 3);
	CHECK_STREQ(m.filename, "[vdso]");
	/* No locations: nothing is known about the mapping. */
	CHECK(!m.has_functions && !m.has_filenames && !m.has_line_numbers && !m.has_inline_frames);
	cp_profile_free(prof);
	return 0;
}

TEST(location_dedupe)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_line_desc other = { "other", NULL, "b.c", 20, 0 };
	const struct cp_profile_location *loc;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	CHECK_EQ(cp_profile_add_mapping(prof, &lib_map), 2);
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x401000, &full_line, 1), 1);
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x401004, &full_line, 1), 2);
	/* Same key: the first location, lines and all. */
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x401000, &other, 1), 1);
	/* The same address in another mapping, or in none, is another location. */
	CHECK_EQ(cp_profile_add_location(prof, 2, 0x401000, &full_line, 1), 3);
	CHECK_EQ(cp_profile_add_location(prof, 0, 0x401000, NULL, 0), 4);
	CHECK_EQ(cp_profile_add_location(prof, 0, 0x401000, &other, 1), 4);
	CHECK_EQ(cp_profile_add_location(prof, 3, 0x401000, NULL, 0), -EINVAL);
	CHECK_EQ(prof->nlocations, 4);

	loc = cp_profile_location(prof, 1);
	CHECK(loc);
	CHECK_EQ(loc->id, 1);
	CHECK_EQ(loc->mapping_id, 1);
	CHECK_EQ(loc->address, 0x401000);
	CHECK_EQ(loc->nlines, 1);
	CHECK_STREQ(loc->lines[0].function, "leaf");
	loc = cp_profile_location(prof, 4);
	CHECK(loc);
	CHECK_EQ(loc->mapping_id, 0);
	CHECK_EQ(loc->nlines, 0);
	CHECK(cp_profile_location(prof, 5) == NULL);
	/* "other" was never taken. */
	CHECK_EQ(prof->nfunctions, 1);
	cp_profile_free(prof);
	return 0;
}

TEST(inline_lines_innermost_first)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_line_desc chain[] = {
		{ "memcpy_inl", NULL, "string.h", 30, 28 },
		{ "copy", NULL, "copy.c", 12, 10 },
		{ "printf", "printf", "printf.c", 100, 90 },
	};
	const struct cp_profile_location *loc;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &lib_map), 1);
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x7f0000000100, chain, 3), 1);
	loc = cp_profile_location(prof, 1);
	CHECK(loc);
	CHECK_EQ(loc->nlines, 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK_STREQ(loc->lines[i].function, chain[i].function);
		/* No linkage name: the same as the display name. */
		CHECK_STREQ(loc->lines[i].system_name, chain[i].function);
		CHECK_STREQ(loc->lines[i].filename, chain[i].filename);
		CHECK_EQ(loc->lines[i].line, chain[i].line);
		CHECK_EQ(loc->lines[i].start_line, chain[i].start_line);
		CHECK_EQ(prof->line_functions[i], i + 1);
	}
	cp_profile_free(prof);
	return 0;
}

TEST(function_dedupe)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_line_desc lines[] = {
		{ "f", NULL, "f.c", 1, 1 },
		{ "f", "f", "f.c", 2, 1 },     /* same function, another line */
		{ "f", "_Z1fv", "f.c", 3, 1 }, /* another linkage name */
		{ "f", NULL, "g.c", 4, 1 },    /* another file */
		{ "f", NULL, "f.c", 5, 2 },    /* another start line */
		{ NULL, NULL, NULL, 0, 0 },    /* unknown: still needs a Function */
		{ "", "", "", 0, 0 },	       /* the same unknown */
	};
	static const uint64_t want[] = { 1, 1, 2, 3, 4, 5, 5 };
	const struct cp_profile_location *loc;

	CHECK(prof);
	for (size_t i = 0; i < CP_ARRAY_SIZE(lines); i++)
		CHECK_EQ(cp_profile_add_location(prof, 0, 0x1000 + i, &lines[i], 1), i + 1);
	CHECK_EQ(prof->nfunctions, 5);
	for (size_t i = 0; i < CP_ARRAY_SIZE(lines); i++)
		CHECK_EQ(prof->line_functions[i], want[i]);
	CHECK_STREQ(cp_strpool_get(&prof->strings, (size_t)prof->functions[1].system_name),
		    "_Z1fv");
	CHECK_EQ(prof->functions[3].start_line, 2);
	loc = cp_profile_location(prof, 6);
	CHECK(loc);
	CHECK_STREQ(loc->lines[0].function, "");
	CHECK_STREQ(loc->lines[0].system_name, "");
	CHECK_STREQ(loc->lines[0].filename, "");
	cp_profile_free(prof);
	return 0;
}

TEST(has_flags)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_line_desc no_file = { "f", NULL, NULL, 3, 0 };
	const struct cp_line_desc no_line = { "g", NULL, "g.c", 0, 0 };
	const struct cp_line_desc chain_missing_fn[] = {
		{ NULL, NULL, "inl.h", 4, 0 },
		{ "h", NULL, "h.c", 5, 0 },
	};
	struct cp_profile_mapping m;

	CHECK(prof);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(cp_profile_add_mapping(prof, &main_map), i + 1);

	/* 1: fully symbolized */
	CHECK_OK(cp_profile_add_location(prof, 1, 0x401000, &full_line, 1));
	CHECK_OK(cp_profile_add_location(prof, 1, 0x401010, &full_line, 1));
	/* 2: one location without a file name */
	CHECK_OK(cp_profile_add_location(prof, 2, 0x401000, &full_line, 1));
	CHECK_OK(cp_profile_add_location(prof, 2, 0x401010, &no_file, 1));
	CHECK_OK(cp_profile_add_location(prof, 2, 0x401020, &no_line, 1));
	/* 3: one location not symbolized at all */
	CHECK_OK(cp_profile_add_location(prof, 3, 0x401000, &full_line, 1));
	CHECK_OK(cp_profile_add_location(prof, 3, 0x401010, NULL, 0));
	/* 4: an inline callee without a name spoils the whole location */
	CHECK_OK(cp_profile_add_location(prof, 4, 0x401000, chain_missing_fn, 2));
	/* 5: no locations */

	m = cp_profile_mapping(prof, 0);
	CHECK(m.has_functions && m.has_filenames && m.has_line_numbers);
	CHECK(!m.has_inline_frames);
	m = cp_profile_mapping(prof, 1);
	CHECK(m.has_functions && !m.has_filenames && !m.has_line_numbers);
	m = cp_profile_mapping(prof, 2);
	CHECK(!m.has_functions && !m.has_filenames && !m.has_line_numbers);
	m = cp_profile_mapping(prof, 3);
	CHECK(!m.has_functions && m.has_filenames && m.has_line_numbers);
	m = cp_profile_mapping(prof, 4);
	CHECK(!m.has_functions && !m.has_filenames && !m.has_line_numbers);

	/* A duplicate add changes nothing. */
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x401000, NULL, 0), 1);
	m = cp_profile_mapping(prof, 0);
	CHECK(m.has_functions && m.has_filenames && m.has_line_numbers);
	cp_profile_free(prof);
	return 0;
}

TEST(sample_merge)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_label_desc main_thread[] = { { .key = "thread", .str = "main" } };
	const struct cp_label_desc worker[] = { { .key = "thread", .str = "worker" } };
	const struct cp_label_desc two[] = {
		{ .key = "thread", .str = "main" },
		{ .key = "bytes", .num = 64, .num_unit = "bytes" },
	};
	const struct cp_label_desc two_swapped[] = { two[1], two[0] };
	uint64_t stack[] = { 1, 2, 3 }, other_stack[] = { 1, 3, 2 };
	struct cp_profile_sample s;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	for (uint64_t a = 0; a < 3; a++)
		CHECK_EQ(cp_profile_add_location(prof, 1, 0x401000 + a, &full_line, 1), a + 1);

	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 1, 10 }, NULL, 0));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 2, 20 }, NULL, 0));
	CHECK_EQ(cp_profile_nsamples(prof), 1);
	CHECK_OK(cp_profile_add_sample(prof, other_stack, 3, (int64_t[]){ 1, 10 }, NULL, 0));
	CHECK_OK(cp_profile_add_sample(prof, stack, 2, (int64_t[]){ 1, 10 }, NULL, 0));
	CHECK_EQ(cp_profile_nsamples(prof), 3);
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 1, 10 }, main_thread, 1));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 1, 10 }, worker, 1));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 1, 10 }, two, 2));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 1, 10 }, two_swapped, 2));
	CHECK_EQ(cp_profile_nsamples(prof), 7);
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 5, 50 }, worker, 1));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ -1, -10 }, two, 2));
	CHECK_OK(cp_profile_add_sample(prof, stack, 3, (int64_t[]){ 4, 40 }, NULL, 0));
	CHECK_EQ(cp_profile_nsamples(prof), 7);

	s = cp_profile_sample(prof, 0);
	CHECK_EQ(s.nlocations, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ(s.location_ids[i], stack[i]);
	CHECK_EQ(s.values[0], 7);
	CHECK_EQ(s.values[1], 70);
	CHECK_EQ(s.nlabels, 0);
	s = cp_profile_sample(prof, 2);
	CHECK_EQ(s.nlocations, 2);
	CHECK_EQ(s.values[0], 1);
	s = cp_profile_sample(prof, 4);
	CHECK_EQ(s.nlabels, 1);
	CHECK_STREQ(s.labels[0].key, "thread");
	CHECK_STREQ(s.labels[0].str, "worker");
	CHECK_STREQ(s.labels[0].num_unit, "");
	CHECK_EQ(s.labels[0].num, 0);
	CHECK_EQ(s.values[0], 6);
	CHECK_EQ(s.values[1], 60);
	s = cp_profile_sample(prof, 5);
	CHECK_EQ(s.nlabels, 2);
	CHECK_STREQ(s.labels[1].key, "bytes");
	CHECK_STREQ(s.labels[1].str, "");
	CHECK_EQ(s.labels[1].num, 64);
	CHECK_STREQ(s.labels[1].num_unit, "bytes");
	CHECK_EQ(s.values[0], 0);
	CHECK_EQ(s.values[1], 0);
	s = cp_profile_sample(prof, 6);
	CHECK_STREQ(s.labels[0].key, "bytes");
	CHECK_EQ(s.values[0], 1);
	cp_profile_free(prof);
	return 0;
}

TEST(sample_label_kinds)
{
	struct cp_profile *prof = new_cpu();
	/* str wins over num; a numeric label without unit has "" as its unit. */
	const struct cp_label_desc labels[] = {
		{ .key = "k", .str = "v", .num = 9, .num_unit = "ignored" },
		{ .key = "n", .num = -3 },
	};
	struct cp_profile_sample s;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_location(prof, 0, 0x10, NULL, 0), 1);
	CHECK_OK(cp_profile_add_sample(prof, (uint64_t[]){ 1 }, 1, (int64_t[]){ 1, 2 }, labels, 2));
	s = cp_profile_sample(prof, 0);
	CHECK_EQ(s.nlabels, 2);
	CHECK_STREQ(s.labels[0].str, "v");
	CHECK_EQ(s.labels[0].num, 0);
	CHECK_STREQ(s.labels[0].num_unit, "");
	CHECK_STREQ(s.labels[1].str, "");
	CHECK_EQ(s.labels[1].num, -3);
	CHECK_STREQ(s.labels[1].num_unit, "");
	cp_profile_free(prof);
	return 0;
}

TEST(sample_errors)
{
	struct cp_profile *prof = new_cpu();
	const int64_t v[] = { 1, 1 };

	CHECK(prof);
	CHECK_EQ(cp_profile_add_location(prof, 0, 0x10, NULL, 0), 1);
	CHECK_EQ(cp_profile_add_sample(prof, (uint64_t[]){ 1 }, 0, v, NULL, 0), -EINVAL);
	CHECK_EQ(cp_profile_add_sample(prof, (uint64_t[]){ 0 }, 1, v, NULL, 0), -EINVAL);
	CHECK_EQ(cp_profile_add_sample(prof, (uint64_t[]){ 1, 2 }, 2, v, NULL, 0), -EINVAL);
	CHECK_EQ(cp_profile_nsamples(prof), 0);
	/* A rejected sample interns nothing. */
	CHECK_EQ(cp_profile_add_sample(prof, (uint64_t[]){ 2 }, 1, v,
				       &(struct cp_label_desc){ .key = "x", .str = "y" }, 1),
		 -EINVAL);
	CHECK_EQ(prof->strings.len, 5);
	cp_profile_free(prof);
	return 0;
}

/* Views handed out stay right as the arrays behind them grow. */
TEST(views_survive_growth)
{
	struct cp_profile *prof = new_cpu();
	const struct cp_line_desc chain[] = {
		{ "inner", NULL, "x.c", 1, 0 },
		{ "outer", NULL, "x.c", 2, 0 },
	};
	const struct cp_profile_location *loc;

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	CHECK_EQ(cp_profile_add_location(prof, 1, 0x400000, chain, 2), 1);
	for (uint64_t a = 1; a < 5000; a++)
		CHECK_EQ(cp_profile_add_location(prof, 1, 0x400000 + a, a % 2 ? &full_line : chain,
						 a % 2 ? 1 : 2),
			 a + 1);
	for (uint64_t id = 1; id <= 5000; id++) {
		loc = cp_profile_location(prof, id);
		CHECK(loc);
		CHECK_EQ(loc->id, id);
		CHECK_EQ(loc->address, 0x400000 + id - 1);
		CHECK_EQ(loc->nlines, id % 2 ? 2 : 1);
		CHECK_STREQ(loc->lines[0].function, id % 2 ? "inner" : "leaf");
	}
	cp_profile_free(prof);
	return 0;
}

/* The sizes the issue names; hash tables keep this fast (well under a second). */
TEST(large_profile)
{
	struct cp_profile *prof = new_cpu();
	enum { NLOC = 50000, NSAMPLES = 100000, DEPTH = 16 };
	uint64_t stack[DEPTH];

	CHECK(prof);
	CHECK_EQ(cp_profile_add_mapping(prof, &main_map), 1);
	for (uint64_t i = 0; i < NLOC; i++) {
		char name[32];
		struct cp_line_desc line = { name, NULL, "big.c", (int64_t)i + 1, 0 };

		snprintf(name, sizeof(name), "fn%" PRIu64, i / 4);
		CHECK_EQ(cp_profile_add_location(prof, 1, 0x400000 + 4 * i, &line, 1), i + 1);
	}
	CHECK_EQ(prof->nfunctions, NLOC / 4);
	/* Each stack twice: every sample merges once. */
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 0; i < NSAMPLES / 2; i++) {
			for (uint64_t d = 0; d < DEPTH; d++)
				stack[d] = (i * 7919 + d * 104729) % NLOC + 1;
			CHECK_OK(cp_profile_add_sample(prof, stack, DEPTH, (int64_t[]){ 1, 10 },
						       NULL, 0));
		}
	}
	CHECK_EQ(cp_profile_nsamples(prof), NSAMPLES / 2);
	CHECK_EQ(cp_profile_sample(prof, 123).values[0], 2);
	CHECK(cp_profile_mapping(prof, 0).has_functions);
	cp_profile_free(prof);
	return 0;
}
