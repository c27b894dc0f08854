/* SPDX-License-Identifier: MIT */
/*
 * The sampler: drains the rings, decodes records, orders them in time and
 * applies them to the process model and the stack table.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>

#include "lib/log.h"
#include "sampler/sampler-internal.h"
#include "sampler/unwind.h"

#define SAMPLE_TYPE                                                                                \
	(PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |                   \
	 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN)
#define SAMPLE_TYPE_DWARF (SAMPLE_TYPE | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)

/* Frames that end a stack the unwinder could not finish. */
const struct cp_map cp_marker_truncated = { .path = "[truncated]", .is_marker = true };
const struct cp_map cp_marker_unknown = { .path = "[unknown]", .is_marker = true };

/*
 * A record may be written a little after the time it is stamped with.  Records
 * stamped within this margin of the moment a drain started stay queued until
 * the next drain, where any earlier record still in flight will have arrived.
 */
#define ORDER_SLACK_NS 2000000ULL

/* Layout of MMAP2 up to the file name (perf_event_open(2)). */
struct mmap2_record {
	struct perf_event_header header;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	union {
		struct {
			uint32_t maj, min;
			uint64_t ino, ino_generation;
		};
		struct {
			uint8_t build_id_size, reserved_1;
			uint16_t reserved_2;
			uint8_t build_id[20];
		};
	};
	uint32_t prot, flags;
	char filename[];
};

struct comm_record {
	struct perf_event_header header;
	uint32_t pid, tid;
	char comm[];
};

