/* SPDX-License-Identifier: MIT */
/*
 * Online DWARF unwinding: user registers and a copy of the top of the user
 * stack, taken by the kernel at each sample, are unwound at once with the
 * CFI of each module (.eh_frame, else .debug_frame), so that no stack copy
 * outlives its sample.
 *
 * libdw finds the CFI row for a PC; cprof compiles that row into a small
 * rule (the CFA expression and one recovery rule per register) and caches
 * it per (module, address), so a PC seen before costs a hash probe and a
 * few loads.  The expressions are run by the small evaluator below, which
 * covers what compilers and glibc emit: register+offset rules, PLT
 * expressions, and signal trampolines that read the saved context.
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/htab.h"
#include "lib/log.h"
#include "sampler/unwind.h"
#include "symbolize/symbolize.h"

#define EVAL_STACK 16

struct op {
	uint8_t atom;
	uint64_t number, number2;
};

enum reg_how {
	REG_SAME,      /* unchanged from this frame */
	REG_UNDEFINED, /* not recoverable */
	REG_SAVED,     /* stored at the address the ops compute */
	REG_VALUE,     /* the value the ops compute */
	REG_COPY,      /* held in another register of this frame */
};

struct reg_rule {
	uint8_t how;
	uint8_t nops;
	uint8_t other;	/* REG_COPY */
	uint16_t first; /* index of the first op */
};

enum rule_kind {
	RULE_CFI,  /* a CFI row covers the address */
	RULE_NONE, /* no CFI: guess from the frame shape */
};

struct unwind_rule {
	const struct cp_module *mod; /* key, with addr */
	uint64_t addr;
	uint8_t kind;
	bool signal_frame; /* the caller's PC is exact, not a return address */
	uint8_t ra_reg;
	struct reg_rule cfa;
	struct reg_rule regs[CP_DWARF_NREGS];
	uint16_t nops;
	struct op ops[];
};

struct cp_unwind_cache {
	struct cp_htab rules; /* items: struct unwind_rule */
};

struct rule_key {
	const struct cp_module *mod;
	uint64_t addr;
};

static bool rule_eq(const void *item, const void *key)
{
	const struct unwind_rule *rule = item;
	const struct rule_key *k = key;

	return rule->mod == k->mod && rule->addr == k->addr;
}

int cp_unwind_cache_new(struct cp_unwind_cache **ret)
{
	struct cp_unwind_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return -ENOMEM;
	*ret = cache;
	return 0;
}

void cp_unwind_cache_free(struct cp_unwind_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->rules.cap; i++)
		free(cache->rules.slots[i].item);
	cp_htab_fini(&cache->rules);
	free(cache);
}

size_t cp_unwind_cache_size(const struct cp_unwind_cache *cache)
{
	return cache->rules.len;
}

/* --- compiling a CFI row ----------------------------------------------------- */

static size_t count_ops(Dwarf_Frame *frame)
{
	Dwarf_Op mem[3], *ops;
	size_t nops, total = 0;

	if (dwarf_frame_cfa(frame, &ops, &nops) == 0)
		total += nops;
	for (int r = 0; r < CP_DWARF_NREGS; r++)
		if (dwarf_frame_register(frame, r, mem, &ops, &nops) == 0)
			total += nops;
	return total;
}

static void copy_ops(struct unwind_rule *rule, struct reg_rule *into, const Dwarf_Op *ops,
		     size_t nops)
{
	into->first = rule->nops;
	into->nops = (uint8_t)nops;
	for (size_t i = 0; i < nops; i++)
		rule->ops[rule->nops++] = (struct op){ ops[i].atom, ops[i].number, ops[i].number2 };
}

static void compile_register(struct unwind_rule *rule, Dwarf_Frame *frame, int regno)
{
	struct reg_rule *reg = &rule->regs[regno];
	Dwarf_Op mem[3], *ops;
	size_t nops;

	*reg = (struct reg_rule){ .how = REG_UNDEFINED };
	if (dwarf_frame_register(frame, regno, mem, &ops, &nops) != 0)
		return;
	if (nops == 0) {
		/* libdw: no ops and a NULL pointer means "same value". */
		reg->how = ops ? REG_UNDEFINED : REG_SAME;
		return;
	}
	if (nops == 1 && (ops[0].atom == DW_OP_regx ||
			  (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31))) {
		uint64_t other = ops[0].atom == DW_OP_regx ? ops[0].number
							   : (uint64_t)(ops[0].atom - DW_OP_reg0);

		if (other < CP_DWARF_NREGS)
			*reg = (struct reg_rule){ .how = REG_COPY, .other = (uint8_t)other };
		return;
	}
	if (ops[nops - 1].atom == DW_OP_stack_value) {
		reg->how = REG_VALUE;
		nops--;
	} else {
		reg->how = REG_SAVED;
	}
	copy_ops(rule, reg, ops, nops);
}

