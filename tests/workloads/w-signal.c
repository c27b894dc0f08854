/* SPDX-License-Identifier: MIT */
/*
 * w-signal: CPU time inside a signal handler, for the unwinder.
 *
 *   w-signal [SECONDS]   run for about SECONDS of CPU time (default 1)
 *
 * The main loop spins in cp_w_interrupted; a SIGALRM every 7 ms runs
 * cp_w_in_handler for about 3 ms.  A sample in the handler must unwind
 * through the kernel's signal frame (glibc's __restore_rt) back into
 * cp_w_interrupted, main and _start.  Built -O2 -fomit-frame-pointer.
 *
 * The period is not a multiple of a common sampling period: a 10 ms alarm
 * under 100 Hz sampling fires in lockstep with it, and every sample then
 * lands just before the handler runs.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "cpwork.h"

volatile unsigned long cp_w_sink;

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

CP_W_NOINLINE unsigned long cp_w_in_handler(void)
{
	double end = cpu_seconds() + 0.003;
	unsigned long acc = 1;

	while (cpu_seconds() < end)
		for (int i = 0; i < 10000; i++)
			acc = acc * 6364136223846793005UL + 1;
	return acc;
}

static void on_alarm(int sig)
{
	cp_w_sink += cp_w_in_handler() + (unsigned long)sig;
}

CP_W_NOINLINE unsigned long cp_w_interrupted(unsigned long rounds)
{
	volatile unsigned long acc = 0;

	for (unsigned long i = 0; i < rounds; i++)
		acc = acc * 31 + i;
	return acc;
}

int main(int argc, char **argv)
{
	double end = cpu_seconds() + (argc > 1 ? atof(argv[1]) : 1.0);
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval every_7ms = { { 0, 7000 }, { 0, 7000 } };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every_7ms, NULL);
	while (cpu_seconds() < end)
		cp_w_sink += cp_w_interrupted(100000);
	return 0;
}
