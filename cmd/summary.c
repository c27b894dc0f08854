/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

/* Functions the report lists: enough to see where the time went. */
#define SUMMARY_TOP 10

void cp_summary_print(const struct cp_run_summary *run, const struct cp_sampler *sampler,
		      const struct cp_symbolizer *symz, const struct cp_profile *prof)
{
	struct cp_sampler_stats st;
	struct cp_symbolizer_stats sy;

	cp_sampler_get_stats(sampler, &st);
	cp_symbolizer_get_stats(symz, &sy);

	uint64_t offered = st.samples + st.lost;

	fprintf(stderr,
		"cprof: profiled '%s' for %.2f s: %" PRIu64 " samples, %" PRIu64
		" lost (%.1f%%), %" PRIu64 " process%s, %" PRIu64 " thread%s\n",
		run->command, run->seconds, st.samples, st.lost,
		offered ? 100.0 * (double)st.lost / (double)offered : 0.0, st.processes,
		st.processes == 1 ? "" : "es", st.threads, st.threads == 1 ? "" : "s");
	uint64_t unwound = st.complete + st.truncated + st.unknown;

	if (unwound)
		fprintf(stderr,
			"cprof: %.1f%% of stacks complete; %" PRIu64
			" truncated (raise --stack-size), "
			"%" PRIu64 " unwinding stopped at code without unwind info\n",
			100.0 * (double)st.complete / (double)unwound, st.truncated, st.unknown);
	if (st.kernel_excluded)
		fprintf(stderr, "cprof: user space only: the kernel refused kernel samples "
				"(kernel.perf_event_paranoid >= 2 without CAP_PERFMON)\n");
	if (st.throttled)
		fprintf(stderr,
			"cprof: the kernel throttled sampling %" PRIu64
			" times; lower -F for complete data\n",
			st.throttled);
	if (st.lost)
		fprintf(stderr,
			"cprof: %" PRIu64 " samples were lost because a ring buffer "
			"(%u KiB per CPU) was full; a larger -m or a lower -F keeps them\n",
			st.lost, (unsigned int)(st.ring_pages * (sysconf(_SC_PAGESIZE) >> 10)));
	if (sy.modules_unreadable)
		fprintf(stderr,
			"cprof: %" PRIu64 " of %" PRIu64
			" mapped files could not be read; their frames keep raw addresses\n",
			sy.modules_unreadable, sy.modules);
	if (sy.lookups_fde)
		fprintf(stderr,
			"cprof: %" PRIu64 " addresses outside any symbol were named after "
			"the unwind entry that covers them (file+0xSTART)\n",
			sy.lookups_fde);
	if (sy.names_mangled)
		fprintf(stderr,
			"cprof: %" PRIu64 " mangled names could not be demangled and are "
			"shown as they are\n",
			sy.names_mangled);
	if (prof && cp_profile_nsamples(prof)) {
		struct cp_value_type type =
			cp_profile_sample_type(prof, cp_profile_default_sample_index(prof));

		fprintf(stderr,
			"cprof: top %d functions by %s, as 'go tool pprof -top' lists them:\n",
			SUMMARY_TOP, type.type);
		if (cp_report_top(prof, SUMMARY_TOP, false, stderr) < 0)
			fprintf(stderr, "cprof: out of memory for the top functions\n");
	}
	fprintf(stderr, "cprof: wrote %s; view it with: go tool pprof -http=: %s\n", run->output,
		run->output);
}