static struct unwind_rule *compile_rule(const struct cp_module *mod, uint64_t addr,
					Dwarf_Frame *frame)
{
	size_t nops = frame ? count_ops(frame) : 0;
	struct unwind_rule *rule = calloc(1, sizeof(*rule) + nops * sizeof(struct op));

	if (!rule)
		return NULL;
	rule->mod = mod;
	rule->addr = addr;
	rule->kind = RULE_NONE;
	if (!frame)
		return rule;

	Dwarf_Op *ops;
	size_t ncfa;
	bool signal_frame = false;
	int ra = dwarf_frame_info(frame, NULL, NULL, &signal_frame);

	if (ra < 0 || ra >= CP_DWARF_NREGS || dwarf_frame_cfa(frame, &ops, &ncfa) != 0 || !ncfa)
		return rule;
	rule->kind = RULE_CFI;
	rule->signal_frame = signal_frame;
	rule->ra_reg = (uint8_t)ra;
	rule->cfa.how = REG_VALUE;
	copy_ops(rule, &rule->cfa, ops, ncfa);
	for (int r = 0; r < CP_DWARF_NREGS; r++)
		compile_register(rule, frame, r);
	return rule;
}

static const struct unwind_rule *rule_for(struct cp_unwind_cache *cache, struct cp_module *mod,
					  uint64_t addr)
{
	struct rule_key key = { mod, addr };
	uint64_t hash = cp_hash_combine((uintptr_t)mod, addr);
	struct unwind_rule *rule = cp_htab_find(&cache->rules, hash, &key, rule_eq);
	Dwarf_Frame *frame = NULL;

	if (rule)
		return rule;
	if (cp_module_cfi_frame(mod, addr, &frame) < 0)
		frame = NULL;
	rule = compile_rule(mod, addr, frame);
	free(frame);
	if (!rule)
		return NULL;
	if (cp_htab_insert(&cache->rules, hash, rule) < 0) {
		free(rule);
		return NULL;
	}
	return rule;
}

/* --- evaluating rules --------------------------------------------------------- */

struct eval_ctx {
	const struct cp_regs *regs;
	const struct cp_stack_mem *mem;
	uint64_t cfa;
	bool has_cfa;
};

static bool read_stack(const struct cp_stack_mem *mem, uint64_t addr, uint64_t *ret)
{
	if (addr < mem->base || addr - mem->base > mem->size || mem->size - (addr - mem->base) < 8)
		return false;
	memcpy(ret, mem->data + (addr - mem->base), 8);
	return true;
}

