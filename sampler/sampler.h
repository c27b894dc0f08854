/* SPDX-License-Identifier: MIT */
/*
 * sampler: collects stack samples of a process tree with perf_event_open(2).
 *
 * It launches or follows the target, reads the per-CPU ring buffers, keeps a
 * model of every process seen (mappings, thread names), turns each sample
 * into a stack of PCs against the mappings of that moment, and aggregates
 * identical stacks.  It knows nothing of pprof: cmd/ reads the aggregated
 * stacks and hands them to the encoder.
 *
 * Addresses in a stack are already adjusted for symbolization: the leaf (and
 * the first frame after a kernel/user boundary) is the interrupted PC, every
 * other frame is its return address - 1, so it points into the call.
 *
 * Not thread-safe; everything runs in cmd's event loop.
 */
#ifndef CP_SAMPLER_SAMPLER_H
#define CP_SAMPLER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cp_module;
struct cp_symbolizer;
struct cp_sampler;
struct cp_target;

enum cp_callchain_mode {
	CP_CALLCHAIN_DWARF, /* user stacks unwound online with CFI */
	CP_CALLCHAIN_FP,    /* the kernel's frame-pointer callchain */
};

struct cp_sampler_opts {
	unsigned int freq_hz; /* samples per second of CPU time */
	enum cp_callchain_mode callchain;
	unsigned int stack_size; /* DWARF: bytes of user stack copied per sample */
};

/* The default user stack copy: room for about 300 small frames plus libc's
 * start-up frames (see tests/workloads/w-deep.c). */
#define CP_STACK_SIZE_DEFAULT 32768
/* The kernel's limit: a record's size is 16 bits, and regs and the
 * header share it. */
#define CP_STACK_SIZE_MAX 65000

/* An executable mapping of one process, as it was when samples hit it.
 * Mappings are never freed before the sampler, so stacks can point at them. */
struct cp_map {
	uint64_t start, end, pgoff;
	const char *path;          /* "//anon" for anonymous code, "[vdso]", ... */
	struct cp_module *module;  /* NULL: no file behind it */
	uint64_t bias;             /* runtime address - module address */
	bool has_bias;             /* false: addresses cannot be resolved */
	bool is_kernel;
	bool is_marker;            /* not code: "[truncated]" or "[unknown]" ends a stack */
};

struct cp_frame {
	uint64_t pc;
	const struct cp_map *map; /* NULL: no mapping covered the PC */
};

/* One distinct stack of one thread, with how often it was sampled. */
struct cp_stack {
	pid_t pid, tid;
	const char *thread_name;
	uint64_t count;       /* samples */
	uint64_t period_sum;  /* sum of the samples' periods (ns of CPU time) */
	uint32_t nframes;
	struct cp_frame frames[]; /* leaf first */
};

struct cp_sampler_stats {
	uint64_t samples;         /* samples aggregated */
	uint64_t lost;            /* samples the kernel dropped (full ring) */
	uint64_t throttled;       /* throttle events (rate above the kernel's limit) */
	uint64_t stacks;          /* distinct stacks */
	uint64_t unmapped_pcs;    /* user PCs outside any known mapping */
	uint64_t processes, threads;
	uint64_t malformed;       /* records that could not be decoded */
	uint64_t complete;        /* samples whose stack reached the thread's root */
	uint64_t truncated;       /* ... ran out of stack copy or frames */
	uint64_t unknown;         /* ... met code it could not unwind */
	uint64_t unwind_rules;    /* distinct (module, PC) unwind rules compiled */
	bool kernel_excluded;     /* the kernel refused kernel samples */
	unsigned int ring_pages;  /* data pages per CPU ring */
};

/*
 * cp_sampler_new() - a sampler with no events yet.
 * @symz: the module cache; mappings get their module from it as they are
 *   seen.  Borrowed: it must outlive the sampler.
 * Return: 0 or -ENOMEM / -EINVAL (bad frequency).
 */
int cp_sampler_new(const struct cp_sampler_opts *opts, struct cp_symbolizer *symz,
		   struct cp_sampler **ret);
void cp_sampler_free(struct cp_sampler *s);

/*
 * cp_sampler_open_child() - open one cpu-clock event per online CPU on the
 * corked child @pid, inherited by every thread and process it creates and
 * enabled when it execs.  Kernel samples are requested and, if the kernel
 * refuses them (perf_event_paranoid), dropped: see stats.kernel_excluded.
 * Return: 0, or the -errno of perf_event_open/mmap (-EACCES, -EPERM, -ENOENT,
 * -ENOMEM ...).  cp_sampler_error() then says which call failed.
 */
int cp_sampler_open_child(struct cp_sampler *s, pid_t pid);

/* After a failure: a short description of the failed step, e.g.
 * "perf_event_open(cpu-clock, cpu 0)".  Borrowed, valid until the next call. */
const char *cp_sampler_error(const struct cp_sampler *s);

/* A descriptor that polls readable when the rings have data to read. */
int cp_sampler_fd(const struct cp_sampler *s);

/*
 * cp_sampler_read() - drain every ring and process the records that are
 * safe to order.  Call it when cp_sampler_fd() is readable and periodically.
 * Return: 0 or -ENOMEM.
 */
int cp_sampler_read(struct cp_sampler *s);

/*
 * cp_sampler_finish() - disable the events, drain the rings and process
 * every record still queued.  Return: 0 or -ENOMEM.
 */
int cp_sampler_finish(struct cp_sampler *s);

/* Visit every aggregated stack; stop early when @fn returns non-zero and
 * return that value. */
typedef int (*cp_stack_fn)(const struct cp_stack *stack, void *arg);
int cp_sampler_for_each_stack(const struct cp_sampler *s, cp_stack_fn fn, void *arg);

/* The mapping of the first program the child exec'd, for mapping[0];
 * NULL if none was seen. */
const struct cp_map *cp_sampler_main_map(const struct cp_sampler *s);

void cp_sampler_get_stats(const struct cp_sampler *s, struct cp_sampler_stats *ret);

/*
 * Launching a command.  cp_target_spawn() forks a child that waits on a
 * pipe; the caller opens events on it, then cp_target_exec() lets it exec.
 * The child restores the signal mask and default dispositions cprof had at
 * @sigmask before it execs.
 */

/*
 * cp_target_spawn() - fork the corked child for @argv.
 * @child_sigmask: the signal mask the command should start with.
 * Return: 0 or -errno of pipe2/fork.
 */
int cp_target_spawn(char *const argv[], const void *child_sigmask, struct cp_target **ret);

pid_t cp_target_pid(const struct cp_target *t);

/*
 * cp_target_exec() - uncork the child and wait until it has exec'd.
 * Return: 0, or the -errno with which execvp failed (-ENOENT, -EACCES ...);
 * the child has then exited with 127.
 */
int cp_target_exec(struct cp_target *t);

/* Release @t; if the child was never uncorked it is killed and reaped. */
void cp_target_free(struct cp_target *t);

#endif
