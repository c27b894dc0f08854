/* SPDX-License-Identifier: MIT */
/*
 * What record and attach share: their options, parsed in one place so that
 * both accept exactly the same spellings and values, and the steps of a
 * session around the sampler; and the getopt errors every subcommand prints.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/log.h"
#include "lib/outfile.h"
#include "sampler/sampler.h"
#include "symbolize/symbolize.h"

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

static int parse_freq(const char *arg, unsigned int *ret)
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
			 "(kernel.perf_event_max_sample_rate)",
			 value, limit);
		return -EINVAL;
	}
	*ret = (unsigned int)value;
	return 0;
}

static int parse_stack_size(const char *arg, unsigned int *ret)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || value < 64 ||
	    value > CP_STACK_SIZE_MAX) {
		cp_error("invalid stack size '%s': expected 64 to %d bytes", arg,
			 CP_STACK_SIZE_MAX);
		return -EINVAL;
	}
	/* The kernel wants a multiple of 8. */
	*ret = (unsigned int)(value & ~7UL);
	return 0;
}

/* -m: a number of pages, or a size with a K, M or G suffix; a power of two
 * either way, as the kernel wants. */
static int parse_ring_pages(const char *arg, unsigned int *ret)
{
	unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
	unsigned long long value;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	value = strtoull(arg, &end, 10);
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	}
	if (shift)
		end++;
	if (errno || end == arg || *end || arg[0] == '-' || value == 0 || value > (1ULL << 32))
		goto invalid;
	if (shift) {
		value <<= shift;
		if (value % page)
			goto invalid;
		value /= page;
	}
	if (value & (value - 1) || value > (1U << 20))
		goto invalid;
	*ret = (unsigned int)value;
	return 0;
invalid:
	cp_error("invalid ring size '%s': expected a power of two of pages (such as 256) or "
		 "of bytes (such as 1M), at least %luK",
		 arg, page >> 10);
	return -EINVAL;
}

/* --labels: a comma-separated list of pid and tid. */
static int parse_labels(const char *arg, struct cp_profile_opts *opts)
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

void cp_profile_opts_init(struct cp_profile_opts *opts)
{
	*opts = (struct cp_profile_opts){
		.output = "cpu.prof",
		.freq_hz = 100,
		.callchain = CP_CALLCHAIN_DWARF,
		.stack_size = CP_STACK_SIZE_DEFAULT,
	};
}

int cp_profile_opts_parse(struct cp_profile_opts *opts, int c, const char *arg)
{
	switch (c) {
	case 'o':
		opts->output = arg;
		break;
	case 'F':
		return parse_freq(arg, &opts->freq_hz) < 0 ? -EINVAL : 1;
	case 'g':
		if (strcmp(arg, "dwarf") == 0) {
			opts->callchain = CP_CALLCHAIN_DWARF;
		} else if (strcmp(arg, "fp") == 0) {
			opts->callchain = CP_CALLCHAIN_FP;
		} else {
			cp_error("invalid call graph mode '%s': expected dwarf or fp", arg);
			return -EINVAL;
		}
		break;
	case CP_OPT_STACK_SIZE:
		return parse_stack_size(arg, &opts->stack_size) < 0 ? -EINVAL : 1;
	case 'm':
		return parse_ring_pages(arg, &opts->ring_pages) < 0 ? -EINVAL : 1;
	case CP_OPT_DEBUG:
		if (strcmp(arg, "0") != 0 && strcmp(arg, "1") != 0) {
			cp_error("invalid debug level '%s': expected 0 or 1", arg);
			return -EINVAL;
		}
		opts->text = arg[0] == '1';
		break;
	case CP_OPT_LABELS:
		return parse_labels(arg, opts) < 0 ? -EINVAL : 1;
	case CP_OPT_THREADCREATE:
		opts->threadcreate = arg;
		break;
	case CP_OPT_DEBUG_DIR:
		if (opts->ndebug_dirs == CP_MAX_DEBUG_DIRS) {
			cp_error("too many --debug-dir options: at most %d", CP_MAX_DEBUG_DIRS);
			return -EINVAL;
		}
		opts->debug_dirs[opts->ndebug_dirs++] = arg;
		break;
	case CP_OPT_DEBUGINFOD:
		opts->debuginfod = true;
		break;
	case 'q':
		opts->quiet = true;
		break;
	case 'v':
		cp_log_set_debug(true);
		break;
	default:
		return 0;
	}
	return 1;
}

int cp_profile_opts_check(const struct cp_profile_opts *opts)
{
	if (!*opts->output || (opts->threadcreate && !*opts->threadcreate)) {
		cp_error("an output file name is empty");
		return -EINVAL;
	}
	return 0;
}

