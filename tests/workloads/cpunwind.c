/* SPDX-License-Identifier: MIT */
#include "cpunwind.h"

#include "cpwork.h"

CP_W_NOINLINE unsigned long cpunwind_call(unsigned long (*fn)(unsigned long), unsigned long arg)
{
	/* Using the result after the call keeps this frame on the stack. */
	return fn(arg) ^ arg;
}
