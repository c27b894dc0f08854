/* SPDX-License-Identifier: MIT */
/*
 * Private to sampler/: the process model, the ordering queue, the stack
 * table and the sampler object that ties them together.
 */
#ifndef CP_SAMPLER_INTERNAL_H
#define CP_SAMPLER_INTERNAL_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/htab.h"
#include "lib/strpool.h"
#include "sampler/ring.h"
#include "sampler/sampler.h"

/* --- process model (proc.c) ------------------------------------------------ */

struct cp_thread {
	pid_t tid;
	const char *name; /* interned in the model's pool */
};

struct cp_proc {
	pid_t pid;
	struct cp_map **maps; /* sorted by start, non-overlapping */
	size_t nmaps, maps_cap;
	struct cp_htab threads; /* items: struct cp_thread */
	const char *name;	/* process name, for threads not seen yet */
	bool procfs_tried;	/* /proc/PID/maps was read to fill gaps */
	bool leader_exited;	/* the main thread is gone; others may run on */
};

struct cp_procs {
	struct cp_htab procs; /* items: struct cp_proc */
	struct cp_strpool names;
	struct cp_map **all_maps; /* every map ever made: owned here */
	size_t nall_maps, all_maps_cap;
	struct cp_symbolizer *symz;
	struct cp_map *kernel_map; /* made on first use */
	uint64_t nthreads;
};

void cp_procs_init(struct cp_procs *procs, struct cp_symbolizer *symz);
void cp_procs_fini(struct cp_procs *procs);

/* The process @pid, created empty if unknown.  Return: it, or NULL (ENOMEM). */
struct cp_proc *cp_procs_get(struct cp_procs *procs, pid_t pid);
struct cp_proc *cp_procs_find(const struct cp_procs *procs, pid_t pid);

/* A new process @pid forked from @ppid: a copy of its mappings and name. */
int cp_procs_fork(struct cp_procs *procs, pid_t ppid, pid_t pid, pid_t parent_tid);
/* A new thread @tid of @pid, named like its creator @ptid. */
int cp_procs_new_thread(struct cp_procs *procs, pid_t pid, pid_t tid, pid_t ptid);
/* Thread @tid of @pid exited: forget it, and the process once its main
 * thread and every other thread it had are gone. */
void cp_procs_exit(struct cp_procs *procs, pid_t pid, pid_t tid);
/* @pid exec'd: its address space is new. */
void cp_procs_exec(struct cp_procs *procs, pid_t pid);
int cp_procs_set_name(struct cp_procs *procs, pid_t pid, pid_t tid, const char *name);
const char *cp_procs_thread_name(struct cp_procs *procs, pid_t pid, pid_t tid);

/*
 * cp_procs_add_map() - @pid mapped @path at [start, start + len) from file
 * offset @pgoff; older mappings in that range are cut away.
 * Return: the new map (owned by @procs), or NULL on ENOMEM.
 */
struct cp_map *cp_procs_add_map(struct cp_procs *procs, pid_t pid, uint64_t start, uint64_t len,
				uint64_t pgoff, const char *path, const uint8_t *build_id,
				size_t build_id_len);

/* The mapping of @proc that covers @addr, reading /proc/PID/maps once to
 * fill gaps the event stream left (mappings made before events started). */
const struct cp_map *cp_procs_lookup(struct cp_procs *procs, struct cp_proc *proc, uint64_t addr);

/* The single kernel mapping; NULL on ENOMEM. */
const struct cp_map *cp_procs_kernel_map(struct cp_procs *procs);

/* --- ordering queue (order.c) ---------------------------------------------- */

/*
 * Records from different CPU rings interleave in time: a sample on CPU 1 may
 * follow an mmap on CPU 0 that is read later.  Records are queued and handed
 * out in timestamp order once no ring can still produce an earlier one.
 */
struct cp_order {
	struct order_rec **recs;
	size_t len, cap;
	uint64_t seq;
};

typedef int (*cp_order_fn)(const struct perf_event_header *hdr, void *arg);

void cp_order_init(struct cp_order *q);
void cp_order_fini(struct cp_order *q);
/* Queue a copy of @hdr stamped @time.  Return: 0 or -ENOMEM. */
int cp_order_push(struct cp_order *q, uint64_t time, const struct perf_event_header *hdr);
/* Hand out, in time order, every queued record stamped at or before
 * @cutoff.  Return: 0 or the first negative value @fn returned. */
int cp_order_flush(struct cp_order *q, uint64_t cutoff, cp_order_fn fn, void *arg);

/* --- stack table (stacks.c) -------------------------------------------------- */

struct cp_stacks {
	struct cp_htab table; /* items: struct cp_stack */
};