/* Run a DWARF expression.  Return: true with the top of the stack in *ret. */
static bool eval(const struct eval_ctx *ctx, const struct op *ops, size_t nops, uint64_t *ret)
{
	uint64_t st[EVAL_STACK];
	size_t sp = 0;

#define NEED(n)                                                                                    \
	do {                                                                                       \
		if (sp < (n))                                                                      \
			return false;                                                              \
	} while (0)
#define PUSH(v)                                                                                    \
	do {                                                                                       \
		uint64_t pushed = (v);                                                             \
		if (sp == EVAL_STACK)                                                              \
			return false;                                                              \
		st[sp++] = pushed;                                                                 \
	} while (0)
#define BINARY(expr)                                                                               \
	do {                                                                                       \
		NEED(2);                                                                           \
		uint64_t b = st[--sp], a = st[sp - 1];                                             \
		st[sp - 1] = (expr);                                                               \
	} while (0)

	for (size_t i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		uint8_t atom = op->atom;

		if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
			PUSH((uint64_t)(atom - DW_OP_lit0));
			continue;
		}
		if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
			unsigned int reg = atom - DW_OP_breg0;

			if (!cp_regs_has(ctx->regs, reg))
				return false;
			PUSH(ctx->regs->r[reg] + op->number);
			continue;
		}
		switch (atom) {
		case DW_OP_bregx:
			if (!cp_regs_has(ctx->regs, (unsigned int)op->number))
				return false;
			PUSH(ctx->regs->r[op->number] + op->number2);
			break;
		case DW_OP_call_frame_cfa:
			if (!ctx->has_cfa)
				return false;
			PUSH(ctx->cfa);
			break;
		case DW_OP_const1u:
		case DW_OP_const2u:
		case DW_OP_const4u:
		case DW_OP_const8u:
		case DW_OP_const1s:
		case DW_OP_const2s:
		case DW_OP_const4s:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
			PUSH(op->number);
			break;
		case DW_OP_plus_uconst:
			NEED(1);
			st[sp - 1] += op->number;
			break;
		case DW_OP_deref: {
			uint64_t value;

			NEED(1);
			if (!read_stack(ctx->mem, st[sp - 1], &value))
				return false;
			st[sp - 1] = value;
			break;
		}
		case DW_OP_dup:
			NEED(1);
			PUSH(st[sp - 1]);
			break;
		case DW_OP_drop:
			NEED(1);
			sp--;
			break;
		case DW_OP_over:
			NEED(2);
			PUSH(st[sp - 2]);
			break;
		case DW_OP_swap: {
			NEED(2);
			uint64_t t = st[sp - 1];

			st[sp - 1] = st[sp - 2];
			st[sp - 2] = t;
			break;
		}
		case DW_OP_neg:
			NEED(1);
			st[sp - 1] = -st[sp - 1];
			break;
		case DW_OP_not:
			NEED(1);
			st[sp - 1] = ~st[sp - 1];
			break;
		case DW_OP_plus:
			BINARY(a + b);
			break;
		case DW_OP_minus:
			BINARY(a - b);
			break;
		case DW_OP_mul:
			BINARY(a * b);
			break;
		case DW_OP_and:
			BINARY(a & b);
			break;
		case DW_OP_or:
			BINARY(a | b);
			break;
		case DW_OP_xor:
			BINARY(a ^ b);
			break;
		case DW_OP_shl:
			BINARY(b < 64 ? a << b : 0);
			break;
		case DW_OP_shr:
			BINARY(b < 64 ? a >> b : 0);
			break;
		case DW_OP_shra:
			BINARY(b < 64 ? (uint64_t)((int64_t)a >> b) : 0);
			break;
		case DW_OP_eq:
			BINARY(a == b);
			break;
		case DW_OP_ne:
			BINARY(a != b);
			break;
		case DW_OP_lt:
			BINARY((int64_t)a < (int64_t)b);
			break;
		case DW_OP_le:
			BINARY((int64_t)a <= (int64_t)b);
			break;
		case DW_OP_gt:
			BINARY((int64_t)a > (int64_t)b);
			break;
		case DW_OP_ge:
			BINARY((int64_t)a >= (int64_t)b);
			break;
		case DW_OP_nop:
			break;
		default:
			cp_debug("unwind: unsupported DWARF op %#x", atom);
			return false;
		}
	}
#undef NEED
#undef PUSH
#undef BINARY
	if (!sp)
		return false;
	*ret = st[sp - 1];
	return true;
}

enum step_result {
	STEP_OK,
	STEP_ROOT,     /* the CFI says this is the outermost frame */
	STEP_NO_STACK, /* needed memory beyond the stack copy */
	STEP_FAILED,   /* no usable rule */
};

static enum step_result step_cfi(const struct unwind_rule *rule, const struct cp_regs *regs,
				 const struct cp_stack_mem *mem, struct cp_regs *caller)
{
	struct eval_ctx ctx = { .regs = regs, .mem = mem };

	if (rule->regs[rule->ra_reg].how == REG_UNDEFINED)
		return STEP_ROOT;
	if (!eval(&ctx, rule->ops + rule->cfa.first, rule->cfa.nops, &ctx.cfa))
		return STEP_FAILED;
	ctx.has_cfa = true;

	caller->valid = 0;
	for (unsigned int r = 0; r < CP_DWARF_NREGS; r++) {
		const struct reg_rule *reg = &rule->regs[r];
		uint64_t value;

		switch (reg->how) {
		case REG_SAME:
			if (cp_regs_has(regs, r))
				cp_regs_set(caller, r, regs->r[r]);
			break;
		case REG_COPY:
			if (cp_regs_has(regs, reg->other))
				cp_regs_set(caller, r, regs->r[reg->other]);
			break;
		case REG_VALUE:
			if (eval(&ctx, rule->ops + reg->first, reg->nops, &value))
				cp_regs_set(caller, r, value);
			break;
		case REG_SAVED:
			if (eval(&ctx, rule->ops + reg->first, reg->nops, &value)) {
				if (read_stack(mem, value, &value))
					cp_regs_set(caller, r, value);
				else if (r == rule->ra_reg)
					return STEP_NO_STACK;
			}
			break;
		}
	}
	/* By definition of the CFA on x86-64, it is the caller's stack pointer. */
	if (rule->regs[CP_DWARF_SP].how == REG_SAME || rule->regs[CP_DWARF_SP].how == REG_UNDEFINED)
		cp_regs_set(caller, CP_DWARF_SP, ctx.cfa);
	if (!cp_regs_has(caller, rule->ra_reg))
		return STEP_FAILED;
	if (rule->ra_reg != CP_DWARF_RA)
		cp_regs_set(caller, CP_DWARF_RA, caller->r[rule->ra_reg]);
	return STEP_OK;
}

