/* SPDX-License-Identifier: MIT */
/*
 * w-dump: a process to take stacks of, whose output must not change.
 *
 *   w-dump run TICKS READY   three threads for TICKS ticks of 50 ms
 *   w-dump send PID N MS     queue N SIGRTMIN to PID, one every MS ms
 *
 * run: main waits in cp_w_main_wait; "cp-sleeper" sleeps in cp_w_sleeper;
 * "cp-counter" counts in cp_w_counter_leaf.  Each tick main checks that
 * the counter moved within the last second.  Every SIGRTMIN is counted
 * (real-time signals queue, so none may merge).  READY gets the pid once
 * all threads run.  At the end it prints the ticks, the stalls and the
 * signals and exits 3.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cpwork.h"

static volatile int stop;
static volatile unsigned long counter;
static volatile sig_atomic_t signals;

/* The whole counting loop, so that a stop always finds the thread here. */
CP_W_NOINLINE void cp_w_counter_leaf(void)
{
	while (!stop)
		counter++;
}

static void *count_thread(void *arg)
{
	prctl(PR_SET_NAME, "cp-counter");
	cp_w_counter_leaf();
	return arg;
}

CP_W_NOINLINE void cp_w_sleeper(void)
{
	struct timespec ts = { 0, 1000000 };

	while (!stop)
		nanosleep(&ts, NULL);
}

static void *sleep_thread(void *arg)
{
	prctl(PR_SET_NAME, "cp-sleeper");
	cp_w_sleeper();
	return arg;
}

static void on_rt(int sig)
{
	(void)sig;
	signals++;
}

/* Ticks without counting that make a stall: a second.  A dump stops the
 * threads for milliseconds, and a busy machine may starve the counter for
 * a while; a thread left stopped never counts again. */
#define STALL_TICKS 20

CP_W_NOINLINE int cp_w_main_wait(int ticks)
{
	unsigned long last = counter;
	int moved_at = 0, stalls = 0;

	for (int i = 1; i <= ticks; i++) {
		struct timespec ts = { 0, 50000000 };

		while (nanosleep(&ts, &ts) != 0)
			;
		if (counter != last) {
			last = counter;
			moved_at = i;
		} else if (i - moved_at == STALL_TICKS) {
			stalls++;
		}
	}
	return stalls;
}

static int run(int ticks, const char *ready)
{
	pthread_t a, b;
	struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
	int stalls;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	pthread_create(&a, NULL, sleep_thread, NULL);
	pthread_create(&b, NULL, count_thread, NULL);
	/* Signals go to the main thread only, so none is lost in a thread exit. */
	sigset_t rt;

	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	stalls = cp_w_main_wait(ticks);
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("ticks %d\nstalls %d\nsignals %d\n", ticks, stalls, (int)signals);
	return 3;
}

static int send(pid_t pid, int n, int ms)
{
	union sigval v = { 0 };

	for (int i = 0; i < n; i++) {
		if (sigqueue(pid, SIGRTMIN, v) < 0) {
			perror("sigqueue");
			return 1;
		}
		usleep(ms * 1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "run") == 0) {
		/* Block the signal in the helper threads: they inherit main's mask. */
		sigset_t rt, old;

		sigemptyset(&rt);
		sigaddset(&rt, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &rt, &old);
		(void)old;
		return run(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
	}
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return send((pid_t)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: w-dump run TICKS [READY] | send PID N MS\n");
	return 2;
}