void cp_profile_opts_sampler(const struct cp_profile_opts *opts, struct cp_sampler_opts *ret)
{
	*ret = (struct cp_sampler_opts){
		.freq_hz = opts->freq_hz,
		.callchain = opts->callchain,
		.stack_size = opts->stack_size,
		.ring_pages = opts->ring_pages,
	};
}

void cp_profile_opts_symbolizer(const struct cp_profile_opts *opts, struct cp_symbolizer_opts *ret)
{
	/* DEBUGINFOD_URLS in the environment is a request for debuginfod too. */
	const char *urls = getenv("DEBUGINFOD_URLS");

	*ret = (struct cp_symbolizer_opts){
		.debug_dirs = opts->debug_dirs,
		.debug_path = getenv("CPROF_DEBUG_DIRS"),
		.debuginfod = opts->debuginfod || (urls && *urls),
	};
}

int cp_option_error(int c, char *const argv[])
{
	if (c == ':')
		cp_error("option '%s' needs an argument", argv[optind - 1]);
	else
		cp_error("unknown option '%s'", argv[optind - 1]);
	return -EINVAL;
}

int cp_options_end_pid(int argc, char *const argv[], bool have_pid)
{
	if (optind < argc) {
		cp_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!have_pid) {
		cp_error("no process given: use -p PID");
		return -EINVAL;
	}
	return 0;
}

int cp_commit_profile(struct cp_profile *prof, struct cp_outfile *out, bool text)
{
	int r = text ? cp_profile_write_text(prof, out->stream)
		     : cp_profile_write_pprof(prof, out->stream);

	if (r < 0) {
		cp_error("cannot write '%s': %s", out->path, strerror(-r));
		cp_outfile_abort(out);
		return r;
	}
	/* commit releases @out, path included: report with our own copy. */
	char *path = strdup(out->path);

	r = cp_outfile_commit(out);
	if (r < 0)
		cp_error("cannot write '%s': %s", path ? path : "the profile", strerror(-r));
	free(path);
	return r;
}

void cp_prefetch_kernel_symbols(const struct cp_sampler *sampler, struct cp_symbolizer *symz)
{
	struct cp_sampler_stats stats;

	/* Read while the target runs: reading kallsyms takes ~0.1 s, which
	 * would otherwise come after it exits, before the profile. */
	cp_sampler_get_stats(sampler, &stats);
	if (!stats.kernel_excluded)
		cp_symbolizer_prefetch_kernel(symz);
}

int cp_session_new(const struct cp_profile_opts *opts, struct cp_symbolizer **ret_symz,
		   struct cp_sampler **ret_sampler)
{
	struct cp_symbolizer_opts symz_opts;
	struct cp_sampler_opts sampler_opts;
	int r;

	cp_profile_opts_symbolizer(opts, &symz_opts);
	cp_profile_opts_sampler(opts, &sampler_opts);
	r = cp_symbolizer_new(&symz_opts, ret_symz);
	if (r == 0)
		r = cp_sampler_new(&sampler_opts, *ret_symz, ret_sampler);
	if (r < 0)
		cp_error("cannot start: %s", strerror(-r));
	return r;
}

int cp_session_write(const struct cp_profile_opts *opts, const struct cp_sampler *sampler,
		     struct cp_symbolizer *symz, int64_t time_nanos, int64_t duration_nanos,
		     bool tracing, struct cp_outfile *out, struct cp_outfile *tc_out,
		     struct cp_profile **ret_prof)
{
	struct cp_cpu_profile_params params = {
		.period_ns = 1000000000LL / opts->freq_hz,
		.time_nanos = time_nanos,
		.duration_nanos = duration_nanos,
		.label_pid = opts->label_pid,
		.label_tid = opts->label_tid,
	};
	int r = cp_cpu_profile_build(sampler, symz, &params, ret_prof);

	if (r < 0) {
		cp_error("cannot build the profile: %s", strerror(-r));
		return r;
	}
	r = cp_commit_profile(*ret_prof, out, opts->text);
	if (r == 0 && tracing)
		r = cp_threadcreate_commit(sampler, symz, time_nanos, tc_out, opts->text);
	return r;
}

int cp_signals_take(bool with_sigchld, sigset_t *ret_original)
{
	sigset_t handled;
	int fd;

	sigemptyset(&handled);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	if (with_sigchld)
		sigaddset(&handled, SIGCHLD);
	sigprocmask(SIG_BLOCK, &handled, ret_original);
	fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		fd = -errno;
		cp_error("cannot create a signalfd: %s", strerror(-fd));
	}
	return fd;
}
