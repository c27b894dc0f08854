/* SPDX-License-Identifier: MIT */
/*
 * w-threads: a process to attach to.
 *
 *   w-threads SECONDS READY [LATE]
 *
 * A thread named "cp-busy" spins in cp_w_busy_leaf, one named "cp-idle"
 * sleeps, and main prints "tick N" every 100 ms for SECONDS, then "done N"
 * and exits 0.  READY is created (holding the pid) once all is running.
 * With LATE, the program waits for the file LATE to appear, then starts two
 * threads named "cp-late" spinning in cp_w_late_leaf and forks a child
 * spinning in cp_w_child_leaf, all until the end.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpwork.h"

static volatile int stop;
volatile unsigned long cp_w_sink;

CP_W_NOINLINE void cp_w_busy_leaf(void)
{
	volatile unsigned long acc = 0;

	for (int i = 0; i < 100000; i++)
		acc = acc * 31 + (unsigned long)i;
	cp_w_sink += acc;
}

CP_W_NOINLINE void cp_w_late_leaf(void)
{
	volatile unsigned long acc = 0;

	for (int i = 0; i < 100000; i++)
		acc = acc * 17 + (unsigned long)i;
	cp_w_sink += acc;
}

CP_W_NOINLINE void cp_w_child_leaf(void)
{
	volatile unsigned long acc = 0;

	for (int i = 0; i < 100000; i++)
		acc = acc * 13 + (unsigned long)i;
	cp_w_sink += acc;
}

static void *busy(void *arg)
{
	prctl(PR_SET_NAME, "cp-busy");
	while (!stop)
		cp_w_busy_leaf();
	return arg;
}

static void *idle(void *arg)
{
	prctl(PR_SET_NAME, "cp-idle");
	while (!stop)
		usleep(10000);
	return arg;
}

static void *late(void *arg)
{
	prctl(PR_SET_NAME, "cp-late");
	while (!stop)
		cp_w_late_leaf();
	return arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	int nt = 0, ticks = 0;
	pid_t child = -1;
	double seconds = argc > 1 ? atof(argv[1]) : 3, end = now() + seconds;
	const char *late_file = argc > 3 ? argv[3] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_create(&t[nt++], NULL, busy, NULL);
	pthread_create(&t[nt++], NULL, idle, NULL);
	if (argc > 2) {
		FILE *f = fopen(argv[2], "w");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	while (now() < end) {
		usleep(100000);
		printf("tick %d\n", ++ticks);
		if (late_file && child < 0 && access(late_file, F_OK) == 0) {
			pthread_create(&t[nt++], NULL, late, NULL);
			pthread_create(&t[nt++], NULL, late, NULL);
			child = fork();
			if (child == 0) {
				double child_end = end;

				while (now() < child_end)
					cp_w_child_leaf();
				_exit(0);
			}
			printf("started late threads\n");
		}
	}
	stop = 1;
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	if (child > 0)
		waitpid(child, NULL, 0);
	printf("done %d\n", ticks);
	return 0;
}
