/* SPDX-License-Identifier: MIT */
/*
 * Aggregation: one entry per distinct (pid, tid, thread name, frames), so
 * memory grows with the number of distinct stacks, not with run time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "sampler/sampler-internal.h"

struct stack_key {
	pid_t pid, tid;
	const char *thread_name; /* interned: compared by pointer */
	const struct cp_frame *frames;
	uint32_t nframes;
};

static bool stack_eq(const void *item, const void *key)
{
	const struct cp_stack *stack = item;
	const struct stack_key *k = key;

	return stack->pid == k->pid && stack->tid == k->tid &&
	       stack->thread_name == k->thread_name && stack->nframes == k->nframes &&
	       memcmp(stack->frames, k->frames, k->nframes * sizeof(*k->frames)) == 0;
}

void cp_stacks_init(struct cp_stacks *stacks)
{
	memset(stacks, 0, sizeof(*stacks));
}

void cp_stacks_fini(struct cp_stacks *stacks)
{
	for (size_t i = 0; i < stacks->table.cap; i++)
		free(stacks->table.slots[i].item);
	cp_htab_fini(&stacks->table);
}

int cp_stacks_add(struct cp_stacks *stacks, pid_t pid, pid_t tid, const char *thread_name,
		  const struct cp_frame *frames, uint32_t nframes, uint64_t period)
{
	struct stack_key key = { pid, tid, thread_name, frames, nframes };
	uint64_t hash = cp_hash_bytes(
		frames, nframes * sizeof(*frames),
		cp_hash_combine((uint64_t)pid << 32 | (uint32_t)tid, (uintptr_t)thread_name));
	struct cp_stack *stack = cp_htab_find(&stacks->table, hash, &key, stack_eq);

	if (!stack) {
		stack = malloc(sizeof(*stack) + nframes * sizeof(*frames));
		if (!stack)
			return -ENOMEM;
		*stack = (struct cp_stack){
			.pid = pid, .tid = tid, .thread_name = thread_name, .nframes = nframes
		};
		memcpy(stack->frames, frames, nframes * sizeof(*frames));
		if (cp_htab_insert(&stacks->table, hash, stack) < 0) {
			free(stack);
			return -ENOMEM;
		}
	}
	stack->count++;
	stack->period_sum += period;
	return 0;
}

int cp_stacks_for_each(const struct cp_stacks *stacks, cp_stack_fn fn, void *arg)
{
	for (size_t i = 0; i < stacks->table.cap; i++) {
		const struct cp_stack *stack = stacks->table.slots[i].item;
		int r;

		if (stack && (r = fn(stack, arg)) != 0)
			return r;
	}
	return 0;
}
