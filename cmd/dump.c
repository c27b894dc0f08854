/* SPDX-License-Identifier: MIT */
/*
 * cprof dump: the stack of every thread of a running process, now; the
 * native analog of Go's goroutine profile.
 *
 * The sampler stops the threads (PTRACE_SEIZE + PTRACE_INTERRUPT), unwinds
 * each and lets them go before anything is symbolized or printed, so the
 * process is stopped only for the unwinding.  Output:
 *  - debug=2 (the default): one block per thread, as Go's panic-style
 *    goroutine dump:
 *        thread 4242 "worker" [sleeping, futex_wait_queue]:
 *        cp_w_idle(...)
 *        	/src/w.c:41 +0x1c
 *  - debug=1: Go's count format, "threads profile: total N", which pprof
 *    reads;
 *  - debug=0: a pprof protobuf of sample type threads/count with the thread
 *    name as a label.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/log.h"
#include "lib/outfile.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

static const char dump_usage[] =
	"usage: cprof dump -p PID [options]\n"
	"\n"
	"Stop every thread of a running process for a moment, take its stack, let\n"
	"it go on, and print the stacks.\n"
	"\n"
	"options:\n"
	"  -p, --pid=PID      the process\n"
	"      --debug=N      2 (default): one block per thread with its id, state,\n"
	"                     name and frames; 1: Go's text threads profile, which\n"
	"                     pprof reads; 0: a pprof protobuf (the default with -o)\n"
	"  -o, --output=FILE  write to FILE instead of standard output\n"
	"  -v, --verbose      print debug messages\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

struct dump_opts {
	pid_t pid;
	int debug; /* -1: not given */
	const char *output;
};

static int parse_options(int argc, char **argv, struct dump_opts *opts)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "debug", required_argument, NULL, 'D' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct dump_opts){ .debug = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cp_parse_pid(optarg, &opts->pid) < 0)
				return -EINVAL;
			break;
		case 'D':
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0 &&
			    strcmp(optarg, "2") != 0) {
				cp_error("invalid debug level '%s': expected 0, 1 or 2", optarg);
				return -EINVAL;
			}
			opts->debug = optarg[0] - '0';
			break;
		case 'o':
			opts->output = optarg;
			break;
		case 'v':
			cp_log_set_debug(true);
			break;
		case 'h':
			fputs(dump_usage, stdout);
			return 1;
		default:
			return cp_option_error(c, argv);
		}
	}
	if (cp_options_end_pid(argc, argv, opts->pid != 0) < 0)
		return -EINVAL;
	if (opts->output && !*opts->output) {
		cp_error("the output file name is empty");
		return -EINVAL;
	}
	if (opts->debug < 0)
		opts->debug = opts->output ? 0 : 2;
	return 0;
}

/* --- debug=2 ------------------------------------------------------------------------ */

static const char *state_word(char state)
{
	switch (state) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "uninterruptible";
	case 'T':
		return "stopped";
	case 't':
		return "traced";
	case 'Z':
		return "zombie";
	case 'X':
		return "dead";
	case 'I':
		return "idle";
	case 'P':
		return "parked";
	default:
		return "unknown";
	}
}

static void print_frame(FILE *out, struct cp_symbolizer *symz, const struct cp_frame *frame,
			bool leaf)
{
	const struct cp_map *map = frame->map;
	const struct cp_symbol *sym = NULL;

	if (map && map->is_marker) {
		fprintf(out, "%s\n\t(the unwinder stopped here: %s)\n", map->path,
			strcmp(map->path, "[truncated]") == 0 ? "the stack is deeper than it read"
							      : "no unwind information");
		return;
	}
	if (map && map->module && map->has_bias &&
	    cp_symbolizer_lookup(symz, map->module, frame->pc - map->bias, &sym) < 0)
		sym = NULL;
	if (!sym || !sym->nframes) {
		fprintf(out, "0x%" PRIx64 "(...)\n\t", frame->pc);
		if (map)
			fprintf(out, "%s+0x%" PRIx64 "\n", map->path,
				frame->pc - map->start + map->pgoff);
		else
			fputs("?\n", out);
		return;
	}
	/* Callers print the offset of their return address, as Go does. */
	uint64_t off = frame->pc - map->bias - sym->function_start + (leaf ? 0 : 1);

	for (size_t i = 0; i < sym->nframes; i++) {
		const struct cp_symbol_frame *f = &sym->frames[i];
		bool outer = i + 1 == sym->nframes;

		fprintf(out, "%s(...)\n\t", f->function ? f->function : "?");
		if (f->file)
			fprintf(out, "%s:%d", f->file, f->line);
		else
			fputs(cp_module_path(map->module), out);
		if (outer)
			fprintf(out, " +0x%" PRIx64, off);
		fputc('\n', out);
	}
}