struct task_record {
	struct perf_event_header header;
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct lost_record {
	struct perf_event_header header;
	uint64_t id, lost;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A bounds-checked reader over a record's body. */
struct cursor {
	const unsigned char *p, *end;
	bool overrun;
};

static uint64_t take_u64(struct cursor *c)
{
	uint64_t v = 0;

	if (c->end - c->p < 8) {
		c->overrun = true;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

static int decode_sample(const struct cp_sampler *s, const struct perf_event_header *hdr,
			 struct cp_sample_data *out)
{
	struct cursor c = { .p = (const unsigned char *)(hdr + 1),
			    .end = (const unsigned char *)hdr + hdr->size };
	uint64_t word;

	memset(out, 0, sizeof(*out));
	out->misc = hdr->misc;
	if (s->sample_type & PERF_SAMPLE_IP)
		out->ip = take_u64(&c);
	if (s->sample_type & PERF_SAMPLE_TID) {
		word = take_u64(&c);
		out->pid = (pid_t)(uint32_t)word;
		out->tid = (pid_t)(uint32_t)(word >> 32);
	}
	if (s->sample_type & PERF_SAMPLE_TIME)
		out->time = take_u64(&c);
	if (s->sample_type & PERF_SAMPLE_CPU)
		out->cpu = (uint32_t)take_u64(&c);
	if (s->sample_type & PERF_SAMPLE_PERIOD)
		out->period = take_u64(&c);
	if (s->sample_type & PERF_SAMPLE_CALLCHAIN) {
		out->callchain_nr = take_u64(&c);
		if (out->callchain_nr > (uint64_t)(c.end - c.p) / 8) {
			c.overrun = true;
		} else {
			out->callchain = (const uint64_t *)c.p;
			c.p += out->callchain_nr * 8;
		}
	}
	if (s->sample_type & PERF_SAMPLE_REGS_USER) {
		out->regs_abi = take_u64(&c);
		if (out->regs_abi != PERF_SAMPLE_REGS_ABI_NONE) {
			size_t bytes = 8 * (size_t)__builtin_popcountll(cp_arch_perf_regs_mask());

			if ((size_t)(c.end - c.p) < bytes) {
				c.overrun = true;
			} else {
				out->regs = (const uint64_t *)c.p;
				c.p += bytes;
			}
		}
	}
	if (s->sample_type & PERF_SAMPLE_STACK_USER) {
		uint64_t size = take_u64(&c);

		if (size > (uint64_t)(c.end - c.p)) {
			c.overrun = true;
		} else if (size) {
			out->stack = c.p;
			c.p += size;
			/* dyn_size: how much of the copy the kernel actually filled. */
			out->stack_size = take_u64(&c);
			if (out->stack_size > size)
				out->stack_size = size;
		}
	}
	return c.overrun ? -EBADMSG : 0;
}

/* The time in a non-sample record's sample_id trailer (sample_id_all). */
static int record_time(const struct cp_sampler *s, const struct perf_event_header *hdr,
		       uint64_t *ret)
{
	/* Trailer fields, in order: TID, TIME, ... CPU; TIME follows TID. */
	size_t trailer =
		8 * (!!(s->sample_type & PERF_SAMPLE_TID) + !!(s->sample_type & PERF_SAMPLE_TIME) +
		     !!(s->sample_type & PERF_SAMPLE_CPU));
	size_t time_at = hdr->size - trailer + 8 * !!(s->sample_type & PERF_SAMPLE_TID);

	if (hdr->size < sizeof(*hdr) + trailer)
		return -EBADMSG;
	memcpy(ret, (const unsigned char *)hdr + time_at, 8);
	return 0;
}

/* A NUL-terminated string at @str within the record, or NULL if it runs off the end. */
static const char *record_string(const struct perf_event_header *hdr, const char *str)
{
	const char *end = (const char *)hdr + hdr->size;

	return memchr(str, '\0', end - str) ? str : NULL;
}

/* Kernel frames from the callchain, then user frames unwound from the
 * registers and stack copy; an unfinished stack ends in a marker frame. */
static size_t unwind_dwarf(struct cp_sampler *s, struct cp_proc *proc,
			   const struct cp_sample_data *sample)
{
	struct cp_frame *out = s->frame_buf;
	size_t n = cp_unwind_kernel(&s->procs, sample, out, CP_MAX_FRAMES);
	enum cp_unwind_end end = CP_UNWIND_COMPLETE;

	if (sample->regs) {
		struct cp_regs regs;

		cp_arch_regs_from_perf(sample->regs, &regs);

		struct cp_stack_mem mem = { .base = regs.r[CP_DWARF_SP],
					    .data = sample->stack,
					    .size = sample->stack ? sample->stack_size : 0 };

		n += cp_unwind_dwarf(s->unwind_cache, &s->procs, proc, &regs, &mem, out + n,
				     CP_MAX_FRAMES - 1 - n, &end);
	} else if (n == 0) {
		/* No user context and no kernel chain: at least the sampled PC. */
		return cp_unwind_fp(&s->procs, proc, sample, out, CP_MAX_FRAMES, &s->stats);
	}

	switch (end) {
	case CP_UNWIND_COMPLETE:
		s->stats.complete++;
		break;
	case CP_UNWIND_TRUNCATED:
		s->stats.truncated++;
		out[n++] = (struct cp_frame){ 0, &cp_marker_truncated };
		break;
	case CP_UNWIND_UNKNOWN:
		s->stats.unknown++;
		out[n++] = (struct cp_frame){ 0, &cp_marker_unknown };
		break;
	}
	return n;
}

static int handle_sample(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	struct cp_sample_data sample;
	struct cp_proc *proc;

	if (decode_sample(s, hdr, &sample) < 0) {
		s->stats.malformed++;
		return 0;
	}
	proc = cp_procs_get(&s->procs, sample.pid);
	if (!proc)
		return -ENOMEM;

	size_t n = s->opts.callchain == CP_CALLCHAIN_DWARF
			   ? unwind_dwarf(s, proc, &sample)
			   : cp_unwind_fp(&s->procs, proc, &sample, s->frame_buf, CP_MAX_FRAMES,
					  &s->stats);
	const char *name = cp_procs_thread_name(&s->procs, sample.pid, sample.tid);

	s->stats.samples++;
	return cp_stacks_add(&s->stacks, sample.pid, sample.tid, name, s->frame_buf, (uint32_t)n,
			     sample.period);
}

static int handle_mmap2(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	const struct mmap2_record *rec = (const void *)hdr;

	if (hdr->size < sizeof(*rec) || !record_string(hdr, rec->filename)) {
		s->stats.malformed++;
		return 0;
	}
	bool has_build_id = hdr->misc & PERF_RECORD_MISC_MMAP_BUILD_ID;
	size_t build_id_len = has_build_id ? rec->build_id_size : 0;

	if (build_id_len > sizeof(rec->build_id))
		build_id_len = 0;

	struct cp_map *map =
		cp_procs_add_map(&s->procs, (pid_t)rec->pid, rec->addr, rec->len, rec->pgoff,
				 rec->filename, build_id_len ? rec->build_id : NULL, build_id_len);

	if (!map)
		return -ENOMEM;
	/* The first file the exec maps is the program; anonymous code (a JIT's,
	 * named by its perf map) never is. */
	if (!s->main_map && (pid_t)rec->pid == s->root_pid && map->module &&
	    rec->filename[0] == '/' && rec->filename[1] != '/')
		s->main_map = map;
	return 0;
}

static int handle_comm(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	const struct comm_record *rec = (const void *)hdr;

	if (hdr->size < sizeof(*rec) || !record_string(hdr, rec->comm)) {
		s->stats.malformed++;
		return 0;
	}
	if (hdr->misc & PERF_RECORD_MISC_COMM_EXEC)
		cp_procs_exec(&s->procs, (pid_t)rec->pid);
	return cp_procs_set_name(&s->procs, (pid_t)rec->pid, (pid_t)rec->tid, rec->comm);
}

static int handle_fork(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	const struct task_record *rec = (const void *)hdr;

	if (hdr->size < sizeof(*rec)) {
		s->stats.malformed++;
		return 0;
	}
	if (rec->pid == rec->ppid)
		return cp_procs_new_thread(&s->procs, (pid_t)rec->pid, (pid_t)rec->tid,
					   (pid_t)rec->ptid);
	s->stats.processes++;
	return cp_procs_fork(&s->procs, (pid_t)rec->ppid, (pid_t)rec->pid, (pid_t)rec->ptid);
}

static int handle_exit(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	const struct task_record *rec = (const void *)hdr;

	if (hdr->size < sizeof(*rec)) {
		s->stats.malformed++;
		return 0;
	}
	cp_procs_exit(&s->procs, (pid_t)rec->pid, (pid_t)rec->tid);
	return 0;
}

static int handle_ordered(const struct perf_event_header *hdr, void *arg)
{
	struct cp_sampler *s = arg;

	switch (hdr->type) {
	case PERF_RECORD_SAMPLE:
		return handle_sample(s, hdr);
	case PERF_RECORD_MMAP2:
		return handle_mmap2(s, hdr);
	case PERF_RECORD_COMM:
		return handle_comm(s, hdr);
	case PERF_RECORD_FORK:
		return handle_fork(s, hdr);
	case PERF_RECORD_EXIT:
		return handle_exit(s, hdr);
	default:
		return 0;
	}
}

/*
 * The kernel reserves the whole requested stack copy in every sample but
 * fills only the part above the stack pointer (dyn_size).  Queue a copy
 * trimmed to that part: most stacks use a few KiB of a 32 KiB copy.
 */
static const struct perf_event_header *trim_stack_copy(struct cp_sampler *s,
						       const struct perf_event_header *hdr,
						       const struct cp_sample_data *sample)
{
	const unsigned char *rec = (const unsigned char *)hdr;
	size_t prefix = (size_t)(sample->stack - rec); /* through the u64 size field */
	uint64_t kept = (sample->stack_size + 7) & ~7ULL;
	size_t trimmed = prefix + kept + 8;

	if (trimmed >= hdr->size)
		return hdr;
	memcpy(s->trim_buf, rec, prefix + kept);
	memcpy(s->trim_buf + prefix - 8, &kept, 8);
	memcpy(s->trim_buf + prefix + kept, &sample->stack_size, 8);
	((struct perf_event_header *)s->trim_buf)->size = (uint16_t)trimmed;
	return (const struct perf_event_header *)s->trim_buf;
}

/* Records that need no ordering are counted at once; the rest are queued. */
static int take_record(struct cp_sampler *s, const struct perf_event_header *hdr)
{
	struct cp_sample_data sample;
	uint64_t time;

	switch (hdr->type) {
	case PERF_RECORD_LOST:
		if (hdr->size >= sizeof(struct lost_record))
			s->stats.lost += ((const struct lost_record *)hdr)->lost;
		return 0;
	case PERF_RECORD_LOST_SAMPLES:
		if (hdr->size >= sizeof(*hdr) + 8) {
			uint64_t lost;

			memcpy(&lost, hdr + 1, 8);
			s->stats.lost += lost;
		}
		return 0;
	case PERF_RECORD_THROTTLE:
		s->stats.throttled++;
		return 0;
	case PERF_RECORD_SAMPLE:
		if (decode_sample(s, hdr, &sample) < 0) {
			s->stats.malformed++;
			return 0;
		}
		if (sample.stack)
			hdr = trim_stack_copy(s, hdr, &sample);
		return cp_order_push(&s->order, sample.time, hdr);
	case PERF_RECORD_FORK:
		/* While attach lists threads: this one inherited an event from
		 * its creator, so it needs none of its own. */
		if (s->listing_tasks && hdr->size >= sizeof(struct task_record) &&
		    cp_tidset_add(&s->inherited, (pid_t)((const struct task_record *)hdr)->tid) < 0)
			return -ENOMEM;
		/* fall through */
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_EXIT:
		if (record_time(s, hdr, &time) < 0) {
			s->stats.malformed++;
			return 0;
		}
		return cp_order_push(&s->order, time, hdr);
	default:
		return 0;
	}
}

int cp_sampler_drain(struct cp_sampler *s)
{
	for (size_t i = 0; i < s->nevents; i++) {
		struct cp_ring *ring = &s->events[i].ring;
		const struct perf_event_header *hdr;
		int r = 0;

		if (!cp_ring_begin(ring))
			continue;
		while ((r = cp_ring_next(ring, &hdr)) > 0) {
			r = take_record(s, hdr);
			if (r < 0)
				break;
		}
		cp_ring_end(ring);
		if (r == -EBADMSG)
			s->stats.malformed++;
		else if (r < 0)
			return r;
	}
	return 0;
}

/*
 * An event whose task has exited polls as hung up for ever; stop polling
 * it (its ring is still drained) so the event loop does not spin while the
 * command's descendants run on.
 */
static void forget_hung_up(struct cp_sampler *s)
{
	struct epoll_event evs[16];
	int n = epoll_wait(s->epoll_fd, evs, 16, 0);

	for (int i = 0; i < n; i++) {
		struct cp_event *ev = &s->events[evs[i].data.u32];

		if ((evs[i].events & (EPOLLHUP | EPOLLERR)) && !ev->hung_up) {
			ev->hung_up = true;
			epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, ev->fd, NULL);
		}
	}
}

int cp_sampler_read(struct cp_sampler *s)
{
	uint64_t started = monotonic_ns();
	int r;

	forget_hung_up(s);
	r = cp_sampler_drain(s);
	if (r < 0)
		return r;
	return cp_order_flush(&s->order, started - ORDER_SLACK_NS, handle_ordered, s);
}

int cp_sampler_finish(struct cp_sampler *s)
{
	int r;

	for (size_t i = 0; i < s->nevents; i++)
		ioctl(s->events[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	for (size_t i = 0; i < s->ntask_fds; i++)
		ioctl(s->task_fds[i], PERF_EVENT_IOC_DISABLE, 0);
	r = cp_sampler_drain(s);
	if (r < 0)
		return r;
	return cp_order_flush(&s->order, UINT64_MAX, handle_ordered, s);
}

int cp_sampler_new(const struct cp_sampler_opts *opts, struct cp_symbolizer *symz,
		   struct cp_sampler **ret)
{
	struct cp_sampler *s;

	if (opts->freq_hz == 0 || opts->freq_hz > 1000000000U ||
	    (opts->callchain == CP_CALLCHAIN_DWARF &&
	     (opts->stack_size < 8 || opts->stack_size > CP_STACK_SIZE_MAX ||
	      opts->stack_size % 8)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->frame_buf = calloc(CP_MAX_FRAMES, sizeof(*s->frame_buf));
	s->trim_buf = malloc(65536); /* a record's size is 16 bits */
	if (!s->frame_buf || !s->trim_buf || cp_unwind_cache_new(&s->unwind_cache) < 0) {
		free(s->frame_buf);
		free(s->trim_buf);
		free(s);
		return -ENOMEM;
	}
	s->opts = *opts;
	s->symz = symz;
	s->epoll_fd = -1;
	s->sample_type = opts->callchain == CP_CALLCHAIN_DWARF ? SAMPLE_TYPE_DWARF : SAMPLE_TYPE;
	cp_procs_init(&s->procs, symz);
	cp_order_init(&s->order);
	cp_stacks_init(&s->stacks);
	cp_stacks_init(&s->created);
	*ret = s;
	return 0;
}

void cp_sampler_free(struct cp_sampler *s)
{
	if (!s)
		return;
	cp_events_close(s);
	cp_order_fini(&s->order);
	cp_stacks_fini(&s->stacks);
	cp_stacks_fini(&s->created);
	cp_tidset_fini(&s->inherited);
	for (size_t i = 0; i < s->nsnaps; i++)
		free(s->snaps[i].frames);
	free(s->snaps);
	free(s->ptrace_stack);
	cp_tidset_fini(&s->traced);
	if (s->tprocs_ready)
		cp_procs_fini(&s->tprocs);
	cp_procs_fini(&s->procs);
	cp_unwind_cache_free(s->unwind_cache);
	free(s->frame_buf);
	free(s->trim_buf);
	free(s);
}

int cp_sampler_open_child(struct cp_sampler *s, pid_t pid)
{
	int r;

	s->root_pid = pid;
	s->stats.processes = 1;
	r = cp_events_open(s, pid);
	if (r < 0)
		cp_events_close(s);
	return r;
}

const char *cp_sampler_error(const struct cp_sampler *s)
{
	return s->error;
}

int cp_sampler_fd(const struct cp_sampler *s)
{
	return s->epoll_fd;
}

int cp_sampler_for_each_stack(const struct cp_sampler *s, cp_stack_fn fn, void *arg)
{
	return cp_stacks_for_each(&s->stacks, fn, arg);
}

const struct cp_map *cp_sampler_main_map(const struct cp_sampler *s)
{
	return s->main_map;
}

void cp_sampler_get_stats(const struct cp_sampler *s, struct cp_sampler_stats *ret)
{
	*ret = s->stats;
	ret->stacks = s->stacks.table.len;
	ret->threads = s->procs.nthreads;
	ret->unwind_rules = cp_unwind_cache_size(s->unwind_cache);
	ret->created = s->created_count;
}
