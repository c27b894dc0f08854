/* SPDX-License-Identifier: MIT */
/*
 * The profile builder: interning, deduplication, sample merging and the
 * read-only accessors.  Hash tables keep each add O(size of what is added),
 * so profiles with 100k samples and 50k locations build in linear time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "lib/hash.h"
#include "lib/htab.h"
#include "lib/strpool.h"
#include "lib/util.h"

/* Hash table items are ids or indices + 1, so that none is NULL. */
#define ITEM(n)	   ((void *)(uintptr_t)(n))
#define ITEM_ID(p) ((uint64_t)(uintptr_t)(p))

/* NULL and "" both mean "unknown", which is string 0. */
static int64_t intern(struct cp_profile *prof, const char *s)
{
	return cp_strpool_intern(&prof->strings, s ? s : "", NULL);
}

static const char *str(const struct cp_profile *prof, int64_t idx)
{
	return cp_strpool_get(&prof->strings, (size_t)idx);
}

static int intern_value_type(struct cp_profile *prof, const struct cp_value_type *vt,
			     struct prof_value_type *ret)
{
	int64_t type = intern(prof, vt->type);
	int64_t unit = intern(prof, vt->unit);

	if (type < 0 || unit < 0)
		return -ENOMEM;
	*ret = (struct prof_value_type){ type, unit };
	return 0;
}

int cp_profile_new(const struct cp_profile_desc *desc, struct cp_profile **ret)
{
	struct cp_profile *prof;
	int64_t r;

	if (!desc->sample_types || !desc->nsample_types)
		return -EINVAL;
	prof = calloc(1, sizeof(*prof));
	if (!prof)
		return -ENOMEM;
	cp_strpool_init(&prof->strings);

	/* pprof requires string_table[0] == "". */
	r = intern(prof, "");
	if (r < 0)
		goto fail;
	prof->sample_types = calloc(desc->nsample_types, sizeof(*prof->sample_types));
	if (!prof->sample_types) {
		r = -ENOMEM;
		goto fail;
	}
	prof->nsample_types = desc->nsample_types;
	for (size_t i = 0; i < desc->nsample_types; i++) {
		r = intern_value_type(prof, &desc->sample_types[i], &prof->sample_types[i]);
		if (r < 0)
			goto fail;
	}
	r = intern_value_type(prof, &desc->period_type, &prof->period_type);
	if (r < 0)
		goto fail;
	if (desc->default_sample_type) {
		r = intern(prof, desc->default_sample_type);
		if (r < 0)
			goto fail;
		prof->default_sample_type = r;
	}
	prof->period = desc->period;
	prof->time_nanos = desc->time_nanos;
	prof->duration_nanos = desc->duration_nanos;
	*ret = prof;
	return 0;

fail:
	cp_profile_free(prof);
	return (int)r;
}

void cp_profile_free(struct cp_profile *prof)
{
	if (!prof)
		return;
	cp_strpool_fini(&prof->strings);
	free(prof->sample_types);
	free(prof->mappings);
	free(prof->functions);
	cp_htab_fini(&prof->function_index);
	free(prof->locations);
	cp_htab_fini(&prof->location_index);
	free(prof->lines);
	free(prof->line_functions);
	free(prof->samples);
	cp_htab_fini(&prof->sample_index);
	free(prof->stacks);
	free(prof->values);
	free(prof->labels);
	free(prof->label_views);
	free(prof);
}

int64_t cp_profile_add_mapping(struct cp_profile *prof, const struct cp_mapping_desc *desc)
{
	int64_t filename, build_id;

	if (cp_grow((void **)&prof->mappings, &prof->mappings_cap, prof->nmappings + 1,
		    sizeof(*prof->mappings)) < 0)
		return -ENOMEM;
	filename = intern(prof, desc->filename);
	build_id = intern(prof, desc->build_id);
	if (filename < 0 || build_id < 0)
		return -ENOMEM;
	prof->mappings[prof->nmappings] = (struct prof_mapping){
		.memory_start = desc->memory_start,
		.memory_limit = desc->memory_limit,
		.file_offset = desc->file_offset,
		.filename = filename,
		.build_id = build_id,
		.has_inline_frames = desc->has_inline_frames,
	};
	return (int64_t)++prof->nmappings;
}

struct function_key {
	const struct cp_profile *prof;
	const struct prof_function *fn;
};

static bool function_eq(const void *item, const void *key)
{
	const struct function_key *k = key;

	return !memcmp(&k->prof->functions[ITEM_ID(item) - 1], k->fn, sizeof(*k->fn));
}

/*
 * The id of the Function that @line belongs to, added if it is new.  Fills
 * @view with the line as the accessors show it.  Return: id or -ENOMEM.
 */
