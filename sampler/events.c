/* SPDX-License-Identifier: MIT */
/*
 * Opening the perf events and mapping their rings.
 *
 * One software cpu-clock event per online CPU, in fixed-period mode, so each
 * sample stands for exactly one period of CPU time and no hardware PMU is
 * needed.  The kernel refuses mmap() of an inherited event opened with
 * cpu = -1, so inherited events must be per-CPU, each with its own ring.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sampler/arch.h"
#include "sampler/sampler-internal.h"

/*
 * Ring sizes per CPU, in data pages.  cprof falls behind the kernel when the
 * machine is loaded (it waits for a CPU like everyone else) or when it meets
 * a new binary; a ring must hold what is sampled meanwhile.  By default it
 * holds a quarter of a second of one busy thread's samples: with DWARF
 * stacks a sample is as big as its stack copy, 32 KiB by default, so at
 * -F 1000 that is 8 MiB.  An unprivileged user may lock perf_event_mlock_kb
 * per CPU (516 KiB, one header page per ring included) plus what ulimit -l
 * allows, so rings shrink until the kernel accepts them.
 */
#define RING_BUFFERED_NS   250000000ULL
#define RING_PAGES_MIN	   4
#define RING_BYTES_FLOOR   (512UL << 10) /* what fits perf_event_mlock_kb */
#define RING_BYTES_CEIL	   (8UL << 20)
#define RING_BYTES_ALL_MAX (64UL << 20) /* over all CPUs, on large machines */

static int perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

/* Parse a CPU list such as "0-3,5" (sysfs "online").  Return: count or -errno. */
static int online_cpus(int **ret)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int *cpus = NULL, n = 0, first, last;
	char sep;

	if (!f) {
		long count = sysconf(_SC_NPROCESSORS_ONLN);

		if (count < 1)
			return -ENOENT;
		cpus = calloc(count, sizeof(*cpus));
		if (!cpus)
			return -ENOMEM;
		for (n = 0; n < count; n++)
			cpus[n] = n;
		*ret = cpus;
		return n;
	}
	while (fscanf(f, "%d", &first) == 1) {
		last = first;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &last) != 1)
				break;
			(void)fscanf(f, "%c", &sep);
		}
		int *grown = reallocarray(cpus, n + (last - first + 1), sizeof(*cpus));

		if (!grown) {
			free(cpus);
			fclose(f);
			return -ENOMEM;
		}
		cpus = grown;
		for (int cpu = first; cpu <= last; cpu++)
			cpus[n++] = cpu;
	}
	fclose(f);
	if (!n) {
		free(cpus);
		return -ENOENT;
	}
	*ret = cpus;
	return n;
}

/* About how many ring bytes one sample takes: the header and fixed fields,
 * and the registers and stack copy (DWARF) or a deep callchain (FP). */
static size_t sample_bytes(const struct cp_sampler *s)
{
	size_t fixed = 128;

	if (s->opts.callchain == CP_CALLCHAIN_DWARF)
		return fixed + (size_t)__builtin_popcountll(cp_arch_perf_regs_mask()) * 8 + 16 +
		       s->opts.stack_size;
	return fixed + 128 * 8;
}

static unsigned int default_ring_pages(const struct cp_sampler *s, int ncpus)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t want = sample_bytes(s) * s->opts.freq_hz * RING_BUFFERED_NS / 1000000000ULL;
	uint64_t ceil = RING_BYTES_ALL_MAX / (uint64_t)ncpus;
	unsigned int pages = 1;

	if (ceil > RING_BYTES_CEIL)
		ceil = RING_BYTES_CEIL;
	/* A power of two, as the kernel wants: up to hold @want, down to stay
	 * under the ceiling, and never below the floor. */
	while ((uint64_t)pages * page < want)
		pages *= 2;
	while (pages > 1 && (uint64_t)pages * page > ceil)
		pages /= 2;
	while ((uint64_t)pages * page < RING_BYTES_FLOOR)
		pages *= 2;
	return pages;
}

