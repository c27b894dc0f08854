/* SPDX-License-Identifier: MIT */
/*
 * x86-64: perf's register numbering (arch/x86/include/uapi/asm/perf_regs.h)
 * against the DWARF numbering of the System V psABI.
 */
#include "config.h"

#include <sys/user.h>

#include "sampler/arch.h"

enum perf_reg {
	PERF_AX,
	PERF_BX,
	PERF_CX,
	PERF_DX,
	PERF_SI,
	PERF_DI,
	PERF_BP,
	PERF_SP,
	PERF_IP,
	PERF_FLAGS,
	PERF_CS,
	PERF_SS,
	PERF_DS,
	PERF_ES,
	PERF_FS,
	PERF_GS,
	PERF_R8,
	PERF_R9,
	PERF_R10,
	PERF_R11,
	PERF_R12,
	PERF_R13,
	PERF_R14,
	PERF_R15,
};

/* DWARF register n is perf register dwarf_to_perf[n]. */
static const unsigned char dwarf_to_perf[CP_DWARF_NREGS] = {
	PERF_AX, PERF_DX,  PERF_CX,  PERF_BX,  PERF_SI,	 PERF_DI,  PERF_BP,  PERF_SP, PERF_R8,
	PERF_R9, PERF_R10, PERF_R11, PERF_R12, PERF_R13, PERF_R14, PERF_R15, PERF_IP,
};

uint64_t cp_arch_perf_regs_mask(void)
{
	uint64_t mask = 0;

	for (unsigned int n = 0; n < CP_DWARF_NREGS; n++)
		mask |= 1ULL << dwarf_to_perf[n];
	return mask;
}

void cp_arch_regs_from_perf(const uint64_t *perf_regs, struct cp_regs *out)
{
	uint64_t mask = cp_arch_perf_regs_mask();

	out->valid = 0;
	for (unsigned int n = 0; n < CP_DWARF_NREGS; n++) {
		unsigned int bit = dwarf_to_perf[n];
		/* The kernel packs the selected registers by ascending bit. */
		unsigned int index = (unsigned int)__builtin_popcountll(mask & ((1ULL << bit) - 1));

		cp_regs_set(out, n, perf_regs[index]);
	}
}

void cp_arch_regs_from_ptrace(const struct user_regs_struct *uregs, struct cp_regs *out)
{
	/* In DWARF order: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip. */
	const unsigned long long values[CP_DWARF_NREGS] = {
		uregs->rax, uregs->rdx, uregs->rcx, uregs->rbx, uregs->rsi, uregs->rdi,
		uregs->rbp, uregs->rsp, uregs->r8,  uregs->r9,	uregs->r10, uregs->r11,
		uregs->r12, uregs->r13, uregs->r14, uregs->r15, uregs->rip,
	};

	out->valid = 0;
	for (unsigned int n = 0; n < CP_DWARF_NREGS; n++)
		cp_regs_set(out, n, values[n]);
}
