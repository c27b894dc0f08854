/* SPDX-License-Identifier: MIT */
/*
 * String interning.  Each distinct string is stored once and numbered in
 * order of first use, which is exactly what a pprof string table needs; the
 * stored copies stay valid and unmoved until cp_strpool_fini().
 */
#ifndef CP_LIB_STRPOOL_H
#define CP_LIB_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/htab.h"

struct cp_strpool {
	struct cp_htab index; /* items: string number + 1 */
	char **strings;	      /* by number, in order of first use */
	size_t len, cap;
	struct strpool_chunk *chunks; /* storage for the bytes */
};

void cp_strpool_init(struct cp_strpool *pool);
void cp_strpool_fini(struct cp_strpool *pool);

/*
 * cp_strpool_intern() - store @s once and return its number.
 * @ret_str: if not NULL, receives the pool's copy of @s.
 * Return: the string's number (>= 0), or -ENOMEM.
 */
int64_t cp_strpool_intern(struct cp_strpool *pool, const char *s, const char **ret_str);

/* The string numbered @id (borrowed), or NULL if there is none. */
const char *cp_strpool_get(const struct cp_strpool *pool, size_t id);

#endif