static int write_debug2(FILE *out, struct cp_symbolizer *symz,
			const struct cp_thread_snapshot *snaps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct cp_thread_snapshot *t = &snaps[i];

		if (i)
			fputc('\n', out);
		fprintf(out, "thread %d \"%s\" [%s", (int)t->tid, t->name ? t->name : "",
			state_word(t->state));
		if (t->wchan[0])
			fprintf(out, ", %s", t->wchan);
		if (t->signal)
			fprintf(out, ", signal %s pending",
				sigabbrev_np(t->signal) ? sigabbrev_np(t->signal) : "?");
		if (!t->stopped)
			fputs(", could not be stopped", out);
		fputs("]:\n", out);
		for (uint32_t f = 0; f < t->nframes; f++)
			print_frame(out, symz, &t->frames[f], f == 0);
	}
	return ferror(out) ? -EIO : 0;
}

/* --- debug=0 and 1: a threads profile ---------------------------------------------- */

struct snaps_src {
	const struct cp_thread_snapshot *snaps;
	size_t n;
};

static int visit_snaps(const void *src, int (*fn)(const struct cp_stack *, void *), void *arg)
{
	const struct snaps_src *ss = src;

	for (size_t i = 0; i < ss->n; i++) {
		const struct cp_thread_snapshot *t = &ss->snaps[i];

		if (!t->nframes)
			continue;

		struct cp_stack *stack = malloc(sizeof(*stack) + t->nframes * sizeof(*t->frames));

		if (!stack)
			return -ENOMEM;
		*stack = (struct cp_stack){ .pid = t->pid,
					    .tid = t->tid,
					    .thread_name = t->name,
					    .count = 1,
					    .nframes = t->nframes };
		memcpy(stack->frames, t->frames, t->nframes * sizeof(*t->frames));

		int r = fn(stack, arg);

		free(stack);
		if (r)
			return r;
	}
	return 0;
}

static int build_threads_profile(const struct cp_sampler *sampler, struct cp_symbolizer *symz,
				 const struct snaps_src *src, int64_t time_nanos,
				 struct cp_profile **ret)
{
	static const struct cp_value_type sample_type = { "threads", "count" };
	struct cp_profile_desc desc = {
		.sample_types = &sample_type,
		.nsample_types = 1,
		.period_type = { "threads", "count" },
		.period = 1,
		.time_nanos = time_nanos,
	};

	return cp_stacks_profile_build(&desc, cp_sampler_main_map(sampler), symz, visit_snaps, src,
				       ret);
}

int cp_cmd_dump(int argc, char **argv)
{
	struct dump_opts opts;
	struct cp_outfile out = { 0 };
	struct cp_symbolizer *symz = NULL;
	struct cp_sampler *sampler = NULL;
	struct cp_profile *prof = NULL;
	struct timespec when;
	int status = 1, r;

	r = parse_options(argc, argv, &opts);
	if (r != 0) {
		if (r < 0)
			fputs(dump_usage, stderr);
		return r > 0 ? 0 : 2;
	}
	if (cp_check_pid(opts.pid) < 0)
		return 1;
	if (opts.output) {
		r = cp_outfile_open(&out, opts.output);
		if (r < 0) {
			cp_error("cannot write '%s': %s", opts.output, strerror(-r));
			return 1;
		}
	}

	/* No sampling: the defaults only choose DWARF unwinding. */
	struct cp_profile_opts defaults;

	cp_profile_opts_init(&defaults);
	if (cp_session_new(&defaults, &symz, &sampler) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &when);
	r = cp_sampler_snapshot(sampler, opts.pid);
	if (r == -EPERM || r == -EACCES || r == -ESRCH) {
		cp_ptrace_error(opts.pid, -r, cp_sampler_error(sampler));
		goto out;
	}
	if (r < 0) {
		cp_error("cannot take the stacks of process %d: %s", (int)opts.pid, strerror(-r));
		goto out;
	}

	size_t n;
	const struct cp_thread_snapshot *snaps = cp_sampler_snapshots(sampler, &n);
	FILE *stream = opts.output ? out.stream : stdout;

	if (opts.debug == 2) {
		r = write_debug2(stream, symz, snaps, n);
		if (r < 0) {
			cp_error("cannot write '%s': %s",
				 opts.output ? opts.output : "standard output", strerror(-r));
			goto out;
		}
		if (opts.output && (r = cp_outfile_commit(&out)) < 0) {
			cp_error("cannot write '%s': %s", opts.output, strerror(-r));
			goto out;
		}
		status = 0;
		goto out;
	}

	struct snaps_src src = { snaps, n };

	r = build_threads_profile(sampler, symz, &src,
				  (int64_t)when.tv_sec * 1000000000LL + when.tv_nsec, &prof);
	if (r < 0) {
		cp_error("cannot build the profile: %s", strerror(-r));
		goto out;
	}
	if (opts.output) {
		if (cp_commit_profile(prof, &out, opts.debug == 1) < 0)
			goto out;
	} else {
		r = opts.debug == 1 ? cp_profile_write_text(prof, stdout)
				    : cp_profile_write_pprof(prof, stdout);
		if (r == 0 && fflush(stdout) != 0)
			r = -errno;
		if (r < 0) {
			cp_error("cannot write standard output: %s", strerror(-r));
			goto out;
		}
	}
	status = 0;
out:
	cp_profile_free(prof);
	cp_outfile_abort(&out);
	cp_sampler_free(sampler);
	cp_symbolizer_free(symz);
	return status;
}
