/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/htab.h"

void *cp_htab_find(const struct cp_htab *tab, uint64_t hash, const void *key, cp_htab_eq_fn eq)
{
	if (!tab->cap)
		return NULL;

	size_t mask = tab->cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		const struct cp_htab_slot *slot = &tab->slots[i];

		if (!slot->item)
			return NULL;
		if (slot->hash == hash && eq(slot->item, key))
			return slot->item;
	}
}

static void place(struct cp_htab_slot *slots, size_t cap, uint64_t hash, void *item)
{
	size_t mask = cap - 1;
	size_t i = hash & mask;

	while (slots[i].item)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].item = item;
}

static int grow(struct cp_htab *tab)
{
	size_t cap = tab->cap ? tab->cap * 2 : 64;
	struct cp_htab_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < tab->cap; i++)
		if (tab->slots[i].item)
			place(slots, cap, tab->slots[i].hash, tab->slots[i].item);
	free(tab->slots);
	tab->slots = slots;
	tab->cap = cap;
	return 0;
}

int cp_htab_insert(struct cp_htab *tab, uint64_t hash, void *item)
{
	if ((tab->len + 1) * 2 > tab->cap) {
		int r = grow(tab);

		if (r < 0)
			return r;
	}
	place(tab->slots, tab->cap, hash, item);
	tab->len++;
	return 0;
}

/*
 * Linear probing needs no tombstones: after emptying a slot, later items of
 * the same probe run move back into the gap unless that would put them
 * before their home slot.
 */
void *cp_htab_remove(struct cp_htab *tab, uint64_t hash, const void *key, cp_htab_eq_fn eq)
{
	if (!tab->cap)
		return NULL;

	size_t mask = tab->cap - 1, i = hash & mask;

	while (tab->slots[i].item && !(tab->slots[i].hash == hash && eq(tab->slots[i].item, key)))
		i = (i + 1) & mask;

	void *item = tab->slots[i].item;
	size_t gap = i;

	if (!item)
		return NULL;
	for (size_t j = (i + 1) & mask; tab->slots[j].item; j = (j + 1) & mask) {
		size_t home = tab->slots[j].hash & mask;

		/* Move j into the gap unless its home lies in (gap, j], cyclically. */
		if (((j - home) & mask) >= ((j - gap) & mask)) {
			tab->slots[gap] = tab->slots[j];
			gap = j;
		}
	}
	tab->slots[gap] = (struct cp_htab_slot){ 0, NULL };
	tab->len--;
	return item;
}

void cp_htab_fini(struct cp_htab *tab)
{
	free(tab->slots);
	*tab = (struct cp_htab)CP_HTAB_INIT;
}
