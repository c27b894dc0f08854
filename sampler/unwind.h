/* SPDX-License-Identifier: MIT */
/*
 * Turning one decoded sample into a stack of frames.  Each unwinder fills
 * @out leaf first, with addresses adjusted for symbolization (the PC at
 * which a context was interrupted as is, return addresses minus one) and
 * each frame's mapping resolved against the process as it is now.
 * The frame-pointer unwinder reads the kernel's callchain; the DWARF
 * unwinder reads user registers and a copy of the top of the user stack.
 */
#ifndef CP_SAMPLER_UNWIND_H
#define CP_SAMPLER_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/arch.h"
#include "sampler/sampler-internal.h"

/* A PERF_RECORD_SAMPLE, decoded.  Pointers point into the record. */
struct cp_sample_data {
	pid_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	uint64_t period;
	uint64_t ip;
	uint16_t misc; /* PERF_RECORD_MISC_* of the record */
	const uint64_t *callchain;
	uint64_t callchain_nr;
	uint64_t regs_abi;	    /* PERF_SAMPLE_REGS_ABI_*; NONE: no user context */
	const uint64_t *regs;	    /* user registers in perf's mask order */
	const unsigned char *stack; /* copy of the user stack from the sampled SP */
	uint64_t stack_size;	    /* bytes of it that are valid */
};

/*
 * cp_unwind_fp() - the stack of @sample from its kernel callchain.
 * Return: the number of frames written to @out (at most @max).
 */
size_t cp_unwind_fp(struct cp_procs *procs, struct cp_proc *proc,
		    const struct cp_sample_data *sample, struct cp_frame *out, size_t max,
		    struct cp_sampler_stats *stats);

/* Stack memory an unwinder may read: @size bytes of copy for [base, base + size). */
struct cp_stack_mem {
	uint64_t base;
	const unsigned char *data;
	uint64_t size;
};

/* How an unwound stack ended. */
enum cp_unwind_end {
	CP_UNWIND_COMPLETE,  /* reached the thread's root */
	CP_UNWIND_TRUNCATED, /* the stack copy or the frame limit ran out */
	CP_UNWIND_UNKNOWN,   /* a frame could not be unwound (no mapping or CFI) */
};

/* The cache of compiled unwind rules, one per (module, address). */
struct cp_unwind_cache;

int cp_unwind_cache_new(struct cp_unwind_cache **ret);
void cp_unwind_cache_free(struct cp_unwind_cache *cache);
size_t cp_unwind_cache_size(const struct cp_unwind_cache *cache);

/*
 * cp_unwind_dwarf() - unwind the user stack from the registers @regs with
 * the stack memory @mem, using the CFI of each mapping's module.
 * @end: how the stack ended; anything but COMPLETE means the frames found
 *   are only the innermost part of the stack.
 * Return: the number of frames written to @out (at most @max).
 */
size_t cp_unwind_dwarf(struct cp_unwind_cache *cache, struct cp_procs *procs, struct cp_proc *proc,
		       const struct cp_regs *regs, const struct cp_stack_mem *mem,
		       struct cp_frame *out, size_t max, enum cp_unwind_end *end);

/*
 * cp_unwind_kernel() - the kernel part of @sample's callchain (DWARF mode
 * asks the kernel for no user callchain).  Return: frames written.
 */
size_t cp_unwind_kernel(struct cp_procs *procs, const struct cp_sample_data *sample,
			struct cp_frame *out, size_t max);

#endif
