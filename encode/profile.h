/* SPDX-License-Identifier: MIT */
/*
 * encode: the profile builder and its writers and reader.
 *
 * A struct cp_profile is a pprof profile under construction (or decoded from
 * a file).  Callers describe mappings, locations with their (inline) lines,
 * and samples in plain C terms; the builder interns strings, deduplicates
 * functions and locations, merges samples with identical stacks and labels,
 * and numbers everything the way pprof expects (ids from 1, string 0 = "").
 * It knows nothing of perf: addresses arrive already adjusted (leaf = the
 * sampled PC, callers = return address - 1).
 *
 * Writers: gzip'd profile.proto (debug=0) and Go's legacy text (debug=1).
 * Reader: cprof's own decoder for any gzip'd or plain profile.proto, used by
 * `cprof report` and the tests.
 *
 * Strings passed in are copied; pointers handed out stay valid until
 * cp_profile_free().
 */
#ifndef CP_ENCODE_PROFILE_H
#define CP_ENCODE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cp_profile;

struct cp_value_type {
	const char *type; /* "samples", "cpu", "threadcreate", ... */
	const char *unit; /* "count", "nanoseconds", ... */
};

struct cp_profile_desc {
	const struct cp_value_type *sample_types; /* one per value column */
	size_t nsample_types;
	struct cp_value_type period_type;
	int64_t period;
	int64_t time_nanos;		 /* collection start, ns since the Unix epoch; 0: unset */
	int64_t duration_nanos;		 /* 0: unset */
	const char *default_sample_type; /* NULL: unset (pprof then shows the last) */
};

struct cp_mapping_desc {
	uint64_t memory_start, memory_limit, file_offset;
	const char *filename; /* NULL or "": unknown */
	const char *build_id; /* lowercase hex; NULL or "": unknown */
	/* Set when the producer looked up inline chains for this mapping.  The
	 * other has_* flags are computed by the builder from the locations. */
	bool has_inline_frames;
};

/* One source line of a Location; a chain of them describes inlining. */
struct cp_line_desc {
	const char *function;	 /* display name (demangled); NULL: unknown */
	const char *system_name; /* linkage name; NULL: same as function */
	const char *filename;	 /* NULL: unknown */
	int64_t line;		 /* 0: unknown */
	int64_t start_line;	 /* 0: unknown */
};

struct cp_label_desc {
	const char *key;
	const char *str; /* string label, or NULL for a numeric one */
	int64_t num;
	const char *num_unit; /* NULL: none */
};

/*
 * cp_profile_new() - start an empty profile of the given kind.
 * Return: 0 or -ENOMEM / -EINVAL (no sample types).
 */
int cp_profile_new(const struct cp_profile_desc *desc, struct cp_profile **ret);
void cp_profile_free(struct cp_profile *prof);

/*
 * cp_profile_add_mapping() - add a mapping; mappings keep the order in which
 * they are added, and the first one added is the main binary (mapping[0]).
 * Return: its id (>= 1), or -ENOMEM.
 */
int64_t cp_profile_add_mapping(struct cp_profile *prof, const struct cp_mapping_desc *desc);

/*
 * cp_profile_add_location() - the Location for @address in mapping
 * @mapping_id (0: none), with @nlines source lines, innermost inline callee
 * first and the out-of-line function last.  A location already added for the
 * same (mapping_id, address) is returned as is: lines are taken only the
 * first time.  Functions are deduplicated by (name, system_name, filename,
 * start_line).  A location whose lines lack a function, file or line number
 * clears that has_* flag on its mapping.
 * Return: the location id (>= 1), or -ENOMEM / -EINVAL (unknown mapping id).
 */
int64_t cp_profile_add_location(struct cp_profile *prof, uint64_t mapping_id, uint64_t address,
				const struct cp_line_desc *lines, size_t nlines);

/*
 * cp_profile_set_function_entry() - record the runtime address of the
 * first instruction of the out-of-line function that holds location @id,
 * for the "fn+0x1f" offsets of the debug=1 text (every inline level of the
 * location is offset from it, as in Go).  profile.proto has no field for
 * it, so a profile read back from a file has none.
 * Return: 0 or -EINVAL (no such location).
 */
int cp_profile_set_function_entry(struct cp_profile *prof, uint64_t id, uint64_t entry);

/*
 * cp_profile_add_sample() - add @values (one per sample type) for the stack
 * @location_ids (leaf first, at least one) with @labels.  A sample with the
 * same stack and the same labels (in the same order) is merged by adding the
 * values element-wise.
 * Return: 0 or -ENOMEM / -EINVAL (no locations, unknown location id).
 */
int cp_profile_add_sample(struct cp_profile *prof, const uint64_t *location_ids, size_t nlocations,
			  const int64_t *values, const struct cp_label_desc *labels,
			  size_t nlabels);

/*
 * cp_profile_write_pprof() - write the profile as gzip-compressed
 * profile.proto to @out.
 * Return: 0 or -ENOMEM / -EIO (a write or zlib failure).
 */
int cp_profile_write_pprof(const struct cp_profile *prof, FILE *out);

