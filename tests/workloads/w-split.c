/* SPDX-License-Identifier: MIT */
/*
 * w-split: a designed split of CPU time over three functions, reached three
 * ways, in a binary and a library built -O2 -fomit-frame-pointer.
 *
 *   w-split [SECONDS]   run for about SECONDS of CPU time (default 2)
 *
 * Each round does 5 units of work in cp_w_split_a (called from main),
 * 3 in cp_w_split_b (called back from libcpunwind.so) and 2 in
 * cp_w_split_c (called from a qsort comparator, so from inside libc).
 * The three leaves run the same loop, so CPU time splits 50 / 30 / 20 %.
 */
#include <stdlib.h>
#include <time.h>

#include "cpunwind.h"
#include "cpwork.h"

#define UNIT 200000UL

volatile unsigned long cp_w_sink;

#define SPIN_BODY(units)                                                                           \
	unsigned long acc = units;                                                                 \
	for (unsigned long i = 0; i < (units)*UNIT; i++)                                           \
		acc = acc * 2862933555777941757UL + 3037000493UL;                                  \
	cp_w_sink = acc;                                                                           \
	return acc

CP_W_NOINLINE unsigned long cp_w_split_a(unsigned long units)
{
	SPIN_BODY(units);
}

CP_W_NOINLINE unsigned long cp_w_split_b(unsigned long units)
{
	SPIN_BODY(units);
}

CP_W_NOINLINE unsigned long cp_w_split_c(unsigned long units)
{
	SPIN_BODY(units);
}

static int by_value(const void *a, const void *b)
{
	/* Two elements: qsort calls this exactly once per sort. */
	cp_w_sink += cp_w_split_c(2);
	return *(const int *)a - *(const int *)b;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = cpu_seconds() + (argc > 1 ? atof(argv[1]) : 2.0);

	while (cpu_seconds() < end) {
		int pair[2] = { 2, 1 };

		cp_w_sink += cp_w_split_a(5);
		cp_w_sink += cpunwind_call(cp_w_split_b, 3);
		qsort(pair, 2, sizeof(pair[0]), by_value);
	}
	return 0;
}
