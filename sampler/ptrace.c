/* SPDX-License-Identifier: MIT */
/*
 * Stacks of threads stopped with ptrace(2): registers from PTRACE_GETREGS,
 * the top of the stack from process_vm_readv(2), unwound with the DWARF
 * unwinder against the process model.
 *
 * Stopping uses PTRACE_SEIZE + PTRACE_INTERRUPT, never PTRACE_ATTACH: a
 * seized thread gets no SIGSTOP, so a thread that was already stopped stays
 * stopped and no signal is made up.  A signal that arrives before the
 * interrupt is reported as a signal-delivery-stop; it is handed back with
 * PTRACE_DETACH, so it is delivered exactly once.  Signals that arrive
 * while the thread is stopped stay pending and are delivered after the
 * detach.  If cprof dies, the kernel detaches and resumes the threads.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sampler/arch.h"
#include "sampler/sampler-internal.h"
#include "sampler/unwind.h"

/* How much stack is read from the stack pointer up. */
#define STACK_WINDOW (64 * 1024)
/* How long threads get to reach their stop. */
#define STOP_TIMEOUT_MS 2000

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Read up to STACK_WINDOW bytes of @pid's memory from @sp.  The remote
 * range is split at page boundaries, because process_vm_readv stops at the
 * first element it cannot read: so the copy ends where the mapping ends.
 * Return: bytes read (0 if none), or -errno.
 */
static ssize_t read_stack(pid_t pid, uint64_t sp, unsigned char *buf)
{
	enum { PAGE = 4096, NIOV = STACK_WINDOW / PAGE + 1 };
	struct iovec local = { buf, STACK_WINDOW }, remote[NIOV];
	uint64_t at = sp, end = sp + STACK_WINDOW;
	int n = 0;

	if (end < sp)
		end = UINT64_MAX;
	while (at < end && n < NIOV) {
		uint64_t next = (at | (PAGE - 1)) + 1;

		if (next > end || next == 0)
			next = end;
		remote[n++] = (struct iovec){ (void *)(uintptr_t)at, (size_t)(next - at) };
		at = next;
	}
	ssize_t got = process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0);

	if (got < 0)
		return errno == EFAULT ? 0 : -errno;
	return got;
}

/*
 * Unwind the ptrace-stopped thread @tid of @pid into s->frame_buf.
 * Return: the number of frames (an unfinished stack ends in a marker), or
 * -errno of PTRACE_GETREGS / process_vm_readv / -ENOMEM.
 */
static int unwind_stopped(struct cp_sampler *s, struct cp_procs *procs, pid_t pid, pid_t tid)
{
	struct user_regs_struct uregs;
	struct cp_regs regs;
	struct cp_proc *proc = cp_procs_get(procs, pid);
	enum cp_unwind_end end;
	ssize_t got;

	if (!proc)
		return -ENOMEM;
	if (!s->ptrace_stack) {
		s->ptrace_stack = malloc(STACK_WINDOW);
		if (!s->ptrace_stack)
			return -ENOMEM;
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &uregs) < 0)
		return -errno;
	cp_arch_regs_from_ptrace(&uregs, &regs);
	got = read_stack(tid, regs.r[CP_DWARF_SP], s->ptrace_stack);
	if (got < 0)
		return (int)got;

	struct cp_stack_mem mem = { .base = regs.r[CP_DWARF_SP],
				    .data = s->ptrace_stack,
				    .size = (uint64_t)got };
	struct cp_frame *out = s->frame_buf;

	/* The thread is stopped, so /proc is exact where the stream may lag. */
	cp_procs_allow_refill(proc);
	size_t n = cp_unwind_dwarf(s->unwind_cache, procs, proc, &regs, &mem, out,
				   CP_MAX_FRAMES - 1, &end);

	if (end == CP_UNWIND_TRUNCATED)
		out[n++] = (struct cp_frame){ 0, &cp_marker_truncated };
	else if (end == CP_UNWIND_UNKNOWN)
		out[n++] = (struct cp_frame){ 0, &cp_marker_unknown };
	return (int)n;
}

/* --- snapshots ------------------------------------------------------------------ */

enum snap_phase {
	SNAP_SEIZED,  /* seized and interrupted, not stopped yet */
	SNAP_STOPPED, /* in a ptrace-stop: may be read and must be detached */
	SNAP_GONE,    /* exited, or could not be seized */
};

struct snap_task {
	pid_t tid;
	char state;
	char wchan[40];
	enum snap_phase phase;
	int signal; /* to hand back at the detach */
};

