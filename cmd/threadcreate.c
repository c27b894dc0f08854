/* SPDX-License-Identifier: MIT */
/*
 * The threadcreate profile: one count per clone, fork and vfork, under the
 * stack of the thread that made it, in Go's shape (threadcreate/count,
 * period 1).  Written beside the CPU profile by record and attach with
 * --threadcreate.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/outfile.h"
#include "sampler/sampler.h"

static int visit_created(const void *src, int (*fn)(const struct cp_stack *, void *), void *arg)
{
	return cp_sampler_for_each_created(src, fn, arg);
}

struct find_main {
	const struct cp_map *want, *found;
};

/* The creation stacks come from a process model of their own: find its
 * copy of the main binary's mapping, for mapping[0]. */
static int find_main_map(const struct cp_stack *stack, void *arg)
{
	struct find_main *fm = arg;

	for (uint32_t i = 0; i < stack->nframes; i++) {
		const struct cp_map *map = stack->frames[i].map;

		if (map && !map->is_marker && map->path && map->start == fm->want->start &&
		    strcmp(map->path, fm->want->path) == 0) {
			fm->found = map;
			return 1;
		}
	}
	return 0;
}

int cp_threadcreate_commit(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
			   int64_t time_nanos, struct cp_outfile *out, bool text)
{
	static const struct cp_value_type sample_type = { "threadcreate", "count" };
	struct cp_profile_desc desc = {
		.sample_types = &sample_type,
		.nsample_types = 1,
		.period_type = { "threadcreate", "count" },
		.period = 1,
		.time_nanos = time_nanos,
	};
	struct find_main fm = { cp_sampler_main_map(sampler), NULL };
	struct cp_profile *prof = NULL;
	int r;

	if (fm.want)
		cp_sampler_for_each_created(sampler, find_main_map, &fm);
	r = cp_stacks_profile_build(&desc, fm.found, symz, visit_created, sampler, &prof);
	if (r < 0) {
		cp_error("cannot build the threadcreate profile: %s", strerror(-r));
		cp_outfile_abort(out);
		return r;
	}
	r = cp_commit_profile(prof, out, text);
	cp_profile_free(prof);
	return r;
}
