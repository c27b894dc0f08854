/* SPDX-License-Identifier: MIT */
/*
 * An open-addressing hash set of caller-owned items.  The table stores each
 * item's pointer and hash; the caller supplies the hash and an equality test,
 * so one implementation serves stacks, PCs, strings and locations alike.
 * Items are never moved or freed by the table.
 */
#ifndef CP_LIB_HTAB_H
#define CP_LIB_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_htab_slot {
	uint64_t hash;
	void *item; /* NULL: empty */
};

struct cp_htab {
	struct cp_htab_slot *slots;
	size_t cap; /* a power of two, or 0 before the first insert */
	size_t len;
};

/* Does @item match @key?  @key is whatever the caller passed to find. */
typedef bool (*cp_htab_eq_fn)(const void *item, const void *key);

#define CP_HTAB_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/*
 * cp_htab_find() - look up the item equal to @key.
 * Return: the item, or NULL if there is none.
 */
void *cp_htab_find(const struct cp_htab *tab, uint64_t hash, const void *key, cp_htab_eq_fn eq);

/*
 * cp_htab_insert() - add @item, which the caller knows is not present yet.
 * The table grows at 50% load.  Return: 0 or -ENOMEM (the item is not added).
 */
int cp_htab_insert(struct cp_htab *tab, uint64_t hash, void *item);

/*
 * cp_htab_remove() - take the item equal to @key out of the table.
 * Return: the item (still the caller's to free), or NULL if there is none.
 */
void *cp_htab_remove(struct cp_htab *tab, uint64_t hash, const void *key, cp_htab_eq_fn eq);

/* Free the slot array; items stay the caller's. */
void cp_htab_fini(struct cp_htab *tab);

/* Visit every item: for (i = 0; i < tab.cap; i++) if (tab.slots[i].item) ... */

#endif
