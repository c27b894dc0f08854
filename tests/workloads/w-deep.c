/* SPDX-License-Identifier: MIT */
/*
 * w-deep: CPU time at the bottom of a deep recursion, for the unwinder.
 *
 *   w-deep [DEPTH [SECONDS]]   recurse DEPTH frames (default 300) through
 *                              cp_w_deep_recurse, then spin in cp_w_deep_leaf
 *                              for SECONDS of CPU time (default 1)
 *
 * Built -O2 -fomit-frame-pointer: only CFI can unwind it.  Each level keeps
 * a volatile local that it reads after the call: GCC turns "return f() + x"
 * into a loop (tail recursion with an accumulator), which would leave one
 * frame instead of three hundred.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpwork.h"

volatile unsigned long cp_w_sink;

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

CP_W_NOINLINE unsigned long cp_w_deep_leaf(double seconds)
{
	double end = cpu_seconds() + seconds;
	unsigned long acc = 0;

	while (cpu_seconds() < end)
		for (unsigned long i = 0; i < 100000; i++)
			cp_w_sink = acc = acc * 31 + i;
	return acc;
}

CP_W_NOINLINE unsigned long cp_w_deep_recurse(int depth, double seconds)
{
	volatile unsigned long here = (unsigned long)depth * 2654435761UL;
	unsigned long below;

	if (depth <= 1)
		below = cp_w_deep_leaf(seconds);
	else
		below = cp_w_deep_recurse(depth - 1, seconds);
	return below ^ here;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 300;
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;

	if (depth < 1 || seconds <= 0) {
		fputs("usage: w-deep [DEPTH [SECONDS]]\n", stderr);
		return 2;
	}
	cp_w_sink = cp_w_deep_recurse(depth, seconds);
	return 0;
}