static int64_t add_function(struct cp_profile *prof, const struct cp_line_desc *line,
			    struct cp_profile_line *view)
{
	struct prof_function fn = { .start_line = line->start_line };
	struct function_key key = { prof, &fn };
	uint64_t hash;
	void *found;

	/* One at a time: the string table must follow the order of first use. */
	fn.name = intern(prof, line->function);
	fn.system_name = intern(prof, line->system_name ? line->system_name : line->function);
	fn.filename = intern(prof, line->filename);
	if (fn.name < 0 || fn.system_name < 0 || fn.filename < 0)
		return -ENOMEM;
	*view = (struct cp_profile_line){
		.function = str(prof, fn.name),
		.system_name = str(prof, fn.system_name),
		.filename = str(prof, fn.filename),
		.line = line->line,
		.start_line = line->start_line,
	};

	hash = cp_hash_bytes(&fn, sizeof(fn), 0);
	found = cp_htab_find(&prof->function_index, hash, &key, function_eq);
	if (found)
		return (int64_t)ITEM_ID(found);
	if (cp_grow((void **)&prof->functions, &prof->functions_cap, prof->nfunctions + 1,
		    sizeof(*prof->functions)) < 0)
		return -ENOMEM;
	prof->functions[prof->nfunctions] = fn;
	if (cp_htab_insert(&prof->function_index, hash, ITEM(prof->nfunctions + 1)) < 0)
		return -ENOMEM;
	return (int64_t)++prof->nfunctions;
}

/*
 * Make room for @n more lines.  lines[] may move, and each location's view
 * points into it: the lines lie in location order, so re-point them all.
 */
static int reserve_lines(struct cp_profile *prof, size_t n)
{
	size_t cap = prof->lines_cap, off = 0;

	if (cp_grow((void **)&prof->lines, &prof->lines_cap, prof->nlines + n,
		    sizeof(*prof->lines)) < 0 ||
	    cp_grow((void **)&prof->line_functions, &prof->line_functions_cap, prof->nlines + n,
		    sizeof(*prof->line_functions)) < 0)
		return -ENOMEM;
	if (prof->lines_cap == cap)
		return 0;
	for (size_t i = 0; i < prof->nlocations; i++) {
		struct cp_profile_location *loc = &prof->locations[i];

		if (loc->nlines)
			loc->lines = &prof->lines[off];
		off += loc->nlines;
	}
	return 0;
}

/* A mapping's has_* flags hold only if every location in it has that information. */
static void update_mapping(struct prof_mapping *m, bool has_functions, bool has_filenames,
			   bool has_line_numbers)
{
	if (m->nlocations++ == 0) {
		m->has_functions = has_functions;
		m->has_filenames = has_filenames;
		m->has_line_numbers = has_line_numbers;
		return;
	}
	m->has_functions = m->has_functions && has_functions;
	m->has_filenames = m->has_filenames && has_filenames;
	m->has_line_numbers = m->has_line_numbers && has_line_numbers;
}

struct location_key {
	const struct cp_profile *prof;
	uint64_t mapping_id, address;
};

static bool location_eq(const void *item, const void *key)
{
	const struct location_key *k = key;
	const struct cp_profile_location *loc = &k->prof->locations[ITEM_ID(item) - 1];

	return loc->mapping_id == k->mapping_id && loc->address == k->address;
}

/*
 * Add a location, or with @dedupe return the one already added for
 * (@mapping_id, @address).  The index keeps the first location of each key
 * either way.
 */
static int64_t add_location(struct cp_profile *prof, uint64_t mapping_id, uint64_t address,
			    const struct cp_line_desc *lines, size_t nlines, bool dedupe)
{
	struct location_key key = { prof, mapping_id, address };
	uint64_t hash = cp_hash_combine(cp_hash_mix(mapping_id), address);
	bool has_functions = nlines > 0, has_filenames = nlines > 0, has_line_numbers = nlines > 0;
	struct cp_profile_line *views;
	uint64_t id = prof->nlocations + 1;
	void *found;
	int r;

	if (mapping_id > prof->nmappings)
		return -EINVAL;
	found = cp_htab_find(&prof->location_index, hash, &key, location_eq);
	if (found && dedupe)
		return (int64_t)ITEM_ID(found);

	if (cp_grow((void **)&prof->locations, &prof->locations_cap, prof->nlocations + 1,
		    sizeof(*prof->locations)) < 0)
		return -ENOMEM;
	r = reserve_lines(prof, nlines);
	if (r < 0)
		return r;
	views = nlines ? &prof->lines[prof->nlines] : NULL;
	for (size_t i = 0; i < nlines; i++) {
		int64_t fn = add_function(prof, &lines[i], &views[i]);

		if (fn < 0)
			return fn;
		prof->line_functions[prof->nlines + i] = (uint64_t)fn;
		has_functions = has_functions && *views[i].function;
		has_filenames = has_filenames && *views[i].filename;
		has_line_numbers = has_line_numbers && views[i].line;
	}

	prof->locations[prof->nlocations] = (struct cp_profile_location){
		.id = id,
		.mapping_id = mapping_id,
		.address = address,
		.lines = views,
		.nlines = nlines,
	};
	if (!found && cp_htab_insert(&prof->location_index, hash, ITEM(id)) < 0)
		return -ENOMEM;
	prof->nlocations++;
	prof->nlines += nlines;
	if (mapping_id)
		update_mapping(&prof->mappings[mapping_id - 1], has_functions, has_filenames,
			       has_line_numbers);
	return (int64_t)id;
}

