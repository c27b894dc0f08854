/* SPDX-License-Identifier: MIT */
/*
 * Shared by the files of cmd/: the subcommands, the glue that turns
 * sampled stacks into a pprof profile, and the user-facing messages.
 * Only cmd/ prints warnings and errors, and only cmd/ exits.
 */
#ifndef CP_CMD_H
#define CP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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
int cp_cmd_report(int argc, char **argv);

/*
 * cp_report_top() - print @prof's top @nrows functions (0: all) by its
 * default sample type as `go tool pprof -top` does: with @labels, pprof's
 * header lines first (File, Type, Duration, "Showing nodes ...").
 * Return: 0 or -ENOMEM / -EIO.
 */
int cp_report_top(const struct cp_profile *prof, size_t nrows, bool labels, FILE *out);
int cp_cmd_attach(int argc, char **argv);
int cp_cmd_dump(int argc, char **argv);

/* Options shared by record and attach (record.c); each reports its own
 * error.  Return: 0 or -EINVAL. */
int cp_parse_freq(const char *arg, unsigned int *ret);
int cp_parse_stack_size(const char *arg, unsigned int *ret);
/* The error for a failed perf_event_open, with advice (record.c). */
void cp_perf_open_error(int err, const char *what);

/* attach.c, shared with dump: parse a pid or a duration ("1.5s", "500ms",
 * "2m", plain seconds), reporting errors.  Return: 0 or -EINVAL. */
int cp_parse_pid(const char *arg, pid_t *ret);
int cp_parse_duration(const char *arg, int64_t *ret_ns);
/* Is @pid a live process that cprof may profile?  Says why not (no such
 * process, a zombie, a thread, another user's).  Return: 0 or -errno. */
int cp_check_pid(pid_t pid);
/* The error for a refused ptrace of @pid, naming the cause (another
 * tracer, Yama's ptrace_scope, capabilities) and the fix. */
void cp_ptrace_error(pid_t pid, int err, const char *what);
/* Write @prof to @out (gzip'd protobuf, or with @text Go's debug=1 text)
 * and commit it; reports errors.  Return: 0 or -errno. */
struct cp_outfile;
int cp_commit_profile(struct cp_profile *prof, struct cp_outfile *out, bool text);

/*
 * cp_threadcreate_commit() - write the threadcreate profile of what
 * @sampler traced (cp_sampler_trace_*) to @out, as gzip'd protobuf or with
 * @text Go's "threadcreate profile: total N", and commit it; reports
 * errors (threadcreate.c).  Return: 0 or -errno.
 */
int cp_threadcreate_commit(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
			   int64_t time_nanos, struct cp_outfile *out, bool text);

struct cp_cpu_profile_params {
	int64_t period_ns;
	int64_t time_nanos;     /* start, ns since the Unix epoch */
	int64_t duration_nanos;
	bool label_pid, label_tid; /* numeric "pid" and "tid" labels on samples */
};

/*
 * cp_cpu_profile_build() - a pprof CPU profile of every stack @sampler
 * aggregated, symbolized through @symz.
 * Return: 0 or -ENOMEM.
 */
int cp_cpu_profile_build(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
			 const struct cp_cpu_profile_params *params, struct cp_profile **ret);

/*
 * cp_stacks_profile_build() - a profile of kind @desc from the stacks that
 * @visit(@src, fn, arg) hands to fn, one sample per stack with the values
 * [count, period_sum] (as many as @desc has sample types) and the thread
 * name as a label, symbolized through @symz; @main_map (may be NULL)
 * becomes mapping[0].  Stacks without frames are not allowed.
 * Return: 0 or -ENOMEM.
 */
struct cp_map;
struct cp_profile_desc;
struct cp_stack;
typedef int (*cp_stacks_visit_fn)(const void *src, int (*fn)(const struct cp_stack *, void *),
				  void *arg);
int cp_stacks_profile_build(const struct cp_profile_desc *desc, const struct cp_map *main_map,
			    struct cp_symbolizer *symz, cp_stacks_visit_fn visit, const void *src,
			    struct cp_profile **ret);

struct cp_run_summary {
	const char *command;
	const char *output;
	double seconds;
};

/* The end-of-run report on stderr, with @prof's top functions (if not NULL). */
void cp_summary_print_profile(const struct cp_run_summary *run, const struct cp_sampler *sampler,
			      const struct cp_symbolizer *symz, const struct cp_profile *prof);
/* The same without the top functions. */
void cp_summary_print(const struct cp_run_summary *run, const struct cp_sampler *sampler,
		      const struct cp_symbolizer *symz);

#endif
