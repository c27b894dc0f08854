/* SPDX-License-Identifier: MIT */
/*
 * Shared by the files of cmd/: the subcommands, the glue that turns
 * sampled stacks into a pprof profile, and the user-facing messages.
 * Only cmd/ prints warnings and errors, and only cmd/ exits.
 */
#ifndef CP_CMD_H
#define CP_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sampler/sampler.h"

struct cp_profile;
struct cp_sampler;
struct cp_symbolizer;

/* Exit statuses of `cprof record`, after timeout(1) and env(1). */
enum {
	CP_EXIT_FAILURE = 125, /* cprof itself failed, usage errors included */
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

/* --- options.c: what record and attach share ------------------------------------ */

#define CP_MAX_DEBUG_DIRS 16

struct cp_profile_opts {
	const char *output;			       /* -o */
	unsigned int freq_hz;			       /* -F */
	enum cp_callchain_mode callchain;	       /* -g */
	unsigned int stack_size;		       /* --stack-size */
	unsigned int ring_pages;		       /* -m, or 0 */
	bool text;				       /* --debug=1: Go's legacy text */
	bool label_pid, label_tid;		       /* --labels */
	const char *threadcreate;		       /* --threadcreate=FILE, or NULL */
	const char *debug_dirs[CP_MAX_DEBUG_DIRS + 1]; /* --debug-dir, NULL-terminated */
	size_t ndebug_dirs;
	bool debuginfod; /* --debuginfod */
	bool quiet;	 /* -q */
};

/* getopt values of the shared options that have no short form; a
 * subcommand numbers its own from CP_OPT_FIRST_FREE. */
enum {
	CP_OPT_STACK_SIZE = 256,
	CP_OPT_DEBUG,
	CP_OPT_LABELS,
	CP_OPT_THREADCREATE,
	CP_OPT_DEBUG_DIR,
	CP_OPT_DEBUGINFOD,
	CP_OPT_FIRST_FREE,
};

/* The option tables stay tables. */
/* clang-format off */
#define CP_PROFILE_SHORTOPTS "o:F:g:m:qv"
#define CP_PROFILE_LONGOPTS                                                               \
	{ "output", required_argument, NULL, 'o' },                                       \
	{ "freq", required_argument, NULL, 'F' },                                         \
	{ "call-graph", required_argument, NULL, 'g' },                                   \
	{ "stack-size", required_argument, NULL, CP_OPT_STACK_SIZE },                     \
	{ "mmap-pages", required_argument, NULL, 'm' },                                   \
	{ "debug", required_argument, NULL, CP_OPT_DEBUG },                               \
	{ "labels", required_argument, NULL, CP_OPT_LABELS },                             \
	{ "threadcreate", required_argument, NULL, CP_OPT_THREADCREATE },                 \
	{ "debug-dir", required_argument, NULL, CP_OPT_DEBUG_DIR },                       \
	{ "debuginfod", no_argument, NULL, CP_OPT_DEBUGINFOD },                           \
	{ "quiet", no_argument, NULL, 'q' },                                              \
	{ "verbose", no_argument, NULL, 'v' }

/* The --help lines of the shared options. */
#define CP_PROFILE_OPTIONS_HELP                                                           \
	"  -o, --output=FILE       write the profile to FILE (default: cpu.prof)\n"       \
	"  -F, --freq=HZ           samples per second of CPU time (default: 100)\n"       \
	"  -g, --call-graph=MODE   how stacks are taken: dwarf (default) unwinds a copy\n" \
	"                          of the user stack with the binaries' CFI; fp follows\n" \
	"                          frame pointers, cheaper but broken by code built\n"    \
	"                          without them\n"                                         \
	"      --stack-size=BYTES  user stack copied per sample with dwarf\n"             \
	"                          (default: 32768)\n"                                     \
	"  -m, --mmap-pages=N      ring buffer per CPU: N pages (a power of two) or a\n"  \
	"                          size such as 8M (default: a quarter second of\n"     \
	"                          samples, from 512K to 8M)\n"                           \
	"      --labels=LIST       also label samples with the numeric pid and/or tid\n"  \
	"                          of their thread: LIST is pid, tid or pid,tid\n"        \
	"      --debug=N           0 (default): write gzip'd pprof protobufs; 1: write\n" \
	"                          Go's legacy debug=1 text, which pprof reads too\n"     \
	"      --threadcreate=FILE also write a threadcreate profile to FILE: the\n"      \
	"                          stacks that created threads and processes (traced\n"  \
	"                          with ptrace)\n"                                         \
	"      --debug-dir=DIR     also look for separate debug info in DIR (build-id\n"  \
	"                          layout or .gnu_debuglink); repeatable\n"               \
	"      --debuginfod        fetch missing debug info from debuginfod servers\n"    \
	"                          (DEBUGINFOD_URLS, else /etc/debuginfod/*.urls)\n"      \
	"  -q, --quiet             print no report at the end\n"                          \
	"  -v, --verbose           print debug messages\n"
/* clang-format on */

void cp_profile_opts_init(struct cp_profile_opts *opts);

/*
 * cp_profile_opts_parse() - apply option @c (a getopt_long result) with
 * argument @arg if it is one of the shared options.
 * Return: 1 when it was (and is applied), 0 when it is not a shared
 * option, -EINVAL for a bad value (already reported).
 */
int cp_profile_opts_parse(struct cp_profile_opts *opts, int c, const char *arg);

/* Checks once all options are read.  Return: 0 or -EINVAL (reported). */
int cp_profile_opts_check(const struct cp_profile_opts *opts);

struct cp_sampler_opts;
struct cp_symbolizer_opts;
void cp_profile_opts_sampler(const struct cp_profile_opts *opts, struct cp_sampler_opts *ret);
/* The symbolizer options: --debug-dir, CPROF_DEBUG_DIRS, and debuginfod
 * when asked for with --debuginfod or DEBUGINFOD_URLS. */
void cp_profile_opts_symbolizer(const struct cp_profile_opts *opts, struct cp_symbolizer_opts *ret);

/*
 * cp_session_new() - the symbolizer and the sampler @opts asks for; the
 * caller frees both (also after a failure: whichever was made).
 * Return: 0 or -errno (reported).
 */
int cp_session_new(const struct cp_profile_opts *opts, struct cp_symbolizer **ret_symz,
		   struct cp_sampler **ret_sampler);

/*
 * cp_session_write() - build the CPU profile of @sampler's stacks for the
 * window that started at @time_nanos (ns since the epoch), write it to
 * @out and, with @tracing, the threadcreate profile to @tc_out, as @opts
 * says (text or protobuf, labels); errors are reported.
 * @ret_prof: the CPU profile, for the report; the caller frees it, also
 *   after a failure.
 * Return: 0 or -errno.
 */
struct cp_outfile;
int cp_session_write(const struct cp_profile_opts *opts, const struct cp_sampler *sampler,
		     struct cp_symbolizer *symz, int64_t time_nanos, int64_t duration_nanos,
		     bool tracing, struct cp_outfile *out, struct cp_outfile *tc_out,
		     struct cp_profile **ret_prof);

/*
 * cp_signals_take() - block SIGINT, SIGTERM, SIGHUP (and SIGCHLD) and
 * receive them through a signalfd instead, so the event loop polls them.
 * @ret_original: the mask before, to restore and to hand to a command.
 * Return: the signalfd, or -errno (reported).
 */
int cp_signals_take(bool with_sigchld, sigset_t *ret_original);

/* Start reading kernel symbols in the background if @sampler has kernel
 * samples, once its events are open. */
struct cp_symbolizer;
void cp_prefetch_kernel_symbols(const struct cp_sampler *sampler, struct cp_symbolizer *symz);

/* Report getopt's ':' (missing argument) or '?' (unknown option) for the
 * option just read from @argv.  Return: -EINVAL. */
int cp_option_error(int c, char *const argv[]);

/* After getopt, for the subcommands that take processes (-p) and no
 * arguments: an error unless @have_pid and no argument is left.
 * Return: 0 or -EINVAL. */
int cp_options_end_pid(int argc, char *const argv[], bool have_pid);

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
 * and commit it; reports errors (options.c).  Return: 0 or -errno. */
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
	int64_t time_nanos; /* start, ns since the Unix epoch */
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
void cp_summary_print(const struct cp_run_summary *run, const struct cp_sampler *sampler,
		      const struct cp_symbolizer *symz, const struct cp_profile *prof);

#endif
