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
	/* Data pages per CPU ring, a power of two; 0: enough for a quarter of a
	 * second of samples.  Fewer if the kernel refuses to lock that much. */
	unsigned int ring_pages;
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
	const char *path;	  /* "//anon" for anonymous code, "[vdso]", ... */
	struct cp_module *module; /* NULL: no file behind it */
	uint64_t bias;		  /* runtime address - module address */
	bool has_bias;		  /* false: addresses cannot be resolved */
	bool is_kernel;
	bool is_marker; /* not code: "[truncated]" or "[unknown]" ends a stack */
};

struct cp_frame {
	uint64_t pc;
	const struct cp_map *map; /* NULL: no mapping covered the PC */
};

/* One distinct stack of one thread, with how often it was sampled. */
struct cp_stack {
	pid_t pid, tid;
	const char *thread_name;
	uint64_t count;	     /* samples */
	uint64_t period_sum; /* sum of the samples' periods (ns of CPU time) */
	uint32_t nframes;
	struct cp_frame frames[]; /* leaf first */
};

struct cp_sampler_stats {
	uint64_t samples;      /* samples aggregated */
	uint64_t lost;	       /* samples the kernel dropped (full ring) */
	uint64_t throttled;    /* throttle events (rate above the kernel's limit) */
	uint64_t stacks;       /* distinct stacks */
	uint64_t unmapped_pcs; /* user PCs outside any known mapping */
	uint64_t processes, threads;
	uint64_t malformed;	 /* records that could not be decoded */
	uint64_t complete;	 /* samples whose stack reached the thread's root */
	uint64_t truncated;	 /* ... ran out of stack copy or frames */
	uint64_t unknown;	 /* ... met code it could not unwind */
	uint64_t unwind_rules;	 /* distinct (module, PC) unwind rules compiled */
	uint64_t created;	 /* clone, fork and vfork events counted */
	bool kernel_excluded;	 /* the kernel refused kernel samples */
	unsigned int ring_pages; /* data pages per CPU ring */
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

/*
 * cp_sampler_open_pids() - attach to the running processes @pids: for every
 * thread of each (from /proc/PID/task, listed again until no new thread
 * appears) and every online CPU one cpu-clock event, inherited by the
 * threads and processes it creates later and enabled at once.  The events
 * of one CPU share one ring.  The process model starts from /proc/PID/maps
 * and the threads' comm; later changes come from the event stream.
 * Return: 0, or the -errno of the failed step (-ESRCH: a process is gone;
 * -EACCES/-EPERM from perf_event_open ...); cp_sampler_error() names it.
 */
int cp_sampler_open_pids(struct cp_sampler *s, const pid_t *pids, size_t npids);

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
 * Stacks of stopped threads, through ptrace(2): the registers from
 * PTRACE_GETREGS, the stack read with process_vm_readv(2) from the stack
 * pointer up (at most 64 KiB, less where the mapping ends), unwound with
 * the same DWARF unwinder as samples, against the process model.
 */

/* One thread of a snapshot (cp_sampler_snapshot). */
struct cp_thread_snapshot {
	pid_t pid, tid;
	const char *name; /* borrowed from the sampler */
	char state;	  /* /proc state before it was stopped: R, S, D, T, t ... */
	char wchan[40];	  /* where in the kernel it was waiting, or "" */
	bool stopped;	  /* false: it could not be stopped; no frames */
	int signal;	  /* a signal it was about to take when it stopped, or 0 */
	uint32_t nframes;
	struct cp_frame *frames; /* leaf first; ends in a marker frame if unfinished */
};

/*
 * cp_sampler_snapshot() - stop every thread of @pid (PTRACE_SEIZE and
 * PTRACE_INTERRUPT, listing /proc/PID/task again until no new thread
 * appears), unwind each, and let them all go (PTRACE_DETACH, handing back
 * any signal that arrived meanwhile).  Every error path detaches.  The
 * threads are then visited with cp_sampler_snapshots().
 * Return: 0, or -ESRCH (no such process), -EPERM (ptrace refused),
 * -ENOMEM; cp_sampler_error() names the failed step.
 */
int cp_sampler_snapshot(struct cp_sampler *s, pid_t pid);

/* The threads of the last snapshot, in tid order.  Borrowed, valid until
 * cp_sampler_free(). */
const struct cp_thread_snapshot *cp_sampler_snapshots(const struct cp_sampler *s, size_t *ret_n);

/*
 * Tracing thread and process creation (the threadcreate profile).  The
 * caller owns the waitpid(__WALL) loop and hands every stop of a traced
 * task to cp_sampler_trace_handle(), which restarts it so that the tracing
 * stays invisible: signals are passed on at their delivery stop, group-stops
 * are kept with PTRACE_LISTEN, and clone, fork and vfork events count the
 * creating thread's stack.  New tasks are traced automatically.
 */

/*
 * cp_sampler_trace_seize() - trace @tid with PTRACE_SEIZE and the options
 * TRACECLONE, TRACEFORK, TRACEVFORK and TRACEEXEC.  Use it on the corked
 * child before it execs.  Return: 0 or the -errno of ptrace.
 */
int cp_sampler_trace_seize(struct cp_sampler *s, pid_t tid);

/*
 * cp_sampler_trace_attach() - trace every thread of the running process
 * @pid (listing /proc/PID/task until no new thread appears).  On failure
 * every thread seized is detached again.  Return: 0 or -errno (-EPERM:
 * not permitted or another tracer; cp_sampler_error() names the step).
 */
int cp_sampler_trace_attach(struct cp_sampler *s, pid_t pid);

/*
 * cp_sampler_trace_handle() - act on the status waitpid reported for @tid.
 * Return: 1 if it was a ptrace-stop, now handled (the task runs again or
 * stays in its group-stop); 0 if it is not a stop (an exit: the caller's
 * business); -ENOMEM.
 */
int cp_sampler_trace_handle(struct cp_sampler *s, pid_t tid, int status);

/*
 * cp_sampler_trace_detach() - stop tracing every task (for attach): each
 * is interrupted and detached, with the signal it was about to take; a
 * task in a group-stop stays stopped.  Creation events met meanwhile are
 * still counted.  Return: 0, or -ETIMEDOUT if some task never stopped (the
 * kernel detaches it when cprof exits).
 */
int cp_sampler_trace_detach(struct cp_sampler *s);

/* Visit the stacks counted at clone, fork and vfork events: pid, tid and
 * thread name are 0/NULL, count is the number of creations. */
int cp_sampler_for_each_created(const struct cp_sampler *s, cp_stack_fn fn, void *arg);

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
