/* SPDX-License-Identifier: MIT */
/*
 * Stacks the kernel walked (PERF_SAMPLE_CALLCHAIN): all of them in
 * frame-pointer mode, the kernel part in DWARF mode.
 *
 * The callchain is a list of addresses split into contexts by markers
 * (PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER, ...: values >= PERF_CONTEXT_MAX).
 * The first address after each marker is where that context was
 * interrupted (the sampled PC, or the user PC at kernel entry); the rest are
 * return addresses, moved back by one into their call instruction.
 */
#include "config.h"

#include <linux/perf_event.h>

#include "sampler/unwind.h"

static size_t walk_callchain(struct cp_procs *procs, struct cp_proc *proc,
			     const struct cp_sample_data *sample, struct cp_frame *out, size_t max,
			     struct cp_sampler_stats *stats, bool kernel_only)
{
	const struct cp_map *kernel_map = NULL;
	bool in_kernel = false, context_start = true;
	size_t n = 0;

	for (uint64_t i = 0; i < sample->callchain_nr && n < max; i++) {
		uint64_t addr = sample->callchain[i];

		if (addr >= (uint64_t)PERF_CONTEXT_MAX) {
			in_kernel = addr == (uint64_t)PERF_CONTEXT_KERNEL;
			context_start = true;
			continue;
		}

		uint64_t pc = context_start ? addr : addr - 1;

		context_start = false;
		if (in_kernel) {
			if (!kernel_map)
				kernel_map = cp_procs_kernel_map(procs);
			out[n++] = (struct cp_frame){ pc, kernel_map };
			continue;
		}
		if (kernel_only)
			break;

		const struct cp_map *map = cp_procs_lookup(procs, proc, pc);

		if (!map)
			stats->unmapped_pcs++;
		out[n++] = (struct cp_frame){ pc, map };
	}
	return n;
}

size_t cp_unwind_fp(struct cp_procs *procs, struct cp_proc *proc,
		    const struct cp_sample_data *sample, struct cp_frame *out, size_t max,
		    struct cp_sampler_stats *stats)
{
	size_t n = walk_callchain(procs, proc, sample, out, max, stats, false);

	/* A chain the kernel could not walk at all still has its sampled PC. */
	if (n == 0 && max > 0) {
		bool kernel_ip =
			(sample->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
		const struct cp_map *map = kernel_ip ? cp_procs_kernel_map(procs)
						     : cp_procs_lookup(procs, proc, sample->ip);

		out[n++] = (struct cp_frame){ sample->ip, map };
	}
	return n;
}

size_t cp_unwind_kernel(struct cp_procs *procs, const struct cp_sample_data *sample,
			struct cp_frame *out, size_t max)
{
	return walk_callchain(procs, NULL, sample, out, max, NULL, true);
}
