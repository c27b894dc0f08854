/* SPDX-License-Identifier: MIT */
/*
 * w-spin: a CPU-bound workload whose profile the end-to-end tests know.
 *
 *   w-spin [SECONDS]          spin for SECONDS of main-thread CPU time (default 1)
 *   w-spin --iterations N     do a fixed amount of work instead, for benchmarks
 *
 * The main thread spends its time in cp_w_hot_leaf <- cp_w_hot_mid <- main.
 * A worker thread named "cp-worker" does about 30 % as much work in
 * cpwork_spin() of libcpwork.so, so that cp_w_hot_leaf gets roughly 75-80 %
 * of the samples and a shared library and a second thread show up too.
 * Time is measured as each thread's own CPU time, so the amount of work does
 * not depend on how busy the machine is or on the profiler's overhead.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpwork.h"

#define CHUNK	     100000UL /* rounds per call: about 0.1-0.3 ms */
#define WORKER_SHARE 0.3

struct plan {
	double seconds;		  /* CPU seconds, when iterations == 0 */
	unsigned long iterations; /* chunks, or 0 for a time limit */
};

volatile unsigned long cp_w_sink;

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

CP_W_NOINLINE unsigned long cp_w_hot_leaf(unsigned long n)
{
	volatile unsigned long acc = 0; /* volatile: forces a frame, see cpwork.h */

	for (unsigned long i = 0; i < n; i++)
		acc = acc * 31 + i;
	return acc;
}

CP_W_NOINLINE unsigned long cp_w_hot_mid(unsigned long n)
{
	/* Using the result keeps this a real call, not a tail jump. */
	return cp_w_hot_leaf(n) ^ n;
}

CP_W_NOINLINE static void *cp_w_worker(void *arg)
{
	const struct plan *p = arg;

	pthread_setname_np(pthread_self(), "cp-worker");
	if (p->iterations) {
		unsigned long n = (unsigned long)(p->iterations * WORKER_SHARE);

		for (unsigned long i = 0; i < n; i++)
			cp_w_sink += cpwork_spin(CHUNK);
	} else {
		double end = thread_cpu_seconds() + p->seconds * WORKER_SHARE;

		while (thread_cpu_seconds() < end)
			cp_w_sink += cpwork_spin(CHUNK);
	}
	return NULL;
}

static void usage(void)
{
	fputs("usage: w-spin [SECONDS]\n"
	      "       w-spin --iterations N\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct plan p = { .seconds = 1.0 };
	pthread_t worker;
	char *end;
	int err;

	if (argc == 3 && strcmp(argv[1], "--iterations") == 0) {
		errno = 0;
		p.iterations = strtoul(argv[2], &end, 10);
		if (errno || *end || !p.iterations)
			usage();
	} else if (argc == 2) {
		p.seconds = strtod(argv[1], &end);
		if (*end || !(p.seconds >= 0))
			usage();
	} else if (argc != 1) {
		usage();
	}

	err = pthread_create(&worker, NULL, cp_w_worker, &p);
	if (err) {
		fprintf(stderr, "w-spin: pthread_create: %s\n", strerror(err));
		return 1;
	}
	if (p.iterations) {
		for (unsigned long i = 0; i < p.iterations; i++)
			cp_w_sink += cp_w_hot_mid(CHUNK);
	} else {
		double stop = thread_cpu_seconds() + p.seconds;

		while (thread_cpu_seconds() < stop)
			cp_w_sink += cp_w_hot_mid(CHUNK);
	}
	pthread_join(worker, NULL);
	return 0;
}
