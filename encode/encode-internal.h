/* SPDX-License-Identifier: MIT */
/*
 * The layout of struct cp_profile, shared by the builder (profile.c), the
 * protobuf writer (pprof-write.c) and the reader (pprof-read.c).
 *
 * Everything is stored in flat arrays indexed by id - 1, and every string as
 * its index in the string pool, which is the pprof string table itself.  The
 * few arrays of public view structs (locations, lines, labels) exist because
 * the accessors hand out pointers into them.
 */
#ifndef CP_ENCODE_INTERNAL_H
#define CP_ENCODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encode/profile.h"
#include "lib/htab.h"
#include "lib/strpool.h"

/* Fields named after strings hold string table indices. */
struct prof_value_type {
	int64_t type, unit;
};

struct prof_mapping {
	uint64_t memory_start, memory_limit, file_offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
	size_t nlocations; /* the has_* flags are an AND over these */
};

/* No padding: hashed and compared as bytes. */
struct prof_function {
	int64_t name, system_name, filename, start_line;
};

/* No padding: hashed and compared as bytes.  A string label has num = 0 and
 * num_unit = 0; a numeric one has str = 0. */
struct prof_label {
	int64_t key, str, num, num_unit;
};

struct prof_sample {
	size_t stack, nlocations; /* first index in stacks[], count */
	size_t label, nlabels;	  /* first index in labels[], count */
};

struct cp_profile {
	struct cp_strpool strings;

	struct prof_value_type *sample_types;
	size_t nsample_types;
	struct prof_value_type period_type;
	int64_t period, time_nanos, duration_nanos;
	int64_t default_sample_type; /* 0: unset */

	struct prof_mapping *mappings;
	size_t nmappings, mappings_cap;

	struct prof_function *functions;
	size_t nfunctions, functions_cap;
	struct cp_htab function_index; /* items: function id */

	/*
	 * A location's lines sit in lines[] right after those of the location
	 * before it; locations[i].lines points there and is re-pointed when
	 * lines[] moves.  line_functions[] runs parallel to lines[].
	 */
	struct cp_profile_location *locations; /* .id == index + 1 */
	size_t nlocations, locations_cap;
	struct cp_htab location_index; /* items: location id */
	struct cp_profile_line *lines;
	uint64_t *line_functions;
	size_t nlines, lines_cap, line_functions_cap;

	struct prof_sample *samples;
	size_t nsamples, samples_cap;
	struct cp_htab sample_index; /* items: sample index + 1 */
	uint64_t *stacks;	     /* location ids of all samples */
	size_t nstacks, stacks_cap;
	int64_t *values; /* nsample_types per sample */
	size_t values_cap;
	/* labels[] and label_views[] are parallel. */
	struct prof_label *labels;
	struct cp_profile_label *label_views;
	size_t nlabels, labels_cap, label_views_cap;
};

/*
 * cp_profile_append_location() - like cp_profile_add_location(), but always
 * make a new Location.  A decoded profile may hold several for one address,
 * e.g. a profile without mappings that puts every location at address 0.
 */
int64_t cp_profile_append_location(struct cp_profile *prof, uint64_t mapping_id, uint64_t address,
				   const struct cp_line_desc *lines, size_t nlines);

/*
 * cp_profile_append_sample() - like cp_profile_add_sample(), but never merge,
 * and accept an empty stack, which pprof allows in a decoded profile.
 */
int cp_profile_append_sample(struct cp_profile *prof, const uint64_t *location_ids,
			     size_t nlocations, const int64_t *values,
			     const struct cp_label_desc *labels, size_t nlabels);

/*
 * A frame as pprof's function-granularity reports know it.  @name is what
 * they print: line @i's function, or for a location without one
 * "[basename of its mapping's file]" or "<unknown>".  @key tells frames
 * apart: the function name, or "\1" + the mapping's whole path ("\2" for
 * none), which no function name starts with.  Both point into the profile
 * or into @buf.
 */
#define CP_FRAME_NAME_BUF 8192
void cp_profile_frame_name(const struct cp_profile *prof, const struct cp_profile_location *loc,
			   size_t i, char buf[CP_FRAME_NAME_BUF], const char **key,
			   const char **name);

#endif
