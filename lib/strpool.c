/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/strpool.h"
#include "lib/util.h"

/* Strings are packed into large chunks: one malloc per string would double
 * the memory of a big symbol table. */
#define CHUNK_SIZE (64 * 1024)

struct strpool_chunk {
	struct strpool_chunk *next;
	size_t used, size;
	char data[];
};

static bool entry_eq(const void *item, const void *key)
{
	const struct cp_strpool *pool;
	const char *const *k = key;

	/* The key carries the pool and the string: see lookup_key below. */
	pool = (const struct cp_strpool *)k[1];
	return strcmp(pool->strings[(uintptr_t)item - 1], k[0]) == 0;
}

void cp_strpool_init(struct cp_strpool *pool)
{
	memset(pool, 0, sizeof(*pool));
}

void cp_strpool_fini(struct cp_strpool *pool)
{
	struct strpool_chunk *chunk = pool->chunks;

	while (chunk) {
		struct strpool_chunk *next = chunk->next;

		free(chunk);
		chunk = next;
	}
	cp_htab_fini(&pool->index);
	free(pool->strings);
	memset(pool, 0, sizeof(*pool));
}

static char *store(struct cp_strpool *pool, const char *s, size_t len)
{
	struct strpool_chunk *chunk = pool->chunks;

	if (!chunk || chunk->size - chunk->used < len + 1) {
		size_t size = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;

		chunk = malloc(sizeof(*chunk) + size);
		if (!chunk)
			return NULL;
		chunk->used = 0;
		chunk->size = size;
		chunk->next = pool->chunks;
		pool->chunks = chunk;
	}
	char *copy = chunk->data + chunk->used;

	memcpy(copy, s, len + 1);
	chunk->used += len + 1;
	return copy;
}

int64_t cp_strpool_intern(struct cp_strpool *pool, const char *s, const char **ret_str)
{
	const void *key[2] = { s, pool };
	size_t len = strlen(s);
	uint64_t hash = cp_hash_bytes(s, len, 0);
	void *found = cp_htab_find(&pool->index, hash, key, entry_eq);

	if (found) {
		size_t id = (uintptr_t)found - 1;

		if (ret_str)
			*ret_str = pool->strings[id];
		return (int64_t)id;
	}

	if (cp_grow((void **)&pool->strings, &pool->cap, pool->len + 1, sizeof(*pool->strings)) < 0)
		return -ENOMEM;
	char *copy = store(pool, s, len);

	if (!copy)
		return -ENOMEM;
	/* Items are the id plus one, so that no item is NULL. */
	if (cp_htab_insert(&pool->index, hash, (void *)(uintptr_t)(pool->len + 1)) < 0)
		return -ENOMEM;
	pool->strings[pool->len] = copy;
	if (ret_str)
		*ret_str = copy;
	return (int64_t)pool->len++;
}

const char *cp_strpool_get(const struct cp_strpool *pool, size_t id)
{
	return id < pool->len ? pool->strings[id] : NULL;
}
