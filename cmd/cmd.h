/* SPDX-License-Identifier: MIT */
/*
 * Shared by the files of cmd/: the subcommands, the glue that turns
 * sampled stacks into a pprof profile, and the user-facing messages.
 * Only cmd/ prints warnings and errors, and only cmd/ exits.
 */
#ifndef CP_CMD_H
#define CP_CMD_H

#include <stdint.h>

struct cp_profile;
struct cp_sampler;
struct cp_symbolizer;

/* Exit statuses of `cprof record`, after timeout(1) and env(1). */
enum {
	CP_EXIT_FAILURE = 125,      /* cprof itself failed, usage errors included */
	CP_EXIT_NOT_EXECUTABLE = 126,
	CP_EXIT_NOT_FOUND = 127,
};

/* "cprof: <message>\n" on stderr. */
void cp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cp_cmd_record(int argc, char **argv);

struct cp_cpu_profile_params {
	int64_t period_ns;
	int64_t time_nanos;     /* start, ns since the Unix epoch */
	int64_t duration_nanos;
};

/*
 * cp_cpu_profile_build() - a pprof CPU profile of every stack @sampler
 * aggregated, symbolized through @symz.
 * Return: 0 or -ENOMEM.
 */
int cp_cpu_profile_build(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
			 const struct cp_cpu_profile_params *params, struct cp_profile **ret);

struct cp_run_summary {
	const char *command;
	const char *output;
	double seconds;
};

/* The end-of-run report on stderr. */
void cp_summary_print(const struct cp_run_summary *run, const struct cp_sampler *sampler,
		      const struct cp_symbolizer *symz);

#endif
