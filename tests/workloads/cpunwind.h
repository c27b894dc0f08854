/* SPDX-License-Identifier: MIT */
/*
 * libcpunwind.so: a shared library built without frame pointers, through
 * which w-split calls back into the main program, so that its stacks cross
 * a second module that only CFI can unwind.
 */
#ifndef CP_TESTS_CPUNWIND_H
#define CP_TESTS_CPUNWIND_H

/* Call @fn(@arg) from inside the library and return its result. */
unsigned long cpunwind_call(unsigned long (*fn)(unsigned long), unsigned long arg);

#endif
