/* SPDX-License-Identifier: MIT */
/*
 * cprof record: run a command under the sampler and write its CPU profile.
 *
 * The output file is created (as a temporary beside the target) before the
 * command starts, so an unwritable path costs nothing.  cprof becomes a
 * child subreaper, so orphaned descendants are reparented to it and
 * "everything has exited" is simply waitpid() reporting ECHILD.
 *
 * Signals: SIGINT from a terminal reaches the command by itself; cprof
 * keeps collecting until the command exits.  A second SIGINT, or SIGTERM,
 * stops collecting and writes the profile now.  A SIGINT or SIGTERM sent to
 * cprof alone (kill(2), not the terminal) is passed on to the command.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/log.h"
#include "lib/outfile.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

/* How often the rings are drained when no wakeup comes. */
#define DRAIN_INTERVAL_MS 100

static const char record_usage[] =
	"usage: cprof record [options] [--] command [args...]\n"
	"\n"
	"Run command and write a CPU profile of it and everything it starts.\n"
	"\n"
	"options:\n"
	"  -o, --output=FILE  write the profile to FILE (default: cpu.prof)\n"
	"  -F, --freq=HZ      samples per second of CPU time (default: 100)\n"
	"  -g, --call-graph=MODE\n"
	"                     how stacks are taken: dwarf (default) unwinds a copy of\n"
	"                     the user stack with the binaries' CFI; fp follows frame\n"
	"                     pointers, cheaper but broken by code built without them\n"
	"      --stack-size=BYTES\n"
	"                     user stack copied per sample with dwarf (default: 32768)\n"
	"      --labels=LIST  also label samples with the numeric pid and/or tid of\n"
	"                     their thread: LIST is pid, tid or pid,tid\n"
	"      --debug=N      0 (default): write a gzip'd pprof protobuf; 1: write\n"
	"                     Go's legacy debug=1 text, which pprof reads too\n"
	"      --debug-dir=DIR\n"
	"                     also look for separate debug info in DIR (build-id\n"
	"                     layout or .gnu_debuglink); repeatable\n"
	"      --debuginfod   fetch missing debug info from debuginfod servers\n"
	"                     (DEBUGINFOD_URLS, else /etc/debuginfod/*.urls)\n"
	"      --threadcreate=FILE\n"
	"                     also write a threadcreate profile to FILE: the stacks\n"
	"                     that created threads and processes (traced with ptrace)\n"
	"  -q, --quiet        print no report at the end\n"
	"  -v, --verbose      print debug messages\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: the command's own; 128+N if it died of signal N;\n"
	"126 if it could not be executed, 127 if it was not found;\n"
	"125 if cprof itself failed.\n";

#define CP_MAX_DEBUG_DIRS 16

/* Long options without a short form. */
enum { OPT_DEBUG_DIR = 256, OPT_DEBUGINFOD, OPT_THREADCREATE };

struct record_opts {
	const char *output;
	unsigned int freq_hz;
	enum cp_callchain_mode callchain;
	unsigned int stack_size;
	bool quiet;
	bool text;                 /* --debug=1 */
	bool label_pid, label_tid; /* --labels */
	const char *debug_dirs[CP_MAX_DEBUG_DIRS + 1]; /* --debug-dir, NULL-terminated */
	size_t ndebug_dirs;
	bool debuginfod;
	char **argv; /* the command */
	const char *threadcreate; /* --threadcreate=FILE */
};

struct run_state {
	struct cp_sampler *tracer; /* --threadcreate: ptrace stops go to it */
	pid_t child;
	int child_status;   /* valid when child_reaped */
	bool child_reaped;
	bool all_exited;    /* no child of cprof is left */
	int stop_signal;    /* set when a signal ends collection early */
	int sigints;
	struct timespec exited_at; /* when all_exited became true */
};

static unsigned int max_sample_rate(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	unsigned int rate = 100000;

	if (f) {
		if (fscanf(f, "%u", &rate) != 1)
			rate = 100000;
		fclose(f);
	}
	return rate;
}

int cp_parse_freq(const char *arg, unsigned int *ret)
{
	char *end;
	unsigned long value;
	unsigned int limit = max_sample_rate();

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || value == 0) {
		cp_error("invalid frequency '%s': expected a whole number of Hz", arg);
		return -EINVAL;
	}
	if (value > limit) {
		cp_error("frequency %lu Hz is above the kernel's limit of %u Hz "
			 "(kernel.perf_event_max_sample_rate)", value, limit);
		return -EINVAL;
	}
	*ret = (unsigned int)value;
	return 0;
}