/* /proc/PID/task/TID/wchan: the kernel function a sleeping thread waits in
 * ("0" when running or when the kernel hides it). */
static void task_wchan(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)size, f) || strcmp(buf, "0") == 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static char task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	FILE *f;
	char state = '?';

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return state;
	if (fgets(buf, sizeof(buf), f)) {
		/* "tid (comm) S ...": comm may hold spaces and parentheses. */
		char *close = strrchr(buf, ')');

		if (close && close[1] == ' ' && close[2])
			state = close[2];
	}
	fclose(f);
	return state;
}

/* Wait until every seized task has stopped or gone, for at most the timeout. */
static void wait_stops(struct snap_task *tasks, size_t ntasks)
{
	uint64_t deadline = monotonic_ms() + STOP_TIMEOUT_MS;

	for (;;) {
		bool waiting = false;

		for (size_t i = 0; i < ntasks; i++) {
			struct snap_task *t = &tasks[i];
			int status;
			pid_t got;

			if (t->phase != SNAP_SEIZED)
				continue;
			got = waitpid(t->tid, &status, __WALL | WNOHANG);
			if (got == 0) {
				waiting = true;
				continue;
			}
			if (got < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
				t->phase = SNAP_GONE;
				continue;
			}
			if (!WIFSTOPPED(status))
				continue;
			t->phase = SNAP_STOPPED;
			/* PTRACE_EVENT_STOP: the interrupt (or a group-stop, which the
			 * detach restores).  Anything else is a signal-delivery-stop:
			 * the signal goes back with the detach. */
			if (status >> 16 != PTRACE_EVENT_STOP)
				t->signal = WSTOPSIG(status);
		}
		if (!waiting || monotonic_ms() >= deadline)
			return;
		usleep(200);
	}
}

static void detach_all(struct snap_task *tasks, size_t ntasks)
{
	for (size_t i = 0; i < ntasks; i++) {
		struct snap_task *t = &tasks[i];

		if (t->phase == SNAP_SEIZED) {
			/* Never stopped within the timeout: wait a last time, then
			 * detach; if it still has not stopped, the detach fails and the
			 * kernel detaches it when cprof exits. */
			int status;

			if (waitpid(t->tid, &status, __WALL | WNOHANG) == t->tid &&
			    WIFSTOPPED(status)) {
				t->phase = SNAP_STOPPED;
				if (status >> 16 != PTRACE_EVENT_STOP)
					t->signal = WSTOPSIG(status);
			}
		}
		if (t->phase != SNAP_GONE &&
		    ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)t->signal) < 0)
			cp_debug("PTRACE_DETACH %d: %s", (int)t->tid, strerror(errno));
		t->phase = SNAP_GONE;
	}
}

static int snap_cmp(const void *a, const void *b)
{
	const struct cp_thread_snapshot *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Seize and interrupt every thread of @pid not in @tasks yet.  Return: the
 * number seized, or -errno of the first refusal of the main thread. */
static int seize_new(struct cp_sampler *s, pid_t pid, struct snap_task **tasks, size_t *ntasks,
		     size_t *cap, struct cp_tidset *seen)
{
	size_t before = seen->len;
	int r = cp_list_tasks(pid, seen), seized = 0;

	if (r < 0) {
		snprintf(s->error, sizeof(s->error), "reading /proc/%d/task", (int)pid);
		return r;
	}
	for (size_t i = before; i < seen->len; i++) {
		pid_t tid = seen->tids[i];
		char state = task_state(pid, tid);

		if (cp_grow((void **)tasks, cap, *ntasks + 1, sizeof(**tasks)) < 0)
			return -ENOMEM;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
			r = -errno;
			if (r == -ESRCH && tid != pid)
				continue; /* exited meanwhile */
			snprintf(s->error, sizeof(s->error), "ptrace(PTRACE_SEIZE, %d)", (int)tid);
			return r;
		}
		(*tasks)[(*ntasks)++] = (struct snap_task){ .tid = tid, .state = state };
		task_wchan(pid, tid, (*tasks)[*ntasks - 1].wchan, sizeof((*tasks)[0].wchan));
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
			cp_debug("PTRACE_INTERRUPT %d: %s", (int)tid, strerror(errno));
		seized++;
	}
	return seized;
}