/*
 * No CFI covers the PC.  In the leaf this is usually a frameless stub (PLT
 * entries without CFI, glibc's clone3 after its CFI ends before `syscall`):
 * the return address is at the stack pointer.  Further up, try the frame
 * pointer chain, which code without CFI often keeps.
 */
static enum step_result step_guess(bool leaf, const struct cp_regs *regs,
				   const struct cp_stack_mem *mem, struct cp_regs *caller)
{
	uint64_t sp = regs->r[CP_DWARF_SP], ra, fp;

	*caller = *regs;
	if (leaf) {
		if (!read_stack(mem, sp, &ra))
			return STEP_NO_STACK;
		cp_regs_set(caller, CP_DWARF_SP, sp + 8);
		cp_regs_set(caller, CP_DWARF_RA, ra);
		return STEP_OK;
	}
	if (!cp_regs_has(regs, CP_DWARF_FP))
		return STEP_FAILED;
	fp = regs->r[CP_DWARF_FP];
	if (fp < sp)
		return STEP_FAILED;
	if (!read_stack(mem, fp + 8, &ra) || !read_stack(mem, fp, &fp))
		return STEP_NO_STACK;
	cp_regs_set(caller, CP_DWARF_FP, fp);
	cp_regs_set(caller, CP_DWARF_SP, regs->r[CP_DWARF_FP] + 16);
	cp_regs_set(caller, CP_DWARF_RA, ra);
	return STEP_OK;
}

size_t cp_unwind_dwarf(struct cp_unwind_cache *cache, struct cp_procs *procs, struct cp_proc *proc,
		       const struct cp_regs *start, const struct cp_stack_mem *mem,
		       struct cp_frame *out, size_t max, enum cp_unwind_end *end)
{
	struct cp_regs regs = *start, caller;
	bool exact_pc = true; /* the leaf, or a frame a signal interrupted */
	size_t n = 0;

	*end = CP_UNWIND_UNKNOWN;
	if (!cp_regs_has(&regs, CP_DWARF_RA) || !cp_regs_has(&regs, CP_DWARF_SP))
		return 0;

	while (n < max) {
		uint64_t pc = exact_pc ? regs.r[CP_DWARF_RA] : regs.r[CP_DWARF_RA] - 1;
		const struct cp_map *map = cp_procs_lookup(procs, proc, pc);

		out[n++] = (struct cp_frame){ pc, map };
		if (!map || !map->module || !map->has_bias)
			return n; /* unknown code: nothing to unwind it with */

		const struct unwind_rule *rule = rule_for(cache, map->module, pc - map->bias);
		enum step_result step;

		if (!rule)
			return n;
		/* A signal trampoline is entered by a return, not a call: the
		 * address minus one found its CFI (glibc starts the FDE a byte
		 * early for that), but the frame is the trampoline itself. */
		if (rule->signal_frame && !exact_pc)
			out[n - 1].pc++;
		if (rule->kind == RULE_CFI)
			step = step_cfi(rule, &regs, mem, &caller);
		else
			step = step_guess(n == 1, &regs, mem, &caller);

		switch (step) {
		case STEP_ROOT:
			*end = CP_UNWIND_COMPLETE;
			return n;
		case STEP_NO_STACK:
			*end = CP_UNWIND_TRUNCATED;
			return n;
		case STEP_FAILED:
			return n;
		case STEP_OK:
			break;
		}
		if (caller.r[CP_DWARF_RA] == 0) {
			/* A zeroed return address also marks the outermost frame. */
			*end = CP_UNWIND_COMPLETE;
			return n;
		}
		/* The stack grows down: a caller's frame is never below its callee's,
		 * except across a signal frame, which switches to the interrupted state. */
		if (!rule->signal_frame && caller.r[CP_DWARF_SP] <= regs.r[CP_DWARF_SP] &&
		    caller.r[CP_DWARF_RA] == regs.r[CP_DWARF_RA])
			return n;
		exact_pc = rule->kind == RULE_CFI && rule->signal_frame;
		regs = caller;
	}
	*end = CP_UNWIND_TRUNCATED;
	return n;
}
