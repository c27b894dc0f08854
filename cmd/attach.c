/* SPDX-License-Identifier: MIT */
/*
 * cprof attach: profile running processes for a while, then let them go.
 *
 * Only perf events are attached (and, with --threadcreate, ptrace): the
 * processes are never stopped, keep every signal, and go on unaffected if
 * cprof dies, since the kernel closes the events and detaches a tracer's
 * tracees when it exits.  Collection stops at the duration, at SIGINT,
 * SIGTERM or SIGHUP, or when every process has exited; the profile is
 * written in every case and covers the window actually profiled.
 *
 * Also here: the checks and messages about a target pid that attach and
 * dump share.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/log.h"
#include "lib/outfile.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

#define DRAIN_INTERVAL_MS 100
#define MAX_PIDS	  64

static const char attach_usage[] =
	"usage: cprof attach -p PID[,PID...] [options]\n"
	"\n"
	"Write a CPU profile of running processes: every thread, and the threads\n"
	"and processes they start meanwhile.  Stops after the duration, at Ctrl-C\n"
	"or SIGTERM, or when the processes exit; the processes keep running.\n"
	"\n"
	"options:\n"
	"  -p, --pid=PID[,PID...]  the processes to profile\n"
	"  -d, --duration=TIME     stop after TIME: 30, 1.5s, 500ms, 2m (default: until\n"
	"                          Ctrl-C or the processes exit)\n" CP_PROFILE_OPTIONS_HELP
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

struct attach_opts {
	struct cp_profile_opts profile;
	pid_t pids[MAX_PIDS];
	size_t npids;
	int64_t duration_ns; /* 0: unlimited */
};

/* --- target checks shared with dump ------------------------------------------- */

int cp_parse_pid(const char *arg, pid_t *ret)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(arg, &end, 10);
	if (errno || end == arg || *end || value <= 0 || value > INT_MAX) {
		cp_error("invalid process id '%s'", arg);
		return -EINVAL;
	}
	*ret = (pid_t)value;
	return 0;
}