static void build_attr(const struct cp_sampler *s, struct perf_event_attr *attr, bool kernel,
		       bool build_id, unsigned int ring_pages)
{
	*attr = (struct perf_event_attr){
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(*attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / s->opts.freq_hz,
		.sample_type = s->sample_type,
		/* A launched command starts counting when it execs; an attached
		 * process at once. */
		.disabled = !s->attaching,
		.inherit = 1,
		.enable_on_exec = !s->attaching,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.sample_id_all = 1,
		.build_id = build_id,
		.exclude_kernel = !kernel,
		.exclude_callchain_kernel = !kernel,
		.exclude_hv = 1,
		/* Timestamps on the clock cmd and the ordering queue read. */
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
		.exclude_callchain_user = s->opts.callchain == CP_CALLCHAIN_DWARF,
		.sample_regs_user =
			s->opts.callchain == CP_CALLCHAIN_DWARF ? cp_arch_perf_regs_mask() : 0,
		.sample_stack_user =
			s->opts.callchain == CP_CALLCHAIN_DWARF ? s->opts.stack_size : 0,
		.watermark = 1,
		.wakeup_watermark = ring_pages * (unsigned int)sysconf(_SC_PAGESIZE) / 4,
	};
}

/*
 * Open the first CPU's event, learning what this kernel allows: kernel
 * samples (not at perf_event_paranoid >= 2 without CAP_PERFMON) and
 * build-ids in MMAP2 records (Linux 5.12 and later).
 */
static int open_probing(struct cp_sampler *s, pid_t pid, int cpu, struct perf_event_attr *attr,
			unsigned int ring_pages)
{
	bool kernel = true, build_id = true;
	int fd;

	for (;;) {
		build_attr(s, attr, kernel, build_id, ring_pages);
		fd = perf_event_open(attr, pid, cpu);
		if (fd >= 0)
			break;
		if ((fd == -EACCES || fd == -EPERM) && kernel) {
			cp_debug("kernel samples refused (%s), sampling user space only",
				 strerror(-fd));
			kernel = false;
		} else if (fd == -EINVAL && build_id) {
			build_id = false;
		} else {
			return fd;
		}
	}
	s->stats.kernel_excluded = !kernel;
	return fd;
}

/* Map @ev's ring of @pages data pages.  Return: 0 or -errno; -EPERM when
 * it is more than the user may lock. */
static int map_ring(struct cp_event *ev, unsigned int pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (pages + 1) * page;
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ev->fd, 0);
	int r;

	if (base == MAP_FAILED)
		return -errno;
	r = cp_ring_init(&ev->ring, base, (char *)base + page, (uint64_t)pages * page);
	if (r < 0) {
		munmap(base, len);
		return r;
	}
	ev->base = base;
	ev->map_len = len;
	return 0;
}

/* Open one event per CPU in @cpus, each with a ring of @pages.  The first
 * open probes what the kernel allows and fills @attr; later calls reuse it.
 * Return: 0 or -errno; *@ret_mmap_refused when a ring was too large. */
static int open_rings(struct cp_sampler *s, pid_t pid, const int *cpus, int ncpus,
		      struct perf_event_attr *attr, bool probed, unsigned int pages,
		      bool *ret_mmap_refused)
{
	*ret_mmap_refused = false;
	for (int i = 0; i < ncpus; i++) {
		struct cp_event *ev = &s->events[i];
		int fd, r;

		if (!probed && i == 0) {
			fd = open_probing(s, pid, cpus[i], attr, pages);
		} else {
			build_attr(s, attr, !s->stats.kernel_excluded, attr->build_id, pages);
			fd = perf_event_open(attr, pid, cpus[i]);
		}
		if (fd < 0) {
			snprintf(s->error, sizeof(s->error), "perf_event_open(cpu-clock, cpu %d)",
				 cpus[i]);
			return fd;
		}
		ev->fd = fd;
		ev->cpu = cpus[i];
		s->nevents++;

		r = map_ring(ev, pages);
		if (r < 0) {
			*ret_mmap_refused = r == -EPERM || r == -ENOMEM;
			snprintf(s->error, sizeof(s->error), "mmap of the cpu %d ring buffer",
				 cpus[i]);
			return r;
		}

		struct epoll_event pev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &pev) < 0) {
			snprintf(s->error, sizeof(s->error), "epoll_ctl");
			return -errno;
		}
	}
	return 0;
}