static int take_snapshots(struct cp_sampler *s, pid_t pid, struct snap_task *tasks, size_t ntasks)
{
	for (size_t i = 0; i < ntasks; i++) {
		struct snap_task *t = &tasks[i];
		struct cp_thread_snapshot snap = {
			.pid = pid,
			.tid = t->tid,
			.state = t->state,
			.stopped = t->phase == SNAP_STOPPED,
			.signal = t->signal,
		};

		memcpy(snap.wchan, t->wchan, sizeof(snap.wchan));
		if (t->phase == SNAP_GONE)
			continue;
		if (snap.stopped) {
			int n = unwind_stopped(s, &s->procs, pid, t->tid);

			if (n == -ENOMEM)
				return n;
			if (n > 0) {
				snap.frames = malloc((size_t)n * sizeof(*snap.frames));
				if (!snap.frames)
					return -ENOMEM;
				memcpy(snap.frames, s->frame_buf, (size_t)n * sizeof(*snap.frames));
				snap.nframes = (uint32_t)n;
			}
		}
		if (cp_grow((void **)&s->snaps, &s->snaps_cap, s->nsnaps + 1, sizeof(*s->snaps)) <
		    0) {
			free(snap.frames);
			return -ENOMEM;
		}
		s->snaps[s->nsnaps++] = snap;
	}
	return 0;
}

int cp_sampler_snapshot(struct cp_sampler *s, pid_t pid)
{
	struct snap_task *tasks = NULL;
	struct cp_tidset seen = { 0 };
	size_t ntasks = 0, cap = 0;
	int r;

	/* Seeded before the stop, to keep the stop short; lookups that miss
	 * read /proc/PID/maps again while the threads are stopped. */
	r = cp_procs_seed(&s->procs, pid);
	if (r < 0)
		return r;
	s->root_pid = pid;

	/* A thread may create another until it stops, and threads it creates
	 * are not seized with it: list again once all have stopped. */
	for (int round = 0; round < 64; round++) {
		r = seize_new(s, pid, &tasks, &ntasks, &cap, &seen);
		if (r <= 0)
			break;
		wait_stops(tasks, ntasks);
	}
	if (r >= 0) {
		/* Names of threads that were created or renamed since the seed. */
		r = cp_procs_seed_names(&s->procs, pid);
		if (r >= 0)
			r = take_snapshots(s, pid, tasks, ntasks);
	}
	detach_all(tasks, ntasks);
	free(tasks);
	cp_tidset_fini(&seen);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->nsnaps; i++)
		s->snaps[i].name = cp_procs_thread_name(&s->procs, pid, s->snaps[i].tid);
	qsort(s->snaps, s->nsnaps, sizeof(*s->snaps), snap_cmp);
	if (!s->main_map)
		s->main_map = cp_sampler_exe_map(s, pid);
	return 0;
}

const struct cp_thread_snapshot *cp_sampler_snapshots(const struct cp_sampler *s, size_t *ret_n)
{
	*ret_n = s->nsnaps;
	return s->snaps;
}

/* --- tracing thread creation ------------------------------------------------------ */

#define TRACE_OPTIONS                                                                              \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC)

static void tidset_del(struct cp_tidset *set, pid_t tid)
{
	for (size_t i = 0; i < set->len; i++) {
		if (set->tids[i] == tid) {
			set->tids[i] = set->tids[--set->len];
			return;
		}
	}
}

/* The process of thread @tid, from /proc/TID/status; @tid itself if unknown. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	FILE *f;
	pid_t tgid = tid;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f)) {
		int v;

		if (sscanf(line, "Tgid: %d", &v) == 1) {
			tgid = (pid_t)v;
			break;
		}
	}
	fclose(f);
	return tgid;
}

int cp_sampler_trace_seize(struct cp_sampler *s, pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(uintptr_t)TRACE_OPTIONS) < 0) {
		int r = -errno;

		snprintf(s->error, sizeof(s->error), "ptrace(PTRACE_SEIZE, %d)", (int)tid);
		return r;
	}
	if (cp_tidset_add(&s->traced, tid) < 0) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return -ENOMEM;
	}
	return 0;
}

int cp_sampler_trace_attach(struct cp_sampler *s, pid_t pid)
{
	struct cp_tidset seen = { 0 };
	int r = 0;

	for (int round = 0; round < 64; round++) {
		size_t before = seen.len;

		r = cp_list_tasks(pid, &seen);
		if (r <= 0)
			break;
		for (size_t i = before; i < seen.len; i++) {
			/* Threads created since by a seized thread are traced already. */
			if (cp_tidset_has(&s->traced, seen.tids[i]))
				continue;
			r = cp_sampler_trace_seize(s, seen.tids[i]);
			if (r == -ESRCH && seen.tids[i] != pid)
				r = 0;
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	cp_tidset_fini(&seen);
	if (r < 0) {
		char error[sizeof(s->error)];

		memcpy(error, s->error, sizeof(error));
		cp_sampler_trace_detach(s);
		memcpy(s->error, error, sizeof(error));
		return r;
	}
	return 0;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Count the stack of @tid, stopped at a clone, fork or vfork event. */
