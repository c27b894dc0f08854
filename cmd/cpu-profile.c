/* SPDX-License-Identifier: MIT */
/*
 * Sampled stacks to a pprof CPU profile: Go's shape (samples/count and
 * cpu/nanoseconds, period cpu/nanoseconds), one Mapping per distinct
 * executable mapping with the main binary first, one Location per address
 * with its inline chain, the thread name as a label and, when asked, the
 * pid and tid as numeric labels.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/hash.h"
#include "lib/htab.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

struct mapping_entry {
	uint64_t start, end, pgoff;
	const char *path; /* interned by the sampler: compared by pointer */
	int64_t id;
};

struct builder {
	struct cp_profile *prof;
	struct cp_symbolizer *symz;
	struct cp_htab mappings; /* items: struct mapping_entry */
	uint64_t *location_ids;	 /* scratch, CP_MAX-sized by the longest stack */
	size_t location_ids_cap;
	bool label_pid, label_tid;
};

static bool mapping_eq(const void *item, const void *key)
{
	const struct mapping_entry *a = item, *b = key;

	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff &&
	       a->path == b->path;
}

/* The profile Mapping id of @map, added on first use.  Return: id or -ENOMEM. */
static int64_t mapping_id(struct builder *b, const struct cp_map *map)
{
	struct mapping_entry key = { map->start, map->end, map->pgoff, map->path, 0 };
	uint64_t hash = cp_hash_combine(cp_hash_combine(map->start, map->end),
					cp_hash_combine(map->pgoff, (uintptr_t)map->path));
	struct mapping_entry *entry = cp_htab_find(&b->mappings, hash, &key, mapping_eq);

	if (entry)
		return entry->id;

	struct cp_mapping_desc desc = {
		.memory_start = map->start,
		.memory_limit = map->end,
		.file_offset = map->pgoff,
		.filename = map->path,
		.build_id = map->module ? cp_module_build_id(map->module) : NULL,
		.has_inline_frames = map->module && cp_module_has_dwarf(map->module),
	};

	entry = malloc(sizeof(*entry));
	if (!entry)
		return -ENOMEM;
	*entry = key;
	entry->id = cp_profile_add_mapping(b->prof, &desc);
	if (entry->id < 0 || cp_htab_insert(&b->mappings, hash, entry) < 0) {
		free(entry);
		return -ENOMEM;
	}
	return entry->id;
}

static int64_t location_id(struct builder *b, const struct cp_frame *frame)
{
	const struct cp_map *map = frame->map;
	struct cp_line_desc lines[16];
	size_t nlines = 0;
	uint64_t entry = 0;
	int64_t mid = 0, id;

	if (map && map->is_marker) {
		/* "[truncated]"/"[unknown]": a function of its own, in no mapping. */
		struct cp_line_desc marker = { .function = map->path };

		return cp_profile_add_location(b->prof, 0, frame->pc, &marker, 1);
	}
	if (map) {
		mid = mapping_id(b, map);
		if (mid < 0)
			return mid;
	}
	if (map && map->module && map->has_bias) {
		const struct cp_symbol *sym;
		int r = cp_symbolizer_lookup(b->symz, map->module, frame->pc - map->bias, &sym);

		if (r < 0)
			return r;
		/* Keep the outermost frames if an inline chain is absurdly deep:
		 * the out-of-line function must stay last. */
		size_t skip = sym->nframes > 16 ? sym->nframes - 16 : 0;

		for (size_t i = skip; i < sym->nframes; i++) {
			const struct cp_symbol_frame *f = &sym->frames[i];

			lines[nlines++] = (struct cp_line_desc){
				.function = f->function,
				.system_name = f->system_name,
				.filename = f->file,
				.line = f->line,
				.start_line = f->start_line,
			};
		}
		if (sym->nframes)
			entry = sym->function_start + map->bias;
	}
	id = cp_profile_add_location(b->prof, (uint64_t)mid, frame->pc, lines, nlines);
	/* For the "fn+0x1f" of the debug=1 text. */
	if (id > 0 && entry)
		cp_profile_set_function_entry(b->prof, (uint64_t)id, entry);
	return id;
}

static int add_stack(const struct cp_stack *stack, void *arg)
{
	struct builder *b = arg;

	if (stack->nframes > b->location_ids_cap) {
		uint64_t *ids = reallocarray(b->location_ids, stack->nframes, sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		b->location_ids = ids;
		b->location_ids_cap = stack->nframes;
	}
	for (uint32_t i = 0; i < stack->nframes; i++) {
		int64_t id = location_id(b, &stack->frames[i]);

		if (id < 0)
			return (int)id;
		b->location_ids[i] = (uint64_t)id;
	}

	int64_t values[2] = { (int64_t)stack->count, (int64_t)stack->period_sum };
	struct cp_label_desc labels[3];
	size_t nlabels = 0;

	if (stack->thread_name && *stack->thread_name)
		labels[nlabels++] =
			(struct cp_label_desc){ .key = "thread", .str = stack->thread_name };
	/* Like Go's numeric labels, without a unit: pprof then shows the key
	 * as the unit ("1234pid"), and no pid or tid is 0, which a unit-less
	 * numeric label could not carry. */
	if (b->label_pid)
		labels[nlabels++] = (struct cp_label_desc){ .key = "pid", .num = stack->pid };
	if (b->label_tid)
		labels[nlabels++] = (struct cp_label_desc){ .key = "tid", .num = stack->tid };
	return cp_profile_add_sample(b->prof, b->location_ids, stack->nframes, values, labels,
				     nlabels);
}

static int build(const struct cp_profile_desc *desc, const struct cp_map *main_map,
		 struct cp_symbolizer *symz, cp_stacks_visit_fn visit, const void *src,
		 bool label_pid, bool label_tid, struct cp_profile **ret)
{
	struct builder b = { .symz = symz,
			     .mappings = CP_HTAB_INIT,
			     .label_pid = label_pid,
			     .label_tid = label_tid };
	int r;

	r = cp_profile_new(desc, &b.prof);
	if (r < 0)
		return r;
	/* pprof takes mapping[0] as the main binary. */
	if (main_map && mapping_id(&b, main_map) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = visit(src, add_stack, &b);

	for (size_t i = 0; i < b.mappings.cap; i++)
		free(b.mappings.slots[i].item);
	cp_htab_fini(&b.mappings);
	free(b.location_ids);
	if (r < 0) {
		cp_profile_free(b.prof);
		return r;
	}
	*ret = b.prof;
	return 0;
}

int cp_stacks_profile_build(const struct cp_profile_desc *desc, const struct cp_map *main_map,
			    struct cp_symbolizer *symz, cp_stacks_visit_fn visit, const void *src,
			    struct cp_profile **ret)
{
	return build(desc, main_map, symz, visit, src, false, false, ret);
}

static int visit_sampled(const void *src, cp_stack_fn fn, void *arg)
{
	return cp_sampler_for_each_stack(src, fn, arg);
}

int cp_cpu_profile_build(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
			 const struct cp_cpu_profile_params *params, struct cp_profile **ret)
{
	static const struct cp_value_type sample_types[] = {
		{ "samples", "count" },
		{ "cpu", "nanoseconds" },
	};
	struct cp_profile_desc desc = {
		.sample_types = sample_types,
		.nsample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = params->period_ns,
		.time_nanos = params->time_nanos,
		.duration_nanos = params->duration_nanos,
	};

	return build(&desc, cp_sampler_main_map(sampler), symz, visit_sampled, sampler,
		     params->label_pid, params->label_tid, ret);
}
