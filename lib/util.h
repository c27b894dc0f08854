/* SPDX-License-Identifier: MIT */
/*
 * Small macros shared by every module.
 */
#ifndef CP_LIB_UTIL_H
#define CP_LIB_UTIL_H

#include <stddef.h>

#define CP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define cp_likely(x)	 __builtin_expect(!!(x), 1)
#define cp_unlikely(x)	 __builtin_expect(!!(x), 0)

/*
 * Grow *array so that it holds at least @need elements of @elem_size bytes,
 * doubling its capacity (*cap) as needed.  Return: 0 or -ENOMEM.
 */
int cp_grow(void **array, size_t *cap, size_t need, size_t elem_size);

#endif