int cp_parse_stack_size(const char *arg, unsigned int *ret)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || value < 64 ||
	    value > CP_STACK_SIZE_MAX) {
		cp_error("invalid stack size '%s': expected 64 to %d bytes", arg, CP_STACK_SIZE_MAX);
		return -EINVAL;
	}
	/* The kernel wants a multiple of 8. */
	*ret = (unsigned int)(value & ~7UL);
	return 0;
}

/* --labels: a comma-separated list of pid and tid.  Return: 0 or -EINVAL. */
static int parse_labels(const char *arg, struct record_opts *opts)
{
	const char *p = arg;

	do {
		size_t len = strcspn(p, ",");

		if (len == 3 && strncmp(p, "pid", 3) == 0) {
			opts->label_pid = true;
		} else if (len == 3 && strncmp(p, "tid", 3) == 0) {
			opts->label_tid = true;
		} else {
			cp_error("invalid labels '%s': expected pid, tid or pid,tid", arg);
			return -EINVAL;
		}
		p += len;
	} while (*p++ == ',');
	return 0;
}

/* Return: 0 to run, 1 after --help, -EINVAL on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct record_opts *opts)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "freq", required_argument, NULL, 'F' },
		{ "call-graph", required_argument, NULL, 'g' },
		{ "stack-size", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "debug", required_argument, NULL, 'D' },
		{ "labels", required_argument, NULL, 'L' },
		{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
		{ "debuginfod", no_argument, NULL, OPT_DEBUGINFOD },
		{ "threadcreate", required_argument, NULL, OPT_THREADCREATE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct record_opts){ .output = "cpu.prof",
				      .freq_hz = 100,
				      .callchain = CP_CALLCHAIN_DWARF,
				      .stack_size = CP_STACK_SIZE_DEFAULT };
	opterr = 0;
	/* "+": stop at the command, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:o:F:g:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opts->output = optarg;
			break;
		case 'F':
			if (cp_parse_freq(optarg, &opts->freq_hz) < 0)
				return -EINVAL;
			break;
		case 'g':
			if (strcmp(optarg, "dwarf") == 0) {
				opts->callchain = CP_CALLCHAIN_DWARF;
			} else if (strcmp(optarg, "fp") == 0) {
				opts->callchain = CP_CALLCHAIN_FP;
			} else {
				cp_error("invalid call graph mode '%s': expected dwarf or fp", optarg);
				return -EINVAL;
			}
			break;
		case 'S':
			if (cp_parse_stack_size(optarg, &opts->stack_size) < 0)
				return -EINVAL;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case 'D':
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0) {
				cp_error("invalid debug level '%s': expected 0 or 1", optarg);
				return -EINVAL;
			}
			opts->text = optarg[0] == '1';
			break;
		case 'L':
			if (parse_labels(optarg, opts) < 0)
				return -EINVAL;
			break;
		case OPT_THREADCREATE:
			opts->threadcreate = optarg;
			break;
		case OPT_DEBUG_DIR:
			if (opts->ndebug_dirs == CP_MAX_DEBUG_DIRS) {
				cp_error("too many --debug-dir options: at most %d", CP_MAX_DEBUG_DIRS);
				return -EINVAL;
			}
			opts->debug_dirs[opts->ndebug_dirs++] = optarg;
			break;
		case OPT_DEBUGINFOD:
			opts->debuginfod = true;
			break;
		case 'v':
			cp_log_set_debug(true);
			break;
		case 'h':
			fputs(record_usage, stdout);
			return 1;
		case ':':
			cp_error("option '%s' needs an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			cp_error("unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		cp_error("no command given");
		return -EINVAL;
	}
	if (!*opts->output) {
		cp_error("the output file name is empty");
		return -EINVAL;
	}
	opts->argv = argv + optind;
	return 0;
}

static double elapsed_seconds(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void reap_children(struct run_state *st)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG | (st->tracer ? __WALL : 0));

		if (pid > 0) {
			/* Traced (--threadcreate): a ptrace-stop, handled and restarted. */
			if (st->tracer && cp_sampler_trace_handle(st->tracer, pid, status) != 0)
				continue;
			if (pid == st->child) {
				st->child_status = status;
				st->child_reaped = true;
			}
			continue;
		}
		if (pid < 0 && errno == ECHILD && !st->all_exited) {
			st->all_exited = true;
			clock_gettime(CLOCK_MONOTONIC, &st->exited_at);
		}
		return;
	}
}