static int count_creation(struct cp_sampler *s, pid_t tid)
{
	pid_t pid = tgid_of(tid);
	int n;

	if (!s->tprocs_ready) {
		cp_procs_init(&s->tprocs, s->symz);
		s->tprocs_ready = true;
	}
	n = unwind_stopped(s, &s->tprocs, pid, tid);
	if (n == -ENOMEM)
		return n;
	if (n <= 0) {
		/* Not even registers: still counted, in a stack of its own. */
		s->frame_buf[0] = (struct cp_frame){ 0, &cp_marker_unknown };
		n = 1;
	}
	s->created_count++;
	return cp_stacks_add(&s->created, 0, 0, NULL, s->frame_buf, (uint32_t)n, 1);
}

int cp_sampler_trace_handle(struct cp_sampler *s, pid_t tid, int status)
{
	int event = status >> 16, sig, r = 0;
	unsigned long msg;

	if (!WIFSTOPPED(status)) {
		tidset_del(&s->traced, tid);
		return 0;
	}
	sig = WSTOPSIG(status);
	switch (event) {
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		r = count_creation(s, tid);
		/* The new task is traced already (and reports a stop of its own). */
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && r == 0)
			r = cp_tidset_add(&s->traced, (pid_t)msg);
		ptrace(PTRACE_CONT, tid, NULL, NULL);
		break;
	case PTRACE_EVENT_EXEC:
		/* The address space is new; a non-leader that exec'd has taken
		 * the leader's tid, and the others are gone. */
		if (s->tprocs_ready)
			cp_procs_exec(&s->tprocs, tgid_of(tid));
		ptrace(PTRACE_CONT, tid, NULL, NULL);
		break;
	case PTRACE_EVENT_STOP:
		if (is_stop_signal(sig)) {
			/* A group-stop: stay stopped, as without a tracer, until SIGCONT. */
			ptrace(PTRACE_LISTEN, tid, NULL, NULL);
		} else {
			/* A new task's first stop, or an interrupt. */
			cp_tidset_add(&s->traced, tid);
			ptrace(PTRACE_CONT, tid, NULL, NULL);
		}
		break;
	case 0:
		/* A signal-delivery-stop: deliver the signal, exactly once. */
		ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)sig);
		break;
	default:
		ptrace(PTRACE_CONT, tid, NULL, NULL);
		break;
	}
	return r < 0 ? r : 1;
}

int cp_sampler_trace_detach(struct cp_sampler *s)
{
	uint64_t deadline = monotonic_ms() + STOP_TIMEOUT_MS;

	for (size_t i = 0; i < s->traced.len; i++)
		ptrace(PTRACE_INTERRUPT, s->traced.tids[i], NULL, NULL);
	while (s->traced.len) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);

		if (tid < 0)
			break; /* ECHILD: nothing left to wait for */
		if (tid == 0) {
			if (monotonic_ms() >= deadline)
				return -ETIMEDOUT;
			usleep(200);
			continue;
		}
		if (!WIFSTOPPED(status)) {
			tidset_del(&s->traced, tid);
			continue;
		}
		int event = status >> 16, sig = 0;
		unsigned long msg;

		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			if (count_creation(s, tid) == 0 &&
			    ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 &&
			    cp_tidset_add(&s->traced, (pid_t)msg) == 0)
				ptrace(PTRACE_INTERRUPT, (pid_t)msg, NULL, NULL);
		} else if (event == 0) {
			sig = WSTOPSIG(status); /* handed back with the detach */
		}
		/* A group-stop (PTRACE_EVENT_STOP with a stop signal) is kept by
		 * the kernel when the tracer detaches. */
		ptrace(PTRACE_DETACH, tid, NULL, (void *)(uintptr_t)sig);
		tidset_del(&s->traced, tid);
	}
	return 0;
}

int cp_sampler_for_each_created(const struct cp_sampler *s, cp_stack_fn fn, void *arg)
{
	return cp_stacks_for_each(&s->created, fn, arg);
}
