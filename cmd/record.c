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
	"options:\n" CP_PROFILE_OPTIONS_HELP "  -h, --help              show this help\n"
	"\n"
	"Exit status: the command's own; 128+N if it died of signal N;\n"
	"126 if it could not be executed, 127 if it was not found;\n"
	"125 if cprof itself failed.\n";

struct record_opts {
	struct cp_profile_opts profile;
	char **argv; /* the command */
};

struct run_state {
	struct cp_sampler *tracer; /* --threadcreate: ptrace stops go to it */
	pid_t child;
	int child_status; /* valid when child_reaped */
	bool child_reaped;
	bool all_exited; /* no child of cprof is left */
	int stop_signal; /* set when a signal ends collection early */
	int sigints;
	struct timespec exited_at; /* when all_exited became true */
};

/* Return: 0 to run, 1 after --help, -EINVAL on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct record_opts *opts)
{
	static const struct option longopts[] = {
		CP_PROFILE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	cp_profile_opts_init(&opts->profile);
	opterr = 0;
	/* "+": stop at the command, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:" CP_PROFILE_SHORTOPTS "h", longopts, NULL)) != -1) {
		r = cp_profile_opts_parse(&opts->profile, c, optarg);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (c == 'h') {
			fputs(record_usage, stdout);
			return 1;
		}
		return cp_option_error(c, argv);
	}
	if (optind >= argc) {
		cp_error("no command given");
		return -EINVAL;
	}
	opts->argv = argv + optind;
	return cp_profile_opts_check(&opts->profile);
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
				 "CAP_PERFMON",
				 what, strerror(err), paranoid);
		else if (paranoid != INT_MIN)
			cp_error("%s: %s: kernel.perf_event_paranoid is %d, which allows profiling "
				 "your own processes, so something else refused: a seccomp filter "
				 "(container runtimes block perf_event_open by default) or a "
				 "security "
				 "module; run cprof outside that sandbox or with CAP_PERFMON",
				 what, strerror(err), paranoid);
		else
			cp_error("%s: %s: perf events are not permitted here "
				 "(no /proc/sys/kernel/perf_event_paranoid: a container?)",
				 what, strerror(err));
		return;
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
		cp_error("%s: %s: this kernel offers no cpu-clock perf event "
			 "(CONFIG_PERF_EVENTS off?)",
			 what, strerror(err));
		return;
	case ENOSYS:
		cp_error("%s: %s: this kernel was built without perf events", what, strerror(err));
		return;
	case ENOMEM:
	case EMFILE:
		cp_error("%s: %s: raise the locked-memory or open-file limit "
			 "(ulimit -l, ulimit -n)",
			 what, strerror(err));
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
		 (double)self.ru_stime.tv_sec + (double)self.ru_stime.tv_usec / 1e6, self.ru_maxrss,
		 after_exit_ms);
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
	sigset_t original;
	int sig_fd = -1, status = CP_EXIT_FAILURE, r;
	struct timespec started_mono, started_real;

	r = parse_options(argc, argv, &opts);
	if (r != 0) {
		if (r < 0)
			fputs(record_usage, stderr);
		return r > 0 ? 0 : CP_EXIT_FAILURE;
	}

	r = cp_outfile_open(&out, opts.profile.output);
	if (r < 0) {
		cp_error("cannot write '%s': %s", opts.profile.output, strerror(-r));
		return CP_EXIT_FAILURE;
	}
	if (opts.profile.threadcreate &&
	    (r = cp_outfile_open(&tc_out, opts.profile.threadcreate)) < 0) {
		cp_error("cannot write '%s': %s", opts.profile.threadcreate, strerror(-r));
		cp_outfile_abort(&out);
		return CP_EXIT_FAILURE;
	}

	sig_fd = cp_signals_take(true, &original);
	if (sig_fd < 0)
		goto out;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		cp_debug("cannot become a child subreaper: %s", strerror(errno));

	if (cp_session_new(&opts.profile, &symz, &sampler) < 0)
		goto out;

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
	cp_prefetch_kernel_symbols(sampler, symz);
	/* --threadcreate: trace the corked child; what it creates is traced too. */
	if (opts.profile.threadcreate) {
		r = cp_sampler_trace_seize(sampler, st.child);
		if (r < 0) {
			cp_error("cannot trace thread creation: %s: %s; writing the CPU profile "
				 "only",
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

	if (cp_session_write(&opts.profile, sampler, symz,
			     (int64_t)started_real.tv_sec * 1000000000LL + started_real.tv_nsec,
			     (int64_t)(seconds * 1e9), st.tracer != NULL, &out, &tc_out, &prof) < 0)
		goto out;
	if (cp_log_debug_enabled())
		debug_own_costs(&st);
	if (!opts.profile.quiet) {
		struct cp_run_summary run = { opts.argv[0], opts.profile.output, seconds };

		cp_summary_print(&run, sampler, symz, prof);
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