/* The value of "@key:" in /proc/PID/status, copied to @buf.  Return: 0 or -errno. */
static int status_field(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		char *v = line + klen + 1;

		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, size, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static bool has_capability(int cap)
{
	char buf[64];
	unsigned long long caps;

	if (status_field(getpid(), "CapEff", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%llx", &caps) != 1)
		return false;
	return caps >> cap & 1;
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %u", (unsigned int)uid);
	return buf;
}

/* CAP_SYS_PTRACE, from <linux/capability.h>. */
#define CAP_SYS_PTRACE_BIT 19

int cp_check_pid(pid_t pid)
{
	char buf[256], who[64];
	unsigned int ruid, euid, suid, tgid;
	int r = status_field(pid, "State", buf, sizeof(buf));

	if (r == -ENOENT || r == -ESRCH) {
		cp_error("no process %d: no such process (is the pid right? see ps -e)", (int)pid);
		return -ESRCH;
	}
	if (r < 0) {
		cp_error("cannot read /proc/%d/status: %s", (int)pid, strerror(-r));
		return r;
	}
	if (buf[0] == 'Z' || buf[0] == 'X') {
		cp_error("process %d is a zombie: it has exited and only waits for its parent "
			 "to reap it, so there is nothing left to profile",
			 (int)pid);
		return -ESRCH;
	}
	if (status_field(pid, "Tgid", buf, sizeof(buf)) == 0 && sscanf(buf, "%u", &tgid) == 1 &&
	    (pid_t)tgid != pid) {
		cp_error("%d is a thread of process %u: give the process id (-p %u)", (int)pid,
			 tgid, tgid);
		return -EINVAL;
	}
	if (status_field(pid, "Uid", buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%u %u %u", &ruid, &euid, &suid) == 3) {
		uid_t me = geteuid();

		if ((ruid != me || euid != me || suid != me) &&
		    !has_capability(CAP_SYS_PTRACE_BIT)) {
			char owner[64];

			user_name(euid, owner, sizeof(owner));
			if (euid == 0)
				snprintf(buf, sizeof(buf), "run cprof as root");
			else
				snprintf(buf, sizeof(buf), "run cprof as %s, or as root", owner);
			cp_error("process %d belongs to %s, and cprof runs as %s: only your own "
				 "processes can be profiled; %s (or with CAP_SYS_PTRACE and "
				 "CAP_PERFMON)",
				 (int)pid, owner, user_name(me, who, sizeof(who)), buf);
			return -EPERM;
		}
	}
	return 0;
}

void cp_ptrace_error(pid_t pid, int err, const char *what)
{
	char buf[64];
	int scope = -1;
	FILE *f;

	if (err == ESRCH) {
		cp_error("%s: process %d has exited", what, (int)pid);
		return;
	}
	if (err != EPERM && err != EACCES) {
		cp_error("%s: %s", what, strerror(err));
		return;
	}
	if (status_field(pid, "TracerPid", buf, sizeof(buf)) == 0 && strcmp(buf, "0") != 0) {
		cp_error("%s: %s: process %d is already traced by process %s (a debugger or "
			 "strace?); only one tracer is allowed: detach it first",
			 what, strerror(err), (int)pid, buf);
		return;
	}
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	if (scope >= 1 && !has_capability(CAP_SYS_PTRACE_BIT))
		cp_error("%s: %s: ptrace is restricted by Yama (/proc/sys/kernel/yama/ptrace_scope "
			 "is %d); set it to 0 (sysctl kernel.yama.ptrace_scope=0), or run cprof as "
			 "root or with CAP_SYS_PTRACE",
			 what, strerror(err), scope);
	else
		cp_error("%s: %s: ptrace is not permitted here (a container without "
			 "CAP_SYS_PTRACE, a seccomp filter, or a process that is not dumpable); "
			 "run cprof as root or with CAP_SYS_PTRACE",
			 what, strerror(err));
}

/* --- options ------------------------------------------------------------------------ */

int cp_parse_duration(const char *arg, int64_t *ret_ns)
{
	char *end;
	double value, scale = 1e9;

	errno = 0;
	value = strtod(arg, &end);
	if (errno || end == arg || !(value > 0) || arg[0] == '-')
		goto bad;
	if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		scale = 60e9;
	else if (strcmp(end, "h") == 0)
		scale = 3600e9;
	else if (*end && strcmp(end, "s") != 0)
		goto bad;
	if (value * scale > 1e18 || value * scale < 1e6)
		goto bad;
	*ret_ns = (int64_t)(value * scale + 0.5);
	return 0;
bad:
	cp_error("invalid duration '%s': expected seconds, or a number with ms, s, m or h "
		 "(at least 1ms)",
		 arg);
	return -EINVAL;
}

static int parse_pids(const char *arg, pid_t *pids, size_t *npids)
{
	char *copy = strdup(arg), *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok && r == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		pid_t pid;

		if (*npids == MAX_PIDS) {
			cp_error("too many processes: at most %d", MAX_PIDS);
			r = -EINVAL;
		} else if ((r = cp_parse_pid(tok, &pid)) == 0) {
			bool dup = false;

			for (size_t i = 0; i < *npids; i++)
				dup |= pids[i] == pid;
			if (!dup)
				pids[(*npids)++] = pid;
		}
	}
	free(copy);
	if (r == 0 && *npids == 0) {
		cp_error("no process id in '%s'", arg);
		r = -EINVAL;
	}
	return r;
}

/* Return: 0 to run, 1 after --help, -EINVAL on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct attach_opts *opts)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		CP_PROFILE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	memset(opts, 0, sizeof(*opts));
	cp_profile_opts_init(&opts->profile);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:d:" CP_PROFILE_SHORTOPTS "h", longopts, NULL)) !=
	       -1) {
		r = cp_profile_opts_parse(&opts->profile, c, optarg);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		switch (c) {
		case 'p':
			if (parse_pids(optarg, opts->pids, &opts->npids) < 0)
				return -EINVAL;
			break;
		case 'd':
			if (cp_parse_duration(optarg, &opts->duration_ns) < 0)
				return -EINVAL;
			break;
		case 'h':
			fputs(attach_usage, stdout);
			return 1;
		default:
			return cp_option_error(c, argv);
		}
	}
	if (cp_options_end_pid(argc, argv, opts->npids > 0) < 0)
		return -EINVAL;
	return cp_profile_opts_check(&opts->profile);
}

/* --- the session -------------------------------------------------------------------- */

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool process_gone(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	bool gone = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f)) {
		char *close = strrchr(buf, ')');

		gone = close && (close[2] == 'Z' || close[2] == 'X');
	}
	fclose(f);
	return gone;
}

struct watch {
	struct pollfd fds[2 + MAX_PIDS];
	pid_t pids[MAX_PIDS];
	size_t npids;
	bool gone[MAX_PIDS];
	bool have_pidfds;
};

/* A pidfd polls readable once its process has exited (Linux 5.3); without
 * one the processes are looked up at each drain. */
static void watch_init(struct watch *w, int sig_fd, int sampler_fd, const pid_t *pids, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->fds[0] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	w->fds[1] = (struct pollfd){ .fd = sampler_fd, .events = POLLIN };
	w->npids = n;
	w->have_pidfds = true;
	for (size_t i = 0; i < n; i++) {
		w->pids[i] = pids[i];
#ifdef SYS_pidfd_open
		long fd = syscall(SYS_pidfd_open, pids[i], 0);
#else
		long fd = -1;
#endif
		w->fds[2 + i] = (struct pollfd){ .fd = (int)fd, .events = POLLIN };
		if (fd < 0)
			w->have_pidfds = false;
	}
}

static void watch_fini(struct watch *w)
{
	for (size_t i = 0; i < w->npids; i++)
		if (w->fds[2 + i].fd >= 0)
			close(w->fds[2 + i].fd);
}

static bool watch_all_gone(struct watch *w)
{
	bool all = true;

	for (size_t i = 0; i < w->npids; i++) {
		if (!w->gone[i]) {
			if (w->fds[2 + i].fd >= 0)
				w->gone[i] = w->fds[2 + i].revents & (POLLIN | POLLHUP);
			else
				w->gone[i] = process_gone(w->pids[i]);
			/* A pidfd cannot tell a zombie from a runner before the exit. */
			if (!w->gone[i] && !w->have_pidfds)
				w->gone[i] = process_gone(w->pids[i]);
		}
		all &= w->gone[i];
	}
	return all;
}

/* --threadcreate: every ptrace-stop and exit of the traced tasks is
 * reported to cprof; handle them (a traced process that exits must be
 * waited for here before its parent can reap it). */
static void reap_traced(struct cp_sampler *sampler)
{
	int status;
	pid_t tid;

	while ((tid = waitpid(-1, &status, __WALL | WNOHANG)) > 0)
		cp_sampler_trace_handle(sampler, tid, status);
}

/* Why collection stopped. */
enum stop_reason { STOP_DURATION, STOP_SIGNAL, STOP_EXITED };

static int collect(struct cp_sampler *sampler, int sig_fd, const struct attach_opts *opts,
		   uint64_t started, enum stop_reason *why)
{
	struct watch w;
	int r = 0;

	watch_init(&w, sig_fd, cp_sampler_fd(sampler), opts->pids, opts->npids);
	for (;;) {
		int timeout = DRAIN_INTERVAL_MS;

		if (opts->duration_ns) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			uint64_t end = started + (uint64_t)opts->duration_ns;

			if (now >= end) {
				*why = STOP_DURATION;
				break;
			}
			if ((end - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((end - now) / 1000000) + 1;
		}
		if (poll(w.fds, 2 + w.npids, timeout) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (w.fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			bool stop = false;

			while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap_traced(sampler);
				else
					stop = true;
			}
			if (stop) {
				*why = STOP_SIGNAL;
				break;
			}
		}
		r = cp_sampler_read(sampler);
		if (r < 0)
			break;
		if (watch_all_gone(&w)) {
			*why = STOP_EXITED;
			break;
		}
	}
	watch_fini(&w);
	return r;
}

static void describe_pids(const struct attach_opts *opts, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "pid");

	for (size_t i = 0; i < opts->npids && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? "," : " ",
					(int)opts->pids[i]);
}

int cp_cmd_attach(int argc, char **argv)
{
	struct attach_opts opts;
	struct cp_outfile out = { 0 }, tc_out = { 0 };
	struct cp_symbolizer *symz = NULL;
	struct cp_sampler *sampler = NULL;
	struct cp_profile *prof = NULL;
	bool tracing = false;
	sigset_t original;
	int sig_fd = -1, status = 1, r;
	enum stop_reason why = STOP_EXITED;
	char what[64 + 12 * MAX_PIDS];

	r = parse_options(argc, argv, &opts);
	if (r != 0) {
		if (r < 0)
			fputs(attach_usage, stderr);
		return r > 0 ? 0 : 2;
	}
	for (size_t i = 0; i < opts.npids; i++)
		if (cp_check_pid(opts.pids[i]) < 0)
			return 1;

	r = cp_outfile_open(&out, opts.profile.output);
	if (r < 0) {
		cp_error("cannot write '%s': %s", opts.profile.output, strerror(-r));
		return 1;
	}
	if (opts.profile.threadcreate &&
	    (r = cp_outfile_open(&tc_out, opts.profile.threadcreate)) < 0) {
		cp_error("cannot write '%s': %s", opts.profile.threadcreate, strerror(-r));
		cp_outfile_abort(&out);
		return 1;
	}
	/* SIGCHLD only as a tracer: ptrace stops are reported like children. */
	sig_fd = cp_signals_take(opts.profile.threadcreate != NULL, &original);
	if (sig_fd < 0)
		goto out;

	if (cp_session_new(&opts.profile, &symz, &sampler) < 0)
		goto out;

	uint64_t started_real = now_ns(CLOCK_REALTIME), started = now_ns(CLOCK_MONOTONIC);

	r = cp_sampler_open_pids(sampler, opts.pids, opts.npids);
	if (r == -ESRCH) {
		cp_error("%s: the process has exited", cp_sampler_error(sampler));
		goto out;
	}
	if (r < 0) {
		cp_perf_open_error(-r, cp_sampler_error(sampler));
		goto out;
	}
	cp_prefetch_kernel_symbols(sampler, symz);
	if (opts.profile.threadcreate) {
		tracing = true;
		for (size_t i = 0; i < opts.npids && tracing; i++) {
			r = cp_sampler_trace_attach(sampler, opts.pids[i]);
			if (r < 0) {
				cp_ptrace_error(opts.pids[i], -r, cp_sampler_error(sampler));
				cp_error("cannot trace thread creation; writing the CPU profile "
					 "only");
				cp_sampler_trace_detach(sampler);
				cp_outfile_abort(&tc_out);
				tracing = false;
			}
		}
	}

	r = collect(sampler, sig_fd, &opts, started, &why);
	if (tracing && cp_sampler_trace_detach(sampler) < 0)
		cp_error("some threads did not stop to be detached; they are when cprof exits");
	if (r == 0)
		r = cp_sampler_finish(sampler);
	if (r < 0) {
		cp_error("sampling failed: %s", strerror(-r));
		goto out;
	}
	uint64_t ended = now_ns(CLOCK_MONOTONIC);

	if (cp_session_write(&opts.profile, sampler, symz, (int64_t)started_real,
			     (int64_t)(ended - started), tracing, &out, &tc_out, &prof) < 0)
		goto out;
	if (!opts.profile.quiet) {
		describe_pids(&opts, what, sizeof(what));
		struct cp_run_summary run = { what, opts.profile.output,
					      (double)(ended - started) / 1e9 };

		if (why == STOP_EXITED)
			fprintf(stderr, "cprof: the profiled process%s exited\n",
				opts.npids > 1 ? "es" : "");
		cp_summary_print(&run, sampler, symz, prof);
	}
	status = 0;
out:
	cp_profile_free(prof);
	cp_outfile_abort(&out);
	cp_outfile_abort(&tc_out);
	cp_sampler_free(sampler);
	cp_symbolizer_free(symz);
	if (sig_fd >= 0)
		close(sig_fd);
	sigprocmask(SIG_SETMASK, &original, NULL);
	return status;
}
