/* SPDX-License-Identifier: MIT */
/*
 * Everything the unwinder must know about the CPU, in one place, so that
 * another architecture (aarch64 next) is one new arch-*.c file.
 *
 * Registers are kept in DWARF numbering, the numbering CFI uses; the
 * return-address column doubles as the PC.
 */
#ifndef CP_SAMPLER_ARCH_H
#define CP_SAMPLER_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__)
#define CP_DWARF_NREGS 17 /* rax..r15 = 0..15, return address = 16 */
#define CP_DWARF_SP    7
#define CP_DWARF_FP    6
#define CP_DWARF_RA    16
#else
#error "cprof's unwinder supports x86-64 only"
/* Convert the registers PTRACE_GETREGS returned (struct user_regs_struct
 * of <sys/user.h>) to DWARF numbering. */
struct user_regs_struct;
void cp_arch_regs_from_ptrace(const struct user_regs_struct *uregs, struct cp_regs *out);

#endif

struct cp_regs {
	uint64_t r[CP_DWARF_NREGS];
	uint32_t valid; /* bit n: r[n] is known */
};

static inline bool cp_regs_has(const struct cp_regs *regs, unsigned int n)
{
	return n < CP_DWARF_NREGS && (regs->valid >> n & 1);
}

static inline void cp_regs_set(struct cp_regs *regs, unsigned int n, uint64_t value)
{
	regs->r[n] = value;
	regs->valid |= 1u << n;
}

/* The PERF_SAMPLE_REGS_USER mask cprof asks for: what CFI may refer to. */
uint64_t cp_arch_perf_regs_mask(void);

/* Convert the registers of a sample (in mask order) to DWARF numbering. */
void cp_arch_regs_from_perf(const uint64_t *perf_regs, struct cp_regs *out);

/* Convert the registers PTRACE_GETREGS returned (struct user_regs_struct
 * of <sys/user.h>) to DWARF numbering. */
struct user_regs_struct;
void cp_arch_regs_from_ptrace(const struct user_regs_struct *uregs, struct cp_regs *out);

#endif