static void close_rings(struct cp_sampler *s)
{
	for (size_t i = 0; i < s->nevents; i++) {
		struct cp_event *ev = &s->events[i];

		cp_ring_fini(&ev->ring);
		if (ev->base)
			munmap(ev->base, ev->map_len);
		close(ev->fd); /* also leaves the epoll set */
		memset(ev, 0, sizeof(*ev));
	}
	s->nevents = 0;
}

int cp_events_open(struct cp_sampler *s, pid_t pid)
{
	struct perf_event_attr attr;
	unsigned int pages;
	bool mmap_refused;
	int *cpus = NULL;
	int ncpus = online_cpus(&cpus);
	int r;

	if (ncpus < 0) {
		snprintf(s->error, sizeof(s->error), "reading the online CPUs");
		return ncpus;
	}
	pages = s->opts.ring_pages ? s->opts.ring_pages : default_ring_pages(s, ncpus);
	s->events = calloc(ncpus, sizeof(*s->events));
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!s->events || s->epoll_fd < 0) {
		r = s->events ? -errno : -ENOMEM;
		goto out;
	}

	/*
	 * The locked-memory allowance covers all rings together, so a refusal
	 * at any CPU halves them all: every event is opened again, as its
	 * wakeup watermark depends on the size of its ring.
	 */
	for (bool probed = false;; probed = true) {
		r = open_rings(s, pid, cpus, ncpus, &attr, probed, pages, &mmap_refused);
		if (r == 0 || !mmap_refused || pages <= RING_PAGES_MIN)
			break;
		cp_debug("rings of %u pages refused, trying %u", pages, pages / 2);
		close_rings(s);
		pages /= 2;
	}
	if (r < 0)
		goto out;
	s->stats.ring_pages = pages;
	s->attr = attr;
	cp_debug("%d CPU rings of %u pages, kernel samples %s", ncpus, pages,
		 s->stats.kernel_excluded ? "excluded" : "included");
out:
	free(cpus);
	return r;
}

int cp_events_add_task(struct cp_sampler *s, pid_t tid)
{
	size_t first = s->ntask_fds;
	int r = 0;

	for (size_t i = 0; i < s->nevents; i++) {
		struct cp_event *ev = &s->events[i];
		int fd;

		if (cp_grow((void **)&s->task_fds, &s->task_fds_cap, s->ntask_fds + 1,
			    sizeof(*s->task_fds)) < 0) {
			r = -ENOMEM;
			break;
		}
		fd = perf_event_open(&s->attr, tid, ev->cpu);
		if (fd < 0) {
			r = fd;
			snprintf(s->error, sizeof(s->error),
				 "perf_event_open(cpu-clock, thread %d, cpu %d)", (int)tid,
				 ev->cpu);
			break;
		}
		s->task_fds[s->ntask_fds++] = fd;
		/* Its records go to the ring of its CPU's first event. */
		if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ev->fd) < 0) {
			r = -errno;
			snprintf(s->error, sizeof(s->error), "PERF_EVENT_IOC_SET_OUTPUT (cpu %d)",
				 ev->cpu);
			break;
		}
	}
	if (r < 0) {
		/* All or nothing: a half-covered thread would skew the profile. */
		while (s->ntask_fds > first)
			close(s->task_fds[--s->ntask_fds]);
	}
	return r;
}

void cp_events_close(struct cp_sampler *s)
{
	for (size_t i = 0; i < s->ntask_fds; i++)
		if (s->task_fds[i] >= 0)
			close(s->task_fds[i]);
	free(s->task_fds);
	s->task_fds = NULL;
	s->ntask_fds = s->task_fds_cap = 0;
	if (s->events)
		close_rings(s);
	free(s->events);
	s->events = NULL;
	s->nevents = 0;
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	s->epoll_fd = -1;
}