static void handle_signal(struct run_state *st, const struct signalfd_siginfo *si)
{
	/* Sent by a process (kill), not by the terminal or the kernel? */
	bool from_kill = si->ssi_code == SI_USER || si->ssi_code == SI_QUEUE;

	switch (si->ssi_signo) {
	case SIGCHLD:
		reap_children(st);
		return;
	case SIGINT:
		st->sigints++;
		if (from_kill && !st->child_reaped)
			kill(st->child, SIGINT);
		if (st->sigints >= 2)
			st->stop_signal = SIGINT;
		return;
	case SIGTERM:
	case SIGHUP:
		if (from_kill && !st->child_reaped)
			kill(st->child, (int)si->ssi_signo);
		st->stop_signal = (int)si->ssi_signo;
		return;
	}
}

/* Collect until every descendant has exited or a signal says stop. */
static int collect(struct cp_sampler *sampler, int sig_fd, struct run_state *st)
{
	struct pollfd fds[2] = {
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = cp_sampler_fd(sampler), .events = POLLIN },
	};

	reap_children(st);
	while (!st->all_exited && !st->stop_signal) {
		if (poll(fds, 2, DRAIN_INTERVAL_MS) < 0 && errno != EINTR)
			return -errno;
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				handle_signal(st, &si);
		}
		int r = cp_sampler_read(sampler);

		if (r < 0)
			return r;
	}
	return 0;
}

void cp_perf_open_error(int err, const char *what)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	int paranoid = INT_MIN;

	if (f) {
		if (fscanf(f, "%d", &paranoid) != 1)
			paranoid = INT_MIN;
		fclose(f);
	}
	switch (err) {
	case EACCES:
	case EPERM:
		if (paranoid > 2)
			cp_error("%s: %s: kernel.perf_event_paranoid is %d, which forbids perf "
				 "events to unprivileged users; allow profiling your own processes "
				 "with 'sysctl kernel.perf_event_paranoid=2', or run cprof with "
				 "CAP_PERFMON", what, strerror(err), paranoid);
		else if (paranoid != INT_MIN)
			cp_error("%s: %s: kernel.perf_event_paranoid is %d, which allows profiling "
				 "your own processes, so something else refused: a seccomp filter "
				 "(container runtimes block perf_event_open by default) or a security "
				 "module; run cprof outside that sandbox or with CAP_PERFMON", what,
				 strerror(err), paranoid);
		else
			cp_error("%s: %s: perf events are not permitted here "
				 "(no /proc/sys/kernel/perf_event_paranoid: a container?)", what,
				 strerror(err));
		return;
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
		cp_error("%s: %s: this kernel offers no cpu-clock perf event "
			 "(CONFIG_PERF_EVENTS off?)", what, strerror(err));
		return;
	case ENOSYS:
		cp_error("%s: %s: this kernel was built without perf events", what,
			 strerror(err));
		return;
	case ENOMEM:
	case EMFILE:
		cp_error("%s: %s: raise the locked-memory or open-file limit "
			 "(ulimit -l, ulimit -n)", what, strerror(err));
		return;
	default:
		cp_error("%s: %s", what, strerror(err));
	}
}

static int exit_status_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return CP_EXIT_FAILURE;
}

/* What profiling cost cprof itself; tests/bench reads this line. */
static void debug_own_costs(const struct run_state *st)
{
	struct rusage self;
	double after_exit_ms = -1;

	getrusage(RUSAGE_SELF, &self);
	if (st->all_exited)
		after_exit_ms = elapsed_seconds(&st->exited_at) * 1e3;
	cp_debug("own cost: cpu %.3f s user %.3f s sys, peak rss %ld KiB, "
		 "profile written %.1f ms after the command exited",
		 (double)self.ru_utime.tv_sec + (double)self.ru_utime.tv_usec / 1e6,
		 (double)self.ru_stime.tv_sec + (double)self.ru_stime.tv_usec / 1e6,
		 self.ru_maxrss, after_exit_ms);
}