void cp_stacks_init(struct cp_stacks *stacks);
void cp_stacks_fini(struct cp_stacks *stacks);
/* Count one sample of @period ns for the stack.  Return: 0 or -ENOMEM. */
int cp_stacks_add(struct cp_stacks *stacks, pid_t pid, pid_t tid, const char *thread_name,
		  const struct cp_frame *frames, uint32_t nframes, uint64_t period);
/* Visit every stack; stop when @fn returns non-zero and return that. */
int cp_stacks_for_each(const struct cp_stacks *stacks, cp_stack_fn fn, void *arg);

/* --- a set of tids (attach.c) ------------------------------------------------- */

struct cp_tidset {
	pid_t *tids;
	size_t len, cap;
};

bool cp_tidset_has(const struct cp_tidset *set, pid_t tid);
int cp_tidset_add(struct cp_tidset *set, pid_t tid);
void cp_tidset_fini(struct cp_tidset *set);
/* The threads of @pid now, added to @set.
 * Return: the number of tids added, or -errno (-ESRCH: no such process). */
int cp_list_tasks(pid_t pid, struct cp_tidset *set);
/* attach.c: the mapping of /proc/PID/exe in the model, or NULL. */
const struct cp_map *cp_sampler_exe_map(struct cp_sampler *s, pid_t pid);

/* --- the sampler (sampler.c, events.c) ---------------------------------------- */

struct cp_event {
	int fd;
	int cpu;
	void *base; /* mmap'ed header page + data, or NULL when sharing */
	size_t map_len;
	struct cp_ring ring;
	bool hung_up;
};

struct cp_sampler {
	struct cp_sampler_opts opts;
	struct cp_symbolizer *symz;
	struct cp_event *events;
	size_t nevents;
	int epoll_fd;
	uint64_t sample_type;
	struct cp_procs procs;
	struct cp_order order;
	struct cp_stacks stacks;
	struct cp_sampler_stats stats;
	pid_t root_pid;
	const struct cp_map *main_map;
	struct cp_frame *frame_buf; /* scratch for one stack */
	struct cp_unwind_cache *unwind_cache;
	unsigned char *trim_buf; /* a sample with its stack copy trimmed */
	char error[128];
	/* Attaching (attach.c): the events are enabled at once, not at exec;
	 * further threads' events share the per-CPU rings of events[]. */
	bool attaching;
	bool listing_tasks;	     /* cp_sampler_open_pids() is listing threads */
	struct perf_event_attr attr; /* as the rings' events were opened */
	int *task_fds;		     /* the other threads' events */
	size_t ntask_fds, task_fds_cap;
	struct cp_tidset inherited; /* tids a FORK record reported while listing */
	/* Stacks of ptrace-stopped threads (ptrace.c). */
	struct cp_stacks created; /* threadcreate: one count per clone/fork/vfork */
	uint64_t created_count;
	struct cp_thread_snapshot *snaps;
	size_t nsnaps, snaps_cap;
	unsigned char *ptrace_stack; /* the window process_vm_readv fills */
	struct cp_tidset traced;     /* tasks traced for threadcreate */
	/* The process model of ptrace unwinding: filled from /proc while the
	 * thread is stopped, so it is exact, and apart from the sampled
	 * model, which follows the event stream's (later) time. */
	struct cp_procs tprocs;
	bool tprocs_ready;
};

#define CP_MAX_FRAMES 512

/* Frames that end a stack the unwinder could not finish (sampler.c). */
extern const struct cp_map cp_marker_truncated, cp_marker_unknown;

/* events.c: open the per-CPU events for @pid and map their rings. */
int cp_events_open(struct cp_sampler *s, pid_t pid);
void cp_events_close(struct cp_sampler *s);
/* events.c: one more event per CPU for thread @tid, writing into the rings
 * cp_events_open() made.  Return: 0 or -errno (-ESRCH: @tid is gone). */
int cp_events_add_task(struct cp_sampler *s, pid_t tid);

/* sampler.c: move every ring's records into the ordering queue. */
int cp_sampler_drain(struct cp_sampler *s);

/* proc.c: mappings from /proc/PID/maps and thread names from
 * /proc/PID/task/TID/comm, for a process that was running before the events
 * were opened.  Return: 0 or -ENOMEM. */
int cp_procs_seed(struct cp_procs *procs, pid_t pid);
/* proc.c: the thread names part of cp_procs_seed().  Return: 0 or -ENOMEM. */
int cp_procs_seed_names(struct cp_procs *procs, pid_t pid);
/* proc.c: let the next lookup miss re-read /proc/PID/maps (the process is
 * stopped, so /proc is exact, while the event stream may lag behind). */
void cp_procs_allow_refill(struct cp_proc *proc);

#endif