/*
 * cp_profile_write_text() - write the profile as Go's legacy debug=1 text,
 * in a form pprof's legacy parsers read back into the same (values, stack)
 * samples as the protobuf, labels aside:
 *  - sample types [x/count, y/nanoseconds] (CPU, block, mutex): Go's
 *    contention format with cycles/second=1000000000, which keeps both
 *    columns (pprof names them contentions/count and delay/nanoseconds);
 *  - any other profile whose first sample type counts (threadcreate,
 *    threads, goroutine): Go's count format "NAME profile: total N" with
 *    NAME = that type and the first column as counts.
 * Records are sorted by value, largest first; each "@" list holds every
 * frame's address + 1 (pprof subtracts 1 again) and is followed by the
 * labels and one "#" line per frame and inline level.  Samples with no
 * locations are left out (pprof rejects a record without an address).  A
 * "--- Memory map: ---" section lists the mappings so pprof can symbolize.
 * Return: 0 or -ENOMEM / -EIO (a write failed) / -EOPNOTSUPP (the first
 * sample type's unit is not "count") / -EINVAL (a negative value, or a
 * type name that is empty or holds white space).
 */
int cp_profile_write_text(const struct cp_profile *prof, FILE *out);

/*
 * cp_profile_write_folded() - write folded stacks, one line per distinct
 * stack: frames root first separated by ';' (each inline level a frame,
 * named as in cp_profile_top()), a space and the sum of the first sample
 * type (the event count: samples for CPU), sorted by stack.  This is the
 * input of flamegraph.pl, inferno and speedscope.  Samples whose value is 0
 * or that have no locations are left out.
 * Return: 0 or -ENOMEM / -EIO.
 */
int cp_profile_write_folded(const struct cp_profile *prof, FILE *out);

/*
 * The functions of a profile by flat and cumulative value, computed as
 * `pprof -top` does at its default (functions) granularity: every line of a
 * location is a frame, so inlined functions count; cum counts a function
 * once per sample however often it recurs; functions whose cum is below
 * 0.5% of the total flat value are dropped; rows are sorted by |flat|
 * (largest first), then name, then |cum|.  A frame without a function is
 * named "[basename of its mapping's file]", or "<unknown>".
 */
enum cp_top_inline {
	CP_TOP_NOT_INLINED,
	CP_TOP_INLINED,		/* every call into it was inlined: "(inline)" */
	CP_TOP_PARTIAL_INLINED, /* some calls were: "(partial-inline)" */
};

struct cp_top_row {
	const char *name;
	int64_t flat, cum;
	enum cp_top_inline inlined;
};

struct cp_top {
	int64_t total;		 /* sum of |value| over all samples: 100% */
	size_t nkept;		 /* functions left after the 0.5% cut */
	size_t ndropped;	 /* functions the cut removed */
	struct cp_top_row *rows; /* the first min(max_rows, nkept) */
	size_t nrows;
};

/*
 * cp_profile_top() - the top table of @prof for sample type @sample_index.
 * @max_rows: 0 for all.  Free the result with cp_top_free(); its names are
 * its own.
 * Return: 0 or -ENOMEM / -EINVAL (no such sample type).
 */
int cp_profile_top(const struct cp_profile *prof, size_t sample_index, size_t max_rows,
		   struct cp_top **ret);
void cp_top_free(struct cp_top *top);

/*
 * cp_profile_read_pprof() - decode a profile.proto, gzip'd or not, from
 * @data.  The result can be inspected with the accessors below.
 * Return: 0 or -ENOMEM / -EBADMSG (not a valid profile).
 */
int cp_profile_read_pprof(const void *data, size_t len, struct cp_profile **ret);

/*
 * Read-only views, for `cprof report` and tests.  Pointers are borrowed and
 * valid until cp_profile_free() or the next add on the same profile.
 */
struct cp_profile_line {
	const char *function, *system_name, *filename; /* "" when unknown */
	int64_t line, start_line;
};

struct cp_profile_location {
	uint64_t id, mapping_id, address;
	const struct cp_profile_line *lines;
	size_t nlines;
	uint64_t function_entry; /* see cp_profile_set_function_entry(); 0: unknown */
};

struct cp_profile_mapping {
	uint64_t id, memory_start, memory_limit, file_offset;
	const char *filename, *build_id; /* "" when unknown */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct cp_profile_label {
	const char *key, *str, *num_unit; /* "" when unset */
	int64_t num;
};

struct cp_profile_sample {
	const uint64_t *location_ids;
	size_t nlocations;
	const int64_t *values;
	const struct cp_profile_label *labels;
	size_t nlabels;
};

size_t cp_profile_nsample_types(const struct cp_profile *prof);
struct cp_value_type cp_profile_sample_type(const struct cp_profile *prof, size_t i);
struct cp_value_type cp_profile_period_type(const struct cp_profile *prof);
int64_t cp_profile_period(const struct cp_profile *prof);
int64_t cp_profile_time_nanos(const struct cp_profile *prof);
int64_t cp_profile_duration_nanos(const struct cp_profile *prof);
/* Index of the default sample type: the named one, else the last. */
size_t cp_profile_default_sample_index(const struct cp_profile *prof);

size_t cp_profile_nsamples(const struct cp_profile *prof);
struct cp_profile_sample cp_profile_sample(const struct cp_profile *prof, size_t i);
size_t cp_profile_nmappings(const struct cp_profile *prof);
struct cp_profile_mapping cp_profile_mapping(const struct cp_profile *prof, size_t i);
/* The location with id @id, or NULL. */
const struct cp_profile_location *cp_profile_location(const struct cp_profile *prof, uint64_t id);

#endif