int cp_cmd_record(int argc, char **argv)
{
	struct record_opts opts;
	struct cp_outfile out = { 0 }, tc_out = { 0 };
	struct cp_symbolizer *symz = NULL;
	struct cp_sampler *sampler = NULL;
	struct cp_target *target = NULL;
	struct cp_profile *prof = NULL;
	struct run_state st = { 0 };
	sigset_t handled, original;
	int sig_fd = -1, status = CP_EXIT_FAILURE, r;
	struct timespec started_mono, started_real;

	r = parse_options(argc, argv, &opts);
	if (r != 0) {
		if (r < 0)
			fputs(record_usage, stderr);
		return r > 0 ? 0 : CP_EXIT_FAILURE;
	}

	r = cp_outfile_open(&out, opts.output);
	if (r < 0) {
		cp_error("cannot write '%s': %s", opts.output, strerror(-r));
		return CP_EXIT_FAILURE;
	}
	if (opts.threadcreate && (r = cp_outfile_open(&tc_out, opts.threadcreate)) < 0) {
		cp_error("cannot write '%s': %s", opts.threadcreate, strerror(-r));
		cp_outfile_abort(&out);
		return CP_EXIT_FAILURE;
	}

	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigprocmask(SIG_BLOCK, &handled, &original);
	sig_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		cp_error("cannot create a signalfd: %s", strerror(errno));
		goto out;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		cp_debug("cannot become a child subreaper: %s", strerror(errno));

	/* DEBUGINFOD_URLS in the environment is a request for debuginfod too. */
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct cp_symbolizer_opts symz_opts = {
		.debug_dirs = opts.debug_dirs,
		.debug_path = getenv("CPROF_DEBUG_DIRS"),
		.debuginfod = opts.debuginfod || (urls && *urls),
	};
	struct cp_sampler_opts sampler_opts = { .freq_hz = opts.freq_hz,
						.callchain = opts.callchain,
						.stack_size = opts.stack_size };

	r = cp_symbolizer_new(&symz_opts, &symz);
	if (r == 0)
		r = cp_sampler_new(&sampler_opts, symz, &sampler);
	if (r < 0) {
		cp_error("cannot start: %s", strerror(-r));
		goto out;
	}

	r = cp_target_spawn(opts.argv, &original, &target);
	if (r < 0) {
		cp_error("cannot start '%s': %s", opts.argv[0], strerror(-r));
		goto out;
	}
	st.child = cp_target_pid(target);

	r = cp_sampler_open_child(sampler, st.child);
	if (r < 0) {
		cp_perf_open_error(-r, cp_sampler_error(sampler));
		goto out;
	}
	/* --threadcreate: trace the corked child; what it creates is traced too. */
	if (opts.threadcreate) {
		r = cp_sampler_trace_seize(sampler, st.child);
		if (r < 0) {
			cp_error("cannot trace thread creation: %s: %s; writing the CPU profile only",
				 cp_sampler_error(sampler), strerror(-r));
			cp_outfile_abort(&tc_out);
		} else {
			st.tracer = sampler;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &started_mono);
	clock_gettime(CLOCK_REALTIME, &started_real);
	r = cp_target_exec(target);
	if (r < 0) {
		cp_error("cannot run '%s': %s", opts.argv[0], strerror(-r));
		status = r == -ENOENT ? CP_EXIT_NOT_FOUND : CP_EXIT_NOT_EXECUTABLE;
		goto out;
	}

	r = collect(sampler, sig_fd, &st);
	if (r == 0)
		r = cp_sampler_finish(sampler);
	if (r < 0) {
		cp_error("sampling failed: %s", strerror(-r));
		goto out;
	}

	double seconds = elapsed_seconds(&started_mono);
	struct cp_cpu_profile_params params = {
		.period_ns = 1000000000LL / opts.freq_hz,
		.time_nanos = (int64_t)started_real.tv_sec * 1000000000LL + started_real.tv_nsec,
		.duration_nanos = (int64_t)(seconds * 1e9),
		.label_pid = opts.label_pid,
		.label_tid = opts.label_tid,
	};

	r = cp_cpu_profile_build(sampler, symz, &params, &prof);
	if (r < 0) {
		cp_error("cannot build the profile: %s", strerror(-r));
		goto out;
	}
	if (cp_commit_profile(prof, &out, opts.text) < 0)
		goto out;
	if (st.tracer && cp_threadcreate_commit(sampler, symz, params.time_nanos, &tc_out,
						opts.text) < 0)
		goto out;
	if (cp_log_debug_enabled())
		debug_own_costs(&st);
	if (!opts.quiet) {
		struct cp_run_summary run = { opts.argv[0], opts.output, seconds };

		cp_summary_print_profile(&run, sampler, symz, prof);
	}

	/* Stopped early: the command may have ended meanwhile. */
	if (!st.child_reaped)
		reap_children(&st);
	if (st.child_reaped)
		status = exit_status_of(st.child_status);
	else
		status = 128 + st.stop_signal;
out:
	cp_outfile_abort(&out);
	cp_outfile_abort(&tc_out);
	cp_profile_free(prof);
	cp_target_free(target);
	cp_sampler_free(sampler);
	cp_symbolizer_free(symz);
	if (sig_fd >= 0)
		close(sig_fd);
	sigprocmask(SIG_SETMASK, &original, NULL);
	return status;
}