int64_t cp_profile_add_location(struct cp_profile *prof, uint64_t mapping_id, uint64_t address,
				const struct cp_line_desc *lines, size_t nlines)
{
	return add_location(prof, mapping_id, address, lines, nlines, true);
}

int cp_profile_set_function_entry(struct cp_profile *prof, uint64_t id, uint64_t entry)
{
	if (!id || id > prof->nlocations)
		return -EINVAL;
	prof->locations[id - 1].function_entry = entry;
	return 0;
}

int64_t cp_profile_append_location(struct cp_profile *prof, uint64_t mapping_id, uint64_t address,
				   const struct cp_line_desc *lines, size_t nlines)
{
	return add_location(prof, mapping_id, address, lines, nlines, false);
}

/*
 * Intern @n labels into the free space after labels[] and label_views[]
 * without counting them yet: add_sample() compares them there and keeps them
 * only if the sample is new.
 */
static int stage_labels(struct cp_profile *prof, const struct cp_label_desc *descs, size_t n)
{
	size_t need = prof->nlabels + n;

	if (cp_grow((void **)&prof->labels, &prof->labels_cap, need, sizeof(*prof->labels)) < 0 ||
	    cp_grow((void **)&prof->label_views, &prof->label_views_cap, need,
		    sizeof(*prof->label_views)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct cp_label_desc *d = &descs[i];
		struct prof_label *l = &prof->labels[prof->nlabels + i];
		int64_t key = intern(prof, d->key);
		int64_t val = intern(prof, d->str ? d->str : d->num_unit);

		if (key < 0 || val < 0)
			return -ENOMEM;
		if (d->str)
			*l = (struct prof_label){ .key = key, .str = val };
		else
			*l = (struct prof_label){ .key = key, .num = d->num, .num_unit = val };
		prof->label_views[prof->nlabels + i] = (struct cp_profile_label){
			.key = str(prof, l->key),
			.str = str(prof, l->str),
			.num_unit = str(prof, l->num_unit),
			.num = l->num,
		};
	}
	return 0;
}

struct sample_key {
	const struct cp_profile *prof;
	const uint64_t *ids;
	size_t nids;
	const struct prof_label *labels;
	size_t nlabels;
};

static bool sample_eq(const void *item, const void *key)
{
	const struct sample_key *k = key;
	const struct prof_sample *s = &k->prof->samples[ITEM_ID(item) - 1];

	if (s->nlocations != k->nids || s->nlabels != k->nlabels)
		return false;
	if (k->nids && memcmp(&k->prof->stacks[s->stack], k->ids, k->nids * sizeof(*k->ids)))
		return false;
	return !k->nlabels ||
	       !memcmp(&k->prof->labels[s->label], k->labels, k->nlabels * sizeof(*k->labels));
}

/*
 * Add a sample, or with @merge add its values to an equal one.  The index
 * keeps the first sample of each (stack, labels) either way.
 */
static int add_sample(struct cp_profile *prof, const uint64_t *ids, size_t nids,
		      const int64_t *values, const struct cp_label_desc *labels, size_t nlabels,
		      bool merge)
{
	struct sample_key key = { prof, ids, nids, NULL, nlabels };
	size_t nvalues = prof->nsample_types, nvals;
	uint64_t hash;
	void *found;
	int r;

	for (size_t i = 0; i < nids; i++)
		if (!ids[i] || ids[i] > prof->nlocations)
			return -EINVAL;
	r = stage_labels(prof, labels, nlabels);
	if (r < 0)
		return r;
	hash = cp_hash_bytes(ids, nids * sizeof(*ids), 0);
	if (nlabels) {
		key.labels = &prof->labels[prof->nlabels];
		hash = cp_hash_bytes(key.labels, nlabels * sizeof(*key.labels), hash);
	}
	found = cp_htab_find(&prof->sample_index, hash, &key, sample_eq);
	if (found && merge) {
		int64_t *sum = &prof->values[(ITEM_ID(found) - 1) * nvalues];

		/* Wrap on overflow as Go's int64 does, instead of undefined behaviour. */
		for (size_t i = 0; i < nvalues; i++)
			sum[i] = (int64_t)((uint64_t)sum[i] + (uint64_t)values[i]);
		return 0;
	}

	if (__builtin_mul_overflow(prof->nsamples + 1, nvalues, &nvals))
		return -ENOMEM;
	if (cp_grow((void **)&prof->samples, &prof->samples_cap, prof->nsamples + 1,
		    sizeof(*prof->samples)) < 0 ||
	    cp_grow((void **)&prof->stacks, &prof->stacks_cap, prof->nstacks + nids,
		    sizeof(*prof->stacks)) < 0 ||
	    cp_grow((void **)&prof->values, &prof->values_cap, nvals, sizeof(*prof->values)) < 0)
		return -ENOMEM;
	if (nids)
		memcpy(&prof->stacks[prof->nstacks], ids, nids * sizeof(*ids));
	memcpy(&prof->values[prof->nsamples * nvalues], values, nvalues * sizeof(*values));
	prof->samples[prof->nsamples] = (struct prof_sample){
		.stack = prof->nstacks,
		.nlocations = nids,
		.label = prof->nlabels,
		.nlabels = nlabels,
	};
	if (!found && cp_htab_insert(&prof->sample_index, hash, ITEM(prof->nsamples + 1)) < 0)
		return -ENOMEM;
	prof->nsamples++;
	prof->nstacks += nids;
	prof->nlabels += nlabels;
	return 0;
}

int cp_profile_add_sample(struct cp_profile *prof, const uint64_t *location_ids, size_t nlocations,
			  const int64_t *values, const struct cp_label_desc *labels, size_t nlabels)
{
	if (!nlocations)
		return -EINVAL;
	return add_sample(prof, location_ids, nlocations, values, labels, nlabels, true);
}

int cp_profile_append_sample(struct cp_profile *prof, const uint64_t *location_ids,
			     size_t nlocations, const int64_t *values,
			     const struct cp_label_desc *labels, size_t nlabels)
{
	return add_sample(prof, location_ids, nlocations, values, labels, nlabels, false);
}

static struct cp_value_type value_type_view(const struct cp_profile *prof,
					    const struct prof_value_type *vt)
{
	return (struct cp_value_type){ str(prof, vt->type), str(prof, vt->unit) };
}

size_t cp_profile_nsample_types(const struct cp_profile *prof)
{
	return prof->nsample_types;
}

struct cp_value_type cp_profile_sample_type(const struct cp_profile *prof, size_t i)
{
	return value_type_view(prof, &prof->sample_types[i]);
}

struct cp_value_type cp_profile_period_type(const struct cp_profile *prof)
{
	return value_type_view(prof, &prof->period_type);
}

int64_t cp_profile_period(const struct cp_profile *prof)
{
	return prof->period;
}

int64_t cp_profile_time_nanos(const struct cp_profile *prof)
{
	return prof->time_nanos;
}

int64_t cp_profile_duration_nanos(const struct cp_profile *prof)
{
	return prof->duration_nanos;
}

/* As pprof's SampleIndexByName: the first type of that name, else the last type. */
size_t cp_profile_default_sample_index(const struct cp_profile *prof)
{
	for (size_t i = 0; prof->default_sample_type && i < prof->nsample_types; i++)
		if (prof->sample_types[i].type == prof->default_sample_type)
			return i;
	return prof->nsample_types - 1;
}

size_t cp_profile_nsamples(const struct cp_profile *prof)
{
	return prof->nsamples;
}

struct cp_profile_sample cp_profile_sample(const struct cp_profile *prof, size_t i)
{
	const struct prof_sample *s = &prof->samples[i];

	return (struct cp_profile_sample){
		.location_ids = s->nlocations ? &prof->stacks[s->stack] : NULL,
		.nlocations = s->nlocations,
		.values = &prof->values[i * prof->nsample_types],
		.labels = s->nlabels ? &prof->label_views[s->label] : NULL,
		.nlabels = s->nlabels,
	};
}

size_t cp_profile_nmappings(const struct cp_profile *prof)
{
	return prof->nmappings;
}

struct cp_profile_mapping cp_profile_mapping(const struct cp_profile *prof, size_t i)
{
	const struct prof_mapping *m = &prof->mappings[i];

	return (struct cp_profile_mapping){
		.id = i + 1,
		.memory_start = m->memory_start,
		.memory_limit = m->memory_limit,
		.file_offset = m->file_offset,
		.filename = str(prof, m->filename),
		.build_id = str(prof, m->build_id),
		.has_functions = m->has_functions,
		.has_filenames = m->has_filenames,
		.has_line_numbers = m->has_line_numbers,
		.has_inline_frames = m->has_inline_frames,
	};
}

const struct cp_profile_location *cp_profile_location(const struct cp_profile *prof, uint64_t id)
{
	return id && id <= prof->nlocations ? &prof->locations[id - 1] : NULL;
}
