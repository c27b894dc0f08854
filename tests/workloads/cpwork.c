/* SPDX-License-Identifier: MIT */
#include "cpwork.h"

__attribute__((visibility("default"))) CP_W_NOINLINE unsigned long
cpwork_spin(unsigned long iterations)
{
	volatile unsigned long acc = 1;

	for (unsigned long i = 0; i < iterations; i++)
		acc = acc * 6364136223846793005UL + i;
	return acc;
}
