/* SPDX-License-Identifier: MIT */
/*
 * w-tcreate: threads created from three call sites, for the threadcreate
 * profile.
 *
 *   w-tcreate          5 threads from cp_w_site_five, 3 from
 *                      cp_w_site_three, 1 from cp_w_site_one, all joined
 *   w-tcreate bench N  N threads created and joined one after the other,
 *                      from cp_w_site_bench; prints the rate
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpwork.h"

volatile unsigned long cp_w_sink;

static void *work(void *arg)
{
	cp_w_sink += (unsigned long)(uintptr_t)arg;
	return NULL;
}

static void create_join(int n)
{
	pthread_t t[8];

	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, work, (void *)(uintptr_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

CP_W_NOINLINE void cp_w_site_five(void)
{
	create_join(5);
}

CP_W_NOINLINE void cp_w_site_three(void)
{
	create_join(3);
}

CP_W_NOINLINE void cp_w_site_one(void)
{
	create_join(1);
}

CP_W_NOINLINE void cp_w_site_bench(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, work, NULL);
		pthread_join(t, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "bench") == 0) {
		struct timespec a, b;
		long n = atol(argv[2]);

		clock_gettime(CLOCK_MONOTONIC, &a);
		cp_w_site_bench(n);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;

		printf("%ld threads in %.3f s: %.0f threads/s\n", n, s, (double)n / s);
		return 0;
	}
	cp_w_site_five();
	cp_w_site_three();
	cp_w_site_one();
	printf("created 9 threads\n");
	return 0;
}
