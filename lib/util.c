/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/util.h"

int cp_grow(void **array, size_t *cap, size_t need, size_t elem_size)
{
	if (need <= *cap)
		return 0;

	size_t new_cap = *cap ? *cap : 16;

	while (new_cap < need)
		new_cap *= 2;
	void *grown = reallocarray(*array, new_cap, elem_size);

	if (!grown)
		return -ENOMEM;
	*array = grown;
	*cap = new_cap;
	return 0;
}
